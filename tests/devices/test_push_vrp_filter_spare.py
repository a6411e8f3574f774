"""A VRP hub numbered as full as its stores can make it still rebuilds a filter, one after another.

A bound filter whose change no order of its rules makes safe in place is built whole under its
other name at a free advanced ACL number (3000-3999, the only numbers an AR's advanced ACLs take,
named or not: AR command reference "acl name", EDOC1100064351) and bound in place of the old one
(`slotted_filters`). A hub numbered its FROM-STORE filters from every free advanced number, so a
hub of that many stores had none free and every such change was refused at the diff. The hub's
numbering now keeps a spare range (`huawei_vrp.HUB_REBUILD_NUMBERS`), and a filter held under its
other name leaves its intended number free for the next rebuild: each rebuild of one filter finds
a number, however many were rebuilt before.

Pushed to the emulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from testsupport.emulator_push import push_emulated

from storestack.devices.configdiff import compute_diff
from storestack.devices.platforms.huawei_vrp import (
    HUB_FIXED_ACLS,
    HUB_REBUILD_NUMBERS,
    hub_store_filter_numbers,
)
from storestack.lab.emulator import EmulatedDevice, Emulator, EmulatorThread
from storestack.network.errors import NetworkIntentError

HUB = "hq-hub8"
OLD_RULES = " rule 5 deny ip destination 10.0.0.3 0\n rule 10 permit ip\n"
# A deny put in above: `rule 10` now holds the new deny, `permit ip` moved to 15.
NEW_RULES = " rule 5 deny ip destination 10.0.0.3 0\n rule 10 deny ip destination 10.0.0.4 0\n rule 15 permit ip\n"
# More filters bound than the spare range holds numbers: rebuilt one after another, the later ones
# find no spare number left, only those the earlier ones left free.
BOUND = tuple(f"FROM-STORE-s-{index}" for index in range(1, HUB_REBUILD_NUMBERS[1] - HUB_REBUILD_NUMBERS[0] + 4))


def _most_stores() -> list[int]:
    """The numbers of the most stores a hub of no cloud site takes."""
    for stores in range(1000, 0, -1):
        try:
            return hub_store_filter_numbers(HUB, stores, 0)
        except NetworkIntentError:
            continue
    raise AssertionError("no store fits")


def _config(rules: dict[str, str]) -> str:
    """A hub of the most stores: each store's filter at the number the hub's numbering gives it
    (the first two bound on a port, with `rules`), the hub's fixed ACLs at theirs."""
    numbers = _most_stores()
    acls = "".join(f"acl name {name} {number}\n rule 5 permit ip\n#\n" for name, number in HUB_FIXED_ACLS)
    for index, number in enumerate(numbers, start=1):
        name = f"FROM-STORE-s-{index}"
        filler = f" rule 5 permit ip source 10.9.{index % 250}.0 0.0.0.255\n"
        acls += f"acl name {name} {number}\n{rules.get(name, filler)}#\n"
    ports = "".join(
        f"interface GigabitEthernet0/0/{port}\n ip address 192.0.{port}.1 255.255.255.0\n"
        f" traffic-filter inbound acl name {name}\n#\n"
        for port, name in enumerate(BOUND, start=2)
    )
    return f"sysname {HUB}\n#\n{acls}{ports}return\n"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    devices = [EmulatedDevice(name=HUB, platform="huawei_vrp", role="hub", timer_minute_seconds=2.0)]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path_factory.mktemp("emulator"))) as running:
        yield running


def _rebuilt(emulator: Emulator, tmp_path: Path, rules: dict[str, str], name: str) -> None:
    running = emulator.running_config(HUB)
    intended = _config(rules)
    diff = compute_diff(running, intended, "huawei_vrp")
    assert diff.without_room == ()
    result = push_emulated(emulator, HUB, intended, tmp_path)
    assert result.outcome == "changed", result.error
    now = emulator.running_config(HUB)
    assert compute_diff(now, intended, "huawei_vrp").in_sync
    # built anew under its other name or back under its own, never edited in place
    assert any(f"acl name {held} " in now for held in (name, name + "-B"))
    assert now.count("acl name ") == running.count("acl name ")


def test_a_full_hub_rebuilds_one_filter_after_another(emulator: Emulator, tmp_path: Path) -> None:
    rules = {name: OLD_RULES for name in BOUND}
    emulator.set_running_config(HUB, _config(rules), save=True)
    for step, name in enumerate((*BOUND, BOUND[0], BOUND[-1])):
        rules[name] = NEW_RULES if rules[name] == OLD_RULES else OLD_RULES
        _rebuilt(emulator, tmp_path / str(step), rules, name)
