"""Reading the files of a project that may come from a stranger (specs, SQL templates).

A project is a folder someone else may have written, symbolic links included (git checks them out).
A link under ``specs/`` or ``sql/`` to a file outside the project would make glc read it (a SQL
template's ``{% include %}`` pastes it into a model, and so into the store); a link to ``/dev/zero``
or a FIFO would make a read never end. So a project file is read only when its real path lies inside
the project's real root, and only when it is a regular file: it is opened without blocking (a FIFO
opens at once) and refused unless the opened file is one, before a byte is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class ProjectFileError(OSError):
    """A project file that glc does not read: it leads outside the project or is not a regular file."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def outside_problem(path: Path | str, root: Path | str) -> str | None:
    """Why ``path`` may not be read as a file of the project at ``root`` (its real path, every link
    followed, lies outside the root's), or None."""
    try:
        real = Path(os.path.realpath(path))
        inside = real.is_relative_to(os.path.realpath(root))
    except (OSError, ValueError, RuntimeError):
        return "it cannot be resolved"
    if inside:
        return None
    return f"it leads outside the project (to {real}); a project's specs and SQL are read only inside it"


def read_regular(path: Path | str) -> bytes:
    """The bytes of ``path`` when it is a regular file; ProjectFileError otherwise (a FIFO, a device,
    a folder), decided on the opened file, so that nothing is read from one."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ProjectFileError("it is not a regular file (a FIFO, a device or a folder); glc reads "
                                   "only regular files of a project")
        # a regular file's reads block as usual whatever O_NONBLOCK says; read to its end (it may have
        # grown since fstat), a whole small file in one call (the project cache reads about a thousand)
        chunks = [os.read(fd, st.st_size + 1 if st.st_size else 65536)]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_project_file(path: Path | str, root: Path | str | None) -> bytes:
    """``read_regular`` of a file that must also lie inside ``root`` (when given)."""
    if root is not None and (problem := outside_problem(path, root)) is not None:
        raise ProjectFileError(problem)
    return read_regular(path)
