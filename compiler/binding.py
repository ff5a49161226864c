"""Bind benchmark tasks to the folders of a General-Bench download.

A General-Bench tree is ``<Modality>/<comprehension|generation>/<Task-Name>/annotation.json``
(``NLP/<Task-Name>/annotation.json`` for language). A catalog task binds to the folder of its
(modality, paradigm, name): exactly, or when the names differ only by case, spacing or
punctuation, or through a declared alias table.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

MODALITY_DIR = {"image": "Image", "video": "Video", "audio": "Audio", "3d": "3d", "nlp": "NLP"}


def folder_name(task_name: str) -> str:
    """The folder name General-Bench uses for a task: its name with runs of spaces as hyphens."""
    return re.sub(r"\s+", "-", task_name.strip())


def name_key(name: str) -> str:
    """What two folder/task names must share to bind: letters and digits (any script), case-folded."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def canonical_folder(modality: str, paradigm: str, task_name: str) -> PurePosixPath:
    """``Image/comprehension/Task-Name`` or ``NLP/Task-Name``, relative to the data root."""
    if modality == "nlp":
        return PurePosixPath(MODALITY_DIR["nlp"], folder_name(task_name))
    return PurePosixPath(MODALITY_DIR[modality], paradigm, folder_name(task_name))
