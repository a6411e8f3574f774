"""Cross-file lint: every tunnel of the network intent, checked at both ends as the configs spell
it (addresses, identities, BGP ASN, PSK slot, traffic selectors, BFD on both ends or neither, and its timers), and its proposals against the far end's
(AWS's from `network/crypto.py`; an OpenStack site's gateway runs the fleet policy itself, with
the inside /30 of `network/cloud.py`); and each store's SLA probes against the hub they probe,
which must answer them (each platform's `register_probes` and `register_answers`); what each end
of a store-hub session announces against the other end's route filters and its own
(`register_route_filters`), and against the other end's prefix limit (a store's AWS sessions:
the limit the intent gives them, no lower than what the store's AWS filter passes); each hub's
summaries (`register_summaries`) and, where it has a beacon, its stores' routes towards the other
hubs (`register_advertisements`); and what each cloud BGP session takes in against the ranges
the intent gives that cloud site and every other owner (`cloud-routes`), and what each cloud
session sets on the routes it carries against the hub's cloud rank (`cloud-return-path`), and
what the route-maps bound to each hub's store sessions rank a store's routes tagged degraded at
(each platform's return-path rule)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from storestack.devices.lint import (
    ADVERTISEMENT_EXTRACTORS,
    ANSWER_EXTRACTORS,
    EXTRACTORS,
    PROBE_EXTRACTORS,
    RANKING_EXTRACTORS,
    ROUTE_FILTER_EXTRACTORS,
    SESSION_BFD_EXTRACTORS,
    SUMMARY_EXTRACTORS,
    ConfigFile,
    Finding,
    PrefixList,
    ProbeAnswers,
    RouteFilters,
    SessionBfdFact,
    TunnelFact,
    id_type_of,
    load_platform_rules,
)
from storestack.devices.lint.steering import return_ranking_findings
from storestack.network.build import NetworkIntent
from storestack.network.cloud import hub_openstack_inside
from storestack.network.crypto import (
    FLEET_CRYPTO,
    TCP_IPV4_HEADERS,
    EspProposal,
    IkeProposal,
    aws_tunnel_options,
)
from storestack.network.model import BGP_DEFAULT_LOCAL_PREF, BgpSession, Tunnel

_Read = TypeVar("_Read")  # what one lint registry's readers find in a config

BFD_MISMATCH = "bfd-mismatch"
HUB_HUB_BFD = "hub-hub-bfd"
TRAFFIC_SELECTORS = "traffic-selectors"
REPLAY_WINDOW = "replay-window"
TUNNEL_MTU = "tunnel-mtu"
PROBE_UNANSWERED = "probe-unanswered"

_AWS_ENCRYPTION = {"AES256-GCM-16": "aes256gcm16", "AES256": "aes256", "AES128-GCM-16": "aes128gcm16"}
_AWS_INTEGRITY = {"SHA2-384": "sha384", "SHA2-256": "sha256", "SHA2-512": "sha512"}


def aws_proposals() -> tuple[frozenset[IkeProposal], frozenset[EspProposal]]:
    """What the AWS VpnConnection tunnel options (built from the fleet policy) accept."""
    options = aws_tunnel_options()

    def listed(key: str) -> list[str]:
        values = options[key]
        assert isinstance(values, list)
        return [str(value) for value in values]

    ike = frozenset(
        IkeProposal(_AWS_ENCRYPTION[enc], _AWS_INTEGRITY[integ], int(group))
        for enc in listed("phase1_encryption_algorithms")
        for integ in listed("phase1_integrity_algorithms")
        for group in listed("phase1_dh_group_numbers")
    )
    esp = frozenset(
        EspProposal(
            _AWS_ENCRYPTION[enc],
            None if "GCM" in enc else _AWS_INTEGRITY[integ],
            int(group),
        )
        for enc in listed("phase2_encryption_algorithms")
        for integ in listed("phase2_integrity_algorithms")
        for group in listed("phase2_dh_group_numbers")
    )
    return ike, esp


@dataclass(frozen=True, slots=True)
class _End:
    hostname: str
    platform: str
    file: str
    facts: dict[str, TunnelFact]  # by tunnel id


def _ends(files: Sequence[ConfigFile]) -> dict[str, _End]:
    load_platform_rules()
    ends = {}
    for config in files:
        extractor = EXTRACTORS.get(config.platform)
        if config.suffix or extractor is None:
            continue
        ends[config.hostname] = _End(
            config.hostname, config.platform, config.name, {fact.name: fact for fact in extractor(config)}
        )
    return ends


def cross_check(files: Sequence[ConfigFile], intent: NetworkIntent) -> Iterator[Finding]:
    ends = _ends(files)
    aws_ike, aws_esp = aws_proposals()
    fleet_ike, fleet_esp = frozenset(FLEET_CRYPTO.ike), frozenset(FLEET_CRYPTO.esp)
    checked_hubs: set[str] = set()
    # each appliance's main config, its companions (FRR: nftables.conf) beside it
    mains = {config.hostname: config for config in files if not config.suffix}
    answers: dict[str, ProbeAnswers | None] = {}  # each hub's, read once for all its stores
    filters: dict[str, RouteFilters | None] = {}  # each appliance's, read once
    session_bfd: dict[str, dict[str, SessionBfdFact] | None] = {}  # each hub's, read once
    for config in files:
        if config.suffix:
            continue
        if config.role == "hub":
            checked_hubs.add(config.hostname)
            end = ends.get(config.hostname)
            if end is None:
                continue
            yield from _dc_peers(config, intent)
            yield from _hub_hub_bfd(config, intent, mains, session_bfd)
            yield from _hub_summaries(config, intent)
            yield from _hub_stores_conditional(config, intent)
            yield from _hub_store_default(config, intent, filters)
            yield from _cloud_routes(config, intent.hub(config.hostname).sessions, intent, filters)
            yield from _cloud_return_path(config, intent, filters)
            yield from _store_return_ranking(config, intent, filters)
            for tunnel in intent.hub(config.hostname).tunnels:
                fact = end.facts.get(tunnel.id)
                if fact is None:
                    yield Finding(
                        end.file, 0, "missing-peer", f"hub has no tunnel {tunnel.id} (to {tunnel.peer})"
                    )
                    continue
                yield from _against_intent(fact, tunnel)
                if tunnel.kind == "hub-aws":
                    yield from _proposals(fact, aws_ike, aws_esp, "AWS")
                if tunnel.kind == "hub-openstack":
                    yield from _proposals(fact, fleet_ike, fleet_esp, "the OpenStack gateway (fleet crypto policy)")
                    yield from _against_openstack_gateway(fact, tunnel, intent, config.hostname)
            continue
        if config.store_id is None:
            continue
        store = intent.store(config.store_id, config.hostname)
        end = ends.get(config.hostname)
        yield from _probes_answered(config, store.tunnels, mains, answers)
        yield from _cloud_routes(config, store.sessions, intent, filters)
        for tunnel in store.tunnels:
            fact = end.facts.get(tunnel.id) if end else None
            if end is not None and fact is None:
                yield Finding(
                    end.file, 0, "missing-tunnel", f"store has no tunnel {tunnel.id} (to {tunnel.peer})"
                )
                continue
            if fact is not None:
                yield from _against_intent(fact, tunnel)
                yield from _underlay_mtu(fact, tunnel)
            if tunnel.kind == "store-aws":
                if fact is not None:
                    yield from _proposals(fact, aws_ike, aws_esp, "AWS")
                yield from _aws_prefix_limit(config, tunnel, store.sessions, filters)
                continue
            if tunnel.kind != "store-hub":
                continue
            hub_end = ends.get(tunnel.peer)
            hub_fact = hub_end.facts.get(tunnel.id) if hub_end else None
            if fact is not None and hub_fact is not None:
                yield from _pair(fact, hub_fact)
            hub_config, pair = mains.get(tunnel.peer), _store_hub_sessions(tunnel, store.sessions, intent)
            if hub_config is not None and pair is not None:
                yield from _route_filters(config, hub_config, tunnel, *pair, intent, filters)
                yield from _prefix_limits(config, hub_config, tunnel, *pair, filters)


def _against_intent(fact: TunnelFact, tunnel: Tunnel) -> Iterator[Finding]:
    """The config's end says what the intent says for that end."""
    expected = {
        "inside address": (fact.local_inside, str(tunnel.local_inside.ip) if tunnel.local_inside else None),
        "peer inside address": (fact.peer_inside, str(tunnel.peer_inside) if tunnel.peer_inside else None),
        "peer outside address": (
            fact.peer_outside,
            str(tunnel.peer_outside) if tunnel.peer_outside else None,
        ),
        "IKE identity": (fact.local_id, tunnel.local_id),
        "peer IKE identity": (fact.peer_id, tunnel.peer_id),
        "peer ASN": (fact.peer_asn, tunnel.peer_asn if tunnel.local_inside else None),
        "PSK slot": (fact.psk_slot, f"<{tunnel.psk.name}>"),
    }
    if fact.local_id_type is not None:
        expected["IKE identity type"] = (fact.local_id_type, id_type_of(tunnel.local_id))
    if fact.peer_id_type is not None:
        expected["peer IKE identity type"] = (fact.peer_id_type, id_type_of(tunnel.peer_id))
    if fact.any_peer_address:
        del expected["peer outside address"]
    if fact.peer_id is not None and fact.peer_id_type is not None and id_type_of(fact.peer_id) != fact.peer_id_type:
        # An identity of one type named as another (a VRP IKE peer's FQDN `remote-id` under
        # `local-id-type ip`, the type it checks the peer by without `remote-id-type`): no
        # identity the far end sends is both, whatever the intent says.
        yield Finding(
            fact.file,
            fact.line,
            "peer-mismatch",
            f"tunnel {fact.name}: expects the far end's IKE identity as type {fact.peer_id_type} but names "
            f"{fact.peer_id} (type {id_type_of(fact.peer_id)}): no identity the far end sends matches, "
            "so authentication fails",
        )
    yield from _mismatches(fact, expected, "the intent says")
    if fact.selectors is not None:
        wanted_selectors = (
            tuple(sorted(str(net) for net in tunnel.local_selectors)),
            tuple(sorted(str(net) for net in tunnel.peer_selectors)),
        )
        if fact.selectors != wanted_selectors:
            yield Finding(
                fact.file,
                fact.line,
                TRAFFIC_SELECTORS,
                f"tunnel {fact.name}: negotiates traffic selectors {_spelled(fact.selectors)}, the intent says "
                f"{_spelled(wanted_selectors)}: a route-based far end proposes and accepts those only, so the child SA "
                "is refused or protects part of what is routed into the tunnel",
            )
    yield from _replay_window(fact)
    yield from _tunnel_mtu(fact, tunnel)
    if fact.bfd is not None and fact.bfd != (tunnel.bfd is not None):
        yield Finding(
            fact.file,
            fact.line,
            BFD_MISMATCH,
            f"tunnel {fact.name}: BGP {'tracks' if fact.bfd else 'does not track'} its peer with BFD; "
            f"the intent says {'BFD profile ' + tunnel.bfd if tunnel.bfd else 'no BFD (the far end runs none)'}",
        )


def _tunnel_mtu(fact: TunnelFact, tunnel: Tunnel) -> Iterator[Finding]:
    """The end's tunnel MTU, with the fleet's ESP-in-UDP overhead, fits the MTU of the transport
    the tunnel rides on (`Tunnel.mtu`), and it clamps TCP SYNs to at most that MTU less 40 bytes:
    a larger packet is fragmented after encryption (or dropped where the carrier filters the ICMP
    that would tell the sender). Both ends hold the intent's values, so they agree."""
    wanted = tunnel.mtu
    overhead = FLEET_CRYPTO.esp_overhead_bytes()
    problems = []
    if fact.mtu == 0:
        problems.append(f"sets no IP MTU (the platform's default, not sized to its transport); the intent says {wanted.mtu}")
    elif fact.mtu is not None and fact.mtu + overhead > wanted.underlay:
        problems.append(
            f"IP MTU {fact.mtu} + {overhead} bytes of ESP in UDP = {fact.mtu + overhead} exceeds its "
            f"transport's MTU of {wanted.underlay}: every full-size packet is fragmented after encryption "
            f"(the intent says {wanted.mtu})"
        )
    elif fact.mtu is not None and fact.mtu != wanted.mtu:
        problems.append(f"IP MTU {fact.mtu}, the intent says {wanted.mtu} (its far end holds that)")
    ceiling = (fact.mtu or wanted.mtu) - TCP_IPV4_HEADERS
    if fact.tcp_mss == 0:
        problems.append(f"clamps no TCP MSS; the intent says {wanted.tcp_mss}")
    elif fact.tcp_mss is not None and fact.tcp_mss > min(ceiling, wanted.tcp_mss):
        problems.append(
            f"clamps TCP SYNs to an MSS of {fact.tcp_mss}, more than its MTU less 40 ({ceiling}) or the "
            f"intent's {wanted.tcp_mss}: a full-size segment does not fit the tunnel"
        )
    elif fact.tcp_mss is not None and fact.tcp_mss != wanted.tcp_mss:
        problems.append(f"clamps TCP SYNs to an MSS of {fact.tcp_mss}, the intent says {wanted.tcp_mss}")
    for problem in problems:
        yield Finding(fact.file, fact.line, TUNNEL_MTU, f"tunnel {fact.name}: {problem}")


def _underlay_mtu(fact: TunnelFact, tunnel: Tunnel) -> Iterator[Finding]:
    """A store end that sizes its forwarded ESP from its WAN port's MTU (`TunnelFact.underlay_mtu`,
    FortiOS) holds its transport's MTU on that port (`Tunnel.mtu.underlay`): a larger one sends
    UDP and ICMP that fit the tunnel out as ESP larger than the carrier carries; a smaller one
    drops what the tunnel's MTU and MSS clamp let in. Store ends only: the hub's port serves
    every store's link."""
    wanted = tunnel.mtu
    if fact.underlay_mtu is None or fact.underlay_mtu == wanted.underlay:
        return
    why = (
        "what it forwards into the tunnel up to the tunnel's MTU leaves as ESP larger than the carrier carries"
        if fact.underlay_mtu > wanted.underlay
        else f"it drops what the tunnel's MTU of {wanted.mtu} lets in"
    )
    yield Finding(
        fact.file,
        fact.line,
        TUNNEL_MTU,
        f"tunnel {fact.name}: its port's MTU is {fact.underlay_mtu}, its transport's {wanted.underlay}, and the ESP of "
        f"forwarded traffic is sized from the port's: {why}",
    )


def _replay_window(fact: TunnelFact) -> Iterator[Finding]:
    """The end's inbound SAs keep the fleet's anti-replay window (`CryptoPolicy.replay_window_packets`):
    the far end queues its ESP by class after numbering it, so a narrower window drops, as
    replays, the lower classes' packets that voice and POS overtook."""
    wanted = FLEET_CRYPTO.replay_window_packets
    if fact.replay_window is None or fact.replay_window >= wanted:
        return
    if fact.replay_window == 0:
        message = (
            f"tunnel {fact.name}: anti-replay checking is off, the fleet keeps a {wanted}-packet window: "
            "a captured ESP packet sent again is taken"
        )
    else:
        message = (
            f"tunnel {fact.name}: anti-replay window of {fact.replay_window} packets, the fleet keeps {wanted}: "
            "the far end queues its ESP by class after numbering it, so the lower classes' packets that "
            "voice and POS overtook arrive behind the window and are dropped as replays"
        )
    yield Finding(fact.file, fact.line, REPLAY_WINDOW, message)


def _mismatches(fact: TunnelFact, expected: Mapping[str, tuple[object, object]], wants: str) -> Iterator[Finding]:
    """A `peer-mismatch` finding for each of `expected`'s (what the config says, what is wanted)
    that differ; `wants` says who wants it ("the intent says")."""
    for what, (found, wanted) in expected.items():
        if found != wanted:
            message = f"tunnel {fact.name}: {what} is {found}, {wants} {wanted}"
            yield Finding(fact.file, fact.line, "peer-mismatch", message)


def _spelled(selectors: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    return f"local {', '.join(selectors[0])}, remote {', '.join(selectors[1])}"


def _against_openstack_gateway(fact: TunnelFact, tunnel: Tunnel, intent: NetworkIntent, hub: str) -> Iterator[Finding]:
    """The hub end of an OpenStack tunnel matches the gateway `OpenStackSite` builds: the inside
    /30 of the shared rule (the site's and the hub's slots IPAM pins, as the core stack takes
    them) and the gateway's ASN (`asn.openstack`)."""
    fleet = intent.fleet
    site = tunnel.peer.split(":", 1)[1]
    inside = hub_openstack_inside(fleet.openstack_site_slot(site), fleet.hub_slot(hub))
    expected = {
        "inside address": (fact.local_inside, str(inside.hub.ip)),
        "peer inside address": (fact.peer_inside, str(inside.gateway.ip)),
        "peer ASN": (fact.peer_asn, fleet.spec.asn.openstack),
    }
    yield from _mismatches(fact, expected, f"the OpenStack gateway of {site} expects")


ROUTE_FILTER = "route-filter"


def _read_once(
    config: ConfigFile, readers: Mapping[str, Callable[[ConfigFile], _Read]], cache: dict[str, _Read | None]
) -> _Read | None:
    """What the reader of `config`'s platform in `readers` (a lint registry) finds in it, read
    once per appliance (`cache`); None where the platform has no reader."""
    if config.hostname not in cache:
        reader = readers.get(config.platform)
        cache[config.hostname] = reader(config) if reader is not None else None
    return cache[config.hostname]


def _filters_of(config: ConfigFile, cache: dict[str, RouteFilters | None]) -> RouteFilters | None:
    return _read_once(config, ROUTE_FILTER_EXTRACTORS, cache)


def _store_hub_sessions(
    tunnel: Tunnel, sessions: Sequence[BgpSession], intent: NetworkIntent
) -> tuple[BgpSession, BgpSession] | None:
    """The store's and the hub's end of the BGP session inside a store-hub tunnel; None where
    the intent has no such pair (the far end is no hub of the fleet)."""
    session = next((s for s in sessions if s.tunnel == tunnel.id and s.kind == "store-hub"), None)
    if session is None or tunnel.peer not in intent.fleet.hubs:
        return None
    far = next((s for s in intent.hub(tunnel.peer).sessions if s.tunnel == tunnel.id), None)
    return None if far is None else (session, far)


def _route_filters(
    store: ConfigFile,
    hub: ConfigFile,
    tunnel: Tunnel,
    session: BgpSession,
    far: BgpSession,
    intent: NetworkIntent,
    cache: dict[str, RouteFilters | None],
) -> Iterator[Finding]:
    """What each end of a store-hub session announces (`BgpSession.announces`; the hub's default
    route where it originates one) passes the sender's outbound and the receiver's inbound route
    filters (`register_route_filters`): a store prefix refused at either end never reaches HQ
    through that tunnel, and HQ's return traffic takes another path or none; a hub route
    refused leaves the store without HQ, a cloud or the internet over that tunnel. The hubs'
    beacons are left out: only a store platform that steers by them takes them
    (`sla-hub-beacon`)."""
    mine, theirs = _filters_of(store, cache), _filters_of(hub, cache)
    beacons = {
        ipaddress.IPv4Network(beacon.address)
        for name in intent.fleet.hubs
        if (beacon := intent.hub(name).beacon) is not None
    }
    to_hub, to_store = str(session.peer_address), str(far.peer_address)
    hub_routes = [net for net in far.announces if net not in beacons]
    store_routes = "the hub never learns it from this tunnel (nor HQ through it)"
    hub_routes_lost = "the store never learns it over this tunnel"
    checks = [(store, mine, to_hub, "out", net, "the store's", store_routes) for net in session.announces]
    checks += [(hub, theirs, to_store, "in", net, "the hub's", store_routes) for net in session.announces]
    checks += [(hub, theirs, to_store, "out", net, "the hub's", hub_routes_lost) for net in hub_routes]
    # What the store takes of them: with more than two hubs a hub also announces the loopbacks
    # of hubs that are not the store's, which the intent has the store refuse (`accepts`).
    accepted = set(session.accepts)
    received = [
        *(net for net in hub_routes if net in accepted),
        *([ipaddress.IPv4Network("0.0.0.0/0")] if far.default_originate else []),
    ]
    checks += [(store, mine, to_hub, "in", net, "the store's", hub_routes_lost) for net in received]
    for config, filters, neighbor, direction, net, whose, lost in checks:
        refused = filters.refusal(neighbor, direction, net) if filters is not None else None
        if refused is None:
            continue
        line, why = refused
        side = "outbound filter towards" if direction == "out" else "inbound filter from"
        yield config.finding(
            line,
            ROUTE_FILTER,
            f"tunnel {tunnel.id}: {whose} {side} {neighbor} refuses {net} ({why}), a route the intent has "
            f"the session carry: {lost}",
        )


HUB_STORE_DEFAULT = "hub-store-default"


def hub_tables(intent: NetworkIntent, hub: str) -> tuple[list[ipaddress.IPv4Network], list[ipaddress.IPv4Network]]:
    """What `hub`'s BGP table holds, as the intent has it, with its DC core sessions down (its
    own routes and beacon, the stores', the other hubs' and the clouds', every aggregate that
    forms on them) and with them up (HQ's and the management routes, and the DC's default)."""
    found = intent.hub(hub)
    plan = intent.fleet.spec.ip_plan
    without = [
        *found.originates,
        *([found.beacon.route] if found.beacon is not None else []),
        *(net for s in found.sessions if s.kind != "hub-dc" for net in s.accepts),
        *(summary.prefix for summary in found.summaries if "hub-dc" not in summary.sources),
        plan.stores,
    ]
    dc = [
        *(ipaddress.IPv4Network("0.0.0.0/0") for s in found.sessions if s.kind == "hub-dc" and s.accepts_default),
        *(net for s in found.sessions if s.kind == "hub-dc" for net in s.accepts),
        *(summary.prefix for summary in found.summaries),
    ]
    return list(dict.fromkeys(without)), list(dict.fromkeys([*without, *dc]))


def _hub_store_default(
    config: ConfigFile, intent: NetworkIntent, cache: dict[str, RouteFilters | None]
) -> Iterator[Finding]:
    """A hub sends each store link a default route only while the route the default stands for
    is in its BGP table (`StoreDefault`: the DC core's own default), and does while it is.
    Read through the hub's route filters (`register_route_filters`: an originated default,
    unconditional or on a route-map's condition, or the table's own default through the outbound
    filter), once with the hub's table as it is with its DC sessions down and once with them up.
    A default sent without the DC's keeps drawing the stores' internet traffic to a hub that can
    only drop it, while the other hub could deliver it; none sent with it leaves the store
    without the internet through this hub."""
    filters = _filters_of(config, cache)
    store_default = intent.hub(config.hostname).store_default
    if filters is None or store_default is None:
        return
    without, with_dc = hub_tables(intent, config.hostname)
    sessions = [s for s in intent.hub(config.hostname).sessions if s.kind == "store-hub" and s.default_originate]
    sent_without = filters.sends_defaults((str(s.peer_address) for s in sessions), without)
    sent_with_dc = filters.sends_defaults((str(s.peer_address) for s in sessions), with_dc)
    for session in sessions:
        neighbor = str(session.peer_address)
        origination = filters.defaults.get(neighbor)
        line = origination.line if origination is not None else 0
        if sent_without[neighbor]:
            how = (
                "originates it whatever its BGP table holds"
                if origination is not None and origination.condition is None
                else "its condition holds without the DC core"
                if origination is not None
                else "its outbound filter passes a default it holds without the DC core"
            )
            yield config.finding(
                line,
                HUB_STORE_DEFAULT,
                f"{session.peer} ({neighbor}): the hub sends a default route with no {store_default.condition} from "
                f"{', '.join(store_default.sources)} in its BGP table ({how}): with its DC sessions down it keeps "
                f"drawing the store's internet traffic, which it can only drop, from the other hub",
            )
        elif sent_with_dc[neighbor] is False:
            yield config.finding(
                line,
                HUB_STORE_DEFAULT,
                f"{session.peer} ({neighbor}): the hub sends no default route even while it holds "
                f"{store_default.condition} from {', '.join(store_default.sources)}: the store has no internet through it",
            )


CLOUD_ROUTES = "cloud-routes"
_CLOUD_SESSIONS = ("hub-aws", "hub-openstack", "store-aws")


def foreign_prefixes(intent: NetworkIntent) -> dict[ipaddress.IPv4Network, str]:
    """Every range the intent gives an owner, by range: each cloud site's (its workloads and
    desktops slots, `NetworkIntent.cloud_site_ranges`), HQ's, the stores', the loopbacks', the
    management ranges and the default route (the DC core's)."""
    plan = intent.fleet.spec.ip_plan
    owners: dict[ipaddress.IPv4Network, str] = {ipaddress.IPv4Network("0.0.0.0/0"): "the DC core (the default route)"}
    for key, ranges in intent.cloud_site_ranges.items():
        owners.update(dict.fromkeys(ranges, key))
    owners.update(dict.fromkeys(plan.hq, "HQ"))
    owners.update(dict.fromkeys(plan.management, "the management ranges"))
    owners[plan.stores] = "the stores"
    owners[plan.loopbacks] = "the appliances' loopbacks"
    return owners


def _cloud_routes(
    config: ConfigFile, sessions: Sequence[BgpSession], intent: NetworkIntent, cache: dict[str, RouteFilters | None]
) -> Iterator[Finding]:
    """Each cloud BGP session (a hub's to an AWS region or an OpenStack site, a store's to its AWS
    region) takes in only what the intent gives that cloud site (`BgpSession.accepts`): its
    inbound filter passes each of those ranges, and none the intent gives another owner (another
    cloud site, HQ, the stores, the loopbacks, the management ranges, the default route). A
    cloud whose announcement of another's range is taken draws that range's traffic from the
    appliance (and, through a hub, from the stores and HQ) into itself."""
    clouds = [s for s in sessions if s.kind in _CLOUD_SESSIONS]
    filters = _filters_of(config, cache) if clouds else None
    if filters is None:
        return
    owners = foreign_prefixes(intent)
    for session in clouds:
        neighbor = str(session.peer_address)
        known = filters.neighbors.get(neighbor)
        if known is None:
            continue  # a neighbour this reader does not see: the tunnel checks report it
        maps = known.get("in", ())
        if any(
            name not in filters.route_maps or any(n not in filters.prefix_lists for e in filters.route_maps[name] for n in e.lists)
            for name in maps
        ):
            continue  # a filter this reader cannot follow
        line = next((filters.route_maps[name][0].line for name in maps if filters.route_maps[name]), 0)
        for net in session.accepts:
            refused = filters.refusal(neighbor, "in", net)
            if refused is not None:
                yield config.finding(
                    refused[0],
                    CLOUD_ROUTES,
                    f"{session.kind} session with {neighbor} ({session.peer}): the inbound filter refuses {net} "
                    f"({refused[1]}), that cloud site's own range: nothing there is reachable through it",
                )
        for net, owner in owners.items():
            if any(net.overlaps(own) for own in session.accepts):
                continue
            if filters.refusal(neighbor, "in", net) is None:
                where = f"{filters.kind} {', '.join(maps)}" if maps else "no inbound filter"
                yield config.finding(
                    line,
                    CLOUD_ROUTES,
                    f"{session.kind} session with {neighbor} ({session.peer}): the inbound filter ({where}) passes "
                    f"{net}, which the intent gives to {owner}: that cloud can draw its traffic",
                )


CLOUD_RETURN_PATH = "cloud-return-path"


def _cloud_return_path(config: ConfigFile, intent: NetworkIntent, cache: dict[str, RouteFilters | None]) -> Iterator[Finding]:
    """Each of a hub's cloud BGP sessions sets the hub's cloud rank (`HubIntent.cloud_rank`): on
    every range the session takes in, the rank's local preference (BGP's default where none is
    set), and on every route it announces, the hub's own ASN prepended as many times as the
    rank's `prepend`. A hub of rank k > 0 that does not lower its preference sends cloud traffic
    out of its own VPN while the clouds answer through the first hub, and one that does not
    prepend draws the clouds' answers to flows that left through another hub: a stateful hub
    drops answers it never saw the flow of."""
    hub = intent.hub(config.hostname)
    rank = hub.cloud_rank
    clouds = [s for s in hub.sessions if s.kind in ("hub-aws", "hub-openstack")]
    filters = _filters_of(config, cache) if clouds and rank is not None else None
    if filters is None or rank is None:
        return
    for session in clouds:
        neighbor = str(session.peer_address)
        if neighbor not in filters.neighbors:
            continue  # a neighbour this reader does not see: the tunnel checks report it
        what = f"{session.kind} session with {neighbor} ({session.peer})"
        for net in session.accepts:
            entries = filters.applied(neighbor, "in", net)
            if entries is None:
                continue  # refused (`cloud-routes` says so) or not readable
            set_prefs = [(entry.line, entry.local_pref) for entry in entries if entry.local_pref is not None]
            line, local_pref = set_prefs[-1] if set_prefs else (entries[0].line if entries else 0, BGP_DEFAULT_LOCAL_PREF)
            if local_pref != rank.local_pref:
                yield config.finding(
                    line,
                    CLOUD_RETURN_PATH,
                    f"{what}: takes {net} at local preference {local_pref}, the hub's cloud rank "
                    f"({rank.rank}) wants {rank.local_pref}: "
                    + (
                        "the hub sends cloud traffic out of its own VPN while the clouds answer through "
                        "the first hub, whose stateful firewall never saw the flow"
                        if local_pref > rank.local_pref
                        else "the hub gives up this site to a hub of lower rank"
                    ),
                )
        for net in session.announces:
            entries = filters.applied(neighbor, "out", net)
            if entries is None:
                continue  # refused or not readable: the route-filter checks' business
            prepends = sum(entry.prepend.count(hub.asn) for entry in entries)
            if prepends != rank.prepend:
                line = next((entry.line for entry in entries if entry.prepend), entries[0].line if entries else 0)
                yield config.finding(
                    line,
                    CLOUD_RETURN_PATH,
                    f"{what}: announces {net} with its ASN {hub.asn} prepended {prepends} times, the hub's "
                    f"cloud rank wants {rank.prepend}: "
                    + (
                        "the cloud answers through this hub flows that left through another hub, whose "
                        "stateful firewall sees no answer and this hub no flow"
                        if prepends < rank.prepend
                        else "the cloud answers through another hub while this one carries the flows"
                    ),
                )


def _store_return_ranking(
    config: ConfigFile, intent: NetworkIntent, cache: dict[str, RouteFilters | None]
) -> Iterator[Finding]:
    """The route-maps a hub binds inbound to its store sessions (the intent's store-hub sessions,
    through the platform's route-filter reader: neighbour and peer-group bindings) take the
    routes a store tags degraded below its paths in SLA (`return_ranking_findings`, under the
    platform's return-path rule). Only those rank a store's routes, whatever their names: a
    cloud session's ranks that cloud's (`cloud-return-path`), and one bound to no store session
    ranks nothing of a store's."""
    reader = RANKING_EXTRACTORS.get(config.platform)
    filters = _filters_of(config, cache) if reader is not None else None
    if reader is None or filters is None:
        return
    stores = [str(s.peer_address) for s in intent.hub(config.hostname).sessions if s.kind == "store-hub"]
    bound = filters.bound(stores, "in")
    ranking = reader(config)
    yield from return_ranking_findings(
        config, ranking.rule, [fact for fact in ranking.facts if fact.policy in bound], ranking.lists
    )


PREFIX_LIMIT = "prefix-limit"


def _prefix_limits(
    store: ConfigFile,
    hub: ConfigFile,
    tunnel: Tunnel,
    session: BgpSession,
    far: BgpSession,
    cache: dict[str, RouteFilters | None],
) -> Iterator[Finding]:
    """What each end of a store-hub session announces (`BgpSession.announces`, and the hub's
    default route; the same count `route-filter` passes through the filters) is no more than the
    prefix limit the other end's config gives that neighbour (IOS-XE and FRR `maximum-prefix`,
    VRP `route-limit`, FortiOS `maximum-prefix`): over it the receiver closes the session
    (FortiOS: warns), so a store whose segments outgrew its hubs' limit loses that path, and a
    store whose limit is below what its hubs announce loses every hub. A neighbour the intent
    limits (`BgpSession.prefix_limit`) but the config does not is found too: it takes whatever a
    leak sends it."""
    mine, theirs = _filters_of(store, cache), _filters_of(hub, cache)
    to_hub, to_store = str(session.peer_address), str(far.peer_address)
    from_hub = len(far.announces) + (1 if far.default_originate else 0)
    ends = (
        (hub, theirs, to_store, len(session.announces), "the store", "the hub", far),
        (store, mine, to_hub, from_hub, "the hub", "the store", session),
    )
    for config, filters, neighbor, announced, sender, receiver, receiving in ends:
        yield from _limit_holds(config, filters, tunnel, neighbor, receiving, receiver, sender, announced, "announces")


def _aws_prefix_limit(
    store: ConfigFile, tunnel: Tunnel, sessions: Sequence[BgpSession], cache: dict[str, RouteFilters | None]
) -> Iterator[Finding]:
    """A store's own AWS session carries the prefix limit the intent gives it, at least what the
    store's AWS filter may take from AWS (`PrefixLimit.allowed`: the cloud range up to /24): a
    transit gateway that propagates more than the workloads VPC into the store's table is stopped
    at the store, and a limit below what the filter passes closes the session on routes the
    store was meant to take."""
    session = next((s for s in sessions if s.tunnel == tunnel.id and s.kind == "store-aws"), None)
    if session is None or session.prefix_limit is None:
        return
    allowed, neighbor = session.prefix_limit.allowed, str(session.peer_address)
    yield from _limit_holds(store, _filters_of(store, cache), tunnel, neighbor, session, "the store", "AWS", allowed, "may announce")


def _limit_holds(
    config: ConfigFile,
    filters: RouteFilters | None,
    tunnel: Tunnel,
    neighbor: str,
    receiving: BgpSession,
    receiver: str,
    sender: str,
    announced: int,
    verb: str,
) -> Iterator[Finding]:
    """`receiver`'s config limits `neighbor` where the intent does (`receiving.prefix_limit`),
    and to no fewer than the `announced` prefixes `sender` `verb`."""
    if filters is None or neighbor not in filters.neighbors:
        return  # a neighbour this reader does not see: `missing-peer` and `route-filter` say so
    limit = filters.limits.get(neighbor)
    if limit is None and receiving.prefix_limit is not None:
        yield config.finding(
            0,
            PREFIX_LIMIT,
            f"tunnel {tunnel.id}: {receiver} takes any number of prefixes from {neighbor}, where the intent "
            f"limits it to {receiving.prefix_limit.maximum}: a leak from {sender} goes as far as the filters let it",
        )
    if limit is None or announced <= limit[0]:
        return
    yield config.finding(
        limit[1],
        PREFIX_LIMIT,
        f"tunnel {tunnel.id}: {sender} {verb} {announced} prefixes, more than the {limit[0]} {receiver} "
        f"takes from {neighbor}: {receiver} closes the session (FortiOS: logs) and that path carries nothing",
    )


def _pair(store: TunnelFact, hub: TunnelFact) -> Iterator[Finding]:
    """Both ends of one store-hub tunnel agree with each other."""
    if (store.local_inside, store.peer_inside) != (hub.peer_inside, hub.local_inside):
        yield Finding(
            hub.file,
            hub.line,
            "peer-mismatch",
            f"tunnel {hub.name}: inside addresses differ between the ends",
        )
    if (store.local_id, store.peer_id) != (hub.peer_id, hub.local_id):
        yield Finding(
            hub.file, hub.line, "peer-mismatch", f"tunnel {hub.name}: IKE identities differ between the ends"
        )
    for sent, expected, sender in (
        (store.local_id_type, hub.peer_id_type, "store"),
        (hub.local_id_type, store.peer_id_type, "hub"),
    ):
        if sent is not None and expected is not None and sent != expected:
            yield Finding(
                hub.file,
                hub.line,
                "peer-mismatch",
                f"tunnel {hub.name}: the {sender} sends an IKE identity of type {sent}, the other end expects "
                f"{expected}: IKEv2 matches the type with the value, so authentication fails",
            )
    if store.psk_slot != hub.psk_slot:
        yield Finding(
            hub.file, hub.line, "peer-mismatch", f"tunnel {hub.name}: PSK slots differ between the ends"
        )
    yield from _proposals(hub, store.ike, store.esp, f"the store end ({store.file})")
    yield from _bfd_pair(store, hub)
    for what, ours, theirs in (("IP MTU", store.mtu, hub.mtu), ("TCP MSS", store.tcp_mss, hub.tcp_mss)):
        if ours is not None and theirs is not None and ours != theirs:
            yield Finding(
                hub.file,
                hub.line,
                TUNNEL_MTU,
                f"tunnel {hub.name}: {what} {theirs} here, {ours} at the store end ({store.file}): the ends "
                "disagree on what the tunnel carries",
            )


def _bfd_pair(store: TunnelFact, hub: TunnelFact) -> Iterator[Finding]:
    """BFD on both ends of a store-hub tunnel or on neither: a session whose far end never
    answers stays down, and FRR's storestack-steer judges a path by it (down: never used).
    Both on: each end's transmit interval meets the other's receive interval, with one
    multiplier, or the detection time is not the one the SLA class was given."""
    if store.bfd is None or hub.bfd is None:
        return
    if store.bfd != hub.bfd:
        # the appliance, not the file the tunnel is declared in (FRR: swanctl.conf; BGP is in .cfg)
        on, off = ("store", f"hub {hub.file.split('.')[0]}") if store.bfd else ("hub", f"store {store.file.split('.')[0]}")
        yield Finding(
            store.file,
            store.line,
            BFD_MISMATCH,
            f"tunnel {store.name}: BFD runs on the {on} end only, not on the {off}: the session never "
            f"comes up (no fast failure detection; an FRR store's storestack-steer takes the path for down)",
        )
        return
    a, b = store.bfd_timers, hub.bfd_timers
    if a is not None and b is not None and (a[0] != b[1] or b[0] != a[1] or a[2] != b[2]):
        yield Finding(
            store.file,
            store.line,
            BFD_MISMATCH,
            f"tunnel {store.name}: BFD timers differ between the ends (transmit/receive ms, multiplier: "
            f"store {a[0]}/{a[1]} x{a[2]}, hub {b[0]}/{b[1]} x{b[2]})",
        )


def _proposals(
    fact: TunnelFact, ike: frozenset[IkeProposal], esp: frozenset[EspProposal], far: str
) -> Iterator[Finding]:
    if not fact.ike & ike:
        yield Finding(
            fact.file,
            fact.line,
            "proposal-mismatch",
            f"tunnel {fact.name}: no IKE proposal in common with {far}",
        )
    if not fact.esp & esp:
        yield Finding(
            fact.file,
            fact.line,
            "proposal-mismatch",
            f"tunnel {fact.name}: no ESP proposal in common with {far}",
        )


# A BGP neighbour and its remote AS as each platform spells it (FortiOS: `edit "a.b.c.d"` in
# `config neighbor`, then `set remote-as N`).
_NEIGHBOR = {
    "frr": re.compile(r"^ neighbor (\d+\.\d+\.\d+\.\d+) remote-as (\d+)$"),
    "cisco_xe": re.compile(r"^ neighbor (\d+\.\d+\.\d+\.\d+) remote-as (\d+)$"),
    "huawei_vrp": re.compile(r"^ peer (\d+\.\d+\.\d+\.\d+) as-number (\d+)$"),
}
_FORTI_EDIT = re.compile(r'^ {8}edit "(\d+\.\d+\.\d+\.\d+)"$')
_FORTI_AS = re.compile(r"^ {12}set remote-as (\d+)$")
# An interface address: `ip address A/N` (FRR), `ip address A M` (IOS-XE, VRP), `set ip A M` (FortiOS).
_ADDRESS = re.compile(r"^ +(?:ip address|set ip) (\d+\.\d+\.\d+\.\d+)(?:/(\d+)| (\d+\.\d+\.\d+\.\d+))$")


def _bgp_neighbors(config: ConfigFile) -> dict[str, tuple[int, int]]:
    """Neighbour address -> (remote AS, 1-based line) as the config spells it."""
    found: dict[str, tuple[int, int]] = {}
    pattern = _NEIGHBOR.get(config.platform)
    pending: tuple[str, int] | None = None
    for number, line in enumerate(config.lines, start=1):
        if pattern is not None:
            match = pattern.match(line)
            if match:
                found.setdefault(match[1], (int(match[2]), number))
            continue
        edit = _FORTI_EDIT.match(line)
        if edit:
            pending = (edit[1], number)
            continue
        remote = _FORTI_AS.match(line)
        if remote and pending is not None:
            found.setdefault(pending[0], (int(remote[1]), pending[1]))
            pending = None
    return found


def _connected(config: ConfigFile) -> list[ipaddress.IPv4Network]:
    """The subnets of the config's interface addresses (host routes left out)."""
    subnets = []
    for line in config.lines:
        match = _ADDRESS.match(line)
        if match:
            mask = match[2] or match[3]
            net = ipaddress.IPv4Interface(f"{match[1]}/{mask}").network
            if net.prefixlen < 32:
                subnets.append(net)
    return subnets


def _dc_peers(config: ConfigFile, intent: NetworkIntent) -> Iterator[Finding]:
    """A hub peers with every DC core router and every other hub, on the DC core LAN: each such
    neighbour is configured with the intent's ASN and lies on a subnet the hub is connected to
    (neither session is multihop, so an off-link neighbour never comes up)."""
    hub = intent.hub(config.hostname)
    wanted = {
        str(s.peer_address): (s.peer_asn, s.kind, s.peer)
        for s in hub.sessions
        if s.kind in ("hub-dc", "hub-hub")
    }
    neighbors = _bgp_neighbors(config)
    connected = _connected(config)
    for address, (asn, kind, peer) in wanted.items():
        found = neighbors.get(address)
        if found is None:
            yield Finding(
                config.name, 0, "missing-peer", f"hub has no BGP neighbour {address} ({kind} {peer})"
            )
            continue
        if found[0] != asn:
            yield Finding(
                config.name,
                found[1],
                "peer-mismatch",
                f"BGP neighbour {address} ({peer}): AS {found[0]}, the intent says {asn}",
            )
        if not any(ipaddress.IPv4Address(address) in net for net in connected):
            yield Finding(
                config.name,
                found[1],
                "peer-unreachable",
                f"BGP neighbour {address} ({peer}) is on no connected subnet of the hub (the DC core LAN is {hub.dc.address.network})",
            )


def _hub_hub_bfd(
    config: ConfigFile,
    intent: NetworkIntent,
    mains: dict[str, ConfigFile],
    cache: dict[str, dict[str, SessionBfdFact] | None],
) -> Iterator[Finding]:
    """Both ends of every hub-hub session track it with BFD on the intent's timers
    (`BgpSession.bfd_timers`, `SESSION_BFD`), each end's transmit interval meeting the other's
    receive interval with one multiplier. A hub whose end runs none keeps a dead partner's routes
    to its stores (and, on FRR, the partner loopback route of the flow handover) for the hold
    time; an end whose partner runs none has a session that never comes up; timers that differ
    give another detection time than the intent's. Each pair is read from the end whose hostname
    sorts first; a hub whose partner is not in the set is read against the intent alone."""
    facts = _read_once(config, SESSION_BFD_EXTRACTORS, cache)
    if facts is None:
        return
    for session in intent.hub(config.hostname).sessions:
        wanted = session.bfd_timers
        if session.kind != "hub-hub" or wanted is None:
            continue
        intended = (wanted.interval_ms, wanted.interval_ms, wanted.multiplier)
        mine = facts.get(str(session.peer_address))
        if mine is None:
            continue  # no neighbour at all: `_dc_peers` says so
        partner = mains.get(session.peer)
        theirs_all = _read_once(partner, SESSION_BFD_EXTRACTORS, cache) if partner is not None else None
        theirs = theirs_all.get(str(session.local_address)) if theirs_all is not None else None
        if partner is not None and theirs is not None and session.peer < config.hostname:
            continue  # read from the partner's side
        ends = [(config, mine, session.peer_address)]
        if partner is not None and theirs is not None:
            ends.append((partner, theirs, session.local_address))
        off = [(end, fact, address) for end, fact, address in ends if not fact.bfd]
        for end, fact, address in off:
            yield Finding(
                end.name,
                fact.line,
                HUB_HUB_BFD,
                f"BGP neighbour {address} (hub-hub): no BFD, the intent runs {wanted.interval_ms} ms x{wanted.multiplier} "
                "there: a dead partner hub keeps its routes here for the hold time"
                + (" and the partner's BFD session never comes up" if len(ends) > len(off) else ""),
            )
        if off:
            continue
        if theirs is not None and mine.timers is not None and theirs.timers is not None:
            a, b = mine.timers, theirs.timers
            if a[0] != b[1] or b[0] != a[1] or a[2] != b[2]:
                yield Finding(
                    config.name,
                    mine.line,
                    HUB_HUB_BFD,
                    f"BGP neighbour {session.peer_address} ({session.peer}): BFD timers differ between the hubs "
                    f"(transmit/receive ms, multiplier: {config.hostname} {a[0]}/{a[1]} x{a[2]}, "
                    f"{session.peer} {b[0]}/{b[1]} x{b[2]})",
                )
                continue
        for end, fact, address in ends:
            if fact.timers is not None and fact.timers != intended:
                t = fact.timers
                yield Finding(
                    end.name,
                    fact.line,
                    HUB_HUB_BFD,
                    f"BGP neighbour {address} (hub-hub): BFD {t[0]}/{t[1]} ms x{t[2]} (transmit/receive, multiplier), "
                    f"the intent's {wanted.interval_ms} ms x{wanted.multiplier}",
                )


def _probes_answered(
    config: ConfigFile,
    tunnels: Sequence[Tunnel],
    mains: dict[str, ConfigFile],
    answers: dict[str, ProbeAnswers | None],
) -> Iterator[Finding]:
    """Each SLA probe a store sends to a hub (`register_probes`) is answered by that hub
    (`register_answers`): of a kind its platform answers, and nothing in its config in the way
    (an unanswered probe times out: the path leaves every class's rotation for good)."""
    extractor = PROBE_EXTRACTORS.get(config.platform)
    if extractor is None:
        return
    hubs = {str(t.peer_inside): t.peer for t in tunnels if t.kind == "store-hub" and t.peer_inside}
    for probe in extractor(config):
        hub = mains.get(hubs.get(probe.target, ""))
        if hub is None:
            continue
        answered = _read_once(hub, ANSWER_EXTRACTORS, answers)
        if answered is None:
            continue
        if probe.kind not in answered.kinds:
            yield config.finding(
                probe.line,
                PROBE_UNANSWERED,
                f"{probe.kind} to {probe.target} ({hub.hostname}): a {hub.platform} hub answers "
                f"{' or '.join(answered.kinds)} only, so the operation times out and the path never serves the class",
            )
            continue
        for gap in answered.gaps(probe):
            yield config.finding(
                probe.line, PROBE_UNANSWERED, f"{probe.kind} to {probe.target}: {gap}, so the operation times out"
            )


HUB_SUMMARY = "hub-summary"


def _hub_summaries(config: ConfigFile, intent: NetworkIntent) -> Iterator[Finding]:
    """Each summary of the intent (`HubIntent.summaries`: HQ's, the clouds') is an aggregate,
    which the hub announces only while a more specific route inside it is in its BGP table;
    never a `network` statement, which a static discard route keeps announced whatever the hub
    learns: a hub whose DC sessions are down, or which knows no cloud route, would go on drawing
    the stores' traffic for it and drop it, while the other hub could deliver it."""
    extractor = SUMMARY_EXTRACTORS.get(config.platform)
    if extractor is None:
        return
    facts = extractor(config)
    for summary in intent.hub(config.hostname).summaries:
        found = {fact.kind: fact.line for fact in reversed(facts) if fact.prefix == summary.prefix}
        if "network" in found:
            backed = " over a static discard route" if "discard" in found else ""
            yield Finding(
                config.name,
                found["network"],
                HUB_SUMMARY,
                f"{summary.prefix} is announced unconditionally (a network statement{backed}): the hub keeps "
                f"drawing the stores' traffic for it without a route from {', '.join(summary.sources)}; "
                "announce it as an aggregate",
            )
        elif "aggregate" not in found:
            yield Finding(
                config.name,
                0,
                HUB_SUMMARY,
                f"{summary.prefix} is not announced as an aggregate (while a route from {', '.join(summary.sources)} lies inside it)",
            )


HUB_STORES_CONDITIONAL = "hub-stores-conditional"
# The names every hub template gives them (templates/devices/<os>/hub.j2): the route-map of the
# stores' routes a hub passes to the other hubs on a condition, and the beacon's condition.
HUB_STORES = "HUB-STORES"
BEACON_CONDITION = "BEACON-CONDITION"


def _hub_stores_conditional(config: ConfigFile, intent: NetworkIntent) -> Iterator[Finding]:
    """A hub with a beacon passes its stores' routes (`HubBeacon.stores`: the store block with
    everything inside it, each served store's loopback) to every other hub only while the
    beacon's condition holds: each hub-hub neighbour advertises route-map HUB-STORES only while
    BEACON-CONDITION matches a route (exist), and HUB-STORES permits every one of those routes.
    A hub that lost the DC core would otherwise stay the other hub's best way back to the stores
    (its own links to them rank higher), and so the DC's, while the stores, which no longer learn
    HQ from it, send through the other hub: its stateful firewall drops HQ's answers."""
    extractor = ADVERTISEMENT_EXTRACTORS.get(config.platform)
    hub = intent.hub(config.hostname)
    beacon = hub.beacon
    peers = {str(s.peer_address): s.peer for s in hub.sessions if s.kind == "hub-hub"}
    if extractor is None or beacon is None or not beacon.stores or not peers:
        return
    facts = extractor(config)
    for address, peer in peers.items():
        line = facts.neighbors.get(address)
        if line is None:
            continue  # `missing-peer` says so
        held = [c for c in facts.conditionals if c.neighbor == address and c.advertise == HUB_STORES]
        if any(c.exist and BEACON_CONDITION in c.conditions for c in held):
            continue
        spelled = "; ".join(
            f"{'while' if c.exist else 'unless'} {', '.join(c.conditions) or 'nothing'} matches a route" for c in held
        )
        how = (
            f"{HUB_STORES} {spelled}, not while {BEACON_CONDITION} does"
            if held
            else f"the stores' routes unconditionally (no conditional advertisement of {HUB_STORES} while {BEACON_CONDITION} exists)"
        )
        yield config.finding(
            held[0].line if held else line,
            HUB_STORES_CONDITIONAL,
            f"hub-hub neighbour {address} ({peer}) gets {how}: a hub that lost the DC core stays {peer}'s "
            f"and the DC's way back to its stores while they send through {peer}, and its firewall drops HQ's answers",
        )
    if HUB_STORES not in facts.route_maps:
        yield config.finding(
            0, HUB_STORES_CONDITIONAL, f"route-map {HUB_STORES} is not defined: nothing holds the stores' routes back from {', '.join(peers.values())}"
        )
        return
    first, names = facts.route_maps[HUB_STORES]
    lists = [PrefixList(facts.prefix_lists.get(name, [])) for name in names]
    at = next((rules.rules[0].line for rules in lists if rules.rules), first)
    missing = []
    for net in beacon.stores:
        longest = 32 if net.prefixlen < 32 else net.prefixlen
        permitted = set().union(*(rules.permitted_lengths(net, longest) for rules in lists))
        if not permitted >= set(range(net.prefixlen, longest + 1)):
            missing.append(f"{net} le 32" if longest > net.prefixlen else str(net))
    blocks = [m for m in missing if " le " in m]
    loopbacks = [m for m in missing if " le " not in m]
    what = [f"the store block {block}" for block in blocks]
    if loopbacks:
        shown = ", ".join(loopbacks[:3]) + (f" and {len(loopbacks) - 3} more" if len(loopbacks) > 3 else "")
        what.append(f"a served store's loopback {shown}" if len(loopbacks) == 1 else f"{len(loopbacks)} served stores' loopbacks ({shown})")
    if what:
        yield config.finding(
            at,
            HUB_STORES_CONDITIONAL,
            f"route-map {HUB_STORES} (prefix-list {', '.join(names) or 'none'}) does not permit {' or '.join(what)}: "
            f"the hub passes those routes to {', '.join(peers.values())} whether or not it offers HQ",
        )
