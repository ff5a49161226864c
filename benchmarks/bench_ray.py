"""Local runners on Ray: a ``command``-runner job whose instances each sleep 100 ms, on a local Ray
cluster with 4 worker slots vs the in-process runner with 1 worker, in the same run.

Prints both times (repeated; min and median), the ratio and whether the predictions are identical,
for the inference job (what the target is about: ``glc run``'s inference stage, Ray actors' start
included) and for the whole ``glc run`` (compile, data loading and the SQL build added, the same on
both sides). Target: inference ratio >= 3x, results identical. Run: python benchmarks/bench_ray.py [--instances 384]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers.metric_project import allow_command, model_spec, new_project, qa_task, sql_rows  # noqa: E402

from glc.workspace import Workspace  # noqa: E402

PROGRAM = "import sys, time; time.sleep(0.1); print(sys.argv[1].split(':')[-1].strip())"


def project(dest: Path, n: int, ray_workers: int | None) -> Path:
    root = new_project(dest)
    qa_task(root, n=n)
    argv = ["{{ python }}", "-S", "-c", PROGRAM, "{{ prompt }}"]  # -S: no site packages, a fast start
    allow_command(root, argv)
    model_spec(root, "sleepy", [{"runner": "command", "args": {"argv": argv, "workers": 1}}])
    if ray_workers:
        prof = root / "profiles.yml"
        head, sep, tail = prof.read_text().partition("\ncommands:")
        prof.write_text(head + f"\nrunner_backend: ray\nray: {{workers: {ray_workers}, batch_size: 4, "
                        "num_cpus: 0.5}\n" + sep + tail)
    return root


def timed_run(root: Path) -> tuple[float, float, list[tuple]]:
    """(whole glc run seconds, its inference stage's seconds, the predictions)."""
    ws = Workspace(root)
    t = time.perf_counter()
    result = ws.run()
    seconds = time.perf_counter() - t
    assert result.inference is not None
    return seconds, result.inference.seconds, sql_rows(
        ws, "SELECT instance_id, output, content_key, error FROM predictions ORDER BY ALL")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 384 instances (~45 s in process): Ray's one-time cost per run (starting 4 actor processes and
    # importing the runner in each, ~2 s on 2 cores) is then a small share, as in a real job
    ap.add_argument("--instances", type=int, default=384)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # the cluster, up before timing
    work = Path(tempfile.mkdtemp(prefix="glc-bench-ray-"))
    try:
        runs: dict[str, list[tuple[float, float]]] = {"local": [], "ray": []}
        same = True
        for i in range(a.repeat):  # paired: one of each per round
            t_local, i_local, rows_local = timed_run(project(work / f"local{i}", a.instances, None))
            t_ray, i_ray, rows_ray = timed_run(project(work / f"ray{i}", a.instances, 4))
            runs["local"].append((i_local, t_local))
            runs["ray"].append((i_ray, t_ray))
            same = same and rows_local == rows_ray and len(rows_ray) == a.instances
        for k, what in enumerate(("inference job", "whole glc run")):
            loc = [r[k] for r in runs["local"]]
            ray_ = [r[k] for r in runs["ray"]]
            ratios = [lo / r for lo, r in zip(loc, ray_, strict=True)]
            target = (f" (target >= 3x: {'met' if statistics.median(ratios) >= 3 else 'MISSED'})" if k == 0 else "")
            print(f"{what}: in-process, 1 worker {min(loc):.2f} / {statistics.median(loc):.2f} s; Ray, 4 worker "
                  f"slots {min(ray_):.2f} / {statistics.median(ray_):.2f} s (min / median); ratio min "
                  f"{min(ratios):.2f}x, median {statistics.median(ratios):.2f}x{target}")
        print(f"predictions identical: {same}")
    finally:
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
