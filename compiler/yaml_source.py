"""Safe YAML loading that remembers the line of every key and item.

YAML is parsed with PyYAML's safe loader (the C one when available), so no tag can build a
Python object. Besides the plain data we keep a map from each key path to its 1-based line,
which is how validation errors point at ``file:line``. Duplicate keys, which PyYAML would
silently overwrite, are reported as errors.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KeyPath = tuple[str | int, ...]


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


def load_yaml(path: Path) -> YamlDoc:
    """Load one YAML file safely; raise YamlSyntaxError with the line of the problem."""
    text = path.read_bytes()
    if b"\x00" in text:
        raise YamlSyntaxError("invalid YAML: the file contains NUL bytes (is it binary?)", None)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
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
