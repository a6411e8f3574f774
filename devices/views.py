"""Typed view objects: exactly what the device templates may read, built from the resolved fleet.

Templates never see inventory models or dicts. Every value here is either a plain validated
string/number computed from the fleet (addresses already spelled in each notation the
platforms use) or a `Secret` slot. Policy decisions (which segment may reach which, what the
LTE link carries, which routes are accepted) are made here, once, as data; the templates only
spell them in each vendor's syntax.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from storestack.devices.errors import StackOutputsError
from storestack.devices.outputs import StoreCloudOutputs
from storestack.devices.platforms import PROFILES, PlatformProfile
from storestack.devices.secrets import Secret, resolve_secret_refs
from storestack.inventory.fleet import Fleet, ResolvedHub, ResolvedSegment, ResolvedStore, ResolvedWanLink
from storestack.inventory.models import Platform

PLANNED_HEADER = "storestack: PLANNED values (no live stack outputs)"
LOCAL_ADMIN_USER = "localadmin"

_NETMASKS = [str(ipaddress.IPv4Address((0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF)) for n in range(33)]
_WILDCARDS = [str(ipaddress.IPv4Address(~(0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF)) for n in range(33)]

# Planned AWS values, used only until a store stack is live: inside /30s are laid out in
# 169.254.16.0 onwards (clear of the ranges AWS reserves), outside endpoints in TEST-NET-1.
_PLANNED_AWS_INSIDE_BASE = int(ipaddress.IPv4Address("169.254.16.0"))
_PLANNED_AWS_INSIDE_SLOTS = 9000
_PLANNED_AWS_OUTSIDE_BASE = int(ipaddress.IPv4Address("192.0.2.0"))


# ---------------------------------------------------------------- construction

_View = TypeVar("_View", bound=type)


def direct_init(cls: _View) -> _View:
    """Give a frozen, slotted view dataclass an `__init__` that fills its slots directly.

    The generated `__init__` of a frozen dataclass sets each field through
    `object.__setattr__`, several times slower than a slot store; the views of 10,000 stores
    set millions of fields. Same parameters, defaults and result; instances stay frozen.
    """
    namespace: dict[str, Any] = {"_MISSING": dataclasses.MISSING}
    params: list[str] = []
    body: list[str] = []
    for spec in dataclasses.fields(cls):
        assert not spec.kw_only and spec.init, f"{cls.__name__}.{spec.name}: only plain fields"
        namespace[f"_set_{spec.name}"] = getattr(cls, spec.name).__set__
        value = spec.name
        if spec.default is not dataclasses.MISSING:
            namespace[f"_default_{spec.name}"] = spec.default
            params.append(f"{spec.name}=_default_{spec.name}")
        elif spec.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{spec.name}"] = spec.default_factory
            params.append(f"{spec.name}=_MISSING")
            value = f"_factory_{spec.name}() if {spec.name} is _MISSING else {spec.name}"
        else:
            params.append(spec.name)
        body.append(f"    _set_{spec.name}(self, {value})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    exec(source, namespace)  # the code is built above from the class's own field names
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[misc]
    return cls


# ---------------------------------------------------------------- addresses


def dotted(address: int) -> str:
    """An IPv4 address as text; a faster `str(IPv4Address(address))` for the hot render path.

    A store's addresses share a few /24s, so the first three octets come from a cache."""
    head = _DOTTED_HEADS.get(address >> 8)
    if head is None:
        if len(_DOTTED_HEADS) >= _DOTTED_HEADS_MAX:
            _DOTTED_HEADS.clear()
        head = f"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}."
        _DOTTED_HEADS[address >> 8] = head
    return head + _OCTETS[address & 255]


_DOTTED_HEADS: dict[int, str] = {}
_DOTTED_HEADS_MAX = 1 << 16
_OCTETS = [str(octet) for octet in range(256)]


@direct_init
@dataclass(frozen=True, slots=True)
class Net:
    """An IPv4 network in every notation the platforms use."""

    cidr: str  # 10.64.0.0/26
    address: str  # 10.64.0.0
    prefixlen: int  # 26
    netmask: str  # 255.255.255.192
    wildcard: str  # 0.0.0.63

    @classmethod
    def of(cls, network: ipaddress.IPv4Network) -> Net:
        return cls.at(int(network.network_address), network.prefixlen)

    @classmethod
    def at(cls, address: int, prefixlen: int) -> Net:
        text = dotted(address)
        return cls(f"{text}/{prefixlen}", text, prefixlen, _NETMASKS[prefixlen], _WILDCARDS[prefixlen])


@direct_init
@dataclass(frozen=True, slots=True)
class IfAddr:
    """An interface address: 10.64.0.1/26, its mask, and the network it sits in."""

    ip: str
    prefixlen: int
    netmask: str
    cidr: str

    @property
    def network(self) -> Net:
        address = int(ipaddress.IPv4Address(self.ip))
        return Net.at(address & ((0xFFFFFFFF << (32 - self.prefixlen)) & 0xFFFFFFFF), self.prefixlen)

    @classmethod
    def of(cls, interface: ipaddress.IPv4Interface) -> IfAddr:
        # int() of an interface is its address; `.ip` would build a new IPv4Address first.
        return cls.at(int(interface), interface.network.prefixlen)

    @classmethod
    def at(cls, address: int, prefixlen: int) -> IfAddr:
        ip = dotted(address)
        return cls(ip, prefixlen, _NETMASKS[prefixlen], f"{ip}/{prefixlen}")


# ---------------------------------------------------------------- shared pieces


@direct_init
@dataclass(frozen=True, slots=True)
class BfdProfile:
    name: str
    interval_ms: int
    multiplier: int


# Fibre and broadband detect a dead link in 0.6 s; cellular links jitter, so they get slack.
BFD_WIRED = BfdProfile("WIRED", 200, 3)
BFD_CELLULAR = BfdProfile("CELLULAR", 500, 5)


@direct_init
@dataclass(frozen=True, slots=True)
class AclRule:
    """One packet-filter rule, platform-neutral; `None` addresses mean any."""

    action: str  # permit | deny
    protocol: str  # ip | tcp | udp | icmp
    source: Net | None = None
    destination: Net | None = None
    port: int | None = None  # destination port (or first of a range)
    port_end: int | None = None
    source_port: int | None = None


@direct_init
@dataclass(frozen=True, slots=True)
class Acl:
    """A named packet filter; `number` is for platforms that want numbered ACLs too."""

    name: str
    number: int
    rules: list[AclRule]


@direct_init
@dataclass(frozen=True, slots=True)
class ManagementView:
    """The fleet's management plane; tuples, so it is immutable all the way down (the renderer
    renders blocks that depend only on it once per run)."""

    domain: str
    ntp_servers: tuple[str, ...]
    syslog_servers: tuple[str, ...]
    dns_forwarders: tuple[str, ...]
    tacacs_servers: tuple[str, ...]
    snmp_user: str
    ranges: tuple[Net, ...]  # HQ management ranges: the only sources allowed to SSH/SNMP in
    local_user: str
    local_password: Secret
    snmp_auth_key: Secret
    snmp_priv_key: Secret
    tacacs_key: Secret


@direct_init
@dataclass(frozen=True, slots=True)
class HubRef:
    hostname: str
    asn: int
    public_address: str
    loopback: str


# ---------------------------------------------------------------- store appliance


@direct_init
@dataclass(frozen=True, slots=True)
class SegmentView:
    kind: str  # pos, office, cctv, guest-wifi, iot
    tag: str  # POS, OFFICE, CCTV, GUEST, IOT: used in object names
    vlan: int
    ifname: str
    description: str
    net: Net
    gateway: IfAddr
    dhcp_start: str
    dhcp_end: str
    dhcp_reserved_end: str  # gateway .. this address are kept out of the DHCP scope
    advertised: bool  # announced to the hubs
    overlay: bool  # may enter the overlay at all (guest Wi-Fi never does)
    protected: bool  # POS and office: nothing untrusted may reach them
    untrusted: bool  # guest Wi-Fi and IoT
    dscp: int  # marking applied on the LAN side
    dscp_name: str
    dscp_bits: str  # the same as six binary digits (FortiOS)
    priority: bool  # POS: strict priority queue
    shaped: bool  # CCTV: bulk uploads shaped on every WAN link
    cellular_allowed: bool  # may use LTE/5G links
    inbound_rules: list[AclRule]  # filter on traffic entering from this segment; empty: none


@direct_init
@dataclass(frozen=True, slots=True)
class TunnelView:
    """IPsec + BGP overlay of one WAN link towards its hub."""

    ifname: str
    number: int
    local_outside: str | None  # store's public address; None when it comes from DHCP
    peer_outside: str  # hub's public endpoint
    inside: IfAddr  # store side; BGP source
    inside_peer: str  # hub side; BGP neighbour
    psk: Secret
    ike_id: str  # our IKE identity (FQDN): works whether the link's address is static or not
    peer_ike_id: str  # the hub's IKE identity


@direct_init
@dataclass(frozen=True, slots=True)
class WanLinkView:
    name: str
    index: int  # preference order, 0 is the preferred link
    kind: str
    isp: str
    description: str
    bandwidth_mbps: int
    bandwidth_kbps: int
    static: bool
    address: IfAddr | None
    gateway: str | None
    cellular: bool
    primary: bool
    role: str  # primary, secondary, backup
    ifname: str
    hub: HubRef
    tunnel: TunnelView
    local_pref: int  # applied to routes learned over this link
    prepend: int  # how often the store ASN is prepended on announcements over this link
    prepend_path: str  # that many store ASNs, space-separated: the AS path every platform prepends
    bfd: BfdProfile
    cctv_shape_kbps: int
    guest_breakout: bool  # guest Wi-Fi leaves the store through this link, NATed


@direct_init
@dataclass(frozen=True, slots=True)
class AwsTunnelView:
    name: str
    link: str  # WAN link name
    link_ifname: str
    ifname: str
    number: int
    tunnel: int  # 1 or 2
    peer_outside: str
    local_outside: str | None
    inside: IfAddr  # store side of the /30
    inside_peer: str  # AWS side of the /30
    asn: int
    psk: Secret
    local_pref: int


@direct_init
@dataclass(frozen=True, slots=True)
class FlowView:
    """One allowed flow between two zones of a store, stateful (replies are implied).

    Zones are the segment tags (POS, OFFICE, ...), OVERLAY (the hub and cloud tunnels) and
    INTERNET (the WAN ports themselves; only guest Wi-Fi breaks out there). Whatever no flow allows is denied."""

    name: str  # <SOURCE>-TO-<DESTINATION>: object names on every platform
    source: str
    destination: str
    nets: list[Net]  # destinations allowed; empty: any address in the destination zone
    never: list[Net]  # destinations refused even though `nets` would allow them


@direct_init
@dataclass(frozen=True, slots=True)
class StoreApplianceView:
    hostname: str
    platform: Platform
    planned: bool
    store_id: str
    store_name: str
    city: str
    store_format: str
    region: str
    state: str
    asn: int
    router_id: str
    loopback: IfAddr
    loopback_ifname: str
    lan_trunk: str
    segments: list[SegmentView]
    wan: list[WanLinkView]
    aws_tunnels: list[AwsTunnelView]
    hubs: list[HubRef]
    hub_asn: int
    advertised: list[Net]  # the store's own prefixes; nothing else is ever announced
    hub_routes: list[Net]  # HQ, cloud and desktop summaries: all a store accepts from hubs
    accept_default: bool  # hubs also send the default route
    cloud_summary: Net  # what the AWS tunnels may teach (VPC prefixes inside it)
    cloud_max_prefixlen: int
    hq_networks: list[Net]
    private_ranges: list[Net]  # every corporate range guest Wi-Fi must never reach
    mgmt: ManagementView
    bfd_profiles: list[BfdProfile]
    guest: SegmentView | None
    breakout: WanLinkView | None  # the link guest Wi-Fi breaks out through, if any
    acls: list[Acl]  # SEG-<TAG>-IN per untrusted segment, CELLULAR-ALLOWED, POS-TRAFFIC
    zones: list[str] = field(default_factory=list)  # segment tags, OVERLAY, INTERNET (the WAN ports)
    flows: list[FlowView] = field(default_factory=list)  # everything else between zones is denied
    cellular_links: list[WanLinkView] = field(default_factory=list)
    wired_links: list[WanLinkView] = field(default_factory=list)
    aws_links: list[WanLinkView] = field(default_factory=list)  # the links AWS tunnels ride on

    @property
    def protected_segments(self) -> list[SegmentView]:
        return [segment for segment in self.segments if segment.protected]

    @property
    def untrusted_segments(self) -> list[SegmentView]:
        return [segment for segment in self.segments if segment.untrusted]


# ---------------------------------------------------------------- hub appliance


@direct_init
@dataclass(frozen=True, slots=True)
class HubStoreView:
    """One store as a hub sees it: what it may announce."""

    store_id: str
    name: str
    asn: int
    prefixes: list[Net]
    prefix_list: str


@direct_init
@dataclass(frozen=True, slots=True)
class HubPeerView:
    """One store WAN link terminating on this hub."""

    store: HubStoreView
    link: str
    kind: str
    cellular: bool
    role: str
    ifname: str
    number: int
    local: IfAddr  # hub side of the tunnel; the BGP source
    peer: str  # store side; the BGP neighbour
    peer_outside: str | None  # store's public address; None when dynamic (DHCP/LTE)
    psk: Secret
    local_pref: int
    route_map: str
    bfd: BfdProfile
    description: str
    ike_id: str  # the store link's IKE identity


@direct_init
@dataclass(frozen=True, slots=True)
class HubView:
    hostname: str
    platform: Platform
    planned: bool
    asn: int
    router_id: str
    loopback: IfAddr
    loopback_ifname: str
    public_address: str
    summaries: list[Net]  # originated towards the stores, with the default route
    stores: list[HubStoreView]
    peers: list[HubPeerView]
    mgmt: ManagementView
    bfd_profiles: list[BfdProfile]
    store_supernet: Net
    ike_id: str


# ---------------------------------------------------------------- builders

_SEGMENT_TAGS = {"pos": "POS", "office": "OFFICE", "cctv": "CCTV", "guest-wifi": "GUEST", "iot": "IOT"}
_SEGMENT_DSCP = {"pos": (46, "ef"), "office": (18, "af21"), "cctv": (8, "cs1"), "iot": (10, "af11")}
# (tag, dscp, dscp name, dscp bits) per segment kind, spelled once.
_SEGMENT_MARKS = {
    kind: (tag, dscp, name, f"{dscp:06b}")
    for kind, tag in _SEGMENT_TAGS.items()
    for dscp, name in (_SEGMENT_DSCP.get(kind, (0, "default")),)
}
_CCTV_SHARE = 0.2  # CCTV uploads may use at most a fifth of a link
# BGP both ways, BFD and ICMP: the overlay's own control traffic, allowed on every link.
_CELLULAR_CONTROL = (
    AclRule("permit", "tcp", None, None, 179),
    AclRule("permit", "tcp", None, None, None, None, 179),
    AclRule("permit", "udp", None, None, 3784, 3785),
    AclRule("permit", "icmp"),
)
# Rules every store has, shared between views (they are immutable).
_PERMIT_DHCP = AclRule("permit", "udp", None, None, 67)
_PERMIT_ANY = AclRule("permit", "ip")
_DENY_ANY = AclRule("deny", "ip")
_PROTECTED_KINDS = frozenset(("pos", "office"))
_UNTRUSTED_KINDS = frozenset(("guest-wifi", "iot"))
_CELLULAR_ONLY_KINDS = frozenset(("office", "iot"))


class ViewBuilder:
    """Builds views for one fleet; fleet-wide parts (management, summaries) are computed once."""

    def __init__(
        self,
        fleet: Fleet,
        outputs: Mapping[str, StoreCloudOutputs] | None = None,
        *,
        reveal_secrets: bool = False,
    ) -> None:
        self.fleet = fleet
        self.outputs = dict(outputs or {})
        self.reveal_secrets = reveal_secrets
        spec = fleet.spec
        plan = spec.ip_plan
        self._secrets = resolve_secret_refs(spec.management.secrets, reveal=reveal_secrets)
        self._planned_psk = self._secrets.get("ipsec-psk")
        self._transit_base = int(plan.transit.network_address)
        self._domain = spec.organisation.domain
        self._hub_prefix_cache: dict[str, list[Net]] = {}
        self._aws_asn = spec.asn.aws
        self.hq_networks = [Net.of(net) for net in plan.hq]
        self.hub_routes = [*self.hq_networks, Net.of(plan.cloud), Net.of(plan.desktops)]
        self.cloud_summary = Net.of(plan.cloud)
        self.private_ranges = [
            Net.of(net)
            for net in (plan.stores, *plan.hq, plan.cloud, plan.desktops, plan.transit, plan.loopbacks)
        ]
        self.store_supernet = Net.of(plan.stores)
        self._deny_private = [AclRule("deny", "ip", None, net) for net in self.private_ranges]
        self.hub_refs = {
            name: HubRef(hub.hostname, hub.asn, str(hub.public_address), str(hub.loopback))
            for name, hub in fleet.hubs.items()
        }
        self._mgmt = ManagementView(
            domain=spec.organisation.domain,
            ntp_servers=tuple(str(address) for address in spec.management.ntp_servers),
            syslog_servers=tuple(str(address) for address in spec.management.syslog_servers),
            dns_forwarders=tuple(str(address) for address in spec.management.dns_forwarders),
            tacacs_servers=tuple(str(address) for address in spec.management.tacacs_servers),
            snmp_user=spec.management.snmp_user,
            ranges=tuple(Net.of(net) for net in plan.management),
            local_user=LOCAL_ADMIN_USER,
            local_password=self._slot("local-admin-password"),
            snmp_auth_key=self._slot("snmp-auth-key"),
            snmp_priv_key=self._slot("snmp-priv-key"),
            tacacs_key=self._slot("tacacs-key"),
        )

    def _slot(self, slug: str) -> Secret:
        return self._secrets.get(slug) or Secret(slug, "management.secrets", None, "has no reference")

    # -------------------------------------------------------- per link helpers

    def link_ike_id(self, store_id: str, link_name: str) -> str:
        return f"{store_id}-{link_name}.{self._domain}"

    def hub_ike_id(self, hub: str) -> str:
        return f"{hub}.{self._domain}"

    def transit_index(self, link: ResolvedWanLink) -> int:
        return (int(link.overlay.network.network_address) - self._transit_base) // 2

    def _psk(self, what: str) -> Secret:
        """PSK slot for planned values: the fleet-wide `ipsec-psk` secret if one is configured."""
        planned = self._planned_psk
        if planned is None:
            return Secret(
                what, "stack outputs", None, "comes from the store's stack outputs; none are loaded"
            )
        return Secret(what, planned.source, planned.value, planned.problem)

    @staticmethod
    def _link_ranks(store: ResolvedStore) -> dict[str, tuple[int, int]]:
        """(local-pref, prepends) per link: wired links beat cellular ones, in priority order."""
        ranks: dict[str, tuple[int, int]] = {}
        wired = cellular = 0
        for index, link in enumerate(store.wan):
            if link.cellular:
                ranks[link.name] = (100 - 10 * cellular, min(index, 3))
                cellular += 1
            else:
                ranks[link.name] = (200 - 20 * wired, min(index, 3))
                wired += 1
        return ranks

    # -------------------------------------------------------- store

    def store_views(self, store: ResolvedStore) -> list[StoreApplianceView]:
        return [self.store_view(store, appliance.hostname) for appliance in store.appliances]

    def store_view(self, store: ResolvedStore, hostname: str) -> StoreApplianceView:
        appliance = next(a for a in store.appliances if a.hostname == hostname)
        profile = PROFILES[appliance.platform]
        outputs = self.outputs.get(store.id)
        if outputs is not None:
            self._check_outputs(store, outputs)
        items = list(store.segments.items())
        nets = [Net.of(segment.subnet) for _, segment in items]
        # The advertised prefixes are segment subnets: reuse their views.
        net_of_subnet = {id(segment.subnet): net for (_, segment), net in zip(items, nets, strict=True)}
        protected = [net for (kind, _), net in zip(items, nets, strict=True) if kind in _PROTECTED_KINDS]
        cellular_only = all(link.cellular for link in store.wan)
        segments = [
            self._segment(profile, kind, segment, net, protected, cellular_only)
            for (kind, segment), net in zip(items, nets, strict=True)
        ]
        loopback_net = Net.at(int(appliance.loopback), 32)
        ranks = self._link_ranks(store)
        guest = next((segment for segment in segments if segment.kind == "guest-wifi"), None)
        breakout_name = next((link.name for link in store.wan if not link.cellular), None)
        wan = [
            self._wan_link(profile, store, index, link, ranks[link.name], outputs, breakout_name)
            for index, link in enumerate(store.wan)
        ]
        aws = self._aws_tunnels(profile, store, wan, outputs) if store.cloud.aws_region else []
        aws_link_names = {tunnel.link for tunnel in aws}
        loopback = IfAddr.at(int(appliance.loopback), 32)
        return StoreApplianceView(
            hostname=appliance.hostname,
            platform=appliance.platform,
            planned=outputs is None or outputs.planned,
            store_id=store.id,
            store_name=store.name,
            city=store.city,
            store_format=store.format,
            region=store.region,
            state=store.state,
            asn=store.asn,
            router_id=str(appliance.loopback),
            loopback=loopback,
            loopback_ifname=profile.loopback,
            lan_trunk=profile.lan_trunk,
            segments=segments,
            wan=wan,
            aws_tunnels=aws,
            hubs=[self.hub_refs[name] for name in store.hubs],
            hub_asn=self.fleet.spec.asn.hq,
            advertised=[net_of_subnet.get(id(prefix)) or Net.of(prefix) for prefix in store.advertised_prefixes],
            hub_routes=self.hub_routes,
            accept_default=True,
            cloud_summary=self.cloud_summary,
            cloud_max_prefixlen=24,
            hq_networks=self.hq_networks,
            private_ranges=self.private_ranges,
            mgmt=self._mgmt,
            bfd_profiles=sorted({link.bfd for link in wan}, key=lambda p: p.name),
            guest=guest,
            breakout=next((link for link in wan if link.guest_breakout), None) if guest else None,
            acls=[
                *(
                    Acl(f"SEG-{segment.tag}-IN", 3000 + index, segment.inbound_rules)
                    for index, segment in enumerate(
                        (segment for segment in segments if segment.untrusted), start=1
                    )
                ),
                Acl("CELLULAR-ALLOWED", 3010, self._cellular_rules(loopback_net, segments)),
                Acl(
                    "POS-TRAFFIC",
                    3011,
                    [
                        rule
                        for pos in segments
                        if pos.priority
                        for rule in (
                            *(AclRule("deny", "ip", pos.net, local.net) for local in segments),
                            AclRule("permit", "ip", pos.net),
                        )
                    ],
                ),
            ],
            zones=[*(segment.tag for segment in segments), "OVERLAY", "INTERNET"],
            flows=self._flows(segments, breakout_name is not None),
            cellular_links=[link for link in wan if link.cellular],
            wired_links=[link for link in wan if not link.cellular],
            aws_links=[link for link in wan if link.name in aws_link_names],
        )

    @staticmethod
    def _check_outputs(store: ResolvedStore, outputs: StoreCloudOutputs) -> None:
        links = {link.name for link in store.wan}
        extra = sorted({tunnel.link for tunnel in outputs.links} - links)
        missing = sorted(links - {tunnel.link for tunnel in outputs.links})
        unknown_aws = sorted({tunnel.link for tunnel in outputs.aws_tunnels} - links)
        if extra or missing or unknown_aws:
            detail = "; ".join(
                part
                for part in (
                    f"links not in the inventory: {', '.join(extra)}" if extra else "",
                    f"inventory links without outputs: {', '.join(missing)}" if missing else "",
                    f"AWS tunnels on unknown links: {', '.join(unknown_aws)}" if unknown_aws else "",
                )
                if part
            )
            raise StackOutputsError(
                f"stack outputs of store {store.id} do not match its inventory ({detail}); "
                "bring the store stack up to date first"
            )
        if outputs.aws_tunnels and not store.cloud.aws_region:
            raise StackOutputsError(
                f"stack outputs of store {store.id} have AWS tunnels, but it has no aws_region"
            )

    def _flows(self, segments: list[SegmentView], breakout: bool) -> list[FlowView]:
        """Segmentation as data: what each segment may start, towards which zone.

        POS reaches the HQ and cloud networks (payment and HQ POS services); office reaches
        corporate and, through HQ, the internet; CCTV reaches its recorder and IoT its services,
        both at HQ; guest Wi-Fi reaches only the internet, never a private range. Nothing reaches
        into a segment, and segments never reach each other."""
        flows: list[FlowView] = []
        destinations = {
            "pos": [*self.hq_networks, self.cloud_summary],
            "office": [],
            "cctv": self.hq_networks,
            "iot": self.hq_networks,
        }
        for segment in segments:
            if segment.overlay:
                flows.append(
                    FlowView(f"{segment.tag}-TO-OVERLAY", segment.tag, "OVERLAY", destinations[segment.kind], [])
                )
            elif breakout:
                flows.append(
                    FlowView(f"{segment.tag}-TO-INTERNET", segment.tag, "INTERNET", [], self.private_ranges)
                )
        return flows

    def _inbound_rules(self, kind: str, gateway_ip: str, protected: list[Net]) -> list[AclRule]:
        """Segmentation: guest Wi-Fi and IoT never reach POS or office; guest Wi-Fi reaches
        nothing corporate at all (it breaks out locally). Both keep DHCP and DNS at the gateway."""
        gateway = Net(f"{gateway_ip}/32", gateway_ip, 32, _NETMASKS[32], _WILDCARDS[32])
        rules = [
            _PERMIT_DHCP,
            AclRule("permit", "udp", None, gateway, 53),
            *(AclRule("deny", "ip", None, net) for net in protected),
        ]
        if kind == "guest-wifi":  # the one segment that never enters the overlay
            rules += self._deny_private
        rules.append(_PERMIT_ANY)
        return rules

    @staticmethod
    def _cellular_rules(loopback: Net, segments: list[SegmentView]) -> list[AclRule]:
        """LTE/5G carries only the overlay's own control traffic, management and POS."""
        return [
            *_CELLULAR_CONTROL,
            AclRule("permit", "ip", loopback),
            *(AclRule("permit", "ip", segment.net) for segment in segments if segment.cellular_allowed),
            _DENY_ANY,
        ]

    def _segment(
        self,
        profile: PlatformProfile,
        kind: str,
        segment: ResolvedSegment,
        net: Net,
        protected: list[Net],
        cellular_only: bool,
    ) -> SegmentView:
        tag, dscp, dscp_name, dscp_bits = _SEGMENT_MARKS[kind]
        gateway = IfAddr.at(int(segment.gateway), net.prefixlen)
        dhcp_start = int(segment.dhcp_start)
        untrusted = kind in _UNTRUSTED_KINDS
        return SegmentView(
            kind=kind,
            tag=tag,
            vlan=segment.vlan,
            ifname=profile.segment_interface(segment.vlan, kind),
            description=f"{kind} segment vlan {segment.vlan}",
            net=net,
            gateway=gateway,
            dhcp_start=dotted(dhcp_start),
            dhcp_end=dotted(int(segment.dhcp_end)),
            dhcp_reserved_end=dotted(dhcp_start - 1),
            advertised=segment.advertised,
            overlay=kind != "guest-wifi",
            protected=kind in _PROTECTED_KINDS,
            untrusted=untrusted,
            dscp=dscp,
            dscp_name=dscp_name,
            dscp_bits=dscp_bits,
            priority=kind == "pos",
            shaped=kind == "cctv",
            # POS may use LTE/5G as a backup; a store with nothing but cellular links also carries
            # office and IoT over it (bulk CCTV and guest Wi-Fi never).
            cellular_allowed=kind == "pos" or (cellular_only and kind in _CELLULAR_ONLY_KINDS),
            inbound_rules=self._inbound_rules(kind, gateway.ip, protected) if untrusted else [],
        )

    def _wan_link(
        self,
        profile: PlatformProfile,
        store: ResolvedStore,
        index: int,
        link: ResolvedWanLink,
        rank: tuple[int, int],
        outputs: StoreCloudOutputs | None,
        breakout_name: str | None,
    ) -> WanLinkView:
        hub = self.hub_refs[link.hub]
        live = outputs.link(link.name) if outputs is not None else None
        psk_name = f"psk {store.id} {link.name}"
        if live is not None:
            tunnel = TunnelView(
                ifname=profile.hub_tunnel(index, link.name),
                number=index + 1,
                local_outside=str(link.address.ip) if link.address else None,
                peer_outside=str(live.outside_address),
                inside=IfAddr.of(live.inside),
                inside_peer=str(live.inside_peer),
                psk=Secret(psk_name, "stack outputs", live.psk),
                ike_id=self.link_ike_id(store.id, link.name),
                peer_ike_id=self.hub_ike_id(hub.hostname),
            )
        else:
            tunnel = TunnelView(
                ifname=profile.hub_tunnel(index, link.name),
                number=index + 1,
                local_outside=dotted(int(link.address)) if link.address else None,
                peer_outside=hub.public_address,
                inside=IfAddr.of(link.overlay),
                inside_peer=dotted(int(link.overlay_peer)),
                psk=self._psk(psk_name),
                ike_id=self.link_ike_id(store.id, link.name),
                peer_ike_id=self.hub_ike_id(hub.hostname),
            )
        role = "primary" if index == 0 else ("backup" if link.cellular else "secondary")
        static = link.addressing == "static" and link.address is not None
        return WanLinkView(
            name=link.name,
            index=index,
            kind=link.kind,
            isp=link.isp,
            description=f"{link.name} {link.kind} {link.isp} {link.bandwidth_mbps}M {role}",
            bandwidth_mbps=link.bandwidth_mbps,
            bandwidth_kbps=link.bandwidth_mbps * 1000,
            static=static,
            address=IfAddr.of(link.address) if static and link.address else None,
            gateway=dotted(int(link.gateway)) if static and link.gateway else None,
            cellular=link.cellular,
            primary=index == 0,
            role=role,
            ifname=profile.wan_port(index, link.name),
            hub=hub,
            tunnel=tunnel,
            local_pref=rank[0],
            prepend=rank[1],
            prepend_path=" ".join([str(store.asn)] * rank[1]),
            bfd=BFD_CELLULAR if link.cellular else BFD_WIRED,
            cctv_shape_kbps=max(1000, int(link.bandwidth_mbps * 1000 * _CCTV_SHARE)),
            guest_breakout=link.name == breakout_name,
        )

    def _aws_tunnels(
        self,
        profile: PlatformProfile,
        store: ResolvedStore,
        wan: list[WanLinkView],
        outputs: StoreCloudOutputs | None,
    ) -> list[AwsTunnelView]:
        aws_asn = self._aws_asn
        by_name = {link.name: link for link in wan}
        tunnels: list[AwsTunnelView] = []
        if outputs is not None:
            for live in sorted(outputs.aws_tunnels, key=lambda t: (by_name[t.link].index, t.tunnel)):
                link = by_name[live.link]
                tunnels.append(
                    AwsTunnelView(
                        name=f"aws-{link.name}-t{live.tunnel}",
                        link=link.name,
                        link_ifname=link.ifname,
                        ifname=profile.aws_tunnel(link.index, link.name, live.tunnel),
                        number=100 + 2 * link.index + live.tunnel,
                        tunnel=live.tunnel,
                        peer_outside=str(live.outside_address),
                        local_outside=link.tunnel.local_outside,
                        inside=IfAddr.at(int(live.store_inside), 30),
                        inside_peer=str(live.aws_inside),
                        asn=aws_asn,
                        psk=Secret(
                            f"psk {store.id} aws {link.name} t{live.tunnel}", "stack outputs", live.psk
                        ),
                        local_pref=250 - 10 * link.index,
                    )
                )
            return tunnels
        # Planned: an AWS customer gateway needs a stable public address, so only links with
        # static addressing carry AWS tunnels (the store stack decides the same way).
        resolved = {link.name: link for link in store.wan}
        for link in wan:
            if not link.static:
                continue
            transit_index = self.transit_index(resolved[link.name])
            for number in (1, 2):
                slot = (2 * transit_index + number - 1) % _PLANNED_AWS_INSIDE_SLOTS
                inside_net = _PLANNED_AWS_INSIDE_BASE + 4 * slot  # a /30: AWS .1, the store .2
                tunnels.append(
                    AwsTunnelView(
                        name=f"aws-{link.name}-t{number}",
                        link=link.name,
                        link_ifname=link.ifname,
                        ifname=profile.aws_tunnel(link.index, link.name, number),
                        number=100 + 2 * link.index + number,
                        tunnel=number,
                        peer_outside=dotted(_PLANNED_AWS_OUTSIDE_BASE + 1 + slot % 254),
                        local_outside=link.tunnel.local_outside,
                        inside=IfAddr.at(inside_net + 2, 30),
                        inside_peer=dotted(inside_net + 1),
                        asn=aws_asn,
                        psk=self._psk(f"psk {store.id} aws {link.name} t{number}"),
                        local_pref=250 - 10 * link.index,
                    )
                )
        return tunnels

    # -------------------------------------------------------- hub

    def _hub_prefixes(self, store: ResolvedStore) -> list[Net]:
        """The store's advertised prefixes, once per builder: a store's links reach two hubs."""
        prefixes = self._hub_prefix_cache.get(store.id)
        if prefixes is None:
            prefixes = self._hub_prefix_cache[store.id] = [Net.of(net) for net in store.advertised_prefixes]
        return prefixes

    def hub_view(self, hub_name: str) -> HubView:
        hub: ResolvedHub = self.fleet.hubs[hub_name]
        profile = PROFILES[hub.platform]
        stores: dict[str, HubStoreView] = {}
        peers: list[HubPeerView] = []
        planned = False
        rank_cache: dict[str, dict[str, tuple[int, int]]] = {}
        for store, link in self.fleet.hub_peers(hub_name):
            if store.state == "decommissioned":
                continue  # its tunnels and routes leave the hub with it
            store_view = stores.get(store.id)
            outputs = self.outputs.get(store.id)
            if store_view is None:
                if outputs is not None:
                    self._check_outputs(store, outputs)
                store_view = HubStoreView(
                    store_id=store.id,
                    name=store.name,
                    asn=store.asn,
                    prefixes=self._hub_prefixes(store),
                    prefix_list=f"STORE-{store.id}",
                )
                stores[store.id] = store_view
                rank_cache[store.id] = self._link_ranks(store)
            live = outputs.link(link.name) if outputs is not None else None
            if outputs is not None and outputs.planned:
                planned = True
            psk_name = f"psk {store.id} {link.name}"
            if live is not None:
                local = IfAddr.at(int(live.inside_peer), live.inside.network.prefixlen)
                peer = dotted(int(live.inside))
                psk = Secret(psk_name, "stack outputs", live.psk)
            else:
                planned = True
                local = IfAddr.at(int(link.overlay_peer), 31)
                peer = dotted(int(link.overlay))
                psk = self._psk(psk_name)
            transit_index = self.transit_index(link)
            index = next(position for position, candidate in enumerate(store.wan) if candidate is link)
            role = "primary" if index == 0 else ("backup" if link.cellular else "secondary")
            peers.append(
                HubPeerView(
                    store=store_view,
                    link=link.name,
                    kind=link.kind,
                    cellular=link.cellular,
                    role=role,
                    ifname=profile.hub_peer_interface(store.id, link.name, transit_index),
                    number=transit_index + 1,
                    local=local,
                    peer=peer,
                    peer_outside=dotted(int(link.address)) if link.address is not None else None,
                    psk=psk,
                    local_pref=rank_cache[store.id][link.name][0],
                    route_map=f"FROM-{store.id}-{link.name}",
                    bfd=BFD_CELLULAR if link.cellular else BFD_WIRED,
                    description=f"{store.id} {link.name} {link.kind} {role}",
                    ike_id=self.link_ike_id(store.id, link.name),
                )
            )
        return HubView(
            hostname=hub.hostname,
            platform=hub.platform,
            planned=planned,
            asn=hub.asn,
            router_id=str(hub.loopback),
            loopback=IfAddr.at(int(hub.loopback), 32),
            loopback_ifname=profile.loopback,
            public_address=str(hub.public_address),
            summaries=self.hub_routes,
            stores=list(stores.values()),
            peers=peers,
            mgmt=self._mgmt,
            bfd_profiles=sorted({peer.bfd for peer in peers}, key=lambda p: p.name),
            store_supernet=self.store_supernet,
            ike_id=self.hub_ike_id(hub.hostname),
        )
