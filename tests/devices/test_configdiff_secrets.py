"""Secrets a device does not show as sent: VRP's `cipher %^%#…%^%#`, FortiOS's `ENC …`, IOS-XE's
type 7 NTP and TACACS+ keys and its SNMPv3 users, which never appear in the running config.

Read as text, every such line differs from the intended one on every run, so drift would never
settle and every push would send the secrets again. Read by shape, a changed secret would never
be sent. The secret ledger decides: a secret line the appliance is known to hold (storestack set
it as intended and recorded so) reads as held; one that changed since, or that storestack never
recorded, is sent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storestack.common.files import KeyFileError
from storestack.devices.configdiff import compute_diff, remediation_lines, secret_paths
from storestack.devices.secret_ledger import HELD_AS_SENT, HeldSecrets, SecretLedger

VRP_INTENDED = """\
snmp-agent usm-user v3 netops group STORESTACK
snmp-agent usm-user v3 netops authentication-mode sha cipher Auth-Key-1
hwtacacs-server template HQ
 hwtacacs-server shared-key cipher Tacacs-Key-1
"""
VRP_RUNNING = """\
snmp-agent usm-user v3 netops group STORESTACK
snmp-agent usm-user v3 netops authentication-mode sha cipher %^%#Q1w2E3r4T5y6%^%#
hwtacacs-server template HQ
 hwtacacs-server shared-key cipher %^%#Z9x8C7v6B5n4%^%#
"""

FORTI_INTENDED = """\
config vpn ipsec phase1-interface
    edit "hq-hub1-wan1"
        set psksecret Psk-Hub1-0123456789
    next
    edit "hq-hub2-wan1"
        set psksecret Psk-Hub2-0123456789
    next
end
"""
FORTI_RUNNING = """\
config vpn ipsec phase1-interface
    edit "hq-hub1-wan1"
        set psksecret ENC qN3vX0aBcD9eFgH1iJkL2m==
    next
    edit "hq-hub2-wan1"
        set psksecret ENC Zz8yY7xX6wW5vV4uU3tT2s==
    next
end
"""

XE_INTENDED = """\
tacacs server TACACS-1
 address ipv4 10.0.1.49
 key Tacacs-Key-1
snmp-server group STORESTACK v3 priv access MGMT-HQ
snmp-server user netops STORESTACK v3 auth sha Auth-Key-1 priv aes 128 Priv-Key-1 access MGMT-HQ
ntp authentication-key 1 cmac-aes-128 0123456789abcdef0123456789abcdef
ntp authenticate
"""
# What IOS-XE shows: the keys type 7, and no SNMPv3 user at all.
XE_RUNNING = """\
tacacs server TACACS-1
 address ipv4 10.0.1.49
 key 7 0822455D0A16544541
snmp-server group STORESTACK v3 priv access MGMT-HQ
ntp authentication-key 1 cmac-aes-128 104D000A0618475F5A5D5D57 7
ntp authenticate
"""


def _sent(running: str, intended: str, platform: str, held: HeldSecrets | None) -> list[str]:
    diff = compute_diff(running, intended, platform, held=held)
    assert list(remediation_lines(running, intended, platform, held=held)) == list(diff.remediation)
    return [line.strip() for line in diff.remediation]


def _held_after_push(tmp_path: Path, appliance: str, intended: str, platform: str) -> HeldSecrets:
    ledger = SecretLedger(tmp_path / "secrets")
    ledger.record(appliance, secret_paths(intended, platform))
    return SecretLedger(tmp_path / "secrets").held(appliance)


def test_vrp_ciphers_storestack_set_read_as_held(tmp_path: Path) -> None:
    held = _held_after_push(tmp_path, "nw-0003-edge1", VRP_INTENDED, "huawei_vrp")
    assert _sent(VRP_RUNNING, VRP_INTENDED, "huawei_vrp", held) == []
    assert compute_diff(VRP_RUNNING, VRP_INTENDED, "huawei_vrp", held=held).in_sync


def test_vrp_ciphers_never_recorded_are_sent_again(tmp_path: Path) -> None:
    held = SecretLedger(tmp_path / "secrets").held("nw-0003-edge1")
    assert _sent(VRP_RUNNING, VRP_INTENDED, "huawei_vrp", held) == [
        "snmp-agent usm-user v3 netops authentication-mode sha cipher Auth-Key-1",
        "hwtacacs-server template HQ",
        "hwtacacs-server shared-key cipher Tacacs-Key-1",
        "quit",
    ]


def test_a_rotated_vrp_key_is_sent_and_only_that_one(tmp_path: Path) -> None:
    held = _held_after_push(tmp_path, "nw-0003-edge1", VRP_INTENDED, "huawei_vrp")
    rotated = VRP_INTENDED.replace("Tacacs-Key-1", "Tacacs-Key-2")
    assert _sent(VRP_RUNNING, rotated, "huawei_vrp", held) == [
        "hwtacacs-server template HQ",
        "hwtacacs-server shared-key cipher Tacacs-Key-2",
        "quit",
    ]


def test_a_setting_that_only_looks_like_a_secret_to_redaction_is_compared_as_text(tmp_path: Path) -> None:
    """`authentication-mode hwtacacs local` is redacted in what is shown, but it is no secret:
    an appliance that authenticates otherwise has drifted, whatever the ledger holds."""
    intended = "aaa\n authentication-scheme STORESTACK\n  authentication-mode hwtacacs local\n"
    held = _held_after_push(tmp_path, "nw-0003-edge1", intended, "huawei_vrp")
    running = intended.replace("hwtacacs local", "hwtacacs none")
    assert "authentication-mode hwtacacs local" in _sent(running, intended, "huawei_vrp", held)


def test_the_ledger_of_one_appliance_does_not_speak_for_another(tmp_path: Path) -> None:
    _held_after_push(tmp_path, "nw-0003-edge1", VRP_INTENDED, "huawei_vrp")
    other = SecretLedger(tmp_path / "secrets").held("nw-0004-edge1")
    assert "hwtacacs-server shared-key cipher Tacacs-Key-1" in _sent(VRP_RUNNING, VRP_INTENDED, "huawei_vrp", other)


def test_fortios_enc_values_are_matched_by_their_own_entry(tmp_path: Path) -> None:
    held = _held_after_push(tmp_path, "nw-0005-fw1", FORTI_INTENDED, "fortinet")
    assert _sent(FORTI_RUNNING, FORTI_INTENDED, "fortinet", held) == []
    # hub2's PSK rotated: only hub2's phase 1 gets its PSK, not hub1's (same shape, other entry)
    rotated = FORTI_INTENDED.replace("Psk-Hub2-0123456789", "Psk-Hub2-9876543210")
    sent = _sent(FORTI_RUNNING, rotated, "fortinet", held)
    assert "set psksecret Psk-Hub2-9876543210" in sent
    assert not any("Psk-Hub1" in line for line in sent)
    assert 'edit "hq-hub1-wan1"' not in sent


def test_ios_xe_snmp_user_it_never_shows_is_sent_until_recorded(tmp_path: Path) -> None:
    unknown = SecretLedger(tmp_path / "secrets").held("nw-0001-edge1")
    assert _sent(XE_RUNNING, XE_INTENDED, "cisco_xe", unknown) == [
        "tacacs server TACACS-1",
        "key Tacacs-Key-1",
        "exit",
        "snmp-server user netops STORESTACK v3 auth sha Auth-Key-1 priv aes 128 Priv-Key-1 access MGMT-HQ",
        "ntp authentication-key 1 cmac-aes-128 0123456789abcdef0123456789abcdef",
    ]
    held = _held_after_push(tmp_path, "nw-0001-edge1", XE_INTENDED, "cisco_xe")
    assert _sent(XE_RUNNING, XE_INTENDED, "cisco_xe", held) == []
    # a new SNMP privacy key: the user is sent again
    rotated = XE_INTENDED.replace("Priv-Key-1", "Priv-Key-2")
    assert _sent(XE_RUNNING, rotated, "cisco_xe", held) == [
        "snmp-server user netops STORESTACK v3 auth sha Auth-Key-1 priv aes 128 Priv-Key-2 access MGMT-HQ"
    ]


def test_ios_xe_snmp_user_the_device_no_longer_lists_is_sent_again(tmp_path: Path) -> None:
    """The ledger says storestack set the user; `show snmp user` says whether it is still there,
    with the intended protocols (its listing's key: the name, then the protocols as shown)."""
    held = _held_after_push(tmp_path, "nw-0001-edge1", XE_INTENDED, "cisco_xe")
    user = "snmp-server user netops STORESTACK v3 auth sha Auth-Key-1 priv aes 128 Priv-Key-1 access MGMT-HQ"
    assert _sent(XE_RUNNING, XE_INTENDED, "cisco_xe", held.listing(frozenset({"netops SHA AES128"}))) == []
    assert _sent(XE_RUNNING, XE_INTENDED, "cisco_xe", held.listing(frozenset({"netops SHA AES256"}))) == [user]
    assert _sent(XE_RUNNING, XE_INTENDED, "cisco_xe", held.listing(frozenset({"netops MD5 AES128"}))) == [user]
    assert _sent(XE_RUNNING, XE_INTENDED, "cisco_xe", held.listing(frozenset({"someone-else"}))) == [user]
    assert _sent(XE_RUNNING, XE_INTENDED, "cisco_xe", held.listing(frozenset())) == [user]


def test_ios_xe_showing_the_snmp_user_after_all_is_not_deleted(tmp_path: Path) -> None:
    held = _held_after_push(tmp_path, "nw-0001-edge1", XE_INTENDED, "cisco_xe")
    shown = XE_RUNNING + "snmp-server user netops STORESTACK v3 auth sha X priv aes 128 Y access MGMT-HQ\n"
    assert _sent(shown, XE_INTENDED, "cisco_xe", held) == []


def test_verification_after_a_push_takes_every_sent_secret_as_held() -> None:
    assert _sent(XE_RUNNING, XE_INTENDED, "cisco_xe", HELD_AS_SENT) == []
    # but a line that is not a secret still counts
    assert _sent(XE_RUNNING, XE_INTENDED.replace("10.0.1.49", "10.0.1.50"), "cisco_xe", HELD_AS_SENT) == [
        "tacacs server TACACS-1",
        "no address ipv4 10.0.1.49",
        "address ipv4 10.0.1.50",
        "exit",
    ]


def test_without_a_ledger_view_secrets_compare_as_text() -> None:
    """A rollback restores the backup's stored forms, which the device takes as input."""
    sent = _sent(VRP_INTENDED, VRP_RUNNING, "huawei_vrp", None)
    assert "hwtacacs-server shared-key cipher %^%#Z9x8C7v6B5n4%^%#" in sent


def test_frr_shows_secrets_as_sent_so_a_different_one_is_a_change() -> None:
    running = "router bgp 65001\n neighbor 10.255.0.0 password Other-Pw\n"
    intended = "router bgp 65001\n neighbor 10.255.0.0 password Bgp-Pw-1\n"
    assert "neighbor 10.255.0.0 password Bgp-Pw-1" in _sent(running, intended, "frr", HELD_AS_SENT)


def test_the_ledger_holds_no_secret_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    SecretLedger(root).record("nw-0001-edge1", secret_paths(XE_INTENDED, "cisco_xe"))
    files = sorted(root.iterdir())
    assert [f.name for f in files] == ["ledger.key", "nw-0001-edge1.json"]
    for f in files:
        assert f.stat().st_mode & 0o777 == 0o600
        text = f.read_text(encoding="utf-8")
        for secret in ("Tacacs-Key-1", "Auth-Key-1", "Priv-Key-1", "0123456789abcdef0123456789abcdef"):
            assert secret not in text
    assert len(json.loads((root / "nw-0001-edge1.json").read_text())["fingerprints"]) == 3


def test_a_ledger_key_that_is_no_key_is_refused_by_name_never_replaced(tmp_path: Path) -> None:
    """What the old key fingerprinted is neither trusted nor silently forgotten: the push stops
    before any appliance (`run_push` checks the ledger first) until the file is looked at."""
    root = tmp_path / "secrets"
    SecretLedger(root).record("nw-0003-edge1", secret_paths(VRP_INTENDED, "huawei_vrp"))
    (root / "ledger.key").write_text("not hex\n")
    for use in (SecretLedger(root).check, lambda: SecretLedger(root).held("nw-0003-edge1"),
                lambda: SecretLedger(root).record("nw-0003-edge1", secret_paths(VRP_INTENDED, "huawei_vrp"))):
        with pytest.raises(KeyFileError, match=r"ledger\.key: holds no key of 32 bytes") as refused:
            use()
        assert refused.value.file == str(root / "ledger.key")
    assert (root / "ledger.key").read_text() == "not hex\n"
    # removed (as the error says), the next push records under a new key, 0600 like the old one
    (root / "ledger.key").unlink()
    SecretLedger(root).record("nw-0003-edge1", secret_paths(VRP_INTENDED, "huawei_vrp"))
    assert (root / "ledger.key").stat().st_mode & 0o777 == 0o600
    assert _sent(VRP_RUNNING, VRP_INTENDED, "huawei_vrp", SecretLedger(root).held("nw-0003-edge1")) == []
