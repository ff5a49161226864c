"""Binding catalog tasks to the folders of a General-Bench download (``compiler/binding.bind``): which
folder a task gets, and what is reported instead of guessed."""

from __future__ import annotations

from pathlib import Path

import pytest
from glc.compiler.binding import bind
from glc.compiler.errors import SpecErrors
from helpers.metric_project import new_project

from glc.workspace import Workspace

TASK = ("image.cat_choice", "image", "comprehension", "Cat Choice")


def _folder(root: Path, rel: str) -> None:
    (root / rel).mkdir(parents=True)
    (root / rel / "annotation.json").write_text('{"data": []}')


def test_the_same_name_under_two_spellings_of_a_modality_folder_is_reported_not_guessed(tmp_path: Path) -> None:
    """image/ and IMAGE/ both holding comprehension/Cat-Choice: one was picked, the later in sort order."""
    _folder(tmp_path, "image/comprehension/Cat-Choice")
    _folder(tmp_path, "IMAGE/comprehension/Cat-Choice")
    b = bind([TASK], tmp_path, "test", {})
    assert TASK[0] not in b.bound and b.missing == {"image": [TASK[0]]}
    [problem] = b.problems
    assert "several folders could be its own: IMAGE/comprehension/Cat-Choice, image/comprehension/Cat-Choice" \
        in problem


@pytest.mark.parametrize("copy", ["image/comprehension/Cat-Choice", "Image/Comprehension_/Cat-Choice"])
def test_the_folder_at_the_trees_own_spelling_wins_over_a_copy(tmp_path: Path, copy: str) -> None:
    """A backup beside the real folder must not unbind the task (its stored instances would leave the store)."""
    _folder(tmp_path, "Image/comprehension/Cat-Choice")
    _folder(tmp_path, copy)
    b = bind([TASK], tmp_path, "test", {})
    assert str(b.bound[TASK[0]]) == "Image/comprehension/Cat-Choice" and b.problems == []


def test_paradigm_folders_are_matched_like_modality_folders(tmp_path: Path) -> None:
    """'comprehension ' (a trailing space) left every task of the folder unbound, without a word."""
    _folder(tmp_path, "Image/Comprehension /Cat-Choice")
    b = bind([TASK], tmp_path, "test", {})
    assert str(b.bound[TASK[0]]) == "Image/Comprehension /Cat-Choice"


def test_an_alias_that_names_no_folder_says_which_folder_the_tree_has(tmp_path: Path) -> None:
    _folder(tmp_path, "Image/comprehension/Cat-Choice")
    b = bind([TASK], tmp_path, "test", {TASK[0]: "image/comprehension/cat-choice"})
    [problem] = b.problems
    assert "its folder alias 'image/comprehension/cat-choice' names no task folder of the data root" in problem
    assert "the tree has 'Image/comprehension/Cat-Choice'" in problem


@pytest.mark.parametrize("what", ["missing", "file"])
def test_a_data_root_that_is_no_folder_is_a_located_error_and_nothing_changes(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch,
                                                                            what: str) -> None:
    """$GLC_DATA (or benchmark_data: in profiles.yml) naming a folder that is not there bound no task and
    removed every stored instance as 'no longer having task data'; --data already refused it."""
    root = new_project(tmp_path / "p")
    gone = tmp_path / "not-mounted"
    if what == "file":
        gone.write_text("x")
    monkeypatch.setenv("GLC_DATA", str(gone))
    with pytest.raises(SpecErrors) as err:
        Workspace(root, benchmark="general-bench").compile(write=False)
    text = str(err.value)
    assert str(gone) in text and "from $GLC_DATA" in text
    assert ("does not exist" if what == "missing" else "is not a folder") in text
