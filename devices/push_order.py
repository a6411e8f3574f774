"""The order a fleet change is pushed in so that no store loses a hub meanwhile: make before break.

A store's tunnel to a hub is up only while both ends hold the same tunnel, and the hubs a store
pairs with change when a hub is added or removed (`inventory/checks.py` `served_hubs`: the next
hub in the fleet's order is the backup). Pushing every hub first, as a push without the fleet
before the change does, drops the old backup's end of a store's tunnels before the store has its
new ones: until its own push the store has one hub left on each transport, and none where its
primary hub is the one retired.

From the network intents of the fleet before and after the change, `make_before_break` sorts
the hubs: those that keep every store tunnel they hold (a new hub, a hub that only gains
stores) go first, the stores next (each moves from its old hubs to its new ones, the new ends
already there), then the hubs that drop or change a store tunnel, once no store uses their old
end; a hub only the fleet before has is retired after the push.

A push of part of the fleet (`--store`, `--appliance`, `--region`, `--shard`) keeps that order
only if it holds both ends of every tunnel it moves: `selection_gaps` names the appliances a
selection needs beside it (a store moving to a hub this run does not push, a hub dropping the old
end of a store this run does not move), unless an earlier run of the same change pushed them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import TypeAlias

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
    store_needs: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)
    """Store id -> the hubs of the fleet after the change that gain or change a tunnel of the
    store: its move is made only once they are pushed too (with it, or in an earlier run)."""
    hub_needs: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)
    """Hub pushed after the stores -> the stores whose tunnel it drops or changes: they move first."""
    change_id: str = field(default="", compare=False)
    """The same for every push of the same change (the run journal's `change`)."""


def make_before_break(before: NetworkIntent, after: NetworkIntent) -> FleetChangeOrder:
    """When each hub of a change from `before` to `after` is pushed."""
    first: list[str] = []
    last: list[str] = []
    store_needs: dict[str, set[str]] = {}
    hub_needs: dict[str, frozenset[str]] = {}
    digest = hashlib.sha256()
    for hub in after.fleet.hubs:
        held = _store_tunnels(before, hub) if hub in before.fleet.hubs else {}
        holds = _store_tunnels(after, hub)
        moved = held.keys() ^ holds.keys()
        for key in moved:
            store_needs.setdefault((held | holds)[key], set()).add(hub)
        if held.keys() <= holds.keys():
            first.append(hub)
        else:
            last.append(hub)
            hub_needs[hub] = frozenset(held[key] for key in held.keys() - holds.keys())
        digest.update(repr((hub, sorted(map(repr, held)), sorted(map(repr, holds)))).encode())
    retired = [hub for hub in before.fleet.hubs if hub not in after.fleet.hubs]
    digest.update(repr(retired).encode())
    return FleetChangeOrder(
        tuple(first),
        tuple(last),
        tuple(retired),
        store_needs={store: frozenset(hubs) for store, hubs in store_needs.items()},
        hub_needs=hub_needs,
        change_id=digest.hexdigest()[:16],
    )


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
