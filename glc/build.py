"""Build the compiled SQL DAG in DuckDB, recomputing only what changed.

Each node has a state key: the hash of its compiled SQL, the versions of the source tables
it reads (seed fingerprints, store batch ids) and the state keys of its upstream nodes. A
node whose key matches the stored one is skipped. Incremental nodes (per-metric instance
scores) are partitioned by (model, task_id): a partition is recomputed only when its
predictions (batch ids), its task's data (dataset fingerprint) or the node's SQL changed, so
importing one more model scores only that model's rows, and changing one metric re-scores
only the tasks that use it. Everything happens in one transaction.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import sqlglot
from sqlglot import exp

from compiler.errors import GlcError
from compiler.plan import CompiledProject
from compiler.seeds import Seed
from compiler.sqlmodel import CompiledNode
from compiler.udfs.registry import register
from glc.selection import Selection
from glc.store import DIALECT, ensure_store, load_seed, transaction

STATE_DDL = [
    "CREATE TABLE IF NOT EXISTS glc_node_state (node VARCHAR PRIMARY KEY, state_key VARCHAR, built_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS glc_partition_state (node VARCHAR, model VARCHAR, task_id VARCHAR, "
    "state_key VARCHAR)",
]
STALE = "__glc_stale"


@dataclass
class BuildResult:
    run_id: str
    node_seconds: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    partitions_built: dict[str, int] = field(default_factory=dict)
    seeds_loaded: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def built(self) -> list[str]:
        return list(self.node_seconds)


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def create_table_sql(node: CompiledNode, query: exp.Expression | None = None) -> str:
    """``CREATE OR REPLACE TABLE <node> AS <compiled query>``, built with sqlglot."""
    query = query or sqlglot.parse_one(node.sql, dialect=DIALECT)
    return exp.Create(this=exp.to_table(node.name), kind="TABLE", replace=True, expression=query).sql(DIALECT)


def ancestors(compiled: CompiledProject, names: Iterable[str]) -> list[CompiledNode]:
    """The nodes needed to build ``names``, in dependency order."""
    wanted: set[str] = set()
    stack = list(names)
    by_name = {n.name: n for n in compiled.nodes}
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        wanted.add(name)
        stack.extend(by_name[name].depends_on)
    return [n for n in compiled.nodes if n.name in wanted]


def _store_versions(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """A cheap version string per store table: its row count and the batches it holds."""
    queries = {
        "imported_scores": "SELECT count(*), list_sort(list(DISTINCT import_id)) FROM imported_scores",
        "imported_models": "SELECT count(*), list_sort(list(DISTINCT import_id)) FROM imported_models",
        "instances": "SELECT count(*), list_sort(list(DISTINCT dataset_fp)) FROM instances",
        "predictions": "SELECT count(*), list_sort(list(DISTINCT batch_id)) FROM predictions",
    }
    return {t: str(con.execute(q).fetchone()) for t, q in queries.items()}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def _restrict_predictions(node: CompiledNode) -> exp.Expression:
    """The node's query reading only the predictions of stale (model, task_id) partitions."""
    tree = sqlglot.parse_one(node.sql, dialect=DIALECT)
    subset = sqlglot.parse_one(
        f"SELECT p.* FROM predictions AS p JOIN {STALE} AS s ON s.model = p.model AND s.task_id = p.task_id",
        dialect=DIALECT)

    def swap(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Table) and n.name == "predictions":
            return exp.Subquery(this=subset.copy(), alias=exp.TableAlias(this=exp.to_identifier(n.alias_or_name)))
        return n
    return tree.transform(swap)


def _build_incremental(con: duckdb.DuckDBPyConnection, node: CompiledNode, exists: bool,
                       selection: Selection | None) -> tuple[str, int]:
    """Recompute the stale partitions of an incremental node; return (state key, partitions built)."""
    current = con.execute(
        "SELECT p.model, p.task_id, sha256(? || list_sort(list(DISTINCT p.batch_id))::VARCHAR "
        "|| coalesce(any_value(i.fp), '')) AS state_key "
        "FROM predictions AS p JOIN tasks AS t ON t.task_id = p.task_id "
        "LEFT JOIN (SELECT task_id, any_value(dataset_fp) AS fp FROM instances "
        "GROUP BY task_id) AS i ON i.task_id = p.task_id "
        "WHERE ? IS NULL OR t.metric = ? GROUP BY p.model, p.task_id",
        [node.fingerprint, node.partition_metric, node.partition_metric]).fetchall()
    stored = set(con.execute("SELECT model, task_id, state_key FROM glc_partition_state WHERE node = ?",
                             [node.name]).fetchall()) if exists else set()
    if selection is not None and not selection.empty and exists:
        # outside the selection, keep what is stored: pretend it is current
        outside = {(m, t, k) for m, t, k in stored if not selection.allows(m, t)}
        current = [row for row in current if selection.allows(row[0], row[1])] + sorted(outside)
    now = set(current)
    stale = now - stored
    gone = {(m, t) for m, t, _ in stored} - {(m, t) for m, t, _ in now}
    todo = {(m, t) for m, t, _ in stale} | gone
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STALE} (model VARCHAR, task_id VARCHAR)")
    if todo:
        con.executemany(f"INSERT INTO {STALE} VALUES (?, ?)", sorted(todo))
    if not exists:
        con.execute(create_table_sql(node, _restrict_predictions(node)))
    elif todo:
        target = exp.to_table(node.name)
        con.execute(f'DELETE FROM {target.sql(DIALECT)} AS x USING {STALE} AS s '
                    "WHERE x.model = s.model AND x.task_id = s.task_id")
        insert = exp.insert(_restrict_predictions(node), target)
        con.execute(insert.sql(DIALECT))
    con.execute("DELETE FROM glc_partition_state AS x USING __glc_stale AS s "
                "WHERE x.node = ? AND x.model = s.model AND x.task_id = s.task_id", [node.name])
    rows = [(node.name, m, t, k) for m, t, k in sorted(stale)]
    if rows:
        con.executemany("INSERT INTO glc_partition_state VALUES (?, ?, ?, ?)", rows)
    con.execute(f"DROP TABLE {STALE}")
    return _sha(node.fingerprint, *sorted(k for _, _, k in now)), len(todo)


def build(con: duckdb.DuckDBPyConnection, compiled: CompiledProject,
          nodes: list[CompiledNode] | None = None, seeds: dict[str, Seed] | None = None,
          *, full_refresh: bool = False, selection: Selection | None = None) -> BuildResult:
    """Load changed seeds and build the stale ``nodes`` (default: all) in one transaction."""
    result = BuildResult(run_id=uuid.uuid4().hex[:12])
    started = datetime.now(UTC).replace(tzinfo=None)
    t0 = time.perf_counter()
    todo = list(compiled.nodes) if nodes is None else nodes
    seeds = compiled.seeds if seeds is None else seeds
    ensure_store(con)
    for ddl in STATE_DDL:
        con.execute(ddl)
    if any(n.udfs for n in todo):
        register(con)
    with transaction(con):
        if full_refresh:
            con.execute("DELETE FROM glc_node_state")
            con.execute("DELETE FROM glc_partition_state")
        state = dict(con.execute("SELECT node, state_key FROM glc_node_state").fetchall())
        tables = _tables(con)
        keys: dict[str, str] = {}
        for name, seed in seeds.items():
            keys[name] = seed.fingerprint()
            if state.get(f"seed:{name}") != keys[name] or name not in tables:
                load_seed(con, seed)
                result.seeds_loaded.append(name)
                _record(con, f"seed:{name}", keys[name])
        keys.update(_store_versions(con))
        for node in todo:
            t = time.perf_counter()
            upstream = [f"{d}={keys[d]}" for d in (*node.sources, *node.depends_on)]
            try:
                if node.materialized == "incremental":
                    exists = node.name in tables and state.get(node.name) is not None and \
                        state.get(f"sql:{node.name}") == node.fingerprint
                    if not exists:
                        con.execute("DELETE FROM glc_partition_state WHERE node = ?", [node.name])
                    keys[node.name], n_parts = _build_incremental(con, node, exists, selection)
                    if n_parts == 0 and exists:
                        result.skipped.append(node.name)
                        continue
                    result.partitions_built[node.name] = n_parts
                    _record(con, f"sql:{node.name}", node.fingerprint)
                else:
                    keys[node.name] = _sha(node.fingerprint, *upstream)
                    if state.get(node.name) == keys[node.name] and node.name in tables:
                        result.skipped.append(node.name)
                        continue
                    con.execute(create_table_sql(node))
            except duckdb.Error as exc:
                raise GlcError(f"building model '{node.name}' failed: {exc}", location=node.template,
                               hint=f"see target/compiled/{node.name}.sql") from None
            _record(con, node.name, keys[node.name])
            result.node_seconds[node.name] = time.perf_counter() - t
        con.execute("INSERT INTO glc_runs VALUES (?, ?, ?, ?, ?, ?)",
                    [result.run_id, started, datetime.now(UTC).replace(tzinfo=None),
                     compiled.manifest["fingerprint"], len(result.node_seconds), "success"])
    result.seconds = time.perf_counter() - t0
    return result


def _record(con: duckdb.DuckDBPyConnection, node: str, key: str) -> None:
    con.execute("INSERT OR REPLACE INTO glc_node_state VALUES (?, ?, ?)",
                [node, key, datetime.now(UTC).replace(tzinfo=None)])
