"""Interface addresses given up before another interface takes their subnet
(`ExclusiveAddresses`)."""

from __future__ import annotations

import ipaddress
import re

from hier_config import HConfig

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


def _network(text: str, address: re.Pattern[str]) -> ipaddress.IPv4Network | None:
    """The subnet of an address line (stripped), None for any other line."""
    found = address.fullmatch(text)
    if found is None:
        return None
    try:
        return ipaddress.IPv4Interface(f"{found['address']}/{found['mask']}").network
    except ValueError:
        return None


def _held(config: HConfig, block: re.Pattern[str], address: re.Pattern[str]) -> dict[str, list[str]]:
    """Each interface of `config` (its top-level line) with the address lines it holds."""
    return {
        child.text: [line.text for line in child.children if _network(line.text, address) is not None]
        for child in config.children
        if block.fullmatch(child.text)
    }


def addresses_freed_first(
    lines: tuple[str, ...], before: HConfig, after: HConfig, kind: ExclusiveAddresses, negation: str
) -> tuple[str, ...]:
    """`lines` (what turns `before` into `after`) with each address an interface holds and
    gives up in the push deleted there, in a block of its own (the interface's line, the
    deletion and `exit`), ahead of the block of another interface that takes its subnet, so
    the device never holds two interfaces' addresses in one subnet. The address is given up
    by its deletion, by another address that replaces it or with the interface itself: its
    deletion later in the push, if any, is dropped. Other lines as they are."""
    block = re.compile(kind.block)
    address = re.compile(kind.address)
    held = _held(before, block, address)
    kept = _held(after, block, address)
    blocks = _blocks(lines)
    sent: list[str] = []
    for i, current in enumerate(blocks):
        head = current[0]
        if block.fullmatch(head):
            taken = {n for line in current[1:] if (n := _network(line.strip(), address)) is not None}
            indent = next((line[: indent_width(line)] for line in current[1:]), " ")
            for other, addresses in held.items():
                freed = [a for a in addresses if _network(a, address) in taken and a not in kept.get(other, [])]
                if other == head or not freed:
                    continue
                deletions = {negation + a for a in freed}
                for later in blocks[i + 1 :]:
                    if later[0] == other:
                        later[1:] = [line for line in later[1:] if line.strip() not in deletions]
                sent += [other, *(indent + negation + a for a in freed), indent + kind.exit]
                held[other] = [a for a in addresses if a not in freed]
        sent += current
        if block.fullmatch(head) or block.fullmatch(head.removeprefix(negation)):
            name = head.removeprefix(negation)
            held[name] = kept.get(name, []) if head == name else []
    return tuple(sent)
