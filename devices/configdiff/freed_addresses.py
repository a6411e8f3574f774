"""Interface addresses given up before another interface takes their subnet
(`ExclusiveAddresses`), a live session's too (`LiveLinkAddresses`)."""

from __future__ import annotations

import ipaddress
import re

from hier_config import HConfig

from storestack.devices.configdiff.lines import indent_width
from storestack.devices.platforms.base import ExclusiveAddresses, LiveLinkAddresses


def _blocks(lines: list[str] | tuple[str, ...]) -> list[list[str]]:
    """`lines` cut into blocks: each line at the indentation of the first with the more indented
    lines after it."""
    blocks: list[list[str]] = []
    depth = indent_width(lines[0]) if lines else 0
    for line in lines:
        if indent_width(line) <= depth or not blocks:
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


def _held(config: HConfig, kind: ExclusiveAddresses, address: re.Pattern[str]) -> dict[str, list[str]]:
    """Each interface of `config` (its line: top-level, or in `kind.section`) with the address
    lines it holds."""
    block = re.compile(kind.block)
    section = config.get_child(equals=kind.section) if kind.section is not None else config
    return {
        child.text: [line.text for line in child.children if _network(line.text, address) is not None]
        for child in (section.children if section is not None else ())
        if block.fullmatch(child.text)
    }


def _live_held(config: HConfig, live: LiveLinkAddresses) -> dict[str, set[ipaddress.IPv4Network]]:
    """Each block of `config` that configures a live session's interface (`live.block`) with
    the subnets of the addresses it gives it."""
    block, address = re.compile(live.block), re.compile(live.address)
    return {
        child.text: {n for line in child.children if (n := _network(line.text, address)) is not None}
        for child in config.children
        if block.fullmatch(child.text)
    }


def _sessions_ended(
    head: str, taken: set[ipaddress.IPv4Network], before: HConfig, after: HConfig, live: LiveLinkAddresses
) -> list[str]:
    """The lines that end the live sessions still holding a subnet of `taken` (which interface
    `head` takes in `after`) whose block `after` no longer gives it (`LiveLinkAddresses`): by the
    outside address `head`'s own line names, none where it names none."""
    kept = _live_held(after, live)
    freed = any(
        subnets & taken and not subnets & taken <= kept.get(name, set())
        for name, subnets in _live_held(before, live).items()
    )
    interface = after.get_child(equals=head)
    if not freed or interface is None:
        return []
    remote = re.compile(live.remote)
    found = (m["remote"] for line in interface.children if (m := remote.fullmatch(line.text)) is not None)
    return [live.freed_by.format(remote=address) for address in dict.fromkeys(found)]


def addresses_freed_first(
    lines: tuple[str, ...], before: HConfig, after: HConfig, kind: ExclusiveAddresses, negation: str
) -> tuple[str, ...]:
    """`lines` (what turns `before` into `after`) with each address an interface holds and
    gives up in the push deleted there, in a block of its own (the interface's line, the
    deletion and `exit`), ahead of the block of another interface that takes its subnet, so
    the device never holds two interfaces' addresses in one subnet. The address is given up
    by its deletion, by another address that replaces it or with the interface itself: its
    deletion later in the push, if any, is dropped. Other lines as they are. Where the
    interfaces are entries of `kind.section`, each of its entries is such a block. A live
    session's interface holding a subnet the push takes after dropping or changing the block
    that configured it (`kind.live_links`) is ended just before the block that takes it: after
    the lines before it, which drop what would let it come back as it was."""
    block = re.compile(kind.block)
    address = re.compile(kind.address)
    held = _held(before, kind, address)
    kept = _held(after, kind, address)

    def freeing(line: str) -> str:
        return kind.freed_as if kind.freed_as is not None else negation + line

    def removal(interface: str) -> str:
        if kind.removed is None:
            return negation + interface
        return kind.removed.format(name=interface.split(" ", 1)[-1])

    blocks: list[list[str]] = []
    for top in _blocks(lines):
        if kind.section is not None and top[0] == kind.section:
            blocks += [[top[0]], *_blocks(top[1:])]
        else:
            blocks.append(top)
    sent: list[str] = []
    for i, current in enumerate(blocks):
        head = current[0].strip()
        margin = current[0][: indent_width(current[0])]
        if block.fullmatch(head):
            taken = {n for line in current[1:] if (n := _network(line.strip(), address)) is not None}
            indent = next((line[: indent_width(line)] for line in current[1:]), margin + " ")
            for other, addresses in held.items():
                freed = [a for a in addresses if _network(a, address) in taken and a not in kept.get(other, [])]
                if other == head or not freed:
                    continue
                deletions = list(dict.fromkeys(freeing(a) for a in freed))
                for later in blocks[i + 1 :]:
                    if later[0].strip() == other:
                        later[1:] = [line for line in later[1:] if line.strip() not in deletions]
                sent += [margin + other, *(indent + d for d in deletions), indent + kind.exit]
                held[other] = [a for a in addresses if a not in freed]
            if kind.live_links is not None:
                sent += [margin + line for line in _sessions_ended(head, taken, before, after, kind.live_links)]
        sent += current
        if block.fullmatch(head):
            held[head] = kept.get(head, [])
        else:
            for name in [*held, *kept]:
                if head == removal(name):
                    held[name] = []
    return tuple(sent)
