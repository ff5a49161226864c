"""Guards shared by every importer against hostile files: short echoes, UTF-8 and Unicode checks.

Workbooks, score tables and prediction files come from strangers. A cell may hold 10 MB, so
every value an importer message echoes goes through ``preview`` (80 characters and the full
length) and every message line through ``clip``; a file may not be UTF-8, so bytes are decoded
by ``decode_utf8``, which names the line and byte offset; a JSON string may carry a lone
surrogate (``"\\ud800"``) that neither Arrow nor DuckDB can encode, so strings are checked by
``lone_surrogate`` before anything is stored.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from glc.compiler.errors import GlcError
from glc.compiler.suggest import did_you_mean

PREVIEW_CHARS = 80
LINE_CHARS = 400
SUGGEST_MAX_CHARS = 200
SURROGATE = re.compile("[\ud800-\udfff]")
UTF8_HINT = "save the file as UTF-8 (an editor's 'save with encoding', or: iconv -f latin1 -t utf-8)"
SURROGATE_HINT = ("\\ud800-\\udbff must be followed by \\udc00-\\udfff (a pair encodes one character); "
                  "fix the program that wrote the file")


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters plus the full length, so a 10 MB cell echoes short.

    repr also escapes lone surrogates, which would make printing the message fail.
    """
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value)} characters)"
    text = repr(value)
    return f"{text[:limit]}… ({len(text)} characters)" if len(text) > limit else text


def clip(text: str, limit: int = LINE_CHARS) -> str:
    """A message part safe to print: lone surrogates, control characters (but tab; a newline in a file
    name would forge a line of output) and bidirectional overrides backslash-escaped, at most ``limit``
    characters."""
    safe = printable(text)
    return f"{safe[:limit]}… ({len(safe)} characters)" if len(safe) > limit else safe


def printable(text: str) -> str:
    """``text`` as ``clip`` shows it, whole: lone surrogates (a file name's undecodable bytes), control
    characters but tab, and bidirectional overrides backslash-escaped (a newline as ``\\x0a``, ESC as
    ``\\x1b``). For names read from disk or a stranger's file that a listing prints in full, such as the
    folders of a data tree: a newline in one would forge a line of the listing, an escape sequence drive
    the terminal."""
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _SHOWN_CONTROL.sub(_escaped, safe) if _SHOWN_CONTROL.search(safe) else safe


# characters that drive a terminal (ESC starts sequences that set its title or write the clipboard; NUL,
# BEL, backspace, carriage return and newline forge or hide lines) or reorder what it shows (bidirectional
# overrides and isolates)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SHOWN_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MODEL_NAME_CHARS = 200


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a model name, or None. Model names are printed on boards, in terminals and
    in files: a lone surrogate cannot be stored, a control character would drive the terminal it is
    printed on (or forge a line), a bidirectional override would show it as another name, and a name of
    more than ``MODEL_NAME_CHARS`` characters is no name. A name not in NFC (an accent as a combining
    mark, as macOS file names write it) would print exactly like its composed form on a board, as a
    second row for what reads as one model."""
    bad = lone_surrogate(name)
    if bad:
        return bad
    found = CONTROL.search(name)
    if found is not None:
        return (f"control character U+{ord(found.group()):04X} at character {found.start() + 1} "
                "(model names are printed in terminals: no control or bidirectional characters)")
    if len(name) > MODEL_NAME_CHARS:
        return f"{len(name)} characters, more than {MODEL_NAME_CHARS}"
    if not unicodedata.is_normalized("NFC", name):  # 'cafe' + U+0301 and 'café' print alike, two models
        return (f"not in composed Unicode form (NFC): it prints like {unicodedata.normalize('NFC', name)!r} but "
                "would be another model than that name; write it composed (NFC)")
    return None


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """``did_you_mean`` for names of a sane length; a huge name gets no suggestion (nothing is close)."""
    return did_you_mean(name, candidates) if len(name) <= SUGGEST_MAX_CHARS else None


def suggest_task(name: str, task_ids: Iterable[str]) -> str | None:
    """``did_you_mean_task`` (names after the modality prefix compared) for names of a sane length."""
    from glc.compiler.suggest import did_you_mean_task

    return did_you_mean_task(name, task_ids) if len(name) <= SUGGEST_MAX_CHARS else None


class NotRegularFile(OSError):
    """A path that is a folder, a FIFO or a device where a file is expected."""


def read_regular(path: Path | str) -> tuple[bytes, os.stat_result]:
    """(the bytes, the version) of a regular file; NotRegularFile for anything else. It is opened without
    waiting on a FIFO, and a device (a link to /dev/zero) is never read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"{path} is not a regular file")
        with open(fd, "rb", closefd=False) as fh:
            return fh.read(), st
    finally:
        os.close(fd)


def lone_surrogate(text: str) -> str | None:
    """The message for the first lone surrogate in ``text`` (1-based character), or None."""
    found = SURROGATE.search(text)
    if found is None:
        return None
    return f"invalid Unicode: lone surrogate U+{ord(found.group()):04X} at character {found.start() + 1}"


UTF8_BOM = b"\xef\xbb\xbf"  # the byte order mark some editors (Notepad) put before UTF-8 text: skipped


def decode_utf8(data: bytes, path: Path, *, first_line: int = 1, offset: int = 0) -> str:
    """``data`` as text; else a GlcError naming the line and byte offset of the first bad byte.

    ``first_line``/``offset`` place ``data`` in its file when it is one line of it.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if offset == 0 and data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 byte order mark opens the file
            raise GlcError("the file is UTF-16 text (it starts with a UTF-16 byte order mark), not UTF-8",
                           location=clip(str(path)),
                           hint="save it as UTF-8 (an editor's 'save with encoding', or: iconv -f utf-16 -t utf-8)"
                           ) from None
        line = first_line + data.count(b"\n", 0, exc.start)
        bad = data[exc.start:exc.end].hex(" ")
        raise GlcError(f"not valid UTF-8: byte(s) {bad} at byte offset {offset + exc.start} ({exc.reason})",
                       location=f"{clip(str(path))}:{line}", hint=UTF8_HINT) from None


def require_utf8(path: Path) -> None:
    """Refuse a text file that is not UTF-8 before a reader that cannot say where (polars) sees it."""
    decode_utf8(path.read_bytes(), path)


def path_problem(path: Path) -> GlcError | None:
    """A file name that is not valid Unicode (surrogate-escaped bytes) cannot be stored as the source."""
    message = lone_surrogate(str(path))
    if message is None:
        return None
    return GlcError(f"the file name is not valid UTF-8 ({message})", location=clip(str(path)),
                    hint="rename the file")
