"""Which of the 699 catalog tasks can be scored from predictions: with no evaluator configured, and
with every evaluator the metric specs name configured in profiles.yml (issue 13's target: every task).

The list is computed from the compiled catalog (task types with their overrides say what each
task's dataset will be, so no data tree is needed); docs/metrics.md states the same counts.
"""

from __future__ import annotations

from collections import Counter

import pytest

from glc.cli.listing import list_rows, unscorable_tasks

# What is still not scorable with every evaluator configured, and why (docs/metrics.md, "Which
# catalog tasks are scorable"). Each entry would name the missing piece; the target was an empty
# dict, and it is: E-Acc reads the event recognizer profiles.yml configures (evaluators:
# event_recognizer), PCC of music is glc's chroma correlation (compiler/udfs/chroma.py).
STILL_UNSCORABLE: dict[str, str] = {}
# bound through their type's other_references (labels or text in the record, read by a bundled model)
OTHER_REFERENCE = {
    "image.eeg_based_image_generation": ("label", "hf"), "audio.imagetospeech": ("text", "hf"),
    "audio.pianotoorchestrationgeneration": ("labels", None),  # read by the metric's evaluator (profiles.yml)
    "video.video_translation": ("labels", "command"),
    **{f"video.{name}": ("labels", "command") for name in (
        "action_specific_text_to_video_generation", "camera_motion_video_generation",
        "class_conditioned_text_to_video_generation", "color_specific_text_to_video_generation",
        "material_specific_text_to_video_generation", "multi_class_conditioned_text_to_video_generation",
        "spatial_relation_video_generation")},
}


def every_evaluator(compiled) -> set[str]:
    return {m.evaluator.name for m in compiled.project.metrics if m.evaluator is not None}


def test_tasks_not_scorable_with_every_evaluator_configured(compiled) -> None:
    assert len(compiled.project.tasks) == 699
    assert unscorable_tasks(compiled, every_evaluator(compiled)) == STILL_UNSCORABLE


def test_other_references_bind_labels_or_text_with_their_evaluator(compiled) -> None:
    from glc.compiler.binding import merged_type, reference_for

    from glc.cli.listing import reference_kinds_read

    p = compiled.project
    readable = reference_kinds_read(compiled)
    for t in p.tasks:
        kind, fields, _, route = reference_for(merged_type(p.task_types[t.spec.type], t.spec.overrides),
                                               readable.get(t.spec.metric))
        if t.id in OTHER_REFERENCE:
            assert (kind, route.runner if route else None) == OTHER_REFERENCE[t.id], t.id
        else:  # every other task keeps its type's own reference
            assert kind == p.task_types[t.spec.type].reference.kind, t.id


def test_counts_per_route_match_the_docs(compiled) -> None:
    everything = every_evaluator(compiled)
    bare = unscorable_tasks(compiled, set())
    from_predictions = [t for t in compiled.project.tasks if t.id not in bare]
    assert len(from_predictions) == 619
    # with no evaluator configured, what is left out names the evaluator it needs
    needs = Counter(why.split(" ", 1)[0] for tid, why in bare.items() if tid not in STILL_UNSCORABLE)
    assert needs == {"needs": 699 - 619 - len(STILL_UNSCORABLE)}
    per_evaluator = Counter(t.metric.evaluator.name for t in compiled.project.tasks
                            if t.id in bare and t.id not in STILL_UNSCORABLE)
    assert sum(per_evaluator.values()) == 699 - 619 - len(STILL_UNSCORABLE)
    assert set(per_evaluator) <= everything
    # the counts docs/metrics.md ("Which catalog tasks are scorable") and the README state
    assert per_evaluator == {"clip": 26, "inception": 18, "i2v_composite": 11, "i3d": 5, "clap": 5, "musiq": 3,
                             "vggish": 2, "optical_flow": 1, "dino": 1, "aesthetic": 1, "gpt_judge": 1,
                             "mos_judge": 4, "preference_judge": 1, "event_recognizer": 1}
    assert bare["audio.pianotoorchestrationgeneration"].startswith(
        "needs evaluator:event_recognizer (an audio event / instrument classifier")


def test_ls_metrics_counts_catalog_tasks_and_says_how_each_is_computed(compiled) -> None:
    rows = {r["metric"]: r for r in list_rows(compiled, "metrics")}
    assert sum(r["tasks"] for r in rows.values()) == 699
    assert rows["acc"]["computed_from"] == "predictions"
    assert rows["fid"]["computed_from"] == "needs:inception"
    assert rows["mos"]["computed_from"] == "needs:mos_judge (judge-estimated, not human)"
    assert rows["user_preference"]["computed_from"] == "needs:preference_judge (judge-estimated, not human)"
    assert rows["mos"]["tasks"] == 4 and rows["user_preference"]["tasks"] == 1
    assert rows["e_acc"]["computed_from"] == "needs:event_recognizer" and rows["e_acc"]["tasks"] == 1
    assert rows["pcc"]["computed_from"] == "predictions" and rows["pcc"]["implementation"] == "correlation"


def test_bound_data_reads_the_other_reference_and_its_route(tmp_path, monkeypatch) -> None:
    """On a General-Bench tree, the tasks above bind the record's labels / caption / class with the
    type's route for them; the other generation tasks keep the reference file and no route."""
    from helpers.gb_tree import write_tree
    from helpers.metric_project import new_project

    from glc.workspace import Workspace

    names = ["Class-Conditioned Text to Video Generation", "Video Translation", " EEG-based Image Generation",
             "ImageToSpeech", "PianoToOrchestrationGeneration", "PopMusicGeneration", "Video Frame Interpolation"]
    tree = tmp_path / "gb"
    write_tree(tree, tasks=names)
    root = new_project(tmp_path / "p", small=False)
    monkeypatch.setenv("GLC_DATA", str(tree))
    p = Workspace(root, benchmark="general-bench").compile(write=False).project
    got = {t.id: (t.spec.dataset.reference, t.spec.dataset.reference_fields[0],
                  t.spec.inference.evaluator.runner if t.spec.inference.evaluator else None)
           for t in p.tasks if p.binding is not None and t.id in p.binding.bound}
    assert got == {
        "video.class_conditioned_text_to_video_generation": ("labels", "output.labels", "command"),
        "video.video_translation": ("labels", "output.labels", "command"),
        "image.eeg_based_image_generation": ("label", "output.label", "hf"),
        "audio.imagetospeech": ("text", "output.caption", "hf"),
        "audio.pianotoorchestrationgeneration": ("labels", "output.events", None),
        "audio.popmusicgeneration": ("audio", "output.audio", None),
        "video.video_frame_interpolation": ("video", "output.video", None),
    }
    # E-Acc's events are a sequence: bound in the record's order with repeats; other labels are sets
    assert {t.id for t in p.tasks if p.binding is not None and t.id in p.binding.bound
            and t.spec.dataset.labels_in_order} == {"audio.pianotoorchestrationgeneration"}
    # the frame-label route is one profiles.yml grants (the bundled classifier tool)
    route = next(t for t in p.tasks if t.id == "video.video_translation").spec.inference.evaluator
    assert route.args["argv"][1:3] == ["-m", "glc.runners.tools.frame_labels"]


@pytest.mark.slow
def test_eeg_image_accuracy_scored_by_the_bundled_classifier(tmp_path, monkeypatch) -> None:
    """End to end on a General-Bench tree: EEG-based image generation binds the record's class
    label, the bundled EfficientNet-Lite0 (hf image-classification) names each generated image's
    class, and acc compares the two; relabelling one record with what the classifier saw scores
    exactly that instance."""
    import json
    import shutil

    from helpers.gb_tree import write_tree
    from helpers.metric_project import new_project, sql_rows, write_predictions

    from glc.workspace import Workspace

    tree = tmp_path / "gb"
    info = write_tree(tree, tasks=[" EEG-based Image Generation"])
    folder = tree / info.tasks[0].folder
    root = new_project(tmp_path / "p", small=False)
    monkeypatch.setenv("GLC_DATA", str(tree))
    doc = json.loads((folder / "annotation.json").read_text())
    tid = "image.eeg_based_image_generation"
    preds = []
    for rec in doc["data"]:
        gen = root / "gen" / f"{rec['id']}.png"
        gen.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / rec["output"]["image"], gen)
        preds.append((rec["id"], str(gen)))
    write_predictions(root / "preds.jsonl", "m", tid, preds)
    ws = Workspace(root, benchmark="general-bench")
    imported = ws.import_predictions(root / "preds.jsonl")
    result = ws.run()
    assert result.inference is not None, (imported, result)
    assert result.inference.judged == len(doc["data"]), result.inference.describe()
    read = dict(sql_rows(ws, "SELECT instance_id, output FROM judgments WHERE task_id = ? AND error IS NULL", tid))
    assert set(read) == {r["id"] for r in doc["data"]} and all(read.values())
    first = doc["data"][0]
    assert sql_rows(ws, "SELECT score FROM task_scores WHERE task_id = ? AND model = 'm'", tid)[0][0] == 0.0 \
        or any(read[r["id"]].lower() == r["output"]["label"] for r in doc["data"])
    for r in doc["data"]:
        r["output"]["label"] = read[r["id"]] if r is first else "not an imagenet class"
    (folder / "annotation.json").write_text(json.dumps(doc))
    ws.run()
    score = sql_rows(ws, "SELECT score FROM task_scores WHERE task_id = ? AND model = 'm'", tid)[0][0]
    assert score == pytest.approx(100 / len(doc["data"]))


def test_the_plan_groups_the_catalog_tasks_waiting_for_an_evaluator(compiled) -> None:
    """``glc compile`` of the catalog with no evaluator configured: one line per missing setting with
    how many tasks wait for it, not one line per task with no model (it printed 80 "None · ..." lines)."""
    import re

    from glc.execute.inference import Plan, not_scorable
    from glc.execute.progress import describe_plan

    waiting = not_scorable(compiled.project)
    text = describe_plan(Plan([], [("some-model", "nlp.some_task")], not_scorable=waiting))
    assert "None" not in text
    lines = text.splitlines()
    assert lines[0] == "inference jobs: 0 predictions to run, 1 (model, task) pairs without a route (scored 0)"
    assert lines[1] == (f"  not scorable from predictions: {len(waiting)} tasks (until its evaluator is set, a "
                        "model with predictions there scores 0; one with an imported score and no predictions keeps "
                        "that score; `glc ls tasks` lists what each task needs)")
    groups = [re.fullmatch(r"    (\d+) tasks?: (.*) \((.*)\)", line) for line in lines[2:]]
    assert all(groups) and len(groups) == len(set(waiting.values()))
    counts = [int(g.group(1)) for g in groups if g]
    assert sum(counts) == len(waiting) and counts == sorted(counts, reverse=True)
    for g in groups:
        assert g is not None
        why, shown = g.group(2), g.group(3)
        ids = sorted(t for t, w in waiting.items() if w == why)
        assert len(ids) == int(g.group(1))
        first = ", ".join(ids[:3])
        assert shown == (first if len(ids) <= 3 else f"{first} and {len(ids) - 3} more")
    # the catalog's own figure, so the grouping shows what it is for
    assert len(waiting) == 80 and "20 tasks: clip_score needs evaluator 'clip'" in text
