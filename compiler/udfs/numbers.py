"""Statistics over a task's numbers that SQL aggregates would make order dependent."""

from __future__ import annotations

import math

import numpy as np


def pearson(xs: list[float] | None, ys: list[float] | None) -> float:
    """Pearson's r as scipy.stats.pearsonr computes it (centred, scaled by the largest deviation,
    normalized, dot product, clipped to [-1, 1]); 0.0 where scipy has no value: fewer than two
    pairs, or a constant side."""
    if not xs or not ys or len(xs) < 2 or len(xs) != len(ys):
        return 0.0
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if (x == x[0]).all() or (y == y[0]).all():
        return 0.0
    xm, ym = x - x.mean(), y - y.mean()
    xmax, ymax = np.max(np.abs(xm)), np.max(np.abs(ym))
    if xmax == 0 or ymax == 0:
        return 0.0
    xm, ym = xm / xmax, ym / ymax
    r = float(np.dot(xm / np.linalg.norm(xm), ym / np.linalg.norm(ym)))
    return 0.0 if math.isnan(r) else max(min(r, 1.0), -1.0)
