"""``glc run``, ``glc compile`` and ``glc import scores FILE`` without options skip typer's parsing
(``cli._direct``): the same function runs with the same arguments, prints the same and ends with the
same exit status as when typer parses the line."""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.project import EXAMPLES, copy_project

from glc import cli


def _parsed_by_typer(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> tuple[str, dict[str, Any]]:
    """(command name, keyword arguments) typer calls the command of ``argv`` with."""
    got: dict[str, Any] = {}
    for typer_app in (cli.app, cli.import_app):
        for info in typer_app.registered_commands:
            fn = info.callback

            @functools.wraps(fn)
            def record(*args: Any, _fn: Any = fn, **kwargs: Any) -> None:
                got.update(name=_fn.__name__, kwargs=kwargs)
            monkeypatch.setattr(info, "callback", record)
    cli.app(argv, standalone_mode=False)
    return got["name"], got["kwargs"]


PLAIN = {"run": "run_command", "compile": "compile_command", "import_scores": "import_scores_command"}


@pytest.mark.parametrize("argv", [["run"], ["compile"], ["import", "scores", "my scores.xlsx"],
                                  ["run", "--scores", "my scores.xlsx"]])
def test_the_direct_call_gets_what_typer_would_pass(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    name, kwargs = _parsed_by_typer(monkeypatch, argv)
    direct = cli._direct(argv)
    assert direct is not None
    plain = getattr(cli, PLAIN[name])  # what typer's command calls with what it parsed (glc.cli.commands._plain)
    defaults = {k: p.default for k, p in inspect.signature(plain).parameters.items()
                if p.default is not inspect.Parameter.empty}
    seen: list[Any] = []
    monkeypatch.setattr(cli, PLAIN[name], lambda *args, **kw: seen.append((args, kw)))
    if name == "import_scores":
        assert kwargs == {**defaults, "file": Path("my scores.xlsx")}
        direct()
        assert seen == [((Path("my scores.xlsx"),), {})]
    elif "--scores" in argv:
        assert kwargs == {**defaults, "scores": [Path("my scores.xlsx")]}
        direct()
        assert seen == [((), {"scores": [Path("my scores.xlsx")]})]
    else:
        assert direct is plain and kwargs == defaults
    # typer's command passes what it parsed on to the same function
    parsed = getattr(cli.commands, name)
    monkeypatch.setattr(cli.commands, PLAIN[name], lambda **kw: seen.append(((), kw)))
    parsed(**kwargs)
    assert seen[-1] == ((), kwargs)


def test_a_direct_command_line_imports_no_typer() -> None:
    code = ("import sys; from glc import cli; assert cli._direct(['compile']) is not None; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("argv", [[], ["run", "--full-refresh"], ["--debug", "run"], ["run", "--help"],
                                  ["run", "--scores"], ["run", "--scores", "--full-refresh"],
                                  ["run", "--scores", "a.xlsx", "--scores", "b.xlsx"], ["run", "--scores=a.xlsx"],
                                  ["compile", "--select", "model:x"], ["import", "scores"],
                                  ["import", "scores", "--model"], ["import", "scores", "a.xlsx", "--model", "m"],
                                  ["import", "predictions", "a.jsonl"], ["leaderboard"], ["--project-dir", ".", "run"]])
def test_any_other_command_line_is_parsed_by_typer(argv: list[str]) -> None:
    assert cli._direct(argv) is None


def test_shell_completion_is_left_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_GLC_COMPLETE", "bash_complete")
    assert cli._direct(["run"]) is None


@pytest.mark.slow  # several glc processes
def test_direct_and_parsed_command_lines_print_the_same(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "p", small=True)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), GLC_BENCHMARK="general-bench")

    def glc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-X", "importtime", "-m", "glc", *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=600)

    def pair(*args: str) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
        direct, parsed = glc(*args), glc("--project-dir", ".", *args)  # --project-dir: typer parses the line
        assert "typer" not in direct.stderr and "typer._adapters" in parsed.stderr
        return direct, parsed

    def strip(text: str) -> list[str]:  # the import timings, the run's own id, times and paths, durations
        return [re.sub(r"\d+(\.\d+)? ?s\b", "<seconds>", x) for x in text.splitlines()
                if not x.startswith(("import time:", "built ", "run log:", "results:", "["))]

    for args in (("compile",), ("import", "scores", str(tmp_path / "missing.xlsx")),
                 ("import", "scores", str(EXAMPLES / "c04_sota_beater.xlsx")), ("run",)):
        direct, parsed = pair(*args)
        assert direct.returncode == parsed.returncode, (args, direct.stderr[-2000:], parsed.stderr[-2000:])
        assert strip(direct.stdout) == strip(parsed.stdout), args
        assert strip(direct.stderr) == strip(parsed.stderr), args
        if args[-1] == "run":
            assert direct.returncode in (0, 1) and "leaderboard: variant" in direct.stdout
        if "missing.xlsx" in args[-1]:
            assert direct.returncode == 2 and "Error:" in direct.stderr

    # results.json names every model with scores, a model without a spec too (no spec, no revision)
    task = next(p for p in sorted((root / "specs" / "tasks").rglob("*.yaml")) if "\nsota:" in p.read_text())
    task_id = next(x for x in task.read_text().splitlines() if x.startswith("id: "))[4:].strip()
    (tmp_path / "s.csv").write_text(f"model,task,score\nno-spec-model,{task_id},1\n")
    assert glc("import", "scores", str(tmp_path / "s.csv")).returncode == 0
    assert glc("run").returncode in (0, 1)
    last = sorted((root / "target" / "runs").iterdir())[-1]
    models = json.loads((last / "results.json").read_text())["models"]
    assert {"model": "no-spec-model", "spec": None, "revision": None, "role": None} in models
    assert [m["model"] for m in models] == sorted(m["model"] for m in models) and len(models) > 1


def test_echo_leaves_escape_sequences_out_of_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """glc's own echo, like typer's (click's): a name that carries terminal escape sequences prints
    them only to a terminal; a pipe or a log file gets the text without them."""
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    name = "model \x1b[2J\x1b[31mred\x1b[0m"
    pipe, terminal = io.StringIO(), Terminal()
    monkeypatch.setattr("sys.stdout", pipe)
    cli.echo(name)
    monkeypatch.setattr("sys.stderr", terminal)
    cli.echo(name, err=True)
    assert pipe.getvalue() == "model red\n"
    assert terminal.getvalue() == name + "\n"


@pytest.mark.parametrize("argv", [["compile"], ["ls", "metrics"], ["nosuch"], ["import", "scores", "missing.xlsx"]])
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_main_pauses_the_garbage_collector_only_while_a_command_starts(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path, argv: list[str]) -> None:
    """main() runs a command's start (imports, the workspace) without cyclic garbage collection, then freezes
    what the start made and collects again for the command's own work (glc serve, a long glc run); when it
    returns (tests run it in their process) the collector is on and nothing is left frozen, whatever
    the command did (an unknown command, a missing file)."""
    import gc

    from helpers.cli import glc_in_process

    root = copy_project(tmp_path / "p", small=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    seen: list[tuple[bool, int]] = []
    real = cli._started

    def started() -> None:
        seen.append((gc.isenabled(), gc.get_freeze_count()))
        real()
        seen.append((gc.isenabled(), gc.get_freeze_count()))
    monkeypatch.setattr(cli, "_started", started)
    assert gc.isenabled()
    done = glc_in_process(*argv, cwd=root)
    assert done.returncode == (0 if argv[0] in ("compile", "ls") else 2), done.stderr
    assert seen[0] == (False, 0)  # paused while starting (typer's commands: until typer is imported)
    assert seen[1][0] and seen[1][1] > 1000  # then collecting, the start frozen
    assert gc.isenabled() and gc.get_freeze_count() == 0


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_main_leaves_a_callers_frozen_objects_frozen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` freezes its start only when nothing is frozen yet, so it never unfreezes what the
    process that runs it had frozen (a review found ``gc.unfreeze`` thawing the caller's objects)."""
    import gc

    from helpers.cli import glc_in_process

    root = copy_project(tmp_path / "p", small=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    keep = [[object()] for _ in range(100)]
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        assert before >= len(keep)
        done = glc_in_process("compile", cwd=root)
        assert done.returncode == 0, done.stderr
        assert gc.isenabled() and gc.get_freeze_count() > 0
        tracked = {id(o) for o in gc.get_objects()}  # generations 0-2: the frozen ones are not listed
        assert not any(id(k) in tracked for k in keep)
    finally:
        gc.unfreeze()
