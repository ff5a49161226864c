"""The synthetic General-Bench tree generator (tests/helpers/gb_tree.py): layout, fields, media, determinism."""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import subprocess
import sys
import wave
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from glc.compiler.binding import canonical_folder
from glc.compiler.catalog import MODALITY_OF_SHEET
from helpers.gb_tree import (
    CATALOG,
    FULL_TOTAL,
    MEDIA_POOL,
    TYPES,
    TreeInfo,
    catalog,
    count_plan,
    main,
    write_predictions,
    write_tree,
)
from PIL import Image

ROWS = catalog()
MEDIA_RE = re.compile(r"^(images/[^/]+\.png|videos/[^/]+\.mp4|audios/[^/]+\.wav|pointclouds/[^/]+\.ply)$")
MEDIA_KEY = {"image": "image", "video": "video", "audio": "audio", "3d": "pointcloud", "nlp": None}
MASKS = {"dense_prediction", "video_dense_prediction", "pointcloud_segmentation"}
ANSWER_KEYS = {"answer", "caption", "summary", "translation", "sql", "code"}


def first_of_each_type() -> list[str]:
    seen: dict[str, str] = {}
    for r in ROWS:
        seen.setdefault(r.type or "", r.name)
    return sorted(seen.values())


# a subset covering every type, plus tasks whose text or folder is unusual
SUBSET = first_of_each_type() + ["English-Chinese Translation", "Tweet Question Answering", "3D Detection",
                                 "Gene/Protein Named Entity Recognition", "Chinese Image Captioning",
                                 "Text-to-SQL Generation", "Image Detail Enhancement "]


@pytest.fixture(scope="module")
def small_tree(tmp_path_factory: pytest.TempPathFactory) -> TreeInfo:
    """The whole catalog, three instances per task (about two seconds)."""
    return write_tree(tmp_path_factory.mktemp("gb") / "open", size="small")


def annotation(info: TreeInfo, folder: Any) -> dict[str, Any]:
    return json.loads((info.root / folder / "annotation.json").read_text(encoding="utf-8"))


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def media_paths(value: Any) -> list[str]:
    """Every string in a record's input/output that names a media file."""
    if isinstance(value, dict):
        return [p for v in value.values() for p in media_paths(v)]
    if isinstance(value, list):
        return [p for v in value for p in media_paths(v)]
    return [value] if isinstance(value, str) and MEDIA_RE.match(value) else []


# ------------------------------------------------------------------------------------------- layout


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_every_catalog_task_gets_its_folder_and_annotation(small_tree: TreeInfo) -> None:
    assert len(ROWS) == 699
    assert (small_tree.task_count, small_tree.instance_count) == (699, 699 * 3)
    by_name = {t.name: t for t in small_tree.tasks}
    for row in ROWS:
        modality, paradigm = MODALITY_OF_SHEET[row.sheet]
        folder = canonical_folder(modality, paradigm, row.name)
        info = by_name[row.name]
        assert info.folder == folder and info.type == row.type
        doc = annotation(small_tree, folder)
        assert list(doc) == ["task", "type", "skill", "data"]
        assert (doc["task"], doc["type"], doc["skill"]) == (row.name, row.type, row.skill)
        assert [r["id"] for r in doc["data"]] == list(info.ids)
        assert all(list(r) == ["id", "input", "output"] for r in doc["data"])
    found = sorted(p.parent.relative_to(small_tree.root).as_posix()
                   for p in small_tree.root.rglob("annotation.json"))
    assert found == sorted(str(t.folder) for t in small_tree.tasks)  # no stray folders
    assert (small_tree.root / "Image/comprehension/Abduction-based-VQA/annotation.json").is_file()
    assert (small_tree.root / "NLP/Commonsense-Reasoning/annotation.json").is_file()


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_ids_are_unique_file_safe_and_styled_differently(small_tree: TreeInfo) -> None:
    styles: Counter[str] = Counter()
    for t in small_tree.tasks:
        assert len(set(t.ids)) == len(t.ids) == 3
        assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in t.ids), t.ids
        styles["numeric" if t.ids[0].isdigit() else "named"] += 1
    assert styles["numeric"] > 100 and styles["named"] > 100


def test_the_generator_covers_every_type_of_the_catalog() -> None:
    assert {r.type for r in ROWS} == set(TYPES)


def test_an_unknown_task_type_fails_loudly(tmp_path: Path) -> None:
    src = CATALOG.parent
    (tmp_path / "tasks.csv").write_text("\n".join(src.joinpath("tasks.csv").read_text().splitlines()[:3]) + "\n")
    types = src.joinpath("task_types.csv").read_text().splitlines()[:3]
    types[2] = re.sub(r",[a-z_0-9]+,([a-z ]+)$", r",hologram,\1", types[2])
    (tmp_path / "task_types.csv").write_text("\n".join(types) + "\n")
    with pytest.raises(ValueError, match="unknown task type 'hologram'"):
        write_tree(tmp_path / "out", catalog_path=tmp_path / "tasks.csv")
    with pytest.raises(ValueError, match="no catalog task named 'Nope'"):
        write_tree(tmp_path / "out", tasks=["Nope"])


# ------------------------------------------------------------------------------------------- fields


def _str_list(v: Any, n: int | None = None) -> bool:
    return isinstance(v, list) and all(isinstance(s, str) and s for s in v) and (n is None or len(v) == n)


def _box_ok(b: Any) -> bool:
    bb = b.get("bbox") if isinstance(b, dict) else None
    return (isinstance(bb, list) and len(bb) == 4 and all(isinstance(x, int | float) for x in bb)
            and bb[2] >= bb[0] and bb[3] >= bb[1] and isinstance(b.get("label"), str))


def expected_open_key(name: str) -> str:
    known = {"English-French Translation": "translation", "Abstractive Summarization": "summary",
             "Text-to-SQL Generation": "sql", "Code Generation": "code", "Code Repair": "code",
             "COCO Image Captioning": "caption", "Food Video Captioning": "caption", "Temporal Reasoning": "answer",
             "Code Explanation": "answer", "Open-ended Audio Question Answering": "answer"}
    return known.get(name, "")


def check_record(type_: str, modality: str, name: str, inp: dict[str, Any], out: dict[str, Any]) -> None:
    media = MEDIA_KEY[modality]
    if type_ == "multiple_choice":
        assert isinstance(inp["question"], str) and _str_list(inp["options"], 4)
        assert len(set(inp["options"])) == 4 and out == {"answer": out["answer"]} and out["answer"] in "ABCD"
        assert (media in inp) if media else not ({"image", "video", "audio", "pointcloud"} & set(inp))
    elif type_ == "classification":
        assert "video" in inp and _str_list(inp["options"]) and out["answer"] in inp["options"]
    elif type_ == "label_set":
        assert _str_list(inp["label_space"]) and _str_list(out["answer"]) and 1 <= len(out["answer"]) <= 3
        assert set(out["answer"]) <= set(inp["label_space"])
        assert ("text" in inp) if modality == "nlp" else ("question" in inp and "image" in inp)
    elif type_ == "short_answer":
        assert isinstance(out["answer"], str) or _str_list(out["answer"])
        assert ("context" in inp) if modality == "nlp" else (media in inp)
    elif type_ == "open_ended":
        (key,) = out
        assert key in ANSWER_KEYS and isinstance(out[key], str) and out[key]
        assert expected_open_key(name) in ("", key)
        assert "question" in inp or "instruction" in inp
    elif type_ == "numeric":
        assert isinstance(out["answer"], int | float) and not isinstance(out["answer"], bool)
    elif type_ == "detection":
        assert ("pointcloud" if modality == "3d" else "image") in inp and _str_list(inp["categories"])
        assert 0 <= len(out["boxes"]) <= 4 and all(_box_ok(b) for b in out["boxes"])
        assert all(b["label"] in inp["categories"] for b in out["boxes"])
    elif type_ == "tracking":
        assert "video" in inp and len(inp["init_box"]) == 4
        assert out["boxes"] and all(_box_ok(b) for b in out["boxes"]) and out["boxes"][0]["bbox"] == inp["init_box"]
    elif type_ == "dense_prediction":
        assert "image" in inp and out["image"].endswith("_gt.png")
    elif type_ == "video_dense_prediction":
        assert "video" in inp and out["video"].endswith("_gt.mp4")
    elif type_ == "pointcloud_segmentation":
        assert "pointcloud" in inp and out["pointcloud"].endswith("_gt.ply")
    elif type_ == "speech_synthesis":
        assert isinstance(inp["text"], str) and isinstance(out["text"], str) and out["audio"].endswith(".wav")
    else:
        key = {"image_generation": "image", "video_generation": "video", "audio_generation": "audio",
               "3d_generation": "pointcloud"}[type_]
        assert isinstance(inp["prompt"], str) and inp["prompt"] and list(out)[0] == key
        # the labels, caption or events a task's other_references read (specs/task_types/)
        extra = {"label": "eeg", "labels": "specific text to video|class-conditioned|spatial relation|camera motion"
                 "|video translation", "caption": "imagetospeech", "events": "piano"}
        for k in list(out)[1:]:
            assert k in extra and re.search(extra[k], name, re.IGNORECASE), (k, name)
            assert isinstance(out[k], str) or _str_list(out[k])


def test_fields_follow_the_task_type(small_tree: TreeInfo) -> None:
    types_seen: Counter[str] = Counter()
    for row, t in zip(ROWS, small_tree.tasks, strict=True):
        for rec in annotation(small_tree, t.folder)["data"]:
            try:
                check_record(t.type, row.modality, row.name, rec["input"], rec["output"])
            except (AssertionError, KeyError, TypeError) as exc:
                raise AssertionError(f"{t.folder} {t.type}: {rec}") from exc
            types_seen[t.type] += 1
    assert set(types_seen) == set(TYPES)


def test_input_images_for_editing_and_image_to_video(small_tree: TreeInfo) -> None:
    recs = {t.name: annotation(small_tree, t.folder)["data"][0]["input"] for t in small_tree.tasks}
    assert "image" in recs["Image Deraining"] and "image" not in recs["Text-to-Image Insect Generation"]
    assert "image" in recs["Plant Image to Video Generation"] and "video" in recs["Video Denoising"]
    assert "audio" in recs["AudioEdit"] and "audio" not in recs["TextToSpeech"]


def test_some_detection_images_have_no_boxes(small_tree: TreeInfo) -> None:
    counts = Counter(len(r["output"]["boxes"]) for t in small_tree.tasks if t.type == "detection"
                     for r in annotation(small_tree, t.folder)["data"])
    assert counts[0] > 0 and sum(counts.values()) - counts[0] > counts[0]


def test_text_is_utf8_with_non_ascii(small_tree: TreeInfo) -> None:
    nlp = "".join((small_tree.root / t.folder / "annotation.json").read_text(encoding="utf-8")
                  for t in small_tree.tasks if t.folder.parts[0] == "NLP")
    assert re.search(r"[\u4e00-\u9fff]", nlp)  # CJK
    assert re.search(r"[éèçöüøñ]", nlp)  # accents
    assert re.search(r"[\U0001F300-\U0001FAFF]", nlp)  # emoji
    assert "\\u" not in nlp  # written as UTF-8, not escaped


# -------------------------------------------------------------------------------------------- media


def read_mp4_frames(data: bytes) -> list[bytes]:
    """The samples of the only video track, found through the ISO-BMFF box tree (and checked on the way)."""

    def boxes(start: int, end: int) -> dict[bytes, tuple[int, int]]:
        found: dict[bytes, tuple[int, int]] = {}
        pos = start
        while pos < end:
            size, kind = struct.unpack(">I4s", data[pos:pos + 8])
            assert size >= 8 and pos + size <= end, (kind, size)
            found[kind] = (pos + 8, pos + size)
            pos += size
        assert pos == end
        return found

    top = boxes(0, len(data))
    assert list(top) == [b"ftyp", b"moov", b"mdat"] and data[8:12] == b"isom"
    trak = boxes(*boxes(*top[b"moov"])[b"trak"])
    mdia = boxes(*trak[b"mdia"])
    assert data[mdia[b"hdlr"][0] + 8:mdia[b"hdlr"][0] + 12] == b"vide"
    stbl = boxes(*boxes(*mdia[b"minf"])[b"stbl"])
    stsd = data[slice(*stbl[b"stsd"])]
    assert stsd[12:16] == b"mp4v" and struct.unpack(">HH", stsd[8 + 32:8 + 36]) == (32, 32)
    assert b"esds" in stsd and b"\x04" in stsd and b"\x6c\x11" in stsd  # object type JPEG, visual stream
    stsz = data[slice(*stbl[b"stsz"])]
    _, uniform, count = struct.unpack(">III", stsz[:12])
    sizes = struct.unpack(f">{count}I", stsz[12:12 + 4 * count])
    stts = data[slice(*stbl[b"stts"])]
    assert uniform == 0 and struct.unpack(">II", stts[8:16])[0] == count
    (offset,) = struct.unpack(">I", data[stbl[b"stco"][0] + 8:stbl[b"stco"][0] + 12])
    assert top[b"mdat"] == (offset, offset + sum(sizes))
    frames, pos = [], offset
    for s in sizes:
        frames.append(data[pos:pos + s])
        pos += s
    return frames


def check_media(path: Path, mask: bool = False) -> None:
    """``path`` is a valid PNG, WAV, PLY or MP4 of the generator's sizes; ``mask``: a segmentation reference."""
    data = path.read_bytes()
    if path.suffix == ".png":
        with Image.open(path) as img:
            assert img.format == "PNG" and img.size == (32, 32) and img.mode == ("L" if mask else "RGB")
            img.load()
    elif path.suffix == ".wav":
        with wave.open(str(path)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 16000, 3200)
    elif path.suffix == ".ply":
        head, body = data.decode("ascii").split("end_header\n")
        lines = head.splitlines()
        assert lines[:2] == ["ply", "format ascii 1.0"]
        n = int(next(x for x in lines if x.startswith("element vertex")).split()[-1])
        props = [x.split()[-1] for x in lines if x.startswith("property")]
        rows = [r.split() for r in body.splitlines()]
        assert len(rows) == n == 64 and all(len(r) == len(props) for r in rows)
        assert ("label" in props) == mask
        assert all(float(v) == float(v) for r in rows for v in r[:3])
    else:
        frames = read_mp4_frames(data)
        assert len(frames) == 4
        for f in frames:
            with Image.open(io.BytesIO(f)) as img:
                assert img.format == "JPEG" and img.size == (32, 32)
                img.load()


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_media_exist_are_valid_and_all_referenced(small_tree: TreeInfo) -> None:
    referenced: dict[Path, bool] = {}  # path: is a segmentation reference
    for t in small_tree.tasks:
        folder = small_tree.root / t.folder
        for rec in annotation(small_tree, t.folder)["data"]:
            referenced |= {folder / rel: False for rel in media_paths(rec["input"])}
            referenced |= {folder / rel: t.type in MASKS for rel in media_paths(rec["output"])}
    on_disk = {p for p in small_tree.root.rglob("*") if p.is_file() and p.name != "annotation.json"}
    assert set(referenced) == on_disk and len(on_disk) == small_tree.media_count
    assert {p.suffix for p in on_disk} == {".png", ".mp4", ".wav", ".ply"}
    for p in sorted(on_disk):
        try:
            check_media(p, referenced[p])
        except Exception as exc:
            raise AssertionError(f"invalid media file {p}") from exc


def test_small_writes_one_media_file_per_instance_and_role(small_tree: TreeInfo) -> None:
    t = next(t for t in small_tree.tasks if t.type == "dense_prediction")
    recs = annotation(small_tree, t.folder)["data"]
    assert len({r["input"]["image"] for r in recs}) == len({r["output"]["image"] for r in recs}) == 3
    assert recs[0]["input"]["image"] == f"images/{recs[0]['id']}.png"
    assert recs[0]["output"]["image"] == f"images/{recs[0]['id']}_gt.png"


# ------------------------------------------------------------------------------ determinism, close set


def test_same_arguments_write_the_same_bytes(tmp_path: Path, small_tree: TreeInfo) -> None:
    a = write_tree(tmp_path / "a", tasks=SUBSET)
    write_tree(tmp_path / "b", tasks=list(reversed(SUBSET)))
    assert a.task_count == len(set(SUBSET)) and tree_hash(tmp_path / "a") == tree_hash(tmp_path / "b")
    # each task draws from its own generator: the subset's folders equal those of the whole tree
    for t in a.tasks:
        assert tree_hash(tmp_path / "a" / t.folder) == tree_hash(small_tree.root / t.folder), t.folder
    write_tree(tmp_path / "c", tasks=SUBSET, seed=1)
    assert tree_hash(tmp_path / "c") != tree_hash(tmp_path / "a")


def test_close_set_is_the_open_set_without_outputs(tmp_path: Path) -> None:
    info = write_tree(tmp_path / "open", tasks=SUBSET)
    write_tree(tmp_path / "close", tasks=SUBSET, close_set=True)
    for t in info.tasks:
        opened = annotation(info, t.folder)
        closed = json.loads((tmp_path / "close" / t.folder / "annotation.json").read_text(encoding="utf-8"))
        assert all(list(r) == ["id", "input"] for r in closed["data"])
        assert closed["data"] == [{"id": r["id"], "input": r["input"]} for r in opened["data"]]
        for rel in {m for r in closed["data"] for m in media_paths(r["input"])}:
            assert (tmp_path / "close" / t.folder / rel).read_bytes() == (info.root / t.folder / rel).read_bytes()
        # the references are not shipped with the Close Set
        assert not {m for r in opened["data"] for m in media_paths(r["output"])} & {
            p.relative_to(tmp_path / "close" / t.folder).as_posix()
            for p in (tmp_path / "close" / t.folder).rglob("*") if p.is_file()}


# ---------------------------------------------------------------------------------------------- sizes


def test_full_plan_sums_to_the_real_total() -> None:
    plan = count_plan(ROWS, "full")
    assert len(plan) == 699 and sum(plan) == FULL_TOTAL == 325_800
    assert min(plan) >= 50 and max(plan) <= 2000
    assert len(set(plan)) > 300 and min(plan) < 150 and max(plan) > 1500  # varied, not uniform
    assert count_plan(ROWS, "full") == plan
    other = count_plan(ROWS, "full", seed=7)
    assert sum(other) == FULL_TOTAL and other != plan
    assert count_plan(ROWS, "small") == [3] * 699 and count_plan(ROWS, "small", per_task=5) == [5] * 699
    with pytest.raises(ValueError, match="per_task"):
        count_plan(ROWS, "full", per_task=3)


def test_full_size_reuses_at_most_a_pool_of_media_per_role(tmp_path: Path) -> None:
    plan = dict(zip((r.name for r in ROWS), count_plan(ROWS, "full"), strict=True))
    dense = min((r.name for r in ROWS if r.type == "dense_prediction"), key=plan.__getitem__)
    mc = min((r.name for r in ROWS if r.type == "multiple_choice" and r.modality == "audio"), key=plan.__getitem__)
    info = write_tree(tmp_path, size="full", tasks=[dense, mc])
    assert [len(t.ids) for t in info.tasks] == [plan[t.name] for t in info.tasks]
    for t in info.tasks:
        recs = annotation(info, t.folder)["data"]
        files = [p for p in (tmp_path / t.folder).rglob("*") if p.is_file() and p.name != "annotation.json"]
        roles = 2 if t.type == "dense_prediction" else 1
        assert len(files) == roles * MEDIA_POOL and MEDIA_POOL < len(recs)
        referenced = {m for r in recs for m in media_paths([r["input"], r["output"]])}
        assert {p.relative_to(tmp_path / t.folder).as_posix() for p in files} == referenced
        # round-robin: instance i uses the files of instance i % 40, and the input and its reference agree
        assert media_paths(recs[MEDIA_POOL + 3]["input"]) == media_paths(recs[3]["input"])
        if t.type == "dense_prediction":
            assert recs[MEDIA_POOL + 3]["output"] == recs[3]["output"]


# ----------------------------------------------------------------------------------------- predictions


def reference_value(type_: str, out: dict[str, Any]) -> Any:
    if "boxes" in out:
        return out["boxes"]
    key = next(iter(ANSWER_KEYS & set(out)), None)
    if key is not None:
        v = out[key]
        return v[0] if type_ == "short_answer" and isinstance(v, list) else v
    return None


def test_predictions_are_right_for_the_asked_fraction(tmp_path: Path) -> None:
    info = write_tree(tmp_path / "tree", per_task=10, tasks=SUBSET)
    n = write_predictions(info, tmp_path / "pred", correct_fraction=0.3, seed=4)
    assert n == info.instance_count
    for t in info.tasks:
        recs = annotation(info, t.folder)["data"]
        preds = json.loads((tmp_path / "pred" / t.folder / "prediction.json").read_text(encoding="utf-8"))
        assert [p["id"] for p in preds] == [r["id"] for r in recs]
        right = 0
        for rec, p in zip(recs, preds, strict=True):
            pred, inp, out = p["prediction"], rec["input"], rec["output"]
            ref = reference_value(t.type, out)
            if ref is None:  # a media reference: the prediction is a file beside prediction.json
                (gt,) = media_paths(out)
                assert isinstance(pred, str) and MEDIA_RE.match(pred) and pred.endswith(Path(gt).suffix)
                produced = (tmp_path / "pred" / t.folder / pred).read_bytes()
                check_media(tmp_path / "pred" / t.folder / pred, t.type in MASKS)
                same = produced == (info.root / t.folder / gt).read_bytes()
            else:
                same = pred == ref
                if not same:  # wrong but of the same shape
                    if t.type == "multiple_choice":
                        assert pred in "ABCD" and len(pred) == 1
                    elif t.type == "label_set":
                        assert set(pred) <= set(inp["label_space"])
                    elif t.type in ("detection", "tracking"):
                        assert pred and all(_box_ok(b) for b in pred)
                    elif t.type == "numeric":
                        assert isinstance(pred, int | float)
                    else:
                        assert isinstance(pred, str) and pred
            right += same
        assert right == round(0.3 * len(recs)), t.folder
    # loading from the folder instead of the TreeInfo writes the same files
    write_predictions(tmp_path / "tree", tmp_path / "pred2", correct_fraction=0.3, seed=4)
    assert tree_hash(tmp_path / "pred2") == tree_hash(tmp_path / "pred")


def test_all_or_nothing_right_and_close_set_refused(tmp_path: Path) -> None:
    info = write_tree(tmp_path / "tree", tasks=SUBSET[:6])
    write_predictions(info, tmp_path / "all", correct_fraction=1.0)
    write_predictions(info, tmp_path / "none", correct_fraction=0.0)
    for t in info.tasks:
        recs = annotation(info, t.folder)["data"]
        for mode, expect in (("all", True), ("none", False)):
            preds = json.loads((tmp_path / mode / t.folder / "prediction.json").read_text(encoding="utf-8"))
            for rec, p in zip(recs, preds, strict=True):
                ref = reference_value(t.type, rec["output"])
                if ref is not None:
                    assert (p["prediction"] == ref) is expect, (t.folder, mode, p, ref)
    closed = write_tree(tmp_path / "close", tasks=SUBSET[:2], close_set=True)
    with pytest.raises(ValueError, match="has no output"):
        write_predictions(closed, tmp_path / "p")


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_writes_a_tree_and_predictions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "t"), "--per-task", "2", "--task", "Commonsense Reasoning",
                 "--predictions", str(tmp_path / "p")]) == 0
    assert "1 tasks, 2 instances, 0 media files" in capsys.readouterr().out
    assert len(json.loads((tmp_path / "p/NLP/Commonsense-Reasoning/prediction.json").read_text())) == 2
    script = Path(__file__).parent / "helpers" / "gb_tree.py"
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "s"), "--close-set", "--seed", "3",
                           "--task", "Image/comprehension/Abduction-based-VQA"],
                          capture_output=True, text=True, check=True)
    assert "1 tasks, 3 instances, 3 media files" in done.stdout
    recs = json.loads((tmp_path / "s/Image/comprehension/Abduction-based-VQA/annotation.json").read_text())["data"]
    assert len(recs) == 3 and all("output" not in r for r in recs)
