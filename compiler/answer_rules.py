"""How multiple-choice answers are read, as data: ``specs/answers/choice_letter.yaml``.

An ordered list of rules, the first that decides wins: ``option_text`` (the answer is the text of
one of the instance's options), an RE2 ``pattern`` whose group 1 is the letter, or a pattern with
``no_letter: true`` (when it matches, the answer names no single option: no later rule is tried),
with ``${name}`` standing for a character class declared under ``classes:``. The patterns reach the
SQL only as quoted literals (``sql_literal``); each is checked here, by the engine that runs it
(DuckDB's RE2), so a bad one is a spec error with its file and line, never a failed build.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from glc.compiler.errors import SpecError, SpecErrors
from glc.compiler.spec_models import Spec
from pydantic import Field, ValidationError, model_validator

RULES_FILE = Path("answers") / "choice_letter.yaml"  # under specs/
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ChoiceRule(Spec):
    name: str = Field(min_length=1, max_length=200)
    pattern: str | None = Field(default=None, max_length=10_000)
    option_text: bool = False
    no_letter: bool = False
    examples: dict[str, str | None] = {}

    @model_validator(mode="after")
    def _one_kind(self) -> ChoiceRule:
        if (self.pattern is None) == (not self.option_text):
            raise ValueError("a rule has either a 'pattern' or 'option_text: true'")
        if self.no_letter and self.pattern is None:
            raise ValueError("'no_letter: true' goes with a 'pattern' (the answers that name no single option)")
        return self


class Fold(Spec):
    """Characters every pattern rule reads as others: ``from[i]`` as ``to[i]`` (DuckDB's translate)."""

    from_: str = Field(alias="from", min_length=1, max_length=1000)
    to: str = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _pairs(self) -> Fold:
        if len(self.from_) != len(self.to):
            raise ValueError(f"'from' has {len(self.from_)} characters and 'to' {len(self.to)}: one for one")
        if len(set(self.from_)) != len(self.from_):
            raise ValueError("a character appears twice in 'from'")
        return self


class ChoiceRules(Spec):
    classes: dict[str, str] = {}
    fold: Fold | None = None
    rules: list[ChoiceRule] = Field(min_length=1, max_length=100)


def expand(pattern: str, classes: dict[str, str]) -> str:
    """``pattern`` with each ``${name}`` replaced by its class (KeyError: an unknown name)."""
    return PLACEHOLDER.sub(lambda m: classes[m.group(1)], pattern)


def load_choice_rules(specs_dir: Path, root: Path) -> list[dict[str, Any]]:
    """The rules in order, as the SQL templates see them: ``{name, kind, pattern}`` with the
    classes expanded, after a ``{name: fold, kind: fold, from, to}`` when the file folds characters;
    every problem a located ``SpecError`` (raised together)."""
    from glc.compiler.errors import display_path
    from glc.compiler.yaml_source import YamlSyntaxError, load_yaml

    path = specs_dir / RULES_FILE
    where = display_path(path, root)
    if not path.is_file():
        raise SpecErrors([SpecError(where, None, "the multiple-choice answer rules are missing",
                                    "restore specs/answers/choice_letter.yaml (glc reads option letters by it)")])
    try:
        doc = load_yaml(path, inside=root)
    except YamlSyntaxError as exc:
        raise SpecErrors([SpecError(where, exc.line, exc.message, "fix the YAML syntax")]) from None
    try:
        spec = ChoiceRules.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecErrors([SpecError(where, doc.line_of(tuple(err["loc"])),
                                    f"{'.'.join(map(str, err['loc'])) or 'file'}: {err['msg']}",
                                    "see the comment at the top of the file") for err in exc.errors()]) from None
    errors: list[SpecError] = []
    out: list[dict[str, Any]] = []
    if spec.fold is not None:
        out.append({"name": "fold", "kind": "fold", "pattern": None, "from": spec.fold.from_, "to": spec.fold.to})
    checker = _RegexChecker()  # one DuckDB for every rule (a connection costs more than the checks)
    try:
        for i, rule in enumerate(spec.rules):
            if rule.pattern is None:
                out.append({"name": rule.name, "kind": "option_text", "pattern": None})
                continue
            line = doc.line_of(("rules", i, "pattern"))
            unknown = sorted({m.group(1) for m in PLACEHOLDER.finditer(rule.pattern)} - set(spec.classes))
            if unknown:
                errors.append(SpecError(where, line, f"rule '{rule.name}': unknown class ${{{unknown[0]}}}",
                                        "declare it under classes: (known: " + ", ".join(sorted(spec.classes))
                                        + ")"))
                continue
            pattern = expand(rule.pattern, spec.classes)
            problem = regex_problem(pattern, checker, needs_group=not rule.no_letter)
            if problem is not None:
                errors.append(SpecError(where, line, f"rule '{rule.name}': {problem}",
                                        "write an RE2 regular expression (no look-around, no back-references) "
                                        "whose group 1 is the option letter"))
                continue
            out.append({"name": rule.name, "kind": "no_letter" if rule.no_letter else "pattern", "pattern": pattern})
    finally:
        checker.close()
    if errors:
        raise SpecErrors(errors)
    return out


class _RegexChecker:
    """An in-memory DuckDB (no external access), opened on first use, for ``regex_problem``."""

    def __init__(self) -> None:
        self.con: Any = None

    def execute(self, sql: str) -> None:
        import duckdb

        if self.con is None:
            self.con = duckdb.connect(":memory:", config={"enable_external_access": False})
        self.con.execute(sql).fetchone()

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None


def regex_problem(pattern: str, checker: _RegexChecker | None = None, needs_group: bool = True) -> str | None:
    """Why DuckDB's RE2 cannot use ``pattern`` as a rule (it must compile and, for a rule that reads a
    letter, have a group 1), or None. ``checker``: the DuckDB to ask (its own, closed afterwards, when
    not given)."""
    import duckdb
    from glc.compiler.render import sql_literal

    own = checker is None
    check = checker if checker is not None else _RegexChecker()
    try:
        # a constant pattern, as in the compiled SQL: RE2 compiles it when the query is bound
        check.execute(f"SELECT regexp_extract('', {sql_literal(pattern)}, 1)")
    except duckdb.Error as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"not a usable regular expression: {text[:300]}"
    finally:
        if own:
            check.close()
    if needs_group and capture_groups(pattern) < 1:
        return "the pattern has no group: group 1 must capture the option letter"
    return None


def capture_groups(pattern: str) -> int:
    """Capturing groups of an RE2 pattern that compiles: '(' outside classes and escapes, not '(?'
    unless '(?P<' (a named group)."""
    n, i, in_class = 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                i = end + 2 if end >= 0 else i + 1
                continue
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if pattern.startswith("[^]", i) or pattern.startswith("[]", i):  # a leading ] is a member
                i += 3 if pattern[i + 1] == "^" else 2
                continue
        elif ch == "(" and (not pattern.startswith("(?", i) or pattern.startswith("(?P<", i)):
            n += 1
        i += 1
    return n
