"""Store and seed tables are created from their contracts without sqlglot: each table DuckDB makes
has exactly the contract's columns and types, and a table that exists is left as it is."""

from __future__ import annotations

import duckdb
import pytest
from glc.compiler.contracts import SEEDS, STORE, quote_ident

from glc.engine.store import ensure_store


def test_every_contract_makes_its_table() -> None:
    con = duckdb.connect()
    for contract in [*STORE.values(), *SEEDS.values()]:
        con.execute(contract.ddl())
        got = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {quote_ident(contract.name)}").fetchall()]
        assert got == [(c.name, c.type) for c in contract.columns], contract.name


def test_ensure_store_creates_only_what_is_missing() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE imported_models (model VARCHAR)")  # an older table stays as it is
    ensure_store(con)
    ensure_store(con)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert set(STORE) <= tables and "glc_runs" in tables
    assert [r[0] for r in con.execute("DESCRIBE imported_models").fetchall()] == ["model"]


@pytest.mark.parametrize("name", ['plain', 'with "quotes"', "Mixed Case", "semi;colon"])
def test_identifiers_are_quoted(name: str) -> None:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE {quote_ident(name)} (x INTEGER)")
    assert con.execute(f"SELECT count(*) FROM {quote_ident(name)}").fetchone() == (0,)


def test_state_tables_come_from_their_contracts() -> None:
    """The bookkeeping tables (run history, build state, intervals) are made by their contracts, with
    their primary keys, and no module of glc/ writes a CREATE TABLE of its own for them."""
    from pathlib import Path

    from glc.compiler.contracts import STATE

    from glc.engine.build import STATE_DDL

    con = duckdb.connect()
    for contract in STATE.values():
        con.execute(contract.ddl())
        got = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {quote_ident(contract.name)}").fetchall()]
        assert got == [(c.name, c.type) for c in contract.columns], contract.name
    for _ in range(2):  # INSERT OR REPLACE needs the primary key
        con.execute("INSERT OR REPLACE INTO glc_node_state VALUES ('n', 'k', NULL)")
    assert con.execute("SELECT count(*) FROM glc_node_state").fetchone() == (1,)
    con.execute("INSERT INTO level_intervals (model) VALUES ('m')")
    con.execute(STATE["level_intervals"].ddl(replace=True))  # bootstrap starts over
    assert con.execute("SELECT count(*) FROM level_intervals").fetchone() == (0,)
    assert STATE_DDL == [STATE[t].ddl() for t in ("glc_run_levels", "glc_run_tasks", "glc_node_state",
                                                   "glc_partition_state")]
    glc_dir = Path(__file__).resolve().parents[1] / "glc"
    own = [str(p) for p in glc_dir.rglob("*.py") if "CREATE TABLE IF NOT EXISTS" in p.read_text(encoding="utf-8")]
    assert own == []
