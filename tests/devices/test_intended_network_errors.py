"""A push that cannot render its intended configs because of the network intent (a secret the
intent cannot fill, an intent it cannot build) refuses as a configuration error: nothing is
pushed, exit 2, the message names the cause and never a secret value."""

from __future__ import annotations

import dataclasses

import pytest
from testsupport.rendering import on_platform

from storestack.cli.common import EXIT_USAGE, exit_code_for
from storestack.devices.errors import PushConfigError
from storestack.devices.fleet_targets import targets_from_fleet
from storestack.devices.intended import rendered_intended_configs
from storestack.devices.targets import ApplianceTarget
from storestack.inventory import Fleet
from storestack.network import crypto


def _targets(fleet: Fleet, store_id: str | None) -> list[ApplianceTarget]:
    """The store's appliances, or the hubs for None."""
    return [t for t in targets_from_fleet(fleet).appliances if t.store_id == store_id]


def test_a_secret_the_intent_cannot_fill_refuses_the_push(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, device_secrets: dict[str, str]
) -> None:
    monkeypatch.delenv("STORESTACK_IPSEC_PSK")
    with pytest.raises(PushConfigError, match=r"cannot render intended configs: .*STORESTACK_IPSEC_PSK") as caught:
        rendered_intended_configs(fleet, _targets(fleet, "nw-0001"))
    assert exit_code_for(caught.value) == EXIT_USAGE
    for value in device_secrets.values():
        assert value not in str(caught.value)


def test_an_intent_that_cannot_be_built_refuses_the_push(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, device_secrets: dict[str, str]
) -> None:
    # VRP counts at least 3 retransmissions: the intent refuses a policy of 2 on a VRP hub.
    monkeypatch.setattr(crypto, "FLEET_CRYPTO", dataclasses.replace(crypto.FLEET_CRYPTO, dpd_retries=2))
    vrp = on_platform(fleet, "huawei_vrp")
    with pytest.raises(PushConfigError, match=r"cannot render intended configs: .*the platform accepts 3-10") as caught:
        rendered_intended_configs(vrp, _targets(vrp, None))
    assert exit_code_for(caught.value) == EXIT_USAGE
