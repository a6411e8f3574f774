"""Entries the device removes whole, with every line that names them, when the line that made them
is deleted (`RemovedWhole`): that deletion is the entry's only line sent."""

from __future__ import annotations

import re

from hier_config import HConfig, get_hconfig
from hier_config.child import HConfigChild

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


def _removing(deleted: list[str], kind: RemovedWhole, name: str) -> str | None:
    """The one of the lines `deleted` (without their negation) whose deletion removes entry
    `name`: the first of `kind.made_by` that matches one of them (an entry made by more than one
    line, VRP's `peer X as-number N` and `peer X group G`, is gone after the first: the device
    holds no entry for the second)."""
    for pattern in kind.made_by:
        for text in deleted:
            if (match := re.match(pattern, text)) is not None and match.group("name") == name:
                return text
    return None


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
            making = len(path) == 2 and text == _removing(deleted[path[0]], kind, name)
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


def remade_sent_whole(delta: HConfig, before: HConfig, after: HConfig, kinds: tuple[RemovedWhole, ...]) -> HConfig:
    """`delta` where, in a block of a kind's `section`, the device removes whole an entry the
    intended block still makes: the line that made it is deleted and the intended block makes it
    by another line (IOS-XE: a BGP neighbour's `remote-as` changed, `no neighbor X remote-as A`
    then `neighbor X remote-as B`), or the entry is a member (`member_of`) of a group the delta
    removes (`no neighbor G peer-group` takes its members with it). Every intended line naming
    such an entry, in the block and its sub-blocks, is sent again after the deletion that removes
    it (the unchanged ones too, which the delta lacks), and no other deletion of a line naming it
    is sent (the device took it). Those removing deletions go first in their block. Other blocks
    as they are."""
    if not kinds:
        return delta
    negation = delta.driver.negation_prefix
    remade = {node.text: _remade(node, before, after, kinds, negation) for node in delta.children}
    if not any(entries for entries, _first in remade.values()):
        return delta
    resent = get_hconfig(delta.driver)
    for node in delta.children:
        entries, first = remade[node.text]
        new = after.get_child(equals=node.text)
        if not entries or new is None:
            resent.add_deep_copy_of(node)
            continue
        _resend(resent.add_child(node.text), node, new, entries, first, negation)
    return resent


def _remade(
    node: HConfigChild, before: HConfig, after: HConfig, kinds: tuple[RemovedWhole, ...], negation: str
) -> tuple[list[re.Pattern[str]], list[tuple[RemovedWhole, str]]]:
    """For the block `node` (a delta's): a pattern of the lines naming each entry the device
    removes whole while the intended block still makes it (its making line deleted and made
    again by another, or a member of a group the delta removes), and the entries (kind, name)
    whose making line's deletion removes them."""
    old, new = before.get_child(equals=node.text), after.get_child(equals=node.text)
    if old is None or new is None:
        return [], []
    deleted = [child.text.removeprefix(negation) for child in node.children if child.text.startswith(negation)]
    kept_texts = [child.text for child in new.children]
    entries: list[re.Pattern[str]] = []
    first: list[tuple[RemovedWhole, str]] = []
    for kind in kinds:
        if re.match(kind.section, node.text) is None:
            continue
        made = _made(kept_texts, kind)
        gone = _made(deleted, kind)
        names = set(gone & made)
        first += [(kind, name) for name in sorted(names)]
        if kind.member_of is not None:
            for child in old.children:
                match = re.match(kind.member_of, child.text)
                if match is not None and match.group("group") in gone - made and match.group("name") in made:
                    names.add(match.group("name"))
                    first.append((kind, match.group("group")))
        entries += [re.compile(kind.names.format(name=re.escape(name))) for name in sorted(names)]
    return entries, first


def _resend(
    block: HConfigChild,
    node: HConfigChild,
    new: HConfigChild,
    patterns: list[re.Pattern[str]],
    first: list[tuple[RemovedWhole, str]],
    negation: str,
) -> None:
    """Fill `block` (empty) from the delta's `node`, with the entries `patterns` name sent whole
    from the intended block `new`: the deletions that remove them (of `first`) first, the delta's other lines
    naming them left out, then all their intended lines in the intended block's order (its
    making line first), before the delta's first sub-block, those of a sub-block after the
    sub-block's other changes."""

    def naming(text: str) -> bool:
        return any(names.match(text) is not None for names in patterns)

    deleted = [child.text.removeprefix(negation) for child in node.children if child.text.startswith(negation)]
    removing = {_removing(deleted, kind, name) for kind, name in first}

    def with_its_group(text: str) -> bool:
        """A member's deletion of its membership of a group the delta removes: the group's
        removal takes the member (and the line) with it."""
        for kind, _name in first:
            match = re.match(kind.member_of, text) if kind.member_of is not None else None
            if match is not None and (kind, match.group("group")) in first:
                return True
        return False

    def making_deletion(text: str) -> bool:
        if not text.startswith(negation) or with_its_group(text.removeprefix(negation)):
            return False
        return any(name in _made([text.removeprefix(negation)], kind) for kind, name in first)

    def removing_deletion(text: str) -> bool:
        return making_deletion(text) and text.removeprefix(negation) in removing

    for child in node.children:
        if removing_deletion(child.text):
            block.add_deep_copy_of(child)
    resent = [child for child in new.children if not child.children and naming(child.text)]
    for child in node.children:
        if child.children and resent:
            _add_missing(block, resent)
            resent = []
        if making_deletion(child.text) or naming(child.text.removeprefix(negation)):
            continue
        if not child.children:
            block.add_deep_copy_of(child)
            continue
        target = new.get_child(equals=child.text)
        copied = block.add_child(child.text)
        for below in child.children:
            if not naming(below.text.removeprefix(negation)):
                copied.add_deep_copy_of(below)
        if target is not None:
            _add_missing(copied, [below for below in target.children if naming(below.text)])
        if not copied.children:
            copied.delete()
    _add_missing(block, resent)
    for sub in new.children:
        if sub.children and block.get_child(equals=sub.text) is None:
            lines = [below for below in sub.children if naming(below.text)]
            if lines:
                _add_missing(block.add_child(sub.text), lines)


def _add_missing(block: HConfigChild, lines: list[HConfigChild]) -> None:
    """Copy into `block` each of `lines` it does not hold yet."""
    for line in lines:
        if block.get_child(equals=line.text) is None:
            block.add_deep_copy_of(line)
