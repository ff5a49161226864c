"""The ``glc`` command line: thin wrappers over ``Workspace``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from glc.compiler.errors import GlcError
from glc.leaderboard import FORMATS, render

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="glc: the General-Level Compiler.")
import_app = typer.Typer(no_args_is_help=True, help="Import results into the store.")
catalog_app = typer.Typer(no_args_is_help=True, help="Maintain the task catalog specs.")
app.add_typer(import_app, name="import")
app.add_typer(catalog_app, name="catalog")

export_app = typer.Typer(no_args_is_help=True, help="Export results from the store.")
app.add_typer(export_app, name="export")

sota_app = typer.Typer(no_args_is_help=True, help="Measure and record the specialist SoTA of a benchmark.")
app.add_typer(sota_app, name="sota")

# exit statuses (documented in `glc run --help` and the README): 1 a data test failed, 2 bad input
# or a refused spec, 3 inference failed for some instances or jobs, 70 an internal error
EXIT_INFERENCE_FAILED = 3
EXIT_INTERNAL = 70

_state: dict[str, object] = {"project_dir": Path("."), "target": None, "debug": False, "benchmark": None}

ProjectDir = Annotated[Path, typer.Option("--project-dir", help="Project root (holds specs/, sql/, profiles.yml).")]
TargetOpt = Annotated[str | None, typer.Option("--target", help="profiles.yml target (default: $GLC_TARGET).")]
BenchmarkOpt = Annotated[str | None, typer.Option(
    "--benchmark", help="Benchmark of specs/benchmarks/ (default: $GLC_BENCHMARK, else the one marked default).")]
SelectOpt = Annotated[list[str] | None, typer.Option(
    help="Only these: model:NAME, task:ID, modality:M, paradigm:P, metric:K (repeatable).")]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="Run inference on at most N instances per task.")]


DataOpt = Annotated[Path | None, typer.Option(
    "--data", help="Data folder of the benchmark (a General-Bench download); default: $GLC_DATA, else "
                   "benchmark_data: in profiles.yml.")]


@app.callback()
def _root(project_dir: ProjectDir = Path("."), target: TargetOpt = None, benchmark: BenchmarkOpt = None,
          data: DataOpt = None,
          debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    _state.update(project_dir=project_dir, target=target, debug=debug, benchmark=benchmark)
    if data is not None:
        if not data.is_dir():
            raise GlcError(f"--data {data}: no such folder", hint="point it at the folder holding Image/, Video/, "
                           "Audio/, 3d/ and NLP/ of a General-Bench download")
        from glc.profiles import ENV_DATA

        os.environ[ENV_DATA] = str(data.resolve())  # the user's own choice: read like a data root


def _ws():
    from glc.workspace import Workspace

    return Workspace(_state["project_dir"], _state["target"], _state["benchmark"])


@app.command()
def compile(select: SelectOpt = None, limit: LimitOpt = None,
            retry_failed: Annotated[bool, typer.Option(help="Count failed instances as to do.")] = False) -> None:
    """Validate specs; write target/manifest.json, target/compiled/*.sql and target/jobs.json."""
    ws = _ws()
    compiled = ws.compile()
    p = compiled.project
    typer.echo(f"compiled benchmark '{p.benchmark.name}': {len(p.tasks)} tasks, {len(p.metrics)} metrics, "
               f"{len(p.levels)} level variants, {len(p.scopes)} scopes -> {len(compiled.nodes)} SQL models, "
               f"{len(compiled.data_tests)} data tests")
    if p.binding is not None:
        from glc.listing import describe_binding

        typer.echo(describe_binding(p))
    if p.models:
        from glc.progress import describe_plan

        plan = ws.plan(select=select, limit=limit, retry_failed=retry_failed)
        typer.echo(describe_plan(plan))
        typer.echo(f"job list: {ws.target_dir / 'jobs.json'}")
    _echo_data_problems(ws)


def _echo_data_problems(ws) -> None:
    """One line per data file that did not load; those tasks sat out, the others ran."""
    from glc.datasets import per_file

    if not ws.data_problems:
        return
    groups = per_file(ws.data_problems)
    typer.echo(f"{len(groups)} task data file(s) did not load (their tasks were left out; nothing stored "
               "before was lost):", err=True)
    for _, first, n in groups:
        more = f" (+{n - 1} more in this file)" if n > 1 else ""
        typer.echo(f"  {first.where}: {first.message}{more}" + (f"\n    hint: {first.hint}" if first.hint else ""),
                   err=True)


@app.command()
def run(variant: Annotated[str | None, typer.Option(help="Level variant to print.")] = None,
        scope: Annotated[str | None, typer.Option(help="Scope to print.")] = None,
        fmt: Annotated[str, typer.Option("--format", help="table, json, csv or markdown.")] = "table",
        full_refresh: Annotated[bool, typer.Option(help="Rebuild every model from scratch.")] = False,
        select: SelectOpt = None, limit: LimitOpt = None,
        retry_failed: Annotated[bool, typer.Option(help="Run instances that failed before again.")] = False,
        infer: Annotated[bool, typer.Option(help="Run missing inference (--no-infer: score what is stored).")] = True,
) -> None:
    """Run missing inference, build the SQL DAG in DuckDB, run the data tests, print the leaderboard.

    Exit status: 0 all good; 1 a data test failed; 2 bad input (nothing of it stored); 3 some
    instances or jobs failed (the boards rest on what succeeded); 70 an internal error.
    """
    from glc.progress import RichProgress

    ws = _ws()
    with RichProgress() as progress:
        result = ws.run(full_refresh=full_refresh, select=select, limit=limit, retry_failed=retry_failed,
                        infer=infer, progress=progress)
    if result.inference is not None:
        typer.echo(result.inference.describe())
    _echo_data_problems(ws)
    b = result.build
    parts = sum(b.partitions_built.values())
    typer.echo(f"built {len(b.built)} models ({len(b.skipped)} up to date, {parts} prediction partitions scored) "
               f"in {b.seconds:.2f}s (run {b.run_id}) into {ws.target.path}")
    _print_board(ws, variant, scope, fmt)
    typer.echo(result.tests.describe())
    if result.tests.failed:
        raise typer.Exit(1)
    inf = result.inference
    if ws.data_problems and not (inf is not None and (inf.failed or inf.job_errors)):
        typer.echo(f"exit status {EXIT_INFERENCE_FAILED}: some task data did not load (see above); the boards "
                   "rest on the tasks that did", err=True)
        raise typer.Exit(EXIT_INFERENCE_FAILED)
    if inf is not None and (inf.failed or inf.job_errors):
        typer.echo(f"exit status {EXIT_INFERENCE_FAILED}: {len(inf.failed)} instance(s) and {len(inf.job_errors)} "
                   "job(s) failed; the boards above rest on what succeeded (see the failures above; "
                   "`glc run --retry-failed` tries them again)", err=True)
        raise typer.Exit(EXIT_INFERENCE_FAILED)


@app.command()
def serve(model: Annotated[str, typer.Option(help="hf text-generation model: bundled alias or folder.")]
          = "smollm2-135m-instruct",
          host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8011,
          max_batch: Annotated[int, typer.Option(min=1, help="Requests generated together.")] = 8,
          latency_ms: Annotated[float, typer.Option(min=0, help="Fixed delay added per request.")] = 0.0,
          echo: Annotated[bool, typer.Option(help="Answer with the prompt, no model (load tests).")] = False,
          max_queue: Annotated[int, typer.Option(min=1, help="Requests admitted at once; more get HTTP 429.")] = 64,
          max_prompt_chars: Annotated[int, typer.Option(min=1, help="Longer prompts get HTTP 413.")] = 16_000,
          ) -> None:
    """Serve an OpenAI-compatible /v1/chat/completions endpoint over an hf model."""
    from glc.runners.serve import ChatBackend, make_server

    backend = ChatBackend(None if echo else model, max_batch=max_batch, latency_ms=latency_ms, max_queue=max_queue,
                          max_prompt_chars=max_prompt_chars)
    server = make_server(backend, host, port)
    typer.echo(f"serving {backend.model_name} on http://{host}:{server.server_address[1]}/v1", err=True)
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


@sota_app.command("record")
def sota_record(write: Annotated[bool, typer.Option(help="Write the values into the task specs.")] = True) -> None:
    """Set each task's SoTA to the best score of the specialist models (role: specialist) in the store."""
    rows = _ws().record_sota(write=write)
    for r in rows:
        typer.echo(f"{r['task_id']}: {r['old']} -> {r['value']} ({r['model']}, {r['n_instances']} instances)")


@app.command()
def test(data: Annotated[bool, typer.Option(help="Run the data tests.")] = True,
         unit: Annotated[bool, typer.Option(help="Run the unit tests of SQL models.")] = True) -> None:
    """Run data tests (on the built tables) and unit tests (declared in specs/tests)."""
    report = _ws().test(data=data, unit=unit)
    typer.echo(report.describe())
    if report.failed:
        raise typer.Exit(1)


@import_app.command("scores")
def import_scores(file: Annotated[Path, typer.Argument(help="Workbook (.xlsx) or table (.csv/.parquet).")],
                  model: Annotated[str | None, typer.Option(help="Import only this model column.")] = None) -> None:
    """Import task scores; re-importing a model replaces its scores atomically."""
    summary = _ws().import_scores(file, model)
    typer.echo(summary.describe())


@import_app.command("predictions")
def import_predictions(
    path: Annotated[Path, typer.Argument(help="General-Bench folder / prediction.json, or .jsonl/.parquet/.csv.")],
    model: Annotated[str | None, typer.Option(help="The model the predictions belong to.")] = None,
) -> None:
    """Import instance-level predictions; re-importing replaces a model's rows for those tasks."""
    for imp in _ws().import_predictions(path, model):
        typer.echo(imp.describe())


@export_app.command("predictions")
def export_predictions(
    out: Annotated[Path, typer.Argument(help="New (or empty) folder for the prediction tree.")],
    model: Annotated[str, typer.Option(help="The model whose predictions are exported.")],
    fmt: Annotated[str, typer.Option("--format", help="Layout: general-bench.")] = "general-bench",
    form: Annotated[str, typer.Option(help="list: [{id, prediction}] (the official scorer's); document: "
                                           "{task, skill, type, data}.")] = "list",
    zip_: Annotated[bool, typer.Option("--zip/--no-zip", help="Also write OUT.zip beside OUT.")] = True,
    select: SelectOpt = None,
    allow_missing: Annotated[bool, typer.Option(help="Write even when instances lack a prediction (listed in "
                                                     "manifest.json).")] = False,
    force: Annotated[bool, typer.Option(help="Replace a previous export in OUT (only files its manifest "
                                             "lists).")] = False,
) -> None:
    """Write a model's predictions as General-Bench prediction.json files, a manifest and a zip.

    Exit status: 0 written; 1 instances lack a prediction (listed; nothing written; see
    --allow-missing); 2 bad input or an output folder in the way.
    """
    from glc.export import IncompleteExport

    if fmt != "general-bench":
        raise GlcError(f"unknown export format '{fmt}'", hint="--format general-bench")
    try:
        result = _ws().export_predictions(out, model, form=form, make_zip=zip_, select=select,
                                          allow_missing=allow_missing, force=force)
    except IncompleteExport as exc:
        typer.echo(f"Error: {exc.format()}", err=True)
        raise typer.Exit(1) from None
    typer.echo(result.describe())


@app.command()
def leaderboard(variant: Annotated[str | None, typer.Option(help="Level variant (default from specs).")] = None,
                scope: Annotated[str | None, typer.Option(help="Scope (default from specs).")] = None,
                fmt: Annotated[str, typer.Option("--format", help="table, json, csv or markdown.")] = "table") -> None:
    """Print one leaderboard from the built level_scores."""
    _print_board(_ws(), variant, scope, fmt)


def _print_board(ws, variant: str | None, scope: str | None, fmt: str) -> None:
    if fmt not in FORMATS:
        raise GlcError(f"unknown format '{fmt}'", hint="one of: " + ", ".join(FORMATS))
    rows = ws.leaderboard(variant, scope)
    if fmt == "table":
        p = ws.compile(write=False).project
        typer.echo(f"leaderboard: variant {variant or p.default_level.name}, scope {scope or p.default_scope.name}")
    intervals = ws.intervals(variant, scope) if fmt in ("table", "markdown") else None
    typer.echo(render(rows, fmt, intervals))


@app.command()
def show(node: Annotated[str, typer.Argument(help="A SQL model or data test name.")],
         dialect: Annotated[str | None, typer.Option(
             help="Print the SQL as this engine runs it: duckdb (as compiled) or spark.")] = None) -> None:
    """Print the compiled SQL of a node (highlighted on a terminal, plain when piped); a documented
    model's column docs are -- comments above the SQL."""
    sql = _ws().show(node, dialect)
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.syntax import Syntax

        Console().print(Syntax(sql, "sql", theme="ansi_dark", word_wrap=False))
    else:
        typer.echo(sql, nl=False)


@app.command("ls")
def ls_(kind: Annotated[str, typer.Argument(help="tasks, metrics, levels, scopes, models or nodes.")] = "tasks",
        select: Annotated[list[str] | None, typer.Option(
            help="Filter: model:NAME, task:ID, modality:M, paradigm:P, metric:K (repeatable).")] = None) -> None:
    """List what the project holds."""
    from glc.listing import render_rows

    typer.echo(render_rows(_ws().ls(kind, select)))


@app.command()
def lineage(ref: Annotated[str, typer.Argument(help="TABLE.COLUMN, e.g. level_scores.level_4.")],
            fmt: Annotated[str, typer.Option("--format", help="tree or json.")] = "tree") -> None:
    """Column-level lineage of a result down to predictions, imported scores and SoTA."""
    import json

    tree = _ws().lineage(ref)
    typer.echo(json.dumps(tree.to_json(), indent=2) if fmt == "json" else tree.render())


@app.command()
def explain(model: Annotated[str, typer.Argument(help="A model in level_scores.")],
            variant: Annotated[str | None, typer.Option(help="Level variant (default from specs).")] = None,
            scope: Annotated[str | None, typer.Option(help="Scope (default from specs).")] = None,
            fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text") -> None:
    """Why a model has its level: groups, formulas with its numbers, what would move it up."""
    import json

    from glc.explain import render as render_explain

    info = _ws().explain(model, variant, scope)
    typer.echo(json.dumps(info, indent=2, default=str) if fmt == "json" else render_explain(info))


@app.command("diff")
def diff_(a: Annotated[str, typer.Argument(help="variant:NAME, scope:NAME or run:ID|latest|previous.")],
          b: Annotated[str, typer.Argument(help="The other side, same forms.")],
          variant: Annotated[str | None, typer.Option(help="Variant for sides that name none.")] = None,
          scope: Annotated[str | None, typer.Option(help="Scope for sides that name none.")] = None,
          fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text") -> None:
    """Which models change level or score between two variants, scopes or runs, and why."""
    import json

    from glc.diff import render as render_diff

    rows = _ws().diff(a, b, variant, scope)
    typer.echo(json.dumps(rows, indent=2, default=str) if fmt == "json" else render_diff(rows))


@app.command()
def report(out: Annotated[Path | None, typer.Option(help="Folder for the report (default target/report).")] = None,
           ) -> None:
    """Write a static HTML report that works offline (leaderboards, charts, tasks, warnings)."""
    typer.echo(f"wrote {_ws().report(out)}")


@app.command()
def docs(out: Annotated[Path | None, typer.Option(help="Folder for the docs (default target/docs).")] = None) -> None:
    """Write a browsable catalog: tasks, metrics with their normalization curves, levels, column docs, the DAG."""
    typer.echo(f"wrote {_ws().docs(out)}")


@app.command("bootstrap")
def bootstrap_(replicates: Annotated[int | None, typer.Option(help="Replicates (default from specs).")] = None,
               seed: Annotated[int | None, typer.Option(help="Random seed (default from specs).")] = None) -> None:
    """Bootstrap confidence intervals of every Level score (instances resampled within tasks)."""
    n = _ws().bootstrap(replicates, seed)
    typer.echo(f"stored intervals for {n} (model, variant, scope) rows in level_intervals")


@catalog_app.command("generate")
def catalog_generate(
    source: Annotated[Path, typer.Option("--from", help="tasks.csv or the official sota_result.xlsx.")] = Path(
        "data/general-bench/tasks.csv"),
    out: Annotated[Path, typer.Option(help="Folder for the task specs.")] = Path("specs/tasks"),
) -> None:
    """(Re)generate one task spec per General-Bench task from the catalog."""
    from glc.compiler.catalog import read_catalog_csv, read_sota_workbook, write_task_specs
    from glc.compiler.loader import load_specs

    root = Path(_state["project_dir"])  # type: ignore[arg-type]
    src = source if source.is_absolute() else root / source
    dst = out if out.is_absolute() else root / out
    if src.suffix.lower() == ".xlsx":
        metrics = load_specs(root, root / "specs").metrics
        aliases = {a: m.spec.name for m in metrics for a in m.spec.aliases}
        rows = read_sota_workbook(src, aliases)
    else:
        rows = read_catalog_csv(src)
    n = write_task_specs(rows, dst)
    typer.echo(f"wrote {n} task specs under {dst}")


def main() -> None:
    debug = "--debug" in sys.argv or os.environ.get("GLC_DEBUG") == "1"
    try:
        code = app(standalone_mode=False)
    except GlcError as exc:
        if debug:
            raise
        typer.echo(f"Error: {exc.format()}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("Aborted.", err=True)
        sys.exit(130)
    except Exception as exc:  # usage errors of typer's click; anything else is reported, not dumped
        exit_code = getattr(exc, "exit_code", None)
        if hasattr(exc, "show") and isinstance(exit_code, int):
            exc.show()
            sys.exit(exit_code)
        if debug:
            raise
        import duckdb

        from glc.importers.safety import clip

        if isinstance(exc, duckdb.Error):
            from glc.store import open_hint

            typer.echo(f"Error: database error: {clip(str(exc), 600)}\n  hint: {open_hint(exc)}", err=True)
            sys.exit(2)
        typer.echo(f"Error: internal error ({type(exc).__name__}): {clip(str(exc), 600)}\n  hint: run again with "
                   "--debug for the traceback and report it if the input was valid; nothing of the failed step "
                   "was stored", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)
