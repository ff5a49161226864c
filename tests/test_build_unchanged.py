"""A build whose inputs are those of the last build that found every node up to date skips the
per-node checks (``glc.engine.build.UNCHANGED``); any change of what a build reads checks (and builds)
again: specs (seeds), SQL, predictions, task data, imported scores, the profile, glc itself, the
store's tables, a full refresh or a --select."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.metric_project import add_task, new_project, sql_rows, write_predictions

import glc
from glc.engine import build as build_mod
from glc.workspace import Workspace

LEVELS = "SELECT model, variant, scope, level_2, level_3, level_4, level_5 FROM level_scores ORDER BY ALL"


@pytest.fixture(scope="module")
def _built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project with one scored task and one model's predictions, built twice: the second
    build found everything up to date and noted its inputs. Built once per module: ``live/`` (the
    project ``p`` and its user cache) and a copy of it, ``saved/``, with the task's id in ``tid``."""
    base = tmp_path_factory.mktemp("unchanged")
    live = base / "live"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(live / "cache"))
        root = new_project(live / "p")
        tid = add_task(root, "acc", "text", [("q1", "a", ["x"]), ("q2", "b", ["y"]), ("q3", "c", ["z"])])
        preds = write_predictions(base / "m1.jsonl", "m1", tid, [("q1", "x"), ("q2", "y"), ("q3", "no")])
        Workspace(root).import_predictions(preds)
        first = Workspace(root).run(infer=False).build
        assert first.built and not _unchanged_rows(root)
        second = Workspace(root).run(infer=False).build
        assert second.built == [] and len(_unchanged_rows(root)) == 1
    shutil.copytree(live, base / "saved")  # copy2: the files keep their times
    (base / "tid").write_text(tid)
    (base / "salt").write_text(build_mod._engine_salt())  # the engine the note was made with
    return base


@pytest.fixture
def project(_built: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """The project of ``_built`` as its second build left it, restored at the path it was built at (the
    note of the unchanged build holds the project's paths), with its user cache; each test changes its
    own restored copy."""
    live = _built / "live"
    # a test that patches glc's version leaves a salt made from it in the cache (its last build ran
    # patched); the next test must build with the engine the note was made with, or every build of it
    # checks every node and its "nothing checked" assertions pass for the wrong reason
    build_mod._engine_salt.cache_clear()
    assert build_mod._engine_salt() == (_built / "salt").read_text()
    shutil.rmtree(live)
    shutil.copytree(_built / "saved", live)
    monkeypatch.setenv("XDG_CACHE_HOME", str(live / "cache"))
    root = live / "p"
    assert len(_unchanged_rows(root)) == 1  # the restored store still holds the unchanged build's note
    yield root, (_built / "tid").read_text()


def _unchanged_rows(root: Path) -> list[tuple]:
    return sql_rows(Workspace(root), "SELECT state_key FROM glc_node_state WHERE node = ?", build_mod.UNCHANGED)


class Checks:
    """Counts the builds that checked their nodes (planned the incremental nodes' partitions)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.n = 0
        plain = build_mod.IncrementalStrategy.prepare

        def counted(strategy: Any, ctx: Any, nodes: Any) -> None:
            self.n += 1
            plain(strategy, ctx, nodes)
        monkeypatch.setattr(build_mod.IncrementalStrategy, "prepare", counted)


def _run(root: Path, **options: Any) -> Any:
    return Workspace(root).run(infer=False, **options)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_nothing_changed_skips_the_checks_and_keeps_every_result(project: tuple[Path, str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root, _ = project
    levels = sql_rows(Workspace(root), LEVELS)
    runs = sql_rows(Workspace(root), "SELECT count(*) FROM glc_runs")[0][0]
    checks = Checks(monkeypatch)
    for _ in range(2):
        result = _run(root)
        assert result.build.built == [] and result.build.partitions_built == {} and result.build.seeds_loaded == []
        assert result.build.skipped == [n.name for n in Workspace(root).compile(write=False).nodes]
        assert not result.tests.failed
    assert checks.n == 0
    assert sql_rows(Workspace(root), LEVELS) == levels and levels
    assert sql_rows(Workspace(root), "SELECT count(*) FROM glc_runs")[0][0] == runs + 2  # each run recorded


def _m1_acc(root: Path, tid: str) -> list[tuple]:
    return sql_rows(Workspace(root), "SELECT score FROM task_scores WHERE model = 'm1' AND task_id = ?", tid)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_new_predictions_are_scored(project: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, tid = project
    before = _m1_acc(root, tid)
    Workspace(root).import_predictions(write_predictions(tmp_path / "again.jsonl", "m1", tid,
                                                         [("q1", "x"), ("q2", "y"), ("q3", "z")]))
    checks = Checks(monkeypatch)
    result = _run(root)
    assert checks.n == 1 and result.build.partitions_built
    assert _m1_acc(root, tid) != before and _m1_acc(root, tid) == [(100.0,)]
    assert not _unchanged_rows(root)  # something was built: no note until a build finds all up to date


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_changed_task_spec_reloads_its_seed_and_rebuilds(project: tuple[Path, str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root, tid = project
    spec = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec.write_text(spec.read_text().replace("value: 50.0", "value: 99.0"))
    checks = Checks(monkeypatch)
    result = _run(root)
    assert checks.n == 1 and "tasks" in result.build.seeds_loaded and result.build.built
    assert sql_rows(Workspace(root), "SELECT sota FROM tasks WHERE task_id = ?", tid) == [(99.0,)]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_changed_task_data_rescores(project: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    root, tid = project
    data = root / "data" / f"{tid}.jsonl"
    data.write_text(data.read_text().replace('"output": ["c"]', '"output": ["no"]').replace('["z"]', '["no"]'))
    checks = Checks(monkeypatch)
    result = _run(root)
    assert checks.n == 1 and result.build.partitions_built
    assert _m1_acc(root, tid) == [(100.0,)]


def test_imported_scores_are_built(project: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, tid = project
    table = tmp_path / "s.csv"
    table.write_text(f"model,task,score\nimported-model,{tid},42\n")
    Workspace(root).import_scores(table)
    checks = Checks(monkeypatch)
    result = _run(root)
    assert checks.n == 1 and result.build.built
    assert sql_rows(Workspace(root), "SELECT score FROM task_scores WHERE model = 'imported-model'") == [(42.0,)]


def test_changed_sql_rebuilds_the_node(project: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    root, _ = project
    ws = Workspace(root)
    compiled = ws.compile(write=False)
    node = compiled.node("leaderboard")
    changed = dataclasses.replace(node, sql=node.sql + "\nLIMIT 1000000")
    ws._compiled = dataclasses.replace(compiled, nodes=tuple(changed if n is node else n for n in compiled.nodes))
    checks = Checks(monkeypatch)
    result = ws.run(infer=False)
    assert checks.n == 1 and "leaderboard" in result.build.built


@pytest.mark.parametrize("change", ["profile", "glc version", "dropped table"])
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_other_inputs_check_every_node_again(project: tuple[Path, str], monkeypatch: pytest.MonkeyPatch,
                                             change: str) -> None:
    root, _ = project
    if change == "profile":
        prof = root / "profiles.yml"
        prof.write_text(prof.read_text() + "\n# edited\n")
    elif change == "glc version":
        monkeypatch.setattr(glc, "__version__", glc.__version__ + ".post1")
        build_mod._engine_salt.cache_clear()
    else:
        import duckdb

        con = duckdb.connect(Workspace(root).target.path)
        con.execute("DROP TABLE level_scores")
        con.close()
    checks = Checks(monkeypatch)
    try:
        result = _run(root)
    finally:
        build_mod._engine_salt.cache_clear()
    assert checks.n == 1
    if change == "dropped table":
        assert "level_scores" in result.build.built
        assert sql_rows(Workspace(root), "SELECT count(*) FROM level_scores")[0][0] > 0
    else:  # nothing of the build's own inputs changed: nothing built, and the note is written again
        assert result.build.built == [] and len(_unchanged_rows(root)) == 1
        checks.n = 0
        _run(root)
        assert checks.n == 0


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_full_refresh_and_select_are_never_skipped(project: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    root, tid = project
    checks = Checks(monkeypatch)
    assert len(_run(root, full_refresh=True).build.built) == len(Workspace(root).compile(write=False).nodes)
    assert checks.n == 1
    _run(root, select=[f"task:{tid}"])
    assert checks.n == 2


def _describe(result: Any) -> list[str]:
    return [r.describe() for r in result.tests.data]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_data_tests_of_an_unchanged_store_are_not_run_again(project: tuple[Path, str], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    from glc.engine import data_tests

    root, tid = project
    ran = []
    plain = data_tests.run_data_tests
    monkeypatch.setattr(data_tests, "run_data_tests", lambda con, tests: ran.append(1) or plain(con, tests))

    def fresh() -> list[str]:  # the tests run on the store as it is
        con = duckdb.connect(Workspace(root).target.path, read_only=True)
        try:
            return [r.describe() for r in plain(con, Workspace(root).compile(write=False).data_tests)]
        finally:
            con.close()

    kept = _run(root)  # the fixture's second build built nothing: its tests' results were kept
    assert ran == [] and kept.build.unchanged is not None and _describe(kept) == fresh() and kept.tests.data
    # what the tests read changes: they run again (and see the new rows)
    table = tmp_path / "s.csv"
    table.write_text(f"model,task,score\nimported-model,{tid},42\n")
    Workspace(root).import_scores(table)
    changed = _run(root)
    assert ran == [1] and changed.build.unchanged is None and _describe(changed) == fresh()
    again = _run(root)  # built nothing: run once more, and kept
    assert ran == [1, 1] and _describe(again) == _describe(changed)
    assert _describe(_run(root)) == _describe(changed) and ran == [1, 1]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_skipped_build_still_installs_the_udfs_its_views_call(project: tuple[Path, str]) -> None:
    """Views are read after the build (results, data tests): a skipped build registers the UDFs
    the views call, as a build that checks its nodes does (a review found "Scalar Function
    glc_exact_mean does not exist" on the run after a nothing-changed one)."""
    root, _ = project
    (root / "sql" / "models" / "udf_view.sql").write_text(
        "{{ config(materialized='view') }}\nSELECT glc_exact_mean([1.0, 2.0]) AS m, DATE '2020-01-01' AS d\n")
    tests = root / "specs" / "tests" / "data_quality.yaml"
    tests.write_text(tests.read_text() + "  - name: udf_view_reads\n    type: sql\n    model: udf_view\n"
                     "    severity: warn\n    sql: \"SELECT m, d FROM udf_view WHERE m < 10\"\n")
    outcomes = [_run(root) for _ in range(3)]  # builds the view; finds all up to date; skips
    assert outcomes[2].build.unchanged and outcomes[2].build.built == []
    for run in outcomes:
        (reads,) = [d for d in run.tests.data if d.test.name == "udf_view_reads"]
        assert reads.n_failing == 1 and reads.sample[0][0] == 1.5


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_kept_test_results_leave_out_integers_json_cannot_hold(project: tuple[Path, str]) -> None:
    """A data test's sample with a HUGEINT beyond 64 bits is run again each time, never kept (orjson
    refuses such integers; a review found the run failing with an internal error)."""
    root, _ = project
    tests = root / "specs" / "tests" / "data_quality.yaml"
    tests.write_text(tests.read_text() + "  - name: huge\n    type: sql\n    model: tasks\n    severity: warn\n"
                     "    sql: \"SELECT 18446744073709551616::HUGEINT AS h FROM tasks LIMIT 1\"\n")
    for _ in range(3):
        (huge,) = [d for d in _run(root).tests.data if d.test.name == "huge"]
        assert huge.n_failing == 1 and huge.sample == ((18446744073709551616,),)
    kept = sql_rows(Workspace(root), "SELECT state_key FROM glc_node_state WHERE node = ?", build_mod.KEPT_TESTS)
    assert all("18446744073709551616" not in text for (text,) in kept)  # the earlier tests' results at most
