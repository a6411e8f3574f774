"""Planned outside addresses of the cloud tunnels stay distinct at fleet scale.

Until a stack is live, the network intent (and the Pulumi mocks, and the lab's cloud VPN
stand-in configured from them) use a planned address for AWS's end of every tunnel and for every
OpenStack gateway. Two tunnels planned to the same far end would make an offline plan, the
configs rendered from it and the lab disagree about which tunnel is which.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from pathlib import Path

from storestack.inventory import load_fleet
from storestack.inventory.generate import generate_fleet, write_fleet
from storestack.network.build import NetworkIntent
from storestack.network.cloud import (
    HUB_AWS_INSIDE_POOL,
    LINK_LOCAL,
    planned_aws_outside,
    planned_openstack_gateway,
)

STORES = 400  # every store AWS-attached on each static link: several hundred links, past 160


def test_every_planned_outside_address_is_distinct_across_the_whole_inside_space() -> None:
    thirties = list(LINK_LOCAL.subnets(new_prefix=30))
    addresses = [planned_aws_outside(inside) for inside in thirties]
    addresses += [planned_openstack_gateway(site) for site in range(32)]
    assert [a for a, n in Counter(addresses).items() if n > 1] == []
    # Public-looking addresses no fleet or lab address uses: TEST-NET-1 first, then 198.19.0.0/17.
    spaces = [ipaddress.IPv4Network("192.0.2.0/24"), ipaddress.IPv4Network("198.19.0.0/17")]
    assert all(any(a in space for space in spaces) for a in addresses)
    hub_thirties = list(HUB_AWS_INSIDE_POOL.subnets(new_prefix=30))
    assert planned_aws_outside(hub_thirties[0]) == ipaddress.IPv4Address("192.0.2.254")


def test_hundreds_of_aws_attached_links_get_distinct_far_ends_in_the_intent(tmp_path: Path) -> None:
    generated = generate_fleet(STORES, seed=11)
    for index, store in enumerate(generated.stores):
        store.setdefault("cloud", {})["aws_region"] = "eu-west-1" if index % 2 else "eu-central-1"
    write_fleet(generated, tmp_path / "fleet")
    fleet = load_fleet(tmp_path / "fleet", write_lock=True)
    intent = NetworkIntent(fleet)

    tunnels = [
        tunnel
        for store in fleet
        for tunnel in intent.store(store.id).tunnels
        if tunnel.kind == "store-aws"
    ]
    links = {(tunnel.id.rsplit("-aws", 1)[0]) for tunnel in tunnels}
    assert len(links) > 160, "the fleet must go past the first range"
    far_ends = Counter(tunnel.peer_outside for tunnel in tunnels)
    assert [address for address, n in far_ends.items() if n > 1] == []
    insides = Counter(tunnel.peer_inside for tunnel in tunnels)
    assert [address for address, n in insides.items() if n > 1] == []
    hub_far_ends = [
        tunnel.peer_outside
        for hub in fleet.hubs
        for tunnel in intent.hub(hub).tunnels
        if tunnel.kind in ("hub-aws", "hub-openstack")
    ]
    assert not set(hub_far_ends) & set(far_ends)
