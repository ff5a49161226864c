"""``Workspace``: the library facade behind every ``glc`` command.

It knows the project root and the profile target, compiles specs, builds the DAG, runs
tests, imports scores and reads leaderboards. The CLI only parses flags, calls one method
and prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glc.compiler.errors import GlcError
from glc.compiler.loader import active_benchmark
from glc.compiler.plan import CompiledProject, write_artifacts
from glc.profiles import Target, load_target

# Each command imports what it uses (DuckDB, sqlglot, Arrow, the runners): a command that finds
# its compiled project in the cache and nothing to rebuild starts in a fraction of a second.
if TYPE_CHECKING:
    from glc.analysis.leaderboard import Intervals
    from glc.compiler.lineage import ColumnLineage
    from glc.compiler.resolve import Project
    from glc.engine.build import BuildResult
    from glc.engine.data_tests import DataTestResult
    from glc.engine.model_admin import ModelChange
    from glc.engine.selection import Selection
    from glc.engine.unit_tests import UnitTestResult
    from glc.execute.inference import Plan, Progress, RunSummary
    from glc.importers.predictions import PredictionImport
    from glc.importers.scores import ImportSummary, ParsedScores, Problem
    from glc.site.export import ExportResult


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
    orphans: list[str] = field(default_factory=list)  # models with runner-made results but no spec
    results: dict[str, Any] = field(default_factory=dict)  # scores and levels as built (glc.engine.runlog.Collected)
    unrouted: list[tuple[str, str]] = field(default_factory=list)  # (model, task) no route serves: scored 0
    scored_models: list[str] = field(default_factory=list)  # the models of results["scores"] (task_scores)
    # the result tables' build states (runlog.result_states); results holds the earlier run's file
    # (runlog.SameRows) of a table not built since
    result_states: dict[str, str] = field(default_factory=dict)


class Workspace:
    """A glc project on disk plus the results target it writes to."""

    def __init__(self, root: Path | str = ".", target: str | None = None, benchmark: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.requested_benchmark = benchmark
        self.benchmark = active_benchmark(self.root, benchmark)
        self.target: Target = load_target(self.root, target, self.benchmark)
        self.target_dir = self.root / "target"
        self._compiled: CompiledProject | None = None
        self._written: CompiledProject | None = None  # the compile whose artifacts target/ holds
        self.data_problems: list[Problem] = []  # task data that did not load (those tasks sat out)
        # tasks whose data is gone (task id, still in the project): their stored instances were removed
        self.data_removed: list[tuple[str, bool]] = []
        # tasks whose data did not load (task id, whether instances loaded before are stored): no
        # inference runs for them; those with earlier instances are scored from them
        self.data_failed: list[tuple[str, bool]] = []
        # predictions the last run pointed at this project's own copy of their generated file (the project
        # was moved or copied: the paths they held lead nowhere)
        self.media_rebased = 0
        # (model, task) jobs the last plan or run left out: a prompt fails on one of the task's instances
        self.prompt_failures: list[Any] = []
        self.sota_skipped: list[dict[str, Any]] = []  # tasks the last record_sota left alone, with why
        self._keep_store = False  # inside keep_store(): run and board share one connection
        self._store_con: Any = None

    @contextmanager
    def keep_store(self) -> Iterator[None]:
        """Within: ``run`` and ``board`` use one store connection, opened when the first needs it and
        closed on the way out (``glc run`` builds and prints its board: opening the store again, after the
        close wrote its checkpoint, costs as much as reading the board)."""
        self._keep_store = True
        try:
            yield
        finally:
            self._keep_store = False
            con, self._store_con = self._store_con, None
            if con is not None:
                con.close()

    def _open_store(self) -> tuple[Any, bool]:
        """A store connection and whether the caller closes it (not the one ``keep_store`` keeps)."""
        from glc.engine.store import connect

        if not self._keep_store:
            return connect(self.target), True
        if self._store_con is None:
            self._store_con = connect(self.target)
        return self._store_con, False

    def compile(self, *, write: bool = True) -> CompiledProject:
        """Compile specs and templates; write ``target/manifest.json`` and ``target/compiled/``."""
        if self._compiled is None:
            from glc.compiler.project_cache import cached_compile

            self._compiled = cached_compile(self.root, benchmark=self.requested_benchmark)
        if write and self._written is not self._compiled:  # once per compile (glc compile and run ask again)
            from glc.compiler.project_cache import artifacts_written, note_artifacts

            if not artifacts_written(self._compiled, self.target_dir):  # else target/ holds them as written
                write_artifacts(self._compiled, self.target_dir)
                note_artifacts(self._compiled, self.target_dir)
            self._written = self._compiled
        return self._compiled

    def _project(self) -> Project:
        """The resolved specs: those of the compiled project when this workspace or the compile cache
        has one, else the specs loaded and resolved alone (importers read specs, not SQL: nothing is
        rendered or qualified for them)."""
        if self._compiled is None:
            from glc.compiler.project_cache import cached_only

            self._compiled = cached_only(self.root, benchmark=self.requested_benchmark)
        if self._compiled is not None:
            return self._compiled.project
        from glc.compiler.resolve import load_project

        return load_project(self.root, benchmark=self.requested_benchmark)

    def _selection(self, con: Any, compiled: CompiledProject, select: list[str] | None) -> Selection | None:
        if not select:
            return None
        from glc.engine.selection import parse_selection
        from glc.engine.store import ensure_store, stored_models

        ensure_store(con)
        models = stored_models(con)
        models += [m.spec.name for m in compiled.project.models]
        return parse_selection(select, compiled.project, sorted(set(models)))

    def plan(self, *, select: list[str] | None = None, limit: int | None = None,
             retry_failed: bool = False, outline: bool = False) -> Plan:
        """The inference jobs that are missing or stale; written to ``target/jobs.json``. ``outline``:
        to report only (``glc compile``), counted from the keys earlier plans remembered where they can
        be, without building requests (``plan_jobs``)."""
        from glc.engine.store import connect, ensure_store
        from glc.execute.datasets import sync_instances
        from glc.execute.inference import plan_jobs, write_job_list

        compiled = self.compile()
        con = connect(self.target)
        try:
            ensure_store(con)
            self.data_failed = []  # this load's: a task that loads again is planned again
            sync_instances(con, compiled.project, problems=self.data_problems, removed=self.data_removed,
                           failed=self.data_failed)
            plan = plan_jobs(con, compiled.project, self.target_dir, selection=self._selection(con, compiled, select),
                             limit=limit, retry_failed=retry_failed, outline=outline,
                             left_out={tid for tid, _ in self.data_failed})
            self.prompt_failures = plan.prompt_problems
        finally:
            con.close()
        write_job_list(plan, self.target_dir / "jobs.json")
        return plan

    def run(self, *, full_refresh: bool = False, select: list[str] | None = None, limit: int | None = None,
            retry_failed: bool = False, infer: bool = True, progress: Progress | None = None,
            batch_size: int = 8, run_id: str | None = None,
            notify: Callable[[str], None] | None = None) -> RunResult:
        """Compile, load changed task data, run missing inference, build what is stale, run data tests.

        ``notify`` hears each stage after the compile as it starts (the run log and plain progress lines);
        ``run_id`` names the build (default: a new id). A model whose spec says ``missing_route: error``
        and has tasks no route serves stops the run before anything is stored (GlcError listing them).
        """
        from glc.analysis.basis import refuse_unrouted, unrouted
        from glc.engine.data_tests import run_data_tests_on
        from glc.engine.runlog import collect_results, earlier_results, result_states, scored_models
        from glc.engine.store import ensure_store, models_without_spec
        from glc.engine.targets import build_dag
        from glc.execute.datasets import sync_instances

        say = notify or (lambda _text: None)
        compiled = self.compile()
        con, owned = self._open_store()
        inference: RunSummary | None = None
        try:
            ensure_store(con)
            selection = self._selection(con, compiled, select)
            missing = unrouted(compiled.project, selection)
            refuse_unrouted(missing, compiled.project)
            say("loading task data")
            self.data_failed = []  # this load's: a task that loads again is planned again
            sync_instances(con, compiled.project, problems=self.data_problems, removed=self.data_removed,
                           failed=self.data_failed)
            from glc.execute.inference import rebase_generated_media

            self.media_rebased = rebase_generated_media(con, self.target_dir / "media")
            # a metric's evaluator reads imported predictions too, with or without model specs
            if infer and (compiled.project.models or any(t.metric.evaluator for t in compiled.project.tasks)):
                say("planning inference")
                from glc.execute.inference import execute, plan_jobs, write_job_list

                # an outline: the requests of a job whose keys are remembered are built when it runs
                plan = plan_jobs(con, compiled.project, self.target_dir, selection=selection, limit=limit,
                                 retry_failed=retry_failed, outline=True,
                                 left_out={tid for tid, _ in self.data_failed})
                self.prompt_failures = plan.prompt_problems  # execute adds those of judge prompts it meets
                write_job_list(plan, self.target_dir / "jobs.json")
                inference = execute(con, compiled.project, plan, self.target_dir, progress=progress,
                                    retry_failed=retry_failed, batch_size=batch_size)
            say("building the SQL nodes")
            result = build_dag(con, compiled, self.target, full_refresh=full_refresh, selection=selection,
                               run_id=run_id)
            say("running the data tests")
            report = TestReport(data=run_data_tests_on(con, compiled.data_tests, result.unchanged))
            orphans = models_without_spec(con, [m.spec.name for m in compiled.project.models])
            # a DuckDB file's result tables not built again since the last run: that run's files are copied
            states = result_states(con) if self.target.type == "duckdb" and not self.target.in_memory else {}
            results = collect_results(con, earlier_results(self.target.path, states))
            scored = scored_models(con) if "scores" in results else []
        finally:
            if owned:
                con.close()
        return RunResult(result, report, inference, orphans, results, missing, scored, states)

    def record_sota(self, *, write: bool = True) -> list[dict[str, Any]]:
        """Each task's best specialist score (models with role: specialist) from ``task_scores``.

        With ``write``, the value, the model and the date go into the task spec's ``sota:``
        block (only that block's lines change), so the SoTA is data with its source. The tasks it
        leaves alone, with why, are in ``self.sota_skipped`` afterwards.
        """
        from glc.analysis.sota import measured_sota, skipped_sota, write_sota
        from glc.engine.store import connect

        compiled = self.compile(write=False)
        con = connect(self.target)
        try:
            rows = measured_sota(con, compiled.project)
            self.sota_skipped = skipped_sota(con, compiled.project, rows)
        finally:
            con.close()
        if write:
            write_sota(compiled.project, rows)
            self._compiled = None
        return rows

    def test(self, *, data: bool = True, unit: bool = True) -> TestReport:
        """Data tests on the built tables and unit tests of the SQL nodes."""
        from glc.engine.data_tests import run_data_tests
        from glc.engine.store import connect
        from glc.engine.targets import build_dag
        from glc.engine.unit_tests import run_unit_test
        from glc.execute.datasets import sync_instances

        compiled = self.compile()
        report = TestReport()
        if data:
            con = connect(self.target)
            try:
                sync_instances(con, compiled.project, removed=self.data_removed)
                build_dag(con, compiled, self.target)
                report.data = run_data_tests(con, compiled.data_tests)
            finally:
                con.close()
        if unit:
            report.unit = [run_unit_test(compiled, ut) for ut in compiled.project.unit_tests]
        return report

    def read_scores(self, path: Path, model: str | None = None) -> ParsedScores:
        path = Path(path)
        if not path.is_file():
            raise GlcError("file not found", location=str(path))
        project = self._project()
        suffix = path.suffix.lower()
        # each reader imports what it reads with (polars for tables): only the one this file needs
        if suffix in (".xlsx", ".xlsm"):
            from glc.importers.workbook import read_workbook

            return read_workbook(path, project, model)
        if suffix in (".csv", ".parquet"):
            from glc.importers.table_file import read_table

            return read_table(path, project, model)
        raise GlcError(f"unsupported score file type '{suffix}'", location=str(path),
                       hint="import an .xlsx workbook (official layout) or a .csv/.parquet table")

    def import_scores(self, path: Path | str, model: str | None = None) -> ImportSummary:
        """Validate a score file completely, then replace its models' scores in one transaction."""
        return self.import_score_files([Path(path)], model)[0]

    def import_score_files(self, paths: list[Path], model: str | None = None) -> list[ImportSummary]:
        """Validate every file completely, then let them replace their models' scores in one transaction,
        in order (a model in two files keeps the later file's scores): all files or none. Inside
        ``keep_store`` the store connection is the one ``run`` uses."""
        if not paths:
            return []
        from glc.importers.scores import store_all_scores

        parsed = [self.read_scores(Path(p), model) for p in paths]
        con, owned = self._open_store()
        try:
            return store_all_scores(con, parsed)
        finally:
            if owned:
                con.close()

    def import_predictions(self, path: Path | str, model: str | None = None) -> list[PredictionImport]:
        """Validate predictions against the task data, then replace them per (model, task)."""
        from glc.engine.store import connect
        from glc.importers.predictions import read_predictions, refuse_replacing_runs, store_predictions

        path = Path(path)
        if not path.exists():
            raise GlcError("file not found", location=str(path))
        project = self.compile(write=False).project
        con = connect(self.target)
        try:
            imports = read_predictions(con, path, project, model)
            refuse_replacing_runs(con, path, {imp.model: sorted(imp.tasks) for imp in imports})
            store_predictions(con, imports)
        finally:
            con.close()
        return imports

    def import_harness(self, fmt: str, path: Path | str, model: str | None, mapping: Path | str, *,
                       scores: bool = False) -> Any:
        """A harness's logs (lm-eval, lmms-eval, VLMEvalKit, Inspect) as predictions and harness
        scores, mapped by ``mapping`` (see glc.importers.harness); with ``scores``, its task scores too."""
        from glc.engine.store import connect
        from glc.importers.harness import read_harness, store_harness
        from glc.importers.predictions import refuse_replacing_runs

        project = self.compile(write=False).project
        con = connect(self.target)
        try:
            imp = read_harness(con, Path(path), project, fmt, model, Path(mapping), with_scores=scores)
            refuse_replacing_runs(con, Path(path), {imp.model: sorted({t.task_id for t in imp.tasks})})
            store_harness(con, imp)
        finally:
            con.close()
        return imp

    def import_harness_scores(self, fmt: str, path: Path | str, model: str | None, mapping: Path | str) -> Any:
        """Only the task-level scores of a harness's results, as imported scores."""
        from glc.engine.store import connect
        from glc.importers.harness.scores_only import import_task_scores

        project = self.compile(write=False).project
        con = connect(self.target)
        try:
            return import_task_scores(con, Path(path), project, fmt, model, Path(mapping))
        finally:
            con.close()

    def export_predictions(self, out: Path | str, model: str, *, form: str = "list", make_zip: bool = True,
                           select: list[str] | None = None, allow_missing: bool = False,
                           force: bool = False) -> ExportResult:
        """Write a model's predictions as General-Bench prediction.json files under ``out`` (see glc.site.export)."""
        from glc.engine.selection import parse_selection
        from glc.engine.store import connect, ensure_store, stored_models
        from glc.site.export import export_predictions

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
        from glc.analysis.bootstrap import bootstrap
        from glc.engine.store import connect

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

    def leaderboard(self, variant: str | None = None, scope: str | None = None) -> list[dict[str, Any]]:
        return self.board(variant, scope, intervals=False)[0]

    def board(self, variant: str | None = None, scope: str | None = None, *,
              intervals: bool = True) -> tuple[list[dict[str, Any]], Intervals | None]:
        """One board's rows (``leaderboard``) and, with ``intervals``, its bootstrap intervals
        (``intervals``), read through one connection (opening the store is a good part of printing a board)."""
        from glc.analysis.leaderboard import leaderboard_intervals, leaderboard_rows

        project = self.compile(write=False).project
        level, board = project.board(variant, scope)
        v, s = level.name, board.name
        con, owned = self._open_store()
        try:
            tables = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
            if "leaderboard" not in tables:
                raise GlcError("no leaderboard has been built yet", location=self.target.path,
                               hint="run `glc run` first")
            return leaderboard_rows(con, v, s), leaderboard_intervals(con, v, s) if intervals else None
        finally:
            if owned:
                con.close()

    def board_notes(self, rows: list[dict[str, Any]], variant: str | None = None,
                    scope: str | None = None) -> list[str]:
        """What the rows of one board rest on (glc.analysis.basis): each model's spec description, ties the
        level rests on, tasks not attempted, imported scores set aside for predictions, partial coverage, tasks
        without a SoTA; for a board without rows (``scope``, or the default), why it has none."""
        from glc.analysis.basis import (
            board_notes,
            closed_set_tasks,
            empty_board_reason,
            scope_sota_counts,
            set_aside_imports,
        )

        project = self.compile(write=False).project
        descriptions = {m.spec.name: m.spec.description for m in project.models if m.spec.description}
        closed: dict[str, int] = {}  # per model, the board's tasks holding predictions over data without references
        set_aside: dict[str, int] = {}  # per model, the board's tasks whose imported score its predictions replace
        some_missing = any((r.get("n_attempted") or 0) < (r.get("n_tasks") or 0) for r in rows)
        some_predicted = any(r.get("instances_total") for r in rows)  # then an imported score may be set aside
        if rows and not (some_missing or some_predicted):
            return board_notes(rows, variant or project.default_variant.name, descriptions)  # no store query
        con, owned = self._open_store()
        try:
            if not rows:
                return [empty_board_reason(*scope_sota_counts(con, project.board(variant, scope)[1].name))]
            models, task_ids = [r["model"] for r in rows], project.scope(rows[0]["scope"]).task_ids
            if some_missing:
                closed = closed_set_tasks(con, models, task_ids)
            if some_predicted:
                set_aside = set_aside_imports(con, models, task_ids)
        finally:
            if owned:
                con.close()
        return board_notes(rows, variant or project.default_variant.name, descriptions, closed, set_aside)

    def ls(self, kind: str, select: list[str] | None = None) -> list[dict[str, Any]]:
        """Rows describing the project's tasks, metrics, levels, scopes, models or nodes."""
        from glc.cli.listing import KINDS, list_rows
        from glc.engine.selection import parse_selection
        from glc.engine.store import connect, ensure_store, stored_models

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
        from glc.compiler.lineage import column_lineage

        return column_lineage(self.compile(write=False), ref)

    def explain(self, model: str, variant: str | None = None, scope: str | None = None) -> dict[str, Any]:
        """Why ``model`` has its level under a variant and scope (see glc.analysis.explain)."""
        from glc.analysis.explain import explain as explain_level
        from glc.engine.store import connect

        compiled = self.compile(write=False)
        level, board = compiled.project.board(variant, scope)
        con = connect(self.target, read_only=True)
        try:
            return explain_level(con, compiled, model, level, board)
        finally:
            con.close()

    def diff(self, a: str, b: str, variant: str | None = None, scope: str | None = None) -> list[dict[str, Any]]:
        """Compare two variants, scopes or stored runs (see glc.analysis.diff)."""
        from glc.analysis.diff import diff, parse_side
        from glc.engine.store import connect

        compiled = self.compile(write=False)
        project = compiled.project
        level, board = project.board(variant, scope)
        v, s = level.name, board.name
        con = connect(self.target, read_only=True)
        try:
            return diff(con, compiled, parse_side(a, project, con, v, s), parse_side(b, project, con, v, s))
        finally:
            con.close()

    def output_dir(self, kind: str) -> Path:
        """Where ``glc report`` / ``glc docs`` write by default: one folder per benchmark, so the
        report of one benchmark never replaces another's."""
        return self.target_dir / (self.benchmark or "glc") / kind

    def harness_diff(self, model: str) -> list[dict[str, Any]]:
        """Per task: where an imported harness's per-sample scores and glc's disagree (glc.importers.harness)."""
        from glc.engine.store import connect
        from glc.importers.harness.disagreements import harness_diff

        compiled = self.compile(write=False)
        con = connect(self.target, read_only=True)
        try:
            return harness_diff(con, compiled, model)
        finally:
            con.close()

    def report(self, out: Path | str | None = None) -> Path:
        """Build, then write the static HTML report (default: target/<benchmark>/report/index.html)."""
        from glc.engine.store import connect
        from glc.site.report import build_report

        result = self.run()
        compiled = self.compile(write=False)
        con = connect(self.target, read_only=True)
        try:
            return build_report(con, compiled, result.tests.data, Path(out) if out else self.output_dir("report"))
        finally:
            con.close()

    def docs(self, out: Path | str | None = None) -> Path:
        """Write the browsable catalog (default: target/<benchmark>/docs/index.html), column docs included."""
        from glc.compiler.column_docs import load_column_docs
        from glc.site.docs import build_docs

        compiled = self.compile()
        return build_docs(compiled, Path(out) if out else self.output_dir("docs"),
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

    # --- a model's results -------------------------------------------------------------------

    def _declared_models(self) -> tuple[dict[str, str], str | None]:
        """Model name -> the spec file declaring it, and why the specs do not compile (None: they do)."""
        try:
            project = self.compile(write=False).project
        except GlcError as exc:
            from glc.compiler.loader import load_specs

            loaded = load_specs(self.root, self.root / "specs", self.requested_benchmark)
            return {m.spec.name: m.path for m in loaded.models}, exc.message
        return {m.spec.name: m.path for m in project.models}, None

    def _rebuild(self, con: Any, change: ModelChange, problem: str | None, *, full: bool = False) -> None:
        """Build the SQL nodes again after a model's rows changed (they would show it otherwise).

        ``full``: from scratch. A renamed partition has the same inputs as before, and the state
        keys of incremental models hold a partition's inputs, not its model's name: an ordinary
        build would re-score it but keep the downstream tables that still name the old model."""
        from glc.engine.targets import build_dag

        if problem is not None:
            change.not_rebuilt = f"the specs do not compile ({problem}); `glc run` rebuilds them once they do"
            return
        change.rebuilt = build_dag(con, self.compile(write=False), self.target, full_refresh=full).run_id

    def remove_model(self, name: str, *, dry_run: bool = False) -> ModelChange:
        """Remove every stored row of model ``name`` (one transaction), then rebuild the boards."""
        from glc.engine.model_admin import ModelChange, delete_model, model_counts, require_results
        from glc.engine.store import connect

        con = connect(self.target)
        try:
            counts = model_counts(con, name)
            require_results(con, name, counts, self.target.path)
            declared, problem = self._declared_models()
            change = ModelChange("remove", name, counts, self.target.path, dry_run=dry_run, spec=declared.get(name))
            if not dry_run:
                delete_model(con, name)
                self._rebuild(con, change, problem)
        finally:
            con.close()
        return change

    def rename_model(self, old: str, new: str) -> ModelChange:
        """Rename model ``old`` to ``new`` in every store table (one transaction), then rebuild.

        When a spec declares ``new``, predictions it would have made identically under the old name
        get the content key it computes now, so `glc run` does not make them again."""
        from glc.engine.model_admin import (
            IMPORT_BACKEND,
            ModelChange,
            check_model_name,
            model_counts,
            plan_rekey,
            rename_rows,
            require_results,
        )
        from glc.engine.store import connect

        if old == new:
            raise GlcError(f"'{old}' is already the model's name")
        check_model_name(new)
        con = connect(self.target)
        try:
            counts = model_counts(con, old)
            require_results(con, old, counts, self.target.path)
            taken = model_counts(con, new)
            if any(taken.values()):
                raise GlcError(f"model '{new}' already has results ({sum(taken.values()):,} rows)",
                               hint=f"remove them first (`glc rm model {new}`) or pick another name; rows of two "
                                    "models are never merged")
            declared, problem = self._declared_models()
            rekey = None
            if new in declared and problem is None:
                rekey = plan_rekey(con, self.compile(write=False).project, old, new, self.target_dir)
            change = ModelChange("rename", old, counts, self.target.path, new_name=new, spec=declared.get(old),
                                 new_spec=declared.get(new))
            runner_made = con.execute("SELECT count(*) FROM predictions WHERE model = ? AND backend IS DISTINCT "
                                      "FROM ?", [old, IMPORT_BACKEND]).fetchone()
            rename_rows(con, old, new, rekey)
            change.rekeyed = len(rekey.predictions) if rekey else 0
            change.kept_keys = rekey.kept if rekey else int(runner_made[0] if runner_made else 0)
            self._rebuild(con, change, problem, full=True)
        finally:
            con.close()
        return change

    def add_model(self, name: str, *, runner: str, args: dict[str, Any], revision: str = "1",
                  title: str | None = None, force: bool = False) -> Path:
        """Write ``specs/models/<name>.yaml`` with one route (checked like any spec)."""
        from glc.compiler.loader import load_specs
        from glc.engine.model_admin import model_spec_data, write_model_spec

        data = model_spec_data(name, runner=runner, args=args, revision=revision, title=title)
        loaded = load_specs(self.root, self.root / "specs", self.requested_benchmark)
        path = write_model_spec(self.root, data, force=force, declared={m.spec.name: m.path for m in loaded.models})
        self._compiled = None
        return path
