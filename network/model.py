"""The network intent's types: what a store's and a hub's network is, as plain typed data.

Nothing here spells a vendor's syntax. Templates (through `devices/views/`), the lint, the lab
and `storestack network show` read these objects; only `network/build.py` makes them.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from storestack.common.ntp import PLATFORM_NTP_ALGORITHMS, NtpAlgorithm
from storestack.common.platforms import Platform
from storestack.common.records import record
from storestack.common.snmp import SnmpAuth, SnmpPriv
from storestack.network.cloud import BGP_DEFAULT_LOCAL_PREF as BGP_DEFAULT_LOCAL_PREF
from storestack.network.cloud import CLOUD_RANK_LOCAL_PREF_STEP as CLOUD_RANK_LOCAL_PREF_STEP
from storestack.network.crypto import TunnelMtu
from storestack.network.secrets import Secret
from storestack.network.sla import ApplicationPolicy, SlaClassPolicy, StoreSlaPolicy

TunnelKind = Literal["store-hub", "store-aws", "hub-aws", "hub-openstack"]
SessionKind = Literal["store-hub", "store-aws", "hub-hub", "hub-aws", "hub-openstack", "hub-dc"]
Role = Literal["primary", "secondary", "backup"]
Action = Literal["permit", "deny"]
Protocol = Literal["ip", "tcp", "udp", "icmp"]


# A store's WAN link is queued under a shaper this far below its rate, on every platform (the
# parent of its classes: FRR's HTB root, IOS-XE's SHAPE-<link>, VRP's `qos gts`, FortiOS's
# `outbandwidth`): the shapers count the IP packet and at most the Ethernet header, never the
# carrier's framing nor the modem's own rate wobble, and the queue must build in the router,
# where the classes are, not in the modem. Every class's share is of this shaped rate.
WAN_SHAPE_PERCENT = 95


def wan_queue_kbps(link_kbps: int) -> int:
    """The shaped rate of a link of this rate: WAN_SHAPE_PERCENT of it."""
    return link_kbps * WAN_SHAPE_PERCENT // 100


def share_kbps(shaped_kbps: int, percent: int) -> int:
    """A QoS class's guaranteed share of a shaped rate, in whole kbit/s, rounded down so the
    shares of one link never add up to more than its shaped rate."""
    return shaped_kbps * percent // 100


# The IP MTU of a hub's internet uplink, which its cloud tunnels ride on: the DC's internet edge
# is Ethernet. A hub's end of a store link takes the store link's MTU (the smaller end's).
HUB_UNDERLAY_MTU = 1500


@record
class Transport:
    """One WAN link of a store: the underlay every tunnel over it is pinned to."""

    name: str
    kind: str  # fiber, broadband, lte, 5g
    index: int  # preference order, 0 is the preferred transport
    # The appliance's WAN port it is cabled to (inventory `WanLink.port`, else its place in the
    # store's links): what names its port and everything keyed by it, never the preference order.
    port: int
    role: Role
    cellular: bool
    bandwidth_mbps: int
    # The store's WAN queue parent rate on this link (`wan_queue_kbps`): what every platform
    # shapes the link's egress to, and what the classes' shares are of.
    queue_kbps: int
    address: ipaddress.IPv4Interface | None  # None: DHCP / carrier assigned
    gateway: ipaddress.IPv4Address | None  # None: the gateway the link learns (DHCP, PPP)
    local_pref: int  # on routes learned over tunnels of this transport
    prepend: int  # store ASN prepends on announcements over this transport
    # The link's IP MTU (inventory `WanLink.mtu`, else its kind's default) and what every tunnel
    # over it carries: MTU and TCP MSS (network/crypto.py `CryptoPolicy.tunnel_mtu`).
    mtu: TunnelMtu


# The hubs' ranks towards the clouds: `network/cloud.py` `BGP_DEFAULT_LOCAL_PREF` says what they do.
@record
class CloudRank:
    """A hub's rank towards the clouds and what every one of its cloud sessions sets for it."""

    rank: int  # stated in the inventory or pinned by IPAM (`Fleet.hub_cloud_rank`); 0 carries the flows
    local_pref: int  # what its cloud sessions teach it is taken at
    prepend: int  # how many times it prepends its own ASN on what it announces to them

    @classmethod
    def of(cls, rank: int) -> CloudRank:
        """Rank `rank`: a step of local preference lower and one more prepend for each rank."""
        return cls(rank, BGP_DEFAULT_LOCAL_PREF - CLOUD_RANK_LOCAL_PREF_STEP * rank, rank)


@record
class UnderlayRoute:
    """A host route to a tunnel's far end, pinned to the transport the tunnel rides on.

    Without it the backup tunnel's own IKE/ESP packets would follow the default route, which
    points into the primary tunnel (or out of the primary link). Two tunnels to one hub over
    two transports need two routes to the same /32, so each transport has its own front-door
    table: a VRF on IOS-XE / VRP / FortiOS, a policy-routing table selected by the transport's
    source address on Linux. The route lives in that table."""

    destination: ipaddress.IPv4Network  # the peer's outside address, /32
    transport: str
    gateway: ipaddress.IPv4Address | None  # None: the gateway learned on that transport


@record
class Tunnel:
    """One route-based IPsec tunnel, seen from its local end (`local_*`) towards its far end.

    `id` is the same string at both ends (the PSK is derived from it), so a hub's tunnel to a
    store link and the store's tunnel to that hub carry one id."""

    id: str
    kind: TunnelKind
    transport: str  # store side: the WAN link; hub side: "wan"
    role: Role
    peer: str  # hub hostname, store id, "aws:<region>:<n>" or "openstack:<site>"
    local_outside: ipaddress.IPv4Address | None  # None: the transport's dynamic address
    peer_outside: ipaddress.IPv4Address | None  # None: the store's dynamic address (hub side)
    # Inside (overlay) addresses; None on a policy-based tunnel that carries no routing
    # protocol, where the selectors below say what it protects (storestack builds none today).
    local_inside: ipaddress.IPv4Interface | None
    peer_inside: ipaddress.IPv4Address | None
    # IKE identities: an FQDN, or an outside address on both ends of a store link's tunnels
    # where the link is known by its address (`NetworkIntent.known_by_address`).
    local_id: str
    peer_id: str
    local_asn: int
    peer_asn: int
    psk: Secret
    psk_origin: Literal["derived", "stack outputs"]
    underlay: UnderlayRoute | None  # store side only
    # Store ends: the link's rank (`NetworkIntent.transport_ranks`), the local preference of what
    # the far end teaches and the store's ASN prepended towards it; hub ends of store links the
    # same. A hub's cloud tunnels: None, one rank serves them all (`HubIntent.cloud_rank`).
    local_pref: int | None
    prepend: int | None
    bfd: str | None  # BFD profile name; None where the far end speaks no BFD (AWS)
    live: bool  # from live stack outputs, not planned
    # Its IP MTU and TCP MSS, the same at both ends: from the store link's underlay MTU on a
    # store's tunnels (to a hub or AWS) and on the hub's end of a store link, from the hub's
    # (`HUB_UNDERLAY_MTU`) on a hub's cloud tunnels (`CryptoPolicy.tunnel_mtu`).
    mtu: TunnelMtu
    # Traffic selectors: route-based tunnels protect everything (0.0.0.0/0), which is what
    # AWS, IOS-XE VTI, VRP tunnel interfaces and FortiOS interface-mode phase 2 negotiate.
    # Hub ends of store tunnels: the store's WAN link the far end rides on.
    peer_transport: str | None = None
    # Store-hub tunnels: the strictest SLA class on the store's transport (network/sla.py); its
    # probe timers are the tunnel's loss detector where one detector serves every class (FRR BFD).
    sla: SlaClassPolicy | None = None
    local_selectors: tuple[ipaddress.IPv4Network, ...] = (ipaddress.IPv4Network("0.0.0.0/0"),)
    peer_selectors: tuple[ipaddress.IPv4Network, ...] = (ipaddress.IPv4Network("0.0.0.0/0"),)


# BGP prefix limits (`BgpSession.prefix_limit`): each speaker takes at most `maximum` prefixes
# from a neighbour, twice what the neighbour may announce (`allowed`: what the speaker's own
# inbound filter passes, summed over the fleet where one limit serves a class of sessions) and
# never fewer than PREFIX_LIMIT_FLOOR, so a store or a hub that leaks (a redistribute, a
# mistyped `network`) is stopped at the first hop rather than trusted to a filter alone. Over
# the limit a speaker closes the session and opens it again after PREFIX_LIMIT_RESTART_MINUTES
# (IOS-XE and FRR `restart`, VRP `idle-timeout`): a leak that was fixed costs a store that path
# for minutes, never for good (the platforms' default keeps the session down until an operator
# clears it). FortiOS has no such timer: its hubs and stores only log (`warning-only`).
PREFIX_LIMIT_HEADROOM = 2
PREFIX_LIMIT_FLOOR = 20
PREFIX_LIMIT_RESTART_MINUTES = 5


@record
class PrefixLimit:
    """How many prefixes a BGP speaker takes from one neighbour, and what it was sized from."""

    maximum: int
    allowed: int  # what the neighbour may announce (the count `maximum` is twice of)
    restart_minutes: int = PREFIX_LIMIT_RESTART_MINUTES


def prefix_limit(allowed: int) -> PrefixLimit:
    """The limit of a session whose far end may announce `allowed` prefixes: PREFIX_LIMIT_HEADROOM
    times that, at least PREFIX_LIMIT_FLOOR."""
    return PrefixLimit(max(PREFIX_LIMIT_FLOOR, PREFIX_LIMIT_HEADROOM * allowed), allowed)


def prefixes_within(net: ipaddress.IPv4Network, longest: int) -> int:
    """How many prefixes `net le longest` permits: `net` itself and every subnet of it up to
    `longest` bits (a filter's bound on what a neighbour can make it accept)."""
    if longest <= net.prefixlen:
        return 1
    return 2 ** (longest - net.prefixlen + 1) - 1


# The longest prefix a hub takes from its cloud VPNs inside what they may teach (each cloud
# site's CLOUD-IN-* filter's `le 24` on every hub platform): the bound of the cloud sessions'
# prefix limits.
CLOUD_LONGEST_PREFIX = 24


@record
class BgpTimers:
    """A BGP session's keepalive interval and hold time, in seconds, as the local end configures
    them."""

    keepalive: int
    hold: int


# Each class of BGP session's timers (`BgpSession.timers`), the one place they are set. A speaker
# uses the smaller of its own hold time and the one the far end's OPEN carries (RFC 4271 section
# 4.2: zero or at least 3 s), so lowering one end's is enough for both.
# - store-hub: BFD (`Tunnel.bfd`) takes a lost tunnel down in well under a second; the hold time
#   only backs it up (a hub platform without BFD on its store links, `HUB_NO_STORE_BFD`, leaves
#   it to IKE's dead peer detection and this).
# - hub-hub: BFD on the DC LAN (`SESSION_BFD`) takes a crashed hub's session down in under a
#   second, and with it the dead hub's iBGP paths to the stores (higher local preference, a next
#   hop on the DC LAN) and the partner loopback route the FRR hubs' flow handover uses
#   (`HubIntent.return_partners`); 3/9 only backs BFD up (a partner whose BFD is down too).
# - hub-dc: the DC core is the customer's router, and the intent states nothing it must run
#   beyond its ASN and addresses, so no BFD there: the hold time is what takes a crashed hub's
#   session down, until when the DC core keeps sending HQ's traffic back to the stores (payment
#   answers too) to the dead hub. 3/9 keeps a crash's cost under POS's 10 s detection; the DC
#   core's own timers need no change, the smaller hold time wins.
# - store-aws, hub-aws: AWS's own (Site-to-Site VPN: keepalive 10 s, hold 30 s; no BFD).
# - hub-openstack: the OpenStack gateway's FRR sets 10/30 (`components/vpn_gateway.py`).
BGP_TIMERS: dict[SessionKind, BgpTimers] = {
    "store-hub": BgpTimers(10, 30),
    "store-aws": BgpTimers(10, 30),
    "hub-hub": BgpTimers(3, 9),
    "hub-dc": BgpTimers(3, 9),
    "hub-aws": BgpTimers(10, 30),
    "hub-openstack": BgpTimers(10, 30),
}


@record
class BfdTimers:
    """The BFD a class of BGP session runs, both ends alike (`SESSION_BFD`): its profile's name,
    the interval each end transmits at and asks to receive at, in milliseconds, and how many
    missed packets in a row take the session down. Asynchronous single-hop BFD (RFC 5881) on
    the session's own link, never echo mode."""

    profile: str
    interval_ms: int
    multiplier: int

    @property
    def detection_ms(self) -> int:
        """How long a dead far end goes unnoticed at most."""
        return self.interval_ms * self.multiplier


# The classes of BGP session that run BFD of the session's own, next to `BGP_TIMERS`, the one
# place their BFD is set (`BgpSession.bfd_timers`; a store-hub session runs its tunnel's,
# `Tunnel.bfd`, whose timers the views choose per transport or SLA class).
# - hub-hub: on the DC LAN, 300 ms x 3: a crashed hub's routes leave the other hub within 0.9 s
#   (FRR bfdd's defaults, inside what every hub platform takes: IOS-XE `bfd interval` 50-999 ms,
#   multiplier 3-50; VRP and FortiOS take it too), where the hold time took 9 s. Every hub of a
#   pair renders the same, whatever its platform.
# - hub-dc: none (`BGP_TIMERS` says why).
SESSION_BFD: dict[SessionKind, BfdTimers] = {
    "hub-hub": BfdTimers("HUBS", 300, 3),
}


@record
class BgpSession:
    kind: SessionKind
    local_address: ipaddress.IPv4Address
    peer_address: ipaddress.IPv4Address
    local_asn: int
    peer_asn: int
    peer: str  # hostname, store id or cloud name
    tunnel: str | None  # tunnel id it runs inside; None for hub-hub and hub-dc (the DC core LAN)
    # Its BFD profile's name: its tunnel's (store-hub), its class's (`SESSION_BFD`: hub-hub);
    # None where it runs no BFD.
    bfd: str | None
    accepts: tuple[ipaddress.IPv4Network, ...]  # prefixes accepted from the peer (with le 32)
    announces: tuple[ipaddress.IPv4Network, ...]  # prefixes announced to the peer
    default_originate: bool = False
    accepts_default: bool = False  # the default route too (exactly 0.0.0.0/0; hub-dc only)
    # How many prefixes the local end takes from the peer (`PrefixLimit`); None where the intent
    # cannot size it: the DC core's sessions (HQ's and the management ranges' routes, le 32, and
    # the default route: the intent knows HQ's summaries, not how many routes the core holds in
    # them). A store's own AWS sessions are sized from what its AWS filter passes, the cloud range
    # up to /24, like the hubs' cloud sessions.
    prefix_limit: PrefixLimit | None = None

    @property
    def timers(self) -> BgpTimers:
        """The session's keepalive and hold time (`BGP_TIMERS`, by its kind)."""
        return BGP_TIMERS[self.kind]

    @property
    def bfd_timers(self) -> BfdTimers | None:
        """The BFD the session's class runs on its own link (`SESSION_BFD`, by its kind); None
        where it runs none or runs its tunnel's (store-hub: `bfd` names the profile)."""
        return SESSION_BFD.get(self.kind)


@record
class Zone:
    """A security zone: a LAN segment, or one of the appliance's own places."""

    name: str  # pos, office, cctv, guest-wifi, iot, mgmt, overlay, internet
    prefixes: tuple[ipaddress.IPv4Network, ...]
    vlan: int | None
    qos_class: str
    trusted_marking: bool  # False: the appliance re-marks everything from this zone on ingress
    enters_overlay: bool
    over_cellular: bool  # may use LTE/5G transports when no wired transport is up


@record
class Service:
    """A destination a flow may reach: named prefixes and ports."""

    name: str
    prefixes: tuple[ipaddress.IPv4Network, ...]  # empty with `internet`
    protocol: Protocol = "ip"
    ports: tuple[int, ...] = ()
    internet: bool = False  # anything that is not RFC 1918 / fleet space


@record
class Flow:
    """One allowed flow, stateful (replies are allowed by connection tracking); all else is denied."""

    source: str  # zone name
    service: Service
    why: str


@record
class DesktopFlow:
    """A connection every cloud desktop may open, whatever its pool and cloud (AWS WorkSpaces or an
    OpenStack instance), stateful: replies come back; nothing else leaves a desktop. `ports` are
    inclusive ranges of destination ports."""

    service: str
    protocol: Literal["tcp", "udp"]
    ports: tuple[tuple[int, int], ...]
    destinations: tuple[ipaddress.IPv4Network, ...]
    why: str


@record
class QosClass:
    """One class of a store's WAN queues (inventory `qos.classes`), the same on every platform."""

    name: str
    dscp: int
    dscp_name: str
    priority: bool  # strict priority queue, held to bandwidth_percent
    bandwidth_percent: int  # guaranteed share of each link's shaped rate in congestion (0: none)
    shape_percent: int | None = None  # never more than this share of each link's shaped rate
    segments: tuple[str, ...] = ()  # the segments the trust boundary marks into it


# The network-control code points (RFC 2474 class selectors 6 and 7; RFC 4594 "network
# control"): what routers mark their own routing and keepalive traffic with (FRR's BGP and BFD,
# IOS-XE's), and what every queuing appliance's control class queues (FRR's with IKE,
# devices/frr.py CONTROL_DSCPS; IOS-XE's and VRP's NETWORK-CONTROL), guaranteed
# NETWORK_CONTROL_PERCENT (inventory/models.py), so a busy link never starves BGP or BFD; a
# platform whose own traffic already goes ahead of every class renders none, with the reason
# (common/platforms.py NO_CONTROL_CLASS: FortiOS). (name, value), in the spelling of
# `QosClass.dscp_name`.
NETWORK_CONTROL_DSCPS: tuple[tuple[str, int], ...] = (("cs6", 48), ("cs7", 56))


@record
class DcTrust:
    """What a hub trusts of the DSCP on packets it forwards from the DC core LAN into its tunnels:
    its QoS trust boundary towards the stores (`HubIntent.dc_trust`).

    The stores mark their own traffic at their LAN trust boundary and trust no host's marking;
    the hub queues what it sends towards the stores by the DSCP each packet came with from the
    DC (the ESP header copies the inner one). So:

    - network control (`remarked`: CS6, CS7) is re-marked to default on the way in from the DC.
      Only the hub's own routing traffic (BGP and BFD inside the tunnels, which FRR sends CS6)
      may use the control class that keeps the tunnels' BGP, BFD and IKE alive; the hub
      originates that traffic itself, so a re-mark of what arrives on the DC port never touches
      it. What is addressed to the hub itself (BGP with the DC core routers and the other hubs,
      CS6 from their side) is not re-marked either: only what the hub forwards is, and a router's
      input queue (IOS-XE's selective packet discard) favours CS6 routing packets;
    - the fleet's own classes' DSCPs (`kept`: voice EF, POS AF31 ...) are kept: the DC is the
      fleet's own trusted domain, and HQ's voice gateways and payment servers mark their answers
      to the stores (HQ's access ports are the DC's trust boundary, not the hub's). A DC host
      that marks EF still takes the voice queue towards the stores: holding EF to HQ's voice
      gateways would need their addresses, which the inventory does not hold;
    - any other DSCP is kept as well: none of the hub's queues matches it, so it is queued as
      best effort, as an unmarked packet is.
    """

    remarked: tuple[tuple[str, int], ...]  # (name, value): re-marked to `to` on the DC port
    kept: tuple[str, ...]  # the fleet's QoS classes' DSCP names, trusted as marked
    to: str = "default"  # what a re-marked packet carries (DSCP 0, the best-effort class)

    @property
    def remarked_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.remarked)


@record
class NtpKey:
    """One NTP authentication key: its id on the NTP servers, the algorithm they verify it with
    (`common/ntp.py`) and its secret slot."""

    id: int
    algorithm: NtpAlgorithm
    secret: Secret


def usable_ntp_keys(keys: tuple[NtpKey, ...], platform: Platform) -> tuple[NtpKey, ...]:
    """The keys of `keys` whose algorithm `platform` implements, in the fleet's order: the
    appliance trusts them all and asks its servers with the first."""
    usable = PLATFORM_NTP_ALGORITHMS[platform]
    return tuple(key for key in keys if key.algorithm in usable)


@record
class ManagementAccess:
    """Who may manage the appliance, how, and from where."""

    ranges: tuple[ipaddress.IPv4Network, ...]  # the only sources allowed to SSH / SNMP / NETCONF
    loopback: ipaddress.IPv4Address  # source of NTP, syslog, TACACS+, SNMP; advertised in BGP
    ports: tuple[tuple[Protocol, int], ...]
    ntp_servers: tuple[ipaddress.IPv4Address, ...]
    syslog_servers: tuple[ipaddress.IPv4Address, ...]
    tacacs_servers: tuple[ipaddress.IPv4Address, ...]
    dns_forwarders: tuple[ipaddress.IPv4Address, ...]
    # The NTP servers' keys. An appliance trusts every key whose algorithm its platform
    # implements and authenticates its servers with the first of them (`ntp_keys_for`); it takes
    # time only from a server that signs with one of them.
    ntp_keys: tuple[NtpKey, ...] = ()
    # The fleet's one SNMPv3 user's protocols, on every appliance and the NMS alike
    # (`common/snmp.py`: what each platform documents; the inventory refuses a pair one of the
    # fleet's platforms lacks, and each platform module's keyword map refuses it at render).
    snmp_auth: SnmpAuth = "sha1"
    snmp_priv: SnmpPriv = "aes128"
    # The public resolvers guest Wi-Fi's DHCP hands out (never the store's or HQ's): guests
    # reach no private address, and the store answers no DNS from guests or the WAN.
    guest_dns: tuple[ipaddress.IPv4Address, ...] = ()
    # How long guest Wi-Fi's DHCP leases last, on every platform: an hour. A store's guest scope
    # (a /25 in the sample chain, 117 addresses after the reserved ones) holds fewer addresses than
    # the phones that pass a mall store in a day, and each platform's default lease is a day or
    # more (IOS-XE and VRP a day, FortiOS a week), so at the default a busy day exhausts the pool.
    # The other segments' devices stay: they keep each platform's default.
    guest_lease_seconds: int = 3600
    # How many echo requests a second a store answers from the internet: per sender where the
    # platform counts per sender (FRR's nftables), else for all senders together (IOS-XE control
    # plane policing, VRP interface CAR).
    icmp_requests_pps: int = 10
    # Whether a store answers ICMP timestamp requests (RFC 792 type 13) from the internet: no. A
    # timestamp reply tells any sender the router's clock (scanners report it, CVE-1999-0524), and
    # no probe of the fleet sends one over a WAN: an IOS-XE store's icmp-jitter to a Linux hub
    # runs inside the tunnels. FRR stores drop them (their input chain's policy), FRR hubs take
    # them from inside their store tunnels only (none on the DC port, where the internet reaches
    # their public IKE endpoint), IOS-XE stores take only the ICMP a router needs; VRP's WAN filter passes every ICMP type unless told
    # (`vrp_wan_filter`, devices/platforms/huawei_vrp.py; lint `vrp-wan-timestamp`).
    icmp_timestamps_from_internet: bool = False


@record
class StoreIntent:
    store_id: str
    hostname: str  # the edge appliance the intent is for
    asn: int
    loopback: ipaddress.IPv4Address
    planned: bool
    transports: tuple[Transport, ...]
    tunnels: tuple[Tunnel, ...]  # store-hub: every transport x both hubs; then store-aws
    sessions: tuple[BgpSession, ...]
    announces: tuple[ipaddress.IPv4Network, ...]  # segments that enter the overlay + loopback
    zones: tuple[Zone, ...]
    flows: tuple[Flow, ...]
    qos: tuple[QosClass, ...]
    management: ManagementAccess
    guest_breakout: str | None  # the wired transport guest Wi-Fi leaves through, NATed
    lte_only: bool
    sla: StoreSlaPolicy  # SLA and application classes, each with its ordered paths
    # What a store with AWS tunnels leaves to its routing table, never to an application's
    # steering: the whole cloud range (ip_plan.cloud). Its AWS region's VPC comes over the AWS
    # tunnels (the store-aws sessions' `accepts`), the rest of it through the hubs' cloud summary,
    # which each platform ranks by the intent's path order. Empty on a store without them.
    cloud_unsteered: tuple[ipaddress.IPv4Network, ...] = ()

    def tunnels_over(self, transport: str) -> tuple[Tunnel, ...]:
        return tuple(tunnel for tunnel in self.tunnels if tunnel.transport == transport)

    def zone(self, name: str) -> Zone | None:
        return next((zone for zone in self.zones if zone.name == name), None)

    def destinations(self, application: ApplicationPolicy) -> tuple[ipaddress.IPv4Network, ...]:
        """The private prefixes an overlay application's traffic goes to through the hubs: its
        segments' flows to services other than the internet (which every hub's default route
        serves alike). A hub that announces none of its routes to one of them (a hub that lost
        the DC core withdraws HQ) does not take the application's traffic, whatever its probes
        say: that traffic would die there."""
        if not application.overlay:
            return ()
        # The cloud on a store with AWS tunnels (`cloud_unsteered`) is left to the routing table:
        # no steering takes that traffic.
        prefixes = {
            prefix
            for flow in self.flows
            if flow.source in application.segments and not flow.service.internet
            for prefix in flow.service.prefixes
            if not any(prefix.subnet_of(cloud) for cloud in self.cloud_unsteered)
        }
        return tuple(sorted(prefixes))

    @property
    def routed_tunnel(self) -> Tunnel | None:
        """The hub tunnel BGP prefers (the highest local preference on the hubs' routes): where
        traffic that no policy steers leaves, and where a steering policy whose tracked next
        hops are all withdrawn falls back to."""
        hubs = [
            (tunnel.local_pref, tunnel)
            for tunnel in self.tunnels
            if tunnel.kind == "store-hub" and tunnel.local_pref is not None
        ]
        return max(hubs, key=lambda ranked: ranked[0], default=(0, None))[1]


@record
class DcCoreLink:
    """A hub's leg on the HQ data-centre LAN, shared with the DC core routers and the other hubs.

    The hub peers eBGP with every core router (`hub-dc` sessions) and iBGP with the other hubs
    on their LAN addresses (`hub-hub`), so neither needs an IGP. From the core it takes the HQ
    and management prefixes and the default route (the DC's internet edge carries the hub's
    underlay: its public /32 is routed to the hub over this LAN)."""

    address: ipaddress.IPv4Interface  # the hub's address on the LAN
    core_asn: int
    routers: tuple[ipaddress.IPv4Address, ...]


@record
class StoreControl:
    """What one store tunnel carries to the hub itself rather than through it: BGP between the
    tunnel's two inside addresses, BFD control packets where the tunnel runs BFD, the store's SLA
    probes and pings (all from the store's inside address to the hub's). No BFD echo: no store
    runs echo mode (common/platforms.py says why), so a hub forwards nothing addressed to a
    store's own tunnel address, not even back into the tunnel it came from."""

    tunnel: str  # the tunnel id
    store: str  # the store id
    store_inside: ipaddress.IPv4Address
    hub_inside: ipaddress.IPv4Address
    bfd: bool


@record
class StoreSources:
    """One store's own addresses, which a hub takes in from that store's tunnels only (the
    tunnels `StoreForwarding.control` gives the store's id): its segments and appliances'
    loopbacks, what the hub's BGP sessions with it accept. A store that sends as another store's
    address from its own tunnel is dropped on every hub platform: FortiOS and FRR hubs answer a
    flow on the tunnel it came in on, and would hand the sender the answers.

    `number` is the store's stable number, the one a hub numbers the store's own entries by
    (FortiOS firewall and local-in policy ids): the offset of the store's ASN in
    `asn.store_range` (`NetworkIntent.store_number`). IPAM pins a store's ASN in
    `allocations.yaml` for its life, decommissioned stores' included, so no store's number moves
    when others are added, removed or reordered, and no two stores share one; a number from the
    store's place in the hub's list would renumber every later store's entries at each change,
    a push rewriting them all."""

    store: str  # the store id
    number: int
    sources: tuple[ipaddress.IPv4Network, ...]


@record
class ReturnPartner:
    """The other hub of some of a hub's stores (`store_hubs`: a store's primary and backup), on
    the DC core LAN: where the hub hands the DC's packets towards those stores that belong to a
    flow it did not see (`HubIntent.return_partners`). The store sends each application class
    where its SLA allows, but the DC core answers by the store's prefix, through whichever hub
    BGP prefers: a flow whose packets the store sends through one hub may come back through the
    other. A conntrack firewall sees half of a TCP flow there (the SYN, then none of the SYN-ACK)
    and drops the rest as invalid in both directions, so the hub that did not see the flow passes
    its packets to the partner, which did, and answers by its connection mark. Reached while the
    partner's loopback is learned (iBGP on the DC LAN): a dead partner takes nothing."""

    hostname: str
    dc_address: ipaddress.IPv4Address  # on the DC core LAN
    loopback: ipaddress.IPv4Address  # the partner is alive while this is routed (hub-hub iBGP)
    stores: tuple[str, ...]  # the store ids both hubs serve
    destinations: tuple[ipaddress.IPv4Network, ...]  # those stores' own addresses (`StoreSources`)


@record
class StoreForwarding:
    """What a hub takes in from its store tunnels, the same on every hub platform, first match
    wins: each tunnel's control traffic to the hub itself (`control`, and pings to the hub's
    loopback, `pingable`); nothing else to the hub's own DC and public addresses (`closed`); anything
    from the stores' own addresses (`sources`) to the corporate ranges (HQ, the clouds, the
    desktops, the management ranges and servers), but as a hub's own address (`hub_owned`);
    nothing else to a private range (`private`: RFC 1918, the RFC 6598 shared space, the RFC 3927
    link-local range of the cloud VPNs' inside addresses, `ip_plan.private_ranges` and every fleet
    range, so every store's segments, loopback and tunnel addresses); the rest, from the stores'
    segments (`internet_sources`), the internet through HQ's breakout; nothing else. No store
    reaches another through its hub, nor the clouds' BGP speakers, nor sends as HQ."""

    control: tuple[StoreControl, ...]
    corporate: tuple[ipaddress.IPv4Network, ...]
    private: tuple[ipaddress.IPv4Network, ...]
    # Where the stores' own addresses are, what no store may reach through a hub (`fleet`, all
    # three); `devices lint` checks every hub config against them: the stores' segments
    # (ip_plan.stores), their loopbacks (ip_plan.loopbacks) and their tunnel inside addresses
    # (ip_plan.transit), the sources of their control traffic to a hub.
    stores: ipaddress.IPv4Network
    loopbacks: ipaddress.IPv4Network
    tunnels: ipaddress.IPv4Network
    # The hub's own addresses, beyond each tunnel's inside address, that a store pings from its
    # own tunnels' inside addresses (echo requests only, no other service; a hub that binds each
    # store's sources to its tunnels, `own`, takes them on a store's tunnels from that store's
    # inside addresses only, as the hub's echo reply goes where the source says): the hub's loopback, which
    # every store learns from its hubs by BGP, so an operator on a store checks the hub itself
    # across whichever tunnel BGP picks. Every hub platform answers it.
    pingable: tuple[ipaddress.IPv4Address, ...] = ()
    # The hub's own addresses that no store reaches from inside a tunnel, though a corporate range
    # or the internet permit would hold them: its DC core LAN address, and its public address (the
    # IKE endpoint, which a store reaches over its WAN, never through a tunnel). The hub is
    # managed from the management ranges through its loopback, and a store's control traffic
    # goes to the hub's tunnel inside addresses and its pings to the loopback (`control`,
    # `pingable`); the DC port's own filter lets in nothing else but BGP from the DC peers and
    # pings from the management ranges. A store tunnel's inbound filter that followed the
    # corporate or the internet permit would hand a store (any source address it sends) every
    # service the hub listens on there.
    closed: tuple[ipaddress.IPv4Address, ...] = ()
    # HQ's routing infrastructure inside HQ's summaries (`NetworkIntent.dc_infrastructure`: the
    # DC core LAN), which `corporate` leaves out. A filter that numbers one entry per source and
    # destination (IOS-XE, VRP) denies these first and permits `corporate_whole`, instead of
    # permitting every piece `corporate` is cut into for every source.
    infrastructure: tuple[ipaddress.IPv4Network, ...] = ()
    # The hubs' own addresses inside the stores' ranges (`fleet`), which no store sends as: every
    # hub's loopback and beacon (`HubBeacon`, where the hub announces one; ip_plan.loopbacks holds
    # them beside the stores' loopbacks) and a
    # hub's management address where it lies there. HQ's syslog, SNMP and TACACS+ servers take
    # a hub's packets from its loopback; a store sending as one of these addresses would forge
    # them. Every hub drops what its store tunnels bring in from them, before the corporate
    # permit (`sources` less these). Fleet-wide: a store sends as any hub's address through any
    # hub. The hubs' inside addresses of the store tunnels (ip_plan.transit) are not among them.
    hub_owned: tuple[ipaddress.IPv4Address, ...] = ()
    # Each served store's own addresses (`StoreSources`), in the hub's store order: whose
    # addresses each store tunnel brings in (the tunnel's store, `control`).
    own: tuple[StoreSources, ...] = ()

    @property
    def fleet(self) -> tuple[ipaddress.IPv4Network, ...]:
        """Every range of the stores' own addresses: segments, loopbacks, tunnels."""
        return (self.stores, self.loopbacks, self.tunnels)

    @property
    def sources(self) -> tuple[ipaddress.IPv4Network, ...]:
        """The sources a hub forwards from its store tunnels to the corporate ranges: the stores'
        own addresses (`fleet`: a segment's hosts, the store's loopback for its NTP, TACACS+,
        syslog and DNS, a tunnel address for the ICMP errors the store sends). Nothing a store
        sends as another source passes: not HQ's management ranges, servers or DC routers, whose
        own filters (the hubs' DC port filters included) trust what comes from those addresses.
        The hub cannot tell one store's addresses from another's on a shared filter; each store's
        zone firewall holds its own segments to their prefixes."""
        return self.fleet

    def served(self) -> tuple[tuple[StoreSources, tuple[StoreControl, ...]], ...]:
        """Each store with tunnels on the hub (`control`), with those tunnels, in the hub's
        store order (`own`): the stores whose own filter, zone or source set the hub prints."""
        served = []
        for own in self.own:
            controls = tuple(c for c in self.control if c.store == own.store)
            if controls:
                served.append((own, controls))
        return tuple(served)

    def control_by_number(self) -> tuple[StoreControl, ...]:
        """`control` by the stores' stable numbers (`StoreSources.number`), each store's tunnels
        in the hub's order: the order of one filter of every store's control traffic (IOS-XE's
        FROM-STORES). In the hub's store order, the stores a hub gains in a change came after
        those it held in its held-over push (`network/transition.py` `held_over`) and among them
        in its last: the entries both pushes hold changed places, and the last push deleted and
        added again every entry of the filter from the first that moved, its closing entries
        included. By number, both hold their common entries in one order."""
        numbers = {own.store: own.number for own in self.own}
        return tuple(sorted(self.control, key=lambda control: numbers.get(control.store, -1)))

    def from_stores(self, address: ipaddress.IPv4Address) -> bool:
        """Whether a hub forwards a packet from `address` to the corporate ranges: one of the
        stores' own addresses (`sources`), none of the hubs' (`hub_owned`)."""
        return any(address in net for net in self.sources) and address not in self.hub_owned

    def tunnel_sources(self, tunnel: str) -> tuple[ipaddress.IPv4Network, ...]:
        """The store's own addresses (`StoreSources.sources`) that store tunnel `tunnel` (an id)
        brings in: those of the store behind it, empty for a tunnel that is none of the hub's."""
        store = next((c.store for c in self.control if c.tunnel == tunnel), None)
        return next((own.sources for own in self.own if own.store == store), ())

    def from_tunnel(self, tunnel: str, address: ipaddress.IPv4Address) -> bool:
        """Whether `address` is the own address of the store behind store tunnel `tunnel`
        (`tunnel_sources`), none of the hubs' (`hub_owned`): what a hub forwards from that
        tunnel to the corporate ranges."""
        return any(address in net for net in self.tunnel_sources(tunnel)) and address not in self.hub_owned

    @property
    def corporate_whole(self) -> tuple[ipaddress.IPv4Network, ...]:
        """`corporate` with the `infrastructure` holes filled: what a filter that denies
        `infrastructure` first may permit instead."""
        return tuple(ipaddress.collapse_addresses((*self.corporate, *self.infrastructure)))

    @property
    def internet_sources(self) -> tuple[ipaddress.IPv4Network, ...]:
        """The sources a hub forwards from its store tunnels to the internet: the stores'
        segments only (the office's internet through HQ's breakout)."""
        return (self.stores,)


@record
class CloudFlow:
    """A flow between the clouds' prefixes and the stores that a hub's cloud VPNs let through
    (`CloudForwarding`): `opened_by` says which side opens it. `ports` are the service's ports on
    the opened side, inclusive ranges (empty: any); for a flow a store opens, they are the source
    ports of the cloud's answers."""

    opened_by: Literal["store", "cloud"]
    protocol: Protocol
    clouds: tuple[ipaddress.IPv4Network, ...]  # the cloud side's prefixes
    stores: tuple[ipaddress.IPv4Network, ...]  # the store side's prefixes (the segments of the hub's stores)
    ports: tuple[tuple[int, int], ...]
    why: str


@record
class CloudForwarding:
    """What a hub takes in from its cloud VPNs (AWS, the OpenStack gateways), the same on every
    hub platform: from the clouds' prefixes (`sources`: what the hub accepts from the clouds, their
    summary and the desktops) anything to HQ (`hq`) but its routing infrastructure (the DC core
    LAN, `infrastructure`), and towards the stores only (a) the answers
    to the flows the stores' segments open towards a cloud prefix (`StoreIntent.flows`, the
    `replies`) and (b) the flows the intent lets a cloud source open towards a store (`opens`:
    none of `NetworkIntent.desktop_flows` goes to a store, and no management range is in a
    cloud, so none today); nothing else. A cloud desktop or workload opens nothing towards a
    store's POS, CCTV or IoT: the clouds' security groups say so, and the hub, the one place the
    fleet controls, enforces it. Both hubs announce the stores' aggregate to the clouds, so a
    cloud may answer through the hub that saw none of the store's packets: IOS-XE, VRP and FRR
    take the answers in statelessly (`cloud_rules`), TCP answers as `established` (ACK or RST set)
    from the flows' ports, UDP answers to the stores' ephemeral ports (`EPHEMERAL_PORTS`) from the
    flows' ports, ICMP answers and errors only; FortiOS passes them by its session table alone."""

    sources: tuple[ipaddress.IPv4Network, ...]
    # HQ's ranges less its routing infrastructure (`NetworkIntent.dc_infrastructure`), with any
    # management or directory server written inside it as a host route.
    hq: tuple[ipaddress.IPv4Network, ...]
    replies: tuple[CloudFlow, ...] = ()
    opens: tuple[CloudFlow, ...] = ()
    # Per cloud site, what its own VPNs may bring in: the above narrowed to the site's ranges, so
    # no site's tunnel passes a packet sent from another site's range (`CloudSite`).
    sites: tuple[CloudSite, ...] = ()
    # HQ's routing infrastructure inside HQ's ranges (the DC core LAN: the core routers' and the
    # hubs' DC addresses, BGP only), which `hq` leaves out, as `StoreForwarding.infrastructure`:
    # a filter that numbers one entry per source and destination (IOS-XE, VRP) denies these
    # first and permits `hq_whole`.
    infrastructure: tuple[ipaddress.IPv4Network, ...] = ()

    @property
    def store_flows(self) -> tuple[CloudFlow, ...]:
        return (*self.replies, *self.opens)

    @property
    def hq_whole(self) -> tuple[ipaddress.IPv4Network, ...]:
        """`hq` with the `infrastructure` holes filled: what a filter that denies
        `infrastructure` first may permit instead."""
        return tuple(ipaddress.collapse_addresses((*self.hq, *self.infrastructure)))


@record
class CloudSite:
    """One cloud site's VPNs on a hub (an AWS region's two tunnels, an OpenStack site's one) and
    what they take in: `forwarding` is the hub's `CloudForwarding` with every cloud source
    narrowed to the site's own ranges (`sources`: what its BGP sessions accept,
    `NetworkIntent.cloud_site_ranges`). A packet from another site's range arriving on one of
    these tunnels is spoofed (that site's hosts sit behind its own tunnels) and dropped: on
    IOS-XE and VRP one ACL per site on its tunnel interfaces, on FRR an `iifname . ip saddr` set,
    on FortiOS one policy per site with its tunnels as source interfaces."""

    name: str  # aws:<region> | openstack:<site>
    # Its slot among the fleet's sites of its cloud, pinned by IPAM (`Fleet.aws_region_slot`,
    # `Fleet.openstack_site_slot`): what its filters are named by, so none is renamed when
    # another site is added or removed.
    slot: int
    tunnels: tuple[str, ...]  # the site's tunnel ids (`Tunnel.id`)
    sources: tuple[ipaddress.IPv4Network, ...]
    forwarding: CloudForwarding


# The ports a host's own end of a connection it opens takes, where a stateless filter admits the
# answers of UDP flows whose far end's port the intent does not fix: the dynamic ports of the
# stores' hosts (Windows and macOS 49152-65535 as RFC 6335 puts them, Linux 32768-60999), so no
# registered port a store host may listen on (SSDP 1900, RDP 3389, SIP 5060, mDNS 5353, DNS,
# SNMP, NetBIOS) takes a datagram a cloud sender opens. Stacks that still pick from 1024 up
# (none the stores run) would lose answers on a hub that did not see their flow.
EPHEMERAL_PORTS = (32768, 65535)


@record
class HubSummary:
    """A summary a hub announces to its stores (HQ's also to the clouds), and only while a route
    more specific than it, learned from one of `sources`, is in the hub's BGP table: a BGP
    aggregate on every hub platform. HQ's comes from the DC core; a cloud summary (the clouds',
    the desktops') from the hub's cloud VPNs or the other hub, which shares what its own VPNs
    teach (the hub-hub session). A hub that lost them (its DC sessions down while its DC port
    stays up; no cloud route anywhere) withdraws the summary, so the stores send that traffic to
    the other hub, which can deliver it; a `network` statement over a static discard route would
    keep announcing it and drop the stores' traffic into the discard. An exact-length route is no
    more specific: learned from the DC core (HQ's summary as the core announces it), it passes to
    the stores itself."""

    prefix: ipaddress.IPv4Network
    sources: tuple[SessionKind, ...]


@record
class StoreDefault:
    """The default route a hub gives its stores, and what must hold for the hub to give it.

    The default stands for the internet through HQ's breakout, nothing else: HQ, the clouds, the
    desktops and the hubs come with their own routes (`HubSummary`, the loopbacks), and a hub
    forwards from its store tunnels to the internet only the stores' segments
    (`StoreForwarding.internet_sources`), towards the DC's internet edge, whose default route
    the DC core announces to the hub (the hub-dc sessions' `accepts_default`, FROM-DC). So the
    hub gives its stores a default only while that route, exactly 0.0.0.0/0 learned from
    `sources`, is in its BGP table: a hub whose DC sessions are down (its DC port still up) has
    nowhere to send the stores' internet traffic but drops it, and a default it kept announcing
    would draw that traffic from the store's other hub, which can deliver it. The beacon's
    condition (a route inside HQ's summaries) would be a proxy: the core can teach HQ without
    the internet edge's default, and the internet is what the default leads to.

    FRR originates it on that condition (`neighbor X default-originate route-map`); the
    platforms in `HUB_DEFAULT_PASSED_ON` give the stores the DC's own default instead, which
    their outbound filter passes while the hub holds it (`passed_on`). The stores see one default
    per hub either way, withdrawn when the hub loses the DC's."""

    condition: ipaddress.IPv4Network  # the route, exactly, whose presence the default needs
    sources: tuple[SessionKind, ...]  # the sessions it is learned from
    passed_on: bool = False  # the DC's own default passed on, rather than one originated


@record
class HubBeacon:
    """A host route a hub announces to its stores only while it offers `summaries`: those of its
    `HubSummary`s that only its own sessions teach it (HQ's, from the DC core; the hub-hub
    session carries the clouds' routes, so every hub offers the cloud and desktop summaries while
    either learns them). A store's policy routing follows probes to the hub's tunnel address,
    which answer as long as the hub is alive, and next hops that ignore the routing table: a
    class steered to a hub that lost the DC core would keep going there and be dropped. The
    beacon tells the store which hub still offers HQ: an IOS-XE store tracks the route to it
    (`track N ip route A 255.255.255.255 reachability`) with each steered path to that hub.

    Every hub platform that can says it with BGP conditional advertisement towards each store
    neighbour: the beacon (a discard route the hub originates) is advertised while a route inside
    one of `summaries` is in the hub's BGP table (`exist-map`; FortiOS `conditional-advertise`),
    the same condition its summary aggregates form on; rechecked on a timer (IOS-XE: its BGP scanner,
    60 s; FRR: 10 s, devices/frr.py BEACON_RECHECK_SECONDS). VRP documents no conditional advertisement on the AR series: a VRP hub announces no
    beacon (devices/steering.py)."""

    address: ipaddress.IPv4Address
    summaries: tuple[ipaddress.IPv4Network, ...]
    # The hub's own connected networks inside `summaries` (its DC LAN leg, inside HQ's range in
    # most plans): the condition leaves them out first, as they hold whether or not the DC core
    # talks to the hub. FortiOS says it checks the condition against the routing table (FortiOS 7.4
    # Administration Guide, "BGP conditional advertisements for IPv6 prefix when IPv4 prefix
    # conditions are met": "against the routing information base"), where they always are;
    # IOS-XE and FRR check the BGP table, where they are not, and deny them all the same.
    connected: tuple[ipaddress.IPv4Network, ...] = ()
    # The stores' routes (the store block and the stores' loopbacks, le 32) the hub passes to the
    # other hubs only while the same condition holds (`advertise-map ... exist-map` on the hub-hub
    # session; FortiOS `conditional-advertise`). A hub gives its stores' links the preferences the
    # stores give theirs, so its own links to a store (its primary) outrank the other hub's: a hub
    # that lost the DC core would stay the other hub's best way to the store, and so the DC's
    # (which the other hub tells with the first hub's address as next hop), while the store, with
    # no HQ route through that hub, sends through the other. Its stateful firewall would then drop
    # HQ's answers, for want of the connection it never saw. Withdrawn, the other hub's own links
    # are the way back, the same hub the store sends through.
    stores: tuple[ipaddress.IPv4Network, ...] = ()

    @property
    def route(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network((int(self.address), 32))


@record
class IkeEndpoint:
    """An outside address a hub terminates IPsec tunnels on (`HubIntent.ike_endpoints`), and where
    the far ends of those tunnels send their IKE and ESP-in-UDP from: the stores' static link
    addresses, AWS's and the OpenStack gateways' outside addresses (`peers`); with a store link of
    dynamic address (DHCP, LTE: `dynamic`) any address over the internet, but never one of the
    private ranges (`StoreForwarding.private`: RFC 1918, RFC 6598, link-local and every fleet
    range), which are HQ's, the DC's and the overlay's, where no store's WAN is. The fleet has no
    tunnel between two hubs (they peer over the DC core LAN), so no hub is a peer here. Nothing
    else of the hub takes IKE or ESP: its loopback, DC and management addresses are no tunnel's
    end (swanctl.conf(5) `local_addrs`: as responder, the destination address must match one),
    yet charon reads every IKE_SA_INIT that reaches its sockets and answers one no connection
    takes with a NO_PROPOSAL_CHOSEN notify."""

    address: ipaddress.IPv4Address
    peers: tuple[ipaddress.IPv4Address, ...]
    dynamic: bool
    not_from: tuple[ipaddress.IPv4Network, ...]


@record
class HubIntent:
    hostname: str
    asn: int
    loopback: ipaddress.IPv4Address
    public_address: ipaddress.IPv4Address
    # The inventory's management address, where the push connects (SSH). Management is taken at
    # the loopback and, where the hub holds it, this address only (`HubView.management_hosts`;
    # on the platform's management port, `management_port`), never at the
    # public IKE address, which the internet reaches on the same DC port (a spoofed management
    # source would have its SYN-ACK reflected at HQ's management hosts).
    management_address: ipaddress.IPv4Address
    planned: bool
    tunnels: tuple[Tunnel, ...]  # store-hub (one per store transport), then hub-aws, hub-openstack
    sessions: tuple[BgpSession, ...]  # store-hub, hub-hub, hub-aws, hub-openstack, hub-dc
    originates: tuple[ipaddress.IPv4Network, ...]  # its loopback: what it announces whatever it learns
    summaries: tuple[HubSummary, ...]  # HQ, cloud and desktop summaries, each while it has a route inside
    # The fleet's management access from the hub's loopback, with no DNS resolvers
    # (`dns_forwarders` empty): a hub resolves no names. Every server it talks to (NTP, TACACS+,
    # syslog; the SNMP managers' ranges) is configured by address, and its DC port's filter is
    # stateless on IOS-XE (HUB-INFRASTRUCTURE) and VRP (HUB-WAN-IN): a permit for a resolver's
    # answers (from its port 53) cannot be tied to a query, so anyone sending from a resolver's
    # address and port 53 would reach every UDP port of the hub, SNMP included. So no hub filter
    # admits DNS answers, IOS-XE hubs switch lookups off (`no ip domain lookup`, on by default)
    # and VRP hubs leave dynamic resolution off (no `dns resolve`, off by default). FRR and
    # FortiOS hubs filter statefully (nftables conntrack, FortiOS sessions); storestack gives
    # them no resolver either (an FRR hub's host keeps its OS's resolver; a FortiGate keeps its
    # factory FortiGuard DNS, which its FortiGuard services resolve through). Stores resolve
    # through `dns_forwarders` as before.
    management: ManagementAccess
    dc: DcCoreLink
    # The QoS classes the hub queues its tunnels' traffic in (the stores' classes, one model)
    # and the rate they get through the DC's internet edge (None: not known, nothing shaped).
    qos: tuple[QosClass, ...]
    uplink_mbps: int | None
    # What the hub shapes its tunnels' packets to (`wan_queue_kbps` of `uplink_mbps`, as a store's
    # `Transport.queue_kbps`), the rate its classes' shares are of; None without `uplink_mbps`.
    uplink_queue_kbps: int | None
    # What the hub forwards from its store tunnels and what they may send to the hub itself.
    store_forwarding: StoreForwarding
    # What the hub trusts of the DSCP its DC core LAN port hands it towards the stores (`DcTrust`):
    # set where the hub queues towards the stores (its platform can and the inventory gives its
    # `uplink_mbps`); None where no queue of the hub classifies by DSCP (`HUB_NO_UPLINK_QUEUES`
    # says why for VRP and FortiOS; without `uplink_mbps` nothing is queued), so a re-mark there
    # would protect nothing.
    dc_trust: DcTrust | None = None
    # The host route it announces to its stores only while it offers HQ (`HubBeacon`); None on a
    # platform that cannot make an announcement conditional (VRP) or without an address from IPAM.
    beacon: HubBeacon | None = None
    # The default route it gives its stores and the route it needs for that (`StoreDefault`: the
    # DC core's default); None only for an intent built without one.
    store_default: StoreDefault | None = None
    # What the hub forwards from its cloud VPNs (`CloudForwarding`); None without cloud VPNs.
    cloud_forwarding: CloudForwarding | None = None
    # Its rank towards the clouds (`NetworkIntent.cloud_rank`), which every cloud session of the
    # hub renders and the `cloud-return-path` lint checks; None without cloud VPNs.
    cloud_rank: CloudRank | None = None
    # The hubs that serve some of its stores too, each with those stores' addresses
    # (`ReturnPartner`): where it passes the DC's packets of a flow it did not see. Empty with
    # one hub.
    return_partners: tuple[ReturnPartner, ...] = ()
    # The out-of-band management port the hub holds `management_address` on (the inventory's
    # `management_port`, else its platform's, `common/platforms.py` HUB_MANAGEMENT_PORT, which
    # says where each platform has one), with the prefix of the management range holding the
    # address: the management LAN (`management_interface`). None where the platform has none
    # (VRP: no documented form).
    management_port: str | None = None
    management_interface: ipaddress.IPv4Interface | None = None
    # The router on the management LAN behind which the rest of the management network lies
    # (the inventory's `management_gateway`), and the management ranges the port reaches through
    # it: every one outside the LAN. A management host there (a jump host, the NMS in another
    # subnet) is answered from the management address through the port and that router, never
    # through the DC port. None / empty: the inventory names no gateway, and the port reaches
    # its LAN alone.
    management_gateway: ipaddress.IPv4Address | None = None
    management_via_gateway: tuple[ipaddress.IPv4Network, ...] = ()

    @property
    def ike_endpoints(self) -> tuple[IkeEndpoint, ...]:
        """The outside addresses the hub's tunnels end on, each with its tunnels' far ends
        (`IkeEndpoint`), in the order of `tunnels`: the only addresses and sources a hub takes IKE
        and ESP-in-UDP at and from, on every platform that filters them by source."""
        ends: dict[ipaddress.IPv4Address, tuple[list[ipaddress.IPv4Address], list[bool]]] = {}
        for tunnel in self.tunnels:
            local = tunnel.local_outside if tunnel.local_outside is not None else self.public_address
            peers, dynamic = ends.setdefault(local, ([], []))
            if tunnel.peer_outside is None:
                dynamic.append(True)
            elif tunnel.peer_outside not in peers:
                peers.append(tunnel.peer_outside)
        return tuple(
            IkeEndpoint(
                address=address,
                peers=tuple(peers),
                dynamic=bool(dynamic),
                not_from=self.store_forwarding.private if dynamic else (),
            )
            for address, (peers, dynamic) in ends.items()
        )
