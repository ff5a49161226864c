"""``glc import scores --from FORMAT PATH --map MAP.yaml --model NAME``: only task-level results.

The values come from the run's results (lm-eval and lmms-eval: the results JSON; Inspect: the
log's ``results``, as ``<scorer>/<metric>``; VLMEvalKit: ``<model>_<dataset>_acc.csv``, as its
column names, ``<split>/<column>`` for splits other than ``none``); each mapping entry with
``score: {key, scale}`` gives its task's score, range-checked against the glc metric. The model's
imported scores are replaced by these in one transaction, as any ``glc import scores`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from glc.compiler.errors import GlcError
from glc.compiler.resolve import Project
from glc.engine.store import ensure_store, transaction
from glc.importers.harness.frame import Samples
from glc.importers.harness.importer import _task_scores, checked_model, store_task_scores
from glc.importers.harness.mapping import load_mapping
from glc.importers.safety import clip, path_problem
from glc.importers.scores import ImportErrors, ImportSummary, Problem


def _lm(path: Path, flavor: str) -> tuple[dict[str, Any], Path]:
    from glc.importers.harness import lm_eval

    _, results_re = lm_eval._patterns(flavor)
    files = sorted(p for p in path.rglob("*") if results_re.match(p.name)) if path.is_dir() else [path]
    if len(files) != 1 or not results_re.match(files[0].name):
        raise GlcError(f"expected one {flavor} results file, found {len(files)}" if path.is_dir() else
                       f"not a {flavor} results file name", location=clip(str(path)),
                       hint="point at the results JSON of one run")
    doc = lm_eval._results(files[0], flavor)
    return {k: v for k, v in doc["results"].items() if isinstance(v, dict)}, files[0]


def _inspect(path: Path) -> tuple[dict[str, Any], Path]:
    from glc.importers.harness import inspect_log

    out: dict[str, Any] = {}
    for log in inspect_log._logs(path):
        mapping_free = inspect_log._read_eval(log) if log.suffix == ".eval" else inspect_log._read_json(log)
        header = mapping_free[0]
        task = header["eval"].get("task")
        for sc in (header.get("results") or {}).get("scores") or []:
            for name, m in (sc.get("metrics") or {}).items():
                if isinstance(m, dict) and "value" in m:
                    out.setdefault(task, {})[f"{sc.get('name')}/{name}"] = m["value"]
    return out, path


def _vlmevalkit(path: Path, datasets: list[str]) -> tuple[dict[str, Any], Path]:
    from glc.importers.harness import vlmevalkit

    files = sorted(p for p in path.rglob("*.csv")) if path.is_dir() else [path]
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for f in files:
        got = vlmevalkit._classify(f, datasets)
        if got is not None and got[1] == "acc":
            out[got[0]] = vlmevalkit._acc(f, problems)
    if problems:
        raise ImportErrors(path, problems)
    return out, path


def import_task_scores(con: duckdb.DuckDBPyConnection, path: Path, project: Project, fmt: str, model: str | None,
                       mapping_path: Path) -> ImportSummary:
    if (bad := path_problem(path)) is not None:
        raise bad
    if not path.exists():
        raise GlcError("file not found", location=clip(str(path)))
    name = checked_model(path, model)
    mapping = load_mapping(mapping_path, project, fmt)
    if fmt in ("lm-eval", "lmms-eval"):
        aggregates, source = _lm(path, fmt)
    elif fmt == "inspect":
        aggregates, source = _inspect(path)
    else:
        aggregates, source = _vlmevalkit(path, list(mapping.entries))
    samples = Samples(Samples.empty_scores(), Samples.empty_scores(), [], aggregates, str(source))
    problems: list[Problem] = []
    scores = _task_scores(samples, mapping, project, True, problems)
    if problems:
        raise ImportErrors(path, problems)
    ensure_store(con)
    with transaction(con):
        store_task_scores(con, name, scores, source)
    return ImportSummary(source, [name], {name: len(scores)}, {name: 0}, [])


__all__ = ["import_task_scores"]
