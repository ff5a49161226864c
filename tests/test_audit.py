"""glc ls, lineage and explain on the example workbooks and on a build with predictions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from glc.compiler.errors import GlcError
from glc.compiler.lineage import column_lineage
from helpers.metric_project import add_task, new_project, write_predictions
from helpers.project import EXAMPLES

from glc.workspace import Workspace


def glc(project_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(project_dir), *args],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Workspace:
    """The whole catalog with the example workbooks imported, built: its tests are slow."""
    from helpers.project import copy_project

    ws = Workspace(copy_project(tmp_path_factory.mktemp("audit")))
    ws.import_scores(EXAMPLES / "c04_sota_beater.xlsx")
    ws.import_scores(EXAMPLES / "c12_cross_paradigm.xlsx")
    ws.run()
    return ws


def test_lineage_reaches_predictions_scores_and_sota(compiled) -> None:
    tree = column_lineage(compiled, "level_scores.level_4")
    sources = tree.sources()
    for needed in [("predictions", "output"), ("imported_scores", "score"), ("tasks", "sota"),
                   ("metrics", "norm_kind"), ("instances", "ref_texts"), ("scopes", "max_level")]:
        assert needed in sources, needed
    text = tree.render()
    assert text.splitlines()[0] == "level_scores.level_4"
    # level_scores computes every variant from the group sums (the level_scores__<variant> views
    # spell out the same arithmetic one variant at a time)
    assert "  group_parts.sum_at_least" in text and "tasks.sota  [seed]" in text
    assert "(see above)" in text  # shared subtrees are printed once


def test_lineage_of_a_level_2_does_not_involve_wins(compiled) -> None:
    sources = column_lineage(compiled, "level_scores__pooled.level_2").sources()
    assert ("tasks", "sota") not in sources  # Level-2 averages sigma; SoTA only decides wins
    assert ("imported_scores", "score") in sources


def test_lineage_errors(compiled) -> None:
    with pytest.raises(GlcError, match="unknown table 'level_score'"):
        column_lineage(compiled, "level_score.level_4")
    with pytest.raises(GlcError, match="unknown column of level_scores 'level_6'"):
        column_lineage(compiled, "level_scores.level_6")


@pytest.mark.slow  # the whole catalog, built (`built`)
def test_lineage_cli_json(built: Workspace) -> None:
    out = glc(built.root, "lineage", "task_results.sigma_sota", "--format", "json")
    tree = json.loads(out.stdout)
    assert tree["table"] == "task_results" and tree["inputs"][0]["table"] == "task_sota"


@pytest.mark.slow  # the whole catalog, built (`built`)
def test_explain_numbers_match_level_scores(built: Workspace) -> None:
    info = built.explain("SoTA-Beater-70B")
    board = {r["model"]: r for r in built.leaderboard()}["SoTA-Beater-70B"]
    assert info["level"] == board["level"] == 5
    assert info["scores"]["level_4"] == board["level_4"]
    groups = {g["task_group"]: g for g in info["groups"]}
    assert groups["C"]["n_tasks"] == 451 and groups["G"]["n_tasks"] == 133 and groups["L"]["n_tasks"] == 115
    assert groups["C"]["s"] == pytest.approx(board["s_c"])
    l4 = next(f for f in info["formulas"] if f.startswith("Level-4"))
    assert l4.endswith(f"= {board['level_4']:.4g}")
    mods = {(m["modality"], m["task_group"]): m for m in info["modalities"]}
    assert mods[("image", "C")]["n_tasks"] == 271 and mods[("nlp", "L")]["n_tasks"] == 115
    assert sum(m["n_wins"] for m in info["modalities"] if m["task_group"] == "C") == groups["C"]["n_wins"]
    assert all(t["win"] for t in info["top_contributors"])
    assert all(not t["win"] and t["supported"] for t in info["closest_losses"])


@pytest.mark.slow  # several glc processes
def test_explain_says_what_moves_a_model_up(built: Workspace) -> None:
    info = built.explain("CrossModal-Paradigm", variant="per_modality")
    assert info["level"] == 3
    assert info["next_level"].startswith("Win one comprehension task") or "generation" in info["next_level"]
    assert "Level-4 needs wins in comprehension and generation" in info["next_level"]
    out = glc(built.root, "explain", "CrossModal-Paradigm", "--variant", "per_modality")
    assert "averaged over 4 modalities" in out.stdout and "to move up:" in out.stdout
    bad = glc(built.root, "explain", "crossmodal")
    assert bad.returncode == 2 and "did you mean 'CrossModal-Paradigm'?" in bad.stderr


@pytest.mark.slow  # the whole catalog, built (`built`)
def test_ls(built: Workspace) -> None:
    tasks = built.ls("tasks", ["modality:audio", "paradigm:generation"])
    assert len(tasks) == 20 and all(t["modality"] == "audio" for t in tasks)
    assert [r["level"] for r in built.ls("levels")] == ["pooled", "per_modality", "strict"]
    imported = [r["model"] for r in built.ls("models") if r["role"] == "imported"]
    assert imported == ["CrossModal-Paradigm", "SoTA-Beater-70B"]
    spec_models = {r["model"]: r["role"] for r in built.ls("models") if r["spec"]}
    assert spec_models["mini-generalist"] == "generalist" and spec_models["specialist-whisper"] == "specialist"
    nodes = {r["node"]: r for r in built.ls("nodes")}
    assert nodes["instance_scores__acc"]["materialized"] == "incremental"
    out = glc(built.root, "ls", "scopes")
    assert out.stdout.splitlines()[1].split()[:3] == ["A", "A", "5"]
    with pytest.raises(GlcError, match="unknown kind 'taks'"):
        built.ls("taks")


def test_explain_with_predictions(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    tid = add_task(root, "acc", "text", [("q1", {}, ["4"]), ("q2", {}, ["Paris"])], sota=40.0)
    ws = Workspace(root)
    ws.import_predictions(write_predictions(tmp_path / "p.jsonl", "m", tid, [("q1", "4"), ("q2", "Rome")]))
    ws.run()
    info = ws.explain("m")
    won = info["top_contributors"]
    assert [t["task_id"] for t in won] == [tid] and won[0]["source"] == "predictions" and won[0]["sigma"] == 50.0
    assert info["level"] == 1 and info["scores"]["level_2"] == 0.0  # an NLP win alone gives no Level-2
    assert info["next_level"].startswith("Score a comprehension or generation task")


@pytest.mark.slow  # the whole catalog, built (`built`)
def test_diff_variants_names_the_ties(built: Workspace) -> None:
    rows = {r["model"]: r for r in built.diff("variant:pooled", "variant:strict")}
    r = rows["SoTA-Beater-70B"]
    assert r["delta"]["level_2"] == 0.0 and r["delta"]["level_3"] < 0  # ties stop counting as wins
    assert {t["task_id"] for t in r["tasks"]} >= {"3d.3d_vehicle_classification", "nlp.spam_detection"}
    assert all(t["win_a"] and not t["win_b"] for t in r["tasks"])
    board = {x["model"]: x for x in built.leaderboard("strict")}
    pooled = {x["model"]: x for x in built.leaderboard("pooled")}
    assert r["delta"]["level_3"] == pytest.approx(board["SoTA-Beater-70B"]["level_3"]
                                                  - pooled["SoTA-Beater-70B"]["level_3"])


@pytest.mark.slow  # several glc processes
def test_diff_scopes_and_runs(tmp_path: Path) -> None:
    from helpers.project import copy_project

    ws = Workspace(copy_project(tmp_path / "p"))
    ws.import_scores(EXAMPLES / "c12_cross_paradigm.xlsx")
    ws.run()
    rows = ws.diff("scope:B-image", "scope:B-video")
    assert rows[0]["tasks"] and all(t["in_a"] != t["in_b"] for t in rows[0]["tasks"])
    ws.import_scores(EXAMPLES / "c04_sota_beater.xlsx")
    ws.run()
    runs = {r["model"]: r for r in ws.diff("run:previous", "run:latest")}
    assert runs["SoTA-Beater-70B"]["level_a"] is None and runs["SoTA-Beater-70B"]["level_b"] == 5
    assert runs["SoTA-Beater-70B"]["level_changed"] and runs["SoTA-Beater-70B"]["tasks"]
    assert not runs["CrossModal-Paradigm"]["level_changed"] and not runs["CrossModal-Paradigm"]["tasks"]
    out = glc(ws.root, "diff", "run:previous", "run:latest")
    assert out.stdout.splitlines()[1].startswith("* SoTA-Beater-70B: - -> Level-5")
    bad = glc(ws.root, "diff", "variant:pooled", "level:strict")
    assert bad.returncode == 2 and "cannot read 'level:strict'" in bad.stderr


@pytest.mark.slow  # the whole catalog, built (`built`)
def test_show_is_plain_when_piped(built: Workspace) -> None:
    out = glc(built.root, "show", "task_wins__strict")
    assert out.stdout.startswith("-- node: task_wins__strict\n") and "\x1b[" not in out.stdout


def test_docs_catalog(project_dir: Path) -> None:
    import re

    from glc.site.docs import _curves

    ws = Workspace(project_dir)
    index = ws.docs()
    page = index.read_text()
    assert page.count("<tr><td>") == 699 and "id='metric-fid'" in page
    assert (index.parent / "sql" / "level_scores.sql").exists()
    layers = re.findall(r"<li>layer (\d+): (.*?)</li>", page)
    layer_of = {name: int(d) for d, names in layers for name in re.findall(r">([a-z_0-9]+)</a>", names)}
    assert layer_of["level_scores"] > layer_of["group_parts"] > layer_of["task_outcomes"]
    assert layer_of["level_scores__pooled"] > layer_of["part_scores__pooled"] > layer_of["group_scores__pooled"]
    curves = _curves(ws.compile(write=False))
    fid = [y for _, y in curves["fid"]]
    assert fid[0] == 100.0 and all(a >= b for a, b in zip(fid, fid[1:], strict=False))  # x = 0 is perfect
    wer = dict(curves["wer"])
    assert wer[0.0] == 100.0 and wer[150.0] == 0.0  # clamped complement
