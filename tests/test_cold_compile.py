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
