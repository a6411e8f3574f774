"""A VRP store is no path between its hubs and clouds: every hub and AWS tunnel shares the OVERLAY
zone, inside which an AR applies no policy, so what one hub (or AWS) sends the store addressed
elsewhere would leave by another tunnel unless each tunnel lets out the store's own traffic
only. Read from the rendered config, tunnel by tunnel, as the router would filter."""

from __future__ import annotations

import ipaddress

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import Packet, huawei_vrp
from storestack.devices.lint.linetree import Line, parse, top, tunnel_id
from storestack.devices.render import render_store
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

_HQ_POS = ipaddress.IPv4Address("10.0.10.10")
_INTERNET = ipaddress.IPv4Address("198.51.100.80")


def _outbound(interface: Line, acls: dict[str, Line]) -> Line | None:
    name = next((t.split()[-1] for t in interface.child_texts() if t.startswith("traffic-filter outbound acl")), None)
    return acls.get(name or "")


@pytest.mark.parametrize("shape", ["aws", "dual-wan"])
def test_no_overlay_tunnel_lets_out_what_the_store_did_not_send(fleet: Fleet, shape: str) -> None:
    store_id = SHAPES[shape]
    chain = on_platform(fleet, "huawei_vrp", hubs="frr")
    (config,) = render_store(chain, store_id)
    intent = NetworkIntent(chain).store(store_id)
    store = chain.stores[store_id]
    root = parse(config.text, ("#",))
    acls = {line.words[2]: line for line in top(root, "acl", "name")}
    tunnels = [i for i in top(root, "interface") if "zone OVERLAY" in i.child_texts()]
    assert len(tunnels) == len(intent.tunnels)  # every hub and AWS tunnel
    cellular = {link.name for link in store.wan if link.cellular}
    other = next(s for s in chain.stores.values() if s.id != store_id)
    own_tunnels = {t.id: t for t in intent.tunnels}
    loopback = store.appliances[0].loopback
    for interface in tunnels:
        acl = _outbound(interface, acls)
        assert acl is not None, f"{interface.text} lets everything out"

        def passes(packet: Packet, acl: Line = acl) -> bool:
            return huawei_vrp.acl_verdict(acl, packet).forwarded

        tunnel = own_tunnels[tunnel_id(interface.child_texts()) or ""]
        assert tunnel.local_inside is not None and tunnel.peer_inside is not None
        # What the hubs and clouds send the store, addressed elsewhere: from any tunnel's far
        # end, HQ, another store's till, the internet.
        far_ends = [t.peer_inside for t in intent.tunnels if t.peer_inside is not None]
        for source in (*far_ends, _HQ_POS, other.segments["pos"].subnet.network_address + 10, _INTERNET):
            for packet in (
                Packet("tcp", source, _HQ_POS, 443),
                Packet("tcp", source, _INTERNET, 179),
                Packet("udp", source, _HQ_POS, 3784),
                Packet("icmp", source, _INTERNET),
            ):
                assert not passes(packet), (interface.text, packet)
        # What the store sends over it: the tunnel's own BGP and pings from its address, and
        # management from the loopback, on every tunnel; the segments' traffic where their
        # link may carry it (LTE/5G: the segments the intent lets onto it).
        assert passes(Packet("tcp", tunnel.local_inside.ip, tunnel.peer_inside, 179)), interface.text
        assert passes(Packet("tcp", loopback, _HQ_POS, 49)), interface.text
        if tunnel.kind == "store-hub":
            assert passes(Packet("icmp", tunnel.local_inside.ip, tunnel.peer_inside)), interface.text
        for kind, segment in store.segments.items():
            zone = next(z for z in intent.zones if z.name == kind)
            host = segment.subnet.network_address + 10
            expected = kind != "guest-wifi" and (tunnel.transport not in cellular or zone.over_cellular)
            assert passes(Packet("tcp", host, _HQ_POS, 443)) is expected, (interface.text, kind)
