"""A FortiGate whose own BGP AS changes is refused at the diff, before any line.

The store's `asn` (or a hub's `asn.hq`) changed: the push used to send `set as NEW` under `config
router bgp` to a unit running BGP under the old AS. FortiOS documents `set as` only as "Router AS
number, valid from 1 to 4294967295, 0 to disable BGP" (CLI reference, "router bgp"), and no
Fortinet document found says whether a running unit changes its AS in place or what its sessions
and routes do meanwhile; its hubs' neighbours expect the old AS until they change. So no push, dry
run or restore sends it over a held AS; a unit without BGP takes its first AS as any other line.

Pushed to the emulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from testsupport.emulator_push import push_emulated

from storestack.devices.report import DeviceResult
from storestack.lab.emulator import EmulatedDevice, Emulator, EmulatorThread

HUB = "fgt-hub9"
STORE = "fgt-store"
BGP = (
    "config router bgp\n"
    "    set as 4200000001\n"
    "    set router-id 10.255.0.9\n"
    "    config neighbor\n"
    '        edit "100.64.0.0"\n'
    "            set remote-as 65000\n"
    "        next\n"
    "    end\n"
    "end\n"
)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    devices = [
        EmulatedDevice(name=HUB, platform="fortinet", role="hub"),
        EmulatedDevice(name=STORE, platform="fortinet", store_id="s-1"),
    ]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path_factory.mktemp("emulator"))) as running:
        yield running


@pytest.fixture
def factory(emulator: Emulator) -> Iterator[dict[str, str]]:
    texts = {name: emulator.running_config(name) for name in emulator.device_names}
    yield texts
    for name, text in texts.items():
        emulator.set_running_config(name, text, save=True)


def push(emulator: Emulator, name: str, intended: str, state: Path, *, dry_run: bool = False) -> DeviceResult:
    return push_emulated(emulator, name, intended, state, dry_run=dry_run, confirm_timeout=0)


@pytest.mark.parametrize(("name", "field"), [(HUB, "asn.hq"), (STORE, "`asn`")])
def test_a_changed_own_as_is_refused_before_any_line(
    emulator: Emulator, factory: dict[str, str], tmp_path: Path, name: str, field: str
) -> None:
    emulator.set_running_config(name, factory[name] + BGP, save=True)
    holding = emulator.running_config(name)
    assert "set as 4200000001" in holding
    received = emulator.config_lines_received(name)
    result = push(emulator, name, holding.replace("set as 4200000001", "set as 4200000099"), tmp_path)
    assert (result.outcome, result.stage, result.error_type) == ("failed", "diff", "RefusedChangeError"), result.error
    error = result.error or ""
    assert name in error and "set as 4200000099" in error and field in error and "by hand" in error
    assert result.config_lines_sent == 0
    assert emulator.config_lines_received(name) == received
    assert emulator.running_config(name) == holding
    planned = push(emulator, name, holding.replace("set as 4200000001", "set as 4200000099"), tmp_path, dry_run=True)
    assert (planned.outcome, planned.stage) == ("failed", "diff"), planned.error


def test_a_unit_without_bgp_takes_its_first_as(emulator: Emulator, factory: dict[str, str], tmp_path: Path) -> None:
    result = push(emulator, STORE, factory[STORE] + BGP, tmp_path)
    assert result.outcome == "changed", result.error
    assert "set as 4200000001" in emulator.running_config(STORE)


def test_a_neighbour_change_under_the_same_as_is_still_pushed(
    emulator: Emulator, factory: dict[str, str], tmp_path: Path
) -> None:
    emulator.set_running_config(STORE, factory[STORE] + BGP, save=True)
    holding = emulator.running_config(STORE)
    result = push(emulator, STORE, holding.replace("set remote-as 65000", "set remote-as 65001"), tmp_path)
    assert result.outcome == "changed", result.error
    assert "set remote-as 65001" in emulator.running_config(STORE)
