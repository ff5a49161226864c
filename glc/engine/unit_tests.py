"""Unit tests of SQL nodes declared in YAML: given source rows -> expected model rows.

Each test runs in its own in-memory DuckDB with the project's metrics and scopes, the
tasks and imported scores the test gives, and only the models its target needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import duckdb
from pydantic import ValidationError
from sqlglot import exp

from glc.compiler.contracts import STORE
from glc.compiler.errors import GlcError
from glc.compiler.loader import Located
from glc.compiler.plan import CompiledProject
from glc.compiler.resolve import Task
from glc.compiler.seeds import build_seeds
from glc.compiler.spec_models import TaskSpec, UnitTestSpec
from glc.engine.build import ancestors, build
from glc.engine.store import DIALECT, ensure_store, insert_rows, locked_down


@dataclass(frozen=True)
class UnitTestResult:
    name: str
    location: str
    passed: bool
    message: str = ""


def _given_tasks(compiled: CompiledProject, rows: list[dict[str, Any]]) -> list[Task]:
    metrics = {m.name: m for m in compiled.project.metrics}
    tasks = []
    for row in rows:
        spec = TaskSpec.model_validate({
            "id": row["task_id"], "name": row.get("task_name", row["task_id"]),
            "modality": row["modality"], "paradigm": row["paradigm"], "metric": row["metric"],
            "sota": None if row.get("sota") is None else {"value": row["sota"], "source": "unit test"},
        })
        if spec.metric not in metrics:
            raise ValueError(f"task '{spec.id}' names unknown metric '{spec.metric}'")
        tasks.append(Task(spec, metrics[spec.metric], "unit test"))
    return tasks


def _rows_for(table: str, given: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    cols = STORE[table].column_names
    unknown = sorted({k for row in given for k in row} - set(cols))
    if unknown:
        raise ValueError(f"'{table}' has no column(s) {unknown}; columns: {cols}")
    return [tuple(row.get(c) for c in cols) for row in given]


def _same(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=tol)
    return a == b


def sandbox(compiled: CompiledProject, tasks: list[Task] | None, scores: list[tuple[Any, ...]],
            models: list[tuple[Any, ...]], targets: list[str]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the given rows and the models ``targets`` need, built. Locked down
    as the store is (``locked_down``): the models are a stranger's SQL, which must read no file
    (``read_text``), write none (``COPY``) and load no extension here either."""
    con = locked_down()
    try:
        ensure_store(con)
        insert_rows(con, STORE["imported_scores"], scores)
        insert_rows(con, STORE["imported_models"], models)
        build(con, compiled, ancestors(compiled, targets), seeds=build_seeds(compiled.project, tasks))
    except BaseException:
        con.close()
        raise
    return con


def run_unit_test(compiled: CompiledProject, loc: Located[UnitTestSpec]) -> UnitTestResult:
    spec = loc.spec
    where = f"{loc.path}:{loc.line}"
    try:
        tasks = _given_tasks(compiled, spec.given["tasks"]) if "tasks" in spec.given else None
        scores = _rows_for("imported_scores", spec.given.get("imported_scores", []))
        if "imported_models" in spec.given:
            models = _rows_for("imported_models", spec.given["imported_models"])
        else:
            names = sorted({r[0] for r in scores})
            models = _rows_for("imported_models", [{"model": m} for m in names])
    except (ValidationError, ValueError, KeyError) as exc:
        return UnitTestResult(spec.name, where, False, f"bad given rows: {exc}")
    try:
        con = sandbox(compiled, tasks, scores, models, [spec.model])
    except (duckdb.Error, GlcError) as exc:
        return UnitTestResult(spec.name, where, False, f"build failed: {exc}")
    try:
        query = exp.select("*").from_(exp.to_table(spec.model))
        for col, value in sorted(spec.expect.where.items()):
            query = query.where(exp.EQ(this=exp.column(col, quoted=True), expression=exp.convert(value)))
        rel = con.sql(query.sql(DIALECT))
        actual = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    except duckdb.Error as exc:
        return UnitTestResult(spec.name, where, False, f"query failed: {exc}")
    finally:
        con.close()
    return _compare(spec, where, actual)


def _compare(spec: UnitTestSpec, where: str, actual: list[dict[str, Any]]) -> UnitTestResult:
    expected = spec.expect.rows
    if len(actual) != len(expected):
        return UnitTestResult(spec.name, where, False,
                              f"expected {len(expected)} row(s), got {len(actual)}: {actual}")
    remaining = list(actual)
    for exp_row in expected:
        missing_cols = [c for c in exp_row if actual and c not in actual[0]]
        if missing_cols:
            return UnitTestResult(spec.name, where, False, f"model '{spec.model}' has no column(s) {missing_cols}")
        match = next((r for r in remaining
                      if all(_same(r[c], v, spec.tolerance) for c, v in exp_row.items())), None)
        if match is None:
            closest = [{c: r[c] for c in exp_row} for r in remaining]
            return UnitTestResult(spec.name, where, False, f"no row matches {exp_row}; rows left: {closest}")
        remaining.remove(match)
    return UnitTestResult(spec.name, where, True)
