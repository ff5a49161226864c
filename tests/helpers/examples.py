"""How many examples a Hypothesis test runs: its full count under the default profile ("full", the
README's test command), a tenth of it (at least one) under the "fast" profile, which tests/conftest.py
loads for the fast tier (``pytest -m "not slow"``) unless ``--hypothesis-profile`` names another.

A test writes ``@settings(max_examples=examples(300), ...)``: an explicit ``max_examples`` overrides
any profile, so the scaling has to happen here. ``@example`` cases (the regressions) run in both.
"""

from __future__ import annotations

import math

from hypothesis import settings

FULL = 100  # Hypothesis' own default max_examples
settings.register_profile("full")
settings.register_profile("fast", max_examples=FULL // 10)


def examples(full: int, at_least: int = 1) -> int:
    """``full`` scaled by the loaded profile's max_examples over the default's (at least ``at_least``,
    never more than ``full``): a test whose first, minimal example checks nothing asks for 2."""
    return min(full, max(at_least, math.ceil(full * settings.default.max_examples / FULL)))
