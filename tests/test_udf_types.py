"""``registry.arrow_type`` reads the DuckDB types of UDF signatures without sqlglot: the same Arrow
types as sqlglot's reading of them, and a clear refusal of any other type."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from glc.compiler.udfs.registry import UDFS, arrow_type
from sqlglot import exp


def _by_sqlglot(duck: str) -> Any:
    def of(dt: exp.DataType) -> Any:
        if dt.this in (exp.DType.ARRAY, exp.DType.LIST):
            return pa.list_(of(dt.expressions[0]))
        if dt.this == exp.DType.STRUCT:
            return pa.struct([(f.name, of(f.args["kind"])) for f in dt.expressions])
        return {exp.DType.DOUBLE: pa.float64(), exp.DType.VARCHAR: pa.string(), exp.DType.TEXT: pa.string()}[dt.this]

    return of(exp.DataType.build(duck, dialect="duckdb"))


SIGNATURES = sorted({t for u in UDFS.values() for t in (*u.params, u.returns)})


@pytest.mark.parametrize("duck", [*SIGNATURES, "double", "TEXT[][]", "STRUCT(a DOUBLE, b VARCHAR[])[]",
                                  "STRUCT( x STRUCT(y DOUBLE) , z TEXT )"])
def test_the_same_arrow_type_as_sqlglot_reads(duck: str) -> None:
    assert arrow_type(duck) == _by_sqlglot(duck)


def test_every_registered_signature_has_a_struct_or_list_among_them() -> None:
    kinds = {str(arrow_type(t)).split("<")[0] for t in SIGNATURES}
    assert {"double", "string", "list", "struct"} <= kinds


@pytest.mark.parametrize("duck", ["", "INTEGER", "DOUBLE[", "STRUCT(a)", "STRUCT(a DOUBLE", "STRUCT(a DOUBLE b TEXT)",
                                  "DOUBLE VARCHAR", "MAP(VARCHAR, DOUBLE)", "STRUCT(1a DOUBLE)", "DOUBLE;"])
def test_other_types_are_refused(duck: str) -> None:
    with pytest.raises(ValueError, match="has no Arrow type here"):
        arrow_type(duck)
