"""A model's results: `glc rm model` and `glc rename model` change every store table with a model
column in one transaction and rebuild the boards; `glc run` names models whose spec is gone;
`glc model add` writes a checked spec; the example specs under docs/examples/models/ are valid."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from glc.compiler.errors import GlcError
from glc.compiler.resolve import load_project
from helpers.cli import glc_in_process
from helpers.metric_project import (
    allow_command,
    echo_model,
    model_spec,
    new_project,
    qa_task,
    speech_task,
    sql_rows,
)
from typer.testing import CliRunner

from glc.cli import app
from glc.engine.model_admin import MODEL_TABLES
from glc.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


def glc(root: Path, *args: str) -> subprocess.CompletedProcess:
    """glc's output and exit status as main() gives them (in this process: no interpreter start)."""
    return glc_in_process("--project-dir", str(root), *args)


def glc_here(root: Path, *args: str) -> subprocess.CompletedProcess:
    """``glc`` in this process (no interpreter start): the exit status and messages main() gives."""
    result = CliRunner().invoke(app, ["--project-dir", str(root), *args])
    if isinstance(result.exception, GlcError):
        return subprocess.CompletedProcess(args, 2, result.stdout, f"Error: {result.exception.format()}\n")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def counts(ws: Workspace, model: str) -> dict[str, int]:
    return {t: sql_rows(ws, f"SELECT count(*) FROM {t} WHERE model = ?", model)[0][0] for t in MODEL_TABLES}


def board(ws: Workspace) -> set[str]:
    return {r["model"] for r in ws.leaderboard()}


# a task whose answers are files, read by an evaluator program (its readings are judgments)
WRITE = ["{{ python }}", "-c", "import sys; open(sys.argv[1], 'w').write(sys.argv[2].split(':')[-1].strip())",
         "{{ output }}", "{{ prompt }}"]
READ = ["{{ python }}", "-c", "import sys; print(open(sys.argv[1]).read())", "{{ media.output }}"]


def judged_task(root: Path) -> str:
    return speech_task(root, [(f"s{i}", str(i)) for i in range(3)], "Say the number: {{ input.a }}", READ)


def writer_model(root: Path, name: str) -> Path:
    allow_command(root, WRITE)
    return model_spec(root, name, [{"runner": "command", "args": {"argv": WRITE, "result": "file"}}])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Model 'echo' made predictions, model 'voice' files with evaluator readings, 'imp' was imported."""
    tmp_path = tmp_path_factory.mktemp("models")
    root = new_project(tmp_path / "p")
    judged = judged_task(root)
    qa_task(root, n=3)  # echo answers text tasks only
    echo_model(root, "echo")
    writer_model(root, "voice")
    ws = Workspace(root)
    ws.run()
    table = tmp_path / "scores.csv"
    table.write_text(f"model,task,score\nimp,{judged},50\n")
    ws.import_scores(table)
    ws.run(infer=False)
    return root, judged


@pytest.fixture
def built(template: tuple[Path, str], tmp_path: Path) -> tuple[Workspace, str]:
    """A copy of the template project, store included (its generated files stay where they were made)."""
    root = shutil.copytree(template[0], tmp_path / "p", symlinks=True)
    return Workspace(root), template[1]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_dry_run_lists_rows_per_table_and_removes_nothing(built: tuple[Workspace, str]) -> None:
    ws, _ = built
    before = counts(ws, "voice")
    assert before["predictions"] == 3 and before["judgments"] == 3 and before["prediction_partitions"] == 1
    proc = glc(ws.root, "rm", "model", "voice", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "would remove model 'voice' (7 rows)" in proc.stdout
    assert "  predictions: 3 rows\n  prediction_partitions: 1 row\n  judgments: 3 rows" in proc.stdout
    assert "dry run: nothing was removed" in proc.stdout
    assert "specs/models/voice.yaml still declares 'voice'" in proc.stdout
    assert counts(ws, "voice") == before and "voice" in board(ws)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_deleted_spec_is_named_by_run_and_rm_takes_the_model_off_the_boards(built: tuple[Workspace, str]) -> None:
    ws, _ = built
    (ws.root / "specs" / "models" / "voice.yaml").unlink()
    proc = glc(ws.root, "run")
    assert proc.returncode == 0, proc.stderr
    assert "note: 1 model with predictions made by runners but no spec in specs/models" in proc.stderr
    assert "still on the boards: voice;" in proc.stderr and "imp" not in proc.stderr.split("note:")[1]
    ws = Workspace(ws.root)
    assert "voice" in board(ws)
    change = ws.remove_model("voice")
    assert change.rebuilt and change.spec is None
    assert counts(ws, "voice") == dict.fromkeys(MODEL_TABLES, 0)
    assert board(ws) == {"echo", "imp"}
    assert ws.run().orphans == []
    # imported scores go the same way, in their own tables
    assert counts(ws, "imp")["imported_scores"] == 1
    ws.remove_model("imp")
    assert counts(ws, "imp") == dict.fromkeys(MODEL_TABLES, 0) and board(ws) == {"echo"}


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_rm_of_an_unknown_model_suggests_one_and_changes_nothing(built: tuple[Workspace, str]) -> None:
    ws, _ = built
    proc = glc(ws.root, "rm", "model", "voise")
    assert proc.returncode == 2 and "no results of model 'voise'" in proc.stderr
    assert "did you mean 'voice'?" in proc.stderr
    assert counts(ws, "voice")["predictions"] == 3


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_rename_after_the_spec_keeps_predictions_and_readings(built: tuple[Workspace, str]) -> None:
    ws, judged = built
    before = sql_rows(ws, "SELECT instance_id, output FROM predictions WHERE model = 'voice' ORDER BY 1")
    spec = ws.root / "specs" / "models" / "voice.yaml"
    spec.rename(spec.with_name("speaker.yaml"))
    data = yaml.safe_load(spec.with_name("speaker.yaml").read_text())
    spec.with_name("speaker.yaml").write_text(yaml.safe_dump({**data, "name": "speaker"}))
    ws = Workspace(ws.root)
    change = ws.rename_model("voice", "speaker")
    assert change.rekeyed == 3 and change.kept_keys == 0 and change.rebuilt
    assert "3 prediction(s) re-keyed to spec 'speaker'" in change.describe()
    assert counts(ws, "voice") == dict.fromkeys(MODEL_TABLES, 0)
    assert sql_rows(ws, "SELECT instance_id, output FROM predictions WHERE model = 'speaker' ORDER BY 1") == before
    assert "speaker" in board(ws) and "voice" not in board(ws)
    plan = ws.plan()
    # nothing is made or read again: the predictions and the evaluator's readings count as done
    assert {(j.model, j.n_done, len(j.requests)) for j in plan.jobs if j.model == "speaker"} == {("speaker", 3, 0)}
    assert [(j.model, j.n_done, len(j.requests)) for j in plan.judges if j.model == "speaker"] == [("speaker", 3, 0)]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_rename_without_a_spec_says_the_predictions_will_be_made_again(built: tuple[Workspace, str]) -> None:
    ws, _ = built
    change = ws.rename_model("echo", "echo-2")
    assert change.rekeyed == 0 and change.kept_keys == 3 and change.new_spec is None
    text = change.describe()
    assert "no spec declares 'echo-2'" in text and "specs/models/echo.yaml still declares 'echo'" in text
    assert board(ws) >= {"echo-2"} and "echo" not in board(ws)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_rename_refuses_to_merge_or_to_take_a_bad_name(built: tuple[Workspace, str]) -> None:
    ws, _ = built
    before = {m: counts(ws, m) for m in ("echo", "voice")}
    with pytest.raises(GlcError) as err:
        ws.rename_model("echo", "voice")
    assert "model 'voice' already has results (7 rows)" in err.value.message
    assert "glc rm model voice" in (err.value.hint or "")
    with pytest.raises(GlcError) as err:
        ws.rename_model("echo", "Echo Two")
    assert "'Echo Two' is not a valid model name" in err.value.message
    assert {m: counts(ws, m) for m in ("echo", "voice")} == before


# --- glc model add ---------------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return new_project(tmp_path / "p")


def test_model_add_openai_on_an_allowed_endpoint(root: Path) -> None:
    proc = glc(root, "model", "add", "my-server", "--openai", "http://127.0.0.1:8000/v1", "--served-model",
               "Qwen/Qwen2.5-7B-Instruct")
    assert proc.returncode == 0, proc.stderr
    path = root / "specs" / "models" / "my-server.yaml"
    assert f"wrote {path}" in proc.stdout and "profiles.yml allows http://127.0.0.1:8000/v1" in proc.stdout
    spec = yaml.safe_load(path.read_text())
    assert spec == {"name": "my-server", "revision": "1", "routes": [
        {"runner": "openai", "args": {"base_url": "http://127.0.0.1:8000/v1", "model": "Qwen/Qwen2.5-7B-Instruct"}}]}
    assert "my-server" in {m.spec.name for m in load_project(root).models}
    again = glc_here(root, "model", "add", "my-server", "--openai", "http://127.0.0.1:9000/v1", "--served-model", "x")
    assert again.returncode == 2 and "spec file exists" in again.stderr and "--force" in again.stderr
    assert yaml.safe_load(path.read_text())["routes"][0]["args"]["model"] == "Qwen/Qwen2.5-7B-Instruct"
    forced = glc_here(root, "model", "add", "my-server", "--openai", "http://127.0.0.1:9000/v1", "--served-model", "x",
                 "--force")
    assert forced.returncode == 0 and yaml.safe_load(path.read_text())["routes"][0]["args"]["model"] == "x"


def test_model_add_openai_says_what_to_add_to_profiles(root: Path) -> None:
    proc = glc(root, "model", "add", "hosted", "--openai", "https://api.example.com/v1/", "--served-model", "big",
               "--api-key-env", "EXAMPLE_KEY")
    assert proc.returncode == 0, proc.stderr
    assert "profiles.yml does not allow sending to https://api.example.com/v1/ yet" in proc.stdout
    assert '  - url: "https://api.example.com/v1"\n    api_key_env: EXAMPLE_KEY' in proc.stdout
    profile = root / "profiles.yml"
    profile.write_text(profile.read_text().replace(
        "endpoints:\n", 'endpoints:\n  - url: "https://api.example.com/v1"\n    api_key_env: EXAMPLE_KEY\n', 1))
    from glc.engine.model_admin import endpoint_advice

    assert endpoint_advice(root, "https://api.example.com/v1/", "EXAMPLE_KEY") == \
        "profiles.yml allows https://api.example.com/v1/ with the key in $EXAMPLE_KEY"
    assert "not with the key in $OTHER_KEY" in endpoint_advice(root, "https://api.example.com/v1", "OTHER_KEY")


def test_model_add_hf_and_bad_input(root: Path) -> None:
    proc = glc_here(root, "model", "add", "small-lm", "--hf", "smollm2-135m-instruct")
    assert proc.returncode == 0, proc.stderr
    spec = yaml.safe_load((root / "specs" / "models" / "small-lm.yaml").read_text())
    assert spec["routes"] == [{"runner": "hf", "args": {"task": "text-generation", "model": "smollm2-135m-instruct"}}]
    bad = glc_here(root, "model", "add", "other", "--hf", "no-such-model")
    assert bad.returncode == 2 and "runner 'hf' arg 'model'" in bad.stderr and "bundled model" in bad.stderr
    bad = glc_here(root, "model", "add", "other", "--hf", "smollm2-135m-instruct", "--task", "translation")
    assert bad.returncode == 2 and "runner 'hf' arg 'task'" in bad.stderr
    bad = glc(root, "model", "add", "Bad Name", "--hf", "smollm2-135m-instruct")
    assert bad.returncode == 2 and "model spec: name:" in bad.stderr and "lower-case letters" in bad.stderr
    both = glc_here(root, "model", "add", "x", "--hf", "smollm2-135m-instruct", "--openai", "http://127.0.0.1:1/v1")
    assert both.returncode == 2 and "exactly one of --openai URL or --hf" in both.stderr
    assert sorted(p.name for p in (root / "specs" / "models").iterdir()) == ["small-lm.yaml"]
    assert "Traceback" not in bad.stderr + both.stderr


def test_model_add_refuses_a_name_another_file_declares(root: Path) -> None:
    model_spec(root, "taken", [{"runner": "hf", "args": {"task": "text-generation", "model": "smollm2-135m-instruct"}}])
    (root / "specs" / "models" / "taken.yaml").rename(root / "specs" / "models" / "elsewhere.yaml")
    proc = glc_here(root, "model", "add", "taken", "--hf", "smollm2-135m-instruct", "--force")
    assert proc.returncode == 2 and "model 'taken' is already declared by specs/models/elsewhere.yaml" in proc.stderr


def test_example_model_specs_are_valid(root: Path) -> None:
    examples = sorted((REPO / "docs" / "examples" / "models").glob("*.yaml"))
    assert [p.stem for p in examples] == ["command", "hf", "openai"]
    (root / "specs" / "models").mkdir(parents=True, exist_ok=True)
    for p in examples:
        shutil.copy(p, root / "specs" / "models" / p.name)
    project = load_project(root)
    by_name = {m.spec.name: m.spec for m in project.models}
    assert {r.runner for r in by_name["my-command-model"].routes} == {"command"}
    assert {r.runner for r in by_name["my-hf-model"].routes} == {"hf"}
    assert {r.runner for r in by_name["my-server-model"].routes} == {"openai"}
    for rel in ("README.md", "docs/extending.md"):
        text = (REPO / rel).read_text()
        assert all(f"docs/examples/models/{p.name}" in text for p in examples), rel
