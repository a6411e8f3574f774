"""Integer arithmetic on IPv4 networks, for checks that compare thousands of them."""

from __future__ import annotations

from ipaddress import IPv4Network

_ALL_ONES = (1 << 32) - 1


def span(net: IPv4Network) -> tuple[int, int]:
    """First and last address of `net` as integers (cheap to compare by the ten thousand), without
    building its broadcast address."""
    first = int(net.network_address)
    return first, first | (_ALL_ONES >> net.prefixlen)
