"""What the CLI tests run with: the sample chain's `--fleet`, a value for every device secret it
names, and a `CliRunner` in a scratch folder with only those set (`cli_runner`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from storestack.inventory import sample_chain_path

SECRETS = {
    "STORESTACK_IPSEC_PSK": "lab-fleet-secret-0123456789",
    "STORESTACK_NTP_KEY": "0123456789abcdef",
    "STORESTACK_NTP_KEY_HMAC": "Lab.Ntp_Hmac_Key1",
    "STORESTACK_NTP_KEY_SHA256": "Lab.Ntp_Sha_Key01",
    "STORESTACK_LOCAL_ADMIN_PASSWORD": "Lab.Admin_Pw1",
    "STORESTACK_SNMP_AUTH_KEY": "Lab.Snmp_Auth_Key1",
    "STORESTACK_SNMP_PRIV_KEY": "Lab.Snmp_Priv_Key1",
    "STORESTACK_TACACS_KEY": "Lab.Tacacs_Key_01",
}
FLEET = ["--fleet", str(sample_chain_path())]


def cli_runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """A runner working in `tmp_path` with `SECRETS` set, and no fleet or device login taken
    from the caller's environment."""
    for name in ("STORESTACK_FLEET", "STORESTACK_DEVICE_USERNAME", "STORESTACK_DEVICE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return CliRunner()
