"""Metrics over the feature vectors an evaluator (a learned model the user configures) read.

An evaluator reading of a feature metric is JSON ``{"prediction": [...], "reference": [...]}``
(``glc.execute.inference``; stored in ``judgments.output``): the vector of the generated file (``null``
when the prediction is missing or failed) and the vector of the reference (its media file, or
the prompt text for CLIP/CLAP-style scores).

* :func:`frechet` — the Fréchet distance of the two sets of vectors (FID, FVD, FAD): the distance
  between Gaussians fitted to each set, ``‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr √(Σ₁Σ₂)`` (pytorch-fid,
  clean-fid, torchmetrics), Σ with ``n − 1`` in the denominator.
* :func:`cosine` — ``100 · cos`` of the prediction's and the reference's vector (CLIP score as
  torchmetrics' ``CLIPScore`` computes it per sample).

``tr √(Σ₁Σ₂)`` is computed without a matrix square root: with factors ``Σᵢ = FᵢFᵢᵀ`` (the
centred samples over √(n − 1) when there are no more samples than dimensions, else the
eigen-factor of Σᵢ), the eigenvalues of ``Σ₁Σ₂`` are the squared singular values of ``F₁ᵀF₂``,
so the trace is the nuclear norm of ``F₁ᵀF₂``. This is exact for singular covariances (few
samples, constant dimensions), where ``scipy.linalg.sqrtm`` needs pytorch-fid's ``eps`` offset.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def _vector(value: Any) -> np.ndarray | None:
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        return None
    arr = np.asarray(value, dtype=np.float64)
    return arr if np.all(np.isfinite(arr)) else None


def reading(payload: str | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(prediction vector, reference vector) of an evaluator reading; None where absent or invalid."""
    if not payload:
        return None, None
    try:
        doc = json.loads(payload)
    except ValueError:
        return None, None
    if not isinstance(doc, dict):
        return None, None
    return _vector(doc.get("prediction")), _vector(doc.get("reference"))


def _sorted_rows(vectors: list[np.ndarray]) -> np.ndarray:
    """The vectors as a matrix, rows in lexicographic order: sums then never depend on the order
    the instances arrive in."""
    rows = sorted(vectors, key=lambda v: tuple(v.tolist()))
    return np.stack(rows)


def _factor(x: np.ndarray) -> np.ndarray:
    """F with F Fᵀ = the sample covariance (n − 1) of the rows of ``x``."""
    n, d = x.shape
    centred = x - x.mean(axis=0)
    if n <= d:
        return np.asarray(centred.T / math.sqrt(n - 1))
    cov = centred.T @ centred / (n - 1)
    w, u = np.linalg.eigh(cov)
    return np.asarray(u * np.sqrt(np.clip(w, 0.0, None)))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance of the Gaussians fitted to the rows of ``a`` and of ``b`` (n ≥ 2 each)."""
    mu = a.mean(axis=0) - b.mean(axis=0)
    fa, fb = _factor(a), _factor(b)
    trace_a = float(np.sum(fa * fa))
    trace_b = float(np.sum(fb * fb))
    cross = float(np.linalg.svd(fa.T @ fb, compute_uv=False).sum())
    return max(0.0, float(mu @ mu) + trace_a + trace_b - 2.0 * cross)


def frechet(payloads: list[str | None] | None) -> float | None:
    """The task's Fréchet distance between the generated set (the prediction vectors of the
    readings that have one) and the reference set (every reading's reference vector); None when
    a set has fewer than two vectors or the dimensions differ."""
    preds, refs = [], []
    for p in payloads or []:
        pv, rv = reading(p)
        if pv is not None:
            preds.append(pv)
        if rv is not None:
            refs.append(rv)
    if len(preds) < 2 or len(refs) < 2:
        return None
    dims = {v.shape[0] for v in preds + refs}
    if len(dims) != 1:
        return None
    return frechet_distance(_sorted_rows(preds), _sorted_rows(refs))


def cosine(payload: str | None) -> float | None:
    """100 · cosine similarity of the reading's prediction and reference vectors; 0 when the
    prediction has no vector (a missing or failed output), None without a reference vector."""
    pv, rv = reading(payload)
    if rv is None:
        return None
    if pv is None or pv.shape != rv.shape:
        return 0.0
    if not np.any(pv) or not np.any(rv):
        return 0.0  # a zero vector has no direction
    pv, rv = pv / np.max(np.abs(pv)), rv / np.max(np.abs(rv))  # scaled first: no under- or overflow in the norms
    return 100.0 * float((pv / np.linalg.norm(pv)) @ (rv / np.linalg.norm(rv)))


def exact_mean(values: list[float | None] | None) -> float | None:
    """The mean of the non-NULL values, from their correctly rounded sum (math.fsum): the same
    double whatever order the values arrive in, on DuckDB and on Spark alike."""
    xs = [v for v in values or [] if v is not None]
    if not xs:
        return None
    try:
        total = math.fsum(xs)
    except OverflowError:  # a partial sum past the largest double: the same sum scaled down, exact still
        total = math.fsum(x * 0.5**64 for x in xs) * 2.0**64
    except ValueError:  # inf + -inf
        total = math.nan
    return total / len(xs)


def reading_score(payload: str | None) -> float | None:
    """The number an evaluator gave (a quality model's score, a judge's grade); None without one."""
    if not payload:
        return None
    try:
        value = float(payload)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
