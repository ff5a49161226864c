"""Levels for 1,000 imported models x 699 tasks, end to end after import.

Prints: the import time (a 699,000-row Parquet file through ``glc import scores``), the
``glc run`` time (compile, build of every model for 3 variants x 13 scopes, data tests),
and, as the baseline measured in the same run, the independent plain-Python reference
(tests/helpers/reference_levels.py) on a sample of models, extrapolated to 1,000 models and checked
to agree with the SQL. Target: run <= 5 s.
Run: python benchmarks/bench_levels.py [--models N]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("GLC_BENCHMARK", "general-bench")  # the 699-task catalog
sys.path.insert(0, str(REPO / "tests"))

from helpers.reference_levels import RefTask, levels  # noqa: E402

from glc.workspace import Workspace  # noqa: E402

SAMPLE = 20


def synthetic_scores(ws: Workspace, n_models: int, seed: int = 7) -> tuple[pl.DataFrame, list[RefTask]]:
    rng = random.Random(seed)
    tasks = ws.compile(write=False).project.tasks
    ref = [RefTask(t.id, t.spec.modality, t.spec.paradigm, t.spec.metric, t.spec.sota.value) for t in tasks]
    models, task_ids, scores = [], [], []
    for m in range(n_models):
        for t in tasks:
            r = rng.random()
            if r < 0.25:
                continue  # unsupported
            sota = t.spec.sota.value
            lo = t.metric.range.min if t.metric.range.min is not None else 0.0
            hi = t.metric.range.max if t.metric.range.max is not None else max(sota * 3, 1.0)
            value = sota if r < 0.30 else rng.uniform(max(lo, sota * 0.5), min(hi, sota * 1.3 + 1e-9))
            models.append(f"model-{m:04d}")
            task_ids.append(t.id)
            scores.append(value)
    return pl.DataFrame({"model": models, "task": task_ids, "score": scores}), ref


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("specs", "sql"):
            shutil.copytree(REPO / name, root / name)
        shutil.copy(REPO / "profiles.yml", root / "profiles.yml")
        ws = Workspace(root)
        frame, ref_tasks = synthetic_scores(ws, args.models)
        path = root / "scores.parquet"
        frame.write_parquet(path)
        t = time.perf_counter()
        ws.import_scores(path)
        t_import = time.perf_counter() - t

        t = time.perf_counter()
        result = Workspace(root).run()
        t_run = time.perf_counter() - t

        # baseline: the plain-Python reference on a sample, extrapolated
        sample = sorted(set(frame["model"].to_list()))[:SAMPLE]
        by_model = {m: dict(zip(g["task"], g["score"], strict=True))
                    for (m,), g in frame.filter(pl.col("model").is_in(sample)).group_by("model")}
        t = time.perf_counter()
        ref = {m: levels(ref_tasks, by_model[m]) for m in sample}
        for m in sample:  # the other two scope-A boards
            levels(ref_tasks, by_model[m], strict=True)
            levels(ref_tasks, by_model[m], per_modality=True)
        t_ref = (time.perf_counter() - t) / len(sample) * args.models

        con = duckdb.connect(ws.target.path, read_only=True)
        rows = con.execute("SELECT model, level_2, level_3, level_4, level_5 FROM level_scores "
                           "WHERE variant = 'pooled' AND scope = 'A'").fetchall()
        n_rows = con.execute("SELECT count(*) FROM level_scores").fetchone()[0]
        con.close()
        worst = max(abs(r[k + 1] - ref[r[0]][f"level_{k + 2}"]) for r in rows if r[0] in ref for k in range(4))
        print(f"models x tasks: {args.models} x {len(ref_tasks)} ({frame.height} scores), level_scores rows: {n_rows}")
        print(f"import (parquet, validated):        {t_import:8.2f} s")
        print(f"glc run (compile+build+data tests): {t_run:8.2f} s  (build {result.build.seconds:.2f} s)")
        boards = n_rows // args.models
        print(f"python reference, extrapolated:     {t_ref:8.2f} s  (3 scope-A boards; {SAMPLE} models timed)")
        print(f"per board: glc {t_run / boards:.3f} s for {boards} boards, reference {t_ref / 3:.3f} s "
              f"-> ratio reference / glc per board {t_ref / 3 / (t_run / boards):.2f} x")
        print(f"max |SQL - reference| on sample:    {worst:.2e}")
        print(f"target (run <= 5 s): {'met' if t_run <= 5 else 'MISSED'}")


if __name__ == "__main__":
    main()
