"""Store and seed tables are created from their contracts without sqlglot: each table DuckDB makes
has exactly the contract's columns and types, and a table that exists is left as it is."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from glc.compiler.contracts import SEEDS, STORE, quote_ident
from helpers.project import EXAMPLES

from glc.engine.store import ensure_store, locked_down
from glc.workspace import Workspace


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


class _Recorder:
    """A DuckDB connection that keeps the text of every statement it is given (``execute``)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.statements = con, []

    def __getattr__(self, name: str) -> object:
        return getattr(self.con, name)

    def execute(self, sql: str, *args: object, **kwargs: object) -> _Recorder:
        self.statements.append(" ".join(sql.split()))
        self.con.execute(sql, *args, **kwargs)
        return self

    def fetchall(self) -> list[tuple[object, ...]]:
        return self.con.fetchall()

    def ddl_outside_transactions(self) -> list[str]:
        """The CREATE TABLE statements given while no transaction was open: each one its own commit,
        a sync of the store's log to the disk."""
        out, open_ = [], False
        for s in self.statements:
            if s.startswith("BEGIN"):
                open_ = True
            elif s.startswith(("COMMIT", "ROLLBACK")):
                open_ = False
            elif "CREATE TABLE" in s and not open_:
                out.append(s)
        return out


def test_a_new_store_is_made_in_one_commit() -> None:
    con = _Recorder(duckdb.connect())
    ensure_store(con)  # type: ignore[arg-type]
    assert con.ddl_outside_transactions() == []
    assert [s for s in con.statements if s.startswith(("BEGIN", "COMMIT"))] == ["BEGIN TRANSACTION", "COMMIT"]
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert set(STORE) <= tables and "glc_runs" in tables
    con.statements.clear()
    ensure_store(con)  # type: ignore[arg-type]  # all there: one catalog query, no transaction
    assert len(con.statements) == 1 and con.statements[0].startswith("SELECT")


def test_import_and_first_run_make_their_tables_in_their_own_commits(ws: Workspace,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A new store's tables come with the import's rows, and the build's bookkeeping tables with its
    build: no commit (no sync of the log) of their own."""
    import glc.engine.store as store

    opened: list[_Recorder] = []
    real = store.connect

    def connect(*args: object, **kwargs: object) -> _Recorder:
        opened.append(_Recorder(real(*args, **kwargs)))  # type: ignore[arg-type]
        return opened[-1]

    monkeypatch.setattr(store, "connect", connect)
    ws.import_scores(EXAMPLES / "c04_sota_beater.xlsx")
    assert len(opened) == 1 and opened[0].ddl_outside_transactions() == []
    assert sum(s.startswith("COMMIT") for s in opened[0].statements) == 1
    ws.run()
    assert len(opened) == 2 and opened[1].ddl_outside_transactions() == []
    assert any("glc_node_state" in s and "CREATE TABLE" in s for s in opened[1].statements)


def test_a_locked_down_connection_reads_no_file_and_cannot_be_unlocked(tmp_path: Path) -> None:
    """The store's connection and the workbook reader's in-memory one (store.locked_down): SQL from specs
    or cells can neither read a file nor switch the configuration back."""
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    for con in (locked_down(), locked_down(str(tmp_path / "s.duckdb"), threads=1)):
        with pytest.raises(duckdb.Error, match="file system operations are disabled"):
            con.execute(f"SELECT * FROM read_csv('{secret}')")
        with pytest.raises(duckdb.Error, match="Cannot change configuration"):
            con.execute("SET enable_external_access = true")
        con.close()


def test_the_store_file_is_opened_with_small_row_groups_under_its_own_name(tmp_path: Path) -> None:
    """store.locked_down on a file: attached with ROW_GROUP_SIZE rows per row group (a table of 100,000
    rows spans several), under the name DuckDB gives the file, with nothing else attached; no other
    database can be attached afterwards; a file written with DuckDB's defaults opens and grows as well."""
    from glc.engine.store import ROW_GROUP_SIZE

    path = tmp_path / "general-bench.duckdb"
    con = locked_down(str(path), threads=2)
    assert con.execute("SELECT current_database()").fetchone() == ("general-bench",)
    # DuckDB spills beside the database file, as for a file it opens itself (not into the working folder)
    assert con.execute("SELECT current_setting('temp_directory')").fetchone() == (f"{path}.tmp",)
    assert sorted(r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()) == [
        "general-bench", "system", "temp"]
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(100000)")
    groups = con.execute("SELECT row_group_id, max(count) FROM pragma_storage_info('t') GROUP BY ALL").fetchall()
    assert len(groups) == -(-100000 // ROW_GROUP_SIZE) and max(n for _, n in groups) == ROW_GROUP_SIZE < 122_880
    with pytest.raises(duckdb.Error, match="file system operations are disabled"):
        con.execute(f"ATTACH '{tmp_path / 'other.duckdb'}' AS other")
    con.close()
    plain = duckdb.connect(str(path))  # another program, DuckDB's defaults
    plain.execute("INSERT INTO t SELECT range + 100000 FROM range(150000)")
    plain.close()
    again = locked_down(str(path), read_only=True)
    assert again.execute("SELECT count(*), sum(i) FROM t").fetchone() == (250000, 250000 * 249999 // 2)
    with pytest.raises(duckdb.Error, match="read-only"):
        again.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(duckdb.Error):  # no writable database to reach the store through again
        again.execute(f"ATTACH ':memory:' AS m; USE m; DETACH \"general-bench\"; ATTACH '{path}' AS w (READ_WRITE)")
    again.close()
    assert duckdb.connect(str(path), read_only=True).execute("SELECT count(*) FROM t").fetchone() == (250000,)
    for name, catalog in (("memory.duckdb", "store"), ("a.b.duckdb", "a"), ("information_schema.duckdb", "store")):
        con = locked_down(str(tmp_path / name))
        assert con.execute("SELECT current_database()").fetchone() == (catalog,)
        con.close()


def test_a_damaged_store_is_not_taken_for_a_locked_one(tmp_path: Path) -> None:
    """open_hint: DuckDB's checksum error names a "block"; the hint is the damaged-file one, not "another
    glc process is using it" (which a lock held elsewhere gets)."""
    from glc.engine.store import open_hint

    damaged = duckdb.IOException("Corrupt database file: computed checksum 123 does not match stored checksum "
                                 "456 in block at location 4096")
    assert "damaged" in open_hint(damaged)
    held = duckdb.IOException('Could not set lock on file "x.duckdb": Conflicting lock is held in python (PID 7)')
    assert "another glc process" in open_hint(held)
