"""Task data -> ``instances`` rows: General-Bench task folders and JSONL/Parquet/CSV files.

The reference of each instance is read from the declared field and converted to the declared
type (text, choice letter, label, labels, number, boxes, image); media paths are checked to
exist and hashed. Every problem names the file and the instance id; a task with any problem
loads nothing. Loading is incremental: a task whose data and dataset spec are unchanged (same
fingerprint) is not loaded again, and a data file whose version (size, times, inode) is known is
not even read (``FileVersions``). A file orjson parses is checked column by column over all its
records (``_fast_columns``); whatever that path does not accept goes through the per-instance loop
of ``load_task``, which names each problem.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import operator
import os
import re
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, islice, repeat
from pathlib import Path
from typing import Any

import duckdb

from glc.compiler.contracts import STORE
from glc.compiler.errors import GlcError
from glc.compiler.gc_pause import cyclic_gc_paused
from glc.compiler.resolve import Project, Task
from glc.compiler.spec_models import DatasetSpec
from glc.engine.store import ensure_store, insert_arrow, transaction
from glc.importers.safety import (
    SURROGATE_HINT,
    UTF8_BOM,
    clip,
    decode_utf8,
    lone_surrogate,
    preview,
    read_regular,
    require_utf8,
)
from glc.importers.scores import ImportErrors, Problem, fd_sha256
from glc.profiles import Grants, load_grants

CHOICE = re.compile(r"^\s*\(?([A-Za-z])\)?[\.\):]?\s*$")
Row = tuple[Any, ...]


COLUMNS = STORE["instances"].column_names


@dataclass(frozen=True)
class LoadedTask:
    """One task's instances, column by column (the ``instances`` contract's columns)."""

    task_id: str
    fingerprint: str
    columns: dict[str, list[Any]]

    @property
    def rows(self) -> list[Row]:
        """The rows as tuples, JSON columns as text (the fast path keeps them as UTF-8 bytes)."""
        cols = [[x.decode() if type(x) is bytes else x for x in self.columns[c]] for c in COLUMNS]
        return list(zip(*cols, strict=True))

    def __len__(self) -> int:
        return len(self.columns[COLUMNS[0]])


def _columns(rows: list[Row]) -> dict[str, list[Any]]:
    return {c: [r[i] for r in rows] for i, c in enumerate(COLUMNS)}


def data_path(root: Path, ds: DatasetSpec) -> Path:
    path = Path(ds.path)
    return path if path.is_absolute() else root / path


def _file_of(root: Path, ds: DatasetSpec) -> Path:
    base = data_path(root, ds)
    return base / "annotation.json" if ds.format == "general_bench" else base


def fingerprint(root: Path, task: Task) -> str:
    """What a task's instances are loaded from: its dataset spec and its data file's content."""
    ds = task.spec.dataset
    assert ds is not None
    f = _file_of(root, ds)
    content = "<outside>" if _outside(root, f) else hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() \
        else "<missing>"
    return _fingerprint(ds, content, root)


# The version of how a choice task's option texts are read from its records (``option_texts``): 2 reads
# a dict's values and leaves out each option's own letter. In the fingerprint of every choice task with
# options, so instances stored by an earlier reading load again (the data file did not change)
CHOICE_OPTIONS_READ = 2


def _fingerprint(ds: DatasetSpec, content: str, root: Path) -> str:
    """sha256 of the dataset spec, of the data file's sha256 (or why there is none) and of the folder
    its media and reference files are found in: the instances hold those files' paths joined with it,
    so a project moved or copied elsewhere (its data inside it) loads them again from where they are
    now, instead of scoring against paths that lead nowhere."""
    # labels_in_order only when set: the fingerprints of every other dataset stay what they were
    dumped = ds.model_dump_json(exclude=None if ds.labels_in_order else {"labels_in_order"})
    if ds.reference == "choice" and ds.options_field is not None:
        # how the option texts are read (option_texts) changed: such tasks load again once
        dumped += f"\0options:{CHOICE_OPTIONS_READ}"
    where = str(media_folder(root, ds)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(dumped.encode() + b"\0" + content.encode() + b"\0" + where).hexdigest()


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


def _plain(text: str) -> bool:
    """A relative path of plain names: no empty, '.' or '..' part, nothing hidden, no trailing '/'."""
    return bool(text) and text[0] not in "/." and text[-1] != "/" and "//" not in text and "/." not in text


class _Files:
    """Per task load: whether media paths lead to regular files the project may read, each path
    asked once. Only folders and links are resolved: a file that is not a symbolic link lies where
    its folder (resolved once per folder) does, the same answer as resolving every path.

    Media files are checked here, not read: their content is hashed when an instance is planned for
    inference (``glc.execute.inference``, remembered by file version), so loading a task costs one
    ``lstat`` per media file, and a media file changed in place is seen by the next run.
    """

    def __init__(self, root: Path, grants: Grants) -> None:
        self.root, self.grants = root, grants
        self.folders: dict[str, bool] = {}
        self.found: dict[str, bool] = {}
        self.plain_bases: dict[str, bool] = {}

    def outside(self, path: Path | str) -> bool:
        text = os.path.normpath(path)
        # '..' as written, not after normpath: "link/../x" is where the link leads, then up
        if ".." in str(path).split(os.sep) or os.path.islink(text):
            return not self.grants.readable(Path(path))
        return not self.readable_folder(os.path.dirname(text))

    def inside_file(self, path: str) -> bool:
        """``not self.outside(path) and self.is_file(path)`` with one ``lstat`` for a path that is no
        symbolic link (the common case) instead of a ``lstat`` and a ``stat``."""
        text = os.path.normpath(path)
        if ".." in path.split(os.sep):  # as written (see outside): resolved, links and all
            return self.grants.readable(Path(path)) and self.is_file(path)
        try:
            st = os.lstat(text)
        except OSError:  # missing (or unreadable): outside or not a file, False either way
            st = None
        if st is not None and stat.S_ISLNK(st.st_mode):
            return self.grants.readable(Path(path)) and self.is_file(path)
        if not self.readable_folder(os.path.dirname(text)):
            return False
        # "a.png/" or "a.png/." names a file to lstat (normalized) but not to open: is_file says so
        return st is not None and stat.S_ISREG(st.st_mode) and (text == path or self.is_file(path))

    def plain_base(self, base: str) -> bool:
        """Whether ``base`` is a normalized folder path without '..' (not the root): joined with a
        ``_plain`` path by one separator it makes a normalized path."""
        plain = self.plain_bases.get(base)
        if plain is None:
            plain = self.plain_bases[base] = (os.sep == "/" and base not in ("", os.sep)
                                              and os.path.normpath(base) == base and ".." not in base.split(os.sep))
        return plain

    def readable_folder(self, folder: str) -> bool:
        """Whether files right in ``folder`` (a normalized path) may be read: asked once per folder."""
        readable = self.folders.get(folder)
        if readable is None:
            readable = self.folders[folder] = self.grants.readable(Path(folder))
        return readable

    def under_file(self, base: str, text: str) -> bool:
        """``inside_file(os.path.join(base, text))``, with less work for the common case: a plain
        relative ``text`` (no empty, '.' or '..' part, nothing hidden) under a normalized ``base``
        is already normal, so one ``lstat`` answers. A symbolic link, and anything not plain, takes
        ``inside_file`` itself."""
        path = os.path.join(base, text)
        if not self.plain_base(base) or not _plain(text):
            return self.inside_file(path)
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if stat.S_ISLNK(st.st_mode):
            return self.inside_file(path)
        return stat.S_ISREG(st.st_mode) and self.readable_folder(path.rpartition(os.sep)[0])

    def is_file(self, path: str) -> bool:
        """Whether ``path`` leads to a regular file (links followed)."""
        found = self.found.get(path)
        if found is None:
            found = self.found[path] = os.path.isfile(path)
        return found


ID_HINT = "give every record an id: a non-empty string or an integer, as the official files have"
DEEP_HINT = "keep the records' inputs and references under a hundred levels of lists and objects"
OUTSIDE_HINT = ("specs may read only inside the project and the 'data_roots:' of profiles.yml; "
                "add the folder there if you trust it")


def _records(root: Path, task: Task, problems: list[Problem],
             header: dict[str, Any] | None = None, data: bytes | None = None,
             parsed: list[str] | None = None, grants: Grants | None = None) -> list[dict[str, Any]]:
    """The file's records; ``data``: its bytes when already read. ``parsed`` hears "orjson" when
    orjson parsed the whole file (then no string of it holds a lone surrogate: orjson refuses them)."""
    ds = task.spec.dataset
    assert ds is not None
    f = _file_of(root, ds)
    if _outside(root, f, grants):
        problems.append(Problem(task.path, f"task '{task.id}': dataset.path {ds.path!r} leads outside the project",
                                OUTSIDE_HINT))
        return []
    if not f.is_file():
        there = os.path.lexists(f)
        problems.append(Problem(str(f), f"task '{task.id}': " + (
            "the data file is not a regular file (a folder, a FIFO, a device, or a link that leads nowhere)"
            if there else "data file not found"), "check dataset.path in " + task.path if not there else
            "put the task's data there as a file; its stored instances are kept until then"))
        return []
    try:
        if ds.format == "general_bench":
            doc, by = _fast_json(f, data)
            records = doc.get("data") if isinstance(doc, dict) else None
            if not isinstance(records, list):
                problems.append(Problem(str(f), "annotation.json has no 'data' list",
                                        "expected {task, type, data: [...]}"))
                return []
            if header is not None:
                header.update({k: v for k, v in doc.items() if k != "data"})
            if parsed is not None:
                parsed.append(by)
            return records
        if ds.format == "jsonl":
            out = []
            # lines end at "\n" only: str.splitlines() would also cut at U+2028, U+2029, U+0085,
            # \x1c-\x1e, \v and \f, which JSON strings may hold unescaped
            raw = f.read_bytes() if data is None else data
            skipped = len(UTF8_BOM) if raw.startswith(UTF8_BOM) else 0
            for n, line in enumerate(decode_utf8(raw[skipped:], f, offset=skipped).split("\n"), start=1):
                if line.strip():
                    try:
                        out.append(json.loads(line, parse_constant=_not_json))
                    except json.JSONDecodeError as exc:
                        problems.append(Problem(f"{f}:{n}", f"bad JSON: {exc.msg}"))
                    except _NotJson as exc:
                        problems.append(Problem(f"{f}:{n}", f"bad JSON: {exc}"))
            return out
        return _table_records(f, ds.format)
    except json.JSONDecodeError as exc:
        problems.append(Problem(f"{f}:{exc.lineno}", f"bad JSON: {exc.msg}", "fix the file; nothing of it was loaded"))
    except RecursionError:
        problems.append(Problem(str(f), "bad JSON: nested too deeply (about a thousand levels)", DEEP_HINT))
    except GlcError as exc:
        problems.append(Problem(exc.location or str(f), exc.message, exc.hint))
    except (OSError, ValueError) as exc:
        problems.append(Problem(str(f), f"cannot read data: {clip(str(exc))}"))
    return []


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
# digits in a row from which an integer may lie past 64 bits: orjson reads integers up to 2**64 - 1 and
# down to -2**63 exactly, so 20 digits, or 19 after a minus sign
LONG_NUMBERS = (b"0" * 20, b"-" + b"0" * 19)


def _fast_json(f: Path, data: bytes | None = None) -> tuple[Any, str]:
    """(a JSON file parsed, by which parser): orjson when it is installed and accepts the file; else
    the standard library, whose errors (and the UTF-8 check before it) give the line and the cause.
    orjson reads an integer past 64 bits as a float (an id 12345678901234567890123 would become
    '1.2345678901234568e+22'): a file with such a run of digits goes to the standard library, whose
    integers are exact. NaN and Infinity, which the standard library reads, are not JSON: refused."""
    if data is None:
        data = f.read_bytes()
    if not data.strip():  # (the standard library would say "Expecting value")
        raise GlcError("the file is empty (or holds only whitespace)", location=clip(str(f)),
                       hint="it should hold the task's JSON document; copy it again from the download")
    skipped = len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0  # as Notepad writes UTF-8: neither parser takes it
    if skipped:
        data = data[skipped:]
    refused_at = None  # where orjson stopped: a NaN the standard library then reads is located by it
    if _orjson is not None:
        digits = data.translate(_DIGITS_AS_ZERO)
        if all(digits.find(run) < 0 for run in LONG_NUMBERS):
            try:
                return _orjson.loads(data), "orjson"
            except ValueError as exc:  # orjson.JSONDecodeError: let the careful path say where and why
                refused_at = getattr(exc, "pos", None)
    text = decode_utf8(data, f, offset=skipped)
    try:
        return json.loads(text, parse_constant=_not_json), "json"
    except _NotJson as exc:
        at = refused_at if refused_at is not None and _CONSTANT_AT.match(text, refused_at) else None
        if at is None:  # as far as a pattern can tell: the first such literal after a separator
            found = _CONSTANT.search(text)
            at = found.start(1) if found else 0
        raise json.JSONDecodeError(str(exc), text, at) from None


class _NotJson(ValueError):
    pass


_CONSTANT = re.compile(r"[:\[,]\s*-?(NaN|Infinity)\b")
_CONSTANT_AT = re.compile(r"-?(?:NaN|Infinity)\b")


def _not_json(name: str) -> Any:
    raise _NotJson(f"{name} is not JSON (write a number, or null for no value)")


def _table_records(f: Path, fmt: str) -> list[dict[str, Any]]:
    """Rows of a Parquet or CSV dataset; a file polars cannot read is a located GlcError."""
    import polars as pl

    from glc.importers.csv_rows import read_csv

    if fmt == "csv":
        require_utf8(f)
    try:
        frame = pl.read_parquet(f) if fmt == "parquet" else read_csv(f)  # a short row: named, not nulls
    except GlcError:
        raise
    except Exception as exc:  # noqa: BLE001 - polars raises its own error types for damaged files
        first = clip(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, 300)
        raise GlcError(f"cannot read the {fmt.upper()} dataset: {first}", location=str(f),
                       hint="every row needs the header's number of fields (quote fields holding commas)"
                       if fmt == "csv" else "write the file again with a Parquet writer") from None
    return frame.to_dicts()


_NUMBER = (int, float)


def _id_ok(value: Any) -> bool:
    """An instance id: a non-empty string or an integer (no bool, float, null, list or object)."""
    return (type(value) is str and value != "") or (isinstance(value, int) and not isinstance(value, bool))


def _finite(v: Any) -> bool:
    """A finite int or float (bool is no number here)."""
    t = type(v)
    if t is int:
        return True
    if t is float:
        return math.isfinite(v)
    return isinstance(v, _NUMBER) and not isinstance(v, bool) and math.isfinite(v)


def _boxes(value: Any, fmt: str) -> list[dict[str, Any]]:
    """Reference boxes as corners ``[x1, y1, x2, y2]``; an empty list is an image without objects."""
    if value == []:
        return []
    if type(value) is list and type(value[0]) is dict:
        quick = _dict_boxes(value, fmt == "xywh")
        if quick is not None:
            return quick
    items = value if isinstance(value, list) and not all(isinstance(v, _NUMBER) for v in value) else [value]
    out = []
    for item in items:
        box, label = (item.get("bbox", item.get("box")), item.get("label")) if isinstance(item, dict) else (item, None)
        if not (isinstance(box, list) and len(box) == 4 and all(map(_finite, box))):
            raise ValueError(f"{preview(item)} is not a box of 4 finite numbers")
        try:
            x1, y1, a, b = (float(v) for v in box)
        except OverflowError:  # an integer past the floats
            raise ValueError(f"{preview(item)} is not a box of 4 finite numbers") from None
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
            raise ValueError(f"expected a string or a list of strings, got {preview(value)}")
        return texts, texts, None
    if kind == "choice":
        m = CHOICE.match(str(value)) if isinstance(value, str) else None
        if m is None:
            raise ValueError(f"{preview(value)} is not a choice letter such as 'A' or '(B)'")
        return m.group(1).upper(), [m.group(1).upper()], None
    if kind == "label":
        if not isinstance(value, str | int | float) or isinstance(value, bool) or str(value).strip() == "":
            raise ValueError(f"expected one label, got {preview(value)}")
        return str(value).strip(), [str(value).strip()], None
    if kind == "labels":
        labels = value.split(ds.label_separator) if isinstance(value, str) else value
        if not isinstance(labels, list) or not all(isinstance(x, str | int) and not isinstance(x, bool)
                                                   for x in labels):
            raise ValueError(f"expected a list of labels, got {preview(value)}")
        if ds.labels_in_order:  # a sequence (events in order): order and repeats kept
            clean = [s for s in (str(x).strip() for x in labels) if s]
        else:
            clean = sorted({str(x).strip() for x in labels if str(x).strip()})
        return clean, clean, None
    if kind == "number":
        if isinstance(value, bool):  # float(true) is 1.0: a flag, not a measured number
            raise ValueError(f"{preview(value)} is not a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{preview(value)} is not a number") from None
        except OverflowError:  # an integer past the floats
            raise ValueError(f"{preview(value)} is not a finite number") from None
        if not math.isfinite(number):  # "nan", "inf" or 1e999: no metric has a value for it
            raise ValueError(f"{preview(value)} is not a finite number")
        return number, [], number
    if kind == "boxes":
        boxes = _boxes(value, ds.box_format)
        return boxes, [], None
    if isinstance(value, str) and value and value[0] != "/" and not {"", ".", ".."} & set(value.split("/")):
        # a plain relative path: what pathlib would make of it, without pathlib's cost
        joined = os.path.join(folder, value)
        try:
            regular = stat.S_ISREG(os.lstat(joined).st_mode)  # a file and no link: one call for both
        except (OSError, ValueError):  # ValueError: a NUL byte in the path, a file that cannot exist
            regular = False
        if not regular and not os.path.isfile(joined):
            raise ValueError(f"reference {kind} file {preview(value)} not found under {clip(str(folder))}")
        real = os.path.realpath(joined) if not regular and os.path.islink(joined) \
            else os.path.join(_real_folder(os.path.dirname(joined)), os.path.basename(joined))
        return value, [real], None
    path = folder / str(value)
    if not isinstance(value, str) or not os.path.isfile(path):
        raise ValueError(f"reference {kind} file {preview(value)} not found under {clip(str(folder))}")
    real = os.path.realpath(path) if os.path.islink(path) or ".." in path.parts \
        else os.path.join(_real_folder(str(path.parent)), path.name)
    return str(value), [real], None


def _dict_boxes(items: list[Any], xywh: bool) -> list[dict[str, Any]] | None:
    """``_boxes`` of a list of ``{bbox: [4 numbers], label}`` when every box is good; None at the
    first thing ``_boxes`` itself would refuse or treat otherwise (it then says why). The same
    floats, in the same order, as ``_boxes`` gives, without a function call per coordinate."""
    out = []
    isfinite = math.isfinite
    for item in items:
        if type(item) is not dict:
            return None
        box = item["bbox"] if "bbox" in item else item.get("box")
        if type(box) is not list or len(box) != 4:
            return None
        for v in box:
            t = type(v)
            if t is not int and (t is not float or not isfinite(v)):
                return None
        try:
            x1, y1, a, b = float(box[0]), float(box[1]), float(box[2]), float(box[3])
        except OverflowError:  # an integer past the floats: _boxes raises as it always did
            return None
        x2, y2 = (x1 + a, y1 + b) if xywh else (a, b)
        if x2 < x1 or y2 < y1:
            return None
        out.append({"bbox": [x1, y1, x2, y2], "label": item.get("label")})
    return out


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


def _loops(path: str) -> bool:
    """Whether resolving ``path`` runs into a link loop (which a lenient resolution would hide)."""
    try:
        os.path.realpath(path, strict=True)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    except ValueError:
        return False
    return False


def _not_a_file(where: str, given: str, path: str) -> Problem:
    """A media reference that names no regular file: missing, or something else at its path."""
    if os.path.isdir(path):
        return Problem(where, f"media file {preview(given)} is a folder, not a file", f"at {clip(path)}")
    if os.path.lexists(path):
        return Problem(where, f"media file {preview(given)} is not a regular file (a FIFO, a device, or a link that "
                              "leads nowhere)", f"at {clip(path)}")
    return Problem(where, f"missing media file {preview(given)}", f"expected at {clip(path)}")


def _reference_value(rec: Any, ds: DatasetSpec, ref_field: str) -> Any:
    """The record's reference: the first of ``reference_fields`` it has, else ``fields.reference``."""
    for name in ds.reference_fields:
        value = _find(rec, name)
        if value is not _MISSING:
            return value
    return _get(rec, ref_field)


# options are lettered A to Z (the prompt and the answer rules): a question with more could not name them all,
# and its prompt failed to render past Z, leaving the whole (model, task) job out with a message about a string
MAX_OPTIONS = 26


def _past_options(letter: str, options: list[Any]) -> bool:
    """Whether a choice letter names no option of a non-empty list (E of four): no answer can match it."""
    return bool(options) and ord(letter) - ord("A") >= len(options)


# An option's own letter written before its text ("B. dog", "(B) dog", "B) dog", "B: dog", "B、dog"): group 1
# the letter, the match ending where the text begins
_OPTION_LABEL = re.compile(r"[\s\u200b\ufeff]*[(（\[]?([A-Za-z])(?:[)）\]][.．:：]?|[.．:：、])\s*")


def option_texts(value: Any) -> list[Any] | None:
    """The options an options field holds, in the order the multiple-choice prompt letters them
    (specs/task_types/multiple_choice.yaml): a list as it is; a dict ({"A": "cat", "B": "dog"}) by its
    keys sorted as Jinja's dictsort sorts them (case-insensitive), its values (read as a list, a dict
    lettered its keys in the prompt and matched no answer given as an option's text); None for
    anything else (no options). Options that each carry their own letter (["A. cat", "B. dog"], as
    many data sets write them) are their texts without it: an answer giving an option's text ("dog")
    matched none of them ("b dog" once normalized)."""
    if type(value) is dict:
        value = [v for _, v in sorted(value.items(), key=lambda kv: kv[0].lower() if isinstance(kv[0], str) else kv[0])]
    if type(value) is not list:
        return None
    return _without_own_letters(value)


def _without_own_letters(options: list[Any]) -> list[Any]:
    """``options`` without the label each one starts with, when every one (at least two) is a text that
    starts with its own letter (A for the first, B for the second ...) and has a text after it; else as
    they are (one unlabelled option, or a letter that is not its own, and the texts are what they say)."""
    if len(options) < 2 or len(options) > MAX_OPTIONS or not set(map(type, options)) <= {str}:
        return options
    cut = []
    for i, text in enumerate(options):
        m = _OPTION_LABEL.match(text)
        if m is None or m.group(1).upper() != chr(65 + i) or m.end() == len(text):
            return options
        cut.append(text[m.end():])
    return cut


def _options(rec: Any, ds: DatasetSpec) -> list[str]:
    if ds.options_field is None:
        return []
    value = option_texts(_find(rec, ds.options_field))
    return [str(v) for v in value] if value is not None else []


def load_task(root: Path, task: Task, problems: list[Problem], fp: str | None = None,
              types: dict[str, Any] | None = None, data: bytes | None = None,
              grants: Grants | None = None) -> LoadedTask | None:
    """Read and check one task's instances; problems are appended, nothing is raised.

    ``data``: the data file's bytes when the caller has read them (``fp`` then their fingerprint).
    A file orjson parsed is first checked column by column (``_fast_columns``); anything that
    path does not accept goes through the per-instance loop of ``_load_task``, which names every
    problem. A value nested so deeply that Python's recursion limit stops its repr or its JSON
    text is one problem for the file (orjson parses up to 1,024 levels and writes up to 255).
    """
    before = len(problems)
    try:
        return _load_task(root, task, problems, fp, types, data, grants)
    except RecursionError:
        assert task.spec.dataset is not None
        del problems[before:]
        problems.append(Problem(str(_file_of(root, task.spec.dataset)),
                                "a record is nested too deeply (about a thousand levels)", DEEP_HINT))
        return None


def _load_task(root: Path, task: Task, problems: list[Problem], fp: str | None, types: dict[str, Any] | None,
               data: bytes | None, grants: Grants | None) -> LoadedTask | None:
    ds = task.spec.dataset
    assert ds is not None
    before = len(problems)
    header: dict[str, Any] = {}
    parsed: list[str] = []
    grants = grants or load_grants(root)
    records = _records(root, task, problems, header, data, parsed, grants)
    bad_type = _type_problem(header, task, types or {}, str(_file_of(root, ds)))
    if bad_type is not None:
        problems.append(bad_type)
        return None
    f = _file_of(root, ds)
    if not records and len(problems) == before:  # read, but nothing in it: not a task of no instances
        problems.append(Problem(str(f), "the file holds no instances",
                                "give it the task's instances (a General-Bench file lists them under 'data'); "
                                "to drop the task, remove its data or its spec"))
        return None
    folder = media_folder(root, ds)
    files = _Files(root, grants)
    _real_folder.cache_clear()  # folders may have changed since the last load
    # a General-Bench Close Set: no record has an output at all; its instances run but are not scored
    closed = ds.format == "general_bench" and bool(records) and not any(
        isinstance(r, dict) and "output" in r for r in records)
    fp = fp or fingerprint(root, task)
    if parsed == ["orjson"] and len(problems) == before:
        columns = _fast_columns(task, ds, records, f, folder, fp, closed, files)
        if columns is not None:
            return LoadedTask(task.id, fp, columns)
    id_field = ds.fields.get("id", "id")
    input_field = ds.fields.get("input", "input")
    ref_field = ds.fields.get("reference", "output")
    rows: list[Row] = []
    seen: set[str] = set()
    # records without a field the spec names: one problem per field for the file, not one per record
    lacking: dict[tuple[str, str], list[str]] = {}  # (spec key, field) -> the records that lack it
    for n, rec in enumerate(records):
        try:
            raw_id = _get(rec, id_field)
        except KeyError:
            lacking.setdefault(("dataset.fields.id", id_field), []).append(f"record {n + 1}")
            continue
        if not _id_ok(raw_id):
            problems.append(Problem(f"{f} record {n + 1} field '{clip(id_field, 80)}'",
                                    f"instance id {preview(raw_id)} is not text or an integer", ID_HINT))
            continue
        iid = str(raw_id)
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
                    options = _options(rec, ds)
                    if len(options) > MAX_OPTIONS:
                        raise ValueError(f"{len(options)} options in '{ds.options_field}': an option is named by a "
                                         f"letter, A to Z, so a question may have at most {MAX_OPTIONS}")
                    if _past_options(reference, options):
                        raise ValueError(f"answer {reference!r} is past the {len(options)} options in "
                                         f"'{ds.options_field}'")
                    ref_texts = ref_texts + options  # the letter, then the option texts
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
                    problems.append(Problem(where, f"media field '{field}': {preview(str(item))} "
                                                   + ("cannot be resolved (a link loop on the way)" if _loops(path)
                                                      else "leads outside the project"), OUTSIDE_HINT))
                    continue
                if not files.is_file(path):
                    problems.append(_not_a_file(where, str(item), path))
                    continue
                media.append({"field": field, "path": str(item)})
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
    return LoadedTask(task.id, fp, _columns(rows))


def _column(records: list[dict[str, Any]], dotted: str) -> list[Any]:
    """``_find(rec, dotted)`` for every record (all dicts): plain keys and paths of two keys through
    dicts directly, anything else (list indexes, deeper paths) by ``_find`` itself."""
    missing = _MISSING
    parts = dotted.split(".")
    if len(parts) == 1:
        return _get_each(records, dotted)
    if len(parts) == 2:
        a, b = parts
        outer = _get_each(records, a, None)
        if set(map(type, outer)) <= {dict}:
            return _get_each(outer, b)
        return [o.get(b, missing) if type(o) is dict else _find(r, dotted) for o, r in zip(outer, records, strict=True)]
    return [_find(r, dotted) for r in records]


def _get_each(dicts: list[dict[str, Any]], key: str, default: Any = _MISSING) -> list[Any]:
    """``d.get(key, default)`` for every dict, without a Python step per dict."""
    return list(map(dict.get, dicts, repeat(key), repeat(default)))


def _dump_each(values: list[Any]) -> list[bytes]:
    """``orjson.dumps(v, option=OPT_SORT_KEYS)`` of each value, written by one call: the values
    interleaved with a string made for this call (a random nonce after a NUL), the output cut at
    it. A value that holds that string makes more pieces than values; then, and when orjson
    refuses the list (one level deeper than each value), each value is written alone."""
    dump, sort = _orjson.dumps, _orjson.OPT_SORT_KEYS
    n = len(values)
    if n > 1:
        import secrets

        sep = "\0glc" + secrets.token_hex(8)
        interleaved: list[Any] = [sep] * (2 * n - 1)
        interleaved[0::2] = values
        try:
            text = dump(interleaved, option=sort)
        except TypeError:
            pass
        else:
            pieces = text[1:-1].split(b"," + dump(sep) + b",")
            if len(pieces) == n:
                return pieces
    return [dump(v, option=sort) for v in values]


def _bulk_references(values: list[Any], ds: DatasetSpec
                     ) -> tuple[list[bytes | None], list[list[str]], list[float | None]] | None:
    """(reference JSON, ref_texts, ref_number) of every record of a text, labels or boxes task at
    once, when every value has the common shape (text: strings or non-empty lists of strings;
    labels: lists of strings; boxes: lists of ``{bbox: [4 numbers], label}``); None otherwise
    (then ``convert_reference`` takes them one by one and names what it refuses). The same values
    ``convert_reference`` gives, built column by column."""
    n = len(values)
    canon: list[Any] | None
    if ds.reference == "text":
        types = set(map(type, values))
        if types <= {str}:
            canon = [[v] for v in values]
        elif types <= {str, list}:
            canon = [v if type(v) is list else [v] for v in values]
            if not all(canon) or not set(map(type, chain.from_iterable(canon))) <= {str}:
                return None
        else:
            return None
        return list(_dump_each(canon)), canon, [None] * n
    if ds.reference == "labels":
        if not set(map(type, values)) <= {list} or not set(map(type, chain.from_iterable(values))) <= {str}:
            return None  # labels in one string, numbers among them: one by one
        keys = list(map(tuple, values))  # label lists repeat: each distinct one converted once
        clean: dict[tuple[str, ...], list[str]] = {
            k: [x for x in map(str.strip, k) if x] if ds.labels_in_order
            else sorted({x for x in map(str.strip, k) if x}) for k in dict.fromkeys(keys)}
        dumped = dict(zip(clean, _dump_each(list(clean.values())), strict=True))
        return [dumped[k] for k in keys], [clean[k] for k in keys], [None] * n
    if ds.reference == "boxes":
        canon = _bulk_boxes(values, ds.box_format == "xywh")
        if canon is None:
            return None
        return list(_dump_each(canon)), [[] for _ in range(n)], [None] * n
    return None


def _plain_media(values: list[str], folder: Path, files: _Files) -> list[tuple[str, list[str], None]] | None:
    """``convert_reference`` of distinct media references (paths), when each is a ``_plain`` path
    to a regular file (no link) in a readable folder; None at anything else (the general code then
    says what is wrong). One ``lstat`` per path, the folder resolved once; the real path of each
    file is its resolved folder joined with its name, as ``convert_reference`` has it."""
    base = str(folder)
    if not files.plain_base(base):
        return None
    out = []
    for v in values:
        if not _plain(v):
            return None
        path = base + "/" + v
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                return None
        except (OSError, ValueError):
            return None
        parent, _, name = path.rpartition("/")
        real_parent = _real_folder(parent)
        if not files.readable_folder(real_parent):
            return None
        out.append((v, [os.path.join(real_parent, name)], None))
    return out


def _bulk_boxes(values: list[Any], xywh: bool) -> list[list[dict[str, Any]]] | None:
    """``_boxes`` of every value when each is a list of ``{bbox: [4 finite ints or floats], label}``
    without a box of negative size; None at anything else. The coordinates are checked and
    converted over all boxes of the task at once: the same floats, in the same order."""
    if not set(map(type, values)) <= {list}:
        return None
    items = list(chain.from_iterable(values))
    if not set(map(type, items)) <= {dict}:
        return None
    boxes = _get_each(items, "bbox")
    if not set(map(type, boxes)) <= {list} or not set(map(len, boxes)) <= {4}:
        return None  # a "box" key, no box, or not 4 numbers: _boxes says which
    coords = list(chain.from_iterable(boxes))
    if not set(map(type, coords)) <= {int, float}:
        return None
    try:
        floats = list(map(float, coords))
    except OverflowError:  # an integer past the floats
        return None
    if not all(map(math.isfinite, floats)):
        return None
    x1, y1, a, b = floats[0::4], floats[1::4], floats[2::4], floats[3::4]
    x2, y2 = (list(map(operator.add, x1, a)), list(map(operator.add, y1, b))) if xywh else (a, b)
    if any(map(operator.lt, x2, x1)) or any(map(operator.lt, y2, y1)):
        return None
    labels = _get_each(items, "label", None)
    made = iter([{"bbox": [p, q, r, t], "label": label} for p, q, r, t, label in zip(x1, y1, x2, y2, labels,
                                                                                       strict=True)])
    return [list(islice(made, len(v))) for v in values]


def _fast_columns(task: Task, ds: DatasetSpec, records: list[Any], f: Path, folder: Path, fp: str, closed: bool,
                  files: _Files) -> dict[str, Any] | None:
    """The task's columns when every record passes every check, computed field by field over all
    records; None at the first thing that needs a located problem (the per-instance loop of
    ``load_task`` then finds and names it). Only for records orjson parsed: their strings hold no
    lone surrogate, and every value serialises with orjson.

    Gives exactly the rows the per-instance loop gives (tests/test_dataset_loading.py compares them).
    The JSON columns are UTF-8 bytes here (``_Batches`` hands them to Arrow as such).
    """
    if not set(map(type, records)) <= {dict}:
        return None
    try:
        return _fast_checked(task, ds, records, f, folder, fp, closed, files)
    except (TypeError, ValueError):  # orjson refuses to write a value (nesting too deep): the careful path
        return None


def _fast_checked(task: Task, ds: DatasetSpec, records: list[dict[str, Any]], f: Path, folder: Path, fp: str,
                  closed: bool, files: _Files) -> dict[str, Any] | None:
    missing = _MISSING
    n = len(records)
    dump = _orjson.dumps
    sort = _orjson.OPT_SORT_KEYS
    raw_ids = _column(records, ds.fields.get("id", "id"))
    if missing in raw_ids or not set(map(type, raw_ids)) <= {str, int} or "" in raw_ids:
        return None  # no id, or one that is no text nor integer (bool, float, null, list): the loop says which
    ids = [x if type(x) is str else str(x) for x in raw_ids]
    if len(set(ids)) != n:
        return None
    references: list[bytes | None]
    texts: list[list[str]]
    numbers: list[float | None]
    if closed:
        references, texts, numbers, kinds = [None] * n, [[]] * n, [None] * n, [NO_REFERENCE] * n
    else:
        values = None
        for name in [*ds.reference_fields, ds.fields.get("reference", "output")]:
            column = _column(records, name)
            values = column if values is None else [v if v is not missing else c
                                                    for v, c in zip(values, column, strict=True)]
            if missing not in values:
                break
        if values is None or missing in values:
            return None
        bulk = _bulk_references(values, ds)  # text, labels and boxes: every record at once
        if bulk is not None:
            references, texts, numbers = bulk
        else:
            # one conversion per distinct value (letters, labels and media paths repeat); lists and
            # dicts (boxes, several answers) one by one. The key tells 1 from 1.0 and 0.0 from -0.0
            keys = values if set(map(type, values)) <= {str} else [
                v if type(v) is str else (type(v), repr(v)) if type(v) in (int, float) else None for v in values]
            firsts: dict[Any, Any]
            if keys is values:  # strings: each its own key, the distinct ones in order without a Python step each
                distinct_values = dict.fromkeys(values)
                firsts = dict(zip(distinct_values, distinct_values, strict=True))
            else:
                firsts = {}
                for key, v in zip(keys, values, strict=True):
                    if key is not None and key not in firsts:
                        firsts[key] = v
            plain = _plain_media(list(firsts.values()), folder, files) \
                if ds.reference in MEDIA_KINDS and keys is values else None  # the files checked inside
            done = plain if plain is not None else [convert_reference(v, ds, folder)  # ValueError: careful path
                                                    for v in firsts.values()]
            table: dict[Any, tuple[bytes, list[str], float | None]] = {
                key: (text, ref_texts, number)
                for key, text, (_, ref_texts, number) in zip(firsts, _dump_each([d[0] for d in done]), done,
                                                             strict=True)}
            if None in keys:  # values that cannot be keys
                if ds.reference in MEDIA_KINDS:
                    return None  # media references are paths: never anything else
                loose = [convert_reference(v, ds, folder) for k, v in zip(keys, values, strict=True) if k is None]
                each = iter([(text, c[1], c[2]) for text, c in zip(_dump_each([c[0] for c in loose]), loose,
                                                                    strict=True)])
                converted = [table[k] if k is not None else next(each) for k in keys]
            else:
                converted = list(map(table.__getitem__, keys))
            if ds.reference in MEDIA_KINDS and plain is None and any(c[1] and files.outside(c[1][0])
                                                                     for c in table.values()):
                return None
            # the lists of ref_texts are shared between rows of equal references: never changed
            references, texts, numbers = (list(col) for col in zip(*converted, strict=True)) if converted \
                else ([], [], [])
        if ds.reference == "choice" and ds.options_field is not None:
            options = [option_texts(o) for o in _column(records, ds.options_field)]
            if any(t and type(o) is list and (_past_options(t[0], o) or len(o) > MAX_OPTIONS)
                   for t, o in zip(texts, options, strict=True)):
                return None  # an answer past its options, or more options than letters: the per-instance loop names it
            texts = [t + o if type(o) is list else t for t, o in zip(texts, options, strict=True)]
            if not set(map(type, chain.from_iterable(texts))) <= {str}:  # the option texts as strings
                texts = [[x if type(x) is str else str(x) for x in t] for t in texts]
        kinds = [ds.reference] * n
    media_col: list[bytes] = [b"[]"] * n
    fields = [(name, True) for name in ds.media] + [(name, False) for name in ds.optional_media]
    if fields:
        # optional fields under one key ("input.image", "input.audio", ...): a record whose dict
        # there has none of them has no media (one set operation instead of a lookup per field),
        # and in the others each field is a key of that dict
        heads = {name.split(".", 1)[0] for name, _ in fields}
        quick = not ds.media and len(heads) == 1 and all(name.count(".") == 1 for name, _ in fields)
        todo: Iterable[int] = range(n)
        inner: list[Any] = records
        if quick:
            leaves = frozenset(name.split(".", 1)[1] for name, _ in fields)
            inner = _column(records, heads.pop())
            if not set(map(type, inner)) <= {dict}:
                todo = [i for i, o in enumerate(inner) if type(o) is not dict or not o.keys().isdisjoint(leaves)]
        base = str(folder)
        checked: dict[str, bool] = {}
        lookups = [(name, name.split(".", 1)[1] if quick else name, required) for name, required in fields]
        no_media = b"[]"

        def media_of(found: Iterable[Any]) -> bytes | None:
            """The media JSON of one record from the values of its media fields (in ``lookups``
            order); None at a required field missing or a file missing or outside."""
            media = []
            for (name, _, required), rel in zip(lookups, found, strict=True):
                if rel is missing:
                    if required:
                        return None
                    continue
                if rel is None and not required:
                    continue
                for item in rel if isinstance(rel, list) else [rel]:
                    text = item if type(item) is str else str(item)
                    there = checked.get(text)
                    if there is None:
                        there = checked[text] = files.under_file(base, text)
                    if not there:
                        return None
                    media.append({"field": name, "path": text})
            return dump(media, option=sort) if media else no_media

        wheres = (inner if type(todo) is range else [inner[i] for i in todo]) if quick else []
        combos: list[tuple[Any, ...]] | None = None
        distinct: set[tuple[Any, ...]] = set()
        if quick and set(map(type, wheres)) <= {dict}:
            # records share their media (a few pictures per task): one answer per distinct
            # combination of field values, the fields read column by column
            combos = list(zip(*[_get_each(wheres, key) for _, key, _ in lookups], strict=True))
            try:
                distinct = set(combos)
            except TypeError:  # a list of paths: record by record below
                combos = None
        if combos is not None:
            memo: dict[tuple[Any, ...], bytes] = {}
            for combo in distinct:
                got = media_of(combo)
                if got is None:
                    return None
                memo[combo] = got
            for i, combo in zip(todo, combos, strict=True):
                media_col[i] = memo[combo]
        else:
            for i in todo:
                rec = records[i]
                where = inner[i]
                got = media_of([where.get(key, missing) if quick and type(where) is dict else _find(rec, name)
                                for name, key, _ in lookups])
                if got is None:
                    return None
                media_col[i] = got
    inputs = _dump_each([v if v is not missing else None for v in _column(records, ds.fields.get("input", "input"))])
    source = str(f)
    return {"task_id": [task.id] * n, "instance_id": ids, "input": inputs, "reference": references,
            "ref_kind": kinds, "ref_texts": texts, "ref_number": numbers, "media": media_col,
            "source_file": [source] * n, "dataset_fp": [fp] * n}


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


CONSTANT = ("task_id", "ref_kind", "source_file", "dataset_fp")  # one value per task
# instances written to the store at a time (one Arrow batch). On the full General-Bench tree, batches
# of 65,536 left 0.4-0.55 s of work to the checkpoint when the store closed; from about 131,072 rows
# up closing took 0.03 s, as measured (the rows apparently reach the database file during the insert),
# and bench_general_bench's peak memory fell from 640 MB to 570-594 MB
INSERT_BATCH = 262_144
VERSIONS = "data_files.json"  # under target/: data file version -> its sha256 (see FileVersions)
MEDIA_VERSIONS = "media_files.json"  # under target/: the same for media files, learned when planning


def _opened_at(fd: int, path: Path) -> bool:
    """Whether the file open as ``fd`` is the one at ``path`` (Linux: its /proc link; elsewhere not
    known, and taken as yes)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == str(path)
    except OSError:
        return not os.path.isdir("/proc/self/fd")


def _still_there(name: str) -> bool:
    """False when nothing is at path ``name`` (or a file stands where a folder on its way was, or the
    name cannot be a path); True when something is, or that cannot be known now (no access)."""
    try:
        os.lstat(name)
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return False
    except OSError:
        pass  # not knowable now (a folder without access)
    return True


class FileVersions:
    """The sha256 of data files (and, in another file, of media files) by file version (size,
    modification and change time, inode), kept under ``target/``: an unchanged file is not read again
    to learn that it is unchanged. ``prune`` forgets the entries of files no longer there.

    An entry is believed only for a file last changed well before the entry was written (two
    seconds), so a file rewritten twice within one tick of a coarse clock is read again.
    """

    RACY_NS = 2_000_000_000

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            cache = _orjson.loads(path.read_bytes()) if _orjson is not None else json.loads(path.read_text())
        except (OSError, ValueError):
            cache = {}
        self.cache: dict[str, Any] = cache if isinstance(cache, dict) else {}
        self.changed = False
        self.unseen: set[str] = set(self.cache)  # entries read from the file and not asked about since

    @staticmethod
    def version(st: os.stat_result) -> list[int]:
        return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]

    def sha256(self, f: Path) -> str | None:
        """The file's sha256 when an entry for its current version can be believed, else None."""
        hit = self.cache.get(str(f))
        self.unseen.discard(str(f))
        try:
            st = f.stat()
        except OSError:
            return None
        if isinstance(hit, list) and len(hit) == 3 and hit[0] == self.version(st) and isinstance(hit[1], str) \
                and isinstance(hit[2], int) and hit[2] - max(st.st_mtime_ns, st.st_ctime_ns) > self.RACY_NS:
            return hit[1]
        return None

    def digest(self, f: Path) -> str | None:
        """The sha256 of the file at ``f`` (a resolved path: no link on the way), read in pieces only
        when no entry for its current version can be believed, then remembered. None when it is not a
        regular file at that very path now: it is opened without following a link at its end and
        without waiting on a FIFO, and on Linux the opened file's own path must be ``f`` (a folder on
        the way swapped for a link since ``f`` was resolved and checked makes it another file)."""
        known = self.sha256(f)
        if known is not None:
            return known
        stamp = time.time_ns()  # before the read: a change during it is newer than the entry
        try:
            fd = os.open(f, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or not _opened_at(fd, f):
                return None
            digest = fd_sha256(fd)
        except OSError:
            return None
        finally:
            os.close(fd)
        self.cache[str(f)] = [self.version(st), digest, stamp]
        self.changed = True
        return digest

    def read(self, f: Path) -> tuple[bytes, str]:
        """(the file's bytes, their sha256), remembered for the version the file had before the read.
        OSError for anything but a regular file: it is opened without waiting on a FIFO, and a device
        (a link to /dev/zero) is never read."""
        stamp = time.time_ns()
        data, st = read_regular(f)
        digest = hashlib.sha256(data).hexdigest()
        self.cache[str(f)] = [self.version(st), digest, stamp]
        self.changed = True
        return data, digest

    PRUNE_LIST = 8  # from this many unchecked entries in one folder, the folder is listed once

    def prune(self) -> None:
        """Forget the entries of files no longer there (a media folder moved or deleted, a data root
        not mounted), so that ``self.path`` does not keep every file ever hashed. Only when something
        new was learned (planning the same instances again costs nothing more), and only the entries
        not asked about since this object read them: one ``lstat`` each, or one listing of their
        folder where it holds many (a narrow plan after a full one checks every other entry)."""
        if not self.changed:
            return
        by_folder: dict[str, list[str]] = {}
        for name in self.unseen:
            by_folder.setdefault(os.path.dirname(name), []).append(name)
        for folder, names in by_folder.items():
            if len(names) >= self.PRUNE_LIST:
                try:
                    present = set(os.listdir(folder))
                except (FileNotFoundError, NotADirectoryError, ValueError):
                    present = set()
                except OSError:
                    continue  # not knowable now (a folder without access): kept
                gone = [n for n in names if os.path.basename(n) not in present]
            else:
                gone = [n for n in names if not _still_there(n)]
            for name in gone:
                self.cache.pop(name, None)
        self.unseen.clear()

    def save(self) -> None:
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.cache, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only project still loads; it reads the files again next time


class _Batches:
    """Loaded tasks as Arrow tables, inserted together once about ``INSERT_BATCH`` rows wait.

    The store is written by one writer thread, in the order the statements were given (deletes of
    reloaded tasks, inserts of batches): DuckDB works without the GIL, so the next files are
    parsed and checked while a batch is inserted. At most one batch waits for the writer, so
    memory holds a batch being written, one waiting and the task being read. ``close`` waits
    for the writer and raises what it raised; nothing else touches the connection meanwhile.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        import queue
        import threading

        self.con = con
        self.tables: list[Any] = []
        self.n = 0
        self.todo: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=2)
        self.failed: BaseException | None = None
        self.discard = False
        self.writer = threading.Thread(target=self._write, name="glc-instances-writer", daemon=True)
        self.writer.start()

    def _write(self) -> None:
        while True:
            item = self.todo.get()
            if item is None:
                return
            if self.failed is not None or self.discard:
                continue  # drain: the first failure is what close raises
            kind, arg = item
            try:
                if kind == "delete":
                    self.con.execute("DELETE FROM instances WHERE task_id = ?", [arg])
                else:
                    insert_arrow(self.con, "instances", arg)
            except BaseException as exc:  # noqa: BLE001 - handed to the loading thread by close()
                self.failed = exc

    def _put(self, kind: str, arg: Any) -> None:
        if self.failed is not None:
            raise self.failed  # now rather than after reading every file
        self.todo.put((kind, arg))

    def delete(self, task_id: str) -> None:
        self._put("delete", task_id)

    def add(self, got: LoadedTask) -> None:
        import pyarrow as pa

        arrays = {}
        n = len(got)
        for c in STORE["instances"].columns:
            values = got.columns[c.name]
            if c.name in CONSTANT and n and values[0] is values[-1] and values.count(values[0]) == n:
                arrays[c.name] = pa.repeat(pa.scalar(values[0], pa.string()), n)
            elif c.type == "VARCHAR[]":
                arrays[c.name] = pa.array(values, type=pa.list_(pa.string()))
            elif c.type == "DOUBLE":
                arrays[c.name] = pa.array(values, type=pa.float64())
            elif any(type(x) is bytes for x in values[:1]):
                # JSON the fast path wrote with orjson, whose output is always valid UTF-8 (it refuses
                # lone surrogates): the bytes are the strings as they are, no UTF-8 pass over them again
                arrays[c.name] = pa.array(values, type=pa.binary()).view(pa.string())
            else:
                arrays[c.name] = pa.array(values, type=pa.string())
        self.tables.append(pa.table(arrays))
        self.n += len(got)
        if self.n >= INSERT_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.n:
            return
        import pyarrow as pa

        self._put("insert", pa.concat_tables(self.tables))
        self.tables = []
        self.n = 0

    def close(self, *, discard: bool = False) -> None:
        """Wait until the writer has written everything given (``discard``: skip what it has not
        begun); raise its error, if any."""
        self.discard = self.discard or discard
        if self.writer.is_alive():
            self.todo.put(None)
            self.writer.join()
        if self.failed is not None and not discard:
            raise self.failed


def sync_instances(con: duckdb.DuckDBPyConnection, project: Project,
                   only: Iterable[str] | None = None, problems: list[Problem] | None = None,
                   removed: list[tuple[str, bool]] | None = None,
                   failed: list[tuple[str, bool]] | None = None) -> list[str]:
    """Reload the instances of tasks whose data changed; return the reloaded task ids.

    The instances of a task that no longer has data (no ``dataset``: its folder gone from the data
    root, or the root not mounted) or is no longer in the project are removed; ``removed`` hears those
    tasks, (task id, whether it is still in the project), for the caller to say so.

    A task whose data has a problem loads nothing (its stored instances stay as they were).
    With ``problems`` given, the problems are appended there and every other task loads;
    without it, any problem raises ``ImportErrors`` before anything is stored. ``failed`` hears the
    tasks whose data did not load, (task id, whether instances loaded before are stored): planning
    leaves them out, as their specs may already describe the file that failed (a task type read from
    its header) while their stored instances are the earlier file's. A data file whose version
    (size, times, inode) is that of a file read before is not read again (``FileVersions``).
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
    gave_up: list[str] = []
    # one transaction, rows written in batches as tasks are read (memory holds a batch and a task):
    # all or nothing when problems raise, every good task when the caller collects problems.
    # Parsed records are trees without cycles, freed by reference counting: the cyclic collector,
    # which would walk them again and again while they are built, waits until the load is done
    with cyclic_gc_paused():
        _sync(con, project, tasks, dropped, stored, found, reloaded, gave_up, collect=problems is not None)
    if problems is not None:
        problems.extend(found)
    if failed is not None:
        failed.extend((tid, tid in stored) for tid in gave_up)
    if removed is not None:
        in_project = {t.id for t in project.tasks}
        removed.extend((tid, tid in in_project) for tid in dropped)
    return reloaded


def _sync(con: duckdb.DuckDBPyConnection, project: Project, tasks: list[Task], dropped: list[str],
          stored: dict[str, str], found: list[Problem], reloaded: list[str], gave_up: list[str], *,
          collect: bool) -> None:
    """``sync_instances`` in one transaction; without ``collect`` any problem rolls it back (raised)."""
    root = project.root
    grants = load_grants(root)
    versions = FileVersions(root / "target" / VERSIONS)
    with transaction(con):
        batches = _Batches(con)
        try:
            _load_tasks(project, tasks, dropped, stored, found, reloaded, gave_up, grants, versions, batches)
        except BaseException:
            batches.close(discard=True)  # the writer stops before the transaction rolls back
            raise
        batches.close()
        if found and not collect:
            raise ImportErrors(Path("task data"), found)
    versions.save()


def _load_tasks(project: Project, tasks: list[Task], dropped: list[str], stored: dict[str, str],
                found: list[Problem], reloaded: list[str], gave_up: list[str], grants: Grants,
                versions: FileVersions, batches: _Batches) -> None:
    """Read, check and hand to ``batches`` the tasks whose data changed (``_sync``'s loop); those
    whose data did not load go to ``gave_up``."""
    root = project.root
    for tid in dropped:
        batches.delete(tid)
    for t in tasks:
        ds = t.spec.dataset
        assert ds is not None
        f = _file_of(root, ds)
        data: bytes | None = None
        readable = grants.readable(f)
        known = versions.sha256(f) if readable else None
        if known is not None:
            fp = _fingerprint(ds, known, root)
        elif not readable:
            fp = _fingerprint(ds, "<outside>", root)
        else:
            try:
                data, digest = versions.read(f)
                fp = _fingerprint(ds, digest, root)
            except OSError:
                fp = _fingerprint(ds, "<missing>", root)
        if stored.get(t.id) == fp:
            continue
        got = load_task(root, t, found, fp, project.task_types, data, grants)
        if got is None:
            gave_up.append(t.id)
            continue
        if t.id in stored:
            batches.delete(t.id)
        batches.add(got)
        reloaded.append(t.id)
    batches.flush()


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
