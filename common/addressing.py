"""What kind of IPv4 range an address or a network is: the one definition every layer uses.

The inventory refuses what the cloud components would refuse, so both read these: RFC 1918
private ranges, the ranges a VPN peer can never be reached at, and the addresses that are not
usable unicast host addresses at all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

RFC1918: tuple[ipaddress.IPv4Network, ...] = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 (carrier-grade NAT)
LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")  # RFC 3927; the cloud VPNs' inside addresses

# Never a host's unicast address, on any network: (range, what it is).
_NOT_UNICAST: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), what)
    for net, what in (
        ("0.0.0.0/8", "in 0.0.0.0/8 ('this network')"),
        ("127.0.0.0/8", "a loopback address"),
        (str(LINK_LOCAL), "a link-local address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address (240.0.0.0/4)"),
    )
)
# Not reachable from the internet, so never a VPN endpoint.
NOT_REACHABLE: tuple[ipaddress.IPv4Network, ...] = (
    *RFC1918,
    SHARED_ADDRESS_SPACE,
    *(net for net, _ in _NOT_UNICAST),
)


def is_rfc1918(network: ipaddress.IPv4Network | ipaddress.IPv4Address) -> bool:
    if isinstance(network, ipaddress.IPv4Address):
        return any(network in block for block in RFC1918)
    return any(network.subnet_of(block) for block in RFC1918)


def unicast_problem(address: ipaddress.IPv4Address) -> str | None:
    """Why `address` cannot be a host's unicast address (None: it can)."""
    for network, what in _NOT_UNICAST:
        if address in network:
            return f"{address} is {what}, not a unicast host address"
    return None


def public_address_problem(address: ipaddress.IPv4Address) -> str | None:
    """Why a VPN peer could not reach `address` across the internet (None: it could)."""
    if any(address in block for block in NOT_REACHABLE):
        return f"{address} is not a public address a VPN can reach"
    return None


def collapse(nets: Iterable[ipaddress.IPv4Network]) -> tuple[ipaddress.IPv4Network, ...]:
    """The fewest networks covering `nets`, in address order."""
    return tuple(ipaddress.collapse_addresses(nets))


def excluding(
    nets: Iterable[ipaddress.IPv4Network], holes: Iterable[ipaddress.IPv4Network]
) -> tuple[ipaddress.IPv4Network, ...]:
    """The fewest networks covering `nets` but none of `holes`, in address order."""
    remaining = list(collapse(nets))
    for hole in collapse(holes):
        pieces: list[ipaddress.IPv4Network] = []
        for net in remaining:
            if hole.subnet_of(net):
                pieces += net.address_exclude(hole)
            elif not net.subnet_of(hole):
                pieces.append(net)
        remaining = pieces
    return collapse(remaining)


def management_lan(
    address: ipaddress.IPv4Address, ranges: Iterable[ipaddress.IPv4Network]
) -> ipaddress.IPv4Interface:
    """A hub's management address on its management port: with the prefix of the management
    range that holds it (the management LAN), the longest where ranges nest; a host route where
    none does. The inventory's checks and the network intent both read it."""
    prefix = max((net.prefixlen for net in ranges if address in net), default=32)
    return ipaddress.IPv4Interface((address, prefix))
