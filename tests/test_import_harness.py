"""Harness logs (lm-eval, lmms-eval, Inspect, VLMEvalKit) into a small project, end to end.

The logs under tests/fixtures/harness/ were written by the tools themselves (make_fixtures.py
says which versions and commands), except VLMEvalKit's, which follow its source's file layout
(VLMEvalKit itself is not installable from PyPI under its name; see vlmevalkit.py). The expected
glc scores below are worked out by hand from the logs' answers and glc's accuracy rules.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from glc.compiler.errors import GlcError, SpecErrors
from helpers.metric_project import add_task, new_project, sql_rows

from glc.importers.harness.frame import TEXT_KEY_SQL, WHITE_SPACE, text_key
from glc.importers.scores import ImportErrors
from glc.workspace import Workspace

FIX = Path(__file__).parent / "fixtures" / "harness"
LM = FIX / "lm-eval"
LMMS = FIX / "lmms-eval"
INSPECT = FIX / "inspect"
VLM = FIX / "vlmevalkit"
MC = [json.loads(x) for x in (FIX / "data" / "capitals_mc.jsonl").read_text().splitlines()]
QA = [json.loads(x) for x in (FIX / "data" / "arith_qa.jsonl").read_text().splitlines()]
MC_TASK, QA_TASK = "nlp.t_acc_mc", "nlp.t_acc_qa"

LM_MAP = """format: lm-eval
tasks:
  glc_capitals_mc: {task: nlp.t_acc_mc, match: {by: id, field: doc.id}, score: {key: "acc,none", scale: 100}}
  glc_arith_qa: {task: nlp.t_acc_qa, match: position, filter: none}
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = new_project(tmp_path_factory.mktemp("harness") / "p")
    add_task(root, "acc", "choice", [(r["id"], {"question": r["question"], "choices": r["choices"]}, r["letter"])
                                     for r in MC], suffix="_mc", options_field="input.choices")
    add_task(root, "acc", "text", [(r["id"], {"question": r["question"]}, r["answer"]) for r in QA], suffix="_qa")
    Workspace(root).run()  # built once (instances, the DAG): each test's copy builds only what its import changes
    return root


@pytest.fixture
def hw(base: Path, tmp_path: Path) -> Workspace:
    """A workspace on a copy of the small project (not named ws: conftest sends tests using the
    catalog-wide ws fixture to the slow tier)."""
    root = tmp_path / "p"
    shutil.copytree(base, root)
    return Workspace(root)


def _map(hw: Workspace, text: str, name: str = "map.yaml") -> Path:
    path = hw.root / name
    path.write_text(text)
    return path


def _scores(hw: Workspace, model: str) -> dict[str, float]:
    return {r[0]: r[1] for r in sql_rows(hw, "SELECT task_id, score FROM task_scores WHERE model = ? AND source = "
                                         "'predictions'", model)}


def _preds(hw: Workspace, model: str, task: str) -> dict[str, str]:
    return dict(sql_rows(hw, "SELECT instance_id, output FROM predictions WHERE model = ? AND task_id = ?", model,
                         task))


def _count(hw: Workspace, table: str) -> int:
    return sql_rows(hw, f"SELECT count(*) FROM {table}")[0][0]


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


# --- lm-evaluation-harness -----------------------------------------------------------------------


def test_lm_eval_end_to_end(hw: Workspace) -> None:
    imp = hw.import_harness("lm-eval", LM, "smol", _map(hw, LM_MAP), scores=True)
    text = imp.describe()
    assert "glc_arith_qa -> nlp.t_acc_qa: 6 of 6 instances; 6 sample(s) of other filters left out" in text
    assert "highest log-likelihood" in text
    # the multiple-choice prediction is the letter of the choice with the highest log-likelihood, worked out
    # here independently from the log's filtered_resps
    mc_lines = _lines(next(LM.glob("samples_glc_capitals_mc_*.jsonl")))
    want = {ln["doc"]["id"]: "ABCD"[max(range(4), key=lambda i: float(ln["filtered_resps"][i][0]))]
            for ln in mc_lines}
    assert _preds(hw, "smol", MC_TASK) == want
    assert _preds(hw, "smol", QA_TASK)["qa1"] == " 5"  # the text as generated, leading space included
    hw.run()
    scores = _scores(hw, "smol")
    # the argmax letter is what lm-eval's acc scores: glc's accuracy agrees with the log's acc
    assert scores[MC_TASK] == pytest.approx(100 * sum(ln["acc"] for ln in mc_lines) / 6)
    assert scores[MC_TASK] == pytest.approx(200 / 3)
    # " 5" is right for glc (answers are normalized), wrong for lm-eval's exact_match: 1 of 6 vs 0 of 6
    assert scores[QA_TASK] == pytest.approx(100 / 6)
    hs = sql_rows(hw, "SELECT task_id, metric, count(*), sum(value) FROM harness_scores WHERE model = 'smol' "
                      "GROUP BY ALL ORDER BY ALL")
    assert hs == [(MC_TASK, "acc", 6, 4.0), (MC_TASK, "acc_norm", 6, 3.0), (QA_TASK, "exact_match", 6, 0.0)]
    assert sql_rows(hw, "SELECT sample, harness_task FROM harness_scores WHERE instance_id = 'mc5' AND metric = "
                        "'acc'") == [("line 5", "glc_capitals_mc")]
    # --scores: the results file's acc,none x 100 became the model's imported score
    assert sql_rows(hw, "SELECT task_id, score FROM imported_scores WHERE model = 'smol'") == \
        [(MC_TASK, pytest.approx(200 / 3))]

    diff = {(r["task_id"], r["harness_metric"]): r for r in hw.harness_diff("smol")}
    qa = diff[(QA_TASK, "exact_match")]
    assert (qa["compared"], qa["agree"], qa["n_harness_only"], qa["n_glc_only"]) == (6, 5, 0, 1)
    assert qa["glc_only"][0]["instance_id"] == "qa1" and qa["glc_only"][0]["prediction"] == "' 5'"
    assert diff[(MC_TASK, "acc")]["agree"] == 6
    norm = diff[(MC_TASK, "acc_norm")]
    assert [x["instance_id"] for x in norm["glc_only"]] == ["mc5"] and norm["n_harness_only"] == 0


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_lm_eval_filter_must_be_chosen_and_exists(hw: Workspace) -> None:
    with pytest.raises(ImportErrors) as err:
        hw.import_harness("lm-eval", LM, "smol", _map(hw, LM_MAP.replace(", filter: none", "")))
    assert "'glc_arith_qa' was logged under 2 filters (first-number, none)" in err.value.format()
    assert "map.yaml:4" in err.value.format()
    with pytest.raises(ImportErrors, match="no filter 'strict'"):
        hw.import_harness("lm-eval", LM, "smol", _map(hw, LM_MAP.replace("filter: none", "filter: strict")))
    assert _count(hw, "predictions") == 0
    hw.import_harness("lm-eval", LM, "smol", _map(hw, LM_MAP.replace("filter: none", "filter: first-number")))
    assert _preds(hw, "smol", QA_TASK)["qa2"] == "10"
    hw.run()
    # with the regex filter, harness and glc agree on every instance
    qa = next(r for r in hw.harness_diff("smol") if r["task_id"] == QA_TASK)
    assert (qa["agree"], qa["compared"]) == (6, 6)
    assert _scores(hw, "smol")[QA_TASK] == pytest.approx(100 / 6)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_lm_eval_choice_text_and_a_single_samples_file(hw: Workspace) -> None:
    mapping = _map(hw, "tasks:\n  glc_capitals_mc: {task: nlp.t_acc_mc, match: position, choice_field: doc.choices}\n")
    f = next(LM.glob("samples_glc_capitals_mc_*.jsonl"))
    imp = hw.import_harness("lm-eval", f, "smol", mapping)
    assert "the text (doc.choices)" in imp.describe()
    assert _preds(hw, "smol", MC_TASK)["mc1"] == "Paris"
    hw.run()  # the option text counts as the option (the task lists its options)
    assert _scores(hw, "smol")[MC_TASK] == pytest.approx(200 / 3)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_lm_eval_careful_reader_gives_the_same_rows(hw: Workspace, tmp_path: Path) -> None:
    """A blank line sends the file to the line-by-line reader; what it stores equals the fast path's."""
    run = tmp_path / "run"
    shutil.copytree(LM, run)
    f = next(run.glob("samples_glc_capitals_mc_*.jsonl"))
    f.write_text("\n" + f.read_text(encoding="utf-8").replace("\n", "\n\n", 1), encoding="utf-8")
    hw.import_harness("lm-eval", LM, "fast", _map(hw, LM_MAP))
    hw.import_harness("lm-eval", run, "careful", _map(hw, LM_MAP))
    for task in (MC_TASK, QA_TASK):
        assert _preds(hw, "fast", task) == _preds(hw, "careful", task)
    q = "SELECT instance_id, metric, value, raw_value FROM harness_scores WHERE model = ? ORDER BY ALL"
    assert sql_rows(hw, q, "fast") == sql_rows(hw, q, "careful")
    # lines are numbered as in the file (the blank lines count)
    assert sql_rows(hw, "SELECT sample FROM harness_scores WHERE model = 'careful' AND instance_id = 'mc1' AND "
                        "metric = 'acc'") == [("line 2",)]


def test_lm_eval_per_sample_values_that_are_no_score_are_counted_in_a_note(hw: Workspace, tmp_path: Path) -> None:
    """A corpus metric logs its inputs per sample (bleu: [reference, prediction]), which is no score: those
    values were left out of harness_scores without a word."""
    run = tmp_path / "run"
    shutil.copytree(LM, run)
    f = next(run.glob("samples_glc_arith_qa_*.jsonl"))
    lines = []
    for line in _lines(f):
        if line["filter"] == "none":
            line["metrics"].append("bleu")
            line["bleu"] = [line["target"], line["filtered_resps"][0]]
        lines.append(json.dumps(line))
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = hw.import_harness("lm-eval", run, "smol", _map(hw, LM_MAP)).describe()
    assert "glc_arith_qa: 6 per-sample value(s) of metric 'bleu' are no score glc keeps (e.g. ['5', ' 5']" in text
    assert sql_rows(hw, "SELECT DISTINCT metric FROM harness_scores WHERE task_id = ?", QA_TASK) == [("exact_match",)]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_fast_reader_takes_every_value_as_the_careful_reader(hw: Workspace, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Escapes, non-ASCII text, booleans, integers, null and small numbers as scores: the DuckDB
    reader stores what the line-by-line reader stores (the same file with a blank line first)."""
    from glc.importers.harness import lm_eval

    fast, careful = tmp_path / "fast", tmp_path / "careful"
    shutil.copytree(LM, fast)
    f = next(fast.glob("samples_glc_arith_qa_*.jsonl"))
    lines = f.read_text(encoding="utf-8").splitlines()
    scores = ["true", "1", "null", "0.1", "1e-07", "-0.0"]  # the six documents under filter none
    for i, value in enumerate(scores):
        assert lines[i].endswith('"exact_match": 0.0}')
        lines[i] = lines[i][:-len("0.0}")] + value + "}"
    lines[0] = lines[0].replace('"filtered_resps": [" 5"]', '"filtered_resps": ["\\u00e9\\"5\u2028\\\\"]')
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copytree(fast, careful)
    g = careful / f.name
    g.write_text("\n" + g.read_text(encoding="utf-8"), encoding="utf-8")
    careful_reader = lm_eval._careful
    monkeypatch.setattr(lm_eval, "_careful", lambda *a, **k: pytest.fail("the fast reader gave up"))
    hw.import_harness("lm-eval", fast, "fast", _map(hw, LM_MAP))
    monkeypatch.setattr(lm_eval, "_careful", careful_reader)
    hw.import_harness("lm-eval", careful, "careful", _map(hw, LM_MAP))
    for task in (MC_TASK, QA_TASK):
        assert _preds(hw, "fast", task) == _preds(hw, "careful", task)
    assert _preds(hw, "fast", QA_TASK)["qa1"] == 'é"5\u2028\\'
    q = "SELECT instance_id, metric, value, raw_value FROM harness_scores WHERE model = ? AND task_id = ? ORDER BY ALL"
    assert sql_rows(hw, q, "fast", QA_TASK) == sql_rows(hw, q, "careful", QA_TASK) == [
        ("qa1", "exact_match", 1.0, "true"), ("qa2", "exact_match", 1.0, "1.0"),  # qa3: null, no score
        ("qa4", "exact_match", 0.1, "0.1"), ("qa5", "exact_match", 1e-07, "1e-07"),
        ("qa6", "exact_match", -0.0, "-0.0")]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_fast_reader_reads_the_named_file_whatever_its_name(hw: Workspace, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Glob characters in the path name that file only (DuckDB expands globs in file names)."""
    from glc.importers.harness import lm_eval

    run = tmp_path / "run[ab]*?"
    shutil.copytree(LM, run)
    decoy = tmp_path / "runa*?"  # what run[ab]*? would match as a pattern
    shutil.copytree(LM, decoy)
    d = next(decoy.glob("samples_glc_arith_qa_*.jsonl"))
    d.write_text(d.read_text(encoding="utf-8").replace('"filtered_resps": [" 5"]', '"filtered_resps": ["decoy"]'),
                 encoding="utf-8")
    monkeypatch.setattr(lm_eval, "_careful", lambda *a, **k: pytest.fail("the fast reader gave up"))
    hw.import_harness("lm-eval", run, "smol", _map(hw, LM_MAP))
    assert _preds(hw, "smol", QA_TASK)["qa1"] == " 5"


# --- lmms-eval -----------------------------------------------------------------------------------


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_lmms_eval_end_to_end(hw: Workspace) -> None:
    mapping = _map(hw, "tasks:\n  glc_arith_qa: {task: nlp.t_acc_qa, match: position}\n"
                       "  glc_capitals_mc: {task: nlp.t_acc_mc, match: position}\n")
    hw.import_harness("lmms-eval", LMMS, "dummy", mapping)
    assert set(_preds(hw, "dummy", QA_TASK).values()) == {"5"}
    hw.run()
    assert _scores(hw, "dummy") == {QA_TASK: pytest.approx(100 / 6), MC_TASK: 0.0}
    # lmms-eval's per-sample scores: exact_match numbers and mc_acc objects ({"id", "score"}: the score kept)
    rows = sql_rows(hw, "SELECT metric, instance_id, value, raw_value FROM harness_scores ORDER BY ALL")
    assert [r[:3] for r in rows if r[0] == "exact_match"] == [("exact_match", f"qa{i}", 1.0 if i == 1 else 0.0)
                                                              for i in range(1, 7)]
    mc1 = next(r for r in rows if r[0] == "mc_acc" and r[1] == "mc1")
    assert mc1[2] == 0.0 and json.loads(mc1[3]) == {"id": "mc1", "score": 0.0}
    assert all(r["agree"] == r["compared"] == 6 for r in hw.harness_diff("dummy"))


def test_lmms_eval_id_matching_needs_a_field(hw: Workspace) -> None:
    with pytest.raises(SpecErrors, match="lmms-eval samples have no id of their own"):
        hw.import_harness("lmms-eval", LMMS, "dummy", _map(hw, "tasks:\n  glc_arith_qa: {task: nlp.t_acc_qa, "
                                                               "match: {by: id}}\n"))


# --- Inspect -------------------------------------------------------------------------------------

INSPECT_MAP = """tasks:
  arith_qa: {task: nlp.t_acc_qa, match: {by: id}}
  capitals_mc: {task: nlp.t_acc_mc, match: {by: hash, field: input, instance_field: question},
                score: {key: choice/accuracy, scale: 100}}
"""


@pytest.mark.parametrize("suffix", [".eval", ".json"])
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_inspect_end_to_end(hw: Workspace, suffix: str) -> None:
    mapping = _map(hw, INSPECT_MAP)
    for log in sorted(INSPECT.glob(f"*{suffix}")):
        imp = hw.import_harness("inspect", log, "mock", mapping, scores="capitals" in log.name)
        assert "epoch 1 of 2 imported (6 sample(s) of other epochs left out" in imp.describe()
    hw.run()
    assert _preds(hw, "mock", QA_TASK)["qa2"] == "The answer is 6."
    # 5 right, "The answer is 6." is not the answer "6" for exact match, 8 and "four" wrong, 12 and 0 right
    assert _scores(hw, "mock") == {QA_TASK: 50.0, MC_TASK: pytest.approx(200 / 3)}
    assert sql_rows(hw, "SELECT metric, raw_value, value FROM harness_scores WHERE instance_id = 'qa2'") == \
        [("match", "C", 1.0)]
    assert sql_rows(hw, "SELECT task_id, score FROM imported_scores") == [(MC_TASK, pytest.approx(200 / 3))]
    qa = next(r for r in hw.harness_diff("mock") if r["task_id"] == QA_TASK)
    assert (qa["n_harness_only"], qa["n_glc_only"]) == (1, 0)
    assert qa["harness_only"][0]["instance_id"] == "qa2" and qa["harness_only"][0]["sample"] == \
        "sample 'qa2' epoch 1"


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_inspect_epoch_and_position(hw: Workspace) -> None:
    log = next(INSPECT.glob("*arith-qa*.eval"))
    hw.import_harness("inspect", log, "mock", _map(hw, "tasks:\n  arith_qa: {task: nlp.t_acc_qa, epoch: 2}\n"))
    assert sql_rows(hw, "SELECT count(*), min(sample) FROM harness_scores") == [(6, "sample 'qa1' epoch 2")]
    with pytest.raises(ImportErrors, match="no epoch 3 in the log"):
        hw.import_harness("inspect", log, "mock", _map(hw, "tasks:\n  arith_qa: {task: nlp.t_acc_qa, epoch: 3}\n"))


# --- VLMEvalKit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["MockVLM_GLC_Capitals.xlsx", "MockVLM_GLC_Capitals.tsv",
                                  "MockVLM_GLC_Capitals.json"])
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_vlmevalkit_end_to_end(hw: Workspace, name: str, tmp_path: Path) -> None:
    run = tmp_path / "run"  # one prediction format per folder, with the run's result and acc files
    run.mkdir()
    for f in (name, "MockVLM_GLC_Capitals_exact_matching_result.xlsx", "MockVLM_GLC_Capitals_acc.csv"):
        shutil.copyfile(VLM / f, run / f)
    mapping = _map(hw, "tasks:\n  GLC_Capitals: {task: nlp.t_acc_mc, match: {by: hash, field: question, "
                       "instance_field: question}, score: {key: Overall, scale: 100}}\n")
    hw.import_harness("vlmevalkit", run, "vlm", mapping, scores=True)
    preds = _preds(hw, "vlm", MC_TASK)
    assert preds["mc2"] == "The answer is A" and preds["mc4"] == "Toronto"
    hw.run()
    # B, "answer is A", "C. Rome" right; "Toronto" is option A (the answer is D); A right; "(B) ..." wrong
    assert _scores(hw, "vlm") == {MC_TASK: pytest.approx(200 / 3)}
    assert sql_rows(hw, "SELECT instance_id, value FROM harness_scores WHERE metric = 'hit' ORDER BY 1") == \
        [("mc1", 1.0), ("mc2", 1.0), ("mc3", 1.0), ("mc4", 0.0), ("mc5", 1.0), ("mc6", 0.0)]
    assert sql_rows(hw, "SELECT score FROM imported_scores") == [(pytest.approx(200 / 3),)]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_vlmevalkit_match_by_index_and_pickles_refused(hw: Workspace, tmp_path: Path) -> None:
    mapping = _map(hw, "tasks:\n  GLC_Capitals: {task: nlp.t_acc_mc, match: position}\n")
    imp = hw.import_harness("vlmevalkit", VLM / "MockVLM_GLC_Capitals.tsv", "vlm", mapping)
    assert _count(hw, "predictions") == 6 and "note" not in imp.describe()
    both = _map(hw, "tasks:\n  GLC_Capitals: {task: nlp.t_acc_mc}\n  GLC_Sums: {task: nlp.t_acc_qa}\n")
    imp = hw.import_harness("vlmevalkit", VLM / "MockVLM_GLC_Capitals.tsv", "vlm", both)
    assert "note: mapped but not in this log: GLC_Sums" in imp.describe()
    pkl = tmp_path / "MockVLM_GLC_Capitals_exact_matching_result.pkl"
    pkl.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(GlcError, match="pickle files are not read"):
        hw.import_harness("vlmevalkit", pkl, "vlm", mapping)


def test_vlmevalkit_tsv_row_short_of_its_prediction_is_refused_at_its_line(hw: Workspace, tmp_path: Path) -> None:
    """A row that lost its last field (the prediction) was read as one without a prediction."""
    lines = (VLM / "MockVLM_GLC_Capitals.tsv").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].rsplit("\t", 1)[0]
    tsv = tmp_path / "MockVLM_GLC_Capitals.tsv"
    tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = _map(hw, "tasks:\n  GLC_Capitals: {task: nlp.t_acc_mc, match: position}\n")
    with pytest.raises(GlcError) as err:
        hw.import_harness("vlmevalkit", tsv, "vlm", mapping)
    assert f"{tsv}:4: row has 9 fields, the header has 10" in err.value.format()
    assert _count(hw, "predictions") == 0


# --- matching: id, position, hash; unmatched and duplicates ---------------------------------------


def test_hash_key_is_the_same_in_python_and_sql() -> None:
    import duckdb
    import pyarrow as pa

    texts = ["a  b", " What is\u00a0the capital?\n", "e\u0301t\u00e9", "\u3000x\u2028y\x85z\x0bw", "a\x1cb", "",
             "A" + WHITE_SPACE + "B", "x\u200bY"]
    con = duckdb.connect()
    con.register("t", pa.table({"text": texts}))
    got = [r[0] for r in con.execute("SELECT " + TEXT_KEY_SQL.format(x="text") + " FROM t").fetchall()]
    assert got == [text_key(t) for t in texts]
    assert text_key("A" + WHITE_SPACE + "B") == text_key("A B") and text_key("e\u0301t\u00e9") == text_key("été")
    assert text_key("a\x1cb") != text_key("a b")  # \x1c is no White_Space (Python's str.split would split it)
    assert text_key("x\u200bY") != text_key("x Y")  # nor is the zero-width space


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_unmatched_instances_are_listed_and_unmatched_samples_refused(hw: Workspace) -> None:
    spec = hw.root / "specs" / "tasks" / "test" / f"{QA_TASK}.yaml"
    data = hw.root / "data" / f"{QA_TASK}.jsonl"
    # the task has one more instance than the log
    data.write_text(data.read_text() + json.dumps({"id": "qa7", "input": {"question": "1+1?"}, "output": "2"}) + "\n")
    mapping = _map(hw, "tasks:\n  arith_qa: {task: nlp.t_acc_qa, match: {by: id}}\n")
    imp = hw.import_harness("inspect", next(INSPECT.glob("*arith-qa*.eval")), "mock", mapping)
    assert "6 of 7 instances; 1 instance(s) without a sample count as unanswered (qa7)" in imp.describe()
    # the task lacks an instance the log answers: refused, naming the sample
    data.write_text("".join(x + "\n" for x in data.read_text().splitlines() if '"qa3"' not in x))
    with pytest.raises(ImportErrors) as err:
        hw.import_harness("inspect", next(INSPECT.glob("*arith-qa*.eval")), "other", mapping)
    assert "sample 'qa3' epoch 1: no instance of task 'nlp.t_acc_qa' has this sample's id field 'id' ('qa3')" \
        in err.value.format()
    assert sql_rows(hw, "SELECT count(*) FROM predictions WHERE model = 'other'") == [(0,)]
    skip = _map(hw, "tasks:\n  arith_qa: {task: nlp.t_acc_qa, match: {by: id}, unmatched: skip}\n")
    imp = hw.import_harness("inspect", next(INSPECT.glob("*arith-qa*.eval")), "other", skip)
    assert "1 sample(s) matched no instance and were left out (unmatched: skip)" in imp.describe()
    assert spec.exists()


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_two_samples_of_one_instance_are_refused_naming_both(hw: Workspace, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(LM, run)
    f = next(run.glob("samples_glc_arith_qa_*.jsonl"))
    lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
    second = json.loads(lines[1])
    second["doc_id"] = 0  # line 2 now claims the first document too
    lines[1] = json.dumps(second, ensure_ascii=False) + "\n"
    f.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ImportErrors) as err:
        hw.import_harness("lm-eval", run, "smol", _map(hw, LM_MAP))
    text = err.value.format()
    assert f"{f} line 2: this sample and line 1 both match instance 'qa1' of task 'nlp.t_acc_qa'" in text
    assert _count(hw, "predictions") == 0 and _count(hw, "harness_scores") == 0


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_hash_matching_refuses_two_instances_with_one_text(hw: Workspace) -> None:
    data = hw.root / "data" / f"{MC_TASK}.jsonl"
    rows = [json.loads(x) for x in data.read_text().splitlines()]
    rows[1]["input"]["question"] = "What is the capital of  France? "  # the same text as mc1 once normalized
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    mapping = _map(hw, "tasks:\n  capitals_mc: {task: nlp.t_acc_mc, match: {by: hash, field: input, "
                       "instance_field: question}}\n")
    with pytest.raises(ImportErrors, match="instances 'mc1' and 'mc2' of task 'nlp.t_acc_mc' have the same input"):
        hw.import_harness("inspect", next(INSPECT.glob("*capitals-mc*.eval")), "mock", mapping)


# --- bad input -----------------------------------------------------------------------------------


def _stored(hw: Workspace) -> list[tuple]:
    return sql_rows(hw, "SELECT model, task_id, instance_id, output FROM predictions ORDER BY ALL") + \
        sql_rows(hw, "SELECT model, metric, instance_id, value FROM harness_scores ORDER BY ALL")


@pytest.fixture
def loaded(hw: Workspace) -> Workspace:
    """A store holding a first import, which no failed import may change."""
    hw.import_harness("lm-eval", LM, "smol", _map(hw, LM_MAP))
    return hw


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_unknown_lm_eval_version_is_refused(loaded: Workspace, tmp_path: Path) -> None:
    before = _stored(loaded)
    run = tmp_path / "run"
    shutil.copytree(LM, run)
    res = next(run.glob("results_*.json"))
    res.write_text(res.read_text().replace('"lm_eval_version": "0.4.13"', '"lm_eval_version": "0.5.0"'))
    with pytest.raises(GlcError) as err:
        loaded.import_harness("lm-eval", run, "smol", _map(loaded, LM_MAP))
    assert str(res) in err.value.format() and "written by lm-eval '0.5.0'; glc reads the logs of lm-eval 0.4.x" \
        in err.value.format()
    assert _stored(loaded) == before


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_truncated_jsonl_line_is_located(loaded: Workspace, tmp_path: Path) -> None:
    before = _stored(loaded)
    run = tmp_path / "run"
    shutil.copytree(LM, run)
    f = next(run.glob("samples_glc_capitals_mc_*.jsonl"))
    data = f.read_bytes()
    f.write_bytes(data[:len(data) - 200])  # the last line cut off mid-way, as a killed writer leaves it
    with pytest.raises(ImportErrors) as err:
        loaded.import_harness("lm-eval", run, "smol", _map(loaded, LM_MAP))
    assert f"{f}:6: bad JSON at column" in err.value.format() and "cut off" in err.value.format()
    assert _stored(loaded) == before


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_bad_bytes_and_wrong_shapes_are_located(loaded: Workspace, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(LM, run)
    f = next(run.glob("samples_glc_arith_qa_*.jsonl"))
    lines = f.read_bytes().split(b"\n")
    lines[1] = re.sub(rb'"doc_id": \d+', b'"doc_id": 9223372036854775808', lines[1])  # 2**63: past 64 bits
    lines[2] = lines[2].replace(b'"doc_id": 2', b'"doc_id": "two"')
    lines[3] = lines[3].replace(b"8 / 2", b"8 \xff 2")
    f.write_bytes(b"\n".join(lines))
    with pytest.raises(ImportErrors) as err:
        loaded.import_harness("lm-eval", run, "smol", _map(loaded, LM_MAP))
    text = err.value.format()
    assert f"{f}:2: doc_id 9223372036854775808 is out of range (a 64-bit integer)" in text
    assert f"{f}:3: doc_id 'two' is not an integer" in text
    assert f"{f}:4: not valid UTF-8: byte(s) ff" in text


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_an_epoch_past_64_bits_is_located(loaded: Workspace, tmp_path: Path) -> None:
    """An Inspect sample's epoch is stored as a 64-bit integer: a larger one is a located problem, not an
    internal error (exit 70) from the column it would not fit in."""
    before = _stored(loaded)
    log = json.loads(next(INSPECT.glob("*_arith-qa_*.json")).read_text())
    log["samples"][0]["epoch"] = 2**63
    bad = tmp_path / "huge-epoch.json"
    bad.write_text(json.dumps(log))
    with pytest.raises(ImportErrors) as err:
        loaded.import_harness("inspect", bad, "mock", _map(loaded, INSPECT_MAP))
    assert "epoch 9223372036854775808 is out of range (a 64-bit integer)" in err.value.format()
    assert _stored(loaded) == before


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
@pytest.mark.parametrize("damage", ["cut", "row past Excel"])
def test_a_damaged_vlmevalkit_workbook_is_located(loaded: Workspace, tmp_path: Path, damage: str) -> None:
    """Broken sheet XML was an internal error (exit 70); a row past Excel's last one, without the sheet's
    <dimension>, made openpyxl walk two billion empty rows. Both are refused, naming the file."""
    before = _stored(loaded)
    run = tmp_path / "run"
    run.mkdir()
    book = run / "MockVLM_GLC_Capitals.xlsx"
    with zipfile.ZipFile(VLM / book.name) as zin, zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                if damage == "cut":
                    data = data[:len(data) // 2]
                else:
                    data = re.sub(rb"<dimension [^>]*/>", b"", data).replace(
                        b"</sheetData>", b'<row r="2000000000"><c r="A2000000000"><v>1</v></c></row></sheetData>')
            zout.writestr(info, data)
    mapping = _map(loaded, "tasks:\n  GLC_Capitals: {task: nlp.t_acc_mc, match: position}\n")
    with pytest.raises(GlcError) as err:
        loaded.import_harness("vlmevalkit", run, "vlm", mapping)
    text = err.value.format()
    assert str(book) in text
    assert ("cannot read the workbook: ParseError" in text if damage == "cut"
            else "row '2000000000' lies past Excel's last row" in text)
    assert _stored(loaded) == before


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_zip_that_is_not_an_inspect_log(loaded: Workspace, tmp_path: Path) -> None:
    before = _stored(loaded)
    mapping = _map(loaded, INSPECT_MAP)
    fake = tmp_path / "fake.eval"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(GlcError, match="not an Inspect .eval log \\(the archive has no header.json\\)"):
        loaded.import_harness("inspect", fake, "mock", mapping)
    text = tmp_path / "text.eval"
    text.write_text("not a zip")
    with pytest.raises(GlcError, match="not a readable Inspect .eval log \\(not a zip archive"):
        loaded.import_harness("inspect", text, "mock", mapping)
    # a header of another log format version
    old = tmp_path / "old.eval"
    with zipfile.ZipFile(old, "w") as z:
        z.writestr("header.json", json.dumps({"version": 1, "eval": {"task": "arith_qa"}}))
    with pytest.raises(GlcError, match="Inspect log format version 1; glc reads version 2"):
        loaded.import_harness("inspect", old, "mock", mapping)
    assert _stored(loaded) == before


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_zip_bombs_stop_at_the_limit(loaded: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from glc.importers.harness import safe_zip

    monkeypatch.setattr(safe_zip, "MAX_MEMBER", 10_000)
    bomb = tmp_path / "bomb.eval"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("header.json", b" " * 50_000)
    with pytest.raises(GlcError, match="unpacks to 50000 bytes, more than glc reads"):
        loaded.import_harness("inspect", bomb, "mock", _map(loaded, INSPECT_MAP))


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_missing_mapping_entry_is_named(loaded: Workspace) -> None:
    before = _stored(loaded)
    partial = _map(loaded, "tasks:\n  glc_capitals_mc: {task: nlp.t_acc_mc, match: position}\n")
    with pytest.raises(ImportErrors) as err:
        loaded.import_harness("lm-eval", LM, "smol", partial)
    assert "task 'glc_arith_qa' is not in the mapping" in err.value.format()
    assert "or list it under ignore:" in err.value.format()
    assert _stored(loaded) == before
    ignoring = _map(loaded, "tasks:\n  glc_capitals_mc: {task: nlp.t_acc_mc, match: position}\nignore: "
                            "[glc_arith_qa]\n")
    imp = loaded.import_harness("lm-eval", LM, "smol", ignoring)
    assert [t.task_id for t in imp.tasks] == [MC_TASK]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_mapping_errors_have_lines(loaded: Workspace) -> None:
    bad = _map(loaded, "tasks:\n  glc_capitals_mc: {task: nlp.nope, match: position}\n"
                       "  glc_arith_qa: {task: nlp.t_acc_qa, match: id}\n")
    with pytest.raises(SpecErrors) as err:
        loaded.import_harness("lm-eval", LM, "smol", bad)
    text = err.value.format()
    assert "map.yaml:2: unknown glc task 'nlp.nope' for 'glc_capitals_mc'" in text
    assert "map.yaml:3: lm-eval samples have no id of their own" in text
    shape = _map(loaded, "tasks:\n  glc_arith_qa:\n    task: nlp.t_acc_qa\n    match: {by: hash}\n")
    with pytest.raises(SpecErrors, match="map.yaml:4: missing required key 'tasks.glc_arith_qa.match.field'"):
        loaded.import_harness("lm-eval", LM, "smol", shape)
    twice = _map(loaded, "tasks:\n  a: {task: nlp.t_acc_mc}\n  b: {task: nlp.t_acc_mc}\n")
    with pytest.raises(SpecErrors, match="'b' and 'a' both map to glc task 'nlp.t_acc_mc'"):
        loaded.import_harness("lm-eval", LM, "smol", twice)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_scores_only_from_a_results_file(hw: Workspace) -> None:
    summary = hw.import_harness_scores("lm-eval", next(LM.glob("results_*.json")), "smol", _map(hw, LM_MAP))
    assert summary.n_scores == {"smol": 1}
    assert sql_rows(hw, "SELECT task_id, score FROM imported_scores") == [(MC_TASK, pytest.approx(200 / 3))]
    assert _count(hw, "predictions") == 0
    # a value outside the metric's range (scale forgotten on a percent metric is not caught; 100x too much is)
    with pytest.raises(ImportErrors, match="above the maximum 100"):
        hw.import_harness_scores("lm-eval", next(LM.glob("results_*.json")), "smol",
                                 _map(hw, LM_MAP.replace("scale: 100", "scale: 1000")))


@pytest.mark.slow  # four glc processes, each compiling the project
def test_cli_import_and_diff(loaded: Workspace, tmp_path: Path) -> None:
    glc = [sys.executable, "-m", "glc", "--project-dir", str(loaded.root)]
    mapping = str(_map(loaded, INSPECT_MAP))
    both = [*glc, "import", "predictions", "--from", "inspect", str(INSPECT), "--model", "mock", "--map", mapping]
    out = subprocess.run(both, capture_output=True, text=True)  # each task twice: as .eval and as .json
    assert out.returncode == 2 and "task 'arith_qa' is also in" in out.stderr, out.stderr
    evals = tmp_path / "logs"
    evals.mkdir()
    for f in INSPECT.glob("*.eval"):
        shutil.copyfile(f, evals / f.name)
    out = subprocess.run([*glc, "import", "predictions", "--from", "inspect", str(evals), "--model", "mock", "--map",
                          mapping], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "capitals_mc -> nlp.t_acc_mc: 6 of 6 instances" in out.stdout
    subprocess.run([*glc, "run"], capture_output=True, text=True, check=False)
    out = subprocess.run([*glc, "diff", "harness:smol"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "glc correct, harness wrong: qa1 (line 1): prediction ' 5'" in out.stdout
    bad = subprocess.run([*glc, "import", "predictions", "--from", "inspect", str(INSPECT), "--model", "mock"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--from inspect needs --map MAP.yaml" in bad.stderr


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_inspect_samples_are_read_one_at_a_time_and_bounded(loaded: Workspace, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsed JSON takes up to twenty times its bytes: every sample of a .eval log was parsed and kept at
    once (a 154 KB log took 3.5 GB). Samples are now parsed as they are used, each within a bound (lowered
    here): one past it is refused by its member, and nothing is stored."""
    from glc.importers.harness import inspect_log
    from glc.importers.harness.safe_zip import SafeZip

    src = next(INSPECT.glob("*_arith-qa_*.eval"))
    log = tmp_path / "padded.eval"
    with SafeZip(src, "log", "") as z, zipfile.ZipFile(log, "w", zipfile.ZIP_DEFLATED) as out:
        names = z.names()
        first = min(n for n in names if n.startswith("samples/"))
        for name in names:
            data = z.read(name)
            if name == first:
                data = data.replace(b"{", b"{" + b" " * 50_000, 1)  # 50 KB of white space: the same sample
            out.writestr(name, data)
    mapping = _map(loaded, INSPECT_MAP)
    parsed: list[str] = []
    real = inspect_log._json
    monkeypatch.setattr(inspect_log, "_json", lambda data, where, what: parsed.append(what) or real(data, where, what))
    before = _stored(loaded)
    imp = loaded.import_harness("inspect", log, "padded", mapping)
    assert "padded" in imp.describe() and len([p for p in parsed if p.startswith("samples/")]) > 1
    parsed.clear()
    _, samples = inspect_log._read_eval(log)
    assert not any(p.startswith("samples/") for p in parsed)  # none parsed before it is asked for
    next(samples)
    assert [p for p in parsed if p.startswith("samples/")] == [first]
    monkeypatch.setattr(inspect_log, "MAX_SAMPLE", 40_000)
    with pytest.raises(GlcError) as err:
        loaded.import_harness("inspect", log, "padded2", mapping)
    assert f"member '{first}'" in err.value.format() and "unpacks to" in err.value.format()
    assert _stored(loaded) != before  # the first import stored; the refused one added nothing more
    assert "padded2" not in {r[0] for r in sql_rows(loaded, "SELECT DISTINCT model FROM predictions")}


def test_the_json_reader_of_harness_logs_installs_and_loads_no_extension() -> None:
    """The connection that reads lm-evaluation-harness sample files runs only glc's SQL, but over a
    stranger's file: it may fetch or load no DuckDB extension (JSON is built in)."""
    from glc.importers.harness.frame import json_connection

    con = json_connection()
    try:
        got = con.execute("SELECT current_setting('autoinstall_known_extensions'), "
                          "current_setting('autoload_known_extensions')").fetchone()
    finally:
        con.close()
    assert got == (False, False)
