"""Dense-output metrics (masks, maps, videos, point clouds, speech), computed by glc through the
compiled SQL from media files, equal independent reference implementations: scikit-learn
(jaccard_score, roc_auc_score, mean_absolute_percentage_error, root_mean_squared_error),
scipy (Dice dissimilarity, brute-force distances), scikit-image (PSNR), pysodmetrics (S-measure),
python_speech_features (MFCC) and numpy formulas from the papers where no package exists (SAD,
EPE, panoptic quality, video J, L1 score, DTW). Each corpus mixes inputs drawn from a seeded
generator with hand-picked degenerate cases (identical files, empty masks, constant maps, missing
or wrongly sized predictions); the hypothesis tests draw more inputs for the Python UDFs alone.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from glc.compiler.udfs import dense, pointclouds, speech
from helpers.examples import examples
from helpers.media_files import grey, mp4, ply, png, wav
from helpers.metric_project import add_task, new_project, sql_rows, write_predictions
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from glc.workspace import Workspace

SENTINEL = -1  # a predicted label no reference has (a missing or wrongly sized prediction)


@dataclass
class Case:
    iid: str
    ref: Any  # what the reference file holds (arrays, frames, points)
    pred: Any  # what the prediction file holds, None when there is none (or it cannot be compared)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Corpus:
    root: Path
    cases: dict[str, list[Case]]
    scores: dict[str, float]
    values: dict[str, dict[str, float | None]]


def _rect_mask(rng: np.random.Generator, h: int, w: int, labels: list[int]) -> np.ndarray:
    m = np.full((h, w), labels[0], dtype=np.int64)
    for lab in labels[1:]:
        y, x = rng.integers(0, h - 3), rng.integers(0, w - 3)
        m[y:y + rng.integers(2, h - y + 1), x:x + rng.integers(2, w - x + 1)] = lab
    return m


def _perturb(rng: np.random.Generator, m: np.ndarray, labels: list[int], p: float = 0.2) -> np.ndarray:
    out = m.copy()
    flip = rng.random(m.shape) < p
    out[flip] = rng.choice(labels, size=int(flip.sum()))
    return out


class _Builder:
    def __init__(self, root: Path) -> None:
        self.root, self.data = root, root / "data"
        self.preds = root / "preds.jsonl"
        self.cases: dict[str, list[Case]] = {}
        self.metric: dict[str, str] = {}

    def task(self, key: str, metric: str, reference: str, items: list[tuple[Case, str, str | None]],
             modality: str = "image", paradigm: str = "comprehension") -> None:
        """items: (case, reference path relative to data/, prediction path or None)."""
        suffix = key[len(metric):]
        tid = add_task(self.root, metric, reference, [(c.iid, {}, r) for c, r, _ in items], modality=modality,
                       paradigm=paradigm, suffix=suffix)
        write_predictions(self.preds, "m", tid, [(c.iid, p) for c, _, p in items])
        self.cases[key] = [c for c, _, _ in items]
        self.metric[key] = metric

    def file(self, rel: str) -> Path:
        return self.data / rel


def _mask_cases(b: _Builder, rng: np.random.Generator) -> None:
    labels = [0, 60, 120, 200]
    items = []
    for k in range(6):  # generated: random rectangles, predictions with flipped pixels and an unseen label
        ref = _rect_mask(rng, 12, 16, labels[: 2 + k % 3])
        pred = _perturb(rng, ref, labels + [33], p=0.1 + 0.1 * (k % 3))
        items.append((Case(f"g{k}", png(b.file(f"miou/r{k}.png"), ref), png(b.file(f"miou/p{k}.png"), pred)),
                      f"miou/r{k}.png", str(b.file(f"miou/p{k}.png"))))
    ref = _rect_mask(rng, 12, 16, [0, 120])
    items.append((Case("same", png(b.file("miou/rs.png"), ref), png(b.file("miou/ps.png"), ref)),
                  "miou/rs.png", str(b.file("miou/ps.png"))))
    items.append((Case("missing", png(b.file("miou/rm.png"), _rect_mask(rng, 12, 16, [0, 60])), None),
                  "miou/rm.png", None))
    png(b.file("miou/pw.png"), np.zeros((5, 5)))
    items.append((Case("wrong_size", png(b.file("miou/rw.png"), _rect_mask(rng, 12, 16, [0, 200])), None),
                  "miou/rw.png", str(b.file("miou/pw.png"))))
    colour = np.zeros((12, 16, 3), dtype=np.uint8)
    colour[2:8, 3:9] = (200, 30, 10)
    colour_pred = colour.copy()
    colour_pred[6:10, 3:12] = (200, 30, 10)
    items.append((Case("colour", png(b.file("miou/rc.png"), colour), png(b.file("miou/pc.png"), colour_pred)),
                  "miou/rc.png", str(b.file("miou/pc.png"))))
    b.task("miou_mask", "miou", "image", items)


def _video_mask_cases(b: _Builder, rng: np.random.Generator) -> None:
    items = []
    for k in range(4):
        frames_r, frames_p = [], []
        y, x = rng.integers(2, 10, size=2)
        for t in range(3):
            r = np.zeros((24, 32, 3), dtype=np.uint8)
            r[y + t:y + t + 8, x + t:x + t + 10] = 255
            p = np.zeros_like(r)
            dy, dx = rng.integers(-3, 4, size=2)
            p[max(0, y + t + dy):y + t + dy + 8, max(0, x + t + dx):x + t + dx + 10] = 255
            frames_r.append(r)
            frames_p.append(p)
        if k == 3:
            frames_p = frames_p[:2]  # the last frame is missing
        items.append((Case(f"v{k}", mp4(b.file(f"vos/r{k}.mp4"), frames_r), mp4(b.file(f"vos/p{k}.mp4"), frames_p)),
                      f"vos/r{k}.mp4", str(b.file(f"vos/p{k}.mp4"))))
    black = [np.zeros((24, 32, 3), dtype=np.uint8)] * 2
    items.append((Case("empty", mp4(b.file("vos/re.mp4"), black), mp4(b.file("vos/pe.mp4"), black)),
                  "vos/re.mp4", str(b.file("vos/pe.mp4"))))
    b.file("vos/junk.mp4").write_bytes(b"\x00\x00\x00\x08ftypjunk")
    ref = [np.full((24, 32, 3), 255, dtype=np.uint8)] * 2
    items.append((Case("junk", mp4(b.file("vos/rj.mp4"), ref), None), "vos/rj.mp4", str(b.file("vos/junk.mp4"))))
    b.task("miou_video", "miou", "video", items, modality="video")


def _points_cases(b: _Builder, rng: np.random.Generator) -> None:
    seg, part, cd = [], [], []
    for k in range(5):
        n = 30 + 5 * k
        xyz = rng.normal(size=(n, 3))
        lab = rng.integers(0, 2 + k % 3, size=n)
        plab = lab.copy()
        flip = rng.random(n) < 0.25
        plab[flip] = rng.integers(0, 5, size=int(flip.sum()))
        ply(b.file(f"pc/r{k}.ply"), xyz, lab, binary=k % 2 == 1)
        ply(b.file(f"pc/p{k}.ply"), xyz, plab)
        seg.append((Case(f"s{k}", lab, plab), f"pc/r{k}.ply", str(b.file(f"pc/p{k}.ply"))))
        part.append((Case(f"s{k}", lab, plab), f"pc/r{k}.ply", str(b.file(f"pc/p{k}.ply"))))
        pred_xyz = xyz[: n - 3] + rng.normal(scale=0.05, size=(n - 3, 3)) + (k == 4) * 2.0
        ply(b.file(f"pc/c{k}.ply"), pred_xyz, binary=k % 2 == 0)
        cd.append((Case(f"c{k}", xyz, pred_xyz), f"pc/r{k}.ply", str(b.file(f"pc/c{k}.ply"))))
    ply(b.file("pc/few.ply"), rng.normal(size=(7, 3)), np.zeros(7, dtype=int))
    lab = rng.integers(0, 3, size=30)
    ply(b.file("pc/rf.ply"), rng.normal(size=(30, 3)), lab)
    seg.append((Case("few_points", lab, None), "pc/rf.ply", str(b.file("pc/few.ply"))))
    part.append((Case("few_points", lab, None), "pc/rf.ply", str(b.file("pc/few.ply"))))
    part.append((Case("same", lab, lab), "pc/rf.ply", str(b.file("pc/rf.ply"))))
    cd.append((Case("same", cd[0][0].ref, cd[0][0].ref), "pc/r0.ply", str(b.file("pc/r0.ply"))))
    cd.append((Case("missing", cd[1][0].ref, None), "pc/r1.ply", None))
    b.task("miou_points", "miou", "pointcloud", seg, modality="3d")
    b.task("instance_miou", "instance_miou", "pointcloud", part, modality="3d")
    b.task("cd", "cd", "pointcloud", cd, modality="3d", paradigm="generation")


def _binary_cases(b: _Builder, rng: np.random.Generator) -> None:
    dice, auc, sad = [], [], []
    for k in range(5):
        ref = _rect_mask(rng, 10, 14, [0, 255 if k % 2 else 1])
        pred = _perturb(rng, ref, [0, 255 if k % 2 else 1, 7], p=0.2)
        dice.append((Case(f"d{k}", png(b.file(f"dice/r{k}.png"), ref), png(b.file(f"dice/p{k}.png"), pred)),
                     f"dice/r{k}.png", str(b.file(f"dice/p{k}.png"))))
        prob = np.clip(ref * 0.4 + rng.integers(0, 160, size=ref.shape), 0, 255)
        auc.append((Case(f"a{k}", png(b.file(f"auc/r{k}.png"), ref), png(b.file(f"auc/p{k}.png"), prob)),
                    f"auc/r{k}.png", str(b.file(f"auc/p{k}.png"))))
        alpha = np.clip(ref.astype(float) * 255 / max(ref.max(), 1) + rng.integers(-40, 40, size=ref.shape), 0, 255)
        alpha_p = np.clip(alpha + rng.integers(-60, 60, size=ref.shape), 0, 255)
        sad.append((Case(f"m{k}", png(b.file(f"sad/r{k}.png"), alpha), png(b.file(f"sad/p{k}.png"), alpha_p)),
                    f"sad/r{k}.png", str(b.file(f"sad/p{k}.png"))))
    empty = np.zeros((10, 14))
    dice.append((Case("both_empty", png(b.file("dice/re.png"), empty), png(b.file("dice/pe.png"), empty)),
                 "dice/re.png", str(b.file("dice/pe.png"))))
    dice.append((Case("missing", png(b.file("dice/rm.png"), _rect_mask(rng, 10, 14, [0, 1])), None),
                 "dice/rm.png", None))
    auc.append((Case("one_class", png(b.file("auc/re.png"), empty), png(b.file("auc/pe.png"), empty)),
                "auc/re.png", str(b.file("auc/pe.png"))))
    auc.append((Case("constant", png(b.file("auc/rc.png"), _rect_mask(rng, 10, 14, [0, 255])),
                     png(b.file("auc/pc.png"), np.full((10, 14), 90))), "auc/rc.png", str(b.file("auc/pc.png"))))
    sad.append((Case("missing", png(b.file("sad/rm.png"), np.full((10, 14), 128)), None), "sad/rm.png", None))
    sad.append((Case("same", png(b.file("sad/rs.png"), np.full((10, 14), 77)), png(b.file("sad/ps.png"),
                                                                                     np.full((10, 14), 77))),
                "sad/rs.png", str(b.file("sad/ps.png"))))
    b.task("dice", "dice", "image", dice)
    b.task("auc_map", "auc", "image", auc, paradigm="generation")
    b.task("sad", "sad", "image", sad)


def _panoptic_cases(b: _Builder, rng: np.random.Generator) -> None:
    items = []
    for k in range(5):
        ref = _rect_mask(rng, 16, 16, [0, 10, 20, 30][: 2 + k % 3])
        pred = _perturb(rng, ref, [0, 10, 20, 30, 40], p=0.15 * (k % 3))
        if k == 4:
            pred = np.where(ref == 0, 50, pred)  # a predicted segment lying on void
        items.append((Case(f"q{k}", png(b.file(f"pq/r{k}.png"), ref), png(b.file(f"pq/p{k}.png"), pred)),
                      f"pq/r{k}.png", str(b.file(f"pq/p{k}.png"))))
    ref = _rect_mask(rng, 16, 16, [0, 10])
    items.append((Case("missing", png(b.file("pq/rm.png"), ref), None), "pq/rm.png", None))
    b.task("pq", "pq", "image", items)


def _depth_cases(b: _Builder, rng: np.random.Generator) -> None:
    rms, absrel, epe, sm, psnr, l1 = [], [], [], [], [], []
    for k in range(4):
        depth = rng.integers(500, 9000, size=(8, 12))
        depth[rng.random(depth.shape) < 0.2] = 0  # no reference depth there
        pdepth = np.clip(depth + rng.integers(-400, 400, size=depth.shape), 0, 65535)
        rms.append((Case(f"r{k}", png(b.file(f"rms/r{k}.png"), depth, "I;16"),
                         png(b.file(f"rms/p{k}.png"), pdepth, "I;16")), f"rms/r{k}.png", str(b.file(f"rms/p{k}.png"))))
        dframes = [np.repeat(rng.integers(20, 250, size=(16, 16, 1)), 3, axis=2) for _ in range(2)]
        pframes = [np.clip(f + rng.integers(-30, 30, size=(16, 16, 1)), 0, 255) for f in dframes]
        absrel.append((Case(f"a{k}", grey(mp4(b.file(f"depth/r{k}.mp4"), dframes)),
                            grey(mp4(b.file(f"depth/p{k}.mp4"), pframes))),
                       f"depth/r{k}.mp4", str(b.file(f"depth/p{k}.mp4"))))
        flow = [rng.integers(60, 200, size=(16, 16, 3)) for _ in range(2)]
        pflow = [np.clip(f + rng.integers(-20, 20, size=f.shape), 0, 255) for f in flow]
        epe.append((Case(f"e{k}", mp4(b.file(f"flow/r{k}.mp4"), flow, quality=95),
                         mp4(b.file(f"flow/p{k}.mp4"), pflow, quality=95)),
                    f"flow/r{k}.mp4", str(b.file(f"flow/p{k}.mp4"))))
        sal, psal = [], []
        for _ in range(2):
            g = np.zeros((24, 24, 3), dtype=np.uint8)
            y, x = rng.integers(4, 10, size=2)
            g[y:y + 9, x:x + 8] = 255
            sal.append(g)
            psal.append(np.clip(g * 0.7 + rng.integers(0, 90, size=(24, 24, 1)), 0, 255))
        sm.append((Case(f"s{k}", grey(mp4(b.file(f"sal/r{k}.mp4"), sal)), grey(mp4(b.file(f"sal/p{k}.mp4"), psal))),
                   f"sal/r{k}.mp4", str(b.file(f"sal/p{k}.mp4"))))
        video = [rng.integers(0, 256, size=(16, 24, 3)) for _ in range(3)]
        pvideo = [np.clip(f + rng.integers(-25 * k, 25 * k + 1, size=f.shape), 0, 255) for f in video]
        ref_frames = mp4(b.file(f"gen/r{k}.mp4"), video)
        pred_frames = mp4(b.file(f"gen/p{k}.mp4"), pvideo if k != 3 else pvideo[:2])
        psnr.append((Case(f"v{k}", ref_frames, pred_frames), f"gen/r{k}.mp4", str(b.file(f"gen/p{k}.mp4"))))
        l1.append((Case(f"v{k}", ref_frames, pred_frames), f"gen/r{k}.mp4", str(b.file(f"gen/p{k}.mp4"))))
    rms.append((Case("missing", png(b.file("rms/rm.png"), np.full((8, 12), 3000), "I;16"), None), "rms/rm.png", None))
    rms.append((Case("no_depth", png(b.file("rms/rz.png"), np.zeros((8, 12)), "I;16"), None), "rms/rz.png", None,))
    epe.append((Case("missing", mp4(b.file("flow/rm.mp4"), flow), None), "flow/rm.mp4", None))
    const = [np.full((24, 24, 3), 90, dtype=np.uint8)] * 2
    sm.append((Case("constant", grey(mp4(b.file("sal/rc.mp4"), sal)), grey(mp4(b.file("sal/pc.mp4"), const))),
               "sal/rc.mp4", str(b.file("sal/pc.mp4"))))
    black = [np.zeros((24, 24, 3), dtype=np.uint8)] * 2
    sm.append((Case("empty_reference", grey(mp4(b.file("sal/re.mp4"), black)), grey(mp4(b.file("sal/pe.mp4"), psal))),
               "sal/re.mp4", str(b.file("sal/pe.mp4"))))
    psnr.append((Case("same", ref_frames, ref_frames), f"gen/r{3}.mp4", str(b.file("gen/r3.mp4"))))
    psnr.append((Case("missing", ref_frames, []), f"gen/r{3}.mp4", None))
    b.task("rms", "rms", "image", rms)
    b.task("absrel", "absrel", "video", absrel, modality="video")
    b.task("epe", "epe", "video", epe, modality="video")
    b.task("s_measure", "s_measure", "video", sm, modality="video")
    b.task("psnr_video", "psnr", "video", psnr, modality="video", paradigm="generation")
    b.task("l1_distance", "l1_distance", "video", l1, modality="video", paradigm="generation")


def _colour_cases(b: _Builder, rng: np.random.Generator) -> None:
    items = []
    for k in range(4):
        ref = rng.integers(0, 256, size=(6, 9, 3))
        pred = np.clip(ref + rng.integers(-30 * k, 30 * k + 1, size=ref.shape), 0, 255)
        items.append((Case(f"c{k}", png(b.file(f"lab/r{k}.png"), ref), png(b.file(f"lab/p{k}.png"), pred)),
                      f"lab/r{k}.png", str(b.file(f"lab/p{k}.png"))))
    items.append((Case("missing", png(b.file("lab/rm.png"), rng.integers(0, 256, size=(6, 9, 3))), None),
                  "lab/rm.png", None))
    b.task("rmse_image", "rmse", "image", items, paradigm="generation")


def _speech_cases(b: _Builder, rng: np.random.Generator) -> None:
    t = np.arange(int(0.25 * 16000)) / 16000
    items = []
    for k in range(3):
        ref = 0.4 * np.sin(2 * np.pi * (200 + 150 * k) * t) + 0.05 * rng.normal(size=t.size)
        n = t.size - 400 * k
        pred = 0.4 * np.sin(2 * np.pi * (230 + 120 * k) * t[:n]) + 0.05 * rng.normal(size=n)
        items.append((Case(f"w{k}", wav(b.file(f"wav/r{k}.wav"), ref), wav(b.file(f"wav/p{k}.wav"), pred)),
                      f"wav/r{k}.wav", str(b.file(f"wav/p{k}.wav"))))
    items.append((Case("same", items[0][0].ref, items[0][0].ref), "wav/r0.wav", str(b.file("wav/r0.wav"))))
    items.append((Case("missing", items[1][0].ref, None), "wav/r1.wav", None))
    b.task("mcd", "mcd", "audio", items, modality="audio", paradigm="generation")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = new_project(tmp_path_factory.mktemp("dense"))
    b = _Builder(root)
    rng = np.random.default_rng(7)
    for build in (_mask_cases, _video_mask_cases, _points_cases, _binary_cases, _panoptic_cases, _depth_cases,
                  _colour_cases, _speech_cases):
        build(b, rng)
    ws = Workspace(root)
    ws.import_predictions(b.preds)
    ws.run()
    rows = sql_rows(ws, "SELECT task_id, score FROM task_scores WHERE model = 'm'")
    scores = {tid.split(".t_")[1]: score for tid, score in rows}
    values: dict[str, dict[str, float | None]] = {}
    for key, metric in b.metric.items():
        tid = next(t for t, _ in rows if t.endswith(".t_" + key))
        values[key] = dict(sql_rows(ws, f'SELECT instance_id, value FROM "instance_scores__{metric}" '
                                        "WHERE model = 'm' AND task_id = ?", tid))
    return Corpus(root, b.cases, scores, values)


# ------------------------------------------------------------------------------------ references


def _pooled_miou_sklearn(cases: list[Case]) -> float:
    from sklearn.metrics import jaccard_score

    true, pred = [], []
    for c in cases:
        r = _labels(c.ref)
        p = _labels(c.pred) if c.pred is not None and np.shape(c.pred)[:2] == np.shape(c.ref)[:2] else None
        true.append(r.ravel())
        pred.append((p if p is not None else np.full(r.shape, SENTINEL)).ravel())
    y, yhat = np.concatenate(true), np.concatenate(pred)
    return 100 * jaccard_score(y, yhat, labels=np.unique(y), average="macro", zero_division=0)


def _labels(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a).astype(np.int64)
    return (a[:, :, 0] << 16 | a[:, :, 1] << 8 | a[:, :, 2]) if a.ndim == 3 else a


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_miou_masks_pooled_sklearn(corpus: Corpus) -> None:
    assert corpus.scores["miou_mask"] == pytest.approx(_pooled_miou_sklearn(corpus.cases["miou_mask"]), abs=1e-9)
    values = corpus.values["miou_mask"]
    assert values["same"] == 1.0 and values["missing"] == 0.0 and values["wrong_size"] == 0.0


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_miou_points_pooled_sklearn(corpus: Corpus) -> None:
    assert corpus.scores["miou_points"] == pytest.approx(_pooled_miou_sklearn(corpus.cases["miou_points"]), abs=1e-9)


def test_miou_video_region_similarity(corpus: Corpus) -> None:
    from sklearn.metrics import jaccard_score

    per_video = []
    for c in corpus.cases["miou_video"]:
        pred = grey(c.pred) if c.pred is not None else []
        js = []
        for k, r in enumerate(grey(c.ref)):
            g = (r >= 128).ravel()
            f = (pred[k] >= 128).ravel() if k < len(pred) else np.zeros_like(g)
            js.append(jaccard_score(g, f, zero_division=1.0))
        per_video.append(np.mean(js))
    assert corpus.scores["miou_video"] == pytest.approx(100 * np.mean(per_video), abs=1e-9)
    assert corpus.values["miou_video"]["empty"] == 1.0 and corpus.values["miou_video"]["junk"] == 0.0


def test_instance_miou_sklearn(corpus: Corpus) -> None:
    from sklearn.metrics import jaccard_score

    shapes = []
    for c in corpus.cases["instance_miou"]:
        if c.pred is None:
            shapes.append(0.0)
            continue
        parts = np.union1d(c.ref, c.pred)
        shapes.append(jaccard_score(c.ref, c.pred, labels=parts, average=None).mean())
    assert corpus.scores["instance_miou"] == pytest.approx(100 * np.mean(shapes), abs=1e-9)
    assert corpus.values["instance_miou"]["same"] == 1.0


def _plyfile_points(path: Path) -> np.ndarray:
    from plyfile import PlyData

    v = PlyData.read(str(path))["vertex"]
    return np.stack([v["x"], v["y"], v["z"]], axis=1).astype(np.float64)


def test_chamfer_brute_force_scipy(corpus: Corpus) -> None:
    from scipy.spatial.distance import cdist

    refs = {"same": "r0", "missing": "r1"}
    values = []
    for c in corpus.cases["cd"]:
        ref = _plyfile_points(corpus.root / "data" / "pc" / f"{refs.get(c.iid, 'r' + c.iid[1:])}.ply")
        pred = ref if c.iid == "same" else np.zeros((1, 3)) if c.iid == "missing" else \
            _plyfile_points(corpus.root / "data" / "pc" / f"{c.iid}.ply")
        d = cdist(pred, ref, "sqeuclidean")
        values.append(d.min(axis=1).mean() + d.min(axis=0).mean())
    assert corpus.scores["cd"] == pytest.approx(np.mean(values), rel=1e-5)
    assert corpus.values["cd"]["same"] == 0.0


def test_dice_scipy(corpus: Corpus) -> None:
    from scipy.spatial.distance import dice

    values = []
    for c in corpus.cases["dice"]:
        g = (c.ref != 0).ravel()
        f = (c.pred != 0).ravel() if c.pred is not None else np.zeros_like(g)
        values.append(1.0 if not g.any() and not f.any() else 1.0 - dice(g, f))
    assert corpus.scores["dice"] == pytest.approx(100 * np.mean(values), abs=1e-9)
    assert corpus.values["dice"]["both_empty"] == 1.0 and corpus.values["dice"]["missing"] == 0.0


def test_roc_auc_sklearn(corpus: Corpus) -> None:
    from sklearn.metrics import roc_auc_score

    values = [roc_auc_score((c.ref != 0).ravel(), c.pred.ravel()) for c in corpus.cases["auc_map"]
              if len(np.unique(c.ref != 0)) == 2]
    assert corpus.scores["auc_map"] == pytest.approx(100 * np.mean(values), abs=1e-9)
    assert corpus.values["auc_map"]["one_class"] is None and corpus.values["auc_map"]["constant"] == 0.5


def test_sad_formula(corpus: Corpus) -> None:
    values = [np.abs((c.pred if c.pred is not None else 0) / 255.0 - c.ref / 255.0).sum() / 1000
              for c in corpus.cases["sad"]]
    assert corpus.scores["sad"] == pytest.approx(np.mean(values), abs=1e-12)
    assert corpus.values["sad"]["same"] == 0.0


def _pq_reference(ref: np.ndarray, pred: np.ndarray | None) -> tuple[float, int, int, int]:
    """panopticapi's pq_compute for one image and one category, written out segment pair by pair."""
    pred = np.zeros_like(ref) if pred is None else pred
    gts = [g for g in np.unique(ref) if g != 0]
    prs = [p for p in np.unique(pred) if p != 0]
    iou_sum, tp, matched_p, matched_g = 0.0, 0, set(), set()
    for g in gts:
        for p in prs:
            inter = np.sum((ref == g) & (pred == p))
            void = np.sum((ref == 0) & (pred == p))
            union = np.sum(ref == g) + np.sum(pred == p) - inter - void
            if inter / union > 0.5:
                iou_sum += inter / union
                tp += 1
                matched_p.add(p)
                matched_g.add(g)
    fp = sum(1 for p in prs if p not in matched_p and np.sum((ref == 0) & (pred == p)) / np.sum(pred == p) <= 0.5)
    return iou_sum, tp, fp, len(gts) - len(matched_g)


def test_panoptic_quality_formula(corpus: Corpus) -> None:
    sums = np.sum([_pq_reference(c.ref, c.pred) for c in corpus.cases["pq"]], axis=0)
    assert sums[1] > 0 and sums[2] + sums[3] > 0  # the corpus has matches and errors of both kinds
    assert corpus.scores["pq"] == pytest.approx(100 * sums[0] / (sums[1] + sums[2] / 2 + sums[3] / 2), abs=1e-9)


def test_rms_sklearn(corpus: Corpus) -> None:
    from sklearn.metrics import root_mean_squared_error

    values = []
    for c in corpus.cases["rms"]:
        valid = c.ref > 0
        if valid.any():
            pred = c.pred if c.pred is not None else np.zeros_like(c.ref)
            values.append(root_mean_squared_error(c.ref[valid].astype(float), pred[valid].astype(float)))
    assert corpus.scores["rms"] == pytest.approx(np.mean(values), rel=1e-12)
    assert corpus.values["rms"]["no_depth"] is None


def test_absrel_video_sklearn(corpus: Corpus) -> None:
    from sklearn.metrics import mean_absolute_percentage_error

    values = []
    for c in corpus.cases["absrel"]:
        r, p = np.concatenate([f.ravel() for f in c.ref]), np.concatenate([f.ravel() for f in c.pred])
        values.append(mean_absolute_percentage_error(r[r > 0], p[r > 0]))
    assert corpus.scores["absrel"] == pytest.approx(np.mean(values), rel=1e-12)


def test_epe_video_formula(corpus: Corpus) -> None:
    values = []
    for c in corpus.cases["epe"]:
        errs = []
        for k, f in enumerate(c.ref):
            p = c.pred[k] if c.pred is not None else np.full_like(f, 128)
            errs.append(np.linalg.norm(p[:, :, :2].astype(float) - f[:, :, :2].astype(float), axis=2).ravel())
        values.append(np.concatenate(errs).mean())
    assert corpus.scores["epe"] == pytest.approx(np.mean(values), rel=1e-12)


def test_s_measure_pysodmetrics(corpus: Corpus) -> None:
    from py_sod_metrics import Smeasure

    videos = []
    for c in corpus.cases["s_measure"]:
        frames = []
        for r, p in zip(c.ref, c.pred, strict=True):
            sm = Smeasure()
            sm.step(p.astype(np.uint8), r.astype(np.uint8))
            frames.append(sm.get_results()["sm"])
        videos.append(np.mean(frames))
    assert corpus.scores["s_measure"] == pytest.approx(100 * np.mean(videos), abs=1e-9)


def test_video_psnr_skimage(corpus: Corpus) -> None:
    from skimage.metrics import peak_signal_noise_ratio

    values = []
    for c in corpus.cases["psnr_video"]:
        frames = []
        for k, r in enumerate(c.ref):
            if k >= len(c.pred):
                frames.append(0.0)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # identical frames: division by zero, inf
                frames.append(min(100.0, peak_signal_noise_ratio(r, c.pred[k], data_range=255)))
        values.append(np.mean(frames))
    assert corpus.scores["psnr_video"] == pytest.approx(np.mean(values), abs=1e-9)
    assert corpus.values["psnr_video"]["same"] == 100.0 and corpus.values["psnr_video"]["missing"] == 0.0


def test_l1_score_formula(corpus: Corpus) -> None:
    values = []
    for c in corpus.cases["l1_distance"]:
        diffs = [np.abs((c.pred[k] if k < len(c.pred) else np.zeros_like(r)).astype(float) - r).ravel()
                 for k, r in enumerate(c.ref)]
        values.append(100 * (1 - np.concatenate(diffs).mean() / 255))
    assert corpus.scores["l1_distance"] == pytest.approx(np.mean(values), abs=1e-9)


def test_rmse_of_images_in_lab_skimage_sklearn(corpus: Corpus) -> None:
    from skimage.color import rgb2lab
    from sklearn.metrics import root_mean_squared_error

    values = []
    for c in corpus.cases["rmse_image"]:
        pred = c.pred if c.pred is not None else np.zeros_like(c.ref)
        values.append(root_mean_squared_error(rgb2lab(c.ref).ravel(), rgb2lab(pred).ravel()))
    assert corpus.values["rmse_image"]["c0"] == 0.0
    assert corpus.scores["rmse_image"] == pytest.approx(np.mean(values), rel=1e-9)


def _dtw_mcd(a: np.ndarray, b: np.ndarray) -> float:
    """Plain dynamic programming over the whole table, then the path back (diagonal first on ties)."""
    n, m = len(a), len(b)
    cost = [[math.dist(a[i], b[j]) for j in range(m)] for i in range(n)]
    acc = [[math.inf] * m for _ in range(n)]
    for i in range(n):
        for j in range(m):
            prev = 0.0 if i == j == 0 else min(acc[i - 1][j - 1] if i and j else math.inf,
                                               acc[i - 1][j] if i else math.inf, acc[i][j - 1] if j else math.inf)
            acc[i][j] = cost[i][j] + prev
    i, j, dists = n - 1, m - 1, [cost[n - 1][m - 1]]
    while i or j:
        options = [(acc[i - 1][j - 1], i - 1, j - 1)] if i and j else []
        options += [(acc[i - 1][j], i - 1, j)] if i else []
        options += [(acc[i][j - 1], i, j - 1)] if j else []
        _, i, j = min(options, key=lambda o: o[0])
        dists.append(cost[i][j])
    return 10 / math.log(10) * math.sqrt(2) * float(np.mean(dists))


def _mfcc(x: np.ndarray) -> np.ndarray:
    from python_speech_features import mfcc

    return mfcc(x, 16000, winlen=0.025, winstep=0.01, numcep=13, nfilt=26, nfft=512, preemph=0.97,
                ceplifter=0, appendEnergy=False, winfunc=np.hamming)[:, 1:]


def test_mcd_python_speech_features(corpus: Corpus) -> None:
    values = []
    for c in corpus.cases["mcd"]:
        pred = c.pred if c.pred is not None else np.zeros_like(c.ref)
        values.append(_dtw_mcd(_mfcc(c.ref), _mfcc(pred)))
    assert corpus.scores["mcd"] == pytest.approx(np.mean(values), rel=1e-9)
    assert corpus.values["mcd"]["same"] == 0.0 and corpus.values["mcd"]["missing"] > corpus.values["mcd"]["w1"]


# ------------------------------------------------------------------ generated inputs, UDFs alone

GEN = settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mask_pairs(draw: Any, labels: tuple[int, ...] = (0, 1, 2, 255)) -> tuple[np.ndarray, np.ndarray]:
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    cells = st.lists(st.sampled_from(labels), min_size=h * w, max_size=h * w)
    return (np.array(draw(cells)).reshape(h, w), np.array(draw(cells)).reshape(h, w))


@GEN
@given(pairs=st.lists(mask_pairs(), min_size=1, max_size=3))
def test_generated_pooled_miou_and_dice(pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
    from scipy.spatial.distance import dice
    from sklearn.metrics import jaccard_score

    with tempfile.TemporaryDirectory() as d:
        stats = []
        for k, (r, p) in enumerate(pairs):
            png(Path(d) / f"r{k}.png", r)
            png(Path(d) / f"p{k}.png", p)
            stats.append(dense.mask_label_counts(f"{d}/p{k}.png", f"{d}/r{k}.png"))
            g, f = r.ravel() != 0, p.ravel() != 0
            want = 1.0 if not g.any() and not f.any() else 1 - dice(g, f)
            assert dense.dice(f"{d}/p{k}.png", f"{d}/r{k}.png") == pytest.approx(want, abs=1e-12)
    y = np.concatenate([r.ravel() for r, _ in pairs])
    yhat = np.concatenate([p.ravel() for _, p in pairs])
    want = jaccard_score(y, yhat, labels=np.unique(y), average="macro", zero_division=0)
    assert dense.pooled_miou(stats) == pytest.approx(want, abs=1e-12)


@GEN
@given(pair=mask_pairs(labels=(0, 40, 128, 129, 200, 255)))
def test_generated_s_measure_pysodmetrics(pair: tuple[np.ndarray, np.ndarray]) -> None:
    from py_sod_metrics import Smeasure

    gt, pred = pair
    sm = Smeasure()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm.step(pred.astype(np.uint8), gt.astype(np.uint8))
    want = sm.get_results()["sm"]
    assume(not np.isnan(want))  # the MATLAB split leaves a quadrant empty: NaN there, weight 0 here
    with tempfile.TemporaryDirectory() as d:
        png(Path(d) / "r.png", gt)
        png(Path(d) / "p.png", pred)
        got = dense.s_measure(f"{d}/p.png", f"{d}/r.png", "image")
    assert got == pytest.approx(want, abs=1e-9)


@GEN
@given(pair=mask_pairs(labels=(0, 7, 8, 9)))
def test_generated_panoptic_quality(pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, pred = pair
    with tempfile.TemporaryDirectory() as d:
        png(Path(d) / "r.png", ref)
        png(Path(d) / "p.png", pred)
        got = dense.pq_stats(f"{d}/p.png", f"{d}/r.png")
    want = dict(zip(("iou_sum", "true_positives", "false_positives", "false_negatives"), _pq_reference(ref, pred),
                    strict=True))
    assert got == pytest.approx(want, abs=1e-12)


@GEN
@given(pair=mask_pairs(labels=(0, 3, 90, 255)))
def test_generated_roc_auc_sklearn(pair: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.metrics import roc_auc_score

    ref, prob = pair
    with tempfile.TemporaryDirectory() as d:
        png(Path(d) / "r.png", ref)
        png(Path(d) / "p.png", prob)
        got = dense.roc_auc(f"{d}/p.png", f"{d}/r.png")
    if len(np.unique(ref != 0)) < 2:
        assert got is None
    else:
        assert got == pytest.approx(roc_auc_score((ref != 0).ravel(), prob.ravel()), abs=1e-12)


@GEN
@given(n=st.integers(1, 12), m=st.integers(1, 12), seed=st.integers(0, 2**16), binary=st.booleans())
def test_generated_clouds_plyfile_and_scipy(n: int, m: int, seed: int, binary: bool) -> None:
    from plyfile import PlyData
    from scipy.spatial.distance import cdist
    from sklearn.metrics import jaccard_score

    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, 3)), rng.normal(size=(m, 3))
    la, lb = rng.integers(0, 3, size=n), rng.integers(0, 3, size=n)
    with tempfile.TemporaryDirectory() as d:
        ply(Path(d) / "a.ply", a, la, binary=binary)
        ply(Path(d) / "b.ply", b, binary=not binary)
        ply(Path(d) / "c.ply", a, lb)
        cloud = pointclouds.read_ply(f"{d}/a.ply")
        want = PlyData.read(f"{d}/a.ply")["vertex"]
        assert cloud is not None and all(np.allclose(cloud[k], np.asarray(want[k], dtype=np.float64), rtol=1e-6)
                                         for k in ("x", "y", "z", "label"))
        dist = cdist(np.asarray([list(v)[:3] for v in PlyData.read(f"{d}/b.ply")["vertex"]], dtype=np.float64),
                     np.stack([want["x"], want["y"], want["z"]], 1).astype(np.float64), "sqeuclidean")
        assert pointclouds.chamfer(f"{d}/b.ply", f"{d}/a.ply") == pytest.approx(
            dist.min(1).mean() + dist.min(0).mean(), rel=1e-5)
        parts = np.union1d(la, lb)
        assert pointclouds.part_miou(f"{d}/c.ply", f"{d}/a.ply") == pytest.approx(
            jaccard_score(la, lb, labels=parts, average=None).mean(), abs=1e-12)


@settings(max_examples=examples(6), deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(500, 2500), m=st.integers(500, 2500))
def test_generated_mcd(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as d:
        a = wav(Path(d) / "a.wav", rng.uniform(-0.5, 0.5, size=n))
        b = wav(Path(d) / "b.wav", rng.uniform(-0.5, 0.5, size=m))
        assert speech.mcd(f"{d}/b.wav", f"{d}/a.wav") == pytest.approx(_dtw_mcd(_mfcc(a), _mfcc(b)), rel=1e-9)


def test_video_reader_reads_the_generator_and_animated_images(tmp_path: Path) -> None:
    from glc.compiler.udfs.video import read_frames

    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, size=(8, 10, 3)).astype(np.uint8) for _ in range(3)]
    decoded = mp4(tmp_path / "v.mp4", frames)
    got = read_frames(str(tmp_path / "v.mp4"))
    assert got is not None and len(got) == 3 and all(np.array_equal(g, e) for g, e in zip(got, decoded, strict=True))
    Image.fromarray(frames[0]).save(tmp_path / "a.gif", save_all=True,
                                    append_images=[Image.fromarray(f) for f in frames[1:]])
    gif = read_frames(str(tmp_path / "a.gif"))
    assert gif is not None and len(gif) == 3 and gif[0].shape == (8, 10, 3)
    (tmp_path / "bad.mp4").write_bytes(b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00")
    assert read_frames(str(tmp_path / "bad.mp4")) is None and read_frames(str(tmp_path / "none.mp4")) is None
