"""Renaming a store id keeps its numbers; a rename by hand is pointed out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.inventory import load_fleet, sample_chain_path


@pytest.fixture
def pinned(tmp_path: Path) -> Path:
    fleet_dir = tmp_path / "fleet"
    shutil.copytree(sample_chain_path(), fleet_dir)
    return fleet_dir


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _numbers(fleet_dir: Path, store_id: str) -> tuple[object, ...]:
    store = load_fleet(fleet_dir).store(store_id)
    return (
        store.block,
        store.asn,
        [link.overlay for link in store.wan],
        [appliance.loopback for appliance in store.appliances],
        store.provisional,
    )


def test_a_store_renamed_by_hand_is_renumbered_and_validate_says_how_to_keep_its_numbers(pinned: Path) -> None:
    before = _numbers(pinned, "nw-0007")
    text = (pinned / "stores" / "nw-0007.yaml").read_text().replace("nw-0007", "nw-0017")
    (pinned / "stores" / "nw-0007.yaml").unlink()
    (pinned / "stores" / "nw-0017.yaml").write_text(text)
    renumbered = _numbers(pinned, "nw-0017")
    assert renumbered[0] != before[0] and renumbered[-1] is True  # what a rename by hand does

    code, output = _invoke("inventory", "validate", str(pinned))
    assert code == 0
    assert (
        "stores/nw-0017.yaml looks like a rename of nw-0007; `storestack inventory rename nw-0007 nw-0017` "
        "keeps its addresses"
    ) in " ".join(output.split())
    code, output = _invoke("inventory", "validate", str(pinned), "--json")
    assert json.loads(output)["rename_hints"] == {"nw-0017": ["nw-0007"]}

    code, output = _invoke("inventory", "rename", "nw-0007", "nw-0017", "--fleet", str(pinned), "--json")
    assert code == 0, output
    assert json.loads(output)["file_renamed"] is False
    assert _numbers(pinned, "nw-0017") == (*before[:-1], False)
    assert "nw-0007" not in load_fleet(pinned).removed


def test_rename_moves_the_file_its_hostnames_and_its_numbers(pinned: Path) -> None:
    before = _numbers(pinned, "nw-0003")
    comment = "# hand-written note that must survive\n"
    path = pinned / "stores" / "nw-0003.yaml"
    path.write_text(comment + path.read_text())
    code, output = _invoke("inventory", "rename", "nw-0003", "nw-0033", "--fleet", str(pinned))
    assert code == 0, output
    assert not path.exists()
    renamed = pinned / "stores" / "nw-0033.yaml"
    assert renamed.read_text().startswith(comment)
    fleet = load_fleet(pinned)
    assert [a.hostname for a in fleet.store("nw-0033").appliances] == ["nw-0033-edge1"]
    assert _numbers(pinned, "nw-0033") == before
    assert "nw-0033" in (pinned / "allocations.yaml").read_text()
    assert "nw-0003" not in (pinned / "allocations.yaml").read_text()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("nw-0099", "nw-0098", "store 'nw-0099' has no entry in allocations.yaml"),
        ("nw-0003", "nw-0004", "store 'nw-0004' already has numbers in allocations.yaml"),
        ("nw-0003", "NW 3", "'NW 3' is not a store id"),
    ],
)
def test_a_rename_that_cannot_keep_the_numbers_changes_nothing(
    pinned: Path, old: str, new: str, message: str
) -> None:
    before = {p: p.read_bytes() for p in pinned.rglob("*") if p.is_file()}
    code, output = _invoke("inventory", "rename", old, new, "--fleet", str(pinned))
    assert code == 2 and message in output  # a usage error: nothing ran
    assert {p: p.read_bytes() for p in pinned.rglob("*") if p.is_file()} == before


def test_a_rename_keeps_what_the_lock_file_pins_for_the_cloud(pinned: Path) -> None:
    """The lock file's other sections (the cloud tunnels' slots, the hubs' cloud ranks and DC core
    LAN addresses, the data bucket's region) are written back as they were: a rename that dropped
    them left the next load to pin them anew from the order of fleet.yaml, which a reorder since
    then would have moved."""
    lock = pinned / "allocations.yaml"
    # Pinned away from the fleet order, as a fleet that had a hub removed and added holds them.
    text = lock.read_text().replace("slot: 0, cloud_rank: 0, dc_address: 10.0.0.3}", "slot: 5, cloud_rank: 3, dc_address: 10.0.0.9}")
    assert "dc_address: 10.0.0.9}" in text
    lock.write_text(text)
    before = text[: text.index("\nstores:\n")]
    code, output = _invoke("inventory", "rename", "nw-0007", "nw-0017", "--fleet", str(pinned), "--json")
    assert code == 0, output
    after = lock.read_text()
    assert after[: after.index("\nstores:\n")] == before
    fleet = load_fleet(pinned)
    assert (fleet.hub_slot("hq-hub1"), fleet.hub_cloud_rank("hq-hub1")) == (5, 3)
    assert str(fleet.hubs["hq-hub1"].dc_address) == "10.0.0.9", "the hub's DC core LAN address is kept"
