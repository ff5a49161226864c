"""``glc docs``: a browsable, offline catalog generated from the compiled project and manifest.

One HTML page: the tasks (filterable), every metric with its normalization curve sigma(x)
drawn as SVG from the same formula the SQL uses (sampled through DuckDB, so the picture is
the compiled rule, not a re-implementation), the level variants and scopes, the columns of
the documented models (YAML beside their templates, ``glc.compiler.column_docs``), and the DAG
of SQL nodes in dependency layers with links to their compiled SQL.
"""

from __future__ import annotations

import html
from pathlib import Path

import duckdb

from glc.compiler.column_docs import ModelDocs, annotate_sql, docs_for
from glc.compiler.nodes import CompiledNode
from glc.compiler.plan import CompiledProject
from glc.compiler.spec_models import MetricSpec
from glc.engine.build import ancestors, build
from glc.words import plural

POINTS = 60


def _domain(m: MetricSpec) -> tuple[float, float]:
    lo = m.range.min if m.range.min is not None else 0.0
    hi = m.range.max if m.range.max is not None else {"distance": 4 * getattr(m.normalization, "threshold", 25),
                                                      "db": 60.0}.get(m.unit, 150.0)
    return lo, hi


def _curves(compiled: CompiledProject) -> dict[str, list[tuple[float, float]]]:
    """sigma(x) per metric, computed by the compiled task_sota SQL on synthetic SoTA rows."""
    from glc.compiler.resolve import Task
    from glc.compiler.seeds import build_seeds
    from glc.compiler.spec_models import TaskSpec

    tasks, points = [], {}
    for m in compiled.project.metrics:
        lo, hi = _domain(m)
        for i in range(POINTS + 1):
            x = lo + (hi - lo) * i / POINTS
            tid = f"curve.{m.name}.{i}"
            tasks.append(Task(TaskSpec.model_validate({"id": tid, "name": tid, "modality": "nlp", "paradigm": "nlp",
                                                       "metric": m.name, "sota": {"value": x}}), m, "docs"))
            points[tid] = (m.name, x)
    con = duckdb.connect(":memory:")
    try:
        build(con, compiled, ancestors(compiled, ["task_sota"]), seeds=build_seeds(compiled.project, tasks))
        rows = con.execute("SELECT task_id, sigma_sota FROM task_sota").fetchall()
    finally:
        con.close()
    out: dict[str, list[tuple[float, float]]] = {}
    for tid, sigma in rows:
        name, x = points[tid]
        out.setdefault(name, []).append((x, sigma))
    return {k: sorted(v) for k, v in out.items()}


def _svg(points: list[tuple[float, float]], w: int = 220, h: int = 90) -> str:
    lo, hi = points[0][0], points[-1][0]
    span = (hi - lo) or 1.0
    def xy(x: float, y: float | None) -> str:
        return f"{10 + (x - lo) / span * (w - 20):.1f},{h - 15 - (y or 0) / 100 * (h - 25):.1f}"
    path = " ".join(("M" if i == 0 else "L") + xy(x, y) for i, (x, y) in enumerate(points))
    return (f'<svg class="curve" width="{w}" height="{h}"><line x1="10" y1="{h - 15}" x2="{w - 10}" y2="{h - 15}" '
            f'stroke="#999"/><path d="{path}" fill="none" stroke="#4e79a7" stroke-width="2"/>'
            f'<text x="10" y="{h - 2}" font-size="10">{lo:g}</text>'
            f'<text x="{w - 40}" y="{h - 2}" font-size="10">{hi:g}</text></svg>')


def _columns_section(compiled: CompiledProject, column_docs: dict[str, ModelDocs]) -> str:
    """One block per documented template: its description, its nodes, its columns with type and doc."""
    esc = html.escape
    nodes: dict[str, list[CompiledNode]] = {}
    for n in compiled.nodes:  # dependency order
        d = docs_for(n, column_docs)
        if d is not None:
            nodes.setdefault(d.template, []).append(n)
    blocks = []
    for template, ns in nodes.items():
        d = column_docs[template]
        rows = "".join(
            f"<tr class='column'><td><code>{esc(c.name)}</code></td><td>{esc(c.type) if c.type != 'ANY' else ''}</td>"
            f"<td>{esc(d.columns.get(c.name, '(no doc)'))}</td></tr>" for c in ns[0].columns)
        links = ", ".join(f"<a href='sql/{esc(n.name)}.sql'>{esc(n.name)}</a>" for n in ns)
        blocks.append(f"<div class='model' id='model-{esc(d.name)}'><h3>{esc(d.name)}</h3><p>{esc(d.description)}</p>"
                      f"<p>nodes: {links}; template <code>{esc(template)}</code>, docs <code>{esc(d.path)}</code></p>"
                      f"<table><thead><tr><th>column</th><th>type</th><th>description</th></tr></thead>"
                      f"<tbody>{rows}</tbody></table></div>")
    return "".join(blocks)


def build_docs(compiled: CompiledProject, out: Path, column_docs: dict[str, ModelDocs] | None = None) -> Path:
    p = compiled.project
    column_docs = column_docs or {}
    out.mkdir(parents=True, exist_ok=True)
    (out / "sql").mkdir(exist_ok=True)
    for node in compiled.nodes:
        node_docs = docs_for(node, column_docs)
        sql = annotate_sql(node.sql, node_docs) if node_docs else node.sql  # what `glc show` prints
        (out / "sql" / f"{node.name}.sql").write_text(sql, encoding="utf-8")
    curves = _curves(compiled)
    esc = html.escape
    task_rows = "".join(
        f"<tr><td>{esc(t.id)}</td><td>{esc(t.spec.name)}</td><td>{esc(t.spec.modality)}</td>"
        f"<td>{esc(t.spec.paradigm)}</td>"
        f"<td>{esc(t.spec.metric)}</td>"
        + (f"<td>{t.spec.sota.value:g}</td><td>{esc(t.spec.sota.source)}</td></tr>" if t.spec.sota else
           "<td>none yet</td><td>not counted in any level until a SoTA is recorded</td></tr>")
        for t in p.tasks)
    metric_cards = "".join(
        f"<div class='metric' id='metric-{esc(m.name)}'><h3>{esc(m.name)}</h3><p>{esc(m.title)}; "
        f"{esc(m.direction)} is better; normalization <code>{esc(m.normalization.kind)}</code>"
        f"{'; computed by macro <code>' + esc(m.implementation.macro) + '</code>' if m.implementation else ''}"
        f"</p>{_svg(curves[m.name])}</div>" for m in p.metrics)
    levels = "".join(f"<dt>{esc(lv.name)}</dt><dd>{esc(lv.description)} (win: {esc(lv.win)}, group_by: "
                     f"{esc(lv.group_by)})</dd>" for lv in p.variants)
    scopes = "".join(f"<li>{esc(s.name)}: {esc(s.entry.title)}, {plural(len(s.task_ids), 'task')}, up to Level-"
                     f"{s.entry.max_level}</li>" for s in p.scopes)
    depth: dict[str, int] = {}
    for n in compiled.nodes:  # dependency order: a node sits one layer below its deepest input
        depth[n.name] = 1 + max((depth[d] for d in n.depends_on), default=0)
    layers: dict[int, list[str]] = {}
    for name, d in depth.items():
        layers.setdefault(d, []).append(name)
    dag = "".join(f"<li>layer {d}: " + ", ".join(f"<a href='sql/{esc(n)}.sql'>{esc(n)}</a>" for n in sorted(ns))
                  + "</li>" for d, ns in sorted(layers.items()))
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>glc docs: {esc(p.benchmark.title)}</title><style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }} table {{ border-collapse: collapse; font-size: 12px; }}
td, th {{ border: 1px solid #ccc; padding: 2px 5px; }} .metric {{ display: inline-block; width: 240px;
vertical-align: top; margin: 0 1em 1em 0; font-size: 12px; }}</style></head><body>
<h1>{esc(p.benchmark.title)}</h1><p>{plural(len(p.tasks), 'task')}, {plural(len(p.metrics), 'metric')},
{plural(len(compiled.nodes), 'SQL node')}; manifest fingerprint
<code>{esc(compiled.manifest['fingerprint'][:16])}</code>.</p>
<h2>Level variants</h2><dl>{levels}</dl><h2>Scopes</h2><ul>{scopes}</ul>
<h2>Metrics and their normalization curves</h2><div id="metrics">{metric_cards}</div>
<h2>Columns of the documented models</h2><div id="columns">{_columns_section(compiled, column_docs)}</div>
<h2>SQL DAG</h2><ul id="dag">{dag}</ul>
<h2>Tasks</h2><input id="q" placeholder="filter" oninput="for (const r of document.querySelectorAll('#tasks tbody tr'))
r.hidden = !r.textContent.toLowerCase().includes(this.value.toLowerCase())">
<table id="tasks"><thead><tr><th>id</th><th>name</th><th>modality</th><th>paradigm</th><th>metric</th><th>SoTA</th>
<th>source</th></tr></thead><tbody>{task_rows}</tbody></table></body></html>"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
