"""The type and skill of an annotation.json read without parsing its data list
(``binding.quick_header``): the same answer as parsing the whole file, or no answer."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from glc.compiler.binding import _parse_header, quick_header
from helpers.examples import examples
from hypothesis import given, settings
from hypothesis import strategies as st


def parsed(data: bytes) -> dict[str, str] | None:
    """What parsing the whole file says (None: not JSON)."""
    try:
        doc = orjson.loads(data)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return {}
    return {k: doc[k][:200] for k in ("type", "skill") if isinstance(doc.get(k), str)}


def escaped(text: str, mask: list[bool]) -> str:
    """A JSON string of ``text`` with the characters ``mask`` picks written as \\u escapes."""
    body = json.dumps(text)[1:-1]
    if "\\" in body:  # characters json escapes itself: leave the string as json wrote it
        return f'"{body}"'
    return '"' + "".join(f"\\u{ord(c):04x}" if m else c for c, m in zip(body, mask + [False] * len(body),
                                                                         strict=False)) + '"'


keys = st.sampled_from(["type", "skill", "data", "task", "x", "typ", "skills", "Type"])
texts = st.lists(st.sampled_from(['a', 'é', '"', '\\', ' ', '\n', 'type', 'skill', '"type"', '}', '{', ']', ',', ':']),
                max_size=4).map("".join)
scalars = st.one_of(texts, st.integers(-5, 5), st.none(), st.booleans())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.one_of(keys, texts), inner, max_size=3)),
                      max_leaves=8)
spaces = st.sampled_from(["", " ", "\n", " \t\r\n "])


@st.composite
def documents(draw) -> bytes:
    """A top-level object written by hand, mostly shaped like annotation.json (string members
    around a large value): keys may repeat or be \\u-escaped, any member may hold anything."""
    member = st.tuples(keys, values, st.lists(st.booleans(), max_size=6))
    text_member = st.tuples(keys, texts, st.lists(st.booleans(), max_size=6))
    large = st.tuples(keys, st.one_of(st.lists(values, max_size=3), st.dictionaries(keys, values, max_size=3)),
                      st.lists(st.booleans(), max_size=6))
    if draw(st.booleans()):
        members = draw(st.lists(text_member, max_size=3)) + [draw(large)] + draw(st.lists(member, max_size=1)) \
            + draw(st.lists(text_member, max_size=3))
    else:
        members = draw(st.lists(member, max_size=6))
    ws = draw(spaces)
    parts = []
    for key, value, mask in members:
        text = json.dumps(value, ensure_ascii=draw(st.booleans()))
        parts.append(f"{ws}{escaped(key, mask)}{draw(spaces)}:{ws}{text}{ws}")
    return (draw(spaces) + "{" + ",".join(parts) + "}" + draw(spaces)).encode()


@settings(max_examples=examples(600), deadline=None)
@given(data=documents())
def test_quick_header_says_what_parsing_says_or_nothing(data: bytes) -> None:
    quick = quick_header(data)
    if quick is not None:
        assert quick == parsed(data), data


@settings(max_examples=examples(200), deadline=None)
@given(data=documents(), cut=st.integers(0, 400))
def test_cut_files(data: bytes, cut: int) -> None:
    """Truncated downloads: a quick answer for a cut file that still parses is the parser's. (One
    that does not parse may be answered from its head and tail; its instances then fail to load.)"""
    data = data[:cut]
    quick = quick_header(data)
    if quick is not None and parsed(data) is not None:
        assert quick == parsed(data), data


def test_general_bench_layouts_are_read_quickly(tmp_path: Path) -> None:
    records = [{"id": str(i), "input": {"question": "which?", "image": f"images/{i}.png"},
                "output": {"answer": "B"}} for i in range(50)]
    head_first = {"task": "T", "type": "multiple_choice", "skill": "Counting", "data": records}
    for data in (json.dumps(head_first).encode(), json.dumps(head_first, indent=2).encode(),
                 orjson.dumps(head_first, option=orjson.OPT_SORT_KEYS),  # data first, type last
                 json.dumps({"type": "x", "data": records, "type2": [], "skill": "s"}).encode()):
        assert quick_header(data) == parsed(data) != {}, data
        f = tmp_path / "annotation.json"
        f.write_bytes(data)
        assert _parse_header(f) == parsed(data)
    # a record holding a key "type": the quick reading cannot tell it from a top-level one; parsed
    tricky = json.dumps({"type": "a", "data": [{"type": "b"}]}).encode()
    assert quick_header(tricky) is None
    f.write_bytes(tricky)
    assert _parse_header(f) == {"type": "a"}
    # a repeated key: the last one, as the parser has it; an escaped key is still the key
    assert quick_header(b'{"type": "a", "data": [], "t\\u0079pe": "b"}') == {"type": "b"}
    assert quick_header(b'{"type": 1, "data": []}') is None
    f.write_bytes(b'{"type": "a", "data": [')
    assert _parse_header(f) == {}  # not JSON, and cut where the quick reading sees it: declares nothing


def test_a_byte_order_mark_before_the_header_is_skipped(tmp_path: Path) -> None:
    """The instance loader skips a UTF-8 byte order mark; the header reader gave {} for such a file, so the
    type and skill it declares were ignored (and a type differing from the catalog's failed the load)."""
    f = tmp_path / "annotation.json"
    doc = {"task": "t", "type": "short_answer", "skill": "Reasoning", "data": [{"id": 1, "output": "x"}]}
    f.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    assert _parse_header(f) == {"type": "short_answer", "skill": "Reasoning"}
