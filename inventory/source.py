"""Safe YAML reading that remembers the line of every value.

Only the plain YAML types are accepted. Any explicit tag (`!!python/object`, `!custom`),
anchors and aliases, and duplicate keys are errors: an inventory is data, never code, and a
reader must see each value where it stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from storestack.inventory.errors import InventoryError, InventoryIssue

Loc = tuple[str | int, ...]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
_SCALARS = yaml.constructor.SafeConstructor()
MAX_FILE_BYTES = 1_000_000


@dataclass
class SourceDocument:
    """One parsed file: its data, and the line of every mapping key and sequence item."""

    display: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """The line of `loc`, or of its nearest ancestor that has one."""
        while loc:
            line = self.lines.get(loc)
            if line is not None:
                return line
            loc = loc[:-1]
        return self.lines.get((), 1)


class _Walker:
    def __init__(self, display: str) -> None:
        self.display = display
        self.lines: dict[Loc, int] = {}
        self.seen: set[int] = set()
        self.issues: list[InventoryIssue] = []

    def fail(self, node: yaml.Node, loc: Loc, message: str) -> None:
        self.issues.append(InventoryIssue(self.display, node.start_mark.line + 1, _dotted(loc), message))

    def walk(self, node: yaml.Node, loc: Loc) -> Any:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if id(node) in self.seen:
            self.fail(node, loc, "YAML anchors and aliases are not allowed in an inventory")
            return None
        self.seen.add(id(node))
        if node.tag not in _PLAIN_TAGS:
            self.fail(node, loc, f"YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')!r} is not allowed")
            return None
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                    self.fail(key_node, loc, "mapping keys must be plain scalars")
                    continue
                key = _SCALARS.construct_object(key_node)
                if isinstance(key, bool | float) or key is None:
                    key = key_node.value
                if key in result:
                    self.fail(key_node, (*loc, key), f"duplicate key {key!r}")
                    continue
                self.lines[(*loc, key)] = key_node.start_mark.line + 1
                result[key] = self.walk(value_node, (*loc, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, (*loc, index)) for index, item in enumerate(node.value)]
        return _SCALARS.construct_object(node)


def _dotted(loc: Loc) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def dotted(loc: Loc) -> str:
    """`('lan', 'pos', 'vlan')` → `lan.pos.vlan`; `('wan', 0, 'isp')` → `wan[0].isp`."""
    return _dotted(loc)


def read_document(path: Path, display: str) -> SourceDocument:
    """Parse one inventory file. Raises InventoryError naming the file and line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InventoryError([InventoryIssue(display, 0, "", f"cannot read file: {exc.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InventoryError([InventoryIssue(display, 0, "", f"file is larger than {MAX_FILE_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InventoryError([InventoryIssue(display, 0, "", f"not UTF-8 text ({exc.reason})")]) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise InventoryError(
            [InventoryIssue(display, line, "", f"YAML syntax error: {exc.problem}")]
        ) from None
    except yaml.YAMLError as exc:
        raise InventoryError([InventoryIssue(display, 0, "", f"YAML error: {exc}")]) from None
    if node is None:
        raise InventoryError([InventoryIssue(display, 1, "", "file is empty")])
    walker = _Walker(display)
    data = walker.walk(node, ())
    if walker.issues:
        raise InventoryError(walker.issues)
    if not isinstance(data, dict):
        raise InventoryError([InventoryIssue(display, 1, "", "top level must be a mapping")])
    return SourceDocument(display, data, walker.lines)
