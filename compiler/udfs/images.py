"""Image metrics on files: PSNR and MS-SSIM of a generated image against its reference.

PSNR: 10 log10(255^2 / MSE) over all pixels and channels of 8-bit images; identical images
are capped at 100 dB (instead of infinity) so a mean stays finite. MS-SSIM (Wang, Simoncelli
and Bovik 2003): the mean over channels of each channel's MS-SSIM, with an 11x11 Gaussian
window (sigma 1.5), valid region, K1 = 0.01, K2 = 0.03, five scales weighted (0.0448, 0.2856,
0.3001, 0.2363, 0.1333) and 2x2 average downsampling (scipy/sewar alignment, see ``_down``);
fewer scales when the image is small. A missing or unreadable file, or a size that differs
from the reference, scores 0 dB / 0.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache

import numpy as np

PSNR_CAP = 100.0
WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def load_image(path: str | None) -> np.ndarray | None:
    from PIL import Image

    if not path or not os.path.isfile(path):  # a FIFO or device would block or never end
        return None
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB") if im.mode not in ("L", "RGB") else im, dtype=np.float64)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return arr if arr.ndim == 3 else arr[:, :, None]


def psnr(pred: str | None, ref: str | None) -> float:
    a, b = load_image(pred), load_image(ref)
    if a is None or b is None or a.shape != b.shape:
        return 0.0
    mse = float(np.mean((a - b) ** 2))
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * math.log10(255.0**2 / mse))


@lru_cache(maxsize=4)
def _gaussian(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    ax = np.arange(size) - (size - 1) / 2
    g = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def _filter(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    from scipy.signal import correlate2d

    return correlate2d(x, w, mode="valid")


def _ssim_cs(a: np.ndarray, b: np.ndarray, c1: float, c2: float) -> tuple[float, float]:
    w = _gaussian()
    mu_a, mu_b = _filter(a, w), _filter(b, w)
    saa = _filter(a * a, w) - mu_a**2
    sbb = _filter(b * b, w) - mu_b**2
    sab = _filter(a * b, w) - mu_a * mu_b
    cs = (2 * sab + c2) / (saa + sbb + c2)
    ssim = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1) * cs
    return float(np.mean(ssim)), float(np.mean(cs))


def _down(x: np.ndarray) -> np.ndarray:
    # 2x2 mean of each pixel with its upper/left neighbours (mirrored at the edge), then every
    # second pixel: scipy.ndimage.uniform_filter(size=2) alignment, as sewar's MS-SSIM does;
    # Wang's MATLAB code averages with the lower/right neighbours, half a pixel away.
    p = np.pad(x, ((1, 0), (1, 0)), mode="symmetric")
    avg = (p[:-1, :-1] + p[1:, :-1] + p[:-1, 1:] + p[1:, 1:]) / 4
    return avg[::2, ::2]


def ms_ssim_arrays(a: np.ndarray, b: np.ndarray, max_value: float = 255.0) -> float:
    c1, c2 = (0.01 * max_value) ** 2, (0.03 * max_value) ** 2
    min_dim = min(a.shape[0], a.shape[1])
    if min_dim < 11:
        return 0.0
    scales = min(len(WEIGHTS), int(math.floor(math.log2(min_dim / 11))) + 1)
    weights = np.array(WEIGHTS[:scales])
    values = []
    for ch in range(a.shape[2]):
        x, y = a[:, :, ch], b[:, :, ch]
        ssims, css = [], []
        for _ in range(scales):
            s, c = _ssim_cs(x, y, c1, c2)
            ssims.append(s)
            css.append(c)
            x, y = _down(x), _down(y)
        # negative bases raised to fractional weights: keep the real part of the complex power
        value = np.prod(np.power(np.array(css[:-1], dtype=complex), weights[:-1])) * \
            np.power(complex(ssims[-1]), weights[-1])
        values.append(float(np.real(value)))
    return float(np.mean(values))


def ms_ssim(pred: str | None, ref: str | None) -> float:
    a, b = load_image(pred), load_image(ref)
    if a is None or b is None or a.shape != b.shape:
        return 0.0
    return ms_ssim_arrays(a, b)
