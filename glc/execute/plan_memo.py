"""The content keys a plan computed, remembered: planning again with nothing changed renders no prompt.

Planning a (model, task) job renders the task's prompt for every instance and hashes it, with the
model's identity and the content of the instance's media, into the content key its prediction must
carry (``glc.execute.inference``). On a full General-Bench download with one model that is some
230,000 prompts and as many media references: half a minute at every ``glc compile`` and ``glc run``,
to learn that nothing is to run. A job's keys are a function of what its *digest* covers:

- the identity part of every key (model name, revision, runner and args, weights hashes, choices,
  output kind, generation settings: ``inference.key_base``);
- the prompt template and the task's id and name (what the template sees besides the instance);
- the task's stored instances, by their dataset fingerprint (the dataset spec and the data file's
  content: the instances are reloaded exactly when it changes);
- the version (size, modification and change time, inode, device; links followed) of every media file
  the task's instances name: a file changed in place changes its key;
- what media may be read: the project and the data roots profiles.yml and ``$GLC_DATA`` grant (a job
  found done reads no media path, so a grant withdrawn must plan its jobs in full, which refuse);
- the code that turns these into keys (the source of ``inference`` and of the prompt sandbox) and the
  installed jinja2, as this process loaded it (a file changed since is believed in no digest).

A job found done but with predictions to run (an outline's job) has its requests built by ``execute``
with the key part the plan computed, not one computed again when its turn comes.

A job whose digest is the one remembered gets its remembered keys compared with the stored predictions
in one query for all jobs: when every instance holds a prediction with its key, the job is done and
nothing is rendered. A plan that only reports (``glc compile``: an *outline*) takes the counts of any
such job from that query (new, changed, failed before) and renders nothing either; a plan that runs
inference plans every job with something to run in full, as without this memo, and remembers its
keys (``glc_plan_jobs``, ``glc_plan_keys``: bookkeeping tables of the store, never read by the SQL
models). A media file changed less than two seconds before planning (a coarse clock could give a
rewrite within the same tick the same version) gives its task no digest: such a job is planned in full
and nothing is remembered for it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from glc.compiler.contracts import STATE
from glc.compiler.resolve import Project, Task
from glc.engine.store import insert_rows, transaction
from glc.execute.datasets import FileVersions, media_folder
from glc.profiles import load_grants

JOBS = STATE["glc_plan_jobs"]
KEYS = STATE["glc_plan_keys"]
# the modules whose code makes the keys from what a digest covers, and jinja2 (its version is in the
# first file of its package)
KEY_CODE = ("glc.execute.inference", "glc.execute.datasets", "glc.compiler.sandbox", "jinja2")


@functools.cache
def _code_digest() -> str:
    """sha256 of the source of the modules that compute keys (found without importing them); a
    digest of this process alone (nothing remembered is believed, and what this process remembers
    serves no other) when one cannot be read, or when one changed after this process imported glc
    (or less than two seconds before): the file on disk is then not the code this process runs (an
    update installed while a long run or a library session goes on), and keys this process computes
    must not be remembered as that code's."""
    import glc

    h = hashlib.sha256()
    for name in KEY_CODE:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        try:
            with open(origin or "", "rb") as fh:
                data = fh.read()
                st = os.fstat(fh.fileno())
        except (OSError, ValueError):
            return f"unreadable {name}: {uuid.uuid4()}"
        if max(st.st_mtime_ns, st.st_ctime_ns) > glc.IMPORTED_NS - FileVersions.RACY_NS:
            return f"{name} changed after this process loaded it: {uuid.uuid4()}"
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


_PAIRS = "(SELECT unnest(?::VARCHAR[]) AS model, unnest(?::VARCHAR[]) AS task_id) w"
_DELETE_PAIRS = (
    "DELETE FROM glc_plan_jobs AS x USING " + _PAIRS + " WHERE x.model = w.model AND x.task_id = w.task_id",
    "DELETE FROM glc_plan_keys AS x USING " + _PAIRS + " WHERE x.model = w.model AND x.task_id = w.task_id",
)


@dataclass(frozen=True)
class Tally:
    """A remembered job's instances (the first ``limit``) against the stored predictions, counted as a
    full plan counts them."""

    n_instances: int
    new: int  # no stored prediction
    changed: int  # a stored prediction with another key
    failed_before: int  # a failed prediction with the key, to run again (--retry-failed)
    failed_kept: int  # a failed prediction with the key, kept (no --retry-failed): counted done

    @property
    def to_run(self) -> int:
        return self.new + self.changed + self.failed_before

    def reasons(self) -> dict[str, int]:
        """The full plan's reasons for the instances to run, those that occur."""
        got = {"new": self.new, "failed before": self.failed_before,
               "prompt, model or settings changed": self.changed}
        return {k: n for k, n in got.items() if n}


class PlanMemo:
    """The remembered keys of one store (whose tables ``ensure_store`` makes), for one plan of ``tasks``
    (``digest``, ``tallies``, ``remember``)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, project: Project, tasks: Sequence[Task]) -> None:
        self.con = con
        self.project = project
        ids = sorted({t.id for t in tasks})
        rows = con.execute("SELECT task_id, any_value(dataset_fp), count(*) FROM instances "
                           "WHERE list_contains(?, task_id) GROUP BY task_id", [ids]).fetchall()
        self.fingerprints: dict[str, str] = {t: fp for t, fp, _ in rows}
        self.counts: dict[str, int] = {t: n for t, _, n in rows}  # instances of each task
        # the distinct media paths of each task's instances, in one query
        self._paths: dict[str, list[str]] = {t: list(ps) for t, ps in con.execute(
            "SELECT task_id, list(DISTINCT p ORDER BY p) FROM (SELECT task_id, unnest(CAST(json_extract_string("
            "media, '$[*].path') AS VARCHAR[])) AS p FROM instances WHERE list_contains(?, task_id) AND media IS "
            "NOT NULL) WHERE p IS NOT NULL GROUP BY task_id", [ids]).fetchall()} if ids else {}
        self._media: dict[str, str | None] = {}
        # what media may be read (the project and its granted data roots, $GLC_DATA among them): a job
        # found done checks no media path, so a grant withdrawn plans its jobs in full, which refuse
        grants = load_grants(project.root)
        self._grants = [str(grants.root), sorted(str(r) for r in grants.data_roots)]

    def media_version(self, task: Task) -> str | None:
        """A digest of the versions of the task's media files; None when one changed just now."""
        if task.id not in self._media:
            self._media[task.id] = self._versions(task)
        return self._media[task.id]

    def _versions(self, task: Task) -> str | None:
        paths = self._paths.get(task.id, [])
        if not paths:
            return "none"
        assert task.spec.dataset is not None
        folder = str(media_folder(self.project.root, task.spec.dataset))
        now = time.time_ns()
        h = hashlib.sha256()
        for rel in paths:
            try:
                st = os.stat(os.path.join(folder, rel))
            except (OSError, ValueError):
                h.update(rel.encode("utf-8", "surrogatepass") + b"\0-\n")
                continue
            if now - max(st.st_mtime_ns, st.st_ctime_ns) < FileVersions.RACY_NS:
                return None
            h.update(rel.encode("utf-8", "surrogatepass") + b"\0" + json.dumps(
                [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]).encode() + b"\n")
        return h.hexdigest()

    def digest(self, base: dict[str, Any], task: Task) -> str | None:
        """What the job's keys are computed from, as one sha256; None: not to be remembered."""
        media = self.media_version(task)
        if media is None:
            return None
        inf = task.spec.inference
        assert inf is not None
        from glc.execute.inference import canonical

        return hashlib.sha256(canonical({
            "code": _code_digest(), "base": base, "prompt": inf.prompt, "task": [task.id, task.spec.name],
            "data": self.fingerprints.get(task.id), "media": media, "grants": self._grants}).encode()).hexdigest()

    def tallies(self, wanted: dict[tuple[str, str], str], limit: int | None,
                retry_failed: bool) -> dict[tuple[str, str], Tally]:
        """The jobs of ``wanted`` ((model, task id) -> digest) whose remembered keys serve this plan,
        each counted against the stored predictions in one query."""
        if not wanted:
            return {}
        pairs = sorted(wanted)
        entries = self.con.execute(
            "SELECT j.model, j.task_id, j.n_keys, j.complete FROM glc_plan_jobs j JOIN (SELECT unnest(?::VARCHAR[]) AS "
            "model, unnest(?::VARCHAR[]) AS task_id, unnest(?::VARCHAR[]) AS digest) w USING (model, task_id, digest)",
            [[m for m, _ in pairs], [t for _, t in pairs], [wanted[p] for p in pairs]]).fetchall()
        # the instances a plan asks about: every one, or the first ``limit``; the entry must hold their keys
        usable = {(m, t): (n if limit is None else min(n, limit)) for m, t, n, complete in entries
                  if complete or (limit is not None and n >= limit)}
        if not usable:
            return {}
        keys = sorted(usable)
        counts = {(r[0], r[1]): r[2:] for r in self.con.execute(
            "SELECT k.model, k.task_id, count(*), count(DISTINCT k.position), count(*) FILTER (WHERE p.instance_id IS "
            "NULL), count(*) FILTER (WHERE p.instance_id IS NOT NULL AND p.content_key IS DISTINCT FROM "
            "k.content_key), count(*) FILTER (WHERE p.content_key = k.content_key AND p.error IS NOT NULL AND ?), "
            "count(*) FILTER (WHERE p.content_key = k.content_key AND p.error IS NOT NULL AND NOT ?) "
            "FROM glc_plan_keys k JOIN (SELECT unnest(?::VARCHAR[]) AS model, unnest(?::VARCHAR[]) AS task_id) w "
            "USING (model, task_id) LEFT JOIN predictions p ON p.model = k.model AND p.task_id = k.task_id "
            "AND p.instance_id = k.instance_id WHERE ?::INTEGER IS NULL OR k.position < ? GROUP BY k.model, k.task_id",
            [retry_failed, retry_failed, [m for m, _ in keys], [t for _, t in keys], limit, limit]).fetchall()}
        out: dict[tuple[str, str], Tally] = {}
        for pair, expected in usable.items():
            n, distinct, new, changed, failed_before, failed_kept = counts.get(pair, (0, 0, 0, 0, 0, 0))
            # every instance once (a second stored row of one instance is the full plan's business)
            if n == distinct == expected:
                out[pair] = Tally(expected, new, changed, failed_before, failed_kept)
        return out

    def remember(self, fresh: list[tuple[str, str, str, list[tuple[str, str]], bool]]) -> None:
        """Remember the keys of jobs planned in full: (model, task id, digest, [(instance id, key)] in
        instance order, whether they cover every instance)."""
        if not fresh:
            return
        models = [f[0] for f in fresh]
        tasks = [f[1] for f in fresh]
        with transaction(self.con):
            for delete in _DELETE_PAIRS:
                self.con.execute(delete, [models, tasks])
            insert_rows(self.con, JOBS, [(m, t, d, len(keys), complete) for m, t, d, keys, complete in fresh])
            insert_rows(self.con, KEYS, [(m, t, i, iid, key) for m, t, _, keys, _ in fresh
                                         for i, (iid, key) in enumerate(keys)])

    def forget_others(self, models: Sequence[str], tasks: Sequence[str]) -> None:
        """Drop the entries of models and tasks no longer in the project (a write only when there are
        some): a task taken out and put back later is loaded again, maybe by another glc."""
        gone = self.con.execute("SELECT DISTINCT model, task_id FROM glc_plan_jobs WHERE NOT list_contains(?, model) "
                                "OR NOT list_contains(?, task_id)", [list(models), list(tasks)]).fetchall()
        if gone:
            with transaction(self.con):
                for delete in _DELETE_PAIRS:
                    self.con.execute(delete, [[m for m, _ in gone], [t for _, t in gone]])
