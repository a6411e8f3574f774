"""FortiOS-style configuration: `config` blocks holding `set` attributes and `edit` entries.

config system interface
    edit "port1"
        set ip 10.0.0.1 255.255.255.0
        config ipv6
            set ip6-address ::/0
        end
    next
end
"""

from __future__ import annotations

import copy
import shlex
from dataclasses import dataclass, field

# Attributes FortiOS shows as `unset <name>` when they have no value (prefix-list rules' ge/le);
# the emulator keeps them with this marker instead of dropping them.
SHOWN_UNSET = frozenset({"ge", "le"})
UNSET = "\x00unset"


def unset_attribute(attributes: dict[str, str], name: str) -> None:
    if name in SHOWN_UNSET:
        attributes[name] = UNSET
    else:
        attributes.pop(name, None)


def attribute_line(key: str, value: str) -> str:
    return f"unset {key}" if value == UNSET else f"set {key} {value}"


@dataclass
class FortiEntry:
    attributes: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, FortiBlock] = field(default_factory=dict)


@dataclass
class FortiBlock:
    attributes: dict[str, str] = field(default_factory=dict)
    entries: dict[str, FortiEntry] = field(default_factory=dict)
    blocks: dict[str, FortiBlock] = field(default_factory=dict)


Scope = FortiBlock | FortiEntry


def unquote(token: str) -> str:
    return token[1:-1] if len(token) >= 2 and token[0] == token[-1] == '"' else token


def quote(name: str) -> str:
    return name if name.isdigit() else f'"{name}"'


def split_words(line: str) -> list[str]:
    try:
        return shlex.split(line, posix=False)
    except ValueError:
        return line.split()


class FortiConfig:
    def __init__(self, text: str = "") -> None:
        self.root = FortiBlock()
        if text:
            self.load(text)

    def copy(self) -> FortiConfig:
        clone = FortiConfig()
        clone.root = copy.deepcopy(self.root)
        return clone

    def load(self, text: str) -> None:
        self.root = FortiBlock()
        stack: list[Scope] = [self.root]
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = split_words(line)
            verb = words[0]
            scope = stack[-1]
            if verb == "config":
                path = " ".join(words[1:])
                block = scope.blocks.setdefault(path, FortiBlock())
                stack.append(block)
            elif verb == "edit" and isinstance(scope, FortiBlock):
                name = unquote(" ".join(words[1:]))
                stack.append(scope.entries.setdefault(name, FortiEntry()))
            elif verb in ("next", "end") and len(stack) > 1:
                stack.pop()
            elif verb == "set" and len(words) >= 3:
                scope.attributes[words[1]] = " ".join(words[2:])
            elif verb == "unset" and len(words) == 2:
                unset_attribute(scope.attributes, words[1])

    def render(self, path: str | None = None) -> str:
        lines: list[str] = []
        blocks = self.root.blocks
        if path is not None:
            selected = {
                key: value for key, value in blocks.items() if key == path or key.startswith(path + " ")
            }
            blocks = selected
        for block_path, block in blocks.items():
            self._render_block(block_path, block, 0, lines)
        return "\n".join(lines) + ("\n" if lines else "")

    def _render_block(self, path: str, block: FortiBlock, depth: int, lines: list[str]) -> None:
        pad = "    " * depth
        lines.append(f"{pad}config {path}")
        for key, value in block.attributes.items():
            lines.append(f"{pad}    {attribute_line(key, value)}")
        for sub_path, sub in block.blocks.items():
            self._render_block(sub_path, sub, depth + 1, lines)
        for name, entry in block.entries.items():
            lines.append(f"{pad}    edit {quote(name)}")
            for key, value in entry.attributes.items():
                lines.append(f"{pad}        {attribute_line(key, value)}")
            for sub_path, sub in entry.blocks.items():
                self._render_block(sub_path, sub, depth + 2, lines)
            lines.append(f"{pad}    next")
        lines.append(f"{pad}end")

    def attribute(self, path: str, key: str) -> str | None:
        block = self.root.blocks.get(path)
        if block is None:
            return None
        value = block.attributes.get(key)
        return unquote(value) if value is not None and value != UNSET else None
