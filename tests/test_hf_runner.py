"""The hf runner on local transformers folders (tiny models built from a config, offline) and
its device choice; the bundled real models are exercised end to end in test_mini_benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from glc.runners.base import Request, RunnerError
from glc.runners.hf import HFArgs, HFRunner, pick_device
from PIL import Image


@pytest.fixture(scope="module")
def tiny_vit(tmp_path_factory) -> Path:
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("vit")
    labels = {0: "apple", 1: "banana", 2: "cherry"}
    config = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=64, num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()})
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def test_image_classification_from_a_local_folder(tiny_vit: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    reqs = []
    for i in range(5):
        path = tmp_path / f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
        reqs.append(Request(key=str(i), instance_id=str(i), prompt="", media={"image": str(path)}))
    runner = HFRunner(HFArgs(task="image-classification", model=str(tiny_vit), batch_size=2), tmp_path)
    first = {r.instance_id: res.output for r, res in runner.run(reqs)}
    again = {r.instance_id: res.output for r, res in runner.run(reqs)}
    assert set(first.values()) <= {"apple", "banana", "cherry"} and first == again  # deterministic
    only = HFRunner(HFArgs(task="image-classification", model=str(tiny_vit)), tmp_path)
    restricted = [res.output for _, res in only.run([Request(key="k", instance_id="x", prompt="",
                                                             media=reqs[0].media, choices=("cherry",))])]
    assert restricted == ["cherry"]


def test_a_broken_instance_fails_alone(tiny_vit: Path, tmp_path: Path) -> None:
    good = tmp_path / "ok.png"
    Image.new("RGB", (32, 32), (10, 200, 30)).save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    runner = HFRunner(HFArgs(task="image-classification", model=str(tiny_vit), batch_size=4), tmp_path)
    reqs = [Request(key=n, instance_id=n, prompt="", media={"image": str(p)}) for n, p in
            (("a", good), ("b", bad), ("c", good))]
    got = {r.instance_id: res for r, res in runner.run(reqs)}
    assert got["a"].output and got["c"].output and got["a"].error is None
    assert got["b"].output is None and "cannot identify image file" in got["b"].error


def test_missing_model_folder_and_cuda_without_gpu(tmp_path: Path) -> None:
    import torch

    runner = HFRunner(HFArgs(task="image-classification", model="./nowhere"), tmp_path)
    with pytest.raises(RunnerError, match="does not exist"):
        list(runner.run([Request(key="k", instance_id="i", prompt="")]))
    with pytest.raises(ValueError, match="neither a bundled model"):
        HFArgs(task="text-generation", model="gpt-5")
    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RunnerError, match="no CUDA device"):
            pick_device("cuda")
