"""Scores as a table: CSV or Parquet with columns model, task, score.

``task`` is a task id (``image.weather_recognition``) or the exact official task name; a table
without a ``task`` column may name it ``task_id``, as the scores file of a glc run does (its other
columns are ignored), so one project's run results import into another.
Values follow the workbook rules (see ``glc.importers.scores``): empty, ``inf``, ``N/A``, ``-``
mean "no score", a value that overflows to infinity or a NaN/infinite float is refused, and so is
a value outside the metric's range. Model names and task references are trimmed of surrounding
spaces, as the workbook reader trims its model headers, so ``" GPT-4o"`` is the model ``GPT-4o``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl

from glc.compiler.errors import GlcError
from glc.compiler.resolve import Project, Task
from glc.importers.csv_rows import read_csv
from glc.importers.safety import clip, name_problem, path_problem, preview, require_utf8, suggest
from glc.importers.scores import (
    ImportErrors,
    Missing,
    ParsedScores,
    Problem,
    ScoreCell,
    file_sha256,
    parse_value,
    pick_model,
    sota_as_model_problem,
    to_number,
    value_bounds,
)

REQUIRED = ("model", "task", "score")
TABLE_HINT = "a CSV (UTF-8, header row) or Parquet file with columns model, task, score"
# From this many rows a table is checked a column at a time (``_columns``: what repeats, model names and
# task references, once per distinct value; the rows go to the store as one Arrow table), below it row
# by row, as before: both decide alike, and the row loop imports no pyarrow. 2,620,681 rows (5,000 models)
# took 31 s row by row.
COLUMNS_FROM = 20_000
MAX_ROWS = 5_000_000  # rows of one score table: 7,000 models of the 699-task catalog
MAX_PROBLEMS = 10_000  # problems collected from one table before its check stops
_NUMBERS = (pl.Float64, pl.Float32, pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32,
            pl.UInt64)


def _frame(path: Path) -> tuple[pl.DataFrame, int]:
    """The file as a frame (CSV: all strings) and the line number of its first data row."""
    if path.suffix.lower() != ".parquet":
        require_utf8(path)  # polars says "invalid utf-8" without a line: find the line and byte first
        _unique_header(path)
    try:
        if path.suffix.lower() == ".parquet":
            # a few hundred kilobytes of Parquet can hold tens of millions of repeated rows (13 GB once read):
            # the row count, from the file's metadata, is checked before any row is read
            rows = pl.scan_parquet(path).select(pl.len()).collect().item()
            if rows > MAX_ROWS:
                raise _TooBig(rows)
            frame = pl.read_parquet(path)
            # dictionary-encoded text (pandas' category, polars' Categorical) is text: its values as strings
            return frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String)), 1
        return read_csv(path), 2  # every row with the header's fields: a short one lost its score
    except GlcError:
        raise
    except _TooBig as big:
        raise GlcError(f"the table has {big.rows:,} rows, more than glc reads ({MAX_ROWS:,}: a score per model "
                       "and task)", location=clip(str(path)), hint="split it into files of fewer models") from None
    except Exception as exc:  # polars and its Arrow readers raise many types for damaged files
        raise GlcError(clip(f"cannot read score table: {exc}".splitlines()[0]), location=clip(str(path)),
                       hint=TABLE_HINT) from None


class _TooBig(Exception):
    def __init__(self, rows: int) -> None:
        super().__init__(rows)
        self.rows = rows


def _unique_header(path: Path) -> None:
    """GlcError for a CSV header naming a column twice: polars renames the second ('score_duplicated_0')
    and the import would silently read the first."""
    try:
        header = pl.read_csv(path, has_header=False, n_rows=1, infer_schema=False, encoding="utf8").row(0)
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the full read, with its cause
        return
    names = [h if h is not None else "" for h in header]  # as polars names the columns: exactly as written
    for name in REQUIRED + ("task_id",):
        columns = [i + 1 for i, h in enumerate(names) if h == name]
        if len(columns) > 1:
            raise GlcError(f"column {preview(name)} appears more than once (columns "
                           f"{', '.join(map(str, columns))})", location=f"{clip(str(path))}:1",
                           hint="keep one column of each name; nothing was imported")


def _model_name(value: Any) -> str | Problem | None:
    """The model name trimmed as in workbook headers, None for an empty one, or why it is refused."""
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        return Problem("", f"model name {preview(value)} is not text")
    name = str(value).strip()
    bad = name_problem(name)
    return Problem("", f"model name {preview(name)}: {bad}") if bad else (name or None)


def _key(value: Any) -> Any:
    """A model cell as a dict key: itself; a float by its repr (-0.0 is not 0.0 there, as in messages);
    the repr of a value that cannot be a key (a list)."""
    if isinstance(value, float):
        return ("float", repr(value))
    try:
        hash(value)
    except TypeError:
        return ("unhashable", repr(value))
    return value


def _decided(by_raw: dict[Any, str | Problem | None], value: Any) -> str | Problem | None:
    """``_model_name(value)``, looked up (a value no dict finds again, a NaN, is decided anew)."""
    key = _key(value)
    return by_raw[key] if key in by_raw else _model_name(value)


def _model_names(column: pl.Series) -> dict[Any, str | Problem | None]:
    """``_model_name`` of each distinct value of the model column, by the value (``_key``)."""
    return {_key(v): _model_name(v) for v in column.unique(maintain_order=True).to_list()}


def _task(ref: Any, by_id: dict[str, Task], by_name: dict[str, Task]) -> Task | Problem:
    """The task a task id or official task name refers to: exactly as written (official names may
    end in a space), else trimmed."""
    key = ref.strip() if isinstance(ref, str) else str(ref)
    exact = ref if isinstance(ref, str) else key
    task = by_id.get(exact) or by_name.get(exact) or by_id.get(key) or by_name.get(key)
    if task is not None:
        return task
    return Problem("", f"unknown task {preview(ref)}", suggest(key, [*by_id, *by_name])
                   or "use a task id from specs/tasks or the exact official task name")


def read_table(path: Path, project: Project, model: str | None = None) -> ParsedScores:
    """Parse and validate a score table; raise ImportErrors listing every bad row."""
    if (bad_name := path_problem(path)) is not None:
        raise bad_name
    frame, first = _frame(path)
    if "task" not in frame.columns and "task_id" in frame.columns:
        # the scores file of a glc run (target/runs/<id>/scores.parquet) names the column task_id
        frame = frame.rename({"task_id": "task"})
    elif "task" in frame.columns and "task_id" in frame.columns:
        raise GlcError("the table has both a 'task' and a 'task_id' column", location=clip(str(path)),
                       hint="keep one of them (a task id or the exact official task name in each row)")
    missing_cols = [c for c in REQUIRED if c not in frame.columns]
    if missing_cols:
        raise GlcError(clip(f"missing column(s) {missing_cols}; found {frame.columns}"), location=clip(str(path)),
                       hint="the score table needs columns: model, task (or task_id), score")
    by_id = {t.id: t for t in project.tasks}
    by_name = {t.spec.name: t for t in project.tasks}
    by_raw = _model_names(frame["model"])  # each distinct value decided once
    models_all = sorted({m for m in by_raw.values() if isinstance(m, str)})
    chosen = pick_model(model, models_all, path) if model is not None else None
    refused = sota_as_model_problem([chosen] if chosen is not None else models_all, path, "column 'model'")
    if refused is not None:
        raise ImportErrors(path, [refused])
    parsed = ParsedScores(path=path, sha256=file_sha256(path), models=[])
    if frame.height >= COLUMNS_FROM and models_all and frame["model"].dtype == pl.String:
        table = _columns(frame, first, chosen, by_raw, by_id, by_name)
        if table is not None:  # else the rows below say what is wrong, where
            parsed.table = table
            parsed.models = [chosen] if chosen is not None else models_all
            counted = parsed.counts()
            for name in parsed.models:
                parsed.missing[name] = len(project.tasks) - counted[name]
            return parsed
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    names = [_decided(by_raw, m) for m in frame["model"].to_list()]
    for i, (m, (_, task_ref, value)) in enumerate(zip(names, frame.select(REQUIRED).iter_rows(), strict=True)):
        row_no = i + first
        where = f"row {row_no}"
        if len(problems) >= MAX_PROBLEMS:  # a file of millions of bad rows: enough to say what is wrong
            problems.append(Problem(where, f"the check stopped here, after {MAX_PROBLEMS:,} problems",
                                    "fix the ones shown and import again"))
            break
        if not isinstance(m, str):
            problems.append(Problem(f"{where} column 'model'", m.message if m else "empty model name"))
            continue
        if chosen is not None and m != chosen:
            continue
        task = _task(task_ref, by_id, by_name)
        if isinstance(task, Problem):
            problems.append(Problem(where, task.message, task.hint))
            continue
        if (m, task.id) in seen:
            problems.append(Problem(where, f"second score for model {preview(m)} on task '{task.id}'",
                                    f"first on row {seen[(m, task.id)]}; keep one row per (model, task)"))
            continue
        seen[(m, task.id)] = row_no
        got = parse_value(value, task)
        if isinstance(got, Problem):
            problems.append(Problem(f"{where} column 'score'", got.message, got.hint))
        elif isinstance(got, Missing):  # MISSING, the only instance
            parsed.missing[m] += 1
        else:
            parsed.cells.append(ScoreCell(m, task.id, float(got), str(value), None, row_no, "score"))
    if problems:
        raise ImportErrors(path, problems)
    if not models_all:
        raise GlcError(f"no rows of scores: the file has the columns {preview(list(frame.columns), 240)} but no row",
                       location=clip(str(path)), hint="add one row per (model, task, score); nothing was imported")
    parsed.models = [chosen] if chosen is not None else models_all
    counts = Counter(c.model for c in parsed.cells)
    for m in parsed.models:  # tasks without a row count as "no score" too
        parsed.missing[m] = len(project.tasks) - counts[m]
    return parsed


def _columns(frame: pl.DataFrame, first: int, chosen: str | None, by_raw: dict[Any, str | Problem | None],
             by_id: dict[str, Task], by_name: dict[str, Task]) -> Any:
    """The cells the row loop of ``read_table`` gives for a table it accepts whole, as one Arrow table of
    ``CELL_COLUMNS`` in row order; None when any row would be reported (then the loop reads the rows and
    says what is wrong where). Model names (``by_raw``) and task references are decided once per
    distinct value, by the loop's own functions; scores by the loop's ``to_number`` (text) or as the
    numbers they are, and all against each task's bounds (``value_bounds``: what ``parse_value`` checks)."""
    import pyarrow as pa

    score_type = frame["score"].dtype
    if frame["task"].dtype != pl.String or score_type not in (*_NUMBERS, pl.String, pl.Null):
        return None  # booleans, decimals, dates, lists: the loop says what they are
    if not all(isinstance(name, str) for name in by_raw.values()):
        return None  # an empty or non-text model name: the loop reports it
    names = {raw: name for raw, name in by_raw.items() if isinstance(name, str)}
    rows = frame.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("i"), "task", "score",
                        pl.col("model").replace_strict(names, return_dtype=pl.String).alias("model"))
    if chosen is not None:
        rows = rows.filter(pl.col("model") == chosen)
    tasks: dict[str, str] = {}
    for ref in rows["task"].unique().to_list():
        task = _task(ref, by_id, by_name) if ref is not None else None
        if not isinstance(task, Task):
            return None
        tasks[ref] = task.id
    rows = rows.with_columns(pl.col("task").replace_strict(tasks, return_dtype=pl.String).alias("task_id"))
    if rows.select(pl.struct("model", "task_id").is_duplicated().any()).item():
        return None
    if score_type == pl.String:  # text: each value as the loop reads it
        values = rows["score"].to_list()
        numbers = [to_number(v) for v in values]
        if any(isinstance(x, Problem) for x in numbers):
            return None
        keep = pl.Series([isinstance(x, float) for x in numbers], dtype=pl.Boolean)
        kept = rows.filter(keep).with_columns(pl.Series("number", [x for x in numbers if isinstance(x, float)],
                                                        dtype=pl.Float64))
        raws = [v for v, x in zip(values, numbers, strict=True) if isinstance(x, float)]
    else:  # numbers: the values themselves; their raw text is Python's, as the loop writes it (str)
        kept = rows.filter(pl.col("score").is_not_null()).with_columns(pl.col("score").cast(pl.Float64)
                                                                       .alias("number"))
        if kept.select((pl.col("number").is_nan() | pl.col("number").is_infinite()).any()).item():
            return None
        raws = list(map(str, kept["score"].to_list()))
    bounds = {t: value_bounds(by_id[t]) for t in tasks.values()}
    lows, highs = {t: b[0] for t, b in bounds.items()}, {t: b[1] for t, b in bounds.items()}
    out_of_bounds = (pl.col("number") < pl.col("task_id").replace_strict(lows, return_dtype=pl.Float64)) | (
        pl.col("number") > pl.col("task_id").replace_strict(highs, return_dtype=pl.Float64))
    if kept.select(out_of_bounds.any()).item():
        return None
    n = kept.height
    return pa.table({
        "model": kept["model"].to_arrow().cast(pa.string()),
        "task_id": kept["task_id"].to_arrow().cast(pa.string()),
        "score": kept["number"].to_arrow(),
        "raw_value": pa.array(raws, pa.string()),
        "sheet": pa.nulls(n, pa.string()),
        "row_no": (kept["i"] + first).cast(pl.Int32).to_arrow(),
        "column_name": pa.repeat(pa.scalar("score", pa.string()), n)})
