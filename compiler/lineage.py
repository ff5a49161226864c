"""Column-level lineage through the compiled DAG, computed with sqlglot.

Each model is analysed on its own (``sqlglot.lineage`` over its qualified SQL, which is
fast), giving the upstream (table, column) pairs a column is computed from; these are then
followed node by node down to the source tables: SoTA and task rows (seeds), imported
scores, instances and predictions (store). Results are memoized per (table, column).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlglot
from glc.compiler.contracts import SEEDS, STORE
from glc.compiler.plan import CompiledProject
from glc.compiler.resolve import lookup
from sqlglot import exp
from sqlglot.lineage import lineage as sqlglot_lineage

DIALECT = "duckdb"


@dataclass
class ColumnLineage:
    table: str
    column: str
    kind: str  # model, seed or store
    inputs: list[ColumnLineage] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "column": self.column, "kind": self.kind,
                "inputs": [i.to_json() for i in self.inputs]}

    def sources(self) -> set[tuple[str, str]]:
        """The source-table columns at the bottom of the tree."""
        if not self.inputs:
            return {(self.table, self.column)}
        return set().union(*(i.sources() for i in self.inputs))

    def render(self) -> str:
        lines: list[str] = []
        seen: set[tuple[str, str]] = set()

        def walk(node: ColumnLineage, depth: int) -> None:
            key = (node.table, node.column)
            label = f"{'  ' * depth}{node.table}.{node.column}"
            if node.kind != "model":
                label += f"  [{node.kind}]"
            if key in seen and node.inputs:
                lines.append(label + "  (see above)")
                return
            seen.add(key)
            lines.append(label)
            for child in node.inputs:
                walk(child, depth + 1)
        walk(self, 0)
        return "\n".join(lines)


class LineageIndex:
    """Answers lineage questions about one compiled project."""

    def __init__(self, compiled: CompiledProject) -> None:
        self.compiled = compiled
        self.schema = compiled.schema()
        self.nodes = {n.name: n for n in compiled.nodes}
        self._trees: dict[str, exp.Expr] = {}
        self._memo: dict[tuple[str, str], ColumnLineage] = {}

    def _direct_inputs(self, table: str, column: str) -> list[tuple[str, str]]:
        tree = self._trees.get(table)
        if tree is None:
            tree = self._trees[table] = sqlglot.parse_one(self.nodes[table].sql, dialect=DIALECT)
        root = sqlglot_lineage(column, tree, schema=self.schema, dialect=DIALECT)
        found: list[tuple[str, str]] = []
        for leaf in root.walk():
            if leaf.downstream or not isinstance(leaf.source, exp.Table):
                continue
            pair = (leaf.source.name, leaf.name.split(".")[-1].strip('"'))
            if pair[0] in self.schema and pair not in found:
                found.append(pair)
        return sorted(found)

    def column(self, table: str, column: str) -> ColumnLineage:
        key = (table, column)
        if key in self._memo:
            return self._memo[key]
        if table in SEEDS or table in STORE:
            node = ColumnLineage(table, column, "seed" if table in SEEDS else "store")
        else:
            node = ColumnLineage(table, column, "model")
            self._memo[key] = node  # set before recursing: the DAG has no cycles, but share subtrees
            node.inputs = [self.column(t, c) for t, c in self._direct_inputs(table, column)]
        self._memo[key] = node
        return node


def column_lineage(compiled: CompiledProject, ref: str) -> ColumnLineage:
    """Lineage of ``TABLE.COLUMN`` (e.g. ``level_scores.level_4``) down to source tables."""
    from glc.compiler.errors import GlcError

    table, sep, column = ref.partition(".")
    if not sep:
        raise GlcError(f"'{ref}' is not TABLE.COLUMN", hint="for example level_scores.level_4")
    index = LineageIndex(compiled)
    columns = lookup(table, index.schema, "table")
    lookup(column, columns, f"column of {table}")
    return index.column(table, column)
