"""Builds a project whose tasks carry datasets and predictions, for metric and store tests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from helpers.project import EXAMPLES, REPO, copy_project


def add_task(root: Path, metric: str, reference: str, items: list[tuple[str, Any, Any]],
             modality: str = "nlp", paradigm: str = "nlp", sota: float = 50.0, suffix: str = "",
             **dataset: Any) -> str:
    """A task ``<modality>.t_<metric><suffix>`` whose JSONL data holds (id, input, reference) items."""
    task_id = f"{modality}.t_{metric}{suffix}"
    data = root / "data" / f"{task_id}.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("".join(json.dumps({"id": i, "input": x, "output": ref}, ensure_ascii=False) + "\n"
                            for i, x, ref in items), encoding="utf-8")
    spec = {"id": task_id, "name": f"Test {metric}{suffix}", "modality": modality, "paradigm": paradigm,
            "metric": metric, "sota": {"value": sota, "source": "test"},
            "dataset": {"format": "jsonl", "path": f"data/{task_id}.jsonl", "reference": reference, **dataset}}
    folder = root / "specs" / "tasks" / "test"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{task_id}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return task_id


def write_predictions(path: Path, model: str, task_id: str, preds: list[tuple[str, Any]]) -> Path:
    with path.open("a", encoding="utf-8") as fh:
        for iid, pred in preds:
            fh.write(json.dumps({"model": model, "task": task_id, "id": iid, "prediction": pred},
                                ensure_ascii=False) + "\n")
    return path


def new_project(tmp: Path, *, small: bool = True) -> Path:
    """A copy of the project whose general-bench benchmark also holds specs/tasks/test/; by default
    with the small catalog (``small=False``: all 699 tasks)."""
    root = copy_project(tmp, small=small)
    shutil.rmtree(root / "specs" / "models")  # tests declare the models they run
    (root / "specs" / "tasks" / "test").mkdir(parents=True, exist_ok=True)
    bench = root / "specs" / "benchmarks" / "general-bench.yaml"
    bench.write_text(bench.read_text().replace("tasks: [3d, audio, image, nlp, video]",
                                               "tasks: [3d, audio, image, nlp, video, test]"))
    return root


def model_spec(root: Path, name: str, routes: list[dict]) -> Path:
    """A model spec ``specs/models/<name>.yaml`` with these routes."""
    folder = root / "specs" / "models"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "revision": "1", "routes": routes}, sort_keys=False))
    return path


def allow_command(root: Path, argv: list[str]) -> None:
    """This test project's profile lets the command runner start exactly ``argv`` (as written in the spec)."""
    prof = root / "profiles.yml"
    line = "  - " + json.dumps(argv) + "\n"
    if line not in prof.read_text():
        prof.write_text(prof.read_text() + line)


def qa_task(root: Path, n: int = 6, prompt: str = "Repeat the number: {{ input.a }}") -> str:
    """An accuracy task ``nlp.t_acc`` of ``n`` instances with an inference prompt."""
    tid = add_task(root, "acc", "text", [(f"q{i}", {"a": str(i)}, [str(i)]) for i in range(n)])
    spec_path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["inference"] = {"type": "qa", "prompt": prompt}
    spec_path.write_text(yaml.safe_dump(spec))
    return tid


def echo_model(root: Path, name: str, fail_on: str | None = None, log: Path | None = None) -> None:
    """A command-runner model answering the prompt's last number (failing on ``fail_on``, logging ids)."""
    code = ("import sys, pathlib\n"
            "iid, prompt = sys.argv[1], sys.argv[2]\n"
            + (f"pathlib.Path({str(log)!r}).open('a').write(iid + '\\n')\n" if log else "")
            + (f"sys.exit('cannot answer ' + iid) if iid == {fail_on!r} else None\n" if fail_on else "")
            + "print(prompt.split(':')[-1].strip())\n")
    argv = ["{{ python }}", "-c", code, "{{ instance_id }}", "{{ prompt }}"]
    allow_command(root, argv)
    model_spec(root, name, [{"runner": "command", "args": {"argv": argv}}])


def mini_project(dest: Path) -> Path:
    """A copy of the project with the offline ``mini`` benchmark's data."""
    root = copy_project(dest)
    shutil.copytree(REPO / "data" / "mini", root / "data" / "mini")
    return root


def workbook_variant(tmp_path: Path, mutate: Callable[[Any], None], name: str = "v.xlsx") -> Path:
    """The example workbook c04_sota_beater.xlsx changed by ``mutate`` (an openpyxl Workbook), saved as ``name``."""
    import openpyxl

    wb = openpyxl.load_workbook(EXAMPLES / "c04_sota_beater.xlsx")
    mutate(wb)
    out = tmp_path / name
    wb.save(out)
    return out


def sql_rows(ws: Any, query: str, *params: Any) -> list[tuple]:
    """Rows of a read-only query on a workspace's store (bound parameters)."""
    import duckdb

    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        return con.execute(query, list(params)).fetchall()
    finally:
        con.close()


def data_problems(ws: Any, action: str = "plan") -> str:
    """Run ``ws.plan()`` (or ``run``) and return the task data problems it collected, as text
    (empty when there were none): bad task data sits its task out instead of stopping the run."""
    getattr(ws, action)()
    return "\n".join(f"{p.where}: {p.message}" + (f" (hint: {p.hint})" if p.hint else "") for p in ws.data_problems)


def explain_vs_sql(ws: Any, model: str, variant: str, scope: str) -> dict[str, Any]:
    """``ws.explain`` of one board, checked number by number against the rows of the SQL nodes it reads
    (level_scores, group_scores__V, part_scores__V, modality_counts__V, task_contributions__V,
    task_wins__V); returns the explain result. Also checks the SQL against itself: the parts average to
    the level row, the won tasks' contributions add up to S_C/S_G/S_L, the per-modality counts add up to
    the group counts."""
    import duckdb
    import pytest
    from glc.compiler.contracts import quote_ident

    from glc.analysis.explain import _fmt

    info = ws.explain(model, variant, scope)
    con = duckdb.connect(ws.target.path, read_only=True)

    def rows(node: str, order: str = "", where: str = "scope = ?", *params: Any) -> list[dict[str, Any]]:
        table = quote_ident(f"{node}__{variant}" if node != "level_scores" else node)
        rel = con.execute(f"SELECT * FROM {table} WHERE model = ? AND {where} {order}", [model, *params])
        names = [d[0] for d in rel.description]
        return [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
    try:
        (row,) = rows("level_scores", "", "variant = ? AND scope = ?", variant, scope)
        groups = rows("group_scores", "ORDER BY part, task_group", "scope = ?", scope)
        parts = rows("part_scores", "ORDER BY part", "scope = ?", scope)
        mods = rows("modality_counts", "ORDER BY modality, task_group", "scope = ?", scope)
        contrib = {r["task_id"]: r for r in rows("task_contributions", "", "scope = ?", scope)}
        gaps = {r["task_id"]: r["shortfall"] for r in rows("task_wins", "", "shortfall IS NOT NULL")}
    finally:
        con.close()
    assert info["level"] == row["level"]
    assert info["scores"] == {k: row[k] for k in ("level_2", "level_3", "level_4", "level_5", "s_c", "s_g", "s_l")}
    assert {k: info["basis"][k] for k in ("level_without_ties", "n_tasks", "n_attempted", "n_wins", "n_ties",
                                          "n_pending")} == {k: row[k] for k in ("level_without_ties", "n_tasks",
                                          "n_attempted", "n_wins", "n_ties", "n_pending")}
    assert info["groups"] == groups
    assert info["parts"] == [{k: p[k] for k in ("part", "n_parts", "level_2", "level_3", "level_4", "s_c", "s_g")}
                             for p in parts]
    assert info["modalities"] == [{k: m[k] for k in ("modality", "task_group", "n_tasks", "n_supported", "n_wins",
                                                     "n_ties")} for m in mods]
    for t in info["top_contributors"]:
        assert t["contribution"] == contrib[t["task_id"]]["contribution"]
    for t in info["closest_losses"]:
        assert t["shortfall"] == gaps[t["task_id"]]
    # each number of the formulas is a column of those rows, formatted
    text = "\n".join(info["formulas"])
    for p in parts:
        assert f"= {_fmt(p['level_2'])}" in text and f"= {_fmt(p['level_3'])}" in text
        if p["level_4"] is not None:
            assert f"* {_fmt(p['s_c'])} * {_fmt(p['s_g'])}" in text and f"= {_fmt(p['level_4'])}" in text
            both = [g for g in groups if g["part"] == p["part"] and g["task_group"] in ("C", "G")]
            assert all(f"{_fmt(g['sum_sigma'])} / {g['n_tasks']}" in text for g in both)
    # the SQL agrees with itself
    for k in ("level_2", "level_3", "level_4"):
        values = [p[k] for p in parts if p[k] is not None]
        if row[k] is not None:
            assert row[k] == pytest.approx(sum(values) / len(values), rel=1e-12, abs=1e-12), k
    for grp, s in (("C", row["s_c"]), ("G", row["s_g"]), ("L", row["s_l"])):
        if s is not None:
            assert sum(c["contribution"] for c in contrib.values() if c["task_group"] == grp) == \
                pytest.approx(s, rel=1e-12, abs=1e-12), grp
    for grp in {g["task_group"] for g in groups}:
        for col in ("n_tasks", "n_supported", "n_wins", "n_ties"):
            assert sum(m[col] for m in mods if m["task_group"] == grp) == \
                sum(g[col] for g in groups if g["task_group"] == grp), (grp, col)
    return info


def speech_task(root: Path, instances: list[tuple[str, str]], prompt: str, read_argv: list[str]) -> str:
    """An audio generation task (``em1`` on text references) of ``instances`` ((id, number) pairs, the
    number in ``input.a`` and the reference), whose evaluator runs ``read_argv`` (allowed in the
    profile) on each generated file to read it back."""
    tid = add_task(root, "em1", "text", [(iid, {"a": a}, [a]) for iid, a in instances])
    path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["inference"] = {"type": "speech", "prompt": prompt, "output": "audio",
                         "evaluator": {"runner": "command", "args": {"argv": read_argv}}}
    path.write_text(yaml.safe_dump(spec))
    allow_command(root, read_argv)
    return tid
