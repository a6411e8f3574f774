"""IPv4 addresses and networks spelled in every notation the templates print (dotted, netmask,
wildcard, prefix length), built from ints without re-parsing.
"""

from __future__ import annotations

import ipaddress

from storestack.common.records import record

_NETMASKS = [str(ipaddress.IPv4Address((0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF)) for n in range(33)]
_WILDCARDS = [str(ipaddress.IPv4Address(~(0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF)) for n in range(33)]


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


@record
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


@record
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

    @property
    def host(self) -> Net:
        """The address alone, as a /32."""
        return Net.at(int(ipaddress.IPv4Address(self.ip)), 32)

    @classmethod
    def of(cls, interface: ipaddress.IPv4Interface) -> IfAddr:
        # int() of an interface is its address; `.ip` would build a new IPv4Address first.
        return cls.at(int(interface), interface.network.prefixlen)

    @classmethod
    def at(cls, address: int, prefixlen: int) -> IfAddr:
        ip = dotted(address)
        return cls(ip, prefixlen, _NETMASKS[prefixlen], f"{ip}/{prefixlen}")
