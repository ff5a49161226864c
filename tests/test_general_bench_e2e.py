"""General-Bench end to end: a download-shaped tree, one data setting, a model, Levels.

The tree comes from ``gb_tree`` (a generator of the General-Bench layout for the catalog's
tasks); models answer through the ``openai`` runner against a scripted local server and through
the ``command`` runner.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from helpers.cli import glc_in_process
from helpers.gb_tree import mp4_bytes, write_tree
from helpers.metric_project import allow_command, model_spec, new_project

from glc.workspace import Workspace


def glc(root: Path, *args: str, data: Path | None = None, process: bool = False) -> subprocess.CompletedProcess[str]:
    """glc with this test's data tree; in this process, or (``process``) as a real ``python -m glc``."""
    extra = ["--data", str(data)] if data is not None else []
    if process:
        return subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(root), "--benchmark",
                               "general-bench", *extra, *args], capture_output=True, text=True,
                              env={**os.environ, "GLC_DATA": ""})
    return glc_in_process("--project-dir", str(root), "--benchmark", "general-bench", *extra, *args,
                          env={**os.environ, "GLC_DATA": ""})


def catalog_names(root: Path) -> list[str]:
    """Names of the typed catalog tasks of a project copy."""
    out = []
    for f in sorted((root / "specs" / "tasks").rglob("*.yaml")):
        spec = yaml.safe_load(f.read_text())
        if spec.get("type"):
            out.append(spec["name"])
    return out


def answer(prompt: str) -> str:
    """What the scripted model says: a plausible answer in the shape the prompt asks for."""
    if "letter of the correct option" in prompt:
        return "The answer is (B)."
    if "JSON list of" in prompt:
        return json.dumps([{"bbox": [2, 2, 20, 20], "label": "object", "score": 0.9}])
    if "number only" in prompt:
        return "3"
    if "separated by commas" in prompt:
        line = next((x for x in prompt.splitlines() if x.startswith("Possible labels:")), "")
        return line.split(":", 1)[-1].split(",")[0].strip() or "none"
    return "a photo of a cat on a table"


class ScriptedServer:
    """An OpenAI-compatible chat server on 127.0.0.1 answering with ``answer``; counts requests."""

    def __init__(self) -> None:
        owner = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                content = body["messages"][-1]["content"]
                prompt = content if isinstance(content, str) else content[0]["text"]
                owner.requests += 1
                reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer(prompt)}}]})
                data = reply.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.close()


# A program that answers text tasks on stdout and writes a small valid file for generation tasks.
MAKER = r"""
import sys, struct, zlib, wave
out, prompt = sys.argv[1], sys.argv[2]
if not out:
    print("a photo of a cat on a table"); sys.exit(0)
if out.endswith(".png"):
    raw = b"".join(b"\x00" + b"\x80\x40\x20" * 16 for _ in range(16))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(out, "wb").write(png)
elif out.endswith(".wav"):
    w = wave.open(out, "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
    w.writeframes(b"\x00\x00" * 1600); w.close()
elif out.endswith(".mp4"):  # a real MJPEG MP4: the frame-label evaluator reads its frames
    import base64
    open(out, "wb").write(base64.b64decode(VIDEO))
else:
    open(out, "w").write("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
                         "property float z\nend_header\n0 0 0\n" if out.endswith(".ply") else "video")
""".replace("VIDEO", repr(base64.b64encode(mp4_bytes(random.Random(0))).decode()))


def command_model(root: Path, name: str = "maker") -> None:
    text = ["{{ python }}", "-c", MAKER, "", "{{ prompt }}"]
    files = ["{{ python }}", "-c", MAKER, "{{ output }}", "{{ prompt }}"]
    for argv in (text, files):
        allow_command(root, argv)
    model_spec(root, name, [
        # the first route gives files: tasks whose output is text skip it (a runner gives what it can)
        {"runner": "command", "args": {"argv": files, "result": "file"}},
        {"runner": "command", "args": {"argv": text, "workers": 2}},
    ])


def openai_model(root: Path, url: str, name: str = "chat") -> None:
    model_spec(root, name, [{"runner": "openai", "args": {"base_url": url, "model": "scripted", "concurrency": 4}}])


@pytest.fixture
def small(tmp_path: Path):
    """A small project (a few catalog tasks per group) and a General-Bench tree for its tasks."""
    root = new_project(tmp_path / "proj")
    tree = tmp_path / "General-Bench-Openset"
    info = write_tree(tree, size="small", per_task=3, tasks=catalog_names(root))
    return root, tree, info


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_every_task_binds_by_name_loose_name_or_alias(small, tmp_path: Path) -> None:
    root, tree, info = small
    folders = {t.name: t.folder for t in info.tasks}
    names = sorted(folders)
    # a folder spelled differently (case, punctuation) still binds; one moved away needs an alias
    loose, aliased, gone = names[0], names[1], names[2]
    (tree / folders[loose]).rename(tree / folders[loose].parent / folders[loose].name.upper().replace("-", "_"))
    moved = folders[aliased].parent / "Renamed-By-The-Authors"
    (tree / folders[aliased]).rename(tree / moved)
    shutil.rmtree(tree / folders[gone])
    (tree / "Image" / "comprehension" / "Some-Unknown-Task").mkdir(parents=True)
    (tree / "Image" / "comprehension" / "Some-Unknown-Task" / "annotation.json").write_text('{"data": []}')
    ws = Workspace(root, benchmark="general-bench")
    by_name = {t.spec.name: t for t in ws.compile(write=False).project.tasks}
    bench = root / "specs" / "benchmarks" / "general-bench.yaml"
    spec = yaml.safe_load(bench.read_text())
    spec["data"]["folder_aliases"] = {by_name[aliased].id: str(moved)}
    bench.write_text(yaml.safe_dump(spec, sort_keys=False))
    res = glc(root, "compile", data=tree)
    assert res.returncode == 0, res.stderr
    project = Workspace(root, benchmark="general-bench")
    os.environ["GLC_DATA"] = str(tree)
    try:
        b = project.compile(write=False).project.binding
    finally:
        del os.environ["GLC_DATA"]
    assert b is not None
    # bound sections are assembled without re-validation: they must equal validated ones
    os.environ["GLC_DATA"] = str(tree)
    try:
        bound = [t for t in project.compile(write=False).project.tasks if t.id in b.bound]
    finally:
        del os.environ["GLC_DATA"]
    for t in bound:
        assert type(t.spec).model_validate(t.spec.model_dump()) == t.spec
    ids = {n: by_name[n].id for n in names}
    assert b.how[ids[loose]] == "loose" and b.how[ids[aliased]] == "alias"
    assert ids[gone] in [t for ts in b.missing.values() for t in ts]
    assert [str(u) for u in b.unmatched] == ["Image/comprehension/Some-Unknown-Task"]
    assert len(b.bound) == len(names) - 1
    # the report names the missing task and the stray folder, per modality
    assert ids[gone] in res.stdout and "Some-Unknown-Task" in res.stdout and "tasks bound" in res.stdout


@pytest.mark.slow  # several glc runs
def test_two_candidate_folders_are_reported_by_every_run(small) -> None:
    """A task whose folder has two loose candidates is not guessed: every ``glc run`` (not only the
    compile) says so, folder names escaped, and exits with status 3 while the task has no data."""
    root, tree, info = small
    task = info.tasks[0]
    folder = tree / task.folder
    upper = folder.parent / task.folder.name.upper().replace("-", "_")
    folder.rename(upper)
    shutil.copytree(upper, folder.parent / ("\x1b" + task.folder.name.lower().replace("-", " ") + "\n"))
    for _ in range(2):
        res = glc(root, "run", data=tree)
        assert res.returncode == 3, res.stdout + res.stderr
        assert "1 data binding problem (the task(s) named have no data this run" in res.stderr, res.stderr
        line = next(x for x in res.stderr.splitlines() if "several folders could be its own" in x)
        assert "\\x1b" in line and line.count("\\x0a") == 1 and "\x1b" not in res.stderr, line
        assert "exit status 3: some tasks could not be bound to their data" in res.stderr


@pytest.mark.slow  # several glc processes
def test_a_task_retyped_by_its_data_to_references_its_metric_cannot_read_is_said_not_scored(
        small, server: ScriptedServer) -> None:
    """A valid file whose header re-types its task (multiple choice -> detection, boxes as references)
    under a metric that reads no boxes: the task runs, its predictions are stored, and the run says
    it is not scored and why, instead of the board counting it as not attempted without a word."""
    root, tree, info = small
    openai_model(root, server.url)
    task = next(t for t in info.tasks if t.type == "multiple_choice")

    def detection(doc):
        doc["type"] = "detection"
        for rec in doc["data"]:
            rec["output"] = {"boxes": [{"bbox": [1, 2, 3, 4], "label": "x"}]}
        return json.dumps(doc)

    _bad(tree, task.folder, detection)
    res = glc(root, "run", data=tree)
    out = res.stdout + res.stderr
    assert "1 task not scored: the task's references are of a kind its metric does not read" in out, out
    line = next(x for x in out.splitlines() if "(type detection from annotation.json)" in x)
    assert line.startswith("  ") and " (reads " in line and ": boxes (type detection" in line, line


@pytest.mark.slow  # several glc processes, a command-runner model making files
def test_a_moved_project_scores_its_generated_files_where_they_are_now(small, tmp_path: Path) -> None:
    """Predictions name their generated files by absolute path under target/media (stored by content).
    Moved to another folder, the project scores the same: its predictions are pointed at its own copy
    of each file (and the run says so), and a task whose data lives inside the project loads its
    instances again from their new place (reference paths are absolute too)."""
    import duckdb

    root, tree, info = small
    inside = root / "data" / "General-Bench-Openset"
    shutil.move(str(tree), str(inside))  # the data inside the project: its reference paths move with it
    command_model(root)
    first = glc(root, "run", data=inside, process=True)
    assert first.returncode in (0, 3), first.stderr

    def scores(where: Path) -> dict:
        con = duckdb.connect(str(where / "target" / "general-bench.duckdb"), read_only=True)
        try:
            return dict(con.execute("SELECT task_id, score FROM task_scores WHERE model = 'maker'").fetchall())
        finally:
            con.close()

    before = scores(root)
    assert any(v for v in before.values()), before
    moved = tmp_path / "elsewhere" / "proj"
    moved.parent.mkdir()
    shutil.move(str(root), str(moved))
    again = glc(moved, "run", data=moved / "data" / "General-Bench-Openset", process=True)
    assert again.returncode == first.returncode, again.stderr
    assert "named generated files by paths that lead nowhere now" in again.stderr, again.stderr
    assert scores(moved) == before
    con = duckdb.connect(str(moved / "target" / "general-bench.duckdb"), read_only=True)
    outputs = [r[0] for r in con.execute("SELECT output FROM predictions WHERE output LIKE '%/media/%'").fetchall()]
    refs = [r[0] for r in con.execute("SELECT ref_texts[1] FROM instances WHERE ref_kind IN "
                                      "('image', 'audio', 'video', 'pointcloud')").fetchall()]
    con.close()
    assert outputs and all(o.startswith(str(moved)) for o in outputs)
    assert refs and all(r.startswith(str(moved)) for r in refs)


def test_ls_tasks_shows_type_and_whether_runnable(small) -> None:
    root, tree, _ = small
    res = glc(root, "ls", "tasks", data=tree)
    assert res.returncode == 0, res.stderr
    head, *rows = res.stdout.splitlines()
    assert {"type", "runnable", "scored", "data"} <= set(head.split())
    typed = [r for r in rows if "multiple_choice" in r]
    assert typed and all("True" in r for r in typed)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_openai_model_end_to_end_on_the_small_tree(small, server: ScriptedServer) -> None:
    root, tree, info = small
    openai_model(root, server.url)
    res = glc(root, "run", "--limit", "2", data=tree)
    assert res.returncode == 0, res.stdout + res.stderr
    ws = Workspace(root, benchmark="general-bench")
    os.environ["GLC_DATA"] = str(tree)
    try:
        project = ws.compile(write=False).project
    finally:
        del os.environ["GLC_DATA"]
    text_tasks = {t.id for t in project.tasks if t.spec.inference is not None and t.spec.inference.output == "text"}
    assert text_tasks
    import duckdb

    con = duckdb.connect(ws.target.path, read_only=True)
    got = dict(con.execute("SELECT task_id, COUNT(*) FROM predictions WHERE model = 'chat' AND error IS NULL "
                           "GROUP BY task_id").fetchall())
    assert set(got) == text_tasks and set(got.values()) == {2}
    assert server.requests == 2 * len(text_tasks)
    scored = dict(con.execute("SELECT task_id, n_scored FROM predicted_scores WHERE model = 'chat'").fetchall())
    assert scored and all(n == 2 for n in scored.values())
    # multiple choice: "The answer is (B)." is read as B and compared with the reference letter; the
    # task's third instance was not run (--limit 2) and counts as wrong, so a score is k/3 for k <= 2
    mc = [t.id for t in project.tasks if t.spec.type == "multiple_choice"]
    values = dict(con.execute("SELECT task_id, score FROM task_scores WHERE model = 'chat'").fetchall())
    assert mc and all(any(abs(values[t] - 100 * k / 3) < 1e-9 for k in range(3)) for t in mc)
    truth = {t.name: t for t in info.tasks}
    hits = sum(1 for t in project.tasks if t.spec.type == "multiple_choice"
               for iid in truth[t.spec.name].ids[:2]
               if json.loads((tree / truth[t.spec.name].folder / "annotation.json").read_text())["data"][
                   truth[t.spec.name].ids.index(iid)]["output"]["answer"] == "B")
    assert abs(sum(values[t] for t in mc) * 3 / 100 - hits) < 1e-9
    level = con.execute("SELECT level FROM level_scores WHERE model = 'chat' AND scope = 'A'").fetchall()
    assert level
    con.close()


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_close_set_runs_but_is_not_scored(tmp_path: Path, server: ScriptedServer) -> None:
    root = new_project(tmp_path / "proj")
    tree = tmp_path / "General-Bench-Closeset"
    write_tree(tree, size="small", per_task=2, close_set=True, tasks=catalog_names(root))
    openai_model(root, server.url)
    res = glc(root, "run", data=tree)
    assert res.returncode == 0, res.stdout + res.stderr
    import duckdb

    con = duckdb.connect(str(Workspace(root, benchmark="general-bench").target.path), read_only=True)
    n_pred = con.execute("SELECT COUNT(*) FROM predictions WHERE model = 'chat' AND error IS NULL").fetchone()[0]
    kinds = {r[0] for r in con.execute("SELECT DISTINCT ref_kind FROM instances").fetchall()}
    n_scored = con.execute("SELECT COUNT(*) FROM predicted_scores WHERE model = 'chat'").fetchone()[0]
    n_tasks = con.execute("SELECT COUNT(DISTINCT task_id) FROM predictions WHERE model = 'chat'").fetchone()[0]
    con.close()
    assert n_pred > 0 and kinds == {"none"} and n_scored == 0
    # the board says why nothing is scored: not "not attempted" alone (every task ran)
    assert f"chat: {n_tasks} of them hold its predictions, but their data has no references (a Close Set)" \
        in res.stdout, res.stdout


def _bad(tree: Path, folder: Path, mutate) -> None:
    f = tree / folder / "annotation.json"
    doc = json.loads(f.read_text())
    f.write_text(mutate(doc) if callable(mutate) else mutate)


@pytest.mark.slow  # several glc processes
def test_bad_annotation_files_sit_out_alone_with_one_located_error_each(small, server: ScriptedServer) -> None:
    root, tree, info = small
    openai_model(root, server.url)
    mc = [t for t in info.tasks if t.type == "multiple_choice"]
    media = [t for t in info.tasks if t.type == "multiple_choice" and t.sheet != "NLP"]
    assert len(mc) >= 4 and media
    first = glc(root, "run", "--limit", "1", data=tree, process=True)
    assert first.returncode == 0, first.stderr

    def dup(doc):
        doc["data"][1]["id"] = doc["data"][0]["id"]
        return json.dumps(doc)

    def unknown_type(doc):
        doc["type"] = "interpretive_dance"
        return json.dumps(doc)

    def bad_ref(doc):
        doc["data"][1]["output"]["answer"] = ["not", "a", "letter"]
        return json.dumps(doc)

    def missing_media(doc):
        rec = doc["data"][2]
        key = next(k for k in ("image", "video", "audio", "pointcloud") if k in rec["input"])
        rec["input"][key] = "images/nowhere.png"
        return json.dumps(doc)

    def deep(doc):  # past Python's recursion limit (orjson reads 1,024 levels, writes 255)
        return json.dumps(doc).replace('"input": {', '"input": {"deep": ' + "[" * 1000 + "]" * 1000 + ", ", 1)

    cases = [(mc[0], "{not json", "bad JSON"), (mc[1], dup, "duplicate instance id"),
             (mc[2], unknown_type, "unknown task type"), (mc[3], bad_ref, "does not fit type 'choice'"),
             (media[-1], missing_media, "missing media file")]
    used = {t.folder for t, _, _ in cases}
    others = [t for t in info.tasks if t.folder not in used]
    cases += [(others[0], deep, "nested too deeply"), (others[1], "dir", "not a regular file"),
              (others[2], "fifo", "not a regular file")]
    for task, mutate, _ in cases:
        if mutate in ("dir", "fifo"):  # a folder or a FIFO where the file was: bound, reported, never read
            f = tree / task.folder / "annotation.json"
            f.unlink()
            f.mkdir() if mutate == "dir" else os.mkfifo(f)
            continue
        _bad(tree, task.folder, mutate)
    res = glc(root, "run", data=tree, process=True)
    assert res.returncode == 3, res.stdout + res.stderr
    for task, _, message in cases:
        lines = [x for x in res.stderr.splitlines() if str(task.folder) in x and "hint:" not in x]
        assert len(lines) == 1 and message in lines[0], (task.folder, res.stderr)
    assert f"{len(cases)} task data file(s) did not load" in res.stderr
    # the instance or field is named where there is one
    assert "instance '" in next(x for x in res.stderr.splitlines() if "duplicate instance id" in x)
    assert "field 'type'" in res.stderr
    # what was stored before for those tasks is still there; the other tasks ran
    import duckdb

    con = duckdb.connect(str(Workspace(root, benchmark="general-bench").target.path), read_only=True)
    have = dict(con.execute("SELECT task_id, COUNT(*) FROM instances GROUP BY task_id").fetchall())
    con.close()
    assert len(have) == len(info.tasks)
    assert all(n == 3 for n in have.values())


@pytest.mark.slow  # several glc processes
def test_a_file_that_stops_loading_runs_nothing_and_its_task_keeps_what_it_rests_on(
        small, server: ScriptedServer) -> None:
    """A file that loaded before and now fails, even one whose header re-types its task (binding reads
    the type from it): no inference runs for the task, so the new type's prompt never replaces the
    predictions made for the old instances, and the task's score stays what the earlier file gave;
    the run says the task rests on the earlier file. A file that holds no instances is an error too,
    not a task emptied without a word."""
    import duckdb

    root, tree, info = small
    openai_model(root, server.url)
    mc = [t for t in info.tasks if t.type == "multiple_choice"]
    assert glc(root, "run", data=tree, process=True).returncode == 0
    target = Workspace(root, benchmark="general-bench").target.path

    def snapshot() -> tuple[list, dict, dict]:
        con = duckdb.connect(target, read_only=True)
        try:
            return (con.execute("SELECT model, task_id, instance_id, content_key, output FROM predictions "
                                "ORDER BY ALL").fetchall(),
                    dict(con.execute("SELECT task_id, score FROM task_scores WHERE model = 'chat'").fetchall()),
                    dict(con.execute("SELECT task_id, count(*) FROM instances GROUP BY ALL").fetchall()))
        finally:
            con.close()

    before = snapshot()

    def retyped(doc):  # the header says numeric; the references are still letters
        doc["type"] = "numeric"
        return json.dumps(doc)

    def emptied(doc):
        doc["data"] = []
        return json.dumps(doc)

    _bad(tree, mc[0].folder, retyped)
    _bad(tree, mc[1].folder, emptied)
    served = server.requests
    res = glc(root, "run", data=tree, process=True)
    assert res.returncode == 3, res.stdout + res.stderr
    assert server.requests == served  # nothing to run: the other tasks were predicted before
    assert "2 task data file(s) did not load (no inference ran for their tasks" in res.stderr
    assert next(x for x in res.stderr.splitlines() if str(mc[1].folder) in x).endswith("the file holds no instances")
    assert "2 of these task(s) keep the instances of their file as it loaded before" in res.stderr, res.stderr
    assert snapshot() == before  # predictions, scores and instances as the earlier files gave them
    compiled = glc(root, "compile", data=tree, process=True)  # the plan leaves them out too
    assert compiled.returncode == 0 and "inference jobs: 0 predictions to run" in compiled.stdout, compiled.stdout


@pytest.mark.slow
def test_all_catalog_tasks_with_two_models_limit_two(tmp_path: Path, server: ScriptedServer) -> None:
    """All 699 tasks bound; every task a model can attempt is predicted, and scored where its metric can."""
    root = new_project(tmp_path / "proj", small=False)
    tree = tmp_path / "gb"
    info = write_tree(tree, size="small", per_task=2)
    assert info.task_count == 699
    openai_model(root, server.url)
    command_model(root)
    res = glc(root, "run", "--limit", "2", data=tree)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "references are of a kind its metric does not read" not in res.stdout + res.stderr  # the catalog's own
    os.environ["GLC_DATA"] = str(tree)
    try:
        ws = Workspace(root, benchmark="general-bench")
        compiled = ws.compile(write=False)
    finally:
        del os.environ["GLC_DATA"]
    project = compiled.project
    assert project.binding is not None and len(project.binding.bound) == 699 and not project.binding.unmatched
    import duckdb

    con = duckdb.connect(str(ws.target.path), read_only=True)
    preds = {(m, t): n for m, t, n in con.execute(
        "SELECT model, task_id, COUNT(*) FROM predictions WHERE error IS NULL GROUP BY ALL").fetchall()}
    scored = {(m, t) for m, t in con.execute(
        "SELECT model, task_id FROM predicted_scores WHERE n_scored > 0").fetchall()}
    con.close()
    gen = {t.id for t in project.tasks if t.spec.inference is not None and t.spec.inference.output != "text"}
    text = {t.id for t in project.tasks if t.spec.inference is not None and t.spec.inference.output == "text"}
    assert len(gen) + len(text) == 699
    # the chat model attempts every text task; the maker every task
    assert {t for (m, t) in preds if m == "chat"} == text
    assert {t for (m, t) in preds if m == "maker"} == text | gen
    assert set(preds.values()) == {2}
    from glc.cli.listing import unscorable_tasks

    # metrics that need an evaluator (FID, CLIP score, GPT score ...) are not scorable here: none is configured
    left_out = unscorable_tasks(compiled, set())
    scorable = {t.id for t in project.tasks if t.id not in left_out}
    assert scorable
    for model, attempted in (("chat", text), ("maker", text | gen)):
        assert {t for (m, t) in scored if m == model} == scorable & attempted
    # PCC of music is glc's chroma correlation: scored with nothing configured; E-Acc's events wait
    # for the event recognizer profiles.yml may configure (tests/test_event_accuracy.py scores them)
    assert ("maker", "audio.popmusicgeneration") in scored
    assert left_out["audio.pianotoorchestrationgeneration"].startswith("needs evaluator:event_recognizer")
    # the submission: every instance of every task predicted, exported in the official layout, and
    # imported into a fresh project (no inference) it gives the same scores
    out = tmp_path / "submission"
    res = glc(root, "export", "predictions", "--format", "general-bench", str(out), "--model", "maker", data=tree)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert len(list(out.rglob("prediction.json"))) == 699 and (tmp_path / "submission.zip").is_file()
    again = new_project(tmp_path / "again", small=False)
    res = glc(again, "import", "predictions", str(out), "--model", "maker", data=tree)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    res = glc(again, "run", "--no-infer", data=tree)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    first, second = ({t: v for t, v in duckdb.connect(str(Workspace(r, benchmark="general-bench").target.path),
                                                     read_only=True).execute(
        "SELECT task_id, score FROM task_scores WHERE model = 'maker'").fetchall()} for r in (root, again))
    assert first.keys() == second.keys() and len(first) > 0
    # a metric may give no score (NULL) for what it cannot score; then on both sides
    assert all((first[t] is None and second[t] is None) or (first[t] is not None and second[t] is not None and
               abs(first[t] - second[t]) <= 1e-9 * max(1.0, abs(first[t]))) for t in first), \
        {t: (first[t], second[t]) for t in first if first[t] != second[t]}


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_the_data_declares_type_and_skill(small) -> None:
    """annotation.json's own type (a declared one) and skill win over the catalog's; both are read
    once per file version (kept under target/ by size and time)."""
    root, tree, info = small
    task = next(t for t in info.tasks if t.type == "multiple_choice" and t.sheet != "NLP")
    f = tree / task.folder / "annotation.json"
    doc = json.loads(f.read_text())
    doc.update(type="short_answer", skill="Visual Riddles")
    f.write_text(json.dumps(doc))
    res = glc(root, "compile", data=tree)
    assert res.returncode == 0, res.stderr
    assert "take their type from annotation.json" in res.stdout and "multiple_choice -> short_answer" in res.stdout
    os.environ["GLC_DATA"] = str(tree)
    try:
        project = Workspace(root, benchmark="general-bench").compile(write=False).project
    finally:
        del os.environ["GLC_DATA"]
    t = next(t for t in project.tasks if t.spec.name == task.name)
    assert t.spec.type == "short_answer" and t.skill == "Visual Riddles"
    assert t.spec.inference.type == "short_answer" and t.spec.dataset.reference == "text"
    assert any(s.name.endswith("-visual-riddles") and t.id in s.task_ids for s in project.scopes)
    # the header cache answers for an unchanged file: edit only the cache and it is believed (by a
    # compile that is not itself read from the compile cache, which holds the bound project)
    cache_file = root / "target" / "data_headers.json"
    cache = json.loads(cache_file.read_text())
    cache[str(f)][-1]["skill"] = "From The Cache"
    cache_file.write_text(json.dumps(cache))

    def skill() -> str | None:
        os.environ["GLC_DATA"] = str(tree)
        os.environ["GLC_NO_COMPILE_CACHE"] = "1"
        try:
            project = Workspace(root, benchmark="general-bench").compile(write=False).project
        finally:
            del os.environ["GLC_DATA"], os.environ["GLC_NO_COMPILE_CACHE"]
        return next(t for t in project.tasks if t.spec.name == task.name).skill

    assert skill() == "From The Cache"
    # a rewrite that keeps the size and the modification time is still seen (its change time moves)
    st = f.stat()
    doc["skill"] = "Visual RiddleZ"
    f.write_text(json.dumps(doc))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    assert skill() == "Visual RiddleZ"


@pytest.mark.slow  # several glc processes
def test_a_data_root_left_empty_says_what_it_removed(small, tmp_path: Path) -> None:
    """A data root that is not mounted (an empty folder) unbinds every task: their instances leave the store.
    That is said, not done silently (the board would only show the tasks as not attempted)."""
    root, tree, info = small
    first = glc(root, "run", data=tree, process=True)
    assert first.returncode == 0, first.stderr
    quick = set((root / "data" / "general-bench" / "quick_tasks.txt").read_text().split())
    spec = next(p for p in sorted((root / "specs" / "tasks").rglob("*.yaml"))  # taken out of the project on purpose
                if yaml.safe_load(p.read_text()).get("id") not in quick and "/test/" not in str(p))
    spec.unlink()
    res = glc(root, "run", data=tree, process=True)
    assert "note: 1 task(s) are no longer in the project" in res.stderr and "check the data root" not in res.stderr
    empty = tmp_path / "unmounted"
    empty.mkdir()
    res = glc(root, "run", data=empty, process=True)
    assert f"note: {len(info.tasks) - 1} task(s) no longer have task data" in res.stderr, res.stderr
    assert "predictions are kept" in res.stderr
    again = glc(root, "run", data=empty, process=True)
    assert "no longer have task data" not in again.stderr  # said once, when it happened
