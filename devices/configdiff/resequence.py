"""A block of numbered entries changed without moving an entry, on a device that renumbers in place
(`NumberedEntries.resequence`)."""

from __future__ import annotations

import re

from hier_config import HConfig
from hier_config.child import HConfigChild

from storestack.devices.platforms.base import NumberedEntries


def resequenced_block(
    header: str, kind: NumberedEntries, entry: re.Pattern[str], before: HConfig, after: HConfig
) -> tuple[list[str], list[str], str] | None:
    """The change of block `header` from `before` to `after` without moving an entry, where the
    kind allows it (`NumberedEntries.resequence`): the new entries at free numbers between the
    held entries they come between, from the lowest up, the deletions of the entries that go,
    from the highest down, then (last) the command that numbers the block 10, 20, ...: (the
    commands before the block, the block's lines, the command after it). Where the
    held numbers leave too few free ones between two kept entries, the block is first numbered
    apart (the same command, a wider step), which moves no entry either. None where it does not
    apply: entries both hold in another order, an entry held twice, intended numbers other than
    10, 20, ...

    Every moment holds every entry both sides hold, the new entries added so far (those that come
    first in the new block) and the old entries not yet deleted (those that came first in the
    old one), each side's in its own order. A packet's first match is then an entry of the old
    block with none of the old entries above it matching (so the old block's verdict), or a new
    entry with none of the new entries above it matching (the new block's verdict): the block
    passes what both pass (a hub's transit through its DC port's closing `permit ip any any`,
    the push's own SSH) and passes nothing both deny."""
    if kind.resequence is None:
        return None
    held_block, wanted_block = before.get_child(equals=header), after.get_child(equals=header)
    if held_block is None or wanted_block is None:
        return None

    def entries(block: HConfigChild) -> list[tuple[int, str]] | None:
        found = [(entry.match(child.text), child.text) for child in block.children]
        if any(match is None for match, _ in found):
            return None
        return [(int(match.group(1)), text[match.end() :]) for match, text in found if match is not None]

    held, wanted = entries(held_block), entries(wanted_block)
    if held is None or wanted is None or [number for number, _ in wanted] != [10 * (i + 1) for i in range(len(wanted))]:
        return None
    held_numbers = {text: number for number, text in held}
    wanted_texts = {text for _, text in wanted}
    if len(held_numbers) != len(held) or len(wanted_texts) != len(wanted):
        return None
    kept = [held_numbers[text] for _, text in wanted if text in held_numbers]
    if kept != sorted(kept):
        return None
    name = header.split()[-1]
    spread: list[str] = []
    additions = _between(held, wanted, kind.highest)
    if additions is None:
        # Numbered apart first: the held entries, in their order, a step wider than any run of
        # new entries that goes between two of them.
        step = 10 * (len(wanted) + 1)
        held = [(step * (index + 1), text) for index, (_, text) in enumerate(sorted(held))]
        if held and held[-1][0] > kind.highest:
            return None
        spread = [kind.resequence.format(name=name, start=step, step=step)]
        additions = _between(held, wanted, kind.highest)
        if additions is None:
            return None
    negation = before.driver.negation_prefix
    deletions = [f"{negation}{number} {text}" for number, text in sorted(held, reverse=True) if text not in wanted_texts]
    return spread, [*additions, *deletions], kind.resequence.format(name=name, start=10, step=10)


def _between(held: list[tuple[int, str]], wanted: list[tuple[int, str]], highest: int) -> list[str] | None:
    """The entries of `wanted` that `held` lacks, each numbered between the held entries (or the
    new ones before it) it comes after and the held entry it comes before, from the lowest up;
    None where a gap has too few free numbers (none above `highest`)."""
    held_numbers = {text: number for number, text in held}
    taken = {number for number, _ in held}
    additions: list[str] = []
    floor = 0
    for position, (_, text) in enumerate(wanted):
        if text in held_numbers:
            floor = held_numbers[text]
            continue
        ceiling = next((held_numbers[later] for _, later in wanted[position + 1 :] if later in held_numbers), None)
        number = next((n for n in range(floor + 1, floor + 10**6) if n not in taken), None)
        if number is None or number > highest or (ceiling is not None and number >= ceiling):
            return None
        taken.add(number)
        floor = number
        additions.append(f"{number} {text}")
    return additions
