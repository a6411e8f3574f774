"""One reader of `env:NAME` secret references, used by rendering, redaction and the demo."""

from __future__ import annotations

import pytest

from storestack.devices.fleet_targets import fleet_secret_values
from storestack.devices.secrets import env_variable
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab.workspace import secret_variables
from storestack.network.secrets import resolve_secret_refs


@pytest.mark.parametrize(
    ("reference", "variable"),
    [("env:STORESTACK_TACACS_KEY", "STORESTACK_TACACS_KEY"), ("env:", None), ("vault:kv/tacacs", None), ("TACACS", None)],
)
def test_only_env_references_name_a_variable(reference: str, variable: str | None) -> None:
    assert env_variable(reference) == variable


def test_rendering_redaction_and_the_demo_read_the_same_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = load_fleet(sample_chain_path())
    refs = fleet.spec.management.secrets
    variables = secret_variables(fleet)
    assert variables and variables == sorted({ref.removeprefix("env:") for ref in refs.values()})
    for number, variable in enumerate(variables):
        monkeypatch.setenv(variable, f"Value-{number}-0123456789")
    assert fleet_secret_values(fleet) == {f"Value-{n}-0123456789" for n in range(len(variables))}
    slots = resolve_secret_refs(refs, reveal=True)
    assert {slot.reveal() for slot in slots.values()} == fleet_secret_values(fleet)


def test_an_unsupported_reference_is_named_when_its_value_is_needed() -> None:
    (slot,) = resolve_secret_refs({"tacacs-key": "vault:kv/tacacs"}, reveal=True).values()
    assert slot.problem == "is not a secret reference (use env:NAME or file:/absolute/path; value not shown)"
    assert slot.source == "management.secrets.tacacs-key"


def test_the_demos_throwaway_secrets_render_every_ntp_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo fills every unset secret with a throwaway: each NTP key's is of the length its
    algorithm takes (AES-128-CMAC exactly 16 characters), so a push render of the sample chain,
    every platform's NTP lines included, succeeds with them."""
    from storestack.lab.workspace import throwaway_secret
    from storestack.network.build import NetworkIntent

    fleet = load_fleet(sample_chain_path())
    for variable in secret_variables(fleet):
        monkeypatch.setenv(variable, throwaway_secret(fleet, variable))
    keys = NetworkIntent(fleet, reveal_secrets=True).management.ntp_keys
    assert {key.algorithm for key in keys} == {"aes128-cmac", "hmac-sha256", "sha256"}
    lengths = {key.algorithm: len(key.secret.reveal()) for key in keys}
    assert lengths["aes128-cmac"] == 16 and all(16 <= n <= 32 for n in lengths.values())


def test_the_demos_throwaway_secrets_always_pass_the_secret_floors(monkeypatch: pytest.MonkeyPatch) -> None:
    """A random throwaway must never miss a class the local password needs (a digit, say)."""
    from storestack.lab.workspace import throwaway_secret
    from storestack.network.secrets import device_secret

    fleet = load_fleet(sample_chain_path())
    refs = fleet.spec.management.secrets
    for _ in range(300):
        for slug, reference in refs.items():
            value = throwaway_secret(fleet, reference.removeprefix("env:"))
            assert device_secret(slug, reference, value).problem is None, slug
