"""IPv4 address objects built without the standard library's parsing, where it is known redundant.

A 10,000-store load builds a few hundred thousand `ipaddress` objects: networks of store blocks
and LAN segments computed from integers, and lock-file entries read back from the text
storestack itself wrote. The standard constructors re-split, re-parse and re-check every one,
which was a large part of the load. These build the very same objects (equal, same hash, same
attributes; tests compare them field by field with the standard constructors for every prefix
length) from values already checked here, and hand anything unusual to the standard library, so
its errors and its rules stay the ones that apply.
"""

from __future__ import annotations

import re
import socket
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_CIDR = re.compile(rf"({_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET})/([0-9]|[12][0-9]|3[0-2])")
_ALL_ONES = (1 << 32) - 1


def address(value: int) -> IPv4Address:
    """`IPv4Address(value)` for an int known to be in range (0 to 2**32-1)."""
    instance = object.__new__(IPv4Address)
    instance._ip = value  # type: ignore[attr-defined]  # the one slot IPv4Address has
    return instance


def network(first: int, prefixlen: int) -> IPv4Network:
    """`IPv4Network((first, prefixlen))` (strict: `first` must have no host bits set)."""
    mask = _ALL_ONES ^ (_ALL_ONES >> prefixlen)
    if not 0 <= prefixlen <= 32 or not 0 <= first <= _ALL_ONES or first & mask != first:
        return IPv4Network((first, prefixlen))  # raises as the standard library does
    instance: Any = object.__new__(IPv4Network)
    instance.network_address = address(first)
    instance.netmask, instance._prefixlen = IPv4Network._make_netmask(prefixlen)  # type: ignore[attr-defined]
    # What IPv4Network.__init__ adds for the two smallest networks, whose every address is a host.
    if prefixlen == 31:
        instance.hosts = instance.__iter__
    elif prefixlen == 32:
        instance.hosts = lambda: [address(first)]
    result: IPv4Network = instance
    return result


def span(net: IPv4Network) -> tuple[int, int]:
    """First and last address of `net` as integers (cheap to compare by the ten thousand), without
    building its broadcast address."""
    first = int(net.network_address)
    return first, first | (_ALL_ONES >> net.prefixlen)


def interface(value: int, prefixlen: int) -> IPv4Interface:
    """`IPv4Interface((value, prefixlen))`: an address on its network."""
    if not 0 <= prefixlen <= 32 or not 0 <= value <= _ALL_ONES:
        return IPv4Interface((value, prefixlen))  # raises as the standard library does
    instance: Any = object.__new__(IPv4Interface)
    instance._ip = value
    instance.network = network(value & (_ALL_ONES ^ (_ALL_ONES >> prefixlen)), prefixlen)
    instance.netmask = instance.network.netmask
    instance._prefixlen = prefixlen
    result: IPv4Interface = instance
    return result


def parse_address(text: str) -> IPv4Address:
    """`IPv4Address(text)`; a plain dotted quad is read directly, anything else by the standard library."""
    if _DOTTED_QUAD.fullmatch(text) is None:
        return IPv4Address(text)
    return address(int.from_bytes(socket.inet_aton(text)))


def parse_network(text: str) -> IPv4Network:
    """`IPv4Network(text)` (strict); `a.b.c.d/len` is read directly, anything else by the standard library."""
    match = _CIDR.fullmatch(text)
    if match is None:
        return IPv4Network(text)
    return network(int.from_bytes(socket.inet_aton(match.group(1))), int(match.group(2)))
