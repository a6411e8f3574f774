"""What a store sends over its cellular links (`CELLULAR-ALLOWED`, outbound on the LTE/5G
tunnels of IOS-XE and VRP stores): the tunnels' own control traffic, management and the
segments the intent lets onto LTE, nothing else. A guest's packet to a BGP port, or a ping,
is not control traffic because of its port: only the tunnels' inside addresses send that."""

from __future__ import annotations

import ipaddress

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import Packet, cisco_xe, huawei_vrp
from storestack.devices.lint.linetree import Line, parse
from storestack.devices.render import render_store
from storestack.inventory import Fleet
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
    for tunnel in intent.tunnels:
        assert tunnel.local_inside is not None and tunnel.peer_inside is not None
        packet = Packet("tcp", tunnel.local_inside.ip, tunnel.peer_inside, 179)
        assert passes(packet), (tunnel.id, packet)
        if tunnel.kind == "store-hub":
            assert passes(Packet("icmp", tunnel.local_inside.ip, tunnel.peer_inside)), tunnel.id
    # The tills keep the LTE line (the intent's `over_cellular`).
    assert passes(Packet("tcp", segments["pos"].network_address + 10, _INTERNET, 443))
