"""``profiles.yml``: named targets saying where results live (a DuckDB file or memory)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compiler.errors import GlcError
from compiler.loader import validation_errors
from compiler.suggest import did_you_mean
from compiler.yaml_source import YamlSyntaxError, load_yaml

ENV_TARGET = "GLC_TARGET"


class _TargetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str = Field(pattern="^duckdb$")
    path: str
    threads: int | None = Field(default=None, ge=1)


class _Profiles(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    target: str
    targets: dict[str, _TargetSpec]
    commands: list[list[str]] = []


def load_command_allowlist(root: Path) -> list[tuple[str, ...]]:
    """The argv prefixes the ``command`` runner may start, from ``profiles.yml`` ``commands:``.

    Specs (which may come from anyone) cannot add to this list: running a program is allowed by
    the user's own profile only. No ``commands:`` key means no program at all.
    """
    path = root / "profiles.yml"
    if not path.exists():
        return []
    try:
        doc = load_yaml(path)
        profiles = _Profiles.model_validate(doc.data)
    except (YamlSyntaxError, ValidationError):
        return []  # load_target reports a broken profile with its line
    return [tuple(p) for p in profiles.commands if p]


@dataclass(frozen=True)
class Target:
    name: str
    path: str  # a file path, or ":memory:"
    threads: int | None

    @property
    def in_memory(self) -> bool:
        return self.path == ":memory:"


def load_target(root: Path, name: str | None = None, benchmark: str | None = None) -> Target:
    """The target ``name`` (else $GLC_TARGET, else the profile's default) of ``root/profiles.yml``.

    ``{benchmark}`` in a target's path is replaced by the active benchmark's name, so each
    benchmark of a project keeps its own results.
    """
    path = root / "profiles.yml"
    if not path.exists():
        return Target("default", str(root / "target" / f"{benchmark or 'glc'}.duckdb"), None)
    try:
        doc = load_yaml(path)
    except YamlSyntaxError as exc:
        raise GlcError(exc.message, location=f"profiles.yml:{exc.line}") from None
    try:
        profiles = _Profiles.model_validate(doc.data)
    except ValidationError as exc:
        first = validation_errors(exc, doc, "profiles.yml")[0]
        raise GlcError(first.message, location=f"profiles.yml:{first.line}", hint=first.hint) from None
    chosen = name or os.environ.get(ENV_TARGET) or profiles.target
    if chosen not in profiles.targets:
        raise GlcError(f"unknown target '{chosen}'", location="profiles.yml",
                       hint=did_you_mean(chosen, profiles.targets) or "targets: " + ", ".join(profiles.targets))
    spec = profiles.targets[chosen]
    raw = spec.path.replace("{benchmark}", benchmark or "glc")
    db = raw if raw == ":memory:" else str((root / raw).resolve())
    return Target(chosen, db, spec.threads)
