"""The per-process cache of the Python source Jinja generates for SQL templates
(``BoundedSandbox.compile``): a template is lexed and parsed once per process, yet what a render
gives, and where an error points, are those of the file that was read."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from glc.compiler import sandbox
from glc.compiler.errors import GlcError
from glc.compiler.render import TemplateRenderer


def _sql_dir(root: Path, text: str) -> Path:
    sql = root / "sql"
    (sql / "models").mkdir(parents=True)
    (sql / "models" / "m.sql").write_text(text)
    return sql


def test_the_same_template_in_two_projects_is_generated_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_GENERATED", type(sandbox._GENERATED)())
    generated: list[str | None] = []
    real = jinja2.Environment._generate

    def counting(self: jinja2.Environment, source: object, name: str | None, *args: object, **kw: object) -> str:
        generated.append(name)
        return real(self, source, name, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.Environment, "_generate", counting)
    text = "SELECT {{ x | sql_literal }} AS v\n"
    for name in ("a", "b"):
        root = tmp_path / name
        out = TemplateRenderer(_sql_dir(root, text), root).render("models/m.sql", {"x": name})
        assert out == f"SELECT '{name}' AS v\n"
    assert generated == ["models/m.sql"]


def test_a_changed_template_is_compiled_again(tmp_path: Path) -> None:
    root = tmp_path / "p"
    sql = _sql_dir(root, "SELECT 1 AS v\n")
    assert TemplateRenderer(sql, root).render("models/m.sql", {}) == "SELECT 1 AS v\n"
    (sql / "models" / "m.sql").write_text("SELECT 2 AS v\n")
    assert TemplateRenderer(sql, root).render("models/m.sql", {}) == "SELECT 2 AS v\n"


def test_an_error_names_the_file_that_was_read_not_the_first_one_cached(tmp_path: Path) -> None:
    text = "SELECT 1\n{{ missing_name }}\n"
    first = tmp_path / "first"
    with pytest.raises(GlcError) as one:
        TemplateRenderer(_sql_dir(first, text), first).render("models/m.sql", {})
    second = tmp_path / "second"
    with pytest.raises(GlcError) as two:
        TemplateRenderer(_sql_dir(second, text), second).render("models/m.sql", {})
    assert one.value.location == two.value.location == "sql/models/m.sql:2"
    assert "missing_name" in str(two.value)


def test_an_environment_without_a_filter_does_not_reuse_code_compiled_with_it(tmp_path: Path) -> None:
    text = "SELECT {{ x | ident }}\n"
    with_filter = sandbox.BoundedSandbox(undefined=jinja2.StrictUndefined)
    with_filter.filters["ident"] = str
    assert with_filter.render(with_filter.from_string(text), {"x": "c"}) == "SELECT c"
    plain = sandbox.BoundedSandbox(undefined=jinja2.StrictUndefined)
    with pytest.raises(jinja2.TemplateAssertionError, match="ident"):
        plain.from_string(text)


def test_a_template_with_a_syntax_error_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_GENERATED", type(sandbox._GENERATED)())
    root = tmp_path / "p"
    with pytest.raises(GlcError, match="syntax") as err:
        TemplateRenderer(_sql_dir(root, "SELECT {% if %}\n"), root).render("models/m.sql", {})
    assert err.value.location == "sql/models/m.sql:1"
    assert not sandbox._GENERATED
