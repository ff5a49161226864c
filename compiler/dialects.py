"""Compiled models in another engine's SQL dialect: sqlglot's translation plus glc's own transforms.

The compiled SQL (``target/compiled/``) is DuckDB's. To run the same models on Spark, each node
is parsed again and rewritten as sqlglot expressions (never by editing text) where sqlglot's own
DuckDB -> Spark translation is missing or means something else, then printed in Spark's dialect.
What differs, and what each transform restores (DuckDB's meaning is the reference):

* list indexes: DuckDB ``l[i]`` is 1-based (NULL out of range, negative from the end); a map
  lookup ``m[k]`` looks like one. Which is which needs types, which sqlglot does not give lambda
  variables, so it shifts some literal indexes and leaves others alone. Here every node is typed
  (``_Typer``: contracts, the columns of upstream nodes, CTEs, lambda variables) and both become
  ``try_element_at``; an index whose base has no known type is an error, never a guess.
* slices ``l[a:b]`` (1-based, inclusive, negative from the end, clamped) -> ``slice(l, a', b' - a' + 1)``
  with the bounds normalized (Spark's slice fails on 0); ``LENGTH`` of a list -> ``array_size``
  (``length`` is for text only).
* lambdas with an index ``(x, i)``: 1-based in DuckDB, 0-based in Spark -> ``i + 1`` in the body.
* ``list_aggregate(l, 'histogram')`` (a sorted map value -> count; NULL for an empty list),
  ``list_sum`` (NULLs skipped, NULL when empty), ``list_position`` (NULL when absent),
  ``list_intersect``, ``list_distinct`` (drops NULLs), ``list_contains`` (false, not NULL, past a NULL
  element): Spark built-ins composed to the same result. ``list_distinct`` and ``list_intersect``
  list their values in DuckDB's hash table order, Spark's in first-occurrence order: their result
  must reach something the order does not change (a sort, a length, a sum, membership) or a
  column of a CTE, never a column of the node (refused: sort it).
* ``array_agg``: Spark's ``collect_list`` drops NULLs, which would misalign two lists aggregated
  side by side -> the values travel inside structs; NULL over no rows. ``ARRAY_AGG(x ORDER BY k)``
  (and ``LIST``): the keys travel with the values and ``array_sort`` with a comparator puts them in
  DuckDB's order (ASC/DESC, NULLs last unless NULLS FIRST, text by code point); equal keys leave
  the order undefined in both engines.
* ``UNNEST(l)`` in a SELECT list (DuckDB: a row per element, none for an empty or NULL list;
  several UNNESTs side by side, padded with NULL to the longest) -> ``LATERAL VIEW EXPLODE(l)``, or
  ``INLINE(ARRAYS_ZIP(COALESCE(l1, ARRAY()), ...))`` for several; refused under an aggregate, a
  window, a lambda, or in a SELECT that aggregates.
* ``list_avg``: the mean of the non-NULL elements summed in DOUBLE in list order, NULL when none
  -> ``aggregate`` over a (sum, count) struct.
* ``TRY(CAST(JSON(x) AS TEXT[]))`` of a column (the only TRY checked): NULL for a text that cannot
  be a JSON array (not '[' ... ']' inside JSON white space), Spark's ``from_json`` for a flat
  array of strings, null, true, false and integers (where both read the same), and an error on
  Spark for any other array text (numbers with a fraction, nested values, DuckDB's tolerance of
  trailing commas, invalid JSON), which DuckDB reads in ways ``from_json`` does not.
* ``CAST`` of a DOUBLE to an integer type: DuckDB rounds half to even, Spark truncates ->
  ``bround`` first; HUGEINT is ``DECIMAL(38, 0)`` (an error from 1e38 on, where DuckDB's is from
  1.7e38), NaN and infinity an error as in DuckDB (Spark: NULL). A CAST of text (or a value of
  unknown type) to an integer type is refused. ``//`` only of two integers (DuckDB's ``//`` of
  DOUBLEs is ``/``) -> ``DIV`` (toward zero in both); ``ROUND(x)`` (half away from zero in both)
  without digits. The typer tells integers (``INT``) from other numbers for these.
* regular expressions: RE2 (DuckDB) -> java.util.regex (Spark): ``\\p{Han}`` -> ``\\p{IsHan}``
  (scripts), ``\\b`` and ``\\s`` are ASCII in RE2 (Java's ``\\b`` sees accented letters as word
  characters, its ``\\s`` takes vertical tab), ``.`` stops only at ``\\n``, ``$`` is the end of the
  text only, ``(?i)`` folds Unicode case; replacement ``\\1`` -> ``$1`` (Java reads ``\\1`` as a
  literal ``1``) and a literal ``$`` is escaped; ``\\x{h..}`` code points are checked and kept
  (Java's syntax too). DuckDB's ``regexp_replace`` without ``'g'`` replaces the first match only,
  Spark's every match -> the pattern becomes ``\\A((?s:.*?))(P)``, one match from the start of
  the text to the end of P's first match, replaced by ``$1`` and the replacement (groups moved up
  by two). Options other than g, i and c: refused.
* ``str_split`` splits on text, Spark's ``split`` on a regex: the separator is quoted.
* decimal literals: DuckDB computes ``2.0 * n / d`` in DOUBLE, Spark in DECIMAL with division
  rounded to 6 places -> decimal literals are DOUBLE.
* division by zero: IEEE +-inf/NaN in DuckDB, an error (ANSI) or NULL in Spark -> spelled out.
* ``ln(0)`` is -inf and ``ln(x < 0)`` NaN in DuckDB, NULL in Spark; ``corr`` of a constant is NaN
  in DuckDB, NULL in Spark; ``isnan(NULL)`` is NULL in DuckDB, false in Spark.
* ``TRY_CAST(text AS DOUBLE)``: Java's parser takes ``1.5d``, ``0x1p3``, ``1_000`` is DuckDB's only
  -> cast only what DuckDB's grammar accepts (digits with single underscores, optional fraction and
  exponent, inf/infinity/nan, surrounding ASCII whitespace).
* ``to_json`` of a struct: Spark drops NULL fields -> ``ignoreNullFields`` off.
* ``chr(n)``: Spark takes n modulo 256 -> n outside 0..255 is an error there.
* ``lower``: Java maps İ to two characters and a final Σ to ς; DuckDB to i and σ.
* ``sign`` returns TINYINT in DuckDB, DOUBLE in Spark.

``EXP`` underflow (``exp(-1000)`` is 0.0) and overflow (inf), ``levenshtein`` on code points,
``regexp_extract`` of a group that did not take part ('') and ``TRY_CAST`` overflow (inf) were
checked and agree; ``tests/test_spark.py`` runs each construct on both engines. A node that
uses an expression or function this module has not checked is refused with its name
(``CHECKED``), so a new construct in a template cannot run on Spark with another meaning
unnoticed.
"""

from __future__ import annotations

import hashlib
import itertools
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlglot
from glc.compiler.contracts import source_schema
from glc.compiler.errors import GlcError
from glc.compiler.udfs.registry import UDFS
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, traverse_scope

DIALECTS = ("duckdb", "spark")


class DuckDBAsWritten(DuckDB):
    """DuckDB, with list indexes kept as written: sqlglot's parser otherwise shifts some indexes
    to 0-based (literal ones on a base of unknown type) and not others (lambda variables)."""

    INDEX_OFFSET = 0


# --- types -----------------------------------------------------------------------------------
# just what the transforms need: list, map, struct, text, number, boolean; None is unknown


@dataclass(frozen=True)
class T:
    kind: str  # list, map, struct, text, num, bool, other
    args: tuple[Any, ...] = ()  # list: (elem,), map: (key, value), struct: ((name, type), ...), num: ("int",)

    def elem(self) -> T | None:
        return self.args[0] if self.kind == "list" else None

    def field(self, name: str) -> T | None:
        if self.kind != "struct":
            return None
        return next((t for n, t in self.args if n.lower() == name.lower()), None)

    def __str__(self) -> str:
        if self.kind == "list":
            return f"{self.args[0] or '?'}[]"
        if self.kind == "map":
            return f"MAP({self.args[0] or '?'}, {self.args[1] or '?'})"
        if self.kind == "struct":
            return "STRUCT(" + ", ".join(f"{n} {t or '?'}" for n, t in self.args) + ")"
        return "int" if self.kind == "num" and self.args else self.kind


TEXT, NUM, BOOL = T("text"), T("num"), T("bool")  # NUM: a number, maybe not an integer
INT = T("num", ("int",))  # an integer of a signed integer type
_SIGNED = frozenset({exp.DType.TINYINT, exp.DType.SMALLINT, exp.DType.INT, exp.DType.BIGINT, exp.DType.INT128})


def _list(elem: T | None) -> T:
    return T("list", (elem,))


def type_of(dt: exp.DataType | str) -> T | None:
    """A DuckDB type (a sqlglot DataType or its text, e.g. ``VARCHAR[]``) as a ``T``; None for ANY."""
    if isinstance(dt, str):
        if dt.upper() == "ANY":
            return None
        dt = exp.DataType.build(dt, dialect="duckdb")
    kind = dt.this
    if kind == exp.DType.ARRAY or kind == exp.DType.LIST:
        return _list(type_of(dt.expressions[0]) if dt.expressions else None)
    if kind == exp.DType.MAP:
        k, v = (type_of(e) for e in dt.expressions) if len(dt.expressions) == 2 else (None, None)
        return T("map", (k, v))
    if kind == exp.DType.STRUCT:
        fields = []
        for f in dt.expressions:
            if isinstance(f, exp.ColumnDef) and isinstance(f.args.get("kind"), exp.DataType):
                fields.append((f.name, type_of(f.args["kind"])))
        return T("struct", tuple(fields))
    if kind in exp.DataType.TEXT_TYPES:
        return TEXT
    if kind in _SIGNED:
        return INT
    if kind in exp.DataType.NUMERIC_TYPES:
        return NUM
    if kind == exp.DType.BOOLEAN:
        return BOOL
    if kind == exp.DType.UNKNOWN:
        return None
    return T("other")


class _Typer:
    """Types of the expressions of one parsed node, on demand: columns through their scope (a
    table of the schema, or a CTE or derived table's projection), lambda variables from the list
    their function walks."""

    def __init__(self, tree: exp.Expr, schema: Mapping[str, Mapping[str, T | None]]) -> None:
        self.schema = schema
        self.scopes: dict[int, Scope] = {}
        for scope in traverse_scope(tree):
            self.scopes[id(scope.expression)] = scope
        self.memo: dict[int, T | None] = {}

    def of(self, e: exp.Expr) -> T | None:
        key = id(e)
        if key not in self.memo:
            self.memo[key] = None  # a cycle (it cannot happen in a valid query) reads as unknown
            self.memo[key] = self._of(e)
        return self.memo[key]

    def _first(self, items: Iterable[exp.Expr | None]) -> T | None:
        """The type of values that may come from any of ``items``: the first known one, but an
        integer only when every item is one (DuckDB makes 1 and 0.5 DOUBLEs together)."""
        known = [self.of(i) for i in items if isinstance(i, exp.Expr) and not isinstance(i, exp.Null)]
        first = next((t for t in known if t is not None), None)
        return NUM if first == INT and any(t != INT for t in known) else first

    def _integer(self, items: Iterable[exp.Expr]) -> T:
        """Arithmetic: an integer when every operand is one."""
        return INT if all(self.of(i) == INT for i in items) else NUM

    def _of(self, e: exp.Expr) -> T | None:  # noqa: C901 - one case per expression class
        if isinstance(e, exp.Paren | exp.Alias):
            return self.of(e.this)
        if isinstance(e, exp.Cast):  # TryCast too
            return type_of(e.to)
        if isinstance(e, exp.Literal):
            return TEXT if e.is_string else NUM if any(c in e.this for c in ".eE") else INT
        if isinstance(e, exp.Count | exp.CountIf | exp.Length | exp.ArraySize | exp.Rank):
            return INT
        if isinstance(e, exp.Add | exp.Sub | exp.Mul | exp.Mod | exp.IntDiv):
            return self._integer([e.this, e.expression])
        if isinstance(e, exp.Neg | exp.Abs | exp.Sum | exp.Round):
            return self._integer([e.this])
        if isinstance(e, exp.Boolean):
            return BOOL
        if isinstance(e, exp.Column):
            return self._column(e)
        if isinstance(e, exp.Identifier):
            return self._variable(e)
        if isinstance(e, exp.Dot):
            base = self.of(e.this)
            return base.field(e.expression.name) if base is not None else None
        if isinstance(e, exp.Array):
            return _list(self._first(e.expressions))
        if isinstance(e, exp.Transform):
            body = e.expression
            return _list(self.of(body.this) if isinstance(body, exp.Lambda) else None)
        if isinstance(e, exp.ArrayFilter | exp.ArrayDistinct | exp.ArraySort):
            return self.of(e.this)
        if isinstance(e, exp.Split):
            return _list(TEXT)
        if isinstance(e, exp.GenerateSeries):
            return _list(self._integer([x for x in (e.args.get("start"), e.args.get("end"), e.args.get("step"))
                                        if x is not None]))
        if isinstance(e, exp.Bracket):
            base = self.of(e.this)
            if base is None:
                return None
            if e.expressions and isinstance(e.expressions[0], exp.Slice):
                return base
            if base.kind == "list":
                return base.elem()
            return base.args[1] if base.kind == "map" else None
        if isinstance(e, exp.ArrayAgg):  # ARRAY_AGG(x ORDER BY k): x is inside the Order
            return _list(self.of(e.this.this if isinstance(e.this, exp.Order) else e.this))
        if isinstance(e, exp.Explode):  # UNNEST(l): one row per element
            base = self.of(e.this)
            return base.elem() if base is not None else None
        if isinstance(e, exp.Try):
            return self.of(e.this)
        if isinstance(e, exp.ParseJSON):
            return T("other")
        if isinstance(e, exp.ArrayMax):
            base = self.of(e.this)
            return base.elem() if base is not None else None
        if isinstance(e, exp.MapKeys):
            base = self.of(e.this)
            return _list(base.args[0] if base is not None and base.kind == "map" else None)
        if isinstance(e, exp.Struct):
            return T("struct", tuple((p.this.name, self.of(p.expression)) for p in e.expressions
                                     if isinstance(p, exp.PropertyEQ)))
        if isinstance(e, exp.Anonymous):
            return self._function(e)
        if isinstance(e, exp.Coalesce | exp.Nullif | exp.Greatest | exp.Least | exp.Max | exp.Min):
            return self._first([e.this, *e.expressions])
        if isinstance(e, exp.Case):
            return self._first([*(i.args.get("true") for i in e.args.get("ifs", [])), e.args.get("default")])
        if isinstance(e, exp.If):
            return self._first([e.args.get("true"), e.args.get("false")])
        if isinstance(e, exp.Predicate | exp.Connector | exp.Not | exp.ArrayContains | exp.IsNan | exp.Exists):
            return BOOL
        if isinstance(e, exp.Lower | exp.Upper | exp.Trim | exp.RegexpReplace | exp.RegexpExtract | exp.Replace
                      | exp.DPipe | exp.Concat | exp.Chr | exp.ArrayToString | exp.Translate):
            return TEXT
        if isinstance(e, exp.Binary | exp.Neg | exp.Func):  # arithmetic and numeric functions
            return NUM
        return None

    def _function(self, e: exp.Anonymous) -> T | None:
        name = e.name.upper()
        args = e.expressions
        first = self.of(args[0]) if args else None
        if name == "LIST_AGGREGATE":
            return T("map", (first.elem() if first is not None else None, NUM))
        if name == "MAP_ENTRIES":
            k, v = first.args if first is not None and first.kind == "map" else (None, None)
            return _list(T("struct", (("key", k), ("value", v))))
        if name == "MAP_VALUES":
            return _list(first.args[1] if first is not None and first.kind == "map" else None)
        if name == "LIST_INTERSECT":
            return first
        if name in ("LIST_SUM", "LIST_POSITION", "LIST_AVG"):
            return NUM
        if name == "TO_JSON":
            return TEXT
        udf = UDFS.get(e.name.lower())
        if udf is not None:
            return type_of(udf.returns)
        return None

    def _variable(self, ident: exp.Identifier) -> T | None:
        """A lambda variable: the element of the list its function walks, or the index."""
        node: exp.Expr | None = ident.parent
        while node is not None:
            if isinstance(node, exp.Lambda):
                names = [p.name for p in node.expressions]
                if ident.name in names:
                    if names.index(ident.name) == 1:
                        return INT
                    walked = self.of(node.parent.this) if node.parent is not None else None
                    return walked.elem() if walked is not None else None
            node = node.parent
        return None

    def _column(self, col: exp.Column) -> T | None:
        scope = self._scope_of(col)
        if scope is None or not col.table:
            return None
        if col.args.get("catalog"):
            return None
        if col.args.get("db"):  # source.column.field: a field of a STRUCT column
            base = self._source_column(scope, col.db, col.table)
            return base.field(col.name) if base is not None else None
        return self._source_column(scope, col.table, col.name)

    def _source_column(self, scope: Scope, table: str, name: str) -> T | None:
        source = scope.sources.get(table)
        if isinstance(source, exp.Table):
            return self.schema.get(source.name, {}).get(name)
        if isinstance(source, Scope) and isinstance(source.expression, exp.Query):
            for projection in source.expression.selects:
                if projection.alias_or_name == name:
                    return self.of(projection)
        return None

    def _scope_of(self, e: exp.Expr) -> Scope | None:
        node: exp.Expr | None = e.parent
        while node is not None:
            scope = self.scopes.get(id(node))
            if scope is not None:
                return scope
            node = node.parent
        return None


# --- regular expressions: RE2 -> java.util.regex ------------------------------------------------

_WORD = "[0-9A-Za-z_]"
_BOUNDARY = f"(?:(?<={_WORD})(?!{_WORD})|(?<!{_WORD})(?={_WORD}))"
_NOT_BOUNDARY = f"(?:(?<={_WORD})(?={_WORD})|(?<!{_WORD})(?!{_WORD}))"
_SPACE = "\\t\\n\\f\\r "  # RE2's \s: no vertical tab (Java's \s has one)
_POSIX = {"alnum": "Alnum", "alpha": "Alpha", "ascii": "ASCII", "blank": "Blank", "cntrl": "Cntrl",
          "digit": "Digit", "graph": "Graph", "lower": "Lower", "print": "Print", "punct": "Punct",
          "space": "Space", "upper": "Upper", "xdigit": "XDigit"}


class RegexError(ValueError):
    pass


def regex_to_java(pattern: str) -> tuple[str, int]:
    """An RE2 pattern as a java.util.regex pattern with the same matches, and its number of
    capturing groups; RegexError for what has no faithful translation here."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_first = False  # just after '[' or '[^': a ']' here is a literal
    groups = 0
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise RegexError("trailing backslash")
            d = pattern[i + 1]
            if d in "pP":
                if i + 2 < n and pattern[i + 2] == "{":
                    end = pattern.find("}", i + 3)
                    if end < 0:
                        raise RegexError("unterminated \\p{")
                    name, i = pattern[i + 3:end], end + 1
                else:
                    name, i = pattern[i + 2:i + 3], i + 3
                negate = name.startswith("^")
                name = name.lstrip("^")
                if not name or name == "Any":
                    raise RegexError(f"unsupported class \\p{{{name}}}")
                # one- and two-letter names are general categories (same in Java); longer ones scripts
                java = name if len(name) <= 2 else f"Is{name}"
                out.append(f"\\{'P' if (d == 'P') != negate else 'p'}{{{java}}}")
                class_first = False
                continue
            if d == "Q":  # literal text up to \E: the same in both
                end = pattern.find("\\E", i + 2)
                end = n if end < 0 else end + 2
                out.append(pattern[i:end] if pattern[i:end].endswith("\\E") else pattern[i:end] + "\\E")
                i = end
                continue
            if d == "s":
                out.append(_SPACE if in_class else f"[{_SPACE}]")
            elif d == "S":
                out.append(f"[^{_SPACE}]")  # inside a class Java takes a nested class as a union
            elif d == "b":
                if in_class:
                    raise RegexError("\\b inside a character class")
                out.append(_BOUNDARY)
            elif d == "B":
                if in_class:
                    raise RegexError("\\B inside a character class")
                out.append(_NOT_BOUNDARY)
            elif d == "v":
                out.append("\\x0B")  # Java's \v is a class of vertical whitespace
            elif d == "x":  # \xhh or \x{h...}: a code point, written \x{h...} for Java
                if pattern.startswith("{", i + 2):
                    end = pattern.find("}", i + 3)
                    digits, after = (pattern[i + 3:end], end + 1) if end > 0 else ("", n)
                else:
                    digits, after = pattern[i + 2:i + 4], i + 4
                    if len(digits) != 2:
                        digits = ""
                if not digits or any(h not in string.hexdigits for h in digits) or int(digits, 16) > 0x10FFFF:
                    raise RegexError(f"invalid escape {pattern[i:after]}")
                out.append(f"\\x{{{int(digits, 16):x}}}")
                i = after
                class_first = False
                continue
            elif d in "dDwWtnrfaAz":
                out.append("\\" + d)
            elif d.isdigit():
                raise RegexError(f"\\{d} (RE2 has no backreferences)")
            elif d.isalnum():
                raise RegexError(f"unsupported escape \\{d}")
            else:
                out.append("\\" + d)  # an escaped punctuation character
            i += 2
            class_first = False
            continue
        if in_class:
            if c == "]" and not class_first:
                in_class = False
                out.append("]")
            elif c == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2:end].lstrip("^") if end > 0 else ""
                if name not in _POSIX:
                    raise RegexError(f"unsupported class [:{name}:]")
                negate = pattern[i + 2] == "^"
                out.append(f"\\{'P' if negate else 'p'}{{{_POSIX[name]}}}")
                i = end + 2
                class_first = False
                continue
            elif c in "[&":  # Java: nested classes and intersections; RE2: literals
                out.append("\\" + c)
            else:
                out.append(c)
            class_first = False
            i += 1
            continue
        if c == "[":
            in_class, class_first = True, True
            out.append("[")
            if pattern.startswith("[^", i):
                out.append("^")
                i += 1
        elif c == ".":
            out.append("[^\\n]")  # RE2's dot stops at \n only; Java's also at \r, \u0085, \u2028, \u2029
        elif c == "$":
            out.append("\\z")  # RE2: the end of the text; Java: also before a final line break
        elif c == "(" and pattern.startswith("(?", i):
            j = i + 2
            if pattern.startswith("P<", j):  # (?P<name>...) -> (?<name>...)
                out.append("(?<")
                groups += 1
                i = j + 2
                continue
            if pattern.startswith("<", j) and not pattern.startswith(("<=", "<!"), j):
                out.append("(?<")
                groups += 1
                i = j + 1
                continue
            k = j
            while k < n and pattern[k] not in ":)":
                k += 1
            flags = pattern[j:k]
            if any(f not in "i-" for f in flags):
                raise RegexError(f"unsupported flags (?{flags})")
            # RE2's (?i) folds Unicode case; Java's only ASCII without u
            out.append("(?" + flags.replace("i", "iu"))
            i = k
            continue
        elif c == "(":
            groups += 1
            out.append(c)
        else:
            out.append(c)
        i += 1
    if in_class:
        raise RegexError("unterminated character class")
    return "".join(out), groups


def replacement_to_java(text: str, groups: int, shift: int = 0) -> str:
    """An RE2 rewrite string (``\\1``, ``\\0``, ``\\\\``) as a Java replacement (``$1``, ``$0``, ``\\\\``);
    ``shift``: the pattern's groups are numbered that many places later in the Java pattern
    (``groups`` counts them there)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            d = text[i + 1] if i + 1 < len(text) else ""
            if d.isdigit():
                if i + 2 < len(text) and text[i + 2].isdigit() and groups >= 10:
                    raise RegexError(f"\\{d} followed by a digit is ambiguous in Java with {groups} groups")
                out.append(f"${int(d) + shift}")
            elif d == "\\":
                out.append("\\\\")
            else:
                raise RegexError(f"invalid rewrite escape \\{d}")
            i += 2
            continue
        out.append("\\$" if c == "$" else c)
        i += 1
    return "".join(out)


def _java_quote(text: str) -> str:
    """A regex matching ``text`` literally."""
    return "".join("\\" + c if c in "\\^$.|?*+()[]{}" else c for c in text)


# --- the DuckDB constructs that were checked -------------------------------------------------

CHECKED: frozenset[type[exp.Expr]] = frozenset({
    exp.Select, exp.Union, exp.With, exp.CTE, exp.From, exp.Join, exp.Where, exp.Group, exp.Order, exp.Ordered,
    exp.Subquery, exp.Table, exp.TableAlias, exp.Alias, exp.Column, exp.Identifier, exp.Star, exp.Literal,
    exp.Boolean, exp.Null, exp.DataType, exp.Cast, exp.TryCast, exp.Paren, exp.Window, exp.Rank,
    exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is, exp.In, exp.Exists,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.Abs, exp.Sign, exp.Sqrt, exp.Exp, exp.Ln, exp.Tanh,
    exp.IsNan, exp.Greatest, exp.Least, exp.Coalesce, exp.Nullif, exp.Case, exp.If,
    exp.Count, exp.CountIf, exp.Sum, exp.Avg, exp.Max, exp.Min, exp.Corr, exp.ArrayAgg,
    exp.Lower, exp.Upper, exp.Trim, exp.Replace, exp.DPipe, exp.Chr, exp.Levenshtein, exp.Translate,
    exp.RegexpReplace, exp.RegexpExtract, exp.RegexpLike, exp.Split,
    exp.Array, exp.Bracket, exp.Slice, exp.Transform, exp.ArrayFilter, exp.Lambda, exp.ArrayMax,
    exp.ArraySort, exp.ArrayDistinct, exp.ArrayContains, exp.ArrayToString, exp.GenerateSeries,
    exp.MapKeys, exp.Struct, exp.PropertyEQ, exp.Dot, exp.Anonymous, exp.Length,
    exp.Explode, exp.Try, exp.ParseJSON, exp.IntDiv, exp.Round,
})
CHECKED_FUNCTIONS = frozenset({"LIST_AGGREGATE", "LIST_SUM", "LIST_AVG", "LIST_POSITION", "LIST_INTERSECT",
                               "MAP_ENTRIES", "MAP_VALUES", "TO_JSON"})
_HISTOGRAM = "histogram"
_FIXED = frozenset({"duckdb"})  # dialects the compiled SQL is already in

# DuckDB's grammar for text -> DOUBLE (TRY_CAST), in Java regex syntax
_WS = "[\\t\\n\\x0B\\f\\r ]*"
_DIGITS = "[0-9]+(?:_[0-9]+)*"
_NUMBER_RE = f"^{_WS}[+-]?(?:{_DIGITS}(?:\\.(?:{_DIGITS})?)?|\\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?{_WS}$"
_INF_RE = f"(?i)^{_WS}\\+?inf(?:inity)?{_WS}$"
_NEG_INF_RE = f"(?i)^{_WS}-inf(?:inity)?{_WS}$"
_NAN_RE = f"(?i)^{_WS}[+-]?nan{_WS}$"
# JSON texts for TRY(CAST(JSON(x) AS TEXT[])), in Java regex syntax: JSON's white space; a flat array
# of strings (no raw control characters, valid escapes, surrogates only in pairs), null, true, false
# and integers of up to 18 digits; a text that starts with '[' and ends with ']'
_JSON_WS = "[\\t\\n\\r ]*"
_JSON_STRING = ('"(?:[^"\\\\\\x{0}-\\x{1f}]|\\\\["\\\\/bfnrt]|\\\\u(?![dD][89a-fA-F])[0-9a-fA-F]{4}'
                '|\\\\u[dD][89abAB][0-9a-fA-F]{2}\\\\u[dD][c-fC-F][0-9a-fA-F]{2})*+"')
_JSON_ITEM = f"(?:{_JSON_STRING}|null|true|false|-?(?:0|[1-9][0-9]{{0,17}}))"
_JSON_TEXT_ARRAY_RE = (f"\\A{_JSON_WS}\\[{_JSON_WS}(?:{_JSON_ITEM}(?:{_JSON_WS},{_JSON_WS}{_JSON_ITEM})*+{_JSON_WS})?"
                       f"\\]{_JSON_WS}\\z")
_JSON_OPEN_RE = f"\\A{_JSON_WS}\\["
_JSON_CLOSE_RE = f"\\]{_JSON_WS}\\z"


def _fn(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _double(text: str) -> exp.Cast:
    return exp.cast(exp.Literal.string(text), exp.DType.DOUBLE)


def _case(ifs: list[tuple[exp.Expr, exp.Expr]], default: exp.Expr | None = None) -> exp.Case:
    case = exp.Case()
    for cond, value in ifs:
        case = case.when(cond, value)
    return case.else_(default) if default is not None else case


def _simple(e: exp.Expr) -> bool:
    return isinstance(e, exp.Column | exp.Literal | exp.Identifier | exp.Null | exp.Dot)


class _SparkRewriter:
    """Rewrites one parsed DuckDB node into expressions that mean the same in Spark SQL."""

    def __init__(self, tree: exp.Expr, typer: _Typer, where: str) -> None:
        self.tree = tree
        self.where = where
        self.typer = typer
        self.names = itertools.count(1)
        self.kinds: dict[int, tuple[exp.Expr, str]] = {}  # id -> (node, 'list' | 'map' | 'text')

    def fail(self, what: str, e: exp.Expr) -> GlcError:
        return GlcError(f"{self.where}: {what} has no Spark translation: {e.sql(DuckDBAsWritten)[:200]}",
                        hint="a construct glc has not checked on Spark; add a transform in compiler/dialects.py "
                             "(and a case to tests/test_spark.py) or write the model without it")

    def var(self, stem: str) -> exp.Identifier:
        return exp.to_identifier(f"__glc_{stem}{next(self.names)}")

    def lam(self, params: list[exp.Identifier], body: exp.Expr) -> exp.Lambda:
        return exp.Lambda(this=body, expressions=params)

    def let(self, value: exp.Expr, build: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
        """``build(value)`` with ``value`` evaluated once (bound to a lambda variable unless trivial)."""
        if _simple(value):
            return build(value)
        v = self.var("v")
        return _fn("ELEMENT_AT", exp.Transform(this=exp.Array(expressions=[value]),
                                               expression=self.lam([v], build(v.copy()))),
                   exp.Literal.number(1))

    # pass 1 ------------------------------------------------------------------------------
    def check(self) -> None:
        for e in self.tree.walk():
            if type(e) not in CHECKED:
                raise self.fail(type(e).__name__, e)
            if isinstance(e, exp.Anonymous) and e.name.upper() not in CHECKED_FUNCTIONS \
                    and e.name.lower() not in UDFS:
                raise self.fail(f"function {e.name}", e)
            if isinstance(e, exp.Bracket):
                if e.args.get("offset") or e.args.get("json_access") or len(e.expressions) != 1:
                    raise self.fail("this subscript", e)
                if not isinstance(e.expressions[0], exp.Slice):
                    base = self.typer.of(e.this)
                    if base is None or base.kind not in ("list", "map"):
                        raise self.fail(f"a subscript of a value of type {base or 'unknown'}", e)
                    self.kinds[id(e)] = (e, base.kind)
            elif isinstance(e, exp.Length):
                arg = self.typer.of(e.this)
                if arg is None or arg.kind not in ("list", "text"):
                    raise self.fail(f"LENGTH of a value of type {arg or 'unknown'}", e)
                self.kinds[id(e)] = (e, arg.kind)
            elif isinstance(e, exp.Explode):
                self.check_unnest(e)
            if isinstance(e, exp.ArrayDistinct) or isinstance(e, exp.Anonymous) and e.name.upper() == "LIST_INTERSECT":
                self.check_unordered(e)
            elif isinstance(e, exp.IntDiv):
                if self.typer.of(e.this) != INT or self.typer.of(e.expression) != INT:
                    raise self.fail("// of values not both of an integer type (DuckDB's // divides DOUBLEs "
                                    "exactly)", e)
            elif isinstance(e, exp.Round):
                arg = self.typer.of(e.this)
                if any(v is not None for k, v in e.args.items() if k != "this") or arg is None or arg.kind != "num":
                    raise self.fail(f"ROUND with digits or of a value of type {arg or 'unknown'}", e)
            elif type(e) is exp.Cast and e.to.this in exp.DataType.INTEGER_TYPES:
                source = exp.Null() if isinstance(e.this, exp.Null) else None
                arg = self.typer.of(e.this) if source is None else None
                if e.to.this not in _SIGNED or source is None and (arg is None or arg.kind not in ("num", "bool")):
                    raise self.fail(f"CAST of a value of type {arg or 'unknown'} to {e.to.sql('duckdb')}", e)
                self.kinds[id(e)] = (e, "double" if arg == NUM else "exact")
            elif isinstance(e, exp.Try):
                self.check_try(e)
            elif isinstance(e, exp.ParseJSON) and not (isinstance(e.parent, exp.Cast)
                                                       and isinstance(e.parent.parent, exp.Try)):
                raise self.fail("JSON() other than in TRY(CAST(JSON(x) AS TEXT[]))", e)
            elif isinstance(e, exp.ArrayAgg) and isinstance(e.this, exp.Order):
                for key in e.this.expressions:
                    t = self.typer.of(key.this)
                    if t is None or t.kind not in ("text", "num", "bool"):
                        raise self.fail(f"ARRAY_AGG ordered by a value of type {t or 'unknown'}", e)

    def check_unordered(self, e: exp.Expr) -> None:
        """``list_distinct`` and ``list_intersect`` list their values in the order of DuckDB's hash
        table, which Spark's ``array_distinct``/``array_intersect`` (first occurrence) do not
        reproduce: the result must reach something that ignores the order (a sort, a length, a
        membership test, a sum, a histogram) or a column of a CTE or subquery, not an element
        by position, a text, or a column of the node itself."""
        node: exp.Expr = e
        while True:
            parent = node.parent
            if isinstance(parent, exp.Select):
                outer: exp.Expr = parent
                while isinstance(outer.parent, exp.Union):  # the branches of a UNION make the same columns
                    outer = outer.parent
                if outer is self.tree:
                    raise self.fail("a list_distinct or list_intersect whose order (DuckDB's hash order) reaches a "
                                    "column of the node (sort it: LIST_SORT)", e)
                return  # a column of a CTE or subquery: its consumers are compared by tests/test_spark.py
            if isinstance(parent, exp.ArraySort | exp.Length | exp.ArraySize | exp.ArrayContains | exp.ArrayDistinct
                          | exp.ArrayMax) or isinstance(parent, exp.Anonymous) and parent.name.upper() in (
                              "LIST_SUM", "LIST_AVG", "LIST_AGGREGATE", "LIST_INTERSECT"):
                return
            if not isinstance(parent, exp.ArrayFilter | exp.Transform | exp.Lambda | exp.Coalesce | exp.Nullif
                              | exp.Paren | exp.Case | exp.If | exp.Alias):
                raise self.fail(f"a list_distinct or list_intersect whose order (DuckDB's hash order) matters "
                                f"({type(parent).__name__})", e)
            node = parent

    def check_unnest(self, e: exp.Explode) -> None:
        """UNNEST(l) as a value of a SELECT list (not under an aggregate, a window, a lambda or
        another UNNEST), in a SELECT with a FROM clause that aggregates nothing."""
        if e.expressions or any(x is not e for x in e.find_all(exp.Explode)):
            raise self.fail("UNNEST with options or of an UNNEST", e)
        node: exp.Expr = e
        while not isinstance(node.parent, exp.Select):
            node = node.parent  # type: ignore[assignment]
            if node is None or isinstance(node, exp.AggFunc | exp.Window | exp.Lambda | exp.Query | exp.Subquery):
                raise self.fail("UNNEST other than in the SELECT list of a query that aggregates nothing", e)
        select = node.parent
        assert isinstance(select, exp.Select)
        if node.arg_key != "expressions" or not select.args.get("from_") or any(
                select.args.get(k) for k in ("group", "having", "qualify", "windows")) or any(
                p.find(exp.AggFunc, exp.Window) for p in select.expressions):
            raise self.fail("UNNEST other than in the SELECT list of a query that aggregates nothing", e)

    def check_try(self, e: exp.Try) -> None:
        """TRY is checked in one use: TRY(CAST(JSON(x) AS TEXT[])) of a column or literal x."""
        cast = e.this
        if not (isinstance(cast, exp.Cast) and not isinstance(cast, exp.TryCast)
                and isinstance(cast.this, exp.ParseJSON) and _simple(cast.this.this)
                and not any(cast.this.args.get(k) for k in ("expression", "safe"))
                and type_of(cast.to) == _list(TEXT)):
            raise self.fail("TRY other than TRY(CAST(JSON(x) AS TEXT[])) of a column", e)

    # pass 2 ------------------------------------------------------------------------------
    def rewrite(self, e: exp.Expr) -> exp.Expr:
        for key, value in list(e.args.items()):
            if isinstance(value, exp.Expr):
                e.set(key, self.rewrite(value))
            elif isinstance(value, list):
                e.set(key, [self.rewrite(v) if isinstance(v, exp.Expr) else v for v in value])
        return self.node(e)

    def node(self, e: exp.Expr) -> exp.Expr:  # noqa: C901 - one case per construct
        if isinstance(e, exp.Literal) and not e.is_string and not isinstance(e.parent, exp.DataType | exp.Group
                                                                               | exp.Ordered | exp.Order):
            text = e.this
            if any(c in text for c in ".eE"):  # a DECIMAL (or DOUBLE) literal
                return exp.cast(e, exp.DType.DOUBLE)
            return e
        if isinstance(e, exp.Bracket):
            return self.subscript(e)
        if isinstance(e, exp.Select):
            return self.unnest(e)
        if isinstance(e, exp.Try):
            return self.try_json(e)
        if id(e) in self.kinds and isinstance(e, exp.Cast):
            return self.cast_integer(e, self.kinds[id(e)][1] == "double")
        if isinstance(e, exp.Length):
            kind = self.kinds[id(e)][1]
            return _fn("ARRAY_SIZE", e.this) if kind == "list" else e
        if isinstance(e, exp.Transform | exp.ArrayFilter):
            self.index_base(e)
            return e
        if isinstance(e, exp.Anonymous):
            return self.function(e)
        if isinstance(e, exp.ArrayDistinct):
            return _fn("ARRAY_DISTINCT", self.not_null(e.this))
        if isinstance(e, exp.ArrayContains):  # a NULL element makes Spark's answer NULL, DuckDB's false
            return exp.ArrayContains(this=self.not_null(e.this), expression=e.expression)
        if isinstance(e, exp.ArraySort):
            if e.args.get("nulls_first") and e.args["nulls_first"].this or e.expression is not None:
                raise self.fail("LIST_SORT with an order", e)
            return _fn("ARRAY_SORT", e.this)
        if isinstance(e, exp.ArrayAgg):
            return self.array_agg(e)
        if isinstance(e, exp.RegexpReplace):
            return self.regexp_replace(e)
        if isinstance(e, exp.RegexpExtract):
            if any(e.args.get(k) is not None for k in ("position", "occurrence", "parameters")):
                raise self.fail("regexp_extract with options", e)
            pattern, _ = self.pattern(e, e.expression)
            group = e.args.get("group") or exp.Literal.number(0)
            return _fn("REGEXP_EXTRACT", e.this, pattern, group)
        if isinstance(e, exp.RegexpLike):
            if e.args.get("flag"):
                raise self.fail("regexp_matches with options", e)
            return exp.RegexpLike(this=e.this, expression=self.pattern(e, e.expression)[0])
        if isinstance(e, exp.Split):
            sep = e.expression
            if not (isinstance(sep, exp.Literal) and sep.is_string and sep.this) or e.args.get("limit"):
                raise self.fail("STR_SPLIT on a separator that is not a literal", e)
            return _fn("SPLIT", e.this, exp.Literal.string(_java_quote(sep.this)), exp.Literal.number(-1))
        if isinstance(e, exp.Div):
            return self.divide(e)
        if isinstance(e, exp.Ln):
            return self.let(e.this, lambda x: _case([
                (exp.GT(this=x, expression=exp.Literal.number(0)), exp.Ln(this=x.copy())),
                (exp.EQ(this=x.copy(), expression=exp.Literal.number(0)), _double("-Infinity")),
                (exp.LT(this=x.copy(), expression=exp.Literal.number(0)), _double("NaN"))]))
        if isinstance(e, exp.Corr):
            if isinstance(e.parent, exp.Filter | exp.Window):
                raise self.fail("CORR with FILTER or OVER", e)
            x, y = e.this, e.expression
            both = _case([(exp.and_(exp.Not(this=exp.Is(this=x.copy(), expression=exp.Null())),
                                    exp.Not(this=exp.Is(this=y.copy(), expression=exp.Null()))),
                           exp.Literal.number(1))])
            return _case([(exp.EQ(this=exp.Count(this=both), expression=exp.Literal.number(0)), exp.Null())],
                         exp.Coalesce(this=e, expressions=[_double("NaN")]))
        if isinstance(e, exp.IsNan):
            return _case([(exp.Is(this=e.this.copy(), expression=exp.Null()), exp.Null())], e)
        if isinstance(e, exp.Sign):
            return exp.cast(e, exp.DType.TINYINT)
        if isinstance(e, exp.Lower):
            replaced = _fn("REPLACE", _fn("REPLACE", e.this, exp.Literal.string("İ"), exp.Literal.string("I")),
                           exp.Literal.string("Σ"), exp.Literal.string("σ"))
            return exp.Lower(this=replaced)
        if isinstance(e, exp.Upper):
            return exp.Upper(this=_fn("REPLACE", e.this, exp.Literal.string("ß"), exp.Literal.string("ẞ")))
        if isinstance(e, exp.Chr):
            return self.chr(e)
        if isinstance(e, exp.TryCast):
            return self.try_cast(e)
        return e

    def not_null(self, items: exp.Expr) -> exp.Expr:
        v = self.var("x")
        return exp.ArrayFilter(this=items, expression=self.lam([v], exp.Not(this=exp.Is(this=v.copy(),
                                                                                         expression=exp.Null()))))

    def subscript(self, e: exp.Bracket) -> exp.Expr:
        index = e.expressions[0]
        if isinstance(index, exp.Slice):
            if index.args.get("step") is not None:
                raise self.fail("a slice with a step", e)
            return self.let(e.this, lambda items: self.slice(items, index.this, index.expression))
        kind = self.kinds[id(e)][1]
        if kind == "list" and not (isinstance(index, exp.Literal) and int(index.this) != 0):
            # DuckDB's l[0] is NULL; Spark's element_at wants an INT index
            index = exp.cast(exp.Nullif(this=index, expression=exp.Literal.number(0)), exp.DType.INT)
        return _fn("TRY_ELEMENT_AT", e.this, index)

    @staticmethod
    def slice(items: exp.Expr, begin: exp.Expr | None, end: exp.Expr | None) -> exp.Expr:
        """DuckDB's ``l[b:e]``: 1-based and inclusive, negative from the end, clamped to the list
        (0 reads as 1) -> ``slice(l, b', e' - b' + 1)`` with b' and e' so normalized."""
        def known(x: exp.Expr | None) -> bool:  # a literal that needs no normalizing
            return isinstance(x, exp.Literal) and not x.is_string and int(x.this) >= 1

        def from_end(x: exp.Expr) -> exp.Expr:
            size = exp.Add(this=exp.Add(this=_fn("ARRAY_SIZE", items.copy()), expression=x.copy()),
                           expression=exp.Literal.number(1))
            return _case([(exp.LT(this=x.copy(), expression=exp.Literal.number(0)), size)], x.copy())

        first = begin if begin is not None and known(begin) else exp.Greatest(
            this=from_end(begin if begin is not None else exp.Literal.number(1)), expressions=[exp.Literal.number(1)])
        last = _fn("ARRAY_SIZE", items.copy()) if end is None else end if known(end) else from_end(end)
        length = exp.Greatest(this=exp.Add(this=exp.Sub(this=exp.paren(last, copy=False),
                                                         expression=exp.paren(first.copy(), copy=False)),
                                           expression=exp.Literal.number(1)),
                              expressions=[exp.Literal.number(0)])
        return _fn("SLICE", items.copy(), first, length)

    def index_base(self, e: exp.Transform | exp.ArrayFilter) -> None:
        """(x, i) -> ...: DuckDB's i counts from 1, Spark's from 0."""
        lam = e.expression
        if not isinstance(lam, exp.Lambda) or len(lam.expressions) < 2:
            return
        name = lam.expressions[1].name
        for ident in list(lam.this.find_all(exp.Identifier)):
            if ident.name != name or not self._is_variable(ident, lam):
                continue
            ident.replace(exp.paren(exp.Add(this=ident.copy(), expression=exp.Literal.number(1)), copy=False))

    @staticmethod
    def _is_variable(ident: exp.Identifier, lam: exp.Lambda) -> bool:
        parent = ident.parent
        if isinstance(parent, exp.Column | exp.Table | exp.TableAlias | exp.Alias | exp.PropertyEQ):
            return False
        if isinstance(parent, exp.Dot) and parent.expression is ident:
            return False
        node = parent
        while node is not None and node is not lam:  # shadowed by an inner lambda
            if isinstance(node, exp.Lambda) and ident.name in [p.name for p in node.expressions]:
                return False
            node = node.parent
        return True

    def function(self, e: exp.Anonymous) -> exp.Expr:
        name = e.name.upper()
        args = e.expressions
        if name == "LIST_AGGREGATE":
            if len(args) != 2 or not (isinstance(args[1], exp.Literal) and args[1].this == _HISTOGRAM):
                raise self.fail("list_aggregate other than 'histogram'", e)
            return self.let(args[0], self.histogram)
        if name == "LIST_SUM":
            acc, v = self.var("acc"), self.var("x")
            add = exp.Add(this=exp.Coalesce(this=acc.copy(), expressions=[_double("0")]), expression=v.copy())
            return _fn("AGGREGATE", self.not_null(args[0]), exp.cast(exp.Null(), exp.DType.DOUBLE),
                       self.lam([acc, v], add))
        if name == "LIST_AVG":
            return self.let(args[0], self.list_avg)
        if name == "LIST_POSITION":
            return exp.Nullif(this=_fn("ARRAY_POSITION", *args), expression=exp.Literal.number(0))
        if name == "LIST_INTERSECT":
            return _fn("ARRAY_INTERSECT", *args)
        if name == "TO_JSON":
            if len(args) != 1 or not isinstance(args[0], exp.Struct):
                raise self.fail("to_json of anything but a struct", e)
            # options must be a map() call in Spark
            options = _fn("MAP", exp.Literal.string("ignoreNullFields"), exp.Literal.string("false"))
            return _fn("TO_JSON", args[0], options)
        return e  # MAP_ENTRIES, MAP_VALUES (the same in Spark) and the glc_* UDFs

    def cast_integer(self, e: exp.Cast, from_double: bool) -> exp.Expr:
        """CAST to an integer type: DuckDB rounds a DOUBLE half to even, Spark truncates ->
        BROUND first. HUGEINT -> DECIMAL(38, 0) (Spark has no 128-bit integer; it fails from
        1e38 on, where DuckDB fails from 1.7e38 on); a NaN or infinity gives NULL there and an
        error in DuckDB -> an error."""
        huge = e.to.this == exp.DType.INT128
        to = exp.DataType.build("DECIMAL(38, 0)") if huge else e.to
        if not from_double:
            return exp.Cast(this=e.this, to=to)
        if not huge:
            return exp.Cast(this=_fn("BROUND", e.this), to=to)

        def rounded(x: exp.Expr) -> exp.Expr:
            cast = exp.Cast(this=_fn("BROUND", x), to=to)
            bad = exp.or_(exp.IsNan(this=x.copy()),
                          exp.EQ(this=exp.Abs(this=x.copy()), expression=_double("Infinity")))
            return _case([(bad, _fn("RAISE_ERROR", exp.Literal.string(
                "CAST of NaN or infinity to HUGEINT (an error in DuckDB)")))], cast)
        return self.let(e.this, rounded)

    def list_avg(self, items: exp.Expr) -> exp.Expr:
        """DuckDB's list_avg: the mean of the elements that are not NULL, summed in DOUBLE from the
        first to the last; NULL when there is none."""
        acc, v = self.var("acc"), self.var("x")

        def field(name: str) -> exp.Dot:
            return exp.Dot(this=acc.copy(), expression=exp.to_identifier(name))

        def state(total: exp.Expr, count: exp.Expr) -> exp.Struct:
            return exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier("s"), expression=total),
                                           exp.PropertyEQ(this=exp.to_identifier("n"), expression=count)])
        zero = state(_double("0"), exp.cast(exp.Literal.number(0), exp.DType.BIGINT))
        step = state(exp.Add(this=field("s"), expression=exp.cast(v.copy(), exp.DType.DOUBLE)),
                     exp.Add(this=field("n"), expression=exp.Literal.number(1)))
        mean = _case([(exp.EQ(this=field("n"), expression=exp.Literal.number(0)), exp.cast(exp.Null(),
                                                                                        exp.DType.DOUBLE))],
                     exp.Div(this=field("s"), expression=field("n")))
        return _fn("AGGREGATE", self.not_null(items.copy()), zero, self.lam([acc, v], step),
                   self.lam([acc.copy()], mean))

    def unnest(self, select: exp.Select) -> exp.Select:
        """UNNEST(l) in a SELECT list -> a LATERAL VIEW (Spark allows one generator per SELECT list,
        not inside expressions). DuckDB: a row per element, none for an empty or NULL list; several
        UNNESTs in one SELECT walk their lists side by side, as long as the longest, the shorter
        ones padded with NULL (a NULL list counts as empty) -> EXPLODE(l) for one,
        INLINE(ARRAYS_ZIP(COALESCE(l1, ARRAY()), ...)) for several (ARRAYS_ZIP pads with NULL)."""
        explodes = [x for p in select.expressions for x in p.find_all(exp.Explode)]
        if not explodes:
            return select
        view = self.var("unnest")
        columns = [self.var("u") for _ in explodes]
        if len(explodes) == 1:
            generator: exp.Expr = _fn("EXPLODE", explodes[0].this)
        else:
            generator = _fn("INLINE", _fn("ARRAYS_ZIP", *(exp.Coalesce(this=x.this, expressions=[_fn("ARRAY")])
                                                          for x in explodes)))
        for x, column in zip(explodes, columns, strict=True):
            x.replace(exp.column(column.copy(), table=view.copy()))
        select.append("laterals", exp.Lateral(this=generator, view=True,
                                              alias=exp.TableAlias(this=view, columns=columns)))
        return select

    def try_json(self, e: exp.Try) -> exp.Expr:
        """TRY(CAST(JSON(x) AS TEXT[])): DuckDB gives NULL for x NULL, not JSON, or JSON that is not
        an array; an array's strings as they are, nulls as NULL, other values as JSON text (numbers
        in DuckDB's own spelling, nested values minified). Spark's from_json agrees on arrays of
        strings (any escapes but lone surrogates), null, true, false and integers of up to 18
        digits (checked), written with JSON whitespace; a text that cannot be an array (it does not
        start with '[' and end with ']', JSON whitespace aside) is NULL; anything else (numbers
        with a fraction or exponent, nested values, trailing commas, invalid JSON that looks like an
        array) fails the build on Spark rather than give another answer."""
        cast = e.this
        assert isinstance(cast, exp.Cast) and isinstance(cast.this, exp.ParseJSON)

        def checked(x: exp.Expr) -> exp.Expr:
            def like(regex: str) -> exp.Expr:
                return exp.RegexpLike(this=x.copy(), expression=exp.Literal.string(regex))
            error = _fn("RAISE_ERROR", exp.Literal.string(
                "TRY(CAST(JSON(x) AS TEXT[])) of a JSON array with numbers that are not integers, nested values or "
                "invalid JSON: not reproduced on Spark (glc compiler/dialects.py)"))
            return _case([(like(_JSON_TEXT_ARRAY_RE), _fn("FROM_JSON", x.copy(), exp.Literal.string("ARRAY<STRING>"))),
                          (exp.and_(like(_JSON_OPEN_RE), like(_JSON_CLOSE_RE)), error)],
                         exp.cast(exp.Null(), exp.DataType.build("ARRAY<STRING>", dialect="spark")))
        return self.let(cast.this.this, checked)

    def histogram(self, items: exp.Expr) -> exp.Expr:
        """DuckDB's histogram of a list: value -> count (BIGINT), keys sorted, NULLs not counted,
        NULL when nothing is counted."""
        k, v = self.var("k"), self.var("x")
        count = exp.cast(_fn("ARRAY_SIZE", exp.ArrayFilter(
            this=items.copy(), expression=self.lam([v], exp.EQ(this=v.copy(), expression=k.copy())))),
            exp.DType.BIGINT)
        entry = exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier("key"), expression=k.copy()),
                                        exp.PropertyEQ(this=exp.to_identifier("value"), expression=count)])
        keys = _fn("ARRAY_SORT", _fn("ARRAY_DISTINCT", self.not_null(items.copy())))
        as_map = _fn("MAP_FROM_ENTRIES", exp.Transform(this=keys, expression=self.lam([k], entry)))
        empty = exp.or_(exp.Is(this=items.copy(), expression=exp.Null()),
                        exp.EQ(this=_fn("ARRAY_SIZE", self.not_null(items.copy())), expression=exp.Literal.number(0)))
        return _case([(empty, exp.Null())], as_map)

    def array_agg(self, e: exp.ArrayAgg) -> exp.Expr:
        """Spark's collect_list drops NULLs: the values travel inside structs. With ORDER BY, the
        sort keys travel with them and the list is sorted by a comparator with DuckDB's order
        (each key ascending or descending, NULLs last unless NULLS FIRST; text by code point,
        as DuckDB's binary collation); values with equal keys are in no defined order in either
        engine."""
        order = e.this if isinstance(e.this, exp.Order) else None
        value = order.this if order is not None else e.this
        if isinstance(value, exp.Distinct) or isinstance(e.parent, exp.Filter | exp.Window):
            raise self.fail("ARRAY_AGG with DISTINCT, FILTER or OVER", e)
        keys = list(order.expressions) if order is not None else []
        s = self.var("s")
        fields = [("v", value)] + [(f"k{i}", k.this) for i, k in enumerate(keys)]
        wrapped = exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(name), expression=x)
                                          for name, x in fields])
        items: exp.Expr = _fn("COLLECT_LIST", wrapped)
        if keys:
            a, b = self.var("a"), self.var("b")
            ifs: list[tuple[exp.Expr, exp.Expr]] = []
            for i, key in enumerate(keys):
                ka, kb = (exp.Dot(this=side.copy(), expression=exp.to_identifier(f"k{i}")) for side in (a, b))
                before, after = exp.Literal.number(-1), exp.Literal.number(1)
                null_first = bool(key.args.get("nulls_first"))
                less, more = (after, before) if key.args.get("desc") else (before, after)
                ifs += [(exp.and_(exp.Is(this=ka.copy(), expression=exp.Null()),
                                  exp.Not(this=exp.Is(this=kb.copy(), expression=exp.Null()))),
                         (before if null_first else after).copy()),
                        (exp.and_(exp.Not(this=exp.Is(this=ka.copy(), expression=exp.Null())),
                                  exp.Is(this=kb.copy(), expression=exp.Null())),
                         (after if null_first else before).copy()),
                        (exp.LT(this=ka.copy(), expression=kb.copy()), less.copy()),
                        (exp.GT(this=ka.copy(), expression=kb.copy()), more.copy())]
            items = _fn("ARRAY_SORT", items, self.lam([a, b], _case(ifs, exp.Literal.number(0))))
        values = exp.Transform(this=items,
                               expression=self.lam([s], exp.Dot(this=s.copy(), expression=exp.to_identifier("v"))))
        return _case([(exp.EQ(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(0)), exp.Null())],
                     values)

    def pattern(self, e: exp.Expr, pattern: exp.Expr | None, flags: str = "") -> tuple[exp.Literal, int]:
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise self.fail("a regular expression that is not a literal", e)
        try:
            java, groups = regex_to_java(pattern.this)
        except RegexError as exc:
            raise self.fail(f"regular expression ({exc})", e) from None
        if "i" in flags:
            java = "(?iu)" + java
        return exp.Literal.string(java), groups

    def regexp_replace(self, e: exp.RegexpReplace) -> exp.Expr:
        """Spark's regexp_replace replaces every match. DuckDB's does so with the 'g' option and
        otherwise replaces the first match only: that one becomes a match of the whole text up to
        the end of the first match, ``\\A((?s:.*?))(P)`` (the lazy prefix tries the start positions
        in the order a search does; RE2 and Java both take the leftmost-first match at a position),
        replaced by ``$1`` and the replacement with its group numbers moved up by two. ``\\A``
        matches once, so Spark replaces exactly that match."""
        modifiers = e.args.get("modifiers")
        flags = modifiers.this if isinstance(modifiers, exp.Literal) and modifiers.is_string else ""
        if modifiers is not None and not (isinstance(modifiers, exp.Literal) and modifiers.is_string) \
                or set(flags) - set("gic"):
            raise self.fail("regexp_replace with options other than g, i and c", e)
        insensitive = False
        for flag in flags:  # DuckDB: the last of i (insensitive) and c (sensitive) wins
            insensitive = {"i": True, "c": False}.get(flag, insensitive)
        pattern, groups = self.pattern(e, e.expression, "i" if insensitive else "")
        replacement = e.args.get("replacement")
        if not (isinstance(replacement, exp.Literal) and replacement.is_string):
            raise self.fail("a replacement that is not a literal", e)
        first_only = "g" not in flags
        shift = 2 if first_only else 0
        try:
            java = replacement_to_java(replacement.this, groups + shift, shift)
        except RegexError as exc:
            raise self.fail(f"replacement ({exc})", e) from None
        if first_only:
            if java[:1].isdigit() and groups + shift >= 10:  # $1 then a digit would name group 1x
                raise self.fail("a first-match replacement that starts with a digit, with 8 or more groups", e)
            pattern = exp.Literal.string(f"\\A((?s:.*?))({pattern.this})")
            java = "$1" + java
        return _fn("REGEXP_REPLACE", e.this, pattern, exp.Literal.string(java))

    def divide(self, e: exp.Div) -> exp.Expr:
        a, b = e.this, e.expression
        if isinstance(b, exp.Literal) and not b.is_string and float(b.this) != 0:
            return e
        ieee = exp.Mul(this=exp.paren(a.copy(), copy=False), expression=_double("Infinity"))
        return exp.paren(_case([(exp.EQ(this=b.copy(), expression=exp.Literal.number(0)), ieee)],
                               exp.Div(this=a, expression=b)), copy=False)

    def chr(self, e: exp.Chr) -> exp.Expr:
        code = e.expressions[0] if e.expressions else None
        if code is None or len(e.expressions) != 1:
            raise self.fail("CHR with several arguments", e)
        if isinstance(code, exp.Literal) and not code.is_string:
            value = int(code.this)
            return exp.Literal.string(chr(value)) if value >= 256 else _fn("CHR", code)
        bad = exp.or_(exp.LT(this=code.copy(), expression=exp.Literal.number(0)),
                      exp.GT(this=code.copy(), expression=exp.Literal.number(255)))
        error = _fn("RAISE_ERROR", exp.Literal.string("chr() of a code point above 255 (Spark's chr takes it "
                                                      "modulo 256)"))
        return _case([(bad, error)], _fn("CHR", code))

    def try_cast(self, e: exp.TryCast) -> exp.Expr:
        if e.to.this != exp.DType.DOUBLE:
            raise self.fail(f"TRY_CAST to {e.to.sql('duckdb')}", e)

        def gated(x: exp.Expr) -> exp.Expr:
            def like(regex: str) -> exp.Expr:
                return exp.RegexpLike(this=x.copy(), expression=exp.Literal.string(regex))
            number = exp.TryCast(this=_fn("REPLACE", x.copy(), exp.Literal.string("_"), exp.Literal.string("")),
                                 to=exp.DataType.build("DOUBLE"))
            return _case([(like(_NUMBER_RE), number), (like(_INF_RE), _double("Infinity")),
                          (like(_NEG_INF_RE), _double("-Infinity")), (like(_NAN_RE), _double("NaN"))])
        return self.let(e.this, gated)


# --- nodes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Translated:
    name: str
    sql: str  # header comments + the query in the dialect
    columns: tuple[tuple[str, T | None], ...]

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def _split_header(sql: str) -> tuple[list[str], str]:
    lines = sql.splitlines()
    k = 0
    while k < len(lines) and lines[k].startswith("--"):
        k += 1
    return lines[:k], "\n".join(lines[k:])


_CACHE: dict[tuple[str, str, str], Translated] = {}  # by dialect, SQL and the types of what it reads


def _schema_key(schema: Mapping[str, Mapping[str, T | None]], reads: Iterable[str]) -> str:
    return repr([(t, sorted((c, str(ty)) for c, ty in schema.get(t, {}).items())) for t in sorted(set(reads))])


def translate(name: str, sql: str, dialect: str, schema: Mapping[str, Mapping[str, T | None]],
              location: str | None = None, reads: Iterable[str] | None = None) -> Translated:
    """One compiled node (its DuckDB text) in ``dialect``. ``schema``: the types of the tables it
    may read; ``reads``: the tables it reads, when known (the answer is then cached before parsing)."""
    if dialect not in DIALECTS:
        raise GlcError(f"unknown SQL dialect '{dialect}'", hint="one of: " + ", ".join(DIALECTS))
    digest = hashlib.sha256(sql.encode()).hexdigest()
    if reads is not None:
        hit = _CACHE.get((dialect, digest, _schema_key(schema, reads)))
        if hit is not None:
            return hit
    header, body = _split_header(sql)
    try:
        tree = sqlglot.parse_one(body, read=DuckDBAsWritten)
    except SqlglotError as exc:
        raise GlcError(f"model '{name}': cannot parse its compiled SQL: {exc}", location=location) from None
    if not isinstance(tree, exp.Query):
        raise GlcError(f"model '{name}' is not a query", location=location)
    key = (dialect, digest, _schema_key(schema, reads if reads is not None else (t.name for t in
                                                                                 tree.find_all(exp.Table))))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    typer = _Typer(tree, schema)
    columns = tuple((s.alias_or_name, typer.of(s)) for s in tree.selects)
    if dialect in _FIXED:
        out = Translated(name, sql, columns)
    else:
        rewriter = _SparkRewriter(tree, typer, f"model '{name}'")
        try:
            rewriter.check()
            text = rewriter.rewrite(tree).sql(dialect="spark", pretty=True)
        except GlcError as exc:
            exc.location = exc.location or location
            raise
        head = "\n".join([*header, f"-- dialect: {dialect} (translated from DuckDB by compiler/dialects.py)"])
        out = Translated(name, head + "\n" + text + "\n", columns)
    _CACHE[key] = out
    return out


def translate_nodes(nodes: Iterable[Any], dialect: str) -> dict[str, Translated]:
    """Every node (``CompiledNode``, in dependency order) in ``dialect``; each is typed against the
    contracts and the columns the nodes before it produce."""
    schema: dict[str, dict[str, T | None]] = {t: {c: type_of(ty) for c, ty in cols.items()}
                                               for t, cols in source_schema().items()}
    out: dict[str, Translated] = {}
    for node in nodes:
        done = translate(node.name, node.sql, dialect, schema, node.template, (*node.sources, *node.depends_on))
        declared = {c.name: type_of(c.type) for c in node.columns}
        schema[node.name] = {c: declared.get(c) or ty for c, ty in done.columns}
        out[node.name] = done
    return out
