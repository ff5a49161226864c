"""What a cold compile does and does not load: it checks UDF calls against the names alone
(compiler/udfs/names.py), never importing the UDF modules (numpy, scipy, Pillow) that only
``glc run`` needs, and the names it checks are exactly the registry's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from glc.compiler.udfs.names import UDF_NAMES
from glc.compiler.udfs.registry import UDFS
from helpers.project import copy_project


def test_the_udf_names_are_the_registry_s_in_its_order() -> None:
    assert UDF_NAMES == tuple(UDFS)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_compile_imports_no_udf_module_and_checks_udf_calls(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project", small=True)
    code = ("import json, sys; from pathlib import Path; from glc.compiler.plan import compile_project; "
            "c = compile_project(Path(sys.argv[1])); "
            "print(json.dumps({'udfs': sorted({u for n in c.nodes for u in n.udfs}), "
            "'loaded': sorted(m for m in ('numpy', 'scipy', 'PIL', 'glc.compiler.udfs.registry') "
            "if m in sys.modules)}))")
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True,
                         env=dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache")))
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["loaded"] == []
    assert got["udfs"] and set(got["udfs"]) <= set(UDF_NAMES)  # the catalog's macros call UDFs, all known


def test_spec_paths_for_messages_are_display_path_s(tmp_path: Path) -> None:
    """The loader resolves each folder once (not each file twice); every answer stays
    ``display_path``'s, for plain files, a linked file, a linked folder and a file outside."""
    from glc.compiler.errors import display_path
    from glc.compiler.loader import _RelPaths

    root = tmp_path / "project"
    (root / "specs" / "tasks").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "far.yaml").write_text("name: far\n")
    (root / "specs" / "tasks" / "a.yaml").write_text("name: a\n")
    (root / "specs" / "tasks" / "link.yaml").symlink_to(outside / "far.yaml")
    (root / "specs" / "linked").symlink_to(outside, target_is_directory=True)
    files = [root / "specs" / "tasks" / "a.yaml", root / "specs" / "tasks" / "link.yaml",
             root / "specs" / "linked" / "far.yaml", outside / "far.yaml"]
    rel = _RelPaths(root)
    assert [rel(f) for f in files] == [display_path(f, root) for f in files]
    assert rel(files[0]) == "specs/tasks/a.yaml" and rel(files[1]) == str(files[1])


def test_a_compile_and_its_cache_entry_run_with_the_cyclic_collector_paused(tmp_path: Path, monkeypatch) -> None:
    """The cyclic collector is off while specs are loaded and SQL rendered and while the cache entry is
    written and read back (compiler/gc_pause.py: a quarter of a cold compile's CPU), and on again after,
    also when the compile fails; a caller that turned it off keeps it off."""
    import gc

    from glc.compiler import loader, project_cache
    from glc.compiler.errors import SpecErrors
    from glc.compiler.gc_pause import cyclic_gc_paused
    from glc.compiler.plan import compile_project

    root = copy_project(tmp_path / "project", small=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(project_cache.ENV_DISABLE, raising=False)
    seen: dict[str, list[bool]] = {"load_specs": [], "save": [], "restore": []}
    real_load, real_save, real_restore = loader.load_specs, project_cache.save, project_cache._restore

    def load_specs(*args, **kwargs):
        seen["load_specs"].append(gc.isenabled())
        return real_load(*args, **kwargs)

    def save(*args, **kwargs):
        seen["save"].append(gc.isenabled())
        return real_save(*args, **kwargs)

    def restore(*args, **kwargs):
        seen["restore"].append(gc.isenabled())
        return real_restore(*args, **kwargs)

    monkeypatch.setattr(loader, "load_specs", load_specs)
    monkeypatch.setattr(project_cache, "save", save)
    monkeypatch.setattr(project_cache, "_restore", restore)
    assert gc.isenabled()
    compiled = project_cache.cached_compile(root)
    # the miss: loaded and saved paused (save reads its entry back: one restore)
    assert seen == {"load_specs": [False], "save": [False], "restore": [False]} and gc.isenabled()
    assert project_cache.cached_compile(root) == compiled and gc.isenabled()
    assert seen == {"load_specs": [False], "save": [False], "restore": [False, False]}  # the hit: paused too

    spec = root / "specs" / "benchmarks" / "mini.yaml"
    good = spec.read_bytes()
    spec.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecErrors):
        compile_project(root)
    assert gc.isenabled()  # a failed compile turns it back on
    spec.write_bytes(good)

    with cyclic_gc_paused():  # nested, and a caller's own pause is kept
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        compile_project(root)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_pauses_in_two_threads_leave_the_collector_as_the_first_found_it() -> None:
    """The collector's switch is one per process: a pause that begins while another thread's is in
    progress, and ends after it, keeps the collector off to its end and turns it back on then."""
    import gc
    import threading

    from glc.compiler.gc_pause import cyclic_gc_paused

    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with cyclic_gc_paused():
            a_in.set()
            assert b_in.wait(10)
        a_out.set()

    def second() -> None:
        assert a_in.wait(10)
        with cyclic_gc_paused():
            b_in.set()
            assert a_out.wait(10)
            seen.append(gc.isenabled())  # the other pause has ended: still off here

    assert gc.isenabled()
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == [False] and gc.isenabled()
