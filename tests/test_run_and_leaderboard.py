"""glc run / leaderboard / show / test from the library and the CLI, targets, odd task names."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from glc.compiler.errors import GlcError
from helpers.project import EXAMPLES

from glc.workspace import Workspace

KEYS = ["rank", "model", "variant", "scope", "level_2", "level_3", "level_4", "level_5", "s_c", "s_g", "s_l", "level",
        "level_without_ties", "n_tasks", "n_attempted", "n_wins", "n_ties", "n_pending", "n_complete",
        "instances_scored", "instances_total", "n_imported",
        *[f"level_{k}_ci95_{end}" for k in (2, 3, 4, 5) for end in ("lo", "hi")]]


def glc(project_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(project_dir), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


@pytest.fixture
def built(ws: Workspace) -> Workspace:
    ws.import_scores(EXAMPLES / "c04_sota_beater.xlsx")
    ws.import_scores(EXAMPLES / "c12_cross_paradigm.xlsx")
    ws.run()
    return ws


def test_leaderboard_formats(built: Workspace, project_dir: Path) -> None:
    out = glc(project_dir, "leaderboard", "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [list(r) for r in rows] == [KEYS, KEYS]
    assert rows[0]["model"] == "SoTA-Beater-70B" and rows[0]["level"] == 5
    assert rows[1]["level"] == 5 and rows[0]["level_5"] > rows[1]["level_5"]
    out = glc(project_dir, "leaderboard", "--variant", "per_modality", "--scope", "A", "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(out.stdout)))
    assert list(parsed[0]) == KEYS
    assert {r["model"]: r["level"] for r in parsed} == {"SoTA-Beater-70B": "5", "CrossModal-Paradigm": "3"}
    md = glc(project_dir, "leaderboard", "--scope", "C-image-comprehension", "--format", "markdown").stdout
    assert md.splitlines()[0].startswith("| rank | model | variant | scope |") and "| - |" in md
    table = glc(project_dir, "leaderboard", "--scope", "B-video").stdout
    assert "leaderboard: variant pooled, scope B-video" in table


def test_scope_caps(built: Workspace) -> None:
    for row in built.leaderboard("pooled", "C-video-generation"):
        assert row["level_4"] is None and row["level_5"] is None and row["level"] <= 3
    for row in built.leaderboard("strict", "B-3d"):
        assert row["level_5"] is None and row["level"] <= 4


def test_unknown_variant_and_scope(built: Workspace, project_dir: Path) -> None:
    with pytest.raises(GlcError, match="unknown level variant 'pooledd'"):
        built.leaderboard("pooledd")
    out = glc(project_dir, "leaderboard", "--scope", "B-imag")
    assert out.returncode == 2 and "unknown scope 'B-imag'" in out.stderr and "did you mean 'B-image'?" in out.stderr
    out = glc(project_dir, "leaderboard", "--format", "xml")
    assert out.returncode == 2 and "unknown format 'xml'" in out.stderr


def test_leaderboard_before_run(ws: Workspace) -> None:
    ws.import_scores(EXAMPLES / "c04_sota_beater.xlsx")
    with pytest.raises(GlcError, match="run `glc run` first"):
        ws.leaderboard()


def test_run_prints_board_and_test_summary(project_dir: Path) -> None:
    assert glc(project_dir, "import", "scores", str(EXAMPLES / "c03_img_vid_comp_gen.xlsx")).returncode == 0
    out = glc(project_dir, "run")
    assert out.returncode == 0, out.stderr
    assert "Omni-ImgVid-34B" in out.stdout and "WARN sota_only_a_tie_can_win" in out.stdout
    assert "tests: 12 passed, 2 warned, 0 failed" in out.stdout


def test_show_prints_compiled_sql(project_dir: Path) -> None:
    out = glc(project_dir, "show", "level_scores__per_modality")
    assert out.stdout.startswith("-- node: level_scores__per_modality\n")
    assert (project_dir / "target/compiled/level_scores__per_modality.sql").read_text() == out.stdout
    bad = glc(project_dir, "show", "level_score")
    assert bad.returncode == 2 and "did you mean 'level_scores'?" in bad.stderr


def test_target_selected_by_option_and_env(project_dir: Path) -> None:
    (project_dir / "profiles.yml").write_text(
        "target: dev\ntargets:\n  dev: {type: duckdb, path: target/dev.duckdb}\n"
        "  other: {type: duckdb, path: target/other.duckdb}\n")
    glc(project_dir, "--target", "other", "import", "scores", str(EXAMPLES / "c04_sota_beater.xlsx"))
    assert (project_dir / "target/other.duckdb").exists() and not (project_dir / "target/dev.duckdb").exists()
    glc(project_dir, "import", "scores", str(EXAMPLES / "c04_sota_beater.xlsx"), env={"GLC_TARGET": "dev"})
    assert (project_dir / "target/dev.duckdb").exists()
    out = glc(project_dir, "--target", "nope", "compile")
    assert out.returncode == 2 and "unknown target 'nope'" in out.stderr


def test_failing_data_test_fails_run(built: Workspace, project_dir: Path) -> None:
    (project_dir / "specs/tests/strict_sota.yaml").write_text(
        "data_tests:\n  - name: no_perfect_sota\n    type: accepted_range\n    model: tasks\n"
        "    columns: [sota]\n    max: 99.9\n")
    out = glc(project_dir, "run")
    assert out.returncode == 1
    assert "FAIL no_perfect_sota (tasks): 10 row(s)" in out.stdout


def test_imported_fraction_warning_names_the_cell(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("model,task,score\nm,nlp.commonsense_reasoning,0.84\n")
    ws.import_scores(tmp_path / "s.csv")
    report = ws.run().tests
    warn = next(r for r in report.data if r.test.name == "imported_value_looks_like_a_fraction")
    assert warn.status == "warn" and warn.n_failing == 1
    assert "row_no=2" in warn.describe() and "s.csv" in warn.describe()


def test_odd_task_names_travel_as_data(project_dir: Path, tmp_path: Path) -> None:
    odd = 'Say "hi" \\ it\'s 数据 -- DROP TABLE tasks; '
    spec = project_dir / "specs/tasks/nlp/odd.yaml"
    spec.write_text(
        "id: nlp.odd\n"
        f"name: {json.dumps(odd, ensure_ascii=False)}\n"
        "modality: nlp\nparadigm: nlp\nmetric: acc\nsota: {value: 50, source: test}\n"
        f"official: {{sheet: NLP, metric: ACC}}\n")
    with (tmp_path / "s.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["model", "task", "score"], ["m", odd, "60"]])
    ws = Workspace(project_dir)
    ws.import_scores(tmp_path / "s.csv")
    ws.run()
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        got = con.execute("SELECT task_name, score FROM task_scores WHERE task_id = 'nlp.odd'").fetchall()
        n_tasks = con.execute("SELECT count(*) FROM tasks").fetchone()[0]
    finally:
        con.close()
    assert got == [(odd, 60.0)] and n_tasks == 700
    assert ws.leaderboard()[0]["s_l"] == pytest.approx(60 / 116)


def test_broken_spec_leaves_built_results_untouched(built: Workspace, project_dir: Path) -> None:
    before = built.leaderboard()
    spec = project_dir / "specs/levels/pooled.yaml"
    spec.write_text(spec.read_text().replace("group_by: none", "group_by: sideways"))
    out = glc(project_dir, "run")
    assert out.returncode == 2 and out.stderr.startswith("Error: 1 spec error:")
    assert "specs/levels/pooled.yaml:8: group_by: Input should be 'none' or 'modality'" in out.stderr
    spec.write_text(spec.read_text().replace("group_by: sideways", "group_by: none"))
    assert Workspace(project_dir).leaderboard() == before


def test_failed_build_rolls_back(built: Workspace, project_dir: Path) -> None:
    before = built.leaderboard()
    tpl = project_dir / "sql/models/task_results.sql"
    tpl.write_text(tpl.read_text().replace("  o.sigma,", "  CAST('x' || o.sigma AS DOUBLE) AS sigma,"))
    out = glc(project_dir, "run")
    # task_results is a view: the error surfaces where group_parts stores its sums, naming it
    assert out.returncode == 2 and "building model 'group_parts' failed" in out.stderr
    assert "it reads views, computed here: " in out.stderr
    assert "task_results (sql/models/task_results.sql)" in out.stderr
    assert Workspace(project_dir).leaderboard() == before
