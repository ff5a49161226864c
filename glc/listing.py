"""``glc ls``: the project's tasks, metrics, levels, scopes, models and SQL nodes as rows."""

from __future__ import annotations

from typing import Any

from glc.compiler.plan import CompiledProject
from glc.selection import Selection

KINDS = ("tasks", "metrics", "levels", "scopes", "models", "nodes")


def list_rows(compiled: CompiledProject, kind: str, selection: Selection | None = None,
              models: list[str] | None = None) -> list[dict[str, Any]]:
    p = compiled.project
    if kind == "tasks":
        return [{"task_id": t.id, "name": t.spec.name, "modality": t.spec.modality, "paradigm": t.spec.paradigm,
                 "metric": t.spec.metric, "sota": t.spec.sota.value, "data": bool(t.spec.dataset)}
                for t in p.tasks if selection is None or not selection.tasks or t.id in selection.tasks]
    if kind == "metrics":
        used = {t.spec.metric for t in p.tasks}
        return [{"metric": m.name, "direction": m.direction, "normalization": m.normalization.kind,
                 "implementation": m.implementation.macro if m.implementation else "-", "tasks": m.name in used,
                 "conventions": len(m.conventions)}
                for m in p.metrics]
    if kind == "levels":
        return [{"level": lv.name, "win": lv.win, "partition": lv.partition, "default": lv.default} for lv in p.levels]
    if kind == "scopes":
        return [{"scope": s.name, "family": s.family, "max_level": s.board.max_level, "tasks": len(s.task_ids),
                 "default": s.board.default} for s in p.scopes]
    if kind == "models":
        wanted = selection.models if selection is not None and selection.models else None
        specs = {m.spec.name: m for m in p.models}
        rows = []
        for name in sorted(set(models or []) | set(specs)):
            if wanted is not None and name not in wanted:
                continue
            spec = specs.get(name)
            rows.append({"model": name, "role": spec.spec.role if spec else "imported",
                         "revision": spec.spec.revision if spec else None,
                         "runners": ",".join(sorted({r.runner for r in spec.spec.routes})) if spec else None,
                         "results": name in (models or []), "spec": spec.path if spec else None})
        return rows
    return [{"node": n.name, "materialized": n.materialized, "depends_on": ", ".join(n.depends_on + n.sources)}
            for n in compiled.nodes]


def render_metric_details(compiled: CompiledProject) -> str:
    """``glc ls metrics --details``: each metric, how it is computed and its conventions (where
    glc had to choose, or differs from the reference implementation)."""
    blocks = []
    for m in compiled.project.metrics:
        impl = m.implementation
        how = f"{impl.macro} ({impl.level} level)" if impl else "imported scores only"
        lines = [f"{m.name}: {m.title} [{how}]"]
        if impl and impl.args:
            lines.append("  args: " + ", ".join(f"{k}={v}" for k, v in impl.args.items()))
        lines += [f"  - {c}" for c in m.conventions]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render_rows(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(nothing)"
    head = list(rows[0])
    body = [[str(r[c]) for c in head] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body]
    return "\n".join(lines)
