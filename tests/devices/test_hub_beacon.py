"""Each hub announces its beacon (`HubBeacon`) to its stores only while it learns a route inside
HQ's summaries, the condition its HQ aggregate forms on: a store's steering follows the beacon,
so it must vanish exactly when the hub stops offering HQ. A VRP hub, which documents no
conditional advertisement, announces none and says why."""

from __future__ import annotations

import ipaddress
import re

import pytest
from testsupport.rendering import on_platform

from storestack.common.platforms import HUB_NO_BEACON
from storestack.devices.lint.fortinet import _nested, parse
from storestack.devices.render import render_hub
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent
from storestack.network.show import hub_report


def _dc_lan(fleet: Fleet) -> str:
    hub = NetworkIntent(fleet).hub("hq-hub1")
    assert hub.dc is not None
    return str(hub.dc.address.network)


def _beacon(fleet: Fleet) -> tuple[str, list[str]]:
    beacon = NetworkIntent(fleet).hub("hq-hub1").beacon
    assert beacon is not None
    return str(beacon.address), [str(net) for net in beacon.summaries]


@pytest.mark.parametrize("platform", ["frr", "cisco_xe"])
def test_frr_and_ios_hubs_announce_the_beacon_only_while_hq_is_learned(fleet: Fleet, platform: str) -> None:
    fleet = on_platform(fleet, platform)
    address, summaries = _beacon(fleet)
    assert summaries == [str(net) for net in fleet.spec.ip_plan.hq]
    text = render_hub(fleet, "hq-hub1").text
    groups = re.findall(r"^ neighbor (STORES-\S+) peer-group$", text, re.M)
    assert groups
    for group in groups:
        assert f"  neighbor {group} advertise-map BEACON exist-map BEACON-CONDITION\n" in text
    # The beacon is what BEACON advertises, originated from a discard route, and let out to the
    # stores; the condition is any route inside HQ's summaries.
    assert re.findall(r"^ip prefix-list BEACON seq \d+ permit (\S+)$", text, re.M) == [f"{address}/32"]
    assert re.findall(r"^ip prefix-list BEACON-CONDITION seq \d+ permit (\S+) le 32$", text, re.M) == summaries
    # ...but the hub's own DC LAN leg (inside HQ here), denied first: it holds without the core.
    lan = _dc_lan(fleet)
    conditions = re.findall(r"^ip prefix-list BEACON-CONDITION seq \d+ (.*)$", text, re.M)
    assert conditions[0] == f"deny {lan} le 32"
    assert re.search(rf"^ip prefix-list TO-STORES seq \d+ permit {re.escape(address)}/32$", text, re.M)
    network = f"network {address}/32" if platform == "frr" else f"network {address} mask 255.255.255.255"
    discard = f"ip route {address}/32 blackhole" if platform == "frr" else f"ip route {address} 255.255.255.255 Null0"
    assert f"  {network}\n" in text
    assert f"{discard}\n" in text


def test_fortios_hub_announces_the_beacon_to_each_store_neighbour_only_while_hq_is_learned(fleet: Fleet) -> None:
    fleet = on_platform(fleet, "fortinet")
    address, summaries = _beacon(fleet)
    parsed = parse(render_hub(fleet, "hq-hub1").text)
    intent = NetworkIntent(fleet).hub("hq-hub1")
    stores = {str(s.peer_address) for s in intent.sessions if s.kind == "store-hub"}
    neighbours = {n.name: n for n in _nested(parsed["router bgp"].own, "neighbor")}
    assert stores <= set(neighbours)
    for peer in stores:
        (condition,) = _nested(neighbours[peer], "conditional-advertise")
        assert (condition.name, condition.first("condition-routemap"), condition.first("condition-type") or "exist") == (
            "BEACON",
            "BEACON-CONDITION",
            "exist",
        )
    lists = {e.name: e for e in parsed["router prefix-list"].entries}
    assert [r.get("prefix") for r in _nested(lists["BEACON"], "rule")] == [[address, "255.255.255.255"]]
    lan = ipaddress.IPv4Network(_dc_lan(fleet))
    # The hub's DC LAN leg first, denied: FortiOS checks the condition against its routing
    # table, where that connected network always is, core or no core.
    assert [(r.first("action"), r.get("prefix"), r.first("le")) for r in _nested(lists["BEACON-CONDITION"], "rule")] == [
        ("deny", [str(lan.network_address), str(lan.netmask)], "32"),
        *((None, [net.split("/")[0], "255.255.0.0"], "32") for net in summaries),
    ]
    statics = [e for e in parsed["router static"].entries if e.get("dst") == [address, "255.255.255.255"]]
    assert [s.first("blackhole") for s in statics] == ["enable"]


def test_vrp_hub_announces_no_beacon_and_says_why(fleet: Fleet) -> None:
    fleet = on_platform(fleet, "huawei_vrp")
    intent = NetworkIntent(fleet)
    assert intent.hub("hq-hub1").beacon is None
    pinned = fleet.hubs["hq-hub1"].beacon
    assert pinned is not None
    assert str(pinned) not in render_hub(fleet, "hq-hub1").text
    report = hub_report(intent, "hq-hub1")
    assert report["beacon"] is None
    assert report["no_beacon_because"] == HUB_NO_BEACON["huawei_vrp"]


# The stores' routes (`HubBeacon.stores`) go to the other hubs only on the beacon's condition: a
# hub that lost the DC core would otherwise stay the other hub's (and the DC's) way back to stores
# that send through the other hub, and its stateful firewall would drop HQ's answers.


def _routes(fleet: Fleet) -> tuple[list[ipaddress.IPv4Network], list[ipaddress.IPv4Network]]:
    """(what hq-hub1 takes from its stores: their segments and loopbacks; what must reach the
    other hub whatever the condition: both hubs' loopbacks and hq-hub1's beacon)."""
    intent = NetworkIntent(fleet)
    hub = intent.hub("hq-hub1")
    assert hub.beacon is not None
    stores = [net for s in hub.sessions if s.kind == "store-hub" for net in s.accepts]
    assert stores
    hubs = [intent.host_net(hub.loopback), intent.host_net(intent.hub("hq-hub2").loopback), hub.beacon.route]
    return stores, hubs


def _matched(rules: list[tuple[ipaddress.IPv4Network, int]], route: ipaddress.IPv4Network) -> bool:
    """Whether a prefix-list of permits ((prefix, le), le the prefix's own length without `le`)
    matches a route."""
    return any(route.subnet_of(net) and net.prefixlen <= route.prefixlen <= le for net, le in rules)


def _hub_hub_peers(fleet: Fleet) -> list[str]:
    peers = [str(s.peer_address) for s in NetworkIntent(fleet).hub("hq-hub1").sessions if s.kind == "hub-hub"]
    assert peers
    return peers


@pytest.mark.parametrize("platform", ["frr", "cisco_xe"])
def test_frr_and_ios_hubs_pass_their_stores_routes_to_the_other_hub_only_while_hq_is_learned(
    fleet: Fleet, platform: str
) -> None:
    fleet = on_platform(fleet, platform)
    text = render_hub(fleet, "hq-hub1").text
    for peer in _hub_hub_peers(fleet):
        assert f"  neighbor {peer} advertise-map HUB-STORES exist-map BEACON-CONDITION\n" in text
        assert f"  neighbor {peer} route-map HUBS out\n" in text
    assert "route-map HUB-STORES permit 10\n match ip address prefix-list HUB-STORES\n" in text
    rules = [
        (ipaddress.IPv4Network(net), int(le) if le else ipaddress.IPv4Network(net).prefixlen)
        for action, net, le in re.findall(r"^ip prefix-list HUB-STORES seq \d+ (\S+) (\S+)(?: le (\d+))?$", text, re.M)
        if action == "permit"
    ]
    assert rules
    stores, hubs = _routes(fleet)
    # Every route the hub takes from its stores is held back with HQ; the hubs' own are not.
    assert [net for net in stores if not _matched(rules, net)] == []
    assert [net for net in hubs if _matched(rules, net)] == []


def test_fortios_hub_passes_its_stores_routes_to_the_other_hub_only_while_hq_is_learned(fleet: Fleet) -> None:
    fleet = on_platform(fleet, "fortinet")
    parsed = parse(render_hub(fleet, "hq-hub1").text)
    neighbours = {n.name: n for n in _nested(parsed["router bgp"].own, "neighbor")}
    for peer in _hub_hub_peers(fleet):
        (condition,) = _nested(neighbours[peer], "conditional-advertise")
        assert (condition.name, condition.first("condition-routemap"), condition.first("condition-type") or "exist") == (
            "HUB-STORES",
            "BEACON-CONDITION",
            "exist",
        )
        assert neighbours[peer].first("route-map-out") == "HUBS"
    maps = {e.name: e for e in parsed["router route-map"].entries}
    assert [r.first("match-ip-address") for r in _nested(maps["HUB-STORES"], "rule")] == ["HUB-STORES"]
    lists = {e.name: e for e in parsed["router prefix-list"].entries}
    rules = []
    for rule in _nested(lists["HUB-STORES"], "rule"):
        assert rule.first("action") in (None, "permit")
        address, mask = rule.get("prefix")
        net = ipaddress.IPv4Network(f"{address}/{mask}")
        rules.append((net, int(rule.first("le") or net.prefixlen)))
    stores, hubs = _routes(fleet)
    assert [net for net in stores if not _matched(rules, net)] == []
    assert [net for net in hubs if _matched(rules, net)] == []
