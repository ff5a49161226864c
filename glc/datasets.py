"""Task data -> ``instances`` rows: General-Bench task folders and JSONL/Parquet/CSV files.

The reference of each instance is read from the declared field and converted to the declared
type (text, choice letter, label, labels, number, boxes, image); media paths are checked to
exist and hashed. Every problem names the file and the instance id; a task with any problem
loads nothing. Loading is incremental: a task whose data and dataset spec are unchanged (same
fingerprint) is not read again.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from glc.compiler.contracts import STORE
from glc.compiler.errors import GlcError
from glc.compiler.resolve import Project, Task
from glc.compiler.spec_models import DatasetSpec
from glc.importers.safety import SURROGATE_HINT, clip, decode_utf8, lone_surrogate, preview, require_utf8
from glc.importers.scores import ImportErrors, Problem
from glc.profiles import Grants, load_grants
from glc.store import DIALECT, ensure_store, insert_rows, transaction

CHOICE = re.compile(r"^\s*\(?([A-Za-z])\)?[\.\):]?\s*$")
Row = tuple[Any, ...]


@dataclass(frozen=True)
class LoadedTask:
    task_id: str
    fingerprint: str
    rows: list[Row]


def data_path(root: Path, ds: DatasetSpec) -> Path:
    path = Path(ds.path)
    return path if path.is_absolute() else root / path


def _file_of(root: Path, ds: DatasetSpec) -> Path:
    base = data_path(root, ds)
    return base / "annotation.json" if ds.format == "general_bench" else base


def fingerprint(root: Path, task: Task) -> str:
    ds = task.spec.dataset
    assert ds is not None
    h = hashlib.sha256(ds.model_dump_json().encode())
    f = _file_of(root, ds)
    h.update(b"<outside>" if _outside(root, f) else f.read_bytes() if f.is_file() else b"<missing>")
    return h.hexdigest()


def _get(record: Any, dotted: str) -> Any:
    cur = record
    for part in dotted.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise KeyError(dotted)
    return cur


def _outside(root: Path, path: Path, grants: Grants | None = None) -> bool:
    """A path (symlinks resolved) outside the project and the data roots granted by profiles.yml."""
    return not (grants or load_grants(root)).readable(path)


OUTSIDE_HINT = ("specs may read only inside the project and the 'data_roots:' of profiles.yml; "
                "add the folder there if you trust it")


def _records(root: Path, task: Task, problems: list[Problem]) -> list[dict[str, Any]]:
    ds = task.spec.dataset
    assert ds is not None
    f = _file_of(root, ds)
    if _outside(root, f):
        problems.append(Problem(task.path, f"task '{task.id}': dataset.path {ds.path!r} leads outside the project",
                                OUTSIDE_HINT))
        return []
    if not f.is_file():
        problems.append(Problem(str(f), f"task '{task.id}': data file not found",
                                "check dataset.path in " + task.path))
        return []
    try:
        if ds.format == "general_bench":
            doc = json.loads(decode_utf8(f.read_bytes(), f))
            data = doc.get("data") if isinstance(doc, dict) else None
            if not isinstance(data, list):
                problems.append(Problem(str(f), "annotation.json has no 'data' list",
                                        "expected {task, type, data: [...]}"))
                return []
            return data
        if ds.format == "jsonl":
            out = []
            for n, line in enumerate(decode_utf8(f.read_bytes(), f).splitlines(), start=1):
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        problems.append(Problem(f"{f}:{n}", f"bad JSON: {exc.msg}"))
            return out
        return _table_records(f, ds.format)
    except json.JSONDecodeError as exc:
        problems.append(Problem(f"{f}:{exc.lineno}", f"bad JSON: {exc.msg}", "fix the file; nothing of it was loaded"))
    except GlcError as exc:
        problems.append(Problem(exc.location or str(f), exc.message, exc.hint))
    except (OSError, ValueError) as exc:
        problems.append(Problem(str(f), f"cannot read data: {clip(str(exc))}"))
    return []


def _table_records(f: Path, fmt: str) -> list[dict[str, Any]]:
    """Rows of a Parquet or CSV dataset; a file polars cannot read is a located GlcError."""
    import polars as pl

    if fmt == "csv":
        require_utf8(f)
    try:
        frame = pl.read_parquet(f) if fmt == "parquet" else pl.read_csv(f, infer_schema=False)
    except Exception as exc:  # noqa: BLE001 - polars raises its own error types for damaged files
        first = clip(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, 300)
        raise GlcError(f"cannot read the {fmt.upper()} dataset: {first}", location=str(f),
                       hint="every row needs the header's number of fields (quote fields holding commas)"
                       if fmt == "csv" else "write the file again with a Parquet writer") from None
    return frame.to_dicts()


def _boxes(value: Any, fmt: str) -> list[dict[str, Any]]:
    """Reference boxes as corners ``[x1, y1, x2, y2]``; an empty list is an image without objects."""
    if value == []:
        return []
    items = value if isinstance(value, list) and not all(isinstance(v, int | float) for v in value) else [value]
    out = []
    for item in items:
        box, label = (item.get("bbox", item.get("box")), item.get("label")) if isinstance(item, dict) else (item, None)
        if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, int | float) and not isinstance(v, bool)
                                                                and math.isfinite(v) for v in box)):
            raise ValueError(f"{item!r} is not a box of 4 finite numbers")
        x1, y1, a, b = (float(v) for v in box)
        x2, y2 = (x1 + a, y1 + b) if fmt == "xywh" else (a, b)
        if x2 < x1 or y2 < y1:
            raise ValueError(f"box {box} has negative size")
        out.append({"bbox": [x1, y1, x2, y2], "label": label})
    return out


def convert_reference(value: Any, ds: DatasetSpec, folder: Path) -> tuple[Any, list[str], float | None]:
    """(canonical reference, reference strings, reference number) or ValueError."""
    kind = ds.reference
    if kind == "text":
        texts = [value] if isinstance(value, str) else value
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts) or not texts:
            raise ValueError(f"expected a string or a list of strings, got {value!r}")
        return texts, texts, None
    if kind == "choice":
        m = CHOICE.match(str(value)) if isinstance(value, str) else None
        if m is None:
            raise ValueError(f"{value!r} is not a choice letter such as 'A' or '(B)'")
        return m.group(1).upper(), [m.group(1).upper()], None
    if kind == "label":
        if not isinstance(value, str | int | float) or isinstance(value, bool) or str(value).strip() == "":
            raise ValueError(f"expected one label, got {value!r}")
        return str(value).strip(), [str(value).strip()], None
    if kind == "labels":
        labels = value.split(ds.label_separator) if isinstance(value, str) else value
        if not isinstance(labels, list) or not all(isinstance(x, str | int) for x in labels):
            raise ValueError(f"expected a list of labels, got {value!r}")
        clean = sorted({str(x).strip() for x in labels if str(x).strip()})
        return clean, clean, None
    if kind == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a number") from None
        if not math.isfinite(number):  # "nan", "inf" or 1e999: no metric has a value for it
            raise ValueError(f"{value!r} is not a finite number")
        return number, [], number
    if kind == "boxes":
        boxes = _boxes(value, ds.box_format)
        return boxes, [], None
    path = folder / str(value)
    if not isinstance(value, str) or not path.is_file():
        raise ValueError(f"reference image {value!r} not found under {folder}")
    return str(value), [str(path.resolve())], None


def media_folder(root: Path, ds: DatasetSpec) -> Path:
    """The folder media paths of a task's records are relative to."""
    return _file_of(root, ds).parent if ds.format != "general_bench" else data_path(root, ds)


def load_task(root: Path, task: Task, problems: list[Problem], fp: str | None = None) -> LoadedTask | None:
    """Read and check one task's instances; problems are appended, nothing is raised."""
    ds = task.spec.dataset
    assert ds is not None
    before = len(problems)
    records = _records(root, task, problems)
    f = _file_of(root, ds)
    folder = media_folder(root, ds)
    grants = load_grants(root)
    id_field = ds.fields.get("id", "id")
    input_field = ds.fields.get("input", "input")
    ref_field = ds.fields.get("reference", "output")
    rows: list[Row] = []
    seen: set[str] = set()
    fp = fp or fingerprint(root, task)
    for n, rec in enumerate(records):
        try:
            iid = str(_get(rec, id_field))
        except KeyError:
            problems.append(Problem(f"{f} record {n + 1}", f"no '{id_field}' field", "every instance needs an id"))
            continue
        where = f"{f} instance '{clip(iid, 200)}'"
        if iid in seen:
            problems.append(Problem(where, "duplicate instance id", "ids must be unique within a task"))
            continue
        seen.add(iid)
        try:
            ref_value = _get(rec, ref_field)
            reference, ref_texts, ref_number = convert_reference(ref_value, ds, folder)
        except KeyError:
            problems.append(Problem(where, f"no reference field '{ref_field}'"))
            continue
        except ValueError as exc:
            problems.append(Problem(where, f"reference does not fit type '{ds.reference}': {exc}"))
            continue
        if ds.reference == "image" and _outside(root, Path(ref_texts[0]), grants):
            problems.append(Problem(where, f"reference image {preview(ref_value)} leads outside the project",
                                    OUTSIDE_HINT))
            continue
        media = []
        for field in ds.media:
            try:
                rel = _get(rec, field)
            except KeyError:
                problems.append(Problem(where, f"no media field '{field}'"))
                continue
            for item in rel if isinstance(rel, list) else [rel]:
                path = folder / str(item)
                if _outside(root, path, grants):
                    problems.append(Problem(where, f"media field '{field}': {preview(str(item))} leads outside the "
                                                   "project", OUTSIDE_HINT))
                    continue
                if not path.is_file():
                    problems.append(Problem(where, f"missing media file '{item}'", f"expected at {path}"))
                    continue
                media.append({"field": field, "path": str(item),
                              "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
        try:
            inputs = _get(rec, input_field)
        except KeyError:
            inputs = None
        row = (task.id, iid, json.dumps(inputs, ensure_ascii=False, sort_keys=True),
               json.dumps(reference, ensure_ascii=False, sort_keys=True), ds.reference, ref_texts, ref_number,
               json.dumps(media, sort_keys=True), str(f), fp)
        bad = next((p for text in (iid, row[2], row[3]) if (p := lone_surrogate(text))), None)
        if bad:
            problems.append(Problem(where, f"{bad} in the instance's id, input or reference", SURROGATE_HINT))
            continue
        rows.append(row)
    if len(problems) > before:
        return None
    return LoadedTask(task.id, fp, rows)


def stored_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.sql("SELECT task_id, any_value(dataset_fp) FROM instances GROUP BY task_id").fetchall()
    return dict(rows)


def sync_instances(con: duckdb.DuckDBPyConnection, project: Project,
                   only: Iterable[str] | None = None) -> list[str]:
    """Reload the instances of tasks whose data changed; return the reloaded task ids."""
    ensure_store(con)
    wanted = set(only) if only is not None else None
    tasks = [t for t in project.tasks if t.spec.dataset is not None and (wanted is None or t.id in wanted)]
    stored = stored_fingerprints(con)
    problems: list[Problem] = []
    loaded: list[LoadedTask] = []
    for t in tasks:
        fp = fingerprint(project.root, t)
        if stored.get(t.id) == fp:
            continue
        got = load_task(project.root, t, problems, fp)
        if got is not None:
            loaded.append(got)
    if problems:
        raise ImportErrors(Path("task data"), problems)
    with_data = {t.id for t in project.tasks if t.spec.dataset is not None}
    dropped = [tid for tid in stored if tid not in with_data] if wanted is None else []
    if not loaded and not dropped:
        return []
    with transaction(con):
        for tid in [lt.task_id for lt in loaded] + dropped:
            con.execute(exp.delete("instances", where=exp.column("task_id").eq(exp.convert(tid))).sql(DIALECT))
        for lt in loaded:
            insert_rows(con, STORE["instances"], lt.rows)
    return [lt.task_id for lt in loaded]


def require_instances(con: duckdb.DuckDBPyConnection, task_ids: Iterable[str]) -> None:
    have = set(stored_fingerprints(con))
    missing = sorted(set(task_ids) - have)
    if missing:
        raise GlcError(f"no instances for task(s) {missing[:5]}", hint="give the task spec a dataset: section")
