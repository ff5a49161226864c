"""From a harness's samples to glc's tables: pick the filter and epoch, match instances, store.

Matching (per mapped task, in polars; the hash in DuckDB SQL, ``frame.TEXT_KEY_SQL``):

* ``position``: the sample's position (lm-eval's ``doc_id``, an Inspect sample's place in the
  log's dataset ``sample_ids``, a VLMEvalKit row's place in its file) is the 0-based place of a
  glc instance in its task's data, in file order, as glc's loader reads it;
* ``id``: the sample's field equals the instance id (as text);
* ``hash``: the ``text_key`` of the sample's field equals the ``text_key`` of the instance's
  input field.

Nothing is guessed and nothing is dropped silently: a sample without the field, a sample that
matches no instance (unless the mapping says ``unmatched: skip``, then it is counted in the
summary), two samples of one instance (both named), two instances with one input text (hash
matching cannot tell them apart) are problems, and nothing of the import is stored. Instances
without a sample are listed in the summary: glc's metric counts them as unanswered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from sqlglot import exp

from glc.compiler.contracts import STORE
from glc.compiler.errors import GlcError
from glc.compiler.resolve import Project
from glc.engine.store import DIALECT, ensure_store, refresh_prediction_partitions, transaction
from glc.execute.datasets import load_task, sync_instances
from glc.importers.harness.frame import TEXT_KEY_SQL, Samples, field_column, first_problem_rows
from glc.importers.harness.mapping import Entry, Mapping, load_mapping
from glc.importers.safety import clip, name_problem, path_problem, preview
from glc.importers.scores import ImportErrors, Missing, Problem, file_sha256, parse_value

SHOWN = 5  # instance ids listed per task in the summary


@dataclass
class TaskReport:
    harness_task: str
    task_id: str
    matched: int
    n_instances: int
    unanswered: list[str]  # first SHOWN ids
    n_unanswered: int
    skipped: int  # samples matching no instance, left out because the mapping says unmatched: skip
    left_out: str = ""  # other filters or epochs


@dataclass
class HarnessImport:
    path: Path
    fmt: str
    model: str
    # the matched samples (row, task_id, instance_id, prediction, error, harness_task, source_file, sample):
    # each one's prediction becomes a row of predictions
    predictions: pl.DataFrame
    scores: pl.DataFrame  # the harness's per-sample scores of those samples (row, metric, value, raw)
    tasks: list[TaskReport]
    notes: list[str] = field(default_factory=list)
    task_scores: list[tuple[str, float, str]] = field(default_factory=list)  # (task_id, score, raw)
    scores_file: str | None = None

    def describe(self) -> str:
        lines = [f"imported {self.predictions.height} predictions and {self.scores.height} harness scores of model "
                 f"'{self.model}' for {len(self.tasks)} task(s) from {self.fmt} log {self.path}"]
        for t in self.tasks:
            extra = f"; {t.n_unanswered} instance(s) without a sample count as unanswered" + (
                f" ({', '.join(t.unanswered)}{', ...' if t.n_unanswered > len(t.unanswered) else ''})"
                if t.unanswered else "") if t.n_unanswered else ""
            skipped = f"; {t.skipped} sample(s) matched no instance and were left out (unmatched: skip)" \
                if t.skipped else ""
            lines.append(f"  {t.harness_task} -> {t.task_id}: {t.matched} of {t.n_instances} instances{extra}"
                         f"{skipped}{'; ' + t.left_out if t.left_out else ''}")
        lines += [f"  note: {n}" for n in self.notes]
        if self.task_scores:
            lines.append(f"  task scores from {self.scores_file}: " + ", ".join(
                f"{tid} = {score:g}" for tid, score, _ in self.task_scores))
        return "\n".join(lines)


def _reader(fmt: str):
    if fmt in ("lm-eval", "lmms-eval"):
        from glc.importers.harness import lm_eval

        return lambda path, mapping, problems: lm_eval.read(path, mapping, fmt, problems)
    if fmt == "inspect":
        from glc.importers.harness import inspect_log

        return inspect_log.read
    from glc.importers.harness import vlmevalkit

    return vlmevalkit.read


def checked_model(path: Path, model: str | None, named: str | None = None) -> str:
    if model is None or not model.strip():
        raise GlcError("harness logs are imported under a glc model name", location=clip(str(path)),
                       hint="pass --model NAME" + (f" (the log names its model {preview(named)})" if named else ""))
    name = model.strip()
    if problem := name_problem(name):
        raise GlcError(f"--model {preview(name)}: {problem}", location=clip(str(path)))
    return name


def read_samples(path: Path, project: Project, fmt: str, mapping_path: Path) -> tuple[Mapping, Samples]:
    """The mapping and the log's samples; ImportErrors lists every problem of the log."""
    if (bad := path_problem(path)) is not None:
        raise bad
    if not path.exists():
        raise GlcError("file not found", location=clip(str(path)))
    mapping = load_mapping(mapping_path, project, fmt)
    problems: list[Problem] = []
    samples = _reader(fmt)(path, mapping, problems)
    if problems:
        raise ImportErrors(path, problems)
    return mapping, samples


def read_harness(con: duckdb.DuckDBPyConnection, path: Path, project: Project, fmt: str, model: str | None,
                 mapping_path: Path, *, with_scores: bool = False) -> HarnessImport:
    """Read, select, match and check everything of one log; nothing is stored here."""
    model_name = checked_model(path, model)
    mapping, samples = read_samples(path, project, fmt, mapping_path)
    problems: list[Problem] = []
    frame = samples.frame.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    if frame.height == 0:
        raise GlcError("no samples of a mapped task in this log", location=clip(str(path)),
                       hint=f"the mapping {mapping.path} names: {', '.join(sorted(mapping.entries))}")
    frame, left_out = _select(frame, mapping, fmt, problems)
    tasks = sorted({mapping.entries[t].task_id for t in frame["harness_task"].unique().to_list()})
    ensure_store(con)
    try:
        sync_instances(con, project, tasks)
    except ImportErrors as exc:
        problems.extend(exc.problems)
    matched: list[pl.DataFrame] = []
    reports: list[TaskReport] = []
    by_id = {t.id: t for t in project.tasks}
    for (name,), part in sorted(frame.partition_by("harness_task", as_dict=True, maintain_order=True).items()):
        entry = mapping.entries[name]
        got = _match(con, project, by_id, entry, part, mapping, fmt, problems)
        if got is not None:
            rows, report = got
            report.left_out = left_out.get(name, "")
            matched.append(rows)
            reports.append(report)
    task_scores = _task_scores(samples, mapping, project, with_scores, problems)
    if problems:
        raise ImportErrors(path, problems)
    rows = pl.concat(matched)
    absent = sorted(set(mapping.entries) - set(samples.frame["harness_task"].unique().to_list()))
    notes = samples.notes + ([f"mapped but not in this log: {', '.join(absent)}"] if absent else [])
    rows = rows.select("row", "task_id", "instance_id", "prediction", "error", "harness_task", "source_file", "sample")
    scores = samples.scores.join(rows.select("row"), on="row", how="semi")
    return HarnessImport(path, fmt, model_name, rows, scores, reports, notes, task_scores, samples.aggregate_file)


def _select(frame: pl.DataFrame, mapping: Mapping, fmt: str,
            problems: list[Problem]) -> tuple[pl.DataFrame, dict[str, str]]:
    """Keep one filter (lm-eval, lmms-eval) or one epoch (Inspect) per task; say what was left out."""
    keep: list[pl.DataFrame] = []
    left: dict[str, str] = {}
    for (name,), part in sorted(frame.partition_by("harness_task", as_dict=True, maintain_order=True).items()):
        entry = mapping.entries[name]
        where = mapping.where(name)
        if fmt in ("lm-eval", "lmms-eval"):
            filters = sorted(x for x in part["filter"].unique().to_list() if x is not None)
            chosen = entry.filter
            if chosen is None and len(filters) > 1:
                problems.append(Problem(where, f"task '{name}' was logged under {len(filters)} filters "
                                        f"({', '.join(filters)}): which one gives the predictions?",
                                        f"add filter: <one of {', '.join(filters)}> to its mapping entry"))
                continue
            if chosen is not None and chosen not in filters:
                problems.append(Problem(where, f"task '{name}' has no filter '{chosen}' in the log",
                                        f"its filters: {', '.join(filters) or '(none)'}"))
                continue
            if chosen is not None:
                other = part.filter(pl.col("filter") != chosen).height
                part = part.filter(pl.col("filter") == chosen)
                if other:
                    left[name] = f"{other} sample(s) of other filters left out (filter '{chosen}' imported)"
        if fmt == "inspect":
            epochs = sorted(x for x in part["epoch"].unique().to_list() if x is not None)
            chosen_epoch = entry.epoch or 1
            if chosen_epoch not in epochs:
                problems.append(Problem(where, f"task '{name}' has no epoch {chosen_epoch} in the log",
                                        f"its epochs: {', '.join(map(str, epochs)) or '(none)'}"))
                continue
            other = part.filter(pl.col("epoch") != chosen_epoch).height
            part = part.filter(pl.col("epoch") == chosen_epoch)
            if other:
                left[name] = (f"epoch {chosen_epoch} of {len(epochs)} imported ({other} sample(s) of other epochs "
                              "left out: glc keeps one prediction per instance)")
        keep.append(part)
    return (pl.concat(keep) if keep else frame.clear()), left


def _instance_keys(con: duckdb.DuckDBPyConnection, project: Project, by_id: dict[str, Any], entry: Entry,
                   problems: list[Problem]) -> pl.DataFrame | None:
    """(key, instance_id) of the task's instances under the entry's kind of match."""
    tid = entry.task_id
    if entry.by == "position":
        local: list[Problem] = []
        loaded = load_task(project.root, by_id[tid], local, types=project.task_types)
        if loaded is None:
            problems.extend(local)
            return None
        ids = [r[1] for r in loaded.rows]
        return pl.DataFrame({"key": [str(i) for i in range(len(ids))], "instance_id": ids},
                            schema={"key": pl.String, "instance_id": pl.String})
    if entry.by == "id":
        q = exp.select("instance_id AS key", "instance_id").from_("instances").where(
            exp.column("task_id").eq(exp.convert(tid)))
        return pl.from_arrow(con.sql(q.sql(DIALECT)).to_arrow_table())  # type: ignore[return-value]
    pointer = "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in entry.instance_field.split(".")) \
        if entry.instance_field else ""
    sql = ("SELECT " + TEXT_KEY_SQL.format(x="text") + " AS key, instance_id FROM ("
           "SELECT instance_id, CASE WHEN json_type(input, ?) = 'VARCHAR' THEN json_extract_string(input, ?) "
           "ELSE json_extract(input, ?)::VARCHAR END AS text FROM instances WHERE task_id = ?) WHERE text IS NOT NULL")
    return pl.from_arrow(con.sql(sql, params=[pointer, pointer, pointer, tid]).to_arrow_table())  # type: ignore[return-value]


def _sample_keys(con: duckdb.DuckDBPyConnection, part: pl.DataFrame, entry: Entry, fmt: str) -> pl.Series:
    if entry.by == "position":
        return part["position"].cast(pl.String)
    col = field_column(entry.field or "")
    if entry.by == "id":
        return part[col]
    texts = part.select(pl.col(col).alias("text"))
    con.register("__glc_texts", texts.to_arrow())
    try:
        keys = con.sql("SELECT CASE WHEN text IS NULL THEN NULL ELSE " + TEXT_KEY_SQL.format(x="text")
                       + " END AS key FROM __glc_texts").to_arrow_table()
    finally:
        con.unregister("__glc_texts")
    return pl.from_arrow(keys)["key"]  # type: ignore[index]


def _match(con: duckdb.DuckDBPyConnection, project: Project, by_id: dict[str, Any], entry: Entry,
           part: pl.DataFrame, mapping: Mapping, fmt: str,
           problems: list[Problem]) -> tuple[pl.DataFrame, TaskReport] | None:
    before = len(problems)
    inst = _instance_keys(con, project, by_id, entry, problems)
    if inst is None:
        return None
    if inst.height == 0:
        problems.append(Problem(f"task '{entry.task_id}'", "the task has no instances",
                                "give its spec a dataset: section before importing a harness's samples"))
        return None
    what = {"position": "position", "id": f"id field '{entry.field}'",
            "hash": f"text of '{entry.field}'"}[entry.by]
    part = part.with_columns(_sample_keys(con, part, entry, fmt).alias("key"))
    first_problem_rows(part, pl.col("key").is_null(), lambda r: f"the sample has no {what} to match on",
                       problems, f"check match: of '{entry.harness_task}' in {mapping.where(entry.harness_task)}")
    # two instances with one key (hash: the same input text) cannot be told apart
    twins = inst.filter(pl.col("key").is_duplicated()).group_by("key").agg(pl.col("instance_id").sort().alias("ids"))
    joined = part.filter(pl.col("key").is_not_null()).join(inst, on="key", how="left")
    hit_twins = joined.join(twins, on="key", how="inner")
    for r in hit_twins.unique("key").head(20).iter_rows(named=True):
        problems.append(Problem(f"{r['source_file']} {r['sample']}", f"instances {preview(r['ids'][0])} and "
                                f"{preview(r['ids'][1])} of task '{entry.task_id}' have the same input text",
                                "hash matching cannot tell them apart; match by id or position"))
    joined = joined.join(twins.select("key"), on="key", how="anti")
    unmatched = joined.filter(pl.col("instance_id").is_null())
    skipped = 0
    if unmatched.height and entry.unmatched == "skip":
        skipped = unmatched.height
    elif unmatched.height:
        first_problem_rows(unmatched, pl.lit(True), lambda r: f"no instance of task '{entry.task_id}' has this "
                           f"sample's {what} ({preview(r['key'], 60)})", problems,
                           f"check match: of '{entry.harness_task}' in {mapping.where(entry.harness_task)}; "
                           "to leave such samples out knowingly, add unmatched: skip")
    joined = joined.filter(pl.col("instance_id").is_not_null())
    dup = joined.filter(pl.col("instance_id").is_duplicated()).sort("row")
    if dup.height:
        firsts = dup.group_by("instance_id", maintain_order=True).agg(pl.col("source_file").first().alias("f1"),
                                                                      pl.col("sample").first().alias("s1"),
                                                                      pl.col("source_file").get(1).alias("f2"),
                                                                      pl.col("sample").get(1).alias("s2"))
        for r in firsts.head(20).iter_rows(named=True):
            problems.append(Problem(f"{r['f2']} {r['s2']}", f"this sample and {r['s1']}"
                                    + ("" if r["f1"] == r["f2"] else f" of {r['f1']}")
                                    + f" both match instance {preview(r['instance_id'])} of task '{entry.task_id}'",
                                    "each instance may be answered once; check the mapping's match: or the log"))
    if len(problems) > before:
        return None
    missing = inst.join(joined.select("instance_id"), on="instance_id", how="anti")["instance_id"]
    report = TaskReport(entry.harness_task, entry.task_id, joined.height, inst.height, missing.head(SHOWN).to_list(),
                        missing.len(), skipped)
    return joined.with_columns(pl.lit(entry.task_id).alias("task_id")), report


def _task_scores(samples: Samples, mapping: Mapping, project: Project, wanted: bool,
                 problems: list[Problem]) -> list[tuple[str, float, str]]:
    """The results file's task-level values named by ``score:`` entries, scaled and range-checked."""
    if not wanted:
        return []
    if samples.aggregate_file is None:
        problems.append(Problem("--scores", "the log has no results file with task scores",
                                "lm-eval/lmms-eval: the results_*.json of the run; Inspect: the log's results; "
                                "VLMEvalKit: the *_acc.csv beside the predictions"))
        return []
    by_id = {t.id: t for t in project.tasks}
    out: list[tuple[str, float, str]] = []
    for name, entry in sorted(mapping.entries.items()):
        if entry.score is None:
            continue
        values = samples.aggregates.get(name)
        where = mapping.where(name)
        if values is None:
            problems.append(Problem(where, f"the results file {samples.aggregate_file} has no task '{name}'"))
            continue
        if entry.score.key not in values:
            problems.append(Problem(where, f"task '{name}' has no result '{entry.score.key}' in "
                                    f"{samples.aggregate_file}", "its results: " + ", ".join(
                                        sorted(str(k) for k in values)[:20])))
            continue
        raw = values[entry.score.key]
        value = parse_value(raw * entry.score.scale if isinstance(raw, int | float) and not isinstance(raw, bool)
                            else raw, by_id[entry.task_id])
        if isinstance(value, Problem):
            problems.append(Problem(where, f"task '{name}' result '{entry.score.key}' = {preview(raw)} "
                                    f"(x {entry.score.scale:g}): {value.message}", value.hint))
        elif not isinstance(value, Missing):
            out.append((entry.task_id, value, str(raw)))
    if not out and not problems:
        problems.append(Problem(str(mapping.path), "--scores: no task of the mapping says which result is its "
                                "score", "add score: {key: <result name>, scale: <factor to the glc metric's "
                                "unit>} to the tasks whose score you import"))
    return out


def store_harness(con: duckdb.DuckDBPyConnection, imp: HarnessImport) -> None:
    """Replace the model's predictions and harness scores of the imported tasks (and, with task
    scores, the model's imported scores), all in one transaction.

    The rows are built by DuckDB from the matched samples: what is the same on every row (model,
    backend, batch, time) is bound once, the content keys are hashed in the insert.
    """
    tasks = sorted({t.task_id for t in imp.tasks})
    cond = exp.and_(exp.column("model").eq(exp.convert(imp.model)),
                    exp.column("task_id").isin(*[exp.convert(t) for t in tasks]))
    batch = uuid.uuid4().hex[:12]
    now = datetime.now(UTC).replace(tzinfo=None)
    backend = f"harness:{imp.fmt}"
    with transaction(con):
        for table in ("predictions", "harness_scores"):
            con.execute(exp.delete(table, where=cond).sql(DIALECT))
        con.register("__glc_rows", imp.predictions.to_arrow())
        con.register("__glc_scores", imp.scores.to_arrow())
        try:
            con.execute("INSERT INTO predictions (model, task_id, instance_id, output, output_type, content_key, "
                        "backend, backend_version, latency_ms, error, batch_id, created_at) "
                        "SELECT ?, task_id, instance_id, prediction, "
                        "CASE WHEN prediction IS NULL THEN 'null' ELSE 'string' END, "
                        "sha256(to_json([?, ?, task_id, instance_id, prediction])), ?, NULL, NULL, error, ?, ? "
                        "FROM __glc_rows", [imp.model, backend, imp.model, backend, batch, now])
            con.execute("INSERT INTO harness_scores (model, task_id, instance_id, harness, harness_task, metric, "
                        "value, raw_value, source_file, sample, import_id) "
                        "SELECT ?, r.task_id, r.instance_id, ?, r.harness_task, s.metric, s.value, s.raw, "
                        "r.source_file, r.sample, ? FROM __glc_scores AS s "
                        "JOIN __glc_rows AS r ON r.\"row\" = s.\"row\"",
                        [imp.model, imp.fmt, batch])
        finally:
            con.unregister("__glc_rows")
            con.unregister("__glc_scores")
        if imp.task_scores:
            store_task_scores(con, imp.model, imp.task_scores, Path(imp.scores_file or imp.path))
        refresh_prediction_partitions(con, [(imp.model, t) for t in tasks])


def store_task_scores(con: duckdb.DuckDBPyConnection, model: str, scores: list[tuple[str, float, str]],
                      source: Path) -> None:
    """The model's imported scores become these (inside the caller's transaction), as ``glc import
    scores`` replaces a model's scores."""
    from glc.engine.store import insert_rows

    import_id = uuid.uuid4().hex[:12]
    now = datetime.now(UTC).replace(tzinfo=None)
    cond = exp.column("model").eq(exp.convert(model))
    for table in ("imported_scores", "imported_models"):
        con.execute(exp.delete(table, where=cond).sql(DIALECT))
    insert_rows(con, STORE["imported_scores"], [(model, tid, score, raw, str(source), None, None, None, import_id)
                                                for tid, score, raw in scores])
    digest = file_sha256(source) if source.is_file() else None
    insert_rows(con, STORE["imported_models"], [(model, str(source), digest, len(scores), 0, now, import_id)])
