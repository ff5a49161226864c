"""Metric truth, long profile: thousands of generated cases per metric, scored by glc (a real
project: task data, imported predictions, the compiled SQL of ``glc run``) and by the reference
implementations (SQuAD 2.0 rules, sacrebleu, rouge-score with glc's documented tokenization, the
anls package, jiwer, scikit-learn, numpy/scipy, pycocotools, scikit-image, sewar).

The cases come from the Hypothesis strategies of tests/helpers/metric_truth.py (the fast profile in
tests/test_metric_truth.py uses the same ones); each family's cases are cut into corpora of
``--corpus`` cases (one task per metric and corpus; prediction records shuffled, instance ids
sorting against the data-file order) and ``--per-build`` corpora are scored in one build.

Prints per metric: cases compared, corpora (task scores compared, each also against a copy of
its prediction file in another record order), disagreements, and the family's time (glc builds
plus reference computations); then the first disagreements, ready to become explicit regression
cases of tests/test_metric_truth.py. Exit status 1 when any disagreement was found.

Run: python benchmarks/bench_metric_truth.py [--cases 2000] [--seed 0] [--family text ...]
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("GLC_BENCHMARK", "general-bench")

from helpers.metric_truth import (  # noqa: E402
    BOX_COMPARED,
    BOX_DECLS,
    CHOICE_DECLS,
    IMAGE_DECLS,
    LABEL_DECLS,
    NUMBER_DECLS,
    TEXT_DECLS,
    Disagreement,
    GlcOracle,
    box_cases,
    boxes_check,
    choice_check,
    choice_texts,
    image_cases,
    images_check,
    label_cases,
    labels_check,
    number_cases,
    numbers_check,
    run_checks,
    text_cases,
    text_check,
)
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def draw(strategy: st.SearchStrategy, n: int, at: int) -> list[Any]:
    """``n`` values of a Hypothesis strategy (generation only, no shrinking)."""
    out: list[Any] = []

    @seed(at)
    @settings(max_examples=n, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(x: Any) -> None:
        out.append(x)

    collect()
    return out


# family: (decls, case strategy, cases per corpus, share of --cases, check(cases, perm, order, slot, root))
FAMILIES: dict[str, tuple[dict, Any, int, float, Any]] = {
    "text": (TEXT_DECLS, text_cases(), 40, 1.0, lambda c, p, o, s, r: text_check(c, p, o, s)),
    "choice": (CHOICE_DECLS, st.tuples(st.sampled_from("ABCDE"), choice_texts()), 100, 1.5,
               lambda c, p, o, s, r: choice_check(c, s)),
    "labels": (LABEL_DECLS, label_cases(), 25, 1.0, lambda c, p, o, s, r: labels_check(c, p, o, s)),
    "numbers": (NUMBER_DECLS, number_cases(), 20, 1.0, lambda c, p, o, s, r: numbers_check(c, p, o, s)),
    "boxes": ({k: BOX_DECLS[k] for k in BOX_COMPARED}, None, 8, 1.0, lambda c, p, o, s, r: boxes_check(c, p, o, s)),
    "images": (IMAGE_DECLS, image_cases(), 20, 0.25, lambda c, p, o, s, r: images_check(r, c, s)),
}


def run_family(name: str, n_cases: int, per_build: int, at: int, corpus: int | None) -> tuple[dict, list, float]:
    decls, strategy, size, share, make = FAMILIES[name]
    size = corpus or size
    n = max(size, int(n_cases * share))
    rng = random.Random(at)
    if name == "boxes":  # a corpus is labelled or not as a whole
        chunks = [draw(st.lists(box_cases(k % 2 == 0), min_size=size, max_size=size), 1, at + k)[0]
                  for k in range(max(1, n // size))]
    else:
        cases = draw(strategy, n, at)
        chunks = [cases[k:k + size] for k in range(0, len(cases), size)]
    t0 = time.perf_counter()
    oracle = GlcOracle(Path(tempfile.mkdtemp(prefix=f"truth-{name}-")),
                       {f"{key}.c{k}": d for key, d in decls.items() for k in range(per_build)})
    found: list[Disagreement] = []
    for start in range(0, len(chunks), per_build):
        checks = []
        for k, chunk in enumerate(chunks[start:start + per_build]):
            perm, order = list(range(len(chunk))), list(range(len(chunk)))
            rng.shuffle(perm)
            rng.shuffle(order)
            checks.append(make(chunk, perm, order, f".c{k}", oracle.root))
        found += run_checks(oracle, checks)
    elapsed = time.perf_counter() - t0
    stats = {"cases": sum(len(c) for c in chunks), "corpora": len(chunks)}
    return stats, found, elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=2000, help="cases per family (images: a quarter)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-build", type=int, default=10, help="corpora scored in one build")
    ap.add_argument("--corpus", type=int, default=None, help="cases per corpus (default per family)")
    ap.add_argument("--family", action="append", choices=sorted(FAMILIES), help="default: all")
    ap.add_argument("--show", type=int, default=5, help="disagreements printed per metric")
    args = ap.parse_args()
    print(f"{'metric':<18} {'cases':>7} {'corpora':>8} {'disagreements':>14} {'family time':>12}")
    failures: dict[str, list[Disagreement]] = collections.defaultdict(list)
    total = 0.0
    for name in args.family or list(FAMILIES):
        stats, found, elapsed = run_family(name, args.cases, args.per_build, args.seed, args.corpus)
        total += elapsed
        for d in found:
            failures[d.metric.split(" ")[0]].append(d)
        for metric in FAMILIES[name][0]:
            print(f"{metric:<18} {stats['cases']:>7} {stats['corpora']:>8} {len(failures[metric]):>14} "
                  f"{elapsed:>11.1f}s")
    print(f"total {total:.1f}s")
    for ds in failures.values():
        for d in ds[:args.show]:
            print(f"\n{d}")
    return 1 if any(failures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
