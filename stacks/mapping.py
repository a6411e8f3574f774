"""Fleet → stack configs: the one place that knows both the inventory and the component args.

Cloud ranges are carved from the fleet's IP plan, each AWS region or OpenStack site taking one
fixed-size slot IPAM pins in the lock file (first its declaration-order place, AWS regions first,
then OpenStack sites), so adding or removing a region or a site never renumbers another.

Every tunnel a stack builds takes its parameters from the network intent (`storestack.network`),
never from a computation of its own: hub tunnels, AWS inside /30s, tunnel ids (the keys derive
from them, see `stacks/keys.py`). The intent is the one place planned values are made.
"""

from __future__ import annotations

import ipaddress

from pydantic import ValidationError

from storestack.components import (
    AwsRegionArgs,
    DesktopBundleArgs,
    DesktopPoolArgs,
    DesktopUser,
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
from storestack.components.cloud_args import DesktopFlowArgs, HubCloudTunnelArgs, StoreFlowArgs
from storestack.components.common import check_public_address
from storestack.components.store_site import AwsTunnelArgs
from storestack.inventory import Fleet, ResolvedStore
from storestack.network.build import PSK_SECRET, NetworkIntent
from storestack.network.cloud import CLOUD_SLOT_BITS, cloud_site_keys, cloud_slot
from storestack.stacks.config import (
    DEFAULT_CORE_REFERENCE,
    CoreStackConfig,
    DesktopPoolConfig,
    StoreStackConfig,
)
from storestack.stacks.errors import StackConfigError
from storestack.stacks.keys import TunnelKeySource

_COMPUTE_TYPES = {"value": "VALUE", "standard": "STANDARD", "performance": "PERFORMANCE", "power": "POWER",
                  "powerpro": "POWERPRO"}


def _slot(supernet: ipaddress.IPv4Network, index: int, what: str) -> ipaddress.IPv4Network:
    slot = cloud_slot(supernet, index)
    if slot is None:
        raise StackConfigError(f"{what}: the {supernet} plan has room for {2**CLOUD_SLOT_BITS} cloud sites, not {index + 1}")
    return slot


def _cloud_sites(fleet: Fleet) -> list[str]:
    """Keys of every cloud site in slot order: `aws:<region>` then `openstack:<name>`."""
    sites = fleet.spec.sites
    return cloud_site_keys((region for account in sites.aws for region in account.regions), (s.name for s in sites.openstack))


def tunnel_key_source(fleet: Fleet) -> TunnelKeySource:
    """Where the stacks read the fleet secret every tunnel key derives from (a reference only)."""
    management = fleet.spec.management
    reference = management.secrets.get(PSK_SECRET)
    if reference is None:
        raise StackConfigError(
            f"management.secrets.{PSK_SECRET} is not configured: every tunnel's pre-shared key derives from it"
        )
    return TunnelKeySource(
        reference=reference, env_prefix=management.secret_env_prefix, file_dirs=list(management.secret_file_dirs)
    )


def hub_cloud_tunnels(intent: NetworkIntent, hub: str) -> list[HubCloudTunnelArgs]:
    """A hub's planned tunnels to AWS and OpenStack, as the core stack takes them."""
    planned = []
    for tunnel in intent.hub_cloud_tunnels(hub):
        assert tunnel.local_inside is not None
        cloud, site, *number = tunnel.peer.split(":")
        planned.append(
            HubCloudTunnelArgs(
                tunnel_id=tunnel.id,
                cloud="aws" if cloud == "aws" else "openstack",
                site=site,
                number=int(number[0]) if number else 1,
                inside_cidr=tunnel.local_inside.network,
            )
        )
    return planned


def store_flows(fleet: Fleet, intent: NetworkIntent) -> list[StoreFlowArgs]:
    """The network intent's flows from store zones that reach cloud or desktop ranges, as the
    cloud's security groups and NACLs admit them. Flows depend only on which zones a store has,
    so one store of each shape is enough."""
    plan = fleet.spec.ip_plan
    clouds = (plan.cloud, plan.desktops)
    shapes: dict[tuple[str, ...], str] = {}
    for store in fleet:
        if store.state != "decommissioned":
            shapes.setdefault(tuple(sorted(store.segments)), store.id)
    found: dict[tuple[str, tuple[int, ...], tuple[ipaddress.IPv4Network, ...]], str] = {}
    for store_id in shapes.values():
        for flow in intent.store(store_id).flows:
            service = flow.service
            reached = {
                cloud if cloud.subnet_of(prefix) else prefix
                for prefix in service.prefixes
                for cloud in clouds
                if prefix.overlaps(cloud)
            }
            if reached:
                key = (service.protocol, service.ports, tuple(sorted(reached)))
                found.setdefault(key, f"{flow.source} to {service.name}")
    return [
        StoreFlowArgs(protocol=protocol, ports=list(ports), destinations=list(destinations), why=why)
        for (protocol, ports, destinations), why in sorted(found.items(), key=lambda item: str(item[0]))
    ]


def desktop_flows(intent: NetworkIntent) -> list[DesktopFlowArgs]:
    """The network intent's desktop flows, one per port range, as both clouds' desktop groups take
    them (AWS: the desktops VPC's security group; OpenStack: each pool's own group)."""
    return [
        DesktopFlowArgs(protocol=flow.protocol, from_port=low, to_port=high, destinations=list(flow.destinations), why=flow.why)
        for flow in intent.desktop_flows
        for low, high in flow.ports
    ]


def core_config(fleet: Fleet) -> CoreStackConfig:
    """The core stack's config: the hybrid cloud and every desktop pool, from the fleet."""
    spec = fleet.spec
    intent = NetworkIntent(fleet)
    flows = store_flows(fleet, intent)
    from_desktops = desktop_flows(intent)
    sites = spec.sites
    if len(sites.aws) != 1:
        raise StackConfigError(f"the core stack needs exactly one AWS account, the fleet has {len(sites.aws)}")
    account = sites.aws[0]
    plan = spec.ip_plan
    # Each site's share as IPAM pins it: a region or site added or removed moves no other's networks.
    slot_of = {key: fleet.cloud_range_slot(key) for key in _cloud_sites(fleet)}
    # Regions, sites and hubs in the order of what IPAM pins them to, not of fleet.yaml: a reorder
    # there changes nothing the stack builds (a region pair's peering is asked for by the first).
    account_regions = sorted(account.regions, key=lambda region: slot_of[f"aws:{region}"])
    openstack = sorted(sites.openstack, key=lambda site: fleet.openstack_site_slot(site.name))
    hubs = sorted(fleet.hubs.values(), key=lambda hub: fleet.hub_slot(hub.hostname))
    try:
        regions = [
            AwsRegionArgs(
                region=region,
                availability_zones=[f"{region}{zone}" for zone in account.availability_zones],
                workloads_cidr=_slot(plan.cloud, slot_of[f"aws:{region}"], region),
                desktops_cidr=_slot(plan.desktops, slot_of[f"aws:{region}"], region),
                transit_gateway_asn=spec.asn.aws,
                ad_connector_dns_ips=_ad_connector_dns_ips(fleet, region),
            )
            for region in account_regions
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
                slot=fleet.openstack_site_slot(site.name),
                aws_inside={region: fleet.openstack_aws_block(site.name, region) for region in account_regions},
            )
            for site in openstack
        ]
        hybrid = HybridCloudArgs(
            fleet=spec.organisation.slug,
            tags=dict(spec.tags),
            aws_account_id=account.account_id,
            aws_regions=regions,
            data_region=fleet.data_region(account.name),
            openstack_sites=openstack_sites,
            hubs=[
                HqHubArgs(
                    name=hub.hostname,
                    public_address=hub.public_address,
                    bgp_asn=hub.asn,
                    prefixes=plan.hq,
                    cloud_tunnels=hub_cloud_tunnels(intent, hub.hostname),
                    slot=fleet.hub_slot(hub.hostname),
                )
                for hub in hubs
            ],
            staff_entry_roles=account.staff_entry_roles,
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
            hq_infrastructure=list(intent.dc_infrastructure),
            hq_infrastructure_servers=[
                net for net in intent.cloud_hq if any(net.subnet_of(lan) for lan in intent.dc_infrastructure)
            ],
            store_flows=flows,
            desktop_flows=from_desktops,
            data_bucket_name=f"{spec.organisation.slug}-staff-data-{account.account_id}",
        )
        pools = [_desktop_pool(fleet, index, flows, from_desktops) for index in range(len(spec.desktop_policies))]
        return CoreStackConfig(hybrid_cloud=hybrid, tunnel_keys=tunnel_key_source(fleet), desktop_pools=pools)
    except ValidationError as exc:
        raise StackConfigError(f"core stack: {_first_error(exc)}") from exc


def _ad_connector_dns_ips(fleet: Fleet, region: str) -> list[ipaddress.IPv4Address]:
    """What the AD Connectors of the AWS desktop pools in `region` are pointed at, as
    `_desktop_pool` gives each its `ad_connector_dns_ips`."""
    found = {
        ip
        for policy in fleet.spec.desktop_policies
        if policy.provider == "aws" and policy.region == region and policy.directory is not None
        and policy.directory.kind == "ad-connector"
        for ip in policy.directory.dns_ips
    }
    return sorted(found)


def _amazon_bundle(compute_type: str) -> str:
    """The Amazon-owned public bundle of a compute type: nothing has to exist in the account.

    Public bundle names differ by region and change with new Windows releases; check them with
    `aws workspaces describe-workspace-bundles --owner AMAZON` before the first `up`.
    """
    return f"{compute_type.title().replace('pro', 'Pro')} with Windows 10 (Server 2022 based)"


def _desktop_pool(
    fleet: Fleet, index: int, flows: list[StoreFlowArgs], from_desktops: list[DesktopFlowArgs]
) -> DesktopPoolConfig:
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
    users = [
        DesktopUser(user_name=user.user, role=user.role, store=store.id, region=store.region)
        for store in fleet
        if store.state != "decommissioned"
        for user in store.desktop_users
        if user.role in policy.roles
    ]
    extra: dict[str, object] = {}
    if policy.directory is not None:
        extra = {
            "directory_kind": policy.directory.kind,
            "ad_connector_dns_ips": policy.directory.dns_ips,
            "ad_connector_service_account": policy.directory.service_account,
        }
    if policy.client_public_ranges:
        extra["client_public_ranges"] = policy.client_public_ranges
    if policy.provider == "openstack":
        # OpenStack desktops carry their own security group: the intent's store flows reaching them.
        slot = _cloud_sites(fleet).index(f"openstack:{policy.site}")
        site_desktops = _slot(spec.ip_plan.desktops, slot, policy.site)
        extra["store_supernet"] = spec.ip_plan.stores
        extra["store_flows"] = [flow for flow in flows if any(site_desktops.overlaps(d) for d in flow.destinations)]
        # ... and what they may open: the same flows as AWS desktops (the core's desktops group).
        extra["desktop_flows"] = from_desktops
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
        users=users,
        **extra,
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
    intent: NetworkIntent | None = None,
) -> StoreStackConfig:
    """One store stack's config, its tunnels from the network intent (pass one `intent` for many
    stores). Links AWS cannot identify stay off AWS; `notes` says so."""
    spec = fleet.spec
    notes: list[str] = []
    own = own_prefixes(store)
    planned = (intent or NetworkIntent(fleet)).store(store.id)
    aws_planned: dict[str, list[AwsTunnelArgs]] = {}
    for tunnel in planned.tunnels:
        if tunnel.kind == "store-aws" and tunnel.local_inside is not None:
            aws_planned.setdefault(tunnel.transport, []).append(
                AwsTunnelArgs(tunnel_id=tunnel.id, inside_cidr=tunnel.local_inside.network)
            )
    links = []
    for link in store.wan:
        public = _public(link.address.ip) if link.address is not None else None
        if link.name in aws_planned and public is None:
            raise StackConfigError(
                f"store {store.id}: the network intent plans AWS tunnels on WAN link {link.name}, "
                "which has no public static address AWS could dial"
            )
        links.append(
            StoreWanLinkArgs(
                name=link.name, kind=link.kind, public_address=public, aws_tunnels=aws_planned.get(link.name, [])
            )
        )
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
                    tunnel_id=tunnel.id,
                    hub=tunnel.peer,
                    hub_address=tunnel.peer_outside,
                    hub_asn=tunnel.peer_asn,
                    wan_link=tunnel.transport,
                    inside_cidr=tunnel.local_inside.network,
                    store_inside_address=tunnel.local_inside.ip,
                    hub_inside_address=tunnel.peer_inside,
                    role=tunnel.role,
                )
                for tunnel in planned.tunnels
                if tunnel.kind == "store-hub" and tunnel.local_inside is not None
            ],
            appliances=_appliances(store),
            aws_region=aws_region,
        )
        return StoreStackConfig(
            site=site,
            tunnel_keys=tunnel_key_source(fleet),
            state=store.state,
            core_stack=core_stack,
            notes=notes,
        )
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
