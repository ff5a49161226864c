"""Domain steps around a build, the same for every engine: hooks the executors call.

An executor (``glc.engine.build``, ``glc.engine.spark``) builds nodes; what a build means for the
run history and for derived results is not its business. It calls each hook:

* ``start(ctx)``: inside the build's transaction, before anything is built or forgotten;
* ``before_results_replaced(ctx)``: once, just before the live result tables (``RESULTS``)
  are replaced by new rows;
* ``after_build(ctx)``: after every node is built and its state written.

``default_hooks`` are the two steps every result-changing build takes: drop the bootstrap
intervals of older results (``DropStaleIntervals``) and keep the run's results for ``glc diff``
(``RunSnapshot``), in that order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

# the node-state row naming the run whose results the live tables hold (see RunSnapshot)
LIVE_RUN = "snapshot:live"
# the tables a run's results are kept from (task_results is a view of task_outcomes and task_sota)
RESULTS = ("task_outcomes", "level_scores")
LEVELS = "level_scores"  # a build that rebuilt it changed the results


@dataclass
class HookContext:
    """What a hook may know of a build."""

    con: duckdb.DuckDBPyConnection
    run_id: str
    rebuilt: Collection[str]  # names of the nodes this build built so far
    relations: dict[str, str]  # relation name -> 'table' or 'view', as the build found them


class BuildHook:
    """A step around a build; each method does nothing unless overridden."""

    def start(self, ctx: HookContext) -> None:
        """Inside the build's transaction, before anything is built."""

    def before_results_replaced(self, ctx: HookContext) -> None:
        """Once, before the live result tables are replaced."""

    def after_build(self, ctx: HookContext) -> None:
        """After every node is built and its state recorded."""


def keep_results(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Copy the live results into the run history under ``run_id``."""
    con.execute("INSERT INTO glc_run_levels SELECT ?, model, variant, scope, level_2, level_3, level_4, level_5, "
                "level FROM level_scores", [run_id])
    con.execute("INSERT INTO glc_run_tasks SELECT ?, model, task_id, sigma, vs_sota FROM task_outcomes", [run_id])


class RunSnapshot(BuildHook):
    """Keep each result-changing run's results in the run history (``glc_run_levels``, ``glc_run_tasks``).

    Lazily (``lazy``: both result models are tables, whose rows change only when they are
    rebuilt): a run's results stay in the live tables, the ``LIVE_RUN`` state row names the run,
    and they are copied once, when a later build is about to replace them (never for the latest:
    ``glc diff`` reads it from the live tables). Otherwise a snapshot is copied after every
    result-changing build; ``keep_live`` then still keeps what a lazy build left in the live tables
    before they are replaced (the Spark engine, sharing a store with DuckDB builds), and forgets
    the ``LIVE_RUN`` row.
    """

    def __init__(self, *, lazy: bool, keep_live: bool | None = None) -> None:
        self.lazy = lazy
        self.keep_live = lazy if keep_live is None else keep_live
        self.pending: str | None = None  # the run whose results the live tables hold, not yet kept

    def start(self, ctx: HookContext) -> None:
        if not self.keep_live:
            return
        live = ctx.con.execute("SELECT state_key FROM glc_node_state WHERE node = ?", [LIVE_RUN]).fetchone()
        if live is not None and all(ctx.relations.get(r) == "table" for r in RESULTS):
            self.pending = live[0]

    def before_results_replaced(self, ctx: HookContext) -> None:
        if self.pending is not None:
            keep_results(ctx.con, self.pending)
            self.pending = None
        if not self.lazy and self.keep_live:
            ctx.con.execute("DELETE FROM glc_node_state WHERE node = ?", [LIVE_RUN])

    def after_build(self, ctx: HookContext) -> None:
        if LEVELS not in ctx.rebuilt:
            return
        if self.lazy:  # in the live tables until a later build replaces them
            now = datetime.now(UTC).replace(tzinfo=None)
            ctx.con.execute("INSERT OR REPLACE INTO glc_node_state (node, state_key, built_at) VALUES (?, ?, ?)",
                            [LIVE_RUN, ctx.run_id, now])
        else:
            keep_results(ctx.con, ctx.run_id)


class DropStaleIntervals(BuildHook):
    """Bootstrap intervals (``level_intervals``) describe the results they were drawn from: drop
    them when a build changes the results (intervals of older results would mislead)."""

    def after_build(self, ctx: HookContext) -> None:
        if LEVELS in ctx.rebuilt:
            ctx.con.execute("DROP TABLE IF EXISTS level_intervals")


def default_hooks(*, lazy: bool, keep_live: bool | None = None) -> list[BuildHook]:
    return [DropStaleIntervals(), RunSnapshot(lazy=lazy, keep_live=keep_live)]
