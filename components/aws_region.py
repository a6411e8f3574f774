"""`AwsRegion`: one AWS region of the hybrid cloud, a child of `HybridCloud`.

Routing model on the regional Transit Gateway (default association and propagation are off, so
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
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from storestack.components.cloud_args import AwsRegionArgs, HqHubArgs, HybridCloudArgs
from storestack.components.common import component_tags, pre_shared_key, split_network
from storestack.components.network import (
    CustomerGatewaySpec,
    associate,
    network_slug,
    propagate,
    transit_gateway_vpn,
)

COMPONENT = "hybrid-cloud"
ROUTE_TABLE_KINDS = ("stores", "workloads", "desktops")


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


class AwsRegion(pulumi.ComponentResource):
    """A region's VPCs, Transit Gateway with its route tables, flow logs and the VPNs to the HQ hubs."""

    transit: TransitGatewayOutputs

    def __init__(
        self,
        region: AwsRegionArgs,
        cloud: HybridCloudArgs,
        flow_log_role_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("storestack:cloud:AwsRegion", region.region, None, opts)
        self._region = region
        self._cloud = cloud
        self._tags = component_tags(cloud.tags, COMPONENT)
        # Resources keep their names; the alias records that they used to sit directly under HybridCloud.
        self._moved = [pulumi.Alias(parent=opts.parent)]
        self._child = pulumi.ResourceOptions(parent=self, aliases=self._moved)
        self.transit = self._build(flow_log_role_arn)
        self.hub_tunnels: dict[str, pulumi.Output[Any]] = {}
        self.hub_psks: dict[str, pulumi.Output[Any]] = {}
        for hub in cloud.hubs:
            key = f"{region.region}/{hub.name}"
            self.hub_tunnels[key], self.hub_psks[key] = self._hub_vpn(hub)
        self.register_outputs({"transit_gateway_id": self.transit.transit_gateway_id})

    def _build(self, flow_log_role_arn: pulumi.Input[str]) -> TransitGatewayOutputs:
        region = self._region
        r = region.region
        fleet = self._cloud.fleet
        log_group = aws.cloudwatch.LogGroup(
            f"{r}-flow-logs",
            name=f"/storestack/{fleet}/{r}/flow-logs",
            retention_in_days=self._cloud.flow_log_retention_days,
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
                iam_role_arn=flow_log_role_arn,
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
                tags={**self._tags, "Name": f"{fleet}-{r}-{kind}"},
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
                    tags={**self._tags, "Name": f"{fleet}-{zone}-{kind}", "storestack:tier": "private"},
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
            description=f"{fleet} {r} hub of stores, clouds and HQ",
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
                tags={**self._tags, "Name": f"{fleet}-{r}-{kind}", "storestack:route-table": kind},
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

    def _hub_vpn(self, hub: HqHubArgs) -> tuple[pulumi.Output[Any], pulumi.Output[Any]]:
        r = self._region.region
        name = f"{r}-hub-{hub.name}"
        psks = (pre_shared_key(f"{name}-psk1", self, aliases=self._moved), pre_shared_key(f"{name}-psk2", self, aliases=self._moved))
        tables = self.transit.route_table_ids
        vpn = transit_gateway_vpn(
            name,
            region=r,
            transit_gateway_id=self.transit.transit_gateway_id,
            gateway=CustomerGatewaySpec(device_name=hub.name, bgp_asn=hub.bgp_asn, ip_address=str(hub.public_address)),
            psks=psks,
            associate_with=tables["workloads"],
            propagate_to=tables,
            tags={**self._tags, "Name": f"{self._cloud.fleet}-{hub.name}"},
            opts=self._child,
        )
        tunnels = pulumi.Output.from_input({"hub": hub.name, "region": r, "tunnels": [vpn.tunnel(1), vpn.tunnel(2)]})
        return tunnels, pulumi.Output.secret(list(psks))

    def openstack_vpn(
        self, site_name: str, router_address: pulumi.Output[str], local_cidrs: list[ipaddress.IPv4Network]
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """A static-routed AWS VPN from the Transit Gateway to an OpenStack router: (AWS address, PSK)."""
        r = self._region.region
        transit = self.transit
        name = f"{r}-openstack-{site_name}"
        psk = pre_shared_key(f"{name}-psk", self, aliases=self._moved)
        # OpenStack VPNaaS speaks no BGP: the route tables get static routes to its networks instead.
        vpn = transit_gateway_vpn(
            name,
            region=r,
            transit_gateway_id=transit.transit_gateway_id,
            gateway=CustomerGatewaySpec(device_name=f"openstack-{site_name}", bgp_asn=65000, ip_address=router_address),
            psks=(psk, psk),
            associate_with=transit.route_table_ids["workloads"],
            propagate_to={},
            static_routes_only=True,
            tags={**self._tags, "Name": f"{self._cloud.fleet}-openstack-{site_name}"},
            opts=self._child,
        )
        for kind in ROUTE_TABLE_KINDS:
            for cidr in local_cidrs:
                aws.ec2transitgateway.Route(
                    f"{name}-{kind}-{network_slug(cidr)}",
                    destination_cidr_block=str(cidr),
                    transit_gateway_attachment_id=vpn.attachment_id,
                    transit_gateway_route_table_id=transit.route_table_ids[kind],
                    region=r,
                    opts=self._child,
                )
        return vpn.connection.tunnel1_address, psk
