"""An independent reading of a multiple-choice answer, written from docs/metrics.md ("Option letters")
and not from specs/answers/choice_letter.yaml: the rules are walked character by character in plain
Python (no pattern of the rule file is reused), so a differential test can hold the compiled SQL to
the documented semantics, not to a second copy of the same regular expressions."""

from __future__ import annotations

import re
import string
import unicodedata

# a space: Python's whitespace, and the zero-width space and byte order mark
INVISIBLE = "\u200b\ufeff"
CLOSING = ".):,;!?" + "。，）：；！？、"  # 、 the ideographic (enumeration) comma
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines() ends a line
OPEN_PAREN, CLOSE_PAREN = "(（", ")）"
HEDGE_WORDS = ("or", "and", "或", "和", "还是")
# the full-width forms of ASCII (U+FF01..U+FF5E: "Ｂ", "（", "．"), read as ASCII
FULL_WIDTH = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}


def is_space(c: str) -> bool:
    return c.isspace() or c in INVISIBLE


def is_cjk(c: str) -> bool:
    """Han, Hiragana, Katakana or Hangul script, by the character's Unicode name (no regex engine)."""
    name = unicodedata.name(c, "")
    return name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "HIRAGANA", "KATAKANA",
                            "HANGUL", "IDEOGRAPHIC ITERATION MARK", "VERTICAL IDEOGRAPHIC ITERATION MARK",
                            "IDEOGRAPHIC NUMBER ZERO", "IDEOGRAPHIC CLOSING MARK")) \
        and not name.startswith(("KATAKANA-HIRAGANA", "HALFWIDTH KATAKANA-HIRAGANA"))


def is_ascii_letter(c: str) -> bool:
    return len(c) == 1 and c in string.ascii_letters


def alone(text: str, i: int) -> bool:
    """The letter at ``i`` stands alone: nothing word-like (letter, digit, combining mark, underscore)
    before it, or Chinese, Japanese or Korean script before it."""
    if i == 0:
        return True
    c = text[i - 1]
    return is_cjk(c) or not (unicodedata.category(c)[0] in "LNM" or c == "_")


def skip_spaces(text: str, i: int) -> int:
    while i < len(text) and is_space(text[i]):
        i += 1
    return i


def strip(text: str) -> str:
    a, b = 0, len(text)
    while a < b and is_space(text[a]):
        a += 1
    while b > a and is_space(text[b - 1]):
        b -= 1
    return text[a:b]


def squad_normalize(s: str) -> str:
    """SQuAD 2.0's normalize_answer (its own code): lower, ASCII punctuation removed, articles removed
    as whole words, whitespace collapsed."""
    s = "".join(c for c in s.lower() if c not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())


def _one_letter(s: str) -> str | None:
    """``s`` is one letter, in parentheses if at all (either side optional)."""
    s = strip(s)
    if s[:1] and s[0] in OPEN_PAREN:
        s = s[1:]
    if s[-1:] and s[-1] in CLOSE_PAREN:
        s = s[:-1]
    return s.upper() if is_ascii_letter(s) else None


WRAPPERS = [("**", "**"), ("__", "__"), ("$\\boxed{", "}$"), ("\\boxed{", "}"), ("[", "]"), ("<answer>", "</answer>"),
            ('"', '"'), ("'", "'"), ("`", "`"), ("“", "”"), ("‘", "’")]


def rule_alone(text: str) -> str | None:
    s = strip(text)
    if s[-1:] in (".", ":", "。"):
        s = strip(s[:-1])
    got = _one_letter(s)
    if got:
        return got
    for a, b in WRAPPERS:
        if len(s) > len(a) + len(b) and s.startswith(a) and s.endswith(b):
            got = _one_letter(s[len(a):len(s) - len(b)])
            if got:
                return got
    return None


def rule_boxed(text: str) -> str | None:
    i = text.find("\\boxed{")
    while i >= 0:
        close = text.find("}", i)
        if close >= 0:
            got = _one_letter(text[i + 7:close])
            if got:
                return got
        i = text.find("\\boxed{", i + 1)
    return None


def _hedge_letter(s: str, i: int) -> int:
    """The end of one capital at ``i``, in parentheses and/or bold if at all; -1 when there is none."""
    if s[i:i + 1] and s[i] in OPEN_PAREN:
        i += 1
    bold = s.startswith("**", i)
    i += 2 if bold else 0
    if not (s[i:i + 1] and s[i] in string.ascii_uppercase):
        return -1
    i += 1
    if bold:
        if not s.startswith("**", i):
            return -1
        i += 2
    if s[i:i + 1] and s[i] in CLOSE_PAREN:
        i += 1
    return i


def _joined_letters(s: str) -> bool:
    """``s`` is two or more capitals joined by ",", "/", "、", or a word (or, and, 或, 和, 还是), a comma
    before the word if at all: "B or C", "B, C or D", "A, B, and C", "B/C/D", "B、C"."""
    i, n = _hedge_letter(s, 0), 1
    while i > 0:
        i = skip_spaces(s, i)
        if i == len(s):
            return n >= 2
        j = i
        if s[j] in ",、":
            j = skip_spaces(s, j + 1)
            word = next((w for w in HEDGE_WORDS if s.startswith(w, j)), None)
            j = j + len(word) if word else j
        elif s[j] == "/":
            j += 1
        else:
            word = next((w for w in HEDGE_WORDS if s.startswith(w, j)), None)
            if word is None:
                return False
            j += len(word)
        i, n = _hedge_letter(s, skip_spaces(s, j)), n + 1
    return False


def rule_hedge(text: str) -> bool:
    """Two or more capitals joined make the whole answer, after "the answer is", "either" or "both" if at all."""
    s = strip(text)
    if s[-1:] in (".", "!", "。"):
        s = strip(s[:-1])
    low = s.lower()
    for prefix in ("either ", "both ", "the answers are", "the answer is", "the answers", "the answer",
                   "answers are", "answer is", "answers", "answer", "the options are", "the option is",
                   "options are", "option is", "options", "option", ""):
        if not low.startswith(prefix):
            continue
        rest = s[len(prefix):]
        if prefix and prefix not in ("either ", "both ") and (not rest or not (is_space(rest[0]) or rest[0] in ":")):
            continue
        rest = strip(rest)
        if prefix and prefix not in ("either ", "both ") and rest[:1] == ":":
            rest = strip(rest[1:])
        if _joined_letters(rest):
            return True
    return False


def _after_answer(text: str) -> list[int]:
    """Where the letter may start after each stand-alone word "answer" followed by ':', 'is' or a space,
    in the order the text gives them."""
    out: list[int] = []
    low = text.lower()
    i = low.find("answer")
    while i >= 0:
        if alone(text, i):
            j = i + 6
            k = skip_spaces(text, j)
            starts = []
            if k < len(text) and text[k] in ":：":
                starts.append(skip_spaces(text, k + 1))
            if k > j and low.startswith("is", k):
                m = skip_spaces(text, k + 2)
                if m < len(text) and text[m] in ":：":
                    starts.append(skip_spaces(text, m + 1))
                else:
                    starts.append(m)
            if k > j:
                starts.append(k)
            out.extend(starts)
        i = low.find("answer", i + 1)
    return out


def rule_answer_capital(text: str) -> str | None:
    for k in _after_answer(text):
        if k < len(text) and text[k] in OPEN_PAREN:
            k += 1
        if k < len(text) and text[k] in string.ascii_uppercase and text[k] != "I":
            nxt = text[k + 1:k + 2]
            if nxt == "" or nxt in CLOSING or is_space(nxt) or nxt == "*":
                return text[k]
    return None


def rule_answer_ends(text: str) -> str | None:
    for k in _after_answer(text):
        if k < len(text) and text[k] in OPEN_PAREN:
            k += 1
        if k < len(text) and is_ascii_letter(text[k]):
            rest = text[k + 1:]
            if rest[:1] and rest[0] in CLOSE_PAREN:
                rest = rest[1:]
            if rest[:1] in (".", "!", "。"):
                rest = rest[1:]
            if all(map(is_space, rest)):
                return text[k].upper()
    return None


def rule_said_correct(text: str) -> str | None:
    for i, c in enumerate(text):
        if c in string.ascii_uppercase and alone(text, i):
            j = skip_spaces(text, i + 1)
            if j == i + 1 or not text.startswith("is", j):
                continue
            k = skip_spaces(text, j + 2)
            if k == j + 2:
                continue
            for tail in ("correct", "right", "the answer", "the correct answer", "the right answer"):
                words = tail.split(" ")
                m, ok = k, True
                for n, w in enumerate(words):
                    if not text.startswith(w, m):
                        ok = False
                        break
                    m += len(w)
                    if n < len(words) - 1:
                        m2 = skip_spaces(text, m)
                        if m2 == m:
                            ok = False
                            break
                        m = m2
                if ok and (m == len(text) or text[m] not in string.ascii_letters + string.digits + "_"):
                    return c
    return None


def rule_start(text: str) -> str | None:
    i = skip_spaces(text, 0)
    if i < len(text) and text[i] in OPEN_PAREN:
        i += 1
    if i < len(text) and is_ascii_letter(text[i]):
        rest = text[i + 1:]
        if rest[:1] and rest[0] in CLOSING:
            return text[i].upper()
        if rest[:1] and rest[0] in CLOSE_PAREN:
            rest = rest[1:]
        if rest.lstrip(" \t")[:1] in tuple(LINE_BREAKS):
            return text[i].upper()
    return None


def rule_bold(text: str) -> str | None:
    best: tuple[int, str] | None = None
    for mark in ("**", "__"):
        i = text.find(mark)
        while i >= 0:
            j = i + 2
            if text[j:j + 1] and text[j] in OPEN_PAREN:
                j += 1
            if j < len(text) and is_ascii_letter(text[j]):
                k = j + 1
                if text[k:k + 1] and text[k] in CLOSE_PAREN:
                    k += 1
                if text[k:k + 1] and text[k] in ".):":
                    k += 1
                if text.startswith("**", k) or text.startswith("__", k):
                    if best is None or i < best[0]:
                        best = (i, text[j].upper())
                    break
            i = text.find(mark, i + 1)
    return None if best is None else best[1]


def rule_parens(text: str) -> str | None:
    for i in range(len(text) - 2):
        if text[i] in OPEN_PAREN and is_ascii_letter(text[i + 1]) and text[i + 2] in CLOSE_PAREN:
            return text[i + 1].upper()
    return None


def rule_capital_end(text: str) -> str | None:
    s = text
    while s and is_space(s[-1]):
        s = s[:-1]
    if s[-1:] and s[-1] in ".)。）":
        s = s[:-1]
    if s and s[-1] in string.ascii_uppercase and alone(s, len(s) - 1):
        return s[-1]
    return None


def rule_capital_mark(text: str) -> str | None:
    for i, c in enumerate(text[:-1]):
        if c in string.ascii_uppercase and alone(text, i) and (text[i + 1] in CLOSING or is_cjk(text[i + 1])):
            return c
    return None


def read_choice(answer: str | None, options: list[str] | None = None) -> str | None:
    """The option letter the documented rules read from ``answer``: a capital letter, "" when the
    answer hedges between two options, None when no rule decides."""
    if answer is None:
        return None
    text = "".join(FULL_WIDTH.get(c, c) for c in answer)
    got = rule_alone(text)
    if got:
        return got
    norm = squad_normalize(answer)
    if options and norm:
        for k, option in enumerate(options):
            if squad_normalize(option) == norm:
                return chr(ord("A") + k)
    got = rule_boxed(text)
    if got:
        return got
    if rule_hedge(text):
        return ""
    for rule in (rule_answer_capital, rule_answer_ends, rule_said_correct, rule_start, rule_bold, rule_parens,
                 rule_capital_end, rule_capital_mark):
        got = rule(text)
        if got:
            return got
    return None
