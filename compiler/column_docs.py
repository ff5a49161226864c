"""Column docs of SQL nodes: dbt-style YAML next to the templates, checked against compiled columns.

A file ``sql/models/<folder>/<anything>.yml`` holds ``models: [{name, description, columns:
[{name, description}]}]``; each ``name`` is a template ``<name>.sql`` of the same folder, so the
docs of ``sql/models/per_variant/task_wins.sql`` cover every ``task_wins__<variant>`` node.
Files are read with the safe YAML loader and validated with pydantic; every problem is a
``SpecError`` with the file and line. Docs are text for people: they never reach the SQL that is
built, only the comment header ``glc show`` prints and the pages ``glc docs`` writes.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from glc.compiler.errors import SpecError, SpecErrors, display_path
from glc.compiler.loader import parse_doc
from glc.compiler.nodes import CompiledNode
from glc.compiler.suggest import did_you_mean
from glc.compiler.yaml_source import YamlSyntaxError, load_yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

SUFFIXES = (".yml", ".yaml")


def _one_line(value: str) -> str:
    """Plain text on one line: whitespace (line breaks included) collapsed, no control characters,
    so a doc printed after ``--`` stays a comment."""
    flat = " ".join(value.split())
    if not flat:
        raise ValueError("must not be empty")
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in flat):
        raise ValueError("must not contain control characters")
    return flat


Text = Annotated[str, Field(max_length=4000), AfterValidator(_one_line)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnDocSpec(_Doc):
    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=60)]
    description: Text


class ModelDocSpec(_Doc):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
    description: Text
    columns: list[ColumnDocSpec] = Field(min_length=1)


class ColumnDocFile(_Doc):
    models: list[ModelDocSpec] = Field(min_length=1)


@dataclass(frozen=True)
class ModelDocs:
    """The docs of one template (and so of every node rendered from it)."""

    name: str
    template: str  # the SQL template, relative to the project root (as CompiledNode.template)
    path: str  # the YAML file
    line: int
    description: str
    columns: dict[str, str]  # column -> description, in the file's order
    column_lines: dict[str, int]


def load_column_docs(root: Path, sql_dir: Path | None = None) -> dict[str, ModelDocs]:
    """Every column doc file under ``sql/models``, keyed by template path; raises ``SpecErrors``."""
    models_dir = (sql_dir or root / "sql") / "models"
    out: dict[str, ModelDocs] = {}
    errors: list[SpecError] = []
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(models_dir):
        dirnames.sort()
        files += [Path(dirpath) / f for f in sorted(filenames) if f.endswith(SUFFIXES)]
    for file in files:
        rel = display_path(file, root)
        try:
            doc = load_yaml(file, inside=root)
        except YamlSyntaxError as exc:
            errors.append(SpecError(rel, exc.line, exc.message, "fix the YAML syntax at that line"))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(SpecError(rel, None, f"cannot read column docs: {exc}"))
            continue
        spec, problems = parse_doc(doc, ColumnDocFile, rel)
        errors += problems
        if spec is None:
            continue
        templates = sorted(p.stem for p in file.parent.glob("*.sql"))
        for i, model in enumerate(spec.models):
            line = doc.line_of(("models", i, "name")) or 1
            template = display_path(file.parent / f"{model.name}.sql", root)
            if model.name not in templates:
                errors.append(SpecError(rel, line,
                                        f"column docs for '{model.name}', but there is no template {template}",
                                        did_you_mean(model.name, templates)
                                        or "name a template of the same folder: " + ", ".join(templates)))
                continue
            if template in out:
                first = out[template]
                errors.append(SpecError(rel, line, f"'{model.name}' is documented twice",
                                        f"also at {first.path}:{first.line}; keep one entry"))
                continue
            columns: dict[str, str] = {}
            lines: dict[str, int] = {}
            for j, col in enumerate(model.columns):
                col_line = doc.line_of(("models", i, "columns", j, "name")) or line
                if col.name in columns:
                    errors.append(SpecError(rel, col_line, f"column '{col.name}' of '{model.name}' is documented twice",
                                            f"first at line {lines[col.name]}"))
                    continue
                columns[col.name] = col.description
                lines[col.name] = col_line
            out[template] = ModelDocs(model.name, template, rel, line, model.description, columns, lines)
    if errors:
        raise SpecErrors(errors)
    return out


def docs_for(node: CompiledNode, docs: dict[str, ModelDocs]) -> ModelDocs | None:
    return docs.get(node.template)


def column_doc_problems(nodes: Iterable[CompiledNode], docs: dict[str, ModelDocs]) -> list[SpecError]:
    """Columns a documented node has without a doc, and docs of columns no node of the template has."""
    problems: list[SpecError] = []
    seen: dict[str, set[str]] = {}
    for node in nodes:
        d = docs_for(node, docs)
        if d is None:
            continue
        names = [c.name for c in node.columns]
        seen.setdefault(d.template, set()).update(names)
        for name in names:
            if name not in d.columns:
                problems.append(SpecError(d.path, d.line, f"column '{name}' of node '{node.name}' has no doc",
                                          f"add it under the columns of '{d.name}'"))
    for template, present in seen.items():
        d = docs[template]
        for name, line in d.column_lines.items():
            if name not in present:
                problems.append(SpecError(d.path, line, f"'{d.name}' has no column '{name}'",
                                          did_you_mean(name, sorted(present)) or "remove the entry"))
    return problems


def annotate_sql(sql: str, d: ModelDocs, width: int = 100) -> str:
    """``sql`` with the docs as ``--`` comment lines after its leading comment header."""
    lines = sql.splitlines(keepends=True)
    head = 0
    while head < len(lines) and lines[head].startswith("--"):
        head += 1
    block = textwrap.wrap(f"docs ({d.path}): {d.description}", width - 3, initial_indent="-- ",
                          subsequent_indent="-- ")
    block.append("-- columns:")
    for name, text in d.columns.items():
        block += textwrap.wrap(f"{name}: {text}", width - 5, initial_indent="--   ", subsequent_indent="--     ")
    return "".join(lines[:head]) + "".join(b + "\n" for b in block) + "".join(lines[head:])
