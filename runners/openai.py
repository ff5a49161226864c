"""``openai``: OpenAI-compatible chat completions over HTTP (vLLM, SGLang, TGI, llama.cpp
server, hosted APIs, or ``glc serve``).

Images and audio of an instance travel as data URLs / ``input_audio`` parts. Requests run
``concurrency`` at a time; 429, 5xx, timeouts, dropped connections and malformed JSON are
retried with exponential backoff (``Retry-After`` honoured, at most ``max_backoff_s``) up to
``max_retries`` times; other 4xx answers fail that instance at once with the server's message. When
the server cannot be reached at all, the remaining instances fail fast with that reason instead of
waiting out every retry.

The server is not trusted: ``timeout_s`` is a deadline for a whole attempt (a server trickling a
byte a second cannot hold it open), answers over ``MAX_RESPONSE_BYTES`` are cut off (compressed ones
as they are decompressed, never more than that at a time: a gzip bomb is not inflated), redirects are
reported rather than followed, and whatever goes wrong with one answer (JSON nested too deeply to
parse included) fails that instance only, never the job.
"""

from __future__ import annotations

import base64
import email.utils
import json
import math
import mimetypes
import os
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar

from glc.runners.base import MAX_TIMEOUT_S, Request, Result, Runner, RunnerArgs, error_text
from pydantic import Field, model_validator

MAX_RESPONSE_BYTES = 8 * 1024 * 1024  # a chat answer is kilobytes; more is a broken or hostile server
MAX_BACKOFF_S = 3_600.0  # one wait between attempts
MAX_IN_FLIGHT = 2_048  # requests at once over all servers of a route (a thread each)


class OpenAIArgs(RunnerArgs):
    base_url: str | None = Field(default=None, pattern=r"^https?://", description="e.g. http://127.0.0.1:8000/v1")
    base_urls: list[Annotated[str, Field(pattern=r"^https?://")]] = Field(
        default=[], max_length=256, description="several servers of the same model (a fleet without a balancer)")
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    concurrency: int = Field(default=4, ge=1, le=256)
    max_retries: int = Field(default=4, ge=0, le=20)
    # bounded: a stranger's spec could otherwise hold a run for years after one 503 (backoff_s: 1e9) or
    # wait forever for one answer (inf); a day covers the longest generation, an hour any backoff
    timeout_s: float = Field(default=60.0, gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False)
    backoff_s: float = Field(default=0.5, ge=0, le=MAX_BACKOFF_S, allow_inf_nan=False)
    max_backoff_s: float = Field(default=20.0, ge=0, le=MAX_BACKOFF_S, allow_inf_nan=False)
    system_prompt: str | None = None
    extra_body: dict[str, Any] = {}

    @model_validator(mode="after")
    def _one_or_several_servers(self) -> OpenAIArgs:
        if (self.base_url is None) == (not self.base_urls):
            raise ValueError("give base_url (one server) or base_urls (several), not both and not neither")
        if self.concurrency * len(self.urls) > MAX_IN_FLIGHT:  # one thread per request in flight
            raise ValueError(f"concurrency x servers is {self.concurrency * len(self.urls):,} requests in flight; "
                             f"at most {MAX_IN_FLIGHT:,}")
        return self

    @property
    def urls(self) -> list[str]:
        """The servers requests go to, in the order given."""
        return [self.base_url] if self.base_url is not None else list(self.base_urls)


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None, unreachable: bool = False,
                 failover: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.unreachable = unreachable
        self.failover = failover  # another server is up: try it now, without waiting or spending a retry


class _Endpoint:
    """One server of a fleet: its client, requests in flight, and rest after failing to connect."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: Any = None
        self.outstanding = 0
        self.down_until = 0.0
        self.failures = 0


class _Fatal(Exception):
    pass


def retry_after_s(value: str | None, cap: float) -> float | None:
    """The wait a ``Retry-After`` header asks for, clamped to ``[0, cap]``; None (use the normal backoff)
    when absent or not a finite non-negative number of seconds or an HTTP-date.

    Uncapped, ``Retry-After: 3600`` stalls a job for an hour; unchecked, ``-5``, ``nan`` or ``inf``
    make ``time.sleep`` raise and abort it. An HTTP-date waits until then (a past one: not at all).
    """
    if not value:
        return None
    try:
        secs = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        secs = max(0.0, (when - datetime.now(UTC)).total_seconds())
    if not math.isfinite(secs) or secs < 0:
        return None
    return min(secs, cap)


# The deadline (time.monotonic()) of the attempt running on this thread, read by every network read and write.
_deadline = threading.local()


def _time_left(timeout: float | None, exc: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left of this thread's deadline; ``exc`` once it has passed."""
    at = getattr(_deadline, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise exc("deadline of the attempt passed")
    return left if timeout is None else min(timeout, left)


def _deadline_backend(inner: Any) -> Any:
    """An httpcore network backend whose every connect, read and write ends by the thread's deadline.

    httpx's timeouts apply to each read, so a server sending a byte a second (headers or body) never
    trips them; httpcore's network backend is the one place that sees every read.
    """
    import httpcore

    class Stream(httpcore.NetworkStream):
        def __init__(self, stream: Any) -> None:
            self.stream = stream

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self.stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self.stream.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

        def close(self) -> None:
            self.stream.close()

        def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                      timeout: float | None = None) -> Any:
            return Stream(self.stream.start_tls(ssl_context, server_hostname,
                                                _time_left(timeout, httpcore.ConnectTimeout)))

        def get_extra_info(self, info: str) -> Any:
            return self.stream.get_extra_info(info)

    class Backend(httpcore.NetworkBackend):
        def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                        socket_options: Any = None) -> Any:
            return Stream(inner.connect_tcp(host, port, _time_left(timeout, httpcore.ConnectTimeout), local_address,
                                            socket_options))

        def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
            return Stream(inner.connect_unix_socket(path, _time_left(timeout, httpcore.ConnectTimeout),
                                                    socket_options))

        def sleep(self, seconds: float) -> None:
            inner.sleep(seconds)

    return Backend()


def _bound_by_deadline(client: Any) -> None:
    """Give every connection pool of ``client`` (its proxies' too) the deadline backend.

    httpx takes no network backend, so this sets httpcore's pool attribute; should a later version
    rename it, only the header phase loses its deadline (the body is still read against it).
    """
    for transport in [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]:
        pool = getattr(transport, "_pool", None)
        if pool is not None and hasattr(pool, "_network_backend"):
            pool._network_backend = _deadline_backend(pool._network_backend)


ACCEPT_ENCODING = "gzip, deflate"


class _Inflater:
    """Decompresses a body in the ``Content-Encoding`` of its answer, never more than asked for at a time
    (``zlib``'s ``max_length``; what is left of the input waits in ``unconsumed_tail``). An encoding
    other than gzip or deflate (which glc does not ask for) fails the instance."""

    def __init__(self, encoding: str) -> None:
        self.kind = encoding.strip().lower()
        if self.kind not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise _Fatal(f"response in Content-Encoding {self.kind[:40]!r}, which glc did not ask for "
                         f"(Accept-Encoding: {ACCEPT_ENCODING})")
        self.zlib: Any = None
        self.head = b""  # the first bytes, until there are two to tell zlib from raw deflate

    def __call__(self, data: bytes, room: int) -> Iterator[bytes]:
        """The decompressed bytes of ``data``, in pieces of at most ``room`` bytes (the caller stops
        reading once the limit is passed)."""
        if self.kind in ("", "identity"):
            yield data
            return
        if self.zlib is None:
            data, self.head = self.head + data, b""
            if len(data) < 2:
                self.head = data
                return
            # gzip; deflate is the zlib format, or raw deflate from servers that misread the RFC
            zlib_format = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self.zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if "gzip" in self.kind else
                                           zlib.MAX_WBITS if zlib_format else -zlib.MAX_WBITS)
        try:
            while data:
                out = self.zlib.decompress(data, max(room, 1))
                data = self.zlib.unconsumed_tail
                room -= len(out)
                yield out
        except zlib.error as exc:
            raise _Retryable(f"malformed response: {self.kind} data: {exc}") from None

    def end(self) -> bytes:
        """What the decompressor still holds (at most its window) once the body ended."""
        if self.zlib is None:
            if self.head:
                raise _Retryable(f"malformed response: {self.kind} data of {len(self.head)} byte")
            return b""
        try:
            return self.zlib.flush(MAX_RESPONSE_BYTES + 1)
        except zlib.error as exc:
            raise _Retryable(f"malformed response: {self.kind} data: {exc}") from None


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
        elif mime.startswith("video/"):  # vLLM and SGLang read video_url parts
            parts.append({"type": "video_url", "video_url": {"url": data_url(path)}})
        elif not mime.startswith("image/"):  # point clouds and other files travel as file parts
            parts.append({"type": "file", "file": {"filename": Path(path).name, "file_data": data_url(path)}})
        else:
            parts.append({"type": "image_url", "image_url": {"url": data_url(path)}})
    return parts


class OpenAIRunner(Runner):
    name: ClassVar[str] = "openai"
    Args: ClassVar[type[RunnerArgs]] = OpenAIArgs

    def __init__(self, args: RunnerArgs, root: Path) -> None:
        super().__init__(args, root)
        self.a: OpenAIArgs = args  # type: ignore[assignment]
        self._endpoints = [_Endpoint(url) for url in self.a.urls]
        self._down: str | None = None
        self._lock = threading.Lock()
        self._turn = 0
        self.attempts = 0
        self.sleep: Callable[[float], None] = time.sleep  # the backoff's wait; tests inject a fake one
        self._secret = ""  # the API key once read: taken out of every error this runner reports

    def version(self) -> str:
        return f"{', '.join(self.a.urls)} {self.a.model}"

    def client(self, endpoint: _Endpoint | None = None) -> Any:
        """The HTTP client of ``endpoint`` (default: the first), made on first use."""
        ep = endpoint or self._endpoints[0]
        if ep.client is None:
            import httpx

            # only what _read_body decompresses within its bound (httpx would also ask for br and zstd
            # when their packages are installed, and inflate whatever a server sends at once)
            headers = {"Content-Type": "application/json", "Accept-Encoding": ACCEPT_ENCODING}
            if self.a.api_key_env:
                headers["Authorization"] = f"Bearer {self._api_key()}"
            limits = httpx.Limits(max_connections=self.a.concurrency, max_keepalive_connections=self.a.concurrency)
            # An environment proxy (HTTP_PROXY, ALL_PROXY) is used for https only, where it carries a TLS tunnel
            # to the granted host (CONNECT host:port, nothing else). For http it would read the prompts and
            # the key in clear text and answer in the server's name, and a loopback server would be asked
            # for on the proxy's own machine: a host profiles.yml never named.
            ep.client = httpx.Client(base_url=ep.url.rstrip("/"), headers=headers, limits=limits,
                                     timeout=httpx.Timeout(self.a.timeout_s), follow_redirects=False,
                                     trust_env=ep.url.startswith("https://"))
            _bound_by_deadline(ep.client)
        return ep.client

    def _api_key(self) -> str:
        """The key in ``api_key_env``, which no message of this runner ever shows.

        A key read from a file with Windows line endings ends in a carriage return, which h11 refuses
        with the whole header value in its message: the key landed in every instance's error (the store,
        the run's log.txt, the summary on screen). Whitespace around it is dropped (no key holds any); a
        key with another character a header cannot carry is refused without quoting it.
        """
        from glc.runners.base import RunnerError

        assert self.a.api_key_env is not None
        key = os.environ.get(self.a.api_key_env, "").strip(" \t\r\n")
        if not key:
            raise RunnerError(f"environment variable {self.a.api_key_env} (the API key) is not set")
        bad = next((i for i, ch in enumerate(key) if not "\x21" <= ch <= "\x7e"), None)
        if bad is not None:
            raise RunnerError(f"environment variable {self.a.api_key_env} (the API key) holds a character an HTTP "
                              f"header cannot carry (U+{ord(key[bad]):04X}, character {bad + 1} of {len(key)}); "
                              "an API key is printable ASCII")
        self._secret = key
        return key

    def _redacted(self, text: str | None) -> str | None:
        """``text`` without the API key (a server may quote the header it was sent in its error)."""
        if text is None or len(self._secret) < 8:  # a shorter one would mangle messages, and guards little
            return text
        return text.replace(self._secret, f"<${self.a.api_key_env}>")

    def close(self) -> None:
        for ep in self._endpoints:
            if ep.client is not None:
                ep.client.close()
                ep.client = None

    def _pick(self) -> _Endpoint:
        """The server with the fewest requests in flight among those not resting after a failure
        to connect (all resting: the one that rests the shortest); ties take turns."""
        with self._lock:
            now = time.monotonic()
            up = [e for e in self._endpoints if e.down_until <= now] or \
                [min(self._endpoints, key=lambda e: e.down_until)]
            self._turn += 1
            n = len(self._endpoints)
            ep = min(up, key=lambda e: (e.outstanding, (self._endpoints.index(e) - self._turn) % n))
            ep.outstanding += 1
            return ep

    def _release(self, ep: _Endpoint, *, reached: bool) -> None:
        with self._lock:
            ep.outstanding -= 1
            if reached:
                ep.failures = 0
            else:  # rest it, longer each time it stays unreachable (at most 30 s)
                ep.failures += 1
                ep.down_until = time.monotonic() + min(30.0, 0.5 * 2 ** min(ep.failures, 6))

    def _others_up(self, ep: _Endpoint) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(e is not ep and e.down_until <= now for e in self._endpoints)

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
        timed_out = f"timed out after {self.a.timeout_s} s"
        ep = self._pick()
        reached = True
        _deadline.at = time.monotonic() + self.a.timeout_s
        try:
            with self.client(ep).stream("POST", "/chat/completions", json=body) as resp:
                if 300 <= resp.status_code < 400:  # not followed: that would post the prompts elsewhere
                    where = resp.headers.get("location", "nowhere")[:300]
                    raise _Fatal(f"HTTP {resp.status_code} redirect to {where}; set base_url to the final address")
                raw = self._read_body(resp, timed_out)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"{timed_out} ({type(exc).__name__})") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            unreachable = isinstance(exc, httpx.ConnectError)
            reached = not unreachable
            raise _Retryable(f"cannot reach {ep.url}: {exc}", unreachable=unreachable,
                             failover=unreachable and self._others_up(ep)) from None
        except httpx.DecodingError as exc:
            raise _Retryable(f"malformed response: {exc}") from None
        finally:
            _deadline.at = None
            self._release(ep, reached=reached)
        return self._answer(resp.status_code, resp.headers.get("retry-after"), raw)

    def _read_body(self, resp: Any, timed_out: str) -> bytes:
        """The body, read against the deadline and cut off past ``MAX_RESPONSE_BYTES`` (declared or not,
        compressed or not).

        The raw bytes are read and decompressed here, at most the bytes left under the limit per step:
        httpx inflates each network read whole, so 64 KiB of gzip became 64 MB (zstd, when installed:
        gigabytes) before any limit could look at it.
        """
        limit = f"response body larger than {MAX_RESPONSE_BYTES // 2**20} MiB; not read further"
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
            raise _Fatal(limit)
        inflate = _Inflater(resp.headers.get("content-encoding", ""))
        chunks, size = [], 0
        for raw in resp.iter_raw():
            for chunk in inflate(raw, MAX_RESPONSE_BYTES + 1 - size):
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise _Fatal(limit)
                chunks.append(chunk)
            if time.monotonic() > _deadline.at:  # in case the network backend could not be given the deadline
                raise _Retryable(timed_out)
        chunks.append(inflate.end())
        if size + len(chunks[-1]) > MAX_RESPONSE_BYTES:
            raise _Fatal(limit)
        return b"".join(chunks)

    def _answer(self, status: int, retry_after: str | None, raw: bytes) -> str:
        """The message content of a complete answer, or the reason (retryable or not) there is none."""
        text = raw[:600].decode("utf-8", "replace")
        if status == 429 or status >= 500:
            raise _Retryable(f"HTTP {status}: {text[:300]}", retry_after_s(retry_after, self.a.max_backoff_s))
        if status >= 400:
            raise _Fatal(f"HTTP {status}: {text[:500]}")
        try:
            payload = json.loads(raw)
        except RecursionError:  # e.g. [[[[...]]]] 100k deep: hostile, not a glitch worth retrying
            raise _Fatal("malformed response: JSON nested too deeply to parse") from None
        except ValueError as exc:
            raise _Retryable(f"malformed response ({type(exc).__name__}): {text[:200]}") from None
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise _Retryable(f"malformed response ({type(exc).__name__}): {text[:200]}") from None
        if not isinstance(content, str):
            raise _Retryable(f"malformed response: message content is {type(content).__name__}")
        return content.strip()

    def _one(self, req: Request) -> Result:
        res = self._one_unredacted(req)
        # the answer too: it becomes a prediction, which an export of predictions shares with others
        res.error, res.output = self._redacted(res.error), self._redacted(res.output)
        return res

    def _one_unredacted(self, req: Request) -> Result:
        t0 = time.perf_counter()
        if self._down:
            return Result(None, self._down)
        try:
            body = self.body(req)
        except OSError as exc:
            return Result(None, f"cannot read media: {error_text(exc)}")
        try:
            return self._tries(body, t0)
        except Exception as exc:  # noqa: BLE001 - whatever one answer does, it fails that instance, not the job
            return Result(None, f"unexpected error: {error_text(exc)}", (time.perf_counter() - t0) * 1000)

    def _tries(self, body: dict[str, Any], t0: float) -> Result:
        last = ""
        attempt = 0
        failovers = 0
        while True:
            try:
                return Result(self._attempt(body), None, (time.perf_counter() - t0) * 1000)
            except _Fatal as exc:
                return Result(None, str(exc), (time.perf_counter() - t0) * 1000)
            except _Retryable as exc:
                last = str(exc)
                if exc.failover and failovers < len(self._endpoints):
                    failovers += 1  # a server went away: the request moves to another one at once
                    continue
                if attempt == self.a.max_retries:
                    if exc.unreachable and not self._others_up_any():
                        self._down = f"server unreachable, not tried: {last}"
                    break
                delay = min(self.a.max_backoff_s, self.a.backoff_s * 2**attempt) * (0.5 + random.random() / 2)
                self.sleep(exc.retry_after if exc.retry_after is not None else delay)
                attempt += 1
        tries = attempt + 1 + failovers
        return Result(None, f"failed after {tries} attempt{'s' * (tries > 1)}: {last}",
                      (time.perf_counter() - t0) * 1000)

    def _others_up_any(self) -> bool:
        """Some server of the fleet is not resting (one server: never, once it failed to connect)."""
        now = time.monotonic()
        with self._lock:
            return len(self._endpoints) > 1 and any(e.down_until <= now for e in self._endpoints)

    def run(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Result]]:
        if not requests:
            return
        self.client()
        pending: dict[Future[Result], Request] = {}
        todo = iter(requests)
        width = self.a.concurrency * len(self._endpoints)  # `concurrency` requests in flight per server
        with ThreadPoolExecutor(width) as pool:
            for req in todo:
                pending[pool.submit(self._one, req)] = req
                if len(pending) >= width * 2:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    req = pending.pop(fut)
                    yield req, fut.result()
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending[pool.submit(self._one, nxt)] = nxt
