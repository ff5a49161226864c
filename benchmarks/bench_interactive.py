"""Interactive speed: whole ``glc`` commands against whole-process floors, from one model to thousands.

Every figure is a separate process (what a user waits for), timed in the same loop as its floor,
repeated (``--reps``, at least 3), reported as min and median; ratios are median / median (and
min / min). The floors:

- spec floor: Python starts and loads every spec file with libyaml (``yaml.CSafeLoader``);
- query floor: Python starts, opens a DuckDB file holding the same scores and the task table, and
  runs FLOOR_SQL: one query that computes pooled Level-2..5 on Scope-A with every normalization kind
  the metric specs use (checked below to agree with glc's ``level_scores`` to 1e-9);
- workbook floor: Python starts, reads the workbook with polars' calamine engine (fastexcel), keys
  its rows to tasks and runs FLOOR_SQL in memory;
- reader floor: Python starts and reads the workbook with polars' calamine engine.

Targets (issue 15):
  nothing changed: glc compile <= 3x the spec floor, glc run <= 3x the query floor;
  cold glc compile (no caches) <= 5x the spec floor;
  one model, cold store: glc import scores + glc run <= 3x the workbook floor (and glc run --scores FILE,
  the same in one command and one process as the floor is, against the same floor);
  1,000 models: glc import scores (workbook) <= 3x the reader floor, glc run <= 5x the query floor;
  5,000 models: glc run <= 5x the query floor (peak memory of both reported).
Run: python benchmarks/bench_interactive.py [--reps 3] [--models 1000] [--big 5000] [--skip-big]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("GLC_BENCHMARK", "general-bench")  # the 699-task catalog

EXAMPLES = REPO / "data" / "general-bench" / "examples"
TEMPLATE = REPO / "data" / "general-bench" / "official" / "template_result.xlsx"
TASK_LISTS = ["data/general-bench/quick_tasks.txt"]


def _norm(x: str) -> str:
    """sigma(x): every normalization kind of specs/metrics (docs/general-level.md)."""
    return f"""CASE t.norm_kind
      WHEN 'identity' THEN {x}
      WHEN 'sigmoid_distance' THEN CASE WHEN {x} = 0 THEN 100.0
                                        ELSE 100.0 * (2.0 / (1.0 + exp(-t.norm_threshold / {x})) - 1.0) END
      WHEN 'tanh' THEN 100.0 * tanh({x} / t.norm_scale)
      WHEN 'complement' THEN least(greatest(t.norm_total - {x}, 0.0), 100.0)
      WHEN 'linear' THEN least(greatest(100.0 * ({x} - t.norm_low) / (t.norm_high - t.norm_low), 0.0), 100.0)
    END"""


# pooled Level-2..5 over every task of ``tasks`` (Scope-A): scores(model, task_id, score),
# tasks(task_id, task_group, direction, sota, norm_kind, norm_threshold, norm_scale, norm_total, norm_low, norm_high)
def floor_sql(scores: str = "scores", tasks: str = "tasks") -> str:
    return f"""
WITH k AS (
  SELECT count(*) FILTER (task_group = 'C')::DOUBLE AS nc, count(*) FILTER (task_group = 'G')::DOUBLE AS ng,
         count(*) FILTER (task_group = 'L')::DOUBLE AS nl FROM {tasks}
), x AS (
  SELECT s.model, t.task_group, {_norm('s.score')} AS sigma, s.score, t.sota, t.direction,
         {_norm('t.sota')} AS sigma_sota
  FROM {scores} AS s JOIN {tasks} AS t ON t.task_id = s.task_id
), g AS (
  SELECT model,
    sum(sigma) FILTER (task_group = 'C') AS sum_c, sum(sigma) FILTER (task_group = 'G') AS sum_g,
    sum(sigma) FILTER (task_group = 'C' AND win) AS win_c, sum(sigma) FILTER (task_group = 'G' AND win) AS win_g,
    sum(sigma) FILTER (task_group = 'L' AND win) AS win_l
  FROM (SELECT *, CASE WHEN direction = 'lower' THEN score <= sota ELSE sigma >= sigma_sota END AS win FROM x)
  GROUP BY model
), s AS (
  SELECT model, coalesce(sum_c, 0) / nc AS m_c, coalesce(sum_g, 0) / ng AS m_g, coalesce(win_c, 0) / nc AS s_c,
         coalesce(win_g, 0) / ng AS s_g, coalesce(win_l, 0) / nl AS s_l
  FROM g, k
)
SELECT model, (m_c + m_g) / 2 AS level_2, (s_c + s_g) / 2 AS level_3,
       CASE WHEN s_c > 0 AND s_g > 0 THEN 2 * s_c * s_g / (s_c + s_g) ELSE 0.0 END AS level_4,
       (CASE WHEN s_c > 0 AND s_g > 0 THEN 2 * s_c * s_g / (s_c + s_g) ELSE 0.0 END) * s_l / 100 AS level_5
FROM s ORDER BY model
"""


FLOOR_SQL = floor_sql()

FLOOR_QUERY = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute(sys.argv[2]).fetchall()
assert rows
"""

FLOOR_WORKBOOK = """
import sys, duckdb, polars as pl
book, keys_path, sql = sys.argv[1:4]
keys = pl.read_parquet(keys_path)
frames = []
for sheet, df in pl.read_excel(book, sheet_id=0, engine="calamine").items():
    if sheet.casefold() == "level-scores":
        continue
    models = df.columns[4:]
    df = df.select(pl.lit(sheet).alias("sheet"), pl.col("Task Name").cast(pl.String).alias("name"),
                   pl.col("Metrics").cast(pl.String).alias("metric_str"),
                   *[pl.col(m).cast(pl.Float64, strict=False) for m in models])
    frames.append(df.unpivot(index=["sheet", "name", "metric_str"], on=models, variable_name="model",
                             value_name="score").drop_nulls("score"))
scores = pl.concat(frames).join(keys, on=["sheet", "name", "metric_str"]).select("model", "task_id", "score")
tasks = keys
con = duckdb.connect()
rows = con.execute(sql).fetchall()
assert rows
"""

FLOOR_READ = """
import sys, polars as pl
sheets = pl.read_excel(sys.argv[1], sheet_id=0, engine="calamine")
assert sum(df.height for df in sheets.values()) > 0
"""

FLOOR_SPECS = """
import os, sys, yaml
n = 0
for folder, dirs, files in os.walk(sys.argv[1]):
    dirs.sort()
    for f in sorted(files):
        if f.endswith((".yaml", ".yml")):
            with open(os.path.join(folder, f), "rb") as fh:
                yaml.load(fh.read(), Loader=yaml.CSafeLoader)
            n += 1
assert n > 0
"""


class Proc:
    """Runs whole processes and keeps their wall time and peak RSS."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env = cwd, env
        self.log = cwd / "bench-stderr.txt"

    def __call__(self, argv: Sequence[str]) -> tuple[float, float, float]:
        """(wall seconds, peak RSS in MiB, CPU seconds; NaN when unknown) of one process; raises when it fails.

        Peak and CPU time come from GNU time, which forks the command from its own small process:
        the rusage of a child forked from this (large) process would count the parent's pages."""
        rss_file = self.cwd / "bench-rss.txt"
        wrap = ["/usr/bin/time", "-q", "-f", "%M %U %S", "-o", str(rss_file)] if Path("/usr/bin/time").exists() else []
        with self.log.open("wb") as err:
            t = time.perf_counter()
            p = subprocess.run([*wrap, *argv], cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL, stderr=err)
            seconds = time.perf_counter() - t
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:4])} failed ({p.returncode}):\n{self.log.read_text()[-3000:]}")
        try:
            rss, user, system = (float(x) for x in rss_file.read_text().split()[-3:]) if wrap else (NAN, NAN, NAN)
        except (OSError, ValueError):
            rss, user, system = NAN, NAN, NAN
        return seconds, rss / 1024, user + system

    def glc(self, *args: str) -> tuple[float, float, float]:
        return self([sys.executable, "-m", "glc", *args])

    def py(self, code: str, *args: str) -> tuple[float, float, float]:
        return self([sys.executable, "-c", code, *args])


NAN = float("nan")


class Figures:
    """Paired timings: name -> list of wall seconds (and peak MiB, CPU seconds)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.mem: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def add(self, name: str, got: tuple[float, float, float]) -> None:
        self.times.setdefault(name, []).append(got[0])
        self.mem.setdefault(name, []).append(got[1])
        self.cpu.setdefault(name, []).append(got[2])

    def stat(self, name: str) -> tuple[float, float]:
        xs = self.times[name]
        return min(xs), statistics.median(xs)

    def row(self, name: str, floor: str | None = None, target: float | None = None) -> bool | None:
        lo, med = self.stat(name)
        text = f"  {name:<46} min {lo:7.3f} s  median {med:7.3f} s  (n={len(self.times[name])})"
        cpu = statistics.median(self.cpu[name])
        ok = None
        if floor is not None:
            flo, fmed = self.stat(floor)
            ratio = med / fmed
            text += f"  = {ratio:5.2f}x {floor} (min/min {lo / flo:4.2f}x"
            fcpu = statistics.median(self.cpu[floor])
            text += f"; CPU time {cpu:.2f} s = {cpu / fcpu:4.2f}x)" if fcpu == fcpu and fcpu > 0 else ")"
            if target is not None:
                ok = ratio <= target
                text += f"  target <= {target:g}x: {'met' if ok else 'MISSED'}"
        elif cpu == cpu:
            text += f"  (CPU time {cpu:.2f} s)"
        print(text, flush=True)
        return ok


def make_project(root: Path) -> Path:
    for name in ("specs", "sql"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "profiles.yml", root / "profiles.yml")
    for rel in TASK_LISTS:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, root / rel)
    return root


def task_keys(root: Path) -> pl.DataFrame:
    """The task table the floors read: official keys, group, direction, SoTA, normalization."""
    from glc.compiler.plan import compile_project
    from glc.compiler.seeds import metric_rows

    project = compile_project(root).project
    norm = {r[0]: r for r in metric_rows(project.metrics)}
    rows = [(t.id, t.spec.official.sheet, t.spec.name, t.spec.official.metric, t.group, t.metric.direction,
             t.spec.sota.value, *norm[t.metric.name][6:12], t.metric.range.min, t.metric.range.max)
            for t in project.tasks if t.spec.official is not None]
    return pl.DataFrame(rows, orient="row", schema={
        "task_id": pl.String, "sheet": pl.String, "name": pl.String, "metric_str": pl.String,
        "task_group": pl.String, "direction": pl.String, "sota": pl.Float64, "norm_kind": pl.String,
        "norm_threshold": pl.Float64, "norm_scale": pl.Float64, "norm_total": pl.Float64, "norm_low": pl.Float64,
        "norm_high": pl.Float64, "lo": pl.Float64, "hi": pl.Float64})


def synthetic_scores(keys: pl.DataFrame, n_models: int, seed: int) -> pl.DataFrame:
    """(model, task_id, score, token): a quarter of the cells empty; every tenth model writes "N/A"
    for a few of its missing cells (a column of numbers and text, as official workbooks may have)."""
    rng = random.Random(seed)
    models, tasks, scores, tokens = [], [], [], []
    rows = keys.select("task_id", "sota", "lo", "hi").rows()
    for m in range(n_models):
        name = f"model-{m:05d}"
        for task_id, sota, lo, hi in rows:
            r = rng.random()
            if r < 0.25:
                if m % 10 == 0 and r < 0.02:
                    models.append(name)
                    tasks.append(task_id)
                    scores.append(None)
                    tokens.append("N/A")
                continue
            lo = lo if lo is not None else 0.0
            hi = hi if hi is not None else max(sota * 3, 1.0)
            value = sota if r < 0.30 else round(rng.uniform(max(lo, sota * 0.5), min(hi, sota * 1.3 + 1e-9)), 4)
            models.append(name)
            tasks.append(task_id)
            scores.append(value)
            tokens.append(None)
    return pl.DataFrame({"model": models, "task_id": tasks, "score": scores, "token": tokens},
                        schema={"model": pl.String, "task_id": pl.String, "score": pl.Float64, "token": pl.String})


def write_workbook(path: Path, keys: pl.DataFrame, frame: pl.DataFrame) -> None:
    """The official layout (the template's sheets and rows) with one column per model."""
    import openpyxl

    template = openpyxl.load_workbook(TEMPLATE, read_only=True)
    layout = {ws.title: list(ws.iter_rows(values_only=True)) for ws in template.worksheets}
    template.close()
    by_key = {(s, n, m): t for t, s, n, m in keys.select("task_id", "sheet", "name", "metric_str").rows()}
    models = sorted(frame["model"].unique().to_list())
    col = {m: i for i, m in enumerate(models)}
    cells: dict[str, list] = {}
    for model, task_id, score, token in frame.rows():
        cells.setdefault(task_id, [None] * len(models))[col[model]] = token if token is not None else score
    wb = openpyxl.Workbook(write_only=True)
    for title, rows in layout.items():
        ws = wb.create_sheet(title)
        ws.append([*rows[0][:4], *models])
        for row in rows[1:]:
            task_id = by_key[(title, str(row[1]), str(row[3]))]
            ws.append([*row[:4], *cells.get(task_id, [None] * len(models))])
    wb.save(path)


def floor_db(path: Path, keys: pl.DataFrame, scores: pl.DataFrame) -> Path:
    con = duckdb.connect(str(path))
    con.register("k", keys.to_arrow())
    con.register("s", scores.filter(pl.col("score").is_not_null()).select("model", "task_id", "score").to_arrow())
    con.execute("CREATE TABLE tasks AS SELECT * FROM k")
    con.execute("CREATE TABLE scores AS SELECT * FROM s")
    con.close()
    return path


def agreement(db: Path) -> tuple[float, int]:
    """max |FLOOR_SQL - level_scores| over Level-2..5 of pooled Scope-A, on glc's own store."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("CREATE TEMP VIEW floor_scores AS SELECT model, task_id, score FROM imported_scores")
        con.execute("CREATE TEMP VIEW floor_tasks AS SELECT t.task_id, t.task_group, m.direction, t.sota, "
                    "m.norm_kind, m.norm_threshold, m.norm_scale, m.norm_total, m.norm_low, m.norm_high "
                    "FROM tasks AS t JOIN metrics AS m ON m.metric = t.metric")
        floor = {r[0]: r[1:] for r in con.execute(floor_sql("floor_scores", "floor_tasks")).fetchall()}
        glc = {r[0]: r[1:] for r in con.execute("SELECT model, level_2, level_3, level_4, level_5 FROM level_scores "
                                                "WHERE variant = 'pooled' AND scope = 'A'").fetchall()}
    finally:
        con.close()
    assert set(floor) == set(glc), (sorted(floor)[:3], sorted(glc)[:3])
    worst = max(abs(a - b) for m in glc for a, b in zip(floor[m], glc[m], strict=True))
    return worst, len(glc)


def store_path(root: Path) -> Path:
    return root / "target" / "general-bench.duckdb"


def fresh_store(root: Path, copy_from: Path | None = None) -> None:
    for p in (root / "target").glob("general-bench.duckdb*"):
        p.unlink()
    if copy_from is not None:
        (root / "target").mkdir(exist_ok=True)
        shutil.copy(copy_from, store_path(root))


def loop(reps: int, body: Callable[[int], None]) -> None:
    for k in range(reps):
        body(k)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--big", type=int, default=5000)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--only", default="unchanged,cold,one,many,big",
                    help="comma-separated sections: unchanged, cold, one, many, big")
    args = ap.parse_args()
    only = set(args.only.split(","))
    reps = max(3, args.reps)
    results: dict[str, bool | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        root = make_project(base / "proj")
        env = dict(os.environ, GLC_BENCHMARK="general-bench", XDG_CACHE_HOME=str(base / "cache"))
        env.pop("GLC_TARGET", None)
        # glc runs from its byte code, as an installed glc does: with PYTHONDONTWRITEBYTECODE set (some
        # sandboxes set it) every command would compile glc's own modules from source, half a second of
        # each figure that no user pays (the floors import only installed libraries, whose .pyc exist)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME"]
        run = Proc(root, env)
        f = Figures()
        keys = task_keys(root)
        keys_path = base / "keys.parquet"
        keys.drop("lo", "hi").write_parquet(keys_path)
        tasks_only = keys.drop("lo", "hi", "sheet", "name", "metric_str")
        specs = str(root / "specs")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {reps} repetitions; "
              f"{keys.height} tasks", flush=True)

        # correctness of the floor: the example workbooks, imported and built by glc
        for case in sorted(EXAMPLES.glob("*.xlsx")):
            run.glc("import", "scores", str(case))
        run.glc("run")
        worst, n = agreement(store_path(root))
        print(f"floor query vs glc level_scores (pooled, Scope-A), example workbooks: {n} models, "
              f"max |diff| {worst:.1e} ({'ok' if worst <= 1e-9 else 'DISAGREES'})", flush=True)
        assert worst <= 1e-9

        # one model, nothing changed
        one = EXAMPLES / "c04_sota_beater.xlsx"
        fresh_store(root)
        run.glc("import", "scores", str(one))
        run.glc("run")
        con = duckdb.connect(str(store_path(root)), read_only=True)
        one_scores = pl.from_arrow(con.sql("SELECT model, task_id, score FROM imported_scores").to_arrow_table())
        con.close()
        db1 = floor_db(base / "floor1.duckdb", tasks_only, one_scores)

        if "unchanged" in only:
            def unchanged(_: int) -> None:
                f.add("glc compile (nothing changed)", run.glc("compile"))
                f.add("spec floor", run.py(FLOOR_SPECS, specs))
                f.add("glc run (nothing changed, 1 model)", run.glc("run"))
                f.add("query floor (1 model)", run.py(FLOOR_QUERY, str(db1), FLOOR_SQL))
            loop(reps, unchanged)
            print("nothing changed:")
            results["compile, nothing changed"] = f.row("glc compile (nothing changed)", "spec floor", 3)
            f.row("spec floor")
            results["run, nothing changed"] = f.row("glc run (nothing changed, 1 model)", "query floor (1 model)", 3)
            f.row("query floor (1 model)")

        if "cold" in only:
            def cold_compile(_: int) -> None:
                shutil.rmtree(base / "cache", ignore_errors=True)
                shutil.rmtree(root / "target" / "compiled", ignore_errors=True)
                for p in (root / "target").glob("*.json"):
                    p.unlink()
                f.add("glc compile (cold: no caches)", run.glc("compile"))
                f.add("spec floor (cold loop)", run.py(FLOOR_SPECS, specs))
            loop(reps, cold_compile)
            print("cold compile of the catalog:")
            results["compile, cold"] = f.row("glc compile (cold: no caches)", "spec floor (cold loop)", 5)

        if "one" in only:
            def one_model(_: int) -> None:
                fresh_store(root)
                a = run.glc("import", "scores", str(one))
                b = run.glc("run")
                f.add("glc import scores (1 model)", a)
                f.add("glc run (1 model, after import)", b)
                f.add("glc import + run (1 model, cold store)", (a[0] + b[0], max(a[1], b[1]), a[2] + b[2]))
                f.add("workbook floor (1 model)", run.py(FLOOR_WORKBOOK, str(one), str(keys_path), FLOOR_SQL))
                fresh_store(root)  # the same in one command: one process, as the floor is
                f.add("glc run --scores (1 model, cold store)", run.glc("run", "--scores", str(one)))
            loop(reps, one_model)
            print("one model end to end (cold store):")
            f.row("glc import scores (1 model)")
            f.row("glc run (1 model, after import)")
            results["one model end to end"] = f.row("glc import + run (1 model, cold store)",
                                                    "workbook floor (1 model)", 3)
            results["one model end to end, one command"] = f.row("glc run --scores (1 model, cold store)",
                                                                 "workbook floor (1 model)", 3)
            f.row("workbook floor (1 model)")

        if "many" in only:  # 1,000 models from one workbook
            n = args.models
            t = time.perf_counter()
            frame = synthetic_scores(keys, n, seed=7)
            book = base / f"scores-{n}.xlsx"
            write_workbook(book, keys, frame)
            db_n = floor_db(base / f"floor{n}.duckdb", tasks_only, frame)
            print(f"{n} models: workbook of {book.stat().st_size / 1e6:.1f} MB, {frame['score'].count()} scores "
                  f"(made in {time.perf_counter() - t:.0f} s)", flush=True)
            sizes: list[tuple[float, float]] = []

            def thousand(_: int) -> None:
                fresh_store(root)
                f.add(f"glc import scores ({n} models, workbook)", run.glc("import", "scores", str(book)))
                f.add(f"reader floor ({n} models)", run.py(FLOOR_READ, str(book)))
                before = store_path(root).stat().st_size / 1e6
                f.add(f"glc run ({n} models, after import)", run.glc("run"))
                f.add(f"query floor ({n} models)", run.py(FLOOR_QUERY, str(db_n), FLOOR_SQL))
                sizes.append((before, store_path(root).stat().st_size / 1e6))
            loop(reps, thousand)
            worst, _ = agreement(store_path(root))
            print(f"{n} models (floor agrees with level_scores to {worst:.1e}; store {sizes[-1][0]:.1f} MB after "
                  f"import, {sizes[-1][1]:.1f} MB after the run):")
            results[f"import, {n} models"] = f.row(f"glc import scores ({n} models, workbook)",
                                                   f"reader floor ({n} models)", 3)
            f.row(f"reader floor ({n} models)")
            results[f"run, {n} models"] = f.row(f"glc run ({n} models, after import)", f"query floor ({n} models)", 5)
            f.row(f"query floor ({n} models)")
            assert worst <= 1e-9

        if "big" in only and not args.skip_big:
            big = args.big
            frame = synthetic_scores(keys, big, seed=11)
            table = base / f"scores-{big}.parquet"
            frame.filter(pl.col("score").is_not_null()).select(
                "model", pl.col("task_id").alias("task"), "score").write_parquet(table)
            db_big = floor_db(base / f"floor{big}.duckdb", tasks_only, frame)
            fresh_store(root)
            t = time.perf_counter()
            run.glc("import", "scores", str(table))
            print(f"{big} models: imported {frame['score'].count()} scores from Parquet in "
                  f"{time.perf_counter() - t:.1f} s (once)", flush=True)
            imported = base / "imported-big.duckdb"
            shutil.copy(store_path(root), imported)

            def many(_: int) -> None:
                fresh_store(root, copy_from=imported)
                f.add(f"glc run ({big} models, after import)", run.glc("run"))
                f.add(f"query floor ({big} models)", run.py(FLOOR_QUERY, str(db_big), FLOOR_SQL))
            loop(reps, many)
            worst, _ = agreement(store_path(root))
            print(f"{big} models (floor agrees to {worst:.1e}; store {store_path(root).stat().st_size / 1e6:.0f} MB "
                  "after the run):")
            results[f"run, {big} models"] = f.row(f"glc run ({big} models, after import)",
                                                  f"query floor ({big} models)", 5)
            f.row(f"query floor ({big} models)")
            for name in (f"glc run ({big} models, after import)", f"query floor ({big} models)"):
                print(f"  peak memory {name}: max {max(f.mem[name]):.0f} MiB")
            assert worst <= 1e-9

        print("targets: " + "; ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in results.items()))


if __name__ == "__main__":
    main()
