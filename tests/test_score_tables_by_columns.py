"""Big score tables (CSV, Parquet) are checked a column at a time (``table_file._columns``): for every
table, what it gives is exactly what the row-by-row reader gives (the same models, cells with the same
raw values and rows, the same counts of tasks without a score), and whenever the row reader would report
something the column path steps aside, so the errors are the row reader's own. A differential test on
generated tables of every kind of cell, both paths forced."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from glc.compiler.errors import GlcError
from glc.compiler.resolve import load_project
from helpers.project import copy_project

from glc.importers import table_file


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    root = copy_project(tmp_path_factory.mktemp("tables") / "p", small=True)
    return load_project(root, benchmark="general-bench")


def _outcome(path: Path, project, model: str | None, columns: bool, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(table_file, "COLUMNS_FROM", 0 if columns else 10**12)
    try:
        got = table_file.read_table(path, project, model)
    except GlcError as exc:
        return "error", type(exc).__name__, exc.format()
    return "ok", got.models, dict(got.missing), got.cells


def _table(rng: random.Random, project) -> tuple[pl.DataFrame, str | None]:
    tasks = list(project.tasks)
    dirty = rng.random() < 0.3  # problems only in some tables: one bad cell spoils a table for both readers
    bad = 0.02 if dirty else 0.0
    models = ["m-a", "M-B", " m-c ", "model 4", "GPT-4o"]
    if dirty and rng.random() < 0.1:
        models.append("")  # an empty name: reported
    n = rng.randint(1, 120)
    kind = rng.choice(["float", "float", "int", "text", "text", "null"])
    rows_m, rows_t, rows_s = [], [], []
    used: set[tuple[str | None, str]] = set()
    for _ in range(n):
        t = rng.choice(tasks)
        name = rng.choice(models) if rng.random() >= bad / 4 else None
        if (name, t.id) in used and (not dirty or rng.random() < 0.8):
            continue  # a second row for one (model, task), however written, is reported
        used.add((name, t.id))
        ref = rng.choice([t.id, t.id, t.spec.name, f" {t.id} ", f"{t.spec.name}  "])
        if rng.random() < bad / 2:
            ref = "no.such_task"
        if rng.random() < bad / 4:
            ref = None
        lo = t.metric.range.min if t.metric.range.min is not None else -5.0
        hi = t.metric.range.max if t.metric.range.max is not None else 500.0
        x = rng.uniform(lo, hi)
        if kind == "float":
            tiny = max(lo, 0.0) + rng.choice([1e-05, 3.5e-07, 1.25e-12])  # written with an exponent by Python
            v = rng.choice([x, x, round(x, 2), float(int(x)), None, lo, hi, tiny])
            if rng.random() < bad:
                v = rng.choice([float("nan"), float("inf"), hi + 1.0, lo - 1.0])
        elif kind == "int":
            v = rng.choice([int(x), int(lo), None])
            if rng.random() < bad:
                v = int(hi) + 7
        elif kind == "text":
            v = rng.choice([repr(x), f" {round(x, 3)} ", str(int(x)), "N/A", "inf", "-", "", None, "∞", f"{x:.4e}",
                            f"+{abs(x)}" if x >= 0 else str(x)])
            if rng.random() < bad:
                v = rng.choice(["abc", "80%", "1e400", "nan", "1,5", str(hi * 10 + 1)])
        else:
            v = None
        rows_m.append(name)
        rows_t.append(ref)
        rows_s.append(v)
    dtype = {"float": pl.Float64, "int": pl.Int64, "text": pl.String, "null": pl.Null}[kind]
    frame = pl.DataFrame({"model": rows_m, "task": rows_t, "score": pl.Series(rows_s, dtype=dtype)},
                         schema={"model": pl.String, "task": pl.String, "score": dtype})
    chosen = rng.choice([None, None, "m-a", "m-b", "GPT-4o"])
    return frame, chosen


def _odd_types(rng: random.Random, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as other writers may type it: scores as Float32 or as the narrowest or unsigned integers,
    names and task references as categoricals, the task column called task_id (a run's scores file)."""
    score = frame["score"]
    if score.dtype == pl.Float64 and rng.random() < 0.3:
        frame = frame.with_columns(pl.col("score").cast(pl.Float32))
    elif score.dtype == pl.Int64 and rng.random() < 0.5:
        small = score.drop_nulls()
        unsigned = small.len() == 0 or small.min() >= 0
        frame = frame.with_columns(pl.col("score").cast(
            rng.choice([pl.UInt64, pl.UInt32, pl.UInt16]) if unsigned and small.max() is not None
            and small.max() < 65536 else pl.Int32))
    if rng.random() < 0.25:
        frame = frame.with_columns(pl.col("model").cast(pl.Categorical), pl.col("task").cast(pl.Categorical))
    if rng.random() < 0.25:
        frame = frame.rename({"task": "task_id"})
    return frame


@pytest.mark.parametrize("seed", range(6))
def test_columns_and_rows_give_the_same(project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = random.Random(seed)
    by_columns = 0
    real = table_file._columns

    def counting(*args, **kwargs):
        nonlocal by_columns
        got = real(*args, **kwargs)
        by_columns += got is not None
        return got

    monkeypatch.setattr(table_file, "_columns", counting)
    cases = accepted = 0
    for case in range(40):
        frame, chosen = _table(rng, project)
        for suffix in (".parquet", ".csv"):
            path = tmp_path / f"t{case}{suffix}"
            if suffix == ".parquet":
                _odd_types(rng, frame).write_parquet(path)
            else:
                frame.with_columns(pl.col("score").cast(pl.String)).write_csv(path)
            rows = _outcome(path, project, chosen, False, monkeypatch)
            cols = _outcome(path, project, chosen, True, monkeypatch)
            assert cols == rows, (seed, case, suffix, chosen)
            cases += 1
            accepted += rows[0] == "ok"
    # the column path decided every table the row reader accepts, and they are most of them
    assert by_columns == accepted >= cases // 2, (by_columns, accepted, cases)


def test_a_big_table_goes_by_columns_by_default(project, tmp_path: Path) -> None:
    tasks = [t for t in project.tasks if t.metric.range.min is not None and t.metric.range.max is not None]
    rows = [(f"model-{i:05d}", t.id, (t.metric.range.min + t.metric.range.max) / 2)
            for i in range(table_file.COLUMNS_FROM // len(tasks) + 1) for t in tasks]
    path = tmp_path / "big.parquet"
    pl.DataFrame(rows, schema={"model": pl.String, "task": pl.String, "score": pl.Float64}, orient="row"
                 ).write_parquet(path)
    got = table_file.read_table(path, project, None)
    assert got.table is not None and got.table.num_rows == len(rows) >= table_file.COLUMNS_FROM
    first = got.cells[0]
    assert (first.model, first.task_id, first.row_no, first.column_name, first.sheet) == (
        "model-00000", tasks[0].id, 1, "score", None)
    assert first.raw_value == str(rows[0][2])
    assert got.missing["model-00000"] == len(project.tasks) - len(tasks)


def test_a_float_model_column_is_named_as_written(project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Model names are decided once per distinct value, yet -0.0 (which polars and dicts take for 0.0) is
    reported as -0.0, in both paths."""
    path = tmp_path / "floats.parquet"
    tid = project.tasks[0].id
    pl.DataFrame({"model": [0.0, -0.0], "task": [tid, tid], "score": [1.0, 2.0]}).write_parquet(path)
    for columns in (False, True):
        kind, name, text = _outcome(path, project, None, columns, monkeypatch)
        assert kind == "error" and "row 1 column 'model': model name 0.0 is not text" in text
        assert "row 2 column 'model': model name -0.0 is not text" in text
