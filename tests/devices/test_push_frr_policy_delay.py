"""An FRR push that changes BGP policy checks and confirms it only once bgpd applied it.

bgpd applies a changed route-map, prefix list or community list to the routes its sessions hold
only when `bgp route-map delay-timer` (5 s) runs out. The push read the running config and the
health outputs, and confirmed the change (the commit-confirm timer's stop), within a round trip
of the apply: the checks saw the sessions before the policy took effect, and a policy change that
cuts the push's own path (a store's filter dropping HQ's routes) was confirmed before it did, so
the appliance's timer could no longer revert it. The push now waits the delay (and a second for
the route refresh it starts) after the apply, and after a rollback, before reading again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from storestack.devices import push as push_module
from storestack.devices.configdiff import compute_diff
from storestack.devices.intended import IntendedConfig
from storestack.devices.push import PushContext, PushOptions, _Run
from storestack.devices.report import DeviceResult
from storestack.devices.targets import ApplianceTarget

GOLDEN = Path(__file__).parent / "golden" / "frr"
# FRR's `bgp route-map delay-timer` default (bgpd/bgp_vty.c)
DELAY_TIMER_S = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class FakeFrrSession:
    """An FRR appliance that takes every line: each exchange takes 100 ms of the clock."""

    def __init__(self, clock: Clock, running: str) -> None:
        self.clock = clock
        self.running = running
        self.config_lines_sent = 0
        self.usable = True
        self.mode = None
        self.host_key = None
        self.applied_at: list[float] = []
        self.read_at: list[float] = []

    def running_and_listed(self, *more: str) -> tuple[str, frozenset[str] | None, list[str]]:
        self.clock.now += 0.1
        self.read_at.append(self.clock.now)
        return self.running, None, ["" for _ in more]

    def configure(self, lines: Sequence[str], **_: object) -> list[str]:
        self.clock.now += 0.1
        self.config_lines_sent += len(lines)
        self.running = self.next_running
        self.applied_at.append(self.clock.now)
        return []

    def mechanism(self, commands: Sequence[str], doing: str) -> list[str]:
        self.clock.now += 0.1
        return []

    def close(self) -> None:
        self.usable = False


def _push(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, running: str, intended: str) -> FakeFrrSession:
    clock = Clock()
    monkeypatch.setattr(push_module, "time", clock)
    target = ApplianceTarget(name="hq-hub1", role="hub", platform="frr", host="127.0.0.1")
    options = PushOptions(
        backup_root=tmp_path / "b",
        known_hosts=tmp_path / "k.json",
        secret_ledger=tmp_path / "s",
        verify_health=False,
        save=False,
        confirm_timeout=0,
    )
    run = _Run(target, IntendedConfig(intended), PushContext(options), None, DeviceResult.for_target(target))
    session = FakeFrrSession(clock, running)
    session.next_running = intended  # type: ignore[attr-defined]
    run.session = session  # type: ignore[assignment]
    run._cycle()
    assert run.result.outcome == "changed", run.result.error
    return session


def test_a_changed_prefix_list_is_verified_after_the_route_map_delay_timer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = (GOLDEN / "hub.cfg").read_text()
    # nw-0001's prefix list, which its two sessions' inbound route-maps match
    intended = running.replace(
        "ip prefix-list STORE-nw-0001 seq 5 permit 10.64.0.0/26",
        "ip prefix-list STORE-nw-0001 seq 5 permit 10.64.0.0/25",
    )
    session = _push(tmp_path, monkeypatch, running, intended)
    (applied,) = session.applied_at
    verify = [at for at in session.read_at if at > applied]
    assert verify and verify[0] - applied >= DELAY_TIMER_S


def test_a_change_of_no_bgp_policy_waits_for_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    running = (GOLDEN / "hub.cfg").read_text()
    intended = running.replace(" description dc core lan", " description dc core lan port", 1)
    session = _push(tmp_path, monkeypatch, running, intended)
    (applied,) = session.applied_at
    verify = [at for at in session.read_at if at > applied]
    assert verify and verify[0] - applied < 1.0


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # a route-map entry bound to the stores' peer group: every member's session
        ("route-map TO-STORES permit 10\n", "route-map TO-STORES permit 10\n set metric 10\n"),
        # a community list a store session's route-map matches
        ("standard RETURN-DEGRADED seq 5 permit 65000:911", "standard RETURN-DEGRADED seq 5 permit 65000:912"),
        # a session's binding
        ("  neighbor 10.0.0.1 route-map TO-DC out\n", ""),
    ],
)
def test_every_kind_of_bgp_policy_change_waits_for_the_timer(old: str, new: str) -> None:
    running = (GOLDEN / "hub.cfg").read_text()
    assert old in running
    diff = compute_diff(running, running.replace(old, new, 1), "frr")
    assert diff.remediation and diff.refresh == ()
    assert diff.policy_wait_s >= DELAY_TIMER_S
