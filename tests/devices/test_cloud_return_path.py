"""One hub per cloud site carries both directions of every cloud flow (`NetworkIntent.cloud_rank`):
hubs keep state (a FortiGate passes a flow's answers by its session table only), so a store's
or HQ's flow to a cloud and the cloud's answers must pass the same hub. The first hub of the
fleet keeps BGP's defaults; a later hub takes what its own cloud sessions teach at a lower local
preference (it sends cloud traffic through the first hub, over iBGP) and prepends its ASN
towards the clouds (they answer through the first hub). Read the way a router reads its config
(each platform's lint route-filter reader), on all four hub platforms; lint `cloud-return-path`
finds a later hub that no longer prepends or lowers its preference."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from lint_files import broken_files, files_per_platform, rule_findings
from testsupport.rendering import on_platform, three_hub_chain

from storestack.common.platforms import PLATFORM_NAMES, Platform
from storestack.devices.lint import (
    CLOUD_FORWARDING_EXTRACTORS,
    ROUTE_FILTER_EXTRACTORS,
    ConfigFile,
    Packet,
    RouteFilters,
    load_platform_rules,
)
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet
from storestack.network.build import NetworkIntent
from storestack.network.errors import NetworkIntentError
from storestack.network.model import CloudRank
from storestack.network.show import hub_report

RULE = "cloud-return-path"
FIRST, SECOND = "hq-hub1", "hq-hub2"
AWS = ipaddress.IPv4Network("10.16.0.0/18")  # eu-west-1's workloads VPC
OPENSTACK = ipaddress.IPv4Network("10.16.64.0/18")  # the OpenStack site's workloads
STORES = ipaddress.IPv4Network("10.64.0.0/12")
HQ = ipaddress.IPv4Network("10.0.0.0/16")
HQ_ASN = 65000


@pytest.fixture(scope="module")
def per_platform(fleet: Fleet) -> dict[Platform, tuple[Fleet, list[ConfigFile]]]:
    return files_per_platform(fleet)


def _cloud_peers(fleet: Fleet, hub: str) -> dict[str, ipaddress.IPv4Network]:
    """Each cloud session's peer address -> that cloud site's workloads range."""
    return {
        str(s.peer_address): AWS if s.kind == "hub-aws" else OPENSTACK
        for s in NetworkIntent(fleet).hub(hub).sessions
        if s.kind in ("hub-aws", "hub-openstack")
    }


def test_the_hubs_rank_for_the_clouds_in_fleet_order(fleet: Fleet) -> None:
    """Each hub holds its rank once (`HubIntent.cloud_rank`); its cloud tunnels carry none."""
    intent = NetworkIntent(fleet)
    assert [intent.hub(hub).cloud_rank for hub in fleet.hubs] == [CloudRank(0, 100, 0), CloudRank(1, 90, 1)]
    for hub in fleet.hubs:
        clouds = [t for t in intent.hub(hub).tunnels if t.kind in ("hub-aws", "hub-openstack")]
        assert len(clouds) == 3
        assert {(t.local_pref, t.prepend) for t in clouds} == {(None, None)}


def test_network_show_prints_each_hubs_cloud_rank(fleet: Fleet) -> None:
    intent = NetworkIntent(fleet)
    first, second = hub_report(intent, FIRST)["cloud_rank"], hub_report(intent, SECOND)["cloud_rank"]
    assert (first["rank"], first["local_pref"], first["prepend"]) == (0, 100, 0)
    assert (second["rank"], second["local_pref"], second["prepend"]) == (1, 90, 1)


def test_more_hubs_than_local_preference_can_rank_is_refused(fleet: Fleet) -> None:
    hubs = dict(fleet.hubs)
    template = hubs[FIRST]
    for number in range(3, 12):
        name = f"hq-hub{number}"
        hubs[name] = template.model_copy(update={"hostname": name})
    crowded = Fleet(fleet.spec, hubs, fleet.stores, fleet.root)
    with pytest.raises(NetworkIntentError, match="cloud ranks order at most 10 hubs"):
        NetworkIntent(crowded).cloud_rank("hq-hub11")


def _settings(filters: RouteFilters, peer: str, direction: str, net: ipaddress.IPv4Network) -> tuple[int | None, int]:
    entries = filters.applied(peer, direction, net)
    assert entries, (peer, direction, net)
    prefs = [entry.local_pref for entry in entries if entry.local_pref is not None]
    return (prefs[-1] if prefs else None), sum(entry.prepend.count(HQ_ASN) for entry in entries)


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_the_second_hub_lowers_its_cloud_routes_and_prepends_towards_the_clouds(
    per_platform: dict[Platform, tuple[Fleet, list[ConfigFile]]], platform: Platform
) -> None:
    changed, files = per_platform[platform]
    load_platform_rules()
    for hub, local_pref, prepends in ((FIRST, None, 0), (SECOND, 90, 1)):
        filters = ROUTE_FILTER_EXTRACTORS[platform](next(f for f in files if f.name == f"{hub}.cfg"))
        peers = _cloud_peers(changed, hub)
        assert len(peers) == 3
        for peer, own in peers.items():
            assert _settings(filters, peer, "in", own) == (local_pref, 0), (hub, peer)
            for announced in (STORES, HQ):
                assert _settings(filters, peer, "out", announced) == (None, prepends), (hub, peer, announced)


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_iBGP_between_the_hubs_keeps_the_cloud_routes_preference(
    per_platform: dict[Platform, tuple[Fleet, list[ConfigFile]]], platform: Platform
) -> None:
    """Nothing on the hub-hub session sets a local preference: the first hub's cloud routes reach
    the second at BGP's default, above the second's own."""
    changed, files = per_platform[platform]
    load_platform_rules()
    intent = NetworkIntent(changed)
    for hub, other in ((FIRST, SECOND), (SECOND, FIRST)):
        filters = ROUTE_FILTER_EXTRACTORS[platform](next(f for f in files if f.name == f"{hub}.cfg"))
        peer = str(changed.hubs[other].dc_address)
        assert peer in {str(s.peer_address) for s in intent.hub(hub).sessions if s.kind == "hub-hub"}
        for net in (AWS, OPENSTACK):
            for direction in ("in", "out"):
                assert _settings(filters, peer, direction, net) == (None, 0), (hub, direction, net)


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_every_platform_is_clean(per_platform: dict[Platform, tuple[Fleet, list[ConfigFile]]], platform: Platform) -> None:
    changed, files = per_platform[platform]
    assert not rule_findings(changed, files, RULE)


def _no_prepend(platform: Platform) -> Callable[[str], str]:
    if platform in ("frr", "cisco_xe"):
        return lambda t: t.replace(f" set as-path prepend {HQ_ASN}\n", "")
    if platform == "huawei_vrp":
        return lambda t: t.replace(f" apply as-path {HQ_ASN} additive\n", "")
    return lambda t: re.sub(rf'\n\s+set set-aspath "{HQ_ASN}"', "", t)


def _default_preference(platform: Platform) -> Callable[[str], str]:
    if platform in ("frr", "cisco_xe"):
        return lambda t: t.replace(
            "match ip address prefix-list CLOUD-IN-AWS1\n set local-preference 90\n",
            "match ip address prefix-list CLOUD-IN-AWS1\n",
        )
    if platform == "huawei_vrp":
        return lambda t: t.replace(
            "if-match ip-prefix CLOUD-IN-AWS1\n apply local-preference 90\n", "if-match ip-prefix CLOUD-IN-AWS1\n"
        )
    return lambda t: re.sub(r'(set match-ip-address "CLOUD-IN-AWS1")\n\s+set set-local-preference 90', r"\1", t)


# What each break of the second hub's cloud rank makes `cloud-return-path` report: how many
# findings, and what every one of them says.
_BREAKS: dict[str, tuple[Callable[[Platform], Callable[[str], str]], int, tuple[str, ...]]] = {
    # every cloud session (two AWS tunnels, one OpenStack), each announcing HQ and the stores
    "no-longer-prepends": (_no_prepend, 3 * 2, ("prepended 0 times",)),
    # AWS's two tunnels, each for the region's workloads and desktops
    "keeps-its-own-cloud-routes-first": (_default_preference, 2 * 2, ("at local preference 100", "wants 90")),
}


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
@pytest.mark.parametrize("broken", list(_BREAKS))
def test_lint_finds_a_second_hub_out_of_its_cloud_rank(
    per_platform: dict[Platform, tuple[Fleet, list[ConfigFile]]], platform: Platform, broken: str
) -> None:
    changed, files = per_platform[platform]
    change, count, said = _BREAKS[broken]
    findings = rule_findings(changed, broken_files(files, f"{SECOND}.cfg", change(platform)), RULE)
    assert len(findings) == count
    assert all(f.file == f"{SECOND}.cfg" and all(words in f.message for words in said) for f in findings)


@pytest.mark.parametrize("platform", ["huawei_vrp", "cisco_xe"])
def test_the_first_hub_passes_the_clouds_answers_to_a_store_it_does_not_serve(tmp_path: Path, platform: Platform) -> None:
    """With three hubs, a store homed on hq-hub2 reaches hq-hub2 and hq-hub3 (its backup, the
    next hub in fleet order), never hq-hub1. Its office's flows to AWS still leave through
    hq-hub1, the hub of cloud rank 0: hq-hub2 takes AWS's routes from it over iBGP at a higher
    local preference than its own, and AWS answers through hq-hub1, the shortest AS path. So
    hq-hub1's stateless FROM-CLOUD filter (VRP, IOS-XE) must take the answers to that office
    too, or every connection it opens to the cloud dies at the hub (the SYN-ACK dropped)."""
    root = three_hub_chain(tmp_path)
    fleet = on_platform(load_fleet(root), platform)
    intent = NetworkIntent(fleet)
    store = fleet.stores["nw-0002"]
    assert store.primary_hub == SECOND and FIRST not in store.hubs
    assert intent.hub(FIRST).cloud_rank.rank == 0
    office = next(zone.prefixes[0] for zone in intent.store(store.id).zones if zone.name == "office")
    host = office.network_address + 20
    config = render_hub(fleet, FIRST)
    file = ConfigFile(config.filename, platform, "hub", config.name, config.text, None, "", {"": config.text})
    load_platform_rules()
    verdict = CLOUD_FORWARDING_EXTRACTORS[platform](file, frozenset()).verdict
    workload = AWS.network_address + 10
    # A DNS or QUIC answer to the office host's dynamic port, and an echo reply.
    assert verdict(Packet("udp", workload, host, 50000, source_port=443)).forwarded
    assert verdict(Packet("icmp", workload, host, icmp=(0, 0))).forwarded
    # Still only answers: nothing opens a connection to that office, nor reaches its POS.
    assert not verdict(Packet("tcp", workload, host, 443)).forwarded
    pos = next(zone.prefixes[0] for zone in intent.store(store.id).zones if zone.name == "pos")
    assert not verdict(Packet("udp", workload, pos.network_address + 20, 50000, source_port=443)).forwarded
