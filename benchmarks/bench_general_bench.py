"""Binding and loading a full-size General-Bench tree (699 tasks, 325,800 instances).

Writes the tree once with the test generator (tests/helpers/gb_tree.py, ``full`` size), then measures in
the same run, ``--repeat`` times, each step in a fresh process so imports and caches count as a
user sees them:

* floor: parse every annotation.json with the fastest JSON parser available (orjson if
  installed, else the standard library) -- the least any loader must do;
* first load: a fresh project and store, ``glc compile`` of the general-bench benchmark with the
  tree as its data folder (specs, binding, headers) plus loading every instance into the store;
  printed whole and split into its compile and its instance load (with their CPU seconds), and
  into the parsing and qualifying of the SQL nodes (``compile_models``: the same work for any
  data, cached across compiles) and the rest, the data part (ratio to the floor printed too);
* the same load again with nothing changed (no data file is read: their versions are known);
* ``glc compile`` again with nothing changed (the compile cache holds the bound project);
* peak memory (max RSS) of the first load.

Targets (issue: General-Bench end to end): first load <= 60 s and <= 3x the floor; second compile
<= 3 s. Run: ``python benchmarks/bench_general_bench.py [--tree DIR] [--repeat N]``. The machine's
load average is printed before and after: on a shared machine every wall time grows with it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

FLOOR = r"""
import sys, time, pathlib
try:
    import orjson as j
    name = "orjson"
except ImportError:
    import json as j
    name = "json"
t, c = time.perf_counter(), time.process_time()
n = 0
for f in sorted(pathlib.Path(sys.argv[1]).rglob("annotation.json")):
    n += len(j.loads(f.read_bytes())["data"])
print(name, n, time.perf_counter() - t, time.process_time() - c)
"""

LOAD = r"""
import os, resource, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import glc.compiler.nodes as nodes
sql_s = [0.0]
real_compile_models = nodes.compile_models
def timed_compile_models(*a, **k):  # parsing and qualifying the SQL nodes: the same for any data
    t = time.perf_counter()
    try:
        return real_compile_models(*a, **k)
    finally:
        sql_s[0] += time.perf_counter() - t
nodes.compile_models = timed_compile_models
from glc.workspace import Workspace
from glc.execute.datasets import sync_instances
from glc.engine.store import connect, ensure_store
ws = Workspace(sys.argv[1], benchmark="general-bench")
compiled = ws.compile()
t1, c1 = time.perf_counter(), time.process_time()
con = connect(ws.target)
ensure_store(con)
problems = []
loaded = sync_instances(con, compiled.project, problems=problems)
n = con.execute("SELECT COUNT(*) FROM instances").fetchone()[0]
con.close()
t2, c2 = time.perf_counter(), time.process_time()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(len(compiled.project.binding.bound), len(loaded), n, len(problems), t1 - t0, c1 - c0, t2 - t1, c2 - c1, rss,
      sql_s[0])
"""


def _project(dest: Path) -> Path:
    for name in ("specs", "sql", "data"):
        shutil.copytree(REPO / name, dest / name)
    shutil.copy(REPO / "profiles.yml", dest / "profiles.yml")
    shutil.rmtree(dest / "specs" / "models")  # binding and loading only: no inference planned
    return dest


def _run(code: str, *args: str, env: dict[str, str] | None = None) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})})
    return out.stdout.strip().splitlines()[-1].split()  # the script's own figures are its last line


def _load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, help="an existing full-size tree (default: write one to a temp folder)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="glc-bench-gb-"))
    try:
        tree = args.tree
        if tree is None:
            from helpers.gb_tree import write_tree

            t = time.perf_counter()
            info = write_tree(work / "tree", size="full")
            tree = work / "tree"
            print(f"wrote {info.task_count} tasks, {info.instance_count} instances, {info.media_count} media files "
                  f"in {time.perf_counter() - t:.1f} s")
        size = sum(f.stat().st_size for f in tree.rglob("annotation.json"))
        print(f"annotation.json files: {size / 1e6:.1f} MB; load average before: {_load_average()}")
        figures: dict[str, list[float]] = {k: [] for k in (
            "floor", "floor cpu", "first load", "load/floor", "  sql nodes", "  data part", "data part/floor",
            "  compile+bind", "  compile cpu", "  instances",
            "  instances cpu", "instances/floor cpu", "unchanged load", "second compile", "peak RSS")}
        for i in range(args.repeat):
            parser, n, floor, floor_cpu = _run(FLOOR, str(tree))
            project = _project(work / f"p{i}")
            env = {"GLC_DATA": str(tree), "XDG_CACHE_HOME": str(work / f"cache{i}")}
            t = time.perf_counter()
            bound, n_tasks, n_rows, n_problems, comp, comp_cpu, inst, inst_cpu, peak, sql = _run(
                LOAD, str(project), env=env)
            first = time.perf_counter() - t
            data_part = first - float(sql)
            assert int(bound) == 699 and int(n_rows) == int(n) and int(n_problems) == 0, (bound, n_rows, n)
            t = time.perf_counter()
            again = _run(LOAD, str(project), env=env)
            unchanged = time.perf_counter() - t
            assert int(again[1]) == 0, "nothing changed, nothing is loaded again"
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(project), "--benchmark", "general-bench",
                            "compile"], check=True, capture_output=True, env={**os.environ, **env})
            second = time.perf_counter() - t
            row = {"floor": float(floor), "floor cpu": float(floor_cpu), "first load": first,
                   "load/floor": first / float(floor), "  sql nodes": float(sql), "  data part": data_part,
                   "data part/floor": data_part / float(floor), "  compile+bind": float(comp),
                   "  compile cpu": float(comp_cpu),
                   "  instances": float(inst), "  instances cpu": float(inst_cpu),
                   "instances/floor cpu": float(inst_cpu) / float(floor_cpu), "unchanged load": unchanged,
                   "second compile": second, "peak RSS": float(peak)}
            for k, v in row.items():
                figures[k].append(v)
            print(f"run {i + 1}: floor ({parser}) {float(floor):.2f} s, first load {first:.2f} s (SQL nodes "
                  f"{float(sql):.2f} s, data part {data_part:.2f} s; compile+bind "
                  f"{float(comp):.2f} s, {n_tasks} tasks / {n_rows} instances loaded in {float(inst):.2f} s), "
                  f"unchanged load {unchanged:.2f} s, second compile {second:.2f} s, peak RSS {float(peak):.0f} MB; "
                  f"load average {_load_average()}")
        for label, xs in figures.items():
            unit = "x" if "/" in label else "MB" if "RSS" in label else "s"
            print(f"{label:>20}: min {min(xs):.2f} {unit}, median {statistics.median(xs):.2f} {unit}")
        med = {k: statistics.median(v) for k, v in figures.items()}
        ok = med["first load"] <= 60 and med["load/floor"] <= 3 and med["second compile"] <= 3
        print(json.dumps({"targets_met": ok, "first_load_s": med["first load"], "ratio": med["load/floor"],
                          "data_part_s": med["  data part"], "data_part_ratio": med["data part/floor"],
                          "second_compile_s": med["second compile"], "peak_rss_mb": max(figures["peak RSS"]),
                          "load_average_after": _load_average()}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
