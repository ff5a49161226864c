"""Build the compiled SQL DAG in DuckDB, recomputing only what changed.

Each node has a state key: the hash of its compiled SQL, the versions of the source tables
it reads (seed fingerprints, store batch ids) and the state keys of its upstream nodes. A
node whose key matches the stored one is skipped. Incremental nodes (per-metric instance
scores) are partitioned by (model, task_id): a partition is recomputed only when its
predictions (batch ids), its task's data (dataset fingerprint) or the SQL of the node or of
anything upstream of it (the metric's reference side) changed, so
importing one more model scores only that model's rows, and changing one metric re-scores
only the tasks that use it. Everything happens in one transaction.

Each node is built by the strategy of its materialization type (``STRATEGIES``: one class per
``compiler/materialization.py`` kind); the domain steps around a build (run snapshots, dropping
stale bootstrap intervals) are hooks (``glc/engine/hooks.py``).
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from glc.compiler.contracts import STATE, quote_ident
from glc.compiler.errors import GlcError
from glc.compiler.materialization import Incremental, Materialization, Table, View
from glc.compiler.nodes import CompiledNode
from glc.compiler.plan import CompiledProject
from glc.compiler.seeds import Seed
from glc.engine.hooks import LIVE_RUN, RESULTS, BuildHook, HookContext, default_hooks
from glc.engine.selection import Selection
from glc.engine.store import insert_lists, load_seed, missing_tables, refresh_prediction_partitions, transaction

# the DuckDB build's bookkeeping tables, created from their contracts (compiler/contracts.py)
STATE_TABLES = [STATE[t] for t in ("glc_run_levels", "glc_run_tasks", "glc_node_state", "glc_partition_state")]
STATE_DDL = [c.ddl() for c in STATE_TABLES]
__all__ = ["LIVE_RUN", "RESULTS", "STRATEGIES", "BuildContext", "BuildResult", "Strategy", "build"]
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


# the glc_node_state row holding the inputs of the last default build that found every node up to date
# (``_inputs_key``): a build whose inputs are those again skips the per-node checks (``build``)
UNCHANGED = "build:unchanged"
# the glc_node_state row keeping the data tests' results under such inputs (glc.engine.data_tests)
KEPT_TESTS = "tests:unchanged"
# what a build's decisions read besides the compiled nodes, the seeds and the relations, in one query:
# every node-state row but UNCHANGED and KEPT_TESTS, the partition states, the predictions'
# partitions and each task's data fingerprint (the inputs of PARTITIONS_SQL)
INPUTS_SQL = """
SELECT
  (SELECT list_sort(list(node || ':' || coalesce(state_key, ''))) FROM glc_node_state
   WHERE node NOT IN (?, ?)),
  (SELECT count(*)::VARCHAR || ':' || coalesce(sum(hash(node, model, task_id, state_key)), 0)::VARCHAR
   FROM glc_partition_state),
  (SELECT count(*)::VARCHAR || ':' || coalesce(sum(hash(model, task_id, n_rows, batches)), 0)::VARCHAR
   FROM prediction_partitions),
  (SELECT count(*)::VARCHAR || ':' || coalesce(sum(hash(task_id, dataset_fp)), 0)::VARCHAR
   FROM (SELECT DISTINCT task_id, dataset_fp FROM instances))
"""


@functools.cache
def _engine_salt() -> str:
    """glc's version and the source of the build engine (glc/engine/*.py): a changed engine decides anew."""
    from pathlib import Path

    from glc import __version__

    h = hashlib.sha256(__version__.encode())
    for f in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _inputs_key(con: duckdb.DuckDBPyConnection, compiled: CompiledProject, seed_keys: dict[str, str],
                store_versions: dict[str, str], relations: dict[str, str]) -> str:
    """Everything a default build's decisions are made from: glc's engine, the profile (profiles.yml),
    every compiled node (its SQL, materialization, inputs and UDFs), the seeds' fingerprints, the store
    tables' versions, the relations of the store (name and kind) and what ``INPUTS_SQL`` reads (the
    stored node and partition states, the predictions' partitions and the task data's fingerprints).
    Equal keys, equal decisions."""
    import orjson

    (row,) = con.execute(INPUTS_SQL, [UNCHANGED, KEPT_TESTS]).fetchall()
    root = getattr(compiled.project, "root", None)  # (a project put together in code may have none)
    try:  # the profile a run was made with (a changed one checks every node again, whatever it changed)
        profile = hashlib.sha256((root / "profiles.yml").read_bytes()).hexdigest() if root is not None else "-"
    except OSError:
        profile = "-"
    nodes = [[n.name, n.fingerprint, n.materialization.to_json(), list(n.depends_on), list(n.sources), list(n.udfs)]
             for n in compiled.nodes]
    return hashlib.sha256(orjson.dumps([_engine_salt(), profile, nodes, sorted(seed_keys.items()),
                                        sorted(store_versions.items()), sorted(relations.items()),
                                        list(row)])).hexdigest()


# --- the columns of empty incremental tables, remembered between builds --------------------------
# A fresh incremental node whose partition sources are all empty (a metric nothing was predicted for:
# a scores-only store has dozens) gets its query's columns and no rows. Binding its query for them
# costs DuckDB ~5 ms a node, so the columns it bound are kept in the user's cache folder under
# everything they follow from (DuckDB's and glc's versions, the build engine, the UDFs, the node's
# SQL and everything upstream of it, the source contracts); a later build creates the table from
# them (column names quoted, types parsed against an allow-list and written again) and checks the created columns
# against them in one catalog query (a mismatch binds the query as before).
EMPTY_FORMAT = 1
EMPTY_KEEP = 1024  # entries kept at most (a catalog has dozens of incremental nodes)


@functools.cache
def _udf_salt() -> str:
    """The source of the UDFs (glc/compiler/udfs/*.py): their return types are column types."""
    from pathlib import Path

    import glc.compiler

    h = hashlib.sha256()
    for f in sorted((Path(glc.compiler.__file__).resolve().parent / "udfs").glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _empty_cache_path() -> Any:
    import os
    from pathlib import Path

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "glc" / "empty-tables.json"


def _empty_salt(schema: dict[str, dict[str, str]]) -> str:
    """What every kept empty table's key holds: the versions, the engine, the UDFs, the contracts and schema."""
    import orjson

    from glc.compiler.contracts import SEEDS, STORE

    contracts = orjson.dumps([[c.name, [[col.name, col.type] for col in c.columns]]
                              for c in (*STORE.values(), *SEEDS.values())])
    return _sha(str(EMPTY_FORMAT), duckdb.__version__, _engine_salt(), _udf_salt(),
                hashlib.sha256(contracts).hexdigest(), hashlib.sha256(orjson.dumps(schema)).hexdigest())


def _empty_keys(nodes: Iterable[CompiledNode], definitions: dict[str, str], salt: str) -> dict[str, str]:
    """Per node, the key its empty table's columns are kept under (``_empty_cache_path``)."""
    return {n.name: _sha(salt, definitions[n.name]) for n in nodes}


def _read_empty_cache() -> dict[str, list[list[str]]]:
    import orjson

    try:
        data = orjson.loads(_empty_cache_path().read_bytes())
        if isinstance(data, dict) and data.get("format") == EMPTY_FORMAT and isinstance(data.get("tables"), dict):
            return {k: v for k, v in data["tables"].items()
                    if isinstance(v, list) and v and all(isinstance(c, list) and len(c) == 2
                                                         and all(isinstance(x, str) for x in c) for c in v)}
    except (OSError, ValueError):
        pass
    return {}


def _write_empty_cache(tables: dict[str, list[list[str]]]) -> None:
    import os

    import orjson

    path = _empty_cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        # the newest entries (those of older SQL or engines are forgotten, first in, first out)
        kept = dict(list(tables.items())[-EMPTY_KEEP:])
        tmp.write_bytes(orjson.dumps({"format": EMPTY_FORMAT, "tables": kept}))
        os.replace(tmp, path)
    except OSError:  # a cache that cannot be written is only slower next time
        pass


# DuckDB's names of the types it writes in information_schema.columns.data_type
_SIMPLE = frozenset({
    "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "VARCHAR", "BLOB", "DATE", "TIME", "TIMESTAMP", "TIMESTAMP_S",
    "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE", "TIME WITH TIME ZONE", "INTERVAL", "UUID",
    "BIT", "JSON"})
_TOKEN = re.compile(r'\s*(?:(?P<word>[A-Za-z_][A-Za-z0-9_]*(?: WITH TIME ZONE)?)|(?P<quoted>"(?:[^"]|"")*")'
                    r'|(?P<int>[0-9]+)|(?P<punct>[(),\[\]]))')


@functools.lru_cache(maxsize=256)
def _type_sql(type_: str) -> str:
    """A kept column type, parsed and written again: DuckDB's type names (an allow-list), DECIMAL(p, s),
    STRUCT/UNION fields (names quoted as identifiers), MAP and list/array suffixes; a ValueError for
    anything else (the node's query is bound instead). Not sqlglot: importing it costs a cold
    ``glc run`` ~0.2 s, more than the tables it would spare."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(type_):
        m = _TOKEN.match(type_, pos)
        if m is None or m.end() == pos:
            raise ValueError(type_)
        kind = m.lastgroup
        assert kind is not None
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    out, i = _parse_type(tokens, 0, type_)
    if i != len(tokens):
        raise ValueError(type_)
    return out


def _expect(tokens: list[tuple[str, str]], i: int, value: str, text: str) -> int:
    if i >= len(tokens) or tokens[i] != ("punct", value):
        raise ValueError(text)
    return i + 1


def _parse_type(tokens: list[tuple[str, str]], i: int, text: str) -> tuple[str, int]:
    if i >= len(tokens) or tokens[i][0] != "word":
        raise ValueError(text)
    name = tokens[i][1].upper()
    i += 1
    if name in ("STRUCT", "UNION"):
        i = _expect(tokens, i, "(", text)
        fields: list[str] = []
        while True:
            kind, value = tokens[i] if i < len(tokens) else ("", "")
            if kind == "quoted":
                field = value[1:-1].replace('""', '"')
            elif kind == "word" and " " not in value:
                field = value
            else:
                raise ValueError(text)
            t, i = _parse_type(tokens, i + 1, text)
            fields.append(f"{_ident(field)} {t}")
            if i < len(tokens) and tokens[i] == ("punct", ","):
                i += 1
                continue
            i = _expect(tokens, i, ")", text)
            break
        out = f"{name}({', '.join(fields)})"
    elif name == "MAP":
        i = _expect(tokens, i, "(", text)
        k, i = _parse_type(tokens, i, text)
        i = _expect(tokens, i, ",", text)
        v, i = _parse_type(tokens, i, text)
        i = _expect(tokens, i, ")", text)
        out = f"MAP({k}, {v})"
    elif name == "DECIMAL":
        i = _expect(tokens, i, "(", text)
        nums: list[str] = []
        while i < len(tokens) and tokens[i][0] == "int" and len(nums) < 2:
            nums.append(str(int(tokens[i][1])))
            i += 1
            if i < len(tokens) and tokens[i] == ("punct", ",") and len(nums) < 2:
                i += 1
        if not nums:
            raise ValueError(text)
        i = _expect(tokens, i, ")", text)
        out = f"DECIMAL({', '.join(nums)})"
    elif name in _SIMPLE:
        out = name
    else:
        raise ValueError(text)
    while i < len(tokens) and tokens[i] == ("punct", "["):  # lists and arrays
        if i + 1 < len(tokens) and tokens[i + 1][0] == "int":
            size = str(int(tokens[i + 1][1]))
            i = _expect(tokens, i + 2, "]", text)
            out += f"[{size}]"
        else:
            i = _expect(tokens, i + 1, "]", text)
            out += "[]"
    return out, i


def _columns_of(con: duckdb.DuckDBPyConnection, names: list[str]) -> dict[str, list[list[str]]]:
    """Per table of ``names``, its [column, type] pairs in order (one catalog query)."""
    out: dict[str, list[list[str]]] = {}
    for name, col, type_ in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = 'main' AND list_contains(?, table_name) "
            "ORDER BY table_name, ordinal_position", [names]).fetchall():
        out.setdefault(name, []).append([col, type_])
    return out


def _empty_table_sql(name: str, columns: list[list[str]]) -> str:
    cols = ", ".join(f"{_ident(c)} {_type_sql(t)}" for c, t in columns)
    return f"CREATE OR REPLACE TABLE {_ident(name)} ({cols})"


@dataclass
class BuildResult:
    run_id: str
    node_seconds: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    partitions_built: dict[str, int] = field(default_factory=dict)
    seeds_loaded: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # the inputs key (``_inputs_key``) of a default build that built nothing (its inputs are also what
    # the store holds after it: readers of the built tables may reuse what they computed under it)
    unchanged: str | None = None

    @property
    def built(self) -> list[str]:
        return list(self.node_seconds)


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def create_table_sql(node: CompiledNode, *, data: bool = True) -> str:
    """``CREATE OR REPLACE TABLE <node> AS <compiled query>``: the name quoted by sqlglot, the
    query the compiler's canonical text (parsed and checked at compile time, not again here).
    Without ``data``, the table gets the query's columns and no rows (the query is bound, not run)."""
    return f"CREATE OR REPLACE TABLE {_ident(node.name)} AS\n{node.sql}" + ("" if data else "\nWITH NO DATA")


def insert_sql(node: CompiledNode, empty: Collection[str] = ()) -> str:
    """``INSERT INTO <node> <compiled query>``; for a UNION ALL with branches over tables in
    ``empty``, one INSERT per branch left (``union_branches``)."""
    branches = union_branches(node, empty)
    if branches is None:
        return f"INSERT INTO {_ident(node.name)}\n{node.sql}"
    return ";\n".join(f"INSERT INTO {_ident(node.name)}\n{b}" for b in branches)


def union_branches(node: CompiledNode, empty: Collection[str]) -> list[str] | None:
    """The branches of the node's top-level UNION ALL that do not read a table in ``empty`` (the
    first with the node's header), or None when none reads such a table or the text does not cut
    as the compiler saw it. Such a branch adds no rows (the compiler marks only branches that give
    none over an empty table, ``CompiledNode.union_sources``), and binding it cost more than
    running it: ``predicted_scores`` has a branch per metric, one more model fills four or five.
    The text is cut at the lines the compiler's pretty-printer writes between branches.

    Each branch left is inserted by a statement of its own: its rows are cast straight to the
    table's column types, which the table got from the whole union (it was created from this
    query), as the whole statement casts them. One union of the branches left would first cast
    them to the common type of those branches alone, which can differ (BIGINT and FLOAT meet in
    FLOAT; with a DOUBLE branch they meet in DOUBLE)."""
    if not any(s and s in empty for s in node.union_sources):
        return None
    lines = node.sql.split("\n")
    n_head = next((i for i, line in enumerate(lines) if not line.startswith("-- ")), len(lines))
    head, body = "\n".join(lines[:n_head]), "\n".join(lines[n_head:])
    parts = body.split("\nUNION ALL\n")
    if len(parts) != len(node.union_sources):
        return None
    kept = [p for p, s in zip(parts, node.union_sources, strict=True) if not (s and s in empty)]
    if not kept:
        return None
    kept[0] = head + "\n" + kept[0]
    return kept


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


# per store table: the aggregates (and the table they read) of its cheap version string
_VERSIONS = {
    "imported_scores": (("count(*)", "list_sort(list(DISTINCT import_id))"), "imported_scores"),
    "imported_models": (("count(*)", "list_sort(list(DISTINCT import_id))"), "imported_models"),
    "instances": (("count(*)", "list_sort(list(DISTINCT dataset_fp))"), "instances"),
    "predictions": (("count(*)", "sum(n_rows)", "sum(hash(batches))"), "prediction_partitions"),
    # an import replaces a model's rows for the tasks it names; count and content say when
    "harness_scores": (("count(*)", "sum(hash(model, task_id, instance_id, metric, raw_value))"), "harness_scores"),
}
VERSIONS_SQL = "SELECT * FROM " + " CROSS JOIN ".join(f"(SELECT {', '.join(cols)} FROM {table})"
                                                     for cols, table in _VERSIONS.values())


def _store_versions(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """A cheap version string per store table: its row count and the batches it holds (one query:
    each table's aggregates are one row, side by side)."""
    (row,) = con.execute(VERSIONS_SQL).fetchall()  # aggregates without GROUP BY: one row
    out, i = {}, 0
    for t, (cols, _) in _VERSIONS.items():
        out[t] = str(tuple(row[i:i + len(cols)]))
        i += len(cols)
    # writers of predictions and judgments refresh prediction_partitions in the same transaction
    out["judgments"] = out["prediction_partitions"] = out["predictions"]
    return out


def _relations(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Tables and views of the main schema: name -> 'table' or 'view'."""
    rows = con.execute("SELECT table_name, table_type FROM information_schema.tables "
                       "WHERE table_catalog = current_database() AND table_schema = 'main'").fetchall()
    return {name: "view" if kind == "VIEW" else "table" for name, kind in rows}


def _make_room(con: duckdb.DuckDBPyConnection, name: str, kind: str, relations: dict[str, str]) -> None:
    """Drop ``name`` when it exists as the other kind (a model switched between table and view)."""
    other = relations.get(name)
    if other is not None and other != kind:
        con.execute(f"DROP {'VIEW' if other == 'view' else 'TABLE'} {_ident(name)}")
        relations[name] = kind


class _StaleSources:
    """While active, the node's partition sources read only the stale partitions.

    Each source table is shadowed by a temporary view of the same name over the stored table
    (fully qualified, so the view does not read itself), keeping the rows whose partition keys
    are stale: an EXISTS against the stale table, which DuckDB runs as a semi join whose key
    range and Bloom filter it pushes into the scan, so row groups of other models are skipped
    (no literal IN lists to render: they cost more to generate than they saved). The compiled
    SQL runs as it is; the views are dropped on the way out, whatever happens. The statements
    of a node go to DuckDB in one call.

    A source in ``empty`` (known to hold no rows, asked in this build's transaction after it was
    final) is read as it is: its stale partitions are all of its rows, none. ``predicted_scores``
    reads every metric's instance scores, most of them empty tables in a store, and binding a view
    over each, and a statement over those views, cost a one-model build more than its rows did.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, node: CompiledNode, schema: dict[str, dict[str, str]],
                 empty: Collection[str] = ()) -> None:
        self.con, self.node, self.schema, self.empty = con, node, schema, empty
        self.active = False

    def __enter__(self) -> _StaleSources:
        row = self.con.execute("SELECT current_database()").fetchone()
        assert row is not None  # a SELECT without FROM returns exactly one row
        db = row[0]
        inc = self.node.incremental
        assert inc is not None  # only incremental nodes read stale partitions
        sources = tuple((name, tuple(c for c in inc.partition_by if c in self.schema.get(name, {})))
                        for name in inc.sources if name not in self.empty)
        create, self.drop = _stale_views_sql(db, sources)
        if create:
            self.active = True
            try:
                self.con.execute(create)
            except BaseException:
                self.__exit__()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            self.con.execute(self.drop)
            self.active = False


def _stale_views_sql(db: str, sources: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, str]:
    """(CREATE statements, DROP statements) of the stale views over ``sources`` (name, key columns).

    Fixed SQL around identifiers quoted by sqlglot (rendering whole trees cost ~1 ms a view)."""
    creates, drops = [], []
    for name, keys in sources:
        match = " AND ".join(f"s.{_ident(c)} = x.{_ident(c)}" for c in keys) or "TRUE"
        creates.append(f"CREATE OR REPLACE TEMPORARY VIEW {_ident(name)} AS SELECT x.* "
                       f"FROM {_ident(db)}.main.{_ident(name)} AS x "
                       f"WHERE EXISTS (SELECT 1 FROM {STALE} AS s WHERE {match})")
        drops.append(f"DROP VIEW IF EXISTS temp.main.{_ident(name)}")
    return ";\n".join(creates), ";\n".join(drops)


@functools.lru_cache(maxsize=4096)
def _ident(name: str) -> str:
    return quote_ident(name)


def _definitions(nodes: Iterable[CompiledNode]) -> dict[str, str]:
    """Per node, a hash of its SQL and the SQL of everything upstream of it: what its rows mean,
    whatever the data. A partition's key holds it, so a change on the reference side alone
    (instance_refs__<metric>) re-scores that metric's partitions too."""
    by_name = {n.name: n for n in nodes}
    out: dict[str, str] = {}

    def visit(name: str) -> str:
        if name not in out:
            node = by_name[name]
            out[name] = _sha(node.fingerprint, *(visit(d) for d in node.depends_on if d in by_name))
        return out[name]

    for name in by_name:
        visit(name)
    return out


def _partition_prefixes(node: CompiledNode, nodes: dict[str, CompiledNode],
                        definitions: dict[str, str]) -> list[tuple[str | None, str]]:
    """(metric or None for every metric, key prefix) rows of one incremental node: a node that
    reads per-metric incremental nodes keys each partition by the definition of the one node
    that scored its metric, so changing one metric leaves the others' partitions alone."""
    def metric_of(n: CompiledNode) -> str | None:
        return n.incremental.metric if n.incremental is not None else None

    if metric_of(node):
        return [(metric_of(node), definitions[node.name])]
    per_metric = {metric_of(nodes[d]): d for d in node.depends_on if d in nodes and metric_of(nodes[d])}
    if not per_metric:
        return [(None, definitions[node.name])]
    shared = [definitions[d] for d in node.depends_on if d in nodes and not metric_of(nodes[d])]
    return [(m, _sha(node.fingerprint, *shared, definitions[d])) for m, d in sorted(per_metric.items())]


def _plan_partitions(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str | None, str, bool]],
                     selection: Selection | None, state_table: str = "glc_partition_state",
                     ) -> tuple[dict[str, str], dict[str, tuple[int, bool]]]:
    """Find the stale partitions of every incremental node at once, in SQL.

    ``rows`` are (node, metric or None, key prefix, fresh): a fresh node has no usable stored
    rows and is built whole. A partition's key is the hash of its node's prefix and its inputs
    (``PARTITIONS_SQL``); it is stale when the stored key differs, new or gone. Outside a
    ``--select`` an existing node keeps what it stored. Leaves the stale partitions in
    ``__glc_todo`` (node, model, task_id, new_key or NULL when gone, built: rows to delete) and
    returns each node's aggregate key part and its (stale count, any built). ``state_table`` holds
    the stored keys (another engine's builds keep theirs apart: glc/engine/spark.py).
    """
    sel = selection if selection is not None and not selection.empty else Selection()
    # small tables as bound lists (no Arrow, so a build that skips everything loads no pyarrow)
    tables = {"__glc_inodes": ("SELECT unnest(?::VARCHAR[]) AS node, unnest(?::VARCHAR[]) AS metric, "
                               "unnest(?::VARCHAR[]) AS prefix, unnest(?::BOOLEAN[]) AS fresh",
                               [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                                [r[3] for r in rows]]),
              "__glc_sel_models": ("SELECT unnest(?::VARCHAR[]) AS model", [sorted(sel.models)]),
              "__glc_sel_tasks": ("SELECT unnest(?::VARCHAR[]) AS task_id", [sorted(sel.tasks)])}
    for name, (query, params) in tables.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}", params)
    allowed = ("((? OR {a}.model IN (SELECT model FROM __glc_sel_models)) "
               "AND (? OR {a}.task_id IN (SELECT task_id FROM __glc_sel_tasks)))")
    flags = [not sel.models, not sel.tasks]
    stored = (f"SELECT * FROM {_ident(state_table)} "
              "WHERE node IN (SELECT node FROM __glc_inodes WHERE NOT fresh)")
    try:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE __glc_current AS
            SELECT n.node, p.model, p.task_id, sha256(n.prefix || p.inputs) AS state_key
            FROM {PARTS} AS p JOIN __glc_inodes AS n ON n.metric IS NULL OR n.metric = p.metric
            WHERE n.fresh OR {allowed.format(a="p")}
            UNION ALL
            SELECT s.node, s.model, s.task_id, s.state_key FROM ({stored}) AS s
            WHERE NOT {allowed.format(a="s")}""", flags + flags)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE __glc_todo AS
            SELECT coalesce(c.node, s.node) AS node, coalesce(c.model, s.model) AS model,
                   coalesce(c.task_id, s.task_id) AS task_id, c.state_key AS new_key, s.node IS NOT NULL AS built
            FROM __glc_current AS c FULL JOIN ({stored}) AS s
              ON s.node = c.node AND s.model = c.model AND s.task_id = c.task_id
            WHERE c.state_key IS DISTINCT FROM s.state_key""")
    finally:
        for name in tables:
            con.execute(f"DROP TABLE IF EXISTS {name}")
    keys = dict(con.execute("SELECT node, string_agg(state_key, ',' ORDER BY state_key) FROM __glc_current "
                            "GROUP BY node").fetchall())
    todo = {n: (c, b) for n, c, b in con.execute("SELECT node, count(*), bool_or(built) FROM __glc_todo "
                                                 "GROUP BY node").fetchall()}
    con.execute("DROP TABLE __glc_current")
    return keys, todo


def _store_partition_state(con: duckdb.DuckDBPyConnection, fresh: list[str],
                           state_table: str = "glc_partition_state") -> None:
    """After the incremental nodes are built: forget fresh nodes' old partitions, write new keys."""
    table = _ident(state_table)
    if fresh:
        con.execute(f"DELETE FROM {table} WHERE list_contains(?, node)", [fresh])
    con.execute(f"DELETE FROM {table} AS x USING __glc_todo AS t "
                "WHERE x.node = t.node AND x.model = t.model AND x.task_id = t.task_id")
    con.execute(f"INSERT INTO {table} SELECT node, model, task_id, new_key FROM __glc_todo "
                "WHERE new_key IS NOT NULL")
    con.execute("DROP TABLE __glc_todo")


def _build_incremental(con: duckdb.DuckDBPyConnection, node: CompiledNode, exists: bool, whole: bool,
                       schema: dict[str, dict[str, str]], stale: tuple[int, bool], no_rows: bool = False,
                       empty: Collection[str] = ()) -> None:
    """Recompute the stale partitions of one incremental node (listed in ``__glc_todo``); a fresh
    node that has ``no_rows`` gets its query's columns without running the query. The partition
    sources in ``empty`` hold no rows (``_StaleSources``)."""
    n_stale, any_built = stale
    if not exists and no_rows:
        con.execute(create_table_sql(node, data=False))
        return
    if not exists and whole:
        con.execute(create_table_sql(node))  # a first build scores every partition: no filter needed
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STALE} AS SELECT model, task_id FROM __glc_todo WHERE node = ?",
                [node.name])
    if not exists:
        with _StaleSources(con, node, schema, empty):
            con.execute(create_table_sql(node))
    elif n_stale:
        target = _ident(node.name)
        if any_built:  # a partition never built has no rows to delete
            con.execute(f"DELETE FROM {target} AS x USING {STALE} AS s "
                        "WHERE x.model = s.model AND x.task_id = s.task_id")
        with _StaleSources(con, node, schema, empty):
            con.execute(insert_sql(node, empty))
    con.execute(f"DROP TABLE {STALE}")


class BuildContext:
    """One build's state, shared by the strategies and the hooks: the stored state keys, the
    relations the store holds, the keys computed so far and the state rows to write at the end."""

    def __init__(self, con: duckdb.DuckDBPyConnection, compiled: CompiledProject, todo: list[CompiledNode],
                 result: BuildResult, selection: Selection | None, hooks: Sequence[BuildHook]) -> None:
        self.con, self.compiled, self.todo, self.result, self.selection = con, compiled, todo, result, selection
        self.hooks = list(hooks)
        self.schema = compiled.schema()
        self.state: dict[str, str] = {}
        self.relations: dict[str, str] = {}
        self.tables: set[str] = set()
        self.keys: dict[str, str] = {}
        self.built: dict[str, tuple[str, datetime]] = {}  # state rows to write, all at once at the end
        self.udfs_ready = False
        self.results_kept = False
        self.empty: dict[str, bool] = {}  # tables known to hold no rows (asked once per build)
        # empty tables to create from kept columns (node, columns): together, before anything reads them
        self.pending: list[tuple[CompiledNode, list[list[str]]]] = []
        self.bound_empty: dict[str, list[list[str]]] = {}  # columns of empty tables whose query was bound
        self.empty_keys: dict[str, str] = {}  # node -> the key its empty table's columns are kept under
        self.bound: list[str] = []  # empty tables whose query was bound: their columns are kept
        self.known: dict[str, list[list[str]]] | None = None  # the empty tables' columns kept (read when needed)
        self.seed_names: set[str] = set()
        self._salt: str | None = None

    def empty_salt(self) -> str:
        if self._salt is None:
            self._salt = _empty_salt(self.schema)
        return self._salt

    def kept_columns(self, name: str) -> list[list[str]] | None:
        """The columns kept for the empty table of node ``name``, when usable."""
        if self.known is None:
            self.known = _read_empty_cache()
        columns = self.known.get(self.empty_keys.get(name, ""))
        try:
            if columns is not None:
                _empty_table_sql(name, columns)  # every type parses
        except ValueError:
            return None
        return columns

    def keep_empty(self) -> None:
        """Keep the columns of the empty tables whose query was bound, for the next build."""
        self.flush()
        bound = {**_columns_of(self.con, self.bound), **self.bound_empty} if self.bound else dict(self.bound_empty)
        bound = {name: cols for name, cols in bound.items() if cols and name in self.empty_keys}
        if not bound:
            return
        known = self.known if self.known is not None else _read_empty_cache()
        for name, columns in bound.items():
            known.pop(self.empty_keys[name], None)  # (re)inserted last: the newest
            known[self.empty_keys[name]] = columns
        _write_empty_cache(known)

    def flush(self) -> None:
        """Create the empty tables waiting in ``pending`` (one call) and check their columns against
        the kept ones (one catalog query); one that DuckDB reads otherwise is created again by binding
        its query, before anything reads it."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        try:
            self.con.execute(";\n".join(_empty_table_sql(n.name, cols) for n, cols in pending))
        except duckdb.Error as exc:
            raise GlcError(f"creating empty tables from the columns kept in the cache failed: {exc}",
                           location=str(_empty_cache_path()),
                           hint="delete that file (a cache: nothing is lost) and run again") from None
        got = _columns_of(self.con, [n.name for n, _ in pending])
        for node, columns in pending:
            if got.get(node.name) != columns:
                self.need_udfs(node)
                self.con.execute(create_table_sql(node, data=False))
                self.bound_empty[node.name] = _columns_of(self.con, [node.name]).get(node.name, [])

    def has_no_rows(self, name: str) -> bool:
        """Whether table ``name`` is empty (asked once per build: a table is final once built)."""
        if name not in self.empty:
            # fetchall: the result is finished (a connection with an unfinished one runs nothing else)
            rows = self.con.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {_ident(name)})").fetchall()
            self.empty[name] = bool(rows and rows[0][0])
        return self.empty[name]

    def ask_empty(self, names: list[str]) -> None:
        """Whether each table of ``names`` is empty, in one query (a UNION ALL of NOT EXISTS, the names
        quoted as identifiers and bound as values)."""
        names = [n for n in names if n not in self.empty]
        if not names:
            return
        query = " UNION ALL ".join(f"SELECT ?, NOT EXISTS (SELECT 1 FROM {_ident(n)})" for n in names)
        for name, empty in self.con.execute(query, names).fetchall():
            self.empty[name] = bool(empty)

    def need_udfs(self, node: CompiledNode) -> None:
        """Install the Python UDFs before the first node that calls them is built (they import
        numpy and pyarrow, which a build that skips those nodes does without)."""
        if node.udfs and not self.udfs_ready:
            from glc.compiler.udfs.registry import register

            register(self.con)
            self.udfs_ready = True

    def upstream(self, node: CompiledNode) -> list[str]:
        # an input built outside this call (a bootstrap replicate's tables) has no key here
        return [f"{d}={self.keys.get(d, 'external')}" for d in (*node.sources, *node.depends_on)]

    def hook_context(self) -> HookContext:
        return HookContext(self.con, self.result.run_id, self.result.node_seconds, self.relations)

    def replacing(self, node: CompiledNode) -> None:
        """Tell the hooks, once, before a live result table is replaced."""
        if node.name in RESULTS and not self.results_kept:
            self.results_kept = True
            ctx = self.hook_context()
            for hook in self.hooks:
                hook.before_results_replaced(ctx)


class Strategy:
    """How one kind of materialization is built: ``prepare`` once with every node of the kind
    to build (in dependency order), ``run`` per node (False: it was up to date, skipped; it sets
    the node's key in ``ctx.keys``), ``finish`` once after every node is built."""

    def prepare(self, ctx: BuildContext, nodes: list[CompiledNode]) -> None:
        """Nothing to prepare unless overridden."""

    def run(self, ctx: BuildContext, node: CompiledNode) -> bool:
        raise NotImplementedError

    def finish(self, ctx: BuildContext) -> None:
        """Nothing to finish unless overridden."""


class TableStrategy(Strategy):
    """Rebuilt whole (``CREATE OR REPLACE TABLE``) when its key changed or the table is gone."""

    def prepare(self, ctx: BuildContext, nodes: list[CompiledNode]) -> None:
        # the store tables they read (not seeds, not built here), asked whether they are empty in one query
        building = {n.name for n in ctx.todo}
        ctx.ask_empty(sorted({s for n in nodes if not n.depends_on for s in n.sources
                              if s in ctx.tables and s not in building and s not in ctx.seed_names}))

    def run(self, ctx: BuildContext, node: CompiledNode) -> bool:
        ctx.keys[node.name] = _sha(node.fingerprint, *ctx.upstream(node))
        if ctx.state.get(node.name) == ctx.keys[node.name] and node.name in ctx.tables:
            return False
        # a table read from seeds and empty store tables only: its query's answer is a function of its
        # SQL and the seeds' contents; one that was empty before is empty again, with the columns kept
        key = self.empty_key(ctx, node)
        columns = ctx.kept_columns(node.name) if key is not None else None
        if columns is not None and ctx.relations.get(node.name) in (None, "table"):
            ctx.pending.append((node, columns))
            ctx.empty[node.name] = True
            return True
        ctx.flush()
        ctx.replacing(node)  # the previous results, before they go
        ctx.need_udfs(node)
        _make_room(ctx.con, node.name, "table", ctx.relations)
        rows = ctx.con.execute(create_table_sql(node)).fetchall()  # DuckDB answers the rows it wrote
        if len(rows) == 1 and isinstance(rows[0][0], int):  # whether it is empty, known without asking
            ctx.empty[node.name] = rows[0][0] == 0
            if key is not None and rows[0][0] == 0:
                ctx.bound.append(node.name)
        return True

    @staticmethod
    def empty_key(ctx: BuildContext, node: CompiledNode) -> str | None:
        """The key of the node's empty table when every input is a seed or an empty store table (and the
        node is not a result table, whose replacement the hooks hear of): else None."""
        if node.depends_on or node.name in RESULTS or not node.sources:
            return None
        inputs = []
        for s in node.sources:
            if s in ctx.seed_names:
                inputs.append(f"{s}={ctx.keys[s]}")
            elif ctx.empty.get(s) is True:
                inputs.append(f"{s}=empty")
            else:
                return None
        key = _sha(ctx.empty_salt(), "table", node.fingerprint, *inputs)
        ctx.empty_keys[node.name] = key
        return key


class ViewStrategy(Strategy):
    """A view's rows follow its inputs by themselves: recreated only when its SQL changed."""

    def prepare(self, ctx: BuildContext, nodes: list[CompiledNode]) -> None:
        for node in nodes:  # a view is read after the build too: its UDFs must be there whatever is built
            ctx.need_udfs(node)

    def run(self, ctx: BuildContext, node: CompiledNode) -> bool:
        ctx.keys[node.name] = _sha(node.fingerprint, *ctx.upstream(node))  # what readers of the view depend on
        if ctx.state.get(node.name) == ctx.keys[node.name] and ctx.relations.get(node.name) == "view":
            return False
        if ctx.state.get(f"sql:{node.name}") != node.fingerprint or ctx.relations.get(node.name) != "view":
            ctx.need_udfs(node)
            _make_room(ctx.con, node.name, "view", ctx.relations)
            ctx.con.execute(f"CREATE OR REPLACE VIEW {_ident(node.name)} AS\n{node.sql}")
            ctx.relations[node.name] = "view"
            ctx.built[f"sql:{node.name}"] = (node.fingerprint, _now())
        return True


class IncrementalStrategy(Strategy):
    """Rebuilt per stale (model, task) partition; every incremental node's partitions are planned
    at once, in SQL (``_plan_partitions``), and their keys written after all are built."""

    def __init__(self) -> None:
        self.fresh: dict[str, bool] = {}
        self.part_keys: dict[str, str] = {}
        self.stale: dict[str, tuple[int, bool]] = {}

    def prepare(self, ctx: BuildContext, nodes: list[CompiledNode]) -> None:
        self.fresh = {n.name: not (n.name in ctx.tables and ctx.state.get(n.name) is not None
                                   and ctx.state.get(f"sql:{n.name}") == n.fingerprint) for n in nodes}
        if not nodes:
            return
        ctx.con.execute(PARTITIONS_SQL)
        every = {n.name: n for n in (*ctx.compiled.nodes, *ctx.todo)}
        definitions = _definitions(every.values())
        ctx.empty_keys.update(_empty_keys(nodes, definitions, ctx.empty_salt()))
        # the partition sources this build does not write, asked whether they are empty in one query
        building = {n.name for n in ctx.todo}
        ctx.ask_empty(sorted({src for n in nodes if self.fresh[n.name] and isinstance(n.materialization, Incremental)
                              for src in n.materialization.sources if src in ctx.tables and src not in building}))
        rows = [(n.name, metric, prefix, self.fresh[n.name]) for n in nodes
                for metric, prefix in _partition_prefixes(n, every, definitions)]
        self.part_keys, self.stale = _plan_partitions(ctx.con, rows, ctx.selection)
        # the partition sources of the nodes that will read stale partitions, asked whether they are
        # empty in one query: those final already (store tables, and incremental nodes this build
        # leaves as they are); the others are asked when their reader is built (``_empty_sources``)
        kept = {n.name for n in nodes if not self.fresh[n.name] and self.stale.get(n.name, (0, False))[0] == 0}
        ctx.ask_empty(sorted({src for n in nodes if self.stale.get(n.name, (0, False))[0]
                              and isinstance(n.materialization, Incremental)
                              for src in n.materialization.sources
                              if src in ctx.tables and (src not in building or src in kept)}))

    def run(self, ctx: BuildContext, node: CompiledNode) -> bool:
        ctx.keys[node.name] = _sha(node.fingerprint, self.part_keys.get(node.name) or "")
        n_stale = self.stale.get(node.name, (0, False))
        fresh = self.fresh[node.name]
        if n_stale[0] == 0 and not fresh:
            return False
        whole = ctx.selection is None or ctx.selection.empty
        # a fresh node with no partition at all (a metric nothing was predicted for) whose partition
        # sources are all empty holds no rows: its table gets the query's columns without running
        # the query (a fresh store has dozens); a bootstrap replicate, with instance scores but no
        # partitions, runs its query
        sources = node.materialization.sources if isinstance(node.materialization, Incremental) else ()
        no_rows = fresh and n_stale[0] == 0 and bool(sources) and all(ctx.has_no_rows(s) for s in sources)
        columns = ctx.kept_columns(node.name) if no_rows else None
        if columns is not None and ctx.relations.get(node.name) in (None, "table"):
            # its columns are known: created with the others, before anything reads them
            ctx.pending.append((node, columns))
        else:
            ctx.flush()
            ctx.need_udfs(node)
            if fresh:
                _make_room(ctx.con, node.name, "table", ctx.relations)
            if no_rows:
                ctx.bound.append(node.name)
            self.build_one(ctx, node, fresh, whole, n_stale, no_rows)
        if no_rows:
            ctx.empty[node.name] = True
        ctx.result.partitions_built[node.name] = n_stale[0]
        ctx.built[f"sql:{node.name}"] = (node.fingerprint, _now())
        return True

    @staticmethod
    def build_one(ctx: BuildContext, node: CompiledNode, fresh: bool, whole: bool, n_stale: tuple[int, bool],
                  no_rows: bool) -> None:
        # (the paths of _build_incremental that read the stale partitions through views)
        reads_stale = not no_rows and (not whole if fresh else n_stale[0] > 0)
        empty = _empty_sources(ctx, node) if reads_stale else ()
        _build_incremental(ctx.con, node, not fresh, whole, ctx.schema, n_stale, no_rows, empty)

    def finish(self, ctx: BuildContext) -> None:
        if self.fresh:
            _store_partition_state(ctx.con, [name for name, is_fresh in self.fresh.items() if is_fresh])


def _empty_sources(ctx: BuildContext, node: CompiledNode) -> frozenset[str]:
    """The partition sources of ``node`` that hold no rows. Built before it (dependency order) or
    store tables a build does not write, they are final: the ones not known yet are asked in one
    query. A source that is not a table is never counted empty (its stale view is made)."""
    sources = node.materialization.sources if isinstance(node.materialization, Incremental) else ()
    tables = [s for s in sources if ctx.relations.get(s) == "table"]
    ctx.ask_empty(tables)
    return frozenset(s for s in tables if ctx.empty.get(s) is True)


# one strategy per materialization type (compiler/materialization.py)
STRATEGIES: dict[type[Materialization], type[Strategy]] = {
    Table: TableStrategy,
    View: ViewStrategy,
    Incremental: IncrementalStrategy,
}


def strategy_class(node: CompiledNode, registry: Mapping[type[Materialization], type[Any]]) -> type[Any]:
    """The strategy ``registry`` holds for the node's materialization type; a GlcError naming the
    node and its template when there is none."""
    cls = registry.get(type(node.materialization))
    if cls is None:
        known = ", ".join(sorted(k.kind for k in registry))
        raise GlcError(f"model '{node.name}': no build strategy for materialization "
                       f"'{node.materialization.kind or type(node.materialization).__name__}'",
                       location=node.template, hint=f"this engine builds: {known}")
    return cls


def build(con: duckdb.DuckDBPyConnection, compiled: CompiledProject,
          nodes: list[CompiledNode] | None = None, seeds: dict[str, Seed] | None = None,
          *, full_refresh: bool = False, selection: Selection | None = None,
          snapshot: bool = True, run_id: str | None = None,
          hooks: Sequence[BuildHook] | None = None) -> BuildResult:
    """Load changed seeds and build the stale ``nodes`` (default: all) in one transaction.

    Each node is built by the strategy of its materialization type (``STRATEGIES``); ``hooks``
    (default: ``glc.engine.hooks.default_hooks`` when ``snapshot``, none otherwise) take the domain steps
    around the build."""
    result = BuildResult(run_id=run_id or uuid.uuid4().hex[:12])
    started = _now()
    t0 = time.perf_counter()
    todo = list(compiled.nodes) if nodes is None else nodes
    seeds = compiled.seeds if seeds is None else seeds
    strategies: dict[type[Materialization], Strategy] = {}
    for node in todo:  # every node has a strategy before anything is built
        cls = strategy_class(node, STRATEGIES)
        strategies.setdefault(type(node.materialization), cls())
    hooks_default = hooks is None and snapshot
    if hooks is None:
        # results are kept lazily when both result models are tables (their rows change only when
        # they are rebuilt); otherwise a snapshot is copied after every result-changing build
        lazy = all((n := compiled.find(r)) is not None and isinstance(n.materialization, Table) for r in RESULTS)
        hooks = default_hooks(lazy=lazy) if snapshot else []
    missing = missing_tables(con, STATE_TABLES)
    ctx = BuildContext(con, compiled, todo, result, selection, hooks)
    ctx.seed_names = set(seeds)
    with transaction(con):
        if missing:  # the store's and the build's tables: in the build's commit (one sync of the log)
            con.execute(";\n".join(missing))
        ctx.relations = _relations(con)
        ctx.tables = {n for n, kind in ctx.relations.items() if kind == "table"}
        for hook in ctx.hooks:
            hook.start(ctx.hook_context())
        if full_refresh:
            con.execute("DELETE FROM glc_node_state")
            con.execute("DELETE FROM glc_partition_state")
            refresh_prediction_partitions(con)
        ctx.state = dict(con.execute("SELECT node, state_key FROM glc_node_state").fetchall())
        seed_keys = {name: seed.fingerprint() for name, seed in seeds.items()}
        versions = _store_versions(con)
        # a default build (every node, the compiled seeds, the default hooks, no --select, no full
        # refresh) whose inputs are those of the last one that found everything up to date finds that
        # again: it skips the per-node checks (the run is still recorded)
        guarded = nodes is None and seeds is compiled.seeds and hooks_default and not full_refresh \
            and (selection is None or selection.empty)
        inputs = _inputs_key(con, compiled, seed_keys, versions, ctx.relations) if guarded else None
        if inputs is not None and ctx.state.get(UNCHANGED) == inputs:
            for node in todo:  # views are read after the build (results, data tests): their UDFs too
                if isinstance(node.materialization, View):
                    ctx.need_udfs(node)
            result.skipped = [n.name for n in todo]
            result.unchanged = inputs
            _record_run(con, result, started, compiled)
            result.seconds = time.perf_counter() - t0
            return result
        for name, seed in seeds.items():
            ctx.keys[name] = seed_keys[name]
            if ctx.state.get(f"seed:{name}") != ctx.keys[name] or name not in ctx.tables:
                load_seed(con, seed)
                result.seeds_loaded.append(name)
                ctx.built[f"seed:{name}"] = (ctx.keys[name], _now())
        ctx.keys.update(versions)
        for kind, strategy in strategies.items():
            strategy.prepare(ctx, [n for n in todo if type(n.materialization) is kind])
        by_name = {n.name: n for n in compiled.nodes}
        for node in todo:
            t = time.perf_counter()
            if ctx.pending and _may_read(node, ctx.pending, by_name):
                ctx.flush()
            try:
                if not strategies[type(node.materialization)].run(ctx, node):
                    result.skipped.append(node.name)
                    continue
            except duckdb.Error as exc:
                hint = f"see target/compiled/{node.name}.sql"
                if views := _views_read(node, by_name):  # their SQL runs in this node's statement
                    hint += "; it reads views, computed here: " + ", ".join(f"{v.name} ({v.template})" for v in views)
                raise GlcError(f"building model '{node.name}' failed: {exc}", location=node.template,
                               hint=hint) from None
            ctx.built[node.name] = (ctx.keys[node.name], _now())
            result.node_seconds[node.name] = time.perf_counter() - t
        ctx.keep_empty()  # (creates the empty tables still waiting)
        for strategy in strategies.values():
            strategy.finish(ctx)
        if inputs is not None and not ctx.built and not result.partitions_built:  # nothing built: a fixed point
            con.execute("INSERT OR REPLACE INTO glc_node_state (node, state_key, built_at) VALUES (?, ?, ?)",
                        [UNCHANGED, inputs, _now()])
            result.unchanged = inputs
        elif UNCHANGED in ctx.state:
            con.execute("DELETE FROM glc_node_state WHERE node = ?", [UNCHANGED])
        _record(con, ctx.built)
        for hook in ctx.hooks:
            hook.after_build(ctx.hook_context())
        _record_run(con, result, started, compiled)
    result.seconds = time.perf_counter() - t0
    return result


def _record_run(con: duckdb.DuckDBPyConnection, result: BuildResult, started: datetime,
                compiled: CompiledProject) -> None:
    con.execute("INSERT INTO glc_runs VALUES (?, ?, ?, ?, ?, ?)",
                [result.run_id, started, _now(), compiled.manifest["fingerprint"], len(result.node_seconds),
                 "success"])


def _may_read(node: CompiledNode, pending: list[tuple[CompiledNode, list[list[str]]]],
              by_name: dict[str, CompiledNode]) -> bool:
    """Whether building ``node`` may read a table waiting in ``pending``: a view (its query is bound
    when created) or a node that reads one of them or a view."""
    if not isinstance(node.materialization, Incremental | Table):
        return True
    waiting = {n.name for n, _ in pending}
    return any(d in waiting or (d in by_name and isinstance(by_name[d].materialization, View))
               for d in node.depends_on)


def _views_read(node: CompiledNode, by_name: dict[str, CompiledNode]) -> list[CompiledNode]:
    """The views ``node`` reads, directly or through other views, in dependency order: an error in
    one of them surfaces when the node is built."""
    seen: set[str] = set()
    stack = [d for d in node.depends_on if d in by_name and isinstance(by_name[d].materialization, View)]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(d for d in by_name[name].depends_on
                         if d in by_name and isinstance(by_name[d].materialization, View))
    return [n for n in by_name.values() if n.name in seen]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _record(con: duckdb.DuckDBPyConnection, built: dict[str, tuple[str, datetime]]) -> None:
    """Store the state keys of what this build loaded or built, in one statement (bound lists: a few
    hundred rows, no pyarrow)."""
    if not built:
        return
    insert_lists(con, "glc_node_state", [("node", "VARCHAR"), ("state_key", "VARCHAR"), ("built_at", "TIMESTAMP")],
                 [(name, key, at) for name, (key, at) in built.items()], replace=True)
