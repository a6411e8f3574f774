"""Numbered first-match entries (`NumberedEntries`): renumbered entries deleted from the highest
number down, then added from the lowest up; the closing catch-all swapped last."""

from __future__ import annotations

import re

from hier_config import HConfig, get_hconfig
from hier_config.child import HConfigChild

from storestack.devices.configdiff.resequence import resequenced_block
from storestack.devices.platforms.base import NumberedEntries


def renumbered_from_the_ends(
    delta: HConfig, kinds: tuple[NumberedEntries, ...], before: HConfig, after: HConfig
) -> HConfig:
    """`delta` with the entry deletions of each numbered block (a block whose header matches a
    kind's `section`: `PlatformDriver.numbered_entries`) first, from the highest number down,
    each in the kind's `deleted_as` form where it has one (VRP: `undo rule 20`), then the rest of
    the block as it was (hier_config adds entries in the intended order, the lowest number
    first).

    The device applies each line as it comes. An entry put into the middle of a first-match
    block moves every later entry to a new number: they are deleted and added again. Deleted
    from the top, the block held its later permits without the denies above them for as long as
    the deletions ran (an office `permit ... any` without the `deny ... 10.0.0.0/8` before it).
    From the bottom, the block is always the start of the old one, which passes nothing the old
    block denies; the additions from the top then build the start of the new one. A kept entry
    below a deleted one (an entry changed in place) is exposed only for the line between its
    deletion and its replacement.

    A block whose change keeps its common entries in their order, on a platform that renumbers
    in place (`NumberedEntries.resequence`), moves no entry: `resequenced_block`."""
    negation = delta.driver.negation_prefix
    patterns = [(re.compile(kind.section), re.compile(kind.entry), kind) for kind in kinds]

    def kind_of(section: HConfigChild) -> tuple[re.Pattern[str], NumberedEntries] | None:
        return next(((entry, kind) for header, entry, kind in patterns if header.match(section.text)), None)

    def deleted_number(child: HConfigChild, entry: re.Pattern[str]) -> int | None:
        if not child.text.startswith(negation):
            return None
        found = entry.match(child.text.removeprefix(negation))
        return int(found.group(1)) if found is not None else None

    def numbered(section: HConfigChild) -> bool:
        found = kind_of(section)
        return found is not None and any(deleted_number(child, found[0]) is not None for child in section.children)

    if not any(numbered(section) for section in delta.children):
        return delta
    result = get_hconfig(delta.driver)
    for section in delta.children:
        found = kind_of(section)
        if found is None:
            result.add_deep_copy_of(section)
            continue
        entry, kind = found
        resequenced = resequenced_block(section.text, kind, entry, before, after)
        if resequenced is not None:
            spread, lines, renumbering = resequenced
            for line in spread:
                result.add_child(line)
            block = result.add_child(section.text)
            for line in lines:
                block.add_child(line)
            result.add_child(renumbering)
            continue
        block = result.add_child(section.text)
        deletions = sorted(
            ((number, child) for child in section.children if (number := deleted_number(child, entry)) is not None),
            key=lambda pair: pair[0],
            reverse=True,
        )
        rest = [child for child in section.children if deleted_number(child, entry) is None]
        new_closing = _closing_swap(deletions, rest, entry, kind.closing, negation)
        if new_closing is not None:
            # The old closing entry stays until it is swapped for the new one: every other
            # deletion, the additions below the old one, the swap, then the additions above it.
            (closing_number, old_closing), *deletions = deletions
            below = [child for child in rest if (_entry_number(child, entry) or 0) < closing_number]
            rest = [
                *(child for child in below if child is not new_closing),
                old_closing,
                new_closing,
                *(child for child in rest if child not in below and child is not new_closing),
            ]
        for number, child in deletions:
            _add_deletion(block, child, number, kind, negation)
        for child in rest:
            number = deleted_number(child, entry)
            if number is not None:
                _add_deletion(block, child, number, kind, negation)
            else:
                block.add_deep_copy_of(child)
    return result


def _entry_number(child: HConfigChild, entry: re.Pattern[str]) -> int | None:
    found = entry.match(child.text)
    return int(found.group(1)) if found is not None else None


def _add_deletion(block: HConfigChild, child: HConfigChild, number: int, kind: NumberedEntries, negation: str) -> None:
    """The deletion of entry `number`, in the kind's `deleted_as` form where it has one."""
    if kind.deleted_as is None:
        block.add_deep_copy_of(child)
    else:
        block.add_child(negation + kind.deleted_as.format(number=number))


def _closing_swap(
    deletions: list[tuple[int, HConfigChild]],
    additions: list[HConfigChild],
    entry: re.Pattern[str],
    closing: str | None,
    negation: str,
) -> HConfigChild | None:
    """Where a block's highest-numbered deletion (`deletions`, highest first) and its
    highest-numbered addition both match `closing` (`NumberedEntries.closing`), the addition."""
    if closing is None or not deletions:
        return None
    pattern = re.compile(closing)
    numbered = [(number, child) for child in additions if (number := _entry_number(child, entry)) is not None]
    if not numbered or not pattern.match(deletions[0][1].text.removeprefix(negation)):
        return None
    new = max(numbered, key=lambda pair: pair[0])[1]
    return new if pattern.match(new.text) else None
