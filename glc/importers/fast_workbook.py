"""A fast path for valid score workbooks: calamine (Rust, through fastexcel) reads the cells into
Arrow columns and numpy checks them a sheet at a time, with no Python object per numeric cell.

It gives exactly what the careful reader (``glc.importers.workbook``, openpyxl) gives for a
workbook it accepts: the same models, scores, raw values, sheets, rows and columns, the same
"no score" counts. It decides nothing else. Whenever a workbook holds anything the two readers
might see differently, or anything the careful reader would report, ``read_fast`` returns None
and the careful reader reads the file again and reports what it finds, with the same messages
and locations as always. That is the case for:

- formulas (cached values, and formulas that have none, are the careful reader's business);
- booleans and error values (calamine reads them as 1.0 and as empty), dates and times,
  CDATA and ``_xHHHH_`` escapes: found by a scan of the sheets' XML, the styles or the column types;
- numbers written so that the readers' raw values could differ (``80.0`` is 80.0 for openpyxl
  and 80 for calamine; 16 digits and more): every number not written plainly is checked;
- text in a column of numbers that calamine reads as a different number or raw value ("80.50");
- anything the careful reader reports: unknown or missing sheets, a wrong header, unknown or
  repeated tasks, values in unnamed columns, text that is not a number, values outside a
  metric's range, model columns that differ between sheets, a model not in the file.

Raw values follow openpyxl: a number written as an integer (``<v>80</v>``) reads as ``80``,
one with a fraction as Python's ``repr`` of the float; text cells are kept as written.

A small workbook (up to ``LIST_CELLS`` cells, a few models) is checked in Python, its sheets read
through DuckDB's scan of the Arrow stream fastexcel exports, and gives ``ScoreCell`` objects: no
pyarrow nor numpy, whose import is most of the time such a workbook takes. A bigger one is checked
with numpy a sheet at a time and gives one Arrow table. Both decide alike, cell for cell.
"""

from __future__ import annotations

import logging
import math
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glc.compiler.resolve import Task
from glc.importers.safety import name_problem
from glc.importers.scores import (
    COUNT_IN_PYTHON,
    Missing,
    ParsedScores,
    Problem,
    ScoreCell,
    is_sota_column,
    parse_value,
    pick_model,
    value_bounds,
)
from glc.importers.xlsx_guard import untyped_inline_tag

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

HEADER = ("No", "Task Name", "Task Short Name", "Metrics")
IGNORED_SHEET = "level-scores"
# cell markup only the careful reader handles: formulas, booleans and errors (calamine reads them
# as 1.0 and empty), values with attributes or namespace prefixes, CDATA (dates, also inline ones,
# come as dates from calamine and are refused by their column type)
_MARKUP = (b"<f>", b"<f ", b"<f/", b":f>", b":f ", b't="b"', b"t='b'", b't="e"', b"t='e'", b"<v ", b":v>",
           b"<![CDATA[")
_ESCAPE = re.compile(rb"_x[0-9A-Fa-f]{4}_")
# a boolean or error type written with white space around its '=' (valid XML): a boolean's <v> is a
# plain 0 or 1, which calamine reads as a number. Looked for only where some '=' has white space
# beside it, which markup written by spreadsheet programs never has
_SPACED_EQ = (b" =", b"= ", b"\t=", b"=\t", b"\n=", b"=\n", b"\r=", b"=\r")
_SPACED_TYPE = re.compile(rb"""\st\s*=\s*["'][be]["']""")
# Each scan of a 1,000-model workbook's 20 MB of sheet XML costs 10-15 ms, and ``_MARKUP`` and
# ``_SPACED_EQ`` were 20 of them. Scans for what those markers have in common come first and the
# markers themselves are looked for only where that is found: every formula tag holds "<f" or ":f",
# every boolean or error type (t="b", t = 'e', as _SPACED_TYPE reads them) a quote then b or e
_FORMULA = ((b"<f", (b"<f>", b"<f ", b"<f/")), (b":f", (b":f>", b":f ")))
_TYPE_VALUE = (b'"b', b"'b", b'"e', b"'e")
_TYPED = (b't="b"', b"t='b'", b't="e"', b"t='e'")
_OTHER_MARKUP = tuple(m for m in _MARKUP if m not in _TYPED and not any(m in group for _, group in _FORMULA))
# a number not written plainly; the others are checked one by one (_same_number). Plain: an integer
# of at most 15 digits (exact as a float), or a decimal of at most 16 digits whose fraction does not
# end in 0 (never read as an integral float, which openpyxl would render "80.0" and calamine "80")
_ODD_NUMBER = re.compile(rb"<v>(?!-?\d{1,15}</v>|-?(?=[\d.]{3,17}</v>)\d+\.\d*[1-9]</v>)([^<]*)</v>")
_STRICT_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# number formats: built-in ids of dates and times (and the locale ones), custom formats with date letters
_DATE_IDS = {*range(14, 23), *range(27, 37), *range(45, 59)}
_XF = re.compile(rb"<cellXfs\b.*?</cellXfs>", re.S)
_FMT_ID = re.compile(rb'numFmtId="(\d+)"')
_NUM_FMT = re.compile(rb'<numFmt\b[^>]*\bnumFmtId="(\d+)"[^>]*\bformatCode="([^"]*)"')
_DATE_CHARS = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|[dmhysDMHYS]')


class _Fallback(Exception):
    """The careful reader must read this workbook."""


_TEXT = re.compile(rb"<(?:\w+:)?t(?:\s[^>]*)?>([^<]*)</(?:\w+:)?t>")
_RUN = re.compile(rb"<(?:\w+:)?r[\s>]")


class _Texts:
    """Every text the workbook's cells hold (shared and inline strings), read when first asked.

    In a column of numbers and text calamine renders the numbers as text, and not exactly
    (0.001917441039952995 as "0.001917441"); their values come from a second read as numbers,
    which also turns text that reads as a number ("80.50") into one. A cell whose two readings
    differ is a number unless its text is written somewhere in the workbook as text (then the
    careful reader decides). Rich text (runs) splits texts: then every text counts as written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.found: set[str] | None = None
        self.runs = False

    def __contains__(self, text: str) -> bool:
        if self.found is None:
            import html

            self.found = set()
            with zipfile.ZipFile(self.path) as zf:
                for name in zf.namelist():
                    if name == "xl/sharedStrings.xml" or (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                        data = zf.read(name)
                        self.runs = self.runs or _RUN.search(data) is not None
                        self.found.update(html.unescape(t.decode("utf-8", "replace")) for t in _TEXT.findall(data))
        return self.runs or text in self.found


def read_fast(path: Path, by_sheet: dict[str, dict[tuple[str, str], str]], tasks: dict[str, Task],
              model: str | None, sha256: str, sheets: dict[str, bytes] | None = None) -> ParsedScores | None:
    """The parsed scores of a valid workbook, or None when the careful reader must decide. ``sheets``:
    the worksheets' XML by zip member, when the caller has unpacked them (``xlsx_guard.check_xlsx``)."""
    try:
        import fastexcel
    except ImportError:
        return None
    # calamine says, through Python logging, when a column has no value to guess a type from
    logging.getLogger("fastexcel").setLevel(logging.ERROR)
    try:
        if not _plain_markup(path, sheets):
            return None
        reader = fastexcel.read_excel(str(path))
        return _read(reader, path, by_sheet, tasks, model, sha256)
    except _Fallback:
        return None
    except Exception:  # noqa: BLE001 - whatever calamine makes of a file, the careful reader says what is wrong
        return None


def _plain_markup(path: Path, sheets: dict[str, bytes] | None = None) -> bool:
    """Whether the sheets hold only values both readers read alike (see the module docstring)."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        for name in names:
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                data = sheets[name] if sheets is not None and name in sheets else zf.read(name)
                if _markup_found(data) or (data.find(b"_x") >= 0 and _ESCAPE.search(data)):
                    return False
                if data.find(b"<is>") >= 0 and _untyped_inline_string(data):
                    return False
                if any(not _same_number(m.decode("ascii", "replace")) for m in _ODD_NUMBER.findall(data)):
                    return False
            elif name == "xl/sharedStrings.xml":
                data = zf.read(name)
                if _ESCAPE.search(data) or data.find(b"<![CDATA[") >= 0:
                    return False
        if "xl/styles.xml" in names and _date_styles(zf.read("xl/styles.xml")):
            return False
    return True


def _markup_found(data: bytes) -> bool:
    """Whether a sheet holds any of ``_MARKUP``, or a boolean or error type written with white space
    around its '=' (``_SPACED_EQ`` then ``_SPACED_TYPE``): the same answer as looking for each marker,
    in about half the scans (``_FORMULA``, ``_TYPE_VALUE``)."""
    for common, markers in _FORMULA:
        if data.find(common) >= 0 and any(data.find(m) >= 0 for m in markers):
            return True
    if any(data.find(m) >= 0 for m in _OTHER_MARKUP):
        return True
    if not any(data.find(v) >= 0 for v in _TYPE_VALUE):
        return False
    return any(data.find(m) >= 0 for m in _TYPED) or (
        any(data.find(m) >= 0 for m in _SPACED_EQ) and _SPACED_TYPE.search(data) is not None)


def _untyped_inline_string(data: bytes) -> bool:
    """Whether an inline string (``<is>``) lies in a cell not typed ``inlineStr``: calamine reads its
    text, openpyxl no value (``xlsx_guard.untyped_inline_tag``, which ``check_xlsx`` refuses by cell)."""
    return untyped_inline_tag(data) is not None


def _date_styles(styles: bytes) -> bool:
    """Whether a cell style may format a number as a date or time (conservatively: any such style)."""
    custom = {int(i): code.decode("utf-8", "replace") for i, code in _NUM_FMT.findall(styles)}
    for block in _XF.findall(styles):
        for fmt in map(int, _FMT_ID.findall(block)):
            if fmt in _DATE_IDS:
                return True
            code = custom.get(fmt)
            if code is not None and any(len(t) == 1 for t in _DATE_CHARS.findall(code.split(";")[0])):
                return True
    return False


def _same_number(text: str) -> bool:
    """Whether openpyxl (int or float by the text's form) and calamine (a float) give one raw value."""
    if not _STRICT_NUMBER.fullmatch(text):
        return False
    number = float(text)
    if not math.isfinite(number):
        return False
    as_read = str(float(text)) if any(c in text for c in ".eE") else str(int(text))
    return as_read == raw_number(number)


def raw_number(value: float) -> str:
    """The raw value openpyxl gives for a number cell written as calamine read it."""
    text = repr(value)
    if text.endswith(".0"):  # an integral float below 1e16 was written as an integer
        text = text[:-2]
        return "0" if text == "-0" else text
    return text


def column_letter(index: int) -> str:
    """``A`` for 0, ``AA`` for 26 (openpyxl's get_column_letter of index + 1)."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# Up to this many cells (rows x columns of every sheet) a workbook is checked in Python on lists
# (``_ListSheets``); past it with numpy on Arrow columns. Importing pyarrow and numpy costs about a
# quarter of a second of CPU; reading through DuckDB costs some 60 ms more than Arrow for one model
# and about 3 ms more per further model of the 699-task workbook (benchmarks/bench_interactive.py
# --only one, and the 1,000-model import keeps Arrow). 7,100 cells: up to 6 models of that workbook,
# whose scores (at most 4,194) the store also binds as lists (store.LIST_VALUES), so the import
# loads no pyarrow at all.
LIST_CELLS = 7_100


def _read(reader: Any, path: Path, by_sheet: dict[str, dict[tuple[str, str], str]], tasks: dict[str, Task],
          model: str | None, sha256: str) -> ParsedScores:
    parsed = ParsedScores(path=path, sha256=sha256, models=[])
    titles: list[str] = []
    for title in reader.sheet_names:
        if title.casefold() == IGNORED_SHEET:
            parsed.ignored_sheets.append(title)
        elif title not in by_sheet:
            raise _Fallback  # an unknown sheet
        else:
            titles.append(title)
    if set(titles) != set(by_sheet):
        raise _Fallback  # a missing sheet
    heads = {title: reader.load_sheet(title, header_row=None, skip_rows=0, n_rows=1) for title in titles}
    lists = sum(h.total_height * len(h.available_columns()) for h in heads.values()) <= LIST_CELLS
    sheet_models: dict[str, list[str]] = {}
    parts: list[Any] = []  # Arrow tables, or lists of ScoreCell
    missing: Counter[str] = Counter()
    texts = _Texts(path)
    with _ListSheets() if lists else _ArrowSheets() as sheets:
        for title in titles:
            models, part = _sheet(sheets, reader, title, heads[title], by_sheet[title], tasks, model, missing, texts)
            sheet_models[title] = models
            parts.append(part)
    all_models = sorted({m for ms in sheet_models.values() for m in ms})
    if any(sorted(ms) != all_models for ms in sheet_models.values()):
        raise _Fallback  # sheets with different model columns
    if not all_models or any(is_sota_column(m) for m in all_models):
        raise _Fallback  # nothing to import, or the SoTA table itself: the careful reader says why
    parsed.models = all_models if model is None else [pick_model(model, all_models, path)]
    parsed.missing = missing
    if lists:
        parsed.cell_list = [cell for part in parts for cell in part]
    else:
        import pyarrow as pa

        parsed.table = pa.concat_tables(parts)
    return parsed


SAFE_INT = 2**53  # integers up to this are exact as doubles


class _ListSheets:
    """Sheets as Python lists, checked in Python: columns read by DuckDB from the Arrow C stream a
    loaded sheet exports (no pyarrow), numbers as floats (NaN: no number)."""

    def __enter__(self) -> _ListSheets:
        from glc.engine.store import locked_down

        self.con = locked_down()  # cells are data: no file, no extension
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    def columns(self, sheet: Any, width: int) -> tuple[int, list[list[Any]]]:
        """(rows, columns) of a loaded sheet; refuses a sheet whose width is not ``width``."""
        rel = self.con.from_arrow(sheet)
        if len(rel.columns) != width:
            raise _Fallback
        rows = rel.fetchall()
        return len(rows), [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]

    def header(self, head: Any, width: int) -> list[Any]:
        n, cols = self.columns(head, width)
        return [col[0] for col in cols] if n else [None] * width

    def floats(self, column: list[Any]) -> list[float]:
        """A numeric column as floats (NaN for empty cells), as Arrow's cast to float64 gives them: an
        integer beyond the exact range is refused (the cast refuses to round)."""
        out = []
        for v in column:
            if v is None:
                out.append(math.nan)
            elif isinstance(v, int) and not -SAFE_INT <= v <= SAFE_INT:
                raise _Fallback
            else:
                out.append(float(v))
        return out

    def numbers(self, reader: Any, title: str, columns: list[int], n_rows: int) -> dict[int, list[float | None]]:
        """``_numbers_of`` in Python. Calamine's reasons for an empty number are not read here, and
        need not be: an error value (which reads as an empty cell) and a boolean were refused by the markup
        scan, however their type is written (``_MARKUP``, ``_SPACED_TYPE``), and a date, a
        time or a boolean in a column of text reads as text that is no number, refused either way."""
        if not columns:
            return {}
        sheet = reader.load_sheet(title, header_row=None, skip_rows=1, use_columns=columns,
                                  dtypes={c: "float" for c in columns})
        n, cols = self.columns(sheet, len(columns))
        if n != n_rows:
            raise _Fallback
        return dict(zip(columns, cols, strict=True))


class _ArrowSheets:
    """Sheets as Arrow columns, checked by numpy (big workbooks)."""

    def __enter__(self) -> _ArrowSheets:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _as_float(column: pa.ChunkedArray) -> Any:
    """A numeric column as float64 numbers (NaN for empty cells), as Arrow's cast to float64 gives
    them; numpy converts (no pyarrow.compute, a tenth of a second to import) unless an integer is
    out of the exact range, where the cast itself answers (it refuses to round)."""
    import pyarrow as pa

    values = column.to_numpy(zero_copy_only=False)
    if values.dtype.kind == "f" or (values.dtype.kind in "iu" and bool(
            ((values >= -SAFE_INT) & (values <= SAFE_INT)).all())):
        return values
    return column.cast(pa.float64()).to_numpy(zero_copy_only=False)


def _model_columns(header: list[Any], model: str | None, title: str) -> tuple[dict[int, str], list[str],
                                                                               dict[int, str]]:
    """From a sheet's first row: its model columns (index -> name), their names sorted, and the
    columns to import (all, or the one of ``model``)."""
    if tuple(str(h).strip() if h is not None else "" for h in header[:4]) != HEADER:
        raise _Fallback
    cols: dict[int, str] = {}
    for c, h in enumerate(header[4:], start=4):
        if h is None or not str(h).strip():
            continue
        name = str(h).strip()
        if name_problem(name):
            raise _Fallback
        cols[c] = name
    if len(set(cols.values())) != len(cols):
        raise _Fallback  # a model column twice
    models = sorted(set(cols.values()))
    wanted = cols
    if model is not None:
        chosen = pick_model(model, models, Path(title)) if models else None
        wanted = {c: m for c, m in cols.items() if m == chosen}
    return cols, models, wanted


def _task_rows(n_rows: int, has_number: Any, key_cols: list[list[Any]], texts: dict[int, list[Any]],
               keys: dict[tuple[str, str], str]) -> tuple[list[int], list[str]]:
    """The data rows that hold a task (indexes) and their tasks; empty rows are skipped, any other
    row must name a task of the sheet once."""
    rows: list[int] = []
    row_tasks: list[str] = []
    seen: set[str] = set()
    for r in range(n_rows):
        if not has_number[r] and all(_blank(col[r]) for col in key_cols) \
                and all(_blank(col[r]) for col in texts.values()):
            continue  # an empty row
        task_id = keys.get((str(key_cols[1][r]), str(key_cols[3][r])))
        if task_id is None or task_id in seen:
            raise _Fallback  # an unknown or repeated task
        seen.add(task_id)
        rows.append(r)
        row_tasks.append(task_id)
    return rows, row_tasks


def _text_cell(text: Any, number: float | None, task: Task, written: _Texts) -> tuple[float, str] | None:
    """The score and raw value of a cell of a column of numbers and text (read as text, and as a
    number: None when it is none); None for no score; refuses what the careful reader must decide."""
    if text is None and number is None:
        return None
    if text is None:
        raise _Fallback
    as_text = parse_value(text, task)  # the careful reader's rule for a text cell
    if number is None:  # text that is no number: "no score", or a problem
        if isinstance(as_text, Problem):
            raise _Fallback
        if isinstance(as_text, Missing):
            return None
        return float(as_text), text
    as_number = parse_value(number, task)
    if isinstance(as_text, float) and as_text == number and raw_number(number) == text:
        pass  # a number, or text that reads exactly as it: the same either way
    elif text in written or isinstance(as_number, Problem | Missing):
        raise _Fallback
    return number, raw_number(number)


def _sheet(sheets: _ListSheets | _ArrowSheets, reader: Any, title: str, head: Any, keys: dict[tuple[str, str], str],
           tasks: dict[str, Task], model: str | None, missing: Counter[str], written: _Texts) -> tuple[list[str], Any]:
    """One sheet: its model names and its score cells (ScoreCell's columns: a list of ScoreCell, or an
    Arrow table)."""
    info = head.available_columns()
    if [c.absolute_index for c in info] != list(range(len(info))):
        raise _Fallback  # the used range does not start in column A
    if any(c.dtype not in ("string", "null") for c in info):
        raise _Fallback  # a header cell that is not text
    width = len(info)
    if isinstance(sheets, _ListSheets):
        header = sheets.header(head, width)
    else:
        first = head.to_arrow()
        header = [first.column(i)[0].as_py() if first.num_rows else None for i in range(width)]
    cols, models, wanted = _model_columns(header, model, title)
    body = reader.load_sheet(title, header_row=None, skip_rows=1, schema_sample_rows=None,
                             dtypes={i: "string" for i in range(min(4, width))})
    kinds = [c.dtype for c in body.available_columns()]
    if isinstance(sheets, _ListSheets):
        return models, _sheet_lists(sheets, reader, title, body, kinds, width, keys, tasks, cols, wanted, missing,
                                    written)
    return models, _sheet_arrow(reader, title, body, kinds, width, keys, tasks, cols, wanted, missing, written)


def _sheet_lists(sheets: _ListSheets, reader: Any, title: str, body: Any, kinds: list[str], width: int,
                 keys: dict[tuple[str, str], str], tasks: dict[str, Task], cols: dict[int, str],
                 wanted: dict[int, str], missing: Counter[str], written: _Texts) -> list[ScoreCell]:
    """``_sheet_arrow`` in Python, for few cells: the same checks in the same order, ScoreCell objects."""
    if len(kinds) != width:
        raise _Fallback
    n_rows, data = sheets.columns(body, width)
    numbers: dict[int, list[float]] = {}  # columns of numbers
    texts: dict[int, list[Any]] = {}  # columns of text (and numbers rendered as text)
    for c in range(4, width):
        if kinds[c] in ("float", "int"):
            numbers[c] = sheets.floats(data[c])
        elif kinds[c] in ("string", "null"):
            texts[c] = data[c]
        else:
            raise _Fallback  # dates, times, booleans
    key_cols = data[:min(4, width)]
    key_cols += [[None] * n_rows for _ in range(4 - len(key_cols))]
    has_number = [any(not math.isnan(col[r]) for col in numbers.values()) for r in range(n_rows)]
    rows, row_tasks = _task_rows(n_rows, has_number, key_cols, texts, keys)
    unnamed = [c for c in range(4, width) if c not in cols]
    if rows and unnamed and (any(not math.isnan(numbers[c][r]) for c in unnamed if c in numbers for r in rows)
                             or any(not _blank(texts[c][r]) for c in unnamed if c in texts for r in rows)):
        raise _Fallback  # a value in a column without a model name

    absent = len(keys) - len(rows)
    for name in wanted.values():
        missing[name] += absent
    wanted_cols = list(wanted)
    if not rows or not wanted_cols:
        return []
    # task rows x wanted models (NaN: no number; columns of text are read cell by cell below)
    values = [[numbers[c][r] if c in numbers else math.nan for c in wanted_cols] for r in rows]
    if any(math.isinf(v) for line in values for v in line):
        raise _Fallback
    for line, task_id in zip(values, row_tasks, strict=True):
        lo, hi = value_bounds(tasks[task_id])
        if any(v < lo or v > hi for v in line):  # NaN compares false: no number, no problem
            raise _Fallback  # a value outside its metric's range
    raw: dict[tuple[int, int], str] = {}
    exact = sheets.numbers(reader, title, sorted(set(texts) & set(wanted_cols)), n_rows)
    for j, c in enumerate(wanted_cols):  # columns of numbers and text, cell by cell
        if c not in texts:
            continue
        for i, r in enumerate(rows):
            got = _text_cell(texts[c][r], exact[c][r], tasks[row_tasks[i]], written)
            if got is not None:
                values[i][j], raw[(i, j)] = got
    names = list(wanted.values())
    letters = [column_letter(c) for c in wanted_cols]
    for j, name in enumerate(names):
        missing[name] += sum(math.isnan(line[j]) for line in values)
    return [ScoreCell(names[j], row_tasks[i], v, raw[(i, j)] if (i, j) in raw else raw_number(v), title, r + 2,
                      letters[j])
            for i, (r, line) in enumerate(zip(rows, values, strict=True))  # row by row: the careful reader's order
            for j, v in enumerate(line) if not math.isnan(v)]


def _sheet_arrow(reader: Any, title: str, body: Any, kinds: list[str], width: int,
                 keys: dict[tuple[str, str], str], tasks: dict[str, Task], cols: dict[int, str],
                 wanted: dict[int, str], missing: Counter[str], written: _Texts) -> pa.Table:
    """The score cells of one sheet as an Arrow table, checked a sheet at a time by numpy."""
    import numpy as np
    import pyarrow as pa

    data = body.to_arrow()
    n_rows = data.num_rows
    if data.num_columns != width:
        raise _Fallback
    numbers = np.full((n_rows, width), np.nan)
    texts: dict[int, list[Any]] = {}  # columns of text (and numbers rendered as text)
    for c in range(4, width):
        if kinds[c] in ("float", "int"):
            numbers[:, c] = _as_float(data.column(c))
        elif kinds[c] in ("string", "null"):
            texts[c] = data.column(c).to_pylist()
        else:
            raise _Fallback  # dates, times, booleans
    key_cols = [data.column(i).to_pylist() for i in range(min(4, width))]
    key_cols += [[None] * n_rows for _ in range(4 - len(key_cols))]
    has_number = np.logical_not(np.isnan(numbers[:, 4:]).all(axis=1)) if width > 4 else np.zeros(n_rows, dtype=bool)
    rows, row_tasks = _task_rows(n_rows, has_number, key_cols, texts, keys)
    unnamed = [c for c in range(4, width) if c not in cols]
    if rows and unnamed:
        idx = np.asarray(rows)
        if not np.isnan(numbers[np.ix_(idx, np.asarray(unnamed))]).all() or any(
                not _blank(texts[c][r]) for c in unnamed if c in texts for r in rows):
            raise _Fallback  # a value in a column without a model name

    absent = len(keys) - len(rows)
    for name in wanted.values():
        missing[name] += absent
    wanted_cols = list(wanted)
    if not rows or not wanted_cols:
        return _empty_cells()
    idx = np.asarray(rows)
    values = numbers[np.ix_(idx, np.asarray(wanted_cols))]  # task rows x wanted models
    present = ~np.isnan(values)
    if np.isinf(values).any():
        raise _Fallback
    bounds = np.array([value_bounds(tasks[t]) for t in row_tasks], dtype=float).reshape(-1, 2)
    lo, hi = bounds[:, 0], bounds[:, 1]
    if (present & ((values < lo[:, None]) | (values > hi[:, None]))).any():
        raise _Fallback  # a value outside its metric's range
    raw: dict[tuple[int, int], str] = {}
    exact = _numbers_of(reader, title, sorted(set(texts) & set(wanted_cols)), n_rows)
    for j, c in enumerate(wanted_cols):  # columns of numbers and text, cell by cell
        if c not in texts:
            continue
        for i, r in enumerate(rows):
            got = _text_cell(texts[c][r], exact[c][r], tasks[row_tasks[i]], written)
            if got is not None:
                values[i, j], raw[(i, j)] = got
                present[i, j] = True
    for j, name in enumerate(wanted.values()):
        missing[name] += int((~present[:, j]).sum())
    vi, vj = np.nonzero(present)  # row-major: the careful reader's order (row, then column)
    scores = values[vi, vj]
    raws = [raw[(i, j)] if (i, j) in raw else raw_number(v)
            for i, j, v in zip(vi.tolist(), vj.tolist(), scores.tolist(), strict=True)] if raw else _raw_numbers(scores)
    return pa.table({
        "model": _repeat(list(wanted.values()), vj),
        "task_id": _repeat(row_tasks, vi),
        "score": pa.array(scores, pa.float64()),
        "raw_value": pa.array(raws, pa.string()),
        "sheet": pa.repeat(pa.scalar(title, pa.string()), len(raws)),
        "row_no": pa.array((idx[vi] + 2).astype(np.int32), pa.int32()),
        "column_name": _repeat([column_letter(c) for c in wanted_cols], vj)})


def _repeat(names: list[str], index: np.ndarray) -> pa.Array:
    """``names[i]`` for each i of ``index``, as Arrow strings: Arrow's take for many scores (they are
    counted with pyarrow.compute anyway, ``ParsedScores.counts``), numpy indexing for few (pyarrow.compute
    takes a tenth of a second to import)."""
    import numpy as np
    import pyarrow as pa

    if len(index) > COUNT_IN_PYTHON:
        return pa.array(names, pa.string()).take(pa.array(index))
    return pa.array(np.asarray(names, dtype=object)[index], pa.string())


def _numbers_of(reader: Any, title: str, columns: list[int], n_rows: int) -> dict[int, list[float | None]]:
    """The given columns read as numbers: exact values of number cells (and of text that reads as a
    number), None for empty cells and for text that is no number; anything else refuses."""
    if not columns:
        return {}
    sheet = reader.load_sheet(title, header_row=None, skip_rows=1, use_columns=columns,
                              dtypes={c: "float" for c in columns})
    data, errors = sheet.to_arrow_with_errors()
    if data.num_rows != n_rows or data.num_columns != len(columns):
        raise _Fallback
    for error in (errors.errors if errors else []):
        if not error.detail.startswith("Expected float but got 'String("):
            raise _Fallback  # a date, a time, an error value
    return {c: data.column(k).to_pylist() for k, c in enumerate(columns)}


def _raw_numbers(values: np.ndarray) -> list[str]:
    """``raw_number`` of every value: repr in one pass, integral values cut afterwards."""
    import numpy as np

    floats = values.tolist()
    out = list(map(repr, floats))
    for i in np.nonzero((np.floor(values) == values) & (np.abs(values) < 1e16))[0].tolist():
        out[i] = raw_number(floats[i])
    return out


def _empty_cells() -> pa.Table:
    import pyarrow as pa

    return pa.table({"model": pa.array([], pa.string()), "task_id": pa.array([], pa.string()),
                     "score": pa.array([], pa.float64()), "raw_value": pa.array([], pa.string()),
                     "sheet": pa.array([], pa.string()), "row_no": pa.array([], pa.int32()),
                     "column_name": pa.array([], pa.string())})
