"""Image predictions come from strangers too: the metric reads only files where specs may read.

A prediction file may name any path as a generated image; the image metrics would then read it.
Paths outside the project and the data roots of profiles.yml are refused at import, and a path
that is not a regular file (a FIFO, a device) is never opened by the metric, so it cannot block
a build.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from glc.compiler.errors import GlcError
from glc.compiler.udfs.images import load_image, psnr
from helpers.metric_project import add_task, new_project, write_predictions
from PIL import Image

from glc.workspace import Workspace


def _image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), 7, dtype=np.uint8)).save(path)
    return path


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_image_predictions_outside_the_project_are_refused(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    _image(root / "data" / "images" / "ref.png")
    tid = add_task(root, "psnr", "image", [("i0", {}, "images/ref.png"), ("i1", {}, "images/ref.png")],
                   modality="image", paradigm="generation")
    outside = _image(tmp_path / "private" / "photo.png")
    inside = _image(root / "data" / "images" / "pred.png")
    preds = write_predictions(tmp_path / "preds.jsonl", "m", tid, [("i0", str(outside)), ("i1", str(inside))])
    ws = Workspace(root)
    with pytest.raises(GlcError) as info:
        ws.import_predictions(preds)
    text = info.value.format()
    assert "row 1" in text and "lies outside the project" in text and "row 2" not in text
    # a NUL in the path: a located problem (it was an internal error), nothing stored
    nul = write_predictions(tmp_path / "nul.jsonl", "m", tid,
                            [("i0", str(inside)[:-4] + "\0.png"), ("i1", str(inside))])
    with pytest.raises(GlcError) as info:
        ws.import_predictions(nul)
    text = info.value.format()
    assert "row 1 field 'prediction': the generated file's path holds a NUL character" in text and "row 2" not in text
    # granted by the user's profile: imported
    prof = root / "profiles.yml"
    prof.write_text(prof.read_text().replace("data_roots: []", f"data_roots: ['{outside.parent}']"))
    assert Workspace(root).import_predictions(preds)[0].model == "m"


def test_the_image_metric_never_opens_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    ref = _image(tmp_path / "ref.png")
    got: list[float] = []
    worker = threading.Thread(target=lambda: got.append(psnr(str(fifo), str(ref))), daemon=True)
    worker.start()
    worker.join(10)  # opening a FIFO for reading blocks until a writer comes: it must not be opened
    assert got == [0.0] and load_image(str(tmp_path)) is None
