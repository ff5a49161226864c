"""What a new user sees: every spec error of a change in one compile (with close metric names),
one located problem per missing data field, plain progress lines and per-run files when output
is not a terminal, formats checked before any work, per-benchmark report/docs folders, help
without type placeholders, strict task-id hints, a reason for an import of no model, plurals."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from glc.compiler.errors import GlcError, SpecErrors
from glc.compiler.plan import compile_project
from glc.compiler.suggest import did_you_mean_metric, did_you_mean_task
from helpers.cli import glc_in_process
from helpers.metric_project import add_task, data_problems, echo_model, new_project, qa_task, sql_rows
from typer.testing import CliRunner

from glc.cli import app
from glc.execute.progress import LineProgress, eta_text
from glc.words import plural
from glc.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


def glc(root: Path, *args: str, process: bool = False) -> subprocess.CompletedProcess:
    """``glc`` as a user runs it, output redirected (not a terminal): main() in this process, or
    (``process``) a real ``python -m glc`` whose stdout and stderr are pipes."""
    if not process:
        return glc_in_process("--project-dir", str(root), *args)
    return subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(root), *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return new_project(tmp_path / "p")


# --- item 6: all spec errors of a change in one compile -----------------------------------------


def _task_file(root: Path, task_id: str) -> Path:
    return root / "specs" / "tasks" / "test" / f"{task_id}.yaml"


def test_unknown_key_and_unknown_metric_of_one_file_come_together(root: Path) -> None:
    tid = add_task(root, "acc", "text", [("a", "x", ["y"])])
    spec = yaml.safe_load(_task_file(root, tid).read_text())
    spec["metric"] = "exact_match"
    spec["sotaa"] = 3  # an unknown key: the file fails validation
    _task_file(root, tid).write_text(yaml.safe_dump(spec, sort_keys=False))
    # a broken metric macro is found by another stage (templates); it comes in the same report
    em1 = root / "specs" / "metrics" / "em1.yaml"
    em1.write_text(em1.read_text().replace("macro: accuracy", "macro: accuracyy"))
    with pytest.raises(SpecErrors) as err:
        compile_project(root)
    msg = err.value.format()
    rel = f"specs/tasks/test/{tid}.yaml"
    assert msg.startswith("3 spec errors:"), msg
    assert f"{rel}:" in msg and "unknown key 'sotaa'" in msg
    assert "unknown metric 'exact_match'" in msg and "did you mean 'em1' or 'acc'?" in msg
    assert "specs/metrics/em1.yaml:" in msg and "unknown metric macro 'accuracyy'" in msg


def test_broken_model_file_has_its_runner_checked_too(root: Path) -> None:
    path = root / "specs" / "models" / "m.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("name: m\nrevision: '1'\ncolour: red\nroutes:\n  - runner: hff\n    args: {}\n")
    with pytest.raises(SpecErrors) as err:
        compile_project(root)
    msg = err.value.format()
    assert "specs/models/m.yaml:3: unknown key 'colour'" in msg
    assert "specs/models/m.yaml:5: unknown runner 'hff'" in msg and "did you mean 'hf'?" in msg


def test_unknown_metric_names_aliases_and_synonyms() -> None:
    aliases = {"em1": ["EM@1"], "acc": ["ACC", "Acc"], "bleu4": ["BLEU@4"], "wer": ["WER"], "f1": ["F1"]}
    assert did_you_mean_metric("exact_match", aliases) == "did you mean 'em1' or 'acc'?"
    assert did_you_mean_metric("accuracy", aliases) == "did you mean 'acc'?"
    assert did_you_mean_metric("BLEU-4", aliases) == "did you mean 'bleu4'?"  # an alias, written another way
    assert did_you_mean_metric("em@1", aliases) == "did you mean 'em1'?"
    assert did_you_mean_metric("word_error_rate", aliases) == "did you mean 'wer'?"
    assert did_you_mean_metric("perplexity", aliases) is None
    # a synonym for a metric this project does not have is not suggested
    assert did_you_mean_metric("rouge", aliases) is None


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_missing_data_field_is_one_problem_naming_the_keys(root: Path) -> None:
    ok = add_task(root, "acc", "text", [("a", "x", ["y"]), ("b", "x", ["z"])])
    bad = add_task(root, "em1", "text", [(f"i{n}", "x", ["y"]) for n in range(5)], fields={"reference": "answer"})
    dotted = add_task(root, "f1", "text", [(f"i{n}", "x", {"text": "y"}) for n in range(3)],
                      fields={"reference": "output.answer"})
    ws = Workspace(root)
    text = data_problems(ws)
    assert len(ws.data_problems) == 2, text  # one per file, not one per instance
    assert (f"none of the 5 records has field 'answer' (dataset.fields.reference of task '{bad}'; first: "
            "instance 'i0', instance 'i1', instance 'i2', ... (+2 more))") in text
    assert "records have at the top level: id, input, output; set dataset.fields.reference in " \
           f"specs/tasks/test/{bad}.yaml" in text
    assert "none of the 3 records has field 'output.answer'" in text and "records have under 'output': text" in text
    # the other task loaded: bad data sits its own task out only
    assert sql_rows(ws, "SELECT count(*) FROM instances WHERE task_id = ?", ok) == [(2,)]
    assert sql_rows(ws, "SELECT count(*) FROM instances WHERE task_id IN (?, ?)", bad, dotted) == [(0,)]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_some_records_without_the_id_field(root: Path) -> None:
    tid = add_task(root, "acc", "text", [("a", "x", ["y"])])
    data = root / "data" / f"{tid}.jsonl"
    data.write_text(data.read_text() + json.dumps({"ident": "b", "input": "x", "output": ["y"]}) + "\n")
    text = data_problems(Workspace(root))
    assert "1 of 2 records has no field 'id' (dataset.fields.id" in text and "first: record 2" in text
    assert "records have at the top level: id, ident, input, output" in text


# --- item 7: plain progress lines, run log and results ------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_line_progress_every_n_seconds_with_rate_and_eta() -> None:
    clock, lines = FakeClock(), []
    progress = LineProgress([lines.append], every_s=30, clock=clock, now=lambda: datetime(2026, 1, 1, 12, 3, 4))
    progress.start(5000)
    progress.job("m · t", 5000)
    assert lines == ["[12:03:04] inference: 5000 predictions to run"]
    clock.t = 10.0
    progress.advance(31)
    assert len(lines) == 1  # not 30 s yet
    clock.t = 1234 / 3.1
    progress.advance(1234 - 31)
    assert lines[-1] == "[12:03:04] 1,234/5,000 predictions (24 %), 3.1/s, ETA 20 min (m · t)"
    clock.t += 29
    progress.advance(10)
    assert len(lines) == 2  # the next line waits for the interval again
    clock.t += 2
    progress.advance(0)
    assert len(lines) == 3 and lines[-1].startswith("[12:03:04] 1,244/5,000 predictions (24 %)")
    progress.end_job()
    progress.stop()
    assert lines[-1].startswith("[12:03:04] inference done: 1,244/5,000 predictions") and lines[-1].endswith("7 min")


def test_eta_text() -> None:
    assert [eta_text(s) for s in (0, 59.4, 61, 1215, 3600, 7530)] == ["0 s", "59 s", "1 min", "20 min", "1 h 00 min",
                                                                       "2 h 05 min"]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_redirected_run_writes_progress_lines_a_run_log_and_results(root: Path) -> None:
    tid = qa_task(root, n=4)
    echo_model(root, "echo")
    proc = glc(root, "run", process=True)  # a real process whose output goes to pipes
    assert proc.returncode == 0, proc.stderr
    err_lines = proc.stderr.splitlines()
    for stage in ("loading task data", "inference: 4 predictions to run",
                  "inference done: 4/4 predictions (100 %)", "building the SQL nodes"):
        assert any(line[:1] == "[" and line[9:11] == "] " and stage in line for line in err_lines), (stage, proc.stderr)
    runs = sorted((root / "target" / "runs").iterdir())
    assert len(runs) == 1
    log, results = runs[0] / "log.txt", runs[0] / "results.json"
    assert f"run log: {log}" in proc.stderr and f"results: {results}" in proc.stderr
    text = log.read_text()
    assert text.startswith("[") and text.splitlines()[0].endswith("] compiling specs")
    assert "inference: 4 predictions to run" in text and "leaderboard: variant pooled" in text
    assert "built " in text and "tests: " in text
    data = json.loads(results.read_text())
    assert data["run_id"] == runs[0].name and data["exit_status"] == 0 and data["benchmark"] == "general-bench"
    assert set(data["versions"]) == {"glc", "duckdb", "python"}
    assert data["spec_fingerprint"] == json.loads((root / "target" / "manifest.json").read_text())["fingerprint"]
    assert data["models"] == [{"model": "echo", "spec": "specs/models/echo.yaml", "revision": "1",
                               "role": "generalist"}]
    assert tid in {t["task_id"] for t in data["tasks"]}
    # the rows lie beside results.json in Parquet, as results.json says
    assert data["scores"]["file"] == "scores.parquet" and data["levels"]["file"] == "levels.parquet"
    scores = pq.read_table(runs[0] / "scores.parquet").to_pylist()
    levels = pq.read_table(runs[0] / "levels.parquet").to_pylist()
    assert data["scores"]["rows"] == len(scores) and data["levels"]["rows"] == len(levels)
    assert data["scores"]["columns"][:3] == ["model", "task_id", "task_name"]
    score = next(s for s in scores if s["task_id"] == tid)
    assert score["model"] == "echo" and score["score"] == 100.0 and score["n_instances"] == 4
    assert {(r["variant"], r["scope"]) for r in levels if r["model"] == "echo"} >= {("pooled", "A")}
    assert data["inference"]["predicted"] == 4 and data["timings"]["total_s"] > 0
    # the run id is the build's: `glc diff run:ID` names the same run
    assert sql_rows(Workspace(root), "SELECT count(*) FROM glc_runs WHERE run_id = ?", runs[0].name) == [(1,)]


# --- item 9: smaller ones -------------------------------------------------------------------------


def test_unknown_format_is_refused_before_any_inference(root: Path) -> None:
    qa_task(root, n=3)
    echo_model(root, "echo")
    proc = glc(root, "run", "--format", "xml")
    assert proc.returncode == 2 and "unknown format 'xml'" in proc.stderr and "one of: table, json" in proc.stderr
    assert not (root / "target" / "general-bench.duckdb").exists()  # nothing ran, nothing was built
    for cmd in (["explain", "m"], ["diff", "variant:pooled", "variant:strict"], ["lineage", "level_scores.level"],
                ["leaderboard"]):
        result = CliRunner().invoke(app, ["--project-dir", str(root), *cmd, "--format", "yaml"])
        assert isinstance(result.exception, GlcError) and result.exception.message == "unknown format 'yaml'", cmd
    assert not (root / "target" / "general-bench.duckdb").exists()


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_report_and_docs_default_to_a_folder_per_benchmark(root: Path) -> None:
    gb, mini = Workspace(root), Workspace(root, benchmark="mini")
    assert gb.output_dir("report") == root / "target" / "general-bench" / "report"
    assert mini.output_dir("report") == root / "target" / "mini" / "report"
    assert gb.output_dir("docs") == root / "target" / "general-bench" / "docs"
    assert gb.docs() == root / "target" / "general-bench" / "docs" / "index.html"


def test_help_shows_no_type_placeholders() -> None:
    def help_of(*cmd: str) -> str:
        result = CliRunner().invoke(app, [*cmd, "--help"], terminal_width=100)
        assert result.exit_code == 0, result.output
        return result.output

    for cmd in ([], ["run"], ["export", "predictions"], ["rm", "model"], ["model", "add"], ["import", "scores"]):
        out = help_of(*cmd)
        assert "Options:" in out and "<bool>" not in out, (cmd, out)
    out = help_of("run")
    assert "--full-refresh / --no-full-refresh" in out and "--format FORMAT" in out and "--select SELECTOR" in out
    assert "<str>" not in out


def test_task_id_hints_compare_the_name_after_the_modality() -> None:
    ids = ["image.food_detection", "image.lung_segmentation", "mini.video.object_recognition",
           "video.art_recognition", "image.object_recognition", "nlp.sentiment_classification"]
    assert did_you_mean_task("image.foo_bar", ids) is None  # shares only 'image.' with the others
    assert did_you_mean_task("image.object_recognitoin", ids) == \
        "did you mean 'image.object_recognition' or 'mini.video.object_recognition'?"
    assert did_you_mean_task("video.object_recognitoin", ids) == \
        "did you mean 'mini.video.object_recognition' or 'image.object_recognition'?"
    assert did_you_mean_task("IMAGE.LUNG_SEGMENTATION", ids) == "did you mean 'image.lung_segmentation'?"


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_unknown_task_selector_gets_no_unrelated_hint(root: Path) -> None:
    ws = Workspace(root)
    with pytest.raises(GlcError) as err:
        ws.plan(select=["task:image.zzz_qqq"])
    assert err.value.message == "no task 'image.zzz_qqq'" and err.value.hint == "`glc ls tasks` lists them"


def test_prediction_rows_for_an_unknown_task_get_a_strict_hint(root: Path, tmp_path: Path) -> None:
    from helpers.metric_project import write_predictions

    from glc.importers.scores import ImportErrors

    tid = add_task(root, "acc", "text", [("a", "x", ["y"])])
    rows = write_predictions(tmp_path / "p.jsonl", "m", "nlp.t_acx", [("a", "y")])
    write_predictions(rows, "m", "nlp.zzz", [("a", "y")])
    with pytest.raises(ImportErrors) as err:
        Workspace(root).import_predictions(rows)
    hints = [p.hint for p in err.value.problems]
    assert hints[0] == f"did you mean '{tid}'?"
    assert hints[1] is None or "did you mean" not in hints[1]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_workbook_without_model_columns_says_why(root: Path, tmp_path: Path) -> None:
    import openpyxl

    from glc.importers.workbook import HEADER

    ws = Workspace(root)
    sheets = sorted({t.spec.official.sheet for t in ws.compile(write=False).project.tasks
                     if t.spec.official is not None})
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in sheets:
        wb.create_sheet(name).append(list(HEADER))
    path = tmp_path / "template.xlsx"
    wb.save(path)
    proc = glc(root, "import", "scores", str(path))
    assert proc.returncode == 2, proc.stdout
    assert "no model columns found: sheet" in proc.stderr and "'Task Short Name', 'Metrics']" in proc.stderr
    assert "add one column per model after 'Metrics'" in proc.stderr and "imported 0" not in proc.stdout


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_plural_and_the_compile_line(root: Path) -> None:
    assert [plural(n, "task") for n in (0, 1, 2)] == ["0 tasks", "1 task", "2 tasks"]
    assert plural(1, "entry", "entries") == "1 entry" and plural(3, "entry", "entries") == "3 entries"
    tid = qa_task(root, n=1)
    echo_model(root, "echo")
    proc = glc(root, "compile", "--select", f"task:{tid}")
    assert proc.returncode == 0, proc.stderr
    assert "inference jobs: 1 prediction to run" in proc.stdout and "1 predictions" not in proc.stdout


def test_apt_lock_is_waited_for_then_refused_with_a_reason(tmp_path: Path) -> None:
    import fcntl

    lock = tmp_path / "lock-frontend"
    lock.write_text("")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "GLC_APT_LOCKS": f"{tmp_path / 'absent'} {lock}",
           "GLC_APT_WAIT_S": "0", "GLC_APT_POLL_S": "0"}
    script = [str(REPO / "scripts" / "wait_for_apt.sh")]
    free = subprocess.run(["bash", *script], env=env, capture_output=True, text=True)
    assert free.returncode == 0 and free.stderr == ""
    with lock.open("r+") as fh:
        fcntl.lockf(fh, fcntl.LOCK_EX)  # held the way apt holds it, by this process
        held = subprocess.run(["bash", *script], env=env, capture_output=True, text=True)
    assert held.returncode == 1 and f"another apt/dpkg process still holds {lock}" in held.stderr
    assert not (tmp_path / "absent").exists()  # a missing lock file is never created
    setup = (REPO / "scripts" / "setup.sh").read_text()
    assert "bash scripts/wait_for_apt.sh" in setup and "DPkg::Lock::Timeout=600" in setup
