"""What a hub takes in from its cloud VPNs towards the stores: one intent
(`HubIntent.cloud_forwarding`), the same on every hub platform, and the `cloud-store-isolation`
lint that catches a hub letting a cloud host open a connection to a store."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from collections.abc import Callable, Iterable

import pytest
from click.testing import CliRunner
from testsupport.rendering import on_platform

from storestack.cli.main import cli
from storestack.common.platforms import Platform
from storestack.devices.lint import (
    CLOUD_FORWARDING_EXTRACTORS,
    ConfigFile,
    Finding,
    Packet,
    load_platform_rules,
)
from storestack.devices.lint.isolation import CLOUD_DC_RULE, CLOUD_RULE, CLOUD_SOURCE_RULE, isolation_check
from storestack.devices.render import render_hub
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

HUB = "hq-hub1"
HUB_PLATFORMS: tuple[Platform, ...] = ("frr", "cisco_xe", "huawei_vrp", "fortinet")


def _hub(fleet: Fleet, platform: Platform) -> tuple[ConfigFile, NetworkIntent]:
    chain = on_platform(fleet, platform, hubs=platform)
    config = render_hub(chain, HUB)
    companions = {"": config.text, **dict(config.companions)}
    file = ConfigFile(config.filename, platform, "hub", config.name, config.text, None, "", companions)
    return file, NetworkIntent(chain)


def _findings(config: ConfigFile, intent: NetworkIntent, rule: str = CLOUD_RULE) -> list[Finding]:
    return [f for f in isolation_check([config], intent) if f.rule == rule]


def _with(config: ConfigFile, pattern: str, replacement: str, suffix: str = "") -> ConfigFile:
    text, count = re.subn(pattern, replacement, config.companions[suffix], count=1, flags=re.M)
    assert count == 1, f"{pattern!r} is not in the rendered {config.platform} {suffix or 'config'}"
    companions = {**config.companions, suffix: text}
    return dataclasses.replace(config, text=companions[""], companions=companions)


def test_the_clouds_open_nothing_towards_a_store_in_the_intent(fleet: Fleet) -> None:
    """From the clouds anything to HQ; towards the stores only the answers to the flows their
    segments open towards a cloud (the office's), and nothing a cloud may open: no desktop flow
    and no management range is in a cloud in the sample chain."""
    intent = NetworkIntent(fleet)
    forwarding = intent.hub(HUB).cloud_forwarding
    plan = fleet.spec.ip_plan
    assert forwarding is not None
    # The clouds' own ranges: each site's slots of the cloud and desktop ranges, as their BGP
    # sessions accept them (eu-west-1 and the OpenStack site: 10.16.0.0/17 and 10.20.0.0/19).
    sites = [net for ranges in intent.cloud_site_ranges.values() for net in ranges]
    assert forwarding.sources == tuple(ipaddress.collapse_addresses(sites))
    # HQ but its routing infrastructure, the DC core LAN (10.0.0.0/28), denied once before HQ whole.
    lan = ipaddress.IPv4Network("10.0.0.0/28")
    assert forwarding.infrastructure == (lan,) and forwarding.hq_whole == tuple(plan.hq)
    assert not any(net.overlaps(lan) for net in forwarding.hq)
    assert all(site.forwarding.hq == forwarding.hq and site.forwarding.infrastructure == (lan,) for site in forwarding.sites)
    assert forwarding.opens == ()
    offices = {
        zone.prefixes[0]
        for store in intent.served_stores(HUB)
        for zone in intent.store(store.id).zones
        if zone.name == "office"
    }
    assert {flow.opened_by for flow in forwarding.replies} == {"store"}
    # Every answer goes to an office segment; no POS, CCTV, IoT or guest segment opens a cloud flow.
    assert {net for flow in forwarding.replies for net in flow.stores} == offices
    desktops = next(flow for flow in forwarding.replies if all(net.subnet_of(plan.desktops) for net in flow.clouds))
    assert (desktops.protocol, desktops.ports) == ("tcp", ((443, 443),))


@pytest.mark.parametrize("platform", HUB_PLATFORMS)
def test_no_hub_lets_a_cloud_open_a_connection_to_a_store(fleet: Fleet, platform: Platform) -> None:
    config, intent = _hub(fleet, platform)
    assert _findings(config, intent) == []


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp"])
def test_a_stateless_hub_takes_from_the_clouds_only_answers_to_the_office(fleet: Fleet, platform: Platform) -> None:
    """IOS-XE and VRP filter statelessly: towards the stores, TCP only as `established`, UDP only
    to the office hosts' ephemeral ports, ICMP only answers and errors; never a rule that admits
    every protocol or the whole store block."""
    config, _ = _hub(fleet, platform)
    blocks = re.findall(r"^(?:ip access-list extended|acl name) FROM-CLOUD-.*?(?=^[!#])", config.text, re.S | re.M)
    assert len(blocks) == 2  # one per cloud site
    to_stores = [line for block in blocks for line in block.splitlines() if re.search(r"10\.64\.\d+\.\d+ 0\.", line)]
    assert to_stores
    for line in to_stores:
        assert " permit ip " not in line, line
        if "10.64.0.0 0.15.255.255" in line:
            # The whole store block takes ICMP errors only: on VRP, whose `icmp-type` matches one
            # code, once per cloud range rather than per office segment; on both, from each
            # tunnel's far end (its inside address, 169.254.x.y).
            if platform == "huawei_vrp":
                assert re.search(r" icmp .* icmp-type (\S*unreachable|fragmentneed-DFset|3 (9|10|13)|ttl-exceeded|reassembly-timeout)$", line), line
            else:
                assert re.search(r" permit icmp host 169\.254\.\S+ 10\.64\.0\.0 0\.15\.255\.255 (unreachable|time-exceeded)$", line), line
        elif " tcp " in line:
            assert line.endswith("established"), line
        elif " udp " in line:
            assert "range 32768 65535" in line, line  # the hosts' dynamic ports, never SSDP, RDP, SIP or mDNS
        else:
            assert " icmp " in line and "echo " not in line + " ", line


def test_a_vrp_hub_passes_a_dead_cloud_hosts_errors_to_the_office(fleet: Fleet) -> None:
    """A cloud host or its security group that refuses an office's connection answers with an
    ICMP unreachable, host (3/1) or administratively prohibited (3/13) as often as port (3/3):
    a VRP hub passes them towards the office, as IOS-XE's `unreachable` and FRR's
    `destination-unreachable` do, so the connection fails at once instead of hanging until it
    times out. Errors only: no echo request, no redirect, and nothing towards the hub itself."""
    config, intent = _hub(fleet, "huawei_vrp")
    load_platform_rules()
    verdict = CLOUD_FORWARDING_EXTRACTORS["huawei_vrp"](config, frozenset()).verdict
    hub = intent.hub(HUB)
    assert hub.cloud_forwarding is not None
    office = next(flow for flow in hub.cloud_forwarding.replies if flow.protocol == "ip")
    cloud, host = office.clouds[0].network_address + 7, office.stores[0].network_address + 10
    desktops = next(flow for flow in hub.cloud_forwarding.replies if flow.protocol == "tcp")
    desktop = desktops.clouds[0].network_address + 7
    for source in (cloud, desktop):
        for message in ((3, 0), (3, 1), (3, 3), (3, 4), (3, 9), (3, 10), (3, 13), (11, 0), (11, 1)):
            assert verdict(Packet("icmp", source, host, icmp=message)).forwarded, (source, message)
        for message in ((5, 1), (8, 0), (13, 0)):
            assert not verdict(Packet("icmp", source, host, icmp=message)).forwarded, (source, message)
    assert not verdict(Packet("icmp", cloud, hub.loopback, icmp=(3, 1))).forwarded


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp"])
def test_a_stateless_hub_passes_the_cloud_gateways_icmp_errors(fleet: Fleet, platform: Platform) -> None:
    """A cloud VPN's far end (the AWS VGW or TGW, the OpenStack gateway) sends its ICMP errors
    from its tunnel inside address (169.254.x.y), outside the site's ranges: fragmentation needed
    for a DF packet too big for its tunnel (path MTU discovery), TTL exceeded (traceroute). Each
    cloud tunnel's FROM-CLOUD-<site> passes them towards HQ and the stores, as an FRR hub's
    `cloud_far_ends` does (statelessly: IOS-XE and VRP hold no flows); not from another site's
    far end or any other address outside the site's ranges, not an echo request, and not towards
    the hub itself, HQ's routing infrastructure or the internet. (They used to meet the final
    deny, so a TCP flow with DF too big for the cloud tunnel blackholed.)"""
    config, intent = _hub(fleet, platform)
    load_platform_rules()
    extractor = CLOUD_FORWARDING_EXTRACTORS[platform]
    hub = intent.hub(HUB)
    forwarding = hub.cloud_forwarding
    assert forwarding is not None
    sessions = [s for s in hub.sessions if s.kind in ("hub-aws", "hub-openstack")]
    assert len(sessions) == 3
    office = next(net for flow in forwarding.replies for net in flow.stores).network_address + 10
    hq = next(net for net in sessions[0].announces if net.subnet_of(ipaddress.IPv4Network("10.0.0.0/16")))
    internet = ipaddress.IPv4Address("198.18.0.1")
    sites = {tunnel: site.name for site in forwarding.sites for tunnel in site.tunnels}
    for session in sessions:
        verdict = extractor(config, frozenset({str(session.local_address)})).verdict
        far = session.peer_address
        for destination in (office, hq.network_address + 266):
            for message in ((3, 4), (11, 0)):
                packet = Packet("icmp", far, destination, icmp=message)
                assert verdict(packet).forwarded, (session.tunnel, packet)
            strangers = [s.peer_address for s in sessions if sites[s.tunnel] != sites[session.tunnel]]
            refused = [
                *(Packet("icmp", other, destination, icmp=(3, 4)) for other in strangers),
                Packet("icmp", internet, destination, icmp=(3, 4)),
                Packet("icmp", far, destination),  # an echo request
            ]
            assert strangers
            for packet in refused:
                assert not verdict(packet).forwarded, (session.tunnel, packet)
        for destination in (hub.loopback, forwarding.infrastructure[0].network_address + 2, internet):
            packet = Packet("icmp", far, destination, icmp=(3, 4))
            assert not verdict(packet).forwarded, (session.tunnel, packet)


def _managed_from_a_cloud(fleet: Fleet) -> tuple[Fleet, ipaddress.IPv4Network]:
    """The fleet with a management range inside a cloud site's range (operators on cloud jump
    hosts, in the OpenStack site's slot): the intent lets it open SSH and SNMP to the stores'
    loopbacks."""
    plan = fleet.spec.ip_plan
    jump = ipaddress.IPv4Network("10.16.120.0/24")
    assert jump.subnet_of(plan.cloud)
    spec = fleet.spec.model_copy(update={"ip_plan": plan.model_copy(update={"management": [*plan.management, jump]})})
    return Fleet(spec, fleet.hubs, {store.id: store for store in fleet}, fleet.root), jump


@pytest.mark.parametrize("platform", HUB_PLATFORMS)
def test_a_flow_the_intent_lets_a_cloud_open_passes_every_hub_and_nothing_more(fleet: Fleet, platform: Platform) -> None:
    managed, jump = _managed_from_a_cloud(fleet)
    config, intent = _hub(managed, platform)
    hub = intent.hub(HUB)
    assert hub.cloud_forwarding is not None
    opens = {(f.protocol, f.ports, f.clouds, f.stores) for f in hub.cloud_forwarding.opens}
    loopbacks = (managed.spec.ip_plan.loopbacks,)
    assert opens == {("tcp", ((22, 22),), (jump,), loopbacks), ("udp", ((161, 161),), (jump,), loopbacks)}
    assert _findings(config, intent) == []
    load_platform_rules()
    verdict = CLOUD_FORWARDING_EXTRACTORS[platform](config, frozenset()).verdict
    store = next(s for s in hub.sessions if s.kind == "store-hub")
    loopback = next(net.network_address for net in store.accepts if net.subnet_of(loopbacks[0]))
    segment = next(net.network_address + 1 for net in store.accepts if net.subnet_of(managed.spec.ip_plan.stores))
    operator = jump.network_address + 5
    assert verdict(Packet("tcp", operator, loopback, 22)).forwarded
    assert verdict(Packet("udp", operator, loopback, 161)).forwarded
    # Management of the loopback only: not the segments, not other services.
    assert not verdict(Packet("tcp", operator, segment, 22)).forwarded
    assert not verdict(Packet("tcp", operator, loopback, 443)).forwarded


def test_network_show_says_what_a_hub_takes_from_the_clouds(monkeypatch: pytest.MonkeyPatch) -> None:
    """An engineer reads the rule in `network show HUB`: the clouds' own ranges, anything to HQ
    but the DC core LAN, towards the stores the answers to the office's cloud flows only, and
    nothing a cloud opens."""
    monkeypatch.setenv("STORESTACK_IPSEC_PSK", "lab-fleet-secret-0123456789")
    report = json.loads(CliRunner().invoke(cli, ["network", "show", HUB, "--json"]).output)["cloud_forwarding"]
    assert report["from"] == ["10.16.0.0/17", "10.20.0.0/19"] and report["not_to_hq"] == ["10.0.0.0/28"]
    to_hq = [ipaddress.IPv4Network(net) for net in report["to_hq"]]
    assert list(ipaddress.collapse_addresses([*to_hq, ipaddress.IPv4Network("10.0.0.0/28")])) == [ipaddress.IPv4Network("10.0.0.0/16")]
    assert not any(net.overlaps(ipaddress.IPv4Network("10.0.0.0/28")) for net in to_hq)
    assert report["cloud_opens"] == []
    desktops = next(a for a in report["answers"] if a["clouds"] == ["10.20.0.0/19"])
    assert (desktops["protocol"], desktops["ports"]) == ("tcp", ["443"])
    assert all(net.endswith(".64/26") for a in report["answers"] for net in a["stores"])  # the office segments
    text = CliRunner().invoke(cli, ["network", "show", HUB]).output
    assert "opened by a cloud: nothing" in text and "virtual desktops through their HTTPS gateway (tcp 443" in text
    assert "anything to HQ but the DC core 10.0.0.0/28;" in text


def test_each_cloud_site_takes_in_its_own_ranges_only_in_the_intent(fleet: Fleet) -> None:
    """Per cloud site, its own tunnels and what its BGP sessions accept (`cloud_site_ranges`),
    nothing of the other site's: AWS eu-west-1's two tunnels and the OpenStack site's one."""
    intent = NetworkIntent(fleet)
    hub = intent.hub(HUB)
    assert hub.cloud_forwarding is not None
    sites = {site.name: site for site in hub.cloud_forwarding.sites}
    assert set(sites) == {"aws:eu-west-1", "openstack:ams-private"}
    for name, site in sites.items():
        assert site.sources == intent.cloud_site_ranges[name]
        accepts = {s.accepts for s in hub.sessions if s.tunnel in site.tunnels}
        assert accepts == {site.sources}
        assert set(site.forwarding.sources) == set(site.sources)
        clouds = [net for flow in site.forwarding.store_flows for net in flow.clouds]
        assert clouds and all(any(net.subnet_of(own) for own in site.sources) for net in clouds)
    assert len(sites["aws:eu-west-1"].tunnels) == 2 and len(sites["openstack:ams-private"].tunnels) == 1


@pytest.mark.parametrize("platform", HUB_PLATFORMS)
def test_no_cloud_tunnel_takes_in_another_sites_range(fleet: Fleet, platform: Platform) -> None:
    config, intent = _hub(fleet, platform)
    assert _findings(config, intent, CLOUD_SOURCE_RULE) == []


# Each rule's hub renderings as they were before its intent, per hub platform, and what every
# finding (all) or one of them (any) must say. `cloud-store-isolation`, before `cloud_forwarding`:
# everything from the clouds' prefixes to the stores' block. `cloud-source-isolation`, before
# `CloudForwarding.sites`: the union of every site's ranges as sources on every cloud tunnel
# (here on the AWS tunnels' filter), so a packet from the OpenStack site's range arriving on an
# AWS tunnel (a spoofed OpenStack host, towards HQ) passes it.
_OLD_RENDERINGS: dict[str, dict[Platform, tuple[str, str, str]]] = {
    CLOUD_RULE: {
        "cisco_xe": (r"^ (\d+) permit tcp 10\.16\.0\.0 0\.0\.63\.255 10\.64\.0\.64 0\.0\.0\.63 established$", r" \1 permit ip 10.16.0.0 0.0.63.255 10.64.0.0 0.15.255.255", ""),
        "huawei_vrp": (r"^ rule (\d+) permit tcp source 10\.16\.0\.0 0\.0\.63\.255 destination 10\.64\.0\.64 0\.0\.0\.63 tcp-flag established$", r" rule \1 permit ip source 10.16.0.0 0.0.63.255 destination 10.64.0.0 0.15.255.255", ""),
        "frr": (r"ip daddr @cloud_hq accept", "ip daddr @cloud_destinations accept", "nftables.conf"),
        "fortinet": (r'(set name "CLOUD-TO-HQ-AWS1"\n(?:        [^\n]*\n)*?        set dstaddr )"CLOUD-HQ"', r'\1"CLOUD-DESTINATIONS"', ""),
    },
    CLOUD_SOURCE_RULE: {
        "cisco_xe": (r"^( \d+ permit ip )10\.16\.0\.0 0\.0\.63\.255( 10\.0\.0\.0 )", r"\g<1>10.16.0.0 0.0.127.255\2", ""),
        "huawei_vrp": (r"^( rule \d+ permit ip source )10\.16\.0\.0 0\.0\.63\.255( destination 10\.0\.0\.0 )", r"\g<1>10.16.0.0 0.0.127.255\2", ""),
        "frr": (r"^ *iifname @cloud_tunnels iifname \. ip saddr != @cloud_site_sources drop\n", "", "nftables.conf"),
        "fortinet": (r'set srcaddr "CLOUD-SOURCES-AWS1"', 'set srcaddr "CLOUD-SOURCES"', ""),
    },
}  # fmt: skip
_SAID: dict[str, tuple[Callable[[Iterable[bool]], bool], tuple[str, ...]]] = {
    CLOUD_RULE: (all, ("lets a cloud host open a connection to store",)),
    CLOUD_SOURCE_RULE: (any, ("aws:eu-west-1's tunnels", "openstack:ams-private's range")),
}


@pytest.mark.parametrize(
    ("rule", "platform"),
    [pytest.param(rule, platform, id=f"{rule}-{platform}") for rule in _OLD_RENDERINGS for platform in HUB_PLATFORMS],
)
def test_a_hub_rendered_as_before_its_cloud_intent_is_caught(fleet: Fleet, rule: str, platform: Platform) -> None:
    """A hub rendered as before `cloud_forwarding` lets a cloud host open connections to the
    stores; one rendered as before `CloudForwarding.sites` lets a cloud site's tunnels bring in
    another site's range. The rule's lint names what each lets through."""
    config, intent = _hub(fleet, platform)
    pattern, replacement, suffix = _OLD_RENDERINGS[rule][platform]
    found = _findings(_with(config, pattern, replacement, suffix), intent, rule)
    assert found, platform
    quantifier, said = _SAID[rule]
    assert quantifier(all(text in f.message for text in said) for f in found), found


def _site_verdicts(config: ConfigFile, intent: NetworkIntent) -> list[tuple[str, ipaddress.IPv4Address, Callable[[Packet], bool]]]:
    """(site, a host of the site's own range, whether the site's own tunnels forward a packet):
    each cloud site of the hub, from each of its ranges, read on that site's tunnels only."""
    load_platform_rules()
    hub = intent.hub(HUB)
    assert hub.cloud_forwarding is not None
    inside = {t.id: str(t.local_inside.ip) for t in hub.tunnels if t.local_inside is not None}
    found = []
    for site in hub.cloud_forwarding.sites:
        facts = CLOUD_FORWARDING_EXTRACTORS[config.platform](config, frozenset(inside[t] for t in site.tunnels))
        verdict = facts.verdict
        found += [(site.name, net.network_address + 7, lambda p, v=verdict: v(p).forwarded) for net in site.sources]
    assert {name for name, _, _ in found} == {"aws:eu-west-1", "openstack:ams-private"}
    return found


@pytest.mark.parametrize("platform", HUB_PLATFORMS)
def test_no_cloud_reaches_the_dc_core_through_a_hub(fleet: Fleet, platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    """The DC core LAN is HQ's routing infrastructure (the core routers, the hubs' DC addresses:
    BGP among them only), where no cloud service lives: every hub platform refuses a cloud
    workload's or desktop's packet, from its own site's range on its own tunnels, to a core
    router or the other hub's DC address, and still forwards one to an HQ server beside the LAN
    and to the directory; `cloud-dc-isolation` catches a hub rendered with HQ whole, as before."""
    config, intent = _hub(fleet, platform)
    hub = intent.hub(HUB)
    other_hub = next(s.peer_address for s in hub.sessions if s.kind == "hub-hub")
    core = [*hub.dc.routers, other_hub]
    server = fleet.spec.ip_plan.hq[0].network_address + 266  # beside the LAN, in HQ's second /24
    beside = ipaddress.IPv4Network("10.0.0.0/28").broadcast_address + 4
    directory = intent.directory_servers[0].network_address
    for site, source, forwards in _site_verdicts(config, intent):
        for address in core:
            for protocol, port in (("tcp", 22), ("tcp", 179), ("tcp", 443), ("udp", 161), ("icmp", None)):
                packet = Packet(protocol, source, address, port)
                assert not forwards(packet), (platform, site, packet)
        for address in (server, beside, directory):
            assert forwards(Packet("tcp", source, address, 443)), (platform, site, address)
    assert _findings(config, intent, CLOUD_DC_RULE) == []
    # A hub that takes in everything to HQ from the clouds, as every hub did before.
    monkeypatch.setattr(NetworkIntent, "dc_infrastructure", property(lambda self: ()))
    opened, _ = _hub(fleet, platform)
    monkeypatch.undo()
    findings = _findings(opened, intent, CLOUD_DC_RULE)
    # One finding per rule line and target: FRR's one rule takes every site's tunnels.
    for address in core:
        assert any(f" {address} (" in f.message for f in findings), (platform, address, findings)
    assert {f.message.split("'s tunnels")[0].rsplit(" ", 1)[-1] for f in findings} >= {"aws:eu-west-1"}


@pytest.mark.parametrize("platform", HUB_PLATFORMS)
def test_a_server_written_inside_the_dc_core_lan_stays_reached_from_the_clouds(
    fleet: Fleet, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A management server written inside the DC core LAN is a host route of what the clouds
    reach (`CloudForwarding.hq`), which no deny of the LAN hides (`infrastructure` empty then);
    the rest of the LAN stays closed to the clouds."""
    syslog = NetworkIntent(fleet).management.syslog_servers[0]
    lan = ipaddress.IPv4Network(f"{syslog}/28", strict=False)
    monkeypatch.setattr(NetworkIntent, "dc_infrastructure", property(lambda self: (lan,)))
    config, intent = _hub(fleet, platform)
    forwarding = intent.hub(HUB).cloud_forwarding
    assert forwarding is not None and forwarding.infrastructure == ()
    assert ipaddress.IPv4Network(f"{syslog}/32") in forwarding.hq
    neighbour = next(a for a in lan.hosts() if a != syslog)
    for site, source, forwards in _site_verdicts(config, intent):
        assert forwards(Packet("udp", source, syslog, 514)), (platform, site)
        assert not forwards(Packet("tcp", source, neighbour, 443)), (platform, site, neighbour)
