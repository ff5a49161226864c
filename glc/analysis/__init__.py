"""Analysis layer: what a level rests on, explanations, intervals, diffs, leaderboards and measured SoTA."""
