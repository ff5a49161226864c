"""The test tree's layout: shared helpers live in tests/helpers/ (imported as ``helpers.<module>``);
a test file imports no other test file and nothing from conftest.py, so each runs on its own and
moving or deleting one breaks no other."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "helpers":
                names.update(f"helpers.{alias.name}" for alias in node.names)
    return names


def _python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts and "fixtures" not in p.parts)


def test_no_test_file_imports_another_or_conftest() -> None:
    offenders = {}
    for path in _python_files():
        bad = sorted(m for m in _imported_modules(path)
                     if m.split(".")[-1].startswith("test_") or m.split(".")[0] in ("conftest", "tests"))
        if bad:
            offenders[str(path.relative_to(TESTS))] = bad
    assert offenders == {}


def test_shared_helpers_live_in_the_helpers_package() -> None:
    stray = [str(p.relative_to(TESTS)) for p in _python_files()
             if p.parent.name != "helpers" and not p.name.startswith("test_") and p.name != "conftest.py"]
    assert stray == []
    helpers = {p.stem for p in (TESTS / "helpers").glob("*.py")} - {"__init__"}
    imported = {m.split(".")[1] for p in _python_files() for m in _imported_modules(p)
                if m.startswith("helpers.") and p.parent.name != "helpers"}
    assert helpers - imported == set(), "a helper module no test uses"


def test_the_checks_see_an_import_of_a_test_file(tmp_path: Path) -> None:
    bad = tmp_path / "test_x.py"
    bad.write_text("from test_metrics import TEXT\nimport conftest\nfrom helpers import test_y\n", encoding="utf-8")
    assert _imported_modules(bad) == {"test_metrics", "conftest", "helpers", "helpers.test_y"}


def test_the_small_project_is_a_cut_of_the_catalog() -> None:
    """tests/data/small-project: two task specs of each catalog folder, each where the catalog has it
    (same id, modality and paradigm), and the quick list's ids of those tasks, in the list's order."""
    import yaml
    from helpers.project import REPO, SMALL

    specs = sorted((SMALL / "specs" / "tasks").rglob("*.yaml"))
    folders: dict[Path, int] = {}
    for spec in specs:
        rel = spec.relative_to(SMALL)
        assert (REPO / rel).is_file(), f"{rel} is not a catalog task spec"
        mine, theirs = yaml.safe_load(spec.read_text()), yaml.safe_load((REPO / rel).read_text())
        assert [mine[k] for k in ("id", "modality", "paradigm")] == [theirs[k] for k in ("id", "modality", "paradigm")]
        folders[rel.parent] = folders.get(rel.parent, 0) + 1
    assert len(folders) == 9 and set(folders.values()) == {2}, folders  # image/video/audio/3d x 2 paradigms, nlp
    ids = {yaml.safe_load(s.read_text())["id"] for s in specs}
    quick = [x.strip() for x in (REPO / "data" / "general-bench" / "quick_tasks.txt").read_text().splitlines()
             if x.strip() and not x.startswith("#")]
    mine = [x.strip() for x in (SMALL / "quick_tasks.txt").read_text().splitlines() if not x.startswith("#")]
    assert mine == [x for x in quick if x in ids]


def _bare_example_counts(path: Path) -> list[int]:
    """Lines where a ``max_examples=`` is not ``examples(n)``: a bare count overrides the Hypothesis
    profile, so the fast tier would run it in full (helpers.examples)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [kw.value.lineno for node in ast.walk(tree) if isinstance(node, ast.Call) for kw in node.keywords
            if kw.arg == "max_examples" and not (isinstance(kw.value, ast.Call) and isinstance(kw.value.func, ast.Name)
                                                 and kw.value.func.id == "examples")]


def test_hypothesis_example_counts_go_through_examples() -> None:
    offenders = {str(p.relative_to(TESTS)): lines for p in _python_files()
                 if p != TESTS / "helpers" / "examples.py" and (lines := _bare_example_counts(p))}
    assert offenders == {}


def test_the_example_count_check_sees_a_bare_count(tmp_path: Path) -> None:
    bad = tmp_path / "test_x.py"
    bad.write_text("@settings(max_examples=600)\ndef test_a(): ...\n\nFAST = settings(deadline=None,\n"
                   "                max_examples=6)\nOK = settings(max_examples=examples(6))\n", encoding="utf-8")
    assert _bare_example_counts(bad) == [1, 5]
