"""`storestack devices lint`: static checks over rendered configs, per platform and across files.

The interface every platform's rule module uses:

- `Finding(file, line, rule, message)`: one defect, at a 1-based line (0: the file as a whole).
- `ConfigFile`: one rendered file (config or companion) with its platform, role and text.
- `register_rule(platform)`: decorates `rule(config: ConfigFile) -> Iterable[Finding]`, run on
  every config of that platform (companion files included: check `config.suffix`).
- `register_tunnels(platform)`: decorates `extract(config: ConfigFile) -> list[TunnelFact]`, run
  on each appliance's main config (`config.companions` holds its host files): what the tunnels say (addresses, identities, PSK slot, BGP ASN, proposals). The cross-file
  rules (`devices/lint/cross.py`) match every store tunnel to its hub end and to the network
  intent with these facts, so a platform gets peer, identity, PSK-slot and proposal checks by
  providing an extractor.

- `register_forwarding(platform)`: decorates `extract(config: ConfigFile, peers: frozenset[str])
  -> ForwardingFacts`, run on each hub's main config (`peers`: the IKE identities and static
  addresses of its store links): what the hub does with a packet one of its store tunnels brings
  in (`ForwardingFacts.verdict`), and the store links that filter nothing.
  `devices/lint/isolation.py` sends it packets from one store to another store's addresses.

- `register_probes(platform)`: decorates `extract(config: ConfigFile) -> list[SentProbe]`, run on
  each store appliance's main config: the SLA probes it sends (kind, target, source, port).
  `register_answers(platform)`: decorates `extract(config: ConfigFile) -> ProbeAnswers`, run on
  each hub's main config: the probe kinds its platform answers and what its config lacks to
  answer one. The cross-file `probe-unanswered` check matches each store probe to the hub it
  targets with these; a store platform without a probe extractor sends nothing checked.

- `register_advertisements(platform)`: decorates `extract(config: ConfigFile) ->
  AdvertisementFacts`, run on each hub's main config: its BGP neighbours, their conditional
  advertisements (peer groups resolved) and the route-maps and prefix lists those name. The
  cross-file `hub-stores-conditional` check holds a hub with a beacon to passing its stores'
  routes to the other hubs only while the beacon's condition holds; a hub platform without one
  is not checked for it.

- `register_route_filters(platform)`: decorates `extract(config: ConfigFile) -> RouteFilters`,
  run on every appliance's main config: each BGP neighbour's inbound and outbound route-maps,
  their entries and prefix lists, and each neighbour's prefix limit. The cross-file
  `route-filter` check passes what each end of a store-hub session announces (the network
  intent's `BgpSession.announces`) through the sender's outbound and the receiver's inbound
  filters; the `prefix-limit` check holds what each end announces under the other's limit; the
  `hub-store-default` check reads whether a hub sends each store link a default route, with its
  BGP table as the intent has it with and without the DC core's routes (`StoreDefault`); the
  `cloud-routes` check passes each cloud BGP session's own site's ranges, and every range the
  intent gives another owner, through its inbound filter; the `cloud-return-path` check reads
  what the entries that pass a cloud session's routes set (`RouteMapEntry.local_pref`,
  `prepend`) against the hub's cloud rank.

- `register_ranking(platform)`: decorates `extract(config: ConfigFile) -> RankingFacts`, run on
  each hub's main config: every route-map entry (route-policy node, FortiOS route-map rule) that
  sets a local preference on a prefix list's routes, the community lists the config defines, and
  the platform's return-path rule. The cross-file return-path check judges those of the
  route-maps bound inbound to the hub's store sessions (`RouteFilters.bound`, the intent's
  store-hub sessions): a store's routes taken in degraded rank below its paths in SLA
  (`return_ranking_findings` in `devices/lint/steering.py`).

- `register_steering(platform)`: decorates `extract(config: ConfigFile) -> SteeringFacts`, run on
  each store appliance's main config: its SLA probes (class, path, thresholds and timers as
  spelled) and its steering policies (application, next hops in order). `devices/lint/steering.py`
  checks them against the SLA and application classes of the network intent.

Platform modules live beside this one (`frr.py`, `cisco_xe.py`, `huawei_vrp.py`, `fortinet.py`)
and are imported by `load_platform_rules()`; one that is missing is simply not checked.
PSK slots are compared by name: lint renders with `Renderer(secrets="slots")`, which prints
`<psk TUNNEL-ID>` where a push file would hold the key.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Generic, TypeVar

from storestack.devices.platforms import get_platform
from storestack.network.crypto import EspProposal, IkeProposal

PLATFORM_MODULES = ("frr", "cisco_xe", "huawei_vrp", "fortinet")
E = TypeVar("E")
T = TypeVar("T")


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    file: str
    line: int
    rule: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "rule": self.rule, "message": self.message}


@dataclass(frozen=True)
class ConfigFile:
    """One rendered file. `suffix` is "" for the appliance config, else the companion's suffix
    (e.g. "swanctl.conf", "nftables.conf")."""

    name: str
    platform: str
    role: str  # edge | hub
    hostname: str
    text: str = field(repr=False)
    store_id: str | None = None
    suffix: str = ""
    # The appliance's files by suffix ("" is the main config), so a rule on one file can read
    # what the others say (FRR: swanctl.conf, routing, the interfaces of the FRR config).
    companions: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def line_of(self, needle: str, start: int = 0) -> int:
        """1-based number of the first line at or after `start` (0-based) holding `needle`; 0 if none."""
        for number, line in enumerate(self.lines[start:], start=start + 1):
            if needle in line:
                return number
        return 0

    def finding(self, line: int, rule: str, message: str) -> Finding:
        return Finding(self.name, line, rule, message)


@dataclass(frozen=True, slots=True)
class TunnelFact:
    """One tunnel as a config spells it. None: the config does not say (or cannot)."""

    file: str
    line: int
    name: str  # the config's name for it (interface, connection, phase1)
    peer_outside: str | None
    local_inside: str | None  # a.b.c.d (no prefix length)
    peer_inside: str | None
    local_id: str | None
    peer_id: str | None
    psk_slot: str | None  # "<psk TUNNEL-ID>" as rendered in slots mode
    peer_asn: int | None
    ike: frozenset[IkeProposal]
    esp: frozenset[EspProposal]
    # The end answers its peer from any outside address (an IOS-XE FlexVPN virtual template,
    # told apart by IKE identity): it names no peer outside address to compare.
    any_peer_address: bool = False
    # BGP tracks the peer with BFD (directly, or through its peer-group or session template);
    # None: the extractor does not read BFD. `bfd_timers`: (transmit ms, receive ms, multiplier)
    # where the config says them.
    bfd: bool | None = None
    bfd_timers: tuple[int, int, int] | None = None
    # The traffic selectors the end negotiates, (its own, the far end's): each a tuple of
    # prefixes ("0.0.0.0/0"), or of a word where it negotiates no prefix of its own choosing
    # (`SELECTORS_DYNAMIC`: strongSwan's default, the IKE address; `SELECTORS_GRE`: GRE over
    # IPsec, the two outside addresses' GRE packets). None: the extractor does not read them.
    selectors: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    # The type of the IKE identity the end sends (`local_id`) and of the one it expects
    # (`peer_id`): one of `ID_TYPES`. IKEv2 peers match an identity by type and value (RFC 7296
    # 3.5), so an FQDN and a KEY_ID of one spelling differ. None: the config leaves the type to
    # the platform, or the extractor does not read it.
    local_id_type: str | None = None
    peer_id_type: str | None = None
    # The anti-replay window of the end's inbound SAs, in packets (0: replay checking off). None:
    # the platform documents no window size, or the extractor does not read it.
    replay_window: int | None = None
    # The tunnel interface's IP MTU and the MSS it clamps TCP SYNs to, in bytes (0: the config
    # sets none, so the platform's default applies, which nothing sizes to the transport). None:
    # the platform sizes it itself (FortiOS's tunnel MTU) or the extractor does not read it.
    mtu: int | None = None
    tcp_mss: int | None = None
    # The IP MTU of the port the end's ESP leaves by, where the platform sizes the ESP of what it
    # forwards into the tunnel from that port's (the path's) MTU rather than from the tunnel
    # interface's (FortiOS, Fortinet KB 193388). None: the extractor does not read it.
    underlay_mtu: int | None = None


# IKEv2 identification types (RFC 7296 3.5) as `TunnelFact` names them.
ID_TYPES = ("ipv4", "fqdn", "user-fqdn", "key-id", "dn")


def id_type_of(identity: str) -> str:
    """The type a plain identity string stands for: an IPv4 address or else an FQDN, as the
    network intent writes every identity (`Tunnel.local_id`)."""
    try:
        ipaddress.IPv4Address(identity)
    except ValueError:
        return "fqdn"
    return "ipv4"


# What a tunnel end negotiates as traffic selectors where it names no prefix (`TunnelFact.selectors`).
SELECTORS_DYNAMIC = "dynamic"
SELECTORS_GRE = "gre"
ROUTE_BASED_SELECTORS: tuple[tuple[str, ...], tuple[str, ...]] = (("0.0.0.0/0",), ("0.0.0.0/0",))


@dataclass(frozen=True, slots=True)
class ProbeFact:
    """One SLA probe as a config spells it: what it measures towards which path, against which
    SLA class. None: the platform's probe does not carry that threshold or timer."""

    line: int
    name: str  # the config's name for it (IP SLA number, NQA test, health check / SLA id)
    sla_class: str | None  # the intent class it claims (tag, NQA administrator, SLA id)
    next_hop: str | None  # the far end it probes: the hub's overlay address of one tunnel
    latency_ms: int | None = None
    jitter_ms: int | None = None
    loss_percent: int | None = None  # whole percent (FortiOS, VRP)
    loss_packets: int | None = None  # lost packets per operation that raise a reaction (IOS-XE)
    packets: int | None = None  # packets per operation (IOS-XE jitter probes)
    hold_down_s: int | None = None
    recovery_s: int | None = None
    tos: int | None = None  # the ToS byte its packets carry (0: unmarked); None: not settable


@dataclass(frozen=True, slots=True)
class PolicyFact:
    """One application's steering as a config spells it: its next hops, preferred first."""

    line: int
    application: str
    next_hops: tuple[str, ...]
    recovery_s: int | None = None  # FortiOS `hold-down-time`
    # Whether the policy steers a packet (False: the routing table forwards it); None where the
    # config cannot be followed that far. None for a platform that does not say.
    steers: Callable[[Packet], bool | None] | None = field(default=None, compare=False)
    # Per next hop, the host routes whose presence its tracking also requires (IOS-XE: a route
    # track, `ip route A 255.255.255.255 reachability`, in the list the next hop follows): the
    # hubs' beacons (`HubBeacon`). None where the platform's steering cannot follow a route
    # (VRP's NQA-tracked redirect) or leaves a hub without a route another way (FortiOS).
    guards: dict[str, frozenset[str]] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SteeringFacts:
    probes: list[ProbeFact] = field(default_factory=list)
    policies: list[PolicyFact] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Packet:
    """A packet a tunnel brings into a hub: the start of a connection, unless `tcp_flags` say
    otherwise (a TCP segment of a connection the hub never saw start, which only the FRR hub's
    nftables reader follows; the other platforms' readers take every TCP packet for a SYN)."""

    protocol: str  # tcp | udp | icmp (an echo request, unless `icmp` says otherwise)
    source: ipaddress.IPv4Address
    destination: ipaddress.IPv4Address
    port: int | None = None  # the destination port (tcp, udp)
    tcp_flags: frozenset[str] = frozenset({"syn"})  # nft's names: syn, ack, rst, fin, ...
    source_port: int | None = None  # None: not known (a rule on it cannot be told)
    icmp: tuple[int, int] | None = None  # an ICMP message's (type, code); None: an echo request
    # An answer within a flow the firewall already holds (conntrack `established`; an ICMP error
    # about it: `related`), arriving on whichever tunnel the far end sent it into: only the FRR
    # nftables reader follows it (lint `frr-store-answers`).
    answer: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a hub's filter does with a packet: forwarded or not, and the rule that decided (line
    0: the filter's default, `rule` says which)."""

    forwarded: bool
    line: int
    rule: str


def aws_filter_admits(
    source: ipaddress.IPv4Network | None,
    destination: ipaddress.IPv4Network | None,
    tunnel: ipaddress.IPv4Interface,
    clouds: Sequence[ipaddress.IPv4Network],
) -> bool:
    """Whether a permit of a store's AWS tunnel's inbound filter (None: any address) admits only
    what an AWS tunnel may bring in (`ViewBuilder._aws_filter`): a source within the prefixes the
    store takes from AWS (`clouds`), or the tunnel's far end (the other address of its inside
    subnet) to the tunnel's own address. Anything else (the HQ management ranges, any source) an
    AWS host may send, spoofed or not, and reach the router with: the AWS and hub tunnels share
    one zone, whose traffic to the router the management ranges' rules admit."""
    if source is None:
        return False
    if any(source.subnet_of(cloud) for cloud in clouds):
        return True
    far_end = [host for host in tunnel.network.hosts() if host != tunnel.ip]
    return (
        source.prefixlen == 32
        and source.network_address in far_end
        and destination == ipaddress.IPv4Network(tunnel.ip)
    )


def most_permissive(verdicts: list[Verdict], unfiltered: str) -> Verdict:
    """A packet's verdict over the filters of every store link it may arrive on: forwarded when
    any link's filter forwards it (an attacker picks the link); `unfiltered` names the default
    when the hub filters no store link at all."""
    return next((v for v in verdicts if v.forwarded), verdicts[0] if verdicts else Verdict(True, 0, unfiltered))


@dataclass
class ForwardingFacts:
    """What a hub does with what its store tunnels bring in, as its config spells it."""

    verdict: Callable[[Packet], Verdict]
    file: str | None = None  # the file the verdicts' lines are in; None: the config itself
    # (line, why) of each store link that takes in everything (no filter, or one not defined)
    unfiltered: list[tuple[int, str]] = field(default_factory=list)
    # The verdict also decides what reaches the hub's own addresses (an inbound interface ACL
    # filters what is addressed to the router as well as what it forwards: IOS-XE; FortiOS's
    # local-in policies beside its firewall policies), not only what the hub forwards (an
    # nftables forward chain).
    to_hub: bool = False


class SubnetIndex(Generic[T]):
    """Items placed by an address (a BGP neighbour, an interface's own address), found by the
    subnet they lie on in the order given, without reading every item for every subnet asked
    about: a hub holds a neighbour and an interface per store tunnel, and asks about each."""

    def __init__(self, items: Iterable[tuple[ipaddress.IPv4Address, T]]) -> None:
        self._items = [(int(address), item) for address, item in items]
        self._by_length: dict[int, dict[int, list[T]]] = {}

    def on(self, network: ipaddress.IPv4Network) -> list[T]:
        """The items whose address lies in `network`, in the order given."""
        length = network.prefixlen
        if length not in self._by_length:
            mask = int(network.netmask)
            found: dict[int, list[T]] = {}
            for address, item in self._items:
                found.setdefault(address & mask, []).append(item)
            self._by_length[length] = found
        return self._by_length[length].get(int(network.network_address), [])


@dataclass(frozen=True, slots=True)
class SummaryFact:
    """A prefix a hub's config announces in BGP, unconditionally (`network`) or while a route
    inside it is learned (`aggregate`), or discards by a static route (`discard`)."""

    kind: str  # network | aggregate | discard
    prefix: ipaddress.IPv4Network
    line: int


# An address, and a prefix as A/N (FRR) or A M (IOS-XE, VRP), for the summary extractors' patterns.
IP_PATTERN = r"(\d+\.\d+\.\d+\.\d+)"
PREFIX_PATTERN = rf"{IP_PATTERN}(?:/(\d+)| {IP_PATTERN})"


def summary_net(address: str, length: str | None, mask: str | None) -> ipaddress.IPv4Network | None:
    """The network of an address with a prefix length or a mask; None when it is not one."""
    try:
        return ipaddress.IPv4Network(f"{address}/{length or mask}")
    except ValueError:
        return None


def pattern_summaries(config: ConfigFile, patterns: Iterable[tuple[str, re.Pattern[str]]]) -> list[SummaryFact]:
    """The summary facts of a line-oriented config: each line matching a (kind, pattern) pair,
    the pattern's first groups the address and its length or mask."""
    facts: list[SummaryFact] = []
    for number, line in enumerate(config.lines, start=1):
        for kind, pattern in patterns:
            match = pattern.match(line)
            if match and (net := summary_net(*match.groups()[:3])) is not None:
                facts.append(SummaryFact(kind, net, number))
    return facts


@dataclass(frozen=True, slots=True)
class PrefixRule:
    """One rule of a prefix list as a config spells it: it permits (or denies) the routes inside
    `prefix` whose length lies in [low, high] (`ge`, `le`; neither: the prefix's own length only;
    `ge` alone: up to 32)."""

    permit: bool
    prefix: ipaddress.IPv4Network
    low: int
    high: int
    line: int


def prefix_rule(
    permit: bool, prefix: ipaddress.IPv4Network, ge: str | None, le: str | None, line: int
) -> PrefixRule:
    """A prefix-list rule from its `ge` and `le` as spelt (None: not set)."""
    low = int(ge) if ge else prefix.prefixlen
    high = int(le) if le else (32 if ge else prefix.prefixlen)
    return PrefixRule(permit, prefix, low, high, line)


class PrefixList:
    """A prefix list's rules in the order it evaluates them (the first that matches a route
    decides; none: denied), indexed by prefix so that a list of thousands (a hub's stores'
    loopbacks) is looked up, not walked, for each route."""

    def __init__(self, rules: Sequence[PrefixRule]) -> None:
        self.rules = tuple(rules)
        self._at: dict[tuple[int, int], list[int]] = {}
        for index, rule in enumerate(self.rules):
            self._at.setdefault((int(rule.prefix.network_address), rule.prefix.prefixlen), []).append(index)

    def permitted_lengths(self, net: ipaddress.IPv4Network, longest: int) -> set[int]:
        """The lengths in [net's own, `longest`] of which the list permits every route inside `net`."""
        address, size = int(net.network_address), net.prefixlen
        # The rules around `net` match every route inside it of a length they take; the rules
        # inside it, some.
        around = [i for length in range(size + 1) for i in self._at.get((address >> (32 - length) << (32 - length), length), ())]
        inside = (
            [i for i, rule in enumerate(self.rules) if rule.prefix.prefixlen > size and rule.prefix.subnet_of(net)]
            if size < 32
            else []
        )
        candidates = sorted({*around, *inside})
        permitted = set()
        for length in range(size, longest + 1):
            for index in candidates:
                rule = self.rules[index]
                if not rule.low <= length <= rule.high or rule.prefix.prefixlen > length:
                    continue
                if rule.prefix.prefixlen <= size:  # decides every such route
                    if rule.permit:
                        permitted.add(length)
                    break
                if not rule.permit:  # denies some of them
                    break
                # A permit of some of them: the others go on to the next rules.
        return permitted


@dataclass(frozen=True, slots=True)
class ConditionalFact:
    """A BGP neighbour's conditional advertisement as a config spells it (on the neighbour or its
    peer group): the routes route-map `advertise` permits go to `neighbor` only while a route
    one of the `conditions` route-maps permits is in the table (`exist`), or only while none is."""

    neighbor: str
    advertise: str
    conditions: tuple[str, ...]
    exist: bool
    line: int


@dataclass
class AdvertisementFacts:
    """What a hub's config says about advertising routes to its BGP neighbours on a condition."""

    neighbors: dict[str, int]  # neighbour address -> the line that declares it
    conditionals: list[ConditionalFact]
    # route-map -> (its first line, the prefix lists its permit entries match)
    route_maps: dict[str, tuple[int, tuple[str, ...]]]
    prefix_lists: dict[str, list[PrefixRule]]  # each list's rules in the order it evaluates them


@dataclass(frozen=True, slots=True)
class RouteMapEntry:
    """One entry of a route-map (IOS-XE, FRR), route-policy node (VRP) or route-map rule
    (FortiOS), in evaluation order: it permits or denies the routes its prefix lists permit
    (any of them; none named: every route); `other`: it also matches on something else (a
    community, an AS path), so it may not match a route its lists permit."""

    permit: bool
    lists: tuple[str, ...]
    other: bool
    line: int
    # What it sets on the routes it permits, where a check reads it: the local preference (None:
    # none set) and the AS numbers it prepends (IOS-XE and FRR `set as-path prepend`, VRP `apply
    # as-path ... additive`, FortiOS `set-aspath` with the default prepend action).
    local_pref: int | None = None
    prepend: tuple[int, ...] = ()


_DEFAULT_ROUTE = ipaddress.IPv4Network("0.0.0.0/0")


@dataclass(frozen=True, slots=True)
class DefaultOrigination:
    """A default route a BGP speaker originates towards a neighbour, as its config spells it:
    `condition` None: whatever its table holds; else what it needs (`route_map`: the route-map
    whose permitted routes must be in the table, where the condition is one; VRP's
    `conditional-route-match-*` is a list of routes, not read here)."""

    line: int
    condition: str | None
    route_map: str | None = None


@dataclass
class RouteFilters:
    """A BGP speaker's route filters as its config spells them: each neighbour's route-maps by
    direction ("in", "out"; more than one: each must pass the route, as FortiOS's route-map-out
    and route-map-out-preferable do), the route-maps' entries in order and the prefix lists."""

    neighbors: dict[str, dict[str, tuple[str, ...]]]
    route_maps: dict[str, list[RouteMapEntry]]
    prefix_lists: dict[str, list[PrefixRule]]
    kind: str = "route-map"  # what the platform calls one (VRP: route-policy)
    # neighbour -> (the most prefixes it takes from that neighbour, the line that says so; peer
    # groups resolved): IOS-XE and FRR `maximum-prefix`, VRP `route-limit`, FortiOS
    # `maximum-prefix`. A neighbour without one takes any number.
    limits: dict[str, tuple[int, int]] = field(default_factory=dict)
    # neighbour -> the default route the speaker originates towards it (peer groups resolved):
    # FRR and IOS-XE `neighbor A default-originate [route-map M]`, VRP `peer A
    # default-route-advertise [...]`, FortiOS `capability-default-originate enable` with its
    # `default-originate-routemap`. A neighbour without one is sent no default but what its
    # outbound filter passes of the speaker's own table.
    defaults: dict[str, DefaultOrigination] = field(default_factory=dict)
    # (route-map, route) -> `permits`' verdict: a hub's default condition is asked about every
    # route of its table for each of its store sessions (`sends_default`). The filters are read
    # from a config once and never changed after.
    _verdicts: dict[tuple[str, ipaddress.IPv4Network], bool | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def bound(self, neighbors: Iterable[str], direction: str) -> set[str]:
        """The route-maps bound in `direction` ("in", "out") to any of `neighbors` (peer groups
        resolved); a neighbour this reader does not know binds none."""
        return {name for neighbor in neighbors for name in self.neighbors.get(neighbor, {}).get(direction, ())}

    def permits(self, route_map: str, net: ipaddress.IPv4Network) -> bool | None:
        """Whether route-map `route_map` permits `net`; None where this reader cannot tell (an
        unknown route-map or list; an entry that also matches on something else is taken to
        match)."""
        key = (route_map, net)
        if key not in self._verdicts:
            self._verdicts[key] = self._permits(route_map, net)
        return self._verdicts[key]

    def _permits(self, route_map: str, net: ipaddress.IPv4Network) -> bool | None:
        if route_map not in self.route_maps:
            return None
        probe = RouteFilters({"": {"probe": (route_map,)}}, self.route_maps, self.prefix_lists, self.kind)
        if any(name not in self.prefix_lists for entry in self.route_maps[route_map] for name in entry.lists):
            return None
        return probe.refusal("", "probe", net) is None

    def sends_default(self, neighbor: str, table: Iterable[ipaddress.IPv4Network]) -> bool | None:
        """Whether the speaker sends `neighbor` a default route while its BGP table holds
        exactly `table`: one it originates (unconditionally, or while a route its condition
        permits is in the table), or the table's own 0.0.0.0/0 through the outbound filter.
        None where this reader cannot tell (a condition it does not read)."""
        return self.sends_defaults([neighbor], table)[neighbor]

    def sends_defaults(
        self, neighbors: Iterable[str], table: Iterable[ipaddress.IPv4Network]
    ) -> dict[str, bool | None]:
        """`sends_default` of each of `neighbors` with one BGP table: each condition route-map
        read over the table once, not once per neighbour (a hub's store sessions share one,
        and its table grows with the stores as its sessions do)."""
        held = list(table)
        conditions: dict[str, bool | None] = {}  # route-map -> whether a route of the table meets it
        answers: dict[str, bool | None] = {}
        for neighbor in neighbors:
            origination = self.defaults.get(neighbor)
            if origination is not None:
                if origination.condition is None:
                    answers[neighbor] = True
                    continue
                if origination.route_map is None:
                    answers[neighbor] = None
                    continue
                if origination.route_map not in conditions:
                    conditions[origination.route_map] = self._condition_met(origination.route_map, held)
                met = conditions[origination.route_map]
                if met is None or met:
                    answers[neighbor] = met
                    continue
            if _DEFAULT_ROUTE not in held or neighbor not in self.neighbors:
                answers[neighbor] = False
            else:
                answers[neighbor] = self.refusal(neighbor, "out", _DEFAULT_ROUTE) is None
        return answers

    def _condition_met(self, route_map: str, held: list[ipaddress.IPv4Network]) -> bool | None:
        """Whether route-map `route_map` permits a route of `held`; None where it cannot be told
        of one of them."""
        verdicts = [self.permits(route_map, net) for net in held]
        if any(verdict is None for verdict in verdicts):
            return None
        return any(verdicts)

    def applied(self, neighbor: str, direction: str, net: ipaddress.IPv4Network) -> list[RouteMapEntry] | None:
        """The entry of each route-map towards or from `neighbor` that permits `net` and so sets
        what it sets on it (first match wins); None where this reader cannot tell (an unknown
        neighbour, route-map or list, an entry that also matches on something else) or a
        route-map refuses it (`refusal` says so)."""
        if neighbor not in self.neighbors:
            return None
        found: list[RouteMapEntry] = []
        for name in self.neighbors[neighbor].get(direction, ()):
            entry = self._first_match(name, net)
            if entry is None or entry.other or not entry.permit:
                return None
            found.append(entry)
        return found

    def _first_match(self, name: str, net: ipaddress.IPv4Network) -> RouteMapEntry | None:
        """The first entry of route-map `name` whose lists permit `net` (none named: every
        route); None where there is none or this reader cannot tell."""
        for entry in self.route_maps.get(name, ()):
            matched = self._matches(entry, net)
            if matched is None:
                return None
            if matched:
                return entry
        return None

    def _matches(self, entry: RouteMapEntry, net: ipaddress.IPv4Network) -> bool | None:
        """Whether `entry`'s prefix lists permit `net` (none named: every route); None where one
        of its lists is not defined (this reader cannot tell)."""
        if any(list_name not in self.prefix_lists for list_name in entry.lists):
            return None
        return not entry.lists or any(
            net.prefixlen in PrefixList(self.prefix_lists[list_name]).permitted_lengths(net, net.prefixlen)
            for list_name in entry.lists
        )

    def refusal(self, neighbor: str, direction: str, net: ipaddress.IPv4Network) -> tuple[int, str] | None:
        """(line, why) where the filters towards or from `neighbor` refuse `net`; None where they
        pass it, or where this reader cannot tell (an unknown neighbour, route-map or list, an
        entry that also matches on something else is taken to match)."""
        if neighbor not in self.neighbors:
            return None
        for name in self.neighbors[neighbor].get(direction, ()):
            entries = self.route_maps.get(name)
            if entries is None:
                return None
            for entry in entries:
                matched = self._matches(entry, net)
                if matched is None:
                    return None
                if not matched or (entry.other and not entry.permit):
                    continue
                if entry.permit:
                    break
                return entry.line, f"{self.kind} {name} denies it"
            else:
                line = entries[0].line if entries else 0
                return line, f"{self.kind} {name} permits it nowhere (its implicit deny)"
        return None


@dataclass(frozen=True, slots=True)
class RankingFact:
    """One sequence / node / rule of a hub's route-map that ranks routes by local preference:
    the prefix list it matches, the community list it requires (None: untagged) and the local
    preference it sets."""

    policy: str  # route-map / route-policy name
    line: int
    text: str
    prefixes: str
    community: str | None
    local_pref: int


@dataclass(frozen=True, slots=True)
class RankingFacts:
    """What a hub's config ranks by local preference (`register_ranking`): every such entry of
    any route-map, bound or not (the check reads the bindings), the community lists it defines,
    and the platform's rule the findings go under."""

    rule: str
    facts: list[RankingFact]
    lists: set[str]


# IOS-XE and FRR spell the lines the same way (IOS-XE also takes a prefix list without `seq`).
_LINE_NEIGHBOR = re.compile(r"^ neighbor (\S+) remote-as \S+$")
_LINE_PEER_GROUP = re.compile(r"^ +neighbor (\S+) peer-group (\S+)$")
_LINE_CONDITIONAL = re.compile(r"^ +neighbor (\S+) advertise-map (\S+) (exist-map|non-exist-map) (\S+)$")
_LINE_ROUTE_MAP = re.compile(r"^route-map (\S+) (permit|deny) \d+$")
_LINE_MATCH_LIST = re.compile(r"^ match ip address prefix-list (.+)$")
_LINE_PREFIX_LIST = re.compile(
    r"^ip prefix-list (\S+) (?:seq (\d+) )?(permit|deny) (\d+\.\d+\.\d+\.\d+/\d+)(?: ge (\d+))?(?: le (\d+))?$"
)


def line_prefix_lists(config: ConfigFile) -> dict[str, list[PrefixRule]]:
    """The prefix lists of an FRR or IOS-XE config, each by name with its rules in sequence order:
    `ip prefix-list L [seq N] permit|deny P [ge X] [le Y]` (without `seq`, as IOS-XE takes it, five
    after the list's previous rule). The one reader of both platforms' prefix lists."""
    lists: dict[str, list[tuple[int, PrefixRule]]] = {}
    for number, line in enumerate(config.lines, start=1):
        if (match := _LINE_PREFIX_LIST.match(line)) is not None:
            rules = lists.setdefault(match[1], [])
            sequence = int(match[2]) if match[2] else (rules[-1][0] + 5 if rules else 5)
            rule = prefix_rule(match[3] == "permit", ipaddress.IPv4Network(match[4], strict=False), match[5], match[6], number)
            rules.append((sequence, rule))
    return {name: [rule for _, rule in sorted(rules, key=lambda r: r[0])] for name, rules in lists.items()}


def line_advertisements(config: ConfigFile) -> AdvertisementFacts:
    """The advertisement facts of an FRR or IOS-XE config: `neighbor A remote-as N`, `neighbor A
    advertise-map M exist-map C` (non-exist-map) on A or on the peer group A belongs to
    (`neighbor A peer-group G`), `route-map M permit N` with its `match ip address prefix-list`
    lines, and the prefix lists (`line_prefix_lists`)."""
    neighbors: dict[str, int] = {}
    members: dict[str, list[str]] = {}
    conditionals: list[tuple[str, str, str, bool, int]] = []
    route_maps: dict[str, tuple[int, tuple[str, ...]]] = {}
    current: str | None = None  # the permit entry of a route-map the lines below belong to
    for number, line in enumerate(config.lines, start=1):
        if not line.startswith(" "):
            current = None
        if (match := _LINE_NEIGHBOR.match(line)) is not None:
            neighbors.setdefault(match[1], number)
        elif (match := _LINE_PEER_GROUP.match(line)) is not None:
            members.setdefault(match[2], []).append(match[1])
        elif (match := _LINE_CONDITIONAL.match(line)) is not None:
            conditionals.append((match[1], match[2], match[4], match[3] == "exist-map", number))
        elif (match := _LINE_ROUTE_MAP.match(line)) is not None:
            current = match[1] if match[2] == "permit" else None
            route_maps.setdefault(match[1], (number, ()))
        elif current is not None and (match := _LINE_MATCH_LIST.match(line)) is not None:
            first, names = route_maps[current]
            route_maps[current] = (first, (*names, *match[1].split()))
    facts = [
        ConditionalFact(address, advertise, (condition,), exist, number)
        for target, advertise, condition, exist, number in conditionals
        for address in members.get(target, [target])
    ]
    return AdvertisementFacts(neighbors, facts, route_maps, line_prefix_lists(config))


_LINE_BINDING = re.compile(r"^ +neighbor (\S+) route-map (\S+) (in|out)$")
_LINE_DEFAULT = re.compile(r"^ +neighbor (\S+) default-originate(?: route-map (\S+))?$")
_LINE_MAXIMUM_PREFIX = re.compile(r"^ +neighbor (\S+) maximum-prefix (\d+)(?: |$)")
_LINE_ENTRY = re.compile(r"^route-map (\S+) (permit|deny) (\d+)$")
_LINE_SET_LOCAL_PREF = re.compile(r"^ set local-preference (\d+)$")
_LINE_SET_PREPEND = re.compile(r"^ set as-path prepend ((?:\d+ ?)+)$")


def line_route_filters(config: ConfigFile) -> RouteFilters:
    """The route filters of an FRR or IOS-XE config: `neighbor A route-map M in|out` on A or on
    the peer group A belongs to (`neighbor A peer-group G`), each `route-map M permit|deny N`
    in sequence order with its `match ip address prefix-list` lists (any other `match` makes it
    `other`), and the prefix lists (`line_prefix_lists`)."""
    neighbors: dict[str, dict[str, tuple[str, ...]]] = {}
    members: dict[str, list[str]] = {}
    bindings: list[tuple[str, str, str]] = []
    maximums: list[tuple[str, int, int]] = []  # target, limit, line
    originations: list[tuple[str, DefaultOrigination]] = []  # target, what it originates
    entries: dict[str, list[tuple[int, RouteMapEntry]]] = {}
    current: tuple[str, int, bool, int] | None = None  # route-map, sequence, permit, line
    lists: list[str] = []
    other = False
    local_pref: int | None = None
    prepend: tuple[int, ...] = ()

    def close() -> None:
        if current is not None:
            name, sequence, permit, line = current
            entries.setdefault(name, []).append(
                (sequence, RouteMapEntry(permit, tuple(lists), other, line, local_pref, prepend))
            )

    for number, line in enumerate(config.lines, start=1):
        if current is not None and not line.startswith(" "):
            close()
            current = None
        if (match := _LINE_NEIGHBOR.match(line)) is not None:
            neighbors.setdefault(match[1], {})
        elif (match := _LINE_PEER_GROUP.match(line)) is not None:
            members.setdefault(match[2], []).append(match[1])
        elif (match := _LINE_BINDING.match(line)) is not None:
            bindings.append((match[1], match[3], match[2]))
        elif (match := _LINE_MAXIMUM_PREFIX.match(line)) is not None:
            maximums.append((match[1], int(match[2]), number))
        elif (match := _LINE_DEFAULT.match(line)) is not None:
            originations.append((match[1], DefaultOrigination(number, match[2], match[2])))
        elif (match := _LINE_ENTRY.match(line)) is not None:
            current, lists, other = (match[1], int(match[3]), match[2] == "permit", number), [], False
            local_pref, prepend = None, ()
        elif current is not None and (match := _LINE_MATCH_LIST.match(line)) is not None:
            lists += match[1].split()
        elif current is not None and line.startswith(" match "):
            other = True
        elif current is not None and (match := _LINE_SET_LOCAL_PREF.match(line)) is not None:
            local_pref = int(match[1])
        elif current is not None and (match := _LINE_SET_PREPEND.match(line)) is not None:
            prepend = tuple(int(asn) for asn in match[1].split())
    close()
    for target, direction, route_map in bindings:
        for address in members.get(target, [target]):
            if address in neighbors:
                neighbors[address][direction] = (route_map,)
    return RouteFilters(
        neighbors,
        {name: [entry for _, entry in sorted(found, key=lambda e: e[0])] for name, found in entries.items()},
        line_prefix_lists(config),
        limits=resolved_limits(maximums, members, neighbors),
        defaults=resolved_defaults(originations, members, neighbors),
    )


def resolved_defaults(
    originations: Sequence[tuple[str, DefaultOrigination]], members: dict[str, list[str]], neighbors: Iterable[str]
) -> dict[str, DefaultOrigination]:
    """Each neighbour's default origination: its own, else its peer group's (`members`: group ->
    its neighbours)."""
    known = set(neighbors)
    own = {target: found for target, found in originations if target in known}
    inherited = {
        address: found
        for target, found in originations
        if target not in known
        for address in members.get(target, ())
        if address in known
    }
    return {**inherited, **own}


def resolved_limits(
    limits: Sequence[tuple[str, int, int]], members: dict[str, list[str]], neighbors: Iterable[str]
) -> dict[str, tuple[int, int]]:
    """Each neighbour's prefix limit, (limit, line): its own, else its peer group's (`members`:
    group -> its neighbours)."""
    known = set(neighbors)
    own = {target: (limit, line) for target, limit, line in limits if target in known}
    inherited = {
        address: (limit, line)
        for target, limit, line in limits
        if target not in known
        for address in members.get(target, ())
        if address in known
    }
    return {**inherited, **own}


@dataclass(frozen=True, slots=True)
class SentProbe:
    """An SLA probe a store sends, as its config spells it: its kind (`IosProbeKind`'s names
    where it is one of those: udp-jitter, icmp-jitter, icmp-echo; else the platform's own name
    for it), the address it probes, the store's address it sends from, and the test port of a
    UDP probe. None: the config does not say."""

    line: int
    kind: str
    target: str
    source: str | None = None
    port: int | None = None


def _answers_all(probe: SentProbe) -> list[str]:
    return []


def hub_probe_kinds(platform: str) -> tuple[str, ...]:
    """The probe kinds a hub platform answers: the IOS-XE probe it answers best
    (`answers_ios_probe`: IOS-XE's responder UDP jitter, Linux's ICMP timestamps) and ICMP
    echo, which every hub answers."""
    return tuple(dict.fromkeys((get_platform(platform).answers_ios_probe, "icmp-echo")))


@dataclass(frozen=True, slots=True)
class ProbeAnswers:
    """What a hub answers. `kinds`: the probe kinds its platform answers at all (a probe of any
    other kind times out); `gaps(probe)`: for a probe of one of those kinds, each thing the hub's
    config lacks to answer it, as a phrase naming the hub ("hq-hub1 runs no `ip sla responder`");
    empty when answered, or when the extractor does not read the config for that kind."""

    kinds: tuple[str, ...]
    gaps: Callable[[SentProbe], list[str]] = _answers_all


@dataclass(frozen=True, slots=True)
class SessionBfdFact:
    """How a config tracks one BGP neighbour with BFD: `line` the neighbour's (1-based), `bfd`
    whether BGP tracks it with BFD, `timers` (transmit ms, receive ms, multiplier) of that
    session where the config says them (None: it does not, or BFD is off)."""

    line: int
    bfd: bool
    timers: tuple[int, int, int] | None = None


Rule = Callable[[ConfigFile], Iterable[Finding]]
Extractor = Callable[[ConfigFile], list[TunnelFact]]
SteeringExtractor = Callable[[ConfigFile], SteeringFacts]
ForwardingExtractor = Callable[[ConfigFile, frozenset[str]], ForwardingFacts]
SummaryExtractor = Callable[[ConfigFile], list[SummaryFact]]
ProbeExtractor = Callable[[ConfigFile], list[SentProbe]]
AnswerExtractor = Callable[[ConfigFile], ProbeAnswers]
AdvertisementExtractor = Callable[[ConfigFile], AdvertisementFacts]
RouteFilterExtractor = Callable[[ConfigFile], RouteFilters]
RankingExtractor = Callable[[ConfigFile], RankingFacts]
# BGP neighbour address -> how the config tracks it with BFD (`register_session_bfd`).
SessionBfdExtractor = Callable[[ConfigFile], dict[str, SessionBfdFact]]

RULES: dict[str, list[Rule]] = {}
EXTRACTORS: dict[str, Extractor] = {}
STEERING_EXTRACTORS: dict[str, SteeringExtractor] = {}
FORWARDING_EXTRACTORS: dict[str, ForwardingExtractor] = {}
# What a hub forwards from its cloud VPNs (`register_cloud_forwarding`), read as the store
# tunnels' filter is; the `cloud-store-isolation` check needs it.
CLOUD_FORWARDING_EXTRACTORS: dict[str, ForwardingExtractor] = {}
SUMMARY_EXTRACTORS: dict[str, SummaryExtractor] = {}
PROBE_EXTRACTORS: dict[str, ProbeExtractor] = {}
ANSWER_EXTRACTORS: dict[str, AnswerExtractor] = {}
ADVERTISEMENT_EXTRACTORS: dict[str, AdvertisementExtractor] = {}
ROUTE_FILTER_EXTRACTORS: dict[str, RouteFilterExtractor] = {}
RANKING_EXTRACTORS: dict[str, RankingExtractor] = {}
SESSION_BFD_EXTRACTORS: dict[str, SessionBfdExtractor] = {}


def register_rule(platform: str) -> Callable[[Rule], Rule]:
    def add(rule: Rule) -> Rule:
        RULES.setdefault(platform, []).append(rule)
        return rule

    return add


def _registrar(table: dict[str, E]) -> Callable[[str], Callable[[E], E]]:
    """A decorator factory that files a platform module's extractor in `table` under its platform
    (one per platform and kind: the cross-file checks read them by the file's platform)."""

    def register(platform: str) -> Callable[[E], E]:
        def add(extractor: E) -> E:
            table[platform] = extractor
            return extractor

        return add

    return register


register_tunnels = _registrar(EXTRACTORS)
register_steering = _registrar(STEERING_EXTRACTORS)
register_forwarding = _registrar(FORWARDING_EXTRACTORS)
register_cloud_forwarding = _registrar(CLOUD_FORWARDING_EXTRACTORS)
register_summaries = _registrar(SUMMARY_EXTRACTORS)
register_probes = _registrar(PROBE_EXTRACTORS)
register_answers = _registrar(ANSWER_EXTRACTORS)
register_advertisements = _registrar(ADVERTISEMENT_EXTRACTORS)
register_route_filters = _registrar(ROUTE_FILTER_EXTRACTORS)
register_ranking = _registrar(RANKING_EXTRACTORS)
register_session_bfd = _registrar(SESSION_BFD_EXTRACTORS)


def load_platform_rules() -> None:
    """Import every platform rule module that exists (each registers itself on import)."""
    for module in PLATFORM_MODULES:
        try:
            importlib.import_module(f"storestack.devices.lint.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"storestack.devices.lint.{module}":
                raise


def run_platform_rules(files: Sequence[ConfigFile]) -> list[Finding]:
    load_platform_rules()
    return [
        finding for config in files for rule in RULES.get(config.platform, ()) for finding in rule(config)
    ]
