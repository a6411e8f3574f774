"""The resolved fleet: every store with its addressing, ASN and hub peers filled in.

This is what every other concern reads. Values here have passed schema validation and the
fleet-wide checks, so templates and components can trust them.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from storestack.common.errors import InventoryFamily, UsageError
from storestack.common.platforms import application_hash_blocks
from storestack.inventory.models import (
    CloudAffinity,
    DesktopUserSpec,
    FleetSpec,
    LifecycleState,
    Platform,
    SegmentKind,
    SlaPolicy,
    StoreFormat,
    WanKind,
)
from storestack.inventory.paths import FLEET_FILE
from storestack.inventory.types import describe
from storestack.network.cloud import cloud_site_keys, openstack_aws_block


class Resolved(BaseModel):
    """A resolved value. The loader validates these from values it has validated or computed
    (a whole store in one `model_validate`, which costs less than `model_construct` per model)."""

    model_config = ConfigDict(frozen=True)


class ResolvedSegment(Resolved):
    kind: SegmentKind
    vlan: int
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    dhcp_start: ipaddress.IPv4Address
    dhcp_end: ipaddress.IPv4Address
    advertised: bool


class ResolvedWanLink(Resolved):
    name: str
    kind: WanKind
    isp: str
    bandwidth_mbps: int
    addressing: str
    address: ipaddress.IPv4Interface | None
    gateway: ipaddress.IPv4Address | None
    monthly_cost: int
    priority: int
    cellular: bool
    cost_per_gb: float
    data_cap_gb: int | None
    # The link's IP MTU: the inventory's, else its kind's default (`models.UNDERLAY_MTU`).
    mtu: int
    # The appliance's WAN port it is cabled to (`models.wan_link_ports`): the inventory's `port`,
    # else its place in the store's links; `port_stated`: whether the inventory states it.
    port: int
    port_stated: bool
    hub: str
    primary: bool
    overlay: ipaddress.IPv4Interface
    overlay_peer: ipaddress.IPv4Address
    # The /29 of the link's two AWS tunnels' inside /30s (IPAM, per region); None off AWS.
    aws_inside: ipaddress.IPv4Network | None = None


class ResolvedAppliance(Resolved):
    hostname: str
    platform: Platform
    management_address: ipaddress.IPv4Address
    loopback: ipaddress.IPv4Address
    serial: str | None
    ssh_host_key: str | None


class ResolvedHub(Resolved):
    hostname: str
    platform: Platform
    management_address: ipaddress.IPv4Address
    public_address: ipaddress.IPv4Address
    loopback: ipaddress.IPv4Address
    asn: int
    dc_address: ipaddress.IPv4Address  # on the DC core LAN (inventory.hq)
    # The port it holds management_address on, as the inventory names it; None: the platform's
    # (common/platforms.py HUB_MANAGEMENT_PORT, applied by the network intent).
    management_port: str | None = None
    # The router on the management LAN the port reaches the other management ranges through.
    management_gateway: ipaddress.IPv4Address | None = None
    serial: str | None
    ssh_host_key: str | None
    uplink_mbps: int | None = None  # the tunnels' rate through the DC's internet edge
    # IPAM's host address the hub announces to its stores only while it offers HQ
    # (`network.model.HubBeacon`); None only for a fleet built in code without one.
    beacon: ipaddress.IPv4Address | None = None


class ResolvedStore(Resolved):
    id: str
    name: str
    city: str
    format: StoreFormat
    region: str
    state: LifecycleState
    asn: int
    block: ipaddress.IPv4Network | None
    segments: dict[SegmentKind, ResolvedSegment]
    wan: list[ResolvedWanLink]
    appliances: list[ResolvedAppliance]
    primary_hub: str
    backup_hub: str
    desktops: dict[str, int]
    cloud: CloudAffinity
    sla: SlaPolicy  # the fleet's, with the store's own classes and applications in place
    source_file: str
    provisional: bool
    desktop_users: tuple[DesktopUserSpec, ...] = ()

    @property
    def advertised_prefixes(self) -> list[ipaddress.IPv4Network]:
        """The store's own prefixes it may announce: every segment but guest Wi-Fi."""
        return [segment.subnet for segment in self.segments.values() if segment.advertised]

    @property
    def lte_only(self) -> bool:
        return all(link.cellular for link in self.wan)

    @property
    def hubs(self) -> list[str]:
        """Every hub the store's tunnels reach: each transport reaches the primary and the backup hub."""
        return sorted({self.primary_hub, self.backup_hub})


StoreFilter = Callable[[ResolvedStore], bool]


class CloudSlots(BaseModel):
    """The cloud tunnels' slots IPAM pinned in the lock file (`inventory/ipam.py`, rules in
    `network/cloud.py`): each hub's, AWS region's and OpenStack site's, and each site gateway's
    /29 towards each region; each hub's cloud rank and each AWS account's data region. A fleet
    built in code without them (`Fleet(...)` in tests) takes the fleet order's, as a lock written
    before slots does for the entries it lacks."""

    model_config = ConfigDict(frozen=True)

    hubs: dict[str, int] = {}
    cloud_ranks: dict[str, int] = {}  # by hub
    data_regions: dict[str, str] = {}  # by AWS account name
    aws_regions: dict[str, int] = {}
    openstack_sites: dict[str, int] = {}
    openstack_aws_inside: dict[str, dict[str, ipaddress.IPv4Network]] = {}
    # Each cloud site's share of the cloud and desktop ranges, by `cloud_site_keys` key.
    ranges: dict[str, int] = {}
    # Each SLA class's and application class's number by name (common/platforms.py
    # SLA_CLASS_NUMBERS, APPLICATION_NUMBERS), pinned beside them.
    sla_classes: dict[str, int] = {}
    applications: dict[str, int] = {}


class Fleet:
    """A validated fleet. `filter()` returns a copy, as Nornir's inventory does."""

    def __init__(
        self,
        spec: FleetSpec,
        hubs: dict[str, ResolvedHub],
        stores: dict[str, ResolvedStore],
        root: Path,
        removed: tuple[str, ...] = (),
        *,
        secret_lines: Mapping[str, int] | None = None,
        spec_file: str = FLEET_FILE,
        cloud_slots: CloudSlots | None = None,
    ) -> None:
        self.spec = spec
        self.cloud_slots = cloud_slots or CloudSlots()
        self.hubs = hubs
        self.stores = dict(sorted(stores.items()))
        self.root = root
        # Stores the lock file still pins but the inventory no longer has: their stacks are
        # to be destroyed (and their numbers stay reserved until the lock entry is deleted).
        self.removed = tuple(sorted(removed))
        # Where each `management.secrets` reference is written: the file the spec was read from
        # and the reference's line there (its section's, for a default the file does not write),
        # so an unusable secret names the entry to fix.
        self.spec_file = spec_file
        self.secret_lines = dict(secret_lines or {})

    def __len__(self) -> int:
        return len(self.stores)

    def __iter__(self) -> Iterator[ResolvedStore]:
        return iter(self.stores.values())

    def store(self, store_id: str) -> ResolvedStore:
        try:
            return self.stores[store_id]
        except KeyError:
            raise UnknownStoreError(store_id, sorted(self.stores)) from None

    def filter(
        self,
        predicate: StoreFilter | None = None,
        *,
        ids: list[str] | None = None,
        region: str | None = None,
        format: str | None = None,
        platform: str | None = None,
        state: str | None = None,
    ) -> Fleet:
        if ids:
            for store_id in ids:
                self.store(store_id)
        if region is not None and region not in self.spec.regions:
            raise UnknownRegionError(region, list(self.spec.regions))
        wanted = set(ids or ())

        def keep(store: ResolvedStore) -> bool:
            return (
                (not wanted or store.id in wanted)
                and (region is None or store.region == region)
                and (format is None or store.format == format)
                and (state is None or store.state == state)
                and (platform is None or any(a.platform == platform for a in store.appliances))
                and (predicate is None or predicate(store))
            )

        # Removed stores have no attributes to match: only the whole fleet keeps them.
        unfiltered = not wanted and predicate is None and not any((region, format, platform, state))
        # A new Fleet with its own dicts: changing the copy's mappings never touches this one
        # (the models inside are frozen, so sharing them is safe).
        return Fleet(
            self.spec,
            dict(self.hubs),
            {s.id: s for s in self.stores.values() if keep(s)},
            self.root,
            self.removed if unfiltered else (),
            secret_lines=self.secret_lines,
            spec_file=self.spec_file,
            cloud_slots=self.cloud_slots,
        )

    def hub_slot(self, hub: str) -> int:
        """Hub `hub`'s cloud tunnel slot (`network/cloud.py` `hub_aws_inside`, `hub_openstack_inside`)."""
        slot = self.cloud_slots.hubs.get(hub)
        return list(self.hubs).index(hub) if slot is None else slot

    def sla_class_number(self, name: str) -> int:
        """SLA class `name`'s number (1..SLA_CLASS_NUMBERS; a FortiOS store's SLA id): IPAM's pin,
        else (a fleet built in code) its place among every class in name order."""
        number = self.cloud_slots.sla_classes.get(name)
        if number is None:
            return sorted(self._steering_names("classes")).index(name) + 1
        return number

    def application_number(self, name: str) -> int:
        """Application class `name`'s number (0..APPLICATION_NUMBERS - 1; a FortiOS store's block
        of SD-WAN rules): IPAM's pin, else (a fleet built in code) its name's block."""
        number = self.cloud_slots.applications.get(name)
        if number is None:
            return application_hash_blocks(self._steering_names("applications"))[name]
        return number

    def _steering_names(self, kind: str) -> list[str]:
        fleet = list(getattr(self.spec.sla, kind))
        own = (name for store in self.stores.values() for name in getattr(store.sla, kind))
        return list(dict.fromkeys([*fleet, *own]))

    def hub_cloud_rank(self, hub: str) -> int:
        """Hub `hub`'s rank towards the clouds (`network/cloud.py` `BGP_DEFAULT_LOCAL_PREF`): the
        inventory's `cloud_rank`, else IPAM's pin, else its place among the hubs."""
        rank = self.cloud_slots.cloud_ranks.get(hub)
        if rank is None:
            stated = next((h.cloud_rank for h in self.spec.sites.hq.hubs if h.hostname == hub), None)
            return list(self.hubs).index(hub) if stated is None else stated
        return rank

    def data_region(self, account: str) -> str:
        """The region of AWS account `account`'s staff data bucket: the inventory's `data_region`,
        else IPAM's pin, else the account's first region."""
        region = self.cloud_slots.data_regions.get(account)
        if region is None:
            (spec,) = [a for a in self.spec.sites.aws if a.name == account]
            return spec.data_region or spec.regions[0]
        return region

    def aws_region_slot(self, region: str) -> int:
        """AWS region `region`'s slot among a hub's AWS tunnels (`hub_aws_inside`)."""
        slot = self.cloud_slots.aws_regions.get(region)
        if slot is None:
            return sorted({r for account in self.spec.sites.aws for r in account.regions}).index(region)
        return slot

    def openstack_site_slot(self, site: str) -> int:
        """OpenStack site `site`'s slot (`hub_openstack_inside`, `planned_openstack_gateway`)."""
        slot = self.cloud_slots.openstack_sites.get(site)
        return [s.name for s in self.spec.sites.openstack].index(site) if slot is None else slot

    def cloud_range_slot(self, key: str) -> int:
        """Cloud site `key`'s (`aws:<region>`, `openstack:<name>`) share of the cloud and desktop
        ranges (`network/cloud.py` `cloud_slot`): where the core stack builds its networks."""
        slot = self.cloud_slots.ranges.get(key)
        if slot is None:
            sites = self.spec.sites
            keys = cloud_site_keys((r for account in sites.aws for r in account.regions), (s.name for s in sites.openstack))
            return keys.index(key)
        return slot

    def openstack_aws_block(self, site: str, region: str) -> ipaddress.IPv4Network:
        """The /29 of OpenStack site `site`'s gateway's two AWS tunnels to `region` (tunnel 1 the
        lower /30, `network/cloud.py` `store_aws_inside`)."""
        block = self.cloud_slots.openstack_aws_inside.get(site, {}).get(region)
        if block is None:
            regions = list(dict.fromkeys(r for account in self.spec.sites.aws for r in account.regions))
            return openstack_aws_block(self.openstack_site_slot(site), regions.index(region))
        return block

    @property
    def provisional_stores(self) -> list[str]:
        return [store.id for store in self.stores.values() if store.provisional]

    def hub_peers(self, hub: str) -> list[tuple[ResolvedStore, ResolvedWanLink]]:
        """Every (store, link) whose overlay terminates on `hub`, in store order."""
        return [(store, link) for store in self.stores.values() for link in store.wan if link.hub == hub]


class UnknownRegionError(InventoryFamily, UsageError):
    """A region the fleet does not operate in (`fleet.yaml` `regions`): a filter by it would
    match no store, as if the region had none."""

    def __init__(self, region: str, known: list[str]) -> None:
        self.region = region
        super().__init__(f"unknown region {describe(region)} (regions: {', '.join(known)})")


class UnknownStoreError(InventoryFamily, UsageError, KeyError):
    """A store id the inventory does not have; a KeyError too, as a failed mapping lookup is."""

    def __init__(self, store_id: str, known: list[str]) -> None:
        self.store_id = store_id
        self.suggestions = suggest(store_id, known)
        if self.suggestions:
            hint = f" (did you mean {' or '.join(repr(name) for name in self.suggestions)}?)"
        else:
            hint = f" ({len(known)} stores; `storestack inventory list` shows them)"
        super().__init__(f"no store {describe(store_id)} in the inventory{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


def suggest(value: str, known: list[str], limit: int = 3) -> list[str]:
    """Known names close to `value`: by spelling, else those holding it (`7` → `nw-0007`)."""
    close = difflib.get_close_matches(value.lower(), known, n=1)
    if close:
        return close
    needle = value.lower().strip()
    return [name for name in known if needle and needle in name][:limit]
