"""What a result rests on: ties with the SoTA, tasks not attempted, partial coverage, tasks
without a SoTA, and the models themselves.

``level_scores`` (and ``leaderboard``) carry the counts per (model, variant, scope):
``level_without_ties``, ``n_tasks``, ``n_attempted``, ``n_wins``, ``n_ties``, ``n_pending``,
``n_complete``, ``instances_scored``, ``instances_total``, ``n_imported``. This module turns them into the short
cells of the boards (``attempted``, ``wins``, ``coverage``) and into the notes printed under a
board by ``glc run`` and ``glc leaderboard``, and shown by ``glc explain`` and ``glc report``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

TEXT_COLUMNS = ("attempted", "wins", "coverage")


def _n(r: dict[str, Any], key: str) -> int:
    return int(r.get(key) or 0)


def attempted_text(r: dict[str, Any]) -> str:
    """``7/8``: tasks with a score of the board's tasks with a SoTA; ``+1 no SoTA`` when some lack one."""
    text = f"{_n(r, 'n_attempted')}/{_n(r, 'n_tasks')}"
    if _n(r, "n_pending"):
        text += f" +{_n(r, 'n_pending')} no SoTA"
    return text


def wins_text(r: dict[str, Any]) -> str:
    """``5 (5 ties)``: wins under the variant's rule, and how many of them are ties with the SoTA."""
    wins, ties = _n(r, "n_wins"), _n(r, "n_ties")
    if not ties:
        return str(wins)
    return f"{wins} ({ties} {'tie' if ties == 1 else 'ties'})"


def coverage_percent(r: dict[str, Any]) -> str | None:
    """Instances scored / instances of the attempted tasks, rounded down (99.6 % is not 100 %);
    None when no attempted task has instance-level scores (imported task scores only)."""
    total = r.get("instances_total")
    if not total:
        return None
    scored = int(r.get("instances_scored") or 0)
    return f"{100 * scored // int(total)}%"


def coverage_text(r: dict[str, Any]) -> str:
    """``100%``, or ``97% (12/14 tasks complete)`` for partial results; ``-`` for task scores only; ``(2
    imported)`` added when some attempted tasks' scores are imported task scores (outside the percentage)."""
    pct = coverage_percent(r)
    attempted, complete, imported = _n(r, "n_attempted"), _n(r, "n_complete"), _n(r, "n_imported")
    parts = [f"{complete}/{attempted} tasks complete"] if complete < attempted else []
    if imported:
        parts.append(f"{imported} imported")
    return f"{pct or '-'} ({', '.join(parts)})" if parts else pct or "-"


def cells(r: dict[str, Any]) -> dict[str, str]:
    return {"attempted": attempted_text(r), "wins": wins_text(r), "coverage": coverage_text(r)}


def rests_on_ties(r: dict[str, Any]) -> bool:
    lwt = r.get("level_without_ties")
    return lwt is not None and r.get("level") is not None and lwt < r["level"]


def model_notes(r: dict[str, Any], variant: str | None = None, closed: int = 0, set_aside: int = 0,
                all_imported: bool = True) -> list[str]:
    """What a model's row rests on, one sentence each (empty when nothing needs saying). ``closed``: how many
    tasks hold the model's predictions over data without references (a Close Set), run but never scored;
    ``set_aside``: how many tasks have an imported score that the score of the model's predictions replaces;
    ``all_imported``: whether to say so of a row whose every attempted task rests on imported scores (a board
    says it once for all such rows, ``board_notes``)."""
    notes = []
    wins, ties = _n(r, "n_wins"), _n(r, "n_ties")
    if rests_on_ties(r):
        alone = "ties alone" if ties == wins else "ties"
        hint = " (`--variant strict` counts no tie as a win)" if variant not in (None, "strict") else ""
        notes.append(f"Level-{r['level']} rests on {alone} with the SoTA: {wins} wins, {ties} of them ties; "
                     f"counting only results that beat the SoTA it is Level-{r['level_without_ties']}{hint}")
    missing = _n(r, "n_tasks") - _n(r, "n_attempted")
    if missing > 0:
        notes.append(f"{missing} of {_n(r, 'n_tasks')} tasks not attempted (no score): each counts 0 in its "
                     "group's denominator")
        if closed:
            notes.append(f"{closed} of them {'holds' if closed == 1 else 'hold'} its predictions, but their data "
                         "has no references "
                         "(a Close Set): run, not scored here; `glc export predictions --format general-bench` "
                         "writes them for the official scorer")
    attempted, complete = _n(r, "n_attempted"), _n(r, "n_complete")
    imported = _n(r, "n_imported")
    if imported and (all_imported or imported < attempted):
        which = f"all {attempted}" if imported >= attempted else f"{imported} of {attempted}"
        notes.append(f"{which} attempted tasks rest on imported task scores (`glc import scores`), not on predictions "
                     "scored here: no instances behind them, so they are outside the coverage and do not vary in "
                     "the bootstrap intervals")
    if set_aside:
        what, them = ("score of 1 task is", "it") if set_aside == 1 else (f"scores of {set_aside} tasks are", "them")
        notes.append(f"the imported {what} set aside: the model has predictions for {them}, and a score computed "
                     "from predictions comes first (partial predictions included)")
    if complete < attempted:
        pct = coverage_percent(r)
        share = f"{pct} of the instances scored" if pct else "instances missing"
        notes.append(f"partial results: {share}, {complete} of {attempted} attempted tasks complete; missing or "
                     "failed instances are scored as empty answers (`glc run` without --limit, or "
                     "`glc run --retry-failed`)")
    return notes


def board_notes(rows: Iterable[dict[str, Any]], variant: str | None = None,
                descriptions: dict[str, str] | None = None, closed: dict[str, int] | None = None,
                set_aside: dict[str, int] | None = None) -> list[str]:
    """Notes for one board: what each model is (its spec's description), what its row rests on,
    and the board's tasks without a SoTA. ``closed``: per model, the board's tasks that hold its
    predictions over data without references; ``set_aside``: per model, the board's tasks whose
    imported score its predictions' score replaces."""
    rows = list(rows)
    out = []
    for r in rows:
        about = (descriptions or {}).get(r["model"])
        if about:
            out.append(f"{r['model']}: {' '.join(about.split())}")
        out += [f"{r['model']}: {note}" for note in model_notes(r, variant, (closed or {}).get(r["model"], 0),
                                                                (set_aside or {}).get(r["model"], 0),
                                                                all_imported=False)]
    # the rows resting wholly on imported task scores, said once (a board of a thousand imported models
    # would otherwise carry a thousand copies of one sentence)
    imported = [r["model"] for r in rows if _n(r, "n_attempted") and _n(r, "n_imported") >= _n(r, "n_attempted")]
    if imported:
        more = f" and {len(imported) - 5} more" if len(imported) > 5 else ""
        who = ("every model of this board rests" if len(imported) == len(rows) else
               f"{len(imported)} model(s) ({', '.join(imported[:5])}{more}) rest")
        out.append(f"{who} wholly on imported task scores (`glc import scores`), not on predictions scored here: "
                   "no instances behind them, so they are outside the coverage and do not vary in the bootstrap "
                   "intervals")
    pending = max((_n(r, "n_pending") for r in rows), default=0)
    if pending:
        out.append(f"{pending} task(s) of this board have no SoTA yet: run and scored, but left out of every "
                   "level (and every denominator) until one is recorded (`glc sota record`, or sota.value in "
                   "the task spec)")
    return out


def scope_sota_counts(con: Any, scope: str) -> tuple[int, int]:
    """(tasks of ``scope``, those of them without a SoTA), from the store's scope_tasks and task_sota."""
    row = con.execute("SELECT count(*), count(*) FILTER (WHERE t.sota IS NULL) FROM scope_tasks AS st "
                      "JOIN task_sota AS t ON t.task_id = st.task_id WHERE st.scope = ?", [scope]).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def empty_board_reason(n_tasks: int, n_pending: int) -> str:
    """Why a board has no rows. A scope whose tasks all lack a SoTA has no level row for any model (it
    is left out of every sum, docs/general-level.md): an empty board must say so, or it reads as if no
    model had been evaluated on it."""
    if n_tasks and n_pending == n_tasks:
        which = "the only task of this board has" if n_tasks == 1 else f"all {n_tasks} tasks of this board have"
        return (f"{which} no SoTA yet: run and scored (task_results), but no level is computed on the board until "
                "one is recorded (`glc sota record`, or sota.value in the task spec)")
    return "no model has results on this board yet (`glc run`, or `glc import scores` / `glc import predictions`)"


def closed_set_tasks(con: Any, models: list[str], task_ids: Iterable[str]) -> dict[str, int]:
    """Per model, how many of ``task_ids`` (a board's tasks) hold its predictions while every instance of
    the task has no reference (a Close Set download: run, never scored) and the model has no score for it
    (an imported one counts: the task is attempted then)."""
    return dict(con.execute(
        "SELECT p.model, count(DISTINCT p.task_id) FROM predictions AS p WHERE list_contains(?, p.model) AND "
        "list_contains(?, p.task_id) AND p.task_id IN "
        "(SELECT task_id FROM instances GROUP BY task_id HAVING bool_and(ref_kind = 'none')) AND NOT EXISTS "
        "(SELECT 1 FROM task_scores AS s WHERE s.model = p.model AND s.task_id = p.task_id AND s.score IS NOT NULL) "
        "GROUP BY p.model", [models, sorted(task_ids)]).fetchall())


def set_aside_imports(con: Any, models: list[str], task_ids: Iterable[str]) -> dict[str, int]:
    """Per model, how many of ``task_ids`` (a board's tasks) have an imported score that is not used: the
    model has predictions for the task, and task_scores takes the score computed from them first."""
    return dict(con.execute(
        "SELECT s.model, count(DISTINCT s.task_id) FROM imported_scores AS s JOIN predicted_scores AS p "
        "ON p.model = s.model AND p.task_id = s.task_id WHERE list_contains(?, s.model) AND "
        "list_contains(?, s.task_id) AND s.score IS NOT NULL GROUP BY s.model", [models, sorted(task_ids)]).fetchall())


def describe_notes(notes: list[str]) -> str:
    return "\n".join(f"note: {n}" for n in notes)


# --- (model, task) pairs without a route -------------------------------------------------

MODALITY_ORDER = ("image", "video", "audio", "3d", "nlp")
PARADIGM_ORDER = ("comprehension", "generation", "nlp")
FIRST_IDS = 3


def unrouted(project: Any, selection: Any = None) -> list[tuple[str, str]]:
    """(model, task) pairs of runnable tasks that no route of the model serves (``selection``:
    only the pairs it allows)."""
    from glc.execute.inference import route_for, runnable_tasks

    tasks = runnable_tasks(project)
    return [(m.spec.name, t.id) for m in project.models for t in tasks
            if (selection is None or selection.allows(m.spec.name, t.id)) and route_for(m.spec, t) is None]


def group_unrouted(pairs: Iterable[tuple[str, str]], project: Any) -> dict[str, list[tuple[str, list[str]]]]:
    """Per model, its unrouted tasks grouped by modality and paradigm: [(``image comprehension``, ids)]."""
    by_id = {t.id: t for t in project.tasks}
    out: dict[str, dict[tuple[int, int], list[str]]] = {}
    for model, task_id in pairs:
        s = by_id[task_id].spec
        key = (MODALITY_ORDER.index(s.modality), PARADIGM_ORDER.index(s.paradigm))
        out.setdefault(model, {}).setdefault(key, []).append(task_id)

    def label(key: tuple[int, int]) -> str:
        modality, paradigm = MODALITY_ORDER[key[0]], PARADIGM_ORDER[key[1]]
        return "nlp" if modality == "nlp" else f"{modality} {paradigm}"
    return {m: [(label(k), sorted(ids)) for k, ids in sorted(groups.items())] for m, groups in sorted(out.items())}


def _groups_text(groups: list[tuple[str, list[str]]]) -> str:
    parts = []
    for label, ids in groups:
        first = ", ".join(ids[:FIRST_IDS]) + (", ..." if len(ids) > FIRST_IDS else "")
        parts.append(f"{label} {len(ids)} ({first})")
    return "; ".join(parts)


def describe_unrouted(pairs: list[tuple[str, str]], project: Any, *, specialists: bool = True) -> str:
    """The pairs without a route, named per model and grouped; specialists summed up in one line, or
    left out (they are Level-1 and off the boards: a task outside their speciality is expected).
    Empty when there is nothing to say."""
    role = {m.spec.name: m.spec.role for m in project.models}
    pairs = [p for p in pairs if specialists or role.get(p[0]) != "specialist"]
    if not pairs:
        return ""
    grouped = group_unrouted(pairs, project)
    lines = ["tasks no route of the model serves (not attempted: scored 0 under the General-Level rule; "
             "`missing_route: error` in a model spec makes `glc run` refuse instead):"]
    n_specialist = 0
    for model, groups in grouped.items():
        n = sum(len(ids) for _, ids in groups)
        if role.get(model) == "specialist":
            n_specialist += n
            continue
        lines.append(f"  {model}: {n} task(s): {_groups_text(groups)}")
    if n_specialist:
        lines.append(f"  specialists (Level-1, off the boards): {n_specialist} (model, task) pairs outside their "
                     "speciality")
    return "\n".join(lines)


def refuse_unrouted(pairs: list[tuple[str, str]], project: Any) -> None:
    """Raise when a model whose spec says ``missing_route: error`` has tasks no route serves."""
    from glc.compiler.errors import GlcError

    strict = {m.spec.name: m for m in project.models if m.spec.missing_route == "error"}
    grouped = {m: g for m, g in group_unrouted([p for p in pairs if p[0] in strict], project).items()}
    if not grouped:
        return
    lines = [f"{model}: {sum(len(ids) for _, ids in groups)} task(s) without a route: {_groups_text(groups)}"
             for model, groups in grouped.items()]
    first = strict[next(iter(grouped))]
    raise GlcError("no inference ran: " + "; ".join(lines), location=first.path,
                   hint="add routes that serve these tasks, narrow the run with --select, or set "
                        "`missing_route: zero` to score them 0 (the General-Level rule)")
