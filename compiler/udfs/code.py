"""CodeBLEU over a task (Ren et al. 2020, "CodeBLEU: a Method for Automatic Evaluation of Code
Synthesis"), as the ``codebleu`` package (0.7, the CodeXGLUE code) computes it.

CodeBLEU = 0.25 BLEU + 0.25 weighted BLEU + 0.25 syntax match + 0.25 data-flow match, each a
corpus statistic over the task's (answer, references) items; answers and references are
``str.strip()``-ed and split at whitespace (``str.split()``).

* **BLEU**: corpus BLEU-4 on those tokens (clipped n-gram precision, closest reference length,
  brevity penalty), an order with no match counts 0.1 matches (NLTK's smoothing method 1), and
  no unigram match at all scores 0.
* **Weighted BLEU**: per reference, n-gram *recall* clipped by the answer's counts; unigrams
  weigh 1 for a keyword of the language and 0.2 otherwise; brevity penalty as the package
  computes it (each reference counts length 2 there: it takes the length of its (tokens,
  weights) pair).
* **Syntax match**: the share of the reference's subtrees (tree-sitter s-expressions of every
  node with children, and the root) that occur in the answer's tree, comments and docstrings
  removed first.
* **Data-flow match**: the share of the reference's data-flow edges (variable, ``comesFrom`` or
  ``computedFrom``, source variables; variables renamed ``var_0``, ``var_1``... in order of
  appearance) found in the answer's, each answer edge used once. When no reference has an edge,
  or none matches, the term counts 1, as in the package.

tree-sitter parses (its Python grammar); the n-gram statistics, subtree matching and the
data-flow graph are computed here. Where the package lists a merged edge's sources in set order
(which changes with PYTHONHASHSEED, and with it the score), glc keeps them in first-seen order.
"""

from __future__ import annotations

import functools
import json
import keyword
import math
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from glc.compiler.errors import GlcError

#: the languages glc can parse (a tree-sitter grammar wheel and a data-flow rule set each)
LANGUAGES = ("python",)
#: Python's keywords and the soft keywords match, case and type (the package's keywords/python.txt)
KEYWORDS = {"python": frozenset(keyword.kwlist) | {"match", "case", "type"}}
ORDER = 4
EPSILON = 0.1  # NLTK smoothing method 1
OTHER_WEIGHT = 0.2  # weight of a non-keyword unigram
STRING_TYPES = ("string_literal", "string", "character_literal")

Point = tuple[int, int]
Span = tuple[Point, Point]
Edge = tuple[str, int, str, list[str], list[int]]


@functools.cache
def _language(lang: str) -> Any:
    if lang not in LANGUAGES:
        raise GlcError(f"CodeBLEU: language {lang!r} is not supported; glc parses {', '.join(LANGUAGES)} "
                       "(set implementation.args.lang in the metric spec)")
    try:
        import tree_sitter_python
        from tree_sitter import Language
    except ImportError as e:  # pragma: no cover - a dependency of glc
        raise GlcError(f"CodeBLEU needs tree-sitter and tree-sitter-python (dependencies of glc): {e}") from e
    return Language(tree_sitter_python.language())


_LOCAL = threading.local()


def _parser(lang: str) -> Any:
    """A tree-sitter parser of ``lang`` for this thread (DuckDB may call UDFs from several threads)."""
    parsers = getattr(_LOCAL, "parsers", None)
    if parsers is None:
        parsers = _LOCAL.parsers = {}
    if lang not in parsers:
        from tree_sitter import Parser

        language = _language(lang)
        parser = Parser()
        parser.language = language
        parsers[lang] = parser
    return parsers[lang]


# --- tokens and n-grams ----------------------------------------------------------------------


def _grams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _brevity(ref_len: int, hyp_len: int) -> float:
    if hyp_len > ref_len:
        return 1.0
    return 0.0 if hyp_len == 0 else math.exp(1 - ref_len / hyp_len)


def _combine(num: list[float], den: list[float], bp: float) -> float:
    if num[0] == 0:
        return 0.0
    logs = [0.25 * math.log((m if m != 0 else EPSILON) / d) for m, d in zip(num, den, strict=True)]
    return bp * math.exp(math.fsum(logs))


def _closest(lengths: list[int], hyp_len: int) -> int:
    return min(lengths, key=lambda r: (abs(r - hyp_len), r))


def ngram_match(items: list[tuple[list[str], list[list[str]]]]) -> float:
    """Corpus BLEU-4 (clipped precision), smoothing method 1."""
    num, den = [0.0] * ORDER, [0.0] * ORDER
    hyp_total = ref_total = 0
    for hyp, refs in items:
        for n in range(1, ORDER + 1):
            counts = _grams(hyp, n)
            best: Counter[tuple[str, ...]] = Counter()
            for ref in refs:
                rc = _grams(ref, n)
                for g in counts:
                    best[g] = max(best[g], rc[g])
            num[n - 1] += sum(min(c, best[g]) for g, c in counts.items())
            den[n - 1] += max(1, sum(counts.values()))
        hyp_total += len(hyp)
        ref_total += _closest([len(r) for r in refs], len(hyp))
    return _combine(num, den, _brevity(ref_total, hyp_total))


def weighted_ngram_match(items: list[tuple[list[str], list[list[str]]]], keywords: frozenset[str]) -> float:
    """Keyword-weighted n-gram recall, the package's way (reference length 2 in the penalty)."""
    num, den = [0.0] * ORDER, [0.0] * ORDER
    hyp_total = ref_total = 0
    for hyp, refs in items:
        for n in range(1, ORDER + 1):
            counts = _grams(hyp, n)
            for ref in refs:
                rc = _grams(ref, n)
                if n == 1:
                    w = {g: (1.0 if g[0] in keywords else OTHER_WEIGHT) for g in rc}
                    num[0] += sum(min(c, counts[g]) * w[g] for g, c in rc.items())
                    den[0] += max(1, sum(c * w[g] for g, c in rc.items()))
                else:
                    num[n - 1] += sum(min(c, counts[g]) for g, c in rc.items())
                    den[n - 1] += max(1, sum(rc.values()))
        hyp_total += len(hyp)
        ref_total += 2  # len((tokens, weights)) in the package
    return _combine(num, den, _brevity(ref_total, hyp_total))


# --- comments, trees -------------------------------------------------------------------------


def strip_comments(source: str) -> str:
    """Python source without comments, docstrings and blank lines (the package's
    ``remove_comments_and_docstrings``); raises on text Python cannot tokenize."""
    import io
    import tokenize

    out: list[str] = []
    prev = tokenize.INDENT
    last_line, last_col = -1, 0
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        kind, text, (start_line, start_col), (end_line, end_col) = tok[0], tok[1], tok[2], tok[3]
        if start_line > last_line:
            last_col = 0
        if start_col > last_col:
            out.append(" " * (start_col - last_col))
        if kind == tokenize.COMMENT:
            pass
        elif kind == tokenize.STRING:
            # a string right after an indent or a newline is a docstring
            if prev not in (tokenize.INDENT, tokenize.NEWLINE) and start_col > 0:
                out.append(text)
        else:
            out.append(text)
        prev, last_col, last_line = kind, end_col, end_line
    return "\n".join(line for line in "".join(out).split("\n") if line.strip() != "")


def _cleaned(source: str) -> str:
    try:
        return strip_comments(source)
    except Exception:  # untokenizable code is parsed as written (tokenize, indentation and syntax errors)
        return source


def subtrees(root: Any) -> list[str]:
    """The s-expression of the root and of every node below it that has children."""
    out, stack = [], [root]
    while stack:
        node = stack.pop()
        out.append(str(node))
        stack.extend(c for c in node.children if c.children)
    return out


def _is_token(node: Any) -> bool:
    return (not node.children or node.type in STRING_TYPES) and node.type != "comment"


def _token_spans(node: Any) -> list[Span]:
    if _is_token(node):
        return [(node.start_point, node.end_point)]
    return [s for c in node.children for s in _token_spans(c)]


def _span_text(span: Span, lines: list[str]) -> str:
    # tree-sitter columns are byte offsets; the package cuts the str lines at them (so on lines with
    # non-ASCII text the cut is shifted), and so does glc to read the same variable names
    (r0, c0), (r1, c1) = span
    if r0 == r1:
        return lines[r0][c0:c1]
    return lines[r0][c0:] + "".join(lines[r0 + 1:r1]) + lines[r1][:c1]


# --- data flow (Python) ----------------------------------------------------------------------

States = dict[str, list[int]]


class PythonFlow:
    """The data-flow edges of a Python syntax tree, the rules of CodeXGLUE's ``DFG_python``."""

    ASSIGNMENT = ("assignment", "augmented_assignment", "for_in_clause")

    def __init__(self, tokens: dict[Span, tuple[int, str]]) -> None:
        self.tokens = tokens

    def variables(self, node: Any) -> list[Span]:
        """Spans of the tokens under ``node`` whose text differs from their node type (names, literals)."""
        if _is_token(node):
            span = (node.start_point, node.end_point)
            return [span] if node.type != self.tokens[span][1] else []
        return [s for c in node.children for s in self.variables(c)]

    def walk(self, node: Any, states: States) -> tuple[list[Edge], States]:
        states = states.copy()
        if _is_token(node):
            idx, text = self.tokens[(node.start_point, node.end_point)]
            if node.type == text:
                return [], states
            if text in states:
                return [(text, idx, "comesFrom", [text], states[text].copy())], states
            if node.type == "identifier":
                states[text] = [idx]
            return [(text, idx, "comesFrom", [], [])], states
        kind = node.type
        if kind == "default_parameter":
            return self._default_parameter(node, states)
        if kind in self.ASSIGNMENT:
            return self._assignment(node, states)
        if kind == "if_statement":
            return self._if(node, states)
        if kind in ("for_statement", "while_statement"):
            return self._loop(node, states)
        edges: list[Edge] = []
        first = [c for c in node.children if c.type == "for_in_clause"]
        for child in first + [c for c in node.children if c.type != "for_in_clause"]:
            got, states = self.walk(child, states)
            edges += got
        return _by_token(edges), states

    def _flows(self, lefts: list[Any], rights: list[Any], states: States) -> tuple[list[Edge], States]:
        edges: list[Edge] = []
        for right in rights:
            got, states = self.walk(right, states)
            edges += got
        for left, right in zip(lefts, rights, strict=False):
            sources = [self.tokens[s] for s in self.variables(right)]
            for span in self.variables(left):
                idx, text = self.tokens[span]
                edges.append((text, idx, "computedFrom", [t for _, t in sources], [i for i, _ in sources]))
                states[text] = [idx]
        return edges, states

    def _sides(self, node: Any) -> tuple[list[Any], list[Any]]:
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        lefts = [c for c in left.children if c.type != ","]
        rights = [c for c in right.children if c.type != ","]
        if len(lefts) != len(rights):
            lefts, rights = [left], [right]
        return lefts or [left], rights or [right]

    def _default_parameter(self, node: Any, states: States) -> tuple[list[Edge], States]:
        name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
        edges: list[Edge] = []
        if value is None:
            for span in self.variables(name):
                idx, text = self.tokens[span]
                edges.append((text, idx, "comesFrom", [], []))
                states[text] = [idx]
            return _by_token(edges), states
        names, values = self.variables(name), self.variables(value)
        got, states = self.walk(value, states)
        edges += got
        for span in names:
            idx, text = self.tokens[span]
            for vspan in values:
                vidx, vtext = self.tokens[vspan]
                edges.append((text, idx, "comesFrom", [vtext], [vidx]))
            states[text] = [idx]
        return _by_token(edges), states

    def _assignment(self, node: Any, states: States) -> tuple[list[Edge], States]:
        if node.type == "for_in_clause":
            lefts, rights = [node.child_by_field_name("left")], [node.children[-1]]
        else:
            if node.child_by_field_name("right") is None:
                return [], states
            lefts, rights = self._sides(node)
        edges, states = self._flows(lefts, rights, states)
        return _by_token(edges), states

    def _if(self, node: Any, states: States) -> tuple[list[Edge], States]:
        edges: list[Edge] = []
        current = states.copy()
        branches: list[States] = []
        has_else = "else" in node.type
        for child in node.children:
            if "else" in child.type:
                has_else = True
            if child.type in ("elif_clause", "else_clause"):
                got, branch = self.walk(child, states)
                branches.append(branch)
            else:
                got, current = self.walk(child, current)
            edges += got
        branches.append(current)
        if not has_else:
            branches.append(states)
        merged: States = {}
        for branch in branches:
            for name, where in branch.items():
                merged[name] = merged.get(name, []) + where
        return _by_token(edges), {name: sorted(set(where)) for name, where in merged.items()}

    def _loop(self, node: Any, states: States) -> tuple[list[Edge], States]:
        edges: list[Edge] = []
        for _ in range(2):  # twice: a variable assigned late in the body flows to the loop's start
            if node.type == "for_statement":
                got, states = self._flows(*self._sides(node), states)
                edges += got
                if node.children[-1].type == "block":
                    got, states = self.walk(node.children[-1], states)
                    edges += got
            else:
                for child in node.children:
                    got, states = self.walk(child, states)
                    edges += got
        merged: dict[tuple[str, int, str], tuple[list[str], list[int]]] = {}
        for text, idx, rel, names, where in edges:
            key = (text, idx, rel)
            if key in merged:
                old = merged[key]
                merged[key] = (list(dict.fromkeys(old[0] + names)), sorted(set(old[1] + where)))
            else:
                merged[key] = (names, where)
        out = [(k[0], k[1], k[2], v[0], v[1]) for k, v in sorted(merged.items(), key=lambda t: t[0][1])]
        return _by_token(out), states


def _by_token(edges: list[Edge]) -> list[Edge]:
    return sorted(edges, key=lambda e: e[1])


FLOWS: dict[str, Callable[[dict[Span, tuple[int, str]]], PythonFlow]] = {"python": PythonFlow}


def data_flow(code: str, lang: str) -> list[Edge]:
    """The data-flow edges of ``code``: edges of tokens that take part in a flow, one per token."""
    try:
        root = _parser(lang).parse(code.encode("utf-8")).root_node
        spans = _token_spans(root)
        lines = code.split("\n")
        tokens = {span: (i, _span_text(span, lines)) for i, span in enumerate(spans)}
        try:
            edges, _ = FLOWS[lang](tokens).walk(root, {})
        except Exception:  # a tree the rules cannot read (e.g. a statement without its right side): no flow
            edges = []
        edges = _by_token(edges)
        used = {e[1] for e in edges if e[4]} | {i for e in edges for i in e[4]}
        edges = [e for e in edges if e[1] in used]
    except Exception:  # as the package: code that cannot be read has no flow
        edges = []
    merged: dict[int, Edge] = {}
    for e in edges:
        if e[1] in merged:
            old = merged[e[1]]
            merged[e[1]] = (e[0], e[1], e[2], list(dict.fromkeys(old[3] + e[3])), sorted(set(old[4] + e[4])))
        else:
            merged[e[1]] = e
    return list(merged.values())


def normalize_flow(edges: list[Edge]) -> list[tuple[str, str, list[str]]]:
    """Variables renamed var_0, var_1, ... in order of appearance (sources before the target)."""
    names: dict[str, str] = {}
    out = []
    for text, _, rel, sources, _ in edges:
        for s in [*sources, text]:
            names.setdefault(s, f"var_{len(names)}")
        out.append((names[text], rel, [names[s] for s in sources]))
    return out


# --- CodeBLEU --------------------------------------------------------------------------------


def codebleu_parts(items: list[tuple[str, list[str]]], lang: str = "python") -> dict[str, float]:
    """CodeBLEU and its four terms over a corpus of (answer, references) items (references non-empty)."""
    parser = _parser(lang)
    items = [(h.strip(), [r.strip() for r in refs]) for h, refs in items if refs]
    if not items:
        raise ValueError("CodeBLEU needs at least one item with a reference")
    toks = [(h.split(), [r.split() for r in refs]) for h, refs in items]
    bleu = ngram_match(toks)
    weighted = weighted_ngram_match(toks, KEYWORDS[lang])
    syn_match = syn_total = flow_match = flow_total = 0
    for hyp, refs in items:
        cand_syn = cand_flow = hyp
        for ref in refs:
            cand_syn, cand_flow, ref_clean = _cleaned(cand_syn), _cleaned(cand_flow), _cleaned(ref)
            have = set(subtrees(parser.parse(cand_syn.encode("utf-8")).root_node))
            want = subtrees(parser.parse(ref_clean.encode("utf-8")).root_node)
            syn_match += sum(1 for s in want if s in have)
            syn_total += len(want)
            ref_edges = normalize_flow(data_flow(ref_clean, lang))
            cand_edges = normalize_flow(data_flow(cand_flow, lang))
            flow_total += len(ref_edges)
            for edge in ref_edges:
                if edge in cand_edges:
                    flow_match += 1
                    cand_edges.remove(edge)
    syntax = syn_match / syn_total
    flow = flow_match / flow_total if flow_total else 0.0
    score = 0.25 * bleu + 0.25 * weighted + 0.25 * syntax + 0.25 * (flow or 1.0)
    return {"codebleu": score, "ngram_match": bleu, "weighted_ngram_match": weighted, "syntax_match": syntax,
            "dataflow_match": flow}


def _utf8(text: str) -> str:
    """``text`` with any lone surrogate as '?' (tree-sitter parses UTF-8 bytes)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def codebleu(payloads: list[str | None] | None) -> float | None:
    """The task's CodeBLEU (0-1); each payload is JSON {"pred", "refs", "lang"}."""
    items: list[tuple[str, list[str]]] = []
    langs = set()
    for p in sorted(x for x in payloads or [] if x is not None):  # sorted: the same sums in any order
        doc = json.loads(p)
        refs = [_utf8(r) for r in doc.get("refs") or [] if isinstance(r, str)]
        langs.add(doc.get("lang") or "python")
        if refs:
            items.append((_utf8(doc.get("pred") or ""), refs))
    if not items:
        return None
    if len(langs) != 1:
        raise GlcError(f"CodeBLEU: one task mixes languages {sorted(langs)}")
    return codebleu_parts(items, langs.pop())["codebleu"]
