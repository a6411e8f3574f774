"""FRR appliances: the routing config in FRR's display order, and the Linux host around it.

**How an FRR appliance carries the overlay.** Every tunnel of the network intent is a
route-based IPsec tunnel: an XFRM interface per tunnel (`xfrm<N>` on a store, the store link's
`<store>-<link>` name on a hub, `aws…`/`os-…` for cloud VPNs), bound by `if_id` to one swanctl
connection whose child negotiates `0.0.0.0/0 === 0.0.0.0/0` (also to AWS and to the OpenStack
sites' strongSwan gateways). That is what IOS-XE VTIs, VRP `tunnel-protocol ipsec`, FortiOS
interface-mode phase 2 and AWS Site-to-Site VPN negotiate, so every platform and AWS
interoperate with it. FRR puts the /31 on the XFRM interface; BGP and BFD run only to the far
end's inside address, so they never leave a tunnel. Each tunnel's IKE/ESP packets are sourced
from its transport's address and policy-routed (`ip rule from <address> lookup <table>`) through
that transport's own table, which holds the pinned /32 to the far end and ends in an
`unreachable` default (`transport_table_routes`): the backup tunnel never rides the primary link
or another tunnel, not even while its own link is down.

On a real Linux appliance (kernel >= 4.19, strongSwan >= 5.8) the host files land as:
`<host>.swanctl.conf` -> /etc/swanctl/swanctl.conf, `<host>.strongswan.conf` ->
/etc/strongswan.d/storestack.conf, `<host>.routing` -> `ip -batch` at boot (XFRM interfaces with
their if_id, policy rules; a push runs what changed on the running host, `frr_confirm.routing_changes`),
`<host>.nftables.conf` -> `nft -f`, `<host>.dnsmasq.conf`,
`<host>.chrony.conf` -> /etc/chrony/chrony.conf and `<host>.chrony.keys` ->
/etc/chrony/chrony.keys (root:_chrony 0640; Debian 12's chrony 4.3, `systemctl restart chrony`),
`<host>.rsyslog.conf` -> /etc/rsyslog.d/storestack.conf (Debian 12's rsyslog 8.2302, checked with
`rsyslogd -N1 -f`, `systemctl restart rsyslog`), `<host>.snmpd.conf` -> /etc/snmp/snmpd.conf
(root:Debian-snmp 0640 as Debian 12's snmpd 5.9.3 ships it, `systemctl restart snmpd`) with
`<host>.snmpd.unit` -> /etc/systemd/system/snmpd.service.d/storestack.conf (snmpd starts after FRR,
which puts the loopback it listens on in place, and again when it could not),
`<host>.nftables.unit` -> /etc/systemd/system/nftables.service.d/storestack.conf (a ruleset that
does not load at boot leaves a fallback that forwards nothing, `firewall_fallback`, and fails the unit),
`<host>.sysctl.conf` -> /etc/sysctl.d/storestack.conf (`net.ipv4.ip_forward = 1`, reverse-path filtering pinned loose, a hub's DC port sending no ICMP redirect; the kernel's and
Debian 12's default is 0 and zebra leaves it so; systemd-sysctl at boot, `sysctl -p` on a push),
`<host>.qos.tc` -> /etc/storestack/qos.tc, `tc -batch` once its WAN interfaces exist (a store's
HTB tree per link, `store_wan_queues`; a hub's on its DC port, `hub_wan_queues`, when the
inventory gives its uplink rate; it replaces the roots, so it loads again as is, and a PPP/DHCP
link whose device is made anew needs it again). A
carrier-assigned (DHCP/modem) transport's lease hook writes `local_addrs = <lease>` to
`transport/<link>.conf` beside swanctl.conf (the connection includes it), adds
`ip rule from <lease> lookup <table>` and `ip route replace default via <lease's router> dev
<link> table <table>` (`default dev <link>` on a point-to-point link without one: the tunnels'
far ends and, on the guest breakout link, guest Wi-Fi) and reloads with `swanctl --load-conns`;
staticd's `unreachable` default stays behind that route (zebra prefers the kernel's and puts its
own back once the hook removes the lease's), so without a lease the link sends nothing.

**The lab** has no kernel ESP and no XFRM interfaces. It runs the rendered files in one charon
per appliance (kernel-libipsec) and adapts only what that forces (`storestack.lab.rendered`):
0.0.0.0/0 selectors become the tunnel's /32 VXLAN endpoint pair, with a VXLAN device named like
the rendered XFRM interface carrying the inside address. Proposals, identities and PSKs stay
exactly as rendered. libipsec copies no DSCP to its ESP, so the lab queues the first WAN link's
classes on its TUN device (`storestack.lab.rendered.adapt_qos`).
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from storestack.common.ntp import NtpAlgorithm
from storestack.common.records import record
from storestack.common.snmp import SnmpAuth, SnmpPriv
from storestack.devices.announced import numbered_announcements
from storestack.devices.errors import RenderError
from storestack.devices.naming import sort_frr_interfaces
from storestack.devices.platforms import get_platform
from storestack.devices.platforms.base import snmp_keywords
from storestack.devices.secrets import hex_secret
from storestack.devices.views import (
    AwsTunnelView,
    BfdProfile,
    CloudTunnelView,
    HubPeerView,
    HubStoreView,
    HubView,
    ManagementView,
    Net,
    SegmentView,
    StoreApplianceView,
    TunnelView,
    WanLinkView,
)
from storestack.devices.views.model import AclRule, CloudFilter, QosClassView, cloud_rules, shaped_kbps
from storestack.inventory.models import NETWORK_CONTROL_PERCENT
from storestack.network.crypto import FLEET_CRYPTO, STRONGSWAN_RETRANSMITS
from storestack.network.model import (
    NETWORK_CONTROL_DSCPS,
    BgpTimers,
    HubIntent,
    PrefixLimit,
    Service,
    share_kbps,
)
from storestack.network.secrets import Secret
from storestack.network.sla import (
    APPLICATION_MARK_MASK,
    MANAGEMENT_TABLE,
    PARTNER_MARK,
    PARTNER_TABLE,
    RETURN_MARK_BASE,
    RETURN_TABLE_BASE,
    STEERING_TABLE_BASE,
)


@record
class FrrInterface:
    name: str
    description: str
    addresses: list[str]
    bandwidth: int | None = None


@record
class FrrNeighbor:
    address: str
    asn: int
    description: str
    bfd: BfdProfile | None
    route_map_in: str
    route_map_out: str
    timers: BgpTimers
    prefix_limit: PrefixLimit | None = None  # the session's (`BgpSession.prefix_limit`)


# A BFD-tracked session goes down with its path; bgpd then waits the ConnectRetry time (FRR:
# 120 s) between attempts, which would hold a recovered path out of BGP for minutes: SLA-tracked
# sessions retry every 5 s, and so do a hub's sessions with the other hubs, the DC core and the
# clouds (lint frr-connect-retry).
SLA_CONNECT_RETRY = 5
# How often a hub's bgpd rechecks its beacon's condition (`bgp conditional-advertisement timer`,
# 5-240 s, default 60): a vendor store steering by the beacon keeps sending a class to a hub that
# lost the DC core until the beacon is withdrawn, so the hub rechecks every 10 s. The check walks
# the BGP table once per store neighbour, a few hundred routes on a hub.
BEACON_RECHECK_SECONDS = 10
# ICMP a hub answers per source address: the SLA probes over one store tunnel (one operation per
# SLA class, together some 24 per second on IOS-XE, whose realtime train sends a packet every
# 90 ms; fewer on VRP and FortiOS) stay well inside it at any fleet size.
HUB_ICMP_PER_SOURCE_PPS = 50


@record
class FrrBfdPeer:
    address: str
    local: str
    ifname: str
    profile: str


@record
class FrrStoreLayout:
    static_routes: list[str]
    interfaces: list[FrrInterface]
    networks: list[str]
    neighbors: list[FrrNeighbor]
    bfd_peers: list[FrrBfdPeer]
    bfd_profiles: list[BfdProfile]
    aws_links: list[WanLinkView]


@record
class IpsecConnection:
    """One swanctl connection (= one tunnel, one XFRM interface), either end."""

    name: str  # the tunnel id both ends share
    ifname: str
    if_id: int
    local_addrs: str | None  # None: a carrier-assigned transport (the lease hook includes it)
    transport: str
    remote_addrs: str  # an address, or %any for a store link with a dynamic address
    local_id: str
    remote_id: str
    initiator: bool
    local_ts: str
    remote_ts: str
    psk: Secret  # printed through the `secret` filter
    mtu: int  # its XFRM interface's MTU (the intent's `Tunnel.mtu`); the MSS clamp follows it


@record
class IpsecSettings:
    """FLEET_CRYPTO spelled for strongSwan, and the timers every connection shares."""

    proposals: str
    esp_proposals: str
    ike_rekey_seconds: int
    child_rekey_seconds: int
    dpd_seconds: int
    replay_window: int
    retransmit_timeout: float
    retransmit_tries: int
    retransmit_base: float


IPSEC = IpsecSettings(
    proposals=FLEET_CRYPTO.strongswan_ike(),
    esp_proposals=FLEET_CRYPTO.strongswan_esp(),
    ike_rekey_seconds=FLEET_CRYPTO.ike_rekey_seconds,
    child_rekey_seconds=FLEET_CRYPTO.esp_rekey_seconds,
    dpd_seconds=FLEET_CRYPTO.dpd_interval_seconds,
    # swanctl `replay_window` (default 32; "Larger values than the default of 32 are supported
    # using the Netlink backend only", swanctl.conf(5)): the kernel's XFRM SAs take it; the lab's
    # kernel-libipsec ignores it (a fixed window of its own).
    replay_window=FLEET_CRYPTO.replay_window_packets,
    # The fleet's strongSwan ends (and the OpenStack gateways) retransmit alike: a dead peer is
    # declared `STRONGSWAN_RETRANSMITS.give_up_seconds` after the first unanswered DPD probe.
    retransmit_timeout=STRONGSWAN_RETRANSMITS.timeout,
    retransmit_tries=STRONGSWAN_RETRANSMITS.tries,
    retransmit_base=STRONGSWAN_RETRANSMITS.base,
)


@record
class FirewallFlow:
    """One allowed forward flow, spelled for nftables."""

    ifname: str
    zone: str
    daddr: str  # "" for the internet
    l4: str  # "" or "tcp dport { 443 }"
    internet: bool
    why: str


@record
class SlaMarkRule:
    """Classify one application's packets on a segment: mark and DSCP (nftables prerouting)."""

    ifname: str
    l4: str  # "" or "udp dport { 5060, 16384-32767 }"
    mark: str  # 0x-spelled
    dscp_name: str
    application: str


@record
class SlaPathCounter:
    """One application leaving on one path: the counter `storestack lab path` reads."""

    mark: str
    ifname: str
    comment: str  # "<application> <transport> <hub or breakout>"


@record
class SlaHost:
    """The Linux side of the SLA policy on an FRR store."""

    marks: list[SlaMarkRule]  # port-specific applications first
    never_cellular: list[tuple[str, str, str]]  # (mark, application, "ifname", "ifname" ...)
    counters: list[SlaPathCounter]


def _mark(value: int) -> str:
    return f"0x{value:08x}"


def _dscp_keyword(name: str) -> str:
    return "cs0" if name == "default" else name


def store_sla_host(view: StoreApplianceView) -> SlaHost:
    """Marks, DSCP, the LTE/5G ban and per-path counters of the store's application classes.

    The marks select each overlay class's routing table (`store_policy_rules`), where
    storestack-steer keeps the class's first usable path (`store_steering`); what a class may
    never use (LTE/5G for guest and bulk) is also refused here by mark, so no route change can
    move it there."""
    ifnames = {segment.kind: segment.ifname for segment in view.segments}
    links = {link.name: link for link in view.wan}
    tunnel_ifnames = {(tunnel.link, tunnel.hub.hostname): tunnel.ifname for tunnel in view.tunnels}
    marks: list[SlaMarkRule] = []
    never: list[tuple[str, str, str]] = []
    counters: list[SlaPathCounter] = []
    for application in view.intent.sla.applications:
        mark = _mark(application.mark)
        l4 = ""
        if application.ports:
            ports = ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in application.ports)
            l4 = f"{application.protocol} dport {{ {ports} }}"
        for segment in application.segments:
            marks.append(SlaMarkRule(ifnames[segment], l4, mark, _dscp_keyword(application.dscp_name), application.name))
        for path in application.paths:
            ifname = tunnel_ifnames[(path.transport, path.hub)] if path.hub else links[path.transport].ifname
            where = path.hub or "breakout"
            counters.append(SlaPathCounter(mark, ifname, f"{application.name} {path.transport} {where}"))
        if not application.cellular:
            banned = [link.ifname for link in view.cellular_links]
            banned += [tunnel.ifname for link in view.cellular_links for tunnel in link.tunnels]
            if banned:
                never.append((mark, application.name, '", "'.join(banned)))
    return SlaHost(marks, never, counters)


# ---------------------------------------------------------------- WAN queues (tc)

# HTB shapes each WAN link to the intent's shaped rate (`Transport.queue_kbps`, WAN_SHAPE_PERCENT
# of its inventory rate, network/model.py): it counts the IP packet and the Ethernet header only,
# never the carrier's framing (PPPoE, DOCSIS, ATM cells).
# The host's own control traffic (IKE, and BGP/BFD inside the tunnels, CS6 as FRR sends them):
# it needs a class (as on IOS-XE, whose BGP gets no PAK_priority: inventory/models.py
# NETWORK_CONTROL_PERCENT), else a saturated link starves BFD, the path is declared down and
# storestack-steer moves every class off a link that is merely busy. The class matches the
# intent's network-control DSCPs, which a hub re-marks to default when they come from the DC
# (`hub_dc_trust_rules`), so only the hub's own routing traffic reaches this class on its uplink.
CONTROL_PERCENT = NETWORK_CONTROL_PERCENT
CONTROL_DSCPS = NETWORK_CONTROL_DSCPS
# A leaf holds at most this much of its ceiling (in bytes): the kernel has no fq_codel, cake or
# sfq, so each class's queue is a byte-limited FIFO (bfifo), short enough to bound the delay
# a bulk burst adds instead of HTB's 1000-packet default leaf.
LEAF_QUEUE_MS = 100
MTU_BYTES = 1514


@record
class TcClass:
    """One HTB class of a WAN link: what it matches, its guarantee, ceiling and priority."""

    minor: int  # 1:<minor> (tc spells it in hex)
    name: str  # the QoS class (or "control")
    dscps: tuple[tuple[str, int], ...]  # (name, value) matched by u32 on the (outer) DSCP; () by default
    prio: int  # 0 strict-ish priority, 1 guaranteed, 2 the rest
    rate_kbit: int
    ceil_kbit: int
    quantum: int
    limit_bytes: int

    @property
    def burst(self) -> int:
        return _burst(self.rate_kbit)

    @property
    def cburst(self) -> int:
        return _burst(self.ceil_kbit)

    @property
    def classid(self) -> str:
        return f"1:{self.minor:x}"

    def dsfields(self) -> list[tuple[str, str]]:
        """(u32's `match ip dsfield` value: the DSCP in the ToS byte's top six bits, its name)."""
        return [(f"0x{value << 2:02x}", name) for name, value in self.dscps]


# eq=False: a link's tree is compared and hashed by identity, so its tc lines can be cached per
# tree (`_link_queue_lines`); `_link_queues` gives the same tree for the same link.
@dataclass(frozen=True, slots=True, eq=False)
class TcLink:
    """The shaper of one WAN link: an HTB root at the link's shaped rate, its classes."""

    ifname: str
    link: str
    link_kbit: int
    rate_kbit: int
    classes: list[TcClass]
    default_minor: int  # the best-effort class: whatever no filter matches
    # A hub's uplink: only packets from this address (its tunnels' IKE and ESP) are queued; the
    # rest (the DC core LAN's own traffic on the same port) matches no filter and bypasses the
    # shaper (`htb default 0`), and the best-effort class takes what is left of the tunnels'.
    source: str | None = None

    @property
    def default(self) -> str:
        return "0" if self.source else f"{self.default_minor:x}"

    @property
    def quantum(self) -> int:
        return _quantum(self.rate_kbit)

    @property
    def burst(self) -> int:
        return _burst(self.rate_kbit)


CONTROL_MINOR = 0x2
FIRST_CLASS_MINOR = 0x10


def _quantum(rate_kbit: int) -> int:
    """DRR among borrowing classes: at least a full frame per round (HTB warns outside these)."""
    return min(60000, max(MTU_BYTES, rate_kbit * 1000 // 8 // 10))


def _burst(rate_kbit: int) -> int:
    """Bytes sent at once: 2 ms at the rate (tc's default is one timer tick, a frame at gigabit
    rates here, which HTB cannot keep up), at least two frames."""
    return max(2 * MTU_BYTES, rate_kbit * 1000 // 8 * 2 // 1000)


def _tc_class(minor: int, name: str, dscps: tuple[tuple[str, int], ...], prio: int, rate: int, ceil: int) -> TcClass:
    rate, ceil = max(8, rate), max(8, ceil)
    return TcClass(
        minor,
        name,
        dscps,
        prio,
        rate,
        max(rate, ceil),
        _quantum(rate),
        max(3 * MTU_BYTES, max(rate, ceil) * LEAF_QUEUE_MS // 8),
    )


@functools.lru_cache(maxsize=1024)
def _link_queues(
    ifname: str, name: str, link_kbit: int, shaped: int, qos: tuple[QosClassView, ...], source: str | None = None
) -> TcLink:
    """One link's egress queues under a root at `shaped` kbit/s: the intent's QoS classes
    (network.model.QosClass) as the vendor configs queue them. Shares are of the shaped rate, as
    IOS-XE's `priority percent` / `bandwidth percent` are of the parent shaper's: the priority
    class prio 0 held to its share (rate = ceil, IOS-XE's implicit policer under congestion), a
    guaranteed class prio 1 with its share as rate, borrowing up to the shaped rate, a shaped
    class capped at its share of it, best effort what is left (the default class, like
    class-default).

    Cached: a fleet's links share a handful of names and rates, and the classes are the fleet's."""
    classes = [_tc_class(CONTROL_MINOR, "control", CONTROL_DSCPS, 0, share_kbps(shaped, CONTROL_PERCENT), shaped)]
    default_minor = 0
    for index, cls in enumerate(qos):
        minor = FIRST_CLASS_MINOR + index
        if cls.best_effort:
            default_minor = minor
            continue
        if cls.priority:
            share = share_kbps(shaped, cls.bandwidth_percent)
            classes.append(_tc_class(minor, cls.name, ((cls.dscp_name, cls.dscp),), 0, share, share))
        elif cls.bandwidth_percent:
            ceil = min(shaped, shaped_kbps(shaped, cls.shape_percent)) if cls.shape_percent else shaped
            share = share_kbps(shaped, cls.bandwidth_percent)
            classes.append(_tc_class(minor, cls.name, ((cls.dscp_name, cls.dscp),), 1, share, ceil))
        else:  # shaped only: no guarantee beyond a trickle, at most its share of the shaped rate
            ceil = min(shaped, shaped_kbps(shaped, cls.shape_percent or 100))
            classes.append(_tc_class(minor, cls.name, ((cls.dscp_name, cls.dscp),), 2, shaped // 100, ceil))
    if not default_minor:
        default_minor = FIRST_CLASS_MINOR + len(qos)
    left = shaped - sum(cls.rate_kbit for cls in classes)
    best_effort = next((cls.name for cls in qos if cls.best_effort), "best-effort")
    classes.append(_tc_class(default_minor, best_effort, (), 2, max(shaped // 100, left), shaped))
    classes.sort(key=lambda cls: cls.minor)
    return TcLink(ifname, name, link_kbit, shaped, classes, default_minor, source)


def store_wan_queues(view: StoreApplianceView) -> list[TcLink]:
    """Each WAN link's egress queues (`_link_queues`), on the link's interface, under the intent's
    shaped rate of the link."""
    qos = tuple(view.qos)
    return [_link_queues(link.ifname, link.name, link.bandwidth_kbps, link.queue_kbps, qos) for link in view.wan]


def guest_classid(view: StoreApplianceView, queues: Sequence[TcLink]) -> str | None:
    """The best-effort class of the guest breakout link's tree, which every guest packet leaving
    by it takes (nftables `guest_queue` sets it as the packet's priority, and HTB takes a
    priority naming one of its leaf classes before any filter): the tree's filters classify by
    header fields a guest controls (UDP 500 and 4500 with a zero marker is the control class's
    IKE). None without a guest breakout."""
    if view.guest is None or view.breakout is None:
        return None
    link = next((link for link in queues if link.ifname == view.breakout.ifname), None)
    return f"1:{link.default_minor:x}" if link is not None else None


# What a hub's tree is called in its qos.tc (its one link: the DC core LAN port, which carries the
# hub's public address to the DC's internet edge).
HUB_UPLINK = "uplink"


def hub_wan_queues(view: HubView) -> list[TcLink]:
    """A hub's egress queues towards the stores (and the clouds): on its DC core LAN port, where
    every tunnel's IKE and ESP leaves for the DC's internet edge, the same classes as a store's
    link, shaped below the hub's `uplink_mbps` so the queue builds here, where voice, POS and the
    control class (IKE, BGP and BFD to every store) are kept apart, not at the DC edge. Only the
    packets from the hub's public address are queued: the port also carries the hub's traffic to
    the DC core (decrypted store traffic to HQ, BGP with the core routers), which the uplink's
    rate must not touch. None without an uplink rate: a shaper at the port's own line rate never
    fills (the DC edge is slower), so classes there would protect nothing."""
    if view.uplink_kbps is None or view.uplink_queue_kbps is None:
        return []
    return [
        _link_queues(
            view.dc.ifname, HUB_UPLINK, view.uplink_kbps, view.uplink_queue_kbps, tuple(view.qos), view.public_address
        )
    ]


def wan_queue_lines(links: Sequence[TcLink], control_classid: str) -> list[str]:
    """`tc -batch` lines of each link's queues (templates/devices/frr/host-qos.j2 says what each
    does): the root replaced, the HTB root class at the shaped rate, a class and its bfifo leaf
    per QoS class, IKE to the control class, then a DSCP filter per DSCP a class matches. On a
    hub's uplink (`TcLink.source`) every filter also matches the hub's public address, IKE is
    told by the hub's own ports (a store behind NAT answers from any port) and a last filter
    gives the rest of the tunnels' packets to best effort."""
    return [line for link in links for line in _link_queue_lines(link, control_classid)]


@functools.lru_cache(maxsize=1024)
def _link_queue_lines(link: TcLink, control_classid: str) -> tuple[str, ...]:
    """One link's lines (`wan_queue_lines`), once per tree (`_link_queues` shares the trees)."""
    lines: list[str] = []
    dev = f"dev {link.ifname}"
    lines.append(f"# {link.link}: {link.link_kbit} kbit/s, shaped to {link.rate_kbit} kbit/s")
    if link.source:
        lines.append(
            f"# only what leaves from {link.source} (the tunnels) is queued; the rest matches no filter"
            " and bypasses the shaper (htb default 0)"
        )
    lines += [
        f"qdisc replace {dev} root pfifo_fast",
        f"qdisc replace {dev} root handle 1: htb default {link.default}",
        f"class add {dev} parent 1: classid 1:1 htb rate {link.rate_kbit}kbit ceil {link.rate_kbit}kbit"
        f" burst {link.burst} cburst {link.burst} quantum {link.quantum}",
    ]
    for cls in link.classes:
        lines += [
            f"class add {dev} parent 1:1 classid {cls.classid} htb rate {cls.rate_kbit}kbit ceil {cls.ceil_kbit}kbit"
            f" burst {cls.burst} cburst {cls.cburst} prio {cls.prio} quantum {cls.quantum}  # {cls.name}",
            f"qdisc add {dev} parent {cls.classid} bfifo limit {cls.limit_bytes}",
        ]
    head = f"filter add {dev} parent 1: protocol ip"
    src, port = (f" match ip src {link.source}/32", "sport") if link.source else ("", "dport")
    lines += [
        f"{head} prio 1 u32{src} match ip protocol 17 0xff match ip {port} 500 0xffff flowid {control_classid}",
        f"{head} prio 1 u32{src} match u8 0x05 0x0f at 0 match ip protocol 17 0xff"
        f" match ip {port} 4500 0xffff match u32 0 0xffffffff at 28 flowid {control_classid}",
    ]
    lines += [
        f"{head} prio 2 u32{src} match ip dsfield {dsfield} 0xfc flowid {cls.classid}  # {dscp}"
        for cls in link.classes
        for dsfield, dscp in cls.dsfields()
    ]
    if link.source:
        best_effort = next(cls for cls in link.classes if cls.minor == link.default_minor)
        lines.append(f"{head} prio 3 u32{src} flowid {best_effort.classid}  # {best_effort.name}")
    return tuple(lines)


@record
class PolicyRule:
    """One `ip rule` (iproute2 batch syntax, without the leading `rule add`)."""

    text: str


@record
class ChronyKey:
    """One NTP key as chrony's key file spells it: id, hash, the key in hex (`secret` filter)."""

    id: int
    hash: str
    secret: Secret


@record
class NtpClient:
    """The host's time service (chrony): an authenticated client of the intent's NTP servers,
    sourced from the appliance's loopback as IOS-XE, VRP and FortiOS source theirs."""

    servers: tuple[str, ...]
    key_id: int  # the key every server is asked with (the first chrony implements)
    keys: tuple[ChronyKey, ...]  # every key of the intent chrony implements, in the key file
    source: str  # the loopback address the client sockets are bound to
    keyfile: str


# Where the key file lands (Debian's chrony package reads this path; root:_chrony 0640 there,
# so chronyd still reads it after dropping root, e.g. on `chronyc rekey`).
CHRONY_KEYFILE = "/etc/chrony/chrony.keys"
# chrony's key types by algorithm (common/ntp.py), as its key file spells them (chrony.conf(5),
# `keyfile`): AES128 is AES-128-CMAC (RFC 8573, a 128-bit key), SHA256 NTP's keyed digest
# (SHA-256 over the key, then the packet, like ntpd; chrony has no RFC 2104 HMAC type).
NTP_KEY_TYPES: dict[NtpAlgorithm, str] = {"aes128-cmac": "AES128", "sha256": "SHA256"}


def ntp_client(mgmt: ManagementView, loopback: str) -> NtpClient:
    """chrony's view of the management plane: the same servers as every platform's, the fleet's
    keys whose algorithm chrony implements."""
    keys = mgmt.ntp_keys_for("frr")
    return NtpClient(
        servers=mgmt.ntp_servers,
        key_id=keys[0].id,
        keys=tuple(ChronyKey(key.id, NTP_KEY_TYPES[key.algorithm], hex_secret(key.secret)) for key in keys),
        source=loopback,
        keyfile=CHRONY_KEYFILE,
    )


# Remote syslog as the vendor platforms send it (IOS-XE `logging host`, VRP `info-center
# loghost`, FortiOS `log syslogd setting`: UDP 514 by default), which needs no answer: the hubs'
# filters towards the appliances take none, and nothing opens a connection back.
SYSLOG_PROTOCOL = "udp"
SYSLOG_PORT = 514


@record
class SyslogForwarding:
    """The host's remote syslog (rsyslog's omfwd): every syslog server of the intent, from the
    loopback address the other platforms source their syslog from (the hubs announce the
    loopbacks to the DC, never the tunnel addresses)."""

    servers: tuple[str, ...]
    source: str
    protocol: str
    port: int


def syslog_forwarding(mgmt: ManagementView, loopback: str) -> SyslogForwarding:
    return SyslogForwarding(mgmt.syslog_servers, loopback, SYSLOG_PROTOCOL, SYSLOG_PORT)


# The SNMPv3 user's protocols (common/snmp.py), as snmpd.conf(5) of Debian 12's snmpd 5.9.3 spells
# them: `createUser NAME (MD5|SHA|SHA-512|SHA-384|SHA-256|SHA-224) authpassphrase [DES|AES]
# privpassphrase` (SHA-2 "require OpenSSL ... and the agent to be built with OpenSSL support":
# Debian's build defines NETSNMP_USE_OPENSSL). Its AES-256 (built in, NETSNMP_DRAFT_BLUMENTHAL_AES_04)
# is documented for no directive, so AES-128 stays its only privacy protocol.
SNMP_AUTH_KEYWORDS: dict[SnmpAuth, str] = {"sha1": "SHA", "sha256": "SHA-256"}
SNMP_PRIV_KEYWORDS: dict[SnmpPriv, str] = {"aes128": "AES"}


@record
class SnmpAgent:
    """The host's SNMP agent (net-snmp's snmpd): SNMPv3 only, the fleet's one read-only user with
    the keys and protocols every platform's user has (`auth` / `priv`, the fleet's pair as
    createUser spells it), answering on the loopback only: the management address HQ polls, the
    only one the intent's management ranges reach the appliance at (the host firewall takes UDP
    161 from them alone)."""

    listen: str
    user: str
    auth: str
    auth_key: Secret
    priv: str
    priv_key: Secret


def snmp_agent(mgmt: ManagementView, loopback: str) -> SnmpAgent:
    """The agent of an FRR host; a pair net-snmp does not document is refused (RenderError)."""
    auth, priv = snmp_keywords("frr", SNMP_AUTH_KEYWORDS, SNMP_PRIV_KEYWORDS, mgmt.snmp_auth, mgmt.snmp_priv)
    return SnmpAgent(loopback, mgmt.snmp_user, auth, mgmt.snmp_auth_key, priv, mgmt.snmp_priv_key)


@functools.lru_cache(maxsize=1024)
def _ports(service: Service) -> str:
    if service.protocol in ("tcp", "udp") and service.ports:
        return f"{service.protocol} dport {{ {', '.join(str(port) for port in service.ports)} }}"
    return ""


def store_host_context(view: StoreApplianceView) -> dict[str, Any]:
    """What the FRR store host templates (swanctl, strongswan, routing, nftables, dnsmasq,
    chrony) see."""
    connections = store_connections(view)
    steering = store_steering(view)
    queues = store_wan_queues(view)
    return {
        "view": view,
        "connections": connections,
        "ipsec": IPSEC,
        "flows": store_firewall(view),
        "rules": store_policy_rules(view, steering),
        "sla": store_sla_host(view),
        "wan_queues": queues,
        "control_classid": f"1:{CONTROL_MINOR:x}",
        "guest_classid": guest_classid(view, queues),
        "steering": steering,
        "ntp": ntp_client(view.mgmt, view.loopback.ip),
        "syslog": syslog_forwarding(view.mgmt, view.loopback.ip),
        "snmp": snmp_agent(view.mgmt, view.loopback.ip),
        "role_text": f"store {view.store_id} {view.store_name}",
        **_store_tunnel_ends(view),
        # Name lists spelled once here: Jinja's map filter is slow in the sandbox.
        "ike_peers": ike_peer_elements(connections),
        # Per sender (the intent's `icmp_requests_pps`): HQ's monitoring and management, a LAN
        # host checking its gateway. No probe of the fleet pings a store, and one flooding
        # internet host does not take everyone's answers.
        "icmp_per_source_pps": view.intent.management.icmp_requests_pps,
        # Management comes through the hubs (HQ's management network is behind them), never
        # through an AWS tunnel, which shares the tunnels' interface group: a VPC host sending
        # from a management address would otherwise reach SSH and SNMP.
        "hub_tunnel_ifs": '", "'.join(tunnel.ifname for tunnel in view.tunnels),
        # The clouds open nothing towards a store: from an AWS tunnel only its far end pings the
        # router, at this end, as IOS-XE's and VRP's FROM-AWS-<LINK>-T<n> take ICMP between the
        # tunnel's two inside addresses alone
        "aws_tunnel_ifs": '", "'.join(tunnel.ifname for tunnel in view.aws_tunnels),
        "mgmt_ranges": ", ".join(net.cidr for net in view.mgmt.ranges),
        "firewall_fallback": firewall_fallback((net.cidr for net in view.mgmt.ranges), tunnels=True),
        "internet_excluded": ", ".join(net.cidr for net in view.internet_excluded),
        # charon never uses a LAN or tunnel address for IKE
        "ignore_ifs": [segment.ifname for segment in view.segments] + [c.ifname for c in connections],
    }


# The table a host falls back to when its ruleset does not load at boot (`firewall_fallback`).
FALLBACK_TABLE = "inet storestack_fallback"


def firewall_fallback(mgmt_ranges: Iterable[str], *, tunnels: bool) -> str:
    """The ruleset an FRR host loads at boot when its own (`nftables.conf`) does not load
    (host-nftables-unit.j2), as one `nft` command line: it forwards nothing and takes only its own
    loopback's packets, its established flows and SSH from the management ranges, so an operator
    can reach it and load a fixed ruleset. With `tunnels` (a store, managed only through its hub
    tunnels) it also takes IKE and ESP, and BGP and BFD inside the tunnels (interface group 10),
    so HQ's management ranges reach it while it forwards nothing. A hub takes neither: its store
    tunnels and BGP sessions stay down and the stores use their other hub, as they would if it
    were off; its management port stays reachable."""
    rules = [
        "iif lo accept",
        "ct state established,related accept",
        *(
            [
                "udp dport 500 accept",
                "udp dport 4500 accept",
                "meta l4proto esp accept",
                "iifgroup 10 tcp dport 179 accept",
                "iifgroup 10 udp dport 3784 accept",
            ]
            if tunnels
            else []
        ),
        f"ip saddr {{ {', '.join(mgmt_ranges)} }} tcp dport 22 accept",
    ]
    return "; ".join(
        [
            "flush ruleset",
            f"add table {FALLBACK_TABLE}",
            f"add chain {FALLBACK_TABLE} input {{ type filter hook input priority filter; policy drop; }}",
            f"add chain {FALLBACK_TABLE} forward {{ type filter hook forward priority filter; policy drop; }}",
            *(f"add rule {FALLBACK_TABLE} input {rule}" for rule in rules),
        ]
    )


def ike_peer_elements(connections: Sequence[IpsecConnection]) -> str:
    """The host firewall's `ike_peers` set (nftables `ifname . ipv4_addr` elements): each
    transport with the far end of every tunnel over it. IKE and ESP-in-UDP reach a store only
    from those, on that port, as the fleet's WAN ports take them (IOS-XE's
    INTERNET-<link>-TO-SELF, FortiOS's local-in policies); from anyone else charon would answer
    every IKE_SA_INIT with a Diffie-Hellman exchange of its own."""
    pairs = dict.fromkeys((c.transport, c.remote_addrs) for c in connections)
    return ", ".join(f'"{transport}" . {peer}' for transport, peer in pairs)


def return_mark(link_index: int) -> str:
    """The connection mark of flows last seen coming in over a store's link at this position."""
    return _mark(RETURN_MARK_BASE + link_index)


def return_table(link_index: int) -> int:
    return RETURN_TABLE_BASE + link_index


def hub_return_rules(view: HubView) -> list[PolicyRule]:
    """Return-path steering: a packet towards a store carrying a link's return mark (restored
    from its flow's connection mark by nftables) looks up that link's table, where staticd
    routes every store's prefixes into its tunnel over that link (`hub_layout`).

    A hub has one tunnel per store link, so (the store the reply goes to, the link position)
    names exactly one tunnel: a mark and a table per link position answer every flow through the
    tunnel it came in on. One rule per link position (three at most today) instead of one per
    tunnel: an `ip rule` action names a fixed table (`fwmark` cannot select the table), and the
    kernel walks its rules in order for every routed packet, so a rule per tunnel would mean
    some 20,000 rules on each hub of a 10,000-store chain."""
    rules = [
        PolicyRule(f"fwmark {return_mark(index)} lookup {return_table(index)} pref {STEERING_RULE_PREF + index}")
        for index in sorted({peer.link_index for peer in view.peers})
    ]
    # The partner hubs (`hub_partner_context`): after the return marks, a mark and a table each.
    rules += [
        PolicyRule(f"fwmark {_mark(PARTNER_MARK + slot)} lookup {PARTNER_TABLE + slot} pref {PARTNER_RULE_PREF}")
        for slot in partner_slots(view.intent).values()
    ]
    return rules


# A partner's slot is its host number on the DC core LAN; its table (PARTNER_TABLE + slot) must
# stay below the management table, its mark in the partner marks' low byte.
PARTNER_SLOTS = MANAGEMENT_TABLE - PARTNER_TABLE


def partner_slots(intent: HubIntent) -> dict[str, int]:
    """Each return partner's slot (hostname -> the low byte of its mark and the offset of its
    table): its host number on the DC core LAN, not its position among the hub's partners. A kept
    hub keeps its DC address through a fleet change (`devices/push_order.py` refuses one that
    moves it), so a partner keeps its mark and table in every config of the change: the push
    installs the ruleset, then the routing batch, then the FRR lines (`hub_companions`), and a
    mark that named another partner in the config before would send the shared stores' packets,
    and the flows pinned to the mark, to that hub until the FRR lines repoint its table. Refused
    (RenderError) where a partner's host number leaves no table for it (a DC core LAN of a /25
    or larger with hubs high in it)."""
    lan = intent.dc.address.network
    slots = {partner.hostname: int(partner.dc_address) - int(lan.network_address) for partner in intent.return_partners}
    high = sorted(name for name, slot in slots.items() if slot >= PARTNER_SLOTS)
    if high:
        raise RenderError(
            f"hub {intent.hostname}: partner hub(s) {', '.join(high)} sit at host {PARTNER_SLOTS} or above of the "
            f"DC core LAN {lan}, past the partner tables {PARTNER_TABLE}-{MANAGEMENT_TABLE - 1} an FRR hub numbers "
            "by that host: give them a lower dc_address"
        )
    return slots


def hub_management_routing(view: HubView) -> list[str]:
    """The hub's management port (`HubView.management_port`, `ip -batch` lines): the inventory's
    management address on it without the prefix route the kernel would add to the main table
    (`noprefixroute`), the management LAN in a table of its own (`MANAGEMENT_TABLE`), and the
    address's own packets, and only they, looking that table up, the rest of them unreachable.

    Without a VRF (this kernel and many sshd deployments have none) source policy routing keeps
    the port out of the hub's routing: the main table holds no route into the management LAN, so
    nothing the hub forwards (a store's answer to HQ's management hosts, which HQ routes through
    the DC core) leaves by it; a session to the management address is answered from that address,
    so by that table and port, whatever the main table says of the management host. The
    management ranges outside the LAN go through the inventory's management gateway, in that
    table alone (`ManagementPortView.via_gateway`; iproute2 ip-route(8): `via ADDRESS dev NAME
    src ADDRESS table TABLE_ID`): a management host behind that router is answered by the
    port, as Linux routers keep a management plane's replies on its own interface. What the
    table does not hold (anything outside the management ranges, or every host outside the LAN
    without a gateway) is unreachable from that address, never sent by the DC port.
    `address replace`/`route replace`: the host (ZTP, ifupdown) puts the address on the port
    before the first push, and the batch loads again as it is; the LAN's route comes first, so
    the gateway is on-link when its routes are added."""
    port = view.management_port
    if port is None:
        return []
    address, lan = port.address, port.address.network.cidr
    return [
        f"link set {port.ifname} up",
        f"address replace {address.cidr} dev {port.ifname} noprefixroute",
        f"route replace {lan} dev {port.ifname} src {address.ip} table {MANAGEMENT_TABLE}",
        *(
            f"route replace {net.cidr} via {port.gateway} dev {port.ifname} src {address.ip} table {MANAGEMENT_TABLE}"
            for net in port.via_gateway
        ),
    ]


def hub_management_rules(view: HubView) -> list[PolicyRule]:
    """The management address's own packets look up the management table (`hub_management_routing`)
    and nothing else: before every other rule of the hub's."""
    port = view.management_port
    if port is None:
        return []
    address = port.address.ip
    return [
        PolicyRule(f"from {address} lookup {MANAGEMENT_TABLE} pref {MANAGEMENT_RULE_PREF}"),
        PolicyRule(f"from {address} unreachable pref {MANAGEMENT_RULE_PREF + 1}"),
    ]


def hub_partner_routes(view: HubView) -> list[tuple[str, str]]:
    """Each partner's table (`PARTNER_TABLE` + its slot, `partner_slots`): one
    default route to that hub's loopback, which zebra resolves through the hubs' iBGP to the
    partner's DC address: while the partner lives, and not at all once its session is down (the
    packet then follows the main table, as without a partner). Which packets take it is the
    ruleset's choice (`hub_partner_context`): one route per partner, whatever the stores."""
    slots = partner_slots(view.intent)
    return [
        ("0.0.0.0/0", f"{partner.loopback} table {PARTNER_TABLE + slots[partner.hostname]}")
        for partner in view.intent.return_partners
    ]


def hub_partner_context(view: HubView) -> dict[str, str]:
    """What the hub's nftables need to pass a flow's packets to the partner hub that saw it
    (`ReturnPartner`): the shared stores' addresses and the hub's tunnels to them, each with its
    partner's mark (`PARTNER_MARK` + its slot, `partner_slots`), the partners' DC addresses (the only
    next hops such a packet leaves for), and the marks' base and mask. Empty without a partner.

    A store with two partners (a fleet change's first config, `network/transition.py`
    `held_over`: its other hub before the change and after) takes the first one's mark and a copy
    to the second (`partner_copies`, `partner_tunnel_copies`: its DC address; a tunnel's copies
    keyed by the tunnel and each of its store's own sources, `HubView.store_sources`), as the store
    has a tunnel to one of them until its own push and to the other from then on. The copy goes out
    whether or not the first is alive (its table's route, the packet itself), unless the packet
    itself reaches the second (`partner_copy_routes`: each address with its copy's hub, which
    this hub's main-table route to the store may lead to) or this hub forwards it itself. Each hub forwards a
    passed packet only into a live tunnel of its own (`return_path`: the dead tunnel's link mark
    cleared, then its route leads back over the DC LAN, where a passed packet never goes): the
    hub the store is paired with now takes it, the other drops it."""
    partners = view.intent.return_partners
    if not partners:
        return {
            "partner_stores": "", "partner_tunnels": "", "partner_hops": "", "partner_mark": "", "partner_mask": "",
            "partner_copies": "", "partner_copy_routes": "", "partner_tunnel_copies": "",
        }  # fmt: skip
    stores: dict[str, str] = {}
    tunnels: dict[str, str] = {}
    store_copies: dict[str, str] = {}
    tunnel_copies: dict[str, str] = {}
    slots = partner_slots(view.intent)
    sources = {f'"{ifname}"': store.sources for store in view.store_sources for ifname in store.ifnames}
    for partner in partners:
        mark, hop = _mark(PARTNER_MARK + slots[partner.hostname]), str(partner.dc_address)
        shared = set(partner.stores)
        for net in partner.destinations:
            _partner_of(view, str(net), mark, hop, stores, store_copies)
        for peer in view.peers:
            if peer.store.store_id in shared:
                _partner_of(view, f'"{peer.ifname}"', mark, hop, tunnels, tunnel_copies)
    return {
        "partner_stores": ", ".join(f"{net} : {mark}" for net, mark in stores.items()),
        "partner_tunnels": ", ".join(f"{ifname} : {mark}" for ifname, mark in tunnels.items()),
        "partner_hops": ", ".join(str(partner.dc_address) for partner in partners),
        "partner_mark": _mark(PARTNER_MARK),
        "partner_mask": _mark(APPLICATION_MARK_MASK),
        "partner_copies": ", ".join(f"{net} : {hop}" for net, hop in store_copies.items()),
        "partner_copy_routes": ", ".join(f"{net} . {hop}" for net, hop in store_copies.items()),
        "partner_tunnel_copies": ", ".join(
            f"{ifname} . {net.cidr} : {hop}" for ifname, hop in tunnel_copies.items() for net in sources[ifname]
        ),
    }


@record
class ForwardAccepts:
    """The forward chain's accepts of what a partner mark rides on (hub-nftables.j2), one list
    for both chains that read them: the forward chain, where they pass the packet, and a fleet
    change's partner-copy chain (`copies`), where they mean the hub forwards the packet itself,
    so no copy goes to the second partner (which would deliver it twice). A flow conntrack holds
    (`established`, before the forward chain's `ct state invalid drop`, which the copy chain
    copies instead), then what opens one (`opened`): HQ's management ranges from the DC LAN into a
    store tunnel, and the stores' own sources towards the corporate ranges (what return_path
    marks for a partner: a store's packets towards HQ only)."""

    established: str
    opened: tuple[str, ...]


def hub_forward_accepts(view: HubView) -> ForwardAccepts:
    """The forward chain's accepts a partner-copy chain skips (`ForwardAccepts`)."""
    return ForwardAccepts(
        established="ct state established,related accept",
        opened=(
            "iifgroup 10 ip saddr @store_sources ip daddr @corporate accept",
            f'iifname "{view.dc.ifname}" ip saddr @hq_management oifname @store_tunnels accept',
        ),
    )


def _partner_of(view: HubView, key: str, mark: str, hop: str, marks: dict[str, str], copies: dict[str, str]) -> None:
    """A shared store's address or tunnel (`key`) to a partner: its mark if it has none, else a
    copy to that partner (`hop`, its DC address). Refused (RenderError) past two: a store has two
    hubs in each fleet, so at most two others in a fleet change."""
    if key not in marks:
        marks[key] = mark
    elif key in copies and copies[key] != hop:
        raise RenderError(f"hub {view.intent.hostname}: {key} has three partner hubs, one store two hubs in a fleet change")
    elif marks[key] != mark:
        copies[key] = hop


def hub_dc_trust_rules(view: HubView) -> list[str]:
    """The hub's QoS trust boundary on its DC core LAN port (`network.model.DcTrust`), as nftables
    rules for a chain on the forward hook: what the hub forwards from the DC port with a
    network-control DSCP leaves with default. Netfilter's forward hook runs after the routing
    decision and before the packet is encrypted into its tunnel (the ESP header copies the inner
    DSCP: swanctl `copy_dscp`) and queued on the uplink's egress (qos.tc), so the classifier sees
    the re-marked DSCP; what the hub originates itself (BGP and BFD to the stores) and what is
    addressed to it (BGP with the DC core) never passes the forward hook. One rule per DSCP, not
    one with an anonymous set (`ip dscp { cs6, cs7 }`): with such a set in the ruleset, nft 1.0.6
    (Debian 12) crashes on a later `nft add rule ... index N` (the lab's own VXLAN rule, an
    operator's). None where the intent has no trust boundary."""
    trust = view.intent.dc_trust
    if trust is None:
        return []
    to = _dscp_keyword(trust.to)
    return [f'iifname "{view.dc.ifname}" ip dscp {_dscp_keyword(name)} ip dscp set {to}' for name in trust.remarked_names]


def _live_links(view: HubView, layout: FrrHubLayout) -> dict[str, int]:
    """The nftables set of store tunnels alive by BFD: as long as the slowest store class's BFD
    takes to call a tunnel down (never under a second: one late BFD packet must not unpin the
    flows of a live tunnel), and room for every store tunnel of the hub twice over."""
    detect_ms = max((profile.detection_ms for profile in layout.bfd_profiles), default=0)
    return {"live_link_timeout_ms": max(detect_ms, 1000), "live_link_capacity": max(1024, 2 * len(view.peers))}


def tunnel_end_sets(ends: Iterable[tuple[str, str, str, bool]]) -> dict[str, str]:
    """The host firewall's sets of tunnel ends (`frr/_tunnel_ends.j2`, nftables
    `ifname . ipv4_addr . ipv4_addr` elements) from (tunnel interface, far end's inside address,
    this end's, whether the far end runs BFD): every tunnel, and those with BFD."""
    ends = list(ends)
    return {
        "tunnel_ends": ", ".join(f'"{ifname}" . {far} . {near}' for ifname, far, near, _ in ends),
        "bfd_ends": ", ".join(f'"{ifname}" . {far} . {near}' for ifname, far, near, bfd in ends if bfd),
    }


def _hub_tunnel_ends(view: HubView) -> dict[str, str]:
    """A hub's tunnel ends: the store tunnels from the intent's `store_forwarding.control`, and
    the cloud VPNs (no BFD)."""
    ifnames = {peer.id: peer.ifname for peer in view.peers}
    stores = [(ifnames[c.tunnel], str(c.store_inside), str(c.hub_inside), c.bfd) for c in view.intent.store_forwarding.control]
    clouds = [(ifname, far, near, False) for ifname, far, near in _cloud_tunnel_ends(view)]
    return tunnel_end_sets([*stores, *clouds])


def _cloud_tunnel_ends(view: HubView) -> list[tuple[str, str, str]]:
    """Each cloud VPN's (interface, far end's inside address, the hub's): the AWS VGW or TGW, the
    OpenStack gateway, at the other address of the tunnel's inside subnet."""
    return [
        (t.ifname, t.inside_peer, t.inside.ip)
        for t in view.cloud_tunnels
        if t.inside is not None and t.inside_peer is not None
    ]


def hub_cloud_far_ends(view: HubView) -> str:
    """The elements of the hub's `cloud_far_ends` set (`ifname . ipv4_addr`): each cloud VPN with
    its far end's inside address, the source of the ICMP errors the cloud's gateway sends about
    the flows the hub forwards into it (fragmentation needed, time exceeded), which come from
    outside the site's ranges (`cloud_site_sources`)."""
    return ", ".join(f'"{ifname}" . {far}' for ifname, far, _ in _cloud_tunnel_ends(view))


def _store_tunnel_ends(view: StoreApplianceView) -> dict[str, str]:
    """A store's tunnel ends: to the hubs (BFD where the hub runs it, `peer_bfd`) and to AWS."""
    hubs = [(t.ifname, t.inside_peer, t.inside.ip, t.peer_bfd) for t in view.tunnels]
    aws = [(t.ifname, t.inside_peer, t.inside.ip, False) for t in view.aws_tunnels]
    return tunnel_end_sets([*hubs, *aws])


def hub_host_context(view: HubView, layout: FrrHubLayout) -> dict[str, Any]:
    """What the FRR hub host templates (swanctl, strongswan, routing, nftables, chrony) see."""
    return {
        "view": view,
        "connections": hub_connections(view),
        "ipsec": IPSEC,
        "rules": [*hub_management_rules(view), *hub_return_rules(view)],
        "management_routing": hub_management_routing(view),
        # The management port (`HubView.management_port`): SSH there from the management ranges,
        # at the management address only; nothing forwarded in or out of it
        "management_port": view.management_port,
        # store link tunnel -> the return mark of its link position (nftables map elements)
        "return_marks": ", ".join(f'"{peer.ifname}" : {return_mark(peer.link_index)}' for peer in view.peers),
        "return_mask": _mark(APPLICATION_MARK_MASK),
        "return_base": _mark(RETURN_MARK_BASE),
        **_live_links(view, layout),
        **hub_partner_context(view),
        "ntp": ntp_client(view.mgmt, view.loopback.ip),
        "syslog": syslog_forwarding(view.mgmt, view.loopback.ip),
        "snmp": snmp_agent(view.mgmt, view.loopback.ip),
        "wan_queues": hub_wan_queues(view),
        "control_classid": f"1:{CONTROL_MINOR:x}",
        "dc_trust_rules": hub_dc_trust_rules(view),
        "role_text": "hub",
        # No ICMP redirects from the DC port (host-sysctl.j2): the hub sends the DC's packets of a
        # flow its partner saw back out of it (`hub_partner_context`)
        "no_redirect_ports": [view.dc.ifname],
        "icmp_per_source_pps": HUB_ICMP_PER_SOURCE_PPS,
        **_hub_tunnel_ends(view),
        "mgmt_ranges": ", ".join(net.cidr for net in view.mgmt.ranges),
        "firewall_fallback": firewall_fallback((net.cidr for net in view.mgmt.ranges), tunnels=False),
        # Where the DC port takes SSH from them (`HubView.dc_management_hosts`, as on a VRP hub): the
        # loopback (the management address is on the management port)
        "management_addresses": ", ".join(host.address for host in view.dc_management_hosts),
        # The cloud VPNs and what they may forward (`HubView.cloud_sources`, `cloud_destinations`)
        "cloud_tunnels": ", ".join(f'"{t.ifname}"' for t in view.cloud_tunnels),
        "cloud_sources": ", ".join(net.cidr for net in view.cloud_sources),
        "cloud_site_sources": hub_cloud_site_sources(view),
        "cloud_far_ends": hub_cloud_far_ends(view),
        "cloud_icmp_errors": _nft_set(get_platform(view.platform).icmp_errors),
        # Each store's tunnels with its own sources (`HubView.store_sources`)
        "store_tunnels": ", ".join(f'"{ifname}"' for store in view.store_sources for ifname in store.ifnames),
        "store_tunnel_sources": hub_store_tunnel_sources(view),
        "cloud_destinations": ", ".join(net.cidr for net in view.cloud_destinations),
        "cloud_hq": ", ".join(net.cidr for net in view.cloud_hq),
        "cloud_answers": hub_cloud_answers(view),
        "cloud_opens": hub_cloud_opens(view),
        # What the store tunnels reach through the hub (`HubIntent.store_forwarding`)
        "corporate": ", ".join(str(net) for net in view.intent.store_forwarding.corporate),
        "store_sources": ", ".join(str(net) for net in view.intent.store_forwarding.sources),
        "internet_sources": ", ".join(str(net) for net in view.intent.store_forwarding.internet_sources),
        "hub_owned": ", ".join(str(address) for address in view.intent.store_forwarding.hub_owned),
        "private": ", ".join(str(net) for net in view.intent.store_forwarding.private),
        "ignore_ifs": [],  # local_addrs pins the hub's public address on every connection
        "forward_accepts": hub_forward_accepts(view),
        # Each tunnel end's address with its known far ends (`HubIntent.ike_endpoints`)
        "ike_peers": ", ".join(
            f"{endpoint.address} . {peer}" for endpoint in view.intent.ike_endpoints for peer in endpoint.peers
        ),
    }


def hub_cloud_site_sources(view: HubView) -> str:
    """The elements of the hub's `cloud_site_sources` set (`ifname . ipv4_addr`): each cloud
    tunnel with each of its own site's ranges (`CloudForwarding.sites`), the only sources that
    tunnel brings in; a packet from another site's range on it is spoofed."""
    forwarding = view.intent.cloud_forwarding
    ifnames = {t.id: t.ifname for t in view.cloud_tunnels}
    return ", ".join(
        f'"{ifnames[tunnel]}" . {net}'
        for site in (forwarding.sites if forwarding else ())
        for tunnel in site.tunnels
        if tunnel in ifnames
        for net in site.sources
    )


def hub_store_tunnel_sources(view: HubView) -> str:
    """The elements of the hub's `store_tunnel_sources` set (`ifname . ipv4_addr`): each store
    tunnel with each of its own store's sources (`HubView.store_sources`), the only sources that
    tunnel brings through the hub; another store's address on it is spoofed, and the hub would
    answer it on that tunnel (the return path's connection marks)."""
    return ", ".join(
        f'"{ifname}" . {net.cidr}' for store in view.store_sources for ifname in store.ifnames for net in store.sources
    )


def hub_cloud_answers(view: HubView) -> list[str]:
    """The nftables rules that pass the clouds' answers to the flows the stores' segments open
    towards a cloud prefix (`CloudForwarding.replies`), statelessly, from the rules IOS-XE's and
    VRP's FROM-CLOUD-<site> print (`cloud_rules`, with nft's ICMP names): a TCP segment with ACK or RST
    set (what IOS calls `established`: never a SYN alone), from the flow's port where it has one;
    UDP to the office hosts' ephemeral ports; echo replies and ICMP errors. Both hubs announce the
    stores' aggregate to the clouds, so a cloud may answer through the hub that saw none of the
    store's packets: conntrack there has no entry, and takes a mid-stream ACK as `new`, a SYN-ACK,
    RST, echo reply or ICMP error as `invalid` (the template puts these rules before that drop).
    One rule per cloud prefix and match, its office segments in one set."""
    forwarding = view.intent.cloud_forwarding
    if forwarding is None:
        return []
    rules = cloud_rules(forwarding.replies, get_platform(view.platform).icmp_errors)
    icmp_types: dict[tuple[str, str], list[str]] = {}
    for rule in rules:
        if rule.protocol == "icmp" and rule.icmp_type:
            icmp_types.setdefault((_nft_address(rule.source), _nft_address(rule.destination)), []).append(rule.icmp_type)
    destinations: dict[tuple[str, str], list[str]] = {}
    for rule in rules:
        source, destination = _nft_address(rule.source), _nft_address(rule.destination)
        if rule.protocol == "icmp":
            match = f"icmp type {_nft_set(icmp_types[source, destination])}"
        else:
            match = _nft_transport(rule)
        found = destinations.setdefault((source, match), [])
        if destination not in found:
            found.append(destination)
    return [
        f"iifname @cloud_tunnels ip saddr {source} ip daddr {_nft_set(found)} {match} accept"
        for (source, match), found in destinations.items()
    ]


def _nft_address(net: Net | None) -> str:
    if net is None:
        raise ValueError("a cloud answer rule names its source and destination prefixes")
    return net.cidr


def _nft_set(items: Sequence[str]) -> str:
    """One value as it is, several as an anonymous set: `{ a, b }`."""
    return items[0] if len(items) == 1 else f"{{ {', '.join(items)} }}"


def _nft_transport(rule: AclRule) -> str:
    """A TCP or UDP `AclRule`'s ports (and `established`: ACK or RST set) as nftables matches."""
    if rule.protocol not in ("tcp", "udp"):
        raise ValueError(f"no nftables match for a {rule.protocol} rule towards a store")
    parts = []
    if rule.source_port:
        parts.append(f"{rule.protocol} sport {rule.source_port}")
    if rule.port:
        parts.append(f"{rule.protocol} dport {rule.port}" + (f"-{rule.port_end}" if rule.port_end else ""))
    if rule.established and rule.protocol == "tcp":
        parts.append("tcp flags & (ack | rst) != 0")
    return " ".join(parts) or f"meta l4proto {rule.protocol}"


def hub_cloud_opens(view: HubView) -> list[str]:
    """The nftables rules of the flows a cloud source may open towards a store
    (`CloudForwarding.opens`, none in the sample chain): its protocol and ports from the cloud's
    prefixes to the store's. The answers to the stores' own flows pass as the forward chain's
    established connections, or statelessly (`hub_cloud_answers`); nothing else a cloud sends
    reaches a store."""
    forwarding = view.intent.cloud_forwarding
    rules = []
    for flow in forwarding.opens if forwarding else ():
        match = f"ip saddr {{ {', '.join(map(str, flow.clouds))} }} ip daddr {{ {', '.join(map(str, flow.stores))} }}"
        if flow.protocol in ("tcp", "udp"):
            ports = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in flow.ports)
            match += f" {flow.protocol} dport {{ {ports} }}" if ports else f" meta l4proto {flow.protocol}"
        elif flow.protocol == "icmp":
            match += " meta l4proto icmp"
        rules.append(f"iifname @cloud_tunnels {match} accept")
    return rules


def store_connections(view: StoreApplianceView) -> list[IpsecConnection]:
    """The store's tunnels as swanctl connections: every link to both hubs, then AWS."""
    links = {link.name: link for link in view.wan}
    connections = [_store_hub_connection(tunnel, links[tunnel.link]) for tunnel in view.tunnels]
    connections += [_store_aws_connection(tunnel, links[tunnel.link]) for tunnel in view.aws_tunnels]
    return connections


def _store_hub_connection(tunnel: TunnelView, link: WanLinkView) -> IpsecConnection:
    return IpsecConnection(
        name=tunnel.id,
        ifname=tunnel.ifname,
        if_id=tunnel.number,
        local_addrs=tunnel.local_outside,
        transport=link.ifname,
        remote_addrs=tunnel.peer_outside,
        local_id=tunnel.ike_id,
        remote_id=tunnel.peer_ike_id,
        initiator=True,
        local_ts="0.0.0.0/0",
        remote_ts="0.0.0.0/0",
        psk=tunnel.psk,
        mtu=tunnel.mtu,
    )


def _store_aws_connection(tunnel: AwsTunnelView, link: WanLinkView) -> IpsecConnection:
    return IpsecConnection(
        name=tunnel.id,
        ifname=tunnel.ifname,
        if_id=tunnel.number,
        local_addrs=tunnel.local_outside,
        transport=link.ifname,
        remote_addrs=tunnel.peer_outside,
        # AWS identifies both ends by their outside addresses.
        local_id=tunnel.local_outside or link.ifname,
        remote_id=tunnel.peer_outside,
        initiator=True,
        local_ts="0.0.0.0/0",
        remote_ts="0.0.0.0/0",
        psk=tunnel.psk,
        mtu=tunnel.mtu,
    )


def hub_connections(view: HubView) -> list[IpsecConnection]:
    connections = [
        IpsecConnection(
            name=peer.id,
            ifname=peer.ifname,
            if_id=peer.number,
            local_addrs=view.public_address,
            transport="wan",
            remote_addrs=peer.peer_outside or "%any",
            local_id=peer.local_ike_id,
            remote_id=peer.ike_id,
            initiator=False,  # stores initiate; a store behind a carrier NAT can only be answered
            local_ts="0.0.0.0/0",
            remote_ts="0.0.0.0/0",
            psk=peer.psk,
            mtu=peer.mtu,
        )
        for peer in view.peers
    ]
    connections += [_cloud_connection(view, tunnel) for tunnel in view.cloud_tunnels]
    return connections


def _cloud_connection(view: HubView, tunnel: CloudTunnelView) -> IpsecConnection:
    return IpsecConnection(
        name=tunnel.id,
        ifname=tunnel.ifname,
        if_id=tunnel.number,
        local_addrs=tunnel.local_outside,
        transport="wan",
        remote_addrs=tunnel.peer_outside,
        local_id=tunnel.local_outside,
        remote_id=tunnel.peer_outside,
        initiator=True,
        local_ts=",".join(net.cidr for net in tunnel.local_selectors),
        remote_ts=",".join(net.cidr for net in tunnel.peer_selectors),
        psk=tunnel.psk,
        mtu=tunnel.mtu,
    )


def _ip_key(address: str) -> int:
    """An address as the views spell it (a dotted quad without leading zeros) as its number."""
    return int.from_bytes(socket.inet_aton(address), "big")


def _in_frr_order(interfaces: list[FrrInterface]) -> list[FrrInterface]:
    by_name: dict[str, list[FrrInterface]] = {}
    for interface in interfaces:
        by_name.setdefault(interface.name, []).append(interface)
    return [interface for name in sort_frr_interfaces(list(by_name)) for interface in by_name[name]]


def _prefix_parts(prefix: str) -> tuple[int, int]:
    """(address, length) of a network written `a.b.c.d/len`, as the views spell them."""
    address, _, length = prefix.partition("/")
    return _ip_key(address), int(length)


def _static_route_key(prefix: str) -> tuple[int, int]:
    """staticd lists its routes by prefix length first, then by address."""
    address, length = _prefix_parts(prefix)
    return length, address


def _table_key(prefix: str) -> tuple[int, int]:
    """bgpd's `network` statements come out of a prefix trie: address, then prefix length."""
    return _prefix_parts(prefix)


def _table_of(rest: str) -> int:
    """The kernel table of a route's `... table N` (0: the main table): staticd lists a prefix's
    routes table by table."""
    head, _, table = rest.rpartition(" table ")
    return int(table) if head else 0


def _distance_of(rest: str) -> int:
    """A route's administrative distance (1 unless given): staticd lists a prefix's paths by it."""
    words = rest.split(" table ")[0].split()
    return int(words[-1]) if len(words) > 1 and words[-1].isdigit() else 1


# staticd's order of a route: prefix length, address, table, distance, then the rest's text.
RouteKey = tuple[int, int, int, int, str]


def _route_key(prefix: str, rest: str) -> RouteKey:
    return (*_static_route_key(prefix), _table_of(rest), _distance_of(rest), rest)


def _in_staticd_order(routes: list[tuple[RouteKey, str]]) -> list[str]:
    """(sort key, `ip route` line) pairs: the lines in staticd's order."""
    routes.sort(key=lambda route: route[0])
    return [line for _, line in routes]


def _sorted_routes(routes: list[tuple[str, str]]) -> list[str]:
    """(prefix, rest) pairs as `ip route` lines, in staticd's order."""
    return _in_staticd_order([(_route_key(prefix, rest), f"ip route {prefix} {rest}") for prefix, rest in routes])


# The distance of a transport table's last resort (`transport_table_routes`): below every path
# that can carry the transport's packets, a lease's kernel route (distance 0) included.
TRANSPORT_UNREACHABLE_DISTANCE = 254


def transport_table_routes(view: StoreApplianceView) -> list[tuple[str, str]]:
    """What a transport's own table holds besides its pinned far ends, as staticd (prefix, rest).

    Everything sourced from a transport's address (its tunnels' IKE/ESP, the replies to echo
    requests from the internet the store answers, `ManagementAccess.icmp_requests_pps`, ICMP errors
    about packets that came in on it) looks up that table only (`store_policy_rules`), and leaves by
    that transport or not at all:
    - its subnet on the link and a default via its gateway, for a static link (a carrier-assigned
      one's lease hook routes the table's default itself): on-link neighbours stay on-link, and a
      reply goes back the way its request came, never into the overlay's default;
    - an `unreachable` default below them: when the link loses carrier zebra withdraws its routes,
      and without it the transport's packets would fall through to the main table and ride BGP's
      default through a surviving tunnel (ESP in ESP, which the hub drops, and DPD and the SLA
      probes would measure the wrong path). The breakout link's default is also guest Wi-Fi's."""
    routes: list[tuple[str, str]] = []
    for link in view.wan:
        if link.gateway and link.address is not None:
            if link.address.prefixlen < 32:
                routes.append((link.address.network.cidr, f"{link.ifname} table {link.table}"))
            routes.append(("0.0.0.0/0", f"{link.gateway} {link.ifname} table {link.table}"))
        routes.append(("0.0.0.0/0", f"reject {TRANSPORT_UNREACHABLE_DISTANCE} table {link.table}"))
    return routes


def store_layout(view: StoreApplianceView) -> FrrStoreLayout:
    routes: list[tuple[str, str]] = []
    # Anchor routes: the store's segments stay in BGP even while a LAN port is down (or absent,
    # as in the lab); a live connected route always wins over distance 254.
    routes.extend((segment.net.cidr, "blackhole 254") for segment in view.segments if segment.advertised)
    links = {link.name: link for link in view.wan}
    # The underlay: each far end pinned in its own transport's table (policy-routed by source).
    far_ends = [(t.peer_outside, links[t.link]) for t in view.tunnels]
    far_ends += [(t.peer_outside, links[t.link]) for t in view.aws_tunnels]
    # A carrier-assigned link (DHCP, modem) has no gateway storestack knows, and staticd cannot
    # follow a lease's router: an interface-only route would make the kernel resolve the far end
    # on the link itself (ARP), which a hub beyond the ISP's router never answers. Its lease hook
    # routes the link's table instead (`default via <router> dev <link> table <table>`).
    for address, link in far_ends:
        if link.gateway:
            routes.append((f"{address}/32", f"{link.gateway} {link.ifname} table {link.table}"))
    routes.extend(transport_table_routes(view))

    interfaces = [FrrInterface(view.lan_trunk, "LAN trunk", [])]
    interfaces += [FrrInterface(seg.ifname, seg.description, [seg.gateway.cidr]) for seg in view.segments]
    interfaces.append(FrrInterface(view.loopback_ifname, "router id and management", [view.loopback.cidr]))
    for link in view.wan:
        addresses = [link.address.cidr] if link.address is not None else []
        interfaces.append(FrrInterface(link.ifname, link.description, addresses, link.bandwidth_mbps))
    for tunnel in view.tunnels:
        interfaces.append(
            FrrInterface(
                tunnel.ifname,
                f"ipsec {tunnel.id} to {tunnel.hub.hostname} over {tunnel.link} {tunnel.role}",
                [tunnel.inside.cidr],
            )
        )
    for aws in view.aws_tunnels:
        interfaces.append(FrrInterface(aws.ifname, f"ipsec {aws.id} aws vpn over {aws.link}", [aws.inside.cidr]))
    interfaces = _in_frr_order(interfaces)

    # Each tunnel's BFD runs the strictest SLA class of its transport (one session per peer,
    # `views.tunnel_bfd`); none towards a hub that runs no BFD on its store links
    # (`HUB_NO_STORE_BFD`).
    bfd = {tunnel.id: tunnel.bfd for tunnel in view.tunnels if tunnel.peer_bfd}
    neighbors = [
        FrrNeighbor(
            tunnel.inside_peer,
            tunnel.hub.asn,
            f"{tunnel.hub.hostname} via {tunnel.link} {tunnel.role}",
            bfd.get(tunnel.id),
            f"HUB-IN-{tunnel.ifname}",
            f"HUB-OUT-{tunnel.ifname}",
            view.hub_timers,
            view.hub_prefix_limit,
        )
        for tunnel in view.tunnels
    ]
    neighbors += [
        FrrNeighbor(
            tunnel.inside_peer,
            tunnel.asn,
            f"aws {tunnel.name}",
            None,
            f"AWS-IN-{tunnel.link}",
            f"AWS-OUT-{tunnel.link}",
            view.aws_timers,
            view.aws_prefix_limit,
        )
        for tunnel in view.aws_tunnels
    ]
    neighbors.sort(key=lambda neighbor: _ip_key(neighbor.address))
    bfd_peers = sorted(
        (FrrBfdPeer(t.inside_peer, t.inside.ip, t.ifname, bfd[t.id].name) for t in view.tunnels if t.id in bfd),
        key=lambda peer: _ip_key(peer.address),
    )
    return FrrStoreLayout(
        static_routes=_sorted_routes(routes),
        interfaces=interfaces,
        networks=sorted((prefix.cidr for prefix in view.advertised), key=_table_key),
        neighbors=neighbors,
        bfd_peers=bfd_peers,
        bfd_profiles=sorted(set(bfd.values()), key=lambda profile: profile.name),
        aws_links=view.aws_links,
    )


def store_firewall(view: StoreApplianceView) -> list[FirewallFlow]:
    """The intent's allowed flows, per segment interface (nftables spells the rest as deny)."""
    ifnames = {segment.kind: segment.ifname for segment in view.segments}
    return [
        FirewallFlow(
            ifname=ifnames[flow.source],
            zone=flow.source,
            daddr=_destinations(flow.service),
            l4=_ports(flow.service),
            internet=flow.service.internet,
            why=f"{flow.service.name}: {flow.why}",
        )
        for flow in view.intent.flows
        if flow.source in ifnames
    ]


@functools.lru_cache(maxsize=1024)
def _destinations(service: Service) -> str:
    """A service's prefixes as an nftables set's elements: the fleet's few services, spelled once."""
    return ", ".join(str(net) for net in service.prefixes)


# The host firewall's per-store rules (host-nftables.j2 keeps the ruleset's fixed skeleton and
# says what each chain is for): spelled here, each line indented into its chain.
_NFT_RULE = " " * 8


def nft_segment_gateways(segments: Sequence[SegmentView]) -> list[str]:
    """Input, first: a segment's hosts reach the router at their own gateway only (and by DHCP's
    broadcast), as the intent says ("The router itself": DHCP, DNS and pings to the segment's
    own gateway; from guest Wi-Fi DHCP and pings to it). The echo and service rules below take
    any of the router's addresses, so without this a guest would ping the loopback, the tills'
    gateway or the WAN address, and a segment's DNS would reach the resolver at the loopback."""
    return [
        f'{_NFT_RULE}iifname "{segment.ifname}" ip daddr != {{ {segment.gateway.ip}, 255.255.255.255 }} drop'
        for segment in segments
    ]


def nft_segment_services(segments: Sequence[SegmentView]) -> list[str]:
    """Input: DHCP for each segment and DNS at its gateway; guest Wi-Fi DHCP only (its clients
    resolve through the public resolvers its DHCP hands out)."""
    lines: list[str] = []
    for segment in segments:
        iif = f'{_NFT_RULE}iifname "{segment.ifname}"'
        if segment.kind == "guest-wifi":
            lines.append(f"{iif} udp dport 67 accept")
        else:
            lines += [f"{iif} udp dport {{ 53, 67 }} accept", f"{iif} tcp dport 53 accept"]
    return lines


def nft_segment_sources(view: StoreApplianceView) -> list[str]:
    """Forward, first: nothing from a segment but from its own prefix, before conntrack's
    established flows (a packet whose addresses and ports are another segment's connection would
    otherwise ride it).

    The intent's flows are each zone's (`Flow.source`, from the zone's `prefixes`), as IOS-XE's
    and VRP's ACLs and FortiOS's policies (`srcaddr`) say with the segment's prefix; the forward
    rules below match a segment by its incoming interface, which alone takes any source address
    a host sends: a guest's spoofed public source would leave the breakout un-NATed (the
    masquerade takes the guest prefix only), an office or POS host would reach HQ and the clouds
    as another segment, or as another store. Linux's reverse-path filter is loose here
    (rp_filter 2, host-sysctl.j2), which would pass them all over the default route."""
    return [
        f"{_NFT_RULE}# Each segment sends from its own prefix only, established flows included",
        *(f'{_NFT_RULE}iifname "{segment.ifname}" ip saddr != {segment.net.cidr} drop' for segment in view.segments),
    ]


def nft_forward_rules(view: StoreApplianceView, flows: Sequence[FirewallFlow]) -> list[str]:
    """Forward: guest Wi-Fi to its breakout only; a zone that may not ride LTE/5G kept off the
    cellular tunnels; then the intent's allowed flows into the overlay."""
    lines: list[str] = []
    guest, breakout = view.guest, view.breakout
    if guest is not None:
        through = breakout.ifname if breakout is not None else "no wired link (none)"
        iif = f'{_NFT_RULE}iifname "{guest.ifname}"'
        lines += [
            f"{_NFT_RULE}# Guest Wi-Fi: the internet through {through} only, never a private range or a tunnel",
            f"{iif} ip daddr @private drop",
            f"{iif} oifgroup 10 drop",
        ]
        if breakout is not None:
            lines.append(f'{iif} oifname "{breakout.ifname}" accept')
        lines.append(f"{iif} drop")
    cellular_tunnels = [tunnel.ifname for link in view.cellular_links for tunnel in link.tunnels]
    for segment in view.segments:
        if not segment.overlay:
            continue
        zone = view.intent.zone(segment.kind)
        if zone is None:
            raise ValueError(f"store {view.store_id}: segment {segment.kind} has no zone in the intent")
        if zone.over_cellular:
            continue
        lines += [f'{_NFT_RULE}iifname "{segment.ifname}" oifname "{ifname}" drop' for ifname in cellular_tunnels]
    for flow in flows:
        if flow.zone == "guest-wifi":
            continue
        daddr = "!= @private" if flow.internet else f"{{ {flow.daddr} }}"
        l4 = f"{flow.l4} " if flow.l4 else ""
        lines.append(f'{_NFT_RULE}iifname "{flow.ifname}" oifgroup 10 ip daddr {daddr} {l4}accept')
    return lines


def nft_segment_marking(segments: Sequence[SegmentView]) -> list[str]:
    """Each segment's packets re-marked to its class at the trust boundary."""
    return [
        f'{_NFT_RULE}iifname "{segment.ifname}" ip dscp set {segment.qos.dscp_name if segment.qos.dscp else "cs0"}'
        for segment in segments
    ]


def nft_sla_marks(marks: Sequence[SlaMarkRule]) -> list[str]:
    """The application classes: a mark and the class's DSCP, first match wins."""
    return [
        f'{_NFT_RULE}iifname "{rule.ifname}" {rule.l4 + " " if rule.l4 else ""}meta mark set {rule.mark} '
        f'ip dscp set {rule.dscp_name} accept comment "{rule.application}"'
        for rule in marks
    ]


def nft_sla_paths(sla: SlaHost) -> list[str]:
    """Applications refused on LTE/5G, then a counter per (application, path)."""
    lines: list[str] = []
    for mark, application, ifnames in sla.never_cellular:
        lines += [
            f"{_NFT_RULE}# {application} never leaves over LTE/5G, not even established flows",
            f'{_NFT_RULE}meta mark {mark} oifname {{ "{ifnames}" }} counter drop comment "{application} refused on cellular"',
        ]
    lines.append(f"{_NFT_RULE}# Which path each class leaves on, counted (`storestack lab path` reads these)")
    lines += [
        f'{_NFT_RULE}meta mark {counter.mark} oifname "{counter.ifname}" counter comment "{counter.comment}"'
        for counter in sla.counters
    ]
    return lines


def nft_cctv_shaping(view: StoreApplianceView) -> list[str]:
    """A shaped class (CCTV) held to its share of each wired link's shaped rate in every tunnel.

    In bytes per second: nft's `kbytes` are 1024 bytes, where the intent's kbit/s (and tc's) are
    1000 bits, so `<kbit/s / 8> kbytes/second` let 2.4 % more through than the class's share."""
    lines: list[str] = []
    for segment in view.segments:
        percent = segment.qos.shape_percent
        if percent is None:
            continue
        for link in view.wired_links:
            rate = link.shaped_kbps(percent) * 1000 // 8
            lines += [
                f'{_NFT_RULE}iifname "{segment.ifname}" oifname "{tunnel.ifname}" limit rate over {rate} bytes/second drop'
                for tunnel in link.tunnels
            ]
    return lines


def store_policy_rules(view: StoreApplianceView, steering: SteeringPlan) -> list[PolicyRule]:
    """Source-based policy routing: each transport's own packets use its own table; guest Wi-Fi
    uses only the breakout link's table and is refused (not routed) when that table is empty.

    SLA steering: the store's own segments and prefixes (and, with AWS tunnels, the cloud
    summary they teach) stay in the main table; then each overlay class's marked packets look up
    the class's own table, where storestack-steer keeps the one path the class uses now (empty:
    fall through to main, BGP's best path); `steering` is the store's (`store_steering`)."""
    rules = [
        PolicyRule(f"from {link.address.ip} lookup {link.table} pref {1000 + link.port}")
        for link in view.wan
        if link.address is not None
    ]
    if view.guest is not None:
        # The guest segment itself stays on-link: the store's own answers to a guest (the echo
        # reply to a ping of its gateway) leave from the gateway's address, inside the guest
        # prefix, and the breakout table would send them out of the WAN to the carrier.
        rules.append(PolicyRule(f"to {view.guest.net.cidr} lookup main pref 1099"))
        if view.breakout is not None:
            rules.append(PolicyRule(f"from {view.guest.net.cidr} lookup {view.breakout.table} pref 1100"))
        rules.append(PolicyRule(f"from {view.guest.net.cidr} unreachable pref 1101"))
    steered = steering.classes
    if steered:
        # What steering never takes (every segment, guest Wi-Fi too, the loopback, and the
        # cloud with AWS tunnels) and the announced prefixes.
        local = [net.cidr for net in view.unsteered]
        local += [net.cidr for net in view.advertised if net.cidr not in local]
        rules += [PolicyRule(f"to {cidr} lookup main pref {STEERING_LOCAL_PREF}") for cidr in local]
        rules += [
            PolicyRule(f"fwmark {c.mark} lookup {c.table} pref {STEERING_RULE_PREF + c.table - STEERING_TABLE_BASE}")
            for c in steered
        ]
    return rules


# `ip rule` preferences of SLA steering: after the transports' own (1000+) and guest Wi-Fi's (1100).
STEERING_LOCAL_PREF = 1200
STEERING_RULE_PREF = 1300
# After a hub's return marks' rules (one per store link position, 1300 + position).
PARTNER_RULE_PREF = 1390
# A hub's management address (`hub_management_rules`): its table, then unreachable, before every
# other rendered rule (a transport's own, 1000+) and after the lab's VXLAN rule (900).
MANAGEMENT_RULE_PREF = 950


@record
class SteeringPath:
    ifname: str
    peer: str  # the hub's inside address: BFD peer and next hop
    transport: str  # the WAN link it rides: a brownout there is every such tunnel's
    hub: str  # the hub it reaches: an outage there is every such tunnel's, not their links'
    bfd: bool  # False: the hub runs no BFD with stores; the path is judged by its BGP session
    # How long it takes to go down once the hub stops answering: its BFD profile's detection time
    # (the one bfdd runs on it), or without BFD its BGP hold time (storestack-steer's
    # `hub_outage_spread`: how far apart one hub's outage spreads its tunnels' drops).
    detect_ms: int

    @property
    def line(self) -> str:
        line = f"path {self.ifname} {self.peer} over {self.transport} hub {self.hub} detect-ms {self.detect_ms}"
        return line + ("" if self.bfd else " bgp-only")


@record
class SteeringClass:
    """One overlay application class as storestack-steer follows it (`<host>.steering.conf`)."""

    application: str
    mark: str  # 0x-spelled, as nftables sets it
    table: int
    hold_down_seconds: int
    detection_seconds: int
    recovery_seconds: int
    paths: list[str]  # tunnel interfaces, preferred first
    # What its traffic goes to through the hubs (`StoreIntent.destinations`): the class goes
    # only through the hub of the store's best route to them (storestack-steer).
    destinations: list[str]

    @property
    def line(self) -> str:
        to = f" to {' '.join(self.destinations)}" if self.destinations else ""
        return (
            f"class {self.application} {self.mark} {self.table} hold-down {self.hold_down_seconds}"
            f" detection {self.detection_seconds} recovery {self.recovery_seconds} via {' '.join(self.paths)}{to}"
        )


@record
class SteeringPlan:
    poll_ms: int
    paths: list[SteeringPath]
    classes: list[SteeringClass]


def steering_lines(plan: SteeringPlan) -> list[str]:
    """`{{ steering | frr_steering_lines | lines -}}`: the plan's `path` lines, then its `class`
    lines (a property read in the template takes the sandbox's slow path, one per line)."""
    return [path.line for path in plan.paths] + [steered.line for steered in plan.classes]


# How often storestack-steer asks bfdd: at least this often, or each class's probe interval.
STEERING_POLL_MS = 500
STEERING_MIN_POLL_MS = 100


def store_steering(view: StoreApplianceView) -> SteeringPlan:
    """The store's overlay application classes, each with its paths in the intent's order
    (`ApplicationPolicy.paths`: transports by preference, primary hub first; LTE/5G only where
    the class allows it): what storestack-steer (devices/frr_steer.py) keeps in the class tables."""
    tunnels = {(tunnel.link, tunnel.hub.hostname): tunnel for tunnel in view.tunnels}
    classes = []
    for application in view.intent.sla.applications:
        paths = [tunnels[(path.transport, path.hub)] for path in application.paths if path.hub is not None]
        if not application.overlay or not paths:
            continue
        timers = application.sla.timers
        classes.append(
            SteeringClass(
                application.name,
                _mark(application.mark),
                application.table,
                timers.hold_down_seconds,
                timers.detection_seconds,
                timers.recovery_seconds,
                [tunnel.ifname for tunnel in paths],
                [str(prefix) for prefix in view.intent.destinations(application)],
            )
        )
    used = {ifname for steered in classes for ifname in steered.paths}
    intervals = [a.sla.timers.probe_interval_ms for a in view.intent.sla.applications if a.overlay]
    poll_ms = max(STEERING_MIN_POLL_MS, min([STEERING_POLL_MS, *intervals]))
    return SteeringPlan(
        poll_ms,
        [
            SteeringPath(
                tunnel.ifname,
                tunnel.inside_peer,
                tunnel.link,
                tunnel.hub.hostname,
                tunnel.peer_bfd,
                tunnel.bfd.detection_ms if tunnel.peer_bfd else view.hub_timers.hold * 1000,
            )
            for tunnel in view.tunnels
            if tunnel.ifname in used
        ],
        classes,
    )


@record
class FrrHubNeighbor:
    address: str
    asn: int
    description: str
    group: str | None  # STORES-<BFD profile> for store links
    update_source: str | None
    next_hop_self: bool
    route_map_in: str | None
    route_map_out: str | None
    # `advertise-map A exist-map C`: routes matching A go out only while C matches a route.
    conditional: tuple[str, str] | None = None
    prefix_limit: PrefixLimit | None = None  # a store link's is its peer group's
    timers: BgpTimers | None = None  # keepalive and hold time (`BgpSession.timers`); a store link's are its peer group's
    # The bfdd profile BGP tracks it with, where its session's class runs BFD of its own
    # (`BgpSession.bfd_timers`: the other hubs); a store link's BFD is its peer group's.
    bfd: str | None = None


@record
class FrrStoreGroup:
    """A peer-group of store links sharing one BFD profile."""

    name: str
    bfd: BfdProfile
    timers: BgpTimers  # every store link's keepalive and hold time (`BgpSession.timers`)
    prefix_limit: PrefixLimit | None = None  # what the hub takes from each store link

    @property
    def maximum_prefix(self) -> str | None:
        """The group's `maximum-prefix` arguments (`maximum_prefix`); None without a limit."""
        return maximum_prefix(self.prefix_limit) if self.prefix_limit is not None else None


@record
class FrrHubLayout:
    static_routes: list[str]
    interfaces: list[FrrInterface]
    networks: list[str]
    neighbors: list[FrrHubNeighbor]  # in bgpd's order: grouped (by group, address), then the rest
    store_groups: list[FrrStoreGroup]  # by name
    to_stores: list[Net]  # summaries and every hub's loopback
    cloud_in: list[CloudFilter]  # what each cloud site's VPNs may teach (its own ranges, le 24)
    cloud_out: list[Net]  # what the hub announces to the clouds (HQ and the store aggregate)
    aggregates: list[str]
    hubs: list[Net]  # what the other hubs may teach and are taught (le 32): never HQ's routes
    dc_in: list[Net]  # what the DC core may teach (le 32), besides the default route
    dc_out: list[Net]  # what the hub announces to the DC core (le 32)
    # The beacon (`HubBeacon`) and the summaries whose routes it stands for (le 32): announced to
    # the store peer-groups by `advertise-map BEACON exist-map BEACON-CONDITION`.
    beacon: Net | None = None
    beacon_condition: list[Net] = field(default_factory=list)
    beacon_connected: list[Net] = field(default_factory=list)  # denied first (HubBeacon.connected)
    hub_stores: list[Net] = field(default_factory=list)  # HubBeacon.stores: to the hubs while it holds
    # One configured bfdd session per store link, as the store has towards the hub, and one per
    # other hub on the DC LAN (see hub_layout).
    bfd_peers: list[FrrBfdPeer] = field(default_factory=list)
    hub_bfd: BfdProfile | None = None  # the other hubs' sessions' (`HubView.hub_bfd`)

    @property
    def bfd_profiles(self) -> list[BfdProfile]:
        profiles = [group.bfd for group in self.store_groups]
        if self.hub_bfd is not None:
            profiles.append(self.hub_bfd)
        return sorted(profiles, key=lambda profile: profile.name)


def hub_layout(view: HubView) -> FrrHubLayout:
    # Policy-based cloud VPNs (none built today) carry no routing protocol: their prefixes route
    # into the tunnel interface.
    routes = [
        (net.cidr, tunnel.ifname)
        for tunnel in view.cloud_tunnels
        if tunnel.inside is None
        for net in tunnel.peer_selectors
    ]
    beacon = view.intent.beacon
    if beacon is not None:
        # The beacon (`HubBeacon`) is a discard route the hub originates into BGP (`network`
        # needs it in the RIB) and announces to the stores only while it offers HQ.
        routes.append((str(beacon.route), "blackhole"))
    routes += hub_partner_routes(view)
    keyed = [(_route_key(prefix, rest), f"ip route {prefix} {rest}") for prefix, rest in routes]
    # Return paths (see hub_return_rules): per store link position, each store's prefixes back
    # into its tunnel over that link. Not BGP's choice: the store's, seen on the flow's packets.
    # Tens of thousands of routes on a big fleet's hub: each one's sort key is built from its
    # parts (a prefix's once, shared by the store's links), not parsed back from its text.
    prefix_keys: dict[str, tuple[int, int]] = {}
    for peer in view.peers:
        table = return_table(peer.link_index)
        rest = f"{peer.peer} {peer.ifname} table {table}"
        distance = _distance_of(rest)
        for net in peer.store.prefixes:
            prefix_key = prefix_keys.get(net.cidr)
            if prefix_key is None:
                prefix_key = prefix_keys[net.cidr] = _static_route_key(net.cidr)
            keyed.append(((*prefix_key, table, distance, rest), f"ip route {net.cidr} {rest}"))
    # The public IKE endpoint lives on the loopback too, as on the vendor hubs (IOS-XE and VRP
    # Loopback1, a FortiOS loopback interface): every store connection's local_addrs, the source
    # of every IKE/ESP packet and what the uplink's queues match. Without it on an interface the
    # kernel delivers no IKE packet to charon and sends none from that address (the lab's hub
    # holds it on its WAN port, so only a real hub missed it).
    interfaces = [
        FrrInterface(
            view.loopback_ifname,
            "router id, management and public IKE endpoint",
            [view.loopback.cidr, f"{view.public_address}/32"],
        )
    ]
    interfaces.append(FrrInterface(view.dc.ifname, "dc core lan", [view.dc.address.cidr]))
    interfaces += [
        FrrInterface(peer.ifname, f"ipsec {peer.id} {peer.description}", [peer.local.cidr]) for peer in view.peers
    ]
    interfaces += [
        FrrInterface(t.ifname, f"ipsec {t.id} {t.name}", [t.inside.cidr] if t.inside else [])
        for t in view.cloud_tunnels
    ]
    interfaces = _in_frr_order(interfaces)
    # A store link's BFD is what the store renders (`views.tunnel_bfd`): an FRR store's follows
    # its SLA class on that transport, a vendor store's its link.
    groups: dict[str, FrrStoreGroup] = {}
    neighbors = []
    for peer in view.peers:
        name = _group_name(peer.bfd)
        group = groups.get(name)
        if group is None:
            group = groups[name] = FrrStoreGroup(name, peer.bfd, view.store_timers, view.store_prefix_limit)
        neighbors.append(
            FrrHubNeighbor(peer.peer, peer.store.asn, peer.description, group.name, None, False, peer.route_map, None)
        )
    # Each store link's BFD session is configured in bfdd, as the store configures its end, not
    # only registered by bgpd. bgpd deregisters its session and registers it again when the BGP
    # session first comes up (its local address and interface then known; FRR 8.4 lib/bfd.c), and
    # bfdd frees a session no configuration holds, telling the store it went down, and starts
    # another (lint `frr-bfd-session`).
    # The other hubs' sessions run BFD of their own on the DC LAN (`HubView.hub_bfd`): single-hop,
    # from the hub's DC address on its DC port, configured in bfdd the same way.
    hub_bfd = view.hub_bfd
    hub_profile = BfdProfile(hub_bfd.profile, hub_bfd.interval_ms, hub_bfd.multiplier) if hub_bfd else None
    bfd_peers = sorted(
        [
            *(FrrBfdPeer(peer.peer, peer.local.ip, peer.ifname, peer.bfd.name) for peer in view.peers),
            *(
                FrrBfdPeer(hub.dc_address, view.dc.address.ip, view.dc.ifname, hub_profile.name)
                for hub in view.hub_neighbors
                if hub_profile is not None
            ),
        ],
        key=lambda bfd_peer: _ip_key(bfd_peer.address),
    )
    # The stores' routes go to the other hubs only while this hub offers HQ (HubBeacon.stores).
    to_hubs_while = ("HUB-STORES", "BEACON-CONDITION") if beacon else None
    neighbors += [
        FrrHubNeighbor(
            hub.dc_address, hub.asn, f"{hub.hostname} ibgp", None, None, True, "HUBS", "HUBS", to_hubs_while,
            view.hub_prefix_limit, view.peer_timers(hub.dc_address), hub_profile.name if hub_profile else None,
        )
        for hub in view.hub_neighbors
    ]
    neighbors += [
        FrrHubNeighbor(
            router, view.dc.asn, "dc core", None, None, False, "FROM-DC", "TO-DC", timers=view.peer_timers(router)
        )
        for router in view.dc.routers
    ]
    neighbors += [
        FrrHubNeighbor(
            t.inside_peer, t.asn, f"{t.name} vpn", None, None, False, cloud_in.name, "CLOUD-OUT",
            prefix_limit=cloud_in.prefix_limit, timers=view.peer_timers(t.inside_peer),
        )
        for t in view.cloud_tunnels
        if t.inside_peer is not None
        for cloud_in in [view.cloud_filter(t.inside_peer)]
    ]
    # bgpd lists neighbours in `peer_cmp` order: peer-group members first (by group name, then
    # address), then the others by address.
    neighbors.sort(key=lambda n: (n.group is None, n.group or "", _ip_key(n.address)))
    loopback = Net.at(_ip_key(view.loopback.ip), 32)
    cloud = view.cloud_session
    hub_session = next((s for s in view.intent.sessions if s.kind == "hub-hub"), None)
    # HQ's and the clouds' summaries (`HubIntent.summaries`) are aggregates, each announced only
    # while a more specific route inside it is in the BGP table; the store supernet, announced
    # to the clouds as one route (its stores stay specific towards everyone else: no summary-only).
    aggregates = [*view.summaries, *([view.store_supernet] if cloud else [])]
    return FrrHubLayout(
        _in_staticd_order(keyed),
        interfaces,
        sorted([loopback.cidr, *([str(beacon.route)] if beacon else [])], key=_table_key),
        neighbors,
        [groups[name] for name in sorted(groups)],
        to_stores=[
            *view.summaries,
            loopback,
            *(Net.at(_ip_key(hub.loopback), 32) for hub in view.hub_neighbors),
            *([Net.of(beacon.route)] if beacon else []),
        ],
        beacon=Net.at(int(beacon.address), 32) if beacon else None,
        beacon_condition=[Net.of(net) for net in beacon.summaries] if beacon else [],
        beacon_connected=[Net.of(net) for net in beacon.connected] if beacon else [],
        hub_stores=[Net.of(net) for net in beacon.stores] if beacon else [],
        cloud_in=view.cloud_filters,
        cloud_out=[Net.of(net) for net in cloud.announces] if cloud else [],
        aggregates=sorted((net.cidr for net in aggregates), key=_table_key),
        hubs=[Net.of(net) for net in hub_session.accepts] if hub_session else [],
        dc_in=view.dc.accepts,
        dc_out=view.dc.announces,
        bfd_peers=bfd_peers,
        hub_bfd=hub_profile,
    )


def _group_name(profile: BfdProfile) -> str:
    return f"STORES-{profile.name}"


# ---------------------------------------------------------------- line builders
# The FRR configs' per-store loops, spelled in typed code: a hub's config holds several lines for
# every store link, and a template loop would read each value through the sandbox. Templates
# print what these return through the `lines` filter (devices/render.py), which checks every line.


def interface_lines(interfaces: Sequence[FrrInterface]) -> list[str]:
    """`interface` blocks, as bgpd's running config shows them."""
    lines: list[str] = []
    for interface in interfaces:
        lines.append(f"interface {interface.name}")
        if interface.bandwidth:
            lines.append(f" bandwidth {interface.bandwidth}")
        lines.append(f" description {interface.description}")
        lines += [f" ip address {address}" for address in interface.addresses]
        lines.append("exit")
    return lines


def hub_neighbor_lines(neighbors: Sequence[FrrHubNeighbor], connect_retry: int) -> list[str]:
    """A hub's `router bgp` neighbour lines: a store link joins its peer-group (timers there),
    any other neighbour (the other hubs, the DC core, the cloud VPNs) gets its own timers, the
    stores' short ConnectRetry (`connect_retry`) included: at bgpd's default (120 s) a session
    with the DC core or a cloud that went down would wait up to two minutes between attempts
    after its far end came back (FRR user guide, BGP: `neighbor PEER timers connect (1-65535)`;
    bgpd.h BGP_DEFAULT_CONNECT_RETRY 120)."""
    lines: list[str] = []
    for neighbor in neighbors:
        address = f" neighbor {neighbor.address}"
        lines.append(f"{address} remote-as {neighbor.asn}")
        if neighbor.group:
            lines.append(f"{address} peer-group {neighbor.group}")
        lines.append(f"{address} description {neighbor.description}")
        if neighbor.bfd and not neighbor.group:
            # bgpd prints a neighbour's BFD after its description (FRR user guide, BGP, "neighbor
            # <A.B.C.D|X:X::X:X|WORD> bfd" and "... bfd profile BFDPROF").
            lines += [f"{address} bfd", f"{address} bfd profile {neighbor.bfd}"]
        if neighbor.update_source:
            lines.append(f"{address} update-source {neighbor.update_source}")
        if not neighbor.group:
            if neighbor.timers is not None:
                lines.append(f"{address} timers {neighbor.timers.keepalive} {neighbor.timers.hold}")
            lines.append(f"{address} timers connect {connect_retry}")
    return lines


def maximum_prefix(limit: PrefixLimit) -> str:
    """`maximum-prefix N restart M` (FRR 8.4 bgpd: `neighbor PEER maximum-prefix (1-4294967295)
    restart (1-65535)`, minutes; its threshold left at the default, 75 %, which `show
    running-config` leaves out): over the limit bgpd closes the session and opens it again after
    M minutes, rather than leaving it down until `clear bgp` (`PrefixLimit`). Its running config
    prints it after `default-originate` and before the route-maps."""
    return f"maximum-prefix {limit.maximum} restart {limit.restart_minutes}"


def hub_neighbor_family_lines(neighbors: Sequence[FrrHubNeighbor]) -> list[str]:
    """A hub's IPv4 unicast family lines per neighbour: next-hop-self, the prefix limit and
    route-maps."""
    lines: list[str] = []
    for neighbor in neighbors:
        address = f"  neighbor {neighbor.address}"
        if neighbor.next_hop_self:
            lines.append(f"{address} next-hop-self")
        if neighbor.prefix_limit is not None:
            lines.append(f"{address} {maximum_prefix(neighbor.prefix_limit)}")
        if neighbor.route_map_in:
            lines.append(f"{address} route-map {neighbor.route_map_in} in")
        if neighbor.route_map_out:
            lines.append(f"{address} route-map {neighbor.route_map_out} out")
        if neighbor.conditional:
            lines.append(f"{address} advertise-map {neighbor.conditional[0]} exist-map {neighbor.conditional[1]}")
    return lines


def store_prefix_list_lines(stores: Sequence[HubStoreView]) -> list[str]:
    """One prefix list per store (its prefixes, each entry numbered by what it is,
    `devices/announced.py`), as `prefix_list_lines` spells a list without `le`."""
    return [
        f"ip prefix-list {store.prefix_list} seq {number} permit {net.cidr}"
        for store in stores
        for number, net in sorted(store.entries)
    ]


def store_prefixes_lines(view: StoreApplianceView) -> list[str]:
    """STORE-PREFIXES, what the store announces, each entry numbered by what it is
    (`devices/announced.py`), as `prefix_list_lines` spells a list without `le`."""
    return [f"ip prefix-list STORE-PREFIXES seq {number} permit {net.cidr}" for number, net in numbered_announcements(view)]


def store_route_map_lines(peers: Sequence[HubPeerView], degraded_list: str) -> list[str]:
    """Per store link, the route-map of what the hub accepts from it: the store's own prefixes,
    at the link's local preference; first those tagged degraded (community list
    `degraded_list`) at a quarter of it (`HubPeerView.degraded_local_pref`). Spelled as FRR 8.4's
    `show running-config` prints them: entries by sequence, `match community` before
    `match ip address` (FRR user guide, BGP, "Using Communities in Route Maps")."""
    lines: list[str] = []
    for peer in peers:
        lines += [
            f"route-map {peer.route_map} permit 5",
            f" match community {degraded_list}",
            f" match ip address prefix-list {peer.store.prefix_list}",
            f" set local-preference {peer.degraded_local_pref}",
            "exit",
            f"route-map {peer.route_map} permit 10",
            f" match ip address prefix-list {peer.store.prefix_list}",
            f" set local-preference {peer.local_pref}",
            "exit",
        ]
    return lines


def swanctl_connection_lines(connections: Sequence[IpsecConnection]) -> list[str]:
    """The `connections` section's entries of swanctl.conf (the shared proposals and timers in
    the `storestack-*` sections they reference); the PSKs go in `secrets`, through the template's
    `secret` filter."""
    lines: list[str] = []
    for c in connections:
        lines.append(f"    {c.name} : storestack-ike {{")
        if c.local_addrs:
            lines.append(f"        local_addrs = {c.local_addrs}")
        else:
            lines += [
                f"        # {c.transport} has a carrier-assigned address: its lease hook writes local_addrs here",
                f"        include transport/{c.transport}*.conf",
            ]
        lines += [
            f"        remote_addrs = {c.remote_addrs}",
            f"        if_id_in = {c.if_id}",
            f"        if_id_out = {c.if_id}",
            "        local {",
            f"            id = {c.local_id}",
            "        }",
            "        remote {",
            f"            id = {c.remote_id}",
            "        }",
            "        children {",
            f"            {c.name} : storestack-{'initiator' if c.initiator else 'responder'} {{",
            f"                local_ts = {c.local_ts}",
            f"                remote_ts = {c.remote_ts}",
            "            }",
            "        }",
            "    }",
        ]
    return lines


def swanctl_secret_lines(connections: Sequence[IpsecConnection], secret: Callable[[Secret], str]) -> list[str]:
    """The `secrets` section's entries of swanctl.conf, one IKE PSK per connection, each spelled
    by `secret`: the renderer's `secret` filter of its mode (redacted, revealed or the slot's
    name; `{{ connections | frr_swanctl_secrets | lines -}}`)."""
    lines: list[str] = []
    for c in connections:
        lines += [
            f"    ike-{c.name} {{",
            f"        id-local = {c.local_id}",
            f"        id-remote = {c.remote_id}",
            f'        secret = "{secret(c.psk)}"',
            "    }",
        ]
    return lines


def store_neighbor_lines(neighbors: Sequence[FrrNeighbor], connect_retry: int) -> list[str]:
    """A store's `router bgp` neighbour lines: a BFD-tracked session with its profile, and every
    session (the hubs' and AWS's) the short ConnectRetry (`connect_retry`) that brings a
    recovered path back quickly: at bgpd's default (120 s) an AWS tunnel that came back would
    wait up to two minutes for the store's next attempt."""
    lines: list[str] = []
    for neighbor in neighbors:
        peer = f" neighbor {neighbor.address}"
        lines += [f"{peer} remote-as {neighbor.asn}", f"{peer} description {neighbor.description}"]
        if neighbor.bfd:
            lines += [f"{peer} bfd", f"{peer} bfd profile {neighbor.bfd.name}"]
        timers = neighbor.timers
        lines += [f"{peer} timers {timers.keepalive} {timers.hold}", f"{peer} timers connect {connect_retry}"]
    return lines


def store_neighbor_family_lines(neighbors: Sequence[FrrNeighbor]) -> list[str]:
    """A store's IPv4 unicast family lines per neighbour: its prefix limit (the hubs', AWS's) and
    its route-maps in and out."""
    lines: list[str] = []
    for neighbor in neighbors:
        peer = f"  neighbor {neighbor.address}"
        if neighbor.prefix_limit is not None:
            lines.append(f"{peer} {maximum_prefix(neighbor.prefix_limit)}")
        lines += [f"{peer} route-map {neighbor.route_map_in} in", f"{peer} route-map {neighbor.route_map_out} out"]
    return lines


def prefix_list_lines(nets: Sequence[Net], name: str, le: int = 0, denied: Sequence[Net] = ()) -> list[str]:
    """`ip prefix-list <name>` denying each of `denied`, then permitting each of `nets` (seq 5,
    10, ... throughout), `le <le>` where it is longer than the net's own length."""
    entries = [("deny", net) for net in denied] + [("permit", net) for net in nets]
    return [
        f"ip prefix-list {name} seq {5 * position} {action} {net.cidr}" + (f" le {le}" if le and le > net.prefixlen else "")
        for position, (action, net) in enumerate(entries, start=1)
    ]


def bfd_lines(profiles: Sequence[BfdProfile], peers: Sequence[FrrBfdPeer]) -> list[str]:
    """bfdd's block. FRR leaves values equal to its defaults (300 ms, x3) out of `show
    running-config`, so this leaves them out too: intended must read exactly like running. No
    BFD at all (every hub an IOS-XE one): no block, as bfdd shows none."""
    if not profiles and not peers:
        return []
    lines = ["bfd"]
    for profile in profiles:
        lines.append(f" profile {profile.name}")
        if profile.multiplier != 3:
            lines.append(f"  detect-multiplier {profile.multiplier}")
        if profile.interval_ms != 300:
            lines += [f"  transmit-interval {profile.interval_ms}", f"  receive-interval {profile.interval_ms}"]
        lines.append(" exit")
    for peer in peers:
        lines += [
            f" peer {peer.address} local-address {peer.local} interface {peer.ifname}",
            f"  profile {peer.profile}",
            " exit",
        ]
    return [*lines, "exit"]


def xfrm_interface_lines(connections: Sequence[IpsecConnection]) -> list[str]:
    """`ip -batch` lines of the tunnels' XFRM interfaces: bound to their transport (not the wired
    default), in interface group 10 (trusted by nftables for BGP and BFD), with the tunnel's own
    MTU (the intent's `Tunnel.mtu`, from its transport's): the routes through it take that MTU,
    which the nftables MSS clamp (`maxseg size set rt mtu`) derives the SYNs' MSS from."""
    lines: list[str] = []
    for c in connections:
        device = f" dev {c.transport}" if c.transport != "wan" else ""
        lines += [f"link add {c.ifname} type xfrm{device} if_id {c.if_id}", f"link set {c.ifname} group 10 mtu {c.mtu} up"]
    return lines


def dhcp_scope_lines(segments: Sequence[SegmentView]) -> list[str]:
    """dnsmasq's DHCP scope of each segment: its range, router and resolvers, tagged by kind."""
    lines: list[str] = []
    for segment in segments:
        kind = segment.kind
        lines += [
            f"interface={segment.ifname}",
            f"dhcp-range=set:{kind},{segment.dhcp_start},{segment.dhcp_end},{segment.gateway.netmask},"
            f"{'12h' if segment.dhcp_lease_seconds is None else segment.dhcp_lease_seconds}",
            f"dhcp-option=tag:{kind},option:router,{segment.gateway.ip}",
            f"dhcp-option=tag:{kind},option:dns-server,{','.join(segment.dns_servers)}",
            # The domain per range, not for all (dnsmasq `--domain=<domain>,<address range>`):
            # none to guest Wi-Fi (SegmentView.dhcp_domain).
            *([f"domain={segment.dhcp_domain},{segment.net.cidr}"] if segment.dhcp_domain else []),
        ]
    return lines


# Filters the FRR templates use (devices/render.py registers them).
TEMPLATE_FILTERS: tuple[tuple[str, Callable[..., list[str]]], ...] = (
    ("frr_interfaces", interface_lines),
    ("frr_hub_neighbors", hub_neighbor_lines),
    ("frr_hub_neighbor_families", hub_neighbor_family_lines),
    ("frr_store_prefix_lists", store_prefix_list_lines),
    ("frr_store_prefixes", store_prefixes_lines),
    ("frr_store_route_maps", store_route_map_lines),
    ("frr_swanctl_connections", swanctl_connection_lines),
    ("frr_store_neighbors", store_neighbor_lines),
    ("frr_store_neighbor_families", store_neighbor_family_lines),
    ("frr_prefix_list", prefix_list_lines),
    ("frr_bfd", bfd_lines),
    ("frr_xfrm_interfaces", xfrm_interface_lines),
    ("frr_dhcp_scopes", dhcp_scope_lines),
    ("frr_wan_queues", wan_queue_lines),
    ("frr_nft_segment_gateways", nft_segment_gateways),
    ("frr_nft_segment_services", nft_segment_services),
    ("frr_nft_segment_sources", nft_segment_sources),
    ("frr_nft_forward_rules", nft_forward_rules),
    ("frr_nft_segment_marking", nft_segment_marking),
    ("frr_nft_sla_marks", nft_sla_marks),
    ("frr_nft_sla_paths", nft_sla_paths),
    ("frr_nft_cctv_shaping", nft_cctv_shaping),
    ("frr_steering_lines", steering_lines),
)

# Line builders that print secrets: the renderer binds each to its mode's `secret` filter.
SECRET_TEMPLATE_FILTERS: tuple[tuple[str, Callable[..., list[str]]], ...] = (
    ("frr_swanctl_secrets", swanctl_secret_lines),
)
