"""Load, validate and resolve a fleet: the orchestration.

A fleet is a directory (`fleet.yaml` + `stores/*.yaml` + the IPAM lock `allocations.yaml`) or a
bundle: one multi-document YAML stream whose first document is the fleet and every other one a
store (what `storestack inventory generate` writes to stdout). Both report the same errors, the
bundle naming each store document `stores/<id>.yaml` as if it were a file.

Every problem found is reported at once: schema errors of every file (`validate`), then the
fleet-wide checks (`checks`). Only when those pass are addresses and ASNs allocated (`ipam`)
and the resolved fleet built.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

from storestack.common.memory import without_cyclic_gc
from storestack.inventory.checks import (
    LockSource,
    StoreSource,
    address_checks,
    cross_checks,
    fleet_checks,
    hq_checks,
    lock_checks,
    ntp_checks,
    resolved_checks,
    secret_checks,
    served_hubs,
    sla_checks,
    snmp_checks,
    stack_checks,
)
from storestack.inventory.errors import FleetNotFoundError, InventoryError, InventoryIssue
from storestack.inventory.fleet import (
    CloudSlots,
    Fleet,
    ResolvedHub,
    ResolvedStore,
)
from storestack.inventory.ipam import (
    LOCK_FILE_NAME,
    MAX_LOCK_BYTES,
    AllocationTable,
    StoreAllocation,
    allocate_fleet,
    allocations_from_document,
    segment_subnet,
    write_allocations,
)
from storestack.inventory.models import (
    SEGMENT_KINDS,
    UNDERLAY_MTU,
    FleetSpec,
    SlaPolicy,
    StoreSpec,
    TransportCost,
    wan_link_ports,
)
from storestack.inventory.paths import FLEET_FILE, STORES_DIR, refuse_sample_chain_write
from storestack.inventory.source import (
    MAX_FILE_BYTES,
    SourceDocument,
    parse_text,
    read_document,
    split_bundle,
)
from storestack.inventory.validate import validate_document

__all__ = ["FLEET_FILE", "MAX_BUNDLE_BYTES", "STORES_DIR", "LoadResult", "fleet_root", "load_fleet"]

MAX_BUNDLE_BYTES = 256_000_000
_BUNDLE_STORE_ID = re.compile(
    r"^id:[ \t]*([\"']?)([a-z][a-z0-9-]{0,30}[a-z0-9])\1[ \t]*(?:#.*)?$", re.MULTILINE
)


def _differs(table: AllocationTable, previous: AllocationTable) -> bool:
    return (table.version, table.hubs, table.aws_regions, table.openstack_sites, table.stores) != (
        previous.version,
        previous.hubs,
        previous.aws_regions,
        previous.openstack_sites,
        previous.stores,
    )


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


def load_fleet_with_allocations(path: Path, *, write_lock: bool = False) -> LoadResult:
    """Load a fleet directory (or its `fleet.yaml`), and pin new allocations when `write_lock`."""
    with without_cyclic_gc(long_lived=True):
        return _load_directory(Path(path), write_lock=write_lock)


def _load_directory(path: Path, *, write_lock: bool) -> LoadResult:
    root = fleet_root(Path(path))
    fleet_path = root / FLEET_FILE
    if not (fleet_path.exists() or fleet_path.is_symlink()):
        raise FleetNotFoundError([InventoryIssue(str(fleet_path), 0, "", "fleet file not found")])
    issues: list[InventoryIssue] = []
    fleet = _validated_fleet(_read(issues, read_document, fleet_path, FLEET_FILE, inside=root), issues)
    stores: list[StoreSource] = []
    store_files = _store_files(root, issues)
    if not store_files and not any(issue.file.startswith(STORES_DIR) for issue in issues):
        # A renamed or missing stores/ folder must never read as a chain without stores: every
        # plan made from it would destroy every store stack.
        issues.append(
            InventoryIssue(f"{STORES_DIR}/", 0, "", f"no store files (expected {STORES_DIR}/<id>.yaml)")
        )
    for store_path, display in store_files:
        document = _read(issues, read_document, store_path, display, inside=root)
        _add_store(document, Path(display).name.removesuffix(STORE_SUFFIX), stores, issues)
    lock_path = root / LOCK_FILE_NAME
    lock: LockSource | None = LockSource(AllocationTable(), SourceDocument(LOCK_FILE_NAME, {}))
    if lock_path.exists() or lock_path.is_symlink():
        document = _read(issues, read_document, lock_path, LOCK_FILE_NAME, MAX_LOCK_BYTES, inside=root)
        lock = _lock(document, issues)
    fleet_value, table = _load(fleet, stores, lock, issues, root)
    assert lock is not None  # _load raised otherwise
    changed = _differs(table, lock.table)
    if write_lock:
        refuse_sample_chain_write(root, LOCK_FILE_NAME)
        changed = write_allocations(lock_path, table)  # also rewrites a lock edited by hand
    return LoadResult(fleet_value, table, lock_path, changed)


STORE_SUFFIX = ".yaml"
_NO_COST = TransportCost()  # a transport kind the fleet's sla.transports leaves out
# A name that could be meant as a store file: a store id, then any extension (`nw-0001.yml`,
# `nw-0001.yaml.bak`, `nw-0001`). Hidden files (`.gitkeep`, editor swap files) are not.
_STORE_LIKE = re.compile(r"[a-z0-9][a-z0-9-]*(\..*)?")


def _store_files(root: Path, issues: list[InventoryIssue]) -> list[tuple[str, str]]:
    """The store files of the fleet at `root` (path, display name), in name order.

    Only `stores/<id>.yaml` is read. Anything that looks like a store file but would not be
    read (another extension, a subfolder) is an issue naming it, so no store is dropped
    silently; whether each file is a regular file inside the fleet is `read_bytes`'s check.
    """
    stores_dir = root / STORES_DIR
    if stores_dir.is_symlink() and not stores_dir.resolve().is_relative_to(root.resolve()):
        issues.append(
            InventoryIssue(
                f"{STORES_DIR}/", 0, "", "is a link to a directory outside the fleet directory (refused)"
            )
        )
        return []
    if not stores_dir.exists():
        return []  # no stores at all: the loader reports the empty fleet
    try:
        entries = sorted(os.scandir(stores_dir), key=lambda entry: entry.name)
    except OSError as exc:
        issues.append(InventoryIssue(f"{STORES_DIR}/", 0, "", f"cannot list the directory: {exc.strerror}"))
        return []
    found: list[tuple[str, str]] = []
    for entry in entries:
        display = f"{STORES_DIR}/{_display_name(entry.name)}"
        if entry.name.endswith(STORE_SUFFIX) and _STORE_LIKE.fullmatch(entry.name):
            found.append((entry.path, display))
        elif entry.is_dir(follow_symlinks=False):
            issues.extend(_ignored_in_subfolder(Path(entry.path), display))
        elif _STORE_LIKE.fullmatch(entry.name) or entry.name.endswith(STORE_SUFFIX):
            extension = entry.name.partition(".")[2]
            wrong = f" (not .{extension})" if extension else ""
            issues.append(
                InventoryIssue(
                    display,
                    0,
                    "",
                    f"store files must be named <id>{STORE_SUFFIX}{wrong}; this file is not read",
                )
            )
    return found


def _ignored_in_subfolder(folder: Path, display: str) -> list[InventoryIssue]:
    """An issue for each YAML file under a subfolder of stores/ (a store there would be dropped)."""
    issues: list[InventoryIssue] = []
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        return [InventoryIssue(f"{display}/", 0, "", f"cannot list the directory: {exc.strerror}")]
    for name in names:
        if name.endswith((".yaml", ".yml")):
            issues.append(
                InventoryIssue(
                    f"{display}/{_display_name(name)}",
                    0,
                    "",
                    f"is not read: store files live directly in {STORES_DIR}/ (move it up, or remove it)",
                )
            )
    return issues


def _display_name(name: str) -> str:
    """A file name as messages show it: escaped when it is not plain printable text."""
    return name if name.isprintable() and len(name) <= 80 else ascii(name)[1:-1][:80]


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

    Errors name the bundle (`name`; `<stdin>` for a piped one) and the line in it. Within the
    loader a store document is `stores/<id>.yaml` (by the `id:` line it holds), so a message
    about another document names it so. `allocations` pins IPAM like a lock file would.
    """
    with without_cyclic_gc(long_lived=True):
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
    if len(chunks) == 1:
        issues.append(
            InventoryIssue(
                name, 0, "", "the bundle holds no store documents (expected the fleet, then stores)"
            )
        )
    fleet = _validated_fleet(_read(issues, parse_text, chunks[0].text, FLEET_FILE), issues)
    stores: list[StoreSource] = []
    seen: set[str] = {FLEET_FILE}
    starts = {FLEET_FILE: chunks[0].first_line}  # each document's name -> its first line in the bundle
    for chunk in chunks[1:]:
        found = _BUNDLE_STORE_ID.search(chunk.text)
        display = f"{STORES_DIR}/{found.group(2)}.yaml" if found else f"{name}#{chunk.number}"
        if display in seen:
            display = f"{display}#{chunk.number}"
        seen.add(display)
        starts[display] = chunk.first_line
        if len(chunk.text) > MAX_FILE_BYTES:
            issues.append(InventoryIssue(display, 0, "", f"document is larger than {MAX_FILE_BYTES} bytes"))
            continue
        _add_store(_read(issues, parse_text, chunk.text, display), None, stores, issues)
    table = allocations or AllocationTable()
    lock = LockSource(table, SourceDocument(LOCK_FILE_NAME, {}))
    try:
        fleet_value, resolved_table = _load(fleet, stores, lock, issues, root or Path.cwd())
    except InventoryError as exc:
        raise InventoryError(_in_bundle(exc.issues, name, starts)) from None
    return LoadResult(fleet_value, resolved_table, None, _differs(resolved_table, table))


def _in_bundle(issues: list[InventoryIssue], name: str, starts: dict[str, int]) -> list[InventoryIssue]:
    """The issues of a bundle's documents where they are: the bundle (`name`, `<stdin>` for a
    piped one) and its line, not a store file that does not exist and a line within one
    document. An issue of a whole document (line 0) is at the document's first line. A message
    that names another document ("already used by stores/nw-0001.yaml:14") names its place in
    the bundle too."""
    # Longest names first, so `stores/x.yaml#3` is not read as `stores/x.yaml` followed by "#3".
    mention = re.compile(
        r"(?<![\w/.-])(" + "|".join(map(re.escape, sorted(starts, key=len, reverse=True))) + r")(?::(\d+))?"
    )

    def in_bundle(found: re.Match[str]) -> str:
        return f"{name}:{starts[found.group(1)] + max(int(found.group(2) or 1), 1) - 1}"

    return [
        InventoryIssue(
            name if issue.file in starts else issue.file,
            starts[issue.file] + max(issue.line, 1) - 1 if issue.file in starts else issue.line,
            issue.field,
            mention.sub(in_bundle, issue.message),
        )
        for issue in issues
    ]


def _read(
    issues: list[InventoryIssue], parse: Callable[..., SourceDocument], *args: Any, **kwargs: Any
) -> SourceDocument | None:
    """`parse(*args, **kwargs)`: the parsed document, or None with what stopped it in `issues`."""
    try:
        return parse(*args, **kwargs)
    except InventoryError as exc:
        issues.extend(exc.issues)
        return None


def _validated_fleet(
    document: SourceDocument | None, issues: list[InventoryIssue]
) -> tuple[FleetSpec, SourceDocument] | None:
    if document is None:
        return None
    spec, found = validate_document(FleetSpec, document)
    issues.extend(found)
    return (spec, document) if spec is not None else None


def _add_store(
    document: SourceDocument | None,
    expected_id: str | None,
    stores: list[StoreSource],
    issues: list[InventoryIssue],
) -> None:
    """Validate a parsed store document; `expected_id` is what its file name promises."""
    if document is None:
        return
    spec, found = validate_document(StoreSpec, document)
    issues.extend(found)
    if spec is None:
        return
    if expected_id is not None and spec.id != expected_id:
        issues.append(
            document.issue(("id",), f"store id {spec.id!r} does not match its file name {expected_id!r}")
        )
    stores.append(StoreSource(document, spec))


def _lock(document: SourceDocument | None, issues: list[InventoryIssue]) -> LockSource | None:
    """The parsed lock file, or None with its problems in `issues`."""
    if document is None:
        return None
    try:
        return LockSource(allocations_from_document(document), document)
    except InventoryError as exc:
        issues.extend(exc.issues)
        return None


def _load(
    fleet: tuple[FleetSpec, SourceDocument] | None,
    stores: list[StoreSource],
    lock: LockSource | None,
    issues: list[InventoryIssue],
    root: Path,
) -> tuple[Fleet, AllocationTable]:
    if fleet is None:
        raise InventoryError(issues)
    fleet_spec, fleet_doc = fleet
    issues.extend(fleet_checks(fleet_spec, fleet_doc))
    issues.extend(hq_checks(fleet_spec, fleet_doc))
    issues.extend(stack_checks(fleet_spec, fleet_doc))
    issues.extend(secret_checks(fleet_spec, fleet_doc))
    issues.extend(cross_checks(fleet_spec, fleet_doc, stores))
    issues.extend(address_checks(fleet_spec, fleet_doc, stores))
    issues.extend(sla_checks(fleet_spec, fleet_doc, stores))
    issues.extend(ntp_checks(fleet_spec, fleet_doc, stores))
    issues.extend(snmp_checks(fleet_spec, fleet_doc, stores))
    if lock is not None:
        issues.extend(lock_checks(fleet_spec, lock))
    if issues or lock is None:
        raise InventoryError(issues)

    table = allocate_fleet(fleet_spec, fleet_doc, [source.spec for source in stores], lock.table)
    hubs, resolved = _resolve(fleet_spec, stores, table, lock.table)
    late = resolved_checks(fleet_spec, fleet_doc, stores, hubs, resolved, table, lock)
    if late:
        raise InventoryError(late)
    removed = tuple(store_id for store_id in table.stores if store_id not in resolved)
    secret_lines = {
        slug: fleet_doc.line_of(("management", "secrets", slug)) for slug in fleet_spec.management.secret_refs
    }
    slots = CloudSlots(
        hubs={name: alloc.slot for name, alloc in table.hubs.items() if alloc.slot is not None},
        cloud_ranks={name: alloc.cloud_rank for name, alloc in table.hubs.items() if alloc.cloud_rank is not None},
        data_regions={name: alloc.data_region for name, alloc in table.aws_accounts.items()},
        aws_regions={region: alloc.slot for region, alloc in table.aws_regions.items()},
        openstack_sites={name: alloc.slot for name, alloc in table.openstack_sites.items()},
        openstack_aws_inside={name: dict(alloc.aws_inside) for name, alloc in table.openstack_sites.items()},
        ranges={
            **{f"aws:{region}": alloc.ranges for region, alloc in table.aws_regions.items() if alloc.ranges is not None},
            **{f"openstack:{name}": alloc.ranges for name, alloc in table.openstack_sites.items() if alloc.ranges is not None},
        },
        sla_classes=dict(table.sla_classes),
        applications=dict(table.applications),
    )
    fleet_value = Fleet(
        fleet_spec, hubs, resolved, root, removed, secret_lines=secret_lines, spec_file=fleet_doc.display, cloud_slots=slots
    )
    return fleet_value, table


def _resolve(
    spec: FleetSpec, stores: list[StoreSource], table: AllocationTable, previous: AllocationTable
) -> tuple[dict[str, ResolvedHub], dict[str, ResolvedStore]]:
    """The resolved hubs and stores: what the files say, with the numbers IPAM gave them."""
    hubs: dict[str, ResolvedHub] = {}
    for hub in spec.sites.hq.hubs:
        dc_address = table.hubs[hub.hostname].dc_address
        assert dc_address is not None, "IPAM gives every hub a DC core LAN address or refuses the fleet"
        hubs[hub.hostname] = ResolvedHub(
            hostname=hub.hostname,
            platform=hub.platform,
            management_address=hub.management_address,
            public_address=hub.public_address,
            loopback=table.hubs[hub.hostname].loopback,
            beacon=table.hubs[hub.hostname].beacon,
            asn=spec.asn.hq,
            dc_address=dc_address,
            management_port=hub.management_port,
            management_gateway=hub.management_gateway,
            serial=hub.serial,
            ssh_host_key=hub.ssh_host_key,
            uplink_mbps=hub.uplink_mbps,
        )
    hub_order = list(hubs)
    resolved: dict[str, ResolvedStore] = {}
    for source in sorted(stores, key=lambda s: s.spec.id):
        store = source.spec
        backup = served_hubs(store.hub, hub_order)[-1]
        resolved[store.id] = _resolved_store(
            source,
            table.stores[store.id],
            store.hub,
            backup,
            _store_sla(spec.sla, store),
            provisional=store.id not in previous.stores,
        )
    return hubs, resolved


def _store_sla(fleet: SlaPolicy, store: StoreSpec) -> SlaPolicy:
    """The fleet's SLA policy with the store's own classes and applications in place (shared,
    not copied, when the store names none)."""
    override = store.sla
    if not override.classes and not override.applications:
        return fleet
    return SlaPolicy.model_construct(
        classes={**fleet.classes, **override.classes},
        applications={**fleet.applications, **override.applications},
        transports=fleet.transports,
    )


def _resolved_store(
    source: StoreSource,
    alloc: StoreAllocation,
    primary_hub: str,
    backup_hub: str,
    sla: SlaPolicy,
    *,
    provisional: bool,
) -> ResolvedStore:
    # The whole store, its segments, links and appliances are validated in one pydantic call
    # (cheaper than building each model with `model_construct`, and every value is checked).
    store = source.spec
    segments: dict[str, dict[str, Any]] = {}
    block = alloc.block
    for kind in SEGMENT_KINDS:
        segment = store.lan.get(kind)
        if segment is None:
            continue
        subnet = segment.subnet
        if subnet is None:
            assert block is not None
            subnet = segment_subnet(block, kind)
        first, hosts = int(subnet.network_address), 1 << (32 - subnet.prefixlen)
        segments[kind] = {
            "kind": kind,
            "vlan": segment.vlan,
            "subnet": subnet,
            "gateway": IPv4Address(first + 1),
            "dhcp_start": IPv4Address(first + min(10, hosts // 4)),
            "dhcp_end": IPv4Address(first + hosts - 2),
            "advertised": kind != "guest-wifi",
        }
    ordered = sorted(store.wan, key=lambda link: (link.priority, link.name))
    ports = {link.name: port for link, port in zip(store.wan, wan_link_ports(store.wan), strict=True)}
    wan: list[dict[str, Any]] = []
    for index, link in enumerate(ordered):
        # A link's home hub (the one its pinned transit /31 and its first tunnel number serve)
        # depends on the link alone: wired links home on the primary hub, cellular ones on the
        # backup. Were it to depend on the store's other links, a store losing its fibre would
        # move its LTE link's tunnels between the hubs (addresses and numbers swapped on both
        # ends), and nothing could push that without cutting the store's only link.
        to_primary = not link.cellular
        hub_side = int(alloc.transit[link.name].network_address)
        transport = sla.transports.get(link.kind, _NO_COST)
        wan.append(
            {
                "name": link.name,
                "kind": link.kind,
                "isp": link.isp,
                "bandwidth_mbps": link.bandwidth_mbps,
                "addressing": link.addressing,
                "address": link.address,
                "gateway": link.gateway,
                "monthly_cost": link.monthly_cost,
                "priority": link.priority,
                "cellular": link.cellular,
                "cost_per_gb": transport.cost_per_gb if link.cost_per_gb is None else link.cost_per_gb,
                "data_cap_gb": transport.data_cap_gb if link.data_cap_gb is None else link.data_cap_gb,
                "mtu": UNDERLAY_MTU[link.kind] if link.mtu is None else link.mtu,
                "port": ports[link.name][0],
                "port_stated": ports[link.name][1],
                "hub": primary_hub if to_primary else backup_hub,
                "primary": index == 0,
                "overlay": IPv4Interface((hub_side + 1, 31)),
                "overlay_peer": IPv4Address(hub_side),
                "aws_inside": alloc.aws_inside.get(link.name),
            }
        )
    appliances = [
        {
            "hostname": appliance.hostname,
            "platform": appliance.platform,
            "management_address": appliance.management_address or alloc.loopbacks[appliance.hostname],
            "loopback": alloc.loopbacks[appliance.hostname],
            "serial": appliance.serial,
            "ssh_host_key": appliance.ssh_host_key,
        }
        for appliance in store.appliances
    ]
    return ResolvedStore.model_validate(
        {
            "id": store.id,
            "name": store.name,
            "city": store.city,
            "format": store.format,
            "region": store.region,
            "state": store.state,
            "asn": alloc.asn,
            "block": alloc.block,
            "segments": segments,
            "wan": wan,
            "appliances": appliances,
            "primary_hub": primary_hub,
            "backup_hub": backup_hub,
            "desktops": store.desktops,
            "cloud": store.cloud,
            "sla": sla,
            "source_file": source.document.display,
            "provisional": provisional,
            "desktop_users": store.desktop_users,
        }
    )
