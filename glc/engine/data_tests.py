"""Run compiled data tests: each query returns failing rows; none means pass."""

from __future__ import annotations

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
