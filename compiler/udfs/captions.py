"""CIDEr-D over a task (Vedantam, Zitnick and Parikh, CVPR 2015), as the COCO caption
evaluation code (pycocoevalcap's ``CiderScorer``) computes it.

Text is tokenized as the COCO code's PTB tokenizer leaves it, approximately: lower-cased, split
into words and punctuation, punctuation dropped (``tokens``). For n = 1..4 each sentence is a
vector of n-gram TF-IDF weights, tf(g) * (ln N - ln max(1, df(g))), where N is the number of
instances of the task and df(g) the number of instances whose references hold g. An answer
scores, per n, the mean over its references of the clipped cosine
sum_g min(h_g, r_g) r_g / (|h| |r|), times the length penalty exp(-(l_h - l_r)^2 / (2 * 6^2))
where l counts a sentence's bigrams, as that code does; the instance's CIDEr-D is 10 times the
mean over n, and the task's is the mean over instances.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter

ORDER = 4
SIGMA = 6.0
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if any(c.isalnum() for c in t)]


def _grams(words: list[str]) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i:i + n]) for n in range(1, ORDER + 1) for i in range(len(words) - n + 1))


def _vector(grams: Counter[tuple[str, ...]], df: Counter[tuple[str, ...]], log_n: float
            ) -> tuple[list[dict[tuple[str, ...], float]], list[float], int]:
    vec: list[dict[tuple[str, ...], float]] = [{} for _ in range(ORDER)]
    for g, tf in grams.items():
        vec[len(g) - 1][g] = tf * (log_n - math.log(max(1.0, df[g])))
    norms = [math.sqrt(sum(w * w for w in v.values())) for v in vec]
    bigrams = sum(tf for g, tf in grams.items() if len(g) == 2)
    return vec, norms, bigrams


def cider_d(items: list[tuple[str, list[str]]]) -> list[float]:
    """CIDEr-D of each (answer, references) item of a task."""
    cooked = [(_grams(tokens(h)), [_grams(tokens(r)) for r in refs]) for h, refs in items]
    df: Counter[tuple[str, ...]] = Counter()
    for _, refs in cooked:
        df.update(set().union(*[set(r) for r in refs]) if refs else set())
    log_n = math.log(len(cooked)) if cooked else 0.0
    out = []
    for hyp, refs in cooked:
        vh, nh, lh = _vector(hyp, df, log_n)
        total = 0.0
        for ref in refs:
            vr, nr, lr = _vector(ref, df, log_n)
            penalty = math.exp(-((lh - lr) ** 2) / (2 * SIGMA**2))
            for n in range(ORDER):
                dot = sum(min(w, vr[n].get(g, 0.0)) * vr[n].get(g, 0.0) for g, w in vh[n].items())
                if nh[n] != 0 and nr[n] != 0:
                    dot /= nh[n] * nr[n]
                total += dot * penalty
        out.append(10.0 * total / ORDER / len(refs) if refs else 0.0)
    return out


def cider(payloads: list[str | None] | None) -> float | None:
    """The task's CIDEr-D: the mean over instances; each payload is JSON {"pred", "refs"}."""
    items = []
    for p in payloads or []:
        if p is None:
            continue
        doc = json.loads(p)
        items.append((doc.get("pred") or "", [r for r in doc.get("refs") or [] if isinstance(r, str)]))
    if not items:
        return None
    scores = cider_d(items)  # each item's score depends on the set of items only, not their order
    return math.fsum(scores) / len(scores)  # summed exactly: the same mean in any row order
