"""``glc serve``: a real OpenAI-compatible server (``/v1/chat/completions``, ``/v1/models``)
in front of an ``hf`` text-generation model, on loopback by default.

It lets the ``openai`` runner be used (and tested) against a real model with no other
software: ``glc serve --model smollm2-135m-instruct --port 8011``. Requests are batched
as they arrive (up to ``max_batch`` waiting requests go through ``generate`` together).
``--latency-ms`` adds a fixed delay per request and ``--echo`` answers with the prompt
instead of a model, which is what a throughput benchmark of the client side needs.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from runners.base import Request


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


class ChatBackend:
    """Runs chat requests through an hf text-generation runner, batching concurrent ones."""

    def __init__(self, model: str | None, max_batch: int = 8, latency_ms: float = 0.0) -> None:
        self.model_name = model or "echo"
        self.latency_s = latency_ms / 1000
        self.max_batch = max_batch
        self.runner = None
        if model is not None:
            from runners.hf import HFArgs, HFRunner

            self.runner = HFRunner(HFArgs(task="text-generation", model=model, batch_size=max_batch), Path("."))
            self.runner.load()
        self.queue: queue.Queue[tuple[Request, queue.Queue[Any]]] = queue.Queue()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            batch = [self.queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            groups: dict[str, list[tuple[Request, queue.Queue[Any]]]] = {}
            for item in batch:  # generate together only what shares decoding settings
                groups.setdefault(json.dumps(item[0].generation, sort_keys=True), []).append(item)
            for items in groups.values():
                try:
                    assert self.runner is not None
                    outs = {r.key: res for r, res in self.runner.run([r for r, _ in items])}
                    for req, box in items:
                        box.put(outs[req.key])
                except Exception as exc:  # noqa: BLE001 - report to every waiting client
                    for _, box in items:
                        box.put(exc)

    def complete(self, body: dict[str, Any]) -> tuple[str, int, int]:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValueError("'messages' must be a non-empty list")
        prompt = _text_of(messages[-1].get("content") if isinstance(messages[-1], dict) else None)
        if self.latency_s:
            time.sleep(self.latency_s)
        if self.runner is None:
            return prompt, len(prompt.split()), len(prompt.split())
        gen = {"max_new_tokens": int(body.get("max_tokens") or body.get("max_completion_tokens") or 64),
               "temperature": float(body.get("temperature") or 0.0), "top_p": float(body.get("top_p") or 1.0),
               "seed": int(body.get("seed") or 0)}
        box: queue.Queue[Any] = queue.Queue()
        self.queue.put((Request(key=uuid.uuid4().hex, instance_id="", prompt=prompt, generation=gen), box))
        res = box.get()
        if isinstance(res, Exception):
            raise res
        if res.error:
            raise RuntimeError(res.error)
        return res.output or "", len(prompt.split()), len((res.output or "").split())


def make_server(backend: ChatBackend, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, obj: Any) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(200, {"object": "list", "data": [{"id": backend.model_name, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                body = json.loads(raw)
                text, n_in, n_out = backend.complete(body)
            except (ValueError, TypeError, AttributeError) as exc:
                self._send(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})
                return
            except Exception as exc:  # noqa: BLE001
                self._send(500, {"error": {"message": str(exc), "type": "server_error"}})
                return
            self._send(200, {"id": "chatcmpl-" + uuid.uuid4().hex[:12], "object": "chat.completion",
                             "created": int(time.time()), "model": body.get("model", backend.model_name),
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                          "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": n_in, "completion_tokens": n_out,
                                       "total_tokens": n_in + n_out}})

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
