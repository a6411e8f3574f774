"""The order a fleet change is pushed in so that no store loses a hub meanwhile: make before break.

A store's tunnel to a hub is up only while both ends hold the same tunnel, and the hubs a store
pairs with change when a hub is added or removed (`inventory/checks.py` `served_hubs`: the next
hub in the fleet's order is the backup). Pushing every hub first, as a push without the fleet
before the change does, drops the old backup's end of a store's tunnels before the store has its
new ones: until its own push the store has one hub left on each transport, and none where its
primary hub is the one retired.

From the network intents of the fleet before and after the change, `make_before_break` sorts
the hubs: those that keep every store tunnel and hub-hub session they hold (a new hub, a hub that
only gains stores) go first, the stores next (each moves from its old hubs to its new ones, the
new ends already there), then the hubs that drop or change a store tunnel or a hub-hub session,
once no store uses their old end; a hub only the fleet before has is retired after the push. A
hub that drops something and gains something too (`held_over`: on removing hq-hub2 of three,
hq-hub3 gains the backup tunnels of hq-hub1's stores) is pushed twice: first, with the hubs,
what it holds before and after the change together (`network/transition.py` `held_over`), so the
stores moving to it find their new end there; its own config last. So is a hub that keeps a store
whose other hub the change moves (adding hq-hub3, hq-hub2's stores move their backup from hq-hub1
to hq-hub3): the hub hands that store's return flows to its other hub (`ReturnPartner`), which is
hq-hub1 until the store's push and hq-hub3 from then on, so its first config hands them to both
and only the one with a live tunnel to the store forwards them (`devices/frr.py`
`hub_partner_context`), its own config after the stores to the new one alone. A kept hub whose own
addresses the change moves (its DC core LAN address is positional unless the inventory states
it: removing a hub gives the next one its address) is refused: the hub that goes keeps that
address until the push is done, and the DC core's and the other hubs' sessions name the old one.

A push of part of the fleet (`--store`, `--appliance`, `--region`, `--shard`) keeps that order
only if it holds both ends of every tunnel it moves: `selection_gaps` names the appliances a
selection needs beside it (a store moving to a hub this run does not push, a hub dropping the old
end of a store this run does not move), unless an earlier run of the same change pushed them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address
from typing import TypeAlias

from storestack.common.platforms import HUB_RETURN_PARTNERS
from storestack.devices.errors import PushConfigError
from storestack.devices.targets import ApplianceTarget
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent
from storestack.network.model import Tunnel

# A store-hub tunnel as both ends must hold it for it to come up: its id (store, link, hub),
# the store's and the hub's inside addresses and the store link's outside address.
TunnelKey: TypeAlias = tuple[str, IPv4Address, IPv4Address, IPv4Address | None]


def hub_end_key(tunnel: Tunnel) -> TunnelKey:
    """A hub's end of a store tunnel, as `TunnelKey`."""
    assert tunnel.local_inside is not None and tunnel.peer_inside is not None
    return (tunnel.id, tunnel.peer_inside, tunnel.local_inside.ip, tunnel.peer_outside)


def store_end_key(tunnel: Tunnel) -> TunnelKey:
    """A store's end of a hub tunnel, as `TunnelKey`."""
    assert tunnel.local_inside is not None and tunnel.peer_inside is not None
    return (tunnel.id, tunnel.local_inside.ip, tunnel.peer_inside, tunnel.local_outside)


def hub_store_tunnels(intent: NetworkIntent, hub: str) -> frozenset[TunnelKey]:
    """The store tunnels `hub` holds in `intent`."""
    return frozenset(hub_end_key(t) for t in intent.hub(hub).tunnels if t.kind == "store-hub")


@dataclass(frozen=True)
class FleetChangeOrder:
    """The hubs of a fleet change, by when they are pushed (`make_before_break`)."""

    before_stores: tuple[str, ...]
    """Hubs pushed before the stores: they keep every store tunnel they hold (a new hub too)."""
    after_stores: tuple[str, ...]
    """Hubs pushed after the stores: they drop or change a store tunnel a store uses until its push."""
    retired: tuple[str, ...]
    """Hubs only the fleet before the change has: to decommission after the push, not before."""
    held_over: tuple[str, ...] = ()
    """Hubs of `after_stores` that also gain a store tunnel or a hub-hub session: pushed first
    with the hubs too, holding what they hold before and after the change (`held_over`)."""
    store_needs: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)
    """Store id -> the hubs of the fleet after the change that gain or change a tunnel of the
    store: its move is made only once they are pushed too (with it, or in an earlier run)."""
    hub_needs: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)
    """Hub pushed after the stores -> the stores whose tunnel it drops or changes, and the stores
    of a hub it drops its hub-hub session with: they move first."""
    change_id: str = field(default="", compare=False)
    """The same for every push of the same change (the run journal's `change`)."""

    def without_union_of(self, done: Collection[str]) -> FleetChangeOrder:
        """The order with no first push for the hubs an earlier run of the change left in their
        config after it (`done`): their first config would only add back what they dropped."""
        return replace(self, held_over=tuple(hub for hub in self.held_over if hub not in done))


def make_before_break(before: NetworkIntent, after: NetworkIntent) -> FleetChangeOrder:
    """When each hub of a change from `before` to `after` is pushed."""
    first: list[str] = []
    last: list[str] = []
    store_needs: dict[str, set[str]] = {}
    hub_needs: dict[str, frozenset[str]] = {}
    digest = hashlib.sha256()
    union: list[str] = []
    _refuse_moved_addresses(before, after)
    for hub in after.fleet.hubs:
        kept = hub in before.fleet.hubs
        held = _store_tunnels(before, hub) if kept else {}
        holds = _store_tunnels(after, hub)
        moved = held.keys() ^ holds.keys()
        for key in moved:
            store_needs.setdefault((held | holds)[key], set()).add(hub)
        peers, was = _hub_peers(after, hub), _hub_peers(before, hub) if kept else frozenset()
        # The stores it keeps whose other hub (its return partner for them) the change moves:
        # until a store's own push its flows pass the hub it leaves, then the one it moves to
        repartnered = _repartnered(before, after, hub) if kept else frozenset()
        for store in repartnered:
            store_needs.setdefault(store, set()).add(hub)
        if held.keys() <= holds.keys() and was <= peers and not repartnered:
            first.append(hub)
        else:
            last.append(hub)
            # The stores whose tunnel it drops or changes, those still using a hub it drops its
            # session with (one the fleet after has not: their cloud flows and return traffic
            # cross that session until they have moved off it), and those whose partner it moves.
            hub_needs[hub] = (
                frozenset(held[key] for key in held.keys() - holds.keys())
                | frozenset(store.id for peer in was - peers for store in before.served_stores(peer))
                | repartnered
            )
            if {key[0] for key in holds} - {key[0] for key in held} or peers - was or repartnered:
                union.append(hub)
        digest.update(
            repr((hub, sorted(map(repr, held)), sorted(map(repr, holds)), sorted(was), sorted(peers), sorted(repartnered))).encode()
        )
    retired = [hub for hub in before.fleet.hubs if hub not in after.fleet.hubs]
    digest.update(repr(retired).encode())
    return FleetChangeOrder(
        tuple(first),
        tuple(last),
        tuple(retired),
        held_over=tuple(union),
        store_needs={store: frozenset(hubs) for store, hubs in store_needs.items()},
        hub_needs=hub_needs,
        change_id=digest.hexdigest()[:16],
    )


def _hub_peers(intent: NetworkIntent, hub: str) -> frozenset[str]:
    """The hubs `hub` holds a hub-hub session with in `intent`."""
    return frozenset(s.peer for s in intent.hub(hub).sessions if s.kind == "hub-hub")


def _repartnered(before: NetworkIntent, after: NetworkIntent, hub: str) -> frozenset[str]:
    """The stores `hub` shares with another hub in both intents whose other hub (`ReturnPartner`)
    the change moves: pushed once, either config hands their flows to a hub the store has no
    tunnel to for part of the push (the one it leaves, from its push on; the one it moves to,
    until then). Pushed twice, the first config (`held_over`) hands them to both. None on a hub
    whose platform hands nothing to a partner (`HUB_RETURN_PARTNERS`)."""
    if after.fleet.hubs[hub].platform not in HUB_RETURN_PARTNERS:
        return frozenset()
    partners = {
        when: {store: partner.hostname for partner in intent.hub(hub).return_partners for store in partner.stores}
        for when, intent in (("before", before), ("after", after))
    }
    return frozenset(
        store for store, other in partners["before"].items() if partners["after"].get(store, other) != other
    )


def _refuse_moved_addresses(before: NetworkIntent, after: NetworkIntent) -> None:
    """Refuse (PushConfigError) a change that moves a kept hub's own address: no push order
    keeps its sessions (and the address the hub that goes still holds) whole."""
    moved = []
    for name, hub in after.fleet.hubs.items():
        old = before.fleet.hubs.get(name)
        if old is None:
            continue
        for label, was, now in (
            ("dc_address", old.dc_address, hub.dc_address),
            ("loopback", old.loopback, hub.loopback),
            ("public_address", old.public_address, hub.public_address),
        ):
            if was != now:
                taken = [other for other, o in before.fleet.hubs.items() if other != name and now in (o.dc_address, o.loopback)]
                held = f", which {taken[0]} holds until it is retired" if taken else ""
                hint = f" (state `{label}: {was}` for it in fleet.yaml)" if label != "loopback" else ""
                moved.append(f"{name} {label} {was} -> {now}{held}{hint}")
        moved += _moved_cloud_tunnels(before, after, name)
    if moved:
        raise PushConfigError(
            "the change moves the own addresses of hubs it keeps, which no push order makes before it "
            "breaks (their DC core and hub-hub sessions name them): " + "; ".join(moved),
            field="--fleet-before",
        )


def _moved_cloud_tunnels(before: NetworkIntent, after: NetworkIntent, hub: str) -> list[str]:
    """A kept hub's cloud tunnels whose inside /30 the change moves: the cloud stack replaces
    their VPN connection (a new TunnelInsideCidr), which no hub push makes before it breaks. IPAM
    pins the slots they are numbered by; only a lock not carried from the fleet before (or one
    written before slots) lets them move."""
    was = {t.id: t.local_inside for t in before.hub_cloud_tunnels(hub)}
    return [
        f"{hub} cloud tunnel {t.id} inside {was[t.id]} -> {t.local_inside} (commit the fleet before's "
        "allocations.yaml, written with `inventory validate --write-lock`, with the change: it pins "
        "the hubs' cloud slots)"
        for t in after.hub_cloud_tunnels(hub)
        if t.id in was and was[t.id] != t.local_inside
    ]


def _store_tunnels(intent: NetworkIntent, hub: str) -> dict[TunnelKey, str]:
    """The store tunnels `hub` holds in `intent`, each with its store's id."""
    return {hub_end_key(t): t.peer for t in intent.hub(hub).tunnels if t.kind == "store-hub"}


def store_appliances(targets: Iterable[ApplianceTarget]) -> dict[str, list[str]]:
    """Store id -> the names of its appliances among `targets`."""
    found: dict[str, list[str]] = {}
    for target in targets:
        if target.store_id is not None and target.role != "hub":
            found.setdefault(target.store_id, []).append(target.name)
    return found


def check_selection(
    order: FleetChangeOrder, every: Iterable[ApplianceTarget], selected: Collection[str], done: Collection[str]
) -> None:
    """Refuse (PushConfigError), before any appliance is reached, a push of `selected` out of
    `every` appliance that would move a store to or off a hub without both ends (`selection_gaps`)."""
    needed = selection_gaps(order, store_appliances(every), selected, done)
    if needed:
        raise PushConfigError(
            "the selection pushes part of a fleet change without both ends of the tunnels it moves: "
            f"it also needs {', '.join(needed)} (select them too, or push them first)"
        )


def selection_gaps(
    order: FleetChangeOrder,
    store_appliances: Mapping[str, Collection[str]],
    selected: Collection[str],
    done: Collection[str] = (),
) -> list[str]:
    """The appliances a push of `selected` (appliance names; a hub's is its hostname) needs beside
    it to keep the change make before break, none of them `done` (pushed ok in an earlier run of
    the same change): the hubs the selected stores move to or off, the stores whose tunnels a
    selected hub pushed after the stores drops or changes, and in turn what those need.
    `store_appliances`: store id -> its appliances."""
    done = set(done)
    picked = set(selected)
    pushed = set(picked)  # grows by what the run needs, until that needs nothing more
    while True:
        needed: set[str] = set()
        for store, appliances in store_appliances.items():
            if pushed.intersection(appliances):
                needed.update(order.store_needs.get(store, ()))
        for hub, stores in order.hub_needs.items():
            if hub in pushed:
                needed.update(name for store in stores for name in store_appliances.get(store, ()))
        needed -= done
        if needed <= pushed:
            return sorted(pushed - picked)
        pushed |= needed


def fleet_change_order(before: Fleet, after: Fleet) -> FleetChangeOrder:
    """`make_before_break` of the planned intents of two fleets: which hub a store pairs with is
    the inventory's, whatever the cloud outputs say of a tunnel's addresses."""
    return make_before_break(NetworkIntent(before), NetworkIntent(after))
