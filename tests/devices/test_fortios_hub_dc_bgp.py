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


def test_a_fortios_hub_takes_bfd_on_its_dc_port_from_the_other_hubs_only(fleet: Fleet) -> None:
    """BFD enabled for the VDOM reaches every interface that inherits it, the DC port among
    them. On the DC LAN only the hub-hub sessions run BFD (`SESSION_BFD`; none with the DC core),
    so only the other hubs reach the hub's BFD there, at its DC address; no core router, no other
    host on the LAN, nothing the DC edge routes in from the internet, and the other hubs at no
    other address of the hub; the store tunnels keep theirs."""
    fleet = on_platform(fleet, "fortinet")
    hub = NetworkIntent(fleet).hub("hq-hub1")
    parsed = parse(render_hub(fleet, "hq-hub1").text)
    verdict = local_in(parsed)
    own = hub.dc.address.ip
    interfaces = parsed["system interface"].entries
    (port,) = [e.name for e in interfaces if e.first("ip") == str(own)]
    addresses = [ipaddress.IPv4Address(ip) for e in interfaces if (ip := e.first("ip"))]
    arrival = {port, "any"}
    dc_sessions = [s for s in hub.sessions if s.kind == "hub-dc"]
    hub_sessions = [s for s in hub.sessions if s.kind == "hub-hub"]
    assert dc_sessions and all(s.bfd is None for s in dc_sessions)
    assert hub_sessions and all(s.bfd_timers is not None for s in hub_sessions)
    peers = (*hub.dc.routers, *(s.peer_address for s in hub_sessions), own)
    stranger = next(a for a in hub.dc.address.network.hosts() if a not in peers)
    internet = ipaddress.IPv4Address("198.18.0.1")
    for source in (*(s.peer_address for s in dc_sessions), stranger, internet):
        for address in addresses:
            refused = verdict(arrival, Packet("udp", source, address, 3784))
            assert not refused.forwarded, (source, address, refused)
    for session in hub_sessions:
        assert verdict(arrival, Packet("udp", session.peer_address, own, 3784)).forwarded
        for address in addresses:
            if address != own:
                assert not verdict(arrival, Packet("udp", session.peer_address, address, 3784)).forwarded
    # A store tunnel's BFD between its own two inside addresses still reaches the hub.
    tunnel = next(e for e in interfaces if e.first("type") == "tunnel" and e.first("bfd") == "enable")
    near, far = ipaddress.IPv4Address(tunnel.first("ip") or ""), ipaddress.IPv4Address(tunnel.get("remote-ip")[0])
    zones = {z.name for z in parsed["system zone"].entries if tunnel.name in z.get("interface")}
    assert verdict({tunnel.name, "any", *zones}, Packet("udp", far, near, 3784)).forwarded
