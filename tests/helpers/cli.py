"""``glc`` in the test's own process: what ``python -m glc ARGS`` prints and exits with, without starting an
interpreter, importing glc and compiling the project cold again (several seconds a call on a loaded machine).

``glc_in_process`` runs ``glc.cli.main()`` itself, so the exit status and the messages are main()'s (the
direct paths of ``glc run``/``glc compile``, typer's parsing, ``Error: ...`` for a GlcError, usage errors,
the internal-error line). Use it where the command's output and effects are the point; a behaviour that
depends on the process itself (signals, a kill, what the interpreter does at exit) keeps a real
subprocess (tests/test_signals.py, tests/test_resume.py, tests/test_cli_direct.py).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path


@contextlib.contextmanager
def _environment(env: Mapping[str, str] | None) -> Iterator[None]:
    """``os.environ`` is ``env`` (a whole environment, as subprocess.run's ``env=``; None: this process's)
    for the call, and what it was afterwards (``--data`` sets GLC_DATA, as a process would for itself)."""
    saved = dict(os.environ)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _fresh_cli_state() -> Iterator[None]:
    """glc.cli's options of the call (project dir, target, benchmark, debug) start as in a new process: the
    defaults of the app's callback, which ``glc run`` and ``glc compile`` skip (cli._direct). Without this
    a plain ``glc run`` would act on the project of an earlier call in this process."""
    from glc import cli

    defaults = {k: p.default for k, p in inspect.signature(cli._root).parameters.items()}
    saved = dict(cli._state)
    cli._state.clear()
    cli._state.update({k: defaults[k] for k in saved})  # a KeyError: glc.cli keeps a new option; set it here
    try:
        yield
    finally:
        cli._state.clear()
        cli._state.update(saved)


class _Text(io.StringIO):
    """A captured stream as a pipe looks to glc: text, not a terminal."""

    def isatty(self) -> bool:
        return False


def glc_in_process(*args: str, cwd: Path | None = None,
                   env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([sys.executable, "-m", "glc", *args], cwd=cwd, env=env, capture_output=True,
    text=True)``, run by main() in this process."""
    from glc.cli import main

    out, err = _Text(), _Text()
    argv, here, show = sys.argv, Path.cwd(), warnings.showwarning
    code: object = 0
    try:
        with _environment(env), _fresh_cli_state(), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            sys.argv = ["glc", *args]
            if cwd is not None:
                os.chdir(cwd)
            try:
                main()
            except SystemExit as exc:
                code = exc.code
    finally:
        sys.argv = argv
        os.chdir(here)
        warnings.showwarning = show  # main() installs its own warning printer
    if code is None:
        code = 0
    if not isinstance(code, int):  # sys.exit("message"): printed to stderr, status 1
        err.write(f"{code}\n")
        code = 1
    return subprocess.CompletedProcess(["glc", *args], code, out.getvalue(), err.getvalue())
