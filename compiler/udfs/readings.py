"""Metrics over what an evaluator read from generated media: the labels a detector or classifier
saw in each frame of a video (or each event of a piece of music), against the reference labels.

A reading is the evaluator's text (``judgments.output``): a JSON list with one entry per frame,
each entry a list of label strings, one label string, or an object with ``labels``; a JSON
object ``{"frames": [...]}``; or plain text, one frame whose labels are separated by commas.
Labels compare after lower-casing and collapsing whitespace (``" ".join(s.lower().split())``).

``frame_label_hits(reading, references, match, empty_frames)`` gives ``{hits, frames}``:

* ``all`` (VBench's object-class / multiple-objects check): a frame is a hit when every
  reference label is among its labels; frames are the frames read.
* ``any`` (frame accuracy): a frame is a hit when one of the reference labels is among its labels.
* ``sequence`` (event accuracy): the reference is a sequence of events (the references in order,
  or one reference split at commas); event k is a hit when its label is among the labels of the
  reading's k-th entry; frames are the reference events.

A reading without frames (no file, a failed evaluator, an unreadable text) counts ``empty_frames``
frames and no hit for ``all`` and ``any`` (VBench samples 16 frames per video), and misses every
event for ``sequence``.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict


def norm(label: str) -> str:
    return " ".join(label.lower().split())


def _frame(entry: Any) -> set[str]:
    if isinstance(entry, dict):
        entry = entry.get("labels", entry.get("label", []))
    if isinstance(entry, str):
        entry = [entry]
    if not isinstance(entry, list):
        return set()
    return {norm(x) for x in entry if isinstance(x, str) and norm(x)}


def frames_of(reading: str | None) -> list[set[str]]:
    """The label set of each frame of a reading (empty list: nothing read)."""
    if reading is None or not reading.strip():
        return []
    try:
        doc = json.loads(reading)
    except ValueError:
        return [{norm(x) for x in reading.split(",") if norm(x)}]
    if isinstance(doc, dict):
        doc = doc.get("frames", doc.get("events", []))
    if isinstance(doc, str):
        return [_frame(doc)]
    if not isinstance(doc, list):
        return []
    return [_frame(e) for e in doc]


def reference_events(refs: list[str]) -> list[str]:
    if len(refs) == 1:
        return [norm(x) for x in refs[0].split(",") if norm(x)]
    return [norm(r) for r in refs if norm(r)]


class FrameHits(TypedDict):
    """``glc_frame_label_hits``' STRUCT (field names as in compiler/udfs/registry.py)."""

    hits: float  # frames (events) that are hits
    frames: float  # frames read (reference events)


def frame_label_hits(reading: str | None, refs: list[str | None] | None, match: str | None,
                     empty_frames: float | None) -> FrameHits | None:
    """Hits and frames of one reading against its reference labels (None without references)."""
    labels = [r for r in refs or [] if isinstance(r, str)]
    if match == "sequence":
        events = reference_events(labels)
        if not events:
            return None
        got = frames_of(reading)
        return {"hits": float(sum(1 for k, e in enumerate(events) if k < len(got) and e in got[k])),
                "frames": float(len(events))}
    want = {norm(x) for x in labels if norm(x)}
    if not want:
        return None
    got = frames_of(reading)
    if not got:
        return {"hits": 0.0, "frames": float(empty_frames or 0)}
    hit = (lambda f: want <= f) if match == "all" else (lambda f: bool(want & f))
    return {"hits": float(sum(1 for f in got if hit(f))), "frames": float(len(got))}
