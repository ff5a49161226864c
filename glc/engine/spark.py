"""Build the compiled DAG on Spark: ``profiles.yml`` targets of ``type: spark``.

Where things live:

* The store stays in the target's DuckDB file (``path``): imported scores, task data,
  predictions, judgments and the bookkeeping tables; importers and runners write there as for
  any target.
* Before a build, each seed and store table that the nodes read is written as Parquet under
  ``<warehouse>/sources/<table>/<run>/`` when its version changed since its last copy (the version
  strings and seed fingerprints of the DuckDB build), as bound Arrow data.
* Each node runs as its Spark translation (``compiler/dialects.py``, what ``glc show NODE
  --dialect spark`` prints) and is materialized as Parquet under ``<warehouse>/models/<node>/<run>/``;
  the nodes after it read that table, never a chain of views. Views of the DuckDB build are
  tables here too. Each node runs in a Spark session of its own, so independent nodes (the
  per-metric and per-variant ones) run ``concurrency`` (profile, default 2) at a time.
* Incremental nodes are planned like the DuckDB build's (same partition keys, ``glc.engine.build``):
  the stale (model, task) partitions are computed from their partition sources cut to those
  partitions, the stored rows of the other partitions are kept, and the result is written as
  the node's next version. A node with no partition at all (a metric no model has predictions
  for) is written empty in the schema of its analyzed query, without a Spark job.
* The rebuilt nodes are then copied into the DuckDB file as tables under their names, so
  leaderboards, explain, reports, diff, bootstrap and data tests read them as after a DuckDB
  build (and the DuckDB build's own state for them is dropped: it would not describe these rows,
  so a DuckDB build on the same file rebuilds them whole).
* State: ``glc_spark_tables`` (per node and source copy: state key and folder) and
  ``glc_spark_partitions`` (per partition of an incremental node) in the DuckDB file, apart from
  the DuckDB build's, so both engines can build from one store. One DuckDB transaction holds a
  build: if it fails, the previous versions stay current and this run's folders are removed;
  after it commits, superseded folders are removed.

Python UDFs (``glc_*``) run as Arrow UDFs in Spark's Python workers (this interpreter).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import sys
import time
import uuid
import warnings
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from glc.compiler.contracts import SEEDS, STATE, STORE, Contract
from glc.compiler.dialects import Translated, translate_nodes
from glc.compiler.errors import GlcError
from glc.compiler.materialization import Incremental, Materialization, Table, View
from glc.compiler.nodes import CompiledNode
from glc.compiler.plan import CompiledProject
from glc.compiler.udfs.registry import UDFS, arrow_call, arrow_type
from glc.engine.build import (
    PARTITIONS_SQL,
    STATE_DDL,
    BuildResult,
    _definitions,
    _make_room,
    _now,
    _partition_prefixes,
    _plan_partitions,
    _relations,
    _sha,
    _store_partition_state,
    _store_versions,
    strategy_class,
)
from glc.engine.hooks import BuildHook, HookContext, default_hooks
from glc.engine.selection import Selection
from glc.engine.store import DIALECT, ensure_store, insert_arrow, load_seed, refresh_prediction_partitions, transaction
from glc.profiles import SparkSettings

MIN_PYSPARK = (4, 1)  # arrow_udf (Arrow UDFs without pandas), try_element_at, DataFrame.toArrow
INSTALL_HINT = ("install the spark extra: pip install 'glc[spark]' (pyspark>=4.1), and a Java 17+ runtime "
                "(Debian: apt-get install openjdk-17-jre-headless); scripts/setup.sh installs both")
RUN_ID = re.compile(r"[0-9]{8}T[0-9]{6}-[0-9a-f]{8}")  # a build's folder name: UTC time and a random part
TABLES = "glc_spark_tables"
PARTITIONS = "glc_spark_partitions"
SPARK_DDL = [STATE[TABLES].ddl(), STATE[PARTITIONS].ddl()]  # from their contracts (compiler/contracts.py)
# what glc sets unless the profile's conf says otherwise
DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.ansi.enabled": "true",  # errors instead of silent NULLs (casts, overflow, indexes)
    # Spark replaces ${name} anywhere in a statement, string literals too ('${x}' -> ''); in glc's SQL
    # it is text (a replacement, a pattern)
    "spark.sql.variable.substitute": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "2",
    "spark.driver.memory": "1g",
    "spark.sql.adaptive.enabled": "true",
}
_ARROW_TYPES = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "INTEGER": pa.int32(), "BIGINT": pa.int64(),
                "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_(), "VARCHAR[]": pa.list_(pa.string()),
                "DOUBLE[]": pa.list_(pa.float64())}


@dataclass
class SparkBuildResult(BuildResult):
    """A build's figures, with Spark's split: translation to Spark SQL (sqlglot), the session's
    start, copying store tables in, per node Spark's parsing and analysis (``plan_seconds``) and
    the write (``execute_seconds``: optimization, physical planning, execution), and copying
    results back."""

    translate_seconds: float = 0.0
    session_seconds: float = 0.0
    copy_in_seconds: float = 0.0
    plan_seconds: dict[str, float] = field(default_factory=dict)
    execute_seconds: dict[str, float] = field(default_factory=dict)
    copy_back_seconds: float = 0.0
    sources_copied: list[str] = field(default_factory=list)


def require_spark() -> None:
    """GlcError saying what to install when pyspark (new enough) or Java is missing."""
    try:
        import pyspark
    except ImportError:
        raise GlcError("a target of type: spark needs pyspark, which is not installed", hint=INSTALL_HINT) from None
    version = tuple(int(p) for p in pyspark.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_PYSPARK:
        raise GlcError(f"pyspark {pyspark.__version__} is too old for the spark target", hint=INSTALL_HINT)
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and shutil.which("java") is None:
        raise GlcError("a target of type: spark needs a Java runtime (no java on PATH, no JAVA_HOME)",
                       hint=INSTALL_HINT)


_ROOT: dict[str, Any] = {}  # the process's SparkSession and the settings it was started with


def session(settings: SparkSettings) -> Any:
    """A new Spark session (its own temporary views, SQL settings and UDFs) on this process's
    Spark context, started on first use; a context started with other settings is stopped first."""
    require_spark()
    from pyspark.sql import SparkSession

    conf = {**DEFAULT_CONF, **dict(settings.conf)}
    wanted = (settings.master, tuple(sorted(conf.items())))
    root = _ROOT.get("session")
    if root is not None and (_ROOT.get("settings") != wanted or root.sparkContext._jsc is None):
        root.stop()
        root = None
    if root is None:
        # Python workers run this interpreter, so they import the same glc and pyarrow
        os.environ["PYSPARK_PYTHON"] = sys.executable
        os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
        builder = SparkSession.builder.master(settings.master).appName("glc")
        for key, value in conf.items():
            builder = builder.config(key, value)
        try:
            root = builder.getOrCreate()
        except Exception as exc:  # the JVM did not start: Java missing or broken, bad master or conf
            raise GlcError(f"Spark did not start: {str(exc).splitlines()[0][:300]}", hint=INSTALL_HINT) from None
        root.sparkContext.setLogLevel("ERROR")
        from pyspark.logger import PySparkLogger

        # pyspark logs every failed query with its JVM stack trace; glc reports it as a GlcError
        for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
            PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
        _ROOT.update(session=root, settings=wanted)
    return root.newSession()


def stop() -> None:
    """Stop this process's Spark context (tests and benchmarks end with it)."""
    root = _ROOT.pop("session", None)
    _ROOT.pop("settings", None)
    if root is not None:
        root.stop()


# --- UDFs ------------------------------------------------------------------------------------


def register_udfs(spark: Any, names: set[str]) -> None:
    """Register the ``glc_*`` UDFs the nodes call, as Arrow UDFs (a batch of rows per call)."""
    from pyspark.sql.functions import arrow_udf
    from pyspark.sql.pandas.functions import ArrowUDFType
    from pyspark.sql.pandas.types import from_arrow_type

    for name in sorted(names):
        udf = UDFS[name]
        with warnings.catch_warnings():  # "prefer type hints": the arity differs per UDF, the type is given
            warnings.simplefilter("ignore", UserWarning)
            # the same Arrow results as DuckDB's UDF (a STRUCT's fields by name), in Spark's type of them
            wrapped = arrow_udf(arrow_call(udf.fn, udf.returns), from_arrow_type(arrow_type(udf.returns)),
                                ArrowUDFType.SCALAR)
        spark.udf.register(name, wrapped)


# --- the build -------------------------------------------------------------------------------


def _arrow_schema(contract: Contract) -> pa.Schema:
    return pa.schema([(c.name, _ARROW_TYPES[c.type]) for c in contract.columns])


def _arrow(con: duckdb.DuckDBPyConnection, query: exp.Query) -> pa.Table:
    """The rows of a query as Arrow (a result left unread by execute() is run to its end first)."""
    con.complete()
    return con.sql(query.sql(DIALECT)).to_arrow_table()


@dataclass
class _Step:
    """A node to build: ``whole`` (its query over everything), ``empty`` (no partition at all),
    ``partitions`` (the stale partitions recomputed, the stored rows of the others kept) or
    ``selected`` (a new node built for the selected partitions only); ``stale``: (model, task_id)."""

    node: CompiledNode
    mode: str
    stale: pa.Table | None = None


@dataclass
class _Plan:
    """What the strategies decide from: the store, the stored state and the keys computed so far."""

    con: duckdb.DuckDBPyConnection
    result: SparkBuildResult
    state: dict[str, tuple[str, str]]  # name -> (state key, folder) of the stored Spark tables
    keys: dict[str, str]
    selection: Selection | None

    @property
    def whole(self) -> bool:
        return self.selection is None or self.selection.empty


class SparkStrategy:
    """How the Spark build handles one kind of materialization: ``prepare`` once with the nodes
    of the kind, ``step`` per node (None: up to date, skipped; it sets the node's key),
    ``finish`` after the steps ran."""

    def prepare(self, plan: _Plan, nodes: list[CompiledNode], every: list[CompiledNode],
                todo: list[CompiledNode]) -> None:
        """Nothing to prepare unless overridden."""

    def step(self, plan: _Plan, node: CompiledNode) -> _Step | None:
        raise NotImplementedError

    def finish(self, plan: _Plan) -> None:
        """Nothing to finish unless overridden."""


class SparkTableStrategy(SparkStrategy):
    """Written whole when its key changed. Views of the DuckDB build are tables here too (the
    nodes after them read a table, never a chain of views)."""

    def step(self, plan: _Plan, node: CompiledNode) -> _Step | None:
        upstream = [f"{d}={plan.keys.get(d, 'external')}" for d in (*node.sources, *node.depends_on)]
        plan.keys[node.name] = _sha(node.fingerprint, *upstream)
        if plan.state.get(node.name, ("", ""))[0] == plan.keys[node.name]:
            return None
        return _Step(node, "whole")


class SparkViewStrategy(SparkTableStrategy):
    """A view is materialized as a table on Spark."""


class SparkIncrementalStrategy(SparkStrategy):
    """Partitions planned as the DuckDB build plans them (``glc.engine.build._plan_partitions``), with
    this engine's partition state table; the stale ones recomputed, the others kept."""

    def __init__(self) -> None:
        self.fresh: dict[str, bool] = {}
        self.part_keys: dict[str, str] = {}
        self.stale: dict[str, tuple[int, bool]] = {}

    def prepare(self, plan: _Plan, nodes: list[CompiledNode], every: list[CompiledNode],
                todo: list[CompiledNode]) -> None:
        self.fresh = {n.name: n.name not in plan.state or not _fingerprint_matches(plan.state[n.name][0], n)
                      for n in nodes}
        if not nodes:
            return
        plan.con.execute(PARTITIONS_SQL)
        by_name = {n.name: n for n in (*every, *todo)}
        definitions = _definitions(by_name.values())
        rows = [(n.name, metric, prefix, self.fresh[n.name]) for n in nodes
                for metric, prefix in _partition_prefixes(n, by_name, definitions)]
        self.part_keys, self.stale = _plan_partitions(plan.con, rows, plan.selection, PARTITIONS)

    def step(self, plan: _Plan, node: CompiledNode) -> _Step | None:
        plan.keys[node.name] = _incremental_key(node, self.part_keys.get(node.name) or "")
        n_stale = self.stale.get(node.name, (0, False))
        fresh = self.fresh[node.name]
        if n_stale[0] == 0 and not fresh:
            return None
        plan.result.partitions_built[node.name] = n_stale[0]
        if node.name not in self.part_keys:  # no partition at all (e.g. a metric nothing predicted)
            return _Step(node, "empty")
        if fresh and plan.whole:
            return _Step(node, "whole")
        pairs = _arrow(plan.con, exp.select("model", "task_id").from_("__glc_todo")
                       .where(exp.column("node").eq(exp.Literal.string(node.name))))
        return _Step(node, "selected" if fresh else "partitions", pairs)

    def finish(self, plan: _Plan) -> None:
        if self.fresh:
            _store_partition_state(plan.con, [name for name, is_fresh in self.fresh.items() if is_fresh], PARTITIONS)


# one strategy per materialization type (compiler/materialization.py)
STRATEGIES: dict[type[Materialization], type[SparkStrategy]] = {
    Table: SparkTableStrategy,
    View: SparkViewStrategy,
    Incremental: SparkIncrementalStrategy,
}


class _Build:
    def __init__(self, con: duckdb.DuckDBPyConnection, compiled: CompiledProject, settings: SparkSettings,
                 result: SparkBuildResult) -> None:
        self.con, self.compiled, self.settings, self.result = con, compiled, settings, result
        self.warehouse = Path(settings.warehouse)
        self.run_id = result.run_id
        self.locations: dict[str, str] = {}  # name -> current folder (after this build)
        self.schemas: dict[str, str] = {}  # name -> its Spark schema as JSON (read without inferring it)
        self.written: list[Path] = []  # folders this run wrote (removed if it fails)
        self.spark: Any = None
        self.schema = compiled.schema()

    def folder(self, kind: str, name: str) -> Path:
        path = self.warehouse / kind / name / self.run_id
        self.written.append(path)
        return path

    def view(self, spark: Any, name: str) -> Any:
        """The current version of table ``name`` in session ``spark``, as a temporary view of that name."""
        from pyspark.sql.types import StructType

        location = self.locations.get(name)
        if location is None:
            raise GlcError(f"spark build: no table '{name}' in the warehouse", location=str(self.warehouse),
                           hint="run with --full-refresh to rebuild it")
        frame = spark.read.schema(StructType.fromJson(json.loads(self.schemas[name]))).parquet(location)
        frame.createOrReplaceTempView(name)
        return frame

    def copy_in(self, name: str, data: pa.Table) -> None:
        from pyspark.sql.pandas.types import from_arrow_schema

        path = self.folder("sources", name)
        path.mkdir(parents=True, exist_ok=True)
        pq.write_table(data, path / "part-0.parquet")
        self.locations[name] = str(path)
        self.schemas[name] = from_arrow_schema(data.schema).json()
        self.result.sources_copied.append(name)

    def run(self, step: _Step) -> tuple[str, str, float, float, float]:
        """``materialize`` timed: its results and its wall seconds (not counting a wait for a free thread)."""
        t = time.perf_counter()
        location, schema, parse_s, write_s = self.materialize(step)
        return location, schema, parse_s, write_s, time.perf_counter() - t

    def materialize(self, step: _Step) -> tuple[str, str, float, float]:
        """Build one node in a session of its own (its own temporary views), so that independent
        nodes run at the same time. Returns its folder, its schema, and the seconds of Spark's
        parsing and analysis of the query and of the write (optimization, physical planning,
        execution); an ``empty`` node is written from its analyzed schema without a Spark job."""
        from pyspark.sql.pandas.types import to_arrow_schema

        node = step.node
        spark = self.spark.newSession()
        if node.udfs:
            register_udfs(spark, set(node.udfs))
        frames = {name: self.view(spark, name) for name in (*node.sources, *node.depends_on)}
        t = time.perf_counter()
        path = self.folder("models", node.name)
        if step.mode == "empty":
            schema = spark.sql(node.sql).schema
            t1 = time.perf_counter()
            path.mkdir(parents=True, exist_ok=True)
            pq.write_table(to_arrow_schema(schema).empty_table(), path / "part-0.parquet")
            return str(path), schema.json(), t1 - t, time.perf_counter() - t1
        stale = None
        inc = node.incremental
        if step.stale is not None:  # the partition sources hold only the stale partitions' rows
            assert inc is not None  # only incremental nodes have stale partitions
            stale = spark.createDataFrame(step.stale)
            for name in inc.sources:
                keys = [c for c in inc.partition_by if c in self.schema.get(name, {})]
                cut = frames[name].join(stale.select(*keys).distinct(), keys, "left_semi") if keys else frames[name]
                cut.createOrReplaceTempView(name)
        frame = spark.sql(node.sql)
        if step.mode == "partitions":
            assert inc is not None
            kept = self.view(spark, node.name).join(stale, list(inc.partition_by), "left_anti")
            frame = kept.unionByName(frame)
        t1 = time.perf_counter()
        frame.write.parquet(str(path))
        return str(path), frame.schema.json(), t1 - t, time.perf_counter() - t1

    def cleanup(self, failed: bool) -> None:
        if failed:
            for path in self.written:
                shutil.rmtree(path, ignore_errors=True)
            return
        current = {Path(p) for p in self.locations.values()}
        for kind in ("sources", "models"):
            for table in (self.warehouse / kind).glob("*"):
                for version in table.glob("*"):
                    # only folders a build named (a warehouse shared with other files keeps them)
                    if version.is_dir() and RUN_ID.fullmatch(version.name) and version not in current:
                        shutil.rmtree(version, ignore_errors=True)


def build(con: duckdb.DuckDBPyConnection, compiled: CompiledProject, settings: SparkSettings,
          nodes: list[CompiledNode] | None = None, *, full_refresh: bool = False,
          selection: Selection | None = None, snapshot: bool = True, run_id: str | None = None,
          hooks: Sequence[BuildHook] | None = None) -> SparkBuildResult:
    """Build the stale nodes (default: all) on Spark; see the module docs for what goes where.
    Each node's step is decided by the strategy of its materialization type (``STRATEGIES``);
    ``hooks`` (default: ``glc.engine.hooks.default_hooks`` when ``snapshot``) take the domain steps."""
    require_spark()
    stamp = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    result = SparkBuildResult(run_id=run_id or stamp)
    started = _now()
    t0 = time.perf_counter()
    wanted = {n.name for n in (compiled.nodes if nodes is None else nodes)}
    translated = translate_nodes(compiled.nodes, "spark")
    # the Spark text is what a node's key hashes: a change in translation rebuilds it (its union
    # branches, found in the DuckDB text, are not cut: union_sources cleared)
    spark_nodes = [dataclasses.replace(n, sql=translated[n.name].sql, union_sources=()) for n in compiled.nodes]
    todo = [n for n in spark_nodes if n.name in wanted]
    result.translate_seconds = time.perf_counter() - t0

    if hooks is None:  # a snapshot after every result-changing build; a DuckDB build's live results kept first
        hooks = default_hooks(lazy=False, keep_live=True) if snapshot else []
    ensure_store(con)
    for ddl in [*STATE_DDL, *SPARK_DDL]:
        con.execute(ddl)
    t = time.perf_counter()
    job = _Build(con, compiled, settings, result)
    job.spark = session(settings)
    result.session_seconds = time.perf_counter() - t
    failed = True
    try:
        with transaction(con):
            _build(job, compiled, todo, spark_nodes, translated, full_refresh, selection, hooks, started)
        failed = False
    finally:
        job.cleanup(failed)
    result.seconds = time.perf_counter() - t0
    return result


def _build(job: _Build, compiled: CompiledProject, todo: list[CompiledNode], spark_nodes: list[CompiledNode],
           translated: dict[str, Translated], full_refresh: bool, selection: Selection | None,
           hooks: Sequence[BuildHook], started: Any) -> None:
    con, result = job.con, job.result
    relations = _relations(con)
    for hook in hooks:
        hook.start(HookContext(con, result.run_id, result.node_seconds, relations))
    if full_refresh:
        con.execute(f"DELETE FROM {TABLES}")
        con.execute(f"DELETE FROM {PARTITIONS}")
        refresh_prediction_partitions(con)
    stored = con.execute(f"SELECT name, state_key, location, spark_schema FROM {TABLES}").fetchall()
    state = {name: (key, location) for name, key, location, _ in stored if location and Path(location).is_dir()}
    job.locations = {name: location for name, (_, location) in state.items()}
    job.schemas = {name: schema for name, _, _, schema in stored}
    duck_state = dict(con.execute("SELECT node, state_key FROM glc_node_state").fetchall())
    keys: dict[str, str] = {}
    records: dict[str, tuple[str, str]] = {}  # name -> (state key, folder), written at the end
    # (with their schemas: job.schemas)
    duck_records: dict[str, str] = {}

    # seeds: into DuckDB as the DuckDB build loads them (other commands read them there), and to Spark
    t = time.perf_counter()
    for name, seed in compiled.seeds.items():
        keys[name] = seed.fingerprint()
        if duck_state.get(f"seed:{name}") != keys[name] or relations.get(name) != "table":
            load_seed(con, seed)
            result.seeds_loaded.append(name)
            duck_records[f"seed:{name}"] = keys[name]
        if state.get(name, ("", ""))[0] != keys[name]:
            job.copy_in(name, pa.Table.from_pylist([dict(zip(SEEDS[name].column_names, r, strict=True))
                                                    for r in seed.rows], schema=_arrow_schema(SEEDS[name])))
            records[name] = (keys[name], job.locations[name])
    versions = _store_versions(con)
    read = {s for n in todo for s in n.sources}
    for name in sorted(read & set(STORE)):
        keys[name] = versions[name]
        if state.get(name, ("", ""))[0] != keys[name]:
            data = _arrow(con, exp.select("*").from_(exp.to_table(name)))
            job.copy_in(name, data.select(STORE[name].column_names).cast(_arrow_schema(STORE[name])))
            records[name] = (keys[name], job.locations[name])
    keys.update({k: v for k, v in versions.items() if k not in keys})
    result.copy_in_seconds = time.perf_counter() - t

    # what to build, decided in dependency order by each node's strategy (keys do not depend on the
    # rows), then built
    plan = _Plan(con, result, state, keys, selection)
    strategies: dict[type[Materialization], SparkStrategy] = {}
    for node in todo:
        strategies.setdefault(type(node.materialization), strategy_class(node, STRATEGIES)())
    for kind, strategy in strategies.items():
        strategy.prepare(plan, [n for n in todo if type(n.materialization) is kind], spark_nodes, todo)
    steps: dict[str, _Step] = {}
    for node in todo:
        step = strategies[type(node.materialization)].step(plan, node)
        if step is None:
            result.skipped.append(node.name)
        else:
            steps[node.name] = step
    for name, (location, schema, parse_s, write_s, wall_s) in _run_steps(job, steps).items():
        job.locations[name], job.schemas[name] = location, schema
        records[name] = (keys[name], location)
        result.plan_seconds[name], result.execute_seconds[name] = parse_s, write_s
        result.node_seconds[name] = wall_s
    for strategy in strategies.values():
        strategy.finish(plan)
    _record(con, records, job.schemas)

    # results into DuckDB, so every reader of the store sees them: the nodes rebuilt now, and those a
    # DuckDB build has rebuilt there since (its state rows name them)
    t = time.perf_counter()
    relations = _relations(con)
    duck_built = {row[0] for row in con.execute("SELECT node FROM glc_node_state").fetchall()}
    copied = []
    hook_ctx = HookContext(con, result.run_id, result.node_seconds, relations)
    if "level_scores" in result.node_seconds:
        # a DuckDB build keeps its results in the live tables until a later build replaces them
        # (glc.engine.hooks.RunSnapshot): the hooks keep them now, before these replace them
        for hook in hooks:
            hook.before_results_replaced(hook_ctx)
    for node in todo:
        if node.name in result.node_seconds or node.name in duck_built or f"sql:{node.name}" in duck_built \
                or relations.get(node.name) != "table":
            _copy_back(con, node.name, job.locations[node.name], relations)
            copied.append(node.name)
    if copied:  # the DuckDB build's keys describe its own tables, not these: it will rebuild them whole
        con.execute("DELETE FROM glc_node_state WHERE list_contains(?, node) OR list_contains(?, node)",
                    [copied, [f"sql:{c}" for c in copied]])
    if duck_records:
        insert_arrow(con, "glc_node_state", pa.table({
            "node": pa.array(list(duck_records), pa.string()),
            "state_key": pa.array(list(duck_records.values()), pa.string()),
            "built_at": pa.array([_now()] * len(duck_records), pa.timestamp("us"))}), replace=True)
    result.copy_back_seconds = time.perf_counter() - t

    for hook in hooks:
        hook.after_build(hook_ctx)
    con.execute("INSERT INTO glc_runs VALUES (?, ?, ?, ?, ?, ?)",
                [result.run_id, started, _now(), compiled.manifest["fingerprint"], len(result.node_seconds),
                 "success"])


def _run_steps(job: _Build, steps: dict[str, _Step]) -> dict[str, tuple[str, str, float, float, float]]:
    """Build the steps, up to ``concurrency`` at a time, each once the steps it reads are built;
    returns per node (folder, schema, parse seconds, write seconds, wall seconds)."""
    needs = {name: {d for d in step.node.depends_on if d in steps} for name, step in steps.items()}
    waiting = list(steps)  # in dependency order
    running: dict[Future[Any], str] = {}
    done: dict[str, tuple[str, str, float, float, float]] = {}
    failure: tuple[str, BaseException] | None = None
    with ThreadPoolExecutor(max_workers=job.settings.concurrency, thread_name_prefix="glc-spark") as pool:
        while waiting or running:
            if failure is None:
                for name in [n for n in waiting if needs[n] <= done.keys()]:
                    waiting.remove(name)
                    running[pool.submit(job.run, steps[name])] = name
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                try:
                    location, schema, parse_s, write_s, wall_s = future.result()
                except BaseException as error:  # noqa: BLE001 - reported below, after the running steps end
                    failure = failure or (name, error)
                    continue
                done[name] = (location, schema, parse_s, write_s, wall_s)
                # the next steps read this version
                job.locations[name], job.schemas[name] = location, schema
    if failure is not None:
        failed, cause = failure
        if isinstance(cause, GlcError):
            raise cause
        raise GlcError(f"building model '{failed}' on Spark failed: {str(cause).splitlines()[0][:500]}",
                       location=steps[failed].node.template,
                       hint=f"glc show {failed} --dialect spark prints the SQL that ran") from None
    return done


def _incremental_key(node: CompiledNode, partitions: str) -> str:
    """An incremental node's key: its SQL's fingerprint, then the hash of it and its partition keys
    (the prefix says whether stored rows were made by this SQL)."""
    return f"{node.fingerprint}:{_sha(node.fingerprint, partitions)}"


def _fingerprint_matches(key: str, node: CompiledNode) -> bool:
    return key.split(":", 1)[0] == node.fingerprint


def _record(con: duckdb.DuckDBPyConnection, records: dict[str, tuple[str, str]], schemas: dict[str, str]) -> None:
    if not records:
        return
    insert_arrow(con, TABLES, pa.table({
        "name": pa.array(list(records), pa.string()),
        "state_key": pa.array([k for k, _ in records.values()], pa.string()),
        "location": pa.array([loc for _, loc in records.values()], pa.string()),
        "spark_schema": pa.array([schemas[name] for name in records], pa.string()),
        "built_at": pa.array([_now()] * len(records), pa.timestamp("us"))}), replace=True)


def _copy_back(con: duckdb.DuckDBPyConnection, name: str, location: str, relations: dict[str, str]) -> None:
    """Replace DuckDB's table ``name`` with the rows of a Spark table (its Parquet folder)."""
    data = pq.read_table(location)
    _make_room(con, name, "table", relations)
    con.register("__glc_arrow", data)
    try:
        create = exp.Create(this=exp.to_table(name), kind="TABLE", replace=True,
                            expression=exp.select("*").from_("__glc_arrow"))
        con.execute(create.sql(DIALECT))
    finally:
        con.unregister("__glc_arrow")
    relations[name] = "table"
