"""Metric truth: generated inputs scored by glc and by the reference implementations its
metrics claim to match (the SQuAD 2.0 evaluation rules, sacrebleu, rouge-score, the ``anls``
package, jiwer, scikit-learn, numpy/scipy, pycocotools, scikit-image and sewar).

glc's side always goes through a real project: the generated cases become the instances of
tasks (a JSONL dataset per task), the predictions are imported from a JSONL file and
``glc run`` builds the compiled SQL; scores are read from ``instance_scores__<metric>`` and
``task_scores``. One build scores a whole batch of cases, so a Hypothesis example is a list of
cases (the shrinker then reduces a failing list to the one case that disagrees).

Where glc documents a convention that differs from the reference (docs/metrics.md, the
``conventions:`` of the metric specs), the reference here is adapted in exactly that way and
nowhere else; each adaptation names the convention it follows.

Used by tests/test_metric_truth.py (fast profile) and benchmarks/bench_metric_truth.py (long
profile). Every ``check_*`` returns a list of disagreements (empty when glc agrees).
"""

from __future__ import annotations

import collections
import contextlib
import io
import itertools
import json
import math
import re
import string
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import yaml
from hypothesis import strategies as st

from glc.workspace import Workspace
from helpers.metric_project import new_project

TOL = 1e-6

# --- characters ----------------------------------------------------------------------------

#: Python's whitespace (str.split(), str.strip(), re's \s on str): categories Zs, plus
#: \t \n \v \f \r, the information separators U+001C..U+001F, U+0085, U+2028 and U+2029.
PY_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
#: text characters Hypothesis may draw: anything but surrogates (no store can encode a lone
#: one) and code points this Python's Unicode database has not assigned (see the note on
#: Unicode versions in docs/metrics.md).
TEXT_CHARS = st.characters(exclude_categories=("Cs", "Cn"), exclude_characters="\x00")
PIECES = [
    "the", "The", "THE", "a", "A", "an", "An", "cat", "cats", "dog", "Paris", "x", "y", "it's", "don't",
    "3.5", "1,000", "10-20", "2024", "e.g.", "U.S.", "naïve", "café", "cafe\u0301", "a\u0301", "the\u0301",
    "İstanbul", "ΣΟΦΟΣ", "ΌΣΟΣ", "Σ", "ΑΣ", "ΑΣ'", "straße", "ﬁne", "ﬃ", "ΐ", "ŉ", "ǅ", "ß", "天气", "很好",
    "日本語", "是a",
    "a的", "한국어", "カタカナ", "々", "ー", "שלום", "مرحبا", "👍🏽", "🙂", "_", "_a_", "a_b", "½", "٣", "Ⅻ", "₂",
    "…", "«", "»", "，", "。", "<skipped>", "&quot;", "&amp;", "&lt;", "&gt;", "&amp;quot;", "-", "--", "-\n",
    ".", ",", "!", "?", "(", ")", '"', "'", "$", "%", "/", "\\", "@", "#", "a.", ".a", "a,b", "1.", ".5", "5.",
    "3-", "a-", "Ω", "K", "ſ",
]
#: every Python whitespace character, runs and CRLF, look-alikes that are not whitespace, nothing
SEPARATORS = [" ", " ", " ", "  ", "\r\n", " \t ", *PY_WHITESPACE, "\u200b", "\u180e", "\ufeff", "\u2060", ""]


@st.composite
def texts(draw: Any, max_pieces: int = 8) -> str:
    """Text made of words, numbers, punctuation, markup, CJK, RTL, emoji, combining marks and
    arbitrary characters, joined by every kind of whitespace (and sometimes by nothing)."""
    n = draw(st.integers(0, max_pieces))
    out = draw(st.sampled_from(SEPARATORS)) if draw(st.booleans()) else ""
    for _ in range(n):
        piece = draw(st.sampled_from(PIECES) | st.text(TEXT_CHARS, max_size=4))
        out += piece + draw(st.sampled_from(SEPARATORS))
    return out


@st.composite
def answer_of(draw: Any, ref: str) -> str:
    """A prediction near ``ref``: the same, re-spaced, re-cased, with words dropped, repeated
    or replaced, or unrelated text."""
    how = draw(st.sampled_from(["same", "respace", "case", "edit", "edit", "other"]))
    if how == "same":
        return ref
    if how == "other":
        return draw(texts())
    words = ref.split()
    if how == "respace":
        return draw(st.sampled_from(SEPARATORS)).join(words) + draw(st.sampled_from(SEPARATORS))
    if how == "case":
        return ref.upper() if draw(st.booleans()) else ref.swapcase()
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["drop", "dup", "swap", "insert"]))
        k = draw(st.integers(0, len(words))) if words else 0
        if op == "drop" and words:
            words.pop(min(k, len(words) - 1))
        elif op == "dup" and words:
            words.insert(k, words[min(k, len(words) - 1)])
        elif op == "swap" and len(words) > 1:
            j = min(k, len(words) - 2)
            words[j], words[j + 1] = words[j + 1], words[j]
        else:
            words.insert(k, draw(st.sampled_from(PIECES)))
    return draw(st.sampled_from(SEPARATORS[:8])).join(words)


@dataclass
class TextCase:
    refs: list[str]
    pred: str | None


@st.composite
def text_cases(draw: Any) -> TextCase:
    refs = draw(st.lists(texts(), min_size=1, max_size=3))
    pred = None if draw(st.integers(0, 15)) == 0 else draw(answer_of(refs[0]))
    return TextCase(refs, pred)


# --- the glc side --------------------------------------------------------------------------


@dataclass(frozen=True)
class Decl:
    """A task of the oracle's project: its metric and how its data is read."""

    metric: str
    reference: str
    modality: str = "nlp"
    paradigm: str = "nlp"
    dataset: dict[str, Any] = field(default_factory=dict)
    sota: float = 50.0


@dataclass
class TaskRun:
    """One task's instances (``refs``: id -> reference, in data-file order) and, per model, its
    prediction records in prediction-file order (a prediction of None is a missing answer)."""

    refs: dict[str, Any]
    preds: dict[str, list[tuple[str, Any]]]


@dataclass
class Scored:
    values: dict[str, dict[str, float | None]]  # model -> instance -> value
    stats: dict[str, dict[str, Any]]  # model -> instance -> stats (a STRUCT, as a dict; a NULL or a list for some)
    score: dict[str, float | None]  # model -> task score


class GlcOracle:
    """A project whose tasks are declared once; ``run`` rewrites their data and predictions,
    imports the predictions and builds them with ``Workspace.run``."""

    def __init__(self, tmp: Path, decls: dict[str, Decl]) -> None:
        self.root = new_project(tmp)
        self.decls = decls
        self.task_ids: dict[str, str] = {}
        folder = self.root / "specs" / "tasks" / "test"
        for key, d in decls.items():
            tid = f"{d.modality}.truth_{key}"
            self.task_ids[key] = tid
            spec = {"id": tid, "name": f"Truth {key}", "modality": d.modality, "paradigm": d.paradigm,
                    "metric": d.metric, "sota": {"value": d.sota, "source": "test"},
                    "dataset": {"format": "jsonl", "path": f"data/truth/{key}.jsonl",
                                "reference": d.reference, **d.dataset}}
            (folder / f"{tid}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        (self.root / "data" / "truth" / "images").mkdir(parents=True, exist_ok=True)
        from PIL import Image

        Image.fromarray(np.zeros((12, 12), dtype=np.uint8)).save(self.root / "data" / "truth" / "images" / "0.png")
        self._placeholders(decls)
        self.ws = Workspace(self.root)
        self.calls = 0

    PLACEHOLDER = {"text": ["x"], "choice": "A", "label": "x", "labels": ["x"], "number": 1.0,
                   "boxes": [[0, 0, 1, 1]], "image": "images/0.png"}

    def _placeholders(self, keys: Any) -> None:
        """One valid instance per task: every build loads the data of every task."""
        for key in keys:
            line = json.dumps({"id": "p", "input": {}, "output": self.PLACEHOLDER[self.decls[key].reference]})
            (self.root / "data" / "truth" / f"{key}.jsonl").write_text(line + "\n", encoding="utf-8")

    def run(self, runs: dict[str, TaskRun]) -> dict[str, Scored]:
        self.calls += 1
        lines = []
        for key, r in runs.items():
            # ensure_ascii: a JSONL line holds no raw U+2028 or U+0085 a line splitter could take for a line end
            data = "".join(json.dumps({"id": i, "input": {}, "output": ref}) + "\n" for i, ref in r.refs.items())
            (self.root / "data" / "truth" / f"{key}.jsonl").write_text(data, encoding="utf-8")
            for model, preds in r.preds.items():
                lines += [json.dumps({"model": model, "task": self.task_ids[key], "id": i, "prediction": p})
                          for i, p in preds]
        pred_file = self.root / "preds.jsonl"
        pred_file.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        try:
            self.ws.import_predictions(pred_file)
            self.ws.run(select=[f"task:{self.task_ids[k]}" for k in runs])
        except Exception:
            self._placeholders(runs)  # data glc refused must not break the next run
            raise
        con = duckdb.connect(self.ws.target.path, read_only=True)
        try:
            out: dict[str, Scored] = {}
            for key in runs:
                tid, metric = self.task_ids[key], self.decls[key].metric
                rows = con.execute(f'SELECT model, instance_id, value, stats FROM "instance_scores__{metric}" '
                                   "WHERE task_id = ?", [tid]).fetchall()
                got = Scored({}, {}, {})
                for model, iid, value, stats in rows:
                    got.values.setdefault(model, {})[iid] = value
                    got.stats.setdefault(model, {})[iid] = stats
                for model, score in con.execute("SELECT model, score FROM task_scores WHERE task_id = ?",
                                                [tid]).fetchall():
                    got.score[model] = score
                out[key] = got
            return out
        finally:
            con.close()


def close(a: float | None, b: float | None, tol: float = TOL) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=tol)


@dataclass
class Disagreement:
    metric: str
    case: Any
    glc: Any
    reference: Any

    def __str__(self) -> str:
        return f"{self.metric}: glc {self.glc!r} != reference {self.reference!r} for {self.case!r}"


def _ids(n: int, order: list[int] | None = None) -> list[str]:
    """Instance ids in data-file order; ``order`` makes them sort differently from that order."""
    return [f"i{k:04d}" for k in (order if order is not None else range(n))]


def _permuted(items: list[Any], perm: list[int] | None) -> list[Any]:
    return [items[k] for k in perm] if perm is not None else items[::-1]


Check = Any  # a generator: yields the runs it needs, receives the scores, returns disagreements


def run_checks(oracle: GlcOracle, checks: list[Check]) -> list[Disagreement]:
    """Score several prepared checks in one build (each under its own task keys)."""
    runs: dict[str, TaskRun] = {}
    for c in checks:
        runs.update(next(c))
    got = oracle.run(runs)
    out: list[Disagreement] = []
    for c in checks:
        try:
            c.send(got)
        except StopIteration as stop:
            out.extend(stop.value)
        else:
            raise RuntimeError("a check yields once")
    return out


def _scores(got: dict[str, Scored], slot: str) -> dict[str, Scored]:
    """The scores of one check's tasks, under the keys it declared without ``slot``."""
    return {k[: len(k) - len(slot)]: v for k, v in got.items() if k.endswith(slot)}


def _orders_agree(metric: str, got: Scored, case: Any) -> list[Disagreement]:
    """The task score must not depend on the order of the prediction records (exact equality)."""
    a, b = got.score.get("fwd"), got.score.get("perm")
    return [] if a == b else [Disagreement(f"{metric} (record order)", case, a, b)]


# --- references: SQuAD 2.0 -----------------------------------------------------------------

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)  # the official SQuAD 2.0 script's pattern


def squad_normalize(s: str, lowercase: bool = True, punct: bool = True, articles: bool = True,
                    whitespace: bool = True) -> str:
    """normalize_answer of the official SQuAD 2.0 evaluation script, step by step as declared."""
    if lowercase:
        s = s.lower()
    if punct:
        s = "".join(ch for ch in s if ch not in _PUNCT)
    if articles:
        s = _ARTICLES.sub(" ", s)
    if whitespace:
        s = " ".join(s.split())
    return s


def _squad_golds(refs: list[str]) -> list[str]:
    golds = [r for r in refs if squad_normalize(r)]
    return golds or [""]


def squad_exact(pred: str, refs: list[str]) -> float:
    return float(max(squad_normalize(g) == squad_normalize(pred) for g in _squad_golds(refs)))


def _squad_f1_one(gold: str, pred: str) -> float:
    g, p = squad_normalize(gold).split(), squad_normalize(pred).split()
    if not g or not p:
        return float(g == p)
    same = sum((collections.Counter(g) & collections.Counter(p)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def squad_f1(pred: str, refs: list[str]) -> float:
    return max(_squad_f1_one(g, pred) for g in _squad_golds(refs))


# --- references: ROUGE (rouge-score with glc's documented tokenization) ----------------------


def _is_cjk(ch: str) -> bool:
    import regex

    return bool(regex.match(r"[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]", ch))


class GlcRougeTokenizer:
    """glc's documented ROUGE tokenization (docs/metrics.md): lower-case (str.lower()); tokens
    are made of letters, marks and digits (general categories L*, M*, N*): each such character of
    the Han, Hiragana, Katakana or Hangul scripts is a token of its own, every other maximal run
    is a token; anything else (a CJK symbol such as ㌦ included) separates tokens. rouge-score's
    own tokenizer keeps only [a-z0-9] runs, so it scores Chinese, Greek or accented text 0."""

    def tokenize(self, text: str) -> list[str]:
        out: list[str] = []
        run = ""
        for ch in text.lower():
            word = unicodedata.category(ch)[0] in "LMN"
            if word and not _is_cjk(ch):
                run += ch
                continue
            if run:
                out.append(run)
                run = ""
            if word:
                out.append(ch)
        if run:
            out.append(run)
        return out


def rouge_reference(kind: str, pred: str, refs: list[str]) -> float:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer([kind], tokenizer=GlcRougeTokenizer())
    return scorer.score_multi(refs, pred)[kind].fmeasure


# --- references: ANLS (the `anls` package's rule) ------------------------------------------


def anls_reference(pred: str, refs: list[str], threshold: float = 0.5) -> float:
    """anls_score of the ``anls`` package (PyPI; Biten et al. 2019): both sides stripped,
    lower-cased and re-spaced with str methods; NL = Levenshtein distance over the longer
    upper-cased length; 1 - NL when NL < threshold, else 0; best reference."""
    from rapidfuzz.distance import Levenshtein

    y_pred = " ".join(pred.strip().lower().split())
    best = 0.0
    for gold in refs:
        y_true = " ".join(gold.strip().lower().split())
        length = max(len(y_pred.upper()), len(y_true.upper()))
        nl = 0.0 if length == 0 else Levenshtein.distance(y_pred, y_true) / length
        best = max(best, 1 - nl if nl < threshold else 0.0)
    return best


# --- references: BLEU (sacrebleu) ----------------------------------------------------------


def bleu_reference(order: int, hyps: list[str], refs: list[list[str]]) -> tuple[float, list[list[int]]]:
    """sacrebleu's corpus BLEU (13a, no smoothing) and its per-segment statistics
    [hyp_len, ref_len, correct_1..N, total_1..N]."""
    from sacrebleu.metrics import BLEU

    width = max(len(r) for r in refs)
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(width)]
    bleu = BLEU(max_ngram_order=order, smooth_method="none", tokenize="13a", force=True)
    score = bleu.corpus_score(hyps, streams).score
    stats = bleu._extract_corpus_statistics(hyps, streams)
    return score, stats


# --- references: WER / CER (jiwer) ---------------------------------------------------------


def edit_reference(unit: str, hyps: list[str], refs: list[str]) -> tuple[float, list[tuple[int, int]]]:
    """jiwer's corpus WER or CER (default transforms) in percent, and per sentence (edits,
    reference length)."""
    import jiwer

    proc = jiwer.process_words if unit == "word" else jiwer.process_characters
    per = []
    for h, r in zip(hyps, refs, strict=True):
        out = proc(r, h)
        per.append((out.substitutions + out.deletions + out.insertions, len(out.references[0])))
    whole = proc(refs, hyps)
    return 100.0 * (whole.wer if unit == "word" else whole.cer), per


# --- the text family -----------------------------------------------------------------------

TEXT_DECLS = {m: Decl(m, "text") for m in
              ("acc", "f1", "bleu1", "bleu4", "rouge1", "rouge_l", "anls", "wer", "cer", "wer_normalized")}


def text_check(cases: list[TextCase], perm: list[int] | None = None, order: list[int] | None = None,
               slot: str = "") -> Check:
    ids = _ids(len(cases), order)
    refs = dict(zip(ids, [c.refs for c in cases], strict=True))
    preds = [(i, c.pred) for i, c in zip(ids, cases, strict=True)]
    runs = {k: TaskRun(refs, {"fwd": preds, "perm": _permuted(preds, perm)}) for k in TEXT_DECLS}
    got = _scores((yield {k + slot: v for k, v in runs.items()}), slot)
    answers = [c.pred or "" for c in cases]
    out: list[Disagreement] = []

    def per_instance(metric: str, fn: Any) -> None:
        vals = got[metric].values["fwd"]
        want_all = []
        for i, c, a in zip(ids, cases, answers, strict=True):
            want = fn(a, c.refs)
            want_all.append(want)
            if not close(vals.get(i), want):
                out.append(Disagreement(metric, c, vals.get(i), want))
        if not close(got[metric].score.get("fwd"), 100.0 * float(np.mean(want_all))):
            out.append(Disagreement(f"{metric} (task score)", cases, got[metric].score.get("fwd"),
                                    100.0 * float(np.mean(want_all))))
        out.extend(_orders_agree(metric, got[metric], cases))

    per_instance("acc", squad_exact)
    per_instance("f1", squad_f1)
    per_instance("rouge1", lambda a, r: rouge_reference("rouge1", a, r))
    per_instance("rouge_l", lambda a, r: rouge_reference("rougeL", a, r))
    per_instance("anls", anls_reference)
    for metric, order in (("bleu1", 1), ("bleu4", 4)):
        score, stats = bleu_reference(order, answers, [c.refs for c in cases])
        mine = got[metric].stats["fwd"]
        for i, c, s in zip(ids, cases, stats, strict=True):
            # sacrebleu: [hyp_len, ref_len, matches_1..N, totals_1..N]; glc: a STRUCT of those, by name
            want = {"hyp_len": float(s[0]), "ref_len": float(s[1]),
                    **{f"matches_{k}": float(s[1 + k]) for k in range(1, order + 1)},
                    **{f"totals_{k}": float(s[1 + order + k]) for k in range(1, order + 1)}}
            if mine.get(i) != want:
                out.append(Disagreement(f"{metric} (segment statistics)", c, mine.get(i), want))
        if not close(got[metric].score.get("fwd"), score):
            out.append(Disagreement(metric, cases, got[metric].score.get("fwd"), score))
        out.extend(_orders_agree(metric, got[metric], cases))
    for metric, unit, norm in (("wer", "word", False), ("cer", "char", False), ("wer_normalized", "word", True)):
        hyps = [squad_normalize(a, articles=False) if norm else a for a in answers]
        firsts = [squad_normalize(c.refs[0], articles=False) if norm else c.refs[0] for c in cases]
        score, per = edit_reference(unit, hyps, firsts)
        mine = got[metric].stats["fwd"]
        for i, c, (edits, length) in zip(ids, cases, per, strict=True):
            want_edits = {"edits": float(edits), "ref_len": float(length)}
            if mine.get(i) != want_edits:
                out.append(Disagreement(f"{metric} (sentence)", c, mine.get(i), want_edits))
        if not close(got[metric].score.get("fwd"), score):
            out.append(Disagreement(metric, cases, got[metric].score.get("fwd"), score))
        out.extend(_orders_agree(metric, got[metric], cases))
    return out


# --- multiple choice (glc's documented option-letter rules) ---------------------------------

_WS = "[" + re.escape(PY_WHITESPACE + "\u200b\ufeff") + "]"  # and the invisible zero-width space, BOM
_CJK = r"\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}"
_LEFT = rf"(?:^|[^\p{{L}}\p{{N}}\p{{M}}_]|[{_CJK}])"  # a letter stands alone: nothing word-like before it
_MARK = "[.):,;!?。，）：；！？]"
_OPEN, _CLOSE = "[(（]", "[)）]"
_ANSWER = rf"{_LEFT}(?i:answer)(?:{_WS}*[:：]|{_WS}+(?i:is)(?:{_WS}*[:：])?|{_WS}+){_WS}*{_OPEN}?"
_CHOICE_RULES = [  # (pattern, names no single option)
    (rf"^{_WS}*(?:\*\*|__|\$?\\boxed\{{|\[|<answer>|[\"'`“‘])?{_WS}*{_OPEN}?([A-Za-z]){_CLOSE}?{_WS}*"
     rf"(?:\*\*|__|\}}\$?|\]|</answer>|[\"'`”’])?{_WS}*[.:。]?{_WS}*$", False),
    (rf"\\boxed\{{{_WS}*{_OPEN}?([A-Za-z]){_CLOSE}?{_WS}*\}}", False),
    (rf"^{_WS}*(?:(?i:(?:the{_WS}+)?(?:answers?|options?)(?:{_WS}+(?:is|are))?){_WS}*[:：]?{_WS}*|(?i:either){_WS}+)?"
     rf"{_OPEN}?(?:\*\*)?[A-Z](?:\*\*)?{_CLOSE}?{_WS}*(?:,|/|or|and|或|和|还是){_WS}*{_OPEN}?(?:\*\*)?[A-Z]"
     rf"(?:\*\*)?{_CLOSE}?[.!。]?{_WS}*$", True),
    (rf"{_ANSWER}([A-HJ-Z])(?:{_MARK}|{_WS}|\*|$)", False),
    (rf"{_ANSWER}([A-Za-z]){_CLOSE}?[.!。]?{_WS}*$", False),
    (rf"{_LEFT}([A-Z]){_WS}+is{_WS}+(?:correct|right|the{_WS}+(?:correct{_WS}+|right{_WS}+)?answer)(?![A-Za-z0-9_])",
     False),
    (rf"^{_WS}*{_OPEN}?([A-Za-z])(?:{_MARK}|{_CLOSE}?[ \t]*\n)", False),
    (rf"(?:\*\*|__){_OPEN}?([A-Za-z]){_CLOSE}?[.):]?(?:\*\*|__)", False),
    (rf"{_OPEN}([A-Za-z]){_CLOSE}", False),
    (rf"{_LEFT}([A-Z])[.)。）]?{_WS}*$", False),
    (rf"{_LEFT}([A-Z])(?:{_MARK}|[{_CJK}])", False),
]


def choice_reference(text: str) -> str | None:
    """The option letter by glc's documented rules (docs/metrics.md, em1/acc conventions), without the
    instance's options (the option-text rule needs them): "" where the answer hedges between two."""
    import regex

    # full-width Latin letters are read as ASCII ones (their NFKC forms)
    text = "".join(unicodedata.normalize("NFKC", c) if "\uff21" <= c <= "\uff3a" or "\uff41" <= c <= "\uff5a" else c
                   for c in text)
    for rule, hedge in _CHOICE_RULES:
        m = regex.search(rule, text)
        if m:
            return "" if hedge else m.group(1).upper()
    return None


CHOICE_PIECES = ["A", "B", "c", "(D)", "(b)", "E.", "B)", "C:", "a,", "**", "__", "*", "answer", "Answer", "ANSWER",
                 "or", "and", "\\boxed{", "}", "$", "[", "]", "'", "`", "<answer>", "</answer>", "（", "）", "。", "，",
                 "：", "\n", "is correct", "is the answer", "\u200b", "\ufeff", "Ｂ", "ｃ", "Ｉ",
                 "answers", "is", ":", "answer:", "The answer is", "I", "I think", "it is", "答案是", "选", "是", "Ä",
                 "ÜB", "É", "Bob", "cat", "选项", "한", "ǅ", "K", "ſ", "\u0301", "_", "1", "."]


@st.composite
def choice_texts(draw: Any) -> str:
    n = draw(st.integers(0, 6))
    return "".join(draw(st.sampled_from(CHOICE_PIECES) | st.text(TEXT_CHARS, max_size=2))
                   + draw(st.sampled_from(SEPARATORS)) for _ in range(n))


CHOICE_DECLS = {"em1_choice": Decl("em1", "choice")}


def choice_check(cases: list[tuple[str, str]], slot: str = "") -> Check:
    """cases: (reference letter, answer)."""
    ids = _ids(len(cases))
    got = _scores((yield {"em1_choice" + slot: TaskRun(
        dict(zip(ids, [r for r, _ in cases], strict=True)),
        {"fwd": [(i, a) for i, (_, a) in zip(ids, cases, strict=True)]})}), slot)
    vals = got["em1_choice"].values["fwd"]
    out = []
    for i, (ref, answer) in zip(ids, cases, strict=True):
        want = float(choice_reference(answer) == ref.upper())
        if not close(vals.get(i), want):
            out.append(Disagreement("em1_choice", (ref, answer, choice_reference(answer)), vals.get(i), want))
    return out


# --- labels: micro F1 and macro accuracy (scikit-learn) ------------------------------------


def _label_norm(s: str) -> str:
    return squad_normalize(s, punct=False, articles=False)


LABEL_PIECES = ["cat", "Cat", "CAT", "dog", "bird", "éclair", "ÉCLAIR", "İ", "ΣΣ", "ß", "new york", "New  York",
                "天气", "", " ", "\xa0", "a\u0301"]


@st.composite
def labels(draw: Any) -> str:
    return draw(st.sampled_from(LABEL_PIECES) | st.text(TEXT_CHARS, max_size=3))


@st.composite
def label_cases(draw: Any) -> tuple[list[str], str | None]:
    """(reference labels, answer): the answer joins labels with commas and any whitespace."""
    gold = draw(st.lists(labels(), min_size=0, max_size=3))
    gold = [g for g in gold if g.strip()]
    chosen = draw(st.lists(st.sampled_from(gold) if gold else labels(), max_size=3)) + draw(
        st.lists(labels(), max_size=2))
    seps = [draw(st.sampled_from([",", ", ", " ,", ",\xa0", ",\u3000", ",\t"])) for _ in chosen]
    answer = "".join(draw(st.sampled_from(["", "\u2028", " "])) + c + s for c, s in zip(chosen, seps, strict=True))
    return gold, (None if draw(st.integers(0, 12)) == 0 else answer)


LABEL_DECLS = {"micro_f1": Decl("micro_f1", "labels"), "macro_acc": Decl("macro_acc", "label")}


def micro_f1_reference(cases: list[tuple[list[str], str]]) -> float:
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    gold = [{_label_norm(x) for x in refs} - {""} for refs, _ in cases]
    pred = [{_label_norm(x) for x in (a or "").split(",")} - {""} for _, a in cases]
    if not any(gold) and not any(pred):
        return 0.0  # glc: no label anywhere scores 0 (scikit-learn has no classes to binarize)
    mlb = MultiLabelBinarizer().fit(gold + pred)
    y_true, y_pred = mlb.transform(gold), mlb.transform(pred)
    if y_true.shape[1] == 1:  # one column reads as binary 0/1 labels to scikit-learn: add an empty class
        y_true, y_pred = np.hstack([y_true, 0 * y_true]), np.hstack([y_pred, 0 * y_pred])
    return 100.0 * f1_score(y_true, y_pred, average="micro", zero_division=0)


def labels_check(cases: list[tuple[list[str], str | None]], perm: list[int] | None = None,
                 order: list[int] | None = None, slot: str = "") -> Check:
    from sklearn.metrics import balanced_accuracy_score

    ids = _ids(len(cases), order)
    preds = [(i, a) for i, (_, a) in zip(ids, cases, strict=True)]
    single = [(g[0] if g else "none", a) for g, a in cases]  # macro accuracy: one label per instance
    runs = {"micro_f1": TaskRun(dict(zip(ids, [g for g, _ in cases], strict=True)),
                                {"fwd": preds, "perm": _permuted(preds, perm)}),
            "macro_acc": TaskRun(dict(zip(ids, [g for g, _ in single], strict=True)),
                                 {"fwd": preds, "perm": _permuted(preds, perm)})}
    got = _scores((yield {k + slot: v for k, v in runs.items()}), slot)
    out = []
    want = micro_f1_reference(cases)
    if not close(got["micro_f1"].score.get("fwd"), want):
        out.append(Disagreement("micro_f1", cases, got["micro_f1"].score.get("fwd"), want))
    y_true = [_label_norm(g.strip()) for g, _ in single]
    y_pred = [_label_norm(a or "") for _, a in single]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = 100.0 * balanced_accuracy_score(y_true, y_pred)
    if not close(got["macro_acc"].score.get("fwd"), want):
        out.append(Disagreement("macro_acc", single, got["macro_acc"].score.get("fwd"), want))
    for metric in runs:
        out.extend(_orders_agree(metric, got[metric], cases))
    return out


# --- numbers: MAE, MSE, RMSE, Pearson (numpy / scipy) --------------------------------------

_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def first_number(text: str | None, invalid: float = 0.0) -> float:
    """glc's documented rule: the first number of the answer; no number, or one that is not a
    finite double (1e999), counts as the metric's invalid_value."""
    m = _NUMBER.search(text or "")
    if m is None:
        return invalid
    value = float(m.group(0))
    return value if math.isfinite(value) else invalid


@st.composite
def number_cases(draw: Any) -> tuple[float, str | None]:
    ref = draw(st.integers(-2000, 2000)) / draw(st.sampled_from([1, 2, 4, 10, 100]))
    how = draw(st.sampled_from(["exact", "near", "text", "none", "junk", "huge", "missing"]))
    if how == "exact":
        return ref, repr(ref)
    value = draw(st.integers(-2000, 2000)) / draw(st.sampled_from([1, 4, 10, 1000]))
    if how == "near":
        return ref, str(value)
    if how == "text":
        return ref, draw(st.sampled_from(["about ", "≈ ", "x=", "－", "-", "\xa0"])) + str(value) + " units"
    if how == "huge":
        return ref, draw(st.sampled_from(["1e999", "-1e400", "5e-400", "1e30", "12345678901234567890"]))
    if how == "missing":
        return ref, None
    return ref, draw(st.sampled_from(["no idea", "", "..", "e5", "٣", "１２", "-", "."]))


NUMBER_DECLS = {m: Decl(m, "number") for m in ("mae", "mse", "rmse", "pcc")}


def numbers_check(cases: list[tuple[float, str | None]], perm: list[int] | None = None,
                  order: list[int] | None = None, slot: str = "") -> Check:
    from scipy.stats import pearsonr

    ids = _ids(len(cases), order)
    preds = [(i, a) for i, (_, a) in zip(ids, cases, strict=True)]
    refs = dict(zip(ids, [r for r, _ in cases], strict=True))
    got = _scores((yield {m + slot: TaskRun(refs, {"fwd": preds, "perm": _permuted(preds, perm)})
                          for m in NUMBER_DECLS}), slot)
    y = np.array([r for r, _ in cases])
    x = np.array([first_number(a) for _, a in cases])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = float(pearsonr(y, x).statistic)
        except ValueError:  # fewer than two values
            r = float("nan")
    wants = {"mae": float(np.mean(np.abs(x - y))), "mse": float(np.mean((x - y) ** 2)),
             "rmse": float(np.sqrt(np.mean((x - y) ** 2))),
             "pcc": 0.0 if math.isnan(r) else 100.0 * r}  # glc: 0 where Pearson is undefined
    out = []
    for metric, want in wants.items():
        if not close(got[metric].score.get("fwd"), want):
            out.append(Disagreement(metric, cases, got[metric].score.get("fwd"), want))
        out.extend(_orders_agree(metric, got[metric], cases))
    return out


# --- boxes: IoU and COCO AP (pycocotools) --------------------------------------------------

COCO_THRESHOLDS = {"ap": list(np.linspace(0.5, 0.95, 10)), "ap50": [0.5], "ap75": [0.75]}


@dataclass
class BoxCase:
    """Boxes as xyxy in glc's reading; ``fmt`` is how they are written for the task."""

    refs: list[tuple[float, float, float, float]]
    ref_labels: list[str | None]
    preds: list[tuple[float, float, float, float]]
    pred_labels: list[str | None]
    scores: list[float | None]  # None: no score given
    as_text: bool = False  # the prediction is text ("box: x1, y1, x2, y2"), first box only


def _coord(draw: Any) -> float:
    return draw(st.integers(0, 160)) / draw(st.sampled_from([1, 2, 4]))


@st.composite
def boxes(draw: Any, near: list[tuple[float, float, float, float]] | None = None,
          positive: bool = True) -> tuple[float, float, float, float]:
    if near and draw(st.booleans()):
        x1, y1, x2, y2 = draw(st.sampled_from(near))
        how = draw(st.sampled_from(["same", "shift", "grow"]))
        if how == "same":
            return (x1, y1, x2, y2)
        d = draw(st.integers(-8, 8)) / 2
        return (x1 + d, y1, x2 + d, y2) if how == "shift" else (x1, y1, x2 + abs(d), y2 + abs(d))
    x1, y1 = _coord(draw), _coord(draw)
    w, h = _coord(draw) / 2, _coord(draw) / 2  # zero-size (degenerate) boxes included
    if not positive and draw(st.integers(0, 6)) == 0:
        return (x1 + w, y1, x1, y1 + h)  # inverted: x2 < x1
    return (x1, y1, x1 + w, y1 + h)


@st.composite
def box_cases(draw: Any, labelled: bool) -> BoxCase:
    refs = draw(st.lists(boxes(), max_size=3))
    preds = draw(st.lists(boxes(refs, positive=False), max_size=4))
    pool = ["car", "person", "1"]
    ref_labels = [draw(st.sampled_from(pool)) if labelled else None for _ in refs]
    pred_labels = [draw(st.sampled_from(pool)) if labelled else None for _ in preds]
    scores = [draw(st.sampled_from([None, 0.5, 0.9, 1.0, 0.25]) | st.integers(0, 4).map(lambda k: k / 4))
              for _ in preds]
    as_text = bool(preds) and draw(st.integers(0, 8)) == 0
    return BoxCase(refs, ref_labels, preds, pred_labels, scores, as_text)


def _xywh(b: tuple[float, float, float, float]) -> list[float]:
    return [b[0], b[1], b[2] - b[0], b[3] - b[1]]


def _write_box(b: tuple[float, float, float, float], fmt: str) -> list[float]:
    return list(b) if fmt == "xyxy" else _xywh(b)


def box_reference_value(c: BoxCase, fmt: str) -> Any:
    items = [{"bbox": _write_box(b, fmt), "label": lab} if lab is not None else _write_box(b, fmt)
             for b, lab in zip(c.refs, c.ref_labels, strict=True)]
    return items


def box_prediction_value(c: BoxCase, fmt: str) -> Any:
    if c.as_text:
        x = _write_box(c.preds[0], fmt)
        return "box: " + ", ".join(f"{v:g}" for v in x)
    out = []
    for b, lab, s in zip(c.preds, c.pred_labels, c.scores, strict=True):
        item: dict[str, Any] = {"bbox": _write_box(b, fmt)}
        if lab is not None:
            item["label"] = lab
        if s is not None:
            item["score"] = s
        out.append(item)
    return out


def iou_reference(c: BoxCase) -> float:
    """IoU of the first predicted with the first reference box by pycocotools.mask.iou; glc's
    documented rule for empty sides: no box on either side 1, on one side only 0."""
    from pycocotools import mask

    if not c.refs or not c.preds:
        return float(not c.refs and not c.preds)
    return float(mask.iou([_xywh(c.preds[0])], [_xywh(c.refs[0])], [0])[0][0])


def coco_reference(cases: list[BoxCase], ids: list[str], thresholds: list[float]) -> float:
    """COCOeval ('bbox', area 'all', 100 detections per image) over images in instance-id
    order (glc's documented tie order; pycocotools keeps the order it is given), detections in
    the order of the answer, a missing score counted as 1.0. glc scores 0 where pycocotools has
    no ground truth at all (-1)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    order = sorted(range(len(cases)), key=lambda k: ids[k])
    labelled = any(lab is not None for c in cases for lab in c.ref_labels)
    cats = sorted({lab for c in cases for lab in c.ref_labels if lab is not None}) if labelled else ["x"]
    cat_id = {lab: n + 1 for n, lab in enumerate(cats)}
    gt: dict[str, Any] = {"images": [], "annotations": [], "categories": [{"id": v, "name": k} for k, v in
                                                                          cat_id.items()]}
    dts = []
    for img, k in enumerate(order, start=1):
        c = cases[k]
        gt["images"].append({"id": img, "width": 400, "height": 400})
        for b, lab in zip(c.refs, c.ref_labels, strict=True):
            if labelled and lab is None:
                continue  # glc: with labelled references, a box without a label counts nowhere
            box = _xywh(b)
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": img,
                                      "category_id": cat_id[lab] if labelled else 1, "bbox": box,
                                      "area": box[2] * box[3], "iscrowd": 0})
        preds = list(zip(c.preds, c.pred_labels, c.scores, strict=True))[:1 if c.as_text else None]
        for b, lab, s in preds:
            if c.as_text:
                lab = None  # "box: x1, y1, x2, y2" names no label: with labelled references it counts nowhere
            if labelled and lab not in cat_id:
                continue  # a category without ground truth: pycocotools never evaluates it
            dts.append({"image_id": img, "category_id": cat_id[lab] if labelled else 1, "bbox": _xywh(b),
                        "score": 1.0 if s is None or c.as_text else s})
    if not gt["annotations"]:
        return 0.0
    if not dts:
        return 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(dts), "bbox")
        ev.params.iouThrs = np.array(thresholds)
        ev.evaluate()
        ev.accumulate()
    s = ev.eval["precision"][:, :, :, 0, -1]  # area 'all', maxDets 100
    return 100.0 * float(np.mean(s[s > -1])) if (s > -1).any() else 0.0


BOX_DECLS = {"miou": Decl("miou", "boxes", "image", "comprehension"),
             "ap": Decl("ap", "boxes", "image", "comprehension"),
             "ap50": Decl("ap50", "boxes", "image", "comprehension"),
             "ap75": Decl("ap75", "boxes", "image", "comprehension"),
             "ap_xywh": Decl("ap", "boxes", "image", "comprehension",
                             {"box_format": "xywh", "prediction_box_format": "xywh"}),
             "ap_coco": Decl("ap", "boxes", "image", "comprehension", {"box_format": "xywh"})}


BOX_COMPARED = ("miou", "ap", "ap50", "ap75", "ap_xywh")


def boxes_check(cases: list[BoxCase], perm: list[int] | None = None, order: list[int] | None = None,
                slot: str = "") -> Check:
    ids = _ids(len(cases), order)
    runs = {}
    for key, d in BOX_DECLS.items():
        if key not in BOX_COMPARED:
            continue
        fmt = d.dataset.get("box_format", "xyxy")
        preds = [(i, box_prediction_value(c, fmt)) for i, c in zip(ids, cases, strict=True)]
        runs[key] = TaskRun(dict(zip(ids, [box_reference_value(c, fmt) for c in cases], strict=True)),
                            {"fwd": preds, "perm": _permuted(preds, perm)})
    got = _scores((yield {k + slot: v for k, v in runs.items()}), slot)
    out = []
    vals = got["miou"].values["fwd"]
    for i, c in zip(ids, cases, strict=True):
        want = iou_reference(c)
        if not close(vals.get(i), want):
            out.append(Disagreement("miou", c, vals.get(i), want))
    for key in ("ap", "ap50", "ap75", "ap_xywh"):
        want = coco_reference(cases, ids, COCO_THRESHOLDS[BOX_DECLS[key].metric])
        if not close(got[key].score.get("fwd"), want):
            out.append(Disagreement(key, cases, got[key].score.get("fwd"), want))
        out.extend(_orders_agree(key, got[key], cases))
    return out


# --- images: PSNR (scikit-image) and MS-SSIM (sewar) ---------------------------------------


@dataclass
class ImageCase:
    height: int
    width: int
    channels: int
    kind: str  # random, constant, identical, noisy, other_size
    seed: int
    noise: int


@st.composite
def image_cases(draw: Any) -> ImageCase:
    return ImageCase(draw(st.integers(11, 40)), draw(st.integers(11, 40)), draw(st.sampled_from([1, 3])),
                     draw(st.sampled_from(["random", "constant", "identical", "noisy", "noisy", "flat_pair"])),
                     draw(st.integers(0, 2**16)), draw(st.integers(1, 60)))


def image_arrays(c: ImageCase) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(c.seed)
    shape = (c.height, c.width) if c.channels == 1 else (c.height, c.width, 3)
    if c.kind == "constant":
        ref = np.full(shape, rng.integers(0, 256), dtype=np.uint8)
        return ref, np.full(shape, rng.integers(0, 256), dtype=np.uint8)
    ref = rng.integers(0, 256, shape).astype(np.uint8)
    if c.kind == "identical":
        return ref, ref.copy()
    if c.kind == "flat_pair":
        return ref, np.full(shape, 128, dtype=np.uint8)
    if c.kind == "random":
        return ref, rng.integers(0, 256, shape).astype(np.uint8)
    noisy = ref.astype(int) + rng.integers(-c.noise, c.noise + 1, shape)
    return ref, np.clip(noisy, 0, 255).astype(np.uint8)


_IMAGE_TAGS = itertools.count()
IMAGE_DECLS = {"psnr": Decl("psnr", "image", "image", "generation"),
               "ms_ssim": Decl("ms_ssim", "image", "image", "generation", sota=0.5)}


def images_check(root: Path, cases: list[ImageCase], slot: str = "") -> Check:
    from PIL import Image
    from sewar.full_ref import msssim
    from skimage.metrics import peak_signal_noise_ratio

    folder = root / "data" / "truth" / "images"
    folder.mkdir(parents=True, exist_ok=True)
    ids = _ids(len(cases))
    refs, preds, arrays = {}, [], {}
    for i, c in zip(ids, cases, strict=True):
        a, b = image_arrays(c)
        tag = f"{next(_IMAGE_TAGS)}{slot}"
        Image.fromarray(a).save(folder / f"ref_{tag}.png")
        Image.fromarray(b).save(folder / f"pred_{tag}.png")
        refs[i] = f"images/ref_{tag}.png"
        preds.append((i, str((folder / f"pred_{tag}.png").resolve())))
        arrays[i] = (a, b)
    got = _scores((yield {k + slot: TaskRun(refs, {"fwd": preds}) for k in IMAGE_DECLS}), slot)
    out = []
    for i, c in zip(ids, cases, strict=True):
        a, b = arrays[i]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = peak_signal_noise_ratio(a, b, data_range=255)
            a3, b3 = (a, b) if a.ndim == 3 else (a[:, :, None], b[:, :, None])
            m = float(np.mean([msssim(a3[:, :, k], b3[:, :, k], MAX=255) for k in range(a3.shape[2])]))
        want_psnr = min(float(p), 100.0)  # glc caps PSNR at 100 dB (identical images: infinite)
        if not close(got["psnr"].values["fwd"].get(i), want_psnr):
            out.append(Disagreement("psnr", c, got["psnr"].values["fwd"].get(i), want_psnr))
        if not close(got["ms_ssim"].values["fwd"].get(i), m):
            out.append(Disagreement("ms_ssim", c, got["ms_ssim"].values["fwd"].get(i), m))
    return out


# --- one family at a time ------------------------------------------------------------------


def check_text(oracle: GlcOracle, *batch: Any) -> list[Disagreement]:
    return run_checks(oracle, [text_check(*batch)])


def check_choice(oracle: GlcOracle, cases: list[tuple[str, str]]) -> list[Disagreement]:
    return run_checks(oracle, [choice_check(cases)])


def check_labels(oracle: GlcOracle, *batch: Any) -> list[Disagreement]:
    return run_checks(oracle, [labels_check(*batch)])


def check_numbers(oracle: GlcOracle, *batch: Any) -> list[Disagreement]:
    return run_checks(oracle, [numbers_check(*batch)])


def check_boxes(oracle: GlcOracle, *batch: Any) -> list[Disagreement]:
    return run_checks(oracle, [boxes_check(*batch)])


def check_images(oracle: GlcOracle, cases: list[ImageCase]) -> list[Disagreement]:
    return run_checks(oracle, [images_check(oracle.root, cases)])
