"""Runners without heavy models: the command runner (no shell), the openai runner's fault
handling against a scripted HTTP server (429, 500, timeouts, malformed JSON, 4xx, server down),
runner registry and argument errors at compile time, and per-instance failures in a run."""

from __future__ import annotations

import json
import re
import shutil
import socket
import sys
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import glc.runners.base as runner_base
import glc.runners.command as command
import pytest
import yaml
from glc.compiler.errors import SpecErrors
from glc.compiler.plan import compile_project
from glc.runners.base import Request
from glc.runners.command import CommandArgs, CommandRunner
from glc.runners.openai import OpenAIArgs, OpenAIRunner
from helpers.metric_project import add_task, allow_command, echo_model, model_spec, new_project, qa_task
from helpers.spies import opened_files

from glc.execute.datasets import FileVersions
from glc.workspace import Workspace

# --- the command runner --------------------------------------------------------------------


def test_command_runner_passes_prompts_as_single_arguments(tmp_path: Path) -> None:
    evil = "x; touch PWNED $(touch PWNED2) `touch PWNED3` && echo hi | cat"
    args = CommandArgs(argv=["{{ python }}", "-c", "import sys; print(repr(sys.argv[1:]))", "{{ prompt }}",
                             "{{ input.n }}"])
    runner = CommandRunner(args, tmp_path)
    [(req, res)] = list(runner.run([Request(key="k", instance_id="i1", prompt=evil, input={"n": 3})]))
    assert res.error is None and res.output == repr([evil, "3"])
    assert not list(tmp_path.iterdir())  # no shell ran the text: nothing was created


def test_command_runner_records_exit_status_and_missing_files(tmp_path: Path) -> None:
    fail = CommandRunner(CommandArgs(argv=["{{ python }}", "-c", "import sys; sys.exit('bad input ' + sys.argv[1])",
                                           "{{ instance_id }}"]), tmp_path)
    [(_, res)] = list(fail.run([Request(key="k", instance_id="i9", prompt="")]))
    assert res.output is None and "exit status 1" in res.error and "bad input i9" in res.error
    nofile = CommandRunner(CommandArgs(argv=["{{ python }}", "-c", "pass"], result="file"), tmp_path)
    [(_, res)] = list(nofile.run([Request(key="k", instance_id="i", prompt="", output_path=tmp_path / "o.wav")]))
    assert "wrote no file" in res.error
    slow = CommandRunner(CommandArgs(argv=["{{ python }}", "-c", "import time; time.sleep(5)"], timeout_s=0.3),
                         tmp_path)
    [(_, res)] = list(slow.run([Request(key="k", instance_id="i", prompt="")]))
    assert res.error == "timed out after 0.3 s"


@pytest.mark.timeout(60)  # a hang guard: the cap stops the program long before its timeout_s
def test_command_runner_stops_a_program_printing_past_the_stdout_cap(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command, "MAX_STDOUT_BYTES", 64 << 10)
    forever = "import sys, time\nwhile True:\n    sys.stdout.write('x' * 65536); sys.stdout.flush(); time.sleep(0.01)"
    runner = CommandRunner(CommandArgs(argv=["{{ python }}", "-c", forever], timeout_s=20), tmp_path)
    [(_, res)] = list(runner.run([Request(key="k", instance_id="i", prompt="")]))
    assert res.output is None and res.error is not None
    assert res.error.startswith("the program printed more than 64 KiB to stdout and was stopped"), res.error
    assert "result: file" in res.error  # what to do instead
    # within the cap: the answer, as before
    small = CommandRunner(CommandArgs(argv=["{{ python }}", "-c", "print('y' * 60000)"]), tmp_path)
    [(_, res)] = list(small.run([Request(key="k", instance_id="i", prompt="")]))
    assert res.error is None and res.output == "y" * 60000


def test_command_runner_holds_a_bounded_part_of_what_a_program_prints(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory stays bounded by the cap (stdout) and a tail (stderr), not by what the program prints."""
    monkeypatch.setattr(command, "MAX_STDOUT_BYTES", 64 << 10)
    flood = ("import sys; chunk = b'x' * (1 << 20)\n"
             "for _ in range(16): getattr(sys, sys.argv[1]).buffer.write(chunk)\n"
             "sys.stderr.write('the end'); sys.exit(sys.argv[1] == 'stderr')")
    for stream in ("stdout", "stderr"):
        runner = CommandRunner(CommandArgs(argv=["{{ python }}", "-c", flood, stream]), tmp_path)
        tracemalloc.start()
        try:
            [(_, res)] = list(runner.run([Request(key="k", instance_id="i", prompt="")]))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert res.output is None and res.error is not None
        assert peak < 2 << 20, (stream, peak)  # 16 MiB printed; well under 2 MiB held
        if stream == "stderr":
            assert res.error.startswith("exit status 1: ") and res.error.endswith("xxthe end"), res.error[:80]
            assert len(res.error) < 600
    # with result: file, stdout is not the answer: a program's chatter there is read and dropped
    chatty = ("import sys; sys.stdout.buffer.write(b'progress ' * 100000); open(sys.argv[1], 'w').write('file')")
    runner = CommandRunner(CommandArgs(argv=["{{ python }}", "-c", chatty, "{{ output }}"], result="file"), tmp_path)
    out = tmp_path / "o.wav"
    [(_, res)] = list(runner.run([Request(key="k", instance_id="i", prompt="", output_path=out)]))
    assert res.error is None and res.output == str(out)


@pytest.mark.parametrize("kind", ["link", "fifo", "dir", "big"])
def test_command_runner_refuses_an_output_that_is_no_regular_file_or_too_big(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    monkeypatch.setattr(runner_base, "MAX_MEDIA_BYTES", 4096)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the store")
    code = ("import os, sys; kind, out, secret = sys.argv[1:]\n"
            "if kind == 'link': os.symlink(secret, out)\n"
            "elif kind == 'fifo': os.mkfifo(out)\n"
            "elif kind == 'dir': os.mkdir(out)\n"
            "else: open(out, 'wb').write(b'x' * 5000)\n")
    runner = CommandRunner(CommandArgs(argv=["{{ python }}", "-c", code, kind, "{{ output }}", str(secret)],
                                       result="file"), tmp_path)
    out = tmp_path / "o.png"
    [(_, res)] = list(runner.run([Request(key="k", instance_id="i", prompt="", output="image", output_path=out)]))
    expected = {"link": f"the generated file {out} is a symbolic link; glc does not follow it or store it",
                "fifo": f"the generated file {out} is a FIFO, not a regular file",
                "dir": f"the generated file {out} is a folder, not a regular file",
                "big": f"the generated file {out} is 5 KiB, over the 4 KiB a generated file may take"}[kind]
    assert res.output is None and res.error is not None and res.error.startswith(expected), res.error


# --- a scripted OpenAI-compatible server ---------------------------------------------------


class Script:
    """Per prompt, the answers the server gives in turn (the last one repeats)."""

    def __init__(self, plan: dict[str, list[str]]) -> None:
        self.plan = plan
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def next(self, prompt: str) -> str:
        with self.lock:
            n = self.calls.get(prompt, 0)
            self.calls[prompt] = n + 1
        steps = self.plan.get(prompt, ["ok"])
        return steps[min(n, len(steps) - 1)]


def scripted_server(script: Script) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: object) -> None:
            pass

        def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except BrokenPipeError:  # the client gave up (timeout test)
                pass

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompt = body["messages"][-1]["content"]
            prompt = prompt if isinstance(prompt, str) else prompt[0]["text"]
            step = script.next(prompt)
            if step == "429":
                self._reply(429, b'{"error": "slow down"}', {"Retry-After": "0"})
            elif step == "500":
                self._reply(500, b'{"error": "boom"}')
            elif step == "400":
                self._reply(400, b'{"error": {"message": "context length exceeded"}}')
            elif step == "malformed":
                self._reply(200, b'{"choices": [')
            elif step == "slow":
                time.sleep(3.0)
                self._reply(200, json.dumps({"choices": [{"message": {"content": "late"}}]}).encode())
            else:
                answer = f"answer to {prompt}" + (f" with {len(body['messages'][-1]['content'])} parts"
                                                  if isinstance(body["messages"][-1]["content"], list) else "")
                self._reply(200, json.dumps({"choices": [{"message": {"content": answer}}]}).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def server():
    script = Script({
        "rate limited": ["429", "429", "ok"],
        "flaky": ["500", "ok"],
        "malformed": ["malformed", "ok"],
        "slow": ["slow", "ok"],
        "rejected": ["400"],
        "always down": ["500"],
    })
    srv = scripted_server(script)
    yield srv, script
    srv.shutdown()


def _runner(port: int, **kw) -> OpenAIRunner:
    args = OpenAIArgs(base_url=f"http://127.0.0.1:{port}/v1", model="m", backoff_s=0.01, max_backoff_s=0.05,
                      timeout_s=1.0, **kw)  # a local reply takes milliseconds; 1 s leaves a loaded machine room
    return OpenAIRunner(args, Path("."))


def test_openai_runner_retries_what_is_retryable(server, tmp_path: Path) -> None:
    srv, script = server
    runner = _runner(srv.server_address[1], max_retries=3, concurrency=4)
    img = tmp_path / "x.png"
    img.write_bytes(b"\x89PNG fake")
    prompts = ["rate limited", "flaky", "malformed", "slow", "rejected", "always down", "fine"]
    reqs = [Request(key=p, instance_id=p, prompt=p) for p in prompts]
    reqs.append(Request(key="img", instance_id="img", prompt="with image", media={"image": str(img)}))
    got = {req.instance_id: res for req, res in runner.run(reqs)}
    runner.close()
    assert got["rate limited"].output == "answer to rate limited" and script.calls["rate limited"] == 3
    assert got["flaky"].output == "answer to flaky" and script.calls["flaky"] == 2
    assert got["malformed"].output == "answer to malformed" and script.calls["malformed"] == 2
    assert got["slow"].output == "answer to slow" and script.calls["slow"] == 2  # first attempt timed out
    assert got["rejected"].output is None and "HTTP 400" in got["rejected"].error
    assert "context length exceeded" in got["rejected"].error and script.calls["rejected"] == 1  # not retried
    assert got["always down"].output is None and got["always down"].error.startswith("failed after 4 attempts")
    assert script.calls["always down"] == 4
    assert got["fine"].output == "answer to fine"
    assert got["img"].output == "answer to with image with 2 parts"  # text + image data URL


def test_openai_runner_server_down_fails_fast(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    runner = _runner(port, max_retries=2, concurrency=1)
    slept: list[float] = []
    runner.sleep = slept.append  # an injected sleeper: what the backoff waits is counted, not timed
    got = [res for _, res in runner.run([Request(key=str(i), instance_id=str(i), prompt="p") for i in range(20)])]
    assert all(r.output is None for r in got)
    assert "cannot reach" in got[0].error
    assert sum("server unreachable, not tried" in r.error for r in got) >= 18
    # only the first request(s) back off, each at most max_retries times and max_backoff_s long
    assert runner.attempts <= 6 and len(slept) <= 4 and sum(slept) <= 4 * 0.05


def test_openai_runner_needs_its_api_key(monkeypatch) -> None:
    from glc.runners.base import RunnerError

    monkeypatch.delenv("GLC_TEST_KEY", raising=False)
    runner = OpenAIRunner(OpenAIArgs(base_url="http://127.0.0.1:1/v1", model="m", api_key_env="GLC_TEST_KEY"),
                          Path("."))
    with pytest.raises(RunnerError, match="GLC_TEST_KEY"):
        list(runner.run([Request(key="k", instance_id="i", prompt="p")]))


# --- specs: registry and argument errors ---------------------------------------------------


def test_unknown_runner_and_bad_args_are_spec_errors(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    model_spec(root, "bad", [
        {"runner": "hff", "args": {}},
        {"runner": "hf", "args": {"task": "text-generation", "model": "smollm2-135m-instruct", "batch_sise": 4}},
        {"runner": "openai", "args": {"base_url": "localhost:8000", "model": "x"}},
        {"runner": "command", "args": {"argv": ["echo", "{{ prompt"]}},
    ])
    with pytest.raises(SpecErrors) as info:
        compile_project(root)
    text = str(info.value)
    assert "specs/models/bad.yaml:4: unknown runner 'hff'" in text and "did you mean 'hf'" in text
    assert "runner 'hf' arg 'batch_sise'" in text and "batch_size" in text
    assert "runner 'openai' arg 'base_url'" in text
    assert "runner 'command' arg 'argv'" in text


# --- a run with failures -------------------------------------------------------------------


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_one_failing_instance_does_not_stop_the_run(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    tid = qa_task(root)
    log = tmp_path / "calls.log"
    echo_model(root, "echo", fail_on="q3", log=log)
    ws = Workspace(root)
    result = ws.run()
    inf = result.inference
    assert inf is not None and inf.predicted == 6 and [f[2] for f in inf.failed] == ["q3"]
    assert "cannot answer q3" in inf.describe()
    import duckdb

    con = duckdb.connect(ws.target.path, read_only=True)
    rows = dict(con.execute("SELECT instance_id, coalesce(output, error) FROM predictions").fetchall())
    score = con.execute("SELECT score, n_scored FROM task_scores WHERE model = 'echo'").fetchone()
    con.close()
    assert rows["q1"] == "1" and "cannot answer q3" in rows["q3"]
    assert score == (pytest.approx(100 * 5 / 6), 5)
    # the next run keeps the failure (no silent retries) ...
    assert Workspace(root).run().inference.predicted == 0
    # ... and --retry-failed runs only the failed instance again
    echo_model(root, "echo", fail_on=None, log=log)  # changes the route: a new content key for every instance
    assert Workspace(root).plan().n_todo == 6
    calls_before = len(log.read_text().split())
    assert calls_before == 6
    # back to the same spec: same keys as stored; only the failed one is to do with --retry-failed
    echo_model(root, "echo", fail_on="q3", log=log)
    plan = Workspace(root).plan(retry_failed=True)
    assert plan.n_todo == 1 and plan.jobs[0].requests[0].instance_id == "q3"
    assert Workspace(root).plan().n_todo == 0 and Workspace(root).plan().skipped_failed == 1
    assert tid


def _media_task(root: Path) -> Path:
    """A task of three instances, each showing its own image (``data/img/q<i>.png``), with a prompt;
    returns the image folder."""
    tid = add_task(root, "acc", "text", [(f"q{i}", {"a": str(i), "image": f"img/q{i}.png"}, [str(i)])
                                         for i in range(3)], media=["input.image"])
    spec_path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["inference"] = {"type": "qa", "prompt": "Repeat the number: {{ input.a }}"}
    spec_path.write_text(yaml.safe_dump(spec))
    img = root / "data" / "img"
    img.mkdir()
    for i in range(3):
        (img / f"q{i}.png").write_bytes(b"picture %d" % i)
    return img


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_media_file_edited_in_place_is_predicted_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading checks media files without reading them; planning hashes the media of the instances it
    plans, by file version: a media file edited in place (same path, same data file) gives its instance
    a new content key and only that instance runs again; an unchanged file is not read again."""

    root = new_project(tmp_path / "p")
    img = _media_task(root)
    # an entry is believed for a file changed two seconds before it was written (FileVersions); these
    # files were just written: believe entries written after the change, so the test needs no sleep
    monkeypatch.setattr(FileVersions, "RACY_NS", 0)
    log = tmp_path / "calls.log"
    echo_model(root, "echo", log=log)
    opened = opened_files(monkeypatch, ".png", names=True)
    assert Workspace(root).run().inference.predicted == 3
    assert sorted(opened) == ["q0.png", "q1.png", "q2.png"]  # hashed once each, when planned
    stored = duckdb.connect(str(root / "target" / "general-bench.duckdb"), read_only=True)
    media = stored.execute("SELECT media FROM instances WHERE instance_id = 'q1'").fetchone()[0]
    stored.close()
    assert json.loads(media) == [{"field": "input.image", "path": "img/q1.png"}]
    opened.clear()
    plan = Workspace(root).plan()
    assert plan.n_todo == 0 and opened == []  # nothing changed: no media file read again
    (img / "q1.png").write_bytes(b"picture 1, retouched")  # the data file and the path stay as they were
    opened.clear()
    plan = Workspace(root).plan()
    assert [(r.instance_id, j.reasons) for j in plan.jobs for r in j.requests] == [
        ("q1", {"prompt, model or settings changed": 1})]
    assert opened == ["q1.png"]
    Workspace(root).run()
    assert log.read_text().split() == ["q0", "q1", "q2", "q1"]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_media_file_swapped_for_a_link_outside_is_refused_before_it_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Media are hashed when planned, so the planner re-checks where each leads first: a media file
    replaced by a link to a file outside the project after the task was loaded leaves the job out, with
    the instance and the path, and the outside file is never opened."""
    root = new_project(tmp_path / "p")
    img = _media_task(root)
    echo_model(root, "echo")
    assert Workspace(root).run().inference.predicted == 3
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not the project's")
    (img / "q1.png").unlink()
    (img / "q1.png").symlink_to(secret)  # the data file unchanged: the task is not loaded again
    opened = opened_files(monkeypatch)
    plan = Workspace(root).plan()
    assert plan.jobs == [] and len(plan.prompt_problems) == 1
    assert re.search(r"instance 'q1'$", plan.prompt_problems[0].problem.where)
    assert re.match(r"media 'img/q1.png' now leads outside the project and its data roots, to '.*secret.png'",
                    plan.prompt_problems[0].problem.message)
    assert not any("secret" in p for p in opened)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_link_loop_on_a_media_path_is_refused_before_anything_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A media path ``loop/../escape/q1.png`` loads while ``loop`` and ``escape`` are folders; swapped
    afterwards for a link to itself and a link outside, a lenient resolution stops at the loop and keeps
    ``escape`` as text (inside the project by its name). The planner refuses the path instead (the job
    is left out): it cannot be resolved."""
    root = new_project(tmp_path / "p")
    img = _media_task(root)
    for sub in ("loop", "escape"):
        (img / sub).mkdir()
    (img / "escape" / "q1.png").write_bytes(b"picture 1")
    data = next((root / "data").glob("*.jsonl"))
    data.write_text(data.read_text().replace("img/q1.png", "img/loop/../escape/q1.png"))
    echo_model(root, "echo")
    assert Workspace(root).run().inference.predicted == 3
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "q1.png").write_bytes(b"SECRET")
    (img / "loop").rmdir()
    (img / "loop").symlink_to(img / "loop")
    shutil.rmtree(img / "escape")
    (img / "escape").symlink_to(outside)
    opened = opened_files(monkeypatch)
    plan = Workspace(root).plan()
    assert plan.jobs == [] and len(plan.prompt_problems) == 1
    assert plan.prompt_problems[0].problem.where.endswith("instance 'q1'")
    assert plan.prompt_problems[0].problem.message.startswith(
        "media 'img/loop/../escape/q1.png' cannot be resolved (a link loop on the way)")
    assert not any("outside" in p for p in opened)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_limit_and_prompt_change_rerun_only_that_task(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    tid = qa_task(root, n=10)
    other = add_task(root, "f1", "text", [(f"w{i}", {"a": f"w{i}"}, [f"w{i}"]) for i in range(4)], suffix="_b")
    spec_path = root / "specs" / "tasks" / "test" / f"{other}.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["inference"] = {"type": "qa", "prompt": "Say: {{ input.a }}"}
    spec_path.write_text(yaml.safe_dump(spec))
    log = tmp_path / "calls.log"
    echo_model(root, "echo", log=log)
    first = Workspace(root).run(limit=3).inference
    assert first.predicted == 6  # 3 per task
    assert Workspace(root).run().inference.predicted == 7 + 1  # the rest: 7 of the first task, 1 of the second
    calls = len(log.read_text().split())
    # a changed prompt re-runs that task only
    main_path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec = yaml.safe_load(main_path.read_text())
    spec["inference"]["prompt"] = "Please repeat the number: {{ input.a }}"
    main_path.write_text(yaml.safe_dump(spec))
    plan = Workspace(root).plan()
    assert {(j.task.id, len(j.requests)) for j in plan.jobs} == {(tid, 10), (other, 0)}
    assert plan.jobs[0].reasons == {"prompt, model or settings changed": 10}
    # a changed metric re-runs no inference (only SQL)
    metric = root / "specs" / "metrics" / "f1.yaml"
    metric.write_text(metric.read_text().replace("title:", "description: changed\ntitle:", 1))
    Workspace(root).run()
    assert len(log.read_text().split()) == calls + 10
    assert Workspace(root).plan().n_todo == 0


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_jobs_json_says_what_is_missing_and_why(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    tid = qa_task(root, n=2)
    echo_model(root, "echo")
    ws = Workspace(root)
    ws.plan()
    jobs = json.loads((root / "target" / "jobs.json").read_text())
    row = next(j for j in jobs["jobs"] if j["task_id"] == tid)
    assert row == {"kind": "predict", "model": "echo", "task_id": tid, "runner": "command", "n_instances": 2,
                   "n_done": 0, "n_todo": 2, "reasons": {"new": 2}, "blocked": None}
    assert sys.executable  # the command runner renders {{ python }} to this interpreter


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_runner_that_cannot_start_fails_its_job_only(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    qa_task(root, n=3)
    model_spec(root, "broken", [{"runner": "command", "args": {"argv": ["no-such-program-glc", "{{ prompt }}"]}}])
    echo_model(root, "echo")
    allow_command(root, ["no-such-program-glc", "{{ prompt }}"])  # allowed, but not installed
    result = Workspace(root).run()
    inf = result.inference
    assert inf.predicted == 3  # the echo model's job ran
    assert [label for label, _ in inf.job_errors] == ["broken · nlp.t_acc"]
    assert "program 'no-such-program-glc' not found" in inf.describe()
    assert Workspace(root).plan().n_todo == 3  # nothing was stored for the broken model: still to do


def test_progress_rate_and_eta_come_from_elapsed_time(monkeypatch) -> None:
    from glc.execute.progress import RichProgress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    now = [100.0]
    with RichProgress(clock=lambda: now[0]) as p:
        p.start(10)
        p.job("m · t", 4)
        now[0] += 0.2
        p.advance(2)  # a batch of two arrives after 0.2 s: 10/s, 0:00 left for the other two
        fields = {t.description.strip(): t.fields for t in p.bars.tasks}
    job = fields["m · t"]
    assert job["rate"] == "10.00/s" and job["eta"] == "ETA 0:00"
    assert fields["all jobs"]["rate"] == "10.00/s" and fields["all jobs"]["eta"] == "ETA 0:00"


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_specs_cannot_start_programs_the_profile_does_not_allow(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    qa_task(root, n=2)
    marker = tmp_path / "ran"
    model_spec(root, "stranger", [{"runner": "command", "args": {
        "argv": ["touch", str(marker)], "version_argv": ["touch", str(marker) + ".v"]}}])
    result = Workspace(root).run()
    assert not marker.exists() and not Path(str(marker) + ".v").exists()
    [(label, err)] = result.inference.job_errors
    assert label == "stranger · nlp.t_acc" and "program not allowed: ['touch'" in err and "profiles.yml" in err
    # the user's own profile can allow it
    allow_command(root, ["touch", str(marker)])
    assert Workspace(root).run().inference.predicted == 2 and marker.exists()
