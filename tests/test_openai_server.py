"""The openai runner against a real OpenAI-compatible server process on loopback: `glc serve`
serving SmolLM2-135M-Instruct (transformers), started by the test."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
import yaml
from helpers.metric_project import mini_project

from glc.workspace import Workspace


@pytest.fixture(scope="module")
def server():
    proc = subprocess.Popen([sys.executable, "-m", "glc", "serve", "--model", "smollm2-135m-instruct",
                             "--port", "0", "--max-batch", "4"], stderr=subprocess.PIPE, text=True)
    url = None
    deadline = time.time() + 180
    while time.time() < deadline and url is None:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        m = re.search(r"on (http://127\.0\.0\.1:\d+/v1)", line)
        url = m.group(1) if m else None
    assert url, "glc serve did not start"
    yield url
    proc.terminate()
    proc.wait(10)


def test_server_speaks_the_openai_protocol(server) -> None:
    models = httpx.get(server + "/models").json()
    assert models["data"][0]["id"] == "smollm2-135m-instruct"
    r = httpx.post(server + "/chat/completions", timeout=60, json={
        "model": "smollm2-135m-instruct", "max_tokens": 8, "temperature": 0,
        "messages": [{"role": "user", "content": "What is the capital of France? One word."}]})
    body = r.json()
    assert r.status_code == 200 and body["object"] == "chat.completion"
    assert "paris" in body["choices"][0]["message"]["content"].lower()
    bad = httpx.post(server + "/chat/completions", json={"model": "x", "messages": []})
    assert bad.status_code == 400 and "messages" in bad.json()["error"]["message"]


def test_openai_runner_runs_a_task_through_the_server(server, tmp_path: Path) -> None:
    root = mini_project(tmp_path / "p")
    (root / "specs" / "models" / "via-server.yaml").write_text(yaml.safe_dump({
        "name": "via-server", "revision": "1",
        "routes": [{"match": {"type": ["text_classification"]}, "runner": "openai",
                    "args": {"base_url": server, "model": "smollm2-135m-instruct", "concurrency": 4}}]}))
    ws = Workspace(root, benchmark="mini")
    result = ws.run(select=["model:via-server", "task:mini.nlp.sentiment"], limit=6)
    assert result.inference.predicted == 6 and result.inference.failed == []
    con = duckdb.connect(ws.target.path, read_only=True)
    rows = con.execute("SELECT instance_id, output, backend, latency_ms FROM predictions "
                       "WHERE model = 'via-server' ORDER BY instance_id").fetchall()
    score = con.execute("SELECT n_instances, n_scored FROM task_scores WHERE model = 'via-server'").fetchone()
    con.close()
    assert [r[0] for r in rows] == ["s01", "s02", "s03", "s04", "s05", "s06"]
    assert all(r[1] and r[2] == "openai" and r[3] > 0 for r in rows)
    assert score == (16, 6)  # every instance counts; the six predicted are scored
