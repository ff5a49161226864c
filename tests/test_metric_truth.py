"""Differential tests: on generated inputs (arbitrary Unicode text with every kind of whitespace,
combining marks, CJK, RTL and emoji; shuffled prediction files; tied and missing confidence
scores; empty, degenerate and inverted boxes; constant and identical images) glc's scores, read
from a real build of the compiled SQL, equal the reference implementations to 1e-6, and a task
score never depends on the order of the prediction records.

The fast profile runs here (a few batched Hypothesis examples per metric family, each one
build); benchmarks/bench_metric_truth.py runs thousands of cases per metric. Counterexamples
found by either are kept below as explicit regression cases (one batch per family).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from helpers.examples import examples
from helpers.metric_truth import (
    BOX_DECLS,
    CHOICE_DECLS,
    IMAGE_DECLS,
    LABEL_DECLS,
    NUMBER_DECLS,
    TEXT_DECLS,
    BoxCase,
    GlcOracle,
    ImageCase,
    TaskRun,
    TextCase,
    box_cases,
    check_boxes,
    check_choice,
    check_images,
    check_labels,
    check_numbers,
    check_text,
    choice_texts,
    image_cases,
    label_cases,
    number_cases,
    text_cases,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

FAST = settings(max_examples=examples(4), deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def oracle(tmp_path_factory) -> GlcOracle:
    decls = {**TEXT_DECLS, **CHOICE_DECLS, **LABEL_DECLS, **NUMBER_DECLS, **BOX_DECLS, **IMAGE_DECLS}
    return GlcOracle(tmp_path_factory.mktemp("truth"), decls)


@st.composite
def batches(draw: Any, cases: st.SearchStrategy, max_size: int) -> tuple[list, list[int], list[int]]:
    """A batch of cases, a permutation of their prediction records and one of their instance
    ids (so that the data file's order is not the ids' order)."""
    batch = draw(st.lists(cases, min_size=1, max_size=max_size))
    return batch, draw(st.permutations(range(len(batch)))), draw(st.permutations(range(len(batch))))


def _batch(cases: list) -> tuple[list, list[int], list[int]]:
    """An explicit batch: prediction records reversed, ids in reverse data order."""
    n = len(cases)
    return cases, list(range(n))[::-1], list(range(n))[::-1]


def _report(found: list) -> str:
    return "\n".join(str(d) for d in found[:12])


# --- text: EM, token F1, BLEU, ROUGE, ANLS, WER, CER ------------------------------------------

TEXT_REGRESSIONS = [
    TextCase(["\t"], None),  # a tab is whitespace: ANLS strips it, sacrebleu's split drops it
    TextCase(["a\tb"], "a b"),  # jiwer: a lone tab does not separate words
    TextCase(["a  b"], "a b"),  # jiwer's CER keeps repeated spaces
    TextCase(["new\xa0york"], "new york"),  # a no-break space splits tokens in Python
    TextCase(["x -\n"], "x -"),  # sacrebleu rstrip()s a segment before 13a's "-\n" rule
    TextCase(["是a"], "是"),  # SQuAD: "a" glued to a CJK character is no article (Python's \b)
    TextCase(["ña"], "ñ"),  # nor glued to a non-ASCII letter
    TextCase(["a\u0301 x"], "\u0301 x"),  # but it is before a combining mark (not a word character)
    TextCase(["the an a the x"], "x"),  # adjacent articles share a separator
    TextCase(["ΟΔΥΣΣΕΥΣ"], "οδυσσευς"),  # Python lower-cases a word-final sigma to ς
    TextCase(["İ"], "i\u0307"),  # and U+0130 to "i" + U+0307
    TextCase(["ΑΣ.Σ ΑΣ'Β ΑΣ'"], "ασ.ς ασ'β ας'"),  # case-ignorable characters are skipped around a sigma
    TextCase(["ßa"], "ß"),  # the anls package measures lengths after upper(): ß counts 2
    TextCase(["", "x"], ""),  # SQuAD 2.0 drops references that normalize to nothing
    TextCase(["cafe\u0301 ΣΟΦΟΣ 天气"], "café σοφος 天 气"),  # ROUGE tokens keep marks; CJK one by one
    TextCase(["㌦ x"], "x"),  # a CJK symbol (So) is no ROUGE token: only letters, marks, digits are
    TextCase(["&amp;quot; <skipped> 10-20 1,000.5 e.g."], "&quot; 10 - 20 1,000.5"),
]


@FAST
@example(batch=_batch(TEXT_REGRESSIONS))
@given(batch=batches(text_cases(), 12))
def test_text_metrics_agree_with_references(oracle: GlcOracle, batch: tuple[list[TextCase], list[int]]) -> None:
    found = check_text(oracle, *batch)
    assert not found, _report(found)


# --- multiple choice -------------------------------------------------------------------------

CHOICE_REGRESSIONS = [
    ("B", "答案是B"),  # a letter next to Chinese stands alone
    ("B", "ÜB."),  # next to another letter it does not (ASCII \b saw a boundary after Ü)
    ("B", "answers: B"),  # "answers" is not "answer" followed by the letter s
    ("B", "answer is\xa0b"),  # a no-break space is whitespace
    ("C", "I think it is C\u3000"),
]


@FAST
@example(batch=CHOICE_REGRESSIONS)
@given(batch=st.lists(st.tuples(st.sampled_from("ABCDE"), choice_texts()), min_size=1, max_size=20))
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_choice_letters_follow_the_documented_rules(oracle: GlcOracle, batch: list[tuple[str, str]]) -> None:
    found = check_choice(oracle, batch)
    assert not found, _report(found)


# --- labels: micro F1, macro accuracy ---------------------------------------------------------

LABEL_REGRESSIONS = [
    ([], None), (["cat"], None),
    (["ΣΣ"], "σς"),  # str.lower() writes the final sigma
    (["new york"], "New\xa0\xa0York, dog"),  # no-break spaces collapse like spaces
    (["cat", "dog"], "CAT,\u2028dog"),
]


@FAST
@example(batch=_batch(LABEL_REGRESSIONS))
@given(batch=batches(label_cases(), 10))
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_label_metrics_agree_with_sklearn(oracle: GlcOracle, batch: tuple[list, list[int]]) -> None:
    found = check_labels(oracle, *batch)
    assert not found, _report(found)


# --- numbers: MAE, MSE, RMSE, Pearson ---------------------------------------------------------

NUMBER_REGRESSIONS = [
    (0.0, "0.0"), (0.0, "0.0"), (0.0, "0.0"), (1.0, "1.0"),  # CORR's last bits followed the row order
    (2.0, "1e999"),  # overflows to infinity: an invalid number, counted as invalid_value
    # squared errors 1e16, 1, 1 and 0.01 summed in record order lose the small ones one way round
    # and not the other: RMSE's last bits followed the record order (found by Hypothesis)
    (0.0, "100000000"), (0.0, "1"), (0.0, "1"), (0.0, "0.1"),
]
CONSTANT_PREDICTIONS = [(1.0, "0.1"), (2.0, "0.1"), (3.0, "0.1")]  # Pearson undefined: 0


@FAST
@example(batch=_batch(NUMBER_REGRESSIONS))
@example(batch=_batch(CONSTANT_PREDICTIONS))
@given(batch=batches(number_cases(), 10))
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_regression_metrics_agree_with_numpy_scipy(oracle: GlcOracle, batch: tuple[list, list[int]]) -> None:
    found = check_numbers(oracle, *batch)
    assert not found, _report(found)


# --- boxes: IoU, COCO AP ----------------------------------------------------------------------

BOX_REGRESSIONS = [
    # xywh predictions identical to xywh references (task ap_xywh) were read as corners: AP 0
    BoxCase([(0.0, 1.0, 0.5, 1.5), (0.0, 0.0, 0.0, 0.0)], [None, None], [(0.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.5, 1.5)],
            [None, None], [None, None]),
    BoxCase([], [], [], [], []),  # an image without objects was refused
    BoxCase([], [], [(1.0, 1.0, 5.0, 5.0)], [None], [0.5]),  # a false positive on it
    BoxCase([(0.0, 0.0, 4.0, 4.0)], [None], [(4.0, 0.0, 0.0, 4.0), (0.0, 0.0, 4.0, 4.0)], [None, None],
            [0.9, 0.1]),  # an inverted box: ignored by pycocotools while unmatched
    BoxCase([(0.0, 0.0, 4.0, 4.0)], [None], [(0.0, 0.0, 4.0, 4.0)], [None], [0.3], as_text=True),
]
# tied scores on two images whose ids sort against the data-file order: the tie order decides AP
TIED = [BoxCase([(0.0, 0.0, 10.0, 10.0)], [None], [(0.0, 0.0, 10.0, 10.0)], [None], [0.5]),
        BoxCase([(0.0, 0.0, 10.0, 10.0)], [None], [(20.0, 20.0, 30.0, 30.0)], [None], [0.5])]
# with labelled references, a reference box without a label counts nowhere; a box answered as
# text names no label, so it counts nowhere either (shrunk by Hypothesis: the oracle had given it one)
LABELLED = [BoxCase([(0.0, 0.0, 8.0, 8.0), (2.0, 2.0, 6.0, 6.0)], ["car", None],
                    [(0.0, 0.0, 8.0, 8.0), (2.0, 2.0, 6.0, 6.0)], ["car", "person"], [0.5, 0.5]),
            BoxCase([(0.0, 0.0, 5.5, 25.0), (0.0, 0.0, 0.0, 0.0)], ["car", "car"], [(0.0, 0.0, 5.5, 25.0)], ["car"],
                    [None], as_text=True)]


@FAST
@example(batch=_batch(BOX_REGRESSIONS))
@example(batch=_batch(TIED))
@example(batch=_batch(LABELLED))
@given(batch=st.booleans().flatmap(lambda labelled: batches(box_cases(labelled), 6)))
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_box_metrics_agree_with_pycocotools(oracle: GlcOracle, batch: tuple[list[BoxCase], list[int]]) -> None:
    found = check_boxes(oracle, *batch)
    assert not found, _report(found)


def test_references_no_metric_can_score_are_refused(oracle: GlcOracle) -> None:
    """A number reference that is not finite (NaN, infinity) or a box with such a coordinate is
    refused where the data is loaded, naming the instance (a text "inf") or the line (JSON's NaN and
    Infinity, which are no JSON); it never reaches a metric."""
    from glc.importers.scores import ImportErrors

    for key, ref, said in (("mae", float("nan"), ".jsonl:1', message='bad JSON: NaN is not JSON"),
                           ("mae", "inf", "instance 'bad'"),
                           ("miou", [[0, 0, float("inf"), 1]], ".jsonl:1', message='bad JSON: Infinity is not JSON")):
        with pytest.raises(ImportErrors) as err:
            oracle.run({key: TaskRun({"bad": ref}, {"fwd": [("bad", "1")]})})
        assert said in str(err.value.problems), err.value.problems
        assert "instance 'bad'" not in said or "finite" in str(err.value.problems)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_coco_predictions_are_read_like_their_references_by_default(oracle: GlcOracle) -> None:
    """A task that declares only box_format: xywh reads its predictions as xywh too: answers
    equal to the references score 100, and an image without objects answered with none counts
    nowhere (it was refused as a reference)."""
    refs = {"i1": [[10, 10, 20, 5], [0, 0, 4, 4]], "i2": [], "i3": [{"bbox": [5, 5, 1, 1]}]}
    preds = [(i, [{"bbox": b["bbox"] if isinstance(b, dict) else b, "score": 0.5} for b in r]) for i, r in refs.items()]
    got = oracle.run({"ap_coco": TaskRun(refs, {"fwd": preds})})["ap_coco"]
    assert got.score["fwd"] == pytest.approx(100.0, abs=1e-9)


def test_conventions_are_listed_by_glc_ls_metrics(oracle: GlcOracle) -> None:
    import yaml
    from typer.testing import CliRunner

    from glc.cli import app

    def glc(*args: str) -> str:
        done = CliRunner().invoke(app, ["--project-dir", str(oracle.root), "ls", "metrics", *args])
        assert done.exit_code == 0, done.output
        return done.stdout

    spec = yaml.safe_load((oracle.root / "specs" / "metrics" / "ap.yaml").read_text(encoding="utf-8"))
    head, *rows = glc().splitlines()
    cells = {r.split()[0]: r.split() for r in rows}
    assert head.split()[-1] == "conventions" and cells["ap"][-1] == str(len(spec["conventions"])) != "0"
    details = glc("--details").split("\n\n")
    block = next(b for b in details if b.startswith("ap: "))
    assert [line[4:] for line in block.splitlines() if line.startswith("  - ")] == spec["conventions"]
    assert any("Tie order" in c for c in spec["conventions"])


# --- images: PSNR, MS-SSIM --------------------------------------------------------------------


@settings(FAST, max_examples=examples(2))
@given(batch=st.lists(image_cases(), min_size=1, max_size=6))
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_image_metrics_agree_with_skimage_and_sewar(oracle: GlcOracle, batch: list[ImageCase]) -> None:
    found = check_images(oracle, batch)
    assert not found, _report(found)


# --- the facts the text macros rest on --------------------------------------------------------


def _macro_constant(name: str) -> str:
    text = (Path(__file__).resolve().parent.parent / "sql" / "macros" / "answer.sql").read_text(encoding="utf-8")
    found = re.search(r"\{% macro " + name + r"\(\) %\}(.*?)\{% endmacro %\}", text)
    assert found, name
    return found.group(1)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_regex_classes_and_lower_agree_with_python_on_assigned_characters() -> None:
    """The facts sql/macros/answer.sql rests on (docs/metrics.md, 'Unicode version', 'lower
    case'), on every code point Python 3.11 has assigned: RE2's [\\p{L}\\p{N}_] is Python's word
    character (str.isalnum() or "_"); DuckDB's LOWER() is str.lower() except for U+0130 (context
    aside); and the macro classes CASED_ONLY and CASE_IGNORABLE are the characters str.lower()
    treats as cased and as case-ignorable around a capital sigma."""
    import unicodedata

    import duckdb
    import pyarrow as pa

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000 and unicodedata.category(chr(c)) != "Cn"]
    con = duckdb.connect()
    con.register("cp", pa.table({"c": chars}))
    cased, ignorable = _macro_constant("CASED_ONLY"), _macro_constant("CASE_IGNORABLE")
    rows = con.execute(r"SELECT c, regexp_matches(c, '^[\p{L}\p{N}_]$'), lower(c), regexp_matches(c, ?), "
                       "regexp_matches(c, ?) FROM cp", [f"^[{cased}]$", f"^[{ignorable}]$"]).fetchall()
    word = [c for c, w, *_ in rows if w != (c.isalnum() or c == "_")]
    lower = [c for c, _, lo, *_ in rows if lo != c.lower()]
    # a character is case-ignorable when Python skips it looking back from a sigma ("1" is not cased,
    # "Α" is), cased when it ends the word before a sigma
    cased_py = [("1" + c + "Σ").lower()[-1] == "ς" for c, *_ in rows]
    ignorable_py = [("Α" + c + "Σ").lower()[-1] == "ς" and not k for (c, *_), k in zip(rows, cased_py, strict=True)]
    assert word == [] and lower == ["\u0130"]
    assert [r[0] for r, k in zip(rows, cased_py, strict=True) if r[3] != k] == []
    assert [r[0] for r, k in zip(rows, ignorable_py, strict=True) if r[4] != k] == []
