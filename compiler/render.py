"""Render SQL templates with Jinja, sandboxed, strict about undefined names.

Templates may only shape SQL (loops over level variants, table names). Values that come
from specs enter through two filters built on sqlglot: ``sql_literal`` (a quoted literal)
and ``ident`` (a quoted-when-needed identifier); never by pasting raw text.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any

import jinja2
from glc.compiler.errors import GlcError, display_path
from glc.compiler.sandbox import BoundedSandbox
from sqlglot import exp


def sql_literal(value: Any) -> str:
    """A SQL literal for a spec value (strings quoted and escaped by sqlglot)."""
    return exp.convert(value).sql(dialect="duckdb")


def sql_ident(value: Any) -> str:
    """A SQL identifier, quoted by sqlglot when it needs to be."""
    return exp.to_identifier(str(value)).sql(dialect="duckdb")


class ProjectTemplateLoader(jinja2.FileSystemLoader):
    """Jinja's file loader over ``sql/``, reading only regular files whose real path lies inside the
    project: a stranger's ``sql/macros/x.sql`` may be a symbolic link to any file of the machine,
    which ``{% include %}`` would paste into a model's SQL (and the build into the store)."""

    def __init__(self, searchpath: Path, root: Path) -> None:
        super().__init__(str(searchpath))
        self.root = root

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        from glc.compiler.project_files import outside_problem

        pieces = jinja2.loaders.split_template_path(template)
        for searchpath in self.searchpath:
            filename = os.path.join(searchpath, *pieces)
            if os.path.isfile(filename):  # a regular file (a FIFO or a device is not found)
                if (problem := outside_problem(filename, self.root)) is not None:
                    raise jinja2.TemplateError(f"template {template!r} is not read: {problem}")
                break
        return super().get_source(environment, template)


class TemplateRenderer:
    """Renders templates under one ``sql/`` folder; errors name the template file and line."""

    def __init__(self, sql_dir: Path, root: Path) -> None:
        self.sql_dir = sql_dir
        self.root = root
        self.env = BoundedSandbox(
            max_chars=50_000_000, deadline_s=60.0,  # a whole model's SQL, not one prompt
            loader=ProjectTemplateLoader(sql_dir, root),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=False,
        )
        self.env.filters["sql_literal"] = sql_literal
        self.env.filters["ident"] = sql_ident

    def render(self, template: str, context: dict[str, Any]) -> str:
        try:
            return self.env.render(self.env.get_template(template), context)
        except jinja2.TemplateSyntaxError as exc:
            where = display_path(self.sql_dir / template, self.root)
            name = display_path(Path(exc.filename), self.root) if exc.filename else where
            raise GlcError(f"template syntax error: {exc.message}", location=f"{name}:{exc.lineno}",
                           hint="fix the Jinja syntax; templates shape SQL only") from None
        except jinja2.TemplateError as exc:
            line = None
            name = display_path(self.sql_dir / template, self.root)
            for frame in reversed(traceback.extract_tb(exc.__traceback__)):
                if frame.filename and frame.filename.endswith(".sql"):
                    line = frame.lineno
                    name = display_path(Path(frame.filename), self.root)
                    break
            loc = f"{name}:{line}" if line else name
            raise GlcError(f"template error: {exc}", location=loc,
                           hint="templates see: variant, levels; filters: sql_literal, ident") from None
        except MemoryError:
            # the sandbox bounds what a template makes, but what it holds meanwhile (copies of text a loop
            # makes and keeps) can still run the process out of memory: the template's fault, said so
            where = display_path(self.sql_dir / template, self.root)
            raise GlcError("template error: rendering it ran out of memory", location=where,
                           hint="a template shapes SQL: make it build less text (no loop that grows or "
                                "copies long strings)") from None
        except (TypeError, ValueError, ArithmeticError, RecursionError, LookupError) as exc:
            where = display_path(self.sql_dir / template, self.root)
            raise GlcError(f"template error: {type(exc).__name__}: {str(exc)[:300]}", location=where,
                           hint="templates see: variant, levels; filters: sql_literal, ident") from None


def metric_references(sql_dir: Path, root: Path, macro: str) -> tuple[str, ...] | None:
    """The reference kinds a metric macro declares it can score (``{% set references = [...] %}``);
    None when it declares none (any kind)."""
    return macro_references(TemplateRenderer(sql_dir, root), macro)


def macro_references(renderer: TemplateRenderer, macro: str) -> tuple[str, ...] | None:
    """``metric_references`` with a renderer that may have compiled the macro already (a compile
    reads them all with one renderer: each template is compiled once). Macro templates define
    macros and set names at their top level; the globals a render adds (``choice_rules``) are
    read only inside macros, so the module, and the answer, are the same with any renderer."""
    try:
        module = renderer.env.get_template(f"macros/metrics/{macro}.sql").module
    except jinja2.TemplateError:
        return None
    refs = getattr(module, "references", None)
    return tuple(str(r) for r in refs) if isinstance(refs, list | tuple) else None
