"""``glc export predictions --format general-bench`` and ``glc import predictions`` of a prediction tree.

One small project (built once): two General-Bench folders (an NLP QA folder scored by two tasks,
accuracy and F1, with integer ids; an image multiple-choice folder), a JSONL box task whose
predictions are JSON lists, and the glc-mini denoising data whose images a command model
generates into target/media.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from glc.compiler.errors import GlcError
from helpers.cli import glc_in_process
from helpers.metric_project import add_task, model_spec, new_project, write_predictions
from helpers.metric_project import sql_rows as _sql
from helpers.project import REPO

from glc.site.export import IncompleteExport, _media_name
from glc.workspace import Workspace

QA = [(1, "2+2?", "4", "4"), (2, "capital of France?", "Paris", "paris"), (3, "color of sky?", "blue", "green")]
CHOICE = [("i1", "(B)", "B"), ("i2", "A", "C"), ("i3", "D", "(D)")]
BOXES = [("b1", [[0, 0, 10, 10]], [[0, 0, 10, 10]]), ("b2", [[0, 0, 10, 10]], [[5, 5, 15, 15]])]
DENOISE = ["camera", "astronaut", "coffee", "chelsea", "rocket", "brick"]  # data.jsonl order
SCORE_SQL = "SELECT task_id, score, n_instances, n_scored FROM task_scores WHERE model = ? ORDER BY task_id"


def _gb_folder(root: Path, rel: str, data: list[dict], media: dict[str, bytes] | None = None) -> None:
    path = root / "data" / "gb" / rel
    path.mkdir(parents=True, exist_ok=True)
    (path / "annotation.json").write_text(json.dumps({"task": rel.rsplit("/", 1)[-1], "type": "test", "data": data}))
    for name, blob in (media or {}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(blob)


def _spec(root: Path, spec: dict) -> None:
    (root / "specs" / "tasks" / "test" / f"{spec['id']}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))


def _gb_spec(root: Path, task_id: str, name: str, rel: str, metric: str, reference: str, modality: str = "nlp",
             paradigm: str = "nlp", **extra) -> None:
    _spec(root, {"id": task_id, "name": name, "modality": modality, "paradigm": paradigm, "metric": metric,
                 "sota": {"value": 60.0, "source": "test"}, **extra,
                 "dataset": {"format": "general_bench", "path": f"data/gb/{rel}", "reference": reference}})




def _fresh_copy(root: Path, dest: Path) -> Workspace:
    """The same project (specs, data, profile) with an empty store."""
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns("target"))
    return Workspace(dest)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Workspace:
    root = new_project(tmp_path_factory.mktemp("export") / "p")
    _gb_folder(root, "NLP/Capital-QA", [{"id": i, "input": q, "output": ref} for i, q, ref, _ in QA])
    _gb_spec(root, "nlp.capital_qa", "Capital QA", "NLP/Capital-QA", "acc", "text", type="qa", skill="Knowledge")
    _gb_spec(root, "nlp.capital_qa_f1", "Capital QA F1", "NLP/Capital-QA", "f1", "text")
    _gb_folder(root, "Image/comprehension/Cat-Choice",
               [{"id": i, "input": {"image_file": f"images/{i}.png"}, "output": ref} for i, ref, _ in CHOICE],
               {f"images/{i}.png": i.encode() for i, _, _ in CHOICE})
    _gb_spec(root, "image.cat_choice", "Cat Choice", "Image/comprehension/Cat-Choice", "acc", "choice", "image",
             "comprehension")
    boxes = add_task(root, "miou", "boxes", [(i, {}, ref) for i, ref, _ in BOXES], modality="image",
                     paradigm="comprehension")
    shutil.copytree(REPO / "data" / "mini" / "image" / "denoising", root / "data" / "denoising")
    _spec(root, {"id": "image.denoise", "name": "Image Denoising", "modality": "image", "paradigm": "generation",
                 "metric": "psnr", "sota": {"value": 28.5, "source": "test"},
                 "dataset": {"format": "jsonl", "path": "data/denoising/data.jsonl", "reference": "image",
                             "media": ["input.image"]},
                 "inference": {"type": "image_restoration", "prompt": "Denoise.", "output": "image"}})
    argv = ["{{ python }}", "-m", "glc.runners.tools.imaging", "denoise", "--method", "median", "{{ media.image }}",
            "{{ output }}"]  # allowed by the project's profiles.yml
    model_spec(root, "m", [{"match": {"type": ["image_restoration"]}, "runner": "command",
                            "args": {"argv": argv, "result": "file"}}])
    preds = root / "preds.jsonl"
    for tid in ("nlp.capital_qa", "nlp.capital_qa_f1"):
        write_predictions(preds, "m", tid, [(str(i), p) for i, _, _, p in QA])
    write_predictions(preds, "m", "image.cat_choice", [(i, p) for i, _, p in CHOICE])
    write_predictions(preds, "m", boxes, [(i, p) for i, _, p in BOXES])
    ws = Workspace(root)
    ws.import_predictions(preds)
    result = ws.run()
    assert result.inference is not None and result.inference.failed == [] and result.inference.predicted == 6
    return ws


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_list_form_layout_ids_structures_and_media(project: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = project.export_predictions(out, "m")
    qa = json.loads((out / "NLP/Capital-QA/prediction.json").read_text())
    # integer ids stay integers (as in annotation.json); one file serves both tasks over that folder
    assert qa == [{"id": i, "prediction": p} for i, _, _, p in QA]
    assert json.loads((out / "Image/comprehension/Cat-Choice/prediction.json").read_text()) == [
        {"id": i, "prediction": p} for i, _, p in CHOICE]
    # a JSONL task goes to its canonical folder; list predictions come back as JSON, not as text
    assert json.loads((out / "Image/comprehension/Test-miou/prediction.json").read_text()) == [
        {"id": i, "prediction": p} for i, _, p in BOXES]
    images = json.loads((out / "Image/generation/Image-Denoising/prediction.json").read_text())
    assert [x["id"] for x in images] == DENOISE
    stored = dict(_sql(project, "SELECT instance_id, output FROM predictions WHERE task_id = 'image.denoise'"))
    for item in images:
        assert item["prediction"] == f"images/{item['id']}.png"
        copied = out / "Image/generation/Image-Denoising" / item["prediction"]
        assert Path(stored[item["id"]]).is_relative_to(project.root / "target" / "media")
        assert copied.read_bytes() == Path(stored[item["id"]]).read_bytes()
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        ["manifest.json", "NLP/Capital-QA/prediction.json", "Image/comprehension/Cat-Choice/prediction.json",
         "Image/comprehension/Test-miou/prediction.json", "Image/generation/Image-Denoising/prediction.json",
         *[f"Image/generation/Image-Denoising/images/{i}.png" for i in DENOISE]])
    assert "exported 17 predictions of model 'm' for 5 task(s) into 4 prediction.json" in result.describe()


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_document_form(project: Workspace, tmp_path: Path) -> None:
    project.export_predictions(tmp_path / "out", "m", form="document", make_zip=False,
                               select=["task:nlp.capital_qa", "task:image.t_miou"])
    doc = json.loads((tmp_path / "out/NLP/Capital-QA/prediction.json").read_text())
    assert doc == {"task": "Capital QA", "skill": "Knowledge", "type": "qa",
                   "data": [{"id": i, "prediction": p} for i, _, _, p in QA]}
    # a spec without skill and type: the document has neither
    assert json.loads((tmp_path / "out/Image/comprehension/Test-miou/prediction.json").read_text()) == {
        "task": "Test miou", "data": [{"id": i, "prediction": p} for i, _, p in BOXES]}
    assert not (tmp_path / "out.zip").exists() and not (tmp_path / "out/Image/generation").exists()
    with pytest.raises(GlcError, match="unknown form"):
        project.export_predictions(tmp_path / "other", "m", form="table")


def test_manifest_and_zip(project: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "out"
    result = project.export_predictions(out, "m")
    manifest = json.loads((out / "manifest.json").read_text())
    compiled = project.compile(write=False)
    assert manifest["model"] == "m" and manifest["benchmark"] == "general-bench" and manifest["form"] == "list"
    assert manifest["glc_version"] and manifest["spec_fingerprint"] == compiled.manifest["specs"]["fingerprint"]
    # the catalog's tasks that have no data here are named: a submission without them is not complete
    without = sorted(t.id for t in compiled.project.tasks if t.spec.dataset is None)
    assert without and manifest["tasks_without_data"] == without and manifest["complete"] is False
    assert f"note: {len(without)} selected tasks have no task data and are not in the export" in result.describe()
    tasks = {t["task_id"]: t for t in manifest["tasks"]}
    assert set(tasks) == {"nlp.capital_qa", "nlp.capital_qa_f1", "image.cat_choice", "image.t_miou", "image.denoise"}
    qa_sha = hashlib.sha256((out / "NLP/Capital-QA/prediction.json").read_bytes()).hexdigest()
    assert tasks["nlp.capital_qa"] == {"task_id": "nlp.capital_qa", "task_name": "Capital QA",
                                       "folder": "NLP/Capital-QA", "n_instances": 3, "n_predictions": 3,
                                       "n_missing": 0, "missing": {}, "prediction_sha256": qa_sha,
                                       "n_media_files": 0}
    assert tasks["nlp.capital_qa_f1"]["prediction_sha256"] == qa_sha
    assert tasks["image.denoise"]["n_media_files"] == 6
    for rel, sha in manifest["files"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == sha
    assert result.zip_path == tmp_path / "sub" / "out.zip"
    with zipfile.ZipFile(result.zip_path) as zf:
        assert sorted(zf.namelist()) == sorted([*manifest["files"], "manifest.json"])
        assert all(zf.read(name) == (out / name).read_bytes() for name in zf.namelist())
    # nothing but OUT and OUT.zip was written
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["out", "out.zip"]
    # the zip is for submission: an import of it says which folder to import instead
    with pytest.raises(GlcError, match="a zip file is not read") as info:
        project.import_predictions(result.zip_path, model="z")
    assert "import the folder beside it" in (info.value.hint or "")
    # the same predictions give the same bytes (fixed zip entry times, no timestamps in the manifest)
    again = project.export_predictions(tmp_path / "again" / "out", "m")
    assert again.zip_path is not None and again.zip_path.read_bytes() == result.zip_path.read_bytes()


@pytest.fixture(scope="module")
def partial(project: Workspace, tmp_path_factory) -> Workspace:
    """Model 'p': QA id 1 predicted, id 2 failed, id 3 absent; one denoised image whose file is gone."""
    preds = tmp_path_factory.mktemp("partial") / "p.jsonl"
    preds.write_text(json.dumps({"model": "p", "task": "nlp.capital_qa", "id": 1, "prediction": "4"}) + "\n"
                     + json.dumps({"model": "p", "task": "nlp.capital_qa", "id": 2, "prediction": None,
                                   "error": "CUDA out of memory"}) + "\n"
                     + json.dumps({"model": "p", "task": "image.denoise", "id": "camera",
                                   "prediction": str(project.root / "data" / "gone.png")}) + "\n")
    project.import_predictions(preds)
    return project


def test_missing_ids_are_listed_and_fail_the_command(partial: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(IncompleteExport) as info:
        partial.export_predictions(out, "p", select=["task:nlp.capital_qa"])
    text = info.value.format()
    assert "2 instance(s) of 1 task(s) have no usable prediction of model 'p'; nothing was written" in text
    assert "task 'nlp.capital_qa' (NLP/Capital-QA): 2 of 3 instances missing" in text
    assert "no prediction (1): '3'" in text and "failed (1): '2'" in text and "CUDA out of memory" in text
    assert not out.exists() and not (tmp_path / "out.zip").exists()
    proc = glc_in_process("--project-dir", str(partial.root), "export", "predictions", "--format", "general-bench",
                          str(out), "--model", "p")
    assert proc.returncode == 1, proc.stderr
    # every task is checked; tasks without any prediction are listed, grouped by reason
    assert "task 'image.denoise' (Image/generation/Image-Denoising): 6 of 6 instances missing" in proc.stderr
    assert "task 'image.cat_choice' (Image/comprehension/Cat-Choice): 3 of 3 instances missing" in proc.stderr
    assert "no prediction (5): 'astronaut', 'coffee'" in proc.stderr and "--allow-missing" in proc.stderr
    assert "generated file missing (1): 'camera'" in proc.stderr
    assert not out.exists()


def test_allow_missing_writes_the_gaps_into_the_manifest(partial: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = partial.export_predictions(out, "p", allow_missing=True)
    assert json.loads((out / "NLP/Capital-QA/prediction.json").read_text()) == [{"id": 1, "prediction": "4"}]
    assert not (out / "Image").exists()  # tasks without a single prediction get no file
    manifest = json.loads((out / "manifest.json").read_text())
    tasks = {t["task_id"]: t for t in manifest["tasks"]}
    assert manifest["complete"] is False and manifest["allow_missing"] is True
    assert tasks["nlp.capital_qa"]["missing"] == {"failed": ["2"], "no prediction": ["3"]}
    assert tasks["nlp.capital_qa"]["n_predictions"] == 1 and tasks["nlp.capital_qa"]["n_missing"] == 2
    assert tasks["image.denoise"]["missing"] == {"generated file missing": ["camera"], "no prediction": DENOISE[1:]}
    assert tasks["image.denoise"]["prediction_sha256"] is None
    assert "written with gaps (--allow-missing)" in result.describe()


def test_unknown_model_is_refused(project: Workspace, tmp_path: Path) -> None:
    with pytest.raises(GlcError, match="no predictions of model 'mm' in the store") as info:
        project.export_predictions(tmp_path / "out", "mm")
    assert "'m'" in (info.value.hint or "") and not (tmp_path / "out").exists()


def test_refuses_a_non_empty_out_and_force_replaces_only_its_own_files(project: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(GlcError, match="exists and is not empty"):
        project.export_predictions(out, "m", make_zip=False)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    # --force: a file in the way that no export wrote stops it before anything is written
    (out / "NLP/Capital-QA").mkdir(parents=True)
    (out / "NLP/Capital-QA/prediction.json").write_text("[]")
    with pytest.raises(GlcError, match="not written by a glc export") as info:
        project.export_predictions(out, "m", make_zip=False, force=True)
    assert "NLP/Capital-QA/prediction.json" in info.value.message
    assert (out / "NLP/Capital-QA/prediction.json").read_text() == "[]" and not (out / "manifest.json").exists()
    (out / "NLP/Capital-QA/prediction.json").unlink()
    project.export_predictions(out, "m", make_zip=False, force=True)
    # again with --force and fewer tasks: the previous export's other files go, the user's file stays
    again = project.export_predictions(out, "m", make_zip=False, force=True, select=["task:image.cat_choice"])
    assert "Image/generation/Image-Denoising/images/camera.png" in again.removed
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["Image/comprehension/Cat-Choice/prediction.json", "manifest.json", "notes.txt"]
    # an existing zip is refused without --force
    project.export_predictions(tmp_path / "z", "m", select=["task:image.cat_choice"])
    shutil.rmtree(tmp_path / "z")
    with pytest.raises(GlcError, match="the zip file exists"):
        project.export_predictions(tmp_path / "z", "m", select=["task:image.cat_choice"])


def test_a_planted_manifest_does_not_make_force_delete_or_replace_your_files(project: Workspace,
                                                                             tmp_path: Path) -> None:
    """A manifest.json is a file like any other: listing a file of yours in it made --force delete it."""
    out = tmp_path / "out"
    project.export_predictions(out, "m", make_zip=False, select=["task:image.cat_choice"])
    (out / "keep").mkdir()
    (out / "keep/notes.txt").write_text("precious")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["keep/notes.txt"] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(manifest))
    again = project.export_predictions(out, "m", make_zip=False, force=True, select=["task:image.cat_choice"])
    assert again.removed == [] and (out / "keep/notes.txt").read_text() == "precious"
    # a listed file the new export writes again is replaced whatever it holds (an interrupted export
    # leaves files newer than its manifest, and --force must recover from that)
    pj = out / "Image/comprehension/Cat-Choice/prediction.json"
    good = pj.read_bytes()
    pj.write_text("[]")
    project.export_predictions(out, "m", make_zip=False, force=True, select=["task:image.cat_choice"])
    assert pj.read_bytes() == good and (out / "keep/notes.txt").read_text() == "precious"


@pytest.mark.parametrize("make", ["dangling link", "under a file"])
def test_an_output_path_that_cannot_be_a_folder_is_a_located_error(project: Workspace, tmp_path: Path,
                                                                    make: str) -> None:
    """Both were internal errors (exit 70): a link to nowhere, and a folder asked for under a file."""
    if make == "dangling link":
        out = tmp_path / "o"
        out.symlink_to(tmp_path / "nowhere")
    else:
        (tmp_path / "f").write_text("x")
        out = tmp_path / "f" / "sub"
    done = glc_in_process("export", "predictions", "--model", "m", "--select", "task:image.cat_choice", str(out),
                          cwd=project.root, env={"GLC_BENCHMARK": "general-bench"})
    assert done.returncode == 2, done.stderr
    assert str(out) in done.stderr and "Traceback" not in done.stderr and "internal error" not in done.stderr


def test_force_never_writes_through_a_link_out_of_out(project: Workspace, tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    project.export_predictions(out, "m", make_zip=False, select=["task:nlp.capital_qa", "task:image.cat_choice"])
    shutil.rmtree(out / "NLP")
    elsewhere.mkdir()
    (out / "NLP").symlink_to(elsewhere)
    before = (out / "manifest.json").read_bytes()
    with pytest.raises(GlcError, match="leads outside it") as info:
        project.export_predictions(out, "m", make_zip=False, force=True,
                                   select=["task:nlp.capital_qa", "task:image.cat_choice"])
    assert info.value.location == str(out / "NLP")
    assert list(elsewhere.iterdir()) == [] and (out / "manifest.json").read_bytes() == before


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _forge_manifest(out: Path) -> None:
    """A manifest.json listing every file under ``out`` with its sha256, as whoever ships the data can write."""
    files = {rel: hashlib.sha256(blob).hexdigest() for rel, blob in _files(out).items()}
    (out / "manifest.json").write_text(json.dumps({"format": "glc-general-bench-predictions/1", "model": "m",
                                                   "tasks": [], "files": files}))


@pytest.mark.parametrize("where", ["data/gb", "data/gb/Image/comprehension/Cat-Choice", "data/gb/Image/new",
                                   "data", "target/exports/m", "specs", ".", "..", "link", "link/new/sub"])
def test_force_never_exports_into_data_or_the_project(project: Workspace, tmp_path: Path, where: str) -> None:
    """An export with --force into the project's data (as users try, beside annotation.json), with a
    manifest.json listing the data's files and their sha256, removed the images the task reads."""
    root = project.root
    (tmp_path / "link").symlink_to(root / "data" / "gb")
    out = Path(os.path.abspath(tmp_path / where if where.startswith("link") else root / where))
    data = root / "data" / "gb"
    _forge_manifest(data)
    before = _files(root / "data")
    with pytest.raises(GlcError) as info:
        project.export_predictions(out, "m", make_zip=False, force=True, allow_missing=True,
                                   select=["task:image.cat_choice", "task:nlp.capital_qa"])
    text = info.value.format()
    assert text.startswith(f"{out}: the output folder ") and "\n" not in text, text
    assert "could replace or remove its files (whatever --force says): name a new folder outside it" in text
    assert _files(root / "data") == before and not (root / "target" / "exports").exists()
    assert not (root / "exports").exists() and not (tmp_path / "new").exists()
    (data / "manifest.json").unlink()


def test_refusal_names_the_data_root_and_where_it_is_set(project: Workspace, tmp_path: Path) -> None:
    done = glc_in_process("--project-dir", str(project.root), "export", "predictions", "--format", "general-bench",
                          str(project.root / "data" / "gb" / "NLP"), "--model", "m", "--force", "--no-zip")
    assert done.returncode == 2
    assert done.stderr == (f"Error: {project.root / 'data/gb/NLP'}: the output folder lies inside the project's data/ "
                           f"folder, {project.root / 'data'}; an export there could replace or remove its files "
                           f"(whatever --force says): name a new folder outside it, e.g. "
                           f"{project.root / 'exports' / 'm'}\n")


def test_an_output_folder_holding_general_bench_data_is_refused(project: Workspace, tmp_path: Path) -> None:
    """A General-Bench tree that is no data root of the project: its task folders hold annotation.json."""
    out = tmp_path / "tree"
    shutil.copytree(project.root / "data" / "gb", out)
    _forge_manifest(out)
    before = _files(out)
    with pytest.raises(GlcError, match="Image/comprehension/Cat-Choice/annotation.json is there: the output folder "
                                       "holds General-Bench data"):
        project.export_predictions(out, "m", make_zip=False, force=True, select=["task:image.cat_choice"])
    assert _files(out) == before


def test_force_removes_only_files_where_an_export_writes(project: Workspace, tmp_path: Path) -> None:
    """A manifest listing files of yours with their sha256 made --force remove them."""
    out = tmp_path / "out"
    project.export_predictions(out, "m", make_zip=False, select=["task:image.cat_choice"])
    manifest = json.loads((out / "manifest.json").read_text())
    theirs = {"notes.txt": b"mine", "Image/comprehension/Cat-Choice/data.bin": b"x",
              "Image/comprehension/Cat-Choice/images/i1.txt": b"y", "Image/other/X/prediction.json": b"[]",
              "NLP/Capital-QA/images/a.png": b"z"}
    for rel, blob in theirs.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(blob)
        manifest["files"][rel] = hashlib.sha256(blob).hexdigest()
    manifest["files"]["NLP/../notes.txt"] = manifest["files"]["./notes.txt"] = manifest["files"]["notes.txt"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    again = project.export_predictions(out, "m", make_zip=False, force=True, select=["task:image.cat_choice"])
    # NLP/Capital-QA/images/a.png lies where an export writes its generated files and was listed: the export's
    assert again.removed == ["NLP/Capital-QA/images/a.png"] and not (out / "NLP/Capital-QA/images/a.png").exists()
    assert all((out / rel).read_bytes() == blob for rel, blob in theirs.items() if "Capital-QA" not in rel)


def test_force_follows_no_link_to_remove_a_file(project: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "out"
    project.export_predictions(out, "m", make_zip=False, select=["task:image.cat_choice", "task:image.denoise"])
    # the generated images' folder becomes a link to a folder of yours inside OUT holding the same files
    gen = out / "Image/generation/Image-Denoising"
    shutil.move(gen, out / "mine")
    gen.symlink_to(out / "mine")
    mine = _files(out / "mine")
    again = project.export_predictions(out, "m", make_zip=False, force=True, select=["task:image.cat_choice"])
    assert again.removed == [] and _files(out / "mine") == mine and len(mine) == 7


def test_force_into_a_previous_export_removes_its_stale_files(project: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "out"
    project.export_predictions(out, "m", make_zip=False, select=["task:image.cat_choice", "task:image.denoise"])
    (out / "notes.txt").write_text("mine")
    stale = sorted(rel for rel in _files(out) if rel.startswith("Image/generation/"))
    assert len(stale) == 7
    again = project.export_predictions(out, "m", make_zip=False, force=True, select=["task:image.cat_choice"])
    assert again.removed == stale
    assert sorted(_files(out)) == ["Image/comprehension/Cat-Choice/prediction.json", "manifest.json", "notes.txt"]
    assert "removed 7 file(s) of the previous export that this one does not hold" in again.describe()


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_round_trip_gives_identical_task_scores(project: Workspace, tmp_path: Path) -> None:
    project.export_predictions(tmp_path / "out", "m", make_zip=False)
    fresh = _fresh_copy(project.root, tmp_path / "fresh")
    imports = fresh.import_predictions(tmp_path / "out", model="m")
    assert imports[0].tasks == {"nlp.capital_qa", "nlp.capital_qa_f1", "image.cat_choice", "image.t_miou",
                                "image.denoise"}
    fresh.run(infer=False)
    want = _sql(project, SCORE_SQL, "m")
    assert len(want) == 5 and all(r[3] == r[2] for r in want)  # every instance scored
    got = _sql(fresh, SCORE_SQL, "m")
    assert [r[:1] + r[2:] for r in got] == [r[:1] + r[2:] for r in want]
    # the same instance values; the mean of doubles may differ in the last bit with the rows' order
    assert [r[1] for r in got] == pytest.approx([r[1] for r in want], rel=1e-13, abs=0)
    # instance by instance the very same values
    for metric in ("acc", "f1", "miou", "psnr"):
        query = f"SELECT task_id, instance_id, value FROM instance_scores__{metric} WHERE model = 'm' ORDER BY ALL"
        assert _sql(fresh, query) == _sql(project, query) != []
    # generated images were copied into the fresh project's own store, not read from the export folder
    outputs = [Path(r[0]) for r in _sql(fresh, "SELECT output FROM predictions WHERE task_id = 'image.denoise'")]
    assert all(p.is_relative_to(fresh.root / "target" / "media") and p.is_file() for p in outputs)


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_tree_with_other_spellings_and_the_document_form(project: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "out"
    project.export_predictions(out, "m", form="document", make_zip=False,
                               select=["task:nlp.capital_qa", "task:image.cat_choice"])
    tree = tmp_path / "tree"
    (tree / "nlp").mkdir(parents=True)
    shutil.move(out / "NLP/Capital-QA", tree / "nlp" / "capital qa")
    (tree / "image" / "Comprehension").mkdir(parents=True)
    shutil.move(out / "Image/comprehension/Cat-Choice", tree / "image" / "Comprehension" / "cat_choice")
    fresh = _fresh_copy(project.root, tmp_path / "fresh")
    imports = fresh.import_predictions(tree, model="m2")
    # the QA folder serves two tasks: its file imports into both
    assert imports[0].tasks == {"nlp.capital_qa", "nlp.capital_qa_f1", "image.cat_choice"}
    rows = _sql(fresh, "SELECT task_id, instance_id, output FROM predictions WHERE model = 'm2' ORDER BY ALL")
    assert ("nlp.capital_qa_f1", "2", "paris") in rows and ("image.cat_choice", "i3", "(D)") in rows
    assert len(rows) == 9


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_prediction_json_beside_a_shared_data_folder(project: Workspace, tmp_path: Path) -> None:
    fresh = _fresh_copy(project.root, tmp_path / "fresh")
    (fresh.root / "data/gb/NLP/Capital-QA/prediction.json").write_text(json.dumps([{"id": 1, "prediction": "4"}]))
    fresh.import_predictions(fresh.root / "data/gb/NLP", model="b")
    assert _sql(fresh, "SELECT task_id, instance_id FROM predictions WHERE model = 'b' ORDER BY ALL") == [
        ("nlp.capital_qa", "1"), ("nlp.capital_qa_f1", "1")]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_file_matching_no_task_is_reported_and_nothing_stored(project: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "out"
    project.export_predictions(out, "m", make_zip=False, select=["task:image.cat_choice"])
    stray = out / "NLP" / "Unknown-Task" / "prediction.json"
    stray.parent.mkdir(parents=True)
    stray.write_text(json.dumps([{"id": 1, "prediction": "x"}]))
    fresh = _fresh_copy(project.root, tmp_path / "fresh")
    with pytest.raises(GlcError) as info:
        fresh.import_predictions(out, model="m")
    text = info.value.format()
    assert f"{stray}: no task of the benchmark has this folder" in text and "Cat-Choice" not in text
    assert _sql(fresh, "SELECT count(*) FROM predictions") == [(0,)]


@pytest.mark.parametrize(("content", "where", "message"), [
    ("[{\"id\": 1, \"prediction\": \"4\"},", "", "bad JSON at line 1"),
    ("\"4\"", "", "expected a list of {id, prediction}, got str"),
    ("{\"task\": \"Capital QA\"}", "", "the object has no 'data' list"),
    ("[{\"id\": 1, \"prediction\": \"4\"}, {\"prediction\": \"Paris\"}]", " item 2", "no instance id"),
])
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_an_invalid_prediction_json_stores_nothing(project: Workspace, tmp_path: Path, content: str, where: str,
                                                   message: str) -> None:
    fresh = _fresh_copy(project.root, tmp_path / "fresh")
    good = tmp_path / "tree" / "Image/comprehension/Cat-Choice/prediction.json"
    good.parent.mkdir(parents=True)
    good.write_text(json.dumps([{"id": "i1", "prediction": "B"}]))
    bad = tmp_path / "tree" / "NLP/Capital-QA/prediction.json"
    bad.parent.mkdir(parents=True)
    bad.write_text(content)
    with pytest.raises(GlcError) as info:
        fresh.import_predictions(tmp_path / "tree", model="m")
    assert f"{bad}{where}: {message}" in info.value.format()
    assert _sql(fresh, "SELECT count(*) FROM predictions") == [(0,)]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_missing_or_escaping_media_path_is_an_error_naming_file_and_id(project: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "out"
    project.export_predictions(out, "m", make_zip=False, select=["task:image.denoise"])
    pj = out / "Image/generation/Image-Denoising/prediction.json"
    items = json.loads(pj.read_text())
    items[1]["prediction"] = "images/nope.png"
    secret = tmp_path / "secret.png"
    secret.write_bytes((out / "Image/generation/Image-Denoising/images/camera.png").read_bytes())
    items[2]["prediction"] = "../../../../secret.png"
    items[3]["prediction"] = 7
    pj.write_text(json.dumps(items))
    fresh = _fresh_copy(project.root, tmp_path / "fresh")
    with pytest.raises(GlcError) as info:
        fresh.import_predictions(out, model="m")
    text = info.value.format()
    assert f"{pj} instance 'astronaut' field 'prediction': generated file 'images/nope.png' not found" in text
    assert f"{pj} instance 'coffee' field 'prediction': '../../../../secret.png' leads outside" in text
    assert f"{pj} instance 'chelsea' field 'prediction': expected the path of the generated file, got a number" in text
    assert "'camera'" not in text
    assert _sql(fresh, "SELECT count(*) FROM predictions") == [(0,)]
    assert not (fresh.root / "target" / "media").exists()


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_imported_media_is_copied_as_checked_within_the_size_limit(project: Workspace, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A generated file an import names is copied as a run keeps one: over the size limit it is a
    located problem before its bytes are read; swapped for other bytes after the check (or for a link)
    the import stops and stores nothing, instead of keeping bytes under another file's content name."""
    from glc.runners import base as runner_base

    from glc.importers import predictions as imp_mod

    out = tmp_path / "out"
    project.export_predictions(out, "m", make_zip=False, select=["task:image.denoise"])
    folder = out / "Image/generation/Image-Denoising"
    fresh = _fresh_copy(project.root, tmp_path / "fresh")
    monkeypatch.setattr(runner_base, "MAX_MEDIA_BYTES", 100)
    with pytest.raises(GlcError) as info:
        fresh.import_predictions(out, model="m")
    assert "instance 'camera' field 'prediction': generated file 'images/camera.png' is 10 KiB, over the " \
           "100 bytes a generated file may take" in info.value.format()
    monkeypatch.undo()
    real_store = imp_mod.store_predictions

    def swapped_then_stored(con, imports):  # between the check (read_predictions) and the copy
        first = next(src for i in imports for src, _ in i.media)
        first.write_bytes(first.read_bytes() + b"changed")
        return real_store(con, imports)

    monkeypatch.setattr(imp_mod, "store_predictions", swapped_then_stored)
    with pytest.raises(GlcError, match="the file's content changed after it was checked"):
        fresh.import_predictions(out, model="m")
    assert _sql(fresh, "SELECT count(*) FROM predictions") == [(0,)]
    monkeypatch.undo()  # the folder as it is now imports
    fresh.import_predictions(out, model="m")
    assert _sql(fresh, "SELECT count(*) FROM predictions") == [(len(list((folder / "images").iterdir())),)]


def test_two_tasks_over_one_folder_with_different_predictions(project: Workspace, tmp_path: Path) -> None:
    preds = tmp_path / "d.jsonl"
    write_predictions(preds, "d", "nlp.capital_qa", [("1", "4"), ("2", "Paris"), ("3", "blue")])
    write_predictions(preds, "d", "nlp.capital_qa_f1", [("1", "4"), ("2", "Lyon"), ("3", "blue")])
    project.import_predictions(preds)
    with pytest.raises(GlcError, match="share the folder NLP/Capital-QA but their predictions of instance '2'"):
        project.export_predictions(tmp_path / "out", "d", select=["paradigm:nlp"])
    assert not (tmp_path / "out").exists()
    project.export_predictions(tmp_path / "out", "d", select=["task:nlp.capital_qa"])
    assert json.loads((tmp_path / "out/NLP/Capital-QA/prediction.json").read_text())[1] == {"id": 2,
                                                                                           "prediction": "Paris"}


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_names_that_cannot_be_folders_are_refused(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    tid = add_task(root, "acc", "text", [("q1", {}, ["a"])])
    spec_path = root / "specs/tasks/test" / f"{tid}.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["name"] = ".."  # path separators become hyphens in folder names; '..' alone cannot be one
    spec_path.write_text(yaml.safe_dump(spec))
    ws = Workspace(root)
    ws.import_predictions(write_predictions(tmp_path / "p.jsonl", "m", tid, [("q1", "a")]))
    with pytest.raises(GlcError, match="cannot be a General-Bench folder name") as info:
        ws.export_predictions(tmp_path / "out", "m")
    assert info.value.location is not None and info.value.location.endswith(f"{tid}.yaml")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape").exists()


def test_media_file_names_from_hostile_ids() -> None:
    used: set[str] = set()
    assert _media_name("cat", ".png", used) == "cat.png"
    assert _media_name("CAT", ".png", used).startswith("id-")  # same name on a case-insensitive disk
    for hostile in ("../../x", "a/b", ".hidden", "x" * 300, "nul\x00"):
        name = _media_name(hostile, ".png", used)
        assert name.startswith("id-") and "/" not in name and name.endswith(".png")
    # an id that is the hashed name of another id: two instances never share one file
    taken: set[str] = set()
    first = _media_name("A", ".png", taken)
    other = _media_name("a", ".png", taken)  # case-insensitively taken: hashed
    clash = _media_name(other.removesuffix(".png"), ".png", set())
    assert clash == other  # alone, that id would be named so
    names = [first, other, _media_name(other.removesuffix(".png"), ".png", taken)]
    assert len({n.casefold() for n in names}) == 3, names
