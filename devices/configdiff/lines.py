"""Config text as every part of the diff reads it: normalised lines, each line's path, hier_config
trees of them, and a delta's deletions split from the rest."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hier_config import HConfig, get_hconfig
from hier_config.child import HConfigChild

from storestack.devices.drivers import PlatformDriver, driver_for, hier_driver


def normalise(text: str, driver: PlatformDriver) -> list[str]:
    """The config lines that matter: platform noise, blank lines and trailing blanks removed, and
    top-level lines printed one space in read as top-level (`indented_block_separator`)."""
    lines = []
    separator = re.compile(driver.indented_block_separator) if driver.indented_block_separator else None
    block_start, outdent = True, False
    for raw in text.replace("\r", "").splitlines():
        line = raw.rstrip()
        if separator is not None:
            if separator.fullmatch(line):
                block_start, outdent = True, False
                continue
            if block_start and line.strip():
                block_start, outdent = False, line.startswith(" ") and not line.startswith("  ")
            if outdent and line.startswith(" "):
                line = line[1:]
        if not line.strip() or driver.is_ignored(line):
            continue
        lines.append(driver.canonical(line) if driver.equivalent_lines else line)
    return lines


def indent_width(line: str) -> int:
    return len(line) - len(line.lstrip())


def with_paths(lines: Iterable[str]) -> Iterable[tuple[str, tuple[str, ...]]]:
    """Each line with its path: the texts of the lines it sits under (by indentation), then its own."""
    stack: list[tuple[int, str]] = []
    for line in lines:
        depth = indent_width(line)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        stack.append((depth, line.strip()))
        yield line, tuple(text for _, text in stack)


def parse(text: str, platform: str) -> HConfig:
    driver = driver_for(platform)
    return get_hconfig(hier_driver(platform), "\n".join(normalise(text, driver)))


def without_deletions(node: HConfigChild, deletion: str) -> HConfigChild | None:
    """A copy of `node` without its deletion lines (None when it held nothing else)."""
    if node.text.startswith(deletion):
        return None
    copy = get_hconfig(node.driver).add_child(node.text)
    for child in node.children:
        kept = without_deletions(child, deletion)
        if kept is not None:
            copy.add_deep_copy_of(kept)
    return copy if copy.children or not node.children else None


def only_deletions(node: HConfigChild, deletion: str, *, reverse: bool = True) -> HConfigChild | None:
    """A copy of `node` with only its deletion lines and the sections that hold them, each
    level in reverse order (`reverse`) or in the order `node` holds them."""
    copy = get_hconfig(node.driver).add_child(node.text)
    if node.text.startswith(deletion):
        return copy
    # Within a block, what comes later may refer to what comes earlier: deleted last first.
    for child in reversed(node.children) if reverse else node.children:
        dropped = only_deletions(child, deletion, reverse=reverse)
        if dropped is not None:
            copy.add_deep_copy_of(dropped)
    return copy if copy.children else None
