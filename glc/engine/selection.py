"""``--select``: which (model, task) partitions a build may (re)score.

Selectors are ``kind:value`` (``model:NAME``, ``task:ID``, ``modality:image``,
``paradigm:generation``, ``metric:bleu1``); a bare value is a task id, a model or a modality,
whichever it names. Several selectors of one kind are alternatives; different kinds must all
hold. Partitions outside the selection keep their stored scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from glc.compiler.errors import GlcError
from glc.compiler.resolve import Project
from glc.compiler.suggest import did_you_mean, did_you_mean_task

KINDS = ("model", "task", "modality", "paradigm", "metric")


@dataclass(frozen=True)
class Selection:
    models: frozenset[str] = field(default_factory=frozenset)
    tasks: frozenset[str] = field(default_factory=frozenset)  # resolved task ids

    @property
    def empty(self) -> bool:
        return not self.models and not self.tasks

    def allows(self, model: str, task_id: str) -> bool:
        return (not self.models or model in self.models) and (not self.tasks or task_id in self.tasks)


def parse_selection(selectors: Sequence[str], project: Project, known_models: Sequence[str]) -> Selection:
    by_kind: dict[str, set[str]] = {}
    task_ids = {t.id for t in project.tasks}
    for raw in selectors:
        kind, sep, value = raw.partition(":")
        if not sep:
            value = raw
            kind = ("task" if raw in task_ids else "model" if raw in known_models
                    else "modality" if raw in {t.spec.modality for t in project.tasks} else "")
            if not kind:
                raise GlcError(f"selector '{raw}' names no task, model or modality",
                               hint=did_you_mean_task(raw, task_ids) or did_you_mean(raw, known_models)
                               or "use kind:value, e.g. task:ID (`glc ls tasks` lists the task ids)")
        if kind not in KINDS:
            raise GlcError(f"unknown selector kind '{kind}'", hint="one of " + ", ".join(f"{k}:" for k in KINDS))
        by_kind.setdefault(kind, set()).add(value)
    tasks = set(task_ids)
    for kind, attr in (("task", "id"), ("modality", "modality"), ("paradigm", "paradigm"), ("metric", "metric")):
        if kind in by_kind:
            values = {(t.id if attr == "id" else getattr(t.spec, attr)) for t in project.tasks}
            for v in by_kind[kind]:
                if v not in values:
                    close = did_you_mean_task(v, sorted(values)) if kind == "task" else did_you_mean(v, sorted(values))
                    fallback = f"`glc ls {kind}s` lists them" if kind in ("task", "metric") \
                        else "known: " + ", ".join(sorted(values))
                    raise GlcError(f"no {kind} '{v}'", hint=close or fallback)
            tasks &= {t.id for t in project.tasks
                      if (t.id if attr == "id" else getattr(t.spec, attr)) in by_kind[kind]}
    models = by_kind.get("model", set())
    for m in models:
        if m not in known_models:
            raise GlcError(f"no model '{m}' in the store", hint=did_you_mean(m, known_models))
    restrict = any(k in by_kind for k in ("task", "modality", "paradigm", "metric"))
    return Selection(frozenset(models), frozenset(tasks) if restrict else frozenset())
