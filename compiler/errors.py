"""Errors that carry a location (file, line, sheet, row, column) and a hint.

Every user-facing failure in glc is one of these; the CLI prints ``format()`` and exits
non-zero. Spec loading collects many ``SpecError`` into one ``SpecErrors`` so that a user
sees all problems of a change at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class GlcError(Exception):
    """Base of every error glc reports to users: a message, a location and a hint."""

    def __init__(self, message: str, *, location: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def format(self) -> str:
        head = f"{_printable(self.location)}: {self.message}" if self.location else self.message
        return f"{head}\n  hint: {self.hint}" if self.hint else head

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True)
class SpecError:
    """One problem in one spec file, with the line it is on when known."""

    path: str
    line: int | None
    message: str
    hint: str | None = None

    def format(self) -> str:
        where = f"{_printable(self.path)}:{self.line}" if self.line else _printable(self.path)
        text = f"{where}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


def _printable(location: str) -> str:
    """A location as messages print it: a path may hold a folder name of a stranger's data tree, whose
    newline would forge a line of the message (``glc.importers.safety.printable``)."""
    from glc.importers.safety import printable  # that module imports this one

    return printable(location)


class SpecDeprecation(FutureWarning):
    """A spec key that was renamed: the old key still works for one release, with this warning
    naming the file, line and both keys (FutureWarning: Python shows it to users by default)."""


class SpecErrors(GlcError):
    """All spec errors found in one compile, reported together."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.path, e.line or 0, e.message))
        n = len(self.errors)
        super().__init__(f"{n} spec error{'s' if n != 1 else ''}")

    def format(self) -> str:
        lines = [f"{len(self.errors)} spec error{'s' if len(self.errors) != 1 else ''}:"]
        lines += [e.format() for e in self.errors]
        return "\n".join(lines)


def display_path(path: Path, root: Path) -> str:
    """A path relative to the project root when it is inside it, for messages."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
