"""Every ``glc`` command as typer parses it (``app``). The commonest command lines run without typer
(``glc.cli._direct``); their commands here call the same functions (``glc.cli.run_command``, ...)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from glc.analysis.leaderboard import FORMATS
from glc.cli import (
    PROGRESS_EVERY_S,
    CommandExit,
    _echo_data_problems,
    _format,
    _harness_args,
    _print_board,
    _state,
    _ws,
    compile_command,
    import_scores_command,
    run_command,
)
from glc.compiler.errors import GlcError
from glc.words import plural

# help in click's plain layout (rich_markup_mode=None): flags read `--x / --no-x`, values show their
# metavar; typer's rich layout adds a type column with `<bool>` for every flag and for --help
PLAIN: dict[str, Any] = {"rich_markup_mode": None, "no_args_is_help": True}
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, help="glc: the General-Level Compiler.",
                  **PLAIN)
import_app = typer.Typer(help="Import results into the store.", **PLAIN)
catalog_app = typer.Typer(help="Maintain the task catalog specs.", **PLAIN)
app.add_typer(import_app, name="import")
app.add_typer(catalog_app, name="catalog")

export_app = typer.Typer(help="Export results from the store.", **PLAIN)
app.add_typer(export_app, name="export")

sota_app = typer.Typer(help="Measure and record the specialist SoTA of a benchmark.", **PLAIN)
app.add_typer(sota_app, name="sota")

rm_app = typer.Typer(help="Remove results from the store.", **PLAIN)
app.add_typer(rm_app, name="rm")
rename_app = typer.Typer(help="Rename results in the store.", **PLAIN)
app.add_typer(rename_app, name="rename")
model_app = typer.Typer(help="Write model specs.", **PLAIN)
app.add_typer(model_app, name="model")


def _plain(command: Any, **options: Any) -> None:
    """Run a command of ``glc.cli`` with the options typer parsed; its exit status as typer's."""
    try:
        command(**options)
    except CommandExit as exc:
        raise typer.Exit(exc.code) from None


ProjectDir = Annotated[Path, typer.Option("--project-dir", metavar="DIR",
                                          help="Project root (holds specs/, sql/, profiles.yml).")]
TargetOpt = Annotated[str | None, typer.Option("--target", metavar="NAME",
                                               help="profiles.yml target (default: $GLC_TARGET).")]
BenchmarkOpt = Annotated[str | None, typer.Option(
    "--benchmark", metavar="NAME",
    help="Benchmark of specs/benchmarks/ (default: $GLC_BENCHMARK, else the one marked default).")]
SelectOpt = Annotated[list[str] | None, typer.Option(
    metavar="SELECTOR", help="Only these: model:NAME, task:ID, modality:M, paradigm:P, metric:K (repeatable).")]
LimitOpt = Annotated[int | None, typer.Option(min=1, metavar="N",
                                              help="Run inference on at most N instances per task.")]
VariantOpt = Annotated[str | None, typer.Option(metavar="NAME", help="Level variant (default from specs).")]
ScopeOpt = Annotated[str | None, typer.Option(metavar="NAME", help="Scope (default from specs).")]


DataOpt = Annotated[Path | None, typer.Option(
    "--data", metavar="DIR", help="Data folder of the benchmark (a General-Bench download); default: $GLC_DATA, "
                                  "else benchmark_data: in profiles.yml.")]


@app.callback()
def _root(project_dir: ProjectDir = Path("."), target: TargetOpt = None, benchmark: BenchmarkOpt = None,
          data: DataOpt = None,
          debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    _state.update(project_dir=project_dir, target=target, debug=debug, benchmark=benchmark)
    if data is not None:
        if not data.is_dir():
            raise GlcError(f"--data {data}: no such folder", hint="point it at the folder holding Image/, Video/, "
                           "Audio/, 3d/ and NLP/ of a General-Bench download")
        from glc.profiles import DATA_FLAG, ENV_DATA

        os.environ[ENV_DATA] = DATA_FLAG["value"] = str(data.resolve())  # the user's own choice: read like a data root


@app.command()
def compile(select: SelectOpt = None, limit: LimitOpt = None,
            retry_failed: Annotated[bool, typer.Option(help="Count failed instances as to do.")] = False) -> None:
    """Validate specs; write target/manifest.json, target/compiled/*.sql and target/jobs.json."""
    _plain(compile_command, select=select, limit=limit, retry_failed=retry_failed)


@app.command()
def run(variant: Annotated[str | None, typer.Option(metavar="NAME", help="Level variant to print.")] = None,
        scope: Annotated[str | None, typer.Option(metavar="NAME", help="Scope to print.")] = None,
        fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="table, json, csv or markdown.")]
        = "table",
        full_refresh: Annotated[bool, typer.Option(help="Rebuild every model from scratch.")] = False,
        select: SelectOpt = None, limit: LimitOpt = None,
        retry_failed: Annotated[bool, typer.Option(help="Run instances that failed before again.")] = False,
        infer: Annotated[bool, typer.Option(help="Run missing inference (--no-infer: score what is stored).")] = True,
        progress_every: Annotated[float, typer.Option(
            min=1, metavar="SECONDS", help="Seconds between plain progress lines (printed when stderr is not a "
                                           "terminal, and written to the run log).")] = PROGRESS_EVERY_S,
        scores: Annotated[list[Path] | None, typer.Option(
            "--scores", metavar="FILE", help="Import this score file first, as glc import scores does (a workbook, "
                                             "or a CSV/Parquet table naming its models; repeatable). Every file is "
                                             "checked first, then all are stored at once; a refused one stops the "
                                             "run.")] = None,
) -> None:
    """Run missing inference, build the SQL DAG in DuckDB, run the data tests, print the leaderboard.

    Each run keeps target/runs/<run id>/log.txt (what it printed, with timestamped progress) and
    results.json (models, tasks, spec fingerprint, versions, timings) with the run's scores and levels
    beside it (scores.parquet, levels.parquet).

    Exit status: 0 all good; 1 a data test failed; 2 bad input (nothing of it stored); 3 some
    instances or jobs failed (the boards rest on what succeeded); 70 an internal error.
    """
    _plain(run_command, variant=variant, scope=scope, fmt=fmt, full_refresh=full_refresh, select=select,
           limit=limit, retry_failed=retry_failed, infer=infer, progress_every=progress_every, scores=scores)


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
    from glc.analysis.sota import describe_skipped

    ws = _ws()
    rows = ws.record_sota(write=write)
    for r in rows:
        old = "none yet" if r["old"] is None else r["old"]
        typer.echo(f"{r['task_id']}: {old} -> {r['value']} ({r['model']}, {plural(r['n_instances'], 'instance')})")
    if ws.sota_skipped:
        typer.echo(describe_skipped(ws.sota_skipped))


@app.command()
def test(data: Annotated[bool, typer.Option(help="Run the data tests.")] = True,
         unit: Annotated[bool, typer.Option(help="Run the unit tests of SQL nodes.")] = True) -> None:
    """Run data tests (on the built tables) and unit tests (declared in specs/tests)."""
    ws = _ws()
    report = ws.test(data=data, unit=unit)
    _echo_data_problems(ws)  # tasks whose data is gone: their instances left the store
    typer.echo(report.describe())
    if report.failed:
        raise typer.Exit(1)


FromOpt = Annotated[str | None, typer.Option(
    "--from", help="A harness's logs: lm-eval, lmms-eval, vlmevalkit or inspect (docs/interop.md).")]
MapOpt = Annotated[Path | None, typer.Option("--map", help="With --from: MAP.yaml, the harness's tasks -> glc tasks.")]


@import_app.command("scores")
def import_scores(file: Annotated[Path, typer.Argument(help="Workbook (.xlsx) or table (.csv/.parquet); with "
                                                           "--from, the harness's results.")],
                  model: Annotated[str | None, typer.Option(help="Import only this model column.")] = None,
                  fmt: FromOpt = None, mapping: MapOpt = None) -> None:
    """Import task scores; re-importing a model replaces its scores atomically."""
    _plain(import_scores_command, file=file, model=model, fmt=fmt, mapping=mapping)


@import_app.command("predictions")
def import_predictions(
    path: Annotated[Path, typer.Argument(help="General-Bench folder / prediction.json, or .jsonl/.parquet/.csv.")],
    model: Annotated[str | None, typer.Option(help="The model the predictions belong to.")] = None,
    fmt: FromOpt = None, mapping: MapOpt = None,
    scores: Annotated[bool, typer.Option("--scores", help="With --from: also the task scores the mapping names "
                                                          "(score:) as imported scores.")] = False,
) -> None:
    """Import instance-level predictions; re-importing replaces a model's rows for those tasks."""
    if _harness_args(fmt, mapping):
        typer.echo(_ws().import_harness(fmt, path, model, mapping, scores=scores).describe())
        return
    if scores:
        raise GlcError("--scores goes with --from", hint="import a score file with `glc import scores FILE`")
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
    from glc.site.export import IncompleteExport

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
def leaderboard(variant: VariantOpt = None, scope: ScopeOpt = None,
                fmt: Annotated[str, typer.Option("--format", metavar="FORMAT",
                                                 help="table, json, csv or markdown.")] = "table") -> None:
    """Print one leaderboard from the built level_scores."""
    _format(fmt, FORMATS)
    ws = _ws()
    with ws.keep_store():  # the board and its notes read one store connection
        _print_board(ws, variant, scope, fmt)


@app.command()
def show(node: Annotated[str, typer.Argument(help="A SQL node or data test name.")],
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
            help="Filter: model:NAME, task:ID, modality:M, paradigm:P, metric:K (repeatable).")] = None,
        details: Annotated[bool, typer.Option(
            help="metrics: how each is computed and its conventions (choices, differences from the reference).")]
        = False) -> None:
    """List what the project holds."""
    from glc.cli.listing import render_metric_details, render_rows

    if details:
        if kind != "metrics":
            raise typer.BadParameter("--details lists metrics only")
        typer.echo(render_metric_details(_ws().compile(write=False)))
        return
    typer.echo(render_rows(_ws().ls(kind, select)))


@app.command()
def lineage(ref: Annotated[str, typer.Argument(help="TABLE.COLUMN, e.g. level_scores.level_4.")],
            fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="tree or json.")] = "tree") -> None:
    """Column-level lineage of a result down to predictions, imported scores and SoTA."""
    import json

    _format(fmt, ("tree", "json"))
    tree = _ws().lineage(ref)
    typer.echo(json.dumps(tree.to_json(), indent=2) if fmt == "json" else tree.render())


@app.command()
def explain(model: Annotated[str, typer.Argument(help="A model in level_scores.")],
            variant: VariantOpt = None, scope: ScopeOpt = None,
            fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="text or json.")] = "text") -> None:
    """Why a model has its level: groups, formulas with its numbers, what would move it up."""
    import json

    from glc.analysis.explain import render as render_explain

    _format(fmt, ("text", "json"))

    info = _ws().explain(model, variant, scope)
    typer.echo(json.dumps(info, indent=2, default=str) if fmt == "json" else render_explain(info))


@app.command("diff")
def diff_(a: Annotated[str, typer.Argument(help="variant:NAME, scope:NAME or run:ID|latest|previous; or "
                                              "harness:MODEL alone.")],
          b: Annotated[str | None, typer.Argument(help="The other side, same forms.")] = None,
          variant: Annotated[str | None, typer.Option(metavar="NAME", help="Variant for sides that name none.")]
          = None,
          scope: Annotated[str | None, typer.Option(metavar="NAME", help="Scope for sides that name none.")] = None,
          fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="text or json.")] = "text") -> None:
    """Which models change level or score between two variants, scopes or runs, and why; with
    harness:MODEL, where an imported harness's per-sample scores and glc's disagree."""
    import json

    from glc.analysis.diff import render as render_diff

    _format(fmt, ("text", "json"))
    if a.startswith("harness:"):
        from glc.importers.harness.disagreements import render as render_harness

        model = a.removeprefix("harness:")
        found = _ws().harness_diff(model)
        typer.echo(json.dumps(found, indent=2, default=str) if fmt == "json" else render_harness(model, found))
        return
    if b is None:
        raise GlcError("glc diff needs two sides", hint="glc diff A B (variant:, scope:, run:), or glc diff "
                       "harness:MODEL")

    rows = _ws().diff(a, b, variant, scope)
    typer.echo(json.dumps(rows, indent=2, default=str) if fmt == "json" else render_diff(rows))


@app.command()
def report(out: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Folder for the report (default target/<benchmark>/report).")] = None) -> None:
    """Write a static HTML report that works offline (leaderboards, charts, tasks, warnings)."""
    typer.echo(f"wrote {_ws().report(out)}")


@app.command()
def docs(out: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Folder for the docs (default target/<benchmark>/docs).")] = None) -> None:
    """Write a browsable catalog: tasks, metrics with their normalization curves, levels, column docs, the DAG."""
    typer.echo(f"wrote {_ws().docs(out)}")


@app.command("bootstrap")
def bootstrap_(replicates: Annotated[int | None, typer.Option(help="Replicates (default from specs).")] = None,
               seed: Annotated[int | None, typer.Option(help="Random seed (default from specs).")] = None) -> None:
    """Bootstrap confidence intervals of every Level score (instances resampled within tasks)."""
    n = _ws().bootstrap(replicates, seed)
    typer.echo(f"stored intervals for {n} (model, variant, scope) rows in level_intervals")


@rm_app.command("model")
def rm_model(name: Annotated[str, typer.Argument(metavar="NAME", help="The model whose results go.")],
             dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go (rows per table).")]
             = False) -> None:
    """Remove a model's rows from every store table (predictions, evaluator readings, imported scores,
    partitions) in one transaction, then rebuild the boards."""
    typer.echo(_ws().remove_model(name, dry_run=dry_run).describe())


@rename_app.command("model")
def rename_model(old: Annotated[str, typer.Argument(metavar="OLD", help="The model's name in the store.")],
                 new: Annotated[str, typer.Argument(metavar="NEW", help="Its new name (no results yet).")]) -> None:
    """Rename a model's rows in every store table in one transaction, then rebuild the boards.

    Rename the spec first (name: NEW): the predictions it made under OLD then keep counting as made,
    and `glc run` does not make them again.
    """
    typer.echo(_ws().rename_model(old, new).describe())


@model_app.command("add")
def model_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name (lower-case; the spec's file name).")],
    openai: Annotated[str | None, typer.Option(
        "--openai", metavar="URL", help="An OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")] = None,
    served_model: Annotated[str | None, typer.Option(
        metavar="M", help="With --openai: the model name the server serves.")] = None,
    api_key_env: Annotated[str | None, typer.Option(
        metavar="VAR", help="With --openai: the environment variable holding the API key.")] = None,
    hf: Annotated[str | None, typer.Option(
        "--hf", metavar="PATH_OR_ALIAS", help="A bundled model alias or a local model folder (transformers).")]
    = None,
    task: Annotated[str, typer.Option(metavar="TASK", help="With --hf: text-generation, zero-shot-classification, "
                                      "image-classification, video-classification or speech-recognition.")]
    = "text-generation",
    revision: Annotated[str, typer.Option(metavar="REV", help="The model's revision (part of every prediction's "
                                          "key: change it when the model changes).")] = "1",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing spec file.")] = False,
) -> None:
    """Write specs/models/NAME.yaml: one openai or hf route serving every task (edit it to compose more)."""
    if (openai is None) == (hf is None):
        raise GlcError("give exactly one of --openai URL or --hf PATH_OR_ALIAS",
                       hint="e.g. glc model add my-model --openai http://127.0.0.1:8000/v1 --served-model NAME")
    ws = _ws()
    if openai is not None:
        if not served_model:
            raise GlcError("--openai needs --served-model M (the model name the server serves)",
                           hint="ask the server: curl URL/models")
        args: dict[str, Any] = {"base_url": openai, "model": served_model}
        if api_key_env:
            args["api_key_env"] = api_key_env
        path = ws.add_model(name, runner="openai", args=args, revision=revision, force=force)
    else:
        if served_model or api_key_env:
            raise GlcError("--served-model and --api-key-env go with --openai, not --hf")
        path = ws.add_model(name, runner="hf", args={"task": task, "model": hf}, revision=revision, force=force)
    typer.echo(f"wrote {path}")
    if openai is not None:
        from glc.engine.model_admin import endpoint_advice

        typer.echo(endpoint_advice(ws.root, openai, api_key_env))
    typer.echo(f"next: `glc compile` lists its jobs; `glc run --select model:{name}` runs it")


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

