"""CodeBLEU computed by glc (compiled SQL calling glc_codebleu) equals the codebleu package (0.7,
the CodeXGLUE code) on hand-picked programs and on generated snippets: valid and invalid Python,
empty answers, comments and docstrings, loops and branches (data flow), Unicode identifiers.

The package merges some data-flow edges' source variables through a Python ``set``, so its score
changes with PYTHONHASHSEED; glc keeps first-seen order (a convention of the metric spec) and the
reference is run here with sets that iterate in first-seen order (``first_seen_sets``), which
changes nothing else in it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from glc.compiler.udfs import code
from helpers.examples import examples
from helpers.metric_project import add_task, new_project, sql_rows, write_predictions
from hypothesis import given, settings
from hypothesis import strategies as st

from glc.workspace import Workspace


class FirstSeenSet(set):  # type: ignore[type-arg]
    """A set that iterates in insertion order (the package only builds, adds to and iterates its sets)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        self._order: list[Any] = []
        for x in items:
            self.add(x)

    def add(self, x: Any) -> None:
        if x not in self:
            super().add(x)
            self._order.append(x)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._order)


@pytest.fixture(autouse=True, scope="module")
def first_seen_sets() -> Iterator[None]:
    import codebleu.dataflow_match as flow_module
    import codebleu.parser.DFG as dfg_module

    mp = pytest.MonkeyPatch()
    mp.setattr(dfg_module, "set", FirstSeenSet, raising=False)
    mp.setattr(flow_module, "set", FirstSeenSet, raising=False)
    yield
    mp.undo()


def reference(items: list[tuple[str, list[str]]]) -> dict[str, float]:
    import logging

    from codebleu import calc_codebleu

    logging.getLogger().setLevel(logging.ERROR)  # "no reference data-flows" is expected for some corpora
    return calc_codebleu([refs for _, refs in items], [h for h, _ in items], lang="python")


PROGRAMS: list[tuple[str, list[str], Any]] = [
    ("add", ["def add(a, b):\n    return a + b\n"], "def add(x, y):\n    return x + y\n"),
    ("same", ["def mul(a, b):\n    return a * b"], "def mul(a, b):\n    return a * b"),
    ("loop", ["def total(xs):\n    s = 0\n    for x in xs:\n        s = s + x * k\n        k = s\n    return s"],
     "def total(items):\n    acc = 0\n    for i in items:\n        acc += i\n    return acc"),
    ("branch", ["if a:\n    b = c\nelif d:\n    b = e\nelse:\n    b = f\nprint(b)"], "if a:\n    b = c\nprint(b)"),
    ("while", ["while x < 3:\n    x += y\n    y = x\n"], "while x < 3:\n    x += 1"),
    ("docs", ['def f(a=1, b=c):\n    """doc"""\n    # a comment\n    return [i for i in a if i]'],
     "def f(a=2):  # note\n    return a"),
    ("unicode", ["ñame = 1\nüber = ñame + 2\n变量 = über"], "ñame = 1\nüber = ñame"),
    ("broken", ["def f(:\n    return"], "def f(x)\n    retrun x +"),
    ("two refs", ["x = sorted(a)", "x = list(sorted(a, reverse=False))"], "x = sorted(a)"),
    ("empty", ["print('hi')"], ""),
    ("missing", ["y = [v ** 2 for v in range(10)]"], None),
    ("prose", ["class A:\n    def __init__(self):\n        self.x = 1"], "Here is the class you asked for."),
]


def _seeded(seed: int, n: int) -> list[tuple[str, list[str], str]]:
    rng = random.Random(seed)
    names = ["a", "b", "total", "x1", "ñ", "值"]
    out = []
    for k in range(n):
        lines = [f"{rng.choice(names)} = {rng.choice(names)} {rng.choice('+-*')} {rng.randint(0, 9)}"
                 for _ in range(rng.randint(1, 4))]
        ref = "def f(" + ", ".join(rng.sample(names, 2)) + "):\n" + "\n".join("    " + x for x in lines)
        pred_lines = [x for x in lines if rng.random() < 0.7]
        pred = "def f(" + ", ".join(rng.sample(names, 2)) + "):\n" + "\n".join("    " + x for x in pred_lines)
        out.append((f"g{k}", [ref], pred if rng.random() < 0.9 else pred.replace(":", "", 1)))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = new_project(tmp_path_factory.mktemp("codebleu"))
    items = PROGRAMS + _seeded(3, 10)
    tid = add_task(root, "codebleu", "text", [(i, {}, r) for i, r, _ in items])
    preds = root / "preds.jsonl"
    # the records of the prediction file in another order than the data
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in reversed(items) if p is not None])
    shuffled = list(items)
    random.Random(5).shuffle(shuffled)
    write_predictions(preds, "m2", tid, [(i, p) for i, _, p in shuffled if p is not None])
    ws = Workspace(root)
    ws.import_predictions(preds)
    ws.run()
    scores = dict(sql_rows(ws, "SELECT model, score FROM task_scores WHERE task_id = ?", tid))
    return {"scores": scores, "items": items}


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_task_score_equals_the_codebleu_package(corpus: dict[str, Any]) -> None:
    items = [(p or "", refs) for _, refs, p in corpus["items"]]
    want = reference(items)
    assert corpus["scores"]["m"] == pytest.approx(100 * want["codebleu"], abs=1e-6)
    assert corpus["scores"]["m2"] == corpus["scores"]["m"]  # record order does not matter
    assert 0 < want["dataflow_match_score"] < 1 and 0 < want["syntax_match_score"] < 1


@pytest.mark.parametrize("iid", [i for i, _, _ in PROGRAMS])
def test_each_hand_picked_program(iid: str) -> None:
    refs, pred = next((r, p) for i, r, p in PROGRAMS if i == iid)
    items = [(pred or "", refs)]
    got, want = code.codebleu_parts(items), reference(items)
    assert got["codebleu"] == pytest.approx(want["codebleu"], abs=1e-9)
    assert got["ngram_match"] == pytest.approx(want["ngram_match_score"], abs=1e-9)
    assert got["weighted_ngram_match"] == pytest.approx(want["weighted_ngram_match_score"], abs=1e-9)
    assert got["syntax_match"] == pytest.approx(want["syntax_match_score"], abs=1e-9)
    assert got["dataflow_match"] == pytest.approx(want["dataflow_match_score"], abs=1e-9)


def test_identical_program_scores_one_and_comments_do_not_count() -> None:
    src = "def f(a, b):\n    c = a + b\n    return c * 2"
    assert code.codebleu_parts([(src, [src])])["codebleu"] == pytest.approx(1.0)
    commented = "def f(a, b):\n    # add\n    c = a + b\n    return c * 2"
    parts = code.codebleu_parts([(commented, [src])])
    assert parts["syntax_match"] == 1.0 and parts["dataflow_match"] == 1.0 and parts["ngram_match"] < 1


def test_the_sets_of_the_package_decide_its_data_flow_term() -> None:
    """Why glc fixes an order: with first-seen sets the package agrees with glc on a loop whose
    edge merges two sources; the order it would otherwise use is the hash seed's."""
    items = [("for j in range(3):\n  t = t + j * m\n  m = t\n",
              ["for i in range(10):\n    s = s + i * k\n    k = s\nprint(s)"])]
    assert code.codebleu_parts(items)["dataflow_match"] == pytest.approx(reference(items)["dataflow_match_score"])
    assert code.codebleu_parts(items)["dataflow_match"] == pytest.approx(0.9)


def test_a_lone_surrogate_does_not_stop_the_build() -> None:
    payload = json.dumps({"pred": "x = '\ud800'", "refs": ["x = 'a'"], "lang": "python"})
    assert 0 < (code.codebleu([payload]) or 0) < 1


def test_unsupported_language_is_a_clear_error() -> None:
    from glc.compiler.errors import GlcError

    with pytest.raises(GlcError, match="language 'cobol' is not supported"):
        code.codebleu([json.dumps({"pred": "x", "refs": ["x"], "lang": "cobol"})])


# --- generated snippets ----------------------------------------------------------------------

IDENT = st.sampled_from(["a", "b", "x", "total", "ñame", "über", "变量", "_t", "i", "k"])
EXPR = st.one_of(IDENT, st.integers(0, 99).map(str),
                 st.tuples(IDENT, st.sampled_from(["+", "-", "*", "//", "%"]), IDENT).map(" ".join),
                 st.tuples(IDENT, IDENT).map(lambda t: f"{t[0]}({t[1]})"),
                 st.just("'tekst é'"), st.just("[v for v in a if v]"))
STMT = st.one_of(
    st.tuples(IDENT, EXPR).map(lambda t: f"{t[0]} = {t[1]}"),
    st.tuples(IDENT, EXPR).map(lambda t: f"{t[0]} += {t[1]}"),
    st.tuples(IDENT, IDENT, EXPR).map(lambda t: f"{t[0]}, {t[1]} = {t[2]}, {t[1]}"),
    st.tuples(IDENT, EXPR).map(lambda t: f"return {t[0]} if {t[1]} else None"),
    st.just("# a comment"), st.just('"""a docstring"""'), st.just("pass"),
)


@st.composite
def programs(draw: st.DrawFn) -> str:
    def block(depth: int) -> list[str]:
        lines: list[str] = []
        for _ in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(["stmt", "stmt", "for", "if", "while", "def"] if depth < 2 else ["stmt"]))
            if kind == "stmt":
                lines.append(draw(STMT))
                continue
            head = {"for": f"for {draw(IDENT)} in {draw(EXPR)}:", "if": f"if {draw(EXPR)}:",
                    "while": f"while {draw(EXPR)}:", "def": f"def {draw(IDENT)}({draw(IDENT)}, {draw(IDENT)}=1):"}
            lines.append(head[kind])
            lines += ["    " + x for x in block(depth + 1)]
            if kind == "if" and draw(st.booleans()):
                lines.append("else:")
                lines += ["    " + x for x in block(depth + 1)]
        return lines

    text = "\n".join(block(0))
    damage = draw(st.sampled_from(["none", "none", "none", "cut", "colon", "indent", "empty", "noise"]))
    if damage == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "colon":
        text = text.replace(":", "", 1)
    elif damage == "indent":
        text = text.replace("\n", "\n  ", 1)
    elif damage == "empty":
        text = draw(st.sampled_from(["", "   ", "\n\t\n"]))
    elif damage == "noise":
        text = draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30))
    return text


@settings(max_examples=examples(60), deadline=None)
@given(items=st.lists(st.tuples(programs(), st.lists(programs(), min_size=1, max_size=2)), min_size=1, max_size=4))
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_generated_programs_agree_with_the_package(items: list[tuple[str, list[str]]]) -> None:
    got, want = code.codebleu_parts(items), reference(items)
    assert got["codebleu"] == pytest.approx(want["codebleu"], abs=1e-6)
    assert got["syntax_match"] == pytest.approx(want["syntax_match_score"], abs=1e-9)
    assert got["dataflow_match"] == pytest.approx(want["dataflow_match_score"], abs=1e-9)


def test_an_unknown_language_is_refused_at_compile_time(tmp_path: Path) -> None:
    from glc.compiler.errors import SpecErrors
    from glc.compiler.plan import compile_project
    from glc.compiler.resolve import CHOICE_ARGS
    from helpers.project import copy_project

    assert CHOICE_ARGS["codebleu"]["lang"] == code.LANGUAGES
    root = copy_project(tmp_path / "p", small=True)
    spec = root / "specs" / "metrics" / "codebleu.yaml"
    spec.write_text(spec.read_text().replace("args: {lang: python}", "args: {lang: cobol}"))
    with pytest.raises(SpecErrors) as err:
        compile_project(root, benchmark="general-bench")
    text = err.value.format()
    assert "specs/metrics/codebleu.yaml:18:" in text
    assert "implementation.args.lang of macro 'codebleu' is 'cobol'" in text
    assert "one of: python" in text


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_the_catalog_code_tasks_are_scored_from_a_general_bench_tree(tmp_path: Path) -> None:
    """The two CodeBLEU tasks of the catalog (NLP Code Generation and Code Repair), bound to a
    generated General-Bench tree, score imported prediction trees as the package scores them."""
    import shutil

    from helpers.gb_tree import write_predictions as write_tree_predictions
    from helpers.gb_tree import write_tree
    from helpers.project import REPO

    root = new_project(tmp_path / "proj")
    for name in ("code_generation", "code_repair"):  # the small catalog of new_project leaves them out
        rel = Path("specs") / "tasks" / "nlp" / f"{name}.yaml"
        shutil.copy(REPO / rel, root / rel)
    tree = tmp_path / "gb"
    info = write_tree(tree, size="small", per_task=4, tasks=["Code Generation", "Code Repair"])
    write_tree_predictions(info, tmp_path / "right", correct_fraction=1.0)
    write_tree_predictions(info, tmp_path / "wrong", correct_fraction=0.0, seed=3)
    mp = pytest.MonkeyPatch()
    mp.setenv("GLC_DATA", str(tree))
    try:
        ws = Workspace(root, benchmark="general-bench")
        ws.import_predictions(tmp_path / "right", model="right")
        ws.import_predictions(tmp_path / "wrong", model="wrong")
        ws.run(infer=False)
        rows = sql_rows(ws, "SELECT model, task_id, score, n_scored FROM task_scores WHERE metric = 'codebleu'")
    finally:
        mp.undo()
    got = {(m, t): (s, n) for m, t, s, n in rows}
    assert {t for _, t in got} == {"nlp.code_generation", "nlp.code_repair"}
    for task in info.tasks:
        doc = json.loads((tree / task.folder / "annotation.json").read_text(encoding="utf-8"))
        refs = {r["id"]: [r["output"]["code"]] for r in doc["data"]}
        wrong = {p["id"]: p["prediction"] for p in
                 json.loads((tmp_path / "wrong" / task.folder / "prediction.json").read_text(encoding="utf-8"))}
        tid = "nlp.code_generation" if task.name == "Code Generation" else "nlp.code_repair"
        # the references themselves: near 100, below it where a snippet has fewer than 4 tokens (BLEU-4's
        # smoothed empty orders), exactly as the package scores them
        perfect = reference([(refs[i][0], refs[i]) for i in refs])["codebleu"]
        assert got[("right", tid)] == (pytest.approx(100 * perfect, abs=1e-6), 4) and perfect > 0.9
        want = reference([(wrong[i], refs[i]) for i in refs])
        assert got[("wrong", tid)][0] == pytest.approx(100 * want["codebleu"], abs=1e-6)
        assert got[("wrong", tid)][0] < got[("right", tid)][0]
