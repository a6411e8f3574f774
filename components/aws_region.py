"""`AwsRegion`: one AWS region of the hybrid cloud, a child of `HybridCloud`.

Segmentation (the policy the routes, security groups and NACLs below implement):

- stores open exactly the network intent's flows into the workloads and desktops VPCs (today:
  office reaches corporate, cloud and desktops included); the store's zone firewall keeps every
  other zone out, and no store reaches another: the `stores` table only learns the two VPCs;
- desktops open exactly the network intent's desktop flows (`desktop_flows`: HTTPS to workloads,
  AWS and OpenStack, and HQ; the directory, DNS and NTP at HQ; no internet, on either cloud, the
  intent says why); they answer their stores through the hubs,
  the path the store used (a store's AWS tunnels carry only the cloud range, the network intent's
  `store-aws` sessions), but a desktop can open nothing towards any store network;
- HQ (through its hubs) and OpenStack reach both VPCs through the `hq` table;
- admin ports only from the management ranges.

Routing on the regional Transit Gateway (default association and propagation are off, so nothing
reaches anything unless a line below says so):

| route table | associated attachments       | learns routes from                                   |
|-------------|------------------------------|------------------------------------------------------|
| `stores`    | every store VPN              | workloads VPC                                        |
| `workloads` | workloads VPC                | desktops VPC, HQ hubs, OpenStack, stores (BGP)       |
| `desktops`  | desktops VPC                 | workloads VPC, HQ hubs, OpenStack                    |
| `hq`        | HQ hub VPNs, OpenStack VPNs, peerings with the other regions | workloads VPC, desktops VPC |

With two or more AWS regions, each pair of Transit Gateways peers (`AwsRegion.peer`): a peering
learns nothing, so `desktops` holds a static route to each other region's workloads VPC over it,
and `workloads` one to each other region's desktops VPC; nothing else crosses between regions.

Nothing is ever propagated into `stores` from a store, so stores cannot reach each other through
the cloud; `hq` learns no store route, so HQ reaches stores over the SD-WAN, not through AWS. A
store's AWS tunnels take only the cloud range (the workloads VPCs) from AWS, so a store reaches
the desktops through its hubs: its routes go into `workloads` only, and the desktops answer it
through the hubs too, on the path the store's packets came. Each VPC's own route table sends
exactly those ranges to the Transit Gateway.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from storestack.common.addressing import collapse, excluding
from storestack.components.cloud_args import (
    WORKSPACES_ZONE_IDS,
    AwsRegionArgs,
    HqHubArgs,
    HybridCloudArgs,
    desktop_egress,
)
from storestack.components.common import TunnelKeys, component_tags, pre_shared_key, split_network
from storestack.components.network import (
    CustomerGatewaySpec,
    TransitVpn,
    associate,
    network_slug,
    propagate,
    transit_gateway_vpn,
)

COMPONENT = "hybrid-cloud"
ROUTE_TABLE_KINDS = ("stores", "workloads", "desktops", "hq")
# Which Transit Gateway tables each kind of attachment is propagated into (see the module table).
PROPAGATES_INTO: Mapping[str, tuple[str, ...]] = {
    "workloads": ("stores", "desktops", "hq"),
    "desktops": ("workloads", "hq"),
    "hub": ("workloads", "desktops"),
    "openstack": ("workloads", "desktops"),
    "store": ("workloads",),
}
ASSOCIATED_WITH: Mapping[str, str] = {
    "workloads": "workloads",
    "desktops": "desktops",
    "hub": "hq",
    "openstack": "hq",
    "store": "stores",
}
HTTPS, SSH, RDP, NTP = 443, 22, 3389, 123
# (ICMP type, code) a VPC's NACL admits from anywhere: fragmentation needed and DF set (path MTU
# discovery), TTL exceeded in transit (traceroute).
ICMP_ERRORS_IN = ((3, 4), (11, 0))
ANYWHERE = ipaddress.IPv4Network("0.0.0.0/0")
# Reply ports of connections a host opened itself: Linux workloads and Windows desktops.
EPHEMERAL = {"workloads": (32768, 65535), "desktops": (49152, 65535)}
# Reply ports of a store client's connection: its own OS picks them (no NAT between a store and the
# cloud), and a store office holds whatever it holds. AWS VPC guide, "Ephemeral ports": Windows
# Server 2008 and later use 49152-65535, many Linux kernels 32768-61000, Windows through Server
# 2003 1025-5000; to cover every kind of client, open 1024-65535. The desktops' and
# workloads' security groups, which are stateful, are what keep a host from opening a connection
# to a store on one of these ports (they have no egress rule towards the stores).
STORE_CLIENT_PORTS = (1024, 65535)
# Reply ports of an AD Connector's queries to its domain controllers: AWS documents none for the
# connector itself, and its own clients' range, 1024-65535, covers any it picks (`_vpc_acl`).
AD_CONNECTOR_REPLY_PORTS = (1024, 65535)


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
    desktops_security_group_id: pulumi.Output[str]


class AwsRegion(pulumi.ComponentResource):
    """A region's VPCs, Transit Gateway with its route tables, flow logs and the VPNs to the HQ hubs."""

    transit: TransitGatewayOutputs

    def __init__(
        self,
        region: AwsRegionArgs,
        cloud: HybridCloudArgs,
        flow_log_role_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
        *,
        keys: TunnelKeys,
    ) -> None:
        super().__init__("storestack:cloud:AwsRegion", region.region, None, opts)
        self._keys = keys
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

        def flow_log(name: str, *, transit: bool = False, **target: pulumi.Input[str]) -> None:
            # Transit gateway flow logs refuse `traffic_type` and take only a 60 s interval
            # (https://docs.aws.amazon.com/vpc/latest/tgw/flow-logs-api-cli.html).
            aws.ec2.FlowLog(
                name,
                traffic_type=None if transit else "ALL",
                log_destination_type="cloud-watch-logs",
                log_destination=log_group.arn,
                iam_role_arn=flow_log_role_arn,
                max_aggregation_interval=60,
                region=r,
                tags=self._tags,
                opts=self._child,
                **target,
            )

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
        flow_log(f"{r}-tgw-flow-log", transit=True, transit_gateway_id=tgw.id)
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
        self._tables = tables

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
            # The VPC's default group allows all traffic between its members and all out, and
            # takes whatever is launched without a group. Adopted with no rules it allows nothing
            # (AWS Config vpc-default-security-group-closed, Security Hub EC2.2). Nothing here
            # uses it: the desktops take their own group, the directories and WorkSpaces make
            # their own, and transit gateway attachments take none.
            aws.ec2.DefaultSecurityGroup(
                f"{r}-{kind}-default-sg",
                vpc_id=vpc.id,
                region=r,
                tags={**self._tags, "Name": f"{fleet}-{r}-{kind}-default-closed"},
                opts=self._child,
            )
            subnets[kind] = self._subnets(kind, vpc, cidr)
            flow_log(f"{r}-{kind}-flow-log", vpc_id=vpc.id)
            attachment = aws.ec2transitgateway.VpcAttachment(
                f"{r}-{kind}-attachment",
                transit_gateway_id=tgw.id,
                vpc_id=vpc.id,
                subnet_ids=[subnet.id for subnet in subnets[kind]],
                transit_gateway_default_route_table_association=False,
                transit_gateway_default_route_table_propagation=False,
                dns_support="enable",
                region=r,
                tags=self._tags,
                opts=self._child,
            )
            self._attach(f"{r}-{kind}", kind, attachment.id)
            self._vpc_routes(kind, vpc, subnets[kind], tgw.id, attachment)
            self._vpc_acl(kind, vpc, subnets[kind])
        self.security_groups = {kind: self._security_group(kind, vpcs[kind]) for kind in vpcs}
        return TransitGatewayOutputs(
            region=r,
            transit_gateway_id=tgw.id,
            amazon_side_asn=region.transit_gateway_asn,
            route_table_ids={kind: table.id for kind, table in tables.items()},
            workloads_vpc_id=vpcs["workloads"].id,
            desktops_vpc_id=vpcs["desktops"].id,
            workloads_subnet_ids=[s.id for s in subnets["workloads"]],
            desktops_subnet_ids=[s.id for s in subnets["desktops"]],
            desktops_security_group_id=self.security_groups["desktops"].id,
        )

    def _attach(self, name: str, kind: str, attachment_id: pulumi.Input[str]) -> None:
        """Associate and propagate one attachment as the routing table of the module says."""
        r = self._region.region
        associate(f"{name}-association", r, attachment_id, self._tables[ASSOCIATED_WITH[kind]].id, self._child)
        for target in PROPAGATES_INTO[kind]:
            propagate(f"{name}-to-{target}-propagation", r, attachment_id, self._tables[target].id, self._child)

    def _subnets(self, kind: str, vpc: aws.ec2.Vpc, cidr: ipaddress.IPv4Network) -> list[aws.ec2.Subnet]:
        """Workloads: one subnet per configured zone. Desktops: two subnets in zones WorkSpaces runs in.

        WorkSpaces and its directory need exactly two subnets in different AZs, picked by AZ ID
        (names map to different zones in each account); the region's zones are looked up by ID.
        """
        r = self._region.region
        fleet = self._cloud.fleet
        tags = {**self._tags, "storestack:tier": "private"}
        if kind == "desktops":
            supported = sorted(WORKSPACES_ZONE_IDS.get(r, ()))
            # Every supported zone, whatever its state: a `state = available` filter leaves out a
            # zone while it is impaired (DescribeAvailabilityZones `State`), which would move
            # these create-only placements, and so the directory and its WorkSpaces, on the next up.
            zones = aws.get_availability_zones_output(
                region=r,
                filters=[{"name": "zone-id", "values": supported}] if supported else None,
                opts=pulumi.InvokeOutputOptions(parent=self),
            )
            return [
                aws.ec2.Subnet(
                    f"{r}-desktops-{n + 1}",
                    vpc_id=vpc.id,
                    cidr_block=str(block),
                    availability_zone_id=zones.zone_ids[n],
                    map_public_ip_on_launch=False,
                    region=r,
                    tags={**tags, "Name": f"{fleet}-{r}-desktops-{n + 1}"},
                    opts=self._child,
                )
                for n, block in enumerate(split_network(cidr, 2))
            ]
        zone_names = self._region.availability_zones
        return [
            aws.ec2.Subnet(
                f"{zone}-{kind}",
                vpc_id=vpc.id,
                cidr_block=str(block),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                region=r,
                tags={**tags, "Name": f"{fleet}-{zone}-{kind}"},
                opts=self._child,
            )
            for zone, block in zip(zone_names, split_network(cidr, len(zone_names)), strict=True)
        ]

    # --- what each domain may reach --------------------------------------------------------------

    def remote_ranges(self, kind: str) -> list[ipaddress.IPv4Network]:
        """Ranges outside the VPC that `kind` exchanges traffic with, all through the Transit Gateway."""
        cloud = self._cloud
        region = self._region
        openstack_workloads = [site.workloads_cidr for site in cloud.openstack_sites]
        openstack_desktops = [site.desktops_cidr for site in cloud.openstack_sites]
        # The other AWS regions, over the Transit Gateways' peering (`peer`): their desktops open
        # HTTPS to these workloads, these desktops to their workloads.
        other_regions = [other for other in cloud.aws_regions if other.region != region.region]
        if kind == "workloads":
            ranges = [cloud.store_supernet, *cloud.hq_prefixes, region.desktops_cidr, *openstack_workloads]
            ranges += openstack_desktops
            ranges += [other.desktops_cidr for other in other_regions]
        else:
            ranges = [cloud.store_supernet, *cloud.hq_prefixes, region.workloads_cidr, *openstack_workloads]
            ranges += [other.workloads_cidr for other in other_regions]
        return list(collapse(ranges))

    def peer(self, other: AwsRegion) -> None:
        """Peer this region's Transit Gateway with `other`'s, so each region's desktops open HTTPS
        to the other's workloads, as the network intent's desktop flows let every cloud desktop
        (`remote_ranges`); the hubs carry no cloud-to-cloud traffic (`CloudForwarding`).

        A peering attachment learns no routes: each side routes the other's ranges to it by static
        routes, once it is associated (Transit Gateway guide, "Transit gateway peering
        attachments", "Add a route to a transit gateway route table"). Each side associates it
        with its `hq` table, which holds exactly its own two VPCs; its `desktops` table sends the
        other's workloads, its `workloads` table the other's desktops, and nothing else, over it.
        """
        here, there = self._region.region, other._region.region
        request = aws.ec2transitgateway.PeeringAttachment(
            f"{here}-{there}-peering",
            transit_gateway_id=self.transit.transit_gateway_id,
            peer_transit_gateway_id=other.transit.transit_gateway_id,
            peer_region=there,
            peer_account_id=self._cloud.aws_account_id,
            region=here,
            tags={**self._tags, "Name": f"{self._cloud.fleet}-{here}-{there}"},
            opts=self._child,
        )
        accept = aws.ec2transitgateway.PeeringAttachmentAccepter(
            f"{there}-{here}-peering",
            transit_gateway_attachment_id=request.id,
            region=there,
            tags={**other._tags, "Name": f"{self._cloud.fleet}-{there}-{here}"},
            opts=other._child,
        )
        for side, far, attachment_id in (
            (self, other, request.id),
            (other, self, accept.transit_gateway_attachment_id),
        ):
            r, f = side._region.region, far._region.region
            association = associate(
                f"{r}-{f}-peering-association",
                r,
                attachment_id,
                side._tables["hq"].id,
                pulumi.ResourceOptions.merge(side._child, pulumi.ResourceOptions(depends_on=[accept])),
            )
            after = pulumi.ResourceOptions.merge(side._child, pulumi.ResourceOptions(depends_on=[association]))
            for table, destination in (("desktops", far._region.workloads_cidr), ("workloads", far._region.desktops_cidr)):
                aws.ec2transitgateway.Route(
                    f"{r}-{table}-to-{f}-{network_slug(destination)}",
                    destination_cidr_block=str(destination),
                    transit_gateway_attachment_id=attachment_id,
                    transit_gateway_route_table_id=side._tables[table].id,
                    region=r,
                    opts=after,
                )

    def _vpc_routes(
        self,
        kind: str,
        vpc: aws.ec2.Vpc,
        subnets: list[aws.ec2.Subnet],
        tgw_id: pulumi.Input[str],
        attachment: aws.ec2transitgateway.VpcAttachment,
    ) -> None:
        """The VPC's route table: exactly the ranges `kind` may exchange traffic with, to the TGW."""
        r = self._region.region
        table = aws.ec2.RouteTable(
            f"{r}-{kind}-routes",
            vpc_id=vpc.id,
            region=r,
            tags={**self._tags, "Name": f"{self._cloud.fleet}-{r}-{kind}"},
            opts=self._child,
        )
        for number, subnet in enumerate(subnets, start=1):
            aws.ec2.RouteTableAssociation(
                f"{r}-{kind}-routes-{number}", subnet_id=subnet.id, route_table_id=table.id, region=r, opts=self._child
            )
        # A route to a transit gateway is refused until the VPC's attachment exists.
        after_attachment = pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[attachment]))
        for network in self.remote_ranges(kind):
            aws.ec2.Route(
                f"{r}-{kind}-to-{network_slug(network)}",
                route_table_id=table.id,
                destination_cidr_block=str(network),
                transit_gateway_id=tgw_id,
                region=r,
                opts=after_attachment,
            )

    def store_flows(self, kind: str) -> list[tuple[str, int, int, str]]:
        """(protocol, from port, to port, why) of what stores may open into `kind`'s VPC: the
        network intent's flows whose destinations reach it. Protocol "-1" is every protocol."""
        local = self._region.workloads_cidr if kind == "workloads" else self._region.desktops_cidr
        flows = []
        for flow in self._cloud.store_flows:
            if not any(local.overlaps(destination) for destination in flow.destinations):
                continue
            if flow.protocol == "ip":
                flows.append(("-1", 0, 0, flow.why))
            elif flow.protocol == "icmp":
                flows.append(("icmp", -1, -1, flow.why))
            else:
                flows += [(flow.protocol, port, port, flow.why) for port in flow.ports] or [
                    (flow.protocol, 0, 65535, flow.why)
                ]
        return flows

    def _vpc_acl(self, kind: str, vpc: aws.ec2.Vpc, subnets: list[aws.ec2.Subnet]) -> None:
        """A stateless second line behind the security groups: what may enter and leave the subnets.

        Replies to connections a subnet's hosts opened come back on their ephemeral ports only, so
        the ephemeral rules never open a listening service. Stores may open exactly the network
        intent's flows into the VPC (`store_flows`); towards a store only replies leave, on the
        store clients' ephemeral ports (`STORE_CLIENT_PORTS`: no well-known port; the stateful
        security groups keep a desktop or a workload from opening anything into a store).
        """
        r = self._region.region
        cloud = self._cloud
        local = self._region.workloads_cidr if kind == "workloads" else self._region.desktops_cidr
        ingress: list[dict[str, Any]] = []
        egress: list[dict[str, Any]] = []

        def rule(
            rules: list[dict[str, Any]],
            action: str,
            cidr: ipaddress.IPv4Network,
            ports: tuple[int, int] | None,
            protocol: str = "tcp",
            icmp: tuple[int, int] = (-1, -1),
        ) -> None:
            entry: dict[str, Any] = {"rule_no": 100 + 10 * len(rules), "action": action, "cidr_block": str(cidr)}
            if ports is None:
                entry.update(protocol="-1", from_port=0, to_port=0)
            elif protocol == "icmp":
                entry.update(protocol="icmp", from_port=0, to_port=0, icmp_type=icmp[0], icmp_code=icmp[1])
            else:
                entry.update(protocol=protocol, from_port=ports[0], to_port=ports[1])
            rules.append(entry)

        rule(ingress, "allow", local, None)
        rule(egress, "allow", local, None)
        # The ICMP errors a router on the way sends about a host's own packets, from wherever it
        # sits (a hub's or the OpenStack gateway's AWS tunnel inside address, a store's tunnel, a
        # DC core router), so ahead of the stores' and the DC core LAN's denies: fragmentation
        # needed for path MTU discovery, TTL exceeded for traceroute (VPC guide, "Path MTU
        # Discovery"). The stateful security groups admit only those about a host's own flows.
        for error in ICMP_ERRORS_IN:
            rule(ingress, "allow", ANYWHERE, (-1, -1), "icmp", icmp=error)
        stores = cloud.store_supernet
        flows = self.store_flows(kind)
        for protocol, low, high, _ in flows:
            rule(ingress, "allow", stores, None if protocol == "-1" else (low, high), protocol)
        # Replies to the stores' clients (whatever ports their OS picks), and ICMP answers.
        reply_protocols = {"tcp", "udp", "icmp"} if any(f[0] == "-1" for f in flows) else {f[0] for f in flows}
        for protocol in sorted(reply_protocols):
            rule(egress, "allow", stores, (-1, -1) if protocol == "icmp" else STORE_CLIENT_PORTS, protocol)
        rule(ingress, "deny", stores, None)
        rule(egress, "deny", stores, None)
        others = [n for n in self.remote_ranges(kind) if n != stores]
        replies = EPHEMERAL[kind]
        hq = collapse(cloud.hq_prefixes)

        def peer_rules(peers: Iterable[ipaddress.IPv4Network], at_hq: Iterable[ipaddress.IPv4Network]) -> None:
            """What `kind` exchanges with `peers` (outside the VPC, not a store) and, desktops
            only, with `at_hq` (HQ's ranges among them)."""
            for peer in peers:
                if kind == "workloads":
                    rule(ingress, "allow", peer, (HTTPS, HTTPS))
                rule(ingress, "allow", peer, replies)
                if kind == "workloads":
                    rule(egress, "allow", peer, None)
                elif not any(peer.subnet_of(prefix) for prefix in hq):
                    rule(egress, "allow", peer, (HTTPS, HTTPS))
            if kind == "workloads":
                return
            # The chain's directory, DNS and time servers sit at HQ (an AD Connector's DCs): the
            # security group narrows this to their ports.
            for prefix in at_hq:
                rule(egress, "allow", prefix, None)
                rule(ingress, "allow", prefix, replies, protocol="udp")
                # Windows Time asks from UDP 123 itself, so its answers come back to port 123,
                # not to an ephemeral port (Microsoft's W32Time guidance opens UDP 123 both ways).
                rule(ingress, "allow", prefix, (NTP, NTP), protocol="udp")

        for source in collapse(cloud.admin_ranges):
            if kind == "workloads":
                rule(ingress, "allow", source, (SSH, SSH))
            else:
                rule(ingress, "allow", source, (RDP, RDP))
                rule(egress, "allow", source, (1024, 65535))
        if kind == "desktops":
            # An AD Connector's ENIs sit in the desktops subnets, and AWS documents no source port
            # range for its DNS, Kerberos and LDAP queries (Directory Service admin guide, "AD
            # Connector prerequisites": TCP/UDP 53, 88 and 389 to the DCs); the VPC guide
            # ("Ephemeral ports") has AWS's own clients (ELB, NAT gateway, Lambda) pick from 1024:
            # their answers come back to 1024-65535, from the connector's DCs only. The desktops'
            # stateful group still opens nothing to a DC's packet to those ports.
            for server in collapse(ipaddress.IPv4Network(ip) for ip in self._region.ad_connector_dns_ips):
                for protocol in ("tcp", "udp"):
                    rule(ingress, "allow", server, AD_CONNECTOR_REPLY_PORTS, protocol=protocol)
        # HQ's routing infrastructure (the DC core LAN), which the hubs keep the clouds away from
        # (`CloudForwarding`): denied both ways before HQ's ranges are allowed, one rule per range
        # and direction (a NACL holds 20 a direction by default); a server written inside it
        # (`hq_exceptions`) is allowed first, as HQ is.
        peer_rules(cloud.hq_exceptions, cloud.hq_exceptions)
        for closed in collapse(cloud.hq_infrastructure):
            rule(ingress, "deny", closed, None)
            rule(egress, "deny", closed, None)
        peer_rules(others, hq)
        aws.ec2.NetworkAcl(
            f"{r}-{kind}-acl",
            vpc_id=vpc.id,
            subnet_ids=[s.id for s in subnets],
            ingress=ingress,
            egress=egress,
            region=r,
            tags={**self._tags, "Name": f"{cloud.fleet}-{r}-{kind}"},
            opts=self._child,
        )

    def _security_group(self, kind: str, vpc: aws.ec2.Vpc) -> aws.ec2.SecurityGroup:
        """Stores: exactly the network intent's flows in (stateful: replies go back), nothing out.
        Workloads: HTTPS from HQ (but its DC core LAN), desktops and OpenStack, SSH from management. Desktops: RDP from
        management and nothing from another desktop, out exactly the network intent's desktop flows
        (`cloud.desktop_flows`: HTTPS to workloads and HQ, HQ's directory, DNS and NTP) and the VPC
        (a Managed AD's controllers); nothing towards a store, no internet."""
        r = self._region.region
        cloud = self._cloud
        local = self._region.workloads_cidr if kind == "workloads" else self._region.desktops_cidr
        admin = [str(n) for n in collapse(cloud.admin_ranges)]
        stores = [str(cloud.store_supernet)]
        from_stores = [
            {"protocol": protocol, "from_port": low, "to_port": high, "cidr_blocks": stores,
             "description": f"stores, network intent: {why}"[:255]}
            for protocol, low, high, why in self.store_flows(kind)
        ]
        inside = {"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": [str(local)], "description": "inside the VPC"}
        # HQ as the hubs let the clouds reach it: its DC core LAN cut out (`hq_cut`), a server
        # written inside the LAN kept. A security group cannot deny: it lists what is allowed.
        remote = [n for n in self.remote_ranges(kind) if n != cloud.store_supernet]
        reached = collapse([*excluding(remote, cloud.hq_infrastructure), *cloud.hq_exceptions])
        targets = [str(n) for n in reached]
        if kind == "workloads":
            ingress = [
                _sg_rule(HTTPS, targets, "HTTPS from desktops, HQ, OpenStack"),
                _sg_rule(SSH, admin, "SSH from the management ranges"),
                inside,
                *from_stores,
            ]
            egress = [inside, _sg_rule(HTTPS, targets, "HTTPS to peer services")]
        else:
            # Nothing in from the VPC itself: every WorkSpace of the region shares this group, and a
            # desktop opens no connection to another (nor does an OpenStack one); out, the VPC stays
            # open for a Managed AD's domain controllers, which sit in the desktops subnets.
            ingress = [_sg_rule(RDP, admin, "RDP from the management ranges"), *from_stores]
            # Out: the network intent's desktop flows, exactly as an OpenStack pool's group has them
            # (`DesktopPool`): no internet, nothing towards a store.
            egress = [inside] + [
                {"protocol": protocol, "from_port": low, "to_port": high, "cidr_blocks": [str(n) for n in destinations],
                 "description": f"desktops, network intent: {why}"[:255]}
                for protocol, low, high, destinations, why in desktop_egress(cloud.desktop_flows)
            ]
        return aws.ec2.SecurityGroup(
            f"{r}-{kind}-sg",
            name=f"{cloud.fleet}-{r}-{kind}",
            description=f"storestack {kind}: see the segmentation policy of the core stack",
            vpc_id=vpc.id,
            ingress=ingress,
            egress=egress,
            region=r,
            tags={**self._tags, "Name": f"{cloud.fleet}-{r}-{kind}"},
            opts=self._child,
        )

    def _hub_vpn(self, hub: HqHubArgs) -> tuple[pulumi.Output[Any], pulumi.Output[Any]]:
        """The hub's VPN: both tunnels' ids, inside /30s and keys as the network intent plans them,
        so the hub's config holds the same values before and after the stack is up."""
        r = self._region.region
        name = f"{r}-hub-{hub.name}"
        planned = (hub.cloud_tunnel("aws", r, 1), hub.cloud_tunnel("aws", r, 2))
        vpn, psks = self._vpn(
            name,
            "hub",
            CustomerGatewaySpec(hub.name, hub.bgp_asn, str(hub.public_address)),
            psks=(self._keys.psk(planned[0].tunnel_id), self._keys.psk(planned[1].tunnel_id)),
            inside_cidrs=[tunnel.inside_cidr for tunnel in planned],
        )
        tunnels = pulumi.Output.from_input({"hub": hub.name, "region": r, "tunnels": [vpn.tunnel(1), vpn.tunnel(2)]})
        return tunnels, pulumi.Output.secret(list(psks))

    def openstack_vpn(
        self,
        site_name: str,
        bgp_asn: int,
        gateway_address: pulumi.Output[str],
        depends_on: list[pulumi.Resource],
        inside_cidrs: Sequence[ipaddress.IPv4Network],
    ) -> tuple[TransitVpn, tuple[pulumi.Output[str], pulumi.Output[str]]]:
        """A route-based BGP VPN from the Transit Gateway to an OpenStack site's VPN gateway.

        Both tunnels, one key each, 0.0.0.0/0 selectors (one SA pair per tunnel), inside /30s
        planned clear of the gateway's other tunnels (`network.cloud.openstack_aws_inside`); the
        gateway announces the site's networks, so the tables learn them by propagation.
        """
        name = f"{self._region.region}-openstack-{site_name}"
        gateway = CustomerGatewaySpec(f"openstack-{site_name}", bgp_asn, gateway_address)
        # Both ends are this stack's: the gateway's config is rendered from these generated keys.
        psks = (
            pre_shared_key(f"{name}-psk1", self, aliases=self._moved),
            pre_shared_key(f"{name}-psk2", self, aliases=self._moved),
        )
        return self._vpn(name, "openstack", gateway, psks=psks, inside_cidrs=inside_cidrs, depends_on=depends_on)

    def _vpn(
        self,
        name: str,
        kind: str,
        gateway: CustomerGatewaySpec,
        *,
        psks: tuple[pulumi.Output[str], pulumi.Output[str]],
        inside_cidrs: Sequence[ipaddress.IPv4Network] = (),
        depends_on: list[pulumi.Resource] | None = None,
    ) -> tuple[TransitVpn, tuple[pulumi.Output[str], pulumi.Output[str]]]:
        tables = self.transit.route_table_ids
        vpn = transit_gateway_vpn(
            name,
            region=self._region.region,
            transit_gateway_id=self.transit.transit_gateway_id,
            gateway=gateway,
            psks=psks,
            associate_with=tables[ASSOCIATED_WITH[kind]],
            propagate_to={target: tables[target] for target in PROPAGATES_INTO[kind]},
            inside_cidrs=inside_cidrs,
            tags={**self._tags, "Name": f"{self._cloud.fleet}-{gateway.device_name}"},
            opts=self._child,
            depends_on=depends_on or [],
        )
        return vpn, psks


def _sg_rule(port: int, cidrs: list[str], description: str) -> dict[str, Any]:
    return {"protocol": "tcp", "from_port": port, "to_port": port, "cidr_blocks": cidrs, "description": description}
