"""The project's paths and private copies of the project for tests to build and break."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data" / "general-bench"
EXAMPLES = DATA / "examples"


SMALL = REPO / "tests" / "data" / "small-project"  # the small project's task specs and task list


def copy_project(dest: Path, *, small: bool = False) -> Path:
    """A private copy of the project (specs, sql, profiles) to build and break.

    ``small``: instead of the 699 general-bench task specs, the 18 committed under
    ``tests/data/small-project/specs/tasks`` (two per modality and paradigm: comprehension and
    generation of image, video, audio and 3D, and two NLP tasks) and the bundled ``mini``
    benchmark's 8, for tests that bring their own tasks or need a few of each kind but not the
    whole catalog; compiling it takes a tenth of the time. Everything else (metrics, levels,
    scopes, task types, SQL, profiles) is the repo's own.
    """
    if not small:
        shutil.copytree(REPO / "specs", dest / "specs")
    else:
        shutil.copytree(REPO / "specs", dest / "specs", ignore=_all_tasks)
        shutil.copytree(SMALL / "specs" / "tasks", dest / "specs" / "tasks")
        shutil.copytree(REPO / "specs" / "tasks" / "mini", dest / "specs" / "tasks" / "mini")
    shutil.copytree(REPO / "sql", dest / "sql")
    shutil.copy(REPO / "profiles.yml", dest / "profiles.yml")
    _copy_task_lists(dest, small)
    return dest


TASK_LISTS = [Path("data/general-bench/quick_tasks.txt")]  # task lists the shipped scopes name


def _copy_task_lists(dest: Path, small: bool) -> None:
    """The scopes' task lists; the small project's own list holds the ids of the tasks it has."""
    for rel in TASK_LISTS:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SMALL / rel.name if small else REPO / rel, dest / rel)


def _all_tasks(folder: str, names: list[str]) -> set[str]:
    """shutil.copytree's ignore: the task specs (the small project brings its own)."""
    return {"tasks"} & set(names) if Path(folder) == REPO / "specs" else set()
