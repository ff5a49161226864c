"""``glc diff``: two level variants, two scopes or two stored runs side by side.

A side is ``variant:NAME``, ``scope:NAME`` or ``run:ID`` (``run:latest`` and ``run:previous``
name the last two runs that changed results); what a side does not name comes from the
options (or the defaults). For every model the two level rows are compared, and the tasks
that cause the difference are listed: tasks whose win differs (two variants), tasks only one
scope holds (two scopes), or tasks of the boards compared whose normalized score or result
against SoTA changed (two runs; a task since removed from the catalog included, and whether the two
runs were built from different specs: a scope that gained or lost tasks moves every level with no
task result changing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from glc.compiler.contracts import quote_ident
from glc.compiler.errors import GlcError
from glc.compiler.plan import CompiledProject
from glc.compiler.resolve import Project, lookup
from glc.engine.build import LIVE_RUN

LEVELS = ("level_2", "level_3", "level_4", "level_5")
TOP = 5


@dataclass(frozen=True)
class Side:
    variant: str
    scope: str
    run: str | None  # None: the current build

    def label(self) -> str:
        return f"{self.variant}/{self.scope}" + (f"@{self.run}" if self.run else "")


def parse_side(text: str, project: Project, con: duckdb.DuckDBPyConnection, variant: str, scope: str) -> Side:
    kind, sep, value = text.partition(":")
    if not sep or kind not in ("variant", "scope", "run"):
        raise GlcError(f"cannot read '{text}'", hint="write variant:NAME, scope:NAME or run:ID (run:latest)")
    if kind == "variant":
        return Side(project.variant(value).name, scope, None)
    if kind == "scope":
        return Side(variant, project.scope(value).name, None)
    live = live_run(con)
    runs = [r[0] for r in con.execute(
        "SELECT r.run_id FROM glc_runs AS r WHERE r.run_id IN (SELECT DISTINCT run_id FROM glc_run_levels) "
        "OR r.run_id = ? ORDER BY r.started_at DESC", [live or ""]).fetchall()]
    named = {"latest": runs[0] if runs else None, "previous": runs[1] if len(runs) > 1 else None}
    run = named.get(value) or lookup(value, {r: r for r in runs}, "run")
    return Side(variant, scope, run)


def live_run(con: duckdb.DuckDBPyConnection) -> str | None:
    """The run whose results the live tables hold (its snapshot is written when a later run replaces
    them: glc.engine.build)."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "glc_node_state" not in tables:
        return None
    row = con.execute("SELECT state_key FROM glc_node_state WHERE node = ?", [LIVE_RUN]).fetchone()
    return row[0] if row else None


def _stored(con: duckdb.DuckDBPyConnection, run: str | None) -> str | None:
    """The run to read from the run history, or None for the live tables."""
    return None if run is None or run == live_run(con) else run


def _levels(con: duckdb.DuckDBPyConnection, side: Side) -> dict[str, dict[str, Any]]:
    run = _stored(con, side.run)
    table = "level_scores" if run is None else "glc_run_levels"
    # the level without ties: in level_scores; the run history keeps none (NULL: not known)
    ties = "level_without_ties" if run is None else "CAST(NULL AS INTEGER) AS level_without_ties"
    sql = (f"SELECT model, level, {ties}, {', '.join(LEVELS)} FROM {table} WHERE variant = ? AND scope = ?"
           + (" AND run_id = ?" if run else ""))
    params = [side.variant, side.scope] + ([run] if run else [])
    rel = con.execute(sql, params)
    cols = [d[0] for d in rel.description]
    return {r[0]: dict(zip(cols, r, strict=True)) for r in rel.fetchall()}


def _causes(con: duckdb.DuckDBPyConnection, compiled: CompiledProject, a: Side, b: Side
            ) -> dict[str, list[dict[str, Any]]]:
    if a.run is not None or b.run is not None:
        # a side that is not a run (the current build) reads no task rows, as before; the live run's
        # rows are the task_results table
        def tasks(run: str | None) -> tuple[str, list[str]]:
            if run is not None and _stored(con, run) is None:
                return "(SELECT model, task_id, sigma, vs_sota FROM task_results)", []
            return "(SELECT * FROM glc_run_tasks WHERE run_id = ?)", [run or ""]

        (qa, pa), (qb, pb) = tasks(a.run), tasks(b.run)
        # only the tasks of the boards compared (a change elsewhere moves none of their numbers, and would
        # crowd the causes out of the TOP listed), and tasks no longer in the catalog (removed since: their
        # scopes are unknown, and a removed task changes a denominator)
        rows = con.execute(
            "SELECT coalesce(x.model, y.model), coalesce(x.task_id, y.task_id), x.sigma, y.sigma, "
            f"x.vs_sota, y.vs_sota FROM {qa} AS x FULL JOIN {qb} AS y ON x.model = y.model AND x.task_id = y.task_id "
            "WHERE (x.sigma IS DISTINCT FROM y.sigma OR x.vs_sota IS DISTINCT FROM y.vs_sota) "
            "AND (coalesce(x.task_id, y.task_id) IN (SELECT st.task_id FROM scope_tasks AS st "
            "WHERE st.scope IN (?, ?)) OR NOT coalesce(x.task_id, y.task_id) IN (SELECT t.task_id FROM tasks AS t)) "
            "ORDER BY abs(coalesce(y.sigma, 0) - coalesce(x.sigma, 0)) DESC", [*pa, *pb, a.scope, b.scope]).fetchall()
        what = [{"model": r[0], "task_id": r[1], "sigma_a": r[2], "sigma_b": r[3], "vs_sota_a": r[4],
                 "vs_sota_b": r[5]} for r in rows]
    elif a.variant != b.variant:
        wins_a, wins_b = (quote_ident(compiled.node("task_wins", variant=v).name) for v in (a.variant, b.variant))
        rows = con.execute(
            f"SELECT x.model, x.task_id, x.sigma, x.win, y.win FROM {wins_a} AS x "
            f"JOIN {wins_b} AS y ON x.model = y.model AND x.task_id = y.task_id "
            "JOIN scope_tasks AS s ON s.task_id = x.task_id AND s.scope = ? "
            "WHERE x.win <> y.win ORDER BY x.sigma DESC", [a.scope]).fetchall()
        what = [{"model": r[0], "task_id": r[1], "sigma": r[2], "win_a": r[3], "win_b": r[4]} for r in rows]
    else:
        rows = con.execute(
            "SELECT w.model, w.task_id, w.sigma, w.win, sa.scope IS NOT NULL, sb.scope IS NOT NULL "
            f"FROM {quote_ident(compiled.node('task_wins', variant=a.variant).name)} AS w "
            "LEFT JOIN scope_tasks AS sa ON sa.task_id = w.task_id AND sa.scope = ? "
            "LEFT JOIN scope_tasks AS sb ON sb.task_id = w.task_id AND sb.scope = ? "
            "WHERE (sa.scope IS NULL) <> (sb.scope IS NULL) AND w.sigma > 0 ORDER BY w.sigma DESC",
            [a.scope, b.scope]).fetchall()
        what = [{"model": r[0], "task_id": r[1], "sigma": r[2], "win": r[3], "in_a": r[4], "in_b": r[5]}
                for r in rows]
    out: dict[str, list[dict[str, Any]]] = {}
    for row in what:
        lst = out.setdefault(row.pop("model"), [])
        if len(lst) < TOP:
            lst.append(row)
    return out


def _specs_changed(con: duckdb.DuckDBPyConnection, a: Side, b: Side) -> bool | None:
    """Two runs: whether they were built from different specs (manifest fingerprints), which can change a
    board's task set or level rules with no task result changing; None unless both sides are runs."""
    if a.run is None or b.run is None:
        return None
    prints = dict(con.execute("SELECT run_id, manifest_fingerprint FROM glc_runs WHERE run_id IN (?, ?)",
                              [a.run, b.run]).fetchall())
    return prints.get(a.run) != prints.get(b.run)


def diff(con: duckdb.DuckDBPyConnection, compiled: CompiledProject, a: Side, b: Side) -> list[dict[str, Any]]:
    """One row per model: both levels, the score differences (b - a) and the causing tasks; between two runs,
    also whether their specs differ (``specs_changed``)."""
    la, lb = _levels(con, a), _levels(con, b)
    causes = _causes(con, compiled, a, b)
    specs_changed = _specs_changed(con, a, b)
    rows: list[dict[str, Any]] = []
    for model in sorted(set(la) | set(lb)):
        x, y = la.get(model, {}), lb.get(model, {})
        delta = {k: (None if x.get(k) is None or y.get(k) is None else y[k] - x[k]) for k in LEVELS}
        rows.append({"model": model, "a": a.label(), "b": b.label(), "level_a": x.get("level"),
                     "level_b": y.get("level"), "level_without_ties_a": x.get("level_without_ties"),
                     "level_without_ties_b": y.get("level_without_ties"),
                     "level_changed": x.get("level") != y.get("level"),
                     "delta": delta, "tasks": causes.get(model, []),
                     **({} if specs_changed is None else {"specs_changed": specs_changed})})
    rows.sort(key=lambda r: (not r["level_changed"], -max(abs(v or 0) for v in r["delta"].values()), r["model"]))
    return rows


def _level_text(level: int | None, without_ties: int | None) -> str:
    """``Level-4``, or ``Level-4 (Level-2 without ties)`` for a level that rests on ties with the SoTA."""
    if level is None:
        return "-"
    ties = f" (Level-{without_ties} without ties)" if without_ties is not None and without_ties < level else ""
    return f"Level-{level}{ties}"


def render(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no models)"
    lines = [f"a = {rows[0]['a']}, b = {rows[0]['b']}"
             + (" (built from different specs)" if rows[0].get("specs_changed") else "")]
    for r in rows:
        mark = "*" if r["level_changed"] else " "
        deltas = "  ".join(f"{k.replace('level_', 'L')} {v:+.4f}" if v is not None else f"{k.replace('level_', 'L')} -"
                           for k, v in r["delta"].items())
        la, lb = (_level_text(r[f"level_{k}"], r.get(f"level_without_ties_{k}")) for k in ("a", "b"))
        lines.append(f"{mark} {r['model']}: {la} -> {lb}  {deltas}")
        for t in r["tasks"]:
            lines.append("    " + ", ".join(f"{k}={v}" for k, v in t.items()))
        if not r["tasks"] and r.get("specs_changed") and any(r["delta"].values()):
            # the scores moved with no task result of the board changing: its tasks or level rules did
            lines.append("    no task result of this board changed: the specs differ between the runs (the board's "
                         "tasks or level rules)")
    return "\n".join(lines)
