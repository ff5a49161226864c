"""What a program started by the command runner gives back is bounded.

A program allowed by the user's profile may still be driven by a stranger's spec and data. Its stdout
is read as it comes and stopped past ``MAX_STDOUT_BYTES``: three programs printing 200 MiB each made
three "answers" of 200 MiB and a 3.9 GB glc. Such an instance fails with its reason; the others are
kept.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import glc.runners.command as command
import pytest
import yaml
from helpers.metric_project import add_task, allow_command, model_spec, new_project

from glc.workspace import Workspace


@pytest.mark.timeout(120)  # a hang guard
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_program_printing_past_the_stdout_cap_fails_its_instance_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command, "MAX_STDOUT_BYTES", 64 << 10)
    root = new_project(tmp_path / "p")
    tid = add_task(root, "acc", "text", [(i, {"a": i}, [i]) for i in ("q0", "flood", "q1")])
    path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["inference"] = {"type": "qa", "prompt": "{{ input.a }}"}
    path.write_text(yaml.safe_dump(spec))
    # 'flood' prints 64 KiB every 10 ms for ever; the cap stops it long before its timeout_s
    code = ("import sys, time\n"
            "while sys.argv[1] == 'flood':\n    sys.stdout.write('x' * 65536); sys.stdout.flush(); time.sleep(0.01)\n"
            "print(sys.argv[1])\n")
    argv = ["{{ python }}", "-c", code, "{{ prompt }}"]
    allow_command(root, argv)
    model_spec(root, "m", [{"runner": "command", "args": {"argv": argv, "timeout_s": 20}}])
    result = Workspace(root).run()
    [(_, _, iid, err)] = result.inference.failed
    assert iid == "flood"
    assert "printed more than 64 KiB to stdout and was stopped" in err, err
    con = duckdb.connect(str(root / "target" / "general-bench.duckdb"), read_only=True)
    rows = dict(con.execute("SELECT instance_id, output FROM predictions WHERE task_id = ?", [tid]).fetchall())
    con.close()
    assert rows == {"q0": "q0", "flood": None, "q1": "q1"}
