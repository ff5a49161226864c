"""Metrics over a video's per-frame boxes: tracking success AUC and spatio-temporal grounding vIoU.

The reference is the instance's box list, one ``[x1, y1, x2, y2]`` per frame in frame order (a
frame where the target is absent has a box of zero area). The prediction is a JSON list with one
entry per frame in the same order: a box ``[x1, y1, x2, y2]``, ``{"bbox": [...]}``, or ``null``
(or a zero-area box) for a frame where the model sees no target; ``{"boxes": [...]}`` is read as
its list. Frame *k* of the prediction is compared with frame *k* of the reference; predicted
frames past the reference's last are ignored, and a reference frame the prediction does not
reach has no predicted box. An answer that is not such a list has no box in any frame.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

THRESHOLDS = np.linspace(0.0, 1.0, 21)  # OTB / LaSOT success plot: 0, 0.05, ..., 1


def _box(value: Any) -> list[float] | None:
    if isinstance(value, dict):
        value = value.get("bbox", value.get("box"))
    if isinstance(value, list | tuple) and len(value) == 4 and \
            all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        box = [float(v) for v in value]
        return box if box[2] > box[0] and box[3] > box[1] else None
    return None


def frames(text: str | None) -> list[list[float] | None]:
    """Per-frame boxes (None: no box in that frame) of a prediction or a stored reference."""
    if not text:
        return []
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return []
    if isinstance(data, dict) and isinstance(data.get("boxes"), list):
        data = data["boxes"]
    if not isinstance(data, list) or _box(data) is not None:
        return [_box(data)] if _box(data) is not None else []
    return [_box(item) for item in data]


def iou(a: list[float] | None, b: list[float] | None) -> float:
    if a is None or b is None:
        return 0.0
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _aligned(pred: str | None, ref: str | None) -> tuple[list[list[float] | None], list[list[float] | None]]:
    r = frames(ref)
    p = frames(pred)[:len(r)]
    return p + [None] * (len(r) - len(p)), r


def success_auc(pred: str | None, ref: str | None) -> float | None:
    """Area under the success plot (OTB, Wu et al. 2013; LaSOT): over the frames whose reference
    box is present, the mean over thresholds t in {0, 0.05, ..., 1} of the fraction of frames
    whose IoU exceeds t (strictly, as the toolkits count), so a perfect track scores 20/21.
    NULL when the reference has no box."""
    p, r = _aligned(pred, ref)
    overlaps = np.array([iou(a, b) for a, b in zip(p, r, strict=True) if b is not None])
    if overlaps.size == 0:
        return None
    return float(np.mean([(overlaps > t).mean() for t in THRESHOLDS]))


def viou(pred: str | None, ref: str | None) -> float | None:
    """vIoU (Zhang et al., CVPR 2020, STVG): the sum over the frames where both sides have a box
    of their IoU, divided by the number of frames where either has one; 1 when neither has a
    box in any frame."""
    p, r = _aligned(pred, ref)
    if not r:
        return None
    union = sum(1 for a, b in zip(p, r, strict=True) if a is not None or b is not None)
    if union == 0:
        return 1.0
    return float(sum(iou(a, b) for a, b in zip(p, r, strict=True) if a is not None and b is not None) / union)
