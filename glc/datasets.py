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
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb

from glc.compiler.contracts import STORE
from glc.compiler.errors import GlcError
from glc.compiler.resolve import Project, Task
from glc.compiler.spec_models import DatasetSpec
from glc.importers.safety import SURROGATE_HINT, clip, decode_utf8, lone_surrogate, preview, require_utf8
from glc.importers.scores import ImportErrors, Problem
from glc.profiles import Grants, load_grants
from glc.store import ensure_store, insert_rows, transaction

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


try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the standard library still works
    _orjson = None  # type: ignore[assignment]


def _dumps(value: Any) -> str:
    """Canonical JSON text (keys sorted, non-ASCII kept): orjson when it can, else the standard
    library (numbers past 64 bits, lone surrogates -- which the caller then refuses -- NaN)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(value, option=_orjson.OPT_SORT_KEYS).decode()
        except TypeError:
            pass
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


_MISSING = object()


def _find(record: Any, dotted: str) -> Any:
    """``_get`` without exceptions: the value, or ``_MISSING``."""
    cur = record
    for part in dotted.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part, _MISSING)
            if cur is _MISSING:
                return _MISSING
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
    return cur


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


class _Files:
    """Per task load: where media paths lead and their sha256, each file checked and hashed once.

    A file that is not a symbolic link lies where its folder (resolved once per folder) does,
    so only folders and links are resolved: the same answer as resolving every path.
    """

    def __init__(self, root: Path, grants: Grants) -> None:
        self.root, self.grants = root, grants
        self.folders: dict[str, bool] = {}
        self.hashes: dict[str, str | None] = {}

    def outside(self, path: Path | str) -> bool:
        text = os.path.normpath(path)
        if ".." in text.split(os.sep) or os.path.islink(text):
            return not self.grants.readable(Path(path))
        parent = os.path.dirname(text)
        if parent not in self.folders:
            self.folders[parent] = self.grants.readable(Path(parent))
        return not self.folders[parent]

    def sha256(self, path: str) -> str | None:
        """The file's sha256; None when it is not a file."""
        if path not in self.hashes:
            self.hashes[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest() if os.path.isfile(path) else None
        return self.hashes[path]


OUTSIDE_HINT = ("specs may read only inside the project and the 'data_roots:' of profiles.yml; "
                "add the folder there if you trust it")


def _records(root: Path, task: Task, problems: list[Problem],
             header: dict[str, Any] | None = None) -> list[dict[str, Any]]:
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
            doc = _fast_json(f)
            data = doc.get("data") if isinstance(doc, dict) else None
            if not isinstance(data, list):
                problems.append(Problem(str(f), "annotation.json has no 'data' list",
                                        "expected {task, type, data: [...]}"))
                return []
            if header is not None:
                header.update({k: v for k, v in doc.items() if k != "data"})
            return data
        if ds.format == "jsonl":
            out = []
            # lines end at "\n" only: str.splitlines() would also cut at U+2028, U+2029, U+0085,
            # \x1c-\x1e, \v and \f, which JSON strings may hold unescaped
            for n, line in enumerate(decode_utf8(f.read_bytes(), f).split("\n"), start=1):
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


def _fast_json(f: Path) -> Any:
    """A JSON file parsed by orjson when it is installed and accepts the file; else by the standard
    library, whose errors (and the UTF-8 check before it) give the line and the cause."""
    data = f.read_bytes()
    try:
        import orjson

        return orjson.loads(data)
    except ImportError:
        pass
    except ValueError:  # orjson.JSONDecodeError: let the careful path say where and why
        pass
    return json.loads(decode_utf8(data, f))


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
    if not isinstance(value, str) or not os.path.isfile(path):
        raise ValueError(f"reference {kind} file {value!r} not found under {folder}")
    real = os.path.realpath(path) if os.path.islink(path) or ".." in path.parts \
        else os.path.join(_real_folder(str(path.parent)), path.name)
    return str(value), [real], None


@lru_cache(maxsize=4096)
def _real_folder(folder: str) -> str:
    return os.path.realpath(folder)


def media_folder(root: Path, ds: DatasetSpec) -> Path:
    """The folder media paths of a task's records are relative to."""
    return _file_of(root, ds).parent if ds.format != "general_bench" else data_path(root, ds)


MEDIA_KINDS = ("image", "audio", "video", "pointcloud")
NO_REFERENCE = "none"  # ref_kind of a Close Set instance: run, never scored


def _type_problem(header: dict[str, Any], task: Task, types: dict[str, Any], where: str) -> Problem | None:
    """The annotation's ``type`` names no declared task type, or another one than the task's."""
    named = header.get("type")
    if named is None or task.spec.type not in types:  # only tasks typed by a declared task type
        return None
    known = {n: n for n in types} | {a: n for n, t in types.items() for a in t.aliases}
    resolved = known.get(str(named))
    if resolved is None:
        return Problem(f"{where} field 'type'", f"unknown task type {preview(str(named))}",
                       "declare it (or an alias of it) under specs/task_types/; known: " + ", ".join(sorted(types)))
    if resolved != task.spec.type:
        return Problem(f"{where} field 'type'", f"the data says type '{resolved}', the task spec "
                       f"({task.path}) says '{task.spec.type}'",
                       f"set 'type: {resolved}' in the task spec if the data is right")
    return None


def _reference_value(rec: Any, ds: DatasetSpec, ref_field: str) -> Any:
    """The record's reference: the first of ``reference_fields`` it has, else ``fields.reference``."""
    for name in ds.reference_fields:
        value = _find(rec, name)
        if value is not _MISSING:
            return value
    return _get(rec, ref_field)


def _options(rec: Any, ds: DatasetSpec) -> list[str]:
    if ds.options_field is None:
        return []
    value = _find(rec, ds.options_field)
    return [str(v) for v in value] if isinstance(value, list) else []


def load_task(root: Path, task: Task, problems: list[Problem], fp: str | None = None,
              types: dict[str, Any] | None = None) -> LoadedTask | None:
    """Read and check one task's instances; problems are appended, nothing is raised."""
    ds = task.spec.dataset
    assert ds is not None
    before = len(problems)
    header: dict[str, Any] = {}
    records = _records(root, task, problems, header)
    bad_type = _type_problem(header, task, types or {}, str(_file_of(root, ds)))
    if bad_type is not None:
        problems.append(bad_type)
        return None
    f = _file_of(root, ds)
    folder = media_folder(root, ds)
    files = _Files(root, load_grants(root))
    _real_folder.cache_clear()  # folders may have changed since the last load
    id_field = ds.fields.get("id", "id")
    input_field = ds.fields.get("input", "input")
    ref_field = ds.fields.get("reference", "output")
    # a General-Bench Close Set: no record has an output at all; its instances run but are not scored
    closed = ds.format == "general_bench" and bool(records) and not any(
        isinstance(r, dict) and "output" in r for r in records)
    rows: list[Row] = []
    seen: set[str] = set()
    fp = fp or fingerprint(root, task)
    # records without a field the spec names: one problem per field for the file, not one per record
    lacking: dict[tuple[str, str], list[str]] = {}  # (spec key, field) -> the records that lack it
    for n, rec in enumerate(records):
        try:
            iid = str(_get(rec, id_field))
        except KeyError:
            lacking.setdefault(("dataset.fields.id", id_field), []).append(f"record {n + 1}")
            continue
        where = f"{f} instance '{clip(iid, 200)}'"
        if iid in seen:
            problems.append(Problem(where, "duplicate instance id", "ids must be unique within a task"))
            continue
        seen.add(iid)
        ref_kind: str = ds.reference
        ref_texts: list[str] = []
        reference: Any = None
        ref_number: float | None = None
        try:
            if closed:
                ref_kind = NO_REFERENCE
            else:
                ref_value = _reference_value(rec, ds, ref_field)
                reference, ref_texts, ref_number = convert_reference(ref_value, ds, folder)
                if ds.reference == "choice":
                    ref_texts = ref_texts + _options(rec, ds)  # the letter, then the option texts
        except KeyError:
            key = ("dataset.reference_fields", ", ".join(ds.reference_fields)) if ds.reference_fields \
                else ("dataset.fields.reference", ref_field)
            lacking.setdefault(key, []).append(f"instance '{clip(iid, 80)}'")
            continue
        except ValueError as exc:
            problems.append(Problem(where, f"reference does not fit type '{ds.reference}': {exc}"))
            continue
        if ds.reference in MEDIA_KINDS and ref_texts and files.outside(Path(ref_texts[0])):
            problems.append(Problem(where, f"reference {ds.reference} {preview(reference)} leads outside the "
                                           "project", OUTSIDE_HINT))
            continue
        media = []
        fields = [(f, True) for f in ds.media] + [(f, False) for f in ds.optional_media]
        for field, required in fields:
            rel = _find(rec, field)
            if rel is _MISSING:
                if required:
                    lacking.setdefault(("dataset.media", field), []).append(f"instance '{clip(iid, 80)}'")
                continue
            if rel is None and not required:
                continue
            for item in rel if isinstance(rel, list) else [rel]:
                path = os.path.join(folder, str(item))
                if files.outside(path):
                    problems.append(Problem(where, f"media field '{field}': {preview(str(item))} leads outside the "
                                                   "project", OUTSIDE_HINT))
                    continue
                digest = files.sha256(path)
                if digest is None:
                    problems.append(Problem(where, f"missing media file '{item}'", f"expected at {path}"))
                    continue
                media.append({"field": field, "path": str(item), "sha256": digest})
        try:
            inputs = _get(rec, input_field)
        except KeyError:
            inputs = None
        row = (task.id, iid, _dumps(inputs),
               None if closed else _dumps(reference), ref_kind, ref_texts,
               ref_number,
               _dumps(media), str(f), fp)
        bad = next((p for text in (iid, row[2], row[3]) if text is not None and (p := lone_surrogate(text))), None)
        if bad:
            problems.append(Problem(where, f"{bad} in the instance's id, input or reference", SURROGATE_HINT))
            continue
        rows.append(row)
    for (spec_key, name), which in lacking.items():
        problems.append(_missing_field(f, task, spec_key, name, which, records))
    if len(problems) > before:
        return None
    return LoadedTask(task.id, fp, rows)


KEYS_SHOWN = 30


def _missing_field(f: Path, task: Task, spec_key: str, name: str, which: list[str],
                   records: list[Any]) -> Problem:
    """One problem for every record of ``f`` that lacks the field ``name`` (dotted; for
    ``dataset.reference_fields`` a list of names): how many, the first few, and the keys the
    records do have where the path stops matching."""
    first = name.split(", ")[0]
    prefix, keys = _keys_near(records, first)
    where = f"under '{prefix}'" if prefix else "at the top level"
    have = ", ".join(keys[:KEYS_SHOWN]) + (f", ... (+{len(keys) - KEYS_SHOWN})" if len(keys) > KEYS_SHOWN else "")
    n, total = len(which), len(records)
    count = ("the only record has no" if total == 1 else f"none of the {total} records has" if n == total
             else f"{n} of {total} records {'has' if n == 1 else 'have'} no")
    shown = ", ".join(which[:3]) + (f", ... (+{n - 3} more)" if n > 3 else "")
    label = "fields" if ", " in name else "field"
    return Problem(f"{f} field '{clip(name, 200)}'",
                   f"{count} {label} '{clip(name, 200)}' ({spec_key} of task '{task.id}'; first: {shown})",
                   (f"records have {where}: {clip(have, 1200)}; " if keys else f"records have no keys {where}; ")
                   + f"set {spec_key} in {task.path} to the field that holds it")


def _keys_near(records: list[Any], dotted: str) -> tuple[str, list[str]]:
    """(the longest prefix of ``dotted`` that records have, the keys found there), over the first
    thousand records: what a field name that matches nothing should have been."""
    parts = dotted.split(".")
    sample = records[:1000]
    for depth in range(len(parts) - 1, -1, -1):
        prefix = ".".join(parts[:depth])
        keys: set[str] = set()
        for rec in sample:
            try:
                node = _get(rec, prefix) if prefix else rec
            except KeyError:
                continue
            if isinstance(node, dict):
                keys.update(str(k) for k in node)
        if keys:
            return prefix, sorted(keys)
    return "", []


def stored_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.sql("SELECT task_id, any_value(dataset_fp) FROM instances GROUP BY task_id").fetchall()
    return dict(rows)


def sync_instances(con: duckdb.DuckDBPyConnection, project: Project,
                   only: Iterable[str] | None = None, problems: list[Problem] | None = None) -> list[str]:
    """Reload the instances of tasks whose data changed; return the reloaded task ids.

    A task whose data has a problem loads nothing (its stored instances stay as they were).
    With ``problems`` given, the problems are appended there and every other task loads;
    without it, any problem raises ``ImportErrors`` before anything is stored.
    """
    ensure_store(con)
    wanted = set(only) if only is not None else None
    tasks = [t for t in project.tasks if t.spec.dataset is not None and (wanted is None or t.id in wanted)]
    stored = stored_fingerprints(con)
    with_data = {t.id for t in project.tasks if t.spec.dataset is not None}
    dropped = [tid for tid in stored if tid not in with_data] if wanted is None else []
    found: list[Problem] = []
    reloaded: list[str] = []
    if not tasks and not dropped:
        return reloaded
    # one transaction, each task's rows written as soon as they are read (memory holds one task):
    # all or nothing when problems raise, every good task when the caller collects problems
    with transaction(con):
        for tid in dropped:
            con.execute("DELETE FROM instances WHERE task_id = ?", [tid])
        for t in tasks:
            fp = fingerprint(project.root, t)
            if stored.get(t.id) == fp:
                continue
            got = load_task(project.root, t, found, fp, project.task_types)
            if got is None:
                continue
            con.execute("DELETE FROM instances WHERE task_id = ?", [t.id])
            insert_rows(con, STORE["instances"], got.rows)
            reloaded.append(t.id)
        if found and problems is None:
            raise ImportErrors(Path("task data"), found)
    if problems is not None:
        problems.extend(found)
    return reloaded


def per_file(problems: list[Problem]) -> list[tuple[str, Problem, int]]:
    """Problems grouped by data file: (file, its first problem, how many it has)."""
    groups: dict[str, list[Problem]] = {}
    for p in problems:
        key = p.where.split(" instance ", 1)[0].split(" record ", 1)[0].split(" field ", 1)[0]
        groups.setdefault(key, []).append(p)
    return [(f, ps[0], len(ps)) for f, ps in groups.items()]


def require_instances(con: duckdb.DuckDBPyConnection, task_ids: Iterable[str]) -> None:
    have = set(stored_fingerprints(con))
    missing = sorted(set(task_ids) - have)
    if missing:
        raise GlcError(f"no instances for task(s) {missing[:5]}", hint="give the task spec a dataset: section")
