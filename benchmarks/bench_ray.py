"""Local runners on Ray: a ``command``-runner job whose instances each sleep 100 ms, on a local Ray
cluster with 4 worker slots vs the in-process runner with 1 worker, in the same run.

Prints both times (repeated; min and median), the ratio and whether the predictions are identical.
Target: ratio >= 3x, results identical. Run: python benchmarks/bench_ray.py [--instances 96]
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

from metric_project import allow_command, model_spec, new_project, qa_task, sql_rows  # noqa: E402

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


def timed_run(root: Path) -> tuple[float, list[tuple]]:
    ws = Workspace(root)
    t = time.perf_counter()
    ws.run()
    seconds = time.perf_counter() - t
    return seconds, sql_rows(ws, "SELECT instance_id, output, content_key, error FROM predictions ORDER BY ALL")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=96)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # the cluster, up before timing
    work = Path(tempfile.mkdtemp(prefix="glc-bench-ray-"))
    try:
        locals_, rays, same = [], [], True
        for i in range(a.repeat):
            t_local, rows_local = timed_run(project(work / f"local{i}", a.instances, None))
            t_ray, rows_ray = timed_run(project(work / f"ray{i}", a.instances, 4))
            locals_.append(t_local)
            rays.append(t_ray)
            same = same and rows_local == rows_ray and len(rows_ray) == a.instances
        ratios = [lo / r for lo, r in zip(locals_, rays, strict=True)]
        print(f"in-process, 1 worker: {min(locals_):.2f} / {statistics.median(locals_):.2f} s (min / median)")
        print(f"Ray, 4 worker slots:  {min(rays):.2f} / {statistics.median(rays):.2f} s (min / median)")
        print(f"ratio: min {min(ratios):.2f}x, median {statistics.median(ratios):.2f}x (target >= 3x: "
              f"{'met' if statistics.median(ratios) >= 3 else 'MISSED'}); predictions identical: {same}")
    finally:
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
