"""``predictions.ReadablePaths``: whether a generated file's path may be read, each folder resolved once,
answers exactly as ``Grants.readable`` resolving every path whole: for files and folders inside and
outside the project and a data root, symbolic links either way, '.', '..', missing files and folders,
relative paths, the roots themselves and a NUL character. Generated paths over a built tree, compared."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from glc.importers.predictions import ReadablePaths
from glc.profiles import Grants


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Grants, list[str]]:
    project, data, outside = tmp_path / "project", tmp_path / "data", tmp_path / "outside"
    for folder in (project / "out" / "img", data / "gen", outside / "secret"):
        folder.mkdir(parents=True)
    for folder in (project / "out", project / "out" / "img", data / "gen", outside / "secret"):
        for name in ("a.png", "b.wav"):
            (folder / name).write_bytes(b"x")
    (project / "out" / "to_secret").symlink_to(outside / "secret")  # a folder link leading out
    (project / "out" / "img" / "leak.png").symlink_to(outside / "secret" / "a.png")  # a file link leading out
    (outside / "secret" / "back.png").symlink_to(project / "out" / "a.png")  # a file link leading in
    (outside / "in_data").symlink_to(data / "gen")  # a folder link leading in
    (project / "out" / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    (project / "out" / "loop").symlink_to(project / "out" / "loop")
    monkeypatch.chdir(project / "out")  # relative paths resolve against the working folder
    grants = Grants(root=project.resolve(), data_roots=(data.resolve(),))
    folders = [str(project), str(project / "out"), str(project / "out" / "img"), str(project / "out" / "to_secret"),
               str(data), str(data / "gen"), str(outside), str(outside / "secret"), str(outside / "in_data"),
               "img", "to_secret", ".", "..", "../..", "missing", str(tmp_path / "missing"), "", "/"]
    names = ["a.png", "b.wav", "leak.png", "back.png", "dangling.png", "loop", "missing.png", ".", "..", "gen",
             "data", "project", "out", "img", "a.png/", "x\0y.png"]
    paths = [os.path.join(f, n) if f else n for f in folders for n in names]
    paths += [str(project), str(data), str(data) + "/", "a.png", "./a.png", "img/../a.png", "img/./a.png",
              "to_secret/../a.png", "//" + str(data / "gen" / "a.png").lstrip("/")]
    return grants, paths


def test_each_path_answers_as_resolving_it_whole(tree: tuple[Grants, list[str]]) -> None:
    grants, paths = tree
    readable = ReadablePaths(grants)
    answers = [(text, readable(text), grants.readable(Path(text))) for text in paths]
    assert [a for a in answers if a[1] != a[2]] == []
    assert any(a[1] for a in answers) and not all(a[1] for a in answers)
    rng = random.Random(0)
    for text in rng.choices(paths, k=2000):  # asked again in any order: the folders it kept give the same
        assert readable(text) == grants.readable(Path(text)), text


def test_a_file_replaced_by_a_link_after_its_folder_was_resolved(tree: tuple[Grants, list[str]],
                                                                  tmp_path: Path) -> None:
    grants, _ = tree
    readable = ReadablePaths(grants)
    target = tmp_path / "project" / "out" / "img" / "b.wav"
    assert readable(str(target)) is True
    target.unlink()
    target.symlink_to(tmp_path / "outside" / "secret" / "b.wav")
    assert readable(str(target)) is False  # each file is looked at again; only its folder is remembered
