"""lm-evaluation-harness (``--log_samples``) and lmms-eval logs.

lm-eval writes, under ``<output_path>/<model>/``, ``results_<date>.json`` and one
``samples_<task>_<date>.jsonl`` per task; lmms-eval writes ``<date>_results.json`` and
``<date>_samples_<task>.jsonl``. A samples line (lm-eval 0.4) is one document under one filter:

* ``doc_id``: the document's 0-based position in the evaluated split (not an id of the data);
* ``doc``: the dataset record; ``target``: the reference as text; ``filter``: the filter name
  (a task with several filters, e.g. ``strict-match`` and ``flexible-extract``, has one line per
  document and filter); ``metrics``: the names of the per-sample scores, each also a key of the
  line (``"acc": 1.0``);
* ``resps`` / ``filtered_resps``: for ``generate_until``, ``[text]`` (one request); for
  ``multiple_choice``, one ``[log-likelihood, is-greedy]`` pair (as strings) per choice: these
  are not text. glc takes the choice with the highest log-likelihood (the first on a tie, as
  ``numpy.argmax`` in lm-eval's ``acc``) and stores its letter (A for choice 0), or its text
  when the mapping names ``choice_field`` (a list field of the doc). ``loglikelihood`` and
  ``loglikelihood_rolling`` samples hold no answer and are refused.

lmms-eval (0.7) writes fewer keys: ``doc_id``, ``target``, ``filtered_resps`` (a single request
flattened: the text itself), ``input`` (the prompt), ``token_counts``, ``doc_hash`` and one key
per per-sample score, often an object (``{"score": 1, ...}``, whose ``score`` is kept); no
``doc``, ``filter`` or ``metrics``. Its samples match glc instances by position (or by a hash of
``input`` when glc's instance input holds the same prompt).

The versions read are lm-eval 0.4.x and lmms-eval 0.3-0.7 (``lm_eval_version`` /
``lmms_eval_version`` of the results file); a results file of another version is refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from glc.compiler.contracts import quote_ident
from glc.compiler.errors import GlcError
from glc.importers.harness.frame import (
    SCORES_SCHEMA,
    Samples,
    checked_text,
    concat_samples,
    field_column,
    get_path,
    json_connection,
    jsonl_objects,
    read_jsonl_duckdb,
    score_value,
    show,
)
from glc.importers.harness.mapping import Mapping
from glc.importers.safety import UTF8_BOM, clip, decode_utf8, preview
from glc.importers.scores import Problem

LM_SAMPLES = re.compile(r"^samples_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?)\.jsonl$")
LM_RESULTS = re.compile(r"^results_(?P<date>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?)\.json$")
LMMS_SAMPLES = re.compile(r"^(?P<date>[0-9][0-9_T:.\-]*)_samples_(?P<task>.+)\.jsonl$")
LMMS_RESULTS = re.compile(r"^(?P<date>[0-9][0-9_T:.\-]*)_results\.json$")
# lmms-eval 0.7 writes "<git branch>@<commit>" ("unknown@unknown" when installed from PyPI) as its version
VERSIONS = {"lm-eval": (re.compile(r"^0\.4\.\d+"), "lm_eval_version", "0.4.x"),
            "lmms-eval": (re.compile(r"^(0\.[3-7]\.\d+|[^@\s]+@([0-9a-f]{1,40}|unknown))$"), "lmms_eval_version",
                          "0.3-0.7")}
MAX_RESULTS_BYTES = 64 << 20
CHOICES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
NO_ANSWER = ("loglikelihood", "loglikelihood_rolling")
FIXED_KEYS = {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics", "doc_hash",
              "prompt_hash", "target_hash", "input", "input_media", "token_counts"}


def _patterns(flavor: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return (LM_SAMPLES, LM_RESULTS) if flavor == "lm-eval" else (LMMS_SAMPLES, LMMS_RESULTS)


def _files(path: Path, flavor: str) -> tuple[list[tuple[Path, str, str]], dict[str, Path]]:
    """(samples file, task, date) and results files by date, from a folder, a samples file or a results file."""
    samples_re, results_re = _patterns(flavor)
    hint = (f"point at the output folder of a {flavor} run with --log_samples, at one of its samples_*.jsonl "
            "files or at its results JSON")
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    else:
        found = [path]
        if results_re.match(path.name):  # a results file: the samples of the same run beside it
            date = results_re.match(path.name)["date"]  # type: ignore[index]
            found += sorted(p for p in path.parent.iterdir()
                            if (m := samples_re.match(p.name)) and m["date"] == date and p.is_file()
                            and not p.is_symlink())
        elif samples_re.match(path.name):
            date = samples_re.match(path.name)["date"]  # type: ignore[index]
            found += sorted(p for p in path.parent.iterdir() if (m := results_re.match(p.name)) and m["date"] == date
                            and p.is_file() and not p.is_symlink())
        else:
            raise GlcError(f"not a {flavor} samples or results file name", location=clip(str(path)), hint=hint)
    samples = [(p, m["task"], m["date"]) for p in found if (m := samples_re.match(p.name))]
    results = {m["date"]: p for p in found if (m := results_re.match(p.name))}
    if not samples:
        raise GlcError(f"no {flavor} samples files found", location=clip(str(path)), hint=hint)
    return samples, results


def _results(path: Path, flavor: str) -> dict[str, Any]:
    """The run's results file, version checked."""
    if path.stat().st_size > MAX_RESULTS_BYTES:
        raise GlcError(f"results file larger than {MAX_RESULTS_BYTES >> 20} MB", location=clip(str(path)))
    text = decode_utf8(path.read_bytes(), path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GlcError(f"bad JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", location=clip(str(path)),
                       hint="the results file is cut off or damaged; run the harness again or import the samples "
                            "file alone") from None
    pattern, key, known = VERSIONS[flavor]
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
        raise GlcError(f"not a {flavor} results file (no 'results' object)", location=clip(str(path)))
    version = doc.get(key)
    if version is not None and not (isinstance(version, str) and pattern.match(version)):
        raise GlcError(f"written by {flavor} {preview(version)}; glc reads the logs of {flavor} {known}",
                       location=clip(str(path)),
                       hint=f"the layout of other {flavor} versions has not been checked; run {flavor} {known}, or "
                            "convert the samples to glc's JSONL rows (model, task, id, prediction)")
    return doc


def _kind(first: dict[str, Any], config: dict[str, Any] | None) -> str:
    """gen (a list of texts), flat (lmms-eval: the text itself), choice (log-likelihood pairs) or the
    output type that holds no answer."""
    declared = (config or {}).get("output_type")
    if declared in NO_ANSWER:
        return str(declared)
    fr = first.get("filtered_resps")
    if isinstance(fr, str):
        return "flat"
    if isinstance(fr, list) and fr and all(isinstance(x, list) for x in fr):
        if declared == "multiple_choice" or len(fr) > 1:
            return "choice"
        return "loglikelihood"
    return "gen"


# SQL over one JSON value ``{x}`` (DuckDB's JSON type: the value re-written without spaces): whether
# the careful reader would take it as the fast reader does (a text: a string, an integer or a boolean;
# a score: a finite number or a boolean), and the value as it takes it (``json_text``, ``score_value``)
_TEXT_OK = "({x} IS NULL OR starts_with({x}, '\"') OR {x} IN ('true', 'false') OR regexp_full_match({x}, '-?[0-9]+'))"
_TEXT = "CASE WHEN starts_with({x}, '\"') THEN {x} ->> '$' ELSE {x}::VARCHAR END"
_SCORE_OK = "({x} IS NULL OR {x} IN ('true', 'false') OR isfinite(TRY_CAST({x}::VARCHAR AS DOUBLE)))"
_SCORE = "CASE {x} WHEN 'true' THEN 1.0 WHEN 'false' THEN 0.0 ELSE TRY_CAST({x}::VARCHAR AS DOUBLE) END"
# a list of strings: {v} is {x} cast to a list, which equals {x} written back only when every item
# was a string (or null: list_count counts the others)
_STRINGS_OK = "({x} = '[]' OR (to_json({v})::VARCHAR = {x}::VARCHAR AND list_count({v}) = len({v})))"
_RESP_TYPE_SQL = {"gen": "VARCHAR[]", "choice": "VARCHAR[][]"}
_RESP_OK = {
    "gen": _STRINGS_OK,
    "flat": "starts_with({x}, '\"')",
    # [[log-likelihood, is-greedy], ...] as strings (only the first of each pair is read: it must be there)
    "choice": ("({x} = '[]' OR (to_json({v})::VARCHAR = {x}::VARCHAR AND list_bool_and(list_transform({v}, "
               "lambda e: e IS NOT NULL AND len(e) > 0 AND e[1] IS NOT NULL))))"),
}
_RESP = {"gen": "{v}", "flat": "{x} ->> '$'", "choice": "list_transform({v}, lambda e: [e[1]])"}
_RESP_TYPE: dict[str, Any] = {"gen": pl.List(pl.String), "flat": pl.String, "choice": pl.List(pl.List(pl.String))}


def _columns(fields: list[str], metrics: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The ``read_json`` columns of the keys glc reads from one task's lines (nothing else is kept),
    every value as DuckDB's JSON type, and the SQL reference of each field; ValueError when the
    paths cannot be columns (a key reused)."""
    columns: dict[str, str] = {k: "JSON" for k in ("doc_id", "target", "filter", "filtered_resps", "metrics")}
    tree: dict[str, Any] = {}
    for f in fields:
        node = tree
        parts = f.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f)
        if parts[-1] in node:
            raise ValueError(f)
        node[parts[-1]] = "JSON"

    def build(node: dict[str, Any]) -> str:
        return "STRUCT(" + ", ".join(f"{quote_ident(k)} {build(v) if isinstance(v, dict) else v}"
                                     for k, v in node.items()) + ")"

    for k, v in tree.items():
        if k in columns:
            raise ValueError(k)
        columns[k] = build(v) if isinstance(v, dict) else v
    for m in metrics:
        if m in columns:
            raise ValueError(m)
        columns[m] = "JSON"
    refs = {f: ".".join(["__t", *(quote_ident(p) for p in f.split("."))]) for f in fields}
    return columns, refs


def _fast(con: duckdb.DuckDBPyConnection, path: Path, data: bytes, kind: str, fields: list[str], metrics: list[str],
          choice_field: str | None, has_list: bool) -> pl.DataFrame | None:
    """The task's lines read by DuckDB, with fields as ``field:`` columns and each per-sample score
    as ``score:<metric>`` (value) and ``bool:<metric>`` (whether it was a JSON boolean); None when
    the file needs the careful reader: anything it could take differently (a value of another
    type than line 1's, text that is not a string or an integer, a score that is not a finite
    number, another list of metrics) or report (bad JSON or bytes, a cut-off line), or paths that
    cannot be columns (list items, a key reused)."""
    if any(p.isdigit() for f in fields for p in f.split(".")):
        return None
    try:
        columns, refs = _columns(fields, metrics)
    except ValueError:
        return None
    q = {k: "__t." + quote_ident(k) for k in ("doc_id", "target", "filter", "filtered_resps", "metrics")}
    derived: list[str] = []
    if kind in _RESP_TYPE_SQL:
        derived.append(f"TRY_CAST({q['filtered_resps']} AS {_RESP_TYPE_SQL[kind]}) AS __resps")
    fr = {"x": q["filtered_resps"], "v": "__t.__resps"}
    oks = [f"regexp_full_match({q['doc_id']}, '-?[0-9]+')", _TEXT_OK.format(x=q["target"]),
           _TEXT_OK.format(x=q["filter"]), _RESP_OK[kind].format(**fr)]
    params: list[Any] = []
    if has_list:  # every line names the same per-sample scores as the first
        oks.append(f"{q['metrics']}::VARCHAR = to_json(?::VARCHAR[])::VARCHAR")
        params.append(metrics)
    select = [f"TRY_CAST({q['doc_id']} AS BIGINT) AS doc_id", f"{_TEXT.format(x=q['target'])} AS target",
              f"{_TEXT.format(x=q['filter'])} AS filter", f"{_RESP[kind].format(**fr)} AS filtered_resps"]
    for i, f in enumerate(fields):
        x = refs[f]
        if f == choice_field:  # a list of texts, else no choice texts (as the careful reader takes it)
            derived.append(f"TRY_CAST({x} AS VARCHAR[]) AS __choices{i}")
            oks.append(f"({x} IS NULL OR {_STRINGS_OK.format(x=x, v=f'__t.__choices{i}')})")
            select.append(f"__t.__choices{i} AS {quote_ident(field_column(f))}")
        else:
            oks.append(_TEXT_OK.format(x=x))
            select.append(f"{_TEXT.format(x=x)} AS {quote_ident(field_column(f))}")
    for m in metrics:
        x = "__t." + quote_ident(m)
        oks.append(_SCORE_OK.format(x=x))
        select += [f"{_SCORE.format(x=x)} AS {quote_ident('score:' + m)}",
                   f"coalesce({x} IN ('true', 'false'), false) AS {quote_ident('bool:' + m)}"]
    select.insert(0, "coalesce(" + " AND ".join(oks) + ", false) AS _ok")
    table = read_jsonl_duckdb(con, path, data, columns, select, params, derived)
    if table is None or table.num_rows == 0:
        return None
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    if not frame["_ok"].all() or frame["doc_id"].null_count():
        return None
    return frame.drop("_ok").with_columns(
        pl.col("filtered_resps").cast(_RESP_TYPE[kind]), *[pl.col(field_column(f)).cast(
            pl.List(pl.String) if f == choice_field else pl.String) for f in fields],
        pl.int_range(1, frame.height + 1).cast(pl.Int64).alias("_line"))


def _careful(path: Path, data: bytes, kind: str, fields: list[str], metrics: list[str], choice_field: str | None,
             problems: list[Problem]) -> pl.DataFrame:
    """Line by line: the same frame as ``_fast``, every bad value a located problem."""
    rows: list[dict[str, Any]] = []
    resp_ok = {"gen": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
               "flat": lambda v: isinstance(v, str),
               "choice": lambda v: isinstance(v, list) and all(isinstance(x, list) and x and isinstance(x[0], str)
                                                               for x in v)}[kind]
    expected = {"gen": "a list with the response text", "flat": "the response text",
                "choice": "a list of [log-likelihood, is-greedy] pairs"}[kind]
    for n, obj in jsonl_objects(data, path, problems):
        where = f"{path}:{n}"
        doc_id = obj.get("doc_id")
        if isinstance(doc_id, bool) or not isinstance(doc_id, int):
            problems.append(Problem(where, f"doc_id {show(doc_id)} is not an integer",
                                    "each line needs the document's position as doc_id"))
            continue
        if not -(2**63) <= doc_id < 2**63:  # a position; the store keeps 64-bit integers
            problems.append(Problem(where, f"doc_id {show(doc_id)} is out of range (a 64-bit integer)",
                                    "each line needs the document's position as doc_id"))
            continue
        fr = obj.get("filtered_resps")
        if not resp_ok(fr):
            problems.append(Problem(where, f"filtered_resps {show(fr)} is not {expected} like line 1's",
                                    "a line per document and filter, as the harness writes it; with repeats, "
                                    "a filter such as take_first picks one response"))
            continue
        row: dict[str, Any] = {"_line": n, "doc_id": doc_id, "filter": checked_text(obj.get("filter"), where,
                                                                                      "filter", problems),
                               "target": checked_text(obj.get("target"), where, "target", problems)}
        assert fr is not None  # resp_ok checked its shape
        if kind == "choice":
            row["filtered_resps"] = [[str(x[0])] for x in fr]
        elif kind == "flat":
            row["filtered_resps"] = checked_text(fr, where, "filtered_resps", problems)
        else:
            row["filtered_resps"] = [checked_text(x, where, "filtered_resps", problems) for x in fr]
        for f in fields:
            found, value = get_path(obj, f)
            if f == choice_field:
                row[field_column(f)] = [json_or_text(v, where, problems) for v in value] \
                    if found and isinstance(value, list) else None
            else:
                row[field_column(f)] = checked_text(value, where, f, problems) if found else None
        names = obj.get("metrics")
        row["_scores"] = {m: obj.get(m) for m in (names if isinstance(names, list) else metrics)
                          if isinstance(m, str) and m not in FIXED_KEYS}
        rows.append(row)
    schema: dict[str, Any] = {"_line": pl.Int64, "doc_id": pl.Int64, "filter": pl.String, "target": pl.String,
                              "filtered_resps": {"gen": pl.List(pl.String), "flat": pl.String,
                                                 "choice": pl.List(pl.List(pl.String))}[kind],
                              "_scores": pl.Object}
    schema.update({field_column(f): pl.List(pl.String) if f == choice_field else pl.String for f in fields})
    frame = pl.DataFrame({k: [r.get(k) for r in rows] for k in schema if k != "_scores"},
                         schema={k: v for k, v in schema.items() if k != "_scores"})
    return frame.with_columns(pl.Series("_scores", [r["_scores"] for r in rows], dtype=pl.Object))


def json_or_text(value: Any, where: str, problems: list[Problem]) -> str | None:
    return checked_text(value, where, "choice", problems)


def _prediction(frame: pl.DataFrame, kind: str, choice_field: str | None) -> tuple[pl.DataFrame, str]:
    """The prediction column and a note on how it was made."""
    if kind == "flat":
        return frame.with_columns(pl.col("filtered_resps").alias("prediction"), pl.lit(False).alias("_bad_resps")), ""
    if kind == "gen":
        return frame.with_columns(
            pl.when(pl.col("filtered_resps").list.len() == 1).then(pl.col("filtered_resps").list.first())
            .alias("prediction"),
            (pl.col("filtered_resps").list.len() != 1).alias("_bad_resps")), ""
    ll = pl.col("filtered_resps").list.eval(pl.element().list.first().cast(pl.Float64, strict=False))
    idx = ll.list.arg_max()
    bad = ll.list.eval(pl.element().is_null() | pl.element().is_nan()).list.any() | (pl.col("filtered_resps")
                                                                                       .list.len() > len(CHOICES))
    if choice_field:
        pred = pl.col(field_column(choice_field)).list.get(idx, null_on_oob=True)
        note = f"the text (doc.{choice_field.split('.', 1)[-1]}) of the choice with the highest log-likelihood"
    else:
        pred = idx.replace_strict(list(range(len(CHOICES))), list(CHOICES), default=None, return_dtype=pl.String)
        note = "the letter (A = choice 0) of the choice with the highest log-likelihood"
    frame = frame.with_columns(bad.alias("_bad_resps"))
    return frame.with_columns(pl.when(~pl.col("_bad_resps")).then(pred).alias("prediction")), note


def _task_samples(con: duckdb.DuckDBPyConnection, path: Path, task: str, flavor: str, mapping: Mapping,
                  config: dict[str, Any] | None, problems: list[Problem]) -> Samples | None:
    data = path.read_bytes()
    first_obj = None
    start = 0
    while start < len(data):  # the first non-blank line, without splitting the whole file
        end = data.find(b"\n", start)
        raw = data[start:] if end < 0 else data[start:end]
        if raw.strip():
            try:
                first_obj = json.loads(raw.removeprefix(UTF8_BOM))
            except ValueError:
                first_obj = None
            break
        start = len(data) if end < 0 else end + 1
    if first_obj is not None and not isinstance(first_obj, dict):
        first_obj = None
    if first_obj is None:
        local: list[Problem] = []
        jsonl_objects(data, path, local)
        problems.extend(local or [Problem(str(path), f"no samples in this {flavor} samples file")])
        return None
    if "doc_id" not in first_obj or "filtered_resps" not in first_obj:
        lacking = "doc_id" if "doc_id" not in first_obj else "filtered_resps"
        problems.append(Problem(f"{path}:1", f"not a {flavor} samples line (no {lacking})",
                                f"import the samples_*.jsonl files that {flavor} --log_samples writes"))
        return None
    kind = _kind(first_obj, config)
    if kind in NO_ANSWER:
        problems.append(Problem(str(path), f"task '{task}' is a {kind} task: its samples are log-likelihoods, "
                                "not answers glc can score", "import its score from the results file with "
                                "--scores (score: in the mapping) instead"))
        return None
    entry = mapping.entries[task]
    fields = mapping.fields(task)
    has_list = isinstance(first_obj.get("metrics"), list)  # lm-eval lists them; lmms-eval's are the other keys
    metrics = [m for m in (first_obj["metrics"] if has_list else first_obj) if isinstance(m, str)
               and m not in FIXED_KEYS]
    frame = _fast(con, path, data, kind, fields, metrics, entry.choice_field, has_list)
    fast = frame is not None
    if frame is None:
        before = len(problems)
        frame = _careful(path, data, kind, fields, metrics, entry.choice_field, problems)
        if len(problems) > before:
            return None
    frame, note = _prediction(frame, kind, entry.choice_field)
    frame = frame.with_columns(pl.lit(task).alias("harness_task"), pl.lit(str(path)).alias("source_file"),
                               pl.format("line {}", pl.col("_line")).alias("sample"),
                               pl.col("doc_id").alias("position"), pl.lit(None, pl.Int64).alias("epoch"),
                               pl.lit(None, pl.String).alias("error"))
    bad = frame.filter(pl.col("_bad_resps").fill_null(False))
    for r in bad.head(20).iter_rows(named=True):
        problems.append(Problem(f"{path}:{r['_line']}", "filtered_resps holds no single answer "
                                f"({show(r['filtered_resps'])})" if kind == "gen" else
                                "a log-likelihood is not a number, or there are more than 26 choices",
                                "pick a filter that keeps one response per document (e.g. take_first)"))
    if bad.height:
        return None
    dropped: dict[str, tuple[int, Any]] = {}
    scores = _scores(frame, metrics, fast, dropped)
    keep = ["harness_task", "source_file", "sample", "position", "filter", "epoch", "prediction", "error", "target",
            *[field_column(f) for f in fields if f != entry.choice_field]]
    out = Samples(frame.select(keep), scores)
    if note:
        out.notes.append(f"{task}: {frame.height} multiple-choice sample(s); the prediction is {note} "
                         "(what lm-eval's acc compares)")
    for metric, (n, example) in sorted(dropped.items()):
        out.notes.append(f"{task}: {n} per-sample value(s) of metric {preview(metric)} are no score glc keeps "
                         f"(e.g. {clip(show(example), 80)}: a corpus metric's inputs, not a per-sample value); "
                         "the diff against the harness (glc diff harness:MODEL) leaves them out")
    return out


def _scores(frame: pl.DataFrame, metrics: list[str], fast: bool, dropped: dict[str, tuple[int, Any]]) -> pl.DataFrame:
    """Long form (row, metric, value, raw) of the per-sample scores; a sample without a score (null or
    absent) has no row, the raw text of a number is Python's ``repr`` of it (as ``score_value``).
    ``dropped`` hears, per metric, how many values were no score (a list, text that is no number) and
    the first of them (the fast reader takes a file only when every value is a score)."""
    if fast:
        if not metrics:
            return Samples.empty_scores()
        long = pl.concat([frame.select(pl.int_range(0, frame.height, dtype=pl.Int64).alias("row"),
                                       pl.lit(m).alias("metric"), pl.col(f"score:{m}").alias("value"),
                                       pl.col(f"bool:{m}").alias("is_bool")) for m in metrics])
        long = long.filter(pl.col("value").is_not_null()).with_columns(pl.col("value").cast(pl.String).alias("key"))
        # repr of each distinct number once (the key tells -0.0 from 0.0)
        distinct = long.filter(~pl.col("is_bool")).unique("key").select("key", "value")
        raws = pl.DataFrame({"key": distinct["key"], "raw": [repr(v) for v in distinct["value"].to_list()]},
                            schema={"key": pl.String, "raw": pl.String})
        long = long.join(raws, on="key", how="left")
        return long.select("row", "metric", "value",
                           pl.when(pl.col("is_bool")).then(pl.when(pl.col("value") == 1.0).then(pl.lit("true"))
                                                            .otherwise(pl.lit("false")))
                           .otherwise(pl.col("raw")).alias("raw"))
    rows = []
    for i, scores in enumerate(frame["_scores"].to_list()):
        for name, value in scores.items():
            got = score_value(value)
            if got is not None:
                rows.append((i, name, got[0], got[1]))
            elif value is not None:
                n, first = dropped.get(name, (0, value))
                dropped[name] = (n + 1, first)
    return pl.DataFrame(rows, schema=SCORES_SCHEMA, orient="row") if rows else Samples.empty_scores()


def read(path: Path, mapping: Mapping, flavor: str, problems: list[Problem]) -> Samples:
    """Every mapped task's samples in the run at ``path``; unmapped tasks are problems."""
    files, results_files = _files(path, flavor)
    dates = sorted({d for _, _, d in files})
    tasks: dict[str, Path] = {}
    for f, task, _ in files:
        if task in tasks:
            problems.append(Problem(str(f), f"task '{task}' has samples from two runs: {tasks[task].name} and "
                                    f"{f.name}", "import one run at a time (point at one run's folder or file); "
                                    "glc would count its instances twice"))
        tasks.setdefault(task, f)
    results: dict[str, Any] = {}
    results_file = None
    for d in dates:
        if d in results_files:
            results_file = results_files[d]
            doc = _results(results_file, flavor)
            results.setdefault("results", {}).update(doc.get("results") or {})
            results.setdefault("configs", {}).update(doc.get("configs") or {})
            results["model"] = doc.get("model_name") or (doc.get("config") or {}).get("model")
    parts: list[Samples] = []
    con = json_connection()
    try:
        for task, f in sorted(tasks.items()):
            if task in mapping.ignore:
                continue
            if task not in mapping.entries:
                problems.append(Problem(str(f), f"task '{task}' is not in the mapping {mapping.path}",
                                        f"add it under tasks: ({task}: {{task: <glc task id>, match: position}}), "
                                        "or list it under ignore:"))
                continue
            got = _task_samples(con, f, task, flavor, mapping, (results.get("configs") or {}).get(task), problems)
            if got is not None:
                parts.append(got)
    finally:
        con.close()
    out = concat_samples(parts)
    out.aggregates = {k: v for k, v in (results.get("results") or {}).items() if isinstance(v, dict)}
    out.aggregate_file = str(results_file) if results_file else None
    model = results.get("model")
    out.model_named = model if isinstance(model, str) else None
    return out
