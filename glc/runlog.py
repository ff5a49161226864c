"""Per-run files under ``target/runs/<run id>/``: ``log.txt`` (what ``glc run`` printed, with
timestamped progress and stage lines) and ``results.json`` (models, tasks, scores, levels, the
spec fingerprint, versions and timings), as users of other evaluation harnesses expect.

The run id is also the build's id in the store (``glc diff run:ID``).
"""

from __future__ import annotations

import json
import os
import platform
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import duckdb
from sqlglot import exp

RESULTS_VERSION = 1


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique: ``20261130-120304-3f2a9c``."""
    return f"{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


class RunLog:
    """``target/runs/<id>/log.txt``, appended line by line (flushed: readable while the run goes on)."""

    def __init__(self, target_dir: Path, *, now: Callable[[], datetime] = datetime.now,
                 run_id: str | None = None) -> None:
        self.now = now
        self.started = now()
        self.run_id = run_id or new_run_id(self.started)
        self.dir = target_dir / "runs" / self.run_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "log.txt"
        self.results_path = self.dir / "results.json"
        self._fh: TextIO | None = self.log_path.open("a", encoding="utf-8", errors="backslashreplace")

    def line(self, text: str) -> None:
        """Write lines as they are (progress lines carry their own time)."""
        if self._fh is not None:
            self._fh.write(text.rstrip("\n") + "\n")
            self._fh.flush()

    def echo(self, text: str) -> None:
        """Write what the command printed, each line with the time."""
        stamp = f"[{self.now():%H:%M:%S}] "
        self.line("\n".join(stamp + x for x in (text.splitlines() or [""])))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write_results(self, results: dict[str, Any]) -> Path:
        """``results.json``, written whole (a reader never sees half of it)."""
        tmp = self.results_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(results, indent=1, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.results_path)
        return self.results_path


def versions() -> dict[str, str]:
    from glc import __version__

    return {"glc": __version__, "duckdb": duckdb.__version__, "python": platform.python_version()}


def _rows(con: duckdb.DuckDBPyConnection, table: str, order: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every row of a built result table, ordered."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if table not in tables:
        return []
    rel = con.sql(exp.select("*").from_(exp.to_table(table)).order_by(*order).sql("duckdb"))
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def collect_results(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    """The run's scores (``task_scores``) and levels (``level_scores``) as stored after the build."""
    return {"scores": _rows(con, "task_scores", ("model", "task_id")),
            "levels": _rows(con, "level_scores", ("variant", "scope", "model"))}
