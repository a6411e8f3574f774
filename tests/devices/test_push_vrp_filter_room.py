"""A VRP filter that must be built anew finds a free number, or the push refuses the appliance.

A bound filter whose change no order of its rules makes safe in place (a rule put in above
others renumbers every later one) is built whole under its other name, at the highest advanced
ACL number (3000-3999) neither the appliance nor the intended config uses, bound in place of the
old one, which is deleted last (`slotted_filters`). A hub numbers its FROM-STORE filters from
every free advanced number (`hub_store_filter_numbers`), so a hub of many stores can leave none.
The push then edited the filter in place, rule by rule: between its deletions and additions the
filter held only the rules both sides hold, and a deny-list closing with `permit ip` passed for
a moment what both the old and the new one deny. It now refuses the appliance at the diff, dry
run included, before any line; with a number free, the filter is built anew there.

Pushed to the emulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from testsupport.emulator_push import push_emulated

from storestack.devices.configdiff import compute_diff
from storestack.lab.emulator import EmulatedDevice, Emulator, EmulatorThread

HUB = "hq-hub9"
FILTER = "FROM-STORE-s-1"
OLD_RULES = " rule 5 deny ip destination 10.0.0.3 0\n rule 10 permit ip\n"
# A deny put in above: `rule 10` now holds the new deny, `permit ip` moved to 15.
NEW_RULES = " rule 5 deny ip destination 10.0.0.3 0\n rule 10 deny ip destination 10.0.0.4 0\n rule 15 permit ip\n"


def _config(rules: str, free: set[int]) -> str:
    """A hub whose port binds FILTER (number 3000), every other advanced ACL number but `free`
    taken by an ACL of its own."""
    fillers = "".join(
        f"acl name FILL-{number} {number}\n rule 5 permit ip source 10.9.{number % 250}.0 0.0.0.255\n#\n"
        for number in range(3001, 4000)
        if number not in free
    )
    return (
        f"sysname {HUB}\n#\nacl name {FILTER} 3000\n{rules}#\n{fillers}"
        f"interface GigabitEthernet0/0/2\n ip address 192.0.2.1 255.255.255.0\n"
        f" traffic-filter inbound acl name {FILTER}\n#\nreturn\n"
    )


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    devices = [EmulatedDevice(name=HUB, platform="huawei_vrp", role="hub", timer_minute_seconds=2.0)]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path_factory.mktemp("emulator"))) as running:
        yield running


def _holding(emulator: Emulator, free: set[int]) -> str:
    emulator.set_running_config(HUB, _config(OLD_RULES, free), save=True)
    return emulator.running_config(HUB)


def test_a_filter_with_no_number_free_for_its_rebuild_is_refused_before_any_line(
    emulator: Emulator, tmp_path: Path
) -> None:
    running = _holding(emulator, free=set())
    intended = running.replace(OLD_RULES, NEW_RULES)
    assert compute_diff(running, intended, "huawei_vrp").without_room == (FILTER,)
    before = emulator.config_lines_received(HUB)
    for dry_run in (True, False):
        result = push_emulated(emulator, HUB, intended, tmp_path, dry_run=dry_run)
        assert (result.outcome, result.stage, result.error_type) == ("failed", "diff", "RefusedChangeError"), result.error
        assert FILTER in (result.error or "") and "nothing was sent" in (result.error or "")
    assert emulator.config_lines_received(HUB) == before
    assert emulator.running_config(HUB) == running


def test_a_filter_with_a_number_free_is_built_anew_there(emulator: Emulator, tmp_path: Path) -> None:
    running = _holding(emulator, free={3777})
    intended = running.replace(OLD_RULES, NEW_RULES)
    result = push_emulated(emulator, HUB, intended, tmp_path)
    assert result.outcome == "changed", result.error
    now = emulator.running_config(HUB)
    assert f"acl name {FILTER}-B 3777\n{NEW_RULES}" in now
    assert f"traffic-filter inbound acl name {FILTER}-B" in now and f"acl name {FILTER} 3000" not in now
    assert compute_diff(now, intended, "huawei_vrp").in_sync
