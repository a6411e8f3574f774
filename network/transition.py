"""A hub's intent while a fleet change is pushed: what it holds after the change and, kept until
the stores have moved, what it held before (make before break).

A hub added or removed re-pairs stores (`inventory/checks.py` `served_hubs`), and a hub can both
gain and drop: on removing hq-hub2 of three, hq-hub3 gains the backup tunnels of hq-hub1's stores
and changes those of the stores moved off hq-hub2, hq-hub1 gains the moved stores' and both drop
their hub-hub session with hq-hub2. Pushed once, after the stores (it drops something a store
still uses until its push), such a hub would give the stores moving to it their new end only
then; pushed once, before them, it would cut what they still use. So it is pushed twice
(`devices/push_order.py` `make_before_break`): first with `held_over`, the union of the two
intents: its intent before the change with every store tunnel and hub-hub session it gains
added, nothing taken away or changed; then with its own intent, after the stores.

`ChangeIntent` is the fleet after the change whose `hub()` is that union, so the one view builder
and the one template of each platform render it (`devices/render.py` `render_change_hubs`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TypeVar

from storestack.inventory.fleet import Fleet, ResolvedHub
from storestack.network.build import NetworkIntent
from storestack.network.model import (
    HubBeacon,
    HubIntent,
    ReturnPartner,
)
from storestack.network.outputs import CoreCloudOutputs, StoreCloudOutputs

_T = TypeVar("_T")


def held_over(before: HubIntent, after: HubIntent) -> HubIntent:
    """`before` with what `after` adds: the store tunnels and the hub-hub sessions only `after`
    holds, with their BGP sessions, their place in what the hub takes in from the stores
    (`StoreForwarding.control` and `own`) and their return partners, and the loopbacks of the
    stores it gains among the routes it passes to the other hubs only while it holds the DC core
    (`HubBeacon.stores`, appended: no entry it holds is renumbered). Nothing `before` holds is
    dropped or changed, and it keeps its order, so no filter, partner table or session the hub
    holds is renumbered by the first push: a store tunnel `after` holds with other addresses (a
    store re-homed to the hub) stays as the store uses it until its own push, and the cloud
    tunnels, the DC core's sessions and every limit change in the hub's last push."""
    tunnels = _store_kept(before.tunnels, after.tunnels, lambda t: t.id if t.kind == "store-hub" else None)
    store_sessions = _store_kept(before.sessions, after.sessions, lambda s: s.tunnel if s.kind == "store-hub" else None)
    hub_sessions = _store_kept(before.sessions, after.sessions, lambda s: s.peer if s.kind == "hub-hub" else None)
    held = before.store_forwarding
    forwarding = after.store_forwarding
    return dataclasses.replace(
        before,
        tunnels=(*tunnels, *(t for t in before.tunnels if t.kind != "store-hub")),
        sessions=(
            *store_sessions,
            *hub_sessions,
            *(s for s in before.sessions if s.kind not in ("store-hub", "hub-hub")),
        ),
        store_forwarding=dataclasses.replace(
            held,
            control=_store_kept(held.control, forwarding.control, lambda c: c.tunnel),
            own=_store_kept(held.own, forwarding.own, lambda o: o.store),
        ),
        return_partners=_partners(before.return_partners, after.return_partners),
        beacon=(
            before.beacon
            if before.beacon is None or after.beacon is None
            else dataclasses.replace(before.beacon, stores=tuple(dict.fromkeys((*before.beacon.stores, *after.beacon.stores))))
        ),
    )


def _store_kept(before: tuple[_T, ...], after: tuple[_T, ...], key: Callable[[_T], str | None]) -> tuple[_T, ...]:
    """The items of `before` that `key` names (None: not of the kind), then those of `after` it
    names that `before` has none of: both, the `before` form of each."""
    held = [item for item in before if key(item) is not None]
    names = {key(item) for item in held}
    return (*held, *(item for item in after if (name := key(item)) is not None and name not in names))


def _partners(before: tuple[ReturnPartner, ...], after: tuple[ReturnPartner, ...]) -> tuple[ReturnPartner, ...]:
    """The return partners of both intents, one per hub, in `before`'s order then `after`'s new
    ones: a partner of both with its stores and their addresses merged."""
    merged = {partner.hostname: partner for partner in before}
    for partner in after:
        held = merged.get(partner.hostname)
        merged[partner.hostname] = partner if held is None else dataclasses.replace(
            held,
            stores=tuple(dict.fromkeys((*held.stores, *partner.stores))),
            destinations=tuple(dict.fromkeys((*held.destinations, *partner.destinations))),
        )
    return tuple(merged.values())


def hub_items(intent: HubIntent) -> frozenset[tuple[str, str]]:
    """What a hub pairs with, by name: its store tunnels' ids and its hub-hub sessions' peers. A
    hub whose `held_over` intent pairs with more than its intent before the change gains
    something before the stores move."""
    return frozenset(
        [("store-hub", t.id) for t in intent.tunnels if t.kind == "store-hub"]
        + [("hub-hub", s.peer) for s in intent.sessions if s.kind == "hub-hub"]
    )


class ChangeIntent(NetworkIntent):
    """The network intent of the fleet after a change from `before`, every hub of both fleets
    `held_over`: what each hub is pushed first in the change. Stores are the fleet after's.
    A hub keeps its own addresses in the change (`devices/push_order.py` refuses one that
    moves them), so the views read them from the fleet after alike."""

    def __init__(
        self,
        before: NetworkIntent,
        after: Fleet,
        outputs: Mapping[str, StoreCloudOutputs] | None = None,
        *,
        core: CoreCloudOutputs | None = None,
        reveal_secrets: bool = False,
    ) -> None:
        super().__init__(after, outputs, core=core, reveal_secrets=reveal_secrets)
        self.before = before

    def hub(self, name: str) -> HubIntent:
        final = super().hub(name)
        return held_over(self.before.hub(name), final) if name in self.before.fleet.hubs else final

    def peer_hubs(self) -> dict[str, tuple[ResolvedHub, HubBeacon | None, int]]:
        """The hubs of both fleets: a hub holds its session with a hub only the fleet before has."""
        return {**self.before.peer_hubs(), **super().peer_hubs()}
