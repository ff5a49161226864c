"""The ``openai`` runner over a fleet: two ``glc serve --echo --latency-ms L`` servers vs one, the same
concurrency per server, in the same run; then one of two servers killed mid-run.

Prints requests/s for one and two servers (repeated; min and median) and their ratio, and whether
every instance completed after the kill. Targets: two servers >= 1.8x one; no instance lost.
Run: python benchmarks/bench_openai_fleet.py [--requests 384] [--latency-ms 100] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_openai_concurrency import start_server  # noqa: E402
from glc.runners.base import Request  # noqa: E402
from glc.runners.openai import OpenAIArgs, OpenAIRunner  # noqa: E402


def run(urls: list[str], n: int, concurrency: int, kill=None) -> tuple[float, int]:
    """(requests per second, instances answered) for ``n`` requests over ``urls``."""
    runner = OpenAIRunner(OpenAIArgs(base_urls=urls, model="echo", concurrency=concurrency, max_retries=2,
                                     backoff_s=0.05), Path("."))
    reqs = [Request(key=str(i), instance_id=str(i), prompt=f"prompt {i}") for i in range(n)]
    t = time.perf_counter()
    ok = 0
    for i, (_, res) in enumerate(runner.run(reqs)):
        ok += res.error is None
        if kill is not None and i == n // 4:
            kill()
    seconds = time.perf_counter() - t
    runner.close()
    return n / seconds, ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 384 requests: at 4 in flight and 100 ms each, one server needs ~10 s, so the runner's start-up
    # (threads, first connections) does not dominate the throughput as it does at 96 (~2.4 s ideal)
    ap.add_argument("--requests", type=int, default=384)
    ap.add_argument("--latency-ms", type=float, default=100.0)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    servers = [start_server(a.latency_ms) for _ in range(3)]
    try:
        urls = [u for _, u in servers]
        ones, twos = [], []
        for _ in range(a.repeat):
            ones.append(run(urls[:1], a.requests, a.concurrency)[0])
            twos.append(run(urls[:2], a.requests, a.concurrency)[0])
        ratios = [t / o for t, o in zip(twos, ones, strict=True)]
        print(f"one server:  {min(ones):.1f} / {statistics.median(ones):.1f} req/s (min / median)")
        print(f"two servers: {min(twos):.1f} / {statistics.median(twos):.1f} req/s (min / median)")
        print(f"ratio: min {min(ratios):.2f}x, median {statistics.median(ratios):.2f}x (target >= 1.8x: "
              f"{'met' if statistics.median(ratios) >= 1.8 else 'MISSED'})")

        def kill() -> None:
            servers[2][0].kill()
            servers[2][0].wait()

        rate, ok = run([urls[0], urls[2]], a.requests, a.concurrency, kill=kill)
        print(f"one of two servers killed after {a.requests // 4} answers: {ok}/{a.requests} instances answered "
              f"({rate:.1f} req/s; target: all: {'met' if ok == a.requests else 'MISSED'})")
    finally:
        for proc, _ in servers:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
