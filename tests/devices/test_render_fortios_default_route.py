"""The FortiOS hub's stores get the default route whether or not FortiOS filters the default
that `capability-default-originate` sends through the neighbour's `route-map-out`."""

from __future__ import annotations

from testsupport.rendering import on_platform

from storestack.devices.lint.fortinet import parse
from storestack.devices.render import render_hub
from storestack.inventory import Fleet


def test_every_default_originating_neighbour_lets_the_default_out(fleet: Fleet) -> None:
    config = parse(render_hub(on_platform(fleet, "fortinet"), "hq-hub1").text)
    lists = {entry.name: entry for entry in config["router prefix-list"].entries}
    maps = {entry.name: entry for entry in config["router route-map"].entries}
    neighbors = [
        n
        for n in config["router bgp"].own.blocks["neighbor"].entries
        if n.first("capability-default-originate") == "enable"
    ]
    assert neighbors
    for neighbor in neighbors:
        route_map = maps[neighbor.first("route-map-out") or ""]
        names = {rule.first("match-ip-address") for rule in route_map.blocks["rule"].entries}
        defaults = [
            rule
            for name in names
            for rule in lists[name or ""].blocks["rule"].entries
            if rule.get("prefix") == ["0.0.0.0", "0.0.0.0"] and not rule.get("ge") and not rule.get("le")
        ]
        assert defaults, f"{neighbor.name}: route-map-out {route_map.name} does not permit 0.0.0.0/0"
