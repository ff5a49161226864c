"""A scripted hostile OpenAI-compatible server on 127.0.0.1, for the openai runner's tests and for
benchmark scripts that replay hostile answers.

    srv = start("trickle_body", match="hostile")   # prompts containing "hostile" get the behaviour
    srv.base_url                                   # http://127.0.0.1:PORT/v1
    srv.calls                                      # requests seen, per prompt
    srv.stop()                                     # also ends trickles in progress

or ``with start("deep_json") as srv: ...``. Requests whose prompt does not contain ``match`` (all
do when it is empty) get a normal answer, ``answer to <prompt>``. A name may carry one argument
after a colon, e.g. ``retry_after:nan`` or ``trickle_body:30``. ``BEHAVIOURS`` lists them all.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BEHAVIOURS = {
    "ok": "a normal chat completion",
    "trickle_body": "headers at once, then the body one byte a second (for ARG s, default 30)",
    "trickle_headers": "the status line and headers one byte a second (for ARG s, default 30)",
    "stall": "reads the request, never answers (for ARG s, default 30)",
    "retry_after": "HTTP 429 with Retry-After: ARG (default 3600), every time",
    "deep_json": "HTTP 200 whose body is ARG (default 100000) nested JSON arrays",
    "redirect": "HTTP 302 to ARG (default http://127.0.0.1:9/v1/chat/completions)",
    "huge": "HTTP 200 declaring and sending ARG MiB (default 64)",
    "huge_undeclared": "HTTP 200, chunked, ARG MiB (default 64) with no Content-Length",
    "surrogate": "HTTP 200 whose answer holds a lone surrogate (the JSON escape \\ud800)",
    "gzip_bomb": "HTTP 200, Content-Encoding: gzip, ARG MiB (default 64) of spaces in about a thousandth of that",
    "encoded": "HTTP 200, a normal answer in Content-Encoding ARG (gzip, deflate, raw-deflate; others sent as is)",
    "error_body": "HTTP 400 whose body is ARG (escape sequences and all)",
    "echo_auth": "HTTP 200 whose answer quotes the Authorization header it was sent",
}


def compressed(data: bytes | None, encoding: str, mib: int = 0) -> bytes:
    """``data`` (or ``mib`` MiB of spaces, compressed a MiB at a time) in ``encoding``: gzip, deflate (the
    zlib format) or raw-deflate."""
    wbits = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS, "raw-deflate": -zlib.MAX_WBITS}[encoding]
    z = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts = [z.compress(data)] if data is not None else [z.compress(b" " * (1 << 20)) for _ in range(mib)]
    return b"".join([*parts, z.flush()])


def completion(content: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()


class HostileServer:
    """One server thread on a free loopback port; handler threads are daemons and stop with ``stop``."""

    def __init__(self, behaviour: str, match: str = "") -> None:
        name, _, arg = behaviour.partition(":")
        if name not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {name!r}; known: {', '.join(BEHAVIOURS)}")
        self.name, self.arg, self.match = name, arg, match
        self.calls: Counter[str] = Counter()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def count(self, prompt: str) -> None:
        with self._lock:
            self.calls[prompt] += 1

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start(behaviour: str, match: str = "") -> HostileServer:
    """Start a server answering with ``behaviour`` the requests whose prompt contains ``match``."""
    return HostileServer(behaviour, match)


def _handler(srv: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: object) -> None:
            pass

        def _raw(self, data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

        def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self._raw(body)

        def _trickle(self, data: bytes, seconds: float) -> None:
            """One byte a second until ``seconds`` passed, the data ended, the client left or the server stops."""
            self.close_connection = True
            for i in range(min(len(data), int(seconds))):
                self._raw(data[i:i + 1])
                if srv.stopping.wait(1.0):
                    return

        def _stream(self, mib: int, declared: bool) -> None:
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header(*(("Content-Length", str(mib << 20)) if declared else ("Transfer-Encoding", "chunked")))
            self.end_headers()
            block = b" " * (1 << 20)
            for _ in range(mib):
                if srv.stopping.is_set():
                    return
                self._raw(block if declared else b"%x\r\n%s\r\n" % (len(block), block))
            if not declared:
                self._raw(b"0\r\n\r\n")

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            content = body.get("messages", [{}])[-1].get("content", "")
            prompt = content if isinstance(content, str) else content[0].get("text", "")
            srv.count(prompt)
            try:
                if srv.match not in prompt or srv.name == "ok":
                    self._reply(200, completion(f"answer to {prompt}"))
                else:
                    self._hostile(prompt)
            except OSError:  # the client gave up: what these behaviours are for
                self.close_connection = True

        def _hostile(self, prompt: str) -> None:
            name, arg = srv.name, srv.arg
            if name == "trickle_body":
                data = completion(f"late answer to {prompt}") + b" " * 100
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self._trickle(data, float(arg or 30))
            elif name == "trickle_headers":
                data = completion(f"late answer to {prompt}")
                head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Pad: " + b"p" * 200
                        + b"\r\nContent-Length: %d\r\n\r\n" % len(data))
                self._trickle(head + data, float(arg or 30))
            elif name == "stall":
                self.close_connection = True
                srv.stopping.wait(float(arg or 30))
            elif name == "retry_after":
                self._reply(429, b'{"error": {"message": "slow down"}}', {"Retry-After": arg or "3600"})
            elif name == "deep_json":
                depth = int(arg or 100_000)
                self._reply(200, b"[" * depth + b"]" * depth)
            elif name == "redirect":
                self._reply(302, b"", {"Location": arg or "http://127.0.0.1:9/v1/chat/completions"})
            elif name in ("huge", "huge_undeclared"):
                self._stream(int(arg or 64), declared=name == "huge")
            elif name == "gzip_bomb":
                self._reply(200, compressed(None, "gzip", int(arg or 64)), {"Content-Encoding": "gzip"})
            elif name == "encoded":
                data = completion(f"answer to {prompt}")
                body = compressed(data, arg) if arg in ("gzip", "deflate", "raw-deflate") else data
                self._reply(200, body, {"Content-Encoding": "deflate" if arg == "raw-deflate" else arg})
            elif name == "error_body":
                self._reply(400, arg.encode())
            elif name == "echo_auth":
                self._reply(200, completion(f"you sent {self.headers.get('Authorization')}"))
            elif name == "surrogate":
                self._reply(200, completion("\ud800 answer"))  # json.dumps writes the escape "\ud800"

    return Handler
