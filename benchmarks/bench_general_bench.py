"""Binding and loading a full-size General-Bench tree (699 tasks, 325,800 instances).

Writes the tree once with the test generator (tests/helpers/gb_tree.py, ``full`` size), then measures in
the same run, ``--repeat`` times, each step in a fresh process so imports and caches count as a
user sees them:

* floor: parse every annotation.json with the fastest JSON parser available (orjson if
  installed, else the standard library) -- the least any loader must do;
* first load: a fresh project and store, ``glc compile`` of the general-bench benchmark with the
  tree as its data folder (specs, binding, headers) plus loading every instance into the store;
  printed whole and split into the parsing and qualifying of the SQL nodes (``compile_models``:
  the same work for any data, cached across compiles) and the rest, the data part (ratio to the
  floor printed too). The data part is split further: interpreter start and imports, the rendering
  of the SQL templates (``render_models``, also the same for any data), loading the specs, binding
  tasks to the tree (``_bind_data``: folders matched, annotation headers read), the rest of the
  compile, and the instance load (with its CPU seconds). ``bind+instances`` is binding plus the
  instance load: the work that grows with the data, printed with its ratio to the floor;
* the same load again with nothing changed (no data file is read: their versions are known);
* ``glc compile`` again with nothing changed (the compile cache holds the bound project);
* peak memory (max RSS) of the first load;
* with a model: an ``openai`` model spec routed to every task it can serve (503 tasks, 233,685
  prompts) is added; ``glc compile`` plans every prediction (nothing is stored: every prompt is
  rendered and keyed), and again with nothing changed (an outline, counted from the keys the first
  plan remembered); then every planned prediction is stored as if inference had run (rows with
  the planned content keys, written by SQL: no server answers 233,685 requests here), and ``glc
  compile`` runs with nothing to run, first with the keys planning remembered (``plan_memo``), then
  with that memo emptied (every prompt rendered again to find each prediction current: the baseline,
  measured in the same run); ``glc run`` builds once, then runs again with nothing to run.

Targets (issue: General-Bench end to end): first load <= 60 s and <= 3x the floor; second compile
<= 3 s (without a model; with one, before and after its predictions are stored). Run:
``python benchmarks/bench_general_bench.py [--tree DIR] [--repeat N]``. The machine's load average is
printed before and after: on a shared machine every wall time grows with it.
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
import json, os, resource, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import glc.compiler.nodes as nodes, glc.compiler.plan as plan, glc.compiler.loader as loader
import glc.compiler.resolve as resolve
stage = {}  # name -> [wall s, CPU s of the process]
def timed(module, name, label):
    real = getattr(module, name)
    def wrapper(*a, **k):
        t, c = time.perf_counter(), time.process_time()
        try:
            return real(*a, **k)
        finally:
            acc = stage.setdefault(label, [0.0, 0.0])
            acc[0] += time.perf_counter() - t
            acc[1] += time.process_time() - c
    setattr(module, name, wrapper)
timed(nodes, "compile_models", "sql")  # parsing and qualifying the SQL nodes: the same for any data
timed(plan, "render_models", "render")  # rendering the SQL templates: the same for any data too
timed(loader, "load_specs", "specs")
timed(resolve, "_bind_data", "bind")  # tasks bound to the data folder, annotation headers read
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
print(json.dumps({"bound": len(compiled.project.binding.bound), "loaded": len(loaded), "rows": n,
                  "problems": len(problems), "compile": t1 - t0, "compile_cpu": c1 - c0, "instances": t2 - t1,
                  "instances_cpu": c2 - c1, "rss": rss, "script": t2 - t0,
                  "stages": {k: stage.get(k, [0.0, 0.0]) for k in ("sql", "render", "specs", "bind")}}))
"""


def _project(dest: Path) -> Path:
    for name in ("specs", "sql", "data"):
        shutil.copytree(REPO / name, dest / name)
    shutil.copy(REPO / "profiles.yml", dest / "profiles.yml")
    shutil.rmtree(dest / "specs" / "models")  # binding and loading only: no inference planned
    return dest


MODEL = """name: chat
revision: "1"
routes:
  - runner: openai
    args: {base_url: "http://127.0.0.1:9/v1", model: served-model}
"""

# every planned prediction stored as inference would store it (the planned content key, no error)
STORE_PLANNED = r"""
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("INSERT INTO predictions (model, task_id, instance_id, output, output_type, content_key, backend, "
            "created_at) SELECT model, task_id, instance_id, 'A', 'string', content_key, 'bench', now() "
            "FROM glc_plan_keys")
con.execute("INSERT INTO prediction_partitions SELECT model, task_id, count(*), 'bench' FROM predictions GROUP BY ALL")
print(con.execute("SELECT count(*) FROM predictions").fetchone()[0])
con.close()
"""

FORGET_PLANNED = r"""
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("DELETE FROM glc_plan_jobs")
con.execute("DELETE FROM glc_plan_keys")
con.close()
print("emptied")
"""


def _glc(project: Path, env: dict[str, str], *args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(project), "--benchmark", "general-bench", *args],
                   check=True, capture_output=True, env={**os.environ, **env})
    return time.perf_counter() - t


def _with_model(project: Path, env: dict[str, str]) -> dict[str, float]:
    """The model figures (see the module docs): seconds each."""
    (project / "specs" / "models").mkdir(exist_ok=True)
    (project / "specs" / "models" / "chat.yaml").write_text(MODEL)
    store = str(project / "target" / "general-bench.duckdb")
    full_plan = _glc(project, env, "compile")
    outline = _glc(project, env, "compile")  # nothing changed, nothing run yet: counted from the memo
    stored = int(_run(STORE_PLANNED, store))
    assert stored > 200_000, stored
    remembered = _glc(project, env, "compile")
    _run(FORGET_PLANNED, store)
    baseline = _glc(project, env, "compile")
    first_run = _glc(project, env, "run")
    second_run = _glc(project, env, "run")
    return {"plan in full": full_plan, "model: compile, none run": outline, "model: compile": remembered,
            "model: compile, no memo": baseline,
            "memo speed-up": baseline / remembered, "model: first run": first_run, "model: run": second_run,
            "predictions": float(stored)}


def _run(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})})
    return out.stdout.strip().splitlines()[-1]  # the script's own figures are its last line


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
        files = list(tree.rglob("annotation.json"))
        if not files:  # a mistyped --tree would be timed as an empty tree, then fail an assertion
            sys.exit(f"error: no annotation.json under {tree}; write a full-size tree with tests/helpers/gb_tree.py "
                     "(write_tree(DIR, size='full')) or leave out --tree")
        size = sum(f.stat().st_size for f in files)
        print(f"annotation.json files: {size / 1e6:.1f} MB; load average before: {_load_average()}")
        figures: dict[str, list[float]] = {k: [] for k in (
            "floor", "floor cpu", "first load", "load/floor", "  sql nodes", "  data part", "data part/floor",
            "  sql rendering", "  interpreter start", "  specs", "  binding", "  other compile", "  instances",
            "  instances cpu", "instances/floor cpu", "bind+instances", "bind+instances/floor",
            "unchanged load", "second compile", "peak RSS", "plan in full", "model: compile, none run",
            "model: compile", "model: compile, no memo", "memo speed-up", "model: first run", "model: run")}
        for i in range(args.repeat):
            parser, n, floor, floor_cpu = _run(FLOOR, str(tree)).split()
            project = _project(work / f"p{i}")
            env = {"GLC_DATA": str(tree), "XDG_CACHE_HOME": str(work / f"cache{i}")}
            t = time.perf_counter()
            got = json.loads(_run(LOAD, str(project), env=env))
            first = time.perf_counter() - t
            st = {k: v[0] for k, v in got["stages"].items()}
            sql, inst = st["sql"], got["instances"]
            data_part = first - sql
            assert got["bound"] == 699 and got["rows"] == int(n) and got["problems"] == 0, (got, n)
            t = time.perf_counter()
            again = json.loads(_run(LOAD, str(project), env=env))
            unchanged = time.perf_counter() - t
            assert again["loaded"] == 0, "nothing changed, nothing is loaded again"
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(project), "--benchmark", "general-bench",
                            "compile"], check=True, capture_output=True, env={**os.environ, **env})
            second = time.perf_counter() - t
            bind_inst = st["bind"] + inst
            row = {"floor": float(floor), "floor cpu": float(floor_cpu), "first load": first,
                   "load/floor": first / float(floor), "  sql nodes": sql, "  data part": data_part,
                   "data part/floor": data_part / float(floor), "  sql rendering": st["render"],
                   "  interpreter start": first - got["script"], "  specs": st["specs"], "  binding": st["bind"],
                   "  other compile": got["compile"] - sum(st.values()), "  instances": inst,
                   "  instances cpu": got["instances_cpu"],
                   "instances/floor cpu": got["instances_cpu"] / float(floor_cpu), "bind+instances": bind_inst,
                   "bind+instances/floor": bind_inst / float(floor), "unchanged load": unchanged,
                   "second compile": second, "peak RSS": got["rss"]}
            model = _with_model(project, env)
            row.update({k: v for k, v in model.items() if k in figures})
            for k, v in row.items():
                figures[k].append(v)
            print(f"run {i + 1}: floor ({parser}) {float(floor):.2f} s, first load {first:.2f} s (SQL nodes "
                  f"{sql:.2f} s, data part {data_part:.2f} s, of which SQL rendering {st['render']:.2f} s, "
                  f"specs {st['specs']:.2f} s, binding {st['bind']:.2f} s, {got['loaded']} tasks / {got['rows']} "
                  f"instances loaded in {inst:.2f} s), unchanged load {unchanged:.2f} s, second compile "
                  f"{second:.2f} s, peak RSS {got['rss']:.0f} MB; with a model ({model['predictions']:.0f} "
                  f"predictions): plan in full {model['plan in full']:.2f} s, `glc compile` again "
                  f"{model['model: compile, none run']:.2f} s; with all stored `glc compile` "
                  f"{model['model: compile']:.2f} s ({model['model: compile, no memo']:.2f} s with the memo emptied, "
                  f"{model['memo speed-up']:.1f}x), `glc run` {model['model: run']:.2f} s (first build "
                  f"{model['model: first run']:.2f} s); load average {_load_average()}")
        for label, xs in figures.items():
            unit = "x" if "/" in label or "speed-up" in label else "MB" if "RSS" in label else "s"
            print(f"{label:>20}: min {min(xs):.2f} {unit}, median {statistics.median(xs):.2f} {unit}")
        med = {k: statistics.median(v) for k, v in figures.items()}
        ok = (med["first load"] <= 60 and med["load/floor"] <= 3 and med["second compile"] <= 3
              and med["model: compile"] <= 3 and med["model: compile, none run"] <= 3)
        print(json.dumps({"targets_met": ok, "first_load_s": med["first load"], "ratio": med["load/floor"],
                          "data_part_s": med["  data part"], "data_part_ratio": med["data part/floor"],
                          "bind_instances_s": med["bind+instances"],
                          "bind_instances_ratio": med["bind+instances/floor"],
                          "second_compile_s": med["second compile"], "peak_rss_mb": max(figures["peak RSS"]),
                          "model_compile_s": med["model: compile"], "model_run_s": med["model: run"],
                          "model_compile_none_run_s": med["model: compile, none run"],
                          "model_compile_no_memo_s": med["model: compile, no memo"],
                          "load_average_after": _load_average()}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
