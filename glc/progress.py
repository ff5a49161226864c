"""Rich progress bars for inference (overall and per job, with rate and ETA) and plan text."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from glc.inference import Plan, Progress


def describe_plan(plan: Plan) -> str:
    lines = []
    for row in plan.describe_rows():
        if row["kind"] == "unsupported":
            continue
        why = ", ".join(f"{n} {r}" for r, n in row["reasons"].items()) or "up to date"
        what = " (evaluator)" if row["kind"] == "judge" else ""
        lines.append(f"  {row['model']} · {row['task_id']}{what} [{row['runner']}]: {row['n_todo']} to run of "
                     f"{row['n_instances']} ({why})")
        if row.get("blocked") and row["n_todo"]:
            lines.append(f"    blocked by profiles.yml: {row['blocked']}")
    n_unsupported = len(plan.unsupported)
    head = f"inference jobs: {plan.n_todo} predictions to run"
    if plan.skipped_failed:
        head += f", {plan.skipped_failed} failed before (not retried without --retry-failed)"
    if n_unsupported:
        head += f", {n_unsupported} (model, task) pairs without a route (scored 0)"
    return "\n".join([head, *lines])


class RichProgress(Progress):
    """An overall bar and one bar per running job; silent when stderr is not a terminal."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock  # injected by tests: rates and ETAs without sleeping
        self.bars: Any = None
        self.overall: Any = None
        self.current: Any = None
        self.started: dict[Any, float] = {}

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, total: int) -> None:
        if total == 0:
            return
        if self.bars is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            console = Console(stderr=True)
            # rate and ETA from the time since the job started: runners that answer a whole batch
            # at once would make an instantaneous speed meaningless
            self.bars = Progress(TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                 TextColumn("{task.fields[eta]}"), console=console,
                                 disable=not sys.stderr.isatty(), transient=False)
            self.bars.start()
            self.overall = self.bars.add_task("all jobs", total=total, rate="", eta="")
            self.started[self.overall] = self.clock()
        else:
            self.bars.update(self.overall, total=total)

    def job(self, label: str, total: int) -> None:
        if self.bars is not None:
            self.current = self.bars.add_task(f"  {label}", total=total, rate="", eta="")
            self.started[self.current] = self.clock()

    def advance(self, n: int = 1) -> None:
        if self.bars is None:
            return
        for task_id in (self.overall, self.current):
            if task_id is None:
                continue
            self.bars.advance(task_id, n)
            task = next(t for t in self.bars.tasks if t.id == task_id)
            elapsed = max(self.clock() - self.started[task_id], 1e-6)
            rate = task.completed / elapsed
            left = (task.total or 0) - task.completed
            eta = f"ETA {int(left / rate) // 60}:{int(left / rate) % 60:02d}" if rate > 0 and left > 0 else ""
            self.bars.update(task_id, rate=f"{rate:.2f}/s", eta=eta)

    def end_job(self) -> None:
        self.current = None

    def stop(self) -> None:
        if self.bars is not None:
            self.bars.stop()
            self.bars = None
