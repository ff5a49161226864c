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


@pytest.mark.parametrize("template, message", FORMAT_CASES)
@pytest.mark.timeout(30)
def test_formats_count_every_field_and_take_no_width_from_an_argument(template: str, message: str) -> None:
    from glc.compiler.sandbox import TemplateBudgetError, shared_sandbox

    env = shared_sandbox()
    with pytest.raises(TemplateBudgetError) as info:
        env.render(env.from_string(template), {})
    assert message in str(info.value)


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
