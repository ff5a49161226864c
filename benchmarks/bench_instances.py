"""Scoring a General-Bench-sized prediction store: 699 tasks, 325,800 instances, 20 models
(6.5 M predictions) with text metrics (accuracy, token F1, BLEU-1, ROUGE-L).

Each of ``--reps`` rounds (at least 3) builds a fresh store and times, in the same round: the full
build from predictions to levels, the build after adding one more model (three models added one
at a time, their median; ratio to the round's full build; target <= 10 %), and the same metrics
computed per instance with the reference Python implementations (SQuAD rules, sacrebleu,
rouge_score) on a sample, extrapolated (ratio to the round's full build; target >= 10x). Figures
are the min and the median over the rounds; targets are judged on the median. Peak memory too.
Target for the full build: <= 90 s.
Run: python benchmarks/bench_instances.py [--models 20] [--instances 325800] [--reps 3] [--no-reference]
(``--no-reference`` skips the reference implementations, most of a round: for iterating on the build;
the speed-up is then not reported.)
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import re
import resource
import shutil
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import drop_task_list_boards  # noqa: E402

sys.path.insert(0, str(REPO))
os.environ.setdefault("GLC_BENCHMARK", "general-bench")  # the 699-task catalog

from glc.compiler.plan import compile_project  # noqa: E402

from glc.engine.build import build  # noqa: E402
from glc.engine.store import ensure_store, locked_down, refresh_prediction_partitions  # noqa: E402

METRICS = ("acc", "f1", "bleu1", "rouge_l")
GROUPS = [(m, p) for m in ("image", "video", "audio", "3d") for p in ("comprehension", "generation")] + [("nlp", "nlp")]
WORDS = ("the cat dog bird fish red blue green small large runs jumps sits eats on under near quickly slowly "
         "house tree river city car road answer paris four blue sky model image video audio").split()


def make_project(dest: Path) -> Path:
    for name in ("sql",):
        shutil.copytree(REPO / name, dest / name)
    shutil.copytree(REPO / "specs", dest / "specs", ignore=shutil.ignore_patterns("tasks"))
    drop_task_list_boards(dest / "specs")  # synthetic task ids are not in the Quick Board's list
    folder = dest / "specs" / "tasks"
    for k in range(699):
        modality, paradigm = GROUPS[k % len(GROUPS)]
        spec = {"id": f"{modality}.bench_{k:03d}", "name": f"Bench task {k}", "modality": modality,
                "paradigm": paradigm, "metric": METRICS[k % 4], "sota": {"value": 40.0, "source": "bench"}}
        path = folder / modality / f"{k:03d}.yaml"  # the general-bench benchmark reads specs/tasks/<modality>/
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(spec))
    shutil.copy(REPO / "profiles.yml", dest / "profiles.yml")
    return dest


def fill_store(con: duckdb.DuckDBPyConnection, n_instances: int, n_models: int) -> None:
    """Instances and predictions generated in SQL: short texts, predictions perturb the reference."""
    ensure_store(con)
    words = "[" + ", ".join(f"'{w}'" for w in WORDS) + "]"
    con.execute(f"""
        INSERT INTO instances
        SELECT t.task_id, 'i' || n, '{{}}', '', 'text',
               [array_to_string(list_transform(range(5 + (hash(n) % 10)::INT),
                   lambda k: {words}[1 + (hash(n * 31 + k) % {len(WORDS)})::INT]), ' ')],
               NULL, '[]', 'bench', 'bench-' || t.task_id
        FROM (SELECT task_id, row_number() OVER (ORDER BY task_id) - 1 AS k FROM tasks) AS t,
             range({n_instances // 699 + 1}) AS r(n)
        WHERE t.k * {n_instances // 699 + 1} + n < {n_instances}
    """)
    for m in range(n_models):
        add_model(con, f"model-{m:02d}")


def add_model(con: duckdb.DuckDBPyConnection, model: str) -> None:
    words = "[" + ", ".join(f"'{w}'" for w in WORDS) + "]"
    seed = abs(hash(model)) % 1000
    con.execute(f"""
        INSERT INTO predictions
        SELECT ?, task_id, instance_id,
               CASE WHEN hash(instance_id || ?) % 3 = 0 THEN ref_texts[1]
                    ELSE array_to_string(list_transform(string_split(ref_texts[1], ' '),
                         lambda w, k: CASE WHEN hash(instance_id || k || ?) % 4 = 0
                                        THEN {words}[1 + (hash(k + {seed}) % {len(WORDS)})::INT] ELSE w END), ' ')
               END,
               'string', '', 'bench', NULL, NULL, NULL, ?, now()::TIMESTAMP
        FROM instances
    """, [model, model, model, f"batch-{model}"])
    refresh_prediction_partitions(con, con.execute("SELECT DISTINCT ?, task_id FROM instances", [model]).fetchall())


def cpu_seconds() -> float:
    """CPU time of this process, all threads (DuckDB's included): what a busy machine changes
    much less than wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def reference_seconds_per_instance(con: duckdb.DuckDBPyConnection, sample: int,
                                   clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import BLEU

    rows = con.execute("SELECT p.output, i.ref_texts[1] FROM predictions p JOIN instances i USING (task_id, "
                       f"instance_id) USING SAMPLE reservoir({sample} ROWS) REPEATABLE (7)").fetchall()
    preds, refs = [r[0] for r in rows], [r[1] for r in rows]

    punctuation = set(string.punctuation)

    def normalize(s: str) -> str:  # the SQuAD evaluation script's normalize_answer
        s = "".join(ch for ch in s.lower() if ch not in punctuation)
        return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())

    def f1(p: str, g: str) -> float:
        pt, gt = normalize(p).split(), normalize(g).split()
        common = sum((collections.Counter(pt) & collections.Counter(gt)).values())
        return 0.0 if common == 0 else 2 * common / (len(pt) + len(gt))

    bleu = BLEU(max_ngram_order=1, smooth_method="none", tokenize="13a")
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    pairs = list(zip(preds, refs, strict=True))
    jobs = {
        "acc": lambda: [float(normalize(p) == normalize(g)) for p, g in pairs],
        "f1": lambda: [f1(p, g) for p, g in pairs],
        # per instance: sacrebleu's statistics and score of one segment
        "bleu1": lambda: [bleu.corpus_score([p], [[g]]) for p, g in pairs],
        "rouge_l": lambda: [scorer.score(g, p) for p, g in pairs],
    }
    out = {}
    for name, job in jobs.items():  # best of three, the kindest figure for the baseline
        best = float("inf")
        for _ in range(3):
            t = clock()
            job()
            best = min(best, clock() - t)
        out[name] = best / len(rows)
    return out


def one_round(args: argparse.Namespace, k: int) -> dict[str, float | str]:
    """One repetition: a fresh store, the full build, three one-model additions, and the reference
    implementations on a sample of the same store (timed in the same round, right after glc)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp))
        compiled = compile_project(root)
        con_threads = 2
        con = locked_down(str(root / "bench.duckdb"), threads=con_threads)  # the store as glc opens it
        build(con, compiled, [n for n in compiled.nodes if n.name == "task_sota"])  # loads the seeds
        t = time.perf_counter()
        fill_store(con, args.instances, args.models)
        t_fill = time.perf_counter() - t
        n_pred = con.execute("SELECT count(*) FROM predictions").fetchone()[0]
        n_inst = con.execute("SELECT count(*) FROM instances").fetchone()[0]

        t, c = time.perf_counter(), cpu_seconds()
        full = build(con, compiled)
        t_full, c_full = time.perf_counter() - t, cpu_seconds() - c
        t = time.perf_counter()
        again = build(con, compiled)
        t_again = time.perf_counter() - t
        adds, add_cpu = [], []  # three models added one after another: each build scores one more model
        for a in range(3):
            add_model(con, f"model-new-{a}")
            t, c = time.perf_counter(), cpu_seconds()
            more = build(con, compiled)
            adds.append(time.perf_counter() - t)
            add_cpu.append(cpu_seconds() - c)

        if args.no_reference:
            per = dict.fromkeys(METRICS, float("nan"))
            t_ref = c_ref = float("nan")
        else:
            per = reference_seconds_per_instance(con, args.sample)
            share = {m: con.execute("SELECT count(*) FROM predictions p JOIN tasks t USING (task_id) "
                                    "WHERE t.metric = ? AND p.model NOT LIKE 'model-new-%'", [m]).fetchone()[0]
                     for m in METRICS}
            t_ref = sum(per[m] * share[m] for m in METRICS)
            per_cpu = reference_seconds_per_instance(con, args.sample, cpu_seconds)
            c_ref = sum(per_cpu[m] * share[m] for m in METRICS)
        levels = con.execute("SELECT count(*) FROM level_scores").fetchone()[0]
        on_board = con.execute("SELECT count(DISTINCT model) FROM level_scores").fetchone()[0]
        assert on_board == args.models + len(adds), f"{on_board} models on the level board"
        con.close()
        slow = sorted(full.node_seconds.items(), key=lambda kv: -kv[1])[:5]
        parts = {n: v for n, v in more.partitions_built.items() if v}
        load = os.getloadavg()[0]  # other work on the machine slows glc and the reference alike, not equally
        print(f"  round {k + 1} (load average {load:.1f}): {n_inst} instances, {n_pred} predictions of "
              f"{args.models} models (generated in {t_fill:.1f} s), {levels} level_scores rows; full build "
              f"{t_full:.2f} s (slowest: "
              + ", ".join(f"{n} {v:.1f}s" for n, v in slow) + f"); rebuild with nothing changed {t_again:.2f} s "
              f"({len(again.built)} models built); +1 model {', '.join(f'{x:.2f}' for x in adds)} s "
              f"(partitions {parts}); reference {t_ref:.1f} s (per instance, us: "
              + ", ".join(f"{m} {per[m] * 1e6:.1f}" for m in METRICS) + ")", flush=True)
        print(f"    CPU time: full build {c_full:.1f} s (on {con_threads} threads), +1 model "
              f"{', '.join(f'{x:.2f}' for x in add_cpu)} s, reference {c_ref:.1f} s "
              f"(ratio {c_ref / c_full:.1f}x)", flush=True)
        return {"full": t_full, "add": statistics.median(adds), "ref": t_ref, "cpu_ratio": c_ref / c_full}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--instances", type=int, default=325_800)
    ap.add_argument("--sample", type=int, default=5000)
    ap.add_argument("--reps", type=int, default=3, help="repetitions (at least 3): min and median are reported")
    ap.add_argument("--no-reference", action="store_true",
                    help="skip timing the reference implementations (no speed-up figure)")
    args = ap.parse_args()
    reps = max(3, args.reps)
    random.seed(0)
    print(f"{reps} rounds; each: fresh store, full build, three one-model additions, reference on a sample",
          flush=True)
    rounds = [one_round(args, k) for k in range(reps)]
    full = [float(r["full"]) for r in rounds]
    add = [float(r["add"]) for r in rounds]
    share = [a / f for a, f in zip(add, full, strict=True)]  # paired: each round's addition over its own build
    med = statistics.median
    print(f"full build, predictions -> levels:  min {min(full):8.2f} s  median {med(full):8.2f} s  "
          f"(target <= 90 s on the median: {'met' if med(full) <= 90 else 'MISSED'})")
    print(f"build after adding one model:       min {min(add):8.2f} s  median {med(add):8.2f} s  = "
          f"{100 * min(share):.1f} % / {100 * med(share):.1f} % of the full build (min / median of the rounds' "
          f"ratios; target <= 10 % on the median: {'met' if med(share) <= 0.1 else 'MISSED'})")
    if args.no_reference:
        print("reference implementations not timed (--no-reference): no speed-up figure")
    else:
        report_reference(rounds, full)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS, this process incl. DuckDB, over all rounds): {peak_mb:.0f} MiB")


def report_reference(rounds: list[dict[str, float | str]], full: list[float]) -> None:
    ref = [float(r["ref"]) for r in rounds]
    speed = [r / f for r, f in zip(ref, full, strict=True)]
    med = statistics.median
    print(f"reference, extrapolated to the store: min {min(ref):8.1f} s  median {med(ref):8.1f} s -> glc is "
          f"{min(speed):.1f}x / {med(speed):.1f}x faster (min / median of the rounds' ratios; target >= 10x on the "
          f"median: {'met' if med(speed) >= 10 else 'MISSED'})")
    cpu_ratio = [float(r["cpu_ratio"]) for r in rounds]
    print(f"the same in CPU time (glc's threads summed; less sensitive to other work on the machine, and "
          f"no credit for glc's parallelism): {min(cpu_ratio):.1f}x / {med(cpu_ratio):.1f}x (min / median)")


if __name__ == "__main__":
    main()
