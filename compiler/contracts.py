"""Table contracts: the columns of every source table, of the public result tables and of
the bookkeeping tables (``STATE``: run history, build state, bootstrap intervals).

Seeds come from the specs and are rebuilt on every run; store tables hold what users import
or runners produce and are never dropped by a build. Compiled SQL is qualified against these
columns, so a typo in a template fails at compile time, and public models are checked to
produce exactly their contract's columns. Every table the store creates is created from its
contract here (``Contract.ddl``); no other module writes CREATE TABLE statements for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sqlglot import exp


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str = ""


@dataclass(frozen=True)
class Contract:
    name: str
    kind: Literal["seed", "store", "public", "state"]
    columns: tuple[Column, ...]
    description: str = ""
    primary_key: str | None = None  # a column whose values are unique (INSERT OR REPLACE keys on it)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self, *, replace: bool = False) -> str:
        """CREATE TABLE IF NOT EXISTS (``replace``: CREATE OR REPLACE TABLE) for this contract: quoted
        names and the declared types (constants of this module, each checked to be a plain type
        name), without loading sqlglot."""
        for c in self.columns:
            if not _TYPE.match(c.type):
                raise ValueError(f"contract {self.name}: column {c.name} has type {c.type!r}")
        cols = ", ".join(f"{quote_ident(c.name)} {c.type}" + (" PRIMARY KEY" if c.name == self.primary_key else "")
                         for c in self.columns)
        verb = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE IF NOT EXISTS"
        return f"{verb} {quote_ident(self.name)} ({cols})"


_TYPE = re.compile(r"^[A-Z]+(\(\d+(, ?\d+)?\))?(\[\])*$")  # VARCHAR, DECIMAL(18, 3), DOUBLE[]


def quote_ident(name: str) -> str:
    """A SQL identifier, double-quoted (inner quotes doubled): the form sqlglot writes for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def _c(name: str, type_: str, description: str = "") -> Column:
    return Column(name, type_, description)


SEEDS: dict[str, Contract] = {c.name: c for c in [
    Contract("tasks", "seed", (
        _c("task_id", "VARCHAR", "stable id from the task spec"),
        _c("task_name", "VARCHAR", "official task name, byte-exact"),
        _c("short_name", "VARCHAR"),
        _c("modality", "VARCHAR", "image, video, audio, 3d or nlp"),
        _c("paradigm", "VARCHAR", "comprehension, generation or nlp"),
        _c("task_group", "VARCHAR", "C (comprehension), G (generation) or L (language)"),
        _c("metric", "VARCHAR", "metric key"),
        _c("sota", "DOUBLE", "raw metric value of the best specialist (Level-1)"),
        _c("sota_source", "VARCHAR"),
        _c("sheet", "VARCHAR", "official workbook sheet"),
        _c("official_no", "INTEGER"),
        _c("official_metric", "VARCHAR", "metric string of the official workbook"),
        _c("spec_path", "VARCHAR"),
        _c("judged", "BOOLEAN", "scored on an evaluator's reading of the generated output (judgments)"),
        _c("prediction_box_format", "VARCHAR", "xyxy or xywh: how the task's box predictions are read (box tasks)"),
    ), "one row per benchmark task, from specs/tasks"),
    Contract("metrics", "seed", (
        _c("metric", "VARCHAR"),
        _c("title", "VARCHAR"),
        _c("direction", "VARCHAR", "higher or lower is better"),
        _c("unit", "VARCHAR"),
        _c("range_min", "DOUBLE"),
        _c("range_max", "DOUBLE"),
        _c("norm_kind", "VARCHAR", "identity, sigmoid_distance, tanh, complement or linear"),
        _c("norm_threshold", "DOUBLE", "threshold T (sigmoid_distance only)"),
        _c("norm_scale", "DOUBLE", "scale (tanh only)"),
        _c("norm_total", "DOUBLE", "total (complement only)"),
        _c("norm_low", "DOUBLE", "low (linear only)"),
        _c("norm_high", "DOUBLE", "high (linear only)"),
    ), "one row per metric, from specs/metrics"),
    Contract("scopes", "seed", (
        _c("scope", "VARCHAR"),
        _c("family", "VARCHAR"),
        _c("title", "VARCHAR"),
        _c("max_level", "INTEGER", "levels above this are not defined for the scope"),
        _c("n_tasks", "INTEGER"),
    ), "leaderboard scopes, from specs/scopes"),
    Contract("scope_tasks", "seed", (
        _c("scope", "VARCHAR"),
        _c("task_id", "VARCHAR"),
    ), "which tasks each scope holds"),
    Contract("models", "seed", (
        _c("model", "VARCHAR"),
        _c("revision", "VARCHAR"),
        _c("role", "VARCHAR", "generalist, or specialist (Level-1: measured SoTA, off the level boards)"),
        _c("spec_path", "VARCHAR"),
    ), "models glc can run, from specs/models"),
]}

STORE: dict[str, Contract] = {c.name: c for c in [
    Contract("imported_scores", "store", (
        _c("model", "VARCHAR"),
        _c("task_id", "VARCHAR"),
        _c("score", "DOUBLE", "raw metric value as reported"),
        _c("raw_value", "VARCHAR", "the cell or field as read"),
        _c("source_file", "VARCHAR"),
        _c("sheet", "VARCHAR"),
        _c("row_no", "INTEGER"),
        _c("column_name", "VARCHAR"),
        _c("import_id", "VARCHAR"),
    ), "task-level scores imported from workbooks or tables"),
    Contract("imported_models", "store", (
        _c("model", "VARCHAR"),
        _c("source_file", "VARCHAR"),
        _c("source_sha256", "VARCHAR"),
        _c("n_scores", "INTEGER"),
        _c("n_missing", "INTEGER"),
        _c("imported_at", "TIMESTAMP"),
        _c("import_id", "VARCHAR"),
    ), "one row per imported model: where its scores came from"),
    Contract("instances", "store", (
        _c("task_id", "VARCHAR"),
        _c("instance_id", "VARCHAR"),
        _c("input", "VARCHAR", "the instance's input as JSON"),
        _c("reference", "VARCHAR", "the reference as JSON, in the declared type"),
        _c("ref_kind", "VARCHAR", "text, choice, label, labels, number, boxes or image"),
        _c("ref_texts", "VARCHAR[]", "reference strings (answers, labels, choice letter, image path)"),
        _c("ref_number", "DOUBLE"),
        _c("media", "VARCHAR", "JSON list of {field, path}: the media files, checked to exist when loaded"),
        _c("source_file", "VARCHAR"),
        _c("dataset_fp", "VARCHAR", "fingerprint of the task's data and dataset spec"),
    ), "task data, one row per instance, loaded from each task's dataset"),
    Contract("predictions", "store", (
        _c("model", "VARCHAR"),
        _c("task_id", "VARCHAR"),
        _c("instance_id", "VARCHAR"),
        _c("output", "VARCHAR", "the prediction as text (JSON for structured outputs); NULL when none"),
        _c("output_type", "VARCHAR", "string, number, list, object, null"),
        _c("content_key", "VARCHAR", "content address of what produced the output"),
        _c("backend", "VARCHAR"),
        _c("backend_version", "VARCHAR"),
        _c("latency_ms", "DOUBLE"),
        _c("error", "VARCHAR"),
        _c("batch_id", "VARCHAR", "the import or run batch that wrote the row"),
        _c("created_at", "TIMESTAMP"),
    ), "instance-level predictions: imported or produced by runners"),
    Contract("prediction_partitions", "store", (
        _c("model", "VARCHAR"),
        _c("task_id", "VARCHAR"),
        _c("n_rows", "BIGINT"),
        _c("batches", "VARCHAR", "order-free checksum of the batch ids that wrote the partition"),
    ), "one row per (model, task) holding predictions, kept by every writer of predictions"),
    Contract("judgments", "store", (
        _c("model", "VARCHAR"),
        _c("task_id", "VARCHAR"),
        _c("instance_id", "VARCHAR"),
        _c("prediction_key", "VARCHAR", "content key of the prediction judged"),
        _c("content_key", "VARCHAR", "content address of the evaluator run on it"),
        _c("output", "VARCHAR", "what the evaluator read (a transcript; JSON feature vectors or a number for a "
                                "metric's evaluator)"),
        _c("backend", "VARCHAR"),
        _c("latency_ms", "DOUBLE"),
        _c("error", "VARCHAR"),
        _c("batch_id", "VARCHAR"),
        _c("created_at", "TIMESTAMP"),
    ), "task evaluators' readings of generated media, scored by the metric instead of the raw output"),
    Contract("harness_scores", "store", (
        _c("model", "VARCHAR"),
        _c("task_id", "VARCHAR"),
        _c("instance_id", "VARCHAR", "the glc instance the harness's sample was matched to"),
        _c("harness", "VARCHAR", "lm-eval, lmms-eval, vlmevalkit or inspect"),
        _c("harness_task", "VARCHAR", "the harness's task or dataset name"),
        _c("metric", "VARCHAR", "the harness's name of the per-sample score (Inspect: the scorer)"),
        _c("value", "DOUBLE", "the score as a number (Inspect C/I/P/N: 1/0/0.5/0); NULL when not finite"),
        _c("raw_value", "VARCHAR", "the score as the log wrote it (numbers in float notation, objects as JSON)"),
        _c("source_file", "VARCHAR"),
        _c("sample", "VARCHAR", "where the sample is in the file: line, row or sample id and epoch"),
        _c("import_id", "VARCHAR", "the import that wrote the row (the batch_id of its predictions)"),
    ), "the harnesses' own per-sample scores of imported predictions, beside glc's instance scores"),
]}

PUBLIC: dict[str, Contract] = {c.name: c for c in [
    Contract("task_scores", "public", (
        _c("model", "VARCHAR"), _c("task_id", "VARCHAR"), _c("task_name", "VARCHAR"),
        _c("modality", "VARCHAR"), _c("paradigm", "VARCHAR"), _c("metric", "VARCHAR"),
        _c("score", "DOUBLE"), _c("n_instances", "BIGINT"), _c("n_scored", "BIGINT"), _c("source", "VARCHAR"),
    ), "one raw score per (model, task) and where it came from"),
    Contract("level_scores", "public", (
        _c("model", "VARCHAR"), _c("variant", "VARCHAR"), _c("scope", "VARCHAR"),
        _c("level_2", "DOUBLE"), _c("level_3", "DOUBLE"), _c("level_4", "DOUBLE"), _c("level_5", "DOUBLE"),
        _c("s_c", "DOUBLE"), _c("s_g", "DOUBLE"), _c("s_l", "DOUBLE"), _c("level", "INTEGER"),
        _c("level_without_ties", "INTEGER", "the level reached when a tie with the SoTA is no win"),
        _c("n_tasks", "INTEGER", "tasks of the scope with a SoTA"),
        _c("n_attempted", "INTEGER", "of those, tasks with a score (the others count 0)"),
        _c("n_wins", "INTEGER"), _c("n_ties", "INTEGER", "wins that are ties with the SoTA"),
        _c("n_pending", "INTEGER", "tasks of the scope without a SoTA yet (not counted)"),
        _c("n_complete", "INTEGER", "attempted tasks scored on all their instances"),
        _c("instances_scored", "BIGINT", "instances with a real answer (predicted scores)"),
        _c("instances_total", "BIGINT", "instances the predicted scores are computed over"),
        _c("n_imported", "INTEGER", "attempted tasks whose score is an imported task score (no instances)"),
    ), "Level-2..5 scores and the level reached per (model, variant, scope), with what they rest on"),
]}

_LEVELS = ("level_2", "level_3", "level_4", "level_5")

# bookkeeping of builds and runs: never read by SQL models, never dropped by a build
STATE: dict[str, Contract] = {c.name: c for c in [
    Contract("glc_runs", "state", (
        _c("run_id", "VARCHAR"), _c("started_at", "TIMESTAMP"), _c("finished_at", "TIMESTAMP"),
        _c("manifest_fingerprint", "VARCHAR"), _c("nodes_built", "INTEGER"), _c("status", "VARCHAR"),
    ), "one row per build"),
    Contract("glc_run_levels", "state", (
        _c("run_id", "VARCHAR"), _c("model", "VARCHAR"), _c("variant", "VARCHAR"), _c("scope", "VARCHAR"),
        *(_c(k, "DOUBLE") for k in _LEVELS), _c("level", "INTEGER"),
    ), "run history: the level rows of each result-changing run (glc diff run:ID)"),
    Contract("glc_run_tasks", "state", (
        _c("run_id", "VARCHAR"), _c("model", "VARCHAR"), _c("task_id", "VARCHAR"), _c("sigma", "DOUBLE"),
        _c("vs_sota", "INTEGER"),
    ), "run history: the task results of each result-changing run"),
    Contract("glc_node_state", "state", (
        _c("node", "VARCHAR"), _c("state_key", "VARCHAR"), _c("built_at", "TIMESTAMP"),
    ), "DuckDB build: the state key of each node, seed and SQL text as last built", primary_key="node"),
    Contract("glc_partition_state", "state", (
        _c("node", "VARCHAR"), _c("model", "VARCHAR"), _c("task_id", "VARCHAR"), _c("state_key", "VARCHAR"),
    ), "DuckDB build: the state key of each (model, task) partition of an incremental node"),
    Contract("glc_spark_tables", "state", (
        _c("name", "VARCHAR"), _c("state_key", "VARCHAR"), _c("location", "VARCHAR"), _c("spark_schema", "VARCHAR"),
        _c("built_at", "TIMESTAMP"),
    ), "Spark build: state key and Parquet folder of each node and source copy", primary_key="name"),
    Contract("glc_spark_partitions", "state", (
        _c("node", "VARCHAR"), _c("model", "VARCHAR"), _c("task_id", "VARCHAR"), _c("state_key", "VARCHAR"),
    ), "Spark build: the state key of each partition of an incremental node"),
    Contract("glc_plan_jobs", "state", (
        _c("model", "VARCHAR"), _c("task_id", "VARCHAR"),
        _c("digest", "VARCHAR", "what the job's content keys were computed from (glc/execute/plan_memo.py)"),
        _c("n_keys", "INTEGER", "instances whose keys are remembered: the first n in instance order"),
        _c("complete", "BOOLEAN", "the keys cover every instance of the task"),
    ), "planning: the content keys of each (model, task) job, remembered by what they were computed from"),
    Contract("glc_plan_keys", "state", (
        _c("model", "VARCHAR"), _c("task_id", "VARCHAR"), _c("position", "INTEGER", "in instance order, from 0"),
        _c("instance_id", "VARCHAR"), _c("content_key", "VARCHAR"),
    ), "planning: the content key each instance's prediction must have to be current"),
    Contract("level_intervals", "state", (
        _c("model", "VARCHAR"), _c("variant", "VARCHAR"), _c("scope", "VARCHAR"), _c("replicates", "INTEGER"),
        _c("confidence", "DOUBLE"), _c("seed", "BIGINT"),
        *(c for k in _LEVELS for c in (_c(f"{k}_lo", "DOUBLE"), _c(f"{k}_hi", "DOUBLE"))),
    ), "glc bootstrap: percentile intervals of the levels (dropped when a build changes the results)"),
]}

SOURCES: dict[str, Contract] = {**SEEDS, **STORE}


def source_schema() -> dict[str, dict[str, str]]:
    """The sqlglot schema mapping of every source table."""
    return {name: {c.name: c.type for c in con.columns} for name, con in SOURCES.items()}


def parse_type(type_: str) -> exp.DataType:
    from sqlglot import exp

    return exp.DataType.build(type_, dialect="duckdb")


__all__ = ["Column", "Contract", "SEEDS", "STORE", "PUBLIC", "SOURCES", "STATE", "source_schema"]
