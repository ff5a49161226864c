"""Inference jobs: planned from specs and the store, executed by runners, committed in batches.

A job is one (model, task) with the instances whose prediction is missing or stale. Every
prediction carries a content key: the hash of the model's name, revision and weights identity,
the runner and its args, the rendered prompt, the media hashes, the choices, the output kind and
the generation settings. So a changed prompt re-runs that task only, a changed metric re-runs
nothing, and a prediction made once is never made again.

Runs commit every ``batch_size`` results (or every few seconds) in one transaction that also
refreshes ``prediction_partitions``; a ``kill -9`` loses at most the batch in flight and the
next ``glc run`` resumes from the store. A failure of one instance is stored as a row with its
error text, and is retried only with ``--retry-failed``.

Tasks with an ``evaluator`` (e.g. speech recognition of synthesized speech) get a second kind
of job: the evaluator reads each generated file, and its reading lands in ``judgments``, keyed
by the prediction it read. A metric that needs a learned model or a judge (``MetricSpec.evaluator``,
e.g. FID's feature extractor) gets its evaluator from profiles.yml ``evaluators:``; its readings
are feature vectors of the prediction and the reference (JSON in ``judgments.output``) or a
number, for every stored prediction of the task (runner-made or imported). Without the setting
the task is not scorable and the plan says which weights it needs (:func:`metric_route`).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import re
import shutil
import stat
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from glc.compiler.contracts import STORE
from glc.compiler.plugins import route_key, route_outputs, runner_class
from glc.compiler.resolve import Project, Task
from glc.compiler.spec_models import MetricEvaluator, ModelSpec, RouteSpec
from glc.engine.selection import Selection
from glc.engine.store import insert_rows, refresh_prediction_partitions, transaction
from glc.execute.datasets import MEDIA_VERSIONS, FileVersions, data_path, media_folder
from glc.execute.progress import Progress, describe_not_scorable  # Progress: kept importable from here
from glc.importers.safety import clip, lone_surrogate, preview, printable
from glc.importers.scores import Problem, file_sha256
from glc.profiles import load_evaluators, load_grants, load_ray_settings
from glc.runners import base as runner_base
from glc.runners.base import Request, Result, Runner, RunnerError
from glc.words import plural

RAY_RUNNERS = ("hf", "command")  # runners that run on this machine, or on Ray workers with runner_backend: ray


@functools.cache
def _prompts() -> Any:
    """The prompt sandbox (jinja2), made when the first prompt is rendered: planning needs none."""
    from glc.compiler.sandbox import shared_sandbox

    return shared_sandbox()


MEDIA_EXT = {"image": ".png", "audio": ".wav", "video": ".mp4", "pointcloud": ".ply"}


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class WeightHashes:
    """sha256 of model weight files, remembered by (path, size, mtime) under target/; and of the
    media files of the instances planned for inference (``media``), remembered by file version
    (``FileVersions``, in target/media_files.json, read when first needed; written by ``save``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.media_versions: FileVersions | None = None
        self.known: dict[str, str] = {}
        if path.exists():
            try:
                self.known = json.loads(path.read_text())
            except ValueError:
                self.known = {}

    def of(self, file: Path) -> str:
        st = file.stat()
        key = f"{file}|{st.st_size}|{st.st_mtime_ns}"
        if key not in self.known:
            self.known[key] = file_sha256(file)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.known, indent=1, sort_keys=True))
        return self.known[key]

    def media(self, file: str) -> str | None:
        """The media file's sha256 (read only when its version is new); None when it cannot be read
        (gone since the task was loaded: the runner then fails that instance)."""
        if self.media_versions is None:
            self.media_versions = FileVersions(self.path.parent / MEDIA_VERSIONS)
        return self.media_versions.digest(Path(file))

    def save(self) -> None:
        """Keep the media hashes learned, less those of files gone (the weight hashes are written as
        they are learned)."""
        if self.media_versions is not None:
            self.media_versions.prune()
            self.media_versions.save()


def route_identity(route: RouteSpec, root: Path, hashes: WeightHashes) -> dict[str, Any]:
    """What defines a route's behaviour: runner, args, and the weights its model reads."""
    # the servers of an openai fleet (base_urls) serve one model: adding or losing one re-runs nothing
    args = {k: v for k, v in route.args.items() if not (route.runner == "openai" and k == "base_urls")}
    ident: dict[str, Any] = {"runner": route.runner, "args": args}
    if route.runner == "hf":
        from glc.runners.bundled import ALIASES, weights_file

        model = str(route.args.get("model", ""))
        try:
            file = weights_file(model) if model in ALIASES else None
        except RunnerError:
            file = None
        if file is not None:
            ident["weights_sha256"] = hashes.of(file)
        elif (root / model).is_dir():
            files = sorted(p for p in (root / model).iterdir() if p.suffix in (".safetensors", ".bin", ".pth", ".gguf"))
            ident["weights_sha256"] = [hashes.of(p) for p in files]
    return ident


def matches(route: RouteSpec, task: Task) -> bool:
    m, s = route.match, task.spec
    inf = s.inference
    return ((not m.modality or s.modality in m.modality) and (not m.paradigm or s.paradigm in m.paradigm)
            and (not m.type or (inf is not None and inf.type in m.type)) and (not m.tasks or s.id in m.tasks))


def _produces(route: RouteSpec) -> frozenset[str]:
    """What the route's runner can give back (``plugins.route_outputs``)."""
    return route_outputs(route.runner, route.args)


def route_for(spec: ModelSpec, task: Task) -> RouteSpec | None:
    """The model's route that serves ``task``: the first that matches it and can give back its output."""
    out = task.spec.inference.output if task.spec.inference is not None else "text"
    return next((r for r in spec.routes if matches(r, task) and out in _produces(r)), None)


def runnable_tasks(project: Project) -> list[Task]:
    """The tasks a model can be run on: those with a dataset and an inference section."""
    return [t for t in project.tasks if t.spec.inference is not None and t.spec.dataset is not None]


def render_prompt(task: Task, instance_input: Any, template: Any = None) -> str:
    """The task's prompt for one instance (``template``: the prompt already compiled, to reuse)."""
    inf = task.spec.inference
    assert inf is not None
    template = template or _prompts().from_string(inf.prompt)
    return _prompts().render(template, {"input": instance_input, "choices": list(inf.choices),
                                      "task": {"id": task.id, "name": task.spec.name}})


# A prompt template that ran past its time limit on this many tasks is not rendered again for the other
# tasks that share it (2 s each): one task's odd data may make a render slow, two make it the template's.
SLOW_TEMPLATE_TASKS = 2


@dataclass(eq=False)  # not frozen: a frozen exception cannot take the __traceback__ Python sets on it
class PromptFailure(Exception):
    """A prompt (the task's, or a metric evaluator's judge prompt) that fails on one instance, or a
    media path of one that now leads outside what may be read: that (model, task) job is left out of
    the plan and the others run. ``problem`` names the task data file and the instance, as a task
    data problem does."""

    model: str
    task_id: str
    problem: Problem

    def __str__(self) -> str:
        return f"{self.problem.where}: {self.problem.message}"


def _instance_where(project: Project, task: Task, instance_id: Any) -> str:
    """Where an instance came from, as a task data problem names it: the data file and the instance."""
    source = data_path(project.root, task.spec.dataset) if task.spec.dataset is not None else task.path
    return f"{source} instance {preview(instance_id)}"


@dataclass
class Job:
    kind: str  # predict or judge
    model: str
    task: Task
    route: RouteSpec
    requests: list[Request]
    reasons: Counter[str] = field(default_factory=Counter)
    n_instances: int = 0
    n_done: int = 0
    blocked: str | None = None  # why the user's profiles.yml refuses this job's route
    # an outline's job (``plan_jobs(outline=True)``): predictions to run whose requests are not built
    # yet (counted from the remembered keys); ``execute`` builds them when the job runs
    pending: int = 0
    reads: MetricEvaluator | None = None  # a metric's evaluator: its readings are checked as it says
    # an outline's job: the key base its digest was computed from, which ``execute`` builds its keys
    # with (not one computed again when the job's turn comes: a route's runner loads its weights once,
    # so weights replaced during a run would otherwise key the old weights' predictions as the new)
    base: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return f"{self.model} · {self.task.id}" + (" (evaluator)" if self.kind == "judge" else "")

    @property
    def n_todo(self) -> int:
        return len(self.requests) + self.pending


@dataclass
class Plan:
    jobs: list[Job]
    unsupported: list[tuple[str, str]]  # (model, task) with no matching route
    skipped_failed: int = 0
    judges: list[Job] = field(default_factory=list)  # evaluator readings (made after each job runs)
    not_scorable: dict[str, str] = field(default_factory=dict)  # task id -> the evaluator setting it needs
    # (model, task) jobs left out because a prompt fails on one of the task's instances: one problem each
    prompt_problems: list[PromptFailure] = field(default_factory=list)
    limit: int | None = None  # the plan's settings: the requests of an outline's job are built with them
    retry_failed: bool = False

    def describe_rows(self) -> list[dict[str, Any]]:
        rows = [{"kind": j.kind, "model": j.model, "task_id": j.task.id, "runner": j.route.runner,
                 "n_instances": j.n_instances, "n_done": j.n_done, "n_todo": j.n_todo,
                 "reasons": dict(sorted(j.reasons.items())), "blocked": j.blocked}
                for j in [*self.jobs, *self.judges]]
        rows += [{"kind": "unsupported", "model": m, "task_id": t, "runner": None, "n_instances": 0, "n_done": 0,
                  "n_todo": 0, "reasons": {"no route of the model matches the task": 1}} for m, t in self.unsupported]
        rows += [{"kind": "not scorable", "model": None, "task_id": t, "runner": None, "n_instances": 0, "n_done": 0,
                  "n_todo": 0, "reasons": {why: 1}} for t, why in sorted(self.not_scorable.items())]
        rows += [{"kind": "prompt fails", "model": p.model, "task_id": p.task_id, "runner": None, "n_instances": 0,
                  "n_done": 0, "n_todo": 0, "reasons": {p.problem.message: 1}} for p in self.prompt_problems]
        return rows

    @property
    def n_todo(self) -> int:
        return sum(j.n_todo for j in self.jobs)


def _instances(con: duckdb.DuckDBPyConnection, task_id: str, limit: int | None) -> list[tuple[Any, ...]]:
    q = "SELECT instance_id, input, media FROM instances WHERE task_id = ? ORDER BY instance_id"
    rows = con.execute(q, [task_id]).fetchall()
    return rows[:limit] if limit is not None else rows


def plan_jobs(con: duckdb.DuckDBPyConnection, project: Project, target_dir: Path, *,
              selection: Selection | None = None, limit: int | None = None,
              retry_failed: bool = False, outline: bool = False, left_out: Collection[str] = ()) -> Plan:
    """Every (model, task) job whose predictions are missing or stale, with the reasons.

    ``left_out``: tasks whose data did not load this time (``sync_instances``'s ``failed``): no job of
    theirs is planned, predictions or readings (their specs may describe the file that failed while
    their stored instances are the earlier file's).

    ``outline``: a job whose remembered keys serve the plan is counted from them (``Job.pending``)
    instead of having its requests built (no prompt rendered); ``execute`` builds them when the job
    runs, so the first predictions start without waiting for every prompt of the plan."""
    from glc.execute.plan_memo import PlanMemo

    hashes = WeightHashes(target_dir / "weights_sha256.json")
    tasks = [t for t in runnable_tasks(project) if t.id not in left_out]
    jobs: list[Job] = []
    unsupported: list[tuple[str, str]] = []
    failures: list[PromptFailure] = []
    skipped = 0
    wanted: list[tuple[ModelSpec, Task, RouteSpec]] = []
    for located in project.models:
        spec: ModelSpec = located.spec
        if selection is not None and selection.models and spec.name not in selection.models:
            continue
        for task in tasks:
            if selection is not None and selection.tasks and task.id not in selection.tasks:
                continue
            route = route_for(spec, task)
            if route is None:
                unsupported.append((spec.name, task.id))
            else:
                wanted.append((spec, task, route))
    # jobs whose remembered content keys all hold a current prediction are done without rendering a
    # prompt; the others are planned in full and their keys remembered (plan_memo)
    memo = PlanMemo(con, project, [t for _, t, _ in wanted])
    digests: dict[tuple[str, str], str] = {}
    bases: dict[tuple[str, str], dict[str, Any]] = {}
    for spec, task, route in wanted:
        base = bases[(spec.name, task.id)] = key_base(project, spec, task, route, hashes)
        digest = memo.digest(base, task)
        if digest is not None:
            digests[(spec.name, task.id)] = digest
    tallies = memo.tallies(digests, limit, retry_failed)
    fresh: list[tuple[str, str, str, list[tuple[str, str]], bool]] = []
    shared: _Planning | None = None
    try:
        for spec, task, route in wanted:
            tally = tallies.get((spec.name, task.id))
            if tally is not None and (outline or not tally.to_run):
                jobs.append(Job("predict", spec.name, task, route, [], Counter(tally.reasons()),
                                n_instances=tally.n_instances, n_done=tally.n_instances - tally.to_run,
                                pending=tally.to_run, base=bases[(spec.name, task.id)]))
                skipped += tally.failed_kept
                continue
            shared = shared or _Planning(load_grants(project.root))
            try:
                job, n_skipped, keys = _predict_job(con, project, spec, task, route, hashes, target_dir, limit,
                                                    retry_failed, shared, bases[(spec.name, task.id)])
            except PromptFailure as failure:
                failures.append(failure)
                continue
            skipped += n_skipped
            jobs.append(job)
            digest = digests.get((spec.name, task.id))
            if digest is not None:
                fresh.append((spec.name, task.id, digest, keys, len(keys) == memo.counts.get(task.id, 0)))
    finally:
        hashes.save()  # the media hashes learned, whatever stopped the planning
    memo.remember(fresh)
    if selection is None:
        memo.forget_others([m.spec.name for m in project.models], [t.id for t in project.tasks])
    blocked: dict[str, str | None] = {}  # one check per route, not per (model, task)
    for job in jobs:
        if not job.n_todo:  # nothing to send anywhere: the profile has no say (and no runner is loaded)
            continue
        key = route_key(job.route.runner, job.route.args)
        if key not in blocked:
            blocked[key] = grant_problem(job.route, project.root, target_dir)
        job.blocked = blocked[key]
    judges = []
    for job in jobs:
        try:
            judge = judge_job(con, project, job.model, job.task, target_dir, retry_failed, hashes)
        except PromptFailure as failure:
            failures.append(failure)  # the predictions are made; their readings wait for a fixed judge prompt
            continue
        if judge is not None:
            if job.n_todo:  # generated files still to come are read once they exist
                judge.reasons["output not generated yet"] += job.n_todo
            judges.append(judge)
    judges += stored_judges(con, project, target_dir, {(j.model, j.task.id) for j in jobs}, selection,
                            retry_failed, hashes, failures, left_out)
    return Plan(jobs, unsupported, skipped, judges, not_scorable(project, selection), failures, limit, retry_failed)


def metric_route(root: Path, ev: MetricEvaluator) -> tuple[RouteSpec | None, str | None]:
    """The route of a metric's evaluator as profiles.yml configures it, or why there is none
    (a sentence saying which weights and where the setting goes)."""
    configured = load_evaluators(root).get(ev.name)
    if configured is None:
        how = ("{path: FOLDER}" if ev.reads in ("features", "labels") else "{runner: command|openai|hf, args: {...}}")
        return None, (f"needs evaluator '{ev.name}' ({ev.needs}); set it in profiles.yml under "
                      f"'evaluators: {{{ev.name}: {how}}}'")
    if configured.path is not None and ev.reads == "labels":
        # a transformers audio-classification folder, applied per fixed segment of the generated audio
        assert ev.segment_s is not None  # checked by MetricEvaluator
        return RouteSpec(runner="hf", args={"task": "audio-classification", "model": configured.args["model"],
                                            "segment_s": ev.segment_s, "top_k": ev.top_k}), None
    if configured.path is not None and ev.reads != "features":
        return None, (f"evaluator '{ev.name}' reads a score, which a weights folder alone cannot give; give it as a "
                      f"route in profiles.yml (evaluators: {{{ev.name}: {{runner: command, args: {{argv: [...]}}}}}})")
    return RouteSpec(runner=configured.runner, args=configured.args), None


def not_scorable(project: Project, selection: Selection | None = None) -> dict[str, str]:
    """Tasks whose metric needs an evaluator that profiles.yml does not configure, with the setting."""
    out: dict[str, str] = {}
    for task in project.tasks:
        if selection is not None and selection.tasks and task.id not in selection.tasks:
            continue
        ev = task.metric_evaluator
        if ev is not None:
            route, problem = metric_route(project.root, ev)
            if route is None and problem is not None:
                out[task.id] = f"{task.metric.name} {problem}"
    return out


def _with_predictions(con: duckdb.DuckDBPyConnection, tasks: dict[str, str]) -> dict[str, str]:
    """The not-scorable tasks that hold predictions (the ones a run would have scored)."""
    if not tasks:
        return {}
    have = {r[0] for r in con.execute("SELECT DISTINCT task_id FROM prediction_partitions WHERE n_rows > 0 "
                                      "AND list_contains(?, task_id)", [sorted(tasks)]).fetchall()}
    return {t: why for t, why in tasks.items() if t in have}


def stored_judges(con: duckdb.DuckDBPyConnection, project: Project, target_dir: Path, planned: set[tuple[str, str]],
                  selection: Selection | None, retry_failed: bool, hashes: WeightHashes | None,
                  failures: list[PromptFailure], left_out: Collection[str] = ()) -> list[Job]:
    """Readings a metric's evaluator, or the task's own evaluator route (speech recognition of
    generated speech, the labels a classifier sees), still owes the stored predictions of
    (model, task) pairs that no inference job covers (imported predictions, models run before).
    A judge prompt that fails on an instance adds to ``failures`` and leaves that pair out."""
    by_id = {t.id: t for t in project.tasks if t.id not in left_out and t.metric.implementation is not None and (
        t.metric.evaluator is not None or (t.spec.inference is not None and t.spec.inference.evaluator is not None))}
    if not by_id:
        return []
    out = []
    pairs = con.execute("SELECT model, task_id FROM prediction_partitions WHERE n_rows > 0 "
                        "AND list_contains(?, task_id) ORDER BY model, task_id", [sorted(by_id)]).fetchall()
    for model, task_id in pairs:
        if (model, task_id) in planned:
            continue
        if selection is not None and ((selection.tasks and task_id not in selection.tasks)
                                      or (selection.models and model not in selection.models)):
            continue
        try:
            job = judge_job(con, project, model, by_id[task_id], target_dir, retry_failed, hashes)
        except PromptFailure as failure:
            failures.append(failure)
            continue
        if job is not None:
            out.append(job)
    return out


def key_base(project: Project, spec: ModelSpec, task: Task, route: RouteSpec, hashes: WeightHashes) -> dict[str, Any]:
    """The part of every content key of the (model, task) job that is not the instance's: the model's
    identity and the task's output settings."""
    inf = task.spec.inference
    assert inf is not None
    return {"model": spec.name, "revision": spec.revision, **route_identity(route, project.root, hashes),
            "choices": inf.choices, "output": inf.output, "generation": inf.generation.model_dump()}


@dataclass
class _Planning:
    """What the jobs of one plan share: compiled prompt templates by their text, the profile's grants,
    the templates that ran past their time limit (with the tasks they did it on)."""

    grants: Any
    templates: dict[str, Any] = field(default_factory=dict)
    slow_templates: dict[str, list[str]] = field(default_factory=dict)

    def template(self, text: str) -> Any:
        if text not in self.templates:
            self.templates[text] = _prompts().from_string(text)
        return self.templates[text]


def _predict_job(con: duckdb.DuckDBPyConnection, project: Project, spec: ModelSpec, task: Task, route: RouteSpec,
                 hashes: WeightHashes, target_dir: Path, limit: int | None, retry_failed: bool,
                 shared: _Planning | None = None, base: dict[str, Any] | None = None,
                 ) -> tuple[Job, int, list[tuple[str, str]]]:
    """The job of (model, task): requests for the instances without a current prediction, how many
    failed ones wait for --retry-failed, and every planned instance's content key (in instance order).
    ``base``: the job's ``key_base`` as the plan computed it (computed here without it).
    Raises PromptFailure when the prompt fails on an instance or a media path of one leads outside."""
    inf = task.spec.inference
    assert inf is not None
    base = base if base is not None else key_base(project, spec, task, route, hashes)
    stored = {r[0]: (r[1], r[2]) for r in con.execute(
        "SELECT instance_id, content_key, error FROM predictions WHERE model = ? AND task_id = ?",
        [spec.name, task.id]).fetchall()}
    job = Job("predict", spec.name, task, route, [])
    skipped = 0
    keys: list[tuple[str, str]] = []
    assert task.spec.dataset is not None
    folder = str(media_folder(project.root, task.spec.dataset))
    shared = shared or _Planning(load_grants(project.root))
    grants, slow_templates = shared.grants, shared.slow_templates
    from glc.compiler.sandbox import TemplateTimeout

    template = shared.template(inf.prompt)

    def failed(instance_id: Any, value: Any, why: str) -> PromptFailure:
        return PromptFailure(spec.name, task.id, Problem(
            _instance_where(project, task, instance_id),
            f"task '{task.id}', model '{spec.name}': the prompt template fails on this instance (its input: "
            f"{preview(value)}): {clip(why, 200)}",
            f"fix the record if its input is not what the task type expects, else fix inference.prompt of "
            f"{task.path} (it sees `input`, `choices` and `task`); this task was not run for this model, the "
            "others were"))

    for instance_id, input_json, media_json in _instances(con, task.id, limit):
        job.n_instances += 1
        value = json.loads(input_json) if input_json is not None else None
        named = json.loads(media_json or "[]")
        listed = [(m["field"], _resolved(folder, m["path"])) for m in named]
        outside = [(p, m["path"]) for (_, p), m in zip(listed, named, strict=True)
                   if p is None or not grants.holds(Path(p))]  # swapped since it was loaded?
        if outside:  # this job is left out, before anything is read; the others run
            real, given = outside[0]
            raise PromptFailure(spec.name, task.id, Problem(
                _instance_where(project, task, instance_id),
                (f"media {given!r} now leads outside the project and its data roots, to {real!r}" if real else
                 f"media {given!r} cannot be resolved (a link loop on the way)")
                + " (a file or folder on the way was swapped for a link since the task loaded)",
                "media may be read only inside the project and its data roots: put the file back, or grant its "
                "folder under data_roots in profiles.yml if you trust it; this task was not run for this model, "
                "the others were"))
        paths = [(name, path) for name, path in listed if path is not None]  # all of them: checked above
        media = {name.rsplit(".", 1)[-1]: path for name, path in paths}
        # the content of each media file as it is now (a file changed in place makes a new key); a field
        # naming several files keys all of them, in order
        by_field: dict[str, list[str | None]] = {}
        for name, path in paths:
            by_field.setdefault(name, []).append(hashes.media(path))
        media_hashes = {name: got[0] if len(got) == 1 else got for name, got in by_field.items()}
        timed_out = slow_templates.get(inf.prompt, [])
        if len(timed_out) >= SLOW_TEMPLATE_TASKS:  # the template, not one task's data: no more waits for it
            raise failed(instance_id, value, f"the same template ran past its time limit on tasks "
                                             f"{', '.join(repr(t) for t in timed_out)}")
        try:
            prompt = render_prompt(task, value, template)
        except Exception as exc:  # noqa: BLE001 - a template that fails on this instance
            if isinstance(exc, TemplateTimeout) and task.id not in timed_out:
                slow_templates[inf.prompt] = [*timed_out, task.id]
            raise failed(instance_id, value, str(exc)) from None
        key = sha256_text(canonical({**base, "prompt": prompt, "media": media_hashes}))
        keys.append((instance_id, key))
        have = stored.get(instance_id)
        if have is not None and have[0] == key and (have[1] is None or not retry_failed):
            job.n_done += 1
            if have[1] is not None:
                skipped += 1
            continue
        if have is None:
            job.reasons["new"] += 1
        else:
            job.reasons["failed before" if have[0] == key else "prompt, model or settings changed"] += 1
        out_path = (target_dir / "media" / "tmp" / f"{key}{MEDIA_EXT[inf.output]}") if inf.output in MEDIA_EXT else None
        job.requests.append(Request(key=key, instance_id=instance_id, prompt=prompt, input=value, media=media,
                                    choices=tuple(inf.choices), output=inf.output, output_path=out_path,
                                    generation=inf.generation.model_dump()))
    return job, skipped, keys


def _resolved(folder: str, path: str) -> str | None:
    """``folder/path`` with every link on the way followed (without Path objects: planning resolves
    every media reference of every instance); None when it cannot be: a link loop on the way (past
    which a lenient resolution would keep the rest of the path as text, links and ``..`` included)."""
    joined = os.path.join(folder, path)
    try:
        return os.path.realpath(joined, strict=True)
    except FileNotFoundError:  # gone since it was loaded: the runner fails the instance; no link left on the way
        real = os.path.realpath(joined)
        return real if os.path.realpath(real) == real else None
    except (OSError, ValueError):  # ValueError: a NUL in the path; OSError: ELOOP and the like
        return None


def judge_job(con: duckdb.DuckDBPyConnection, project: Project, model: str, task: Task, target_dir: Path,
              retry_failed: bool = False, hashes: WeightHashes | None = None) -> Job | None:
    """Evaluator requests for the model's generated files of ``task`` that have no current reading."""
    if task.metric_evaluator is not None:
        return _metric_judge_job(con, project, model, task, target_dir, retry_failed, hashes)
    inf = task.spec.inference
    if inf is None or inf.evaluator is None:
        return None
    route = inf.evaluator
    ident = route_identity(route, project.root, hashes or WeightHashes(target_dir / "weights_sha256.json"))
    rows = con.execute(
        "SELECT p.instance_id, p.content_key, p.output, j.content_key, j.error, j.prediction_key FROM predictions AS p "
        "LEFT JOIN judgments AS j ON j.model = p.model AND j.task_id = p.task_id AND j.instance_id = p.instance_id "
        "WHERE p.model = ? AND p.task_id = ? AND p.error IS NULL AND p.output IS NOT NULL ORDER BY p.instance_id",
        [model, task.id]).fetchall()
    job = Job("judge", model, task, route, [])
    for instance_id, pkey, output, jkey, jerr, jpkey in rows:
        job.n_instances += 1
        key = sha256_text(canonical({"evaluator": ident, "prediction": pkey}))
        if not _reading_due(job, key, jkey, jerr, pkey, jpkey, retry_failed):
            continue
        job.requests.append(Request(key=key, instance_id=instance_id, prompt="", media={"output": output},
                                    generation={"max_new_tokens": 128}, input={"prediction_key": pkey}))
    return job


def _reading_due(job: Job, key: str, stored_key: str | None, stored_error: str | None, prediction_key: str,
                 read_prediction_key: str | None, retry_failed: bool) -> bool:
    """Whether an evaluator reading keyed ``key`` must be made (counting why in ``job.reasons``), or
    the stored one stands (counted done)."""
    if stored_key == key and (stored_error is None or not retry_failed):
        job.n_done += 1
        return False
    if stored_key is None:
        job.reasons["new"] += 1
    elif stored_key == key:
        job.reasons["failed before"] += 1
    else:
        job.reasons["evaluator changed" if read_prediction_key == prediction_key else "prediction changed"] += 1
    return True


def _metric_judge_job(con: duckdb.DuckDBPyConnection, project: Project, model: str, task: Task, target_dir: Path,
                      retry_failed: bool, hashes: WeightHashes | None) -> Job | None:
    """Readings of the metric's evaluator for every stored prediction of (model, task): feature
    vectors of the generated file and of the reference (failed predictions: the reference alone,
    which still counts in a Fréchet distance), the evaluator's score of the output, or the labels it
    hears per segment of the generated audio."""
    ev = task.metric_evaluator
    assert ev is not None
    route, problem = metric_route(project.root, ev)
    if route is None:
        return None  # the plan lists the task as not scorable
    ident = route_identity(route, project.root, hashes or WeightHashes(target_dir / "weights_sha256.json"))
    rows = con.execute(
        "SELECT p.instance_id, p.content_key, p.output, p.error, i.input, i.ref_texts, i.dataset_fp, "
        "j.content_key, j.error, j.prediction_key FROM predictions AS p "
        "JOIN instances AS i ON i.task_id = p.task_id AND i.instance_id = p.instance_id "
        "LEFT JOIN judgments AS j ON j.model = p.model AND j.task_id = p.task_id AND j.instance_id = p.instance_id "
        "WHERE p.model = ? AND p.task_id = ? AND i.ref_kind <> 'none' ORDER BY p.instance_id",
        [model, task.id]).fetchall()
    job = Job("judge", model, task, route, [], reads=ev)
    # what the evaluator is asked (segment_s and top_k only for labels: the keys of other readings stay as they were)
    reads = ev.model_dump(exclude={"needs"} | (set() if ev.reads == "labels" else {"segment_s", "top_k"}))
    judge_template = _prompts().from_string(ev.prompt) if ev.prompt is not None else None
    task_template = _prompts().from_string(task.spec.inference.prompt) if task.spec.inference is not None else None
    for instance_id, pkey, output, perr, input_json, ref_texts, dataset_fp, jkey, jerr, jpkey in rows:
        made = output is not None and perr is None
        if ev.reads in ("score", "labels") and not made:
            continue  # nothing to read: the metric scores it as a missing output
        job.n_instances += 1
        value = json.loads(input_json) if input_json is not None else None
        reference = ref_texts[0] if ref_texts else ""
        media = {"output": output} if made and ev.reads == "features" else {}
        prompt = ""
        if ev.reads == "features" and ev.reference == "media":
            media["reference"] = reference
        elif ev.reads == "features" and ev.reference == "prompt":
            try:
                prompt = render_prompt(task, value, task_template) if task_template is not None else str(value or "")
            except Exception as exc:  # noqa: BLE001 - the task's prompt, the reference of this reading, fails
                raise PromptFailure(model, task.id, Problem(
                    _instance_where(project, task, instance_id),
                    f"task '{task.id}', model '{model}': the prompt template, which metric '{task.metric.name}' "
                    f"reads as the reference, fails on this instance: {clip(str(exc), 200)}",
                    f"fix inference.prompt of {task.path} or the record; this task's readings were not made for "
                    "this model, the others were")) from None
        elif judge_template is not None:
            kind = task.spec.inference.output if task.spec.inference is not None else "text"
            if made and kind != "text":
                media["output"] = output  # a generated image, video or audio goes to the judge attached
            shown = f"(the attached {kind})" if made and kind != "text" else (output or "")
            try:
                prompt = _prompts().render(judge_template, {"input": value, "prediction": shown,
                                                            "reference": reference,
                                                            "task": {"id": task.id, "name": task.spec.name}})
            except Exception as exc:  # noqa: BLE001 - a judge template that fails on this instance
                raise PromptFailure(model, task.id, Problem(
                    _instance_where(project, task, instance_id),
                    f"task '{task.id}', model '{model}': the judge prompt of metric '{task.metric.name}' fails on "
                    f"this instance: {clip(str(exc), 200)}",
                    f"fix evaluator.prompt of specs/metrics/{task.metric.name}.yaml (it sees input, prediction, "
                    "reference and task), or the record; this task's readings were not made for this model, "
                    "the others were")) from None
        elif made:
            media["output"] = output
        key = sha256_text(canonical({"evaluator": ident, "reads": reads, "prediction": pkey,
                                     "made": made, "prompt": prompt, "reference": dataset_fp
                                     if ev.reference == "media" else None}))
        if not _reading_due(job, key, jkey, jerr, pkey, jpkey, retry_failed):
            continue
        job.requests.append(Request(key=key, instance_id=instance_id, prompt=prompt, media=media,
                                    generation={"max_new_tokens": 16}, input={"prediction_key": pkey},
                                    output="features" if ev.reads == "features" else "text"))
    return job


def check_reading(ev: MetricEvaluator, out: str | None, low: float | None, high: float | None
                  ) -> tuple[str | None, str | None]:
    """(reading to store, error): a feature reading must be JSON {"prediction": [numbers] or null,
    "reference": [numbers]}; a labels reading a JSON list with one list of label strings per
    segment; a score reading is the first number of the answer, inside [low, high]."""
    if out is None:
        return None, "the evaluator gave no reading"
    if ev.reads == "labels":
        try:
            doc = json.loads(out)
        except ValueError:
            doc = None
        if not (isinstance(doc, list) and all(isinstance(seg, list) and all(isinstance(x, str) for x in seg)
                                              for seg in doc)):
            return None, ("the evaluator's reading must be a JSON list with one list of label strings per segment, "
                          f"got {clip(out, 200)!r}")
        return out, None
    if ev.reads == "features":
        try:
            doc = json.loads(out)
        except ValueError:
            return None, f"the evaluator's reading is not JSON features: {clip(out, 200)!r}"
        ok = isinstance(doc, dict) and all(
            (side == "prediction" and doc.get(side) is None) or (
                isinstance(doc.get(side), list) and doc[side]
                and all(isinstance(x, int | float) and not isinstance(x, bool) for x in doc[side]))
            for side in ("prediction", "reference"))
        if not ok:
            return None, ("the evaluator's reading must be {\"prediction\": [numbers] or null, "
                          f"\"reference\": [numbers]}}, got {clip(out, 200)!r}")
        return out, None
    m = NUMBER.search(out)
    number = float(m.group(0)) if m else None
    if number is None or not (number == number and abs(number) != float("inf")):
        return None, f"the judge's answer has no number: {clip(out, 200)!r}"
    if (low is not None and number < low) or (high is not None and number > high):
        return None, f"the judge's answer {number:g} is outside [{low}, {high}]: {clip(out, 200)!r}"
    return repr(number), None


NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


# --- execution ---------------------------------------------------------------------------


@dataclass
class RunSummary:
    predicted: int = 0
    judged: int = 0
    failed: list[tuple[str, str, str, str]] = field(default_factory=list)  # (model, task, instance, error)
    job_errors: list[tuple[str, str]] = field(default_factory=list)  # (job label, error)
    seconds: float = 0.0
    not_scorable: dict[str, str] = field(default_factory=dict)  # task id -> the evaluator setting it needs

    def describe(self) -> str:
        """The summary ``glc run`` prints. Errors hold a stranger's text (a server's error body, a program's
        stderr, an answer quoted by a judge's check): control characters and bidirectional overrides are
        shown escaped, so an escape sequence there cannot set the terminal's title, write its clipboard
        or forge a line."""
        lines = [f"inference: {plural(self.predicted, 'prediction')}, {plural(self.judged, 'evaluator reading')}, "
                 f"{plural(len(self.failed), 'failed instance')} in {self.seconds:.1f} s"]
        for label, err in self.job_errors:
            lines.append(f"  job failed: {printable(label)}: " + "\n    ".join(map(printable, err.splitlines())))
        for model, task, inst, err in self.failed[:10]:
            last = err.strip().splitlines()[-1] if err.strip() else err
            lines.append(f"  failed: {printable(model)} · {printable(task)} · {printable(inst)}: "
                         f"{printable(last[:300])}")
        if len(self.failed) > 10:
            lines.append(f"  … and {len(self.failed) - 10} more (see predictions.error; `glc run --retry-failed`)")
        return "\n".join([*lines, *describe_not_scorable(self.not_scorable)])


def _store(con: duckdb.DuckDBPyConnection, kind: str, job: Job, done: list[tuple[Request, Result, str | None]],
           backend: str, version: str) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    batch_id = uuid.uuid4().hex
    ids = [r.instance_id for r, _, _ in done]
    table = "predictions" if kind == "predict" else "judgments"
    with transaction(con):
        con.execute(f"DELETE FROM {table} WHERE model = ? AND task_id = ? AND list_contains(?, instance_id)",  # noqa: S608
                    [job.model, job.task.id, ids])
        if kind == "predict":
            rows = [(job.model, job.task.id, r.instance_id, out, "null" if out is None else "string", r.key,
                     backend, version, res.latency_ms, res.error, batch_id, now) for r, res, out in done]
            insert_rows(con, STORE["predictions"], rows)
        else:
            judgment_rows = [(job.model, job.task.id, r.instance_id, r.input["prediction_key"], r.key, out, backend,
                              res.latency_ms, res.error, batch_id, now) for r, res, out in done]
            insert_rows(con, STORE["judgments"], judgment_rows)
        refresh_prediction_partitions(con, [(job.model, job.task.id)])


def _valid_text(out: str | None, err: str | None) -> tuple[str | None, str | None]:
    """A response with a lone surrogate (a server's ``"\\ud800"``) cannot be stored: it becomes the
    instance's error instead of breaking every later build. Error texts are repaired (escaped)."""
    if err is not None:
        err = clip(err, 4000)
    if out is not None and (problem := lone_surrogate(out)) is not None:
        return None, f"the response is not valid text ({problem}); it was not stored as an answer"
    return out, err


# a generated file as _keep_media stores it: <target>/media/<first two hex digits>/<sha256><suffix>
_KEPT = re.compile(r"/(?P<sub>[0-9a-f]{2})/(?P<name>(?P=sub)[0-9a-f]{62}(?:\.[A-Za-z0-9]{1,8})?)$")


def rebase_generated_media(con: duckdb.DuckDBPyConnection, media_dir: Path) -> int:
    """Point predictions at this project's copy of their generated files; how many rows changed.

    A prediction names its generated file by its absolute path under ``target/media``, where the file
    is stored by its content. A project moved or copied elsewhere holds the same files under its own
    ``target/media``, and the old paths lead nowhere once the old folder is gone: such a row is pointed at
    the file of the same name here when the file it names is not there and this one is a regular
    file. Files are found by their content's name, so nothing else changes (content keys included)."""
    here = str(media_dir)
    rows = con.execute(
        "SELECT DISTINCT output FROM predictions WHERE output IS NOT NULL AND error IS NULL "
        "AND starts_with(output, ?) AND NOT starts_with(output, ?) "  # absolute paths, not under here: few
        r"AND regexp_matches(output, '/[0-9a-f]{2}/[0-9a-f]{64}(\.[A-Za-z0-9]{1,8})?$')",
        [os.sep, here + os.sep]).fetchall()
    moved: list[tuple[str, str]] = []
    for (old,) in rows:
        m = _KEPT.search(old)
        if m is None or os.path.lexists(old):
            continue
        new = os.path.join(here, m["sub"], m["name"])
        try:
            if stat.S_ISREG(os.lstat(new).st_mode):
                moved.append((old, new))
        except OSError:
            continue
    if not moved:
        return 0
    with transaction(con):  # a new batch id: the partitions' versions change, so their scores are made again
        changed = con.execute(
            "UPDATE predictions AS p SET output = m.new, batch_id = ? FROM (SELECT unnest(?::VARCHAR[]) AS old, "
            "unnest(?::VARCHAR[]) AS new) AS m WHERE p.output = m.old RETURNING p.model, p.task_id",
            [f"rebased-{uuid.uuid4().hex[:12]}", [o for o, _ in moved], [n for _, n in moved]]).fetchall()
        refresh_prediction_partitions(con, sorted(set(changed)))
    return len(changed)


def _keep_media(req: Request, res: Result, media_dir: Path) -> tuple[str | None, str | None]:
    """Copy a generated file to media/<sha>/... and return (output, error).

    The runner's file is not trusted to be what it looks like: only a regular file of at most
    ``MAX_MEDIA_BYTES`` is kept. It is opened without following a link at its end (a link to
    ``/etc/hostname`` would store the user's file, and its target could change behind its content
    hash) and without waiting on a FIFO, checked on the open descriptor, and hashed and copied from
    that same descriptor in one pass, so what is stored is what was hashed, whatever is swapped in at
    the path meanwhile. Anything else fails the instance; the file is never followed or stored."""
    if res.error is not None:
        return None, res.error
    path = Path(res.output) if res.output else req.output_path
    if path is None:
        return None, "the runner gave no generated file"
    try:
        st = os.lstat(path)  # a FIFO or device is refused before it is opened
        problem = runner_base.generated_file_problem(path, st)
        if problem is not None:
            return None, problem
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, f"no generated file at {path}"
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link swapped in since the lstat
            return None, runner_base.link_problem(path)
        return None, f"cannot read the generated file {path}: {exc.strerror or exc}"
    try:
        kept = copy_hashed(fd, path, media_dir)
    finally:
        os.close(fd)
    if isinstance(kept, str):
        return None, kept
    path.unlink(missing_ok=True)  # the runner's file, copied
    return str(kept), None


def copy_hashed(fd: int, path: Path, media_dir: Path, suffix: str | None = None) -> Path | str:
    """The file open as ``fd`` (found at ``path``) copied to its content address under ``media_dir``, its
    hash and its copy made from the same read; or why it is not kept (no longer a regular file within
    the limit: checked on the descriptor, and the bytes counted as they are read)."""
    st = os.fstat(fd)
    problem = runner_base.generated_file_problem(path, st)
    if problem is not None:
        return problem
    limit = runner_base.MAX_MEDIA_BYTES  # read at call time: tests lower it
    tmp_dir = media_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f".{uuid.uuid4().hex}.part"
    h, size = hashlib.sha256(), 0
    try:
        with tmp.open("xb") as out:
            while chunk := os.read(fd, 1 << 20):
                size += len(chunk)
                if size > limit:  # grown since the check
                    return runner_base.size_problem(path, size) or ""
                h.update(chunk)
                out.write(chunk)
        if size == 0:  # emptied since the check
            return f"the generated file {path} is empty"
        digest = h.hexdigest()
        dest = media_dir / digest[:2] / f"{digest}{path.suffix if suffix is None else suffix}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            there = stat.S_ISREG(os.lstat(dest).st_mode)  # the same bytes, kept before
        except FileNotFoundError:
            there = False
        if not there:  # nothing, or a link an older glc kept: replaced by the file
            os.replace(tmp, dest)
        return dest
    finally:
        tmp.unlink(missing_ok=True)


def grant_problem(route: RouteSpec, root: Path, target_dir: Path) -> str | None:
    """Why the user's profiles.yml refuses ``route`` (None: it may run), known before anything runs."""
    try:
        runner = _make_runner(route, root, target_dir)
        check = getattr(runner, "check_allowed", None)
        if check is not None:
            check()
    except RunnerError as exc:
        return str(exc)
    except ValueError:
        return None  # invalid args are spec errors, reported by compile with their line
    return None


def _make_runner(route: RouteSpec, root: Path, target_dir: Path) -> Runner:
    """A runner for ``route`` within what the user's profile grants (RunnerError otherwise)."""
    grants = load_grants(root)
    cls = runner_class(route.runner)
    args = cls.Args.model_validate(route.args)
    if route.runner == "command":
        return cls(args, root, allowed=list(grants.commands), env_allowed=grants.command_env,
                   workdir=target_dir / "commands")
    if route.runner == "openai":
        for url in args.urls:
            problem = grants.endpoint_problem(str(url), route.args.get("api_key_env"))
            if problem:
                raise RunnerError(problem)
    if route.runner == "hf":
        from glc.runners.bundled import ALIASES

        model = str(route.args.get("model", ""))
        if model not in ALIASES and not grants.readable(root / model):
            raise RunnerError(f"model folder {model!r} is outside the project and the data roots of profiles.yml; "
                              "add its parent folder to 'data_roots:' there if you trust it")
    return cls(args, root)


def execute(con: duckdb.DuckDBPyConnection, project: Project, plan: Plan, target_dir: Path, *,
            batch_size: int = 8, flush_s: float = 5.0, progress: Progress | None = None,
            retry_failed: bool = False, runner_factory: Callable[[RouteSpec], Runner] | None = None) -> RunSummary:
    """Run every job of ``plan`` (and the evaluator jobs they make necessary); the requests of an
    outline's job are built when it runs (``build``)."""
    progress = progress or Progress()
    hashes = WeightHashes(target_dir / "weights_sha256.json")
    shared: _Planning | None = None

    def build(job: Job) -> bool:
        """Give an outline's job its requests, planned in full as ``plan_jobs`` would have (False: its
        prompt fails on an instance; the job is left out as the plan would have left it out)."""
        nonlocal shared
        shared = shared or _Planning(load_grants(project.root))
        try:
            built, _, _ = _predict_job(con, project, project.model(job.model).spec, job.task, job.route, hashes,
                                       target_dir, plan.limit, plan.retry_failed, shared, job.base)
        except PromptFailure as failure:
            plan.prompt_problems.append(failure)
            return False
        job.requests, job.reasons, job.pending = built.requests, built.reasons, 0
        job.n_instances, job.n_done = built.n_instances, built.n_done
        return True

    summary = RunSummary(not_scorable=_with_predictions(con, plan.not_scorable))
    t_start = time.perf_counter()
    runners: dict[str, Runner] = {}
    media_dir = target_dir / "media"

    ray_settings = load_ray_settings(project.root) if runner_factory is None else None

    def runner_for(route: RouteSpec) -> Runner:
        key = route_key(route.runner, route.args)
        if key not in runners:
            if runner_factory is not None:
                runners[key] = runner_factory(route)
            elif ray_settings is not None and route.runner in RAY_RUNNERS:
                from glc.runners.ray_backend import RayRunner

                runners[key] = RayRunner(functools.partial(_make_runner, route, project.root, target_dir),
                                         route.runner, ray_settings)
            else:
                runners[key] = _make_runner(route, project.root, target_dir)
        return runners[key]

    def run_job(job: Job) -> None:
        if job.pending and not build(job):
            return
        if not job.requests:
            return
        for req in job.requests:
            if req.output_path is not None:
                req.output_path.parent.mkdir(parents=True, exist_ok=True)
        progress.job(job.label, len(job.requests))
        pending: list[tuple[Request, Result, str | None]] = []
        last = time.monotonic()
        backend, version = job.route.runner, ""
        try:
            runner = runner_for(job.route)
            version = runner.version()
            for req, res in runner.run(job.requests):
                out, err = res.output, res.error
                if job.kind == "predict" and req.output_path is not None:
                    out, err = _keep_media(req, res, media_dir)
                if job.reads is not None and err is None:
                    out, err = check_reading(job.reads, out, job.task.metric.range.min, job.task.metric.range.max)
                out, err = _valid_text(out, err)
                res.error = err
                if err is not None:
                    summary.failed.append((job.model, job.task.id, req.instance_id, err))
                pending.append((req, res, out))
                progress.advance()
                if len(pending) >= batch_size or time.monotonic() - last > flush_s:
                    _store(con, job.kind, job, pending, backend, version)
                    _count(job, pending)
                    pending, last = [], time.monotonic()
        except RunnerError as exc:
            summary.job_errors.append((job.label, str(exc)))
        except Exception as exc:  # noqa: BLE001 - a runner bug must not lose what was predicted
            summary.job_errors.append((job.label, f"{type(exc).__name__}: {exc}"))
        finally:
            if pending:
                _store(con, job.kind, job, pending, backend, version)
                _count(job, pending)
            progress.end_job()

    def _count(job: Job, done: list[Any]) -> None:
        if job.kind == "predict":
            summary.predicted += len(done)
        else:
            summary.judged += len(done)

    total = plan.n_todo
    progress.start(total)
    planned = {(j.model, j.task.id) for j in plan.jobs}
    try:
        for job in plan.jobs:
            run_job(job)
            try:
                judge = judge_job(con, project, job.model, job.task, target_dir, retry_failed)
            except PromptFailure as failure:  # on a prediction this run made: its readings wait, the rest goes on
                if all((f.model, f.task_id) != (failure.model, failure.task_id) for f in plan.prompt_problems):
                    plan.prompt_problems.append(failure)
                continue
            if judge is not None and judge.requests:
                progress.start(total := total + len(judge.requests))
                run_job(judge)
        for judge in plan.judges:  # readings of stored predictions no job of this run made
            if (judge.model, judge.task.id) not in planned and judge.requests:
                progress.start(total := total + len(judge.requests))
                run_job(judge)
    finally:
        hashes.save()  # the media hashes learned by the jobs built here
        for r in runners.values():
            r.close()
        progress.stop()
        tmp = media_dir / "tmp"
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
    summary.seconds = time.perf_counter() - t_start
    return summary


def write_job_list(plan: Plan, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                               "n_todo": plan.n_todo, "failed_not_retried": plan.skipped_failed,
                               "jobs": plan.describe_rows()}, indent=2) + "\n")
    os.replace(tmp, path)
