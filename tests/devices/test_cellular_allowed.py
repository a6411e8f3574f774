"""What a store sends over its cellular links (`CELLULAR-ALLOWED`, outbound on the LTE/5G
tunnels of IOS-XE and VRP stores): the tunnels' own control traffic, management and the
segments the intent lets onto LTE, nothing else. A guest's packet to a BGP port, or a ping,
is not control traffic because of its port: only the tunnels' inside addresses send that."""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path

import pytest
from testsupport.rendering import SHAPES, on_platform, static_wan_yaml, steered_off_bgp

from storestack.devices.lint import PROBE_EXTRACTORS, ConfigFile, Packet, cisco_xe, huawei_vrp
from storestack.devices.lint.linetree import Line, parse, tunnel_id
from storestack.devices.render import render_store
from storestack.devices.steering import IOS_SLA_CONTROL_PORT
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent

_ACL = {
    "cisco_xe": ("!", "ip access-list extended CELLULAR-ALLOWED", cisco_xe.acl_verdict),
    "huawei_vrp": ("#", "acl name CELLULAR-ALLOWED 3010", huawei_vrp.acl_verdict),
}
_INTERNET = ipaddress.IPv4Address("198.51.100.80")


@pytest.mark.parametrize("platform", sorted(_ACL))
def test_only_the_tunnels_send_control_traffic_over_cellular(fleet: Fleet, platform: str) -> None:
    store_id = SHAPES["mall-guest"]
    chain = on_platform(fleet, platform, hubs="frr")  # type: ignore[arg-type]
    (config,) = render_store(chain, store_id)
    separator, header, verdict_of = _ACL[platform]
    acl: Line = next(line for line in parse(config.text, (separator,)).children if line.text == header)
    intent = NetworkIntent(chain).store(store_id)
    segments = {kind: segment.subnet for kind, segment in chain.stores[store_id].segments.items()}

    def passes(packet: Packet) -> bool:
        return verdict_of(acl, packet).forwarded

    guest = segments["guest-wifi"].network_address + 10
    assert not passes(Packet("tcp", guest, _INTERNET, 179))
    assert not passes(Packet("udp", guest, _INTERNET, 3784))
    assert not passes(Packet("icmp", guest, _INTERNET))
    cellular = {link.name for link in chain.stores[store_id].wan if link.cellular}
    over_lte = [tunnel for tunnel in intent.tunnels if tunnel.transport in cellular]
    assert over_lte
    for tunnel in over_lte:
        assert tunnel.local_inside is not None and tunnel.peer_inside is not None
        packet = Packet("tcp", tunnel.local_inside.ip, tunnel.peer_inside, 179)
        assert passes(packet), (tunnel.id, packet)
        if tunnel.kind == "store-hub":
            assert passes(Packet("icmp", tunnel.local_inside.ip, tunnel.peer_inside)), tunnel.id
        # The hub's own end, or any other address of the overlay pool, is not this store: what
        # it sends (a hub's packet the store would pass on to the other hub) is not control
        # traffic of this store's.
        assert not passes(Packet("tcp", tunnel.peer_inside, _INTERNET, 179)), tunnel.id
        assert not passes(Packet("icmp", tunnel.peer_inside, _INTERNET)), tunnel.id
    # The tills keep the LTE line (the intent's `over_cellular`).
    assert passes(Packet("tcp", segments["pos"].network_address + 10, _INTERNET, 443))


# What the filter of an LTE/5G tunnel is applied with, as each platform spells it.
_APPLIED = {
    "cisco_xe": "ip access-group CELLULAR-ALLOWED out",
    "huawei_vrp": "traffic-filter outbound acl name CELLULAR-ALLOWED",
}


# A store shape whose steering probes over LTE on each platform (a VRP store probes only a path
# that is not BGP's own: the lte-only store of `steered_off_bgp`), and the hubs it probes.
_PROBED_OVER_LTE = [("cisco_xe", "cisco_xe", "dual-wan"), ("huawei_vrp", "frr", "lte-only")]


@pytest.mark.parametrize(("platform", "hubs", "shape"), _PROBED_OVER_LTE)
def test_cellular_filter_passes_every_probe_sent_over_its_tunnel(
    fleet: Fleet, platform: str, hubs: str, shape: str
) -> None:
    """Every SLA probe the store sends from an LTE tunnel's address (as its config spells it:
    IOS-XE udp-jitter's control message to the responder's port and its test packets, ICMP
    echoes) passes that tunnel's CELLULAR-ALLOWED: the filter drops no probe the same config
    sends, whatever the platform does with its own packets."""
    store_id = SHAPES[shape]
    chain = on_platform(steered_off_bgp(fleet), platform, hubs=hubs)  # type: ignore[arg-type]
    (rendered,) = render_store(chain, store_id)
    config = ConfigFile(rendered.filename, platform, "edge", rendered.name, rendered.text, store_id)
    separator, header, verdict_of = _ACL[platform]
    root = parse(config.text, (separator,))
    acl = next(line for line in root.children if line.text == header)
    cellular = {
        words[2]
        for interface in root.children
        if interface.words[:1] == ["interface"] and _APPLIED[platform] in interface.child_texts()
        for words in (line.words for line in interface.children)
        if words[:2] == ["ip", "address"]
    }
    assert cellular, "no tunnel filtered with CELLULAR-ALLOWED"
    sent = [probe for probe in PROBE_EXTRACTORS[platform](config) if probe.source in cellular]
    assert sent, "no probe over the LTE tunnels"
    for probe in sent:
        source, target = ipaddress.IPv4Address(probe.source), ipaddress.IPv4Address(probe.target)
        if probe.kind == "udp-jitter":
            assert probe.port is not None
            packets = [Packet("udp", source, target, IOS_SLA_CONTROL_PORT), Packet("udp", source, target, probe.port)]
        else:
            packets = [Packet("icmp", source, target)]
        for packet in packets:
            verdict = verdict_of(acl, packet)
            assert verdict.forwarded, (probe, packet, verdict)


@pytest.mark.parametrize("platform", sorted(_ACL))
def test_an_aws_tunnel_over_lte_carries_what_the_hub_tunnels_there_do(tmp_path: Path, platform: str) -> None:
    """AWS attaches to every static link of a store, a fixed-IP LTE APN too: its tunnels over that
    link filter outbound with CELLULAR-ALLOWED like the hub tunnels beside them, which passes
    their BGP and not a segment the intent keeps off LTE (CCTV)."""
    root = tmp_path / "chain"
    shutil.copytree(sample_chain_path(), root)
    static_wan_yaml(root)  # nw-0001's lte1 becomes a fixed-IP APN, so AWS attaches to it too
    chain = on_platform(load_fleet(root), platform, hubs="frr")  # type: ignore[arg-type]
    store_id = SHAPES["aws"]
    (config,) = render_store(chain, store_id)
    separator, header, verdict_of = _ACL[platform]
    root_line = parse(config.text, (separator,))
    acl = next(line for line in root_line.children if line.text == header)
    over_lte = [
        interface
        for interface in root_line.children
        if interface.words[:1] == ["interface"] and " aws vpn aws-lte1-" in f" {' '.join(interface.child_texts())}"
    ]
    assert len(over_lte) == 2
    intent = NetworkIntent(chain).store(store_id)
    cctv = chain.stores[store_id].segments["cctv"].subnet.network_address + 10
    for interface in over_lte:
        assert _APPLIED[platform] in interface.child_texts(), interface.text
        tunnel = next(t for t in intent.tunnels if t.id == tunnel_id(interface.child_texts()))
        assert tunnel.local_inside is not None and tunnel.peer_inside is not None
        assert verdict_of(acl, Packet("tcp", tunnel.local_inside.ip, tunnel.peer_inside, 179)).forwarded
    assert not verdict_of(acl, Packet("tcp", cctv, _INTERNET, 443)).forwarded
