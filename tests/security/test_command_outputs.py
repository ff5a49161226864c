"""What a program started by the command runner gives back is bounded, and only a regular file it
wrote is kept.

A program allowed by the user's profile may still be driven by a stranger's spec and data. Its
generated file must be a regular file of at most ``MAX_MEDIA_BYTES``: a link there (to
``/etc/hostname``, say) would be stored under ``target/media/`` and named by its target's content at
that moment, a FIFO or folder is not a file, and a 3 GB file is a runaway program. Its stdout is read
as it comes and stopped past ``MAX_STDOUT_BYTES``: three programs printing 200 MiB each made three
"answers" of 200 MiB and a 3.9 GB glc. Each such instance fails with its reason; the others are kept.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import glc.runners.base as runner_base
import glc.runners.command as command
import pytest
import yaml
from helpers.metric_project import add_task, allow_command, model_spec, new_project, speech_task

from glc.workspace import Workspace

# writes the instance's file at {{ output }}, or something else there, as its id says
WRITER = """import os, sys
iid, out, secret = sys.argv[1], sys.argv[2], sys.argv[3]
if iid == 'link': os.symlink(secret, out)
elif iid == 'fifo': os.mkfifo(out)
elif iid == 'dir': os.mkdir(out)
elif iid == 'big': open(out, 'wb').write(b'x' * 5000)
else: open(out, 'w').write('audio of ' + iid)
"""
READ = ["{{ python }}", "-c", "import sys; print(open(sys.argv[1]).read().split()[-1])", "{{ media.output }}"]


def _generation_task(root: Path, ids: list[str]) -> str:
    """An audio generation task whose evaluator reads each generated file back."""
    return speech_task(root, [(i, i) for i in ids], "Say {{ input.a }}", READ)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_generated_link_fifo_folder_or_oversized_file_fails_its_instance_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_base, "MAX_MEDIA_BYTES", 4096)  # 'big' writes 5,000 bytes
    root = new_project(tmp_path / "p")
    secret = tmp_path / "secret.txt"  # stands for /etc/hostname: a file of the user's outside the project
    secret.write_text("the user's secret\n")
    tid = _generation_task(root, ["a1", "link", "fifo", "dir", "big", "a2"])
    argv = ["{{ python }}", "-c", WRITER, "{{ instance_id }}", "{{ output }}", str(secret)]
    allow_command(root, argv)
    model_spec(root, "m", [{"runner": "command", "args": {"argv": argv, "result": "file"}}])
    result = Workspace(root).run()
    failed = {iid: err for _, _, iid, err in result.inference.failed}
    assert set(failed) == {"link", "fifo", "dir", "big"}, failed
    assert "is a symbolic link; glc does not follow it or store it" in failed["link"]
    assert "is a FIFO, not a regular file" in failed["fifo"]
    assert "is a folder, not a regular file" in failed["dir"]
    assert "is 5 KiB, over the 4 KiB a generated file may take" in failed["big"]
    con = duckdb.connect(str(root / "target" / "general-bench.duckdb"), read_only=True)
    rows = dict(con.execute("SELECT instance_id, output FROM predictions WHERE task_id = ?", [tid]).fetchall())
    readings = dict(con.execute("SELECT instance_id, output FROM judgments WHERE task_id = ?", [tid]).fetchall())
    con.close()
    assert {i for i, out in rows.items() if out is not None} == {"a1", "a2"}  # the others are kept
    assert readings == {"a1": "a1", "a2": "a2"}
    media = root / "target" / "media"
    kept = list(media.rglob("*"))
    assert not [p for p in kept if p.is_symlink()]  # nothing under target/media is a link
    assert sorted(p.read_text() for p in kept if p.is_file()) == ["audio of a1", "audio of a2"]
    assert secret.read_text() == "the user's secret\n"


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


def test_no_generated_file_is_followed_even_when_a_runner_says_it_is_fine(tmp_path: Path) -> None:
    """glc keeps a runner's file itself (any runner's, a plugin's too): it never follows a link there, and
    hashes and copies the file from one opened descriptor, so what it stores is what it hashed."""
    from glc.runners.base import Request, Result

    from glc.execute.inference import _keep_media, copy_hashed

    media = tmp_path / "media"
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    link = tmp_path / "out.png"
    link.symlink_to(secret)
    req = Request(key="k", instance_id="i", prompt="", output="image", output_path=link)
    out, err = _keep_media(req, Result(str(link)), media)
    assert out is None and err is not None and "is a symbolic link" in err
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    out, err = _keep_media(req, Result(str(fifo)), media)  # refused without waiting for a writer
    assert out is None and err is not None and "is a FIFO" in err
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file() or p.is_symlink()]
    # the file swapped for a link after it was opened: the opened file is what is kept
    real = tmp_path / "real.png"
    real.write_bytes(b"generated")
    fd = os.open(real, os.O_RDONLY)
    try:
        real.unlink()
        real.symlink_to(secret)
        kept = copy_hashed(fd, real, media)
    finally:
        os.close(fd)
    digest = hashlib.sha256(b"generated").hexdigest()
    assert kept == media / digest[:2] / f"{digest}.png" and not kept.is_symlink() and kept.read_bytes() == b"generated"
    assert not list((media / "tmp").iterdir())  # no partial copy left
    # a link an older glc kept at a content address is replaced by the file, never written through
    again = tmp_path / "again.png"
    again.write_bytes(b"more")
    digest = hashlib.sha256(b"more").hexdigest()
    old = media / digest[:2] / f"{digest}.png"
    old.parent.mkdir(parents=True)
    old.symlink_to(secret)
    out, err = _keep_media(req, Result(str(again)), media)
    assert (out, err) == (str(old), None) and not old.is_symlink() and old.read_bytes() == b"more"
    assert secret.read_text() == "secret" and not again.exists()  # the runner's file was copied, then removed
