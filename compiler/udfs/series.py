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
import math
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


# ----------------------------------------------------------------------------------------- AMOTA

AMOTA_RECALLS = np.linspace(0.1, 1.0, 40)  # nuScenes tracking: 40 recall thresholds from 0.1 to 1
AMOTA_IOU = 0.5


def match(dets: list[list[float]], gts: list[list[float]]) -> list[tuple[int, int]]:
    """(detection, reference) pairs of a frame: the most pairs with IoU >= 0.5, and among those the
    least total 1 - IoU (the Hungarian matching of MOT evaluation)."""
    from scipy.optimize import linear_sum_assignment

    if not dets or not gts:
        return []
    ious = np.array([[iou(d, g) for g in gts] for d in dets])
    ok = ious >= AMOTA_IOU
    cost = np.where(ok, 1.0 - ious, len(dets) + len(gts) + 1.0)
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if ok[r, c]]


def _amota_class(frames: list[tuple[list[tuple[list[float], float]], list[list[float]]]]) -> float | None:
    n_gt = sum(len(g) for _, g in frames)
    if n_gt == 0:
        return None
    # the scores at which recall grows: detections by descending score (stable), each taking the
    # unmatched reference box of its frame with the highest IoU >= 0.5 (the first on ties)
    order = sorted(((s, f, b) for f, (dets, _) in enumerate(frames) for b, s in dets), key=lambda x: -x[0])
    used: list[set[int]] = [set() for _ in frames]
    matched = []
    for score, f, box in order:
        best, best_iou = -1, AMOTA_IOU
        for g, gt in enumerate(frames[f][1]):
            v = iou(box, gt)
            if g not in used[f] and v >= best_iou and (best < 0 or v > best_iou):
                best, best_iou = g, v
        if best >= 0:
            used[f].add(best)
            matched.append(score)
    motars = []
    for r in AMOTA_RECALLS:
        need = math.ceil(round(r * n_gt, 9))
        if need > len(matched):
            motars.append(0.0)  # a recall the detections never reach scores the worst MOTAR
            continue
        cut = matched[need - 1]
        tp = fp = 0
        for dets, gts in frames:
            kept = [b for b, s in dets if s >= cut]
            m = len(match(kept, gts))
            tp, fp = tp + m, fp + len(kept) - m
        motars.append(max(0.0, 1.0 - fp / tp) if tp else 0.0)
    return float(np.mean(motars))


def amota(payloads: list[str | None] | None) -> float:
    """AMOTA (Weng et al. 2020; nuScenes tracking) of a task whose instances are frames of boxes.

    Payloads are JSON ``{"pred": detections text, "ref": reference boxes}`` (``boxes.parse_detections``:
    score 1 and label None by default). Per label of the references (all boxes together when
    none has a label): the detections, by descending score, are matched greedily (each to the
    unmatched reference box of its frame with the highest IoU >= 0.5), which gives the score at
    which recall first reaches each r of 0.1, ..., 1 (40 steps); the detections scoring at least
    that much are matched again, frame by frame, for the most pairs with IoU >= 0.5 (TP; the
    others FP), and MOTAR = max(0, 1 - (IDS + FP) / TP), where IDS = 0: the data holds single
    frames, no track identities (FN cancels out of nuScenes' MOTAR). A recall never reached
    scores 0. AMOTA is the mean MOTAR; the task's is the mean over labels."""
    from glc.compiler.udfs.boxes import parse_detections

    frames = []
    for text in payloads or []:
        obj = json.loads(text) if text else {}
        pred, ref = obj.get("pred"), obj.get("ref")
        frames.append((parse_detections(pred if isinstance(pred, str) or pred is None else json.dumps(pred)),
                       parse_detections(ref if isinstance(ref, str) or ref is None else json.dumps(ref))))
    labels: list[str | None] = [*sorted({str(g["label"]) for _, gts in frames for g in gts if g["label"] is not None})]
    per_label = []
    for label in labels or [None]:
        sel = [([(d["bbox"], float(d["score"])) for d in dets if label is None or str(d["label"]) == label],
                [g["bbox"] for g in gts if label is None or str(g["label"]) == label]) for dets, gts in frames]
        value = _amota_class(sel)
        if value is not None:
            per_label.append(value)
    return float(np.mean(per_label)) if per_label else 0.0
