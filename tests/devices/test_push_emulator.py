"""The push engine against the vendor emulator (IOS-XE, Huawei VRP, FortiOS) with every fault.

For each platform and fault, one run pushes a faulty device and a healthy one side by side and
checks that the faulty device's running config is byte-identical to what it was before (its
backup, when one was taken), that the report says exactly what happened, and that the healthy
device was pushed as if nothing had gone wrong next to it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest
import yaml
from click.testing import CliRunner

from storestack.cli.devices import devices
from storestack.cli.push import push
from storestack.common.platforms import EMULATED_PLATFORM_NAMES
from storestack.devices.intended import IntendedConfigs
from storestack.devices.journal import last_push_run, unfinished_names
from storestack.devices.push import PushOptions
from storestack.devices.report import RunReport
from storestack.devices.runner import PushObserver, PushTargets, RunOptions, run_push
from storestack.devices.session import SessionOptions
from storestack.lab.emulator import DeviceFaults, EmulatedDevice, Emulator, EmulatorThread

PLATFORMS = EMULATED_PLATFORM_NAMES

# A change of two sections per platform, so that faults can hit the middle of a push.
CHANGES: dict[str, list[tuple[str, str]]] = {
    "cisco_xe": [
        ("interface GigabitEthernet2\n no ip address", "interface GigabitEthernet2\n description LAN trunk\n no ip address"),
        ("interface GigabitEthernet3\n no ip address", "interface GigabitEthernet3\n description spare\n no ip address"),
    ],
    "huawei_vrp": [
        ("interface GigabitEthernet0/0/1\n shutdown", "interface GigabitEthernet0/0/1\n description WAN1 KPN\n shutdown"),
        ("interface GigabitEthernet0/0/2\n shutdown", "interface GigabitEthernet0/0/2\n description spare\n shutdown"),
    ],
    "fortinet": [
        ('    edit "port2"\n        set vdom "root"\n', '    edit "port2"\n        set vdom "root"\n        set alias "wan2"\n'),
        ('    edit "port3"\n        set vdom "root"\n', '    edit "port3"\n        set vdom "root"\n        set alias "spare"\n'),
    ],
}
MARKER = {"cisco_xe": "description LAN trunk", "huawei_vrp": "description WAN1 KPN", "fortinet": 'set alias "wan2"'}


def changed(platform: str, running: str) -> str:
    for old, new in CHANGES[platform]:
        assert old in running, f"emulator default config changed: {old!r} not found"
        running = running.replace(old, new)
    return running


def faulty(platform: str) -> str:
    return f"{platform.replace('_', '-')}-faulty"


def healthy(platform: str) -> str:
    return f"{platform.replace('_', '-')}-healthy"


class Lab:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.defaults = {name: emulator.running_config(name) for name in emulator.device_names}
        self.password = str(yaml.safe_load(emulator.credentials_path.read_text())["password"])

    def reset(self) -> None:
        for name, text in self.defaults.items():
            self.emulator.set_faults(name, DeviceFaults())
            self.emulator.set_running_config(name, text, save=True)


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    devices = [
        EmulatedDevice(name=name(platform), platform=platform, store_id=f"s-{name(platform)}")  # type: ignore[arg-type]
        for platform in PLATFORMS
        for name in (faulty, healthy)
    ]
    emulator = Emulator(devices, state_dir=tmp_path_factory.mktemp("emulator"))
    with EmulatorThread(emulator) as running:
        yield Lab(running)


@pytest.fixture
def lab(emu: Lab) -> Lab:
    emu.reset()
    return emu


class StageHook(PushObserver):
    """Runs `action` when `device` reaches `stage` (to inject what no fault flag can)."""

    def __init__(self, device: str, stage: str, action: Callable[[], None]) -> None:
        self.device, self.stage, self.action = device, stage, action

    def on_stage(self, name: str, stage: str) -> None:
        if name == self.device and stage == self.stage:
            self.action()


def push_pair(lab: Lab, platform: str, state: Path, observer: PushObserver | None = None) -> RunReport:
    names = [faulty(platform), healthy(platform)]
    targets = PushTargets.from_inventory(lab.emulator.inventory()).filter(names=names)
    intended = {name: changed(platform, lab.defaults[name]) for name in names}
    options = RunOptions(
        runs_dir=state / "runs",
        push=PushOptions(
            backup_root=state / "backups",
            known_hosts=state / "known_hosts.json",
            session=SessionOptions(conn_timeout=3.0, banner_timeout=3.0, auth_timeout=3.0, read_timeout=3.0, save_timeout=3.0),
        ),
    )
    return run_push(targets, IntendedConfigs(intended), options=options, observer=observer)


def assert_healthy_pushed(lab: Lab, platform: str, report: RunReport) -> None:
    other = report.device(healthy(platform))
    assert other.outcome == "changed", other.error
    assert other.changed is True and other.rollback is None
    assert MARKER[platform] in lab.emulator.running_config(healthy(platform))


def assert_restored(lab: Lab, platform: str, report: RunReport) -> None:
    name = faulty(platform)
    result = report.device(name)
    assert result.outcome == "failed"
    assert result.changed is False
    assert result.rollback is not None and result.rollback.ok, result.rollback
    assert result.rollback.running_matches_backup and result.rollback.byte_identical
    now = lab.emulator.running_config(name)
    assert now == lab.defaults[name]
    backup = Path(result.backup_path or "").read_text()
    assert backup.replace("\r\n", "\n").rstrip("\n") == now.rstrip("\n")


def assert_no_secret(lab: Lab, report: RunReport, state: Path) -> None:
    for text in (report.model_dump_json(), *(p.read_text() for p in (state / "runs").glob("*.json"))):
        assert lab.password not in text


@pytest.mark.parametrize("platform", PLATFORMS)
def test_clean_push_then_nothing_to_send(lab: Lab, platform: str, tmp_path: Path) -> None:
    first = push_pair(lab, platform, tmp_path)
    assert [d.outcome for d in first.devices] == ["changed", "changed"]
    for device in first.devices:
        assert lab.emulator.startup_config(device.name) == lab.emulator.running_config(device.name)
    second = push_pair(lab, platform, tmp_path)
    assert [d.outcome for d in second.devices] == ["unchanged", "unchanged"]
    assert second.summary.config_lines_sent == 0


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(
    ("fault", "stage", "error_type"),
    [
        (DeviceFaults(refuse_connection=True), "connect", "ConnectError"),
        (DeviceFaults(wrong_host_key=True), "host_key", "HostKeyError"),
        (DeviceFaults(reject_auth=True), "auth", "AuthenticationError"),
    ],
    ids=["refused", "bad-host-key", "auth-failure"],
)
def test_faults_before_login_change_nothing(
    lab: Lab,
    platform: str,
    fault: DeviceFaults,
    stage: str,
    error_type: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = faulty(platform)
    lab.emulator.set_faults(name, fault)
    # Record every password paramiko sends, and to which port.
    ports = {t.name: t.port for t in lab.emulator.inventory().appliances}
    sent_to: list[int] = []
    original = paramiko.Transport.auth_password

    def recording(self: paramiko.Transport, username: str, password: str, *args: object, **kwargs: object) -> object:
        sent_to.append(self.getpeername()[1])
        return original(self, username, password, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(paramiko.Transport, "auth_password", recording)
    report = push_pair(lab, platform, tmp_path)
    result = report.device(name)
    assert (result.outcome, result.stage, result.error_type) == ("failed", stage, error_type)
    assert result.changed is False and result.backup_path is None and result.rollback is None
    assert result.config_lines_sent == 0
    assert lab.emulator.running_config(name) == lab.defaults[name]
    if error_type == "HostKeyError":
        # Refused after key exchange, before authentication: the password never left.
        assert ports[name] not in sent_to
    assert ports[healthy(platform)] in sent_to
    assert_healthy_pushed(lab, platform, report)
    assert_no_secret(lab, report, tmp_path)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_line_rejected_mid_push_is_rolled_back(lab: Lab, platform: str, tmp_path: Path) -> None:
    name = faulty(platform)
    # The 3rd line of this push: the first section is already applied when it is refused.
    lab.emulator.set_faults(name, DeviceFaults(reject_config_line=lab.emulator.config_lines_received(name) + 3))
    report = push_pair(lab, platform, tmp_path)
    result = report.device(name)
    assert (result.stage, result.error_type) == ("apply", "CommandRejectedError")
    assert "rejected" in (result.error or "")
    assert result.rollback is not None and not result.rollback.reconnected
    if platform == "fortinet":
        # The refused line's `config` block was abandoned before its `end`: nothing committed.
        assert result.rollback.lines_sent == 0
    else:
        assert result.rollback.lines_sent > 0
    assert_restored(lab, platform, report)
    assert_healthy_pushed(lab, platform, report)
    assert_no_secret(lab, report, tmp_path)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_session_dropped_mid_push_is_rolled_back_over_a_new_session(lab: Lab, platform: str, tmp_path: Path) -> None:
    name = faulty(platform)
    lab.emulator.set_faults(name, DeviceFaults(drop_after_config_lines=lab.emulator.config_lines_received(name) + 3))
    report = push_pair(lab, platform, tmp_path)
    result = report.device(name)
    assert (result.stage, result.error_type) == ("apply", "SessionLostError")
    assert result.rollback is not None and result.rollback.reconnected
    assert_restored(lab, platform, report)
    assert_healthy_pushed(lab, platform, report)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_save_hang_is_rolled_back(lab: Lab, platform: str, tmp_path: Path) -> None:
    name = faulty(platform)
    lab.emulator.set_faults(name, DeviceFaults(hang_on_save=True))
    # The hang is transient: gone by the time the rollback logs in again.
    hook = StageHook(name, "rollback", lambda: lab.emulator.set_faults(name, DeviceFaults()))
    report = push_pair(lab, platform, tmp_path, observer=hook)
    result = report.device(name)
    if platform == "fortinet":
        # FortiOS saves as the `end` of a config block commits it: the hang hits the apply.
        assert (result.stage, result.error_type) == ("apply", "CommandTimeoutError")
    else:
        assert (result.stage, result.error_type) == ("save", "SaveError")
    assert result.rollback is not None and result.rollback.reconnected
    assert_restored(lab, platform, report)
    assert_healthy_pushed(lab, platform, report)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_verify_failure_is_rolled_back(lab: Lab, platform: str, tmp_path: Path) -> None:
    name = faulty(platform)
    # The appliance loses one of the two changes right after the apply (as if a line was
    # accepted but not taken): the running config no longer matches intended.
    partial = lab.defaults[name].replace(*CHANGES[platform][0])
    hook = StageHook(name, "verify", lambda: lab.emulator.set_running_config(name, partial))
    report = push_pair(lab, platform, tmp_path, observer=hook)
    result = report.device(name)
    assert (result.stage, result.error_type) == ("verify", "VerifyError")
    assert result.findings and all(f.startswith("still differs from intended") for f in result.findings)
    assert_restored(lab, platform, report)
    assert_healthy_pushed(lab, platform, report)


def test_persistent_save_hang_on_fortios_is_reported_loudly(lab: Lab, tmp_path: Path) -> None:
    name = faulty("fortinet")
    lab.emulator.set_faults(name, DeviceFaults(hang_on_save=True))
    report = push_pair(lab, "fortinet", tmp_path)
    result = report.device(name)
    assert result.outcome == "failed"
    assert result.rollback is not None and not result.rollback.ok
    assert result.changed is None  # unknown, and said so
    assert "ROLLBACK FAILED" in (result.error or "")
    assert str(result.backup_path) in (result.error or "")
    assert name in report.changed_devices
    assert report.summary.rollback_failed == 1


@pytest.mark.parametrize("platform", PLATFORMS)
def test_slow_prompt_within_the_bounds_still_pushes(lab: Lab, platform: str, tmp_path: Path) -> None:
    lab.emulator.set_faults(faulty(platform), DeviceFaults(banner_delay=0.5, prompt_delay=1.0))
    report = push_pair(lab, platform, tmp_path)
    assert [d.outcome for d in report.devices] == ["changed", "changed"]


def test_banner_slower_than_the_bound_is_a_connect_failure(lab: Lab, tmp_path: Path) -> None:
    name = faulty("cisco_xe")
    lab.emulator.set_faults(name, DeviceFaults(banner_delay=30.0))
    report = push_pair(lab, "cisco_xe", tmp_path)  # banner_timeout is 3 s
    result = report.device(name)
    assert (result.outcome, result.stage, result.error_type) == ("failed", "connect", "ConnectError")
    assert result.backup_path is None
    assert lab.emulator.running_config(name) == lab.defaults[name]
    assert_healthy_pushed(lab, "cisco_xe", report)


def test_ctrl_c_lets_the_running_push_finish_and_starts_no_other(lab: Lab, tmp_path: Path) -> None:
    """SIGINT to the CLI: the appliance being pushed completes, the rest never start."""

    intended = tmp_path / "intended"
    intended.mkdir()
    for name in lab.emulator.device_names:
        platform = next(p for p in PLATFORMS if name in (faulty(p), healthy(p)))
        (intended / f"{name}.cfg").write_text(changed(platform, lab.defaults[name]))
    first = faulty("cisco_xe")  # first in name order
    lab.emulator.set_faults(first, DeviceFaults(prompt_delay=3.0))
    state = tmp_path / "state"
    command = [
        sys.executable, "-c", "from storestack.cli.push import push; push()",
        "--targets", str(lab.emulator.inventory_path), "--intended", str(intended),
        "--state-dir", str(state), "--concurrency", "1", "--json",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        journal = last_push_run(state / "runs")
        if journal is not None and journal.device(first).outcome == "running":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the push never started")
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    report = json.loads(stdout)
    assert report["status"] == "interrupted"
    outcomes = {d["name"]: d["outcome"] for d in report["devices"]}
    assert outcomes[first] == "changed"
    assert [name for name, outcome in outcomes.items() if outcome != "skipped"] == [first]
    assert report["changed_devices"] == [first]
    assert MARKER["cisco_xe"] in lab.emulator.running_config(first)
    for name in lab.emulator.device_names:
        if name != first:
            assert lab.emulator.running_config(name) == lab.defaults[name]


def test_sigkill_leaves_a_truthful_journal_and_only_failed_completes(lab: Lab, tmp_path: Path) -> None:


    intended = tmp_path / "intended"
    intended.mkdir()
    for name in lab.emulator.device_names:
        platform = next(p for p in PLATFORMS if name in (faulty(p), healthy(p)))
        (intended / f"{name}.cfg").write_text(changed(platform, lab.defaults[name]))
    first = faulty("cisco_xe")
    lab.emulator.set_faults(first, DeviceFaults(prompt_delay=5.0))
    state = tmp_path / "state"
    command = [
        sys.executable, "-c", "from storestack.cli.push import push; push()",
        "--targets", str(lab.emulator.inventory_path), "--intended", str(intended),
        "--state-dir", str(state), "--concurrency", "1", "--json",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        killed = last_push_run(state / "runs")
        if killed is not None and killed.device(first).outcome == "running":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the push never started")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    killed = last_push_run(state / "runs")
    assert killed is not None and killed.status == "running"
    assert killed.device(first).outcome == "running"
    assert killed.device(first).changed is None  # it may have changed: the journal does not guess
    assert sorted(unfinished_names(killed)) == sorted(lab.emulator.device_names)

    lab.emulator.set_faults(first, DeviceFaults())
    rerun = CliRunner().invoke(push, [*command[3:], "--only-failed"], catch_exceptions=False)
    assert rerun.exit_code == 0, rerun.output
    report = json.loads(rerun.stdout)
    assert sorted(d["name"] for d in report["devices"]) == sorted(lab.emulator.device_names)
    assert all(d["outcome"] == "changed" for d in report["devices"])


@pytest.mark.parametrize("platform", PLATFORMS)
def test_devices_restore_puts_a_backup_back(lab: Lab, platform: str, tmp_path: Path) -> None:
    name = healthy(platform)
    pushed = push_pair(lab, platform, tmp_path).device(name)
    assert pushed.outcome == "changed" and lab.emulator.running_config(name) != lab.defaults[name]
    inventory = tmp_path / "inventory.yaml"
    lab.emulator.inventory().save(inventory)
    args = ["restore", name, "--targets", str(inventory), "--state-dir", str(tmp_path), "--read-timeout", "3"]

    # Without --backup: the newest backup, the one the push took before its change.
    result = CliRunner().invoke(devices, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["restored_from"] == pushed.backup_path
    (device,) = report["devices"]
    assert device["outcome"] == "changed" and device["config_lines_sent"] > 0
    assert lab.emulator.running_config(name) == lab.defaults[name]
    assert lab.emulator.startup_config(name) == lab.defaults[name]
    assert lab.password not in result.stdout

    # Naming an appliance that is not in the targets, or a backup that does not exist, is a usage error.
    unknown = CliRunner().invoke(devices, ["restore", "no-such-box", *args[2:], "--json"], catch_exceptions=False)
    assert unknown.exit_code == 2 and "no-such-box" in unknown.stdout
    missing = CliRunner().invoke(devices, [*args, "--backup", str(tmp_path / "nope.cfg")], catch_exceptions=False)
    assert missing.exit_code == 2 and "nope.cfg" in missing.output
    assert lab.emulator.running_config(name) == lab.defaults[name]
