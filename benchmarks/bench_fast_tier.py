"""Wall and CPU time of the fast test tier (``pytest -m "not slow"``), serial and on xdist workers,
against the issue's target of 120 s wall on this two-core machine.

Each configuration runs ``python -m pytest -q -m "not slow" -n N [--dist D]`` (``-n 0``: one process, where
pyproject.toml's addopts would start workers) as a child process in
a checkout (its own ``.venv`` when it has one); the configurations alternate within each repetition
(A, B, A, B, ...) so that a change in the machine's load falls on all of them alike. For each run it
prints the wall time, the CPU time of the run and everything it started (user + sys of the reaped
children: pytest, its xdist workers and the glc processes the tests start), the number of tests
that passed, and the load average before and after; then min and median per configuration and the
ratio of the median wall time to the 120 s target.

Run: python benchmarks/bench_fast_tier.py                         # this checkout, serial and -n 2
     python benchmarks/bench_fast_tier.py --reps 3 --workers 0 2 --checkout /path/to/main-checkout
     python benchmarks/bench_fast_tier.py --reps 3 --run /path/to/main-checkout:0 --run .:2   # just these
     python benchmarks/bench_fast_tier.py --run .:2 --slowest 20    # and the 20 slowest test phases
A checkout whose venv lacks pytest-xdist runs serially only. This is not a test: it runs the tests.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 120.0
SLOW_S = 1.0  # a fast-tier test phase above this on a quiet machine is a candidate for the slow tier


def _python(checkout: Path) -> str:
    venv = checkout / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _has_xdist(python: str) -> bool:
    probe = subprocess.run([python, "-c", "import xdist"], capture_output=True)
    return probe.returncode == 0


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Run:
    wall: float  # s
    cpu: float  # s, user + sys of pytest and everything it started
    passed: int
    bad: int  # failed + errors
    rc: int
    load: str
    tail: str
    slowest: list[str]  # pytest's --durations lines, when asked for


def run_once(checkout: Path, workers: int, dist: str, mark: str, extra: list[str]) -> Run:
    """One run of the tier: wall s, CPU s (user + sys of it and all its children), tests passed, failures."""
    cmd = [_python(checkout), "-m", "pytest", "-q", "-m", mark, "-p", "no:cacheprovider", *extra]
    if workers:
        cmd += ["-n", str(workers), "--dist", dist]
    elif _has_xdist(cmd[0]):
        cmd += ["-n", "0"]  # serial even where pyproject.toml's addopts asks for workers
    load_before = _load()
    cpu0, t0 = _children_cpu(), time.perf_counter()
    # the tests and glc run from byte code, as on a developer's machine: with PYTHONDONTWRITEBYTECODE
    # set (some sandboxes set it) every run rewrites the assertions of every test module (~6 s of CPU
    # per process) and every glc process compiles glc from source, which no developer pays twice
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(cmd, cwd=checkout, capture_output=True, text=True, env=env)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    slowest = re.findall(r"^\s*\d+\.\d+s (?:call|setup|teardown) .*$", proc.stdout, re.M)
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|errors?|skipped)", tail)}
    return Run(wall, cpu, counts.get("passed", 0),
               counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0),
               proc.returncode, f"{load_before} -> {_load()}", tail, slowest)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkout", type=Path, action="append",
                    help="a checkout to run the tier in (repeat to alternate several; default: this one)")
    ap.add_argument("--run", action="append", default=[], metavar="CHECKOUT:N",
                    help="one configuration, a checkout and its workers (0 = serial); repeat; replaces "
                         "--checkout/--workers")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="xdist workers per run; 0 = serial")
    ap.add_argument("--dist", default="loadfile", help="xdist distribution (load, loadfile, loadscope, worksteal)")
    ap.add_argument("--reps", type=int, default=1, help="repetitions of each configuration")
    ap.add_argument("-m", dest="mark", default="not slow", help="pytest mark expression (default: the fast tier)")
    ap.add_argument("--slowest", type=int, default=0, metavar="N",
                    help="print the N slowest test phases of each configuration's last run (pytest --durations); "
                         f"a fast test that takes more than {SLOW_S:.0f} s on a quiet machine belongs in the slow tier")
    ap.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --), e.g. test files")
    args = ap.parse_args()

    wanted = [(Path(d).resolve(), [int(n)]) for d, n in (r.rsplit(":", 1) for r in args.run)] or \
        [(c.resolve(), args.workers) for c in (args.checkout or [REPO])]
    configs: list[tuple[str, Path, int]] = []
    for checkout, workers in wanted:
        xdist = _has_xdist(_python(checkout))
        for n in workers:
            if n and not xdist:
                print(f"{checkout}: pytest-xdist not installed there, -n {n} left out", flush=True)
                continue
            configs.append((f"{checkout.name} {'-n ' + str(n) + ' ' + args.dist if n else 'serial'}", checkout, n))
    results: dict[str, list[Run]] = {name: [] for name, _, _ in configs}
    print(f"load average at start: {_load()} ({os.cpu_count()} cores)", flush=True)
    for rep in range(args.reps):
        for name, checkout, n in configs:
            extra = [*args.pytest_args, f"--durations={args.slowest}"] if args.slowest else args.pytest_args
            r = run_once(checkout, n, args.dist, args.mark, extra)
            results[name].append(r)
            print(f"rep {rep + 1} {name:<32} wall {r.wall:7.1f} s  cpu {r.cpu:7.1f} s  "
                  f"passed {r.passed}  failed/errors {r.bad}  load {r.load}", flush=True)
            if r.rc != 0:
                print(f"    exit status {r.rc}: {r.tail}", flush=True)
    print(f"\n{'configuration':<32} {'wall min':>9} {'wall med':>9} {'cpu min':>8} {'cpu med':>8} "
          f"{'tests':>6} {'med/120s':>9}")
    for name, rs in results.items():
        walls, cpus = [r.wall for r in rs], [r.cpu for r in rs]
        med = statistics.median(walls)
        print(f"{name:<32} {min(walls):9.1f} {med:9.1f} {min(cpus):8.1f} {statistics.median(cpus):8.1f} "
              f"{max(r.passed for r in rs):6d} {med / TARGET_S:9.2f}")
    for name, rs in results.items() if args.slowest else ():
        print(f"\nslowest test phases of the last run, {name} (over {SLOW_S:.0f} s: move to the slow tier "
              f"or make cheaper, tests/README.md):")
        for line in rs[-1].slowest:
            secs = float(line.split("s ", 1)[0])
            print(f"  {'*' if secs > SLOW_S else ' '} {line.strip()}")
    print(f"load average at end: {_load()}")
    return 0 if all(r.rc == 0 for rs in results.values() for r in rs) else 1


if __name__ == "__main__":
    sys.exit(main())
