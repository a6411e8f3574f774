"""Indentation-structured configs (IOS-XE, VRP) as a tree of numbered lines, for the lint rules.

Both platforms print a section's children one space deeper than the section line; separators
(`!`, `#`) and blank lines carry nothing. The rules look objects up by their defining line and
check references against those definitions, so every finding can name the line it is about.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, TypeAlias

from storestack.common.addressing import LINK_LOCAL, RFC1918, SHARED_ADDRESS_SPACE

if TYPE_CHECKING:
    from storestack.devices.lint import ConfigFile, Finding

# `Line.signature`: a line's number, text and its children's signatures.
LineSignature: TypeAlias = tuple[int, str, tuple["LineSignature", ...]]


@dataclass
class Line:
    number: int  # 1-based line in the file
    depth: int  # leading spaces
    text: str  # without the indentation
    children: list[Line] = field(default_factory=list)
    parent: Line | None = field(default=None, repr=False)

    @cached_property
    def words(self) -> list[str]:
        """The text's words, split once (the rules read them again for every packet they
        follow through an ACL): read them, never change them."""
        return self.text.split()

    @cached_property
    def signature(self) -> LineSignature:
        """The line's number and text with its children's signatures: a hashable image of the
        subtree, for caches of pure functions of it (computed once: never change the tree)."""
        return (self.number, self.text, tuple(child.signature for child in self.children))

    @cached_property
    def by_first_word(self) -> dict[str, list[Line]]:
        """The children by their first word, each list in the file's order: what `top` looks
        sections up in (the rules look up one kind of section after another, and a large
        config's top level holds hundreds of lines). Read it, never change it."""
        found: dict[str, list[Line]] = {}
        for child in self.children:
            found.setdefault(child.words[0] if child.words else "", []).append(child)
        return found

    def walk(self) -> Iterator[Line]:
        for child in self.children:
            yield child
            yield from child.walk()

    def child_texts(self) -> list[str]:
        return [child.text for child in self.children]


@lru_cache(maxsize=256)
def parse(text: str, separators: tuple[str, ...]) -> Line:
    """The config as a tree under a root line (number 0); `separators` are comment/separator marks.
    Parsed once per text (every rule and check of a config reads it, a hub's isolation check once
    per store, and the fleet-wide checks each config again: a few hundred held, or a generated
    fleet's are parsed anew by each): the tree is shared, read it and never change it."""
    root = Line(0, -1, "")
    stack = [root]
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith(separators):
            continue
        depth = len(raw) - len(raw.lstrip(" "))
        while stack[-1].depth >= depth:
            stack.pop()
        line = Line(number, depth, stripped, parent=stack[-1])
        stack[-1].children.append(line)
        stack.append(line)
    return root


def top(root: Line, *prefix: str) -> Iterator[Line]:
    """Top-level lines whose first words are `prefix`."""
    size = len(prefix)
    for line in root.by_first_word.get(prefix[0], []) if prefix else root.children:
        if tuple(line.words[:size]) == prefix:
            yield line


def after(words: list[str], keyword: str) -> str | None:
    """The word after `keyword` in `words`, if any."""
    try:
        return words[words.index(keyword) + 1]
    except (ValueError, IndexError):
        return None


# One SA lifetime a crypto section states: (its first words, the setting's words before the
# value, the fleet policy's seconds, "IKE" or "ESP").
LifetimeSetting = tuple[tuple[str, ...], tuple[str, ...], int, str]


def sa_lifetimes(config: ConfigFile, root: Line, rule: str, settings: Iterable[LifetimeSetting]) -> Iterator[Finding]:
    """Every top-level section of each kind states its setting once, with the fleet policy's
    lifetime; left out, the router runs its own default, which nothing ties to the far end."""
    for section, setting, policy, sa in settings:
        size = len(setting)
        for block in top(root, *section):
            stated = [
                child.words[size] for child in block.children if tuple(child.words[:size]) == setting and len(child.words) > size
            ]
            if stated != [str(policy)]:
                yield config.finding(
                    block.number,
                    rule,
                    f"{block.text}: {' '.join(setting)} {stated[0] if stated else 'unset'}, the fleet "
                    f"policy's {sa} lifetime is {policy} s",
                )


def policy_settings(
    config: ConfigFile,
    root: Line,
    rule: str,
    section: tuple[str, ...],
    settings: Iterable[tuple[tuple[str, ...], tuple[str, ...]]],
    what: str,
) -> Iterator[Finding]:
    """Every top-level section of kind `section` states each setting once, followed by the words
    the fleet policy gives it (`what` names that part of the policy); left out or changed by
    hand, the router runs something nothing ties to the far end."""
    for block in top(root, *section):
        for setting, value in settings:
            size = len(setting)
            stated = [
                tuple(child.words[size : size + len(value)])
                for child in block.children
                if tuple(child.words[:size]) == setting
            ]
            if stated != [value]:
                yield config.finding(
                    block.number,
                    rule,
                    f"{block.text}: {' '.join(setting)} {' '.join(stated[0]) if stated else 'unset'}, the "
                    f"fleet policy's {what} gives {' '.join(value)}",
                )


def zone_members(root: Line, *keyword: str) -> dict[str, list[Line]]:
    """zone -> its member interfaces: the top-level `interface` sections holding a `<keyword...>
    ZONE` line (IOS-XE `zone-member security ZONE`, VRP `zone ZONE`)."""
    members: dict[str, list[Line]] = {}
    size = len(keyword)
    for interface in top(root, "interface"):
        for line in interface.children:
            if tuple(line.words[:size]) == keyword and len(line.words) > size:
                members.setdefault(line.words[size], []).append(interface)
    return members


def shared_tunnel_zones(members: Mapping[str, list[Line]]) -> dict[str, list[Line]]:
    """The zones holding two or more tunnel interfaces (`Tunnel...`, as IOS-XE and VRP name
    them), with those tunnels. Neither platform checks traffic between the interfaces of one zone
    unless told to, so a store whose hub and AWS tunnels share a zone forwards between them: one
    hub's packets to the other hub, a cloud's to a hub (lint `cisco-overlay-transit`,
    `vrp-overlay-transit`)."""
    shared: dict[str, list[Line]] = {}
    for zone, interfaces in members.items():
        tunnels = [interface for interface in interfaces if interface.words[1:2] and interface.words[1][:6] == "Tunnel"]
        if len(tunnels) > 1:
            shared[zone] = tunnels
    return shared


def hub_tunnel_answers(
    root: Line, zone: tuple[str, ...], inbound: Callable[[Line], str | None], rpf: str
) -> Iterator[tuple[int, str]]:
    """A store's hub tunnels (`description ipsec <id> overlay to <hub> ...`), wired and cellular,
    all in one zone (`zone`: the words before the zone's name), behind one inbound filter
    (`inbound`: an interface's, or None) and with no unicast reverse path check
    (a line starting `rpf`): (line, why) of each tunnel that is not. A hub returns a store's
    traffic over the tunnel it ranks first, which is cellular once the store signals its wired
    tunnel out of its strictest class's SLA, while CCTV and IoT still leave on the wire (README,
    "Return path"); the zone firewall holds sessions per zone pair, so only a tunnel of the
    same zone, let in by the same filter, meets their sessions (IOS-XE `cisco-store-answers`,
    VRP `vrp-store-answers`)."""
    tunnels = [
        interface
        for interface in top(root, "interface")
        if any(child.words[:2] == ["description", "ipsec"] and " overlay to " in child.text for child in interface.children)
    ]

    def setting(interface: Line, words: tuple[str, ...]) -> str | None:
        size = len(words)
        return next((c.words[size] for c in interface.children if tuple(c.words[:size]) == words and len(c.words) > size), None)

    if not tunnels:
        return
    first = tunnels[0]
    for interface in tunnels:
        name = interface.words[1] if len(interface.words) > 1 else interface.text
        for what, read in (("zone", lambda i: setting(i, zone)), ("inbound filter", inbound)):
            own, theirs = read(interface), read(first)
            if own != theirs:
                yield interface.number, (
                    f"hub tunnel {name} has {what} {own or 'none'}, {first.words[1]} {theirs or 'none'}: answers a hub"
                    " returns into it for a flow that left by another tunnel meet no session, or another filter"
                )
        check = next((c for c in interface.children if c.text.startswith(rpf)), None)
        if check is not None:
            yield check.number, (
                f"hub tunnel {name}: {check.text} drops the answers a hub returns into it while the best route to"
                " their source is another tunnel"
            )


def tunnel_id(texts: list[str]) -> str | None:
    """The network intent's tunnel id an interface names in its description: the templates write
    `description ipsec <tunnel-id> ...`, so both ends of a tunnel can be matched by id."""
    for text in texts:
        words = text.split()
        if words[:2] == ["description", "ipsec"] and len(words) > 2:
            return words[2]
    return None


def is_address(word: str) -> bool:
    """Whether `word` is a dotted IPv4 address (not an interface or object name)."""
    try:
        ipaddress.IPv4Address(word)
    except ValueError:
        return False
    return True


def interface_address(interface: Line) -> ipaddress.IPv4Interface | None:
    """An interface section's `ip address A MASK` (both platforms spell it so), if the reader
    can follow it."""
    for line in interface.children:
        if line.words[:2] == ["ip", "address"] and len(line.words) == 4 and is_address(line.words[2]):
            try:
                return ipaddress.IPv4Interface(f"{line.words[2]}/{line.words[3]}")
            except ValueError:
                return None
    return None


def unresolved(
    defined: Mapping[str, Mapping[str, int]], references: Iterable[tuple[str, str, int]]
) -> Iterator[tuple[str, str, int]]:
    """The (kind, name, line) references whose name no definition of that kind has."""
    for kind, name, number in references:
        if name not in defined.get(kind, {}):
            yield kind, name, number


def private_gaps(denied: list[str]) -> list[str]:
    """The RFC 1918 ranges (and the RFC 6598 shared space and the link-local range, where the
    cloud VPNs' BGP speakers are) that the networks in `denied` ("a.b.c.d/len" or
    "a.b.c.d/wildcard") leave open: what an internet flow permitted after these denies could
    still reach."""
    nets = []
    for text in denied:
        try:
            nets.append(ipaddress.IPv4Network(text, strict=False))
        except ValueError:
            continue
    return [
        str(block)
        for block in (*RFC1918, SHARED_ADDRESS_SPACE, LINK_LOCAL)
        if not any(block.subnet_of(n) for n in nets)
    ]


def probe_tos(settings: dict[str, list[str]]) -> int | None:
    """The ToS byte a probe's `tos` line sets (IOS-XE IP SLA operation, VRP NQA test: both take
    the whole byte), from the probe block's settings by first word: 0 without one (the default
    of both), None where the line holds no number."""
    words = settings.get("tos")
    if words is None:
        return 0
    return int(words[0]) if words and words[0].isdigit() else None
