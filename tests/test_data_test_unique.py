"""The generic ``unique`` data test: its query (keys grouped by their hash first, then only the rows whose
hash repeats grouped by the keys) reports the same rows as grouping every row by its keys."""

from __future__ import annotations

import random

import duckdb
import pytest
from glc.compiler.data_tests import UNIQUE_CANDIDATES, compile_data_tests
from glc.compiler.loader import Located
from glc.compiler.spec_models import DataTestSpec

SCHEMA = {"scores": {"model": "VARCHAR", "task_id": "VARCHAR", "score": "DOUBLE"}}


def _unique_sql(columns: list[str]) -> str:
    spec = DataTestSpec(name="one_score", type="unique", model="scores", columns=columns)
    tests, errors = compile_data_tests((Located(spec, "specs/tests/t.yaml", 1, None),), SCHEMA)  # type: ignore[arg-type]
    assert not errors and len(tests) == 1
    return tests[0].sql


def _plain(con: duckdb.DuckDBPyConnection, columns: list[str]) -> list[tuple[object, ...]]:
    keys = ", ".join(columns)
    return sorted(con.execute(f"SELECT {keys}, COUNT(*) FROM scores GROUP BY {keys} HAVING COUNT(*) > 1").fetchall(),
                  key=repr)


@pytest.mark.parametrize("columns", [["model", "task_id"], ["model"], ["score"]])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_unique_reports_every_repeated_key_with_its_count(columns: list[str], seed: int) -> None:
    rng = random.Random(seed)
    con = duckdb.connect()
    con.execute("CREATE TABLE scores (model VARCHAR, task_id VARCHAR, score DOUBLE)")
    rows = [(rng.choice(["m1", "m2", "m3", None]), rng.choice(["t1", "t2", None]), rng.choice([0.5, 1.0, None]))
            for _ in range(rng.randint(0, 12))]
    if rows:
        con.executemany("INSERT INTO scores VALUES (?, ?, ?)", rows)
    sql = _unique_sql(columns)
    got = sorted(con.execute(sql).fetchall(), key=repr)
    assert got == _plain(con, columns)
    names = [d[0] for d in con.execute(sql).description]
    assert names == [*columns, "n_rows"]


def test_unique_passes_on_distinct_keys_and_groups_by_the_hash_first() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE scores AS SELECT 'm' || (i % 100) AS model, 't' || (i // 100) AS task_id, "
                "i * 0.5 AS score FROM range(5000) AS r(i)")
    sql = _unique_sql(["model", "task_id"])
    assert con.execute(sql).fetchall() == []
    assert UNIQUE_CANDIDATES in sql and "HASH(" in sql
    con.execute("INSERT INTO scores VALUES ('m7', 't3', 1.0), ('m7', 't3', 2.0)")
    assert con.execute(sql).fetchall() == [("m7", "t3", 3)]
