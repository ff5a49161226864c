"""Rows of the seed tables (tasks, metrics, scopes, scope_tasks) derived from resolved specs.

Seeds are data, not SQL: task names with quotes, backslashes or any script reach DuckDB as
bound values, never as SQL text. The fingerprint of each seed is the hash of its canonical
JSON, so a changed SoTA shows up in the manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from glc.compiler.contracts import SEEDS
from glc.compiler.resolve import GROUP_OF_PARADIGM, Project, Scope, Task
from glc.compiler.spec_models import MetricSpec


@dataclass(frozen=True)
class Seed:
    name: str
    rows: tuple[tuple[Any, ...], ...]

    @property
    def columns(self) -> list[str]:
        return SEEDS[self.name].column_names

    def fingerprint(self) -> str:
        blob = json.dumps([self.columns, self.rows], ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def task_rows(tasks: Iterable[Task]) -> list[tuple[Any, ...]]:
    out = []
    for t in tasks:
        s = t.spec
        off = s.official
        out.append((s.id, s.name, s.short_name, s.modality, s.paradigm, GROUP_OF_PARADIGM[s.paradigm], s.metric,
                    s.sota.value if s.sota else None, s.sota.source if s.sota else None,
                    off.sheet if off else None, off.no if off else None,
                    off.metric if off else None, t.path,
                    bool((s.inference is not None and s.inference.evaluator is not None)
                         or (t.metric.evaluator is not None and t.metric.implementation is not None)),
                    s.dataset.predictions_box_format() if s.dataset is not None and s.dataset.reference == "boxes"
                    else None))
    return out


def metric_rows(metrics: Iterable[MetricSpec]) -> list[tuple[Any, ...]]:
    out = []
    for m in metrics:
        n = m.normalization  # one named column per parameter; the kinds that lack it leave it NULL
        out.append((m.name, m.title, m.direction, m.unit, m.range.min, m.range.max, n.kind,
                    *(getattr(n, p, None) for p in ("threshold", "scale", "total", "low", "high"))))
    return out


def scope_rows(scopes: Sequence[Scope]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    defs = [(s.name, s.family, s.entry.title, s.entry.max_level, len(s.task_ids)) for s in scopes]
    members = [(s.name, tid) for s in scopes for tid in s.task_ids]
    return defs, members


def build_seeds(project: Project, tasks: Sequence[Task] | None = None) -> dict[str, Seed]:
    """All seed tables; ``tasks`` overrides the project's tasks (unit tests give their own)."""
    chosen = project.tasks if tasks is None else tuple(tasks)
    if tasks is None:
        scopes = project.scopes
    else:
        scopes = tuple(Scope(s.entry, s.family, tuple(t.id for t in chosen if s.holds(t)), s.split, s.listed)
                       for s in project.scopes)
    defs, members = scope_rows(scopes)
    return {
        "tasks": Seed("tasks", tuple(task_rows(chosen))),
        "metrics": Seed("metrics", tuple(metric_rows(project.metrics))),
        "scopes": Seed("scopes", tuple(defs)),
        "scope_tasks": Seed("scope_tasks", tuple(members)),
        "models": Seed("models", tuple((m.spec.name, m.spec.revision, m.spec.role, m.path)
                                       for m in project.models)),
    }
