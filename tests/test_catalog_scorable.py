"""Which of the 699 catalog tasks can be scored from predictions: with no evaluator configured, and
with every evaluator the metric specs name configured in profiles.yml (issue 13's target: every task).

The list is computed from the compiled catalog (task types with their overrides say what each
task's dataset will be, so no data tree is needed); docs/metrics.md states the same counts.
"""

from __future__ import annotations

from collections import Counter

from glc.listing import list_rows, unscorable_tasks

# What is still not scorable with every evaluator configured, and why (docs/metrics.md, "Which
# catalog tasks are scorable"). Each entry names the missing piece; the target is an empty dict.
STILL_UNSCORABLE = {
    "audio.imagetospeech": "cider (cider) cannot read a reference of kind audio",
    "audio.pianotoorchestrationgeneration": "e_acc (frame_labels) cannot read a reference of kind audio",
    "audio.popmusicgeneration": "pcc (regression) cannot read a reference of kind audio",
    "image.eeg_based_image_generation": "acc (accuracy) cannot read a reference of kind image",
    **{f"video.{name}": "success_rate (frame_labels) cannot read a reference of kind video" for name in (
        "action_specific_text_to_video_generation", "camera_motion_video_generation",
        "class_conditioned_text_to_video_generation", "color_specific_text_to_video_generation",
        "material_specific_text_to_video_generation", "multi_class_conditioned_text_to_video_generation",
        "spatial_relation_video_generation")},
    "video.video_translation": "frame_acc (frame_labels) cannot read a reference of kind video",
}


def every_evaluator(compiled) -> set[str]:
    return {m.evaluator.name for m in compiled.project.metrics if m.evaluator is not None}


def test_tasks_not_scorable_with_every_evaluator_configured(compiled) -> None:
    assert len(compiled.project.tasks) == 699
    assert unscorable_tasks(compiled, every_evaluator(compiled)) == STILL_UNSCORABLE


def test_counts_per_route_match_the_docs(compiled) -> None:
    everything = every_evaluator(compiled)
    bare = unscorable_tasks(compiled, set())
    from_predictions = [t for t in compiled.project.tasks if t.id not in bare]
    assert len(from_predictions) == 608
    # with no evaluator configured, what is left out names the evaluator it needs
    needs = Counter(why.split(" ", 1)[0] for tid, why in bare.items() if tid not in STILL_UNSCORABLE)
    assert needs == {"needs": 699 - 608 - len(STILL_UNSCORABLE)}
    per_evaluator = Counter(t.metric.evaluator.name for t in compiled.project.tasks
                            if t.id in bare and t.id not in STILL_UNSCORABLE)
    assert sum(per_evaluator.values()) == 699 - 608 - len(STILL_UNSCORABLE)
    assert set(per_evaluator) <= everything
    # judge-estimated human ratings count among the evaluator routes
    assert per_evaluator["mos_judge"] == 4 and per_evaluator["preference_judge"] == 1


def test_ls_metrics_counts_catalog_tasks_and_says_how_each_is_computed(compiled) -> None:
    rows = {r["metric"]: r for r in list_rows(compiled, "metrics")}
    assert sum(r["tasks"] for r in rows.values()) == 699
    assert rows["acc"]["computed_from"] == "predictions"
    assert rows["fid"]["computed_from"] == "needs:inception"
    assert rows["mos"]["computed_from"] == "needs:mos_judge (judge-estimated, not human)"
    assert rows["user_preference"]["computed_from"] == "needs:preference_judge (judge-estimated, not human)"
    assert rows["mos"]["tasks"] == 4 and rows["user_preference"]["tasks"] == 1
