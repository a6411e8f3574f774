"""Fleet → stack configs for the sample chain."""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path

import pytest
import yaml

from storestack.inventory import Fleet, InventoryError, load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent
from storestack.stacks.mapping import core_config, store_config


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return load_fleet(sample_chain_path())


def test_core_carves_cloud_ranges_from_the_ip_plan(fleet: Fleet) -> None:
    config = core_config(fleet)
    (region,) = config.hybrid_cloud.aws_regions
    plan = fleet.spec.ip_plan
    assert region.availability_zones == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert region.workloads_cidr.subnet_of(plan.cloud) and region.desktops_cidr.subnet_of(plan.desktops)
    (site,) = config.hybrid_cloud.openstack_sites
    assert site.workloads_cidr.subnet_of(plan.cloud) and not site.workloads_cidr.overlaps(region.workloads_cidr)
    assert [h.name for h in config.hybrid_cloud.hubs] == ["hq-hub1", "hq-hub2"]
    roles = {r.name: r.data_prefixes for r in config.hybrid_cloud.staff_roles}
    assert roles["hq-finance"] == ["finance", "pos"]


def test_desktop_seats_are_summed_from_every_live_store(fleet: Fleet) -> None:
    pools = {p.pool.name: p for p in core_config(fleet).desktop_pools}
    store_staff = pools["store-staff"].pool.seat_totals()
    expected = {
        (role, store.id): store.desktops[role]
        for store in fleet
        if store.state != "decommissioned"
        for role in ("cashier", "store-manager")
        if store.desktops.get(role)
    }
    assert store_staff == expected
    assert pools["store-staff"].aws_region == "eu-west-1"
    assert pools["hq-staff"].openstack_site == "ams-private"


def test_a_store_block_is_its_own_allocation(fleet: Fleet) -> None:
    config = store_config(fleet, fleet.store("nw-0001"))
    assert config.site.own_prefixes == [ipaddress.ip_network("10.64.0.0/23")]
    assert config.site.aws_region == "eu-west-1"
    assert [link.name for link in config.site.aws_links] == ["wan1"]
    assert {t.role for t in config.site.hub_tunnels} == {"primary", "backup"}


def test_a_pinned_subnet_outside_the_block_is_part_of_the_allocation(fleet: Fleet) -> None:
    config = store_config(fleet, fleet.store("nw-0008"))
    assert ipaddress.ip_network("10.79.255.0/26") in config.site.own_prefixes
    # Only DHCP links: AWS cannot identify the store, so it reaches the cloud through its hubs.
    assert config.site.aws_region is None
    assert any("AWS affinity eu-west-1 skipped" in note for note in config.notes)


def test_the_core_reaches_hq_as_the_network_intent_cuts_it(fleet: Fleet) -> None:
    """The core stack carries HQ's infrastructure and the servers written inside it, and derives
    the rest: what its groups allow at HQ is the intent's `cloud_hq`, one cut for hubs and clouds."""
    intent = NetworkIntent(fleet)
    hybrid = core_config(fleet).hybrid_cloud
    assert hybrid.hq_cut == list(intent.cloud_hq)
    assert hybrid.hq_infrastructure == list(intent.dc_infrastructure)


def test_an_aws_desktop_pool_admits_clients_only_from_the_ranges_the_inventory_names(tmp_path: Path) -> None:
    """Without an IP access control group on its directory, WorkSpaces uses the default group, whose
    rule "allows users to access their WorkSpaces from anywhere" (WorkSpaces API, CreateIpGroup):
    a leaked directory password then opens a desktop inside the chain from any address. A desktop
    policy's `client_public_ranges` reach the pool, which puts them in an IP access group."""
    fleet_dir = tmp_path / "fleet"
    shutil.copytree(sample_chain_path(), fleet_dir)
    path = fleet_dir / "fleet.yaml"
    data = yaml.safe_load(path.read_text())
    policy = next(p for p in data["desktop_policies"] if p["provider"] == "aws")
    policy["client_public_ranges"] = ["203.0.113.0/28", "198.51.100.64/29"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    pools = {p.pool.name: p.pool for p in core_config(load_fleet(fleet_dir)).desktop_pools}
    assert [str(n) for n in pools[policy["name"]].client_public_ranges] == ["203.0.113.0/28", "198.51.100.64/29"]
    # OpenStack desktops have no such group: the key is refused there rather than silently ignored.
    other = next(p for p in data["desktop_policies"] if p["provider"] == "openstack")
    other["client_public_ranges"] = ["203.0.113.0/28"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InventoryError, match="client_public_ranges"):
        load_fleet(fleet_dir)
    # A private range is no client's public address.
    other.pop("client_public_ranges")
    policy["client_public_ranges"] = ["10.0.0.0/8"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InventoryError, match=r"10\.0\.0\.0/8 is not a public range"):
        load_fleet(fleet_dir)
