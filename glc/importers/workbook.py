"""The official score workbook: one sheet per modality x paradigm plus NLP.

Columns are ``No``, ``Task Name``, ``Task Short Name``, ``Metrics``, then one column per
model. Rows are matched to tasks by (sheet, Task Name, Metrics), byte-exact, never by
position. A ``Level-Scores`` sheet (any case) is output of the official scorer and ignored.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

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
    task_index,
)

HEADER = ("No", "Task Name", "Task Short Name", "Metrics")
IGNORED_SHEET = "level-scores"


def _open(path: Path) -> Any:
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(path):
        raise GlcError("not a readable .xlsx workbook (the file is not a zip archive)", location=str(path),
                       hint="save the sheet as Excel .xlsx, or import a CSV/Parquet file of (model, task, score)")
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise GlcError(f"cannot read workbook: {exc}", location=str(path),
                       hint="re-save the file from Excel or LibreOffice as .xlsx") from None


def read_workbook(path: Path, project: Project, model: str | None = None) -> ParsedScores:
    """Parse and validate a score workbook; raise ImportErrors listing every problem."""
    index = task_index(project)
    sheets_expected = sorted({k[0] for k in index})
    by_sheet: dict[str, dict[tuple[str, str], str]] = {}
    for (sheet, name, metric), task in index.items():
        by_sheet.setdefault(sheet, {})[(name, metric)] = task.id
    tasks = {t.id: t for t in project.tasks}
    wb = _open(path)
    problems: list[Problem] = []
    parsed = ParsedScores(path=path, sha256=file_sha256(path), models=[])
    sheet_models: dict[str, list[str]] = {}
    try:
        present = [ws.title for ws in wb.worksheets]
        for title in present:
            if title.casefold() == IGNORED_SHEET:
                parsed.ignored_sheets.append(title)
            elif title not in by_sheet:
                problems.append(Problem(f"sheet {title!r}", "unknown sheet",
                                        did_you_mean(title, sheets_expected)
                                        or "sheets: " + ", ".join(sheets_expected)))
        for missing in sorted(set(sheets_expected) - set(present)):
            problems.append(Problem(f"sheet {missing!r}", "missing sheet",
                                    "the workbook needs every sheet of the official template "
                                    "(template_result.xlsx); leave cells empty for tasks without a score"))
        for ws in wb.worksheets:
            if ws.title not in by_sheet:
                continue
            rows = ws.iter_rows(values_only=True)
            header = list(next(rows, ()) or ())
            models, cols = _header(ws.title, header, problems)
            sheet_models[ws.title] = models
            wanted = cols if model is None else {}
            if model is not None and models:
                chosen = pick_model(model, models, path)
                wanted = {c: m for c, m in cols.items() if m == chosen}
            seen: dict[str, int] = {}
            for r, row in enumerate(rows, start=2):
                if not row or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                    continue
                cells = list(row) + [None] * (4 - len(row))
                name, metric = cells[1], cells[3]
                where = f"sheet {ws.title!r} row {r}"
                task_id = by_sheet[ws.title].get((str(name), str(metric)))
                if task_id is None:
                    candidates = [f"{n} | {m}" for n, m in by_sheet[ws.title]]
                    problems.append(Problem(where, f"unknown task {name!r} with metric {metric!r}",
                                            did_you_mean(f"{name} | {metric}", candidates)
                                            or "task name and metric must match the official template byte for byte"))
                    continue
                if task_id in seen:
                    problems.append(Problem(where, f"task {name!r} appears twice",
                                            f"also on row {seen[task_id]}; keep one row per task"))
                    continue
                seen[task_id] = r
                for c in range(4, len(row)):
                    if c not in cols and row[c] is not None and str(row[c]).strip():
                        problems.append(Problem(f"{where} column {get_column_letter(c + 1)}",
                                                f"value {row[c]!r} in a column without a model name",
                                                "put the model's name in row 1 of that column, or clear it"))
                for c, model_name in wanted.items():
                    value = row[c] if c < len(row) else None
                    cell = f"{where} column {get_column_letter(c + 1)} ({model_name!r})"
                    got = parse_value(value, tasks[task_id])
                    if isinstance(got, Problem):
                        problems.append(Problem(cell, got.message, got.hint))
                    elif got is MISSING:
                        parsed.missing[model_name] += 1
                    else:
                        parsed.cells.append(ScoreCell(model_name, task_id, float(got), str(value), ws.title, r,
                                                      get_column_letter(c + 1)))
            # tasks of the sheet that have no row at all count as "no score"
            absent = len(by_sheet[ws.title]) - len(seen)
            for model_name in wanted.values():
                parsed.missing[model_name] += absent
    finally:
        wb.close()
    all_models = sorted({m for ms in sheet_models.values() for m in ms})
    for sheet, ms in sorted(sheet_models.items()):
        lacking = [m for m in all_models if m not in ms]
        if lacking:
            problems.append(Problem(f"sheet {sheet!r}", f"no column for model(s) {lacking}",
                                    "every sheet needs the same model columns; leave cells empty for no score"))
    if problems:
        raise ImportErrors(path, problems)
    parsed.models = all_models if model is None else [pick_model(model, all_models, path)]
    return parsed


def _header(sheet: str, header: list[Any], problems: list[Problem]) -> tuple[list[str], dict[int, str]]:
    where = f"sheet {sheet!r} row 1"
    found = tuple(str(h).strip() if h is not None else "" for h in header[:4])
    if found != HEADER:
        problems.append(Problem(where, f"header {list(found)} is not {list(HEADER)}",
                                "use the official template's first four columns, then one column per model"))
        return [], {}
    cols: dict[int, str] = {}
    for c, h in enumerate(header[4:], start=4):
        if h is None or not str(h).strip():
            continue
        cols[c] = str(h).strip()
    dups = [m for m, n in Counter(cols.values()).items() if n > 1]
    for m in dups:
        letters = [get_column_letter(c + 1) for c, v in cols.items() if v == m]
        problems.append(Problem(where, f"model column {m!r} appears more than once (columns {', '.join(letters)})",
                                "give each model one column"))
    return sorted(set(cols.values())), cols
