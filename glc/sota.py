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
        out.append({"task_id": task_id, "model": model, "value": float(score), "n_instances": int(n),
                    "old": by_id[task_id].spec.sota.value, "path": by_id[task_id].path})
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
