"""Differential test: for every metric of the library (enumerated from specs/metrics/, so a metric
added there is covered without touching this file), the task score the compiled SQL computes from
a task's instance rows is bit-identical whatever order the rows arrive in.

A prediction file's record order reaches a metric's aggregate as the order of its instance rows
(joins and threads reorder them further); a float AVG or SUM adds in that order, so the last bits
of a task score could follow the file. Here the instance rows of one (model, task) are generated
per metric implementation (values with ties, NULLs, fractional and wide values; integer count
stats; corpus payloads with tied and missing confidence scores) and written in two orders (a
Hypothesis permutation, and reversed) into the metric's ``instance_scores__<metric>`` table of an
in-memory store; the compiled ``predicted_scores`` query runs on one thread, so its aggregates see
the rows in table order. The scores must be the same double (NaN equal to NaN).

The end-to-end counterpart (a prediction file imported in two record orders and built) runs for
the text, label, number and box metrics in tests/test_metric_truth.py (``_orders_agree``).
Counterexamples are kept below as explicit regression cases (ORDER_REGRESSIONS).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
import yaml
from glc.compiler.contracts import quote_ident
from glc.compiler.plan import CompiledProject, compile_project
from glc.compiler.udfs.registry import register
from helpers.examples import examples
from helpers.project import REPO, copy_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from glc.engine.build import build
from glc.engine.store import ensure_store

# examples(6): the README's command runs 6 per metric, the fast tier a tenth, but at least 2: Hypothesis'
# first example is the minimal one (a single row, which has one order), the second a random batch
FAST = settings(max_examples=examples(6, at_least=2), deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

#: every metric spec of the library: name -> (macro, args)
METRICS: dict[str, tuple[str, dict[str, Any]]] = {}
for _path in sorted((REPO / "specs" / "metrics").glob("*.yaml")):
    _spec = yaml.safe_load(_path.read_text(encoding="utf-8"))
    if _spec.get("implementation"):
        METRICS[_spec["name"]] = (_spec["implementation"]["macro"], _spec["implementation"].get("args") or {})

Row = tuple[bool, float | None, Any, str | None]  # scored, value, stats (a dict: the named STRUCT), payload

# --- instance rows per metric implementation -------------------------------------------------

#: fractions whose float sums depend on the order they are added in ((0.1 + 0.2) + 0.3 != 0.1 + (0.2 + 0.3))
TIES = [0.0, 1.0, 0.1, 0.2, 0.3, 0.5, 1 / 3, 2 / 3, 0.7]
UNIT = st.sampled_from(TIES) | st.floats(0.0, 1.0)
WIDE = st.sampled_from([0.0, 0.1, 0.3, 1e-9, 12.5, 1e6]) | st.floats(0.0, 1e12)
SIGNED = st.sampled_from([0.0, -0.1, 0.3, 2.5, -1e6]) | st.floats(-1e9, 1e9)
COUNT = st.integers(0, 40)


def _maybe(s: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | s | s | s


def values(v: st.SearchStrategy, nullable: bool = True) -> st.SearchStrategy[Row]:
    """A row whose aggregate reads ``value``."""
    return st.tuples(st.booleans(), _maybe(v) if nullable else v, st.none(), st.none())


@st.composite
def bleu_stats(draw: Any, n: int) -> Row:
    totals = [draw(COUNT) for _ in range(n)]
    matches = [draw(st.integers(0, t)) for t in totals]
    fields = {f"matches_{k + 1}": float(m) for k, m in enumerate(matches)}
    fields |= {f"totals_{k + 1}": float(t) for k, t in enumerate(totals)}
    return True, None, fields | {"hyp_len": float(draw(COUNT)), "ref_len": float(draw(COUNT))}, None


@st.composite
def count_stats(draw: Any, names: tuple[str, ...]) -> Row:
    return True, None, {n: float(draw(COUNT)) for n in names}, None


@st.composite
def frame_hits(draw: Any) -> Row:
    frames = draw(COUNT)
    hits = draw(st.integers(0, frames))
    return True, (hits / frames if frames else 0.0), {"hits": float(hits), "frames": float(frames)}, None


@st.composite
def pq_stats(draw: Any) -> Row:
    tp, fp, fn = draw(COUNT), draw(COUNT), draw(COUNT)
    iou_sum = sum(draw(st.lists(UNIT, min_size=tp, max_size=tp)))
    den = tp + 0.5 * fp + 0.5 * fn
    return True, (iou_sum / den if den else None), {"iou_sum": iou_sum, "true_positives": float(tp),
                                                     "false_positives": float(fp), "false_negatives": float(fn)}, None


@st.composite
def number_pair(draw: Any) -> Row:
    return True, None, {"predicted": draw(SIGNED), "reference": draw(SIGNED)}, None


@st.composite
def rmse_row(draw: Any) -> Row:
    # a task's references are of one kind: numbers give stats, images a value (an RMS difference)
    return draw(number_pair()) if draw(st.booleans()) else (True, draw(_maybe(WIDE)), None, None)


@st.composite
def label_counts(draw: Any) -> Row:
    counts: list[dict[str, float]] = []
    for label in draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 7.0]), unique=True, max_size=3)):
        pred, ref = draw(COUNT), draw(COUNT)
        counts.append({"label": label, "intersection": float(draw(st.integers(0, min(pred, ref)))),
                       "predicted": float(pred), "reference": float(ref)})
    return True, draw(_maybe(UNIT)), counts, None


@st.composite
def group_row(draw: Any) -> Row:
    return True, draw(st.sampled_from([0.0, 1.0])), None, draw(st.sampled_from(["cat", "dog", "bird", ""]))


@st.composite
def read_row(draw: Any, v: st.SearchStrategy) -> Row:
    read = draw(st.booleans())
    return read, draw(v), None, "read" if read else None


VECTOR = st.lists(st.sampled_from([0.0, 0.5, 1.0, -2.0, 3.25]), min_size=3, max_size=3)


@st.composite
def reading_row(draw: Any) -> Row:
    doc = {"prediction": draw(st.none() | VECTOR), "reference": draw(VECTOR)}
    return True, None, None, json.dumps(doc)


BOX = st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(1, 30), st.integers(1, 30)).map(
    lambda b: [b[0], b[1], b[0] + b[2], b[1] + b[3]])
#: tied and missing confidence scores: the case a stable sort resolves by arrival order
SCORE = st.sampled_from([None, 0.5, 0.5, 0.9, 1.0])
LABEL = st.sampled_from([None, "car", "person"])


@st.composite
def detections(draw: Any, refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in refs:  # near each reference box, or not at all
        if draw(st.booleans()):
            x0, y0, x1, y1 = r["bbox"]
            d = draw(st.integers(-3, 3))
            out.append({"bbox": [x0 + d, y0, x1, y1 - d], "score": draw(SCORE), "label": r.get("label")})
    for b in draw(st.lists(BOX, max_size=2)):
        out.append({"bbox": b, "score": draw(SCORE), "label": draw(LABEL)})
    return [{k: v for k, v in d.items() if v is not None} for d in out]


@st.composite
def box_payload(draw: Any, with_id: bool, iid: str) -> str:
    refs = [{k: v for k, v in {"bbox": b, "label": draw(LABEL)}.items() if v is not None}
            for b in draw(st.lists(BOX, max_size=3))]
    doc: dict[str, Any] = {"pred": json.dumps(draw(detections(refs))), "ref": json.dumps(refs)}
    if with_id:
        doc |= {"id": iid, "fmt": "xyxy"}
    return json.dumps(doc)


WORDS = st.sampled_from(["a", "cat", "sits", "on", "the", "mat", "dog", "x", "def", "return", "1"])
SENTENCE = st.lists(WORDS, max_size=6).map(" ".join)


@st.composite
def caption_payload(draw: Any) -> str:
    return json.dumps({"pred": draw(SENTENCE), "refs": draw(st.lists(SENTENCE, min_size=1, max_size=2))})


CODE = st.lists(st.sampled_from(["x = 1", "y = x + 2", "def f(a):\n    return a", "print(y)", "z = [1, 2]"]),
                min_size=1, max_size=3).map("\n".join)


@st.composite
def code_payload(draw: Any, lang: str) -> str:
    return json.dumps({"pred": draw(CODE), "refs": [draw(CODE)], "lang": lang})


def payload_rows(make: Callable[[str], st.SearchStrategy[str]]) -> Callable[[str], st.SearchStrategy[Row]]:
    return lambda iid: make(iid).map(lambda p: (True, None, None, p))


#: macro -> (args -> (instance id -> a row strategy)); every macro a metric spec names needs one
ROWS: dict[str, Callable[[dict[str, Any]], Callable[[str], st.SearchStrategy[Row]]]] = {
    **{m: (lambda a: lambda iid: values(UNIT)) for m in (
        "accuracy", "anls", "box_iou", "dice", "part_iou", "recall_at_k", "rouge", "s_measure", "success_auc",
        "token_f1", "viou")},
    "image_quality": lambda a: lambda iid: values(st.floats(0.0, 100.0) | st.sampled_from([100.0, 30.1, 30.2])),
    "media_quality": lambda a: lambda iid: values(st.floats(0.0, 100.0) | st.sampled_from([100.0, 0.1, 0.2])),
    **{m: (lambda a: lambda iid: values(WIDE)) for m in ("chamfer", "mcd", "flow_epe", "sad", "depth_error")},
    "bleu": lambda a: lambda iid: bleu_stats(int(a.get("max_order", 4))),
    "micro_f1": lambda a: lambda iid: count_stats(("true_positives", "false_positives", "false_negatives")),
    "edit_rate": lambda a: lambda iid: count_stats(("edits", "ref_len")),
    "frame_labels": lambda a: lambda iid: frame_hits(),
    "panoptic_quality": lambda a: lambda iid: pq_stats(),
    "regression": lambda a: lambda iid: number_pair(),
    "rmse": lambda a: lambda iid: rmse_row(),
    "correlation": lambda a: lambda iid: rmse_row(),  # numbers give stats, music a value (chroma r)
    "segmentation_iou": lambda a: lambda iid: label_counts(),
    "macro_accuracy": lambda a: lambda iid: group_row(),
    "evaluator_score": lambda a: lambda iid: read_row(WIDE | st.sampled_from([1.0, 2.5, 4.1])),
    "feature_cosine": lambda a: lambda iid: read_row(st.floats(-100.0, 100.0) | st.sampled_from([30.1, 30.2])),
    "frechet": lambda a: payload_rows(lambda iid: reading_row().map(lambda r: str(r[3]))),
    "coco_ap": lambda a: payload_rows(lambda iid: box_payload(True, iid)),
    "amota": lambda a: payload_rows(lambda iid: box_payload(False, iid)),
    "cider": lambda a: payload_rows(lambda iid: caption_payload()),
    "codebleu": lambda a: payload_rows(lambda iid: code_payload(str(a.get("lang") or "python"))),
}


# --- the compiled aggregate ------------------------------------------------------------------


class Aggregates:
    """An in-memory store holding every node of the compiled project up to predicted_scores (all
    empty); ``score`` writes one task's instance rows into a metric's table, in the given order,
    and reads the task score the compiled predicted_scores query gives them."""

    def __init__(self, compiled: CompiledProject) -> None:
        self.con = duckdb.connect(config={"threads": 1})  # one thread: the aggregates see the table's order
        ensure_store(self.con)
        build(self.con, compiled, [n for n in compiled.nodes
                                   if n.model in ("instance_refs", "instance_scores", "predicted_scores")],
              snapshot=False)
        # the tables are empty, so the build may have made them from kept columns without running a
        # query that calls a UDF; the queries below run here, outside the build: they need the UDFs
        register(self.con)
        union = sqlglot.parse_one(compiled.node("predicted_scores").sql, dialect="duckdb")
        one_task = exp.and_(exp.column("model").eq(exp.Placeholder()), exp.column("task_id").eq(exp.Placeholder()))
        #: metric -> its branch of the compiled predicted_scores query (the SELECT from its instance
        #: scores), as the score of one (model, task) given as parameters
        self.sql = {t.name.removeprefix("instance_scores__"):
                    exp.select("score").from_(sel.copy().subquery("s")).where(one_task).sql(dialect="duckdb")
                    for sel in union.find_all(exp.Select)
                    for t in [sel.args["from_"].this if sel.args.get("from_") else None]
                    if isinstance(t, exp.Table) and t.name.startswith("instance_scores__")}
        assert set(self.sql) == {m.name for m in compiled.project.metrics if m.implementation}

    def score(self, metric: str, rows: list[tuple[str, Row]]) -> float | None:
        table = quote_ident(f"instance_scores__{metric}")
        self.con.executemany(f"INSERT INTO {table} (model, task_id, instance_id, scored, value, stats, payload) "
                             "VALUES ('m', 't', ?, ?, ?, ?, ?)", [(iid, *row) for iid, row in rows])
        try:
            got = self.con.execute(self.sql[metric], ["m", "t"]).fetchall()
        finally:
            self.con.execute(f"DELETE FROM {table}")
        assert len(got) == 1, got
        return got[0][0]


def _bits(x: float | None) -> bytes | None:
    """The exact double (every NaN alike)."""
    if x is None:
        return None
    return b"nan" if math.isnan(x) else struct.pack("<d", x)


@pytest.fixture(scope="module")
def aggregates(tmp_path_factory: pytest.TempPathFactory) -> Aggregates:
    root = copy_project(tmp_path_factory.mktemp("order_free"), small=True)
    return Aggregates(compile_project(root))


def rows_of(metric: str) -> st.SearchStrategy[list[tuple[str, Row]]]:
    macro, args = METRICS[metric]
    make = ROWS[macro](args)
    return st.integers(1, 12).flatmap(
        lambda n: st.tuples(*[make(f"i{k:03d}").map(lambda r, k=k: (f"i{k:03d}", r)) for k in range(n)])
    ).map(list)


def check_orders(aggregates: Aggregates, metric: str, rows: list[tuple[str, Row]], perm: list[int]) -> None:
    first = aggregates.score(metric, rows)
    for order in ([rows[k] for k in perm], rows[::-1]):
        again = aggregates.score(metric, order)
        assert _bits(again) == _bits(first), (
            f"{metric}: task score {first!r} for the rows in one order, {again!r} in another; rows: {rows!r}")


def test_every_metric_spec_has_instance_rows_here() -> None:
    """A metric whose macro this file cannot make rows for would go unchecked: add it to ROWS."""
    assert len(METRICS) >= 60
    missing = sorted({f"{name} ({macro})" for name, (macro, _) in METRICS.items() if macro not in ROWS})
    assert not missing, f"metrics whose implementation has no row strategy in tests/test_order_free.py: {missing}"


@pytest.mark.parametrize("metric", sorted(METRICS))
@FAST
@given(data=st.data())
def test_task_score_does_not_depend_on_the_order_of_instance_rows(aggregates: Aggregates, metric: str,
                                                                     data: st.DataObject) -> None:
    if METRICS[metric][0] not in ROWS:
        pytest.fail(f"no row strategy for {metric}'s macro {METRICS[metric][0]} (see ROWS)")
    rows = data.draw(rows_of(metric), label="rows")
    perm = data.draw(st.permutations(range(len(rows))), label="order")
    check_orders(aggregates, metric, rows, perm)


# --- counterexamples found, kept -------------------------------------------------------------

def _unit(*xs: float) -> list[tuple[str, Row]]:
    return [(f"i{k:03d}", (True, x, None, None)) for k, x in enumerate(xs)]


#: (metric, rows): each gave another task score in reverse order before its aggregate was order-free
ORDER_REGRESSIONS = [
    # AVG(value): (0.1 + 0.2) + 0.3 = 0.6000000000000001, 0.3 + 0.2 + 0.1 = 0.6
    *[(m, _unit(0.1, 0.2, 0.3)) for m in ("dice", "m_viou", "instance_miou", "s_measure", "auc", "recall_at_50")],
    *[(m, _unit(0.1, 0.2, 0.3)) for m in ("cd", "mcd", "epe", "sad", "rms", "absrel")],
    ("psnr", _unit(30.1, 30.3, 30.2)),
    # pooled PQ: the sum of matched IoUs is fractional
    ("pq", [(f"i{k}", (True, None, {"iou_sum": x, "true_positives": 1.0, "false_positives": 0.0,
                                    "false_negatives": 0.0}, None)) for k, x in enumerate((0.1, 0.2, 0.3))]),
    # pooled mIoU: the per-label IoUs (0.1, 0.2, 0.3) were averaged in the order their labels were first seen
    ("miou", [(f"i{k}", (True, None, [{"label": label, "intersection": i, "predicted": pr, "reference": r}], None))
              for k, (label, i, pr, r) in enumerate([(1.0, 1.0, 1.0, 10.0), (2.0, 1.0, 1.0, 5.0),
                                                     (3.0, 3.0, 3.0, 10.0)])]),
    # CIDEr-D: the per-caption scores were summed in row order
    ("cider", [(f"i{k}", (True, None, None, json.dumps({"pred": p, "refs": r})))
               for k, (p, r) in enumerate([("a cat sits", ["a cat sits on the mat"]), ("dog", ["the dog"]),
                                           ("on the mat", ["a cat on the mat", "mat"]), ("x", ["x y"])])]),
]


@pytest.mark.parametrize(("metric", "rows"), ORDER_REGRESSIONS, ids=[m for m, _ in ORDER_REGRESSIONS])
def test_order_regressions(aggregates: Aggregates, metric: str, rows: list[tuple[str, Row]]) -> None:
    assert metric in METRICS
    check_orders(aggregates, metric, rows, list(range(len(rows)))[1:] + [0])


def test_the_regression_values_do_move_a_float_sum() -> None:
    """The explicit cases are real counterexamples: a left-to-right float sum of their values (or
    of their summed IoUs) is not the same in the orders they are checked in."""
    def sums(xs: list[float]) -> set[float]:
        orders = (xs, xs[1:] + xs[:1], xs[::-1])
        return {sum(o, 0.0) for o in orders}
    for metric, rows in ORDER_REGRESSIONS:
        if metric in ("miou", "cider"):
            continue
        xs = [float(r[1] if r[1] is not None else r[2]["iou_sum"]) for _, r in rows]
        assert len(sums(xs)) > 1, metric
    assert len(sums([0.1, 0.2, 0.3])) > 1  # the per-label IoUs of the miou case


def test_spec_list_is_read_from_the_specs_folder() -> None:
    names = {p.stem for p in Path(REPO / "specs" / "metrics").glob("*.yaml")}
    assert set(METRICS) <= names and "ap" in METRICS and "f1" in METRICS
