"""``glc diff harness:MODEL``: where a harness and glc judge the same predictions differently.

For each task the model has harness scores for, and each of the harness's per-sample metrics,
the harness's value (``harness_scores``) is set beside glc's instance score of the task's metric
(``instance_scores__<metric>``, built by ``glc run``) for the same instance and so the same
imported prediction. A sample counts as correct for a side when its value is at least 0.5 (glc's
instance values of accuracy-like metrics are 0..1; harness scores are 0/1, Inspect's letters
1/0/0.5/0). Listed per task: how many were compared and agree, then the instances the harness
calls correct and glc wrong, and the other way round, with the prediction and the reference.
Instances glc gives no per-instance value (metrics scored on the whole set, such as BLEU) are
counted as not compared.
"""

from __future__ import annotations

from typing import Any

import duckdb
from sqlglot import exp

from glc.compiler.errors import GlcError
from glc.compiler.plan import CompiledProject
from glc.engine.store import DIALECT
from glc.importers.safety import clip, preview

SHOWN = 10
PREVIEW = 60


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def harness_diff(con: duckdb.DuckDBPyConnection, compiled: CompiledProject, model: str, shown: int = SHOWN,
                 ) -> list[dict[str, Any]]:
    project = compiled.project
    tables = _tables(con)
    if "harness_scores" not in tables:
        raise GlcError("no harness scores in the store", hint="import a harness's logs first: glc import "
                       "predictions --from FORMAT PATH --model NAME --map MAP.yaml")
    pairs = con.execute("SELECT DISTINCT task_id, harness, harness_task, metric FROM harness_scores WHERE model = ? "
                        "ORDER BY task_id, metric", [model]).fetchall()
    if not pairs:
        known = [r[0] for r in con.execute("SELECT DISTINCT model FROM harness_scores ORDER BY model").fetchall()]
        raise GlcError(f"no harness scores of model '{clip(model, 200)}'",
                       hint="models with harness scores: " + (", ".join(known) or "(none)"))
    metric_of = {t.id: t.metric.name for t in project.tasks}
    out: list[dict[str, Any]] = []
    for task_id, harness, harness_task, metric in pairs:
        row: dict[str, Any] = {"task_id": task_id, "harness": harness, "harness_task": harness_task,
                               "harness_metric": metric, "glc_metric": metric_of.get(task_id)}
        node = compiled.find("instance_scores", metric=metric_of[task_id]) if task_id in metric_of else None
        table = node.name if node is not None else ""
        if node is None or table not in tables:
            raise GlcError(f"no glc instance scores for task '{task_id}' yet",
                           hint="run `glc run` after importing, so glc scores the imported predictions")
        rows = con.execute(_query(table), [model, task_id, metric]).fetchall()
        compared = [r for r in rows if r[2] is not None and r[1] is not None]
        row["n"] = len(rows)
        row["compared"] = len(compared)
        row["agree"] = sum((r[1] >= 0.5) == (r[2] >= 0.5) for r in compared)
        row["harness_only"] = [_item(r) for r in compared if r[1] >= 0.5 > r[2]]
        row["glc_only"] = [_item(r) for r in compared if r[2] >= 0.5 > r[1]]
        row["n_harness_only"], row["n_glc_only"] = len(row["harness_only"]), len(row["glc_only"])
        row["harness_only"], row["glc_only"] = row["harness_only"][:shown], row["glc_only"][:shown]
        out.append(row)
    return out


def _query(table: str) -> str:
    """harness value, glc value, prediction and reference per instance of one (task, harness metric)."""
    q = (exp.select("h.instance_id", "h.value", "g.value", "p.output", "i.reference", "h.raw_value", "h.sample")
         .from_(exp.alias_(exp.to_table("harness_scores"), "h"))
         .join(exp.alias_(exp.Table(this=exp.to_identifier(table, quoted=True)), "g"), join_type="left",
               on="g.model = h.model AND g.task_id = h.task_id AND g.instance_id = h.instance_id")
         .join(exp.alias_(exp.to_table("predictions"), "p"), join_type="left",
               on="p.model = h.model AND p.task_id = h.task_id AND p.instance_id = h.instance_id")
         .join(exp.alias_(exp.to_table("instances"), "i"), join_type="left",
               on="i.task_id = h.task_id AND i.instance_id = h.instance_id")
         .where("h.model = ? AND h.task_id = ? AND h.metric = ?")
         .order_by("h.instance_id"))
    return q.sql(DIALECT)


def _item(r: tuple) -> dict[str, Any]:
    return {"instance_id": r[0], "harness": r[5], "glc": r[2], "prediction": _short(r[3]),
            "reference": clip(r[4] or "", PREVIEW + 20), "sample": r[6]}


def _short(text: str | None) -> str:
    """The text as Python writes it (quotes, escaped spaces and line breaks: a leading space shows), cut short."""
    return "None" if text is None else preview(text, PREVIEW)


def render(model: str, rows: list[dict[str, Any]]) -> str:
    lines = [f"harness vs glc on the same predictions of model '{model}' (correct: a value of at least 0.5)"]
    for r in rows:
        lines.append(f"{r['task_id']} ({r['harness']} {r['harness_task']}, {r['harness_metric']} vs glc "
                     f"{r['glc_metric']}): {r['agree']} of {r['compared']} agree; harness correct and glc wrong: "
                     f"{r['n_harness_only']}; glc correct and harness wrong: {r['n_glc_only']}"
                     + (f"; {r['n'] - r['compared']} not compared (no per-instance value)"
                        if r["n"] != r["compared"] else ""))
        for label, key in (("harness correct, glc wrong", "harness_only"), ("glc correct, harness wrong", "glc_only")):
            for it in r[key]:
                lines.append(f"    {label}: {it['instance_id']} ({it['sample']}): prediction {it['prediction']}, "
                             f"reference {it['reference']}, harness {it['harness']}, glc {it['glc']:g}")
            more = r[f"n_{key}"] - len(r[key])
            if more > 0:
                lines.append(f"    ... and {more} more ({label})")
    return "\n".join(lines)
