"""Helpers the benchmark scripts share."""

from __future__ import annotations

from pathlib import Path

import yaml


def drop_task_list_boards(specs_dir: Path) -> None:
    """Remove scope boards that select a declared task list (the Quick Board) from a copied
    project whose tasks are synthetic: their ids are not in the list."""
    for f in sorted((specs_dir / "scopes").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        kept = [b for b in doc.get("scopes", []) if "task_list" not in b]
        if len(kept) != len(doc.get("scopes", [])):
            doc["scopes"] = kept
            f.write_text(yaml.safe_dump(doc, sort_keys=False))
