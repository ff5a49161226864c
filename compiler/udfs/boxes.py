"""Box metrics: IoU of a predicted box with the reference box, and COCO-style AP.

References reach the UDFs as stored by glc (``[{"bbox": [x1, y1, x2, y2], "label": l}]``); a
prediction is read from JSON (a box, a list of boxes, ``{"bbox": [...], "score": s,
"label": l}`` or a list of those) or, failing that, the first four numbers in the text, and
written ``xyxy`` or ``xywh`` as its task declares (``dataset.prediction_box_format``).

AP is pycocotools' COCOeval for bounding boxes, area range "all", 100 detections per image,
step by step (``_evaluate_image`` is evaluateImg, ``_precision`` accumulate), with glc's
declared conventions where pycocotools depends on its input or has no answer:

* tie order: detections of equal score rank by instance id (Unicode code point order), then by
  their position in the answer. pycocotools keeps the order it is given (a stable sort), so its
  value for tied scores depends on the order of the images and detections it was handed; glc's
  never depends on the order of records in a prediction file.
* a detection without a score (or with one that is not a finite number) has score 1.0.
* labels: when reference boxes carry labels, each label is a category (AP is averaged over the
  categories with ground truth) and predicted boxes of other or no label count nowhere;
  without labels on the references every box is of one category.
* an image without reference boxes and without detections counts nowhere; detections on an
  image without reference boxes are false positives; a task without any reference box scores 0
  (pycocotools: -1).
* as in pycocotools, a reference box whose area is outside [0, 1e10] is ignored, and so is an
  unmatched detection whose area w*h is (an inverted box with one negative side).

IoU is computed in double precision from corners; pycocotools computes it from x, y, width,
height. For coordinates whose sums and differences are exact in binary (integers, halves,
quarters: pixel coordinates) the two are identical.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

_NUM = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
MAX_DETS = 100
AREA_RANGE = (0.0, 1e10)  # COCO's "all": [0 ** 2, 1e5 ** 2]


def _box(value: Any) -> list[float] | None:
    if isinstance(value, dict):
        value = value.get("bbox", value.get("box"))
    if isinstance(value, list | tuple) and len(value) == 4 and \
            all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return [float(v) for v in value]
    return None


def _score(item: Any) -> float:
    score = item.get("score") if isinstance(item, dict) else None
    if isinstance(score, int | float) and not isinstance(score, bool) and math.isfinite(score):
        return float(score)
    return 1.0


def _corners(box: list[float], fmt: str) -> list[float]:
    return [box[0], box[1], box[0] + box[2], box[1] + box[3]] if fmt == "xywh" else box


def parse_detections(text: str | None, fmt: str = "xyxy") -> list[dict[str, Any]]:
    """Detections as dicts with bbox (corners), score and label, in the answer's order."""
    if not text:
        return []
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        nums = _NUM.findall(text)
        if len(nums) < 4:
            return []
        first = [float(x) for x in nums[:4]]
        return [{"bbox": _corners(first, fmt), "score": 1.0, "label": None}] if all(map(math.isfinite, first)) else []
    items = data if isinstance(data, list) and data and not _box(data) else [data]
    if data == []:
        items = []
    out = []
    for item in items:
        box = _box(item)
        if box is not None and all(map(math.isfinite, box)):
            out.append({"bbox": _corners(box, fmt), "score": _score(item),
                        "label": item.get("label") if isinstance(item, dict) else None})
    return out


def _stored(value: Any) -> list[dict[str, Any]]:
    """Reference boxes as stored in instances.reference (corners)."""
    if value is None:
        return []
    return parse_detections(value if isinstance(value, str) else json.dumps(value))


def iou(a: list[float], b: list[float]) -> float:
    """IoU of a detection ``a`` with a reference box ``b`` (pycocotools' bbIou, iscrowd 0)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    if iw <= 0:
        return 0.0
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def _area(box: list[float]) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def box_iou(pred: str | None, ref: str | None, fmt: str | None = "xyxy") -> float:
    """IoU of the first predicted with the first reference box; 1 when neither side has a box
    (an image without the object, rightly answered with none), 0 when only one side has."""
    p, r = parse_detections(pred, fmt or "xyxy"), _stored(ref)
    if not p or not r:
        return float(not p and not r)
    return iou(p[0]["bbox"], r[0]["bbox"])


def _evaluate_image(dets: list[dict], gts: list[dict], thresholds: list[float]) -> dict[str, Any] | None:
    """COCOeval.evaluateImg for one image and category (area 'all', maxDet 100)."""
    if not gts and not dets:
        return None
    gt_ignore = [int(not AREA_RANGE[0] <= _area(g["bbox"]) <= AREA_RANGE[1]) for g in gts]
    gts = [gts[i] for i in np.argsort(gt_ignore, kind="mergesort")]
    gt_ignore = sorted(gt_ignore)
    dets = [dets[i] for i in np.argsort([-d["score"] for d in dets], kind="mergesort")][:MAX_DETS]
    ious = [[iou(d["bbox"], g["bbox"]) for g in gts] for d in dets]
    n_t = len(thresholds)
    gt_matched = np.zeros((n_t, len(gts)), dtype=bool)
    dt_matched = np.zeros((n_t, len(dets)), dtype=bool)
    dt_ignore = np.zeros((n_t, len(dets)), dtype=bool)
    for t, threshold in enumerate(thresholds):
        for d in range(len(dets)):
            best_iou, m = min(threshold, 1 - 1e-10), -1
            for g in range(len(gts)):
                if gt_matched[t, g]:
                    continue
                if m > -1 and gt_ignore[m] == 0 and gt_ignore[g] == 1:
                    break
                if ious[d][g] < best_iou:
                    continue
                best_iou, m = ious[d][g], g
            if m == -1:
                continue
            dt_ignore[t, d] = bool(gt_ignore[m])
            dt_matched[t, d] = True
            gt_matched[t, m] = True
    outside = np.array([not AREA_RANGE[0] <= _area(d["bbox"]) <= AREA_RANGE[1] for d in dets], dtype=bool)
    dt_ignore |= ~dt_matched & outside[None, :]
    return {"scores": [d["score"] for d in dets], "matched": dt_matched, "ignore": dt_ignore,
            "gt_ignore": gt_ignore}


def _precision(evals: list[dict[str, Any]], n_t: int) -> np.ndarray | None:
    """COCOeval.accumulate for one category: 101-point interpolated precision per threshold
    (None when the category has no reference box that counts)."""
    n_gt = sum(g == 0 for e in evals for g in e["gt_ignore"])
    if not evals or n_gt == 0:
        return None
    scores = np.concatenate([np.asarray(e["scores"], dtype=float) for e in evals])
    order = np.argsort(-scores, kind="mergesort")
    matched = np.concatenate([e["matched"] for e in evals], axis=1)[:, order]
    ignore = np.concatenate([e["ignore"] for e in evals], axis=1)[:, order]
    tp_sum = np.cumsum(matched & ~ignore, axis=1).astype(float)
    fp_sum = np.cumsum(~matched & ~ignore, axis=1).astype(float)
    out = np.zeros((n_t, len(RECALL_POINTS)))
    for t in range(n_t):
        tp, fp = tp_sum[t], fp_sum[t]
        recall = tp / n_gt
        precision = (tp / (fp + tp + np.spacing(1))).tolist()
        for i in range(len(precision) - 1, 0, -1):
            if precision[i] > precision[i - 1]:
                precision[i - 1] = precision[i]
        idx = np.searchsorted(recall, RECALL_POINTS, side="left")
        out[t] = [precision[i] if i < len(precision) else 0.0 for i in idx]  # unreachable recall: 0
    return out


def coco_ap(payloads: list[str] | None, thresholds: list[float] | None) -> float:
    """Mean AP over IoU thresholds and categories. Payloads are JSON ``{"id": instance id,
    "pred": answer text, "ref": stored reference, "fmt": prediction box format}``, in any order."""
    thresholds = list(thresholds or [0.5])
    images = []
    for text in payloads or []:
        obj = json.loads(text) if text else {}
        images.append((str(obj.get("id", "")), parse_detections(obj.get("pred"), obj.get("fmt") or "xyxy"),
                       _stored(obj.get("ref"))))
    images.sort(key=lambda x: x[0])  # the tie order: instance id, then position in the answer
    labels = sorted({str(g["label"]) for _, _, gts in images for g in gts if g["label"] is not None})
    groups: list[str | None] = [None] if not labels else list(labels)
    per_category = []
    for label in groups:
        evals = []
        for _, dets, gts in images:
            if label is not None:
                dets = [d for d in dets if d["label"] is not None and str(d["label"]) == label]
                gts = [g for g in gts if g["label"] is not None and str(g["label"]) == label]
            e = _evaluate_image(dets, gts, thresholds)
            if e is not None:
                evals.append(e)
        precision = _precision(evals, len(thresholds))
        if precision is not None:
            per_category.append(precision)
    if not per_category:
        return 0.0
    return float(np.mean(np.stack(per_category)))
