"""``command``: run an external program per instance, argv built from templates, no shell.

Each element of ``argv`` is rendered on its own by a sandboxed Jinja environment with
``prompt``, ``input``, ``media`` (field -> path), ``output`` (the file to write, for generation
tasks), ``instance_id`` and ``python`` (this interpreter), then passed to the program as one
argument: quotes, semicolons or ``$(...)`` in a prompt are just text. The answer is the
program's stdout (``result: stdout``) or the file it wrote (``result: file``).

What a program gives back is bounded: its stdout is read as it comes, and a program that prints
more than ``MAX_STDOUT_BYTES`` is stopped and fails its instance (of stderr only the last few KiB
are kept, for the error text); the file it writes must be a regular file (not a link, a FIFO or a
folder) of at most ``base.MAX_MEDIA_BYTES``, which glc copies under ``target/media/`` without
following a link (``glc.execute.inference._keep_media``).
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, ClassVar, Literal, cast

from glc.compiler.sandbox import shared_sandbox, template_problem
from glc.runners.base import (
    MAX_TIMEOUT_S,
    Request,
    Result,
    Runner,
    RunnerArgs,
    RunnerError,
    error_text,
    generated_file_problem,
    size_text,
)
from pydantic import Field, field_validator

_ENV = shared_sandbox()
FREE = "*"  # an argv pattern element of profiles.yml that the spec may fill freely
# bytes of stdout one instance may print: an answer is kilobytes of text (the openai runner caps a response
# at the same 8 MiB, MAX_RESPONSE_BYTES); more is a runaway or hostile program, which is stopped unread
MAX_STDOUT_BYTES = 8 * 1024 * 1024
_STDERR_TAIL = 8192  # bytes of stderr kept (the last ones) for the error text of a failed instance
_CHUNK = 1 << 16


class _TooMuch(Exception):
    """The program printed more than ``MAX_STDOUT_BYTES`` to stdout."""


def _communicate(argv: list[str], cwd: Path, env: dict[str, str], timeout: float,
                 keep_stdout: bool = True) -> tuple[int, bytes, bytes]:
    """(exit status, stdout, the tail of stderr) of ``argv``, run without stdin. Both pipes are read as
    the program writes: of stdout at most ``MAX_STDOUT_BYTES`` is held (_TooMuch past that; without
    ``keep_stdout`` it is read and dropped, and b"" returned), of stderr the last ``_STDERR_TAIL``
    bytes. The program is killed when it prints too much or runs past ``timeout``
    (subprocess.TimeoutExpired), so memory stays bounded whatever it prints."""
    limit = MAX_STDOUT_BYTES  # read at call time: tests lower it
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    pipes = cast("tuple[IO[bytes], IO[bytes]]", (proc.stdout, proc.stderr))
    out, err = bytearray(), bytearray()
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(pipes[0], selectors.EVENT_READ, out)
            sel.register(pipes[1], selectors.EVENT_READ, err)
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(argv, timeout)
                for key, _ in sel.select(left):
                    chunk = os.read(key.fd, _CHUNK)
                    if not chunk:
                        sel.unregister(key.fileobj)
                    elif key.data is err:
                        err += chunk
                        del err[:-_STDERR_TAIL]
                    elif keep_stdout:
                        out += chunk
                        if len(out) > limit:
                            raise _TooMuch
        returncode = proc.wait(max(deadline - time.monotonic(), 0.001))  # TimeoutExpired past the deadline
    except BaseException:
        proc.kill()
        raise
    finally:
        # closed before the wait: a child the program left behind holding the pipes cannot stall glc
        for pipe in pipes:
            pipe.close()
        proc.wait()
    return returncode, bytes(out), bytes(err)


def _matches(pattern: tuple[str, ...], argv: list[str]) -> bool:
    return len(pattern) == len(argv) and all(p == FREE or p == a for p, a in zip(pattern, argv, strict=True))


def _shown(argv: list[str]) -> str:
    return "[" + ", ".join(repr(a) for a in argv[:8]) + (", ...]" if len(argv) > 8 else "]")


def _resolve(program: str, root: Path) -> str | None:
    """The absolute path of ``program``: on the user's PATH, or a file of the project."""
    found = shutil.which(program, path=os.environ.get("PATH", os.defpath))
    if found is None and (root / program).is_file():
        found = str((root / program).resolve())
    return os.path.abspath(found) if found else None


_FREE_VALUE = re.compile(r"[A-Za-z0-9_.,+ ]*")


def _path_like(value: str) -> bool:
    """A free argument that could name a file or folder outside the working folder (or an option
    that does, like ``-C..``, ``--directory=..``, ``@file``): only plain words are free."""
    return not _FREE_VALUE.fullmatch(value) or ".." in value or value.startswith(".")


@lru_cache(maxsize=256)
def _template(text: str) -> Any:
    """An argv element compiled once, rendered for every instance."""
    return _ENV.from_string(text)


class CommandArgs(RunnerArgs):
    argv: list[str] = Field(min_length=1, description="program and arguments, each a template")
    result: Literal["stdout", "file"] = "stdout"
    timeout_s: float = Field(default=120.0, gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False)  # finite: a day at most
    workers: int = Field(default=1, ge=1, le=64)
    env: dict[str, str] = {}
    version_argv: list[str] = []

    @field_validator("argv", "version_argv")
    @classmethod
    def _templates_parse(cls, value: list[str]) -> list[str]:
        for item in value:
            problem = template_problem(_ENV, item)
            if problem:
                raise ValueError(f"template {item!r}: {problem}")
        return value


class CommandRunner(Runner):
    name: ClassVar[str] = "command"
    Args: ClassVar[type[RunnerArgs]] = CommandArgs

    @classmethod
    def produces(cls, args: RunnerArgs) -> frozenset[str]:
        """A program's stdout is text; with ``result: file`` it writes the media file glc names."""
        if getattr(args, "result", "stdout") == "file":
            return frozenset({"image", "audio", "video", "pointcloud"})
        return frozenset({"text"})

    def __init__(self, args: RunnerArgs, root: Path, allowed: list[tuple[str, ...]] | None = None,
                 env_allowed: frozenset[str] | None = None, workdir: Path | None = None) -> None:
        super().__init__(args, root)
        self.a: CommandArgs = args  # type: ignore[assignment]
        # argv patterns the user's profile allows (None: the caller vouches for argv, e.g. a test)
        self.allowed = allowed
        self.env_allowed = env_allowed
        # programs run here (under the project's target folder): relative names they write land in it
        self.workdir = workdir
        self._free: tuple[int, ...] = ()

    def check_allowed(self) -> None:
        """The argv, as written in the spec, must match a pattern the user allowed, and ``env:``
        may only set variables the user allowed."""
        if self.allowed is None:
            return
        pattern = next((p for p in self.allowed if _matches(p, self.a.argv)), None)
        if pattern is None:
            raise RunnerError(f"program not allowed: {_shown(self.a.argv)}; specs cannot start programs on their "
                              "own. If you trust it, add the whole argv to 'commands:' in profiles.yml (write "
                              "\"*\" for an argument the spec may choose freely)")
        self._free = tuple(i for i, item in enumerate(pattern) if item == FREE)
        refused = sorted(set(self.a.env) - (self.env_allowed or frozenset()))
        if refused:
            raise RunnerError(f"env: the spec sets {', '.join(refused)}, which profiles.yml does not allow; specs "
                              "cannot change the environment of programs (PATH, LD_PRELOAD, PYTHONPATH, ...). "
                              "If you trust it, list the names under 'command_env:' in profiles.yml")

    def _render(self, items: list[str], req: Request | None) -> list[str]:
        ctx: dict[str, Any] = {"python": sys.executable, "root": str(self.root)}
        if req is not None:
            ctx.update(prompt=req.prompt, input=req.input, media=req.media, instance_id=req.instance_id,
                       output=str(req.output_path) if req.output_path else "", choices=list(req.choices))
        out = [_ENV.render(_template(item), ctx) for item in items]
        for i in self._free:
            if i < len(out) and _path_like(out[i]):
                raise RunnerError(f"argument {i} ({out[i][:80]!r}) is a free argument of the allowed pattern and "
                                  "may not name a path; only glc's own {{ output }} and media paths may")
        return out

    def _program(self) -> None:
        """Check that the program of argv[0] exists before any instance runs."""
        try:
            program = self._render(self.a.argv[:1], None)[0]
        except Exception:  # noqa: BLE001 - argv[0] depends on the instance: checked per instance
            return
        if _resolve(program, self.root) is None:
            raise RunnerError(f"program '{program}' not found on PATH or in the project")

    def version(self) -> str:
        argv = list(self.a.version_argv)
        allowed = self.allowed is None or any(_matches(p, argv) and FREE not in p for p in self.allowed)
        if not argv or not allowed:
            return Path(self.a.argv[0]).name
        try:
            rendered = self._render(argv, None)
            rendered[0] = _resolve(rendered[0], self.root) or rendered[0]
            self._cwd().mkdir(parents=True, exist_ok=True)
            _, stdout, stderr = _communicate(rendered, self._cwd(), dict(os.environ), 10)
        except (OSError, subprocess.TimeoutExpired, RunnerError, _TooMuch):
            return "unknown"
        text = (stdout or stderr).decode(errors="replace").strip()
        return text.splitlines()[0][:200] if text else "unknown"

    def _one(self, req: Request) -> Result:
        t0 = time.perf_counter()
        try:
            argv = self._render(self.a.argv, req)
        except RunnerError as exc:
            return Result(None, str(exc))
        except Exception as exc:  # noqa: BLE001 - a template that fails on this instance's input
            return Result(None, f"argv template: {error_text(exc)}")
        # the program is found with the user's PATH, never with one from the spec's env
        program = _resolve(argv[0], self.root)
        if program is None:
            return Result(None, f"program '{argv[0][:200]}' not found on PATH or in the project")
        argv[0] = program
        env = {**os.environ, **self.a.env}
        try:
            returncode, stdout, stderr = _communicate(argv, self._cwd(), env, self.a.timeout_s,
                                                      keep_stdout=self.a.result == "stdout")
        except subprocess.TimeoutExpired:
            return Result(None, f"timed out after {self.a.timeout_s} s", (time.perf_counter() - t0) * 1000)
        except _TooMuch:
            return Result(None, f"the program printed more than {size_text(MAX_STDOUT_BYTES)} to stdout and was "
                                "stopped; nothing of it was stored. An answer on stdout is text; a program that "
                                "makes a file writes it to {{ output }} with 'result: file'",
                          (time.perf_counter() - t0) * 1000)
        except OSError as exc:
            return Result(None, error_text(exc), (time.perf_counter() - t0) * 1000)
        ms = (time.perf_counter() - t0) * 1000
        if returncode != 0:
            tail = stderr.decode(errors="replace").strip()[-500:]
            return Result(None, f"exit status {returncode}: {tail}", ms)
        if self.a.result == "file":
            problem = self._file_problem(req.output_path)
            return Result(None, problem, ms) if problem else Result(str(req.output_path), None, ms)
        return Result(stdout.decode(errors="replace").strip(), None, ms)

    @staticmethod
    def _file_problem(path: Path | None) -> str | None:
        """Why the program's output file cannot be kept (None: a regular file, not empty, within
        ``base.MAX_MEDIA_BYTES``). A link there is refused, never followed; glc copies the file it keeps from
        a descriptor opened without following a link (``_keep_media``), so this check is a clear early word,
        not the guard."""
        nothing = f"the program wrote no file at {path}"
        if path is None:
            return nothing
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return nothing
        except OSError as exc:
            return f"cannot read the output file {path}: {error_text(exc)}"
        if stat.S_ISREG(st.st_mode) and st.st_size == 0:
            return nothing
        return generated_file_problem(path, st)

    def _cwd(self) -> Path:
        return self.workdir if self.workdir is not None else self.root

    def run(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Result]]:
        if not requests:
            return
        self.check_allowed()
        self._program()
        self._cwd().mkdir(parents=True, exist_ok=True)
        if self.a.workers == 1:
            for req in requests:
                yield req, self._one(req)
            return
        with ThreadPoolExecutor(self.a.workers) as pool:
            yield from zip(requests, pool.map(self._one, requests), strict=True)
