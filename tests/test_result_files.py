"""The result files of ``glc run`` (target/runs/<id>/scores.parquet and levels.parquet): a run whose
result tables were not built again since the last run copies that run's files (the same rows) instead of
collecting and writing them; any change of what the tables hold writes them from the store again."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from helpers.project import copy_project

from glc import cli
from glc.engine import runlog
from glc.workspace import Workspace


@pytest.fixture(scope="module")
def _two_models_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Models m1 and m2 imported and run once per module: ``live/`` (the project ``p`` and its user cache,
    whose result notes name the store's path) and a copy of it, ``saved/``."""
    base = tmp_path_factory.mktemp("two-models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(base / "live" / "user-cache"))
        mp.delenv("GLC_TARGET", raising=False)
        root = copy_project(base / "live" / "p", small=True)
        _glc(root, "import", "scores", str(_scores(root, base / "a.csv", "m1", 0.5)))
        _glc(root, "import", "scores", str(_scores(root, base / "b.csv", "m2", 0.25)))
        _glc(root, "run")
    shutil.copytree(base / "live", base / "saved")  # copy2: the files keep their times
    return base


@pytest.fixture
def two_models(_two_models_built: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project of ``_two_models_built`` as it was after its run, restored at the same path (the result
    notes name the store by its path), with its user cache."""
    live = _two_models_built / "live"
    shutil.rmtree(live)
    shutil.copytree(_two_models_built / "saved", live)
    monkeypatch.setenv("XDG_CACHE_HOME", str(live / "user-cache"))
    monkeypatch.delenv("GLC_TARGET", raising=False)
    # the restored files are what the result notes recorded (size, mtime): a run now would copy them, so a
    # change is what makes the test's run write them
    notes = [json.loads(n.read_text()) for n in (live / "user-cache" / "glc" / "results").glob("*.json")]
    entries = [e for note in notes for e in note["tables"].values()]
    assert entries and all(note["store"] == str(Path(Workspace(live / "p").target.path).resolve()) for note in notes)
    for entry in entries:
        st = Path(entry["file"]).stat()
        assert [st.st_size, st.st_mtime_ns] == entry["stat"], entry["file"]
    return live / "p"


def _scores(root: Path, path: Path, model: str, value: float) -> Path:
    tasks = [t.id for t in Workspace(root).compile(write=False).project.tasks
             if (t.metric.range.min is None or t.metric.range.min <= value)
             and (t.metric.range.max is None or value <= t.metric.range.max)][:4]
    path.write_text("model,task,score\n" + "".join(f"{model},{t},{value}\n" for t in tasks))
    return path


def _glc(root: Path, *args: str) -> None:
    try:
        cli.app(["--project-dir", str(root), *args], standalone_mode=False)
    except SystemExit as exc:  # a warned data test: the run still wrote its files
        assert exc.code in (0, 1, None)


def _written(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Parquet files written from collected rows (not copied), by DuckDB or by pyarrow."""
    calls: list[str] = []
    for kind in (runlog.Collected, runlog.ArrowRows):
        def counted(self: object, path: Path, _real: object = kind.write_parquet) -> None:
            calls.append(Path(str(path)).name)
            _real(self, path)  # type: ignore[operator]
        monkeypatch.setattr(kind, "write_parquet", counted)
    return calls


def _last_run(root: Path) -> Path:
    """The newest run folder: the last by name (run ids sort by the time they started, to the microsecond)."""
    return max((root / "target" / "runs").iterdir())


def _agrees(root: Path) -> None:
    """The last run's files hold the store's result tables, row for row."""
    import pyarrow.parquet as pq

    ws = Workspace(root)
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        for table, order, name in runlog.RESULT_TABLES.values():
            stored = con.sql(f"SELECT * FROM {table} ORDER BY {', '.join(order)}").to_arrow_table()
            assert pq.read_table(_last_run(root) / name).equals(stored), name
    finally:
        con.close()


@pytest.mark.parametrize("writer", ["duckdb", "pyarrow"])  # few result rows: DuckDB writes them; many: pyarrow
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_run_that_changed_nothing_copies_the_files_of_the_last(two_models: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path, writer: str) -> None:
    root = two_models
    if writer == "pyarrow":
        monkeypatch.setattr(runlog, "DUCKDB_WRITES_ROWS", 0)
    kinds: list[str] = []
    real = runlog.collect_results
    monkeypatch.setattr(runlog, "collect_results", lambda *a, **k: (r := real(*a, **k), kinds.extend(
        type(v).__name__ for v in r.values()))[0])
    calls = _written(monkeypatch)
    _glc(root, "import", "scores", str(_scores(root, tmp_path / "a.csv", "m3", 0.75)))
    _glc(root, "run")
    first = _last_run(root)
    assert sorted(calls) == ["levels.parquet.tmp", "scores.parquet.tmp"]
    assert kinds == 2 * [{"duckdb": "Collected", "pyarrow": "ArrowRows"}[writer]]
    _glc(root, "run")
    second = _last_run(root)
    assert second != first and len(calls) == 2  # copied, not written
    for name in ("scores.parquet", "levels.parquet"):
        assert (second / name).read_bytes() == (first / name).read_bytes()
    assert (second / "results.json").read_text().count('"rows"') == 2
    _agrees(root)


# one run per change, several seconds each: the fast tier runs the first, the full suite all (tests/README.md)
@pytest.mark.parametrize("change", ["import", *(pytest.param(c, marks=pytest.mark.slow) for c in (
    "rename", "remove", "full refresh", "file touched", "file gone", "note damaged", "other store"))])
def test_any_change_writes_the_files_from_the_store(two_models: Path, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path, change: str) -> None:
    root = two_models
    first = _last_run(root)
    calls = _written(monkeypatch)
    args = ["run"]
    if change == "import":
        _glc(root, "import", "scores", str(_scores(root, tmp_path / "c.csv", "m3", 0.75)))
    elif change == "rename":  # the same rows under another name: the tables' inputs look the same
        Workspace(root).rename_model("m2", "m9")
    elif change == "remove":
        Workspace(root).remove_model("m2")
    elif change == "full refresh":
        args.append("--full-refresh")
    elif change == "file touched":
        path = first / "scores.parquet"
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    elif change == "file gone":
        (first / "levels.parquet").unlink()
    elif change == "note damaged":
        for note in (root.parent / "user-cache" / "glc" / "results").glob("*.json"):
            note.write_text("{not json")
    elif change == "other store":  # a note that speaks of another DuckDB file
        for note in (root.parent / "user-cache" / "glc" / "results").glob("*.json"):
            doc = json.loads(note.read_text())
            doc["store"] = str(tmp_path / "elsewhere.duckdb")
            note.write_text(json.dumps(doc))
    _glc(root, *args)
    assert _last_run(root) != first
    assert calls, "the files were written from the store"
    _agrees(root)
    if change == "rename":
        import pyarrow.parquet as pq

        models = set(pq.read_table(_last_run(root) / "scores.parquet").column("model").to_pylist())
        assert "m9" in models and "m2" not in models


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_run_and_its_board_share_one_store_connection(two_models: Path, monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    from glc.engine import store

    root = two_models
    ws = Workspace(root)
    ws.import_scores(_scores(root, tmp_path / "a.csv", "m3", 0.75))
    opened: list[object] = []
    real = store.connect

    def counted(*args: object, **kwargs: object) -> object:
        opened.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return opened[-1]
    monkeypatch.setattr(store, "connect", counted)
    ws.run()
    alone = ws.board()
    assert len(opened) == 2
    with ws.keep_store():
        ws.run()
        kept = ws.board()
    assert len(opened) == 3 and kept == alone and kept[0]
    with pytest.raises(duckdb.ConnectionException):  # closed on the way out
        opened[-1].execute("SELECT 1")  # type: ignore[attr-defined]


def test_run_ids_sort_by_when_the_run_started_within_one_second_too() -> None:
    """Two runs of one second (a run with nothing to do takes a third of one) sort in the order they
    started, whatever their random tails; ids stay unique at one instant."""
    from datetime import datetime, timedelta

    start = datetime(2026, 12, 2, 21, 0, 5, 999_000)
    times = [start + timedelta(microseconds=k) for k in (-998_000, -500_000, -1, 0, 1, 1_000)]
    for _ in range(50):
        ids = [runlog.new_run_id(t) for t in times]
        assert sorted(ids) == ids
    assert len({runlog.new_run_id(start) for _ in range(8)}) == 8  # 24 random bits: a clash once in 10^6
