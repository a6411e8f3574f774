"""Load, validate and resolve a fleet.

A fleet is a directory (`fleet.yaml` + `stores/*.yaml` + the IPAM lock `allocations.yaml`) or a
bundle: one multi-document YAML stream whose first document is the fleet and every other one a
store (what `storestack inventory generate` writes to stdout). Both report the same errors, the
bundle naming each store document `stores/<id>.yaml` as if it were a file.

Every problem found is reported at once: schema errors of every file, then the fleet-wide
checks. Only when those pass are addresses and ASNs resolved.
"""

from __future__ import annotations

import bisect
import difflib
import gc
import ipaddress
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from storestack.inventory import addresses
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
    MAX_LOCK_BYTES,
    AllocationTable,
    AsnPool,
    HubAllocation,
    NetworkPool,
    PoolExhausted,
    StoreAllocation,
    allocations_from_document,
    write_allocations,
)
from storestack.inventory.models import SEGMENT_KINDS, FleetSpec, SegmentKind, StoreSpec
from storestack.inventory.source import (
    MAX_FILE_BYTES,
    Loc,
    ParseJob,
    ParseOutcome,
    SourceDocument,
    dotted,
    parse_many,
    split_bundle,
)
from storestack.inventory.validate import validate_document

FLEET_FILE = "fleet.yaml"
STORES_DIR = "stores"
MAX_BUNDLE_BYTES = 256_000_000

# Where each segment sits inside a store block, in eighths of the block: (offset, eighths).
_SEGMENT_SLOTS: dict[SegmentKind, tuple[int, int]] = {
    "pos": (0, 1),
    "office": (1, 1),
    "cctv": (2, 1),
    "iot": (3, 1),
    "guest-wifi": (4, 2),
}
_BUNDLE_STORE_ID = re.compile(
    r"^id:[ \t]*([\"']?)([a-z][a-z0-9-]{0,30}[a-z0-9])\1[ \t]*(?:#.*)?$", re.MULTILINE
)


@dataclass
class _StoreSource:
    document: SourceDocument
    spec: StoreSpec


@dataclass
class _Lock:
    table: AllocationTable
    document: SourceDocument


def _differs(table: AllocationTable, previous: AllocationTable) -> bool:
    return (table.version, table.hubs, table.stores) != (previous.version, previous.hubs, previous.stores)


@dataclass
class LoadResult:
    fleet: Fleet
    allocations: AllocationTable
    lock_path: Path | None
    lock_changed: bool


def fleet_root(path: Path) -> Path:
    path = Path(path)
    return path.parent if path.is_file() else path


def load_fleet(path: Path | str, *, write_lock: bool = False) -> Fleet:
    """Load and validate a fleet directory; raises InventoryError with every issue found."""
    return load_fleet_with_allocations(Path(path), write_lock=write_lock).fleet


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Loading builds a few million small acyclic objects; the cyclic collector would walk
    them again and again (about half of a 10,000-store load) and free nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_fleet_with_allocations(path: Path, *, write_lock: bool = False) -> LoadResult:
    """Load a fleet directory (or its `fleet.yaml`), and pin new allocations when `write_lock`."""
    with _without_cyclic_gc():
        return _load_directory(Path(path), write_lock=write_lock)


def _load_directory(path: Path, *, write_lock: bool) -> LoadResult:
    root = fleet_root(Path(path))
    if not (root / FLEET_FILE).is_file():
        raise InventoryError([InventoryIssue(str(root / FLEET_FILE), 0, "", "fleet file not found")])
    issues: list[InventoryIssue] = []
    jobs = [ParseJob(FLEET_FILE, path=root / FLEET_FILE)]
    expected_ids: list[str | None] = []
    stores_dir = root / STORES_DIR
    entries = sorted(os.scandir(stores_dir), key=lambda e: e.name) if stores_dir.is_dir() else []
    for entry in entries:
        display = f"{STORES_DIR}/{entry.name}"
        if entry.name.endswith(".yaml"):
            jobs.append(ParseJob(display, path=Path(entry.path)))
            expected_ids.append(entry.name.removesuffix(".yaml"))
        elif entry.name.endswith(".yml"):
            issues.append(InventoryIssue(display, 0, "", "store files must be named <id>.yaml (not .yml)"))
    lock_path = root / LOCK_FILE_NAME
    has_lock = lock_path.is_file()
    if has_lock:
        # Last in the list: a second core, when there is one, starts with it.
        jobs.append(ParseJob(LOCK_FILE_NAME, path=lock_path, limit=MAX_LOCK_BYTES))
    parsed = _parse_and_validate(jobs, expected_ids, with_lock=has_lock)
    lock = _lock(parsed.lock, issues)
    issues += parsed.issues
    fleet, table = _load(parsed.fleet, parsed.stores, lock, issues, root)
    assert lock is not None  # _load raised otherwise
    changed = _differs(table, lock.table)
    if write_lock:
        changed = write_allocations(lock_path, table)  # also rewrites a lock edited by hand
    return LoadResult(fleet, table, lock_path, changed)


def load_fleet_bundle(
    text: str, *, name: str = "<stdin>", allocations: AllocationTable | None = None
) -> Fleet:
    """Load and validate a fleet bundle (a multi-document YAML stream); raises InventoryError."""
    return load_bundle_with_allocations(text, name=name, allocations=allocations).fleet


def load_bundle_with_allocations(
    text: str,
    *,
    name: str = "<stdin>",
    allocations: AllocationTable | None = None,
    root: Path | None = None,
) -> LoadResult:
    """A bundle's first document is the fleet, every other document one store.

    Store documents are named `stores/<id>.yaml` in errors (by the `id:` line they hold) and
    line numbers count from the document's first line, so errors read exactly as they would
    for the same fleet on disk. `allocations` pins IPAM like a lock file would.
    """
    with _without_cyclic_gc():
        return _load_bundle(text, name, allocations, root)


def _load_bundle(text: str, name: str, allocations: AllocationTable | None, root: Path | None) -> LoadResult:
    if len(text) > MAX_BUNDLE_BYTES:
        raise InventoryError([InventoryIssue(name, 0, "", f"bundle is larger than {MAX_BUNDLE_BYTES} bytes")])
    chunks = split_bundle(text)
    if not chunks:
        raise InventoryError(
            [InventoryIssue(name, 1, "", "bundle is empty (expected the fleet, then stores)")]
        )
    issues: list[InventoryIssue] = []
    jobs = [ParseJob(FLEET_FILE, text=chunks[0].text)]
    seen: set[str] = {FLEET_FILE}
    for chunk in chunks[1:]:
        found = _BUNDLE_STORE_ID.search(chunk.text)
        display = f"{STORES_DIR}/{found.group(2)}.yaml" if found else f"{name}#{chunk.number}"
        if display in seen:
            display = f"{display}#{chunk.number}"
        seen.add(display)
        if len(chunk.text) > MAX_FILE_BYTES:
            issues.append(InventoryIssue(display, 0, "", f"document is larger than {MAX_FILE_BYTES} bytes"))
            continue
        jobs.append(ParseJob(display, text=chunk.text))
    parsed = _parse_and_validate(jobs, [None] * (len(jobs) - 1), with_lock=False)
    issues += parsed.issues
    table = allocations or AllocationTable()
    lock = _Lock(table, SourceDocument(LOCK_FILE_NAME, {}, {}))
    fleet, resolved_table = _load(parsed.fleet, parsed.stores, lock, issues, root or Path.cwd())
    return LoadResult(fleet, resolved_table, None, _differs(resolved_table, table))


# What schema validation made of a document: the model, or None and the issues found.
_Validation = tuple[BaseModel | None, list[InventoryIssue]]
# A parsed store file, its validation, and the id its file name promises (bundles: None).
_ValidatedStore = tuple[SourceDocument, _Validation, str | None]


@dataclass
class _Parsed:
    fleet: tuple[SourceDocument, _Validation] | None  # None: fleet.yaml did not parse
    stores: list[_ValidatedStore]  # the store documents that parsed
    lock: ParseOutcome | None  # the lock file, left to allocations_from_document
    issues: list[InventoryIssue]  # what stopped documents from parsing


def _parse_and_validate(jobs: list[ParseJob], expected_ids: list[str | None], *, with_lock: bool) -> _Parsed:
    """Parse the fleet file (job 0), the stores and, `with_lock`, the lock file (the last job).

    Each document is validated as it arrives from parse_many, so validation overlaps the
    parsing still going on in its helper process.
    """
    lock_index = len(jobs) - 1 if with_lock else None
    validations: dict[int, _Validation] = {}

    def validate(index: int, outcome: ParseOutcome) -> None:
        if isinstance(outcome, SourceDocument) and index != lock_index:
            validations[index] = validate_document(FleetSpec if index == 0 else StoreSpec, outcome)

    outcomes = parse_many(jobs, then=validate)
    issues: list[InventoryIssue] = []
    lock = outcomes.pop() if with_lock else None
    fleet_doc = _collect(outcomes[0], issues)
    stores: list[_ValidatedStore] = []
    for index, (outcome, expected_id) in enumerate(zip(outcomes[1:], expected_ids, strict=True), start=1):
        document = _collect(outcome, issues)
        if document is not None:
            stores.append((document, validations[index], expected_id))
    fleet = (fleet_doc, validations[0]) if fleet_doc is not None else None
    return _Parsed(fleet, stores, lock, issues)


def _collect(outcome: ParseOutcome, issues: list[InventoryIssue]) -> SourceDocument | None:
    if isinstance(outcome, SourceDocument):
        return outcome
    issues.extend(outcome)
    return None


def _lock(outcome: ParseOutcome | None, issues: list[InventoryIssue]) -> _Lock | None:
    """The parsed lock file (None: there is none yet), or None with its problems in `issues`."""
    if outcome is None:
        return _Lock(AllocationTable(), SourceDocument(LOCK_FILE_NAME, {}, {}))
    document = _collect(outcome, issues)
    if document is None:
        return None
    try:
        return _Lock(allocations_from_document(document), document)
    except InventoryError as exc:
        issues.extend(exc.issues)
        return None


def _load(
    fleet_validated: tuple[SourceDocument, _Validation] | None,
    store_docs: list[_ValidatedStore],
    lock: _Lock | None,
    issues: list[InventoryIssue],
    root: Path,
) -> tuple[Fleet, AllocationTable]:
    fleet_spec: FleetSpec | None = None
    fleet_doc: SourceDocument | None = None
    if fleet_validated is not None:
        fleet_doc, (fleet_model, found) = fleet_validated
        fleet_spec = fleet_model if isinstance(fleet_model, FleetSpec) else None
        issues.extend(found)
    stores: list[_StoreSource] = []
    for document, (spec, found), expected_id in store_docs:
        issues.extend(found)
        if not isinstance(spec, StoreSpec):
            continue
        if expected_id is not None and spec.id != expected_id:
            issues.append(
                _issue(
                    document, ("id",), f"store id {spec.id!r} does not match its file name {expected_id!r}"
                )
            )
        stores.append(_StoreSource(document, spec))

    if fleet_spec is None or fleet_doc is None:
        raise InventoryError(issues)
    issues.extend(_fleet_checks(fleet_spec, fleet_doc))
    issues.extend(_cross_checks(fleet_spec, fleet_doc, stores))
    if lock is not None:
        issues.extend(_lock_checks(fleet_spec, lock))
    if issues or lock is None:
        raise InventoryError(issues)

    table, hubs, resolved = _resolve(fleet_spec, fleet_doc, stores, lock.table)
    late = _resolved_checks(fleet_spec, fleet_doc, stores, hubs, resolved, table, lock)
    if late:
        raise InventoryError(late)
    return Fleet(fleet_spec, hubs, resolved, root), table


# ---------------------------------------------------------------- checks


def _issue(doc: SourceDocument, loc: Loc, message: str) -> InventoryIssue:
    return InventoryIssue(doc.display, doc.line_of(loc), dotted(loc), message)


def _where(doc: SourceDocument, loc: Loc) -> str:
    return f"{doc.display}:{doc.line_of(loc)} {dotted(loc)}"


def _unknown(what: str, value: str, known: Iterable[str]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(value, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(names)})" if names else ""
    return f"unknown {what} {value!r}{hint}"


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
                issues.append(_issue(doc, loc_b, f"{net_b} overlaps {dotted(loc_a)} {net_a}"))
    if plan.store_block_prefix < plan.stores.prefixlen:
        issues.append(
            _issue(
                doc,
                ("ip_plan", "store_block_prefix"),
                f"/{plan.store_block_prefix} store blocks do not fit in {plan.stores}",
            )
        )
    if plan.transit.prefixlen > 31:
        issues.append(_issue(doc, ("ip_plan", "transit"), f"{plan.transit} holds no /31 for a tunnel"))

    hostnames: dict[str, int] = {}
    addresses: dict[ipaddress.IPv4Address, Loc] = {}
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
        for name in ("management_address", "public_address"):
            loc: Loc = ("sites", "hq", "hubs", index, name)
            address = getattr(hub, name)
            if address in addresses:
                issues.append(_issue(doc, loc, f"{address} is already used by {dotted(addresses[address])}"))
            addresses.setdefault(address, loc)

    low, high = spec.asn.store_range
    own_asns: dict[int, str] = {}
    for name in ("hq", "aws", "openstack"):
        asn = getattr(spec.asn, name)
        if low <= asn <= high:
            issues.append(_issue(doc, ("asn", name), f"{asn} lies inside store_range {low}-{high}"))
        elif asn in own_asns:
            issues.append(_issue(doc, ("asn", name), f"ASN {asn} is already used by asn.{own_asns[asn]}"))
        own_asns.setdefault(asn, name)

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
    # Where each address was first seen; turned into `file:line field` only for a message.
    addresses: dict[ipaddress.IPv4Address, tuple[SourceDocument, Loc]] = {}
    for index, hub in enumerate(spec.sites.hq.hubs):
        for name in ("management_address", "public_address"):
            addresses.setdefault(getattr(hub, name), (fleet_doc, ("sites", "hq", "hubs", index, name)))

    def claim_address(address: ipaddress.IPv4Address, doc: SourceDocument, loc: Loc) -> None:
        if address in addresses:
            issues.append(_issue(doc, loc, f"{address} is already used by {_where(*addresses[address])}"))
        addresses.setdefault(address, (doc, loc))

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
            if appliance.management_address is not None:
                claim_address(appliance.management_address, doc, ("appliances", index, "management_address"))
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
            if link.address is not None:
                claim_address(link.address.ip, doc, ("wan", index, "address"))
        for role in store.desktops:
            if role not in spec.roles:
                issues.append(_issue(doc, ("desktops", role), _unknown("role", role, spec.roles)))
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

    explicit_subnets.sort(key=lambda item: (int(item[0].network_address), item[0].prefixlen))
    widest: tuple[ipaddress.IPv4Network, SourceDocument, Loc] | None = None
    for net, doc, loc in explicit_subnets:
        if widest is not None and net.overlaps(widest[0]):
            issues.append(_issue(doc, loc, f"{net} overlaps {widest[0]} ({_where(widest[1], widest[2])})"))
        if widest is None or int(net.broadcast_address) > int(widest[0].broadcast_address):
            widest = (net, doc, loc)
        for label, supernet in foreign_supernets:
            if net.overlaps(supernet):
                issues.append(_issue(doc, loc, f"{net} overlaps {label} {supernet}"))
    return issues


def _lock_checks(spec: FleetSpec, lock: _Lock) -> list[InventoryIssue]:
    """A lock file that no longer fits the plan, or contradicts itself, is reported, never used."""
    issues: list[InventoryIssue] = []
    doc, plan = lock.document, spec.ip_plan
    low, high = spec.asn.store_range
    hint = "; delete the entry to re-allocate (the store will be renumbered)"
    loopbacks: dict[ipaddress.IPv4Address, Loc] = {}
    transits: dict[ipaddress.IPv4Network, Loc] = {}
    asns: dict[int, Loc] = {}
    blocks: list[tuple[int, int, ipaddress.IPv4Network, Loc]] = []
    stores_first, stores_last = addresses.span(plan.stores)
    transit_first, transit_last = addresses.span(plan.transit)
    loopbacks_first, loopbacks_last = addresses.span(plan.loopbacks)

    def check_loopback(address: ipaddress.IPv4Address, loc: Loc) -> None:
        if not loopbacks_first <= int(address) <= loopbacks_last:
            issues.append(_issue(doc, loc, f"{address} is outside ip_plan.loopbacks {plan.loopbacks}{hint}"))
        elif address in loopbacks:
            issues.append(_issue(doc, loc, f"{address} is already allocated to {dotted(loopbacks[address])}"))
        loopbacks.setdefault(address, loc)

    for hub, hub_alloc in lock.table.hubs.items():
        check_loopback(hub_alloc.loopback, ("hubs", hub, "loopback"))
    for store_id, alloc in lock.table.stores.items():
        base: Loc = ("stores", store_id)
        if alloc.block is not None:
            first, last = addresses.span(alloc.block)
            inside = stores_first <= first and last <= stores_last
            if not inside or alloc.block.prefixlen != plan.store_block_prefix:
                issues.append(
                    _issue(
                        doc,
                        (*base, "block"),
                        f"{alloc.block} is not a /{plan.store_block_prefix} of ip_plan.stores {plan.stores}{hint}",
                    )
                )
            blocks.append((first, last, alloc.block, (*base, "block")))
        if not low <= alloc.asn <= high:
            issues.append(
                _issue(doc, (*base, "asn"), f"{alloc.asn} is outside asn.store_range {low}-{high}{hint}")
            )
        elif alloc.asn in asns:
            issues.append(
                _issue(
                    doc, (*base, "asn"), f"ASN {alloc.asn} is already allocated to {dotted(asns[alloc.asn])}"
                )
            )
        asns.setdefault(alloc.asn, (*base, "asn"))
        for hostname, address in alloc.loopbacks.items():
            check_loopback(address, (*base, "loopbacks", hostname))
        for link, net in alloc.transit.items():
            loc: Loc = (*base, "transit", link)
            first = int(net.network_address)
            if not transit_first <= first < transit_last or net.prefixlen != 31:
                issues.append(_issue(doc, loc, f"{net} is not a /31 of ip_plan.transit {plan.transit}{hint}"))
            elif net in transits:
                issues.append(_issue(doc, loc, f"{net} is already allocated to {dotted(transits[net])}"))
            transits.setdefault(net, loc)
    blocks.sort(key=lambda item: (item[0], -item[1]))
    widest_last, widest = -1, None
    for first, last, net, loc in blocks:
        if widest is not None and first <= widest_last:
            issues.append(_issue(doc, loc, f"{net} overlaps {dotted(widest[1])} {widest[0]}"))
        if last > widest_last:
            widest_last, widest = last, (net, loc)
    return issues


def _resolved_checks(
    spec: FleetSpec,
    fleet_doc: SourceDocument,
    stores: list[_StoreSource],
    hubs: dict[str, ResolvedHub],
    resolved: dict[str, ResolvedStore],
    table: AllocationTable,
    lock: _Lock,
) -> list[InventoryIssue]:
    """What only shows once pinned and explicit values meet: a subnet, ASN or address a store
    writes down that the lock file already gave someone else. The explicit value is blamed."""
    issues: list[InventoryIssue] = []
    # ASNs the lock file (not a store file) gave out; explicit ones were compared before resolving.
    pinned_asns: dict[int, str] = {}
    explicit_asn = {source.spec.id for source in stores if source.spec.asn is not None}
    device_loopbacks: dict[ipaddress.IPv4Address, str] = {hub.loopback: hub.hostname for hub in hubs.values()}
    # Store blocks never overlap one another (allocated apart, or the lock file was refused),
    # so each explicit subnet needs only a look at the blocks around it.
    blocks: list[tuple[int, int, str, str]] = []  # first, last, owner store, description
    for store in resolved.values():
        if store.block is not None:
            blocks.append((*addresses.span(store.block), store.id, f"the block {store.block} of store {store.id!r}"))
        if store.id not in explicit_asn:
            pinned_asns.setdefault(store.asn, f"store {store.id!r} ({LOCK_FILE_NAME})")
        for device in store.appliances:
            device_loopbacks[device.loopback] = device.hostname
    for store_id, alloc in table.stores.items():
        if store_id not in resolved:
            if alloc.block is not None:
                description = (
                    f"the block {alloc.block} kept in {LOCK_FILE_NAME} for removed store {store_id!r}"
                )
                blocks.append((*addresses.span(alloc.block), store_id, description))
            pinned_asns.setdefault(alloc.asn, f"removed store {store_id!r} ({LOCK_FILE_NAME})")
    blocks.sort()
    starts = [block[0] for block in blocks]

    for source in stores:
        store = resolved[source.spec.id]
        for kind, segment in source.spec.lan.items():
            if segment.subnet is None:
                continue
            first, last = addresses.span(segment.subnet)
            index = bisect.bisect_right(starts, last) - 1
            while index >= 0 and blocks[index][1] >= first:
                _, _, owner, description = blocks[index]
                index -= 1
                if owner != store.id:
                    clash = description
                else:  # inside its own block: only the slots its other segments use matter
                    mine = [
                        other
                        for other_kind, other in store.segments.items()
                        if other_kind != kind
                        and source.spec.lan[other_kind].subnet is None
                        and other.subnet.overlaps(segment.subnet)
                    ]
                    if not mine:
                        continue
                    clash = f"lan.{mine[0].kind} {mine[0].subnet} (allocated from the store's block {store.block})"
                issues.append(
                    _issue(source.document, ("lan", kind, "subnet"), f"{segment.subnet} overlaps {clash}")
                )

    for source in stores:
        doc, spec_store = source.document, source.spec
        if spec_store.asn is not None and spec_store.asn in pinned_asns:
            issues.append(
                _issue(
                    doc, ("asn",), f"ASN {spec_store.asn} is already used by {pinned_asns[spec_store.asn]}"
                )
            )
        for index, appliance in enumerate(spec_store.appliances):
            address = appliance.management_address
            if (
                address is not None
                and device_loopbacks.get(address, appliance.hostname) != appliance.hostname
            ):
                issues.append(
                    _issue(
                        doc,
                        ("appliances", index, "management_address"),
                        f"{address} is the loopback of {device_loopbacks[address]}",
                    )
                )
    for index, hub_spec in enumerate(spec.sites.hq.hubs):
        owner = device_loopbacks.get(hub_spec.management_address, hub_spec.hostname)
        if owner != hub_spec.hostname:
            issues.append(
                _issue(
                    fleet_doc,
                    ("sites", "hq", "hubs", index, "management_address"),
                    f"{hub_spec.management_address} is the loopback of {owner}",
                )
            )
    return issues


# ---------------------------------------------------------------- resolution


def _exhausted(fleet_doc: SourceDocument, exc: PoolExhausted, owner: str) -> IpamExhaustedError:
    loc: Loc = ("asn", "store_range") if exc.pool.startswith("asn") else tuple(exc.pool.split("."))
    issue = _issue(fleet_doc, loc, f"IPAM exhausted: {exc} while allocating for {owner}")
    return IpamExhaustedError([issue])


def _resolve(
    spec: FleetSpec, fleet_doc: SourceDocument, stores: list[_StoreSource], previous: AllocationTable
) -> tuple[AllocationTable, dict[str, ResolvedHub], dict[str, ResolvedStore]]:
    plan = spec.ip_plan
    block_pool = NetworkPool("ip_plan.stores", plan.stores, plan.store_block_prefix)
    transit_pool = NetworkPool("ip_plan.transit", plan.transit, 31)
    loopback_pool = NetworkPool("ip_plan.loopbacks", plan.loopbacks, 32)
    # The supernet's own network address is never a usable loopback.
    loopback_pool.reserve(plan.loopbacks.network_address)
    low, high = spec.asn.store_range
    asn_pool = AsnPool(low, high)
    present = {source.spec.id for source in stores}
    table = AllocationTable()

    # Reserve before allocating: pinned allocations (also of stores removed since, so their
    # numbers are not handed to someone else while configs may still reference them) and
    # every explicit value in the inventory.
    current_hubs = {hub.hostname for hub in spec.sites.hq.hubs}
    for hub_name, hub_alloc in previous.hubs.items():
        loopback_pool.reserve(hub_alloc.loopback)
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
        if store_id not in present:
            table.stores[store_id] = alloc
    for source in stores:
        if source.spec.asn is not None:
            asn_pool.reserve(source.spec.asn)
        for segment in source.spec.lan.values():
            if segment.subnet is not None:
                block_pool.reserve(segment.subnet)
        for appliance in source.spec.appliances:
            if appliance.management_address is not None:
                loopback_pool.reserve(appliance.management_address)
    for hub in spec.sites.hq.hubs:
        loopback_pool.reserve(hub.management_address)

    hubs: dict[str, ResolvedHub] = {}
    for hub in spec.sites.hq.hubs:
        pinned = previous.hubs.get(hub.hostname)
        try:
            loopback = pinned.loopback if pinned else loopback_pool.allocate_address()
        except PoolExhausted as exc:
            raise _exhausted(fleet_doc, exc, f"hub {hub.hostname!r}") from None
        table.hubs[hub.hostname] = HubAllocation.model_construct(loopback=loopback)
        hubs[hub.hostname] = ResolvedHub.trusted(
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
            raise _exhausted(fleet_doc, exc, f"store {store.id!r}") from None
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
        loopbacks[appliance.hostname] = existing or loopback_pool.allocate_address()
    transit = {}
    for link in store.wan:
        existing_net = pinned.transit.get(link.name) if pinned else None
        transit[link.name] = existing_net or transit_pool.allocate()
    return StoreAllocation.model_construct(
        block=block if needs_block else None, asn=asn, loopbacks=loopbacks, transit=transit
    )


def _segment_slot(block_first: int, block_prefixlen: int, kind: SegmentKind) -> tuple[int, int]:
    """The segment's slot in the store block (first address, prefix length): eighths of the
    block, guest Wi-Fi taking two."""
    offset, eighths = _SEGMENT_SLOTS[kind]
    eighth = 1 << (32 - block_prefixlen - 3)
    return block_first + offset * eighth, block_prefixlen + 3 - (eighths.bit_length() - 1)


def _resolved_store(
    source: _StoreSource, alloc: StoreAllocation, primary_hub: str, backup_hub: str, *, provisional: bool
) -> ResolvedStore:
    # Every value below was validated on the way in (or computed from validated values), so
    # the resolved models are built without validating again: it is most of a big fleet's load.
    store = source.spec
    segments: dict[SegmentKind, ResolvedSegment] = {}
    block = alloc.block
    for kind in SEGMENT_KINDS:
        segment = store.lan.get(kind)
        if segment is None:
            continue
        subnet = segment.subnet
        if subnet is None:
            assert block is not None
            first, prefixlen = _segment_slot(int(block.network_address), block.prefixlen, kind)
            subnet = addresses.network(first, prefixlen)
        else:
            first, prefixlen = int(subnet.network_address), subnet.prefixlen
        hosts = 1 << (32 - prefixlen)
        segments[kind] = ResolvedSegment.trusted(
            kind=kind,
            vlan=segment.vlan,
            subnet=subnet,
            gateway=addresses.address(first + 1),
            dhcp_start=addresses.address(first + min(10, hosts // 4)),
            dhcp_end=addresses.address(first + hosts - 2),
            advertised=kind != "guest-wifi",
        )
    ordered = sorted(store.wan, key=lambda link: (link.priority, link.name))
    all_cellular = all(link.cellular for link in ordered)
    wan: list[ResolvedWanLink] = []
    for index, link in enumerate(ordered):
        to_primary = (index == 0) if all_cellular else not link.cellular
        hub_side = int(alloc.transit[link.name].network_address)
        wan.append(
            ResolvedWanLink.trusted(
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
                overlay=addresses.interface(hub_side + 1, 31),
                overlay_peer=addresses.address(hub_side),
            )
        )
    appliances = [
        ResolvedAppliance.trusted(
            hostname=appliance.hostname,
            platform=appliance.platform,
            management_address=appliance.management_address or alloc.loopbacks[appliance.hostname],
            loopback=alloc.loopbacks[appliance.hostname],
            serial=appliance.serial,
            ssh_host_key=appliance.ssh_host_key,
        )
        for appliance in store.appliances
    ]
    return ResolvedStore.trusted(
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
