"""An independent, plain-Python reading of docs/general-level.md, used to check the SQL.

Written from the formulas alone; it shares no code with glc.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

THRESHOLDS = {"mae": 50, "rms": 50, "mse": 5, "rmse": 5, "absrel": 0.1, "epe": 1, "fid": 25, "fvd": 100,
              "fad": 10, "sad": 10, "rte": 0.5, "cd": 1, "mcd": 5}
LOWER = set(THRESHOLDS) | {"wer"}
MODALITIES = ("image", "video", "audio", "3d")


@dataclass(frozen=True)
class RefTask:
    task_id: str
    modality: str
    paradigm: str
    metric: str
    sota: float | None  # None: no SoTA yet, the task is left out of every level


def sigma(metric: str, x: float) -> float:
    if metric in THRESHOLDS:
        if x == 0:
            return 100.0
        z = THRESHOLDS[metric] / x
        return 100.0 * (2.0 / (1.0 + math.exp(-z)) - 1.0)
    if metric == "psnr":
        return 100.0 * math.tanh(x / 20.0)
    if metric == "wer":
        return min(max(100.0 - x, 0.0), 100.0)
    if metric == "ms_ssim":
        return min(max(100.0 * (x + 1.0) / 2.0, 0.0), 100.0)
    if metric == "mos":
        return min(max(100.0 * (x - 1.0) / 4.0, 0.0), 100.0)
    return x


def tie(task: RefTask, x: float | None) -> bool:
    """Equal to the SoTA within a relative 1e-9 (raw values for lower-is-better metrics, sigma otherwise)."""
    if x is None or task.sota is None:
        return False
    a, b = (x, task.sota) if task.metric in LOWER else (sigma(task.metric, x), sigma(task.metric, task.sota))
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def wins(task: RefTask, x: float | None, strict: bool) -> bool:
    if x is None or task.sota is None:
        return False
    if tie(task, x):
        return not strict
    if task.metric in LOWER:
        return x < task.sota
    return sigma(task.metric, x) > sigma(task.metric, task.sota)


def reached(want: dict[str, float]) -> int:
    """The level reached on scope A (max level 5)."""
    return max([1] + [k for k in range(2, 6) if want[f"level_{k}"] > 0])


def levels(tasks: list[RefTask], scores: dict[str, float], *, strict: bool = False,
           per_modality: bool = False) -> dict[str, float]:
    """Level-2..5 of one model over the whole benchmark (scope A); tasks without a SoTA count nowhere."""
    tasks = [t for t in tasks if t.sota is not None]
    def group(sel: list[RefTask]) -> tuple[float, float]:
        n = len(sel)
        total = sum(sigma(t.metric, scores[t.task_id]) for t in sel if t.task_id in scores)
        won = sum(sigma(t.metric, scores[t.task_id]) for t in sel
                  if t.task_id in scores and wins(t, scores[t.task_id], strict))
        return total / n, won / n

    def l234(mods: tuple[str, ...]) -> tuple[float, float, float, float, float]:
        mean_c, s_c = group([t for t in tasks if t.paradigm == "comprehension" and t.modality in mods])
        mean_g, s_g = group([t for t in tasks if t.paradigm == "generation" and t.modality in mods])
        l4 = 0.0 if s_c == 0 or s_g == 0 else 2 * s_c * s_g / (s_c + s_g)
        return (mean_c + mean_g) / 2, (s_c + s_g) / 2, l4, s_c, s_g

    _, s_l = group([t for t in tasks if t.paradigm == "nlp"])
    if per_modality:
        parts = [l234((m,)) for m in MODALITIES]
        l2, l3, l4, s_c, s_g = (sum(p[i] for p in parts) / len(parts) for i in range(5))
    else:
        l2, l3, l4, s_c, s_g = l234(MODALITIES)
    return {"level_2": l2, "level_3": l3, "level_4": l4, "level_5": l4 * s_l / 100, "s_c": s_c, "s_g": s_g,
            "s_l": s_l}
