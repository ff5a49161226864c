"""Compile artifacts: determinism, manifest, golden SQL, visible variant differences."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest
from glc.compiler.plan import compile_project, write_artifacts
from helpers.project import REPO, copy_project

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("GLC_UPDATE_GOLDEN") == "1"


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("catalog", [pytest.param(True, id="catalog", marks=pytest.mark.slow),  # all 699 tasks
                                     pytest.param(False, id="small")])
def test_two_compiles_are_byte_identical(tmp_path: Path, catalog: bool) -> None:
    root = REPO if catalog else copy_project(tmp_path / "p", small=True)
    write_artifacts(compile_project(root), tmp_path / "a")
    write_artifacts(compile_project(root), tmp_path / "b")
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a == b
    assert "manifest.json" in a and "compiled/level_scores.sql" in a


def test_manifest_describes_nodes_edges_and_fingerprints(compiled) -> None:
    m = compiled.manifest
    assert m["schema_version"] == 1
    assert m["benchmark"]["tasks"] == 699
    assert set(m["levels"]) == {"pooled", "per_modality", "strict"}
    assert m["default_level"] == "pooled" and m["default_scope"] == "A"
    node = m["nodes"]["level_scores__per_modality"]
    assert node["depends_on"] == ["group_parts", "group_scores__per_modality", "part_scores__per_modality",
                                  "scope_tasks", "scopes", "task_sota"]
    assert node["public"] is False and m["nodes"]["level_scores"]["public"] is True
    assert ["task_results", "task_wins__strict"] in m["edges"]
    # tasks of the active benchmark, metrics, levels, scopes, tests, benchmarks, models, the quick board's task
    # list, task types
    assert len(m["specs"]["files"]) == 699 + 63 + 3 + 4 + 2 + 2 + 7 + 1 + 16
    assert m["sources"]["tasks"]["rows"] == 699
    json.dumps(m)  # serializable


def test_changed_sota_changes_only_seed_fingerprint(project_dir: Path) -> None:
    before = compile_project(project_dir).manifest
    spec = project_dir / "specs/tasks/nlp/commonsense_reasoning.yaml"
    spec.write_text(spec.read_text().replace("value: 83.33", "value: 84.0"))
    after = compile_project(project_dir).manifest
    assert before["sources"]["tasks"]["fingerprint"] != after["sources"]["tasks"]["fingerprint"]
    assert {k: v["fingerprint"] for k, v in before["nodes"].items()} == \
           {k: v["fingerprint"] for k, v in after["nodes"].items()}
    assert before["fingerprint"] != after["fingerprint"]


@pytest.mark.parametrize("node", ["level_scores__pooled", "level_scores__per_modality", "task_wins__strict",
                                  "group_scores__per_modality", "task_results", "task_outcomes"])
def test_golden_compiled_sql(compiled, node: str) -> None:
    """Set GLC_UPDATE_GOLDEN=1 to regenerate, then review the diff."""
    path = GOLDEN / f"{node}.sql"
    sql = compiled.node(node).sql
    if UPDATE:
        path.write_text(sql)
    assert path.exists(), f"missing golden file {path}; run with GLC_UPDATE_GOLDEN=1"
    assert sql == path.read_text()


def test_pooled_and_per_modality_differ_visibly(compiled) -> None:
    pooled = compiled.node("level_scores__pooled").sql.splitlines()
    per_mod = compiled.node("level_scores__per_modality").sql.splitlines()
    added = [line for line in difflib.unified_diff(pooled, per_mod, lineterm="") if line.startswith("+")]
    text = "\n".join(added)
    # the modalities' levels averaged with equal weight, in any order of the rows (order_free_avg)
    assert "ROUND(\"part_scores__per_modality\".\"level_4\" * 4503599627370496.0)" in text and "equal weight" in text
    groups_p = compiled.node("group_scores__pooled").sql
    groups_m = compiled.node("group_scores__per_modality").sql
    assert "'all' AS \"part\"" in groups_p and "\"g\".\"modality\" AS \"part\"" in groups_m
    assert "> 0, FALSE) AS \"win\"" in compiled.node("task_wins__strict").sql
    assert ">= 0, FALSE) AS \"win\"" in compiled.node("task_wins__pooled").sql


def test_public_contract_is_enforced(project_dir: Path) -> None:
    from glc.compiler.errors import GlcError

    tpl = project_dir / "sql/models/level_scores.sql"
    tpl.write_text(tpl.read_text().replace(" AS s_l,", " AS lang,"))
    with pytest.raises(GlcError) as err:
        compile_project(project_dir)
    assert "its public contract is exactly" in err.value.format()
    assert "sql/models/level_scores.sql" in err.value.format()
