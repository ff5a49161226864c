"""Multiple-choice answer rules as data (specs/answers/choice_letter.yaml): every rule's examples
hold in DuckDB, the rules as glc compiles them agree with an independent Python reading of the
same file (the ``regex`` package) on generated answers, and a bad rule is a located spec error."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
import regex
import yaml
from glc.compiler.answer_rules import load_choice_rules
from glc.compiler.errors import SpecErrors
from glc.compiler.plan import compile_project
from helpers.examples import examples
from helpers.metric_truth import CHOICE_PIECES, SEPARATORS, TEXT_CHARS
from helpers.project import REPO, copy_project
from hypothesis import example, given, settings
from hypothesis import strategies as st

RULES = REPO / "specs" / "answers" / "choice_letter.yaml"
DOC = yaml.safe_load(RULES.read_text(encoding="utf-8"))


def python_pattern(pattern: str, classes: dict[str, str]) -> str:
    """The file's pattern for Python's ``regex``, read on its own: ${name} -> the class, RE2's
    \\x{hex} -> the character itself (escaped)."""
    for name, body in classes.items():
        pattern = pattern.replace("${" + name + "}", body)
    return re.sub(r"\\x\{([0-9a-fA-F]+)\}", lambda m: regex.escape(chr(int(m.group(1), 16)), special_only=False),
                  pattern)


PY_RULES = [(r["name"], regex.compile(python_pattern(r["pattern"], DOC["classes"])), bool(r.get("no_letter")))
            for r in DOC["rules"] if "pattern" in r]


FOLD = str.maketrans(DOC["fold"]["from"], DOC["fold"]["to"]) if DOC.get("fold") else {}


def python_read(rx: regex.Pattern[str], no_letter: bool, text: str) -> str | None:
    """What one rule reads (after the file's fold): its letter, "" for a no_letter rule that matches, None
    when it does not apply."""
    m = rx.search(text.translate(FOLD))
    return None if m is None else "" if no_letter else m.group(1).upper()


def python_letter(text: str) -> str | None:
    """The letter by the file's pattern rules, the first that decides wins (the option-text rule needs
    options): "" when a no_letter rule matches first."""
    for _, rx, no_letter in PY_RULES:
        got = python_read(rx, no_letter, text)
        if got is not None:
            return got
    return None


@pytest.fixture(scope="module")
def rules() -> list[dict]:
    """The rules as the compiler loads them (named apart from conftest's `compiled`, the whole
    catalog's project, which would mark these tests slow)."""
    return load_choice_rules(REPO / "specs", REPO)


def duck(texts: list[str], rules: list[dict], fold: dict | None) -> list[str | None]:
    """The rule chain (pattern and no_letter rules, after ``fold``) as the compiled SQL evaluates it, over a
    column of answers."""
    patterns = [r["pattern"] for r in rules]
    folded = "TRANSLATE(a, $2, $3)" if fold else "a"
    con = duckdb.connect()
    try:
        chain = ", ".join(f"CASE WHEN REGEXP_MATCHES(t, ${i + 4}) THEN '' END" if r["kind"] == "no_letter"
                          else f"UPPER(NULLIF(REGEXP_EXTRACT(t, ${i + 4}, 1), ''))" for i, r in enumerate(rules))
        rows = con.execute(f"SELECT COALESCE({chain}) FROM (SELECT {folded} AS t, i FROM (SELECT unnest($1::VARCHAR[]) "  # noqa: S608
                           "AS a, generate_subscripts($1::VARCHAR[], 1) AS i)) ORDER BY i",
                           [texts, (fold or {}).get("from", ""), (fold or {}).get("to", ""), *patterns]).fetchall()
        return [r[0] for r in rows]
    finally:
        con.close()


def test_the_file_is_the_one_compiled(rules: list[dict]) -> None:
    fold, *rest = rules
    assert fold == {"name": "fold", "kind": "fold", "pattern": None, **DOC["fold"]}
    assert [r["name"] for r in rest] == [r["name"] for r in DOC["rules"]]
    assert [r["kind"] for r in rest] == ["no_letter" if r.get("no_letter") else "pattern" if "pattern" in r
                                         else "option_text" for r in DOC["rules"]]
    assert all(r["pattern"] for r in rest if r["kind"] != "option_text")
    assert "${" not in "".join(r["pattern"] or "" for r in rest)


def readers(rules: list[dict]) -> list[dict]:
    """The rules that read the answer alone (all but the fold and the option-text rule, which needs the options)."""
    return [r for r in rules if r["kind"] not in ("option_text", "fold")]


def fold_of(rules: list[dict]) -> dict | None:
    return next((r for r in rules if r["kind"] == "fold"), None)


@pytest.mark.parametrize("rule", [r["name"] for r in DOC["rules"] if "pattern" in r])
def test_each_rule_reads_its_examples(rules: list[dict], rule: str) -> None:
    declared = next(r for r in DOC["rules"] if r["name"] == rule)
    compiled = next(r for r in rules if r["name"] == rule)
    assert declared["examples"], "every pattern rule shows what it reads"
    texts = list(declared["examples"])
    alone = duck(texts, [compiled], fold_of(rules))
    assert dict(zip(texts, alone, strict=True)) == declared["examples"]
    # and Python reads the same
    _, rx, no_letter = next(r for r in PY_RULES if r[0] == rule)
    assert {t: python_read(rx, no_letter, t) for t in texts} == declared["examples"]


def test_issue_examples_read_the_letter(rules: list[dict]) -> None:
    texts = ["B", "(B)", "**B**", "The answer is B.", "b", "Answer: **(b)**", "I choose (B) because", "答案是B",
             "答案：Ｂ", "（Ｂ）"]
    assert duck(texts, readers(rules), fold_of(rules)) == ["B"] * len(texts)


answers = st.lists(st.sampled_from(CHOICE_PIECES) | st.text(TEXT_CHARS, max_size=3), max_size=6).flatmap(
    lambda parts: st.tuples(*[st.sampled_from(SEPARATORS) for _ in parts]).map(
        lambda seps: "".join(p + s for p, s in zip(parts, seps, strict=True))))


@settings(max_examples=examples(150), deadline=None)
@example(batch=["**B**", "__c__", "ÜB.", "answer is\u2028b", "答案是B", "I", "(AB)", "**", "\u0301B."])
@given(batch=st.lists(answers, min_size=1, max_size=30))
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_compiled_rules_agree_with_python_on_generated_answers(rules: list[dict], batch: list[str]) -> None:
    got = duck(batch, readers(rules), fold_of(rules))
    want = [python_letter(t) for t in batch]
    assert got == want, [(t, g, w) for t, g, w in zip(batch, got, want, strict=True) if g != w]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "p", small=True)


def _edit_rule(root: Path, old: str, new: str) -> int:
    f = root / "specs" / "answers" / "choice_letter.yaml"
    text = f.read_text(encoding="utf-8")
    assert old in text
    f.write_text(text.replace(old, new, 1), encoding="utf-8")
    return next(i for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1) if new in line)


@pytest.mark.parametrize("old, new, message", [
    (r"'[\(（]([A-Za-z])[\)）]'", r"'[\(（]([A-Za-z][\)）]'", "not a usable regular expression"),
    (r"'[\(（]([A-Za-z])[\)）]'", r"'(?<=x)([A-Za-z])'", "not a usable regular expression"),
    (r"'[\(（]([A-Za-z])[\)）]'", r"'[\(（][A-Za-z][\)）]'", "has no group"),
    (r"'${left}([A-Z])(?:${mark}|${cjk})'", r"'${lefty}([A-Z])(?:${mark}|${cjk})'", "unknown class ${lefty}"),
])
def test_a_bad_rule_is_a_spec_error_with_its_line(project: Path, old: str, new: str, message: str) -> None:
    line = _edit_rule(project, old, new)
    with pytest.raises(SpecErrors) as err:
        compile_project(project)
    text = str(err.value)
    assert f"specs/answers/choice_letter.yaml:{line}" in text and message in text, text


def test_missing_or_malformed_rules_file_is_a_spec_error(project: Path) -> None:
    f = project / "specs" / "answers" / "choice_letter.yaml"
    f.write_text("rules:\n  - name: x\n    pattern: '(a)'\n    option_text: true\n", encoding="utf-8")
    with pytest.raises(SpecErrors, match=r"choice_letter.yaml:2"):
        compile_project(project)
    shutil.rmtree(f.parent)
    with pytest.raises(SpecErrors, match="answer rules are missing"):
        compile_project(project)


def test_the_compiled_sql_follows_the_file(project: Path) -> None:
    _edit_rule(project, r"'[\(（]([A-Za-z])[\)）]'", r"'\[([A-Za-z])\]'")
    sql = "\n".join(n.sql for n in compile_project(project).nodes if n.name == "instance_scores__acc")
    assert r"'\[([A-Za-z])\]'" in sql and r"'[\(（]([A-Za-z])[\)）]'" not in sql


def test_every_bad_rule_is_reported_when_several_are(project: Path) -> None:
    """The rules are checked in one DuckDB: a rule it refuses leaves the next ones checked as before."""
    first = _edit_rule(project, r"'(?:\*\*|__)[\(（]?([A-Za-z])[\)）]?[.):]?(?:\*\*|__)'", r"'(?<=x)([A-Za-z])'")
    second = _edit_rule(project, r"'[\(（]([A-Za-z])[\)）]'", r"'[\(（]([A-Za-z][\)）]'")
    with pytest.raises(SpecErrors) as err:
        load_choice_rules(project / "specs", project)
    lines = [e.line for e in err.value.errors]
    assert lines == [first, second] and all("not a usable regular expression" in e.message for e in err.value.errors)
    f = project / "specs" / "answers" / "choice_letter.yaml"
    f.write_text(RULES.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_choice_rules(project / "specs", project) == load_choice_rules(REPO / "specs", REPO)


# --- through the metric, with the instance's options ----------------------------------------------

ANIMALS = ["cat", "dog", "bird", "fish"]
# (reference letter, options, answer or None for no prediction, whether acc counts it): cases a review of
# the rules found read wrongly (docs/metrics.md, "Option letters", says how each is read now)
THROUGH_METRIC = [
    ("A", ["A", "B", "C", "D"], "", False),  # "a" normalizes to nothing, as an empty answer does
    ("A", ["A", "B", "C", "D"], None, False),  # no prediction at all
    ("A", ["-", "x", "y", "z"], "?", False),
    ("D", ["G", "E", "C", "A"], "A", False),  # a bare letter is the letter, not option D's text
    ("A", ["G", "E", "C", "A"], "A", True),
    ("B", ["x", "y", "z", "b"], "(B)", True),
    ("B", ANIMALS, "dog", True),  # the option's text, given in full
    ("A", ANIMALS, "The answer is a dog.", False),  # "a" is the article there
    ("B", ANIMALS, "A. cat\nB. dog\nC. bird\nD. fish\nAnswer: B", True),  # an explicit answer beats the list
    ("B", ANIMALS, "Answer: I think B", True),
    ("C", ANIMALS, "The answer is C or D.", False),  # a hedge names no single option
    ("B", ANIMALS, "B or C", False),
    ("B", ANIMALS, "答案是B。", True),
    ("B", ANIMALS, "我选B，因为是狗", True),
    ("B", ANIMALS, "The final answer is $\\boxed{B}$.", True),
    ("B", ANIMALS, "B\nThe dog barks.", True),
    ("B", ANIMALS, "B is correct because it barks", True),
    ("B", ANIMALS, "The answer is B\u200b", True),
    ("B", ANIMALS, "答案：Ｂ", True),  # a full-width letter
    ("C", ANIMALS, "选（ｃ）", True),
    # two letters inside a longer reply are no hedge: the reply commits to one (a review of the hedge rule)
    ("B", ANIMALS, "The answer is B. It cannot be A or C.", True),
    ("B", ANIMALS, "Answer: B (not C or D)", True),
    ("B", ANIMALS, "B. The dog barks, unlike A and C", True),
    ("B", ANIMALS, "The answer is **B** (not **A** or **C**)", True),
    ("D", ANIMALS, "The answer is D. Options A, B and C", True),
    ("B", ANIMALS, "Answer: B\n\nExplanation: options A and C", True),
]


@pytest.mark.slow  # builds a project (several seconds)
def test_choice_answers_through_acc_em1_and_macro_acc(tmp_path: Path) -> None:
    from helpers.metric_project import add_task, new_project, sql_rows, write_predictions

    from glc.workspace import Workspace

    root = new_project(tmp_path / "p")
    items = [(f"q{i:02}", {"question": "?", "options": opts}, ref)
             for i, (ref, opts, _, _) in enumerate(THROUGH_METRIC)]
    tasks = {m: add_task(root, m, "choice", items, options_field="input.options") for m in ("acc", "em1", "macro_acc")}
    preds = tmp_path / "p.jsonl"
    for tid in tasks.values():
        write_predictions(preds, "m", tid, [(iid, ans) for (iid, _, _), (_, _, ans, _) in
                                            zip(items, THROUGH_METRIC, strict=True) if ans is not None])
    ws = Workspace(root)
    ws.import_predictions(preds)
    ws.run()
    want = {f"q{i:02}": float(ok) for i, (_, _, _, ok) in enumerate(THROUGH_METRIC)}
    for metric, tid in tasks.items():
        got = dict(sql_rows(ws, f"SELECT instance_id, value FROM instance_scores__{metric} "  # noqa: S608
                                "WHERE model = 'm' AND task_id = ?", tid))
        got = {iid: got.get(iid, 0.0) for iid in want}  # no prediction: no row, counted as 0 by the task score
        bad = {iid: (THROUGH_METRIC[int(iid[1:])][2], got[iid]) for iid in want if got[iid] != want[iid]}
        assert not bad, (metric, bad)
    n_right = sum(ok for *_, ok in THROUGH_METRIC)
    score = dict(sql_rows(ws, "SELECT task_id, score FROM task_scores WHERE model = 'm'"))
    assert score[tasks["acc"]] == pytest.approx(100 * n_right / len(THROUGH_METRIC))


@pytest.mark.parametrize("text, message", [
    ("fold: {from: 'ＡＢＣ', to: 'AB'}\nrules:\n  - {name: x, pattern: '(a)'}\n",
     "'from' has 3 characters and 'to' 2: one for one"),
    ("fold: {from: 'ＡＡ', to: 'AB'}\nrules:\n  - {name: x, pattern: '(a)'}\n", "a character appears twice in 'from'"),
    ("rules:\n  - {name: x, option_text: true, no_letter: true}\n", "'no_letter: true' goes with a 'pattern'"),
])
def test_a_bad_fold_or_no_letter_rule_is_a_spec_error_with_its_line(project: Path, text: str, message: str) -> None:
    f = project / "specs" / "answers" / "choice_letter.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(SpecErrors) as err:
        load_choice_rules(project / "specs", project)
    assert message in str(err.value) and "choice_letter.yaml:" in str(err.value), str(err.value)


def test_a_no_letter_rule_needs_no_group(project: Path) -> None:
    f = project / "specs" / "answers" / "choice_letter.yaml"
    f.write_text("rules:\n  - {name: hedge, no_letter: true, pattern: '^[A-Z] or [A-Z]$'}\n", encoding="utf-8")
    assert load_choice_rules(project / "specs", project) == [
        {"name": "hedge", "kind": "no_letter", "pattern": "^[A-Z] or [A-Z]$"}]
