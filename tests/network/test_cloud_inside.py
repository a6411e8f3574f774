"""The hub to OpenStack inside /30 rule both ends use (`network/cloud.py`)."""

from __future__ import annotations

import ipaddress

import pytest

from storestack.network.cloud import HUB_INSIDE_POOL, HUBS_PER_SITE, hub_openstack_inside


def test_hub_takes_the_first_address_and_the_gateway_the_second() -> None:
    inside = hub_openstack_inside(1, 2)
    assert inside.network == ipaddress.IPv4Network("169.254.252.40/30")
    assert inside.hub == ipaddress.IPv4Interface("169.254.252.41/30")
    assert inside.gateway == ipaddress.IPv4Interface("169.254.252.42/30")


def test_no_two_tunnels_share_a_30_and_all_stay_in_the_pool() -> None:
    networks = [hub_openstack_inside(site, hub).network for site in range(16) for hub in range(HUBS_PER_SITE)]
    assert len(set(networks)) == len(networks)
    assert all(network.subnet_of(HUB_INSIDE_POOL) for network in networks)


def test_a_ninth_hub_or_a_site_past_the_pool_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 8 hubs"):
        hub_openstack_inside(0, HUBS_PER_SITE)
    with pytest.raises(ValueError, match="holds 32 sites"):
        hub_openstack_inside(32, 0)
