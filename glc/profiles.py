"""``profiles.yml``: where results live (named targets) and what specs may use (grants).

Specs, prompts, data and prediction files may come from anyone; ``profiles.yml`` is the user's
own file. Everything that reaches outside the project is granted here and nowhere else:

* ``commands``: whole argv patterns the ``command`` runner may start. Each element is matched
  as written in the spec; ``"*"`` is a free argument, which must not render to a path.
* ``command_env``: environment variables a spec's ``env:`` may set for those programs.
* ``endpoints``: URLs the ``openai`` runner may send to (``http://127.0.0.1:*`` allows any port),
  each with the one environment variable it may read as its API key.
* ``data_roots``: folders outside the project that datasets, media and local model weights may
  be read from (the project folder itself is always allowed).
* ``runner_backend`` (``local`` or ``ray``) and ``ray`` (``address``, ``workers``, ``batch_size``,
  ``max_retries``, ``num_cpus``): where the local runners (``hf``, ``command``) run.
* ``evaluators``: the learned models and judges that metrics need (``glc ls metrics``), by the
  name the metric spec gives: ``{path: FOLDER}`` (a local transformers folder, or a bundled alias,
  read by the ``hf`` runner's ``features`` task; inside the project or a data root) or a whole
  route ``{runner: ..., args: {...}}`` (a granted program, a granted endpoint). Without one, the
  metric's tasks are not scorable from predictions.
* ``benchmark_data``: per benchmark, the folder of its downloaded data (e.g. a General-Bench
  Open Set); ``--data DIR`` or ``$GLC_DATA`` overrides it for the active benchmark. That folder is
  readable like a data root.

A target is ``type: duckdb`` (the DAG is built in the DuckDB file at ``path``) or ``type: spark``
(the store stays in the DuckDB file at ``path``; the DAG is built by Spark at ``master``, its
tables kept as Parquet under ``warehouse``, which must lie in the project or a data root,
``concurrency`` nodes at a time (2); ``conf`` is passed to Spark; see glc/engine/spark.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from glc.compiler.errors import GlcError
from glc.compiler.loader import validation_errors
from glc.compiler.suggest import did_you_mean
from glc.compiler.yaml_source import YamlSyntaxError, load_yaml

if TYPE_CHECKING:
    from glc.runners.ray_backend import RaySettings

ENV_TARGET = "GLC_TARGET"
ENV_DATA = "GLC_DATA"


class _TargetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str = Field(pattern="^(duckdb|spark)$")
    path: str
    threads: int | None = Field(default=None, ge=1)
    # type: spark only
    master: str | None = Field(default=None, min_length=1)
    warehouse: str | None = Field(default=None, min_length=1)
    concurrency: int | None = Field(default=None, ge=1, le=64)  # nodes built at the same time
    conf: dict[str, str | int | float | bool] = {}

    @model_validator(mode="after")
    def _engine_keys(self) -> _TargetSpec:
        if self.type == "spark" and (self.master is None or self.warehouse is None):
            raise ValueError("a spark target needs 'master' (e.g. local[2]) and 'warehouse' (a folder for its tables)")
        if self.type != "spark" and (self.master is not None or self.warehouse is not None or self.conf
                                     or self.concurrency is not None):
            raise ValueError("'master', 'warehouse', 'concurrency' and 'conf' belong to a target of type: spark")
        return self


class _EndpointSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str = Field(pattern=r"^https?://[^/?#]+")
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class _RaySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    address: str | None = None
    workers: int = Field(default=4, ge=1, le=1024)
    batch_size: int = Field(default=8, ge=1, le=10_000)
    max_retries: int = Field(default=2, ge=0, le=100)
    num_cpus: float = Field(default=1.0, gt=0, le=256)


class _EvaluatorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str | None = Field(default=None, min_length=1)
    runner: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    args: dict[str, object] = {}

    @model_validator(mode="after")
    def _path_or_route(self) -> _EvaluatorSpec:
        if (self.path is None) == (self.runner is None):
            raise ValueError("an evaluator is a weights folder (path: ...) or a route (runner: ..., args: ...)")
        if self.path is not None and self.args:
            raise ValueError("'args' go with 'runner'; an evaluator given by 'path' takes none")
        return self


class _Profiles(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    target: str
    targets: dict[str, _TargetSpec]
    commands: list[list[str]] = []
    command_env: list[str] = []
    endpoints: list[_EndpointSpec] = []
    data_roots: list[str] = []
    benchmark_data: dict[str, str] = {}
    evaluators: dict[str, _EvaluatorSpec] = {}
    runner_backend: str = Field(default="local", pattern="^(local|ray)$")
    ray: _RaySpec = Field(default_factory=lambda: _RaySpec())


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int | None  # None: any port
    path: str  # prefix
    api_key_env: str | None

    @classmethod
    def parse(cls, url: str, api_key_env: str | None) -> Endpoint:
        parts = urlsplit(url)
        if parts.netloc.startswith("[") and "]" in parts.netloc:  # an IPv6 address: http://[::1]:8000
            inside, _, rest = parts.netloc[1:].partition("]")
            host, port = inside, rest[1:] if rest.startswith(":") else ""
        else:
            host, _, port = parts.netloc.rpartition(":") if parts.netloc.count(":") == 1 else (parts.netloc, "", "")
        default = 443 if parts.scheme == "https" else 80
        return cls(parts.scheme, host.lower(), None if port == "*" else int(port or default),
                   parts.path.rstrip("/"), api_key_env)

    def allows(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
        path = parts.path.rstrip("/")
        if "%" in path or ";" in path or "\\" in path:  # %2e%2e, ..;/ and \ are decoded by many servers
            return False
        return (parts.scheme == self.scheme and (parts.hostname or "") == self.host
                and (self.port is None or port == self.port) and not parts.username and not parts.password
                and (path == self.path or path.startswith(self.path + "/")) and ".." not in path.split("/"))


@dataclass(frozen=True)
class Grants:
    """What the user's profile allows specs to use (see the module docs)."""

    root: Path  # resolved
    commands: tuple[tuple[str, ...], ...] = ()
    command_env: frozenset[str] = frozenset()
    endpoints: tuple[Endpoint, ...] = ()
    data_roots: tuple[Path, ...] = field(default=())

    def endpoint_problem(self, base_url: str, api_key_env: str | None) -> str | None:
        """Why a route may not send to ``base_url`` with the key in ``api_key_env`` (None: it may)."""
        allowed = [e for e in self.endpoints if e.allows(base_url)]
        if not allowed:
            return (f"endpoint {base_url} is not allowed; specs cannot choose where data is sent. If you trust "
                    f"it, add it under 'endpoints:' in profiles.yml (- url: {base_url})")
        if api_key_env is not None and not any(e.api_key_env == api_key_env for e in allowed):
            return (f"the spec asks to send ${api_key_env} as the API key of {base_url}, which profiles.yml does "
                    f"not allow; give that endpoint 'api_key_env: {api_key_env}' there if it is meant for it")
        return None

    def readable(self, path: Path) -> bool:
        """True when ``path`` (symlinks resolved) lies inside the project or a granted data root."""
        try:
            real = path.resolve(strict=False)
        except (OSError, RuntimeError, ValueError):  # ValueError: a NUL in the path
            return False
        return self.holds(real)

    def holds(self, real: Path) -> bool:
        """True when the resolved path ``real`` is the project, a granted data root or inside one."""
        return any(real == r or real.is_relative_to(r) for r in (self.root, *self.data_roots))


def load_grants(root: Path) -> Grants:
    """The grants of ``root/profiles.yml``; none (nothing outside the project) without one.

    Specs (which may come from anyone) cannot add to them. A broken profile grants nothing here;
    ``load_target`` reports it with its line.
    """
    grants = _grants(root.resolve(), _profile_text(root))
    extra = os.environ.get(ENV_DATA)
    if extra:
        grants = replace(grants, data_roots=(*grants.data_roots, (root / os.path.expanduser(extra)).resolve()))
    return grants


DATA_FLAG: dict[str, str] = {}  # "value": the folder --data gave ($GLC_DATA is set to it), to say where it came from


def benchmark_data_root(root: Path, benchmark: str) -> tuple[Path, str] | None:
    """The data folder of ``benchmark`` and where it was set: ``$GLC_DATA`` (also set by
    ``--data``), else ``benchmark_data:`` in profiles.yml; None when neither sets one."""
    env = os.environ.get(ENV_DATA)
    if env:
        return (root / os.path.expanduser(env)).resolve(), "--data" if env == DATA_FLAG.get("value") else f"${ENV_DATA}"
    profiles = _valid_profile(root.resolve(), _profile_text(root))
    if profiles is None:
        return None
    value = profiles.benchmark_data.get(benchmark)
    if value is None:
        return None
    return (root / os.path.expanduser(value)).resolve(), f"profiles.yml benchmark_data.{benchmark}"


def data_root_settings(root: Path) -> list[tuple[Path, str]]:
    """Every data root ``root``'s grants hold (``load_grants``), resolved, with where it is set, for
    messages: ``$GLC_DATA`` (or ``--data``), ``data_roots:`` and ``benchmark_data:`` of profiles.yml
    (every benchmark's, not only the active one's)."""
    out: list[tuple[Path, str]] = []
    env = os.environ.get(ENV_DATA)
    if env:
        out.append(((root / os.path.expanduser(env)).resolve(),
                    "--data" if env == DATA_FLAG.get("value") else f"${ENV_DATA}"))
    profiles = _valid_profile(root.resolve(), _profile_text(root))
    if profiles is not None:
        out += [((root / os.path.expanduser(r)).resolve(), "profiles.yml data_roots") for r in profiles.data_roots]
        out += [((root / os.path.expanduser(v)).resolve(), f"profiles.yml benchmark_data.{k}")
                for k, v in profiles.benchmark_data.items()]
    return out


def _profile_text(root: Path) -> str:
    path = root / "profiles.yml"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


@lru_cache(maxsize=8)
def _valid_profile(root: Path, text: str) -> _Profiles | None:
    """profiles.yml parsed and validated (keyed by its text); None when absent or broken --
    ``load_target`` reports a broken one with its line, the readers here grant nothing from it."""
    if not text:
        return None
    try:
        return _Profiles.model_validate(load_yaml(root / "profiles.yml").data)
    except (YamlSyntaxError, ValidationError, OSError):
        return None


@lru_cache(maxsize=8)
def _grants(root: Path, text: str) -> Grants:
    profiles = _valid_profile(root, text)
    if profiles is None:
        return Grants(root)
    roots = tuple((root / os.path.expanduser(r)).resolve()
                  for r in [*profiles.data_roots, *profiles.benchmark_data.values()])
    return Grants(root, tuple(tuple(p) for p in profiles.commands if p), frozenset(profiles.command_env),
                  tuple(Endpoint.parse(e.url, e.api_key_env) for e in profiles.endpoints), roots)


@dataclass(frozen=True)
class SparkSettings:
    master: str
    warehouse: str  # resolved folder of the Spark tables (Parquet)
    conf: tuple[tuple[str, str], ...] = ()
    concurrency: int = 2  # independent nodes built at the same time


@dataclass(frozen=True)
class Target:
    name: str
    path: str  # a file path, or ":memory:"
    threads: int | None
    type: str = "duckdb"  # duckdb or spark: the engine that builds the DAG (the store is DuckDB either way)
    spark: SparkSettings | None = None

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
    spark = None
    if spec.type == "spark":
        assert spec.master is not None and spec.warehouse is not None  # checked by _TargetSpec
        warehouse = (root / os.path.expanduser(spec.warehouse.replace("{benchmark}", benchmark or "glc"))).resolve()
        if not load_grants(root).readable(warehouse):
            raise GlcError(f"target '{chosen}': warehouse {warehouse} is outside the project and its data roots",
                           location="profiles.yml", hint="put it under the project or add its folder to data_roots:")
        spark = SparkSettings(spec.master, str(warehouse),
                              tuple(sorted((k, str(v).lower() if isinstance(v, bool) else str(v))
                                           for k, v in spec.conf.items())), spec.concurrency or 2)
    return Target(chosen, db, spec.threads, spec.type, spark)


def load_ray_settings(root: Path) -> RaySettings | None:
    """The Ray settings when profiles.yml says ``runner_backend: ray`` (None: runners run here).

    A broken profile is reported (with its line) by ``load_target``; here it means local.
    """
    from glc.runners.ray_backend import RaySettings

    profiles = _valid_profile(root.resolve(), _profile_text(root))
    if profiles is None or profiles.runner_backend != "ray":
        return None
    r = profiles.ray
    return RaySettings(address=r.address, workers=r.workers, batch_size=r.batch_size, max_retries=r.max_retries,
                       num_cpus=r.num_cpus)


@dataclass(frozen=True)
class Evaluator:
    """A configured evaluator: the route that runs it (``path`` becomes the hf ``features`` task)."""

    name: str
    runner: str
    args: dict[str, object]
    path: str | None = None  # as written, when given by path


def load_evaluators(root: Path) -> dict[str, Evaluator]:
    """The evaluators of profiles.yml by name (none without a valid profile; ``load_target``
    reports a broken one with its line)."""
    profiles = _valid_profile(root.resolve(), _profile_text(root))
    if profiles is None:
        return {}
    out = {}
    for name, e in profiles.evaluators.items():
        if e.path is not None:
            path = os.path.expanduser(e.path)
            out[name] = Evaluator(name, "hf", {"task": "features", "model": path}, e.path)
        else:
            assert e.runner is not None
            out[name] = Evaluator(name, e.runner, dict(e.args))
    return out
