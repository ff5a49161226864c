""""Did you mean" hints for unknown names."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path


def did_you_mean(name: str, candidates: Iterable[str], *, n: int = 1) -> str | None:
    """A hint naming the closest candidates to ``name``, or None if nothing is close."""
    pool = list(candidates)
    matches = difflib.get_close_matches(name, pool, n=n, cutoff=0.6)
    if not matches:  # case-insensitive, then a prefix of a longer name
        lowered = {c.lower(): c for c in pool}
        close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
        prefixed = [c for c in pool if c.lower().startswith(name.lower())] if len(name) >= 3 else []
        matches = [lowered[c] for c in close] or prefixed[:n]
    return _hint(matches)


def _hint(matches: Sequence[str]) -> str | None:
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?" if matches else None


TASK_CUTOFF = 0.75  # similarity of the names after the modality prefix


def did_you_mean_task(name: str, task_ids: Iterable[str], *, n: int = 3) -> str | None:
    """A hint naming task ids close to ``name``, or None.

    Task ids share their modality prefix (``image.``, ``video.``): compared whole, any two
    ``image.`` ids look alike. Here only the part after the last '.' is compared (difflib
    ratio at least ``TASK_CUTOFF``), and ids with the same prefix as ``name`` come first.
    """
    prefix, _, tail = name.lower().rpartition(".")
    scored: list[tuple[float, bool, str]] = []
    for tid in task_ids:
        if tid.lower() == name.lower():
            return _hint([tid])
        their_prefix, _, their_tail = tid.lower().rpartition(".")
        ratio = difflib.SequenceMatcher(None, tail, their_tail).ratio()
        if ratio >= TASK_CUTOFF:
            same = bool(prefix) and (their_prefix == prefix or their_prefix.endswith("." + prefix))
            scored.append((-ratio, not same, tid))
    return _hint([tid for _, _, tid in sorted(scored)[:n]])


SYNONYMS_FILE = Path(__file__).parent / "data" / "metric_synonyms.yaml"


def _norm(text: str) -> str:
    return re.sub(r"[\s\-@/]+", "_", text.strip().lower()).strip("_")


@lru_cache(maxsize=1)
def metric_synonyms() -> dict[str, tuple[str, ...]]:
    """The declared synonym table (``data/metric_synonyms.yaml``): normalized name -> metric names."""
    import yaml

    data = yaml.safe_load(SYNONYMS_FILE.read_text(encoding="utf-8")) or {}
    return {_norm(str(k)): tuple(str(x) for x in (v if isinstance(v, list) else [v])) for k, v in data.items()}


def did_you_mean_metric(name: str, aliases: Mapping[str, Sequence[str]], *, n: int = 3) -> str | None:
    """A hint for an unknown metric name: the metrics it names in another case or punctuation (by
    name or by one of their ``aliases:``) and those the synonym table maps it to; failing those,
    metric names spelled alike, then metrics with an alias spelled alike.

    ``aliases``: metric name -> its aliases, for the metrics the project has.
    """
    key = _norm(name)
    found: list[str] = []

    def add(metric: str) -> None:
        if metric in aliases and metric not in found:
            found.append(metric)

    for metric, names in aliases.items():  # an alias or a metric name written another way
        if key == _norm(metric) or any(key == _norm(a) for a in names):
            add(metric)
    for metric in metric_synonyms().get(key, ()):
        add(metric)
    if found:  # the name written another way, or a known synonym: no guesses by spelling
        return _hint(found[:n])
    spelled = difflib.get_close_matches(name.lower(), [m.lower() for m in aliases], n=n, cutoff=0.6)
    by_lower = {m.lower(): m for m in aliases}
    for m in spelled:
        add(by_lower[m])
    if not found:  # close to an alias (e.g. 'BLEU4' for 'BLEU@4')
        alias_of = {_norm(a): metric for metric, names in aliases.items() for a in names}
        for a in difflib.get_close_matches(key, list(alias_of), n=n, cutoff=0.8):
            add(alias_of[a])
    return _hint(found[:n])
