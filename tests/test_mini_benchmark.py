"""The bundled offline benchmark end to end, with the real models (no mocks): SmolLM2,
MiniLM, EfficientNet-Lite0 and Whisper tiny.en through the hf runner, flite and the imaging
tools through the command runner, Whisper as the speech-synthesis evaluator."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from helpers.metric_project import mini_project
from helpers.project import REPO

from glc.workspace import Workspace

TASKS = {"mini.nlp.topic_classification": 24, "mini.nlp.sentiment": 16, "mini.image.object_recognition": 9,
         "mini.image.denoising": 6, "mini.image.super_resolution": 6, "mini.video.object_recognition": 6,
         "mini.audio.speech_recognition": 10, "mini.audio.speech_synthesis": 8}
SPECIALISTS = {"specialist-minilm", "specialist-efficientnet", "specialist-whisper", "specialist-restoration",
               "specialist-flite"}
# mini-own has no route for the three recognition tasks: nothing offline does them but a specialist's network
OWN = {t: n for t, n in TASKS.items() if not t.endswith(("object_recognition", "speech_recognition"))}
REUSED = {"mini.image.object_recognition", "mini.video.object_recognition", "mini.audio.speech_recognition",
          "mini.audio.speech_synthesis"}  # mini-generalist calls the specialist's own network or voice here


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> tuple[Workspace, object]:
    root = mini_project(tmp_path_factory.mktemp("mini") / "p")
    ws = Workspace(root, benchmark="mini")
    return ws, ws.run()


def test_default_benchmark_is_the_offline_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("GLC_BENCHMARK")
    root = mini_project(tmp_path / "p")
    ws = Workspace(root)
    assert ws.benchmark == "mini" and ws.target.path.endswith("target/mini.duckdb")
    p = ws.compile(write=False).project
    assert {t.id: t.spec.modality + "/" + t.spec.paradigm for t in p.tasks} == {
        "mini.audio.speech_recognition": "audio/comprehension", "mini.audio.speech_synthesis": "audio/generation",
        "mini.image.denoising": "image/generation", "mini.image.object_recognition": "image/comprehension",
        "mini.image.super_resolution": "image/generation", "mini.nlp.sentiment": "nlp/nlp",
        "mini.nlp.topic_classification": "nlp/nlp", "mini.video.object_recognition": "video/comprehension"}
    assert not any(s.name.startswith(("B-3d", "C-3d")) for s in p.scopes)  # no 3D task: no 3D board
    assert Workspace(root, benchmark="general-bench").compile(write=False).project.benchmark.name == "general-bench"


def test_every_instance_is_predicted_and_scored(mini) -> None:
    ws, result = mini
    inf = result.inference
    assert inf.failed == [] and inf.job_errors == []
    assert inf.predicted == 2 * sum(TASKS.values()) + sum(OWN.values())
    assert inf.judged == 3 * TASKS["mini.audio.speech_synthesis"]
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        rows = con.execute("SELECT model, task_id, n_instances, n_scored, source FROM task_scores").fetchall()
        media = con.execute("SELECT output FROM predictions WHERE task_id IN "
                            "('mini.image.denoising', 'mini.audio.speech_synthesis')").fetchall()
        heard = con.execute("SELECT output FROM judgments WHERE model = 'specialist-flite' "
                            "AND instance_id = 'p03'").fetchone()[0]
    finally:
        con.close()
    assert len(rows) == 16 + len(OWN)
    assert all(n == TASKS[t] and s == n and src == "predictions" for _, t, n, s, src in rows)
    for (path,) in media:  # generated media live under target/media, named by their hash
        p = Path(path)
        assert p.is_file() and p.parent.parent == ws.target_dir / "media" and len(p.stem) == 64
    assert "river flows quietly past the old mill" in heard.lower()


def test_recorded_sota_is_what_the_specialists_measure(mini) -> None:
    ws, _ = mini
    rows = ws.record_sota(write=False)
    assert {r["task_id"] for r in rows} == set(TASKS)
    for r in rows:
        assert r["model"] in SPECIALISTS
        assert r["value"] == pytest.approx(r["old"], abs=1e-9), r  # the committed SoTA is a real measurement
        spec = yaml.safe_load((REPO / r["path"]).read_text())
        assert spec["sota"]["model"] == r["model"] and spec["sota"]["source"].startswith("measured by glc")
    by_task = {r["task_id"]: r for r in rows}
    assert by_task["mini.audio.speech_recognition"]["value"] < 15  # Whisper hears flite speech well
    assert by_task["mini.image.denoising"]["value"] > 27  # NL-means beats the 22 dB noisy input


def test_generalist_gets_a_level_and_specialists_stay_off_the_board(mini) -> None:
    ws, _ = mini
    board = {r["model"]: r for r in ws.leaderboard()}
    assert set(board) == {"mini-generalist", "mini-own"}
    g = board["mini-generalist"]
    assert g["level"] >= 3 and g["s_c"] > 0 and g["level_2"] > g["level_3"]
    own = board["mini-own"]
    assert (own["n_attempted"], own["n_tasks"], own["n_complete"]) == (len(OWN), len(TASKS), len(OWN))


def test_reused_networks_only_tie_and_the_board_says_so(mini) -> None:
    """Where the generalist calls the specialist's own network, its result equals the SoTA: a tie,
    never a strict win; its pooled level rests on ties, and the run summary says what it is."""
    ws, _ = mini
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        ties = dict(con.execute("SELECT task_id, tie FROM task_wins__strict "
                                "WHERE model = 'mini-generalist'").fetchall())
        strict_wins = con.execute("SELECT count_if(win) FROM task_wins__strict WHERE model = 'mini-generalist' "
                                  "AND list_contains(?, task_id)", [sorted(REUSED)]).fetchall()[0][0]
    finally:
        con.close()
    assert all(ties[t] for t in REUSED) and strict_wins == 0
    g = {r["model"]: r for r in ws.leaderboard()}["mini-generalist"]
    assert g["n_ties"] >= len(REUSED) and g["level_without_ties"] < g["level"]
    notes = "\n".join(ws.board_notes(ws.leaderboard()))
    assert f"mini-generalist: Level-{g['level']} rests on ties" in notes
    assert "mini-generalist: a composition of the networks bundled with glc, not one model" in notes
    assert "mini-own: 3 of 8 tasks not attempted (no score)" in notes


def test_second_run_uses_the_store(mini) -> None:
    ws, _ = mini
    again = Workspace(ws.root, benchmark="mini").run()
    assert again.inference.predicted == 0 and again.inference.judged == 0
    assert again.build.built == [] or set(again.build.built) <= {"leaderboard"}
    plan = Workspace(ws.root, benchmark="mini").plan()
    assert plan.n_todo == 0 and len(plan.unsupported) == 7 * 8 - 16 - len(OWN)
    judges = {(j.model, j.task.id): (j.n_done, len(j.requests)) for j in plan.judges}
    assert judges == {("mini-generalist", "mini.audio.speech_synthesis"): (8, 0),
                      ("mini-own", "mini.audio.speech_synthesis"): (8, 0),
                      ("specialist-flite", "mini.audio.speech_synthesis"): (8, 0)}


def test_a_changed_evaluator_rereads_without_regenerating(mini, tmp_path: Path) -> None:
    ws, _ = mini
    spec = ws.root / "specs" / "tasks" / "mini" / "audio_speech_synthesis.yaml"
    text = spec.read_text()
    spec.write_text(text.replace("args: {task: speech-recognition, model: whisper-tiny.en}",
                                 "args: {task: speech-recognition, model: whisper-tiny.en, batch_size: 4}"))
    try:
        plan = Workspace(ws.root, benchmark="mini").plan()
        assert plan.n_todo == 0  # no speech is synthesized again
        assert {len(j.requests) for j in plan.judges} == {8}
        assert all(j.reasons == {"evaluator changed": 8} for j in plan.judges)
    finally:
        spec.write_text(text)
