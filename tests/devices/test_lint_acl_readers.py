"""The ACL readers the isolation lint asks about every probe packet test addresses as integers:
the VRP reader of advanced ACLs (`acl_verdict`) takes most rules as one folded test
(`_RuleMatcher.folded`) instead of walking their checks in order, the IOS-XE reader of extended
ACLs an entry's networks as (value, mask). Over every ACL of the rendered hub and packets aimed
at the addresses and ports its rules name (and just beside them), each decides as the plain
reading does."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from pathlib import Path

from storestack.devices.lint import Packet, Verdict
from storestack.devices.lint.cisco_xe import _acl_entries, _entries_verdict
from storestack.devices.lint.huawei_vrp import _acls, _filter_rules, acl_verdict
from storestack.devices.lint.linetree import Line, parse, top

GOLDEN = Path(__file__).parent / "golden"


def _walked(acl: Line, packet: Packet) -> Verdict:
    """`acl_verdict` with every rule's checks walked in its order (nothing folded)."""
    for number, text, permit, matcher in _filter_rules(acl.signature):
        matches = dataclasses.replace(matcher, folded=None).matches(packet)
        if (permit if matches is None else matches):
            return Verdict(permit, number, text)
    return Verdict(True, acl.number, f"{acl.text}: no rule matches, and a traffic-filter passes that")


def _packets(acl: Line, source_word: str = " source ", destination_word: str = " destination ") -> list[Packet]:
    """Packets from each rule's source address to its destination (any address where the rule
    names none), and from just beside them, of each kind the isolation lint sends."""
    kinds: list[tuple[str, int | None, tuple[int, int] | None]] = [
        ("tcp", 22, None), ("tcp", 179, None), ("udp", 161, None), ("udp", 3784, None), ("udp", 53, None),
        ("udp", 40000, None), ("icmp", None, None), ("icmp", None, (0, 0)), ("icmp", None, (3, 4)),
    ]  # fmt: skip
    pairs: set[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] = set()
    for rule in acl.children:
        source = re.search(source_word + r"(\d+\.\d+\.\d+\.\d+)", rule.text)
        destination = re.search(destination_word + r"(\d+\.\d+\.\d+\.\d+)", rule.text)
        low = ipaddress.IPv4Address(source.group(1) if source else "10.64.0.9")
        high = ipaddress.IPv4Address(destination.group(1) if destination else "10.0.1.20")
        pairs |= {(low, high), (low + 1, high), (low, high + 1)}
    return [Packet(protocol, source, destination, port, icmp=icmp) for source, destination in sorted(pairs) for protocol, port, icmp in kinds]


def test_the_folded_rules_decide_as_the_rules_walked_in_order() -> None:
    text = (GOLDEN / "huawei_vrp" / "hub.cfg").read_text()
    acls = {id(acl): acl for acl in _acls(parse(text, ("#",))).values()}.values()
    rules = [rule for acl in acls for rule in _filter_rules(acl.signature)]
    assert len(acls) >= 10 and len(rules) > 300
    assert sum(rule[3].folded is not None for rule in rules) > 0.9 * len(rules)
    forwarded = 0
    for acl in acls:
        for packet in _packets(acl):
            verdict = acl_verdict(acl, packet)
            assert verdict == _walked(acl, packet), (acl.text, packet)
            forwarded += verdict.forwarded and verdict.line != acl.number
    assert forwarded  # some packets are let through by a rule, not only refused


def test_the_ios_xe_entries_decide_as_their_networks_read_with_ipaddress() -> None:
    text = (GOLDEN / "cisco_xe" / "hub.cfg").read_text()
    acls = [acl for acl in top(parse(text, ("!",)), "ip", "access-list") if acl.words[2:3] == ["extended"]]
    assert len(acls) >= 5
    forwarded = 0
    for acl in acls:
        entries = _acl_entries(acl)
        assert entries
        # any address (the first of an entry, ignoring `host`) as the source and the second as
        # the destination: a packet matching an entry's addresses and one beside them
        for packet in _packets(acl, r"(?:permit|deny) \S+ (?:host )?", r"\d+\.\d+\.\d+\.\d+ (?:\S+ )?(?:host )?"):
            # the plain reading: the entries whose networks hold the packet's addresses
            # (`ipaddress`), tested against no address again
            held = [
                (*entry[:9], (0, 0, 0, 0))
                for entry in entries
                if entry[8]
                or (
                    (entry[3] is None or packet.source in entry[3])
                    and (entry[5] is None or packet.destination in entry[5])
                )
            ]
            verdict = _entries_verdict(acl, entries, packet)
            assert verdict == _entries_verdict(acl, held, packet), (acl.text, packet)
            forwarded += verdict.forwarded
    assert forwarded
