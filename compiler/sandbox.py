"""The Jinja sandbox every template of a spec goes through (prompts, argv, SQL templates).

Jinja's ``ImmutableSandboxedEnvironment`` already forbids Python internals (no ``__class__``,
no mutation of lists/dicts, ``range`` capped at 100,000). What it does not bound is work: a
spec could write ``{{ 7 ** 300000000 }}`` (minutes of big-integer arithmetic), ``{{ x * 3000000 }}``
or ``{{ "a" | center(10**10) }}`` (gigabytes), or loops nested three deep. ``BoundedSandbox``
adds three bounds:

* **size before work**: ``*``, ``**``, ``+`` and ``%`` are intercepted and refused when their result
  would exceed ``MAX_ITEMS`` characters / items or ``MAX_INT_BITS`` bits, and so are the filters and
  string methods that grow text by an argument (``center``, ``indent``, ``ljust``, ``zfill``,
  ``replace``, ``format``, ``batch``, ...), checked before they allocate;
* **output size**: a render stops once it has produced ``max_chars`` characters;
* **time**: a render that runs past ``deadline_s`` is interrupted (a watchdog thread raises
  ``TemplateBudgetError`` inside the rendering thread; pure-Python loops are interruptible, and the
  size checks above keep single operations short).

Every refusal is a ``TemplateBudgetError`` (a ``jinja2.TemplateError``), which callers report with
the spec's location like any other template error.
"""

from __future__ import annotations

import _string  # str.format's parser of fields (what string.Formatter.parse calls)
import ctypes
import operator
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_ITEMS = 1_000_000  # characters of a string / items of a list one operation may produce
MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MAX_OUTPUT = 1_000_000  # characters one render may produce (prompts, argv elements)
DEADLINE_S = 2.0  # seconds one render may take
# a width or precision in a %-format or str.format spec ("%99999999d", "{:>99999999}")
# widths and precisions of %-format ("%(key)-08.3f") and str.format ("{0:>12.3}") specs
_FORMAT_NUMBERS = re.compile(r"(?:%(?:\([^)]*\))?[-+ #0]*|\{[^{}]*:[^{}\d]*)(\d+|\*)?(?:\.(\d+|\*))?")


class TemplateBudgetError(jinja2.TemplateError):
    """A template asked for more work, memory or time than a spec template may use."""


class TemplateTimeout(TemplateBudgetError):
    """A render ran past its deadline (a caller may spare other renders of the same template the wait)."""


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _check_size(n: int, what: str) -> None:
    if n > MAX_ITEMS:
        raise TemplateBudgetError(f"{what} would produce {n:,} characters or items (a template may make "
                                  f"at most {MAX_ITEMS:,} in one operation)")


def _check_bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateBudgetError(f"{what} would produce a number of about {bits:,} bits (at most "
                                  f"{MAX_INT_BITS:,} in a template)")


# a %-conversion that escapes each character (%r, %a), matched where a conversion starts (no slice of
# the format per conversion: a format of a million characters holds half a million of them)
_ESCAPING_CONVERSION = re.compile(r"%[^%a-zA-Z]*[ra]")


def _check_format(fmt: Any, what: str, args: Any = None, values: Any = ()) -> None:
    """Refuse a format whose widths and precisions (all of them added up, with the size of the
    arguments) would produce more than MAX_ITEMS characters; '*' widths are refused.

    One argument may be printed by many fields (``("{0}" * 300).format(x)``, ``"%(a)s%(a)s" % {"a": x}``):
    each named or numbered field counts the largest of ``values`` (the arguments a field can name),
    and each ``!r``, ``!a``, ``%r`` and ``%a`` nine times more (an escape per character). A width
    taken from an argument (``"{0:{1}}"``, str.format's '*') is refused."""
    if isinstance(fmt, bytes):
        fmt = fmt.decode("latin-1")
    if not isinstance(fmt, str):
        return
    largest = max((approx_len(v) for v in values), default=0)
    total = len(fmt) + approx_len(args)
    for m in _FORMAT_NUMBERS.finditer(fmt):
        width, precision = m.group(1), m.group(2)
        if "*" in (width, precision):
            raise TemplateBudgetError(f"{what}: a '*' width or precision is not allowed in a template")
        total += int(width or 0) + int(precision or 0)
        if m.group(0).startswith("%"):  # a conversion (str.format's fields are counted below)
            # a positional one prints the next argument (counted in the arguments' size); a named
            # one may print the same argument again; %r and %a escape each character
            escapes = _ESCAPING_CONVERSION.match(fmt, m.start()) is not None
            total += largest * ((1 if "(" in m.group(0) else 0) + (9 if escapes else 0))
        if total > MAX_ITEMS:
            break
    if total <= MAX_ITEMS and "{" in fmt and "str.format" in what:
        try:
            fields = list(_string.formatter_parser(fmt))
        except ValueError:
            fields = []  # str.format refuses it too
        for _, name, spec, conversion in fields:
            if name is None:
                continue
            if spec and "{" in spec:
                raise TemplateBudgetError(f"{what}: a width or precision taken from an argument "
                                          "('{0:{1}}') is not allowed in a template")
            # an automatic field ('{}') prints the next argument; a named or numbered one may print one again
            total += largest * ((1 if name else 0) + (9 if conversion in ("r", "a") else 0))
    _check_size(total, what)


def _format_values(args: Any) -> list[Any]:
    """The values the fields of a format may print: the items of a tuple or list, the values of a mapping."""
    if isinstance(args, dict):
        return list(args.values())
    if isinstance(args, tuple | list):
        return list(args)
    return [args]


def approx_len(value: Any, budget: int = MAX_ITEMS + 1) -> int:
    """About how many characters ``value`` takes as text (its repr for containers), counting no
    further than ``budget``: cheap even for a list of a million strings."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple | set | frozenset | dict):
        total = 2
        items = value.items() if isinstance(value, dict) else value
        for item in items:
            total += 2 + approx_len(item, budget - total)
            if total > budget:
                break
        return total
    return 8


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def check_binop(op: str, left: Any, right: Any) -> None:
    """Refuse ``left op right`` when its result would be too big to compute or hold."""
    if op == "**" and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        _check_bits(abs(left).bit_length() * right, "'**'")
    elif op == "*":
        if _is_int(left) and _is_int(right):
            _check_bits(abs(left).bit_length() + abs(right).bit_length(), "'*'")
        for seq, times in ((left, right), (right, left)):
            if (size := _size(seq)) is not None and _is_int(times):
                _check_size(size * max(times, 0), "'*'")
    elif op == "+" and (left_size := _size(left)) is not None and (right_size := _size(right)) is not None:
        _check_size(left_size + right_size, "'+'")
    elif op == "%" and isinstance(left, str | bytes):
        _check_format(left, "'%' formatting", right, _format_values(right))


def _width_check(name: str, index: int, key: str) -> Callable[[tuple[Any, ...], dict[str, Any]], None]:
    """A pre-check for a callable whose argument ``index`` / ``key`` is an output width."""
    def check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        width = kwargs.get(key, args[index] if len(args) > index else 0)
        if _is_int(width):
            _check_size(width, name)
    return check


def _replace_check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    s, old, new = (list(args) + [None, None, None])[:3]
    old, new = kwargs.get("old", old), kwargs.get("new", new)
    if isinstance(s, str | bytes | bytearray) and isinstance(old, str | bytes) and isinstance(new, str | bytes):
        count = s.count(old) if old else len(s) + 1  # type: ignore[arg-type]
        _check_size(len(s) + count * max(len(new) - len(old), 0), "replace")


def _indent_check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    s = args[0] if args else ""
    width = kwargs.get("width", args[1] if len(args) > 1 else 4)
    lines = s.count("\n") + 1 if isinstance(s, str) else 1
    size = len(width) if isinstance(width, str) else width if _is_int(width) else 0
    _check_size((len(s) if isinstance(s, str) else 0) + lines * size, "indent")


def _expandtabs_check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    s, size = (list(args) + [None, 8])[:2]
    size = kwargs.get("tabsize", size)
    if isinstance(s, str | bytes | bytearray) and _is_int(size):
        _check_size(len(s) + s.count("\t" if isinstance(s, str) else b"\t") * size, "expandtabs")  # type: ignore[arg-type]


def _format_check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _check_format(args[0] if args else None, "format", [args[1:], kwargs],
                  list(kwargs.values()) + [v for a in args[1:] for v in _format_values(a)])


def _text_of_check(name: str) -> Callable[[tuple[Any, ...], dict[str, Any]], None]:
    """join, tojson, string, pprint, list: the result is about as long as the value as text."""
    def check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        _check_size(approx_len(args[0] if args else None) + approx_len(list(args[1:2])), name)
    return check


def _wordwrap_check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    s = args[0] if args else ""
    width = kwargs.get("width", args[1] if len(args) > 1 else 79)
    wrap = kwargs.get("wrapstring", args[3] if len(args) > 3 else None)
    if isinstance(s, str) and isinstance(wrap, str) and _is_int(width):
        # greedy filling: two lines in a row hold more than `width` characters, so at most about
        # 2 * len / width lines (each text line apart)
        lines = 2 * len(s) // max(width, 1) + s.count("\n") + 2
        _check_size(len(s) + lines * len(wrap), "wordwrap")


def _urlize_check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    s = args[0] if args else ""
    extra = sum(len(v) for v in (kwargs.get("target"), kwargs.get("rel"), kwargs.get("extra_params"))
                if isinstance(v, str))
    extra += sum(len(v) for v in args[2:] if isinstance(v, str))
    if isinstance(s, str) and extra:  # each word may become a link that carries them all
        _check_size(3 * len(s) + (len(s.split()) + 1) * (extra + 60), "urlize")


def _sum_check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    start = kwargs.get("start", args[2] if len(args) > 2 else 0)
    if not isinstance(start, int | float) or isinstance(start, bool):
        raise TemplateBudgetError("sum: only numbers may be summed in a template")


def _str_join_check(sep: str, items: Any) -> None:
    count = len(items) if isinstance(items, list | tuple | dict | set | frozenset | str) else 0
    _check_size(approx_len(items) + len(sep) * count, "str.join")


# filters (first argument: the value) that grow their output by an argument
_FILTER_CHECKS: dict[str, Callable[[tuple[Any, ...], dict[str, Any]], None]] = {
    "center": _width_check("center", 1, "width"),
    "indent": _indent_check,
    "replace": _replace_check,
    "format": _format_check,
    "batch": _width_check("batch", 1, "linecount"),
    "slice": _width_check("slice", 1, "slices"),
    "join": _text_of_check("join"),
    "tojson": _text_of_check("tojson"),
    "string": _text_of_check("string"),
    "pprint": _text_of_check("pprint"),
    "sum": _sum_check,
    "wordwrap": _wordwrap_check,
    "urlize": _urlize_check,
}
# filters that make text of their value with str(): a list of a million references to one long
# string (`["a" * 10**6] * 10**6`, a million items) is a terabyte as text
_TEXT_FILTERS = ("lower", "upper", "title", "capitalize", "trim", "striptags", "truncate", "wordwrap",
                 "wordcount", "center", "indent", "replace", "urlencode", "urlize", "e", "escape",
                 "forceescape", "safe", "format", "float", "int")
# str methods (bound: the string is not among the arguments) that do the same
_METHOD_CHECKS: dict[str, Callable[[Any, tuple[Any, ...], dict[str, Any]], None]] = {
    "center": lambda s, a, k: _width_check("center", 0, "width")(a, k),
    "ljust": lambda s, a, k: _width_check("ljust", 0, "width")(a, k),
    "rjust": lambda s, a, k: _width_check("rjust", 0, "width")(a, k),
    "zfill": lambda s, a, k: _width_check("zfill", 0, "width")(a, k),
    "expandtabs": lambda s, a, k: _expandtabs_check((s, *a), k),
    "replace": lambda s, a, k: _replace_check((s, *a), k),
    "format": lambda s, a, k: _check_format(s, "str.format", [a, k], list(a) + list(k.values())),
    "format_map": lambda s, a, k: _check_format(s, "str.format_map", a, _format_values(a[0]) if a else ()),
    "join": lambda s, a, k: _str_join_check(s, a[0] if a else None),
    "translate": lambda s, a, k: _translate_check(s, a[0] if a else k.get("table")),
}


def _translate_check(s: str | bytes, table: Any) -> None:
    if isinstance(s, str) and isinstance(table, dict):  # each character may become the longest value
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
        _check_size(len(s) * max(longest, 1), "translate")


def _text_size_check(value: Any, what: str) -> None:
    """Refuse making text of a container whose text would pass MAX_ITEMS characters (counted no further)."""
    if isinstance(value, list | tuple | set | frozenset | dict):
        _check_size(approx_len(value), what)


def _finalize(value: Any) -> Any:
    """What ``{{ value }}`` prints is ``str(value)``: a huge container is refused before it is made.
    (Called for every printed value of every prompt: a text, what prints most, is passed at once.)"""
    if type(value) is not str:
        _text_size_check(value, "printing a value")
    return value


def _guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    check = _FILTER_CHECKS.get(name)

    def guarded(*args: Any, **kwargs: Any) -> Any:
        # pass-through filters get the environment/context first when decorated; skip those
        plain = [a for a in args if not isinstance(a, jinja2.Environment | jinja2.runtime.Context
                                                   | jinja2.nodes.EvalContext)]
        if name in _TEXT_FILTERS and plain:
            _text_size_check(plain[0], name)
        if check is not None:
            check(tuple(plain), kwargs)
        return func(*args, **kwargs)

    for attr in ("jinja_pass_arg",):
        if hasattr(func, attr):
            setattr(guarded, attr, getattr(func, attr))
    return guarded


class _Watchdog:
    """Raises TemplateBudgetError in a thread whose render has run past its deadline."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deadlines: dict[int, tuple[float, int]] = {}  # thread id -> (deadline, token)
        self.thread: threading.Thread | None = None
        self.tokens = 0

    def arm(self, seconds: float) -> int:
        with self.lock:
            self.tokens += 1
            self.deadlines[threading.get_ident()] = (time.monotonic() + seconds, self.tokens)
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name="glc-template-watchdog", daemon=True)
                self.thread.start()
            return self.tokens

    def disarm(self, token: int) -> None:
        with self.lock:
            got = self.deadlines.get(threading.get_ident())
            if got is not None and got[1] == token:
                del self.deadlines[threading.get_ident()]

    def _loop(self) -> None:
        while True:
            time.sleep(0.02)
            now = time.monotonic()
            with self.lock:
                for tid, (deadline, _) in self.deadlines.items():
                    if deadline < now:  # again each tick until disarmed
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid),
                                                                   ctypes.py_object(_Timeout))


class _Timeout(BaseException):
    """Raised asynchronously by the watchdog; turned into TemplateBudgetError by ``render``.

    A BaseException, so that the ``except Exception`` inside Jinja's tests and filters cannot
    swallow it; and raised again every tick until the render disarms, in case something does."""


_WATCHDOG = _Watchdog()
# Python source Jinja generated per (environment syntax, template name, text); see BoundedSandbox.compile
_GENERATED: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_GENERATED_MAX = 1024


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with ``a ~ b`` checked before its parts are made text and joined."""

    @optimizeconst
    def visit_Concat(self, node: jinja2.nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            func_name = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            func_name = "markup_join"
        else:
            func_name = "str_join"
        self.write(f"{func_name}(environment.concat_parts((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")))")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment with bounded work, output and time (see module docs)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, *, max_chars: int = MAX_OUTPUT, deadline_s: float = DEADLINE_S, **kwargs: Any) -> None:
        kwargs.setdefault("finalize", _finalize)
        super().__init__(**kwargs)
        self.max_chars = max_chars
        self.deadline_s = deadline_s
        for name in {*_FILTER_CHECKS, *_TEXT_FILTERS}:
            self.filters[name] = _guarded_filter(name, FILTERS[name])
        # a template renders the same text from the same inputs: a prompt is part of its prediction's
        # content key, and a random one would make every plan see a changed prompt
        self.filters.pop("random", None)
        self.globals.pop("lipsum", None)

    def compile(self, source: Any, name: str | None = None, filename: str | None = None,
                raw: bool = False, defer_init: bool = False) -> Any:
        """Jinja's compile, with the Python source Jinja generates for a template kept per process.

        Lexing, parsing and generating the Python source of a template is most of what loading it
        costs, and a process that compiles several projects (glc serve, the tests) loads the same
        templates from each project's folder again. The generated source depends only on the
        template's text, its name and the environment's syntax, filters and tests (the file name
        appears only in errors, and a template that fails to compile is never kept), so it is kept
        under exactly those; the code object is compiled from it again with this file's name, so
        tracebacks and error locations name the file that was read."""
        if raw or not isinstance(source, str):
            return super().compile(source, name, filename, raw, defer_init)  # type: ignore[call-overload]
        key = (self._syntax_key(), name, defer_init, source)
        code = _GENERATED.get(key)
        if code is None:
            code = super().compile(source, name, filename, raw=True, defer_init=defer_init)
            _GENERATED[key] = code
            while len(_GENERATED) > _GENERATED_MAX:  # the oldest first (a bound, not an LRU: no
                try:                                    # reordering that a second thread could race)
                    _GENERATED.popitem(last=False)
                except KeyError:
                    break
        return self._compile(code, filename or "<template>")

    def _syntax_key(self) -> tuple[Any, ...]:
        """What besides a template's text decides the Python source Jinja generates for it."""
        return (type(self), self.block_start_string, self.block_end_string, self.variable_start_string,
                self.variable_end_string, self.comment_start_string, self.comment_end_string,
                self.line_statement_prefix, self.line_comment_prefix, self.trim_blocks, self.lstrip_blocks,
                self.newline_sequence, self.keep_trailing_newline, self.optimized, repr(self.autoescape),
                self.is_async, repr(self.finalize),
                tuple(sorted((k, repr(getattr(f, "jinja_pass_arg", None))) for k, f in self.filters.items())),
                tuple(sorted((k, repr(getattr(f, "jinja_pass_arg", None))) for k, f in self.tests.items())),
                tuple(sorted(self.extensions)))

    def concat(self, parts: Any) -> str:
        """Joins what a macro, a call block, a ``{% set %}`` or ``{% filter %}`` block captured: a loop
        may capture the same long string a million times (references, no copy) before this one join."""
        parts = list(parts)
        # texts, as Jinja's output always is, summed without a Python step per part (every render of
        # every prompt ends here)
        total = sum(map(len, parts)) if set(map(type, parts)) <= {str} else \
            sum(len(p) if isinstance(p, str) else approx_len(p) for p in parts)
        if total > self.max_chars:
            raise TemplateBudgetError(f"a captured block would produce {total:,} characters (a template "
                                      f"may produce at most {self.max_chars:,})")
        return "".join(parts)

    def concat_parts(self, parts: tuple[Any, ...]) -> tuple[Any, ...]:
        """The operands of ``~``, refused when their text would pass MAX_ITEMS characters."""
        total = 0
        for p in parts:
            total += len(p) if isinstance(p, str) else approx_len(p, MAX_ITEMS + 1 - total)
            _check_size(total, "'~'")
        return parts

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        check_binop(operator_, left, right)
        return _BINOPS[operator_](left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        target = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        bound = getattr(target, "__self__", None)
        name = getattr(target, "__name__", "")
        if isinstance(bound, str | bytes | bytearray) and name in _METHOD_CHECKS:
            _METHOD_CHECKS[name](bound, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def render(self, template: jinja2.Template, context: dict[str, Any]) -> str:
        """Render with the output and time bounds; raise TemplateBudgetError past either."""
        try:  # the watchdog's exception may land anywhere up to disarm(), so catch it out here
            token = _WATCHDOG.arm(self.deadline_s)
            try:
                return "".join(self._bounded(template.generate(context)))
            finally:
                _WATCHDOG.disarm(token)
        except _Timeout:
            raise TemplateTimeout(f"the template ran longer than {self.deadline_s:g} s") from None

    def _bounded(self, parts: Iterator[str]) -> Iterator[str]:
        total = 0
        for part in parts:
            total += len(part)
            if total > self.max_chars:
                raise TemplateBudgetError(f"the template's output passed {self.max_chars:,} characters")
            yield part


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul, "**": operator.pow, "+": operator.add, "%": operator.mod,
}


def template_problem(env: jinja2.Environment, text: str) -> str | None:
    """Why ``text`` is not a usable template of ``env`` (syntax, unknown filter or test), or None.

    Jinja reports an unknown filter only when the line runs; a spec should hear of it at compile
    time, so the parsed template is walked for the filters and tests it names.
    """
    try:
        tree = env.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return f"template syntax error at line {exc.lineno}: {exc.message}"
    for node in tree.find_all(jinja2.nodes.Filter):
        if node.name not in env.filters:
            return f"unknown filter '{node.name}' (line {node.lineno})"
    for test in tree.find_all(jinja2.nodes.Test):
        if test.name not in env.tests:
            return f"unknown test '{test.name}' (line {test.lineno})"
    return None


@lru_cache(maxsize=1)
def shared_sandbox() -> BoundedSandbox:
    """The sandbox of prompts and argv templates (strict about undefined names, no escaping)."""
    return BoundedSandbox(undefined=jinja2.StrictUndefined, autoescape=False)
