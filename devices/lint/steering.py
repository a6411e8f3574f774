"""Lint: the SLA probes and steering policies of the vendor store configs, against the SLA and
application classes of the network intent (`StoreIntent.sla`).

- Every probe names a class the store has (its name or `SLA-<CLASS>`; on FortiOS its SLA id),
  probes one of the store's tunnels, and spells the class's thresholds and timers as far as its
  platform can (`devices/steering.py` holds that arithmetic; IOS-XE tracks delay at most 180 s),
  and carries the class's DSCP where its platform marks probes (IOS-XE and VRP `tos`, the ToS
  byte; `sla-probe-tos`).
- Every application that rides the overlay has a policy (on a platform that can steer only off
  the path BGP prefers, `SLA_STEERING_OFF_ROUTED_PATH_ONLY`, every application whose preferred
  path is not BGP's), and it steers only over paths the intent allows it, in the intent's order:
  never an LTE/5G path for a class that may not use one (guest and bulk), never a transport the
  class does not list. FortiOS rules return to a recovered member after the class's recovery.
  A policy whose next hops and BGP's fallback (`StoreIntent.routed_tunnel`) are one path never
  moves traffic (`sla-steering-inert`).
- No policy steers to a hub what a store with AWS tunnels sends to the cloud (`sla-steers-cloud`).
- No policy steers another application's packets (`sla-steered-as-another`): an application that
  follows BGP (VRP: its preferred path is BGP's) or has its own policy leaves by that, never by the
  path and SLA class of a later catch-all (VRP's traffic policy takes the first classifier a
  packet matches, so voice's ports need a classifier of their own before a steered back-office's).

A platform takes part by registering a `SteeringFacts` extractor (`register_steering`).

Return path: `return_ranking_findings` is the hub half every hub platform shares, FRR's
included (routes a store tags degraded rank below its paths in SLA), run by the cross-file
checks on the route-maps bound inbound to the hub's store sessions (each platform's
`register_ranking` extractor; `route_map_ranking` reads the IOS-spelled route-maps of IOS-XE
and FRR); the store half (FortiOS SD-WAN neighbours, IOS-XE conditional advertisement) lives
with each platform's rules.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Iterator, Sequence

from storestack.common.platforms import SLA_STEERING_OFF_ROUTED_PATH_ONLY
from storestack.devices.lint import (
    STEERING_EXTRACTORS,
    ConfigFile,
    Finding,
    Packet,
    PolicyFact,
    ProbeFact,
    RankingFact,
    load_platform_rules,
)
from storestack.devices.lint.linetree import Line, top
from storestack.devices.steering import IOS_TRACK_DELAY_MAX, ios_loss_threshold, vrp_probe_timers
from storestack.network.build import NetworkIntent
from storestack.network.model import StoreIntent, Tunnel
from storestack.network.sla import ApplicationPolicy, SlaClassPolicy, probe_name

# SLA class probes are named after their class (`network/sla.py`); other probes (the guest
# breakout's gateway check) are not steering probes.
CLASS_PROBE_PREFIX = probe_name("")
# A probe that does not carry its class's DSCP (`StoreSlaPolicy.probe_dscp`) as its ToS byte.
SLA_PROBE_TOS = "sla-probe-tos"
# The longest hold-down / recovery a platform's track can delay (None: no limit here).
_DELAY_CAP: dict[str, int] = {"cisco_xe": IOS_TRACK_DELAY_MAX}


def _loss_percent(platform: str, cls: SlaClassPolicy) -> int:
    """The whole-percent loss a probe of `platform` spells for `cls`: VRP's `fail-percent`, the
    share of a test's probes whose loss fails it (`vrp_probe_timers`); FortiOS's
    `packetloss-threshold`, the class's loss rounded up."""
    if platform == "huawei_vrp":
        return vrp_probe_timers(cls).fail_percent
    return max(1, math.ceil(cls.thresholds.loss_percent))


def steering_check(files: Sequence[ConfigFile], intent: NetworkIntent) -> Iterator[Finding]:
    load_platform_rules()
    for config in files:
        extractor = STEERING_EXTRACTORS.get(config.platform)
        if config.suffix or config.role != "edge" or config.store_id is None or extractor is None:
            continue
        store = intent.store(config.store_id, config.hostname)
        facts = extractor(config)
        tunnels = hub_tunnels_by_hop(store)
        for probe in facts.probes:
            yield from _check_probe(config, store, tunnels, probe)
        for policy in facts.policies:
            yield from _check_policy(config, store, tunnels, policy)
            yield from _check_beacons(config, intent, store, tunnels, policy)
        yield from _steered_as_another(config, store, facts.policies)
        steered = {
            found.name
            for policy in facts.policies
            if (found := _application(policy.application, store)) is not None
        }
        routed = store.routed_tunnel
        for application in store.sla.applications:
            preferred = next((p.tunnel for p in application.paths if p.tunnel), None)
            if (
                config.platform in SLA_STEERING_OFF_ROUTED_PATH_ONLY
                and routed is not None
                and preferred == routed.id
            ):
                continue  # the platform cannot steer it off BGP's path: it follows BGP
            if application.overlay and application.name not in steered and preferred is not None:
                yield config.finding(
                    0,
                    "sla-application-unsteered",
                    f"{application.name}: no policy steers it, so it follows BGP whatever its paths' quality",
                )


def class_of(reference: str, store: StoreIntent) -> SlaClassPolicy | None:
    """The class a probe names: its name (IOS-XE tag), its probe name (VRP: SLA-STRICT, read
    back from the NQA administrator SLA_STRICT) or, on FortiOS, its SLA id: the number pinned in
    the lock (`SlaClassPolicy.number`)."""
    classes = store.sla.classes
    if reference.isdigit():
        return next((cls for cls in classes if cls.number == int(reference)), None)
    return next((cls for cls in classes if reference in (cls.probe, cls.name)), None)


def hub_tunnels_by_hop(store: StoreIntent) -> dict[str, Tunnel]:
    """The store's tunnels to its hubs, by the hub's inside address: the next hop a steered path names."""
    return {
        str(tunnel.peer_inside): tunnel
        for tunnel in store.tunnels
        if tunnel.kind == "store-hub" and tunnel.peer_inside is not None
    }


def why_not_allowed(store: StoreIntent, tunnels: dict[str, Tunnel], application: ApplicationPolicy, hop: str) -> str:
    """Why `application` may not leave over next hop `hop` (one that is not among its paths)."""
    tunnel = tunnels.get(hop)
    transport = next((t for t in store.transports if tunnel is not None and t.name == tunnel.transport), None)
    if transport is not None and transport.cellular and not application.cellular:
        return f"an LTE/5G path ({transport.name}), which {application.name} may not use"
    return "not one of its paths"


def _check_probe(
    config: ConfigFile, store: StoreIntent, tunnels: dict[str, Tunnel], probe: ProbeFact
) -> Iterator[Finding]:
    if probe.sla_class is None:
        return
    cls = class_of(probe.sla_class, store)
    if cls is None:
        known = ", ".join(f"{c.name} ({c.probe})" for c in store.sla.classes)
        yield config.finding(
            probe.line,
            "sla-unknown-class",
            f"probe {probe.name} claims SLA class {probe.sla_class!r}, which store {store.store_id} "
            f"does not have (known: {known})",
        )
        return
    if probe.next_hop not in tunnels:
        yield config.finding(
            probe.line,
            "sla-unknown-path",
            f"probe {probe.name} measures {probe.next_hop}, which is no hub tunnel of store {store.store_id}",
        )
    cap = _DELAY_CAP.get(config.platform)
    expected = {
        "latency": (probe.latency_ms, cls.thresholds.latency_ms),
        "jitter": (probe.jitter_ms, cls.thresholds.jitter_ms),
        "loss %": (probe.loss_percent, _loss_percent(config.platform, cls)),
        "hold-down": (probe.hold_down_s, _capped(cls.timers.hold_down_seconds, cap)),
        "recovery": (probe.recovery_s, _capped(cls.timers.recovery_seconds, cap)),
    }
    if probe.packets:
        expected["lost packets"] = (
            probe.loss_packets,
            ios_loss_threshold(probe.packets, cls.thresholds.loss_percent),
        )
    for what, (spelled, wanted) in expected.items():
        if spelled is not None and spelled != wanted:
            yield config.finding(
                probe.line,
                "sla-threshold",
                f"probe {probe.name} ({cls.name}): {what} {spelled}, the SLA class says {wanted}",
            )
    dscp = store.sla.probe_dscp(cls.name)
    if probe.tos is not None and probe.tos != dscp << 2:
        yield config.finding(
            probe.line,
            SLA_PROBE_TOS,
            f"probe {probe.name} ({cls.name}): ToS {probe.tos}, but the class's traffic is DSCP {dscp} "
            f"(ToS {dscp << 2}): the probe is queued, and measures the path, as other traffic",
        )


def _capped(value: int, cap: int | None) -> int:
    return value if cap is None else min(value, cap)


def _application(name: str, store: StoreIntent) -> ApplicationPolicy | None:
    """The intent's application a policy names; FortiOS splits one with several port ranges into
    rules `<name>-1`, `<name>-2`."""
    names = {application.name: application for application in store.sla.applications}
    found = names.get(name)
    if found is None and "-" in name and name.rsplit("-", 1)[1].isdigit():
        found = names.get(name.rsplit("-", 1)[0])
    return found


def _check_beacons(
    config: ConfigFile, intent: NetworkIntent, store: StoreIntent, tunnels: dict[str, Tunnel], policy: PolicyFact
) -> Iterator[Finding]:
    """Each next hop towards a hub that announces a beacon (`HubBeacon`) follows the beacon's
    route too, where the platform's steering can (`PolicyFact.guards`), for an application that
    goes to something inside the beacon's summaries (`StoreIntent.destinations`): without it the
    class stays on a hub that lost the DC core, whose probes still answer, and is dropped there."""
    if policy.guards is None:
        return
    application = _application(policy.application, store)
    destinations = store.destinations(application) if application is not None else ()
    for hop in policy.next_hops:
        tunnel = tunnels.get(hop)
        hub = intent.fleet.hubs.get(tunnel.peer) if tunnel is not None else None
        beacon = intent.hub_beacon(hub) if hub is not None else None
        if beacon is None or str(beacon.address) in policy.guards.get(hop, frozenset()):
            continue
        if application is not None and not any(d.subnet_of(s) for d in destinations for s in beacon.summaries):
            continue  # its traffic goes nowhere the beacon stands for
        yield config.finding(
            policy.line,
            "sla-hub-beacon",
            f"{policy.application} is steered over {hop} while its probe answers, whether or not "
            f"{hub.hostname if hub else hop} offers {', '.join(str(n) for n in beacon.summaries)}: its track "
            f"does not follow the hub's beacon {beacon.address} (track N ip route {beacon.address} "
            "255.255.255.255 reachability in its list)",
        )


def _check_policy(
    config: ConfigFile, store: StoreIntent, tunnels: dict[str, Tunnel], policy: PolicyFact
) -> Iterator[Finding]:
    application = _application(policy.application, store)
    if application is None:
        yield config.finding(
            policy.line,
            "sla-unknown-application",
            f"policy for {policy.application!r}: store {store.store_id} has no such application class",
        )
        return
    allowed = [str(path.next_hop) for path in application.paths if path.next_hop is not None]
    for hop in policy.next_hops:
        if hop in allowed:
            continue
        yield config.finding(
            policy.line,
            "sla-path-not-allowed",
            f"{application.name} is steered over {hop}: {why_not_allowed(store, tunnels, application, hop)}",
        )
    ranks = [allowed.index(hop) for hop in policy.next_hops if hop in allowed]
    if ranks != sorted(ranks):
        yield config.finding(
            policy.line,
            "sla-path-order",
            f"{application.name} prefers its paths in another order than the intent "
            f"({', '.join(policy.next_hops)}; the intent: {', '.join(allowed)})",
        )
    # Where the traffic can go: the policy's next hops while their probes pass, then BGP's path
    # once every one of them is withdrawn. One path only, and a failed SLA moves nothing.
    routed = store.routed_tunnel
    reachable = dict.fromkeys(
        [*policy.next_hops, *([str(routed.peer_inside)] if routed and routed.peer_inside else [])]
    )
    if len(reachable) < 2 <= len(dict.fromkeys(allowed)):
        yield config.finding(
            policy.line,
            "sla-steering-inert",
            f"{application.name} is steered over {', '.join(policy.next_hops)} only, and BGP takes "
            f"that path too when it fails its SLA: the policy never moves its traffic (its paths: "
            f"{', '.join(allowed)})",
        )
    yield from _cloud_steered(config, store, policy, application)
    if policy.recovery_s is not None and policy.recovery_s != application.sla.timers.recovery_seconds:
        yield config.finding(
            policy.line,
            "sla-threshold",
            f"{application.name}: returns to a recovered path after {policy.recovery_s} s, "
            f"its SLA class {application.sla.name} says {application.sla.timers.recovery_seconds} s",
        )


def _steered_as_another(config: ConfigFile, store: StoreIntent, policies: Sequence[PolicyFact]) -> Iterator[Finding]:
    """Each overlay application's packets (from each of its segments, to each of its private
    destinations and to the internet, on the first port of each of its ranges) that its own
    policy does not steer (it has none where it follows BGP) are steered by no other
    application's policy: that would move them over the other's path, by the other's SLA class,
    re-marked as the other. Where a platform's policies take the first rule a packet matches
    (VRP's classifiers), a policy's `steers` answers for that rule only; elsewhere an application
    that has a policy of its own is taken to keep its packets."""
    owners = [(policy, _application(policy.application, store)) for policy in policies]
    for application in store.sla.applications:
        if not application.overlay:
            continue
        own = [policy for policy, owner in owners if owner is application]
        others = [(policy, owner) for policy, owner in owners if owner is not None and owner is not application]
        reported: set[int] = set()
        for packet in _packets(store, application):
            if any(policy.steers is not None and policy.steers(packet) for policy in own):
                continue
            for policy, owner in others:
                if policy.line in reported or policy.steers is None or not policy.steers(packet):
                    continue
                reported.add(policy.line)
                yield config.finding(
                    policy.line,
                    "sla-steered-as-another",
                    f"{application.name}: its {packet.protocol} port {packet.port} traffic from "
                    f"{packet.source} to {packet.destination} is steered as {owner.name} (over "
                    f"{', '.join(policy.next_hops) or 'no next hop'}, by SLA class {owner.sla.name}), "
                    f"not by its own paths or BGP's",
                )


# A destination on the internet, through the hubs (RFC 2544's benchmarking range: no store segment,
# loopback or cloud prefix, which steering never takes).
_INTERNET_HOST = ipaddress.IPv4Address("198.18.0.1")


def _packets(store: StoreIntent, application: ApplicationPolicy) -> Iterator[Packet]:
    """A packet of `application` per source segment, destination (each private prefix it goes to
    through the hubs, and the internet) and port range (its first port; 443 for any port)."""
    protocol = "tcp" if application.protocol == "any" else application.protocol
    ports = [low for low, _ in application.ports] or [443]
    destinations = [prefix.network_address + 1 for prefix in store.destinations(application)]
    for source in application.sources:
        for destination in [*destinations, _INTERNET_HOST]:
            for port in ports:
                yield Packet(protocol, source.network_address + 1, destination, port)


def _cloud_steered(
    config: ConfigFile, store: StoreIntent, policy: PolicyFact, application: ApplicationPolicy
) -> Iterator[Finding]:
    """A store with tunnels to AWS reaches the VPCs over them: AWS's routes win BGP over the
    hubs', and AWS answers over those tunnels. An application policy that steers the VPCs'
    traffic to a hub sends it out by another path than its answers come back by (a stateful
    hub sees one direction only)."""
    if policy.steers is None:
        return
    clouds = sorted({net for s in store.sessions if s.kind == "store-aws" for net in s.accepts}, key=str)
    protocol = "tcp" if application.protocol == "any" else application.protocol
    port = application.ports[0][0] if application.ports else 443
    for cloud in clouds:
        for source in application.sources:
            packet = Packet(protocol, source.network_address + 1, cloud.network_address + 1, port)
            if policy.steers(packet):
                yield config.finding(
                    policy.line,
                    "sla-steers-cloud",
                    f"{application.name}: traffic from {source} to the cloud ({cloud}) is steered to a "
                    "hub, though the store's AWS tunnels carry it and AWS answers over them",
                )
                break


# ---------------------------------------------------------------- return path on the hubs


def route_map_ranking(root: Line) -> list[RankingFact]:
    """The route-map entries of an IOS-spelled config (IOS-XE, FRR) that rank a store's routes:
    `match ip address prefix-list` and `set local-preference`, with the `match community` list
    they require, if any."""
    facts = []
    for section in top(root, "route-map"):
        words = [line.words for line in section.children]
        pref = next((w[2] for w in words if w[:2] == ["set", "local-preference"] and len(w) > 2), None)
        prefixes = next((w[4] for w in words if w[:4] == ["match", "ip", "address", "prefix-list"] and len(w) > 4), None)
        if pref is None or prefixes is None:
            continue
        community = next((w[2] for w in words if w[:2] == ["match", "community"] and len(w) > 2), None)
        facts.append(RankingFact(section.words[1], section.number, section.text, prefixes, community, int(pref)))
    return facts


def return_ranking_findings(
    config: ConfigFile, rule: str, facts: Iterable[RankingFact], lists: set[str]
) -> Iterator[Finding]:
    """A hub returns traffic over the path the store's SLA allows: every policy that ranks a
    store's routes by local preference also takes the ones tagged degraded (a defined community
    list), below every untagged route of the same store. `facts`: the entries of the route-maps
    bound inbound to the hub's store sessions only (`cross.py` reads the bindings); a cloud
    session's ranks that cloud's routes by the hub's cloud rank, which `cloud-return-path`
    checks."""
    healthy: dict[str, list[int]] = {}
    for fact in facts:
        if fact.community is None:
            healthy.setdefault(fact.prefixes, []).append(fact.local_pref)
    tagged = {fact.policy for fact in facts if fact.community is not None}
    reported: set[str] = set()
    for fact in facts:
        if fact.policy not in tagged and fact.policy not in reported:
            reported.add(fact.policy)
            yield config.finding(
                fact.line,
                rule,
                f"{fact.policy}: nothing takes the store's routes tagged degraded, so traffic back to the "
                "store stays on a path out of its SLA",
            )
        if fact.community is None:
            continue
        if fact.community not in lists:
            yield config.finding(fact.line, rule, f"{fact.text}: community list {fact.community} is not defined")
        floor = min(healthy.get(fact.prefixes, [0]))
        if fact.local_pref >= floor:
            yield config.finding(
                fact.line,
                rule,
                f"{fact.text}: degraded routes of {fact.prefixes} get local preference {fact.local_pref}, "
                f"not below {floor} of the store's paths in SLA",
            )
