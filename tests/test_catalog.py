"""The committed task specs are exactly what `glc catalog generate` writes from the catalog."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from glc.compiler.catalog import GENERATED_MARK, read_catalog_csv, read_sota_workbook
from glc.compiler.loader import load_specs
from helpers.project import DATA, REPO

from glc.workspace import Workspace

SHARED = REPO.parent / "shared" / "data" / "general-bench"


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.yaml"))}


def test_committed_specs_equal_generated(tmp_path: Path) -> None:
    out = tmp_path / "tasks"
    proc = subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(REPO), "catalog", "generate",
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "wrote 699 task specs" in proc.stdout
    committed = {k: v for k, v in _tree(REPO / "specs" / "tasks").items() if v.startswith(GENERATED_MARK.encode())}
    assert _tree(out) == committed
    assert not any(k.startswith("mini/") for k in committed)  # the offline benchmark's specs are hand-written


def test_names_are_byte_exact_and_metrics_canonical(compiled) -> None:
    rows = list(csv.DictReader((DATA / "tasks.csv").open(encoding="utf-8")))
    by_key = {(t.spec.official.sheet, t.spec.name, t.spec.official.metric): t for t in compiled.project.tasks}
    assert len(by_key) == 699
    for r in rows:
        t = by_key[(r["sheet"], r["task_name"], r["metric_raw"])]
        assert t.spec.metric == r["metric_key"] and t.metric.direction == r["direction"]
        assert t.spec.sota.value == float(r["sota"]) and t.spec.short_name == r["task_short_name"]
    counts = {}
    for t in compiled.project.tasks:
        counts[t.group] = counts.get(t.group, 0) + 1
    assert counts == {"C": 451, "G": 133, "L": 115}


def test_official_sota_workbook_gives_the_same_catalog() -> None:
    metrics = load_specs(REPO, REPO / "specs").metrics
    aliases = {a: m.spec.name for m in metrics for a in m.spec.aliases}
    from_xlsx = read_sota_workbook(DATA / "official" / "sota_result.xlsx", aliases)
    from_csv = read_catalog_csv(DATA / "tasks.csv")
    key = lambda r: (r.sheet, r.name, r.metric_raw)  # noqa: E731
    assert sorted(from_xlsx, key=key) == sorted(from_csv, key=key)


def test_bundled_data_matches_shared_or_recorded_hashes() -> None:
    recorded = {"tasks.csv": "faaa8d1b4fe64386fe088240441b7999da6e12836ac4e4c277cf7fb845b2081f"}
    if SHARED.exists():
        for rel in ["tasks.csv", "examples/c04_sota_beater.xlsx", "official/sota_result.xlsx"]:
            assert (DATA / rel).read_bytes() == (SHARED / rel).read_bytes(), rel
        # the expected Levels are the same data; only the 'about' text points into this repo's docs
        ours, theirs = (json.loads((d / "examples/expected_levels.json").read_text()) for d in (DATA, SHARED))
        assert ours["cases"] == theirs["cases"] and ours.keys() == theirs.keys()
    assert recorded["tasks.csv"] == hashlib.sha256((DATA / "tasks.csv").read_bytes()).hexdigest()


def test_yaml_unit_tests_of_level_rules_pass(ws: Workspace) -> None:
    report = ws.test(data=False)
    assert len(report.unit) >= 6
    assert all(u.passed for u in report.unit), [u.message for u in report.unit if not u.passed]
