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
import pyarrow as pa
from sqlglot import exp

from compiler.errors import GlcError
from compiler.plan import CompiledProject
from compiler.seeds import Seed
from compiler.sqlmodel import CompiledNode
from compiler.udfs.registry import register
from glc.selection import Selection
from glc.store import DIALECT, ensure_store, insert_values, load_seed, refresh_prediction_partitions, transaction

STATE_DDL = [
    "CREATE TABLE IF NOT EXISTS glc_run_levels (run_id VARCHAR, model VARCHAR, variant VARCHAR, scope VARCHAR, "
    "level_2 DOUBLE, level_3 DOUBLE, level_4 DOUBLE, level_5 DOUBLE, level INTEGER)",
    "CREATE TABLE IF NOT EXISTS glc_run_tasks (run_id VARCHAR, model VARCHAR, task_id VARCHAR, sigma DOUBLE, "
    "vs_sota INTEGER)",
    "CREATE TABLE IF NOT EXISTS glc_node_state (node VARCHAR PRIMARY KEY, state_key VARCHAR, built_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS glc_partition_state (node VARCHAR, model VARCHAR, task_id VARCHAR, "
    "state_key VARCHAR)",
]
STALE = "__glc_stale"
PARTS = "__glc_partitions"
# what a (model, task) partition of an incremental node is computed from: the batches that wrote
# its predictions (row count and an order-free checksum of their ids) and the task data's fingerprint
PARTITIONS_SQL = f"""
CREATE OR REPLACE TEMP TABLE {PARTS} AS
SELECT p.model, p.task_id, t.metric,
       p.n_rows::VARCHAR || ':' || p.batches || ':' || coalesce(i.fp, '') AS inputs
FROM prediction_partitions AS p
JOIN tasks AS t ON t.task_id = p.task_id
LEFT JOIN (SELECT task_id, any_value(dataset_fp) AS fp FROM instances GROUP BY task_id) AS i
  ON i.task_id = p.task_id
"""


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


def create_table_sql(node: CompiledNode) -> str:
    """``CREATE OR REPLACE TABLE <node> AS <compiled query>``: the name quoted by sqlglot, the
    query the compiler's canonical text (parsed and checked at compile time, not again here)."""
    return f"CREATE OR REPLACE TABLE {exp.to_table(node.name).sql(DIALECT)} AS\n{node.sql}"


def insert_sql(node: CompiledNode) -> str:
    return f"INSERT INTO {exp.to_table(node.name).sql(DIALECT)}\n{node.sql}"


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
        "predictions": "SELECT count(*), sum(n_rows), sum(hash(batches)) FROM prediction_partitions",
    }
    queries["judgments"] = queries["predictions"]  # writers of judgments refresh prediction_partitions too
    return {t: str(con.execute(q).fetchone()) for t, q in queries.items()}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


class _StaleSources:
    """While active, the node's partition sources read only the stale partitions.

    Each source table is shadowed by a temporary view of the same name over the stored table
    (fully qualified, so the view does not read itself), keeping the rows whose partition keys
    are stale: an EXISTS against the stale table, which DuckDB runs as a semi join whose key
    range and Bloom filter it pushes into the scan, so row groups of other models are skipped
    (no literal IN lists to render: they cost more to generate than they saved). The compiled
    SQL runs as it is; the views are dropped on the way out, whatever happens.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, node: CompiledNode, schema: dict[str, dict[str, str]]) -> None:
        self.con, self.node, self.schema = con, node, schema
        self.views: list[str] = []

    def __enter__(self) -> _StaleSources:
        db = self.con.execute("SELECT current_database()").fetchone()[0]
        try:
            for name in self.node.partition_sources:
                keys = [c for c in self.node.partition_by if c in self.schema.get(name, {})]
                exact = exp.Exists(this=exp.select("1").from_(exp.alias_(exp.to_table(STALE), "s", table=True)).where(
                    exp.and_(*[exp.column(c, "s").eq(exp.column(c, "x")) for c in keys])))
                source = exp.Table(this=exp.to_identifier(name), db=exp.to_identifier("main"),
                                   catalog=exp.to_identifier(db))
                query = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("x"))).from_(
                    exp.alias_(source, "x", table=True)).where(exact, copy=False)
                view = exp.Create(this=exp.to_table(name), kind="VIEW", replace=True, expression=query,
                                  properties=exp.Properties(expressions=[exp.TemporaryProperty()]))
                self.con.execute(view.sql(DIALECT))
                self.views.append(name)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.views:
            view = exp.Table(this=exp.to_identifier(name), db=exp.to_identifier("main"),
                             catalog=exp.to_identifier("temp"))
            self.con.execute(exp.Drop(tables=[view], kind="VIEW", exists=True).sql(DIALECT))
        self.views = []


def _build_incremental(con: duckdb.DuckDBPyConnection, node: CompiledNode, exists: bool,
                       selection: Selection | None, schema: dict[str, dict[str, str]]) -> tuple[str, int]:
    """Recompute the stale partitions of an incremental node; return (state key, partitions built)."""
    current = con.execute(
        f"SELECT model, task_id, sha256(? || inputs) FROM {PARTS} WHERE ? IS NULL OR metric = ?",
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
    key = _sha(node.fingerprint, *sorted(k for _, _, k in now))
    if exists and not todo:
        return key, 0
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STALE} (model VARCHAR, task_id VARCHAR)")
    if todo:
        insert_values(con, STALE, ("model", "task_id"), sorted(todo))
    if not exists and (selection is None or selection.empty):
        con.execute(create_table_sql(node))  # a first build scores every partition: no filter needed
    elif not exists:
        with _StaleSources(con, node, schema):
            con.execute(create_table_sql(node))
    elif todo:
        target = exp.to_table(node.name)
        if todo & {(m, t) for m, t, _ in stored}:  # a partition never built has no rows to delete
            con.execute(f'DELETE FROM {target.sql(DIALECT)} AS x USING {STALE} AS s '
                        "WHERE x.model = s.model AND x.task_id = s.task_id")
        with _StaleSources(con, node, schema):
            con.execute(insert_sql(node))
    con.execute("DELETE FROM glc_partition_state AS x USING __glc_stale AS s "
                "WHERE x.node = ? AND x.model = s.model AND x.task_id = s.task_id", [node.name])
    rows = [(node.name, m, t, k) for m, t, k in sorted(stale)]
    if rows:
        insert_values(con, "glc_partition_state", ("node", "model", "task_id", "state_key"), rows)
    con.execute(f"DROP TABLE {STALE}")
    return key, len(todo)


def build(con: duckdb.DuckDBPyConnection, compiled: CompiledProject,
          nodes: list[CompiledNode] | None = None, seeds: dict[str, Seed] | None = None,
          *, full_refresh: bool = False, selection: Selection | None = None,
          snapshot: bool = True) -> BuildResult:
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
    schema = compiled.schema()
    with transaction(con):
        if full_refresh:
            con.execute("DELETE FROM glc_node_state")
            con.execute("DELETE FROM glc_partition_state")
            refresh_prediction_partitions(con)
        state = dict(con.execute("SELECT node, state_key FROM glc_node_state").fetchall())
        tables = _tables(con)
        keys: dict[str, str] = {}
        built: dict[str, tuple[str, datetime]] = {}  # state rows to write, all at once at the end
        for name, seed in seeds.items():
            keys[name] = seed.fingerprint()
            if state.get(f"seed:{name}") != keys[name] or name not in tables:
                load_seed(con, seed)
                result.seeds_loaded.append(name)
                built[f"seed:{name}"] = (keys[name], _now())
        keys.update(_store_versions(con))
        if any(n.materialized == "incremental" for n in todo):
            con.execute(PARTITIONS_SQL)
        for node in todo:
            t = time.perf_counter()
            # an input built outside this call (a bootstrap replicate's tables) has no key here
            upstream = [f"{d}={keys.get(d, 'external')}" for d in (*node.sources, *node.depends_on)]
            try:
                if node.materialized == "incremental":
                    exists = node.name in tables and state.get(node.name) is not None and \
                        state.get(f"sql:{node.name}") == node.fingerprint
                    if not exists:
                        con.execute("DELETE FROM glc_partition_state WHERE node = ?", [node.name])
                    keys[node.name], n_parts = _build_incremental(con, node, exists, selection, schema)
                    if n_parts == 0 and exists:
                        result.skipped.append(node.name)
                        continue
                    result.partitions_built[node.name] = n_parts
                    built[f"sql:{node.name}"] = (node.fingerprint, _now())
                else:
                    keys[node.name] = _sha(node.fingerprint, *upstream)
                    if state.get(node.name) == keys[node.name] and node.name in tables:
                        result.skipped.append(node.name)
                        continue
                    con.execute(create_table_sql(node))
            except duckdb.Error as exc:
                raise GlcError(f"building model '{node.name}' failed: {exc}", location=node.template,
                               hint=f"see target/compiled/{node.name}.sql") from None
            built[node.name] = (keys[node.name], _now())
            result.node_seconds[node.name] = time.perf_counter() - t
        _record(con, built)
        if "level_scores" in result.node_seconds and snapshot:
            con.execute("DROP TABLE IF EXISTS level_intervals")  # intervals of older results would mislead
        if snapshot and "level_scores" in result.node_seconds:  # results changed: keep a snapshot for diff
            con.execute("INSERT INTO glc_run_levels SELECT ?, model, variant, scope, level_2, level_3, level_4, "
                        "level_5, level FROM level_scores", [result.run_id])
            con.execute("INSERT INTO glc_run_tasks SELECT ?, model, task_id, sigma, vs_sota FROM task_results",
                        [result.run_id])
        con.execute("INSERT INTO glc_runs VALUES (?, ?, ?, ?, ?, ?)",
                    [result.run_id, started, datetime.now(UTC).replace(tzinfo=None),
                     compiled.manifest["fingerprint"], len(result.node_seconds), "success"])
    result.seconds = time.perf_counter() - t0
    return result


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _record(con: duckdb.DuckDBPyConnection, built: dict[str, tuple[str, datetime]]) -> None:
    """Store the state keys of what this build loaded or built, as one Arrow batch."""
    if not built:
        return
    data = pa.table({"node": pa.array(list(built), pa.string()),
                     "state_key": pa.array([k for k, _ in built.values()], pa.string()),
                     "built_at": pa.array([t for _, t in built.values()], pa.timestamp("us"))})
    con.register("__glc_state", data)
    try:
        con.execute("INSERT OR REPLACE INTO glc_node_state SELECT node, state_key, built_at FROM __glc_state")
    finally:
        con.unregister("__glc_state")
