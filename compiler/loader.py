"""Read every spec file under ``specs/`` into typed specs, collecting all errors.

Which model a file is validated against follows from its folder (tasks/, metrics/, levels/,
scopes/, tests/) or its name (benchmark.yaml). Errors carry the file and line; nothing is
raised until every file has been read, so one compile reports every problem.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from compiler.errors import SpecError, display_path
from compiler.spec_models import (
    BenchmarkSpec,
    LevelSpec,
    MetricSpec,
    ScopeFile,
    Spec,
    TaskSpec,
    TestFile,
)
from compiler.suggest import did_you_mean
from compiler.yaml_source import YamlDoc, YamlSyntaxError, load_yaml

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

FOLDERS: dict[str, type[Spec]] = {
    "tasks": TaskSpec,
    "metrics": MetricSpec,
    "levels": LevelSpec,
    "scopes": ScopeFile,
    "tests": TestFile,
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
    levels: list[Located[LevelSpec]] = field(default_factory=list)
    scopes: list[Located[ScopeFile]] = field(default_factory=list)
    tests: list[Located[TestFile]] = field(default_factory=list)
    file_hashes: dict[str, str] = field(default_factory=dict)
    errors: list[SpecError] = field(default_factory=list)
    # names declared by files that failed validation: references to them are not errors again
    invalid_names: dict[str, set[str]] = field(default_factory=dict)


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


def parse_doc(doc: YamlDoc, model: type[M], path: str) -> tuple[M | None, list[SpecError]]:
    """Validate one loaded document against ``model``."""
    errors = [
        SpecError(path, line, f"duplicate key '{key}'", "a key may appear once; the later value would win")
        for key, line in doc.duplicate_keys
    ]
    if not isinstance(doc.data, dict):
        errors.append(SpecError(path, doc.line_of(()) or 1, "expected a mapping of keys at the top level"))
        return None, errors
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


def load_specs(root: Path, specs_dir: Path) -> LoadedSpecs:
    """Load every spec file; problems end up in ``LoadedSpecs.errors``."""
    loaded = LoadedSpecs()
    if not specs_dir.is_dir():
        loaded.errors.append(SpecError(display_path(specs_dir, root), None, "specs folder not found",
                                       "run glc from the project root or pass --project-dir"))
        return loaded
    for entry in sorted(specs_dir.iterdir()):
        if entry.is_dir() and entry.name in FOLDERS:
            for file in _yaml_files(entry):
                _load_one(file, FOLDERS[entry.name], entry.name, root, loaded)
        elif entry.is_file() and entry.name in ("benchmark.yaml", "benchmark.yml"):
            _load_one(entry, BenchmarkSpec, "benchmark", root, loaded)
        elif entry.is_dir() and entry.name == "models":
            continue  # model specs belong to the runners (inference) and are read there
        elif entry.suffix in (".yaml", ".yml") or (entry.is_dir() and not entry.name.startswith(".")):
            loaded.errors.append(SpecError(
                display_path(entry, root), None, f"unexpected spec location '{entry.name}'",
                "specs live in specs/{tasks,metrics,levels,scopes,tests}/ or specs/benchmark.yaml"))
    if loaded.benchmark is None and not any(e.path.endswith("benchmark.yaml") for e in loaded.errors):
        loaded.errors.append(SpecError(display_path(specs_dir, root), None, "missing specs/benchmark.yaml",
                                       "add one with name, title and version"))
    return loaded


def _load_one(file: Path, model: type[Any], kind: str, root: Path, loaded: LoadedSpecs) -> None:
    rel = display_path(file, root)
    try:
        doc = load_yaml(file)
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
        return
    located = Located(spec, rel, doc.line_of(()) or 1, doc)
    if kind == "benchmark":
        loaded.benchmark = located
    else:
        getattr(loaded, kind).append(located)
