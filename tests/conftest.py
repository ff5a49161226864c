from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from glc.compiler.plan import CompiledProject, compile_project

from glc.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data" / "general-bench"
EXAMPLES = DATA / "examples"

os.environ.pop("GLC_TARGET", None)
# the tests written against the 699-task catalog use that benchmark; the bundled offline
# benchmark's tests name it explicitly (benchmark="mini")
os.environ["GLC_BENCHMARK"] = "general-bench"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def copy_project(dest: Path) -> Path:
    """A private copy of the project (specs, sql, profiles) to build and break."""
    for name in ("specs", "sql"):
        shutil.copytree(REPO / name, dest / name)
    shutil.copy(REPO / "profiles.yml", dest / "profiles.yml")
    return dest


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "proj")


@pytest.fixture
def ws(project_dir: Path) -> Workspace:
    return Workspace(project_dir)


@pytest.fixture(scope="session")
def compiled() -> CompiledProject:
    return compile_project(REPO)
