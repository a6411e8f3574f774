"""IPAM: deterministic allocation, a lock file that never renumbers, explicit subnets, exhaustion."""

from __future__ import annotations

import ipaddress
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from storestack.inventory import (
    InventoryError,
    IpamExhaustedError,
    load_fleet,
    load_fleet_bundle,
    load_fleet_with_allocations,
)
from storestack.inventory.fleet import ResolvedStore
from storestack.inventory.ipam import LOCK_FILE_NAME, StoreAllocation, read_allocations

STORE_TEMPLATE = """\
id: {id}
name: Sandhill {city}
city: {city}
format: supermarket
region: south
hub: hq-hub2
wan:
  - name: wan1
    kind: broadband
    isp: Virgin Media Business
    bandwidth_mbps: 350
  - name: lte1
    kind: lte
    isp: EE
    bandwidth_mbps: 100
lan:
  pos: {{vlan: 10{pos_subnet}}}
  office: {{vlan: 20}}
  guest-wifi: {{vlan: 40}}
appliances:
  - hostname: {id}-edge1
    platform: frr
"""


def add_store(fleet: Path, store_id: str, city: str = "Derby", pos_subnet: str | None = None) -> None:
    subnet = f", subnet: {pos_subnet}" if pos_subnet else ""
    text = STORE_TEMPLATE.format(id=store_id, city=city, pos_subnet=subnet)
    (fleet / "stores" / f"{store_id}.yaml").write_text(text)


def numbers(store: ResolvedStore) -> dict[str, object]:
    """Everything IPAM decides for a store, as configs would see it."""
    return {
        "block": store.block,
        "asn": store.asn,
        "segments": {kind: segment.subnet for kind, segment in store.segments.items()},
        "loopbacks": [appliance.loopback for appliance in store.appliances],
        "overlays": {link.name: link.overlay for link in store.wan},
    }


def test_allocation_is_deterministic(make_fleet: Callable[..., Path]) -> None:
    first = load_fleet_with_allocations(make_fleet(name="one"))
    second = load_fleet_with_allocations(make_fleet(name="two"))
    assert first.allocations.render() == second.allocations.render()
    assert numbers(first.fleet.store("sh-0001")) == numbers(second.fleet.store("sh-0001"))
    # Stores are served in id order from the bottom of each pool.
    assert first.fleet.store("sh-0001").block == ipaddress.IPv4Network("10.64.0.0/23")
    assert first.fleet.store("sh-0002").block == ipaddress.IPv4Network("10.64.2.0/23")
    assert first.fleet.store("sh-0001").asn == 4200000000
    assert first.fleet.store("sh-0001").segments["guest-wifi"].subnet == ipaddress.IPv4Network("10.64.1.0/25")


def test_lock_file_keeps_numbers_when_stores_are_added_removed_and_reordered(fleet_dir: Path) -> None:
    pinned = load_fleet_with_allocations(fleet_dir, write_lock=True)
    assert (fleet_dir / LOCK_FILE_NAME).is_file()
    before = {store.id: numbers(store) for store in pinned.fleet}
    removed_alloc = pinned.allocations.stores["sh-0002"]

    add_store(fleet_dir, "sh-0000", "Derby")  # sorts first: without the lock it would take 10.64.0.0/23
    add_store(fleet_dir, "sh-0009", "Nottingham")
    (fleet_dir / "stores" / "sh-0002.yaml").unlink()
    after = load_fleet_with_allocations(fleet_dir, write_lock=True)

    assert numbers(after.fleet.store("sh-0001")) == before["sh-0001"]
    # The removed store's numbers stay reserved in the lock file, not handed to a newcomer.
    lock = read_allocations(fleet_dir / LOCK_FILE_NAME)
    assert lock.stores["sh-0002"] == removed_alloc
    newcomers = [after.fleet.store("sh-0000"), after.fleet.store("sh-0009")]
    taken = {pinned.fleet.store("sh-0001").block, removed_alloc.block}
    assert all(store.block not in taken for store in newcomers)
    assert all(store.asn not in (4200000000, removed_alloc.asn) for store in newcomers)
    assert newcomers[0].block == ipaddress.IPv4Network("10.64.4.0/23")

    # Reordering: the same stores in a bundle, in reverse order, resolve to the same numbers.
    documents = [(fleet_dir / "fleet.yaml").read_text()]
    documents += [path.read_text() for path in sorted((fleet_dir / "stores").glob("*.yaml"), reverse=True)]
    reordered = load_fleet_bundle("".join(f"---\n{d}" for d in documents), allocations=lock)
    assert {s.id: numbers(s) for s in reordered} == {s.id: numbers(s) for s in after.fleet}
    assert reordered.provisional_stores == []


def test_without_the_lock_file_a_new_store_renumbers_others(make_fleet: Callable[..., Path]) -> None:
    """Why the lock file exists: id-order allocation alone shifts stores when one is added."""
    fleet = make_fleet()
    before = load_fleet(fleet).store("sh-0001").block
    add_store(fleet, "sh-0000")
    assert load_fleet(fleet).store("sh-0001").block != before


def test_write_lock_is_idempotent(fleet_dir: Path) -> None:
    first = load_fleet_with_allocations(fleet_dir, write_lock=True)
    assert first.lock_changed
    text = (fleet_dir / LOCK_FILE_NAME).read_text()
    second = load_fleet_with_allocations(fleet_dir, write_lock=True)
    assert not second.lock_changed
    assert (fleet_dir / LOCK_FILE_NAME).read_text() == text
    assert second.fleet.provisional_stores == []
    assert first.fleet.provisional_stores == ["sh-0001", "sh-0002"]


def test_explicit_subnets_are_kept_and_never_allocated_to_others(fleet_dir: Path) -> None:
    add_store(fleet_dir, "sh-0000", pos_subnet="10.64.0.0/26")
    fleet = load_fleet(fleet_dir)
    assert fleet.store("sh-0000").segments["pos"].subnet == ipaddress.IPv4Network("10.64.0.0/26")
    assert fleet.store("sh-0000").segments["pos"].gateway == ipaddress.IPv4Address("10.64.0.1")
    # The block holding the explicit subnet is skipped by every allocation, its owner's included.
    blocks = [store.block for store in fleet if store.block is not None]
    assert all(not block.overlaps(ipaddress.IPv4Network("10.64.0.0/26")) for block in blocks)
    assert fleet.store("sh-0000").block == ipaddress.IPv4Network("10.64.2.0/23")


def test_explicit_subnet_inside_a_pinned_block_is_reported(fleet_dir: Path) -> None:
    load_fleet_with_allocations(fleet_dir, write_lock=True)  # sh-0001 pins 10.64.0.0/23
    add_store(fleet_dir, "sh-0005", pos_subnet="10.64.1.0/26")
    with pytest.raises(InventoryError) as caught:
        load_fleet(fleet_dir)
    assert [str(issue) for issue in caught.value.issues] == [
        "stores/sh-0005.yaml:17 lan.pos.subnet: 10.64.1.0/26 overlaps the block 10.64.0.0/23 of store 'sh-0001'"
    ]


def test_explicit_asn_taken_by_the_lock_file_is_reported(fleet_dir: Path) -> None:
    load_fleet_with_allocations(fleet_dir, write_lock=True)
    add_store(fleet_dir, "sh-0005")
    path = fleet_dir / "stores" / "sh-0005.yaml"
    path.write_text(path.read_text().replace("hub: hq-hub2\n", "hub: hq-hub2\nasn: 4200000001\n"))
    with pytest.raises(InventoryError) as caught:
        load_fleet(fleet_dir)
    assert [str(issue) for issue in caught.value.issues] == [
        "stores/sh-0005.yaml:7 asn: ASN 4200000001 is already used by store 'sh-0002' (allocations.yaml)"
    ]


def test_lock_file_that_no_longer_fits_the_plan_is_reported(fleet_dir: Path) -> None:
    load_fleet_with_allocations(fleet_dir, write_lock=True)
    lock = fleet_dir / LOCK_FILE_NAME
    lock.write_text(
        lock.read_text()
        .replace("block: 10.64.2.0/23", "block: 10.65.2.0/23")
        .replace("asn: 4200000001", "asn: 4200000000")
    )
    with pytest.raises(InventoryError) as caught:
        load_fleet(fleet_dir)
    hint = "; delete the entry to re-allocate (the store will be renumbered)"
    assert [str(issue) for issue in caught.value.issues] == [
        f"allocations.yaml:33 stores.sh-0002.block: 10.65.2.0/23 is not a /23 of ip_plan.stores 10.64.0.0/16{hint}",
        "allocations.yaml:34 stores.sh-0002.asn: ASN 4200000000 is already allocated to stores.sh-0001.asn",
    ]


def test_store_block_exhaustion_names_the_pool_and_the_store(fleet_dir: Path) -> None:
    fleet_file = fleet_dir / "fleet.yaml"
    fleet_file.write_text(fleet_file.read_text().replace("stores: 10.64.0.0/16", "stores: 10.64.0.0/22"))
    add_store(fleet_dir, "sh-0003")
    with pytest.raises(IpamExhaustedError) as caught:
        load_fleet(fleet_dir)
    assert [str(issue) for issue in caught.value.issues] == [
        "fleet.yaml:8 ip_plan.stores: IPAM exhausted: ip_plan.stores 10.64.0.0/22 has no free /23 left"
        " (2 in use) while allocating for store 'sh-0003'"
    ]


def test_asn_exhaustion_names_the_range_and_the_store(fleet_dir: Path) -> None:
    fleet_file = fleet_dir / "fleet.yaml"
    fleet_file.write_text(
        fleet_file.read_text().replace("[4200000000, 4200000999]", "[4200000000, 4200000001]")
    )
    add_store(fleet_dir, "sh-0003")
    with pytest.raises(IpamExhaustedError) as caught:
        load_fleet(fleet_dir)
    assert [str(issue) for issue in caught.value.issues] == [
        "fleet.yaml:23 asn.store_range: IPAM exhausted: asn.store_range 4200000000-4200000001 has no free ASN"
        " left (2 in use) while allocating for store 'sh-0003'"
    ]


def test_lock_file_round_trips(fleet_dir: Path) -> None:
    result = load_fleet_with_allocations(fleet_dir, write_lock=True)
    again = read_allocations(fleet_dir / LOCK_FILE_NAME)
    assert again == result.allocations
    assert isinstance(again.stores["sh-0001"], StoreAllocation)


def test_hostile_keys_in_the_lock_file_are_quoted(tmp_path: Path) -> None:
    from storestack.inventory.ipam import AllocationTable

    table = AllocationTable.model_validate(
        {"stores": {"yes": {"asn": 1, "loopbacks": {"on": "10.0.0.1"}, "transit": {"null": "100.64.0.0/31"}}}}
    )
    path = tmp_path / LOCK_FILE_NAME
    path.write_text(table.render())
    assert read_allocations(path) == table


def test_copy_of_fleet_with_lock_resolves_identically(fleet_dir: Path, tmp_path: Path) -> None:
    load_fleet_with_allocations(fleet_dir, write_lock=True)
    copy = tmp_path / "copy"
    shutil.copytree(fleet_dir, copy)
    assert {s.id: numbers(s) for s in load_fleet(copy)} == {s.id: numbers(s) for s in load_fleet(fleet_dir)}


def test_management_address_that_is_another_appliances_loopback_is_reported(fleet_dir: Path) -> None:
    load_fleet_with_allocations(fleet_dir, write_lock=True)  # sh-0001-edge1 pins loopback 10.255.0.3
    store = fleet_dir / "stores" / "sh-0002.yaml"
    store.write_text(
        store.read_text().replace(
            "    platform: cisco_xe", "    platform: cisco_xe\n    management_address: 10.255.0.3"
        )
    )
    with pytest.raises(InventoryError) as caught:
        load_fleet(fleet_dir)
    assert [str(issue) for issue in caught.value.issues] == [
        "stores/sh-0002.yaml:25 appliances[0].management_address: 10.255.0.3 is the loopback of sh-0001-edge1"
    ]


def test_a_removed_hub_keeps_its_loopback_reserved(fleet_dir: Path) -> None:
    load_fleet_with_allocations(fleet_dir, write_lock=True)  # hq-hub2 pins 10.255.0.2
    fleet_file = fleet_dir / "fleet.yaml"
    text = fleet_file.read_text()
    fleet_file.write_text(
        text.replace(
            "      - hostname: hq-hub2\n        platform: frr\n        management_address: 10.0.250.12\n"
            "        public_address: 203.0.113.12\n",
            "",
        ).replace("hub: hq-hub2", "hub: hq-hub1")
    )
    (fleet_dir / "stores" / "sh-0002.yaml").write_text(
        (fleet_dir / "stores" / "sh-0002.yaml").read_text().replace("hub: hq-hub2", "hub: hq-hub1")
    )
    add_store(fleet_dir, "sh-0005")
    store = fleet_dir / "stores" / "sh-0005.yaml"
    store.write_text(store.read_text().replace("hub: hq-hub2", "hub: hq-hub1"))
    result = load_fleet_with_allocations(fleet_dir, write_lock=True)
    assert sorted(result.fleet.hubs) == ["hq-hub1"]
    assert str(result.allocations.hubs["hq-hub2"].loopback) == "10.255.0.2"
    assert all(str(a.loopback) != "10.255.0.2" for a in result.fleet.store("sh-0005").appliances)



def test_a_hand_edited_aws_inside_pin_that_is_reserved_or_taken_is_reported(fleet_dir: Path) -> None:
    table = load_fleet_with_allocations(fleet_dir, write_lock=True).allocations
    (owner, alloc), *_ = [(store_id, a) for store_id, a in table.stores.items() if a.aws_inside]
    (link, taken), *_ = alloc.aws_inside.items()
    other = next(store_id for store_id in table.stores if store_id != owner)
    lock = fleet_dir / LOCK_FILE_NAME
    pinned = f"    aws_inside: {{{link}: {taken}}}\n"
    assert pinned in lock.read_text()

    # Another store's entry claims the same /29 in the same region.
    entry = f"  {other}:\n"
    text = lock.read_text()
    start = text.index(entry) + len(entry)
    end = text.index("\n", text.index("transit:", start)) + 1
    lock.write_text(text[:end] + f"    aws_region: {alloc.aws_region}\n    aws_inside: {{wan9: {taken}}}\n" + text[end:])
    with pytest.raises(InventoryError) as caught:
        load_fleet(fleet_dir)
    written = lock.read_text()
    later, first = (other, owner) if other > owner else (owner, other)
    later_link, first_link = ("wan9", link) if other > owner else (link, "wan9")
    later_line = f"aws_inside: {{{later_link}: {taken}}}"
    (issue,) = [issue for issue in caught.value.issues if "aws_inside" in issue.field]
    assert (issue.file, issue.field) == ("allocations.yaml", f"stores.{later}.aws_inside.{later_link}")
    assert issue.line == written[: written.index(later_line)].count("\n") + 1
    assert issue.message == f"{taken} is already allocated to stores.{first}.aws_inside.{first_link} in {alloc.aws_region}"

    # And a pin on AWS's reserved 169.254.0.0/30 (its /29) is refused, naming the line.
    lock.write_text(text.replace(pinned, f"    aws_inside: {{{link}: 169.254.0.0/29}}\n"))
    with pytest.raises(InventoryError) as caught:
        load_fleet(fleet_dir)
    (issue,) = caught.value.issues
    assert issue.file == "allocations.yaml" and issue.field == f"stores.{owner}.aws_inside.{link}"
    assert issue.line == text[: text.index(pinned)].count("\n") + 1
    assert "169.254.0.0/29 is not a /29 of 169.254.0.0/16 clear of AWS's reserved /30s" in issue.message
