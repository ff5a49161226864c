"""What every harness reader produces, the hash of input texts, and a JSON-lines reader that is
fast on good files and exact about bad ones.

A reader turns a log into ``Samples``: one row per sample in ``frame`` (polars) and the
harness's own per-sample scores in ``scores`` (long form: frame row, metric, value, raw text).
Frame columns: ``harness_task``, ``source_file``, ``sample`` (where in the file: ``line 12``,
``row 3``, ``sample qa1 epoch 2``), ``position`` (0-based order of the sample in its task, as
the harness counts it), ``filter``, ``epoch``, ``prediction``, ``error``, ``target`` and one
``field:<dotted path>`` column per field the mapping matches on.

``text_key`` defines the hash of ``match: {by: hash}``: the lowercase hex sha256 of the UTF-8
bytes of the text after NFC normalization, every run of Unicode White_Space characters
(``WHITE_SPACE``) replaced by one space, and leading and trailing spaces removed. The store
computes the same key in SQL (``TEXT_KEY_SQL``), on both sides of the match.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from glc.compiler.errors import GlcError
from glc.importers.safety import UTF8_BOM, clip, decode_utf8, lone_surrogate, preview
from glc.importers.scores import Problem

# Unicode's White_Space property (PropList.txt): what "whitespace" means for text_key
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + \
    "\u2028\u2029\u202f\u205f\u3000"
_RUNS = re.compile("[" + re.escape(WHITE_SPACE) + "]+")
# the same in DuckDB (RE2): \p{Z} is Zs, Zl and Zp; with the controls and NEL it is White_Space
TEXT_KEY_SQL = ("sha256(trim(regexp_replace(nfc_normalize({x}), "
                "'[\\t\\n\\x{{0B}}\\f\\r\\x{{85}}\\p{{Z}}]+', ' ', 'g'), ' '))")


FRAME_SCHEMA: dict[str, Any] = {"harness_task": pl.String, "source_file": pl.String, "sample": pl.String,
                                "position": pl.Int64, "filter": pl.String, "epoch": pl.Int64,
                                "prediction": pl.String, "error": pl.String, "target": pl.String}
SCORES_SCHEMA: dict[str, Any] = {"row": pl.Int64, "metric": pl.String, "value": pl.Float64, "raw": pl.String}


def text_key(text: str) -> str:
    """The hash key of an input text (module docstring); the SQL of the store computes the same."""
    import hashlib

    normal = _RUNS.sub(" ", unicodedata.normalize("NFC", text)).strip(" ")
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def field_column(path: str) -> str:
    return f"field:{path}"


@dataclass
class Samples:
    """What a reader found in a log, before matching."""

    frame: pl.DataFrame
    scores: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    aggregates: dict[str, dict[str, Any]] = field(default_factory=dict)  # harness task -> results-file metrics
    aggregate_file: str | None = None
    model_named: str | None = None  # the model the log says it ran

    @staticmethod
    def empty_scores() -> pl.DataFrame:
        return pl.DataFrame(schema=SCORES_SCHEMA)


def concat_samples(parts: list[Samples]) -> Samples:
    """Several files' samples as one (rows of ``scores`` renumbered to the joined frame)."""
    frames, scores, notes, aggs = [], [], [], {}
    offset = 0
    agg_file = model = None
    for s in parts:
        frames.append(s.frame)
        scores.append(s.scores.with_columns(pl.col("row") + offset))
        offset += s.frame.height
        notes += s.notes
        aggs.update(s.aggregates)
        agg_file = agg_file or s.aggregate_file
        model = model or s.model_named
    frame = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame(schema=FRAME_SCHEMA)
    score = pl.concat(scores) if scores else Samples.empty_scores()
    return Samples(frame, score, notes, aggs, agg_file, model)


# --- numbers and texts taken from parsed JSON -------------------------------------------------


def json_text(value: Any) -> str | None:
    """A field value as text: strings as they are, integers and integral floats without a fraction,
    other numbers as written, booleans and structures as JSON (the fast reader takes strings,
    integers and booleans alike and leaves files with other values to the careful reader)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return json.dumps(value, ensure_ascii=False)


SCORE_LETTERS = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}  # Inspect's CORRECT, INCORRECT, PARTIAL, NOANSWER


def score_value(value: Any) -> tuple[float | None, str] | None:
    """(value, raw text) of one per-sample score, or None when it is not a score glc can keep.

    Numbers and booleans as they are (NaN and infinities: no value); Inspect's letters C/I/P/N as
    1/0/0.5/0; numeric text; an object's numeric ``score`` (lmms-eval's per-sample dicts).
    """
    if isinstance(value, bool):
        return float(value), json.dumps(value)
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None, str(value)
        return (number if math.isfinite(number) else None), repr(number)  # the fast reader's raw text too
    if isinstance(value, str):
        text = value.strip()
        if text in SCORE_LETTERS:
            return SCORE_LETTERS[text], text
        try:
            number = float(text)
        except ValueError:
            return None
        return (number if math.isfinite(number) else None), clip(text, 200)
    if isinstance(value, dict) and "score" in value and not isinstance(value["score"], dict | list):
        got = score_value(value["score"])
        return None if got is None else (got[0], clip(json.dumps(value, ensure_ascii=False, default=str), 200))
    return None


# --- JSON lines ----------------------------------------------------------------------------------


_GLOB = re.compile(r"[*?\[]")


def read_jsonl_duckdb(con: duckdb.DuckDBPyConnection, path: Path, data: bytes, columns: dict[str, Any],
                      select: list[str], params: list[Any], derived: list[str] | None = None) -> pa.Table | None:
    """The lines of ``path`` (whose bytes are ``data``) read by DuckDB's JSON reader (``con``: an
    in-memory connection, ``json_connection()``), as the Arrow
    table of ``select`` (SQL over ``__t``: the columns ``columns`` of ``read_json`` and the
    ``derived`` columns, SQL over them computed once; ``params`` bound in order); None when the
    file needs the careful reader: JSON or bytes DuckDB refuses (bad or cut-off JSON, bytes that
    are not UTF-8, lone surrogates, a line over 16 MB), a byte-order mark, blank lines (DuckDB
    skips them: rows would stop being lines).

    DuckDB's reader is stricter than Python's json in all of this except trailing commas
    (``[1, 2,]``), which it accepts. The path reaches DuckDB as a bound value with its glob
    characters escaped, and DuckDB must see exactly this one file.
    """
    if data.startswith(UTF8_BOM):
        return None
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    full = str(path.resolve())
    pattern = _GLOB.sub(lambda m: f"[{m.group(0)}]", full)
    try:
        if [r[0] for r in con.execute("SELECT file FROM glob(?)", [pattern]).fetchall()] != [full]:
            return None
        sql = ("SELECT " + ", ".join(select) + " FROM (SELECT " + ", ".join(["*", *(derived or [])])
               + " FROM read_json(?, columns = ?, format = 'newline_delimited') AS __t) AS __t")
        table = con.sql(sql, params=[*params, pattern, columns]).to_arrow_table()
    except duckdb.Error:  # malformed or unexpected JSON: the careful reader says what and where
        return None
    return table if table.num_rows == lines else None


def json_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection for ``read_jsonl_duckdb`` (rows in file order). It reads the
    imported file (file access stays on) and runs only glc's own SQL, but installs and loads no
    extension: JSON is built into DuckDB, and nothing a file holds should make it fetch one."""
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    con.execute("SET preserve_insertion_order = true")
    return con


def jsonl_objects(data: bytes, path: Path, problems: list[Problem], limit: int = 200) -> list[tuple[int, dict]]:
    """(line number, object) per non-blank line, each line decoded and parsed on its own, so every
    problem names its line: bytes that are not UTF-8, JSON that is cut off or not an object."""
    out: list[tuple[int, dict]] = []
    bad = 0
    offset = 0
    lines = data.split(b"\n")
    for n, raw in enumerate(lines, start=1):
        start, offset = offset, offset + len(raw) + 1
        if n == 1 and raw.startswith(UTF8_BOM):
            raw, start = raw[len(UTF8_BOM):], start + len(UTF8_BOM)
        if not raw.strip():
            continue
        where = f"{path}:{n}"
        try:
            text = decode_utf8(raw, path, first_line=n, offset=start)
            value = json.loads(text)
        except GlcError as exc:
            problems.append(Problem(exc.location or where, exc.message, exc.hint))
            bad += 1
        except json.JSONDecodeError as exc:
            # the last line of a file that does not end with a line break: the writer stopped mid-line
            cut = " (the line is cut off: was the file truncated while it was written?)" \
                if n == len(lines) and not data.endswith(b"\n") else ""
            problems.append(Problem(where, f"bad JSON at column {exc.colno}: {exc.msg}{cut}",
                                    "each line of a samples file is one JSON object as the harness wrote it"))
            bad += 1
        except RecursionError:
            problems.append(Problem(where, "bad JSON: nested too deeply"))
            bad += 1
        else:
            if isinstance(value, dict):
                out.append((n, value))
            else:
                problems.append(Problem(where, f"expected a JSON object, got {type(value).__name__}"))
                bad += 1
        if bad >= limit:
            problems.append(Problem(str(path), "too many bad lines; stopped reading", None))
            break
    return out


def get_path(obj: Any, dotted: str) -> tuple[bool, Any]:
    """(found, value) of a dotted path (list items by number)."""
    cur = obj
    for part in dotted.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return False, None
    return True, cur


def checked_text(value: Any, where: str, what: str, problems: list[Problem]) -> str | None:
    """A text the store can hold (no lone surrogates); a problem otherwise."""
    text = json_text(value)
    if text is not None and (bad := lone_surrogate(text)):
        problems.append(Problem(where, f"{what}: {bad}", "fix the program that wrote the file"))
        return None
    return text


def frame_of(rows: list[dict[str, Any]], extra: dict[str, Any]) -> pl.DataFrame:
    """A frame of ``FRAME_SCHEMA`` plus ``extra`` columns from row dicts."""
    schema = {**FRAME_SCHEMA, **extra}
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema, orient="row") if rows \
        else pl.DataFrame(schema=schema)


def first_problem_rows(frame: pl.DataFrame, condition: pl.Expr, message: Callable[[dict], str],
                       problems: list[Problem], hint: str | None = None, limit: int = 50) -> int:
    """Record a located problem for the first ``limit`` rows meeting ``condition``; the count of all."""
    bad = frame.filter(condition)
    for r in bad.head(limit).iter_rows(named=True):
        problems.append(Problem(f"{r['source_file']} {r['sample']}", message(r), hint))
    if bad.height > limit:
        problems.append(Problem(str(bad["source_file"][0]), f"... and {bad.height - limit} more such samples"))
    return bad.height


def show(value: Any) -> str:
    return preview(value, 60)
