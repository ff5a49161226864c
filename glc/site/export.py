"""``glc export predictions --format general-bench``: one model's predictions as General-Bench files.

For each exported task, ``OUT/<folder>/prediction.json`` where ``<folder>`` is the task's folder
relative to a General-Bench data root (``glc.importers.prediction_tree.tree_folder``), in one of
the two published forms:

* ``list`` (default, what the official scorer reads): ``[{"id": ..., "prediction": ...}]``;
* ``document``: ``{"task", "skill", "type", "data": [{"id", "prediction"}]}`` (the task spec's name,
  and its ``skill`` and ``type`` when it has them).

Ids keep the type they have in the task's ``annotation.json`` (General-Bench uses integers and
text). A prediction stored as JSON (lists, boxes, numbers) is written as JSON, text as text. A
generated file (image, audio, ...) is copied beside the prediction.json, into ``images/``,
``audios/``, ``videos/``, ``pointclouds/`` or ``files/`` by its extension, named by the instance id
(or a hash of it when the id cannot be a file name), and the prediction is that relative path.
Files are written one item per line. Several tasks over one data folder share its prediction.json
(their predictions must agree); two tasks with different data may not map to one folder.

``OUT/manifest.json`` records the glc version, model, benchmark, spec fingerprint, form, every
task (folder, instances, predictions, missing ids by reason, sha256 of its prediction.json) and
the sha256 of every file written. Unless ``zip=False``, ``OUT.zip`` (beside OUT: the one file
written outside it) holds the same tree.

Before anything is written, every instance of every exported task must have a prediction: an
instance without one, with an error, with a null output, or whose generated file is gone counts as
missing. Missing instances raise ``IncompleteExport`` (the CLI exits 1) unless ``allow_missing``;
then the gaps are listed in the manifest. OUT must be new or empty unless ``force``; with
``force`` only files a previous export listed in its manifest are replaced or removed, and any
other file in the way stops the export before it writes anything.

A manifest.json is a file like any other: whoever hands you a folder can write one listing any file
there, with its sha256. So OUT may not be, lie inside or hold a folder of data or of the project
(``_check_place``: the data roots the project grants, the project's ``data/``, ``specs/``, ``sql/``
and ``target/``, the data of an exported task; nor be or hold the project folder), whatever
``force`` says; a task folder of OUT holding an ``annotation.json`` is data, not an export; and a
file is removed only where an export writes (``<task folder>/prediction.json``,
``<task folder>/<images|audios|videos|pointclouds|files>/<name>``), reached without following a
link, and while it holds what the manifest says.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb

from glc.compiler.binding import MODALITY_DIR, PARADIGM_DIRS, name_key
from glc.compiler.errors import GlcError
from glc.compiler.plan import GLC_VERSION, CompiledProject
from glc.compiler.resolve import Project, Task
from glc.engine.selection import Selection
from glc.engine.store import ensure_store, stored_models
from glc.execute.datasets import _get, data_path, sync_instances
from glc.importers.prediction_tree import EXTENSION, media_output, safe_name, tree_folder
from glc.importers.safety import UTF8_BOM, clip, decode_utf8, preview, printable
from glc.importers.scores import fd_sha256, file_sha256
from glc.profiles import data_root_settings, load_grants
from glc.words import plural

FORMS = ("list", "document")
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "glc-general-bench-predictions/1"
MEDIA_DIRS = {
    "images": {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"},
    "audios": {".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac", ".opus"},
    "videos": {".mp4", ".avi", ".mov", ".mkv", ".webm", ".mpeg", ".mpg"},
    "pointclouds": {".ply", ".pcd", ".obj", ".xyz", ".off", ".npy", ".npz", ".las", ".glb", ".stl"},
}
MODALITY_KEYS = {name_key(d) for d in MODALITY_DIR.values()}  # the first part of a task folder, as name_key
PREVIEW_IDS = 8
PREVIEW_TASKS = 20
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same export gives the same zip

NO_PREDICTION = "no prediction"
FAILED = "failed"
NULL = "null prediction"
NO_FILE = "generated file missing"


@dataclass
class TaskExport:
    """One task's share of an export: its items in instance order and what is missing."""

    task: Task
    folder: PurePosixPath
    n_instances: int
    items: list[tuple[str, Any, str, str | None]] = field(default_factory=list)  # (id, json id, output, type)
    missing: dict[str, list[str]] = field(default_factory=dict)  # reason -> instance ids
    first_error: str | None = None

    @property
    def n_missing(self) -> int:
        return sum(len(ids) for ids in self.missing.values())

    def describe_gaps(self) -> list[str]:
        lines = [f"task '{self.task.id}' ({printable(str(self.folder))}): {self.n_missing} of "
                 f"{plural(self.n_instances, 'instance')} missing"]
        for reason, ids in self.missing.items():
            shown = ", ".join(preview(i, 40) for i in ids[:PREVIEW_IDS])
            more = f", … and {len(ids) - PREVIEW_IDS} more" if len(ids) > PREVIEW_IDS else ""
            lines.append(f"    {reason} ({len(ids)}): {shown}{more}")
        if self.first_error:
            lines.append(f"    first error: {clip(self.first_error.strip().splitlines()[-1], 200)}")
        return lines


class IncompleteExport(GlcError):
    """Instances without a usable prediction; nothing was written (the CLI exits 1)."""

    def __init__(self, model: str, tasks: list[TaskExport]) -> None:
        self.tasks = tasks
        n = sum(t.n_missing for t in tasks)
        super().__init__(f"{n} instance(s) of {len(tasks)} task(s) have no usable prediction of model '{model}'; "
                         "nothing was written",
                         hint=f"complete them (`glc run --select model:{model}`, `--retry-failed` for failed ones), "
                              "export fewer tasks with --select, or pass --allow-missing to write what there is "
                              "(the gaps are listed in manifest.json)")

    def format(self) -> str:
        lines = [self.message]
        for t in self.tasks[:PREVIEW_TASKS]:
            lines += ["  " + line for line in t.describe_gaps()]
        if len(self.tasks) > PREVIEW_TASKS:
            lines.append(f"  … and {len(self.tasks) - PREVIEW_TASKS} more task(s)")
        lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


@dataclass
class ExportResult:
    out: Path
    zip_path: Path | None
    model: str
    form: str
    tasks: list[TaskExport]
    files: dict[str, str]  # relative path -> sha256
    removed: list[str] = field(default_factory=list)  # files of a previous export no longer part of this one
    without_data: list[str] = field(default_factory=list)  # selected tasks with no task data: not in the export

    def describe(self) -> str:
        n = sum(len(t.items) for t in self.tasks)
        written = sum(1 for p in self.files if PurePosixPath(p).name == "prediction.json")
        lines = [f"exported {plural(n, 'prediction')} of model '{self.model}' for {len(self.tasks)} task(s) into "
                 f"{written} prediction.json file(s) ({self.form} form) under {self.out}",
                 f"manifest: {self.out / MANIFEST}"]
        if self.without_data:
            shown = ", ".join(self.without_data[:5]) + (" …" if len(self.without_data) > 5 else "")
            lines.append(f"note: {plural(len(self.without_data), 'selected task')} have no task data and are not in "
                         f"the export ({shown}): no folder of the data root is bound to them (`glc ls tasks` says "
                         f"why); {MANIFEST} lists them and says complete: false")
        if self.zip_path is not None:
            lines.append(f"zip: {self.zip_path}")
        if self.removed:
            lines.append(f"removed {len(self.removed)} file(s) of the previous export that this one does not hold")
        gaps = [t for t in self.tasks if t.missing]
        if gaps:
            lines.append(f"written with gaps (--allow-missing), listed in {MANIFEST}:")
            lines += ["  " + line for t in gaps[:PREVIEW_TASKS] for line in t.describe_gaps()]
        return "\n".join(lines)


def zip_path_of(out: Path) -> Path:
    return out.with_name(out.name + ".zip")


def _out_folder(out: Path | str) -> Path:
    path = Path(os.path.abspath(out))
    if not path.name:
        raise GlcError("the output folder cannot be a file system root", location=str(path),
                       hint="name a new folder, e.g. exports/my-model")
    if (path.exists() and not path.is_dir()) or (path.is_symlink() and not path.exists()):
        raise GlcError("the output path exists and is not a folder (a file, or a link that leads nowhere)",
                       location=str(path), hint="name a new folder")
    return path


def _selected_tasks(compiled: CompiledProject, selection: Selection | None) -> tuple[list[Task], list[str]]:
    """The selected tasks with task data, and the ids of those without (not bound to a data folder)."""
    chosen = [t for t in compiled.project.tasks if selection is None or not selection.tasks or t.id in selection.tasks]
    tasks = [t for t in chosen if t.spec.dataset is not None]
    if not tasks:
        raise GlcError("no selected task has task data to export", location="specs/tasks",
                       hint="a task has data when its spec has a dataset: section or it is bound to a folder of the "
                            "benchmark's data root (--data, $GLC_DATA or benchmark_data: in profiles.yml); "
                            "`glc ls tasks` shows each task's folder; check --select")
    return tasks, [t.id for t in chosen if t.spec.dataset is None]


def _check_model(con: duckdb.DuckDBPyConnection, model: str) -> None:
    known = stored_models(con)
    if model not in known:
        from glc.importers.safety import suggest

        raise GlcError(f"no predictions of model {preview(model)} in the store",
                       hint=suggest(model, known) or ("stored models: " + ", ".join(known[:20]) if known
                                                      else "run `glc run` or `glc import predictions` first"))


def _original_ids(root: Path, task: Task) -> dict[str, Any]:
    """Integer ids of a General-Bench annotation.json by their text, so they are written back as integers."""
    ds = task.spec.dataset
    if ds is None or ds.format != "general_bench":
        return {}
    f = data_path(root, ds) / "annotation.json"
    if not load_grants(root).readable(f):
        return {}
    try:
        doc = json.loads(decode_utf8(f.read_bytes().removeprefix(UTF8_BOM), f))  # the loader skips a BOM too
        data = doc.get("data") if isinstance(doc, dict) else None
    except (OSError, ValueError, GlcError):
        return {}
    out: dict[str, Any] = {}
    for rec in data if isinstance(data, list) else []:
        try:
            value = _get(rec, ds.fields.get("id", "id"))
        except KeyError:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            out[str(value)] = value
    return out


def _gather(con: duckdb.DuckDBPyConnection, root: Path, task: Task, folder: PurePosixPath,
            model: str) -> TaskExport:
    instances = [r[0] for r in con.execute(
        "SELECT instance_id FROM instances WHERE task_id = ? ORDER BY rowid", [task.id]).fetchall()]
    preds = {r[0]: r[1:] for r in con.execute(
        "SELECT instance_id, output, output_type, error FROM predictions WHERE model = ? AND task_id = ?",
        [model, task.id]).fetchall()}
    ids = _original_ids(root, task)
    media = media_output(task)
    grants = load_grants(root)
    te = TaskExport(task, folder, len(instances))
    for iid in instances:
        output, output_type, error = preds.get(iid, (None, None, None))
        reason = (NO_PREDICTION if iid not in preds else FAILED if error is not None else
                  NULL if output is None else
                  NO_FILE if media and not (grants.readable(Path(output)) and Path(output).is_file()) else None)
        if reason is None:
            te.items.append((iid, ids.get(iid, iid), output, output_type))
        else:
            te.missing.setdefault(reason, []).append(iid)
            if reason == FAILED and te.first_error is None:
                te.first_error = error
    return te


def _prediction_value(output: str, output_type: str | None) -> Any:
    if output_type in ("list", "object", "number", "boolean"):
        try:
            return json.loads(output)
        except ValueError:
            return output
    return output


def _media_name(iid: str, suffix: str, used: set[str]) -> str:
    """``<id><ext>`` when the id is a safe, not yet used file name; else a name from its hash."""
    name = f"{iid}{suffix}"
    if not (safe_name(name) and not iid.startswith(".") and len(name) <= 120) or name.casefold() in used:
        stem = f"id-{hashlib.sha256(iid.encode('utf-8', 'surrogatepass')).hexdigest()[:20]}"
        name, n = f"{stem}{suffix}", 1
        while name.casefold() in used:  # an id that is itself such a name took it: never two instances, one file
            n += 1
            name = f"{stem}-{n}{suffix}"
    used.add(name.casefold())
    return name


def _media_dir(suffix: str) -> str:
    return next((d for d, exts in MEDIA_DIRS.items() if suffix in exts), "files")


@dataclass
class _Folder:
    """One prediction.json to write: the tasks it serves and its items."""

    folder: PurePosixPath
    tasks: list[TaskExport]
    items: dict[str, Any] = field(default_factory=dict)  # instance id -> (json id, prediction)
    media: dict[str, Path] = field(default_factory=dict)  # relative path -> source file


def _plan(tasks: list[TaskExport], form: str) -> dict[str, bytes | Path]:
    """Every file to write (relative path -> bytes, or the file to copy), folder by folder."""
    folders: dict[PurePosixPath, _Folder] = {}
    for te in tasks:
        folders.setdefault(te.folder, _Folder(te.folder, [])).tasks.append(te)
    files: dict[str, bytes | Path] = {}
    for fo in folders.values():
        used: set[str] = set()
        outputs: dict[str, str] = {}
        for te in fo.tasks:
            for iid, jid, output, output_type in te.items:
                if iid in outputs:
                    if outputs[iid] != output:  # two tasks over one folder disagree: no single file is right
                        others = ", ".join(f"'{t.task.id}'" for t in fo.tasks)
                        raise GlcError(f"tasks {others} share the folder {fo.folder} but their predictions of "
                                       f"instance {preview(iid)} differ", location=te.task.path,
                                       hint="export one of them at a time (--select task:ID)")
                    continue
                outputs[iid] = output
                if media_output(te.task):
                    src = Path(output)
                    suffix = src.suffix.lower() if EXTENSION.match(src.suffix) else ""
                    rel = PurePosixPath(_media_dir(suffix), _media_name(iid, suffix, used))
                    fo.media[rel.as_posix()] = src
                    files[(fo.folder / rel).as_posix()] = src
                    value: Any = rel.as_posix()
                else:
                    value = _prediction_value(output, output_type)
                fo.items[iid] = (jid, value)
        data = [{"id": jid, "prediction": value} for jid, value in fo.items.values()]
        if not data:
            continue  # nothing to write for it (--allow-missing): the manifest lists its gaps
        first = fo.tasks[0].task.spec
        head = None if form == "list" else {"task": first.name, **{k: v for k, v in (("skill", first.skill),
                                                                                  ("type", first.type)) if v}}
        files[(fo.folder / "prediction.json").as_posix()] = _dump(head, data).encode()
    return files


def _dump(head: dict[str, Any] | None, data: list[dict[str, Any]]) -> str:
    """The list form (``head`` None) or the document form, one item per line (readable, diffable)."""
    items = "[\n" + ",\n".join(json.dumps(item, ensure_ascii=False) for item in data) + "\n]"
    if head is None:
        return items + "\n"
    fields = "".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}, " for k, v in head.items())
    return "{" + fields + '"data": ' + items + "}\n"


def _previous_files(out: Path) -> dict[str, str]:
    """Files a previous export wrote in OUT, as its manifest.json lists them, with the sha256 it wrote
    (only those may be replaced or removed with force; the manifest itself is listed with '')."""
    f = out / MANIFEST
    try:
        doc = json.loads(f.read_text(encoding="utf-8")) if f.is_file() and not f.is_symlink() else None
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT or not isinstance(doc.get("files"), dict):
        return {}
    # anyone can write a manifest: of what it lists, only paths an export writes count
    return {rel: sha for rel, sha in doc["files"].items() if isinstance(rel, str) and isinstance(sha, str)
            and _export_layout(rel) is not None} | {MANIFEST: ""}


def _export_layout(rel: str) -> PurePosixPath | None:
    """The task folder of ``rel`` when it is a path an export writes: ``<task folder>/prediction.json``
    or ``<task folder>/<media folder>/<name>`` (a media folder of ``MEDIA_DIRS`` holding only its
    extensions, or ``files``), the task folder ``<Modality>/<paradigm>/<Name>`` or ``NLP/<Name>`` as
    ``tree_folder`` gives it, every part a plain name (no ``..``, no leading dot, no control character,
    written as the export writes it: no ``./``, no ``//``); else None."""
    path = PurePosixPath(rel)
    parts = path.parts
    if not parts or path.as_posix() != rel or not all(safe_name(p) and not p.startswith(".") for p in parts):
        return None
    modality = name_key(parts[0])
    if modality not in MODALITY_KEYS:
        return None
    depth = 2 if modality == "nlp" else 3
    if modality != "nlp" and (len(parts) < 3 or name_key(parts[1]) not in PARADIGM_DIRS):
        return None
    rest = parts[depth:]
    folder = PurePosixPath(*parts[:depth])
    if rest == ("prediction.json",):
        return folder
    if len(rest) == 2 and (rest[0] == "files" or (rest[0] in MEDIA_DIRS and
                                                   PurePosixPath(rest[1]).suffix.lower() in MEDIA_DIRS[rest[0]])):
        return folder
    return None


def _remove_own(out_real: Path, rel: str, sha: str) -> bool:
    """Remove OUT/rel when it is a regular file reached from OUT without following a link (not at its
    end, not on the way) that holds what the previous export wrote there (``sha``); True when removed.
    The folders are opened one by one below OUT (``O_NOFOLLOW``) and the file is unlinked in the folder
    it was read from, so a link swapped in meanwhile cannot lead the removal elsewhere."""
    *folders, name = PurePosixPath(rel).parts
    flags = os.O_RDONLY | os.O_CLOEXEC
    try:
        fd = os.open(out_real, flags | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        for part in folders:
            try:
                inner = os.open(part, flags | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError:  # gone, not a folder, or a link
                return False
            os.close(fd)
            fd = inner
        try:
            ffd = os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
        except OSError:
            return False
        try:
            if not stat.S_ISREG(os.fstat(ffd).st_mode):
                return False
            got = fd_sha256(ffd)
        except OSError:
            return False
        finally:
            os.close(ffd)
        if got != sha:  # changed since (yours now), or never what the manifest says
            return False
        try:
            os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise GlcError(f"cannot remove a file of the previous export: {exc.strerror or exc}",
                           location=str(out_real / rel), hint="check that the output folder is writable") from None
        return True
    finally:
        os.close(fd)


def _inside(out_real: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(out_real)
    except (OSError, RuntimeError):
        return False


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _chain(path: Path) -> set[tuple[int, int]]:
    """The identities (device, inode) of ``path`` and every folder above it that exists: the same
    folder seen through a bind mount or another spelling is the same folder."""
    return {i for i in (_identity(p) for p in (path, *path.parents)) if i is not None}


def _real(path: Path) -> Path | None:
    """``path`` with its links resolved; None when it cannot be (a loop of links, a NUL in it): no
    folder is there."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def _protected(project: Project) -> list[tuple[Path, str, bool]]:
    """(folder, what it is, whether OUT may lie inside it): the project folder itself (OUT may lie
    inside it), the project's data roots and its data/, specs/, sql/ and target/ folders."""
    root = project.root
    places: list[tuple[Path, str, bool]] = [(root, "the project folder", True)]
    if project.binding is not None:
        places.append((project.binding.root, f"the data root of benchmark '{project.benchmark.name}' (from "
                                             f"{project.binding.source})", False))
    places += [(path, f"the data root from {source}", False) for path, source in data_root_settings(root)]
    places += [(root / name, f"the project's {name}/ folder", False) for name in ("data", "specs", "sql", "target")]
    return places


def _check_place(out: Path, places: list[tuple[Path, str, bool]], instead: Path | None = None) -> None:
    """Refuse an OUT that is, lies inside or holds one of ``places`` (that is or holds one whose third
    member is True): links resolved, and each folder also compared by its identity on disk, so a link,
    a bind mount or a folder of OUT not made yet (its existing parents count) does not get around it.
    A manifest.json is anyone's to write (it lists any file with its sha256): an export there could
    replace or remove data files, whatever --force says. ``instead``: a folder to suggest, when it
    would pass."""
    clash = _clash(out, places)
    if clash is None:
        return
    how, what, place = clash
    example = f", e.g. {instead}" if instead is not None and _clash(instead, places) is None else ""
    raise GlcError(f"the output folder {how} {what}, {printable(str(place))}; an export there could replace or "
                   f"remove its files (whatever --force says): name a new folder outside it{example}",
                   location=str(out))


def _clash(out: Path, places: list[tuple[Path, str, bool]]) -> tuple[str, str, Path] | None:
    """(how OUT meets it, what it is, the folder) for the first of ``places`` OUT is, lies inside or holds."""
    real = _real(out)
    if real is None:
        raise GlcError("cannot resolve the output folder (a link on its way leads in a loop)", location=str(out),
                       hint="name a new folder")
    out_id, out_chain = _identity(real), _chain(real)
    for place, what, inside_ok in places:
        place_real = _real(place)
        if place_real is None:  # nothing there to overwrite
            continue
        place_id = _identity(place_real)
        if real == place_real or (place_id is not None and place_id == out_id):
            return "is", what, place_real
        if not inside_ok and (real.is_relative_to(place_real) or (place_id is not None and place_id in out_chain)):
            return "lies inside", what, place_real
        if place_real.is_relative_to(real) or (out_id is not None and out_id in _chain(place_real)):
            return "holds", what, place_real
    return None


def _check_not_data(out: Path, folders: Iterable[PurePosixPath], instead: Path | None = None) -> None:
    """Refuse an OUT whose task folders hold an annotation.json: that is General-Bench data (a data
    tree the project does not name as a data root), which an export never writes."""
    for folder in sorted(set(folders)):
        if os.path.lexists(out / folder / "annotation.json"):
            example = f", e.g. {instead}" if instead is not None else ""
            raise GlcError(f"{printable(folder.as_posix())}/annotation.json is there: the output folder holds "
                           "General-Bench data, and an export there could replace or remove its files (whatever "
                           f"--force says): name a new folder outside the data{example}", location=str(out))


def _check_target(out: Path, planned: Iterable[str], force: bool, zip_path: Path | None) -> dict[str, str]:
    """Refuse a non-empty OUT without force, and with force any file in the way no export wrote."""
    busy = out.is_dir() and any(out.iterdir())
    if busy and not force:
        raise GlcError("the output folder exists and is not empty", location=str(out),
                       hint="name a new folder, or pass --force to replace a previous export there")
    if zip_path is not None and (zip_path.exists() or zip_path.is_symlink()):
        if zip_path.is_symlink() or not zip_path.is_file():
            raise GlcError("the zip path exists and is not a plain file (a folder or a link)", location=str(zip_path),
                           hint="remove it or pass --no-zip; --force replaces only a zip file")
        if not force:
            raise GlcError("the zip file exists", location=str(zip_path),
                           hint="remove it, pass --no-zip, or pass --force to replace it")
    owned = _previous_files(out) if busy else {}
    in_the_way = [p for p in [*planned, MANIFEST] if p not in owned and ((out / p).exists() or (out / p).is_symlink())]
    if in_the_way:
        raise GlcError(f"{len(in_the_way)} file(s) in the output folder were not written by a glc export, e.g. "
                       f"{', '.join(in_the_way[:5])}", location=str(out),
                       hint="choose a new folder; --force replaces only files listed in the manifest.json of a "
                            "previous export")
    return owned


def _check_dest(out_real: Path, path: Path) -> None:
    """The deepest existing folder above ``path`` must lie inside OUT (symlinks resolved), so no
    symbolic link inside OUT can lead a write, or a new folder, out of it."""
    existing = path.parent
    while not (existing.exists() or existing.is_symlink()):
        existing = existing.parent
    if not _inside(out_real, existing):
        raise GlcError("a folder inside the output folder leads outside it (a symbolic link); nothing was written",
                       location=str(existing), hint="remove the link or choose a new folder")


def _write_bytes(out_real: Path, path: Path, data: bytes | Path) -> str:
    """Write (or copy) one file through a temporary name; its folder must stay inside OUT."""
    _check_dest(out_real, path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Path):
            shutil.copyfile(data, tmp)
        else:
            tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise GlcError(f"cannot write the file: {exc.strerror or exc}", location=str(path),
                       hint="check that the output folder is writable and holds no file where a folder "
                            "must go") from None
    finally:
        tmp.unlink(missing_ok=True)
    return hashlib.sha256(data).hexdigest() if isinstance(data, bytes) else file_sha256(path)


def _write_zip(zip_path: Path, out: Path, names: list[str]) -> None:
    try:
        with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in names:
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with (out / name).open("rb") as src, zf.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except BaseException:
        zip_path.unlink(missing_ok=True)
        raise


def export_predictions(con: duckdb.DuckDBPyConnection, compiled: CompiledProject, model: str, out: Path | str, *,
                       form: str = "list", make_zip: bool = True, selection: Selection | None = None,
                       allow_missing: bool = False, force: bool = False) -> ExportResult:
    """Write ``model``'s predictions of the selected tasks as a General-Bench tree under ``out``."""
    if form not in FORMS:
        raise GlcError(f"unknown form {preview(form)}", hint="--form list (the official scorer's) or document")
    project = compiled.project
    out = _out_folder(out)
    instead = project.root / "exports" / model if safe_name(model) and not model.startswith(".") else None
    _check_place(out, _protected(project), instead)  # the project's data and own folders: never, --force or not
    zip_path = zip_path_of(out) if make_zip else None
    _check_target(out, [], force, zip_path)  # refuse a busy OUT before any work
    ensure_store(con)
    _check_model(con, model)
    tasks, without_data = _selected_tasks(compiled, selection)
    # nor the data of a task wherever it lies (a General-Bench folder; a data file OUT would hold)
    _check_place(out, [(data_path(project.root, ds), f"the data of task '{t.id}'", ds.format != "general_bench")
                       for t in project.tasks if (ds := t.spec.dataset) is not None], instead)
    folders = {t.id: tree_folder(project.root, t) for t in tasks}
    _check_folders(project.root, tasks, folders)
    sync_instances(con, project, [t.id for t in tasks])
    exports = [_gather(con, project.root, t, folders[t.id], model) for t in tasks]
    gaps = [te for te in exports if te.missing]
    if gaps and not allow_missing:
        raise IncompleteExport(model, gaps)
    planned = _plan(exports, form)
    owned = _check_target(out, planned, force, zip_path)
    _check_not_data(out, [f for rel in [*planned, *owned] if (f := _export_layout(rel)) is not None], instead)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GlcError(f"cannot make the output folder: {exc.strerror or exc}", location=str(out),
                       hint="name a folder whose parent exists and is writable, with no file where a folder "
                            "must go") from None
    out_real = out.resolve()
    for rel in [*planned, MANIFEST]:
        _check_dest(out_real, out / rel)
    # a file the new export does not write goes only where an export writes and while it holds what the
    # previous one wrote: a manifest is a file like any other, and one that lists a file of yours (or one you
    # changed since) does not make it glc's to delete. One the new export writes again is replaced, whatever
    # an interrupted export left.
    removed = [p for p in sorted(set(owned) - set(planned) - {MANIFEST}) if _remove_own(out_real, p, owned[p])]
    hashes = {rel: _write_bytes(out_real, out / rel, data) for rel, data in sorted(planned.items())}
    manifest = _manifest(compiled, model, form, exports, hashes, allow_missing, without_data)
    _write_bytes(out_real, out / MANIFEST, (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode())
    if zip_path is not None:
        _write_zip(zip_path, out, sorted([*hashes, MANIFEST]))
    return ExportResult(out, zip_path, model, form, exports, hashes, removed, without_data)


def _check_folders(root: Path, tasks: list[Task], folders: dict[str, PurePosixPath]) -> None:
    """Two tasks may share a tree folder only when they read the same data folder."""
    from glc.compiler.binding import name_key

    seen: dict[tuple[str, ...], tuple[Task, Path | None]] = {}
    for t in tasks:
        ds = t.spec.dataset
        data = data_path(root, ds).resolve() if ds is not None and ds.format == "general_bench" else None
        key = tuple(name_key(p) for p in folders[t.id].parts)
        if key in seen:
            other, other_data = seen[key]
            if data is None or other_data != data:
                raise GlcError(f"tasks '{other.id}' and '{t.id}' would both be written to {folders[t.id]}",
                               location=t.path, hint="bind each task to its own General-Bench folder "
                               "(dataset.path), rename one, or export one at a time (--select task:ID)")
        else:
            seen[key] = (t, data)


def _manifest(compiled: CompiledProject, model: str, form: str, exports: list[TaskExport], hashes: dict[str, str],
              allow_missing: bool, without_data: list[str]) -> dict[str, Any]:
    tasks = []
    for te in exports:
        pj = (te.folder / "prediction.json").as_posix()
        media = [p for p in hashes if p.startswith(f"{te.folder.as_posix()}/") and p != pj]
        tasks.append({"task_id": te.task.id, "task_name": te.task.spec.name, "folder": te.folder.as_posix(),
                      "n_instances": te.n_instances, "n_predictions": len(te.items), "n_missing": te.n_missing,
                      "missing": te.missing, "prediction_sha256": hashes.get(pj), "n_media_files": len(media)})
    return {"format": MANIFEST_FORMAT, "glc_version": GLC_VERSION, "model": model,
            "benchmark": compiled.project.benchmark.name,
            "spec_fingerprint": compiled.manifest.get("specs", {}).get("fingerprint"),
            "form": form, "complete": not any(te.missing for te in exports) and not without_data,
            "allow_missing": allow_missing, "tasks": tasks, "tasks_without_data": without_data, "files": hashes}
