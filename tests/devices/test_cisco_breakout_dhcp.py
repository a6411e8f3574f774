"""What an IOS-XE store sends to HQ never leaves by a DHCP-addressed guest breakout's default.

The breakout link stays in the global table (guest NAT). A DHCP client installs a default route
via the lease's router at distance 254 (ipSpace.net, "DHCP response sets default route"), beside
the hubs' BGP routes: while a hub announces HQ, BGP's routes win; once every hub has withdrawn
them (every tunnel down, or both hubs without the DC core) the router's own syslog, NTP, DNS and
TACACS+ to HQ followed that default out of the breakout port, unencrypted (the self zone has no
pair to the WAN zone, so nothing stops them). A static breakout's table has no default at all."""

from __future__ import annotations

import ipaddress

from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint.linetree import parse, top
from storestack.devices.render import render_store
from storestack.inventory import Fleet

_DHCP_DEFAULT = (ipaddress.IPv4Network("0.0.0.0/0"), "dhcp-default")


def _dhcp_breakout(fleet: Fleet) -> str:
    """The mall store (guest Wi-Fi, AWS tunnels left out: they need a static address) on IOS-XE
    with its guest breakout link, the fibre, addressed by DHCP."""
    fleet = on_platform(fleet, "cisco_xe")
    store = fleet.stores[SHAPES["mall-guest"]]
    wan = [
        link.model_copy(update={"addressing": "dhcp", "address": None, "gateway": None}) if index == 0 else link
        for index, link in enumerate(store.wan)
    ]
    store = store.model_copy(update={"wan": wan, "cloud": store.cloud.model_copy(update={"aws_region": None})})
    (config,) = render_store(Fleet(fleet.spec, fleet.hubs, {**fleet.stores, store.id: store}, fleet.root), store.id)
    return config.text


def _global_static_routes(text: str) -> list[tuple[ipaddress.IPv4Network, str]]:
    """The global table's static routes (`ip route NET MASK TARGET ...`), VRF routes left out."""
    routes = []
    for line in top(parse(text, ("!",)), "ip", "route"):
        if line.words[2] == "vrf":
            continue
        net = ipaddress.IPv4Network(f"{line.words[2]}/{line.words[3]}")
        routes.append((net, line.words[4]))
    return routes


def _exit(routes: list[tuple[ipaddress.IPv4Network, str]], destination: ipaddress.IPv4Address) -> str:
    """Where the global table sends `destination` with no BGP route in it: the longest match."""
    matches = [(net, target) for net, target in routes if destination in net]
    return max(matches, key=lambda match: match[0].prefixlen)[1]


def test_the_routers_traffic_to_hq_is_discarded_not_sent_by_the_breakout_default(fleet: Fleet) -> None:
    text = _dhcp_breakout(fleet)
    breakout = next(i for i in top(parse(text, ("!",)), "interface") if any(c.words == ["ip", "nat", "outside"] for c in i.children))
    assert any(c.words == ["ip", "address", "dhcp"] for c in breakout.children)
    assert not any(c.words[:2] == ["vrf", "forwarding"] for c in breakout.children)  # the global table
    routes = [*_global_static_routes(text), _DHCP_DEFAULT]
    management = fleet.spec.management
    servers = [*management.ntp_servers, *management.syslog_servers, *management.tacacs_servers, *management.dns_forwarders]
    assert servers
    for server in servers:
        assert _exit(routes, ipaddress.IPv4Address(str(server))) == "Null0", server
    for prefix in fleet.spec.ip_plan.management:
        assert _exit(routes, next(prefix.hosts())) == "Null0"
    # The hubs' tunnel far ends still leave by the lease's router, and an internet host (a guest's
    # flows are policy-routed, the router's echo replies follow the default) is left to the default.
    assert {target for net, target in routes if net.prefixlen == 32 and target.startswith("GigabitEthernet")}
    assert _exit(routes, ipaddress.IPv4Address("192.0.2.77")) == "dhcp-default"


def test_a_static_breakout_keeps_its_table_as_it_was(fleet: Fleet) -> None:
    """No default in a static breakout's global table, so nothing to shadow: no discard routes."""
    (config,) = render_store(on_platform(fleet, "cisco_xe"), SHAPES["mall-guest"])
    targets = {str(net): target for net, target in _global_static_routes(config.text)}
    assert "10.0.0.0/16" not in targets
