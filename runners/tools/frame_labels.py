"""What an image classifier sees in each frame of a video, as a program an evaluator route runs:
``python -m glc.runners.tools.frame_labels [--frames N] [--top K] VIDEO``.

Prints one JSON list with one entry per sampled frame: the names of the classifier's top ``K``
classes for that frame (every synonym of an ImageNet class: ``["tabby", "tabby cat"]``). Frames
are ``N`` evenly spaced ones (16 by default, as VBench samples; all when the video has fewer),
read like glc reads videos (MJPEG MP4/MOV, animated GIF/APNG/WebP/TIFF). The classifier is the
bundled EfficientNet-Lite0 (ImageNet-1k): short side resized to 256, centre crop 224,
``(x - 127) / 128`` on 0-255 pixels. The ``success_rate``, ``frame_acc`` and ``e_acc`` metrics
score such readings (docs/metrics.md, "Metrics read by an evaluator").
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def sample(n_frames: int, wanted: int) -> list[int]:
    """``wanted`` evenly spaced frame indices (the middle of each of ``wanted`` equal spans)."""
    if n_frames <= wanted:
        return list(range(n_frames))
    step = n_frames / wanted
    return [int(i * step + step / 2) for i in range(wanted)]


def pixels(frames: list[Any]) -> Any:
    import numpy as np
    import torch
    from PIL import Image

    out = []
    for f in frames:
        im = Image.fromarray(np.clip(f, 0, 255).astype(np.uint8)).convert("RGB")
        w, h = im.size
        s = 256 / min(w, h)
        im = im.resize((max(224, round(w * s)), max(224, round(h * s))), resample=Image.Resampling.BICUBIC)
        w, h = im.size
        left, top = (w - 224) // 2, (h - 224) // 2
        a = np.asarray(im.crop((left, top, left + 224, top + 224)), dtype=np.float32)
        out.append((a - 127.0) / 128.0)
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def frame_labels(path: str, frames: int = 16, top: int = 1) -> list[list[str]]:
    import torch
    from glc.compiler.udfs.video import read_frames
    from glc.runners import bundled

    video = read_frames(path)
    if not video:
        raise SystemExit(f"frame_labels: no frames could be read from {path} (MJPEG MP4/MOV or an animated image)")
    chosen = [video[i] for i in sample(len(video), frames)]
    torch.manual_seed(0)
    model = bundled.load_efficientnet().eval()
    classes = bundled.imagenet_classes()
    with torch.inference_mode():
        logits = model(pixels(chosen))
    best = logits.topk(top, dim=-1).indices.tolist()
    return [[name.strip() for k in row for name in classes[k].split(",")] for row in best]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m glc.runners.tools.frame_labels")
    ap.add_argument("--frames", type=int, default=16, help="frames to sample (default 16)")
    ap.add_argument("--top", type=int, default=1, help="classes per frame (default 1)")
    ap.add_argument("video")
    a = ap.parse_args(argv)
    if not 1 <= a.frames <= 1024 or not 1 <= a.top <= 20:
        ap.error("--frames must be 1..1024 and --top 1..20")
    print(json.dumps(frame_labels(a.video, a.frames, a.top), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
