"""Pushing secrets to appliances that never show them as sent (vendor emulator).

The emulated IOS-XE, VRP and FortiOS keep a secret the way the real ones do (type 7, `%^%#…%^%#`,
`ENC …`; an IOS-XE SNMPv3 user outside the running config). A push must still settle: the second
push sends nothing and a dry run plans nothing, a rotated key is sent (only it), and a push from
a state directory that never recorded the secrets sends them again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storestack.common.platforms import EMULATED_PLATFORM_NAMES
from storestack.devices.intended import IntendedConfigs
from storestack.devices.push import PushOptions
from storestack.devices.report import DeviceResult
from storestack.devices.runner import PushTargets, RunOptions, run_push
from storestack.devices.session import ApplianceSession, SessionOptions
from storestack.lab.emulator import EmulatedDevice, Emulator, EmulatorThread
from storestack.lab.emulator.profiles import get_profile

# Secret lines per platform: (lines added to the factory config, the plaintext secrets in them).
SECRETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "cisco_xe": (
        "tacacs server TACACS-1\n address ipv4 10.0.1.49\n key Tacacs-Key-1\n"
        "snmp-server group STORESTACK v3 priv\n"
        "snmp-server user netops STORESTACK v3 auth sha Auth-Key-1 priv aes 128 Priv-Key-1\n",
        # the TACACS+ key reads back as sent (no `service password-encryption`); the user not at all
        ("Auth-Key-1", "Priv-Key-1"),
    ),
    "huawei_vrp": (
        "hwtacacs-server template HQ\n hwtacacs-server shared-key cipher Tacacs-Key-1\n",
        ("Tacacs-Key-1",),
    ),
    "fortinet": (
        'config system snmp user\n    edit "netops"\n        set security-level auth-priv\n'
        "        set auth-proto sha256\n        set auth-pwd Auth-Key-1\n        set priv-proto aes256\n"
        "        set priv-pwd Priv-Key-1\n    next\nend\n",
        ("Auth-Key-1", "Priv-Key-1"),
    ),
}


def with_secrets(platform: str, factory: str, rotate: bool = False) -> str:
    lines, _ = SECRETS[platform]
    if rotate:
        lines = lines.replace("Key-1", "Key-2")
    text = factory.replace("\r\n", "\n").rstrip("\n")
    for closing in ("\nend", "\nreturn"):
        if platform != "fortinet" and text.endswith(closing):
            return text[: -len(closing)] + "\n" + lines + closing.lstrip("\n") + "\n"
    return text + "\n" + lines


def device(platform: str) -> str:
    return f"{platform.replace('_', '-')}-secrets"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    devices = [
        EmulatedDevice(name=device(platform), platform=platform, store_id=f"s-{device(platform)}")  # type: ignore[arg-type]
        for platform in EMULATED_PLATFORM_NAMES
    ]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path_factory.mktemp("emulator"))) as running:
        yield running


def push(emulator: Emulator, platform: str, intended: str, state: Path, *, dry_run: bool = False) -> DeviceResult:
    name = device(platform)
    targets = PushTargets.from_inventory(emulator.inventory()).filter(names=[name])
    options = RunOptions(
        runs_dir=state / "runs",
        push=PushOptions(
            dry_run=dry_run,
            backup_root=state / "backups",
            known_hosts=state / "known_hosts.json",
            secret_ledger=state / "secrets",
            session=SessionOptions(conn_timeout=3.0, banner_timeout=3.0, auth_timeout=3.0, read_timeout=3.0),
            confirm_timeout=60,
        ),
    )
    report = run_push(targets, IntendedConfigs({name: intended}), options=options)
    return report.device(name)


@pytest.mark.parametrize("platform", EMULATED_PLATFORM_NAMES)
def test_secrets_settle_rotate_and_are_resent_from_a_fresh_state(emulator: Emulator, platform: str, tmp_path: Path) -> None:
    name = device(platform)
    factory = emulator.running_config(name)
    intended = with_secrets(platform, factory)
    state = tmp_path / "state"

    first = push(emulator, platform, intended, state)
    assert first.outcome == "changed", first.error
    shown = emulator.running_config(name)
    for secret in SECRETS[platform][1]:
        assert secret not in shown, f"{platform} shows {secret} as sent: the emulator hides nothing"

    # settled: nothing planned, nothing sent
    planned = push(emulator, platform, intended, state, dry_run=True)
    assert planned.outcome == "planned" and planned.change_lines == 0, planned.remediation
    again = push(emulator, platform, intended, state)
    assert again.outcome == "unchanged", again.remediation
    assert again.config_lines_sent == 0

    # a rotated key: only the secret lines go, and the push settles again
    rotated = with_secrets(platform, factory, rotate=True)
    changed = push(emulator, platform, rotated, state)
    assert changed.outcome == "changed", changed.error
    # (the TACACS+ key is no secret the push was told of, so not redacted here)
    secret_lines = [line for line in changed.remediation if "<redacted>" in line or "Key-2" in line]
    assert secret_lines and changed.change_lines == len(secret_lines), changed.remediation
    assert push(emulator, platform, rotated, state).outcome == "unchanged"

    # a state directory that never recorded the secrets plans them again, and nothing else
    fresh = push(emulator, platform, rotated, tmp_path / "fresh", dry_run=True)
    resent = [line for line in fresh.remediation if "<redacted>" in line or "Key-2" in line]
    assert fresh.change_lines == len(resent) > 0, fresh.remediation


def test_an_ios_xe_snmp_user_deleted_by_hand_is_planned_again(emulator: Emulator, tmp_path: Path) -> None:
    """IOS-XE never shows the user in its running config; `show snmp user`, read with it, does."""
    platform = "cisco_xe"
    name = device(platform)
    factory = get_profile(platform).default_config(name)
    emulator.set_running_config(name, factory, save=True)
    intended = with_secrets(platform, emulator.running_config(name))
    state = tmp_path / "state"
    first = push(emulator, platform, intended, state)
    assert first.outcome == "changed", first.error
    assert push(emulator, platform, intended, state, dry_run=True).change_lines == 0
    target = next(iter(PushTargets.from_inventory(emulator.inventory()).filter(names=[name])))
    with ApplianceSession(target, target.credentials.resolve()).open() as session:
        session.configure(["no snmp-server user netops STORESTACK v3"])
    planned = push(emulator, platform, intended, state, dry_run=True)
    assert planned.remediation == [
        "snmp-server user netops STORESTACK v3 auth sha <redacted> priv aes 128 <redacted>"
    ], planned.remediation
    again = push(emulator, platform, intended, state)
    assert again.outcome == "changed" and again.change_lines == 1, again.remediation
    assert push(emulator, platform, intended, state, dry_run=True).change_lines == 0


def test_an_ios_xe_snmp_user_weakened_by_hand_is_planned_again(emulator: Emulator, tmp_path: Path) -> None:
    """`show snmp user` prints each user's protocols ("Authentication Protocol: SHA", "Privacy
    Protocol: AES256"): a user re-created by hand under the same name with AES-128 instead of the
    intended AES-256 no longer counts as held, and the intended user is sent again."""
    platform = "cisco_xe"
    name = device(platform)
    factory = get_profile(platform).default_config(name)
    emulator.set_running_config(name, factory, save=True)
    intended = with_secrets(platform, emulator.running_config(name)).replace("priv aes 128", "priv aes 256")
    state = tmp_path / "state"
    assert push(emulator, platform, intended, state).outcome == "changed"
    assert push(emulator, platform, intended, state, dry_run=True).change_lines == 0
    target = next(iter(PushTargets.from_inventory(emulator.inventory()).filter(names=[name])))
    with ApplianceSession(target, target.credentials.resolve()).open() as session:
        session.configure(["snmp-server user netops STORESTACK v3 auth sha Auth-Key-1 priv aes 128 Priv-Key-1"])
        assert "Privacy Protocol: AES128" in session.command("show snmp user")
    planned = push(emulator, platform, intended, state, dry_run=True)
    assert planned.remediation == [
        "snmp-server user netops STORESTACK v3 auth sha <redacted> priv aes 256 <redacted>"
    ], planned.remediation
    assert push(emulator, platform, intended, state).outcome == "changed"
    assert push(emulator, platform, intended, state, dry_run=True).change_lines == 0
