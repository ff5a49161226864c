"""Scores as a table: CSV or Parquet with columns model, task, score.

``task`` is a task id (``image.weather_recognition``) or the exact official task name.
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
from glc.importers.safety import clip, lone_surrogate, path_problem, preview, require_utf8, suggest
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
)

REQUIRED = ("model", "task", "score")
TABLE_HINT = "a CSV (UTF-8, header row) or Parquet file with columns model, task, score"


def _frame(path: Path) -> tuple[pl.DataFrame, int]:
    """The file as a frame (CSV: all strings) and the line number of its first data row."""
    if path.suffix.lower() != ".parquet":
        require_utf8(path)  # polars says "invalid utf-8" without a line: find the line and byte first
    try:
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path), 1
        return pl.read_csv(path, infer_schema=False, encoding="utf8"), 2
    except Exception as exc:  # polars and its Arrow readers raise many types for damaged files
        raise GlcError(clip(f"cannot read score table: {exc}".splitlines()[0]), location=clip(str(path)),
                       hint=TABLE_HINT) from None


def _model_name(value: Any) -> str | Problem | None:
    """The model name trimmed as in workbook headers, None for an empty one, or why it is refused."""
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        return Problem("", f"model name {preview(value)} is not text")
    name = str(value).strip()
    bad = lone_surrogate(name)
    return Problem("", f"model name {preview(name)}: {bad}") if bad else (name or None)


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
    missing_cols = [c for c in REQUIRED if c not in frame.columns]
    if missing_cols:
        raise GlcError(clip(f"missing column(s) {missing_cols}; found {frame.columns}"), location=clip(str(path)),
                       hint="the score table needs columns: model, task, score")
    by_id = {t.id: t for t in project.tasks}
    by_name = {t.spec.name: t for t in project.tasks}
    names = [_model_name(m) for m in frame["model"].to_list()]
    models_all = sorted({m for m in names if isinstance(m, str)})
    chosen = pick_model(model, models_all, path) if model is not None else None
    refused = sota_as_model_problem([chosen] if chosen is not None else models_all, path, "column 'model'")
    if refused is not None:
        raise ImportErrors(path, [refused])
    parsed = ParsedScores(path=path, sha256=file_sha256(path), models=[])
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    for i, (m, (_, task_ref, value)) in enumerate(zip(names, frame.select(REQUIRED).iter_rows(), strict=True)):
        row_no = i + first
        where = f"row {row_no}"
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
