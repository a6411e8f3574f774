"""Fault matrix on the vendor emulator: every fault it can produce, plus an unreachable appliance.

For each fault one push runs over a faulty appliance and a healthy one. Afterwards:
- the faulty appliance's running config is what it was before (byte for byte), the healthy one
  carries the change;
- a backup exists exactly when the push got as far as logging in, and holds the old config;
- the run journal on disk says what happened: which appliance failed, at which stage, that it
  did not change, and that the healthy one did;
- once the fault is gone, `storestack devices push --only-failed` pushes the faulty appliance
  alone and completes.

A session lost after the change began (dropped, or cut by the change itself) is left to the
appliance's own rollback timer: the appliance is back on its backup by itself, reported as
`reverted-by-appliance`, and the same change is refused on the rerun until `--force`.

The device-state assertions for every platform live in tests/devices/test_push_emulator.py;
this matrix runs on IOS-XE (the quickest to drive) and adds the journal and the rerun.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from faults_support import StageHook, cli_push, journal_of, outcomes, set_port, unreachable_port

from storestack.devices.intended import IntendedConfigs
from storestack.devices.push import PushOptions
from storestack.devices.runner import PushObserver, PushTargets, RunOptions, run_push
from storestack.devices.session import ApplianceSession, SessionOptions
from storestack.devices.targets import ApplianceInventory
from storestack.lab.emulator import DeviceFaults, EmulatedDevice, Emulator, EmulatorThread
from storestack.rollout.rollout import _rollback_text

FAULTY, HEALTHY = "xe-faulty", "xe-healthy"
# Two sections change, so a fault can land between them.
CHANGES = [
    ("interface GigabitEthernet2\n no ip address", "interface GigabitEthernet2\n description LAN trunk\n no ip address"),
    ("interface GigabitEthernet3\n no ip address", "interface GigabitEthernet3\n description spare\n no ip address"),
]
MARKER = "description LAN trunk"
TIMEOUTS = SessionOptions(conn_timeout=2.0, banner_timeout=3.0, auth_timeout=3.0, read_timeout=3.0, save_timeout=3.0)
# The appliances' timers count 2 s per minute here (timer_minute_seconds), so a 60 s commit-confirm
# timer runs out in about 2 s.
CLI_TIMEOUTS = ["--conn-timeout", "3", "--read-timeout", "3", "--save-timeout", "3", "--confirm-timeout", "60"]
CONFIRM = {"confirm_timeout": 60, "revert_poll": 0.2, "revert_margin": 10.0}


def changed(running: str) -> str:
    for old, new in CHANGES:
        assert old in running, f"emulator default config changed: {old!r} not found"
        running = running.replace(old, new)
    return running


@dataclass
class Bench:
    emulator: Emulator
    defaults: dict[str, str]
    targets_file: Path
    intended_dir: Path
    state: Path

    def push(self, observer: PushObserver | None = None) -> None:
        targets = PushTargets.from_inventory(ApplianceInventory.load(self.targets_file))
        intended = {name: (self.intended_dir / f"{name}.cfg").read_text() for name in (FAULTY, HEALTHY)}
        options = RunOptions(
            runs_dir=self.state / "runs",
            push=PushOptions(
                backup_root=self.state / "backups",
                known_hosts=self.state / "known_hosts.json",
                session=TIMEOUTS,
                **CONFIRM,  # type: ignore[arg-type]
            ),
        )
        run_push(targets, IntendedConfigs(intended), options=options, observer=observer)

    def rerun_only_failed(self, *extra: str) -> tuple[int, dict[str, object]]:
        return cli_push(
            "--targets", str(self.targets_file), "--intended", str(self.intended_dir),
            "--state-dir", str(self.state), "--only-failed", *CLI_TIMEOUTS, *extra,
        )


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, dict[str, str]]]:
    devices = [
        EmulatedDevice(name=name, platform="cisco_xe", store_id=f"s-{name}", timer_minute_seconds=2.0)
        for name in (FAULTY, HEALTHY)
    ]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path_factory.mktemp("emulator"))) as running:
        yield running, {name: running.running_config(name) for name in (FAULTY, HEALTHY)}


@pytest.fixture
def bench(emulator: tuple[Emulator, dict[str, str]], tmp_path: Path) -> Bench:
    running, factory = emulator
    for name, text in factory.items():
        running.set_faults(name, DeviceFaults())
        running.set_running_config(name, text, save=True)
    intended_dir = tmp_path / "intended"
    intended_dir.mkdir()
    for name, text in factory.items():
        (intended_dir / f"{name}.cfg").write_text(changed(text))
    targets_file = tmp_path / "targets.yaml"
    shutil.copy(running.inventory_path, targets_file)
    return Bench(running, dict(factory), targets_file, intended_dir, tmp_path / "state")


Setup = Callable[[Bench], PushObserver | None]


def fault(faults: DeviceFaults) -> Setup:
    def setup(bench: Bench) -> None:
        bench.emulator.set_faults(FAULTY, faults)

    return setup


def line_fault(kind: str) -> Setup:
    def setup(bench: Bench) -> None:
        third = bench.emulator.config_lines_received(FAULTY) + 3
        bench.emulator.set_faults(FAULTY, DeviceFaults(**{kind: third}))

    return setup


def cut_by_change(bench: Bench) -> None:
    # The change's first line cuts the path the session rides on: the session dies as it goes
    # live and nobody gets in again until the appliance reverted it.
    bench.emulator.set_faults(FAULTY, DeviceFaults(cut_by_line=r"^ description LAN trunk"))


def save_hang(bench: Bench) -> PushObserver:
    bench.emulator.set_faults(FAULTY, DeviceFaults(hang_on_save=True))
    # Transient: gone by the time the rollback logs in again.
    return StageHook(FAULTY, "rollback", lambda: bench.emulator.set_faults(FAULTY, DeviceFaults()))


def verify_failure(bench: Bench) -> PushObserver:
    partial = bench.defaults[FAULTY].replace(*CHANGES[0])
    return StageHook(FAULTY, "verify", lambda: bench.emulator.set_running_config(FAULTY, partial))


# Faults after which the appliance reverts by itself (the session was lost mid-change).
REVERTED_BY_APPLIANCE = {"session-dropped", "session-cut-by-change"}
# (setup, stage, error type, got as far as a backup)
MATRIX: dict[str, tuple[Setup, str, str, bool]] = {
    "refused": (fault(DeviceFaults(refuse_connection=True)), "connect", "ConnectError", False),
    "host-key-changed": (fault(DeviceFaults(wrong_host_key=True)), "host_key", "HostKeyError", False),
    "auth-failure": (fault(DeviceFaults(reject_auth=True)), "auth", "AuthenticationError", False),
    "line-rejected": (line_fault("reject_config_line"), "apply", "CommandRejectedError", True),
    "session-dropped": (line_fault("drop_after_config_lines"), "apply", "SessionLostError", True),
    "session-cut-by-change": (cut_by_change, "apply", "SessionLostError", True),
    "save-hang": (save_hang, "save", "SaveError", True),
    "verify-failure": (verify_failure, "verify", "VerifyError", True),
}


def assert_journal_tells_the_truth(
    bench: Bench, stage: str, error_type: str, backed_up: bool, outcome: str = "failed"
) -> None:
    journal = journal_of(bench.state)
    assert journal.status == "finished"
    faulty, healthy = journal.device(FAULTY), journal.device(HEALTHY)
    # What the journal says matches what the appliances show.
    assert (faulty.outcome, faulty.stage, faulty.error_type) == (outcome, stage, error_type)
    assert faulty.changed is False
    assert bench.emulator.running_config(FAULTY) == bench.defaults[FAULTY]
    assert healthy.outcome == "changed" and healthy.changed is True
    assert MARKER in bench.emulator.running_config(HEALTHY)
    assert journal.changed_devices == [HEALTHY]
    assert journal.summary.failed == 1 and journal.summary.changed == 1
    if backed_up:
        assert faulty.backup_path is not None
        backup = Path(faulty.backup_path)
        assert backup.is_file() and backup.stat().st_mode & 0o777 == 0o600
        assert backup.read_text().replace("\r\n", "\n").rstrip("\n") == bench.defaults[FAULTY].rstrip("\n")
        if outcome == "reverted-by-appliance":
            # No line of the engine's brought it back: the appliance's own timer did.
            assert faulty.rollback is None
            assert faulty.commit_confirm is not None and faulty.commit_confirm.reverted_by_appliance
            assert not faulty.commit_confirm.confirmed and not bench.emulator.revert_armed(FAULTY)
            assert journal.summary.reverted_by_appliance == 1
        else:
            assert faulty.rollback is not None and faulty.rollback.ok
    else:
        assert faulty.backup_path is None and faulty.config_lines_sent == 0
        assert not any(FAULTY in str(path) for path in (bench.state / "backups").rglob("*"))


def assert_rerun_completes(bench: Bench, *extra: str) -> None:
    healthy_before = bench.emulator.running_config(HEALTHY)
    code, report = bench.rerun_only_failed(*extra)
    assert code == 0, report
    assert outcomes(report) == {FAULTY: "changed"}
    assert MARKER in bench.emulator.running_config(FAULTY)
    assert bench.emulator.running_config(HEALTHY) == healthy_before
    rerun = journal_of(bench.state)
    assert rerun.run_id == report["run_id"] and rerun.changed_devices == [FAULTY]


@pytest.mark.parametrize("name", list(MATRIX))
def test_fault_is_contained_journaled_and_only_failed_completes(bench: Bench, name: str) -> None:
    setup, stage, error_type, backed_up = MATRIX[name]
    observer = setup(bench)
    bench.push(observer)
    reverted = name in REVERTED_BY_APPLIANCE
    outcome = "reverted-by-appliance" if reverted else "failed"
    assert_journal_tells_the_truth(bench, stage, error_type, backed_up, outcome)
    bench.emulator.set_faults(FAULTY, DeviceFaults())
    if reverted:
        # The change that reverted is not pushed again blindly...
        code, report = bench.rerun_only_failed()
        assert code == 1, report
        refused = journal_of(bench.state).device(FAULTY)
        assert (refused.outcome, refused.error_type, refused.config_lines_sent) == ("failed", "RevertedChangeError", 0)
        assert bench.emulator.running_config(FAULTY) == bench.defaults[FAULTY]
        # ...only when the operator says the path it cut is safe now.
        assert_rerun_completes(bench, "--force")
    else:
        assert_rerun_completes(bench)


def test_unreachable_appliance_times_out_at_connect_and_is_pushed_once_reachable(bench: Bench) -> None:
    real_port = bench.emulator.port(FAULTY)
    with unreachable_port() as dead:
        set_port(bench.targets_file, FAULTY, dead)
        bench.push()
        journal = journal_of(bench.state)
        result = journal.device(FAULTY)
        assert (result.outcome, result.stage, result.error_type) == ("failed", "connect", "ConnectError")
        assert f"127.0.0.1:{dead}" in (result.error or "")
        assert result.changed is False and result.backup_path is None
    assert_journal_tells_the_truth(bench, "connect", "ConnectError", backed_up=False)
    set_port(bench.targets_file, FAULTY, real_port)  # the route is back
    assert_rerun_completes(bench)


def test_verify_failure_whose_path_dies_before_the_abort_is_left_to_the_appliance_timer(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verify read finds the change wrong, and by then the change has cut the way in (an
    in-band path that goes down a moment after the change, as a rollout's store edge managed
    over its own tunnel does): the abort dies with the session, and no new login gets through
    until the appliance's own timer put the backup back. That is `reverted-by-appliance`, not a
    rollback that failed to connect."""
    partial = bench.defaults[FAULTY].replace(*CHANGES[0])
    observer = StageHook(FAULTY, "verify", lambda: bench.emulator.set_running_config(FAULTY, partial))
    aborted: list[str] = []
    original = ApplianceSession.mechanism

    def path_dies_first(session: ApplianceSession, commands: Sequence[str], doing: str) -> list[str]:
        if session.target.name == FAULTY and doing == "reverting":
            aborted.append(commands[0])
            # New logins are refused while the change's line is running; this session is gone.
            bench.emulator.set_faults(FAULTY, DeviceFaults(cut_by_line=rf"^ {MARKER}$"))
            session._conn.remote_conn_pre.close()
        return original(session, commands, doing)

    monkeypatch.setattr(ApplianceSession, "mechanism", path_dies_first)
    bench.push(observer)
    assert aborted == ["configure revert now"]
    assert_journal_tells_the_truth(bench, "verify", "VerifyError", True, "reverted-by-appliance")
    faulty = journal_of(bench.state).device(FAULTY)
    assert "ROLLBACK FAILED" not in (faulty.error or "")
    assert "reverted the change by itself" in (faulty.error or "")
    # What a rollout journals for its push step says the same (rollout/rollout.py).
    assert _rollback_text(faulty) == (
        f"{FAULTY} reverted the change by itself: its running config equals the backup again ({faulty.backup_path})"
    )
