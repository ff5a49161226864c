"""The task mapping (``--map MAP.yaml``): a harness's task names -> glc tasks, and how instances match.

```yaml
format: lm-eval                 # optional: the --from this mapping is written for
tasks:
  glc_arith_qa:                 # the harness's name: lm-eval/lmms-eval task, VLMEvalKit dataset, Inspect task
    task: nlp.arith_qa          # a glc task id (or its exact official name)
    match: position             # sample i answers the task's i-th instance (data file order)
    filter: first-number        # lm-eval/lmms-eval: the filter whose responses are the predictions
  glc_capitals_mc:
    task: nlp.capitals_mc
    match: {by: id, field: doc.id}          # the sample's doc.id is the glc instance id
  capitals:
    task: nlp.capitals_mc
    match: {by: hash, field: input, instance_field: question}
    epoch: 1                    # Inspect: the epoch whose output is the prediction
    score: {key: "acc,none", scale: 100}    # --scores: the results-file value taken as the task score
ignore: [some_other_task]       # tasks of the log that are left out on purpose
```

``match`` forms: ``position`` (``{by: position}``), ``{by: id, field: F}`` and
``{by: hash, field: F, instance_field: G}``. ``F`` is a dotted path into the harness's sample
(the defaults: Inspect's sample ``id``, VLMEvalKit's ``index`` column; lm-eval and lmms-eval
have none, their ``doc_id`` is a position); ``G`` a dotted path into the glc instance's
``input`` (empty: the input itself). The hash is ``text_key`` of ``glc.importers.harness.frame``
on both sides. Every problem is a ``SpecError`` with the mapping file's line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from glc.compiler.errors import GlcError, SpecError, SpecErrors
from glc.compiler.loader import parse_doc
from glc.compiler.resolve import Project
from glc.compiler.yaml_source import YamlSyntaxError, load_yaml
from glc.importers.safety import clip, preview, suggest

FORMATS = ("lm-eval", "lmms-eval", "vlmevalkit", "inspect")
MAP_HINT = ("a mapping has format:, tasks: {NAME: {task, match, filter, epoch, choice_field, unmatched, score}} "
            "and ignore: (docs/interop.md)")
DEFAULT_ID = {"inspect": "id", "vlmevalkit": "index"}  # the id field of match: {by: id} without field:
FIELD = re.compile(r"^[^\s.][^.]*(\.[^\s.][^.]*)*$")  # dotted path: non-empty parts, no part starting with a space
Path_ = Annotated[str, Field(min_length=1, max_length=200)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _dotted(value: str) -> str:
    if not FIELD.match(value) or any(ord(c) < 32 for c in value):
        raise ValueError(f"{value!r} is not a dotted field path such as doc.id or input")
    return value


class PositionMatch(_Spec):
    by: Literal["position"]


class IdMatch(_Spec):
    by: Literal["id"]
    field: Path_ | None = None

    @field_validator("field")
    @classmethod
    def _field(cls, v: str | None) -> str | None:
        return v if v is None else _dotted(v)


class HashMatch(_Spec):
    by: Literal["hash"]
    field: Path_
    instance_field: Annotated[str, Field(max_length=200)] = ""

    @field_validator("field")
    @classmethod
    def _field(cls, v: str) -> str:
        return _dotted(v)

    @field_validator("instance_field")
    @classmethod
    def _instance_field(cls, v: str) -> str:
        return v if v == "" else _dotted(v)


Match = Annotated[PositionMatch | IdMatch | HashMatch, Field(discriminator="by")]


class ScoreSpec(_Spec):
    key: Annotated[str, Field(min_length=1, max_length=200)]
    scale: float = Field(gt=0)


class TaskMap(_Spec):
    task: Annotated[str, Field(min_length=1, max_length=200)]
    match: Match = PositionMatch(by="position")
    filter: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    epoch: int | None = Field(default=None, ge=1)
    choice_field: Path_ | None = None
    unmatched: Literal["error", "skip"] = "error"
    score: ScoreSpec | None = None

    @field_validator("choice_field")
    @classmethod
    def _choice_field(cls, v: str | None) -> str | None:
        return v if v is None else _dotted(v)

    @field_validator("match", mode="before")
    @classmethod
    def _short_form(cls, v: object) -> object:
        """``match: position`` (or ``id``) is short for ``{by: position}``."""
        return {"by": v} if isinstance(v, str) else v


class MappingFile(_Spec):
    format: Literal["lm-eval", "lmms-eval", "vlmevalkit", "inspect"] | None = None
    tasks: dict[Annotated[str, Field(min_length=1, max_length=500)], TaskMap] = Field(min_length=1)
    ignore: list[Annotated[str, Field(min_length=1, max_length=500)]] = []


@dataclass(frozen=True)
class Entry:
    """One mapped harness task, resolved against the project."""

    harness_task: str
    task_id: str
    by: str  # position, id or hash
    field: str | None  # sample field of id/hash matching (None: the format's default id)
    instance_field: str  # hash matching: path into the instance input
    filter: str | None
    epoch: int | None
    choice_field: str | None
    unmatched: str
    score: ScoreSpec | None
    line: int | None


@dataclass(frozen=True)
class Mapping:
    path: Path
    format: str | None
    entries: dict[str, Entry]
    ignore: frozenset[str]

    def where(self, harness_task: str) -> str:
        e = self.entries.get(harness_task)
        return f"{self.path}:{e.line}" if e is not None and e.line else str(self.path)

    def fields(self, harness_task: str) -> list[str]:
        """The sample fields a reader must extract for this task (id/hash keys, choice texts)."""
        e = self.entries.get(harness_task)
        if e is None:
            return []
        return [f for f in (e.field, e.choice_field) if f]


def load_mapping(path: Path, project: Project, fmt: str) -> Mapping:
    """Read and check ``MAP.yaml``; every problem is reported with its line, nothing is guessed."""
    if not path.is_file():
        raise GlcError("mapping file not found", location=clip(str(path)),
                       hint="write a MAP.yaml that maps the harness's task names to glc task ids (docs/interop.md)")
    shown = clip(str(path))
    try:
        doc = load_yaml(path)
    except YamlSyntaxError as exc:
        raise SpecErrors([SpecError(shown, exc.line, f"invalid YAML: {clip(exc.message)}")]) from None
    spec, errors = parse_doc(doc, MappingFile, shown)
    if spec is None:  # the spec loader's hints speak of spec folders; a mapping's keys are in docs/interop.md
        raise SpecErrors([SpecError(e.path, e.line, e.message, MAP_HINT if e.hint and e.hint.startswith(
            ("add it;", "remove the key")) else e.hint) for e in errors])
    if spec.format is not None and spec.format != fmt:
        errors.append(SpecError(shown, doc.line_of(("format",)), f"this mapping is for '{spec.format}', "
                                f"not '{fmt}'", f"import with --from {spec.format}, or change 'format:'"))
    ids = {t.id for t in project.tasks}
    by_name = {t.spec.name: t.id for t in project.tasks}
    entries: dict[str, Entry] = {}
    first: dict[str, str] = {}
    for name, tm in spec.tasks.items():
        line = doc.line_of(("tasks", name))
        task_id = tm.task if tm.task in ids else by_name.get(tm.task)
        if task_id is None:
            errors.append(SpecError(shown, doc.line_of(("tasks", name, "task")), f"unknown glc task "
                                    f"{preview(tm.task)} for {preview(name)}",
                                    suggest(tm.task, sorted(ids)) or "`glc ls tasks` lists the task ids"))
            continue
        if task_id in first:
            errors.append(SpecError(shown, line, f"{preview(name)} and {preview(first[task_id])} both map to glc "
                                    f"task '{task_id}'", "map one harness task per glc task: two logs of one task "
                                    "would count its instances twice"))
            continue
        first[task_id] = name
        match = tm.match
        if isinstance(match, IdMatch) and match.field is None and fmt in ("lm-eval", "lmms-eval"):
            errors.append(SpecError(shown, doc.line_of(("tasks", name, "match")), f"{fmt} samples have no id of "
                                    "their own (doc_id is the position in the split)",
                                    "write match: position, or {by: id, field: doc.<id field>}"))
            continue
        if tm.epoch is not None and fmt != "inspect":
            errors.append(SpecError(shown, doc.line_of(("tasks", name, "epoch")), "only Inspect logs have epochs"))
        if tm.filter is not None and fmt not in ("lm-eval", "lmms-eval"):
            errors.append(SpecError(shown, doc.line_of(("tasks", name, "filter")),
                                    "only lm-eval and lmms-eval logs have filters"))
        field = getattr(match, "field", None) or (DEFAULT_ID.get(fmt) if match.by == "id" else None)
        entries[name] = Entry(name, task_id, match.by, field,
                              getattr(match, "instance_field", ""), tm.filter, tm.epoch, tm.choice_field,
                              tm.unmatched, tm.score, line)
    overlap = sorted(set(spec.ignore) & set(spec.tasks))
    if overlap:
        errors.append(SpecError(shown, doc.line_of(("ignore",)), f"{preview(overlap[0])} is both mapped and ignored"))
    if errors:
        raise SpecErrors(errors)
    return Mapping(path, spec.format, entries, frozenset(spec.ignore))
