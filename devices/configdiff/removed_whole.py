"""Entries the device removes whole, with every line that names them, when the line that made them
is deleted (`RemovedWhole`): that deletion is the entry's only line sent."""

from __future__ import annotations

import re

from hier_config import HConfig

from storestack.devices.configdiff.lines import with_paths
from storestack.devices.platforms.base import RemovedWhole


def _made(block: list[str], kind: RemovedWhole) -> set[str]:
    """The names of the entries the lines `block` (a block's children, without their negation)
    make by one of `kind.made_by`."""
    found = set()
    for text in block:
        for pattern in kind.made_by:
            if (match := re.match(pattern, text)) is not None:
                found.add(match.group("name"))
    return found


def _removed(section: str, deleted: list[str], after: HConfig, kind: RemovedWhole) -> set[str]:
    """The names of the entries of the block `section` whose making line is among `deleted` and
    which the intended block (`after`) makes no more."""
    if re.match(kind.section, section) is None:
        return set()
    kept = after.get_child(equals=section)
    return _made(deleted, kind) - _made([child.text for child in kept.children] if kept is not None else [], kind)


def _members(deleted: list[str], kind: RemovedWhole, removed: set[str]) -> set[str]:
    """The removed entries whose deleted membership line (`kind.member_of`) names a removed
    entry as their group: the device removes them with it."""
    if kind.member_of is None:
        return set()
    found = set()
    for text in deleted:
        match = re.match(kind.member_of, text)
        if match is not None and match.group("name") in removed and match.group("group") in removed:
            found.add(match.group("name"))
    return found


def without_lines_of_removed(
    lines: tuple[str, ...], after: HConfig, kinds: tuple[RemovedWhole, ...], negation: str
) -> tuple[str, ...]:
    """`lines` (a remediation in send order) without the deletions of lines naming an entry of
    `kinds` whose making line they delete: the device removes those lines with it, and refuses
    their deletions after it. A sub-block left with nothing but its closing line goes too."""
    if not kinds:
        return lines
    paths = list(with_paths(lines))
    deleted: dict[str, list[str]] = {}
    for _line, path in paths:
        if len(path) == 2 and path[1].startswith(negation):
            deleted.setdefault(path[0], []).append(path[1].removeprefix(negation))
    names: dict[str, list[tuple[RemovedWhole, str, bool]]] = {}
    for section, texts in deleted.items():
        for kind in kinds:
            removed = _removed(section, texts, after, kind)
            members = _members(texts, kind, removed)
            names.setdefault(section, []).extend((kind, name, name in members) for name in removed)
    if not any(names.values()):
        return lines

    def implied(path: tuple[str, ...]) -> bool:
        text = path[-1]
        if len(path) < 2 or not text.startswith(negation):
            return False
        text = text.removeprefix(negation)
        for kind, name, with_group in names.get(path[0], []):
            making = len(path) == 2 and any(
                (match := re.match(pattern, text)) is not None and match.group("name") == name for pattern in kind.made_by
            )
            if (with_group or not making) and re.match(kind.names.format(name=re.escape(name)), text) is not None:
                return True
        return False

    kept = [(line, path) for line, path in paths if not implied(path)]
    return tuple(line for line, path in kept if not _emptied(path, kept))


def _emptied(path: tuple[str, ...], kept: list[tuple[str, tuple[str, ...]]]) -> bool:
    """Whether the line at `path` is a sub-block's header with nothing left in it but the lines
    that close it (`exit...`), or one of those closing lines."""

    def empty(header: tuple[str, ...]) -> bool:
        inside = [below for _line, below in kept if len(below) > len(header) and below[: len(header)] == header]
        return bool(inside) and all(len(below) == len(header) + 1 and below[-1].startswith("exit") for below in inside)

    if len(path) >= 2 and empty(path):
        return True
    return len(path) >= 3 and path[-1].startswith("exit") and empty(path[:-1])
