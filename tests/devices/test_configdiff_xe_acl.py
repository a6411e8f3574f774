"""An IOS-XE push that renumbers an ACL never lets through, line by line, what the ACL denies
before and after it.

IOS-XE applies each line of a push as it arrives. An entry put in the middle of an ACL moves
every later entry to the next sequence number, so the push deletes those entries and adds them
again. Deleted from the top, the ACL held for a moment its trailing permit without the denies
above it: the office zone's `permit ip <office> any` without `deny ip <office> 10.0.0.0/8`, so
an office host could open a session to the payment service (the zone firewall keeps an inspected
session after the push), and a hub's store filter forwarded a store's traffic to another store.
Deleted from the bottom and added from the top, the ACL is at every moment the start of the old
or of the new one: it passes nothing either of them denies.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from storestack.devices.configdiff import compute_diff
from storestack.devices.lint import Packet
from storestack.devices.lint.cisco_xe import acl_verdict
from storestack.devices.lint.linetree import parse, top

GOLDEN = Path(__file__).parent / "golden" / "cisco_xe"

# An office host opening a connection to the payment service, which the office's overlay ACL
# denies (HQ but payment, HQ POS and management).
_OFFICE_TO_PAYMENT = Packet("tcp", ipaddress.IPv4Address("10.64.2.70"), ipaddress.IPv4Address("10.0.10.5"), 443)
# The management workstation's SSH to a store's loopback: the push's own session, which reaches
# the router from the overlay through OVERLAY-TO-SELF (`pass`: every packet is read against the
# ACL as it stands).
_PUSH_TO_STORE = Packet("tcp", ipaddress.IPv4Address("10.0.250.10"), ipaddress.IPv4Address("10.255.0.4"), 22)
# A store's POS host towards another store's POS, which the hub's store filter denies.
_STORE_TO_STORE = Packet("tcp", ipaddress.IPv4Address("10.64.0.10"), ipaddress.IPv4Address("10.64.2.10"), 443)


def _insert_entry(config: str, acl: str, after: int, entry: str) -> str:
    """`config` with `entry` put into ACL `acl` after its entry `after`, the later entries moved
    up one sequence number (10 apart), as a render with one more rule there numbers them."""
    lines: list[str] = []
    inside = False
    for line in config.splitlines():
        if not line[:1].isspace():
            inside = line == f"ip access-list extended {acl}"
        elif inside:
            number, rest = line.strip().split(" ", 1)
            if int(number) > after:
                if int(number) == after + 10:
                    lines.append(f" {after + 10} {entry}")
                line = f" {int(number) + 10} {rest}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _entries(config: str, acl: str) -> dict[int, str]:
    header = f"ip access-list extended {acl}"
    block = next(line for line in top(parse(config, ("!",)), "ip", "access-list", "extended") if line.text == header)
    return {int(child.words[0]): " ".join(child.words[1:]) for child in block.children}


def _states_while_pushed(running: str, intended: str, acl: str) -> list[dict[int, str]]:
    """The ACL's entries after each line of the push that runs inside it."""
    entries = _entries(running, acl)
    states = [dict(entries)]
    inside = False
    for line in compute_diff(running, intended, "cisco_xe").remediation:
        if line == f"ip access-list resequence {acl} 10 10":
            entries = {10 * (i + 1): entries[n] for i, n in enumerate(sorted(entries))}
            states.append(dict(entries))
        if not line[:1].isspace():
            inside = line == f"ip access-list extended {acl}"
            continue
        words = line.split()
        if not inside or words == ["exit"]:
            continue
        if words[0] == "no":
            del entries[int(words[1])]
        else:
            assert int(words[0]) not in entries, f"{acl}: sequence number {words[0]} still held"
            entries[int(words[0])] = " ".join(words[1:])
        states.append(dict(entries))
    return states


def _passes(acl: str, entries: dict[int, str], packet: Packet) -> bool:
    text = f"ip access-list extended {acl}\n" + "".join(f" {n} {entries[n]}\n" for n in sorted(entries))
    block = next(iter(top(parse(text, ("!",)), "ip", "access-list", "extended")))
    return acl_verdict(block, packet).forwarded


def test_an_office_host_never_reaches_the_payment_service_while_its_acl_is_renumbered() -> None:
    acl = "OFFICE-TO-OVERLAY"
    running = (GOLDEN / "dual-wan.cfg").read_text()
    intended = _insert_entry(running, acl, 10, "permit ip 10.64.2.64 0.0.0.63 10.0.0.8 0.0.0.7")
    assert not _passes(acl, _entries(running, acl), _OFFICE_TO_PAYMENT)
    assert not _passes(acl, _entries(intended, acl), _OFFICE_TO_PAYMENT)
    states = _states_while_pushed(running, intended, acl)
    assert states[-1] == _entries(intended, acl)
    assert [n for n, state in enumerate(states) if _passes(acl, state, _OFFICE_TO_PAYMENT)] == []


def test_a_hub_never_forwards_between_stores_while_a_store_filter_is_renumbered() -> None:
    acl = "FROM-STORE-nw-0001"
    running = (GOLDEN / "hub.cfg").read_text()
    intended = _insert_entry(running, acl, 230, "permit ip 10.64.1.0 0.0.0.63 10.0.0.0 0.0.255.255")
    states = _states_while_pushed(running, intended, acl)
    assert states[-1] == _entries(intended, acl)
    assert [n for n, state in enumerate(states) if _passes(acl, state, _STORE_TO_STORE)] == []


def test_renumbered_entries_are_deleted_from_the_bottom_and_added_from_the_top() -> None:
    """Entries both sides hold in another order (no in-place renumbering keeps them): deleted
    from the highest number down, then added from the lowest up."""
    acl = "OFFICE-TO-OVERLAY"
    running = (GOLDEN / "dual-wan.cfg").read_text()
    first, second = _entries(running, acl)[10], _entries(running, acl)[20]
    intended = running.replace(f" 10 {first}\n 20 {second}\n", f" 10 {second}\n 20 {first}\n")
    assert intended != running
    sent = [line.split() for line in compute_diff(running, intended, "cisco_xe").remediation if re.match(r"^\s+(no )?\d+ ", line)]
    deleted = [int(words[1]) for words in sent if words[0] == "no"]
    added = [int(words[0]) for words in sent if words[0] != "no"]
    assert deleted == sorted(deleted, reverse=True) and added == sorted(added)
    assert sent.index(next(w for w in sent if w[0] != "no")) > max(i for i, w in enumerate(sent) if w[0] == "no")


def test_a_new_tunnel_never_cuts_the_push_that_adds_it() -> None:
    """A store that gains a tunnel (a WAN link, a hub added to the fleet, a hub's BFD) takes one
    more entry in OVERLAY-TO-SELF after its tunnels' BGP entries, before the management ranges'
    SSH entry. Renumbered, the SSH entry was deleted and added again, and in between the router
    dropped the push's own SSH. The new entry goes in between instead, and the ACL is renumbered
    in place: the SSH entry is held throughout, and the ACL never holds an entry of neither side."""
    acl = "OVERLAY-TO-SELF"
    running = (GOLDEN / "dual-wan.cfg").read_text()
    last_bgp = max(n for n, entry in _entries(running, acl).items() if entry.endswith(" eq bgp"))
    intended = _insert_entry(running, acl, last_bgp, "permit tcp host 100.64.0.40 host 100.64.0.41 eq bgp")
    assert _passes(acl, _entries(running, acl), _PUSH_TO_STORE)
    states = _states_while_pushed(running, intended, acl)
    assert states[-1] == _entries(intended, acl)
    assert [n for n, state in enumerate(states) if not _passes(acl, state, _PUSH_TO_STORE)] == []
    either = set(_entries(running, acl).values()) | set(_entries(intended, acl).values())
    assert all(set(state.values()) <= either for state in states)


def test_a_renumbered_acl_never_holds_one_entry_under_two_numbers() -> None:
    """IOS ignores an entry that matches one it holds under another number: a push that added
    the moved entry before deleting it would leave the ACL without it."""
    acl = "SELF-TO-OVERLAY"
    running = (GOLDEN / "dual-wan.cfg").read_text()
    intended = _insert_entry(running, acl, 40, "permit tcp host 100.64.0.5 host 100.64.0.40 eq bgp")
    held: set[str] = set(_entries(running, acl).values())
    for state in _states_while_pushed(running, intended, acl):
        assert len(set(state.values())) == len(state)
        held = set(state.values())
    assert held == set(_entries(intended, acl).values())
