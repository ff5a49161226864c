"""``glc run --scores FILE``: a score file imported and the board built in one command (one process,
one store connection), with the same store and board as ``glc import scores FILE`` then ``glc run``;
every file is checked before any is stored, and a refused one stops the run with nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from helpers.cli import glc_in_process
from helpers.project import EXAMPLES, copy_project

WORKBOOKS = [EXAMPLES / "c04_sota_beater.xlsx", EXAMPLES / "c12_cross_paradigm.xlsx"]


def _rows(root: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(root / "target" / "general-bench.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _project(tmp_path: Path, name: str) -> tuple[Path, dict[str, str]]:
    return copy_project(tmp_path / name), {"GLC_BENCHMARK": "general-bench",
                                                      "XDG_CACHE_HOME": str(tmp_path / "cache")}


LEVELS = "SELECT * FROM level_scores ORDER BY variant, scope, model"
SCORES = "SELECT model, task_id, score, row_no, column_name FROM imported_scores ORDER BY model, task_id"


@pytest.mark.slow  # three projects of the 699-task catalog, each compiled and built
def test_one_command_gives_the_store_and_board_of_import_then_run(tmp_path: Path) -> None:
    one, env = _project(tmp_path, "one")
    two, _ = _project(tmp_path, "two")
    args = [a for w in WORKBOOKS for a in ("--scores", str(w))]
    got = glc_in_process("run", *args, cwd=one, env=env)
    assert got.returncode in (0, 1), got.stderr  # 1: a data test of the small project may fail, as for glc run
    for w in WORKBOOKS:
        assert glc_in_process("import", "scores", str(w), cwd=two, env=env).returncode == 0
    then = glc_in_process("run", cwd=two, env=env)
    assert then.returncode == got.returncode
    assert _rows(one, SCORES) == _rows(two, SCORES) and _rows(one, SCORES)
    assert _rows(one, LEVELS) == _rows(two, LEVELS) and _rows(one, LEVELS)
    # the import summaries first, then what glc run prints; both in the run log too
    for w in WORKBOOKS:
        assert f"imported 1 model from {w}" in got.stdout
    assert got.stdout.index(f"from {WORKBOOKS[1]}") < got.stdout.index("leaderboard: variant")
    board = then.stdout[then.stdout.index("leaderboard: variant"):]
    assert got.stdout.endswith(board)
    log = sorted((one / "target" / "runs").iterdir())[-1] / "log.txt"
    assert f"imported 1 model from {WORKBOOKS[0]}" in log.read_text()

    # the plain form (one file, no other option) takes the direct path and prints the same
    three, _ = _project(tmp_path, "three")
    direct = glc_in_process("run", "--scores", str(WORKBOOKS[0]), cwd=three, env=env)
    assert direct.returncode in (0, 1) and f"imported 1 model from {WORKBOOKS[0]}" in direct.stdout
    assert "leaderboard: variant" in direct.stdout


@pytest.mark.slow  # the 699-task catalog compiled and built twice
def test_a_refused_file_stops_the_run_and_stores_nothing_of_any(tmp_path: Path) -> None:
    root, env = _project(tmp_path, "p")
    bad = tmp_path / "bad.csv"
    bad.write_text("model,task,score\nm,no.such_task,1\n")
    got = glc_in_process("run", "--scores", str(WORKBOOKS[0]), "--scores", str(bad), cwd=root, env=env)
    assert got.returncode == 2 and "Error:" in got.stderr and "bad.csv" in got.stderr
    assert "leaderboard" not in got.stdout and "imported" not in got.stdout
    store = root / "target" / "general-bench.duckdb"
    assert not store.exists() or _rows(root, "SELECT count(*) FROM imported_scores") == [(0,)]

    # with scores stored before, a refused file leaves them as they were and builds nothing
    assert glc_in_process("run", "--scores", str(WORKBOOKS[0]), cwd=root, env=env).returncode in (0, 1)
    before = _rows(root, SCORES), _rows(root, LEVELS)
    again = glc_in_process("run", "--scores", str(WORKBOOKS[1]), "--scores", str(bad), cwd=root, env=env)
    assert again.returncode == 2
    assert (_rows(root, SCORES), _rows(root, LEVELS)) == before


@pytest.mark.slow  # the 699-task catalog compiled and built
def test_json_output_keeps_stdout_to_the_board(tmp_path: Path) -> None:
    """With --format json (or csv) stdout holds the board alone, so it can be redirected to a file: the
    import summary, the build and test lines go to stderr (and the run log)."""
    root, env = _project(tmp_path, "p")
    got = glc_in_process("run", "--scores", str(WORKBOOKS[0]), "--format", "json", cwd=root, env=env)
    assert got.returncode in (0, 1), got.stderr
    rows = json.loads(got.stdout)
    assert rows and {"model", "level"} <= set(rows[0])
    assert f"imported 1 model from {WORKBOOKS[0]}" in got.stderr
    assert "built " in got.stderr and "tests: " in got.stderr


def test_files_are_stored_all_or_none(tmp_path: Path, monkeypatch) -> None:
    """Checked first, then stored in one transaction: a failure while storing the second file leaves the
    first one's scores out too, and the scores stored before as they were."""
    from glc.importers import scores
    from glc.workspace import Workspace

    root = copy_project(tmp_path / "p", small=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ws = Workspace(root, benchmark="general-bench")
    tasks = [t.id for t in ws.compile(write=False).project.tasks][:3]
    files = []
    for n, model in enumerate(("a", "b", "c")):
        f = tmp_path / f"{model}.csv"
        f.write_text("model,task,score\n" + "".join(f"{model},{t},{10 + n}\n" for t in tasks))
        files.append(f)
    ws.import_score_files([files[0]])
    before = _rows(root, SCORES)
    real, calls = scores._replace_scores, []

    def failing(con, parsed):
        calls.append(parsed.path)
        if len(calls) == 2:
            raise RuntimeError("the disk is full")
        return real(con, parsed)

    monkeypatch.setattr(scores, "_replace_scores", failing)
    with pytest.raises(RuntimeError):
        ws.import_score_files(files[1:])
    assert calls == files[1:] and _rows(root, SCORES) == before
    monkeypatch.setattr(scores, "_replace_scores", real)
    got = ws.import_score_files(files[1:])
    assert [s.models for s in got] == [["b"], ["c"]]
    assert {r[0] for r in _rows(root, SCORES)} == {"a", "b", "c"}
