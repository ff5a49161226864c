"""Reading members of a stranger's zip archive (Inspect ``.eval`` logs, ``.xlsx`` workbooks) safely.

Nothing is extracted to disk, so member names never become paths. A member is read only up to
the size its entry declares and never past ``MAX_MEMBER`` bytes, and the archive's members never
past ``MAX_TOTAL`` together, whatever the compressed size (zip bombs stop at the limit).
Stored and deflated members are read by the standard library; zstd members (method 93, what
Inspect writes) are decompressed by Arrow's zstd codec into a buffer of exactly the declared
size, and the CRC-32 of the entry is checked. Encrypted members and other methods are refused.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

from glc.compiler.errors import GlcError
from glc.importers.safety import clip, preview

MAX_MEMBER = 256 << 20
MAX_TOTAL = 2 << 30
MAX_MEMBERS = 2_000_000
ZSTD = 93
LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
LOCAL_MAGIC = 0x04034B50


class SafeZip:
    def __init__(self, path: Path, what: str, hint: str) -> None:
        self.path, self.what, self.hint = path, what, hint
        self.read_total = 0
        try:
            self.zf = zipfile.ZipFile(path)
            self.infos = {i.filename: i for i in self.zf.infolist()}
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise GlcError(f"not a readable {what} (not a zip archive: {clip(str(exc), 120)})",
                           location=clip(str(path)), hint=hint) from None
        if len(self.infos) > MAX_MEMBERS:
            raise GlcError(f"the archive has {len(self.infos)} members", location=clip(str(path)), hint=hint)

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zf.close()

    def names(self) -> list[str]:
        return list(self.infos)

    def read(self, name: str, limit: int = MAX_MEMBER) -> bytes:
        info = self.infos.get(name)
        where = f"{clip(str(self.path))} member {preview(name)}"
        if info is None:
            raise GlcError(f"no member {preview(name)}", location=clip(str(self.path)), hint=self.hint)
        if info.flag_bits & 0x1:
            raise GlcError("the member is encrypted", location=where, hint=self.hint)
        size = info.file_size
        if size > min(limit, MAX_MEMBER) or self.read_total + size > MAX_TOTAL:
            raise GlcError(f"the member unpacks to {size} bytes, more than glc reads "
                           f"({min(limit, MAX_MEMBER, MAX_TOTAL - self.read_total)})", location=where,
                           hint="a log this large is refused (a zip bomb looks the same); split the run")
        try:
            if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                with self.zf.open(info) as fh:
                    data = fh.read(size + 1)
            elif info.compress_type == ZSTD:
                data = self._zstd(info)
            else:
                raise GlcError(f"compression method {info.compress_type} is not read", location=where,
                               hint=self.hint)
        except GlcError:
            raise
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as exc:
            raise GlcError(f"damaged member ({clip(str(exc), 160)})", location=where,
                           hint="the archive is cut off or damaged; copy it again") from None
        if len(data) != size or zlib.crc32(data) != info.CRC:
            raise GlcError("damaged member (its size or CRC-32 does not match its entry)", location=where,
                           hint="the archive is cut off or damaged; copy it again")
        self.read_total += size
        return data

    def _zstd(self, info: zipfile.ZipInfo) -> bytes:
        import pyarrow as pa

        fp = self.zf.fp
        assert fp is not None
        fp.seek(info.header_offset)
        head = fp.read(LOCAL_HEADER.size)
        if len(head) != LOCAL_HEADER.size or LOCAL_HEADER.unpack(head)[0] != LOCAL_MAGIC:
            raise ValueError("bad local header")
        name_len, extra_len = LOCAL_HEADER.unpack(head)[9:11]
        fp.seek(info.header_offset + LOCAL_HEADER.size + name_len + extra_len)
        raw = fp.read(info.compress_size)
        if len(raw) != info.compress_size:
            raise ValueError("the member is cut off")
        if info.file_size == 0:
            return b""
        return pa.decompress(raw, decompressed_size=info.file_size, codec="zstd", asbytes=True)
