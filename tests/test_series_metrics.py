"""Metrics over per-frame boxes, ranked label lists and caption corpora, computed by glc through the
compiled SQL, equal independent references: the OTB/LaSOT success-plot AUC and the STVG vIoU as
numpy formulas from the papers (no PyPI package computes them from plain box lists),
pycocoevalcap's CIDEr-D scorer, scikit-learn's mean absolute error (RTE) and recall@K as plain set
arithmetic. Corpora mix seeded generated inputs with hand-picked edge cases (absent frames,
short, long or unreadable answers, duplicates, empty references); hypothesis draws more inputs
for the Python UDFs alone.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from typing import Any

import numpy as np
import pytest
from glc.compiler.udfs import captions, series
from helpers.examples import examples
from helpers.metric_cases import RANKED, RTE_NUMBERS
from helpers.metric_project import add_task, new_project, sql_rows, write_predictions
from hypothesis import assume, given, settings
from hypothesis import strategies as st

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



CAPTIONS: list[tuple[str, list[str], str]] = [
    ("c1", ["a man is riding a horse on the beach", "a person rides a horse near the sea"],
     "a man rides a horse on the beach"),
    ("c2", ["two dogs play with a red ball in the park"], "two dogs are playing in a park"),
    ("c3", ["a woman cuts vegetables in the kitchen", "someone is chopping vegetables"], "a woman is cooking"),
    ("c4", ["children run across a grassy field"], ""),
    ("c5", ["the agent opens the door", "the door is opened by the agent"], "The agent opens the door."),
    ("c6", ["a cat sleeps on a sofa"], "a cat sleeps on a sofa"),
]
FRAMES: list[tuple[str, list[dict[str, Any]], Any]] = [
    ("f1", [{"bbox": [0, 0, 10, 10], "label": "car"}, {"bbox": [20, 20, 30, 30], "label": "car"}],
     [{"bbox": [1, 0, 10, 10], "label": "car", "score": 0.9}, {"bbox": [21, 21, 31, 31], "label": "car", "score": 0.4},
      {"bbox": [50, 50, 60, 60], "label": "car", "score": 0.8}]),
    ("f2", [{"bbox": [5, 5, 15, 15], "label": "car"}, {"bbox": [40, 0, 48, 9], "label": "person"}],
     [{"bbox": [5, 6, 15, 15], "label": "car", "score": 0.7}, {"bbox": [40, 0, 47, 9], "label": "person", "score": 0.6},
      {"bbox": [5, 5, 15, 15], "label": "person", "score": 0.95}]),
    ("f3", [{"bbox": [0, 0, 4, 4], "label": "person"}], []),
    ("f4", [], [{"bbox": [0, 0, 9, 9], "label": "car", "score": 0.99}]),
    ("f5", [{"bbox": [10, 10, 20, 20], "label": "car"}], "the car is at 10, 10, 20, 20"),
]


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
    tid = add_task(root, "amota", "boxes", [(i, {}, r) for i, r, _ in FRAMES], modality="3d",
                   paradigm="comprehension")
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in FRAMES])
    tid = add_task(root, "rte", "number", [(i, {}, r) for i, r, _ in RTE_NUMBERS], modality="3d",
                   paradigm="comprehension")
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in RTE_NUMBERS])
    ws = Workspace(root)
    ws.import_predictions(preds)
    ws.run()
    scores = {t.split(".t_")[1]: s for t, s in sql_rows(ws, "SELECT task_id, score FROM task_scores WHERE model = 'm'")}
    values = {m: dict(sql_rows(ws, f'SELECT instance_id, value FROM "instance_scores__{m}" WHERE model = \'m\''))
              for m in ("auc", "m_viou", "recall_at_50")}
    return {"scores": scores, "values": values, "tracks": tracks, "grounding": grounding}


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_tracking_success_auc_otb_formula(corpus: dict[str, Any]) -> None:
    want = [otb_auc(r, p) for _, r, p in corpus["tracks"]]
    assert corpus["scores"]["auc"] == pytest.approx(100 * np.mean([w for w in want if w is not None]), abs=1e-9)
    values = corpus["values"]["auc"]
    assert values["same"] == pytest.approx(20 / 21) and values["prose"] == 0.0 and values["none"] == 0.0
    assert values["long"] == pytest.approx(otb_auc(*next((r, p) for i, r, p in corpus["tracks"] if i == "long")))


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
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


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_rte_sklearn(corpus: dict[str, Any]) -> None:
    from sklearn.metrics import mean_absolute_error

    preds = [0.7, 1.0, 0.0, -0.3]  # the first number of each answer; none: 0
    assert corpus["scores"]["rte"] == pytest.approx(mean_absolute_error([r for _, r, _ in RTE_NUMBERS], preds),
                                                    abs=1e-12)


def _max_matching(dets: list[list[float]], gts: list[list[float]]) -> int:
    """The most (detection, reference) pairs with IoU >= 0.5, by trying every assignment."""
    ok = [[_iou_matrix(np.array([d]), np.array([g]))[0] >= 0.5 for g in gts] for d in dets]
    best = 0
    for chosen in itertools.product(*[[None, *range(len(gts))] for _ in dets]):
        taken = [g for g in chosen if g is not None]
        if len(taken) == len(set(taken)) and all(ok[d][g] for d, g in enumerate(chosen) if g is not None):
            best = max(best, len(taken))
    return best


def nuscenes_amota(frames: list[tuple[list[tuple[list[float], float]], list[list[float]]]]) -> float | None:
    """AMOTA = mean over r in linspace(0.1, 1, 40) of max(0, 1 - FP / TP) at the score where the
    greedy (score-ordered) matching first reaches recall r; IDS = 0; unreached recall: 0."""
    n_gt = sum(len(g) for _, g in frames)
    if n_gt == 0:
        return None
    dets = sorted([(s, k, j) for k, (d, _) in enumerate(frames) for j, (_, s) in enumerate(d)], key=lambda x: -x[0])
    taken: set[tuple[int, int]] = set()
    reach = []
    for s, k, j in dets:
        box = np.array([frames[k][0][j][0]])
        cands = [(float(_iou_matrix(box, np.array([g]))[0]), -gi) for gi, g in enumerate(frames[k][1])
                 if (k, gi) not in taken]
        cands = [c for c in cands if c[0] >= 0.5]
        if cands:
            taken.add((k, -max(cands)[1]))
            reach.append(s)
    out = []
    for r in np.linspace(0.1, 1.0, 40):
        need = int(np.ceil(round(r * n_gt, 9)))
        if need > len(reach):
            out.append(0.0)
            continue
        tp = fp = 0
        for d, g in frames:
            kept = [b for b, s in d if s >= reach[need - 1]]
            m = _max_matching(kept, g)
            tp, fp = tp + m, fp + len(kept) - m
        out.append(max(0.0, 1 - fp / tp) if tp else 0.0)
    return float(np.mean(out))


def _by_label(items: list[tuple[str, list[dict[str, Any]], Any]]) -> float:
    labels = sorted({g["label"] for _, refs, _ in items for g in refs})
    values = []
    for label in labels:
        frames = [([(p["bbox"], p["score"]) for p in (pred if isinstance(pred, list) else []) if p["label"] == label],
                   [g["bbox"] for g in refs if g["label"] == label]) for _, refs, pred in items]
        v = nuscenes_amota(frames)
        if v is not None:
            values.append(v)
    return float(np.mean(values))


def test_amota_nuscenes_formula(corpus: dict[str, Any]) -> None:
    want = _by_label(FRAMES)
    assert 0 < want < 1
    assert corpus["scores"]["amota"] == pytest.approx(100 * want, abs=1e-9)


# ------------------------------------------------------------------ generated inputs, UDFs alone

boxes = st.one_of(st.none(), st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(0, 8), st.integers(0, 8))
                  .map(lambda b: [b[0], b[1], b[0] + b[2], b[1] + b[3]]))


@settings(max_examples=examples(40), deadline=None)
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


@settings(max_examples=examples(25), deadline=None)
@given(items=st.lists(st.tuples(words, st.lists(words, min_size=1, max_size=3)), min_size=1, max_size=5))
def test_generated_cider_pycocoevalcap(items: list[tuple[str, list[str]]]) -> None:
    assume(any(r for _, refs in items for r in refs))  # pycocoevalcap needs one reference word in the corpus
    want = _pycocoevalcap(items)
    assert captions.cider_d(items) == pytest.approx(list(want), abs=1e-9)


near = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 6), st.integers(1, 6)) \
    .map(lambda b: [b[0], b[1], b[0] + b[2], b[1] + b[3]])  # small boxes close together: many overlaps


@st.composite
def detection_frame(draw: Any) -> tuple[list[tuple[list[int], float]], list[list[int]]]:
    """Reference boxes, detections near some of them (edges moved by up to 1) and a few stray ones."""
    big = st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(4, 9), st.integers(4, 9))
    gts = [[x, y, x + w, y + h] for x, y, w, h in draw(st.lists(big, max_size=3))]
    score = st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9])
    dets = []
    for g in gts:
        if draw(st.booleans()):
            d = draw(st.lists(st.integers(-1, 1), min_size=4, max_size=4))
            box = [g[0] + d[0], g[1] + d[1], max(g[0] + d[0] + 1, g[2] + d[2]), max(g[1] + d[1] + 1, g[3] + d[3])]
            dets.append((box, draw(score)))
    dets += draw(st.lists(st.tuples(near, score), max_size=1))
    return draw(st.permutations(dets)), gts


@settings(max_examples=examples(25), deadline=None)
@given(frames=st.lists(detection_frame(), min_size=1, max_size=4))
def test_generated_amota(frames: list[tuple[list[tuple[list[int], float]], list[list[int]]]]) -> None:
    payloads = [json.dumps({"pred": json.dumps([{"bbox": b, "score": s} for b, s in dets]),
                            "ref": json.dumps([{"bbox": g, "label": None} for g in gts])}) for dets, gts in frames]
    want = nuscenes_amota([([(list(map(float, b)), s) for b, s in dets], [list(map(float, g)) for g in gts])
                           for dets, gts in frames])
    assert series.amota(payloads) == pytest.approx(want if want is not None else 0.0, abs=1e-12)
