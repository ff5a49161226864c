"""``glc report``: a static HTML report that works offline, for a paper's appendix or a leaderboard site.

One page, one file (the compiled SQL of the level models is copied beside it for the links):

* the default board (``leaderboard``: rank, Level-2..5 with bootstrap intervals from
  ``level_intervals`` when ``glc bootstrap`` stored them, what each row rests on) and its notes
  (glc.analysis.basis);
* Level-2..5 compared side by side: one bar chart per level, one bar per model in rank order,
  with axes, tick labels, values and interval whiskers (inline SVG drawn by report.js);
* per model, in rank order: the Level ladder (which level, by what it is held, what would lift
  it: ``level_ladder__V``), the modality x paradigm grid (``paradigm_cells__V``) and the gap to
  the SoTA on the tasks it wins by most and loses by least (``task_gaps__V``);
* per task: every model's raw and normalized score next to the SoTA, with coverage and markers
  (``task_wins__V``);
* the other boards, the data-quality warnings and the level definitions.

Every number is a value of a SQL node, formatted; the only arithmetic here is the display-only
difference of two ``level_score`` values between neighbours on the board. Names come from
strangers: Python writes them through ``html.escape``, report.js through ``textContent``, and the
embedded JSON is escaped for the script element. Readable on a phone (tables scroll in their own
box) and printable (print CSS). No external URL.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb

from glc.analysis.basis import (
    MODALITY_ORDER,
    PARADIGM_ORDER,
    board_notes,
    cells,
    closed_set_tasks,
    empty_board_reason,
    model_notes,
    rests_on_ties,
    scope_sota_counts,
    set_aside_imports,
)
from glc.analysis.leaderboard import LEVELS, SHOWN, Intervals, interval_cells, leaderboard_intervals
from glc.compiler.contracts import quote_ident
from glc.compiler.plan import CompiledProject
from glc.compiler.resolve import VariantSpec
from glc.engine.data_tests import DataTestResult

ASSETS = Path(__file__).parent / "report_assets"
GROUP_NAMES = {"C": "comprehension", "G": "generation", "L": "NLP"}
GAP_TASKS = 6  # tasks per model in the gap chart: the widest wins and the closest losses, each


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    rel = con.execute(sql, params or [])
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def _num(x: Any, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _esc(x: Any) -> str:
    return html.escape(_num(x, 4))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


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


def _table(rows: list[dict[str, Any]], cols: list[str], table_id: str | None = None,
           cls: str | None = None) -> str:
    """A table in its own scroll box; numbers keep their full value in ``data-v`` (sorting, tests)."""
    def cell(x: Any) -> str:
        return f'<td data-v="{html.escape(str(x))}">{_esc(x)}</td>' if isinstance(x, float) else f"<td>{_esc(x)}</td>"
    # a header may break after '_' (level_5_ci95) on a narrow page, nowhere else
    head = "".join(f"<th>{html.escape(c).replace('_', '_<wbr>')}</th>" for c in cols)
    body = "".join("<tr>" + "".join(cell(r[c]) for c in cols) + "</tr>" for r in rows)
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    klass = f' class="{html.escape(cls)}"' if cls else ""
    return f'<div class="scroll"><table{ident}{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def task_status(t: dict[str, Any]) -> str:
    """What a per-task result rests on, in words: not attempted, no SoTA yet, partial, a tie with the SoTA."""
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


def _outcome(t: dict[str, Any]) -> str:
    """One word for a (model, task) result: win, tie, loss, not attempted, pending (no SoTA)."""
    if not t["supported"]:
        return "not attempted"
    if not t["has_sota"]:
        return "pending"
    if t["tie"]:
        return "tie"
    return "win" if t["win"] else "loss"


def _flags(r: dict[str, Any]) -> str:
    """Short markers of what a board row rests on (the notes under the board say it in full)."""
    out = []
    if rests_on_ties(r):
        out.append(f"rests on ties (Level-{r['level_without_ties']} without)")
    missing = int(r["n_tasks"] or 0) - int(r["n_attempted"] or 0)  # display-only difference of two SQL counts
    if missing > 0:
        out.append(f"{missing} not attempted")
    if int(r["n_complete"] or 0) < int(r["n_attempted"] or 0):
        out.append("partial")
    if r["n_imported"]:
        out.append(f"{r['n_imported']} imported")
    if r["n_pending"]:
        out.append(f"{r['n_pending']} without SoTA")
    return "; ".join(out) or "-"


# --- the Level ladder --------------------------------------------------------------------------


def _wins_of(g: dict[str, Any] | None) -> str:
    if g is None:
        return "none in this scope"
    ties = g["n_ties"]
    tie_text = f" ({_plural(ties, 'tie')})" if ties else ""
    return f"{_plural(g['n_wins'], 'win')}{tie_text} of {g['n_tasks']}"


def _closest(g: dict[str, Any] | None, names: dict[str, str]) -> str:
    if g is None or g["closest_task_id"] is None:
        return ""
    return (f"; closest: {names.get(g['closest_task_id'], g['closest_task_id'])} "
            f"(σ gap to the SoTA {_num(g['closest_sigma_gap'])})")


def _none_tried(g: dict[str, Any]) -> str:
    return f" ({g['n_supported']} of {g['n_tasks']} attempted)" if not g["n_supported"] else ""


def _kind(t: dict[str, Any]) -> str:
    return t["modality"] if t["modality"] == t["paradigm"] else f"{t['modality']} {t['paradigm']}"


def ladder(r: dict[str, Any], groups: dict[str, dict[str, Any]], level: VariantSpec, max_level: int,
           names: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    """The ladder of one model on one board: a headline (which level, what holds it, what would lift
    it) and one rung per level 2..max_level with its score, its rule and its state. Every number is a
    value of ``leaderboard`` or ``level_ladder__V``; the words are the rules of docs/general-level.md."""
    c, g, lang = groups.get("C"), groups.get("G"), groups.get("L")
    paradigms = [x for x in (c, g) if x is not None]
    by_modality = level.group_by == "modality"
    both = "a modality where comprehension and generation are both won" if by_modality else \
        "S_C and S_G both > 0: wins in comprehension and in generation"
    rules = {2: "Level-2 > 0: a score on some comprehension or generation task",
             3: "Level-3 > 0: a win in comprehension or generation (S_C or S_G > 0)",
             4: f"Level-4 > 0: {both}",
             5: "Level-5 > 0: Level-4 > 0 and S_L > 0, a win in NLP"}

    def held(k: int) -> str:
        if k == 2:
            return "; ".join(f"{GROUP_NAMES[x['task_group']]}: {x['n_supported']} of {x['n_tasks']} attempted"
                             for x in paradigms)
        if k == 3:
            return "; ".join(f"{GROUP_NAMES[x['task_group']]}: {_wins_of(x)}" for x in paradigms)
        if k == 4:
            text = f"comprehension: {_wins_of(c)}; generation: {_wins_of(g)}"
            if by_modality and c is not None:
                text += f"; both won in {c['n_parts_both_won']} of {c['n_parts_with_both']} modalities"
            return text
        return f"NLP: {_wins_of(lang)}"

    def lift(k: int) -> str:
        if k == 2:
            return "score a comprehension or generation task"
        if k == 3:
            near = max((x for x in paradigms if x["closest_task_id"] is not None),
                       key=lambda x: x["closest_sigma_gap"], default=None)
            if near is None:
                return "no attempted comprehension or generation task is lost: attempt one"
            return "win one comprehension or generation task" + _closest(near, names)
        if k == 4:
            if c is None or g is None:
                return f"this board holds no {'generation' if g is None else 'comprehension'} task"
            zero = [x for x in (c, g) if not x["n_wins"]]
            if zero:
                return "; ".join(f"{GROUP_NAMES[x['task_group']]}: 0 wins{_closest(x, names) or _none_tried(x)}"
                                 for x in zero)
            if by_modality:
                return "comprehension and generation wins lie in different modalities: win both in one"
            return "win in comprehension and in generation"
        if lang is None:
            return "this board holds no NLP task"
        if not lang["n_wins"]:
            return "NLP: 0 wins" + (_closest(lang, names) or _none_tried(lang))
        return "reach Level-4 first"

    rungs = []
    for k in range(2, max_level + 1):
        score = r[f"level_{k}"]
        reached = r["level"] >= k
        state = "reached" if reached else "next" if k == r["level"] + 1 else "above"
        rungs.append({"k": k, "score": score, "rule": rules[k], "state": state,
                      "detail": held(k) if reached or state == "next" else "",
                      "lift": "" if reached else lift(k) if state == "next" else ""})
    lv = r["level"]
    head = f"Level-{lv} reached" if lv >= 2 else "Level-1 (no score on a comprehension or generation task)"
    if lv >= 2:
        head += f" (Level-{lv} = {_num(r['level_score'])}"
        if r["n_ties"]:
            head += f"; {_plural(r['n_ties'], 'tie')} with the SoTA among its wins, " + \
                ("counted as wins under this variant" if level.win == "at_least" else "not counted as wins")
        head += ")"
    if rests_on_ties(r):
        head += f"; without its ties Level-{r['level_without_ties']}"
    if lv < max_level:
        nxt = rungs[lv - 1] if lv >= 2 else rungs[0]
        head += f". {nxt['rule'].replace(' > 0:', ' needs', 1)}: {nxt['lift']}"
    else:
        head += f". Level-{lv} is the highest this board measures"
    return head + ".", rungs


def _ladder_html(rungs: list[dict[str, Any]]) -> str:
    items = []
    for rung in reversed(rungs):  # top of the ladder first
        mark = {"reached": "✓", "next": "→", "above": "·"}[rung["state"]]
        held = "held" if rung["state"] == "reached" else "sofar"
        extra = "".join(f'<div class="{cls}">{html.escape(text)}</div>'
                        for cls, text in ((held, rung["detail"]), ("lift", rung["lift"])) if text)
        value = rung["score"]
        items.append(f'<li class="rung {rung["state"]}" data-level="{rung["k"]}">'
                     f'<span class="mark" aria-hidden="true">{mark}</span>'
                     f'<span class="lv">Level-{rung["k"]}</span>'
                     f'<span class="val" data-v="{html.escape(str(value))}">{_esc(value)}</span>'
                     f'<div class="rule">{html.escape(rung["rule"])}</div>{extra}</li>')
    return f'<ol class="ladder">{"".join(items)}</ol>'


def _grid_html(cells_: list[dict[str, Any]], win_rule: str) -> str:
    """The modality x paradigm grid of one model (``paradigm_cells__V``)."""
    by = {(x["modality"], x["paradigm"]): x for x in cells_}
    mods = [m for m in MODALITY_ORDER if any(k[0] == m for k in by)]
    pars = [p for p in PARADIGM_ORDER if any(k[1] == p for k in by)]
    head = "".join(f"<th>{html.escape(p)}</th>" for p in pars)
    body = []
    for m in mods:
        tds = []
        for p in pars:
            x = by.get((m, p))
            if x is None:
                tds.append('<td class="none">-</td>')
                continue
            ties = (f" ({_plural(x['n_ties'], 'tie')})" if win_rule == "at_least"
                    else f", {_plural(x['n_ties'], 'tie')} (no win)") if x["n_ties"] else ""
            lines = [f"<b>{x['n_wins']}</b> won{ties}", f"{x['n_losses']} lost",
                     f"{x['n_supported']}/{x['n_tasks']} attempted"]
            if x["n_not_attempted"]:
                lines.append(f'<span class="na">{x["n_not_attempted"]} not attempted</span>')
            if x["n_pending"]:
                lines.append(f'<span class="pending">{x["n_pending"]} without SoTA</span>')
            if x["n_partial"]:
                lines.append(f'<span class="partial">{x["n_partial"]} partial</span>')
            # the shade: nothing won, some won, all won (compared, not computed)
            shade = "w0" if not x["n_wins"] else "w4" if x["n_wins"] >= x["n_tasks"] else "w2"
            attrs = "".join(f' data-{k.replace("_", "-")}="{x[k]}"' for k in
                            ("n_tasks", "n_supported", "n_wins", "n_ties", "n_losses", "n_not_attempted", "n_pending"))
            tds.append(f'<td class="cell {shade}"{attrs}>{"<br>".join(lines)}</td>')
        body.append(f"<tr><th>{html.escape(m)}</th>{''.join(tds)}</tr>")
    return (f'<div class="scroll"><table class="grid"><thead><tr><th>modality</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


# --- the page -----------------------------------------------------------------------------------


def build_report(con: duckdb.DuckDBPyConnection, compiled: CompiledProject, tests: list[DataTestResult],
                 out: Path) -> Path:
    p = compiled.project
    lv, scope = p.default_variant, p.default_scope
    v, s = lv.name, scope.name
    out.mkdir(parents=True, exist_ok=True)
    (out / "sql").mkdir(exist_ok=True)
    for node in compiled.nodes:
        (out / "sql" / f"{node.name}.sql").write_text(node.sql, encoding="utf-8")

    def node_of(template: str) -> str:  # the node of the default variant, from the manifest, quoted
        return quote_ident(compiled.node(template, variant=v).name)

    names = {r["task_id"]: r["task_name"] for r in _rows(con, "SELECT task_id, task_name FROM tasks")}
    boards: dict[str, tuple[list[dict[str, Any]], Intervals | None]] = {
        sc.name: (_rows(con, "SELECT * FROM leaderboard WHERE variant = ? AND scope = ? ORDER BY rank, model",
                        [v, sc.name]), leaderboard_intervals(con, v, sc.name)) for sc in p.scopes}
    ranked, intervals = boards[s]
    order = [r["model"] for r in ranked]
    ladders = _rows(con, f"SELECT * FROM {node_of('level_ladder')} WHERE scope = ? ORDER BY model, task_group", [s])
    grid = _rows(con, f"SELECT * FROM {node_of('paradigm_cells')} WHERE scope = ? ORDER BY model, modality, paradigm",
                 [s])
    gaps = _rows(con, f"SELECT model, task_id, task_group, raw_score, sota, sigma, sigma_sota, win, tie, sigma_gap "
                      f"FROM {node_of('task_gaps')} WHERE scope = ? AND NOT sigma_gap IS NULL "
                      "ORDER BY model, sigma_gap DESC, task_id", [s])
    tasks = _task_rows(con, node_of("task_wins"))

    descriptions = {m.spec.name: m.spec.description for m in p.models if m.spec.description}
    ci_cols, ci_rows = interval_cells(ranked, intervals)
    board_cols = _board_cols(scope.entry.max_level)
    shown = [{**r, **cells(r), **ci, "rests on": _flags(r)} for r, ci in zip(ranked, ci_rows, strict=True)]
    notes = board_notes(ranked, v, descriptions, closed_set_tasks(con, [r["model"] for r in ranked], scope.task_ids),
                        set_aside_imports(con, [r["model"] for r in ranked], scope.task_ids))

    # per model, in rank order: ladder, grid, gap chart data
    chart_gaps: list[dict[str, Any]] = []
    model_html = []
    for i, r in enumerate(ranked):
        m = r["model"]
        groups = {g["task_group"]: g for g in ladders if g["model"] == m}
        head, rungs = ladder(r, groups, lv, scope.entry.max_level, names)
        mine = [g for g in gaps if g["model"] == m]
        won = [g for g in mine if g["win"]][:GAP_TASKS]
        lost = [g for g in mine if not g["win"]][:GAP_TASKS]
        chart_gaps.append({"model": m, "tasks": [
            {"task": names.get(g["task_id"], g["task_id"]), "task_id": g["task_id"], "gap": g["sigma_gap"],
             "win": g["win"], "tie": g["tie"], "sigma": g["sigma"], "sigma_sota": g["sigma_sota"]}
            for g in won + lost]})
        behind = ""
        if i + 1 < len(ranked) and ranked[i + 1]["level"] == r["level"] and r["level"] >= 2:
            nxt = ranked[i + 1]
            # display-only difference of two leaderboard values
            behind = (f'<p class="margin">Ahead of the next on the board ({html.escape(nxt["model"])}, '
                      f'rank {nxt["rank"]}) by {_num(r["level_score"] - nxt["level_score"])} Level-{r["level"]} '
                      "points.</p>")
        about = descriptions.get(m)
        model_notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in model_notes(r, v))
        model_html.append(
            f'<article class="model" data-model-index="{i}">'
            f'<h3><span class="rank">#{r["rank"]}</span> <span class="name">{html.escape(m)}</span> '
            f'<span class="badge l{r["level"]}">Level-{r["level"]}</span></h3>'
            + (f'<p class="about">{html.escape(" ".join(about.split()))}</p>' if about else "")
            + f'<p class="headline">{html.escape(head)}</p>{behind}'
            f'<div class="two"><div><h4>Level ladder</h4>{_ladder_html(rungs)}</div>'
            f'<div><h4>Modality × paradigm</h4>{_grid_html([x for x in grid if x["model"] == m], lv.win)}</div></div>'
            + (f'<ul class="notes">{model_notes_html}</ul>' if model_notes_html else "")
            + f'<h4>Gap to SoTA (σ − σ SoTA): widest wins, closest losses</h4>'
            f'<div class="gap-chart" data-model-index="{i}"></div></article>')

    # per task: one row per task, a column per model in rank order
    by_task: dict[str, dict[str, dict[str, Any]]] = {}
    for row in tasks:
        by_task.setdefault(row["task_id"], {})[row["model"]] = row
    rank_of = {r["model"]: r["rank"] for r in ranked}
    task_models = order + sorted({t["model"] for t in tasks} - set(order))
    head = "".join(f'<th data-model="{html.escape(m)}">{html.escape(m)}'
                   f'{f" <small>#{rank_of[m]}</small>" if m in rank_of else ""}</th>' for m in task_models)
    trows = []
    for task_id in sorted(by_task, key=lambda k: _task_key(next(iter(by_task[k].values())))):
        per = by_task[task_id]
        t0 = next(iter(per.values()))
        sota = (f'<td data-v="{html.escape(str(t0["sota"]))}">{_esc(t0["sota"])}<br><small>σ {_esc(t0["sigma_sota"])}'
                "</small></td>") if t0["has_sota"] else '<td data-v=""><span class="pending">no SoTA yet</span></td>'
        model_cells = []
        for m in task_models:
            t = per.get(m)
            if t is None:
                model_cells.append("<td>-</td>")
                continue
            kind = _outcome(t)
            coverage = ("imported" if t["source"] == "imported" else "") if t["n_instances"] is None else \
                f'{t["n_scored"]}/{t["n_instances"]} scored'
            status = task_status(t)
            body = ('<span class="na">not attempted</span>' if not t["supported"] else
                    f'{_esc(t["raw_score"])}<br><small>σ {_esc(t["sigma"])}</small>'
                    + (f'<br><small class="{"partial" if not t["complete"] else "cov"}">{coverage}</small>'
                       if coverage else "")
                    + f'<br><span class="tag {kind}">{kind}</span>')
            title = f' title="{html.escape(status)}"' if status else ""
            model_cells.append(f'<td class="res {kind.replace(" ", "-")}" data-model="{html.escape(m)}" '
                               f'data-v="{html.escape("" if t["raw_score"] is None else str(t["raw_score"]))}" '
                               f'data-sigma="{html.escape(str(t["sigma"]))}" data-outcome="{kind}"{title}>{body}</td>')
        trows.append(f'<tr data-task="{html.escape(task_id)}"><td class="task">{html.escape(t0["task_name"])}'
                     f'<br><small>{html.escape(task_id)}</small></td><td>{html.escape(_kind(t0))}</td><td>{html.escape(t0["metric"])}'
                     f'{" ↓" if t0["direction"] == "lower" else ""}</td>{sota}{"".join(model_cells)}</tr>')
    task_table = (f'<div class="scroll"><table id="tasks"><thead><tr><th>task</th><th>modality, paradigm</th>'
                  f'<th>metric</th><th>SoTA</th>{head}</tr></thead><tbody>{"".join(trows)}</tbody></table></div>')

    other = []
    for sc in p.scopes:
        if sc.name == s:
            continue
        rows, ivs = boards[sc.name]
        cc, cr = interval_cells(rows, ivs)
        rows = [{**r, **cells(r), **ci, "rests on": _flags(r)} for r, ci in zip(rows, cr, strict=True)]
        # a board without rows says why (its tasks all lack a SoTA, or no model has results)
        why = "" if rows else f'<p class="note">{html.escape(empty_board_reason(*scope_sota_counts(con, sc.name)))}</p>'
        other.append(f'<section class="board" data-scope="{html.escape(sc.name)}"><h3>{html.escape(sc.entry.title)} '
                     f'<small>{html.escape(sc.name)}, up to Level-{sc.entry.max_level}</small></h3>'
                     f'{_table(rows, [*_board_cols(sc.entry.max_level), *cc, "rests on"])}{why}</section>')

    data = {
        "default_variant": v, "default_scope": s, "max_level": scope.entry.max_level,
        "models": sorted(order), "order": order,
        "confidence": intervals.confidence if intervals else None,
        "levels": [{"model": r["model"], "rank": r["rank"], "level": r["level"],
                    **{f"level_{k}": r[f"level_{k}"] for k in LEVELS},
                    "ci": {str(k): list(intervals.of(r["model"], k)) for k in LEVELS} if intervals else None}
                   for r in ranked],
        "gaps": chart_gaps,
    }
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes) or "<li>nothing to add</li>"
    warnings = [t for t in tests if t.status != "pass"]
    warn_html = "".join(f"<li class='{html.escape(t.status)}'><pre>{html.escape(t.describe())}</pre></li>"
                        for t in warnings) or "<li>none</li>"
    def sql_link(template: str, variant: str, text: str) -> str:  # the compiled SQL of a variant's node
        return f"<a href='sql/{html.escape(compiled.node(template, variant=variant).name)}.sql'>{text}</a>"

    defs = "".join(
        f"<dt>{html.escape(x.title)} (<code>{html.escape(x.name)}</code>)</dt><dd>{html.escape(x.description)} "
        f"SQL: {sql_link('task_wins', x.name, 'wins')}, {sql_link('group_scores', x.name, 'groups')}, "
        f"{sql_link('level_scores', x.name, 'levels')}, {sql_link('level_ladder', x.name, 'ladder')}</dd>"
        for x in p.variants)
    ci_note = (f"Intervals: {intervals.confidence * 100:g} % bootstrap percentile intervals from "
               "<code>glc bootstrap</code> (<code>level_intervals</code>); <code>~</code> marks an interval that "
               "overlaps the next rank's." if intervals else
               "No bootstrap intervals stored: <code>glc bootstrap</code> adds them to the board and the charts.")
    fingerprint = html.escape(compiled.manifest["fingerprint"][:16])
    whisker = "; the whisker is its interval" if intervals else ""
    title = html.escape(p.benchmark.title)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>glc report: {title}</title>
<style>{(ASSETS / "report.css").read_text(encoding="utf-8")}</style></head>
<body>
<header><h1>{title} <small>version {html.escape(p.benchmark.version)}</small></h1>
<p class="meta">General-Level report: {_plural(len(order), 'model')} on board <b>{html.escape(scope.entry.title)}</b>
(<code>{html.escape(s)}</code>, up to Level-{scope.entry.max_level}), level variant <b>{html.escape(lv.title)}</b>
(<code>{html.escape(v)}</code>), spec fingerprint <code>{fingerprint}</code>.</p>
<nav><a href="#board">Leaderboard</a> <a href="#compare">Levels compared</a> <a href="#models">Models</a>
<a href="#tasks-section">Tasks</a> <a href="#other">Other boards</a> <a href="#quality">Data quality</a>
<a href="#definitions">Definitions</a></nav></header>
<main>
<h2 id="board">Leaderboard</h2>
<section class="board" data-scope="{html.escape(s)}">{_table(shown, [*board_cols, *ci_cols, "rests on"])}</section>
<p class="small">{ci_note} Rank: by level reached, then by that level's score; equal pairs share a rank.</p>
<h3>What these numbers rest on</h3><ul id="basis">{notes_html}</ul>
<h2 id="compare">Level-2..{scope.entry.max_level} compared</h2>
<p class="small">One chart per level, one bar per model in rank order, its value at the end{whisker}. A level is
reached when its score is above 0.</p>
<div id="level-chart"></div>
<h2 id="models">Models</h2>{''.join(model_html)}
<h2 id="tasks-section">Tasks</h2>
<p class="small">Raw score, σ (normalized, 0–100) and instances scored / instances per model, next to the SoTA;
↓ marks a lower-is-better metric (its win compares raw values). Hover a cell for what it rests on.</p>
<input id="task-filter" type="search" placeholder="filter tasks, modalities, metrics" aria-label="filter tasks">
{task_table}
<h2 id="other">Other boards</h2>{''.join(other) or '<p>none</p>'}
<h2 id="quality">Data quality</h2><ul id="warnings">{warn_html}</ul>
<h2 id="definitions">Level definitions</h2><dl>{defs}</dl>
</main>
<script type="application/json" id="glc-data">{script_json(data)}</script>
<script>{(ASSETS / "report.js").read_text(encoding="utf-8")}</script>
</body></html>
"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    shutil.copy(ASSETS / "report.css", out / "report.css")
    return index


def _board_cols(max_level: int) -> list[str]:
    """The board's columns without variant and scope (the same on every row: said in the heading) and
    without the levels (and S_L) the board does not define."""
    undefined = {f"level_{k}" for k in LEVELS if k > max_level} | ({"s_l"} if max_level < 5 else set())
    return [c for c in SHOWN if c not in ("variant", "scope", *undefined)]


def _task_rows(con: duckdb.DuckDBPyConnection, wins: str) -> list[dict[str, Any]]:
    return _rows(con, "SELECT w.model, w.task_id, t.task_name, w.modality, w.paradigm, w.metric, met.direction, "
                      "w.sota, w.sigma_sota, w.raw_score, w.sigma, w.win, w.tie, w.supported, w.has_sota, w.complete, "
                      f"w.n_instances, w.n_scored, w.source FROM {wins} AS w "
                      "JOIN tasks AS t USING (task_id) JOIN metrics AS met ON met.metric = w.metric "
                      "ORDER BY w.task_id, w.model")


def _task_key(t: dict[str, Any]) -> tuple[int, int, str]:
    return (MODALITY_ORDER.index(t["modality"]) if t["modality"] in MODALITY_ORDER else 99,
            PARADIGM_ORDER.index(t["paradigm"]) if t["paradigm"] in PARADIGM_ORDER else 99, t["task_id"])
