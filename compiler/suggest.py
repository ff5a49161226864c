""""Did you mean" hints for unknown names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, candidates: Iterable[str], *, n: int = 1) -> str | None:
    """A hint naming the closest candidates to ``name``, or None if nothing is close."""
    pool = list(candidates)
    matches = difflib.get_close_matches(name, pool, n=n, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in pool}
        matches = [lowered[name.lower()]] if name.lower() in lowered else []
    if not matches:
        return None
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"
