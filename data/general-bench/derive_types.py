"""Write ``task_types.csv``: a ``type`` and a ``skill`` for each task of ``tasks.csv``.

The official workbook has no task types; General-Bench's ``annotation.json`` files carry one.
glc needs a type per catalog task before any data is bound (to plan prompts and outputs), so
this script derives one from the metric (what the scorer compares) and the modality/paradigm,
and a skill cluster from keywords of the task name. Both are glc's own reading, written once
into a CSV beside the catalog (which stays byte-identical to the official table) so they can be
reviewed and hand-edited; data bound later may name its own type
and skill (see docs/general-bench.md). Run: ``python data/general-bench/derive_types.py``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

HERE = Path(__file__).parent

# (modality, paradigm, metric) -> type; (modality, paradigm, None) is the paradigm's default.
TYPE_RULES: dict[tuple[str, str, str | None], str] = {
    ("NLP", "nlp", "acc"): "multiple_choice",
    ("NLP", "nlp", "micro_f1"): "label_set",
    ("NLP", "nlp", "f1"): "short_answer",
    ("NLP", "nlp", "rmse"): "numeric",
    ("NLP", "nlp", None): "open_ended",
    ("Image", "comprehension", "acc"): "multiple_choice",
    ("Image", "comprehension", "f1"): "short_answer",
    ("Image", "comprehension", "anls"): "short_answer",
    ("Image", "comprehension", "bleu1"): "open_ended",
    ("Image", "comprehension", "rouge_l"): "open_ended",
    ("Image", "comprehension", "mae"): "numeric",
    ("Image", "comprehension", "mse"): "numeric",
    ("Image", "comprehension", "recall_at_50"): "label_set",
    ("Image", "comprehension", "ap"): "detection",
    ("Image", "comprehension", "ap10"): "detection",
    ("Image", "comprehension", "ap50"): "detection",
    ("Image", "comprehension", "ap75"): "detection",
    ("Image", "comprehension", None): "dense_prediction",   # miou, dice, pq, sad, rms: a mask/map image
    ("Image", "generation", None): "image_generation",
    ("Video", "comprehension", "acc"): "multiple_choice",
    ("Video", "comprehension", "macro_acc"): "classification",
    ("Video", "comprehension", "f1"): "short_answer",
    ("Video", "comprehension", "bleu1"): "open_ended",
    ("Video", "comprehension", "cider"): "open_ended",
    ("Video", "comprehension", "auc"): "tracking",
    ("Video", "comprehension", "m_viou"): "tracking",
    ("Video", "comprehension", None): "video_dense_prediction",  # miou, absrel, epe, s_measure
    ("Video", "generation", None): "video_generation",
    ("Audio", "comprehension", "acc"): "multiple_choice",
    ("Audio", "comprehension", "f1"): "short_answer",
    ("Audio", "comprehension", None): "open_ended",
    ("Audio", "generation", "wer"): "speech_synthesis",
    ("Audio", "generation", "mos"): "speech_synthesis",
    ("Audio", "generation", None): "audio_generation",
    ("3D", "comprehension", "acc"): "multiple_choice",
    ("3D", "comprehension", "em1"): "short_answer",
    ("3D", "comprehension", "bleu4"): "open_ended",
    ("3D", "comprehension", "rmse"): "numeric",
    ("3D", "comprehension", "rte"): "numeric",
    ("3D", "comprehension", "amota"): "detection",
    ("3D", "comprehension", "map"): "detection",
    ("3D", "comprehension", "map50"): "detection",
    ("3D", "comprehension", None): "pointcloud_segmentation",  # miou, instance_miou
    ("3D", "generation", None): "3d_generation",
}

# First keyword (regex on the lower-cased name) that matches names the skill cluster.
SKILL_RULES: list[tuple[str, str]] = [
    (r"question answering|\bvqa\b|\bqa\b", "question answering"),
    (r"caption|description|describ", "captioning"),
    (r"reasoning|inference|causal|counterfactual|commonsense", "reasoning"),
    (r"translation", "translation"),
    (r"summar", "summarization"),
    (r"count", "counting"),
    (r"track", "tracking"),
    (r"segment", "segmentation"),
    (r"grounding|referring|localization|locali[sz]e", "grounding"),
    (r"detect", "detection"),
    (r"recogni|classif|identif|analysis", "recognition"),
    (r"extraction|\bner\b|entity|relation|parsing|tagging", "information extraction"),
    (r"depth|optical flow|pose|estimation|registration", "geometry estimation"),
    (r"retriev|matching|similarity", "retrieval and matching"),
    (r"editing|inpaint|style|transfer", "editing"),
    (r"restor|deblur|denois|dehaz|derain|desnow|enhance|super[- ]resolution|removal", "restoration"),
    (r"speech|voice|singing|tts", "speech"),
    (r"music", "music"),
    (r"dialog|conversation|response", "dialogue"),
    (r"code|sql|program", "code"),
    (r"generat|synthes|completion|to video|to image|to audio|to 3d", "generation"),
]


def derive_type(row: dict[str, str]) -> str:
    key = (row["modality"], row["paradigm"], row["metric_key"])
    return TYPE_RULES.get(key) or TYPE_RULES[(row["modality"], row["paradigm"], None)]


def derive_skill(row: dict[str, str]) -> str:
    name = row["task_name"].lower()
    for pattern, skill in SKILL_RULES:
        if re.search(pattern, name):
            return skill
    return "other"


def main() -> None:
    with (HERE / "tasks.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with (HERE / "task_types.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["sheet", "no", "task_name", "type", "skill"])
        for row in rows:
            writer.writerow([row["sheet"], row["no"], row["task_name"], derive_type(row), derive_skill(row)])


if __name__ == "__main__":
    main()
