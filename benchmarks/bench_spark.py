"""The level DAG for 1,000 imported models x 699 tasks on Spark (local[2]) next to DuckDB.

One store (a 699,000-row Parquet file through ``glc import scores``) is copied; DuckDB builds one
copy, Spark the other, in this process. Printed: DuckDB's build; Spark's first build (JVM start
included) split into translation to Spark SQL (sqlglot), session start, copying store tables in,
Spark's parsing and analysis, the writes (optimization, physical planning, execution) and copying
results back; a full rebuild on the warm JVM; a re-run with nothing changed; and, measured apart
after the build, Spark's optimization and physical planning of every node without running it,
the planning share of the writes. Correctness in the same run: task_scores, level_scores,
group_scores__pooled and leaderboard agree row by row to 1e-9.
Run: python benchmarks/bench_spark.py [--models N] [--memory 1g] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("GLC_BENCHMARK", "general-bench")  # the 699-task catalog

from bench_levels import synthetic_scores  # noqa: E402
from helpers.engine_compare import duckdb_tables, spark_tables, table_differences  # noqa: E402

from glc.engine import spark as engine  # noqa: E402
from glc.workspace import Workspace  # noqa: E402

COMPARED = ["task_scores", "level_scores", "group_scores__pooled", "leaderboard"]


def replan_seconds(ws: Workspace) -> float:
    """Spark's optimization and physical planning of every node, without running it: each node's
    query over the tables of the last build (read from their Parquet folders)."""
    from glc.compiler.dialects import translate_nodes

    assert ws.target.spark is not None
    compiled = ws.compile(write=False)
    translated = translate_nodes(compiled.nodes, "spark")
    spark = engine.session(ws.target.spark)
    engine.register_udfs(spark, {u for n in compiled.nodes for u in n.udfs})
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        for name, location in con.execute("SELECT name, location FROM glc_spark_tables").fetchall():
            spark.read.parquet(location).createOrReplaceTempView(name)
    finally:
        con.close()
    total = 0.0
    for node in compiled.nodes:
        frame = spark.sql(translated[node.name].sql)  # parsed and analyzed (eager)
        t = time.perf_counter()
        frame._jdf.queryExecution().executedPlan()
        total += time.perf_counter() - t
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--memory", default="1g", help="spark.driver.memory")
    ap.add_argument("--concurrency", type=int, default=2, help="nodes built at the same time")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("specs", "sql"):
            shutil.copytree(REPO / name, root / name)
        for rel in ("data/general-bench/quick_tasks.txt",):  # task lists the shipped scopes name
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / rel, root / rel)
        profile = (REPO / "profiles.yml").read_text()
        (root / "profiles.yml").write_text(profile.replace("targets:\n", (
            "targets:\n  spark:\n    type: spark\n    path: target/spark.duckdb\n"
            f"    master: \"{args.master}\"\n    warehouse: target/spark\n    concurrency: {args.concurrency}\n"
            f"    conf: {{spark.driver.memory: {args.memory}, spark.sql.shuffle.partitions: 2}}\n"), 1))
        duck = Workspace(root)
        frame, _ = synthetic_scores(duck, args.models)
        path = root / "scores.parquet"
        frame.write_parquet(path)
        duck.import_scores(path)
        shutil.copy(duck.target.path, root / "target" / "spark.duckdb")

        t = time.perf_counter()
        d = duck.run().build
        t_duck_run = time.perf_counter() - t

        spark_ws = Workspace(root, target="spark")
        t = time.perf_counter()
        s = spark_ws.run().build
        t_spark_run = time.perf_counter() - t
        assert isinstance(s, engine.SparkBuildResult)
        t = time.perf_counter()
        warm = spark_ws.run(full_refresh=True).build
        t_warm_run = time.perf_counter() - t
        assert isinstance(warm, engine.SparkBuildResult)
        t = time.perf_counter()
        again = spark_ws.run().build
        t_again = time.perf_counter() - t

        t = time.perf_counter()
        duck_rows = duckdb_tables(duck.target.path, COMPARED)
        spark_rows = spark_tables(spark_ws.target.path)
        problems = [p for n in COMPARED for p in table_differences(n, duck_rows[n], spark_rows[n])]
        t_check = time.perf_counter() - t

        n_nodes = len(duck.compile(write=False).nodes)
        rows = {n: duck_rows[n].num_rows for n in COMPARED}
        print(f"models x tasks: {args.models} x 699 ({frame.height} scores); {n_nodes} nodes; master {args.master}, "
              f"driver memory {args.memory}, concurrency {args.concurrency}; rows compared: {rows}")
        print(f"DuckDB   build {d.seconds:7.2f} s   (glc run {t_duck_run:.2f} s)")
        for label, b, run in (("Spark cold", s, t_spark_run), ("Spark warm", warm, t_warm_run)):
            planning = b.translate_seconds + sum(b.plan_seconds.values())
            print(f"{label} build {b.seconds:7.2f} s   (glc run {run:.2f} s; {len(b.node_seconds)} nodes built) = "
                  f"translate {b.translate_seconds:.2f} + session {b.session_seconds:.2f} + copy in "
                  f"{b.copy_in_seconds:.2f} + parse/analyze {sum(b.plan_seconds.values()):.2f} + write "
                  f"{sum(b.execute_seconds.values()):.2f} + copy back {b.copy_back_seconds:.2f}; "
                  f"planning (translate + parse/analyze) {planning:.2f} s")
        slow = sorted(warm.node_seconds, key=lambda n: -warm.node_seconds[n])[:5]
        print("slowest nodes (warm): " + ", ".join(f"{n} {warm.node_seconds[n]:.1f} s" for n in slow))
        print(f"Spark re-run, nothing changed: {again.seconds:.2f} s (glc run {t_again:.2f} s; "
              f"{len(again.skipped)} nodes skipped, {len(again.node_seconds)} built)")
        print(f"ratio Spark / DuckDB build: cold {s.seconds / d.seconds:.1f} x, warm {warm.seconds / d.seconds:.1f} x")
        print(f"correctness ({t_check:.1f} s): {'all rows agree to 1e-9' if not problems else 'DIFFERENCES'}",
              flush=True)
        for p in problems[:10]:
            print("  " + p)
        t_replan = replan_seconds(spark_ws)
        engine.stop()
        print(f"Spark optimization + physical planning of every node, measured apart: {t_replan:.2f} s "
              f"(inside the warm writes above: execution proper = writes - this)")
        if problems:
            sys.exit(1)


if __name__ == "__main__":
    main()
