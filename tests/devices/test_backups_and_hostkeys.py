from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paramiko
import pytest

from storestack.devices.backups import BackupStore
from storestack.devices.errors import HostKeyError
from storestack.devices.hostkeys import (
    FingerprintPolicy,
    KnownHostKeys,
    key_fingerprint,
    public_key_line_fingerprint,
)
from storestack.devices.targets import ApplianceTarget


def target(name: str = "nw-0001-edge1", store: str | None = "nw-0001") -> ApplianceTarget:
    return ApplianceTarget(name=name, role="edge" if store else "hub", store_id=store, platform="frr", host="127.0.0.1")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_backups_are_private_and_pruned(tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "backups", keep=3)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    paths = [store.save(target(), f"hostname x{i}\n", now=start + timedelta(seconds=i)) for i in range(5)]
    kept = store.backups(target())
    assert kept == paths[-3:]
    assert kept[-1].read_text() == "hostname x4\n"
    assert kept[-1].parent == tmp_path / "backups" / "nw-0001" / "nw-0001-edge1"
    assert all(mode(path) == 0o600 for path in kept)
    for directory in (kept[-1].parent, kept[-1].parent.parent, tmp_path / "backups"):
        assert mode(directory) == 0o700


def test_hub_backups_go_under_hubs(tmp_path: Path) -> None:
    path = BackupStore(tmp_path).save(target("hq-hub1", None), "hostname hq-hub1\n")
    assert path.parent == tmp_path / "_hubs" / "hq-hub1"


def test_backup_path_components_cannot_escape(tmp_path: Path) -> None:
    evil = ApplianceTarget(name="../../etc", role="edge", store_id="nw-0001", platform="frr", host="127.0.0.1")
    with pytest.raises(ValueError):
        BackupStore(tmp_path).save(evil, "x")


@pytest.fixture(scope="module")
def server_key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


def test_matching_fingerprint_is_accepted(server_key: paramiko.PKey) -> None:
    policy = FingerprintPolicy("a", key_fingerprint(server_key), trust_on_first_use=False)
    policy.missing_host_key(paramiko.SSHClient(), "[127.0.0.1]:22", server_key)
    assert policy.learned is None


def test_unknown_key_is_refused_without_trust_on_first_use(server_key: paramiko.PKey) -> None:
    policy = FingerprintPolicy("a", None, trust_on_first_use=False)
    with pytest.raises(HostKeyError, match="not recorded") as caught:
        policy.missing_host_key(paramiko.SSHClient(), "[127.0.0.1]:22", server_key)
    assert caught.value.presented == key_fingerprint(server_key)


def test_changed_key_is_refused_even_with_trust_on_first_use(server_key: paramiko.PKey) -> None:
    other = key_fingerprint(paramiko.ECDSAKey.generate())
    policy = FingerprintPolicy("a", other, trust_on_first_use=True)
    with pytest.raises(HostKeyError, match="HOST KEY CHANGED"):
        policy.missing_host_key(paramiko.SSHClient(), "[127.0.0.1]:22", server_key)


def test_trust_on_first_use_learns_the_key(server_key: paramiko.PKey, tmp_path: Path) -> None:
    policy = FingerprintPolicy("a", None, trust_on_first_use=True)
    policy.missing_host_key(paramiko.SSHClient(), "[127.0.0.1]:22", server_key)
    assert policy.learned == key_fingerprint(server_key)
    known = KnownHostKeys(tmp_path / "known_hosts.json")
    known.record("127.0.0.1", 2222, policy.learned)
    assert KnownHostKeys(tmp_path / "known_hosts.json").get("127.0.0.1", 2222) == policy.learned
    assert known.get("127.0.0.1", 22) is None
    assert mode(tmp_path / "known_hosts.json") == 0o600


def test_fingerprint_format_matches_openssh(server_key: paramiko.PKey, tmp_path: Path) -> None:
    import subprocess

    public = tmp_path / "key.pub"
    public.write_text(f"{server_key.get_name()} {server_key.get_base64()}\n")
    output = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(public)], capture_output=True, text=True, check=True
    ).stdout
    assert output.split()[1] == key_fingerprint(server_key)
    # The lab records its keys from the .pub line; the push engine checks the presented key.
    assert public_key_line_fingerprint(public.read_text()) == output.split()[1]


def test_a_line_that_is_not_a_public_key_has_no_fingerprint() -> None:
    with pytest.raises(ValueError, match="not an OpenSSH public key line"):
        public_key_line_fingerprint("ssh-ed25519")
