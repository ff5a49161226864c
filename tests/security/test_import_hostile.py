"""Hostile score workbooks, score tables and prediction files: a located refusal, never a traceback.

Each import here is of a file a stranger could send. A refused file must leave the store exactly
as it was (``imported_scores``, ``imported_models``, ``predictions``), and its message must name
the place (file, line, sheet, row, column, instance, field) without echoing megabytes back.
Hostile workbooks are made from a real example workbook with openpyxl, or by editing the XML of
its sheets inside the zip; nothing binary is committed.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import openpyxl
import polars as pl
import pytest
from glc.compiler.errors import GlcError
from helpers.metric_project import add_task, new_project, workbook_variant, write_predictions
from helpers.project import EXAMPLES  # tests/conftest.py, put on sys.path by pytest
from typer.testing import CliRunner

from glc.cli import app
from glc.workspace import Workspace

C04 = EXAMPLES / "c04_sota_beater.xlsx"
C04_MODEL = "SoTA-Beater-70B"
C04_SCORES = 550
STORE_TABLES = ("imported_scores", "imported_models", "predictions")
QA = [("q1", {"question": "2+2?"}, ["4"]), ("q2", {"question": "capital of France?"}, ["Paris"]),
      ("q3", {"question": "color of sky?"}, ["blue"])]
HUGE = 10_000_000
MESSAGE_LIMIT = 6_000  # a refusal lists at most 25 problems of a few hundred characters


# --- helpers ----------------------------------------------------------------------------------

def _snapshot(ws: Workspace) -> dict[str, list[tuple]]:
    """Every row of the tables an import writes, to compare before and after a refusal."""
    path = Path(ws.target.path)
    if not path.exists():
        return {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        present = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
        return {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in STORE_TABLES if t in present}
    finally:
        con.close()


def _refused(ws: Workspace, path: Path, kind: str = "scores", model: str | None = None) -> str:
    """The refusal message of importing ``path``; the store must be unchanged and the error a GlcError."""
    before = _snapshot(ws)
    with pytest.raises(GlcError) as err:
        if kind == "scores":
            ws.import_scores(path, model)
        else:
            ws.import_predictions(path, model)
    assert _snapshot(ws) == before, "a refused file changed the store"
    text = err.value.format()
    assert len(text) < MESSAGE_LIMIT, f"the message echoes too much ({len(text)} characters)"
    return text


def _cli(ws: Workspace, *args: str) -> str:
    """Run ``glc --project-dir ROOT ARGS`` through typer's CliRunner; return what the user reads.

    ``glc.cli.main`` prints a GlcError as ``Error: <format()>`` and exits 2; any other exception
    reaches the user as a Python traceback, so the refusal must be a GlcError.
    """
    before = _snapshot(ws)
    result = CliRunner().invoke(app, ["--project-dir", str(ws.root), *args])
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, GlcError), f"a traceback would reach the user: {result.exception!r}"
    text = result.output + "Error: " + result.exception.format()
    assert "Traceback" not in text
    assert _snapshot(ws) == before, "a refused file changed the store"
    return text


def _sheet_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> the zip member holding its XML, read from workbook.xml and its relationships."""
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    rels = {r.get("Id"): "xl/" + r.get("Target", "").lstrip("/").removeprefix("xl/")
            for r in ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))}
    book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    return {s.get("name"): rels[s.get(f"{rel_ns}id")] for s in book.iter() if s.tag.endswith("}sheet")}


def _edit_xml(tmp_path: Path, edits: dict[str, Callable[[str], str]], name: str = "x.xlsx",
              src: Path = C04) -> Path:
    """A copy of ``src`` whose sheets' XML (by sheet title, ``*`` for every sheet) is rewritten."""
    out = tmp_path / name
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        by_member = {member: title for title, member in _sheet_paths(zin).items()}
        for info in zin.infolist():
            data = zin.read(info.filename)
            title = by_member.get(info.filename)
            edit = edits.get(title) or (edits.get("*") if title else None)
            if edit is not None:
                new = edit(data.decode("utf-8"))
                assert new != data.decode("utf-8"), f"edit of {title!r} changed nothing"
                data = new.encode("utf-8")
            zout.writestr(info, data)
    return out


def _row_of(sheet: str, metric: str) -> tuple[int, str]:
    """The first row of ``sheet`` whose Metrics cell is ``metric`` and has a C04 score: (row, score XML)."""
    ws = openpyxl.load_workbook(C04)[sheet]
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 4).value == metric and ws.cell(r, 5).value is not None:
            return r, str(ws.cell(r, 5).value)
    raise AssertionError(metric)


@pytest.fixture
def loaded(ws: Workspace) -> Workspace:
    """The 699-task project with one workbook already imported: refusals must leave it alone."""
    ws.import_scores(EXAMPLES / "c03_img_vid_comp_gen.xlsx")
    return ws


# --- class 7: the workbook's declared extent and its formulas -----------------------------------

def test_stale_dimension_does_not_drop_rows(ws: Workspace, tmp_path: Path) -> None:
    """A ``<dimension ref="A1:F10"/>`` left by a tool must not hide rows 11 on (or column E)."""
    stale = _edit_xml(tmp_path, {"*": lambda xml: re.sub(r'<dimension ref="[^"]*"\s*/>',
                                                         '<dimension ref="A1:F10"/>', xml)})
    narrow = _edit_xml(tmp_path, {"*": lambda xml: re.sub(r'<dimension ref="[^"]*"\s*/>',
                                                          '<dimension ref="A1:D3"/>', xml)}, "narrow.xlsx")
    base = sorted((c.task_id, c.score) for c in ws.read_scores(C04).cells)
    assert sorted((c.task_id, c.score) for c in ws.read_scores(narrow).cells) == base
    summary = ws.import_scores(stale)
    assert summary.n_scores == {C04_MODEL: C04_SCORES}
    assert sorted(r[1:3] for r in _snapshot(ws)["imported_scores"]) == base


def test_formula_without_cached_value_is_refused(loaded: Workspace, tmp_path: Path) -> None:
    def edit(wb: openpyxl.Workbook) -> None:
        wb["NLP"].cell(5, 5).value = "=40+2"  # openpyxl writes no cached value
        wb["NLP"].cell(7, 3).value = "=UPPER(B7)"  # a key column too, even in a row of no interest
    msg = _cli(loaded, "import", "scores", str(workbook_variant(tmp_path, edit)))
    assert "sheet 'NLP' row 5 column E: formula '=40+2' has no cached value" in msg
    assert "sheet 'NLP' row 7 column C: formula '=UPPER(B7)' has no cached value" in msg
    assert "so formulas get cached values, or paste values" in msg and "nothing from this file was stored" in msg


def test_formula_with_cached_value_uses_the_value(ws: Workspace, tmp_path: Path) -> None:
    r, value = _row_of("NLP", "ACC")
    plain = re.compile(rf'<c r="E{r}"[^>]*><v>{re.escape(value)}</v></c>')
    formula = f'<c r="E{r}"><f>{value}*1</f><v>{value}</v></c>'
    book = _edit_xml(tmp_path, {"NLP": lambda xml: plain.sub(formula, xml, count=1)})
    parsed = ws.read_scores(book)
    assert next(c.score for c in parsed.cells if c.sheet == "NLP" and c.row_no == r) == float(value)
    assert parsed.missing == ws.read_scores(C04).missing
    assert ws.import_scores(book).n_scores == {C04_MODEL: C04_SCORES}


# --- class 9: one rule for values that are not finite ---------------------------------------------

def test_overflowing_text_is_refused_in_workbooks(loaded: Workspace, tmp_path: Path) -> None:
    """``1e400`` once became +inf and won a PSNR task; ``inf`` spelled out still means "no score"."""
    psnr_row, _ = _row_of("Image-Generation", "PSNR")

    def edit(wb: openpyxl.Workbook) -> None:
        wb["Image-Generation"].cell(psnr_row, 5).value = "1e400"
        wb["NLP"].cell(3, 5).value = "-1e999"
        wb["NLP"].cell(4, 5).value = "inf"
    msg = _cli(loaded, "import", "scores", str(workbook_variant(tmp_path, edit)))
    assert (f"sheet 'Image-Generation' row {psnr_row} column E ('{C04_MODEL}'): '1e400' overflows to infinity"
            in msg)
    assert f"sheet 'NLP' row 3 column E ('{C04_MODEL}'): '-1e999' overflows to infinity" in msg
    assert "row 4 column E" not in msg and "for no score leave the cell empty" in msg


def test_overflowing_numeric_cell_is_refused(loaded: Workspace, tmp_path: Path) -> None:
    r, value = _row_of("NLP", "ACC")
    book = _edit_xml(tmp_path, {"NLP": lambda xml: xml.replace(f"<v>{value}</v>", "<v>1e400</v>", 1)})
    msg = _refused(loaded, book)
    assert f"sheet 'NLP' row {r} column E ('{C04_MODEL}'): the numeric cell holds inf (it overflows" in msg


def test_unparsable_numeric_cell_is_located(loaded: Workspace, tmp_path: Path) -> None:
    """``<v>inf</v>`` in a numeric cell makes openpyxl raise while rows are read, not when opened."""
    r, value = _row_of("NLP", "ACC")
    book = _edit_xml(tmp_path, {"NLP": lambda xml: xml.replace(f"<v>{value}</v>", "<v>inf</v>", 1)})
    msg = _cli(loaded, "import", "scores", str(book))
    assert "sheet 'NLP': cannot read the sheet after row" in msg and "'inf'" in msg
    assert "re-save the file from Excel or LibreOffice" in msg


def test_tables_follow_the_same_rule(loaded: Workspace, tmp_path: Path) -> None:
    csv = tmp_path / "s.csv"
    csv.write_text("model,task,score\n"
                   "m,nlp.commonsense_reasoning,1e400\n"
                   "m,nlp.causal_reasoning,inf\n"
                   "m,Counterfactual Reasoning,150\n"
                   "m,image.remote_sensing_image_dehazing,-1E999\n", encoding="utf-8")
    msg = _cli(loaded, "import", "scores", str(csv))
    assert "row 2 column 'score': '1e400' overflows to infinity" in msg
    assert "row 4 column 'score': 150 is above the maximum 100 of metric 'f1'" in msg
    assert "row 5 column 'score': '-1E999' overflows to infinity" in msg
    assert "row 3" not in msg  # the spelled token "inf" is "no score"


@pytest.mark.parametrize(("rows", "line", "said"), [
    ("m,nlp.commonsense_reasoning,1\nm,nlp.causal_reasoning\n", 3, "row has 2 fields, the header has 3"),
    ("m,nlp.commonsense_reasoning,1,9\n", 2, "row has 4 fields, the header has 3"),
    ('"m\nx",nlp.commonsense_reasoning,1\n\nm\n', 5, "row has 1 field, the header has 3"),
])
def test_a_csv_row_with_too_few_or_too_many_fields_is_refused_at_its_line(loaded: Workspace, tmp_path: Path,
                                                                          rows: str, line: int, said: str) -> None:
    """A row that lost its score field was read as "no score" (polars fills missing cells with nulls);
    one with a field too many was refused without its row."""
    csv = tmp_path / "s.csv"
    csv.write_text("model,task,score\n" + rows, encoding="utf-8")
    before = _snapshot(loaded)
    assert f"{csv}:{line}: {said}" in _cli(loaded, "import", "scores", str(csv))
    assert _snapshot(loaded) == before
    ok = tmp_path / "ok.csv"  # an empty score field is a row of three fields: "no score"
    ok.write_text("model,task,score\nm,nlp.commonsense_reasoning,\nm,nlp.causal_reasoning,42\n", encoding="utf-8")
    assert loaded.import_scores(ok).n_scores == {"m": 1}


def test_parquet_floats_follow_the_same_rule(loaded: Workspace, tmp_path: Path) -> None:
    tasks = ["nlp.commonsense_reasoning", "nlp.causal_reasoning", "nlp.counterfactual_reasoning",
             "image.remote_sensing_image_dehazing", "image.weather_recognition"]
    frame = pl.DataFrame({"model": ["m"] * 5, "task": tasks,
                          "score": [float("inf"), float("nan"), 101.0, -float("inf"), None]})
    frame.write_parquet(tmp_path / "s.parquet")
    msg = _refused(loaded, tmp_path / "s.parquet")
    assert "row 1 column 'score': the numeric cell holds inf" in msg
    assert "row 2 column 'score': the numeric cell holds NaN" in msg
    assert "row 3 column 'score': 101 is above the maximum 100 of metric 'f1'" in msg
    assert "row 4 column 'score': the numeric cell holds -inf" in msg
    assert "row 5" not in msg  # null is "no score"
    ok = pl.DataFrame({"model": ["m", "m"], "task": tasks[:2], "score": [None, 42.0]})
    ok.write_parquet(tmp_path / "ok.parquet")
    assert loaded.import_scores(tmp_path / "ok.parquet").n_scores == {"m": 1}


# --- class 13: names in tables are trimmed like workbook headers ---------------------------------

def test_table_model_and_task_names_are_trimmed(ws: Workspace, tmp_path: Path) -> None:
    ws.import_scores(C04)
    csv = tmp_path / "s.csv"
    csv.write_text(f"model,task,score\n {C04_MODEL}  , nlp.commonsense_reasoning ,84.2\n"
                   f"\t{C04_MODEL},Causal Reasoning ,41\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--project-dir", str(ws.root), "import", "scores", str(csv),
                                      "--model", C04_MODEL])
    assert result.exit_code == 0, result.output
    assert f"{C04_MODEL}: 2 scores" in result.output
    models = {r[0] for r in _snapshot(ws)["imported_models"]}
    assert models == {C04_MODEL}  # one model, the workbook's, not a second " SoTA-Beater-70B  "
    scores = {r[1]: r[2] for r in _snapshot(ws)["imported_scores"]}
    assert scores == {"nlp.commonsense_reasoning": 84.2, "nlp.causal_reasoning": 41.0}
    blank = tmp_path / "blank.csv"
    blank.write_text("model,task,score\n   ,nlp.commonsense_reasoning,1\n", encoding="utf-8")
    assert "row 2 column 'model': empty model name" in _cli(ws, "import", "scores", str(blank))


# --- class 5: lone surrogates and other text no store can encode ---------------------------------

@pytest.fixture
def preds(tmp_path: Path) -> Workspace:
    """A project with one QA task (nlp.t_acc) and one stored prediction of model 'm'."""
    root = new_project(tmp_path / "p")
    add_task(root, "acc", "text", QA)
    ws = Workspace(root)
    ws.import_predictions(write_predictions(tmp_path / "ok.jsonl", "m", "nlp.t_acc", [("q1", "4")]))
    return ws


def _jsonl(path: Path, *lines: str | bytes) -> Path:
    """A JSONL file whose first line is a valid prediction, then ``lines`` as given (bytes kept raw)."""
    first = json.dumps({"model": "m", "task": "nlp.t_acc", "id": "q1", "prediction": "four"}).encode()
    body = [first, *(line if isinstance(line, bytes) else line.encode("utf-8") for line in lines)]
    path.write_bytes(b"\n".join(body) + b"\n")
    return path


def _row(prediction: str = '"x"', iid: str = '"q2"', model: str = '"m"', task: str = '"nlp.t_acc"') -> str:
    """One JSONL line written by hand, so escapes like \\ud800 and literals like 1e400 stay as typed."""
    return f'{{"model": {model}, "task": {task}, "id": {iid}, "prediction": {prediction}}}'


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_lone_surrogate_in_predictions_is_refused(preds: Workspace, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "p.jsonl", _row('"ab\\ud800"'), _row('{"a": ["x", "\\udc00y"]}', '"q3"'),
                  _row('"x"', '"q\\ud800"'), _row('"x"', '"q3"', '"m\\udfff"'))
    msg = _cli(preds, "import", "predictions", str(path))
    assert (f"{path} row 2 field 'prediction': invalid Unicode: lone surrogate U+D800 at character 3"
            in msg)
    assert f"{path} row 3 field 'prediction.a[1]': invalid Unicode: lone surrogate U+DC00 at character 1" in msg
    assert f"{path} row 4 field 'instance_id': invalid Unicode: lone surrogate U+D800 at character 2" in msg
    assert f"{path} row 5 field 'model': invalid Unicode: lone surrogate U+DFFF at character 2" in msg
    assert "\\ud800-\\udbff must be followed by" in msg


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_lone_surrogate_in_prediction_json(tmp_path: Path) -> None:
    ws = _general_bench_project(tmp_path)
    pred = ws.root / "data/gb/Capital-QA/prediction.json"
    pred.write_text('[{"id": "q1", "prediction": "4"}, {"id": "q2", "prediction": "\\ud801"}]', encoding="utf-8")
    msg = _refused(ws, pred, "predictions", "m")
    assert f"{pred} instance 'q2' field 'prediction': invalid Unicode: lone surrogate U+D801" in msg
    assert "General-Bench prediction files do not name their model" in _refused(ws, pred, "predictions")


def test_invalid_xml_characters_in_a_workbook(loaded: Workspace, tmp_path: Path) -> None:
    """A surrogate cannot even be written into sheet XML: the parser refuses it, located by sheet."""
    book = _edit_xml(tmp_path, {"NLP": lambda xml: xml.replace(f"<t>{C04_MODEL}</t>", "<t>X&#xD800;</t>", 1)})
    msg = _cli(loaded, "import", "scores", str(book))
    assert "sheet 'NLP': cannot read the sheet" in msg and "invalid character" in msg


def test_surrogate_bytes_in_csv_and_file_names(loaded: Workspace, tmp_path: Path) -> None:
    csv = tmp_path / "s.csv"
    csv.write_bytes(b"model,task,score\nm,nlp.commonsense_reasoning,1\nm\xed\xa0\x80,nlp.causal_reasoning,2\n")
    msg = _cli(loaded, "import", "scores", str(csv))
    offset = csv.read_bytes().index(b"\xed")
    assert f"{csv}:3: not valid UTF-8: byte(s) ed at byte offset {offset}" in msg
    assert "save the file as UTF-8" in msg
    odd = tmp_path / os.fsdecode(b"scores-\xff.csv")  # a Linux name that is not UTF-8
    odd.write_text("model,task,score\nm,nlp.commonsense_reasoning,1\n", encoding="utf-8")
    assert "the file name is not valid UTF-8" in _refused(loaded, odd)


# --- class 12: other encodings, huge values -----------------------------------------------------

@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_latin1_predictions_name_line_and_byte(preds: Workspace, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "p.jsonl", _row('"caf\xe9"').encode("latin-1"))
    offset = path.read_bytes().index(b"\xe9")
    msg = _cli(preds, "import", "predictions", str(path))
    assert f"{path}:2: not valid UTF-8: byte(s) e9 at byte offset {offset}" in msg
    assert "save the file as UTF-8" in msg


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_latin1_prediction_json_and_csv(preds: Workspace, tmp_path: Path) -> None:
    ws = _general_bench_project(tmp_path)
    pred = ws.root / "data/gb/Capital-QA/prediction.json"
    pred.write_bytes('[{"id": "q1",\n "prediction": "café"}]'.encode("latin-1"))
    offset = pred.read_bytes().index(b"\xe9")
    msg = _refused(ws, pred, "predictions", "m")
    assert f"{pred}:2: not valid UTF-8: byte(s) e9 at byte offset {offset}" in msg
    csv = tmp_path / "p.csv"
    csv.write_bytes(b"model,task,id,prediction\nm,nlp.t_acc,q2,caf\xe9\n")
    assert f"{csv}:2: not valid UTF-8" in _refused(preds, csv, "predictions")
    # a row that lost its prediction field was stored as a missing prediction
    csv.write_text("model,task,id,prediction\nm,nlp.t_acc,q2,4\nm,nlp.t_acc,q3\n", encoding="utf-8")
    assert f"{csv}:3: row has 3 fields, the header has 4" in _refused(preds, csv, "predictions")


def test_huge_values_are_echoed_short(loaded: Workspace, preds: Workspace, tmp_path: Path) -> None:
    r, value = _row_of("NLP", "ACC")  # openpyxl cuts what it writes to 32767 characters: edit the XML
    cell = re.compile(rf'<c r="E{r}"[^>]*><v>{re.escape(value)}</v></c>')
    huge = f'<c r="E{r}" t="inlineStr"><is><t>{"9" * 10 + "x" * HUGE}</t></is></c>'
    msg = _refused(loaded, _edit_xml(tmp_path, {"NLP": lambda xml: cell.sub(lambda _: huge, xml, count=1)}))
    assert f"sheet 'NLP' row {r} column E ('{C04_MODEL}'): '9999999999xxx" in msg
    assert f"… ({HUGE + 10} characters) is not a number" in msg
    csv = tmp_path / "s.csv"
    csv.write_text("model,task,score\nm," + "t" * HUGE + ",1\n", encoding="utf-8")
    msg = _refused(loaded, csv)
    assert "row 2: unknown task 'tttt" in msg and f"({HUGE} characters)" in msg
    path = _jsonl(tmp_path / "p.jsonl", _row(json.dumps("y" * HUGE), json.dumps("z" * HUGE)), "{" + "x" * HUGE)
    msg = _refused(preds, path, "predictions")
    assert "row 2: task 'nlp.t_acc' has no instance 'zzz" in msg and f"({HUGE} characters)" in msg
    assert f"{path}:3: bad JSON at line 1 column 2" in msg


# --- other hostile prediction files ---------------------------------------------------------------

@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_hostile_prediction_rows_are_located(preds: Workspace, tmp_path: Path) -> None:
    """Every bad line is reported with its line, in one refusal; the store keeps what it had."""
    cases = {
        2: (_row("1e400"), "the number '1e400' overflows to infinity"),
        3: (_row("NaN", '"q3"'), "NaN is not JSON and not a finite number"),
        4: (_row("1" + "0" * 5000, '"q3"'), "overflows to infinity"),
        5: ("this is not json", "bad JSON at line 1 column 1: Expecting value"),
        6: ('["m", "nlp.t_acc", "q2", "x"]', "expected an object per line, got list"),
        7: (_row(task='{"a": 1}'), "unknown task {'a': 1}"),
        8: ('{"model": "m", "task": "nlp.t_acc", "prediction": "x"}', "no instance id"),
        9: (_row(iid='["q2"]'), "instance id ['q2'] is not text or an integer"),
        10: (_row(model='["m"]'), "model ['m'] is not text"),
        11: (_row("[" * 150 + "]" * 150), "nested deeper than 100 levels"),
        12: (_row("[" * 100_000 + "]" * 100_000), "bad JSON: nested too deeply"),
        13: (_row('"x"', '"q3"'), None),
        14: (_row('"y"', '"q3"'), "second prediction for this instance"),
    }
    path = _jsonl(tmp_path / "p.jsonl", *(line for line, _ in cases.values()))
    msg = _refused(preds, path, "predictions")
    for n, (_, expected) in cases.items():
        if expected is not None:
            assert re.search(rf"{re.escape(str(path))}(:| row ){n}\b[^\n]*{re.escape(expected)}", msg), (n, msg)
    assert f"the first is at {path} row 13" in msg
    assert "row 13:" not in msg


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_hostile_prediction_tables(preds: Workspace, tmp_path: Path) -> None:
    frame = pl.DataFrame({"model": ["m", "m", "m"], "task": ["nlp.t_acc"] * 3, "id": ["q1", "q2", "q3"],
                          "prediction": [b"\x00\x01", b"", None]})
    frame.write_parquet(tmp_path / "bin.parquet")
    msg = _cli(preds, "import", "predictions", str(tmp_path / "bin.parquet"))
    assert "bin.parquet row 1 field 'prediction': a value of type bytes is not JSON" in msg
    nan = pl.DataFrame({"model": [" m "], "task": [" nlp.t_acc"], "id": ["q2"], "prediction": [float("nan")]})
    nan.write_parquet(tmp_path / "nan.parquet")
    assert "nan.parquet row 1 field 'prediction': the number nan is not finite" in \
        _refused(preds, tmp_path / "nan.parquet", "predictions")
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    assert "cannot read predictions table" in _refused(preds, tmp_path / "junk.parquet", "predictions")
    (tmp_path / "empty.csv").write_bytes(b"")
    assert "empty.csv" in _refused(preds, tmp_path / "empty.csv", "predictions")


def test_line_separators_inside_predictions_are_not_line_ends(preds: Workspace, tmp_path: Path) -> None:
    """JSONL lines end at \\n only: U+2028, U+0085 and form feeds are characters of a prediction."""
    odd = "a\u2028b\u0085c\x0cd\x1ce"
    path = tmp_path / "p.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps({"model": "m", "task": "nlp.t_acc", "id": "q2", "prediction": odd},
                                                   ensure_ascii=False) + "\r\n").encode("utf-8"))
    preds.import_predictions(path)
    stored = {r[2]: r[3] for r in _snapshot(preds)["predictions"]}
    assert stored["q2"] == odd


def _general_bench_project(tmp_path: Path) -> Workspace:
    """A project with one General-Bench task folder (NLP QA) whose prediction.json tests write."""
    root = new_project(tmp_path / "gbp")
    folder = root / "data/gb/Capital-QA"
    folder.mkdir(parents=True)
    data = [{"id": i, "input": x, "output": r[0]} for i, x, r in QA]
    (folder / "annotation.json").write_text(json.dumps({"task": "Capital-QA", "type": "test", "data": data}))
    spec = {"id": "nlp.capital_qa", "name": "Capital-QA", "modality": "nlp", "paradigm": "nlp", "metric": "acc",
            "sota": {"value": 60.0, "source": "test"},
            "dataset": {"format": "general_bench", "path": "data/gb/Capital-QA", "reference": "text", "media": []}}
    (root / "specs/tasks/test/nlp.capital_qa.yaml").write_text(json.dumps(spec))
    ws = Workspace(root)
    (folder / "prediction.json").write_text(json.dumps([{"id": "q1", "prediction": "4"}]))
    ws.import_predictions(folder / "prediction.json", model="m")
    return ws


# --- class 9: the workbook's size and cell references, before a reader opens it ---------------------

def _append_row(xml: str, row: str) -> str:
    return xml.replace("</sheetData>", row + "</sheetData>", 1)


def test_a_far_cell_is_read_row_by_row_not_as_one_grid(ws: Workspace, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A blank cell at XFD4000 (or at Excel's very last cell) made the fast reader allocate the whole used
    range: gigabytes, or an abort. Such a sheet goes to the careful reader, which imports the same scores."""
    from glc.importers import fast_workbook

    calls: list[Path] = []
    real = fast_workbook.read_fast
    monkeypatch.setattr("glc.importers.workbook.read_fast", lambda p, *a, **k: calls.append(p) or real(p, *a, **k))
    for cell in ('<row r="4000"><c r="XFD4000" t="inlineStr"><is><t> </t></is></c></row>',
                 '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t></t></is></c></row>'):
        book = _edit_xml(tmp_path, {"NLP": lambda xml, c=cell: _append_row(xml, c)})
        got = ws.import_scores(book)
        assert got.n_scores == {C04_MODEL: C04_SCORES}
    assert calls == []  # neither went to calamine
    ws.import_scores(C04)
    assert calls == [C04]  # a plain workbook still does


def test_escaped_characters_in_text_are_read_as_openpyxl_reads_them(ws: Workspace, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """calamine decodes OOXML's _xHHHH_ escapes ('M_x0041_B' reads 'MAB'), openpyxl does not: the same
    workbook gave another model name depending on which reader the guard chose. Such a workbook (an escape
    in a sheet or in the shared strings) is read by openpyxl, as the official scorer's pandas reads it."""
    calls: list[Path] = []
    monkeypatch.setattr("glc.importers.workbook.read_fast", lambda p, *a, **k: calls.append(p))
    book = _edit_xml(tmp_path, {"*": lambda xml: xml.replace(f"<t>{C04_MODEL}</t>", "<t>M_x0041_B</t>")})
    assert ws.import_scores(book).n_scores == {"M_x0041_B": C04_SCORES} and calls == []

    def edit(wb: openpyxl.Workbook) -> None:  # openpyxl writes its text as shared strings
        for sheet in wb.worksheets:
            sheet.cell(1, 5).value = "N_x0042_C"
    written = workbook_variant(tmp_path, edit, "written.xlsx")  # openpyxl writes '_' of '_x' as '_x005F_'
    shared = tmp_path / "shared.xlsx"
    with zipfile.ZipFile(written) as zin, zipfile.ZipFile(shared, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if "sharedStrings" in info.filename:
                assert b"N_x005F_x0042_C" in data
                data = data.replace(b"N_x005F_x0042_C", b"N_x0042_C")  # as another writer may leave it
            zout.writestr(info, data)
    wanted = openpyxl.load_workbook(shared, read_only=True).worksheets[0].cell(1, 5).value
    assert wanted == "N_x0042_C"
    assert ws.import_scores(shared).n_scores == {wanted: C04_SCORES} and calls == []
    assert ws.import_scores(written).n_scores == {wanted: C04_SCORES}  # the escaped '_': both read it so


@pytest.mark.parametrize(("row", "said"), [
    ('<row r="2000000000"><c r="A2000000000" t="n"><v>1</v></c></row>', "row '2000000000' lies past Excel's last row"),
    ('<row r="5"><c r="A1048577" t="n"><v>1</v></c></row>', "cell 'A1048577' lies past Excel's last row"),
    ('<row r="5"><c r="ZZZZZZ5" t="n"><v>1</v></c></row>', "cell 'ZZZZZZ5' lies past Excel's last column (XFD)"),
    ('<row r="5"><c r="XFE5" t="n"><v>1</v></c></row>', "cell 'XFE5' lies past Excel's last column (XFD)"),
])
def test_references_past_excels_limits_are_refused(loaded: Workspace, tmp_path: Path, row: str, said: str) -> None:
    """openpyxl walks every empty row up to the last one named (two billion: a hang); calamine allocates
    them (an abort). No spreadsheet program writes such a reference: refused, by sheet."""
    book = _edit_xml(tmp_path, {"NLP": lambda xml: _append_row(xml, row)})
    msg = _cli(loaded, "import", "scores", str(book))
    assert f"sheet 'NLP': {said}" in msg and "re-save it from Excel or LibreOffice" in msg


@pytest.mark.parametrize("row", [
    '<row r="1048576"><c r="xfd1048576" t="inlineStr"><is><t></t></is></c></row>',  # lower case
    "<row r='1048576'><c r='XFD1048576' t=\"inlineStr\"><is><t></t></is></c></row>",  # single quotes
    '<row r = "1048576"><c r = "XFD1048576" t="inlineStr"><is><t></t></is></c></row>',  # spaces around =
    '<row r="01048576"><c r="XFD01048576" t="inlineStr"><is><t></t></is></c></row>',  # leading zeros
    '<row><c t="inlineStr"><is><t></t></is></c></row>' * 3,  # no references: placed one after another
    '<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="1048576"><x:c r="XFD1048576" '
    't="inlineStr"><x:is><x:t></x:t></x:is></x:c></x:row>',  # namespace-prefixed tags
])
def test_far_cells_however_written_never_reach_calamine(ws: Workspace, tmp_path: Path, row: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a sheet whose every cell and row tag starts with a plain reference near A1 goes to calamine
    (which allocates a sheet's whole range: one cell at XFD1048576, however spelled, aborted the process)."""
    calls: list[Path] = []
    monkeypatch.setattr("glc.importers.workbook.read_fast", lambda p, *a, **k: calls.append(p))
    book = _edit_xml(tmp_path, {"NLP": lambda xml: _append_row(xml, row)})
    try:
        ws.import_scores(book)
    except GlcError:
        pass  # openpyxl's verdict (e.g. a row without a task); what matters is who read it
    assert calls == []


@pytest.mark.parametrize("spelling", ['r=" 2000000000"', 'r="2e9"', 'r="+2000000000"', "r='2000000000'"])
def test_a_row_past_excels_last_however_written_stops_openpyxl(loaded: Workspace, tmp_path: Path,
                                                               spelling: str) -> None:
    """openpyxl reads these spellings as row two billion and yields every empty row up to it: it is
    stopped at Excel's last row, a located problem in a second or two, not a hang."""
    book = _edit_xml(tmp_path, {"NLP": lambda xml: _append_row(xml, f"<row {spelling}><c><v>1</v></c></row>")})
    msg = _cli(loaded, "import", "scores", str(book))
    assert "sheet 'NLP'" in msg and "past Excel's last row" in msg


def test_a_sheet_part_outside_the_worksheets_folder_is_read_row_by_row(ws: Workspace, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The relationships, not the part's name, say where a sheet is: a sheet moved to xl/nlp.xml skipped
    every check once. It is checked, and read by openpyxl (the fast reader's own scans look in
    xl/worksheets/ only)."""
    moved = tmp_path / "moved.xlsx"
    with zipfile.ZipFile(C04) as zin, zipfile.ZipFile(moved, "w", zipfile.ZIP_DEFLATED) as zout:
        target = _sheet_paths(zin)["NLP"]
        for info in zin.infolist():
            data = zin.read(info.filename)
            name = info.filename
            if name == target:
                name = "xl/nlp.xml"
                data = data.replace(b"</sheetData>", b'<row r="2000000000"><c r="A2000000000"><v>1</v></c></row>'
                                    b"</sheetData>")
            elif name == "xl/_rels/workbook.xml.rels":
                data = data.replace(target.removeprefix("xl/").encode(), b"nlp.xml")
            elif name == "[Content_Types].xml":
                data = data.replace(("/" + target).encode(), b"/xl/nlp.xml")
            zout.writestr(name, data)
    calls: list[Path] = []
    monkeypatch.setattr("glc.importers.workbook.read_fast", lambda p, *a, **k: calls.append(p))
    with pytest.raises(GlcError, match="sheet 'NLP': row '2000000000' lies past Excel's last row"):
        ws.import_scores(moved)
    assert calls == []


def test_a_far_row_with_a_formula_is_refused_not_walked(loaded: Workspace, tmp_path: Path) -> None:
    row, value = _row_of("NLP", "ACC")
    plain = re.compile(rf'<c r="E{row}"[^>]*><v>{re.escape(value)}</v></c>')
    far = '<row r="2000000000"><c r="A2000000000"><v>1</v></c></row>'
    book = _edit_xml(tmp_path, {"NLP": lambda xml: _append_row(
        plain.sub(f'<c r="E{row}"><f>1+1</f><v>2</v></c>', xml, count=1), far)})
    assert "lies past Excel's last row" in _cli(loaded, "import", "scores", str(book))


def _with_shared_strings(tmp_path: Path, value_xml: str, name: str) -> Path:
    """C04 with a shared-strings part ['hello', '99.5'] and NLP's first ACC score cell typed as a
    shared string whose <v> is ``value_xml``."""
    row, value = _row_of("NLP", "ACC")
    plain = re.compile(rf'<c r="E{row}"[^>]*><v>{re.escape(value)}</v></c>')
    book = _edit_xml(tmp_path, {"NLP": lambda xml: plain.sub(f'<c r="E{row}" t="s">{value_xml}</c>', xml, count=1)},
                     name=name)
    sst = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
           'main" count="2" uniqueCount="2"><si><t>hello</t></si><si><t>99.5</t></si></sst>')
    out = tmp_path / f"s-{name}"
    with zipfile.ZipFile(book) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.'
                                    b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                                    b'Target="sharedStrings.xml"/></Relationships>')
            zout.writestr(info, data)
        zout.writestr("xl/sharedStrings.xml", sst)
    return out


@pytest.mark.parametrize("value_xml", ["<v>-1</v>", "<v >-1</v>", "<v>&#45;1</v>", "<v> -1</v>"])
def test_a_negative_shared_string_index_is_refused(loaded: Workspace, tmp_path: Path, value_xml: str) -> None:
    """calamine and openpyxl both read index -1 as the last shared string ('99.5' here): a damaged cell
    imported another cell's text as its score, however the index was written. Refused; index 1 reads '99.5'."""
    bad = _with_shared_strings(tmp_path, value_xml, "neg.xlsx")
    assert "shared-string index -1 is negative" in _cli(loaded, "import", "scores", str(bad))
    good = _with_shared_strings(tmp_path, "<v>1</v>", "one.xlsx")
    assert loaded.import_scores(good).n_scores == {C04_MODEL: C04_SCORES}
    assert next(c.score for c in loaded.read_scores(good).cells if c.task_id == "nlp.commonsense_reasoning") == 99.5


def test_a_workbook_that_unpacks_too_far_is_refused_unread(loaded: Workspace, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip bomb: a sheet that unpacks to more than glc reads is refused by its declared size (the limits
    are lowered here so that the test writes kilobytes, not a gigabyte)."""
    from glc.importers import xlsx_guard

    pad = " " * 300_000
    book = _edit_xml(tmp_path, {"NLP": lambda xml: xml.replace("<sheetData>", "<sheetData>" + pad, 1)})
    monkeypatch.setattr(xlsx_guard, "MAX_PART", 200_000)
    assert "the part 'xl/worksheets/sheet1.xml' unpacks to" in _cli(loaded, "import", "scores", str(book))
    monkeypatch.setattr(xlsx_guard, "MAX_PART", 10**9)
    monkeypatch.setattr(xlsx_guard, "MAX_TOTAL", 200_000)
    assert "the workbook unpacks to" in _cli(loaded, "import", "scores", str(book))


ESCAPES = ["Evil\x1b]52;c;ZWNobyBwd25lZA==\x07", "M\n1", "M\x001", "Model\u202eB07-TPG", "x" * 201,
           "Cafe\u0301-7B"]
REFUSED = "control character|more than 200|not in composed Unicode form"


@pytest.mark.parametrize("name", ESCAPES)
def test_model_names_that_would_drive_a_terminal_are_refused(loaded: Workspace, preds: Workspace, tmp_path: Path,
                                                             name: str) -> None:
    """Model names are printed on boards and in terminals: control characters (ESC sequences set the title or
    write the clipboard; newline forges a line), bidirectional overrides and names past 200 characters are
    refused in every input, by place, and the message shows the name escaped. So is a name not in NFC
    ('Cafe' + a combining acute), which a board prints exactly like the composed 'Café-7B', another model."""
    csv = tmp_path / "s.csv"
    pl.DataFrame({"model": [name], "task": ["nlp.commonsense_reasoning"], "score": ["1"]}).write_csv(csv)
    msg = _cli(loaded, "import", "scores", str(csv))
    assert "row 2 column 'model'" in msg and re.search(REFUSED, msg), msg
    assert "\x1b" not in msg and "\x00" not in msg and "\u202e" not in msg
    if len(name) < 100:  # a workbook column header (xml cannot hold NUL or ESC: only the others)
        if "\x00" not in name and "\x1b" not in name:
            book = _edit_xml(tmp_path, {"*": lambda xml: xml.replace(f"<t>{C04_MODEL}</t>", f"<t>{name}</t>")})
            msg = _cli(loaded, "import", "scores", str(book))
            assert re.search("model name: (" + REFUSED + ")", msg), msg
    lines = _jsonl(tmp_path / "p.jsonl", json.dumps({"model": name, "task": "nlp.t_acc", "id": "q2",
                                                   "prediction": "x"}))
    msg = _cli(preds, "import", "predictions", str(lines))
    assert "\x1b" not in msg and "\u202e" not in msg and re.search(REFUSED, msg), msg
    with pytest.raises(GlcError, match=REFUSED):
        preds.import_predictions(lines, name)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
@pytest.mark.parametrize("kind", ["fifo", "dir", "link out", "device"])
def test_a_prediction_json_that_is_no_file_of_the_folder_is_refused(tmp_path: Path, kind: str) -> None:
    """A FIFO named prediction.json hung the import, a link to /dev/zero read without end, a folder was an
    internal error (exit 70), and a link to a file outside the imported folder was read and imported. Each
    is now a located problem; nothing is stored."""
    import os

    ws = _general_bench_project(tmp_path)
    pred = ws.root / "data/gb/Capital-QA/prediction.json"
    pred.unlink()
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps([{"id": "q2", "prediction": "TOPSECRET"}]))
    if kind == "fifo":
        os.mkfifo(pred)
    elif kind == "dir":
        pred.mkdir()
    elif kind == "link out":
        pred.symlink_to(secret)
    else:
        pred.symlink_to("/dev/zero")
    msg = _refused(ws, ws.root / "data/gb", "predictions", "m")
    assert str(pred) in msg
    assert ("leads outside the imported folder" if kind in ("link out", "device") else "not a regular file") in msg
    assert "TOPSECRET" not in msg


def test_a_csv_header_naming_a_column_twice_is_refused(loaded: Workspace, tmp_path: Path) -> None:
    """polars renames the second 'score' to 'score_duplicated_0', and the first was silently imported."""
    csv = tmp_path / "dup.csv"
    csv.write_text("model,task,score,score\nM1,nlp.commonsense_reasoning,50,60\n")
    assert f"{csv}:1: column 'score' appears more than once (columns 3, 4)" in _cli(loaded, "import", "scores",
                                                                                   str(csv))


def test_a_parquet_table_of_too_many_rows_is_refused_before_it_is_read(
        loaded: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A few hundred kilobytes of Parquet can hold 30 million repeated rows (13 GB once read): the row count
    comes from the file's metadata before any row is read (the limit is lowered here). And a table of
    many bad rows stops collecting problems at a bound."""
    from glc.importers import table_file

    path = tmp_path / "many.parquet"
    n = 3_000
    pl.DataFrame({"model": ["M1"] * n, "task": ["nlp.commonsense_reasoning"] * n, "score": [50.0] * n}
                 ).write_parquet(path)
    monkeypatch.setattr(table_file, "MAX_ROWS", 1_000)
    assert "the table has 3,000 rows, more than glc reads (1,000" in _cli(loaded, "import", "scores", str(path))
    monkeypatch.setattr(table_file, "MAX_ROWS", 10_000)
    monkeypatch.setattr(table_file, "MAX_PROBLEMS", 100)
    with pytest.raises(GlcError) as err:
        loaded.import_scores(path)
    problems = err.value.problems  # every row after the first repeats (model, task)
    assert len(problems) == 101 and "the check stopped here, after 100 problems" in problems[-1].message


def test_digits_of_other_scripts_are_not_numbers(loaded: Workspace, tmp_path: Path) -> None:
    """float() reads Arabic-Indic and full-width digits; a score is a plain decimal literal in ASCII."""
    csv = tmp_path / "digits.csv"
    csv.write_text("model,task,score\nM1,nlp.commonsense_reasoning,٥٠\nM1,nlp.causal_reasoning,５０\n",
                   encoding="utf-8")
    msg = _cli(loaded, "import", "scores", str(csv))
    assert "row 2 column 'score': '٥٠' is not a number" in msg and "row 3 column 'score': '５０' is not a number" in msg


def test_an_inline_string_without_its_type_is_refused(loaded: Workspace, tmp_path: Path) -> None:
    """calamine reads the text of <is> in a cell not typed inlineStr, openpyxl reads no value: the careful
    reader took a score for "no score" (549 scores instead of 550). Refused by cell."""
    row, value = _row_of("NLP", "ACC")
    plain = re.compile(rf'<c r="E{row}"[^>]*><v>{re.escape(value)}</v></c>')
    book = _edit_xml(tmp_path, {"NLP": lambda xml: plain.sub(f'<c r="E{row}"><is><t>{value}</t></is></c>', xml,
                                                             count=1)})
    assert f"sheet 'NLP': cell 'E{row}' holds an inline string but is not typed inlineStr" in _cli(
        loaded, "import", "scores", str(book))
    typed = _edit_xml(tmp_path, {"NLP": lambda xml: plain.sub(
        f"<c r='E{row}' t='inlineStr'><is><t>{value}</t></is></c>", xml, count=1)}, name="typed.xlsx")
    assert loaded.import_scores(typed).n_scores == {C04_MODEL: C04_SCORES}  # typed, even in single quotes: read
