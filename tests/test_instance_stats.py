"""Corpus statistics (``stats`` of ``instance_scores__<metric>``) are STRUCTs read by field name.

No template and no compiled node reads a statistic by its position in a list; a store built when
``stats`` was a positional ``DOUBLE[]`` is rebuilt (its SQL fingerprint differs), never read with
the new field names.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from glc.compiler.plan import CompiledProject
from helpers.metric_cases import ASCII, LABELS, NUMBERS, TEXT
from helpers.metric_project import add_task, new_project, write_predictions
from helpers.project import REPO
from sqlglot import exp

from glc.workspace import Workspace

# the columns that hold a statistics STRUCT (or a list of them) in the metric macros
STATS_COLUMNS = ("stats", "pq", "frame_hits", "label_counts")
POSITIONAL = re.compile(r"\b(" + "|".join(STATS_COLUMNS) + r")\b\"?\s*\[")


def test_no_template_reads_statistics_by_position() -> None:
    found = [f"{p.relative_to(REPO)}:{n}: {line.strip()}" for p in sorted((REPO / "sql").rglob("*.sql"))
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if POSITIONAL.search(line)]
    assert found == []
    assert POSITIONAL.search("SUM(stats[1])") and POSITIONAL.search('"prepared"."pq" [2]')  # the scan can fail


def test_no_compiled_node_reads_statistics_by_position(compiled: CompiledProject) -> None:
    import sqlglot

    nodes = compiled.nodes_of("instance_scores")
    assert len(nodes) > 50
    subscripts = []
    for node in [*nodes, compiled.node("predicted_scores")]:
        assert not POSITIONAL.search(node.sql), node.name
        for b in sqlglot.parse_one(node.sql, read="duckdb").find_all(exp.Bracket):
            base = b.this
            if isinstance(base, exp.Column | exp.Dot) and base.name in STATS_COLUMNS:
                subscripts.append((node.name, b.sql("duckdb")))
    assert subscripts == []
    # and the fields are read by name
    bleu = compiled.node("predicted_scores").sql
    assert '"stats"."matches_4"' in bleu and '"stats"."hyp_len"' in bleu and '"stats"."edits"' in bleu


def test_a_udf_struct_is_filled_by_field_name() -> None:
    import pyarrow as pa
    from glc.compiler.udfs.registry import EDIT_STATS, LABEL_COUNT, arrow_call

    call = arrow_call(lambda x: None if x is None else {"ref_len": 2.0, "edits": float(len(x))}, EDIT_STATS)
    assert call(pa.array(["abc", None])).to_pylist() == [{"edits": 3.0, "ref_len": 2.0}, None]
    for wrong in ({"edits": 1.0}, {"edits": 1.0, "ref_len": 2.0, "extra": 0.0}, [1.0, 2.0]):
        with pytest.raises(ValueError, match=r"for a STRUCT with the fields \['edits', 'ref_len'\]"):
            arrow_call(lambda x, w=wrong: w, EDIT_STATS)(pa.array(["a"]))
    counts = arrow_call(lambda x: [{"label": 1.0, "intersection": 0.0, "predicted": 0.0, "reference": 4.0}],
                        LABEL_COUNT + "[]")
    assert counts(pa.array(["a"])).type == pa.list_(pa.struct([(f, pa.float64()) for f in (
        "label", "intersection", "predicted", "reference")]))
    with pytest.raises(ValueError, match="fields"):
        arrow_call(lambda x: [{"label": 1.0}], LABEL_COUNT + "[]")(pa.array(["a"]))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, dict[str, float]]:
    root = new_project(tmp_path_factory.mktemp("stats"))
    preds = root / "preds.jsonl"
    for metric in ("bleu4", "wer"):
        items = TEXT if metric == "bleu4" else ASCII
        write_predictions(preds, "m", add_task(root, metric, "text", [(i, {"q": i}, [r]) for i, r, _ in items]),
                          [(i, p) for i, _, p in items])
    tid = add_task(root, "micro_f1", "labels", [(i, {}, r) for i, r, _ in LABELS])
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in LABELS])
    tid = add_task(root, "rmse", "number", [(i, {}, r) for i, r, _ in NUMBERS])
    write_predictions(preds, "m", tid, [(i, p) for i, _, p in NUMBERS])
    ws = Workspace(root)
    ws.import_predictions(preds)
    ws.run()
    return ws, _scores(Path(ws.target.path))


def _scores(path: Path) -> dict[str, float]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return dict(con.execute("SELECT task_id, score FROM task_scores WHERE model = 'm'").fetchall())
    finally:
        con.close()


def _stats_type(con: duckdb.DuckDBPyConnection, metric: str) -> str:
    return con.execute("SELECT data_type FROM information_schema.columns WHERE table_name = ? "
                       "AND column_name = 'stats'", [f"instance_scores__{metric}"]).fetchone()[0]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_stored_statistics_are_named_structs(store: tuple[Workspace, dict[str, float]]) -> None:
    ws, scores = store
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        assert _stats_type(con, "wer") == "STRUCT(edits DOUBLE, ref_len DOUBLE)"
        assert _stats_type(con, "micro_f1") == \
            "STRUCT(true_positives DOUBLE, false_positives DOUBLE, false_negatives DOUBLE)"
        assert _stats_type(con, "rmse") == "STRUCT(predicted DOUBLE, reference DOUBLE)"
        assert _stats_type(con, "bleu4") == "STRUCT(" + ", ".join(
            [f"matches_{k} DOUBLE" for k in range(1, 5)] + [f"totals_{k} DOUBLE" for k in range(1, 5)]
            + ["hyp_len DOUBLE", "ref_len DOUBLE"]) + ")"
        # "the cat sat on a mat" against "The cat sat on the mat.": The, the and mat. are substituted
        (row,) = con.execute("SELECT stats FROM instance_scores__wer WHERE instance_id = 't1'").fetchall()
    finally:
        con.close()
    assert row[0] == {"edits": 3.0, "ref_len": 6.0}
    assert set(scores) == {"nlp.t_bleu4", "nlp.t_wer", "nlp.t_micro_f1", "nlp.t_rmse"}


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_store_with_positional_statistics_is_rebuilt(store: tuple[Workspace, dict[str, float]]) -> None:
    """The store as a glc before named statistics left it: ``stats DOUBLE[]`` (the fields in their
    old positions) and the state of SQL whose fingerprint is not today's. The next run rebuilds the
    instance scores and the task scores from them, to the same numbers."""
    ws, scores = store
    old = {"wer": "[stats.edits, stats.ref_len]",
           "micro_f1": "[stats.true_positives, stats.false_positives, stats.false_negatives]",
           "rmse": "CASE WHEN stats IS NOT NULL THEN [stats.predicted, stats.reference] END",
           "bleu4": "[" + ", ".join([f"stats.matches_{k}" for k in range(1, 5)]
                                    + [f"stats.totals_{k}" for k in range(1, 5)] + ["stats.hyp_len", "stats.ref_len"])
                    + "]"}
    con = duckdb.connect(ws.target.path)
    try:
        for metric, positional in old.items():
            table = f"instance_scores__{metric}"
            con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * REPLACE ({positional} AS stats) '
                        f'FROM "{table}"')
            assert _stats_type(con, metric) == "DOUBLE[]"
        # the SQL those tables were built by (and predicted_scores' over them) is not today's
        con.execute("UPDATE glc_node_state SET state_key = 'sha256 of the positional SQL' WHERE "
                    "list_contains(?, node)", [[f"sql:instance_scores__{m}" for m in old] + ["sql:predicted_scores"]])
    finally:
        con.close()
    built = ws.run().build.node_seconds
    assert {f"instance_scores__{m}" for m in old} | {"predicted_scores"} <= set(built)
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        assert {m: _stats_type(con, m).split("(")[0] for m in old} == dict.fromkeys(old, "STRUCT")
    finally:
        con.close()
    assert _scores(Path(ws.target.path)) == scores
