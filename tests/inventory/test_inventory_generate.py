"""The synthetic fleet generator: valid, realistic, deterministic, and big enough."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from storestack.inventory import load_fleet, load_fleet_bundle
from storestack.inventory.generate import GenerateError, generate_fleet, write_fleet


def test_same_seed_same_fleet_other_seed_other_fleet() -> None:
    assert generate_fleet(50, seed=3).bundle() == generate_fleet(50, seed=3).bundle()
    assert generate_fleet(50, seed=3).bundle() != generate_fleet(50, seed=4).bundle()


@pytest.mark.parametrize(("stores", "seed"), [(1, 0), (2, 1), (4, 2), (97, 3), (1001, 4)])
def test_generated_fleets_validate(stores: int, seed: int) -> None:
    fleet = load_fleet_bundle(generate_fleet(stores, seed).bundle())
    assert len(fleet) == stores


def test_generated_fleet_is_a_realistic_mix() -> None:
    fleet = load_fleet_bundle(generate_fleet(300, seed=11).bundle())
    formats = Counter(store.format for store in fleet)
    platforms = Counter(appliance.platform for store in fleet for appliance in store.appliances)
    kinds = Counter(link.kind for store in fleet for link in store.wan)
    assert set(formats) == {"hypermarket", "supermarket", "mall", "convenience"}
    assert set(platforms) == {"frr", "cisco_xe", "huawei_vrp", "fortinet"}
    assert set(kinds) == {"fiber", "broadband", "lte", "5g"}
    assert sum(store.lte_only for store in fleet) >= 3
    assert len(fleet.hubs) >= 2
    assert len({store.region for store in fleet}) >= 4
    assert {store.primary_hub for store in fleet} == set(fleet.hubs)
    assert {store.state for store in fleet} >= {"active", "planned"}
    # Hypermarkets run an appliance pair; a few stores pin their POS subnet.
    assert all(len(store.appliances) == 2 for store in fleet if store.format == "hypermarket")
    assert any(not store.segments["pos"].subnet.subnet_of(store.block) for store in fleet if store.block)


def test_even_a_tiny_fleet_shows_the_mix() -> None:
    fleet = load_fleet_bundle(generate_fleet(4, seed=0).bundle())
    assert {store.format for store in fleet} == {"hypermarket", "supermarket", "mall", "convenience"}
    assert {store.appliances[0].platform for store in fleet} == {"frr", "cisco_xe", "huawei_vrp", "fortinet"}
    assert fleet.store("ms-00003").lte_only


@pytest.mark.parametrize("stores", [0, -1, 10_001])
def test_fleet_size_is_bounded(stores: int) -> None:
    with pytest.raises(GenerateError, match="between 1 and 10000"):
        generate_fleet(stores, seed=0)


def test_write_fleet_is_idempotent_and_keeps_one_fleet_per_directory(tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    first = write_fleet(generate_fleet(12, seed=1), out)
    assert (first.written, first.unchanged, first.removed) == (13, 0, 0)
    again = write_fleet(generate_fleet(12, seed=1), out)
    assert (again.written, again.unchanged, again.removed) == (0, 13, 0)
    with pytest.raises(GenerateError, match=r"2 of 12 stores would be destroyed .*--allow-destroy 2"):
        write_fleet(generate_fleet(10, seed=1), out)  # the blast-radius guard: 2 of 12 is more than 1
    assert len(list((out / "stores").glob("*.yaml"))) == 12
    smaller = write_fleet(generate_fleet(10, seed=1), out, allow_remove=2)
    assert smaller.removed == 2
    assert sorted(load_fleet(out).stores)[-1] == "ms-00010"


def test_write_fleet_refuses_a_fleet_it_did_not_generate(tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    out.mkdir()
    (out / "fleet.yaml").write_text("organisation: {}\n")
    with pytest.raises(GenerateError, match=r"did not write \(fleet.yaml\)"):
        write_fleet(generate_fleet(2, seed=1), out)
    assert (out / "fleet.yaml").read_text() == "organisation: {}\n"


def test_write_fleet_refuses_a_generated_fleet_with_hand_written_files_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    write_fleet(generate_fleet(3, seed=1), out)
    load_fleet(out, write_lock=True)  # the lock file validate writes is expected there
    hand_written = (out / "stores" / "ms-00002.yaml").read_text().split("\n", 1)[1]
    (out / "stores" / "ms-00002.yaml").write_text(hand_written)
    (out / "notes.txt").write_text("ours\n")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(GenerateError) as caught:
        write_fleet(generate_fleet(1, seed=2), out)
    assert "(notes.txt, stores/ms-00002.yaml)" in str(caught.value)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_ten_thousand_stores_generate_and_validate_through_a_pipe() -> None:
    """`storestack inventory generate --stores 10000 | storestack inventory validate -`"""
    command = Path(sys.executable).with_name("storestack")
    generate = subprocess.Popen(
        [str(command), "inventory", "generate", "--stores", "10000", "--seed", "1"], stdout=subprocess.PIPE
    )
    validate = subprocess.run(
        [str(command), "inventory", "validate", "-", "--json"],
        stdin=generate.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert generate.stdout is not None
    generate.stdout.close()
    assert generate.wait() == 0
    assert validate.returncode == 0, validate.stderr
    assert '"stores": 10000' in validate.stdout
