"""SQL templates and SQL models come from strangers: they shape SQL over the store, nothing more.

Found by review: paths by which a project's SQL read files outside it (a unit test built its models
in a DuckDB whose file access was on; a symbolic link under ``sql/`` included any file of the machine
into a template).
"""

from __future__ import annotations

from pathlib import Path

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
