"""Metrics over per-frame boxes, ranked label lists and caption corpora, computed by glc through the
compiled SQL, equal independent references: the OTB/LaSOT success-plot AUC and the STVG vIoU as
numpy formulas from the papers (no PyPI package computes them from plain box lists),
pycocoevalcap's CIDEr-D scorer, scikit-learn's mean absolute error (RTE) and recall@K as plain set
arithmetic. Corpora mix seeded generated inputs with hand-picked edge cases (absent frames,
short, long or unreadable answers, duplicates, empty references); hypothesis draws more inputs
for the Python UDFs alone.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import numpy as np
import pytest
from glc.compiler.udfs import captions, series
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from metric_project import add_task, new_project, sql_rows, write_predictions

from glc.workspace import Workspace

THRESHOLDS = np.arange(0, 1.05, 0.05)


def _track(rng: random.Random, n: int, absent: float = 0.0) -> list[list[float]]:
    x, y, w, h = rng.uniform(0, 40), rng.uniform(0, 40), rng.uniform(3, 15), rng.uniform(3, 15)
    out = []
    for t in range(n):
        if rng.random() < absent:
            out.append([0.0, 0.0, 0.0, 0.0])
        else:
            out.append([x + t, y + t / 2, x + t + w, y + t / 2 + h])
    return out


def _jitter(rng: random.Random, boxes: list[list[float]], drop: float = 0.0) -> list[Any]:
    out: list[Any] = []
    for b in boxes:
        if rng.random() < drop:
            out.append(None)
        else:
            d = [rng.uniform(-4, 4) for _ in range(4)]
            x1, y1 = b[0] + d[0], b[1] + d[1]
            out.append([x1, y1, max(x1 + 1, b[2] + d[2]), max(y1 + 1, b[3] + d[3])])
    return out


def _track_items(seed: int, absent: float) -> list[tuple[str, list[list[float]], Any]]:
    rng = random.Random(seed)
    items: list[tuple[str, list[list[float]], Any]] = []
    for k in range(8):
        ref = _track(rng, rng.randint(3, 9), absent)
        pred = _jitter(rng, ref, drop=0.2 * (k % 3))
        items.append((f"g{k}", ref, pred if k % 4 else [{"bbox": b} if b else None for b in pred]))
    ref = _track(rng, 5, absent)
    items += [("same", ref, [b if b[2] > b[0] else None for b in ref]), ("short", ref, _jitter(rng, ref)[:2]),
              ("long", ref, _jitter(rng, ref) + [[1, 1, 5, 5]] * 3), ("prose", ref, "the car moves to the left"),
              ("wrapped", ref, {"boxes": _jitter(rng, ref)}), ("none", ref, None)]
    return items


def _frames(pred: Any, n: int) -> list[list[float] | None]:
    """Prediction frames for the reference implementations: boxes as arrays, absent as None."""
    if isinstance(pred, dict):
        pred = pred["boxes"]
    if not isinstance(pred, list):
        return [None] * n
    out = [(p["bbox"] if isinstance(p, dict) else p) for p in pred[:n]]
    return out + [None] * (n - len(out))


def _iou_matrix(p: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Row-wise IoU of two (n, 4) arrays of [x1, y1, x2, y2] (numpy, vectorized)."""
    iw = np.clip(np.minimum(p[:, 2], r[:, 2]) - np.maximum(p[:, 0], r[:, 0]), 0, None)
    ih = np.clip(np.minimum(p[:, 3], r[:, 3]) - np.maximum(p[:, 1], r[:, 1]), 0, None)
    inter = iw * ih
    union = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1]) + (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _arrays(ref: list[list[float]], pred: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r = np.array(ref, dtype=float)
    frames = _frames(pred, len(ref))
    p = np.array([f if f is not None else [0, 0, 0, 0] for f in frames], dtype=float)
    has_r = (r[:, 2] > r[:, 0]) & (r[:, 3] > r[:, 1])
    has_p = (p[:, 2] > p[:, 0]) & (p[:, 3] > p[:, 1])
    return r, p, has_r, has_p


def otb_auc(ref: list[list[float]], pred: Any) -> float | None:
    """OTB success plot (Wu et al. 2013): success(t) = share of frames with overlap > t, AUC its mean."""
    r, p, has_r, has_p = _arrays(ref, pred)
    overlap = np.where(has_p, _iou_matrix(p, r), 0.0)[has_r]
    if overlap.size == 0:
        return None
    return float((overlap[:, None] > THRESHOLDS[None, :]).mean(axis=0).mean())


def stvg_viou(ref: list[list[float]], pred: Any) -> float:
    """vIoU (Zhang et al. 2020): sum of IoU over T_i (both present) / |T_u| (either present)."""
    r, p, has_r, has_p = _arrays(ref, pred)
    union = np.count_nonzero(has_r | has_p)
    if union == 0:
        return 1.0
    both = has_r & has_p
    return float(_iou_matrix(p[both], r[both]).sum() / union)


LABELS = [f"rel {k}" for k in range(70)]
RANKED: list[tuple[str, list[str], Any]] = [
    ("r1", ["on", "under"], "On, beside, under, on"),
    ("r2", ["near"], ["Beside", "NEAR ", "near"]),
    ("r3", ["left of", "right of"], "  left   of ,behind"),
    ("r4", ["rel 60"], ", ".join(LABELS)),  # the 61st distinct label is past the first 50
    ("r5", ["rel 20", "rel 49"], ", ".join(LABELS[::-1][:60])),
    ("r6", ["x"], ""),
    ("r7", [], "anything"),  # no reference labels: left out of the mean
    ("r8", ["a"], "a" + ", a" * 60),
]

CAPTIONS: list[tuple[str, list[str], str]] = [
    ("c1", ["a man is riding a horse on the beach", "a person rides a horse near the sea"],
     "a man rides a horse on the beach"),
    ("c2", ["two dogs play with a red ball in the park"], "two dogs are playing in a park"),
    ("c3", ["a woman cuts vegetables in the kitchen", "someone is chopping vegetables"], "a woman is cooking"),
    ("c4", ["children run across a grassy field"], ""),
    ("c5", ["the agent opens the door", "the door is opened by the agent"], "The agent opens the door."),
    ("c6", ["a cat sleeps on a sofa"], "a cat sleeps on a sofa"),
]
NUMBERS = [("n1", 0.5, "0.7"), ("n2", 1.25, "the error is 1.0 m"), ("n3", 2.0, "unknown"), ("n4", -0.3, "-0.3")]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = new_project(tmp_path_factory.mktemp("series"))
    preds = root / "preds.jsonl"
    tracks = _track_items(11, absent=0.1)
    grounding = _track_items(12, absent=0.35)
    for metric, items in (("auc", tracks), ("m_viou", grounding)):
        tid = add_task(root, metric, "boxes", [(i, {}, [{"bbox": b} for b in r]) for i, r, _ in items],
                       modality="video", paradigm="comprehension")
        write_predictions(preds, "m", tid, [(i, p) for i, _, p in items])
    tid = add_task(root, "recall_at_50", "labels", [(i, {}, r) for i, r, _ in RANKED], modality="image",
                   paradigm="comprehension")
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in RANKED])
    tid = add_task(root, "cider", "text", [(i, {}, r) for i, r, _ in CAPTIONS], modality="video",
                   paradigm="comprehension")
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in CAPTIONS])
    tid = add_task(root, "rte", "number", [(i, {}, r) for i, r, _ in NUMBERS], modality="3d", paradigm="comprehension")
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in NUMBERS])
    ws = Workspace(root)
    ws.import_predictions(preds)
    ws.run()
    scores = {t.split(".t_")[1]: s for t, s in sql_rows(ws, "SELECT task_id, score FROM task_scores WHERE model = 'm'")}
    values = {m: dict(sql_rows(ws, f'SELECT instance_id, value FROM "instance_scores__{m}" WHERE model = \'m\''))
              for m in ("auc", "m_viou", "recall_at_50")}
    return {"scores": scores, "values": values, "tracks": tracks, "grounding": grounding}


def test_tracking_success_auc_otb_formula(corpus: dict[str, Any]) -> None:
    want = [otb_auc(r, p) for _, r, p in corpus["tracks"]]
    assert corpus["scores"]["auc"] == pytest.approx(100 * np.mean([w for w in want if w is not None]), abs=1e-9)
    values = corpus["values"]["auc"]
    assert values["same"] == pytest.approx(20 / 21) and values["prose"] == 0.0 and values["none"] == 0.0
    assert values["long"] == pytest.approx(otb_auc(*next((r, p) for i, r, p in corpus["tracks"] if i == "long")))


def test_grounding_viou_formula(corpus: dict[str, Any]) -> None:
    want = [stvg_viou(r, p) for _, r, p in corpus["grounding"]]
    assert corpus["scores"]["m_viou"] == pytest.approx(100 * np.mean(want), abs=1e-9)
    assert corpus["values"]["m_viou"]["same"] == 1.0 and corpus["values"]["m_viou"]["prose"] == 0.0


def _norm(label: str) -> str:
    return " ".join(label.lower().split())


def test_recall_at_50_sets(corpus: dict[str, Any]) -> None:
    want = {}
    for iid, gold, pred in RANKED:
        items = pred if isinstance(pred, list) else pred.split(",")
        ranked = list(dict.fromkeys(x for x in (_norm(i) for i in items) if x))[:50]
        gold_set = {_norm(g) for g in gold}
        if gold_set:
            want[iid] = len(gold_set & set(ranked)) / len(gold_set)
    assert corpus["values"]["recall_at_50"] == {**want, "r7": None}
    assert want["r4"] == 0.0 and want["r5"] == 1.0 and want["r1"] == 1.0
    assert corpus["scores"]["recall_at_50"] == pytest.approx(100 * np.mean(list(want.values())), abs=1e-9)


def _coco_tokens(text: str) -> str:
    return " ".join(re.sub(r"[.,!?;:]", " ", text.lower()).split())


def _pycocoevalcap(items: list[tuple[str, list[str]]]) -> np.ndarray:
    from pycocoevalcap.cider.cider_scorer import CiderScorer

    scorer = CiderScorer(n=4, sigma=6.0)
    for hyp, refs in items:
        scorer += (_coco_tokens(hyp), [_coco_tokens(r) for r in refs])
    _, each = scorer.compute_score()
    return each


def test_cider_pycocoevalcap(corpus: dict[str, Any]) -> None:
    each = _pycocoevalcap([(h, refs) for _, refs, h in CAPTIONS])
    assert each[-1] > each[0] > 0 and each[3] == 0  # the exact caption scores best; the empty one 0
    assert corpus["scores"]["cider"] == pytest.approx(100 * np.mean(each), abs=1e-9)


def test_rte_sklearn(corpus: dict[str, Any]) -> None:
    from sklearn.metrics import mean_absolute_error

    preds = [0.7, 1.0, 0.0, -0.3]  # the first number of each answer; none: 0
    assert corpus["scores"]["rte"] == pytest.approx(mean_absolute_error([r for _, r, _ in NUMBERS], preds), abs=1e-12)


# ------------------------------------------------------------------ generated inputs, UDFs alone

boxes = st.one_of(st.none(), st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(0, 8), st.integers(0, 8))
                  .map(lambda b: [b[0], b[1], b[0] + b[2], b[1] + b[3]]))


@settings(max_examples=40, deadline=None)
@given(ref=st.lists(boxes, min_size=1, max_size=8), pred=st.lists(boxes, max_size=10))
def test_generated_auc_and_viou(ref: list[Any], pred: list[Any]) -> None:
    ref_boxes = [b if b is not None else [3, 3, 3, 3] for b in ref]
    stored = json.dumps([{"bbox": b, "label": None} for b in ref_boxes])
    got_auc = series.success_auc(json.dumps(pred), stored)
    want_auc = otb_auc(ref_boxes, pred)
    assert (got_auc is None and want_auc is None) or got_auc == pytest.approx(want_auc, abs=1e-12)
    assert series.viou(json.dumps(pred), stored) == pytest.approx(stvg_viou(ref_boxes, pred), abs=1e-12)


words = st.lists(st.sampled_from(["a", "dog", "runs", "on", "the", "grass", "red", "ball", "two", "cats"]),
                 max_size=9).map(" ".join)


@settings(max_examples=25, deadline=None)
@given(items=st.lists(st.tuples(words, st.lists(words, min_size=1, max_size=3)), min_size=1, max_size=5))
def test_generated_cider_pycocoevalcap(items: list[tuple[str, list[str]]]) -> None:
    assume(any(r for _, refs in items for r in refs))  # pycocoevalcap needs one reference word in the corpus
    want = _pycocoevalcap(items)
    assert captions.cider_d(items) == pytest.approx(list(want), abs=1e-9)
