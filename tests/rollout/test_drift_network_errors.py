"""Drift renders every appliance as a rollout would: a store whose stack outputs or network intent
cannot be turned into configs is reported per appliance (`error`), and the others are still
compared; the run does not stop at the first such store."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS

from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.network.errors import StackOutputsError
from storestack.network.outputs import CoreCloudOutputs, StoreCloudOutputs
from storestack.rollout.drift import _intended


class _Outputs:
    """No live stacks; `broken` stores' outputs are unreadable."""

    def __init__(self, broken: set[str]) -> None:
        self.broken = broken

    def get(self, store_id: str) -> StoreCloudOutputs | None:
        if store_id in self.broken:
            raise StackOutputsError(f"store {store_id}: tunnel wan1-hq-hub1 has no PSK in the stack outputs")
        return None

    def core(self) -> CoreCloudOutputs | None:
        return None


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> Fleet:
    for name, value in TEST_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(*TEST_IPSEC_PSK_SEED)
    return load_fleet(sample_chain_path())


def _edges(fleet: Fleet, store_id: str) -> set[str]:
    return {appliance.hostname for appliance in fleet.store(store_id).appliances}


def test_a_store_with_unreadable_outputs_is_an_error_and_the_others_are_rendered(fleet: Fleet) -> None:
    env = SimpleNamespace(fleet=fleet, outputs=_Outputs({"nw-0001"}))
    configs, errors = _intended(env, ["nw-0001", "nw-0002"], [])  # type: ignore[arg-type]
    assert set(errors) == _edges(fleet, "nw-0001")
    assert all(error.startswith("stack outputs: store nw-0001: tunnel") for error in errors.values())
    assert set(configs) == _edges(fleet, "nw-0002")


def test_a_secret_the_intent_cannot_fill_is_a_render_error_per_appliance(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TEST_IPSEC_PSK_SEED[0])
    env = SimpleNamespace(fleet=fleet, outputs=_Outputs(set()))
    configs, errors = _intended(env, ["nw-0001"], ["hq-hub1"])  # type: ignore[arg-type]
    assert configs == {}
    assert set(errors) == _edges(fleet, "nw-0001") | {"hq-hub1"}
    assert all(error.startswith("render: ") and TEST_IPSEC_PSK_SEED[0] in error for error in errors.values())
    assert TEST_IPSEC_PSK_SEED[1] not in str(errors)
