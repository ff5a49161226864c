"""How a compiled node is kept in the store, as types the compiler owns.

A template says ``{{ config(materialized='table' | 'view' | 'incremental', ...) }}``; the
compiler turns that into one of the classes below and every engine dispatches on the class
(``glc.engine.build.STRATEGIES``, ``glc.engine.spark.STRATEGIES``), never on the string. The fan-out
(which level variant or metric a node was rendered for) is ``FanOut``. Both serialize to plain
JSON data (``to_json`` / ``from_json``) for the compiled-project cache; no pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from glc.compiler.errors import GlcError


@dataclass(frozen=True)
class Materialization:
    """Base class: what the executor does with a node's query."""

    kind: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @staticmethod
    def from_json(d: dict[str, Any]) -> Materialization:
        kind = d.get("kind")
        if kind == Table.kind:
            return Table()
        if kind == View.kind:
            return View()
        if kind == Incremental.kind:
            return Incremental(tuple(d["partition_by"]), d.get("metric"), tuple(d.get("sources", ())))
        raise ValueError(f"unknown materialization kind {kind!r}")


@dataclass(frozen=True)
class Table(Materialization):
    """Rebuilt whole when its SQL or anything it reads changed."""

    kind: ClassVar[str] = "table"


@dataclass(frozen=True)
class View(Materialization):
    """A view: its rows follow its inputs; recreated only when its SQL changes."""

    kind: ClassVar[str] = "view"


@dataclass(frozen=True)
class Incremental(Materialization):
    """Rebuilt per stale partition (``partition_by``, e.g. model and task_id).

    ``metric``: only the tasks scored by this metric are its partitions (a per-metric node);
    ``sources``: the tables it reads that are cut to the stale partitions while it is built
    (declared ones plus upstream incremental nodes partitioned the same way)."""

    kind: ClassVar[str] = "incremental"
    partition_by: tuple[str, ...]
    metric: str | None = None
    sources: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "partition_by": list(self.partition_by), "metric": self.metric,
                "sources": list(self.sources)}


KINDS: tuple[type[Materialization], ...] = (Table, View, Incremental)


def from_config(config: dict[str, Any], name: str, template: str, columns: set[str]) -> Materialization:
    """The materialization a template's ``config(...)`` asks for (without the sources the compiler
    adds); a clear error naming the template when it asks for something else."""
    materialized = str(config.get("materialized", "table"))
    partition_by = tuple(config.get("partition_by", ()))
    if materialized not in {k.kind for k in KINDS} or (materialized == Incremental.kind and not partition_by):
        raise GlcError(f"model '{name}': materialized must be 'table', 'view' or 'incremental' with partition_by",
                       location=template)
    missing = [c for c in partition_by if c not in columns]
    if missing:
        raise GlcError(f"model '{name}': partition_by column(s) {missing} are not output columns",
                       location=template)
    if materialized == Table.kind:
        return Table()
    if materialized == View.kind:
        return View()
    return Incremental(partition_by, config.get("partition_metric"), tuple(config.get("partition_sources", ())))


@dataclass(frozen=True)
class FanOut:
    """Which template a node was rendered from and for which level variant or metric (None: once)."""

    model: str  # the template's name: task_wins for task_wins__pooled
    variant: str | None = None
    metric: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "variant": self.variant, "metric": self.metric}

    @staticmethod
    def from_json(d: dict[str, Any]) -> FanOut:
        return FanOut(str(d["model"]), d.get("variant"), d.get("metric"))

    def describe(self) -> str:
        if self.variant is not None:
            return f"template '{self.model}' (level variant '{self.variant}')"
        if self.metric is not None:
            return f"template '{self.model}' (metric '{self.metric}')"
        return f"template '{self.model}'"
