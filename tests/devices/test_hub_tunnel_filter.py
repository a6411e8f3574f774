"""What a VRP store's hub tunnels let reach the router itself. An AR's interzone firewall judges
what it forwards between zones, not what is addressed to the router, so without a filter on the
tunnels any source in the overlay (an HQ or cloud host, through a hub) reached the router's DNS
proxy, its web system, NTP, BGP and BFD at every one of its addresses. Each hub tunnel now takes
in FROM-HUBS: what an IOS-XE store's OVERLAY-TO-SELF passes (BGP and BFD between the tunnel's
two ends, SSH and SNMP from the management ranges, ICMP) and the answers to the router's own
NTP, HWTACACS and DNS requests at its loopback; traffic for the segments passes on to the
interzone firewall. Read from the rendered config, tunnel by tunnel, as the router filters."""

from __future__ import annotations

import ipaddress

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import Packet, huawei_vrp
from storestack.devices.lint.linetree import Line, interface_address, parse, top, tunnel_id
from storestack.devices.render import render_store
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

_ELSEWHERE = ipaddress.IPv4Address("10.0.1.99")  # an HQ host outside the management ranges


@pytest.mark.parametrize("shape", ["dual-wan", "lte-only", "mall-guest", "aws"])
def test_a_hub_tunnel_lets_reach_the_router_only_bgp_bfd_management_and_answers(fleet: Fleet, shape: str) -> None:
    store_id = SHAPES[shape]
    chain = on_platform(fleet, "huawei_vrp", hubs="frr")
    (config,) = render_store(chain, store_id)
    root = parse(config.text, ("#",))
    acls = {line.words[2]: line for line in top(root, "acl", "name")}
    intent = NetworkIntent(chain).store(store_id)
    store = chain.stores[store_id]
    hubs = {t.id: t for t in intent.tunnels if t.kind == "store-hub"}
    loopback = store.appliances[0].loopback
    mgmt = [net.network_address + 5 for net in intent.management.ranges]
    servers = intent.management
    segments = list(store.segments.values())
    router = [
        loopback,
        *(s.gateway for s in segments),
        *(address.ip for i in top(root, "interface") if i.words[1].startswith("Tunnel") and (address := interface_address(i))),
    ]
    seen = set()
    for interface in top(root, "interface"):
        tunnel = hubs.get(tunnel_id(interface.child_texts()) or "")
        if tunnel is None:
            continue
        seen.add(tunnel.id)
        name = next((t.split()[-1] for t in interface.child_texts() if t.startswith("traffic-filter inbound acl name")), "")
        acl = acls.get(name)
        assert acl is not None, f"{interface.text}: nothing filters what it takes in for the router"

        def passes(packet: Packet, acl: Line = acl) -> bool:
            return huawei_vrp.acl_verdict(acl, packet).forwarded

        assert tunnel.local_inside is not None and tunnel.peer_inside is not None
        own, far = tunnel.local_inside.ip, tunnel.peer_inside
        # The tunnel's own BGP session and BFD, from the hub's end of it.
        assert passes(Packet("tcp", far, own, 179)) and passes(Packet("udp", far, own, 3784)), interface.text
        # Management from the HQ ranges; the answers of the HQ servers the router asks; ping.
        for source in mgmt:
            assert passes(Packet("tcp", source, loopback, 22)) and passes(Packet("udp", source, loopback, 161))
        for server in servers.ntp_servers:
            assert passes(Packet("udp", server, loopback, 123)), interface.text
        for server in servers.dns_forwarders:
            assert passes(Packet("udp", server, loopback, 49152)), interface.text
        assert passes(Packet("icmp", _ELSEWHERE, loopback)), interface.text
        # Nothing else reaches the router, at any of its addresses: not the DNS proxy, the web
        # system, NTP, BGP or SNMP from the rest of HQ, nor more than BGP and BFD from the hub's
        # end, nor the web system from the management ranges (not the intent's management).
        for address in router:
            for source in (_ELSEWHERE, far):
                for protocol, port in (("udp", 53), ("tcp", 53), ("tcp", 80), ("tcp", 443), ("udp", 123), ("tcp", 22)):
                    assert not passes(Packet(protocol, source, address, port)), (interface.text, source, protocol, port, address)
            if address != own:
                assert not passes(Packet("tcp", far, address, 179)), (interface.text, address)
            for source in mgmt:
                assert not passes(Packet("tcp", source, address, 443)), (interface.text, address)
        # Traffic for the segments passes on, for the interzone firewall to judge.
        for segment in segments:
            assert passes(Packet("tcp", _ELSEWHERE, segment.subnet.network_address + 10, 443)), interface.text
    assert seen == set(hubs)
