"""Run compiled data tests: each query returns failing rows; none means pass."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import duckdb

from glc.compiler.data_tests import CompiledDataTest

SAMPLE = 5


@dataclass(frozen=True)
class DataTestResult:
    test: CompiledDataTest
    n_failing: int
    columns: tuple[str, ...]
    sample: tuple[tuple[Any, ...], ...]

    @property
    def status(self) -> str:
        if self.n_failing == 0:
            return "pass"
        return "warn" if self.test.severity == "warn" else "fail"

    def describe(self) -> str:
        head = f"{self.status.upper()} {self.test.name} ({self.test.model}): {self.n_failing} row(s)"
        if self.test.description:
            head += f" - {self.test.description}"
        lines = [head]
        for row in self.sample:
            lines.append("    " + ", ".join(f"{c}={v!r}" for c, v in zip(self.columns, row, strict=True)))
        if self.n_failing > len(self.sample):
            lines.append(f"    ... and {self.n_failing - len(self.sample)} more")
        return "\n".join(lines)


def run_data_tests(con: duckdb.DuckDBPyConnection, tests: tuple[CompiledDataTest, ...]) -> list[DataTestResult]:
    results = []
    for test in tests:
        rel = con.sql(test.sql)
        rows = rel.fetchall()
        results.append(DataTestResult(test, len(rows), tuple(rel.columns), tuple(rows[:SAMPLE])))
    return results


def _plain(value: Any) -> bool:
    """Whether ``value`` reads back from JSON as itself (so its repr in a report is the same)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**64  # orjson's integers; a HUGEINT beyond them is not kept
    return value is None or isinstance(value, (str, bool)) or (isinstance(value, float) and math.isfinite(value))


def run_data_tests_on(con: duckdb.DuckDBPyConnection, tests: tuple[CompiledDataTest, ...],
                      unchanged: str | None) -> list[DataTestResult]:
    """``run_data_tests``, or the results they gave on the same store: ``unchanged`` is the inputs key
    of a build that built nothing (``BuildResult.unchanged``), so the tables the tests read are those
    the results were computed from when the kept results name that key and these tests' SQL. Results
    whose sample rows JSON cannot give back as they were (dates, decimals, NaN) are never kept."""
    import orjson

    from glc.engine.build import KEPT_TESTS

    if unchanged is None:
        return run_data_tests(con, tests)
    key = hashlib.sha256("\x1f".join([unchanged, *(f"{t.name}\x1e{t.sql}" for t in tests)]).encode()).hexdigest()
    rows = con.execute("SELECT state_key FROM glc_node_state WHERE node = ?", [KEPT_TESTS]).fetchall()
    if rows:
        try:
            kept = orjson.loads(rows[0][0])
            if kept["key"] == key and len(kept["results"]) == len(tests):
                return [DataTestResult(t, n, tuple(cols), tuple(tuple(r) for r in sample))
                        for t, (n, cols, sample) in zip(tests, kept["results"], strict=True)]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            pass
    results = run_data_tests(con, tests)
    if all(_plain(v) for r in results for row in r.sample for v in row):
        text = orjson.dumps({"key": key, "results": [[r.n_failing, list(r.columns), [list(x) for x in r.sample]]
                                                     for r in results]}).decode()
        con.execute("INSERT OR REPLACE INTO glc_node_state (node, state_key, built_at) VALUES (?, ?, now())",
                    [KEPT_TESTS, text])
    return results
