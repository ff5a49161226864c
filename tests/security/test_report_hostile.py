"""Hostile model names in ``glc report``: the page still draws, shows them as text, and runs nothing of theirs.

Model names come from imported files, so they are untrusted. The report embeds them in a JSON
``<script>`` block, in HTML tables and (through report.js) in the SVG charts. Each name below attacks
one of those contexts; the page is loaded in headless Chromium and its serialized DOM is parsed back.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers.project import EXAMPLES, copy_project  # tests/conftest.py, put on sys.path by pytest

from glc.workspace import Workspace

HOSTILE = [
    "<!--<script>",  # puts the tokenizer into "script data (double) escaped": the closing tag is swallowed
    "</script><script>alert(1)</script>",  # ends the data block early and starts a script of its own
    "</script><script>document.title='pwned-script'</script>",  # same, with an effect we can observe
    "<img src=x onerror=\"document.title='pwned'\">",  # runs if any name reaches innerHTML
    "a&b\"'<>",  # every character that is special in HTML text and attributes
    "line\u2028sep\u2029end",  # JavaScript line terminators in a string literal before ES2019
    "]]>",  # CDATA end, meaningful in the SVG/XML parts
]
SOURCES = ("c04_sota_beater.xlsx", "c12_cross_paradigm.xlsx")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    """One element of the dumped DOM, with attribute values and text already unescaped."""

    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self) -> list[Node]:
        nodes = [self]
        for c in self.children:
            if isinstance(c, Node):
                nodes.extend(c.iter())
        return nodes

    def find(self, tag: str, **attrs: str) -> list[Node]:
        """Descendants (and self) by tag and exact attribute values; ``class_`` matches the class attribute."""
        want = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [n for n in self.iter() if n.tag == tag and all(n.attrs.get(k) == v for k, v in want.items())]


class _TreeBuilder(HTMLParser):
    """A tolerant tree from Chromium's serialization, so the test compares values, not escaping styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if any(n.tag == tag for n in self.stack[1:]):
            while self.stack.pop().tag != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _parse(dom: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(dom)
    builder.close()
    return builder.root


def _browser(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "headless Chromium is needed: apt-get install chromium (.ci/run installs it)"
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                           "--disable-dev-shm-usage", *args], capture_output=True, text=True, timeout=120)


def _hostile_csv(ws: Workspace, dest: Path) -> Path:
    """Real scores from the example workbooks, stored under the hostile names (alternating sources)."""
    cells = [ws.read_scores(EXAMPLES / name).cells for name in SOURCES]
    with dest.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["model", "task", "score"])
        for i, name in enumerate(HOSTILE):
            out.writerows([name, c.task_id, c.raw_value] for c in cells[i % len(cells)])
    return dest


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("hostile")
    ws = Workspace(copy_project(root / "proj"))
    ws.import_scores(_hostile_csv(ws, root / "hostile_scores.csv"))
    index = ws.report()
    dom = _browser("--virtual-time-budget=5000", "--dump-dom", index.as_uri()).stdout
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        levels = con.execute("SELECT model, variant, scope, level_2, level_3, level_4, level_5 FROM level_scores"
                             ).fetchall()
    finally:
        con.close()
    title = ws.compile(write=False).project.benchmark.title
    return {"index": index, "root": root, "tree": _parse(dom), "levels": levels, "title": title}


def _data(tree: Node) -> dict[str, Any]:
    blocks = tree.find("script", id="glc-data")
    assert len(blocks) == 1
    return json.loads(blocks[0].text())


def test_charts_are_drawn_and_nothing_was_injected(page) -> None:
    tree: Node = page["tree"]
    assert tree.find("body", data_rendered="yes"), "the page's own script did not run"
    assert len(tree.find("script")) == 2, "a model name added a <script> element"
    for tag in ("img", "iframe", "object", "embed"):
        assert not tree.find(tag), f"a model name added an <{tag}> element"
    handlers = [(n.tag, k) for n in tree.iter() for k in n.attrs if k.startswith("on")]
    assert not handlers, f"event handler attributes appeared: {handlers}"
    assert tree.find("title")[0].text() == f"glc report: {page['title']}", "an injected script ran"


def test_hostile_names_round_trip_exactly(page) -> None:
    tree: Node = page["tree"]
    assert {row[0] for row in page["levels"]} == set(HOSTILE), "the importer changed a name"
    data = _data(tree)
    assert data["models"] == sorted(HOSTILE)
    cards = tree.find("article", class_="model")
    assert sorted(n.text() for card in cards for n in card.find("span", class_="name")) == sorted(HOSTILE)
    assert [n.text() for card in cards for n in card.find("span", class_="name")] == data["order"]
    for card in cards:
        assert [n for n in card.iter() if n.tag == "td" and "cell" in n.attrs.get("class", "").split()], \
            f"no modality x paradigm cells for {card.find('span', class_='name')[0].text()!r}"
        assert card.find("rect"), "no gap chart drawn"
    assert {n.attrs["data-model"] for n in tree.find("rect", class_="bar")} == set(HOSTILE)
    tasks = tree.find("table", id="tasks")[0]
    heads = [th for th in tasks.find("th") if "data-model" in th.attrs]
    assert [th.attrs["data-model"] for th in heads] == data["order"]
    assert all(th.text().startswith(th.attrs["data-model"]) for th in heads)  # shown as text, unchanged
    cells = [td for td in tasks.find("td") if "data-model" in td.attrs]
    assert {td.attrs["data-model"] for td in cells} == set(HOSTILE)


def test_numbers_in_the_page_equal_level_scores(page) -> None:
    tree: Node = page["tree"]
    data = _data(tree)
    keys = ("level_2", "level_3", "level_4", "level_5")
    shown = [r for r in page["levels"] if r[1] == data["default_variant"] and r[2] == data["default_scope"]]
    bars = tree.find("rect", class_="bar")
    assert len(bars) == 4 * len(shown) == 4 * len(HOSTILE)
    for model, _, _, *values in shown:
        for k, value in zip(keys, values, strict=True):
            bar = [b for b in bars if b.attrs["data-model"] == model and b.attrs["data-level"] == k]
            assert len(bar) == 1 and float(bar[0].attrs["data-value"]) == pytest.approx(value or 0, abs=1e-12)
    board = tree.find("section", data_scope=data["default_scope"])[0]
    cols = [th.text() for th in board.find("th")]
    rows = {tr.find("td")[cols.index("model")].text(): tr.find("td") for tr in board.find("tbody")[0].find("tr")}
    assert set(rows) == set(HOSTILE)
    for model, _, _, *values in shown:
        cells = [rows[model][cols.index(k)] for k in keys]
        got = [float(c.attrs["data-v"]) if "data-v" in c.attrs else None for c in cells]
        assert got == pytest.approx(list(values), abs=1e-12)


def test_hostile_report_screenshot(page, capsys) -> None:
    shot = page["root"] / "hostile_report.png"
    _browser("--window-size=1300,2200", f"--screenshot={shot}", page["index"].as_uri())
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    with capsys.disabled():
        print(f"\nhostile report screenshot: {shot}")
