"""``glc explain``: why a model has its level, with the formulas filled in.

Reads the built tables of one level variant and scope: the level row (``level_scores``), the
group sums (``group_scores__<variant>``), the levels of each part (``part_scores__<variant>``:
the whole scope, or each modality for a partitioned variant), the counts per modality
(``modality_counts__<variant>``), the tasks that add most to S_C/S_G/S_L
(``task_contributions__<variant>``), the tasks lost to SoTA by the smallest margin
(``task_wins__<variant>.shortfall``), each formula with the model's numbers, and what would move
the model up a level. It also says what the level rests on (glc.analysis.basis): wins that are ties with
the SoTA, tasks not attempted, partial coverage, tasks without a SoTA, and the bootstrap intervals
of the board (``level_intervals``) once ``glc bootstrap`` has stored them.

Every number it prints is a column of those SQL nodes: this module selects, orders and formats
rows, and never evaluates a General-Level formula itself (docs/general-level.md; the SQL is the
reference).
"""

from __future__ import annotations

from typing import Any

import duckdb
from sqlglot import exp

from glc.analysis.basis import cells, model_notes, set_aside_imports
from glc.analysis.leaderboard import LEVELS, leaderboard_intervals
from glc.compiler.errors import GlcError
from glc.compiler.plan import CompiledProject
from glc.compiler.resolve import Scope, VariantSpec
from glc.engine.store import DIALECT

GROUP_NAMES = {"C": "comprehension", "G": "generation", "L": "language"}
TOP = 5
TASK_COLUMNS = (
    "task_id",
    "task_name",
    "task_group",
    "modality",
    "metric",
    "raw_score",
    "sota",
    "sigma",
    "sigma_sota",
    "supported",
    "win",
    "tie",
    "has_sota",
    "n_instances",
    "n_scored",
    "complete",
    "source",
)
MODALITY_COLUMNS = ("modality", "task_group", "n_tasks", "n_supported", "n_wins", "n_ties")


def _rows(con: duckdb.DuckDBPyConnection, query: exp.Expression) -> list[dict[str, Any]]:
    rel = con.sql(query.sql(DIALECT))
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def _eq(col: str, value: Any, table: str | None = None) -> exp.Expression:
    return exp.column(col, table=table).eq(exp.convert(value))


def _table(name: str, alias: str) -> exp.Expr:
    return exp.alias_(exp.to_table(name), alias, table=True)


def explain(con: duckdb.DuckDBPyConnection, compiled: CompiledProject, model: str, level: VariantSpec,
            scope: Scope) -> dict[str, Any]:
    v = level.name

    def node_of(template: str) -> str:  # the node of the variant, from the manifest
        return compiled.node(template, variant=v).name
    where = exp.and_(_eq("model", model), _eq("variant", v), _eq("scope", scope.name))
    row = _rows(con, exp.select("*").from_("level_scores").where(where))
    if not row:
        models = [r[0] for r in con.execute("SELECT DISTINCT model FROM level_scores").fetchall()]
        from glc.compiler.suggest import did_you_mean

        if model in models:  # a board without rows (its tasks all lack a SoTA), not an unknown model
            from glc.analysis.basis import empty_board_reason, scope_sota_counts

            raise GlcError(f"model '{model}' has no level on scope '{scope.name}' (variant {v})",
                           hint=empty_board_reason(*scope_sota_counts(con, scope.name)))
        raise GlcError(f"no model '{model}' in level_scores", hint=did_you_mean(model, models) or "run `glc run`")
    board = exp.and_(_eq("model", model), _eq("scope", scope.name))
    groups = _rows(con, exp.select("*").from_(node_of("group_scores")).where(board).order_by("part", "task_group"))
    parts = _rows(
        con,
        exp.select("part", "n_parts", "level_2", "level_3", "level_4", "s_c", "s_g")
        .from_(node_of("part_scores"))
        .where(board)
        .order_by("part"),
    )
    modalities = _rows(
        con,
        exp.select(*MODALITY_COLUMNS).from_(node_of("modality_counts")).where(board).order_by("modality", "task_group"),
    )
    tasks = _rows(
        con,
        exp.select(
            *(exp.column(c, "t" if c == "task_name" else "w") for c in TASK_COLUMNS),
            exp.column("contribution", "c"),
            exp.column("shortfall", "w"),
        )
        .from_(_table(node_of("task_wins"), "w"))
        .join(
            _table("scope_tasks", "st"),
            on=exp.and_(exp.column("task_id", "st").eq(exp.column("task_id", "w")), _eq("scope", scope.name, "st")),
        )
        .join(_table("tasks", "t"), on=exp.column("task_id", "t").eq(exp.column("task_id", "w")))
        .join(
            _table(node_of("task_contributions"), "c"),
            join_type="left",
            on=exp.and_(
                *(
                    exp.column(k, "c").eq(exp.column(k, o))
                    for k, o in (("model", "w"), ("scope", "st"), ("task_id", "w"))
                )
            ),
        )
        .where(_eq("model", model, "w"))
        .order_by(exp.column("task_id", "w")),
    )
    for t in tasks:  # the JSON keeps its shape: a contribution on won tasks, a sigma gap on lost ones
        if not t["win"]:
            del t["contribution"]
        if t["shortfall"] is None:
            del t["shortfall"]
    won = sorted((t for t in tasks if t["win"]), key=lambda t: -t["sigma"])
    lost = sorted((t for t in tasks if "shortfall" in t), key=lambda t: (t["shortfall"], t["task_id"]))
    result = row[0]
    stored = leaderboard_intervals(con, v, scope.name)  # the board's bootstrap intervals, when stored
    intervals = None if stored is None else {
        "confidence": stored.confidence, **{f"level_{k}": list(stored.of(model, k)) for k in LEVELS}}
    pending = [t for t in tasks if not t["has_sota"]]
    notes = model_notes(result, v, set_aside=set_aside_imports(con, [model], scope.task_ids).get(model, 0))
    if result["n_pending"]:
        notes.append(
            f"{result['n_pending']} task(s) of this scope have no SoTA yet: scored, but left out of every "
            "level until one is recorded (`glc sota record`)"
        )
    return {
        "model": model,
        "variant": v,
        "scope": scope.name,
        "max_level": scope.entry.max_level,
        "level": result["level"],
        "scores": {k: result[k] for k in ("level_2", "level_3", "level_4", "level_5", "s_c", "s_g", "s_l")},
        "intervals": intervals,  # {confidence, level_K: [lo, hi]} from `glc bootstrap`; None before it
        "basis": {
            **{
                k: result[k]
                for k in (
                    "level_without_ties",
                    "n_tasks",
                    "n_attempted",
                    "n_wins",
                    "n_ties",
                    "n_pending",
                    "n_complete",
                    "instances_scored",
                    "instances_total",
                    "n_imported",
                )
            },
            **cells(result),
        },
        "notes": notes,
        "not_attempted": [t for t in tasks if t["has_sota"] and not t["supported"]],
        "partial": [t for t in tasks if t["supported"] and not t["complete"]],
        "pending": pending,
        "groups": groups,
        "parts": parts,
        "modalities": modalities,
        "top_contributors": won[:TOP],
        "closest_losses": lost[:TOP],
        "formulas": _formulas(result, groups, parts),
        "next_level": _next_level(result, groups, scope, lost),
    }


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}" if abs(x) < 1e4 else f"{x:.6g}"


def _formulas(r: dict[str, Any], groups: list[dict[str, Any]], parts: list[dict[str, Any]]) -> list[str]:
    """Each formula with the model's numbers: sums and counts from group_scores, the values of each
    part from part_scores, the averages and Level-5 from level_scores."""
    by = {(g["part"], g["task_group"]): g for g in groups}
    out = []
    for p in parts:
        part = p["part"]
        c, g = by.get((part, "C")), by.get((part, "G"))
        where = "" if part == "all" else f" [{part}]"
        if c and g:
            out.append(
                f"Level-2{where} = 1/2 (sum_C sigma / M + sum_G sigma / N) = 1/2 "
                f"({_fmt(c['sum_sigma'])} / {c['n_tasks']} + {_fmt(g['sum_sigma'])} / {g['n_tasks']})"
                f" = {_fmt(p['level_2'])}"
            )
            out.append(
                f"Level-3{where} = 1/2 (S_C + S_G) = 1/2 ({_fmt(p['s_c'])} + {_fmt(p['s_g'])}) = {_fmt(p['level_3'])}"
            )
            out.append(
                f"Level-4{where} = 2 S_C S_G / (S_C + S_G) = 2 * {_fmt(p['s_c'])} * {_fmt(p['s_g'])}"
                f" / ({_fmt(p['s_c'])} + {_fmt(p['s_g'])}) = {_fmt(p['level_4'])}"
            )
        else:
            out.append(f"Level-2{where} = mean sigma = {_fmt(p['level_2'])}")
            out.append(f"Level-3{where} = S = {_fmt(p['level_3'])}")
    if parts and parts[0]["n_parts"] > 1:
        out.append(
            f"averaged over {parts[0]['n_parts']} modalities: Level-2 = {_fmt(r['level_2'])}, "
            f"Level-3 = {_fmt(r['level_3'])}, Level-4 = {_fmt(r['level_4'])}"
        )
    if r["level_5"] is not None:
        out.append(
            f"Level-5 = Level-4 * S_L / 100 = {_fmt(r['level_4'])} * {_fmt(r['s_l'])} / 100 = {_fmt(r['level_5'])}"
        )
    return out


def _next_level(r: dict[str, Any], groups: list[dict[str, Any]], scope: Scope, lost: list[dict[str, Any]]) -> str:
    """What would move the model up, naming only the task groups the scope holds."""
    level, cap = r["level"], scope.entry.max_level
    if level >= cap:
        return f"Level-{level} is the highest this scope measures."
    held = {g["task_group"] for g in groups}
    won = {g["task_group"] for g in groups if g["n_wins"]}
    present = [g for g in ("C", "G", "L") if g in held]
    paradigms = [g for g in ("C", "G") if g in present]
    either = " or ".join(GROUP_NAMES[g] for g in paradigms)

    def nearest(*wanted: str) -> str:
        cand = [t for t in lost if t["task_group"] in wanted]
        return f" (closest: '{cand[0]['task_name']}', {_fmt(cand[0]['shortfall'])} sigma points short)" if cand else ""

    if level < 2:
        nlp = " (NLP counts from Level-5 on)" if "L" in present else ""
        return f"Score a {either} task: Level-2 averages those{nlp}."
    if level == 2:
        return f"Beat or tie the SoTA on one {either} task" + nearest(*paradigms) + "."
    if level == 3:
        absent = [GROUP_NAMES[g] for g in ("C", "G") if g not in present]
        if absent:
            return (
                f"Level-3 is the highest this scope can reach: it holds no {absent[0]} task, and Level-4 "
                "needs wins in comprehension and generation."
            )
        missing = [g for g in ("C", "G") if g not in won]
        hint = " and ".join(f"one {GROUP_NAMES[g]} task{nearest(g)}" for g in missing) or "both paradigms"
        return f"Win {hint}: Level-4 needs wins in comprehension and generation."
    if "L" not in present:
        return "Level-4 is the highest this scope can reach: it holds no NLP task, and Level-5 needs S_L > 0."
    return "Win one NLP task" + nearest("L") + ": Level-5 needs S_L > 0."


def _won(g: dict[str, Any]) -> str:
    ties = g.get("n_ties") or 0
    return f"{g['n_wins']} won" + (f" ({ties} {'tie' if ties == 1 else 'ties'})" if ties else "")


def render(info: dict[str, Any]) -> str:
    s = info["scores"]
    lines = [
        f"{info['model']} - Level-{info['level']} (variant {info['variant']}, scope {info['scope']}, "
        f"at most Level-{info['max_level']})",
        "  " + "  ".join(f"{k}={_fmt(v)}" for k, v in s.items()),
    ]
    iv = info.get("intervals")
    if iv:
        shown = [f"{k}=[{_fmt(iv[k][0])}, {_fmt(iv[k][1])}]" for k in ("level_2", "level_3", "level_4", "level_5")
                 if iv[k][0] is not None and iv[k][1] is not None]
        if shown:
            lines.append(f"  {iv['confidence'] * 100:g}% bootstrap intervals: " + "  ".join(shown))
    b = info["basis"]
    lines.append(
        f"  rests on: {b['attempted']} tasks attempted, wins {b['wins']}, coverage {b['coverage']}; "
        f"Level-{b['level_without_ties']} without ties"
    )
    lines += [f"  warning: {n}" for n in info["notes"]]
    lines += ["", "groups:"]
    for g in info["groups"]:
        where = "" if g["part"] == "all" else f"{g['part']} "
        lines.append(
            f"  {where}{GROUP_NAMES[g['task_group']]}: {g['n_supported']}/{g['n_tasks']} supported, "
            f"{_won(g)}, mean sigma {_fmt(g['mean_sigma'])}, S {_fmt(g['s'])}"
        )
    lines += ["", "per modality:"]
    lines += [
        f"  {m['modality']} {GROUP_NAMES[m['task_group']]}: {m['n_supported']}/{m['n_tasks']} supported, {_won(m)}"
        for m in info["modalities"]
    ]
    lines += ["", "formulas:"] + [f"  {f}" for f in info["formulas"]]
    lines += ["", "tasks contributing most:"]
    lines += [
        f"  {t['task_name']} [{t['task_group']}] sigma {_fmt(t['sigma'])} (raw {_fmt(t['raw_score'])} vs SoTA "
        f"{_fmt(t['sota'])}{', a tie' if t['tie'] else ''}) adds {_fmt(t['contribution'])}"
        for t in info["top_contributors"]
    ] or ["  (no win)"]
    lines += ["", "lost to SoTA by the smallest margin:"]
    lines += [
        f"  {t['task_name']} [{t['task_group']}] sigma {_fmt(t['sigma'])} vs {_fmt(t['sigma_sota'])} "
        f"(raw {_fmt(t['raw_score'])} vs {_fmt(t['sota'])})"
        for t in info["closest_losses"]
    ] or ["  (none)"]
    for title, key, what in (
        ("not attempted (no score, counted 0)", "not_attempted", lambda t: ""),
        ("partial (instances scored / instances)", "partial", lambda t: f" {t['n_scored']}/{t['n_instances']}"),
        ("no SoTA yet (scored, not counted)", "pending", lambda t: f" raw {_fmt(t['raw_score'])}"),
    ):
        if info[key]:
            lines += ["", f"{title}:"]
            lines += [f"  {t['task_name']} [{t['task_id']}]{what(t)}" for t in info[key][:TOP]]
            if len(info[key]) > TOP:
                lines.append(f"  ... and {len(info[key]) - TOP} more")
    lines += ["", "to move up: " + info["next_level"]]
    return "\n".join(lines)
