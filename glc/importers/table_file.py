"""Scores as a table: CSV or Parquet with columns model, task, score.

``task`` is a task id (``image.weather_recognition``) or the exact official task name.
Values follow the workbook rules: empty, ``inf``, ``N/A``, ``-`` mean "no score".
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl

from compiler.errors import GlcError
from compiler.resolve import Project
from compiler.suggest import did_you_mean
from glc.importers.scores import (
    MISSING,
    ImportErrors,
    ParsedScores,
    Problem,
    ScoreCell,
    file_sha256,
    parse_value,
    pick_model,
)

REQUIRED = ("model", "task", "score")


def _frame(path: Path) -> tuple[pl.DataFrame, int]:
    """The file as a frame of strings and the line number of its first data row."""
    try:
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path), 1
        return pl.read_csv(path, infer_schema=False, encoding="utf8"), 2
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise GlcError(f"cannot read score table: {exc}".splitlines()[0], location=str(path),
                       hint="a CSV (UTF-8, header row) or Parquet file with columns model, task, score") from None


def read_table(path: Path, project: Project, model: str | None = None) -> ParsedScores:
    frame, first = _frame(path)
    missing_cols = [c for c in REQUIRED if c not in frame.columns]
    if missing_cols:
        raise GlcError(f"missing column(s) {missing_cols}; found {frame.columns}", location=str(path),
                       hint="the score table needs columns: model, task, score")
    by_id = {t.id: t for t in project.tasks}
    by_name = {t.spec.name: t for t in project.tasks}
    models_all = sorted({str(m) for m in frame["model"].to_list() if m is not None})
    chosen = pick_model(model, models_all, path) if model is not None else None
    parsed = ParsedScores(path=path, sha256=file_sha256(path), models=[])
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    for i, (m, task_ref, value) in enumerate(frame.select(REQUIRED).iter_rows()):
        row_no = i + first
        where = f"row {row_no}"
        if m is None or not str(m).strip():
            problems.append(Problem(where, "empty model name"))
            continue
        m = str(m)
        if chosen is not None and m != chosen:
            continue
        task = by_id.get(str(task_ref)) or by_name.get(str(task_ref))
        if task is None:
            problems.append(Problem(where, f"unknown task {task_ref!r}",
                                    did_you_mean(str(task_ref), [*by_id, *by_name])
                                    or "use a task id from specs/tasks or the exact official task name"))
            continue
        if (m, task.id) in seen:
            problems.append(Problem(where, f"second score for model {m!r} on task '{task.id}'",
                                    f"first on row {seen[(m, task.id)]}; keep one row per (model, task)"))
            continue
        seen[(m, task.id)] = row_no
        got = parse_value(value, task)
        if isinstance(got, Problem):
            problems.append(Problem(f"{where} column 'score'", got.message, got.hint))
        elif got is MISSING:
            parsed.missing[m] += 1
        else:
            parsed.cells.append(ScoreCell(m, task.id, float(got), str(value), None, row_no, "score"))
    if problems:
        raise ImportErrors(path, problems)
    parsed.models = [chosen] if chosen is not None else models_all
    counts = Counter(c.model for c in parsed.cells)
    for m in parsed.models:  # tasks without a row count as "no score" too
        parsed.missing[m] = len(project.tasks) - counts[m]
    return parsed
