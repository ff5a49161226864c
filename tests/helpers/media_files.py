"""Writers of the media files the dense, point-cloud and speech metric tests score: PNG masks and
maps, MJPEG MP4 videos (the container ``gb_tree`` writes), PLY point clouds, PCM WAVs.

Each writer returns what the file holds as the reference implementations should see it: a
video's frames are the JPEG images decoded by Pillow, independently of glc's MP4 reader.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
from PIL import Image

from helpers.gb_tree import mp4_from_jpegs


def png(path: Path, array: np.ndarray, mode: str | None = None) -> np.ndarray:
    """Write ``array`` (H x W grey, H x W x 3 colour; uint8, or uint16 with mode I;16) as a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "I;16":
        Image.fromarray(array.astype(np.uint16)).save(path)
    else:
        Image.fromarray(array.astype(np.uint8)).save(path)
    return np.asarray(Image.open(path))


def mp4(path: Path, frames: list[np.ndarray], quality: int = 90) -> list[np.ndarray]:
    """Write frames (H x W x 3 uint8) as an MJPEG MP4; returns the frames Pillow decodes from the JPEGs."""
    jpegs = []
    for f in frames:
        buf = io.BytesIO()
        Image.fromarray(f.astype(np.uint8)).save(buf, format="JPEG", quality=quality)
        jpegs.append(buf.getvalue())
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    path.write_bytes(mp4_from_jpegs(jpegs, w, h, 8))
    return [np.asarray(Image.open(io.BytesIO(j)).convert("RGB")) for j in jpegs]


def grey(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Frames as Pillow's luminance (what glc reads a video map or mask as)."""
    return [np.asarray(Image.fromarray(f).convert("L")).astype(np.float64) for f in frames]


def ply(path: Path, xyz: np.ndarray, labels: np.ndarray | None = None, binary: bool = False) -> None:
    """Write a point cloud (with an int ``label`` per point) as ASCII or binary little-endian PLY."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = ["ply", f"format {'binary_little_endian' if binary else 'ascii'} 1.0", f"element vertex {len(xyz)}",
            "property float x", "property float y", "property float z"]
    if labels is not None:
        head.append("property int label")
    head.append("end_header")
    if binary:
        fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")] + ([("label", "<i4")] if labels is not None else [])
        table = np.zeros(len(xyz), dtype=fields)
        for k, c in enumerate("xyz"):
            table[c] = xyz[:, k]
        if labels is not None:
            table["label"] = labels
        path.write_bytes(("\n".join(head) + "\n").encode() + table.tobytes())
        return
    rows = [" ".join(f"{v:.6f}" for v in p) + (f" {int(labels[k])}" if labels is not None else "")
            for k, p in enumerate(xyz)]
    path.write_text("\n".join(head + rows) + "\n")


def wav(path: Path, samples: np.ndarray, rate: int = 16000) -> np.ndarray:
    """Write samples in [-1, 1] as 16-bit mono PCM; returns what the file holds, back in [-1, 1]."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ints = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(ints.tobytes())
    return ints.astype(np.float64) / 32768.0
