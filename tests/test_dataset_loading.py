"""Loading task data into ``instances``: JSONL line splitting, the fast column-wise path against
the careful per-instance one, and what a second load reads."""

from __future__ import annotations

import json
from pathlib import Path

from metric_project import add_task, new_project, sql_rows

from glc.workspace import Workspace

# characters str.splitlines() treats as line ends; inside a JSON string they are plain characters
LINE_LIKE = "\u2028\u2029\u0085\x1c\x1d\x1e\x0b\x0c\r"


def test_jsonl_lines_end_only_at_newline(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    texts = [f"a{ch}b" for ch in LINE_LIKE if ch != "\r"] + ["carriage\rreturn"]
    items = [(f"q{i}", {"question": t}, [t]) for i, t in enumerate(texts)]
    tid = add_task(root, "acc", "text", items)
    # json.dumps escapes \r and the C0 controls; write some of them raw as UTF-8, which JSON allows
    # for U+2028, U+2029 and U+0085 (orjson and json accept the raw form of those only)
    f = root / "data" / f"{tid}.jsonl"
    raw = f.read_text(encoding="utf-8").replace("\\u2028", "\u2028").replace("\\u2029", "\u2029") \
        .replace("\\u0085", "\u0085")
    f.write_text(raw, encoding="utf-8")
    assert "\u2028" in raw and raw.count("\n") == len(items)
    ws = Workspace(root)
    ws.plan()
    assert ws.data_problems == []
    got = dict(sql_rows(ws, "SELECT instance_id, input FROM instances WHERE task_id = ?", tid))
    assert {k: json.loads(v)["question"] for k, v in got.items()} == {i: x["question"] for i, x, _ in items}
