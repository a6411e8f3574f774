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
from testsupport.push_runs import offline_run

from storestack.devices import push as push_module
from storestack.devices.configdiff import compute_diff
from storestack.devices.intended import IntendedConfig
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
    run = offline_run(target, IntendedConfig(intended), tmp_path)
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
        "ip prefix-list STORE-nw-0001 seq 101 permit 10.64.0.0/26",
        "ip prefix-list STORE-nw-0001 seq 101 permit 10.64.0.0/25",
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


def _first_lines(config: str) -> str:
    """What a fresh FRR appliance runs before its first push: the config's header only."""
    return "".join(line for line in config.splitlines(keepends=True)[:4] if not line.startswith(("router", " ")))


def test_a_first_push_binds_each_policy_it_adds_once_defined_and_waits_for_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A brand-new hub: every session and every route-map is new. bgpd binds `neighbor ...
    route-map` to a route-map that exists at once; sent before its route-map (FRR's display
    order), the session denied everything until the delay timer ran out, and the push waited it."""
    intended = (GOLDEN / "hub.cfg").read_text()
    running = _first_lines(intended)
    diff = compute_diff(running, intended, "frr")
    sent = [line.strip() for line in diff.remediation]
    bindings = [line for line in sent if line.startswith("neighbor ") and " route-map " in line]
    assert bindings
    for binding in bindings:
        name = binding.split(" route-map ")[1].split()[0]
        defined = next(i for i, line in enumerate(sent) if line.startswith(f"route-map {name} "))
        assert defined < sent.index(binding), binding
    session = _push(tmp_path, monkeypatch, running, intended)
    (applied,) = session.applied_at
    verify = [at for at in session.read_at if at > applied]
    assert verify and verify[0] - applied < 1.0


EDGE = """frr defaults traditional
hostname nw-0001-edge1
service integrated-vtysh-config
!
router bgp 65101
 no bgp ebgp-requires-policy
 neighbor 100.64.0.2 remote-as 65000
 !
 address-family ipv4 unicast
  network 10.64.1.0/24
 exit-address-family
exit
!
route-map BACKUP-IN permit 10
 set local-preference 50
exit
!
end
"""
LTE_SESSION = (" neighbor 100.64.0.2 remote-as 65000\n", " neighbor 100.64.0.2 remote-as 65000\n neighbor 100.64.0.6 remote-as 65000\n")
LTE_BINDING = ("  network 10.64.1.0/24\n", "  network 10.64.1.0/24\n  neighbor 100.64.0.6 route-map BACKUP-IN in\n")


def test_a_new_session_bound_to_a_route_map_the_appliance_holds_unchanged_waits_for_nothing() -> None:
    intended = EDGE.replace(*LTE_SESSION).replace(*LTE_BINDING)
    diff = compute_diff(EDGE, intended, "frr")
    assert diff.remediation and diff.policy_wait_s == 0.0


def test_a_new_session_bound_to_a_route_map_the_change_edits_in_place_waits_for_the_timer() -> None:
    intended = EDGE.replace(*LTE_SESSION).replace(*LTE_BINDING).replace("local-preference 50", "local-preference 60")
    diff = compute_diff(EDGE, intended, "frr")
    assert diff.policy_wait_s >= DELAY_TIMER_S


def test_removing_a_session_with_its_route_map_waits_for_nothing() -> None:
    running = EDGE.replace(*LTE_SESSION).replace(*LTE_BINDING)
    intended = EDGE.replace("route-map BACKUP-IN permit 10\n set local-preference 50\nexit\n!\n", "")
    diff = compute_diff(running, intended, "frr")
    assert diff.remediation and diff.policy_wait_s == 0.0


def _without_store_session(config: str, neighbor: str, route_map: str) -> str:
    """The hub before a store's session: no `neighbor` lines for it, no route-map of its own."""
    kept: list[str] = []
    skipping = False
    for line in config.splitlines(keepends=True):
        if line.startswith("route-map "):
            skipping = line.startswith(f"route-map {route_map} ")
        elif not line.startswith(" "):
            skipping = False
        if skipping or f"neighbor {neighbor} " in line:
            continue
        kept.append(line)
    return "".join(kept)


def test_a_hubs_new_store_session_bound_to_its_own_new_route_map_waits_for_nothing() -> None:
    """A store added to a hub: a new session in the stores' peer group, bound to the store's new
    route-map (which matches the store's prefix list the hub holds unchanged). The sessions the
    hub holds keep their policy: nothing the push reads can change when the timer runs out."""
    intended = (GOLDEN / "hub.cfg").read_text()
    running = _without_store_session(intended, "100.64.0.1", "FROM-nw-0001-wan1")
    assert "FROM-nw-0001-wan1" not in running and "STORE-nw-0001" in running
    diff = compute_diff(running, intended, "frr")
    sent = [line.strip() for line in diff.remediation]
    assert sent.index("route-map FROM-nw-0001-wan1 permit 10") < sent.index(
        "neighbor 100.64.0.1 route-map FROM-nw-0001-wan1 in"
    )
    assert diff.policy_wait_s == 0.0


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("standard RETURN-DEGRADED seq 5 permit 65000:911", "standard RETURN-DEGRADED seq 5 permit 65000:912"),
        ("route-map FROM-nw-0001-wan1 permit 10", "route-map FROM-nw-0001-wan1 deny 10"),
    ],
)
def test_a_policy_entry_replaced_at_its_sequence_number_is_deleted_before_the_new_one_goes_in(
    old: str, new: str
) -> None:
    """FRR deletes a community-list or route-map entry by its sequence number: the old entry's
    `no` sent after the new one would delete the new one, and the change and its rollback leave
    the entry missing."""
    hub = (GOLDEN / "hub.cfg").read_text()
    diff = compute_diff(hub, hub.replace(old, new, 1), "frr")
    for sent, (gone, added) in ((diff.remediation, (old, new)), (diff.rollback, (new, old))):
        lines = [line.strip() for line in sent]
        deletion = next(i for i, line in enumerate(lines) if line.startswith("no ") and line.endswith(gone))
        addition = next(i for i, line in enumerate(lines) if not line.startswith("no ") and line.endswith(added))
        assert deletion < addition
