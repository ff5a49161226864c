"""SQL templates and SQL models come from strangers: they shape SQL over the store, nothing more.

Found by review: paths by which a project's SQL read files outside it (a unit test built its models
in a DuckDB whose file access was on; a symbolic link under ``sql/`` included any file of the machine
into a template).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from glc.compiler.errors import GlcError
from glc.compiler.plan import compile_project
from helpers.metric_project import new_project

from glc.workspace import Workspace

SECRET = "TOPSECRET-4f1c"


def _secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SECRET + "\n")
    return path


def test_unit_tests_build_models_without_file_access(tmp_path: Path) -> None:
    """`glc test --no-data` built a unit test's models in a plain in-memory DuckDB: a model could
    ``read_text`` any file (and the failing test printed it), or write one with ``COPY``."""
    root = new_project(tmp_path / "p")
    secret = _secret(tmp_path)
    (root / "sql" / "models" / "leak.sql").write_text(f"SELECT content AS leaked FROM read_text('{secret}')\n")
    (root / "specs" / "tests" / "leak.yaml").write_text(
        "unit_tests:\n  - name: leak\n    model: leak\n    given:\n      imported_scores: []\n"
        "    expect:\n      rows:\n        - {leaked: x}\n")
    report = Workspace(root).test(data=False, unit=True)
    leak = next(r for r in report.unit if r.name == "leak")
    text = repr(leak)
    assert SECRET not in text
    assert "file system operations are disabled" in text


def test_a_link_under_sql_cannot_include_a_file_outside_the_project(tmp_path: Path) -> None:
    """A link ``sql/macros/leak.sql -> /any/file`` (git checks links out) let a model's
    ``{% include %}`` paste the file into its SQL, and the build store it as a column."""
    root = new_project(tmp_path / "p")
    (root / "sql" / "macros" / "leak.sql").symlink_to(_secret(tmp_path))
    (root / "sql" / "models" / "leak.sql").write_text('SELECT $q${% include "macros/leak.sql" %}$q$ AS leaked\n')
    with pytest.raises(GlcError) as info:
        compile_project(root)
    text = info.value.format()
    assert SECRET not in text and "sql/models/leak.sql" in text and "leads outside the project" in text
    # a link that stays inside the project is read as before
    (root / "sql" / "macros" / "leak.sql").unlink()
    (root / "data" / "inside.txt").write_text("inside\n")
    (root / "sql" / "macros" / "leak.sql").symlink_to(root / "data" / "inside.txt")
    compiled = compile_project(root)
    assert any("inside" in n.sql for n in compiled.nodes if n.name == "leak")


@pytest.mark.timeout(60)  # a hang guard: a FIFO or /dev/zero read would never end
@pytest.mark.parametrize("where", ["specs/tasks/test/z.yaml", "specs/notes.md", "sql/models/z.sql", "sql/notes.md"])
@pytest.mark.parametrize("target", ["fifo", "/dev/zero", "secret"])
def test_a_project_file_that_is_a_fifo_a_device_or_a_link_out_is_not_read(tmp_path: Path, where: str,
                                                                          target: str) -> None:
    """A FIFO under specs/ or sql/ hung every compile (the project cache hashed it), a link to
    ``/dev/zero`` took all memory, and a spec linked to a file outside was read as a spec."""
    root = new_project(tmp_path / "p")
    path = root / where
    path.parent.mkdir(parents=True, exist_ok=True)
    if target == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(_secret(tmp_path) if target == "secret" else Path(target))
    try:
        Workspace(root).compile()  # as `glc compile`: through the project cache, which hashes every file
    except GlcError as exc:
        text = exc.format()
        assert SECRET not in text and where.rsplit("/", 1)[-1] in text, text
        assert "not a regular file" in text or "leads outside the project" in text or "not found" in text
    else:
        assert where.endswith(".md"), "a spec or a model that is not read must be an error"
