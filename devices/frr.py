"""FRR's display order, so an intended config reads exactly like `show running-config`.

FRR sorts some sections when it shows them: static routes by prefix, interfaces by
`if_cmp_name_func`, BGP neighbours by address. The push engine compares running against
intended with hier_config; rendering in FRR's own order keeps that comparison clean and makes
a plain text diff of the two empty after a push. The templates still decide the content; this
module only arranges the repeated blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from storestack.devices.naming import sort_frr_interfaces
from storestack.devices.views import BfdProfile, HubView, StoreApplianceView, WanLinkView, direct_init


@direct_init
@dataclass(frozen=True, slots=True)
class FrrInterface:
    name: str
    description: str
    addresses: list[str]
    bandwidth: int | None = None


@direct_init
@dataclass(frozen=True, slots=True)
class FrrNeighbor:
    address: str
    asn: int
    description: str
    bfd: BfdProfile | None
    route_map_in: str
    route_map_out: str


@direct_init
@dataclass(frozen=True, slots=True)
class FrrBfdPeer:
    address: str
    local: str
    ifname: str
    profile: str


@direct_init
@dataclass(frozen=True, slots=True)
class FrrStoreLayout:
    static_routes: list[str]
    interfaces: list[FrrInterface]
    networks: list[str]
    neighbors: list[FrrNeighbor]
    bfd_peers: list[FrrBfdPeer]
    aws_links: list[WanLinkView]


def _ip_key(address: str) -> int:
    first, second, third, fourth = address.split(".")
    return (int(first) << 24) | (int(second) << 16) | (int(third) << 8) | int(fourth)


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


def _sorted_routes(routes: list[tuple[str, str]]) -> list[str]:
    """(prefix, rest) pairs as `ip route` lines, in staticd's order."""
    return [
        f"ip route {prefix} {rest}"
        for prefix, rest in sorted(routes, key=lambda r: (_static_route_key(r[0]), r[1]))
    ]


def store_layout(view: StoreApplianceView) -> FrrStoreLayout:
    routes: list[tuple[str, str]] = []
    # Anchor routes: the store's prefixes stay in BGP even while a LAN port is down (or absent,
    # as in the lab); a live connected route always wins over distance 254.
    routes.extend((prefix.cidr, "blackhole 254") for prefix in view.advertised)
    for link in view.wan:
        if link.static and link.gateway:
            routes.append((f"{link.tunnel.peer_outside}/32", f"{link.gateway} {link.ifname}"))
            for tunnel in view.aws_tunnels:
                if tunnel.link == link.name:
                    routes.append((f"{tunnel.peer_outside}/32", f"{link.gateway} {link.ifname}"))

    interfaces = [FrrInterface(view.lan_trunk, "LAN trunk", [])]
    interfaces += [FrrInterface(seg.ifname, seg.description, [seg.gateway.cidr]) for seg in view.segments]
    interfaces.append(FrrInterface(view.loopback_ifname, "router id and management", [view.loopback.cidr]))
    for link in view.wan:
        addresses = [link.tunnel.inside.cidr]
        if link.address is not None:
            addresses.append(link.address.cidr)
        interfaces.append(FrrInterface(link.ifname, link.description, addresses, link.bandwidth_mbps))
    for tunnel in view.aws_tunnels:
        interfaces.append(
            FrrInterface(tunnel.ifname, f"aws vpn {tunnel.name} over {tunnel.link}", [tunnel.inside.cidr])
        )
    interfaces = _in_frr_order(interfaces)
    for interface in interfaces:
        if len(interface.addresses) > 1:
            interface.addresses.sort(key=lambda cidr: _ip_key(cidr.split("/")[0]))

    neighbors = [
        FrrNeighbor(
            link.tunnel.inside_peer,
            link.hub.asn,
            f"{link.hub.hostname} via {link.name} {link.role}",
            link.bfd,
            f"HUB-IN-{link.name}",
            f"HUB-OUT-{link.name}",
        )
        for link in view.wan
    ]
    neighbors += [
        FrrNeighbor(
            tunnel.inside_peer,
            tunnel.asn,
            f"aws {tunnel.name}",
            None,
            f"AWS-IN-{tunnel.link}",
            f"AWS-OUT-{tunnel.link}",
        )
        for tunnel in view.aws_tunnels
    ]
    neighbors.sort(key=lambda neighbor: _ip_key(neighbor.address))
    bfd_peers = sorted(
        (
            FrrBfdPeer(link.tunnel.inside_peer, link.tunnel.inside.ip, link.ifname, link.bfd.name)
            for link in view.wan
        ),
        key=lambda peer: _ip_key(peer.address),
    )
    return FrrStoreLayout(
        static_routes=_sorted_routes(routes),
        interfaces=interfaces,
        networks=sorted((prefix.cidr for prefix in view.advertised), key=_table_key),
        neighbors=neighbors,
        bfd_peers=bfd_peers,
        aws_links=view.aws_links,
    )


@direct_init
@dataclass(frozen=True, slots=True)
class FrrHubLayout:
    static_routes: list[str]
    interfaces: list[FrrInterface]
    networks: list[str]
    peer_order: list[int]  # indexes into view.peers: by peer-group name, then address


def hub_layout(view: HubView) -> FrrHubLayout:
    routes = [(net.cidr, "blackhole 254") for net in view.summaries]
    interfaces = [FrrInterface(view.loopback_ifname, "router id and management", [view.loopback.cidr])]
    interfaces += [FrrInterface(peer.ifname, peer.description, [peer.local.cidr]) for peer in view.peers]
    interfaces = _in_frr_order(interfaces)
    # bgpd keeps its neighbours sorted by peer-group name, then by address (`peer_cmp`).
    order = sorted(
        range(len(view.peers)),
        key=lambda index: (_group_name(view.peers[index].bfd), _ip_key(view.peers[index].peer)),
    )
    networks = sorted((net.cidr for net in view.summaries), key=_table_key)
    return FrrHubLayout(_sorted_routes(routes), interfaces, networks, order)


def _group_name(profile: BfdProfile) -> str:
    return f"STORES-{profile.name}"
