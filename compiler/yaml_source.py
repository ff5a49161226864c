"""Safe YAML loading that remembers the line of every key and item.

YAML is parsed with PyYAML's safe loader (the C one when available), so no tag can build a
Python object. Besides the plain data we keep a map from each key path to its 1-based line,
which is how validation errors point at ``file:line``. Duplicate keys, which PyYAML would
silently overwrite, are reported as errors.

Aliases are shared nodes: nine levels of ``&a [*b, *b, ...]`` describe a billion nodes in a few
lines, and everything downstream (the line map, pydantic, JSON dumps) walks the expanded tree.
The expanded size is counted on the node graph before anything is built (each node's size
once, so counting is linear in the file), and a document over ``MAX_NODES`` is refused at the
line where the budget ran out; a recursive alias is refused the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KeyPath = tuple[str | int, ...]

# expanded nodes a spec may have; the largest spec of the 699-task catalog has a few hundred
MAX_NODES = 100_000


@dataclass
class YamlDoc:
    """A loaded YAML document: its data and where each key path starts."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[str, int]] = field(default_factory=list)
    sha256: str = ""

    def line_of(self, loc: KeyPath) -> int | None:
        """Line of the deepest known prefix of ``loc`` (None for an empty document)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class YamlFileRefused(YamlSyntaxError):
    """A YAML file that is not read at all: a link out of the project, a FIFO, a device."""


def _walk(node: yaml.Node, loc: KeyPath, doc: YamlDoc) -> None:
    doc.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            if key in seen:
                doc.duplicate_keys.append((str(key), key_node.start_mark.line + 1))
            seen.add(key)
            doc.lines[(*loc, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*loc, key), doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*loc, i), doc)


def _expanded_sizes(root: yaml.Node) -> tuple[dict[int, int], dict[int, int]]:
    """Node id -> size of its subtree with aliases expanded (saturating above MAX_NODES), and
    node id -> how many collections hold it (more than one: it is an alias target)."""
    sizes: dict[int, int] = {}
    refs: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if done:
            on_path.discard(id(node))
            sizes[id(node)] = min(MAX_NODES + 1, 1 + sum(sizes[id(c)] for c in children))
            continue
        if id(node) in on_path:
            raise YamlSyntaxError("invalid YAML: a recursive alias (an anchor used inside itself)",
                                  node.start_mark.line + 1)
        on_path.add(id(node))
        stack.append((node, True))
        for child in children:
            refs[id(child)] = refs.get(id(child), 0) + 1
            if id(child) in on_path:
                raise YamlSyntaxError("invalid YAML: a recursive alias (an anchor used inside itself)",
                                      child.start_mark.line + 1)
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes, refs


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand past MAX_NODES, at the line where it happens."""
    sizes, refs = _expanded_sizes(root)
    if sizes[id(root)] <= MAX_NODES:
        return
    node, budget = root, MAX_NODES
    while True:  # descend to the collection whose aliases cross the budget
        budget -= 1
        crossing = next((c for c in _children(node) if sizes[id(c)] > budget
                         or (budget := budget - sizes[id(c)]) < 0), None)
        if crossing is None:
            break
        node = crossing
        if refs.get(id(crossing), 0) > 1:  # an anchored collection: its own line builds the excess
            break
    raise YamlSyntaxError(f"invalid YAML: aliases expand the document past {MAX_NODES:,} nodes (an alias bomb?)",
                          node.start_mark.line + 1)


def load_yaml(path: Path, inside: Path | None = None) -> YamlDoc:
    """Load one YAML file safely; raise YamlSyntaxError with the line of the problem. Only a regular
    file is read, and (``inside``: the project's root) only one whose real path lies inside it: a
    spec file may be a stranger's link to any file, ``/dev/zero`` or a FIFO (``project_files``)."""
    from glc.compiler.project_files import ProjectFileError, read_project_file

    try:
        text = read_project_file(path, inside)
    except ProjectFileError as exc:
        raise YamlFileRefused(f"not read: {exc}", None) from None
    if b"\x00" in text:
        raise YamlSyntaxError("invalid YAML: the file contains NUL bytes (is it binary?)", None)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        # without an anchor no alias resolves (PyYAML refuses an undefined one): the document is a
        # tree of at most ~1 node per byte, far below the limit for a short file; only the others
        # need the walk (it was a fifth of a cold compile of the 699 task specs)
        if node is not None and (b"&" in text or 2 * len(text) + 2 > MAX_NODES):
            _check_expansion(node)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or str(exc)
        raise YamlSyntaxError(f"invalid YAML: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"invalid YAML: {exc}", None) from None
    finally:
        loader.dispose()
    doc = YamlDoc(path=path, data=data, sha256=hashlib.sha256(text).hexdigest())
    if node is not None:
        _walk(node, (), doc)
    return doc
