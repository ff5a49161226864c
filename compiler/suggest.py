""""Did you mean" hints for unknown names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, candidates: Iterable[str], *, n: int = 1) -> str | None:
    """A hint naming the closest candidates to ``name``, or None if nothing is close."""
    pool = list(candidates)
    matches = difflib.get_close_matches(name, pool, n=n, cutoff=0.6)
    if not matches:  # case-insensitive, then a prefix of a longer name
        lowered = {c.lower(): c for c in pool}
        close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
        prefixed = [c for c in pool if c.lower().startswith(name.lower())] if len(name) >= 3 else []
        matches = [lowered[c] for c in close] or prefixed[:n]
    if not matches:
        return None
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"
