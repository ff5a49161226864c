"""``openai`` runner throughput with concurrency 8 vs 1, against a real OpenAI-compatible HTTP
server process with a fixed latency per request (`glc serve --echo --latency-ms L`), so the
client side is what is measured.

Prints requests/s for each concurrency and the ratio. Target: concurrency 8 >= 6x concurrency 1.
Run: python benchmarks/bench_openai_concurrency.py [--requests 64] [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from glc.runners.base import Request  # noqa: E402
from glc.runners.openai import OpenAIArgs, OpenAIRunner  # noqa: E402


def start_server(latency_ms: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "glc", "serve", "--echo", "--latency-ms", str(latency_ms),
                             "--port", "0"], stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    m = re.search(r"on (http://\S+/v1)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"server did not start: {line}")
    return proc, m.group(1)


def throughput(url: str, n: int, concurrency: int) -> float:
    runner = OpenAIRunner(OpenAIArgs(base_url=url, model="echo", concurrency=concurrency), Path("."))
    reqs = [Request(key=str(i), instance_id=str(i), prompt=f"prompt {i}") for i in range(n)]
    t = time.perf_counter()
    results = list(runner.run(reqs))
    dt = time.perf_counter() - t
    runner.close()
    assert len(results) == n and all(r.output == f"prompt {q.instance_id}" for q, r in results)
    return n / dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--latency-ms", type=float, default=100.0)
    a = ap.parse_args()
    proc, url = start_server(a.latency_ms)
    try:
        throughput(url, 8, 8)  # warm-up: connections, imports
        one = throughput(url, a.requests, 1)
        eight = throughput(url, a.requests, 8)
    finally:
        proc.terminate()
        proc.wait()
    print(f"server latency {a.latency_ms:.0f} ms, {a.requests} requests")
    print(f"concurrency 1: {one:7.2f} req/s")
    print(f"concurrency 8: {eight:7.2f} req/s")
    print(f"ratio: {eight / one:.2f}x  (target >= 6x)")


if __name__ == "__main__":
    main()
