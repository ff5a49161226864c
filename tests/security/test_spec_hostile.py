"""Specs from strangers: what a spec may do is bounded; everything else needs the user's profiles.yml.

One test per class of the security review: the environment of programs, their arguments, paths
that lead out of the project, endpoints and secrets, YAML alias bombs, invalid text in model
responses, unbounded templates, located errors instead of tracebacks, and the exit status of
a run with failures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import pytest
import yaml
from glc.compiler.errors import GlcError, SpecErrors
from glc.compiler.plan import compile_project
from helpers.cli import glc_in_process
from helpers.metric_project import add_task, allow_command, data_problems, model_spec, new_project, qa_task

from glc.workspace import Workspace

ECHO = "import sys; print(sys.argv[1].split(':')[-1].strip())"


def glc(root: Path, *args: str, process: bool = False) -> subprocess.CompletedProcess[str]:
    """The glc command line, as a user runs it, in project ``root``: main() in this process, or
    (``process``) a real ``python -m glc``."""
    env = {**os.environ, "GLC_BENCHMARK": "general-bench"}
    if not process:
        return glc_in_process(*args, cwd=root, env=env)
    return subprocess.run([sys.executable, "-m", "glc", *args], cwd=root, capture_output=True, text=True,
                          env=env, timeout=600)


# --- 1. the environment of programs ---------------------------------------------------------


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_spec_cannot_set_the_environment_of_programs(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    qa_task(root, n=2)
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    (evil / "mytool").write_text(f"#!/bin/sh\ntouch {marker}\necho 1\n")
    (evil / "mytool").chmod(0o755)
    argv = ["{{ python }}", "-c", ECHO, "{{ prompt }}"]
    allow_command(root, argv)
    allow_command(root, ["mytool", "{{ prompt }}"])
    model_spec(root, "pypath", [{"runner": "command", "args": {"argv": argv, "env": {"PYTHONPATH": str(evil)}}}])
    model_spec(root, "path", [{"runner": "command", "args": {"argv": ["mytool", "{{ prompt }}"],
                                                             "env": {"PATH": f"{evil}:{os.environ['PATH']}"}}}])
    result = Workspace(root).run()
    errors = dict(result.inference.job_errors)
    assert not marker.exists()
    assert "PYTHONPATH, which profiles.yml does not allow" in errors["pypath · nlp.t_acc"]
    assert "command_env:" in errors["path · nlp.t_acc"]
    # even where the user allows PATH, the program is found with the user's PATH, not the spec's
    prof = root / "profiles.yml"
    prof.write_text(prof.read_text().replace("command_env: []", "command_env: [PATH]"))
    result = Workspace(root).run()
    assert not marker.exists()
    assert "program 'mytool' not found" in dict(result.inference.job_errors)["path · nlp.t_acc"]


# --- 2. the arguments of allowed programs ---------------------------------------------------


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_allowed_programs_take_only_the_arguments_the_profile_allows(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    qa_task(root, n=2)
    writer = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text('x'); print(1)"
    allow_command(root, ["{{ python }}", "-c", writer, "*"])
    outside = tmp_path / "overwritten.txt"
    # a different output argument than the profile's pattern: not allowed at all
    model_spec(root, "other", [{"runner": "command", "args": {"argv": ["{{ python }}", "-c", writer, "-o",
                                                                       str(outside)]}}])
    # the free argument ("*") given a path: each instance refused, nothing written
    model_spec(root, "abs", [{"runner": "command", "args": {"argv": ["{{ python }}", "-c", writer, str(outside)]}}])
    model_spec(root, "dots", [{"runner": "command", "args": {"argv": ["{{ python }}", "-c", writer, "../../x.txt"]}}])
    # a plain name is fine, and lands in the project's target folder
    model_spec(root, "plain", [{"runner": "command", "args": {"argv": ["{{ python }}", "-c", writer, "out.txt"]}}])
    blocked = {j.model: j.blocked for j in Workspace(root).plan().jobs}  # known before anything runs
    assert "program not allowed" in blocked["other"] and blocked["plain"] is None
    result = Workspace(root).run()
    inf = result.inference
    assert "program not allowed" in dict(inf.job_errors)["other · nlp.t_acc"]
    failed = {(m, err.split(" (")[0]) for m, _, _, err in inf.failed}
    assert failed == {("abs", "argument 3"), ("dots", "argument 3")}
    assert all("may not name a path" in err for _, _, _, err in inf.failed)
    assert not outside.exists() and not (root.parent / "x.txt").exists()
    assert (root / "target" / "commands" / "out.txt").is_file() and not (root / "out.txt").exists()


# --- 3. files outside the project, endpoints and secrets ------------------------------------


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_data_and_media_paths_stay_inside_the_project_and_its_data_roots(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (outside / "data.jsonl").write_text(json.dumps({"id": "a", "input": "x", "output": "y"}) + "\n")
    tid = add_task(root, "acc", "text", [("a", "x", "y")])
    spec_path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["dataset"]["path"] = str(outside / "data.jsonl")
    spec_path.write_text(yaml.safe_dump(spec))
    text = data_problems(Workspace(root))
    assert "leads outside the project" in text and "data_roots" in text
    # media: '..', absolute paths and symlinks out of the project are refused per instance
    (root / "data" / "link.txt").symlink_to(outside / "secret.txt")
    for i, media in enumerate(["../../private/secret.txt", str(outside / "secret.txt"), "link.txt"]):
        (root / "data" / f"{tid}.jsonl").write_text(json.dumps({"id": f"m{i}", "input": "x", "output": "y",
                                                                "file": media}) + "\n")
        spec.update(dataset={**spec["dataset"], "path": f"data/{tid}.jsonl", "media": ["file"]})
        spec_path.write_text(yaml.safe_dump(spec))
        text = data_problems(Workspace(root))
        assert f"instance 'm{i}': media field 'file'" in text, media
        assert "leads outside the project" in text
    # the user's profile can grant the folder
    prof = root / "profiles.yml"
    prof.write_text(prof.read_text().replace("data_roots: []", f"data_roots: [{json.dumps(str(outside))}]"))
    assert data_problems(Workspace(root)) == ""


class _Recorder(BaseHTTPRequestHandler):
    """A loopback chat server that records what reaches it and answers with the prompt's number,
    or with a lone surrogate where the prompt says 'surrogate'."""

    seen: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        type(self).seen.append({"auth": self.headers.get("Authorization"), "prompt": prompt})
        answer = "\ud800 bad" if "7" in prompt else prompt.split(":")[-1].strip()
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def recorder() -> Any:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", _Recorder.seen
    server.shutdown()
    server.server_close()


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_endpoints_and_api_keys_are_granted_by_the_profile(tmp_path: Path, recorder: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    base_url, seen = recorder
    monkeypatch.setenv("GLC_TEST_PRIVATE_TOKEN", "s3cret")
    root = new_project(tmp_path / "p")
    qa_task(root, n=2)
    model_spec(root, "far", [{"runner": "openai", "args": {"base_url": "https://collector.invalid/v1",
                                                            "model": "m"}}])
    model_spec(root, "key", [{"runner": "openai", "args": {"base_url": base_url, "model": "m",
                                                            "api_key_env": "GLC_TEST_PRIVATE_TOKEN"}}])
    result = Workspace(root).run()
    errors = dict(result.inference.job_errors)
    assert "endpoint https://collector.invalid/v1 is not allowed" in errors["far · nlp.t_acc"]
    assert "$GLC_TEST_PRIVATE_TOKEN" in errors["key · nlp.t_acc"] and "s3cret" not in errors["key · nlp.t_acc"]
    assert seen == []  # nothing was sent anywhere
    # the user grants the key to this endpoint: now it is sent there
    prof = root / "profiles.yml"
    port = base_url.split(":")[2].split("/")[0]
    grant = f"  - {{url: 'http://127.0.0.1:{port}/v1', api_key_env: GLC_TEST_PRIVATE_TOKEN}}\n"
    prof.write_text(prof.read_text().replace("endpoints:\n", "endpoints:\n" + grant))
    assert Workspace(root).run().inference.predicted == 2
    assert {s["auth"] for s in seen} == {"Bearer s3cret"}


# --- 4. YAML alias bombs --------------------------------------------------------------------


@pytest.mark.timeout(120)  # a hang guard: it took 75 s and 5.6 GB, then a traceback, before the node limit
def test_a_yaml_alias_bomb_is_refused_at_its_line(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    lines = ["id: nlp.bomb", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        prev = name
    (root / "specs" / "tasks" / "test" / "bomb.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(SpecErrors) as info:
        compile_project(root)
    text = str(info.value)
    assert "specs/tasks/test/bomb.yaml:7: invalid YAML: aliases expand the document past 100,000 nodes" in text


# --- 5. invalid text in model responses -----------------------------------------------------


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_lone_surrogate_in_a_response_fails_that_instance_and_later_runs_work(tmp_path: Path,
                                                                               recorder: Any) -> None:
    base_url, _ = recorder
    root = new_project(tmp_path / "p")
    tid = qa_task(root, n=9)
    model_spec(root, "m", [{"runner": "openai", "args": {"base_url": base_url, "model": "m", "max_retries": 0}}])
    result = Workspace(root).run()
    assert result.inference.predicted == 9
    [(model, task, inst, err)] = result.inference.failed
    assert (model, task, inst) == ("m", tid, "q7") and "lone surrogate U+D800" in err
    again = Workspace(root).run()  # the store holds no invalid text: later builds work
    assert again.inference.predicted == 0
    con = duckdb.connect(str(root / "target" / "general-bench.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM predictions WHERE output IS NOT NULL").fetchone()[0] == 8
    con.close()


# --- 6. unbounded templates -----------------------------------------------------------------


@pytest.mark.parametrize("prompt, message", [
    ("{{ 7 ** 300000000 }}", "'**' would produce a number of about"),
    ("{{ input.a * 3000000 }}", "'*' would produce 3,000,000 characters"),
    ("{{ input.a | center(10000000000) }}", "center would produce"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "ran longer than 2 s"),
    ("{% for i in range(100000) %}{{ input.a * 100 }}{% endfor %}", "output passed 1,000,000 characters"),
])
@pytest.mark.timeout(60)  # a hang guard: the template's own deadline is 2 s
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_prompt_templates_are_bounded_in_work_memory_and_time(tmp_path: Path, prompt: str, message: str) -> None:
    root = new_project(tmp_path / "p")
    qa_task(root, n=1, prompt=prompt)
    model_spec(root, "m", [{"runner": "command", "args": {"argv": ["{{ python }}", "-c", ECHO, "{{ prompt }}"]}}])
    ws = Workspace(root)
    plan = ws.plan()
    [failure] = plan.prompt_problems  # that job is left out, named; planning goes on
    assert (failure.model, failure.task_id, plan.jobs) == ("m", "nlp.t_acc", [])
    assert failure.problem.where.endswith("nlp.t_acc.jsonl instance 'q0'"), failure.problem.where
    assert "the prompt template fails on this instance" in failure.problem.message
    assert message in failure.problem.message


def _yaml_edit(path: Path, **fields: Any) -> None:
    spec = yaml.safe_load(path.read_text())
    spec.update(fields)
    path.write_text(yaml.safe_dump(spec))


@pytest.mark.slow  # runs two tasks through a command runner (several seconds)
def test_a_prompt_failing_on_one_record_leaves_out_that_task_and_the_others_run(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    prompt = "Add one: {{ input.a + 1 }}"
    ok = add_task(root, "acc", "text", [(f"q{i}", {"a": i}, [str(i + 1)]) for i in range(3)])
    bad = add_task(root, "acc", "text", [("r0", {"a": 1}, ["2"]), ("r1", {"a": "one"}, ["2"])], suffix="_bad")
    for tid in (ok, bad):
        _yaml_edit(root / "specs" / "tasks" / "test" / f"{tid}.yaml", inference={"type": "qa", "prompt": prompt})
    argv = ["{{ python }}", "-c", ECHO, "{{ prompt }}"]
    allow_command(root, argv)
    model_spec(root, "m", [{"runner": "command", "args": {"argv": argv}}])
    db = root / "target" / "general-bench.duckdb"
    out = glc(root, "run")
    assert out.returncode == 3, out.stderr  # the run goes on and says it is incomplete
    assert "1 job left out: a prompt or a media path fails on an instance of the task" in out.stderr, out.stderr
    assert f"{bad}.jsonl instance 'r1': task '{bad}', model 'm'" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute("SELECT task_id, count(*) FROM predictions GROUP BY ALL ORDER BY 1").fetchall()
    con.close()
    assert got == [(ok, 3)]  # the good task ran in full; nothing of the bad one was asked
    jobs = json.loads((root / "target" / "jobs.json").read_text())["jobs"]
    assert [(j["kind"], j["task_id"]) for j in jobs if j["kind"] == "prompt fails"] == [("prompt fails", bad)]
    results = json.loads(next((root / "target" / "runs").glob("*/results.json")).read_text())
    assert [(f["model"], f["task_id"]) for f in results["prompt_failures"]] == [("m", bad)]
    # the record fixed: that task runs, the other is up to date
    data = root / "data" / f"{bad}.jsonl"
    data.write_text(data.read_text().replace('"one"', "1"))
    again = glc(root, "run")
    assert again.returncode == 0, again.stderr
    assert "left out" not in again.stderr
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM predictions WHERE task_id = ?", [bad]).fetchone()[0] == 2
    con.close()


@pytest.mark.timeout(120)
@pytest.mark.slow  # waits out two 2 s deadlines
def test_a_prompt_that_runs_out_of_time_waits_twice_not_once_per_task(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    slow = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    tids = [add_task(root, "acc", "text", [("q0", {"a": 1}, ["1"])], suffix=f"_{k}") for k in range(4)]
    for tid in tids:
        _yaml_edit(root / "specs" / "tasks" / "test" / f"{tid}.yaml", inference={"type": "qa", "prompt": slow})
    model_spec(root, "m", [{"runner": "command", "args": {"argv": ["{{ python }}", "-c", ECHO, "{{ prompt }}"]}}])
    plan = Workspace(root).plan()
    messages = sorted(f.problem.message for f in plan.prompt_problems)
    assert len(messages) == 4 and plan.jobs == []
    timed = [m for m in messages if "ran longer than 2 s" in m]
    assert len(timed) == 2, messages  # after two tasks it is the template's: the others are told, without a wait
    assert sum("the same template ran past its time limit on tasks" in m for m in messages) == 2, messages


# --- 12. located errors, never a traceback --------------------------------------------------


def test_prompt_syntax_errors_and_unknown_filters_are_spec_errors(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    qa_task(root, n=1, prompt="{{ input.a | no_such_filter }}")
    add_task(root, "acc", "text", [("a", "x", "y")], suffix="2")
    path = root / "specs" / "tasks" / "test" / "nlp.t_acc2.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["inference"] = {"type": "qa", "prompt": "{% for x in %}"}
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecErrors) as info:
        compile_project(root)
    text = str(info.value)
    assert "specs/tasks/test/nlp.t_acc.yaml" in text and "unknown filter 'no_such_filter'" in text
    assert "specs/tasks/test/nlp.t_acc2.yaml" in text and "template syntax error at line 1" in text


def test_a_prompt_cannot_be_random(tmp_path: Path) -> None:
    """A prompt is part of its prediction's content key: the sandbox has no random filter (a spec error
    at its line) and no lipsum, so the same inputs always render the same prompt."""
    from glc.compiler.sandbox import shared_sandbox

    root = new_project(tmp_path / "p")
    qa_task(root, n=1, prompt="{{ input.a }} {{ [1, 2, 3] | random }}")
    with pytest.raises(SpecErrors, match="unknown filter 'random'"):
        compile_project(root)
    env = shared_sandbox()
    with pytest.raises(jinja2.UndefinedError, match="lipsum"):
        env.render(env.from_string("{{ lipsum(1) }}"), {})
    assert env.render(env.from_string("{{ [3, 1, 2] | sort | join(',') }}"), {}) == "1,2,3"


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_ragged_csv_dataset_is_a_located_error(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    tid = add_task(root, "acc", "text", [("a", "x", "y")])
    (root / "data" / "ragged.csv").write_text("id,input,output\na,x,y\nb,x,y,z,w\n")
    path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["dataset"].update(format="csv", path="data/ragged.csv")
    path.write_text(yaml.safe_dump(spec))
    done = glc(root, "run")  # the task sits out with a located error; the others run (exit status 3)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert "ragged.csv:3: row has 5 fields, the header has 3" in done.stderr, done.stderr
    # a row short of its reference was read as one without it (polars fills the cells it lacks)
    (root / "data" / "ragged.csv").write_text("id,input,output\na,x,y\nb,x\n")
    done = glc(root, "run")
    assert done.returncode == 3 and "ragged.csv:3: row has 2 fields, the header has 3" in done.stderr, done.stderr


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_a_damaged_database_file_is_a_located_error(tmp_path: Path, damage: str) -> None:
    root = new_project(tmp_path / "p")
    db = root / "target" / "general-bench.duckdb"
    db.parent.mkdir(parents=True)
    if damage == "truncated":
        con = duckdb.connect(str(db))
        con.execute("CREATE TABLE x AS SELECT range AS i FROM range(200000)")
        con.close()
        size = db.stat().st_size
        with db.open("r+b") as fh:
            fh.truncate(size // 2)
    else:
        db.write_bytes(b"" if damage == "empty" else b"not a database" * 100)
    done = glc(root, "run")
    assert done.returncode == 2 and "Traceback" not in done.stderr + done.stdout
    assert str(db) in done.stderr and "damaged" in done.stderr and "another glc process" not in done.stderr


# --- 14. a run with failures says so in its exit status -------------------------------------


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_glc_run_exits_3_when_instances_failed(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    qa_task(root, n=3)
    code = "import sys; sys.exit('cannot') if sys.argv[1] == 'q1' else print(1)"
    argv = ["{{ python }}", "-c", code, "{{ instance_id }}"]
    allow_command(root, argv)
    model_spec(root, "m", [{"runner": "command", "args": {"argv": argv}}])
    done = glc(root, "run", process=True)  # the exit status of a real process
    assert done.returncode == 3, done.stderr
    assert "1 instance(s) and 0 job(s) failed" in done.stderr and "--retry-failed" in done.stderr
    assert "Traceback" not in done.stderr


# --- found by review: bounds that were slipped, and SQL that read files ---------------------


@pytest.mark.parametrize("template, message", [
    ('{{ (["a" * 1000000] * 300) | join | length }}', "join would produce"),
    ('{{ "".join(["a" * 1000000] * 300) | length }}', "str.join would produce"),
    ('{{ ("%(a)999999d" * 300) % {"a": 1} }}', "'%' formatting would produce"),
    ('{{ ("{0:999999}" * 300).format(1) }}', "str.format would produce"),
    ('{{ "%s" % (["a" * 1000000] * 300) }}', "'%' formatting would produce"),
    ('{{ (["a" * 1000000] * 300) | tojson | length }}', "tojson would produce"),
    ('{{ ([["a"] * 100000] * 200) | sum(start=[]) | length }}', "only numbers may be summed"),
    # Jinja's `is sequence` swallows Exception: the deadline must still end the render
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% if nope is sequence %}x{% endif %}"
     "{% endfor %}{% endfor %}", "ran longer than 2 s"),
])
@pytest.mark.timeout(30)  # a hang guard: the sandbox's deadline is 2 s
def test_sandbox_bounds_hold_for_joins_formats_sums_and_swallowing_tests(template: str, message: str) -> None:
    from glc.compiler.sandbox import TemplateBudgetError, shared_sandbox

    env = shared_sandbox()
    with pytest.raises(TemplateBudgetError) as info:
        env.render(env.from_string(template), {})
    assert message in str(info.value)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_sql_models_cannot_read_files(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    (root / "sql" / "models" / "leak.sql").write_text("SELECT content AS leaked FROM read_text('/etc/hostname')\n")
    done = glc(root, "run")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "file system operations are disabled" in done.stderr


@pytest.mark.parametrize("value", ["-C..", "--directory=..", "@list", "file:x", ".hidden", "a/b", "..", "~"])
def test_free_arguments_are_plain_words(value: str) -> None:
    from glc.runners.command import _path_like

    assert _path_like(value)
    assert not _path_like("slt") and not _path_like("2") and not _path_like("bicubic")


@pytest.mark.parametrize("url", ["https://api.example.com/v1/%2e%2e/admin", "https://api.example.com/v1/..;/admin",
                                 "https://api.example.com/v1/%2E%2E%2Fadmin", "https://api.example.com/v1\\..\\x"])
def test_endpoint_paths_cannot_climb_out_by_encoding(url: str) -> None:
    from glc.profiles import Endpoint

    allowed = Endpoint.parse("https://api.example.com/v1", None)
    assert allowed.allows("https://api.example.com/v1/chat") and not allowed.allows(url)


@pytest.mark.parametrize("text, message", [
    (b"a: &a\n  b: *a\n", "recursive alias"),
    (b"id: x\x00\n", "NUL bytes"),
])
def test_recursive_aliases_and_nul_bytes_are_refused(tmp_path: Path, text: bytes, message: str) -> None:
    from glc.compiler.yaml_source import YamlSyntaxError, load_yaml

    path = tmp_path / "spec.yaml"
    path.write_bytes(text)
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml(path)
    assert message in info.value.message


def test_a_failing_sql_template_is_a_located_error(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    (root / "sql" / "models" / "odd.sql").write_text("SELECT {{ 1 + 'a' }} AS x\n")
    with pytest.raises(GlcError) as info:
        compile_project(root)
    assert "sql/models/odd.sql" in info.value.format() and "TypeError" in info.value.format()


def test_a_sql_template_that_runs_out_of_memory_is_a_located_error(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox bounds what a template makes, not what it holds while it runs (a loop keeping copies of
    long texts within the deadline): a MemoryError while rendering one was an 'internal error'. It is the
    template's fault and is said so, with its file. (The memory is not exhausted here: the render of
    that one template raises as it would.)"""
    from glc.compiler.sandbox import BoundedSandbox

    root = new_project(tmp_path / "p")
    (root / "sql" / "models" / "greedy.sql").write_text("SELECT 1 AS x\n")
    real = BoundedSandbox.render

    def render(self: BoundedSandbox, template: jinja2.Template, context: dict[str, Any]) -> str:
        if (template.name or "").endswith("greedy.sql"):
            raise MemoryError
        return real(self, template, context)

    monkeypatch.setattr(BoundedSandbox, "render", render)
    with pytest.raises(GlcError) as info:
        compile_project(root)
    assert "sql/models/greedy.sql" in info.value.format() and "ran out of memory" in info.value.format()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1@evil.example:8000/v1",  # userinfo that looks like the granted host
    "http://evil.example#@127.0.0.1:8000/v1", "http://evil.example\\@127.0.0.1:8000/v1",
    "http://127.0.0.1:8000@evil.example/v1", "http://127.0.0.1:8000:9000/v1",
    "http://127.0.0.1.:8000/v1",  # a trailing dot
    "http://2130706433:8000/v1", "http://0x7f000001:8000/v1", "http://127.1:8000/v1", "http://0177.0.0.1:8000/v1",
    "http://[::ffff:127.0.0.1]:8000/v1", "http://[127.0.0.1]:8000/v1", "http://localhost:8000/v1",  # other spellings
    "http://１２７.０.０.１:8000/v1",  # full-width digits, which IDNA maps to ASCII
    "https://api.example.com.evil.example/v1", "https://api.example.com:444/v1", "https://api.example.com/v10",
    "http://api.example.com/v1",  # the key in clear text
    "https://user:pass@api.example.com/v1", "https://api.example.com./v1",
])
def test_endpoint_hosts_are_matched_as_written(url: str) -> None:
    """Granted: any port on 127.0.0.1 (no key) and https://api.example.com/v1 (with its key). Another
    spelling of a granted host is another host here: refused, never resolved to the same address."""
    from glc.profiles import Endpoint, Grants

    grants = Grants(Path("/nonexistent"), endpoints=(Endpoint.parse("http://127.0.0.1:*", None),
                                                     Endpoint.parse("https://api.example.com/v1", "EXAMPLE_KEY")))
    assert grants.endpoint_problem("http://127.0.0.1:8000/v1", None) is None
    assert grants.endpoint_problem("https://API.example.com:443/v1/", "EXAMPLE_KEY") is None
    assert grants.endpoint_problem("http://127.0.0.1:8000/v1", "EXAMPLE_KEY") is not None  # not its key
    assert grants.endpoint_problem(url, None) is not None and grants.endpoint_problem(url, "EXAMPLE_KEY") is not None


@pytest.mark.parametrize("url, allowed", [
    ("http://[::1]:8000/v1/chat/completions", True), ("http://[::1]:8000", False),  # outside /v1
    ("http://[::1]:8001/v1", False),
    ("http://[::2]:8000/v1", False), ("http://127.0.0.1:8000/v1", False), ("https://[::1]:8000/v1", False),
    ("http://[0:0:0:0:0:0:0:1]:8000/v1", False),  # another spelling: hosts are matched as written
])
def test_an_ipv6_endpoint_is_granted_by_its_address(url: str, allowed: bool) -> None:
    """profiles.yml may grant an IPv6 endpoint (http://[::1]:8000/v1): its address was read with the port
    and brackets ('[::1]:8000', port 80), so no request ever matched it. It fails closed, but a served
    model on an IPv6 loopback could not be used at all."""
    from glc.profiles import Endpoint

    assert Endpoint.parse("http://[::1]:8000/v1", None).allows(url) is allowed
    assert Endpoint.parse("http://[::1]:*", None).allows("http://[::1]:9/v1")
