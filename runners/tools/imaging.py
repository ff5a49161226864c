"""Classical image restoration, as programs: ``python -m glc.runners.tools.imaging denoise|upscale``.

* ``denoise --method nlm|tv|median|none IN OUT`` — non-local means (scikit-image, noise level
  estimated from the image), total-variation (Chambolle), a 3x3 median filter (Pillow), or a copy.
* ``upscale --method lanczos|bicubic|nearest --factor N IN OUT`` — Pillow resampling.

They are the specialists and components the offline benchmark's image-generation tasks
measure; any program with the same command line can take their place in a model spec.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from PIL import Image, ImageFilter


def noise_sigma(x: np.ndarray) -> float:
    """Immerkaer's estimate of additive Gaussian noise (Laplacian-difference mask, 1996)."""
    from scipy.signal import convolve2d

    mask = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
    h, w = x.shape
    return float(np.sqrt(np.pi / 2) * np.abs(convolve2d(x, mask, mode="valid")).sum() / (6 * (w - 2) * (h - 2)))


def denoise(method: str, src: str, dst: str) -> None:
    im = Image.open(src)
    if method == "median":
        im.filter(ImageFilter.MedianFilter(3)).save(dst)
        return
    if method == "none":
        im.save(dst)
        return
    from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

    x = np.asarray(im, dtype=np.float64) / 255.0
    channel = -1 if x.ndim == 3 else None
    if method == "nlm":
        sigma = noise_sigma(x if x.ndim == 2 else x.mean(axis=2))
        y = denoise_nl_means(x, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6, fast_mode=True,
                             channel_axis=channel)
    else:
        y = denoise_tv_chambolle(x, weight=0.08, channel_axis=channel)
    Image.fromarray(np.clip(np.round(y * 255), 0, 255).astype(np.uint8)).save(dst)


def upscale(method: str, factor: int, src: str, dst: str) -> None:
    im = Image.open(src)
    resample = {"lanczos": Image.Resampling.LANCZOS, "bicubic": Image.Resampling.BICUBIC,
                "nearest": Image.Resampling.NEAREST}[method]
    im.resize((im.width * factor, im.height * factor), resample=resample).save(dst)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m glc.runners.tools.imaging")
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("denoise")
    d.add_argument("--method", choices=["nlm", "tv", "median", "none"], default="nlm")
    d.add_argument("src")
    d.add_argument("dst")
    u = sub.add_parser("upscale")
    u.add_argument("--method", choices=["lanczos", "bicubic", "nearest"], default="lanczos")
    u.add_argument("--factor", type=int, default=2)
    u.add_argument("src")
    u.add_argument("dst")
    a = ap.parse_args(argv)
    if a.cmd == "denoise":
        denoise(a.method, a.src, a.dst)
    else:
        upscale(a.method, a.factor, a.src, a.dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
