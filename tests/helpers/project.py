"""The project's paths and private copies of the project for tests to build and break."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data" / "general-bench"
EXAMPLES = DATA / "examples"


SMALL_CATALOG_PER_FOLDER = 2  # tasks of each catalog folder (and paradigm) a small project keeps


def copy_project(dest: Path, *, small: bool = False) -> Path:
    """A private copy of the project (specs, sql, profiles) to build and break.

    ``small``: the general-bench catalog cut to its first two tasks per modality and paradigm
    (about 18 instead of 699), for tests that bring their own tasks and do not need the whole
    catalog; compiling it takes a tenth of the time.
    """
    skip = shutil.ignore_patterns() if not small else _catalog_cut
    shutil.copytree(REPO / "specs", dest / "specs", ignore=skip)
    shutil.copytree(REPO / "sql", dest / "sql")
    shutil.copy(REPO / "profiles.yml", dest / "profiles.yml")
    _copy_task_lists(dest, small)
    return dest


TASK_LISTS = [Path("data/general-bench/quick_tasks.txt")]  # task lists the shipped scopes name


def _copy_task_lists(dest: Path, small: bool) -> None:
    """The scopes' task lists; a small catalog keeps the ids of the task specs it kept."""
    kept = {line.split(":", 1)[1].strip() for f in (dest / "specs" / "tasks").rglob("*.yaml")
            for line in f.read_text(encoding="utf-8").splitlines() if line.startswith("id:")} if small else set()
    for rel in TASK_LISTS:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        lines = (REPO / rel).read_text(encoding="utf-8").splitlines(keepends=True)
        (dest / rel).write_text("".join(x for x in lines if not small or x.startswith("#") or x.strip() in kept),
                                encoding="utf-8")


def _catalog_cut(folder: str, names: list[str]) -> set[str]:
    """shutil.copytree's ignore: past the first few task specs of a catalog folder."""
    path = Path(folder)
    if path.parent.name not in ("tasks", "3d", "audio", "image", "video") or "tasks" not in path.parts \
            or path.name == "mini":
        return set()
    specs = sorted(n for n in names if n.endswith(".yaml"))
    return set(specs[SMALL_CATALOG_PER_FOLDER:])
