"""Per-run files under ``target/runs/<run id>/``: ``log.txt`` (what ``glc run`` printed, with
timestamped progress and stage lines), ``results.json`` (models, tasks, the spec fingerprint,
versions and timings, as users of other evaluation harnesses expect) and beside it the run's rows:
``scores.parquet`` (``task_scores``) and ``levels.parquet`` (``level_scores``). The rows go to
Parquet, not JSON: at 1,000 models they are 760,000 rows (220 MB of JSON that took longer to write
than the whole build; a few MB of Parquet, written in a fraction of a second).

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
from typing import TYPE_CHECKING, Any, TextIO

import duckdb

from glc.compiler.contracts import quote_ident

if TYPE_CHECKING:
    import pyarrow as pa

RESULTS_VERSION = 2  # 2: scores and levels in Parquet files beside results.json
# results.json key -> (result table, its order, file beside results.json)
RESULT_TABLES = {"scores": ("task_scores", ("model", "task_id"), "scores.parquet"),
                 "levels": ("level_scores", ("variant", "scope", "model"), "levels.parquet")}


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

    def write_tables(self, tables: dict[str, pa.Table]) -> dict[str, dict[str, Any]]:
        """Each table as a Parquet file beside ``results.json`` (written whole); what results.json
        says of it: the file's name, its rows and columns."""
        import pyarrow.parquet as pq

        out: dict[str, dict[str, Any]] = {}
        for key, table in tables.items():
            path = self.dir / RESULT_TABLES[key][2]
            tmp = path.with_suffix(".parquet.tmp")
            pq.write_table(table, tmp)  # snappy: cheaper to write than zstd, and every reader has it
            os.replace(tmp, path)
            out[key] = {"file": path.name, "rows": table.num_rows, "columns": table.column_names}
        return out

    def write_results(self, results: dict[str, Any]) -> Path:
        """``results.json``, written whole (a reader never sees half of it)."""
        tmp = self.results_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(results, indent=1, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.results_path)
        return self.results_path


def versions() -> dict[str, str]:
    from glc import __version__

    return {"glc": __version__, "duckdb": duckdb.__version__, "python": platform.python_version()}


def collect_results(con: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
    """The run's scores (``task_scores``) and levels (``level_scores``) as stored after the build,
    ordered, as Arrow tables (a result table that was not built is left out)."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = 'main'").fetchall()}
    out: dict[str, pa.Table] = {}
    for key, (table, order, _) in RESULT_TABLES.items():
        if table in tables:
            by = ", ".join(quote_ident(c) for c in order)
            out[key] = con.sql(f"SELECT * FROM {quote_ident(table)} ORDER BY {by}").to_arrow_table()
    return out


def scored_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The models ``task_scores`` holds (those of ``collect_results``'s scores; asked of DuckDB: the
    Arrow way, ``unique()``, imports pyarrow's compute functions, a tenth of a second)."""
    table, _, _ = RESULT_TABLES["scores"]
    return [r[0] for r in con.execute(f"SELECT DISTINCT model FROM {quote_ident(table)} ORDER BY model").fetchall()]
