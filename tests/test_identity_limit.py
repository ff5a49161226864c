"""A metric normalized by ``identity`` adds its raw values in the level sums (exact counts of 2^-52
in a HUGEINT): values beyond IDENTITY_LIMIT are refused at import with a located problem, and the
largest accepted value still builds every level table."""

from __future__ import annotations

import duckdb
import pytest
from glc.compiler.plan import CompiledProject, compile_project
from glc.compiler.resolve import Task
from glc.compiler.seeds import build_seeds
from glc.compiler.spec_models import TaskSpec
from helpers.project import copy_project

from glc.engine.build import ancestors, build
from glc.engine.store import STORE, ensure_store, insert_rows
from glc.importers.scores import IDENTITY_LIMIT, Problem, parse_value, value_bounds


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> CompiledProject:
    d = tmp_path_factory.mktemp("identity") / "p"
    copy_project(d, small=True)
    (d / "specs/metrics/big.yaml").write_text("name: big\ntitle: Big count\ndirection: higher\nunit: score\n"
                                              "normalization:\n  kind: identity\n")
    (d / "specs/metrics/wide.yaml").write_text("name: wide\ntitle: Wide\ndirection: higher\nunit: score\n"
                                               "normalization:\n  kind: tanh\n  scale: 10\n")
    return compile_project(d)


def _tasks(compiled: CompiledProject, metric: str) -> list[Task]:
    m = next(m for m in compiled.project.metrics if m.name == metric)
    return [Task(TaskSpec.model_validate({"id": f"image.{p[:3]}{i}", "name": "t", "modality": "image", "paradigm": p,
                                          "metric": metric, "sota": {"value": 1.0}}), m, "test")
            for p in ("comprehension", "generation") for i in range(2)]


def test_identity_values_beyond_the_limit_are_refused(compiled: CompiledProject) -> None:
    task = _tasks(compiled, "big")[0]
    assert value_bounds(task) == (-IDENTITY_LIMIT, IDENTITY_LIMIT)
    assert parse_value(IDENTITY_LIMIT, task) == IDENTITY_LIMIT
    assert parse_value(-IDENTITY_LIMIT, task) == -IDENTITY_LIMIT
    for bad in (1e30, -2e15, "1e16"):
        got = parse_value(bad, task)
        assert isinstance(got, Problem), bad
        assert "'big'" in got.message and "identity" in got.message and got.hint
    # a metric with another normalization maps any value into 0-100: no limit
    wide = _tasks(compiled, "wide")[0]
    assert value_bounds(wide) == (float("-inf"), float("inf"))
    assert parse_value(1e30, wide) == 1e30


def test_the_largest_accepted_value_builds_the_levels(compiled: CompiledProject) -> None:
    tasks = _tasks(compiled, "big")
    con = duckdb.connect(":memory:")
    ensure_store(con)
    insert_rows(con, STORE["imported_scores"],
                [("m", t.spec.id, IDENTITY_LIMIT, None, None, None, None, None, None) for t in tasks])
    insert_rows(con, STORE["imported_models"], [("m", None, None, None, None, None, None)])
    build(con, compiled, ancestors(compiled, ["level_scores"]), seeds=build_seeds(compiled.project, tasks))
    rows = con.execute("SELECT DISTINCT level_2 FROM level_scores WHERE model = 'm'").fetchall()
    assert rows == [(IDENTITY_LIMIT,)]
