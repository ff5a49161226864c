"""``target/manifest.json``: what a compile produced, versioned and fingerprinted.

The manifest holds no timestamps or absolute paths, so two compiles of the same specs give
the same bytes. Fingerprints let ``glc run`` (and users) see what changed: spec files,
seed data, and the canonical SQL of every node.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from glc.compiler.contracts import PUBLIC, SEEDS, STORE
from glc.compiler.data_tests import CompiledDataTest
from glc.compiler.nodes import CompiledNode
from glc.compiler.resolve import Project
from glc.compiler.seeds import Seed

SCHEMA_VERSION = 1


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def build_manifest(project: Project, seeds: dict[str, Seed], nodes: list[CompiledNode],
                   data_tests: list[CompiledDataTest], glc_version: str) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    for name, con in {**SEEDS, **STORE}.items():
        entry: dict[str, Any] = {"kind": con.kind, "description": con.description,
                                 "columns": [{"name": c.name, "type": c.type} for c in con.columns]}
        if name in seeds:
            entry["fingerprint"] = seeds[name].fingerprint()
            entry["rows"] = len(seeds[name].rows)
        sources[name] = entry
    node_entries: dict[str, dict[str, Any]] = {
        n.name: {
            "template": n.template,
            "rendered_for": n.label,
            "materialized": n.kind,
            "partition_by": list(n.incremental.partition_by) if n.incremental else [],
            "udfs": list(n.udfs),
            "path": f"compiled/{n.name}.sql",
            "depends_on": sorted([*n.depends_on, *n.sources]),
            "columns": [{"name": c.name, "type": c.type} for c in n.columns],
            "fingerprint": n.fingerprint,
            "public": n.name in PUBLIC,
        }
        for n in nodes
    }
    edges = sorted([dep, name] for name, e in node_entries.items() for dep in e["depends_on"])
    specs_fp = _sha(json.dumps(project.file_hashes, sort_keys=True))
    body = {
        "schema_version": SCHEMA_VERSION,
        "glc_version": glc_version,
        "benchmark": {"name": project.benchmark.name, "version": project.benchmark.version,
                      "tasks": len(project.tasks), "metrics": len(project.metrics)},
        "levels": [lv.name for lv in project.variants],
        "default_level": project.default_variant.name,
        "scopes": [s.name for s in project.scopes],
        "default_scope": project.default_scope.name,
        "specs": {"fingerprint": specs_fp, "files": project.file_hashes},
        "sources": sources,
        "nodes": node_entries,
        "edges": edges,
        "data_tests": {t.name: {"model": t.model, "severity": t.severity, "path": f"compiled/tests/{t.name}.sql",
                                "fingerprint": _sha(t.sql)} for t in data_tests},
        "unit_tests": sorted(u.spec.name for u in project.unit_tests),
    }
    body["fingerprint"] = _sha(json.dumps({k: v for k, v in body.items() if k != "glc_version"}, sort_keys=True))
    return body


def dumps(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
