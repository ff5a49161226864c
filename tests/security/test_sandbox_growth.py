"""The Jinja sandbox's bounds, against operations found by review to grow text past them unchecked.

Every case is one template a stranger's prompt, argv or SQL template could hold; each would make
gigabytes in one C call (no deadline interrupts it) before the fix, and is now refused before it runs.
"""

from __future__ import annotations

import pytest

FORMAT_CASES = [
    # a width taken from an argument: str.format's nested field, the analogue of %-format's '*'
    ('{{ "{0:{1}}".format("", 500000000) | length }}', "taken from an argument"),
    ('{{ "{a:>{w}}".format_map({"a": "", "w": 500000000}) | length }}', "taken from an argument"),
    # one argument printed by many fields
    ('{{ ("{0}" * 300).format("a" * 990000) | length }}', "str.format would produce"),
    ('{{ (("%(a)s" * 300) % {"a": "a" * 990000}) | length }}', "'%' formatting would produce"),
    ('{{ ("%(a)s" * 300) | format(a="a" * 990000) | length }}', "format would produce"),
    ('{{ ("{0!a}" * 10).format("\U0001f600" * 99000) | length }}', "str.format would produce"),
]


@pytest.mark.parametrize("template, out", [
    ('{{ "{} and {}".format("a", "b") }}', "a and b"),
    ('{{ "{0:>4}|{0!r}".format(1) }}', "   1|1"),
    ('{{ "%s-%03d" % ("x", 3) }}', "x-003"),
    ('{{ "%(a)s%(a)s" % {"a": "y"} }}', "yy"),
    ('{{ "%s!" | format("q") }}', "q!"),
    ('{{ ("%s" * 300) | format(*(["a" * 3000] * 300)) | length }}', "900000"),  # each argument once
    ('{{ ("{}" * 300).format(*(["a" * 3000] * 300)) | length }}', "900000"),
])
def test_ordinary_formats_still_render(template: str, out: str) -> None:
    from glc.compiler.sandbox import shared_sandbox

    env = shared_sandbox()
    assert env.render(env.from_string(template), {}) == out


GROWTH_CASES = [
    # `~` made text of its operands and joined them unchecked: ten doublings of a million characters
    ('{% set a = "a" * 1000000 %}{% set b = a ~ a ~ a ~ a %}{{ b | length }}', "'~' would produce"),
    # a list of a million references to one long string is a million items, but a terabyte as text
    ('{{ (["a" * 1000000] * 1000000) }}', "printing a value"),
    ('{{ (["a" * 1000000] * 1000000) ~ "" }}', "'~' would produce"),
    ('{{ (["a" * 1000000] * 1000000) | lower | length }}', "lower would produce"),
    ('{{ (["a" * 1000000] * 1000000) | replace("a", "b") | length }}', "replace would produce"),
    # a macro (or a set / filter / call block) captures a loop's output, and joins it in one call
    ('{% macro m(x) %}{% for i in range(100000) %}{{ x }}{% endfor %}{% endmacro %}{{ m("a" * 100000) | length }}',
     "a captured block would produce"),
    ('{% set y = "a" * 100000 %}{% set x %}{% for i in range(100000) %}{{ y }}{% endfor %}{% endset %}{{ x | length }}',
     "a captured block would produce"),
    # bytes have the methods of str that grow text, and %-formatting
    ('{{ "a".encode().ljust(2000000000) | length }}', "ljust would produce"),
    ('{{ ("%999999999d".encode() % 1) | length }}', "'%' formatting would produce"),
    ('{{ ("a\\t" * 1000).encode().expandtabs(1000000) | length }}', "expandtabs would produce"),
    # each character may become a long string
    ('{{ ("a" * 100000).translate({97: "b" * 100000}) | length }}', "translate would produce"),
    # a wrap string or a link attribute repeated per line or per word
    ('{{ ("a " * 400000) | wordwrap(1, wrapstring="x" * 100000) | length }}', "wordwrap would produce"),
    ('{{ ("a.com " * 100000) | urlize(target="x" * 100000) | length }}', "urlize would produce"),
]


@pytest.mark.parametrize("template, message", FORMAT_CASES + GROWTH_CASES)
@pytest.mark.timeout(30)
def test_operations_that_grow_text_are_checked_before_they_run(template: str, message: str) -> None:
    """Formats count every field and take no width from an argument (FORMAT_CASES); every other way
    text grows is checked before the operation runs (GROWTH_CASES)."""
    from glc.compiler.sandbox import TemplateBudgetError, shared_sandbox

    env = shared_sandbox()
    with pytest.raises(TemplateBudgetError) as info:
        env.render(env.from_string(template), {})
    assert message in str(info.value)


@pytest.mark.parametrize("template, out", [
    ('{{ "a" ~ 1 ~ [2] ~ none }}', "a1[2]None"),
    ('{{ [1, "x"] }}|{{ {"k": 1} }}', "[1, 'x']|{'k': 1}"),
    ('{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(1) }}{% set s %}b{% endset %}{{ s }}', "<1>b"),
    ('{{ "ab" | upper }} {{ "a b" | wordwrap(1) | length }} {{ "http://x.com" | urlize(target="_b") | length > 20 }}',
     "AB 3 True"),
    ('{{ "ab".translate({97: "xy"}) }} {{ "a".encode().ljust(3) | length }}', "xyb 3"),
])
def test_ordinary_templates_render_as_before(template: str, out: str) -> None:
    from glc.compiler.sandbox import shared_sandbox

    env = shared_sandbox()
    assert env.render(env.from_string(template), {}) == out
