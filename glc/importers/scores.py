"""Task-level scores being imported: cell values, validation against metric ranges, storage.

Readers (``workbook``, ``table_file``) turn a file into ``ParsedScores`` or raise
``ImportErrors`` listing every bad cell with its sheet/row/column. ``store_all_scores``
replaces the imported models' rows in one transaction, so a failed import changes nothing.

One rule for score values, in every reader (workbook cells, CSV/Parquet ``score`` fields):

1. "No score" is decided by what is written, never by arithmetic: an empty cell, a null, or text
   that is one of ``MISSING_TOKENS`` once trimmed and case-folded (``inf``, ``∞``, ``N/A``, ``-``,
   ``nan``, ``none``, ...).
2. Anything else must be a finite number: a numeric cell, or text that is a plain decimal literal.
   A value that is numerically non-finite without being one of those spelled tokens is refused with
   its location: a literal such as ``1e400`` or ``-1e999`` (or an integer beyond the double range)
   "overflows to infinity"; a numeric cell holding infinity or NaN (a Parquet float column, a
   workbook number) is refused too. Write an empty cell, null or a token for "no score".
3. The finite number must lie in the metric's declared ``range: {min, max}``.

The predictions importer applies rule 2 to the numbers inside predictions: JSON numbers that
overflow, the non-JSON constants ``NaN``/``Infinity`` and non-finite Parquet floats are refused.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from glc.compiler.contracts import STORE
from glc.compiler.errors import GlcError
from glc.compiler.resolve import Project, Task
from glc.engine.store import insert_arrow, insert_rows, missing_tables, transaction
from glc.importers.safety import clip, preview, suggest
from glc.words import plural

MISSING_TOKENS = {"", "inf", "+inf", "-inf", "∞", "n/a", "na", "-", "nan", "none", "null"}
NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")  # ASCII digits: float() also reads "٥٠"
MAX_REPORTED = 25
NONFINITE_HINT = ("for no score leave the cell empty or write one of: inf, ∞, N/A, -; "
                  "otherwise write a finite number in the metric's unit")


CELL_COLUMNS = ("model", "task_id", "score", "raw_value", "sheet", "row_no", "column_name")


@dataclass(frozen=True)
class ScoreCell:
    model: str
    task_id: str
    score: float
    raw_value: str
    sheet: str | None
    row_no: int
    column_name: str


@dataclass
class ParsedScores:
    """What a reader accepted. Cells are ``ScoreCell`` objects, or, from the fast workbook reader,
    one Arrow table with the same columns (``table``; ``cells`` makes the objects when asked)."""

    path: Path
    sha256: str
    models: list[str]
    cell_list: list[ScoreCell] = field(default_factory=list)
    missing: Counter[str] = field(default_factory=Counter)
    ignored_sheets: list[str] = field(default_factory=list)
    table: Any = None  # pyarrow.Table of CELL_COLUMNS, or None

    @property
    def cells(self) -> list[ScoreCell]:
        if self.table is not None and not self.cell_list:
            cols = [self.table.column(c).to_pylist() for c in CELL_COLUMNS]
            self.cell_list = [ScoreCell(*row) for row in zip(*cols, strict=True)]
        return self.cell_list

    def counts(self) -> Counter[str]:
        """Scores per model."""
        if self.table is not None:
            if self.table.num_rows <= COUNT_IN_PYTHON:  # no pyarrow.compute (a tenth of a second to import)
                return Counter(self.table.column("model").to_pylist())
            counted = self.table.column("model").value_counts()
            return Counter(dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(),
                                    strict=True)))
        return Counter(c.model for c in self.cell_list)


# up to this many scores, counting them per model in Python costs less than importing pyarrow.compute
COUNT_IN_PYTHON = 50_000


@dataclass(frozen=True)
class Problem:
    where: str
    message: str
    hint: str | None = None


class ImportErrors(GlcError):
    """Every problem found in one file; nothing of the file is stored."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s); nothing from this file was stored", location=str(path))

    def format(self) -> str:
        lines = [f"{clip(self.location or '')}: {self.message}"]
        for p in self.problems[:MAX_REPORTED]:  # clip: the last guard against a huge or unprintable echo
            lines.append(f"  {clip(p.where)}: {clip(p.message)}" + (f"\n    hint: {clip(p.hint)}" if p.hint else ""))
        if len(self.problems) > MAX_REPORTED:
            lines.append(f"  ... and {len(self.problems) - MAX_REPORTED} more")
        return "\n".join(lines)


class Missing:
    """Marker for a cell that means "no score"."""


MISSING = Missing()


def to_number(value: Any) -> float | Missing | Problem:
    """Rules 1 and 2 of the module docstring: a finite number, MISSING, or the problem (no location)."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return Problem("", f"{preview(value)} is not a number", "write the bare number in the metric's unit")
    if isinstance(value, int | float):
        return _finite(value)
    text = str(value).strip()
    if text.casefold() in MISSING_TOKENS:
        return MISSING
    if not NUMBER.match(text):
        hint = "write the bare number in the metric's unit"
        if text.endswith("%") and NUMBER.match(text[:-1].strip()):
            hint = f"write {text[:-1].strip()} (percent metrics are stored as numbers 0-100)"
        return Problem("", f"{preview(text)} is not a number", hint)
    number = float(text)
    if math.isinf(number):
        return Problem("", f"{preview(text)} overflows to infinity", NONFINITE_HINT)
    return number


def _finite(value: int | float) -> float | Problem:
    """A numeric cell as a float; infinity and NaN in a numeric cell are not a spelled "no score"."""
    try:
        number = float(value)
    except OverflowError:
        return Problem("", f"the number {preview(value)} overflows to infinity", NONFINITE_HINT)
    if math.isnan(number):
        return Problem("", "the numeric cell holds NaN (not a number)", NONFINITE_HINT)
    if math.isinf(number):
        return Problem("", f"the numeric cell holds {number} (it overflows to infinity)", NONFINITE_HINT)
    return number


def parse_value(value: Any, task: Task) -> float | Missing | Problem:
    """A raw metric value, MISSING, or the problem with it (without a location); rules in the module docstring."""
    number = to_number(value)
    if not isinstance(number, float):
        return number
    m = task.metric
    lo, hi = m.range.min, m.range.max
    if lo is not None and number < lo:
        kind = "a distance" if m.direction == "lower" else "this metric"
        return Problem("", f"{number:g} is below the minimum {lo:g} of metric '{m.name}' ({kind} cannot be negative)"
                       if lo == 0 else f"{number:g} is below the minimum {lo:g} of metric '{m.name}'",
                       "check the sign and the unit of the value")
    if hi is not None and number > hi:
        return Problem("", f"{number:g} is above the maximum {hi:g} of metric '{m.name}'",
                       "check the unit: percent metrics are 0-100")
    if m.normalization.kind == "identity" and abs(number) > IDENTITY_LIMIT:
        return Problem("", f"{number:g} is beyond +-{IDENTITY_LIMIT:g}, the largest value metric '{m.name}' may have: "
                       "its normalization is identity, so the level sums add the value itself",
                       "check the unit, or give the metric a normalization that maps its values to 0-100")
    return number


#: The largest magnitude of a value of a metric normalized by ``identity``: its normalized score is
#: the value itself, and the level sums add normalized scores as exact counts of 2^-52 in a HUGEINT
#: (see sql/macros/aggregates.sql, level_units), which hold thousands of such values.
IDENTITY_LIMIT = 1e15


def value_bounds(task: Task) -> tuple[float, float]:
    """The smallest and largest value ``parse_value`` accepts for ``task``'s metric."""
    m = task.metric
    lo = -math.inf if m.range.min is None else m.range.min
    hi = math.inf if m.range.max is None else m.range.max
    if m.normalization.kind == "identity":
        lo, hi = max(lo, -IDENTITY_LIMIT), min(hi, IDENTITY_LIMIT)
    return lo, hi


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fd_sha256(fd: int) -> str:
    """sha256 of what is left to read of the open file ``fd`` (read in 1 MiB chunks; OSError passes)."""
    h = hashlib.sha256()
    while chunk := os.read(fd, 1 << 20):
        h.update(chunk)
    return h.hexdigest()


def pick_model(requested: str, available: list[str], path: Path) -> str:
    """The column/model matching ``requested`` exactly, else case-insensitively."""
    if requested in available:
        return requested
    folded = [m for m in available if m.casefold() == requested.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise GlcError(f"model {preview(requested)} is not in this file", location=clip(str(path)),
                   hint=suggest(requested, available) or clip("models in the file: " + ", ".join(available)))


_SOTA_NAME = re.compile(r"^(sota|state of the art|specialist sota|level 1)"
                        r"( (performance|result|results|score|scores|value|values))?$")


def is_sota_column(name: str) -> bool:
    """Whether a model column/name is the specialist SoTA (``SoTA Performance`` in the official
    ``sota_result.xlsx``, ``SoTA``, ``State-of-the-art``...): the Level-1 reference, not a model."""
    return bool(_SOTA_NAME.match(re.sub(r"[\s_\-]+", " ", name.strip().casefold())))


def sota_as_model_problem(names: list[str], path: Path, where: str) -> Problem | None:
    """The problem to refuse when a SoTA column would be imported as a model, with the command that
    records a SoTA table as what it is; None when no such column is imported."""
    sota = [m for m in names if is_sota_column(m)]
    if not sota:
        return None
    others = [m for m in names if m not in sota]
    rest = (f"; to import the model column(s) beside it, name one: --model {preview(others[0])}" if others else "")
    return Problem(where, f"column {preview(sota[0])} holds the specialist SoTA (Level-1), not a model: imported, it "
                          "would rank first on every board",
                   f"to use these values as each task's SoTA, regenerate the task specs from it: "
                   f"`glc catalog generate --from {clip(str(path))}`{rest}")


def task_index(project: Project) -> dict[tuple[str, str, str], Task]:
    """Tasks by their official key (sheet, task name, metric string)."""
    return {(t.spec.official.sheet, t.spec.name, t.spec.official.metric): t
            for t in project.tasks if t.spec.official is not None}


@dataclass(frozen=True)
class ImportSummary:
    path: Path
    models: list[str]
    n_scores: dict[str, int]
    n_missing: dict[str, int]
    ignored_sheets: list[str]

    def describe(self) -> str:
        lines = [f"imported {plural(len(self.models), 'model')} from {self.path}"]
        for m in self.models:
            lines.append(f"  {m}: {plural(self.n_scores.get(m, 0), 'score')}, "
                         f"{self.n_missing.get(m, 0)} without a score")
        if self.ignored_sheets:
            lines.append("  ignored sheet(s): " + ", ".join(self.ignored_sheets))
        return "\n".join(lines)


def store_all_scores(con: duckdb.DuckDBPyConnection, files: list[ParsedScores]) -> list[ImportSummary]:
    """Replace the models' imported scores of every parsed file, in order (a model in two files keeps the
    later file's), all in one transaction: all files or none."""
    missing = missing_tables(con)
    with transaction(con):
        if missing:  # a new store's tables: in the import's commit (one sync of the log, not one per table)
            con.execute(";\n".join(missing))
        return [_replace_scores(con, parsed) for parsed in files]


def _replace_scores(con: duckdb.DuckDBPyConnection, parsed: ParsedScores) -> ImportSummary:
    """One file's models' scores replaced, inside the caller's transaction."""
    import_id = uuid.uuid4().hex[:12]
    now = datetime.now(UTC).replace(tzinfo=None)
    counts = parsed.counts()
    source = str(parsed.path)
    model_rows = [(m, source, parsed.sha256, counts[m], parsed.missing[m], now, import_id) for m in parsed.models]
    for table in ("imported_scores", "imported_models"):  # the models' names as one bound list
        con.execute(f"DELETE FROM {table} WHERE list_contains(?::VARCHAR[], model)", [parsed.models])
    if parsed.table is not None:  # columns as read (the fast readers): no row objects
        import pyarrow as pa

        n = parsed.table.num_rows
        insert_arrow(con, "imported_scores", parsed.table.append_column("source_file", pa.repeat(
            pa.scalar(source, pa.string()), n)).append_column("import_id", pa.repeat(
                pa.scalar(import_id, pa.string()), n)))
    else:
        insert_rows(con, STORE["imported_scores"],
                    [(c.model, c.task_id, c.score, c.raw_value, source, c.sheet, c.row_no, c.column_name,
                      import_id) for c in parsed.cells])
    insert_rows(con, STORE["imported_models"], model_rows)
    return ImportSummary(parsed.path, parsed.models, dict(counts), dict(parsed.missing), parsed.ignored_sheets)
