"""VLMEvalKit prediction and score files.

``run.py`` writes, per model and dataset, ``<model>_<dataset>.xlsx`` (``PRED_FORMAT=tsv`` or
``json``: ``.tsv`` / ``.json``): the dataset's own columns (``index``, ``question``, ``answer``,
the options ``A``, ``B``, ... of a multiple-choice set, ``category``; the ``image`` column
dropped) plus ``prediction``, the model's answer as text. A TSV is pandas' ``to_csv`` with tabs
and every field quoted; a JSON file is the list of row objects (pandas writes ``NaN`` for empty
cells, read here as empty). ``evaluate`` then writes per-sample scores beside it:
``<model>_<dataset>_<judge>_result.<ext>`` (the same rows plus ``hit``, 0 or 1, for
multiple-choice sets), ``<model>_<dataset>_auxmatch.xlsx`` (``score``, yes/no sets), and the
task-level table ``<model>_<dataset>_acc.csv`` (``split``, ``Overall``, one column per category;
fractions). Pickles (``*.pkl``) are never read: unpickling runs code.

The dataset name is the end of the file name that a mapping entry names (model names hold
underscores too); a sample's position is its row in the prediction file, its default id the
``index`` column. These fixtures follow the layout in the source of VLMEvalKit's ``smp/file.py``
(``dump``) and ``dataset/image_mcq.py`` (``evaluate``); VLMEvalKit itself is not run here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl

from glc.compiler.errors import GlcError
from glc.importers.csv_rows import read_csv
from glc.importers.harness.frame import (
    SCORES_SCHEMA,
    Samples,
    checked_text,
    concat_samples,
    field_column,
    frame_of,
    json_text,
    score_value,
)
from glc.importers.harness.mapping import Mapping
from glc.importers.safety import clip, decode_utf8, preview
from glc.importers.scores import Problem
from glc.importers.xlsx_guard import MAX_ROW, check_xlsx, guard_shared_strings

EXTS = (".xlsx", ".tsv", ".json")
SCORE_COLUMNS = ("hit", "score")
HINT = "VLMEvalKit's <model>_<dataset>.xlsx (.tsv, .json) prediction file, with its _result and _acc.csv files"
MAX_ROWS = 5_000_000


def _table(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) of an xlsx, tsv or json table as VLMEvalKit's dump writes them."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _xlsx(path)
    if suffix == ".tsv":
        decode_utf8(path.read_bytes(), path)
        try:
            frame = read_csv(path, separator="\t")
        except GlcError:
            raise
        except Exception as exc:  # noqa: BLE001 - polars raises several types for damaged files
            raise GlcError(f"cannot read the TSV file: {clip(str(exc).splitlines()[0] if str(exc) else '', 200)}",
                           location=clip(str(path)), hint=HINT) from None
        return frame.columns, frame.to_dicts()
    text = decode_utf8(path.read_bytes(), path)
    try:
        doc = json.loads(text)  # NaN: pandas' empty cell
    except json.JSONDecodeError as exc:
        raise GlcError(f"bad JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", location=clip(str(path)),
                       hint=HINT) from None
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise GlcError("expected a list of row objects", location=clip(str(path)), hint=HINT)
    cols = list(dict.fromkeys(k for r in doc for k in r))
    return cols, [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in doc]


def _xlsx(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    from openpyxl import load_workbook

    # the sizes of its parts before openpyxl unpacks them, and no row past Excel's last (openpyxl would walk
    # every empty row up to it)
    check_xlsx(path, HINT)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        guard_shared_strings(wb)
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # a stale <dimension> would silently drop the rows past it
        it = ws.iter_rows(values_only=True)
        header = [str(c) if c is not None else "" for c in next(it, ())]
        rows = []
        for n, cells in enumerate(it, start=2):
            if n > MAX_ROW:  # openpyxl yields every empty row up to a far one: two billion for r="2e9"
                raise GlcError(f"a row lies past Excel's last row ({MAX_ROW:,})", location=clip(str(path)),
                               hint=HINT)
            if all(c is None for c in cells):
                continue
            rows.append({h: c for h, c in zip(header, cells, strict=False) if h})
            if len(rows) > MAX_ROWS:
                raise GlcError("too many rows", location=clip(str(path)))
        wb.close()
    except GlcError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types (XML ParseError among them) for damaged files
        raise GlcError(clip(f"cannot read the workbook: {type(exc).__name__}: {exc}", 200), location=clip(str(path)),
                       hint="save it again as .xlsx, or export the predictions as TSV (PRED_FORMAT=tsv)") from None
    return [h for h in header if h], rows


def _classify(path: Path, datasets: list[str]) -> tuple[str, str] | None:
    """(dataset, kind) of a file name: kind is pred, result or acc; None for files of no mapped dataset."""
    stem, suffix = path.stem, path.suffix.lower()
    for d in sorted(datasets, key=len, reverse=True):
        if suffix in EXTS and stem.endswith("_" + d) and len(stem) > len(d) + 1:
            return d, "pred"
        if suffix in EXTS and (f"_{d}_" in stem) and (stem.endswith("_result") or stem.endswith("_auxmatch")):
            return d, "result"
        if suffix == ".csv" and (stem.endswith(f"_{d}_acc") or stem.endswith(f"_{d}_score")):
            return d, "acc"
    return None


def _files(path: Path, mapping: Mapping, problems: list[Problem], notes: list[str]) -> dict[str, dict[str, Path]]:
    datasets = [*mapping.entries, *mapping.ignore]
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    else:
        found = [path] + sorted(p for p in path.parent.iterdir() if p != path and p.is_file() and not p.is_symlink()
                                and _classify(p, datasets) and p.name.startswith(path.stem + "_"))
    out: dict[str, dict[str, Path]] = {}
    others: list[str] = []
    for f in found:
        if f.suffix.lower() == ".pkl":
            if f == path:
                raise GlcError("pickle files are not read (unpickling a file can run code)", location=clip(str(f)),
                               hint="import the .xlsx, .tsv or .json prediction file of the same run")
            continue
        got = _classify(f, datasets)
        if got is None:
            if f == path:
                raise GlcError("no dataset of the mapping in this file name", location=clip(str(f)),
                               hint=f"VLMEvalKit names it <model>_<dataset>{f.suffix}; the mapping names: "
                                    + ", ".join(sorted(mapping.entries)))
            if f.suffix.lower() in EXTS:
                others.append(f.name)
            continue
        d, kind = got
        slot = out.setdefault(d, {})
        if kind in slot:
            problems.append(Problem(str(f), f"dataset '{d}' has two {kind} files: {slot[kind].name} and {f.name}",
                                    "import one run (one model's folder) at a time"))
            continue
        slot[kind] = f
    if others:
        notes.append(f"{len(others)} file(s) of no mapped dataset were not read: {', '.join(others[:5])}"
                     + (", ..." if len(others) > 5 else ""))
    return out


def _dataset(d: str, files: dict[str, Path], mapping: Mapping, problems: list[Problem]) -> Samples | None:
    pred = files.get("pred")
    if pred is None:
        where = next(iter(files.values()))
        problems.append(Problem(str(where), f"dataset '{d}' has no prediction file <model>_{d}.xlsx (.tsv, .json)",
                                HINT))
        return None
    cols, table = _table(pred)
    if "prediction" not in cols:
        problems.append(Problem(str(pred), "no 'prediction' column", HINT))
        return None
    fields = mapping.fields(d)
    rows = []
    for n, r in enumerate(table, start=1):
        at = f"{pred} row {n}"
        row: dict[str, Any] = {"harness_task": d, "source_file": str(pred), "sample": f"row {n}", "position": n - 1,
                               "prediction": checked_text(r.get("prediction"), at, "prediction", problems),
                               "target": checked_text(r.get("answer"), at, "answer", problems)}
        for f in fields:
            row[field_column(f)] = checked_text(r.get(f), at, f, problems)
        row["_index"] = json_text(r.get("index"))
        rows.append(row)
    frame = frame_of(rows, {**{field_column(f): pl.String for f in fields}, "_index": pl.String})
    scores: list[tuple[int, str, float | None, str]] = []
    result = files.get("result")
    if result is not None:
        rcols, rtable = _table(result)
        by_index = {r["_index"]: i for i, r in enumerate(rows) if r["_index"] is not None}
        names = [c for c in SCORE_COLUMNS if c in rcols]
        if not names:
            problems.append(Problem(str(result), "no per-sample score column (hit or score)", HINT))
        for n, r in enumerate(rtable, start=1):
            i = by_index.get(json_text(r.get("index")))
            if i is None:
                problems.append(Problem(f"{result} row {n}", f"index {preview(r.get('index'))} is not in "
                                        f"{pred.name}", "the score file belongs to another run"))
                continue
            for c in names:
                got = score_value(r.get(c))
                if got is not None:
                    scores.append((i, c, got[0], got[1]))
    aggregates: dict[str, dict[str, Any]] = {}
    acc = files.get("acc")
    if acc is not None:
        aggregates[d] = _acc(acc, problems)
    return Samples(frame.drop("_index"), pl.DataFrame(scores, schema=SCORES_SCHEMA, orient="row") if scores
                   else Samples.empty_scores(), [], aggregates, str(acc) if acc else None)


def _acc(path: Path, problems: list[Problem]) -> dict[str, Any]:
    """``<split>/<column>`` -> value of a ``_acc.csv`` (``Overall`` of split ``none`` is ``Overall``)."""
    decode_utf8(path.read_bytes(), path)
    try:
        frame = read_csv(path)
    except GlcError as exc:
        problems.append(Problem(exc.location or str(path), exc.message, exc.hint))
        return {}
    except Exception as exc:  # noqa: BLE001
        problems.append(Problem(str(path), f"cannot read the score table: {clip(str(exc), 200)}"))
        return {}
    out: dict[str, Any] = {}
    for r in frame.to_dicts():
        split = r.get("split") or "none"
        for k, v in r.items():
            if k != "split" and v is not None:
                out[k if split == "none" else f"{split}/{k}"] = _number(v)
    return out


def _number(v: str) -> Any:
    try:
        return float(v)
    except ValueError:
        return v


def read(path: Path, mapping: Mapping, problems: list[Problem]) -> Samples:
    if path.is_file() and path.suffix.lower() not in (*EXTS, ".csv", ".pkl"):
        raise GlcError(f"not a VLMEvalKit file ({preview(path.suffix)})", location=clip(str(path)), hint=HINT)
    notes: list[str] = []
    files = _files(path, mapping, problems, notes)
    parts = []
    for d, fs in sorted(files.items()):
        if d in mapping.ignore:
            continue
        got = _dataset(d, fs, mapping, problems)
        if got is not None:
            parts.append(got)
    if not files and not problems:
        raise GlcError("no prediction file of a mapped dataset", location=clip(str(path)), hint=HINT)
    out = concat_samples(parts)
    out.notes += notes
    return out
