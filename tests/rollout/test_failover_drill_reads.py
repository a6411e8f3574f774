"""The failover drill's reads of the store's route to HQ while the drill moves the store's paths.

In the lab, management reaches an appliance in-band, over the very tunnels the drill fails: a
read may stall or its session drop while the route moves. That is the drill working, not the
store failing; only a route that never moves fails the drill."""

from __future__ import annotations

import json

import pytest

from storestack.devices.errors import AuthenticationError, CommandTimeoutError
from storestack.inventory import load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent
from storestack.rollout.verify import StoreVerifier, expectation, failover_checks

HQ = "10.0.0.0/16"


class DrilledStore:
    """A store edge whose HQ route rides its primary link's tunnel until that link fails, and
    whose next `stalls` reads after each change of link raise `error` (the in-band session)."""

    def __init__(self, primary: str, backup: str, stalls: int, error: Exception) -> None:
        self.primary, self.backup = primary, backup
        self.up = True
        self.stalls, self.left, self.error = stalls, 0, error
        self.reads = 0

    # LinkSwitch
    def fail(self, store_id: str, link: str) -> None:
        self.up, self.left = False, self.stalls

    def restore(self, store_id: str, link: str) -> None:
        self.up, self.left = True, self.stalls

    def link_of(self, store_id: str, interface: str) -> str:
        return interface.removeprefix("tun-")

    def teaches_hq(self) -> bool:
        return True

    # BatchProbe
    def show(self, appliance: str, command: str) -> str:
        assert command == f"show ip route {HQ} json"
        self.reads += 1
        if self.left:
            self.left -= 1
            raise self.error
        link = self.primary if self.up else self.backup
        hop = {"interfaceName": f"tun-{link}", "fib": True}
        return json.dumps({HQ: [{"selected": True, "nexthops": [hop]}]})

    def show_many(self, appliance: str, commands: list[str]) -> list[str]:
        return [self.show(appliance, command) for command in commands]


def _drill(store: DrilledStore, timeout: float = 5.0) -> list[tuple[str, str, str]]:
    fleet = load_fleet(sample_chain_path())
    expect = expectation(fleet.store("nw-0001"), NetworkIntent(fleet))
    assert expect.primary is not None and expect.backups
    store.primary, store.backup = expect.primary.name, expect.backups[0].name
    platforms = {expect.edge: "frr", **{link.hub: "frr" for link in expect.links}}
    verifier = StoreVerifier(expect, store, platforms)
    return [(c.name, c.status, c.detail) for c in failover_checks(verifier, store, HQ, timeout=timeout)]


def test_a_read_that_stalls_while_the_link_fails_over_is_read_again_and_the_drill_passes() -> None:
    store = DrilledStore("", "", stalls=2, error=CommandTimeoutError("nw-0001-edge1: no prompt within the read timeout"))

    checks = _drill(store)

    assert [status for _, status, _ in checks] == ["passed", "passed"], checks
    assert store.reads >= 2 + 2 + 3  # the stalls after each change were read again


def test_a_route_that_never_moves_fails_the_drill_and_says_what_the_last_read_said() -> None:
    store = DrilledStore("", "", stalls=10**6, error=CommandTimeoutError("nw-0001-edge1: no prompt within the read timeout"))

    checks = _drill(store, timeout=0.6)

    (_, status, detail) = checks[0]
    assert status == "failed"
    assert "did not move" in detail and "no prompt within the read timeout" in detail


def test_a_refused_login_is_not_waited_out() -> None:
    store = DrilledStore("", "", stalls=1, error=AuthenticationError("nw-0001-edge1: authentication failed"))

    with pytest.raises(AuthenticationError):
        _drill(store)
