"""`kill -9` in the middle of `glc run` loses at most the batch in flight; the next run resumes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
from helpers.metric_project import echo_model, new_project, qa_task

from glc.workspace import Workspace

BATCH = 8  # glc run commits every 8 results


def test_kill_9_then_resume(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    qa_task(root, n=60)
    log = tmp_path / "calls.log"
    echo_model(root, "echo", log=log)
    env = {**os.environ, "GLC_BENCHMARK": "general-bench"}
    proc = subprocess.Popen([sys.executable, "-m", "glc", "--project-dir", str(root), "run"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not log.exists() or len(log.read_text().split()) < 27):
        time.sleep(0.02)
    proc.kill()  # SIGKILL: no cleanup, no rollback handler
    proc.wait()
    time.sleep(0.5)  # the instance program glc had started runs to its end (it is not glc's to kill)
    before = len(log.read_text().split())
    assert 27 <= before < 60, "the run should have been killed midway"
    con = duckdb.connect(Workspace(root).target.path)
    stored = con.execute("SELECT count(*) FROM predictions").fetchone()[0]
    con.close()
    assert before - BATCH - 1 <= stored <= before and stored % BATCH == 0
    result = Workspace(root).run()
    after = len(log.read_text().split())
    assert result.inference.predicted == 60 - stored
    assert after - 60 == before - stored <= BATCH  # recomputed: only what was in flight
    con = duckdb.connect(Workspace(root).target.path, read_only=True)
    n, distinct, score = con.execute("SELECT count(*), count(DISTINCT instance_id), "
                                     "(SELECT score FROM task_scores WHERE model = 'echo') FROM predictions").fetchone()
    con.close()
    assert (n, distinct, score) == (60, 60, 100.0)
