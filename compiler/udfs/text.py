"""Text metrics that SQL cannot express well: longest common subsequences (ROUGE-L), edit
distances (WER/CER) and macro averages. Token F1, BLEU and ROUGE-1 are plain SQL (see
sql/macros/); these functions receive tokens the SQL already produced where tokens matter.

WER/CER follow jiwer's defaults: whitespace collapsed and stripped; words, or characters
including spaces.
"""

from __future__ import annotations

import math

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


def edit_stats(pred: str | None, ref: str | None, unit: str) -> list[float]:
    """[edit operations, reference length] in words or characters."""
    def units(text: str) -> list[str]:
        text = " ".join(text.split())
        return text.split() if unit == "word" else list(text)
    h, r = units(pred or ""), units(ref or "")
    return [float(Levenshtein.distance(h, r)), float(len(r))]


def group_mean(keys: list[str] | None, values: list[float] | None) -> float | None:
    """Mean over distinct keys of the mean of their values (macro average); None when empty."""
    groups: dict[str, list[float]] = {}
    for k, v in zip(keys or [], values or [], strict=True):
        groups.setdefault(str(k), []).append(0.0 if v is None else v)
    if not groups:
        return None
    return math.fsum(math.fsum(vs) / len(vs) for vs in groups.values()) / len(groups)
