"""A hub's DC core LAN address is stated or pinned, never its place in fleet.yaml.

Left out of the inventory, a hub's `dc_address` was the host after the core routers its place
among the hubs gave it: reordering the hubs swapped their addresses, and removing the first hub
moved every kept hub's, and with it each hub-hub and hub-DC BGP session and the FRR partner marks
and tables numbered by the partner's host (`devices/frr.py` `partner_slots`). IPAM pins it in the
lock file, as it pins the hubs' cloud slots and ranks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from testsupport.rendering import committed, edited_sample_chain, three_hub_chain, with_lock_of

from storestack.devices.frr import partner_slots
from storestack.devices.render import render_fleet
from storestack.inventory import load_fleet
from storestack.inventory.errors import InventoryError, IpamExhaustedError
from storestack.inventory.ipam import LOCK_FILE_NAME
from storestack.network.build import NetworkIntent

FIRST_HUB = "      - hostname: hq-hub1\n"


def _hub_block(text: str, hub: str) -> str:
    match = re.search(rf"(?ms)^      - hostname: {hub}\n.*?(?=^      - hostname: |^ {{0,4}}[a-z])", text)
    assert match, hub
    return match.group(0)


def _swap_hubs(root: Path, first: str, second: str) -> None:
    fleet = root / "fleet.yaml"
    text = fleet.read_text()
    a, b = _hub_block(text, first), _hub_block(text, second)
    fleet.write_text(text.replace(a, "\0").replace(b, a).replace("\0", b))


def _remove_hub(root: Path, hub: str, successor: str) -> None:
    fleet = root / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace(_hub_block(fleet.read_text(), hub), ""))
    for store in (root / "stores").glob("*.yaml"):
        store.write_text(store.read_text().replace(f"hub: {hub}\n", f"hub: {successor}\n"))


def _stated(root: Path, hub: str, line: str) -> None:
    fleet = root / "fleet.yaml"
    text = fleet.read_text()
    block = _hub_block(text, hub)
    fleet.write_text(text.replace(block, block + f"        {line}\n"))


def _dc_addresses(root: Path) -> dict[str, str]:
    return {name: str(hub.dc_address) for name, hub in load_fleet(root).hubs.items()}


def _hub_configs(root: Path) -> dict[str, str]:
    fleet = load_fleet(root)
    return {config.name: config.text for config in render_fleet(fleet, store_ids=[])}


def test_reordering_the_hubs_changes_no_rendered_hub_config(tmp_path: Path) -> None:
    before = committed(edited_sample_chain(tmp_path / "before", FIRST_HUB, FIRST_HUB))
    after = with_lock_of(edited_sample_chain(tmp_path / "after", FIRST_HUB, FIRST_HUB), before)
    _swap_hubs(after, "hq-hub1", "hq-hub2")
    assert list(load_fleet(after).hubs) == ["hq-hub2", "hq-hub1"]
    assert _dc_addresses(after) == _dc_addresses(before) == {"hq-hub1": "10.0.0.3", "hq-hub2": "10.0.0.4"}
    configs = _hub_configs(after)
    assert configs and configs == _hub_configs(before)


def test_removing_the_first_hub_moves_no_kept_hubs_dc_address_or_partner_mark(tmp_path: Path) -> None:
    before = committed(three_hub_chain(tmp_path / "before"))
    after = with_lock_of(three_hub_chain(tmp_path / "after"), before)
    _remove_hub(after, "hq-hub1", "hq-hub2")
    kept = {"hq-hub2": "10.0.0.4", "hq-hub3": "10.0.0.5"}
    assert {hub: _dc_addresses(before)[hub] for hub in kept} == kept
    assert _dc_addresses(after) == kept
    # Each FRR hub's partner marks and tables, numbered by the partner's DC host, stay put.
    old, new = NetworkIntent(load_fleet(before)), NetworkIntent(load_fleet(after))
    for hub in kept:
        now = partner_slots(new.hub(hub))
        assert now, hub
        assert {partner: slot for partner, slot in partner_slots(old.hub(hub)).items() if partner in now} == now
        assert now == {partner: int(kept[partner].rsplit(".", 1)[1]) for partner in now}
    # hq-hub1's address stays pinned while its sessions may still be up: a hub added takes another.
    committed(after)
    lock = yaml.safe_load((after / LOCK_FILE_NAME).read_text())
    assert lock["hubs"]["hq-hub1"]["dc_address"] == "10.0.0.3"
    new_hub = (
        "      - hostname: hq-hub4\n"
        "        platform: frr\n"
        "        management_address: 10.0.250.14\n"
        "        public_address: 203.0.113.14\n"
        "        serial: NW-HUB-0004\n"
    )
    fleet = after / "fleet.yaml"
    text = fleet.read_text()
    fleet.write_text(text.replace("      - hostname: hq-hub2\n", new_hub + "      - hostname: hq-hub2\n"))
    assert _dc_addresses(after) == {"hq-hub4": "10.0.0.6", **kept}


def test_a_lock_written_before_the_pins_keeps_the_positions_deployed(tmp_path: Path) -> None:
    root = committed(three_hub_chain(tmp_path))
    lock = root / LOCK_FILE_NAME
    lock.write_text(re.sub(r", dc_address: [0-9.]+", "", lock.read_text()))
    assert "dc_address" not in lock.read_text()
    committed(root)
    assert _dc_addresses(root) == {"hq-hub1": "10.0.0.3", "hq-hub2": "10.0.0.4", "hq-hub3": "10.0.0.5"}
    pinned = yaml.safe_load(lock.read_text())["hubs"]
    assert {hub: pinned[hub]["dc_address"] for hub in pinned} == _dc_addresses(root)


def test_a_stated_dc_address_wins_and_is_pinned(tmp_path: Path) -> None:
    root = committed(three_hub_chain(tmp_path))
    _stated(root, "hq-hub2", "dc_address: 10.0.0.9")
    assert _dc_addresses(root) == {"hq-hub1": "10.0.0.3", "hq-hub2": "10.0.0.9", "hq-hub3": "10.0.0.5"}
    committed(root)
    # Stated for two hubs the other way round, two pinned addresses swap.
    _stated(root, "hq-hub1", "dc_address: 10.0.0.5")
    _stated(root, "hq-hub3", "dc_address: 10.0.0.3")
    assert _dc_addresses(root) == {"hq-hub1": "10.0.0.5", "hq-hub2": "10.0.0.9", "hq-hub3": "10.0.0.3"}


def test_a_stated_dc_address_another_hub_holds_pinned_is_refused_at_its_line(tmp_path: Path) -> None:
    before = committed(three_hub_chain(tmp_path / "before"))
    after = with_lock_of(three_hub_chain(tmp_path / "after"), before)
    _remove_hub(after, "hq-hub1", "hq-hub2")
    # A kept hub's address, and a removed hub's (its sessions may still be up).
    cases = (("hq-hub3", 2, "10.0.0.4", "hq-hub2"), ("hq-hub2", 0, "10.0.0.3", "hq-hub1"))
    for hub, position, address, holder in cases:
        root = with_lock_of(three_hub_chain(tmp_path / hub), before) if hub == "hq-hub3" else after
        _stated(root, hub, f"dc_address: {address}")
        with pytest.raises(InventoryError) as refused:
            load_fleet(root)
        (issue,) = refused.value.issues
        assert (issue.file, issue.field) == ("fleet.yaml", f"sites.hq.hubs[{position}].dc_address")
        lines = (root / "fleet.yaml").read_text().splitlines()
        assert issue.line == lines.index(f"        dc_address: {address}", lines.index(f"      - hostname: {hub}")) + 1
        assert f"{address} is pinned in {LOCK_FILE_NAME} to hubs.{holder}" in issue.message


def test_two_hubs_pinned_at_one_dc_address_are_refused_in_the_lock(tmp_path: Path) -> None:
    root = committed(three_hub_chain(tmp_path))
    lock = root / LOCK_FILE_NAME
    lock.write_text(lock.read_text().replace("dc_address: 10.0.0.5", "dc_address: 10.0.0.4"))
    with pytest.raises(InventoryError) as refused:
        load_fleet(root)
    (issue,) = refused.value.issues
    assert (issue.file, issue.field) == (LOCK_FILE_NAME, "hubs.hq-hub3.dc_address")
    assert "10.0.0.4 is already allocated to hubs.hq-hub2.dc_address" in issue.message


def _core(root: Path, core: str) -> None:
    fleet = root / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace("sites:\n  hq:\n", f"sites:\n  hq:\n    core:\n{core}", 1))


def test_a_core_router_stated_on_a_hubs_pinned_address_is_refused_at_the_router(tmp_path: Path) -> None:
    root = committed(three_hub_chain(tmp_path))
    _core(root, "      routers: [10.0.0.1, 10.0.0.2, 10.0.0.3]\n")
    with pytest.raises(InventoryError) as refused:
        load_fleet(root)
    (issue,) = refused.value.issues
    assert (issue.file, issue.field) == ("fleet.yaml", "sites.hq.core.routers[2]")
    assert f"core router 10.0.0.3 is on the DC core LAN address pinned in {LOCK_FILE_NAME} to hubs.hq-hub1" in issue.message


def test_a_hub_the_core_lan_has_no_host_left_for_is_refused_at_the_hub(tmp_path: Path) -> None:
    root = three_hub_chain(tmp_path)
    (root / LOCK_FILE_NAME).unlink()
    _core(root, "      subnet: 10.0.0.0/29\n      routers: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4]\n")
    # An exhausted pool, as every other IPAM pool reports it (not a plain inventory error).
    with pytest.raises(IpamExhaustedError) as refused:
        load_fleet(root)
    (issue,) = refused.value.issues
    assert (issue.file, issue.field) == ("fleet.yaml", "sites.hq.hubs[2]")
    assert "DC core LAN 10.0.0.0/29 has no free host left for hub hq-hub3" in issue.message


def test_a_new_core_lan_numbers_the_hubs_in_their_old_order_after_its_routers(tmp_path: Path) -> None:
    """A written core LAN that holds none of the pinned addresses: the hubs move onto it in the
    order they held on the old one (not their order in fleet.yaml, reordered here too), from the
    host after the routers on, as a fleet that never had pins would number them."""
    root = committed(three_hub_chain(tmp_path))
    _swap_hubs(root, "hq-hub1", "hq-hub3")
    assert list(load_fleet(root).hubs) == ["hq-hub3", "hq-hub2", "hq-hub1"]
    _core(root, "      subnet: 10.0.4.0/29\n      routers: [10.0.4.6]\n")
    moved = {"hq-hub1": "10.0.4.2", "hq-hub2": "10.0.4.3", "hq-hub3": "10.0.4.4"}
    assert _dc_addresses(root) == moved
    committed(root)
    pinned = yaml.safe_load((root / LOCK_FILE_NAME).read_text())["hubs"]
    assert {hub: pinned[hub]["dc_address"] for hub in pinned} == moved
    # A hub that states its place on the new LAN keeps it; the others fill the hosts around it.
    root = committed(three_hub_chain(tmp_path / "stated"))
    _core(root, "      subnet: 10.0.4.0/29\n      routers: [10.0.4.6]\n")
    _stated(root, "hq-hub2", "dc_address: 10.0.4.2")
    assert _dc_addresses(root) == {"hq-hub1": "10.0.4.3", "hq-hub2": "10.0.4.2", "hq-hub3": "10.0.4.4"}


def test_a_wider_core_lan_that_still_holds_the_pins_moves_no_hub(tmp_path: Path) -> None:
    root = committed(three_hub_chain(tmp_path))
    _core(root, "      subnet: 10.0.0.0/27\n")
    assert _dc_addresses(root) == {"hq-hub1": "10.0.0.3", "hq-hub2": "10.0.0.4", "hq-hub3": "10.0.0.5"}
