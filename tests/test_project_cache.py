"""The whole-project compile cache: a command whose inputs did not change reads the compiled project
back (JSON, never pickle) instead of compiling; any change of what a compile reads compiles again.

Every test compiles a small copy of the project twice and checks whether the second compile was
read from the cache (compile_project not called) and that what it gives equals a fresh compile. (The
``primed`` tests start from a copy whose first compile the module made once, restored at its path: their
first compile is read from the cache, and the tests that count compiles check that it was. A test that needs
a compile of its own first, or counts one, starts from ``root``.)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path, PurePosixPath

import pytest
from glc.compiler import project_cache
from glc.compiler.plan import compile_project
from helpers.project import copy_project


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.delenv(project_cache.ENV_DISABLE, raising=False)
    return copy_project(tmp_path / "p", small=True)


@pytest.fixture(scope="module")
def _primed_saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small project compiled once per module through the cache: ``live/`` (the project ``p`` and the user
    cache holding its entry) and a copy of it, ``saved/``."""
    base = tmp_path_factory.mktemp("primed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(base / "live" / "user-cache"))
        mp.delenv(project_cache.ENV_DISABLE, raising=False)
        project_cache.cached_compile(copy_project(base / "live" / "p", small=True))
    shutil.copytree(base / "live", base / "saved")
    return base


@pytest.fixture
def primed(_primed_saved: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Like ``root``, with its compiled project already in the user cache: the saved copy restored at the path it
    was compiled at (the entry is named by the project's path). Each test changes its own restored copy."""
    live = _primed_saved / "live"
    shutil.rmtree(live)
    shutil.copytree(_primed_saved / "saved", live)
    monkeypatch.setenv("XDG_CACHE_HOME", str(live / "user-cache"))
    monkeypatch.delenv(project_cache.ENV_DISABLE, raising=False)
    return live / "p"


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record the compiles that really ran."""
    calls: list[Path] = []

    def counted(root: Path, **kwargs: object) -> object:
        calls.append(root)
        return compile_project(root, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(project_cache, "compile_project", counted)
    return calls


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_nothing_changed_reads_the_cache_and_gives_the_same_project(root: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _compiles(monkeypatch)
    first = project_cache.cached_compile(root)
    second = project_cache.cached_compile(root)
    assert len(calls) == 1
    assert second == first and second == compile_project(root)
    assert [lv.name for lv in second.project.variants] == [lv.name for lv in first.project.variants]
    entry = project_cache.cache_path(root.resolve(), None)
    assert not entry.is_relative_to(root)  # a project cannot bring its own compiled project
    doc = json.loads(entry.read_bytes())  # data only: JSON
    assert doc["format"] == project_cache.FORMAT and doc["key"]


# a compile per change, seconds each: the fast tier runs "spec" and "profiles", the full suite all
@pytest.mark.parametrize("change", ["spec", "profiles", *(pytest.param(c, marks=pytest.mark.slow) for c in (
    "new spec", "removed spec", "sql template", "sql macro", "task list", "glc version", "glc source",
    "benchmark choice"))])
def test_a_change_of_any_input_compiles_again(primed: Path, monkeypatch: pytest.MonkeyPatch, change: str,
                                              request: pytest.FixtureRequest) -> None:
    root = primed
    calls = _compiles(monkeypatch)
    project_cache.cached_compile(root)
    assert calls == []  # unchanged: the entry the module's compile wrote
    task = sorted((root / "specs" / "tasks").rglob("*.yaml"))[0]
    if change == "spec":
        task.write_text(task.read_text() + "\n# a comment changes the bytes\n")
    elif change == "new spec":
        (root / "specs" / "metrics" / "zz_extra.yaml").write_text((root / "specs" / "metrics" / "acc.yaml").read_text()
                                                                   .replace("name: acc", "name: zz_extra"))
    elif change == "removed spec":
        (root / "specs" / "tests" / "data_quality.yaml").unlink()
    elif change == "sql template":
        path = root / "sql" / "models" / "task_sota.sql"
        path.write_text(path.read_text().replace("SELECT", "SELECT DISTINCT", 1))
    elif change == "sql macro":
        path = root / "sql" / "macros" / "normalize.sql"
        path.write_text(path.read_text() + "\n")
    elif change == "task list":
        path = root / "data" / "general-bench" / "quick_tasks.txt"
        path.write_text(path.read_text() + "# another comment\n")
    elif change == "profiles":
        path = root / "profiles.yml"
        path.write_text(path.read_text() + "\n# edited\n")
    elif change == "glc version":
        monkeypatch.setattr(project_cache, "GLC_VERSION", "99.0")
        project_cache._code_salt.cache_clear()
        request.addfinalizer(project_cache._code_salt.cache_clear)  # the salt of the real version again
    elif change == "glc source":
        real = project_cache._code_salt()
        monkeypatch.setattr(project_cache, "_code_salt", lambda: real + "-edited")
    elif change == "benchmark choice":
        monkeypatch.setenv("GLC_BENCHMARK", "mini")
    got = project_cache.cached_compile(root)
    assert len(calls) == 1, f"a changed {change} was read from the cache"
    assert got == compile_project(root)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_changed_spec_is_seen_in_the_result(primed: Path) -> None:
    root = primed  # its compiled project already in the user cache (the module's compile)
    project_cache.cached_compile(root)
    task = next(p for p in sorted((root / "specs" / "tasks").rglob("*.yaml")) if "  value: " in p.read_text())
    text = task.read_text()
    line = next(x for x in text.splitlines() if x.startswith("  value: "))
    task.write_text(text.replace(line, "  value: 0.5", 1))
    got = project_cache.cached_compile(root)
    task_id = next(x for x in text.splitlines() if x.startswith("id: "))[4:].strip()
    assert {t.id: t.spec.sota.value for t in got.project.tasks}[task_id] == 0.5
    assert got.seeds["tasks"] == compile_project(root).seeds["tasks"]


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"format": 1, "key": "x"}', b"\xff\xfe", b"[1, 2]"])
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_damaged_or_foreign_entry_is_a_miss_and_is_rewritten(primed: Path, monkeypatch: pytest.MonkeyPatch,
                                                               damage: bytes) -> None:
    root = primed
    calls = _compiles(monkeypatch)
    first = project_cache.cached_compile(root)
    assert calls == []  # the entry the module's compile wrote; the damaged entry's miss compiles it again
    entry = project_cache.cache_path(root.resolve(), None)
    entry.write_bytes(damage)
    assert project_cache.cached_compile(root) == first and len(calls) == 1
    assert json.loads(entry.read_bytes())["format"] == project_cache.FORMAT


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_tampered_entry_with_the_right_key_is_still_validated(primed: Path) -> None:
    """An entry is data: a spec value it holds is validated again (an invalid one is a miss)."""
    root = primed  # its compiled project already in the user cache (the module's compile)
    first = project_cache.cached_compile(root)
    entry = project_cache.cache_path(root.resolve(), None)
    doc = json.loads(entry.read_bytes())
    doc["compiled"]["project"]["tasks"][0][0]["modality"] = "smell"
    entry.write_text(json.dumps(doc))
    assert project_cache.cached_compile(root) == first


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_tampered_entry_with_valid_specs_is_a_miss(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Specs are read back without validation: any byte of the compiled data changed after the entry
    was written (here a valid value, rewritten by orjson as glc writes) is a miss, not a project."""
    import orjson

    calls = _compiles(monkeypatch)
    first = project_cache.cached_compile(root)
    entry = project_cache.cache_path(root.resolve(), None)
    text = entry.read_bytes()
    value = first.project.tasks[0].spec.name
    assert text.count(orjson.dumps(value)) >= 1
    entry.write_bytes(text.replace(orjson.dumps(value), orjson.dumps(value[:-1] + "X"), 1))
    assert project_cache.cached_compile(root) == first and len(calls) == 2
    assert project_cache.cached_compile(root) == first and len(calls) == 2  # rewritten, read back


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_specs_read_back_are_what_validation_gives(primed: Path) -> None:
    """Every spec of a hit has the class, the values (of the same types), the defaults and the fields
    set that validating its YAML gave, without the spec classes' validators being built."""
    root = primed  # its compiled project already in the user cache (the module's compile)
    from pydantic import BaseModel

    compiled = compile_project(root)
    project_cache.cached_compile(root)
    hit = project_cache.cached_only(root)
    assert hit is not None and hit == compiled
    assert project_cache._same_specs(hit.project, compiled.project)
    sota = [t.spec.sota.value for t in hit.project.tasks if t.spec.sota is not None]
    assert sota and all(type(v) is float for v in sota)
    assert hit.project.tasks[0].spec.model_fields_set == compiled.project.tasks[0].spec.model_fields_set
    assert all(isinstance(m.range, BaseModel) and not m.range.model_fields_set or "range" in m.model_fields_set
               for m in hit.project.metrics)  # a default spec: constructed, no field set
    assert {type(m.normalization).__name__ for m in hit.project.metrics} >= {"IdentityNorm", "LinearNorm"}
    # the check ``save`` makes before it writes an entry sees an int where validation gives a float
    changed = project_cache._restore(_with_an_int_bound(project_cache._dump(compiled)))
    assert changed == compiled and not project_cache._same_specs(changed.project, compiled.project)


def _with_an_int_bound(data: dict) -> dict:
    """The first metric range bound that is a whole number, as an int (equal, another type)."""
    for metric in data["project"]["metrics"]:
        bound = metric.get("range", {}).get("min")
        if isinstance(bound, float) and bound.is_integer():
            metric["range"]["min"] = int(bound)
            return data
    raise AssertionError("no whole-number range bound in the metric specs")


def test_a_hit_builds_no_spec_validator(primed: Path) -> None:
    """What made reading an entry back slow: building every spec class's pydantic validator."""
    root = primed  # its compiled project already in the user cache (the module's compile)
    import os
    import subprocess
    import sys

    project_cache.cached_compile(root)
    code = ("import sys; from pathlib import Path; from glc.compiler import project_cache as pc, spec_models as sm\n"
            "assert pc.cached_only(Path(sys.argv[1])) is not None\n"
            "built = [n for n, c in vars(sm).items() if isinstance(c, type) and issubclass(c, sm.Spec)"
            " and c is not sm.Spec and c.__pydantic_complete__]\n"
            "assert built == [], built\n")
    done = subprocess.run([sys.executable, "-c", code, str(root)], env=os.environ.copy(), capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_the_cache_can_be_turned_off(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _compiles(monkeypatch)
    monkeypatch.setenv(project_cache.ENV_DISABLE, "1")
    project_cache.cached_compile(root)
    project_cache.cached_compile(root)
    assert len(calls) == 2


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_project_bound_to_a_data_folder_is_cached_by_the_folder_layout(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    """(Every kind of data folder change: tests/test_binding_cache.py.)"""
    calls = _compiles(monkeypatch)
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("GLC_DATA", str(tmp_path / "data"))
    compiled = project_cache.cached_compile(root)
    assert compiled.project.binding is not None
    assert project_cache.cached_compile(root) == compiled
    assert len(calls) == 1
    task = tmp_path / "data" / "NLP" / "Some-Task"
    task.mkdir(parents=True)
    (task / "annotation.json").write_text('{"data": []}')
    again = project_cache.cached_compile(root)
    assert len(calls) == 2 and again.project.binding is not None
    assert again.project.binding.unmatched == [PurePosixPath("NLP/Some-Task")]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_the_reference_kinds_of_metric_macros_are_compiled_cached_and_follow_a_macro_edit(primed: Path) -> None:
    """``glc compile``/``run`` name tasks whose reference a metric cannot read; the kinds come with the
    compile (and its cache entry) and equal what each macro template declares."""
    root = primed  # its compiled project already in the user cache (the module's compile)
    from glc.compiler.render import metric_references

    from glc.cli.listing import reference_kinds_read

    first = project_cache.cached_compile(root)
    second = project_cache.cached_compile(root)  # read from the entry
    sql = root.resolve() / "sql"
    expected = {m.name: metric_references(sql, root.resolve(), m.implementation.macro)
                for m in first.project.metrics if m.implementation is not None}
    assert first.references == second.references == expected
    assert reference_kinds_read(second) == expected
    assert reference_kinds_read(replace(second, references=None)) == expected  # read from sql/ on demand
    name, kinds = next((k, v) for k, v in sorted(expected.items()) if v is not None and len(v) > 1)
    macro = next(m.implementation.macro for m in first.project.metrics if m.name == name)
    path = sql / "macros" / "metrics" / f"{macro}.sql"
    line = next(x for x in path.read_text().splitlines() if x.startswith("{% set references"))
    path.write_text(path.read_text().replace(line, "{% set references = [" + repr(kinds[0]) + "] %}"))
    again = project_cache.cached_compile(root)
    assert again.references is not None and again.references[name] == (kinds[0],)


def _writes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record the calls of write_artifacts that Workspace.compile makes."""
    from glc import workspace

    calls: list[Path] = []
    real = workspace.write_artifacts

    def counted(compiled: object, target_dir: Path) -> None:
        calls.append(target_dir)
        real(compiled, target_dir)  # type: ignore[arg-type]
    monkeypatch.setattr(workspace, "write_artifacts", counted)
    return calls


def _artifacts(target: Path) -> dict[str, bytes]:
    return {str(p.relative_to(target)): p.read_bytes()
            for p in sorted([target / "manifest.json", *(target / "compiled").rglob("*.sql")])}


@pytest.mark.parametrize("change", ["nothing", "edited file", "removed file", "stray file", "manifest", "spec",
                                    "note", "no cache"])
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_artifacts_are_written_again_exactly_when_target_does_not_hold_them(
        primed: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    root = primed  # its compiled project already in the user cache (the module's compile)
    from glc.workspace import Workspace

    calls = _writes(monkeypatch)
    Workspace(root).compile()
    target = root / "target"
    written = _artifacts(target)
    assert len(calls) == 1 and "compiled/level_scores.sql" in written
    node = target / "compiled" / "level_scores.sql"
    if change == "edited file":
        node.write_text(node.read_text() + "-- edited\n")
    elif change == "removed file":
        node.unlink()
    elif change == "stray file":
        (target / "compiled" / "tests" / "stray.sql").write_text("SELECT 1\n")
    elif change == "manifest":
        (target / "manifest.json").write_text("{}\n")
    elif change == "spec":
        path = root / "sql" / "models" / "task_sota.sql"
        path.write_text(path.read_text().replace("SELECT", "SELECT DISTINCT", 1))
    elif change == "note":
        project_cache._artifacts_path(target).write_bytes(b"\x00not json")
    elif change == "no cache":
        monkeypatch.setenv(project_cache.ENV_DISABLE, "1")
    Workspace(root).compile()
    assert len(calls) == (1 if change == "nothing" else 2)
    fresh = root.parent / "fresh"
    from glc.compiler.plan import write_artifacts

    write_artifacts(compile_project(root), fresh)
    assert _artifacts(target) == _artifacts(fresh)  # what target/ holds is what a compile writes
    if change == "spec":
        assert _artifacts(target) != written
    else:
        assert _artifacts(target) == written


def test_runner_plugins_are_read_again_only_when_their_files_change(root: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry keeps the installed runner plugins and a digest of the files they are read from:
    while those files are as they were, the plugins are not listed again; when they change, the
    plugins are, and only different plugins compile again."""
    import sys

    site = tmp_path / "site"
    dist = site / "glc_extra-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "entry_points.txt").write_text("[console_scripts]\nx = y:z\n")
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    plugins = project_cache._runner_plugins()
    listed: list[int] = []

    def counted() -> list[list[str]]:
        listed.append(1)
        return plugins if not (dist / "MORE").exists() else [*plugins, ["extra", "glc_extra:Runner", "1.0"]]
    monkeypatch.setattr(project_cache, "_runner_plugins", counted)
    calls = _compiles(monkeypatch)
    first = project_cache.cached_compile(root)
    assert first.project.models and len(calls) == 1  # the shipped model specs name runners
    listed.clear()
    assert project_cache.cached_compile(root) == first and len(calls) == 1 and listed == []
    before = project_cache._runner_files()
    (dist / "entry_points.txt").write_text("[console_scripts]\nx = y:z\nw = y:v\n")  # same plugins
    assert project_cache._runner_files() != before
    assert project_cache.cached_compile(root) == first and len(calls) == 1 and listed == [1]
    (dist / "MORE").write_text("")
    (site / "glc_more-2.0.dist-info").mkdir()  # a new distribution: its folder on the path
    assert project_cache.cached_compile(root) == first and len(calls) == 2  # other plugins: compiled again


def test_runner_files_look_only_at_metadata_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files that are no distribution's metadata (the project folder glc runs in is first on sys.path,
    and a run adds target/, logs...) leave the digest as it was, so the plugins are not listed again;
    a new distribution (any case of its suffix, or an egg's egg-info) changes it."""
    import sys

    site = tmp_path / "site"
    (site / "glc_extra-1.0.dist-info").mkdir(parents=True)
    egg = tmp_path / "old.egg"
    egg.mkdir()
    monkeypatch.setattr(sys, "path", [str(site), str(egg), *sys.path])
    before = project_cache._runner_files()
    (site / "target").mkdir()
    (site / "bench-stderr.txt").write_text("")
    (egg / "README").write_text("")
    assert project_cache._runner_files() == before
    for made in (site / "other-2.0.DIST-INFO", site / "third-1.0.egg-info", egg / "EGG-INFO"):
        made.mkdir()
        assert project_cache._runner_files() != before
        before = project_cache._runner_files()


def test_reading_an_entry_leaves_the_garbage_collector_as_it_was(primed: Path) -> None:
    """(Reading an entry back pauses cyclic collection: none of its objects is garbage.)"""
    root = primed  # its compiled project already in the user cache (the module's compile)
    import gc

    first = project_cache.cached_compile(root)
    assert gc.isenabled()
    assert project_cache.cached_only(root) == first and gc.isenabled()
    gc.disable()
    try:
        assert project_cache.cached_only(root) == first and not gc.isenabled()
        (project_cache.cache_path(root.resolve(), None)).write_bytes(b"{damaged")
        assert project_cache.cached_only(root) is None and not gc.isenabled()
    finally:
        gc.enable()
    assert project_cache.cached_only(root) is None and gc.isenabled()
