"""Filters bound to interfaces built under their other name and bound in place of the old one
(`SwappedFilters`): make before break."""

from __future__ import annotations

import re
from dataclasses import dataclass

from storestack.devices.configdiff.lines import indent_width
from storestack.devices.platforms.base import SwappedFilters


def _acl_blocks(lines: list[str], definition: re.Pattern[str]) -> dict[str, tuple[int, list[str]]]:
    """Each filter `lines` define: name → (number, its entry lines, stripped)."""
    blocks: dict[str, tuple[int, list[str]]] = {}
    current: list[str] | None = None
    for line in lines:
        if not line[:1].isspace():
            found = definition.match(line)
            current = None
            if found is not None:
                current = []
                blocks[found.group(1)] = (int(found.group(2)), current)
        elif current is not None:
            current.append(line.strip())
    return blocks


def unsafe_in_place(held: list[str], wanted: list[str], entry: re.Pattern[str]) -> bool:
    """Whether changing a filter's entries from `held` to `wanted` in place has no safe order.
    Entries only deleted (from the highest number down) or only added (from the lowest up) leave
    every packet, at every line, with the verdict of the old or of the new filter: its first
    match is either an entry both hold, then the same in the one being approached, or one of the
    entries not yet deleted (resp. already added), above which all of that side's entries are
    held. Both at once (a renumbering, an entry changed in place) pass through the entries both
    sides hold alone."""

    def by_number(lines: list[str]) -> dict[int, str]:
        return {int(found.group(1)): line for line in lines if (found := entry.match(line)) is not None}

    old, new = by_number(held), by_number(wanted)
    deleted = any(new.get(number) != line for number, line in old.items())
    added = any(old.get(number) != line for number, line in new.items())
    return deleted and added


@dataclass(frozen=True)
class Slotted:
    """`lines`: the intended lines with each bound filter under the name and number the device is
    to hold it by; `without_room`: the bound filters that need a number of the range and find
    none free (every number held on the device or taken by the intended config): one whose
    change has no safe order in place (`unsafe_in_place`) and so is built anew under its other
    name, or one defined anew whose intended number another filter keeps. Left as they are in
    `lines`, such a filter would be edited in place rule by rule, passing for a moment what
    only the rules both sides hold pass, or merged into the other filter of its number (two
    ACLs of one number are one ACL to the AR): the push refuses the appliance instead
    (`ConfigDiff.without_room`, devices/push.py `_refuse_unsendable`)."""

    lines: list[str]
    without_room: tuple[str, ...] = ()


def slotted_filters(running: list[str], intended: list[str], kind: SwappedFilters | None) -> list[str]:
    """`intended` with each bound filter under the name the device is to hold it by
    (`slot_filters`, whose `Slotted.lines` this is)."""
    return slot_filters(running, intended, kind).lines


def slot_filters(running: list[str], intended: list[str], kind: SwappedFilters | None) -> Slotted:
    """`intended` with each bound filter under the name the device is to hold it by
    (`SwappedFilters`): a filter held under either name keeps that one where its entries are the
    intended ones or change safely in place (`unsafe_in_place`); else it is built under the
    other (the intended name, or it with the suffix and the highest number of the range neither
    side uses). The diff then adds the new filter whole, binds it in place of the old one and
    deletes the old one last (`rebound_in_place`); the way back does the same. A filter held
    under its name at another number than the intended one (numbered by its place in a list, as
    a hub's FROM-STORE-<id> filters are: a store decommissioned moves every later one) stays at
    the held number: defined again under the new one, it was deleted while bound ("the services
    may be interrupted", AR command reference "acl name"). A filter not held that way whose
    intended number another keeps, or another rebuilt under its other name holds until it is
    deleted last, takes a free one; a number an ACL named by number takes (one not bound by name)
    is never kept for another. A free number is one neither side uses, but for the intended
    number of a filter held, unchanged, under its other name at another: a filter rebuilt takes
    one number and frees its own, so a range with one number to spare always has one for the
    next. A filter that needs a free number and finds none is named in `Slotted.without_room`."""
    if kind is None:
        return Slotted(intended)
    definition, binding, entry = re.compile(kind.definition), re.compile(kind.binding), re.compile(kind.entry)
    bound = {found.group(1) for line in intended if line[:1].isspace() and (found := binding.match(line.strip()))}
    if not bound:
        return Slotted(intended)
    held, wanted = _acl_blocks(running, definition), _acl_blocks(intended, definition)
    # A filter the device holds under its other name only, whose entries stay as they are there,
    # keeps that name and number: its intended number is free on both sides for another.
    elsewhere = {
        name
        for name in bound & wanted.keys()
        if name not in held
        and (other := name + kind.suffix) in held
        and len(other) <= kind.longest_name
        and other not in wanted
        and not unsafe_in_place(held[other][1], wanted[name][1], entry)
    }
    used = {number for number, _ in held.values()}
    used |= {number for name, (number, _) in wanted.items() if name not in elsewhere}
    free = (n for n in range(kind.numbers[1], kind.numbers[0] - 1, -1) if n not in used)
    fixed = {number for name, (number, _) in wanted.items() if name not in bound}
    slots: dict[str, tuple[str, int]] = {}
    without_room: list[str] = []
    for name in sorted(bound & wanted.keys()):
        number, rules = wanted[name]
        other = name + kind.suffix
        holder = name if name in held else other if other in held else None
        if holder is None or len(other) > kind.longest_name or other in wanted:
            continue
        held_number, held_rules = held[holder]
        if holder == other or (held_number != number and held_number not in fixed):
            # held under another number (the filters numbered before it changed): kept there
            slots[name] = (holder, held_number)
        if not unsafe_in_place(held_rules, rules, entry):
            continue
        if holder == other:
            slots.pop(name)
        elif (free_number := next(free, None)) is not None:
            slots[name] = (other, free_number)
        else:
            without_room.append(name)
    # A filter kept at its held number never shares it: one the device does not hold under that
    # number and whose intended number is kept by another takes a free number; so does one whose
    # intended number a filter rebuilt under its other name holds until it is deleted, last.
    kept = {slot[1] for name, slot in slots.items() if slot[1] != wanted[name][0]}
    kept |= {held[name][0] for name, slot in slots.items() if slot[0] != name and name in held}
    for name, (number, _) in sorted(wanted.items()):
        if name in bound and name not in slots and number in kept:
            if (free_number := next(free, None)) is not None:
                slots[name] = (name, free_number)
            elif name not in without_room:
                without_room.append(name)
    if not slots:
        return Slotted(intended, tuple(without_room))
    lines: list[str] = []
    for line in intended:
        if not line[:1].isspace():
            found = definition.match(line)
            if found is not None and found.group(1) in slots:
                line = line[: found.start(1)] + "{} {}".format(*slots[found.group(1)]) + line[found.end(2) :]
        elif (found := binding.match(text := line.strip())) is not None and found.group(1) in slots:
            line = line[: indent_width(line)] + text[: found.start(1)] + slots[found.group(1)][0] + text[found.end(1) :]
        lines.append(line)
    return Slotted(lines, tuple(without_room))


def rebound_in_place(lines: tuple[str, ...], kind: SwappedFilters, negation: str) -> tuple[str, ...]:
    """`lines` (a remediation as sent) with each filter bound anew in place, never unbound first:
    an interface block that binds a filter drops its deletion of the binding it replaces in that
    direction; a filter the lines bind is defined first; and the deletion of a filter, in the
    documented form (`deleted_as`), goes last, once nothing sent names it (never where the same lines define a filter of its name or
    number). hier_config deletes first: the old filter, then the binding, then binds the new one,
    so the interface was for a moment without a filter, or bound to a deleted one."""
    definition, binding = re.compile(kind.definition), re.compile(kind.binding)
    blocks: list[list[str]] = []
    for line in lines:
        if not line[:1].isspace() or not blocks:
            blocks.append([])
        blocks[-1].append(line)
    defined = [found for block in blocks if (found := definition.match(block[0])) is not None]
    names, numbers = {found.group(1) for found in defined}, {found.group(2) for found in defined}
    deleted = [
        found
        for block in blocks
        if block[0].startswith(negation) and (found := definition.match(block[0].removeprefix(negation)))
    ]
    bound = {found.group(1) for line in lines if (found := binding.match(line.strip())) is not None}
    # A filter these lines bind goes first, before any block that binds it (the rest of the
    # lines may follow the order of a config that prints interfaces before ACLs).
    first = [
        block
        for block in blocks
        if (found := definition.match(block[0])) is not None
        and found.group(1) in bound
        and not any(found.group(1) == gone.group(1) or found.group(2) == gone.group(2) for gone in deleted)
    ]
    kept: list[str] = [line for block in first for line in block]
    deletions: list[str] = []
    # The slots each interface binds anew, over every block of it (a send order may split one).
    slots: dict[str, set[str]] = {}
    for block in blocks:
        for line in block[1:]:
            if (found := binding.match(text := line.strip())) is not None:
                slots.setdefault(block[0], set()).add(text[: found.start(1)])
    for block in blocks:
        if any(block is moved for moved in first):
            continue
        header = block[0]
        found = definition.match(header.removeprefix(negation)) if header.startswith(negation) else None
        if found is not None and len(block) == 1 and found.group(1) not in names and found.group(2) not in numbers:
            deletions.append(negation + kind.deleted_as.format(name=found.group(1)))
            continue
        for line in block:
            text = line.strip()
            if line[:1].isspace() and text.startswith(negation):
                found = binding.match(text.removeprefix(negation))
                if found is not None and text.removeprefix(negation)[: found.start(1)] in slots.get(header, ()):
                    continue
            kept.append(line)
    return (*kept, *deletions)
