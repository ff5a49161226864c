"""The runner interface: requests in, results out, one per instance."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


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
