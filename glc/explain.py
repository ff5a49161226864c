"""``glc explain``: why a model has its level, with the formulas filled in.

Reads the built tables of one level variant and scope: the level row, the group aggregates
(per modality for a partitioned variant), the tasks that contribute most to S_C/S_G/S_L,
the tasks lost to SoTA by the smallest margin, each formula with the model's numbers, and
what would move the model up a level. It also says what the level rests on (glc.basis): wins
that are ties with the SoTA, tasks not attempted, partial coverage, tasks without a SoTA.
"""

from __future__ import annotations

from typing import Any

import duckdb
from sqlglot import exp

from glc.basis import cells, model_notes
from glc.compiler.errors import GlcError
from glc.compiler.resolve import LevelSpec, Scope
from glc.store import DIALECT

GROUP_NAMES = {"C": "comprehension", "G": "generation", "L": "language"}
TOP = 5


def _rows(con: duckdb.DuckDBPyConnection, query: exp.Expression) -> list[dict[str, Any]]:
    rel = con.sql(query.sql(DIALECT))
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def _eq(col: str, value: Any, table: str | None = None) -> exp.Expression:
    return exp.column(col, table=table).eq(exp.convert(value))


def explain(con: duckdb.DuckDBPyConnection, model: str, level: LevelSpec, scope: Scope) -> dict[str, Any]:
    v = level.name
    where = exp.and_(_eq("model", model), _eq("variant", v), _eq("scope", scope.name))
    row = _rows(con, exp.select("*").from_("level_scores").where(where))
    if not row:
        models = [r[0] for r in con.execute("SELECT DISTINCT model FROM level_scores").fetchall()]
        from glc.compiler.suggest import did_you_mean

        raise GlcError(f"no model '{model}' in level_scores", hint=did_you_mean(model, models) or "run `glc run`")
    groups = _rows(con, exp.select("*").from_(f"group_scores__{v}")
                   .where(exp.and_(_eq("model", model), _eq("scope", scope.name))).order_by("part", "task_group"))
    tasks = _rows(con, exp.select("w.task_id", "t.task_name", "w.task_group", "w.modality", "w.metric", "w.raw_score",
                                  "w.sota", "w.sigma", "w.sigma_sota", "w.supported", "w.win", "w.tie", "w.has_sota",
                                  "w.n_instances", "w.n_scored", "w.complete", "w.source")
                  .from_(exp.alias_(exp.to_table(f"task_wins__{v}"), "w", table=True))
                  .join(exp.alias_(exp.to_table("scope_tasks"), "st", table=True),
                        on=exp.and_(exp.column("task_id", "st").eq(exp.column("task_id", "w")),
                                    _eq("scope", scope.name, "st")))
                  .join(exp.alias_(exp.to_table("tasks"), "t", table=True),
                        on=exp.column("task_id", "t").eq(exp.column("task_id", "w")))
                  .where(_eq("model", model, "w")))
    n_group: dict[str, int] = {}
    for g in groups:
        n_group.setdefault(g["task_group"], 0)
        n_group[g["task_group"]] += g["n_tasks"]
    won = sorted((t for t in tasks if t["win"]), key=lambda t: -t["sigma"])
    for t in won:
        t["contribution"] = t["sigma"] / n_group[t["task_group"]]
    lost = [t for t in tasks if t["supported"] and t["has_sota"] and not t["win"]]
    for t in lost:
        t["sigma_gap"] = t["sigma_sota"] - t["sigma"]
    lost.sort(key=lambda t: (t["sigma_gap"], t["task_id"]))
    per_modality: dict[tuple[str, str], dict[str, int]] = {}
    for t in tasks:
        if not t["has_sota"]:
            continue
        cell = per_modality.setdefault((t["modality"], t["task_group"]),
                                       {"n_tasks": 0, "n_supported": 0, "n_wins": 0, "n_ties": 0})
        cell["n_tasks"] += 1
        cell["n_supported"] += int(bool(t["supported"]))
        cell["n_wins"] += int(bool(t["win"]))
        cell["n_ties"] += int(bool(t["win"] and t["tie"]))
    result = row[0]
    pending = [t for t in tasks if not t["has_sota"]]
    notes = model_notes(result, v)
    if pending:
        notes.append(f"{len(pending)} task(s) of this scope have no SoTA yet: scored, but left out of every level "
                     "until one is recorded (`glc sota record`)")
    return {
        "model": model, "variant": v, "scope": scope.name, "max_level": scope.board.max_level,
        "level": result["level"], "scores": {k: result[k] for k in
                                             ("level_2", "level_3", "level_4", "level_5", "s_c", "s_g", "s_l")},
        "basis": {**{k: result[k] for k in ("level_without_ties", "n_tasks", "n_attempted", "n_wins", "n_ties",
                                             "n_pending", "n_complete", "instances_scored", "instances_total")},
                  **cells(result)},
        "notes": notes,
        "not_attempted": [t for t in tasks if t["has_sota"] and not t["supported"]],
        "partial": [t for t in tasks if t["supported"] and not t["complete"]],
        "pending": pending,
        "groups": groups,
        "modalities": [{"modality": m, "task_group": g, **c} for (m, g), c in sorted(per_modality.items())],
        "top_contributors": won[:TOP],
        "closest_losses": lost[:TOP],
        "formulas": _formulas(result, groups, level),
        "next_level": _next_level(result, groups, scope, lost),
    }


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}" if abs(x) < 1e4 else f"{x:.6g}"


def _formulas(r: dict[str, Any], groups: list[dict[str, Any]], level: LevelSpec) -> list[str]:
    by = {(g["part"], g["task_group"]): g for g in groups}
    parts = sorted({g["part"] for g in groups if g["task_group"] != "L"})
    out = []
    for part in parts:
        c, g = by.get((part, "C")), by.get((part, "G"))
        where = "" if part == "all" else f" [{part}]"
        if c and g:
            out.append(f"Level-2{where} = 1/2 (sum_C sigma / M + sum_G sigma / N) = 1/2 "
                       f"({_fmt(c['mean_sigma'] * c['n_tasks'])} / {c['n_tasks']} + "
                       f"{_fmt(g['mean_sigma'] * g['n_tasks'])} / {g['n_tasks']})"
                       f" = {_fmt((c['mean_sigma'] + g['mean_sigma']) / 2)}")
            out.append(f"Level-3{where} = 1/2 (S_C + S_G) = 1/2 ({_fmt(c['s'])} + {_fmt(g['s'])})"
                       f" = {_fmt((c['s'] + g['s']) / 2)}")
            l4 = 0.0 if not (c["s"] > 0 and g["s"] > 0) else 2 * c["s"] * g["s"] / (c["s"] + g["s"])
            out.append(f"Level-4{where} = 2 S_C S_G / (S_C + S_G) = 2 * {_fmt(c['s'])} * {_fmt(g['s'])}"
                       f" / ({_fmt(c['s'])} + {_fmt(g['s'])}) = {_fmt(l4)}")
        else:
            only = c or g
            if only:
                out.append(f"Level-2{where} = mean sigma = {_fmt(only['mean_sigma'])}")
                out.append(f"Level-3{where} = S = {_fmt(only['s'])}")
    if level.partition == "modality" and len(parts) > 1:
        out.append(f"averaged over {len(parts)} modalities: Level-2 = {_fmt(r['level_2'])}, "
                   f"Level-3 = {_fmt(r['level_3'])}, Level-4 = {_fmt(r['level_4'])}")
    if r["level_5"] is not None:
        out.append(f"Level-5 = Level-4 * S_L / 100 = {_fmt(r['level_4'])} * {_fmt(r['s_l'])} / 100"
                   f" = {_fmt(r['level_5'])}")
    return out


def _next_level(r: dict[str, Any], groups: list[dict[str, Any]], scope: Scope,
                lost: list[dict[str, Any]]) -> str:
    """What would move the model up, naming only the task groups the scope holds."""
    level, cap = r["level"], scope.board.max_level
    if level >= cap:
        return f"Level-{level} is the highest this scope measures."
    wins: dict[str, int] = {}
    for g in groups:
        wins[g["task_group"]] = wins.get(g["task_group"], 0) + g["n_wins"]
    present = [g for g in ("C", "G", "L") if g in wins]
    paradigms = [g for g in ("C", "G") if g in present]
    either = " or ".join(GROUP_NAMES[g] for g in paradigms)

    def nearest(*wanted: str) -> str:
        cand = [t for t in lost if t["task_group"] in wanted]
        return f" (closest: '{cand[0]['task_name']}', {_fmt(cand[0]['sigma_gap'])} sigma points short)" if cand else ""
    if level < 2:
        nlp = " (NLP counts from Level-5 on)" if "L" in present else ""
        return f"Score a {either} task: Level-2 averages those{nlp}."
    if level == 2:
        return f"Beat or tie the SoTA on one {either} task" + nearest(*paradigms) + "."
    if level == 3:
        absent = [GROUP_NAMES[g] for g in ("C", "G") if g not in present]
        if absent:
            return (f"Level-3 is the highest this scope can reach: it holds no {absent[0]} task, and Level-4 "
                    "needs wins in comprehension and generation.")
        missing = [g for g in ("C", "G") if not wins.get(g)]
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
    lines = [f"{info['model']} - Level-{info['level']} (variant {info['variant']}, scope {info['scope']}, "
             f"at most Level-{info['max_level']})",
             "  " + "  ".join(f"{k}={_fmt(v)}" for k, v in s.items())]
    b = info["basis"]
    lines.append(f"  rests on: {b['attempted']} tasks attempted, wins {b['wins']}, coverage {b['coverage']}; "
                 f"Level-{b['level_without_ties']} without ties")
    lines += [f"  warning: {n}" for n in info["notes"]]
    lines += ["", "groups:"]
    for g in info["groups"]:
        where = "" if g["part"] == "all" else f"{g['part']} "
        lines.append(f"  {where}{GROUP_NAMES[g['task_group']]}: {g['n_supported']}/{g['n_tasks']} supported, "
                     f"{_won(g)}, mean sigma {_fmt(g['mean_sigma'])}, S {_fmt(g['s'])}")
    lines += ["", "per modality:"]
    lines += [f"  {m['modality']} {GROUP_NAMES[m['task_group']]}: {m['n_supported']}/{m['n_tasks']} supported, "
              f"{_won(m)}" for m in info["modalities"]]
    lines += ["", "formulas:"] + [f"  {f}" for f in info["formulas"]]
    lines += ["", "tasks contributing most:"]
    lines += [f"  {t['task_name']} [{t['task_group']}] sigma {_fmt(t['sigma'])} (raw {_fmt(t['raw_score'])} vs SoTA "
              f"{_fmt(t['sota'])}{', a tie' if t['tie'] else ''}) adds {_fmt(t['contribution'])}"
              for t in info["top_contributors"]] or ["  (no win)"]
    lines += ["", "lost to SoTA by the smallest margin:"]
    lines += [f"  {t['task_name']} [{t['task_group']}] sigma {_fmt(t['sigma'])} vs {_fmt(t['sigma_sota'])} "
              f"(raw {_fmt(t['raw_score'])} vs {_fmt(t['sota'])})" for t in info["closest_losses"]] or ["  (none)"]
    for title, key, what in (("not attempted (no score, counted 0)", "not_attempted", lambda t: ""),
                             ("partial (instances scored / instances)", "partial",
                              lambda t: f" {t['n_scored']}/{t['n_instances']}"),
                             ("no SoTA yet (scored, not counted)", "pending",
                              lambda t: f" raw {_fmt(t['raw_score'])}")):
        if info[key]:
            lines += ["", f"{title}:"]
            lines += [f"  {t['task_name']} [{t['task_id']}]{what(t)}" for t in info[key][:TOP]]
            if len(info[key]) > TOP:
                lines.append(f"  ... and {len(info[key]) - TOP} more")
    lines += ["", "to move up: " + info["next_level"]]
    return "\n".join(lines)
