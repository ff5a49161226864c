"""Resume after ``kill -9``: a `glc run` over 200 instances (a command-runner model that takes
about 20 ms per instance and logs every instance it computes) is killed midway with SIGKILL,
then `glc run` again. Prints how many instances were computed in each run, how many were
computed twice (what was in flight and not committed), and the time to finish vs a full run.
Target: nothing committed is computed again; at most the batch in flight (8) is lost.
Run: python benchmarks/bench_resume.py [--instances 200]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("GLC_BENCHMARK", "general-bench")

import duckdb  # noqa: E402
from helpers.metric_project import add_task, new_project  # noqa: E402

from glc.workspace import Workspace  # noqa: E402


def setup(root: Path, n: int, log: Path) -> None:
    import yaml

    tid = add_task(root, "acc", "text", [(f"q{i:04d}", {"a": str(i)}, [str(i)]) for i in range(n)])
    path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["inference"] = {"type": "qa", "prompt": "{{ input.a }}"}
    path.write_text(yaml.safe_dump(spec))
    code = ("import sys, time, pathlib\ntime.sleep(0.02)\n"
            f"pathlib.Path({str(log)!r}).open('a').write(sys.argv[1] + '\\n')\nprint(sys.argv[2])\n")
    argv = ["{{ python }}", "-c", code, "{{ instance_id }}", "{{ prompt }}"]
    prof = root / "profiles.yml"  # this benchmark's profile lets the command runner start this `python -c`
    prof.write_text(prof.read_text() + "  - " + json.dumps(argv) + "\n")
    (root / "specs" / "models").mkdir(exist_ok=True)
    (root / "specs" / "models" / "slow.yaml").write_text(yaml.safe_dump({
        "name": "slow", "revision": "1", "routes": [{"runner": "command", "args": {
            "argv": argv}}]}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=200)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = new_project(Path(tmp) / "p")
        log = Path(tmp) / "calls.log"
        setup(root, a.instances, log)
        Workspace(root).compile()
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "glc", "--project-dir", str(root), "run"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not log.exists() or len(log.read_text().split()) < a.instances // 2:
            time.sleep(0.01)
        proc.kill()
        proc.wait()
        time.sleep(0.5)  # the instance program glc had started finishes on its own
        t_first = time.perf_counter() - t
        first = log.read_text().split()
        con = duckdb.connect(Workspace(root).target.path, read_only=True)
        committed = {r[0] for r in con.execute("SELECT instance_id FROM predictions").fetchall()}
        con.close()
        t = time.perf_counter()
        Workspace(root).run()
        t_resume = time.perf_counter() - t
        calls = collections.Counter(log.read_text().split())
        con = duckdb.connect(Workspace(root).target.path, read_only=True)
        stored = con.execute("SELECT count(DISTINCT instance_id) FROM predictions WHERE error IS NULL").fetchone()[0]
        con.close()
        t = time.perf_counter()
        log.unlink()
        Workspace(root).run(full_refresh=True)  # everything is stored: no inference at all
        t_noop = time.perf_counter() - t
        again = len(log.read_text().split()) if log.exists() else 0
    twice = sorted(k for k, v in calls.items() if v > 1)
    print(f"instances: {a.instances}; killed after {len(first)} computed ({t_first:.1f} s), {len(committed)} committed")
    print(f"committed predictions computed again: {len(committed & set(twice))} (target 0)")
    print(f"resumed run computed {sum(calls.values()) - len(first)} more in {t_resume:.1f} s; stored {stored}")
    print(f"computed twice: {len(twice)}, all uncommitted when killed (the batch in flight; limit 8) {twice}")
    print(f"a third run computed {again} (target 0) in {t_noop:.1f} s")


if __name__ == "__main__":
    main()
