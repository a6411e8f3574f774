"""The HQ data centre's addresses the network routes to: the service prefixes store flows reach,
and the LAN on which the hubs peer with the DC core.

Each is a field of `sites.hq` in fleet.yaml (`services`, `core`, each hub's `dc_address`). Left
out, a service or the core LAN defaults to a fixed place in the first `ip_plan.hq` network, the
layout the sample chain and generated fleets were written against, so existing inventories keep
their addresses; a hub's DC address is pinned by IPAM in the lock file (`inventory/ipam.py`
`_allocate_dc_addresses`), first at the host its place among the hubs gives it (`first_hub_host`).
A default that does not fit is reported by `inventory.checks.hq_checks`, with file and line;
these functions only compute.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from storestack.inventory.models import FleetSpec

IPv4Network = ipaddress.IPv4Network
IPv4Address = ipaddress.IPv4Address

ServiceName = Literal["pos", "payment", "iot", "recorder"]
SERVICE_NAMES: tuple[ServiceName, ...] = ("pos", "payment", "iot", "recorder")
# The default /24 of each service: its third-octet offset inside ip_plan.hq[0].
SERVICE_SLOTS: dict[ServiceName, int] = {"pos": 10, "payment": 11, "iot": 20, "recorder": 30}
CORE_LAN_PREFIX = 28  # the default hub-to-core LAN: the first /28 of ip_plan.hq[0]
DEFAULT_CORE_ROUTERS = 2


def default_service(spec: FleetSpec, name: ServiceName) -> IPv4Network | None:
    """The /24 a service defaults to, or None when ip_plan.hq[0] is too small to hold it."""
    hq = spec.ip_plan.hq[0]
    start = int(hq.network_address) + (SERVICE_SLOTS[name] << 8)
    if hq.prefixlen > 24 or start + 256 > int(hq.broadcast_address) + 1:
        return None
    return IPv4Network((start, 24))


def service_prefixes(spec: FleetSpec, name: ServiceName) -> tuple[IPv4Network, ...]:
    """A service's prefixes: as written, else its default /24 (empty if that does not fit)."""
    written = getattr(spec.sites.hq.services, name)
    if written is not None:
        return tuple(written)
    default = default_service(spec, name)
    return (default,) if default is not None else ()


def core_lan(spec: FleetSpec) -> IPv4Network:
    """The LAN the hubs and the DC core routers share."""
    written = spec.sites.hq.core.subnet
    if written is not None:
        return written
    hq = spec.ip_plan.hq[0]
    return IPv4Network((int(hq.network_address), max(hq.prefixlen, CORE_LAN_PREFIX)))


def lan_host(lan: IPv4Network, index: int) -> IPv4Address | None:
    """The `index`-th host address of `lan` (0 is the first), or None past its last host."""
    address = int(lan.network_address) + 1 + index
    return IPv4Address(address) if address < int(lan.broadcast_address) else None


def core_routers(spec: FleetSpec) -> tuple[IPv4Address, ...]:
    """The DC core routers' addresses: as written, else the LAN's first two hosts."""
    written = spec.sites.hq.core.routers
    if written:
        return tuple(written)
    lan = core_lan(spec)
    return tuple(a for a in (lan_host(lan, i) for i in range(DEFAULT_CORE_ROUTERS)) if a is not None)


def first_hub_host(spec: FleetSpec) -> int:
    """The host index (0 is the LAN's first host) of the first hub host: the one after the routers."""
    return DEFAULT_CORE_ROUTERS if not spec.sites.hq.core.routers else len(spec.sites.hq.core.routers)
