"""The official score workbook: one sheet per modality x paradigm plus NLP.

Columns are ``No``, ``Task Name``, ``Task Short Name``, ``Metrics``, then one column per
model. Rows are matched to tasks by (sheet, Task Name, Metrics), byte-exact, never by
position. A ``Level-Scores`` sheet (any case) is output of the official scorer and ignored.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glc.compiler.errors import GlcError
from glc.compiler.resolve import Project, Task
from glc.importers.fast_workbook import column_letter, read_fast
from glc.importers.safety import clip, name_problem, path_problem, preview, suggest
from glc.importers.scores import (
    ImportErrors,
    Missing,
    ParsedScores,
    Problem,
    ScoreCell,
    file_sha256,
    is_sota_column,
    parse_value,
    pick_model,
    sota_as_model_problem,
    task_index,
)
from glc.importers.xlsx_guard import MAX_ROW, check_xlsx, guard_shared_strings

HEADER = ("No", "Task Name", "Task Short Name", "Metrics")
IGNORED_SHEET = "level-scores"
RESAVE_HINT = "re-save the file from Excel or LibreOffice as .xlsx"
FORMULA_HINT = ("open and save the workbook in Excel/LibreOffice so formulas get cached values, "
                "or paste values")
Formulas = dict[int, dict[int, str]]  # row -> 0-based column -> formula text


def get_column_letter(index: int) -> str:
    """openpyxl's column letter of a 1-based column index (without importing openpyxl)."""
    return column_letter(index - 1)


class _Unreadable(Exception):
    """The sheet's XML broke off after ``row`` (openpyxl parses lazily, while rows are iterated)."""

    def __init__(self, row: int, cause: Exception) -> None:
        super().__init__(str(cause))
        self.row = row
        self.cause = cause


@dataclass
class _Context:
    """What every sheet of one import shares: the project's tasks, the model filter, the results."""

    path: Path
    tasks: dict[str, Task]
    model: str | None
    parsed: ParsedScores
    problems: list[Problem] = field(default_factory=list)
    headers: dict[str, list[str]] = field(default_factory=dict)  # sheet -> its row-1 cells, as read


def _open(path: Path, *, data_only: bool = True) -> Any:
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(path):
        raise GlcError("not a readable .xlsx workbook (the file is not a zip archive)", location=str(path),
                       hint="save the sheet as Excel .xlsx, or import a CSV/Parquet file of (model, task, score)")
    try:
        wb = load_workbook(path, read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise GlcError(clip(f"cannot read workbook: {exc}"), location=str(path), hint=RESAVE_HINT) from None
    guard_shared_strings(wb)  # a negative index would read another cell's text
    return wb


def _rows(ws: Any, *, values_only: bool = True) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, cells) to the sheet's real end.

    Read-only openpyxl stops at the extent the sheet's ``<dimension>`` element declares; a stale
    one (``A1:F10`` over 116 rows) would silently drop rows, so the declared extent is discarded.
    """
    ws.reset_dimensions()
    r = 0
    try:
        for r, row in enumerate(ws.iter_rows(values_only=values_only), start=1):
            if r > MAX_ROW:  # openpyxl yields the empty rows up to a far one, one by one: two billion for r="2e9"
                raise ValueError(f"a row lies past Excel's last row ({MAX_ROW:,})")
            yield r, row
    except Exception as exc:  # XML errors, bad numbers (<v>inf</v>) surface only while iterating
        raise _Unreadable(r, exc) from None


def _formulas(path: Path, titles: list[str], sheets: dict[str, bytes]) -> dict[str, Formulas]:
    """Every formula cell of the given sheets, read without cached values (``data_only=False``).

    ``data_only=True`` gives None both for an empty cell and for a formula that was never
    calculated (files written by scripts); the formula text tells the two apart. ``sheets``: the
    sheets' XML as ``check_xlsx`` unpacked it.
    """
    if not any(_FORMULA_TAG.search(data) for data in sheets.values()):  # most hold only values: no second pass
        return {}
    wb = _open(path, data_only=False)
    found: dict[str, Formulas] = {}
    try:
        for title in titles:
            found[title] = _sheet_formulas(wb[title])
    finally:
        wb.close()
    return found


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _sheet_formulas(ws: Any) -> Formulas:
    """One sheet's formula cells; an unreadable sheet is reported by the pass over values."""
    found: Formulas = {}
    try:
        for r, row in _rows(ws, values_only=False):
            for c, cell in enumerate(row):
                if getattr(cell, "data_type", None) == "f":
                    text = getattr(cell.value, "text", cell.value)  # ArrayFormula keeps it in .text
                    found.setdefault(r, {})[c] = str(text)
    except _Unreadable:
        pass
    return found


def read_workbook(path: Path, project: Project, model: str | None = None) -> ParsedScores:
    """Parse and validate a score workbook; raise ImportErrors listing every problem."""
    if (bad_name := path_problem(path)) is not None:
        raise bad_name
    by_sheet: dict[str, dict[tuple[str, str], str]] = {}
    for (sheet, name, metric), task in task_index(project).items():
        by_sheet.setdefault(sheet, {})[(name, metric)] = task.id
    tasks = {t.id: t for t in project.tasks}
    sha256 = file_sha256(path)
    sheets: dict[str, bytes] = {}
    if zipfile.is_zipfile(path):  # a valid workbook is read by calamine; anything else as always, below
        parts = check_xlsx(path, RESAVE_HINT)  # sizes, references past Excel's limits: refused here
        sheets = parts.xml
        fast = read_fast(path, by_sheet, tasks, model, sha256, sheets) if not parts.far else None
        if fast is not None:
            return fast
    ctx = _Context(path, tasks, model, ParsedScores(path=path, sha256=sha256, models=[]))
    wb = _open(path)
    sheet_models: dict[str, list[str]] = {}
    try:
        titles = _check_sheets([ws.title for ws in wb.worksheets], sorted(by_sheet), ctx)
        formulas = _formulas(path, titles, sheets)
        for title in titles:
            models = _read_sheet(wb[title], by_sheet[title], formulas.get(title, {}), ctx)
            if models is not None:
                sheet_models[title] = models
    finally:
        wb.close()
    all_models = sorted({m for ms in sheet_models.values() for m in ms})
    imported = all_models if model is None else [m for m in all_models if m.casefold() == model.strip().casefold()]
    first = next((t for t, ms in sheet_models.items() if any(is_sota_column(m) for m in ms)), None)
    refused = sota_as_model_problem(imported, path, f"sheet {first!r} row 1")
    if refused is not None:  # the SoTA table itself: the other problems would only bury this one
        raise ImportErrors(path, [refused])
    for sheet, ms in sorted(sheet_models.items()):
        lacking = [m for m in all_models if m not in ms]
        if lacking:
            ctx.problems.append(Problem(f"sheet {sheet!r}", f"no column for model(s) {preview(lacking, 240)}",
                                        "every sheet needs the same model columns; leave cells empty for no score"))
    if ctx.problems:
        raise ImportErrors(path, ctx.problems)
    if not all_models:  # e.g. the official template itself: nothing to import, and the user should know why
        sheet, cols = next(iter(ctx.headers.items()), ("", []))
        raise GlcError("no model columns found" + (f": sheet {sheet!r} has only the columns {preview(cols, 240)}"
                                                   if sheet else ""), location=clip(str(path)),
                       hint="add one column per model after 'Metrics' (its name in row 1, its scores below); "
                            "nothing was imported")
    ctx.parsed.models = all_models if model is None else [pick_model(model, all_models, path)]
    return ctx.parsed


def _check_sheets(present: list[str], expected: list[str], ctx: _Context) -> list[str]:
    """The sheets to read; unknown and missing sheets are problems, ``Level-Scores`` is ignored."""
    for title in present:
        if title.casefold() == IGNORED_SHEET:
            ctx.parsed.ignored_sheets.append(title)
        elif title not in expected:
            ctx.problems.append(Problem(f"sheet {preview(title)}", "unknown sheet",
                                        suggest(title, expected) or "sheets: " + ", ".join(expected)))
    for missing in sorted(set(expected) - set(present)):
        ctx.problems.append(Problem(f"sheet {missing!r}", "missing sheet",
                                    "the workbook needs every sheet of the official template "
                                    "(template_result.xlsx); leave cells empty for tasks without a score"))
    return [t for t in present if t in expected]


def _read_sheet(ws: Any, keys: dict[tuple[str, str], str], formulas: Formulas, ctx: _Context) -> list[str] | None:
    """Read one sheet's rows into ``ctx``; its model names, or None when its header could not be read."""
    rows = _rows(ws)
    models: list[str] | None = None
    seen: dict[str, int] = {}
    try:
        _, header = next(rows, (1, ()))
        ctx.headers[ws.title] = [str(h).strip() for h in header if h is not None and str(h).strip()]
        ctx.problems.extend(_uncached(ws.title, 1, header, formulas))
        models, cols = _header(ws.title, list(header), ctx.problems)
        wanted = cols if ctx.model is None else {}
        if ctx.model is not None and models:
            chosen = pick_model(ctx.model, models, ctx.path)
            wanted = {c: m for c, m in cols.items() if m == chosen}
        for r, row in rows:
            _read_row(ws.title, r, row, keys, cols, wanted, formulas, seen, ctx)
    except _Unreadable as exc:
        after = f" after row {exc.row}" if exc.row else ""
        ctx.problems.append(Problem(f"sheet {ws.title!r}", f"cannot read the sheet{after}: "
                                    f"{type(exc.cause).__name__}: {exc}", RESAVE_HINT))
        return models
    absent = len(keys) - len(seen)  # tasks of the sheet that have no row at all count as "no score"
    for model_name in wanted.values():
        ctx.parsed.missing[model_name] += absent
    return models


def _uncached(sheet: str, r: int, row: tuple[Any, ...], formulas: Formulas) -> list[Problem]:
    """Formula cells of row ``r`` that have no cached value: refused, never read as "no score"."""
    return [Problem(f"sheet {sheet!r} row {r} column {get_column_letter(c + 1)}",
                    f"formula {preview(text)} has no cached value", FORMULA_HINT)
            for c, text in sorted(formulas.get(r, {}).items()) if c >= len(row) or row[c] is None]


def _read_row(sheet: str, r: int, row: tuple[Any, ...], keys: dict[tuple[str, str], str], cols: dict[int, str],
              wanted: dict[int, str], formulas: Formulas, seen: dict[str, int], ctx: _Context) -> None:
    """One task row: its key must name a task of the sheet, its model cells must be valid values."""
    uncached = _uncached(sheet, r, row, formulas)
    if uncached:
        ctx.problems.extend(uncached)
        return
    if not row or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
        return
    cells = list(row) + [None] * (4 - len(row))
    name, metric = cells[1], cells[3]
    where = f"sheet {sheet!r} row {r}"
    task_id = keys.get((str(name), str(metric)))
    if task_id is None:
        candidates = [f"{n} | {m}" for n, m in keys]
        ctx.problems.append(Problem(where, f"unknown task {preview(name)} with metric {preview(metric)}",
                                    suggest(f"{name} | {metric}", candidates)
                                    or "task name and metric must match the official template byte for byte"))
        return
    if task_id in seen:
        ctx.problems.append(Problem(where, f"task {preview(name)} appears twice",
                                    f"also on row {seen[task_id]}; keep one row per task"))
        return
    seen[task_id] = r
    for c in range(4, len(row)):
        if c not in cols and row[c] is not None and str(row[c]).strip():
            ctx.problems.append(Problem(f"{where} column {get_column_letter(c + 1)}",
                                        f"value {preview(row[c])} in a column without a model name",
                                        "put the model's name in row 1 of that column, or clear it"))
    for c, model_name in wanted.items():
        _read_cell(sheet, r, c, row[c] if c < len(row) else None, model_name, ctx.tasks[task_id], ctx)


def _read_cell(sheet: str, r: int, c: int, value: Any, model_name: str, task: Task, ctx: _Context) -> None:
    """One model's value for one task: a score, "no score", or a problem naming the cell."""
    got = parse_value(value, task)
    if isinstance(got, Problem):
        cell = f"sheet {sheet!r} row {r} column {get_column_letter(c + 1)} ({preview(model_name)})"
        ctx.problems.append(Problem(cell, got.message, got.hint))
    elif isinstance(got, Missing):  # MISSING, the only instance
        ctx.parsed.missing[model_name] += 1
    else:
        ctx.parsed.cells.append(ScoreCell(model_name, task.id, float(got), str(value), sheet, r,
                                          get_column_letter(c + 1)))


def _header(sheet: str, header: list[Any], problems: list[Problem]) -> tuple[list[str], dict[int, str]]:
    where = f"sheet {sheet!r} row 1"
    found = tuple(str(h).strip() if h is not None else "" for h in header[:4])
    if found != HEADER:
        problems.append(Problem(where, f"header {preview(list(found), 240)} is not {list(HEADER)}",
                                "use the official template's first four columns, then one column per model"))
        return [], {}
    cols: dict[int, str] = {}
    for c, h in enumerate(header[4:], start=4):
        if h is None or not str(h).strip():
            continue
        name = str(h).strip()
        bad = name_problem(name)
        if bad:
            problems.append(Problem(f"{where} column {get_column_letter(c + 1)}", f"model name: {bad}"))
            continue
        cols[c] = name
    dups = [m for m, n in Counter(cols.values()).items() if n > 1]
    for m in dups:
        letters = [get_column_letter(c + 1) for c, v in cols.items() if v == m]
        problems.append(Problem(where, f"model column {preview(m)} appears more than once "
                                f"(columns {', '.join(letters)})", "give each model one column"))
    return sorted(set(cols.values())), cols
