"""CSV and TSV tables read by polars, with every row holding the header's number of fields.

polars fills the missing cells of a short row with nulls, so a row that lost its last field (a
score, a prediction) reads as one whose cell is empty, which importers take for "no value"; a row
with a field too many it refuses without naming the row. ``read_csv`` reads with polars and, only
when the table has a null in its last column or polars saw a long row, looks for the first row
whose field count differs with the ``csv`` module, and refuses it at its line.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from glc.compiler.errors import GlcError
from glc.importers.safety import clip
from glc.words import plural

if TYPE_CHECKING:
    import polars as pl

HINT = ("give every row the header's columns (an empty field, as in 'a,b,', is an empty cell); "
        "nothing was imported")


def read_csv(path: Path, separator: str = ",") -> pl.DataFrame:
    """The table, every cell a string (polars' exceptions pass through, for the caller's message);
    GlcError at the first row with more or fewer fields than the header."""
    import polars as pl

    try:
        frame = pl.read_csv(path, separator=separator, infer_schema=False, encoding="utf8", quote_char='"')
    except pl.exceptions.ComputeError as exc:
        if "more fields" in str(exc):  # polars names no row: find it
            ragged_row(path, separator)
        raise
    if frame.width and frame[:, -1].null_count():  # a short row reads as one whose last cells are empty
        ragged_row(path, separator)
    return frame


def ragged_row(path: Path, separator: str = ",") -> None:
    """GlcError at the first row (after the header; a blank line is no row) whose number of fields
    is not the header's."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter=separator)
        header = -1
        try:
            for row in reader:
                if not row or len(row) == header:
                    continue
                if header < 0:
                    header = len(row)
                    continue
                break
            else:
                return
        except csv.Error:  # a field past the csv module's limit: polars' reading stands
            return
    raise GlcError(f"row has {plural(len(row), 'field')}, the header has {header}",
                   location=f"{clip(str(path))}:{reader.line_num}", hint=HINT)
