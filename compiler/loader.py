"""Read every spec file under ``specs/`` into typed specs, collecting all errors.

Which model a file is validated against follows from its folder (tasks/, metrics/, levels/,
scopes/, models/, tests/, benchmarks/). Errors carry the file and line; nothing is
raised until every file has been read, so one compile reports every problem.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from glc.compiler.errors import SpecDeprecation, SpecError, display_path
from glc.compiler.spec_models import (
    BenchmarkSpec,
    MetricSpec,
    ModelSpec,
    ScopeFile,
    Spec,
    TaskSpec,
    TaskTypeSpec,
    TestFile,
    VariantSpec,
)
from glc.compiler.suggest import did_you_mean
from glc.compiler.yaml_source import YamlDoc, YamlFileRefused, YamlSyntaxError, load_yaml
from pydantic import BaseModel, ValidationError

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

FOLDERS: dict[str, type[Spec]] = {
    "tasks": TaskSpec,
    "metrics": MetricSpec,
    "levels": VariantSpec,
    "scopes": ScopeFile,
    "tests": TestFile,
    "task_types": TaskTypeSpec,
}


@dataclass(frozen=True)
class Located(Generic[T]):
    """A spec with the file (relative to the project) and line it was read from."""

    spec: T
    path: str
    line: int
    doc: YamlDoc = field(repr=False, compare=False)


@dataclass
class LoadedSpecs:
    benchmark: Located[BenchmarkSpec] | None = None
    tasks: list[Located[TaskSpec]] = field(default_factory=list)
    metrics: list[Located[MetricSpec]] = field(default_factory=list)
    levels: list[Located[VariantSpec]] = field(default_factory=list)
    scopes: list[Located[ScopeFile]] = field(default_factory=list)
    tests: list[Located[TestFile]] = field(default_factory=list)
    task_types: list[Located[TaskTypeSpec]] = field(default_factory=list)
    models: list[Located[ModelSpec]] = field(default_factory=list)
    benchmarks: list[str] = field(default_factory=list)
    file_hashes: dict[str, str] = field(default_factory=dict)
    errors: list[SpecError] = field(default_factory=list)
    # names declared by files that failed validation: references to them are not errors again
    invalid_names: dict[str, set[str]] = field(default_factory=dict)
    # (kind, path, document) of files that failed validation: their references (a task's metric,
    # a route's runner) are still checked, so all of a file's problems come in one compile
    invalid_docs: list[tuple[str, str, YamlDoc]] = field(default_factory=list)


def _all_field_names() -> list[str]:
    names: set[str] = set()
    stack: list[type[BaseModel]] = [*FOLDERS.values(), BenchmarkSpec]
    while stack:
        model = stack.pop()
        names.update(model.model_fields)
        stack.extend(sub for sub in model.__subclasses__() if sub not in stack)
    for sub in Spec.__subclasses__():
        names.update(sub.model_fields)
    return sorted(names)


_FIELD_NAMES = _all_field_names()


def validation_errors(exc: ValidationError, doc: YamlDoc, path: str) -> list[SpecError]:
    """Turn pydantic's errors into located spec errors with hints."""
    out: list[SpecError] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        # drop discriminator tags and other segments that are not keys of the document
        data_loc: list[str | int] = []
        for seg in loc:
            if (*data_loc, seg) in doc.lines or seg == loc[-1]:
                data_loc.append(seg)
        line = doc.line_of(tuple(data_loc))
        dotted = ".".join(str(s) for s in data_loc) or "(document)"
        kind = err["type"]
        hint = None
        if kind == "extra_forbidden":
            key = str(loc[-1])
            message = f"unknown key '{dotted}'"
            hint = did_you_mean(key, _FIELD_NAMES) or "remove the key; specs accept only documented keys"
        elif kind == "missing":
            message = f"missing required key '{dotted}'"
            hint = "add it; see the other specs in the same folder for the expected shape"
        elif kind == "union_tag_invalid" or kind == "union_tag_not_found":
            message = f"{dotted}: {err['msg']}"
        else:
            message = f"{dotted}: {err['msg']}"
        out.append(SpecError(path, line, message, hint))
    return out


# Top-level keys renamed so that one word means one thing (docs/glossary.md): the old key is
# still read, for one release, with a SpecDeprecation warning naming the file and line.
RENAMED_KEYS: dict[type[BaseModel], dict[str, str]] = {
    VariantSpec: {"partition": "group_by"},  # "partition" now means only incremental build partitions
}


def _renamed_keys(doc: YamlDoc, model: type[BaseModel], path: str) -> tuple[YamlDoc, list[SpecError]]:
    """``doc`` with the old names of renamed keys read as the new ones (warning once per key)."""
    errors: list[SpecError] = []
    for old, new in RENAMED_KEYS.get(model, {}).items():
        if old not in doc.data:
            continue
        line = doc.line_of((old,))
        if new in doc.data:
            errors.append(SpecError(path, line, f"'{old}' is the old name of '{new}', and both are given",
                                    f"remove '{old}' and keep '{new}'"))
            continue
        warnings.warn(SpecDeprecation(f"{path}:{line}: key '{old}' is deprecated and will stop working in the "
                                      f"next release; rename it to '{new}' (same values)"), stacklevel=3)
        data = {(new if k == old else k): v for k, v in doc.data.items()}
        lines = {((new, *loc[1:]) if loc[:1] == (old,) else loc): n for loc, n in doc.lines.items()}
        doc = dataclasses.replace(doc, data=data, lines=lines)
    return doc, errors


def parse_doc(doc: YamlDoc, model: type[M], path: str) -> tuple[M | None, list[SpecError]]:
    """Validate one loaded document against ``model``."""
    errors = [
        SpecError(path, line, f"duplicate key '{key}'", "a key may appear once; the later value would win")
        for key, line in doc.duplicate_keys
    ]
    if not isinstance(doc.data, dict):
        errors.append(SpecError(path, doc.line_of(()) or 1, "expected a mapping of keys at the top level"))
        return None, errors
    doc, renamed = _renamed_keys(doc, model, path)
    errors += renamed
    try:
        spec = model.model_validate(doc.data)
    except ValidationError as exc:
        return None, errors + validation_errors(exc, doc, path)
    return (spec if not errors else None), errors


def _yaml_files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        found.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith((".yaml", ".yml")))
    return found


ENV_BENCHMARK = "GLC_BENCHMARK"


def load_specs(root: Path, specs_dir: Path, benchmark: str | None = None) -> LoadedSpecs:
    """Load every spec file of the active benchmark; problems end up in ``LoadedSpecs.errors``.

    ``specs/benchmarks/*.yaml`` declares the benchmarks of the project, each a list of task
    folders; the active one is ``benchmark``, else ``$GLC_BENCHMARK``, else the one marked
    ``default``. A project with a single ``specs/benchmark.yaml`` has that one benchmark, holding
    every task.
    """
    loaded = LoadedSpecs()
    if not specs_dir.is_dir():
        loaded.errors.append(SpecError(display_path(specs_dir, root), None, "specs folder not found",
                                       "run glc from the project root or pass --project-dir"))
        return loaded
    task_dirs = _load_benchmark(root, specs_dir, benchmark, loaded)
    rel_path = _RelPaths(root)
    for entry in sorted(specs_dir.iterdir()):
        if entry.is_dir() and entry.name == "tasks":
            for folder in (task_dirs if task_dirs is not None else [entry]):
                for file in _yaml_files(folder):
                    _load_one(file, TaskSpec, "tasks", root, loaded, rel_path)
        elif entry.is_dir() and entry.name in FOLDERS:
            for file in _yaml_files(entry):
                _load_one(file, FOLDERS[entry.name], entry.name, root, loaded, rel_path)
        elif entry.name in ("benchmark.yaml", "benchmark.yml", "benchmarks", "answers"):
            continue  # answers/: read by glc.compiler.answer_rules
        elif entry.is_dir() and entry.name == "models":
            for file in _yaml_files(entry):
                _load_one(file, ModelSpec, "models", root, loaded, rel_path)
        elif entry.suffix in (".yaml", ".yml") or (entry.is_dir() and not entry.name.startswith(".")):
            loaded.errors.append(SpecError(
                display_path(entry, root), None, f"unexpected spec location '{entry.name}'",
                "specs live in specs/{tasks,task_types,metrics,levels,scopes,models,tests,answers}/ and "
                "specs/benchmarks/"))
    return loaded


def benchmark_files(specs_dir: Path) -> list[Path]:
    folder = specs_dir / "benchmarks"
    if folder.is_dir():
        return _yaml_files(folder)
    return [f for f in (specs_dir / "benchmark.yaml", specs_dir / "benchmark.yml") if f.is_file()]


def _load_benchmark(root: Path, specs_dir: Path, requested: str | None, loaded: LoadedSpecs) -> list[Path] | None:
    """Read the benchmark specs, pick the active one; return its task folders (None: all)."""
    files = benchmark_files(specs_dir)
    if not files:
        loaded.errors.append(SpecError(display_path(specs_dir, root), None, "no benchmark spec",
                                       "add specs/benchmarks/<name>.yaml with name, title, version and tasks"))
        return None
    found: list[Located[BenchmarkSpec]] = []
    for file in files:
        probe = LoadedSpecs()
        _load_one(file, BenchmarkSpec, "benchmark", root, probe)
        loaded.errors.extend(probe.errors)
        loaded.file_hashes.update(probe.file_hashes)
        if probe.benchmark is not None:
            found.append(probe.benchmark)
    if not found:
        return None
    names = [b.spec.name for b in found]
    chosen = requested or (os.environ.get(ENV_BENCHMARK) if len(found) > 1 else None)
    if chosen:
        match = [b for b in found if b.spec.name == chosen]
        if not match:
            loaded.errors.append(SpecError(display_path(specs_dir / "benchmarks", root), None,
                                           f"unknown benchmark '{chosen}'",
                                           did_you_mean(chosen, names) or "benchmarks: " + ", ".join(names)))
            return None
        active = match[0]
    else:
        defaults = [b for b in found if b.spec.default]
        if len(found) == 1:
            active = found[0]
        elif len(defaults) == 1:
            active = defaults[0]
        else:
            loaded.errors.append(SpecError(
                display_path(specs_dir / "benchmarks", root), None,
                f"{len(defaults)} benchmarks are marked default" if defaults else "no benchmark is marked default",
                "mark exactly one with 'default: true', or pick one with --benchmark / $GLC_BENCHMARK"))
            return None
    loaded.benchmark = active
    loaded.benchmarks = names
    if not active.spec.tasks:
        return None
    dirs: list[Path] = []
    for i, rel in enumerate(active.spec.tasks):
        folder = specs_dir / "tasks" / rel
        if not folder.is_dir() or ".." in Path(rel).parts:
            loaded.errors.append(SpecError(active.path, active.doc.line_of(("tasks", i)) or active.line,
                                           f"no task folder specs/tasks/{rel}",
                                           "list folders under specs/tasks/ that hold this benchmark's tasks"))
            continue
        dirs.append(folder)
    return dirs


def active_benchmark(root: Path, requested: str | None = None) -> str | None:
    """The name of the benchmark ``glc`` would use (None when the specs cannot tell)."""
    probe = LoadedSpecs()
    _load_benchmark(root, root / "specs", requested, probe)
    return probe.benchmark.spec.name if probe.benchmark else None


class _RelPaths:
    """``display_path`` of many files in few folders: each folder and the root resolved once (two
    resolves per file were a tenth of loading the 699 task specs). A file that is itself a link
    is resolved on its own, so every answer is ``display_path``'s."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.resolved_root = root.resolve()
        self.folders: dict[Path, Path] = {}

    def __call__(self, file: Path) -> str:
        if file.name in ("", ".", "..") or file.is_symlink():
            return display_path(file, self.root)
        folder = self.folders.get(file.parent)
        if folder is None:
            folder = self.folders[file.parent] = file.parent.resolve()
        try:
            return str((folder / file.name).relative_to(self.resolved_root))
        except ValueError:
            return str(file)


def _load_one(file: Path, model: type[Any], kind: str, root: Path, loaded: LoadedSpecs,
              rel_path: _RelPaths | None = None) -> None:
    rel = rel_path(file) if rel_path is not None else display_path(file, root)
    try:
        doc = load_yaml(file, inside=root)
    except YamlFileRefused as exc:
        loaded.errors.append(SpecError(rel, None, exc.message, "put the spec itself there (a regular file "
                                       "inside the project), or remove it"))
        return
    except YamlSyntaxError as exc:
        loaded.errors.append(SpecError(rel, exc.line, exc.message, "fix the YAML syntax at that line"))
        return
    except (OSError, UnicodeDecodeError) as exc:
        loaded.errors.append(SpecError(rel, None, f"cannot read spec file: {exc}"))
        return
    loaded.file_hashes[rel] = doc.sha256
    spec, errors = parse_doc(doc, model, rel)
    loaded.errors.extend(errors)
    if spec is None:
        if isinstance(doc.data, dict) and isinstance(doc.data.get("name"), str):
            loaded.invalid_names.setdefault(kind, set()).add(doc.data["name"])
        if isinstance(doc.data, dict):
            loaded.invalid_docs.append((kind, rel, doc))
        return
    located = Located(spec, rel, doc.line_of(()) or 1, doc)
    if kind == "benchmark":
        loaded.benchmark = located
    else:
        getattr(loaded, kind).append(located)
