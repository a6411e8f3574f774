"""A hub gives its stores a default route only while it holds the DC core's (`StoreDefault`: the
stores' default leads to the internet through HQ's breakout, the DC's 0.0.0.0/0). A hub whose DC
sessions are down, its DC port still up, withdraws it, so the stores send their internet traffic
to the other hub instead of one that can only drop it; FRR originates it on that condition
(`default-originate route-map DC-DEFAULT`), the vendor hubs pass the DC's own default on.

Read the way a router reads its config: each hub platform's rendered config through its lint
route-filter reader (`RouteFilters.sends_default`), with the hub's BGP table as the intent has it
with and without the DC core's routes. Lint `hub-store-default` finds the defect coming back."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

import pytest
from lint_files import broken_files, rule_findings
from testsupport.rendering import on_platform

from storestack.common.platforms import HUB_DEFAULT_PASSED_ON, PLATFORM_NAMES, Platform
from storestack.devices.lint import ROUTE_FILTER_EXTRACTORS, ConfigFile, RouteFilters, load_platform_rules
from storestack.devices.lint.cross import _hub_store_default, hub_tables
from storestack.devices.lint.run import config_files
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

RULE = "hub-store-default"
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


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_every_hub_platform_is_clean(fleet: Fleet, platform: Platform) -> None:
    hubs, files = _hub_fleet(fleet, platform)
    assert not rule_findings(hubs, files, RULE)


def _unconditional(platform: Platform) -> Callable[[str], str]:
    """The hub config as it was: a default originated to every store neighbour whatever the hub holds."""
    if platform == "frr":
        return lambda text: text.replace("default-originate route-map DC-DEFAULT", "default-originate")
    if platform == "cisco_xe":
        return lambda text: re.sub(r"(  neighbor (STORES-\S+) activate\n)", r"\1  neighbor \2 default-originate\n", text)
    if platform == "huawei_vrp":
        return lambda text: re.sub(r"(  peer (STORES-\S+) enable\n)", r"\1  peer \2 default-route-advertise\n", text)
    return lambda text: text.replace(
        '            set route-map-out "TO-STORES"\n',
        '            set capability-default-originate enable\n            set route-map-out "TO-STORES"\n',
    )


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_a_default_originated_whatever_the_hub_holds_is_found(fleet: Fleet, platform: Platform) -> None:
    hubs, files = _hub_fleet(fleet, platform)
    findings = rule_findings(hubs, broken_files(files, f"{HUB}.cfg", _unconditional(platform)), RULE)
    neighbors = _store_neighbors(hubs)
    assert len(findings) == len(neighbors)
    assert all(f.file == f"{HUB}.cfg" and f.line > 0 for f in findings)
    assert all("originates it whatever its BGP table holds" in f.message for f in findings)
    assert all("keeps drawing the store's internet traffic" in f.message for f in findings)


def test_a_condition_that_holds_without_the_dc_core_is_found(fleet: Fleet) -> None:
    hubs, files = _hub_fleet(fleet, "frr")
    loopback = NetworkIntent(hubs).hub(HUB).loopback
    broken = broken_files(
        files, f"{HUB}.cfg", lambda text: text.replace("DC-DEFAULT seq 5 permit 0.0.0.0/0", f"DC-DEFAULT seq 5 permit {loopback}/32")
    )
    findings = rule_findings(hubs, broken, RULE)
    assert len(findings) == len(_store_neighbors(hubs))
    assert all("its condition holds without the DC core" in f.message for f in findings)


@pytest.mark.parametrize(
    ("platform", "entry"),
    [
        ("cisco_xe", r"ip prefix-list TO-STORES seq \d+ permit 0\.0\.0\.0/0\n"),
        ("huawei_vrp", r"ip ip-prefix TO-STORES index \d+ permit 0\.0\.0\.0 0\n"),
    ],
)
def test_a_hub_that_passes_no_default_on_is_found(fleet: Fleet, platform: Platform, entry: str) -> None:
    hubs, files = _hub_fleet(fleet, platform)
    findings = rule_findings(hubs, broken_files(files, f"{HUB}.cfg", lambda text: re.sub(entry, "", text)), RULE)
    assert len(findings) == len(_store_neighbors(hubs))
    assert all("sends no default route even while it holds 0.0.0.0/0" in f.message for f in findings)


def test_an_frr_hub_whose_default_condition_is_undefined_is_found(fleet: Fleet) -> None:
    """FRR takes `default-originate route-map M` for a route-map it does not have, and then
    originates nothing: the stores get no default from that hub."""
    hubs, files = _hub_fleet(fleet, "frr")
    broken = broken_files(files, f"{HUB}.cfg", lambda text: text.replace("route-map DC-DEFAULT permit 10\n match ip address prefix-list DC-DEFAULT\nexit\n", ""))
    findings = [f for f in rule_findings(hubs, broken, "undefined-reference") if f.file == f"{HUB}.cfg"]
    assert findings and all("route-map DC-DEFAULT" in f.message for f in findings)


def test_the_default_condition_is_read_over_the_hubs_table_once_not_once_per_store(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub's table holds routes of every store, and it has a session per store: reading the
    condition over the whole table for each session made `devices lint` of a 1,500-store fleet
    take minutes. Each route is asked about once per table, whatever the number of stores; the
    verdicts stay per session (`test_a_hub_without_the_dc_cores_default_sends_its_stores_none`).
    FRR hubs originate the default on a route-map condition (the vendor hubs pass the DC's on)."""
    hubs, files = _hub_fleet(fleet, "frr")
    intent = NetworkIntent(hubs)
    without, with_dc = hub_tables(intent, HUB)
    assert len(_store_neighbors(hubs)) > 2
    asked: list[ipaddress.IPv4Network] = []
    real = RouteFilters.permits

    def permits(filters: RouteFilters, route_map: str, net: ipaddress.IPv4Network) -> bool | None:
        asked.append(net)
        return real(filters, route_map, net)

    monkeypatch.setattr(RouteFilters, "permits", permits)
    config = next(f for f in files if f.name == f"{HUB}.cfg")
    assert list(_hub_store_default(config, intent, {})) == []
    assert len(asked) <= len(without) + len(with_dc), (len(asked), len(without), len(with_dc))
