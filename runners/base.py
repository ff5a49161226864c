"""The runner interface: requests in, results out, one per instance."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

# bytes of one generated file (image, audio, video, point cloud) a runner may leave for glc to keep under
# target/media/: a generated picture, clip or point cloud is megabytes; a gigabyte is a broken or runaway
# program, and each file kept is a copy on disk
MAX_MEDIA_BYTES = 1 << 30
# the longest one request to a runner may take (seconds): a stranger's spec may not make a run wait forever
MAX_TIMEOUT_S = 86_400.0


class RunnerArgs(BaseModel):
    """Base of every runner's argument schema: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Request:
    """One instance to predict (or, for an evaluator, one generated file to read)."""

    key: str  # content key of the prediction this request produces
    instance_id: str
    prompt: str
    input: Any = None
    media: dict[str, str] = field(default_factory=dict)  # input field -> absolute file path
    choices: tuple[str, ...] = ()
    output: str = "text"  # text, image, audio, video or pointcloud
    output_path: Path | None = None  # where a generated file must be written
    generation: dict[str, Any] = field(default_factory=dict)

    def first_media(self) -> str | None:
        return next(iter(self.media.values()), None)


@dataclass
class Result:
    output: str | None
    error: str | None = None
    latency_ms: float = 0.0


class RunnerError(Exception):
    """A runner cannot start at all (bad model path, server unreachable, missing program)."""


class Runner:
    """Subclasses set ``name`` and ``Args`` and implement ``run``.

    ``run`` yields ``(request, result)`` for every request, in any order; a failure of one
    instance is a ``Result`` with ``error`` set, never an exception. Setup failures that make
    every request fail raise ``RunnerError`` before the first result.
    """

    name: ClassVar[str] = ""
    Args: ClassVar[type[RunnerArgs]] = RunnerArgs

    def __init__(self, args: RunnerArgs, root: Path) -> None:
        self.args = args
        self.root = root

    @classmethod
    def produces(cls, args: RunnerArgs) -> frozenset[str]:
        """The output kinds (text, image, audio, video, pointcloud) this runner gives with ``args``."""
        return frozenset({"text"})

    def version(self) -> str:
        return "unknown"

    def run(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Result]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release models, pools and connections."""


def error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:2000] + "…"


def size_text(n: int) -> str:
    """``n`` bytes for a message: in MiB, or KiB below one MiB."""
    return f"{n / 2**20:,.0f} MiB" if n >= 2**20 else f"{n / 2**10:,.0f} KiB" if n >= 2**10 else f"{n} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def generated_file_problem(path: os.PathLike[str] | str, st: os.stat_result) -> str | None:
    """Why the generated file at ``path``, whose ``lstat`` (or ``fstat`` of its open descriptor) is ``st``,
    cannot be kept (None: it can). Only a regular file of 1 to ``MAX_MEDIA_BYTES`` bytes is kept: a link
    is never followed (its target could be any file of the user's, and would change behind its content
    hash), and a FIFO, folder or device is never read."""
    if stat.S_ISLNK(st.st_mode):
        return link_problem(path)
    if not stat.S_ISREG(st.st_mode):
        return f"the generated file {path} is {_kind(st.st_mode)}, not a regular file; it was not read"
    if st.st_size == 0:
        return f"the generated file {path} is empty"
    return size_problem(path, st.st_size)


def link_problem(path: os.PathLike[str] | str) -> str:
    return (f"the generated file {path} is a symbolic link; glc does not follow it or store it: the program "
            "must write the file itself there")


def size_problem(path: os.PathLike[str] | str, size: int) -> str | None:
    """Why a generated file of ``size`` bytes is not kept (None: within ``MAX_MEDIA_BYTES``)."""
    limit = MAX_MEDIA_BYTES  # read at call time: tests lower it
    if size <= limit:
        return None
    return (f"the generated file {path} is {size_text(size)}, over the {size_text(limit)} a generated file may "
            "take; it was not stored: make the program write a smaller file (a lower resolution, duration or "
            "point count)")
