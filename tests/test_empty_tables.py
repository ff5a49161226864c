"""Empty incremental tables (metrics nothing was predicted for) created from the columns kept in the
user's cache (glc.engine.build): the same tables, rows and states as binding each query, and a
damaged or wrong cache changes nothing but the time."""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson
import pytest
from glc.compiler.materialization import Incremental
from glc.compiler.plan import CompiledProject

from glc.engine import build as engine

COLUMNS = ("SELECT table_name, column_name, data_type, ordinal_position FROM information_schema.columns "
           "WHERE table_schema = 'main' AND table_name NOT LIKE 'glc_%' ORDER BY ALL")
STATES = "SELECT node, state_key FROM glc_node_state WHERE node <> 'snapshot:live' ORDER BY node"  # (a run id)


def _build(compiled: CompiledProject) -> tuple[list[tuple], list[tuple], dict[str, int], engine.BuildResult]:
    con = duckdb.connect()
    result = engine.build(con, compiled)
    rows = {n.name: con.execute(f'SELECT count(*) FROM "{n.name}"').fetchall()[0][0] for n in compiled.nodes
            if isinstance(n.materialization, Incremental)}
    out = con.execute(COLUMNS).fetchall(), con.execute(STATES).fetchall(), rows, result
    con.close()
    return out


def _cache(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "glc" / "empty-tables.json"


@pytest.fixture
def cold(compiled: CompiledProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return _build(compiled)


def test_kept_columns_build_the_same_tables(compiled: CompiledProject, tmp_path: Path, cold) -> None:
    incremental = [n.name for n in compiled.nodes if isinstance(n.materialization, Incremental)]
    assert cold[2] and set(cold[2]) == set(incremental) and not any(cold[2].values())  # all empty
    kept = orjson.loads(_cache(tmp_path).read_bytes())["tables"]
    # the incremental nodes, and the tables read from seeds and empty store tables only (the metrics'
    # reference sides, instance_refs__<metric>, over no task data)
    refs = [n.name for n in compiled.nodes if n.name.startswith("instance_refs__")]
    assert refs and len(kept) >= len(incremental) + len(refs)
    warm = _build(compiled)
    assert warm[0] == cold[0]  # every relation's columns and types
    assert warm[1] == cold[1]  # every state key
    assert warm[2] == cold[2]
    assert sorted(warm[3].built) == sorted(cold[3].built)
    assert warm[3].partitions_built == cold[3].partitions_built


def test_kept_columns_read_otherwise_are_bound_again(compiled: CompiledProject, tmp_path: Path, cold) -> None:
    """A created table whose catalog columns differ from the kept ones (here: kept as TEXT, which DuckDB
    reads as VARCHAR) is created again from its query before anything reads it, and kept anew."""
    path = _cache(tmp_path)
    data = orjson.loads(path.read_bytes())
    key = next(iter(data["tables"]))
    right = data["tables"][key]
    assert right[0] == ["model", "VARCHAR"]
    data["tables"][key] = [["model", "TEXT"], *right[1:]]
    path.write_bytes(orjson.dumps(data))
    again = _build(compiled)
    assert again[0] == cold[0] and again[1] == cold[1] and again[2] == cold[2]
    assert orjson.loads(path.read_bytes())["tables"][key] == right


@pytest.mark.parametrize("damage", [b"{not json", b'{"format": 1, "tables": {"k": 3}}',
                                    "types that are not types"])
def test_damaged_cache_changes_nothing(compiled: CompiledProject, tmp_path: Path, cold, damage) -> None:
    path = _cache(tmp_path)
    if isinstance(damage, bytes):
        path.write_bytes(damage)
    else:
        data = orjson.loads(path.read_bytes())
        data["tables"] = {k: [[c, "INTEGER); DROP TABLE tasks; --"] for c, _ in v] for k, v in data["tables"].items()}
        path.write_bytes(orjson.dumps(data))
    again = _build(compiled)
    assert again[0] == cold[0] and again[1] == cold[1] and again[2] == cold[2]
    assert len(orjson.loads(path.read_bytes())["tables"]) > len(cold[2])  # written again


@pytest.mark.parametrize("type_", ["VARCHAR", "HUGEINT", "TIMESTAMP WITH TIME ZONE", "DECIMAL(18,3)", "DOUBLE[3]",
                                   "MAP(VARCHAR, INTEGER[])", 'STRUCT("label" DOUBLE, "a""b" VARCHAR)[]',
                                   "STRUCT(matches_1 DOUBLE, hyp_len DOUBLE)"])
def test_kept_types_are_written_as_duckdb_reads_them(type_: str) -> None:
    con = duckdb.connect()
    con.execute(engine._empty_table_sql("t", [["c", type_]]))
    assert con.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 't'").fetchall() == [
        (type_,)]


@pytest.mark.parametrize("type_", ["INTEGER); DROP TABLE tasks; --", "FOO", "STRUCT(a DOUBLE", "ENUM('a')", "",
                                   "VARCHAR VARCHAR", "DOUBLE[", "STRUCT()", "DECIMAL(1,2,3)", "VARCHAR -- x"])
def test_other_types_are_refused(type_: str) -> None:
    with pytest.raises(ValueError):
        engine._empty_table_sql("t", [["c", type_]])
