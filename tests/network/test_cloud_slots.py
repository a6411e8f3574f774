"""A hub, AWS region or OpenStack site added or removed moves no kept cloud tunnel.

A hub's cloud tunnels take their inside /30s (and, until the core stack is live, their planned far
ends) from its slot, its regions' and its sites' (`network/cloud.py`). Were a slot its place in
the fleet, removing hq-hub2 would move hq-hub3's AWS tunnels to hq-hub2's /30s: in AWS a new
TunnelInsideCidr replaces the VPN connection (tunnels down, new outside addresses), and the hub
would have to be pushed in step with the cloud stack. IPAM pins the slots in the lock file, as it
pins the store links' AWS /29s; the fleet is committed with its lock between changes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from testsupport.rendering import (
    committed,
    edited_sample_chain,
    hub_removed_chain,
    three_hub_chain,
    with_lock_of,
)

from storestack.devices.render import render_hub
from storestack.inventory import load_fleet, sample_chain_path
from storestack.inventory.errors import InventoryError, IpamExhaustedError
from storestack.inventory.ipam import LOCK_FILE_NAME, parse_allocations, read_allocations
from storestack.inventory.loader import load_fleet_with_allocations
from storestack.network.build import NetworkIntent

# What a cloud tunnel's ends are made of in a hub's config: inside addresses (169.254.0.0/16)
# and the planned outside addresses of its far ends (TEST-NET-1, then 198.19.0.0/18).
_CLOUD_ADDRESS = re.compile(r"\b(?:169\.254|192\.0\.2|198\.19)\.\d+\.\d+(?:/\d+)?\b")


def _cloud_ends(root: Path, hub: str) -> dict[str, tuple[str, str, str]]:
    """Hub `hub`'s cloud tunnels by id: its inside address, the far end's, the far end's outside."""
    intent = NetworkIntent(load_fleet(root))
    return {
        tunnel.id: (str(tunnel.local_inside), str(tunnel.peer_inside), str(tunnel.peer_outside))
        for tunnel in intent.hub_cloud_tunnels(hub)
    }


def _config_cloud_addresses(root: Path, hub: str) -> list[str]:
    return sorted(set(_CLOUD_ADDRESS.findall(render_hub(load_fleet(root), hub).text)))


def _sample_copy(tmp_path: Path) -> Path:
    return edited_sample_chain(tmp_path, "regions: [eu-west-1]", "regions: [eu-west-1]")


def _edit(root: Path, old: str, new: str) -> None:
    path = root / "fleet.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_removing_a_hub_moves_no_tunnel_of_a_kept_hub(tmp_path: Path) -> None:
    before = committed(three_hub_chain(tmp_path / "before"))
    after = with_lock_of(hub_removed_chain(tmp_path / "after"), before)
    for hub in ("hq-hub1", "hq-hub3"):
        assert _cloud_ends(after, hub) == _cloud_ends(before, hub), hub
    # What the hub is pushed: the same cloud tunnel addresses, nothing to change in step with the cloud.
    assert _config_cloud_addresses(after, "hq-hub3") == _config_cloud_addresses(before, "hq-hub3")


def test_a_hub_added_after_one_was_removed_takes_a_free_slot(tmp_path: Path) -> None:
    before = committed(three_hub_chain(tmp_path / "before"))
    after = committed(with_lock_of(hub_removed_chain(tmp_path / "after"), before))
    _edit(
        after,
        "        serial: NW-HUB-0003\n",
        "        serial: NW-HUB-0003\n"
        "      - hostname: hq-hub4\n"
        "        platform: frr\n"
        "        management_address: 10.0.250.14\n"
        "        public_address: 203.0.113.14\n"
        "        serial: NW-HUB-0004\n",
    )
    taken = {inside for hub in ("hq-hub1", "hq-hub2", "hq-hub3") for inside, _, _ in _cloud_ends(before, hub).values()}
    added = {inside for inside, _, _ in _cloud_ends(after, "hq-hub4").values()}
    # hq-hub2's tunnels may still be up until it is retired: the new hub takes none of its /30s.
    assert added and not added & taken
    for hub in ("hq-hub1", "hq-hub3"):
        assert _cloud_ends(after, hub) == _cloud_ends(before, hub), hub


@pytest.mark.parametrize("change", ["added", "removed"])
def test_an_aws_region_added_or_removed_moves_no_other_regions_tunnels(tmp_path: Path, change: str) -> None:
    # eu-central-1 sorts before eu-west-1: in fleet order it would take eu-west-1's place.
    two = "regions: [eu-central-1, eu-west-1]"
    before = edited_sample_chain(tmp_path / "before", "regions: [eu-west-1]", two if change == "removed" else "regions: [eu-west-1]")
    committed(before)
    after = with_lock_of(edited_sample_chain(tmp_path / "after", "regions: [eu-west-1]", two if change == "added" else "regions: [eu-west-1]"), before)
    for hub in ("hq-hub1", "hq-hub2"):
        kept = {tid: ends for tid, ends in _cloud_ends(before, hub).items() if "eu-central-1" not in tid}
        now = {tid: ends for tid, ends in _cloud_ends(after, hub).items() if "eu-central-1" not in tid}
        assert now == kept, hub
        fewer, more = (before, after) if change == "added" else (after, before)
        assert set(_config_cloud_addresses(fewer, hub)) < set(_config_cloud_addresses(more, hub)), hub


def test_an_openstack_site_added_before_another_moves_none_of_its_tunnels(tmp_path: Path) -> None:
    site = (
        "  openstack:\n"
        "    - name: rtm-private\n"
        "      auth_url: https://keystone.rtm-dc2.northwind.example:5000/v3\n"
        "      region: regionone\n"
        "      external_network: public-ext\n"
        "      project: retail-platform\n"
    )
    before = committed(_sample_copy(tmp_path / "before"))
    after = with_lock_of(edited_sample_chain(tmp_path / "after", "  openstack:\n", site), before)
    for hub in ("hq-hub1", "hq-hub2"):
        kept = _cloud_ends(before, hub)
        now = _cloud_ends(after, hub)
        assert {tid: now[tid] for tid in kept} == kept, hub
        added = {ends for tid, ends in now.items() if "rtm-private" in tid}
        assert added and not {e[0] for e in added} & {e[0] for e in kept.values()}
        assert not {e[2] for e in added} & {e[2] for e in kept.values()}, "two gateways planned at one address"


def test_the_lock_file_pins_the_slots_and_reads_back_as_written(tmp_path: Path) -> None:
    root = committed(three_hub_chain(tmp_path))
    text = (root / LOCK_FILE_NAME).read_text()
    lock = yaml.safe_load(text)
    # A fleet committed before slots keeps what its fleet order gave: what it has deployed.
    assert [lock["hubs"][hub]["slot"] for hub in ("hq-hub1", "hq-hub2", "hq-hub3")] == [0, 1, 2]
    assert lock["aws_regions"] == {"eu-west-1": {"slot": 0, "ranges": 0}}
    assert lock["openstack_sites"] == {
        "ams-private": {"slot": 0, "ranges": 1, "aws_inside": {"eu-west-1": "169.254.244.0/29"}}
    }
    table, _ = parse_allocations(text, LOCK_FILE_NAME)
    assert table.render() == text
    assert read_allocations(root / LOCK_FILE_NAME) == table
    assert not load_fleet_with_allocations(root).lock_changed


def test_a_lock_written_before_slots_keeps_the_deployed_tunnels(tmp_path: Path) -> None:
    sample = NetworkIntent(load_fleet(sample_chain_path()))
    root = committed(_sample_copy(tmp_path))
    lock = (root / LOCK_FILE_NAME).read_text()
    legacy = re.sub(r", slot: \d+", "", re.sub(r"(?ms)^aws_regions:\n.*?(?=^stores:)", "", lock))
    (root / LOCK_FILE_NAME).write_text(legacy)
    again = NetworkIntent(load_fleet(root))
    for hub in ("hq-hub1", "hq-hub2"):
        assert again.hub_cloud_tunnels(hub) == sample.hub_cloud_tunnels(hub)


def test_a_hub_slot_pool_held_by_removed_hubs_is_refused_naming_the_lock_entries(tmp_path: Path) -> None:
    root = committed(_sample_copy(tmp_path))
    path = root / LOCK_FILE_NAME
    text = path.read_text()
    gone = "".join(
        f"  gone-hub{n}: {{loopback: 10.255.1.{n}, beacon: 10.255.1.{n + 10}, slot: {n}}}\n" for n in range(1, 8)
    )
    text, replaced = re.subn(r"(?m)^  hq-hub2: .*\n", gone, text)
    assert replaced == 1
    path.write_text(text)
    with pytest.raises(IpamExhaustedError) as refused:
        load_fleet(root)
    (issue,) = refused.value.issues
    assert issue.file == "fleet.yaml" and issue.field == "sites.hq.hubs[1]"
    assert "no free hub slot" in issue.message and "hubs.gone-hub7" in issue.message
    assert LOCK_FILE_NAME in issue.message


def test_a_slot_given_twice_in_the_lock_file_is_refused_at_its_line(tmp_path: Path) -> None:
    root = committed(_sample_copy(tmp_path))
    path = root / LOCK_FILE_NAME
    path.write_text(path.read_text().replace("beacon: 10.255.0.12, slot: 1,", "beacon: 10.255.0.12, slot: 0,"))
    with pytest.raises(InventoryError) as refused:
        load_fleet(root)
    (issue,) = refused.value.issues
    assert (issue.file, issue.field) == (LOCK_FILE_NAME, "hubs.hq-hub2.slot")
    assert "hub slot 0 is already allocated to hubs.hq-hub1.slot" in issue.message


def test_a_change_that_moves_a_kept_hubs_cloud_tunnel_is_refused(tmp_path: Path) -> None:
    """A lock without slots (written before they were pinned, or not carried from the fleet
    before) numbers the hubs by their place: removing hq-hub2 would move hq-hub3's cloud tunnels.
    The push of the change refuses it, as it refuses a kept hub's moved DC address."""
    from storestack.devices.errors import PushConfigError
    from storestack.devices.push_order import make_before_break

    before = three_hub_chain(tmp_path / "before")
    after = hub_removed_chain(tmp_path / "after")
    for root in (before, after):
        lock = (root / LOCK_FILE_NAME).read_text()
        (root / LOCK_FILE_NAME).write_text(re.sub(r", slot: \d+", "", re.sub(r"(?ms)^aws_regions:\n.*?(?=^stores:)", "", lock)))
    with pytest.raises(PushConfigError) as refused:
        make_before_break(NetworkIntent(load_fleet(before)), NetworkIntent(load_fleet(after)))
    assert "hq-hub3 cloud tunnel hq-hub3-eu-west-1-aws1 inside" in refused.value.message
    assert "hq-hub1 cloud tunnel" not in refused.value.message
    assert refused.value.field == "--fleet-before"


@pytest.mark.parametrize("change", ["added", "removed"])
def test_a_region_added_or_removed_moves_no_other_sites_ranges(tmp_path: Path, change: str) -> None:
    """Each cloud site's share of ip_plan.cloud and ip_plan.desktops is where the core stack builds
    its VPCs and networks (a new CIDR replaces them). Numbered by place, AWS regions first, a
    region added moved the OpenStack site's networks, one removed moved every site after it."""
    one, two = "regions: [eu-west-1]", "regions: [eu-central-1, eu-west-1]"
    before = committed(edited_sample_chain(tmp_path / "before", one, two if change == "removed" else one))
    after = with_lock_of(edited_sample_chain(tmp_path / "after", one, two if change == "added" else one), before)
    was = NetworkIntent(load_fleet(before)).cloud_site_ranges
    now = NetworkIntent(load_fleet(after)).cloud_site_ranges
    kept = {key: ranges for key, ranges in was.items() if key != "aws:eu-central-1"}
    assert {key: now[key] for key in kept} == kept
    every = [net for ranges in now.values() for net in ranges]
    assert len(set(every)) == len(every), "two sites given one range"


def test_an_openstack_gateways_aws_peers_are_named_by_their_pinned_block() -> None:
    """A gateway built before the blocks were pinned keeps its peers' names (`aws<place>`); a block
    taken elsewhere is named by its place in the pool, never by the region's place in the fleet."""
    from ipaddress import IPv4Network

    from storestack.network.cloud import openstack_aws_block, openstack_aws_peer

    assert [openstack_aws_peer(1, openstack_aws_block(1, region)) for region in (0, 1)] == ["aws0", "aws1"]
    names = {openstack_aws_peer(1, IPv4Network(f"169.254.244.{8 * k}/29")) for k in range(32)}
    assert len(names) == 32 and "awsb0" in names and "aws0" in names
