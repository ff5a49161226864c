"""A model's results in the store: find models whose spec is gone, remove or rename a model's rows,
and write a new model spec (``glc model add``).

Every store table with a ``model`` column (``compiler/contracts.py`` STORE: predictions, judgments,
imported scores and models, prediction partitions) is changed in one transaction; the SQL nodes
built from them are rebuilt afterwards (``Workspace.remove_model`` / ``rename_model``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml
from pydantic import ValidationError
from sqlglot import exp

from glc.compiler.contracts import STORE
from glc.compiler.errors import GlcError
from glc.compiler.plugins import runner_args_schema
from glc.compiler.resolve import Project
from glc.compiler.spec_models import ModelSpec
from glc.compiler.suggest import did_you_mean
from glc.engine.store import DIALECT, IMPORT_BACKEND, ensure_store, stored_models, transaction

MODEL_TABLES: tuple[str, ...] = tuple(name for name, c in STORE.items() if "model" in c.column_names)
# models_without_spec lives in glc.engine.store: glc run calls it, and this module imports pyarrow, sqlglot and pydantic


def _where_model() -> exp.Expression:
    return exp.column("model").eq(exp.Placeholder())


def model_counts(con: duckdb.DuckDBPyConnection, model: str) -> dict[str, int]:
    """Rows per store table that belong to ``model``."""
    ensure_store(con)
    out: dict[str, int] = {}
    for table in MODEL_TABLES:
        query = exp.select(exp.func("count", exp.Star())).from_(exp.to_table(table)).where(_where_model())
        row = con.execute(query.sql(DIALECT), [model]).fetchone()
        out[table] = int(row[0]) if row else 0
    return out


@dataclass
class ModelChange:
    """What ``glc rm model`` / ``glc rename model`` did (or, dry, would do)."""

    action: str  # "remove" or "rename"
    model: str
    counts: dict[str, int]
    target: str
    new_name: str | None = None
    dry_run: bool = False
    spec: str | None = None  # the spec that still declares the (old) model
    new_spec: str | None = None  # the spec that declares the new name
    rekeyed: int = 0  # predictions whose content key now names the new model
    kept_keys: int = 0  # predictions made by runners whose key could not be carried over
    rebuilt: str | None = None  # the build's run id
    not_rebuilt: str | None = None  # why the boards were not rebuilt
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        total = sum(self.counts.values())
        rows = [f"  {t}: {n:,} row{'s' if n != 1 else ''}" for t, n in self.counts.items() if n]
        if self.action == "remove":
            head = (f"would remove model '{self.model}' ({total:,} rows) from {self.target}:" if self.dry_run
                    else f"removed model '{self.model}' ({total:,} rows) from {self.target}:")
        else:
            head = f"renamed model '{self.model}' to '{self.new_name}' ({total:,} rows) in {self.target}:"
        lines = [head, *rows]
        if self.dry_run:
            lines.append("dry run: nothing was removed; run again without --dry-run to remove it")
        if self.rekeyed:
            lines.append(f"{self.rekeyed:,} prediction(s) re-keyed to spec '{self.new_name}' ({self.new_spec}): "
                         "`glc run` does not make them again")
        if self.kept_keys:
            lines.append(f"{self.kept_keys:,} prediction(s) made by runners keep their old content key: "
                         + (f"spec '{self.new_name}' ({self.new_spec}) asks for something else (prompt, route or "
                            "revision), so `glc run` makes them again" if self.new_spec else
                            f"no spec declares '{self.new_name}'. Give the spec that made them (name: "
                            f"{self.new_name}) first and rename again, or `glc run` makes them again"))
        if self.spec and self.action == "remove":
            lines.append(f"note: {self.spec} still declares '{self.model}': the next `glc run` makes its "
                         "predictions again; delete the spec to keep it off the boards")
        if self.spec and self.action == "rename":
            lines.append(f"note: {self.spec} still declares '{self.model}': the next `glc run` runs it again "
                         "under that name; rename it there too (name: ...)")
        lines += self.notes
        if self.rebuilt:
            lines.append(f"boards rebuilt (run {self.rebuilt})")
        elif self.not_rebuilt:
            lines.append(f"boards not rebuilt: {self.not_rebuilt}")
        return "\n".join(lines)


def require_results(con: duckdb.DuckDBPyConnection, model: str, counts: dict[str, int], target: str) -> None:
    if not any(counts.values()):
        known = stored_models(con)
        raise GlcError(f"no results of model '{model}' in {target}",
                       hint=did_you_mean(model, known) or ("models with results: " + ", ".join(known) if known
                                                           else "the store holds no model's results"))


def delete_model(con: duckdb.DuckDBPyConnection, model: str) -> None:
    """Remove ``model``'s rows from every store table, all or nothing."""
    with transaction(con):
        for table in MODEL_TABLES:
            con.execute(exp.delete(table, where=_where_model()).sql(DIALECT), [model])


@dataclass(frozen=True)
class Rekey:
    """Content keys of ``model``'s stored predictions that a spec of the new name would compute."""

    predictions: list[tuple[str, str, str, str]]  # (task_id, instance_id, old key, new key)
    judgments: list[tuple[str, str, str, str, str]]  # (task_id, instance_id, old key, new key, new prediction key)
    kept: int  # runner-made predictions the new spec would key differently (made again)


def plan_rekey(con: duckdb.DuckDBPyConnection, project: Project, old: str, new: str, target_dir: Path) -> Rekey:
    """Which of ``old``'s predictions the spec named ``new`` would have made identically.

    A prediction's content key holds the model's name, so renamed rows would all look stale. For
    each task the new spec routes, its keys are computed twice: as if the spec were still named
    ``old`` (a stored prediction with that key was made by this very spec) and under ``new``; the
    matching ones move to the new key, and so do evaluator readings of them."""
    from glc.execute.inference import (
        PromptFailure,
        WeightHashes,
        _predict_job,
        _produces,
        canonical,
        matches,
        route_identity,
        sha256_text,
    )

    spec = project.model(new).spec
    as_old = spec.model_copy(update={"name": old})
    hashes = WeightHashes(target_dir / "weights_sha256.json")
    preds: list[tuple[str, str, str, str]] = []
    judged: list[tuple[str, str, str, str, str]] = []
    runner_made = con.execute("SELECT task_id, count(*) FROM predictions WHERE model = ? AND backend "
                              "IS DISTINCT FROM ? GROUP BY task_id", [old, IMPORT_BACKEND]).fetchall()
    kept = 0
    by_id = {t.id: t for t in project.tasks}
    for task_id, n_stored in sorted(runner_made):
        task = by_id.get(task_id)
        inf = task.spec.inference if task is not None else None
        if task is None or inf is None or task.spec.dataset is None:
            kept += n_stored
            continue
        route = next((r for r in spec.routes if matches(r, task) and inf.output in _produces(r)), None)
        if route is None:
            kept += n_stored
            continue
        stored = dict(con.execute("SELECT instance_id, content_key FROM predictions WHERE model = ? AND task_id = ? "
                                  "AND backend IS DISTINCT FROM ?", [old, task_id, IMPORT_BACKEND]).fetchall())
        try:
            as_before, _, _ = _predict_job(con, project, as_old, task, route, hashes, target_dir, None, False)
            renamed, _, _ = _predict_job(con, project, spec, task, route, hashes, target_dir, None, True)
        except PromptFailure:  # no prompt, no new key: they stay as stored (a run leaves this task out too)
            kept += n_stored
            continue
        stale = {r.instance_id for r in as_before.requests}
        new_keys = {r.instance_id: r.key for r in renamed.requests}
        moved = {iid: (key, new_keys[iid]) for iid, key in stored.items() if iid not in stale and iid in new_keys}
        kept += len(stored) - len(moved)
        preds += [(task_id, iid, k_old, k_new) for iid, (k_old, k_new) in sorted(moved.items())]
        if inf.evaluator is not None and moved:
            ident = route_identity(inf.evaluator, project.root, hashes)
            for iid, jkey, pkey in con.execute("SELECT instance_id, content_key, prediction_key FROM judgments "
                                               "WHERE model = ? AND task_id = ?", [old, task_id]).fetchall():
                if iid not in moved or pkey != moved[iid][0]:
                    continue
                if jkey == sha256_text(canonical({"evaluator": ident, "prediction": pkey})):
                    new_pkey = moved[iid][1]
                    judged.append((task_id, iid, jkey,
                                   sha256_text(canonical({"evaluator": ident, "prediction": new_pkey})), new_pkey))
    hashes.save()  # the media hashes learned, as planning keeps them
    return Rekey(preds, judged, kept)


def rename_rows(con: duckdb.DuckDBPyConnection, old: str, new: str, rekey: Rekey | None) -> None:
    """Rename ``old`` to ``new`` in every store table and apply the new content keys, all or nothing."""
    with transaction(con):
        for table in MODEL_TABLES:
            update = exp.update(exp.to_table(table), {"model": exp.Placeholder()}, where=_where_model())
            con.execute(update.sql(DIALECT), [new, old])
        if rekey is None:
            return
        if rekey.predictions:
            cols = list(zip(*rekey.predictions, strict=True))
            con.register("__glc_rekey", pa.table({n: pa.array(c, pa.string()) for n, c in
                                                  zip(("task_id", "instance_id", "old_key", "new_key"), cols,
                                                      strict=True)}))
            try:
                con.execute("UPDATE predictions AS p SET content_key = k.new_key FROM __glc_rekey AS k "
                            "WHERE p.model = ? AND p.task_id = k.task_id AND p.instance_id = k.instance_id "
                            "AND p.content_key = k.old_key", [new])
            finally:
                con.unregister("__glc_rekey")
        if rekey.judgments:
            cols = list(zip(*rekey.judgments, strict=True))
            con.register("__glc_rekey_j", pa.table({n: pa.array(c, pa.string()) for n, c in
                                                    zip(("task_id", "instance_id", "old_key", "new_key", "pkey"),
                                                        cols, strict=True)}))
            try:
                con.execute("UPDATE judgments AS j SET content_key = k.new_key, prediction_key = k.pkey "
                            "FROM __glc_rekey_j AS k WHERE j.model = ? AND j.task_id = k.task_id "
                            "AND j.instance_id = k.instance_id AND j.content_key = k.old_key", [new])
            finally:
                con.unregister("__glc_rekey_j")


def check_model_name(name: str) -> None:
    """A GlcError unless ``name`` is a valid model name (as specs write it)."""
    from pydantic import TypeAdapter

    from glc.compiler.spec_models import Ident

    try:
        TypeAdapter(Ident).validate_python(name)
    except ValidationError:
        raise GlcError(f"'{name}' is not a valid model name", hint=NAME_HINT) from None


NAME_HINT = "a model name is lower-case letters, digits, '_', '.' and '-', starting with a letter or digit"


# --- glc model add ---------------------------------------------------------------------------

SPEC_HEADER = ("# Written by `glc model add`. One route serves every task it matches (none: all tasks);\n"
               "# add `match:` (modality, paradigm, type, tasks) and more routes to compose a generalist.\n"
               "# See docs/examples/models/ for a spec per runner.\n")


def model_spec_data(name: str, *, runner: str, args: dict[str, Any], revision: str,
                    title: str | None = None) -> dict[str, Any]:
    """A one-route model spec, checked by the spec schema and the runner's own schema."""
    data: dict[str, Any] = {"name": name, "revision": revision}
    if title:
        data["title"] = title
    data["routes"] = [{"runner": runner, "args": args}]
    try:
        ModelSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        hint = NAME_HINT if where == "name" else None
        raise GlcError(f"model spec: {where}: {err['msg']}", hint=hint) from None
    try:
        runner_args_schema(runner).model_validate(args)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise GlcError(f"runner '{runner}' arg '{where}': {err['msg']}",
                       hint="see the runner table in README.md") from None
    return data


def write_model_spec(root: Path, data: dict[str, Any], *, force: bool = False,
                     declared: dict[str, str] | None = None) -> Path:
    """Write ``specs/models/<name>.yaml``; refuse to replace a file (or shadow another file's model)
    without ``force``. ``declared``: model name -> the spec file that declares it now."""
    name = data["name"]
    path = root / "specs" / "models" / f"{name}.yaml"
    rel = f"specs/models/{name}.yaml"
    other = (declared or {}).get(name)
    if other is not None and other != rel:
        raise GlcError(f"model '{name}' is already declared by {other}", location=rel,
                       hint="pick another name, or edit that spec")
    if path.exists() and not force:
        raise GlcError("spec file exists", location=rel, hint="pass --force to replace it, or pick another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = SPEC_HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def endpoint_advice(root: Path, base_url: str, api_key_env: str | None) -> str:
    """Whether profiles.yml lets the openai runner send to ``base_url`` (with that key), and the
    lines to add when it does not."""
    from urllib.parse import urlsplit

    from glc.profiles import load_grants

    endpoints = [e for e in load_grants(root).endpoints if e.allows(base_url)]
    keyed = not api_key_env or any(e.api_key_env == api_key_env for e in endpoints)
    if endpoints and keyed:
        return f"profiles.yml allows {base_url}" + (f" with the key in ${api_key_env}" if api_key_env else "")
    parts = urlsplit(base_url)
    url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    why = (f"profiles.yml does not allow sending to {base_url} yet (specs cannot choose where data goes)"
           if not endpoints else f"profiles.yml allows {base_url}, but not with the key in ${api_key_env}")
    lines = [f"{why}; if you trust it, add under 'endpoints:' in profiles.yml:", f'  - url: "{url}"']
    if api_key_env:
        lines.append(f"    api_key_env: {api_key_env}")
    return "\n".join(lines)
