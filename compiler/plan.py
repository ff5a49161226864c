"""``compile_project``: specs and templates in, a validated build plan and artifacts out.

Steps: load specs -> resolve references -> seed rows -> render templates (one node per
template, or per level variant for ``sql/models/per_variant/``) -> parse, qualify and
canonicalize -> compile data tests -> manifest. ``write_artifacts`` writes
``target/manifest.json`` and ``target/compiled/`` byte-identically for identical inputs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glc.compiler.contracts import source_schema
from glc.compiler.data_tests import CompiledDataTest
from glc.compiler.errors import GlcError, SpecError, SpecErrors, display_path
from glc.compiler.manifest import dumps
from glc.compiler.materialization import FanOut
from glc.compiler.nodes import CompiledNode, RenderedModel
from glc.compiler.resolve import Project, lookup
from glc.compiler.seeds import Seed
from glc.compiler.suggest import did_you_mean

if TYPE_CHECKING:
    from glc.compiler.spec_models import MetricSpec

from glc import __version__ as GLC_VERSION

__all__ = ["GLC_VERSION", "CompiledProject", "compile_project", "node_name", "render_models", "write_artifacts"]

PER_VARIANT = "per_variant"
PER_METRIC = "per_metric"


def node_name(fan_out: FanOut) -> str:
    """The name of the node rendered for ``fan_out``: the template's, then ``__`` and the level
    variant or metric. Only the compiler makes node names; everything else asks the manifest."""
    label = fan_out.variant if fan_out.variant is not None else fan_out.metric
    return fan_out.model if label is None else f"{fan_out.model}__{label}"


@dataclass(frozen=True)
class CompiledProject:
    project: Project
    seeds: dict[str, Seed]
    nodes: tuple[CompiledNode, ...]
    data_tests: tuple[CompiledDataTest, ...]
    manifest: dict[str, Any]
    # per metric with an implementation: the reference kinds its macro declares it reads
    # (``{% set references = [...] %}``; None: any kind); None when not computed (read from sql/ on demand)
    references: dict[str, tuple[str, ...] | None] | None = None

    def node(self, name: str, *, variant: str | None = None, metric: str | None = None) -> CompiledNode:
        """A node of the manifest: by its name (``node("leaderboard")``), or a fanned-out one by its
        template and the level variant or metric it was rendered for (``node("task_wins",
        variant="pooled")``, ``node("instance_scores", metric="bleu")``). A GlcError when absent."""
        if variant is None and metric is None:
            return lookup(name, self._by_name(), "node")
        found = self.find(name, variant=variant, metric=metric)
        if found is not None:
            return found
        want = FanOut(name, variant, metric)
        known = self.nodes_of(name)
        if not known:
            raise GlcError(f"no node of {want.describe()} in the compiled project: no such template",
                           hint=did_you_mean(name, sorted({n.model for n in self.nodes}))
                           or "glc ls nodes lists the nodes")
        fanned = sorted(str(n.variant if variant is not None else n.metric) for n in known)
        raise GlcError(f"no node of {want.describe()} in the compiled project",
                       hint=did_you_mean(str(variant if variant is not None else metric), fanned)
                       or f"'{name}' was rendered for: " + ", ".join(fanned))

    def nodes_of(self, model: str) -> tuple[CompiledNode, ...]:
        """Every node rendered from a template called ``model`` (one per variant or metric), in
        dependency order. ``level_scores`` names two templates: ``sql/models/level_scores.sql`` (the
        node ``level_scores``, variant None) and the per-variant one."""
        return tuple(n for n in self.nodes if n.model == model)

    def find(self, name: str, *, variant: str | None = None, metric: str | None = None) -> CompiledNode | None:
        """As ``node``, but None when there is no such node."""
        if variant is None and metric is None:
            return self._by_name().get(name)
        return next((n for n in self.nodes if n.model == name and n.variant == variant and n.metric == metric),
                    None)

    def _by_name(self) -> dict[str, CompiledNode]:
        by_name: dict[str, CompiledNode] | None = self.__dict__.get("_nodes_by_name")
        if by_name is None:
            by_name = {n.name: n for n in self.nodes}
            object.__setattr__(self, "_nodes_by_name", by_name)  # a memo on a frozen dataclass
        return by_name

    def schema(self) -> dict[str, dict[str, str]]:
        schema = source_schema()
        for n in self.nodes:
            schema[n.name] = {c.name: c.type for c in n.columns}
        return schema


def macro_errors(metrics: list[tuple[MetricSpec, str, int | None]], sql_dir: Path) -> list[SpecError]:
    """An error per metric (spec, its file, the line of its macro) whose macro has no template."""
    errors: list[SpecError] = []
    folder = sql_dir / "macros" / "metrics"
    for m, path, line in metrics:
        if m.implementation and not (folder / f"{m.implementation.macro}.sql").is_file():
            known = sorted(p.stem for p in folder.glob("*.sql"))
            errors.append(SpecError(path, line, f"unknown metric macro '{m.implementation.macro}'",
                                    did_you_mean(m.implementation.macro, known) or "macros: " + ", ".join(known)))
    return errors


def render_models(project: Project, sql_dir: Path, choice_rules: list[dict[str, Any]] | None = None,
                  references: dict[str, tuple[str, ...] | None] | None = None) -> list[RenderedModel]:
    """Render every model template: per-variant ones once per level spec, per-metric ones once
    per metric that has an implementation. Templates see ``choice_rules`` (the multiple-choice
    answer rules of ``specs/answers/``, read here when not given) as a global. ``references``, when
    given, receives each implemented metric's reference kinds (``render.macro_references``), read
    from the macro templates this render compiled anyway."""
    from glc.compiler.render import TemplateRenderer  # jinja2: only a compile that is not cached renders

    models_dir = sql_dir / "models"
    if not models_dir.is_dir():
        raise GlcError("SQL nodes folder not found", location=display_path(models_dir, project.root),
                       hint="the project needs sql/models/*.sql templates")
    errors = macro_errors([(m, *project.metric_files[m.name]) for m in project.metrics], sql_dir)
    if errors:
        raise SpecErrors(errors)
    if choice_rules is None:
        from glc.compiler.answer_rules import load_choice_rules

        choice_rules = load_choice_rules(project.root / "specs", project.root)
    renderer = TemplateRenderer(sql_dir, project.root)
    renderer.env.globals["choice_rules"] = choice_rules
    levels = [lv.model_dump() for lv in project.variants]
    metrics = [m.model_dump() for m in project.metrics]
    out: list[RenderedModel] = []

    where: dict[Path, str] = {}  # template file -> its path for messages (one resolve per template)

    def render(f: Path, fan_out: FanOut, label: str | None, extra: dict[str, Any]) -> None:
        config: dict[str, Any] = {}

        def set_config(**kwargs: Any) -> str:
            config.update(kwargs)
            return ""
        text = renderer.render(f.relative_to(sql_dir).as_posix(),
                               {"levels": levels, "metrics": metrics, "config": set_config, **extra})
        if f not in where:
            where[f] = display_path(f, project.root)
        out.append(RenderedModel(node_name(fan_out), where[f], label, text, config, fan_out))

    for f in sorted(models_dir.glob("*.sql")):
        render(f, FanOut(f.stem), None, {})
    for f in sorted((models_dir / PER_VARIANT).glob("*.sql")):
        for lv in levels:
            render(f, FanOut(f.stem, variant=lv["name"]), f"level variant: {lv['name']}", {"variant": lv})
    for f in sorted((models_dir / PER_METRIC).glob("*.sql")):
        for metric in metrics:
            if metric["implementation"]:
                render(f, FanOut(f.stem, metric=metric["name"]), f"metric: {metric['name']}", {"metric": metric})
    if references is not None:
        from glc.compiler.render import macro_references

        by_macro: dict[str, tuple[str, ...] | None] = {}
        for metric in metrics:
            impl = metric["implementation"]
            if impl:
                if impl["macro"] not in by_macro:
                    by_macro[impl["macro"]] = macro_references(renderer, impl["macro"])
                references[metric["name"]] = by_macro[impl["macro"]]
    names = [m.name for m in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise GlcError(f"two templates render the same node name(s): {', '.join(dup)}",
                       hint="rename one of the templates")
    return out


def compile_project(root: Path, *, specs_dir: Path | None = None, sql_dir: Path | None = None,
                    benchmark: str | None = None) -> CompiledProject:
    """Compile the project at ``root`` in memory; raises GlcError/SpecErrors with locations. The
    cyclic garbage collector waits until it is done (``cyclic_gc_paused``: a fifth of its time)."""
    from glc.compiler.gc_pause import cyclic_gc_paused

    with cyclic_gc_paused():
        return _compile_project(root, specs_dir=specs_dir, sql_dir=sql_dir, benchmark=benchmark)


def _compile_project(root: Path, *, specs_dir: Path | None, sql_dir: Path | None,
                     benchmark: str | None) -> CompiledProject:
    # sqlglot, jinja2 and the loaders: imported by a compile that does the work, not by a cached one
    from glc.compiler.data_tests import compile_data_tests
    from glc.compiler.loader import load_specs
    from glc.compiler.manifest import build_manifest
    from glc.compiler.nodes import CompileCache, compile_cache_path, compile_models
    from glc.compiler.resolve import resolve
    from glc.compiler.seeds import build_seeds

    loaded = load_specs(root, specs_dir or root / "specs", benchmark)
    # the templates' checks that need only the metric specs join the spec errors: one compile, every problem
    early = macro_errors([(m.spec, m.path, m.doc.line_of(("implementation", "macro"))) for m in loaded.metrics],
                         sql_dir or root / "sql")
    from glc.compiler.answer_rules import load_choice_rules

    try:
        choice_rules = load_choice_rules(specs_dir or root / "specs", root)
    except SpecErrors as exc:
        early = early + exc.errors
        choice_rules = []
    try:
        project = resolve(loaded, root)
    except SpecErrors as exc:
        raise SpecErrors(exc.errors + early) from None
    if early:
        raise SpecErrors(early)
    seeds = build_seeds(project)
    references: dict[str, tuple[str, ...] | None] = {}
    nodes = compile_models(render_models(project, sql_dir or root / "sql", choice_rules, references),
                           CompileCache(compile_cache_path(root)))
    schema = source_schema()
    for n in nodes:
        schema[n.name] = {c.name: c.type for c in n.columns}
    data_tests, errors = compile_data_tests(project.data_tests, schema)
    for ut in project.unit_tests:
        spec = ut.spec
        if spec.model not in schema:
            errors.append(SpecError(ut.path, ut.line, f"unit test '{spec.name}' names unknown model '{spec.model}'",
                                    did_you_mean(spec.model, schema)))
        for table in spec.given:
            if table not in ("tasks", "imported_scores", "imported_models"):
                errors.append(SpecError(ut.path, ut.line, f"unit test '{spec.name}' gives rows for '{table}'",
                                        "unit tests give rows for: tasks, imported_scores, imported_models"))
    if errors:
        raise SpecErrors(errors)
    manifest = build_manifest(project, seeds, nodes, data_tests, GLC_VERSION)
    return CompiledProject(project, seeds, tuple(nodes), tuple(data_tests), manifest, references)


def write_artifacts(compiled: CompiledProject, target_dir: Path) -> None:
    """Write manifest and compiled SQL; stale compiled files of removed nodes are deleted."""
    out = target_dir / "compiled"
    tests_out = out / "tests"
    tests_out.mkdir(parents=True, exist_ok=True)
    wanted = {out / f"{n.name}.sql": n.sql for n in compiled.nodes}
    wanted.update({tests_out / f"{t.name}.sql": t.sql for t in compiled.data_tests})
    for folder in (out, tests_out):
        for old in folder.glob("*.sql"):
            if old not in wanted:
                old.unlink()
    for path, text in wanted.items():
        _write_if_changed(path, text)
    _write_if_changed(target_dir / "manifest.json", dumps(compiled.manifest))


def _write_if_changed(path: Path, text: str) -> None:
    data = text.encode()
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
