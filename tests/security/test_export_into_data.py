"""`glc export predictions --force` never writes into data: a manifest.json is anyone's to write.

An export with --force replaces and removes the files the manifest.json of a previous export lists,
while they hold the sha256 it gives. Whoever ships a data set knows its files' hashes: a
manifest.json beside annotation.json listing them made an export into the data root (as users try,
to put prediction.json beside annotation.json) delete the data's input and reference media and
overwrite inputs with generated images of the same name. OUT may not be, lie inside or hold a data
root of the project or the project's own folders (glc/site/export.py, ``_check_place``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from glc.compiler.errors import GlcError
from helpers.cli import glc_in_process
from helpers.gb_tree import write_predictions, write_tree
from helpers.metric_project import new_project

from glc.site.export import _check_place, _protected

PROFILE = """target: dev
targets: {dev: {type: duckdb, path: target/x.duckdb}}
data_roots: [../granted]
benchmark_data: {general-bench: ../gb, other: %s}
"""


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, str, bool]]:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "profiles.yml").write_text(PROFILE % (tmp_path / "other"))
    for name in ("granted", "gb", "other", "env", "elsewhere"):
        (tmp_path / name / "NLP").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "granted")
    monkeypatch.setenv("GLC_DATA", str(tmp_path / "env"))
    project = SimpleNamespace(root=root, benchmark=SimpleNamespace(name="general-bench"),
                              binding=SimpleNamespace(root=tmp_path / "gb", source="profiles.yml benchmark_data"))
    return _protected(project)  # type: ignore[arg-type]


@pytest.mark.parametrize(("where", "said"), [
    ("granted", "is the data root from profiles.yml data_roots"),
    ("granted/NLP/Task", "lies inside the data root from profiles.yml data_roots"),
    ("link", "is the data root from profiles.yml data_roots"),
    ("link/not/made/yet", "lies inside the data root from profiles.yml data_roots"),
    ("gb/NLP", "lies inside the data root of benchmark 'general-bench' (from profiles.yml benchmark_data)"),
    ("other", "is the data root from profiles.yml benchmark_data.other"),
    ("env", "is the data root from $GLC_DATA"),
    (".", "holds the project folder"),
    ("proj", "is the project folder"),
    ("proj/data/x", "lies inside the project's data/ folder"),
    ("proj/target", "is the project's target/ folder"),
    ("proj/sql/y", "lies inside the project's sql/ folder"),
    ("proj/specs", "is the project's specs/ folder"),
])
def test_every_data_root_and_project_folder_is_refused(places: list[tuple[Path, str, bool]], tmp_path: Path,
                                                      where: str, said: str) -> None:
    out = Path(os.path.abspath(tmp_path / where))
    with pytest.raises(GlcError) as info:
        _check_place(out, places, tmp_path / "proj" / "exports" / "m")
    assert info.value.location == str(out) and f"the output folder {said}, " in info.value.message
    assert info.value.message.endswith(f"name a new folder outside it, e.g. {tmp_path / 'proj/exports/m'}")


@pytest.mark.parametrize("where", ["elsewhere", "elsewhere/new", "proj/exports/m", "proj/x"])
def test_a_folder_beside_them_is_fine(places: list[tuple[Path, str, bool]], tmp_path: Path, where: str) -> None:
    _check_place(tmp_path / where, places)


@pytest.mark.slow  # several seconds: a compile, an import and two exports (the cases above are the fast tier's)
def test_export_with_force_into_the_data_root_deletes_nothing(tmp_path: Path) -> None:
    root = new_project(tmp_path / "proj")
    tree = tmp_path / "General-Bench"
    write_tree(tree, size="small", per_task=2, tasks=["Abduction-based VQA", "Deep Fake Generation"])
    write_predictions(tree, tmp_path / "preds")
    env = {**os.environ, "GLC_DATA": ""}

    def glc(*args: str):
        return glc_in_process("--project-dir", str(root), "--benchmark", "general-bench", "--data", str(tree), *args,
                              env=env)

    done = glc("import", "predictions", str(tmp_path / "preds"), "--model", "maker")
    assert done.returncode == 0, done.stderr
    media = {rel: hashlib.sha256(blob).hexdigest() for rel, blob in _files(tree).items()
             if not rel.endswith("annotation.json")}
    assert len(media) == 6  # 2 input images and 2 of their references, and 2 input images
    (tree / "manifest.json").write_text(json.dumps({"format": "glc-general-bench-predictions/1", "model": "maker",
                                                    "tasks": [], "files": media}))
    before = _files(tree)
    for out, how in ((tree, "is"), (tree / "Image" / "generation" / "Deep-Fake-Generation", "lies inside"),
                     (tmp_path / "link", "is"), (tmp_path / "link" / "Image" / "new", "lies inside")):
        if out.name == "link":
            out.symlink_to(tree)
        done = glc("export", "predictions", "--format", "general-bench", str(out), "--model", "maker", "--force",
                   "--no-zip")
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr == (f"Error: {out}: the output folder {how} the data root of benchmark 'general-bench' "
                               f"(from --data), {tree}; an export there could replace or remove its files (whatever "
                               f"--force says): name a new folder outside it, e.g. {root / 'exports' / 'maker'}\n")
        assert _files(tree) == before
    # beside the data, the export is written
    done = glc("export", "predictions", "--format", "general-bench", str(tmp_path / "out"), "--model", "maker")
    assert done.returncode == 0, done.stderr
    assert "images/" in (tmp_path / "out/Image/generation/Deep-Fake-Generation/prediction.json").read_text()
    assert _files(tree) == before
