"""Rendered SQL -> parsed, qualified, canonical SQL nodes with dependencies and columns.

Each model is parsed by sqlglot right after rendering, its table references become the
DAG's edges, and it is qualified against the source contracts plus the output columns of
the models it reads, so a wrong column fails here with the template's name. The canonical
pretty-printed text is what ``target/compiled/`` holds and what is hashed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glc.compiler.cache_files import keep_newest, mark_used
from glc.compiler.contracts import PUBLIC, Column, source_schema
from glc.compiler.errors import GlcError
from glc.compiler.materialization import FanOut, Incremental, Materialization, Table, View, from_config
from glc.compiler.suggest import did_you_mean
from glc.compiler.udfs.names import UDF_NAMES  # the names only: the UDF modules import numpy

if TYPE_CHECKING:  # sqlglot is imported by the functions that parse: a cached compile needs none of it
    from sqlglot import exp

DIALECT = "duckdb"


@dataclass(frozen=True)
class RenderedModel:
    name: str
    template: str  # path relative to the project root
    label: str | None  # which spec a per-variant or per-metric node was rendered for
    text: str
    config: dict[str, Any] = field(default_factory=dict)
    fan_out: FanOut | None = None  # None: rendered once, named after its template


@dataclass(frozen=True)
class CompiledNode:
    name: str
    template: str
    label: str | None  # which spec a per-variant or per-metric node was rendered for
    sql: str
    depends_on: tuple[str, ...]  # models
    sources: tuple[str, ...]  # source tables (seeds and stores)
    columns: tuple[Column, ...]  # the declared output schema (typed for public tables)
    materialization: Materialization = Table()  # Table, View or Incremental (compiler/materialization.py)
    udfs: tuple[str, ...] = ()
    fan_out: FanOut | None = None  # template and level variant / metric it was rendered for; None: FanOut(name)
    # a query that is a chain of UNION ALL: per branch (in the order of the text), the one table it
    # reads, or "" (a branch that reads none, several, or anything but plain tables); () otherwise
    union_sources: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def model(self) -> str:
        """The template's name (``task_wins`` for ``task_wins__pooled``)."""
        return self.fan_out.model if self.fan_out is not None else self.name

    @property
    def variant(self) -> str | None:
        return self.fan_out.variant if self.fan_out is not None else None

    @property
    def metric(self) -> str | None:
        return self.fan_out.metric if self.fan_out is not None else None

    @property
    def kind(self) -> str:
        """The materialization's name, for listings and the manifest (executors dispatch on the type)."""
        return self.materialization.kind

    @property
    def incremental(self) -> Incremental | None:
        return self.materialization if isinstance(self.materialization, Incremental) else None


def parse_model(model: RenderedModel) -> exp.Query:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        statements = [s for s in sqlglot.parse(model.text, dialect=DIALECT) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        line = first.get("line")
        raise GlcError(f"SQL parse error in model '{model.name}': {first.get('description', exc)}",
                       location=f"{model.template}:{line}" if line else model.template,
                       hint="line numbers count in the rendered SQL; see glc show for the text") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise GlcError(f"model '{model.name}' must be exactly one SELECT query", location=model.template)
    return statements[0]


def table_refs(tree: exp.Expr) -> set[str]:
    """Names of the tables a query reads, CTE names excluded."""
    from sqlglot import exp

    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}


@dataclass(frozen=True)
class _Qualified:
    """What sqlglot makes of one model, given its text and the schema of what it reads."""

    columns: tuple[str, ...]
    body: str
    udfs: tuple[str, ...]
    union_sources: tuple[str, ...] = ()


class CompileCache:
    """sqlglot's work per model (parse -> table refs; qualify -> columns, canonical SQL), memoized.

    Parsing, qualifying and pretty-printing 68 models is most of a compile and gives the same
    answer for the same input, so answers are kept by the content they depend on: the rendered
    text (refs), plus the name, the schema of the tables it reads and its public contract
    (qualified SQL), plus sqlglot's version and this module's source. Kept in memory for the
    process and, when a path is given, in a JSON file (data only, never code; in the user's
    cache folder, see ``compile_cache_path``) that a later process reads back. Errors are never
    cached: a broken model is compiled again and reported.
    """

    FORMAT = 2

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.refs: dict[str, tuple[str, ...]] = {}
        self.qualified: dict[str, _Qualified] = {}
        self.used: set[str] = set()
        self.dirty = False
        self.on_file: set[str] = set()  # keys the file held when read
        if path is not None:
            self._load(path)
            self.on_file = set(self.refs) | set(self.qualified)

    def _load(self, path: Path) -> None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("format") != self.FORMAT or doc.get("salt") != _salt():
                return
            self.refs = {k: tuple(v) for k, v in doc["refs"].items()}
            self.qualified = {k: _Qualified(tuple(v["columns"]), v["body"], tuple(v["udfs"]),
                                            tuple(v["union_sources"]))
                              for k, v in doc["qualified"].items()}
            mark_used(path)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self.refs, self.qualified = {}, {}  # a missing or damaged cache is just empty

    def save(self) -> None:
        """Write what this compile used (so the file never grows past one project's models)."""
        if self.path is None or not (self.dirty or self.used - self.on_file):
            return
        doc = {"format": self.FORMAT, "salt": _salt(),
               "refs": {k: list(v) for k, v in self.refs.items() if k in self.used},
               "qualified": {k: {"columns": list(q.columns), "body": q.body, "udfs": list(q.udfs),
                                 "union_sources": list(q.union_sources)}
                             for k, q in self.qualified.items() if k in self.used}}
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")  # two processes may save at once
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(doc, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:  # a cache: a compile that cannot keep it still compiled
            tmp.unlink(missing_ok=True)
            return
        keep_newest(self.path.parent)


def compile_cache_path(root: Path) -> Path:
    """Where the compile cache of project ``root`` lives: in the user's cache folder, outside the
    project, so a project received from someone else cannot bring compiled SQL of its own."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "glc" / "compile" / f"{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:20]}.json"


@functools.cache
def _salt() -> str:
    import sqlglot

    return hashlib.sha256((sqlglot.__version__ + DIALECT + Path(__file__).read_text(encoding="utf-8")).encode()
                          ).hexdigest()[:16]


_PROCESS_CACHE = CompileCache()  # shared by every compile of this process (tests compile many copies)


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def compile_models(models: list[RenderedModel], cache: CompileCache | None = None) -> list[CompiledNode]:
    """Parse, order, qualify and canonicalize; nodes come back in dependency order."""
    cache = cache or CompileCache()
    for k, known_refs in _PROCESS_CACHE.refs.items():  # the process memo fills the gaps of a file cache
        cache.refs.setdefault(k, known_refs)
    for k, known_done in _PROCESS_CACHE.qualified.items():
        cache.qualified.setdefault(k, known_done)
    schema = source_schema()
    by_name = {m.name: m for m in models}
    text_keys = {m.name: _key(_salt(), m.text) for m in models}
    trees: dict[str, exp.Query] = {}
    deps: dict[str, set[str]] = {}
    source_deps: dict[str, set[str]] = {}
    known = set(schema) | set(by_name)
    for name in by_name:
        tkey = text_keys[name]
        if tkey not in cache.refs:
            trees[name] = parse_model(by_name[name])
            cache.refs[tkey] = tuple(sorted(table_refs(trees[name])))
            cache.dirty = True
        cache.used.add(tkey)
        refs = set(cache.refs[tkey])
        for ref in sorted(refs - known):
            raise GlcError(f"model '{name}' reads unknown table '{ref}'", location=by_name[name].template,
                           hint=did_you_mean(ref, sorted(known)) or "known tables: " + ", ".join(sorted(known)))
        deps[name] = refs & set(by_name)
        source_deps[name] = refs - set(by_name)
    try:
        order = list(TopologicalSorter({n: sorted(d) for n, d in sorted(deps.items())}).static_order())
    except CycleError as exc:
        raise GlcError(f"models depend on each other in a cycle: {' -> '.join(exc.args[1])}",
                       hint="a model may not read itself through other models") from None

    nodes: list[CompiledNode] = []
    built: dict[str, CompiledNode] = {}
    shared: Any = None  # sqlglot MappingSchema of the sources and the models compiled so far
    for name in order:
        model = by_name[name]
        contract = PUBLIC.get(name)
        reads = {t: schema[t] for t in sorted(deps[name] | source_deps[name])}
        qkey = _key(text_keys[name], name, reads, [(c.name, c.type) for c in contract.columns] if contract else None)
        hit = cache.qualified.get(qkey)
        if hit is None:
            if shared is None:  # one sqlglot schema for every model (normalizing it per model cost ~10 %)
                from sqlglot.schema import MappingSchema

                shared = MappingSchema(dict(schema), dialect=DIALECT)
            hit = _qualify(model, trees.get(name) or parse_model(model), shared)
            cache.qualified[qkey] = hit
            cache.dirty = True
        done = hit
        cache.used.add(qkey)
        # types are declared for public tables only; inferring them for every model would cost
        # more than the rest of the compile
        declared = {c.name: c.type for c in contract.columns} if contract else {}
        columns = tuple(Column(c, declared.get(c, "ANY")) for c in done.columns)
        if contract is not None and [c.name for c in columns] != contract.column_names:
            raise GlcError(f"model '{name}' has columns {[c.name for c in columns]}",
                           location=model.template,
                           hint=f"its public contract is exactly {contract.column_names}")
        schema[name] = {c.name: c.type for c in columns}
        if shared is not None:
            shared.add_table(name, schema[name], dialect=DIALECT)
        udfs = list(done.udfs)
        unknown_udfs = [u for u in udfs if u not in UDF_NAMES]
        if unknown_udfs:
            raise GlcError(f"model '{name}' calls unknown function(s) {unknown_udfs}", location=model.template,
                           hint=did_you_mean(unknown_udfs[0], UDF_NAMES) or "registered: " + ", ".join(UDF_NAMES))
        materialization = from_config(model.config, name, model.template, {col.name for col in columns})
        header = f"-- node: {name}\n-- template: {model.template}\n"
        if model.label:
            header += f"-- {model.label}\n"
        if isinstance(materialization, View):
            header += "-- materialized: view (its rows follow its inputs; rebuilt only when its SQL changes)\n"
        elif isinstance(materialization, Incremental):
            header += f"-- materialized: incremental, partitioned by {', '.join(materialization.partition_by)}\n"
        if udfs:
            header += f"-- python UDFs: {', '.join(udfs)} (compiler/udfs/registry.py)\n"
        body = done.body
        if isinstance(materialization, Incremental):
            # upstream models partitioned the same way: read their stale partitions
            sources = materialization.sources
            sources += tuple(d for d in sorted(deps[name]) if (up := built[d].incremental) is not None
                             and up.partition_by == materialization.partition_by and d not in sources)
            materialization = Incremental(materialization.partition_by, materialization.metric, sources)
        built[name] = CompiledNode(name, model.template, model.label, header + body + "\n",
                                   tuple(sorted(deps[name])), tuple(sorted(source_deps[name])), columns,
                                   materialization, tuple(udfs), model.fan_out or FanOut(name), done.union_sources)
        nodes.append(built[name])
    _PROCESS_CACHE.refs.update(cache.refs)
    _PROCESS_CACHE.qualified.update(cache.qualified)
    cache.save()
    return nodes


def _qualify(model: RenderedModel, tree: exp.Query, schema: Any) -> _Qualified:
    """Qualify one parsed model against the schema (GlcError naming its template when it fails)."""
    from sqlglot import exp
    from sqlglot.errors import OptimizeError, SqlglotError
    from sqlglot.optimizer.qualify import qualify

    try:
        # a sqlglot schema, or a dict (shallow-copied: sqlglot types it dict[str, object])
        qualified = qualify(tree, schema=dict(schema) if isinstance(schema, dict) else schema, dialect=DIALECT,
                            validate_qualify_columns=True)
    except (OptimizeError, SqlglotError) as exc:
        raise GlcError(f"model '{model.name}': {exc}", location=model.template,
                       hint="columns are checked against the table contracts (compiler/contracts.py) "
                            "and the models a query reads") from None
    udfs = sorted({f.name.lower() for f in qualified.find_all(exp.Anonymous) if f.name.lower().startswith("glc_")})
    return _Qualified(tuple(sel.alias_or_name for sel in qualified.selects),
                      qualified.sql(dialect=DIALECT, pretty=True, copy=False), tuple(udfs), _union_sources(qualified))


def _union_sources(tree: exp.Query) -> tuple[str, ...]:
    """Per branch of a top-level chain of UNION ALL (in the order of the text), the one table the
    branch reads, or "" when it reads none, several, one named with its schema, or any through a
    subquery or CTE; () when the query is not such a chain. The engine leaves out a branch over a
    table it knows holds no rows (``union_branches`` in glc/engine/build.py)."""
    from sqlglot import exp

    branches: list[exp.Expr] = []
    node: exp.Expr = tree
    while type(node) is exp.Union:
        if any(v for k, v in node.args.items() if k not in ("this", "expression")):  # DISTINCT, BY NAME, ORDER BY ...
            return ()
        branches.append(node.expression)
        node = node.this
    if not branches:
        return ()
    out = []
    for branch in (node, *reversed(branches)):
        if not isinstance(branch, exp.Select):
            return ()
        tables = list(branch.find_all(exp.Table))
        nested = any(q is not branch for q in branch.find_all(exp.Query))
        plain = (len(tables) == 1 and not tables[0].args.get("db") and not tables[0].args.get("catalog")
                 and not nested and not branch.args.get("joins") and not branch.args.get("with_"))
        out.append(tables[0].name if plain and _no_rows_from_no_rows(branch) else "")
    return tuple(out)


def _no_rows_from_no_rows(select: exp.Select) -> bool:
    """Whether the SELECT gives no rows when its table has none: grouped by plain expressions, or
    with no aggregate at all. An aggregate without GROUP BY (or with HAVING alone, GROUP BY ALL
    over aggregates only, an empty grouping set, ROLLUP or CUBE) gives one row even then; a
    function sqlglot does not know might be such an aggregate."""
    from sqlglot import exp

    group = select.args.get("group")
    if group is not None:
        keys = group.expressions
        return (bool(keys) and not any(v for k, v in group.args.items() if k != "expressions")
                and not any(isinstance(k, (exp.Rollup, exp.Cube, exp.GroupingSets, exp.Tuple, exp.Paren))
                            for k in keys))
    return select.args.get("having") is None and select.find(exp.AggFunc, exp.Anonymous) is None
