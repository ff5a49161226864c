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


PY_RULES = [(r["name"], regex.compile(python_pattern(r["pattern"], DOC["classes"])))
            for r in DOC["rules"] if "pattern" in r]


def python_letter(text: str) -> str | None:
    """The letter by the file's pattern rules, first match wins (the option-text rule needs options)."""
    for _, rx in PY_RULES:
        m = rx.search(text)
        if m:
            return m.group(1).upper()
    return None


@pytest.fixture(scope="module")
def rules() -> list[dict]:
    """The rules as the compiler loads them (named apart from conftest's `compiled`, the whole
    catalog's project, which would mark these tests slow)."""
    return load_choice_rules(REPO / "specs", REPO)


def duck(texts: list[str], patterns: list[str]) -> list[str | None]:
    """The rule chain as the compiled SQL evaluates it, over a column of answers."""
    con = duckdb.connect()
    try:
        chain = ", ".join(f"UPPER(NULLIF(REGEXP_EXTRACT(t, ${i + 2}, 1), ''))" for i in range(len(patterns)))
        rows = con.execute(f"SELECT COALESCE({chain}) FROM (SELECT unnest($1::VARCHAR[]) AS t, "  # noqa: S608
                           "generate_subscripts($1::VARCHAR[], 1) AS i) ORDER BY i", [texts, *patterns]).fetchall()
        return [r[0] for r in rows]
    finally:
        con.close()


def test_the_file_is_the_one_compiled(rules: list[dict]) -> None:
    assert [r["name"] for r in rules] == [r["name"] for r in DOC["rules"]]
    assert rules[0]["kind"] == "option_text" and all(r["pattern"] for r in rules[1:])
    assert "${" not in "".join(r["pattern"] or "" for r in rules)


@pytest.mark.parametrize("rule", [r["name"] for r in DOC["rules"] if "pattern" in r])
def test_each_rule_reads_its_examples(rules: list[dict], rule: str) -> None:
    declared = next(r for r in DOC["rules"] if r["name"] == rule)
    pattern = next(r["pattern"] for r in rules if r["name"] == rule)
    assert declared["examples"], "every pattern rule shows what it reads"
    texts = list(declared["examples"])
    alone = duck(texts, [pattern])
    assert dict(zip(texts, alone, strict=True)) == declared["examples"]
    # and Python reads the same
    rx = dict(PY_RULES)[rule]
    assert {t: (m.group(1).upper() if (m := rx.search(t)) else None) for t in texts} == declared["examples"]


def test_issue_examples_read_the_letter(rules: list[dict]) -> None:
    texts = ["B", "(B)", "**B**", "The answer is B.", "b", "Answer: **(b)**", "I choose (B) because", "答案是B"]
    assert duck(texts, [r["pattern"] for r in rules[1:]]) == ["B"] * len(texts)


answers = st.lists(st.sampled_from(CHOICE_PIECES) | st.text(TEXT_CHARS, max_size=3), max_size=6).flatmap(
    lambda parts: st.tuples(*[st.sampled_from(SEPARATORS) for _ in parts]).map(
        lambda seps: "".join(p + s for p, s in zip(parts, seps, strict=True))))


@settings(max_examples=examples(150), deadline=None)
@example(batch=["**B**", "__c__", "ÜB.", "answer is\u2028b", "答案是B", "I", "(AB)", "**", "\u0301B."])
@given(batch=st.lists(answers, min_size=1, max_size=30))
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_compiled_rules_agree_with_python_on_generated_answers(rules: list[dict], batch: list[str]) -> None:
    got = duck(batch, [r["pattern"] for r in rules if r["kind"] == "pattern"])
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
    (r"'\(([A-Za-z])\)'", r"'\(([A-Za-z]\)'", "not a usable regular expression"),
    (r"'\(([A-Za-z])\)'", r"'(?<=x)([A-Za-z])'", "not a usable regular expression"),
    (r"'\(([A-Za-z])\)'", r"'\([A-Za-z]\)'", "has no group"),
    (r"'${left}([A-Z])[.):,]'", r"'${lefty}([A-Z])[.):,]'", "unknown class ${lefty}"),
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
    _edit_rule(project, r"'\(([A-Za-z])\)'", r"'\[([A-Za-z])\]'")
    sql = "\n".join(n.sql for n in compile_project(project).nodes if n.name == "instance_scores__acc")
    assert r"'\[([A-Za-z])\]'" in sql and r"'\(([A-Za-z])\)'" not in sql


def test_every_bad_rule_is_reported_when_several_are(project: Path) -> None:
    """The rules are checked in one DuckDB: a rule it refuses leaves the next ones checked as before."""
    first = _edit_rule(project, r"'(?:\*\*|__)\(?([A-Za-z])\)?[.):]?(?:\*\*|__)'", r"'(?<=x)([A-Za-z])'")
    second = _edit_rule(project, r"'\(([A-Za-z])\)'", r"'\(([A-Za-z]\)'")
    with pytest.raises(SpecErrors) as err:
        load_choice_rules(project / "specs", project)
    lines = [e.line for e in err.value.errors]
    assert lines == [first, second] and all("not a usable regular expression" in e.message for e in err.value.errors)
    f = project / "specs" / "answers" / "choice_letter.yaml"
    f.write_text(RULES.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_choice_rules(project / "specs", project) == load_choice_rules(REPO / "specs", REPO)
