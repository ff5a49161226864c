"""The whole compiled project, kept between commands: a command whose inputs did not change
skips loading, rendering and qualifying (about a second of every ``glc`` command).

What a compile reads is known: every file under ``specs/`` and ``sql/`` (and which folders
exist), ``profiles.yml`` (it says where benchmark data lives), the task lists the scopes name,
the benchmark chosen (``--benchmark``, ``$GLC_BENCHMARK``) and ``$GLC_DATA``, the runner plugins
when a spec names a runner (an entry is checked against them only when the files they are read from
changed: ``_runner_files``), and glc itself: its version, the source of its compiler and runners,
and the libraries whose output the compiled project holds (sqlglot, jinja2, pydantic, PyYAML).
The key is a hash of all of it, file contents included; any change misses and compiles again.
A project bound to a data folder (``benchmark_data``, ``--data``) depends on that folder too:
the entry keeps the digest of everything the binding read there (each folder listing of the
General-Bench layout and each annotation.json's size, times and inode, ``binding.scan_digest``),
and a hit needs the folder to give the same digest again (a few hundred ``stat`` calls, not the
files' contents).

The entry is JSON (data, never code: no pickle), written atomically in the user's cache folder
(outside the project, like the per-model cache of ``nodes``), one file per project folder
and benchmark choice. Its specs passed every check when it was written; reading it back rebuilds
them as their pydantic models would have validated them, without validating (``_construct``: the
spec classes' validators are never built on a hit), and the entry holds the size and sha256 of its
compiled data, so an entry changed after ``save`` wrote it (damaged, edited) is a miss. An entry is
written only after it was read back and compared equal to the compile it stores, so a spec value
JSON cannot carry (an infinity, a date) means no entry, never a different project.
A missing, damaged or foreign entry is a miss. Compiles that fail are never stored.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import types
import typing
import warnings
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
from glc.compiler.binding import Binding, scan_digest
from glc.compiler.cache_files import keep_newest, mark_used
from glc.compiler.contracts import Column
from glc.compiler.data_tests import CompiledDataTest
from glc.compiler.errors import SpecDeprecation
from glc.compiler.gc_pause import cyclic_gc_paused
from glc.compiler.loader import ENV_BENCHMARK, Located
from glc.compiler.materialization import FanOut, Materialization
from glc.compiler.nodes import CompiledNode
from glc.compiler.plan import CompiledProject, compile_project
from glc.compiler.plugins import known_outputs
from glc.compiler.resolve import Project, Scope, Task
from glc.compiler.seeds import Seed
from glc.compiler.spec_models import (
    BenchmarkSpec,
    DataTestSpec,
    MetricSpec,
    ModelSpec,
    ScopeEntry,
    Spec,
    TaskSpec,
    TaskTypeSpec,
    UnitTestSpec,
    VariantSpec,
)
from glc.compiler.yaml_source import YamlDoc

from glc import __version__ as GLC_VERSION

FORMAT = 9  # 2: typed materializations and fan-out; 3: metric macros' reference kinds; 4: metric evaluators'
# estimates_human and task types' other_references; 5: instance stats are named STRUCTs (UDF return types);
# 6: evaluators that read labels (segment_s, top_k) and labels kept in order (OtherReference.in_order,
# DatasetSpec.labels_in_order); 7: the level variants are ResolvedProject.variants (VariantSpec); 8: the
# entry keeps the digest of the installed distributions' entry points files (runner_files); 9: specs are
# restored without validation (``_construct``), the entry holds the size and sha256 of its compiled data
ENV_DATA = "GLC_DATA"  # glc.profiles.ENV_DATA (not imported: profiles is not needed on a hit)
ENV_DISABLE = "GLC_NO_COMPILE_CACHE"  # set to 1: every command compiles from the specs
LIBRARIES = ("sqlglot", "jinja2", "pydantic", "pydantic_core", "yaml")


def cached_compile(root: Path, *, benchmark: str | None = None) -> CompiledProject:
    """``compile_project(root, benchmark=...)``, read from the cache when nothing it reads changed."""
    root = root.resolve()
    if os.environ.get(ENV_DISABLE) == "1":
        return compile_project(root, benchmark=benchmark)
    path = cache_path(root, benchmark)
    key = input_key(root, benchmark)
    hit = load(path, key, root)
    if hit is not None:
        return hit
    # the compile and its entry (dumped and read back whole) in one pause: no collection in between
    # walks every object the compile made (compile_project pauses it too, for its other callers)
    with cyclic_gc_paused():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SpecDeprecation)
            compiled = compile_project(root, benchmark=benchmark)
        for w in caught:  # shown as they would have been; a compile that read a renamed key is not
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
        if not any(issubclass(w.category, SpecDeprecation) for w in caught):
            save(path, key, root, compiled)  # cached, so its deprecation warnings show every time
    return compiled


def cached_only(root: Path, *, benchmark: str | None = None) -> CompiledProject | None:
    """The cached compile of ``root`` when it is still valid, else None (nothing is compiled)."""
    root = root.resolve()
    if os.environ.get(ENV_DISABLE) == "1":
        return None
    return load(cache_path(root, benchmark), input_key(root, benchmark), root)


def cache_path(root: Path, benchmark: str | None) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    choice = benchmark or os.environ.get(ENV_BENCHMARK) or ""
    name = hashlib.sha256(f"{root}\0{choice}".encode()).hexdigest()[:20]
    return base / "glc" / "project" / f"{name}.json"


# --- the key ----------------------------------------------------------------------------------


def input_key(root: Path, benchmark: str | None) -> str:
    """Hash of everything a compile of ``root`` reads, except what only its result names (task
    lists, runner plugins: checked against the entry, see ``load``)."""
    h = hashlib.sha256()
    h.update(orjson.dumps([FORMAT, _code_salt(), str(root), benchmark, os.environ.get(ENV_BENCHMARK),
                           os.environ.get(ENV_DATA)]))
    for folder in (root / "specs", root / "sql"):
        _digest_tree(h, folder, root)
    _digest_file(h, root / "profiles.yml", root)
    return h.hexdigest()


def _digest_file(h: Any, path: Path, root: Path) -> None:
    _digest_bytes(h, str(path), str(path.relative_to(root)))


def _digest_bytes(h: Any, path: str, rel: str, root_real: str | None = None) -> None:
    """A file's name (relative to the root), size and bytes, or that it is missing, unreadable, not a
    regular file (a FIFO or ``/dev/zero`` is never read: the read would not end) or (``root_real``)
    a link out of the project (not read; the compile refuses it)."""
    from glc.compiler.project_files import outside_problem, read_regular

    if root_real is not None and os.path.islink(path) and outside_problem(path, root_real) is not None:
        h.update(b"O" + rel.encode() + b"\0" + os.path.realpath(path).encode(errors="surrogateescape") + b"\0")
        return
    try:
        data = read_regular(path)
    except OSError:
        h.update(b"M" + rel.encode() + b"\0")
        return
    h.update(b"F" + rel.encode() + b"\0" + str(len(data)).encode() + b"\0")
    h.update(data)


def _digest_tree(h: Any, folder: Path, root: Path) -> None:
    """Every folder and file under ``folder`` (symbolic links followed, each real folder once).
    Names are handled as strings (no Path per file: the tree holds about a thousand files)."""
    seen: set[str] = set()
    prefix = len(os.path.join(str(root), ""))  # dirpath[prefix:] is dirpath relative to root
    root_real = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames.clear()
            continue
        if not (real == root_real or real.startswith(os.path.join(root_real, ""))):
            # a linked folder out of the project (`specs/x -> /`): not walked, its files not read
            h.update(b"O" + dirpath[prefix:].encode(errors="surrogateescape") + b"\0" + real.encode(
                errors="surrogateescape") + b"\0")
            dirnames.clear()
            continue
        seen.add(real)
        dirnames.sort()
        rel = dirpath[prefix:]
        h.update(b"D" + rel.encode() + b"\0")
        for name in sorted(filenames):
            _digest_bytes(h, os.path.join(dirpath, name), f"{rel}/{name}", root_real)
    if not seen:
        h.update(b"N" + str(folder.relative_to(root)).encode() + b"\0")


@functools.cache
def _code_salt() -> str:
    """glc's version, the source of the packages a compile runs (compiler, runners, profiles) and
    where the libraries it uses are installed (an upgrade rewrites their files)."""
    h = hashlib.sha256(GLC_VERSION.encode())
    here = Path(__file__).resolve().parent
    runners = importlib.util.find_spec("glc.runners")
    folders = [here, *[Path(p) for p in (runners.submodule_search_locations or [])]] if runners else [here]
    files = sorted(f for folder in folders for f in folder.rglob("*.py"))
    import glc

    files.append(Path(glc.__file__).resolve().parent / "profiles.py")
    for f in files:
        try:
            h.update(str(f).encode() + b"\0" + f.read_bytes())
        except OSError:
            h.update(str(f).encode() + b"\0-")
    for lib in LIBRARIES:
        spec = importlib.util.find_spec(lib)
        origin = spec.origin if spec is not None else None
        try:
            st = os.stat(origin) if origin else None
        except OSError:
            st = None
        h.update(f"{lib}={origin}:{st.st_size if st else '-'}:{st.st_mtime_ns if st else '-'}\0".encode())
    return h.hexdigest()


def _task_lists(project: Project) -> dict[str, str]:
    """The task list files the scopes read: path relative to the root -> sha256 of their bytes."""
    out: dict[str, str] = {}
    for s in project.scopes:
        rel = s.entry.task_list
        if rel and rel not in out:
            out[rel] = _file_sha(project.root / rel)
    return out


def _file_sha(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "-"


def _runner_files() -> str:
    """A digest of what ``importlib.metadata.entry_points`` reads: the metadata folders in every folder
    on ``sys.path`` (a distribution's metadata folder names its version; other names are not looked at,
    as importlib.metadata looks at none: the folder ``glc`` runs in, first on ``sys.path``, gains files)
    and the size and modification time of each metadata folder's entry_points.txt (stat calls, no file
    read: scanning and parsing every installed distribution's entry points costs about 40 ms). Equal
    digests, equal plugins."""
    import sys

    h = hashlib.sha256()
    for entry in sys.path:
        h.update(b"P" + entry.encode(errors="surrogateescape") + b"\0")
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            try:
                st = os.stat(entry or ".")
                h.update(f"-{st.st_size}:{st.st_mtime_ns}\0".encode())
            except OSError:
                h.update(b"-\0")
            continue
        egg = os.path.basename(entry).lower().endswith(".egg")
        for name in names:
            low = name.lower()
            if low.endswith((".dist-info", ".egg-info")) or (egg and low == "egg-info"):  # importlib.metadata's Lookup
                h.update(name.encode(errors="surrogateescape") + b"\0")
                try:
                    st = os.stat(os.path.join(entry or ".", name, "entry_points.txt"))
                    h.update(f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}\0".encode())
                except OSError:
                    h.update(b"-\0")
    return h.hexdigest()


def _runner_plugins() -> list[list[str]]:
    from importlib.metadata import entry_points

    from glc.compiler.plugins import GROUP

    return sorted([ep.name, ep.value, ep.dist.version if ep.dist else ""] for ep in entry_points(group=GROUP))


def _uses_runners(project: Project) -> bool:
    return bool(project.models) or any(t.spec.inference is not None for t in project.tasks)


# --- reading and writing --------------------------------------------------------------------


def load(path: Path, key: str, root: Path) -> CompiledProject | None:
    """The stored compile for ``key``, or None (no entry, another key, changed task lists or
    runner plugins, damaged or unreadable)."""
    # the entry is tens of thousands of objects, none of them garbage: collections that walk every
    # object of the process while they are made cost as much as making them
    with cyclic_gc_paused():
        return _load(path, key, root)


def _load(path: Path, key: str, root: Path) -> CompiledProject | None:
    try:
        text = path.read_bytes()
        doc = orjson.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("key") != key:
            return None
        if not _intact(text, doc):
            return None
        if any(_file_sha(root / rel) != sha for rel, sha in doc["task_lists"].items()):
            return None
        if doc["runners"] is not None and doc["runner_files"] != _runner_files() \
                and doc["runners"] != _runner_plugins():
            return None
        bound = doc["compiled"]["project"].get("binding")
        if bound is not None and scan_digest(Path(bound["root"]))[1] != bound["digest"]:
            return None
        restored = _restore(doc["compiled"])
        mark_used(path)
        return restored
    except Exception:  # noqa: BLE001 - whatever is wrong with an entry, the answer is: compile
        return None


def save(path: Path, key: str, root: Path, compiled: CompiledProject) -> bool:
    """Store ``compiled`` under ``key`` when it reads back equal; whether it was stored."""
    project = compiled.project
    try:
        data = orjson.dumps(_dump(compiled))
        head = orjson.dumps({"format": FORMAT, "key": key, "task_lists": _task_lists(project),
                             "runners": _runner_plugins() if _uses_runners(project) else None,
                             "runner_files": _runner_files(),
                             "size": len(data), "digest": hashlib.sha256(data).hexdigest()})
        text = head[:-1] + _COMPILED + data + b"}"
        doc = orjson.loads(text)
        if not _intact(text, doc):
            return False
        back = _restore(doc["compiled"])
    except Exception:  # noqa: BLE001 - a project JSON cannot hold is compiled every time, never cached wrong
        return False
    if back != compiled or not _same_docs(back.project, project) or not _same_specs(back.project, project):
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(text)
        os.replace(tmp, path)
    except OSError:
        return False
    keep_newest(path.parent)
    return True


_COMPILED = b',"compiled":'  # the compiled data ends the entry: its bytes are the digest's


def _intact(text: bytes, doc: dict[str, Any]) -> bool:
    """Whether the compiled data of an entry are the bytes ``save`` wrote (their size and sha256
    are in the entry): the specs in them are restored without validation, so an entry changed
    by anything but ``save`` (damaged, edited) is a miss."""
    size = doc.get("size")
    if not isinstance(size, int) or size <= 0 or size + len(_COMPILED) + 1 > len(text):
        return False
    start = len(text) - 1 - size
    return (text[start - len(_COMPILED):start] == _COMPILED and text[-1:] == b"}"
            and hashlib.sha256(text[start:-1]).hexdigest() == doc.get("digest"))


def _same_specs(a: Project, b: Project) -> bool:
    """The specs of ``a`` and ``b`` are the same objects of the same types with the same fields set
    (equality alone takes 1 for 1.0 and does not compare which fields a spec gave): what
    ``_construct`` restored is what validation gave."""
    def specs(p: Project) -> list[Any]:
        return [p.benchmark, *p.metrics, *(t.spec for t in p.tasks), *p.variants, *(s.entry for s in p.scopes),
                *(x.spec for x in p.data_tests), *(x.spec for x in p.unit_tests), *(x.spec for x in p.models),
                *p.task_types.values()]
    return _same_value(specs(a), specs(b))


def _same_value(x: Any, y: Any) -> bool:
    if type(x) is not type(y):
        return False
    if isinstance(x, Spec):
        return x.model_fields_set == y.model_fields_set and list(x.__dict__) == list(y.__dict__) \
            and all(_same_value(v, y.__dict__[k]) for k, v in x.__dict__.items())
    if isinstance(x, (list, tuple)):
        return len(x) == len(y) and all(_same_value(u, v) for u, v in zip(x, y, strict=True))
    if isinstance(x, dict):
        return list(x) == list(y) and all(_same_value(v, y[k]) for k, v in x.items())
    return bool(x == y)


def _same_docs(a: Project, b: Project) -> bool:
    """Located specs compare without their YAML documents; those must read back too."""
    pairs: list[tuple[Located[Any], Located[Any]]] = [
        *zip(a.data_tests, b.data_tests, strict=True), *zip(a.unit_tests, b.unit_tests, strict=True),
        *zip(a.models, b.models, strict=True)]
    return all(x.doc.lines == y.doc.lines and x.doc.data == y.doc.data and x.doc.path == y.doc.path
               and x.doc.duplicate_keys == y.doc.duplicate_keys and x.doc.sha256 == y.doc.sha256 for x, y in pairs)


# --- CompiledProject <-> JSON data ----------------------------------------------------------


def _spec(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_unset=True)


def _doc(doc: YamlDoc) -> dict[str, Any]:
    return {"path": str(doc.path), "data": doc.data, "lines": [[list(k), v] for k, v in doc.lines.items()],
            "duplicate_keys": [list(d) for d in doc.duplicate_keys], "sha256": doc.sha256}


def _located(loc: Located[Any]) -> list[Any]:
    return [_spec(loc.spec), loc.path, loc.line, _doc(loc.doc)]


def _dump(c: CompiledProject) -> dict[str, Any]:
    p = c.project
    return {
        "project": {
            "root": str(p.root),
            "benchmark": _spec(p.benchmark),
            "metrics": [_spec(m) for m in p.metrics],
            "tasks": [[_spec(t.spec), t.metric.name, t.path] for t in p.tasks],
            "variants": [_spec(lv) for lv in p.variants],
            "scopes": [[_spec(s.entry), s.family, list(s.task_ids), [list(x) for x in s.split],
                        sorted(s.listed) if s.listed is not None else None] for s in p.scopes],
            "data_tests": [_located(x) for x in p.data_tests],
            "unit_tests": [_located(x) for x in p.unit_tests],
            "file_hashes": p.file_hashes,
            "metric_files": {k: list(v) for k, v in p.metric_files.items()},
            "models": [_located(x) for x in p.models],
            "benchmarks": list(p.benchmarks),
            "task_types": {k: _spec(v) for k, v in p.task_types.items()},
            "binding": _binding(p.binding),
            "route_outputs": {k: list(v) for k, v in p.route_outputs.items()},
        },
        "seeds": {name: [list(r) for r in seed.rows] for name, seed in c.seeds.items()},
        "nodes": [{f.name: _node_field(n, f.name) for f in fields(CompiledNode)} for n in c.nodes],
        "data_tests": [{f.name: getattr(t, f.name) for f in fields(CompiledDataTest)} for t in c.data_tests],
        "manifest": c.manifest,
        "references": None if c.references is None else {k: None if v is None else list(v)
                                                          for k, v in c.references.items()},
    }


def _node_field(n: CompiledNode, name: str) -> Any:
    """One field of a compiled node as JSON data: columns as lists, the materialization and the
    fan-out as tagged dicts (restored by ``_restore_node``)."""
    value = getattr(n, name)
    if name == "columns":
        return [[x.name, x.type, x.description] for x in value]
    if isinstance(value, (Materialization, FanOut)):
        return value.to_json()
    return value


def _restore_node(d: dict[str, Any]) -> CompiledNode:
    fixed: dict[str, Any] = {"columns": lambda v: tuple(Column(*c) for c in v),
                             "materialization": Materialization.from_json,
                             "fan_out": lambda v: None if v is None else FanOut.from_json(v)}
    values: dict[str, Any] = {k: fixed[k](v) if k in fixed else _tuple(v) for k, v in d.items()}
    return CompiledNode(**values)


def _binding(b: Binding | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {"root": str(b.root), "source": b.source, "bound": {k: str(v) for k, v in b.bound.items()},
            "how": b.how, "missing": b.missing, "unmatched": [str(x) for x in b.unmatched], "problems": b.problems,
            "totals": b.totals, "retyped": {k: list(v) for k, v in b.retyped.items()}, "digest": b.digest}


def _restore_binding(d: dict[str, Any] | None) -> Binding | None:
    if d is None:
        return None
    return Binding(Path(d["root"]), d["source"], {k: PurePosixPath(v) for k, v in d["bound"].items()}, dict(d["how"]),
                   {k: list(v) for k, v in d["missing"].items()}, [PurePosixPath(x) for x in d["unmatched"]],
                   list(d["problems"]), dict(d["totals"]), {k: (v[0], v[1]) for k, v in d["retyped"].items()},
                   d["digest"])


def _restore_doc(d: dict[str, Any]) -> YamlDoc:
    return YamlDoc(Path(d["path"]), d["data"], {tuple(k): v for k, v in d["lines"]},
                   [tuple(x) for x in d["duplicate_keys"]], d["sha256"])


def _restore_located(model: type[Spec], x: list[Any]) -> Located[Any]:
    return Located(_construct(model, x[0]), x[1], x[2], _restore_doc(x[3]))


# --- specs from their JSON dump, without validation ------------------------------------------
#
# An entry holds specs that passed every check when they were compiled, and a digest of its
# compiled data (``load``): a spec is rebuilt as its pydantic model would have validated that dump
# (the fields it gave, the defaults of the others, nested specs as their classes), without building
# the spec classes' validators (``defer_build``: most of what reading an entry back cost).

Build = Callable[[Any], Any]


def _construct(cls: type[Spec], data: dict[str, Any]) -> Any:
    """``cls.model_validate(data)`` for data that ``_spec`` dumped from a valid ``cls``."""
    template, fresh, builds = _fields_plan(cls)
    values = template.copy()  # every field in the class's order, immutable defaults filled in
    for name, make in fresh:
        if name not in data:
            values[name] = make()
    for name, value in data.items():
        if name not in template:
            raise KeyError(f"{cls.__name__} has no field {name!r}")
        build = builds.get(name)
        values[name] = build(value) if build is not None and value is not None else value
    m = cls.__new__(cls)
    object.__setattr__(m, "__dict__", values)
    object.__setattr__(m, "__pydantic_fields_set__", set(data))
    object.__setattr__(m, "__pydantic_extra__", None)
    object.__setattr__(m, "__pydantic_private__", None)
    return m


@functools.cache
def _fields_plan(cls: type[Spec]) -> tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]], dict[str, Build]]:
    """For ``cls``: every field with its default when that is immutable (None, a string, a number;
    else None, filled in by the next part); the fields whose default is made fresh for each object
    (a copy of an empty list or dict; a spec class's default factory is constructed, not validated);
    and how the JSON value of a field holding specs becomes its value."""
    template: dict[str, Any] = {}
    fresh: list[tuple[str, Callable[[], Any]]] = []
    builds: dict[str, Build] = {}
    for name, info in cls.__pydantic_fields__.items():
        factory = info.default_factory
        template[name] = None
        if info.is_required():
            pass  # always in the data (a valid spec gave it)
        elif isinstance(factory, type) and issubclass(factory, Spec):
            fresh.append((name, functools.partial(_construct, factory, {})))
        elif factory is None and (info.default is None or type(info.default) in (str, int, float, bool)):
            template[name] = info.default
        else:
            fresh.append((name, functools.partial(info.get_default, call_default_factory=True, validated_data={})))
        build = _builder(info.annotation)
        if build is not None:
            builds[name] = build
    return template, fresh, builds


def _builder(annotation: Any) -> Build | None:
    """How a JSON value of type ``annotation`` becomes the value validation gives; None when the
    JSON value is that value (no spec class inside: strings, numbers, literals, lists of them)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Spec):
        return functools.partial(_construct, annotation)
    if origin is typing.Annotated:
        return _builder(args[0])
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in args if a is not type(None)]
        built = [_builder(a) for a in members]
        if all(b is None for b in built):
            return None
        if len(members) == 1:
            return built[0]
        if all(isinstance(a, type) and issubclass(a, Spec) and "kind" in a.__pydantic_fields__ for a in members):
            by_kind = {k: a for a in members for k in typing.get_args(a.__pydantic_fields__["kind"].annotation)}
            return lambda v: _construct(by_kind[v["kind"]], v)  # the discriminated union of normalizations
        raise TypeError(f"no JSON restore for {annotation!r}")  # a spec field of a new shape: add it here
    if origin is list:
        item = _builder(args[0])
        return None if item is None else lambda v: [item(x) for x in v]
    if origin is dict:
        value = _builder(args[1])
        return None if value is None else lambda v: {k: value(x) for k, x in v.items()}
    if origin is not None and origin is not typing.Literal:
        if any(_builder(a) is not None for a in args):
            raise TypeError(f"no JSON restore for {annotation!r}")
    return None


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _restore(d: dict[str, Any]) -> CompiledProject:
    p = d["project"]
    metrics = tuple(_construct(MetricSpec, m) for m in p["metrics"])
    by_name = {m.name: m for m in metrics}
    project = Project(
        root=Path(p["root"]),
        benchmark=_construct(BenchmarkSpec, p["benchmark"]),
        tasks=tuple(Task(_construct(TaskSpec, s), by_name[m], path) for s, m, path in p["tasks"]),
        metrics=metrics,
        variants=tuple(_construct(VariantSpec, lv) for lv in p["variants"]),
        scopes=tuple(Scope(_construct(ScopeEntry, b), family, tuple(ids),
                           tuple(tuple(x) for x in split), frozenset(listed) if listed is not None else None)
                     for b, family, ids, split, listed in p["scopes"]),
        data_tests=tuple(_restore_located(DataTestSpec, x) for x in p["data_tests"]),
        unit_tests=tuple(_restore_located(UnitTestSpec, x) for x in p["unit_tests"]),
        file_hashes=dict(p["file_hashes"]),
        metric_files={k: (v[0], v[1]) for k, v in p["metric_files"].items()},
        models=tuple(_restore_located(ModelSpec, x) for x in p["models"]),
        benchmarks=tuple(p["benchmarks"]),
        task_types={k: _construct(TaskTypeSpec, v) for k, v in p["task_types"].items()},
        binding=_restore_binding(p.get("binding")),
        route_outputs={k: tuple(v) for k, v in p.get("route_outputs", {}).items()},
    )
    known_outputs(project.route_outputs)
    seeds = {name: Seed(name, tuple(tuple(r) for r in rows)) for name, rows in d["seeds"].items()}
    nodes = tuple(_restore_node(n) for n in d["nodes"])
    data_tests = tuple(CompiledDataTest(**t) for t in d["data_tests"])
    refs = d["references"]
    references = None if refs is None else {k: None if v is None else tuple(v) for k, v in refs.items()}
    return CompiledProject(project, seeds, nodes, data_tests, d["manifest"], references)


# --- the artifacts a compile wrote ----------------------------------------------------------


def _artifact_files(compiled: CompiledProject) -> list[str]:
    """The files ``write_artifacts`` writes, relative to the target folder."""
    return ["manifest.json", *(f"compiled/{n.name}.sql" for n in compiled.nodes),
            *(f"compiled/tests/{t.name}.sql" for t in compiled.data_tests)]


def _artifacts_path(target_dir: Path) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    name = hashlib.sha256(str(target_dir.resolve()).encode()).hexdigest()[:20]
    return base / "glc" / "artifacts" / f"{name}.json"


def _artifacts_state(compiled: CompiledProject, target_dir: Path) -> dict[str, Any] | None:
    """What ``target_dir`` holds of ``compiled``'s artifacts: the manifest's fingerprint (it covers
    every node's and data test's SQL) and glc's version (the manifest's one other field), each
    file's size and modification time and the .sql files the compiled folders list; None when a
    file is missing."""
    files: dict[str, list[int]] = {}
    for rel in _artifact_files(compiled):
        try:
            st = os.stat(target_dir / rel)
        except OSError:
            return None
        files[rel] = [st.st_size, st.st_mtime_ns]
    listed = sorted(f"{sub}{name}" for sub in ("compiled/", "compiled/tests/")
                    for name in os.listdir(target_dir / sub) if name.endswith(".sql"))
    return {"format": FORMAT, "fingerprint": compiled.manifest["fingerprint"],
            "glc_version": compiled.manifest["glc_version"], "files": files, "listed": listed}


def artifacts_written(compiled: CompiledProject, target_dir: Path) -> bool:
    """Whether ``target_dir`` still holds exactly what ``write_artifacts(compiled, target_dir)``
    wrote last (noted by ``note_artifacts``): then writing them again changes nothing, and the
    manifest need not be serialized nor every compiled file read back to see that. Any file
    touched, added, removed or missing, another compile, or no note (or a damaged one): False."""
    if os.environ.get(ENV_DISABLE) == "1":
        return False
    try:
        path = _artifacts_path(target_dir)
        same = orjson.loads(path.read_bytes()) == _artifacts_state(compiled, target_dir)
        if same:
            mark_used(path)
        return same
    except Exception:  # noqa: BLE001 - whatever is wrong with the note, the answer is: write them
        return False


def note_artifacts(compiled: CompiledProject, target_dir: Path) -> None:
    """Remember what ``write_artifacts`` just wrote into ``target_dir`` (in the user's cache
    folder: the target keeps only the artifacts, byte-identical for identical inputs)."""
    if os.environ.get(ENV_DISABLE) == "1":
        return
    path = _artifacts_path(target_dir)
    try:
        state = _artifacts_state(compiled, target_dir)
        if state is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(orjson.dumps(state))
        os.replace(tmp, path)
    except OSError:
        return
    keep_newest(path.parent)
