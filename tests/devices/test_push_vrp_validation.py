"""Pushes to Huawei VRP appliances in either validation mode, against the emulator on 127.0.0.1.

A VRP8 appliance takes configuration in two phases (`[~host]`): the push commits its change with
`commit trial N`, and the appliance reverts it by itself unless a `commit` confirms it. A VRP5
one (AR V200R/V300R releases) takes each line live as it is typed (`[host]`): it has no commit
and no trial run, and storestack knows no documented way such an AR reverts a change by itself.
The push tells the two apart by the prompt `system-view` leaves, read along with its backup, and
never sends an immediate-mode appliance a line while a confirm timeout is asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from testsupport.emulator_push import emulator_run_options

from storestack.devices.intended import IntendedConfigs
from storestack.devices.push import PushOptions
from storestack.devices.report import RunReport
from storestack.devices.runner import PushTargets, RunOptions, run_push
from storestack.lab.emulator import DeviceFaults, EmulatedDevice, Emulator, EmulatorThread

TWO_PHASE = "ar-two-phase"
IMMEDIATE = "ar-immediate"
MARKER = "description WAN1 KPN"


def changed(running: str) -> str:
    old = "interface GigabitEthernet0/0/1\n shutdown"
    assert old in running
    new = running.replace(old, f"interface GigabitEthernet0/0/1\n {MARKER}\n shutdown")
    return new.replace("interface GigabitEthernet0/0/2\n shutdown", "interface GigabitEthernet0/0/2\n description spare\n shutdown")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    devices = [
        EmulatedDevice(name=TWO_PHASE, platform="huawei_vrp", store_id="s-1", timer_minute_seconds=2.0),
        EmulatedDevice(
            name=IMMEDIATE, platform="huawei_vrp", store_id="s-2", timer_minute_seconds=2.0, validation="immediate"
        ),
    ]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path_factory.mktemp("emulator"))) as running:
        yield running


@pytest.fixture
def defaults(emulator: Emulator) -> Iterator[dict[str, str]]:
    texts = {name: emulator.running_config(name) for name in emulator.device_names}
    yield texts
    for name, text in texts.items():
        emulator.set_faults(name, DeviceFaults())
        emulator.set_running_config(name, text, save=True)


def push(emulator: Emulator, name: str, intended: str, state: Path, *, confirm_timeout: int = 60) -> RunReport:
    targets = PushTargets.from_inventory(emulator.inventory()).filter(names=[name])
    return run_push(targets, IntendedConfigs({name: intended}), options=emulator_run_options(state, confirm_timeout=confirm_timeout))


def test_an_immediate_mode_ar_is_refused_before_any_line_with_the_reason(
    emulator: Emulator, defaults: dict[str, str], tmp_path: Path
) -> None:
    before = emulator.config_lines_received(IMMEDIATE)
    result = push(emulator, IMMEDIATE, changed(defaults[IMMEDIATE]), tmp_path).device(IMMEDIATE)
    assert (result.outcome, result.stage) == ("failed", "arm"), result.error
    error = result.error or ""
    assert IMMEDIATE in error and "immediate validation" in error
    assert "--confirm-timeout 0 --no-confirm-i-know" in error
    # Not one line reached the appliance: its running config is as it was.
    assert emulator.config_lines_received(IMMEDIATE) == before
    assert result.config_lines_sent == 0 and result.rollback is None
    assert emulator.running_config(IMMEDIATE) == defaults[IMMEDIATE]


def test_an_immediate_mode_ar_in_sync_is_unchanged_and_a_dry_run_plans(
    emulator: Emulator, defaults: dict[str, str], tmp_path: Path
) -> None:
    assert push(emulator, IMMEDIATE, defaults[IMMEDIATE], tmp_path).device(IMMEDIATE).outcome == "unchanged"
    targets = PushTargets.from_inventory(emulator.inventory()).filter(names=[IMMEDIATE])
    options = RunOptions(
        runs_dir=tmp_path / "runs",
        push=PushOptions(dry_run=True, backup_root=tmp_path / "backups", known_hosts=tmp_path / "known_hosts.json"),
    )
    planned = run_push(targets, IntendedConfigs({IMMEDIATE: changed(defaults[IMMEDIATE])}), options=options)
    assert planned.device(IMMEDIATE).outcome == "planned"


def test_an_immediate_mode_ar_with_the_nets_turned_off_is_changed_without_a_commit(
    emulator: Emulator, defaults: dict[str, str], tmp_path: Path
) -> None:
    # The emulated VRP5 refuses `commit`: a push that sent one would fail at apply.
    result = push(emulator, IMMEDIATE, changed(defaults[IMMEDIATE]), tmp_path, confirm_timeout=0).device(IMMEDIATE)
    assert result.outcome == "changed", result.error
    assert result.commit_confirm is None
    assert MARKER in emulator.running_config(IMMEDIATE)
    assert emulator.startup_config(IMMEDIATE) == emulator.running_config(IMMEDIATE)


def test_an_immediate_mode_ar_that_lost_its_session_is_rolled_back_by_the_engine(
    emulator: Emulator, defaults: dict[str, str], tmp_path: Path
) -> None:
    # Without a timer on the appliance, only the engine can put the backup back: over a new
    # session, while the path to the appliance still exists.
    dropped = emulator.config_lines_received(IMMEDIATE) + 2
    emulator.set_faults(IMMEDIATE, DeviceFaults(drop_after_config_lines=dropped))
    result = push(emulator, IMMEDIATE, changed(defaults[IMMEDIATE]), tmp_path, confirm_timeout=0).device(IMMEDIATE)
    assert (result.outcome, result.error_type) == ("failed", "SessionLostError")
    assert result.rollback is not None and result.rollback.ok and result.rollback.reconnected
    assert emulator.running_config(IMMEDIATE) == defaults[IMMEDIATE]


def test_a_two_phase_ar_is_still_committed_on_trial_and_confirmed(
    emulator: Emulator, defaults: dict[str, str], tmp_path: Path
) -> None:
    result = push(emulator, TWO_PHASE, changed(defaults[TWO_PHASE]), tmp_path).device(TWO_PHASE)
    assert result.outcome == "changed", result.error
    assert result.commit_confirm is not None
    assert result.commit_confirm.arm == ["commit trial 60"]
    assert result.commit_confirm.confirmed and not emulator.revert_armed(TWO_PHASE)
    assert MARKER in emulator.running_config(TWO_PHASE)


def test_a_two_phase_ar_that_lost_its_session_reverts_by_itself(
    emulator: Emulator, defaults: dict[str, str], tmp_path: Path
) -> None:
    dropped = emulator.config_lines_received(TWO_PHASE) + 2
    emulator.set_faults(TWO_PHASE, DeviceFaults(drop_after_config_lines=dropped))
    result = push(emulator, TWO_PHASE, changed(defaults[TWO_PHASE]), tmp_path).device(TWO_PHASE)
    assert result.outcome == "reverted-by-appliance", result.error
    assert result.commit_confirm is not None and result.commit_confirm.reverted_by_appliance
    assert emulator.running_config(TWO_PHASE) == defaults[TWO_PHASE]
