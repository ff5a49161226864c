"""Store and seed tables are created from their contracts without sqlglot: each table DuckDB makes
has exactly the contract's columns and types, and a table that exists is left as it is."""

from __future__ import annotations

import duckdb
import pytest
from glc.compiler.contracts import SEEDS, STORE, quote_ident

from glc.store import ensure_store


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
