"""End-to-end checks of a rolled-out store, from the appliances' own point of view.

- each of the store's WAN links has its BGP session Established, seen from the hub it ends on;
- the store's prefixes are visible on every hub it peers with (received over that link);
- (lab) failover: with the primary link down the store reaches HQ over a backup link (LTE), and
  when it comes back the primary carries the traffic again.

The checks read show commands through a `Probe` (an SSH session per appliance in a rollout),
so they work the same against the lab and real appliances. BGP state is read with FRR's JSON
commands; appliances of other platforms, and appliances without a data plane (emulated in the
lab), are reported as skipped, never as passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel

from storestack.common.polling import backoff, sleep_before_next
from storestack.devices.errors import AuthenticationError, ConnectError, HostKeyError, SessionError
from storestack.devices.health import BGP_SUMMARY, FIRST_POLL, json_object, parse_bgp_summary
from storestack.devices.platforms import PLATFORMS
from storestack.inventory import Fleet, ResolvedStore
from storestack.network.build import NetworkIntent

CheckStatus = Literal["passed", "failed", "skipped"]
JSON_PLATFORMS = frozenset(name for name, platform in PLATFORMS.items() if platform.json_show_commands)


class Check(BaseModel):
    name: str
    status: CheckStatus
    detail: str = ""


class Probe(Protocol):
    def show(self, appliance: str, command: str) -> str: ...


class BatchProbe(Probe, Protocol):
    def show_many(self, appliance: str, commands: Sequence[str]) -> list[str]: ...


# How often, at most, the checks look again while they wait (BGP sessions, prefixes, the
# failover route). A session or a route changes at a moment nobody can predict: the polls start
# at FIRST_POLL and back off to this, so a quick change is seen quickly and a slow one costs few
# reads. A poll is one exchange with an appliance over an open session, and the batch's stores
# share each hub read (`HubBgpReader.max_age`).
POLL_SECONDS = 0.25


def routes_command(address: str) -> str:
    return f"show bgp ipv4 unicast neighbors {address} routes json"


@dataclass(frozen=True)
class HubBgpState:
    """One hub's BGP state as read at one moment: peer states and prefixes received per peer."""

    peers: dict[str, str]
    received: dict[str, set[str]]
    read_at: float


class HubBgpReader:
    """BGP state of the hubs for every store of a batch, read together.

    One exchange per hub and poll (`show bgp summary json` and the received routes of every
    batch store's peer address on that hub, in one write) serves every store that asks within
    `max_age` seconds; a store that asks while another's read of the hub is in flight waits for
    it instead of reading again.
    """

    def __init__(self, probe: BatchProbe, *, max_age: float = 0.1) -> None:
        self.probe = probe
        self.max_age = max_age
        self._addresses: dict[str, set[str]] = {}
        self._states: dict[str, HubBgpState] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def expect(self, expectations: Iterable[StoreExpectation]) -> None:
        """Register the batch's stores: their peer addresses are read with every poll of their hubs."""
        with self._guard:
            for expect in expectations:
                for link in expect.links:
                    self._addresses.setdefault(link.hub, set()).add(link.store_address)

    def state(self, hub: str, addresses: Iterable[str]) -> HubBgpState:
        with self._guard:
            wanted = self._addresses.setdefault(hub, set())
            wanted.update(addresses)
            lock = self._locks.setdefault(hub, threading.Lock())
        with lock:
            current = self._states.get(hub)
            if current is not None and time.monotonic() - current.read_at <= self.max_age:
                return current
            with self._guard:
                peers = sorted(self._addresses[hub])
            outputs = self.probe.show_many(hub, [BGP_SUMMARY, *(routes_command(peer) for peer in peers)])
            state = HubBgpState(
                peers=parse_bgp_summary(outputs[0]),
                received={peer: received_prefixes(out) for peer, out in zip(peers, outputs[1:], strict=True)},
                read_at=time.monotonic(),
            )
            self._states[hub] = state
            return state


@dataclass(frozen=True)
class LinkExpectation:
    name: str
    hub: str
    store_address: str
    hub_address: str
    primary: bool
    cellular: bool


@dataclass(frozen=True)
class StoreExpectation:
    """What a live store looks like from its hubs: one session per link, its prefixes on each hub."""

    store_id: str
    edge: str
    edge_platform: str
    links: tuple[LinkExpectation, ...]
    prefixes: tuple[str, ...]

    @property
    def primary(self) -> LinkExpectation | None:
        return next((link for link in self.links if link.primary), self.links[0] if self.links else None)

    @property
    def backups(self) -> list[LinkExpectation]:
        primary = self.primary
        return [link for link in self.links if link != primary]


def expectation(store: ResolvedStore, intent: NetworkIntent) -> StoreExpectation:
    """`store` as its hubs should see it. Its primary link is the one its routes prefer (the
    intent's `transport_ranks`: the highest local preference, then the fewest prepends), which
    need not be the first the inventory lists (a store whose strictest application prefers 5G to
    the LTE it lists first)."""
    ranks = intent.transport_ranks(store)
    preferred = min(ranks, key=lambda name: (-ranks[name][0], ranks[name][1]), default=None)
    return StoreExpectation(
        store_id=store.id,
        edge=store.appliances[0].hostname if store.appliances else "",
        edge_platform=store.appliances[0].platform if store.appliances else "",
        links=tuple(
            LinkExpectation(
                name=link.name,
                hub=link.hub,
                store_address=str(link.overlay.ip),
                hub_address=str(link.overlay_peer),
                primary=link.name == preferred,
                cellular=link.cellular,
            )
            for link in store.wan
        ),
        prefixes=tuple(str(prefix) for prefix in store.advertised_prefixes),
    )


def received_prefixes(output: str) -> set[str]:
    """Prefixes in `show bgp ipv4 unicast neighbors X routes json` (accepted from that neighbour)."""
    routes = json_object(output).get("routes") or {}
    return set(routes) if isinstance(routes, dict) else set()


def route_interfaces(output: str, prefix: str) -> set[str]:
    """Interfaces of the selected, installed route to `prefix` in `show ip route P json`."""
    routes = json_object(output).get(prefix) or []
    return {
        str(hop.get("interfaceName", ""))
        for route in routes
        if isinstance(route, dict) and route.get("selected")
        for hop in route.get("nexthops", [])
        if isinstance(hop, dict) and hop.get("fib")
    }


class StoreVerifier:
    """The checks of one store against the probe; `platforms` maps appliance → platform.

    `hubs` is the batch's shared hub reader; without one the store reads its hubs alone.
    """

    def __init__(
        self,
        expect: StoreExpectation,
        probe: BatchProbe,
        platforms: dict[str, str],
        *,
        no_data_plane: frozenset[str] = frozenset(),
        hubs: HubBgpReader | None = None,
    ) -> None:
        self.expect = expect
        self.probe = probe
        self.platforms = platforms
        self.no_data_plane = no_data_plane
        self.hubs = hubs or HubBgpReader(probe, max_age=0.0)

    def _skip_reason(self, hub: str) -> str | None:
        if self.expect.edge in self.no_data_plane:
            return f"{self.expect.edge} is emulated (no data plane)"
        if hub in self.no_data_plane:
            return f"{hub} is emulated (no data plane)"
        if self.platforms.get(hub) not in JSON_PLATFORMS:
            return f"reading BGP state is not supported on {self.platforms.get(hub)} hubs"
        return None

    def bgp_checks(self) -> list[Check]:
        checks: list[Check] = []
        states: dict[str, HubBgpState] = {}
        for link in self.expect.links:
            session = f"BGP {link.hub} ↔ {self.expect.store_id} {link.name} ({link.store_address})"
            prefixes = f"prefixes of {self.expect.store_id} on {link.hub} via {link.name}"
            reason = self._skip_reason(link.hub)
            if reason is not None:
                checks += [Check(name=session, status="skipped", detail=reason)]
                checks += [Check(name=prefixes, status="skipped", detail=reason)]
                continue
            if link.hub not in states:
                mine = [other.store_address for other in self.expect.links if other.hub == link.hub]
                states[link.hub] = self.hubs.state(link.hub, mine)
            state = states[link.hub].peers.get(link.store_address, "not configured")
            checks.append(
                Check(name=session, status="passed" if state == "Established" else "failed", detail=state)
            )
            if state != "Established":
                checks.append(Check(name=prefixes, status="failed", detail="no session"))
                continue
            seen = states[link.hub].received.get(link.store_address, set())
            missing = sorted(set(self.expect.prefixes) - seen)
            checks.append(
                Check(
                    name=prefixes,
                    status="failed" if missing else "passed",
                    detail=f"missing {', '.join(missing)}" if missing else f"{len(self.expect.prefixes)} prefixes",
                )
            )
        return checks

    def hq_route_interfaces(self, hq_prefix: str) -> set[str]:
        return route_interfaces(self.probe.show(self.expect.edge, f"show ip route {hq_prefix} json"), hq_prefix)


def wait_for_checks(
    run: Callable[[], list[Check]],
    *,
    timeout: float,
    poll: float = POLL_SECONDS,
    on_wait: Callable[[list[Check]], None] | None = None,
) -> list[Check]:
    """Run the checks until none fails or `timeout` passes; the last results are returned."""
    deadline = time.monotonic() + timeout
    waits = backoff(FIRST_POLL, poll)
    while True:
        checks = run()
        if not any(check.status == "failed" for check in checks) or time.monotonic() >= deadline:
            return checks
        if on_wait is not None:
            on_wait(checks)
        sleep_before_next(waits, deadline)


def wait_until(condition: Callable[[], bool], *, timeout: float, poll: float = POLL_SECONDS) -> float | None:
    """Seconds until `condition` held, or None when it did not within `timeout`."""
    started = time.monotonic()
    waits = backoff(FIRST_POLL, poll)
    while True:
        if condition():
            return round(time.monotonic() - started, 2)
        if time.monotonic() - started >= timeout:
            return None
        sleep_before_next(waits, started + timeout)


class LinkSwitch(Protocol):
    """Takes a store's WAN link down and up again (the lab's veth)."""

    def fail(self, store_id: str, link: str) -> None: ...
    def restore(self, store_id: str, link: str) -> None: ...
    def link_of(self, store_id: str, interface: str) -> str:
        """The WAN link an interface the store routes over rides on (a tunnel's transport)."""
        ...

    def teaches_hq(self) -> bool:
        """Whether the hubs learn HQ's routes (and so announce HQ to the stores)."""
        ...


def failover_checks(
    verifier: StoreVerifier,
    switch: LinkSwitch,
    hq_prefix: str | None,
    *,
    timeout: float,
    on_progress: Callable[[str], None] | None = None,
) -> list[Check]:
    """Fail the primary link: a backup must carry the store's route to HQ; restore it: the primary again."""
    expect = verifier.expect
    primary = expect.primary
    notify = on_progress or (lambda _text: None)
    name = f"failover {expect.store_id}"
    if primary is None or not expect.backups:
        return [Check(name=name, status="skipped", detail="the store has a single WAN link")]
    if hq_prefix is None:
        return [Check(name=name, status="skipped", detail="the lab runs no DC core: no route to HQ to drill")]
    if expect.edge in verifier.no_data_plane or primary.hub in verifier.no_data_plane:
        return [Check(name=name, status="skipped", detail=f"{expect.edge} is emulated (no data plane)")]
    if verifier.platforms.get(expect.edge) not in JSON_PLATFORMS:
        return [Check(name=name, status="skipped", detail=f"not supported on {expect.edge_platform}")]
    backups = {link.name for link in expect.backups}
    unread: list[str] = []  # the last read that failed while the drill moved the store's paths

    def via(links: set[str]) -> Callable[[], bool]:
        def routed() -> bool:
            try:
                interfaces = verifier.hq_route_interfaces(hq_prefix)
            except (HostKeyError, AuthenticationError):
                raise
            except (SessionError, ConnectError) as exc:
                # In-band management rides the very tunnels the drill fails: a session that
                # stalls or drops while the paths move is read again on a new one, until the
                # drill's timeout; it fails the drill only if the route never moves.
                unread[:] = [str(exc)]
                return False
            unread.clear()
            # By the link under the route's interface: a tunnel device rides on a transport.
            current = {switch.link_of(expect.store_id, i) for i in interfaces}
            return bool(current) and current <= links

        return routed

    def unread_note() -> str:
        return f" (last read: {unread[0]})" if unread else ""

    if wait_until(via({primary.name}), timeout=timeout) is None:
        return [
            Check(
                name=name,
                status="failed",
                detail=f"before the drill, {hq_prefix} is not routed over the primary link {primary.name}{unread_note()}",
            )
        ]
    notify(f"failing {primary.name}")
    switch.fail(expect.store_id, primary.name)
    try:
        took_over = wait_until(via(backups), timeout=timeout)
    finally:
        notify(f"restoring {primary.name}")
        switch.restore(expect.store_id, primary.name)
    checks = [
        Check(
            name=f"{name}: {primary.name} down, backup carries HQ traffic",
            status="passed" if took_over is not None else "failed",
            detail=(
                f"{'/'.join(sorted(backups))} took over in {took_over:.1f} s"
                if took_over is not None
                else f"{hq_prefix} did not move to {'/'.join(sorted(backups))} within {timeout:g} s{unread_note()}"
            ),
        )
    ]
    notify(f"waiting for {primary.name} to carry traffic again")
    back = wait_until(via({primary.name}), timeout=timeout)
    checks.append(
        Check(
            name=f"{name}: {primary.name} restored, primary carries HQ traffic again",
            status="passed" if back is not None else "failed",
            detail=(
                f"back on {primary.name} in {back:.1f} s"
                if back is not None
                else f"{hq_prefix} still not on {primary.name} after {timeout:g} s{unread_note()}"
            ),
        )
    )
    return checks


def hq_prefix(fleet: Fleet) -> str:
    """The HQ network the hubs announce to every store while they learn it from the DC core."""
    return str(fleet.spec.ip_plan.hq[0])


def drill_prefix(fleet: Fleet, switch: LinkSwitch) -> str | None:
    """What failover is judged by: the route to HQ, which every hub announces to every store over
    each of its links while it learns HQ from the DC core. None in a lab without a DC core: its
    hubs then announce neither HQ nor a default route (a hub gives its stores a default only
    while it holds the DC's), so no route leads the same way over both links."""
    return hq_prefix(fleet) if switch.teaches_hq() else None


def summarise_checks(checks: Sequence[Check]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for check in checks:
        counts[check.status] += 1
    return counts
