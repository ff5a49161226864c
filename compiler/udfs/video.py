"""Frames of a video file, decoded without FFmpeg, for the metrics that compare videos frame by frame.

Two containers are read:

* MP4 / QuickTime (ISO-BMFF) whose video track stores each frame as a JPEG image (MJPEG: the
  ``mp4v`` sample entry with object type 0x6C, or a ``jpeg``/``mjpa``/``mjpb`` entry), as
  General-Bench's synthetic tree (``tests/helpers/gb_tree.py``) writes them: the samples are found
  through the box tree (``moov/trak/mdia/minf/stbl``: sizes ``stsz``, chunk offsets
  ``stco``/``co64``, samples per chunk ``stsc``) and each is decoded by Pillow;
* any multi-frame image Pillow reads (animated GIF, APNG, animated WebP, multi-page TIFF).

A file of another codec (H.264, VP9: they need FFmpeg), a damaged file or a missing one has no
frames (``None``): the metric scores it as it scores a missing prediction.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator

import numpy as np

MAX_FRAMES = 100_000
JPEG_ENTRIES = (b"jpeg", b"mjpa", b"mjpb", b"mp4v", b"avc1")  # mp4v/avc1 are tried too: Pillow decides


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, end) of the boxes between start and end."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        head = 8
        if size == 1 and pos + 16 <= end:
            (size,) = struct.unpack(">Q", data[pos + 8:pos + 16])
            head = 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            return
        yield kind, pos + head, pos + size
        pos += size


def _child(data: bytes, span: tuple[int, int], kind: bytes) -> tuple[int, int] | None:
    return next(((s, e) for k, s, e in _boxes(data, *span) if k == kind), None)


def _path(data: bytes, span: tuple[int, int] | None, *kinds: bytes) -> tuple[int, int] | None:
    for kind in kinds:
        if span is None:
            return None
        span = _child(data, span, kind)
    return span


def _samples(data: bytes) -> list[bytes] | None:
    """The samples of the first video track of an ISO-BMFF file, or None."""
    moov = _child(data, (0, len(data)), b"moov")
    if moov is None:
        return None
    for kind, s, e in _boxes(data, *moov):
        if kind != b"trak":
            continue
        mdia = _path(data, (s, e), b"mdia")
        hdlr = _path(data, mdia, b"hdlr")
        if hdlr is None or data[hdlr[0] + 8:hdlr[0] + 12] != b"vide":
            continue
        stbl = _path(data, mdia, b"minf", b"stbl")
        if stbl is None:
            return None
        stsd, stsz, stsc = (_child(data, stbl, k) for k in (b"stsd", b"stsz", b"stsc"))
        stco, co64 = _child(data, stbl, b"stco"), _child(data, stbl, b"co64")
        if stsd is None or stsz is None or stsc is None or (stco is None and co64 is None):
            return None
        if data[stsd[0] + 12:stsd[0] + 16] not in JPEG_ENTRIES:
            return None
        uniform, count = struct.unpack(">II", data[stsz[0] + 4:stsz[0] + 12])
        if count > MAX_FRAMES:
            return None
        table_start = stsz[0] + 12
        sizes = [uniform] * count if uniform else \
            list(struct.unpack(f">{count}I", data[table_start:table_start + 4 * count]))
        if co64 is not None:
            (n,) = struct.unpack(">I", data[co64[0] + 4:co64[0] + 8])
            offsets = list(struct.unpack(f">{n}Q", data[co64[0] + 8:co64[0] + 8 + 8 * n]))
        else:
            assert stco is not None
            (n,) = struct.unpack(">I", data[stco[0] + 4:stco[0] + 8])
            offsets = list(struct.unpack(f">{n}I", data[stco[0] + 8:stco[0] + 8 + 4 * n]))
        (runs,) = struct.unpack(">I", data[stsc[0] + 4:stsc[0] + 8])
        table = [struct.unpack(">III", data[stsc[0] + 8 + 12 * k:stsc[0] + 20 + 12 * k]) for k in range(runs)]
        out: list[bytes] = []
        for r, (first, per_chunk, _) in enumerate(table):
            last = table[r + 1][0] - 1 if r + 1 < len(table) else len(offsets)
            for chunk in range(first, last + 1):
                if chunk - 1 >= len(offsets):
                    return None
                pos = offsets[chunk - 1]
                for _ in range(per_chunk):
                    if len(out) == count:
                        break
                    size = sizes[len(out)]
                    if pos + size > len(data):
                        return None
                    out.append(data[pos:pos + size])
                    pos += size
        return out if len(out) == count else None
    return None


def _array(img: object, mode: str | None) -> np.ndarray:
    from PIL import Image

    assert isinstance(img, Image.Image)
    if mode is not None:
        img = img.convert(mode)
    elif img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.float64)


def read_frames(path: str | None, mode: str | None = None) -> list[np.ndarray] | None:
    """The frames of a video as float arrays (``mode``: Pillow mode to convert each frame to, e.g.
    ``"L"``; by default L or RGB as stored); None when the file has no frames this module can read."""
    from PIL import Image, ImageSequence

    if not path or not os.path.isfile(path):  # a FIFO or device would block or never end
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        if data[4:8] in (b"ftyp", b"moov", b"wide", b"mdat", b"free"):
            samples = _samples(data)
            if not samples:
                return None
            frames = []
            for sample in samples:
                with Image.open(io.BytesIO(sample)) as im:
                    frames.append(_array(im, mode))
            return frames
        with Image.open(io.BytesIO(data)) as im:
            return [_array(f.copy(), mode) for f in ImageSequence.Iterator(im)][:MAX_FRAMES] or None
    except (OSError, ValueError, struct.error, SyntaxError, Image.DecompressionBombError):
        return None
