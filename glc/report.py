"""``glc report``: a static HTML report that works offline.

One page: leaderboards per scope (rank, levels, tasks attempted, wins and ties, coverage,
intervals), what the default board rests on (glc.basis notes), Level-2..5 bars and a modality x
paradigm win heatmap per model (ties counted; drawn by inline JavaScript from data embedded in
the page), the per-task table (SoTA, raw, normalized, win, tie, coverage, status) with sorting
and filtering, the data-quality warnings, and the level definitions linked to their compiled
SQL, copied beside the page. No CDN.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb

from glc.basis import board_notes, cells
from glc.compiler.plan import CompiledProject
from glc.data_tests import DataTestResult
from glc.leaderboard import COLUMNS, SHOWN, interval_cells, leaderboard_intervals

ASSETS = Path(__file__).parent / "report_assets"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    rel = con.execute(sql, params or [])
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def _esc(x: Any) -> str:
    return html.escape("-" if x is None else f"{x:.4f}" if isinstance(x, float) else str(x))


# '<', '>' and '&' never appear in JSON outside strings, and inside strings their \\u escapes decode to the
# same text: with none of them left, no '</script', '<!--' or '-->' can end or re-mode the script element.
# U+2028/U+2029 are line terminators in pre-ES2019 JavaScript, so they are escaped too.
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                              "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script_json(data: Any) -> str:
    """JSON text safe to embed verbatim in a ``<script>`` element (model names are untrusted input).

    Escaping only ``</`` is not enough: a string holding ``<!--<script>`` switches the HTML tokenizer into
    the "script data double escaped" state, the closing tag is swallowed and the page's own script never runs.
    """
    return json.dumps(data, ensure_ascii=False, default=str).translate(_SCRIPT_SAFE)


def _table(rows: list[dict[str, Any]], cols: list[str], table_id: str | None = None) -> str:
    def cell(x: Any) -> str:  # numbers keep their full value for sorting
        return f'<td data-v="{html.escape(str(x))}">{_esc(x)}</td>' if isinstance(x, float) else f"<td>{_esc(x)}</td>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(cell(r[c]) for c in cols) + "</tr>" for r in rows)
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def task_status(t: dict[str, Any]) -> str:
    """What a per-task row rests on, in words: not attempted, no SoTA yet, partial, a tie with the SoTA."""
    parts = []
    if not t["supported"]:
        parts.append("not attempted")
    if not t["has_sota"]:
        parts.append("no SoTA yet (not counted)")
    if t["supported"] and not t["complete"]:
        parts.append(f"partial ({t['n_scored']}/{t['n_instances']} instances)")
    if t["tie"]:
        parts.append("tie with SoTA" + (" (a win)" if t["win"] else " (no win under this variant)"))
    return "; ".join(parts)


def build_report(con: duckdb.DuckDBPyConnection, compiled: CompiledProject, tests: list[DataTestResult],
                 out: Path) -> Path:
    p = compiled.project
    v, s = p.default_level.name, p.default_scope.name
    out.mkdir(parents=True, exist_ok=True)
    (out / "sql").mkdir(exist_ok=True)
    for node in compiled.nodes:
        (out / "sql" / f"{node.name}.sql").write_text(node.sql, encoding="utf-8")
    levels = _rows(con, "SELECT * FROM level_scores ORDER BY variant, scope, model")
    board = _rows(con, "SELECT * FROM leaderboard ORDER BY variant, scope, rank, model")
    models = sorted({r["model"] for r in levels})
    wins = _rows(con, f"SELECT model, modality, paradigm, count(*) AS n_tasks, count_if(win) AS n_wins, "
                      f"count_if(win AND tie) AS n_ties FROM task_wins__{v} WHERE has_sota "
                      "GROUP BY ALL ORDER BY ALL")  # v is a validated level name
    tasks = _rows(con, f"SELECT w.model, w.task_id, t.task_name, w.modality, w.paradigm, w.metric, w.sota, "
                       f"w.raw_score, w.sigma, w.sigma_sota, w.win, w.tie, w.supported, w.has_sota, w.complete, "
                       f"w.n_instances, w.n_scored, w.source FROM task_wins__{v} AS w "
                       "JOIN tasks AS t USING (task_id) ORDER BY w.model, w.task_id")
    for t in tasks:
        t["coverage"] = "-" if t["n_instances"] is None else f"{t['n_scored']}/{t['n_instances']}"
        t["status"] = task_status(t)
    data = {"default_variant": v, "default_scope": s, "models": models, "wins": wins,
            "levels": [{k: r[k] for k in COLUMNS} for r in levels]}
    sections = []
    notes: list[str] = []
    for scope in p.scopes:
        rows = [r for r in board if r["variant"] == v and r["scope"] == scope.name]
        # bootstrap intervals named for the level they are for; '~' marks overlapping ranks
        ci_cols, ci_rows = interval_cells(rows, leaderboard_intervals(con, v, scope.name))
        cols = [*SHOWN, *ci_cols]
        rows = [{**r, **cells(r), **ci} for r, ci in zip(rows, ci_rows, strict=True)]
        if scope.name == s:
            descriptions = {m.spec.name: m.spec.description for m in p.models if m.spec.description}
            notes = board_notes(rows, v, descriptions)
        sections.append(f'<section class="board" data-scope="{html.escape(scope.name)}">'
                        f"<h3>{html.escape(scope.board.title)} ({html.escape(scope.name)}, up to Level-"
                        f"{scope.board.max_level})</h3>{_table(rows, cols)}</section>")
    default_index = [sc.name for sc in p.scopes].index(s)
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes) or "<li>nothing to add</li>"
    warnings = [t for t in tests if t.status != "pass"]
    warn_html = "".join(f"<li class='{html.escape(t.status)}'><pre>{html.escape(t.describe())}</pre></li>"
                        for t in warnings) or "<li>none</li>"
    defs = "".join(
        f"<dt>{html.escape(lv.title)} (<code>{html.escape(lv.name)}</code>)</dt><dd>{html.escape(lv.description)} "
        f"SQL: <a href='sql/task_wins__{html.escape(lv.name)}.sql'>wins</a>, "
        f"<a href='sql/group_scores__{html.escape(lv.name)}.sql'>groups</a>, "
        f"<a href='sql/level_scores__{html.escape(lv.name)}.sql'>levels</a></dd>" for lv in p.levels)
    payload, fingerprint = script_json(data), html.escape(compiled.manifest["fingerprint"][:16])
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>glc report: {html.escape(p.benchmark.title)}</title>
<style>{(ASSETS / "report.css").read_text(encoding="utf-8")}</style></head>
<body>
<h1>{html.escape(p.benchmark.title)} <small>version {html.escape(p.benchmark.version)}</small></h1>
<p>Spec fingerprint <code>{fingerprint}</code>; level variant <b>{html.escape(v)}</b>.</p>
<h2>Leaderboard</h2>{sections[default_index]}
<h3>What these numbers rest on</h3><ul id="basis">{notes_html}</ul>
<h2>Level-2..5 ({html.escape(v)}, scope {html.escape(s)})</h2><div id="level-chart"></div>
<h2>Wins per modality and paradigm</h2><div id="heatmaps"></div>
<h2>Other scopes</h2>{''.join(x for i, x in enumerate(sections) if i != default_index)}
<h2>Tasks</h2><input id="task-filter" placeholder="filter tasks, models, metrics">
{_table(tasks, ['model', 'task_id', 'task_name', 'modality', 'paradigm', 'metric', 'sota', 'raw_score', 'sigma',
                'sigma_sota', 'win', 'tie', 'coverage', 'status', 'source'], 'tasks')}
<h2>Data quality</h2><ul id="warnings">{warn_html}</ul>
<h2>Level definitions</h2><dl>{defs}</dl>
<script type="application/json" id="glc-data">{payload}</script>
<script>{(ASSETS / "report.js").read_text(encoding="utf-8")}</script>
</body></html>
"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    shutil.copy(ASSETS / "report.css", out / "report.css")
    return index
