"""Bind references between specs and check what no single file can: the resolved project.

Input is ``LoadedSpecs`` (typed, per file); output is a ``Project`` whose tasks know their
metric, whose scopes know their tasks, and whose defaults are chosen. Every problem becomes
a located ``SpecError`` with a hint; nothing is guessed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from glc.compiler.binding import Binding, bind, bound_task_spec, read_headers
from glc.compiler.errors import GlcError, SpecError, SpecErrors, display_path
from glc.compiler.loader import LoadedSpecs, Located, load_specs
from glc.compiler.plugins import route_key, route_outputs, runner_args_schema, runner_targets
from glc.compiler.spec_models import (
    BenchmarkSpec,
    DataTestSpec,
    MetricEvaluator,
    MetricSpec,
    ModelSpec,
    RouteSpec,
    ScopeEntry,
    TaskSpec,
    TaskTypeSpec,
    UnitTestSpec,
    VariantSpec,
)
from glc.compiler.suggest import did_you_mean, did_you_mean_metric, did_you_mean_task
from pydantic import ValidationError

GROUP_OF_PARADIGM = {"comprehension": "C", "generation": "G", "nlp": "L"}
T = TypeVar("T")


@dataclass(frozen=True)
class Task:
    spec: TaskSpec
    metric: MetricSpec
    path: str

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def group(self) -> str:
        return GROUP_OF_PARADIGM[self.spec.paradigm]

    @property
    def skill(self) -> str | None:
        """The task's skill cluster (Scope-D boards split by it); read it only through here."""
        return self.spec.skill

    @property
    def metric_evaluator(self) -> MetricEvaluator | None:
        """The metric's evaluator (configured in profiles.yml) whose readings this task's score
        rests on: None when the metric has none (or no implementation), and when it reads labels
        and the task names its own evaluator route (``overrides.other_references``), which then
        reads the generated media instead."""
        ev, inf = self.metric.evaluator, self.spec.inference
        if ev is None or self.metric.implementation is None:
            return None
        if ev.reads == "labels" and inf is not None and inf.evaluator is not None:
            return None
        return ev


SPLIT_OTHER = "other"  # the split value of a task without a skill (or type)


def split_value(task: Task, field: str) -> str:
    """The value of a ``split_by`` field for ``task``."""
    if field == "modality":
        return task.spec.modality
    if field == "paradigm":
        return task.spec.paradigm
    if field == "skill":
        return task.skill or SPLIT_OTHER
    return task.spec.type or SPLIT_OTHER


def board_slug(value: str) -> str:
    """A split value as part of a board name: lower-case ASCII letters and digits joined by '-'."""
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def split_slug(value: str) -> str:
    """The board-name part of a split value: its ``board_slug``, or for a value without an ASCII letter
    or digit (a skill in another script, read from the data) ``x-`` and a hash of the value."""
    return board_slug(value) or "x-" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]


@dataclass(frozen=True)
class Scope:
    """A scope and its tasks. A scope expanded from a ``split_by`` template has its own name and
    title in ``entry`` and the values its tasks share in ``split``; ``listed`` is the task list."""

    entry: ScopeEntry
    family: str
    task_ids: tuple[str, ...]
    split: tuple[tuple[str, str], ...] = ()
    listed: frozenset[str] | None = None

    @property
    def name(self) -> str:
        return self.entry.name

    def holds(self, task: Task) -> bool:
        """Whether the scope's rules select ``task`` (the rule ``task_ids`` was built with)."""
        b = self.entry
        return (task.spec.modality in b.modalities and task.spec.paradigm in b.paradigms
                and all(split_slug(split_value(task, f)) == split_slug(v) for f, v in self.split)
                and (self.listed is None or task.id in self.listed))


@dataclass(frozen=True)
class Project:
    """Everything the specs say, references bound, in a deterministic order."""

    root: Path
    benchmark: BenchmarkSpec
    tasks: tuple[Task, ...]
    metrics: tuple[MetricSpec, ...]
    variants: tuple[VariantSpec, ...]
    scopes: tuple[Scope, ...]
    data_tests: tuple[Located[DataTestSpec], ...]
    unit_tests: tuple[Located[UnitTestSpec], ...]
    file_hashes: dict[str, str]
    metric_files: dict[str, tuple[str, int | None]]  # metric name -> (spec path, line of implementation)
    models: tuple[Located[ModelSpec], ...] = ()
    benchmarks: tuple[str, ...] = ()
    task_types: dict[str, TaskTypeSpec] = field(default_factory=dict)
    binding: Binding | None = None  # tasks bound to the benchmark's data folder, when one is set
    # what each model route gives back (text, image, ...), by plugins.route_key: learned by the route
    # check, so that planning from a cached compile imports no runner
    route_outputs: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def model(self, name: str) -> Located[ModelSpec]:
        for m in self.models:
            if m.spec.name == name:
                return m
        raise GlcError(f"unknown model '{name}'", location="specs/models",
                       hint=did_you_mean(name, [m.spec.name for m in self.models])
                       or "models: " + ", ".join(m.spec.name for m in self.models))

    @property
    def default_variant(self) -> VariantSpec:
        return next(lv for lv in self.variants if lv.default)

    @property
    def default_scope(self) -> Scope:
        return next(s for s in self.scopes if s.entry.default)

    def board(self, variant: str | None, scope: str | None) -> tuple[VariantSpec, Scope]:
        """The named level variant and scope, or the defaults for those not named."""
        return (self.variant(variant) if variant else self.default_variant,
                self.scope(scope) if scope else self.default_scope)

    def variant(self, name: str) -> VariantSpec:
        return lookup(name, {lv.name: lv for lv in self.variants}, "level variant")

    def scope(self, name: str) -> Scope:
        return lookup(name, {s.name: s for s in self.scopes}, "scope")


def lookup(name: str, items: dict[str, T], what: str) -> T:
    """``items[name]``, or a GlcError with a "did you mean" hint."""
    if name in items:
        return items[name]
    raise GlcError(f"unknown {what} '{name}'",
                   hint=did_you_mean(name, items) or "known: " + ", ".join(items))


def _unique(items: list[Located], key, what: str, errors: list[SpecError]) -> dict:
    seen: dict = {}
    for it in items:
        k = key(it)
        if k in seen:
            first = seen[k]
            errors.append(SpecError(it.path, it.line, f"duplicate {what} {k!r}",
                                    f"already defined at {first.path}:{first.line}; names must be unique"))
        else:
            seen[k] = it
    return seen


def _line(loc: Located, *path: str | int) -> int:
    return loc.doc.line_of(path) or loc.line


def _one_default(items: list[Located], is_default, what: str, errors: list[SpecError], where: str) -> None:
    defaults = [it for it in items if is_default(it)]
    if len(defaults) != 1 and items:
        errors.append(SpecError(defaults[1].path if len(defaults) > 1 else where,
                                defaults[1].line if len(defaults) > 1 else None,
                                f"{len(defaults)} default {what}s; exactly one needs 'default: true'",
                                f"mark one {what} as the default"))


#: implementation args a macro reads as one of a few words (checked here, not when a build meets them)
CHOICE_ARGS: dict[str, dict[str, tuple[str, ...]]] = {
    "codebleu": {"lang": ("python",)},
    "frame_labels": {"match": ("all", "any", "sequence"), "average": ("frames", "instances")},
}


def _check_implementation_args(m: Located[MetricSpec], errors: list[SpecError]) -> None:
    impl = m.spec.implementation
    if impl is None:
        return
    for arg, allowed in CHOICE_ARGS.get(impl.macro, {}).items():
        value = impl.args.get(arg, allowed[0])
        if value not in allowed:
            errors.append(SpecError(m.path, m.doc.line_of(("implementation", "args", arg)) or m.line,
                                    f"implementation.args.{arg} of macro '{impl.macro}' is {value!r}",
                                    "one of: " + ", ".join(allowed)))


def resolve(loaded: LoadedSpecs, root: Path) -> Project:
    """Bind references; raise ``SpecErrors`` with every problem found (including load errors)."""
    errors = list(loaded.errors)
    metrics = _unique(loaded.metrics, lambda m: m.spec.name, "metric", errors)
    for m in metrics.values():
        _check_implementation_args(m, errors)
    levels = _unique(loaded.levels, lambda lv: lv.spec.name, "level", errors)
    if not loaded.invalid_names.get("levels"):  # a broken level file may be the default one
        _one_default(loaded.levels, lambda lv: lv.spec.default, "level", errors, "specs/levels")

    task_types = {tt.spec.name: tt.spec for tt in
                  _unique(loaded.task_types, lambda tt: tt.spec.name, "task type", errors).values()}
    tasks: list[Task] = []
    by_id: dict[str, Located[TaskSpec]] = {}
    by_official: dict[tuple[str, str, str], Located[TaskSpec]] = {}
    by_name: dict[tuple[str, str], Located[TaskSpec]] = {}
    for t in loaded.tasks:
        spec = t.spec
        if spec.id in by_id:
            first = by_id[spec.id]
            errors.append(SpecError(t.path, _line(t, "id"), f"duplicate task id '{spec.id}'",
                                    f"already used by {first.path}:{_line(first, 'id')}; task ids must be unique"))
            continue
        by_id[spec.id] = t
        group_key = (spec.modality, spec.paradigm)
        if (group_key, spec.name) in by_name:
            first = by_name[(group_key, spec.name)]  # type: ignore[index]
            errors.append(SpecError(t.path, _line(t, "name"), f"duplicate task name {spec.name!r}",
                                    f"also the name of {first.path}"))
        by_name[(group_key, spec.name)] = t  # type: ignore[index]
        if spec.official is not None:
            key = (spec.official.sheet, spec.name, spec.official.metric)
            if key in by_official:
                errors.append(SpecError(t.path, _line(t, "official"), "duplicate official (sheet, name, metric)",
                                        f"also used by {by_official[key].path}"))
            by_official[key] = t
        metric = metrics.get(spec.metric)
        if metric is None and spec.metric in loaded.invalid_names.get("metrics", set()):
            continue  # the metric's own file is broken and already reported
        if metric is None:
            errors.append(_unknown_metric(spec.metric, metrics, t.path, _line(t, "metric")))
            continue
        m = metric.spec
        if spec.official is not None and m.aliases and spec.official.metric not in m.aliases:
            errors.append(SpecError(t.path, _line(t, "official", "metric"),
                                    f"official metric {spec.official.metric!r} is not an alias of metric '{m.name}'",
                                    f"add it to the aliases in {metric.path} or fix the task's metric"))
        lo, hi = m.range.min, m.range.max
        v = spec.sota.value if spec.sota is not None else None  # None: no SoTA yet, nothing to check
        if v is not None and (v != v or v in (float("inf"), float("-inf")) or (lo is not None and v < lo)
                              or (hi is not None and v > hi)):
            errors.append(SpecError(t.path, _line(t, "sota", "value"),
                                    f"SoTA {v} is outside the range of metric '{m.name}' [{lo}, {hi}]",
                                    "check the value's scale and unit"))
        # a task that brings its own dataset and inference may use 'type' as a plain label
        if spec.type is not None and spec.type not in task_types and spec.dataset is None \
                and spec.type not in loaded.invalid_names.get("task_types", set()):
            errors.append(SpecError(t.path, _line(t, "type"), f"unknown task type '{spec.type}'",
                                    did_you_mean(spec.type, task_types) or "add a spec under specs/task_types/"))
            continue
        tasks.append(Task(spec, m, t.path))
    tasks.sort(key=lambda t: t.id)
    _check_invalid_files(loaded, metrics, task_types, errors)
    binding = _bind_data(loaded, root, tasks, task_types, errors)

    scopes = _resolve_scopes(loaded, tasks, by_id, root, errors)

    data_tests = [Located(dt, f.path, _line(f, "data_tests", i), f.doc)
                  for f in loaded.tests for i, dt in enumerate(f.spec.data_tests)]
    unit_tests = [Located(ut, f.path, _line(f, "unit_tests", i), f.doc)
                  for f in loaded.tests for i, ut in enumerate(f.spec.unit_tests)]
    _unique(data_tests, lambda d: d.spec.name, "data test", errors)
    _unique(unit_tests, lambda u: u.spec.name, "unit test", errors)
    for ut in unit_tests:
        variant = ut.spec.expect.where.get("variant")
        if variant is not None and variant not in levels and variant not in loaded.invalid_names.get("levels", ()):
            line = ut.doc.line_of(("unit_tests", unit_tests.index(ut), "expect", "where", "variant")) or ut.line
            errors.append(SpecError(ut.path, line, f"unknown level '{variant}'",
                                    did_you_mean(str(variant), levels) or "known: " + ", ".join(levels)))

    route_kinds: dict[str, tuple[str, ...]] = {}
    models = _resolve_models(loaded, tasks, errors, route_kinds)

    if errors or loaded.benchmark is None:
        raise SpecErrors(errors)
    return Project(
        root=root,
        benchmark=loaded.benchmark.spec,
        tasks=tuple(tasks),
        metrics=tuple(sorted((m.spec for m in metrics.values()), key=lambda m: m.name)),
        variants=tuple(sorted((lv.spec for lv in levels.values()), key=lambda lv: (not lv.default, lv.name))),
        scopes=tuple(scopes),
        data_tests=tuple(data_tests),
        unit_tests=tuple(unit_tests),
        file_hashes=dict(sorted(loaded.file_hashes.items())),
        models=tuple(models),
        benchmarks=tuple(loaded.benchmarks),
        metric_files={name: (m.path, m.doc.line_of(("implementation", "macro"))) for name, m in metrics.items()},
        task_types=dict(sorted(task_types.items())),
        binding=binding,
        route_outputs=dict(sorted(route_kinds.items())),
    )


def _unknown_metric(name: str, metrics: dict[str, Located[MetricSpec]], path: str, line: int | None) -> SpecError:
    hint = did_you_mean_metric(name, {k: m.spec.aliases for k, m in metrics.items()})
    return SpecError(path, line, f"unknown metric '{name}'", hint or "add a spec under specs/metrics/ (`glc ls "
                     "metrics` lists the metrics)")


def _check_invalid_files(loaded: LoadedSpecs, metrics: dict[str, Located[MetricSpec]],
                         task_types: dict[str, TaskTypeSpec], errors: list[SpecError]) -> None:
    """References in files that failed validation, checked anyway: a task's metric and type, a model's
    runners and their args. Without this a file's unknown metric would show only once its unknown
    key is fixed, one compile later. A reference whose own line already has an error is left alone."""
    flagged = {(e.path, e.line) for e in loaded.errors}
    for kind, path, doc in loaded.invalid_docs:
        data = doc.data
        if kind == "tasks":
            metric, line = data.get("metric"), doc.line_of(("metric",))
            if isinstance(metric, str) and metric not in metrics and (path, line) not in flagged \
                    and metric not in loaded.invalid_names.get("metrics", set()):
                errors.append(_unknown_metric(metric, metrics, path, line))
            type_, line = data.get("type"), doc.line_of(("type",))
            if isinstance(type_, str) and "dataset" not in data and type_ not in task_types and \
                    (path, line) not in flagged and type_ not in loaded.invalid_names.get("task_types", set()):
                errors.append(SpecError(path, line, f"unknown task type '{type_}'",
                                        did_you_mean(type_, task_types) or "add a spec under specs/task_types/"))
        elif kind == "models" and isinstance(data.get("routes"), list):
            where: Located[Any] = Located(None, path, doc.line_of(()) or 1, doc)
            for i, raw in enumerate(data["routes"]):
                try:
                    route = RouteSpec.model_validate(raw)
                except ValidationError:
                    continue  # reported with the file's other errors
                _check_route(route, where, ("routes", i), errors)


def _bind_data(loaded: LoadedSpecs, root: Path, tasks: list[Task], task_types: dict[str, TaskTypeSpec],
               errors: list[SpecError]) -> Binding | None:
    """Bind the tasks of a benchmark with a ``data:`` layout to the user's data folder (in place).

    Only tasks with a ``type`` and without a ``dataset:`` of their own bind; the others keep
    what their spec says. No data folder set: nothing binds, and nothing is an error.
    """
    bench = loaded.benchmark
    if bench is None or bench.spec.data is None:
        return None
    from glc.profiles import benchmark_data_root  # the user's setting, not the spec's

    where = benchmark_data_root(root, bench.spec.name)
    if where is None:
        return None
    data_root, source = where
    if not data_root.is_dir():  # an unmounted disk or a typo: nothing binds, and the stored data stays
        prof = source.startswith("profiles.yml")
        errors.append(SpecError("profiles.yml" if prof else source, None,
                                f"the data folder of benchmark '{bench.spec.name}' ({data_root}, from {source}) "
                                f"{'is not a folder' if data_root.exists() else 'does not exist'}",
                                "point it at the folder holding Image/, Video/, Audio/, 3d/ and NLP/ of a "
                                "General-Bench download (mount it), or unset it; nothing was changed"))
        return None
    ids = {t.id for t in tasks}
    for tid in bench.spec.data.folder_aliases:
        if tid not in ids:
            errors.append(SpecError(bench.path, bench.doc.line_of(("data", "folder_aliases", tid)) or bench.line,
                                    f"folder alias for unknown task '{tid}'", did_you_mean_task(tid, ids)))
    candidates = [t for t in tasks if t.spec.type is not None and t.spec.dataset is None]
    binding = bind([(t.id, t.spec.modality, t.spec.paradigm, t.spec.name) for t in candidates], data_root, source,
                   dict(bench.spec.data.folder_aliases))
    headers = read_headers(data_root, sorted(set(binding.bound.values())), root / "target")
    kinds_read: dict[str, tuple[str, ...] | None] = {}

    def readable(metric: Any) -> tuple[str, ...] | None:
        """The reference kinds the metric's macro reads (None: any, or no implementation)."""
        if metric.implementation is None:
            return None
        macro = metric.implementation.macro
        if macro not in kinds_read:
            from glc.compiler.render import metric_references

            kinds_read[macro] = metric_references(root / "sql", root, macro)
        return kinds_read[macro]

    known = {n: n for n in task_types} | {a: n for n, tt in task_types.items() for a in tt.aliases}
    for i, t in enumerate(tasks):
        rel = binding.bound.get(t.id)
        if rel is not None and t.spec.type in task_types:
            # the data's own type (when it names a declared one) and skill win over the catalog's;
            # an undeclared type is reported when the instances load
            header = headers.get(rel, {})
            data_type = known.get(header.get("type", ""))
            # a blank skill is no skill: the catalog's stands
            update = {k: v for k, v in (("type", data_type), ("skill", header.get("skill"))) if v and v.strip()}
            if update.get("type", t.spec.type) != t.spec.type:
                binding.retyped[t.id] = (t.spec.type or "", update["type"])
            base = t.spec.model_copy(update=update) if update else t.spec
            try:
                spec = bound_task_spec(base, task_types[base.type or ""], data_root / rel,
                                       readable(t.metric) if _has_other_references(task_types[base.type or ""],
                                                                                   base) else None)
            except ValidationError as exc:
                errors.append(SpecError(t.path, None, f"overrides: {exc.errors()[0]['msg']}",
                                        "fix the task's overrides"))
                continue
            tasks[i] = Task(spec, t.metric, t.path)
    return binding


def _has_other_references(ttype: TaskTypeSpec, spec: Any) -> bool:
    """Whether the task's type (with its overrides) offers references besides its own."""
    if spec.overrides is not None and spec.overrides.other_references is not None:
        return bool(spec.overrides.other_references)
    return bool(ttype.other_references)


TASK_LIST_MAX_BYTES = 1 << 20


def _task_list_file(root: Path, rel: str, where: str, line: int, errors: list[SpecError]) -> Path | None:
    """The task list a board names, when it is a readable file inside the project."""
    hint = "write a path relative to the project root that stays inside it, e.g. data/<benchmark>/<list>.txt"
    if Path(rel).is_absolute() or ".." in Path(rel).parts or "\\" in rel:
        errors.append(SpecError(where, line, f"task_list {rel!r} is not a path inside the project", hint))
        return None
    try:
        real = (root / rel).resolve()
        inside = real.is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        inside = False
    if not inside:
        errors.append(SpecError(where, line, f"task_list {rel!r} leads outside the project", hint))
        return None
    if not real.is_file():
        what = "is not a regular file" if real.exists() else "not found"
        errors.append(SpecError(where, line, f"task list {rel!r} {what}", "create it (one task id a line) "
                                "or fix the path; it is relative to the project root"))
        return None
    return real


def _task_list_ids(path: Path, rel: str, where: str, line: int,
                   errors: list[SpecError]) -> tuple[dict[str, int], str] | None:
    """Task id -> line of a task list file (one id a line; '#' starts a comment), and its sha256."""
    try:
        with path.open("rb") as fh:
            data = fh.read(TASK_LIST_MAX_BYTES + 1)
        if len(data) > TASK_LIST_MAX_BYTES:
            raise ValueError(f"larger than {TASK_LIST_MAX_BYTES} bytes")
        text = data.decode("utf-8")
    except (OSError, ValueError) as exc:
        errors.append(SpecError(where, line, f"cannot read task list {rel!r}: {exc}",
                                "a task list is UTF-8 text, one task id a line"))
        return None
    ids: dict[str, int] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        tid = raw.split("#", 1)[0].strip()
        if not tid:
            continue
        if tid in ids:
            errors.append(SpecError(rel, n, f"task '{tid}' is listed twice", f"first at line {ids[tid]}; "
                                    "remove one"))
            continue
        ids[tid] = n
    return ids, hashlib.sha256(data).hexdigest()


def _resolve_scopes(loaded: LoadedSpecs, tasks: list[Task], by_id: dict[str, Located[TaskSpec]], root: Path,
                    errors: list[SpecError]) -> list[Scope]:
    """The boards of the active benchmark, in file order: ``split_by`` templates expanded (one board
    per value among their tasks, in sorted order), task lists applied, boards restricted to other
    benchmarks left out. A board that selects no task has no board (e.g. 3D in a benchmark
    without 3D), unless it is the default."""
    active = loaded.benchmark.spec.name if loaded.benchmark else None
    scopes: list[Scope] = []
    boards: list[Located] = []  # every board name, expanded, for the unique-name and default checks
    for f in loaded.scopes:
        for i, board in enumerate(f.spec.scopes):
            line = _line(f, "scopes", i)
            for j, bench in enumerate(board.benchmarks):
                if loaded.benchmarks and bench not in loaded.benchmarks:
                    errors.append(SpecError(f.path, f.doc.line_of(("scopes", i, "benchmarks", j)) or line,
                                            f"unknown benchmark '{bench}'", did_you_mean(bench, loaded.benchmarks)
                                            or "benchmarks: " + ", ".join(loaded.benchmarks)))
            if not board.split_by:
                boards.append(Located(board, f.path, line, f.doc))
            list_file = None
            if board.task_list is not None:
                list_line = f.doc.line_of(("scopes", i, "task_list")) or line
                list_file = _task_list_file(root, board.task_list, f.path, list_line, errors)
            if board.benchmarks and active not in board.benchmarks:
                continue
            candidates = [t for t in tasks if t.spec.modality in board.modalities
                          and t.spec.paradigm in board.paradigms]
            listed: frozenset[str] | None = None
            if list_file is not None:
                rel = display_path(list_file, root)
                read = _task_list_ids(list_file, rel, f.path, list_line, errors)
                if read is None:
                    continue
                ids, loaded.file_hashes[rel] = read
                complete = not any(Path(e.path).parts[:2] in (("specs", "tasks"), ("specs", "benchmarks"))
                                   or e.path.startswith("specs/benchmark.") for e in loaded.errors)
                _check_listed(ids, rel, board, tasks, by_id, errors, complete=complete)
                listed = frozenset(ids)
                candidates = [t for t in candidates if t.id in listed]
            if board.split_by:
                for expanded, members, split in _split(board, candidates, by_id, f.path, line, errors):
                    boards.append(Located(expanded, f.path, line, f.doc))
                    scopes.append(Scope(expanded, f.spec.family, members, split, listed))
                continue
            selected = tuple(t.id for t in candidates)
            if not selected and board.default and tasks:
                errors.append(SpecError(f.path, line, f"default scope '{board.name}' selects no task",
                                        "check its modalities and paradigms"))
            if selected or not tasks or board.default:
                scopes.append(Scope(board, f.spec.family, selected, (), listed))
    _unique(boards, lambda b: b.spec.name, "scope", errors)
    if not any(Path(e.path).parent.name == "scopes" for e in loaded.errors):  # a broken file may hold the default
        _one_default(boards, lambda b: b.spec.default, "scope", errors, "specs/scopes")
    return scopes


def _check_listed(ids: dict[str, int], rel: str, board: ScopeEntry, tasks: list[Task],
                  by_id: dict[str, Located[TaskSpec]], errors: list[SpecError], *, complete: bool = True) -> None:
    """Every listed id is a task of the active benchmark that the board's modalities and paradigms take.

    When some spec files did not load (``complete`` false), an id may be unknown only because its
    task's file is broken or its folder misnamed: those errors are already reported, and the list's
    would bury them.
    """
    resolved = {t.id: t for t in tasks}
    for tid, n in ids.items():
        if tid not in by_id and not complete:
            continue
        if tid not in by_id:
            errors.append(SpecError(rel, n, f"unknown task id '{tid}' in the task list of scope '{board.name}'",
                                    did_you_mean_task(tid, by_id) or "`glc ls tasks` lists the task ids"))
        elif tid in resolved and not (resolved[tid].spec.modality in board.modalities
                                      and resolved[tid].spec.paradigm in board.paradigms):
            t = resolved[tid].spec
            errors.append(SpecError(rel, n, f"task '{tid}' ({t.modality} {t.paradigm}) is listed, but scope "
                                    f"'{board.name}' takes only modalities {board.modalities} and paradigms "
                                    f"{board.paradigms}", "remove it from the list or widen the board"))


def _split(board: ScopeEntry, tasks: list[Task], by_id: dict[str, Located[TaskSpec]], where: str, line: int,
           errors: list[SpecError]) -> list[tuple[ScopeEntry, tuple[str, ...], tuple[tuple[str, str], ...]]]:
    """A ``split_by`` template's boards: one per distinct combination of values among ``tasks``,
    ordered by the board's modality and paradigm lists, then by name."""
    groups: dict[tuple[str, ...], list[Task]] = {}
    for t in tasks:
        groups.setdefault(tuple(split_value(t, fld) for fld in board.split_by), []).append(t)
    # A value read from the task's data (annotation.json's skill or type), not written in its spec, is
    # the data's to spell: a spelling differing only in case or punctuation from another task's joins
    # that board (the spec's spelling names it), and one without a letter or digit of a board name still
    # gets a board; the user cannot fix it without editing a download. Two spellings written in specs
    # remain an error at the second (below): the specs are the user's to make agree.
    declared = {values for values, members in groups.items()
                if any(_spec_values(by_id[t.id].spec, board.split_by) == values for t in members)}
    position = {t.id: i for i, t in enumerate(tasks)}

    def slugs_of(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple((board_slug if values in declared else split_slug)(v) for v in values)

    first: dict[tuple[str, ...], tuple[str, ...]] = {}  # board name parts -> the spelling naming the board
    for values in sorted(groups, key=lambda v: (v not in declared, v)):  # a spec's spelling first
        into = first.setdefault(slugs_of(values), values)
        if into != values and values not in declared:
            groups[into] = sorted(groups[into] + groups.pop(values), key=lambda t: position[t.id])

    def order(values: tuple[str, ...]) -> tuple[tuple[int, str, str], ...]:
        lists: dict[str, list[str]] = {"modality": list(board.modalities), "paradigm": list(board.paradigms)}
        return tuple((lists[fld].index(v) if fld in lists else 0, split_slug(v), v)
                     for fld, v in zip(board.split_by, values, strict=True))
    out: list[tuple[ScopeEntry, tuple[str, ...], tuple[tuple[str, str], ...]]] = []
    named: dict[str, tuple[str, ...]] = {}
    for values in sorted(groups, key=order):
        members = groups[values]
        slugs = list(slugs_of(values))
        blank = [(fld, v) for fld, v, slug in zip(board.split_by, values, slugs, strict=True) if not slug]
        if blank:
            fld, v = blank[0]
            src = by_id[members[0].id]
            errors.append(SpecError(src.path, src.doc.line_of((fld,)) or src.line,
                                    f"{fld} {v!r} gives no board name to scope '{board.name}' (split by {fld})",
                                    f"use letters or digits in the {fld}"))
            continue
        name = "-".join([board.name, *slugs])
        if name in named:
            errors.append(SpecError(where, line, f"split_by gives two boards the name '{name}': "
                                    f"{' / '.join(named[name])} and {' / '.join(values)}",
                                    "values that differ only in case or punctuation make one board; "
                                    "spell them the same in the task specs"))
            continue
        named[name] = values
        update: dict[str, Any] = {"name": name, "title": f"{board.title} ({', '.join(values)})", "split_by": []}
        split: tuple[tuple[str, str], ...] = tuple(zip(board.split_by, values, strict=True))
        for fld, key in (("modality", "modalities"), ("paradigm", "paradigms")):
            if fld in board.split_by:
                update[key] = [dict(split)[fld]]
        out.append((board.model_copy(update=update), tuple(t.id for t in members), split))
    return out


def _spec_values(spec: TaskSpec, fields: Iterable[str]) -> tuple[str, ...]:
    """The ``split_by`` values a task spec itself writes (before its data's type and skill are read)."""
    return tuple(spec.modality if f == "modality" else spec.paradigm if f == "paradigm" else
                 (spec.skill if f == "skill" else spec.type) or SPLIT_OTHER for f in fields)


def _check_route(route: RouteSpec, where: Located[Any], key: tuple[str | int, ...], errors: list[SpecError]) -> bool:
    """The runner exists in the registry and its own schema accepts the args (False: an error was added)."""
    line = where.doc.line_of((*key, "runner")) or where.line
    try:
        schema = runner_args_schema(route.runner)
    except KeyError:
        errors.append(SpecError(where.path, line, f"unknown runner '{route.runner}'",
                                did_you_mean(route.runner, runner_targets())
                                or "runners: " + ", ".join(sorted(runner_targets()))))
        return False
    except ImportError as exc:
        errors.append(SpecError(where.path, line, f"runner '{route.runner}' cannot be loaded: {exc}",
                                "install the package that provides it"))
        return False
    try:
        schema.model_validate(route.args)
        return True
    except ValidationError as exc:
        for err in exc.errors():
            arg = ".".join(str(x) for x in err["loc"]) or "(args)"
            arg_line = where.doc.line_of((*key, "args", *err["loc"])) or where.doc.line_of((*key, "args")) or line
            hint = None
            if err["type"] == "extra_forbidden":
                hint = did_you_mean(str(err["loc"][-1]), schema.model_fields) or \
                    f"runner '{route.runner}' accepts: " + ", ".join(schema.model_fields)
            errors.append(SpecError(where.path, arg_line,
                                    f"runner '{route.runner}' arg '{arg}': {err['msg']}", hint))
        return False


def _resolve_models(loaded: LoadedSpecs, tasks: list[Task], errors: list[SpecError],
                    outputs: dict[str, tuple[str, ...]]) -> list[Located[ModelSpec]]:
    """The model specs, their routes checked; ``outputs`` hears what each valid route gives back."""
    _unique(loaded.models, lambda m: m.spec.name, "model", errors)
    task_ids = {t.id for t in tasks}
    for m in loaded.models:
        for i, route in enumerate(m.spec.routes):
            if _check_route(route, m, ("routes", i), errors):
                outputs[route_key(route.runner, route.args)] = tuple(sorted(route_outputs(route.runner, route.args)))
            for j, tid in enumerate(route.match.tasks):
                if tid not in task_ids and task_ids:
                    errors.append(SpecError(m.path, m.doc.line_of(("routes", i, "match", "tasks", j)) or m.line,
                                            f"route matches unknown task '{tid}'",
                                            did_you_mean_task(tid, task_ids)))
    for t in loaded.tasks:
        inf = t.spec.inference
        if inf is not None and inf.evaluator is not None:
            _check_route(inf.evaluator, t, ("inference", "evaluator"), errors)
        if inf is not None and t.spec.dataset is None:
            errors.append(SpecError(t.path, t.doc.line_of(("inference",)) or t.line,
                                    "a task with 'inference' needs a 'dataset' to run on",
                                    "add the dataset section, or remove inference"))
    return sorted(loaded.models, key=lambda m: m.spec.name)


def load_project(root: Path, specs_dir: Path | None = None, benchmark: str | None = None) -> Project:
    """Load and resolve the specs of the project at ``root`` (its active benchmark)."""
    return resolve(load_specs(root, specs_dir or root / "specs", benchmark), root)
