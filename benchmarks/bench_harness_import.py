"""Importing a large lm-eval run: 1,000,000 generated ``--log_samples`` lines for 20 tasks.

Half the tasks are generation tasks (``generate_until``: a list with the answer text, one
``exact_match`` score), half multiple-choice (four ``[log-likelihood, is-greedy]`` pairs, ``acc``
and ``acc_norm``), every line shaped as lm-eval 0.4 writes it (doc, target, arguments, resps,
filtered_resps, filter, metrics, hashes). Each task has a glc dataset of the same documents;
samples match instances by ``doc.id``.

The data is generated once; then, ``--repeat`` times (default 3), in fresh processes, alternately:
reading the same JSONL files with polars (``pl.read_ndjson`` per file, schema inferred), and the
import (read, match, check and store predictions and harness_scores, into a copy of a store that
already holds the tasks' instances, until the store is closed). Prints each run, min and median of
both, the ratio of the medians, each side's CPU time (all threads; on a machine shared with other
work it says what the wall time would be alone better than the wall time does), peak memory (max
RSS of its process) and the load average. Targets: <= 30 s and <= 3x polars. Loading the tasks'
data into ``instances`` (what ``glc run`` does anyway before anything is scored) happens once,
before, and is printed on its own.
Run: python benchmarks/bench_harness_import.py [--lines 1000000] [--tasks 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
import polars as pl
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("GLC_BENCHMARK", "general-bench")

from glc.compiler.plan import compile_project  # noqa: E402

from glc.engine.store import connect, ensure_store  # noqa: E402
from glc.execute.datasets import sync_instances  # noqa: E402
from glc.importers.harness import read_harness, store_harness  # noqa: E402
from glc.profiles import load_target  # noqa: E402

WORDS = ("the cat dog bird fish red blue green small large runs jumps sits eats on under near quickly slowly "
         "house tree river city car road answer paris four blue sky model image video audio").split()
DATE = "2026-11-30T12-00-00.000000"


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make(dest: Path, n_lines: int, n_tasks: int) -> tuple[Path, Path, Path]:
    """(project, log folder, mapping) with the tasks' data and the run's samples files."""
    root = dest / "proj"
    shutil.copytree(REPO / "sql", root / "sql")
    shutil.copytree(REPO / "specs", root / "specs", ignore=shutil.ignore_patterns("tasks", "models"))
    shutil.copy(REPO / "profiles.yml", root / "profiles.yml")
    (root / "data" / "general-bench").mkdir(parents=True)
    (root / "data" / "general-bench" / "quick_tasks.txt").write_text("# the Quick Board holds none of these tasks\n")
    for folder in ("3d", "audio", "image", "video"):  # the benchmark's folders; the tasks are all nlp here
        (root / "specs" / "tasks" / folder).mkdir(parents=True)
    logs = dest / "logs" / "bench-model"
    logs.mkdir(parents=True)
    rng = random.Random(0)
    per_task = n_lines // n_tasks
    mapping: dict[str, dict] = {}
    for t in range(n_tasks):
        mc = t % 2 == 1
        name = f"bench_{'mc' if mc else 'qa'}_{t:02d}"
        task_id = f"nlp.{name}"
        data_lines, sample_lines = [], []
        for i in range(per_task):
            q = " ".join(rng.choice(WORDS) for _ in range(8 + i % 7)) + "?"
            doc_id = f"{name}-{i}"
            prompt = f"Question: {q}\nAnswer:"
            if mc:
                choices = [" ".join(rng.choice(WORDS) for _ in range(2)) for _ in range(4)]
                gold = i % 4
                doc = {"id": doc_id, "question": q, "choices": choices, "answer": gold}
                ll = [f"{-rng.random() * 20:.15f}" for _ in range(4)]
                best = max(range(4), key=lambda k: float(ll[k]))
                line = {"doc_id": i, "doc": doc, "target": str(gold),
                        "arguments": {f"gen_args_{k}": {"arg_0": prompt, "arg_1": " " + c}
                                      for k, c in enumerate(choices)},
                        "resps": [[[x, "False"]] for x in ll], "filtered_resps": [[x, "False"] for x in ll],
                        "filter": "none", "metrics": ["acc", "acc_norm"], "doc_hash": _h(doc_id),
                        "prompt_hash": _h(prompt), "target_hash": _h(str(gold)),
                        "acc": float(best == gold), "acc_norm": float(rng.random() < 0.5)}
                data_lines.append({"id": doc_id, "input": {"question": q, "choices": choices},
                                   "output": "ABCD"[gold]})
            else:
                answer = rng.choice(WORDS)
                said = answer if rng.random() < 0.6 else rng.choice(WORDS)
                doc = {"id": doc_id, "question": q, "answer": answer}
                line = {"doc_id": i, "doc": doc, "target": answer,
                        "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": {"until": ["\n"], "do_sample": False}}},
                        "resps": [[" " + said]], "filtered_resps": [" " + said], "filter": "none",
                        "metrics": ["exact_match"], "doc_hash": _h(doc_id), "prompt_hash": _h(prompt),
                        "target_hash": _h(answer), "exact_match": float(said == answer)}
                data_lines.append({"id": doc_id, "input": {"question": q}, "output": answer})
            sample_lines.append(line)
        (root / "data" / f"{name}.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in data_lines))
        (logs / f"samples_{name}_{DATE}.jsonl").write_bytes(
            b"".join(orjson.dumps(x) + b"\n" for x in sample_lines))
        spec = {"id": task_id, "name": f"Bench {name}", "modality": "nlp", "paradigm": "nlp", "metric": "acc",
                "sota": {"value": 50.0, "source": "bench"},
                "dataset": {"format": "jsonl", "path": f"data/{name}.jsonl", "reference": "choice" if mc else "text",
                            **({"options_field": "input.choices"} if mc else {})}}
        folder = root / "specs" / "tasks" / "nlp"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec))
        mapping[name] = {"task": task_id, "match": {"by": "id", "field": "doc.id"}}
    map_path = dest / "map.yaml"
    map_path.write_text(yaml.safe_dump({"format": "lm-eval", "tasks": mapping}))
    return root, logs, map_path


def _child(kind: str, dest: Path) -> None:
    """One measured run in this process: prints seconds, CPU seconds (all threads) and peak RSS (MB) as JSON."""
    import resource

    logs = dest / "logs" / "bench-model"
    if kind == "polars":
        t0, c0 = time.perf_counter(), time.process_time()
        rows = sum(pl.read_ndjson(f).height for f in sorted(logs.iterdir()))
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    else:
        root = dest / "proj"
        store = root / "target" / "general-bench.duckdb"
        shutil.copy(dest / "synced.duckdb", store)
        project = compile_project(root).project
        con = connect(load_target(root, None, project.benchmark.name))
        t0, c0 = time.perf_counter(), time.process_time()
        imp = read_harness(con, logs, project, "lm-eval", "bench-model", dest / "map.yaml")
        store_harness(con, imp)
        con.close()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        con = connect(load_target(root, None, project.benchmark.name))
        rows = con.execute("SELECT count(*) FROM predictions").fetchone()[0]  # type: ignore[index]
        scored = con.execute("SELECT count(*) FROM harness_scores").fetchone()[0]  # type: ignore[index]
        con.close()
        assert scored == imp.scores.height, (scored, imp.scores.height)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(orjson.dumps({"seconds": seconds, "cpu": cpu, "rows": rows, "peak_mb": peak}).decode())


def _measure(kind: str, dest: Path) -> dict:
    import subprocess

    out = subprocess.run([sys.executable, __file__, "--child", kind, "--dest", str(dest)], check=True,
                         capture_output=True, text=True).stdout
    return orjson.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", choices=("polars", "glc"), help=argparse.SUPPRESS)
    ap.add_argument("--dest", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.dest)
        return
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp)
        t0 = time.perf_counter()
        root, logs, _ = make(dest, a.lines, a.tasks)
        size = sum(f.stat().st_size for f in logs.iterdir())
        print(f"generated {a.lines:,} sample lines for {a.tasks} tasks ({size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t0:.1f} s")
        project = compile_project(root).project
        con = connect(load_target(root, None, project.benchmark.name))
        ensure_store(con)
        t0 = time.perf_counter()
        sync_instances(con, project)
        con.close()
        print(f"task data into instances (before the clock, once): {time.perf_counter() - t0:.1f} s")
        shutil.copy(root / "target" / "general-bench.duckdb", dest / "synced.duckdb")
        runs: dict[str, list[dict]] = {"polars": [], "glc": []}
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for i in range(a.repeat):
            for kind in ("polars", "glc"):
                r = _measure(kind, dest)
                assert r["rows"] == a.lines, r
                runs[kind].append(r)
                print(f"run {i + 1} {kind}: {r['seconds']:.2f} s, CPU {r['cpu']:.2f} s "
                      f"(peak RSS {r['peak_mb']:.0f} MB)", flush=True)
        load = os.getloadavg()
        med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
        low = {k: min(r["seconds"] for r in v) for k, v in runs.items()}
        peak = {k: max(r["peak_mb"] for r in v) for k, v in runs.items()}
        cpu = {k: statistics.median(r["cpu"] for r in v) for k, v in runs.items()}
        print(f"polars read_ndjson of the same files: min {low['polars']:.2f} s, median {med['polars']:.2f} s "
              f"(CPU median {cpu['polars']:.2f} s, peak RSS {peak['polars']:.0f} MB)")
        print(f"glc import (read, match, check, store, close): min {low['glc']:.2f} s, median {med['glc']:.2f} s "
              f"(CPU median {cpu['glc']:.2f} s, peak RSS {peak['glc']:.0f} MB), {a.lines:,} predictions")
        print(f"ratio import / polars: {med['glc'] / med['polars']:.2f}x of the medians, "
              f"{low['glc'] / low['polars']:.2f}x of the minima (targets: <= 30 s and <= 3x)")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in load)} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
