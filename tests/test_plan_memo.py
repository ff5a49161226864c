"""Planning remembers the content keys it computed (glc/execute/plan_memo.py): a plan with nothing to
run renders no prompt and reads no media file, and the memo never changes a plan.

Every case plans twice, once with the memo and once with the memo emptied (the full computation of
every key, as before the memo existed), and requires the same jobs, counts, reasons and request keys.
Between plans it changes, one at a time, each thing a content key is made of."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from glc.runners.base import Request, Result, Runner
from helpers.cli import glc_in_process
from helpers.metric_project import add_task, echo_model, model_spec, new_project, qa_task
from helpers.spies import opened_files

import glc.execute.inference as inference
from glc.engine.store import connect, ensure_store
from glc.execute import plan_memo
from glc.execute.datasets import FileVersions, sync_instances
from glc.execute.inference import Plan, RunSummary, execute, plan_jobs
from glc.workspace import Workspace


def _store(root: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(root / "target" / "general-bench.duckdb"), read_only=read_only)


def _summary(plan: Plan) -> list[Any]:
    return [plan.describe_rows(), plan.skipped_failed,
            [(j.model, j.task.id, [(r.instance_id, r.key) for r in j.requests]) for j in plan.jobs]]


class Renders:
    """Counts the prompts rendered while planning."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.n = 0
        real = inference.render_prompt

        def counted(*a: Any, **k: Any) -> str:
            self.n += 1
            return real(*a, **k)

        monkeypatch.setattr(inference, "render_prompt", counted)


def plan_both(root: Path, renders: Renders, **kw: Any) -> tuple[Plan, int]:
    """The plan with the memo, and the prompts it rendered; checked to equal the plan without it, and
    the outline (``glc compile``'s plan, counted from the memo where it can be) to report the same."""
    renders.n = 0
    remembered = Workspace(root).plan(**kw)
    rendered = renders.n
    outline = Workspace(root).plan(outline=True, **kw)
    assert [outline.describe_rows(), outline.skipped_failed] == _summary(remembered)[:2]
    con = _store(root)
    con.execute("DELETE FROM glc_plan_jobs")
    con.execute("DELETE FROM glc_plan_keys")
    con.close()
    full = Workspace(root).plan(**kw)
    assert _summary(remembered) == _summary(full)
    return remembered, rendered


def _media_task(root: Path) -> Path:
    """A task of three instances, each showing its own image, whose prompt names the task."""
    tid = add_task(root, "acc", "text", [(f"m{i}", {"a": str(i), "image": f"img/m{i}.png"}, [str(i)])
                                         for i in range(3)], media=["input.image"], suffix="_media")
    path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["inference"] = {"type": "qa", "prompt": "{{ task.name }}: {{ input.a }}"}
    path.write_text(yaml.safe_dump(spec))
    img = root / "data" / "img"
    img.mkdir(parents=True)
    for i in range(3):
        (img / f"m{i}.png").write_bytes(b"picture %d" % i)
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Renders]:
    """A text task of four instances and a media task of three, an echo model, everything run once.
    Files written just now are believed at once (FileVersions.RACY_NS 0) so that no test sleeps."""
    monkeypatch.setattr(FileVersions, "RACY_NS", 0)
    root = new_project(tmp_path / "p")
    qa_task(root, n=4)
    media_spec = _media_task(root)
    echo_model(root, "echo")
    assert Workspace(root).run().inference.predicted == 7
    return root, media_spec, Renders(monkeypatch)


@pytest.mark.slow  # runs a command-runner model: several seconds (tests/README.md)
def test_nothing_to_run_renders_nothing_and_every_change_of_a_key_is_seen(
        project: tuple[Path, Path, Renders], monkeypatch: pytest.MonkeyPatch) -> None:
    root, media_spec, renders = project
    img = root / "data" / "img"
    opened = opened_files(monkeypatch, ".png", names=True)
    renders.n = 0
    plan = Workspace(root).plan()
    assert plan.n_todo == 0 and [j.n_done for j in plan.jobs] == [4, 3]
    assert renders.n == 0 and opened == []  # nothing rendered, no media file read
    plan, rendered = plan_both(root, renders)
    assert plan.n_todo == 0 and rendered == 0

    # a stored prediction gone: only its instance is planned (the job is planned in full)
    con = _store(root)
    con.execute("DELETE FROM predictions WHERE instance_id = 'q2'")
    con.close()
    plan, rendered = plan_both(root, renders)
    assert [r.instance_id for j in plan.jobs for r in j.requests] == ["q2"] and rendered == 4
    Workspace(root).run()

    # a media file edited in place (same path, same data file): only its instance
    (img / "m1.png").write_bytes(b"picture 1, retouched")
    plan, rendered = plan_both(root, renders)
    assert [(r.instance_id, j.reasons) for j in plan.jobs for r in j.requests] == [
        ("m1", {"prompt, model or settings changed": 1})] and rendered == 3
    Workspace(root).run()
    # ... and a media file replaced by another (a new inode, the same bytes as before)
    (img / "m2.png").unlink()
    (img / "m2.png").write_bytes(b"picture 2")
    plan, _ = plan_both(root, renders)  # same content: same key, so nothing to run, but planned in full
    assert plan.n_todo == 0

    # the task's name, which the media task's prompt shows
    spec = yaml.safe_load(media_spec.read_text())
    spec["name"] = "Renamed"
    media_spec.write_text(yaml.safe_dump(spec))
    plan, _ = plan_both(root, renders)
    assert [(j.task.id, len(j.requests)) for j in plan.jobs] == [("nlp.t_acc", 0), ("nlp.t_acc_media", 3)]
    Workspace(root).run()

    # the data file: one more instance
    data = root / "data" / "nlp.t_acc.jsonl"
    data.write_text(data.read_text() + json.dumps({"id": "q9", "input": {"a": "9"}, "output": ["9"]}) + "\n")
    plan, _ = plan_both(root, renders)
    assert [(r.instance_id, j.reasons) for j in plan.jobs for r in j.requests] == [("q9", {"new": 1})]
    Workspace(root).run()

    # the model's revision: every key
    path = root / "specs" / "models" / "echo.yaml"
    path.write_text(path.read_text().replace("revision: '1'", "revision: '2'"))
    plan, _ = plan_both(root, renders)
    assert plan.n_todo == 8
    Workspace(root).run()

    # the code that makes keys from these (glc's version of it): planned in full, nothing to run
    plan, rendered = plan_both(root, renders)
    assert rendered == 0
    monkeypatch.setattr(plan_memo, "_code_digest", lambda: "another version of the key code")
    plan, rendered = plan_both(root, renders)
    assert plan.n_todo == 0 and rendered == 8


@pytest.mark.slow  # runs a command-runner model: several seconds (tests/README.md)
def test_limit_failed_instances_and_models_gone(project: tuple[Path, Path, Renders]) -> None:
    root, _, renders = project
    # keys remembered for the first two instances serve a plan of two; a plan of all needs every key
    con = _store(root)
    con.execute("DELETE FROM glc_plan_jobs")
    con.execute("DELETE FROM glc_plan_keys")
    con.close()
    plan, rendered = plan_both(root, renders, limit=2)
    assert plan.n_todo == 0 and rendered == 4
    plan, rendered = plan_both(root, renders, limit=2)
    assert rendered == 0 and [j.n_instances for j in plan.jobs] == [2, 2]
    con = _store(root, read_only=True)
    assert sorted(con.execute("SELECT task_id, n_keys, complete FROM glc_plan_jobs").fetchall()) == [
        ("nlp.t_acc", 2, False), ("nlp.t_acc_media", 2, False)]
    con.close()
    plan, rendered = plan_both(root, renders)
    assert plan.n_todo == 0 and rendered == 7
    plan, rendered = plan_both(root, renders, limit=3)  # complete keys serve any limit
    assert rendered == 0 and [j.n_instances for j in plan.jobs] == [3, 3]
    con = _store(root, read_only=True)  # a plan of three computed every key of the task of three
    assert sorted(con.execute("SELECT task_id, n_keys, complete FROM glc_plan_jobs").fetchall()) == [
        ("nlp.t_acc", 3, False), ("nlp.t_acc_media", 3, True)]
    con.close()
    plan, rendered = plan_both(root, renders)
    assert rendered == 4  # the text task's keys planned in full

    # a failed prediction is kept (and counted) without --retry-failed, planned with it
    con = _store(root)
    con.execute("UPDATE predictions SET error = 'RunnerError: down' WHERE instance_id = 'q1'")
    con.close()
    plan, rendered = plan_both(root, renders)
    assert plan.n_todo == 0 and plan.skipped_failed == 1 and rendered == 0
    plan, _ = plan_both(root, renders, retry_failed=True)
    assert [(r.instance_id, j.reasons) for j in plan.jobs for r in j.requests] == [("q1", {"failed before": 1})]

    # the entries of a model no longer in the project are dropped; a model with no route keeps none
    (root / "specs" / "models" / "echo.yaml").unlink()
    model_spec(root, "other", [{"runner": "command", "args": {"argv": ["true"]}, "match": {"modality": ["3d"]}}])
    Workspace(root).compile(write=False)
    plan = Workspace(root).plan()
    con = _store(root, read_only=True)
    assert con.execute("SELECT count(*) FROM glc_plan_jobs").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM glc_plan_keys").fetchone() == (0,)
    con.close()
    assert plan.jobs == []


@pytest.mark.slow  # runs a command-runner model: several seconds (tests/README.md)
def test_media_changed_just_now_is_not_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A media file changed within the last two seconds could be rewritten again within one tick of a
    coarse clock with the same size and times: its task's keys are computed in full and not remembered.
    The memo's clock stands still at the moment the files were written (compiling and loading before
    the plan can take two seconds on a loaded machine)."""
    import types

    root = new_project(tmp_path / "p")
    _media_task(root)
    echo_model(root, "echo")
    written = time.time_ns()
    monkeypatch.setattr(plan_memo, "time", types.SimpleNamespace(time_ns=lambda: written))
    Workspace(root).plan()
    con = _store(root, read_only=True)
    assert con.execute("SELECT count(*) FROM glc_plan_jobs").fetchone() == (0,)
    con.close()


@pytest.mark.slow  # runs a command-runner model: several seconds (tests/README.md)
def test_an_outline_counts_from_the_memo_and_runs_each_job_when_its_turn_comes(
        project: tuple[Path, Path, Renders]) -> None:
    """``glc compile`` reports the plan without rendering when the keys are remembered, whatever is to
    run; ``glc run`` plans the same outline and builds a job's requests when the job runs."""
    root, media_spec, renders = project
    path = root / "specs" / "models" / "echo.yaml"
    path.write_text(path.read_text().replace("revision: '1'", "revision: '2'"))
    Workspace(root).plan()  # planned in full once: the new keys remembered
    con = _store(root)
    con.execute("DELETE FROM predictions WHERE instance_id IN ('q0', 'm0')")
    con.close()
    renders.n = 0
    outline = Workspace(root).plan(outline=True)
    assert renders.n == 0 and outline.n_todo == 7
    assert [(j.task.id, j.pending, j.requests, dict(j.reasons)) for j in outline.jobs] == [
        ("nlp.t_acc", 4, [], {"new": 1, "prompt, model or settings changed": 3}),
        ("nlp.t_acc_media", 3, [], {"new": 1, "prompt, model or settings changed": 2})]
    jobs = json.loads((root / "target" / "jobs.json").read_text())
    assert jobs["n_todo"] == 7 and [(r["task_id"], r["n_todo"]) for r in jobs["jobs"] if r["kind"] == "predict"] == [
        ("nlp.t_acc", 4), ("nlp.t_acc_media", 3)]
    full = Workspace(root).plan()
    assert renders.n == 7 and full.n_todo == 7 and all(len(j.requests) == j.n_todo for j in full.jobs)
    assert full.describe_rows() == outline.describe_rows()
    # glc compile prints the outline
    res = glc_in_process("--project-dir", str(root), "--benchmark", "general-bench", "compile")
    assert res.returncode == 0 and "inference jobs: 7 predictions to run" in res.stdout, res.stdout + res.stderr
    # glc run: the outline's jobs get their requests as they run (each instance's prompt rendered once)
    renders.n = 0
    ran = Workspace(root).run()
    assert ran.inference.predicted == 7 and renders.n == 7 and not ran.inference.failed
    renders.n = 0
    assert Workspace(root).plan().n_todo == 0 and renders.n == 0
    con = _store(root, read_only=True)
    assert con.execute("SELECT count(*) FROM predictions WHERE content_key IN (SELECT content_key FROM "
                       "glc_plan_keys)").fetchone() == (7,)  # the new predictions carry the remembered keys
    con.close()


class _LoadsOnce(Runner):
    """A runner that reads its weights when it first runs and keeps them for every later job of its
    route, as the hf runner does; ``after`` runs after each job (someone replacing the weights)."""

    def __init__(self, weights: Path, after: Callable[[], None]) -> None:
        self.weights, self.after, self.loaded = weights, after, ""

    def run(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Result]]:
        self.loaded = self.loaded or self.weights.read_text()
        for r in requests:
            yield r, Result(output=f"made with {self.loaded}")
        self.after()


def _plan_and_execute(root: Path, runner: Runner, *, outline: bool) -> RunSummary:
    """``Workspace.run``'s inference (plan, then execute) with ``runner`` serving every route."""
    ws = Workspace(root)
    compiled = ws.compile()
    con = connect(ws.target)
    try:
        ensure_store(con)
        sync_instances(con, compiled.project)
        plan = plan_jobs(con, compiled.project, ws.target_dir, outline=outline)
        return execute(con, compiled.project, plan, ws.target_dir, runner_factory=lambda route: runner)
    finally:
        con.close()


def _forget(root: Path) -> None:
    con = _store(root)
    con.execute("DELETE FROM glc_plan_jobs")
    con.execute("DELETE FROM glc_plan_keys")
    con.close()


@pytest.mark.parametrize("outline", [True, False])
def test_weights_replaced_during_a_run_leave_the_predictions_made_with_the_old_ones_stale(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outline: bool) -> None:
    """An outline's job is built when its turn comes, after the runner loaded its weights: its keys are
    made with the model part the plan computed (the weights it hashed), not with the weights on disk by
    then, so predictions made with the old weights stay stale once the new ones are there (as a plan
    built in full, ``outline=False``, has them)."""
    monkeypatch.setattr(FileVersions, "RACY_NS", 0)
    root = new_project(tmp_path / "p")
    qa_task(root, n=3)
    second = add_task(root, "acc", "text", [(f"r{i}", {"a": str(i)}, [str(i)]) for i in range(3)], suffix="_b")
    path = root / "specs" / "tasks" / "test" / f"{second}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["inference"] = {"type": "qa", "prompt": "B {{ input.a }}"}
    path.write_text(yaml.safe_dump(spec))
    weights = root / "weights" / "model.safetensors"
    weights.parent.mkdir()
    weights.write_text("v1")
    model_spec(root, "hfm", [{"runner": "hf", "args": {"task": "text-generation", "model": "./weights"}}])
    _plan_and_execute(root, _LoadsOnce(weights, lambda: None), outline=False)  # the keys remembered
    con = _store(root)
    con.execute("DELETE FROM predictions")  # both jobs to run again, their keys remembered
    con.close()
    if not outline:
        _forget(root)

    def replace() -> None:
        weights.write_text("v2, trained further")

    assert _plan_and_execute(root, _LoadsOnce(weights, replace), outline=outline).predicted == 6
    con = _store(root, read_only=True)
    assert con.execute("SELECT DISTINCT output FROM predictions").fetchall() == [("made with v1",)]
    con.close()
    _forget(root)
    assert {j.task.id: j.n_todo for j in Workspace(root).plan().jobs} == {"nlp.t_acc": 3, second: 3}


def _media_outside(tmp_path: Path) -> Path:
    """The media task's images in a folder outside the project that profiles.yml grants as a data
    root, everything run once; then the grant withdrawn."""
    root = new_project(tmp_path / "p")
    qa_task(root, n=4)
    _media_task(root)
    outside = tmp_path / "outside"
    (root / "data" / "img").rename(outside)
    (root / "data" / "img").symlink_to(outside)
    prof = root / "profiles.yml"
    granted = f"data_roots: [{str(outside)!r}]"
    prof.write_text(prof.read_text().replace("data_roots: []", granted))
    echo_model(root, "echo")
    assert Workspace(root).run().inference.predicted == 7
    prof.write_text(prof.read_text().replace(granted, "data_roots: []"))
    return root


@pytest.mark.slow  # runs a command-runner model: several seconds (tests/README.md)
def test_a_data_root_withdrawn_leaves_the_job_out_as_without_the_memo(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """What was granted is part of the digest: with the images' data root withdrawn, a plan with the
    memo leaves the media job out as one without it does (not found done from its remembered keys),
    and a run leaves it out before its turn: the text task's job runs, no image is read."""
    monkeypatch.setattr(FileVersions, "RACY_NS", 0)
    root = _media_outside(tmp_path)
    for memo in (True, False):
        if not memo:
            _forget(root)
        plan = Workspace(root).plan(outline=memo)
        assert [j.task.id for j in plan.jobs] == ["nlp.t_acc"]
        assert [(f.task_id, f.problem.message.split(" now ")[1][:33]) for f in plan.prompt_problems] == [
            ("nlp.t_acc_media", "leads outside the project and its")]
    con = _store(root)
    con.execute("DELETE FROM predictions WHERE instance_id IN ('q0', 'm0')")
    con.close()
    ran = Workspace(root).run()
    assert ran.inference.predicted == 1 and [f.task_id for f in Workspace(root).plan().prompt_problems] == [
        "nlp.t_acc_media"]
    con = _store(root, read_only=True)
    assert con.execute("SELECT count(*) FROM predictions").fetchone() == (6,)  # m0 was not run
    con.close()


def test_key_code_changed_after_this_process_loaded_it_is_believed_in_no_digest(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The code digest is of the files on disk; when one changed after this process imported glc, it
    is not the code this process runs: the digest is then this process's own (nothing remembered is
    believed, and nothing remembered now serves another process)."""
    import glc

    digest = plan_memo._code_digest.__wrapped__
    assert len(digest()) == 64  # the checkout is older than this process
    monkeypatch.setattr(glc, "IMPORTED_NS", 0)  # as if every file had changed since
    first, second = digest(), digest()
    assert first.startswith("glc.execute.inference changed after this process loaded it") and first != second
