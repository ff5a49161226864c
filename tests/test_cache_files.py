"""The user's cache folder stays bounded: glc keeps the entries of each kind used last."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from glc.compiler import cache_files
from glc.compiler.project_cache import cache_path, cached_compile
from helpers.project import copy_project


def _fake(folder: Path, n: int, age_s: float, tag: str) -> list[Path]:
    """``n`` entries named as glc names them, the oldest ``age_s`` seconds old, one second apart."""
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    out = []
    for k in range(n):
        p = folder / f"{tag}{k:0{20 - len(tag)}x}.json"
        p.write_text("{}")
        os.utime(p, (now - age_s + k, now - age_s + k))
        out.append(p)
    return out


def test_keep_newest_removes_the_oldest_entries_and_stale_temporaries_only(tmp_path: Path) -> None:
    folder = tmp_path / "kind"
    entries = _fake(folder, 70, 1000, "a")
    old_tmp, fresh_tmp = folder / f"{'b' * 20}.json.123.tmp", folder / f"{'c' * 20}.json.456.tmp"
    for p, age in ((old_tmp, 120), (fresh_tmp, 1)):
        p.write_text("partial")
        os.utime(p, (time.time() - age, time.time() - age))
    foreign = [folder / "notes.txt", folder / "ABCDEF0123456789ABCD.json", folder / "short.json"]
    for p in foreign:
        p.write_text("not glc's")
    assert cache_files.keep_newest(folder, keep=64) == 7
    left = {p.name for p in folder.iterdir()}
    assert left == {p.name for p in entries[6:]} | {fresh_tmp.name} | {p.name for p in foreign}
    cache_files.mark_used(entries[6])  # used now: the newest; the next oldest goes first
    assert cache_files.keep_newest(folder, keep=63) == 1 and not entries[7].exists() and entries[6].exists()
    assert cache_files.keep_newest(tmp_path / "no such folder") == 0


def test_a_compile_keeps_the_project_cache_bounded_and_marks_what_it_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = copy_project(tmp_path / "p", small=True)
    entry = cache_path(root.resolve(), None)
    others = _fake(entry.parent, cache_files.KEEP + 10, 5000, "d")
    cached_compile(root)  # a miss: compiled, its entry written, the folder trimmed
    names = {p.name for p in entry.parent.glob("*.json")}
    assert entry.name in names and len(names) == cache_files.KEEP
    assert not others[10].exists() and others[11].exists()
    os.utime(entry, (1, 1))  # as if used long ago
    cached_compile(root)  # a hit marks it used
    assert entry.stat().st_mtime > time.time() - 60
    node_cache = tmp_path / "cache" / "glc" / "compile"
    assert len(list(node_cache.glob("*.json"))) <= cache_files.KEEP
