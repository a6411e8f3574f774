"""`store-isolation`: no hub lets one store reach another store through it, on any platform.

A hub takes in from its store tunnels what the network intent's `HubIntent.store_forwarding`
says (the control traffic to the hub itself, the corporate ranges, the internet) and nothing
for another store: not its segments (`ip_plan.stores`), its loopback (its management address)
nor its tunnel addresses (`ip_plan.transit`). Each platform's extractor (`register_forwarding`:
IOS-XE and VRP read the store links' inbound ACL, FRR the host firewall's forward chain,
FortiOS the firewall policies from the store tunnels, and its local-in policies for what is
addressed to the unit itself) says what its hub config does with a
packet; this check sends it the starts of connections (SSH, SNMP, BGP, BFD, ping) between the
hub's first store and a spread of its other stores, both ways, from a segment and from a tunnel
address to each kind of address of the other store, and reports the rule that lets one through.
A store sends any source address it likes, so the same packets also come from an address of
the management ranges, which the hubs let reach the stores from the DC side: a filter that takes
that source for HQ's own, whichever way the packet came in, hands one store every other.
A store link with no filter at all is reported too. The same packets go to the far ends of the
hub's cloud VPNs (AWS's and the OpenStack gateways' BGP speakers, in the link-local range the
intent closes), to the DC core routers and the other hubs' DC addresses (HQ's routing
infrastructure, which the corporate ranges leave out: `NetworkIntent.dc_infrastructure`), and where the filter decides what reaches the hub itself
(`ForwardingFacts.to_hub`), to the hub's own addresses no store reaches
(`StoreForwarding.closed`: its DC and public addresses), to the hub's inside addresses of other
stores' tunnels (a tunnel's control traffic runs between its own two ends: `control`), and to
the hub's loopback, which the stores' tunnel addresses only ping (`pingable`). And a store
sending as what none of the stores' addresses is (`StoreForwarding.from_stores`: HQ's management
ranges and hosts, the hubs' DC neighbours, the internet, and the hubs' own loopbacks and beacons
inside the stores' ranges, `hub_owned`) reaches nothing through the hub. Nor does a store send
as another: a store's tunnels bring in that store's own addresses only
(`StoreForwarding.from_tunnel`): the extractor reads one store's tunnels, and a packet from
another store's segment or loopback to the corporate ranges is reported
(`store_impersonation`); a FortiOS or FRR hub would even hand the sender the answers, as both
answer a flow on the tunnel it came in on.

`cloud-store-isolation`: nor does a cloud host reach a store through a hub's cloud VPNs
(`HubIntent.cloud_forwarding`): each platform's `register_cloud_forwarding` extractor follows
the cloud VPNs' filter with the first packet of a connection from the clouds' prefixes to the
segments and loopback of a spread of the hub's stores; all but the flows the intent lets a cloud
open (`CloudForwarding.opens`) must be refused. UDP to an office host's ephemeral ports, which
a stateless hub cannot tell from an answer to the office's own flows, is not sent.

`cloud-dc-isolation`: nor a DC core router or another hub's DC address (HQ's routing
infrastructure, `CloudForwarding.infrastructure`): each cloud site's tunnels take from the
site's own ranges anything to HQ but that, and the probes the stores send there come from them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from storestack.devices.lint import (
    CLOUD_FORWARDING_EXTRACTORS,
    FORWARDING_EXTRACTORS,
    ConfigFile,
    Finding,
    ForwardingExtractor,
    ForwardingFacts,
    Packet,
    Verdict,
    load_platform_rules,
)
from storestack.network.build import NetworkIntent
from storestack.network.model import EPHEMERAL_PORTS, CloudFlow, CloudSite, HubIntent

RULE = "store-isolation"
# What a store might try on another: SSH and SNMP to its management, BGP and BFD to its
# routing, a ping to map it.
_PROBES = (("tcp", 22), ("udp", 161), ("tcp", 179), ("udp", 3784), ("icmp", None))
# How many other stores of a hub the check sends packets to (and from).
_TARGETS = 8
_T = TypeVar("_T")
_L = TypeVar("_L")  # what a packet is labelled with for its finding's message


@dataclass(frozen=True, slots=True)
class _StoreAddresses:
    store: str
    segment: ipaddress.IPv4Address | None  # a host of its first LAN segment
    loopback: ipaddress.IPv4Address | None
    tunnel: ipaddress.IPv4Address  # its inside address of one tunnel to the hub


def _first_host(net: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
    return net.network_address if net.prefixlen == 32 else net.network_address + 1


def _stores(hub: HubIntent) -> list[_StoreAddresses]:
    """One set of addresses per store of the hub, from its BGP session (what the hub accepts from
    it: its segments and loopback) and its tunnel."""
    stores, loopbacks = hub.store_forwarding.stores, hub.store_forwarding.loopbacks
    found: dict[str, _StoreAddresses] = {}
    for session in hub.sessions:
        if session.kind != "store-hub" or session.peer in found:
            continue
        segment = next((_first_host(n) for n in session.accepts if n.subnet_of(stores)), None)
        loopback = next((_first_host(n) for n in session.accepts if n.subnet_of(loopbacks)), None)
        found[session.peer] = _StoreAddresses(session.peer, segment, loopback, session.peer_address)
    return list(found.values())


def _spread(items: Sequence[_T]) -> list[_T]:
    """Up to `_TARGETS` of `items`, spread over them, the last one always among them."""
    step = max(1, len(items) // _TARGETS)
    sample = list(items[::step][:_TARGETS])
    if items and items[-1] not in sample:
        sample.append(items[-1])
    return sample


def _spoofed(hub: HubIntent) -> tuple[ipaddress.IPv4Address, ...]:
    """A source a store does not own but may send from its tunnel: a host of the first management
    range (HQ's operators, whom every hub lets reach the stores)."""
    return tuple(_first_host(net) for net in hub.management.ranges[:1])


def _packets(hub: HubIntent) -> Iterator[tuple[str, str, Packet]]:
    """(store, what of another store, packet): the hub's first store as the sender to up to
    `_TARGETS` others spread over the hub's stores (every one on a small hub), and each of those
    as the sender to the first; a filter is first-match over ranges and per-tunnel hosts, so a
    spread sample finds what a hub lets through without following a thousand-tunnel ACL for
    every pair."""
    stores = _stores(hub)
    if len(stores) < 2:
        return
    sample = _spread(stores[1:])
    pairs = [(stores[0], other) for other in sample] + [(other, stores[0]) for other in sample]
    for sender, target in pairs:
        targets = [
            ("segment", target.segment),
            ("loopback (management address)", target.loopback),
            ("tunnel address", target.tunnel),
        ]
        for source in (sender.segment, sender.tunnel, *_spoofed(hub)):
            if source is None:
                continue
            for what, destination in targets:
                if destination is None:
                    continue
                for protocol, port in _PROBES:
                    yield sender.store, f"store {target.store}'s {what}", Packet(protocol, source, destination, port)


def _first_store_packets(
    hub: HubIntent, targets: Sequence[tuple[str, ipaddress.IPv4Address]]
) -> Iterator[tuple[str, str, Packet]]:
    """(store, what, packet): the probes from the hub's first store's segment and tunnel address
    to each (what, address) of `targets`."""
    for sender in _stores(hub)[:1]:
        for source in (sender.segment, sender.tunnel):
            if source is None:
                continue
            for what, address in targets:
                for protocol, port in _PROBES:
                    yield sender.store, what, Packet(protocol, source, address, port)


def _hub_packets(hub: HubIntent) -> Iterator[tuple[str, str, Packet]]:
    """The probes to the hub's own addresses: those no store reaches (`closed`), the hub's
    inside addresses of other stores' tunnels (a tunnel's control traffic runs between its own
    two inside addresses only: `control`), and the hub's loopback (`pingable`: echo requests
    from the tunnel range, nothing else)."""
    forwarding = hub.store_forwarding
    senders = _stores(hub)[:1]
    others = [c.hub_inside for c in forwarding.control if all(c.store != s.store for s in senders)]
    targets = [(f"the hub's own address {address}", address) for address in forwarding.closed]
    targets += [
        (f"the hub's inside address {address} of another store's tunnel", address)
        for address in _spread(list(dict.fromkeys(others)))
    ]
    yield from _first_store_packets(hub, targets)
    pingable = [(f"the hub's loopback {address}", address) for address in forwarding.pingable]
    for store, what, packet in _first_store_packets(hub, pingable):
        if not (packet.protocol == "icmp" and packet.source in forwarding.tunnels):
            yield store, what, packet


def _cloud_packets(hub: HubIntent) -> Iterator[tuple[str, str, Packet]]:
    """The probes to the far end of each of the hub's cloud VPNs: a BGP speaker of AWS or of an
    OpenStack gateway, which only the hub peers with."""
    targets = [
        (f"{session.peer}'s BGP speaker {session.peer_address}", session.peer_address)
        for session in hub.sessions
        if session.kind in ("hub-aws", "hub-openstack")
    ]
    return _first_store_packets(hub, targets)


def _dc_targets(hub: HubIntent) -> list[tuple[str, ipaddress.IPv4Address]]:
    """(what, address): HQ's routing infrastructure behind the hub (`NetworkIntent.dc_infrastructure`):
    each DC core router and each other hub's DC address, which peer in BGP with the hubs only."""
    targets = [(f"the DC core router {address}", address) for address in hub.dc.routers]
    targets += [
        (f"hub {session.peer}'s DC address {session.peer_address}", session.peer_address)
        for session in hub.sessions
        if session.kind == "hub-hub"
    ]
    return targets


def _dc_packets(hub: HubIntent) -> Iterator[tuple[str, str, Packet]]:
    """The probes to HQ's routing infrastructure behind the hub (`_dc_targets`), which the
    corporate ranges leave out."""
    return _first_store_packets(hub, _dc_targets(hub))


# An internet address that is no fleet's (RFC 2544's benchmarking range): what a store would
# send to, and spoof, on the internet through HQ's breakout.
_INTERNET = ipaddress.IPv4Address("198.18.0.9")


def _spoofed_packets(hub: HubIntent) -> Iterator[tuple[str, str, Packet]]:
    """(store, what, packet): the hub's first store sending, from inside its tunnel, as what is
    none of the stores' addresses (`StoreForwarding.from_stores`): HQ's management ranges, a
    corporate host, the hub's DC neighbours (the core routers, the other hubs), an internet
    address, a hub's own address inside the stores' ranges (`hub_owned`); to a
    host of each corporate range and to the internet. The filters behind the hub trust some of
    those sources (the other hubs' DC port filters take BGP from a hub's DC address, HQ's
    servers their management ranges); a store may send as any of them."""
    senders = _stores(hub)[:1]
    if not senders:
        return
    forwarding = hub.store_forwarding
    sources = [(f"HQ's management range {net}", _first_host(net)) for net in hub.management.ranges]
    sources += [(f"the corporate range {net}", _first_host(net)) for net in forwarding.corporate]
    sources += [(f"the DC core router {address}", address) for address in hub.dc.routers]
    sources += [
        (f"hub {session.peer}'s DC address {session.peer_address}", session.peer_address)
        for session in hub.sessions
        if session.kind == "hub-hub"
    ]
    sources.append((f"the internet address {_INTERNET}", _INTERNET))
    # A hub's own address inside the stores' ranges (`hub_owned`: every hub's loopback and
    # beacon), whose syslog, traps and TACACS+ HQ's servers take.
    sources += [(f"a hub's own address {address}", address) for address in forwarding.hub_owned]
    destinations = [_first_host(net) for net in forwarding.corporate] + [_INTERNET + 1]
    for name, source in sources:
        if forwarding.from_stores(source):
            continue
        for destination in destinations:
            for protocol, port in _PROBES:
                yield senders[0].store, f"the corporate ranges or the internet sending as {name}", Packet(protocol, source, destination, port)


def _impersonations(hub: HubIntent) -> Iterator[tuple[str, str, Packet]]:
    """(sender, victim, packet): the hub's first store sending from its own tunnels as a spread
    of its other stores (a host of the victim's first segment and its loopback), and each of
    those as the first, to a host of each corporate range."""
    stores = _stores(hub)
    if len(stores) < 2:
        return
    sample = _spread(stores[1:])
    destinations = [_first_host(net) for net in hub.store_forwarding.corporate]
    for sender, victim in [(stores[0], other) for other in sample] + [(other, stores[0]) for other in sample]:
        for source in (victim.segment, victim.loopback):
            if source is None:
                continue
            for destination in destinations:
                for protocol, port in _PROBES:
                    yield sender.store, victim.store, Packet(protocol, source, destination, port)


def _impersonation_message(label: tuple[str, str], packet: Packet, verdict: Verdict) -> str:
    sender, victim = label
    return (
        f"{verdict.rule!r} lets store {sender} send from its own tunnels as store {victim} "
        f"({_service(packet)} from {packet.source} to {packet.destination}), and the hub answers "
        f"on the tunnel it came in on: {sender} impersonates {victim} to HQ"
    )


def store_impersonation(
    config: ConfigFile, hub: HubIntent, extractor: ForwardingExtractor, peers: dict[str, frozenset[str]]
) -> Iterator[Finding]:
    """A store's tunnels bring in that store's own addresses only (`StoreForwarding.from_tunnel`):
    the extractor reads the filter of one store's tunnels (`peers`, each store's tunnel peers)
    and every packet from another store's address must be dropped."""
    by_sender: dict[str, list[tuple[tuple[str, str], Packet]]] = {}
    for sender, victim, packet in _impersonations(hub):
        by_sender.setdefault(sender, []).append(((sender, victim), packet))
    reported: set[tuple[int, Hashable]] = set()
    for sender, packets in by_sender.items():
        facts = extractor(config, peers.get(sender, frozenset()))
        yield from _forwarded(
            facts.verdict,
            facts.file or config.name,
            RULE,
            packets,
            _impersonation_message,
            once_per=lambda label: label[1],
            reported=reported,
        )


def _service(packet: Packet) -> str:
    """`tcp/22`, `icmp`: what a finding says a packet is."""
    return packet.protocol if packet.port is None else f"{packet.protocol}/{packet.port}"


def _forwarded(
    verdict: Callable[[Packet], Verdict],
    file: str,
    rule: str,
    packets: Iterable[tuple[_L, Packet]],
    message: Callable[[_L, Packet, Verdict], str],
    *,
    once_per: Callable[[_L], Hashable] = lambda label: None,
    reported: set[tuple[int, Hashable]] | None = None,
) -> Iterator[Finding]:
    """A `rule` finding in `file` at the line of each filter rule that `verdict` (a
    `ForwardingFacts.verdict`) says forwards one of `packets`, in their order, with the
    `message` built from the packet's label, the packet and the verdict. One finding per rule
    line and `once_per(label)` (by default one per rule line), counting those already in
    `reported` (a set shared by calls that report under one rule), which it adds to."""
    reported = set() if reported is None else reported
    for label, packet in packets:
        decided = verdict(packet)
        key = (decided.line, once_per(label))
        if not decided.forwarded or key in reported:
            continue
        reported.add(key)
        yield Finding(file, decided.line, rule, message(label, packet, decided))


def _store_message(label: tuple[str, str], packet: Packet, verdict: Verdict) -> str:
    store, what = label
    return (
        f"{verdict.rule!r} lets store {store} reach {what} through the hub "
        f"({_service(packet)} from {packet.source} to {packet.destination})"
    )


def store_isolation(config: ConfigFile, hub: HubIntent) -> Iterator[Finding]:
    extractor = FORWARDING_EXTRACTORS.get(config.platform)
    if extractor is None:
        return
    by_store: dict[str, set[str]] = {}
    for tunnel in hub.tunnels:
        if tunnel.kind == "store-hub":
            ids = (tunnel.peer_id, str(tunnel.peer_outside) if tunnel.peer_outside else None)
            by_store.setdefault(tunnel.peer, set()).update(value for value in ids if value is not None)
    peers = frozenset(value for values in by_store.values() for value in values)
    facts = extractor(config, peers)
    for line, why in facts.unfiltered:
        yield config.finding(line, RULE, f"{why}: a store reaches every other store through this hub")
    packets = [*_packets(hub), *_cloud_packets(hub), *_dc_packets(hub), *_spoofed_packets(hub)]
    if facts.to_hub:
        packets += _hub_packets(hub)
    labelled = (((store, what), packet) for store, what, packet in packets)
    # one finding per rule line and what of another store (or of the hub) it lets a store reach
    yield from _forwarded(
        facts.verdict,
        facts.file or config.name,
        RULE,
        labelled,
        _store_message,
        once_per=lambda label: label[1],
    )
    yield from store_impersonation(
        config, hub, extractor, {store: frozenset(values) for store, values in by_store.items()}
    )


CLOUD_RULE = "cloud-store-isolation"
# What a cloud host might open towards a store: the store-to-store probes, and the services of
# the segments a compromised desktop or workload would go for (HTTPS of IoT and the tills, RTSP
# of the cameras, MQTT of IoT devices).
_CLOUD_PROBES = (*_PROBES, ("tcp", 443), ("tcp", 554), ("tcp", 8883))


def _cloud_store_packets(hub: HubIntent) -> Iterator[tuple[str, Packet]]:
    """(what, packet): the start of a connection from a host of each of the clouds' prefixes
    (`CloudForwarding.sources`) to every segment (and the loopback) of a spread of the hub's
    stores, but those the intent lets a cloud open (`CloudForwarding.opens`)."""
    forwarding = hub.cloud_forwarding
    if forwarding is None:
        return
    stores, loopbacks = hub.store_forwarding.stores, hub.store_forwarding.loopbacks
    found: dict[str, list[ipaddress.IPv4Address]] = {}
    for session in hub.sessions:
        if session.kind == "store-hub" and session.peer not in found:
            found[session.peer] = [
                _first_host(net) for net in session.accepts if net.subnet_of(stores) or net.subnet_of(loopbacks)
            ]
    for store in _spread(list(found)):
        for source in (_first_host(net) + 7 for net in forwarding.sources):
            for destination in found[store]:
                for protocol, port in _CLOUD_PROBES:
                    packet = Packet(protocol, source, destination, port)
                    if any(_opens(flow, packet) for flow in forwarding.opens):
                        continue
                    if any(_answer_like(flow, packet) for flow in forwarding.replies):
                        continue
                    yield f"store {store}'s {destination}", packet


def _answer_like(flow: CloudFlow, packet: Packet) -> bool:
    """Whether `packet` looks to a stateless filter like an answer to `flow` (one a store opens):
    UDP from the flow's cloud prefixes to an ephemeral port (`EPHEMERAL_PORTS`) of its segments,
    where the flow takes UDP and fixes no port. IOS-XE and VRP cannot tell it from an answer; the
    intent admits it there (`CloudForwarding`)."""
    low, high = EPHEMERAL_PORTS
    return (
        packet.protocol == "udp"
        and flow.protocol in ("ip", "udp")
        and not flow.ports
        and low <= (packet.port or 0) <= high
        and any(packet.source in net for net in flow.clouds)
        and any(packet.destination in net for net in flow.stores)
    )


def _opens(flow: CloudFlow, packet: Packet) -> bool:
    """Whether `flow` (one a cloud may open) is what `packet` starts."""
    return (
        flow.protocol in ("ip", packet.protocol)
        and any(packet.source in net for net in flow.clouds)
        and any(packet.destination in net for net in flow.stores)
        and (not flow.ports or any(low <= (packet.port or 0) <= high for low, high in flow.ports))
    )


def _cloud_message(what: str, packet: Packet, verdict: Verdict) -> str:
    return (
        f"{verdict.rule!r} lets a cloud host open a connection to {what} through the hub "
        f"({_service(packet)} from {packet.source}); the intent lets a cloud open nothing there "
        "but `cloud_forwarding.opens`"
    )


def cloud_store_isolation(config: ConfigFile, hub: HubIntent) -> Iterator[Finding]:
    """`cloud-store-isolation`: a hub forwards from its cloud VPNs towards a store only the
    answers to the store's own flows and what the intent lets a cloud open
    (`HubIntent.cloud_forwarding`), so a compromised cloud desktop or workload opens no
    connection to a store's POS, CCTV or IoT. Each platform's `register_cloud_forwarding`
    extractor says what its hub config does with the first packet of a connection from a cloud
    VPN; every one forwarded to a store is a finding, as is a cloud VPN with no filter at all."""
    extractor = CLOUD_FORWARDING_EXTRACTORS.get(config.platform)
    if extractor is None or hub.cloud_forwarding is None:
        return
    facts = extractor(config, frozenset())
    for line, why in facts.unfiltered:
        yield config.finding(line, CLOUD_RULE, f"{why}: a cloud host opens connections to every store")
    yield from _forwarded(
        facts.verdict, facts.file or config.name, CLOUD_RULE, _cloud_store_packets(hub), _cloud_message
    )


CLOUD_SOURCE_RULE = "cloud-source-isolation"


def _cross_site_packets(hub: HubIntent, site: CloudSite) -> Iterator[tuple[str, Packet]]:
    """(what, packet): from a host of each other cloud site's ranges (`CloudSite.sources`) what
    that site's tunnels would pass: a connection to HQ, and UDP to a store segment's ephemeral
    port (what a stateless hub takes for an answer to the store's flow)."""
    forwarding = hub.cloud_forwarding
    if forwarding is None:
        return
    low, _ = EPHEMERAL_PORTS
    for other in forwarding.sites:
        if other.name == site.name:
            continue
        for net in other.sources:
            source = _first_host(net) + 7
            for hq in forwarding.hq:
                yield f"HQ's {_first_host(hq)} from {other.name}'s range", Packet("tcp", source, _first_host(hq), 443)
            for flow in other.forwarding.replies[:1]:
                store = _first_host(flow.stores[0])
                yield f"store segment {store} from {other.name}'s range", Packet("udp", source, store, low)


def _spoofed_source_message(site: str, what: str, packet: Packet, verdict: Verdict) -> str:
    return (
        f"{verdict.rule!r} lets {site}'s tunnels bring in a packet to {what} "
        f"({packet.source}): a spoofed source, that site's hosts sit behind its own tunnels"
    )


def _cloud_site_facts(config: ConfigFile, hub: HubIntent) -> Iterator[tuple[CloudSite, ForwardingFacts]]:
    """Each cloud site of the hub (`CloudForwarding.sites`) with what its own tunnels forward:
    the platform's `register_cloud_forwarding` extractor given those tunnels' inside addresses.
    Nothing where the platform has no extractor or the hub no cloud VPN."""
    extractor = CLOUD_FORWARDING_EXTRACTORS.get(config.platform)
    forwarding = hub.cloud_forwarding
    if extractor is None or forwarding is None:
        return
    inside = {t.id: str(t.local_inside.ip) for t in hub.tunnels if t.local_inside is not None}
    for site in forwarding.sites:
        yield site, extractor(config, frozenset(inside[t] for t in site.tunnels if t in inside))


def cloud_source_isolation(config: ConfigFile, hub: HubIntent) -> Iterator[Finding]:
    """`cloud-source-isolation`: each cloud site's VPNs bring in their own site's ranges only
    (`CloudForwarding.sites`, what the site's BGP sessions accept): a packet from another site's
    range on them is spoofed (that site's hosts sit behind its own tunnels), and the hub drops
    it, whatever it is addressed to. Each platform's `register_cloud_forwarding` extractor reads
    one site's tunnels, by their own inside addresses."""
    reported: set[tuple[int, Hashable]] = set()  # one finding per rule line over all the sites
    for site, facts in _cloud_site_facts(config, hub):
        packets = _cross_site_packets(hub, site)
        message = partial(_spoofed_source_message, site.name)
        yield from _forwarded(
            facts.verdict, facts.file or config.name, CLOUD_SOURCE_RULE, packets, message, reported=reported
        )


CLOUD_DC_RULE = "cloud-dc-isolation"


def _cloud_dc_packets(hub: HubIntent, site: CloudSite) -> Iterator[tuple[str, Packet]]:
    """(what, packet): from a host of each of `site`'s own ranges, the starts of connections
    (`_PROBES`: SSH, SNMP, BGP, BFD, ping) to HQ's routing infrastructure behind the hub
    (`_dc_targets`, which `CloudForwarding.hq` leaves out)."""
    targets = _dc_targets(hub)
    for net in site.sources:
        source = _first_host(net) + 7
        for what, destination in targets:
            for protocol, port in _PROBES:
                yield what, Packet(protocol, source, destination, port)


def _cloud_dc_message(site: str, what: str, packet: Packet, verdict: Verdict) -> str:
    return (
        f"{verdict.rule!r} lets {site}'s tunnels bring a cloud host to {what} "
        f"({_service(packet)} from {packet.source}): HQ's routing infrastructure, where no cloud "
        "service lives (`cloud_forwarding.infrastructure`)"
    )


def cloud_dc_isolation(config: ConfigFile, hub: HubIntent) -> Iterator[Finding]:
    """`cloud-dc-isolation`: a hub forwards from its cloud VPNs anything to HQ but its routing
    infrastructure (`CloudForwarding.hq`, `infrastructure`: the DC core LAN), so a compromised
    cloud workload or desktop opens no connection to the DC core routers or the hubs' DC
    addresses. Each platform's `register_cloud_forwarding` extractor reads one site's tunnels,
    which take that site's own ranges."""
    reported: set[tuple[int, Hashable]] = set()  # one finding per rule line and target
    for site, facts in _cloud_site_facts(config, hub):
        yield from _forwarded(
            facts.verdict,
            facts.file or config.name,
            CLOUD_DC_RULE,
            _cloud_dc_packets(hub, site),
            partial(_cloud_dc_message, site.name),
            once_per=lambda what: what,
            reported=reported,
        )


def isolation_check(files: Sequence[ConfigFile], intent: NetworkIntent) -> Iterator[Finding]:
    load_platform_rules()
    for config in files:
        if config.suffix or config.role != "hub":
            continue
        hub = intent.hub(config.hostname)
        yield from store_isolation(config, hub)
        yield from cloud_store_isolation(config, hub)
        yield from cloud_source_isolation(config, hub)
        yield from cloud_dc_isolation(config, hub)
