from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pytest

# glc and Hypothesis are imported where they are used, not when pytest loads this file: under
# pytest-xdist (-n 2) the controlling process loads it too and runs no test, and every worker
# imports them with the test files anyway
if TYPE_CHECKING:
    from glc.compiler.plan import CompiledProject

    from glc.workspace import Workspace

os.environ.pop("GLC_TARGET", None)
# the tests written against the 699-task catalog use that benchmark; the bundled offline
# benchmark's tests name it explicitly (benchmark="mini")
os.environ["GLC_BENCHMARK"] = "general-bench"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# DuckDB in the tests' own process runs one thread: the tests' databases are small, so a second
# thread mostly adds scheduling (about a tenth more CPU on the build-heavy test files), and up to
# five engineers' test runs share this machine's two cores. This overrides the profile's `threads` of
# glc's in-process builds too; glc processes the tests start keep it. Results do not depend on it
# (tests/test_order_free.py; tests/test_level_order_free.py builds on 4 threads with SET threads).
_duckdb_connect = duckdb.connect


def _connect_one_thread(database: object = ":memory:", read_only: bool = False,
                        config: dict[str, object] | None = None, **kwargs: object) -> duckdb.DuckDBPyConnection:
    return _duckdb_connect(database, read_only=read_only, config={**(config or {}), "threads": 1}, **kwargs)


duckdb.connect = _connect_one_thread


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    from helpers.project import copy_project

    return copy_project(tmp_path / "proj")


@pytest.fixture
def ws(project_dir: Path) -> Workspace:
    from glc.workspace import Workspace

    return Workspace(project_dir)


@pytest.fixture(scope="session")
def compiled() -> CompiledProject:
    """The catalog compiled once per process (per worker under -n 2; only slow tests use it)."""
    from glc.compiler.plan import compile_project
    from helpers.project import REPO

    return compile_project(REPO)


# --- the fast tier ---------------------------------------------------------------------------
# `pytest -m "not slow"` runs in a couple of minutes: it leaves out tests that load real models,
# drive a browser, start several processes, or build on the whole 699-task catalog (the fixtures
# below that copy or compile it). The README's test command runs everything.
SLOW_MODULES = {
    "test_mini_benchmark", "test_hf_runner", "test_openai_server",  # real models
    "test_report", "test_report_hostile",  # headless Chromium
    "test_resume",  # kill -9 of a glc process
    "test_catalog", "test_example_workbooks",  # the whole catalog and the official workbooks
}
CATALOG_FIXTURES = {"project_dir", "ws", "compiled"}


def pytest_configure(config: pytest.Config) -> None:
    """The fast tier runs Hypothesis tests with a tenth of their examples (helpers.examples): the
    "fast" profile, loaded when the mark expression leaves slow tests out and no
    ``--hypothesis-profile`` was given. Everything else (the README's command) runs the "full" one.
    Under pytest-xdist each worker loads it for itself (it gets the same options); the controlling
    process, which runs no test, does not import Hypothesis for it."""
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        return  # the xdist controller
    if config.getoption("hypothesis_profile", None) is None:
        from helpers.examples import settings

        fast = "not slow" in (config.getoption("markexpr", "") or "")
        settings.load_profile("fast" if fast else "full")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if getattr(item, "module", None) else ""
        if module in SLOW_MODULES or CATALOG_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)

