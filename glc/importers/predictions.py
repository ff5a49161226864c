"""Predictions into the store: General-Bench ``prediction.json`` files or JSONL/Parquet/CSV rows.

Layouts:
* a folder (or one ``prediction.json``): each ``prediction.json`` lies beside the
  ``annotation.json`` of a task whose spec points its dataset at that folder; it is a list of
  ``{id, prediction}``;
* a table (``.jsonl``, ``.parquet``, ``.csv``) with ``task``, ``instance_id`` (or ``id``) and
  ``prediction`` columns, plus ``model`` unless ``--model`` names it.

A prediction of any JSON type is stored (text as is, structures as JSON, null as NULL) and
scored by the metric's rule; predictions for instances the task does not have are refused.
Re-importing replaces that model's rows for the tasks in the file, in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from compiler.contracts import STORE
from compiler.errors import GlcError
from compiler.resolve import Project
from compiler.suggest import did_you_mean
from glc.datasets import data_path, sync_instances
from glc.importers.scores import ImportErrors, Problem
from glc.store import DIALECT, insert_rows, refresh_prediction_partitions, transaction


@dataclass
class PredictionImport:
    path: Path
    model: str
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    tasks: set[str] = field(default_factory=set)

    def describe(self) -> str:
        return (f"imported {len(self.rows)} predictions of model '{self.model}' for {len(self.tasks)} task(s) "
                f"from {self.path}")


def output_text(value: Any) -> tuple[str | None, str]:
    if value is None:
        return None, "null"
    if isinstance(value, str):
        return value, "string"
    if isinstance(value, bool):
        return json.dumps(value), "boolean"
    if isinstance(value, int | float):
        return json.dumps(value), "number"
    return json.dumps(value, ensure_ascii=False), "list" if isinstance(value, list) else "object"


def _task_by_folder(project: Project) -> dict[Path, str]:
    return {data_path(project.root, t.spec.dataset).resolve(): t.id
            for t in project.tasks if t.spec.dataset is not None and t.spec.dataset.format == "general_bench"}


def _read(path: Path, project: Project, model: str | None, problems: list[Problem]) -> list[dict[str, Any]]:
    """Records {model, task_id, instance_id, prediction, where} from any supported layout."""
    records: list[dict[str, Any]] = []
    if path.is_dir() or path.name == "prediction.json":
        folders = _task_by_folder(project)
        files = sorted(path.rglob("prediction.json")) if path.is_dir() else [path]
        if not files:
            raise GlcError("no prediction.json found", location=str(path),
                           hint="General-Bench predictions lie beside each task's annotation.json")
        for f in files:
            task_id = folders.get(f.parent.resolve())
            if task_id is None:
                problems.append(Problem(str(f), "no task spec has its dataset in this folder",
                                        "point a task's dataset.path at the folder holding annotation.json"))
                continue
            try:
                items = json.loads(f.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                problems.append(Problem(str(f), f"bad JSON: {exc}"))
                continue
            if not isinstance(items, list):
                problems.append(Problem(str(f), "expected a list of {id, prediction}"))
                continue
            for n, item in enumerate(items):
                if not isinstance(item, dict) or "id" not in item:
                    problems.append(Problem(f"{f} item {n + 1}", "expected {id, prediction}"))
                    continue
                records.append({"model": model, "task_id": task_id, "instance_id": str(item["id"]),
                                "prediction": item.get("prediction"), "error": item.get("error"),
                                "where": f"{f} instance '{item['id']}'"})
        return records
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((n, json.loads(line)))
                except json.JSONDecodeError as exc:
                    problems.append(Problem(f"{path}:{n}", f"bad JSON: {exc.msg}"))
    elif suffix in (".parquet", ".csv"):
        import polars as pl

        frame = pl.read_parquet(path) if suffix == ".parquet" else pl.read_csv(path, infer_schema=False)
        first = 1 if suffix == ".parquet" else 2
        rows = [(i + first, r) for i, r in enumerate(frame.to_dicts())]
    else:
        raise GlcError(f"unsupported predictions file '{suffix}'", location=str(path),
                       hint="a General-Bench folder, prediction.json, .jsonl, .parquet or .csv")
    by_name = {t.spec.name: t.id for t in project.tasks}
    ids = {t.id for t in project.tasks}
    for n, r in rows:
        where = f"{path} row {n}"
        if not isinstance(r, dict):
            problems.append(Problem(where, "expected an object per line"))
            continue
        task = r.get("task", r.get("task_id"))
        task_id = task if task in ids else by_name.get(str(task))
        if task_id is None:
            problems.append(Problem(where, f"unknown task {task!r}", did_you_mean(str(task), sorted(ids))))
            continue
        row_model = r.get("model")
        if model is None and not row_model:
            problems.append(Problem(where, "no model column and no --model"))
            continue
        if model is not None and row_model and str(row_model) != model:
            continue
        iid = r.get("instance_id", r.get("id"))
        records.append({"model": model or str(row_model), "task_id": task_id, "instance_id": str(iid),
                        "prediction": r.get("prediction"), "error": r.get("error"), "where": where})
    return records


def read_predictions(con: duckdb.DuckDBPyConnection, path: Path, project: Project,
                     model: str | None) -> list[PredictionImport]:
    problems: list[Problem] = []
    records = _read(path, project, model, problems)
    tasks = sorted({r["task_id"] for r in records})
    try:
        sync_instances(con, project, tasks)
    except ImportErrors as exc:
        problems.extend(exc.problems)
    known: dict[str, set[str]] = {}
    for tid in tasks:
        q = exp.select("instance_id").from_("instances").where(exp.column("task_id").eq(exp.convert(tid)))
        known[tid] = {r[0] for r in con.sql(q.sql(DIALECT)).fetchall()}
        if not known[tid]:
            problems.append(Problem(f"task '{tid}'", "the task has no instances",
                                    "give its spec a dataset: section before importing predictions"))
    batch = uuid.uuid4().hex[:12]
    now = datetime.now(UTC).replace(tzinfo=None)
    out: dict[str, PredictionImport] = {}
    seen: set[tuple[str, str, str]] = set()
    for r in records:
        key = (r["model"], r["task_id"], r["instance_id"])
        if known.get(r["task_id"]) and r["instance_id"] not in known[r["task_id"]]:
            problems.append(Problem(r["where"], f"task '{r['task_id']}' has no instance '{r['instance_id']}'",
                                    "predictions must answer instances of the task's data"))
            continue
        if key in seen:
            problems.append(Problem(r["where"], "second prediction for this instance"))
            continue
        seen.add(key)
        text, kind = output_text(r["prediction"])
        content = hashlib.sha256(json.dumps(["import", *key, text], ensure_ascii=False).encode()).hexdigest()
        err = None if r["error"] is None else str(r["error"])
        imp = out.setdefault(r["model"], PredictionImport(path, r["model"]))
        imp.rows.append((*key, text, kind, content, "import", None, None, err, batch, now))
        imp.tasks.add(r["task_id"])
    if problems:
        raise ImportErrors(path, problems)
    if not out:
        raise GlcError("no predictions in the file", location=str(path))
    return list(out.values())


def store_predictions(con: duckdb.DuckDBPyConnection, imports: list[PredictionImport]) -> None:
    """Replace each model's predictions for the tasks it brings, all in one transaction."""
    with transaction(con):
        for imp in imports:
            cond = exp.and_(exp.column("model").eq(exp.convert(imp.model)),
                            exp.column("task_id").isin(*[exp.convert(t) for t in sorted(imp.tasks)]))
            con.execute(exp.delete("predictions", where=cond).sql(DIALECT))
            insert_rows(con, STORE["predictions"], imp.rows)
        refresh_prediction_partitions(con, [(imp.model, t) for imp in imports for t in imp.tasks])
