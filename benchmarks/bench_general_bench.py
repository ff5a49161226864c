"""Binding and loading a full-size General-Bench tree (699 tasks, 325,800 instances).

Writes the tree once with the test generator (tests/gb_tree.py, ``full`` size), then measures in
the same run, each step in a fresh process so imports and caches count as a user sees them:

* floor: parse every annotation.json with the fastest JSON parser available (orjson if
  installed, else the standard library) -- the least any loader must do;
* glc: ``glc compile`` of the general-bench benchmark with the tree as its data folder, plus
  loading every instance into the store (first time, cold store);
* ``glc compile`` again with nothing changed;
* peak memory (max RSS) of the load.

Targets (issue: General-Bench end to end): load <= 60 s and <= 3x the floor; second compile
<= 3 s. Run: ``python benchmarks/bench_general_bench.py [--tree DIR] [--repeat N]``.
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
t = time.perf_counter()
n = 0
for f in sorted(pathlib.Path(sys.argv[1]).rglob("annotation.json")):
    n += len(j.loads(f.read_bytes())["data"])
print(name, n, time.perf_counter() - t)
"""

LOAD = r"""
import os, resource, sys, time
t0 = time.perf_counter()
from glc.workspace import Workspace
from glc.datasets import sync_instances
from glc.store import connect, ensure_store
ws = Workspace(sys.argv[1], benchmark="general-bench")
compiled = ws.compile()
con = connect(ws.target)
ensure_store(con)
problems = []
loaded = sync_instances(con, compiled.project, problems=problems)
n = con.execute("SELECT COUNT(*) FROM instances").fetchone()[0]
con.close()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(len(compiled.project.binding.bound), len(loaded), n, len(problems), time.perf_counter() - t0, rss)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, help="an existing full-size tree (default: write one to a temp folder)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="glc-bench-gb-"))
    try:
        tree = args.tree
        if tree is None:
            from gb_tree import write_tree

            t = time.perf_counter()
            info = write_tree(work / "tree", size="full")
            tree = work / "tree"
            print(f"wrote {info.task_count} tasks, {info.instance_count} instances, {info.media_count} media files "
                  f"in {time.perf_counter() - t:.1f} s")
        size = sum(f.stat().st_size for f in tree.rglob("annotation.json"))
        print(f"annotation.json files: {size / 1e6:.1f} MB")
        floors, loads, seconds, rss = [], [], [], []
        for i in range(args.repeat):
            parser, n, floor = _run(FLOOR, str(tree))
            floors.append(float(floor))
            project = _project(work / f"p{i}")
            env = {"GLC_DATA": str(tree), "XDG_CACHE_HOME": str(work / f"cache{i}")}
            t = time.perf_counter()
            bound, n_tasks, n_rows, n_problems, _, peak = _run(LOAD, str(project), env=env)
            loads.append(time.perf_counter() - t)
            rss.append(float(peak))
            assert int(bound) == 699 and int(n_rows) == int(n), (bound, n_rows, n)
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(project), "--benchmark", "general-bench",
                            "compile"], check=True, capture_output=True, env={**os.environ, **env})
            seconds.append(time.perf_counter() - t)
            print(f"run {i + 1}: floor ({parser}) {floors[-1]:.2f} s, glc bind+load {loads[-1]:.2f} s "
                  f"({n_tasks} tasks, {n_rows} instances, {n_problems} problems), second compile {seconds[-1]:.2f} s, "
                  f"peak RSS {rss[-1]:.0f} MB")
        ratios = [lo / fl for lo, fl in zip(loads, floors, strict=True)]
        for label, xs, unit in (("floor", floors, "s"), ("bind+load", loads, "s"), ("load/floor", ratios, "x"),
                                ("second compile", seconds, "s"), ("peak RSS", rss, "MB")):
            print(f"{label:>15}: min {min(xs):.2f} {unit}, median {statistics.median(xs):.2f} {unit}")
        ok = statistics.median(loads) <= 60 and statistics.median(ratios) <= 3 and statistics.median(seconds) <= 3
        print(json.dumps({"targets_met": ok, "load_s": statistics.median(loads), "ratio": statistics.median(ratios),
                          "second_compile_s": statistics.median(seconds), "peak_rss_mb": max(rss)}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
