"""Leaderboard rows from ``level_scores`` and their text forms (table, json, csv, markdown)."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from glc.compiler.contracts import PUBLIC, quote_ident

if TYPE_CHECKING:
    import duckdb

COLUMNS = PUBLIC["level_scores"].column_names
FORMATS = ("table", "json", "csv", "markdown")


def leaderboard_rows(con: duckdb.DuckDBPyConnection, variant: str, scope: str) -> list[dict[str, Any]]:
    """Rows of ``level_scores`` for one board, best first (rank order of the leaderboard model)."""
    # quoted column names from the contract, the board's names as bound values
    cols = ", ".join(f"b.{quote_ident(c)}" for c in COLUMNS)
    rows = con.execute(f"SELECT {cols} FROM leaderboard AS b WHERE b.variant = ? AND b.scope = ? "
                       "ORDER BY b.rank, b.model", [variant, scope]).fetchall()
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


def leaderboard_intervals(con: duckdb.DuckDBPyConnection, variant: str,
                          scope: str) -> dict[str, tuple[float | None, float | None]]:
    """Bootstrap interval of each model's ranking score (the score of the level it reached),
    when ``glc bootstrap`` has stored intervals; empty otherwise."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "level_intervals" not in tables:
        return {}
    rows = con.execute(
        "SELECT b.model, CASE b.level WHEN 5 THEN i.level_5_lo WHEN 4 THEN i.level_4_lo WHEN 3 THEN i.level_3_lo "
        "ELSE i.level_2_lo END, CASE b.level WHEN 5 THEN i.level_5_hi WHEN 4 THEN i.level_4_hi "
        "WHEN 3 THEN i.level_3_hi ELSE i.level_2_hi END FROM leaderboard AS b JOIN level_intervals AS i "
        "ON i.model = b.model AND i.variant = b.variant AND i.scope = b.scope WHERE b.variant = ? AND b.scope = ?",
        [variant, scope]).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def mark_overlaps(rows: list[dict[str, Any]], intervals: dict[str, tuple[float | None, float | None]]) -> list[str]:
    """'~' for a model whose interval overlaps the next-ranked model's at the same level, else ''."""
    marks = [""] * len(rows)
    for i in range(len(rows) - 1):
        a, b = intervals.get(rows[i]["model"]), intervals.get(rows[i + 1]["model"])
        if a and b and rows[i]["level"] == rows[i + 1]["level"]:
            (a_lo, a_hi), (b_lo, b_hi) = a, b
            if a_lo is not None and a_hi is not None and b_lo is not None and b_hi is not None and a_lo <= b_hi:
                marks[i] = marks[i + 1] = "~"
    return marks


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def render(rows: list[dict[str, Any]], fmt: str,
           intervals: dict[str, tuple[float | None, float | None]] | None = None) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue().rstrip("\n")
    head = ["#", *COLUMNS]
    body = [[str(i), *[_fmt(r[c]) for c in COLUMNS]] for i, r in enumerate(rows, start=1)]
    if intervals:  # bootstrap intervals of the ranking score; '~' marks ranks that overlap
        head.append("interval")
        marks = mark_overlaps(rows, intervals)
        for row, r, mark in zip(body, rows, marks, strict=True):
            lo, hi = intervals.get(r["model"], (None, None))
            row.append("-" if lo is None else f"[{lo:.4f}, {hi:.4f}]{' ~' if mark else ''}")
    if fmt == "markdown":
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(lines)
