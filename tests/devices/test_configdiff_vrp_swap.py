"""A VRP push that changes a bound filter's rules never lets through, line by line, what the old
and the new filter both deny, nor drops what both permit.

An AR in immediate validation applies each line as typed. A deny-list closing with `permit ip`
(WAN-IN on the WAN ports, each segment's <TAG>-IN) whose change deletes rules and adds others
(a rule put in above others moves each later one to the next rule ID) held, between the
deletions and the additions, only the rules both sides hold: the closing `permit ip` without the
denies above it, so a WAN port took telnet and SSH to the router. Such a filter is built whole
under its other name, each `traffic-filter` re-sent naming it (never undone first), then the old
one deleted; the next diff compares it by content (0 changes), and a later change builds it
under the first name again.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from testsupport.rendering import vrp_acl_with_rule

from storestack.devices.configdiff import compute_diff, remediation_lines
from storestack.devices.lint import Packet
from storestack.devices.lint.huawei_vrp import acl_verdict
from storestack.devices.lint.linetree import parse

GOLDEN = Path(__file__).parent / "golden" / "huawei_vrp"

_RULE = re.compile(r"^rule (\d+) (.*)$")
_ACL = re.compile(r"^acl name (\S+) (\d+)$")
# A binding, or its deletion by direction alone (`undo traffic-filter { inbound | outbound }`,
# AR command reference "traffic-filter (Interface view)", EDOC1100064351).
_BINDING = re.compile(r"^(?:(undo )traffic-filter (inbound|outbound)|traffic-filter (inbound|outbound) acl name (\S+))$")


def _address(text: str) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(text)


@dataclass
class _Device:
    """ACLs and traffic-filter bindings of a VRP config, changed one pushed line at a time."""

    acls: dict[str, dict[int, str]] = field(default_factory=dict)
    bindings: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def holding(cls, config: str) -> _Device:
        device = cls()
        device.apply([line.replace(" ", "  ", 1) if line.startswith(" ") else line for line in config.splitlines()])
        return device

    def apply(self, lines: list[str] | tuple[str, ...]) -> list[_Device]:
        """Each line applied; the device's state after each."""
        states: list[_Device] = []
        header = ""
        for raw in lines:
            line = raw.strip()
            if not raw[:1].isspace():
                header = line
                if (found := _ACL.match(line)) is not None:
                    self.acls.setdefault(found.group(1), {})
                elif line.startswith("undo acl name "):
                    name = line.split()[3]
                    assert name not in self.bindings.values(), f"{name} deleted while bound"
                    del self.acls[name]
            elif line == "quit":
                continue
            elif (found := _ACL.match(header)) is not None:
                rules = self.acls[found.group(1)]
                if line.startswith("undo rule "):
                    del rules[int(line.split()[2])]
                elif (rule := _RULE.match(line)) is not None:
                    assert int(rule.group(1)) not in rules, f"rule {rule.group(1)} still held"
                    rules[int(rule.group(1))] = rule.group(2)
            elif header.startswith("interface ") and (found := _BINDING.match(line)) is not None:
                if found.group(1):
                    del self.bindings[(header, found.group(2))]
                else:
                    assert found.group(4) in self.acls, f"{found.group(4)} bound before it exists"
                    self.bindings[(header, found.group(3))] = found.group(4)
            states.append(_Device({k: dict(v) for k, v in self.acls.items()}, dict(self.bindings)))
        return states

    def passes(self, interface: str, packet: Packet) -> bool:
        """Whether `interface`'s inbound filter passes `packet` (what no rule matches passes)."""
        name = self.bindings.get((f"interface {interface}", "inbound"))
        if name is None:
            return True
        rules = self.acls[name]
        text = f"acl name {name} 3999\n" + "".join(f" rule {n} {rules[n]}\n" for n in sorted(rules))
        verdict = acl_verdict(parse(text, ("#",)).children[0], packet)
        return verdict.forwarded if verdict.rule.startswith("rule ") else True


# (golden, ACL, interface it is bound to inbound, rule put in after rule N, packets)
_WAN = "GigabitEthernet0/0/1"
_POS = "GigabitEthernet0/0/0.10"
_INTERNET = _address("203.0.113.9")
_CASES = [
    (
        "dual-wan.cfg",
        "WAN-IN",
        _WAN,
        20,
        "deny tcp destination-port eq 8443",
        [
            Packet("tcp", _INTERNET, _address("198.51.100.6"), 22),  # SSH to the router: both deny
            Packet("tcp", _INTERNET, _address("198.51.100.6"), 443),  # the web system: both deny
            Packet("udp", _INTERNET, _address("198.51.100.6"), 123),  # NTP: both deny
            Packet("tcp", _INTERNET, _address("198.51.100.6"), 8443),  # the new deny
            Packet("udp", _INTERNET, _address("198.51.100.6"), 4500),  # IKE NAT-T: both permit
        ],
    ),
    (
        "dual-wan.cfg",
        "POS-IN",
        _POS,
        20,
        "permit udp destination 10.64.2.1 0 destination-port eq ntp",
        [
            Packet("tcp", _address("10.64.2.10"), _address("10.64.2.1"), 22),  # SSH to its gateway
            Packet("tcp", _address("10.64.2.10"), _address("10.255.0.4"), 22),  # to the loopback
            Packet("udp", _address("10.64.2.10"), _address("10.64.2.1"), 67),  # DHCP: both permit
            Packet("tcp", _address("10.64.2.10"), _address("10.0.10.5"), 443),  # through: both permit
            Packet("udp", _address("10.64.2.10"), _address("10.64.2.1"), 123),  # the new permit
        ],
    ),
    (
        # A hub's store filter, an allow-list closing with `deny ip`: a store's traffic to
        # another store, which both deny, and the store's own to HQ, which both permit.
        "hub.cfg",
        "FROM-STORE-nw-0001",
        "Tunnel0/0/1",
        75,
        "permit ip source 10.64.1.0 0.0.0.63 destination 10.0.0.0 0.0.255.255",
        [
            Packet("tcp", _address("10.64.0.10"), _address("10.64.2.10"), 443),
            Packet("tcp", _address("192.0.2.7"), _address("198.51.100.9"), 443),  # spoofed
            Packet("tcp", _address("10.64.0.10"), _address("10.0.10.5"), 443),
            Packet("tcp", _address("10.64.1.10"), _address("10.0.10.5"), 443),  # the new permit
        ],
    ),
]


def _allowed(old: _Device, new: _Device, interface: str, packet: Packet, state: _Device) -> bool:
    before, after = old.passes(interface, packet), new.passes(interface, packet)
    return state.passes(interface, packet) in {before, after}


@pytest.mark.parametrize(("golden", "acl", "interface", "after", "rule", "packets"), _CASES, ids=[c[1] for c in _CASES])
def test_no_line_of_a_bound_filter_change_passes_what_both_deny_or_drops_what_both_permit(
    golden: str, acl: str, interface: str, after: int, rule: str, packets: list[Packet]
) -> None:
    running = (GOLDEN / golden).read_text()
    intended = vrp_acl_with_rule(running, acl, after, rule)
    old, new = _Device.holding(running), _Device.holding(intended)
    assert any(old.passes(interface, p) != new.passes(interface, p) for p in packets)  # the change matters
    diff = compute_diff(running, intended, "huawei_vrp")
    device = _Device.holding(running)
    states = device.apply(diff.remediation)
    for packet in packets:
        bad = [n for n, state in enumerate(states) if not _allowed(old, new, interface, packet, state)]
        assert bad == [], f"{packet}: lines {bad} of the push"
    assert all(device.passes(interface, p) == new.passes(interface, p) for p in packets)
    # The rollback, line by line from there, likewise; it ends where the push started.
    back = device.apply(diff.rollback)
    for packet in packets:
        assert [n for n, s in enumerate(back) if not _allowed(new, old, interface, packet, s)] == []
    assert device.acls == old.acls and device.bindings == old.bindings


@pytest.mark.parametrize(("golden", "acl", "interface", "after", "rule", "packets"), _CASES, ids=[c[1] for c in _CASES])
def test_a_rebuilt_filter_is_in_sync_and_the_next_change_builds_it_under_the_first_name(
    golden: str, acl: str, interface: str, after: int, rule: str, packets: list[Packet]
) -> None:
    running = (GOLDEN / golden).read_text()
    intended = vrp_acl_with_rule(running, acl, after, rule)
    diff = compute_diff(running, intended, "huawei_vrp")
    assert f"undo acl name {acl}" in diff.remediation
    assert not any(line.strip().startswith("undo traffic-filter") for line in (*diff.remediation, *diff.rollback))
    # The device as the push leaves it: the ACL under its other name.
    number = next(line.split()[3] for line in diff.remediation if line.startswith(f"acl name {acl}-B "))
    held = re.sub(rf"^acl name {re.escape(acl)} \d+$", f"acl name {acl}-B {number}", intended, flags=re.M)
    held = re.sub(rf"acl name {re.escape(acl)}$", f"acl name {acl}-B", held, flags=re.M)
    assert compute_diff(held, intended, "huawei_vrp").remediation == ()
    again = compute_diff(held, running, "huawei_vrp").remediation
    assert any(re.fullmatch(rf"acl name {re.escape(acl)} \d+", line) for line in again)
    assert again[-1] == f"undo acl name {acl}-B"


def test_a_push_cut_off_mid_swap_is_rolled_back_without_unbinding_or_deleting_a_bound_filter() -> None:
    # The push built WAN-IN-B and bound it on one WAN port when the session dropped: the
    # rollback to the backup binds WAN-IN again in place, then deletes WAN-IN-B.
    running = (GOLDEN / "dual-wan.cfg").read_text()
    intended = vrp_acl_with_rule(running, "WAN-IN", 20, "deny tcp destination-port eq 8443")
    diff = compute_diff(running, intended, "huawei_vrp")
    cut = diff.remediation.index("interface GigabitEthernet0/0/2")
    device = _Device.holding(running)
    device.apply(diff.remediation[:cut])
    assert device.bindings[(f"interface {_WAN}", "inbound")] == "WAN-IN-B"
    shown = _shown(running, diff.remediation[:cut])
    back = remediation_lines(shown, running, "huawei_vrp")
    assert not any(line.strip().startswith("undo traffic-filter") for line in back)
    states = device.apply(back)  # asserts no filter is deleted while bound
    old = _Device.holding(running)
    ssh = Packet("tcp", _INTERNET, _address("198.51.100.6"), 22)
    for interface in (_WAN, "GigabitEthernet0/0/2"):
        assert all(not state.passes(interface, ssh) for state in states)
        assert device.bindings[(f"interface {interface}", "inbound")] == "WAN-IN"
    assert device.acls == old.acls


def _shown(running: str, pushed: tuple[str, ...]) -> str:
    """The running config after `pushed` (new ACL blocks and binding changes only), as shown."""
    lines = running.splitlines()
    blocks: list[list[str]] = []
    for line in pushed:
        if not line[:1].isspace():
            blocks.append([line])
        elif line.strip() != "quit":
            blocks[-1].append(" " + line.strip())
    for block in blocks:
        if block[0].startswith("interface "):
            at = lines.index(block[0])
            end = next(i for i in range(at + 1, len(lines)) if not lines[i].startswith(" "))
            for child in block[1:]:
                lines = [
                    child if i in range(at, end) and line.startswith(" traffic-filter inbound") else line
                    for i, line in enumerate(lines)
                ]
        else:
            lines = [*block, "#", *lines]
    return "\n".join(lines) + "\n"
