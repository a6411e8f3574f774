"""The fleet-wide check passes: what no single file's schema can see.

Each pass returns every issue it finds, each naming file, line and field:
- `fleet_checks`: fleet.yaml on its own (overlapping supernets, hub names and rates, ASNs, policies,
  a domain too long for the IKE identities under it).
- `cross_checks`: the stores against the fleet and one another (ids, hubs, VLANs, subnets).
- `lock_checks`: the IPAM lock file against the plan and itself.
- `resolved_checks`: explicit values against what the lock file already gave someone else.
- `address_checks`: networks and addresses that parse but are wrong where they are used.
- `stack_checks`: what the cloud stacks would refuse at plan time.
- `secret_checks`: secret references the fleet's rule does not allow.
- `sla_checks`: application classes against the SLA classes (fleet and each store's overrides).
- `hq_checks`: the HQ service prefixes and the hub-to-DC-core LAN (written or defaulted).
- `ntp_checks`: every appliance's platform implements the algorithm of one of the NTP keys.
- `snmp_checks`: every appliance's platform documents the fleet's SNMPv3 protocol pair.
"""

from __future__ import annotations

import bisect
import difflib
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from storestack.common.addressing import is_rfc1918, management_lan, public_address_problem, unicast_problem
from storestack.common.asn import (
    CUSTOMER_GATEWAY_RESERVED_ASNS,
    customer_gateway_asn_refusal,
    transit_gateway_asn_refusal,
)
from storestack.common.names import ike_domain_refusal
from storestack.common.ntp import PLATFORM_NTP_ALGORITHMS
from storestack.common.platforms import (
    GUEST_BREAKOUT_STATIC_ONLY,
    HUB_MANAGEMENT_GATEWAY,
    HUB_MANAGEMENT_PORT,
    HUB_STATIC_PEERS_ONLY,
    STORE_ONE_FQDN_IDENTITY,
    Platform,
    port_name_refusal,
    uplink_rate_refusal,
)
from storestack.common.secretrefs import parse_secret_ref, policy_problem
from storestack.common.snmp import snmp_pair_problem
from storestack.inventory import addresses, hq
from storestack.inventory.errors import InventoryIssue
from storestack.inventory.fleet import ResolvedHub, ResolvedStore
from storestack.inventory.ipam import (
    LOCK_FILE_NAME,
    AllocationTable,
    AwsRegionAllocation,
    OpenStackSiteAllocation,
)
from storestack.inventory.models import (
    CELLULAR_KINDS,
    ApplicationClass,
    FleetSpec,
    Hub,
    QosPolicy,
    SegmentKind,
    SlaClass,
    StoreSpec,
    WanLink,
    guest_breakout_index,
    wan_link_ports,
)
from storestack.inventory.paths import FLEET_FILE
from storestack.inventory.source import Loc, SourceDocument, dotted
from storestack.network.cloud import (
    AWS_REGION_SLOTS,
    CLOUD_RANKS,
    CLOUD_SITE_SLOTS,
    HUB_SLOTS,
    HUBS_PER_SITE,
    LINK_LOCAL,
    OPENSTACK_AWS_INSIDE_POOL,
    OPENSTACK_SITE_SLOTS,
    STORE_AWS_INSIDE_PREFIX,
    aws_inside_usable,
)


@dataclass
class StoreSource:
    """A store file that passed its schema: where it came from, and what it says."""

    document: SourceDocument
    spec: StoreSpec


@dataclass
class LockSource:
    """The IPAM lock file: its table, and its document (for the line of each entry)."""

    table: AllocationTable
    document: SourceDocument


def unknown(what: str, value: str, known: Iterable[str]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(value, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(names)})" if names else ""
    return f"unknown {what} {value!r}{hint}"


def management_gateway_refusal(spec: FleetSpec, hub: Hub) -> str | None:
    """Why the hub's `management_gateway` cannot be rendered (None: it can): the port reaches
    the management ranges outside its LAN through it, so it must be a host of that LAN, not the
    hub's own address, and some management range must lie outside the LAN."""
    gateway = hub.management_gateway
    if gateway is None:
        return None
    if hub.platform not in HUB_MANAGEMENT_GATEWAY:
        return (
            f"storestack renders no management gateway on {hub.platform} "
            "(common/platforms.py HUB_MANAGEMENT_GATEWAY says why)"
        )
    lan = management_lan(hub.management_address, spec.ip_plan.management).network
    if lan.prefixlen == 32:
        return (
            f"management_address {hub.management_address} is in no ip_plan.management range, so the hub "
            f"has no management LAN to reach {gateway} on"
        )
    if gateway not in lan:
        return f"{gateway} is outside the management LAN {lan} (the management range holding {hub.management_address})"
    if lan.prefixlen < 31 and gateway in (lan.network_address, lan.broadcast_address):
        return f"{gateway} is the {'network' if gateway == lan.network_address else 'broadcast'} address of {lan}"
    owner = next((other.hostname for other in spec.sites.hq.hubs if other.management_address == gateway), None)
    if owner is not None:
        return f"{gateway} is the management_address of hub {owner}" + (" itself" if owner == hub.hostname else "")
    if all(net.subnet_of(lan) for net in spec.ip_plan.management):
        return (
            f"every ip_plan.management range is inside the management LAN {lan}: nothing is routed "
            f"through {gateway} (add the management ranges behind it to ip_plan.management)"
        )
    return None


def fleet_checks(spec: FleetSpec, doc: SourceDocument) -> list[InventoryIssue]:
    issues: list[InventoryIssue] = []
    if (refusal := ike_domain_refusal(spec.organisation.domain)) is not None:
        issues.append(doc.issue(("organisation", "domain"), refusal))
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
                issues.append(doc.issue(loc_b, f"{net_b} overlaps {dotted(loc_a)} {net_a}"))
    if plan.store_block_prefix < plan.stores.prefixlen:
        issues.append(
            doc.issue(
                ("ip_plan", "store_block_prefix"),
                f"/{plan.store_block_prefix} store blocks do not fit in {plan.stores}",
            )
        )
    if plan.transit.prefixlen > 31:
        issues.append(doc.issue(("ip_plan", "transit"), f"{plan.transit} holds no /31 for a tunnel"))

    hostnames: dict[str, int] = {}
    addresses: dict[ipaddress.IPv4Address, Loc] = {}
    for index, hub in enumerate(spec.sites.hq.hubs):
        if hub.hostname in hostnames:
            issues.append(
                doc.issue(
                    ("sites", "hq", "hubs", index, "hostname"),
                    f"hostname {hub.hostname!r} is already used by hub [{hostnames[hub.hostname]}]",
                )
            )
        hostnames.setdefault(hub.hostname, index)
        for name in ("management_address", "public_address"):
            loc: Loc = ("sites", "hq", "hubs", index, name)
            address = getattr(hub, name)
            if address in addresses:
                issues.append(doc.issue(loc, f"{address} is already used by {dotted(addresses[address])}"))
            addresses.setdefault(address, loc)
        if (refusal := uplink_rate_refusal(hub.hostname, hub.platform, hub.uplink_mbps)) is not None:
            # A rate the hub would shape nothing to misleads whoever reads the inventory.
            issues.append(doc.issue(("sites", "hq", "hubs", index, "uplink_mbps"), refusal))
        if hub.management_port is not None and hub.platform not in HUB_MANAGEMENT_PORT:
            issues.append(
                doc.issue(
                    ("sites", "hq", "hubs", index, "management_port"),
                    f"hub {hub.hostname}: storestack renders no management port on {hub.platform} "
                    "(common/platforms.py HUB_MANAGEMENT_PORT says why)",
                )
            )
        elif hub.management_port is not None and (refusal := port_name_refusal(hub.platform, hub.management_port)):
            issues.append(doc.issue(("sites", "hq", "hubs", index, "management_port"), f"hub {hub.hostname}: {refusal}"))
        if hub.management_gateway is not None and (refusal := management_gateway_refusal(spec, hub)):
            issues.append(doc.issue(("sites", "hq", "hubs", index, "management_gateway"), f"hub {hub.hostname}: {refusal}"))

    low, high = spec.asn.store_range
    own_asns: dict[int, str] = {}
    for name in ("hq", "aws", "openstack", "dc_core"):
        asn = getattr(spec.asn, name)
        if low <= asn <= high:
            issues.append(doc.issue(("asn", name), f"{asn} lies inside store_range {low}-{high}"))
        elif asn in own_asns:
            issues.append(doc.issue(("asn", name), f"ASN {asn} is already used by asn.{own_asns[asn]}"))
        own_asns.setdefault(asn, name)

    for index, policy in enumerate(spec.desktop_policies):
        for role_index, role in enumerate(policy.roles):
            if role not in spec.roles:
                issues.append(
                    doc.issue(
                        ("desktop_policies", index, "roles", role_index),
                        unknown("role", role, spec.roles),
                    )
                )
        sites = (
            [a.name for a in spec.sites.aws]
            if policy.provider == "aws"
            else [s.name for s in spec.sites.openstack]
        )
        if policy.site not in sites:
            issues.append(
                doc.issue(
                    ("desktop_policies", index, "site"),
                    unknown(f"{policy.provider} site", policy.site, sites),
                )
            )
        if policy.provider == "aws":
            regions = [r for a in spec.sites.aws if a.name == policy.site for r in a.regions]
            if policy.region is None:
                issues.append(
                    doc.issue(("desktop_policies", index, "region"), "aws desktop policies need a region")
                )
            elif regions and policy.region not in regions:
                issues.append(
                    doc.issue(
                        ("desktop_policies", index, "region"),
                        unknown("region of that account", policy.region, regions),
                    )
                )
    return issues


def hq_checks(spec: FleetSpec, doc: SourceDocument) -> list[InventoryIssue]:
    """The HQ addresses the network routes to, as written or defaulted (`inventory.hq`).

    A service lives inside `ip_plan.hq` or `ip_plan.cloud` (hubs announce those to the stores)
    and never inside a management range (management is reachable from the management network
    only). The DC core LAN is private, clear of the store, transit, loopback, cloud and desktop
    space, and holds the core routers and every hub that states its address at distinct host
    addresses (a hub's address left out is IPAM's, `ipam._allocate_dc_addresses`).
    """
    issues: list[InventoryIssue] = []
    plan = spec.ip_plan
    reachable = (*plan.hq, plan.cloud)
    for name in hq.SERVICE_NAMES:
        written = getattr(spec.sites.hq.services, name)
        if written is None:
            if hq.default_service(spec, name) is None:
                issues.append(
                    doc.issue(
                        ("ip_plan", "hq", 0),
                        f"{plan.hq[0]} cannot hold the default /24 of sites.hq.services.{name} "
                        f"(offset {hq.SERVICE_SLOTS[name]}); set sites.hq.services.{name}",
                    )
                )
            continue
        for index, net in enumerate(written):
            loc: Loc = ("sites", "hq", "services", name, index)
            if not any(net.subnet_of(outer) for outer in reachable):
                issues.append(doc.issue(loc, f"{net} is inside neither ip_plan.hq nor ip_plan.cloud"))
            clash = next((m for m in plan.management if net.overlaps(m)), None)
            if clash is not None:
                issues.append(doc.issue(loc, f"{net} overlaps the management range {clash}"))

    core = spec.sites.hq.core
    lan = hq.core_lan(spec)
    lan_loc: Loc = ("sites", "hq", "core", "subnet") if core.subnet is not None else ("ip_plan", "hq", 0)
    if not is_rfc1918(lan):
        issues.append(doc.issue(lan_loc, f"DC core LAN {lan} is not a private (RFC 1918) range"))
    if lan.prefixlen > 29:
        issues.append(doc.issue(lan_loc, f"DC core LAN {lan} is too small: use a /29 or larger"))
    for space in ("stores", "transit", "loopbacks", "cloud", "desktops"):
        other = getattr(plan, space)
        if lan.overlaps(other):
            issues.append(doc.issue(lan_loc, f"DC core LAN {lan} overlaps ip_plan.{space} {other}"))
    taken: dict[ipaddress.IPv4Address, str] = {}

    def claim(address: ipaddress.IPv4Address | None, loc: Loc, what: str) -> None:
        if address is None:
            issues.append(doc.issue(loc, f"DC core LAN {lan} has no free host left for {what}; set it"))
            return
        if address not in lan or address in (lan.network_address, lan.broadcast_address):
            issues.append(doc.issue(loc, f"{address} is not a host address of the DC core LAN {lan}"))
        elif address in taken:
            issues.append(doc.issue(loc, f"{address} is already used by {taken[address]} on the DC core LAN"))
        taken.setdefault(address, what)

    for index, router in enumerate(hq.core_routers(spec)):
        claim(
            router,
            ("sites", "hq", "core", "routers", index) if core.routers else lan_loc,
            f"core router {index + 1}",
        )
    # A hub's address left out is IPAM's (`ipam._allocate_dc_addresses`), clear of these.
    for index, hub in enumerate(spec.sites.hq.hubs):
        if hub.dc_address is not None:
            claim(hub.dc_address, ("sites", "hq", "hubs", index, "dc_address"), f"hub {hub.hostname}")
    return issues


def wan_port_issues(wan: list[WanLink], doc: SourceDocument) -> list[InventoryIssue]:
    """Two links of one store on one WAN port (`models.wan_link_ports`): one issue at each stated
    `port` another link holds too (a defaulted port is the link's place in the store's links, which
    no other default takes)."""
    ports = wan_link_ports(wan)
    issues: list[InventoryIssue] = []
    for index, (link, (port, stated)) in enumerate(zip(wan, ports, strict=True)):
        if not stated:
            continue
        for other, (other_port, other_stated) in zip(wan, ports, strict=True):
            if other is link or other_port != port:
                continue
            held = "states it too" if other_stated else "is on it by default (its place in the links by priority)"
            issues.append(
                doc.issue(
                    ("wan", index, "port"),
                    f"link {link.name}: WAN port {port} is link {other.name}'s as well, which {held}: each "
                    "link is cabled to a port of its own",
                )
            )
    return issues


def served_hubs(primary: str, hub_order: list[str]) -> list[str]:
    """The hubs a store reaches over each of its transports: its own, then the next one in the
    fleet's order as its backup (the only hub when there is one)."""
    if primary not in hub_order or len(hub_order) == 1:
        return [primary]
    return [primary, hub_order[(hub_order.index(primary) + 1) % len(hub_order)]]


def cross_checks(
    spec: FleetSpec, fleet_doc: SourceDocument, stores: list[StoreSource]
) -> list[InventoryIssue]:
    issues: list[InventoryIssue] = []
    hub_names = [hub.hostname for hub in spec.sites.hq.hubs]
    hub_platforms = {hub.hostname: hub.platform for hub in spec.sites.hq.hubs}
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

    # A device's identity (serial, SSH host key) belongs to one device: a copy-pasted one would
    # let a push trust the wrong box.
    identities: dict[tuple[str, str], tuple[SourceDocument, Loc]] = {}

    def claim_identity(what: str, value: str | None, doc: SourceDocument, loc: Loc) -> None:
        if value is None:
            return
        first = identities.setdefault((what, value), (doc, loc))
        if first != (doc, loc):
            issues.append(doc.issue(loc, f"{what} {value} is already used by {first[0].where(first[1])}"))

    for index, hub in enumerate(spec.sites.hq.hubs):
        base: Loc = ("sites", "hq", "hubs", index)
        claim_identity("serial", hub.serial, fleet_doc, (*base, "serial"))
        claim_identity("SSH host key", hub.ssh_host_key, fleet_doc, (*base, "ssh_host_key"))

    def claim_address(address: ipaddress.IPv4Address, doc: SourceDocument, loc: Loc) -> None:
        if address in addresses:
            issues.append(
                doc.issue(
                    loc, f"{address} is already used by {addresses[address][0].where(addresses[address][1])}"
                )
            )
        addresses.setdefault(address, (doc, loc))

    for source in stores:
        doc, store = source.document, source.spec
        if store.id in ids:
            issues.append(doc.issue(("id",), f"store id {store.id!r} is already used by {ids[store.id]}"))
        ids.setdefault(store.id, doc.display)
        if store.hub not in hub_names:
            issues.append(doc.issue(("hub",), unknown("hub", store.hub, hub_names)))
        if store.region not in spec.regions:
            issues.append(doc.issue(("region",), unknown("region", store.region, spec.regions)))
        if store.asn is not None:
            if not low <= store.asn <= high:
                issues.append(doc.issue(("asn",), f"{store.asn} is outside asn.store_range {low}-{high}"))
            elif store.asn in asns:
                issues.append(doc.issue(("asn",), f"ASN {store.asn} is already used by {asns[store.asn]}"))
            asns.setdefault(store.asn, doc.display)
        for index, appliance in enumerate(store.appliances):
            if appliance.hostname in hostnames:
                issues.append(
                    doc.issue(
                        ("appliances", index, "hostname"),
                        f"hostname {appliance.hostname!r} is already used in {hostnames[appliance.hostname]}",
                    )
                )
            hostnames.setdefault(appliance.hostname, doc.display)
            claim_identity("serial", appliance.serial, doc, ("appliances", index, "serial"))
            claim_identity("SSH host key", appliance.ssh_host_key, doc, ("appliances", index, "ssh_host_key"))
            if appliance.management_address is not None:
                claim_address(appliance.management_address, doc, ("appliances", index, "management_address"))
        vlans: dict[int, str] = {}
        for kind, segment in store.lan.items():
            if segment.vlan in vlans:
                issues.append(
                    doc.issue(
                        ("lan", kind, "vlan"),
                        f"VLAN {segment.vlan} is already used by segment {vlans[segment.vlan]!r}",
                    )
                )
            vlans.setdefault(segment.vlan, kind)
            if segment.subnet is not None:
                if segment.subnet.prefixlen > 29:
                    issues.append(
                        doc.issue(
                            ("lan", kind, "subnet"),
                            f"{segment.subnet} is too small for a LAN (at most /29)",
                        )
                    )
                explicit_subnets.append((segment.subnet, doc, ("lan", kind, "subnet")))
        link_names: set[str] = set()
        # The first hub serving this store that binds a store's tunnel by its address only.
        static_server = (
            next((hub for hub in served_hubs(store.hub, hub_names) if hub_platforms.get(hub) in HUB_STATIC_PEERS_ONLY), None)
            if store.state != "decommissioned"
            else None
        )
        issues += wan_port_issues(store.wan, doc)
        for index, link in enumerate(store.wan):
            if link.name in link_names:
                issues.append(doc.issue(("wan", index, "name"), f"link name {link.name!r} is used twice"))
            link_names.add(link.name)
            if link.address is not None:
                claim_address(link.address.ip, doc, ("wan", index, "address"))
            if link.addressing != "static" and static_server is not None:
                issues.append(
                    doc.issue(
                        ("wan", index, "addressing"),
                        f"link {link.name} is addressed by {link.addressing}, but hub {static_server} "
                        f"({hub_platforms[static_server]}) serves this store: "
                        f"{HUB_STATIC_PEERS_ONLY[hub_platforms[static_server]]}",
                    )
                )
        one_fqdn = next((a.platform for a in store.appliances if a.platform in STORE_ONE_FQDN_IDENTITY), None)
        if one_fqdn is not None and store.state != "decommissioned":
            # One link may send the device's FQDN; every other one is known by its static address.
            dynamic = [index for index, link in enumerate(store.wan) if link.addressing != "static"]
            for index in dynamic[1:]:
                link = store.wan[index]
                issues.append(
                    doc.issue(
                        ("wan", index, "addressing"),
                        f"link {link.name} is addressed by {link.addressing}, and so is link "
                        f"{store.wan[dynamic[0]].name} of this {one_fqdn} store: {STORE_ONE_FQDN_IDENTITY[one_fqdn]}",
                    )
                )
        breakout = guest_breakout_index(store.wan) if "guest-wifi" in store.lan else None
        static_breakout = next(
            (a.platform for a in store.appliances if a.platform in GUEST_BREAKOUT_STATIC_ONLY), None
        )
        if (
            breakout is not None
            and static_breakout is not None
            and store.wan[breakout].addressing != "static"
            and store.state != "decommissioned"
        ):
            index, link = breakout, store.wan[breakout]
            issues.append(
                doc.issue(
                    ("wan", index, "addressing"),
                    f"link {link.name} is addressed by {link.addressing} and is the guest Wi-Fi breakout "
                    f"of a {static_breakout} store: {GUEST_BREAKOUT_STATIC_ONLY[static_breakout]}",
                )
            )
        for role in store.desktops:
            if role not in spec.roles:
                issues.append(doc.issue(("desktops", role), unknown("role", role, spec.roles)))
        named: dict[str, int] = {}
        for index, user in enumerate(store.desktop_users):
            named[user.role] = named.get(user.role, 0) + 1
            if named[user.role] == store.desktops.get(user.role, 0) + 1:
                issues.append(
                    doc.issue(
                        ("desktop_users", index, "role"),
                        f"more named {user.role} users than the store's {store.desktops.get(user.role, 0)} seat(s) "
                        f"(desktops.{user.role})",
                    )
                )
            if [u.user for u in store.desktop_users].index(user.user) != index:
                issues.append(doc.issue(("desktop_users", index, "user"), f"user {user.user!r} is listed twice"))
        if store.cloud.aws_region is not None and store.cloud.aws_region not in aws_regions:
            issues.append(
                doc.issue(("cloud", "aws_region"), unknown("AWS region", store.cloud.aws_region, aws_regions))
            )
        if store.cloud.openstack_site is not None and store.cloud.openstack_site not in openstack_sites:
            issues.append(
                doc.issue(
                    ("cloud", "openstack_site"),
                    unknown("OpenStack site", store.cloud.openstack_site, openstack_sites),
                )
            )

    explicit_subnets.sort(key=lambda item: (int(item[0].network_address), item[0].prefixlen))
    widest: tuple[ipaddress.IPv4Network, SourceDocument, Loc] | None = None
    for net, doc, loc in explicit_subnets:
        if widest is not None and net.overlaps(widest[0]):
            issues.append(doc.issue(loc, f"{net} overlaps {widest[0]} ({widest[1].where(widest[2])})"))
        if widest is None or int(net.broadcast_address) > int(widest[0].broadcast_address):
            widest = (net, doc, loc)
        for label, supernet in foreign_supernets:
            if net.overlaps(supernet):
                issues.append(doc.issue(loc, f"{net} overlaps {label} {supernet}"))
    return issues


def lock_checks(spec: FleetSpec, lock: LockSource) -> list[InventoryIssue]:
    """A lock file that no longer fits the plan, or contradicts itself, is reported, never used."""
    issues: list[InventoryIssue] = []
    doc, plan = lock.document, spec.ip_plan
    low, high = spec.asn.store_range
    hint = "; delete the entry to re-allocate (the store will be renumbered)"
    loopbacks: dict[ipaddress.IPv4Address, Loc] = {}
    transits: dict[ipaddress.IPv4Network, Loc] = {}
    asns: dict[int, Loc] = {}
    aws_insides: dict[tuple[str, ipaddress.IPv4Network], Loc] = {}
    blocks: list[tuple[int, int, ipaddress.IPv4Network, Loc]] = []
    stores_first, stores_last = addresses.span(plan.stores)
    transit_first, transit_last = addresses.span(plan.transit)
    loopbacks_first, loopbacks_last = addresses.span(plan.loopbacks)

    def check_loopback(address: ipaddress.IPv4Address, loc: Loc) -> None:
        if not loopbacks_first <= int(address) <= loopbacks_last:
            issues.append(doc.issue(loc, f"{address} is outside ip_plan.loopbacks {plan.loopbacks}{hint}"))
        elif address in loopbacks:
            issues.append(doc.issue(loc, f"{address} is already allocated to {dotted(loopbacks[address])}"))
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
                    doc.issue(
                        (*base, "block"),
                        f"{alloc.block} is not a /{plan.store_block_prefix} of ip_plan.stores {plan.stores}{hint}",
                    )
                )
            blocks.append((first, last, alloc.block, (*base, "block")))
        if not low <= alloc.asn <= high:
            issues.append(
                doc.issue((*base, "asn"), f"{alloc.asn} is outside asn.store_range {low}-{high}{hint}")
            )
        elif alloc.asn in asns:
            issues.append(
                doc.issue(
                    (*base, "asn"), f"ASN {alloc.asn} is already allocated to {dotted(asns[alloc.asn])}"
                )
            )
        asns.setdefault(alloc.asn, (*base, "asn"))
        for hostname, address in alloc.loopbacks.items():
            check_loopback(address, (*base, "loopbacks", hostname))
        for link, net in alloc.transit.items():
            loc: Loc = (*base, "transit", link)
            first = int(net.network_address)
            if not transit_first <= first < transit_last or net.prefixlen != 31:
                issues.append(doc.issue(loc, f"{net} is not a /31 of ip_plan.transit {plan.transit}{hint}"))
            elif net in transits:
                issues.append(doc.issue(loc, f"{net} is already allocated to {dotted(transits[net])}"))
            transits.setdefault(net, loc)
        for link, net in alloc.aws_inside.items():
            loc = (*base, "aws_inside", link)
            if alloc.aws_region is None:
                issues.append(doc.issue(loc, f"{net} has no aws_region: AWS inside /29s are unique per region{hint}"))
            elif not aws_inside_usable(net):
                issues.append(
                    doc.issue(
                        loc,
                        f"{net} is not a /{STORE_AWS_INSIDE_PREFIX} of {LINK_LOCAL} clear of AWS's reserved "
                        f"/30s and the hub and OpenStack gateway tunnels' ranges{hint}",
                    )
                )
            elif (alloc.aws_region, net) in aws_insides:
                taken = aws_insides[(alloc.aws_region, net)]
                issues.append(doc.issue(loc, f"{net} is already allocated to {dotted(taken)} in {alloc.aws_region}"))
            if alloc.aws_region is not None:
                aws_insides.setdefault((alloc.aws_region, net), loc)
    issues.extend(_slot_issues(lock))
    dc_addresses: dict[ipaddress.IPv4Address, Loc] = {}
    for name, hub_alloc in lock.table.hubs.items():
        dc_address = hub_alloc.dc_address
        if dc_address is None:
            continue
        loc = ("hubs", name, "dc_address")
        if dc_address in dc_addresses:
            taken_by = dotted(dc_addresses[dc_address])
            issues.append(doc.issue(loc, f"{dc_address} is already allocated to {taken_by}; delete the entry to re-allocate"))
        dc_addresses.setdefault(dc_address, loc)
    blocks.sort(key=lambda item: (item[0], -item[1]))
    widest_last, widest = -1, None
    for first, last, net, loc in blocks:
        if widest is not None and first <= widest_last:
            issues.append(doc.issue(loc, f"{net} overlaps {dotted(widest[1])} {widest[0]}"))
        if last > widest_last:
            widest_last, widest = last, (net, loc)
    return issues


def _slot_issues(lock: LockSource) -> list[InventoryIssue]:
    """Cloud tunnel slots and hubs' cloud ranks out of their pool or given twice, and OpenStack
    gateways' AWS /29s outside theirs or given twice (`network/cloud.py`): never used, as a store's
    numbers aren't."""
    doc = lock.document
    hint = "; delete the entry to re-allocate (its cloud tunnels will be renumbered, a hub's cloud rank re-allocated)"
    issues: list[InventoryIssue] = []
    pinned: list[tuple[str, int, int | None, Loc]] = [
        ("hub slot", HUB_SLOTS, alloc.slot, ("hubs", name, "slot")) for name, alloc in lock.table.hubs.items()
    ]
    pinned += [
        ("cloud rank", CLOUD_RANKS, alloc.cloud_rank, ("hubs", name, "cloud_rank"))
        for name, alloc in lock.table.hubs.items()
    ]
    pinned += [
        ("AWS region slot", AWS_REGION_SLOTS, alloc.slot, ("aws_regions", name, "slot"))
        for name, alloc in lock.table.aws_regions.items()
    ]
    pinned += [
        ("OpenStack site slot", OPENSTACK_SITE_SLOTS, alloc.slot, ("openstack_sites", name, "slot"))
        for name, alloc in lock.table.openstack_sites.items()
    ]
    # One share of the cloud and desktop ranges per region or site, regions and sites alike.
    sites: dict[str, dict[str, AwsRegionAllocation] | dict[str, OpenStackSiteAllocation]] = {
        "aws_regions": lock.table.aws_regions,
        "openstack_sites": lock.table.openstack_sites,
    }
    pinned += [
        ("cloud range slot", CLOUD_SITE_SLOTS, alloc.ranges, (section, name, "ranges"))
        for section, entries in sites.items()
        for name, alloc in entries.items()
    ]
    seen: dict[tuple[str, int], Loc] = {}
    for what, size, slot, loc in pinned:
        if slot is None:
            continue
        if not 0 <= slot < size:
            issues.append(doc.issue(loc, f"{what} {slot} is not one of 0-{size - 1}{hint}"))
        elif (what, slot) in seen:
            issues.append(doc.issue(loc, f"{what} {slot} is already allocated to {dotted(seen[(what, slot)])}"))
        seen.setdefault((what, slot), loc)
    blocks: dict[ipaddress.IPv4Network, Loc] = {}
    for name, site in lock.table.openstack_sites.items():
        for region, block in site.aws_inside.items():
            loc = ("openstack_sites", name, "aws_inside", region)
            if block.prefixlen != STORE_AWS_INSIDE_PREFIX or not block.subnet_of(OPENSTACK_AWS_INSIDE_POOL):
                issues.append(
                    doc.issue(loc, f"{block} is not a /{STORE_AWS_INSIDE_PREFIX} of {OPENSTACK_AWS_INSIDE_POOL}{hint}")
                )
            elif block in blocks:
                issues.append(doc.issue(loc, f"{block} is already allocated to {dotted(blocks[block])}"))
            blocks.setdefault(block, loc)
    return issues


def resolved_checks(
    spec: FleetSpec,
    fleet_doc: SourceDocument,
    stores: list[StoreSource],
    hubs: dict[str, ResolvedHub],
    resolved: dict[str, ResolvedStore],
    table: AllocationTable,
    lock: LockSource,
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
            blocks.append(
                (*addresses.span(store.block), store.id, f"the block {store.block} of store {store.id!r}")
            )
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
                    source.document.issue(("lan", kind, "subnet"), f"{segment.subnet} overlaps {clash}")
                )

    for source in stores:
        doc, spec_store = source.document, source.spec
        if spec_store.asn is not None and spec_store.asn in pinned_asns:
            issues.append(
                doc.issue(("asn",), f"ASN {spec_store.asn} is already used by {pinned_asns[spec_store.asn]}")
            )
        for index, appliance in enumerate(spec_store.appliances):
            address = appliance.management_address
            if (
                address is not None
                and device_loopbacks.get(address, appliance.hostname) != appliance.hostname
            ):
                issues.append(
                    doc.issue(
                        ("appliances", index, "management_address"),
                        f"{address} is the loopback of {device_loopbacks[address]}",
                    )
                )
    for index, hub_spec in enumerate(spec.sites.hq.hubs):
        owner = device_loopbacks.get(hub_spec.management_address, hub_spec.hostname)
        if owner != hub_spec.hostname:
            issues.append(
                fleet_doc.issue(
                    ("sites", "hq", "hubs", index, "management_address"),
                    f"{hub_spec.management_address} is the loopback of {owner}",
                )
            )
    return issues


# Each AWS region or OpenStack site takes one sixteenth of ip_plan.cloud and ip_plan.desktops
# (network/cloud.py CLOUD_SLOT_BITS); the stacks refuse more.
MAX_CLOUD_SITES = 16


def address_checks(spec: FleetSpec, doc: SourceDocument, stores: list[StoreSource]) -> list[InventoryIssue]:
    """Networks and addresses that are well-formed but wrong where they are used.

    Everything the cloud stacks take as a private range (stores, LANs, HQ, cloud, desktops,
    management) must be RFC 1918; loopbacks and transit may also use `ip_plan.private_ranges`.
    Management ranges are never wider than `ip_plan.management_widest_prefix`. Hub public
    addresses must be reachable across the internet, WAN addresses and gateways must be
    unicast host addresses, and a pinned LAN lies inside `ip_plan.stores`.
    """
    issues: list[InventoryIssue] = []
    plan = spec.ip_plan
    cloud_facing: list[tuple[Loc, ipaddress.IPv4Network]] = [
        (("ip_plan", "stores"), plan.stores),
        (("ip_plan", "cloud"), plan.cloud),
        (("ip_plan", "desktops"), plan.desktops),
        *((("ip_plan", "hq", index), net) for index, net in enumerate(plan.hq)),
        *((("ip_plan", "management", index), net) for index, net in enumerate(plan.management)),
    ]
    for loc, net in cloud_facing:
        if not is_rfc1918(net):
            issues.append(doc.issue(loc, f"{net} is not a private (RFC 1918) range"))
    for index, net in enumerate(plan.management):
        if net.prefixlen < plan.management_widest_prefix:
            issues.append(
                doc.issue(
                    ("ip_plan", "management", index),
                    f"{net} is wider than /{plan.management_widest_prefix} "
                    "(ip_plan.management_widest_prefix): appliances would accept management from all of it",
                )
            )
    for index, net in enumerate(plan.private_ranges):
        problem = unicast_problem(net.network_address) or unicast_problem(net.broadcast_address)
        if problem is not None or net.prefixlen < 8:
            issues.append(
                doc.issue(("ip_plan", "private_ranges", index), f"{net} cannot be declared a private range")
            )

    def internal(address: ipaddress.IPv4Network | ipaddress.IPv4Address) -> bool:
        if is_rfc1918(address):
            return True
        if isinstance(address, ipaddress.IPv4Address):
            return any(address in net for net in plan.private_ranges)
        return any(address.subnet_of(net) for net in plan.private_ranges)

    for loc, net in ((("ip_plan", "loopbacks"), plan.loopbacks), (("ip_plan", "transit"), plan.transit)):
        if not internal(net):
            issues.append(doc.issue(loc, f"{net} is neither RFC 1918 nor inside ip_plan.private_ranges"))
    for index, hub in enumerate(spec.sites.hq.hubs):
        base: Loc = ("sites", "hq", "hubs", index)
        if not internal(hub.management_address):
            issues.append(
                doc.issue(
                    (*base, "management_address"),
                    f"{hub.management_address} is neither RFC 1918 nor inside ip_plan.private_ranges",
                )
            )
        problem = public_address_problem(hub.public_address)
        if problem is not None:
            issues.append(doc.issue((*base, "public_address"), problem))
    management = spec.management
    for name in ("ntp_servers", "syslog_servers", "dns_forwarders", "tacacs_servers"):
        for index, server in enumerate(getattr(management, name)):
            problem = unicast_problem(server)
            if problem is not None:
                issues.append(doc.issue(("management", name, index), problem))

    for source in stores:
        store_doc, store = source.document, source.spec
        for kind, segment in store.lan.items():
            subnet = segment.subnet
            if subnet is None:
                continue
            loc = ("lan", kind, "subnet")
            if not is_rfc1918(subnet):
                issues.append(store_doc.issue(loc, f"{subnet} is not a private (RFC 1918) range"))
            elif not subnet.subnet_of(plan.stores):
                issues.append(store_doc.issue(loc, f"{subnet} is outside ip_plan.stores {plan.stores}"))
        for index, link in enumerate(store.wan):
            if link.address is not None:
                problem = unicast_problem(link.address.ip)
                net = link.address.network
                if (
                    problem is None
                    and net.prefixlen <= 30
                    and link.address.ip
                    in (
                        net.network_address,
                        net.broadcast_address,
                    )
                ):
                    problem = f"{link.address.ip} is the network or broadcast address of {net}"
                if problem is not None:
                    issues.append(store_doc.issue(("wan", index, "address"), problem))
            if link.gateway is not None:
                problem = unicast_problem(link.gateway)
                if problem is not None:
                    issues.append(store_doc.issue(("wan", index, "gateway"), problem))
        for index, appliance in enumerate(store.appliances):
            address = appliance.management_address
            if address is not None and not internal(address):
                issues.append(
                    store_doc.issue(
                        ("appliances", index, "management_address"),
                        f"{address} is neither RFC 1918 nor inside ip_plan.private_ranges",
                    )
                )
    return issues


def stack_checks(spec: FleetSpec, doc: SourceDocument) -> list[InventoryIssue]:
    """What the cloud stacks would refuse at `plan` time, said here with file and line."""
    issues: list[InventoryIssue] = []
    accounts = spec.sites.aws
    if len(accounts) != 1:
        issues.append(
            doc.issue(("sites", "aws"), f"the core stack needs exactly one AWS account, not {len(accounts)}")
        )
    for index, account in enumerate(accounts):
        if not account.staff_entry_roles:
            issues.append(
                doc.issue(
                    ("sites", "aws", index),
                    "staff_entry_roles: name the roles the identity provider signs staff into "
                    "(the staff roles trust no other caller)",
                )
            )
    sites = sum(len(account.regions) for account in accounts) + len(spec.sites.openstack)
    if sites > MAX_CLOUD_SITES:
        issues.append(
            doc.issue(
                ("sites",), f"{sites} cloud regions and sites; ip_plan.cloud has room for {MAX_CLOUD_SITES}"
            )
        )
    hubs = len(spec.sites.hq.hubs)
    if spec.sites.openstack and hubs > HUBS_PER_SITE:
        issues.append(
            doc.issue(
                ("sites", "hq", "hubs"),
                f"{hubs} hubs; an OpenStack site's gateway has tunnel addresses for {HUBS_PER_SITE}",
            )
        )
    for index, account in enumerate(accounts):
        for what, values in (
            ("regions", account.regions),
            ("availability_zones", account.availability_zones),
        ):
            seen: set[str] = set()
            for position, value in enumerate(values):
                if value in seen:
                    issues.append(
                        doc.issue(("sites", "aws", index, what, position), f"{value!r} is listed twice")
                    )
                seen.add(value)
    names: set[str] = set()
    for index, site in enumerate(spec.sites.openstack):
        if site.name in names:
            issues.append(
                doc.issue(
                    ("sites", "openstack", index, "name"), f"OpenStack site {site.name!r} is listed twice"
                )
            )
        names.add(site.name)
    if refusal := transit_gateway_asn_refusal(spec.asn.aws):
        issues.append(doc.issue(("asn", "aws"), refusal))
    issues += _customer_gateway_asn_issues(spec, doc)
    return issues


def _customer_gateway_asn_issues(spec: FleetSpec, doc: SourceDocument) -> list[InventoryIssue]:
    """ASNs AWS keeps for itself in one of the fleet's regions, where a customer gateway would
    carry them: every hub (asn.hq) and OpenStack gateway (asn.openstack) has one in each region,
    and a store taking an ASN of store_range may have one in any."""
    issues: list[InventoryIssue] = []
    regions = sorted({region for account in spec.sites.aws for region in account.regions})
    gateways = ["hq", "openstack"] if spec.sites.openstack else ["hq"]
    for name in gateways:
        for region in regions:
            if refusal := customer_gateway_asn_refusal(getattr(spec.asn, name), region):
                issues.append(doc.issue(("asn", name), refusal))
    low, high = spec.asn.store_range
    for asn in sorted(CUSTOMER_GATEWAY_RESERVED_ASNS):
        for region in regions:
            if low <= asn <= high and (refusal := customer_gateway_asn_refusal(asn, region)):
                issues.append(doc.issue(("asn", "store_range"), f"{low}-{high} holds a store ASN AWS refuses: {refusal}"))
    return issues


def secret_checks(spec: FleetSpec, doc: SourceDocument) -> list[InventoryIssue]:
    """Secret references the fleet's rule refuses (a variable without its prefix, a file elsewhere)."""
    issues: list[InventoryIssue] = []
    policy = spec.management.secret_policy
    for slug, text in spec.management.secrets.items():
        problem = policy_problem(parse_secret_ref(text), policy)
        if problem is not None:
            issues.append(doc.issue(("management", "secrets", slug), problem))
    return issues


def _application_issues(
    doc: SourceDocument,
    base: Loc,
    applications: dict[str, ApplicationClass],
    classes: dict[str, SlaClass],
    catch_alls: dict[SegmentKind, str],
    qos: QosPolicy,
) -> list[InventoryIssue]:
    """An application naming an SLA class nobody defines, or a second catch-all for a segment,
    or marking a DSCP the QoS classes do not queue.

    `catch_alls` maps each segment to the application that takes all its traffic (no ports):
    a segment's unmatched traffic must belong to exactly one class, or steering is a guess. A
    catch-all marks what its segment's QoS class marks (the trust boundary marks one DSCP per
    segment), and nothing from guest Wi-Fi is marked above best effort."""
    issues: list[InventoryIssue] = []
    for name, application in applications.items():
        if application.sla not in classes:
            issues.append(doc.issue((*base, name, "sla"), unknown("SLA class", application.sla, classes)))
        qos_class = qos.class_of_dscp(application.dscp)
        if qos_class is None:
            marked = ", ".join(f"{c} {spec.dscp}" for c, spec in qos.classes.items())
            issues.append(
                doc.issue(
                    (*base, name, "dscp"),
                    f"DSCP {application.dscp} maps to no QoS class (qos.classes: {marked})",
                )
            )
        else:
            for segment in application.segments:
                owner = qos.segment_class(segment)
                own_dscp = qos.classes[owner].dscp
                if segment == "guest-wifi" and application.dscp != own_dscp:
                    issues.append(
                        doc.issue(
                            (*base, name, "dscp"),
                            f"guest Wi-Fi traffic is best effort ({own_dscp}); it is never marked {application.dscp}",
                        )
                    )
                elif not application.ports and application.dscp != own_dscp:
                    issues.append(
                        doc.issue(
                            (*base, name, "dscp"),
                            f"takes all other {segment} traffic, which the trust boundary marks {own_dscp} "
                            f"(qos class {owner!r}), not {application.dscp}",
                        )
                    )
        if application.ports:
            continue
        for index, segment in enumerate(application.segments):
            other = catch_alls.setdefault(segment, name)
            if other != name:
                issues.append(
                    doc.issue(
                        (*base, name, "segments", index),
                        f"segment {segment!r} already sends all its other traffic to application {other!r} "
                        "(give one of them ports)",
                    )
                )
    return issues


def sla_checks(spec: FleetSpec, doc: SourceDocument, stores: list[StoreSource]) -> list[InventoryIssue]:
    sla = spec.sla
    issues = _application_issues(doc, ("sla", "applications"), sla.applications, sla.classes, {}, spec.qos)
    for source in stores:
        store, store_doc = source.spec, source.document
        override = store.sla
        classes = {**sla.classes, **override.classes}
        if override.applications or override.classes:
            # The store's applications, and the fleet's it does not replace, against its classes.
            catch_alls = {
                segment: name
                for name, application in sla.applications.items()
                if name not in override.applications and not application.ports
                for segment in application.segments
            }
            issues += _application_issues(
                store_doc, ("sla", "applications"), override.applications, classes, catch_alls, spec.qos
            )
        breakout = guest_breakout_index(store.wan) if "guest-wifi" in store.lan else None
        if breakout is not None:
            # Guest Wi-Fi leaves through one link on every platform, the store's first wired one:
            # an application of the segment that would not use that link's kind has no way out.
            link = store.wan[breakout]
            for name, application in {**sla.applications, **override.applications}.items():
                if "guest-wifi" in application.segments and link.kind not in application.transports:
                    issues.append(
                        store_doc.issue(
                            ("wan", breakout, "kind"),
                            f"link {link.name} ({link.kind}) is where guest Wi-Fi breaks out (the store's "
                            f"first wired link), and application {name} does not list {link.kind} in its "
                            f"transports ({', '.join(application.transports)}); guest Wi-Fi leaves through "
                            "that link only",
                        )
                    )
        for index, link in enumerate(store.wan):
            if link.data_cap_gb is not None and link.kind not in CELLULAR_KINDS:
                issues.append(
                    store_doc.issue(
                        ("wan", index, "data_cap_gb"), f"a data cap applies to LTE/5G links, not {link.kind}"
                    )
                )
    return issues


def platform_issues(
    spec: FleetSpec, doc: SourceDocument, stores: list[StoreSource], problem: Callable[[Platform], str | None]
) -> list[InventoryIssue]:
    """One issue at each hub's and store appliance's `platform` line whose platform `problem`
    finds something wrong with (its message)."""
    issues: list[InventoryIssue] = []
    for index, hub in enumerate(spec.sites.hq.hubs):
        if (message := problem(hub.platform)) is not None:
            issues.append(doc.issue(("sites", "hq", "hubs", index, "platform"), message))
    for source in stores:
        for index, appliance in enumerate(source.spec.appliances):
            if (message := problem(appliance.platform)) is not None:
                issues.append(source.document.issue(("appliances", index, "platform"), message))
    return issues


def ntp_checks(spec: FleetSpec, doc: SourceDocument, stores: list[StoreSource]) -> list[InventoryIssue]:
    """Every appliance's platform implements the algorithm of at least one of the fleet's NTP keys
    (`common/ntp.py`): otherwise it could authenticate no server and would never set its clock."""
    keys = spec.management.ntp_keys
    algorithms = {key.algorithm for key in keys}
    listed = ", ".join(f"{key.id} {key.algorithm}" for key in keys)
    where = doc.where(("management", "ntp_keys"))

    def problem(platform: Platform) -> str | None:
        usable = PLATFORM_NTP_ALGORITHMS[platform]
        if algorithms.intersection(usable):
            return None
        return (
            f"{platform} implements none of the NTP keys' algorithms ({where}: {listed}); it needs a key "
            f"with {' or '.join(usable)}"
        )

    return platform_issues(spec, doc, stores, problem)


def snmp_checks(spec: FleetSpec, doc: SourceDocument, stores: list[StoreSource]) -> list[InventoryIssue]:
    """Every appliance's platform documents the fleet's SNMPv3 authentication and privacy
    protocols (`common/snmp.py`): the fleet's one user is never given a weaker pair on some
    appliances, nor a pair the platform may refuse or spell differently."""
    auth, priv = spec.management.snmp_auth, spec.management.snmp_priv
    where = f"{doc.where(('management',))}: snmp_auth {auth}, snmp_priv {priv}"

    def problem(platform: Platform) -> str | None:
        found = snmp_pair_problem(platform, auth, priv)
        return None if found is None else f"{found} ({where})"

    return platform_issues(spec, doc, stores, problem)
