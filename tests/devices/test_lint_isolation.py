"""What a hub forwards from its stores: one intent (`HubIntent.store_forwarding`), the same on
every hub platform, and the `store-isolation` lint that catches a hub letting one store reach
another (its segments, its loopback, its tunnel addresses)."""

from __future__ import annotations

import dataclasses
import ipaddress
import re

import pytest
from testsupport.rendering import on_platform

from storestack.common.platforms import PLATFORM_NAMES, Platform
from storestack.devices.lint import FORWARDING_EXTRACTORS, ConfigFile, Finding, Packet, load_platform_rules
from storestack.devices.lint.isolation import RULE, isolation_check
from storestack.devices.render import Renderer, render_hub
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet, hq
from storestack.network.build import NetworkIntent, excluding
from storestack.network.model import HubIntent
from storestack.network.show import hub_report

HUB = "hq-hub1"


def _hub(fleet: Fleet, platform: Platform, stores: Platform | None = None) -> tuple[ConfigFile, NetworkIntent]:
    chain = on_platform(fleet, stores or platform, hubs=platform)
    config = render_hub(chain, HUB)
    companions = {"": config.text, **dict(config.companions)}
    file = ConfigFile(config.filename, platform, "hub", config.name, config.text, None, "", companions)
    return file, NetworkIntent(chain)


def _broken(config: ConfigFile, pattern: str, replacement: str, suffix: str = "") -> ConfigFile:
    """The config (or one companion) with the first match of `pattern` replaced."""
    text, count = re.subn(pattern, replacement, config.companions[suffix], count=1, flags=re.M)
    assert count == 1, f"{pattern!r} is not in the rendered {config.platform} {suffix or 'config'}"
    companions = {**config.companions, suffix: text}
    return dataclasses.replace(config, text=companions[""], companions=companions)


def _findings(config: ConfigFile, intent: NetworkIntent) -> list[Finding]:
    return [f for f in isolation_check([config], intent) if f.rule == RULE]


def _verdict(config: ConfigFile, hub: HubIntent, packet: Packet) -> bool:
    load_platform_rules()
    peers = frozenset(t.peer_id for t in hub.tunnels if t.kind == "store-hub") | frozenset(
        str(t.peer_outside) for t in hub.tunnels if t.kind == "store-hub" and t.peer_outside
    )
    return FORWARDING_EXTRACTORS[config.platform](config, peers).verdict(packet).forwarded


def _host(net: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
    return net.network_address + 1


def _hq_server(fleet: Fleet) -> ipaddress.IPv4Address:
    """A corporate server at HQ: the tenth host of HQ's second /24 (the first holds the DC core
    LAN, which no store reaches)."""
    return fleet.spec.ip_plan.hq[0].network_address + 266


def test_one_forwarding_intent_for_every_hub(fleet: Fleet) -> None:
    """The stores reach HQ, the clouds, the desktops and the management ranges; every private and
    fleet range else is closed to them, so another store's segments, loopback and tunnel
    addresses are; each store tunnel's control traffic names its two inside addresses."""
    hub = NetworkIntent(fleet).hub(HUB)
    forwarding, plan = hub.store_forwarding, fleet.spec.ip_plan
    core = hq.core_lan(fleet.spec)
    for net in (*excluding(plan.hq, (core,)), plan.cloud, plan.desktops, *plan.management):
        assert any(net.subnet_of(c) for c in forwarding.corporate)
    assert not any(c.overlaps(core) for c in forwarding.corporate)  # HQ's routing infrastructure
    for net in (plan.stores, plan.loopbacks, plan.transit, ipaddress.IPv4Network("192.168.0.0/16")):
        assert any(net.subnet_of(p) for p in forwarding.private)
        assert not any(c.overlaps(net) for c in forwarding.corporate)
    assert forwarding.fleet == (plan.stores, plan.loopbacks, plan.transit)
    # `network show HUB` says the same.
    shown = hub_report(NetworkIntent(fleet), HUB)["store_forwarding"]
    assert shown["corporate"] == [str(n) for n in forwarding.corporate]
    assert shown["never"] == [str(n) for n in forwarding.private] and shown["then"] == "internet"
    assert shown["corporate_from"] == [str(n) for n in (plan.stores, plan.loopbacks, plan.transit)]
    assert shown["internet_from"] == [str(plan.stores)]
    store_tunnels = [t for t in hub.tunnels if t.kind == "store-hub"]
    assert [(c.tunnel, c.store_inside, c.hub_inside) for c in forwarding.control] == [
        (t.id, t.peer_inside, t.local_inside.ip) for t in store_tunnels if t.local_inside is not None
    ]


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_no_hub_loops_a_stores_packets_back_to_itself(fleet: Fleet, platform: Platform) -> None:
    """No store runs BFD echo (IOS-XE, whose default it is, says `no bfd echo`), so no hub
    forwards a packet addressed to a store's own tunnel address, not even back into the tunnel
    it came from: not a BFD echo packet from an IOS-XE store, on any hub platform."""
    config, intent = _hub(fleet, platform, stores="cisco_xe")
    hub = intent.hub(HUB)
    with_bfd = [c for c in hub.store_forwarding.control if c.bfd]
    assert bool(with_bfd) is (platform != "cisco_xe")  # an IOS-XE hub runs no BFD with its stores
    for control in hub.store_forwarding.control:
        echo = Packet("udp", control.store_inside, control.store_inside, 3785)
        assert not _verdict(config, hub, echo), f"{platform} hub loops {control.store_inside}'s echo back"
    assert _findings(config, intent) == []


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_every_hub_keeps_its_stores_apart_and_lets_them_work(fleet: Fleet, platform: Platform) -> None:
    """On every platform the rendered hub forwards no store's packet to another store, and still
    forwards what the stores need: HQ's POS service, the clouds, the internet."""
    config, intent = _hub(fleet, platform)
    assert _findings(config, intent) == []
    hub = intent.hub(HUB)
    plan = fleet.spec.ip_plan
    segment = next(n for s in hub.sessions if s.kind == "store-hub" for n in s.accepts if n.subnet_of(plan.stores))
    for destination in (_hq_server(fleet), _host(plan.cloud), ipaddress.IPv4Address("198.51.100.7")):
        assert _verdict(config, hub, Packet("tcp", _host(segment), destination, 443)), destination


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_no_store_sends_through_its_hub_as_hq(fleet: Fleet, platform: Platform) -> None:
    """A store's tunnel brings through the hub only the stores' own addresses
    (`StoreForwarding.sources`): a store sending as HQ's management range, as the other hub's DC
    address (which that hub's DC port filter takes BGP from) or as an internet address reaches
    neither HQ nor the internet, while its segments and loopback still reach HQ."""
    config, intent = _hub(fleet, platform)
    hub = intent.hub(HUB)
    other_hub = next(s.peer_address for s in hub.sessions if s.kind == "hub-hub")
    spoofed = (_host(hub.management.ranges[0]), other_hub, ipaddress.IPv4Address("198.18.0.9"))
    for source in spoofed:
        for destination, port in ((other_hub, 179), (_hq_server(fleet), 514), (ipaddress.IPv4Address("198.51.100.7"), 443)):
            packet = Packet("tcp", source, destination, port)
            assert not _verdict(config, hub, packet), (platform, packet)
    session = next(s for s in hub.sessions if s.kind == "store-hub")
    own = [_host(n) if n.prefixlen < 32 else n.network_address for n in session.accepts]
    for source in own:
        assert _verdict(config, hub, Packet("tcp", source, _hq_server(fleet), 443)), (platform, source)


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp"])
def test_acl_hubs_still_take_their_stores_control_traffic(fleet: Fleet, platform: Platform) -> None:
    """An inbound ACL filters what is addressed to the router too: BGP both ways and ping from
    each store tunnel's inside address to the hub's, BFD where it runs, UDP jitter probes to an
    IOS-XE hub's responder; a store cannot open BGP to the hub's address of another store's
    tunnel, nor SSH to the hub's loopback."""
    config, intent = _hub(fleet, platform)
    hub = intent.hub(HUB)
    first, other = hub.store_forwarding.control[0], hub.store_forwarding.control[-1]
    store, own = first.store_inside, first.hub_inside
    wanted = [Packet("tcp", store, own, 179), Packet("icmp", store, own)]
    if platform == "cisco_xe":
        wanted += [Packet("udp", store, own, 1967), Packet("udp", store, own, 50501)]
    else:
        wanted.append(Packet("udp", store, own, 3784))
    for packet in wanted:
        assert _verdict(config, hub, packet), packet
    assert not _verdict(config, hub, Packet("tcp", store, other.hub_inside, 179))
    assert not _verdict(config, hub, Packet("tcp", store, hub.loopback, 22))


# (platform, pattern, replacement, suffix, what the finding names): each hub as it was before the
# forwarding intent, or with its filter gone.
_BREAKS = [
    pytest.param(
        "cisco_xe",
        r"^ip access-list extended FROM-STORES\n(?: .*\n)+",
        "ip access-list extended FROM-STORES\n 10 deny ip any 10.64.0.0 0.15.255.255\n 20 permit ip any any\n",
        "",
        "loopback",
        id="ios-xe-supernet-only",
    ),
    pytest.param(
        "cisco_xe",
        r"(^interface Virtual-Template1 type tunnel\n(?: .*\n)*?) ip access-group FROM-STORES in\n",
        r"\1",
        "",
        "no inbound ACL",
        id="ios-xe-template-unfiltered",
    ),
    pytest.param(
        "huawei_vrp",
        r"^acl name (FROM-STORE-\S+ \d+)\n(?: .*\n)+",
        "acl name \\1\n rule 5 deny ip destination 10.64.0.0 0.15.255.255\n rule 10 permit ip\n",
        "",
        "tunnel address",
        id="vrp-supernet-only",
    ),
    pytest.param(
        "huawei_vrp",
        r"^ traffic-filter inbound acl name FROM-STORE-\S+\n",
        "",
        "",
        "no traffic-filter inbound",
        id="vrp-tunnel-unfiltered",
    ),
    pytest.param(
        "frr",
        r"elements = \{ 10\.0\.0\.0/8, 100\.64\.0\.0/10, ",
        "elements = { 10.64.0.0/12, ",
        "nftables.conf",
        "loopback",
        id="frr-private-set-without-fleet-ranges",
    ),
    pytest.param(
        "frr",
        r"^        iifgroup 10 ip saddr @store_internet_sources ip daddr != @private accept$",
        "        iifgroup 10 accept",
        "nftables.conf",
        "tunnel address",
        id="frr-accept-all-from-tunnels",
    ),
    pytest.param(
        "frr",
        r'^        iifname "dc" ip saddr @hq_management oifname @store_tunnels accept$',
        "        ip saddr @hq_management oifname @store_tunnels accept",
        "nftables.conf",
        "from 10.0.250.1",
        id="frr-management-to-stores-from-any-port",
    ),
    pytest.param(
        "cisco_xe",
        r"^ (\d+) permit ip 10\.64\.0\.0 0\.15\.255\.255 10\.0\.0\.0 0\.0\.255\.255$",
        r" \1 permit ip any 10.0.0.0 0.0.255.255",
        "",
        "sending as HQ's management range",
        id="ios-xe-corporate-from-any-source",
    ),
    pytest.param(
        "huawei_vrp",
        r"^ rule (\d+) permit ip source 10\.64\.0\.0 0\.0\.0\.63$",
        r" rule \1 permit ip",
        "",
        "sending as the internet address",
        id="vrp-internet-from-any-source",
    ),
    pytest.param(
        "frr",
        r"ip saddr @store_sources ip daddr @corporate accept$",
        "ip daddr @corporate accept",
        "nftables.conf",
        "sending as hub hq-hub2's DC address",
        id="frr-corporate-from-any-source",
    ),
    pytest.param(
        "fortinet",
        r'set srcaddr "SOURCES-[^"]+"',
        'set srcaddr "all"',
        "",
        "sending as",
        id="fortios-corporate-from-any-source",
    ),
    pytest.param(
        "fortinet",
        r'set dstaddr "PRIVATE"\n\s+set dstaddr-negate enable\n',
        'set dstaddr "all"\n',
        "",
        "loopback",
        id="fortios-internet-policy-to-all",
    ),
    pytest.param(
        "fortinet",
        # `intrazone deny` is FortiOS's default, left out of the zone: an `allow` line opens it
        r'^(    edit "store-[^"]+"\n)',
        r"\1        set intrazone allow\n",
        "",
        "segment",
        id="fortios-intrazone-allow",
    ),
]


@pytest.mark.parametrize(("platform", "pattern", "replacement", "suffix", "named"), _BREAKS)
def test_a_hub_letting_a_store_reach_another_is_caught(
    fleet: Fleet, platform: Platform, pattern: str, replacement: str, suffix: str, named: str
) -> None:
    config, intent = _hub(fleet, platform)
    broken = _broken(config, pattern, replacement, suffix)
    findings = _findings(broken, intent)
    assert findings and any(named in f.message for f in findings), findings
    expected_file = f"{config.hostname}.nftables.conf" if platform == "frr" else config.name
    assert all(f.file == expected_file for f in findings if f.line)


def test_an_ios_hub_takes_bgp_answers_only_as_answers(fleet: Fleet) -> None:
    """The entry for a store's answers to a BGP session the hub opened (from port 179) carries
    `established`: a store cannot open a connection from port 179 to another port of the hub's
    own tunnel address (a stateless ACL without it lets any sender choose port 179)."""
    config, intent = _hub(fleet, "cisco_xe")
    hub = intent.hub(HUB)
    first = hub.store_forwarding.control[0]
    reply = f"permit tcp host {first.store_inside} eq bgp host {first.hub_inside} established"
    assert any(line.strip().endswith(reply) for line in config.lines), reply
    assert not _verdict(config, hub, Packet("tcp", first.store_inside, first.hub_inside, 22))
    stateless = _broken(config, re.escape(reply), reply.removesuffix(" established"))
    assert _verdict(stateless, hub, Packet("tcp", first.store_inside, first.hub_inside, 22))


def test_a_vrp_hub_takes_bgp_answers_only_as_answers(fleet: Fleet) -> None:
    """The VRP hub's rule for a store's answers to a BGP session the hub opened (from port 179)
    matches TCP segments with ACK or RST set (`tcp-flag established`): the answers pass, but a
    store's new connection from port 179 to port 22 of the hub's own tunnel address (a SYN) does
    not, as it would through the rule without the flag."""
    config, intent = _hub(fleet, "huawei_vrp")
    hub = intent.hub(HUB)
    first = hub.store_forwarding.control[0]
    answers = (
        f"permit tcp source {first.store_inside} 0 source-port eq bgp destination {first.hub_inside} 0 "
        "tcp-flag established"
    )
    assert any(line.strip().endswith(answers) for line in config.lines), answers
    assert not _verdict(config, hub, Packet("tcp", first.store_inside, first.hub_inside, 22))
    stateless = _broken(config, re.escape(answers), answers.removesuffix(" tcp-flag established"))
    assert _verdict(stateless, hub, Packet("tcp", first.store_inside, first.hub_inside, 22))


def test_a_fortios_hub_takes_pings_to_what_the_intent_makes_pingable(fleet: Fleet) -> None:
    """The FortiOS hub's ping policy takes echo requests to the addresses `pingable` holds, not to
    a fixed object: with another address there instead of the loopback, the stores' tunnel
    addresses ping that address and no longer the loopback."""
    chain = on_platform(fleet, "fortinet")
    view = ViewBuilder(chain).hub_view(HUB)
    hub = view.intent
    other = ipaddress.IPv4Address("10.255.0.99")
    forwarding = dataclasses.replace(hub.store_forwarding, pingable=(other,))
    moved = dataclasses.replace(view, intent=dataclasses.replace(hub, store_forwarding=forwarding))
    config = Renderer().render_hub_view(moved)
    file = ConfigFile(config.filename, "fortinet", "hub", config.name, config.text, None, "", {"": config.text})
    store = hub.store_forwarding.control[0].store_inside
    assert _verdict(file, hub, Packet("icmp", store, other))
    assert not _verdict(file, hub, Packet("icmp", store, hub.loopback))


def test_stores_ping_their_hubs_loopback_and_nothing_else_of_it(fleet: Fleet) -> None:
    """Every store learns its hubs' loopbacks by BGP, and the intent lets it ping them from its
    tunnel addresses (`store_forwarding.pingable`): the ACL hubs and FortiOS take the echo request
    (and still no SSH to the loopback, nor a ping from a store segment), an FRR hub's input chain
    answers echo requests to every address of its own."""
    hub = NetworkIntent(fleet).hub(HUB)
    assert hub.store_forwarding.pingable == (hub.loopback,)
    assert hub_report(NetworkIntent(fleet), HUB)["store_forwarding"]["pingable"] == [str(hub.loopback)]
    for platform in ("cisco_xe", "huawei_vrp", "fortinet"):
        config, intent = _hub(fleet, platform)
        hub = intent.hub(HUB)
        first, last = hub.store_forwarding.control[0], hub.store_forwarding.control[-1]
        segment = next(n for s in hub.sessions if s.kind == "store-hub" for n in s.accepts if n.subnet_of(fleet.spec.ip_plan.stores))
        for control in (first, last):
            assert _verdict(config, hub, Packet("icmp", control.store_inside, hub.loopback)), platform
            assert not _verdict(config, hub, Packet("tcp", control.store_inside, hub.loopback, 22)), platform
        assert not _verdict(config, hub, Packet("icmp", _host(segment), hub.loopback)), platform
    config, _ = _hub(fleet, "frr")
    ruleset = config.companions["nftables.conf"]
    input_chain = ruleset.split("chain input {", 1)[1].split("\n    }", 1)[0]
    assert "        icmp type echo-request jump icmp_requests" in input_chain
    requests_chain = ruleset.split("chain icmp_requests {", 1)[1].split("\n    }", 1)[0]
    assert "        icmp type echo-request update @icmp_senders" in requests_chain


def test_no_store_reaches_its_hubs_own_addresses(fleet: Fleet) -> None:
    """The hub's DC core LAN address sits in HQ's range (no corporate one: the DC core LAN is
    closed to the stores) and its public address under the internet permit, but both are the
    hub's own: the hub is managed through its
    loopback from the management ranges, a store's control traffic goes to the tunnel inside
    addresses, and its IKE to the public address over its WAN, never inside a tunnel. The intent
    closes them (`store_forwarding.closed`), the ACL hubs drop what a store sends them, and the
    `store-isolation` lint catches an IOS-XE hub whose store ACL lets a store through to one.
    (The FRR hub's input chain takes nothing from a tunnel but between the tunnel's two inside
    addresses: tests/lab/test_lab_reachability.py proves it with packets.)"""
    intent = NetworkIntent(fleet)
    hub = intent.hub(HUB)
    own = (hub.dc.address.ip, hub.public_address)
    assert hub.store_forwarding.closed == own
    assert not any(hub.dc.address.ip in net for net in hub.store_forwarding.corporate)
    assert any(hub.dc.address.ip in net for net in hub.store_forwarding.private)
    assert not any(hub.public_address in net for net in (*hub.store_forwarding.corporate, *hub.store_forwarding.private))
    assert hub_report(intent, HUB)["store_forwarding"]["closed"] == [str(a) for a in own]
    segment = next(n for s in hub.sessions if s.kind == "store-hub" for n in s.accepts if n.subnet_of(fleet.spec.ip_plan.stores))
    for platform in ("cisco_xe", "huawei_vrp"):
        config, intent = _hub(fleet, platform)
        hub = intent.hub(HUB)
        store = hub.store_forwarding.control[0].store_inside
        for source in (store, _host(segment)):
            for address in own:
                for packet in (Packet("tcp", source, address, 22), Packet("udp", source, address, 500)):
                    assert not _verdict(config, hub, packet), (platform, packet)
        # HQ's other addresses and the internet stay reachable.
        assert _verdict(config, hub, Packet("tcp", _host(segment), _hq_server(fleet), 443)), platform
        assert _verdict(config, hub, Packet("tcp", _host(segment), hub.public_address + 1, 443)), platform
    config, intent = _hub(fleet, "frr")
    input_chain = config.companions["nftables.conf"].split("chain input {", 1)[1].split("}", 1)[0]
    assert "iifgroup 10 jump from_tunnels" in input_chain
    config, intent = _hub(fleet, "cisco_xe")
    assert _findings(config, intent) == []
    # The public address: the internet permit would hold it (the DC address, in no corporate
    # range, stays closed by the private denies without its own).
    for address in own[1:]:
        # FROM-STORES's denies, above the hubs' own sources' denies and the corporate permits.
        closing = rf"^ \d+ deny ip any host {re.escape(str(address))}\n(?=(?: \d+ deny ip any host \S+\n)*(?: \d+ deny ip host \S+ any\n)*(?: \d+ deny ip any 10\.0\.0\.0 0\.0\.0\.15\n)? \d+ permit ip \S+ \S+ 10\.0\.0\.0 )"
        findings = _findings(_broken(config, closing, ""), intent)
        assert findings and all(f"the hub's own address {address}" in f.message for f in findings), address


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_no_store_reaches_another_by_sending_from_a_management_address(fleet: Fleet, platform: Platform) -> None:
    """HQ's operators reach the stores through the hubs; a store inside its tunnel sends any
    source address it likes. One that sends SSH or SNMP from a management address to another
    store's segment, loopback or tunnel address is still a store: no hub platform forwards it,
    and `store-isolation` catches an FRR hub whose management permit does not ask where the
    packet came in (the DC port)."""
    config, intent = _hub(fleet, platform)
    hub = intent.hub(HUB)
    manager = _host(hub.management.ranges[0])
    first, last = hub.store_forwarding.control[0], hub.store_forwarding.control[-1]
    assert first.store != last.store
    target = next(s for s in hub.sessions if s.kind == "store-hub" and s.peer == last.store)
    for destination in (*(_host(n) for n in target.accepts), last.store_inside):
        for packet in (Packet("tcp", manager, destination, 22), Packet("udp", manager, destination, 161)):
            assert not _verdict(config, hub, packet), (platform, packet)
    assert _findings(config, intent) == []
    if platform == "frr":
        opened = _broken(config, r'^        iifname "dc" (ip saddr @hq_management oifname @store_tunnels accept)$', r"        \1", "nftables.conf")
        findings = _findings(opened, intent)
        assert findings and all(f"from {manager} " in f.message for f in findings), findings


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_no_store_reaches_the_clouds_bgp_speakers_through_its_hub(fleet: Fleet, platform: Platform) -> None:
    """A hub's cloud VPNs end at AWS's and the OpenStack gateways' BGP speakers, in the
    link-local range; the hub peers with them, no store does. The intent closes the range
    (`store_forwarding.private`), every hub platform denies it, and `store-isolation` catches a
    hub that lets a store through to one."""
    config, intent = _hub(fleet, platform)
    hub = intent.hub(HUB)
    speakers = [s.peer_address for s in hub.sessions if s.kind in ("hub-aws", "hub-openstack")]
    assert speakers and all(a.is_link_local for a in speakers)
    assert ipaddress.IPv4Network("169.254.0.0/16") in hub.store_forwarding.private
    assert _findings(config, intent) == []
    store = hub.store_forwarding.control[0].store_inside
    for address in speakers:
        assert not _verdict(config, hub, Packet("tcp", store, address, 179)), (platform, address)
    opened = {
        "cisco_xe": (r"^ \d+ deny ip any 169\.254\.0\.0 0\.0\.255\.255\n", "", ""),
        "huawei_vrp": (r"^ rule \d+ deny ip destination 169\.254\.0\.0 0\.0\.255\.255\n", "", ""),
        "fortinet": (r' "PRIVATE-169\.254\.0\.0/16"', "", ""),
        "frr": (r"169\.254\.0\.0/16, ", "", "nftables.conf"),
    }[platform]
    findings = _findings(_broken(config, *opened), intent)
    assert findings and any(f"BGP speaker {speakers[0]}" in f.message for f in findings), findings


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_no_store_reaches_the_dc_core_through_its_hub(
    fleet: Fleet, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DC core LAN is HQ's routing infrastructure (the core routers, the hubs' DC addresses:
    BGP between them only), no corporate range: every hub platform refuses a store's packet to a
    core router or to the other hub's DC address and still forwards one to a corporate server
    beside the LAN, and `store-isolation` catches a hub rendered with the LAN among the
    corporate ranges."""
    config, intent = _hub(fleet, platform)
    hub = intent.hub(HUB)
    other_hub = next(s.peer_address for s in hub.sessions if s.kind == "hub-hub")
    core = [*hub.dc.routers, other_hub]
    session = next(s for s in hub.sessions if s.kind == "store-hub")
    segment = _host(next(n for n in session.accepts if n.subnet_of(fleet.spec.ip_plan.stores)))
    for source in (segment, session.peer_address):
        for address in core:
            for protocol, port in (("tcp", 22), ("tcp", 179), ("tcp", 443), ("icmp", None)):
                packet = Packet(protocol, source, address, port)
                assert not _verdict(config, hub, packet), (platform, packet)
    beside = hq.core_lan(fleet.spec).broadcast_address + 4
    for server in (beside, _hq_server(fleet)):
        assert _verdict(config, hub, Packet("tcp", segment, server, 443)), (platform, server)
    assert _findings(config, intent) == []
    # A hub that takes the DC core for a corporate range, as every hub did before.
    monkeypatch.setattr(NetworkIntent, "dc_infrastructure", property(lambda self: ()))
    opened, _ = _hub(fleet, platform)
    monkeypatch.undo()
    findings = _findings(opened, intent)
    for address in hub.dc.routers:
        assert any(f"the DC core router {address} " in f.message for f in findings), (platform, findings)
    assert any(f"DC address {other_hub} " in f.message for f in findings), (platform, findings)


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_a_server_written_inside_the_dc_core_lan_stays_reached_and_the_rest_of_the_lan_not(
    fleet: Fleet, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IOS-XE and VRP deny the DC core LAN once before permitting HQ's ranges whole
    (`StoreForwarding.infrastructure`, `corporate_whole`); a management server written inside
    the LAN is a corporate host route, which that deny must not hide, on any platform."""
    syslog = NetworkIntent(fleet).management.syslog_servers[0]
    lan = ipaddress.IPv4Network(f"{syslog}/28", strict=False)
    monkeypatch.setattr(NetworkIntent, "dc_infrastructure", property(lambda self: (lan,)))
    config, intent = _hub(fleet, platform)
    hub = intent.hub(HUB)
    assert hub.store_forwarding.infrastructure == ()
    session = next(s for s in hub.sessions if s.kind == "store-hub")
    segment = _host(next(n for n in session.accepts if n.subnet_of(fleet.spec.ip_plan.stores)))
    assert _verdict(config, hub, Packet("udp", segment, syslog, 514)), platform
    neighbour = next(a for a in lan.hosts() if a != syslog)
    assert not _verdict(config, hub, Packet("tcp", segment, neighbour, 443)), (platform, neighbour)


def test_a_fortios_hub_takes_only_each_tunnels_own_control_traffic_to_itself(fleet: Fleet) -> None:
    """What a store tunnel brings to the FortiOS hub itself is local-in traffic, which no firewall
    policy governs: BGP, BFD and pings between the tunnel's own two inside addresses pass, and
    echo requests to the loopback; BGP to the hub's address of another store's tunnel, SSH or
    SNMP to the loopback, and anything to the DC or public address do not."""
    config, intent = _hub(fleet, "fortinet")
    hub = intent.hub(HUB)
    first, other = hub.store_forwarding.control[0], hub.store_forwarding.control[-1]
    store, own = first.store_inside, first.hub_inside
    for packet in (
        Packet("tcp", store, own, 179),
        Packet("udp", store, own, 3784),
        Packet("icmp", store, own),
        Packet("icmp", store, hub.loopback),
    ):
        assert _verdict(config, hub, packet), packet
    for packet in (
        Packet("tcp", store, other.hub_inside, 179),
        Packet("udp", store, other.hub_inside, 3784),
        Packet("tcp", store, own, 22),
        Packet("tcp", store, hub.loopback, 22),
        Packet("udp", store, hub.loopback, 161),
        Packet("tcp", store, hub.loopback, 179),
        Packet("tcp", store, hub.dc.address.ip, 179),
        Packet("tcp", store, hub.public_address, 22),
        Packet("udp", store, hub.public_address, 500),
    ):
        assert not _verdict(config, hub, packet), packet


@pytest.mark.parametrize(
    ("pattern", "replacement", "named"),
    [
        pytest.param(
            r"^config firewall local-in-policy\n(?:.*\n)*?^end\n", "", "the hub's own address", id="no-local-in"
        ),
        pytest.param(
            # no `set action`: deny, FortiOS's default
            r'^(    edit \d+\n        set intf "store-[^"]+"\n        set srcaddr "all"\n        set dstaddr "all"\n)'
            r'(?=        set service "ALL"\n)',
            r"\1        set action accept\n",
            "the hub's loopback",
            id="stores-local-in-accepts",
        ),
        pytest.param(
            # the first store tunnel's control policy
            r'^(    edit \d+\n        set intf "store-[^"]+"\n        set srcaddr )"[^"]+-FAR"\n        set dstaddr "[^"]+-NEAR"\n',
            r'\1"all"\n        set dstaddr "all"\n',
            "of another store's tunnel",
            id="tunnel-control-to-any-address",
        ),
    ],
)
def test_a_fortios_hub_open_to_its_stores_is_caught(fleet: Fleet, pattern: str, replacement: str, named: str) -> None:
    """`store-isolation` sends a store's packets to the FortiOS hub's own addresses through its
    local-in policies: without them (FortiOS's implicit local-in rules admit BGP from anywhere),
    with the stores' closing policy accepting, or with a tunnel's control policy open to every
    address of the hub, the lint names what a store reaches."""
    config, intent = _hub(fleet, "fortinet")
    assert _findings(config, intent) == []
    findings = _findings(_broken(config, pattern, replacement), intent)
    assert findings and any(named in f.message for f in findings), findings


def _hq_services(hub: HubIntent) -> list[tuple[str, ipaddress.IPv4Address, int]]:
    """What HQ's servers take from a hub's loopback: syslog, TACACS+, SNMP traps (to the first
    management range, where the pollers are)."""
    mgmt = hub.management
    return [
        ("udp", mgmt.syslog_servers[0], 514),
        ("tcp", mgmt.tacacs_servers[0], 49),
        ("udp", _host(mgmt.ranges[0]), 162),
    ]


def test_the_hubs_own_addresses_are_no_stores_source(fleet: Fleet) -> None:
    """Every hub's loopback and beacon sit in ip_plan.loopbacks beside the stores' loopbacks; the
    intent names them (`hub_owned`), every hub the same, no store's loopback among them, and
    `network show HUB` prints them as what the stores never send from."""
    intent = NetworkIntent(fleet)
    hubs = [intent.hub(name) for name in fleet.hubs]
    owned = sorted(a for h in hubs for a in (h.loopback, h.beacon.address if h.beacon else None) if a is not None)
    assert len(owned) == 2 * len(fleet.hubs)
    for name in fleet.hubs:
        forwarding = intent.hub(name).store_forwarding
        assert sorted(forwarding.hub_owned) == owned
        assert not any(forwarding.from_stores(address) for address in owned)
        assert hub_report(intent, name)["store_forwarding"]["never_from"] == [str(a) for a in forwarding.hub_owned]
    hub = intent.hub(HUB)
    stores = [n for s in hub.sessions if s.kind == "store-hub" for n in s.accepts if n.subnet_of(fleet.spec.ip_plan.loopbacks)]
    assert stores and all(hub.store_forwarding.from_stores(n.network_address) for n in stores)


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_no_store_sends_to_hq_as_a_hub(fleet: Fleet, platform: Platform) -> None:
    """A store sending from its tunnel as any hub's loopback or beacon (where the hub announces
    one: none on VRP, `HUB_NO_BEACON`), a forged syslog message, SNMP trap or TACACS+ request to
    HQ's servers, is dropped by every hub platform, while the store's own loopback still reaches
    the same servers."""
    config, intent = _hub(fleet, platform)
    hub = intent.hub(HUB)
    services = _hq_services(hub)
    hubs = [intent.hub(name) for name in fleet.hubs]
    owned = [a for h in hubs for a in (h.loopback, h.beacon.address if h.beacon else None) if a is not None]
    assert len(owned) >= len(hubs)
    for source in owned:
        for protocol, destination, port in services:
            packet = Packet(protocol, source, destination, port)
            assert not _verdict(config, hub, packet), (platform, packet)
    session = next(s for s in hub.sessions if s.kind == "store-hub")
    own = next(n.network_address for n in session.accepts if n.subnet_of(fleet.spec.ip_plan.loopbacks))
    for protocol, destination, port in services:
        assert _verdict(config, hub, Packet(protocol, own, destination, port)), (platform, own, destination)
    assert _findings(config, intent) == []


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_a_hub_letting_a_store_send_as_a_hub_is_caught(
    fleet: Fleet, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`store-isolation` sends a store's packets as each hub's loopback and beacon to HQ: a hub
    rendered without the drop (the store filter before `hub_owned`) is reported, naming it. A
    FortiOS hub's per-store groups hold no hub's address, so it renders the same without; a
    VRP hub's store tunnels take only their store's own filter, which holds none either."""
    build = NetworkIntent.hub

    def without(self: NetworkIntent, name: str) -> HubIntent:
        hub = build(self, name)
        return dataclasses.replace(hub, store_forwarding=dataclasses.replace(hub.store_forwarding, hub_owned=()))

    monkeypatch.setattr(NetworkIntent, "hub", without)
    old, _ = _hub(fleet, platform)
    monkeypatch.undo()
    _, intent = _hub(fleet, platform)
    findings = _findings(old, intent)
    owned = intent.hub(HUB).store_forwarding.hub_owned
    if platform == "fortinet":
        assert old.text == _hub(fleet, platform)[0].text and findings == []
        return
    if platform == "huawei_vrp":
        # Every store tunnel takes its own store's filter (FROM-STORE-<id>), whose sources hold
        # no hub's address: without the drop nothing of a hub's passes either.
        assert findings == [] and all(f"FROM-STORE-{o.store}" in old.text for o in intent.hub(HUB).store_forwarding.own)
        return
    assert any(f"a hub's own address {owned[0]}" in f.message for f in findings), findings
