"""The fast workbook reader (calamine) gives exactly what the careful reader (openpyxl) gives for
the workbooks it reads, and hands every other workbook to the careful reader.

Each case reads a workbook both ways and compares everything a reader returns: models, every
cell (model, task, score, raw value, sheet, row, column) in order, the "no score" counts and the
ignored sheets. Workbooks the fast reader must refuse (formulas, booleans, errors, dates, numbers
the two readers could render differently, anything the careful reader reports) are refused by it
(read_fast gives None) and still read, or reported, as before.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import openpyxl
import pytest
from glc.compiler.errors import GlcError
from glc.compiler.plan import CompiledProject
from helpers.examples import examples
from helpers.project import DATA, EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from glc.importers import fast_workbook, workbook
from glc.importers.scores import ParsedScores, file_sha256, task_index

TEMPLATE = DATA / "official" / "template_result.xlsx"


@pytest.fixture(autouse=True, params=["lists", "arrow"])
def checked_as(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every case twice: the workbook checked in Python on lists (a few models) and with numpy on Arrow
    columns (many): both must decide alike, cell for cell."""
    monkeypatch.setattr(fast_workbook, "LIST_CELLS", 10**9 if request.param == "lists" else -1)
    return str(request.param)


def _careful(path: Path, project: Any, model: str | None = None) -> ParsedScores | str:
    with mock.patch.object(workbook, "read_fast", lambda *a, **k: None):
        try:
            return workbook.read_workbook(path, project, model)
        except GlcError as exc:
            return exc.format()


def _fast(path: Path, project: Any, model: str | None = None) -> ParsedScores | None:
    by_sheet: dict[str, dict[tuple[str, str], str]] = {}
    for (sheet, name, metric), task in task_index(project).items():
        by_sheet.setdefault(sheet, {})[(name, metric)] = task.id
    return fast_workbook.read_fast(path, by_sheet, {t.id: t for t in project.tasks}, model, file_sha256(path))


def _same(a: ParsedScores, b: ParsedScores) -> None:
    assert a.models == b.models
    assert [tuple(vars(c).values()) for c in a.cells] == [tuple(vars(c).values()) for c in b.cells]
    assert a.missing == b.missing and a.ignored_sheets == b.ignored_sheets and a.sha256 == b.sha256


def _agree(path: Path, project: Any, model: str | None = None) -> ParsedScores:
    fast = _fast(path, project, model)
    assert fast is not None, f"the fast reader refused {path.name}"
    careful = _careful(path, project, model)
    assert isinstance(careful, ParsedScores), careful
    _same(fast, careful)
    return fast


def _refused(path: Path, project: Any, model: str | None = None) -> None:
    """The fast reader hands ``path`` over, and read_workbook gives what the careful reader gives."""
    assert _fast(path, project, model) is None
    careful = _careful(path, project, model)
    try:
        got: ParsedScores | str = workbook.read_workbook(path, project, model)
    except GlcError as exc:
        got = exc.format()
    if isinstance(careful, str):
        assert got == careful
    else:
        assert isinstance(got, ParsedScores)
        _same(got, careful)


def _book(tmp_path: Path, values: Any, name: str = "b.xlsx",
          models: list[Any] | None = None, extra: dict[str, list[list[Any]]] | None = None,
          project: Any = None) -> Path:
    """The template's sheets and rows with model columns: ``values[sheet][row][model]`` (cycled;
    sheet ``*`` for any other), or ``values((sheet, task name, metric), model index)``. With
    ``project``, numbers outside their task's metric range are left out (those are refused)."""
    ranges = {k: t.metric.range for k, t in task_index(project).items()} if project is not None else {}

    def fits(key: tuple[str, str, str], value: Any) -> Any:
        r = ranges.get(key)
        if r is None or not isinstance(value, int | float) or isinstance(value, bool):
            return value
        return None if (r.min is not None and value < r.min) or (r.max is not None and value > r.max) else value

    template = openpyxl.load_workbook(TEMPLATE, read_only=True)
    layout = {ws.title: list(ws.iter_rows(values_only=True)) for ws in template.worksheets}
    template.close()
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in layout.items():
        ws = wb.create_sheet(title)
        header = list(rows[0][:4]) + list(models or ["m1", "m2", "m3"])
        ws.append(header)
        for i, row in enumerate(rows[1:]):
            key = (title, str(row[1]), str(row[3]))
            if callable(values):
                cells = [values(key, j) for j in range(len(header) - 4)]
            else:
                grid = values.get(title, values.get("*", [[None]]))
                line = grid[i % len(grid)]
                cells = [line[j % len(line)] for j in range(len(header) - 4)]
            ws.append(list(row[:4]) + [fits(key, v) for v in cells])
    for title, rows in (extra or {}).items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = tmp_path / name
    wb.save(out)
    return out


def _edit(path: Path, out: Path, edit: Any, member_prefix: str = "xl/worksheets/") -> Path:
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith(member_prefix):
                data = edit(data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data)
    return out


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.xlsx")), ids=lambda p: p.name)
def test_shipped_workbooks_read_alike(compiled: CompiledProject, path: Path) -> None:
    _agree(path, compiled.project)


@pytest.mark.parametrize("path", [TEMPLATE, DATA / "official" / "sota_result.xlsx"], ids=lambda p: p.name)
def test_the_template_and_the_sota_table_go_to_the_careful_reader(compiled: CompiledProject, path: Path) -> None:
    """No model column (the template) or the SoTA column (not a model): the careful reader says why."""
    _refused(path, compiled.project)
    with pytest.raises(GlcError, match="no model columns found|holds the specialist SoTA"):
        workbook.read_workbook(path, compiled.project, None)


def test_one_model_column_reads_alike(compiled: CompiledProject) -> None:
    got = _agree(EXAMPLES / "c04_sota_beater.xlsx", compiled.project, model="sota-beater-70b")
    assert got.models == ["SoTA-Beater-70B"]


def test_random_values_read_alike(compiled: CompiledProject, tmp_path: Path) -> None:
    """Numbers of every magnitude and precision, integers, "no score" tokens, numbers as text,
    blank text and empty cells, in columns of numbers only and columns of numbers and text
    (values outside a task's metric range are left out: those are reported, tested below)."""
    rng = random.Random(3)
    kinds = [
        lambda: round(rng.uniform(0, 100), rng.randint(0, 4)),
        lambda: rng.uniform(0, 1) * 10 ** rng.randint(-9, 1),  # 1e-05 and friends, 16-17 digits
        lambda: float(rng.randint(0, 100)),
        lambda: rng.randint(0, 100),
        lambda: None,
        lambda: rng.choice(["N/A", "-", " inf ", "∞", "none", "", "  "]),
        lambda: rng.choice([" 12 ", "7", "0.25", "12.5"]),  # text reading exactly as its number
    ]
    ranges = {k: t.metric.range for k, t in task_index(compiled.project).items()}

    def valid(value: Any, key: tuple[str, str, str]) -> Any:  # numbers written as text: their range too
        if isinstance(value, str) and value.strip() and value.strip()[0].isdigit():
            r, number = ranges[key], float(value)
            if (r.min is not None and number < r.min) or (r.max is not None and number > r.max):
                return None
        return value

    for case in range(4):
        def fill(key: tuple[str, str, str], j: int, case: int = case) -> Any:
            return valid(kinds[rng.randrange(len(kinds)) if (case + j) % 2 else rng.randrange(4)](), key)
        _agree(_book(tmp_path, fill, f"r{case}.xlsx", models=[f"model {k}" for k in range(5)],
                     project=compiled.project), compiled.project)


def test_text_that_reads_as_another_number_goes_to_the_careful_reader(compiled: CompiledProject,
                                                                    tmp_path: Path) -> None:
    """In a column of numbers and text calamine reads "80.50" (text) as the number 80.5: the raw value
    would differ ("80.5"), so such a workbook is the careful reader's."""
    for text in ["80.50", "1e1", "+3"]:
        path = _book(tmp_path, {"*": [[2.5, 3.25, 4.0]], "NLP": [[text, "N/A", 4.0], [1.5, 3.25, 4.0]]},
                     name=f"t{text}.xlsx", project=compiled.project)
        _refused(path, compiled.project)


def test_level_scores_sheet_unnamed_empty_column_and_blank_rows_read_alike(compiled: CompiledProject,
                                                                            tmp_path: Path) -> None:
    path = _book(tmp_path, {"*": [[2.5, 1, None]]}, models=["a", "b", None, "c"],
                 extra={"Level-Scores": [["Model", "Level-2"], ["a", 1.5]]}, project=compiled.project)
    book = openpyxl.load_workbook(path)
    book["NLP"].insert_rows(5)  # an empty row between task rows
    book.save(path)
    got = _agree(path, compiled.project)
    assert got.ignored_sheets == ["Level-Scores"] and got.models == ["a", "b", "c"]


@pytest.mark.parametrize("cell,xml", [
    ("formula", None), ("boolean", None), ("date", None), ("error", None),
    (None, ("<v>2.5</v>", "<v>3.0</v>")), (None, ("<v>2.5</v>", "<v>3E0</v>")),
    (None, ("<v>2.5</v>", "<v>12345678901234567</v>")), (None, ("<v>2.5</v>", "<v>1.0000000000000001</v>")),
    (None, ("<v>2.5</v>", "<v><![CDATA[2.5]]></v>")), ("escape", None),
])
def test_what_the_readers_could_see_differently_goes_to_the_careful_reader(
        compiled: CompiledProject, tmp_path: Path, cell: str | None, xml: tuple[str, str] | None) -> None:
    value: Any = {"formula": "=1+1", "boolean": True, "error": "#N/A", None: 2.5}.get(cell, 2.5)
    path = _book(tmp_path, {"*": [[2.5, 3.25, 4.0]], "NLP": [[value, 3.25, 4.0]]},
                 models=["m1", "m_x0041_", "m3"] if cell == "escape" else None, project=compiled.project)
    if cell == "date":
        import datetime

        book = openpyxl.load_workbook(path)
        book["NLP"].cell(2, 5).value = datetime.datetime(2024, 1, 2)
        book.save(path)
    if xml is not None:
        path = _edit(path, tmp_path / "e.xlsx", lambda text: text.replace(xml[0], xml[1], 1))
    _refused(path, compiled.project)


def test_an_error_value_with_a_spaced_type_goes_to_the_careful_reader(compiled: CompiledProject,
                                                                      tmp_path: Path) -> None:
    """``t = "e"`` (spaces around the type) escapes the scan for ``t="e"``, and calamine reads the error
    as an empty cell, which the lists path (one model) cannot tell from one (calamine's account of
    what it could not read as a number comes as Arrow): the error's ``<v>#N/A</v>`` is no plain number,
    so the markup scan refuses the workbook however the type is written, in both paths."""
    path = _book(tmp_path, {"*": [[2.5]], "NLP": [["N/A"], ["#N/A"], [2.5]]}, models=["m1"], project=compiled.project)
    spaced = _edit(path, tmp_path / "e.xlsx", lambda text: text.replace('t="e"', 't = "e"'))
    with zipfile.ZipFile(spaced) as zf:
        assert any(b't = "e"' in zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/"))
    _refused(spaced, compiled.project)


@pytest.mark.parametrize("spacing", ['t = "b"', "t\t=\t'b'", 't=\n"b"', 't =  "b"'])
@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_with_a_spaced_type_goes_to_the_careful_reader(compiled: CompiledProject, tmp_path: Path,
                                                                 spacing: str, value: bool) -> None:
    """A boolean's ``<v>`` is a plain 1 or 0, which calamine reads as a number: with white space around
    the type's '=' (valid XML) it escapes the scan for ``t="b"``, and was stored as a score of 1.0 or
    0.0 where the careful reader says it is not a number."""
    path = _book(tmp_path, {"*": [[2.5]], "NLP": [[value], [2.5]]}, models=["m1"], project=compiled.project)
    spaced = _edit(path, tmp_path / "s.xlsx", lambda text: text.replace('t="b"', spacing))
    with zipfile.ZipFile(spaced) as zf:
        assert any(spacing.encode() in zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/"))
    _refused(spaced, compiled.project)
    assert "is not a number" in str(_careful(spaced, compiled.project))


def test_an_inline_string_in_a_cell_without_its_type_goes_to_the_careful_reader(compiled: CompiledProject,
                                                                               tmp_path: Path) -> None:
    """``<c r="E2"><is><t>0.5</t></is></c>`` (no ``t="inlineStr"``): calamine reads 0.5, openpyxl no
    value; the fast reader stored a score where the careful reader counts none."""
    path = _book(tmp_path, {"*": [[2.5]], "NLP": [[0.25], [2.5]]}, models=["m1"], project=compiled.project)
    bare = _edit(path, tmp_path / "i.xlsx", lambda text: text.replace('<v>0.25</v>', '<is><t>0.5</t></is>', 1))
    with zipfile.ZipFile(bare) as zf:
        assert any(b"<is><t>0.5</t></is>" in zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/"))
    _refused(bare, compiled.project)


def _untyped_inline_string_before(data: bytes) -> bool:
    """The check as first written (nearest ``<c `` or ``<c>``, each searched back to the sheet's start)."""
    at = data.find(b"<is>")
    while at >= 0:
        start = max(data.rfind(b"<c ", 0, at), data.rfind(b"<c>", 0, at))
        if start < 0 or data.find(b't="inlineStr"', start, data.find(b">", start)) < 0:
            return True
        at = data.find(b"<is>", at + 4)
    return False


def test_the_inline_string_check_agrees_with_its_first_form_on_generated_sheets() -> None:
    """The linear search for each inline string's cell gives the first form's answers on generated sheet
    XML (typed and untyped cells, attribute-less cells, <col> and <cfRule> tags between them), and a
    cell tag opened by a tab or a newline counts as a cell (the first form looked past it)."""
    rng = random.Random(7)
    cells = [b'<c r="A1" t="inlineStr"><is><t>x</t></is></c>', b'<c r="B1"><is><t>0.5</t></is></c>',
             b'<c r="C1"><v>1</v></c>', b'<c t="inlineStr"><is/></c>', b"<c><v>2</v></c>",
             b'<c t="inlineStr" r="D1"><is><t>y</t></is></c>', b"<c><is><t>z</t></is></c>", b'<col min="1"/>',
             b'<cfRule type="x"/>', b'<c r="E1" t="s"><v>0</v></c>', b'<row r="2">', b"</row>"]
    for _ in range(3000):
        sheet = b"<sheetData>" + b"".join(rng.choice(cells) for _ in range(rng.randint(0, 12))) + b"</sheetData>"
        assert fast_workbook._untyped_inline_string(sheet) == _untyped_inline_string_before(sheet), sheet
    tabbed = b'<c r="A1" t="inlineStr"><is><t>x</t></is></c><c\tr="B1"><is><t>0.5</t></is></c>'
    assert fast_workbook._untyped_inline_string(tabbed) and not _untyped_inline_string_before(tabbed)
    typed = b"".join(b'<c r="A%d" t="inlineStr"><is><t>m</t></is></c>' % i for i in range(20_000))
    assert not fast_workbook._untyped_inline_string(typed)


@pytest.mark.parametrize("problem", ["unknown sheet", "missing sheet", "header", "unknown task", "twice",
                                     "unnamed column", "range", "text", "models differ", "no such model"])
def test_workbooks_with_problems_are_reported_by_the_careful_reader(compiled: CompiledProject, tmp_path: Path,
                                                                     problem: str) -> None:
    path = _book(tmp_path, {"*": [[2.5, 3.25, 4.0]]}, project=compiled.project)
    book = openpyxl.load_workbook(path)
    nlp = book["NLP"]
    if problem == "unknown sheet":
        book.create_sheet("Extra")
    elif problem == "missing sheet":
        book.remove(book["3D-Generation"])
    elif problem == "header":
        nlp.cell(1, 2).value = "Task"
    elif problem == "unknown task":
        nlp.cell(3, 2).value = "No Such Task"
    elif problem == "twice":
        nlp.cell(3, 2).value, nlp.cell(3, 4).value = nlp.cell(2, 2).value, nlp.cell(2, 4).value
    elif problem == "unnamed column":
        nlp.cell(2, 9).value = 1.5
    elif problem == "range":
        nlp.cell(2, 5).value = 1e9
    elif problem == "text":
        nlp.cell(2, 5).value = "good"
    elif problem == "models differ":
        nlp.cell(1, 7).value = "other"
    book.save(path)
    _refused(path, compiled.project, model="nobody" if problem == "no such model" else None)
    assert isinstance(_careful(path, compiled.project, "nobody" if problem == "no such model" else None), str)


@pytest.mark.parametrize("written", ["<v>+5</v>", "<v>002.5</v>", "<v>1.196E-4</v>", "<v>5e0</v>"])
def test_numbers_written_unusually_but_read_alike(compiled: CompiledProject, tmp_path: Path, written: str) -> None:
    path = _book(tmp_path, {"*": [[2.5, 3.25, 4.0]]}, project=compiled.project)
    edited = _edit(path, tmp_path / "e.xlsx", lambda text: text.replace("<v>2.5</v>", written, 1))
    if written == "<v>5e0</v>":  # an integral number in exponent form: "5.0" for openpyxl, 5 for calamine
        _refused(edited, compiled.project)
    else:
        _agree(edited, compiled.project)


def test_raw_numbers_follow_openpyxl() -> None:
    for text, raw in [("80", "80"), ("-0", "0"), ("007", "7"), ("0.1", "0.1"), ("1e-05", "1e-05"),
                      ("12.5000", "12.5"), ("1E+16", "1e+16"), ("123456789012345", "123456789012345")]:
        assert fast_workbook._same_number(text)
        assert fast_workbook.raw_number(float(text)) == raw
    for text in ["80.0", "8E1", "1.0000000000000001", "inf", "nan", " 1", "1_000", "", "#N/A"]:
        assert not fast_workbook._same_number(text)


def _markup_by_each_marker(data: bytes) -> bool:
    """The check as it was written before its scans were shared: each marker looked for on its own."""
    return any(data.find(m) >= 0 for m in fast_workbook._MARKUP) or (
        any(data.find(m) >= 0 for m in fast_workbook._SPACED_EQ) and fast_workbook._SPACED_TYPE.search(data)
        is not None)


_PIECES = [b"<c r=\"A1\" t=\"s\"><v>1</v></c>", b"<f>", b"<f ", b"<f/", b":f>", b":f ", b"<fo", b":fx",
           b't="b"', b"t='b'", b't="e"', b"t='e'", b"t", b"=", b" ", b"\t", b"\n", b"\r", b'"', b"'", b"b", b"e",
           b"<v ", b":v>", b"<v>", b"<![CDATA[", b"<", b":", b"f", b"x"]


@settings(max_examples=examples(400), deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_the_shared_scans_for_markup_find_what_each_marker_finds(pieces: list[bytes]) -> None:
    """``_markup_found`` scans a sheet for what markers share before the markers themselves (about half the
    scans of 20 MB of XML at 1,000 models): the same answer as looking for each, on any mix of markers,
    their parts and the characters around them."""
    data = b"".join(pieces)
    assert fast_workbook._markup_found(data) == _markup_by_each_marker(data)


@pytest.mark.parametrize("data", [b'<c t = "b"><v>1</v></c>', b"<c t= 'e'>", b'<c\tt="b">', b"<x><f>1</f>",
                                  b"<x:f>", b'<c r="A1"><v t="n">1</v>', b"<![CDATA[x]]>", b'<c r="A1"><v>1</v></c>',
                                  b'<pane activePane="bottomLeft"/>', b'<c t ="s">'])
def test_markup_cases(data: bytes) -> None:
    assert fast_workbook._markup_found(data) == _markup_by_each_marker(data)
