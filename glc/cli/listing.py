"""``glc ls``: the project's tasks, metrics, levels, scopes, models and SQL nodes as rows."""

from __future__ import annotations

from collections import Counter
from typing import Any

from glc.compiler.plan import CompiledProject
from glc.compiler.spec_models import MetricEvaluator, MetricSpec
from glc.engine.selection import Selection
from glc.profiles import load_evaluators
from glc.words import plural

KINDS = ("tasks", "metrics", "levels", "scopes", "models", "nodes")


def list_rows(compiled: CompiledProject, kind: str, selection: Selection | None = None,
              models: list[str] | None = None) -> list[dict[str, Any]]:
    p = compiled.project
    if kind == "tasks":
        readable = reference_kinds_read(compiled)
        configured = set(load_evaluators(p.root))
        rows = []
        for t in p.tasks:
            if selection is not None and selection.tasks and t.id not in selection.tasks:
                continue
            ds = t.spec.dataset
            bound = p.binding.bound.get(t.id) if p.binding is not None else None
            kinds = readable.get(t.spec.metric)
            needs = _needs(t.metric, configured, t.metric_evaluator)
            scored = t.metric.implementation is not None and ds is not None and (
                kinds is None or ds.reference in kinds) and not lacks_evaluator(t) and needs == "-"
            rows.append({"task_id": t.id, "name": t.spec.name, "modality": t.spec.modality,
                         "paradigm": t.spec.paradigm, "type": t.spec.type or "-", "metric": t.spec.metric,
                         "sota": t.spec.sota.value if t.spec.sota else None,
                         "data": str(bound) if bound is not None else ("spec" if ds is not None else "-"),
                         "runnable": ds is not None and t.spec.inference is not None, "scored": scored,
                         "needs": needs})
        return rows
    if kind == "metrics":
        used = Counter(t.spec.metric for t in p.tasks)
        configured = set(load_evaluators(p.root))
        return [{"metric": m.name, "direction": m.direction, "normalization": m.normalization.kind,
                 "implementation": m.implementation.macro if m.implementation else "-",
                 "computed_from": computed_from(m, configured), "tasks": used.get(m.name, 0),
                 "conventions": len(m.conventions)}
                for m in p.metrics]
    if kind == "levels":
        return [{"level": lv.name, "win": lv.win, "group_by": lv.group_by, "default": lv.default} for lv in p.variants]
    if kind == "scopes":
        return [{"scope": s.name, "family": s.family, "max_level": s.entry.max_level, "tasks": len(s.task_ids),
                 "default": s.entry.default} for s in p.scopes]
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
    return [{"node": n.name, "materialized": n.kind, "depends_on": ", ".join(n.depends_on + n.sources)}
            for n in compiled.nodes]


def unscorable_reason(compiled: CompiledProject, task: Any, configured: set[str],
                      readable: dict[str, tuple[str, ...] | None] | None = None) -> str | None:
    """Why ``task`` cannot be scored from predictions with the evaluators in ``configured``
    (None: it can). Without data bound, the task's type (with its ``overrides:``) says what its
    dataset will be, so the answer holds for the catalog before any data is there."""
    from glc.compiler.binding import merged_type, reference_for

    p = compiled.project
    m = task.metric
    if m.implementation is None:
        return f"{m.name} is import only (glc import scores)"
    ds, inf = task.spec.dataset, task.spec.inference
    kinds = (readable if readable is not None else reference_kinds_read(compiled)).get(m.name)
    if ds is not None:
        ref, route = ds.reference, inf.evaluator if inf is not None else None
    elif task.spec.type in p.task_types:
        ref, _, _, route = reference_for(merged_type(p.task_types[task.spec.type], task.spec.overrides), kinds)
    else:
        return "no dataset and no task type"
    if kinds is not None and ref not in kinds:
        return f"{m.name} ({m.implementation.macro}) cannot read a reference of kind {ref}"
    # a metric that reads labels takes them from the task's own route when it names one (Task.metric_evaluator)
    ev = None if m.evaluator is not None and m.evaluator.reads == "labels" and route is not None else m.evaluator
    if m.implementation.evaluator is not None and route is None and ev is None:
        return f"{m.name} scores an evaluator's reading and the task has no evaluator route"
    if ev is not None and ev.name not in configured:
        return f"needs evaluator:{ev.name} ({ev.needs})"
    return None


def unscorable_tasks(compiled: CompiledProject, configured: set[str] | None = None) -> dict[str, str]:
    """The tasks not scorable from predictions, with why; ``configured``: the evaluator names
    profiles.yml sets (default: the project's own profiles.yml)."""
    if configured is None:
        configured = set(load_evaluators(compiled.project.root))
    readable = reference_kinds_read(compiled)
    out = {}
    for t in compiled.project.tasks:
        why = unscorable_reason(compiled, t, configured, readable)
        if why is not None:
            out[t.id] = why
    return out


def lacks_evaluator(task: Any) -> bool:
    """The task's metric scores an evaluator's reading of the generated media, and it has no
    evaluator route (neither its own nor the metric's, which profiles.yml configures)."""
    impl = task.metric.implementation
    inf = task.spec.inference
    return (impl is not None and impl.evaluator is not None and task.metric.evaluator is None
            and (inf is None or inf.evaluator is None))


def describe_missing_evaluators(compiled: CompiledProject) -> str:
    """The tasks with data whose metric reads an evaluator's output and that have no evaluator, or
    whose reference is of a kind the metric cannot compare the reading with: what each needs (they
    are run, their generated files stored, and not scored until it is there)."""
    p = compiled.project
    readable = reference_kinds_read(compiled)
    needs: dict[str, list[str]] = {}
    wrong_ref: dict[str, list[str]] = {}
    unread: dict[str, list[str]] = {}  # a metric scored from predictions that cannot read the task's references
    retyped = p.binding.retyped if p.binding is not None else {}
    for t in p.tasks:
        impl, ds = t.metric.implementation, t.spec.dataset
        if ds is None or impl is None:
            continue
        if impl.evaluator is None:
            kinds = readable.get(t.spec.metric)
            if kinds is not None and ds.reference not in kinds:
                why = f" (type {t.spec.type} from annotation.json)" if t.id in retyped else ""
                unread.setdefault(f"{t.spec.metric} (reads {', '.join(kinds)})", []).append(
                    f"{t.id}: {ds.reference}{why}")
            continue
        if lacks_evaluator(t):
            needs.setdefault(t.spec.metric, []).append(t.id)
        kinds = readable.get(t.spec.metric)
        if kinds is not None and ds.reference not in kinds:
            wrong_ref.setdefault(t.spec.metric, []).append(f"{t.id} ({ds.reference})")
    if not needs and not wrong_ref and not unread:
        return ""

    def shown(ids: list[str]) -> str:
        return ", ".join(ids[:5]) + (f", ... (+{len(ids) - 5})" if len(ids) > 5 else "")

    lines = []
    if needs:
        lines.append(f"{plural(sum(map(len, needs.values())), 'task')} not scored: the metric reads what an "
                     "evaluator sees in the generated media and the task has no inference.evaluator (add one to "
                     "the task spec, or overrides.evaluator / overrides.other_references; docs/metrics.md, "
                     "\"Metrics read by an evaluator\"):")
        what = {m.name: m.implementation.evaluator for m in p.metrics if m.implementation is not None}
        for name, ids in sorted(needs.items()):
            lines.append(f"  {name}: {shown(ids)}\n    needs: {what[name]}")
    if wrong_ref:
        lines.append(f"{plural(sum(map(len, wrong_ref.values())), 'task')} not scored: the metric compares the "
                     "evaluator's reading with reference labels and the task's reference is another kind (set "
                     "overrides.reference to the record field holding the labels, kind label, labels or text):")
        lines += [f"  {name}: {shown(ids)}" for name, ids in sorted(wrong_ref.items())]
    if unread:  # run, their predictions stored, but no score: not 'not attempted' without a word
        lines.append(f"{plural(sum(map(len, unread.values())), 'task')} not scored: the task's references are of a "
                     "kind its metric does not read (their predictions are made and stored; the boards count the "
                     "task without a score). Check the type of the task's data, or give the task a metric that "
                     "reads them:")
        lines += [f"  {name}: {shown(ids)}" for name, ids in sorted(unread.items())]
    return "\n".join(lines)


def reference_kinds_read(compiled: CompiledProject) -> dict[str, tuple[str, ...] | None]:
    """Per metric with an implementation: the reference kinds its macro reads (None: any); those
    the compile read (and the compile cache keeps), else read from the macro templates now."""
    if compiled.references is not None:
        return dict(compiled.references)
    from glc.compiler.render import TemplateRenderer, macro_references

    p = compiled.project
    renderer = TemplateRenderer(p.root / "sql", p.root)  # one renderer: each template compiled once
    by_macro: dict[str, tuple[str, ...] | None] = {}
    out: dict[str, tuple[str, ...] | None] = {}
    for m in p.metrics:
        if m.implementation is None:
            continue
        macro = m.implementation.macro
        if macro not in by_macro:
            by_macro[macro] = macro_references(renderer, macro)
        out[m.name] = by_macro[macro]
    return out


def describe_binding(p: Any) -> str:
    """What ``glc compile`` says about the data folder: per modality, bound / missing / unmatched.

    Folder names come from the data tree, which may come from anyone: each name (and every message
    that quotes one) is printed through ``printable``, so a newline in a folder name cannot forge a
    line of this report, nor an escape sequence reach the terminal."""
    from glc.importers.safety import printable

    b = p.binding
    lines = [f"data: {printable(str(b.root))} (from {printable(b.source)})"]
    for modality, n_bound, total in b.per_modality():
        missing = b.missing.get(modality, [])
        lines.append(f"  {modality:<6} {n_bound}/{plural(total, 'task')} bound"
                     + (f"; {len(missing)} without a folder: "
                     + ", ".join(printable(m) for m in missing[:8])
                     + (f", ... (+{len(missing) - 8})" if len(missing) > 8 else "")
                     if missing else ""))
    loose = sum(1 for h in b.how.values() if h != "exact")
    if loose:
        lines.append(f"  {loose} bound by a loose name match or an alias (see glc ls tasks)")
    if b.retyped:
        shown = ", ".join(printable(f"{tid} ({a} -> {c})") for tid, (a, c) in list(b.retyped.items())[:5])
        lines.append(f"  {len(b.retyped)} task(s) take their type from annotation.json: {shown}"
                     + (" ..." if len(b.retyped) > 5 else ""))
    if b.unmatched:
        shown = ", ".join(printable(str(u)) for u in b.unmatched[:8])
        lines.append(f"  {len(b.unmatched)} folder(s) match no task: {shown}"
                     + (f", ... (+{len(b.unmatched) - 8})" if len(b.unmatched) > 8 else ""))
    lines += [f"  problem: {printable(msg)}" for msg in b.problems]
    return "\n".join(lines)


def computed_from(m: MetricSpec, configured: set[str]) -> str:
    """How a metric's task scores come about: ``predictions``; ``evaluator:NAME`` (read by a learned
    model or judge that profiles.yml configures) or ``needs:NAME`` (not configured yet); ``import-only``."""
    if m.implementation is None:
        return "import-only"
    if m.evaluator is None:
        return "predictions"
    estimated = " (judge-estimated, not human)" if m.evaluator.estimates_human else ""
    return f"{'evaluator' if m.evaluator.name in configured else 'needs'}:{m.evaluator.name}{estimated}"


def _needs(m: MetricSpec, configured: set[str], ev: MetricEvaluator | None) -> str:
    """``-``, or ``evaluator:NAME`` when the metric's evaluator ``ev`` (the one the task's readings
    come from: ``Task.metric_evaluator``) is not configured in profiles.yml."""
    if m.implementation is None or ev is None or ev.name in configured:
        return "-"
    return f"evaluator:{ev.name}"


def render_metric_details(compiled: CompiledProject) -> str:
    """``glc ls metrics --details``: each metric, how it is computed and its conventions (where
    glc had to choose, or differs from the reference implementation)."""
    blocks = []
    configured = set(load_evaluators(compiled.project.root))
    for m in compiled.project.metrics:
        impl = m.implementation
        how = f"{impl.macro} ({impl.level} level)" if impl else "imported scores only"
        lines = [f"{m.name}: {m.title} [{how}]"]
        if impl and m.evaluator is not None:
            ev = m.evaluator
            state = ("configured" if ev.name in configured else
                     f"not configured: set profiles.yml evaluators: {{{ev.name}: "
                     + ("{path: FOLDER}}" if ev.reads in ("features", "labels") else "{runner: ..., args: {...}}}"))
            side = f", reference: {ev.reference}" if ev.reference != "none" else ""
            per = (f", the top {ev.top_k} per {ev.segment_s:g} s segment of the generated audio"
                   if ev.reads == "labels" else "")
            lines.append(f"  evaluator: {ev.name} (reads {ev.reads}{per}{side}; {state}) needs {ev.needs}")
            if ev.estimates_human:
                lines.append("  judge-estimated: the judge's number estimates a human rating; it is not one "
                             "(import real ratings with glc import scores)")
        if impl and impl.args:
            lines.append("  args: " + ", ".join(f"{k}={v}" for k, v in impl.args.items()))
        if impl and impl.evaluator:
            lines.append(f"  scores an evaluator's reading: {impl.evaluator}")
        lines += [f"  - {c}" for c in m.conventions]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render_rows(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(nothing)"
    from glc.importers.safety import printable

    head = list(rows[0])
    # a task's data folder is named by the data tree, names by specs: anyone's; a newline in one would
    # forge a row, an escape sequence drive the terminal
    body = [[printable(str(r[c])) for c in head] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body]
    return "\n".join(lines)
