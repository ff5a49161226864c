"""A stranger's ``.xlsx``, checked before any reader (calamine, openpyxl) opens it.

A workbook is a zip of XML parts, and both readers trust it more than glc may:

- **size**: each part is read whole; a part that unpacks to gigabytes (a zip bomb of a few MB) is
  refused by its declared size, which Python's zip reader never reads past (and whose CRC it checks);
- **cell references**: a reference past Excel's last row (1,048,576) or column (XFD) cannot come from
  a spreadsheet program, and openpyxl walks every row up to it (two billion for ``A2000000000``);
- **far cells**: calamine allocates the sheet's whole used range at once, so one cell at ``XFD4000``
  costs gigabytes and one at ``XFD1048576`` aborts the process; such a sheet is read by openpyxl,
  which walks it row by row (the fast reader is skipped, see ``SheetParts.far``);
- **shared-string indexes**: openpyxl looks a negative index up from the end of the list, so a
  damaged cell would read another cell's text;
- **untyped inline strings**: text in ``<is>`` of a cell without ``t="inlineStr"`` is read by
  calamine but not by openpyxl: a score would be silently lost (or read by one reader only).

The worksheets' XML is returned (``SheetParts``) for the fast reader's own scans, so it is unpacked once.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from glc.compiler.errors import GlcError
from glc.importers.safety import clip, preview

MAX_PART = 256 << 20  # bytes one XML part of a workbook may unpack to
MAX_TOTAL = 1 << 30  # bytes all its parts may unpack to together
MAX_ROW = 1_048_576  # Excel's last row and column
MAX_COLUMN = 16_384
# references the fast reader's dense grid would be large for: a column from HAA (5,409) on, a row from
# 10,000 on (the official workbooks: a few hundred rows, a column per model); found without a Python step
# per cell, then each checked
_FAR = re.compile(rb'r="(?:[A-Z]{4}|[H-Z][A-Z]{2}|[A-Z]{0,3}[1-9]\d{4})')
_REF = re.compile(rb'r="([A-Z]*)(\d*)"')
_NEGATIVE = re.compile(rb"<v>\s*-")
_CELL_REF = re.compile(rb'\sr="([^"]{1,40})"')
_SHARED_TYPE = re.compile(rb"""\st\s*=\s*["']s["']""")
DAMAGED_HINT = ("the workbook is damaged or was not written by a spreadsheet program; "
                "re-save it from Excel or LibreOffice")


@dataclass
class SheetParts:
    """The worksheets' XML by zip member, and whether any sheet has a cell far from A1."""

    xml: dict[str, bytes] = field(default_factory=dict)
    far: bool = False


def column_number(letters: bytes) -> int:
    n = 0
    for b in letters:
        n = n * 26 + (b - 64)
    return n


def check_xlsx(path: Path, hint: str) -> SheetParts:
    """The worksheets of ``path`` after the checks above; GlcError (located, store untouched) at the first
    thing refused. A file that is no zip at all is left to the caller's own message."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise GlcError(f"not a readable .xlsx workbook ({clip(str(exc), 120)})", location=clip(str(path)),
                       hint=hint) from None
    parts = SheetParts()
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL:
            raise GlcError(f"the workbook unpacks to {total:,} bytes, more than glc reads ({MAX_TOTAL:,})",
                           location=clip(str(path)), hint="a score workbook needs a few MB; a zip bomb looks like this")
        titles = _titles(zf)
        for info in infos:
            name = info.filename
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            where = f"{clip(str(path))} sheet {preview(titles.get(name, name))}"
            if info.file_size > MAX_PART:
                raise GlcError(f"the sheet unpacks to {info.file_size:,} bytes, more than glc reads ({MAX_PART:,})",
                               location=where, hint="a score workbook needs a few MB; a zip bomb looks like this")
            try:
                data = zf.read(info)  # never more than the declared size; the CRC is checked
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError) as exc:
                raise GlcError(f"damaged sheet ({clip(str(exc), 160)})", location=where, hint=DAMAGED_HINT) from None
            parts.far = _far_references(data, where) or parts.far
            _negative_shared(data, where)
            _untyped_inline(data, where)
            parts.xml[name] = data
    return parts


def _in_cell_or_row_tag(data: bytes, at: int) -> bool:
    """Whether position ``at`` lies inside a ``<c ...>`` or ``<row ...>`` start tag (not in text)."""
    lt = data.rfind(b"<", 0, at)
    if lt < 0 or data.rfind(b">", lt, at) >= 0:
        return False
    name = data[lt + 1:at].split(None, 1)[0] if data[lt + 1:at].strip() else b""
    return name.rsplit(b":", 1)[-1] in (b"c", b"row")


def _far_references(data: bytes, where: str) -> bool:
    """Whether a cell or row lies far from A1; GlcError for one past Excel's last row or column."""
    far = False
    for found in _FAR.finditer(data):
        at = found.start()
        if at == 0 or data[at - 1] not in b" \t\r\n" or not _in_cell_or_row_tag(data, at):
            continue
        ref = _REF.match(data, at)
        if ref is None:
            continue
        letters, digits = ref.group(1), ref.group(2)
        row = int(digits) if digits and len(digits) <= 12 else MAX_ROW + 1
        column = column_number(letters) if len(letters) <= 3 else MAX_COLUMN + 1
        shown = (letters + digits).decode("ascii")
        if row > MAX_ROW:
            what = f"cell {preview(shown)}" if letters else f"row {preview(shown)}"
            raise GlcError(f"{what} lies past Excel's last row ({MAX_ROW:,})", location=where, hint=DAMAGED_HINT)
        if column > MAX_COLUMN:
            raise GlcError(f"cell {preview(shown)} lies past Excel's last column (XFD)", location=where,
                           hint=DAMAGED_HINT)
        far = True
    return far


def _negative_shared(data: bytes, where: str) -> None:
    """GlcError for a shared-string cell (``t="s"``) whose index is negative."""
    for found in _NEGATIVE.finditer(data):
        lt = data.rfind(b"<c", 0, found.start())
        tag_end = data.find(b">", lt)
        if lt < 0 or tag_end < 0:
            continue
        tag = data[lt:tag_end]
        if _SHARED_TYPE.search(tag) is None:
            continue
        ref = _CELL_REF.search(tag)
        cell = ref.group(1).decode("ascii", "replace") if ref else "?"
        raise GlcError(f"cell {preview(cell)}: a shared-string index is negative", location=where, hint=DAMAGED_HINT)


_TAG = {"rel": re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>"), "sheet": re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")}
_ATTR = re.compile(rb"""\s([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _attributes(tag: bytes) -> dict[str, str]:
    import html

    return {m.group(1).decode("ascii", "replace"): html.unescape((m.group(2) if m.group(2) is not None
                                                                 else m.group(3)).decode("utf-8", "replace"))
            for m in _ATTR.finditer(tag)}


_INLINE_TYPE = re.compile(rb"""\st\s*=\s*["']inlineStr["']""")


def _untyped_inline(data: bytes, where: str) -> None:
    """GlcError for an inline string (``<is>``) in a cell not typed ``inlineStr``: calamine reads its text,
    openpyxl no value, so the careful reader would take a score for "no score"."""
    at = data.find(b"<is>")
    while at >= 0:
        start = data.rfind(b"<c", 0, at)
        while start >= 0 and data[start + 2] not in b" \t\r\n>":
            start = data.rfind(b"<c", 0, start)
        tag = data[start:data.find(b">", start)] if start >= 0 else b""
        if start >= 0 and _INLINE_TYPE.search(tag) is None:
            ref = _CELL_REF.search(tag)
            cell = ref.group(1).decode("ascii", "replace") if ref else "?"
            raise GlcError(f"cell {preview(cell)} holds an inline string but is not typed inlineStr (some readers "
                           "show its text, openpyxl reads no value)", location=where, hint=DAMAGED_HINT)
        at = data.find(b"<is>", at + 4)


def _titles(zf: zipfile.ZipFile) -> dict[str, str]:
    """Zip member -> sheet title, from workbook.xml and its relationships ({} when they do not read).
    Read by patterns, not by an XML parser: these parts come from strangers too (entities)."""
    try:
        if zf.getinfo("xl/workbook.xml").file_size > MAX_PART or \
                zf.getinfo("xl/_rels/workbook.xml.rels").file_size > MAX_PART:
            return {}
        rels = {}
        for tag in _TAG["rel"].findall(zf.read("xl/_rels/workbook.xml.rels")):
            a = _attributes(tag)
            if "Id" in a and "Target" in a:
                rels[a["Id"]] = "xl/" + a["Target"].lstrip("/").removeprefix("xl/")
        titles = {}
        for tag in _TAG["sheet"].findall(zf.read("xl/workbook.xml")):
            a = _attributes(tag)
            rel = next((v for k, v in a.items() if k.endswith(":id")), None)
            if rel in rels and "name" in a:
                titles[rels[rel]] = a["name"]
        return titles
    except Exception:  # noqa: BLE001 - titles only make messages clearer; the readers report a broken book
        return {}
