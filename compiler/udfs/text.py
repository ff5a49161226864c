"""Text metrics that SQL cannot express well: longest common subsequences (ROUGE-L), edit
distances (WER/CER) and macro averages. Token F1, BLEU and ROUGE-1 are plain SQL (see
sql/macros/); these functions receive tokens the SQL already produced where tokens matter.

WER/CER follow jiwer's default transforms exactly (see ``edit_stats``).
"""

from __future__ import annotations

import math
import re
from typing import TypedDict

from rapidfuzz.distance import LCSseq, Levenshtein


def rouge_l(pred: str | None, refs: list[str] | None) -> float:
    """Max over references of the ROUGE-L F1 of space-joined token strings (LCS by rapidfuzz)."""
    if not pred or not refs:
        return 0.0
    p = pred.split()
    best = 0.0
    for ref in refs:
        if not ref:
            continue
        if ref == pred:
            return 1.0
        g = ref.split()
        lcs = LCSseq.similarity(p, g)
        if lcs:
            f = 2.0 * lcs / (len(p) + len(g))
            if f > best:
                best = f
    return best


# --- WER / CER ------------------------------------------------------------------------------


_MULTIPLE_SPACES = re.compile(r"\s\s+")  # jiwer.RemoveMultipleSpaces: Python's \s on str


def edit_units(text: str, unit: str) -> list[str]:
    """jiwer's default transforms: for words (wer_default) runs of two or more whitespace
    characters become one space, the ends are stripped and words are split at " " only (so a
    lone tab joins two words); for characters (cer_default) the ends are stripped and every
    character counts, repeated spaces included."""
    if unit == "word":
        return [w for w in _MULTIPLE_SPACES.sub(" ", text).strip().split(" ") if w]
    return list(text.strip())


class EditStats(TypedDict):
    """``glc_edit_stats``'s STRUCT (field names as in compiler/udfs/registry.py)."""

    edits: float  # edit operations (substitutions, deletions, insertions)
    ref_len: float  # length of the reference


def edit_stats(pred: str | None, ref: str | None, unit: str) -> EditStats:
    """Edit operations and reference length, in words or characters."""
    h, r = edit_units(pred or "", unit), edit_units(ref or "", unit)
    return {"edits": float(Levenshtein.distance(h, r)), "ref_len": float(len(r))}


def group_mean(keys: list[str] | None, values: list[float] | None) -> float | None:
    """Mean over distinct keys of the mean of their values (macro average); None when empty."""
    groups: dict[str, list[float]] = {}
    for k, v in zip(keys or [], values or [], strict=True):
        groups.setdefault(str(k), []).append(0.0 if v is None else v)
    if not groups:
        return None
    return math.fsum(math.fsum(vs) / len(vs) for vs in groups.values()) / len(groups)
