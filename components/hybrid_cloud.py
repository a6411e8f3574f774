"""`HybridCloud`: the chain's shared foundation in AWS and OpenStack, one per fleet.

Routing model on each regional Transit Gateway (default association and propagation are off, so
nothing reaches anything unless a line below says so):

| route table | associated attachments     | learns routes from                            |
|-------------|----------------------------|-----------------------------------------------|
| `stores`    | every store VPN            | workloads VPC, desktops VPC, HQ hubs, OpenStack |
| `workloads` | workloads VPC, HQ hubs     | desktops VPC, HQ hubs, OpenStack, stores (static) |
| `desktops`  | desktops VPC               | workloads VPC, HQ hubs, OpenStack, stores (static) |

Nothing is ever propagated into `stores` from a store, so stores cannot reach each other through
the cloud.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_openstack as openstack
from pydantic import Field, model_validator

from storestack.components.common import (
    FleetTags,
    FrozenModel,
    PrivateNetwork,
    PublicAddress,
    Slug,
    component_tags,
    openstack_tags,
    pre_shared_key,
    split_network,
)
from storestack.components.network import (
    CustomerGatewaySpec,
    associate,
    network_slug,
    propagate,
    tcp_ingress_rules,
    transit_gateway_vpn,
)

COMPONENT = "hybrid-cloud"
ROUTE_TABLE_KINDS = ("stores", "workloads", "desktops")

# IKEv2 proposals shared by every VPN the foundation builds, so both ends agree by construction.
IKE_ENCRYPTION = "aes-256"
IKE_INTEGRITY = "sha256"
IKE_PFS_GROUP = "group14"


class HqHubArgs(FrozenModel):
    """An SD-WAN hub appliance in the HQ data centre, as seen by the clouds."""

    name: Slug
    public_address: PublicAddress
    bgp_asn: int = Field(ge=1, le=4_294_967_294)
    prefixes: list[PrivateNetwork] = Field(min_length=1, description="HQ ranges behind this hub")


class AwsRegionArgs(FrozenModel):
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
    availability_zones: list[str] = Field(min_length=2, description="full zone names, e.g. eu-west-1a")
    workloads_cidr: PrivateNetwork
    desktops_cidr: PrivateNetwork
    transit_gateway_asn: int = Field(default=64512, ge=64512, le=65534)

    @model_validator(mode="after")
    def _zones_in_region(self) -> AwsRegionArgs:
        for zone in self.availability_zones:
            if not (zone.startswith(self.region) and len(zone) == len(self.region) + 1 and zone[-1].isalpha()):
                raise ValueError(f"{zone!r} is not an availability zone of {self.region}")
        if len(set(self.availability_zones)) != len(self.availability_zones):
            raise ValueError("availability zones must be distinct")
        if self.workloads_cidr.overlaps(self.desktops_cidr):
            raise ValueError(f"workloads {self.workloads_cidr} overlaps desktops {self.desktops_cidr}")
        return self


class OpenStackSiteArgs(FrozenModel):
    name: Slug
    auth_url: str = Field(pattern=r"^https://[a-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$")
    region: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
    external_network: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    workloads_cidr: PrivateNetwork
    desktops_cidr: PrivateNetwork
    dns_nameservers: list[ipaddress.IPv4Address] = Field(default_factory=list)

    @model_validator(mode="after")
    def _disjoint(self) -> OpenStackSiteArgs:
        if self.workloads_cidr.overlaps(self.desktops_cidr):
            raise ValueError(f"workloads {self.workloads_cidr} overlaps desktops {self.desktops_cidr}")
        return self


class StaffRoleAccessArgs(FrozenModel):
    """What one staff role may touch: its S3 prefixes and resources tagged with its name."""

    name: Slug
    data_prefixes: list[Slug] = Field(min_length=1, description="top-level S3 prefixes, e.g. 'finance'")
    openstack_role: Slug = "reader"
    description: str = Field(default="", pattern=r"^[A-Za-z0-9 .,'()&/_+-]{0,120}$")


class HybridCloudArgs(FrozenModel):
    fleet: Slug
    tags: FleetTags
    aws_account_id: str = Field(pattern=r"^[0-9]{12}$")
    aws_regions: list[AwsRegionArgs] = Field(min_length=1)
    openstack_sites: list[OpenStackSiteArgs] = Field(default_factory=list)
    hubs: list[HqHubArgs] = Field(min_length=1)
    staff_roles: list[StaffRoleAccessArgs] = Field(min_length=1)
    store_supernet: PrivateNetwork
    admin_ranges: list[PrivateNetwork] = Field(min_length=1, description="HQ ranges allowed on admin ports")
    data_bucket_name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    flow_log_retention_days: Literal[30, 60, 90, 180, 365, 400, 545, 731, 1827, 3653] = 365

    @model_validator(mode="after")
    def _consistent(self) -> HybridCloudArgs:
        _unique("AWS region", [r.region for r in self.aws_regions])
        _unique("OpenStack site", [s.name for s in self.openstack_sites])
        _unique("hub", [h.name for h in self.hubs])
        _unique("staff role", [r.name for r in self.staff_roles])
        _unique("hub address", [str(h.public_address) for h in self.hubs])
        ranges: list[tuple[str, ipaddress.IPv4Network]] = [("stores", self.store_supernet)]
        for region in self.aws_regions:
            ranges += [
                (f"{region.region} workloads", region.workloads_cidr),
                (f"{region.region} desktops", region.desktops_cidr),
            ]
        for site in self.openstack_sites:
            ranges += [(f"{site.name} workloads", site.workloads_cidr), (f"{site.name} desktops", site.desktops_cidr)]
        for index, (name, network) in enumerate(ranges):
            for other_name, other in ranges[index + 1 :]:
                if network.overlaps(other):
                    raise ValueError(f"{name} {network} overlaps {other_name} {other}")
        return self

    @property
    def hq_prefixes(self) -> list[ipaddress.IPv4Network]:
        return sorted({prefix for hub in self.hubs for prefix in hub.prefixes})


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} {name!r} appears twice")
        seen.add(name)


@dataclass(frozen=True)
class TransitGatewayOutputs:
    """One region's Transit Gateway, as other components (and the store stacks) attach to it."""

    region: str
    transit_gateway_id: pulumi.Output[str]
    amazon_side_asn: int
    route_table_ids: dict[str, pulumi.Output[str]]
    workloads_vpc_id: pulumi.Output[str]
    desktops_vpc_id: pulumi.Output[str]
    workloads_subnet_ids: list[pulumi.Output[str]]
    desktops_subnet_ids: list[pulumi.Output[str]]


@dataclass(frozen=True)
class OpenStackSiteOutputs:
    name: str
    region: str
    provider: openstack.Provider
    project_id: pulumi.Output[str]
    workloads_network_id: pulumi.Output[str]
    desktops_network_id: pulumi.Output[str]
    desktops_subnet_id: pulumi.Output[str]


class HybridCloud(pulumi.ComponentResource):
    """AWS regions joined by Transit Gateways, OpenStack sites, VPNs to HQ hubs, access per staff role."""

    transit: dict[str, TransitGatewayOutputs]
    openstack_sites: dict[str, OpenStackSiteOutputs]
    staff_role_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: HybridCloudArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("storestack:cloud:HybridCloud", name, None, opts)
        self._args = args
        self._tags = component_tags(args.tags, COMPONENT)
        self._child = pulumi.ResourceOptions(parent=self)
        self.transit = {}
        self.openstack_sites = {}
        hub_tunnels: dict[str, Any] = {}
        hub_psks: dict[str, Any] = {}
        openstack_psks: dict[str, Any] = {}

        primary_region = args.aws_regions[0].region
        self.data_bucket = self._data_bucket(primary_region)
        self.staff_role_arns = self._staff_roles(self.data_bucket)
        flow_log_role = self._flow_log_role()
        for region in args.aws_regions:
            transit = self._region(region, flow_log_role)
            self.transit[region.region] = transit
            for hub in args.hubs:
                key = f"{region.region}/{hub.name}"
                hub_tunnels[key], hub_psks[key] = self._hub_vpn(region, hub, transit)
        for site in args.openstack_sites:
            self.openstack_sites[site.name] = self._openstack_site(site, openstack_psks)

        self.regions = pulumi.Output.from_input(
            {
                key: {
                    "transit_gateway_id": t.transit_gateway_id,
                    "amazon_side_asn": t.amazon_side_asn,
                    "route_table_ids": t.route_table_ids,
                    "workloads_vpc_id": t.workloads_vpc_id,
                    "desktops_vpc_id": t.desktops_vpc_id,
                    "workloads_subnet_ids": t.workloads_subnet_ids,
                    "desktops_subnet_ids": t.desktops_subnet_ids,
                }
                for key, t in self.transit.items()
            }
        )
        self.hub_vpn_tunnels = pulumi.Output.from_input(hub_tunnels)
        self.hub_vpn_psks = pulumi.Output.secret(hub_psks)
        self.openstack = pulumi.Output.from_input(
            {
                key: {
                    "project_id": s.project_id,
                    "workloads_network_id": s.workloads_network_id,
                    "desktops_network_id": s.desktops_network_id,
                }
                for key, s in self.openstack_sites.items()
            }
        )
        self.openstack_vpn_psks = pulumi.Output.secret(openstack_psks)
        self.register_outputs(
            {
                "regions": self.regions,
                "hub_vpn_tunnels": self.hub_vpn_tunnels,
                "hub_vpn_psks": self.hub_vpn_psks,
                "openstack": self.openstack,
                "openstack_vpn_psks": self.openstack_vpn_psks,
                "staff_role_arns": self.staff_role_arns,
                "data_bucket": self.data_bucket.bucket,
            }
        )

    # --- access split by staff role -------------------------------------------------------

    def _data_bucket(self, region: str) -> aws.s3.Bucket:
        bucket = aws.s3.Bucket(
            "data",
            bucket=self._args.data_bucket_name,
            region=region,
            tags=self._tags,
            opts=self._child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            "data-encryption",
            bucket=bucket.id,
            region=region,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}, "bucket_key_enabled": True}],
            opts=self._child,
        )
        aws.s3.BucketPublicAccessBlock(
            "data-public-access",
            bucket=bucket.id,
            region=region,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._child,
        )
        aws.s3.BucketVersioning(
            "data-versioning",
            bucket=bucket.id,
            region=region,
            versioning_configuration={"status": "Enabled"},
            opts=self._child,
        )
        return bucket

    def _staff_roles(self, bucket: aws.s3.Bucket) -> dict[str, pulumi.Output[str]]:
        account_root = f"arn:aws:iam::{self._args.aws_account_id}:root"
        arns: dict[str, pulumi.Output[str]] = {}
        for role in self._args.staff_roles:
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": account_root},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                        "Condition": {
                            "Bool": {"aws:MultiFactorAuthPresent": "true"},
                            "StringEquals": {"aws:PrincipalTag/storestack:role": role.name},
                        },
                    }
                ],
            }
            iam_role = aws.iam.Role(
                f"role-{role.name}",
                name=f"{self._args.fleet}-{role.name}",
                description=role.description or f"storestack staff role {role.name}",
                assume_role_policy=json.dumps(trust, sort_keys=True),
                max_session_duration=3600 * 8,
                tags=component_tags(self._args.tags, COMPONENT, role=role.name),
                opts=self._child,
            )
            aws.iam.RolePolicy(
                f"role-{role.name}-data",
                role=iam_role.id,
                policy=bucket.arn.apply(lambda arn, r=role: staff_role_policy(arn, r)),
                opts=self._child,
            )
            arns[role.name] = iam_role.arn
        return arns

    # --- AWS regions ------------------------------------------------------------------------

    def _flow_log_role(self) -> aws.iam.Role:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        role = aws.iam.Role(
            "flow-logs",
            name=f"{self._args.fleet}-flow-logs",
            assume_role_policy=json.dumps(trust, sort_keys=True),
            tags=self._tags,
            opts=self._child,
        )
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogGroups",
                        "logs:DescribeLogStreams",
                    ],
                    "Resource": f"arn:aws:logs:*:{self._args.aws_account_id}:log-group:/storestack/*",
                }
            ],
        }
        aws.iam.RolePolicy("flow-logs", role=role.id, policy=json.dumps(policy, sort_keys=True), opts=self._child)
        return role

    def _region(self, region: AwsRegionArgs, flow_log_role: aws.iam.Role) -> TransitGatewayOutputs:
        r = region.region
        log_group = aws.cloudwatch.LogGroup(
            f"{r}-flow-logs",
            name=f"/storestack/{self._args.fleet}/{r}/flow-logs",
            retention_in_days=self._args.flow_log_retention_days,
            region=r,
            tags=self._tags,
            opts=self._child,
        )

        def flow_log(name: str, **target: pulumi.Input[str]) -> None:
            aws.ec2.FlowLog(
                name,
                traffic_type="ALL",
                log_destination_type="cloud-watch-logs",
                log_destination=log_group.arn,
                iam_role_arn=flow_log_role.arn,
                max_aggregation_interval=60,
                region=r,
                tags=self._tags,
                opts=self._child,
                **target,
            )

        vpcs: dict[str, aws.ec2.Vpc] = {}
        subnets: dict[str, list[aws.ec2.Subnet]] = {}
        for kind, cidr in (("workloads", region.workloads_cidr), ("desktops", region.desktops_cidr)):
            vpc = aws.ec2.Vpc(
                f"{r}-{kind}",
                cidr_block=str(cidr),
                enable_dns_hostnames=True,
                enable_dns_support=True,
                region=r,
                tags={**self._tags, "Name": f"{self._args.fleet}-{r}-{kind}"},
                opts=self._child,
            )
            vpcs[kind] = vpc
            subnets[kind] = [
                aws.ec2.Subnet(
                    f"{zone}-{kind}",
                    vpc_id=vpc.id,
                    cidr_block=str(block),
                    availability_zone=zone,
                    map_public_ip_on_launch=False,
                    region=r,
                    tags={**self._tags, "Name": f"{self._args.fleet}-{zone}-{kind}", "storestack:tier": "private"},
                    opts=self._child,
                )
                for zone, block in zip(
                    region.availability_zones,
                    split_network(cidr, len(region.availability_zones)),
                    strict=True,
                )
            ]
            flow_log(f"{r}-{kind}-flow-log", vpc_id=vpc.id)

        tgw = aws.ec2transitgateway.TransitGateway(
            f"{r}-tgw",
            description=f"{self._args.fleet} {r} hub of stores, clouds and HQ",
            amazon_side_asn=region.transit_gateway_asn,
            default_route_table_association="disable",
            default_route_table_propagation="disable",
            auto_accept_shared_attachments="disable",
            dns_support="enable",
            vpn_ecmp_support="enable",
            region=r,
            tags=self._tags,
            opts=self._child,
        )
        flow_log(f"{r}-tgw-flow-log", transit_gateway_id=tgw.id)
        tables = {
            kind: aws.ec2transitgateway.RouteTable(
                f"{r}-rt-{kind}",
                transit_gateway_id=tgw.id,
                region=r,
                tags={**self._tags, "Name": f"{self._args.fleet}-{r}-{kind}", "storestack:route-table": kind},
                opts=self._child,
            )
            for kind in ROUTE_TABLE_KINDS
        }
        attachments = {
            kind: aws.ec2transitgateway.VpcAttachment(
                f"{r}-{kind}-attachment",
                transit_gateway_id=tgw.id,
                vpc_id=vpcs[kind].id,
                subnet_ids=[subnet.id for subnet in subnets[kind]],
                transit_gateway_default_route_table_association=False,
                transit_gateway_default_route_table_propagation=False,
                dns_support="enable",
                region=r,
                tags=self._tags,
                opts=self._child,
            )
            for kind in ("workloads", "desktops")
        }
        # Each VPC is associated with its own table and announced to the other two.
        for kind, attachment in attachments.items():
            associate(f"{r}-{kind}-association", r, attachment.id, tables[kind].id, self._child)
            for target in ROUTE_TABLE_KINDS:
                if target != kind:
                    propagate(f"{r}-{kind}-to-{target}-propagation", r, attachment.id, tables[target].id, self._child)
        return TransitGatewayOutputs(
            region=r,
            transit_gateway_id=tgw.id,
            amazon_side_asn=region.transit_gateway_asn,
            route_table_ids={kind: table.id for kind, table in tables.items()},
            workloads_vpc_id=vpcs["workloads"].id,
            desktops_vpc_id=vpcs["desktops"].id,
            workloads_subnet_ids=[s.id for s in subnets["workloads"]],
            desktops_subnet_ids=[s.id for s in subnets["desktops"]],
        )

    def _hub_vpn(
        self, region: AwsRegionArgs, hub: HqHubArgs, transit: TransitGatewayOutputs
    ) -> tuple[pulumi.Output[Any], pulumi.Output[Any]]:
        name = f"{region.region}-hub-{hub.name}"
        psks = (pre_shared_key(f"{name}-psk1", self), pre_shared_key(f"{name}-psk2", self))
        tables = transit.route_table_ids
        vpn = transit_gateway_vpn(
            name,
            region=region.region,
            transit_gateway_id=transit.transit_gateway_id,
            gateway=CustomerGatewaySpec(device_name=hub.name, bgp_asn=hub.bgp_asn, ip_address=str(hub.public_address)),
            psks=psks,
            associate_with=tables["workloads"],
            propagate_to=tables,
            tags={**self._tags, "Name": f"{self._args.fleet}-{hub.name}"},
            opts=self._child,
        )
        tunnels = pulumi.Output.from_input(
            {"hub": hub.name, "region": region.region, "tunnels": [vpn.tunnel(1), vpn.tunnel(2)]}
        )
        return tunnels, pulumi.Output.secret(list(psks))

    # --- OpenStack ----------------------------------------------------------------------------

    def _openstack_site(self, site: OpenStackSiteArgs, psks: dict[str, Any]) -> OpenStackSiteOutputs:
        s = site.name
        tags = openstack_tags(self._tags)
        provider = openstack.Provider(f"{s}-openstack", auth_url=site.auth_url, region=site.region, opts=self._child)
        on_site = pulumi.ResourceOptions(parent=self, provider=provider)
        project = openstack.identity.Project(
            f"{s}-project",
            name=f"{self._args.fleet}-{s}",
            description=f"storestack {self._args.fleet} workloads and desktops",
            tags=tags,
            opts=on_site,
        )
        networks: dict[str, openstack.networking.Network] = {}
        subnets: dict[str, openstack.networking.Subnet] = {}
        for kind, cidr in (("workloads", site.workloads_cidr), ("desktops", site.desktops_cidr)):
            networks[kind] = openstack.networking.Network(
                f"{s}-{kind}",
                name=f"{self._args.fleet}-{kind}",
                tenant_id=project.id,
                admin_state_up=True,
                port_security_enabled=True,
                tags=tags,
                opts=on_site,
            )
            subnets[kind] = openstack.networking.Subnet(
                f"{s}-{kind}",
                name=f"{self._args.fleet}-{kind}",
                network_id=networks[kind].id,
                tenant_id=project.id,
                cidr=str(cidr),
                ip_version=4,
                enable_dhcp=True,
                dns_nameservers=[str(ns) for ns in site.dns_nameservers],
                tags=tags,
                opts=on_site,
            )
        external = openstack.networking.get_network_output(
            name=site.external_network, external=True, opts=pulumi.InvokeOutputOptions(provider=provider)
        )
        router = openstack.networking.Router(
            f"{s}-router",
            name=f"{self._args.fleet}-edge",
            tenant_id=project.id,
            external_network_id=external.id,
            enable_snat=True,
            tags=tags,
            opts=on_site,
        )
        for kind, subnet in subnets.items():
            openstack.networking.RouterInterface(
                f"{s}-router-{kind}", router_id=router.id, subnet_id=subnet.id, opts=on_site
            )
        self._openstack_security_groups(site, project, on_site)
        self._openstack_access(site, project, on_site)
        router_address = router.external_fixed_ips.apply(_first_fixed_ip)
        self._openstack_vpn(site, project, router, router_address, subnets, on_site, psks)
        return OpenStackSiteOutputs(
            name=s,
            region=site.region,
            provider=provider,
            project_id=project.id,
            workloads_network_id=networks["workloads"].id,
            desktops_network_id=networks["desktops"].id,
            desktops_subnet_id=subnets["desktops"].id,
        )

    def _openstack_security_groups(
        self, site: OpenStackSiteArgs, project: openstack.identity.Project, on_site: pulumi.ResourceOptions
    ) -> None:
        s = site.name
        group = openstack.networking.SecGroup(
            f"{s}-workloads-sg",
            name=f"{self._args.fleet}-workloads",
            description="storestack workloads: HTTPS from stores, HQ and desktops; admin from HQ only",
            tenant_id=project.id,
            delete_default_rules=False,
            tags=openstack_tags(self._tags),
            opts=on_site,
        )
        https_sources = sorted(
            {self._args.store_supernet, site.desktops_cidr, *self._args.hq_prefixes}
            | {r.desktops_cidr for r in self._args.aws_regions}
        )
        rules: list[tuple[str, int, ipaddress.IPv4Network]] = [("https", 443, src) for src in https_sources]
        rules += [("ssh", 22, src) for src in sorted(set(self._args.admin_ranges))]
        tcp_ingress_rules(f"{s}-workloads", security_group_id=group.id, rules=rules, opts=on_site, tenant_id=project.id)

    def _openstack_access(
        self, site: OpenStackSiteArgs, project: openstack.identity.Project, on_site: pulumi.ResourceOptions
    ) -> None:
        invoke_opts = pulumi.InvokeOutputOptions(provider=on_site.provider)
        role_ids: dict[str, pulumi.Output[str]] = {}
        for role in self._args.staff_roles:
            if role.openstack_role not in role_ids:
                role_ids[role.openstack_role] = openstack.identity.get_role_output(
                    name=role.openstack_role, opts=invoke_opts
                ).id
            group = openstack.identity.GroupV3(
                f"{site.name}-group-{role.name}",
                name=f"{self._args.fleet}-{role.name}",
                description=f"storestack staff role {role.name}",
                opts=on_site,
            )
            openstack.identity.RoleAssignment(
                f"{site.name}-group-{role.name}-{role.openstack_role}",
                group_id=group.id,
                project_id=project.id,
                role_id=role_ids[role.openstack_role],
                opts=on_site,
            )

    def _openstack_vpn(
        self,
        site: OpenStackSiteArgs,
        project: openstack.identity.Project,
        router: openstack.networking.Router,
        router_address: pulumi.Output[str],
        subnets: dict[str, openstack.networking.Subnet],
        on_site: pulumi.ResourceOptions,
        psks: dict[str, Any],
    ) -> None:
        s = site.name
        ike = openstack.vpnaas.IkePolicy(
            f"{s}-ike",
            name=f"{self._args.fleet}-ikev2",
            ike_version="v2",
            auth_algorithm=IKE_INTEGRITY,
            encryption_algorithm=IKE_ENCRYPTION,
            pfs=IKE_PFS_GROUP,
            phase1_negotiation_mode="main",
            tenant_id=project.id,
            opts=on_site,
        )
        ipsec = openstack.vpnaas.IpSecPolicy(
            f"{s}-ipsec",
            name=f"{self._args.fleet}-esp",
            transform_protocol="esp",
            encapsulation_mode="tunnel",
            auth_algorithm=IKE_INTEGRITY,
            encryption_algorithm=IKE_ENCRYPTION,
            pfs=IKE_PFS_GROUP,
            tenant_id=project.id,
            opts=on_site,
        )
        service = openstack.vpnaas.Service(
            f"{s}-vpn", name=f"{self._args.fleet}-vpn", router_id=router.id, tenant_id=project.id, opts=on_site
        )
        local = openstack.vpnaas.EndpointGroup(
            f"{s}-vpn-local",
            name=f"{self._args.fleet}-local",
            type="subnet",
            endpoints=[subnet.id for subnet in subnets.values()],
            tenant_id=project.id,
            opts=on_site,
        )

        def connect(
            peer: str,
            address: pulumi.Input[str],
            cidrs: list[ipaddress.IPv4Network],
            psk: pulumi.Output[str] | None = None,
        ) -> pulumi.Output[str]:
            peer_group = openstack.vpnaas.EndpointGroup(
                f"{s}-vpn-peer-{peer}",
                name=f"{self._args.fleet}-{peer}",
                type="cidr",
                endpoints=[str(c) for c in cidrs],
                tenant_id=project.id,
                opts=on_site,
            )
            if psk is None:
                psk = pre_shared_key(f"{s}-vpn-{peer}-psk", self)
            openstack.vpnaas.SiteConnection(
                f"{s}-vpn-{peer}",
                name=f"{self._args.fleet}-{peer}",
                vpnservice_id=service.id,
                ikepolicy_id=ike.id,
                ipsecpolicy_id=ipsec.id,
                local_ep_group_id=local.id,
                peer_ep_group_id=peer_group.id,
                peer_address=address,
                peer_id=address,
                psk=psk,
                initiator="bi-directional",
                dpds=[{"action": "restart", "interval": 10, "timeout": 40}],
                tenant_id=project.id,
                opts=on_site,
            )
            return psk

        local_cidrs = [site.workloads_cidr, site.desktops_cidr]
        for hub in self._args.hubs:
            # Stores reach the private cloud through their hub, so the hub side carries them too.
            psks[f"{s}/{hub.name}"] = connect(
                f"hub-{hub.name}", str(hub.public_address), sorted({*hub.prefixes, self._args.store_supernet})
            )
        for region in self._args.aws_regions:
            psks[f"{s}/{region.region}"] = self._openstack_to_aws(
                site, region, router_address, local_cidrs, connect
            )

    def _openstack_to_aws(
        self,
        site: OpenStackSiteArgs,
        region: AwsRegionArgs,
        router_address: pulumi.Output[str],
        local_cidrs: list[ipaddress.IPv4Network],
        connect: Callable[..., pulumi.Output[str]],
    ) -> pulumi.Output[str]:
        """A static-routed AWS VPN from the region's Transit Gateway to the OpenStack router."""
        r = region.region
        transit = self.transit[r]
        name = f"{r}-openstack-{site.name}"
        psk = pre_shared_key(f"{name}-psk", self)
        # OpenStack VPNaaS speaks no BGP: the route tables get static routes to its networks instead.
        vpn = transit_gateway_vpn(
            name,
            region=r,
            transit_gateway_id=transit.transit_gateway_id,
            gateway=CustomerGatewaySpec(device_name=f"openstack-{site.name}", bgp_asn=65000, ip_address=router_address),
            psks=(psk, psk),
            associate_with=transit.route_table_ids["workloads"],
            propagate_to={},
            static_routes_only=True,
            tags={**self._tags, "Name": f"{self._args.fleet}-openstack-{site.name}"},
            opts=self._child,
        )
        attachment = vpn.attachment_id
        for kind in ROUTE_TABLE_KINDS:
            for cidr in local_cidrs:
                aws.ec2transitgateway.Route(
                    f"{name}-{kind}-{network_slug(cidr)}",
                    destination_cidr_block=str(cidr),
                    transit_gateway_attachment_id=attachment,
                    transit_gateway_route_table_id=transit.route_table_ids[kind],
                    region=r,
                    opts=self._child,
                )
        return connect(f"aws-{r}", vpn.connection.tunnel1_address, [region.workloads_cidr, region.desktops_cidr], psk)


def staff_role_policy(bucket_arn: str, role: StaffRoleAccessArgs) -> str:
    """The IAM policy of one staff role: its own S3 prefixes and resources tagged with its name, nothing else."""
    prefixes = sorted(set(role.data_prefixes))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListOwnPrefixes",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{p}/*" for p in prefixes]}},
            },
            {
                "Sid": "ReadWriteOwnPrefixes",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"{bucket_arn}/{p}/*" for p in prefixes],
            },
            {
                "Sid": "OwnDesktops",
                "Effect": "Allow",
                "Action": ["workspaces:StartWorkspaces", "workspaces:StopWorkspaces", "workspaces:RebootWorkspaces"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/storestack:role": role.name}},
            },
        ],
    }
    return json.dumps(policy, sort_keys=True)


def _first_fixed_ip(fixed_ips: Any) -> str:
    if not fixed_ips:
        return ""
    first = fixed_ips[0]
    return str(first["ip_address"] if isinstance(first, dict) else first.ip_address)
