"""`devices push` over SSH to the vendor emulator: its waves run one after the other, each
appliance of a wave starting only once every appliance of the wave before finished. A push of
hubs and stores used to be one wave, hubs first in the queue but up to 20 at a time: all ten
appliances started within milliseconds, the stores beside their hubs. With `--fleet-before`
(make before break), a hub the fleet no longer has is named decommissionable once the push
finished ok, and a failed wave stops the change before the next one moves or cuts tunnels.

The emulated appliances take the fleet's names (IOS-XE all, hubs and stores: the order is the
engine's, whatever the platform); each gets a one-line change, so each is pushed in full.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from testsupport.cli import cli_runner
from testsupport.rendering import hub_removed_chain, three_hub_chain

from storestack.cli.main import cli
from storestack.devices.fleet_targets import targets_from_fleet
from storestack.inventory import load_fleet
from storestack.lab.emulator import DeviceFaults, EmulatedDevice, Emulator, EmulatorThread

CHANGE = ("interface GigabitEthernet2\n no ip address", "interface GigabitEthernet2\n description LAN trunk\n no ip address")


@pytest.fixture
def chains(tmp_path: Path) -> tuple[Path, Path]:
    return three_hub_chain(tmp_path / "before"), hub_removed_chain(tmp_path / "after")


@pytest.fixture
def emulator(chains: tuple[Path, Path], tmp_path: Path) -> Iterator[Emulator]:
    devices = [
        EmulatedDevice(name=t.name, platform="cisco_xe", role=t.role, store_id=t.store_id)
        for t in targets_from_fleet(load_fleet(chains[1])).appliances
    ]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path / "emulator")) as running:
        yield running


def _intended(emulator: Emulator, tmp_path: Path) -> Path:
    """Each appliance's running config with the one-line change, as --intended."""
    intended = tmp_path / "intended"
    intended.mkdir(exist_ok=True)
    for name in emulator.device_names:
        running = emulator.running_config(name)
        assert CHANGE[0] in running
        (intended / f"{name}.cfg").write_text(running.replace(*CHANGE))
    return intended


def _args(emulator: Emulator, tmp_path: Path, fleet: Path, *extra: str) -> list[str]:
    return [
        "devices", "push", "--fleet", str(fleet), "--targets", str(emulator.inventory_path),
        "--intended", str(_intended(emulator, tmp_path)), "--state-dir", str(tmp_path / "state"),
        "--read-timeout", "3", "--conn-timeout", "3", *extra,
    ]


def _assert_waves_in_turn(payload: dict[str, Any]) -> None:
    """No appliance of a wave started before every appliance of the wave before finished."""
    devices = {d["name"]: d for d in payload["devices"]}
    for earlier, later in zip(payload["waves"], payload["waves"][1:], strict=False):
        done = max(_at(devices[name]["started_at"]) + timedelta(seconds=devices[name]["duration_s"]) for name in earlier)
        assert min(_at(devices[name]["started_at"]) for name in later) >= done, (earlier, later)


def test_hubs_finish_before_the_stores_start(
    emulator: Emulator, chains: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli_runner(monkeypatch, tmp_path).invoke(cli, [*_args(emulator, tmp_path, chains[1]), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["wave_labels"] == ["hubs", "stores"]
    assert payload["waves"][0] == ["hq-hub1", "hq-hub3"]
    _assert_waves_in_turn(payload)


def test_change_waves_run_one_after_the_other_and_the_retired_hub_is_released(
    emulator: Emulator, chains: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, after = chains
    runner = cli_runner(monkeypatch, tmp_path)
    args = _args(emulator, tmp_path, after, "--fleet-before", str(before))
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["wave_labels"] == ["hubs", "stores", "hubs-last"]
    assert payload["waves"][0] == ["hq-hub1"] and payload["waves"][2] == ["hq-hub3"]
    assert payload["retire_after"] == ["hq-hub2"]
    assert all(d["changed"] for d in payload["devices"])
    _assert_waves_in_turn(payload)
    for name in emulator.device_names:
        assert "description LAN trunk" in emulator.running_config(name)

    # Run again in text: nothing left to change, the retired hub is released.
    text = runner.invoke(cli, args)
    assert text.exit_code == 0, text.output
    assert "hq-hub2: no longer in the fleet and no store uses it now: it can be decommissioned" in text.stdout


def test_a_failed_hub_stops_the_change_before_the_stores_move(
    emulator: Emulator, chains: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, after = chains
    emulator.set_faults("hq-hub1", DeviceFaults(reject_config_line=1))
    args = _args(emulator, tmp_path, after, "--fleet-before", str(before), "--json")
    result = cli_runner(monkeypatch, tmp_path).invoke(cli, args)
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    outcomes = {d["name"]: d["outcome"] for d in payload["devices"]}
    assert outcomes.pop("hq-hub1") == "failed"
    assert set(outcomes.values()) == {"skipped"}, "no store moved to a hub whose push failed"
    assert payload["status"] == "stopped" and "make before break" in payload["stop_reason"]
    assert "hq-hub2: no longer" not in result.stdout
    for name in emulator.device_names:
        assert "description LAN trunk" not in emulator.running_config(name)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# Stores homed on hq-hub2 before it is removed: they move to hq-hub1 (pushed before the stores)
# and hq-hub3 (pushed after them, once they no longer use its old ends).
MOVED = ("nw-0002", "nw-0004", "nw-0005", "nw-0008")


def _store_appliances(fleet: Path, *stores: str) -> list[str]:
    return [t.name for t in targets_from_fleet(load_fleet(fleet)).appliances if t.store_id in stores]


def _refused(result: Any, field: str) -> str:
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["errors"][0]["field"] == field
    return str(payload["error"])


def test_a_selection_that_moves_stores_without_their_hubs_is_refused_before_any_appliance(
    emulator: Emulator, chains: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, after = chains
    runner = cli_runner(monkeypatch, tmp_path)
    change = ("--fleet-before", str(before), "--json")

    store = _refused(runner.invoke(cli, [*_args(emulator, tmp_path, after, "--store", "nw-0002", *change)]), "--store")
    assert "hq-hub1" in store and "hq-hub3" in store, store
    hub = _refused(runner.invoke(cli, [*_args(emulator, tmp_path, after, "--appliance", "hq-hub3", *change)]), "--appliance")
    assert all(name in hub for name in _store_appliances(after, *MOVED)), hub
    for name in emulator.device_names:
        assert "description LAN trunk" not in emulator.running_config(name)
    assert not list((tmp_path / "state" / "runs").glob("*")), "no run started"


def test_hubs_pushed_in_an_earlier_run_of_the_change_count(
    emulator: Emulator, chains: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, after = chains
    runner = cli_runner(monkeypatch, tmp_path)
    moved = [arg for name in [*_store_appliances(after, *MOVED), "hq-hub3"] for arg in ("--appliance", name)]
    args = _args(emulator, tmp_path, after, *moved, "--fleet-before", str(before), "--json")

    assert "hq-hub1" in _refused(runner.invoke(cli, args), "--appliance")
    first = runner.invoke(cli, _args(emulator, tmp_path, after, "--appliance", "hq-hub1", "--fleet-before", str(before), "--json"))
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["wave_labels"] == ["stores", "hubs-last"]
    assert json.loads(second.stdout)["change"] == json.loads(first.stdout)["change"] is not None
