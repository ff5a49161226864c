"""A project bound to a General-Bench data folder is kept by the compile cache too: a second compile
with nothing changed reads it back, and every change of the data folder that can change the
binding (a task folder added, removed or renamed, an annotation.json added, removed or rewritten,
a modality or paradigm folder renamed, another data folder) compiles again, to what a fresh
compile gives."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from glc.compiler import project_cache
from glc.compiler.plan import compile_project
from helpers.gb_tree import write_tree
from helpers.project import copy_project

BENCH = "general-bench"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("bind")
    root = copy_project(base / "p", small=True)
    names = [spec["name"] for f in sorted((root / "specs" / "tasks").rglob("*.yaml"))
             if (spec := yaml.safe_load(f.read_text())).get("type")]
    tree = base / "gb"
    write_tree(tree, size="small", per_task=2, tasks=names)
    return root, tree


@pytest.fixture
def setup(pristine: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root, tree = (shutil.copytree(p, tmp_path / p.name, symlinks=True) for p in pristine)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.delenv(project_cache.ENV_DISABLE, raising=False)
    monkeypatch.setenv("GLC_DATA", str(tree))
    calls: list[Path] = []

    def counted(r: Path, **kwargs: object) -> object:
        calls.append(r)
        return compile_project(r, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(project_cache, "compile_project", counted)
    return root, tree, calls


def _annotations(tree: Path) -> list[Path]:
    return sorted(tree.rglob("annotation.json"))


def test_nothing_changed_reads_the_bound_project_back(setup) -> None:
    root, tree, calls = setup
    first = project_cache.cached_compile(root, benchmark=BENCH)
    assert first.project.binding is not None and first.project.binding.bound
    second = project_cache.cached_compile(root, benchmark=BENCH)
    assert len(calls) == 1
    assert second == first and second.project.binding == first.project.binding
    # reading an annotation.json (or any media) changes nothing
    _annotations(tree)[0].read_bytes()
    project_cache.cached_compile(root, benchmark=BENCH)
    assert len(calls) == 1


def _rewrite_same_size_and_mtime(f: Path, edit) -> None:
    st = f.stat()
    doc = json.loads(f.read_text())
    edit(doc)
    text = json.dumps(doc)
    old = f.read_text()
    text = text + " " * (len(old.encode()) - len(text.encode()))
    assert len(text.encode()) == st.st_size
    f.write_text(text)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # only the change time tells


CHANGES = ["add folder", "remove folder", "rename folder", "rename modality", "rename paradigm",
           "remove annotation", "add annotation", "retype same size and time", "skill", "other data folder"]


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.slow  # a sweep of compiles, several seconds each: the full suite runs it (tests/README.md)
def test_any_change_that_can_change_the_binding_compiles_again(setup, change: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    root, tree, calls = setup
    before = project_cache.cached_compile(root, benchmark=BENCH).project.binding
    assert before is not None
    rel = sorted(before.bound.values(), key=str)[0]
    folder = tree / rel
    f = folder / "annotation.json"
    if change == "add folder":
        shutil.copytree(folder, folder.with_name("Unknown-Task-Folder"))
    elif change == "remove folder":
        shutil.rmtree(folder)
    elif change == "rename folder":  # the loose match still binds it, under its new name
        folder.rename(folder.with_name(folder.name.upper().replace("-", "_")))
    elif change == "rename modality":
        (tree / rel.parts[0]).rename(tree / (rel.parts[0] + "-old"))
    elif change == "rename paradigm":
        other = next(t for t in before.bound.values() if len(t.parts) == 3)
        (tree / other.parent).rename(tree / other.parent.with_name("elsewhere"))
    elif change == "remove annotation":
        f.unlink()
    elif change == "add annotation":
        (folder.with_name("Unknown-Task-Folder")).mkdir()
        project_cache.cached_compile(root, benchmark=BENCH)  # a folder without annotation.json binds nothing
        shutil.copy(f, folder.with_name("Unknown-Task-Folder") / "annotation.json")
    elif change == "retype same size and time":
        mc = next(t for t, r in before.bound.items() if t.startswith("image."))
        _rewrite_same_size_and_mtime(tree / before.bound[mc] / "annotation.json",
                                     lambda d: d.update(type="short_answer"))
    elif change == "skill":
        doc = json.loads(f.read_text())
        doc["skill"] = "A Skill Of Its Own"
        f.write_text(json.dumps(doc))
    elif change == "other data folder":
        other = shutil.copytree(tree, tmp_path / "elsewhere")
        shutil.rmtree(other / rel)
        monkeypatch.setenv("GLC_DATA", str(other))
    n = len(calls)
    after = project_cache.cached_compile(root, benchmark=BENCH)
    assert len(calls) == n + 1, "the change was not seen"
    monkeypatch.setenv(project_cache.ENV_DISABLE, "1")
    fresh = compile_project(root.resolve(), benchmark=BENCH)
    assert after == fresh and after.project.binding == fresh.project.binding
    assert after.project.binding != before
    monkeypatch.delenv(project_cache.ENV_DISABLE)
    assert project_cache.cached_compile(root, benchmark=BENCH) == fresh  # and that compile is kept
    assert len(calls) == n + 1
