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
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import TypeAlias

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


def make_before_break(before: NetworkIntent, after: NetworkIntent) -> FleetChangeOrder:
    """When each hub of a change from `before` to `after` is pushed."""
    first: list[str] = []
    last: list[str] = []
    for hub in after.fleet.hubs:
        held = hub_store_tunnels(before, hub) if hub in before.fleet.hubs else frozenset()
        (first if held <= hub_store_tunnels(after, hub) else last).append(hub)
    retired = [hub for hub in before.fleet.hubs if hub not in after.fleet.hubs]
    return FleetChangeOrder(tuple(first), tuple(last), tuple(retired))


def fleet_change_order(before: Fleet, after: Fleet) -> FleetChangeOrder:
    """`make_before_break` of the planned intents of two fleets: which hub a store pairs with is
    the inventory's, whatever the cloud outputs say of a tunnel's addresses."""
    return make_before_break(NetworkIntent(before), NetworkIntent(after))
