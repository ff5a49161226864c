"""``command``: run an external program per instance, argv built from templates, no shell.

Each element of ``argv`` is rendered on its own by a sandboxed Jinja environment with
``prompt``, ``input``, ``media`` (field -> path), ``output`` (the file to write, for generation
tasks), ``instance_id`` and ``python`` (this interpreter), then passed to the program as one
argument: quotes, semicolons or ``$(...)`` in a prompt are just text. The answer is the
program's stdout (``result: stdout``) or the file it wrote (``result: file``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import Field, field_validator

from runners.base import Request, Result, Runner, RunnerArgs, RunnerError, error_text

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@lru_cache(maxsize=256)
def _template(text: str) -> Any:
    """An argv element compiled once, rendered for every instance."""
    return _ENV.from_string(text)


class CommandArgs(RunnerArgs):
    argv: list[str] = Field(min_length=1, description="program and arguments, each a template")
    result: Literal["stdout", "file"] = "stdout"
    timeout_s: float = Field(default=120.0, gt=0)
    workers: int = Field(default=1, ge=1, le=64)
    env: dict[str, str] = {}
    version_argv: list[str] = []

    @field_validator("argv", "version_argv")
    @classmethod
    def _templates_parse(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                _ENV.parse(item)
            except TemplateSyntaxError as exc:
                raise ValueError(f"template {item!r}: {exc.message}") from None
        return value


class CommandRunner(Runner):
    name: ClassVar[str] = "command"
    Args: ClassVar[type[RunnerArgs]] = CommandArgs

    def __init__(self, args: RunnerArgs, root: Path, allowed: list[tuple[str, ...]] | None = None) -> None:
        super().__init__(args, root)
        self.a: CommandArgs = args  # type: ignore[assignment]
        # argv prefixes the user's profile allows (None: the caller vouches for argv, e.g. a test)
        self.allowed = allowed

    def check_allowed(self) -> None:
        """The argv, as written in the spec, must start with a prefix the user allowed."""
        if self.allowed is None:
            return
        argv = tuple(self.a.argv)
        if not any(argv[:len(prefix)] == prefix for prefix in self.allowed):
            shown = "[" + ", ".join(repr(a) for a in argv[:3]) + (", ...]" if len(argv) > 3 else "]")
            raise RunnerError(f"program not allowed: {shown}; specs cannot start programs on their own. "
                              f"If you trust it, add its argv prefix to 'commands:' in profiles.yml")

    def _render(self, items: list[str], req: Request | None) -> list[str]:
        ctx: dict[str, Any] = {"python": sys.executable, "root": str(self.root)}
        if req is not None:
            ctx.update(prompt=req.prompt, input=req.input, media=req.media, instance_id=req.instance_id,
                       output=str(req.output_path) if req.output_path else "", choices=list(req.choices))
        return [_template(item).render(ctx) for item in items]

    def _program(self) -> str:
        """The program of argv[0], checked to exist before any instance runs."""
        try:
            program = self._render(self.a.argv[:1], None)[0]
        except Exception:  # noqa: BLE001 - argv[0] depends on the instance: checked per instance
            return self.a.argv[0]
        found = shutil.which(program) or (str(self.root / program) if (self.root / program).is_file() else None)
        if found is None:
            raise RunnerError(f"program '{program}' not found on PATH or in the project")
        return found

    def version(self) -> str:
        argv = tuple(self.a.version_argv)
        allowed = self.allowed is None or any(argv[:len(p)] == p for p in self.allowed)
        if not argv or not allowed:
            return Path(self.a.argv[0]).name
        try:
            done = subprocess.run(self._render(self.a.version_argv, None), capture_output=True, text=True,
                                  timeout=10, cwd=self.root)
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"
        return (done.stdout or done.stderr).strip().splitlines()[0][:200] if (done.stdout or done.stderr) else "unknown"

    def _one(self, req: Request) -> Result:
        t0 = time.perf_counter()
        try:
            argv = self._render(self.a.argv, req)
        except Exception as exc:  # noqa: BLE001 - a template that fails on this instance's input
            return Result(None, f"argv template: {error_text(exc)}")
        env = {**os.environ, **self.a.env}
        try:
            done = subprocess.run(argv, capture_output=True, timeout=self.a.timeout_s, cwd=self.root, env=env,
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            return Result(None, f"timed out after {self.a.timeout_s} s", (time.perf_counter() - t0) * 1000)
        except OSError as exc:
            return Result(None, error_text(exc), (time.perf_counter() - t0) * 1000)
        ms = (time.perf_counter() - t0) * 1000
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip()[-500:]
            return Result(None, f"exit status {done.returncode}: {tail}", ms)
        if self.a.result == "file":
            if req.output_path is None or not req.output_path.exists() or req.output_path.stat().st_size == 0:
                return Result(None, f"the program wrote no file at {req.output_path}", ms)
            return Result(str(req.output_path), None, ms)
        return Result(done.stdout.decode(errors="replace").strip(), None, ms)

    def run(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Result]]:
        if not requests:
            return
        self.check_allowed()
        self._program()
        if self.a.workers == 1:
            for req in requests:
                yield req, self._one(req)
            return
        with ThreadPoolExecutor(self.a.workers) as pool:
            yield from zip(requests, pool.map(self._one, requests), strict=True)
