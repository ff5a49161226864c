"""The openai runner against a hostile server on loopback: a trickled answer ends at ``timeout_s``
(a deadline for the whole attempt, headers included), ``Retry-After`` cannot stall or abort a job,
deep JSON, huge bodies, redirects and surprises fail only their own instance."""

from __future__ import annotations

from pathlib import Path

import pytest
from glc.runners.base import Request
from glc.runners.openai import OpenAIArgs, OpenAIRunner
from helpers.hostile_server import start


def _run(base_url: str, prompts: list[str], **kw) -> tuple[dict[str, object], list[float], OpenAIRunner]:
    """Run ``prompts``; what came back, the backoff waits (an injected sleeper records them instead
    of sleeping) and the runner."""
    args = {"backoff_s": 0.01, "max_backoff_s": 0.05, "timeout_s": 5.0, "max_retries": 1, "concurrency": 4} | kw
    runner = OpenAIRunner(OpenAIArgs(base_url=base_url, model="m", **args), Path("."))
    slept: list[float] = []
    runner.sleep = slept.append
    try:
        got = {req.prompt: res for req, res in runner.run([Request(key=p, instance_id=p, prompt=p) for p in prompts])}
    finally:
        runner.close()
    return got, slept, runner


PROMPTS = ["fine 1", "hostile", "fine 2", "fine 3"]


def _others_fine(got: dict) -> None:
    for p in PROMPTS:
        if p != "hostile":
            assert got[p].error is None and got[p].output == f"answer to {p}"


@pytest.mark.timeout(25)  # a hang guard: about 1 s; without a deadline, the 30 s of the trickle
@pytest.mark.parametrize("behaviour", ["trickle_body", "trickle_headers"])
def test_timeout_is_a_deadline_for_the_whole_attempt(behaviour: str) -> None:
    with start(f"{behaviour}:30", match="hostile") as srv:  # one byte a second for 30 s
        got, _, _ = _run(srv.base_url, PROMPTS, timeout_s=1.0, max_retries=0)
    assert got["hostile"].output is None and "timed out after 1.0 s" in got["hostile"].error
    _others_fine(got)


@pytest.mark.parametrize("value", ["3600", "-5", "nan", "inf", "-inf", "soon", "1e400",
                                   "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_retry_after_cannot_stall_or_abort_the_job(value: str) -> None:
    with start(f"retry_after:{value}", match="hostile") as srv:
        got, slept, _ = _run(srv.base_url, PROMPTS, max_retries=2, max_backoff_s=0.05)
        calls = srv.calls["hostile"]
    assert got["hostile"].output is None and got["hostile"].error.startswith("failed after 3 attempts: HTTP 429")
    assert calls == 3 and len(slept) == 2 and all(0 <= s <= 0.05 for s in slept), slept  # capped at max_backoff_s
    _others_fine(got)


def test_retry_after_parsing() -> None:
    from glc.runners.openai import retry_after_s

    assert retry_after_s("2", 20.0) == 2.0 and retry_after_s("3600", 5.0) == 5.0 and retry_after_s("0", 5.0) == 0.0
    for bad in (None, "", "-5", "nan", "inf", "-inf", "soon", "1e400", "Mon, 99 Foo 2024"):
        assert retry_after_s(bad, 5.0) is None, bad
    assert retry_after_s("Wed, 21 Oct 2099 07:28:00 GMT", 5.0) == 5.0  # an HTTP-date: until then, capped
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", 5.0) == 0.0  # already past: at once


@pytest.mark.timeout(60)  # a hang guard
def test_deeply_nested_json_fails_that_instance_only() -> None:
    with start("deep_json:100000", match="hostile") as srv:
        got, slept, _ = _run(srv.base_url, PROMPTS)
        calls = srv.calls["hostile"]
    assert got["hostile"].output is None and "nested too deeply" in got["hostile"].error
    assert calls == 1 and slept == []  # not retried: a server answering this is not having a glitch
    _others_fine(got)


@pytest.mark.timeout(60)  # a hang guard
@pytest.mark.parametrize("behaviour", ["huge:64", "huge_undeclared:64"])
def test_huge_answers_are_cut_off(behaviour: str) -> None:
    with start(behaviour, match="hostile") as srv:
        got, _, _ = _run(srv.base_url, PROMPTS)
    assert got["hostile"].output is None and "larger than 8 MiB" in got["hostile"].error
    _others_fine(got)


def test_redirects_are_reported_not_followed() -> None:
    with start("redirect:http://127.0.0.1:9/elsewhere/v1/chat/completions", match="hostile") as srv:
        got, _, _ = _run(srv.base_url, PROMPTS, max_retries=3)
        calls = srv.calls["hostile"]
    assert got["hostile"].output is None and calls == 1
    assert got["hostile"].error == ("HTTP 302 redirect to http://127.0.0.1:9/elsewhere/v1/chat/completions; "
                                    "set base_url to the final address")
    _others_fine(got)


def test_an_unexpected_error_fails_its_instance_not_the_job(monkeypatch) -> None:
    real = OpenAIRunner._attempt

    def attempt(self: OpenAIRunner, body: dict) -> str:
        if body["messages"][-1]["content"] == "hostile":
            raise ZeroDivisionError("surprise")
        return real(self, body)

    monkeypatch.setattr(OpenAIRunner, "_attempt", attempt)
    with start("ok") as srv:
        got, _, _ = _run(srv.base_url, PROMPTS)
    assert got["hostile"].output is None and "ZeroDivisionError: surprise" in got["hostile"].error
    _others_fine(got)


@pytest.mark.timeout(60)  # a hang guard
def test_a_gzip_bomb_is_not_inflated_past_the_limit() -> None:
    """64 MiB of spaces gzip to 64 KiB: httpx inflated each network read whole, so one read held 64 MB (zstd,
    when installed, gigabytes) before the 8 MiB limit looked at it. Now at most the limit is inflated."""
    import tracemalloc

    with start("gzip_bomb:64", match="hostile") as srv:
        tracemalloc.start()
        try:
            got, _, _ = _run(srv.base_url, PROMPTS, max_retries=0, concurrency=1)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert got["hostile"].output is None and "larger than 8 MiB" in got["hostile"].error
    assert peak < 24 << 20, f"{peak / 2**20:.0f} MiB held at once for an 8 MiB limit"
    _others_fine(got)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "identity"])
def test_compressed_answers_are_read(encoding: str) -> None:
    with start(f"encoded:{encoding}") as srv:
        got, _, _ = _run(srv.base_url, PROMPTS)
    _others_fine(got)
    assert got["hostile"].output == "answer to hostile"


def test_an_encoding_glc_did_not_ask_for_fails_that_instance() -> None:
    with start("encoded:zstd", match="hostile") as srv:  # not compressed at all: the header alone lies
        got, _, _ = _run(srv.base_url, PROMPTS)
    assert got["hostile"].output is None and "Content-Encoding 'zstd'" in got["hostile"].error
    _others_fine(got)


SECRET = "sk-test-0123456789abcdef"


def test_a_key_with_a_carriage_return_is_refused_without_showing_it(monkeypatch) -> None:
    """A key read from a file with Windows line endings ends in '\\r'. h11 refused the header with its whole
    value in the message, so every instance's error (the store, log.txt, the summary) held the key."""
    from glc.runners.base import RunnerError

    monkeypatch.setenv("GLC_TEST_KEY", SECRET + "\r\n")  # around a key: dropped
    with start("ok") as srv:
        got, _, _ = _run(srv.base_url, PROMPTS, api_key_env="GLC_TEST_KEY")
    assert all(res.error is None for res in got.values())
    for bad in (f"{SECRET}\rX", f"{SECRET} x", f"{SECRET}\x01", f"{SECRET}é"):
        monkeypatch.setenv("GLC_TEST_KEY", bad)
        with start("ok") as srv:
            try:
                got, _, _ = _run(srv.base_url, PROMPTS, api_key_env="GLC_TEST_KEY")
            except RunnerError as exc:
                message = str(exc)
            else:
                message = " ".join(str(res.error) for res in got.values())
        assert "GLC_TEST_KEY" in message and "cannot carry" in message, message
        assert SECRET not in message and SECRET[3:12] not in message, message


def test_a_server_quoting_the_key_does_not_put_it_in_the_errors(monkeypatch) -> None:
    monkeypatch.setenv("GLC_TEST_KEY", SECRET)
    with start(f"error_body:invalid key Bearer {SECRET}", match="hostile") as srv:
        got, _, _ = _run(srv.base_url, PROMPTS, api_key_env="GLC_TEST_KEY")
    assert got["hostile"].error == "HTTP 400: invalid key Bearer <$GLC_TEST_KEY>"
    _others_fine(got)


def test_a_server_answering_with_the_key_does_not_put_it_in_the_predictions(monkeypatch) -> None:
    """An endpoint that echoes the key back as its answer: the answer becomes a stored prediction, which
    `glc export predictions` writes into a submission that is shared; the key is not in it."""
    monkeypatch.setenv("GLC_TEST_KEY", SECRET)
    with start("echo_auth", match="hostile") as srv:
        got, _, _ = _run(srv.base_url, PROMPTS, api_key_env="GLC_TEST_KEY")
    assert got["hostile"].output == "you sent Bearer <$GLC_TEST_KEY>" and got["hostile"].error is None


ESCAPES = ("\x1b]0;pwned\x07"  # sets the terminal's title
           "\x1b]52;c;cHduZWQ=\x07"  # writes the clipboard
           "\x1b[2J\x9b2J"  # clears the screen (7-bit and 8-bit CSI)
           "\u202eevil\ninference: 0 predictions, 0 failed instances")  # reorders text; forges a summary line


def test_an_error_body_cannot_drive_the_terminal_through_the_run_summary() -> None:
    """A server's error body is quoted into the instance's error, and ``glc run`` prints the summary on a
    terminal as it is: its escape sequences are shown escaped, never sent."""
    from glc.execute.inference import RunSummary
    from glc.importers.safety import CONTROL

    with start(f"error_body:{ESCAPES}", match="hostile") as srv:
        got, _, _ = _run(srv.base_url, PROMPTS)
    assert got["hostile"].error.startswith("HTTP 400: ")
    summary = RunSummary(failed=[("m", "t", "hostile", got["hostile"].error)],
                         job_errors=[("m · t", f"the program failed: {ESCAPES}")])
    text = summary.describe()
    assert not CONTROL.search(text.replace("\n", "")), repr(text)
    assert "\\x1b]0;pwned\\x07" in text  # shown, escaped
    assert [line for line in text.splitlines() if line.startswith("inference:")] == [text.splitlines()[0]]


class _Proxy:
    """A listener standing for a proxy from the environment: records the first bytes of each connection."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.seen: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.seen.append(conn.recv(65536))
                except OSError:
                    pass


@pytest.mark.parametrize("var", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_an_http_endpoint_is_never_sent_through_an_environment_proxy(monkeypatch, var: str) -> None:
    """With HTTP_PROXY set (common on clusters, rarely with 127.0.0.1 in NO_PROXY), the prompts and the key
    for a granted http endpoint went to the proxy in clear text: a host profiles.yml never named."""
    proxy = _Proxy()
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    try:
        monkeypatch.setenv(var, proxy.url)
        monkeypatch.setenv("GLC_TEST_KEY", SECRET)
        with start("ok") as srv:
            got, _, _ = _run(srv.base_url, PROMPTS, api_key_env="GLC_TEST_KEY")
            calls = sum(srv.calls.values())
    finally:
        proxy.sock.close()
    assert proxy.seen == [] and calls == len(PROMPTS)
    for p in PROMPTS:
        assert got[p].error is None and got[p].output == f"answer to {p}"


def test_an_https_endpoint_may_tunnel_through_an_environment_proxy(monkeypatch) -> None:
    """For https the proxy only carries a TLS tunnel: it is told the granted host and port, never the key."""
    proxy = _Proxy()
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    try:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("GLC_TEST_KEY", SECRET)
        got, _, _ = _run("https://127.0.0.1:9/v1", ["hello"], api_key_env="GLC_TEST_KEY", max_retries=0,
                         timeout_s=3.0)
    finally:
        proxy.sock.close()
    assert got["hello"].error is not None  # this proxy never answers
    assert proxy.seen and proxy.seen[0].startswith(b"CONNECT 127.0.0.1:9 ") and SECRET.encode() not in proxy.seen[0]


@pytest.mark.parametrize("args, message", [
    ({"backoff_s": 1e9}, "less than or equal to 3600"),  # one 503, then years of sleep
    ({"max_backoff_s": float("inf")}, "finite number"),
    ({"timeout_s": float("inf")}, "finite number"),
    ({"timeout_s": 1e7}, "less than or equal to 86400"),
    ({"timeout_s": float("nan")}, "finite number"),
    ({"concurrency": 256, "base_url": None, "base_urls": [f"http://127.0.0.1:{8000 + i}/v1" for i in range(9)]},
     "2,304 requests in flight"),  # a thread each
])
def test_a_spec_cannot_make_the_openai_runner_wait_forever_or_start_without_bound(args: dict, message: str) -> None:
    """A stranger's model spec sets the runner's waits and width: unbounded, backoff_s: 1e9 held a run for
    years after one 503, timeout_s: .inf waited forever for one answer, and concurrency x base_urls started
    up to 65,536 threads. Each is now a spec error; the values a real fleet uses still validate."""
    from glc.runners.openai import OpenAIArgs
    from pydantic import ValidationError

    base = {"base_url": "http://127.0.0.1:8000/v1", "model": "m"}
    with pytest.raises(ValidationError) as info:
        OpenAIArgs(**{**base, **args})
    assert message in str(info.value)
    OpenAIArgs(**base, timeout_s=3600, backoff_s=2, max_backoff_s=600, concurrency=64)
    OpenAIArgs(base_url=None, base_urls=[f"http://127.0.0.1:{8000 + i}/v1" for i in range(8)], model="m",
               concurrency=256)


@pytest.mark.parametrize("timeout", [float("inf"), float("nan"), 1e9])
def test_a_command_route_cannot_wait_forever_for_its_program(timeout: float) -> None:
    """The command runner's timeout_s had the same gap: .inf let a program that never exits hold the run."""
    from glc.runners.command import CommandArgs
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        CommandArgs(argv=["echo", "x"], timeout_s=timeout)
    assert CommandArgs(argv=["echo", "x"], timeout_s=3600).timeout_s == 3600
