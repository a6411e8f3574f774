"""Guest Wi-Fi on a store whose links are all cellular, on every platform. The inventory takes it:
guest Wi-Fi breaks out through the store's first wired link (`guest_breakout_index`), such a
store has none, and guest Wi-Fi never goes over LTE/5G. So the intent gives its guest zone no
flow at all, every platform renders the store (IOS-XE and FortiOS stopped with an error before),
no rendered config lets guest traffic out (FRR's forward chain drops it, as it did already),
and lint finds nothing."""

from __future__ import annotations

import re

import pytest
from testsupport.rendering import edited_sample_chain, on_platform

from storestack.common.platforms import PLATFORM_NAMES, Platform
from storestack.devices.lint.run import config_files, lint_configs
from storestack.devices.render import render_store
from storestack.inventory import Fleet, load_fleet
from storestack.network.build import NetworkIntent

STORE = "nw-0007"


@pytest.fixture(scope="module")
def guest_on_lte_only(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    root = edited_sample_chain(
        tmp_path_factory.mktemp("chain"), "  iot: {vlan: 50}\n", "  iot: {vlan: 50}\n  guest-wifi: {vlan: 40}\n", f"stores/{STORE}.yaml"
    )
    fleet = load_fleet(root)
    assert all(link.cellular for link in fleet.store(STORE).wan)
    return fleet


def test_the_intent_gives_guest_wifi_without_a_breakout_no_flow(guest_on_lte_only: Fleet) -> None:
    intent = NetworkIntent(guest_on_lte_only).store(STORE)
    assert intent.guest_breakout is None
    assert intent.zone("guest-wifi") is not None
    assert [flow for flow in intent.flows if flow.source == "guest-wifi"] == []
    # The store's other zones keep theirs.
    assert {flow.source for flow in intent.flows} == {zone.name for zone in intent.zones} - {"guest-wifi"}


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_every_platform_renders_it_with_no_way_out_for_guests_and_lints_clean(guest_on_lte_only: Fleet, platform: Platform) -> None:
    fleet = on_platform(guest_on_lte_only, platform)
    text = "\n".join(text for config in render_store(fleet, STORE) for _, text in config.files())
    if platform == "frr":
        # The forward chain drops guest Wi-Fi's packets whatever their way out.
        assert not re.search(r'iifname "lan0\.40" oifname \S+ accept', text)
        assert re.search(r'^\s*iifname "lan0\.40" drop$', text, re.MULTILINE)
    else:
        # No ACL, zone pair or policy of the vendor platforms' guest flow.
        assert "GUEST-TO-INTERNET" not in text
    files = [file for file in config_files(fleet) if file.store_id == STORE or file.role == "hub"]
    assert lint_configs(files, NetworkIntent(fleet)).findings == []
