"""glc explain prints the numbers of the SQL nodes (level_scores, group_scores__V, part_scores__V,
modality_counts__V, task_contributions__V, task_wins__V) and computes none of them itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from glc.compiler.contracts import quote_ident
from helpers.metric_project import add_task, explain_vs_sql, new_project

from glc.analysis.explain import render
from glc.workspace import Workspace

VARIANTS = ("pooled", "per_modality", "strict")


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Workspace:
    """Six test tasks beside the small catalog (whose tasks no model attempts): 'm' ties one image
    comprehension task, loses another, skips a video one, wins image generation, loses video generation
    and wins the NLP task; 'n' wins image comprehension and generation and loses the NLP task."""
    tmp = tmp_path_factory.mktemp("explain")
    root = new_project(tmp / "p")
    item = [("q1", {}, ["x"])]
    tid = {}
    for key, metric, modality, paradigm, sota in (
        ("c1", "acc", "image", "comprehension", 50.0),
        ("c2", "acc", "image", "comprehension", 80.0),
        ("c3", "acc", "video", "comprehension", 60.0),
        ("g1", "psnr", "image", "generation", 30.0),
        ("g2", "psnr", "video", "generation", 30.0),
        ("l1", "acc", "nlp", "nlp", 70.0),
    ):
        tid[key] = add_task(
            root, metric, "text", item, modality=modality, paradigm=paradigm, sota=sota, suffix=f"_{key}"
        )
    scores = {
        "m": {"c1": 50.0, "c2": 40.0, "g1": 35.0, "g2": 29.0, "l1": 80.0},
        "n": {"c1": 60.0, "g1": 31.0, "l1": 60.0},
    }
    csv = tmp / "scores.csv"
    csv.write_text(
        "model,task,score\n" + "".join(f"{m},{tid[k]},{x!r}\n" for m, row in scores.items() for k, x in row.items())
    )
    ws = Workspace(root)
    ws.import_scores(csv)
    ws.run()
    return ws


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("scope", ["A", "B-image", "B-image-video", "C-image-comprehension"])
def test_explain_numbers_are_the_rows_of_the_sql_models(board: Workspace, variant: str, scope: str) -> None:
    for model in ("m", "n"):
        explain_vs_sql(board, model, variant, scope)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_per_modality_contributions_follow_the_average_over_modalities(board: Workspace) -> None:
    """Under per_modality S_C is the mean of the modalities' S_C, so the tied image task (sigma 50, one
    of the image part's comprehension tasks, two modalities with comprehension tasks) adds
    50 / M_image / 2 to s_c, not 50 / M as in pooled."""
    pooled = explain_vs_sql(board, "m", "pooled", "A")
    per_mod = explain_vs_sql(board, "m", "per_modality", "A")
    n_c = {g["part"]: g["n_tasks"] for g in per_mod["groups"] if g["task_group"] == "C"}
    n_parts_c = len(n_c)
    c1 = {t["task_id"]: t for t in per_mod["top_contributors"]}["image.t_acc_c1"]
    assert c1["contribution"] == pytest.approx(50.0 / n_c["image"] / n_parts_c)
    m_all = next(g["n_tasks"] for g in pooled["groups"] if g["task_group"] == "C")
    assert {t["task_id"]: t for t in pooled["top_contributors"]}["image.t_acc_c1"]["contribution"] == pytest.approx(
        50.0 / m_all
    )


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_explain_prints_what_the_sql_tables_hold(board: Workspace, tmp_path: Path) -> None:
    """Change the numbers in the built tables and views directly: explain prints the changed numbers, so
    none of them is recomputed in Python."""
    root = tmp_path / "p"
    shutil.copytree(board.root, root)
    ws = Workspace(root)
    con = duckdb.connect(ws.target.path)
    try:
        on_m = ["m", "A"]
        con.execute(
            "UPDATE level_scores SET level_5 = 12.3456, s_l = 65.4321 "
            "WHERE model = ? AND variant = 'pooled' AND scope = ?",
            on_m,
        )
        mc = "model = 'm' AND scope = 'A' AND task_group = 'C'"
        for view, changed in (
            ("group_scores__pooled", f"CASE WHEN {mc} THEN 777.5 ELSE sum_sigma END AS sum_sigma, "
                                     f"CASE WHEN {mc} THEN 42 ELSE n_wins END AS n_wins"),
            ("part_scores__pooled", "91.5 AS level_2, 92.5 AS level_3, 93.5 AS level_4, 94.5 AS s_c, 95.5 AS s_g"),
            ("task_contributions__pooled", "9.875 AS contribution"),
            ("task_wins__pooled", "shortfall * 0 + 3.125 AS shortfall"),
            ("modality_counts__pooled", "n_supported + 90 AS n_supported"),
        ):
            name, built = quote_ident(view), quote_ident(f"{view}_built")  # changed: constant SQL of this test
            con.execute(f"ALTER VIEW {name} RENAME TO {built}")
            con.execute(f"CREATE VIEW {name} AS SELECT * REPLACE ({changed}) FROM {built}")
    finally:
        con.close()
    m = render(ws.explain("m", "pooled", "A"))
    assert "level_5=12.35" in m and "s_l=65.43" in m
    assert "* 65.43 / 100 = 12.35" in m  # the row's Level-4 and changed S_L, then the changed Level-5
    assert "= 1/2 (777.5 / " in m and "42 won" in m.split("groups:")[1].split("per modality:")[0]
    assert "Level-2 = 1/2 (" in m and ") = 91.5" in m
    assert "Level-3 = 1/2 (S_C + S_G) = 1/2 (94.5 + 95.5) = 92.5" in m
    assert "Level-4 = 2 S_C S_G / (S_C + S_G) = 2 * 94.5 * 95.5 / (94.5 + 95.5) = 93.5" in m
    assert "adds 9.875" in m.split("tasks contributing most:")[1]
    per_modality = m.split("per modality:")[1].split("formulas:")[0]
    assert "image comprehension: 92/" in per_modality  # 'm' attempted 2 image comprehension tasks
    n = render(ws.explain("n", "pooled", "A"))
    assert "to move up: Win one NLP task (closest: 'Test acc_l1', 3.125 sigma points short)" in n
    unchanged = render(ws.explain("m", "strict", "A"))  # another variant's nodes were left alone
    assert "777.5" not in unchanged and "9.875" not in unchanged and "91.5" not in unchanged
