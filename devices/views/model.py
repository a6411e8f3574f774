"""The view types: exactly what the device templates may read (store appliance, hub appliance
and the pieces they share), records (common/records.py) of plain values and `Secret` slots.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import field

from storestack.common.platforms import Platform
from storestack.common.records import record
from storestack.common.snmp import SnmpAuth, SnmpPriv
from storestack.devices.steering import (
    IOS_RETURN_NONE_SIGNAL,
    IOS_RETURN_NONE_TRACK,
    RETURN_DEGRADED_LIST,
    FortiHealthTimers,
    IosProbeTimers,
    IosTracks,
    VrpProbeTimers,
    degraded_local_pref,
    return_degraded_community,
)
from storestack.devices.views.addresses import (
    IfAddr,
    Net,
)
from storestack.network.model import (
    BGP_DEFAULT_LOCAL_PREF,
    BGP_TIMERS,
    CLOUD_LONGEST_PREFIX,
    EPHEMERAL_PORTS,
    BfdTimers,
    BgpSession,
    BgpTimers,
    CloudFlow,
    CloudSite,
    HubIntent,
    NtpKey,
    PrefixLimit,
    StoreIntent,
    Tunnel,
    share_kbps,
    usable_ntp_keys,
)
from storestack.network.secrets import Secret
from storestack.network.sla import SlaClassPolicy

PLANNED_HEADER = "storestack: PLANNED values (no live stack outputs)"
LOCAL_ADMIN_USER = "localadmin"


# ---------------------------------------------------------------- shared pieces


@record
class BfdProfile:
    name: str
    interval_ms: int
    multiplier: int

    @property
    def detection_ms(self) -> int:
        """How long a session goes without a control packet before it goes down (RFC 5880 6.8.4:
        the interval times the multiplier; both ends run the same profile)."""
        return self.interval_ms * self.multiplier


# Fibre and broadband detect a dead link in 0.6 s; cellular links jitter, so they get slack.
BFD_WIRED = BfdProfile("WIRED", 200, 3)
BFD_CELLULAR = BfdProfile("CELLULAR", 500, 5)


def sla_bfd(cls: SlaClassPolicy) -> BfdProfile:
    """The BFD profile of an SLA class: one control packet per probe interval, down after the
    class's count of consecutive losses (network/sla.py says what loss that notices in time).

    Echo mode stays off: the far end (a hub) would loop the echo packets back through the same
    tunnel the control packets ride, so echo adds no coverage of the path and only load."""
    return BfdProfile(cls.probe, cls.timers.probe_interval_ms, cls.timers.consecutive_losses)


def tunnel_bfd(tunnel: Tunnel | None, cellular: bool, follows_sla: bool) -> BfdProfile:
    """The BFD profile both ends of a store-hub tunnel run, as the store's platform chooses it
    (`PlatformProfile.bfd_follows_sla`): the tunnel's SLA class's (FRR, whose BFD is its SLA
    probe) or its link's (WIRED, CELLULAR). The hub runs the same, whatever its platform: BFD
    timers only mean what the class says when both ends agree."""
    if follows_sla and tunnel is not None and tunnel.sla is not None:
        return sla_bfd(tunnel.sla)
    return BFD_CELLULAR if cellular else BFD_WIRED


@record
class AclRule:
    """One packet-filter rule, platform-neutral; `None` addresses mean any."""

    action: str  # permit | deny
    protocol: str  # ip | tcp | udp | icmp
    source: Net | None = None
    destination: Net | None = None
    port: int | None = None  # destination port (or first of a range)
    port_end: int | None = None
    source_port: int | None = None
    icmp_type: str | None = None  # an ICMP message by name (echo, ttl-exceeded …); None: any
    # TCP segments of a connection already open (ACK or RST set): the answers of a connection the
    # other side opened, never a new one. Stateless filters only; a platform without the
    # keyword renders the rule without it (see its acl_rule).
    established: bool = False


@record
class Acl:
    """A named packet filter; `number` is for platforms that want numbered ACLs too."""

    name: str
    number: int
    rules: list[AclRule]


@record
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
    # The NTP servers' keys, each with its algorithm; a platform uses those it implements
    # (`ntp_keys_for`).
    ntp_keys: tuple[NtpKey, ...]
    guest_dns: tuple[str, ...]  # public resolvers guest Wi-Fi's DHCP hands out
    # The SNMPv3 user's protocols (the intent's `ManagementAccess.snmp_auth` / `snmp_priv`); each
    # platform module spells them and refuses one its platform does not document.
    snmp_auth: SnmpAuth
    snmp_priv: SnmpPriv

    def ntp_keys_for(self, platform: Platform) -> tuple[NtpKey, ...]:
        """The keys an appliance of `platform` trusts (those whose algorithm it implements, in the
        fleet's order); it authenticates its servers with the first. The inventory refuses a fleet
        that leaves a platform none (`inventory/checks.py` `ntp_checks`)."""
        return usable_ntp_keys(self.ntp_keys, platform)


@record
class HubRef:
    hostname: str
    asn: int
    public_address: str
    loopback: str
    dc_address: str  # on the DC core LAN: where the hubs' iBGP runs
    slot: int  # pinned by IPAM (`Fleet.hub_slot`): the same while other hubs come and go
    # The host route it announces to its stores only while it offers HQ (`HubBeacon`); None where
    # it announces none (`HUB_NO_BEACON`).
    beacon: str | None = None


@record
class ManagementPortView:
    """A hub's out-of-band management port (`HubIntent.management_port`): the port's name and the
    inventory's `management_address` on it, with the management LAN's prefix."""

    ifname: str
    address: IfAddr
    # The router on the management LAN (`HubIntent.management_gateway`) and the management ranges
    # the port reaches through it; None / empty: the LAN alone.
    gateway: str | None = None
    via_gateway: tuple[Net, ...] = ()


@record
class DcView:
    """A hub's DC core leg (`network.model.DcCoreLink`) as the templates spell it."""

    ifname: str
    address: IfAddr
    asn: int  # the DC core's
    routers: list[str]
    accepts: list[Net]  # from the core, each with le 32 (and the default route exactly)
    announces: list[Net]  # to the core, each with le 32
    # What every route from the core weighs: more than the 32768 a router gives the routes it
    # originates itself. HQ's summary as the core announces it (exactly 10.0.0.0/16, say, beside
    # more specific routes) then wins over the hub's own aggregate of it, whose discard route
    # would otherwise take what only the learned route covers ("BGP aggregate-address overrides
    # learned routes and installs a summary Null route", Fortinet technical tip, FortiOS 7.x;
    # weight, or VRP's preferred value, is the first criterion of BGP route selection).
    weight: int = 32769


# ---------------------------------------------------------------- store appliance


@record
class QosClassView:
    """One QoS class of the store's WAN queues (`network.model.QosClass`) as templates spell it."""

    name: str
    tag: str  # VOICE, POS, BEST-EFFORT: object names on every platform
    dscp: int
    dscp_name: str
    dscp_bits: str  # six binary digits (FortiOS)
    priority: bool  # strict priority, held to bandwidth_percent
    bandwidth_percent: int  # guaranteed share of the link's shaped rate (0: none)
    shape_percent: int | None  # at most this share of the link's shaped rate
    best_effort: bool  # DSCP 0: class-default on every platform (a field: templates filter on it per link)


@record
class MarkView:
    """Traffic an application class picks out of a segment by its ports, marked at the trust
    boundary with the application's DSCP instead of the segment's (office voice: EF)."""

    name: str  # QOS-<SEGMENT TAG>-<APPLICATION>: ACL, class-map and classifier names
    application: str
    qos: QosClassView
    protocol: str  # tcp | udp
    port_ranges: list[tuple[int, int]]
    acl: Acl


@record
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
    # The resolvers its DHCP hands out: the gateway (the store's caching forwarder), except on
    # guest Wi-Fi, which gets the fleet's public resolvers (management.guest_dns) and whose DNS
    # queries the store never answers.
    dns_servers: tuple[str, ...]
    # The domain its DHCP hands out (the fleet's `organisation.domain`), where the store's own
    # forwarder resolves; None on guest Wi-Fi: a corporate search suffix would send guests'
    # lookups of internal names to public resolvers, and tell every guest the chain's domain.
    dhcp_domain: str | None
    # How long its DHCP leases last (guest Wi-Fi: management.guest_lease_seconds); None: the
    # platform's default.
    dhcp_lease_seconds: int | None
    advertised: bool  # announced to the hubs
    overlay: bool  # may enter the overlay at all (guest Wi-Fi never does)
    protected: bool  # POS and office: nothing untrusted may reach them
    untrusted: bool  # guest Wi-Fi and IoT
    qos: QosClassView  # the class the trust boundary marks its traffic into (its DSCP on the LAN side)
    marks: list[MarkView]  # applications picked out of it by port, marked first
    cellular_allowed: bool  # may use LTE/5G links


@record
class TunnelView:
    """IPsec + BGP overlay of one WAN link towards one hub (every link reaches both hubs)."""

    id: str  # the tunnel id both ends share (network intent); names its PSK
    link: str  # the WAN link (transport) it rides on
    hub: HubRef
    role: str  # primary, secondary, backup: the transport's role
    local_pref: int  # on routes learned through this tunnel (backup hub a step lower)
    prepend: int
    prepend_path: str  # that many store ASNs, space-separated
    bfd: BfdProfile
    # The hub runs BFD on this tunnel (network intent: the tunnel has a BFD profile); an IOS-XE
    # hub runs none on its FlexVPN virtual-access interfaces (`HUB_NO_STORE_BFD`).
    peer_bfd: bool
    table: int  # the transport's front-door routing table (Linux) / VRF number
    underlay_gateway: str | None  # next hop of the pinned /32 to peer_outside; None: learned
    ifname: str
    number: int
    port: int  # its link's WAN port (`WanLinkView.port`)
    local_outside: str | None  # store's public address; None when it comes from DHCP
    peer_outside: str  # hub's public endpoint
    inside: IfAddr  # store side; BGP source
    inside_peer: str  # hub side; BGP neighbour
    psk: Secret
    # Our IKE identity: the link's FQDN, or its static address on a store platform with one FQDN
    # identity per device (`STORE_ONE_FQDN_IDENTITY`).
    ike_id: str
    # The hub's IKE identity: its FQDN, or its outside address where this link is known by its
    # address (the network intent's `known_by_address`: both ends identify by address).
    peer_ike_id: str
    # Its IP MTU and the MSS TCP SYNs are clamped to on it, both ways (network intent
    # `Tunnel.mtu`, from the MTU of the transport it rides on: `CryptoPolicy.tunnel_mtu`).
    mtu: int
    tcp_mss: int

    @property
    def ike_id_is_address(self) -> bool:
        """Our identity is our (static) outside address, not an FQDN."""
        return self.ike_id == self.local_outside

    @property
    def peer_ike_id_is_address(self) -> bool:
        """The hub identifies itself by its outside address on this tunnel, not by its FQDN."""
        return self.peer_ike_id == self.peer_outside

    @property
    def degraded_community(self) -> str:
        """What the store's prefixes carry towards this hub while this path is out of SLA."""
        return return_degraded_community(self.hub.asn)


@record
class WanLinkView:
    name: str
    index: int  # preference order, 0 is the preferred link
    # The appliance's WAN port it is cabled to (`Transport.port`): its port's name, its table, its
    # tunnels' numbers and (VRP) its VPN instance's RD are keyed by it, never by `index`.
    port: int
    port_stated: bool  # the inventory states `port` (else it is the link's place in the store's links)
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
    tunnel: TunnelView  # to the link's home hub (the pinned transit /31)
    tunnels: list[TunnelView]  # to every hub the store reaches: primary hub first
    table: int  # the transport's front-door routing table / VRF number
    local_pref: int  # applied to routes learned over this link
    prepend: int  # how often the store ASN is prepended on announcements over this link
    prepend_path: str  # that many store ASNs, space-separated: the AS path every platform prepends
    bfd: BfdProfile
    guest_breakout: bool  # guest Wi-Fi leaves the store through this link, NATed
    # The front-door VRF (IOS-XE) / VPN instance (VRP) the link's underlay lives in; "" for the
    # guest breakout link of a store with guest Wi-Fi, which stays in the global table (guest NAT
    # and local DNS live there).
    front_door_vrf: str
    zone: str  # the security zone of its port (IOS-XE: one per link, INTERNET-<link>)

    # What the store's port holds its egress to, on every platform: the intent's shaped rate of the
    # link (`Transport.queue_kbps`, WAN_SHAPE_PERCENT of its rate), so the queue builds on the
    # appliance, where the classes are, not in the modem; every class's share is of it.
    queue_kbps: int
    # The link's IP MTU as the carrier gives it (`Transport.mtu.underlay`: inventory `WanLink.mtu`,
    # else its kind's `UNDERLAY_MTU`): where a platform sizes its tunnels' ESP from the port's own
    # MTU (FortiOS), the port holds this one.
    mtu: int

    def share_kbps(self, percent: int) -> int:
        """A QoS class's guaranteed share of this link's shaped rate (`share_kbps`)."""
        return share_kbps(self.queue_kbps, percent)

    def shaped_kbps(self, percent: int) -> int:
        """A shaped QoS class's ceiling on this link: its share of the shaped rate (at least 1 Mbit/s)."""
        return shaped_kbps(self.queue_kbps, percent)


def shaped_kbps(parent_kbps: int, percent: int) -> int:
    """A shaped QoS class's ceiling under a parent shaper of this rate: its share of it
    (`share_kbps`), at least 1 Mbit/s."""
    return max(1000, share_kbps(parent_kbps, percent))


@record
class AwsTunnelView:
    id: str  # the tunnel id (network intent); names its PSK
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
    table: int  # the front-door routing table of the link it rides on
    front_door_vrf: str  # that link's front-door VRF ("": the global table)
    underlay_gateway: str | None
    cellular: bool  # the link it rides on is LTE/5G (a fixed-IP APN)
    # Its inbound packet filter, one of the store's `acls` (`FROM-AWS-<LINK>-T<n>`): what the
    # store takes in from this tunnel (ViewBuilder `_aws_filter`).
    filter: str
    # Its IP MTU and the MSS TCP SYNs are clamped to on it, both ways (network intent
    # `Tunnel.mtu`, from the MTU of the transport it rides on: `CryptoPolicy.tunnel_mtu`).
    mtu: int
    tcp_mss: int


@record
class CloudTunnelView:
    """A hub's VPN to a cloud (`HybridCloud`): AWS or an OpenStack site's gateway, route-based with BGP."""

    id: str
    kind: str  # hub-aws | hub-openstack
    name: str  # the far end: aws:<region>:<n> or openstack:<site>
    ifname: str
    number: int
    local_outside: str
    peer_outside: str
    inside: IfAddr | None  # None on a policy-based tunnel (none is built today)
    inside_peer: str | None
    asn: int
    psk: Secret
    local_selectors: list[Net]
    peer_selectors: list[Net]
    # Its cloud site's label (`cloud_sites`: AWS<n>, OPENSTACK<n>): the site's inbound filter on
    # IOS-XE and VRP (FROM-CLOUD-<site>), its source address group on FortiOS.
    site: str
    # Its IP MTU and the MSS TCP SYNs are clamped to on it, both ways (network intent
    # `Tunnel.mtu`, from the MTU of the transport it rides on: `CryptoPolicy.tunnel_mtu`).
    mtu: int
    tcp_mss: int
    # What it is among a hub's cloud tunnels, by its far end's pinned slot, never its place: an AWS
    # tunnel 2 x its region's slot (`Fleet.aws_region_slot`) + its number - 1, an OpenStack site's
    # 2 x HUB_AWS_REGIONS + the site's slot (`Fleet.openstack_site_slot`). FortiOS keys the hub's
    # local-in policies of the tunnel by it.
    slot: int = 0


@record
class CloudSiteView:
    """One cloud site's VPNs on a hub (`HubView.cloud_sites`): its label (AWS<n>, OPENSTACK<n>),
    its tunnels' interfaces, its own ranges (the only sources they bring in) and the flows it may
    open towards the stores, narrowed to those ranges (`CloudSite.forwarding`)."""

    label: str
    ifnames: list[str]
    sources: list[Net]
    opens: list[CloudFlow]


@record
class StoreSourcesView:
    """One store's tunnels on a hub (`HubView.store_sources`) and the only sources they bring
    through it: the store's own addresses (`StoreForwarding.own`: its segments and appliances'
    loopbacks) and its tunnels' inside addresses on this hub (the source of the ICMP errors the
    store sends, on whichever of its tunnels they leave by). Another store's address on them is
    spoofed, whatever the hub answers by."""

    store: str
    tunnels: list[str]  # the tunnel ids (`StoreControl.tunnel`)
    ifnames: list[str]  # their interfaces on the hub
    sources: list[Net]
    segments: list[Net]  # the sources in the stores' segments' range: what reaches the internet


@record
class FlowView:
    """What one segment may start towards one zone, stateful (replies are implied): the network
    intent's flows of that segment grouped by the zone they leave through.

    Zones are the segment tags (POS, OFFICE, ...), OVERLAY (the hub and cloud tunnels: HQ
    services, corporate networks and the office's internet through HQ) and INTERNET (the WAN
    ports; only guest Wi-Fi breaks out there). `rules` are ordered, first match wins, and end
    in an implicit deny: a platform spells them as its ACL or policies for that zone pair."""

    name: str  # <SOURCE>-TO-<DESTINATION>: object names on every platform
    source: str
    destination: str
    rules: list[AclRule]  # source is always the segment; `deny` keeps internet flows off private ranges
    segment: SegmentView | None = None  # the source segment (its tag is `source`), as the view builds it


@record
class SlaClassView:
    """An SLA class of the store (network intent), as the vendor probes spell it."""

    name: str
    index: int  # 1-based position among the store's classes: IOS-XE probe digit
    # Its number pinned in the lock, the same on every store (`Fleet.sla_class_number`): FortiOS's
    # SLA id, so a class added or removed edits no other class's SLA entry in place.
    number: int
    probe: str  # SLA-STRICT: the class's probe name on every platform (VRP NQA: SLA_STRICT)
    loss_percent: float
    loss_whole_percent: int  # the loss threshold as the whole percent FortiOS and VRP take
    latency_ms: int
    jitter_ms: int
    detection_seconds: int
    hold_down_seconds: int
    recovery_seconds: int
    # The DSCP its probes carry, so they are queued (and measured) as its traffic is
    # (`StoreSlaPolicy.probe_dscp`).
    dscp: int = 0

    @property
    def tos(self) -> int:
        """The whole IPv4 ToS byte of that DSCP (IOS-XE IP SLA's and VRP NQA's `tos` take the
        byte, 0-255)."""
        return self.dscp << 2


def strictest(classes: list[SlaClassView]) -> SlaClassView:
    """The class with the tightest thresholds: the one a path's return-path signal follows."""
    return min(classes, key=lambda cls: (cls.loss_percent, cls.latency_ms, cls.jitter_ms, cls.index))


@record
class ProbeView:
    """One path measured against one SLA class: an IOS-XE IP SLA operation and its track, or a
    VRP NQA test. Only the appliance's own platform's timers are filled in."""

    number: int  # IP SLA operation and track number: 10 x tunnel number + class index
    name: str  # NQA test name (under the administrator `sla.probe`)
    tunnel: TunnelView
    sla: SlaClassView
    cellular: bool  # the tunnel rides an LTE/5G transport
    udp_port: int  # IOS-XE udp-jitter destination port (one per class)
    ios: IosProbeTimers | None = None
    ios_tracks: IosTracks | None = None  # its return-code track, reaction stubs and steering track
    vrp: VrpProbeTimers | None = None


@record
class HealthCheckView:
    """FortiOS: one health check per tunnel (a server may serve one health check only), with an
    SLA entry per class steered over it."""

    tunnel: TunnelView
    classes: list[SlaClassView]
    timers: FortiHealthTimers

    @property
    def return_sla(self) -> SlaClassView:
        """The strictest class steered over the tunnel: while the tunnel is out of its SLA, the
        store tags its prefixes towards the hub degraded (the return path leaves it too)."""
        return strictest(self.classes)


@record
class SteeredApplicationView:
    """An application class that rides the overlay: what matches it and its paths, preferred
    first. Traffic between the store's own segments never matches (the ACL denies it first)."""

    name: str
    tag: str  # BACK-OFFICE: object names
    sla: SlaClassView
    segments: list[SegmentView]
    protocol: str  # ip | tcp | udp
    port_ranges: list[tuple[int, int]]  # empty: every port
    # Its number pinned in the lock (`Fleet.application_number`): FortiOS's block of SD-WAN rules.
    number: int
    cellular: bool  # may leave over LTE/5G
    acl: Acl  # APP-<TAG>
    # Preferred first. VRP: the preferred path only (an AR traffic behavior redirects to one
    # tracked next hop; when its test fails the traffic is routed by BGP), and only where that
    # is not BGP's path (SLA_STEERING_OFF_ROUTED_PATH_ONLY).
    paths: list[ProbeView]


@record
class SegmentSteeringView:
    """The policy routing of one LAN segment: its applications in match order."""

    segment: SegmentView
    policy: str  # STEER-<SEGMENT TAG>
    applications: list[SteeredApplicationView]


@record
class ReturnSignalView:
    """IOS-XE: the store's prefixes are announced to the hub over `probe.tunnel` only while this
    signal host route (Null0, tracked by the probe's steering track) or the store's "no path in
    SLA" one is in the BGP table (`devices/steering.py`)."""

    probe: ProbeView  # the tunnel's strictest class
    signal: str
    exist_map: str  # RETURN-VIA-<tunnel number>: route-map and prefix-list of the two signals


@record
class BeaconTrackView:
    """IOS-XE: the route track of one hub's beacon (`HubBeacon`), up while the store's routing
    table holds the beacon, which the hub announces only while it offers HQ."""

    hub: str
    address: str
    track: int


@record
class SteeringView:
    classes: list[SlaClassView]
    probes: list[ProbeView]  # every (tunnel, class) some application steers over
    applications: list[SteeredApplicationView]  # port-specific ones first
    segments: list[SegmentSteeringView]
    health_checks: list[HealthCheckView]  # FortiOS; empty elsewhere
    return_signals: list[ReturnSignalView] = field(default_factory=list)  # IOS-XE; empty elsewhere
    # IOS-XE: tunnel id -> the exist-map of its return signal (`return_signals`, by tunnel)
    return_exist_maps: dict[str, str] = field(default_factory=dict)
    return_none_track: int = IOS_RETURN_NONE_TRACK
    return_none_signal: str = str(IOS_RETURN_NONE_SIGNAL)
    # IOS-XE: the beacon route track of every hub the store steers to that announces one; each
    # joins the steering list of the probes towards its hub (`IosTracks.beacon`)
    beacons: list[BeaconTrackView] = field(default_factory=list)


@record
class RedirectView:
    """VRP: where a classifier's traffic is policy-routed while its NQA test passes (traffic
    behavior `redirect ip-nexthop ADDRESS track-nqa ADMIN TEST`); when the test fails the
    redirect is withdrawn and the packet is routed normally."""

    next_hop: str
    nqa_admin: str
    nqa_test: str


@record
class LanClassView:
    """VRP: one classifier of a segment's inbound traffic policy. An AR applies one traffic
    policy per interface direction and the first matching classifier decides, so QoS marking,
    SLA steering and the guest breakout share it; `devices/views/lanpolicy.py` orders the
    classifiers so every packet gets its first QoS mark and its first steered application."""

    name: str  # classifier name, and its ACL's (an ACL of permit rules only)
    acl: Acl | None  # None: `if-match any`
    qos: QosClassView  # the DSCP it is marked with
    redirect: RedirectView | None = None  # None: routed normally
    defined: bool = False  # classifier and ACL are defined elsewhere (the shared ANY)

    @property
    def behavior(self) -> str:
        return self.name if self.redirect is not None else f"MARK-{self.qos.tag}"


@record
class LanPolicyView:
    """VRP: the traffic policy a segment applies inbound (`traffic-policy NAME inbound`)."""

    segment: SegmentView
    name: str  # LAN-IN-<SEGMENT TAG>
    classes: list[LanClassView]


@record
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
    tunnels: list[TunnelView]  # every hub tunnel of every link, link order then primary hub first
    aws_tunnels: list[AwsTunnelView]
    intent: StoreIntent  # the network intent these views spell
    hubs: list[HubRef]
    hub_asn: int
    advertised: list[Net]  # the store's own prefixes; nothing else is ever announced
    hub_routes: list[Net]  # HQ, cloud and desktop summaries: all a store accepts from hubs
    accept_default: bool  # hubs also send the default route
    cloud_summary: Net  # the hubs' cloud summary (ip_plan.cloud), as they announce it
    # What the AWS tunnels may teach (AWS-ROUTES: VPC prefixes inside it, up to
    # `cloud_max_prefixlen` bits): the store's AWS region's workloads range (its store-aws
    # sessions' `accepts`), never another cloud site's range; the cloud summary on a store
    # without AWS tunnels (no AWS filter renders).
    aws_routes: Net
    cloud_max_prefixlen: int
    # Destinations SLA steering never takes, left to the routing table: the segments, the
    # loopback and, with AWS tunnels, the cloud summary (the VPCs' routes from AWS win BGP over
    # the hubs', and AWS answers over those tunnels: steered to a hub, a flow would come back
    # by another path than it left).
    unsteered: list[Net]
    hq_networks: list[Net]
    internet_excluded: list[Net]  # what an internet flow (guest Wi-Fi's, office's) never reaches
    mgmt: ManagementView
    bfd_profiles: list[BfdProfile]
    guest: SegmentView | None
    breakout: WanLinkView | None  # the link guest Wi-Fi breaks out through, if any
    acls: list[Acl]  # CELLULAR-ALLOWED, then each AWS tunnel's inbound filter
    qos: list[QosClassView] = field(default_factory=list)  # the WAN queues, the intent's order
    zones: list[str] = field(default_factory=list)  # segment tags, OVERLAY, INTERNET (the WAN ports)
    # Everything else between zones is denied. Empty on a platform that spells the intent's
    # flows itself (`PlatformProfile.store_flow_rules`: FRR's nftables).
    flows: list[FlowView] = field(default_factory=list)
    cellular_links: list[WanLinkView] = field(default_factory=list)
    wired_links: list[WanLinkView] = field(default_factory=list)
    aws_links: list[WanLinkView] = field(default_factory=list)  # the links AWS tunnels ride on
    steering: SteeringView | None = None  # SLA steering (IOS-XE, VRP, FortiOS); None elsewhere
    lan_policies: list[LanPolicyView] = field(default_factory=list)  # VRP: one per segment

    @property
    def hub_prefix_limit(self) -> PrefixLimit | None:
        """How many prefixes the store takes from each hub (its store-hub sessions'
        `BgpSession.prefix_limit`, one for all of them)."""
        return next((s.prefix_limit for s in self.intent.sessions if s.kind == "store-hub"), None)

    @property
    def aws_prefix_limit(self) -> PrefixLimit | None:
        """How many prefixes the store takes from each of its AWS tunnels' BGP peers (its
        store-aws sessions' `BgpSession.prefix_limit`, one for all of them)."""
        return next((s.prefix_limit for s in self.intent.sessions if s.kind == "store-aws"), None)

    @property
    def wire_only_segments(self) -> list[SegmentView]:
        """The overlay segments whose flows never leave over LTE/5G (CCTV and IoT, the intent's
        `Zone.over_cellular`) on a store with wired and cellular links: a hub may still return
        their answers into a cellular tunnel (it ranks a wired tunnel the store signalled out of
        its strictest class's SLA below cellular; README, "Return path"), and the store takes
        them there as answers only (FortiOS: `auxiliary-session enable`)."""
        if not (self.wired_links and self.cellular_links):
            return []
        return [segment for segment in self.segments if segment.overlay and not segment.cellular_allowed]

    @property
    def protected_segments(self) -> list[SegmentView]:
        return [segment for segment in self.segments if segment.protected]

    @property
    def untrusted_segments(self) -> list[SegmentView]:
        return [segment for segment in self.segments if segment.untrusted]

    @property
    def hub_timers(self) -> BgpTimers:
        """The keepalive and hold time of every session to a hub (`BGP_TIMERS`)."""
        return BGP_TIMERS["store-hub"]

    @property
    def aws_timers(self) -> BgpTimers:
        """The keepalive and hold time of every session to AWS (`BGP_TIMERS`)."""
        return BGP_TIMERS["store-aws"]

    @property
    def breakout_local(self) -> WanLinkView | None:
        """The guest breakout link whose address the router's own packets (echo replies to the
        carrier's pings, ICMP errors) are sent from by a local policy to its gateway: static and in
        the global table, where the hubs' default would lead them into the overlay (IOS-XE and
        VRP BREAKOUT-LOCAL). None without one: a DHCP-addressed link's address is not known."""
        link = self.breakout
        if self.guest is None or link is None or not link.static or link.front_door_vrf or link.address is None:
            return None
        return link

    def far_ends(self, link: WanLinkView) -> list[str]:
        """The outside addresses of every tunnel `link` carries (hubs, then AWS): the hosts its
        underlay routes pin to the link."""
        return [tunnel.peer_outside for tunnel in link.tunnels] + [
            tunnel.peer_outside for tunnel in self.aws_tunnels if tunnel.link == link.name
        ]


# ---------------------------------------------------------------- hub appliance


@record
class HubStoreView:
    """One store as a hub sees it: what it may announce, each prefix with its entry number
    (`devices/announced.py`), in announcement order."""

    store_id: str
    name: str
    asn: int
    entries: list[tuple[int, Net]]
    prefix_list: str
    platform: Platform  # of the store's edge appliance, the tunnels' far end

    @property
    def prefixes(self) -> list[Net]:
        """What the store may announce: its segments, then its appliances' loopbacks."""
        return [net for _, net in self.entries]


@record
class HubPeerView:
    """One store WAN link terminating on this hub."""

    store: HubStoreView
    link: str
    link_index: int  # the link's position in the store's WAN list (primary first)
    kind: str
    cellular: bool
    role: str
    ifname: str
    number: int
    local: IfAddr  # hub side of the tunnel; the BGP source
    peer: str  # store side; the BGP neighbour
    peer_outside: str | None  # store's public address; None when dynamic (DHCP/LTE)
    psk: Secret
    id: str  # the tunnel id (network intent)
    local_pref: int
    route_map: str
    bfd: BfdProfile
    description: str
    ike_id: str  # the store link's IKE identity: its FQDN, or its static address (`STORE_ONE_FQDN_IDENTITY`)
    # The hub's own IKE identity on this tunnel: its FQDN (`HubView.ike_id`), or its outside
    # address where the store link is known by its address (network intent `known_by_address`).
    local_ike_id: str
    local_outside: str  # the hub's outside address on this tunnel
    # Its IP MTU and the MSS TCP SYNs are clamped to on it, both ways (network intent
    # `Tunnel.mtu`, from the MTU of the transport it rides on: `CryptoPolicy.tunnel_mtu`).
    mtu: int
    tcp_mss: int

    @property
    def ike_id_is_address(self) -> bool:
        """The store link is known by its (static) outside address, not by an FQDN."""
        return self.ike_id == self.peer_outside

    @property
    def local_ike_id_is_address(self) -> bool:
        """The hub identifies itself by its outside address on this tunnel, not by its FQDN."""
        return self.local_ike_id == self.local_outside

    @property
    def degraded_local_pref(self) -> int:
        """For the store's routes tagged out of SLA over this link (`devices/steering.py`)."""
        return degraded_local_pref(self.local_pref)


@record
class HubView:
    hostname: str
    platform: Platform
    planned: bool
    asn: int
    router_id: str
    loopback: IfAddr
    loopback_ifname: str
    public_address: str
    summaries: list[Net]  # `HubIntent.summaries`: BGP aggregates towards the stores, with the default route
    stores: list[HubStoreView]
    peers: list[HubPeerView]
    mgmt: ManagementView
    bfd_profiles: list[BfdProfile]
    store_supernet: Net
    ike_id: str
    intent: HubIntent  # the network intent these views spell
    hub_neighbors: list[HubRef]  # iBGP between hubs, on their DC core LAN addresses
    cloud_tunnels: list[CloudTunnelView]  # HybridCloud's VPNs to AWS and OpenStack
    dc: DcView  # eBGP to the DC core routers
    overlay_pool: Net  # ip_plan.transit: every store-hub /31 (discarded to Null0 when not up)
    qos: list[QosClassView]  # the tunnels' queues (the stores' classes), the intent's order
    uplink_kbps: int | None  # the tunnels' rate through the DC's internet edge; None: not shaped
    # What the hub shapes its tunnels' packets to: the intent's shaped rate of its uplink
    # (`HubIntent.uplink_queue_kbps`, as a store link's `queue_kbps`), so the queue builds on the
    # hub, where the classes are, not in the DC's internet edge; every class's share is of it.
    # None: no uplink rate, nothing shaped.
    uplink_queue_kbps: int | None
    # What the store tunnels take in, first match wins (`HubIntent.store_forwarding`): each
    # tunnel's control traffic to the hub, the corporate ranges, no other private range, the
    # internet. The IOS-XE hub's FROM-STORES; empty on a VRP hub, which prints only each store's
    # (`from_each_store`, `PlatformProfile.hub_shared_store_filter`); FRR and FortiOS spell the
    # same intent in their own objects, and their views carry no rules
    # (`PlatformProfile.hub_filter_rules`).
    from_stores: list[AclRule]
    # What each cloud site's VPNs take in, first match wins, one filter per site
    # (`CloudForwarding.sites`, FROM-CLOUD-<site>): BGP between each of its tunnels' two inside
    # addresses, nothing else to the hub's own addresses, then traffic from the site's own
    # ranges to HQ and the answers to the stores' flows, and nothing else (no other site's
    # range as a source). The IOS-XE and VRP hubs' FROM-CLOUD-<site>; FortiOS's CLOUD-TO-HQ
    # policies say it statefully. Empty where the platform takes no packet-filter rules or the
    # hub has no cloud VPN.
    from_clouds: list[Acl] = field(default_factory=list)
    # Each served store's own filter on its tunnels (FROM-STORE-<id>, `HubView.store_sources`):
    # `from_stores` narrowed to that store's tunnels' control traffic and its own sources, so no
    # store's tunnel brings in another store's address. IOS-XE's per-link AAA attribute lists
    # and static tunnels apply them; empty where the platform takes no packet-filter rules.
    from_each_store: list[Acl] = field(default_factory=list)
    # The names of the filters of the fleet's decommissioned stores, each kept as
    # one `deny ip any any` where the platform needs it (`PlatformProfile.hub_retired_store_filters`):
    # a link of the store still up applies its filter by name, and a filter the router does not
    # hold filters nothing. Empty elsewhere.
    retired_store_filters: list[str] = field(default_factory=list)

    @property
    def ike_domain(self) -> str:
        """The domain of every store link's IKE identity (FQDN), which is the hub's own."""
        return self.ike_id.split(".", 1)[1]

    @property
    def store_prefix_limit(self) -> PrefixLimit | None:
        """How many prefixes the hub takes from each store link (one limit for every store: the
        store peer groups')."""
        return next((s.prefix_limit for s in self.intent.sessions if s.kind == "store-hub"), None)

    @property
    def hub_prefix_limit(self) -> PrefixLimit | None:
        """How many prefixes the hub takes from each other hub."""
        return next((s.prefix_limit for s in self.intent.sessions if s.kind == "hub-hub"), None)

    @property
    def store_timers(self) -> BgpTimers:
        """The keepalive and hold time of every store link's session (the store peer groups')."""
        return next((s.timers for s in self.intent.sessions if s.kind == "store-hub"), BGP_TIMERS["store-hub"])

    @property
    def hub_bfd(self) -> BfdTimers | None:
        """The BFD of the hub's sessions with the other hubs on the DC LAN (`SESSION_BFD`, their
        `BgpSession.bfd_timers`): every hub of the pair runs the same, on its DC port. None
        without another hub."""
        return next((s.bfd_timers for s in self.intent.sessions if s.kind == "hub-hub"), None)

    @property
    def dc_bfd_peers(self) -> list[str]:
        """Whom the hub takes BFD control packets from on its DC core LAN (single-hop, UDP 3784,
        to its DC address): the other hubs, where their sessions run BFD; never the core
        routers, whose sessions run none."""
        return [hub.dc_address for hub in self.hub_neighbors] if self.hub_bfd is not None else []

    def peer_timers(self, peer: str) -> BgpTimers:
        """The keepalive and hold time of the hub's BGP session with the peer address `peer`
        (another hub's or a DC core router's on the DC LAN, a cloud VPN's inside address:
        `BgpSession.timers`)."""
        return next(s.timers for s in self.intent.sessions if str(s.peer_address) == peer)

    @property
    def cloud_session(self) -> BgpSession | None:
        """A BGP session over a cloud VPN (AWS or OpenStack): every one announces the same
        prefixes (HQ and the stores), so its outbound filter is the hub's CLOUD-OUT; what each
        accepts is its own cloud site's (`cloud_filters`). None without cloud VPNs."""
        return next((s for s in self.intent.sessions if s.kind in ("hub-aws", "hub-openstack")), None)

    @property
    def cloud_prepend_path(self) -> str:
        """The AS path CLOUD-OUT prepends towards the clouds: the hub's ASN as many times as its
        cloud rank (`HubIntent.cloud_rank`); empty on a hub of rank 0, which prepends nothing, and
        without cloud VPNs."""
        rank = self.intent.cloud_rank
        return prepend_path(self.asn, rank.prepend if rank is not None else 0)

    @property
    def cloud_filters(self) -> list[CloudFilter]:
        """The hub's inbound filters on its cloud VPNs, one per cloud site (`cloud_filter`)."""
        return cloud_filters(self.intent)

    def cloud_filter(self, peer: str) -> CloudFilter:
        """The inbound filter of the cloud BGP session with the peer address `peer`."""
        return next(f for f in self.cloud_filters if peer in f.peers)

    @property
    def cloud_sources(self) -> list[Net]:
        """What the cloud VPNs may send from, through the hub: the prefixes the hub accepts from
        the clouds (`cloud_prefixes`: their summary and the desktops), and a policy-based VPN's
        remote selectors (its subnets route into its tunnel); the sources `from_clouds` permits."""
        sources, _ = cloud_prefixes(self.intent)
        selectors = [net for t in self.cloud_tunnels if t.inside is None for net in t.peer_selectors]
        return list(dict.fromkeys([*(Net.of(net) for net in sources), *selectors]))

    @property
    def cloud_hq(self) -> list[Net]:
        """What the cloud VPNs may send anything to through the hub (`CloudForwarding.hq`: HQ
        but the DC core LAN, cut around it: FortiOS's CLOUD-HQ, FRR's `cloud_hq` set); towards
        the stores only `CloudForwarding.store_flows`. Empty without cloud VPNs."""
        forwarding = self.intent.cloud_forwarding
        return [Net.of(net) for net in forwarding.hq] if forwarding else []

    @property
    def cloud_sites(self) -> list[CloudSiteView]:
        """Each cloud site's VPNs and what they bring in (`cloud_sites`, `CloudForwarding.sites`):
        a FortiOS hub's per-site CLOUD-TO-HQ and CLOUD-OPEN policies."""
        return [
            CloudSiteView(
                label,
                [t.ifname for t in self.cloud_tunnels if t.id in site.tunnels],
                [Net.of(net) for net in site.sources],
                list(site.forwarding.opens),
            )
            for label, site in cloud_sites(self.intent)
        ]

    @property
    def store_sources(self) -> list[StoreSourcesView]:
        """Each served store's tunnels and the sources they bring in (`StoreSourcesView`), in the
        hub's store order: FRR's `store_tunnel_sources`, IOS-XE's and VRP's FROM-STORE-<id>."""
        forwarding = self.intent.store_forwarding
        ifnames = {peer.id: peer.ifname for peer in self.peers}
        views = []
        for own, served in forwarding.served():
            controls = [c for c in served if c.tunnel in ifnames]
            if not controls:
                continue
            insides = [ipaddress.IPv4Network(c.store_inside) for c in controls]
            views.append(
                StoreSourcesView(
                    own.store,
                    [c.tunnel for c in controls],
                    [ifnames[c.tunnel] for c in controls],
                    [Net.of(net) for net in dict.fromkeys([*own.sources, *insides])],
                    [Net.of(net) for net in own.sources if net.subnet_of(forwarding.stores)],
                )
            )
        return views

    @property
    def store_filter_names(self) -> dict[str, str]:
        """Each served store's own filter's name (`from_each_store`, in the hub's store order),
        by store id: what its links apply inbound. Empty where the platform takes no
        packet-filter rules."""
        served = [own.store for own, _ in self.intent.store_forwarding.served()]
        return {store: acl.name for store, acl in zip(served, self.from_each_store, strict=False)}

    @property
    def cloud_source_nets(self) -> list[Net]:
        """`cloud_sources` and every site's own ranges, once: a FortiOS hub's CLOUD-SRC objects."""
        return list(dict.fromkeys([*self.cloud_sources, *(net for site in self.cloud_sites for net in site.sources)]))

    @property
    def cloud_opens(self) -> list[CloudFlow]:
        """The flows a cloud source may open towards the stores (`CloudForwarding.opens`), each
        site's narrowed to its ranges (`cloud_sites`): a FortiOS hub's CLOUD-OPEN policies, each
        with its own service."""
        return [flow for site in self.cloud_sites for flow in site.opens]

    @property
    def cloud_open_nets(self) -> list[Net]:
        """Every prefix `cloud_opens` names, once: a FortiOS hub's CLOUD-OPEN address objects."""
        nets = [net for flow in self.cloud_opens for net in (*flow.clouds, *flow.stores)]
        return [Net.of(net) for net in dict.fromkeys(nets)]

    @property
    def cloud_destinations(self) -> list[Net]:
        """What the hub announces to the clouds (`cloud_prefixes`: HQ and the stores), and a
        policy-based VPN's local selectors: what the DC LAN may send into the cloud VPNs from (HQ,
        and the stores another hub relays). A cloud may send anything to `cloud_hq` only."""
        _, destinations = cloud_prefixes(self.intent)
        selectors = [net for t in self.cloud_tunnels if t.inside is None for net in t.local_selectors]
        return list(dict.fromkeys([*(Net.of(net) for net in destinations), *selectors]))

    @property
    def dc_bgp_peers(self) -> list[str]:
        """Whom the hub takes BGP from on its DC core LAN: the core routers (eBGP) and the other
        hubs (iBGP); nobody else there."""
        return [*self.dc.routers, *(hub.dc_address for hub in self.hub_neighbors)]

    @property
    def degraded_community(self) -> str:
        """What a store's prefixes carry over a path out of its SLA (`devices/steering.py`)."""
        return return_degraded_community(self.asn)

    @property
    def degraded_list(self) -> str:
        """The community list / filter that matches `degraded_community`."""
        return RETURN_DEGRADED_LIST

    @property
    def management_port(self) -> ManagementPortView | None:
        """The port the hub holds its inventory `management_address` on, where the push connects
        (`HubIntent.management_port`): rendered with that address and the management LAN's
        prefix, SSH and SNMP bound to it; None where the platform has none."""
        port, address = self.intent.management_port, self.intent.management_interface
        if port is None or address is None:
            return None
        gateway = self.intent.management_gateway
        return ManagementPortView(
            ifname=port,
            address=IfAddr.of(address),
            gateway=str(gateway) if gateway is not None else None,
            via_gateway=tuple(Net.of(net) for net in self.intent.management_via_gateway) if gateway is not None else (),
        )

    @property
    def management_hosts(self) -> list[Net]:
        """The hub's addresses that take management (SSH, SNMP) from the management ranges: its
        loopback, and the inventory's `management_address` (where the push connects,
        `HubIntent.management_address`) where the hub holds it: on its management port
        (`management_port`), on the DC port (`dc_management_hosts`). Never the public IKE
        endpoint, which the internet reaches on the DC port."""
        management = self.intent.management_address
        held = self.management_port is not None or management in self._dc_held
        hosts = [self.intent.loopback, *([management] if held else [])]
        return [_host(str(address)) for address in dict.fromkeys(hosts)]

    @property
    def _dc_held(self) -> tuple[ipaddress.IPv4Address, ...]:
        """The addresses the hub holds on its DC side: its loopback and DC address."""
        return (self.intent.loopback, ipaddress.IPv4Address(self.dc.address.ip))

    @property
    def dc_management_hosts(self) -> list[Net]:
        """The management addresses the DC port takes SSH and SNMP at from the management ranges
        (`wan_filter`; an FRR hub's nftables): the loopback, and `management_address` where the
        hub holds it on that side, i.e. where it is the loopback or the DC address (IPAM keeps
        it apart from every loopback: an address the hub does not hold is transit, never the
        hub's management); never one on the management port, which the management LAN reaches
        by that port alone."""
        management = self.intent.management_address
        hosts = [self.intent.loopback, *([management] if management in self._dc_held else [])]
        return [_host(str(address)) for address in dict.fromkeys(hosts)]

    @property
    def wan_filter(self) -> list[AclRule]:
        """What the hub's underlay interface (the DC core LAN, which its public /32 is routed over)
        takes in, first match wins: IKE and ESP to the public IKE endpoint; BGP with the DC core
        routers and the other hubs, BFD with the other hubs (`dc_bfd_peers`); SSH and SNMP from the management ranges only, to the hub's
        management addresses only (`dc_management_hosts`); replies to the
        hub's own NTP and HWTACACS requests from those servers, to its loopback (no DNS answers:
        a hub resolves no names, HubIntent.management); the ICMP messages path MTU discovery,
        ping and traceroute need; then nothing else addressed to the hub itself, and
        transit only towards what the hub announces to the DC (stores, loopbacks, desktops,
        cloud). Everything else is refused."""
        own = [_host(self.public_address), _host(self.loopback.ip), _host(self.dc.address.ip)]
        rules = [
            AclRule("permit", "udp", None, own[0], 500),
            AclRule("permit", "udp", None, own[0], 4500),
            AclRule("permit", "50", None, own[0]),
        ]
        for neighbor in self.dc_bgp_peers:
            rules.append(AclRule("permit", "tcp", _host(neighbor), own[2], 179))
            # Its answers to a session the hub opened: never a new connection from port 179.
            rules.append(AclRule("permit", "tcp", _host(neighbor), own[2], source_port=179, established=True))
        # BFD control from the other hubs (`dc_bfd_peers`), to the DC address their sessions run on.
        for neighbor in self.dc_bfd_peers:
            rules.append(AclRule("permit", "udp", _host(neighbor), own[2], 3784))
        # Management at the hub's management addresses only (`dc_management_hosts`), never at the
        # public IKE endpoint or the DC address: the internet reaches this port too, and a
        # spoofed management source would have the hub's SYN-ACK or SNMP answer reflected at
        # HQ's management hosts.
        for net in self.mgmt.ranges:
            for host in self.dc_management_hosts:
                rules.append(AclRule("permit", "tcp", net, host, 22))
                rules.append(AclRule("permit", "udp", net, host, 161))
        # The answers reach only the hub's loopback, and NTP only its port: a rule with no
        # destination would let a server's address, sending from that port, reach any port of
        # the hub (SNMP included) and any transit destination, ahead of the denies below; a UDP
        # rule by source port to any port of the hub would let it reach every UDP port, and a TCP
        # one takes answers only (ACK or RST set), never a connection opened from port 49. NTP
        # and HWTACACS are sourced from the loopback (`ntp-service source-interface`,
        # `hwtacacs-server source-ip`).
        for server in self.mgmt.ntp_servers:
            rules.append(AclRule("permit", "udp", _host(server), own[1], 123, source_port=123))
        for server in self.mgmt.tacacs_servers:
            rules.append(AclRule("permit", "tcp", _host(server), own[1], source_port=49, established=True))
        rules += [AclRule("permit", "icmp", icmp_type=name) for name in ROUTER_ICMP]
        rules += [AclRule("deny", "ip", None, net) for net in own]
        rules += [AclRule("permit", "ip", None, net) for net in self.dc.announces]
        rules.append(DENY_ANY)
        return rules


DENY_ANY = AclRule("deny", "ip")


# The name of each cloud site's inbound filter (its prefix list and route-map) begins so:
# CLOUD-IN-AWS<n>, CLOUD-IN-OPENSTACK<n> (`cloud_sites`' labels).
CLOUD_FILTER_PREFIX = "CLOUD-IN-"


@record
class CloudFilter:
    """What a hub takes from one cloud site's BGP sessions (an AWS region's two tunnels, an
    OpenStack site's one): that site's own ranges and their subnets up to `le` bits, and nothing
    another site, HQ or a store owns. Its prefix list and route-map are both called `name`."""

    name: str  # CLOUD-IN-AWS<n> | CLOUD-IN-OPENSTACK<n>: n from the site's pinned slot (`cloud_sites`)
    accepts: list[Net]
    le: int  # CLOUD_LONGEST_PREFIX
    prefix_limit: PrefixLimit | None
    peers: list[str]  # the sessions' peer (inside) addresses
    # The local preference its route-map sets on what the site teaches: the hub's cloud rank
    # (`HubIntent.cloud_rank`, its `local_pref`), below the other hubs' of
    # better rank, whose routes it then takes over iBGP. None: BGP's default (rank 0), nothing set.
    local_pref: int | None = None


def cloud_filters(intent: HubIntent) -> list[CloudFilter]:
    """One inbound filter per cloud site of the hub's cloud BGP sessions (hub-aws, hub-openstack),
    in session order, named by the site's label (`cloud_sites`); the sessions to one site accept
    the same prefixes and share it."""
    labels = {tunnel: label for label, site in cloud_sites(intent) for tunnel in site.tunnels}
    sites: dict[str, list[BgpSession]] = {}
    local_pref = _set_local_pref(intent.cloud_rank.local_pref) if intent.cloud_rank is not None else None
    for session in intent.sessions:
        if session.kind in ("hub-aws", "hub-openstack"):
            assert session.tunnel is not None, session.peer
            sites.setdefault(labels[session.tunnel], []).append(session)
    return [
        CloudFilter(
            f"{CLOUD_FILTER_PREFIX}{label}",
            [Net.of(net) for net in sessions[0].accepts],
            CLOUD_LONGEST_PREFIX,
            sessions[0].prefix_limit,
            [str(s.peer_address) for s in sessions],
            local_pref,
        )
        for label, sessions in sites.items()
    ]


def _set_local_pref(local_pref: int) -> int | None:
    """The local preference a route-map sets: None where it is BGP's default (nothing to set)."""
    return None if local_pref == BGP_DEFAULT_LOCAL_PREF else local_pref


def prepend_path(asn: int, times: int) -> str:
    """The AS path a route-map prepends: `asn` `times` times, space-separated (every platform's
    form); empty for none."""
    return " ".join([str(asn)] * times)


def cloud_sites(intent: HubIntent) -> list[tuple[str, CloudSite]]:
    """The hub's cloud sites (`CloudForwarding.sites`, in tunnel order), each with its label:
    AWS<n> or OPENSTACK<n>, n the site's slot plus one (`CloudSite.slot`, pinned by IPAM), so a
    site added or removed renames no other's filters (`cloud_filters`, FROM-CLOUD-<label>)."""
    forwarding = intent.cloud_forwarding
    return [
        (f"{'AWS' if site.name.startswith('aws:') else 'OPENSTACK'}{site.slot + 1}", site)
        for site in (forwarding.sites if forwarding else ())
    ]


def cloud_prefixes(intent: HubIntent) -> tuple[list[ipaddress.IPv4Network], list[ipaddress.IPv4Network]]:
    """What a hub's cloud VPNs may forward, from the intent's cloud BGP sessions (hub-aws,
    hub-openstack): from the prefixes the hub accepts from the clouds to those it announces to
    them (HQ and the stores; the other way, from the DC LAN, what the clouds may be sent from),
    each once in session order; nothing without such a session. What a cloud may send to a store
    is narrower: `HubIntent.cloud_forwarding`."""
    sessions = [s for s in intent.sessions if s.kind in ("hub-aws", "hub-openstack")]
    sources = list(dict.fromkeys(net for s in sessions for net in s.accepts))
    destinations = list(dict.fromkeys(net for s in sessions for net in s.announces))
    return sources, destinations


def cloud_rules(
    flows: Iterable[CloudFlow], icmp_errors: tuple[str, ...], errors_towards: Net | None = None
) -> list[AclRule]:
    """What a stateless filter admits from the cloud VPNs to the stores for `flows` (IOS-XE's and
    VRP's FROM-CLOUD-<site>: `CloudForwarding.store_flows`; an FRR hub's answers of the stores' flows,
    `CloudForwarding.replies`, which a cloud may send through a hub that saw none of the store's
    packets). The answers to a flow a store opened: TCP segments of
    an open connection only (`established`, ACK or RST set), from the flow's ports where it has
    any; UDP from the flow's ports to the store hosts' ephemeral ports (`EPHEMERAL_PORTS`); for
    a flow of any protocol (`ip`) echo replies; and the ICMP errors of every flow (`icmp_errors`,
    the platform's names; with `errors_towards`, the stores' block, once per cloud prefix of
    those flows towards it, after the rest: a platform whose rule matches one ICMP code,
    `PlatformProfile.icmp_errors_per_source`). A flow a cloud may open: its protocol and ports
    towards the store. Nothing else: a cloud host opens no TCP connection and sends no UDP to a
    store's services."""
    rules: list[AclRule] = []
    error_sources: dict[Net, None] = {}
    low, high = EPHEMERAL_PORTS
    for flow in flows:
        pairs = [(Net.of(cloud), Net.of(store)) for cloud in flow.clouds for store in flow.stores]
        ports = flow.ports or ((0, 0),)
        if flow.opened_by == "cloud":
            rules += [
                AclRule("permit", flow.protocol, cloud, store, first or None, last if last > first else None)
                for cloud, store in pairs
                for first, last in ports
            ]
            continue
        for cloud, store in pairs:
            for first, last in ports:
                # A service's ports are single ports (`Service.ports`); a range would take any.
                source_port = first if first and last == first else None
                if flow.protocol in ("tcp", "ip"):
                    rules.append(AclRule("permit", "tcp", cloud, store, source_port=source_port, established=True))
                if flow.protocol in ("udp", "ip"):
                    rules.append(AclRule("permit", "udp", cloud, store, low, high, source_port=source_port))
            if flow.protocol in ("ip", "icmp"):
                rules.append(AclRule("permit", "icmp", cloud, store, icmp_type="echo-reply"))
            if errors_towards is None:
                rules += [AclRule("permit", "icmp", cloud, store, icmp_type=name) for name in icmp_errors]
            else:
                error_sources[cloud] = None
    if errors_towards is not None:
        rules += [
            AclRule("permit", "icmp", cloud, errors_towards, icmp_type=name)
            for cloud in error_sources
            for name in icmp_errors
        ]
    return rules


# ICMP a VRP router takes from beyond it (a hub's underlay, a store's hub tunnels): path MTU
# discovery (fragmentation needed), ping both ways and traceroute's answers. Names as VRP spells
# them in ACL rules.
ROUTER_ICMP = ("fragmentneed-DFset", "echo", "echo-reply", "ttl-exceeded", "port-unreachable")


def _host(address: str) -> Net:
    return Net.at(int(ipaddress.IPv4Address(address)), 32)
