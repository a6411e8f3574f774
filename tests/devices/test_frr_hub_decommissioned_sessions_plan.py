"""A push plan (dry run) of an FRR hub whose inventory lost a store names the store's tunnels whose
live IKE_SAs the swanctl.conf install will end (`CompanionResult.ends_sessions`, from the
platform's `CompanionDelivery.session_ends`: `frr_confirm.dropped_connections`, the one rule the
appliance's install follows too). tests/devices/test_frr_hub_decommissioned_sessions_netns.py
shows the install ending them with strongSwan and packets."""

from __future__ import annotations

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS

from storestack.devices.companions import CompanionChange, result_of, text_digest
from storestack.devices.configdiff import redactor_for
from storestack.devices.drivers import companion_delivery_for
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet, sample_chain_path

HUB = "hq-hub1"


def _swanctl(monkeypatch: pytest.MonkeyPatch, gone: str | None) -> str:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    fleet = load_fleet(sample_chain_path())
    if gone is not None:
        fleet = Fleet(fleet.spec, fleet.hubs, {store.id: store for store in fleet if store.id != gone}, fleet.root)
    return dict(render_hub(fleet, HUB).companions)["swanctl.conf"]


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_plan_names_the_removed_stores_tunnels_whose_sessions_the_install_ends(
    monkeypatch: pytest.MonkeyPatch, dry_run: bool
) -> None:
    before, after = _swanctl(monkeypatch, None), _swanctl(monkeypatch, "nw-0001")
    change = CompanionChange("swanctl.conf", after, taken=True, before_digest=text_digest(before), before_text=before)
    result = result_of(
        change, appliance=HUB, redactor=redactor_for("frr"), dry_run=dry_run, delivery=companion_delivery_for("frr")
    )
    assert result.status == "planned"
    assert result.ends_sessions == ["nw-0001-wan1-hq-hub1", "nw-0001-lte1-hq-hub1"]


def test_a_hub_that_keeps_its_stores_ends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _swanctl(monkeypatch, "nw-0001")
    after = _swanctl(monkeypatch, None)  # the store back: a connection added, none dropped
    change = CompanionChange("swanctl.conf", after, taken=True, before_digest=text_digest(before), before_text=before)
    result = result_of(change, appliance=HUB, redactor=redactor_for("frr"), dry_run=True, delivery=companion_delivery_for("frr"))
    assert result.status == "planned"
    assert result.ends_sessions == []
