"""A stranger's ``.xlsx``, checked before any reader (calamine, openpyxl) opens it.

A workbook is a zip of XML parts, and both readers trust it more than glc may:

- **size**: each part is read whole; a part that unpacks to gigabytes (a zip bomb of a few MB) is
  refused by its declared size, which Python's zip reader never reads past (and whose CRC it checks);
- **cell references**: calamine allocates a sheet's whole used range at once, so one cell at
  ``XFD4000`` costs gigabytes and one at ``XFD1048576`` aborts the process. The fast reader is used
  only for a sheet whose every cell and row tag starts with a plain reference (``<c r="E2"``,
  ``<row r="2"``: what spreadsheet programs and libraries write) near A1; anything else (another
  spelling, a tag without a reference, a sheet part outside ``xl/worksheets/``, a far cell) is read
  by openpyxl row by row (``SheetParts.far``), which stops at Excel's last row
  (``workbook._rows``). A plainly written reference past Excel's last row or column is refused here;
- **untyped inline strings**: text in ``<is>`` of a cell without ``t="inlineStr"`` is read by
  calamine but not by openpyxl: a score would be silently lost (or read by one reader only);
- **escaped characters**: calamine decodes OOXML's ``_xHHHH_`` escapes in text (``M_x0041_`` reads
  ``MA``), openpyxl does not (and in shared strings only drops ``x005F_``), so the two would read
  another model or task name. A workbook with such a sequence in any XML part is read by openpyxl,
  the reader the official scorer's pandas uses.

Negative shared-string indexes (openpyxl would look them up from the end of the list) are refused
where openpyxl looks them up (``guard_shared_strings``). The worksheets' XML is returned
(``SheetParts``) for the fast reader's own scans, so it is unpacked once.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glc.compiler.errors import GlcError
from glc.importers.safety import clip, preview

MAX_PART = 256 << 20  # bytes one XML part of a workbook may unpack to
MAX_TOTAL = 1 << 30  # bytes all its parts may unpack to together
MAX_ROW = 1_048_576  # Excel's last row and column
MAX_COLUMN = 16_384
# One pass over a sheet finds, after each plainly written cell or row reference: one that is not plain
# (a reference calamine and openpyxl might place elsewhere), one far from A1 (a column from HAA (5,409) on,
# a row from 10,000 on), a row from 1,000 on, a column of three letters (both together make a large grid
# too), and one that may lie past Excel's last row or column (checked exactly). Spreadsheets of scores
# (a few hundred rows, a column per model) match none of them: the pass finds nothing, in C.
_REFS = re.compile(rb'<(?:c|row) r="(?:(?P<limit>[A-Z]{4,}[1-9]|[X-Z][A-Z]{2}[1-9]|[A-Z]{0,3}[1-9][0-9]{6,}")'
                   rb'|(?P<odd>(?![A-Z]{0,3}[1-9][0-9]{0,6}"))|(?P<far>[H-Z][A-Z]{2}[1-9]|[A-Z]{0,3}[1-9][0-9]{4})'
                   rb'|(?P<rows>[A-Z]{0,3}[1-9][0-9]{3}")|(?P<wide>[A-Z]{3}[1-9]))')
_REF = re.compile(rb'([A-Z]*)([0-9]+)"')
# start tags of cells and rows written otherwise than with a space after their name
_OTHER_TAG = re.compile(rb"<(?:c|row)[>/\t\n\r]")
# a reference that is not small and plain: then each is looked at (_far_refs)
_LARGE_CELL = re.compile(rb'<c r="(?![A-Z]{1,2}[1-9][0-9]{0,2}"|[A-G][A-Z]{2}[1-9][0-9]{0,2}")')
_LARGE_ROW = re.compile(rb'<row r="(?![1-9][0-9]{0,2}")')
_PREFIXED = re.compile(rb"<[\w.-]+:(?:c|row)[\s/>]")
_PREFIX_END = re.compile(rb":(?:c|row)[\s/>]")  # what a prefixed cell or row tag holds: one fast pass first
_ODD_SHARED = re.compile(rb't="s"><v>(?![0-9]{1,9}</v>)')
_INLINE_TYPE = re.compile(rb"""\st\s*=\s*["']inlineStr["']""")
_CELL_REF = re.compile(rb'\sr\s*=\s*["\']([^"\']{1,40})["\']')
_ESCAPED = re.compile(rb"_x[0-9A-Fa-f]{4}_")  # an OOXML character escape, which the two readers read apart
TAG_WINDOW = 4096  # bytes searched back from an inline string for its cell's start tag
DAMAGED_HINT = ("the workbook is damaged or was not written by a spreadsheet program; "
                "re-save it from Excel or LibreOffice")
BOMB_HINT = "a score workbook needs a few MB; a zip bomb looks like this"


@dataclass
class SheetParts:
    """The worksheets' XML by zip member, and whether any sheet must be read row by row (``far``)."""

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
                           location=clip(str(path)), hint=BOMB_HINT)
        for info in infos:
            if info.file_size > MAX_PART:
                raise GlcError(f"the part {preview(info.filename)} unpacks to {info.file_size:,} bytes, more than "
                               f"glc reads ({MAX_PART:,})", location=clip(str(path)), hint=BOMB_HINT)
        titles = _titles(zf)
        # a sheet part anywhere else than xl/worksheets/ is one the fast reader's scans do not see
        parts.far = any(not name.startswith("xl/worksheets/") for name in titles)
        sheets = set(titles) | {i.filename for i in infos
                                if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")}
        for info in infos:
            name = info.filename
            if name not in sheets:
                # shared strings (wherever the workbook's relations put them) may hold escapes too
                if not parts.far and name.lower().endswith(".xml") and \
                        _escaped(_read(zf, info, f"{clip(str(path))} part {preview(name)}")):
                    parts.far = True
                continue
            where = f"{clip(str(path))} sheet {preview(titles.get(name, name))}"
            data = _read(zf, info, where)
            parts.far = _far(data, where) or _escaped(data) or parts.far
            _untyped_inline(data, where)
            parts.xml[name] = data
    return parts


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> bytes:
    """A part's bytes: never more than the declared size (checked above); the CRC is checked."""
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError) as exc:
        raise GlcError(f"damaged part ({clip(str(exc), 160)})", location=where, hint=DAMAGED_HINT) from None


def _escaped(data: bytes) -> bool:
    """Whether the XML holds an ``_xHHHH_`` escape (one search in C; the pattern only where '_x' is)."""
    return data.find(b"_x") >= 0 and _ESCAPED.search(data) is not None


def _far(data: bytes, where: str) -> bool:
    """Whether the sheet must be read row by row (see the module docstring); GlcError for a plainly written
    reference past Excel's last row or column. A few scans in C for a sheet of small plain references (the
    common case); ``_far_refs`` looks at each reference only when some is not."""
    if data.count(b"<c ") != data.count(b'<c r="') or data.count(b"<row ") != data.count(b'<row r="') \
            or _OTHER_TAG.search(data):
        return True  # a tag without a plain reference first
    if _PREFIX_END.search(data) and _PREFIXED.search(data):
        return True  # namespace-prefixed cells: not counted above
    # a shared-string cell whose index is anything but plain digits right after its tag: calamine reads a
    # negative one from the end of the list (openpyxl is guarded, see guard_shared_strings)
    if data.count(b't="s"') != data.count(b't="s"><v>') or data.find(b"t='s'") >= 0 or _ODD_SHARED.search(data):
        return True
    if _LARGE_CELL.search(data) is None and _LARGE_ROW.search(data) is None:
        return False  # every cell within GZZ999, every row within 999
    return _far_refs(data, where)


def _far_refs(data: bytes, where: str) -> bool:
    """``_far`` for a sheet with some reference that is not small: each looked at."""
    far = many_rows = wide = False
    for found in _REFS.finditer(data):
        kind = found.lastgroup
        if kind == "limit":
            ref = _REF.match(data, found.start(kind))
            if ref is not None:
                letters, digits = ref.group(1), ref.group(2)
                shown = (letters + digits).decode("ascii")
                if int(digits) > MAX_ROW:
                    what = f"cell {preview(shown)}" if letters else f"row {preview(shown)}"
                    raise GlcError(f"{what} lies past Excel's last row ({MAX_ROW:,})", location=where,
                                   hint=DAMAGED_HINT)
                if column_number(letters) > MAX_COLUMN:
                    raise GlcError(f"cell {preview(shown)} lies past Excel's last column (XFD)", location=where,
                                   hint=DAMAGED_HINT)
            far = True
        elif kind in ("odd", "far"):
            far = True
        elif kind == "rows":
            many_rows = True
        else:
            wide = True
        if far or (many_rows and wide):
            return True
    return False


def _untyped_inline(data: bytes, where: str) -> None:
    """GlcError for an inline string (``<is>``) in a cell not typed ``inlineStr``: calamine reads its text,
    openpyxl no value, so the careful reader would take a score for "no score". The cell's start tag is
    looked for within ``TAG_WINDOW`` bytes before the string (a start tag is never longer)."""
    tag = untyped_inline_tag(data)
    if tag is not None:
        ref = _CELL_REF.search(tag)
        cell = ref.group(1).decode("ascii", "replace") if ref else "?"
        raise GlcError(f"cell {preview(cell)} holds an inline string but is not typed inlineStr (some readers "
                       "show its text, openpyxl reads no value)", location=where, hint=DAMAGED_HINT)


def untyped_inline_tag(data: bytes) -> bytes | None:
    """The start tag of the first cell holding an inline string (``<is>``) without ``t="inlineStr"`` (b"" when
    no cell tag lies within ``TAG_WINDOW`` bytes before it), or None. (Counting is not enough: an empty
    inline string is a typed cell without one.) Each ``<is>`` is checked against the nearest cell tag
    before it ("<c" then white space or ">": not <col>, <cfRule>), searched back within the window."""
    at = data.find(b"<is>")
    while at >= 0:
        floor = max(0, at - TAG_WINDOW)
        start = data.rfind(b"<c", floor, at)
        while start >= 0 and data[start + 2] not in b" \t\r\n>":
            start = data.rfind(b"<c", floor, start)
        end = data.find(b">", start, at) if start >= 0 else -1
        tag = data[start:end] if end >= 0 else b""
        if _INLINE_TYPE.search(tag) is None:
            return tag
        at = data.find(b"<is>", at + 4)
    return None


class _SharedStrings(list):
    """openpyxl's shared strings, looked up by a cell's index: a negative one is an error, not the
    string that many places from the end (a damaged cell would read another cell's text)."""

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, int) and index < 0:
            raise IndexError(f"shared-string index {index} is negative (the workbook is damaged)")
        return super().__getitem__(index)


def guard_shared_strings(wb: Any) -> None:
    """Make openpyxl's workbook ``wb`` refuse negative shared-string indexes (see ``_SharedStrings``): the
    workbook's list and the one each read-only sheet took when the workbook was loaded."""
    strings = getattr(wb, "shared_strings", None)
    if isinstance(strings, list):
        wb.shared_strings = _SharedStrings(strings)
    for ws in getattr(wb, "worksheets", []):
        own = getattr(ws, "_shared_strings", None)
        if isinstance(own, list):
            ws._shared_strings = _SharedStrings(own)


_TAG = {"rel": re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>"), "sheet": re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")}
_ATTR = re.compile(rb"""\s([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _attributes(tag: bytes) -> dict[str, str]:
    import html

    return {m.group(1).decode("ascii", "replace"): html.unescape((m.group(2) if m.group(2) is not None
                                                                 else m.group(3)).decode("utf-8", "replace"))
            for m in _ATTR.finditer(tag)}


def _titles(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet part (zip member) -> sheet title, from workbook.xml and its relationships ({} when they do not
    read). Read by patterns, not by an XML parser: these parts come from strangers too (entities)."""
    try:
        rels = {}
        for tag in _TAG["rel"].findall(zf.read("xl/_rels/workbook.xml.rels")):
            a = _attributes(tag)
            if "Id" in a and "Target" in a and a.get("TargetMode") != "External":
                target = a["Target"]
                rels[a["Id"]] = posixpath.normpath(target.lstrip("/") if target.startswith("/") else "xl/" + target)
        titles = {}
        for tag in _TAG["sheet"].findall(zf.read("xl/workbook.xml")):
            a = _attributes(tag)
            rel = next((v for k, v in a.items() if k.endswith(":id")), None)
            if rel in rels and "name" in a:
                titles[rels[rel]] = a["name"]
        return titles
    except Exception:  # noqa: BLE001 - titles only make messages clearer; the readers report a broken book
        return {}
