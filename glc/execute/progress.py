"""Progress of inference: rich bars on a terminal (overall and per job, with rate and ETA), plain
timestamped lines every few seconds for logs and redirected output, and plan text."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from glc.words import plural

if TYPE_CHECKING:  # glc.execute.inference imports runners, datasets and pydantic: a run inferring nothing needs none
    from glc.execute.inference import Plan


class Progress:
    """Callbacks the executor reports through (the CLI draws rich bars with them)."""

    def start(self, total: int) -> None: ...
    def job(self, label: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def end_job(self) -> None: ...
    def stop(self) -> None: ...


def describe_not_scorable(tasks: dict[str, str], *, shown: int = 3) -> list[str]:
    """Lines for the tasks not scorable here (task id -> why: the metric and the evaluator setting it
    needs), one per reason with its number of tasks and the first ``shown`` of them, since a catalog
    has dozens of tasks waiting for the same evaluator."""
    if not tasks:
        return []
    by_why: dict[str, list[str]] = {}
    for task_id, why in sorted(tasks.items()):
        by_why.setdefault(why, []).append(task_id)
    lines = [f"  not scorable from predictions: {plural(len(tasks), 'task')} (until its evaluator is set, a model "
             "with predictions there scores 0; one with an imported score and no predictions keeps that score; "
             "`glc ls tasks` lists what each task needs)"]
    for why, ids in sorted(by_why.items(), key=lambda item: (-len(item[1]), item[0])):
        more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
        lines.append(f"    {plural(len(ids), 'task')}: {why} ({', '.join(ids[:shown])}{more})")
    return lines


def describe_plan(plan: Plan) -> str:
    lines = []
    for row in plan.describe_rows():
        if row["kind"] in ("unsupported", "not scorable"):  # the first counted in the head, the others grouped below
            continue
        why = ", ".join(f"{n} {r}" for r, n in row["reasons"].items()) or "up to date"
        what = " (evaluator)" if row["kind"] == "judge" else ""
        lines.append(f"  {row['model']} · {row['task_id']}{what} [{row['runner']}]: {row['n_todo']} to run of "
                     f"{row['n_instances']} ({why})")
        if row.get("blocked") and row["n_todo"]:
            lines.append(f"    blocked by profiles.yml: {row['blocked']}")
    n_unsupported = len(plan.unsupported)
    head = f"inference jobs: {plural(plan.n_todo, 'prediction')} to run"
    if plan.skipped_failed:
        head += f", {plan.skipped_failed} failed before (not retried without --retry-failed)"
    if n_unsupported:
        head += f", {n_unsupported} (model, task) pairs without a route (scored 0)"
    return "\n".join([head, *lines, *describe_not_scorable(plan.not_scorable)])


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


def eta_text(seconds: float) -> str:
    """'45 s', '20 min', '2 h 05 min'."""
    s = max(int(round(seconds)), 0)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{round(s / 60)} min"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


class LineProgress(Progress):
    """Plain progress lines, at most one every ``every_s`` seconds, for output that is not a terminal
    (where bars are not drawn) and for the run log::

        [12:03:04] 1,234/5,000 predictions (24 %), 3.1/s, ETA 20 min (model · task)

    ``clock`` (seconds, monotonic) and ``now`` (the wall time printed) are injected by tests.
    Each line goes to every sink in ``sinks``.
    """

    def __init__(self, sinks: Sequence[Callable[[str], None]], *, every_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, now: Callable[[], datetime] = datetime.now) -> None:
        self.sinks, self.every_s, self.clock, self.now = list(sinks), every_s, clock, now
        self.total = 0
        self.done = 0
        self.t0: float | None = None
        self.last = 0.0
        self.label = ""

    def emit(self, text: str) -> None:
        line = f"[{self.now():%H:%M:%S}] {text}"
        for sink in self.sinks:
            sink(line)

    def note(self, text: str) -> None:
        """A stage of the run (loading data, building): said at once, whatever the interval."""
        self.emit(text)

    def start(self, total: int) -> None:
        first = self.t0 is None
        self.total = total
        if first and total:
            self.t0 = self.last = self.clock()
            self.emit(f"inference: {plural(total, 'prediction')} to run")

    def job(self, label: str, total: int) -> None:
        self.label = label

    def status(self) -> str:
        elapsed = self.clock() - (self.t0 if self.t0 is not None else self.clock())
        rate = self.done / elapsed if elapsed > 0 else 0.0
        pct = int(100 * self.done / self.total) if self.total else 100
        left = self.total - self.done
        eta = f", ETA {eta_text(left / rate)}" if rate > 0 and left > 0 else ""
        return f"{self.done:,}/{self.total:,} predictions ({pct} %), {rate:.1f}/s{eta}"

    def advance(self, n: int = 1) -> None:
        self.done += n
        t = self.clock()
        if t - self.last >= self.every_s:
            self.last = t
            self.emit(self.status() + (f" ({self.label})" if self.label else ""))

    def end_job(self) -> None:
        self.label = ""

    def stop(self) -> None:
        if self.t0 is not None and self.done:
            elapsed = self.clock() - self.t0
            self.emit(f"inference done: {self.status()} in {eta_text(elapsed)}")
            self.t0 = None


class FanOut(Progress):
    """Every callback to each of several progress reporters (bars and lines together)."""

    def __init__(self, *parts: Progress) -> None:
        self.parts = parts

    def __enter__(self) -> FanOut:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, total: int) -> None:
        for p in self.parts:
            p.start(total)

    def job(self, label: str, total: int) -> None:
        for p in self.parts:
            p.job(label, total)

    def advance(self, n: int = 1) -> None:
        for p in self.parts:
            p.advance(n)

    def end_job(self) -> None:
        for p in self.parts:
            p.end_job()

    def stop(self) -> None:
        for p in self.parts:
            p.stop()
