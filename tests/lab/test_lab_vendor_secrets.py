"""The sample chain's IOS-XE, VRP and FortiOS stores in the lab, through the command line: after
`rollout --lab`, `drift` finds 0 changes although the emulated appliances show no secret as it
was sent (VRP `%^%#…%^%#`, FortiOS `ENC …`, IOS-XE's SNMPv3 user not at all), exactly as real
ones do. From a state directory whose secret ledger never saw them, drift says their secrets are
unrecorded; a rotated TACACS+ key is pushed as the only change and drift settles again. Runs in
`make test` (root, FRR, sshd); in CI it fails, never skips, when the lab cannot start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testsupport.lab import cli_lab_dirs

from storestack import lab
from storestack.inventory import load_fleet, sample_chain_path

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab-vendor-secrets")]

FLEET = load_fleet(sample_chain_path())
VENDOR_STORES = [s.id for s in FLEET if s.appliances and s.appliances[0].platform != "frr"]
STORESTACK = Path(sys.executable).with_name("storestack")
SECRETS = {
    "STORESTACK_IPSEC_PSK": "lab-vendor-secrets-psk-0123456789",
    "STORESTACK_NTP_KEY": "lab-vendor-ntp-1",  # aes128-cmac: exactly 16 characters
    "STORESTACK_NTP_KEY_HMAC": "Lab.Vendor_Hmac1",
    "STORESTACK_NTP_KEY_SHA256": "Lab.Vendor_Sha_01",
    "STORESTACK_LOCAL_ADMIN_PASSWORD": "Lab.Vendor_Admin1",
    "STORESTACK_SNMP_AUTH_KEY": "Lab.Vendor_Auth1",
    "STORESTACK_SNMP_PRIV_KEY": "Lab.Vendor_Priv1",
    "STORESTACK_TACACS_KEY": "Lab.Vendor_Tacacs1",
}


def storestack(cwd: Path, *arguments: str, **secrets: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORESTACK_")}
    env |= {**SECRETS, **secrets, "COLUMNS": "200"}
    return subprocess.run([str(STORESTACK), *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    with cli_lab_dirs(tmp_path_factory, "vendor-secrets") as dirs:
        yield dirs


def drift(root: Path, lab_dir: Path, state: Path, **secrets: str) -> dict[str, dict[str, Any]]:
    checked = storestack(root, "drift", "--lab", "--lab-dir", str(lab_dir), "--state-dir", str(state), "--json", **secrets)
    assert checked.stdout, checked.stderr
    return {item["name"]: item for item in json.loads(checked.stdout)["appliances"]}


def test_vendor_stores_settle_although_no_secret_reads_back(lab_dir: tuple[Path, Path]) -> None:
    root, lab_state = lab_dir
    assert {FLEET.store(s).appliances[0].platform for s in VENDOR_STORES} == {"cisco_xe", "huawei_vrp", "fortinet"}
    started = storestack(root, "lab", "up", "--stores", ",".join(VENDOR_STORES), "--state-dir", str(lab_state))
    assert started.returncode == 0, started.stdout + started.stderr
    state = root / "state"
    rolled = storestack(root, "rollout", *VENDOR_STORES, "--lab", "--lab-dir", str(lab_state), "--no-failover", "--state-dir", str(state))
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr

    # The appliances hold the secrets only in their own stored forms (their running configs, as
    # the emulated flash keeps them).
    edges = {FLEET.store(s).appliances[0].hostname for s in VENDOR_STORES}
    inventory = lab.lab_info(lab_state).inventory
    for edge in edges:
        text = (lab_state / "emulator" / "devices" / edge / "running.cfg").read_text()
        assert f"sysname {edge}" in text or f"hostname {edge}" in text or f'set hostname "{edge}"' in text
        for secret in ("Lab.Vendor_Auth1", "Lab.Vendor_Priv1", "Lab.Vendor_Admin1"):
            assert secret not in text, (edge, secret)

    found = drift(root, lab_state, state)
    assert {name: item["status"] for name, item in found.items()} == dict.fromkeys(found, "in_sync"), found
    assert edges <= set(found) and {t.name for t in inventory.appliances} == set(found)

    # A state directory whose ledger never saw these appliances cannot tell their secrets.
    fresh = drift(root, lab_state, root / "fresh")
    for edge in edges:
        assert fresh[edge]["status"] == "drifted" and fresh[edge]["secrets_unrecorded"] is True, fresh[edge]
        # only its secret lines: each change is a line with a (redacted) secret
        secret_lines = [line for line in fresh[edge]["remediation"] if "<redacted>" in line]
        assert secret_lines and fresh[edge]["change_lines"] == len(secret_lines), fresh[edge]["remediation"]
    assert all(not item["secrets_unrecorded"] for name, item in fresh.items() if name not in edges)

    # A rotated TACACS+ key: the push sends it, and nothing else changes.
    pushed = storestack(
        root, "devices", "push", "--targets", str(lab.lab_info(lab_state).inventory_path), "--state-dir", str(state),
        "--health-timeout", "20", "--json", STORESTACK_TACACS_KEY="Lab.Vendor_Tacacs2",
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    devices = {device["name"]: device for device in json.loads(pushed.stdout)["devices"]}
    for edge in edges:
        assert devices[edge]["outcome"] == "changed", devices[edge]
        assert any("<redacted>" in line for line in devices[edge]["remediation"]), devices[edge]["remediation"]
        assert devices[edge]["change_lines"] == 1, devices[edge]["remediation"]
    rotated = drift(root, lab_state, state, STORESTACK_TACACS_KEY="Lab.Vendor_Tacacs2")
    assert {item["status"] for item in rotated.values()} == {"in_sync"}, rotated
