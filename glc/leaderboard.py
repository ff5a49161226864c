"""Leaderboard rows from ``level_scores`` and their text forms (table, json, csv, markdown)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import duckdb
from sqlglot import exp

from compiler.contracts import PUBLIC
from glc.store import DIALECT

COLUMNS = PUBLIC["level_scores"].column_names
FORMATS = ("table", "json", "csv", "markdown")


def leaderboard_rows(con: duckdb.DuckDBPyConnection, variant: str, scope: str) -> list[dict[str, Any]]:
    """Rows of ``level_scores`` for one board, best first (rank order of the leaderboard model)."""
    query = (exp.select(*[exp.column(c, table="b", quoted=True) for c in COLUMNS])
             .from_(exp.alias_(exp.to_table("leaderboard"), "b", table=True))
             .where(exp.and_(exp.EQ(this=exp.column("variant", "b"), expression=exp.convert(variant)),
                             exp.EQ(this=exp.column("scope", "b"), expression=exp.convert(scope))))
             .order_by(exp.column("rank", "b"), exp.column("model", "b")))
    rel = con.sql(query.sql(DIALECT))
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def render(rows: list[dict[str, Any]], fmt: str) -> str:
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
    if fmt == "markdown":
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(lines)
