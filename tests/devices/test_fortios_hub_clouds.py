"""What a FortiOS hub takes in from its cloud VPNs (AWS, the OpenStack gateways), as the
intent says and IOS-XE's and VRP's FROM-CLOUDS spell it (`HubView.from_clouds`): BGP from each
tunnel's far end to the hub's end, nothing else to the hub itself, and through the hub only
the clouds' prefixes to HQ and the stores."""

from __future__ import annotations

import ipaddress
import re

from testsupport.rendering import on_platform

from storestack.devices.lint import ConfigFile, Packet
from storestack.devices.lint.fortinet import _nested, cloud_forwarding, hub_cloud_filter, parse
from storestack.devices.render import render_hub
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent


def _host(net: ipaddress.IPv4Network, index: int) -> ipaddress.IPv4Address:
    return net.network_address + index


def test_a_fortios_hub_takes_from_a_cloud_only_bgp_and_traffic_from_the_clouds_prefixes(fleet: Fleet) -> None:
    fleet = on_platform(fleet, "fortinet")
    hub = NetworkIntent(fleet).hub("hq-hub1")
    parsed = parse(render_hub(fleet, "hq-hub1").text)
    verdict = cloud_forwarding(parsed)
    sessions = [s for s in hub.sessions if s.kind in ("hub-aws", "hub-openstack")]
    assert len(sessions) == 3
    interfaces = parsed["system interface"].entries
    clouds = {str(s.local_address): s for s in sessions}
    tunnels = {e.name: clouds[e.first("ip") or ""] for e in interfaces if e.first("ip") in clouds}
    assert len(tunnels) == 3
    hq = next(net for net in sessions[0].announces if net.subnet_of(ipaddress.IPv4Network("10.0.0.0/16")))
    for tunnel, session in tunnels.items():
        far, near = session.peer_address, session.local_address
        assert verdict(tunnel, Packet("tcp", far, near, 179)).forwarded, tunnel
        # No ICMP, no service of the hub answers a cloud: not even a ping of the tunnel's own end.
        for packet in (Packet("icmp", far, near), Packet("tcp", far, near, 22), Packet("udp", far, near, 161)):
            assert not verdict(tunnel, packet).forwarded, (tunnel, packet)
        # Never from HQ's addresses (a cloud sending as HQ), nor to another cloud through the hub.
        refused = verdict(tunnel, Packet("tcp", _host(hq, 10), _host(hq, 20), 443))
        assert not refused.forwarded, (tunnel, refused)
        first, second = session.accepts[:2]
        assert not verdict(tunnel, Packet("tcp", _host(first, 1), _host(second, 1), 443)).forwarded
        # From the clouds' prefixes to HQ (the stores answer their own sessions to the clouds),
        # a server beside the DC core LAN (10.0.0.0/28), never a core router in it.
        for source in session.accepts:
            assert verdict(tunnel, Packet("tcp", _host(source, 1), _host(hq, 266), 443)).forwarded
            assert not verdict(tunnel, Packet("tcp", _host(source, 1), _host(hq, 2), 443)).forwarded


def test_the_lint_finds_a_fortios_cloud_vpn_taking_hq_sources_or_answering_pings(fleet: Fleet) -> None:
    fleet = on_platform(fleet, "fortinet")
    config = render_hub(fleet, "hq-hub1")
    hub = ConfigFile(config.filename, "fortinet", "hub", config.name, config.text)
    assert list(hub_cloud_filter(hub)) == []
    text = re.sub(
        r'(set name "CLOUD-TO-HQ-AWS1"\n(?:        [^\n]*\n)*?        set srcaddr )"CLOUD-SOURCES-AWS1"\n        set dstaddr "CLOUD-HQ"',
        # HQ's whole range as well: the DC core LAN, which holds the first host the lint sends
        # from, is no corporate range
        r'\1"CLOUD-HQ" "STORES-CORPORATE"\n        set dstaddr "CLOUD-HQ" "STORES-CORPORATE"',
        config.text,
    )
    text = text.replace('set dstaddr "os-ams-private-NEAR"\n        set action accept\n        set service "BGP"', 'set dstaddr "os-ams-private-NEAR"\n        set action accept\n        set service "BGP" "PING"')
    assert text.count('"CLOUD-HQ" "STORES-CORPORATE"\n        set dstaddr "CLOUD-HQ" "STORES-CORPORATE"') == 1 and '"BGP" "PING"' in text
    found = [f.message for f in hub_cloud_filter(ConfigFile(config.filename, "fortinet", "hub", config.name, text))]
    assert any(m.startswith("cloud VPN os-ams-private: local-in policy") and "(icmp from 169.254.252.2 to 169.254.252.1)" in m for m in found), found
    assert any("policy 7 (CLOUD-TO-HQ-AWS1)" in m and "10.0.0.0/16 from 10.0.0.0/16, no cloud's prefix" in m for m in found), found
    assert any("policy 7 (CLOUD-TO-HQ-AWS1)" in m and "another cloud's prefix" in m for m in found), found


def test_a_fortios_hub_takes_hq_and_the_relayed_stores_from_its_dc_port_into_its_cloud_vpns(fleet: Fleet) -> None:
    """From the DC LAN into a cloud VPN: HQ, and the stores whose own hub's cloud VPNs are down
    (that hub relays their cloud traffic across the DC LAN), reach the clouds' prefixes; nothing
    sent from a cloud's own prefixes goes back into a cloud."""
    fleet = on_platform(fleet, "fortinet")
    hub = NetworkIntent(fleet).hub("hq-hub1")
    config = render_hub(fleet, "hq-hub1")
    verdict = cloud_forwarding(parse(config.text))
    session = next(s for s in hub.sessions if s.kind == "hub-aws")
    stores = next(net for net in session.announces if net == ipaddress.IPv4Network("10.64.0.0/12"))
    hq = next(net for net in session.announces if net.subnet_of(ipaddress.IPv4Network("10.0.0.0/16")))
    dc = ViewBuilder(fleet).hub_view("hq-hub1").dc.ifname
    for tunnel in ("aws1-eu-west-1", "aws2-eu-west-1", "os-ams-private"):
        for source in (hq, stores):
            for destination in session.accepts:
                packet = Packet("tcp", _host(source, 1), _host(destination, 2), 443)
                assert verdict(dc, packet, tunnel).forwarded, (tunnel, packet)
        first, second = session.accepts[:2]
        assert not verdict(dc, Packet("tcp", _host(first, 1), _host(second, 2), 443), tunnel).forwarded, tunnel
    # The lint says so of the policy before it took the stores (HQ's corporate ranges both ways;
    # HQ's whole range too, the DC core LAN being no corporate range nor in CLOUD-HQ).
    assert list(hub_cloud_filter(ConfigFile(config.filename, "fortinet", "hub", config.name, config.text))) == []
    narrowed = config.text.replace(
        'set srcaddr "CLOUD-DESTINATIONS"\n        set dstaddr "CLOUD-SOURCES"',
        'set srcaddr "CLOUD-DST-10.0.0.0/16" "STORES-CORPORATE"\n        set dstaddr "CLOUD-HQ" "STORES-CORPORATE"',
    )
    assert narrowed != config.text
    found = [f.message for f in hub_cloud_filter(ConfigFile(config.filename, "fortinet", "hub", config.name, narrowed))]
    assert any(m.startswith("cloud VPN aws1-eu-west-1: no policy takes 10.64.0.1") and f"from {dc}" in m for m in found), found
    assert any(f"a cloud's own prefix, from {dc} into the cloud" in m for m in found), found


def test_both_tunnels_of_an_aws_vpn_route_the_cloud_so_either_passes_the_reverse_path_check(fleet: Fleet) -> None:
    """AWS's transit gateway spreads what it sends over both tunnels of a VPN connection (VPN
    ECMP support on), and the hub's cloud tunnels keep FortiOS's reverse path check, which takes
    a session's first packet only where a route back to its source leaves by the tunnel it came
    in on: both tunnels must hold the cloud's routes (eBGP multipath over two sessions that teach
    them alike), or every cloud-opened session to HQ hashed onto the other tunnel is dropped."""
    fleet = on_platform(fleet, "fortinet")
    hub = NetworkIntent(fleet).hub("hq-hub1")
    parsed = parse(render_hub(fleet, "hq-hub1").text)
    bgp = parsed["router bgp"]
    aws = [s for s in hub.sessions if s.kind == "hub-aws"]
    assert len(aws) == 2
    neighbours = {n.name: n for n in _nested(bgp.own, "neighbor")}
    taught = {(neighbours[str(s.peer_address)].first("route-map-in"), neighbours[str(s.peer_address)].first("remote-as")) for s in aws}
    assert len(taught) == 1, "the two AWS sessions teach the cloud's routes alike"
    assert bgp.own.first("ebgp-multipath") == "enable", "only the best AWS tunnel holds the cloud's routes"
    interfaces = parsed["system interface"].entries
    for session in aws:
        tunnel = next(e for e in interfaces if e.first("ip") == str(session.local_address))
        assert tunnel.first("src-check") != "disable", tunnel.name
