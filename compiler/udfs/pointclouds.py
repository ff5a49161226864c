"""Point-cloud metrics on PLY files: Chamfer distance, part-segmentation instance mIoU and the
per-label counts of pooled (semantic) mIoU.

A PLY file (ASCII, binary little- or big-endian) is read for its ``vertex`` element: the
coordinates ``x y z`` and, for segmentation, one integer label per point, the first property
named ``label``, ``class``, ``part``, ``semantic`` or ``scalar_label``. Elements before
``vertex`` are skipped (in a binary file only when their properties are scalars). A predicted
labelled cloud lists the reference's points in the reference's order: point *k* of the
prediction is labelled for point *k* of the reference; a prediction with another number of
points (or none, or without labels) labels no point.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from glc.compiler.udfs.dense import LabelCount, label_counts

LABEL_NAMES = ("label", "class", "part", "semantic", "scalar_label")
MAX_POINTS = 50_000_000
_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
          "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
          "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


def read_ply(path: str | None) -> dict[str, np.ndarray] | None:
    """The vertex properties of a PLY file by name, or None when it cannot be read."""
    if not path or not os.path.isfile(path):  # a FIFO or device would block or never end
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        end = data.find(b"end_header")
        if not data.startswith(b"ply") or end < 0:
            return None
        body = data.index(b"\n", end) + 1
        header = data[:end].decode("ascii", "replace").splitlines()
        fmt = next((ln.split()[1] for ln in header if ln.startswith("format ")), "")
        elements: list[tuple[str, int, list[tuple[str, str | None]]]] = []  # name, count, (prop, type or None: list)
        for line in header:
            parts = line.split()
            if parts[:1] == ["element"] and len(parts) == 3:
                elements.append((parts[1], int(parts[2]), []))
            elif parts[:1] == ["property"] and elements:
                if parts[1] == "list":
                    elements[-1][2].append((parts[-1], None))
                elif len(parts) == 3 and parts[1] in _TYPES:
                    elements[-1][2].append((parts[2], _TYPES[parts[1]]))
                else:
                    return None
        return _vertices(data[body:], fmt, elements)
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None


def _vertices(body: bytes, fmt: str, elements: list[tuple[str, int, list[tuple[str, str | None]]]]
              ) -> dict[str, np.ndarray] | None:
    if fmt == "ascii":
        lines = body.decode("ascii", "replace").splitlines()
        row = 0
        for name, count, props in elements:
            if name == "vertex":
                if any(t is None for _, t in props) or count > MAX_POINTS:
                    return None
                rows = [ln.split() for ln in lines[row:row + count]]
                if len(rows) != count or any(len(r) < len(props) for r in rows):
                    return None
                table = np.array([r[:len(props)] for r in rows], dtype=np.float64).reshape(count, len(props))
                return {p: table[:, k] for k, (p, _) in enumerate(props)}
            row += count
        return None
    order = {"binary_little_endian": "<", "binary_big_endian": ">"}.get(fmt)
    if order is None:
        return None
    offset = 0
    for name, count, props in elements:
        if any(t is None for _, t in props):
            return None
        dtype = np.dtype([(p, order + str(t)) for p, t in props])
        if name == "vertex":
            if count > MAX_POINTS or offset + dtype.itemsize * count > len(body):
                return None
            records: Any = np.frombuffer(body, dtype=dtype, count=count, offset=offset)  # a structured array
            return {p: records[p].astype(np.float64) for p, _ in props}
        offset += dtype.itemsize * count
    return None


def points(cloud: dict[str, np.ndarray] | None) -> np.ndarray | None:
    if cloud is None or not all(k in cloud for k in "xyz"):
        return None
    return np.stack([cloud["x"], cloud["y"], cloud["z"]], axis=1)


def labels(cloud: dict[str, np.ndarray] | None) -> np.ndarray | None:
    name = next((n for n in LABEL_NAMES if cloud is not None and n in cloud), None)
    return None if name is None or cloud is None else cloud[name].astype(np.int64)


def chamfer(pred: str | None, ref: str | None) -> float | None:
    """Chamfer distance (the L2-squared form of PCN and PyTorch3D): the mean over predicted points
    of the squared distance to the nearest reference point plus the mean over reference points
    of the squared distance to the nearest predicted point. A prediction without points is the
    single point (0, 0, 0)."""
    from scipy.spatial import cKDTree

    r = points(read_ply(ref))
    if r is None or len(r) == 0:
        return None
    p = points(read_ply(pred))
    if p is None or len(p) == 0:
        p = np.zeros((1, 3))
    d_pr, _ = cKDTree(r).query(p)
    d_rp, _ = cKDTree(p).query(r)
    return float(np.mean(d_pr**2) + np.mean(d_rp**2))


def _label_pair(pred: str | None, ref: str | None) -> tuple[np.ndarray | None, np.ndarray] | None:
    r = labels(read_ply(ref))
    if r is None:
        return None
    p = labels(read_ply(pred))
    return (p if p is not None and p.shape == r.shape else None), r


def part_miou(pred: str | None, ref: str | None) -> float | None:
    """A shape's mean part IoU (PointNet's instance mIoU, per shape): the mean over the labels of
    the reference or the prediction of |P_l & G_l| / |P_l | G_l|."""
    pair = _label_pair(pred, ref)
    if pair is None:
        return None
    p, r = pair
    if p is None:
        return 0.0
    ious = [np.count_nonzero((p == lab) & (r == lab)) / np.count_nonzero((p == lab) | (r == lab))
            for lab in np.union1d(p, r)]
    return float(np.mean(ious))


def point_label_counts(pred: str | None, ref: str | None) -> list[LabelCount] | None:
    """``dense.label_counts`` of the points' labels (for pooled semantic mIoU)."""
    pair = _label_pair(pred, ref)
    return None if pair is None else label_counts(pair[0], pair[1])

