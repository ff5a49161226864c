"""Catalog tasks whose models write files (masks, maps, videos, point clouds, WAVs) or boxes per
frame are scored from an imported General-Bench prediction tree: the generator's tree
(``gb_tree``) with one model that copies every reference (perfect answers) and one that writes
another file of the same kind (wrong answers). Generated files are copied into the store at
import, and every metric gives its perfect value to the first and a worse one to the second.
"""

from __future__ import annotations

import shutil

import pytest
import yaml
from helpers.gb_tree import write_predictions, write_tree
from helpers.metric_project import new_project, sql_rows
from helpers.project import REPO

from glc.workspace import Workspace

# catalog task spec -> the score of a perfect answer (None: only "better than a wrong one")
TASKS = {
    "image/comprehension/bobross_painting_segmentation.yaml": 100.0,  # miou, label masks
    "video/comprehension/animal_complex_scene_reasoning_video_object_segmentation.yaml": 100.0,  # miou, videos
    "3d/comprehension/3d_outdoor_semantic_segmentation.yaml": 100.0,  # miou, labelled PLY
    "3d/comprehension/3d_aircrafts_part_segmentation.yaml": 100.0,  # instance_miou
    "image/comprehension/bone_fracture_detection.yaml": 100.0,  # dice
    "image/comprehension/portrait_matting.yaml": 0.0,  # sad
    "image/comprehension/road_scene_panoptic_segmentation.yaml": 100.0,  # pq
    "image/comprehension/indoor_depth_estimation.yaml": 0.0,  # rms
    "video/comprehension/street_scene_video_depth_estimation.yaml": 0.0,  # absrel
    "video/comprehension/optical_flow_in_complex_scene_estimation.yaml": 0.0,  # epe
    "video/comprehension/video_salient_object_detection.yaml": None,  # s_measure (JPEG frames: not exactly 1)
    "video/comprehension/video_object_tracking_in_crowd_sense.yaml": 100.0 * 20 / 21,  # auc, success plot
    "video/comprehension/automobile_video_grounding.yaml": 100.0,  # m_viou
    "video/generation/video_denoising.yaml": 100.0,  # psnr of videos (identical: capped at 100 dB)
    "video/generation/static_video_generation.yaml": 100.0,  # l1_distance
    "3d/generation/3d_point_cloud_completion.yaml": 0.0,  # cd
    "audio/generation/emotionalspeechsynthesis.yaml": 0.0,  # mcd
    "audio/generation/popmusicgeneration.yaml": 100.0,  # pcc of music: glc's chroma correlation
    "image/comprehension/classification_of_visual_spatial_relationship.yaml": 100.0,  # recall_at_50
    "3d/comprehension/3d_odometry.yaml": 0.0,  # rte
    "video/comprehension/video_semantic_role_labeling.yaml": None,  # cider
}


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[float, str, int]]:
    tmp = tmp_path_factory.mktemp("media_e2e")
    root = new_project(tmp / "proj")
    names = []
    for rel in TASKS:
        dest = root / "specs" / "tasks" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "specs" / "tasks" / rel, dest)
        names.append(yaml.safe_load(dest.read_text())["name"])
    tree = tmp / "gb"
    info = write_tree(tree, size="small", per_task=3, tasks=names)
    write_predictions(info, tmp / "right", correct_fraction=1.0)
    write_predictions(info, tmp / "wrong", correct_fraction=0.0)
    mp = pytest.MonkeyPatch()
    mp.setenv("GLC_DATA", str(tree))
    try:
        ws = Workspace(root, benchmark="general-bench")
        ws.import_predictions(tmp / "right", model="right")
        ws.import_predictions(tmp / "wrong", model="wrong")
        ws.run(infer=False)
        rows = sql_rows(ws, "SELECT model, task_name, score, metric, n_scored FROM task_scores")
        copied = list((root / "target" / "media").rglob("*.*"))
    finally:
        mp.undo()
    assert {p.suffix for p in copied} >= {".png", ".mp4", ".ply", ".wav"}  # generated files live in the store
    return {(model, name): (score, metric, n) for model, name, score, metric, n in rows}


def test_every_media_task_is_scored_perfect_for_the_references_and_worse_for_others(scored) -> None:
    by_spec = {yaml.safe_load((REPO / "specs" / "tasks" / rel).read_text())["name"]: want
               for rel, want in TASKS.items()}
    lower = {"sad", "rms", "absrel", "epe", "cd", "mcd", "rte"}
    for name, want in by_spec.items():
        right, metric, n = scored[("right", name)]
        wrong, _, _ = scored[("wrong", name)]
        assert n == 3 and right is not None and wrong is not None, (name, right, wrong)
        if want is not None:
            assert right == pytest.approx(want, abs=1e-9), (name, metric, right)
        assert (wrong > right) if metric in lower else (wrong < right), (name, metric, right, wrong)
