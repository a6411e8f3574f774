"""Each store's tunnels bring through a hub that store's own sources only (`StoreForwarding.own`,
`HubView.store_sources`), on every hub platform: a compromised store router sending from its
tunnel as another store's till reaches neither HQ nor the payment service. On an FRR hub, which
answers a flow on the tunnel it came in on (README, "Return path"), it would otherwise get the
answers; on IOS-XE and VRP, which answer by their routing table, it could still forge UDP
(syslog, SNMP traps, DNS) as the other store."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path

import pytest
from testsupport.rendering import on_platform

from storestack.common.platforms import Platform
from storestack.devices.lint import FORWARDING_EXTRACTORS, ConfigFile, Packet, load_platform_rules
from storestack.devices.lint.isolation import RULE, isolation_check
from storestack.devices.render import render_hub
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent
from storestack.network.model import HubIntent, Tunnel

HUB = "hq-hub1"
PLATFORMS: list[Platform] = ["frr", "cisco_xe", "huawei_vrp"]


def _config(fleet: Fleet, platform: Platform) -> ConfigFile:
    config = render_hub(fleet, HUB)
    companions = {"": config.text, **dict(config.companions)}
    return ConfigFile(config.filename, platform, "hub", config.name, config.text, None, "", companions)


def _tunnels(hub: HubIntent, store: str) -> list[Tunnel]:
    return [t for t in hub.tunnels if t.kind == "store-hub" and t.peer == store]


def _forwarded(config: ConfigFile, tunnels: list[Tunnel], packet: Packet) -> bool:
    """What the hub does with `packet` arriving on `tunnels` (by their IKE identities and
    outside addresses, as `store-isolation` names a hub's store links)."""
    load_platform_rules()
    peers = frozenset(v for t in tunnels for v in (t.peer_id, str(t.peer_outside) if t.peer_outside else None) if v)
    return FORWARDING_EXTRACTORS[config.platform](config, peers).verdict(packet).forwarded


def _till(fleet: Fleet, store: str) -> ipaddress.IPv4Address:
    return fleet.stores[store].segments["pos"].subnet.network_address + 10


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_store_tunnel_sending_as_another_stores_till_does_not_reach_the_payment_service(
    fleet: Fleet, platform: Platform
) -> None:
    """The first store's tunnels (fibre and LTE) each carry its own tills' payments to HQ; the
    same packet from another store's till address, or its loopback, is dropped on them, and the
    other stores' own tunnels still carry their own."""
    fleet = on_platform(fleet, platform)
    intent = NetworkIntent(fleet)
    hub = intent.hub(HUB)
    payment = intent.services["payment"].prefixes[0].network_address + 1
    forwarding = hub.store_forwarding
    sender, *victims = (own.store for own in forwarding.own)
    loopbacks = {
        own.store: next(net.network_address for net in own.sources if net.subnet_of(forwarding.loopbacks))
        for own in forwarding.own
    }
    tunnels = _tunnels(hub, sender)
    assert {t.peer_transport for t in tunnels} == {"wan1", "lte1"}
    config = _config(fleet, platform)
    for tunnel in tunnels:
        assert _forwarded(config, [tunnel], Packet("tcp", _till(fleet, sender), payment, 443)), tunnel.id
        for victim in victims:
            for source in (_till(fleet, victim), loopbacks[victim]):
                spoofed = Packet("tcp", source, payment, 443)
                assert not _forwarded(config, [tunnel], spoofed), f"{tunnel.id} as {victim} ({source})"
    for victim in victims:
        assert _forwarded(config, _tunnels(hub, victim), Packet("tcp", _till(fleet, victim), payment, 443)), victim
    assert [f for f in isolation_check([config], intent) if f.rule == RULE] == []


def test_the_frr_hub_ruleset_with_per_store_sources_passes_nft_check(fleet: Fleet, tmp_path: Path) -> None:
    """The concatenated `ifname . ipv4_addr` interval set of each store tunnel's sources is one
    nft takes (`nft -c`: parsed and checked, nothing loaded)."""
    nft = shutil.which("nft")
    if nft is None:
        pytest.skip("nft is not installed")
    config = render_hub(on_platform(fleet, "frr"), HUB)
    path = tmp_path / "hub.nft"
    path.write_text(dict(config.companions)["nftables.conf"])
    result = subprocess.run([nft, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30)
    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN here")
    assert result.returncode == 0, result.stderr


def test_a_vrp_hubs_store_filters_take_free_advanced_acl_numbers(fleet: Fleet) -> None:
    """Each store's FROM-STORE filter on a VRP hub has an advanced ACL number (3000-3999) of its
    own, none of the hub's fixed or cloud filters' (two ACLs of one number are one ACL to the
    AR), and a name VRP takes (at most 32 characters); a hub of more stores than the free
    numbers is refused by name."""
    from storestack.devices.platforms.huawei_vrp import (
        HUB_FIXED_ACLS,
        hub_cloud_filter_numbers,
        hub_store_filter_numbers,
    )
    from storestack.devices.views.builder import STORE_FILTER_NAME_LIMIT
    from storestack.network.errors import NetworkIntentError

    config = _config(on_platform(fleet, "huawei_vrp"), "huawei_vrp")
    numbers = [int(line.split()[3]) for line in config.lines if line.startswith("acl name ")]
    assert len(numbers) == len(set(numbers))
    assert sum(line.startswith("acl name FROM-STORE-") for line in config.lines) == len(
        NetworkIntent(fleet).hub(HUB).store_forwarding.own
    )
    assert all(3000 <= n <= 3999 for n in numbers if n >= 3000)
    taken = {n for _, n in HUB_FIXED_ACLS} | set(hub_cloud_filter_numbers(HUB, 2))
    assert not taken & set(hub_store_filter_numbers(HUB, 900, 2))
    with pytest.raises(NetworkIntentError, match="FROM-STORE filters"):
        hub_store_filter_numbers(HUB, 1000, 2)
    from storestack.devices.naming import short_ifname

    assert len(short_ifname("FROM-STORE-" + "s" * 32, STORE_FILTER_NAME_LIMIT)) <= 32


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp", "fortinet"])
def test_a_store_tunnel_pings_the_hub_loopback_from_its_own_tunnel_addresses_only(
    fleet: Fleet, platform: Platform
) -> None:
    """Each store's filter takes echo requests to the hub's loopback (`pingable`) from that
    store's own tunnel addresses only: from another store's, the hub's echo reply would leave by
    the other store's tunnel, so a store could send the hub's replies at another store's router
    (its filter passes echo replies) as it could send nothing else of its own as that store. A
    FortiOS hub decides it in the local-in policy of the store's zone (the FRR hub's input chain
    has a test of its own, in test_render_frr_host.py)."""
    fleet = on_platform(fleet, platform)
    hub = NetworkIntent(fleet).hub(HUB)
    forwarding = hub.store_forwarding
    (loopback,) = forwarding.pingable
    sender, *victims = (own.store for own in forwarding.own)
    config = _config(fleet, platform)
    insides = {
        store: [t.peer_inside for t in _tunnels(hub, store) if t.peer_inside] for store in (sender, *victims)
    }
    for tunnel in _tunnels(hub, sender):
        for own in insides[sender]:
            assert _forwarded(config, [tunnel], Packet("icmp", own, loopback)), (tunnel.id, own)
        for victim in victims:
            for spoofed in insides[victim]:
                assert not _forwarded(config, [tunnel], Packet("icmp", spoofed, loopback)), (tunnel.id, victim, spoofed)
