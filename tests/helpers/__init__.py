"""Shared test helpers, imported as ``helpers.<module>`` (pytest puts tests/ on sys.path through
tests/conftest.py; benchmarks/ put it there themselves). Test files import from here, never from
another test file or from conftest.py (tests/test_layout.py checks this).

- project: the repo's paths and copies of the project (the whole catalog or a small cut of it)
- metric_project: a project with hand-written tasks, datasets, predictions and models
- metric_cases: the metric corpora several test files check against references
- metric_truth: Hypothesis strategies and references for differential metric tests
- examples: Hypothesis' example counts, full or (the fast tier's profile) a tenth
- reference_levels: an independent implementation of the General-Level arithmetic
- gb_tree, media_files: synthetic General-Bench trees and media files
- engine_compare: DuckDB vs Spark table comparison; chromium: a headless browser over CDP
- hostile_server: a misbehaving OpenAI-compatible server for the security tests
- cli: `glc` run by main() in the test's process (output, exit status) instead of a new interpreter
"""
