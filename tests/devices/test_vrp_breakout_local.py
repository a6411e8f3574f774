"""What a VRP store sends from its guest breakout port's own address leaves by that port.

The breakout link stays in the global table (guest NAT), where the hubs' BGP default
(preference 20) leads into the overlay. WAN-IN and the interzone firewall leave the carrier's
pings of the port to the router, which answers them; an AR routes the packets it generates by
its local policy (`ip local policy-based-route`) before its routing table. Without one, the echo
reply from the breakout address rode the default into a hub tunnel, where OVERLAY-OUT (and the
hub's FROM-STORES) dropped it, so the carrier's ping of that port was never answered: what
IOS-XE's BREAKOUT-LOCAL fixed on its stores (tests/devices/test_cisco_breakout_echo.py)."""

from __future__ import annotations

import ipaddress

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import Packet, huawei_vrp
from storestack.devices.lint.linetree import Line, interface_address, parse, top
from storestack.devices.render import render_store
from storestack.inventory import Fleet

_INTERNET = ipaddress.IPv4Address("192.0.2.77")  # a carrier's monitoring host
_HQ_MANAGEMENT = ipaddress.IPv4Address("10.0.250.10")


def _local_next_hop(root: Line, packet: Packet) -> str | None:
    """The next hop the router's local policy gives a packet it sends itself, None when no
    node takes it (the routing table decides). A node's `if-match acl N` matches what a rule
    of ACL N matches (not what no rule does, which a traffic-filter would pass)."""
    applied = next(iter(top(root, "ip", "local", "policy-based-route")), None)
    if applied is None:
        return None
    acls = {line.words[-1]: line for line in top(root, "acl")}
    nodes = sorted(
        (line for line in top(root, "policy-based-route", applied.words[3]) if len(line.words) > 4),
        key=lambda line: int(line.words[4]),
    )
    for node in nodes:
        numbers = [line.words[2] for line in node.children if line.words[:2] == ["if-match", "acl"]]
        verdicts = [huawei_vrp.acl_verdict(acls[number], packet) for number in numbers]
        if any(not v.forwarded or v.line == acls[n].number for v, n in zip(verdicts, numbers, strict=True)):
            continue
        if node.words[2] != "permit":
            return None
        return next(
            (line.words[3] for line in node.children if line.words[:3] == ["apply", "ip-address", "next-hop"]), None
        )
    return None


@pytest.mark.parametrize("shape", ["mall-guest", "aws"])
def test_the_breakout_ports_echo_replies_leave_by_its_gateway(fleet: Fleet, shape: str) -> None:
    chain = on_platform(fleet, "huawei_vrp")
    (config,) = render_store(chain, SHAPES[shape])
    root = parse(config.text, ("#",))
    (breakout,) = [i for i in top(root, "interface") if any(c.words[:2] == ["nat", "outbound"] for c in i.children)]
    assert not any(c.words[:2] == ["ip", "binding"] for c in breakout.children)  # the global table
    address = interface_address(breakout)
    assert address is not None
    # The gateway the breakout's tunnel far ends are routed through (a host route each).
    gateways = {
        line.words[4]
        for line in top(root, "ip", "route-static")
        if len(line.words) == 5 and line.words[3] == "255.255.255.255"
    }
    gateways &= {str(host) for host in address.network.hosts()}
    assert len(gateways) == 1
    for reply in (Packet("icmp", address.ip, _INTERNET), Packet("icmp", address.ip, _INTERNET, icmp=(3, 3))):
        assert _local_next_hop(root, reply) == next(iter(gateways))
    # What the router sends from its loopback (to HQ, through the overlay) is left to the routing table.
    (loopback,) = top(root, "interface", "LoopBack0")
    own = interface_address(loopback)
    assert own is not None
    assert _local_next_hop(root, Packet("icmp", own.ip, _HQ_MANAGEMENT)) is None
