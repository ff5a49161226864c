"""Task data, the prediction store, one scoring path and incremental builds."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from glc.compiler.errors import GlcError
from helpers.metric_project import add_task, data_problems, new_project, write_predictions
from helpers.metric_project import sql_rows as _sql

from glc.workspace import Workspace

QA = [("q1", {"question": "2+2?"}, ["4", "four"]), ("q2", {"question": "capital of France?"}, ["Paris"]),
      ("q3", {"question": "color of sky?"}, ["blue"])]




def _gb_task(root: Path, folder: str, data: list[dict], media: dict[str, bytes] | None = None) -> Path:
    path = root / "data" / "gb" / folder
    path.mkdir(parents=True, exist_ok=True)
    (path / "annotation.json").write_text(json.dumps({"task": folder, "type": "test", "data": data}))
    for name, blob in (media or {}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(blob)
    return path


def _gb_spec(root: Path, task_id: str, folder: str, metric: str, reference: str, modality: str = "nlp",
             paradigm: str = "nlp", media: list[str] | None = None) -> None:
    spec = {"id": task_id, "name": folder, "modality": modality, "paradigm": paradigm, "metric": metric,
            "sota": {"value": 60.0, "source": "test"},
            "dataset": {"format": "general_bench", "path": f"data/gb/{folder}", "reference": reference,
                        "media": media or []}}
    (root / "specs/tasks/test").mkdir(parents=True, exist_ok=True)
    (root / f"specs/tasks/test/{task_id}.yaml").write_text(yaml.safe_dump(spec))


@pytest.fixture(scope="module")
def gb_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The General-Bench layout project below, built once (instances of both tasks stored)."""
    root = new_project(tmp_path_factory.mktemp("gb") / "p")
    folder = _gb_task(root, "NLP/Capital-QA", [{"id": i, "input": x, "output": r[0]} for i, x, r in QA])
    (folder / "prediction.json").write_text(json.dumps([{"id": "q1", "prediction": "4"},
                                                        {"id": "q2", "prediction": "paris"},
                                                        {"id": "q3", "prediction": None}]))
    _gb_spec(root, "nlp.capital_qa", "NLP/Capital-QA", "acc", "text")
    img = _gb_task(root, "Image/comprehension/Cat-Choice",
                   [{"id": "i1", "input": {"image_file": "images/1.png", "prompt": "?"}, "output": "(B)"},
                    {"id": "i2", "input": {"image_file": "images/2.png", "prompt": "?"}, "output": "A"}],
                   {"images/1.png": b"png-1", "images/2.png": b"png-2"})
    (img / "prediction.json").write_text(json.dumps([{"id": "i1", "prediction": "B"},
                                                     {"id": "i2", "prediction": ["A"]}]))
    _gb_spec(root, "image.cat_choice", "Image/comprehension/Cat-Choice", "acc", "choice", "image",
             "comprehension", ["input.image_file"])
    Workspace(root).run()
    return root


@pytest.fixture
def gb(gb_built: Path, tmp_path: Path) -> Workspace:
    """A private copy of the built General-Bench layout project (its store included) to change."""
    return Workspace(shutil.copytree(gb_built, tmp_path / "p"))


def test_general_bench_layout_end_to_end(gb: Workspace) -> None:
    imports = gb.import_predictions(gb.root / "data" / "gb", model="m")
    assert imports[0].tasks == {"nlp.capital_qa", "image.cat_choice"} and len(imports[0].rows) == 5
    gb.run()
    media = json.loads(_sql(gb, "SELECT media FROM instances WHERE instance_id = 'i1'")[0][0])
    assert media == [{"field": "input.image_file", "path": "images/1.png"}]
    rows = dict((r[0], r[1:]) for r in _sql(gb, "SELECT task_id, score, n_instances, n_scored, source "
                                                "FROM task_scores WHERE model = 'm'"))
    assert rows["nlp.capital_qa"] == (pytest.approx(200 / 3), 3, 2, "predictions")
    # a list prediction is stored as JSON and scored by the rule: '["A"]' is not the letter A
    assert rows["image.cat_choice"] == (50.0, 2, 2, "predictions")
    kinds = dict(_sql(gb, "SELECT instance_id, output_type FROM predictions"))
    assert kinds["q3"] == "null" and kinds["i2"] == "list"


@pytest.mark.parametrize("breakage, message", [
    ("missing_media", "instance 'i2': missing media file 'images/2.png'"),
    ("duplicate_id", "instance 'i1': duplicate instance id"),
    ("bad_json", "annotation.json:1: bad JSON"),
    ("bad_reference", "instance 'i1': reference does not fit type 'choice': 'maybe' is not a choice letter"),
])
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_bad_task_data_names_file_and_instance(gb: Workspace, breakage: str, message: str) -> None:
    gb.run()  # instances of both tasks stored
    before = _sql(gb, "SELECT task_id, instance_id, dataset_fp FROM instances ORDER BY ALL")
    folder = gb.root / "data/gb/Image/comprehension/Cat-Choice"
    ann = folder / "annotation.json"
    doc = json.loads(ann.read_text())
    if breakage == "missing_media":
        (folder / "images/2.png").unlink()
        doc["data"][0]["output"] = "C"  # change the data so the task is reloaded
    elif breakage == "duplicate_id":
        doc["data"][1]["id"] = "i1"
    elif breakage == "bad_reference":
        doc["data"][0]["output"] = "maybe"
    ann.write_text(json.dumps(doc) if breakage != "bad_json" else '{"data": [}')
    text = data_problems(Workspace(gb.root), "run")  # that task sits out, the other one runs
    assert message in text and "Cat-Choice" in text
    assert _sql(gb, "SELECT task_id, instance_id, dataset_fp FROM instances ORDER BY ALL") == before


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_predictions_for_unknown_instances_are_refused(gb: Workspace, tmp_path: Path) -> None:
    gb.import_predictions(gb.root / "data" / "gb", model="m")
    before = _sql(gb, "SELECT * FROM predictions ORDER BY ALL")
    bad = write_predictions(tmp_path / "p.jsonl", "m", "nlp.capital_qa", [("q1", "4"), ("q9", "x")])
    with pytest.raises(GlcError) as err:
        gb.import_predictions(bad)
    assert "p.jsonl row 2: task 'nlp.capital_qa' has no instance 'q9'" in err.value.format()
    assert _sql(gb, "SELECT * FROM predictions ORDER BY ALL") == before


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_odd_predictions_are_stored_and_scored(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    tid = add_task(root, "f1", "text", [(i, x, r) for i, x, r in QA])
    huge = "4 " * 600_000
    preds = write_predictions(tmp_path / "p.jsonl", "m", tid, [("q1", huge), ("q2", ""), ("q3", {"a": [1]})])
    ws = Workspace(root)
    ws.import_predictions(preds)
    ws.run()
    got = dict((r[0], r[1:]) for r in _sql(ws, "SELECT instance_id, value, scored FROM instance_scores__f1"))
    assert got == {"q1": (0.0, True), "q2": (0.0, True), "q3": (0.0, True)}
    assert _sql(ws, "SELECT length(output) FROM predictions WHERE instance_id = 'q1'") == [(1_200_000,)]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_reimport_replaces_only_that_models_tasks(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    a = add_task(root, "acc", "text", QA)
    b = add_task(root, "f1", "text", QA)
    ws = Workspace(root)
    first = write_predictions(tmp_path / "1.jsonl", "m", a, [("q1", "4"), ("q2", "x")])
    write_predictions(first, "m", b, [("q1", "4")])
    ws.import_predictions(first)
    ws.import_predictions(write_predictions(tmp_path / "2.jsonl", "m", a, [("q3", "blue")]))
    rows = _sql(ws, "SELECT task_id, instance_id, output FROM predictions ORDER BY ALL")
    assert rows == [(a, "q3", "blue"), (b, "q1", "4")]


@pytest.mark.slow  # the whole catalog
def test_task_score_source_prefers_predictions(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p", small=False)  # scores a catalog task too
    tid = add_task(root, "acc", "text", QA)
    (tmp_path / "s.csv").write_text(f"model,task,score\nm,{tid},10\nm,nlp.commonsense_reasoning,70\nz,{tid},33\n")
    ws = Workspace(root)
    ws.import_scores(tmp_path / "s.csv")
    ws.import_predictions(write_predictions(tmp_path / "p.jsonl", "m", tid, [("q1", "four")]))
    ws.run()
    rows = {(r[0], r[1]): (r[2], r[3]) for r in _sql(ws, "SELECT model, task_id, score, source FROM task_scores")}
    assert rows[("m", tid)] == (pytest.approx(100 / 3), "predictions")
    assert rows[("m", "nlp.commonsense_reasoning")] == (70.0, "imported")
    assert rows[("z", tid)] == (33.0, "imported")


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_incremental_builds(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    acc = add_task(root, "acc", "text", QA)
    bleu = add_task(root, "bleu1", "text", QA)
    ws = Workspace(root)
    p1 = write_predictions(tmp_path / "1.jsonl", "m1", acc, [("q1", "4"), ("q2", "Paris")])
    write_predictions(p1, "m1", bleu, [("q1", "4"), ("q2", "Paris is")])
    ws.import_predictions(p1)
    first = ws.run().build
    assert {k: v for k, v in first.partitions_built.items() if v} == {"instance_scores__acc": 1,
                                                                      "instance_scores__bleu1": 1,
                                                                      "predicted_scores": 2}
    manifest = (root / "target/manifest.json").read_text()

    again = Workspace(root).run().build  # nothing changed: nothing recomputed
    assert again.built == [] and not again.seeds_loaded
    assert (root / "target/manifest.json").read_text() == manifest

    p2 = write_predictions(tmp_path / "2.jsonl", "m2", acc, [("q1", "five")])
    Workspace(root).import_predictions(p2)
    one_more = Workspace(root).run().build  # one more model: only its partition is scored and aggregated
    assert {k: v for k, v in one_more.partitions_built.items() if v} == {"instance_scores__acc": 1,
                                                                         "predicted_scores": 1}
    assert "instance_scores__bleu1" in one_more.skipped
    scores = "SELECT model, task_id, score, n_instances, n_scored, source FROM task_scores ORDER BY ALL"
    assert [r[:3] for r in _sql(ws, scores) if r[1] == acc] == [("m1", acc, pytest.approx(200 / 3)),
                                                                ("m2", acc, 0.0)]
    assert _sql(ws, "SELECT model FROM evaluated_models ORDER BY 1") == [("m1",), ("m2",)]
    assert {r[0] for r in _sql(ws, "SELECT model FROM level_scores")} == {"m1", "m2"}

    spec = root / "specs/metrics/bleu1.yaml"
    spec.write_text(spec.read_text().replace("max_order: 1", "max_order: 2"))
    changed = Workspace(root).run().build  # a changed metric re-scores only its tasks
    # (the task aggregates hold every metric's aggregate in one query: its SQL changed, so all of
    # its partitions are rebuilt, from the stored instance scores)
    assert {k: v for k, v in changed.partitions_built.items() if v} == {"instance_scores__bleu1": 1,
                                                                        "predicted_scores": 3}
    assert "instance_scores__acc" in changed.skipped
    after = json.loads((root / "target/manifest.json").read_text())
    before = json.loads(manifest)
    diff = {n for n in after["nodes"] if after["nodes"][n]["fingerprint"] != before["nodes"][n]["fingerprint"]}
    # the reference side holds one n-gram histogram per order: it changes with max_order too
    assert diff == {"instance_refs__bleu1", "instance_scores__bleu1", "predicted_scores"}
    incremental = _sql(ws, scores)  # what the partition-wise builds left equals a build from scratch
    Workspace(root).run(full_refresh=True)
    assert _sql(ws, scores) == incremental and len(incremental) == 3


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_one_more_model_reads_empty_sources_without_stale_views(tmp_path: Path, monkeypatch) -> None:
    """An incremental build shadows only the partition sources that hold rows with views of their
    stale partitions: the task aggregates read every metric's instance scores, most of them empty
    tables, and a view over each cost a one-model build more than its rows. A source with rows
    but no stale partition (bleu1's scores of m1) still reads through its view (else m1's rows
    would be aggregated again), and the result equals a build from scratch."""
    import glc.engine.build

    root = new_project(tmp_path / "p")
    acc = add_task(root, "acc", "text", QA)
    bleu = add_task(root, "bleu1", "text", QA)
    p1 = write_predictions(tmp_path / "1.jsonl", "m1", acc, [("q1", "4"), ("q2", "Paris")])
    write_predictions(p1, "m1", bleu, [("q1", "4"), ("q2", "Paris is")])
    ws = Workspace(root)
    ws.import_predictions(p1)
    ws.run()
    Workspace(root).import_predictions(write_predictions(tmp_path / "2.jsonl", "m2", acc, [("q1", "five")]))
    shadowed: list[list[str]] = []
    views = glc.engine.build._stale_views_sql

    def spy(db, sources):
        shadowed.append([name for name, _ in sources])
        return views(db, sources)

    inserted: dict[str, str] = {}
    insert = glc.engine.build.insert_sql

    def spy_insert(node, empty=()):
        inserted[node.name] = insert(node, empty)
        return inserted[node.name]

    monkeypatch.setattr(glc.engine.build, "_stale_views_sql", spy)
    monkeypatch.setattr(glc.engine.build, "insert_sql", spy_insert)
    one_more = Workspace(root).run().build
    assert {k: v for k, v in one_more.partitions_built.items() if v} == {"instance_scores__acc": 1,
                                                                         "predicted_scores": 1}
    # instance_scores__acc: its store sources with rows (no judgments) and its references;
    # predicted_scores: the two metrics' instance scores that hold rows, not the dozens of empty ones
    assert sorted(map(sorted, shadowed)) == [["instance_refs__acc", "prediction_partitions", "predictions"],
                                             ["instance_scores__acc", "instance_scores__bleu1"]]
    # and the task aggregates' statements are the branches of those two (and the typed empty one)
    node = ws.compile().node("predicted_scores")
    assert len(node.union_sources) > 20 and node.union_sources[-1] == ""
    assert re.findall(r'FROM "(instance_scores__\w+)"', inserted["predicted_scores"]) == [
        "instance_scores__acc", "instance_scores__bleu1"]
    assert inserted["predicted_scores"].count('INSERT INTO "predicted_scores"') == 3
    assert "UNION ALL" not in inserted["predicted_scores"]
    scores = "SELECT model, task_id, score, n_instances, n_scored, source FROM task_scores ORDER BY ALL"
    incremental = _sql(ws, scores)
    partial = _sql(ws, "SELECT * FROM predicted_scores ORDER BY ALL")
    monkeypatch.undo()
    Workspace(root).run(full_refresh=True)
    assert _sql(ws, scores) == incremental and len(incremental) == 3
    assert _sql(ws, "SELECT * FROM predicted_scores ORDER BY ALL") == partial


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_metric_without_predictions_is_built_empty_then_filled(tmp_path: Path, monkeypatch) -> None:
    """A fresh per-metric node with no partition and nothing in its partition sources (a store with
    imported scores only) is created with its query's columns and no rows, without running the
    query; predictions imported later are scored into it, with the same rows as a store that had
    them from the start."""
    import glc.engine.build

    # an empty user cache: the empty tables' columns are bound here, not read from an earlier build's
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = new_project(tmp_path / "p")
    acc = add_task(root, "acc", "text", QA)
    bleu = add_task(root, "bleu1", "text", QA)
    (tmp_path / "s.csv").write_text(f"model,task,score\nw,{acc},50\n")
    p1 = write_predictions(tmp_path / "1.jsonl", "m1", acc, [("q1", "4"), ("q2", "Paris")])
    p2 = write_predictions(tmp_path / "2.jsonl", "m1", bleu, [("q1", "4"), ("q2", "Paris is")])
    without_rows: list[str] = []
    create = glc.engine.build.create_table_sql

    def spy(node, *, data=True):
        if not data:
            without_rows.append(node.name)
        return create(node, data=data)

    monkeypatch.setattr(glc.engine.build, "create_table_sql", spy)
    ws = Workspace(root)
    ws.import_scores(tmp_path / "s.csv")
    ws.run()
    # acc and bleu1 have task data (instance_refs__<metric> has rows): their queries run, and find
    # no prediction; the other metrics' nodes and the task aggregates over them are created empty
    assert "predicted_scores" in without_rows and "instance_scores__wer" in without_rows
    assert "instance_scores__acc" not in without_rows and "instance_scores__bleu1" not in without_rows
    con = duckdb.connect(ws.target.path)
    try:
        from glc.compiler.udfs.registry import register

        register(con)
        for name in ("predicted_scores", "instance_scores__wer"):
            query = (root / f"target/compiled/{name}.sql").read_text()
            columns = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = ? ORDER BY ordinal_position", [name]).fetchall()
            assert columns == [(r[0], r[1]) for r in con.execute(f"DESCRIBE {query}").fetchall()], name
            assert con.execute(f"SELECT count(*) FROM {name}").fetchall() == [(0,)]
    finally:
        con.close()

    without_rows.clear()
    Workspace(root).import_predictions(p1)
    Workspace(root).import_predictions(p2)
    later = Workspace(root).run().build
    assert without_rows == []
    assert {k: v for k, v in later.partitions_built.items() if v} == {"instance_scores__acc": 1,
                                                                      "instance_scores__bleu1": 1,
                                                                      "predicted_scores": 2}
    rows = "SELECT * FROM predicted_scores ORDER BY ALL"
    scores = "SELECT model, task_id, score, n_instances, n_scored, source FROM task_scores ORDER BY ALL"
    filled = _sql(ws, rows), _sql(ws, scores)
    assert len(filled[0]) == 2 and len(filled[1]) == 3
    root_b = new_project(tmp_path / "q")
    add_task(root_b, "acc", "text", QA)
    add_task(root_b, "bleu1", "text", QA)
    other = Workspace(root_b)
    other.import_scores(tmp_path / "s.csv")
    other.import_predictions(p1)
    other.import_predictions(p2)
    other.run()
    assert (_sql(other, rows), _sql(other, scores)) == filled


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_changed_reference_side_rescores_its_partitions(tmp_path: Path) -> None:
    """Scores read the prepared references (instance_refs__<metric>): a change there alone, with the
    scoring SQL untouched, must re-score that metric's partitions, not leave stale rows behind."""
    root = new_project(tmp_path / "p")
    acc = add_task(root, "acc", "text", QA)
    f1 = add_task(root, "f1", "text", QA)
    preds = write_predictions(tmp_path / "p.jsonl", "m", acc, [("q1", "4"), ("q2", "Paris"), ("q3", "red")])
    write_predictions(preds, "m", f1, [("q1", "4")])
    ws = Workspace(root)
    ws.import_predictions(preds)
    ws.run()
    assert _sql(ws, "SELECT score FROM task_scores WHERE task_id = ?", acc) == [(pytest.approx(200 / 3),)]
    refs = root / "sql/models/per_metric/instance_refs.sql"
    refs.write_text(refs.read_text().replace("  t.metric = {{ metric.name | sql_literal }}",
                                             "  t.metric = {{ metric.name | sql_literal }} AND i.instance_id <> 'q3'"))
    built = Workspace(root).run().build
    assert {k: v for k, v in built.partitions_built.items() if v} == {"instance_scores__acc": 1,
                                                                      "instance_scores__f1": 1,
                                                                      "predicted_scores": 2}
    assert _sql(ws, "SELECT instance_id FROM instance_scores__acc ORDER BY 1") == [("q1",), ("q2",)]
    assert _sql(ws, "SELECT score, n_instances FROM task_scores WHERE task_id = ?", acc) == [(100.0, 2)]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_view_models_follow_their_inputs_and_switch_kind(tmp_path: Path) -> None:
    """task_wins__V are views: created once, their rows follow task_results; a template that
    switches a model between view and table replaces the old object."""
    root = new_project(tmp_path / "p")
    acc = add_task(root, "acc", "text", QA)
    ws = Workspace(root)
    ws.import_predictions(write_predictions(tmp_path / "1.jsonl", "m1", acc, [("q1", "4")]))
    ws.run()
    kinds = "SELECT table_type FROM information_schema.tables WHERE table_name = 'task_wins__strict'"
    created = "SELECT built_at FROM glc_node_state WHERE node = 'sql:task_wins__strict'"
    assert _sql(ws, kinds) == [("VIEW",)]
    first = _sql(ws, created)
    ws.import_predictions(write_predictions(tmp_path / "2.jsonl", "m2", acc, [("q1", "4"), ("q2", "Paris")]))
    Workspace(root).run()
    assert _sql(ws, created) == first  # not recreated: its rows follow task_results
    wins = "SELECT model, raw_score FROM task_wins__strict WHERE task_id = ? ORDER BY 1"
    assert _sql(ws, wins, acc) == [("m1", pytest.approx(100 / 3)), ("m2", pytest.approx(200 / 3))]
    assert {r[0] for r in _sql(ws, "SELECT model FROM level_scores")} == {"m1", "m2"}

    template = root / "sql/models/per_variant/task_wins.sql"
    template.write_text(template.read_text().replace("{{ config(materialized='view') }}\n", ""))
    Workspace(root).run()
    assert _sql(ws, kinds) == [("BASE TABLE",)] and _sql(ws, wins, acc)[1][0] == "m2"
    template.write_text("{{ config(materialized='view') }}\n" + template.read_text())
    Workspace(root).run()
    assert _sql(ws, kinds) == [("VIEW",)] and len(_sql(ws, wins, acc)) == 2


def test_every_store_table_has_a_version() -> None:
    """A table model reading a store table is rebuilt when that table changes: each needs a version."""
    from glc.compiler.contracts import STORE

    from glc.engine.build import _store_versions
    from glc.engine.store import ensure_store

    con = duckdb.connect()
    ensure_store(con)
    assert set(_store_versions(con)) == set(STORE)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_select_limits_scoring(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    acc = add_task(root, "acc", "text", QA)
    preds = write_predictions(tmp_path / "p.jsonl", "m1", acc, [("q1", "4")])
    write_predictions(preds, "m2", acc, [("q1", "4")])
    ws = Workspace(root)
    ws.import_predictions(preds)
    built = ws.run(select=["model:m1"]).build
    assert built.partitions_built["instance_scores__acc"] == 2  # a node's first build scores everything
    ws.import_predictions(write_predictions(tmp_path / "q.jsonl", "m2", acc, [("q1", "4"), ("q2", "Paris")]))
    ws.import_predictions(write_predictions(tmp_path / "r.jsonl", "m1", acc, [("q1", "4"), ("q2", "Paris")]))
    built = Workspace(root).run(select=["model:m1", "modality:nlp"]).build
    assert built.partitions_built["instance_scores__acc"] == 1
    rows = dict(_sql(ws, "SELECT model, score FROM task_scores WHERE task_id = ?", acc))
    assert rows == {"m1": pytest.approx(200 / 3), "m2": pytest.approx(100 / 3)}  # m2 not re-scored yet
    with pytest.raises(GlcError, match="no model 'm3'"):
        Workspace(root).run(select=["model:m3"])


@pytest.mark.slow  # runs a command-runner model: several seconds (tests/README.md)
def test_an_import_does_not_replace_what_glc_run_predicted(tmp_path: Path) -> None:
    """Importing predictions under the name of a model whose predictions ``glc run`` made is refused
    with the count and what to do, and stores nothing; under another name the same file imports; an
    import over an import still replaces it (re-importing is how a corrected file comes in)."""
    from helpers.metric_project import echo_model, qa_task

    root = new_project(tmp_path / "p")
    tid = qa_task(root, n=3)
    echo_model(root, "echo")
    ws = Workspace(root)
    assert ws.run().inference.predicted == 3
    rows = _sql(ws, "SELECT instance_id, output, content_key FROM predictions ORDER BY ALL")
    preds = write_predictions(tmp_path / "p.jsonl", "echo", tid, [("q1", "imported")])
    with pytest.raises(GlcError, match=r"model 'echo' holds 3 prediction\(s\) that `glc run` made for 1 of the "
                                       r"task\(s\) this file brings \(nlp\.t_acc\); importing would replace them"):
        Workspace(root).import_predictions(preds)
    assert _sql(ws, "SELECT instance_id, output, content_key FROM predictions ORDER BY ALL") == rows
    for name, rows_ in (("1", [("q1", "imported")]), ("2", [("q2", "again")])):
        Workspace(root).import_predictions(write_predictions(tmp_path / f"{name}.jsonl", "echo-imported", tid, rows_))
    assert _sql(ws, "SELECT instance_id, output FROM predictions WHERE model = 'echo-imported'") == [("q2", "again")]


def test_a_data_problem_does_not_blame_the_other_tasks_specs(tmp_path: Path) -> None:
    """A record without an id in one task's data stops the instance load for every task of the import;
    each task then also got "the task has no instances; give its spec a dataset: section" (both had one)."""
    root = new_project(tmp_path / "p")
    good = add_task(root, "acc", "text", [("a", {}, "x")], suffix="_good")
    bad = add_task(root, "acc", "text", [("", {}, "x"), ("b", {}, "y")], suffix="_bad")
    preds = write_predictions(tmp_path / "p.jsonl", "m", good, [("a", "x")])
    write_predictions(preds, "m", bad, [("b", "y")])
    ws = Workspace(root)
    with pytest.raises(GlcError) as info:
        ws.import_predictions(preds)
    text = info.value.format()
    assert text.startswith(f"{preds}: 1 problem(s); nothing from this file was stored"), text
    assert f"data/{bad}.jsonl record 1 field 'id': instance id '' is not text or an integer" in text
    assert "has no instances" not in text and "dataset: section" not in text
    assert _sql(ws, "SELECT count(*) FROM predictions") == [(0,)]
