"""What an IOS-XE store sends from its guest breakout port's own address leaves by that port.

The breakout link stays in the global table (guest NAT), where the hubs' BGP default leads into
the overlay. The router answers the carrier's pings on every WAN port (the port's zone pair to
the self zone passes echo requests, control plane policing holds them to the intent's rate), and
a router's own packets follow its routing table (or its local policy: Cisco TAC, "Policy Routing
and its Impact on ESP and ISAKMP Packets with Cisco IOS", document 116278): without a local
policy the echo reply from the breakout address rode the default into a hub tunnel, where the
hub's FROM-STORES filter dropped it, so the carrier's ping of that port was never answered."""

from __future__ import annotations

import ipaddress

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import Packet, cisco_xe
from storestack.devices.lint.linetree import Line, interface_address, parse, top
from storestack.devices.render import render_store
from storestack.inventory import Fleet

_INTERNET = ipaddress.IPv4Address("192.0.2.77")  # a carrier's monitoring host
_HQ_MANAGEMENT = ipaddress.IPv4Address("10.0.250.10")


def _local_next_hop(root: Line, packet: Packet) -> str | None:
    """The next hop the router's local policy gives a packet it sends itself, None when no
    sequence takes it (the routing table decides)."""
    policy = next((line for line in top(root, "ip", "local", "policy", "route-map")), None)
    if policy is None:
        return None
    acls = {line.words[3]: line for line in top(root, "ip", "access-list", "extended")}
    sequences = sorted(
        (line for line in top(root, "route-map", policy.words[4]) if len(line.words) > 3),
        key=lambda line: int(line.words[3]),
    )
    for sequence in sequences:
        names = [w for line in sequence.children if line.words[:3] == ["match", "ip", "address"] for w in line.words[3:]]
        if names and not any(cisco_xe.acl_verdict(acls[name], packet).forwarded for name in names):
            continue
        if sequence.words[2] != "permit":
            return None
        hop = next((line.words[3] for line in sequence.children if line.words[:3] == ["set", "ip", "next-hop"]), None)
        return hop
    return None


@pytest.mark.parametrize("shape", ["mall-guest", "aws"])
def test_the_breakout_ports_echo_replies_leave_by_its_gateway(fleet: Fleet, shape: str) -> None:
    chain = on_platform(fleet, "cisco_xe")
    (config,) = render_store(chain, SHAPES[shape])
    root = parse(config.text, ("!",))
    (breakout,) = [i for i in top(root, "interface") if any(c.words == ["ip", "nat", "outside"] for c in i.children)]
    assert not any(c.words[:2] == ["vrf", "forwarding"] for c in breakout.children)  # the global table
    address = interface_address(breakout)
    assert address is not None
    # The gateway the breakout's tunnel far ends are routed through (a host route each).
    gateways = {
        line.words[4] for line in top(root, "ip", "route") if len(line.words) == 5 and line.words[3] == "255.255.255.255"
    }
    gateways &= {str(host) for host in address.network.hosts()}
    assert len(gateways) == 1
    reply = Packet("icmp", address.ip, _INTERNET)
    assert _local_next_hop(root, reply) == next(iter(gateways))
    # What the router sends from its loopback (to HQ, through the overlay) is left to the routing table.
    loopback = next(i for i in top(root, "interface", "Loopback0"))
    own = interface_address(loopback)
    assert own is not None
    assert _local_next_hop(root, Packet("icmp", own.ip, _HQ_MANAGEMENT)) is None
