"""Lines of a predictions JSONL file parsed by orjson (``predictions._fast_line``) give exactly what the
standard library with glc's number hooks gives (the same values, of the same types, floats bit for bit),
and every line orjson could answer differently for (integers of 19 digits and more) or refuses (NaN,
overflow, lone surrogates, bad UTF-8) is left to the standard library, whose value or located error the
line gets. Differential tests on generated lines and hand-picked edge cases."""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

import pytest
from helpers.examples import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from glc.importers import predictions as P


def _standard(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8"), parse_float=P._float, parse_int=P._int, parse_constant=P._constant)


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types (True is not 1, 1 is not 1.0, -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


def _check(raw: bytes) -> None:
    fast, value = P._fast_line(raw)
    try:
        expected = _standard(raw)
    except (ValueError, RecursionError):
        assert not fast, raw  # what the standard library refuses, orjson never answers for
        return
    if fast:
        assert _same(value, expected), (raw, value, expected)


EDGES = [b'1e400', b'-1e400', b'[1e308, 2.2250738585072014e-308, 5e-324]', b'NaN', b'[Infinity]', b'-Infinity',
         b'99999999999999999999999', b'9223372036854775807', b'9223372036854775808', b'18446744073709551616',
         b'-9223372036854775809', b'1234567890123456789', b'123456789012345678', b'0.1234567890123456789',
         b'{"a": 1, "a": 2}', b'{"b": 1, "a": 2, "b": 3}', b'"\\ud800"', b'"\\udc00x"', b'"\\ud83d\\ude00"',
         b'"\xed\xa0\x80"', b'"\xff"', b'-0', b'-0.0', b'0e0', b'1E5', b'1.0', b'1', b'[]', b'{}', b'null', b'true',
         b' {"prediction": "A"}\r', b'{"x": "\\u0000\\n\\t\\"\\\\"}', b'[' * 300 + b']' * 300,
         b'[' * 1100 + b']' * 1100, b'"\xe2\x80\xa8"', b"{'a': 1}", b'[1,]', b'01', b'+1', b'.5', b'1.',
         b'"a" "b"', b'']


@pytest.mark.parametrize("raw", EDGES)
def test_edge_lines(raw: bytes) -> None:
    _check(raw)


def test_long_digit_runs_go_to_the_standard_library() -> None:
    for raw in (b'99999999999999999999999', b'{"id": "12345678901234567890"}', b'0.1234567890123456789'):
        assert P._fast_line(raw) == (False, None)
    assert P._fast_line(b'{"id": 123456789012345678}') == (True, {"id": 123456789012345678})


def _number(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return str(rng.randint(-10**18, 10**18))
    if kind == 1:
        return repr(struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0])
    if kind == 2:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 17)}f}"
    if kind == 3:
        return f"{rng.uniform(-10, 10):.{rng.randint(1, 16)}e}{rng.randint(-330, 330):+d}".replace("e+0", "e", 1)
    if kind == 4:
        return rng.choice(["0", "-0", "0.0", "-0.0", "1e-400", "4.9e-324", "1.7976931348623157e308", "2e308"])
    return str(rng.randint(-10**25, 10**25))


def _value(rng: random.Random, depth: int = 0) -> str:
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return _number(rng)
    if kind == 1:
        return json.dumps("".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0x80, 0x2fff),
                                                   rng.randint(0x1f600, 0x1f64f)])) for _ in range(rng.randint(0, 8))),
                          ensure_ascii=rng.random() < 0.5)
    if kind == 2:
        return rng.choice(["null", "true", "false"])
    if kind == 3:
        return rng.choice(['"\\ud800"', '"A"', '"\\u00e9"', '"x\\ny"'])
    if kind == 4:
        return "[" + ", ".join(_value(rng, depth + 1) for _ in range(rng.randint(0, 4))) + "]"
    keys = [rng.choice(["a", "b", "prediction", "id", "é"]) for _ in range(rng.randint(0, 4))]
    return "{" + ", ".join(f"{json.dumps(k)}: {_value(rng, depth + 1)}" for k in keys) + "}"


@pytest.mark.parametrize("seed", range(4))
def test_generated_lines(seed: int) -> None:
    rng = random.Random(seed)
    answered = 0
    for _ in range(1500):
        raw = _value(rng).encode("utf-8", "surrogatepass")
        _check(raw)
        answered += P._fast_line(raw)[0]
    assert answered >= 750  # orjson answers for most lines


@settings(max_examples=examples(300), deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
                    max_leaves=20))
def test_any_json_value(value: Any) -> None:
    raw = json.dumps(value).encode()  # infinite floats come out as Infinity: refused by both
    _check(raw)
    if not math.isinf(value if isinstance(value, float) else 0.0):
        _check(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
