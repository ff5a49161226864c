"""The report's Level ladder on a small catalog, without a browser: for each model the headline says
which level it reached and what the next level needs, naming the lost task closest to a win, as
``level_ladder__<variant>`` and ``task_gaps__<variant>`` compute them."""

from __future__ import annotations

import csv
import html
import re

import duckdb
import pytest
from helpers.project import copy_project

from glc.workspace import Workspace

# model -> {task_id: raw score}; SoTAs of the small catalog: image.abduction_based_vqa acc 66.2,
# audio.accent_classification acc 75.2, image.chinese_based_image_editing clip_img_score 65.8,
# video.action_specific_text_to_video_generation success_rate 95.61, nlp.abstractive_summarization
# rouge1 36.23, nlp.abstract_meaning_representation micro_f1 74.8
SCORES = {
    "gen-only": {"image.chinese_based_image_editing": 70.0, "video.action_specific_text_to_video_generation": 96.0,
                 "image.abduction_based_vqa": 60.0, "audio.accent_classification": 70.0,
                 "nlp.abstractive_summarization": 30.0},
    "all-round": {"image.abduction_based_vqa": 70.0, "image.chinese_based_image_editing": 70.0,
                  "nlp.abstract_meaning_representation": 70.0, "nlp.abstractive_summarization": 20.0},
    "no-win": {"image.abduction_based_vqa": 60.0},
}


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[Workspace, str]:
    root = tmp_path_factory.mktemp("ladder")
    ws = Workspace(copy_project(root / "p", small=True))
    scores = root / "scores.csv"
    with scores.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["model", "task", "score"])
        out.writerows([m, t, v] for m, tasks in SCORES.items() for t, v in tasks.items())
    ws.import_scores(scores)
    return ws, ws.report().read_text(encoding="utf-8")


def _headline(text: str, model: str) -> str:
    m = re.search(rf'<span class="name">{re.escape(html.escape(model))}</span>.*?<p class="headline">(.*?)</p>',
                  text, re.S)
    assert m, f"no ladder for {model}"
    return html.unescape(m.group(1))


def _ladder(ws: Workspace) -> dict[tuple[str, str], tuple]:
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        rows = con.execute("SELECT l.model, l.task_group, l.n_wins, l.closest_task_id, l.closest_sigma_gap, "
                           "t.task_name FROM level_ladder__pooled AS l LEFT JOIN tasks AS t "
                           "ON t.task_id = l.closest_task_id WHERE l.scope = 'A'").fetchall()
        levels = dict(con.execute("SELECT model, level FROM level_scores WHERE variant = 'pooled' AND scope = 'A'"
                                  ).fetchall())
    finally:
        con.close()
    return {(r[0], r[1]): r[2:] for r in rows}, levels


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_ladder_names_what_is_missing_and_the_closest_task(page) -> None:
    ws, text = page
    ladder, levels = _ladder(ws)
    assert levels == {"gen-only": 3, "all-round": 4, "no-win": 2}
    # gen-only: generation won, comprehension lost twice; the closer loss is accent classification (-5.2)
    wins, task_id, gap, name = ladder[("gen-only", "C")]
    assert (wins, task_id, gap) == (0, "audio.accent_classification", pytest.approx(70.0 - 75.2))
    head = _headline(text, "gen-only")
    assert head.startswith("Level-3 reached (Level-3 = ")
    assert "Level-4 needs S_C and S_G both > 0" in head
    assert f"comprehension: 0 wins; closest: {name} (σ gap to the SoTA {gap:.2f})" in head
    # all-round: comprehension and generation won, NLP lost twice: Level-5 needs an NLP win
    wins, task_id, gap, name = ladder[("all-round", "L")]
    assert (wins, task_id) == (0, "nlp.abstract_meaning_representation") and gap == pytest.approx(70.0 - 74.8)
    head = _headline(text, "all-round")
    assert head.startswith("Level-4 reached") and f"NLP: 0 wins; closest: {name} (σ gap to the SoTA {gap:.2f}" in head
    # no-win: one comprehension task lost: Level-3 needs one win
    head = _headline(text, "no-win")
    _, task_id, gap, name = ladder[("no-win", "C")]
    assert task_id == "image.abduction_based_vqa" and gap == pytest.approx(60.0 - 66.2)
    assert head.startswith("Level-2 reached") and "Level-3 needs a win in comprehension or generation" in head
    assert "win one comprehension or generation task" in head
    assert f"closest: {name} (σ gap to the SoTA {gap:.2f})" in head


def test_ladder_rungs_and_grid(page) -> None:
    _, text = page
    card = text.split('<span class="name">gen-only</span>')[1].split("</article>")[0]
    states = re.findall(r'<li class="rung (\w+)" data-level="(\d)"', card)
    assert states == [("above", "5"), ("next", "4"), ("reached", "3"), ("reached", "2")]
    assert "to lift it" not in card  # the words come from CSS; the class carries the state
    assert card.count('class="lift"') == 1 and card.count('class="held"') == 2 and card.count('class="sofar"') == 1
    # the grid: image comprehension 1 task, lost; audio comprehension 1 of its tasks lost, 1 not attempted
    cells = re.findall(r'<td class="cell [^"]*" data-n-tasks="(\d+)" data-n-supported="(\d+)" data-n-wins="(\d+)"',
                       card)
    assert len(cells) == 9 and sum(int(c[2]) for c in cells) == 2


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_per_modality_ladder_says_wins_must_meet_in_one_modality(tmp_path) -> None:
    """Under per_modality, Level-4 needs comprehension and generation won in one modality: a model
    that wins image comprehension and video generation only is Level-3 there (Level-4 under pooled)."""
    root = copy_project(tmp_path / "p", small=True)
    levels = root / "specs" / "levels"
    pooled = (levels / "pooled.yaml").read_text(encoding="utf-8")
    (levels / "pooled.yaml").write_text(pooled.replace("default: true", "default: false"), encoding="utf-8")
    with (levels / "per_modality.yaml").open("a", encoding="utf-8") as f:
        f.write("\ndefault: true\n")
    scores = tmp_path / "scores.csv"
    scores.write_text("model,task,score\ncross,image.abduction_based_vqa,70\n"
                      "cross,video.action_specific_text_to_video_generation,96\n", encoding="utf-8")
    ws = Workspace(root)
    ws.import_scores(scores)
    text = ws.report().read_text(encoding="utf-8")
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        level = dict(con.execute("SELECT variant, level FROM level_scores WHERE model = 'cross' AND scope = 'A'"
                                 ).fetchall())
        parts = con.execute("SELECT n_parts_with_both, n_parts_both_won FROM level_ladder__per_modality "
                            "WHERE model = 'cross' AND scope = 'A' AND task_group = 'C'").fetchone()
    finally:
        con.close()
    assert level["pooled"] == 4 and level["per_modality"] == 3
    assert parts == (4, 0)  # image, video, audio and 3d hold both paradigms; in none are both won
    head = _headline(text, "cross")
    assert head.startswith("Level-3 reached") and "Level-4 needs a modality where comprehension and generation are " \
        "both won" in head and "wins lie in different modalities: win both in one" in head
    assert "both won in 0 of 4 modalities" in text


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_task_without_sota_is_marked_beside_its_numbers(tmp_path) -> None:
    root = copy_project(tmp_path / "p", small=True)
    spec = root / "specs" / "tasks" / "nlp" / "abstractive_summarization.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("sota:\n  value: 36.23\n  source: General-Bench official SoTA table "
                                 "(sota_result.xlsx)\n", "sota: null\n"), encoding="utf-8")
    scores = tmp_path / "scores.csv"
    scores.write_text("model,task,score\nm,nlp.abstractive_summarization,40\nm,image.abduction_based_vqa,70\n",
                      encoding="utf-8")
    ws = Workspace(root)
    ws.import_scores(scores)
    page = ws.report().read_text(encoding="utf-8")
    row = page.split('<tr data-task="nlp.abstractive_summarization">')[1].split("</tr>")[0]
    assert "no SoTA yet" in row and 'data-outcome="pending"' in row and 'data-v="40.0"' in row
    card = page.split('<span class="name">m</span>')[1].split("</article>")[0]
    assert 'data-n-pending="1"' in card and "1 without SoTA" in card
    board = page.split('<section class="board" data-scope="A">')[1].split("</section>")[0]
    assert "1 without SoTA" in board  # the board's "rests on" column
    assert "have no SoTA yet: run and scored, but left out of every level" in page  # the note under the board
