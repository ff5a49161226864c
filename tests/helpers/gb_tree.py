"""Generator of a synthetic General-Bench data tree for every task of the catalog.

The real General-Bench download cannot be fetched here, so tests and benchmarks build a tree of the
same layout from the catalog (``data/general-bench/tasks.csv`` + ``task_types.csv``)::

    <out>/Image/comprehension/<Task-Name>/annotation.json
    <out>/Image/comprehension/<Task-Name>/images/<stem>.png
    <out>/NLP/<Task-Name>/annotation.json
    ...

Each folder is ``glc.compiler.binding.canonical_folder`` of the task (two catalog names hold a ``/``,
so their folders nest: ``NLP/Gene/Protein-Named-Entity-Recognition``), and its ``annotation.json`` is
``{"task", "type", "skill", "data": [{"id", "input", "output"}, ...]}`` (one record per line of the
``data`` list). The Close Set (``close_set=True``) is the same tree with no ``output`` key in any
record and none of the reference media (``*_gt``, ``*_ref`` files); its inputs and input media are
byte-identical to the Open Set of the same seed.

Fields per task type (``task_types.csv``); the media key follows the modality (``image``,
``video``, ``audio``, ``pointcloud``; none for NLP):

* multiple_choice: input {question, options[4], media}, output {answer: "A".."D"}
* classification: input {question, options, video}, output {answer: label}
* label_set: input {text, label_space} (NLP) or {question, image, label_space}, output {answer: [1-3 labels]}
* short_answer: input {question, context (NLP) | media}, output {answer: str or list of acceptable strs}
* open_ended: input {question | instruction, text? (NLP source text), media}, output one of
  {translation} {summary} {sql} {code} {caption} {answer}, from the task name
* numeric: input {question, context (NLP) | media}, output {answer: number}
* detection: input {question, image | pointcloud, categories}, output {boxes: [{bbox: [x1,y1,x2,y2], label}]}
  (0-4 boxes; about one image in seven has none)
* tracking: input {question, video, init_box}, output {boxes: one {bbox, label} per frame}
* dense_prediction: input {question, image}, output {image: "images/<stem>_gt.png"}
* video_dense_prediction: input {question, video}, output {video: "videos/<stem>_gt.mp4"}
* pointcloud_segmentation: input {question, pointcloud}, output {pointcloud: "pointclouds/<stem>_gt.ply"}
* image_generation: input {prompt, image? | audio?}, output {image, label? (EEG-based: the class)}
* video_generation: input {prompt, image? (image-to-video, reference style) | video? (restoration)}, output {video,
  labels? (the success-rate and frame-accuracy tasks: the objects to be seen)}
* audio_generation: input {prompt, audio? | image? | video?}, output {audio, caption? (ImageToSpeech),
  events? (PianoToOrchestration)}
* speech_synthesis: input {text, audio? (conversion, translation)}, output {text: the transcript, audio}
* 3d_generation: input {prompt, image? | pointcloud?}, output {pointcloud}

A type the generator does not know fails loudly (``ValueError``).

Media are tiny but valid files: PNG 32x32 (Pillow), WAV 0.2 s mono 16 kHz 16-bit (``wave``), PLY
ASCII point clouds of 64 points (``label`` property on segmentation references), and MP4 written by
hand (nothing in the environment encodes MP4): ISO-BMFF ``ftyp`` + ``moov`` + ``mdat`` holding one
video track of four 32x32 JPEG frames at 8 fps, sample entry ``mp4v`` whose ``esds`` object type is
0x6C (JPEG), which FFmpeg's demuxer decodes as MJPEG (checked once with PyAV, which the project does
not depend on; tests/test_gb_tree.py walks the box tree and decodes each frame with Pillow). Media
file names are the id of an instance (``images/<id>.png``, ``images/<id>_gt.png``).

Sizes: ``small`` writes ``per_task`` instances per task (default 3) and one media file per instance
and role. ``full`` writes the real General-Bench total, 325,800 instances over the 699 tasks, 50 to
2,000 per task (a log-normal plan fixed by the seed, see ``count_plan``); to keep the tree small
it writes at most ``MEDIA_POOL`` (40) distinct media files per role (input, reference) and task,
named after instances 1..40, and instance ``i`` refers to those of instance ``i % 40``
round-robin, so instances sharing a picture also share its reference mask.

Everything is deterministic: the same arguments write the same bytes. Each task draws from its own
seeded generator, so a subset (``tasks=``) writes the same folders, byte for byte, as the whole tree.

Run as a script: ``python tests/helpers/gb_tree.py OUT --size small|full [--per-task N] [--close-set]
[--seed S] [--predictions DIR]``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import re
import shutil
import string
import struct
import sys
import time
import wave
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from glc.compiler.binding import canonical_folder
from glc.compiler.catalog import CatalogRow, read_catalog_csv, slugify
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "data" / "general-bench" / "tasks.csv"

SMALL_PER_TASK = 3
FULL_TOTAL = 325_800  # instances of the whole General-Bench
FULL_MIN, FULL_MAX = 50, 2_000
MEDIA_POOL = 40  # distinct media files per role and task in the full tree

IMAGE_SIZE = 32
VIDEO_FRAMES, VIDEO_FPS = 4, 8
AUDIO_RATE, AUDIO_SECONDS = 16_000, 0.2
PLY_POINTS = 64

Size = Literal["small", "full"]
Json = dict[str, Any]

TYPES = ("multiple_choice", "classification", "label_set", "short_answer", "open_ended", "numeric",
         "detection", "tracking", "dense_prediction", "video_dense_prediction", "pointcloud_segmentation",
         "image_generation", "video_generation", "audio_generation", "speech_synthesis", "3d_generation")
MediaKind = Literal["image", "video", "audio", "pointcloud"]
MEDIA_OUTPUT: dict[str, MediaKind] = {
    "dense_prediction": "image", "video_dense_prediction": "video", "pointcloud_segmentation": "pointcloud",
    "image_generation": "image", "video_generation": "video", "audio_generation": "audio",
    "speech_synthesis": "audio", "3d_generation": "pointcloud"}
MASK_OUTPUT = {"dense_prediction", "video_dense_prediction", "pointcloud_segmentation"}  # references are masks
MEDIA_KEY: dict[str, MediaKind] = {"image": "image", "video": "video", "audio": "audio", "3d": "pointcloud"}
MEDIA_DIR = {"image": ("images", ".png"), "video": ("videos", ".mp4"), "audio": ("audios", ".wav"),
             "pointcloud": ("pointclouds", ".ply")}


@dataclass(frozen=True)
class TaskInfo:
    name: str  # the catalog's task name, as written there
    sheet: str
    type: str
    skill: str
    folder: PurePosixPath  # relative to the tree root
    ids: tuple[str, ...]


@dataclass(frozen=True)
class TreeInfo:
    root: Path
    size: str
    close_set: bool
    seed: int
    tasks: tuple[TaskInfo, ...]
    task_count: int
    instance_count: int
    media_count: int


# --------------------------------------------------------------------------------------------- catalog


def catalog(path: Path = CATALOG) -> list[CatalogRow]:
    """The catalog rows with their type and skill; a row without a type is an error."""
    rows = read_catalog_csv(path)
    untyped = [r.name for r in rows if not r.type]
    if untyped:
        raise ValueError(f"{len(untyped)} catalog tasks have no type in task_types.csv, e.g. {untyped[0]!r}")
    return rows


def folder_of(row: CatalogRow) -> PurePosixPath:
    return canonical_folder(row.modality, row.paradigm, row.name)


def count_plan(rows: Sequence[CatalogRow], size: Size, per_task: int | None = None, seed: int = 0) -> list[int]:
    """Instances per task: ``per_task`` each (small) or the full plan summing to ``FULL_TOTAL``.

    The full plan is defined over the whole catalog, so it needs all of it (a subset takes its
    tasks' counts from the plan of the whole catalog, see ``write_tree``).
    """
    if size == "small":
        n = SMALL_PER_TASK if per_task is None else per_task
        if n < 1:
            raise ValueError(f"per_task must be at least 1, got {n}")
        return [n] * len(rows)
    if size != "full":
        raise ValueError(f"size must be 'small' or 'full', got {size!r}")
    if per_task is not None:
        raise ValueError("per_task is for the small tree; the full tree has the real per-task counts")
    return _full_counts(len(rows), seed)


def _full_counts(n: int, seed: int, total: int = FULL_TOTAL, lo: int = FULL_MIN, hi: int = FULL_MAX) -> list[int]:
    if not lo * n <= total <= hi * n:
        raise ValueError(f"{total} instances cannot be split over {n} tasks of {lo}..{hi}")
    rng = random.Random(f"gb-tree-counts|{seed}")
    raw = [math.exp(rng.gauss(0.0, 0.9)) for _ in range(n)]

    def plan(scale: float) -> list[int]:
        return [min(hi, max(lo, round(scale * r))) for r in raw]

    low, high = 0.0, hi / min(raw) + 1.0  # plan(high) is all hi >= total
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if sum(plan(mid)) <= total else (low, mid)
    counts = plan(low)
    order = list(range(n))
    rng.shuffle(order)
    residual = total - sum(counts)
    while residual:
        step = 1 if residual > 0 else -1
        for i in order:
            if residual and lo <= counts[i] + step <= hi:
                counts[i] += step
                residual -= step
    return counts


# ----------------------------------------------------------------------------------------------- media


def png_bytes(rng: random.Random, mask: bool = False) -> bytes:
    """A 32x32 PNG: coloured shapes on a background, or a grey-level class mask."""
    mode, bg = ("L", 0) if mask else ("RGB", _colour(rng))
    img = Image.new(mode, (IMAGE_SIZE, IMAGE_SIZE), bg)
    draw = ImageDraw.Draw(img)
    for k in range(rng.randint(1, 4)):
        x1, y1 = rng.randrange(0, IMAGE_SIZE - 4), rng.randrange(0, IMAGE_SIZE - 4)
        box = (x1, y1, rng.randint(x1 + 3, IMAGE_SIZE - 1), rng.randint(y1 + 3, IMAGE_SIZE - 1))
        fill: int | tuple[int, int, int] = 60 * (k + 1) if mask else _colour(rng)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randrange(256), rng.randrange(256), rng.randrange(256)


def wav_bytes(rng: random.Random) -> bytes:
    """0.2 s of a 16 kHz mono 16-bit tone with a little noise."""
    freq, amp = rng.uniform(180.0, 900.0), rng.uniform(0.2, 0.6) * 32767
    n = int(AUDIO_RATE * AUDIO_SECONDS)
    step = 2 * math.pi * freq / AUDIO_RATE
    noise = rng.randbytes(n)  # amp + 128 stays inside the 16-bit range
    samples = [int(amp * math.sin(step * t)) + noise[t] - 128 for t in range(n)]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(AUDIO_RATE)
        w.writeframes(struct.pack(f"<{n}h", *samples))
    return buf.getvalue()


def ply_bytes(rng: random.Random, labels: bool = False) -> bytes:
    """An ASCII PLY point cloud of 64 coloured points (plus a ``label`` per point for segmentation)."""
    header = ["ply", "format ascii 1.0", "comment General-Bench synthetic point cloud",
              f"element vertex {PLY_POINTS}", "property float x", "property float y", "property float z",
              "property uchar red", "property uchar green", "property uchar blue"]
    if labels:
        header.append("property int label")
    header.append("end_header")
    cx, cy, cz = (rng.uniform(-1, 1) for _ in range(3))
    lines = []
    for _ in range(PLY_POINTS):
        x, y, z = cx + rng.gauss(0, 0.5), cy + rng.gauss(0, 0.5), cz + rng.gauss(0, 0.3)
        r, g, b = _colour(rng)
        line = f"{x:.4f} {y:.4f} {z:.4f} {r} {g} {b}"
        lines.append(f"{line} {rng.randrange(8)}" if labels else line)
    return ("\n".join(header + lines) + "\n").encode("ascii")


def mp4_bytes(rng: random.Random, mask: bool = False) -> bytes:
    """A valid MP4 (ISO-BMFF) holding four 32x32 JPEG frames (MJPEG, 8 fps) of a moving shape."""
    bg = (0, 0, 0) if mask else _colour(rng)
    fg = (255, 255, 255) if mask else _colour(rng)
    x, y = rng.randrange(0, 16), rng.randrange(0, 16)
    dx, dy = rng.choice((-2, -1, 1, 2)), rng.choice((-2, -1, 1, 2))
    frames = []
    for t in range(VIDEO_FRAMES):
        img = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), bg)
        ox, oy = x + dx * t + 4, y + dy * t + 4
        ImageDraw.Draw(img).rectangle((ox, oy, ox + 10, oy + 10), fill=fg)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=80)
        frames.append(buf.getvalue())
    return mp4_from_jpegs(frames, IMAGE_SIZE, IMAGE_SIZE, VIDEO_FPS)


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


def _descriptor(tag: int, payload: bytes) -> bytes:
    assert len(payload) < 128
    return bytes([tag, len(payload)]) + payload


def mp4_from_jpegs(frames: Sequence[bytes], width: int, height: int, fps: int) -> bytes:
    """ftyp + moov (one ``vide`` track, all samples in one chunk) + mdat of the JPEG frames."""
    timescale, delta = 1000, 1000 // fps
    duration = delta * len(frames)
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isom", b"iso2", b"mp41")
    mvhd = _full_box(b"mvhd", 0, 0, struct.pack(">4I", 0, 0, timescale, duration),
                     struct.pack(">IH", 0x10000, 0x100), bytes(10), matrix, bytes(24), struct.pack(">I", 2))
    tkhd = _full_box(b"tkhd", 0, 7, struct.pack(">5I", 0, 0, 1, 0, duration), bytes(8),
                     struct.pack(">hhhH", 0, 0, 0, 0), matrix, struct.pack(">II", width << 16, height << 16))
    mdhd = _full_box(b"mdhd", 0, 0, struct.pack(">4I", 0, 0, timescale, duration), struct.pack(">HH", 0x55C4, 0))
    hdlr = _full_box(b"hdlr", 0, 0, struct.pack(">I", 0), b"vide", bytes(12), b"VideoHandler\0")
    vmhd = _full_box(b"vmhd", 0, 1, struct.pack(">4H", 0, 0, 0, 0))
    dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1)))
    decoder_config = _descriptor(0x04, struct.pack(">BB", 0x6C, (0x04 << 2) | 1)
                                 + (max(map(len, frames))).to_bytes(3, "big") + struct.pack(">II", 0, 0))
    esds = _full_box(b"esds", 0, 0, _descriptor(0x03, struct.pack(">HB", 1, 0) + decoder_config
                                                + _descriptor(0x06, b"\x02")))
    compressor = bytes([len(b"MJPEG")]) + b"MJPEG".ljust(31, b"\0")
    entry = _box(b"mp4v", bytes(6), struct.pack(">H", 1), bytes(16), struct.pack(">HH", width, height),
                 struct.pack(">III", 0x480000, 0x480000, 0), struct.pack(">H", 1), compressor,
                 struct.pack(">Hh", 0x18, -1), esds)
    stsd = _full_box(b"stsd", 0, 0, struct.pack(">I", 1), entry)
    stts = _full_box(b"stts", 0, 0, struct.pack(">III", 1, len(frames), delta))
    stsc = _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, len(frames), 1))
    stsz = _full_box(b"stsz", 0, 0, struct.pack(f">II{len(frames)}I", 0, len(frames), *map(len, frames)))

    def moov(chunk_offset: int) -> bytes:
        stco = _full_box(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset))
        stbl = _box(b"stbl", stsd, stts, stsc, stsz, stco)
        mdia = _box(b"mdia", mdhd, hdlr, _box(b"minf", vmhd, dinf, stbl))
        return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))

    offset = len(ftyp) + len(moov(0)) + 8  # the moov's size does not depend on the offset's value
    return ftyp + moov(offset) + _box(b"mdat", *frames)


class _Media:
    """Writes a task's media files once each; names are instance ids (round-robin in the full tree).

    A reference file (a name with a suffix: ``_gt``, ``_ref``) is named but not written when
    ``references`` is false, as the Close Set ships no answers.
    """

    def __init__(self, task_dir: Path, key: str, ids: Sequence[str], pool: int | None, references: bool) -> None:
        self.dir, self.key, self.ids, self.pool, self.references = task_dir, key, ids, pool, references
        self.written: set[str] = set()

    def stem(self, i: int) -> str:
        return self.ids[i if self.pool is None else i % self.pool]

    def file(self, kind: MediaKind, i: int, suffix: str = "", mask: bool = False) -> str:
        folder, ext = MEDIA_DIR[kind]
        rel = f"{folder}/{self.stem(i)}{suffix}{ext}"
        if rel not in self.written and (self.references or not suffix):
            self.written.add(rel)
            (self.dir / folder).mkdir(parents=True, exist_ok=True)
            (self.dir / rel).write_bytes(media_bytes(kind, random.Random(f"{self.key}|{rel}"), mask))
        return rel


def media_bytes(kind: MediaKind, rng: random.Random, mask: bool = False) -> bytes:
    """A media file of ``kind``; ``mask``: a segmentation reference (grey classes, labelled points)."""
    if kind == "image":
        return png_bytes(rng, mask=mask)
    if kind == "video":
        return mp4_bytes(rng, mask=mask)
    if kind == "audio":
        return wav_bytes(rng)
    return ply_bytes(rng, labels=mask)


# ------------------------------------------------------------------------------------------------ text

OBJECTS = ["cat", "dog", "bicycle", "red car", "traffic light", "umbrella", "laptop", "teapot", "wooden chair",
           "sailboat", "giraffe", "pizza", "backpack", "street sign", "kite", "guitar", "potted plant",
           "fire hydrant", "horse", "school bus", "suitcase", "clock", "skateboard", "bench"]
SCENES = ["a busy street", "a quiet kitchen", "a snowy park", "the beach at sunset", "a classroom",
          "a forest trail", "a supermarket aisle", "a football pitch", "a rooftop garden", "an airport terminal",
          "a hospital corridor", "a farmers' market"]
ACTIONS = ["running", "sitting on a bench", "holding an umbrella", "riding a bicycle", "cooking pasta",
           "reading a book", "waving at the camera", "jumping over a puddle", "pouring water", "crossing the road",
           "playing the guitar", "walking a dog"]
COLOURS = ["red", "blue", "green", "yellow", "white", "black", "orange", "purple", "brown", "grey"]
ADJECTIVES = ["small", "large", "old", "shiny", "broken", "wet", "bright", "dusty", "colourful", "wooden"]
SOUNDS = ["dog barking", "car horn", "rain on a roof", "church bells", "crowd applause", "running water",
          "birdsong", "door slam", "siren", "footsteps on gravel"]
EMOTIONS = ["happy", "sad", "angry", "neutral", "surprised", "fearful"]
INSTRUMENTS = ["piano", "violin", "acoustic guitar", "drums", "flute", "cello", "trumpet", "saxophone"]
LANGUAGES = ["English", "Mandarin", "Spanish", "German", "French", "Japanese", "Arabic", "Hindi"]
ROOMS = ["bedroom", "kitchen", "bathroom", "office", "living room", "conference room", "corridor"]
FURNITURE = ["chair", "table", "sofa", "bed", "cabinet", "bookshelf", "desk", "lamp", "toilet", "sink"]
PEOPLE = ["Amélie", "José", "Zoë", "Søren", "Li Wei", "Ngozi", "Björn", "María", "Tomás", "Hana", "Priya", "Oliver"]
CITIES = ["Paris", "Kyoto", "Nairobi", "Lima", "Oslo", "Montréal", "São Paulo", "Hanoi", "Cairo", "Zürich"]
NUMBERS = [str(n) for n in range(0, 13)]
EFFECTS = ["it melted", "it froze solid", "it turned blue", "it grew larger", "nothing changed",
           "it caught fire", "it was eaten by a bird"]
SENTENCES = ["The committee postponed the vote until the budget report was published.",
             "Heavy rain flooded the lower streets of the town overnight.",
             "The new library opens on Monday with an exhibition of local photography.",
             "Researchers found that the drug reduced symptoms in most patients.",
             "The striker scored twice in the second half to win the match.",
             "Prices of fresh vegetables rose sharply after the drought.",
             "A small bakery on the corner sells the best croissants in the city.",
             "The train was delayed because of a signal failure near the station.",
             "Volunteers planted two hundred trees along the river bank.",
             "The company announced a partnership with a battery manufacturer."]
CAPTIONS = ["A {adj} {obj} in {scene}.", "A person {action} in {scene}.",
            "Two people {action} next to a {colour} {obj}.", "A {colour} {obj} stands alone in {scene}.",
            "Close-up of a {adj} {obj} on a table."]
TWEETS = ["Just landed in {city}! ✈️😍 #travel", "Can't believe the game last night 😱⚽ what a finish!",
          "Coffee first, then emails ☕️🙃", "{person} made the best tacos ever 🌮🔥",
          "Snow day in {city} ❄️⛄ schools closed!"]
ZH = ["一只猫坐在窗台上晒太阳。", "两个孩子在公园里放风筝。", "街道上停着一辆红色的汽车。",
      "厨房里有一位厨师正在做饭。", "雨后的城市显得格外安静。"]
FR = ["Le chat dort sur le canapé près de la fenêtre.", "Nous irons au marché demain matin, s'il fait beau.",
      "L'été dernier, j'ai visité un château médiéval.", "Où se trouve la gare la plus proche ?"]
ES = ["¿Dónde está la estación de tren?", "Mañana iremos a la playa con mis amigos.",
      "El niño leyó el libro en una sola tarde."]
JA = ["駅はどこですか？", "明日は雨が降るでしょう。", "この本はとても面白いです。"]
DE = ["Die Straßenbahn fährt alle zehn Minuten.", "Könnten Sie mir bitte helfen?"]
YO = ["Ẹ kú àárọ̀, báwo ni?", "Mo fẹ́ràn láti ka ìwé."]
MN = ["Сайн байна уу, та хаашаа явж байна вэ?", "Өнөөдөр цаг агаар сайхан байна."]
STORY_OPENERS = ["Once upon a time, {person} found a {adj} {obj} in {scene}.",
                 "On a rainy night in {city}, {person} heard a knock at the door. 🌧️",
                 "The last {obj} in {city} had been missing for three days."]
SQL_TEMPLATES = ["SELECT name FROM employees WHERE salary > {n} ORDER BY name;",
                 "SELECT COUNT(*) FROM orders WHERE city = '{city}';",
                 "SELECT department, AVG(salary) FROM employees GROUP BY department HAVING COUNT(*) > {n};"]
CODE_TEMPLATES = ["def add(a, b):\n    return a + b\n",
                  "def is_even(n: int) -> bool:\n    return n % 2 == 0\n",
                  "def factorial(n):\n    return 1 if n <= 1 else n * factorial(n - 1)\n",
                  "<html><body><h1>{obj}</h1><button>Buy</button></body></html>",
                  "\\frac{{a}}{{b}} + \\sqrt{{{n}}}"]
TRACKED = [("ball", "ball"), ("vehicle|automobile", "car"), ("uav video uav", "drone"), ("human|pedestrian", "person"),
           ("animal", "dog"), ("building", "building"), ("water", "fish"), ("crowd", "person"), ("part", "hand")]
GENERIC_LABELS = ["person", "car", "dog", "bottle", "chair", "bicycle", "bird", "truck", "cup", "sign"]

LABEL_SPACES: list[tuple[str, list[str]]] = [
    ("natural language inference", ["entailment", "neutral", "contradiction"]),
    ("fact verification", ["SUPPORTS", "REFUTES", "NOT ENOUGH INFO"]),
    ("stance", ["favor", "against", "none"]),
    ("sentiment quad|aspect sentiment|aspect-category|absa|opinion|aspect", ["food#quality", "service#general",
                                                                           "price#general", "ambience#general",
                                                                           "positive", "negative", "neutral"]),
    ("sentiment", ["positive", "negative", "neutral"]),
    ("topic", ["World", "Sports", "Business", "Sci/Tech"]),
    ("intent", ["book_flight", "play_music", "set_alarm", "get_weather", "cancel_order", "check_balance"]),
    ("personality", ["openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism"]),
    ("similarity", ["similar", "not similar"]),
    ("part-of-speech", ["NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "PUNCT"]),
    ("dependency", ["nsubj", "obj", "amod", "det", "root", "advmod", "case"]),
    ("constituency", ["S", "NP", "VP", "PP", "ADJP", "SBAR"]),
    ("semantic role", ["ARG0", "ARG1", "ARG2", "ARGM-LOC", "ARGM-TMP"]),
    ("meaning representation", ["want-01", "go-02", "person", "city", "polarity"]),
    (r"named entity|\bner\b|recognition", ["PER", "ORG", "LOC", "DATE", "MISC", "CHEMICAL", "DISEASE"]),
    ("spatial|scene graph", ["left of", "right of", "above", "below", "in front of", "behind", "on top of"]),
    ("chemical-protein|protein|drug|gene|genetic", ["activator", "inhibitor", "substrate", "interacts_with",
                                                    "associated_with", "no_relation"]),
    ("relation|docre|re$", ["founded_by", "located_in", "works_for", "part_of", "born_in", "no_relation"]),
    ("event|temporal event", ["BEFORE", "AFTER", "OVERLAP", "attack", "meet", "transport"]),
    ("detection|classification|verification", ["yes", "no"]),
]
DETECTION_WORDS = re.compile(r"\b(detection|segmentation|instance|anomaly|grounding|keypoint|3d|and text)\b", re.I)


def _fill(rng: random.Random, template: str) -> str:
    return template.format(obj=rng.choice(OBJECTS), scene=rng.choice(SCENES), action=rng.choice(ACTIONS),
                           colour=rng.choice(COLOURS), adj=rng.choice(ADJECTIVES), person=rng.choice(PEOPLE),
                           city=rng.choice(CITIES), n=rng.randint(2, 90))


def _caption(rng: random.Random) -> str:
    return _fill(rng, rng.choice(CAPTIONS))


def _options(rng: random.Random, correct: str, pool: Sequence[str]) -> tuple[list[str], str]:
    options = rng.sample([p for p in pool if p != correct], 3)
    k = rng.randrange(4)
    options.insert(k, correct)
    return options, "ABCD"[k]


def _has(name: str, pattern: str) -> bool:
    return re.search(pattern, name, re.I) is not None


# --------------------------------------------------------------------------------------------- records


class _Task:
    """The record generator of one task: its rng, its media writer and the type-specific builders."""

    def __init__(self, row: CatalogRow, media: _Media, rng: random.Random) -> None:
        self.row, self.name, self.media, self.rng = row, row.name, media, rng
        self.modality = row.modality

    def media_input(self, i: int, kind: MediaKind | None = None) -> Json:
        """The input media of the modality (or of ``kind``): {} for NLP."""
        chosen = kind or MEDIA_KEY.get(self.modality)
        return {} if chosen is None else {chosen: self.media.file(chosen, i)}

    def record(self, type_: str, i: int) -> tuple[Json, Json]:
        builder = BUILDERS.get(type_)
        if builder is None:
            raise ValueError(f"task {self.name!r}: unknown task type {type_!r}; the generator knows "
                             + ", ".join(TYPES))
        return builder(self, i)

    # -- comprehension ---------------------------------------------------------------------------

    def multiple_choice(self, i: int) -> tuple[Json, Json]:
        rng = self.rng
        banks: dict[str, list[tuple[str, Sequence[str]]]] = {
            "image": [("What is the main object in the image?", OBJECTS),
                      ("Where was this photo most likely taken?", SCENES),
                      ("What is the person in the image doing?", ACTIONS),
                      ("What colour is the {obj} in the picture?", COLOURS)],
            "video": [("What does the person do after entering the scene?", ACTIONS),
                      ("Which object is used in the video?", OBJECTS),
                      ("Where does the video take place?", SCENES),
                      ("How many times does the {obj} appear in the clip?", NUMBERS)],
            "audio": [("Which sound source can be heard in the recording?", SOUNDS),
                      ("What is the emotion of the speaker?", EMOTIONS),
                      ("Which instrument plays the melody?", INSTRUMENTS),
                      ("Which language is spoken in the clip?", LANGUAGES)],
            "3d": [("How many {obj}s are in this room?", NUMBERS),
                   ("Which object is closest to the door?", FURNITURE),
                   ("What type of room is this scan of?", ROOMS)],
            "nlp": [("Where would you most likely find a {obj}?", SCENES),
                    ("{person} left a bar of chocolate in the sun. What most likely happened?", EFFECTS),
                    ("In which city would {person} most likely see the Seine?", CITIES),
                    ("Which word best describes a {obj} that has not been cleaned for years?", ADJECTIVES)],
        }
        template, pool = rng.choice(banks[self.modality])
        options, letter = _options(rng, rng.choice(pool), pool)
        return {"question": _fill(rng, template), "options": options, **self.media_input(i)}, {"answer": letter}

    def classification(self, i: int) -> tuple[Json, Json]:
        labels = ["causal", "temporal", "conditional", "contrast", "no relation"]
        answer = self.rng.choice(labels)
        question = "What is the relation between the first and the second event in the video?"
        return {"question": question, "options": labels, **self.media_input(i)}, {"answer": answer}

    def label_set(self, i: int) -> tuple[Json, Json]:
        rng = self.rng
        space = next((s for pattern, s in LABEL_SPACES if _has(self.name, pattern)), GENERIC_LABELS)
        k = 1 if len(space) <= 3 else rng.randint(1, 3)
        answer = sorted(rng.sample(space, k), key=space.index)
        if self.modality == "nlp":
            text = _fill(rng, rng.choice(SENTENCES + TWEETS + ["{person} moved from {city} to work for a {adj} "
                                                                "start-up."]))
            return {"text": text, "label_space": list(space)}, {"answer": answer}
        question = "Which of the listed relations hold between the highlighted objects?"
        return {"question": question, **self.media_input(i), "label_space": list(space)}, {"answer": answer}

    def short_answer(self, i: int) -> tuple[Json, Json]:
        rng, name = self.rng, self.name
        answer: str | list[str]
        if self.modality == "nlp":
            city, person = rng.choice(CITIES), rng.choice(PEOPLE)
            if _has(name, "tweet"):
                context = _fill(rng, rng.choice(TWEETS))
                question, answer = "What is the mood of the author?", rng.choice(["excited", "happy", "surprised"])
            elif _has(name, "table"):
                n = rng.randint(10, 99)
                context = f"| city | population (k) |\n| {city} | {n} |\n| Oslo | 700 |"
                question, answer = f"What is the population of {city} in thousands?", str(n)
            else:
                context = f"{person} was born in {city} and later studied chemistry abroad."
                question, answer = f"Where was {person} born?", [city, f"the city of {city}"]
            return {"question": question, "context": context}, {"answer": answer}
        if _has(name, "ocr|plate|recognition"):
            chars = string.ascii_uppercase + string.digits
            text = "".join(rng.choice(chars) for _ in range(rng.randint(4, 8)))
            question, answer = "Read the text in the image.", text
        elif self.modality == "3d":
            question = f"What is on the {rng.choice(FURNITURE)} in front of you?"
            obj = rng.choice(OBJECTS)
            answer = [obj, f"a {obj}"]
        elif self.modality == "audio":
            question, answer = "Which event is described in the speech?", rng.choice(["attack", "meeting", "election"])
        else:
            question, answer = "Name the entity and its type shown here.", f"{rng.choice(PEOPLE)} (person)"
        return {"question": question, **self.media_input(i)}, {"answer": answer}

    def open_ended(self, i: int) -> tuple[Json, Json]:
        rng, name = self.rng, self.name
        key = open_ended_key(name)
        inp: Json
        if key == "translation":
            src, tgt = self._translation_pair()
            inp = {"instruction": f"Translate the text into {tgt[0]}.", "text": src}
            return inp, {"translation": tgt[1]}
        if key == "summary":
            doc = " ".join(rng.sample(SENTENCES, 4))
            inp = {"instruction": "Summarize the document in one sentence.", "text": doc}
            return inp, {"summary": doc.split(". ")[0] + "."}
        if key == "sql":
            table = "employees(id, name, department, salary), orders(id, city, total)"
            return ({"question": f"List what the analyst asked for. Schema: {table}"},
                    {"sql": _fill(rng, rng.choice(SQL_TEMPLATES))})
        if key == "code":
            inp = {"instruction": "Write the code for the task described."}
            return {**inp, **self.media_input(i)}, {"code": _fill(rng, rng.choice(CODE_TEMPLATES))}
        if key == "caption":
            caption = rng.choice(ZH) if _has(name, "chinese") else _caption(rng)
            return {"question": "Describe the content in one sentence.", **self.media_input(i)}, {"caption": caption}
        return self._answer(i)

    def _translation_pair(self) -> tuple[str, tuple[str, str]]:
        rng, name = self.rng, self.name
        en = rng.choice(SENTENCES)
        if _has(name, "chinese"):
            return en, ("Chinese", rng.choice(ZH))
        if _has(name, "french"):
            return en, ("French", rng.choice(FR))
        if _has(name, "low-resource"):
            return en, rng.choice([("Yoruba", rng.choice(YO)), ("Mongolian", rng.choice(MN))])
        lang, texts = rng.choice([("Spanish", ES), ("Japanese", JA), ("German", DE), ("French", FR)])
        return en, (lang, rng.choice(texts))

    def _answer(self, i: int) -> tuple[Json, Json]:
        rng, name = self.rng, self.name
        if self.modality == "nlp":
            if _has(name, "multilingual|code-switch"):
                question, answer = rng.choice([("Quelle est la capitale du Québec ?", "La ville de Québec."),
                                               ("日本の首都はどこですか？", "東京です。"),
                                               ("¿Cuál es el río más largo de Sudamérica?", "El Amazonas.")])
            elif _has(name, "story|dialogue"):
                question = _fill(rng, rng.choice(STORY_OPENERS)) + " Continue the story."
                answer = _fill(rng, "{person} smiled, picked up the {obj} and walked towards {scene}. 🙂")
            elif _has(name, "style|paraphrase|grammar|table-to-text"):
                src = rng.choice(SENTENCES)
                question, answer = f"Rewrite the sentence: {src.lower().replace('.', '')}", src
            else:
                person, city = rng.choice(PEOPLE), rng.choice(CITIES)
                question = f"Why did {person} move to {city} after graduating?"
                answer = f"{person} moved to {city} to take a job at a {rng.choice(ADJECTIVES)} research lab."
            return {"question": question}, {"answer": answer}
        if self.modality == "video":
            question = rng.choice(["What happens in the video?", "What does the person do next?",
                                   "Why does the crowd react at the end of the clip?"])
        elif self.modality == "audio":
            question = rng.choice(["Describe what you hear.", "What is happening in the background of the recording?"])
        elif self.modality == "3d":
            question = rng.choice(["Describe the motion of the person.", "What is to the left of the sofa?"])
        else:
            question = rng.choice(["What should the person do next?", "What changed between the two images?",
                                   "Answer the question about the picture: what is unusual here?"])
        return {"question": question, **self.media_input(i)}, {"answer": _caption(rng)}

    def numeric(self, i: int) -> tuple[Json, Json]:
        rng = self.rng
        if self.modality == "nlp":
            series = [round(20 + 5 * math.sin(t / 2) + rng.uniform(-1, 1), 2) for t in range(12)]
            nxt = round(20 + 5 * math.sin(6) + rng.uniform(-1, 1), 2)
            return ({"question": "Predict the next value of the series.", "context": ", ".join(map(str, series))},
                    {"answer": nxt})
        if _has(self.name, "counting"):
            thing = re.sub(r"(?i)\s*counting.*", "", self.name).strip().lower() or "object"
            thing = "people" if _has(thing, "crowd|face") else f"{thing} instances"
            return ({"question": f"How many {thing} are in the image?", **self.media_input(i)},
                    {"answer": rng.randint(0, 60)})
        question = rng.choice(["Estimate the value asked for in the scene.", "What is the estimated quantity?"])
        return {"question": question, **self.media_input(i)}, {"answer": round(rng.uniform(0, 10), 3)}

    def detection(self, i: int) -> tuple[Json, Json]:
        rng = self.rng
        base = re.sub(r"[^a-z ]", " ", DETECTION_WORDS.sub(" ", self.name.lower()))
        main = " ".join(base.split()) or "object"
        categories = [main, *rng.sample(GENERIC_LABELS, rng.randint(0, 2))]
        n = 0 if rng.random() < 0.15 else rng.randint(1, 4)
        boxes = [{"bbox": _bbox(rng), "label": rng.choice(categories)} for _ in range(n)]
        kind: MediaKind = "pointcloud" if self.modality == "3d" else "image"
        question = (f"Locate the region described: the {rng.choice(ADJECTIVES)} {rng.choice(OBJECTS)} "
                    f"{rng.choice(['on the left', 'behind the table', 'in the corner'])}."
                    if _has(self.name, "grounding") else f"Detect every {main} and give its bounding box.")
        return {"question": question, **self.media_input(i, kind), "categories": categories}, {"boxes": boxes}

    def tracking(self, i: int) -> tuple[Json, Json]:
        rng = self.rng
        named = [label for pattern, label in TRACKED if _has(self.name, pattern)]
        label = named[0] if named else rng.choice([label for _, label in TRACKED])
        x, y = rng.randint(0, 16), rng.randint(0, 16)
        w, h = rng.randint(4, 12), rng.randint(4, 12)
        dx, dy = rng.choice((-1, 1, 2)), rng.choice((-1, 1, 2))
        boxes: list[Json] = []
        for t in range(VIDEO_FRAMES):
            x1 = min(max(x + dx * t, 0), IMAGE_SIZE - w)
            y1 = min(max(y + dy * t, 0), IMAGE_SIZE - h)
            boxes.append({"bbox": [x1, y1, x1 + w, y1 + h], "label": label})
        question = f"Track the {label} given in the first frame through the video."
        return {"question": question, **self.media_input(i), "init_box": list(boxes[0]["bbox"])}, {"boxes": boxes}

    def dense_prediction(self, i: int) -> tuple[Json, Json]:
        question = "Predict the " + ("depth map" if _has(self.name, "depth") else "segmentation mask") + "."
        return ({"question": question, "image": self.media.file("image", i)},
                {"image": self.media.file("image", i, "_gt", mask=True)})

    def video_dense_prediction(self, i: int) -> tuple[Json, Json]:
        return ({"question": "Segment the target object in every frame.", "video": self.media.file("video", i)},
                {"video": self.media.file("video", i, "_gt", mask=True)})

    def pointcloud_segmentation(self, i: int) -> tuple[Json, Json]:
        return ({"question": "Assign a part label to every point.", "pointcloud": self.media.file("pointcloud", i)},
                {"pointcloud": self.media.file("pointcloud", i, "_gt", mask=True)})

    # -- generation -------------------------------------------------------------------------------

    def image_generation(self, i: int) -> tuple[Json, Json]:
        rng, name = self.rng, self.name
        inp: Json = {"prompt": self._prompt()}
        if _has(name, "sound-to"):
            inp["audio"] = self.media.file("audio", i)
        elif _has(name, "edit|derain|raindrop|dehaz|desnow|deblur|artifact|removal|restoration|unwarp|enhancement"
                        "|inpaint|style transfer|coloriz|fake|sketch|edge-to|mask-to|layout-to|infection"):
            inp["image"] = self.media.file("image", i)
        if _has(name, "chinese"):
            inp["prompt"] = rng.choice(["把天空换成晚霞。", "给这只猫戴上一顶红色的帽子。", "去掉背景中的行人。"])
        out: Json = {"image": self.media.file("image", i, "_gt")}
        if _has(name, "eeg"):
            out["label"] = rng.choice(OBJECTS)  # the class the EEG was recorded for
        return inp, out

    def video_generation(self, i: int) -> tuple[Json, Json]:
        name = self.name
        inp: Json = {"prompt": self._prompt()}
        if _has(name, "image to video|reference"):
            inp["image"] = self.media.file("image", i)
        elif _has(name, "demoir|denois|interpolation|coloriz|dehaz|desnow|derain|superres|inpaint|deblur"
                        "|translation|style transfer"):
            inp["video"] = self.media.file("video", i)
        out: Json = {"video": self.media.file("video", i, "_gt")}
        if _has(name, "specific text to video|class-conditioned|spatial relation|camera motion|video translation"):
            out["labels"] = self.rng.sample(OBJECTS, 2 if _has(name, "multi|spatial") else 1)
        return inp, out

    def audio_generation(self, i: int) -> tuple[Json, Json]:
        name = self.name
        inp: Json = {"prompt": self._prompt()}
        if _has(name, "imagetospeech"):
            inp["image"] = self.media.file("image", i)
        elif _has(name, "videotoaudio"):
            inp["video"] = self.media.file("video", i)
        elif _has(name, "edit|transfer|piano"):
            inp["audio"] = self.media.file("audio", i)
        out: Json = {"audio": self.media.file("audio", i, "_gt")}
        if _has(name, "imagetospeech"):
            out["caption"] = _fill(self.rng, self.rng.choice(SENTENCES))
        elif _has(name, "piano"):
            out["events"] = self.rng.sample(["violin", "flute", "cello", "horn", "oboe"], 3)
        return inp, out

    def speech_synthesis(self, i: int) -> tuple[Json, Json]:
        rng, name = self.rng, self.name
        text = _fill(rng, rng.choice(SENTENCES + ["{person} will arrive in {city} at {n} past nine."]))
        spoken = text
        if _has(name, "zh-to-en"):
            text, spoken = rng.choice(ZH), text
        elif _has(name, "en-to-zh"):
            spoken = rng.choice(ZH)
        elif _has(name, "mogolian|mongolian"):
            spoken = rng.choice(MN)
        inp: Json = {"text": text}
        if _has(name, "conversion|transfer|translation"):
            inp["audio"] = self.media.file("audio", i)
        return inp, {"text": spoken, "audio": self.media.file("audio", i, "_ref")}

    def generation_3d(self, i: int) -> tuple[Json, Json]:
        name = self.name
        inp: Json = {"prompt": self._prompt()}
        if _has(name, "image to 3d|rgb-d"):
            inp["image"] = self.media.file("image", i)
        elif _has(name, "point cloud (completion|to mesh)"):
            inp["pointcloud"] = self.media.file("pointcloud", i)
        return inp, {"pointcloud": self.media.file("pointcloud", i, "_gt")}

    def _prompt(self) -> str:
        rng, name = self.rng, self.name
        if _has(name, "multi-language"):
            return rng.choice(["Un chat roux qui dort au soleil.", "一座雪山下的小木屋。",
                               "Ein alter Leuchtturm im Sturm."])
        if _has(name, "long-text"):
            return " ".join(_caption(rng) for _ in range(4))
        stripped = re.sub(r"\s*\(.*\)", "", name).strip()
        styled = f"Generate a {rng.choice(ADJECTIVES)} {rng.choice(OBJECTS)} in a {rng.choice(COLOURS)} style."
        return rng.choice([f"{stripped}: {_caption(rng)}", _caption(rng), styled])


def _bbox(rng: random.Random) -> list[int]:
    x1, y1 = rng.randint(0, IMAGE_SIZE - 6), rng.randint(0, IMAGE_SIZE - 6)
    return [x1, y1, rng.randint(x1 + 2, IMAGE_SIZE), rng.randint(y1 + 2, IMAGE_SIZE)]


def open_ended_key(task_name: str) -> str:
    """The output key of an open-ended task: translation, summary, sql, code, caption or answer."""
    if _has(task_name, "translation"):
        return "translation"
    if _has(task_name, "summari"):
        return "summary"
    if _has(task_name, "sql"):
        return "sql"
    if _has(task_name, r"code (generation|repair|recognition)"):
        return "code"
    if _has(task_name, "caption"):
        return "caption"
    return "answer"


BUILDERS: dict[str, Callable[[_Task, int], tuple[Json, Json]]] = {
    "multiple_choice": _Task.multiple_choice, "classification": _Task.classification,
    "label_set": _Task.label_set, "short_answer": _Task.short_answer, "open_ended": _Task.open_ended,
    "numeric": _Task.numeric, "detection": _Task.detection, "tracking": _Task.tracking,
    "dense_prediction": _Task.dense_prediction, "video_dense_prediction": _Task.video_dense_prediction,
    "pointcloud_segmentation": _Task.pointcloud_segmentation, "image_generation": _Task.image_generation,
    "video_generation": _Task.video_generation, "audio_generation": _Task.audio_generation,
    "speech_synthesis": _Task.speech_synthesis, "3d_generation": _Task.generation_3d,
}
assert set(BUILDERS) == set(TYPES)


# ------------------------------------------------------------------------------------------------ tree


def instance_ids(row: CatalogRow, n: int, rng: random.Random) -> list[str]:
    """``n`` unique, file-name-safe ids in one of a few styles, as real task folders differ."""
    style = rng.randrange(4)
    if style == 0:
        return [f"{slugify(row.name)[:40]}_{k:05d}" for k in range(1, n + 1)]
    if style == 1:
        return [str(k) for k in sorted(rng.sample(range(100_000), n))]  # sampled from a larger source set
    if style == 2:
        short = re.sub(r"[^A-Za-z0-9]", "", row.short_name) or "task"
        return [f"{short}-{k:04d}" for k in range(1, n + 1)]
    return [f"{k:06d}" for k in range(n)]


def _dump(doc: Json, records: list[Json]) -> str:
    """``doc`` with its ``data`` list written one record per line."""
    head = json.dumps(doc, ensure_ascii=False)[:-1]
    body = ",\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    return f'{head}, "data": [\n{body}\n]}}\n'


def _select(rows: list[CatalogRow], tasks: Iterable[str] | None) -> list[int]:
    if tasks is None:
        return list(range(len(rows)))
    index = {r.name: k for k, r in enumerate(rows)} | {str(folder_of(r)): k for k, r in enumerate(rows)}
    chosen = []
    for t in tasks:
        if t not in index:
            raise ValueError(f"no catalog task named {t!r} (give a task name or its folder)")
        chosen.append(index[t])
    return sorted(set(chosen))


def write_tree(out: Path, *, size: Size = "small", per_task: int | None = None, close_set: bool = False,
               seed: int = 0, tasks: Iterable[str] | None = None, catalog_path: Path = CATALOG) -> TreeInfo:
    """Write the General-Bench tree of the catalog (or of ``tasks``: names or folders) under ``out``."""
    rows = catalog(catalog_path)
    counts = count_plan(rows, size, per_task, seed)
    infos: list[TaskInfo] = []
    media_count = 0
    for k in _select(rows, tasks):
        row, n = rows[k], counts[k]
        folder = folder_of(row)
        task_dir = out / folder
        task_dir.mkdir(parents=True, exist_ok=True)
        rng = random.Random(f"gb-tree|{seed}|{row.sheet}|{row.name}")
        ids = instance_ids(row, n, rng)
        media = _Media(task_dir, f"{seed}|{folder}", ids, None if size == "small" else MEDIA_POOL, not close_set)
        gen = _Task(row, media, rng)
        assert row.type is not None
        records = []
        for i, iid in enumerate(ids):
            inp, output = gen.record(row.type, i)
            records.append({"id": iid, "input": inp} if close_set else {"id": iid, "input": inp, "output": output})
        doc = {"task": row.name, "type": row.type, "skill": row.skill}
        (task_dir / "annotation.json").write_text(_dump(doc, records), encoding="utf-8")
        media_count += len(media.written)
        infos.append(TaskInfo(row.name, row.sheet, row.type, row.skill or "", folder, tuple(ids)))
    return TreeInfo(out, size, close_set, seed, tuple(infos), len(infos), sum(len(t.ids) for t in infos),
                    media_count)


# ----------------------------------------------------------------------------------------- predictions


def write_predictions(tree: TreeInfo | Path, out: Path, *, correct_fraction: float = 0.5, seed: int = 0) -> int:
    """Write ``<folder>/prediction.json`` ([{id, prediction}]) under ``out`` for every task of an Open Set tree.

    In each task ``round(correct_fraction * n)`` instances (chosen by the seed) get the reference
    answer and the others a plausible wrong one of the same shape. Media predictions are paths,
    relative to the prediction.json, of files written beside it: a copy of the reference, or a new
    file of the same kind. Returns the number of predictions.
    """
    if not 0.0 <= correct_fraction <= 1.0:
        raise ValueError(f"correct_fraction must lie in [0, 1], got {correct_fraction}")
    root = tree.root if isinstance(tree, TreeInfo) else tree
    folders = ([t.folder for t in tree.tasks] if isinstance(tree, TreeInfo)
               else sorted(PurePosixPath(p.parent.relative_to(root).as_posix()) for p in root.rglob("annotation.json")))
    total = 0
    for folder in folders:
        doc = json.loads((root / folder / "annotation.json").read_text(encoding="utf-8"))
        records: list[Json] = doc["data"]
        rng = random.Random(f"gb-pred|{seed}|{folder}")
        correct = set(rng.sample(range(len(records)), round(correct_fraction * len(records))))
        pred_dir = out / folder
        pred_dir.mkdir(parents=True, exist_ok=True)
        written: set[str] = set()
        preds = []
        for i, rec in enumerate(records):
            if "output" not in rec:
                raise ValueError(f"{root / folder / 'annotation.json'}: record {rec.get('id')!r} has no output; "
                                 "predictions are made from an Open Set tree (close_set=False)")
            value = _prediction(doc["type"], rec, i in correct, rng, root / folder, pred_dir, written)
            preds.append({"id": rec["id"], "prediction": value})
        (pred_dir / "prediction.json").write_text(json.dumps(preds, ensure_ascii=False, indent=1) + "\n",
                                                  encoding="utf-8")
        total += len(preds)
    return total


def _prediction(type_: str, rec: Json, right: bool, rng: random.Random, task_dir: Path, pred_dir: Path,
                written: set[str]) -> Any:
    out, inp = rec["output"], rec["input"]
    if type_ in MEDIA_OUTPUT:
        kind = MEDIA_OUTPUT[type_]
        ref = PurePosixPath(out[kind])
        rel = f"{ref.parent}/{ref.stem}_{'pred' if right else 'wrong'}{ref.suffix}"
        if rel not in written:
            written.add(rel)
            (pred_dir / ref.parent).mkdir(parents=True, exist_ok=True)
            if right:
                shutil.copyfile(task_dir / ref, pred_dir / rel)
            else:
                (pred_dir / rel).write_bytes(media_bytes(kind, random.Random(f"gb-pred|{task_dir.name}|{rel}"),
                                                         mask=type_ in MASK_OUTPUT))
        return rel
    if type_ in ("detection", "tracking"):
        boxes: list[Json] = out["boxes"]
        if right:
            return boxes
        if not boxes:
            return [{"bbox": _bbox(rng), "label": inp.get("categories", ["object"])[0]}]
        shift = rng.choice((3, 4, 5))
        return [{"bbox": [v + shift for v in b["bbox"]], "label": b["label"]} for b in boxes]
    key = next(k for k in ("answer", "caption", "summary", "translation", "sql", "code") if k in out)
    answer = out[key]
    if type_ == "short_answer" and isinstance(answer, list):
        answer = answer[0]
    if right:
        return answer
    if type_ == "multiple_choice":
        return rng.choice([c for c in "ABCD" if c != answer])
    if type_ == "classification":
        return rng.choice([o for o in inp["options"] if o != answer])
    if type_ == "label_set":
        wrong = [label for label in inp["label_space"] if label not in answer]
        return [rng.choice(wrong)]
    if type_ == "numeric":
        delta = rng.choice((1, 2, 3, 5))
        return answer + delta if isinstance(answer, int) else round(answer * 1.5 + delta, 3)
    if type_ == "short_answer":
        acceptable = out[key] if isinstance(out[key], list) else [out[key]]
        return rng.choice([c for c in CITIES + OBJECTS + ["unknown", "XK42"] if c not in acceptable])
    # open_ended: a fluent sentence on another subject
    text = answer
    while text == answer:
        text = _caption(rng) if key in ("answer", "caption") else rng.choice(SENTENCES)
    return text


# ------------------------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic General-Bench tree for the catalog tasks.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", choices=("small", "full"), default="small")
    parser.add_argument("--per-task", type=int, default=None, help="instances per task (small tree; default 3)")
    parser.add_argument("--close-set", action="store_true", help="leave out every record's output")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", action="append", dest="tasks", help="only this task (name or folder); repeatable")
    parser.add_argument("--predictions", type=Path, help="also write a predictions tree here (Open Set only)")
    parser.add_argument("--correct-fraction", type=float, default=0.5)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    info = write_tree(args.out, size=args.size, per_task=args.per_task, close_set=args.close_set,
                      seed=args.seed, tasks=args.tasks)
    print(f"{info.task_count} tasks, {info.instance_count} instances, {info.media_count} media files "
          f"under {args.out} in {time.perf_counter() - start:.1f} s")
    if args.predictions is not None:
        start = time.perf_counter()
        n = write_predictions(info, args.predictions, correct_fraction=args.correct_fraction, seed=args.seed)
        print(f"{n} predictions under {args.predictions} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
