"""Execution layer: task data into instances, inference jobs run through runners, and their progress."""
