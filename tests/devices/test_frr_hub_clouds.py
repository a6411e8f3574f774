"""What an FRR hub takes in from its cloud VPNs (AWS, the OpenStack gateways), as the intent
says and IOS-XE's and VRP's FROM-CLOUDS spell it (`HubView.from_clouds`): BGP to the hub, no
ICMP request, and through the hub only the clouds' prefixes to HQ and the stores: not from HQ's
addresses, not to another cloud, not to the internet."""

from __future__ import annotations

import ipaddress
import re

from storestack.devices.lint import Packet
from storestack.devices.lint.frr import chain_verdict, forward_verdict
from storestack.devices.render import render_hub
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent
from storestack.network.model import BgpSession, HubIntent


def _host(net: ipaddress.IPv4Network, index: int) -> ipaddress.IPv4Address:
    return net.network_address + index


def _hq_hub_clouds(fleet: Fleet) -> tuple[HubIntent, str, dict[str, BgpSession]]:
    """hq-hub1's intent, its nftables ruleset and each cloud tunnel's interface with its BGP
    session (the tunnels in the order the routing file adds them, the sessions' order)."""
    hub = NetworkIntent(fleet).hub("hq-hub1")
    config = render_hub(fleet, "hq-hub1")
    tunnels = re.findall(r"^link add ((?:aws|os-)\S+) type xfrm", dict(config.companions)["routing"], re.M)
    sessions = [s for s in hub.sessions if s.kind in ("hub-aws", "hub-openstack")]
    return hub, dict(config.companions)["nftables.conf"], dict(zip(tunnels, sessions, strict=True))


def test_an_frr_hub_forwards_from_a_cloud_only_the_clouds_prefixes_to_hq(fleet: Fleet) -> None:
    hub = NetworkIntent(fleet).hub("hq-hub1")
    config = render_hub(fleet, "hq-hub1")
    assert config.platform == "frr"
    ruleset = dict(config.companions)["nftables.conf"]
    routing = dict(config.companions)["routing"]
    sessions = [s for s in hub.sessions if s.kind in ("hub-aws", "hub-openstack")]
    tunnels = re.findall(r"^link add ((?:aws|os-)\S+) type xfrm", routing, re.M)
    assert len(sessions) == len(tunnels) == 3
    hq = next(net for net in sessions[0].announces if net.subnet_of(ipaddress.IPv4Network("10.0.0.0/16")))
    internet = ipaddress.IPv4Address("198.18.0.1")
    for tunnel, own in zip(tunnels, sessions, strict=True):
        first, second = sessions[0].accepts[:2]
        refused = [
            Packet("tcp", _host(hq, 10), _host(hq, 20), 443),  # a cloud sending as HQ
            Packet("tcp", _host(first, 1), _host(second, 1), 443),  # to another cloud
            Packet("tcp", _host(first, 1), internet, 443),  # to the internet through HQ
        ]
        for packet in refused:
            verdict = forward_verdict(ruleset, packet, tunnel)
            assert not verdict.forwarded, (tunnel, packet, verdict)
        # From its own site's ranges to HQ, never from another site's (spoofed); to the stores
        # nothing a cloud opens (the answers to the stores' own flows: the next test,
        # `HubIntent.cloud_forwarding`).
        for session in sessions:
            for source in session.accepts:
                for destination in session.announces:
                    to_hq = any(destination.subnet_of(net) for net in fleet.spec.ip_plan.hq)
                    # At HQ a server beside the DC core LAN (10.0.0.0/28), which no cloud reaches.
                    packet = Packet("tcp", _host(source, 1), _host(destination, 266 if to_hq else 2), 443)
                    expected = to_hq and session.accepts == own.accepts
                    assert forward_verdict(ruleset, packet, tunnel).forwarded == expected, (tunnel, packet)
                    if to_hq:
                        core = Packet("tcp", _host(source, 1), _host(destination, 2), 443)
                        assert not forward_verdict(ruleset, core, tunnel).forwarded, (tunnel, core)


def test_an_frr_hub_answers_no_icmp_request_from_a_cloud(fleet: Fleet) -> None:
    """The first rule of what a tunnel brings to the hub itself drops ICMP echo and timestamp
    requests from every cloud VPN; the store tunnels keep theirs (their SLA probes)."""
    config = render_hub(fleet, "hq-hub1")
    ruleset = dict(config.companions)["nftables.conf"]
    routing = dict(config.companions)["routing"]
    clouds = re.findall(r"^link add ((?:aws|os-)\S+) type xfrm", routing, re.M)
    elements = re.search(r"set cloud_tunnels \{\n\s*type ifname\n\s*elements = \{ ([^}]*) \}", ruleset)
    assert elements and sorted(name.strip().strip('"') for name in elements.group(1).split(",")) == sorted(clouds)
    chain = re.search(r"chain from_tunnels \{\n(.*?)\n    \}", ruleset, re.S)
    assert chain
    rules = [line.strip() for line in chain.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]
    assert rules[0] == "iifname @cloud_tunnels icmp type { echo-request, timestamp-request } drop"


def test_an_frr_hub_passes_a_clouds_answers_it_never_saw_the_store_ask_for_but_no_syn(fleet: Fleet) -> None:
    """Both hubs announce the stores' aggregate to the clouds, so a cloud answers an office host
    through either hub while the store sent through its own: the hub that saw none of the flow
    has no conntrack entry, and must pass the answer (the SYN-ACK, then ACKs mid-stream, an RST)
    statelessly, as IOS-XE's and VRP's FROM-CLOUD-<site> do (`CloudForwarding.replies`), from
    the cloud VPNs of the site it comes from to every office segment of the flow; a SYN from the cloud (even from the service's
    port) still opens nothing, nor does an answer-like segment to a segment that asked nothing."""
    hub, ruleset, clouds = _hq_hub_clouds(fleet)
    forwarding = hub.cloud_forwarding
    assert forwarding is not None
    tunnels = list(clouds)
    flows = [flow for flow in forwarding.replies if flow.protocol in ("tcp", "ip")]
    assert flows and tunnels
    own = {tunnel: session.accepts for tunnel, session in clouds.items()}
    answers = (frozenset({"syn", "ack"}), frozenset({"ack"}), frozenset({"ack", "fin"}), frozenset({"rst"}))
    for flow in flows:
        port = flow.ports[0][0] if flow.ports else 40000
        for cloud in flow.clouds:
            for office in flow.stores:
                source, destination = _host(cloud, 7), _host(office, 10)
                for tunnel in tunnels:
                    # only on the tunnels of the site whose range the answer comes from
                    ours = any(source in net for net in own[tunnel])
                    for flags in answers:
                        packet = Packet("tcp", source, destination, 50000, flags, source_port=port)
                        assert forward_verdict(ruleset, packet, tunnel).forwarded == ours, (tunnel, packet)
                    opening = Packet("tcp", source, destination, 22, source_port=port)
                    assert not forward_verdict(ruleset, opening, tunnel).forwarded, (tunnel, opening)
    # A segment of the store that opens no flow towards a cloud (its tills, cameras): nothing
    # answer-like reaches it
    offices = [net for flow in flows for net in flow.stores]
    segment = next(
        net
        for session in hub.sessions
        if session.kind == "store-hub"
        for net in session.accepts
        if net.subnet_of(hub.store_forwarding.stores) and not any(net.overlaps(office) for office in offices)
    )
    stray = Packet("tcp", _host(flows[0].clouds[0], 7), _host(segment, 10), 50000, frozenset({"ack"}))
    assert not forward_verdict(ruleset, stray, tunnels[0]).forwarded, stray


def test_an_frr_hub_passes_the_cloud_gateways_icmp_errors_about_the_flows_it_forwards(fleet: Fleet) -> None:
    """A cloud VPN's far end (the AWS VGW or TGW, the OpenStack gateway) sends its ICMP errors
    from its tunnel inside address (169.254.x.y), outside the site's ranges: fragmentation needed
    for a DF packet too big for its tunnel (path MTU discovery), TTL exceeded (traceroute). The
    hub passes them, on that tunnel, towards a store's office host and an HQ host (not the
    internet), when they are about a flow conntrack holds (`related`: the hub forwarded its packets into the cloud); it
    still drops such an error from another tunnel's far end or any other address, one about no
    flow it knows, and an echo request from the far end. (They used to be dropped as spoofed,
    so a TCP flow with DF too big for the cloud tunnel blackholed.)"""
    hub, ruleset, clouds = _hq_hub_clouds(fleet)
    forwarding = hub.cloud_forwarding
    assert forwarding is not None and len(clouds) == 3
    far_ends = {tunnel: session.peer_address for tunnel, session in clouds.items()}
    office = _host(next(net for flow in forwarding.replies for net in flow.stores), 10)
    first = next(iter(clouds.values()))
    hq = next(net for net in first.announces if net.subnet_of(ipaddress.IPv4Network("10.0.0.0/16")))
    errors = ((3, 4), (11, 0))  # fragmentation needed and DF set; TTL exceeded in transit
    for tunnel, far in far_ends.items():
        for destination in (office, _host(hq, 266)):
            for icmp in errors:
                related = Packet("icmp", far, destination, icmp=icmp, answer=True)
                assert forward_verdict(ruleset, related, tunnel).forwarded, (tunnel, related)
            others = [other for other in far_ends.values() if other != far]
            refused = [
                *(Packet("icmp", other, destination, icmp=(3, 4), answer=True) for other in others),
                Packet("icmp", ipaddress.IPv4Address("198.18.0.1"), destination, icmp=(3, 4), answer=True),
                Packet("icmp", far, destination, icmp=(3, 4)),  # about no flow the hub holds
                Packet("icmp", far, ipaddress.IPv4Address("198.18.0.1"), icmp=(3, 4), answer=True),  # the internet
                Packet("icmp", far, destination),  # an echo request
                Packet("icmp", far, destination, icmp=(0, 0), answer=True),  # an echo reply
            ]
            for packet in refused:
                verdict = forward_verdict(ruleset, packet, tunnel)
                assert not verdict.forwarded, (tunnel, packet, verdict)


def test_an_frr_hub_forwards_management_into_store_tunnels_only(fleet: Fleet) -> None:
    """HQ's management ranges reach the stores through the hub, and the clouds' prefixes as all
    of HQ does; never the cloud VPNs' far ends (the AWS gateway's and the OpenStack gateway's
    inside addresses, their BGP speakers), which the DC LAN may not reach through a cloud VPN.
    The management permit named the tunnel group, cloud VPNs included."""
    hub, nftables, clouds = _hq_hub_clouds(fleet)
    manager = _host(hub.management.ranges[0], 5)

    def forwarded(oifname: str, destination: ipaddress.IPv4Address) -> bool:
        packet = Packet("tcp", manager, destination, 22)
        return chain_verdict(nftables, "forward", packet, "dc", from_tunnel=False, oifname=oifname).forwarded

    for ifname, session in clouds.items():
        assert not forwarded(ifname, session.peer_address), (ifname, session.peer_address)
    store = next(s for s in hub.sessions if s.kind == "store-hub")
    (ifname,) = re.findall(rf'"(\S+)" \. {re.escape(str(store.peer_address))} \. ', nftables.split("set bfd_ends")[0])
    assert forwarded(ifname, store.peer_address)
