"""Load, validate and resolve a fleet directory: `fleet.yaml` + `stores/*.yaml` (+ the IPAM lock)."""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from storestack.inventory.errors import InventoryError, InventoryIssue, IpamExhaustedError
from storestack.inventory.fleet import (
    Fleet,
    ResolvedAppliance,
    ResolvedHub,
    ResolvedSegment,
    ResolvedStore,
    ResolvedWanLink,
)
from storestack.inventory.ipam import (
    LOCK_FILE_NAME,
    AllocationTable,
    AsnPool,
    HubAllocation,
    NetworkPool,
    PoolExhausted,
    StoreAllocation,
    read_allocations,
    write_allocations,
)
from storestack.inventory.models import SEGMENT_KINDS, FleetSpec, SegmentKind, StoreSpec
from storestack.inventory.source import Loc, SourceDocument, dotted, read_document
from storestack.inventory.validate import validate_document

FLEET_FILE = "fleet.yaml"
STORES_DIR = "stores"

# Where each segment sits inside a store block, in eighths of the block: (offset, eighths).
_SEGMENT_SLOTS: dict[SegmentKind, tuple[int, int]] = {
    "pos": (0, 1),
    "office": (1, 1),
    "cctv": (2, 1),
    "iot": (3, 1),
    "guest-wifi": (4, 2),
}


@dataclass
class _StoreSource:
    document: SourceDocument
    spec: StoreSpec


@dataclass
class LoadResult:
    fleet: Fleet
    allocations: AllocationTable
    lock_path: Path
    lock_changed: bool


def fleet_root(path: Path) -> Path:
    path = Path(path)
    return path.parent if path.is_file() else path


def load_fleet(path: Path | str, *, write_lock: bool = False) -> Fleet:
    """Load and validate a fleet; raises InventoryError with every issue found."""
    return load_fleet_with_allocations(Path(path), write_lock=write_lock).fleet


def load_fleet_with_allocations(path: Path, *, write_lock: bool = False) -> LoadResult:
    root = fleet_root(path)
    if not (root / FLEET_FILE).is_file():
        raise InventoryError([InventoryIssue(str(root / FLEET_FILE), 0, "", "fleet file not found")])
    issues: list[InventoryIssue] = []

    fleet_doc: SourceDocument | None = None
    fleet_spec: FleetSpec | None = None
    try:
        fleet_doc = read_document(root / FLEET_FILE, FLEET_FILE)
        fleet_spec, found = validate_document(FleetSpec, fleet_doc)
        issues.extend(found)
    except InventoryError as exc:
        issues.extend(exc.issues)

    stores: list[_StoreSource] = []
    store_files = sorted((root / STORES_DIR).glob("*.yaml")) if (root / STORES_DIR).is_dir() else []
    for file in store_files:
        display = f"{STORES_DIR}/{file.name}"
        try:
            document = read_document(file, display)
        except InventoryError as exc:
            issues.extend(exc.issues)
            continue
        spec, found = validate_document(StoreSpec, document)
        issues.extend(found)
        if spec is not None:
            if spec.id != file.stem:
                issues.append(
                    InventoryIssue(
                        display,
                        document.line_of(("id",)),
                        "id",
                        f"store id {spec.id!r} does not match its file name {file.stem!r}",
                    )
                )
            stores.append(_StoreSource(document, spec))

    if fleet_spec is None or fleet_doc is None:
        raise InventoryError(issues)
    issues.extend(_fleet_checks(fleet_spec, fleet_doc))
    issues.extend(_cross_checks(fleet_spec, fleet_doc, stores))
    if issues:
        raise InventoryError(issues)

    lock_path = root / LOCK_FILE_NAME
    try:
        previous = read_allocations(lock_path)
    except Exception as exc:  # a corrupt lock file is an inventory problem, reported like one
        raise InventoryError(
            [InventoryIssue(LOCK_FILE_NAME, 0, "", f"cannot read allocations: {exc}")]
        ) from None
    table, hubs, resolved = _resolve(fleet_spec, fleet_doc, stores, previous)
    changed = table.render() != previous.render()
    if write_lock and changed:
        write_allocations(lock_path, table)
    fleet = Fleet(fleet_spec, hubs, resolved, root)
    return LoadResult(fleet, table, lock_path, changed)


# ---------------------------------------------------------------- checks


def _issue(doc: SourceDocument, loc: Loc, message: str) -> InventoryIssue:
    return InventoryIssue(doc.display, doc.line_of(loc), dotted(loc), message)


def _fleet_checks(spec: FleetSpec, doc: SourceDocument) -> list[InventoryIssue]:
    issues: list[InventoryIssue] = []
    plan = spec.ip_plan
    supernets: list[tuple[Loc, ipaddress.IPv4Network]] = [
        (("ip_plan", "stores"), plan.stores),
        (("ip_plan", "cloud"), plan.cloud),
        (("ip_plan", "desktops"), plan.desktops),
        (("ip_plan", "transit"), plan.transit),
        (("ip_plan", "loopbacks"), plan.loopbacks),
        *((("ip_plan", "hq", index), net) for index, net in enumerate(plan.hq)),
    ]
    for i, (loc_a, net_a) in enumerate(supernets):
        for loc_b, net_b in supernets[i + 1 :]:
            if net_a.overlaps(net_b):
                issues.append(_issue(doc, loc_b, f"{net_b} overlaps {'.'.join(map(str, loc_a))} {net_a}"))
    if plan.store_block_prefix < plan.stores.prefixlen:
        issues.append(
            _issue(
                doc,
                ("ip_plan", "store_block_prefix"),
                f"/{plan.store_block_prefix} store blocks do not fit in {plan.stores}",
            )
        )
    hostnames: dict[str, int] = {}
    for index, hub in enumerate(spec.sites.hq.hubs):
        if hub.hostname in hostnames:
            issues.append(
                _issue(
                    doc,
                    ("sites", "hq", "hubs", index, "hostname"),
                    f"hostname {hub.hostname!r} is already used by hub [{hostnames[hub.hostname]}]",
                )
            )
        hostnames.setdefault(hub.hostname, index)
    low, high = spec.asn.store_range
    for name in ("hq", "aws", "openstack"):
        asn = getattr(spec.asn, name)
        if low <= asn <= high:
            issues.append(_issue(doc, ("asn", name), f"{asn} lies inside store_range {low}-{high}"))
    for index, policy in enumerate(spec.desktop_policies):
        for role_index, role in enumerate(policy.roles):
            if role not in spec.roles:
                issues.append(
                    _issue(
                        doc,
                        ("desktop_policies", index, "roles", role_index),
                        _unknown("role", role, spec.roles),
                    )
                )
        sites = (
            [a.name for a in spec.sites.aws]
            if policy.provider == "aws"
            else [s.name for s in spec.sites.openstack]
        )
        if policy.site not in sites:
            issues.append(
                _issue(
                    doc,
                    ("desktop_policies", index, "site"),
                    _unknown(f"{policy.provider} site", policy.site, sites),
                )
            )
        if policy.provider == "aws":
            regions = [r for a in spec.sites.aws if a.name == policy.site for r in a.regions]
            if policy.region is None:
                issues.append(
                    _issue(doc, ("desktop_policies", index, "region"), "aws desktop policies need a region")
                )
            elif regions and policy.region not in regions:
                issues.append(
                    _issue(
                        doc,
                        ("desktop_policies", index, "region"),
                        _unknown("region of that account", policy.region, regions),
                    )
                )
    return issues


def _unknown(what: str, value: str, known: Iterable[str]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(value, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(names)})" if names else ""
    return f"unknown {what} {value!r}{hint}"


def _cross_checks(
    spec: FleetSpec, fleet_doc: SourceDocument, stores: list[_StoreSource]
) -> list[InventoryIssue]:
    issues: list[InventoryIssue] = []
    hub_names = [hub.hostname for hub in spec.sites.hq.hubs]
    hostnames: dict[str, str] = {hub: f"{FLEET_FILE} (hub)" for hub in hub_names}
    ids: dict[str, str] = {}
    asns: dict[int, str] = {
        spec.asn.hq: "asn.hq",
        spec.asn.aws: "asn.aws",
        spec.asn.openstack: "asn.openstack",
    }
    low, high = spec.asn.store_range
    aws_regions = {region for account in spec.sites.aws for region in account.regions}
    openstack_sites = [site.name for site in spec.sites.openstack]
    plan = spec.ip_plan
    foreign_supernets = [
        ("ip_plan.cloud", plan.cloud),
        ("ip_plan.desktops", plan.desktops),
        ("ip_plan.transit", plan.transit),
        ("ip_plan.loopbacks", plan.loopbacks),
    ]
    foreign_supernets += [(f"ip_plan.hq[{i}]", net) for i, net in enumerate(plan.hq)]
    explicit_subnets: list[tuple[ipaddress.IPv4Network, SourceDocument, Loc]] = []

    for source in stores:
        doc, store = source.document, source.spec
        if store.id in ids:
            issues.append(_issue(doc, ("id",), f"store id {store.id!r} is already used by {ids[store.id]}"))
        ids.setdefault(store.id, doc.display)
        if store.hub not in hub_names:
            issues.append(_issue(doc, ("hub",), _unknown("hub", store.hub, hub_names)))
        if store.region not in spec.regions:
            issues.append(_issue(doc, ("region",), _unknown("region", store.region, spec.regions)))
        if store.asn is not None:
            if not low <= store.asn <= high:
                issues.append(_issue(doc, ("asn",), f"{store.asn} is outside asn.store_range {low}-{high}"))
            elif store.asn in asns:
                issues.append(_issue(doc, ("asn",), f"ASN {store.asn} is already used by {asns[store.asn]}"))
            asns.setdefault(store.asn, doc.display)
        for index, appliance in enumerate(store.appliances):
            if appliance.hostname in hostnames:
                issues.append(
                    _issue(
                        doc,
                        ("appliances", index, "hostname"),
                        f"hostname {appliance.hostname!r} is already used in {hostnames[appliance.hostname]}",
                    )
                )
            hostnames.setdefault(appliance.hostname, doc.display)
        vlans: dict[int, str] = {}
        for kind, segment in store.lan.items():
            if segment.vlan in vlans:
                issues.append(
                    _issue(
                        doc,
                        ("lan", kind, "vlan"),
                        f"VLAN {segment.vlan} is already used by segment {vlans[segment.vlan]!r}",
                    )
                )
            vlans.setdefault(segment.vlan, kind)
            if segment.subnet is not None:
                if segment.subnet.prefixlen > 29:
                    issues.append(
                        _issue(
                            doc,
                            ("lan", kind, "subnet"),
                            f"{segment.subnet} is too small for a LAN (at most /29)",
                        )
                    )
                explicit_subnets.append((segment.subnet, doc, ("lan", kind, "subnet")))
        link_names: set[str] = set()
        for index, link in enumerate(store.wan):
            if link.name in link_names:
                issues.append(_issue(doc, ("wan", index, "name"), f"link name {link.name!r} is used twice"))
            link_names.add(link.name)
        for role, seats in store.desktops.items():
            if role not in spec.roles:
                issues.append(_issue(doc, ("desktops", role), _unknown("role", role, spec.roles)))
            if seats < 0:
                issues.append(_issue(doc, ("desktops", role), f"{seats} is not a seat count"))
        if store.cloud.aws_region is not None and store.cloud.aws_region not in aws_regions:
            issues.append(
                _issue(
                    doc, ("cloud", "aws_region"), _unknown("AWS region", store.cloud.aws_region, aws_regions)
                )
            )
        if store.cloud.openstack_site is not None and store.cloud.openstack_site not in openstack_sites:
            issues.append(
                _issue(
                    doc,
                    ("cloud", "openstack_site"),
                    _unknown("OpenStack site", store.cloud.openstack_site, openstack_sites),
                )
            )

    explicit_subnets.sort(key=lambda item: (int(item[0].network_address), -item[0].prefixlen))
    widest: tuple[ipaddress.IPv4Network, SourceDocument, Loc] | None = None
    for net, doc, loc in explicit_subnets:
        if widest is not None and net.overlaps(widest[0]):
            other_doc, other_loc = widest[1], widest[2]
            issues.append(
                _issue(
                    doc,
                    loc,
                    f"{net} overlaps {widest[0]} ({other_doc.display}:"
                    f"{other_doc.line_of(other_loc)} {dotted(other_loc)})",
                )
            )
        if widest is None or int(net.broadcast_address) > int(widest[0].broadcast_address):
            widest = (net, doc, loc)
        for label, supernet in foreign_supernets:
            if net.overlaps(supernet):
                issues.append(_issue(doc, loc, f"{net} overlaps {label} {supernet}"))
    return issues


# ---------------------------------------------------------------- resolution


def _exhausted(fleet_doc: SourceDocument, exc: PoolExhausted, store_id: str) -> IpamExhaustedError:
    loc: Loc = ("asn", "store_range") if exc.pool.startswith("asn") else tuple(exc.pool.split("."))
    issue = _issue(fleet_doc, loc, f"IPAM exhausted: {exc} while allocating for store {store_id!r}")
    return IpamExhaustedError([issue])


def _resolve(
    spec: FleetSpec, fleet_doc: SourceDocument, stores: list[_StoreSource], previous: AllocationTable
) -> tuple[AllocationTable, dict[str, ResolvedHub], dict[str, ResolvedStore]]:
    plan = spec.ip_plan
    block_pool = NetworkPool("ip_plan.stores", plan.stores, plan.store_block_prefix)
    transit_pool = NetworkPool("ip_plan.transit", plan.transit, 31)
    loopback_pool = NetworkPool("ip_plan.loopbacks", plan.loopbacks, 32)
    # The supernet's own network address is never a usable loopback.
    loopback_pool.reserve(ipaddress.IPv4Network(plan.loopbacks.network_address))
    low, high = spec.asn.store_range
    asn_pool = AsnPool(low, high)
    present = {source.spec.id for source in stores}
    table = AllocationTable()

    # Reserve before allocating: pinned allocations (also of stores removed since, so their
    # numbers are not handed to someone else while configs may still reference them) and
    # every explicit value in the inventory.
    for hub_alloc in previous.hubs.values():
        loopback_pool.reserve(ipaddress.IPv4Network(hub_alloc.loopback))
    for store_id, alloc in previous.stores.items():
        if alloc.block is not None:
            block_pool.reserve(alloc.block)
        for net in alloc.transit.values():
            transit_pool.reserve(net)
        for address in alloc.loopbacks.values():
            loopback_pool.reserve(ipaddress.IPv4Network(address))
        asn_pool.reserve(alloc.asn)
        if store_id not in present:
            table.stores[store_id] = alloc
    for source in stores:
        if source.spec.asn is not None:
            asn_pool.reserve(source.spec.asn)
        for segment in source.spec.lan.values():
            if segment.subnet is not None:
                block_pool.reserve(segment.subnet)

    hubs: dict[str, ResolvedHub] = {}
    for hub in spec.sites.hq.hubs:
        pinned = previous.hubs.get(hub.hostname)
        try:
            loopback = pinned.loopback if pinned else loopback_pool.allocate().network_address
        except PoolExhausted as exc:
            raise _exhausted(fleet_doc, exc, hub.hostname) from None
        table.hubs[hub.hostname] = HubAllocation(loopback=loopback)
        hubs[hub.hostname] = ResolvedHub(
            hostname=hub.hostname,
            platform=hub.platform,
            management_address=hub.management_address,
            public_address=hub.public_address,
            loopback=loopback,
            asn=spec.asn.hq,
            serial=hub.serial,
            ssh_host_key=hub.ssh_host_key,
        )
    hub_order = list(hubs)

    resolved: dict[str, ResolvedStore] = {}
    for source in sorted(stores, key=lambda s: s.spec.id):
        store = source.spec
        pinned_alloc = previous.stores.get(store.id)
        try:
            alloc = _allocate_store(store, pinned_alloc, block_pool, transit_pool, loopback_pool, asn_pool)
        except PoolExhausted as exc:
            raise _exhausted(fleet_doc, exc, store.id) from None
        table.stores[store.id] = alloc
        backup = _backup_hub(store.hub, hub_order)
        resolved[store.id] = _resolved_store(
            source, alloc, store.hub, backup, provisional=pinned_alloc is None
        )
    table.stores = dict(sorted(table.stores.items()))
    return table, hubs, resolved


def _backup_hub(primary: str, hub_order: list[str]) -> str:
    if len(hub_order) == 1:
        return primary
    return hub_order[(hub_order.index(primary) + 1) % len(hub_order)]


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
        loopbacks[appliance.hostname] = existing or loopback_pool.allocate().network_address
    transit = {}
    for link in store.wan:
        existing_net = pinned.transit.get(link.name) if pinned else None
        transit[link.name] = existing_net or transit_pool.allocate()
    return StoreAllocation(
        block=block if needs_block else None, asn=asn, loopbacks=loopbacks, transit=transit
    )


def _segment_subnet(block: ipaddress.IPv4Network, kind: SegmentKind) -> ipaddress.IPv4Network:
    offset, eighths = _SEGMENT_SLOTS[kind]
    size = block.num_addresses // 8
    prefix = block.prefixlen + 3 - (eighths.bit_length() - 1)
    return ipaddress.IPv4Network((int(block.network_address) + offset * size, prefix))


def _resolved_store(
    source: _StoreSource, alloc: StoreAllocation, primary_hub: str, backup_hub: str, *, provisional: bool
) -> ResolvedStore:
    store = source.spec
    segments: dict[SegmentKind, ResolvedSegment] = {}
    for kind in SEGMENT_KINDS:
        segment = store.lan.get(kind)
        if segment is None:
            continue
        subnet = segment.subnet
        if subnet is None:
            assert alloc.block is not None
            subnet = _segment_subnet(alloc.block, kind)
        hosts = subnet.num_addresses
        segments[kind] = ResolvedSegment(
            kind=kind,
            vlan=segment.vlan,
            subnet=subnet,
            gateway=subnet.network_address + 1,
            dhcp_start=subnet.network_address + min(10, hosts // 4),
            dhcp_end=subnet.broadcast_address - 1,
            advertised=kind != "guest-wifi",
        )
    ordered = sorted(store.wan, key=lambda link: (link.priority, link.name))
    all_cellular = all(link.cellular for link in ordered)
    wan: list[ResolvedWanLink] = []
    for index, link in enumerate(ordered):
        to_primary = (index == 0) if all_cellular else not link.cellular
        net = alloc.transit[link.name]
        hub_side, store_side = net.network_address, net.network_address + 1
        wan.append(
            ResolvedWanLink(
                name=link.name,
                kind=link.kind,
                isp=link.isp,
                bandwidth_mbps=link.bandwidth_mbps,
                addressing=link.addressing,
                address=link.address,
                gateway=link.gateway,
                monthly_cost=link.monthly_cost,
                priority=link.priority,
                cellular=link.cellular,
                hub=primary_hub if to_primary else backup_hub,
                primary=index == 0,
                overlay=ipaddress.IPv4Interface(f"{store_side}/31"),
                overlay_peer=hub_side,
            )
        )
    appliances = [
        ResolvedAppliance(
            hostname=appliance.hostname,
            platform=appliance.platform,
            management_address=appliance.management_address or alloc.loopbacks[appliance.hostname],
            loopback=alloc.loopbacks[appliance.hostname],
            serial=appliance.serial,
            ssh_host_key=appliance.ssh_host_key,
        )
        for appliance in store.appliances
    ]
    return ResolvedStore(
        id=store.id,
        name=store.name,
        city=store.city,
        format=store.format,
        region=store.region,
        state=store.state,
        asn=alloc.asn,
        block=alloc.block,
        segments=segments,
        wan=wan,
        appliances=appliances,
        primary_hub=primary_hub,
        backup_hub=backup_hub,
        desktops=dict(store.desktops),
        cloud=store.cloud,
        source_file=source.document.display,
        provisional=provisional,
    )
