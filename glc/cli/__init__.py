"""The ``glc`` command line: thin wrappers over ``Workspace``.

This package holds what the commonest command lines run (``glc run``, ``glc compile``, ``glc import
scores FILE``, no option: ``_direct``) and ``main``; it imports no typer (a fifth of its start). Every
command as typer parses it is in ``glc.cli.commands`` (``app``, loaded on first use: ``glc.cli.app``)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from glc.compiler.errors import GlcError
from glc.words import plural

# exit statuses (documented in `glc run --help` and the README): 1 a data test failed, 2 bad input
# or a refused spec, 3 inference failed for some instances or jobs, 70 an internal error
EXIT_INFERENCE_FAILED = 3
EXIT_INTERNAL = 70

_state: dict[str, object] = {"project_dir": Path("."), "target": None, "debug": False, "benchmark": None}
_gc = {"paused": False, "frozen": False}  # main() paused the cyclic garbage collector; _started() froze the start


class CommandExit(Exception):
    """A command ends with this exit status (``typer.Exit`` where typer runs the command)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Aborted(Exception):
    """Input ended (EOF): the command stops as typer's Abort stops it."""


_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")  # click's: escape sequences echo leaves out of a pipe


def echo(text: object = "", err: bool = False) -> None:
    """Print a line to stdout (or stderr) and flush, as ``typer.echo`` prints text: terminal escape
    sequences (colours, or ones a stranger's name carries) only reach a terminal."""
    out = sys.stderr if err else sys.stdout
    if out is None:
        return
    line = f"{text}\n"
    if not (hasattr(out, "isatty") and out.isatty()):
        line = _ANSI.sub("", line)
    out.write(line)
    out.flush()


def _format(fmt: str, choices: tuple[str, ...]) -> str:
    """``fmt`` when it is one of ``choices``; checked before any work is done."""
    if fmt not in choices:
        from glc.compiler.suggest import did_you_mean

        raise GlcError(f"unknown format '{fmt}'", hint=did_you_mean(fmt, choices) or "one of: " + ", ".join(choices))
    return fmt


def _ws():
    from glc.workspace import Workspace

    ws = Workspace(_state["project_dir"], _state["target"], _state["benchmark"])
    _started()
    return ws


def _started() -> None:
    """The end of a command's start (``main`` paused the cyclic garbage collector): what the imports
    made lives as long as the command, so it is frozen (later collections do not walk it again) and
    collection resumes for the command's own work. Full collections walking every object imported so
    far were about a fifth of the CPU time of ``glc compile`` with nothing changed."""
    import gc

    if _gc["paused"]:
        _gc["paused"] = False
        if gc.get_freeze_count() == 0:  # a caller's own frozen objects are its business: leave them
            _gc["frozen"] = True
            gc.freeze()
        gc.enable()


def _pause_gc() -> None:
    """No cyclic garbage collection while a command starts (imports, the workspace): none of what
    they make is garbage. ``_started`` (the first workspace made) resumes it; ``_resume_gc`` when
    the command ends (``main`` may run inside a longer process: tests)."""
    import gc

    if gc.isenabled():
        gc.disable()
        _gc["paused"] = True


def _resume_gc() -> None:
    import gc

    if _gc["frozen"]:
        _gc["frozen"] = False
        gc.unfreeze()
    if _gc["paused"]:
        _gc["paused"] = False
        gc.enable()


def compile_command(select: list[str] | None = None, limit: int | None = None, retry_failed: bool = False) -> None:
    """``glc compile``: validate specs; write target/manifest.json, target/compiled/*.sql and target/jobs.json."""
    ws = _ws()
    compiled = ws.compile()
    p = compiled.project
    echo(f"compiled benchmark '{p.benchmark.name}': {plural(len(p.tasks), 'task')}, "
               f"{plural(len(p.metrics), 'metric')}, {plural(len(p.variants), 'level variant')}, "
               f"{plural(len(p.scopes), 'scope')} -> {plural(len(compiled.nodes), 'SQL node')}, "
               f"{plural(len(compiled.data_tests), 'data test')}")
    if p.binding is not None:
        from glc.cli.listing import describe_binding

        echo(describe_binding(p))
    if p.models:
        from glc.execute.progress import describe_plan

        plan = ws.plan(select=select, limit=limit, retry_failed=retry_failed, outline=True)
        echo(describe_plan(plan))
        if plan.unsupported:
            from glc.analysis.basis import describe_unrouted

            echo(describe_unrouted(plan.unsupported, p))
        echo(f"job list: {ws.target_dir / 'jobs.json'}")
    from glc.cli.listing import describe_missing_evaluators

    if missing := describe_missing_evaluators(compiled):
        echo(missing)
    _echo_data_problems(ws)


def _first(ids: list[str], shown: int = 3) -> str:
    return ", ".join(ids[:shown]) + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


def _echo_data_problems(ws, echo=echo) -> None:
    """One line per data file that did not load; those tasks sat out, the others ran. And a note for tasks
    whose data is gone (a folder removed, a data root not mounted): their instances left the store."""
    lost = [tid for tid, present in ws.data_removed if present]
    gone = [tid for tid, present in ws.data_removed if not present]
    if lost:
        echo(f"note: {len(lost)} task(s) no longer have task data ({_first(lost)}): their instances were removed "
             "from the store, so they count as not attempted; predictions are kept and count again once the data "
             "is back (check the data root if this is unexpected)", err=True)
    if gone:
        echo(f"note: {len(gone)} task(s) are no longer in the project ({_first(gone)}): their instances were "
             "removed from the store", err=True)
    if ws.prompt_failures:
        _echo_prompt_failures(ws.prompt_failures, echo)
    if not ws.data_problems:
        return
    from glc.execute.datasets import per_file  # DuckDB and the loader: only when there is something to say
    from glc.importers.safety import printable

    groups = per_file(ws.data_problems)
    echo(f"{len(groups)} task data file(s) did not load (no inference ran for their tasks; nothing stored "
         "before was lost):", err=True)
    for _, first, n in groups:  # a data file's path holds the data tree's folder names: printable
        more = f" (+{n - 1} more in this file)" if n > 1 else ""
        echo(f"  {printable(first.where)}: {printable(first.message)}{more}"
             + (f"\n    hint: {printable(first.hint)}" if first.hint else ""), err=True)
    earlier = [tid for tid, stored in ws.data_failed if stored]
    if earlier:  # not left out of the boards: what they rest on is the file as it loaded before
        echo(f"  {len(earlier)} of these task(s) keep the instances of their file as it loaded before, and their "
             f"scores rest on those ({_first(earlier)}); once the file loads, their instances and predictions "
             "follow it", err=True)


def _echo_prompt_failures(failures, echo, shown: int = 20) -> None:
    """One line per (model, task) job left out because a prompt, or a media path, fails on an instance."""
    echo(f"{plural(len(failures), 'job')} left out: a prompt or a media path fails on an instance of the task "
         "(the other jobs ran; nothing stored before was lost):", err=True)
    from glc.importers.safety import printable

    for f in failures[:shown]:
        p = f.problem
        echo(f"  {printable(p.where)}: {printable(p.message)}" + (f"\n    hint: {printable(p.hint)}" if p.hint else ""),
             err=True)
    if len(failures) > shown:
        echo(f"  ... and {len(failures) - shown} more", err=True)


PROGRESS_EVERY_S = 30.0


def run_command(variant: str | None = None, scope: str | None = None, fmt: str = "table",
                full_refresh: bool = False, select: list[str] | None = None, limit: int | None = None,
                retry_failed: bool = False, infer: bool = True, progress_every: float = PROGRESS_EVERY_S,
                scores: list[Path] | None = None) -> None:
    """``glc run`` (its help: ``glc.cli.commands.run``); ends with ``CommandExit`` for a non-zero status.
    ``scores``: score files imported first (``glc run --scores FILE``), in this process and on the run's
    store connection: one command from a workbook to its board."""
    import time

    from glc.analysis.leaderboard import FORMATS
    from glc.engine.runlog import RunLog
    from glc.execute.progress import FanOut, LineProgress, RichProgress

    _format(fmt, FORMATS)
    data_only = fmt in ("json", "csv")  # stdout holds the board's data alone (glc run --format json > board.json)
    ws = _ws()
    t0 = time.perf_counter()
    with RunLog(ws.target_dir) as log, ws.keep_store():  # the run and its board: one store connection
        def say(text: str = "", err: bool = False) -> None:
            echo(text, err=err)
            log.echo(text)

        sinks = [log.line] if sys.stderr.isatty() else [log.line, lambda line: echo(line, err=True)]
        lines = LineProgress(sinks, every_s=progress_every)
        try:
            log.echo("compiling specs")  # in the log only: a spec error stays the first thing a user reads
            ws.compile()
            for summary in ws.import_score_files(scores or []):  # all validated before any is stored
                say(summary.describe(), err=data_only)
            with FanOut(RichProgress(), lines) as progress:
                result = ws.run(full_refresh=full_refresh, select=select, limit=limit, retry_failed=retry_failed,
                                infer=infer, progress=progress, run_id=log.run_id, notify=lines.note)
        except GlcError as exc:
            log.echo(f"Error: {exc.format()}")
            raise
        inf = result.inference
        if inf is not None:
            say(inf.describe(), err=data_only)
        from glc.analysis.basis import describe_unrouted

        compiled = ws.compile(write=False)
        if unrouted := describe_unrouted(result.unrouted, compiled.project, specialists=False):
            say(unrouted, err=data_only)
        from glc.cli.listing import describe_missing_evaluators

        if missing := describe_missing_evaluators(compiled):
            say(missing, err=data_only)
        _echo_data_problems(ws, say)
        if ws.media_rebased:
            say(f"note: {plural(ws.media_rebased, 'prediction')} named generated files by paths that lead nowhere "
                f"now (the project moved or was copied?); they name the same files (by content) in "
                f"{ws.target_dir / 'media'} and were scored again", err=True)
        binding = compiled.project.binding
        unbound = list(binding.problems) if binding is not None else []
        if unbound:  # said at every run, not only by glc compile: those tasks have no data until resolved
            from glc.importers.safety import clip

            say(f"{plural(len(unbound), 'data binding problem')} (the task(s) named have no data this run: not "
                "attempted; see `glc compile`):", err=True)
            for msg in unbound[:20]:
                say(f"  {clip(msg)}", err=True)
            if len(unbound) > 20:
                say(f"  ... and {len(unbound) - 20} more", err=True)
        b = result.build
        parts = sum(b.partitions_built.values())
        say(f"built {plural(len(b.built), 'model')} ({len(b.skipped)} up to date, "
            f"{plural(parts, 'prediction partition')} scored) in {b.seconds:.2f}s (run {b.run_id}) "
            f"into {ws.target.path}", err=data_only)
        _print_board(ws, variant, scope, fmt, say)
        say(result.tests.describe(), err=data_only)
        if result.orphans:
            say(f"note: {plural(len(result.orphans), 'model')} with predictions made by runners but no spec in "
                f"specs/models (deleted or renamed?), still on the boards: {', '.join(result.orphans)}; "
                "`glc rm model NAME` removes one's results, `glc rename model OLD NEW` keeps them under its new "
                "name", err=True)
        status = 0
        failed_inference = inf is not None and bool(inf.failed or inf.job_errors)
        if result.tests.failed:
            status = 1
        elif ws.data_problems or ws.prompt_failures or failed_inference or unbound:
            status = EXIT_INFERENCE_FAILED
        _write_results(ws, log, result, status, time.perf_counter() - t0)
        say(f"run log: {log.log_path}\nresults: {log.results_path}", err=True)
        if status == 1:
            raise CommandExit(1)
        if (ws.data_problems or ws.prompt_failures or unbound) and not failed_inference:
            what = ("some task data did not load" if ws.data_problems else "some jobs were left out"
                    if ws.prompt_failures else "some tasks could not be bound to their data")
            say(f"exit status {EXIT_INFERENCE_FAILED}: {what} (see above); the boards rest on the tasks that "
                "ran", err=True)
        elif inf is not None and failed_inference:
            say(f"exit status {EXIT_INFERENCE_FAILED}: {len(inf.failed)} instance(s) and {len(inf.job_errors)} "
                "job(s) failed; the boards above rest on what succeeded (see the failures above; "
                "`glc run --retry-failed` tries them again)", err=True)
        if status:
            raise CommandExit(status)


def _write_results(ws, log, result, status: int, seconds: float) -> None:
    """target/runs/<id>/results.json: what this run measured and with what."""
    from glc.engine.runlog import RESULTS_VERSION, versions

    compiled = ws.compile(write=False)
    p = compiled.project
    inf, b = result.inference, result.build
    specs = {m.spec.name: m for m in p.models}
    models = sorted({*specs, *result.scored_models})
    files = log.write_tables(result.results)
    if result.result_states:
        from glc.engine.runlog import note_results

        note_results(ws.target.path, result.result_states, files, log.dir)
    log.write_results({
        "format": RESULTS_VERSION,
        "run_id": log.run_id,
        "benchmark": p.benchmark.name,
        "started_at": log.started.isoformat(timespec="seconds"),
        "exit_status": status,
        "versions": versions(),
        "spec_fingerprint": compiled.manifest["fingerprint"],
        "target": ws.target.path,
        "models": [{"model": m, "spec": specs[m].path if m in specs else None,
                    "revision": specs[m].spec.revision if m in specs else None,
                    "role": specs[m].spec.role if m in specs else None} for m in models],
        "tasks": [{"task_id": t.id, "modality": t.spec.modality, "paradigm": t.spec.paradigm,
                   "metric": t.spec.metric} for t in p.tasks],
        "scores": files.get("scores"),
        "levels": files.get("levels"),
        "inference": None if inf is None else {
            "predicted": inf.predicted, "judged": inf.judged, "failed_instances": len(inf.failed),
            "failed_jobs": len(inf.job_errors)},
        "tests": {"failed": result.tests.failed, "summary": result.tests.describe().splitlines()[-1]},
        "data_problems": len(ws.data_problems),
        "prompt_failures": [{"model": f.model, "task_id": f.task_id, "where": f.problem.where,
                             "message": f.problem.message} for f in ws.prompt_failures],
        "models_without_spec": result.orphans,
        "timings": {"total_s": round(seconds, 3), "inference_s": round(inf.seconds, 3) if inf else 0.0,
                    "build_s": round(b.seconds, 3),
                    "nodes_s": {k: round(v, 4) for k, v in b.node_seconds.items()}},
    })


def _harness_args(fmt: str | None, mapping: Path | None) -> bool:
    """True for a harness import (--from); its --map is required, and --map alone is refused."""
    if fmt is None and mapping is None:  # a plain import: the harness importers (polars, sqlglot) stay unloaded
        return False
    from glc.importers.harness import FORMATS

    if fmt is None:
        if mapping is not None:
            raise GlcError("--map goes with --from", hint="--from " + "|".join(FORMATS))
        return False
    if fmt not in FORMATS:
        raise GlcError(f"unknown harness '{fmt}'", hint="--from " + "|".join(FORMATS))
    if mapping is None:
        raise GlcError(f"--from {fmt} needs --map MAP.yaml", hint="the mapping says which glc task each of the "
                       "harness's tasks is and how its samples match instances (docs/interop.md)")
    return True


def import_scores_command(file: Path, model: str | None = None, fmt: str | None = None,
                          mapping: Path | None = None) -> None:
    """``glc import scores FILE``: import task scores; re-importing a model replaces its scores atomically."""
    if _harness_args(fmt, mapping):
        echo(_ws().import_harness_scores(fmt, file, model, mapping).describe())
        return
    summary = _ws().import_scores(file, model)
    echo(summary.describe())


def _print_board(ws, variant: str | None, scope: str | None, fmt: str, echo=echo) -> None:
    from glc.analysis.leaderboard import FORMATS, render

    _format(fmt, FORMATS)
    rows, intervals = ws.board(variant, scope)
    p = ws.compile(write=False).project
    if fmt == "table":
        echo(f"leaderboard: variant {variant or p.default_variant.name}, scope {scope or p.default_scope.name}")
    # markdown: a blank line ends the table (in GitHub's markdown a line of text right after a table row is one
    # more row of it: the notes, and glc run's test summary, were swallowed into the board), and the notes are
    # list items (consecutive lines of text are one paragraph)
    md = fmt == "markdown"
    echo(render(rows, fmt, intervals, p.benchmark.bootstrap.confidence) + ("\n" if md else ""))
    notes = ws.board_notes(rows, variant, scope)  # what the numbers rest on; json/csv keep stdout to the data
    if notes:
        from glc.analysis.basis import describe_notes

        text = describe_notes(notes)
        if md:
            text = "".join(f"- {line}\n" for line in text.splitlines())
        echo(text, err=fmt in ("json", "csv"))


def _direct(argv: list[str]) -> Any:
    """The command function itself for the commonest plain command lines (``glc run``, ``glc compile``,
    ``glc import scores FILE``, ``glc run --scores FILE``, no other option), else None (typer parses the
    line). Typer builds a pydantic validator for each parameter of the command it parses (about a third
    of a second before any work); these command lines carry no value to check and run the same function
    with its defaults, without importing typer at all."""
    if any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):  # shell completion: typer's
        return None
    if argv == ["run"]:
        return run_command
    if len(argv) == 3 and argv[:2] == ["run", "--scores"] and not argv[2].startswith("-"):
        return lambda: run_command(scores=[Path(argv[2])])
    if argv == ["compile"]:
        return compile_command
    if len(argv) == 3 and argv[:2] == ["import", "scores"] and not argv[2].startswith("-"):
        return lambda: import_scores_command(Path(argv[2]))
    return None


def _call_direct(command: Any) -> Any:
    """``command()`` with what typer's ``app(standalone_mode=False)`` makes of how it ends."""
    import errno

    try:
        return command()
    except CommandExit as exc:
        return exc.code
    except EOFError as exc:
        echo(err=True)
        raise _Aborted() from exc
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        from typer._click.utils import PacifyFlushWrapper

        sys.stdout = PacifyFlushWrapper(sys.stdout)
        sys.stderr = PacifyFlushWrapper(sys.stderr)
        sys.exit(1)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None, _plain: Any = None) -> None:
    """A renamed spec key's warning as one plain line (it names its own file and line); others as Python shows them."""
    from glc.compiler.errors import SpecDeprecation

    if issubclass(category, SpecDeprecation):
        echo(f"Warning: {message}", err=True)
    else:
        _plain(message, category, filename, lineno, file, line)


def main() -> None:
    _pause_gc()
    try:
        _main()
    finally:
        _resume_gc()


def _main() -> None:
    import functools
    import warnings

    warnings.showwarning = functools.partial(_show_warning, _plain=warnings.showwarning)
    debug = "--debug" in sys.argv or os.environ.get("GLC_DEBUG") == "1"
    try:
        direct = _direct(sys.argv[1:])
        if direct is not None:
            code = _call_direct(direct)
        else:
            _started()  # a command typer parses may run long without a workspace (glc serve)
            from glc.cli.commands import app

            code = app(standalone_mode=False)
    except GlcError as exc:
        if debug:
            raise
        echo(f"Error: {exc.format()}", err=True)
        sys.exit(2)
    except CommandExit as exc:
        sys.exit(exc.code)
    except (_Aborted, KeyboardInterrupt):
        echo("Aborted.", err=True)
        sys.exit(130)
    except Exception as exc:  # usage errors of typer's click; anything else is reported, not dumped
        typer = sys.modules.get("typer")  # loaded when typer parsed the line
        if typer is not None and isinstance(exc, typer.Exit):
            sys.exit(exc.exit_code)
        if typer is not None and isinstance(exc, typer.Abort):
            echo("Aborted.", err=True)
            sys.exit(130)
        exit_code = getattr(exc, "exit_code", None)
        if hasattr(exc, "show") and isinstance(exit_code, int):
            exc.show()
            sys.exit(exit_code)
        if debug:
            raise
        import duckdb

        from glc.importers.safety import clip

        if isinstance(exc, duckdb.Error):
            from glc.engine.store import open_hint

            echo(f"Error: database error: {clip(str(exc), 600)}\n  hint: {open_hint(exc)}", err=True)
            sys.exit(2)
        echo(f"Error: internal error ({type(exc).__name__}): {clip(str(exc), 600)}\n  hint: run again with "
             "--debug for the traceback and report it if the input was valid; nothing of the failed step "
             "was stored", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)


def __getattr__(name: str) -> Any:
    """The typer app and every command as typer parses it (``glc.cli.app``, ``glc.cli.run``, ...):
    ``glc.cli.commands``, imported on first use."""
    if name.startswith("__") or name == "commands":  # the submodule itself: being imported, not here yet
        raise AttributeError(name)
    import importlib

    commands = importlib.import_module("glc.cli.commands")
    try:
        return getattr(commands, name)
    except AttributeError:
        raise AttributeError(f"module 'glc.cli' has no attribute '{name}'") from None
