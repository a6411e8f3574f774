"""Shared fixtures for the device rendering tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from storestack.devices.outputs import StoreCloudOutputs, parse_stack_outputs
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.inventory.models import Platform

FIXTURES = Path(__file__).parent / "fixtures"

# One sample-chain store per shape the templates must cover.
SHAPES: dict[str, str] = {
    "dual-wan": "nw-0002",  # fibre (static) + LTE, no guest Wi-Fi, no cloud affinity
    "lte-only": "nw-0007",  # two cellular links
    "mall-guest": "nw-0003",  # mall: fibre + DHCP broadband + 5G, guest Wi-Fi
    "aws": "nw-0001",  # AWS affinity: AWS VPN tunnels beside the hub overlay
}

# Values only these tests use; the redaction test proves none of them leaks.
TEST_SECRETS = {
    "STORESTACK_LOCAL_ADMIN_PASSWORD": "Adm1n.Secret_Value",
    "STORESTACK_SNMP_AUTH_KEY": "Snmp.Auth_Key_42",
    "STORESTACK_SNMP_PRIV_KEY": "Snmp.Priv_Key_43",
    "STORESTACK_TACACS_KEY": "Tacacs.Shared_Key",
}


@pytest.fixture(scope="session")
def fleet() -> Fleet:
    return load_fleet(sample_chain_path())


def on_platform(fleet: Fleet, platform: Platform) -> Fleet:
    """The same fleet with every store appliance and hub on `platform` (for per-platform tests)."""
    stores = {
        store.id: store.model_copy(
            update={"appliances": [a.model_copy(update={"platform": platform}) for a in store.appliances]}
        )
        for store in fleet
    }
    hubs = {name: hub.model_copy(update={"platform": platform}) for name, hub in fleet.hubs.items()}
    return Fleet(fleet.spec, hubs, stores, fleet.root)


@pytest.fixture(scope="session")
def live_outputs() -> dict[str, StoreCloudOutputs]:
    """Stack outputs of nw-0001 as the store stack would hand them over."""
    data = yaml.safe_load((FIXTURES / "outputs-nw-0001.yaml").read_text())
    return parse_stack_outputs(data)


@pytest.fixture
def device_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in TEST_SECRETS.items():
        monkeypatch.setenv(name, value)
    return dict(TEST_SECRETS)


def update_golden() -> bool:
    """STORESTACK_UPDATE_GOLDEN=1 rewrites golden files instead of comparing against them."""
    return os.environ.get("STORESTACK_UPDATE_GOLDEN") == "1"
