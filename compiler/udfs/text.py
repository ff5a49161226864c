"""Text metrics computed per instance: SQuAD token F1, BLEU statistics, ROUGE, edit rates.

Tokenizations are stated, not implied:
* token F1: whitespace split of text the SQL already normalized (SQuAD rules).
* BLEU: mteval-v13a tokenization (what sacrebleu calls ``13a``), case-sensitive.
* ROUGE: lower-case, tokens are runs of letters/digits; each CJK character is its own token.
  rouge_score's default tokenizer keeps only ``[a-z0-9]`` and so drops CJK and accented
  text entirely (a Chinese summary scores 0 against itself); glc keeps them.
* WER/CER: jiwer's defaults: whitespace-collapsed, stripped; words, or characters with spaces.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

from rapidfuzz.distance import LCSseq, Levenshtein


def token_f1(pred: str | None, refs: list[str] | None) -> float:
    """Max over references of the SQuAD token F1 of whitespace tokens."""
    p = (pred or "").split()
    best = 0.0
    for ref in refs or [""]:
        g = (ref or "").split()
        if not p or not g:
            best = max(best, float(p == g))
            continue
        common = sum((Counter(p) & Counter(g)).values())
        if common == 0:
            continue
        precision, recall = common / len(p), common / len(g)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


# --- BLEU (13a tokenization, corpus statistics) -----------------------------------------------

_13A = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # punctuation and symbols
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # period/comma not preceded by a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # period/comma not followed by a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # dash after a digit
]


@lru_cache(maxsize=1 << 16)
def tokenize_13a(line: str) -> tuple[str, ...]:
    """mteval-v13a tokenization as used by WMT."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for pattern, repl in _13A:
        line = pattern.sub(repl, line)
    return tuple(line.split())


def _ngrams(tokens: tuple[str, ...], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tokens[i:i + n] for i in range(len(tokens) - n + 1))


def bleu_stats(pred: str | None, refs: list[str] | None, max_order: int) -> list[float]:
    """[matches_1..N, totals_1..N, hyp_len, closest_ref_len] for corpus BLEU."""
    hyp = tokenize_13a(pred or "")
    ref_toks = [tokenize_13a(r or "") for r in (refs or [""])]
    matches, totals = [], []
    for n in range(1, max_order + 1):
        h = _ngrams(hyp, n)
        max_ref: Counter[tuple[str, ...]] = Counter()
        for r in ref_toks:
            max_ref |= _ngrams(r, n)
        matches.append(float(sum(min(c, max_ref[g]) for g, c in h.items())))
        totals.append(float(max(len(hyp) - n + 1, 0)))
    lens = sorted((abs(len(r) - len(hyp)), len(r)) for r in ref_toks)
    return [*matches, *totals, float(len(hyp)), float(lens[0][1])]


# --- ROUGE ------------------------------------------------------------------------------------

_ROUGE_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]|[^\W_]+")


def rouge_tokens(text: str) -> list[str]:
    return _ROUGE_TOKEN.findall(text.lower())


def _f(overlap: int, n_pred: int, n_ref: int) -> float:
    if overlap == 0 or n_pred == 0 or n_ref == 0:
        return 0.0
    p, r = overlap / n_pred, overlap / n_ref
    return 2 * p * r / (p + r)


def rouge_f(pred: str | None, refs: list[str] | None, kind: str) -> float:
    """Max over references of ROUGE-1 or ROUGE-L F1."""
    p = rouge_tokens(pred or "")
    best = 0.0
    for ref in refs or [""]:
        g = rouge_tokens(ref or "")
        if kind == "rouge1":
            overlap = sum((Counter(p) & Counter(g)).values())
        else:
            overlap = int(LCSseq.similarity(p, g)) if p and g else 0
        best = max(best, _f(overlap, len(p), len(g)))
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
