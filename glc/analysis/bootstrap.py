"""Bootstrap confidence intervals for Level scores.

For each replicate, the instances of every task with predictions are resampled with
replacement (numpy, fixed seed, multinomial counts per task); the instance-score tables are
replaced by the resampled rows in an in-memory sandbox, and the project's own compiled SQL
rebuilds task scores, wins, groups and levels from them, so intervals come from exactly the
rules the point estimates use. Tasks with imported scores only do not vary. The percentile
intervals are stored in ``level_intervals`` (one row per model, variant and scope).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from glc.compiler.contracts import STATE
from glc.compiler.plan import CompiledProject
from glc.compiler.spec_models import BootstrapSpec
from glc.engine.build import ancestors, build

LEVELS = ("level_2", "level_3", "level_4", "level_5")
INTERVALS_DDL = STATE["level_intervals"].ddl(replace=True)  # from its contract (compiler/contracts.py)


def _arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    rel = con.sql(sql)
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow  # DuckDB 2 renamed it
    return fetch()


def _replicate_nodes(compiled: CompiledProject) -> list:
    """What a replicate rebuilds: everything level_scores needs, except the instance scores
    (replaced by resampled rows) and the model list (copied)."""
    return [n for n in ancestors(compiled, ["level_scores"])
            if n.model not in ("instance_scores", "instance_refs") and n.name != "evaluated_models"]


def bootstrap(con: duckdb.DuckDBPyConnection, compiled: CompiledProject, spec: BootstrapSpec) -> int:
    """Compute and store ``level_intervals``; return the number of (model, variant, scope) rows."""
    inst_nodes = [n.name for n in compiled.nodes_of("instance_scores")]
    sizes = con.execute("SELECT task_id, count(*) FROM instances GROUP BY task_id ORDER BY task_id").fetchall()
    members = {t: [r[0] for r in con.execute("SELECT instance_id FROM instances WHERE task_id = ? "
                                             "ORDER BY instance_id", [t]).fetchall()] for t, _ in sizes}
    rng = np.random.default_rng(spec.seed)
    sb = duckdb.connect(":memory:")
    try:
        for table in ("imported_scores", "imported_models", "evaluated_models", *inst_nodes):
            sb.register("__src", _arrow(con, f'SELECT * FROM "{table}"'))
            sb.execute(f'CREATE TABLE "base_{table}" AS SELECT * FROM __src')
            sb.unregister("__src")
        for table in ("imported_scores", "imported_models", "evaluated_models"):
            sb.execute(f'CREATE TABLE "{table}" AS SELECT * FROM "base_{table}"')
        nodes = _replicate_nodes(compiled)
        draws = []
        for _ in range(spec.replicates):
            task_ids, inst_ids, counts = [], [], []
            for task, ids in members.items():
                c = rng.multinomial(len(ids), np.full(len(ids), 1.0 / len(ids)))
                keep = c > 0
                task_ids += [task] * int(keep.sum())
                inst_ids += [i for i, k in zip(ids, keep, strict=True) if k]
                counts += c[keep].tolist()
            sb.register("__counts", pa.table({"task_id": task_ids, "instance_id": inst_ids, "n": counts}))
            for table in inst_nodes:
                sb.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT s.* FROM "base_{table}" AS s '
                           "JOIN __counts AS c ON c.task_id = s.task_id AND c.instance_id = s.instance_id, "
                           "range(c.n)")
            sb.unregister("__counts")
            build(sb, compiled, nodes, full_refresh=True, snapshot=False)
            draws.append(_arrow(sb, "SELECT model, variant, scope, " + ", ".join(LEVELS) + " FROM level_scores"))
        sb.register("__draws", pa.concat_tables(draws))
        lo, hi = (1 - spec.confidence) / 2, 1 - (1 - spec.confidence) / 2
        quantiles = ", ".join(f"quantile_cont({k}, {lo}) AS {k}_lo, quantile_cont({k}, {hi}) AS {k}_hi"
                              for k in LEVELS)
        result = _arrow(sb, f"SELECT model, variant, scope, {spec.replicates}, {spec.confidence}, {spec.seed}, "
                            f"{quantiles} FROM __draws GROUP BY model, variant, scope ORDER BY ALL")
    finally:
        sb.close()
    con.execute(INTERVALS_DDL)
    con.register("__intervals", result)
    con.execute("INSERT INTO level_intervals SELECT * FROM __intervals")
    con.unregister("__intervals")
    return result.num_rows
