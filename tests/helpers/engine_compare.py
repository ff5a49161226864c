"""Compare the tables of two engines' builds row by row (tests/test_spark.py, benchmarks/bench_spark.py)."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from glc.compiler.plan import CompiledProject


def duckdb_tables(db: str | Path, names: list[str]) -> dict[str, pa.Table]:
    """The named tables (or views) of a DuckDB file, as Arrow."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {n: con.table(n).to_arrow_table() for n in names}
    finally:
        con.close()


def spark_tables(db: str | Path) -> dict[str, pa.Table]:
    """Every table of the last Spark build of a store (glc_spark_tables: name -> Parquet folder)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT name, location FROM glc_spark_tables").fetchall()
    finally:
        con.close()
    return {name: pq.read_table(location) for name, location in rows}


def _value(v: Any) -> Any:
    """A cell in a comparable form: numbers as float, maps as sorted (key, value) tuples, lists as tuples."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int | float | Decimal):
        return float(v)
    if isinstance(v, dict):
        return tuple(sorted((k, _value(x)) for k, x in v.items()))
    if isinstance(v, list):
        if v and all(isinstance(x, tuple) and len(x) == 2 for x in v):  # an Arrow map
            return tuple(sorted((k, _value(x)) for k, x in v))
        return tuple(_value(x) for x in v)
    return v


def _sort_key(row: tuple[Any, ...]) -> tuple[str, ...]:
    """Exact values first, floats rounded: rows that differ by 1e-12 still sort alike."""
    def one(v: Any) -> str:
        if isinstance(v, float):
            return "nan" if math.isnan(v) else f"{v:.6e}"
        return repr(v)
    return tuple(one(v) for v in row)


def _close(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    return a == b


def table_differences(name: str, a: pa.Table, b: pa.Table, tol: float = 1e-9) -> list[str]:
    """Why tables ``a`` and ``b`` differ (columns, row counts, the first unequal rows); [] when equal."""
    if a.column_names != b.column_names:
        return [f"{name}: columns {a.column_names} != {b.column_names}"]
    rows_a = sorted((tuple(_value(v) for v in r.values()) for r in a.to_pylist()), key=_sort_key)
    rows_b = sorted((tuple(_value(v) for v in r.values()) for r in b.to_pylist()), key=_sort_key)
    if len(rows_a) != len(rows_b):
        return [f"{name}: {len(rows_a)} rows != {len(rows_b)} rows"]
    out = []
    for ra, rb in zip(rows_a, rows_b, strict=True):
        if not _close(ra, rb, tol):
            diff = {c: (x, y) for c, x, y in zip(a.column_names, ra, rb, strict=True) if not _close(x, y, tol)}
            out.append(f"{name}: {dict(zip(a.column_names[:3], ra[:3], strict=True))} differs: {diff}")
            if len(out) >= 5:
                break
    return out


def node_differences(compiled: CompiledProject, duck_db: str | Path, spark_db: str | Path,
                     tol: float = 1e-9) -> tuple[int, list[str]]:
    """(nodes compared, differences) between the DuckDB build in ``duck_db`` and the Spark build
    whose store is ``spark_db``: every node of the DAG."""
    names = [n.name for n in compiled.nodes]
    spark = spark_tables(spark_db)
    duck = duckdb_tables(duck_db, names)
    problems = [f"{n}: not built on Spark" for n in names if n not in spark]
    for n in names:
        if n in spark:
            problems += table_differences(n, duck[n], spark[n], tol)
    return len(names), problems
