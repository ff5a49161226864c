"""Metric corpora (id, reference, prediction) that several test files score: test_metrics and
test_series_metrics against reference implementations, test_spark against DuckDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

# (id, reference, prediction)
TEXT = [
    ("t1", "The cat sat on the mat.", "the cat sat on a mat"),
    ("t2", "天气很好", "天气好"),
    ("t3", "", ""),
    ("t4", "A quick brown fox", "quick brown foxes"),
    ("t5", "naïve café", "naive cafe"),
    ("t6", "Hello, world!", "Hello world"),
    ("t7", "the the the", "the"),
    ("t8", "x", "y"),
    ("t9", "It is 3.5 km away.", "it's 3.5 km away"),
    ("t10", "exactly the same", "exactly the same"),
]
ASCII = [(i, r, p) for i, r, p in TEXT if r.isascii() and p.isascii() and r]
CHOICES = [("c1", "B", "B"), ("c2", "(C)", "(c) a dog"), ("c3", "D", "The answer is D."), ("c4", "A", "A. cat"),
           ("c5", "A", ""), ("c6", "B", "I think it is B"), ("c7", "C", "b) dog"), ("c8", "A", "answer: a")]
LABELS = [("l1", ["cat", "dog"], "cat, dog"), ("l2", ["bird"], "Bird,fish"), ("l3", ["cat"], ""),
          ("l4", ["dog", "fish", "cat"], "dog"), ("l5", ["éclair"], "ÉCLAIR")]
CLASSES = [("k1", "pos", "pos"), ("k2", "pos", "neg"), ("k3", "neg", "neg"), ("k4", "neu", "neu"),
           ("k5", "neu", "pos"), ("k6", "neu", "neu"), ("k7", "pos", "pos")]
NUMBERS = [("n1", 3.0, "3"), ("n2", -1.5, "about -2.5 units"), ("n3", 10.0, "no idea"), ("n4", 0.0, "0.25"),
           ("n5", 7.25, "7.25")]
BOXES = [("b1", [10, 10, 50, 50], [12, 8, 48, 55]), ("b2", [0, 0, 20, 10], "box: 5, 0, 25, 10"),
         ("b3", [30, 30, 40, 40], [60, 60, 70, 70]), ("b4", [1, 1, 9, 9], None)]
DETECTIONS = [
    ("d1", [{"bbox": [10, 10, 50, 50]}, {"bbox": [60, 60, 90, 100]}],
     [{"bbox": [12, 10, 50, 52], "score": 0.9}, {"bbox": [58, 61, 90, 98], "score": 0.6},
      {"bbox": [0, 0, 5, 5], "score": 0.95}]),
    ("d2", [{"bbox": [5, 5, 25, 45]}],
     [{"bbox": [6, 4, 26, 40], "score": 0.8}, {"bbox": [5, 5, 25, 45], "score": 0.3}]),
    ("d3", [{"bbox": [0, 0, 10, 10]}, {"bbox": [20, 20, 30, 30]}], []),
    ("d4", [{"bbox": [40, 40, 80, 80]}], [{"bbox": [41, 41, 79, 82], "score": 0.7}]),
]

# ranked relation labels (recall@50) and relative translation errors (3D)
RANKED_LABELS = [f"rel {k}" for k in range(70)]
RANKED: list[tuple[str, list[str], Any]] = [
    ("r1", ["on", "under"], "On, beside, under, on"),
    ("r2", ["near"], ["Beside", "NEAR ", "near"]),
    ("r3", ["left of", "right of"], "  left   of ,behind"),
    ("r4", ["rel 60"], ", ".join(RANKED_LABELS)),  # the 61st distinct label is past the first 50
    ("r5", ["rel 20", "rel 49"], ", ".join(RANKED_LABELS[::-1][:60])),
    ("r6", ["x"], ""),
    ("r7", [], "anything"),  # no reference labels: left out of the mean
    ("r8", ["a"], "a" + ", a" * 60),
]
RTE_NUMBERS = [("n1", 0.5, "0.7"), ("n2", 1.25, "the error is 1.0 m"), ("n3", 2.0, "unknown"), ("n4", -0.3, "-0.3")]


def write_images(root: Path) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(3)
    from PIL import Image

    folder = root / "data" / "images"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k, (shape, noise) in enumerate([((64, 64, 3), 20), ((48, 80, 3), 60), ((100, 100, 3), 0), ((32, 32, 3), 90)]):
        ref = rng.integers(0, 256, shape).astype(np.uint8)
        pred = np.clip(ref.astype(int) + rng.integers(-noise, noise + 1, shape), 0, 255).astype(np.uint8)
        Image.fromarray(ref).save(folder / f"ref{k}.png")
        Image.fromarray(pred).save(folder / f"pred{k}.png")
        out.append((f"i{k}", f"images/ref{k}.png", str((folder / f"pred{k}.png").resolve())))
    return out
