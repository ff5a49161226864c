"""Metrics read by an evaluator (success_rate, frame_acc, e_acc): the evaluator turns each generated
file into labels per frame (or per event), stored in ``judgments``; SQL scores them against the
reference labels.

End to end with a real classifier: a command-runner "generator" writes GIF videos whose frames are
scikit-image photos (cat, coffee, rocket) chosen by the prompt, and the evaluator is
``python -m glc.runners.tools.frame_labels`` (the bundled EfficientNet-Lite0 on every frame)
through the command runner. The per-reading arithmetic is checked against plain formulas on
generated readings (numpy means, scikit-learn's accuracy_score for event sequences).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from glc.compiler.udfs import readings
from helpers.examples import examples
from helpers.metric_project import add_task, allow_command, model_spec, new_project, sql_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from glc.workspace import Workspace

GENERATE = ["{{ python }}", "-c",
            "import sys\nfrom PIL import Image\nfrom skimage import data\n"
            "pick = {'cat': data.chelsea, 'coffee': data.coffee, 'rocket': data.rocket}\n"
            "arrays = [pick[w]().copy() for w in sys.argv[1].split()]\n"
            "for k, a in enumerate(arrays):\n    a[:4, :4] = 60 * k  # frames differ: GIF merges identical frames\n"
            "frames = [Image.fromarray(a) for a in arrays]\n"
            "frames[0].save(sys.argv[2], format='GIF', save_all=True, append_images=frames[1:], duration=100)\n",
            "{{ prompt }}", "{{ output }}"]
FRAME_LABELS = ["{{ python }}", "-m", "glc.runners.tools.frame_labels", "{{ media.output }}"]
# an evaluator of "audio" that reads the event names the generator wrote into the file (a script:
# no event recognizer ships offline); the route and the arithmetic are what it checks
WRITE_EVENTS = ["{{ python }}", "-c", "import sys; open(sys.argv[2], 'w').write(sys.argv[1])", "{{ prompt }}",
                "{{ output }}"]
READ_EVENTS = ["{{ python }}", "-c",
               "import json, sys; print(json.dumps([[w] for w in open(sys.argv[1]).read().split()]))",
               "{{ media.output }}"]

VIDEOS = [  # (id, prompt: one photo per frame, reference label)
    ("v1", "cat cat cat", "Egyptian cat"),
    ("v2", "cat coffee coffee", "egyptian  CAT"),
    ("v3", "coffee", "espresso"),
    ("v4", "rocket", "Egyptian cat"),
]
SEEN = {"cat": "egyptian cat", "coffee": "espresso"}  # EfficientNet-Lite0's top-1 class of the two photos


def _task(root: Path, metric: str, items: list[tuple[str, str, Any]], evaluator: list[str] | None,
          output: str = "video", suffix: str = "", reference: str = "label") -> str:
    tid = add_task(root, metric, reference, [(i, {"prompt": p}, r) for i, p, r in items], modality="video",
                   paradigm="generation", suffix=suffix)
    path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["inference"] = {"type": "generation", "prompt": "{{ input.prompt }}", "output": output}
    if evaluator is not None:
        spec["inference"]["evaluator"] = {"runner": "command", "args": {"argv": evaluator, "timeout_s": 600}}
        allow_command(root, evaluator)
    path.write_text(yaml.safe_dump(spec))
    return tid


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = new_project(tmp_path_factory.mktemp("readings"))
    tids = {
        "success_rate": _task(root, "success_rate", VIDEOS, FRAME_LABELS),
        "frame_acc": _task(root, "frame_acc", VIDEOS, FRAME_LABELS),
        "bare": _task(root, "success_rate", VIDEOS[:2], None, suffix="_bare"),
        "numbers": _task(root, "success_rate", [("n1", "cat", 3)], FRAME_LABELS, suffix="_numbers", reference="number"),
        "e_acc": _task(root, "e_acc", [("m1", "violin flute violin", "violin, flute, cello"),
                                       ("m2", "flute", ["flute", "horn"]), ("m3", "horn", "violin")],
                       READ_EVENTS, output="audio", reference="text"),
    }
    allow_command(root, GENERATE)
    allow_command(root, WRITE_EVENTS)
    model_spec(root, "gen", [{"match": {"tasks": [tids["e_acc"]]}, "runner": "command",
                              "args": {"argv": WRITE_EVENTS, "result": "file"}},
                             {"runner": "command", "args": {"argv": GENERATE, "result": "file", "timeout_s": 300}}])
    ws = Workspace(root)
    ws.run()
    scores = dict(sql_rows(ws, "SELECT task_id, score FROM task_scores WHERE model = 'gen'"))
    judged = dict(sql_rows(ws, "SELECT instance_id, output FROM judgments WHERE task_id = ?", tids["success_rate"]))
    return {"root": root, "ws": ws, "tids": tids, "scores": scores, "judged": judged}


@pytest.mark.slow
def test_efficientnet_reads_the_frames(project: dict[str, Any]) -> None:
    for iid, prompt, _ in VIDEOS:
        frames = json.loads(project["judged"][iid])
        assert len(frames) == len(prompt.split())
        for word, labels in zip(prompt.split(), frames, strict=True):
            if word in SEEN:
                assert SEEN[word] in {x.lower() for x in labels}
            else:
                assert "egyptian cat" not in {x.lower() for x in labels}


@pytest.mark.slow
def test_success_rate_pools_frames_as_vbench(project: dict[str, Any]) -> None:
    hits, frames = [3, 1, 1, 0], [3, 3, 1, 1]
    assert project["scores"][project["tids"]["success_rate"]] == pytest.approx(100 * sum(hits) / sum(frames))


@pytest.mark.slow
def test_frame_acc_averages_videos(project: dict[str, Any]) -> None:
    per_video = [1.0, 1 / 3, 1.0, 0.0]
    assert project["scores"][project["tids"]["frame_acc"]] == pytest.approx(100 * np.mean(per_video), abs=1e-9)


@pytest.mark.slow
def test_event_accuracy_through_a_scripted_evaluator(project: dict[str, Any]) -> None:
    from sklearn.metrics import accuracy_score

    # m1: violin flute violin vs violin flute cello; m2: flute vs flute horn; m3: horn vs violin
    truth = ["violin", "flute", "cello", "flute", "horn", "violin"]
    read = ["violin", "flute", "violin", "flute", "-", "horn"]
    assert project["scores"][project["tids"]["e_acc"]] == pytest.approx(100 * accuracy_score(truth, read))


@pytest.mark.slow
def test_a_task_without_evaluator_is_not_scored_and_says_what_it_needs(project: dict[str, Any]) -> None:
    from glc.cli.listing import describe_missing_evaluators, list_rows

    ws, tid = project["ws"], project["tids"]["bare"]
    assert tid not in project["scores"] or project["scores"][tid] is None  # no silent 0
    assert sql_rows(ws, "SELECT COUNT(*) FROM predicted_scores WHERE task_id = ?", tid) == [(0,)]
    compiled = ws.compile(write=False)
    text = describe_missing_evaluators(compiled)
    assert tid in text and "success_rate" in text and "frame_labels" in text and "inference.evaluator" in text
    assert text.startswith("1 task not scored") and f"{project['tids']['success_rate']}\n" not in text
    scored = {r["task_id"]: r["scored"] for r in list_rows(compiled, "tasks")}
    assert scored[tid] is False and scored[project["tids"]["success_rate"]] is True
    # a reference the reading cannot be compared with is named too
    assert f"success_rate: {project['tids']['numbers']} (number)" in text and "overrides.reference" in text
    from typer.testing import CliRunner

    from glc.cli import app

    done = CliRunner().invoke(app, ["--project-dir", str(project["root"]), "compile"])
    assert done.exit_code == 0, done.output
    assert "1 task not scored: the metric reads what an evaluator sees" in done.output and tid in done.output


# --- the reading arithmetic on generated readings ------------------------------------------

LABEL = st.sampled_from(["cat", "Cat ", "dog", "espresso", "tabby cat", "ñu", "狗", " "])
FRAME = st.lists(LABEL, max_size=3)


def _norm(x: str) -> str:
    return " ".join(x.lower().split())


@settings(max_examples=examples(200), deadline=None)
@given(frames=st.lists(FRAME, max_size=6), refs=st.lists(LABEL, min_size=1, max_size=3),
       match=st.sampled_from(["all", "any", "sequence"]), empty=st.sampled_from([0.0, 16.0]))
def test_generated_readings(frames: list[list[str]], refs: list[str], match: str, empty: float) -> None:
    got = readings.frame_label_hits(json.dumps(frames), refs, match, empty)
    sets = [{_norm(x) for x in f if _norm(x)} for f in frames]
    if match == "sequence":
        from sklearn.metrics import accuracy_score

        events = [_norm(x) for x in (refs[0].split(",") if len(refs) == 1 else refs) if _norm(x)]
        if not events:
            assert got is None
            return
        read = [e if k < len(sets) and e in sets[k] else "\0" for k, e in enumerate(events)]
        assert got == {"hits": pytest.approx(accuracy_score(events, read) * len(events)),
                       "frames": float(len(events))}
        return
    want = {_norm(x) for x in refs if _norm(x)}
    if not want:
        assert got is None
        return
    if not frames:
        assert got == {"hits": 0.0, "frames": empty}
        return
    ok = np.array([want.issubset(s) if match == "all" else bool(want & s) for s in sets])
    assert got == {"hits": float(ok.sum()), "frames": float(len(frames))}


def test_reading_forms() -> None:
    f = readings.frames_of
    assert f('[["Cat", "tabby  cat"], "dog", {"labels": ["x"]}, 3]') == [{"cat", "tabby cat"}, {"dog"}, {"x"}, set()]
    assert f('{"frames": [["a"]]}') == [{"a"}] and f("cat, Dog ,") == [{"cat", "dog"}]
    assert f("") == [] and f(None) == [] and f("42") == [] and f('"espresso"') == [{"espresso"}]
    assert readings.frame_label_hits("not json at all", ["cat"], "any", 16.0) == {"hits": 0.0, "frames": 1.0}
    assert readings.frame_label_hits("", ["cat"], "all", 16.0) == {"hits": 0.0, "frames": 16.0}
    assert readings.frame_label_hits("", ["a, b"], "sequence", 16.0) == {"hits": 0.0, "frames": 2.0}


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_ls_metrics_details_names_what_the_evaluator_must_read(tmp_path: Path) -> None:
    from glc.compiler.plan import compile_project
    from helpers.project import copy_project

    from glc.cli.listing import render_metric_details

    text = render_metric_details(compile_project(copy_project(tmp_path / "p", small=True), benchmark="general-bench"))
    block = text.split("success_rate: ")[1].split("\n\n")[0]
    assert "scores an evaluator's reading: the labels a detector" in block and "match=all" in block
    assert "scores an evaluator's reading" not in text.split("codebleu: ")[1].split("\n\n")[0]
