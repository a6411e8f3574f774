"""What a FortiOS hub takes on its DC core LAN port as BGP: the core routers and the other hubs,
to its DC address, and nobody else on that LAN (FortiOS otherwise opens TCP 179 to any address
once BGP runs), as the FRR hub's input chain and the IOS-XE and VRP hubs' WAN filters do."""

from __future__ import annotations

import ipaddress

from testsupport.rendering import on_platform

from storestack.devices.lint import Packet
from storestack.devices.lint.fortinet import local_in, parse
from storestack.devices.render import render_hub
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent


def test_a_fortios_hub_takes_bgp_on_its_dc_port_only_from_its_peers_there(fleet: Fleet) -> None:
    fleet = on_platform(fleet, "fortinet")
    hub = NetworkIntent(fleet).hub("hq-hub1")
    parsed = parse(render_hub(fleet, "hq-hub1").text)
    verdict = local_in(parsed)
    own = hub.dc.address.ip
    (port,) = [e.name for e in parsed["system interface"].entries if e.first("ip") == str(own)]
    arrival = {port, "any"}
    peers = [*hub.dc.routers, *(s.peer_address for s in hub.sessions if s.kind == "hub-hub")]
    assert len(peers) == 3
    for peer in peers:
        assert verdict(arrival, Packet("tcp", peer, own, 179)).forwarded, peer
    stranger = next(a for a in hub.dc.address.network.hosts() if a not in (*peers, own))
    refused = verdict(arrival, Packet("tcp", stranger, own, 179))
    assert not refused.forwarded, refused
    # To another of the hub's addresses, a peer is refused too: its neighbours are the DC address.
    assert not verdict(arrival, Packet("tcp", peers[0], ipaddress.IPv4Address(str(hub.public_address)), 179)).forwarded
    # Nothing else on the DC port changes: IKE from anywhere still reaches the public address.
    assert verdict(arrival, Packet("udp", stranger, ipaddress.IPv4Address(str(hub.public_address)), 500)).forwarded
