"""Fixtures for the device rendering tests; plain helpers are in testsupport.rendering."""

from __future__ import annotations

import pytest
import yaml
from testsupport.rendering import FIXTURES, TEST_IPSEC_PSK_SEED, TEST_SECRETS

from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.network.outputs import StoreCloudOutputs, parse_stack_outputs


@pytest.fixture(scope="session")
def fleet() -> Fleet:
    return load_fleet(sample_chain_path())


@pytest.fixture(scope="session")
def live_outputs() -> dict[str, StoreCloudOutputs]:
    """Stack outputs of nw-0001 as the store stack would hand them over."""
    data = yaml.safe_load((FIXTURES / "outputs-nw-0001.yaml").read_text())
    return parse_stack_outputs(data)


@pytest.fixture
def device_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in TEST_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(*TEST_IPSEC_PSK_SEED)
    return dict(TEST_SECRETS)
