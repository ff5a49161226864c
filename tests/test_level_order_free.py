"""The level DAG gives the same doubles whatever order the imported scores arrive in.

A float SUM or AVG adds in the order rows arrive in ((0.1 + 0.2) + 0.3 != 0.1 + (0.2 + 0.3)), and
the order of the scores in a workbook or a prediction file becomes the order of the rows of
task_outcomes, group_parts and every sum after them (as does the order of the task catalog, which
the joins keep). Here one small catalog (the small project's
metrics, levels and scopes; tasks of every modality and paradigm given here) is built from the same
scores and tasks in several orders, on one thread so that each build adds in table order, and every
DOUBLE of level_scores, leaderboard and each variant's group_scores/part_scores/level_scores views
must be the same bits in every build (and the views the same bits as level_scores).
"""

from __future__ import annotations

import random
import struct
from typing import Any

import duckdb
import pytest
from glc.compiler.plan import CompiledProject, compile_project
from glc.compiler.resolve import Task
from glc.compiler.seeds import build_seeds
from glc.compiler.spec_models import TaskSpec
from helpers.project import copy_project

from glc.engine.build import ancestors, build
from glc.engine.store import STORE, ensure_store, insert_rows

MODALITIES = ("image", "video", "audio", "3d")
#: scores (identity metric: sigma is the score) whose float sums depend on the order of adding:
#: (0.1 + 0.2) + 0.3 != 0.1 + (0.2 + 0.3); with wide and tiny ones mixed in (all in acc's [0, 100])
SCORES = [0.1, 0.2, 0.3, 0.7, 1 / 3, 2 / 3, 99.9, 1e-9, 3e-13, 50.05, 0.15, 12.3456789]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> CompiledProject:
    return compile_project(copy_project(tmp_path_factory.mktemp("small") / "p", small=True))


def _catalog(compiled: CompiledProject) -> list[Task]:
    acc = next(m for m in compiled.project.metrics if m.name == "acc")
    specs = []
    for modality in MODALITIES:
        for paradigm in ("comprehension", "generation"):
            specs += [(f"{modality}.{paradigm[:3]}{i}", modality, paradigm) for i in range(5)]
    specs += [(f"nlp.t{i}", "nlp", "nlp") for i in range(5)]
    # a low SoTA, so that most tasks are won and their sigmas enter S_C, S_G and S_L too; one tie
    return [Task(TaskSpec.model_validate({"id": tid, "name": tid, "modality": modality, "paradigm": paradigm,
                                          "metric": "acc", "sota": {"value": 0.15}}), acc, "test")
            for tid, modality, paradigm in specs]


def _scores(tasks: list[Task], models: int = 6) -> list[tuple[Any, ...]]:
    rows = []
    for m in range(models):
        for k, t in enumerate(tasks):
            if (k + m) % 7 != 3:  # a few tasks unscored (sigma 0)
                rows.append((f"model_{m}", t.spec.id, SCORES[(k * 5 + m) % len(SCORES)],
                             None, None, None, None, None, None))
    return rows


def _bits(x: Any) -> Any:
    return struct.pack("<d", x).hex() if isinstance(x, float) else x


def _tables(compiled: CompiledProject) -> list[str]:
    names = ["level_scores", "leaderboard"]
    for v in compiled.project.variants:
        names += [f"group_scores__{v.name}", f"part_scores__{v.name}", f"level_scores__{v.name}"]
    return names


def _build(compiled: CompiledProject, tasks: list[Task], scores: list[tuple[Any, ...]],
           threads: int = 1) -> dict[str, list[tuple]]:
    """Every row of every level table, DOUBLEs as their bits, sorted by those keys."""
    con = duckdb.connect(":memory:")
    try:
        # one thread: each aggregate adds up in the order of the rows it reads (SET overrides the tests'
        # one-thread connections, tests/conftest.py)
        con.execute("SET threads = ?", [threads])
        ensure_store(con)
        insert_rows(con, STORE["imported_scores"], scores)
        insert_rows(con, STORE["imported_models"], [(r, None, None, None, None, None, None)
                                                    for r in dict.fromkeys(s[0] for s in scores)])
        tables = _tables(compiled)
        build(con, compiled, ancestors(compiled, tables), seeds=build_seeds(compiled.project, tasks))
        out = {}
        for name in tables:
            rows = con.execute(f'SELECT * FROM "{name}"').fetchall()  # names of the shipped specs/levels
            out[name] = sorted((tuple(_bits(x) for x in r) for r in rows), key=repr)
        return out
    finally:
        con.close()


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_level_tables_are_the_same_bits_in_every_order_of_the_scores(small: CompiledProject) -> None:
    tasks = _catalog(small)
    scores = _scores(tasks)
    first = _build(small, tasks, scores)
    assert first["level_scores"] and first["group_scores__pooled"]
    # the level tables hold fractional values that the orders below add up differently
    assert any(isinstance(x, str) for r in first["level_scores"] for x in r)
    # the scores and the task catalog (whose order the joins keep) reversed, sorted another way, shuffled
    orders = [(tasks[::-1], scores[::-1]), (sorted(tasks, key=lambda t: t.id[::-1]), sorted(scores, key=repr))]
    rng = random.Random(13)
    for _ in range(3):
        orders.append((rng.sample(tasks, len(tasks)), rng.sample(scores, len(scores))))
    for order_tasks, order_scores in orders:
        again = _build(small, order_tasks, order_scores)
        for name, rows in first.items():
            assert again[name] == rows, name
    # each variant's views spell out the same arithmetic as level_scores: the same bits
    for v in small.project.variants:
        mine = [r for r in first["level_scores"] if r[1] == v.name]
        assert first[f"level_scores__{v.name}"] == mine, v.name


@pytest.mark.slow  # 3,300 models: about 127,000 scores, more than one DuckDB row group (122,880 rows)
def test_level_tables_are_the_same_bits_on_four_threads(small: CompiledProject) -> None:
    """Threads split a table by row groups and add up partial sums in the order they finish: with
    more than one row group of scores, a float sum could differ between runs and thread counts."""
    tasks = _catalog(small)
    scores = _scores(tasks, models=3300)
    assert len(scores) > 122_880
    one = _build(small, tasks, scores)
    for _ in range(2):
        assert _build(small, tasks, scores, threads=4) == one


def test_the_scores_above_do_add_up_differently_in_another_order() -> None:
    """Guards the test: its scores make an order-dependent float sum (what it would catch)."""
    assert (SCORES[0] + SCORES[1]) + SCORES[2] != SCORES[0] + (SCORES[1] + SCORES[2])
    assert sum(SCORES) != sum(reversed(SCORES)) or sum(sorted(SCORES)) != sum(SCORES)

