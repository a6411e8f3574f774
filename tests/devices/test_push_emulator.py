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
from testsupport.emulator_push import emulator_run_options

from storestack.cli.main import cli
from storestack.common.platforms import EMULATED_PLATFORM_NAMES
from storestack.devices.intended import IntendedConfigs
from storestack.devices.journal import last_push_run, load_run, unfinished_names
from storestack.devices.report import RunReport
from storestack.devices.runner import PushObserver, PushTargets, run_push
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
        # A minute of the appliances' own rollback timers lasts 2 s here.
        EmulatedDevice(name=name(platform), platform=platform, store_id=f"s-{name(platform)}", timer_minute_seconds=2.0)  # type: ignore[arg-type]
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


# A change line that cuts the management path the push rides on (the emulator drops the
# session that makes it live and refuses new ones while it runs): a blackhole default route.
CUTS: dict[str, tuple[str, str]] = {
    "cisco_xe": ("ip route 0.0.0.0 0.0.0.0 Null0\n", r"^ip route 0\.0\.0\.0 0\.0\.0\.0 Null0"),
    "huawei_vrp": ("ip route-static 0.0.0.0 0.0.0.0 NULL0\n", r"^ip route-static 0\.0\.0\.0 0\.0\.0\.0 NULL0"),
    "fortinet": (
        "config router static\n    edit 1\n        set dst 0.0.0.0 0.0.0.0\n        set blackhole enable\n    next\nend\n",
        r"set blackhole enable",
    ),
}
# Config lines the FortiOS arm sends (`config system global` and two `set`s): the emulator counts
# them with the change's lines.
ARM_CONFIG_LINES = {"fortinet": 3}


def change_line(lab: Lab, platform: str, number: int) -> int:
    """The emulator's lifetime count of config lines at the change's `number`th line."""
    return lab.emulator.config_lines_received(faulty(platform)) + ARM_CONFIG_LINES.get(platform, 0) + number


def cutting(platform: str, running: str) -> str:
    """The change, plus a line that cuts the session's path."""
    return changed(platform, running).rstrip("\n").removesuffix("return").removesuffix("end") + "\n" + CUTS[platform][0] + (
        "return\n" if platform == "huawei_vrp" else "end\n" if platform == "cisco_xe" else ""
    )


def push_pair(
    lab: Lab,
    platform: str,
    state: Path,
    observer: PushObserver | None = None,
    *,
    intended_for: Callable[[str, str], str] | None = None,
    force: bool = False,
) -> RunReport:
    names = [faulty(platform), healthy(platform)]
    targets = PushTargets.from_inventory(lab.emulator.inventory()).filter(names=names)
    intended = {name: changed(platform, lab.defaults[name]) for name in names}
    if intended_for is not None:
        intended[faulty(platform)] = intended_for(platform, lab.defaults[faulty(platform)])
    return run_push(targets, IntendedConfigs(intended), options=emulator_run_options(state, force=force), observer=observer)


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
    lab.emulator.set_faults(name, DeviceFaults(reject_config_line=change_line(lab, platform, 3)))
    report = push_pair(lab, platform, tmp_path)
    result = report.device(name)
    assert (result.stage, result.error_type) == ("apply", "CommandRejectedError")
    assert "rejected" in (result.error or "")
    assert result.rollback is not None and not result.rollback.reconnected
    # FortiOS: the refused line's `config` block was abandoned before its `end`, nothing was
    # committed. IOS-XE and VRP: the armed rollback timer was fired at once (`configure revert
    # now`, `abort trial`), so the appliance itself put the backup back and no line is left to send.
    assert result.rollback.lines_sent == 0
    assert result.commit_confirm is not None and result.commit_confirm.armed
    assert not result.commit_confirm.confirmed
    assert not lab.emulator.revert_armed(name)
    assert_restored(lab, platform, report)
    assert_healthy_pushed(lab, platform, report)
    assert_no_secret(lab, report, tmp_path)


def assert_reverted_by_appliance(lab: Lab, platform: str, report: RunReport, state: Path) -> None:
    """The appliance went back to its backup by itself, and the report and the journal say so."""
    name = faulty(platform)
    result = report.device(name)
    assert result.outcome == "reverted-by-appliance", result.error
    assert result.changed is False and result.rollback is None
    assert result.commit_confirm is not None
    assert result.commit_confirm.armed and not result.commit_confirm.confirmed
    assert result.commit_confirm.reverted_by_appliance
    assert "reverted the change by itself" in (result.error or "")
    now = lab.emulator.running_config(name)
    assert now == lab.defaults[name]
    assert not lab.emulator.revert_armed(name)
    backup = Path(result.backup_path or "").read_text()
    assert backup.replace("\r\n", "\n").rstrip("\n") == now.rstrip("\n")
    (journal,) = (state / "runs").glob("*.json")
    recorded = load_run(journal).device(name)
    assert recorded.outcome == "reverted-by-appliance"
    assert recorded.commit_confirm is not None and recorded.commit_confirm.reverted_by_appliance
    assert report.summary.reverted_by_appliance == 1 and not report.ok


@pytest.mark.parametrize("platform", PLATFORMS)
def test_session_dropped_mid_push_is_left_to_the_appliance_to_revert(lab: Lab, platform: str, tmp_path: Path) -> None:
    name = faulty(platform)
    lab.emulator.set_faults(name, DeviceFaults(drop_after_config_lines=change_line(lab, platform, 3)))
    report = push_pair(lab, platform, tmp_path)
    result = report.device(name)
    assert (result.stage, result.error_type) == ("apply", "SessionLostError")
    assert_reverted_by_appliance(lab, platform, report, tmp_path)
    assert_healthy_pushed(lab, platform, report)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_change_that_cuts_its_own_session_is_reverted_by_the_appliance(
    lab: Lab, platform: str, tmp_path: Path
) -> None:
    name = faulty(platform)
    lab.emulator.set_faults(name, DeviceFaults(cut_by_line=CUTS[platform][1]))
    report = push_pair(lab, platform, tmp_path / "bad", intended_for=cutting)
    assert report.device(name).error_type == "SessionLostError"
    assert_reverted_by_appliance(lab, platform, report, tmp_path / "bad")
    assert_healthy_pushed(lab, platform, report)

    # The same change again is refused before anything is sent, unless forced.
    again = push_pair(lab, platform, tmp_path / "bad", intended_for=cutting).device(name)
    assert (again.outcome, again.error_type, again.stage) == ("failed", "RevertedChangeError", "intended")
    assert again.config_lines_sent == 0 and "--force" in (again.error or "")
    assert lab.emulator.running_config(name) == lab.defaults[name]
    forced = push_pair(lab, platform, tmp_path / "forced", intended_for=cutting, force=True)
    assert_reverted_by_appliance(lab, platform, forced, tmp_path / "forced")

    # A good config goes through, armed and confirmed; its journal shows both steps.
    good = push_pair(lab, platform, tmp_path / "good")
    result = good.device(name)
    assert result.outcome == "changed", result.error
    assert MARKER[platform] in lab.emulator.running_config(name)
    assert not lab.emulator.revert_armed(name)
    (journal,) = (tmp_path / "good" / "runs").glob("*.json")
    recorded = load_run(journal).device(name)
    assert recorded.commit_confirm is not None and recorded.commit_confirm.armed and recorded.commit_confirm.confirmed
    assert recorded.commit_confirm.arm and recorded.commit_confirm.confirm
    assert {"arm", "apply", "verify", "confirm"} <= set(recorded.timings)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_save_hang_is_rolled_back(lab: Lab, platform: str, tmp_path: Path) -> None:
    name = faulty(platform)
    lab.emulator.set_faults(name, DeviceFaults(hang_on_save=True))
    # The hang is transient: gone by the time the rollback logs in again.
    hook = StageHook(name, "rollback", lambda: lab.emulator.set_faults(name, DeviceFaults()))
    report = push_pair(lab, platform, tmp_path, observer=hook)
    result = report.device(name)
    if platform == "fortinet":
        # FortiOS saves as the `end` of a config block commits it: the hang hits the block
        # that arms the rollback timer, before any change line.
        assert (result.stage, result.error_type) == ("arm", "CommandTimeoutError")
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


def test_persistent_save_hang_on_fortios_stops_the_push_before_any_change(lab: Lab, tmp_path: Path) -> None:
    # FortiOS saves at the `end` of the block that arms the rollback timer, so a save that
    # hangs for good stops the push there: no change line is ever sent.
    name = faulty("fortinet")
    lab.emulator.set_faults(name, DeviceFaults(hang_on_save=True))
    report = push_pair(lab, "fortinet", tmp_path)
    result = report.device(name)
    assert (result.outcome, result.stage, result.error_type) == ("failed", "arm", "CommandTimeoutError")
    assert result.change_lines > 0 and result.commit_confirm is not None and not result.commit_confirm.confirmed
    assert result.rollback is not None and result.rollback.ok and result.rollback.lines_sent == 0
    assert result.changed is False
    assert MARKER["fortinet"] not in lab.emulator.running_config(name)


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
    assert process.returncode == 130, stderr  # Ctrl-C, as every command reports it
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
    rerun = CliRunner().invoke(cli, ["devices", "push", *command[3:], "--only-failed"], catch_exceptions=False)
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
    result = CliRunner().invoke(cli, ["devices", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["restored_from"] == pushed.backup_path
    (device,) = report["devices"]
    assert device["outcome"] == "changed" and device["config_lines_sent"] > 0
    assert lab.emulator.running_config(name) == lab.defaults[name]
    assert lab.emulator.startup_config(name) == lab.defaults[name]
    assert lab.password not in result.stdout

    # Naming an appliance that is not in the targets, or a backup that does not exist, is a usage error.
    unknown = CliRunner().invoke(cli, ["devices", "restore", "no-such-box", *args[2:], "--json"], catch_exceptions=False)
    assert unknown.exit_code == 2 and "no-such-box" in unknown.stdout
    missing = CliRunner().invoke(cli, ["devices", *args, "--backup", str(tmp_path / "nope.cfg")], catch_exceptions=False)
    assert missing.exit_code == 2 and "nope.cfg" in missing.output
    assert lab.emulator.running_config(name) == lab.defaults[name]


def test_turning_the_rollback_timer_off_needs_an_explicit_flag(lab: Lab, tmp_path: Path) -> None:
    name = healthy("cisco_xe")
    inventory = tmp_path / "inventory.yaml"
    lab.emulator.inventory().save(inventory)
    intended = tmp_path / "intended"
    intended.mkdir()
    (intended / f"{name}.cfg").write_text(changed("cisco_xe", lab.defaults[name]))
    args = ["--targets", str(inventory), "--intended", str(intended), "--appliance", name,
            "--state-dir", str(tmp_path / "state"), "--read-timeout", "3", "--confirm-timeout", "0", "--json"]

    refused = CliRunner().invoke(cli, ["devices", "push", *args], catch_exceptions=False)
    assert refused.exit_code == 2 and "--no-confirm-i-know" in refused.stdout
    assert lab.emulator.running_config(name) == lab.defaults[name]

    pushed = CliRunner().invoke(cli, ["devices", "push", *args, "--no-confirm-i-know"], catch_exceptions=False)
    assert pushed.exit_code == 0, pushed.output
    (device,) = json.loads(pushed.stdout)["devices"]
    assert device["outcome"] == "changed" and device["commit_confirm"] is None
    assert "arm" not in device["timings"] and not lab.emulator.revert_armed(name)
    assert MARKER["cisco_xe"] in lab.emulator.running_config(name)
