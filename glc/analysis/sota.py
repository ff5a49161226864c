"""Measured SoTA: the best specialist (``role: specialist``) score per task, written back into
the task specs with its source, so every SoTA value is a real, re-measurable result."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import duckdb

from glc.compiler.errors import GlcError
from glc.compiler.resolve import Project
from glc.words import plural


def measured_sota(con: duckdb.DuckDBPyConnection, project: Project) -> list[dict[str, Any]]:
    specialists = [m.spec.name for m in project.models if m.spec.role == "specialist"]
    if not specialists:
        raise GlcError("no specialist models", location="specs/models",
                       hint="mark the Level-1 models with 'role: specialist'")
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "task_scores" not in tables:
        raise GlcError("no task scores yet", hint="run `glc run` first")
    rows = con.execute(
        "SELECT s.task_id, s.model, s.score, s.n_instances, m.direction FROM task_scores AS s "
        "JOIN metrics AS m ON m.metric = s.metric WHERE list_contains(?, s.model) AND s.score IS NOT NULL "
        "AND s.source = 'predictions'", [specialists]).fetchall()
    best: dict[str, tuple[Any, ...]] = {}
    for task_id, model, score, n, direction in rows:
        cur = best.get(task_id)
        better = cur is None or (score < cur[2] if direction == "lower" else score > cur[2])
        if better:
            best[task_id] = (task_id, model, score, n, direction)
    by_id = {t.id: t for t in project.tasks}
    out = []
    for task_id, model, score, n, _ in sorted(best.values()):
        old = by_id[task_id].spec.sota
        out.append({"task_id": task_id, "model": model, "value": float(score), "n_instances": int(n),
                    "old": old.value if old is not None else None, "path": by_id[task_id].path})
    return out


def skipped_sota(con: duckdb.DuckDBPyConnection, project: Project,
                 recorded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tasks ``glc sota record`` leaves as they are, each with why (its SoTA stays what the spec
    says; a task with ``sota: null`` stays out of every level)."""
    from glc.execute.inference import route_for

    done = {r["task_id"] for r in recorded}
    specialists = [m.spec for m in project.models if m.spec.role == "specialist"]
    stored = {(r[0], r[1]): r[2] for r in con.execute(
        "SELECT model, task_id, source FROM task_scores WHERE score IS NOT NULL AND list_contains(?, model)",
        [[m.name for m in specialists]]).fetchall()}
    out = []
    for t in project.tasks:
        if t.id in done:
            continue
        if t.spec.inference is None or t.spec.dataset is None:
            why = "no data to run a specialist on (its SoTA comes from the spec or the catalog)"
        else:
            routed = [m.name for m in specialists if route_for(m, t) is not None]
            sources = {stored[(m, t.id)] for m in routed if (m, t.id) in stored}
            if not routed:
                why = "no specialist model has a route for it"
            elif sources:
                why = f"the specialists' scores are {' and '.join(sorted(sources))}, not measured by a run here"
            else:
                why = f"no score of {', '.join(routed)} in the store (run `glc run` first; failed instances: " \
                      "`glc run --retry-failed`)"
        out.append({"task_id": t.id, "why": why, "pending": t.spec.sota is None})
    return out


_SOTA_BLOCK = re.compile(r"^sota:[^\n]*\n(?:[ \t]+[^\n]*\n)*", re.MULTILINE)


def write_sota(project: Project, rows: list[dict[str, Any]]) -> None:
    today = dt.date.today().isoformat()
    for r in rows:
        path = Path(project.root) / r["path"]
        text = path.read_text()
        block = (f"sota:\n  value: {r['value']}\n"
                 f"  source: \"measured by glc run on {plural(r['n_instances'], 'instance')}, {today}\"\n"
                 f"  model: {r['model']}\n")
        new, n = _SOTA_BLOCK.subn(block, text, count=1)
        if n != 1:
            raise GlcError("no 'sota:' block to replace", location=r["path"],
                           hint="write the block as 'sota:' followed by indented value/source/model lines")
        path.write_text(new)


def describe_skipped(skipped: list[dict[str, Any]], first: int = 5) -> str:
    """The tasks left alone, grouped by why, first ids named; tasks still without a SoTA first."""
    groups: dict[str, list[str]] = {}
    for r in skipped:
        groups.setdefault(r["why"], []).append(r["task_id"])
    lines = []
    pending = sorted(r["task_id"] for r in skipped if r["pending"])
    if pending:
        lines.append(f"still without a SoTA (not counted in any level): {len(pending)} task(s): "
                     + ", ".join(pending[:first]) + (", ..." if len(pending) > first else ""))
    for why, ids in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"skipped {len(ids)} task(s): {why}: " + ", ".join(ids[:first])
                     + (", ..." if len(ids) > first else ""))
    return "\n".join(lines)
