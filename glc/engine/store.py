"""The DuckDB store: connections, store tables that builds never drop, and seed loading."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from glc.compiler.contracts import SEEDS, STATE, STORE, Column, Contract, quote_ident
from glc.compiler.errors import GlcError
from glc.profiles import Target

if TYPE_CHECKING:  # pyarrow: imported by the functions that write rows, not by every command
    import pyarrow as pa

    from glc.compiler.seeds import Seed

DIALECT = "duckdb"
IMPORT_BACKEND = "import"  # the backend of predictions read by `glc import predictions`


# a DuckDB connection that reads no file but its database and loads no extension (locked_down locks it)
LOCKED_DOWN: dict[str, Any] = {"enable_external_access": False, "autoinstall_known_extensions": False,
                               "autoload_known_extensions": False}


# Rows per row group of the store's tables (DuckDB's default: 122,880). DuckDB scans a table one row
# group per thread, so a table of a hundred thousand rows (one model's scores of a metric, a metric's
# prepared references) was read by one thread; and an append of fewer rows than a row group goes to the
# write-ahead log row by row at commit, where a full row group is compressed and written once. On the
# 20-model instance benchmark a quarter of the row group size made the full build ~10 % faster, a one-
# model addition ~20 % faster and the peak memory a third lower (benchmarks/bench_instances.py).
# DuckDB does not keep the setting in the file: every connection glc opens on the store gives it.
ROW_GROUP_SIZE = 32_768


def locked_down(path: str = ":memory:", *, read_only: bool = False, threads: int | None = None,
                ) -> duckdb.DuckDBPyConnection:
    """A connection with ``LOCKED_DOWN``'s configuration, locked so that no SQL can switch it back.
    A database file opened for writing is attached with ``ROW_GROUP_SIZE`` (under the name
    ``_catalog_name`` gives it, spilling beside it as DuckDB does for a file it opens itself) before
    file access is switched off. A read-only one is opened by DuckDB itself: its in-memory database
    could otherwise attach the store file again for writing (and row groups only matter to writes)."""
    config: dict[str, Any] = dict(LOCKED_DOWN)
    if threads:
        config["threads"] = threads
    if path == ":memory:" or read_only:
        con = duckdb.connect(path, read_only=read_only, config=config)
    else:
        del config["enable_external_access"]  # until the file is attached, just below
        config["temp_directory"] = path + ".tmp"  # where DuckDB spills for a database file it opens itself
        con = duckdb.connect(":memory:", config=config)
        try:
            name = quote_ident(_catalog_name(path))
            con.execute(f"ATTACH ? AS {name} (ROW_GROUP_SIZE {ROW_GROUP_SIZE:d})", [path])
            con.execute(f"USE {name}")
            con.execute("DETACH memory")
            con.execute("SET enable_external_access = false")
        except BaseException:
            con.close()
            raise
    con.execute("SET lock_configuration = true")
    return con


def _catalog_name(path: str) -> str:
    """The file's name up to its first dot (the name ``duckdb.connect`` gives it, for every name glc
    writes), or 'store' for an empty name and for names DuckDB already gives a catalog or schema."""
    name = Path(path).name.split(".", 1)[0]
    reserved = ("", "memory", "system", "temp", "main", "information_schema", "pg_catalog")
    return "store" if name.lower() in reserved else name


def connect(target: Target, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the target's database, creating its folder; errors say which file failed."""
    if not target.in_memory:
        Path(target.path).parent.mkdir(parents=True, exist_ok=True)
        if read_only and not Path(target.path).exists():
            raise GlcError(f"no results yet in {target.path}", hint="run `glc run` first")
    # SQL nodes come from specs and sql/ templates that strangers may write: DuckDB itself may
    # read no file but its database (no read_text/read_csv/glob, no COPY, no ATTACH) and load no
    # extension (no httpfs), and the SQL cannot switch that back on (the configuration is locked)
    try:
        return locked_down(target.path, read_only=read_only, threads=target.threads)
    except duckdb.Error as exc:
        raise GlcError(f"cannot open DuckDB database: {exc}", location=target.path, hint=open_hint(exc)) from None


def open_hint(exc: duckdb.Error) -> str:
    """What to do about a database that does not open: a lock held elsewhere, or a damaged file."""
    text = str(exc).lower()
    if "could not set lock" in text or "conflicting lock" in text:  # ("block" is in checksum errors)
        return "another glc process is using it; wait for it to finish (or stop it) and try again"
    if not any(word in text for word in ("not a valid duckdb", "read enough bytes", "corrupt", "checksum",
                                          "io error", "serializ")):
        return "run again with --debug for the traceback and report it if the input was valid"
    return ("the file is damaged (truncated, empty or not a DuckDB database). Move it aside (mv FILE FILE.broken) "
            "and run `glc run` again to rebuild it from the specs and data; imported scores and predictions "
            "stored only in it must be imported again")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: roll back every statement if anything inside raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def ensure_store(con: duckdb.DuckDBPyConnection, also: Sequence[Contract] = ()) -> None:
    """Create the store tables (and the tables of ``also``) that do not exist yet, in one commit (one
    catalog query when they all do). Outside a transaction, a call of several statements commits each
    one: a store on disk syncs its log to the disk at every commit, eight times for a new store's
    tables, which a busy disk makes a tenth of a second and more of a command."""
    missing = missing_tables(con, also)
    if missing:  # a new store: its tables in one call (one round trip, not one per table)
        with transaction(con):
            con.execute(";\n".join(missing))


# bookkeeping tables every store has: the run history and the content keys planning remembers
PLANNING = (STATE["glc_runs"], STATE["glc_plan_jobs"], STATE["glc_plan_keys"])


def missing_tables(con: duckdb.DuckDBPyConnection, also: Sequence[Contract] = ()) -> list[str]:
    """The DDL of the store tables (and of ``also``) that do not exist yet: for a caller that runs it in
    a transaction of its own (``ensure_store`` outside one)."""
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'main'").fetchall()}
    return [c.ddl() for c in (*STORE.values(), *PLANNING, *also) if c.name not in present]


# Up to this many values (rows x columns) an insert binds one list per column, as DuckDB converts
# parameters, instead of building an Arrow table: importing pyarrow (and numpy) is about a sixth of a
# second of CPU, which the seeds of a cold store (some 20,000 values), the build state and a one-model
# import would otherwise pay; past it, converting each value as a parameter costs more than that.
LIST_VALUES = 40_000


def arrow_rows(contract: Contract, rows: Sequence[Sequence[Any]]) -> pa.Table:
    import pyarrow as pa

    cols = contract.column_names
    data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    types = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "INTEGER": pa.int32(), "BIGINT": pa.int64(),
             "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_(), "VARCHAR[]": pa.list_(pa.string())}
    return pa.table({c: pa.array(data[c], type=types[t.type]) for c, t in zip(cols, contract.columns, strict=True)})


def insert_rows(con: duckdb.DuckDBPyConnection, contract: Contract, rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows as bound data, never as SQL text: one bound list per column (few rows) or Arrow."""
    if not rows:
        return
    if len(rows) * len(contract.columns) <= LIST_VALUES:
        insert_lists(con, contract.name, [(c.name, c.type) for c in contract.columns], rows)
    else:
        insert_arrow(con, contract.name, arrow_rows(contract, rows))


def insert_lists(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[tuple[str, str]],
                 rows: Sequence[Sequence[Any]], *, replace: bool = False) -> None:
    """``INSERT [OR REPLACE] INTO table`` rows given as one bound list per column, each cast to its
    column's type (``columns``: (name, type) of a contract; the types are its checked constants) and
    unnested side by side, in order: the values are parameters, never SQL text, and no pyarrow."""
    for _, type_ in columns:
        if not _LIST_TYPE.fullmatch(type_):
            raise ValueError(f"{table}: no list binding for type {type_!r}")
    names = ", ".join(quote_ident(c) for c, _ in columns)
    select = ", ".join(f"unnest(?::{t}[])" for _, t in columns)
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    lists = [[r[i] for r in rows] for i in range(len(columns))]
    for i, (_, type_) in enumerate(columns):
        if type_ == "TIMESTAMP":  # an aware time is stored as UTC, as Arrow stores it, not as the session's zone
            lists[i] = [v.astimezone(dt.UTC).replace(tzinfo=None)
                        if isinstance(v, dt.datetime) and v.tzinfo is not None else v for v in lists[i]]
    con.execute(f"{verb} INTO {quote_ident(table)} ({names}) SELECT {select}", lists)


_LIST_TYPE = re.compile(r"(VARCHAR|DOUBLE|INTEGER|BIGINT|TIMESTAMP|BOOLEAN)(\[\])?")  # fullmatch


def insert_values(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str],
                  rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows of strings into ``table`` in one statement (executemany is a round trip per row)."""
    insert_rows(con, Contract(table, "store", tuple(Column(c, "VARCHAR") for c in columns)), rows)


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table, *, replace: bool = False) -> None:
    """``INSERT [OR REPLACE] INTO table`` the columns of an Arrow table, by name: bound data, never SQL text."""
    con.register("__glc_arrow", data)
    try:
        cols = ", ".join(quote_ident(c) for c in data.column_names)
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        con.execute(f"{verb} INTO {quote_ident(table)} ({cols}) SELECT {cols} FROM __glc_arrow")
    finally:
        con.unregister("__glc_arrow")


def load_seed(con: duckdb.DuckDBPyConnection, seed: Seed) -> None:
    """Replace one seed table with the rows compiled from the specs."""
    contract = SEEDS[seed.name]
    con.execute(f"DROP TABLE IF EXISTS {quote_ident(seed.name)};\n{contract.ddl()}")
    insert_rows(con, contract, seed.rows)


def stored_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Models the store holds scores or predictions for (predictions through their partitions)."""
    return [r[0] for r in con.execute("SELECT model FROM imported_models UNION "
                                      "SELECT model FROM prediction_partitions WHERE n_rows > 0 ORDER BY model")
            .fetchall()]


def refresh_prediction_partitions(con: duckdb.DuckDBPyConnection,
                                  pairs: Sequence[tuple[str, str]] | None = None) -> None:
    """Recompute the ``prediction_partitions`` rows of ``pairs`` (all when None) from predictions.

    Writers of predictions call this inside their transaction, so builds learn what changed
    from a small table instead of scanning every prediction.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE __glc_pairs (model VARCHAR, task_id VARCHAR)")
    if pairs is None:
        con.execute("INSERT INTO __glc_pairs SELECT DISTINCT model, task_id FROM predictions "
                    "UNION SELECT model, task_id FROM prediction_partitions")
    elif pairs:
        insert_values(con, "__glc_pairs", ("model", "task_id"), sorted(set(pairs)))
    con.execute("DELETE FROM prediction_partitions AS x USING __glc_pairs AS s "
                "WHERE x.model = s.model AND x.task_id = s.task_id")
    # evaluator readings (judgments) are part of what a partition's scores depend on
    con.execute("INSERT INTO prediction_partitions "
                "SELECT p.model, p.task_id, count(*) FILTER (WHERE p.src = 'p'), sum(hash(p.batch_id))::VARCHAR "
                "FROM (SELECT model, task_id, batch_id, 'p' AS src FROM predictions "
                "      UNION ALL SELECT model, task_id, batch_id, 'j' FROM judgments) AS p "
                "SEMI JOIN __glc_pairs AS s ON s.model = p.model AND s.task_id = p.task_id "
                "GROUP BY p.model, p.task_id")
    con.execute("DROP TABLE __glc_pairs")


def models_without_spec(con: duckdb.DuckDBPyConnection, spec_names: list[str]) -> list[str]:
    """Models with predictions or evaluator readings made by runners but no spec in the project:
    their spec was deleted or renamed, and their results stay on the boards. (Imported results
    need no spec.)"""
    rows = con.execute("SELECT DISTINCT model FROM predictions WHERE backend IS DISTINCT FROM ? "
                       "UNION SELECT DISTINCT model FROM judgments ORDER BY model", [IMPORT_BACKEND]).fetchall()
    specs = set(spec_names)
    return [r[0] for r in rows if r[0] not in specs]
