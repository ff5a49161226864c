"""What a cold compile does and does not load: it checks UDF calls against the names alone
(compiler/udfs/names.py), never importing the UDF modules (numpy, scipy, Pillow) that only
``glc run`` needs, and the names it checks are exactly the registry's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from glc.compiler.udfs.names import UDF_NAMES
from glc.compiler.udfs.registry import UDFS
from helpers.project import copy_project


def test_the_udf_names_are_the_registry_s_in_its_order() -> None:
    assert UDF_NAMES == tuple(UDFS)


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
