"""Folder names of a General-Bench download come from whoever made it: printed, they are escaped.

A newline in a folder name forged a line of `glc compile`'s binding report (and of `glc ls tasks`,
and of the list of data files that did not load); an escape sequence in one reached the terminal.
Every such name is printed as ``glc.importers.safety.printable`` writes it (a newline as ``\\x0a``).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from glc.compiler.binding import bind
from glc.compiler.errors import GlcError, SpecError
from helpers.cli import glc_in_process
from helpers.metric_project import new_project

from glc.cli import _echo_data_problems
from glc.cli.listing import describe_binding, render_rows
from glc.importers.scores import Problem

FORGED = "  nlp    all tasks bound, no problem"
HOSTILE = f"\x1b[2J\x1b[32mStray\x1b[0m\n{FORGED}"
SHOWN = "\\x1b[2J\\x1b[32mStray\\x1b[0m\\x0a" + FORGED
TASK = ("image.cat_choice", "image", "comprehension", "Cat Choice")


def _folder(root: Path, rel: str) -> Path:
    (root / rel).mkdir(parents=True)
    (root / rel / "annotation.json").write_text('{"data": []}')
    return root / rel


def _clean(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text
    assert not any(line.startswith(FORGED) for line in text.splitlines()), text


def test_the_binding_report_escapes_folder_names(tmp_path: Path) -> None:
    _folder(tmp_path, "Image/comprehension/Cat-Choice")
    _folder(tmp_path, f"Image/comprehension/{HOSTILE}")
    # two whose letters are a task's (loose matches): named in a problem, not guessed
    _folder(tmp_path, "Image/comprehension/Dog\x1b\x07\n-Choice")
    _folder(tmp_path, "Image/comprehension/Dog_Choice")
    b = bind([TASK, ("image.dog_choice", "image", "comprehension", "Dog choice!")], tmp_path, "test", {})
    assert b.problems and len(b.unmatched) == 3
    text = describe_binding(SimpleNamespace(binding=b))
    _clean(text)
    assert f"Image/comprehension/{SHOWN}" in text and "Image/comprehension/Dog\\x1b\\x07\\x0a-Choice" in text
    assert "problem: task 'image.dog_choice': several folders could be its own: Image/comprehension/Dog\\x1b" in text
    assert len(text.splitlines()) == 4, text  # data:, image, the folders matching no task, the problem


def test_task_listings_escape_every_cell() -> None:
    text = render_rows([{"task_id": "image.cat_choice", "data": f"Image/comprehension/Cat\x1b[8m\n{FORGED}"}])
    _clean(text)
    assert len(text.splitlines()) == 2 and "Cat\\x1b[8m\\x0a" in text


def test_data_files_that_did_not_load_are_named_escaped() -> None:
    where = f"/data/NLP/Cat\n{FORGED}/annotation.json:1"
    ws = SimpleNamespace(data_removed=[], data_failed=[], prompt_failures=[],
                         data_problems=[Problem(where, "bad JSON: Expecting value\x1b[2J", "fix\nthe file")])
    said: list[str] = []
    _echo_data_problems(ws, echo=lambda text="", err=False: said.append(str(text)))
    text = "\n".join(said)
    _clean(text)
    assert f"  /data/NLP/Cat\\x0a{FORGED}/annotation.json:1: bad JSON: Expecting value\\x1b[2J" in text
    assert "hint: fix\\x0athe file" in text


def test_error_locations_are_escaped() -> None:
    _clean(GlcError("cannot read", location=f"/data/{HOSTILE}/annotation.json", hint="h").format())
    _clean(SpecError(f"specs/{HOSTILE}.yaml", 3, "bad").format())
    assert GlcError("m", location="a\nb").format() == "a\\x0ab: m"


@pytest.mark.slow  # several seconds: the fast tier keeps the cases above (tests/README.md)
def test_compile_and_ls_tasks_print_hostile_folder_names_escaped(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    tree = tmp_path / "GB"
    _folder(tree, f"Image/comprehension/{HOSTILE}")
    # a folder that binds to a task of the small project by its letters, holding a newline
    nlp = sorted(p for p in (root / "specs/tasks").rglob("*.yaml") if "/nlp/" in p.as_posix())[0]
    folder = yaml.safe_load(nlp.read_text())["name"].replace(" ", "-") + "\n-\x1b\x07"
    _folder(tree, f"NLP/{folder}")
    env = {**os.environ, "GLC_DATA": ""}
    done = glc_in_process("--project-dir", str(root), "--benchmark", "general-bench", "--data", str(tree),
                          "compile", env=env)
    assert done.returncode == 0, done.stderr
    _clean(done.stdout)
    assert f"folder(s) match no task: Image/comprehension/{SHOWN}" in done.stdout
    listed = glc_in_process("--project-dir", str(root), "--benchmark", "general-bench", "--data", str(tree),
                            "ls", "tasks", env=env)
    assert listed.returncode == 0, listed.stderr
    _clean(listed.stdout)
    assert "NLP/" + folder.replace("\n", "\\x0a").replace("\x1b", "\\x1b").replace("\x07", "\\x07") \
        in listed.stdout
