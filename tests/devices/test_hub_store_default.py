"""A hub gives its stores a default route only while it holds the DC core's (`StoreDefault`: the
stores' default leads to the internet through HQ's breakout, the DC's 0.0.0.0/0). A hub whose DC
sessions are down, its DC port still up, withdraws it, so the stores send their internet traffic
to the other hub instead of one that can only drop it; FRR originates it on that condition
(`default-originate route-map DC-DEFAULT`), the vendor hubs pass the DC's own default on.

Read the way a router reads its config: each hub platform's rendered config through its lint
route-filter reader (`RouteFilters.sends_default`), with the hub's BGP table as the intent has it
with and without the DC core's routes."""

from __future__ import annotations

import ipaddress

import pytest
from testsupport.rendering import on_platform

from storestack.common.platforms import HUB_DEFAULT_PASSED_ON, PLATFORM_NAMES, Platform
from storestack.devices.lint import ROUTE_FILTER_EXTRACTORS, ConfigFile, load_platform_rules
from storestack.devices.lint.cross import hub_tables
from storestack.devices.lint.run import config_files
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

HUB = "hq-hub1"
DEFAULT = ipaddress.IPv4Network("0.0.0.0/0")


def _hub_fleet(fleet: Fleet, platform: Platform) -> tuple[Fleet, list[ConfigFile]]:
    hubs = on_platform(fleet, None, hubs=platform)
    return hubs, config_files(hubs)


def _store_neighbors(fleet: Fleet) -> list[str]:
    return [str(s.peer_address) for s in NetworkIntent(fleet).hub(HUB).sessions if s.kind == "store-hub"]


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_a_hub_without_the_dc_cores_default_sends_its_stores_none(fleet: Fleet, platform: Platform) -> None:
    hubs, files = _hub_fleet(fleet, platform)
    load_platform_rules()
    filters = ROUTE_FILTER_EXTRACTORS[platform](next(f for f in files if f.name == f"{HUB}.cfg"))
    without, with_dc = hub_tables(NetworkIntent(hubs), HUB)
    assert DEFAULT not in without and DEFAULT in with_dc
    neighbors = _store_neighbors(hubs)
    assert neighbors
    for neighbor in neighbors:
        # DC sessions down: the hub's table holds its own, the stores', the other hub's and the
        # clouds' routes, no default: the store gets none from this hub.
        assert filters.sends_default(neighbor, without) is False, neighbor
        # DC sessions up: the store gets one.
        assert filters.sends_default(neighbor, with_dc) is True, neighbor


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_the_intent_says_what_the_default_needs_in_one_place(fleet: Fleet, platform: Platform) -> None:
    hubs, _ = _hub_fleet(fleet, platform)
    hub = NetworkIntent(hubs).hub(HUB)
    assert hub.store_default is not None
    assert (hub.store_default.condition, hub.store_default.sources) == (DEFAULT, ("hub-dc",))
    assert hub.store_default.passed_on == (platform in HUB_DEFAULT_PASSED_ON)
    # the DC core announces it to the hub (FROM-DC)
    assert any(s.accepts_default for s in hub.sessions if s.kind == "hub-dc")
