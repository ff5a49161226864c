"""Translation of compiled DuckDB SQL to Spark SQL (compiler/dialects.py) and the spark target's
profile, without starting Spark: what is refused, how regular expressions translate, and the
error a machine without pyspark gets. tests/test_spark.py runs the translations on Spark."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from glc.compiler.dialects import (
    CHECKED,
    INT,
    TEXT,
    DuckDBAsWritten,
    RegexError,
    T,
    regex_to_java,
    replacement_to_java,
    translate,
)
from glc.compiler.errors import GlcError
from glc.compiler.plan import compile_project
from helpers.project import REPO, copy_project

from glc.profiles import load_target

_COUNTS = T("struct", (("n", INT), ("l", T("list", (TEXT,)))))
SCHEMA: dict[str, dict[str, T | None]] = {"t": {"s": TEXT, "l": T("list", (TEXT,)), "u": None,
                                               "st": _COUNTS, "sl": T("list", (_COUNTS,))}}


def flat(sql: str) -> str:
    return re.sub(r"\s+", "", sql)


def spark(expr: str) -> str:
    """The Spark SQL of ``SELECT <expr> AS c FROM t``, without white space."""
    import sqlglot
    from sqlglot import exp

    query = exp.select(sqlglot.parse_one(expr, read=DuckDBAsWritten).as_("c")).from_("t")
    return flat(translate("q", query.sql(DuckDBAsWritten), "spark", SCHEMA).sql)


@pytest.mark.parametrize(("re2", "java"), [
    (r"\p{Han}\p{L}", r"\p{IsHan}\p{L}"),  # scripts need Is in Java; categories do not
    (r"[\p{Hiragana}\p{N}]", r"[\p{IsHiragana}\p{N}]"),
    (r"\s+", r"[\t\n\f\r ]+"),  # RE2's \s has no vertical tab
    (r"[^\s,]", r"[^\t\n\f\r ,]"),
    (r"a.b", r"a[^\n]b"),  # RE2's dot stops at \n only
    (r"x$", r"x\z"),  # RE2's $ is the end of the text only
    (r"(?i)answer", r"(?iu)answer"),  # RE2 folds Unicode case
    (r"[a&&b]", r"[a\&\&b]"),  # && intersects classes in Java only
    (r"[[:alpha:]]", r"[\p{Alpha}]"),
    (r"(?P<n>x)", r"(?<n>x)"),
    (r"\v", r"\x0B"),
])
def test_regex_translation(re2: str, java: str) -> None:
    assert regex_to_java(re2)[0] == java


def test_word_boundary_is_ascii() -> None:
    java, groups = regex_to_java(r"\b(the)\b")
    assert groups == 1
    assert re.sub(java, "[\\1]", "éthe the") == "é[the] [the]"  # Python's re agrees with RE2 here


@pytest.mark.parametrize("bad", [r"(a)\1", r"(?s).", r"(?m)^x", r"\p{Any}", "[abc", r"\C"])
def test_untranslatable_regexes_are_refused(bad: str) -> None:
    with pytest.raises(RegexError):
        regex_to_java(bad)


def test_replacement_translation() -> None:
    assert replacement_to_java(r" \1 \2$", 2) == r" $1 $2\$"  # Java reads \1 as a literal 1, $ as a group
    assert replacement_to_java(r"\\", 0) == r"\\"
    with pytest.raises(RegexError):
        replacement_to_java(r"\10", 10)  # group 1 then 0 in RE2, group 10 in Java


def test_constructs_that_mean_something_else_are_rewritten() -> None:
    assert "TRY_ELEMENT_AT(t.l,1)" in spark("t.l[1]")  # not l[0], and NULL out of range
    assert "TRY_ELEMENT_AT(t.l,CAST(NULLIF(LENGTH(t.s),0)ASINT))" in spark("t.l[length(t.s)]")  # l[0] is NULL
    assert "SLICE(t.l,2,GREATEST((ARRAY_SIZE(t.l))-(2)+1,0))" in spark("t.l[2:]")
    assert "ARRAY_SIZE(t.l)" in spark("length(t.l)") and "LENGTH(t.s)" in spark("length(t.s)")
    assert "(x,i)->(i+1)" in spark("list_transform(t.l, lambda x, i: i)")  # from 1 in DuckDB, 0 in Spark
    assert spark("2.0 * length(t.s) / 7").startswith("--dialect:spark(translatedfromDuckDBbycompiler/dialects.py)"
                                                      "SELECTCAST(2.0ASDOUBLE)*LENGTH(t.s)/7")  # not DECIMAL
    assert "WHENLENGTH(t.s)=0THEN(1)*CAST('Infinity'ASDOUBLE)" in spark("1 / length(t.s)")  # IEEE, no error
    assert "REGEXP_REPLACE(t.s,'(x)','$1')" in spark(r"regexp_replace(t.s, '(x)', '\1', 'g')")
    assert "MAP('ignoreNullFields','false')" in spark("to_json({'a': t.s})")
    assert "MAP_FROM_ENTRIES" in spark("list_aggregate(t.l, 'histogram')")
    assert "COLLECT_LIST(STRUCT(t.sASv))" in spark("array_agg(t.s)")  # NULLs keep their place
    # the first match only: the text up to its end is the one match
    assert "REGEXP_REPLACE(t.s,'\\\\A((?s:.*?))(a(x))','$1<$4>')" in spark(r"regexp_replace(t.s, 'a(x)', '<\2>')")
    assert r"'\\x{3000}'" in spark(r"regexp_replace(t.s, '\x{3000}', '', 'g')")
    assert "LATERALVIEWEXPLODE(t.l)" in flat(translate("q", "SELECT UNNEST(t.l) AS x FROM t", "spark", SCHEMA).sql)
    assert "INLINE(ARRAYS_ZIP(COALESCE(t.l,ARRAY()),COALESCE(t.l,ARRAY())))" in flat(translate(
        "q", "SELECT UNNEST(t.l) AS x, UNNEST(t.l) AS y FROM t", "spark", SCHEMA).sql)
    assert "ARRAY_SORT(COLLECT_LIST(STRUCT(t.sASv,t.sASk0))" in spark("array_agg(t.s ORDER BY t.s DESC)")
    assert "AGGREGATE(FILTER(t.l" in spark("list_avg(t.l)")
    assert "CAST(BROUND(LENGTH(t.s)/3)ASINT)" in spark("CAST(length(t.s) / 3 AS INTEGER)")  # half to even
    assert "CAST(LENGTH(t.s)ASINT)" in spark("CAST(length(t.s) AS INTEGER)")
    assert "FROM_JSON(t.s,'ARRAY<STRING>')" in spark("TRY(CAST(JSON(t.s) AS TEXT[]))")


def test_structs_are_built_and_read_by_field_name() -> None:
    """Per-instance statistics are STRUCTs (sql/macros/metrics/*.sql): built with DuckDB's {'name': x}
    (Spark: STRUCT(x AS name)) and read by field, on a column (source.column.field once qualified),
    on a CTE's column, or on a lambda variable; the field's type is known for what needs it."""
    assert "STRUCT(t.sASa,CAST(LENGTH(t.s)ASDOUBLE)ASb)" in spark("{'a': t.s, 'b': CAST(length(t.s) AS DOUBLE)}")
    assert "SUM(t.st.n)" in spark("SUM(t.st.n)")
    # a list field subscripted: typed through the STRUCT, so the 1-based index is translated
    assert "TRY_ELEMENT_AT(t.st.l,1)" in spark("t.st.l[1]")
    assert "ARRAY_SIZE(t.st.l)" in spark("length(t.st.l)")
    assert "TRANSFORM(FILTER(t.sl,c->c.n>0),c->ARRAY_SIZE(c.l))" in spark(
        "list_transform(list_filter(t.sl, lambda c: c.n > 0), lambda c: length(c.l))")
    cte = translate("q", "WITH p AS (SELECT t.st AS k FROM t) SELECT p.k.l[2] AS x FROM p", "spark", SCHEMA).sql
    assert "TRY_ELEMENT_AT(p.k.l,2)" in flat(cte)
    with pytest.raises(GlcError, match=re.escape("a subscript of a value of type STRUCT(n int, l text[])")):
        spark("t.st[1]")  # a STRUCT is read by name, never by position
    with pytest.raises(GlcError, match=re.escape("LENGTH of a value of type unknown")):
        spark("length(t.st.nope)")  # no such field: its type is unknown, never a guess


@pytest.mark.parametrize(("expr", "why"), [
    ("regexp_replace(t.s, 'a', 'b', 'gm')", "options other than g, i and c"),
    ("regexp_replace(t.s, '(a)(b)(c)(d)(e)(f)(g)(h)', '1')", "starts with a digit"),  # $1 then 1: group 11
    ("regexp_replace(t.s, '(a)\\1', 'b', 'g')", "backreferences"),
    ("string_agg(t.s, ',')", "GroupConcat"),  # a construct nobody checked on Spark
    ("t.u[1]", "type unknown"),  # list or map? never a guess
    ("length(t.u)", "LENGTH of a value of type unknown"),
    ("list_aggregate(t.l, 'max')", "other than 'histogram'"),
    ("try_cast(t.s AS INTEGER)", "TRY_CAST to INT"),
    ("str_split(t.s, t.s)", "not a literal"),
    ("array_agg(t.s) OVER (PARTITION BY t.s)", "OVER"),
    ("array_agg(t.s ORDER BY t.u)", "ordered by a value of type unknown"),
    ("length(t.s) // 2.0", "not both of an integer type"),  # DuckDB's // divides DOUBLEs exactly
    ("round(t.s, 2)", "ROUND with digits"),
    ("CAST(t.s AS INTEGER)", "CAST of a value of type text to INT"),
    ("TRY(length(t.s))", "TRY other than"),
    ("CAST(JSON(t.s) AS TEXT[])", "JSON() other than"),
    ("list_transform(t.l, lambda x: UNNEST(t.l))", "UNNEST other than in the SELECT list"),
    ("count(UNNEST(t.l))", "UNNEST other than in the SELECT list"),
    ("list_distinct(t.l)", "reaches a column of the node"),  # DuckDB's order is its hash table's
    ("list_intersect(t.l, t.l)[1]", "whose order (DuckDB's hash order) matters"),
])
def test_unchecked_constructs_are_refused(expr: str, why: str) -> None:
    with pytest.raises(GlcError, match=re.escape(why)) as info:
        spark(expr)
    assert "compiler/dialects.py" in (info.value.hint or "")


@pytest.mark.parametrize("catalog", [pytest.param(True, id="catalog", marks=pytest.mark.slow),  # all 699 tasks
                                     pytest.param(False, id="small")])
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_every_node_of_the_project_translates_with_checked_constructs_only(tmp_path: Path, catalog: bool) -> None:
    root = REPO if catalog else copy_project(tmp_path / "p", small=True)
    compiled = compile_project(root, benchmark="general-bench")
    from glc.compiler.dialects import translate_nodes

    out = translate_nodes(compiled.nodes, "spark")
    assert set(out) == {n.name for n in compiled.nodes}
    bleu = out["instance_scores__bleu4"].sql
    assert "-- dialect: spark" in bleu and "LIST_AGGREGATE" not in bleu and "TRY_ELEMENT_AT" in bleu
    assert all("LIST_" not in t.sql for t in out.values())  # no DuckDB list function left
    assert len(CHECKED) > 50


def _spark_profile(root: Path, body: str) -> None:
    prof = root / "profiles.yml"
    prof.write_text(prof.read_text().replace("targets:\n", "targets:\n" + textwrap.indent(body, "  "), 1))


def test_spark_profile(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "p", small=True)
    _spark_profile(root, "cluster:\n  type: spark\n  path: target/{benchmark}.duckdb\n  master: local[2]\n"
                         "  warehouse: target/spark/{benchmark}\n  concurrency: 3\n  conf: {spark.driver.memory: 1g, "
                         "spark.sql.shuffle.partitions: 2}\n")
    target = load_target(root, "cluster", "general-bench")
    assert target.type == "spark" and target.spark is not None
    assert target.spark.master == "local[2]"
    assert target.spark.warehouse == str((root / "target/spark/general-bench").resolve())
    assert dict(target.spark.conf) == {"spark.driver.memory": "1g", "spark.sql.shuffle.partitions": "2"}
    assert target.spark.concurrency == 3
    assert load_target(root, "dev", "general-bench").type == "duckdb"


@pytest.mark.parametrize(("body", "message"), [
    ("s:\n  type: spark\n  path: x.duckdb\n  warehouse: w\n", "needs 'master'"),
    ("s:\n  type: duckdb\n  path: x.duckdb\n  master: local[2]\n", "belong to a target of type: spark"),
    ("s:\n  type: duckdb\n  path: x.duckdb\n  concurrency: 2\n", "belong to a target of type: spark"),
    ("s:\n  type: spark\n  path: x.duckdb\n  master: local[2]\n  warehouse: /tmp/elsewhere\n",
     "outside the project"),
    ("s:\n  type: postgres\n  path: x\n", "duckdb|spark"),
])
def test_bad_spark_profiles(tmp_path: Path, body: str, message: str) -> None:
    root = copy_project(tmp_path / "p", small=True)
    _spark_profile(root, body)
    with pytest.raises(GlcError, match=re.escape(message)):
        load_target(root, "s", "general-bench")


@pytest.mark.slow  # several glc processes
def test_without_pyspark_a_spark_target_says_what_to_install(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "p", small=True)
    _spark_profile(root, "s:\n  type: spark\n  path: target/s.duckdb\n  master: local[2]\n  warehouse: target/w\n")
    code = ("import sys; sys.modules['pyspark'] = None  # as on a machine without it\n"
            "from glc.workspace import Workspace\n"
            "from glc.compiler.errors import GlcError\n"
            f"ws = Workspace({str(root)!r}, target='s')\n"
            "try:\n    ws.run()\nexcept GlcError as exc:\n    print(exc.format())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "needs pyspark, which is not installed" in out.stdout
    assert "pip install 'glc[spark]'" in out.stdout and "openjdk-17-jre-headless" in out.stdout
    # the DuckDB target of the same project still builds without it
    code_duck = code.replace("target='s'", "target='dev'") + "else:\n    print('built')\n"
    out = subprocess.run([sys.executable, "-c", code_duck], capture_output=True, text=True, timeout=300)
    assert "built" in out.stdout, out.stdout + out.stderr
