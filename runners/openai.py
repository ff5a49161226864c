"""``openai``: OpenAI-compatible chat completions over HTTP (vLLM, SGLang, TGI, llama.cpp
server, hosted APIs, or ``glc serve``).

Images and audio of an instance travel as data URLs / ``input_audio`` parts. Requests run
``concurrency`` at a time; 429, 5xx, timeouts, dropped connections and malformed JSON are
retried with exponential backoff (``Retry-After`` honoured) up to ``max_retries`` times; other
4xx answers fail that instance at once with the server's message. When the server cannot be
reached at all, the remaining instances fail fast with that reason instead of waiting out every
retry.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import random
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from runners.base import Request, Result, Runner, RunnerArgs, error_text


class OpenAIArgs(RunnerArgs):
    base_url: str = Field(pattern=r"^https?://", description="e.g. http://127.0.0.1:8000/v1")
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    concurrency: int = Field(default=4, ge=1, le=256)
    max_retries: int = Field(default=4, ge=0, le=20)
    timeout_s: float = Field(default=60.0, gt=0)
    backoff_s: float = Field(default=0.5, ge=0)
    max_backoff_s: float = Field(default=20.0, ge=0)
    system_prompt: str | None = None
    extra_body: dict[str, Any] = {}


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None, unreachable: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.unreachable = unreachable


class _Fatal(Exception):
    pass


def data_url(path: str) -> str:
    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def user_content(req: Request) -> str | list[dict[str, Any]]:
    if not req.media:
        return req.prompt
    parts: list[dict[str, Any]] = [{"type": "text", "text": req.prompt}]
    for path in req.media.values():
        mime = mimetypes.guess_type(path)[0] or ""
        if mime.startswith("audio/"):
            fmt = "wav" if "wav" in mime else mime.split("/")[-1]
            parts.append({"type": "input_audio",
                          "input_audio": {"data": base64.b64encode(Path(path).read_bytes()).decode(), "format": fmt}})
        else:
            parts.append({"type": "image_url", "image_url": {"url": data_url(path)}})
    return parts


class OpenAIRunner(Runner):
    name: ClassVar[str] = "openai"
    Args: ClassVar[type[RunnerArgs]] = OpenAIArgs

    def __init__(self, args: RunnerArgs, root: Path) -> None:
        super().__init__(args, root)
        self.a: OpenAIArgs = args  # type: ignore[assignment]
        self._client: Any = None
        self._down: str | None = None
        self._lock = threading.Lock()
        self.attempts = 0

    def version(self) -> str:
        return f"{self.a.base_url} {self.a.model}"

    def client(self) -> Any:
        if self._client is None:
            import httpx

            headers = {"Content-Type": "application/json"}
            if self.a.api_key_env:
                key = os.environ.get(self.a.api_key_env)
                if not key:
                    from runners.base import RunnerError

                    raise RunnerError(f"environment variable {self.a.api_key_env} (the API key) is not set")
                headers["Authorization"] = f"Bearer {key}"
            limits = httpx.Limits(max_connections=self.a.concurrency, max_keepalive_connections=self.a.concurrency)
            self._client = httpx.Client(base_url=self.a.base_url.rstrip("/"), headers=headers, limits=limits,
                                        timeout=httpx.Timeout(self.a.timeout_s))
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def body(self, req: Request) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if self.a.system_prompt:
            messages.append({"role": "system", "content": self.a.system_prompt})
        messages.append({"role": "user", "content": user_content(req)})
        gen = req.generation
        body: dict[str, Any] = {"model": self.a.model, "messages": messages,
                                "max_tokens": int(gen.get("max_new_tokens", 32)),
                                "temperature": float(gen.get("temperature", 0.0)),
                                "top_p": float(gen.get("top_p", 1.0)), "seed": int(gen.get("seed", 0))}
        body.update(self.a.extra_body)
        return body

    def _attempt(self, body: dict[str, Any]) -> str:
        import httpx

        with self._lock:
            self.attempts += 1
        try:
            resp = self.client().post("/chat/completions", json=body)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out after {self.a.timeout_s} s ({type(exc).__name__})") from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Retryable(f"cannot reach {self.a.base_url}: {exc}",
                             unreachable=isinstance(exc, httpx.ConnectError)) from None
        if resp.status_code == 429 or resp.status_code >= 500:
            after = resp.headers.get("retry-after")
            try:
                wait_s = float(after) if after else None
            except ValueError:
                wait_s = None
            raise _Retryable(f"HTTP {resp.status_code}: {resp.text[:300]}", wait_s)
        if resp.status_code >= 400:
            raise _Fatal(f"HTTP {resp.status_code}: {resp.text[:500]}")
        try:
            payload = resp.json()
            content = payload["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise _Retryable(f"malformed response ({type(exc).__name__}): {resp.text[:200]}") from None
        if not isinstance(content, str):
            raise _Retryable(f"malformed response: message content is {type(content).__name__}")
        return content.strip()

    def _one(self, req: Request) -> Result:
        t0 = time.perf_counter()
        if self._down:
            return Result(None, self._down)
        try:
            body = self.body(req)
        except OSError as exc:
            return Result(None, f"cannot read media: {error_text(exc)}")
        last = ""
        for attempt in range(self.a.max_retries + 1):
            try:
                return Result(self._attempt(body), None, (time.perf_counter() - t0) * 1000)
            except _Fatal as exc:
                return Result(None, str(exc), (time.perf_counter() - t0) * 1000)
            except _Retryable as exc:
                last = str(exc)
                if attempt == self.a.max_retries:
                    if exc.unreachable:
                        self._down = f"server unreachable, not tried: {last}"
                    break
                delay = min(self.a.max_backoff_s, self.a.backoff_s * 2**attempt) * (0.5 + random.random() / 2)
                time.sleep(exc.retry_after if exc.retry_after is not None else delay)
        tries = self.a.max_retries + 1
        return Result(None, f"failed after {tries} attempt{'s' * (tries > 1)}: {last}",
                      (time.perf_counter() - t0) * 1000)

    def run(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Result]]:
        if not requests:
            return
        self.client()
        pending: dict[Future[Result], Request] = {}
        todo = iter(requests)
        with ThreadPoolExecutor(self.a.concurrency) as pool:
            for req in todo:
                pending[pool.submit(self._one, req)] = req
                if len(pending) >= self.a.concurrency * 2:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    req = pending.pop(fut)
                    yield req, fut.result()
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending[pool.submit(self._one, nxt)] = nxt
