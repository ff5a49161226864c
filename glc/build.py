"""Build the compiled SQL DAG in DuckDB: seeds from specs, then every model as a table."""

from __future__ import annotations

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
from glc.store import DIALECT, ensure_store, load_seeds, transaction


@dataclass
class BuildResult:
    run_id: str
    node_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def create_table_sql(node: CompiledNode) -> str:
    """``CREATE OR REPLACE TABLE <node> AS <compiled query>``, built with sqlglot."""
    query = sqlglot.parse_one(node.sql, dialect=DIALECT)
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


def build(con: duckdb.DuckDBPyConnection, compiled: CompiledProject,
          nodes: list[CompiledNode] | None = None, seeds: dict[str, Seed] | None = None) -> BuildResult:
    """Load seeds (default: the compiled ones) and build ``nodes`` (default: all) in one transaction."""
    result = BuildResult(run_id=uuid.uuid4().hex[:12])
    started = datetime.now(UTC).replace(tzinfo=None)
    t0 = time.perf_counter()
    todo = list(compiled.nodes) if nodes is None else nodes
    ensure_store(con)
    with transaction(con):
        load_seeds(con, compiled.seeds if seeds is None else seeds)
        for node in todo:
            t = time.perf_counter()
            try:
                con.execute(create_table_sql(node))
            except duckdb.Error as exc:
                raise GlcError(f"building model '{node.name}' failed: {exc}", location=node.template,
                               hint=f"see target/compiled/{node.name}.sql") from None
            result.node_seconds[node.name] = time.perf_counter() - t
        con.execute("INSERT INTO glc_runs VALUES (?, ?, ?, ?, ?, ?)",
                    [result.run_id, started, datetime.now(UTC).replace(tzinfo=None),
                     compiled.manifest["fingerprint"], len(todo), "success"])
    result.seconds = time.perf_counter() - t0
    return result
