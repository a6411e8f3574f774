"""The office segment is out of the cardholder data environment: its PCs reach HQ and the clouds
(the intent's `corporate`), but not the payment service, the tills' HQ POS service, the
management ranges or the DC core LAN (the core routers and the hubs' DC addresses, HQ's routing
infrastructure), on every store platform. The tills still reach theirs."""

from __future__ import annotations

import ipaddress

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import Packet, cisco_xe, fortinet, huawei_vrp
from storestack.devices.lint.frr import chain_verdict
from storestack.devices.lint.linetree import parse
from storestack.devices.render import render_store
from storestack.inventory import Fleet, hq
from storestack.network.build import NetworkIntent

STORE = SHAPES["dual-wan"]
Address = ipaddress.IPv4Address


def _host(net: ipaddress.IPv4Network) -> Address:
    return net.network_address + 10


def _targets(fleet: Fleet) -> tuple[list[Packet], list[Packet], Packet]:
    """(what an office PC must not open, what it must, what a till must) as packets."""
    intent = NetworkIntent(fleet)
    services = intent.services
    segments = fleet.stores[STORE].segments
    office, pos = _host(segments["office"].subnet), _host(segments["pos"].subnet)
    payment = _host(services["payment"].prefixes[0])
    denied = [
        Packet("tcp", office, payment, 443),
        Packet("tcp", office, _host(services["hq-pos"].prefixes[0]), 443),
        Packet("tcp", office, _host(intent.management.ranges[0]), 22),
    ]
    # the DC core routers and every hub's DC address: SSH, BGP and HTTPS (a router's web UI)
    core = (*hq.core_routers(fleet.spec), *(hub.dc_address for hub in fleet.hubs.values()))
    denied += [Packet("tcp", office, address, port) for address in core for port in (22, 179, 443)]
    hq_net, cloud = fleet.spec.ip_plan.hq[0], fleet.spec.ip_plan.cloud
    beside_core = hq.core_lan(fleet.spec).broadcast_address + 4  # a corporate host next to the core LAN
    allowed = [
        Packet("tcp", office, Address(int(hq_net.network_address) + 266), 445),
        Packet("tcp", office, beside_core, 443),
        Packet("tcp", office, _host(cloud), 443),
    ]
    return denied, allowed, Packet("tcp", pos, payment, 443)


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp", "fortinet", "frr"])
def test_office_reaches_hq_but_not_payment_pos_management_or_dc_core(fleet: Fleet, platform: str) -> None:
    chain = on_platform(fleet, platform, hubs="frr")  # type: ignore[arg-type]
    (config,) = render_store(chain, STORE)
    denied, allowed, till = _targets(chain)
    if platform == "frr":
        ruleset = dict(config.companions)["nftables.conf"]
        lan = {kind: f"lan0.{segment.vlan}" for kind, segment in chain.stores[STORE].segments.items()}

        def passes(packet: Packet, kind: str) -> bool:
            return chain_verdict(ruleset, "forward", packet, lan[kind]).forwarded
    elif platform == "fortinet":
        forwarding = fortinet.cloud_forwarding(fortinet.parse(config.text))

        def passes(packet: Packet, kind: str) -> bool:
            return forwarding(kind, packet, "overlay").forwarded
    else:
        separator, acl_of, verdict = {
            "cisco_xe": ("!", "ip access-list extended {}-TO-OVERLAY", cisco_xe.acl_verdict),
            "huawei_vrp": ("#", "acl name {}-TO-OVERLAY ", huawei_vrp.acl_verdict),
        }[platform]
        root = parse(config.text, (separator,))

        def passes(packet: Packet, kind: str) -> bool:
            header = acl_of.format(kind.upper())
            acl = next(line for line in root.children if line.text.startswith(header))
            return verdict(acl, packet).forwarded

    for packet in denied:
        assert not passes(packet, "office"), (platform, packet)
    for packet in allowed:
        assert passes(packet, "office"), (platform, packet)
    assert passes(till, "pos"), (platform, till)
