"""All of IPAM: deterministic address and ASN allocation, pinned by a committed lock file.

A store keeps whatever the lock file says it has. New stores are served in id order from the
lowest free block, so adding, removing or reordering stores never renumbers an existing one.
Likewise the cloud tunnels' slots (`network/cloud.py`): each hub's, AWS region's and OpenStack
site's, and each OpenStack gateway's /29 towards each region, so adding or removing a hub, region
or site never renumbers a kept tunnel; each hub's cloud rank and each AWS account's data region,
so reordering hubs or regions moves no cloud flow and no bucket; and each hub's DC core LAN
address, so reordering or removing hubs moves no kept hub's BGP sessions.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from itertools import chain
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from storestack.common.errors import InventoryFamily
from storestack.common.files import atomic_write_text
from storestack.common.patterns import AWS_REGION
from storestack.common.platforms import APPLICATION_NUMBERS, SLA_CLASS_NUMBERS, application_hash_blocks
from storestack.inventory import hq
from storestack.inventory.addresses import span
from storestack.inventory.errors import InventoryError, InventoryIssue, IpamExhaustedError
from storestack.inventory.models import FleetSpec, SegmentKind, StoreSpec
from storestack.inventory.source import Loc, SourceDocument, decode, dotted, parse_text, read_bytes
from storestack.inventory.types import AwsRegion
from storestack.inventory.validate import validate_document
from storestack.network.cloud import (
    AWS_REGION_SLOTS,
    CLOUD_RANKS,
    CLOUD_SITE_SLOTS,
    HUB_SLOTS,
    LINK_LOCAL,
    OPENSTACK_AWS_INSIDE_POOL,
    OPENSTACK_SITE_SLOTS,
    STORE_AWS_INSIDE_PREFIX,
    STORE_AWS_INSIDE_RESERVED,
    STORE_AWS_LINKS_PER_REGION,
    openstack_aws_block,
)

LOCK_FILE_NAME = "allocations.yaml"
LOCK_VERSION = 1
MAX_LOCK_BYTES = 64_000_000  # ~160 bytes a store: room for far more stores than a chain has
LOCK_HEADER = (
    "# IPAM allocations managed by storestack. Commit this file: it keeps every store's\n"
    "# numbers stable when stores are added, removed or reordered. Do not edit by hand.\n"
)
# A key YAML would read back as a string without quotes (no bool/null/number look-alikes).
_BARE_KEY = re.compile(r"[a-z][a-z0-9-]*")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
_REGION = re.compile(AWS_REGION)


class StoreAllocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    block: ipaddress.IPv4Network | None = None
    asn: int
    loopbacks: dict[str, ipaddress.IPv4Address] = {}
    transit: dict[str, ipaddress.IPv4Network] = {}
    # AWS tunnel inside /29 per AWS-attached WAN link, unique within `aws_region` (its transit gateway).
    aws_region: str | None = None
    aws_inside: dict[str, ipaddress.IPv4Network] = {}


class HubAllocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loopback: ipaddress.IPv4Address
    # The host route the hub announces to its stores only while it offers HQ (the network
    # intent's `HubBeacon`), from ip_plan.loopbacks like the loopback. None in a lock written
    # before beacons: allocated at the next load.
    beacon: ipaddress.IPv4Address | None = None
    # Its cloud tunnels' slot (`network/cloud.py` `hub_aws_inside`, `hub_openstack_inside`), in a
    # fleet with cloud sites. None in a lock written before slots: its fleet position, if free.
    slot: int | None = None
    # Its rank towards the clouds (`network/cloud.py` `BGP_DEFAULT_LOCAL_PREF`), in a fleet with
    # cloud sites: the inventory's `cloud_rank`, else pinned here. None in a lock written before
    # ranks: its fleet position, if free.
    cloud_rank: int | None = None
    # Its address on the DC core LAN (`inventory/hq.py`): the inventory's `dc_address`, else pinned
    # here. None in a lock written before: the host its fleet position gives it, if free.
    dc_address: ipaddress.IPv4Address | None = None


class AwsRegionAllocation(BaseModel):
    """An AWS region's slot among the hubs' AWS tunnels (`hub_aws_inside`), and its share of
    `ip_plan.cloud` and `ip_plan.desktops` (`ranges`, `network/cloud.py` `cloud_slot`: its VPCs'
    CIDRs). None in a lock written before range slots: its `cloud_site_keys` place, if free."""

    model_config = ConfigDict(extra="forbid")

    slot: int
    ranges: int | None = None


class OpenStackSiteAllocation(BaseModel):
    """An OpenStack site's slot (its hub tunnels' /30s, `hub_openstack_inside`; its gateway's
    planned address) and, per AWS region, the /29 of its gateway's two AWS tunnels."""

    model_config = ConfigDict(extra="forbid")

    slot: int
    ranges: int | None = None  # its share of the cloud and desktop ranges, as a region's
    aws_inside: dict[str, ipaddress.IPv4Network] = {}


class AwsAccountAllocation(BaseModel):
    """Where an AWS account's staff data bucket lives: the inventory's `data_region`, else the
    first of its regions when first allocated, kept when its regions are reordered or removed."""

    model_config = ConfigDict(extra="forbid")

    data_region: AwsRegion


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) and name not in _YAML_WORDS else f'"{name}"'


def _flow(mapping: dict[str, object]) -> str:
    return "{" + ", ".join(f"{_key(name)}: {value}" for name, value in mapping.items()) + "}"


class AllocationTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = LOCK_VERSION
    hubs: dict[str, HubAllocation] = Field(default_factory=dict)
    aws_accounts: dict[str, AwsAccountAllocation] = Field(default_factory=dict)
    aws_regions: dict[str, AwsRegionAllocation] = Field(default_factory=dict)
    openstack_sites: dict[str, OpenStackSiteAllocation] = Field(default_factory=dict)
    stores: dict[str, StoreAllocation] = Field(default_factory=dict)
    # Each SLA class's and application class's number (common/platforms.py SLA_CLASS_NUMBERS,
    # APPLICATION_NUMBERS), by name; a class no longer in the inventory keeps its number. Empty in a
    # lock written before the pins: what its configs held then (`_allocate_steering_numbers`).
    sla_classes: dict[str, int] = Field(default_factory=dict)
    applications: dict[str, int] = Field(default_factory=dict)

    @field_validator("version")
    @classmethod
    def _known_version(cls, version: int) -> int:
        if version != LOCK_VERSION:
            raise ValueError(
                f"lock file version {version} is not supported (this storestack reads and writes version {LOCK_VERSION})"
            )
        return version

    def render(self) -> str:
        """The lock file's text: sorted, one store per block, stable for diffs.

        Written by hand rather than by a YAML emitter: every value is an address, a network
        or a number, every key a validated name, and this runs on every load of a big fleet.
        """
        out = [LOCK_HEADER, f"version: {self.version}\n"]
        out.append("hubs:\n" if self.hubs else "hubs: {}\n")
        for name in sorted(self.hubs):
            hub = self.hubs[name]
            beacon = f", beacon: {hub.beacon}" if hub.beacon is not None else ""
            slot = f", slot: {hub.slot}" if hub.slot is not None else ""
            rank = f", cloud_rank: {hub.cloud_rank}" if hub.cloud_rank is not None else ""
            dc = f", dc_address: {hub.dc_address}" if hub.dc_address is not None else ""
            out.append(f"  {_key(name)}: {{loopback: {hub.loopback}{beacon}{slot}{rank}{dc}}}\n")
        # Written only for a fleet with cloud sites: a lock without them reads as before.
        if self.aws_accounts:
            out.append("aws_accounts:\n")
            for account in sorted(self.aws_accounts):
                out.append(f"  {_key(account)}: {{data_region: {self.aws_accounts[account].data_region}}}\n")
        if self.aws_regions:
            out.append("aws_regions:\n")
            for region in sorted(self.aws_regions):
                entry = self.aws_regions[region]
                ranges = f", ranges: {entry.ranges}" if entry.ranges is not None else ""
                out.append(f"  {_key(region)}: {{slot: {entry.slot}{ranges}}}\n")
        if self.openstack_sites:
            out.append("openstack_sites:\n")
            for name in sorted(self.openstack_sites):
                site = self.openstack_sites[name]
                ranges = f", ranges: {site.ranges}" if site.ranges is not None else ""
                inside = f", aws_inside: {_flow(dict(sorted(site.aws_inside.items())))}" if site.aws_inside else ""
                out.append(f"  {_key(name)}: {{slot: {site.slot}{ranges}{inside}}}\n")
        for section, numbers in (("sla_classes", self.sla_classes), ("applications", self.applications)):
            if numbers:
                out.append(f"{section}:\n")
                out.extend(f"  {_key(name)}: {numbers[name]}\n" for name in sorted(numbers))
        out.append("stores:\n" if self.stores else "stores: {}\n")
        for store_id in sorted(self.stores):
            alloc = self.stores[store_id]
            out.append(f"  {_key(store_id)}:\n")
            if alloc.block is not None:
                out.append(f"    block: {alloc.block}\n")
            out.append(f"    asn: {alloc.asn}\n")
            out.append(f"    loopbacks: {_flow(dict(alloc.loopbacks))}\n")
            out.append(f"    transit: {_flow(dict(alloc.transit))}\n")
            if alloc.aws_inside:
                out.append(f"    aws_region: {alloc.aws_region}\n")
                out.append(f"    aws_inside: {_flow(dict(alloc.aws_inside))}\n")
        return "".join(out)


def read_allocations(path: Path) -> AllocationTable:
    """The lock file at `path` (an empty table when there is none). Raises InventoryError."""
    table, _document = read_allocations_with_lines(path, LOCK_FILE_NAME)
    return table


def read_allocations_with_lines(path: Path, display: str) -> tuple[AllocationTable, SourceDocument]:
    """The lock file and its parsed document (the line of each entry, for error messages)."""
    if not path.exists():
        return AllocationTable(), SourceDocument(display, {}, {})
    raw = read_bytes(path, display, MAX_LOCK_BYTES)
    return parse_allocations(decode(raw, display, MAX_LOCK_BYTES), display)


def parse_allocations(text: str, display: str) -> tuple[AllocationTable, SourceDocument]:
    document = parse_text(text, display)
    return allocations_from_document(document), document


def allocations_from_document(document: SourceDocument) -> AllocationTable:
    """The table a parsed lock file holds. Raises InventoryError naming every problem."""
    try:
        return _exact_table(document.data)
    except (KeyError, TypeError, ValueError, AttributeError):
        pass  # not the shape storestack writes: full validation says what is wrong, and where
    table, issues = validate_document(AllocationTable, document)
    if table is None:
        raise InventoryError(issues)
    return table


_STORE_KEYS = {"block", "asn", "loopbacks", "transit", "aws_region", "aws_inside"}


def _exact_table(data: dict[str, Any]) -> AllocationTable:
    """The lock file as storestack writes it, read without the generic validator.

    A committed lock holds thousands of entries and is read on every load; this accepts only
    exactly the written shape and types (raising otherwise), so the result is what validation
    would give.
    """
    version = data.get("version", LOCK_VERSION)
    sections = {"version", "hubs", "aws_accounts", "aws_regions", "openstack_sites", "sla_classes", "applications", "stores"}
    if set(data) - sections or type(version) is not int or version != LOCK_VERSION:
        raise ValueError("unexpected lock file shape")
    hubs: dict[str, HubAllocation] = {}
    for name, hub in (data.get("hubs") or {}).items():
        if "loopback" not in set(hub) or not set(hub) <= {"loopback", "beacon", "slot", "cloud_rank", "dc_address"}:
            raise ValueError(name)
        beacon = hub.get("beacon")
        hubs[name] = HubAllocation.model_construct(
            loopback=_address(hub["loopback"]),
            beacon=None if beacon is None else _address(beacon),
            slot=None if hub.get("slot") is None else _slot(hub["slot"]),
            cloud_rank=None if hub.get("cloud_rank") is None else _slot(hub["cloud_rank"]),
            dc_address=None if hub.get("dc_address") is None else _address(hub["dc_address"]),
        )
    accounts: dict[str, AwsAccountAllocation] = {}
    for name, entry in (data.get("aws_accounts") or {}).items():
        # The region's spelling is checked by full validation (a raise here falls back to it).
        if set(entry) != {"data_region"} or type(entry["data_region"]) is not str or not _REGION.fullmatch(entry["data_region"]):
            raise ValueError(name)
        accounts[name] = AwsAccountAllocation.model_construct(data_region=entry["data_region"])
    regions: dict[str, AwsRegionAllocation] = {}
    for region, entry in (data.get("aws_regions") or {}).items():
        if not {"slot"} <= set(entry) <= {"slot", "ranges"}:
            raise ValueError(region)
        regions[region] = AwsRegionAllocation.model_construct(
            slot=_slot(entry["slot"]), ranges=None if entry.get("ranges") is None else _slot(entry["ranges"])
        )
    sites: dict[str, OpenStackSiteAllocation] = {}
    for name, entry in (data.get("openstack_sites") or {}).items():
        if not {"slot"} <= set(entry) <= {"slot", "ranges", "aws_inside"}:
            raise ValueError(name)
        sites[name] = OpenStackSiteAllocation.model_construct(
            slot=_slot(entry["slot"]),
            ranges=None if entry.get("ranges") is None else _slot(entry["ranges"]),
            aws_inside={region: _network(value) for region, value in (entry.get("aws_inside") or {}).items()},
        )
    stores: dict[str, StoreAllocation] = {}
    for store_id, entry in (data.get("stores") or {}).items():
        if not set(entry) <= _STORE_KEYS or type(entry["asn"]) is not int:
            raise ValueError(store_id)
        block = entry.get("block")
        aws_region = entry.get("aws_region")
        if aws_region is not None and type(aws_region) is not str:
            raise TypeError(store_id)
        stores[store_id] = StoreAllocation.model_construct(
            block=None if block is None else _network(block),
            asn=entry["asn"],
            loopbacks={name: _address(value) for name, value in (entry.get("loopbacks") or {}).items()},
            transit={name: _network(value) for name, value in (entry.get("transit") or {}).items()},
            aws_region=aws_region,
            aws_inside={name: _network(value) for name, value in (entry.get("aws_inside") or {}).items()},
        )
    numbers = {
        section: {name: _slot(value) for name, value in (data.get(section) or {}).items()}
        for section in ("sla_classes", "applications")
    }
    return AllocationTable.model_construct(
        version=version,
        hubs=hubs,
        aws_accounts=accounts,
        aws_regions=regions,
        openstack_sites=sites,
        stores=stores,
        sla_classes=numbers["sla_classes"],
        applications=numbers["applications"],
    )


def _slot(value: object) -> int:
    if type(value) is not int:
        raise TypeError(value)
    return value


def _address(value: object) -> ipaddress.IPv4Address:
    if type(value) is not str:
        raise TypeError(value)
    return ipaddress.IPv4Address(value)


def _network(value: object) -> ipaddress.IPv4Network:
    if type(value) is not str or "/" not in value:
        raise TypeError(value)
    return ipaddress.IPv4Network(value)


def write_allocations(path: Path, table: AllocationTable) -> bool:
    return atomic_write_text(path, table.render())


class PoolExhausted(InventoryFamily):
    """Internal to allocation: the loader reports it as an IpamExhaustedError naming the file."""

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
        self._last = int(supernet.broadcast_address)
        self._taken: set[int] = set()
        self._next = 0

    def contains(self, network: ipaddress.IPv4Network) -> bool:
        return network.subnet_of(self.supernet)

    def reserve(self, network: ipaddress.IPv4Network | ipaddress.IPv4Address) -> None:
        """Mark every block that `network` touches as taken (no-op outside the supernet)."""
        if isinstance(network, ipaddress.IPv4Address):
            first = last = int(network)
        else:
            first, last = span(network)  # tens of thousands of pinned entries, on every load
        if last < self._base or first > self._last:
            return
        start = (max(first, self._base) - self._base) // self.block_size
        end = (min(last, self._last) - self._base) // self.block_size
        if start == end:
            self._taken.add(start)
        else:
            self._taken.update(range(start, end + 1))

    def allocate(self) -> ipaddress.IPv4Network:
        while self._next < self.capacity and self._next in self._taken:
            self._next += 1
        if self._next >= self.capacity:
            raise PoolExhausted(self.name, str(self.supernet), f"/{self.prefix}", len(self._taken))
        index = self._next
        self._taken.add(index)
        return ipaddress.IPv4Network((self._base + index * self.block_size, self.prefix))

    def allocate_address(self) -> ipaddress.IPv4Address:
        """One /32 (pools of host addresses, such as loopbacks)."""
        return self.allocate().network_address


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
            raise PoolExhausted("asn.store_range", f"{self.low}-{self.high}", "ASN", self._used())
        self._taken.add(self._next)
        return self._next

    def _used(self) -> int:
        return sum(1 for asn in self._taken if self.low <= asn <= self.high)


# Where each segment sits inside a store block, in eighths of the block: (offset, eighths).
_SEGMENT_SLOTS: dict[SegmentKind, tuple[int, int]] = {
    "pos": (0, 1),
    "office": (1, 1),
    "cctv": (2, 1),
    "iot": (3, 1),
    "guest-wifi": (4, 2),
}


def segment_subnet(block: ipaddress.IPv4Network, kind: SegmentKind) -> ipaddress.IPv4Network:
    """The segment's slot in the store block: eighths of the block, guest Wi-Fi taking two."""
    offset, eighths = _SEGMENT_SLOTS[kind]
    eighth = 1 << (32 - block.prefixlen - 3)
    first = int(block.network_address) + offset * eighth
    return ipaddress.IPv4Network((first, block.prefixlen + 3 - (eighths.bit_length() - 1)))


def _exhausted(fleet_doc: SourceDocument, exc: PoolExhausted, owner: str) -> IpamExhaustedError:
    loc: Loc = ("asn", "store_range") if exc.pool.startswith("asn") else tuple(exc.pool.split("."))
    return IpamExhaustedError([fleet_doc.issue(loc, f"IPAM exhausted: {exc} while allocating for {owner}")])


def aws_attached_links(store: StoreSpec) -> list[str]:
    """The WAN links that carry AWS tunnels: the static ones of a store with an AWS region (an AWS
    customer gateway needs a stable public address). The network intent and the store stack
    build AWS tunnels on exactly these links, from the /29 IPAM pins for each."""
    if store.cloud.aws_region is None:
        return []
    return [link.name for link in store.wan if link.address is not None]


class AwsInsidePools:
    """The /29s of 169.254.0.0/16 that store links' AWS tunnels take.

    AWS wants tunnel inside CIDRs unique per gateway, and every store of a region attaches to
    the region's transit gateway: a /29 must be unique in its region. While the space allows,
    a new /29 is also one no other region uses (one fleet-wide set of distinct addresses, as
    the lab's single cloud VPN stand-in needs); once it is full, regions reuse one another's."""

    def __init__(self) -> None:
        self._fleet = self._new_pool("aws inside")
        self._regions: dict[str, NetworkPool] = {}

    @staticmethod
    def _new_pool(name: str) -> NetworkPool:
        pool = NetworkPool(name, LINK_LOCAL, STORE_AWS_INSIDE_PREFIX)
        for network in STORE_AWS_INSIDE_RESERVED:
            pool.reserve(network)
        return pool

    def _region(self, region: str) -> NetworkPool:
        pool = self._regions.get(region)
        if pool is None:
            pool = self._regions[region] = self._new_pool(f"aws inside {region}")
        return pool

    def reserve(self, region: str, network: ipaddress.IPv4Network) -> None:
        self._fleet.reserve(network)
        self._region(region).reserve(network)

    def allocate(self, region: str) -> ipaddress.IPv4Network:
        """A /29 free in `region`, one free fleet-wide if any is. Raises PoolExhausted."""
        try:
            network = self._fleet.allocate()
        except PoolExhausted:
            return self._region(region).allocate()
        self._region(region).reserve(network)
        return network


def _kept_aws_inside(store: StoreSpec, pinned: StoreAllocation | None) -> dict[str, ipaddress.IPv4Network]:
    """The pinned /29s the store still uses: same region, link still AWS-attached."""
    if pinned is None or not pinned.aws_inside or pinned.aws_region != store.cloud.aws_region:
        return {}
    attached = aws_attached_links(store)
    return {link: net for link, net in pinned.aws_inside.items() if link in attached}


def _aws_exhausted(spec: FleetSpec, fleet_doc: SourceDocument, region: str, owner: str) -> IpamExhaustedError:
    return IpamExhaustedError(
        [
            fleet_doc.issue(
                _region_loc(spec, region),
                f"IPAM exhausted: AWS region {region} holds at most {STORE_AWS_LINKS_PER_REGION} AWS-attached "
                f"store WAN links (a /{STORE_AWS_INSIDE_PREFIX} of {LINK_LOCAL} each for its two tunnels' "
                "inside /30s, unique per transit gateway, without AWS's reserved /30s and the hub and "
                f"OpenStack gateway tunnels' ranges), and none is left for {owner}; attach fewer links in "
                f"{region} (only static links of stores with cloud.aws_region are) or move stores to another region",
            )
        ]
    )


def allocate_fleet(
    spec: FleetSpec, fleet_doc: SourceDocument, stores: list[StoreSpec], previous: AllocationTable
) -> AllocationTable:
    """Every hub's and store's numbers: pinned ones kept, new ones served from the pools.

    Removed stores and hubs keep their entries, so their numbers are not handed to someone
    else while configs may still reference them. Raises IpamExhaustedError naming the pool.
    """
    plan = spec.ip_plan
    block_pool = NetworkPool("ip_plan.stores", plan.stores, plan.store_block_prefix)
    transit_pool = NetworkPool("ip_plan.transit", plan.transit, 31)
    loopback_pool = NetworkPool("ip_plan.loopbacks", plan.loopbacks, 32)
    # The supernet's own network address is never a usable loopback.
    loopback_pool.reserve(plan.loopbacks.network_address)
    low, high = spec.asn.store_range
    asn_pool = AsnPool(low, high)
    present = {store.id: store for store in stores}
    aws_pools = AwsInsidePools()
    table = AllocationTable()

    # Reserve before allocating: pinned allocations (also of removed stores) and every
    # explicit value in the inventory.
    current_hubs = {hub.hostname for hub in spec.sites.hq.hubs}
    for hub_name, hub_alloc in previous.hubs.items():
        loopback_pool.reserve(hub_alloc.loopback)
        if hub_alloc.beacon is not None:
            loopback_pool.reserve(hub_alloc.beacon)
        if hub_name not in current_hubs:
            table.hubs[hub_name] = hub_alloc
    for store_id, alloc in previous.stores.items():
        if alloc.block is not None:
            block_pool.reserve(alloc.block)
        for net in alloc.transit.values():
            transit_pool.reserve(net)
        for address in alloc.loopbacks.values():
            loopback_pool.reserve(address)
        asn_pool.reserve(alloc.asn)
        current = present.get(store_id)
        kept = alloc.aws_inside if current is None else _kept_aws_inside(current, alloc)
        if alloc.aws_region is not None:
            for net in kept.values():
                aws_pools.reserve(alloc.aws_region, net)
        if current is None:
            table.stores[store_id] = alloc
    for store in stores:
        if store.asn is not None:
            asn_pool.reserve(store.asn)
        for segment in store.lan.values():
            if segment.subnet is not None:
                block_pool.reserve(segment.subnet)
        for appliance in store.appliances:
            if appliance.management_address is not None:
                loopback_pool.reserve(appliance.management_address)
    for hub in spec.sites.hq.hubs:
        loopback_pool.reserve(hub.management_address)

    for hub in spec.sites.hq.hubs:
        pinned = previous.hubs.get(hub.hostname)
        try:
            loopback = pinned.loopback if pinned else loopback_pool.allocate_address()
        except PoolExhausted as exc:
            raise _exhausted(fleet_doc, exc, f"hub {hub.hostname!r}") from None
        table.hubs[hub.hostname] = HubAllocation.model_construct(
            loopback=loopback,
            beacon=pinned.beacon if pinned else None,
            slot=pinned.slot if pinned else None,
            cloud_rank=pinned.cloud_rank if pinned else None,
            dc_address=pinned.dc_address if pinned else None,
        )
    _allocate_dc_addresses(spec, fleet_doc, previous, table)
    for store in sorted(stores, key=lambda store: store.id):
        pinned_store = previous.stores.get(store.id)
        try:
            allocation = _allocate_store(store, pinned_store, block_pool, transit_pool, loopback_pool, asn_pool)
        except PoolExhausted as exc:
            raise _exhausted(fleet_doc, exc, f"store {store.id!r}") from None
        region = store.cloud.aws_region
        if region is not None:
            kept = _kept_aws_inside(store, pinned_store)
            aws_inside = {}
            for link in aws_attached_links(store):
                existing = kept.get(link)
                try:
                    aws_inside[link] = existing or aws_pools.allocate(region)
                except PoolExhausted:
                    raise _aws_exhausted(spec, fleet_doc, region, f"store {store.id!r} link {link}") from None
            if aws_inside:
                allocation.aws_region = region
                allocation.aws_inside = aws_inside
        table.stores[store.id] = allocation
    _allocate_cloud_slots(spec, fleet_doc, previous, table)
    _allocate_data_regions(spec, fleet_doc, previous, table)
    _allocate_steering_numbers(spec, fleet_doc, stores, previous, table)
    # Beacons after the stores, so a fleet without them in its lock keeps every store's numbers.
    for hub in spec.sites.hq.hubs:
        allocated = table.hubs[hub.hostname]
        if allocated.beacon is None:
            try:
                allocated.beacon = loopback_pool.allocate_address()
            except PoolExhausted as exc:
                raise _exhausted(fleet_doc, exc, f"hub {hub.hostname!r} beacon") from None
    table.stores = dict(sorted(table.stores.items()))
    return table


def _free_slot(first: int | None, taken: set[int], size: int) -> int | None:
    """`first` if it is a free slot below `size`, else the lowest free one; None when all are taken."""
    if first is not None and 0 <= first < size and first not in taken:
        return first
    return next((slot for slot in range(size) if slot not in taken), None)


def _take_slot(
    first: int | None, taken: set[int], size: int, fleet_doc: SourceDocument, loc: Loc, what: str, holders: list[str]
) -> int:
    """A free slot for the entry at `loc` (`_free_slot`), marked taken; IpamExhaustedError naming
    the lock file's `holders` when none is left."""
    slot = _free_slot(first, taken, size)
    if slot is None:
        raise IpamExhaustedError(
            [
                fleet_doc.issue(
                    loc,
                    f"IPAM exhausted: no free {what} slot left for this entry ({size} in all, pinned in "
                    f"{LOCK_FILE_NAME} to {', '.join(holders)}); an entry no longer in the inventory keeps its "
                    f"slot until its line is deleted from {LOCK_FILE_NAME}, once its tunnels are gone",
                )
            ]
        )
    taken.add(slot)
    return slot


def _allocate_cloud_slots(
    spec: FleetSpec, fleet_doc: SourceDocument, previous: AllocationTable, table: AllocationTable
) -> None:
    """The cloud tunnels' slots (`network/cloud.py`): each hub's, AWS region's and OpenStack site's,
    and each site gateway's /29 towards each region. Pinned ones are kept, those of hubs, regions
    and sites no longer in the inventory too (their tunnels may still be up); a new one takes the
    place the fleet order gives it if free (what a fleet deployed before slots were pinned holds),
    else the lowest free. None in a fleet without cloud sites. Raises IpamExhaustedError."""
    sites = spec.sites
    # The hubs' AWS tunnels number the regions in name order, the core stack's OpenStack
    # gateways in the account's order (`HybridCloud`): the first place of each.
    account_regions = list(dict.fromkeys(region for account in sites.aws for region in account.regions))
    regions = sorted(account_regions)
    table.aws_regions = {name: alloc.model_copy() for name, alloc in previous.aws_regions.items()}
    table.openstack_sites = {
        name: alloc.model_copy(update={"aws_inside": dict(alloc.aws_inside)})
        for name, alloc in previous.openstack_sites.items()
    }
    if not regions and not sites.openstack:
        return
    hubs = spec.sites.hq.hubs
    taken = {alloc.slot for alloc in previous.hubs.values() if alloc.slot is not None}
    for position, hub in enumerate(hubs):
        hub_alloc = table.hubs[hub.hostname]
        if hub_alloc.slot is None:
            holders = [f"hubs.{name}" for name, alloc in previous.hubs.items() if alloc.slot is not None]
            hub_alloc.slot = _take_slot(position, taken, HUB_SLOTS, fleet_doc, ("sites", "hq", "hubs", position), "hub", holders)
    _allocate_cloud_ranks(spec, fleet_doc, previous, table)
    taken = {alloc.slot for alloc in previous.aws_regions.values()}
    for position, region in enumerate(regions):
        if region not in table.aws_regions:
            holders = [f"aws_regions.{name}" for name in previous.aws_regions]
            slot = _take_slot(position, taken, AWS_REGION_SLOTS, fleet_doc, _region_loc(spec, region), "AWS region", holders)
            table.aws_regions[region] = AwsRegionAllocation.model_construct(slot=slot)
    table.aws_regions = dict(sorted(table.aws_regions.items()))
    taken = {alloc.slot for alloc in previous.openstack_sites.values()}
    blocks = {net for alloc in previous.openstack_sites.values() for net in alloc.aws_inside.values()}
    pool = NetworkPool(f"{LOCK_FILE_NAME} openstack_sites aws_inside", OPENSTACK_AWS_INSIDE_POOL, STORE_AWS_INSIDE_PREFIX)
    for net in blocks:
        pool.reserve(net)
    for position, site in enumerate(sites.openstack):
        loc: Loc = ("sites", "openstack", position)
        allocated: OpenStackSiteAllocation | None = table.openstack_sites.get(site.name)
        if allocated is None:
            holders = [f"openstack_sites.{name}" for name in previous.openstack_sites]
            slot = _take_slot(position, taken, OPENSTACK_SITE_SLOTS, fleet_doc, loc, "OpenStack site", holders)
            allocated = table.openstack_sites[site.name] = OpenStackSiteAllocation.model_construct(slot=slot, aws_inside={})
        for region_index, region in enumerate(account_regions):
            if region in allocated.aws_inside:
                continue
            try:
                first = openstack_aws_block(allocated.slot, region_index)
            except ValueError:
                first = None  # past the layout the fleet order used: any free /29
            block: ipaddress.IPv4Network
            if first is not None and first not in blocks:
                block = first
                pool.reserve(block)
            else:
                try:
                    block = pool.allocate()
                except PoolExhausted as exc:
                    raise IpamExhaustedError(
                        [fleet_doc.issue(loc, f"IPAM exhausted: {exc} while allocating the AWS tunnels of OpenStack site {site.name!r} to {region}")]
                    ) from None
            blocks.add(block)
            allocated.aws_inside[region] = block
    table.openstack_sites = dict(sorted(table.openstack_sites.items()))
    _allocate_range_slots(spec, fleet_doc, previous, table)


def _allocate_cloud_ranks(
    spec: FleetSpec, fleet_doc: SourceDocument, previous: AllocationTable, table: AllocationTable
) -> None:
    """Each hub's rank towards the clouds (`network/cloud.py` `BGP_DEFAULT_LOCAL_PREF`): the
    inventory's `cloud_rank`, else the pinned one (a hub that held a rank another hub now states
    takes a new one), else the hub's place in the fleet while the lock pins no rank (what a fleet
    ranked before the pins deployed), else the first rank after every one taken: a hub added takes
    no hub's cloud flows. A removed hub keeps its rank (its cloud sessions may still be up), and
    no hub may state it. Raises InventoryError, IpamExhaustedError."""
    hubs = spec.sites.hq.hubs
    current = {hub.hostname for hub in hubs}
    removed = {name: alloc.cloud_rank for name, alloc in previous.hubs.items() if name not in current and alloc.cloud_rank is not None}
    stated: dict[int, str] = {}
    issues: list[InventoryIssue] = []
    for position, hub in enumerate(hubs):
        if hub.cloud_rank is None:
            continue
        loc: Loc = ("sites", "hq", "hubs", position, "cloud_rank")
        holder = next((name for name, rank in removed.items() if rank == hub.cloud_rank), None)
        if hub.cloud_rank in stated:
            issues.append(fleet_doc.issue(loc, f"cloud rank {hub.cloud_rank} is already stated for hub {stated[hub.cloud_rank]}"))
        elif holder is not None:
            issues.append(
                fleet_doc.issue(
                    loc,
                    f"cloud rank {hub.cloud_rank} is pinned in {LOCK_FILE_NAME} to removed hub "
                    f"{dotted(('hubs', holder))}, whose cloud sessions may still be up; delete its line from "
                    f"{LOCK_FILE_NAME} once it is retired, or state another rank",
                )
            )
        stated.setdefault(hub.cloud_rank, hub.hostname)
    if issues:
        raise InventoryError(issues)
    taken = set(stated) | set(removed.values())
    kept: dict[str, int] = {}
    for hub in hubs:
        pinned = table.hubs[hub.hostname].cloud_rank
        if hub.cloud_rank is None and pinned is not None and pinned not in taken:
            kept[hub.hostname] = pinned
            taken.add(pinned)
    ranked_before = any(alloc.cloud_rank is not None for alloc in previous.hubs.values())
    for position, hub in enumerate(hubs):
        hub_alloc = table.hubs[hub.hostname]
        if hub.cloud_rank is not None:
            hub_alloc.cloud_rank = hub.cloud_rank
        elif hub.hostname in kept:
            hub_alloc.cloud_rank = kept[hub.hostname]
        else:
            first = max(taken, default=-1) + 1 if ranked_before else position
            holders = [f"hubs.{name}" for name, rank in removed.items()] + [f"hubs.{name}" for name in kept]
            loc = ("sites", "hq", "hubs", position)
            hub_alloc.cloud_rank = _take_slot(first, taken, CLOUD_RANKS, fleet_doc, loc, "cloud rank", holders)


def _allocate_steering_numbers(
    spec: FleetSpec, fleet_doc: SourceDocument, stores: list[StoreSpec], previous: AllocationTable, table: AllocationTable
) -> None:
    """Each SLA class's and application class's number (common/platforms.py): the fleet's classes,
    then those only stores define (in store order). A pinned number is kept, a removed class's too
    (a unit may still hold it); while the lock pins none of a kind (what a fleet deployed before
    the pins holds), a class takes what its config held then: an SLA class its place among the
    classes in name order (from 1, as a store that steers every class numbered them), an application class its name's block (`application_hash_blocks`),
    if free; otherwise the lowest free number. Raises IpamExhaustedError."""
    overrides = [store.sla for store in sorted(stores, key=lambda store: store.id)]
    kinds = (
        ("sla_classes", "SLA class", ("sla", "classes"), SLA_CLASS_NUMBERS, 1,
         list(dict.fromkeys([*spec.sla.classes, *(name for sla in overrides for name in sla.classes)]))),
        ("applications", "application class", ("sla", "applications"), APPLICATION_NUMBERS, 0,
         list(dict.fromkeys([*spec.sla.applications, *(name for sla in overrides for name in sla.applications)]))),
    )
    for section, what, loc, size, first_number, names in kinds:
        pinned: dict[str, int] = dict(getattr(previous, section))
        if pinned:
            before: dict[str, int] = {}
        elif section == "applications":
            before = application_hash_blocks(names)
        else:
            before = {name: number for number, name in enumerate(sorted(names), start=1)}
        taken = {number - first_number for number in pinned.values()}
        numbers = dict(pinned)
        for name in names:
            if name in numbers:
                continue
            first = before.get(name)
            slot = _take_slot(
                None if first is None else first - first_number, taken, size, fleet_doc, loc, what,
                [f"{section}.{holder}" for holder in pinned],
            )
            numbers[name] = slot + first_number
        setattr(table, section, dict(sorted(numbers.items())))


def _allocate_dc_addresses(
    spec: FleetSpec, fleet_doc: SourceDocument, previous: AllocationTable, table: AllocationTable
) -> None:
    """Each hub's address on the DC core LAN (`inventory/hq.py`), on which its hub-hub and hub-DC
    BGP sessions run and by which an FRR hub numbers its return partners (`devices/frr.py`
    `partner_slots`): the inventory's `dc_address`, else the pinned one. While the lock pins none
    (what a fleet deployed before the pins holds), a hub takes the host its place among the hubs
    gives it after the routers (`hq.first_hub_host`), if free; otherwise the first free host from
    there on. A hub added takes the first free one; a reorder or a removal moves no other hub, and a
    removed hub keeps its address (its sessions may still be up). When the core LAN itself changes,
    the hubs whose pins it no longer holds move onto it in the order of their old addresses, so the
    new LAN is numbered as a fleet without pins would be. A stated address another hub holds pinned
    is refused at its line, and a core router on a pinned address at the router's. Raises
    InventoryError, IpamExhaustedError when the LAN has no host left."""
    lan = hq.core_lan(spec)
    routers = hq.core_routers(spec)
    hubs = spec.sites.hq.hubs
    stated = {hub.dc_address: hub.hostname for hub in hubs if hub.dc_address is not None}
    stating = set(stated.values())

    def usable(address: ipaddress.IPv4Address | None) -> bool:
        return address is not None and address in lan and address not in (lan.network_address, lan.broadcast_address)

    # A hub that states its address gives up its pin: two hubs may swap theirs by stating both.
    pins = {
        alloc.dc_address: name
        for name, alloc in table.hubs.items()
        if alloc.dc_address is not None and usable(alloc.dc_address) and name not in stating
    }
    issues: list[InventoryIssue] = []
    for position, hub in enumerate(hubs):
        holder = pins.get(hub.dc_address) if hub.dc_address is not None else None
        if holder is not None:
            issues.append(
                fleet_doc.issue(
                    ("sites", "hq", "hubs", position, "dc_address"),
                    f"{hub.dc_address} is pinned in {LOCK_FILE_NAME} to {dotted(('hubs', holder))}, whose BGP "
                    f"sessions on the DC core LAN run from it; state another address, or another for {holder} "
                    f"too (a removed hub keeps its address until its line is deleted from {LOCK_FILE_NAME})",
                )
            )
    for index, router in enumerate(routers):
        holder = pins.get(router)
        if holder is not None and router not in stated:
            loc: Loc = ("sites", "hq", "core", "routers", index) if spec.sites.hq.core.routers else ("sites", "hq", "core")
            issues.append(
                fleet_doc.issue(
                    loc,
                    f"core router {router} is on the DC core LAN address pinned in {LOCK_FILE_NAME} to "
                    f"{dotted(('hubs', holder))}; state the hub's dc_address elsewhere first (a removed hub keeps "
                    f"its address until its line is deleted from {LOCK_FILE_NAME})",
                )
            )
    if issues:
        raise InventoryError(issues)
    taken: set[ipaddress.IPv4Address] = {*routers, *stated, *pins}
    pinned_before = any(alloc.dc_address is not None for alloc in previous.hubs.values())
    first = hq.first_hub_host(spec)
    # The LAN's hosts from the first hub host on, then those before it.
    count = lan.num_addresses - 2
    start = min(first, count)
    positions = {hub.hostname: position for position, hub in enumerate(hubs)}
    moved: list[tuple[int, str]] = []
    fresh: list[str] = []
    for hub in hubs:
        hub_alloc = table.hubs[hub.hostname]
        if hub.dc_address is not None:
            hub_alloc.dc_address = hub.dc_address
        elif hub_alloc.dc_address is None:
            fresh.append(hub.hostname)
        elif pins.get(hub_alloc.dc_address) != hub.hostname:
            moved.append((int(hub_alloc.dc_address), hub.hostname))
    for name in [name for _, name in sorted(moved)] + fresh:
        position = positions[name]
        default = None if pinned_before else hq.lan_host(lan, first + position)
        address = default if default is not None and default not in taken else None
        if address is None:
            hosts = (hq.lan_host(lan, index) for index in chain(range(start, count), range(start)))
            address = next((host for host in hosts if host is not None and host not in taken), None)
        if address is None:
            raise IpamExhaustedError(
                [
                    fleet_doc.issue(
                        ("sites", "hq", "hubs", position),
                        f"IPAM exhausted: DC core LAN {lan} has no free host left for hub {name}; set its "
                        f"dc_address or widen sites.hq.core.subnet (a removed hub keeps its address until its "
                        f"line is deleted from {LOCK_FILE_NAME})",
                    )
                ]
            )
        taken.add(address)
        table.hubs[name].dc_address = address


def _allocate_data_regions(
    spec: FleetSpec, fleet_doc: SourceDocument, previous: AllocationTable, table: AllocationTable
) -> None:
    """Each AWS account's data region (`AwsAccountAllocation`): the inventory's `data_region`, one of
    the account's regions or the one pinned, else the pinned one, else the first of its regions.
    A removed account keeps its entry. Raises InventoryError naming a stated region it cannot be."""
    table.aws_accounts = {name: alloc.model_copy() for name, alloc in previous.aws_accounts.items()}
    issues: list[InventoryIssue] = []
    for index, account in enumerate(spec.sites.aws):
        pinned = previous.aws_accounts.get(account.name)
        region = account.data_region
        if region is not None and region not in account.regions and (pinned is None or pinned.data_region != region):
            where = f"; pinned: {pinned.data_region}" if pinned is not None else ""
            issues.append(
                fleet_doc.issue(
                    ("sites", "aws", index, "data_region"),
                    f"{region} is not one of the account's regions ({', '.join(account.regions)}{where}): "
                    "the staff data bucket would be made in a region the fleet does not run in",
                )
            )
            continue
        if region is None:
            region = pinned.data_region if pinned is not None else account.regions[0]
        table.aws_accounts[account.name] = AwsAccountAllocation.model_construct(data_region=region)
    if issues:
        raise InventoryError(issues)
    table.aws_accounts = dict(sorted(table.aws_accounts.items()))


def _allocate_range_slots(
    spec: FleetSpec, fleet_doc: SourceDocument, previous: AllocationTable, table: AllocationTable
) -> None:
    """Each cloud site's share of `ip_plan.cloud` and `ip_plan.desktops` (`cloud_slot`), where the
    core stack builds its VPCs and networks: kept once pinned (a region or site that leaves keeps
    its share while its networks may still be up), a new one at its `cloud_site_keys` place if
    free (what a fleet deployed before range slots holds), else the lowest free share."""
    held = [alloc.ranges for alloc in previous.aws_regions.values()]
    held += [alloc.ranges for alloc in previous.openstack_sites.values()]
    taken = {ranges for ranges in held if ranges is not None}
    regions = [region for account in spec.sites.aws for region in account.regions]
    places: list[tuple[AwsRegionAllocation | OpenStackSiteAllocation, Loc]] = [
        *((table.aws_regions[region], _region_loc(spec, region)) for region in regions),
        *((table.openstack_sites[site.name], ("sites", "openstack", index)) for index, site in enumerate(spec.sites.openstack)),
    ]
    for position, (alloc, loc) in enumerate(places):
        if alloc.ranges is None:
            holders = [f"aws_regions.{name}" for name, a in previous.aws_regions.items() if a.ranges is not None]
            holders += [f"openstack_sites.{name}" for name, a in previous.openstack_sites.items() if a.ranges is not None]
            what = "cloud range (ip_plan.cloud, ip_plan.desktops)"
            alloc.ranges = _take_slot(position, taken, CLOUD_SITE_SLOTS, fleet_doc, loc, what, holders)


def _region_loc(spec: FleetSpec, region: str) -> Loc:
    for account_index, account in enumerate(spec.sites.aws):
        if region in account.regions:
            return ("sites", "aws", account_index, "regions", account.regions.index(region))
    return ("sites", "aws")


def _allocate_store(
    store: StoreSpec,
    pinned: StoreAllocation | None,
    block_pool: NetworkPool,
    transit_pool: NetworkPool,
    loopback_pool: NetworkPool,
    asn_pool: AsnPool,
) -> StoreAllocation:
    needs_block = any(segment.subnet is None for segment in store.lan.values())
    block = pinned.block if pinned and pinned.block is not None else None
    if needs_block and block is None:
        block = block_pool.allocate()
    asn = store.asn if store.asn is not None else (pinned.asn if pinned else asn_pool.allocate())
    loopbacks = {}
    for appliance in store.appliances:
        existing = pinned.loopbacks.get(appliance.hostname) if pinned else None
        loopbacks[appliance.hostname] = existing or loopback_pool.allocate_address()
    transit = {}
    for link in store.wan:
        existing_net = pinned.transit.get(link.name) if pinned else None
        transit[link.name] = existing_net or transit_pool.allocate()
    return StoreAllocation.model_construct(
        block=block if needs_block else None, asn=asn, loopbacks=loopbacks, transit=transit
    )
