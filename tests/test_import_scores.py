"""Importing score workbooks and tables: matching by key, missing values, refusals that
name sheet/row/column, atomic replacement, and a store that bad files never touch."""

from __future__ import annotations

from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest
from glc.compiler.errors import GlcError
from helpers.metric_project import workbook_variant
from helpers.project import EXAMPLES

from glc.workspace import Workspace

C04 = EXAMPLES / "c04_sota_beater.xlsx"


def _find(ws, task_name: str) -> int:
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 2).value == task_name:
            return r
    raise AssertionError(task_name)


def _stored(ws: Workspace) -> list[tuple]:
    if not Path(ws.target.path).exists():
        return []
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        return con.sql("SELECT model, task_id, score FROM imported_scores ORDER BY ALL").fetchall()
    finally:
        con.close()


def _refused(ws: Workspace, path: Path, model: str | None = None) -> str:
    before = _stored(ws)
    with pytest.raises(GlcError) as err:
        ws.import_scores(path, model)
    assert _stored(ws) == before, "a refused file changed the store"
    return err.value.format()


@pytest.fixture
def loaded(ws: Workspace) -> Workspace:
    ws.import_scores(EXAMPLES / "c03_img_vid_comp_gen.xlsx")
    return ws


def test_rows_are_matched_by_key_not_position(loaded: Workspace, tmp_path: Path) -> None:
    def shuffle(wb):
        ws = wb["NLP"]
        rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
        for r, values in enumerate(reversed(rows), start=2):
            for c, v in enumerate(values, start=1):
                ws.cell(r, c).value = v
    a = loaded.read_scores(C04)
    b = loaded.read_scores(workbook_variant(tmp_path, shuffle))
    assert sorted((c.task_id, c.score) for c in a.cells) == sorted((c.task_id, c.score) for c in b.cells)


def test_missing_tokens_and_numeric_text(loaded: Workspace, tmp_path: Path) -> None:
    tokens = ["inf", "∞", "N/A", "n/a", "-", "  "]

    def edit(wb):
        ws = wb["NLP"]
        for i, tok in enumerate(tokens):
            ws.cell(2 + i, 5).value = tok
        ws.cell(10, 5).value = " 42.5 "
        wb.create_sheet("level-scores")["A1"] = "ignored"
    parsed = loaded.read_scores(workbook_variant(tmp_path, edit))
    base = loaded.read_scores(C04)
    model = "SoTA-Beater-70B"
    n_base_missing_in_rows = sum(1 for r in range(2, 2 + len(tokens))
                                 if openpyxl.load_workbook(C04)["NLP"].cell(r, 5).value is None)
    assert parsed.missing[model] == base.missing[model] + len(tokens) - n_base_missing_in_rows
    assert parsed.ignored_sheets == ["level-scores"]
    row10 = openpyxl.load_workbook(C04)["NLP"].cell(10, 2).value
    cell = next(c for c in parsed.cells if c.sheet == "NLP" and c.row_no == 10)
    assert cell.score == 42.5 and row10


def test_percent_text_is_refused_with_location(loaded: Workspace, tmp_path: Path) -> None:
    def edit(wb):
        wb["Image-Comprehension"].cell(5, 5).value = "85%"
    msg = _refused(loaded, workbook_variant(tmp_path, edit))
    assert "sheet 'Image-Comprehension' row 5 column E ('SoTA-Beater-70B'): '85%' is not a number" in msg
    assert "write 85" in msg and "nothing from this file was stored" in msg


def test_negative_distance_is_refused(loaded: Workspace, tmp_path: Path) -> None:
    def edit(wb):
        ws = wb["Image-Generation"]
        r = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 4).value == "FID")
        ws.cell(r, 5).value = -3.5
    msg = _refused(loaded, workbook_variant(tmp_path, edit))
    assert "sheet 'Image-Generation' row" in msg and "column E" in msg
    assert "-3.5 is below the minimum 0 of metric 'fid' (a distance cannot be negative)" in msg


def test_unknown_task_with_did_you_mean(loaded: Workspace, tmp_path: Path) -> None:
    def edit(wb):
        ws = wb["NLP"]
        ws.cell(_find(ws, "Commonsense Reasoning"), 2).value = "Commonsense Reasonin"
    msg = _refused(loaded, workbook_variant(tmp_path, edit))
    assert "unknown task 'Commonsense Reasonin' with metric 'ACC'" in msg
    assert "did you mean 'Commonsense Reasoning | ACC'?" in msg


def test_unknown_and_missing_sheets(loaded: Workspace, tmp_path: Path) -> None:
    def edit(wb):
        wb["NLP"].title = "NLPP"
    msg = _refused(loaded, workbook_variant(tmp_path, edit))
    assert "sheet 'NLPP': unknown sheet" in msg and "did you mean 'NLP'?" in msg
    assert "sheet 'NLP': missing sheet" in msg


def test_extra_sheet_is_refused(loaded: Workspace, tmp_path: Path) -> None:
    def edit(wb):
        wb.create_sheet("Notes")
    assert "sheet 'Notes': unknown sheet" in _refused(loaded, workbook_variant(tmp_path, edit))


def test_duplicate_model_columns(loaded: Workspace, tmp_path: Path) -> None:
    def edit(wb):
        for ws in wb.worksheets:
            ws.cell(1, 6).value = "SoTA-Beater-70B"
    msg = _refused(loaded, workbook_variant(tmp_path, edit))
    assert "model column 'SoTA-Beater-70B' appears more than once (columns E, F)" in msg


def test_corrupt_file(loaded: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(C04.read_bytes()[:5000])
    msg = _refused(loaded, bad)
    assert "broken.xlsx" in msg and "not a readable .xlsx workbook" in msg


def test_unknown_model_option(loaded: Workspace) -> None:
    assert "model 'gpt' is not in this file" in _refused(loaded, C04, model="gpt")


def test_reimport_replaces_model_atomically(ws: Workspace, tmp_path: Path) -> None:
    ws.import_scores(C04)
    ws.import_scores(EXAMPLES / "c12_cross_paradigm.xlsx")
    first = [r for r in _stored(ws) if r[0] == "SoTA-Beater-70B"]

    def edit(wb):
        ws_ = wb["NLP"]
        for r in range(2, ws_.max_row + 1):
            ws_.cell(r, 5).value = None
    ws.import_scores(workbook_variant(tmp_path, edit))
    after = _stored(ws)
    mine = [r for r in after if r[0] == "SoTA-Beater-70B"]
    assert len(mine) < len(first) and not any(t.startswith("nlp.") for _, t, _ in mine)
    assert any(r[0] == "CrossModal-Paradigm" for r in after)  # other models untouched


def test_csv_and_parquet_tables(ws: Workspace, tmp_path: Path) -> None:
    rows = [("m1", "nlp.commonsense_reasoning", "84.2"), ("m1", "Causal Reasoning", "N/A"),
            ("m1", "image.weather_recognition", "")]
    frame = pl.DataFrame(rows, schema=["model", "task", "score"], orient="row")
    frame.write_csv(tmp_path / "s.csv")
    parsed = ws.read_scores(tmp_path / "s.csv")
    assert [(c.task_id, c.score) for c in parsed.cells] == [("nlp.commonsense_reasoning", 84.2)]
    assert parsed.missing["m1"] == 698
    frame.write_parquet(tmp_path / "s.parquet")
    assert ws.import_scores(tmp_path / "s.parquet").n_scores == {"m1": 1}


def test_csv_errors_name_rows(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("model,task,score\nm,nlp.commonsense_reasoning,1\n"
                                      "m,nlp.commonsense_reasoning,2\nm,nlp.comonsense_reasoning,3\n")
    msg = _refused(ws, tmp_path / "bad.csv")
    assert "row 3: second score for model 'm' on task 'nlp.commonsense_reasoning'" in msg
    assert "row 4: unknown task 'nlp.comonsense_reasoning'" in msg and "did you mean" in msg


def test_cli_import_reports_counts(project_dir: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(project_dir), "import", "scores",
                           str(C04), "--model", "sota-beater-70b"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "SoTA-Beater-70B: 550 scores, 149 without a score" in proc.stdout


def test_values_in_a_column_without_model_name(loaded: Workspace, tmp_path: Path) -> None:
    def edit(wb):
        wb["NLP"].cell(3, 7).value = 12.5
    assert "sheet 'NLP' row 3 column G: value 12.5 in a column without a model name" in \
        _refused(loaded, workbook_variant(tmp_path, edit))


def _levels(ws: Workspace) -> list[tuple]:
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        return con.sql("SELECT model, scope, variant, level, round(level_2, 9), round(level_3, 9), "
                       "round(level_4, 9), round(level_5, 9) FROM level_scores ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_a_runs_scores_file_imports_into_another_project(ws: Workspace, tmp_path: Path) -> None:
    """The scores file a run writes (column task_id, among others) is a score table: imported into a fresh
    project, the same scores give the same levels."""
    from helpers.project import copy_project

    from glc import cli

    ws.import_scores(C04)
    ws.import_scores(EXAMPLES / "c03_img_vid_comp_gen.xlsx")
    try:
        cli.app(["--project-dir", str(ws.root), "run"], standalone_mode=False)  # the command writes the files
    except SystemExit as exc:  # a warned data test: the run still wrote its files
        assert exc.code in (0, 1, None)
    scores = sorted((ws.root / "target" / "runs").glob("*/scores.parquet"))[-1]
    assert "task_id" in pl.read_parquet_schema(scores) and "task" not in pl.read_parquet_schema(scores)
    other = Workspace(copy_project(tmp_path / "other"))
    got = other.import_scores(scores)
    assert sorted(got.n_scores) == ["Omni-ImgVid-34B", "SoTA-Beater-70B"]
    assert _stored(other) == _stored(ws)
    other.run()
    assert _levels(other) == _levels(ws) and _levels(ws)


def test_a_table_with_task_and_task_id_is_refused(ws: Workspace, tmp_path: Path) -> None:
    frame = pl.DataFrame({"model": ["m1"], "task": ["nlp.commonsense_reasoning"],
                          "task_id": ["image.weather_recognition"], "score": ["84.2"]})
    frame.write_csv(tmp_path / "both.csv")
    msg = _refused(ws, tmp_path / "both.csv")
    assert "both a 'task' and a 'task_id' column" in msg and "both.csv" in msg
