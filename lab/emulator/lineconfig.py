"""Hierarchical running config for line-oriented CLIs (IOS-XE, Huawei VRP).

A config is a tree of lines. A line either opens a section (`interface …`, `router bgp …`,
`bgp …`) or is a statement in the current section. Negation (`no …` / `undo …`) removes the
matching statement or section; a negation with nothing to remove is kept as a statement, as
IOS shows `no ip http server`. Some statements replace an earlier one with the same key
(`hostname`, `description`, `ip address` …) instead of adding a second line.

This is an emulation for tests, not a parser of the vendors' grammars: which lines open
sections, which are global-only and which replace one another is declared per dialect, in the
platform's emulator profile (`lab/emulator/profiles/`).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field


@dataclass
class ConfigNode:
    text: str
    children: list[ConfigNode] = field(default_factory=list)

    def find(self, text: str) -> ConfigNode | None:
        for child in self.children:
            if child.text == text:
                return child
        return None


@dataclass(frozen=True)
class LineDialect:
    negation: str
    # Section openers: parent section keyword ("" = top level) → prefixes that open a child section.
    openers: dict[str, tuple[str, ...]]
    # Keywords that only exist at top level: typed inside a section they leave it (as IOS does).
    global_only: frozenset[str]
    # Every keyword accepted at top level; anything else is rejected with the vendor's error.
    top_keywords: frozenset[str]
    # Statements whose first N words are a key: a new value replaces the old one.
    replace_keys: tuple[tuple[str, int], ...]
    # Lines that leave one section level / leave a nested section by name.
    exit_words: frozenset[str]
    section_end_markers: dict[str, str]
    comment_prefixes: tuple[str, ...]
    separator: str
    # (statement, holder): a statement typed in a section that holds a `holder` line is shown
    # indented below that line, though the holder opens no mode (IOS: `service-policy` under
    # `shape average` in a policy-map class).
    shown_under: tuple[tuple[str, str], ...] = ()
    # Statements whose key is what a pattern matches from their start: a new one replaces the one
    # with the same key though the texts differ (VRP: a secret's statement up to the secret, whose
    # stored form is salted anew each time it is applied).
    keyed_by: tuple[re.Pattern[str], ...] = ()
    # Global-only lines known by their first words where the first word alone also begins
    # lines of a view (VRP: `ip ip-prefix` is a system-view line, `ip address` an interface's).
    global_lines: tuple[str, ...] = ()
    # Statements that restore a default the running config shows by no line (IOS: `ip redirects`
    # after `no ip redirects`): typed, they cancel their negation and are not kept themselves.
    shown_by_no_line: frozenset[str] = frozenset()

    def is_global(self, text: str) -> bool:
        """Whether `text` (no negation) is a global-only line: typed in a view, it leaves it."""
        words = text.split()
        if not words:
            return False
        return words[0] in self.global_only or any(text == p or text.startswith(p + " ") for p in self.global_lines)

    def holder_of(self, parent: ConfigNode, text: str) -> ConfigNode | None:
        for statement, holder in self.shown_under:
            if text == statement or text.startswith(statement + " "):
                return next((c for c in parent.children if c.text.startswith(holder + " ")), None)
        return None

    def section_kind(self, text: str) -> str:
        for kinds in self.openers.values():
            for prefix in kinds:
                if text == prefix or text.startswith(prefix + " "):
                    return prefix
        return text.split()[0] if text.split() else ""

    def opens_section(self, context: list[ConfigNode], text: str) -> bool:
        parent_kind = self.section_kind(context[-1].text) if context else ""
        return any(text == p or text.startswith(p + " ") for p in self.openers.get(parent_kind, ()))

    def opens_top_section(self, text: str) -> bool:
        return any(text == p or text.startswith(p + " ") for p in self.openers.get("", ()))

    def replace_key(self, text: str) -> str | None:
        for pattern in self.keyed_by:
            found = pattern.match(text)
            if found is not None:
                return found.group(0)
        words = text.split()
        for prefix, length in self.replace_keys:
            if (text == prefix or text.startswith(prefix + " ")) and len(words) >= length:
                if prefix == "ip address" and words[-1] == "secondary":
                    return None
                return " ".join(words[:length])
        return None


class LineConfig:
    """A running config as a tree, plus the cursor of one editing session (`context`)."""

    def __init__(self, dialect: LineDialect, text: str = "") -> None:
        self.dialect = dialect
        self.root = ConfigNode(text="")
        if text:
            self.load(text)

    def copy(self) -> LineConfig:
        clone = LineConfig(self.dialect)
        clone.root = copy.deepcopy(self.root)
        return clone

    # -- loading and rendering -----------------------------------------------------------

    def load(self, text: str) -> None:
        """Replace the tree by the config in `text` (indentation gives the hierarchy)."""
        self.root = ConfigNode(text="")
        stack: list[tuple[int, ConfigNode]] = [(-1, self.root)]
        for raw in text.splitlines():
            stripped = raw.strip()
            if not stripped or stripped.startswith(self.dialect.comment_prefixes):
                continue
            if stripped in ("end", "return") or stripped in self.dialect.section_end_markers.values():
                continue
            indent = len(raw) - len(raw.lstrip(" "))
            while stack[-1][0] >= indent:
                stack.pop()
            node = ConfigNode(text=stripped)
            stack[-1][1].children.append(node)
            stack.append((indent, node))

    def render_lines(self) -> list[str]:
        lines: list[str] = []
        separator = self.dialect.separator
        for node in self.root.children:
            if node.children:
                if lines and lines[-1] != separator:
                    lines.append(separator)
                self._render_node(node, 0, lines)
                lines.append(separator)
            else:
                lines.append(node.text)
        if lines and lines[-1] != separator:
            lines.append(separator)
        return lines

    def _render_node(self, node: ConfigNode, depth: int, lines: list[str]) -> None:
        lines.append(" " * depth + node.text)
        end_markers = self.dialect.section_end_markers
        for child in node.children:
            if child.children and depth >= 0 and self.dialect.separator == "#":
                lines.append(" " * (depth + 1) + "#")
            self._render_node(child, depth + 1, lines)
            # Only a section has an end marker: a statement's kind is not looked up (a running
            # config is mostly statements, and a `show running-config` renders them all).
            if child.children and end_markers:
                end_marker = end_markers.get(self.dialect.section_kind(child.text))
                if end_marker:
                    lines.append(" " * (depth + 1) + end_marker)

    # -- editing -------------------------------------------------------------------------

    def apply(self, context: list[ConfigNode], line: str) -> list[ConfigNode]:
        """Apply one config line typed at `context`; returns the new context."""
        text = " ".join(line.split())
        indented = line[:1].isspace()
        dialect = self.dialect
        if not text:
            return context
        first = text.split()[0]
        if text in dialect.exit_words:
            return context[:-1]
        if text in dialect.section_end_markers.values():
            return context[:-1]
        if context and not indented:
            # A top-level section or a global-only command leaves the current section.
            base = text.split(" ", 1)[1] if first == dialect.negation else text
            leaves = dialect.opens_top_section(base) or dialect.is_global(base)
            if leaves and not dialect.opens_section(context, text):
                context = []
        parent = context[-1] if context else self.root
        if first == dialect.negation and len(text.split()) > 1:
            target = text.split(" ", 1)[1]
            self._negate(dialect.holder_of(parent, target) or parent, target, text)
            return context
        holder = dialect.holder_of(parent, text)
        if holder is not None:
            self._set(holder, text)
            return context
        if dialect.opens_section(context, text):
            existing = parent.find(text)
            if existing is None:
                existing = ConfigNode(text=text)
                parent.children.append(existing)
            return [*context, existing]
        self._set(parent, text)
        return context

    def _negate(self, parent: ConfigNode, target: str, original: str) -> None:
        kept = [
            child
            for child in parent.children
            if not (child.text == target or child.text.startswith(target + " "))
        ]
        if len(kept) == len(parent.children):
            if parent.find(original) is None:
                parent.children.append(ConfigNode(text=original))
            return
        parent.children = kept

    def _set(self, parent: ConfigNode, text: str) -> None:
        negation = self.dialect.negation + " "
        # A positive statement cancels an explicit negation of it ("no ip address").
        parent.children = [
            child
            for child in parent.children
            if not (
                child.text.startswith(negation)
                and not child.children
                and (
                    text == child.text[len(negation) :] or text.startswith(child.text[len(negation) :] + " ")
                )
            )
        ]
        if parent.find(text) is not None or text in self.dialect.shown_by_no_line:
            return
        key = self.dialect.replace_key(text)
        if key is not None:
            for index, child in enumerate(parent.children):
                if not child.children and self.dialect.replace_key(child.text) == key:
                    parent.children[index] = ConfigNode(text=text)
                    return
        parent.children.append(ConfigNode(text=text))

    def top_value(self, keyword: str) -> str | None:
        for child in self.root.children:
            words = child.text.split()
            if len(words) >= 2 and words[0] == keyword:
                return words[1]
        return None


def first_unknown_position(line: str, keywords: frozenset[str]) -> int | None:
    """Column of the first word of `line` when it is not a known top-level keyword."""
    match = re.search(r"\S+", line)
    if match is None:
        return None
    return None if match.group(0) in keywords else match.start()
