"""The openai runner over several servers of one model (``base_urls``): spread, failover, identity."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from glc.compiler.errors import SpecErrors
from glc.runners.base import Request
from glc.runners.openai import OpenAIArgs, OpenAIRunner
from helpers.metric_project import model_spec, new_project, qa_task

from glc.workspace import Workspace


class EchoServer:
    """A chat server answering with the prompt's last word after ``delay_s``; counts what it served.
    After ``die()`` it answers nothing: a request on an open connection has the connection closed
    under it, and the listening socket is closed (a new connection is refused), as when its process
    is killed."""

    def __init__(self, delay_s: float = 0.0) -> None:
        owner = self
        self.served = 0
        self.lock = threading.Lock()
        self.dead = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                if owner.dead.is_set():
                    self.close_connection = True  # no answer: the client reads a closed connection
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(delay_s)
                content = body["messages"][-1]["content"]
                with owner.lock:  # dying while this request slept: it gets no answer either
                    if owner.dead.is_set():
                        self.close_connection = True
                        return
                    owner.served += 1
                data = json.dumps({"choices": [{"message": {"content": content.split()[-1]}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def die(self) -> None:
        with self.lock:  # after this, no request is counted or answered
            self.dead.set()
        self.stop()


def free_url() -> str:
    """A loopback address nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def requests(n: int) -> list[Request]:
    return [Request(key=str(i), instance_id=str(i), prompt=f"say {i}") for i in range(n)]


def test_one_or_several_servers_not_both() -> None:
    with pytest.raises(ValueError, match="base_url .* or base_urls"):
        OpenAIArgs(model="m")
    with pytest.raises(ValueError, match="not both"):
        OpenAIArgs(model="m", base_url="http://127.0.0.1:1/v1", base_urls=["http://127.0.0.1:2/v1"])
    assert OpenAIArgs(model="m", base_urls=["http://a:1/v1", "http://b:2/v1"]).urls == ["http://a:1/v1",
                                                                                       "http://b:2/v1"]


def test_requests_spread_over_the_servers_by_what_is_in_flight() -> None:
    a, b = EchoServer(0.02), EchoServer(0.02)
    try:
        runner = OpenAIRunner(OpenAIArgs(model="m", base_urls=[a.url, b.url], concurrency=2), Path("."))
        out = {r.instance_id: res for r, res in runner.run(requests(40))}
        runner.close()
    finally:
        a.stop()
        b.stop()
    assert all(res.error is None and res.output == iid for iid, res in out.items())
    assert a.served + b.served == 40 and min(a.served, b.served) >= 12  # both carry a real share


def serve_process(latency_ms: float) -> tuple[subprocess.Popen, str]:
    """A real `glc serve --echo` server process (to be killed, not shut down politely)."""
    proc = subprocess.Popen([sys.executable, "-m", "glc", "serve", "--echo", "--latency-ms", str(latency_ms),
                             "--port", "0"], stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline() if proc.stderr else ""
    m = re.search(r"on (http://\S+/v1)", line)
    assert m, line
    return proc, m.group(1)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_server_that_is_down_or_dies_mid_run_loses_no_instance() -> None:
    """The fast tier's counterpart of the test below: the dying server is one in this process that stops
    answering mid-run (open connections closed without an answer, new ones refused)."""
    up, dying = EchoServer(0.01), EchoServer(0.01)
    try:
        runner = OpenAIRunner(OpenAIArgs(model="echo", base_urls=[free_url(), up.url, dying.url], concurrency=2,
                                         max_retries=1, backoff_s=0.01), Path("."))
        got = []
        for i, (req, res) in enumerate(runner.run(requests(60))):
            got.append((req.prompt, res))
            if i == 15:
                dying.die()  # its requests move to the server that is left
                served = dying.served  # what it answered before it died
        runner.close()
    finally:
        up.stop()
    assert len(got) == 60 and served > 0 and dying.served == served  # it served before, nothing after
    assert all(res.error is None and res.output and res.output in prompt for prompt, res in got), \
        [res.error for _, res in got if res.error][:3]


@pytest.mark.slow  # several glc processes (two `glc serve`, one killed with SIGKILL)
def test_a_server_that_is_down_or_dies_loses_no_instance() -> None:
    up, dying = serve_process(10), serve_process(10)
    try:
        runner = OpenAIRunner(OpenAIArgs(model="echo", base_urls=[free_url(), up[1], dying[1]], concurrency=2,
                                         max_retries=1, backoff_s=0.01), Path("."))
        got = []
        for i, (req, res) in enumerate(runner.run(requests(60))):
            got.append((req.prompt, res))
            if i == 15:
                dying[0].kill()  # killed mid-run: its requests move to the server that is left
                dying[0].wait()
        runner.close()
    finally:
        for proc, _ in (up, dying):
            proc.kill()
            proc.wait()
    assert len(got) == 60
    assert all(res.error is None and res.output and res.output in prompt for prompt, res in got), \
        [res.error for _, res in got if res.error][:3]


def test_every_server_down_fails_fast_with_the_reason() -> None:
    runner = OpenAIRunner(OpenAIArgs(model="m", base_urls=[free_url(), free_url()], max_retries=1,
                                     backoff_s=0.01), Path("."))
    results = [res for _, res in runner.run(requests(6))]
    runner.close()
    assert all(res.output is None for res in results)
    assert any("cannot reach" in (res.error or "") or "unreachable" in (res.error or "") for res in results)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_adding_a_server_to_the_fleet_reruns_nothing_and_each_server_needs_a_grant(tmp_path: Path) -> None:
    a, b = EchoServer(), EchoServer()
    try:
        root = new_project(tmp_path / "p")
        qa_task(root, n=4, prompt="say {{ input.a }}")
        model_spec(root, "fleet", [{"runner": "openai", "args": {"model": "m", "base_urls": [a.url]}}])
        Workspace(root).run()
        model_spec(root, "fleet", [{"runner": "openai", "args": {"model": "m", "base_urls": [a.url, b.url]}}])
        plan = Workspace(root).plan()
        assert sum(len(j.requests) for j in plan.jobs) == 0  # the same model behind one more server
        # a server the profile does not allow blocks the route's jobs that have something to send; with
        # nothing to run, nothing is sent (and the plan loads no runner to ask)
        model_spec(root, "fleet", [{"runner": "openai", "args": {"model": "m",
                                                                  "base_urls": [a.url, "http://example.com/v1"]}}])
        plan = Workspace(root).plan()
        assert plan.jobs and all(not j.requests and j.blocked is None for j in plan.jobs)
        qa_task(root, n=4, prompt="tell {{ input.a }}")
        plan = Workspace(root).plan()
        assert plan.jobs and all(len(j.requests) == 4 and j.blocked and "example.com" in j.blocked for j in plan.jobs)
        # both keys at once is a spec error naming the runner arg
        model_spec(root, "fleet", [{"runner": "openai", "args": {"model": "m", "base_url": a.url,
                                                                  "base_urls": [b.url]}}])
        with pytest.raises(SpecErrors, match="not both"):
            Workspace(root).compile(write=False)
    finally:
        a.stop()
        b.stop()
