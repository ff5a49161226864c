"""Per-run files under ``target/runs/<run id>/``: ``log.txt`` (what ``glc run`` printed, with
timestamped progress and stage lines), ``results.json`` (models, tasks, the spec fingerprint,
versions and timings, as users of other evaluation harnesses expect) and beside it the run's rows:
``scores.parquet`` (``task_scores``) and ``levels.parquet`` (``level_scores``). The rows go to
Parquet, not JSON: at 1,000 models they are 760,000 rows (220 MB of JSON that took longer to write
than the whole build; a few MB of Parquet, written in a fraction of a second). Up to
``DUCKDB_WRITES_ROWS`` rows DuckDB writes them (its Parquet writer, from a private in-memory database
the rows are copied into through the Arrow C stream interface): no pyarrow, whose import (with
numpy's) was a sixth of the CPU time of a one-model ``glc run``; the store's own connection stays
without file access. More rows go through pyarrow, cheaper per row.

The run id is also the build's id in the store (``glc diff run:ID``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import duckdb

from glc.compiler.contracts import quote_ident

NOTE_FORMAT = 1  # the note of the last run's result files (earlier_results)
RESULTS_VERSION = 2  # 2: scores and levels in Parquet files beside results.json
# results.json key -> (result table, its order, file beside results.json)
RESULT_TABLES = {"scores": ("task_scores", ("model", "task_id"), "scores.parquet"),
                 "levels": ("level_scores", ("variant", "scope", "model"), "levels.parquet")}


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique: ``20261130-120304.123456-3f2a9c``. The microseconds keep two runs of one
    second in order (a run with nothing to do takes a third of a second; sorted by a random suffix alone,
    ``target/runs`` listed the later one first half the time)."""
    return f"{now:%Y%m%d-%H%M%S.%f}-{uuid.uuid4().hex[:6]}"


class RunLog:
    """``target/runs/<id>/log.txt``, appended line by line (flushed: readable while the run goes on)."""

    def __init__(self, target_dir: Path, *, now: Callable[[], datetime] = datetime.now,
                 run_id: str | None = None) -> None:
        self.now = now
        self.started = now()
        self.run_id = run_id or new_run_id(self.started)
        self.dir = target_dir / "runs" / self.run_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "log.txt"
        self.results_path = self.dir / "results.json"
        self._fh: TextIO | None = self.log_path.open("a", encoding="utf-8", errors="backslashreplace")

    def line(self, text: str) -> None:
        """Write lines as they are (progress lines carry their own time)."""
        if self._fh is not None:
            self._fh.write(text.rstrip("\n") + "\n")
            self._fh.flush()

    def echo(self, text: str) -> None:
        """Write what the command printed, each line with the time."""
        stamp = f"[{self.now():%H:%M:%S}] "
        self.line("\n".join(stamp + x for x in (text.splitlines() or [""])))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write_tables(self, tables: dict[str, Collected | ArrowRows | SameRows]) -> dict[str, dict[str, Any]]:
        """Each table as a Parquet file beside ``results.json`` (written whole; the rows of an earlier
        run's file, ``SameRows``, copied); what results.json says of it: the file's name, its rows and
        columns."""
        out: dict[str, dict[str, Any]] = {}
        for key, table in tables.items():
            path = self.dir / RESULT_TABLES[key][2]
            tmp = path.with_suffix(".parquet.tmp")
            if isinstance(table, SameRows):
                shutil.copyfile(table.path, tmp)
            else:
                table.write_parquet(tmp)
            os.replace(tmp, path)
            out[key] = {"file": path.name, "rows": table.rows, "columns": list(table.columns)}
        return out

    def write_results(self, results: dict[str, Any]) -> Path:
        """``results.json``, written whole (a reader never sees half of it)."""
        tmp = self.results_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(results, indent=1, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.results_path)
        return self.results_path


def versions() -> dict[str, str]:
    from glc import __version__

    return {"glc": __version__, "duckdb": duckdb.__version__, "python": platform.python_version()}


@dataclass(frozen=True)
class SameRows:
    """A result table whose rows are those an earlier run wrote to ``path`` (``earlier_results``):
    the table was not built again since, so its file is copied, not collected and written again."""

    path: Path
    rows: int
    columns: tuple[str, ...]


def result_states(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each result table's build state: its state key and when the build last built it (a build that
    changes a table's rows, or a view's inputs, writes a new key or time: a full refresh writes every
    time again). Empty when the store has no build state."""
    names = [table for table, _, _ in RESULT_TABLES.values()]
    try:
        rows = con.execute("SELECT node, state_key, built_at FROM glc_node_state WHERE node IN (?, ?)",
                           names).fetchall()
    except duckdb.Error:
        return {}
    return {node: f"{key}@{built.isoformat()}" for node, key, built in rows if key is not None and built is not None}


@dataclass(frozen=True)
class Collected:
    """A result table's rows as stored after the build, in order, copied into ``table`` of a private
    in-memory DuckDB database (``con``): they outlive the store's connection, and DuckDB writes them
    to Parquet (``write_parquet``) without pyarrow."""

    con: duckdb.DuckDBPyConnection
    table: str
    rows: int
    columns: tuple[str, ...]

    def write_parquet(self, path: Path) -> None:
        """The rows, in order, as one Parquet file (snappy: every reader has it). They are written from
        their Arrow stream, as the stored table's were: a scan of the table itself would make the
        columns it finds no NULL in required (not null) in the file."""
        reader = self.con.cursor()
        try:
            self.con.from_arrow(_Stream(reader.table(self.table))).write_parquet(str(path), compression="snappy")
        finally:
            reader.close()


@dataclass(frozen=True)
class ArrowRows:
    """A result table's rows as an Arrow table (many rows: see ``DUCKDB_WRITES_ROWS``), written by pyarrow."""

    table: Any  # pyarrow.Table

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.table.column_names)

    def write_parquet(self, path: Path) -> None:
        import pyarrow.parquet as pq

        # snappy: cheaper to write than zstd, and every reader has it. No column statistics: the file is
        # read whole (glc diff, report, lineage), and computing them over the string columns of a
        # thousand models' scores took a third of the writing (0.45 s of 1.4 s at 5,000 models)
        pq.write_table(self.table, path, write_statistics=False)


class _Stream:
    """A relation of the store's connection as an Arrow C stream another connection can scan (DuckDB
    reads no relation of another database directly)."""

    def __init__(self, relation: duckdb.DuckDBPyRelation) -> None:
        self.relation = relation

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> Any:
        return self.relation.__arrow_c_stream__(requested_schema)


def _private_db() -> duckdb.DuckDBPyConnection:
    """An in-memory database for rows glc itself wrote (no extension is installed or loaded)."""
    return duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})


# Up to this many result rows (both tables together) DuckDB writes the result files (``Collected``):
# no pyarrow import, about a sixth of a second of CPU. Past it the rows go through pyarrow as before
# (``ArrowRows``): a relation read as an Arrow C stream by another DuckDB connection costs about twice
# the CPU of ``to_arrow_table`` per row (760,000 rows at 1,000 models: 1.6 s against 0.85 s).
DUCKDB_WRITES_ROWS = 50_000


def collect_results(con: duckdb.DuckDBPyConnection,
                    earlier: dict[str, SameRows] | None = None) -> dict[str, Collected | ArrowRows | SameRows]:
    """The run's scores (``task_scores``) and levels (``level_scores``) as stored after the build,
    ordered (``Collected`` or, for many rows, ``ArrowRows``; a result table that was not built is left
    out); ``earlier``: the files of tables whose rows an earlier run already wrote (``earlier_results``),
    kept as they are."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = 'main'").fetchall()}
    earlier = earlier or {}
    out: dict[str, Collected | ArrowRows | SameRows] = {}
    todo: list[tuple[str, str, tuple[str, ...]]] = []
    for key, (table, order, _) in RESULT_TABLES.items():
        if table in tables:
            if key in earlier:
                out[key] = earlier[key]
            else:
                todo.append((key, table, order))
    if not todo:
        return out
    counts = con.execute("SELECT " + ", ".join(f"(SELECT count(*) FROM {quote_ident(t)})" for _, t, _ in todo)
                         ).fetchall()[0]
    many = sum(counts) > DUCKDB_WRITES_ROWS
    held: duckdb.DuckDBPyConnection | None = None
    for (key, table, order), count in zip(todo, counts, strict=True):
        by = ", ".join(quote_ident(c) for c in order)
        rel = con.sql(f"SELECT * FROM {quote_ident(table)} ORDER BY {by}")
        if many:
            out[key] = ArrowRows(rel.to_arrow_table())
            continue
        held = held or _private_db()
        held.register("__glc_rows", _Stream(rel))
        try:
            held.execute(f"CREATE TABLE {quote_ident(key)} AS SELECT * FROM __glc_rows")
        finally:
            held.unregister("__glc_rows")
        out[key] = Collected(held, key, int(count), tuple(rel.columns))
    return {k: out[k] for k in RESULT_TABLES if k in out}


# --- the files of the last run, for the next one ---------------------------------------------------
# A note in the user's cache folder, one per store: for each result table, the build state it was
# written at (``result_states``) and the file, with its size and modification time. The next run whose
# tables have the same state copies that file instead of writing it again; any difference (another
# build state, the file touched, moved or gone, a damaged note) and the rows are collected as before.


def _note_path(store: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    name = hashlib.sha256(str(Path(store).resolve()).encode()).hexdigest()[:20]
    return base / "glc" / "results" / f"{name}.json"


def earlier_results(store: str, states: dict[str, str]) -> dict[str, SameRows]:
    """The result files an earlier run wrote from tables that still have the build state ``states``."""
    if not states:
        return {}
    try:
        note = json.loads(_note_path(store).read_bytes())
        if note.get("format") != NOTE_FORMAT or note.get("store") != str(Path(store).resolve()):
            return {}
        out: dict[str, SameRows] = {}
        for key, (table, _, _) in RESULT_TABLES.items():
            entry = note["tables"].get(key)
            if entry is None or entry["state"] != states.get(table):
                continue
            st = os.stat(entry["file"])
            if [st.st_size, st.st_mtime_ns] == entry["stat"]:
                out[key] = SameRows(Path(entry["file"]), int(entry["rows"]), tuple(entry["columns"]))
        return out
    except Exception:  # noqa: BLE001 - whatever is wrong with the note, the rows are collected again
        return {}


def note_results(store: str, states: dict[str, str], written: dict[str, dict[str, Any]], folder: Path) -> None:
    """Remember the result files just written into ``folder`` and the build state they were written at."""
    entries: dict[str, Any] = {}
    try:
        for key, info in written.items():
            table = RESULT_TABLES[key][0]
            if table not in states:
                continue
            path = (folder / info["file"]).resolve()
            st = os.stat(path)
            entries[key] = {"state": states[table], "file": str(path), "stat": [st.st_size, st.st_mtime_ns],
                            "rows": info["rows"], "columns": list(info["columns"])}
        note = _note_path(store)
        note.parent.mkdir(parents=True, exist_ok=True)
        tmp = note.with_name(f"{note.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"format": NOTE_FORMAT, "store": str(Path(store).resolve()), "tables": entries}))
        os.replace(tmp, note)
    except OSError:
        pass


def scored_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The models ``task_scores`` holds (those of ``collect_results``'s scores; asked of DuckDB: the
    Arrow way, ``unique()``, imports pyarrow's compute functions, a tenth of a second)."""
    table, _, _ = RESULT_TABLES["scores"]
    return [r[0] for r in con.execute(f"SELECT DISTINCT model FROM {quote_ident(table)} ORDER BY model").fetchall()]
