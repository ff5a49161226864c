"""``Workspace``: the library facade behind every ``glc`` command.

It knows the project root and the profile target, compiles specs, builds the DAG, runs
tests, imports scores and reads leaderboards. The CLI only parses flags, calls one method
and prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from glc.build import BuildResult
from glc.compiler.errors import GlcError
from glc.compiler.lineage import ColumnLineage, column_lineage
from glc.compiler.loader import active_benchmark
from glc.compiler.plan import CompiledProject, compile_project, write_artifacts
from glc.data_tests import DataTestResult, run_data_tests
from glc.datasets import sync_instances
from glc.engines import build_dag
from glc.explain import explain as explain_level
from glc.export import ExportResult, export_predictions
from glc.importers.predictions import PredictionImport, read_predictions, store_predictions
from glc.importers.scores import ImportSummary, ParsedScores, Problem, store_scores
from glc.inference import Plan, Progress, RunSummary, execute, plan_jobs, write_job_list
from glc.leaderboard import leaderboard_intervals, leaderboard_rows
from glc.listing import KINDS, list_rows
from glc.profiles import Target, load_target
from glc.selection import Selection, parse_selection
from glc.store import connect, ensure_store, stored_models
from glc.unit_tests import UnitTestResult, run_unit_test


@dataclass
class TestReport:
    data: list[DataTestResult] = field(default_factory=list)
    unit: list[UnitTestResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.status == "fail" for r in self.data) or any(not u.passed for u in self.unit)

    def describe(self) -> str:
        lines = [r.describe() for r in self.data if r.status != "pass"]
        lines += [f"FAIL unit test {u.name} ({u.location}): {u.message}" for u in self.unit if not u.passed]
        n_pass = sum(r.status == "pass" for r in self.data) + sum(u.passed for u in self.unit)
        n_warn = sum(r.status == "warn" for r in self.data)
        n_fail = sum(r.status == "fail" for r in self.data) + sum(not u.passed for u in self.unit)
        lines.append(f"tests: {n_pass} passed, {n_warn} warned, {n_fail} failed")
        return "\n".join(lines)


@dataclass
class RunResult:
    build: BuildResult
    tests: TestReport
    inference: RunSummary | None = None


class Workspace:
    """A glc project on disk plus the results target it writes to."""

    def __init__(self, root: Path | str = ".", target: str | None = None, benchmark: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.requested_benchmark = benchmark
        self.benchmark = active_benchmark(self.root, benchmark)
        self.target: Target = load_target(self.root, target, self.benchmark)
        self.target_dir = self.root / "target"
        self._compiled: CompiledProject | None = None
        self.data_problems: list[Problem] = []  # task data that did not load (those tasks sat out)

    def compile(self, *, write: bool = True) -> CompiledProject:
        """Compile specs and templates; write ``target/manifest.json`` and ``target/compiled/``."""
        if self._compiled is None:
            self._compiled = compile_project(self.root, benchmark=self.requested_benchmark)
        if write:
            write_artifacts(self._compiled, self.target_dir)
        return self._compiled

    def _selection(self, con: Any, compiled: CompiledProject, select: list[str] | None) -> Selection | None:
        if not select:
            return None
        ensure_store(con)
        models = stored_models(con)
        models += [m.spec.name for m in compiled.project.models]
        return parse_selection(select, compiled.project, sorted(set(models)))

    def plan(self, *, select: list[str] | None = None, limit: int | None = None,
             retry_failed: bool = False) -> Plan:
        """The inference jobs that are missing or stale; written to ``target/jobs.json``."""
        compiled = self.compile()
        con = connect(self.target)
        try:
            ensure_store(con)
            sync_instances(con, compiled.project, problems=self.data_problems)
            plan = plan_jobs(con, compiled.project, self.target_dir, selection=self._selection(con, compiled, select),
                             limit=limit, retry_failed=retry_failed)
        finally:
            con.close()
        write_job_list(plan, self.target_dir / "jobs.json")
        return plan

    def run(self, *, full_refresh: bool = False, select: list[str] | None = None, limit: int | None = None,
            retry_failed: bool = False, infer: bool = True, progress: Progress | None = None,
            batch_size: int = 8) -> RunResult:
        """Compile, load changed task data, run missing inference, build what is stale, run data tests."""
        compiled = self.compile()
        con = connect(self.target)
        inference: RunSummary | None = None
        try:
            ensure_store(con)
            sync_instances(con, compiled.project, problems=self.data_problems)
            selection = self._selection(con, compiled, select)
            if infer and compiled.project.models:
                plan = plan_jobs(con, compiled.project, self.target_dir, selection=selection, limit=limit,
                                 retry_failed=retry_failed)
                write_job_list(plan, self.target_dir / "jobs.json")
                inference = execute(con, compiled.project, plan, self.target_dir, progress=progress,
                                    retry_failed=retry_failed, batch_size=batch_size)
            result = build_dag(con, compiled, self.target, full_refresh=full_refresh, selection=selection)
            report = TestReport(data=run_data_tests(con, compiled.data_tests))
        finally:
            con.close()
        return RunResult(result, report, inference)

    def record_sota(self, *, write: bool = True) -> list[dict[str, Any]]:
        """Each task's best specialist score (models with role: specialist) from ``task_scores``.

        With ``write``, the value, the model and the date go into the task spec's ``sota:``
        block (only that block's lines change), so the SoTA is data with its source.
        """
        from glc.sota import measured_sota, write_sota

        compiled = self.compile(write=False)
        con = connect(self.target)
        try:
            rows = measured_sota(con, compiled.project)
        finally:
            con.close()
        if write:
            write_sota(compiled.project, rows)
            self._compiled = None
        return rows

    def test(self, *, data: bool = True, unit: bool = True) -> TestReport:
        """Data tests on the built tables and unit tests of the SQL models."""
        compiled = self.compile()
        report = TestReport()
        if data:
            con = connect(self.target)
            try:
                sync_instances(con, compiled.project)
                build_dag(con, compiled, self.target)
                report.data = run_data_tests(con, compiled.data_tests)
            finally:
                con.close()
        if unit:
            report.unit = [run_unit_test(compiled, ut) for ut in compiled.project.unit_tests]
        return report

    def read_scores(self, path: Path, model: str | None = None) -> ParsedScores:
        from glc.importers.table_file import read_table
        from glc.importers.workbook import read_workbook

        path = Path(path)
        if not path.is_file():
            raise GlcError("file not found", location=str(path))
        project = self.compile(write=False).project
        suffix = path.suffix.lower()
        if suffix in (".xlsx", ".xlsm"):
            return read_workbook(path, project, model)
        if suffix in (".csv", ".parquet"):
            return read_table(path, project, model)
        raise GlcError(f"unsupported score file type '{suffix}'", location=str(path),
                       hint="import an .xlsx workbook (official layout) or a .csv/.parquet table")

    def import_scores(self, path: Path | str, model: str | None = None) -> ImportSummary:
        """Validate a score file completely, then replace its models' scores in one transaction."""
        parsed = self.read_scores(Path(path), model)
        con = connect(self.target)
        try:
            return store_scores(con, parsed)
        finally:
            con.close()

    def import_predictions(self, path: Path | str, model: str | None = None) -> list[PredictionImport]:
        """Validate predictions against the task data, then replace them per (model, task)."""
        path = Path(path)
        if not path.exists():
            raise GlcError("file not found", location=str(path))
        project = self.compile(write=False).project
        con = connect(self.target)
        try:
            imports = read_predictions(con, path, project, model)
            store_predictions(con, imports)
        finally:
            con.close()
        return imports

    def export_predictions(self, out: Path | str, model: str, *, form: str = "list", make_zip: bool = True,
                           select: list[str] | None = None, allow_missing: bool = False,
                           force: bool = False) -> ExportResult:
        """Write a model's predictions as General-Bench prediction.json files under ``out`` (see glc.export)."""
        compiled = self.compile(write=False)
        con = connect(self.target)
        try:
            ensure_store(con)
            selection = parse_selection(select, compiled.project, sorted({*stored_models(con), model})) \
                if select else None
            return export_predictions(con, compiled, model, out, form=form, make_zip=make_zip, selection=selection,
                                      allow_missing=allow_missing, force=force)
        finally:
            con.close()

    def bootstrap(self, replicates: int | None = None, seed: int | None = None) -> int:
        """Build, then store bootstrap intervals of every Level score in ``level_intervals``."""
        from glc.bootstrap import bootstrap

        self.run()
        compiled = self.compile(write=False)
        spec = compiled.project.benchmark.bootstrap
        spec = spec.model_copy(update={k: v for k, v in (("replicates", replicates), ("seed", seed))
                                       if v is not None})
        con = connect(self.target)
        try:
            return bootstrap(con, compiled, spec)
        finally:
            con.close()

    def intervals(self, variant: str | None = None, scope: str | None = None) -> dict[str, tuple]:
        project = self.compile(write=False).project
        level, board = project.board(variant, scope)
        v, s = level.name, board.name
        con = connect(self.target, read_only=True)
        try:
            return leaderboard_intervals(con, v, s)
        finally:
            con.close()

    def leaderboard(self, variant: str | None = None, scope: str | None = None) -> list[dict[str, Any]]:
        project = self.compile(write=False).project
        level, board = project.board(variant, scope)
        v, s = level.name, board.name
        con = connect(self.target)
        try:
            tables = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
            if "leaderboard" not in tables:
                raise GlcError("no leaderboard has been built yet", location=self.target.path,
                               hint="run `glc run` first")
            return leaderboard_rows(con, v, s)
        finally:
            con.close()

    def ls(self, kind: str, select: list[str] | None = None) -> list[dict[str, Any]]:
        """Rows describing the project's tasks, metrics, levels, scopes, models or nodes."""
        compiled = self.compile(write=False)
        if kind not in KINDS:
            raise GlcError(f"unknown kind '{kind}'", hint="one of: " + ", ".join(KINDS))
        models: list[str] = []
        if Path(self.target.path).exists() or self.target.in_memory:
            con = connect(self.target)
            try:
                ensure_store(con)
                models = stored_models(con)
            finally:
                con.close()
        selection = parse_selection(select, compiled.project, models) if select else None
        return list_rows(compiled, kind, selection, models)

    def lineage(self, ref: str) -> ColumnLineage:
        """Column lineage of TABLE.COLUMN down to source tables."""
        return column_lineage(self.compile(write=False), ref)

    def explain(self, model: str, variant: str | None = None, scope: str | None = None) -> dict[str, Any]:
        """Why ``model`` has its level under a variant and scope (see glc.explain)."""
        project = self.compile(write=False).project
        level, board = project.board(variant, scope)
        con = connect(self.target, read_only=True)
        try:
            return explain_level(con, model, level, board)
        finally:
            con.close()

    def diff(self, a: str, b: str, variant: str | None = None, scope: str | None = None) -> list[dict[str, Any]]:
        """Compare two variants, scopes or stored runs (see glc.diff)."""
        from glc.diff import diff, parse_side

        project = self.compile(write=False).project
        level, board = project.board(variant, scope)
        v, s = level.name, board.name
        con = connect(self.target, read_only=True)
        try:
            return diff(con, parse_side(a, project, con, v, s), parse_side(b, project, con, v, s))
        finally:
            con.close()

    def report(self, out: Path | str | None = None) -> Path:
        """Build, then write the static HTML report (default: target/report/index.html)."""
        from glc.report import build_report

        result = self.run()
        compiled = self.compile(write=False)
        con = connect(self.target, read_only=True)
        try:
            return build_report(con, compiled, result.tests.data, Path(out) if out else self.target_dir / "report")
        finally:
            con.close()

    def docs(self, out: Path | str | None = None) -> Path:
        """Write the browsable catalog (default: target/docs/index.html), column docs included."""
        from glc.compiler.column_docs import load_column_docs
        from glc.docs import build_docs

        compiled = self.compile()
        return build_docs(compiled, Path(out) if out else self.target_dir / "docs",
                          column_docs=load_column_docs(self.root))

    def show(self, node: str, dialect: str | None = None) -> str:
        """The compiled SQL of a node or data test; a documented model's column docs (the YAML
        beside its template) come as ``--`` comment lines after the SQL's header comments.
        ``dialect`` (duckdb, spark): the node's SQL as that engine runs it (compiler/dialects.py)."""
        from glc.compiler.column_docs import annotate_sql, docs_for, load_column_docs

        compiled = self.compile()
        for t in compiled.data_tests:
            if t.name == node:
                return t.sql
        found = compiled.node(node)
        if dialect is not None and dialect != "duckdb":
            from glc.compiler.dialects import translate_nodes

            found = replace(found, sql=translate_nodes(compiled.nodes, dialect)[found.name].sql)
        docs = docs_for(found, load_column_docs(self.root))
        return annotate_sql(found.sql, docs) if docs else found.sql
