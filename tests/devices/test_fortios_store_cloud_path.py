"""Where a FortiOS store with AWS tunnels sends its cloud traffic while both AWS tunnels are down.

No SD-WAN rule takes the cloud there (STORE-LOCAL, `dst-negate`: the routes from AWS must win),
so the routing table alone decides, and the hubs' cloud summary is what it holds then. The store
keeps its other hub routes alike on every tunnel (eBGP multipath, for the SD-WAN rules), which
for the cloud would spread sessions over the LTE/5G tunnels while a wired one is up. LTE/5G is
the backup: the cloud rides the intent's path order, a wired tunnel first."""

from __future__ import annotations

import ipaddress

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import ConfigFile, Packet
from storestack.devices.lint.fortinet import Block, parse, steering
from storestack.devices.render import render_store
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent


def _cloud_preferences(parsed: dict[str, Block], summary: ipaddress.IPv4Network) -> dict[str, int]:
    """Each BGP neighbour's local preference on `summary`, as its route-map-in sets it: the first
    rule whose prefix list holds exactly that prefix (BGP's default, 100, where it sets none)."""
    prefixes = {
        entry.name: {
            ipaddress.IPv4Network("/".join(rule.get("prefix")), strict=False)
            for rule in entry.blocks["rule"].entries
            if not rule.get("le") and not rule.get("ge")
        }
        for entry in parsed["router prefix-list"].entries
    }
    maps = {entry.name: entry.blocks["rule"].entries for entry in parsed["router route-map"].entries}
    found: dict[str, int] = {}
    for neighbor in parsed["router bgp"].own.blocks["neighbor"].entries:
        for rule in maps[neighbor.first("route-map-in") or ""]:
            if summary in prefixes.get(rule.first("match-ip-address") or "", set()):
                found[neighbor.name] = int(rule.first("set-local-preference") or 100)
                break
    return found


def _installed(preferences: dict[str, int], up: set[str]) -> set[str]:
    """The neighbours BGP installs a prefix through: of those up, every one with the best local
    preference (eBGP multipath takes each path that ties with the best; the hubs' AS paths are
    alike)."""
    live = {peer: pref for peer, pref in preferences.items() if peer in up}
    best = max(live.values(), default=None)
    return {peer for peer, pref in live.items() if pref == best}


@pytest.mark.parametrize("shape", ["aws", "mall-guest"])
def test_cloud_traffic_takes_lte_only_once_no_wired_tunnel_is_up(fleet: Fleet, shape: str) -> None:
    fleet = on_platform(fleet, "fortinet")
    store = NetworkIntent(fleet).store(SHAPES[shape])
    (config,) = render_store(fleet, SHAPES[shape])
    parsed = parse(config.text)
    summary = fleet.spec.ip_plan.cloud  # the hubs' cloud summary (the store's AWS VPC is inside it)
    hubs = sorted(
        (t for t in store.tunnels if t.kind == "store-hub"), key=lambda t: t.local_pref, reverse=True
    )  # the intent's path order
    cellular = {t.name for t in store.transports if t.cellular}
    wired = [str(t.peer_inside) for t in hubs if t.transport not in cellular]
    lte = [str(t.peer_inside) for t in hubs if t.transport in cellular]
    assert wired and lte

    # No SD-WAN rule takes the cloud: the routing table decides, through what BGP installs.
    office = next(z for z in store.zones if z.name == "office")
    packet = Packet("tcp", next(office.prefixes[0].hosts()), next(summary.hosts()), 443)
    facts = steering(ConfigFile(config.filename, "fortinet", "edge", config.name, config.text, store.store_id))
    assert facts.policies
    assert not [p.application for p in facts.policies if p.steers is None or p.steers(packet) is not False]

    preferences = _cloud_preferences(parsed, summary)
    assert set(preferences) == {*wired, *lte}
    # Every hub tunnel up (the AWS tunnels down): the best wired path alone, never LTE/5G.
    assert _installed(preferences, {*wired, *lte}) == {wired[0]}
    # Then each path in the intent's order as the ones before it fail: every wired one first.
    for position, peer in enumerate(wired + lte):
        assert _installed(preferences, set((wired + lte)[position:])) == {peer}
