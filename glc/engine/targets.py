"""Engines that build the compiled DAG: DuckDB (``glc.engine.build``) or Spark (``glc.engine.spark``).

The store is a DuckDB file for every target; the target's ``type`` chooses what builds the DAG.
"""

from __future__ import annotations

from typing import Any

import duckdb

from glc.compiler.plan import CompiledProject
from glc.engine.build import BuildResult
from glc.engine.build import build as duckdb_build
from glc.profiles import Target


def build_dag(con: duckdb.DuckDBPyConnection, compiled: CompiledProject, target: Target, **options: Any) -> BuildResult:
    """Build the DAG with the engine of ``target`` (``options``: those of ``glc.engine.build.build``)."""
    if target.type == "spark":
        from glc.engine.spark import build as spark_build

        assert target.spark is not None  # profiles: a spark target has its settings
        return spark_build(con, compiled, target.spark, **options)
    return duckdb_build(con, compiled, **options)
