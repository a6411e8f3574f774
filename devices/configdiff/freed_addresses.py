"""Interface addresses given up before another interface takes their subnet
(`ExclusiveAddresses`)."""

from __future__ import annotations

import ipaddress
import re

from storestack.devices.configdiff.lines import indent_width
from storestack.devices.platforms.base import ExclusiveAddresses


def _blocks(lines: tuple[str, ...]) -> list[list[str]]:
    """`lines` cut into top-level blocks: each top-level line with the indented lines after it."""
    blocks: list[list[str]] = []
    for line in lines:
        if indent_width(line) == 0 or not blocks:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    return blocks


def _network(line: str, address: re.Pattern[str], prefix: str = "") -> ipaddress.IPv4Network | None:
    """The subnet of an address line read at depth one (after `prefix`, the negation or none)."""
    text = line.strip()
    if indent_width(line) == 0 or not text.startswith(prefix):
        return None
    found = address.fullmatch(text.removeprefix(prefix))
    if found is None:
        return None
    try:
        return ipaddress.IPv4Interface(f"{found['address']}/{found['mask']}").network
    except ValueError:
        return None


def addresses_freed_first(lines: tuple[str, ...], kind: ExclusiveAddresses, negation: str) -> tuple[str, ...]:
    """`lines` with each interface's deletion of an address whose subnet an earlier block of
    another interface gives an address in moved ahead of that block, in a block of its own
    (the interface's line, the deletion and the block's exit), so the device never
    holds two interfaces' addresses in one subnet. Other lines as they are."""
    block = re.compile(kind.block)
    address = re.compile(kind.address)
    blocks = _blocks(lines)
    sent: list[str] = []
    for i, current in enumerate(blocks):
        if block.fullmatch(current[0]):
            taken = {n for line in current if (n := _network(line, address)) is not None}
            for later in blocks[i + 1 :]:
                if not taken or later[0] == current[0] or not block.fullmatch(later[0]):
                    continue
                freed = [line for line in later[1:] if _network(line, address, negation) in taken]
                for line in freed:
                    later.remove(line)
                if freed:
                    sent += [later[0], *freed, *(line for line in later[-1:] if line.strip() == kind.exit)]
        sent += current
    return tuple(sent)
