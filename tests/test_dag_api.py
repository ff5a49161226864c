"""The compiled DAG as a typed API: materializations as classes, one build strategy per class
(DuckDB and Spark), hooks around a build, manifest lookups instead of built node names, the
typed node through the compiled-project cache, and no node-name building outside the compiler."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import duckdb
import orjson
import pytest
from glc.compiler.contracts import SEEDS, STATE, Column
from glc.compiler.errors import GlcError
from glc.compiler.materialization import FanOut, Incremental, Materialization, Table, View
from glc.compiler.nodes import CompiledNode
from glc.compiler.plan import CompiledProject
from glc.compiler.project_cache import _node_field, _restore_node

from glc.engine import build as build_mod
from glc.engine import spark as spark_mod
from glc.engine.build import BuildContext, Strategy, build
from glc.engine.hooks import BuildHook, HookContext, default_hooks

REPO = Path(__file__).resolve().parents[1]


def _node(name: str, sql: str, materialization: Materialization, *, depends_on: tuple[str, ...] = (),
          sources: tuple[str, ...] = (), columns: tuple[str, ...] = ("x",), fan_out: FanOut | None = None
          ) -> CompiledNode:
    return CompiledNode(name, f"sql/models/{name}.sql", None, sql, depends_on, sources,
                        tuple(Column(c, "ANY") for c in columns), materialization, (), fan_out or FanOut(name))


def _project(*nodes: CompiledNode) -> CompiledProject:
    # the build reads nodes, seeds, schema and the manifest's fingerprint; no specs needed
    return CompiledProject(None, {}, tuple(nodes), (), {"fingerprint": "test"})  # type: ignore[arg-type]


def _store() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(SEEDS["tasks"].ddl())  # incremental planning joins the tasks seed
    return con


def _kinds(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT table_name, table_type FROM information_schema.tables "
                            "WHERE table_schema = 'main'").fetchall())


TABLE = _node("t1", "SELECT 1 AS x", Table())
VIEW = _node("v1", "SELECT x + 1 AS x FROM t1", View(), depends_on=("t1",))
INCR = _node("i1", "SELECT model, task_id FROM prediction_partitions", Incremental(("model", "task_id")),
             sources=("prediction_partitions",), columns=("model", "task_id"))


# --- strategies ----------------------------------------------------------------------------------


def test_each_kind_is_built_by_its_strategy() -> None:
    con = _store()
    first = build(con, _project(TABLE, VIEW, INCR), snapshot=False)
    kinds = _kinds(con)
    assert (kinds["t1"], kinds["v1"], kinds["i1"]) == ("BASE TABLE", "VIEW", "BASE TABLE")
    assert first.built == ["t1", "v1", "i1"]
    assert con.execute("SELECT x FROM v1").fetchall() == [(2,)]
    again = build(con, _project(TABLE, VIEW, INCR), snapshot=False)
    assert again.built == [] and again.skipped == ["t1", "v1", "i1"]


def test_dispatch_is_by_materialization_type(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str, str]] = []

    def recording(base: type[Strategy], label: str) -> type[Strategy]:
        class Recording(base):  # type: ignore[valid-type, misc]
            def prepare(self, ctx: BuildContext, nodes: list[CompiledNode]) -> None:
                seen.append((label, "prepare", ",".join(n.name for n in nodes)))
                super().prepare(ctx, nodes)

            def run(self, ctx: BuildContext, node: CompiledNode) -> bool:
                seen.append((label, "run", node.name))
                return bool(super().run(ctx, node))

        return Recording

    for kind, base in list(build_mod.STRATEGIES.items()):
        monkeypatch.setitem(build_mod.STRATEGIES, kind, recording(base, kind.kind))
    build(_store(), _project(TABLE, VIEW, INCR), snapshot=False)
    assert sorted(x for x in seen if x[1] == "prepare") == [
        ("incremental", "prepare", "i1"), ("table", "prepare", "t1"), ("view", "prepare", "v1")]
    assert [x for x in seen if x[1] == "run"] == [("table", "run", "t1"), ("view", "run", "v1"),
                                                  ("incremental", "run", "i1")]


@dataclass(frozen=True)
class Ephemeral(Materialization):
    kind: ClassVar[str] = "ephemeral"


def test_a_kind_without_strategy_is_a_clear_error_and_builds_nothing() -> None:
    con = _store()
    odd = _node("e1", "SELECT 1 AS x", Ephemeral())
    with pytest.raises(GlcError) as err:
        build(con, _project(TABLE, odd), snapshot=False)
    assert "model 'e1': no build strategy for materialization 'ephemeral'" in str(err.value)
    assert err.value.location == "sql/models/e1.sql"
    assert "t1" not in _kinds(con)  # checked before anything was built
    with pytest.raises(GlcError, match="no build strategy"):
        build_mod.strategy_class(odd, spark_mod.STRATEGIES)


def test_spark_has_a_strategy_per_kind() -> None:
    assert set(spark_mod.STRATEGIES) == set(build_mod.STRATEGIES) == {Table, View, Incremental}
    assert build_mod.strategy_class(TABLE, spark_mod.STRATEGIES) is spark_mod.SparkTableStrategy
    assert build_mod.strategy_class(VIEW, spark_mod.STRATEGIES) is spark_mod.SparkViewStrategy
    assert build_mod.strategy_class(INCR, spark_mod.STRATEGIES) is spark_mod.SparkIncrementalStrategy


def test_spark_table_strategy_skips_what_its_key_says_is_built() -> None:
    keys: dict[str, str] = {}
    plan = spark_mod._Plan(duckdb.connect(), spark_mod.SparkBuildResult(run_id="r"), {}, keys, None)
    step = spark_mod.SparkTableStrategy().step(plan, TABLE)
    assert step is not None and step.mode == "whole" and step.node is TABLE
    plan.state["t1"] = (keys["t1"], "/nowhere")
    assert spark_mod.SparkTableStrategy().step(plan, TABLE) is None
    assert spark_mod.SparkViewStrategy().step(plan, TABLE) is None  # a view is a table on Spark


# --- hooks ---------------------------------------------------------------------------------------


class Recorder(BuildHook):
    def __init__(self, name: str, log: list[tuple[str, str, tuple[str, ...]]]) -> None:
        self.name, self.log = name, log

    def start(self, ctx: HookContext) -> None:
        self.log.append((self.name, "start", tuple(ctx.rebuilt)))

    def before_results_replaced(self, ctx: HookContext) -> None:
        self.log.append((self.name, "before_results_replaced", tuple(ctx.rebuilt)))

    def after_build(self, ctx: HookContext) -> None:
        self.log.append((self.name, "after_build", tuple(ctx.rebuilt)))


RESULTS_NODES = (
    _node("task_outcomes", "SELECT 'm' AS model, 't' AS task_id, 0.5 AS sigma, 1 AS vs_sota", Table(),
          columns=("model", "task_id", "sigma", "vs_sota")),
    _node("level_scores", "SELECT 'm' AS model, 'v' AS variant, 's' AS scope, 1.0 AS level_2, 2.0 AS level_3, "
          "3.0 AS level_4, 4.0 AS level_5, 2 AS level FROM task_outcomes", Table(), depends_on=("task_outcomes",),
          columns=("model", "variant", "scope", "level_2", "level_3", "level_4", "level_5", "level")),
)


def test_hooks_are_called_in_order_around_the_build() -> None:
    log: list[tuple[str, str, tuple[str, ...]]] = []
    build(_store(), _project(TABLE, *RESULTS_NODES), hooks=[Recorder("a", log), Recorder("b", log)])
    assert log == [
        ("a", "start", ()), ("b", "start", ()),
        # once, before the first result table is replaced (t1 is built, task_outcomes not yet)
        ("a", "before_results_replaced", ("t1",)), ("b", "before_results_replaced", ("t1",)),
        ("a", "after_build", ("t1", "task_outcomes", "level_scores")),
        ("b", "after_build", ("t1", "task_outcomes", "level_scores")),
    ]


def test_no_hook_event_for_results_when_they_are_not_rebuilt() -> None:
    con = _store()
    build(con, _project(*RESULTS_NODES), hooks=[])
    log: list[tuple[str, str, tuple[str, ...]]] = []
    build(con, _project(*RESULTS_NODES), hooks=[Recorder("a", log)])
    assert [e for _, e, _ in log] == ["start", "after_build"]


def test_default_hooks_drop_intervals_then_keep_the_run() -> None:
    con = _store()
    first = build(con, _project(*RESULTS_NODES))  # lazy: both results are tables
    con.execute(STATE["level_intervals"].ddl(replace=True))
    changed = replace(RESULTS_NODES[0], sql=RESULTS_NODES[0].sql.replace("0.5", "0.25"))
    second = build(con, _project(changed, RESULTS_NODES[1]))
    assert "level_intervals" not in _kinds(con)  # results changed: intervals of the old ones dropped
    assert con.execute("SELECT run_id, sigma FROM glc_run_tasks").fetchall() == [(first.run_id, 0.5)]
    assert con.execute("SELECT state_key FROM glc_node_state WHERE node = 'snapshot:live'").fetchall() == [
        (second.run_id,)]
    assert [type(h).__name__ for h in default_hooks(lazy=True)] == ["DropStaleIntervals", "RunSnapshot"]


# --- manifest lookups ----------------------------------------------------------------------------

FANNED = _project(
    _node("task_wins__pooled", "SELECT 1 AS x", View(), fan_out=FanOut("task_wins", variant="pooled")),
    _node("task_wins__strict", "SELECT 1 AS x", View(), fan_out=FanOut("task_wins", variant="strict")),
    _node("instance_scores__bleu", "SELECT 1 AS x", Incremental(("x",), "bleu"),
          fan_out=FanOut("instance_scores", metric="bleu")),
    _node("leaderboard", "SELECT 1 AS x", View()),
)


def test_lookup_by_variant_metric_and_name() -> None:
    assert FANNED.node("task_wins", variant="strict").name == "task_wins__strict"
    assert FANNED.node("instance_scores", metric="bleu").name == "instance_scores__bleu"
    assert FANNED.node("leaderboard").name == "leaderboard"
    assert [n.variant for n in FANNED.nodes_of("task_wins")] == ["pooled", "strict"]
    assert FANNED.nodes_of("nothing") == ()
    assert FANNED.find("task_wins", variant="nope") is None and FANNED.find("leaderboard") is not None


def test_lookup_of_an_absent_node_is_a_clear_error() -> None:
    with pytest.raises(GlcError) as err:
        FANNED.node("task_wins", variant="strikt")
    assert "no node of template 'task_wins' (level variant 'strikt')" in str(err.value)
    assert "strict" in (err.value.hint or "")
    with pytest.raises(GlcError, match="no such template"):
        FANNED.node("task_winz", variant="pooled")
    with pytest.raises(GlcError, match="metric 'rouge'"):
        FANNED.node("instance_scores", metric="rouge")
    with pytest.raises(GlcError, match="unknown node 'task_wins'"):
        FANNED.node("task_wins")  # a fanned-out template is no node by itself


def test_the_compiled_catalog_carries_typed_nodes(compiled: CompiledProject) -> None:
    v = compiled.project.default_variant.name
    wins = compiled.node("task_wins", variant=v)
    assert isinstance(wins.materialization, View) and wins.variant == v and wins.model == "task_wins"
    metric = next(m.name for m in compiled.project.metrics if m.implementation)
    scores = compiled.node("instance_scores", metric=metric)
    assert isinstance(scores.materialization, Incremental)
    assert scores.materialization.metric == metric and scores.materialization.partition_by == ("model", "task_id")
    predicted = compiled.node("predicted_scores")
    assert isinstance(predicted.materialization, Incremental)
    assert set(predicted.materialization.sources) >= {n.name for n in compiled.nodes_of("instance_scores")}
    # sql/models/level_scores.sql and sql/models/per_variant/level_scores.sql share a name: the
    # first is the node called level_scores, the others are asked for by variant
    variants = {n.variant for n in compiled.nodes_of("level_scores")}
    assert variants == {None, *(lv.name for lv in compiled.project.variants)}
    assert compiled.node("level_scores").template == "sql/models/level_scores.sql"
    assert compiled.node("level_scores", variant=v).template == "sql/models/per_variant/level_scores.sql"
    assert compiled.manifest["nodes"][wins.name]["materialized"] == "view"


# --- branches of a UNION ALL over empty tables ---------------------------------------------------

UNION = ("/* one row per source */\n"
         "SELECT x FROM a UNION ALL SELECT x FROM b WHERE x > 0 UNION ALL SELECT x + 1 FROM (SELECT x FROM c) "
         "UNION ALL SELECT a.x FROM a JOIN b ON a.x = b.x UNION ALL SELECT CAST(NULL AS INT) AS x WHERE FALSE")


def _compiled(text: str, *, sources: tuple[str, ...] = ("a", "b", "c")) -> CompiledNode:
    from glc.compiler import nodes as nodes_mod

    schema = {**nodes_mod.source_schema(), **{s: {"x": "INT"} for s in sources}}
    model = nodes_mod.RenderedModel("u", "sql/models/u.sql", None, text)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nodes_mod, "source_schema", lambda: dict(schema))
        (node,) = nodes_mod.compile_models([model])
    return node


def test_the_compiler_names_the_one_table_each_union_branch_reads() -> None:
    """Per branch of a top-level UNION ALL, in the text's order: its one plain table, or "" for a
    branch over a subquery, a join or no table; nothing for other queries (a UNION that removes
    duplicates, a CTE over the union, one SELECT)."""
    assert _compiled(UNION).union_sources == ("a", "b", "", "", "")
    assert _compiled("SELECT x FROM main.a UNION ALL SELECT x FROM b").union_sources == ("", "b")
    # a branch that gives a row over an empty table is never left out: an aggregate without GROUP BY
    # (count(*) is 0, not no row), HAVING alone, ROLLUP's grand total, a function sqlglot does not know
    one_row = ["SELECT count(*) AS x FROM b", "SELECT 1 AS x FROM b HAVING TRUE",
               "SELECT count(*) AS x FROM b GROUP BY ROLLUP (x)", "SELECT count(*) AS x FROM b GROUP BY ALL",
               "SELECT some_aggregate(x) AS x FROM b"]
    for branch in one_row:
        text = f"SELECT x FROM a UNION ALL {branch}"
        assert _compiled(text).union_sources == ("a", ""), branch
        assert duckdb.sql(branch.replace("FROM b", "FROM (SELECT 1 AS x WHERE FALSE)")
                          .replace("some_aggregate", "max")).fetchall(), branch  # DuckDB gives it a row
    assert _compiled("SELECT x FROM a UNION ALL SELECT x FROM b GROUP BY x").union_sources == ("a", "b")
    for other in ("SELECT x FROM a UNION SELECT x FROM b", "SELECT x FROM a",
                  "WITH w AS (SELECT x FROM a) SELECT x FROM w UNION ALL SELECT x FROM b",
                  "SELECT x FROM a UNION ALL SELECT x FROM b ORDER BY x"):
        assert _compiled(other).union_sources == (), other


def test_branches_over_empty_tables_are_left_out_of_an_insert_with_the_same_rows() -> None:
    node = _compiled(UNION)
    con = duckdb.connect()
    con.execute("CREATE TABLE a (x INT); CREATE TABLE b (x INT); CREATE TABLE c (x INT)")
    con.execute("INSERT INTO a VALUES (1), (2); INSERT INTO c VALUES (5)")
    con.execute(build_mod.create_table_sql(node, data=False))  # the table gets the union's types
    kept = build_mod.union_branches(node, {"b"})
    assert kept is not None and len(kept) == 4 and not any('FROM "b"' in k for k in kept if "JOIN" not in k)
    assert kept[0].startswith(node.sql.split("\n", 1)[0])  # the node's header stays
    con.execute(build_mod.insert_sql(node, {"b"}))
    left_out = sorted(con.execute("SELECT x FROM u").fetchall())
    con.execute("DELETE FROM u")
    con.execute(build_mod.insert_sql(node))
    assert sorted(con.execute("SELECT x FROM u").fetchall()) == left_out == [(1,), (2,), (6,)]
    # every branch over a plain table empty: the typed branch that reads none is left
    assert len(build_mod.union_branches(node, {"a", "b"}) or []) == 3
    # a table only joined or read through a subquery keeps its branch; nothing empty, nothing cut
    assert build_mod.union_branches(node, {"c"}) is None and build_mod.insert_sql(node) == \
        f'INSERT INTO "u"\n{node.sql}'
    # text that does not cut into the branches the compiler found is run as it is
    odd = replace(node, sql=node.sql.replace("\nUNION ALL\n", "\nUNION ALL\n\nUNION ALL\n", 1))
    assert build_mod.union_branches(odd, {"b"}) is None


def test_branches_left_are_cast_to_the_table_as_the_whole_union_casts_them() -> None:
    """Each branch left is inserted on its own: its values are cast straight to the table's types
    (the whole union's), not first to the common type of the branches left. Here BIGINT and FLOAT
    meet in FLOAT (123456789 becomes 123456792), and with the DOUBLE branch in DOUBLE."""
    text = "SELECT x FROM big UNION ALL SELECT x FROM small UNION ALL SELECT x FROM wide"
    node = _compiled(text, sources=("big", "small", "wide"))
    assert node.union_sources == ("big", "small", "wide")
    con = duckdb.connect()
    con.execute("CREATE TABLE big (x BIGINT); CREATE TABLE small (x FLOAT); CREATE TABLE wide (x DOUBLE)")
    con.execute("INSERT INTO big VALUES (123456789); INSERT INTO small VALUES (0.5)")
    con.execute(build_mod.create_table_sql(node, data=False))
    assert con.execute("SELECT data_type FROM duckdb_columns() WHERE table_name = 'u'").fetchall() == [("DOUBLE",)]
    con.execute(build_mod.insert_sql(node))
    whole = sorted(con.execute("SELECT x FROM u").fetchall())
    con.execute("DELETE FROM u")
    con.execute(build_mod.insert_sql(node, {"wide"}))
    assert sorted(con.execute("SELECT x FROM u").fetchall()) == whole == [(0.5,), (123456789.0,)]
    one_union = "INSERT INTO u " + "\nUNION ALL\n".join(build_mod.union_branches(node, {"wide"}) or [])
    con.execute("DELETE FROM u")
    con.execute(one_union)  # what a single statement of the branches left would have stored
    assert sorted(con.execute("SELECT x FROM u").fetchall()) == [(0.5,), (123456792.0,)]


# --- the compiled-project cache -----------------------------------------------------------------


@pytest.mark.parametrize("node", [TABLE, VIEW, INCR, *FANNED.nodes, _node(
    "s", "SELECT 1 AS x", Incremental(("model", "task_id"), "bleu", ("a", "b"))),
    replace(_node("u", "SELECT x FROM a UNION ALL SELECT x FROM b", Table()), union_sources=("a", "b"))],
    ids=lambda n: n.name)
def test_typed_node_round_trips_through_json(node: CompiledNode) -> None:
    doc = orjson.loads(orjson.dumps({f: _node_field(node, f) for f in node.__dataclass_fields__}))
    back = _restore_node(doc)
    assert back == node
    assert type(back.materialization) is type(node.materialization)


def test_an_unknown_kind_in_a_cache_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown materialization kind"):
        Materialization.from_json({"kind": "pickle"})


# --- node names are the compiler's ---------------------------------------------------------------


def test_no_node_names_are_built_outside_the_compiler() -> None:
    """Node names (``task_wins__pooled``) are made by compiler/plan.py only; glc/ asks the manifest
    (``compiled.node("task_wins", variant=v)``) instead of pasting ``f"task_wins__{v}"`` or testing
    a prefix such as ``"instance_scores__"``."""
    built = re.compile(r"__\{")
    prefix = re.compile(r"""["'][a-z][a-z0-9_]*__["']""")
    found = []
    for path in sorted((REPO / "glc").rglob("*.py")):
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if built.search(line) or prefix.search(line):
                found.append(f"{path.relative_to(REPO)}:{no}: {line.strip()}")
    assert found == []


def test_the_source_scan_would_see_a_built_name() -> None:
    line = 'con.execute(f"SELECT * FROM task_wins__{v}")'
    assert re.search(r"__\{", line) and re.search(r"""["'][a-z][a-z0-9_]*__["']""", 'x.startswith("instance_scores__")')
