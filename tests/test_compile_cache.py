"""The compile cache: sqlglot's work per model kept by content, in memory and as JSON in the user's cache.

A hit must give byte-identical nodes, any change of what a model's compiled form depends on must
miss, a broken model must be reported even when an earlier version was cached, and a damaged cache
file must be ignored.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from glc.compiler import nodes
from glc.compiler.errors import GlcError
from glc.compiler.plan import compile_project
from helpers.project import copy_project


@pytest.fixture
def fresh_memo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts with an empty in-process memo (the file cache is what is tested) and its
    own user cache folder."""
    monkeypatch.setattr(nodes, "_PROCESS_CACHE", nodes.CompileCache())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


def _nodes(root: Path) -> dict[str, str]:
    return {n.name: n.sql for n in compile_project(root).nodes}


@pytest.fixture(scope="module")
def _cached_saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The small project compiled once per module from nothing (empty memo, no cache file): ``live/`` (the
    project ``p`` and the user cache holding its compile cache file), a copy of it, ``saved/``, and the nodes
    that cold compile gave."""
    base = tmp_path_factory.mktemp("cached")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nodes, "_PROCESS_CACHE", nodes.CompileCache())
        mp.setenv("XDG_CACHE_HOME", str(base / "live" / "user-cache"))
        cold = _nodes(copy_project(base / "live" / "p", small=True))
    shutil.copytree(base / "live", base / "saved")
    return base, cold


@pytest.fixture
def cached(_cached_saved: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str]]:
    """A project whose compile cache file an earlier process wrote (the module's cold compile): the saved copy
    restored at the path it was compiled at (the file is named by the project's path), an empty memo, and the
    cold compile's nodes. Each test changes its own restored copy."""
    base, cold = _cached_saved
    live = base / "live"
    shutil.rmtree(live)
    shutil.copytree(base / "saved", live)
    monkeypatch.setattr(nodes, "_PROCESS_CACHE", nodes.CompileCache())
    monkeypatch.setenv("XDG_CACHE_HOME", str(live / "user-cache"))
    root = live / "p"
    assert json.loads(nodes.compile_cache_path(root).read_text())["qualified"]  # what the cold compile wrote
    return root, cold


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_cache_hit_gives_identical_nodes_and_a_change_misses(tmp_path: Path, fresh_memo: None,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_project(tmp_path / "p", small=True)
    first = _nodes(root)
    cache_file = nodes.compile_cache_path(root)
    assert not cache_file.is_relative_to(root)  # a project cannot bring its own compiled SQL
    doc = json.loads(cache_file.read_text())  # data only: JSON, never pickle
    assert doc["format"] == nodes.CompileCache.FORMAT and len(doc["qualified"]) == len(first)
    # a new process (empty memo) reads the file and qualifies nothing
    monkeypatch.setattr(nodes, "_PROCESS_CACHE", nodes.CompileCache())
    calls: list[str] = []
    real = nodes._qualify
    monkeypatch.setattr(nodes, "_qualify", lambda m, t, s: calls.append(m.name) or real(m, t, s))
    assert _nodes(root) == first and calls == []
    # a changed template misses for that model and everything whose inputs changed, nothing else
    path = root / "sql" / "models" / "task_sota.sql"
    path.write_text(path.read_text().replace("SELECT", "SELECT DISTINCT", 1))
    changed = _nodes(root)
    assert "DISTINCT" in changed["task_sota"] and "task_sota" in calls
    assert set(calls) < set(first)  # not everything was qualified again
    assert {n for n in first if first[n] != changed[n]} == {"task_sota"}


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_broken_model_is_reported_although_an_older_version_was_cached(
        cached: tuple[Path, dict[str, str]]) -> None:
    root, _ = cached  # the older version is in the cache file
    path = root / "sql" / "models" / "task_sota.sql"
    path.write_text(path.read_text().replace("SELECT", "SELECT no_such_column,", 1))
    with pytest.raises(GlcError) as info:
        _nodes(root)
    assert "task_sota" in info.value.format() and "no_such_column" in info.value.format()


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"format": 2, "salt": "x", "refs": 5}', b"\xff\xfe"])
def test_a_damaged_cache_file_is_ignored(cached: tuple[Path, dict[str, str]], damage: bytes) -> None:
    root, cold = cached
    first = _nodes(root)  # read from the file: what the cold compile gave
    assert first == cold
    cache_file = nodes.compile_cache_path(root)
    cache_file.write_bytes(damage)
    assert _nodes(root) == first
    assert json.loads(cache_file.read_text())["format"] == nodes.CompileCache.FORMAT  # rewritten whole
