"""The run history behind ``glc diff run:…`` is kept lazily: a build that changes results leaves them
in the live tables, and they are copied into the history only when a later build replaces them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from helpers.cli import glc_in_process
from helpers.metric_project import add_task, new_project
from helpers.project import copy_project

from glc.engine.build import LIVE_RUN
from glc.workspace import Workspace


def _scores(ws: Workspace, path: Path, model: str, value: float) -> Path:
    fits = [t for t in ws.compile(write=False).project.tasks
            if (t.metric.range.min is None or t.metric.range.min <= value)
            and (t.metric.range.max is None or value <= t.metric.range.max)]
    tasks = [t.id for t in fits][:4]
    path.write_text("model,task,score\n" + "".join(f"{model},{t},{value}\n" for t in tasks))
    return path


def _rows(ws: Workspace, sql: str, *params: object) -> list[tuple]:
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_results_are_kept_when_a_later_build_replaces_them(tmp_path: Path) -> None:
    ws = Workspace(copy_project(tmp_path / "p", small=True))
    ws.import_scores(_scores(ws, tmp_path / "a.csv", "m1", 0.5))
    first = ws.run().build
    assert _rows(ws, "SELECT count(*) FROM glc_run_levels")[0][0] == 0  # a first build copies nothing
    assert _rows(ws, "SELECT state_key FROM glc_node_state WHERE node = ?", LIVE_RUN) == [(first.run_id,)]
    levels = _rows(ws, "SELECT model, variant, scope, level_2, level_3, level_4, level_5, level FROM level_scores "
                       "ORDER BY ALL")
    tasks = _rows(ws, "SELECT model, task_id, sigma, vs_sota FROM task_results ORDER BY ALL")

    assert ws.run().build.skipped  # nothing changed: nothing copied, the live run stays
    assert _rows(ws, "SELECT count(*) FROM glc_run_levels")[0][0] == 0

    ws.import_scores(_scores(ws, tmp_path / "b.csv", "m2", 0.25))
    second = ws.run(full_refresh=True).build  # a full refresh keeps the history too
    kept = _rows(ws, "SELECT model, variant, scope, level_2, level_3, level_4, level_5, level FROM glc_run_levels "
                     "WHERE run_id = ? ORDER BY ALL", first.run_id)
    assert kept == levels
    assert _rows(ws, "SELECT model, task_id, sigma, vs_sota FROM glc_run_tasks WHERE run_id = ? ORDER BY ALL",
                 first.run_id) == tasks
    assert _rows(ws, "SELECT DISTINCT run_id FROM glc_run_levels") == [(first.run_id,)]
    assert _rows(ws, "SELECT state_key FROM glc_node_state WHERE node = ?", LIVE_RUN) == [(second.run_id,)]

    rows = {r["model"]: r for r in ws.diff("run:previous", "run:latest")}
    assert rows["m2"]["level_a"] is None and rows["m2"]["level_b"] is not None
    assert rows["m1"]["delta"]["level_2"] == 0.0 and not rows["m1"]["tasks"]
    assert {r["model"] for r in ws.diff(f"run:{first.run_id}", f"run:{second.run_id}")} == {"m1", "m2"}


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_run_diff_names_the_boards_tasks_only(tmp_path: Path) -> None:
    """``glc diff run:A run:B --scope S`` lists the changed tasks of that board (and tasks removed from the
    catalog since, whose scopes are unknown), not every changed task of the benchmark: a change outside the
    board moves none of its numbers, and listed first (by the size of the change) it crowded the board's
    own causes out of the five shown."""
    root = new_project(tmp_path / "p")
    item = [("q1", {}, ["x"])]
    c = add_task(root, "acc", "text", item, modality="image", paradigm="comprehension", sota=50.0)
    gone = add_task(root, "acc", "text", item, modality="image", paradigm="comprehension", sota=50.0, suffix="_2")
    nlp = [add_task(root, "acc", "text", item, sota=50.0, suffix=f"_l{i}") for i in range(5)]
    ws = Workspace(root)
    scores = tmp_path / "s.csv"
    scores.write_text("model,task,score\n" + "".join(f"m,{t},{x}\n" for t, x in [(c, 40.0), (gone, 30.0)]
                                                     + [(t, 10.0) for t in nlp]))
    ws.import_scores(scores)
    ws.run()
    (root / "specs" / "tasks" / "test" / f"{gone}.yaml").unlink()  # the task leaves the catalog
    ws = Workspace(root)  # a workspace compiles once: the next command's
    scores.write_text("model,task,score\n" + "".join(f"m,{t},{x}\n" for t, x in [(c, 55.0)]
                                                     + [(t, 90.0) for t in nlp]))
    ws.import_scores(scores)
    ws.run()
    [row] = ws.diff("run:previous", "run:latest", scope="C-image-comprehension")
    assert (row["level_a"], row["level_b"]) == (2, 3)  # 40 loses to the SoTA of 50, 55 wins
    assert {t["task_id"]: (t["sigma_a"], t["sigma_b"]) for t in row["tasks"]} == {c: (40.0, 55.0), gone: (30.0, None)}


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_run_diff_says_when_the_boards_tasks_changed(tmp_path: Path) -> None:
    """A scope that gains tasks between two runs lowers every model's levels (more tasks in the denominators)
    with no task result changing: the diff said nothing but the deltas. It now says the runs were built from
    different specs (``specs_changed``, and a line in the text where no task explains a model's change)."""
    root = new_project(tmp_path / "p")
    item = [("q1", {}, ["x"])]
    c = add_task(root, "acc", "text", item, modality="image", paradigm="comprehension", sota=50.0)
    scope = root / "specs" / "scopes" / "x.yaml"
    head = "family: X\ndescription: x\nscopes:\n  - name: X\n    title: X\n    paradigms: [comprehension]\n"
    scope.write_text(head + "    modalities: [image]\n    max_level: 3\n")
    scores = tmp_path / "s.csv"
    scores.write_text(f"model,task,score\nm,{c},60.0\n")
    ws = Workspace(root)
    ws.import_scores(scores)
    ws.run()
    scores.write_text(f"model,task,score\nm,{c},65.0\n")
    ws.import_scores(scores)
    ws.run()
    [same_specs] = ws.diff("run:previous", "run:latest", scope="X")
    assert same_specs["specs_changed"] is False and [t["task_id"] for t in same_specs["tasks"]] == [c]
    scope.write_text(head + "    modalities: [image, video]\n    max_level: 3\n")  # X gains the video tasks
    ws = Workspace(root)
    ws.run()
    [row] = ws.diff("run:previous", "run:latest", scope="X")
    assert row["specs_changed"] and not row["tasks"] and row["delta"]["level_2"] < 0
    out = glc_in_process("--project-dir", str(root), "diff", "run:previous", "run:latest", "--scope", "X").stdout
    assert out.splitlines()[0].endswith("(built from different specs)")
    assert "    no task result of this board changed: the specs differ between the runs" in out
