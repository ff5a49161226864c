"""Multiple-choice answers read by the compiled accuracy SQL (the nodes instance_refs__acc and
instance_scores__acc as glc compiles them, run on instance and prediction rows made here) against an
independent reading of the documented rules (helpers/choice_reference.py, plain Python written from
docs/metrics.md), on hand-picked and generated model outputs: letters in every common dress, the
option text itself, hedges, full-width forms, Chinese, accents, NFC and NFD, emoji, long and empty
outputs."""

from __future__ import annotations

import string
import unicodedata

import duckdb
import pytest
from glc.compiler.plan import compile_project
from helpers.choice_reference import read_choice
from helpers.examples import examples
from helpers.project import copy_project
from hypothesis import example, given, settings
from hypothesis import strategies as st

LETTERS = string.ascii_uppercase


@pytest.fixture(scope="module")
def acc_sql(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    root = copy_project(tmp_path_factory.mktemp("choice") / "p", small=True)
    nodes = {n.name: n.sql for n in compile_project(root).nodes}
    return nodes["instance_refs__acc"], nodes["instance_scores__acc"]


def glc_letters(sql: tuple[str, str], cases: list[tuple[str | None, list[str]]]) -> list[str | None]:
    """The letter acc reads from each (answer, options): the one reference letter A..Z it scores 1
    against (None when it scores none; a NULL answer is no prediction row)."""
    refs_sql, scores_sql = sql
    instances, predictions = [], []
    for n, (answer, options) in enumerate(cases):
        for gold in LETTERS:
            iid = f"{n}:{gold}"
            instances.append(("t", iid, "choice", [gold, *options], None, f'"{gold}"'))
            predictions.append(("m", "t", iid, answer, None, "k"))
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE instances (task_id VARCHAR, instance_id VARCHAR, ref_kind VARCHAR, "
                    "ref_texts VARCHAR[], ref_number DOUBLE, reference VARCHAR)")
        con.executemany("INSERT INTO instances VALUES (?, ?, ?, ?, ?, ?)", instances)
        con.execute("CREATE TABLE tasks AS SELECT 't' AS task_id, 'acc' AS metric, FALSE AS judged")
        con.execute("CREATE TABLE prediction_partitions AS SELECT 'm' AS model, 't' AS task_id, 1::BIGINT AS n_rows")
        con.execute("CREATE TABLE predictions (model VARCHAR, task_id VARCHAR, instance_id VARCHAR, output VARCHAR, "
                    "error VARCHAR, content_key VARCHAR)")
        con.executemany("INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?)", predictions)
        con.execute("CREATE TABLE judgments (model VARCHAR, task_id VARCHAR, instance_id VARCHAR, output VARCHAR, "
                    "error VARCHAR, prediction_key VARCHAR)")
        con.execute(f"CREATE TABLE instance_refs__acc AS {refs_sql}")
        rows = con.execute(f"SELECT instance_id, value FROM ({scores_sql})").fetchall()  # noqa: S608
    finally:
        con.close()
    hits: dict[int, list[str]] = {}
    for iid, value in rows:
        n, gold = iid.split(":")
        if value == 1.0:
            hits.setdefault(int(n), []).append(gold)
    assert all(len(v) == 1 for v in hits.values()), hits
    return [hits.get(n, [None])[0] for n in range(len(cases))]


def reference_letters(cases: list[tuple[str | None, list[str]]]) -> list[str | None]:
    return [read_choice(a, o) or None for a, o in cases]  # a hedge ("") matches no reference either


def differences(sql: tuple[str, str], cases: list[tuple[str | None, list[str]]]) -> list[tuple]:
    got, want = glc_letters(sql, cases), reference_letters(cases)
    return [(a, o, g, w) for (a, o), g, w in zip(cases, got, want, strict=True) if g != w]


ANIMALS = ["cat", "dog", "bird", "fish"]
ACCENTED = ["café au lait", "crème brûlée", "Ångström", "naïve"]
ZH = ["猫", "狗", "鸟", "鱼"]

HAND_PICKED: list[tuple[str | None, list[str]]] = [
    ("B", ANIMALS), ("(B)", ANIMALS), ("B.", ANIMALS), ("**B**", ANIMALS), ("Answer: B", ANIMALS),
    ("The answer is (C).", ANIMALS), ("b", ANIMALS), ("  B \n", ANIMALS), ("\n\nB", ANIMALS),
    ("dog", ANIMALS), ("Dog.", ANIMALS), ("B. dog", ANIMALS), ("(B) dog", ANIMALS), ("B: dog", ANIMALS),
    ("A or B", ANIMALS), ("not A, it's B", ANIMALS), ("Ｂ", ANIMALS), ("（B）", ANIMALS), ("答案是B", ZH),
    ("答案：Ｃ。", ZH), ("狗", ZH), ("crème brûlée", ACCENTED), ("CRÈME BRÛLÉE", ACCENTED), ("👍 B", ANIMALS),
    ("B 👍", ANIMALS), ("", ANIMALS), (None, ANIMALS), ("The answer is B." + " The dog barks." * 2000, ANIMALS),
    ("B vitamins", ["A vitamins", "B vitamins", "C vitamins", "D vitamins"]),
    ("I", ["I", "II", "III", "IV"]), ("A", ["A", "B", "C", "D"]), ("a dog", ANIMALS),
    # found by the differential test (each read no letter, or another one, before its fix)
    ("B\r\nThe dog barks.", ANIMALS),  # a Windows line break after the letter alone on the first line
    ("Ｂ．", ANIMALS), ("答案：Ｂ．", ZH), ("＊＊Ｂ＊＊", ANIMALS),  # full-width punctuation, as full-width letters
    ("B、狗", ZH), ("B、C", ZH),  # the ideographic comma closes a letter, and joins a hedge
    ("B, C or D", ANIMALS), ("A, B, C, or D", ANIMALS), ("Both B and C", ANIMALS),  # hedges of three, "both"
]


def test_hand_picked_outputs_read_as_documented(acc_sql: tuple[str, str]) -> None:
    assert differences(acc_sql, HAND_PICKED) == []


OPTION_SETS = [ANIMALS, ACCENTED, ZH, ["Vitamin A", "Vitamin B", "Vitamin C", "Vitamin D"],
               ["It is A.", "B is wrong", "Paris", "I don't know"], ["yes", "no"], ["1", "2", "3", "4", "5"],
               ["😀 happy", "😢 sad", "😠 angry"]]
LETTER_DRESS = ["{}", "({})", "{}.", "{})", "**{}**", "Answer: {}", "The answer is {}.", "The answer is ({}).",
                "答案是{}", "答案：{}。", "（{}）", "选项{}正确", "{} is correct", "I think it is {}.", "\\boxed{{{}}}",
                "$\\boxed{{{}}}$", "[{}]", "<answer>{}</answer>", "{}\nBecause", "Option {} is the answer.",
                "**Answer:** {}", "I choose ({}) because", "{}: {}"]
NOISE = ["", " ", "\n", "\t", "\u3000", "\u00a0", "\u200b", "\ufeff", " \n ", "\r\n"]


@st.composite
def outputs(draw: st.DrawFn) -> tuple[str, list[str]]:
    options = draw(st.sampled_from(OPTION_SETS))
    k = draw(st.integers(0, len(options) - 1))
    letter = LETTERS[k]
    how = draw(st.sampled_from(["letter", "letter", "text", "letter+text", "two", "free"]))
    if how == "letter":
        dress = draw(st.sampled_from(LETTER_DRESS))
        body = dress.format(*[letter] * dress.count("{}")) if "{}: {}" != dress else f"{letter}: {options[k]}"
        if draw(st.booleans()):
            body = body.lower()
        if draw(st.booleans()):  # full-width: the letters, or all of ASCII
            chars = string.ascii_letters if draw(st.booleans()) else string.ascii_letters + string.punctuation
            body = "".join(chr(ord(c) + 0xFEE0) if c in chars else c for c in body)
    elif how == "text":
        body = options[k]
        body = draw(st.sampled_from([body, body.upper(), body.lower(), body + ".", f"The answer is {body}."]))
    elif how == "letter+text":
        body = draw(st.sampled_from(["{}. {}", "({}) {}", "{}) {}", "{}: {}", "**{}**. {}", "{} - {}"])).format(
            letter, options[k])
    elif how == "two":
        other, third = (LETTERS[draw(st.integers(0, len(options) - 1))] for _ in range(2))
        body = draw(st.sampled_from(["{} or {}", "not {}, it's {}", "{}, not {}", "Either {} or {}.",
                                     "({}) or ({})", "{}/{}", "{} and {}", "The answer is {}. It cannot be {}.",
                                     "{}、{}", "Both {} and {}", "{}, {} or {}", "{}, {}, and {}", "{}/{}/{}",
                                     "Answer: {}, {} or {}", "{} or {} or {}"])
                    ).format(letter, other, third)
    else:
        body = draw(st.text(st.sampled_from(list("ABCabc .,:()*\n答案是选项Ｂ（）é\u0301😀")), max_size=12))
    form = draw(st.sampled_from(["NFC", "NFD", "NFKC", None]))
    if form:
        body = unicodedata.normalize(form, body)
    return draw(st.sampled_from(NOISE)) + body + draw(st.sampled_from(NOISE)), options


@settings(max_examples=examples(60), deadline=None)
@example(batch=[("B\r\nThe dog barks.", ANIMALS)])
@given(batch=st.lists(outputs(), min_size=1, max_size=40))
def test_generated_outputs_read_as_documented(acc_sql: tuple[str, str], batch: list[tuple[str, list[str]]]) -> None:
    assert differences(acc_sql, batch) == []
