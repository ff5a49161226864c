"""Inspect eval logs: ``.eval`` (a zip archive) and ``.json``, log format version 2.

A ``.eval`` log holds ``header.json`` (``version``, ``status``, ``eval``, ``results``, ...; while
a run is still going, ``_journal/start.json`` instead) and one ``samples/<id>_epoch_<n>.json``
per sample and epoch; a ``.json`` log is one document with the same keys and a ``samples`` list.
From each sample glc reads ``id``, ``epoch``, ``input``, ``target``, ``output.completion`` (the
prediction), ``error`` (a failed sample: no prediction, the error kept) and ``scores``: one
``Score`` per scorer, whose ``value`` is a letter (C, I, P, N: 1, 0, 0.5, 0), a number, a
boolean or an object of such values (then ``scorer/key``). Epochs: glc keeps one prediction per
instance, epoch 1 unless the mapping says ``epoch:``. A sample's position is its place in the
log's ``eval.dataset.sample_ids`` (the dataset order).

The archive is read by ``safe_zip`` (size limits, CRC checks, nothing extracted).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from glc.compiler.errors import GlcError
from glc.importers.harness.frame import (
    SCORES_SCHEMA,
    Samples,
    checked_text,
    concat_samples,
    field_column,
    frame_of,
    get_path,
    score_value,
)
from glc.importers.harness.mapping import Mapping
from glc.importers.harness.safe_zip import MAX_MEMBER, SafeZip
from glc.importers.safety import clip, decode_utf8, preview
from glc.importers.scores import Problem

VERSIONS = (2,)
HINT = "an Inspect log as `inspect eval` writes it (.eval or .json, log format version 2)"
CONVERT = "convert it with `inspect log convert --to eval` of a current Inspect, then import the result"
# JSON parsed into Python objects takes up to twenty times its size ('[{},{},...]'): a .json log is parsed
# whole, so it is bounded more tightly than the .eval form, whose samples are parsed and used one at a time
MAX_JSON_LOG = 256 << 20
MAX_SAMPLE = 64 << 20  # bytes of one sample member of a .eval log (images inline as base64 take room)


def _json(data: bytes, where: Path | str, what: str) -> Any:
    text = decode_utf8(data, Path(str(where)))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise GlcError(f"{what}: bad JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                       location=clip(str(where)), hint="the log is cut off or damaged") from None
    except RecursionError:
        raise GlcError(f"{what}: nested too deeply", location=clip(str(where))) from None


def _header(doc: Any, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or not isinstance(doc.get("eval"), dict):
        raise GlcError("not an Inspect log (no 'eval' object)", location=where, hint=HINT)
    version = doc.get("version")
    if version not in VERSIONS:
        raise GlcError(f"Inspect log format version {preview(version)}; glc reads version "
                       f"{', '.join(map(str, VERSIONS))}", location=where, hint=CONVERT)
    return doc


def _logs(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()
                       and p.suffix in (".eval", ".json"))
        if not found:
            raise GlcError("no Inspect logs (.eval or .json) in the folder", location=clip(str(path)), hint=HINT)
        return found
    return [path]


def _read_eval(path: Path) -> tuple[dict[str, Any], Iterator[tuple[str, Any]]]:
    """(header, (member, sample) one at a time) of a .eval archive: a sample is parsed when the caller
    asks for it, and freed once it has taken what it uses."""
    with SafeZip(path, "Inspect .eval log", HINT) as z:
        names = z.names()
        head_name = "header.json" if "header.json" in names else "_journal/start.json"
        if head_name not in names:
            raise GlcError("not an Inspect .eval log (the archive has no header.json)", location=clip(str(path)),
                           hint=HINT)
        header = _header(_json(z.read(head_name), f"{path} member {head_name}", head_name), f"{path}")
    members = sorted(n for n in names if n.startswith("samples/") and n.endswith(".json"))

    def samples() -> Iterator[tuple[str, Any]]:
        with SafeZip(path, "Inspect .eval log", HINT) as z:
            for name in members:
                yield name, _json(z.read(name, min(MAX_MEMBER, MAX_SAMPLE)), f"{path} member {name}", name)

    return header, samples()


def _read_json(path: Path) -> tuple[dict[str, Any], Iterator[tuple[str, Any]]]:
    if path.stat().st_size > MAX_JSON_LOG:
        raise GlcError("the log is larger than glc reads", location=clip(str(path)), hint="import the .eval form")
    head = path.read_bytes()[:64].lstrip()
    if not head.startswith(b"{"):
        raise GlcError("not an Inspect .json log (not a JSON object)", location=clip(str(path)), hint=HINT)
    doc = _header(_json(path.read_bytes(), path, "log"), str(path))
    items = doc.get("samples") or []
    if not isinstance(items, list):
        raise GlcError("'samples' is not a list", location=clip(str(path)), hint=HINT)
    return doc, ((f"sample {i + 1}", s) for i, s in enumerate(items))


def _log_samples(path: Path, mapping: Mapping, problems: list[Problem], seen: dict[str, Path]) -> Samples | None:
    if path.suffix == ".eval":
        header, samples = _read_eval(path)
    elif path.suffix == ".json":
        header, samples = _read_json(path)
    else:
        raise GlcError(f"not an Inspect log file ({preview(path.suffix)})", location=clip(str(path)), hint=HINT)
    ev = header["eval"]
    task = ev.get("task")
    if not isinstance(task, str) or not task:
        raise GlcError("the log names no task (eval.task)", location=clip(str(path)), hint=HINT)
    if task in mapping.ignore:
        return None
    if task not in mapping.entries:
        problems.append(Problem(str(path), f"task '{task}' is not in the mapping {mapping.path}",
                                f"add it under tasks: ({task}: {{task: <glc task id>, match: {{by: id}}}}), "
                                "or list it under ignore:"))
        return None
    if task in seen:
        problems.append(Problem(str(path), f"task '{task}' is also in {seen[task]}",
                                "import one log per task: glc would count its instances twice"))
        return None
    seen[task] = path
    dataset = ev.get("dataset") if isinstance(ev.get("dataset"), dict) else {}
    order = {json.dumps(i): n for n, i in enumerate(dataset.get("sample_ids") or [])}
    fields = mapping.fields(task)
    rows: list[dict[str, Any]] = []
    scores: list[tuple[int, str, float | None, str]] = []
    for member, s in samples:  # .eval: each sample parsed here, freed at the next
        where = f"{path} {member}"
        if not isinstance(s, dict) or "id" not in s or not isinstance(s.get("epoch"), int):
            problems.append(Problem(where, "not an Inspect sample (no id or epoch)", HINT))
            continue
        if not -(2**63) <= s["epoch"] < 2**63:  # the store keeps 64-bit integers
            problems.append(Problem(where, f"epoch {preview(s['epoch'])} is out of range (a 64-bit integer)", HINT))
            continue
        sid, epoch = s["id"], s["epoch"]
        output = s.get("output")
        completion = output.get("completion") if isinstance(output, dict) else None
        err = s.get("error")
        err_text = (err.get("message") if isinstance(err, dict) else err) if err else None
        row: dict[str, Any] = {
            "harness_task": task, "source_file": str(path),
            "sample": f"sample {preview(sid)} epoch {epoch}",
            "position": order.get(json.dumps(sid)), "epoch": epoch,
            "prediction": None if err_text else checked_text(completion, where, "output.completion", problems),
            "error": None if err_text is None else clip(str(err_text), 2000),
            "target": checked_text(s.get("target"), where, "target", problems)}
        for f in fields:
            found, value = get_path(s, f)
            row[field_column(f)] = checked_text(value, where, f, problems) if found else None
        n = len(rows)
        rows.append(row)
        for scorer, score in (s.get("scores") or {}).items():
            value = score.get("value") if isinstance(score, dict) else None
            items = value.items() if isinstance(value, dict) else [(None, value)]
            for key, v in items:
                value_raw = score_value(v)
                if value_raw is not None:
                    scores.append((n, scorer if key is None else f"{scorer}/{key}", value_raw[0], value_raw[1]))
    frame = frame_of(rows, {field_column(f): pl.String for f in fields})
    notes = []
    status = header.get("status")
    if status not in (None, "success"):
        notes.append(f"{task}: the eval ended with status '{status}' ({len(rows)} sample(s) in the log)")
    results = header.get("results")
    aggregates: dict[str, Any] = {}
    for sc in (results.get("scores") if isinstance(results, dict) else None) or []:
        if isinstance(sc, dict) and isinstance(sc.get("metrics"), dict):
            for mname, m in sc["metrics"].items():
                if isinstance(m, dict) and "value" in m:
                    aggregates[f"{sc.get('name')}/{mname}"] = m["value"]
    return Samples(frame, pl.DataFrame(scores, schema=SCORES_SCHEMA, orient="row") if scores
                   else Samples.empty_scores(), notes, {task: aggregates} if aggregates else {},
                   str(path) if aggregates else None, ev.get("model"))


def read(path: Path, mapping: Mapping, problems: list[Problem]) -> Samples:
    parts: list[Samples] = []
    seen: dict[str, Path] = {}
    for log in _logs(path):
        got = _log_samples(log, mapping, problems, seen)
        if got is not None:
            parts.append(got)
    return concat_samples(parts)
