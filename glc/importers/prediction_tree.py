"""Where a task's ``prediction.json`` lives in a General-Bench tree, and how a tree maps back to tasks.

A General-Bench download is ``<Modality>/<paradigm>/<Task-Name>/annotation.json`` (and
``NLP/<Task-Name>/``); the official scorer reads a ``prediction.json`` beside each annotation.
``glc export predictions`` writes the same tree under a folder of its own, and ``glc import
predictions`` reads such a tree back:

* ``tree_folder``: a task's folder relative to the data root: the last parts of the folder its
  dataset is bound to when that folder sits in the General-Bench layout (its own spelling), else
  ``<Modality>/<paradigm>/`` plus the bound folder's name, else the canonical folder of its name;
* ``TreeIndex.tasks_for``: the tasks of a folder holding a ``prediction.json``: the tasks bound
  to that very folder (beside ``annotation.json``), else those whose tree folder the folder's
  path ends with, part by part under ``name_key`` (case, spacing and punctuation do not count).
  Several tasks over one data folder (the same data scored by two metrics) all match;
* ``prediction_items``: the items of a ``prediction.json`` in either published form, a list of
  ``{id, prediction}`` or ``{task, skill, type, data: [{id, prediction}]}``;
* ``local_media``: a generated file a prediction names by a relative path, resolved against the
  ``prediction.json``'s own folder; it must be a regular file inside the imported folder (or
  where specs may read) and is copied into ``target/media/`` under its sha256, so scores never
  depend on the imported folder staying where it is.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from glc.compiler.binding import canonical_folder, folder_name, name_key
from glc.compiler.errors import GlcError
from glc.compiler.resolve import Project, Task
from glc.execute.datasets import data_path
from glc.importers.safety import clip, preview
from glc.importers.scores import Problem, file_sha256
from glc.profiles import Grants

MEDIA_OUTPUTS = frozenset({"image", "audio", "video", "pointcloud"})  # generated files, scored by metrics
FORMS_HINT = 'a list [{"id": ..., "prediction": ...}] or an object {"task", "type", "skill", "data": [...]}'
EXTENSION = re.compile(r"^\.[A-Za-z0-9]{1,10}$")
# what a folder or file name written from a spec or an instance id may not hold
UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def media_output(task: Task) -> bool:
    """True when the task's predictions are generated files (paths), not answers."""
    ds, inf = task.spec.dataset, task.spec.inference
    return (ds is not None and ds.reference in MEDIA_OUTPUTS) or (inf is not None and inf.output in MEDIA_OUTPUTS)


def safe_name(name: str) -> bool:
    """A single path part (at most 255 bytes) that cannot climb out of its folder or hide a control character."""
    return (0 < len(name.encode("utf-8", "surrogatepass")) <= 255 and name not in (".", "..")
            and UNSAFE_NAME.search(name) is None)


def tree_folder(root: Path, task: Task) -> PurePosixPath:
    """The task's folder relative to a General-Bench data root; GlcError for a name no folder can have."""
    spec = task.spec
    canon_parent = canonical_folder(spec.modality, spec.paradigm, "x").parent
    ds = spec.dataset
    if ds is not None and ds.format == "general_bench":
        bound = Path(os.path.normpath(data_path(root, ds)))
        n = len(canon_parent.parts)
        above = bound.parts[-n - 1:-1]
        if len(above) == n and [name_key(p) for p in above] == [name_key(p) for p in canon_parent.parts]:
            folder = PurePosixPath(*above, bound.name)
        else:
            folder = canon_parent / bound.name
        field, value = "dataset.path", ds.path
    else:
        folder = canon_parent / folder_name(spec.name)
        field, value = "name", spec.name
    if len(folder.parts) != len(canon_parent.parts) + 1 or not all(safe_name(p) for p in folder.parts):
        raise GlcError(f"task '{spec.id}': {field} {preview(value)} cannot be a General-Bench folder name",
                       location=task.path,
                       hint="a folder name may not be empty, '.', '..' or hold / \\ or control characters; "
                            "bind the task to its General-Bench folder (dataset: {format: general_bench, "
                            "path: ...}) or rename it")
    return folder


@dataclass(frozen=True)
class TreeIndex:
    """The tasks of the folders a prediction.json may lie in."""

    beside: dict[Path, tuple[str, ...]]  # resolved bound folder -> tasks bound to it
    by_tail: dict[tuple[str, ...], tuple[str, ...]]  # name keys of a tree folder -> its tasks (with data first)

    @classmethod
    def of(cls, project: Project) -> TreeIndex:
        beside: dict[Path, list[str]] = {}
        by_tail: dict[tuple[str, ...], list[str]] = {}
        for t in project.tasks:
            ds = t.spec.dataset
            if ds is not None and ds.format == "general_bench":
                beside.setdefault(data_path(project.root, ds).resolve(), []).append(t.id)
            try:
                folder = tree_folder(project.root, t)
            except GlcError:
                continue  # no tree folder: only predictions beside its annotation.json reach it
            by_tail.setdefault(tuple(name_key(p) for p in folder.parts), []).append(t.id)
        with_data = {t.id for t in project.tasks if t.spec.dataset is not None}
        # a folder that a task with data has goes to those tasks only, not to a same-named task without data
        tails = {k: tuple(x for x in v if x in with_data) or tuple(v) for k, v in by_tail.items()}
        return cls({k: tuple(v) for k, v in beside.items()}, tails)

    def tasks_for(self, folder: Path) -> tuple[str, ...]:
        """Tasks bound to ``folder`` itself, else the tasks whose tree folder its path ends with."""
        found = self.beside.get(folder.resolve())
        if found:
            return found
        keys = tuple(name_key(p) for p in Path(os.path.abspath(folder)).parts)
        for n in (3, 2):  # <Modality>/<paradigm>/<Task> before NLP/<Task>
            if len(keys) >= n and (hit := self.by_tail.get(keys[-n:])):
                return hit
        return ()


UNMATCHED_HINT = ("a prediction.json lies beside the annotation.json of a task's dataset, or in a tree that "
                  "mirrors the General-Bench layout (<Modality>/<comprehension|generation>/<Task>/ or NLP/<Task>/) "
                  "as `glc export predictions` writes it; `glc ls tasks` lists the project's tasks")


def unmatched(f: Path) -> Problem:
    return Problem(str(f), "no task of the benchmark has this folder", UNMATCHED_HINT)


def prediction_items(doc: Any, f: Path, problems: list[Problem]) -> list[Any] | None:
    """The ``{id, prediction}`` items of a parsed prediction.json in either form, or None (problem recorded)."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        data = doc.get("data")
        if isinstance(data, list):
            return data
        problems.append(Problem(str(f), "the object has no 'data' list" if data is None else
                                f"'data' is {type(data).__name__}, not a list", FORMS_HINT))
        return None
    problems.append(Problem(str(f), f"expected a list of {{id, prediction}}, got {type(doc).__name__}", FORMS_HINT))
    return None


def media_path(root: Path) -> Path:
    return root / "target" / "media"


def local_media(value: str, base: Path, tree: Path, grants: Grants, media_dir: Path,
                where: str) -> tuple[Path, Path] | Problem:
    """(source, destination under ``media_dir``) of a generated file named relative to ``base``.

    The file must exist as a regular file (symlinks resolved) inside ``tree`` (the imported
    folder) or where specs may read; a path leading elsewhere, or to nothing, is a problem
    naming the prediction file, the instance and the path.
    """
    hint = "a generated file is named relative to the folder of its prediction.json, e.g. images/<id>.png"
    if not value.strip() or "\x00" in value:
        return Problem(f"{where} field 'prediction'", "empty file path", hint)
    try:
        src = (base / value).resolve()
        inside = src.is_relative_to(tree.resolve()) or grants.readable(src)
        exists = inside and src.is_file()
    except (OSError, RuntimeError, ValueError):
        inside, exists = False, False
    if not inside:
        return Problem(f"{where} field 'prediction'", f"{preview(value)} leads outside the imported folder",
                       "a prediction file may name files in its own tree, the project or a folder under "
                       "'data_roots:' of profiles.yml")
    if not exists:
        return Problem(f"{where} field 'prediction'", clip(f"generated file {preview(value)} not found (looked for "
                                                           f"{base / value})"), hint)
    from glc.runners import base as runner_base

    size, limit = src.stat().st_size, runner_base.MAX_MEDIA_BYTES
    if size > limit:  # before its bytes are read: as a run keeps no larger generated file
        return Problem(f"{where} field 'prediction'",
                       f"generated file {preview(value)} is {runner_base.size_text(size)}, over the "
                       f"{runner_base.size_text(limit)} a generated file may take",
                       "a run keeps no larger generated file either: give a smaller one (a lower resolution, "
                       "duration or point count)")
    suffix = src.suffix.lower() if EXTENSION.match(src.suffix) else ""
    digest = file_sha256(src)
    return src, media_dir / digest[:2] / f"{digest}{suffix}"


def copy_media(src: Path, dest: Path) -> None:
    """Copy a generated file to its content address ``dest`` (``local_media`` named it by the file's
    sha256 when it checked the file). The copy is made as a run keeps a generated file: from one
    descriptor opened without following a link, hashed as it is copied, at most ``MAX_MEDIA_BYTES``;
    a file that is no longer what was checked (swapped for a link or a FIFO, grown, or other bytes
    than the ones hashed) raises GlcError, and the import stores nothing."""
    from glc.execute.inference import copy_hashed
    from glc.runners.base import link_problem

    if dest.is_file():  # the same bytes, copied before
        return
    hint = "the imported folder changed while it was imported; import it again"
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        why = link_problem(src) if exc.errno == errno.ELOOP else f"cannot read it: {exc.strerror or exc}"
        raise GlcError(why, location=clip(str(src)), hint=hint) from None
    try:
        kept = copy_hashed(fd, src, dest.parent.parent, dest.suffix)
    finally:
        os.close(fd)
    if isinstance(kept, str):
        raise GlcError(kept, location=clip(str(src)), hint=hint)
    if kept != dest:  # other bytes than those checked (kept by their own content name, named by no prediction)
        raise GlcError("the file's content changed after it was checked", location=clip(str(src)), hint=hint)
