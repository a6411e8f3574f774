"""Fleet → stack configs: the one place that knows both the inventory and the component args.

Cloud ranges are carved from the fleet's IP plan in declaration order (AWS regions first, then
OpenStack sites), each taking one fixed-size slot, so adding a region or a site never renumbers
an existing one.
"""

from __future__ import annotations

import ipaddress

from pydantic import ValidationError

from storestack.components import (
    AwsRegionArgs,
    DesktopBundleArgs,
    DesktopPoolArgs,
    HqHubArgs,
    HubTunnelArgs,
    HybridCloudArgs,
    OpenStackSiteArgs,
    SeatRequest,
    StaffRoleAccessArgs,
    StoreApplianceArgs,
    StoreSiteArgs,
    StoreWanLinkArgs,
)
from storestack.components.common import check_public_address
from storestack.inventory import Fleet, ResolvedStore
from storestack.stacks.config import (
    DEFAULT_CORE_REFERENCE,
    CoreStackConfig,
    DesktopPoolConfig,
    StoreStackConfig,
)
from storestack.stacks.errors import StackConfigError

# Each region or site takes 1/16th of the cloud and desktop supernets.
SLOT_BITS = 4
_COMPUTE_TYPES = {"value": "VALUE", "standard": "STANDARD", "performance": "PERFORMANCE", "power": "POWER",
                  "powerpro": "POWERPRO"}


def _slot(supernet: ipaddress.IPv4Network, index: int, what: str) -> ipaddress.IPv4Network:
    slots = list(supernet.subnets(prefixlen_diff=SLOT_BITS))
    if index >= len(slots):
        raise StackConfigError(f"{what}: the {supernet} plan has room for {len(slots)} cloud sites, not {index + 1}")
    return slots[index]


def _cloud_sites(fleet: Fleet) -> list[str]:
    """Keys of every cloud site in slot order: `aws:<region>` then `openstack:<name>`."""
    sites = fleet.spec.sites
    keys = [f"aws:{region}" for account in sites.aws for region in account.regions]
    keys += [f"openstack:{site.name}" for site in sites.openstack]
    return keys


def core_config(fleet: Fleet) -> CoreStackConfig:
    """The core stack's config: the hybrid cloud and every desktop pool, from the fleet."""
    spec = fleet.spec
    sites = spec.sites
    if len(sites.aws) != 1:
        raise StackConfigError(f"the core stack needs exactly one AWS account, the fleet has {len(sites.aws)}")
    account = sites.aws[0]
    plan = spec.ip_plan
    slot_of = {key: index for index, key in enumerate(_cloud_sites(fleet))}
    try:
        regions = [
            AwsRegionArgs(
                region=region,
                availability_zones=[f"{region}{zone}" for zone in account.availability_zones],
                workloads_cidr=_slot(plan.cloud, slot_of[f"aws:{region}"], region),
                desktops_cidr=_slot(plan.desktops, slot_of[f"aws:{region}"], region),
                transit_gateway_asn=spec.asn.aws,
            )
            for region in account.regions
        ]
        openstack_sites = [
            OpenStackSiteArgs(
                name=site.name,
                auth_url=site.auth_url,
                region=site.region,
                external_network=site.external_network,
                workloads_cidr=_slot(plan.cloud, slot_of[f"openstack:{site.name}"], site.name),
                desktops_cidr=_slot(plan.desktops, slot_of[f"openstack:{site.name}"], site.name),
                dns_nameservers=spec.management.dns_forwarders,
                bgp_asn=spec.asn.openstack,
            )
            for site in sites.openstack
        ]
        hybrid = HybridCloudArgs(
            fleet=spec.organisation.slug,
            tags=dict(spec.tags),
            aws_account_id=account.account_id,
            aws_regions=regions,
            openstack_sites=openstack_sites,
            hubs=[
                HqHubArgs(name=hub.hostname, public_address=hub.public_address, bgp_asn=hub.asn, prefixes=plan.hq)
                for hub in fleet.hubs.values()
            ],
            staff_roles=[
                StaffRoleAccessArgs(
                    name=name,
                    data_prefixes=role.access.data_prefixes,
                    stores=role.access.stores,
                    admin=role.access.admin,
                    openstack_role=role.openstack_role,
                    description=role.description,
                )
                for name, role in spec.roles.items()
            ],
            store_supernet=plan.stores,
            admin_ranges=plan.management,
            data_bucket_name=f"{spec.organisation.slug}-staff-data-{account.account_id}",
        )
        pools = [_desktop_pool(fleet, index) for index in range(len(spec.desktop_policies))]
        return CoreStackConfig(hybrid_cloud=hybrid, desktop_pools=pools)
    except ValidationError as exc:
        raise StackConfigError(f"core stack: {_first_error(exc)}") from exc


def _amazon_bundle(compute_type: str) -> str:
    """The Amazon-owned public bundle of a compute type: nothing has to exist in the account.

    Public bundle names differ by region and change with new Windows releases; check them with
    `aws workspaces describe-workspace-bundles --owner AMAZON` before the first `up`.
    """
    return f"{compute_type.title().replace('pro', 'Pro')} with Windows 10 (Server 2022 based)"


def _desktop_pool(fleet: Fleet, index: int) -> DesktopPoolConfig:
    spec = fleet.spec
    policy = spec.desktop_policies[index]
    seats = [
        SeatRequest(role=role, store=store.id, region=store.region, count=store.desktops[role])
        for store in fleet
        if store.state != "decommissioned"
        for role in policy.roles
        if store.desktops.get(role, 0) > 0
    ]
    bundles = [
        DesktopBundleArgs(
            role=role,
            aws_bundle_name=_amazon_bundle(_COMPUTE_TYPES.get(spec.roles[role].desktop_bundle, "STANDARD")),
            aws_compute_type=_COMPUTE_TYPES.get(spec.roles[role].desktop_bundle, "STANDARD"),
            openstack_image=policy.image,
            openstack_flavor=policy.flavor,
        )
        for role in policy.roles
    ]
    pool = DesktopPoolArgs(
        name=policy.name,
        provider=policy.provider,
        fleet=spec.organisation.slug,
        tags=dict(spec.tags),
        seats=seats,
        bundles=bundles,
        management_ranges=spec.ip_plan.management,
        running_mode="AUTO_STOP" if policy.running_mode == "auto-stop" else "ALWAYS_ON",
        auto_stop_minutes=policy.auto_stop_minutes,
        directory_domain=f"desktops.{spec.organisation.domain}",
    )
    if policy.provider == "aws":
        return DesktopPoolConfig(pool=pool, aws_region=policy.region)
    return DesktopPoolConfig(pool=pool, openstack_site=policy.site)


def own_prefixes(store: ResolvedStore) -> list[ipaddress.IPv4Network]:
    """The store's allocation: its block plus any subnet pinned outside it."""
    block = [store.block] if store.block is not None else []
    pinned = [s.subnet for s in store.segments.values() if not any(s.subnet.subnet_of(b) for b in block)]
    return sorted(set(block + pinned))


def store_config(
    fleet: Fleet,
    store: ResolvedStore,
    core_stack: str = DEFAULT_CORE_REFERENCE,
) -> StoreStackConfig:
    """One store stack's config. Links AWS cannot identify stay off AWS; `notes` says so."""
    spec = fleet.spec
    notes: list[str] = []
    own = own_prefixes(store)
    links = []
    for link in store.wan:
        public = _public(link.address.ip) if link.address is not None else None
        links.append(StoreWanLinkArgs(name=link.name, kind=link.kind, public_address=public))
    aws_region = store.cloud.aws_region
    known_regions = {region for account in spec.sites.aws for region in account.regions}
    if aws_region is not None and aws_region not in known_regions:
        raise StackConfigError(f"store {store.id}: AWS affinity {aws_region} is not a region of the fleet")
    if aws_region is not None and not any(link.public_address for link in links):
        notes.append(
            f"AWS affinity {aws_region} skipped: no WAN link has a static public address; "
            "the store reaches AWS through its hubs"
        )
        aws_region = None
    elif aws_region is not None:
        notes += [
            f"WAN link {link.name} stays off AWS (dynamic address)" for link in links if link.public_address is None
        ]
    try:
        site = StoreSiteArgs(
            store_id=store.id,
            fleet=spec.organisation.slug,
            tags=dict(spec.tags),
            bgp_asn=store.asn,
            store_supernet=spec.ip_plan.stores,
            own_prefixes=own,
            advertised_prefixes=store.advertised_prefixes,
            wan_links=links,
            hub_tunnels=[
                HubTunnelArgs(
                    hub=link.hub,
                    hub_address=fleet.hubs[link.hub].public_address,
                    hub_asn=fleet.hubs[link.hub].asn,
                    wan_link=link.name,
                    inside_cidr=link.overlay.network,
                    store_inside_address=link.overlay.ip,
                    hub_inside_address=link.overlay_peer,
                    role="primary" if link.primary else "backup",
                )
                for link in store.wan
            ],
            appliances=_appliances(store),
            aws_region=aws_region,
        )
        return StoreStackConfig(site=site, state=store.state, core_stack=core_stack, notes=notes)
    except ValidationError as exc:
        raise StackConfigError(f"store {store.id}: {_first_error(exc)}") from exc


def _appliances(store: ResolvedStore) -> list[StoreApplianceArgs]:
    """Each appliance terminates its share of the WAN links: all of them for a single edge,
    alternating links for a pair."""
    count = len(store.appliances)
    return [
        StoreApplianceArgs(
            hostname=appliance.hostname,
            platform=appliance.platform,
            management_address=appliance.management_address,
            wan_links=[link.name for i, link in enumerate(store.wan) if i % count == index] or [store.wan[0].name],
        )
        for index, appliance in enumerate(store.appliances)
    ]


def _public(address: ipaddress.IPv4Address) -> ipaddress.IPv4Address | None:
    try:
        return check_public_address(address)
    except ValueError:
        return None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    return f"{location}: {error['msg']}" if location else str(error["msg"])
