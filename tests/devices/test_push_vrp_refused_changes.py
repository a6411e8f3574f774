"""Changes no push sends to a VRP appliance, refused at the diff before any line.

A VRP appliance whose own BGP AS changes (the inventory's `asn.hq` on a hub, a store's `asn`):
the diff deletes BGP whole, `undo bgp N`, and builds it again under the new AS. `undo bgp` deletes
"all BGP configurations on a device" (Huawei AR command reference "bgp", EDOC1100064351) and drops
every session the AR holds, and no Huawei document found says whether an AR asks a [Y/N]
confirmation for it, which a push could not answer. So no push, dry run or restore ever sends it:
the appliance is refused at the diff, before any line, naming the field that changed and what to
do instead.

A store's underlay VPN instance whose route distinguisher changes (its link moved to another
position in the store's `wan` links, a dual-WAN store gone LTE-only; its appliance's loopback
re-allocated): hier_config sends `undo route-distinguisher OLD`, a form Huawei's VRP command
references do not document (`route-distinguisher`: "Format: route-distinguisher
route-distinguisher", no undo form), so it is refused the same way.

Pushed to the emulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from testsupport.emulator_push import push_emulated

from storestack.devices.report import DeviceResult
from storestack.lab.emulator import EmulatedDevice, Emulator, EmulatorThread

HUB = "hq-hub9"
STORE = "ar-store"
UNDERLAY = "ip vpn-instance INET-lte1\n description underlay of lte1\n ipv4-family\n  route-distinguisher 10.255.0.4:2\n#\n"
BGP = "bgp 65000\n router-id 10.255.0.9\n peer 10.0.0.1 as-number 65010\n ipv4-family unicast\n  peer 10.0.0.1 enable\n#\n"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    devices = [
        EmulatedDevice(name=HUB, platform="huawei_vrp", role="hub", timer_minute_seconds=2.0),
        EmulatedDevice(name=STORE, platform="huawei_vrp", store_id="s-1", timer_minute_seconds=2.0),
    ]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path_factory.mktemp("emulator"))) as running:
        yield running


@pytest.fixture
def holding_bgp(emulator: Emulator) -> Iterator[dict[str, str]]:
    factory = {name: emulator.running_config(name) for name in emulator.device_names}
    for name, text in factory.items():
        emulator.set_running_config(name, text.replace("\nreturn", f"\n{UNDERLAY}{BGP}return"), save=True)
    texts = {name: emulator.running_config(name) for name in emulator.device_names}
    assert all("bgp 65000" in text for text in texts.values()), texts
    yield texts
    for name, text in factory.items():
        emulator.set_running_config(name, text, save=True)


def push(emulator: Emulator, name: str, intended: str, state: Path, *, dry_run: bool = False) -> DeviceResult:
    return push_emulated(emulator, name, intended, state, dry_run=dry_run)


@pytest.mark.parametrize(("name", "field"), [(HUB, "asn.hq"), (STORE, "`asn`")])
def test_a_changed_own_as_is_refused_before_any_line(
    emulator: Emulator, holding_bgp: dict[str, str], tmp_path: Path, name: str, field: str
) -> None:
    before = emulator.config_lines_received(name)
    intended = holding_bgp[name].replace("bgp 65000", "bgp 65099")
    result = push(emulator, name, intended, tmp_path)
    assert (result.outcome, result.stage, result.error_type) == ("failed", "diff", "RefusedChangeError"), result.error
    error = result.error or ""
    assert name in error and "undo bgp 65000" in error and field in error
    assert "by hand" in error  # what to do instead
    assert "fleet.yaml" in error if field == "asn.hq" else "allocations.yaml" in error
    assert result.config_lines_sent == 0 and result.rollback is None
    assert emulator.config_lines_received(name) == before
    assert emulator.running_config(name) == holding_bgp[name]


def test_a_dry_run_plans_the_refusal(emulator: Emulator, holding_bgp: dict[str, str], tmp_path: Path) -> None:
    intended = holding_bgp[HUB].replace("bgp 65000", "bgp 65099")
    result = push(emulator, HUB, intended, tmp_path, dry_run=True)
    assert (result.outcome, result.stage) == ("failed", "diff"), result.error
    assert "asn.hq" in (result.error or "")


def test_a_peer_change_under_the_same_as_is_still_pushed(
    emulator: Emulator, holding_bgp: dict[str, str], tmp_path: Path
) -> None:
    intended = holding_bgp[HUB].replace("peer 10.0.0.1 as-number 65010", "peer 10.0.0.1 as-number 65011")
    result = push(emulator, HUB, intended, tmp_path)
    assert result.outcome == "changed", result.error
    assert "peer 10.0.0.1 as-number 65011" in emulator.running_config(HUB)


def test_a_changed_route_distinguisher_is_refused_before_any_line(
    emulator: Emulator, holding_bgp: dict[str, str], tmp_path: Path
) -> None:
    before = emulator.config_lines_received(STORE)
    intended = holding_bgp[STORE].replace("route-distinguisher 10.255.0.4:2", "route-distinguisher 10.255.0.4:1")
    result = push(emulator, STORE, intended, tmp_path)
    assert (result.outcome, result.stage, result.error_type) == ("failed", "diff", "RefusedChangeError"), result.error
    error = result.error or ""
    assert "undo route-distinguisher 10.255.0.4:2" in error and "`wan`" in error and "by hand" in error
    assert emulator.config_lines_received(STORE) == before
    assert emulator.running_config(STORE) == holding_bgp[STORE]
