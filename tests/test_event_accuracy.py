"""E-Acc (PianoToOrchestrationGeneration) through a configured event recognizer, end to end.

No audio classifier ships offline, so the test builds a tiny randomly initialised transformers
audio-classification model (wav2vec2, instrument names as its labels), saves it in the project and
names it in profiles.yml (``evaluators: {event_recognizer: {path: ...}}``). Without it the task says
which weights it needs; with it ``glc run`` stores, per generated WAV, the labels the model hears in
each 2-second segment, and E-Acc is checked against those readings recomputed by loading the model
separately, and against the score recomputed from the readings and the records' events.
"""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers.gb_tree import write_tree
from helpers.metric_project import new_project, sql_rows, write_predictions
from helpers.project import REPO

from glc.cli.listing import list_rows, unscorable_tasks
from glc.workspace import Workspace

TID = "audio.pianotoorchestrationgeneration"
INSTRUMENTS = ["violin", "flute", "cello", "horn", "oboe"]  # what gb_tree's records name as events
RATE, SEGMENT_S = 16000, 2.0


def tiny_recognizer(folder: Path) -> None:
    """A wav2vec2 audio classifier of a few thousand random weights whose labels are instruments."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    torch.manual_seed(0)
    cfg = Wav2Vec2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                         conv_dim=(8, 8), conv_kernel=(10, 3), conv_stride=(5, 2), num_conv_pos_embeddings=8,
                         num_conv_pos_embedding_groups=2, classifier_proj_size=8, feat_extract_norm="group",
                         id2label=dict(enumerate(INSTRUMENTS)), label2id={x: i for i, x in enumerate(INSTRUMENTS)})
    Wav2Vec2ForSequenceClassification(cfg).eval().save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=RATE).save_pretrained(folder)


def music(path: Path, seconds: float, seed: int) -> None:
    """A 16-bit mono WAV: tones that change every second, with bursts of noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    freq = rng.uniform(100, 2000, size=int(seconds) + 1)[t.astype(int)]
    x = 0.4 * np.sin(2 * np.pi * freq * t) + rng.uniform(0, 0.4) * rng.standard_normal(t.size) * (np.sin(3 * t) > 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def heard(folder: Path, wav_path: Path) -> list[list[str]]:
    """The recognizer's label for each 2-second segment of a WAV, computed here without glc: the
    model loaded on its own, each segment (the last padded with silence) classified alone."""
    import torch
    from scipy.io import wavfile
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    model = AutoModelForAudioClassification.from_pretrained(folder).eval()
    extractor = AutoFeatureExtractor.from_pretrained(folder)
    rate, data = wavfile.read(wav_path)
    assert rate == RATE
    x = data.astype(np.float32) / 32767
    step = int(SEGMENT_S * RATE)
    out = []
    for start in range(0, len(x), step):
        seg = np.zeros(step, dtype=np.float32)
        piece = x[start:start + step]
        seg[:len(piece)] = piece
        with torch.no_grad():
            logits = model(**extractor(seg, sampling_rate=RATE, return_tensors="pt")).logits[0]
        out.append([model.config.id2label[int(logits.argmax())]])
    return out


def e_acc(readings: dict[str, list[list[str]]], events: dict[str, list[str]]) -> float:
    """Position-wise event accuracy pooled over the task, from the readings (none: every event missed)."""
    hits = sum(1 for iid, evs in events.items() for k, e in enumerate(evs)
               if k < len(readings.get(iid, [])) and e in readings[iid][k])
    return 100.0 * hits / sum(len(evs) for evs in events.values())


def set_evaluators(root: Path, evaluators: dict) -> None:
    prof = root / "profiles.yml"
    doc = yaml.safe_load(prof.read_text())
    doc["evaluators"] = evaluators
    prof.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.slow
def test_event_accuracy_through_a_configured_recognizer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = new_project(tmp_path / "p")
    rel = Path("audio") / "generation" / "pianotoorchestrationgeneration.yaml"
    (root / "specs" / "tasks" / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "specs" / "tasks" / rel, root / "specs" / "tasks" / rel)
    tree = tmp_path / "gb"
    info = write_tree(tree, size="small", per_task=4, tasks=["PianoToOrchestrationGeneration"])
    monkeypatch.setenv("GLC_DATA", str(tree))
    folder = tree / info.tasks[0].folder
    records = json.loads((folder / "annotation.json").read_text())["data"]
    events = {r["id"]: r["output"]["events"] for r in records}
    assert len(events) == 4 and all(set(e) <= set(INSTRUMENTS) for e in events.values())
    # generated music for all but the last record (its events all count as missed)
    preds = []
    for k, r in enumerate(records[:-1]):
        music(root / "gen" / f"{r['id']}.wav", 5.0 + k, seed=k)  # 3, 3 and 4 segments
        preds.append((r["id"], str(root / "gen" / f"{r['id']}.wav")))
    write_predictions(root / "preds.jsonl", "m", TID, preds)

    # not configured: the task says exactly which evaluator and weights it needs
    ws = Workspace(root, benchmark="general-bench")
    ws.import_predictions(root / "preds.jsonl")
    compiled = ws.compile()
    row = next(r for r in list_rows(compiled, "tasks") if r["task_id"] == TID)
    assert row["scored"] is False and row["needs"] == "evaluator:event_recognizer"
    assert "needs evaluator:event_recognizer (an audio event / instrument classifier" in unscorable_tasks(compiled)[TID]
    result = ws.run()
    assert result.inference is not None and result.inference.judged == 0
    assert "evaluators: {event_recognizer: {path: FOLDER}}" in result.inference.not_scorable[TID]
    assert sql_rows(ws, "SELECT score FROM task_scores WHERE task_id = ? AND model = 'm'", TID) in ([], [(None,)])

    # configured: a transformers audio-classification folder inside the project
    tiny_recognizer(root / "models" / "events")
    set_evaluators(root, {"event_recognizer": {"path": "models/events"}})
    ws = Workspace(root, benchmark="general-bench")
    assert TID not in unscorable_tasks(ws.compile())
    result = ws.run()
    assert result.inference is not None and result.inference.judged == 3, result.inference.describe()
    assert not result.inference.failed
    stored = {iid: json.loads(out) for iid, out in sql_rows(
        ws, "SELECT instance_id, output FROM judgments WHERE task_id = ? AND error IS NULL", TID)}
    assert stored == {iid: heard(root / "models" / "events", Path(path)) for iid, path in preds}
    assert [len(stored[iid]) for iid, _ in preds] == [3, 3, 4]
    # the events are a sequence: bound in the record's order (labels are otherwise a sorted set)
    assert dict(sql_rows(ws, "SELECT instance_id, ref_texts FROM instances WHERE task_id = ?", TID)) == events
    score = sql_rows(ws, "SELECT score FROM task_scores WHERE task_id = ? AND model = 'm'", TID)[0][0]
    assert score == pytest.approx(e_acc(stored, events), abs=1e-9)

    # the references name what the recognizer heard in the first instance: exactly its 3 events more
    first = records[0]["id"]
    doc = json.loads((folder / "annotation.json").read_text())
    doc["data"][0]["output"]["events"] = [seg[0] for seg in stored[first][:3]]
    (folder / "annotation.json").write_text(json.dumps(doc))
    events[first] = doc["data"][0]["output"]["events"]
    result = ws.run()
    assert result.inference is not None and result.inference.judged == 0  # the readings stand
    score = sql_rows(ws, "SELECT score FROM task_scores WHERE task_id = ? AND model = 'm'", TID)[0][0]
    assert score == pytest.approx(e_acc(stored, events), abs=1e-9) and score >= 100 * 3 / 12


# ------------------------------------------------------------------------ the route's parts (fast)


def test_an_evaluator_that_reads_labels_is_declared_with_its_segments() -> None:
    from glc.compiler.spec_models import MetricEvaluator
    from pydantic import ValidationError

    ok = MetricEvaluator(name="rec", reads="labels", segment_s=1.5, top_k=2, needs="a recognizer")
    assert (ok.segment_s, ok.top_k, ok.reference) == (1.5, 2, "none")
    for bad in ({"reads": "labels"}, {"reads": "labels", "segment_s": 2.0, "reference": "media"},
                {"reads": "score", "segment_s": 2.0}, {"reads": "features", "reference": "media", "top_k": 3},
                {"reads": "labels", "segment_s": 0.0}):
        with pytest.raises(ValidationError):
            MetricEvaluator(name="rec", needs="a recognizer", **bad)


def test_a_weights_folder_becomes_the_hf_audio_classification_route(tmp_path: Path) -> None:
    from glc.compiler.spec_models import MetricEvaluator

    from glc.execute.inference import check_reading, metric_route

    ev = MetricEvaluator(name="event_recognizer", reads="labels", segment_s=2.0, needs="an instrument classifier")
    route, problem = metric_route(tmp_path, ev)
    assert route is None and "evaluators: {event_recognizer: {path: FOLDER}}" in (problem or "")
    (tmp_path / "profiles.yml").write_text(yaml.safe_dump({
        "target": "dev", "targets": {"dev": {"type": "duckdb", "path": "t.duckdb"}},
        "evaluators": {"event_recognizer": {"path": "models/events"}}}))
    route, problem = metric_route(tmp_path, ev)
    assert problem is None and route is not None
    assert (route.runner, route.args) == ("hf", {"task": "audio-classification", "model": "models/events",
                                                 "segment_s": 2.0, "top_k": 1})
    # a reading is one list of label strings per segment; anything else is an error of that instance
    assert check_reading(ev, '[["violin"], ["flute", "horn"], []]', 0, 100) == ('[["violin"], ["flute", "horn"], []]',
                                                                                None)
    assert check_reading(ev, "[]", 0, 100) == ("[]", None)
    for bad in ('["violin"]', '{"frames": []}', "violin", '[["violin", 3]]', None):
        out, err = check_reading(ev, bad, 0, 100)
        assert out is None and err is not None, bad
