"""CodeBLEU, long profile and speed: generated Python programs (the Hypothesis strategy of
tests/test_codebleu.py: valid and broken code, comments and docstrings, loops, branches, Unicode
identifiers, empty answers) cut into corpora, scored by glc's glc_codebleu (compiler/udfs/code.py)
and by the codebleu package (its sets iterating in first-seen order, the convention glc follows).

Prints the corpora compared, the disagreements (|glc - package| > 1e-6 on CodeBLEU or any of its
four terms) and, over ``--reps`` rounds (at least 3), the time of each side on the same corpora:
min and median, and the ratio package / glc. Exit status 1 when any disagreement was found.

Run: python benchmarks/bench_codebleu.py [--cases 2000] [--corpus 20] [--reps 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000, help="generated (answer, references) items")
    ap.add_argument("--corpus", type=int, default=20, help="items per corpus (one task)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    a.reps = max(3, a.reps)

    import codebleu.dataflow_match as flow_module
    import codebleu.parser.DFG as dfg_module
    from codebleu import calc_codebleu
    from glc.compiler.udfs import code
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st
    from test_codebleu import FirstSeenSet, programs

    dfg_module.set = FirstSeenSet  # type: ignore[attr-defined]
    flow_module.set = FirstSeenSet  # type: ignore[attr-defined]
    logging.getLogger().setLevel(logging.ERROR)

    items: list[tuple[str, list[str]]] = []

    @hseed(a.seed)
    @settings(max_examples=a.cases, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.tuples(programs(), st.lists(programs(), min_size=1, max_size=2)))
    def collect(item: tuple[str, list[str]]) -> None:
        items.append(item)

    collect()
    corpora = [items[i:i + a.corpus] for i in range(0, len(items), a.corpus)]
    print(f"{len(items)} generated items in {len(corpora)} corpora of up to {a.corpus}; "
          f"load average {os.getloadavg()[0]:.2f}")

    keys = [("codebleu", "codebleu"), ("ngram_match", "ngram_match_score"),
            ("weighted_ngram_match", "weighted_ngram_match_score"), ("syntax_match", "syntax_match_score"),
            ("dataflow_match", "dataflow_match_score")]
    bad = []
    t_glc: list[float] = []
    t_ref: list[float] = []
    for rep in range(a.reps):
        t0 = time.perf_counter()
        mine = [code.codebleu_parts(c) for c in corpora]
        t1 = time.perf_counter()
        theirs = [calc_codebleu([r for _, r in c], [h for h, _ in c], lang="python") for c in corpora]
        t2 = time.perf_counter()
        t_glc.append(t1 - t0)
        t_ref.append(t2 - t1)
        if rep == 0:
            for k, (g, w) in enumerate(zip(mine, theirs, strict=True)):
                for gk, wk in keys:
                    if abs(g[gk] - w[wk]) > 1e-6:
                        bad.append((k, gk, g[gk], w[wk]))
    print(f"disagreements: {len(bad)} (corpus, term, glc, package)")
    for row in bad[:10]:
        print("  ", row)
    ratios = [r / g for r, g in zip(t_ref, t_glc, strict=True)]
    print(f"glc     min {min(t_glc):7.2f} s  median {statistics.median(t_glc):7.2f} s")
    print(f"package min {min(t_ref):7.2f} s  median {statistics.median(t_ref):7.2f} s")
    print(f"package / glc: min {min(ratios):.2f}x  median {statistics.median(ratios):.2f}x "
          f"(load average {os.getloadavg()[0]:.2f})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
