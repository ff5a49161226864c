"""Bind benchmark tasks to the folders of a General-Bench download.

A General-Bench tree is ``<Modality>/<comprehension|generation>/<Task-Name>/annotation.json``
(``NLP/<Task-Name>/annotation.json`` for language). A catalog task binds to the folder of its
(modality, paradigm, name): exactly, or when the names differ only by case, spacing or
punctuation, or through a declared alias table.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from glc.compiler.spec_models import (
    DatasetSpec,
    GenerationSpec,
    InferenceSpec,
    RefKind,
    RouteSpec,
    TaskSpec,
    TaskTypeParts,
    TaskTypeSpec,
)

MODALITY_DIR = {"image": "Image", "video": "Video", "audio": "Audio", "3d": "3d", "nlp": "NLP"}


def folder_name(task_name: str) -> str:
    """The folder name General-Bench uses for a task: its name with runs of spaces (and path
    separators, which a folder name cannot hold) as hyphens."""
    return re.sub(r"[\s/\\]+", "-", task_name.strip())


def name_key(name: str) -> str:
    """What two folder/task names must share to bind: letters and digits (any script), case-folded."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def canonical_folder(modality: str, paradigm: str, task_name: str) -> PurePosixPath:
    """``Image/comprehension/Task-Name`` or ``NLP/Task-Name``, relative to the data root."""
    if modality == "nlp":
        return PurePosixPath(MODALITY_DIR["nlp"], folder_name(task_name))
    return PurePosixPath(MODALITY_DIR[modality], paradigm, folder_name(task_name))


PARADIGM_DIRS = ("comprehension", "generation")


@dataclass(frozen=True)
class Folder:
    """A task folder of the download: where it is and which group it belongs to."""

    rel: PurePosixPath  # relative to the data root
    modality: str
    paradigm: str


@dataclass
class Binding:
    """The result of binding a benchmark's tasks to a data root (what ``glc compile`` reports)."""

    root: Path
    source: str  # where the data root was set
    bound: dict[str, PurePosixPath] = field(default_factory=dict)  # task id -> folder
    how: dict[str, str] = field(default_factory=dict)  # task id -> exact | loose | alias
    missing: dict[str, list[str]] = field(default_factory=dict)  # modality -> task ids without a folder
    unmatched: list[PurePosixPath] = field(default_factory=list)  # folders no task binds to
    problems: list[str] = field(default_factory=list)  # aliases to nowhere, ambiguous names
    totals: dict[str, int] = field(default_factory=dict)  # modality -> tasks that could bind
    retyped: dict[str, tuple[str, str]] = field(default_factory=dict)  # task id -> (catalog type, the data's)
    digest: str = ""  # of everything the binding read from the data folder (see ``scan``)

    def per_modality(self) -> list[tuple[str, int, int]]:
        """(modality, bound, total) in the catalog's modality order."""
        bound: dict[str, int] = {}
        for tid in self.bound:
            m = tid.split(".", 1)[0]
            bound[m] = bound.get(m, 0) + 1
        return [(m, bound.get(m, 0), self.totals[m]) for m in MODALITY_DIR if m in self.totals]


def _dirs(folder: Path, seen: list[str] | None = None) -> list[Path]:
    try:
        found = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        found = []
    if seen is not None:
        seen.append("D" + str(folder) + "\0" + "\0".join(p.name for p in found))
    return found


def _annotation(folder: Path, seen: list[str] | None) -> bool:
    """Whether ``folder`` holds an annotation.json; ``seen`` hears its version (or its absence).

    Anything of that name counts, a regular file or not: a folder, a FIFO or a link that leads nowhere
    binds the task too, and loading its instances reports the file (the task's stored instances stay).
    Not binding it would drop the task and, with it, the instances stored from an earlier, good file."""
    f = folder / "annotation.json"
    try:
        st = f.stat()
    except OSError:
        st = None
    if seen is not None:
        seen.append(f"A{f}\0" + ("-" if st is None else f"{st.st_mode}:{st.st_size}:{st.st_mtime_ns}:"
                                                          f"{st.st_ctime_ns}:{st.st_ino}"))
    return st is not None or os.path.lexists(f)


def scan(root: Path, seen: list[str] | None = None) -> list[Folder]:
    """Every task folder (one holding ``annotation.json``) of a General-Bench tree.

    ``seen`` hears everything the scan read: each folder listing and each annotation.json's
    version (size, modification and change time, inode). Its digest (``scan_digest``) is
    what a compiled binding depends on: any folder or annotation.json added, removed, renamed or
    rewritten changes it, and what headers the files declare cannot change without that.
    """
    by_key = {name_key(v): k for k, v in MODALITY_DIR.items()}
    found: list[Folder] = []
    for mdir in _dirs(root, seen):
        modality = by_key.get(name_key(mdir.name))
        if modality is None:
            continue
        if modality == "nlp":
            found += [Folder(PurePosixPath(mdir.name, t.name), "nlp", "nlp")
                      for t in _dirs(mdir, seen) if _annotation(t, seen)]
            continue
        for pdir in _dirs(mdir, seen):
            paradigm = name_key(pdir.name)  # any case, spacing or punctuation, as modality folders
            if paradigm not in PARADIGM_DIRS:
                continue
            found += [Folder(PurePosixPath(mdir.name, pdir.name, t.name), modality, paradigm)
                      for t in _dirs(pdir, seen) if _annotation(t, seen)]
    return found


def scan_digest(root: Path) -> tuple[list[Folder], str]:
    """(``scan(root)``, sha256 of all it read); a root that is no folder has no task folders."""
    seen: list[str] = [f"R{root}\0{root.is_dir()}"]
    folders = scan(root, seen) if root.is_dir() else []
    return folders, hashlib.sha256("\n".join(seen).encode("utf-8", "surrogateescape")).hexdigest()


def bind(tasks: list[tuple[str, str, str, str]], root: Path, source: str,
         aliases: dict[str, str]) -> Binding:
    """Bind (task id, modality, paradigm, name) to folders under ``root``.

    A task binds to the folder its alias names, else to the folder of its exact General-Bench
    name, else to the one folder of its group whose name has the same letters and digits
    (case, spacing and punctuation ignored). Several tasks may share a folder.
    """
    out = Binding(root, source)
    folders, out.digest = scan_digest(root)
    exact: dict[tuple[str, str, str], list[Folder]] = {}  # several: the same name under Image/ and image/
    loose: dict[tuple[str, str, str], list[Folder]] = {}
    for f in folders:
        exact.setdefault((f.modality, f.paradigm, f.rel.name), []).append(f)
        loose.setdefault((f.modality, f.paradigm, name_key(f.rel.name)), []).append(f)
    by_rel = {f.rel: f for f in folders}
    used: set[PurePosixPath] = set()
    for task_id, modality, paradigm, name in tasks:
        out.totals[modality] = out.totals.get(modality, 0) + 1
        found: Folder | None = None
        if task_id in aliases:
            rel = PurePosixPath(aliases[task_id])
            found = by_rel.get(rel)
            how = "alias"
            if found is None:
                near = [str(f.rel) for f in folders if name_key(str(f.rel)) == name_key(str(rel))]
                out.problems.append(f"task '{task_id}': its folder alias '{rel}' names no task folder of the data "
                                    "root (a folder holding annotation.json, as the tree's own folder names are "
                                    "written, relative to the root, without '..')"
                                    + (f"; the tree has '{near[0]}'" if near else ""))
        else:
            same = exact.get((modality, paradigm, folder_name(name)), [])
            if len(same) > 1:  # the folder at the tree's own spelling (Image/generation/X) wins over a copy
                same = [f for f in same if f.rel == canonical_folder(modality, paradigm, name)] or same
            found = same[0] if len(same) == 1 else None
            how = "exact"
            if len(same) > 1:
                out.problems.append(f"task '{task_id}': several folders could be its own: "
                                    + ", ".join(str(c.rel) for c in same)
                                    + "; name one under data.folder_aliases of the benchmark spec")
            elif found is None:
                candidates = loose.get((modality, paradigm, name_key(name)), [])
                if len(candidates) == 1:
                    found, how = candidates[0], "loose"
                elif len(candidates) > 1:
                    out.problems.append(f"task '{task_id}': several folders could be its own: "
                                        + ", ".join(str(c.rel) for c in candidates)
                                        + "; name one under data.folder_aliases of the benchmark spec")
        if found is None:
            out.missing.setdefault(modality, []).append(task_id)
            continue
        out.bound[task_id] = found.rel
        out.how[task_id] = how
        used.add(found.rel)
    out.unmatched = sorted(f.rel for f in folders if f.rel not in used)
    return out


def merged_type(type_spec: TaskTypeSpec, overrides: TaskTypeParts | None) -> TaskTypeSpec:
    """The task type with a task spec's ``overrides:`` applied (only the keys it sets)."""
    if overrides is None:
        return type_spec
    return type_spec.model_copy(update={k: getattr(overrides, k) for k in overrides.model_fields_set})


def reference_for(t: TaskTypeSpec, readable: tuple[str, ...] | None
                  ) -> tuple[RefKind, list[str], str, RouteSpec | None]:
    """(kind, fields, label separator, evaluator route) of the reference a task of (merged) type
    ``t`` binds when its metric reads the kinds ``readable`` (None: any): the type's own
    reference, or else the first of its ``other_references`` whose kind the metric reads."""
    ref = t.reference
    if readable is not None and ref.kind not in readable:
        for other in t.other_references or []:
            if other.kind in readable:
                return other.kind, list(other.fields), other.label_separator, other.evaluator or t.evaluator
    return ref.kind, list(ref.fields), ref.label_separator, t.evaluator


def bound_task_spec(spec: TaskSpec, ttype: TaskTypeSpec, folder: Path,
                    readable: tuple[str, ...] | None = None) -> TaskSpec:
    """``spec`` with the dataset and inference its type implies for the data in ``folder``;
    ``readable``: the reference kinds the task's metric reads (see ``reference_for``).

    Every part was validated where it was written (the type spec, the task's overrides), so the
    two sections are assembled without validating the prompt template again for each task.
    """
    t = merged_type(ttype, spec.overrides)
    ref = t.reference
    kind, fields, separator, evaluator = reference_for(t, readable)
    in_order = kind == "labels" and kind != ref.kind and any(
        o.in_order and o.kind == kind and list(o.fields) == fields for o in t.other_references or [])
    dataset = DatasetSpec.model_construct(
        format="general_bench", path=str(folder), fields={}, reference=kind, reference_fields=fields,
        box_format=ref.box_format, label_separator=separator, labels_in_order=in_order, media=[],
        optional_media=list(t.media or []), options_field=t.options_field)
    inference = InferenceSpec.model_construct(type=ttype.name, prompt=t.prompt, choices=[], output=t.output,
                                              generation=t.generation or GenerationSpec(), evaluator=evaluator)
    return spec.model_copy(update={"dataset": dataset, "inference": inference})


HEADER_CACHE = "data_headers.json"  # under target/: (size, mtime) -> type and skill of each annotation.json


def read_headers(root: Path, folders: list[PurePosixPath], cache_dir: Path) -> dict[PurePosixPath, dict[str, str]]:
    """The ``type`` and ``skill`` each folder's annotation.json declares (strings only).

    They are read around the file's ``data`` list without parsing it where that reading is sure
    (``quick_header``: the instances are parsed once, when they load), else from the whole file
    parsed. The answers are kept under ``cache_dir`` by file size, modification and change time and
    inode (a rewrite that keeps size and modification time still changes the change time): a second
    compile reads only what changed. A file that cannot be read or parsed declares nothing here;
    loading its instances reports the problem.
    """
    import json

    cache_file = cache_dir / HEADER_CACHE
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
        if not isinstance(cache, dict):
            cache = {}
    except (OSError, ValueError):
        cache = {}
    out: dict[PurePosixPath, dict[str, str]] = {}
    fresh: dict[str, list] = {}
    for rel in folders:
        f = root / rel / "annotation.json"
        try:
            st = f.stat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue  # a FIFO would never answer, a device never end: loading the task reports the file
        key = str(f)
        hit = cache.get(key)
        version = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]  # as the instance loader keys files
        if isinstance(hit, list) and len(hit) == 5 and hit[:4] == version and isinstance(hit[4], dict):
            header = hit[4]
        else:
            header = _parse_header(f)
        fresh[key] = [*version, header]
        out[rel] = {k: v for k, v in header.items() if isinstance(v, str)}
    if fresh != cache:
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(fresh, sort_keys=True), encoding="utf-8")
            tmp.replace(cache_file)
        except OSError:
            pass  # a read-only project still compiles; it just parses again next time
    return out


def _parse_header(f: Path) -> dict[str, str]:
    import json

    try:
        data = f.read_bytes()
    except OSError:
        return {}
    if data.startswith(b"\xef\xbb\xbf"):  # a byte order mark: the instance loader skips it too
        data = data[3:]
    quick = quick_header(data)
    if quick is not None:
        return quick
    try:
        try:
            import orjson

            doc = orjson.loads(data)
        except ImportError:
            doc = json.loads(data)
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    return {k: doc[k][:200] for k in HEADER_KEYS if isinstance(doc.get(k), str)}


HEADER_KEYS = ("type", "skill")
_WS = frozenset(b" \t\n\r")  # JSON's whitespace
# a \u escape of a lowercase letter: with it a key may spell "type" or "skill" without those bytes
_ESCAPED_LOWER = re.compile(rb"\\u00[67][0-9a-fA-F]")


def quick_header(data: bytes) -> dict[str, str] | None:
    """``type`` and ``skill`` of an annotation.json without parsing its ``data`` list, or None
    when this reading cannot be sure (the caller then parses the whole file).

    The top-level object is read member by member from its start up to the first value that is
    not a string (the large ``data`` list), and from its end back to the last such value. That
    answer is the whole parser's (where a key repeats, the last wins, as with orjson) when the
    part in between holds neither key anywhere: no ``"type"`` or ``"skill"`` in its bytes and no
    ``\\u00XX`` escape of a lowercase letter that could spell one. A value of either key that is
    not a string, an object without such a large value, or anything unexpected: None. (A file
    that is not JSON, yet well formed at both ends, may be answered: its instances fail to load
    with the parser's error, as they would anyway.)
    """
    n = len(data)
    head: dict[str, str] = {}
    i = _ws(data, 0, n)
    if i >= n or data[i] != 0x7B:  # {
        return None
    i += 1
    while True:
        got = _member_forward(data, _ws(data, i, n), n)
        if got is None:
            return None
        key, value, i = got
        if value is None:  # the first value that is not a string starts at i
            if key in HEADER_KEYS:
                return None
            break
        head[key] = value
        i = _ws(data, i, n)
        if i >= n or data[i] != 0x2C:  # ,
            return None  # the object ends without a large value: small, parse it
        i += 1
    middle_start = i
    tail: list[tuple[str, str]] = []
    j = _ws_back(data, n - 1)
    if j < 0 or data[j] != 0x7D:  # }
        return None
    j -= 1
    while True:
        j = _ws_back(data, j)
        if j <= middle_start or data[j] != 0x22:  # the last value that is not a string ends at j
            break
        got_back = _member_backward(data, j, middle_start)
        if got_back is None:
            return None
        key, value, j = got_back
        tail.append((key, value))
        j = _ws_back(data, j)
        if j <= middle_start or data[j] != 0x2C:  # ,
            return None
        j -= 1
    middle_end = j + 1
    if middle_end <= middle_start:
        return None
    for word in (b'"type"', b'"skill"'):
        if data.find(word, middle_start, middle_end) >= 0:
            return None
    # a backslash first: one byte is found by memchr, about ten times the speed of the longer
    # needle, and a data list without any (no escape at all) needs no other search
    if data.find(b"\\", middle_start, middle_end) >= 0 and data.find(b"\\u00", middle_start, middle_end) >= 0 \
            and _ESCAPED_LOWER.search(data, middle_start, middle_end):
        return None
    for key, value in reversed(tail):  # read from the end: the last one is the file's last member
        head[key] = value
    return {k: head[k][:200] for k in HEADER_KEYS if k in head}


def _ws(data: bytes, i: int, n: int) -> int:
    while i < n and data[i] in _WS:
        i += 1
    return i


def _ws_back(data: bytes, j: int) -> int:
    while j >= 0 and data[j] in _WS:
        j -= 1
    return j


def _string_at(data: bytes, start: int, end: int) -> str | None:
    """The JSON string whose quotes are at ``start`` and ``end`` (orjson decodes it), or None."""
    import orjson

    try:
        value = orjson.loads(data[start:end + 1])
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _closing_quote(data: bytes, start: int, n: int) -> int:
    """Where the string opened at ``start`` closes (a quote after an even run of backslashes); -1: nowhere."""
    k = start
    while True:
        k = data.find(b'"', k + 1, n)
        if k < 0:
            return -1
        b = k
        while data[b - 1] == 0x5C:  # backslash
            b -= 1
        if (k - b) % 2 == 0:
            return k


def _opening_quote(data: bytes, end: int, low: int) -> int:
    """Where the string closed at ``end`` opens: inside a string every quote follows an odd run of
    backslashes, so the first quote back after an even run (outside: none) opens it; -1: none."""
    k = end
    while True:
        k = data.rfind(b'"', low, k)
        if k < 0:
            return -1
        b = k
        while b > low and data[b - 1] == 0x5C:
            b -= 1
        if (k - b) % 2 == 0:
            return k


def _member_forward(data: bytes, i: int, n: int) -> tuple[str, str | None, int] | None:
    """(key, string value or None, the index after the value -- or where a value that is no string
    starts) of the member starting at ``i``."""
    if i >= n or data[i] != 0x22:
        return None
    end = _closing_quote(data, i, n)
    key = _string_at(data, i, end) if end > 0 else None
    if key is None:
        return None
    i = _ws(data, end + 1, n)
    if i >= n or data[i] != 0x3A:  # :
        return None
    i = _ws(data, i + 1, n)
    if i >= n:
        return None
    if data[i] != 0x22:
        return key, None, i
    end = _closing_quote(data, i, n)
    value = _string_at(data, i, end) if end > 0 else None
    if value is None:
        return None
    return key, value, end + 1


def _member_backward(data: bytes, end: int, low: int) -> tuple[str, str, int] | None:
    """(key, value, the index before the key) of the member whose string value closes at ``end``."""
    start = _opening_quote(data, end, low)
    value = _string_at(data, start, end) if start > low else None
    if value is None:
        return None
    j = _ws_back(data, start - 1)
    if j <= low or data[j] != 0x3A:  # :
        return None
    j = _ws_back(data, j - 1)
    if j <= low or data[j] != 0x22:
        return None
    kstart = _opening_quote(data, j, low)
    key = _string_at(data, kstart, j) if kstart > low else None
    if key is None:
        return None
    return key, value, kstart - 1
