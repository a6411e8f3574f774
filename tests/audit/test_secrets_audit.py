"""Secrets audit: run the CLI the way an operator does, with known secret values, and look everywhere.

The secrets: the device secrets a config carries (local admin password, SNMP auth and priv keys,
TACACS key), the stack's tunnel PSKs, the appliances' login password, and the Pulumi passphrase.
Everything the commands print (stdout and stderr), every file they leave (run journals, session
logs, saved plans, rendered stack and display configs, exports, the lab's own state and logs)
and every backup's file name is scanned: no secret may appear. The files that exist to carry a
secret (push configs, backups, stack outputs, credentials) must be mode 0600, and the push configs
must really carry them, or the scan would prove nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from testsupport.demo import DEMO_GROUP, DEVICE_SECRETS, IPSEC_PSK_SEED, PASSPHRASE, THROWAWAY, DemoRun
from testsupport.lab import require_frr_lab
from testsupport.rendering import secrets_carried_by
from testsupport.stack_outputs import outputs_file, run_store_stack

from storestack.cli.main import cli
from storestack.inventory import load_fleet, sample_chain_path

STORE = "nw-0003"  # IOS-XE: its config carries every kind of device secret and the PSKs
APPLIANCE = f"{STORE}-edge1"


class Audit:
    """Everything printed and written, and the secrets none of it may hold."""

    def __init__(self, work: Path, secrets: dict[str, str]) -> None:
        self.work = work
        self.secrets = dict(secrets)
        self.printed: list[tuple[str, str]] = []
        # Files whose job is to hold a secret: checked for mode, not scanned.
        self.secret_files: set[Path] = set()

    def run(self, *args: str, code: int | tuple[int, ...] = 0) -> Result:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        self.printed.append((" ".join(args[:3]) + " (stdout)", result.stdout))
        self.printed.append((" ".join(args[:3]) + " (stderr)", result.stderr))
        codes = code if isinstance(code, tuple) else (code,)
        assert result.exit_code in codes, f"{' '.join(args)} -> {result.exit_code}\n{result.output}"
        return result

    def holds_secrets(self, *paths: Path) -> None:
        for path in paths:
            files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
            assert files, f"{path}: nothing there"
            for file in files:
                assert file.stat().st_mode & 0o777 == 0o600, (
                    f"{file} holds secrets but is {file.stat().st_mode & 0o777:04o}"
                )
                self.secret_files.add(file)

    def scan(self) -> None:
        leaks: list[str] = []
        for label, text in self.printed:
            leaks += [f"{label}: {name}" for name, value in self.secrets.items() if value in text]
        scanned = 0
        for file in sorted(p for p in self.work.rglob("*") if p.is_file()):
            # Every path is checked, secret files included: a backup's name must not carry one.
            relative = str(file.relative_to(self.work))
            leaks += [
                f"file name {relative}: {name}" for name, value in self.secrets.items() if value in relative
            ]
            if file in self.secret_files:
                continue
            text = file.read_bytes().decode("utf-8", errors="replace")
            scanned += 1
            leaks += [f"{relative}: {name}" for name, value in self.secrets.items() if value in text]
        assert not leaks, "secrets leaked:\n" + "\n".join(leaks)
        assert scanned > 0 and self.printed


@pytest.fixture
def audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Audit]:
    for name, value in DEVICE_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv(*IPSEC_PSK_SEED)
    monkeypatch.chdir(tmp_path)
    fleet = load_fleet(sample_chain_path())
    run = run_store_stack(fleet, STORE, preview=False)
    outputs = tmp_path / "outputs.yaml"
    outputs.write_text(yaml.safe_dump(outputs_file(run, STORE, planned=False)))
    outputs.chmod(0o600)
    psks = {f"psk {name}": value for name, value in run.outputs["tunnel_psks"].value.items()}
    secrets = {
        **DEVICE_SECRETS,
        **psks,
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        IPSEC_PSK_SEED[0]: IPSEC_PSK_SEED[1],
    }
    audit = Audit(tmp_path, secrets)
    audit.holds_secrets(outputs)
    yield audit


def test_inventory_stacks_plan_and_render_outputs_hold_no_secret(audit: Audit) -> None:
    work = audit.work
    audit.run("inventory", "validate")
    audit.run("inventory", "show", STORE)
    audit.run("inventory", "show", STORE, "--json")
    audit.run("inventory", "export", "--format", "nornir", "--out", str(work / "nornir"))
    audit.run("stacks", "render", "--out", str(work / "stacks-out"))
    audit.run("plan", "--json", "--plans-dir", str(work / "plans"))
    audit.run("plan", "--store", STORE, "--detail", "--plans-dir", str(work / "plans"))
    # Without a Pulumi engine `up` stops early; the passphrase is in the environment all along.
    audit.run("up", "--stack", f"store-{STORE}", "--out", str(work / "stacks-out"), code=2)
    audit.run("devices", "render", "--out", str(work / "display"))
    audit.run("devices", "render", "--outputs", "outputs.yaml", "--out", str(work / "display-live"))
    audit.run("devices", "show", STORE)
    audit.run(
        "devices",
        "render",
        "--store",
        STORE,
        "--outputs",
        "outputs.yaml",
        "--with-secrets",
        "--out",
        str(work / "push"),
    )
    audit.run(
        "devices",
        "render",
        "--store",
        STORE,
        "--outputs",
        "outputs.yaml",
        "--with-secrets",
        "--out",
        str(work / "push"),
        "--check",
    )

    pushed = (work / "push" / f"{APPLIANCE}.cfg").read_text()
    # every device secret an IOS-XE config carries (not the FortiOS-only sha256 NTP key)
    for name, value in secrets_carried_by("cisco_xe", audit.secrets).items():
        if name not in ("PULUMI_CONFIG_PASSPHRASE", IPSEC_PSK_SEED[0]):
            assert value in pushed, f"the push file lacks {name}: the audit would prove nothing"
    audit.holds_secrets(work / "push")
    assert "<redacted>" in (work / "display" / f"{APPLIANCE}.cfg").read_text()
    assert list((work / "plans").glob("*.json"))
    audit.scan()


@pytest.fixture
def lab_dir(tmp_path: Path) -> Iterator[Path]:
    require_frr_lab()
    state = tmp_path / "lab"
    try:
        yield state
    finally:
        CliRunner().invoke(cli, ["lab", "down", "--state-dir", str(state)])


@pytest.mark.lab  # needs root, FRR and sshd (`require_frr_lab`)
def test_lab_and_push_outputs_hold_no_secret(audit: Audit, lab_dir: Path) -> None:
    work = audit.work
    # The store's hubs on FRR and its IOS-XE edge in the lab's vendor emulator.
    result = audit.run("lab", "up", "--stores", STORE, "--state-dir", str(lab_dir), "--json")
    info = json.loads(result.stdout)
    credentials = Path(info.get("credentials_path") or lab_dir / "credentials.yaml")
    audit.secrets["device login password"] = str(yaml.safe_load(credentials.read_text())["password"])
    audit.holds_secrets(credentials)
    audit.run("lab", "status", "--state-dir", str(lab_dir), "--json", code=(0, 1))

    targets = str(lab_dir / "inventory.yaml")
    common = [
        "--targets",
        targets,
        "--outputs",
        "outputs.yaml",
        "--state-dir",
        str(work / "state"),
        "--session-log",
        str(work / "session-logs"),
    ]
    audit.run("devices", "push", *common, "--dry-run")
    first = json.loads(audit.run("devices", "push", *common, "--json").stdout)
    assert {d["name"]: d["outcome"] for d in first["devices"]}[APPLIANCE] == "changed", first
    audit.run("devices", "push", *common)  # a no-op now, with the table output
    audit.run("devices", "push", *common, "--only-failed", code=(0, 2))

    backups = work / "state" / "backups"
    audit.holds_secrets(backups)
    backup_text = "\n".join(p.read_text() for p in backups.rglob("*.cfg") if APPLIANCE in str(p))
    # the second run backed up the pushed config (its TACACS+ key: IOS-XE shows it as typed,
    # never its SNMPv3 user)
    assert DEVICE_SECRETS["STORESTACK_TACACS_KEY"] in backup_text
    assert os.listdir(work / "session-logs") and list((work / "state" / "runs").glob("push-*.json"))
    # The emulated appliance's own running and startup configs hold what was pushed, as its
    # flash would: owner only.
    audit.holds_secrets(*(lab_dir / "emulator" / "devices").glob("*/*.cfg"))
    audit.run("lab", "down", "--state-dir", str(lab_dir))
    audit.scan()


@pytest.mark.lab  # needs root, FRR and sshd (`require_frr_lab`)
@pytest.mark.xdist_group(DEMO_GROUP)
def test_demo_holds_no_secret(demo_run: DemoRun) -> None:
    """`storestack demo` with known device secrets and passphrase (the session's one demo run,
    `testsupport.demo`): nothing it prints or writes holds one, except the emulated appliances'
    own configs (0600), which must hold them."""
    result, state = demo_run.result, demo_run.state
    assert result.returncode == 0, result.stdout + result.stderr

    audit = Audit(demo_run.root, demo_run.secrets)
    audit.printed += [("demo (stdout)", result.stdout), ("demo (stderr)", result.stderr)]
    device_configs = sorted((state / "lab" / "emulator" / "devices").glob("*/*.cfg"))
    audit.holds_secrets(*device_configs)
    pushed = "\n".join(path.read_text() for path in device_configs)
    assert DEVICE_SECRETS["STORESTACK_TACACS_KEY"] in pushed
    # The NTP key the demo made up (testsupport.demo): scanned for like the known ones.
    assert len(demo_run.secrets.get(f"{THROWAWAY} (throwaway)", "")) == 16
    assert any(value in pushed for name, value in demo_run.secrets.items() if name.startswith("psk ")), (
        "no PSK reached an appliance: the PSK part of this audit would prove nothing"
    )
    audit.scan()
