"""What the commonest commands load: ``glc run`` on a cold store with imported scores (compiled project
from the cache) writes its seeds, build state and result files without pyarrow or numpy, whose import
was a sixth of its CPU time, and ``glc import scores`` of a small workbook reads and stores it without
them; and rows inserted as bound lists (few) or as Arrow (many) are the same rows."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import pytest
from glc.compiler.contracts import Column, Contract
from helpers.project import copy_project

from glc.engine import store

HEAVY = ("pyarrow", "numpy")


def _glc(root: Path, env: dict[str, str], *args: str, loaded: Path | None = None) -> None:
    """One glc command in its own process; with ``loaded``, the heavy modules it imported are written there."""
    code = ("import json, sys\nfrom glc import cli\nout, sys.argv = sys.argv[1], ['glc', *sys.argv[2:]]\n"
            "try:\n    cli.main()\nexcept SystemExit as exc:\n    assert exc.code in (0, 1, None), exc.code\n"
            f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
            "if out:\n    open(out, 'w').write(json.dumps(heavy))\n")
    p = subprocess.run([sys.executable, "-c", code, str(loaded or ""), *args], cwd=root, env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]


@pytest.mark.slow  # four glc processes
def test_run_on_a_cold_store_imports_no_pyarrow_nor_numpy(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "p", small=True)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), GLC_BENCHMARK="general-bench")
    env.pop("GLC_TARGET", None)
    scores = tmp_path / "s.csv"
    tasks = sorted(p for p in (root / "specs" / "tasks").rglob("*.yaml") if "\nsota:" in p.read_text())[:3]
    ids = [next(x for x in t.read_text().splitlines() if x.startswith("id: "))[4:].strip() for t in tasks]
    scores.write_text("model,task,score\n" + "".join(f"m1,{t},0.5\n" for t in ids))
    _glc(root, env, "import", "scores", str(scores))
    _glc(root, env, "run")  # the compiled project and the empty tables' columns are cached now
    for f in (root / "target").glob("*.duckdb*"):
        f.unlink()
    _glc(root, env, "import", "scores", str(scores))
    loaded = tmp_path / "loaded.json"
    _glc(root, env, "run", loaded=loaded)
    assert json.loads(loaded.read_text()) == []
    # and it stored everything: seeds, build state, the scores' levels and both result files
    con = duckdb.connect(str(next((root / "target").glob("*.duckdb"))), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM tasks").fetchall()[0][0] > 0
        assert con.execute("SELECT count(*) FROM glc_node_state WHERE node = 'seed:tasks'").fetchall()[0][0] == 1
        n_scores = con.execute("SELECT count(*) FROM task_scores WHERE model = 'm1'").fetchall()[0][0]
        assert n_scores == len(ids)
    finally:
        con.close()
    import pyarrow.parquet as pq

    run = max((root / "target" / "runs").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    files = json.loads((run / "results.json").read_text())
    assert files["scores"]["rows"] >= n_scores
    assert pq.read_table(run / "scores.parquet").num_rows == files["scores"]["rows"]
    assert pq.read_table(run / "levels.parquet").num_rows == files["levels"]["rows"] > 0


def _one_model_book(project: Any, book: Path) -> Path:
    """A one-model workbook of the project's tasks: a number, an empty cell, "N/A" and an integer in turn."""
    import openpyxl

    from glc.importers.scores import task_index

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for n, (sheet, name, metric) in enumerate(sorted(task_index(project))):
        if sheet not in wb.sheetnames:
            wb.create_sheet(sheet).append(["No", "Task Name", "Task Short Name", "Metrics", "m1"])
        wb[sheet].append([n + 1, name, name[:10], metric, [0.5, None, "N/A", 1][n % 4]])
    wb.save(book)
    return book


@pytest.mark.parametrize("path", ["lists", "arrow"])
def test_a_small_workbook_reads_on_either_path_as_the_careful_reader_reads_it(tmp_path: Path, path: str,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """In the test's process, on the small project: the fast reader's lists path (a few models) and its
    Arrow path give the careful reader's cells, in its order (tests/test_fast_workbook.py checks every
    case both ways on the catalog, in the full suite)."""
    from glc.compiler.resolve import load_project

    from glc.importers import fast_workbook, workbook
    from glc.importers.scores import file_sha256, task_index

    project = load_project(copy_project(tmp_path / "p", small=True), benchmark="general-bench")
    book = _one_model_book(project, tmp_path / "one.xlsx")
    monkeypatch.setattr(fast_workbook, "LIST_CELLS", 10**9 if path == "lists" else -1)
    by_sheet: dict[str, dict[tuple[str, str], str]] = {}
    for (sheet, name, metric), task in task_index(project).items():
        by_sheet.setdefault(sheet, {})[(name, metric)] = task.id
    fast = fast_workbook.read_fast(book, by_sheet, {t.id: t for t in project.tasks}, None, file_sha256(book))
    with mock.patch.object(workbook, "read_fast", lambda *a, **k: None):
        careful = workbook.read_workbook(book, project)
    assert fast is not None and fast.models == careful.models == ["m1"]
    assert [tuple(vars(c).values()) for c in fast.cells] == [tuple(vars(c).values()) for c in careful.cells]
    assert fast.missing == careful.missing and len(careful.cells) > 2


@pytest.mark.slow  # two glc processes
def test_import_of_a_small_workbook_imports_no_pyarrow_nor_numpy(tmp_path: Path) -> None:
    """A one-model workbook on a cached project is read through DuckDB as Python lists and stored as
    bound lists: the command loads neither pyarrow nor numpy, and stores what the careful reader reads
    (a number, an empty cell and "N/A" in a column of numbers and text)."""
    from glc.compiler.resolve import load_project

    from glc.importers import workbook
    from glc.importers.scores import task_index

    root = copy_project(tmp_path / "p", small=True)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), GLC_BENCHMARK="general-bench")
    env.pop("GLC_TARGET", None)
    os.environ.pop("GLC_TARGET", None)
    project = load_project(root, benchmark="general-bench")
    book = _one_model_book(project, tmp_path / "one.xlsx")
    _glc(root, env, "compile")  # the compiled project is cached now
    loaded = tmp_path / "loaded.json"
    _glc(root, env, "import", "scores", str(book), loaded=loaded)
    assert json.loads(loaded.read_text()) == []
    with mock.patch.object(workbook, "read_fast", lambda *a, **k: None):
        careful = workbook.read_workbook(book, project)
    con = duckdb.connect(str(next((root / "target").glob("*.duckdb"))), read_only=True)
    try:
        stored = con.execute("SELECT model, task_id, score, raw_value, sheet, row_no, column_name FROM imported_scores "
                             "ORDER BY sheet, row_no").fetchall()
    finally:
        con.close()
    want = sorted(((c.model, c.task_id, c.score, c.raw_value, c.sheet, c.row_no, c.column_name) for c in careful.cells),
                  key=lambda r: (r[4], r[5]))
    assert stored == want and len(want) == sum(1 for i in range(len(task_index(project))) if i % 4 in (0, 3))


COLUMNS = [("a", "VARCHAR"), ("b", "DOUBLE"), ("c", "INTEGER"), ("d", "BIGINT"), ("e", "TIMESTAMP"),
           ("f", "BOOLEAN"), ("g", "VARCHAR[]")]
ROWS = [("x", 1, None, 2**62, datetime.datetime(2026, 1, 1, 1, 2, 3, 4), None, []),
        (None, 2.5, 3, None, None, True, ["a", None]),
        ("é'\"\\ \n;--", 1e308, -2**31, -2**63, datetime.datetime(1, 1, 1), False, None),
        ("", -0.0, 0, 0, datetime.datetime(9999, 12, 31, 23, 59, 59, 999999), None, ["", "ü"]),
        ("z", 5e-324, 7, 1, None, None, None),
        ("w", 0.1 + 0.2, None, None, None, None, None),
        # an aware time: both paths store it as UTC, whatever the session's time zone
        ("tz", 1.0, 1, 1, datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
         None, None)]


def test_rows_bound_as_lists_are_the_rows_arrow_gives() -> None:
    contract = Contract("t", "store", tuple(Column(n, t) for n, t in COLUMNS))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    got = []
    for arrow in (False, True):
        con.execute(contract.ddl(replace=True))
        if arrow:
            store.insert_arrow(con, "t", store.arrow_rows(contract, ROWS))
        else:
            store.insert_rows(con, contract, ROWS)  # few values: bound lists
        got.append(con.execute("SELECT * FROM t").fetchall())
    want = [tuple(r) for r in ROWS[:-1]] + [(*ROWS[-1][:4], datetime.datetime(2026, 1, 1, 17), None, None)]
    assert got[0] == got[1] == want


def test_many_rows_go_as_arrow_and_keep_their_order(monkeypatch: pytest.MonkeyPatch) -> None:
    contract = Contract("t", "store", (Column("k", "VARCHAR"), Column("v", "DOUBLE")))
    rows = [(f"k{i}", i / 7) for i in range(300)]
    con = duckdb.connect()
    con.execute(contract.ddl())
    used: list[str] = []
    real = store.insert_arrow
    monkeypatch.setattr(store, "insert_arrow", lambda *a, **k: (used.append("arrow"), real(*a, **k)))
    monkeypatch.setattr(store, "LIST_VALUES", 100)
    store.insert_rows(con, contract, rows)
    assert used == ["arrow"]
    monkeypatch.setattr(store, "LIST_VALUES", 10_000)
    store.insert_rows(con, contract, rows)
    assert used == ["arrow"]  # bound lists this time
    assert con.execute("SELECT * FROM t").fetchall() == rows + rows


def test_a_list_insert_takes_only_the_types_it_knows() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a VARCHAR)")
    with pytest.raises(ValueError, match="no list binding"):
        store.insert_lists(con, "t", [("a", "VARCHAR); DROP TABLE t; --")], [("x",)])
    with pytest.raises(ValueError, match="no list binding"):  # a whole-type match: not even a newline after it
        store.insert_lists(con, "t", [("a", "VARCHAR\n")], [("x",)])
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
