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

Files come from strangers, so everything is checked before anything is stored, and each problem
names the file, the line (JSONL/CSV/Parquet row) or instance, and the field: bytes that are not
UTF-8 (with the byte offset), text that is not JSON or JSON of the wrong shape, a missing or
non-scalar id, two predictions for one instance, lone surrogates (``"\\ud800"``: no store can
encode them), numbers that overflow to infinity and the non-JSON constants ``NaN``/``Infinity``
(the rule of ``glc.importers.scores``), values that are not JSON (Parquet binary or dates) and
structures nested deeper than ``MAX_DEPTH``. Lines are split at ``\\n`` only: a prediction may
hold U+2028 or a form feed, which ``str.splitlines`` would take for line ends.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from glc.compiler.contracts import STORE
from glc.compiler.errors import GlcError
from glc.compiler.resolve import Project
from glc.engine.store import insert_rows, refresh_prediction_partitions, transaction
from glc.execute.datasets import sync_instances
from glc.importers.prediction_tree import (
    TreeIndex,
    copy_media,
    local_media,
    media_output,
    media_path,
    prediction_items,
    unmatched,
)
from glc.importers.safety import (
    SURROGATE_HINT,
    UTF8_BOM,
    NotRegularFile,
    clip,
    decode_utf8,
    lone_surrogate,
    name_problem,
    path_problem,
    preview,
    read_regular,
    suggest_task,
)
from glc.importers.scores import ImportErrors, Problem
from glc.profiles import Grants, load_grants
from glc.words import plural

MAX_DEPTH = 100

NUMBER_HINT = "write the prediction as a JSON string, or as a finite number; null means no prediction"
ROW_HINT = "each line is an object {\"model\", \"task\", \"id\", \"prediction\"}"
DEPTH_HINT = f"keep structured predictions under {MAX_DEPTH} levels of nesting"
TABLE_HINT = "a .jsonl, .parquet or .csv file (UTF-8) with columns task, id (or instance_id), prediction"
Record = dict[str, Any]


@dataclass
class PredictionImport:
    path: Path
    model: str
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    tasks: set[str] = field(default_factory=set)
    media: list[tuple[Path, Path]] = field(default_factory=list)  # (generated file, its copy under target/media)

    def describe(self) -> str:
        return (f"imported {plural(len(self.rows), 'prediction')} of model '{self.model}' for "
                f"{len(self.tasks)} task(s) from {self.path}")


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


class _BadNumber(ValueError):
    """A JSON number the store cannot hold as a finite double; raised from json's parse hooks."""


def _float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise _BadNumber(f"the number {preview(text)} overflows to infinity")
    return number


def _int(text: str) -> int:
    try:
        number = int(text)
        float(number)
    except (ValueError, OverflowError):  # over 4300 digits, or beyond the double range
        raise _BadNumber(f"the number {preview(text)} overflows to infinity") from None
    return number


def _constant(name: str) -> Any:
    raise _BadNumber(f"{name} is not JSON and not a finite number")


# orjson parses a line the way the standard library with the hooks below does, but for integers of 19
# digits and more (beyond 64 bits it gives a float where the hooks keep the integer): a line with such a
# run of digits anywhere, and every line orjson refuses (NaN, overflow, lone surrogates, bad UTF-8, too
# deep), is parsed by the standard library, whose answer or error is what the line always got.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


def _fast_line(raw: bytes) -> tuple[bool, Any]:
    """(True, the value of a JSON line) when orjson may answer for the standard library, else (False, None).
    A line of many brackets goes to the standard library too: nested deeper than its recursion allows (about
    1,000 levels, less deep in the stack) it says "nested too deeply", where orjson would parse it."""
    if _LONG_DIGITS.search(raw) or raw.count(b"[") + raw.count(b"{") > 500:
        return False, None
    try:
        return True, orjson.loads(raw)
    except ValueError:
        return False, None


def _parse_json(text: str, where: str, problems: list[Problem]) -> tuple[bool, Any]:
    """(True, value) or (False, None) with the problem recorded; never a raw ValueError."""
    try:
        return True, json.loads(text, parse_float=_float, parse_int=_int, parse_constant=_constant)
    except _BadNumber as exc:
        problems.append(Problem(where, str(exc), NUMBER_HINT))
    except json.JSONDecodeError as exc:
        problems.append(Problem(where, f"bad JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"))
    except RecursionError:
        problems.append(Problem(where, "bad JSON: nested too deeply", DEPTH_HINT))
    except ValueError as exc:
        problems.append(Problem(where, clip(f"bad JSON: {exc}")))
    return False, None


def _jsonl_rows(path: Path, problems: list[Problem]) -> list[tuple[str, Any]]:
    """(where, value) per non-blank line; each line decoded on its own so errors name line and byte."""
    rows: list[tuple[str, Any]] = []
    offset = 0
    for n, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        start, offset = offset, offset + len(raw) + 1
        if n == 1 and raw.startswith(UTF8_BOM):
            raw, start = raw[len(UTF8_BOM):], start + len(UTF8_BOM)
        fast, value = _fast_line(raw)
        if fast:
            rows.append((f"{path} row {n}", value))
            continue
        try:
            text = decode_utf8(raw, path, first_line=n, offset=start)
        except GlcError as exc:
            problems.append(Problem(exc.location or str(path), exc.message, exc.hint))
            continue
        if text.strip():
            ok, value = _parse_json(text, f"{path}:{n}", problems)
            if ok:
                rows.append((f"{path} row {n}", value))
    return rows


def _table_rows(path: Path, suffix: str) -> list[tuple[str, Any]]:
    """(where, row) of a CSV (all strings) or Parquet file; a damaged file is one located error."""
    import polars as pl

    from glc.importers.csv_rows import read_csv

    try:
        if suffix == ".csv":
            decode_utf8(path.read_bytes(), path)  # polars would not say where
            frame, first = read_csv(path), 2  # a short row would read as "no prediction"
        else:
            frame, first = pl.read_parquet(path), 1
        dicts = frame.to_dicts()
    except GlcError:
        raise
    except Exception as exc:  # polars and Arrow raise many types for damaged files
        raise GlcError(clip(f"cannot read predictions table: {exc}".splitlines()[0]), location=clip(str(path)),
                       hint=TABLE_HINT) from None
    return [(f"{path} row {i + first}", r) for i, r in enumerate(dicts)]


@dataclass(frozen=True)
class _Tasks:
    """Task ids, and ids by official task name, for references in prediction rows."""

    ids: frozenset[str]
    by_name: dict[str, str]

    def find(self, ref: Any) -> str | Problem:
        key = ref.strip() if isinstance(ref, str) else None
        if key in self.ids:
            return key
        if key is not None and key in self.by_name:
            return self.by_name[key]
        return Problem("", f"unknown task {preview(ref)}", suggest_task(key, sorted(self.ids)) if key else
                       "give each row a 'task': a task id or the exact official task name")


def _name(value: Any) -> str | None | Problem:
    """A model name trimmed of surrounding spaces (as score tables and workbooks trim them)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return Problem("", f"model {preview(value)} is not text")
    name = str(value).strip()
    # a lone surrogate is the record check's, which names the field (_record_problem)
    bad = name_problem(name) if name and not lone_surrogate(name) else None
    return Problem("", f"model {preview(name)}: {bad}") if bad else name or None


def _instance_id(value: Any) -> str | Problem:
    """Ids are text or integers (General-Bench uses both); anything else cannot name an instance."""
    if value is None:
        return Problem("", "no instance id", "give each row an 'id' (or 'instance_id')")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return Problem("", f"instance id {preview(value)} is not text or an integer")
    return str(value)


def _row_record(where: str, r: Any, tasks: _Tasks, model: str | None, problems: list[Problem]) -> Record | None:
    """The record of one table row, None when the row is refused (problem recorded) or another model's."""
    if not isinstance(r, dict):
        problems.append(Problem(where, f"expected an object per line, got {type(r).__name__}", ROW_HINT))
        return None
    task_id = tasks.find(r.get("task", r.get("task_id")))
    row_model = _name(r.get("model"))
    iid = _instance_id(r.get("instance_id", r.get("id")))
    for got in (task_id, row_model, iid):
        if isinstance(got, Problem):
            problems.append(Problem(where, got.message, got.hint))
            return None
    if model is None and not row_model:
        problems.append(Problem(where, "no model column and no --model"))
        return None
    if model is not None and row_model and row_model != model:
        return None
    return {"model": model or row_model, "task_id": task_id, "instance_id": iid,
            "prediction": r.get("prediction"), "error": r.get("error"), "where": where}


def _json_file(f: Path, problems: list[Problem], tree: Path | None = None) -> list[Any] | None:
    """The items of one prediction.json (either published form), or None with the problem recorded.
    ``tree``: the imported folder the file was found in; a file there that is a link leading out of it
    is refused (as generated files that lead out of it are), and so is anything but a regular file (a
    FIFO would never answer, a link to /dev/zero never end)."""
    try:
        if tree is not None and f.is_symlink() and not f.resolve().is_relative_to(tree.resolve()):
            raise GlcError("prediction.json is a link that leads outside the imported folder", location=str(f),
                           hint="copy the file into the folder instead of linking it")
        text = decode_utf8(read_regular(f)[0].removeprefix(UTF8_BOM), f)
    except NotRegularFile:  # a FIFO would never answer, /dev/zero never end
        problems.append(Problem(str(f), "not a regular file (a folder, a FIFO or a device)",
                                "a prediction.json must be a file"))
        return None
    except GlcError as exc:
        problems.append(Problem(exc.location or str(f), exc.message, exc.hint))
        return None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop
        problems.append(Problem(str(f), clip(f"cannot read prediction.json: {exc}")))
        return None
    ok, doc = _parse_json(text, str(f), problems)
    return prediction_items(doc, f, problems) if ok else None


def _general_bench(path: Path, project: Project, model: str | None, problems: list[Problem]) -> list[Record]:
    """Records of the prediction.json files beside the annotation.json of general_bench tasks, or in a
    tree mirroring the General-Bench layout (``glc.importers.prediction_tree``)."""
    if model is None:
        raise GlcError("General-Bench prediction files do not name their model", location=str(path),
                       hint="pass --model NAME")
    index = TreeIndex.of(project)
    files = sorted(path.rglob("prediction.json")) if path.is_dir() else [path]
    if not files:
        raise GlcError("no prediction.json found", location=str(path),
                       hint="General-Bench predictions lie beside each task's annotation.json")
    tree = path if path.is_dir() else path.parent
    records: list[Record] = []
    for f in files:
        task_ids = index.tasks_for(f.parent)
        if not task_ids:
            problems.append(unmatched(f))
            continue
        for n, item in enumerate(_json_file(f, problems, tree if path.is_dir() else None) or [], start=1):
            iid = _instance_id(item.get("id")) if isinstance(item, dict) else Problem("", "expected {id, prediction}")
            if isinstance(iid, Problem):
                problems.append(Problem(f"{f} item {n}", iid.message, iid.hint))
                continue
            for task_id in task_ids:  # one data folder may serve several tasks (e.g. scored by F1 and by EM)
                records.append({"model": model, "task_id": task_id, "instance_id": iid,
                                "prediction": item.get("prediction"), "error": item.get("error"),
                                "where": f"{f} instance {preview(iid)}", "base": f.parent, "tree": tree})
    return records


def _read(path: Path, project: Project, model: str | None, problems: list[Problem]) -> list[Record]:
    """Records {model, task_id, instance_id, prediction, error, where} from any supported layout."""
    if path.is_dir() or path.name == "prediction.json":
        return _general_bench(path, project, model, problems)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = _jsonl_rows(path, problems)
    elif suffix in (".parquet", ".csv"):
        rows = _table_rows(path, suffix)
    elif suffix == ".zip":  # the zip `glc export predictions` writes beside its folder, for submission
        raise GlcError("a zip file is not read", location=str(path),
                       hint="import the folder beside it that the export wrote (the same tree), or unzip it "
                            "and import that folder")
    else:
        raise GlcError(f"unsupported predictions file {preview(suffix)}", location=str(path),
                       hint="a General-Bench folder, prediction.json, .jsonl, .parquet or .csv")
    tasks = _Tasks(frozenset(t.id for t in project.tasks), {t.spec.name: t.id for t in project.tasks})
    records = [_row_record(where, r, tasks, model, problems) for where, r in rows]
    return [r for r in records if r is not None]


def value_problem(value: Any, name: str) -> Problem | None:
    """The first part of ``value`` the store cannot hold as JSON text (``where``: its field path), or None.

    Walks iteratively (no recursion limit), depth-first in document order: strings must not hold
    lone surrogates, numbers must be finite doubles, values must be JSON types.
    """
    stack: list[tuple[Any, str, int]] = [(value, name, 0)]
    while stack:
        v, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return Problem(where, f"nested deeper than {MAX_DEPTH} levels", DEPTH_HINT)
        found = _scalar_problem(v)
        if found is not None:
            return Problem(where, *found)
        if isinstance(v, list | tuple):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in reversed(list(enumerate(v))))
        elif isinstance(v, dict):
            for key, item in reversed(list(v.items())):
                bad_key = lone_surrogate(key) if isinstance(key, str) else "a key that is not text"
                if bad_key:
                    return Problem(f"{where} key {preview(key)}", bad_key, SURROGATE_HINT)
                stack.append((item, f"{where}.{clip(key, 40)}", depth + 1))
    return None


def _scalar_problem(v: Any) -> tuple[str, str] | None:
    """(message, hint) for a scalar that cannot be stored; None for a storable one or a container."""
    if v is None or isinstance(v, bool | list | tuple | dict):
        return None
    if isinstance(v, str):
        bad = lone_surrogate(v)
        return (bad, SURROGATE_HINT) if bad else None
    if isinstance(v, int):
        try:
            float(v)
        except OverflowError:
            return f"the number {preview(v)} overflows to infinity", NUMBER_HINT
        return None
    if isinstance(v, float):
        return None if math.isfinite(v) else (f"the number {v} is not finite (NaN or infinity)", NUMBER_HINT)
    return (f"a value of type {type(v).__name__} is not JSON (text, number, boolean, null, list or object)",
            "convert the column to text (or JSON text) before importing")


def _record_problem(r: Record) -> Problem | None:
    """The first field of a record that cannot be stored, located by the record's where and field name."""
    for name in ("model", "instance_id", "prediction", "error"):
        found = value_problem(r[name], name)
        if found is not None:
            return Problem(f"{r['where']} field {preview(found.where)}", found.message, found.hint)
    return None


def _known_instances(con: duckdb.DuckDBPyConnection, project: Project, tasks: list[str],
                     problems: list[Problem]) -> dict[str, set[str]]:
    """The instance ids of each task, loading task data first; a task without instances is a problem."""
    loaded = True
    try:
        sync_instances(con, project, tasks)
    except ImportErrors as exc:
        problems.extend(exc.problems)
        loaded = False
    known: dict[str, set[str]] = {tid: set() for tid in tasks}
    for tid, iid in con.execute("SELECT task_id, instance_id FROM instances WHERE list_contains(?::VARCHAR[], "
                                "task_id)", [tasks]).fetchall():  # every task at once, the ids bound
        known[tid].add(iid)
    for tid in tasks:
        # after a data problem (reported above) the load stored nothing: a task without instances then
        # says nothing of its spec, and "give its spec a dataset" would send the user to the wrong file
        if not known[tid] and loaded:
            problems.append(Problem(f"task '{tid}'", "the task has no instances",
                                    "give its spec a dataset: section before importing predictions"))
    return known


class ReadablePaths:
    """``grants.readable(Path(text))`` for the paths of many generated files, each folder resolved once:
    a path whose last part is a name (not '.' or '..') and no symbolic link lies where its resolved
    folder says, which is the answer of resolving the whole path; any other path is resolved whole."""

    def __init__(self, grants: Grants) -> None:
        self.grants = grants
        self.folders: dict[str, tuple[Path, bool] | None] = {}  # as written -> (resolved, held by a grant)

    def __call__(self, text: str) -> bool:
        path = Path(text)
        name = path.name
        if name in ("", ".", ".."):
            return self.grants.readable(path)
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return self.grants.readable(path)
        except OSError:
            pass  # not there: resolving keeps the name as written, after the folder
        except ValueError:  # a NUL in the path: nothing can be read there
            return False
        key = str(path.parent)
        if key not in self.folders:
            try:
                real = path.parent.resolve(strict=False)
            except (OSError, RuntimeError, ValueError):
                self.folders[key] = None
            else:
                self.folders[key] = (real, self.grants.holds(real))
        folder = self.folders[key]
        if folder is None:
            return False
        real, held = folder
        return held or self.grants.holds(real / name)  # a file outside may still be a granted root itself


def _checked_model(path: Path, model: str | None) -> str | None:
    """``--model`` trimmed like model names in files; a name that cannot be stored is refused."""
    if model is None:
        return None
    name = model.strip()
    problem = name_problem(name) if name else "the model name is empty"
    if problem:
        raise GlcError(f"--model {preview(name)}: {problem}", location=str(path), hint="give a model name as text")
    return name


def read_predictions(con: duckdb.DuckDBPyConnection, path: Path, project: Project,
                     model: str | None) -> list[PredictionImport]:
    """Read and validate every prediction of ``path``; ImportErrors lists every problem, nothing stored."""
    if (bad_name := path_problem(path)) is not None:
        raise bad_name
    model = _checked_model(path, model)
    problems: list[Problem] = []
    records = _read(path, project, model, problems)
    tasks = sorted({r["task_id"] for r in records})
    known = _known_instances(con, project, tasks, problems)
    batch = uuid.uuid4().hex[:12]
    now = datetime.now(UTC).replace(tzinfo=None)
    out: dict[str, PredictionImport] = {}
    seen: dict[tuple[str, str, str], str] = {}
    grants = load_grants(project.root)  # generated files are read by the metric: only where specs may read
    media_tasks = {t.id for t in project.tasks if media_output(t)}
    copies: dict[str, list[tuple[Path, Path]]] = {}
    readable = ReadablePaths(grants)
    for r in records:
        key = (r["model"], r["task_id"], r["instance_id"])
        problem = _record_problem(r) or _instance_problem(r, known, seen.get(key))
        if problem is not None:
            problems.append(problem)
            continue
        seen[key] = r["where"]
        text, kind = output_text(r["prediction"])
        if r["task_id"] in media_tasks and "base" in r and text is not None:
            # a prediction.json names its generated file relative to its own folder: copied into the store
            got = local_media(text, r["base"], r["tree"], grants, media_path(project.root), r["where"]) \
                if kind == "string" else Problem(f"{r['where']} field 'prediction'", f"expected the path of the "
                                                 f"generated file, got a {kind}", "write the path as a JSON string")
            if isinstance(got, Problem):
                problems.append(got)
                continue
            copies.setdefault(r["model"], []).append(got)
            text = str(got[1])
        elif r["task_id"] in media_tasks and text and "\0" in text:
            problems.append(Problem(f"{r['where']} field 'prediction'", "the generated file's path holds a NUL "
                                    "character", "write the path of the generated file"))
            continue
        elif r["task_id"] in media_tasks and text and not readable(text):
            problems.append(Problem(r["where"], f"generated file {preview(text)} lies outside the project and "
                                                "its data roots", "a prediction file may only point at files inside "
                                                "the project or a folder under 'data_roots:' of profiles.yml"))
            continue
        content = hashlib.sha256(json.dumps(["import", *key, text], ensure_ascii=False).encode()).hexdigest()
        err = None if r["error"] is None else str(r["error"])
        imp = out.setdefault(r["model"], PredictionImport(path, r["model"]))
        imp.rows.append((*key, text, kind, content, "import", None, None, err, batch, now))
        imp.tasks.add(r["task_id"])
    if problems:
        raise ImportErrors(path, problems)
    if not out:
        raise GlcError("no predictions in the file", location=str(path))
    for name, files in copies.items():
        out[name].media = files
    return list(out.values())


def _instance_problem(r: Record, known: dict[str, set[str]], first: str | None) -> Problem | None:
    """An instance the task does not have, or a second prediction for one instance."""
    if known.get(r["task_id"]) and r["instance_id"] not in known[r["task_id"]]:
        return Problem(r["where"], f"task '{r['task_id']}' has no instance {preview(r['instance_id'])}",
                       "predictions must answer instances of the task's data")
    if first is not None:
        return Problem(r["where"], "second prediction for this instance",
                       clip(f"the first is at {first}; keep one prediction per (model, task, instance)"))
    return None


def refuse_replacing_runs(con: duckdb.DuckDBPyConnection, path: Path, wanted: dict[str, list[str]]) -> None:
    """An import replaces a model's predictions of the tasks it brings; not those ``glc run`` made
    (through a runner: neither imported nor read from a harness's logs), which an import would destroy
    without a word, and which the next run would predict again were the model's spec still there.
    ``wanted``: model -> the tasks the import brings."""
    made = [(m, t, n) for m, tasks in sorted(wanted.items()) for t, n in con.execute(
        "SELECT task_id, count(*) FROM predictions WHERE model = ? AND list_contains(?::VARCHAR[], task_id) "
        "AND backend <> 'import' AND NOT starts_with(backend, 'harness:') GROUP BY task_id ORDER BY task_id",
        [m, sorted(tasks)]).fetchall()]
    if made:
        m = made[0][0]
        tasks = [t for mm, t, _ in made if mm == m]
        shown = ", ".join(tasks[:3]) + (f" and {len(tasks) - 3} more" if len(tasks) > 3 else "")
        raise GlcError(f"model {preview(m)} holds {sum(n for mm, _, n in made if mm == m)} prediction(s) that "
                       f"`glc run` made for {len(tasks)} of the task(s) this file brings ({shown}); importing "
                       "would replace them; nothing was stored", location=str(path),
                       hint=f"import under another model name (--model NAME), or remove that model's results "
                            f"first (glc rm model {m})")


def store_predictions(con: duckdb.DuckDBPyConnection, imports: list[PredictionImport]) -> None:
    """Replace each model's predictions for the tasks it brings, all in one transaction; generated files
    named by prediction.json files are copied into target/media first (content-addressed: never replaced)."""
    for imp in imports:
        for src, dest in imp.media:
            copy_media(src, dest)
    with transaction(con):
        for imp in imports:
            con.execute("DELETE FROM predictions WHERE model = ? AND list_contains(?::VARCHAR[], task_id)",
                        [imp.model, sorted(imp.tasks)])
            insert_rows(con, STORE["predictions"], imp.rows)
        refresh_prediction_partitions(con, [(imp.model, t) for imp in imports for t in imp.tasks])
