"""Local runners on a real (local) Ray cluster: ``runner_backend: ray`` in profiles.yml."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.metric_project import allow_command, model_spec, new_project, qa_task, sql_rows

from glc.workspace import Workspace

pytestmark = pytest.mark.slow  # starts a Ray cluster (several seconds on two cores)

# answers the number in the prompt after a short sleep; on the instance named in argv[3], the first
# time (no marker file yet), it kills the Ray worker process that runs it (its parent)
PROGRAM = """
import os, sys, time, pathlib
iid, prompt, victim, marker = sys.argv[1], sys.argv[2], sys.argv[3], pathlib.Path(sys.argv[4])
time.sleep(0.1)
if iid == victim and not marker.exists():
    marker.write_text(str(os.getppid()))
    os.kill(os.getppid(), 9)
print(prompt.split(':')[-1].strip())
"""


@pytest.fixture(scope="module", autouse=True)
def ray_cluster():
    import ray

    yield
    if ray.is_initialized():
        ray.shutdown()


def _project(tmp: Path, victim: str, marker: Path) -> Path:
    root = new_project(tmp / "p")
    qa_task(root, n=12)
    argv = ["{{ python }}", "-c", PROGRAM, "{{ instance_id }}", "{{ prompt }}", victim, str(marker)]
    allow_command(root, argv)
    model_spec(root, "sleepy", [{"runner": "command", "args": {"argv": argv}}])
    return root


def _ray_profile(root: Path, workers: int = 4, batch: int = 2) -> None:
    prof = root / "profiles.yml"
    text = prof.read_text()
    head, sep, tail = text.partition("\ncommands:")  # the commands list stays last
    prof.write_text(head + f"\nrunner_backend: ray\nray: {{workers: {workers}, batch_size: {batch}, "
                    "max_retries: 2, num_cpus: 0.5}\n" + sep + tail)


def test_ray_workers_give_the_same_predictions_as_a_local_run(tmp_path: Path) -> None:
    marker = tmp_path / "unused.txt"  # the same argv (and so the same content keys) in both projects
    local = _project(tmp_path / "a", "none", marker)
    Workspace(local).run()
    on_ray = _project(tmp_path / "b", "none", marker)
    _ray_profile(on_ray)
    result = Workspace(on_ray).run()
    assert result.inference is not None and not result.inference.failed and not result.inference.job_errors
    q = "SELECT instance_id, output, content_key, error FROM predictions ORDER BY instance_id"
    rows_local, rows_ray = sql_rows(Workspace(local), q), sql_rows(Workspace(on_ray), q)
    assert len(rows_ray) == 12 and rows_ray == rows_local  # same outputs, same content keys
    assert {r[0] for r in sql_rows(Workspace(on_ray), "SELECT backend_version FROM predictions")} \
        and all("(ray)" in r[0] for r in sql_rows(Workspace(on_ray), "SELECT backend_version FROM predictions"))
    # nothing left to do afterwards: resume logic is the local one
    assert sum(len(j.requests) for j in Workspace(on_ray).plan().jobs) == 0


def test_a_killed_worker_s_batch_runs_again(tmp_path: Path) -> None:
    marker = tmp_path / "killed.txt"
    root = _project(tmp_path, "q5", marker)
    _ray_profile(root)
    result = Workspace(root).run()
    assert marker.exists()  # the worker running q5 was killed once
    assert result.inference is not None and not result.inference.failed, result.inference.failed
    rows = sql_rows(Workspace(root), "SELECT instance_id, output, error FROM predictions ORDER BY instance_id")
    assert len(rows) == 12 and all(err is None and out == iid[1:] for iid, out, err in rows)
