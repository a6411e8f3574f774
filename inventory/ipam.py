"""Deterministic address and ASN allocation, pinned by a committed lock file.

A store keeps whatever the lock file says it has. New stores are served in id order from the
lowest free block, so adding, removing or reordering stores never renumbers an existing one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from storestack.common.files import atomic_write_text

LOCK_FILE_NAME = "allocations.yaml"
_LOCK_HEADER = (
    "# IPAM allocations managed by storestack. Commit this file: it keeps every store's\n"
    "# numbers stable when stores are added, removed or reordered. Do not edit by hand.\n"
)


class StoreAllocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    block: ipaddress.IPv4Network | None = None
    asn: int
    loopbacks: dict[str, ipaddress.IPv4Address] = {}
    transit: dict[str, ipaddress.IPv4Network] = {}


class HubAllocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loopback: ipaddress.IPv4Address


class AllocationTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    hubs: dict[str, HubAllocation] = Field(default_factory=dict)
    stores: dict[str, StoreAllocation] = Field(default_factory=dict)

    def render(self) -> str:
        data = self.model_dump(mode="json", exclude_defaults=False)
        data["hubs"] = dict(sorted(data["hubs"].items()))
        data["stores"] = dict(sorted(data["stores"].items()))
        return _LOCK_HEADER + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)


def read_allocations(path: Path) -> AllocationTable:
    if not path.exists():
        return AllocationTable()
    loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return AllocationTable.model_validate(loaded or {})


def write_allocations(path: Path, table: AllocationTable) -> bool:
    return atomic_write_text(path, table.render())


class PoolExhausted(Exception):
    def __init__(self, pool: str, supernet: str, size: str, used: int) -> None:
        self.pool, self.supernet, self.size, self.used = pool, supernet, size, used
        super().__init__(f"{pool} {supernet} has no free {size} left ({used} in use)")


class NetworkPool:
    """Hands out equal-size blocks of a supernet, skipping anything reserved."""

    def __init__(self, name: str, supernet: ipaddress.IPv4Network, prefix: int) -> None:
        if prefix < supernet.prefixlen:
            raise ValueError(f"{name}: /{prefix} blocks do not fit in {supernet}")
        self.name = name
        self.supernet = supernet
        self.prefix = prefix
        self.block_size = 1 << (32 - prefix)
        self.capacity = 1 << (prefix - supernet.prefixlen)
        self._base = int(supernet.network_address)
        self._taken: set[int] = set()
        self._next = 0

    def contains(self, network: ipaddress.IPv4Network) -> bool:
        return network.subnet_of(self.supernet)

    def reserve(self, network: ipaddress.IPv4Network) -> None:
        """Mark every block that `network` touches as taken (no-op outside the supernet)."""
        if not network.overlaps(self.supernet):
            return
        start = max(int(network.network_address), self._base) - self._base
        end = min(int(network.broadcast_address), int(self.supernet.broadcast_address)) - self._base
        self._taken.update(range(start // self.block_size, end // self.block_size + 1))

    def allocate(self) -> ipaddress.IPv4Network:
        while self._next < self.capacity and self._next in self._taken:
            self._next += 1
        if self._next >= self.capacity:
            raise PoolExhausted(self.name, str(self.supernet), f"/{self.prefix}", len(self._taken))
        index = self._next
        self._taken.add(index)
        return ipaddress.IPv4Network((self._base + index * self.block_size, self.prefix))


class AsnPool:
    def __init__(self, low: int, high: int, reserved: Iterable[int] = ()) -> None:
        self.low, self.high = low, high
        self._taken = set(reserved)
        self._next = low

    def reserve(self, asn: int) -> None:
        self._taken.add(asn)

    def allocate(self) -> int:
        while self._next <= self.high and self._next in self._taken:
            self._next += 1
        if self._next > self.high:
            raise PoolExhausted("asn.store_range", f"{self.low}-{self.high}", "ASN", len(self._taken))
        self._taken.add(self._next)
        return self._next
