"""Column docs of the public SQL nodes (YAML beside their templates), and the docs/ tables built from code.

Every column of task_results, task_wins__<variant>, group_scores__<variant>, part_scores__<variant>,
modality_counts__<variant>, task_contributions__<variant>, level_scores, leaderboard and
instance_scores__<metric> has a doc, and
no doc names a column those nodes lack; `glc show` and `glc docs` print them. The tables in
docs/metrics.md and docs/store-and-dag.md are the metric specs and the table contracts
(GLC_UPDATE_GOLDEN=1 rewrites them).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import duckdb
import pytest
import sqlglot
from glc.compiler.column_docs import annotate_sql, column_doc_problems, docs_for, load_column_docs
from glc.compiler.errors import SpecErrors
from glc.compiler.spec_models import MetricSpec
from helpers.project import REPO, copy_project

from glc.workspace import Workspace

DOCUMENTED = {  # template -> the nodes it renders in the 699-task benchmark
    "sql/models/task_results.sql": ["task_results"],
    "sql/models/per_variant/task_wins.sql": ["task_wins__pooled", "task_wins__per_modality", "task_wins__strict"],
    "sql/models/per_variant/group_scores.sql": ["group_scores__pooled", "group_scores__per_modality",
                                                "group_scores__strict"],
    **{f"sql/models/per_variant/{t}.sql": [f"{t}__{v}" for v in ("pooled", "per_modality", "strict")]
       for t in ("part_scores", "modality_counts", "task_contributions")},
    "sql/models/level_scores.sql": ["level_scores"],
    "sql/models/leaderboard.sql": ["leaderboard"],
    "sql/models/per_metric/instance_scores.sql": ["instance_scores__bleu4", "instance_scores__wer",
                                                  "instance_scores__acc"],
}
METRICS_DOC = REPO / "docs" / "metrics.md"
UPDATE = os.environ.get("GLC_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def docs():
    return load_column_docs(REPO)


def test_public_models_document_every_column(compiled, docs) -> None:
    for template, nodes in DOCUMENTED.items():
        assert template in docs, f"no column docs for {template}"
        for name in nodes:
            node = compiled.node(name)
            assert docs_for(node, docs) is docs[template]
            assert list(docs[template].columns) == [c.name for c in node.columns], name  # same order too
    assert column_doc_problems(compiled.nodes, docs) == []


def test_a_missing_or_unknown_column_doc_is_reported(compiled, docs) -> None:
    d = docs["sql/models/level_scores.sql"]
    columns = {k: v for k, v in d.columns.items() if k != "level_4"} | {"level_6": "no such column"}
    lines = {k: v for k, v in d.column_lines.items() if k != "level_4"} | {"level_6": 99}
    broken = {**docs, d.template: dataclasses.replace(d, columns=columns, column_lines=lines)}
    problems = [p.format() for p in column_doc_problems(compiled.nodes, broken)]
    assert problems == [
        f"{d.path}:{d.line}: column 'level_4' of node 'level_scores' has no doc\n"
        "  hint: add it under the columns of 'level_scores'",
        f"{d.path}:99: 'level_scores' has no column 'level_6'\n  hint: did you mean 'level_5'?",
    ]


def _project(tmp_path: Path, yml: str, name: str = "scores.yml") -> Path:
    models = tmp_path / "sql" / "models"
    models.mkdir(parents=True)
    (models / "scores.sql").write_text("SELECT 1 AS a\n")
    (models / name).write_bytes(yml.encode())
    return tmp_path


@pytest.mark.parametrize(("yml", "expected"), [
    ("models:\n  - name: scores\n    description: d\n    colums: []\n",
     "sql/models/scores.yml:4: unknown key 'models.0.colums'"),
    ("models:\n  - name: score\n    description: d\n    columns: [{name: a, description: x}]\n",
     "sql/models/scores.yml:2: column docs for 'score', but there is no template sql/models/score.sql\n"
     "  hint: did you mean 'scores'?"),
    ("models:\n  - name: scores\n    description: d\n    columns:\n      - {name: a, description: x}\n"
     "      - {name: a, description: y}\n",
     "sql/models/scores.yml:6: column 'a' of 'scores' is documented twice"),
    ("models:\n  - name: scores\n    description: d\n    columns:\n      - {name: a, description: \"x\\u0007\"}\n",
     "sql/models/scores.yml:5: models.0.columns.0.description: Value error, must not contain control characters"),
    ("models:\n  - name: scores\n    description: d: e\n", "sql/models/scores.yml:3: invalid YAML"),
])
def test_loader_errors_are_located(tmp_path: Path, yml: str, expected: str) -> None:
    with pytest.raises(SpecErrors) as err:
        load_column_docs(_project(tmp_path, yml))
    assert expected in err.value.format()


def test_a_description_is_one_line_of_text(tmp_path: Path) -> None:
    yml = ("models:\n  - name: scores\n    description: |\n      two\n      lines\n"
           "    columns:\n      - name: a\n        description: \"x\\u2028SELECT 2; --\"\n")
    d = load_column_docs(_project(tmp_path, yml))["sql/models/scores.sql"]
    assert d.description == "two lines" and d.columns == {"a": "x SELECT 2; --"}
    sql = annotate_sql("-- node: scores\nSELECT 1 AS a\n", d)
    assert sql.splitlines()[:4] == ["-- node: scores", "-- docs (sql/models/scores.yml): two lines", "-- columns:",
                                    "--   a: x SELECT 2; --"]
    assert len(duckdb.extract_statements(sql)) == 1


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_show_prints_column_docs_as_comments(tmp_path: Path) -> None:
    ws = Workspace(copy_project(tmp_path / "proj", small=True))  # the docs are the SQL's, not the catalog's
    node = ws.compile(write=False).node("level_scores")
    text = ws.show("level_scores")
    assert text.startswith("-- node: level_scores\n-- template: sql/models/level_scores.sql\n-- docs (")
    assert "\n--   level_4: Level-4, comprehension-generation synergy" in text
    assert all(line.startswith("--") for line in text.split("\n/*")[0].splitlines())
    assert sqlglot.parse_one(text, dialect="duckdb") == sqlglot.parse_one(node.sql, dialect="duckdb")
    assert len(duckdb.extract_statements(text)) == 1
    assert ws.show("task_sota") == ws.compile(write=False).node("task_sota").sql  # undocumented: unchanged

    index = ws.docs(tmp_path / "docs")
    page = index.read_text()
    assert "id='model-task_wins'" in page and "task_wins__strict.sql'>task_wins__strict</a>" in page
    assert "<td><code>level_5</code></td><td>DOUBLE</td><td>Level-5, total synergy with language" in page
    assert "(no doc)" not in page
    assert (index.parent / "sql" / "leaderboard.sql").read_text() == ws.show("leaderboard")


# --- docs/metrics.md -----------------------------------------------------------------------------


def _num(x: float) -> str:
    return f"{x:g}"


def _sigma(m: MetricSpec) -> str:
    n = m.normalization
    if n.kind == "identity":
        return "x"
    if n.kind == "sigmoid_distance":
        return f"100·(2·sigmoid({_num(n.threshold)}/x) − 1); 100 at x = 0"
    if n.kind == "tanh":
        return f"100·tanh(x/{_num(n.scale)})"
    if n.kind == "complement":
        return f"clamp({_num(n.total)} − x, 0, 100)"
    shift = f"x − {_num(n.low)}" if n.low >= 0 else f"x + {_num(-n.low)}"
    return f"clamp(100·({shift})/{_num(n.high - n.low)}, 0, 100)"


def _params(m: MetricSpec) -> str:
    n = m.normalization
    return {"identity": "—", "sigmoid_distance": f"threshold T = {_num(getattr(n, 'threshold', 0))}",
            "tanh": f"scale = {_num(getattr(n, 'scale', 0))}", "complement": f"total = {_num(getattr(n, 'total', 0))}",
            "linear": f"low = {_num(getattr(n, 'low', 0))}, high = {_num(getattr(n, 'high', 0))}"}[n.kind]


def metric_rows(metrics: tuple[MetricSpec, ...]) -> list[str]:
    rows = ["| metric | title | better | unit | accepted range | normalization | parameters | σ(x) "
            "| computed from predictions by | official metric strings |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for m in metrics:
        lo = "−∞" if m.range.min is None else _num(m.range.min)
        hi = "∞)" if m.range.max is None else _num(m.range.max) + "]"
        impl = (f"`{m.implementation.macro}` ({m.implementation.level})" if m.implementation
                else "— (imported scores only)")
        if m.implementation and m.evaluator:
            impl += f" over the readings of evaluator `{m.evaluator.name}`"
        aliases = ", ".join(f"`{a}`" for a in m.aliases) or "—"
        cells = [f"`{m.name}`", m.title, m.direction, m.unit, f"[{lo}, {hi}", f"`{m.normalization.kind}`",
                 _params(m), _sigma(m), impl, aliases]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return rows


def test_metrics_doc_table_is_the_metric_specs(compiled) -> None:
    begin, end = "<!-- metrics table: begin -->", "<!-- metrics table: end -->"
    text = METRICS_DOC.read_text(encoding="utf-8")
    found = re.search(re.escape(begin) + r"\n(.*?)\n" + re.escape(end), text, re.S)
    assert found, f"{METRICS_DOC} needs the markers {begin} and {end}"
    want = "\n".join(metric_rows(compiled.project.metrics))
    if UPDATE:
        METRICS_DOC.write_text(text.replace(found.group(1), want), encoding="utf-8")
        text = METRICS_DOC.read_text(encoding="utf-8")
        found = re.search(re.escape(begin) + r"\n(.*?)\n" + re.escape(end), text, re.S)
    assert found and found.group(1) == want, "docs/metrics.md is out of date; run with GLC_UPDATE_GOLDEN=1"


def convention_blocks(metrics: tuple[MetricSpec, ...]) -> list[str]:
    out: list[str] = []
    for m in metrics:
        if m.conventions:
            out += [f"**`{m.name}`** ({m.title})", ""] + [f"* {c}" for c in m.conventions] + [""]
    return out[:-1]


def test_metrics_doc_conventions_are_the_metric_specs(compiled) -> None:
    begin, end = "<!-- metric conventions: begin -->", "<!-- metric conventions: end -->"
    pattern = re.escape(begin) + r"\n(.*?)" + re.escape(end)
    text = METRICS_DOC.read_text(encoding="utf-8")
    found = re.search(pattern, text, re.S)
    assert found, f"{METRICS_DOC} needs the markers {begin} and {end}"
    want = "\n".join(convention_blocks(compiled.project.metrics)) + "\n"
    if UPDATE:
        METRICS_DOC.write_text(text.replace(found.group(0), begin + "\n" + want + end), encoding="utf-8")
        found = re.search(pattern, METRICS_DOC.read_text(encoding="utf-8"), re.S)
    assert found and found.group(1) == want, "docs/metrics.md is out of date; run with GLC_UPDATE_GOLDEN=1"
    assert all(m.conventions for m in compiled.project.metrics if m.implementation), \
        "every computed metric states its conventions"


# --- docs/store-and-dag.md -----------------------------------------------------------------------


def contract_blocks() -> list[str]:
    from glc.compiler.contracts import PUBLIC, SEEDS, STORE

    out: list[str] = []
    for contract in [*SEEDS.values(), *STORE.values(), *PUBLIC.values()]:
        out += [f"#### `{contract.name}` ({contract.kind})", "", f"{contract.description}.", "",
                "| column | type | description |", "|---|---|---|"]
        out += [f"| `{c.name}` | {c.type} | {c.description.replace('|', chr(92) + '|')} |" for c in contract.columns]
        out.append("")
    return out[:-1]


def test_store_doc_tables_are_the_contracts() -> None:
    path = REPO / "docs" / "store-and-dag.md"
    begin, end = "<!-- contracts: begin -->", "<!-- contracts: end -->"
    text = path.read_text(encoding="utf-8")
    pattern = re.escape(begin) + r"\n(.*?)\n" + re.escape(end)
    found = re.search(pattern, text, re.S)
    assert found, f"{path} needs the markers {begin} and {end}"
    want = "\n".join(contract_blocks())
    if UPDATE:
        path.write_text(text.replace(found.group(1), want), encoding="utf-8")
        found = re.search(pattern, path.read_text(encoding="utf-8"), re.S)
    assert found and found.group(1) == want, "docs/store-and-dag.md is out of date; run with GLC_UPDATE_GOLDEN=1"
