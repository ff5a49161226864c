"""``glc serve``: a real OpenAI-compatible server (``/v1/chat/completions``, ``/v1/models``)
in front of an ``hf`` text-generation model, on loopback by default.

It lets the ``openai`` runner be used (and tested) against a real model with no other
software: ``glc serve --model smollm2-135m-instruct --port 8011``. Requests are batched
as they arrive (up to ``max_batch`` waiting requests of similar length go through ``generate``
together, shortest first). ``--latency-ms`` adds a fixed delay per request and ``--echo`` answers
with the prompt instead of a model, which is what a throughput benchmark of the client side needs.

Load is bounded rather than left to the kernel: at most ``max_queue`` requests are admitted at once
(more are answered 429 with ``Retry-After``), prompts over ``max_prompt_chars`` and bodies over
``MAX_BODY_BYTES`` are answered 413 without being generated or read whole, and a deep listen backlog
means a burst of clients is answered instead of reset.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from glc.runners.base import Request, Runner

MAX_BODY_BYTES = 8 * 1024 * 1024  # a chat request with a few images; more is refused unread
_DRAIN_BYTES, _DRAIN_S = 64 * 1024 * 1024, 2.0  # what a refused body may still send before the socket closes


class ServeError(Exception):
    """A request refused with an HTTP status (413, 429) and an OpenAI-style error body."""

    def __init__(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.headers = status, kind, headers or {}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


@dataclass(eq=False)
class _Waiting:
    req: Request
    box: queue.Queue[Any]
    settings: str  # decoding settings: only equal ones generate together
    since: float = field(default_factory=time.monotonic)


def _similar(a: int, b: int) -> bool:
    """Prompt lengths close enough to pad to each other: within 2x (short ones, within 256 chars, always)."""
    return max(a, b) <= 2 * min(a, b) + 256


class ChatBackend:
    """Runs chat requests through an hf text-generation runner (or echoes them), batching concurrent ones.

    ``runner`` is a ready runner to use instead of loading ``model`` (tests script one).
    """

    def __init__(self, model: str | None, max_batch: int = 8, latency_ms: float = 0.0, max_queue: int = 64,
                 max_prompt_chars: int = 16_000, overdue_s: float = 10.0, runner: Runner | None = None) -> None:
        self.model_name = model or ("echo" if runner is None else runner.name)
        self.latency_s = latency_ms / 1000
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.max_prompt_chars = max_prompt_chars
        self.overdue_s = overdue_s
        self.runner = runner
        if model is not None and runner is None:
            from glc.runners.hf import HFArgs, HFRunner

            self.runner = HFRunner(HFArgs(task="text-generation", model=model, batch_size=max_batch), Path("."))
            self.runner.load()
        self.in_flight = 0  # admitted requests, waiting or generating
        self._lock = threading.Lock()
        self._ready = threading.Condition()
        self._waiting: list[_Waiting] = []  # in arrival order
        threading.Thread(target=self._loop, daemon=True).start()

    def waiting(self) -> int:
        with self._ready:
            return len(self._waiting)

    def _take_batch(self) -> list[_Waiting]:
        """The next batch: the oldest overdue request, or else the shortest prompt, with up to ``max_batch - 1``
        waiting requests of similar length and the same decoding settings.

        A batch is padded to its longest prompt and ends with it, so batching a 20k-word prompt with short
        ones would hold them all for its whole generation; shortest-first lets short requests pass a long
        one that waits, and ``overdue_s`` stops a steady stream of short ones from starving it.
        """
        with self._ready:
            while not self._waiting:
                self._ready.wait()
            now = time.monotonic()
            overdue = [w for w in self._waiting if now - w.since >= self.overdue_s]
            first = overdue[0] if overdue else min(self._waiting, key=lambda w: len(w.req.prompt))
            size = len(first.req.prompt)
            batch = [first] + [w for w in self._waiting if w is not first and w.settings == first.settings
                               and _similar(len(w.req.prompt), size)][:self.max_batch - 1]
            taken = {id(w) for w in batch}
            self._waiting = [w for w in self._waiting if id(w) not in taken]
        return batch

    def _loop(self) -> None:
        while True:
            batch = self._take_batch()
            try:
                assert self.runner is not None
                outs = {r.key: res for r, res in self.runner.run([w.req for w in batch])}
                for w in batch:
                    w.box.put(outs[w.req.key])
            except Exception as exc:  # noqa: BLE001 - report to every waiting client
                for w in batch:
                    w.box.put(exc)

    def prompt_of(self, body: Any) -> str:
        """The prompt (the last message's text), or why the request is invalid (400) or too long (413)."""
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages:
            raise ValueError("'messages' must be a non-empty list")
        prompt = _text_of(messages[-1].get("content") if isinstance(messages[-1], dict) else None)
        if len(prompt) > self.max_prompt_chars:
            raise ServeError(413, f"prompt of {len(prompt)} characters is longer than the {self.max_prompt_chars} "
                                  "this server accepts (glc serve --max-prompt-chars)", "invalid_request_error")
        return prompt

    def _admit(self) -> None:
        with self._lock:
            if self.in_flight >= self.max_queue:
                raise ServeError(429, f"server busy: {self.max_queue} requests already queued; retry later",
                                 "server_busy", {"Retry-After": "1"})
            self.in_flight += 1

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def complete(self, body: dict[str, Any]) -> tuple[str, int, int]:
        prompt = self.prompt_of(body)
        self._admit()
        try:
            return self._generate(prompt, body)
        finally:
            self._leave()

    def _generate(self, prompt: str, body: dict[str, Any]) -> tuple[str, int, int]:
        if self.latency_s:
            time.sleep(self.latency_s)
        if self.runner is None:
            return prompt, len(prompt.split()), len(prompt.split())
        gen = {"max_new_tokens": int(body.get("max_tokens") or body.get("max_completion_tokens") or 64),
               "temperature": float(body.get("temperature") or 0.0), "top_p": float(body.get("top_p") or 1.0),
               "seed": int(body.get("seed") or 0)}
        box: queue.Queue[Any] = queue.Queue()
        req = Request(key=uuid.uuid4().hex, instance_id="", prompt=prompt, generation=gen)
        with self._ready:
            self._waiting.append(_Waiting(req, box, json.dumps(gen, sort_keys=True)))
            self._ready.notify()
        res = box.get()
        if isinstance(res, Exception):
            raise res
        if res.error:
            raise RuntimeError(res.error)
        return res.output or "", len(prompt.split()), len((res.output or "").split())


class _Server(ThreadingHTTPServer):
    # The listen backlog: socketserver's 5 resets new connections from about 20 clients at once; with a
    # deep one they are accepted and, past max_queue, answered 429 instead.
    request_queue_size = 1024
    daemon_threads = True


def make_server(backend: ChatBackend, host: str = "127.0.0.1", port: int = 0,
                max_body_bytes: int = MAX_BODY_BYTES) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 60  # a client silent this long (mid-request or idle between requests) is disconnected

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
            self._send(status, {"error": {"message": message, "type": kind}}, headers)

        def _refuse_unread(self, status: int, message: str) -> None:
            """Answer without reading the body, then drain (bounded) what the client still sends and close:
            closing with unread data resets the connection, and the client would get the reset, not the answer."""
            self.close_connection = True
            self._error(status, message, "invalid_request_error", {"Connection": "close"})
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                self.connection.settimeout(_DRAIN_S)
                drained, deadline = 0, time.monotonic() + _DRAIN_S
                while drained < _DRAIN_BYTES and time.monotonic() < deadline:
                    chunk = self.connection.recv(1 << 16)
                    if not chunk:
                        break
                    drained += len(chunk)
            except OSError:
                pass

        def _body(self) -> bytes | None:
            """The request body, or None once refused: no or a bad Content-Length (400), too large (413)."""
            declared = self.headers.get("Content-Length")
            if declared is None or not declared.isdigit():
                self._refuse_unread(400, "a Content-Length header (a whole number of bytes) is required; "
                                         "chunked request bodies are not accepted")
                return None
            if int(declared) > max_body_bytes:
                self._refuse_unread(413, f"request body of {int(declared)} bytes is larger than "
                                         f"{max_body_bytes // 2**20} MiB")
                return None
            return self.rfile.read(int(declared))

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(200, {"object": "list", "data": [{"id": backend.model_name, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802
            raw = self._body()
            if raw is None:
                return
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                body = json.loads(raw)
                text, n_in, n_out = backend.complete(body)
            except ServeError as exc:
                self._error(exc.status, str(exc), exc.kind, exc.headers)
                return
            except RecursionError:
                self._error(400, "request JSON nested too deeply", "invalid_request_error")
                return
            except (ValueError, TypeError, AttributeError) as exc:
                self._error(400, str(exc), "invalid_request_error")
                return
            except Exception as exc:  # noqa: BLE001
                self._error(500, str(exc), "server_error")
                return
            self._send(200, {"id": "chatcmpl-" + uuid.uuid4().hex[:12], "object": "chat.completion",
                             "created": int(time.time()), "model": body.get("model", backend.model_name),
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                          "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": n_in, "completion_tokens": n_out,
                                       "total_tokens": n_in + n_out}})

    return _Server((host, port), Handler)
