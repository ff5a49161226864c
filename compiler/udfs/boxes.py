"""Box metrics: IoU of a predicted box with the reference box, and COCO-style AP.

Boxes are ``[x1, y1, x2, y2]`` (instances store references in that form). A prediction is
read from JSON (a box, a list of boxes, ``{"bbox": [...], "score": s, "label": l}`` or a list
of those) or, failing that, the first four numbers in the text. AP follows the COCO protocol
for the "all" area range: detections sorted by score (stable), at most 100 per image, each
greedily matched to the unmatched ground truth of highest IoU at or above the threshold,
101-point interpolated precision, averaged over categories that have ground truth.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

_NUM = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
MAX_DETS = 100


def _box(value: Any) -> list[float] | None:
    if isinstance(value, dict):
        value = value.get("bbox", value.get("box"))
    if isinstance(value, list | tuple) and len(value) == 4 and all(isinstance(v, int | float) for v in value):
        return [float(v) for v in value]
    return None


def parse_detections(text: str | None) -> list[dict[str, Any]]:
    """Detections as dicts with bbox, score and label (score 1 and label None by default)."""
    if not text:
        return []
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        nums = _NUM.findall(text)
        return [{"bbox": [float(x) for x in nums[:4]], "score": 1.0, "label": None}] if len(nums) >= 4 else []
    items = data if isinstance(data, list) and data and not _box(data) else [data]
    out = []
    for item in items:
        box = _box(item)
        if box is not None:
            score = item.get("score", 1.0) if isinstance(item, dict) else 1.0
            label = item.get("label") if isinstance(item, dict) else None
            out.append({"bbox": box, "score": float(score) if isinstance(score, int | float) else 1.0,
                        "label": label})
    return out


def iou(a: list[float], b: list[float]) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def box_iou(pred: str | None, ref: str | None) -> float:
    """IoU of the first predicted box with the first reference box (0 when either is missing)."""
    p, r = parse_detections(pred), parse_detections(ref)
    if not p or not r:
        return 0.0
    return iou(p[0]["bbox"], r[0]["bbox"])


def _ap_one(images: list[tuple[list[dict], list[dict]]], threshold: float) -> float | None:
    n_gt = sum(len(g) for _, g in images)
    if n_gt == 0:
        return None
    scored: list[tuple[float, int, int]] = []  # (score, image, detection index)
    for k, (dets, _) in enumerate(images):
        order = sorted(range(len(dets)), key=lambda j: -dets[j]["score"])[:MAX_DETS]
        scored += [(dets[j]["score"], k, j) for j in order]
    scored.sort(key=lambda s: -s[0])  # stable, like numpy's mergesort in pycocotools
    matched: dict[int, set[int]] = {}
    tp = np.zeros(len(scored))
    for d, (_, k, j) in enumerate(scored):
        dets, gts = images[k]
        used = matched.setdefault(k, set())
        best, best_iou = -1, min(threshold, 1 - 1e-10)
        for g, gt in enumerate(gts):
            if g in used:
                continue
            v = iou(dets[j]["bbox"], gt["bbox"])
            if v >= best_iou:
                best, best_iou = g, v
        if best >= 0:
            used.add(best)
            tp[d] = 1
    if not len(scored):
        return 0.0
    ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
    recall = ctp / n_gt
    precision = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, RECALL_POINTS, side="left")
    return float(np.mean([precision[i] if i < len(precision) else 0.0 for i in idx]))


def _as_detections(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return parse_detections(value if isinstance(value, str) else json.dumps(value))


def coco_ap(payloads: list[str] | None, thresholds: list[float] | None) -> float:
    """Mean AP over IoU thresholds and categories; payloads are JSON ``{"pred": text, "ref": text}``."""
    images = []
    for text in payloads or []:
        obj = json.loads(text) if text else {}
        images.append((_as_detections(obj.get("pred")), _as_detections(obj.get("ref"))))
    labels = sorted({str(g["label"]) for _, gts in images for g in gts if g["label"] is not None})
    groups = [None] if not labels else labels
    aps = []
    for t in thresholds or [0.5]:
        per_cat = []
        for label in groups:
            sel = [([d for d in dets if label is None or str(d["label"]) == label],
                    [g for g in gts if label is None or str(g["label"]) == label]) for dets, gts in images]
            ap = _ap_one(sel, t)
            if ap is not None:
                per_cat.append(ap)
        if per_cat:
            aps.append(float(np.mean(per_cat)))
    return float(np.mean(aps)) if aps else 0.0
