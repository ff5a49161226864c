"""Data tests declared in YAML -> one SQL query each that returns the failing rows.

Generic tests (unique, not_null, accepted_range, relationships) are built as sqlglot
expressions from validated names and numbers. A custom ``sql`` test must be a single SELECT
over known tables; it is qualified like any model, so it cannot read files or other
databases and a typo fails at compile time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from glc.compiler.errors import SpecError
from glc.compiler.suggest import did_you_mean

if TYPE_CHECKING:  # sqlglot and the specs: imported by a compile that builds tests, not by a cached one
    from glc.compiler.loader import Located
    from glc.compiler.spec_models import DataTestSpec
    from sqlglot import exp

DIALECT = "duckdb"
UNIQUE_CANDIDATES = "__glc_repeated_keys"  # the CTE of a unique test: the hashes of keys seen twice


@dataclass(frozen=True)
class CompiledDataTest:
    name: str
    model: str
    severity: str
    sql: str
    description: str
    path: str
    line: int


def _col(name: str, table: str | None = None) -> exp.Column:
    from sqlglot import exp

    return exp.column(name, table=table, quoted=True)


def _query(spec: DataTestSpec) -> exp.Query:
    import sqlglot
    from sqlglot import exp

    table = exp.to_table(spec.model)
    cols = spec.columns
    if spec.type == "unique":
        # the keys that occur more than once, with their count. Grouped first by the keys' hash, one
        # integer, and only the rows whose hash occurs more than once (none, when the test passes)
        # grouped by the keys themselves: the same rows as grouping every row by its keys, in a
        # fraction of the time on a large table (task_scores at 1,000 models: 524,000 (model, task_id)
        # pairs of strings). A collision of two keys' hashes only makes them candidates.
        def more_than_once() -> exp.Expression:
            return exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1))

        def key_hash() -> exp.Func:
            return exp.func("HASH", *[_col(c) for c in cols])

        repeated = (exp.select(exp.alias_(key_hash(), "key_hash")).from_(table.copy()).group_by(key_hash())
                    .having(more_than_once()))
        return (exp.select(*[_col(c) for c in cols], exp.alias_(exp.Count(this=exp.Star()), "n_rows"))
                .from_(table)
                .where(exp.In(this=key_hash(), query=exp.select(_col("key_hash")).from_(UNIQUE_CANDIDATES).subquery()))
                .group_by(*[_col(c) for c in cols]).having(more_than_once())
                .with_(UNIQUE_CANDIDATES, as_=repeated))
    if spec.type == "not_null":
        cond = exp.or_(*[exp.Is(this=_col(c), expression=exp.Null()) for c in cols])
        return exp.select("*").from_(table).where(cond)
    if spec.type == "accepted_range":
        parts: list[exp.Expression] = []
        for c in cols:
            if spec.min is not None:
                parts.append(exp.LT(this=_col(c), expression=exp.convert(spec.min)))
            if spec.max is not None:
                parts.append(exp.GT(this=_col(c), expression=exp.convert(spec.max)))
        return exp.select("*").from_(table).where(exp.or_(*parts))
    if spec.type == "relationships":
        assert spec.to and spec.field
        child, parent = _col(cols[0], "child"), _col(spec.field, "parent")
        return (exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("child")))
                .from_(exp.alias_(table, "child", table=True))
                .join(exp.alias_(exp.to_table(spec.to), "parent", table=True),
                      on=exp.EQ(this=child.copy(), expression=parent.copy()), join_type="left")
                .where(exp.and_(exp.Is(this=parent, expression=exp.Null()),
                                exp.Not(this=exp.Is(this=child, expression=exp.Null())))))
    assert spec.sql is not None
    statements = [s for s in sqlglot.parse(spec.sql, dialect=DIALECT) if s is not None]
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ValueError("a 'sql' test must be exactly one SELECT query that returns the failing rows")
    return statements[0]


def compile_data_tests(tests: tuple[Located[DataTestSpec], ...],
                       schema: dict[str, dict[str, str]]) -> tuple[list[CompiledDataTest], list[SpecError]]:
    """Build and qualify every data test against the tables of the project."""
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.schema import MappingSchema

    out: list[CompiledDataTest] = []
    errors: list[SpecError] = []
    shared: MappingSchema | None = None  # one sqlglot schema for every test (normalizing it per test was
    # most of the work)
    for loc in tests:
        spec = loc.spec
        if spec.model not in schema:
            errors.append(SpecError(loc.path, loc.line, f"data test '{spec.name}' names unknown table '{spec.model}'",
                                    did_you_mean(spec.model, schema) or "name a source table or SQL node"))
            continue
        missing = [c for c in spec.columns if c not in schema[spec.model]]
        if spec.type == "relationships" and spec.to not in schema:
            errors.append(SpecError(loc.path, loc.line, f"data test '{spec.name}' relates to unknown table '{spec.to}'",
                                    did_you_mean(str(spec.to), schema)))
            continue
        if spec.type == "relationships" and spec.field not in schema[str(spec.to)]:
            missing.append(f"{spec.to}.{spec.field}")
        if missing:
            errors.append(SpecError(loc.path, loc.line,
                                    f"data test '{spec.name}': unknown column(s) {', '.join(missing)}",
                                    did_you_mean(missing[0], schema[spec.model])
                                    or "columns of " + spec.model + ": " + ", ".join(schema[spec.model])))
            continue
        try:
            if shared is None:  # a shallow copy: sqlglot types the schema dict[str, object]
                shared = MappingSchema(dict(schema), dialect=DIALECT)
            query = qualify(_query(spec), schema=shared, dialect=DIALECT, validate_qualify_columns=True)
            ctes = {c.alias_or_name for c in query.find_all(exp.CTE)}
            for t in query.find_all(exp.Table):
                if not isinstance(t.this, exp.Identifier) or t.db or t.catalog or (
                        t.name not in schema and t.name not in ctes):
                    raise ValueError(f"reads {t.sql(dialect=DIALECT)!r}, which is not a project table")
        except (SqlglotError, ValueError) as exc:
            errors.append(SpecError(loc.path, loc.line, f"data test '{spec.name}': {exc}",
                                    "custom tests are one SELECT over project tables returning failing rows"))
            continue
        out.append(CompiledDataTest(spec.name, spec.model, spec.severity,
                                    query.sql(dialect=DIALECT, pretty=True) + "\n",
                                    spec.description or "", loc.path, loc.line))
    return out, errors
