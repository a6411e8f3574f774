"""The floor every device secret must reach, and messages that never quote a secret: a weak key
is refused naming where it comes from, and what is not a reference is never repeated."""

from __future__ import annotations

import pytest

from storestack.network.errors import SecretUnavailableError
from storestack.network.secrets import device_secret, resolve_secret_refs
from storestack.stacks.errors import StackConfigError
from storestack.stacks.keys import FleetTunnelKeys, TunnelKeySource

KEYS = ("ipsec-psk", "ntp-key-hmac", "snmp-auth-key", "snmp-priv-key", "tacacs-key")


@pytest.mark.parametrize("name", KEYS)
@pytest.mark.parametrize("weak", ["aaaaaaaa", "Sh0rt.Key_15chr"])
def test_a_key_shorter_than_16_characters_is_refused_naming_its_reference(name: str, weak: str) -> None:
    slot = device_secret(name, "env:STORESTACK_SOME_KEY", weak)
    with pytest.raises(SecretUnavailableError) as raised:
        slot.reveal()
    assert "env:STORESTACK_SOME_KEY" in str(raised.value) and "16-128" in str(raised.value)
    assert weak not in str(raised.value) and weak not in repr(slot)


@pytest.mark.parametrize("name", KEYS)
def test_a_16_character_key_is_taken(name: str) -> None:
    assert device_secret(name, "env:STORESTACK_SOME_KEY", "0123456789abcdef").reveal() == "0123456789abcdef"


@pytest.mark.parametrize(
    "weak",
    ["password", "Passw0rd.1", "passwordpassword", "Password.Only", "password.123", "PASSWORD.123", "Password1234"],
)
def test_a_weak_admin_password_is_refused(weak: str) -> None:
    slot = device_secret("local-admin-password", "env:STORESTACK_LOCAL_ADMIN_PASSWORD", weak)
    with pytest.raises(SecretUnavailableError) as raised:
        slot.reveal()
    assert "env:STORESTACK_LOCAL_ADMIN_PASSWORD" in str(raised.value) and "12-128" in str(raised.value)
    assert weak not in str(raised.value).replace("local-admin-password", "")


def test_a_12_character_password_of_every_class_is_taken() -> None:
    assert device_secret("local-admin-password", "env:X", "Lab.Admin_Pw1").reveal() == "Lab.Admin_Pw1"


def test_what_is_not_a_reference_in_management_secrets_is_never_quoted() -> None:
    slot = resolve_secret_refs({"ipsec-psk": "Sup3r.S3cret-Psk"}, reveal=True)["ipsec-psk"]
    with pytest.raises(SecretUnavailableError) as raised:
        slot.reveal()
    assert "management.secrets.ipsec-psk" in str(raised.value)
    assert "S3cret" not in str(raised.value) and "S3cret" not in repr(slot)


def test_a_pasted_secret_in_the_stack_config_is_never_quoted() -> None:
    keys = FleetTunnelKeys(TunnelKeySource(reference="Sup3r.S3cret-Psk", env_prefix="STORESTACK_"))
    with pytest.raises(StackConfigError) as raised:
        keys.psk("nw-0001-hub-1")
    assert "ipsec-psk" in str(raised.value) and "S3cret" not in str(raised.value)


def test_pulumi_up_refuses_a_weak_fleet_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORESTACK_IPSEC_PSK", "aaaaaaaa")
    keys = FleetTunnelKeys(TunnelKeySource(reference="env:STORESTACK_IPSEC_PSK", env_prefix="STORESTACK_"))
    with pytest.raises(StackConfigError) as raised:
        keys.psk("nw-0001-hub-1")
    assert "env:STORESTACK_IPSEC_PSK" in str(raised.value) and "16-128" in str(raised.value)
    assert "aaaaaaaa" not in str(raised.value)
