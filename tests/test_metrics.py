"""Every metric of the library, computed by glc from instance rows in DuckDB, equals an
independent reference implementation (sacrebleu, rouge_score, pycocotools, jiwer,
scikit-learn, scipy, scikit-image, sewar, the SQuAD evaluation rules) to 1e-6, on a corpus
with unicode, empty strings and ties."""

from __future__ import annotations

import collections
import re
import string

import duckdb
import numpy as np
import pytest
from helpers.metric_cases import ASCII, BOXES, CHOICES, CLASSES, DETECTIONS, LABELS, NUMBERS, TEXT, write_images
from helpers.metric_project import add_task, new_project, write_predictions

from glc.workspace import Workspace


def _normalize_squad(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def _squad_f1(pred: str, gold: str) -> float:
    p, g = _normalize_squad(pred).split(), _normalize_squad(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((collections.Counter(p) & collections.Counter(g)).values())
    if common == 0:
        return 0.0
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def _lev(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict[str, dict]:
    root = new_project(tmp_path_factory.mktemp("metrics"))
    preds = root / "preds.jsonl"
    text_items = [(i, {"q": i}, [r]) for i, r, _ in TEXT]
    text_preds = [(i, p) for i, _, p in TEXT]
    ascii_items = [(i, {"q": i}, [r]) for i, r, _ in ASCII]
    ascii_preds = [(i, p) for i, _, p in ASCII]
    for metric in ("acc", "f1", "bleu1", "bleu4", "anls"):
        write_predictions(preds, "m", add_task(root, metric, "text", text_items), text_preds)
    for metric in ("rouge1", "rouge_l", "wer", "cer"):
        write_predictions(preds, "m", add_task(root, metric, "text", ascii_items), ascii_preds)
    cjk = [("u1", "天气很好", "天气很好"), ("u2", "天气很好", "天气好"), ("u3", "naïve café", "Naïve Café")]
    tid = add_task(root, "rouge_l", "text", [(i, {}, [r]) for i, r, _ in cjk], suffix="_cjk")
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in cjk])
    tid = add_task(root, "em1", "choice", [(i, {}, r) for i, r, _ in CHOICES])
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in CHOICES])
    tid = add_task(root, "micro_f1", "labels", [(i, {}, r) for i, r, _ in LABELS])
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in LABELS])
    tid = add_task(root, "macro_acc", "label", [(i, {}, r) for i, r, _ in CLASSES])
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in CLASSES])
    for metric in ("mae", "mse", "rmse", "pcc"):
        tid = add_task(root, metric, "number", [(i, {}, r) for i, r, _ in NUMBERS])
        write_predictions(preds, "m", tid, [(i, p) for i, _, p in NUMBERS])
    tid = add_task(root, "miou", "boxes", [(i, {}, r) for i, r, _ in BOXES], modality="image",
                   paradigm="comprehension")
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in BOXES])
    for metric in ("ap50", "ap"):
        tid = add_task(root, metric, "boxes", [(i, {}, r) for i, r, _ in DETECTIONS], modality="image",
                       paradigm="comprehension")
        write_predictions(preds, "m", tid, [(i, p) for i, _, p in DETECTIONS])
    images = write_images(root)
    for metric in ("psnr", "ms_ssim"):
        tid = add_task(root, metric, "image", [(i, {}, r) for i, r, _ in images], modality="image",
                       paradigm="generation", sota=0.5)
        write_predictions(preds, "m", tid, [(i, p) for i, _, p in images])
    ws = Workspace(root)
    ws.import_predictions(preds)
    ws.run()
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        rows = con.execute("SELECT task_id, score, n_instances, n_scored, source FROM task_scores "
                           "WHERE model = 'm'").fetchall()
    finally:
        con.close()
    return {r[0].split(".t_")[1]: {"score": r[1], "n": r[2], "scored": r[3], "source": r[4],
                                   "images": images, "root": root} for r in rows}


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_exact_match_squad(scores) -> None:
    want = 100 * np.mean([float(_normalize_squad(p) == _normalize_squad(r)) for _, r, p in TEXT])
    assert scores["acc"]["score"] == pytest.approx(want, abs=1e-6)
    assert scores["acc"]["source"] == "predictions" and scores["acc"]["n"] == len(TEXT)


def test_token_f1_squad(scores) -> None:
    want = 100 * np.mean([_squad_f1(p, r) for _, r, p in TEXT])
    assert scores["f1"]["score"] == pytest.approx(want, abs=1e-6)


def test_choice_letter_extraction(scores) -> None:
    # c1 B, c2 C, c3 D, c4 A right; c5 empty, c6 "I think it is B" -> B right, c7 b -> B wrong (ref C), c8 A right
    assert scores["em1"]["score"] == pytest.approx(100 * 6 / 8, abs=1e-9)


@pytest.mark.parametrize("order", [1, 4])
def test_bleu_sacrebleu(scores, order: int) -> None:
    from sacrebleu.metrics import BLEU

    ref = BLEU(max_ngram_order=order, smooth_method="none", tokenize="13a")
    want = ref.corpus_score([p for _, _, p in TEXT], [[r for _, r, _ in TEXT]]).score
    assert scores[f"bleu{order}"]["score"] == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("kind", ["rouge1", "rougeL"])
def test_rouge_rouge_score(scores, kind: str) -> None:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer([kind], use_stemmer=False)
    want = 100 * np.mean([scorer.score(r, p)[kind].fmeasure for _, r, p in ASCII])
    assert scores["rouge1" if kind == "rouge1" else "rouge_l"]["score"] == pytest.approx(want, abs=1e-6)


def test_rouge_keeps_cjk_where_rouge_score_drops_it(scores) -> None:
    from rouge_score import rouge_scorer

    assert rouge_scorer.RougeScorer(["rougeL"]).score("天气很好", "天气很好")["rougeL"].fmeasure == 0.0
    # glc: one token per CJK character, accented words kept
    f1_cjk = 2 * 3 / (3 + 4)  # 天气好 vs 天气很好: LCS 3
    assert scores["rouge_l_cjk"]["score"] == pytest.approx(100 * (1.0 + f1_cjk + 1.0) / 3, abs=1e-9)


def test_anls(scores) -> None:
    def anls(p: str, r: str) -> float:
        a, b = p.strip().lower(), r.strip().lower()
        nl = _lev(a, b) / max(len(a), len(b), 1)
        return 1 - nl if nl < 0.5 else 0.0
    want = 100 * np.mean([anls(p, r) for _, r, p in TEXT])
    assert scores["anls"]["score"] == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("metric", ["wer", "cer"])
def test_wer_cer_jiwer(scores, metric: str) -> None:
    import jiwer

    fn = jiwer.wer if metric == "wer" else jiwer.cer
    want = 100 * fn([r for _, r, _ in ASCII], [p for _, _, p in ASCII])
    assert scores[metric]["score"] == pytest.approx(want, abs=1e-6)


def test_micro_f1_sklearn(scores) -> None:
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    gold = [{x.lower() for x in r} for _, r, _ in LABELS]
    pred = [{x.strip().lower() for x in p.split(",") if x.strip()} for _, _, p in LABELS]
    mlb = MultiLabelBinarizer().fit(gold + pred)
    want = 100 * f1_score(mlb.transform(gold), mlb.transform(pred), average="micro")
    assert scores["micro_f1"]["score"] == pytest.approx(want, abs=1e-6)


def test_macro_accuracy_sklearn(scores) -> None:
    from sklearn.metrics import balanced_accuracy_score

    want = 100 * balanced_accuracy_score([r for _, r, _ in CLASSES], [p for _, _, p in CLASSES])
    assert scores["macro_acc"]["score"] == pytest.approx(want, abs=1e-6)


def test_regression_sklearn_scipy(scores) -> None:
    from scipy.stats import pearsonr
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    y = [r for _, r, _ in NUMBERS]
    p = [3.0, -2.5, 0.0, 0.25, 7.25]  # first number of each prediction; none -> invalid_value 0
    assert scores["mae"]["score"] == pytest.approx(mean_absolute_error(y, p), abs=1e-6)
    assert scores["mse"]["score"] == pytest.approx(mean_squared_error(y, p), abs=1e-6)
    assert scores["rmse"]["score"] == pytest.approx(np.sqrt(mean_squared_error(y, p)), abs=1e-6)
    assert scores["pcc"]["score"] == pytest.approx(100 * pearsonr(y, p)[0], abs=1e-6)


def _xywh(b: list[float]) -> list[float]:
    return [b[0], b[1], b[2] - b[0], b[3] - b[1]]


def test_box_iou_pycocotools(scores) -> None:
    from pycocotools import mask

    vals = []
    for _, r, p in BOXES:
        if p is None:
            vals.append(0.0)
            continue
        pb = p if isinstance(p, list) else [float(x) for x in re.findall(r"\d+", p)[:4]]
        vals.append(float(mask.iou([_xywh(pb)], [_xywh(r)], [0])[0][0]))
    assert scores["miou"]["score"] == pytest.approx(100 * np.mean(vals), abs=1e-6)


def test_ap_pycocotools(scores) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "x"}]}
    dt = []
    for k, (_, refs, preds) in enumerate(DETECTIONS, start=1):
        gt["images"].append({"id": k, "width": 200, "height": 200})
        for g in refs:
            box = _xywh(g["bbox"])
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": k, "category_id": 1,
                                      "bbox": box, "area": box[2] * box[3], "iscrowd": 0})
        dt += [{"image_id": k, "category_id": 1, "bbox": _xywh(d["bbox"]), "score": d["score"]} for d in preds]
    coco = COCO()
    coco.dataset = gt
    coco.createIndex()
    ev = COCOeval(coco, coco.loadRes(dt), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert scores["ap"]["score"] == pytest.approx(100 * ev.stats[0], abs=1e-6)
    assert scores["ap50"]["score"] == pytest.approx(100 * ev.stats[1], abs=1e-6)


def test_psnr_skimage_and_ms_ssim_sewar(scores) -> None:
    import warnings

    from PIL import Image
    from sewar.full_ref import msssim
    from skimage.metrics import peak_signal_noise_ratio

    root = scores["psnr"]["root"]
    psnrs, msssims = [], []
    for _, ref, pred in scores["psnr"]["images"]:
        a = np.asarray(Image.open(root / "data" / ref))
        b = np.asarray(Image.open(pred))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = peak_signal_noise_ratio(a, b, data_range=255)
            psnrs.append(min(v, 100.0))  # glc caps identical images at 100 dB
            msssims.append(np.mean([msssim(a[:, :, c], b[:, :, c], MAX=255) for c in range(3)]))
    assert scores["psnr"]["score"] == pytest.approx(np.mean(psnrs), abs=1e-6)
    assert scores["ms_ssim"]["score"] == pytest.approx(np.mean(msssims), abs=1e-6)


def test_accuracy_scoring_compiles_no_regex_per_reference(tmp_path) -> None:
    """The option texts of a choice instance are normalized once, in instance_refs (ref_options), not
    in a list lambda of the scoring statement: every regular expression there is compiled again each
    time a model is scored (at binding and for each thread), on no choice instance too."""
    import sqlglot
    from glc.compiler.plan import compile_project
    from helpers.project import copy_project
    from sqlglot import exp

    compiled = compile_project(copy_project(tmp_path, small=True))
    metrics = [m.name for m in compiled.project.metrics if m.implementation and m.implementation.macro == "accuracy"]
    assert metrics
    for name in metrics:
        scoring = sqlglot.parse_one(compiled.node(f"instance_scores__{name}").sql, dialect="duckdb")
        in_lambdas = [f for lam in scoring.find_all(exp.Lambda) for f in lam.find_all(exp.RegexpReplace)]
        assert not in_lambdas, f"instance_scores__{name} normalizes list elements with {len(in_lambdas)} regexes"
        refs = sqlglot.parse_one(compiled.node(f"instance_refs__{name}").sql, dialect="duckdb")
        assert "ref_options" in refs.named_selects


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_scoring_normalizes_each_answer_once(tmp_path) -> None:
    """Accuracy and token F1 normalize the answer once per scoring statement: the normalization's
    Unicode-class regular expressions (final sigma, articles) appear as often as normalize_answer
    writes them, not once more for the option text of a choice (accuracy) or for the empty answer
    (token F1). Each copy is compiled at binding and again for each thread, whatever the rows: most
    of what scoring one more model took."""
    import sqlglot
    from glc.compiler.plan import compile_project
    from helpers.project import copy_project
    from sqlglot import exp

    compiled = compile_project(copy_project(tmp_path, small=True))
    metrics = [m for m in compiled.project.metrics
               if m.implementation and m.implementation.macro in ("accuracy", "token_f1")]
    assert {m.implementation.macro for m in metrics} == {"accuracy", "token_f1"}
    for metric in metrics:
        answer = metric.implementation.answer
        scoring = sqlglot.parse_one(compiled.node(f"instance_scores__{metric.name}").sql, dialect="duckdb")
        patterns = collections.Counter(
            f.expression.name for f in scoring.find_all(exp.RegexpReplace) if isinstance(f.expression, exp.Literal))
        sigma = [p for p in patterns if "Σ" in p]
        articles = [p for p in patterns if "(?:a|an|the)" in p]
        assert [patterns[p] for p in sigma] == ([1] if answer.lowercase else []), metric.name
        assert [patterns[p] for p in articles] == ([2] if answer.remove_articles else []), metric.name
