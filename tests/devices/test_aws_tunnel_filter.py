"""What an IOS-XE or VRP store takes in from its own AWS tunnels: BGP and ICMP from the tunnel's
far end to its own inside address, and traffic from the clouds' prefixes to its segments (the
zone firewall then admits only answers); nothing else. The AWS tunnels share the OVERLAY zone
with the hub tunnels, so without a filter of their own an AWS source, spoofed as the HQ
management range, reached SSH and SNMP on the router (OVERLAY-TO-SELF on IOS-XE; nothing on a
VRP router) as a hub tunnel's management traffic does. Read from the rendered config, tunnel by
tunnel, as the router filters."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import Packet, Verdict, cisco_xe, huawei_vrp
from storestack.devices.lint.linetree import Line, parse, top, tunnel_id
from storestack.devices.render import render_store
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

# Per platform: its comment separator, how an interface names its inbound filter, how an ACL is
# defined, and how the router filters with it.
_PLATFORMS: dict[str, tuple[str, str, tuple[str, ...], Callable[[Line, Packet], Verdict]]] = {
    "cisco_xe": ("!", "ip access-group", ("ip", "access-list", "extended"), cisco_xe.acl_verdict),
    "huawei_vrp": ("#", "traffic-filter inbound acl name", ("acl", "name"), huawei_vrp.acl_verdict),
}
_INTERNET = ipaddress.IPv4Address("198.51.100.80")


def _inbound(interface: Line, applied: str) -> str | None:
    for text in interface.child_texts():
        if text.startswith(applied) and (applied != "ip access-group" or text.endswith(" in")):
            return text.split()[-2] if applied == "ip access-group" else text.split()[-1]
    return None


@pytest.mark.parametrize("platform", sorted(_PLATFORMS))
@pytest.mark.parametrize("shape", ["aws", "mall-guest"])
def test_an_aws_tunnel_takes_in_only_bgp_icmp_from_its_far_end_and_cloud_traffic(
    fleet: Fleet, platform: str, shape: str
) -> None:
    store_id = SHAPES[shape]
    chain = on_platform(fleet, platform, hubs="frr")  # type: ignore[arg-type]
    (config,) = render_store(chain, store_id)
    separator, applied, defined, verdict_of = _PLATFORMS[platform]
    root = parse(config.text, (separator,))
    acls = {line.words[len(defined)]: line for line in top(root, *defined)}
    intent = NetworkIntent(chain).store(store_id)
    store = chain.stores[store_id]
    aws = {t.id: t for t in intent.tunnels if t.kind == "store-aws"}
    sessions = {s.tunnel: s for s in intent.sessions if s.kind == "store-aws"}
    assert aws, f"{shape} has no AWS tunnels"
    loopback = store.appliances[0].loopback
    mgmt = [net.network_address + 5 for net in intent.management.ranges]
    assert mgmt
    segments = [s for kind, s in store.segments.items() if kind != "guest-wifi"]
    seen = set()
    for interface in top(root, "interface"):
        tunnel = aws.get(tunnel_id(interface.child_texts()) or "")
        if tunnel is None:
            continue
        seen.add(tunnel.id)
        name = _inbound(interface, applied)
        acl = acls.get(name or "")
        assert acl is not None, f"{interface.text} takes everything in from AWS"

        def passes(packet: Packet, acl: Line = acl) -> bool:
            return verdict_of(acl, packet).forwarded

        assert tunnel.local_inside is not None and tunnel.peer_inside is not None
        own, far = tunnel.local_inside.ip, tunnel.peer_inside
        cloud_host = sessions[tunnel.id].accepts[0].network_address + 10
        # The tunnel's own BGP session and ICMP from AWS's end of it.
        assert passes(Packet("tcp", far, own, 179)), interface.text
        assert passes(Packet("icmp", far, own)), interface.text
        # A cloud host reaches the segments (the zone firewall admits only the answers).
        for segment in segments:
            assert passes(Packet("tcp", cloud_host, segment.subnet.network_address + 10, 443)), interface.text
        # Management from the HQ ranges, spoofed over AWS: to the loopback, the tunnel's own
        # address, a segment's gateway; nor pings or BGP from them.
        router = [loopback, own, *(s.gateway for s in segments)]
        for source in (*mgmt, cloud_host, _INTERNET):
            for address in router:
                for packet in (
                    Packet("tcp", source, address, 22),
                    Packet("udp", source, address, 161),
                    Packet("udp", source, address, 53),
                    Packet("icmp", source, address),
                    Packet("tcp", source, address, 179),
                ):
                    assert not passes(packet), (interface.text, packet)
        # Neither BGP from AWS's end to another of the router's addresses, nor anything from a
        # source outside the clouds to the segments.
        assert not passes(Packet("tcp", far, loopback, 179)), interface.text
        for source in (*mgmt, _INTERNET, far):
            assert not passes(Packet("tcp", source, segments[0].subnet.network_address + 10, 443)), interface.text
    assert seen == set(aws)
