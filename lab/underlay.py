"""The lab's internet: one namespace whose bridge every site's WAN veth plugs into.

With the "ipsec" overlay, sites no longer share a veth with their hub. Each store transport
(`wan1`, `lte1` …) and each hub's `wan` is a veth into the internet namespace's bridge, where the
namespace routes between the sites' outside addresses, as an ISP would. Everything between two
sites therefore crosses that bridge, and the bridge's nftables counters are the evidence of what
crossed it: IKE and ESP-in-UDP only, never cleartext BGP, BFD or LAN traffic.

Outside addresses (lab-only, documented in DEVELOPERS.md):
- a store transport with a static address in the inventory keeps it, and its gateway is added to
  the bridge; a DHCP transport gets an address from 198.18.0.0/17 (RFC 2544 benchmark space, the
  lab's DHCP stand-in) with the gateway 198.18.0.1;
- a hub keeps its inventory `public_address` as a /32 with 198.18.0.1 as an on-link gateway;
  a hub without one (synthetic labs) gets one from 198.18.255.0/24.
Each site routes its outside traffic by source address (a routing table per transport), so
the tunnels of a transport always leave through that transport, as the intent's underlay
routes pin them on a real appliance.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Literal

from pydantic import BaseModel, ConfigDict

from storestack.devices.views import transport_table
from storestack.lab import system
from storestack.lab.system import ip_batch
from storestack.lab.topology import LabTopology

BRIDGE = "br0"
HUB_WAN = "wan"
# /17: the internet service (198.18.254.80) and synthetic hubs (198.18.255.0/24) stay off-link,
# so a store reaches them only through a route its config gives it.
DYNAMIC_POOL = IPv4Network("198.18.0.0/17")
INTERNET_SERVICE = IPv4Address("198.18.254.80")
DYNAMIC_GATEWAY = IPv4Address("198.18.0.1")
_FIRST_DYNAMIC = int(IPv4Address("198.18.1.0"))
_HUB_POOL = IPv4Network("198.18.255.0/24")
# HQ's own internet line: the breakout the hubs send the stores' office internet traffic to.
HQ_PUBLIC = IPv4Address("198.18.254.1")
HQ_SITE = "hq"
# The hub's (and HQ's) table for traffic from its public address; a store transport's table is
# the rendered config's (`transport_table`), so the rendered rules and routes land in it.
_SITE_TABLE = 100
NFT_TABLE = "storestack_wan"


def internet_namespace(prefix: str) -> str:
    # Two dashes: appliance namespaces are `<prefix>-<sanitized name>` and a sanitized name
    # never starts with a dash, so no appliance can be called like this.
    return f"{prefix}--inet"


class WanAttachment(BaseModel):
    """One site's WAN veth into the lab internet: the site end and the bridge port."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str  # appliance name (or a stand-in site of the lab)
    kind: Literal["store", "hub", "cloud", "site"]  # site: HQ's breakout line, no tunnels
    ifname: str  # in the site's namespace
    port: str  # on the internet namespace's bridge
    address: IPv4Interface
    gateway: IPv4Address
    table: int  # the site's routing table for traffic from `address`
    # More /32s on the same veth, routed like `address` (the cloud stand-in's tunnel endpoints).
    extra_addresses: tuple[IPv4Address, ...] = ()


CLOUD_SITE = "cloud"


def wan_attachments(topology: LabTopology, cloud_endpoints: Sequence[IPv4Address] = ()) -> list[WanAttachment]:
    """Every WAN veth the ipsec overlay needs: one per store transport, one per FRR hub, HQ's
    breakout, and the cloud VPN stand-in's (all its tunnel endpoints on one line)."""
    frr = {a.name for a in topology.appliances if not a.emulated}
    attachments: list[WanAttachment] = []
    hub_index = 0
    for appliance in topology.appliances:
        if appliance.role != "hub" or appliance.name not in frr:
            continue
        public = topology.public_addresses.get(appliance.name) or _HUB_POOL[hub_index + 1]
        attachments.append(
            WanAttachment(
                site=appliance.name,
                kind="hub",
                ifname=HUB_WAN,
                port=f"h{hub_index}",
                address=IPv4Interface(f"{public}/32"),
                gateway=DYNAMIC_GATEWAY,
                table=_SITE_TABLE,
            )
        )
        hub_index += 1
    if topology.sites is not None and cloud_endpoints:
        attachments.append(
            WanAttachment(
                site=CLOUD_SITE,
                kind="cloud",
                ifname="wan",
                port="cloud",
                address=IPv4Interface(f"{cloud_endpoints[0]}/32"),
                gateway=DYNAMIC_GATEWAY,
                table=_SITE_TABLE,
                extra_addresses=tuple(dict.fromkeys(cloud_endpoints[1:])),
            )
        )
    if topology.sites is not None:
        attachments.append(
            WanAttachment(
                site=HQ_SITE,
                kind="site",
                ifname="wan",
                port="hq",
                address=IPv4Interface(f"{HQ_PUBLIC}/32"),
                gateway=DYNAMIC_GATEWAY,
                table=_SITE_TABLE,
            )
        )
    seen: dict[str, int] = {}
    dynamic = 0
    for link in topology.links:
        edge = link.a.appliance
        if edge not in frr or (edge, link.a.ifname) in {(a.site, a.ifname) for a in attachments}:
            continue
        number = seen.setdefault(edge, len(seen))
        transport_index = sum(1 for a in attachments if a.site == edge)
        if link.underlay is not None and link.gateway is not None:
            address, gateway = link.underlay, link.gateway
        else:
            address = IPv4Interface(f"{IPv4Address(_FIRST_DYNAMIC + dynamic)}/{DYNAMIC_POOL.prefixlen}")
            gateway = DYNAMIC_GATEWAY
            dynamic += 1
        attachments.append(
            WanAttachment(
                site=edge,
                kind="store",
                ifname=link.a.ifname,
                port=f"s{number}-{transport_index}",
                address=address,
                gateway=gateway,
                table=transport_table(transport_index),
            )
        )
    return attachments


def outside_address(attachments: list[WanAttachment], site: str, ifname: str | None = None) -> IPv4Address:
    for attachment in attachments:
        if attachment.site == site and (ifname is None or attachment.ifname == ifname):
            return attachment.address.ip
    raise KeyError(f"{site} {ifname or ''}".strip())


def create_internet(inet_ns: str, attachments: list[WanAttachment], namespaces: dict[str, str]) -> None:
    """The internet namespace, its bridge and every site's WAN veth, with addresses and routes.

    `namespaces` maps a site name to its namespace (which already exists)."""
    ip_batch(None, [f"netns add {inet_ns}"])
    # IPv4 only on the WAN: no router solicitations or MLD reports blur the evidence.
    _in_namespace(inet_ns, "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 net.ipv4.ip_forward=1 "
        "net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0")
    gateways = sorted({a.gateway for a in attachments if a.gateway != DYNAMIC_GATEWAY})
    inet = [
        "link set lo up",
        f"link add {BRIDGE} type bridge",
        f"link set {BRIDGE} up",
        f"addr add {DYNAMIC_GATEWAY}/{DYNAMIC_POOL.prefixlen} dev {BRIDGE}",
    ]
    for attachment in attachments:
        if attachment.gateway in gateways:
            prefix = attachment.address.network.prefixlen
            line = f"addr add {attachment.gateway}/{prefix} dev {BRIDGE}"
            if line not in inet:
                inet.append(line)
    host_links = [
        f"link add name {a.ifname} netns {namespaces[a.site]} type veth peer name {a.port} netns {inet_ns}"
        for a in attachments
    ]
    ip_batch(None, host_links)
    for attachment in attachments:
        inet.append(f"link set {attachment.port} master {BRIDGE} up")
        if attachment.address.network.prefixlen == 32:
            inet.append(f"route add {attachment.address.ip}/32 dev {BRIDGE}")
        inet += [f"route add {extra}/32 dev {BRIDGE}" for extra in attachment.extra_addresses]
    ip_batch(inet_ns, inet)
    by_site: dict[str, list[str]] = {}
    for attachment in attachments:
        lines = by_site.setdefault(attachment.site, [])
        lines += [
            f"addr add {attachment.address.with_prefixlen} dev {attachment.ifname}",
            f"link set {attachment.ifname} up",
            f"rule add from {attachment.address.ip} lookup {attachment.table} pref {attachment.table}",
            *route_lines(attachment),
        ]
        for extra in attachment.extra_addresses:
            lines += [
                f"addr add {extra}/32 dev {attachment.ifname}",
                f"rule add from {extra} lookup {attachment.table} pref {attachment.table}",
            ]
    for site, lines in by_site.items():
        wans = [a.ifname for a in attachments if a.site == site]
        _in_namespace(namespaces[site], "sysctl -qw " + " ".join(f"net.ipv6.conf.{name}.disable_ipv6=1" for name in wans))
        ip_batch(namespaces[site], lines)
    install_counters(inet_ns, attachments)


def route_lines(attachment: WanAttachment) -> list[str]:
    """`ip` commands for the routing table of traffic from the attachment's address."""
    lines = []
    if attachment.address.network.prefixlen == 32:
        lines.append(f"route add {attachment.gateway} dev {attachment.ifname} scope link table {attachment.table}")
    lines.append(f"route add default via {attachment.gateway} dev {attachment.ifname} onlink table {attachment.table}")
    # When the link is down its routes go; this one stays, so the transport's packets are
    # dropped instead of leaking out through another transport, as on a real dead line.
    lines.append(f"route add unreachable default metric 4294967295 table {attachment.table}")
    return lines


def _in_namespace(namespace: str, command: str) -> None:
    system.run(["ip", "netns", "exec", namespace, *command.split()])


def _counter(port: str, what: str) -> str:
    return f"{re.sub(r'[^A-Za-z0-9_]', '_', port)}_{what}"


# What may cross the internet between two sites: IKE (UDP 500) and NAT-T / ESP-in-UDP (UDP 4500);
# traffic to the internet stand-in is breakout and counted apart.
# ARP is L2 housekeeping of the bridge. Everything else between sites is cleartext and counted
# by kind, so the evidence can say what leaked (BGP, BFD or anything else).
_KINDS = ("ipsec", "internet", "bgp", "bfd", "other")


def install_counters(inet_ns: str, attachments: list[WanAttachment]) -> None:
    lines = [f"table bridge {NFT_TABLE} {{"]
    for attachment in attachments:
        for kind in _KINDS:
            lines.append(f"  counter {_counter(attachment.port, kind)} {{ }}")
    lines.append("  chain ports {")
    lines.append("    type filter hook prerouting priority 0; policy accept;")
    lines.append("    ether type arp accept")
    for attachment in attachments:
        port = attachment.port
        lines += [
            f'    iifname "{port}" udp dport {{ 500, 4500 }} counter name {_counter(port, "ipsec")} accept',
            f'    iifname "{port}" udp sport {{ 500, 4500 }} counter name {_counter(port, "ipsec")} accept',
            # To the internet stand-in: internet breakout (guest Wi-Fi), not traffic between sites.
            f'    iifname "{port}" ip daddr {INTERNET_SERVICE} counter name {_counter(port, "internet")} accept',
            f'    iifname "{port}" tcp dport 179 counter name {_counter(port, "bgp")} accept',
            f'    iifname "{port}" tcp sport 179 counter name {_counter(port, "bgp")} accept',
            f'    iifname "{port}" udp dport {{ 3784, 3785, 4784 }} counter name {_counter(port, "bfd")} accept',
            f'    iifname "{port}" counter name {_counter(port, "other")} accept',
        ]
    lines += ["  }", "}"]
    system.run(["ip", "netns", "exec", inet_ns, "nft", "-f", "-"], stdin="\n".join(lines) + "\n")


class WanEvidence(BaseModel):
    """Packets one site sent into the lab internet, by kind, since the lab started."""

    model_config = ConfigDict(extra="forbid")

    site: str
    kind: Literal["store", "hub", "cloud", "site"]
    ifname: str
    address: IPv4Address
    ipsec_packets: int
    internet_packets: int  # to the internet stand-in: breakout, not between sites
    bgp_packets: int
    bfd_packets: int
    other_packets: int

    @property
    def cleartext_packets(self) -> int:
        return self.bgp_packets + self.bfd_packets + self.other_packets

    @property
    def encrypted_only(self) -> bool:
        """Between sites only IKE/ESP; a breakout-only site (HQ's internet line) terminates no
        tunnel, so it only must not carry anything but internet traffic."""
        return self.cleartext_packets == 0 and (self.ipsec_packets > 0 or self.kind == "site")


def wan_evidence(inet_ns: str, attachments: list[WanAttachment]) -> list[WanEvidence]:
    """nftables counters of every site's WAN port on the internet bridge."""
    output = system.run(["ip", "netns", "exec", inet_ns, "nft", "-j", "list", "counters", "table", "bridge", NFT_TABLE])
    packets: dict[str, int] = {}
    with contextlib.suppress(json.JSONDecodeError):
        for item in json.loads(output.stdout).get("nftables", []):
            counter = item.get("counter")
            if isinstance(counter, dict):
                packets[str(counter.get("name"))] = int(counter.get("packets", 0))
    return [
        WanEvidence(
            site=a.site,
            kind=a.kind,
            ifname=a.ifname,
            address=a.address.ip,
            ipsec_packets=packets.get(_counter(a.port, "ipsec"), 0),
            internet_packets=packets.get(_counter(a.port, "internet"), 0),
            bgp_packets=packets.get(_counter(a.port, "bgp"), 0),
            bfd_packets=packets.get(_counter(a.port, "bfd"), 0),
            other_packets=packets.get(_counter(a.port, "other"), 0),
        )
        for a in attachments
    ]
