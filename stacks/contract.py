"""The provider contract: rules a real `pulumi up` enforces (or needs to carry traffic) that mocks do not.

Mocks accept any inputs. AWS and OpenStack do not: they refuse out-of-range values, missing
prerequisites and exceeded quotas, or accept a resource that then never carries traffic. Each
rule below encodes one such rule for a resource kind storestack creates, and cites the page it
comes from. `plan` reports a violation as a `contract` finding naming the resource's URN and the
rule, so it fails before anything is created.

One rule is one `ContractRule` entry in `RULES`: a name, the page, and a function that yields a
(URN, message) pair per violation.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from storestack.common.asn import customer_gateway_asn_refusal, transit_gateway_asn_refusal
from storestack.components.cloud_args import WORKSPACES_ZONE_IDS
from storestack.network.cloud import AWS_RESERVED_INSIDE, LINK_LOCAL
from storestack.stacks.mocks import MockRun, RecordedResource, unwrap_secrets

WORKSPACES_ROLE = "workspaces_DefaultRole"
# Prefixes one customer gateway may announce over one Site-to-Site VPN; past it AWS resets BGP.
VPN_PREFIX_QUOTA = 100
NACL_RULES_QUOTA = 20
SECURITY_GROUP_RULES_QUOTA = 60
# IAM and AWS STS quotas, "Role trust policy length": 2,048 characters by default (adjustable),
# white space not counted.
TRUST_POLICY_QUOTA = 2048
# Directory types AWS creates empty: no user exists in them until someone adds one.
_EMPTY_DIRECTORY_TYPES = frozenset({"SimpleAD", "MicrosoftAD"})
_RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_ANY = ipaddress.IPv4Network("0.0.0.0/0")

Violation = tuple[str | None, str]  # (URN, message)


@dataclass(frozen=True)
class ContractContext:
    """What exists in the account before the stack: resources the plan may rely on without creating."""

    existing_roles: frozenset[str] = frozenset()
    existing_bundles: frozenset[str] = frozenset()


@dataclass
class PlanIndex:
    """Lookups over one run's resources: by type, by cloud id, and each resource's dependency closure."""

    run: MockRun
    _closure: dict[str, frozenset[str]] = field(default_factory=dict)

    @cached_property
    def by_urn(self) -> dict[str, RecordedResource]:
        return {r.urn: r for r in self.run.resources}

    @cached_property
    def by_id(self) -> dict[str, RecordedResource]:
        return {r.resource_id: r for r in self.run.resources if r.custom and r.resource_id}

    def of_type(self, token: str) -> list[RecordedResource]:
        return [r for r in self.run.resources if r.type == token]

    def depends_on(self, resource: RecordedResource, urn: str) -> bool:
        return urn in self.closure(resource.urn)

    def closure(self, urn: str) -> frozenset[str]:
        """Every URN the engine waits for before `urn`, directly or through another dependency."""
        if urn not in self._closure:
            seen: set[str] = set()
            stack = list(self.by_urn[urn].dependencies) if urn in self.by_urn else []
            while stack:
                current = stack.pop()
                if current in seen:
                    continue
                seen.add(current)
                if current in self.by_urn:
                    stack.extend(self.by_urn[current].dependencies)
            self._closure[urn] = frozenset(seen)
        return self._closure[urn]


@dataclass(frozen=True)
class ContractRule:
    name: str
    reference: str
    check: Callable[[PlanIndex, ContractContext], Iterator[Violation]]
    kinds: tuple[str, ...]  # the resource types the rule inspects


# Resource types no provider API contract applies to: Pulumi's own resources and components,
# and the random provider (computed locally, no cloud call).
NOT_CLOUD_RESOURCES = ("pulumi:", "storestack:", "random:")


def _plain(value: Any) -> Any:
    return unwrap_secrets(value)


def _net(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A network input, or None when it does not parse (the `invalid-cidr` check reports those)."""
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return None


def _ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        return None


def _as_int(value: Any) -> int | None:
    """An integer input; the engine hands numbers over as floats (65000.0)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


# --- AWS ------------------------------------------------------------------------------------------


def _customer_gateway_asn(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # CreateCustomerGateway: BgpAsn 1-2,147,483,647; a larger ASN must go in BgpAsnExtended
    # (2,147,483,648-4,294,967,295); exactly one of the two.
    for cgw in index.of_type("aws:ec2/customerGateway:CustomerGateway"):
        small, extended = _as_int(cgw.inputs.get("bgpAsn")), _as_int(cgw.inputs.get("bgpAsnExtended"))
        if (small is None) == (extended is None):
            yield cgw.urn, "set exactly one of bgp_asn and bgp_asn_extended"
        if small is not None and not 1 <= small <= 2_147_483_647:
            yield cgw.urn, f"bgp_asn {small} is outside 1-2147483647; use bgp_asn_extended"
        if extended is not None and not 2_147_483_648 <= extended <= 4_294_967_295:
            yield cgw.urn, f"bgp_asn_extended {extended} is outside 2147483648-4294967295; use bgp_asn"
        region = cgw.inputs.get("region")
        if small is not None and isinstance(region, str) and (refusal := customer_gateway_asn_refusal(small, region)):
            yield cgw.urn, refusal


def _transit_gateway_flow_log(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # create-flow-logs for TransitGateway / TransitGatewayAttachment: --traffic-type is an error,
    # --max-aggregation-interval must be 60.
    for log in index.of_type("aws:ec2/flowLog:FlowLog"):
        if not (log.inputs.get("transitGatewayId") or log.inputs.get("transitGatewayAttachmentId")):
            continue
        if log.inputs.get("trafficType"):
            yield log.urn, "traffic_type is refused for transit gateway flow logs"
        interval = log.inputs.get("maxAggregationInterval")
        if interval is not None and int(interval) != 60:
            yield log.urn, f"max_aggregation_interval {interval}: transit gateway flow logs accept only 60"


def _directory_subnets(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # DirectoryVpcSettings / DirectoryConnectSettings SubnetIds: "The two subnets must be in
    # different Availability Zones."
    for directory in index.of_type("aws:directoryservice/directory:Directory"):
        settings = directory.inputs.get("vpcSettings") or directory.inputs.get("connectSettings") or {}
        subnet_ids = list(settings.get("subnetIds") or [])
        if len(subnet_ids) != 2:
            yield directory.urn, f"{len(subnet_ids)} subnets given; a directory takes exactly two"
            continue
        zones = [_zone_of(index.by_id.get(str(s))) for s in subnet_ids]
        if None not in zones and zones[0] == zones[1]:
            yield directory.urn, f"both subnets are in {zones[0]}; the two must be in different zones"


# A directory's servers have two adapters: ETH1 in the VPC, ETH0 in a management network AWS
# picks by the first octet of the VPC's CIDR alone (10: 192.168.1.0/24 and 192.168.2.0/24; any
# other: 10.0.1.0/24 and 10.0.2.0/24); "the selection algorithm does not include routes on your
# VPC", so an address of the chain inside that pair conflicts with it (AD Connector prerequisites).
_DIRECTORY_MANAGEMENT = {
    True: tuple(ipaddress.IPv4Network(n) for n in ("192.168.1.0/24", "192.168.2.0/24")),
    False: tuple(ipaddress.IPv4Network(n) for n in ("10.0.1.0/24", "10.0.2.0/24")),
}


def _ad_connector_management(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # An AD Connector reaches the chain's DNS servers (and through their SRV records its domain
    # controllers) from the VPC: none of them may sit in the management pair of the VPC's block.
    for directory in index.of_type("aws:directoryservice/directory:Directory"):
        settings = _plain(directory.inputs.get("connectSettings")) or {}
        vpc = index.by_id.get(str(settings.get("vpcId")))
        block = _net(vpc.inputs.get("cidrBlock")) if vpc is not None else None
        if block is None or block.version != 4:
            continue
        management = _DIRECTORY_MANAGEMENT[block.network_address.packed[0] == 10]
        for value in settings.get("customerDnsIps") or []:
            address = _ip(value)
            clash = next((n for n in management if address is not None and address in n), None)
            if clash is not None:
                yield directory.urn, (
                    f"DNS server {address} lies in {clash}, where AWS puts the connector's management "
                    f"adapter for a VPC in {block} (picked by its first octet, routes not considered): "
                    "the connector's route to it conflicts"
                )


def _zone_of(subnet: RecordedResource | None) -> str | None:
    if subnet is None:
        return None
    return subnet.inputs.get("availabilityZoneId") or subnet.inputs.get("availabilityZone")


def _workspaces_default_role(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # RegisterWorkspaceDirectory: "you will need to create the workspaces_DefaultRole role before
    # you can register a directory." The registration must wait for the role and its policy.
    if WORKSPACES_ROLE in context.existing_roles:
        return
    roles = [r for r in index.of_type("aws:iam/role:Role") if r.inputs.get("name") == WORKSPACES_ROLE]
    attachments = [
        a
        for a in index.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if str(a.inputs.get("policyArn", "")).endswith("/AmazonWorkSpacesServiceAccess")
    ]
    for directory in index.of_type("aws:workspaces/directory:Directory"):
        if not roles:
            yield directory.urn, f"nothing creates the {WORKSPACES_ROLE} IAM role and it is not a declared prerequisite"
        elif not any(index.depends_on(directory, a.urn) for a in attachments):
            yield directory.urn, (
                f"registration does not wait for {WORKSPACES_ROLE} with AmazonWorkSpacesServiceAccess attached"
            )


def _workspaces_zone_ids(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # WorkSpaces Personal runs in a subset of each region's AZ IDs; AZ names map to different AZ
    # IDs in each account, so only an AZ ID proves a subnet is usable.
    for directory in index.of_type("aws:workspaces/directory:Directory"):
        region = str(directory.inputs.get("region") or "")
        supported = WORKSPACES_ZONE_IDS.get(region)
        if supported is None:
            yield directory.urn, f"region {region or '(unset)'} has no WorkSpaces AZ ID table here"
            continue
        for subnet_id in directory.inputs.get("subnetIds") or []:
            subnet = index.by_id.get(str(subnet_id))
            if subnet is None:
                continue
            zone_id = subnet.inputs.get("availabilityZoneId")
            if not zone_id:
                yield directory.urn, (
                    f"subnet {subnet.name} is placed by AZ name {subnet.inputs.get('availabilityZone')!r}; "
                    "WorkSpaces needs an AZ ID from its supported list"
                )
            elif zone_id not in supported:
                yield directory.urn, f"subnet {subnet.name} is in {zone_id}, not a WorkSpaces AZ ID of {region}"


def _workspaces_bundle(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # getBundle: without `owner` the lookup searches the account's own (custom) bundles, which no
    # resource can create; Amazon's public bundles are looked up with owner = "AMAZON".
    custom = {
        str((invoke.result or {}).get("bundleId")): str(invoke.args.get("name"))
        for invoke in index.run.invokes
        if invoke.token == "aws:workspaces/getBundle:getBundle"
        and invoke.args.get("name")
        and invoke.args.get("owner") != "AMAZON"
        and invoke.args.get("name") not in context.existing_bundles
    }
    for workspace in index.of_type("aws:workspaces/workspace:Workspace"):
        name = custom.get(str(workspace.inputs.get("bundleId")))
        if name is not None:
            yield workspace.urn, f"custom bundle {name!r} is assumed to exist: look up an AMAZON bundle or declare it"


def _workspaces_user(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # CreateWorkspaces UserName: "This user name must exist in the AWS Directory Service directory
    # for the WorkSpace." A directory this stack creates (Simple AD, Managed AD) starts empty.
    created = {
        d.resource_id: d.inputs.get("type", "SimpleAD")
        for d in index.of_type("aws:directoryservice/directory:Directory")
    }
    for workspace in index.of_type("aws:workspaces/workspace:Workspace"):
        kind = created.get(str(workspace.inputs.get("directoryId")))
        if kind in _EMPTY_DIRECTORY_TYPES:
            yield workspace.urn, (
                f"user {workspace.inputs.get('userName')!r} cannot exist yet: the {kind} directory is created "
                "by this stack and nothing creates its users"
            )


def _workspaces_ip_group(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # IP access control groups match the public address a WorkSpaces client connects from (after
    # NAT), so a private range never matches anyone.
    for group in index.of_type("aws:workspaces/ipGroup:IpGroup"):
        for rule in group.inputs.get("rules") or []:
            source = ipaddress.ip_network(str(rule.get("source")), strict=False)
            if source.version == 4 and any(source.subnet_of(block) for block in _RFC1918):
                yield group.urn, f"rule {source} is a private range; IP access groups match clients' public addresses"


def _route_table_association(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # A transit gateway attachment is associated with exactly one route table of each transit
    # gateway it joins: a peering attachment has one id on both sides, one association a side.
    def key(association: RecordedResource) -> tuple[str, str]:
        return str(association.inputs.get("region")), str(association.inputs.get("transitGatewayAttachmentId"))

    counts = Counter(key(a) for a in index.of_type("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation"))
    for association in index.of_type("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation"):
        if counts[key(association)] > 1:
            yield association.urn, "the attachment is associated with more than one route table"


def _vpc_rule_quotas(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Amazon VPC quotas: 20 rules per network ACL and direction (adjustable to 40); 60 inbound and
    # 60 outbound rules per security group, each CIDR of a rule counting as one.
    for acl in index.of_type("aws:ec2/networkAcl:NetworkAcl"):
        for direction in ("ingress", "egress"):
            count = len(acl.inputs.get(direction) or [])
            if count > NACL_RULES_QUOTA:
                yield acl.urn, f"{count} {direction} rules; a network ACL takes {NACL_RULES_QUOTA}"
    for group in index.of_type("aws:ec2/securityGroup:SecurityGroup"):
        for direction in ("ingress", "egress"):
            count = sum(max(1, len(r.get("cidrBlocks") or [])) for r in group.inputs.get(direction) or [])
            if count > SECURITY_GROUP_RULES_QUOTA:
                yield group.urn, f"{count} {direction} rules; a security group takes {SECURITY_GROUP_RULES_QUOTA}"


def _default_security_groups(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # A DefaultSecurityGroup is adopted, not created: on its first up the provider removes every
    # rule of the group it finds, and without a `vpc_id` that group is the default VPC's, which
    # whatever runs there may use. Two of them for one VPC undo each other on every up.
    vpcs = {v.resource_id for v in index.of_type("aws:ec2/vpc:Vpc")}
    seen: Counter[str] = Counter()
    for group in index.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
        vpc = str(group.inputs.get("vpcId") or "")
        if vpc not in vpcs:
            yield group.urn, f"adopts the default security group of {vpc or 'the default VPC'}, not of a VPC this stack creates"
            continue
        seen[vpc] += 1
        if seen[vpc] == 2:
            yield group.urn, f"a second DefaultSecurityGroup for {vpc}: each up would undo the other's rules"


def _route_based_selectors(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Site-to-Site VPN is route-based: on a BGP connection the session runs between the tunnel's
    # 169.254 inside addresses, so a narrowed selector leaves BGP (and every learnt route) outside.
    for vpn in index.of_type("aws:ec2/vpnConnection:VpnConnection"):
        if vpn.inputs.get("staticRoutesOnly"):
            continue
        for key in ("localIpv4NetworkCidr", "remoteIpv4NetworkCidr"):
            value = vpn.inputs.get(key)
            if value and ipaddress.ip_network(str(value)) != _ANY:
                yield vpn.urn, f"{key} {value} on a BGP VPN: use 0.0.0.0/0 so the 169.254 BGP peering is inside"


def _vpn_tunnel_keys(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Each tunnel is its own IKE SA with its own pre-shared key; one key for both means one leak
    # opens both tunnels.
    for vpn in index.of_type("aws:ec2/vpnConnection:VpnConnection"):
        first, second = vpn.inputs.get("tunnel1PresharedKey"), vpn.inputs.get("tunnel2PresharedKey")
        if first is None or second is None:
            yield vpn.urn, "both tunnels need a pre-shared key (or a certificate) of their own"
        elif _plain(first) == _plain(second):
            yield vpn.urn, "tunnel 1 and tunnel 2 share one pre-shared key"
        for n, key in ((1, first), (2, second)):
            value = _plain(key)
            # PresharedKey: 8-64 of letters, digits, '.' and '_', not starting with zero.
            if isinstance(value, str) and (not _AWS_PSK.fullmatch(value) or value.startswith("0")):
                yield vpn.urn, f"tunnel {n}'s pre-shared key breaks AWS's rule (8-64 of A-Za-z0-9._, no leading 0)"


def _vpn_prefix_quota(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # A customer gateway may announce at most 100 prefixes over one VPN; past it AWS resets BGP.
    for urn, outputs in index.run.component_outputs.items():
        prefixes = _plain(outputs.get("advertised_prefixes"))
        if isinstance(prefixes, list) and outputs.get("tunnels") is not None and len(prefixes) > VPN_PREFIX_QUOTA:
            yield urn, f"announces {len(prefixes)} prefixes over its AWS VPNs; the quota is {VPN_PREFIX_QUOTA}"


# --- OpenStack --------------------------------------------------------------------------------------


def _waits_for_router_interfaces(
    index: PlanIndex, resource: RecordedResource, subnet_ids: list[Any], what: str
) -> Iterator[Violation]:
    """A violation per subnet that has no router interface, or one `resource` does not wait for."""
    interfaces = {
        str(i.inputs.get("subnetId")): i for i in index.of_type("openstack:networking/routerInterface:RouterInterface")
    }
    for subnet_id in subnet_ids:
        interface = interfaces.get(str(subnet_id))
        if interface is None:
            yield resource.urn, f"{what} {subnet_id} has no router interface"
        elif not index.depends_on(resource, interface.urn):
            yield resource.urn, f"does not wait for router interface {interface.name} of {what} {subnet_id}"


def _floating_ip_router_interface(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Neutron binds a floating IP to a port only if the port's subnet is attached to a router with
    # a gateway on the external network ("External network ... is not reachable from subnet ...").
    for binding in index.of_type("openstack:networking/floatingIpAssociate:FloatingIpAssociate"):
        port = index.by_id.get(str(binding.inputs.get("portId")))
        if port is not None:
            subnets = [fixed.get("subnetId") for fixed in port.inputs.get("fixedIps") or []]
            yield from _waits_for_router_interfaces(index, binding, subnets, "port subnet")


_AWS_PSK = re.compile(r"[A-Za-z0-9._]{8,64}")


def _vpn_inside_cidrs(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Tunnel inside CIDR: a /30 in 169.254.0.0/16, none of the reserved blocks, and unique across
    # the VPN connections of one transit gateway. Always given: without one AWS picks a random /30
    # of 169.254.0.0/16, which may be one the customer gateway already uses for another tunnel.
    seen: dict[tuple[str, str], str] = {}
    for vpn in index.of_type("aws:ec2/vpnConnection:VpnConnection"):
        gateway = str(vpn.inputs.get("transitGatewayId") or vpn.inputs.get("vpnGatewayId") or "")
        for n in (1, 2):
            value = vpn.inputs.get(f"tunnel{n}InsideCidr")
            if not value:
                yield vpn.urn, f"tunnel {n} has no inside CIDR: AWS would pick a random /30 of 169.254.0.0/16"
                continue
            network = _net(value)
            if network is None:
                continue
            if not isinstance(network, ipaddress.IPv4Network) or network.prefixlen != 30 or not network.subnet_of(LINK_LOCAL):
                yield vpn.urn, f"tunnel {n} inside CIDR {value} is not a /30 in 169.254.0.0/16"
            elif network in AWS_RESERVED_INSIDE:
                yield vpn.urn, f"tunnel {n} inside CIDR {value} is reserved by AWS"
            key = (gateway, str(network))
            if key in seen:
                yield vpn.urn, f"tunnel {n} inside CIDR {value} is already used by {seen[key]} on the same gateway"
            seen[key] = vpn.name


def _router_routes(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Neutron extra routes: "the nexthop IP must be part of one of the subnets to which the router
    # interfaces are connected"; the route must wait for that interface.
    subnets = {s.resource_id: s for s in index.of_type("openstack:networking/subnet:Subnet")}
    interfaces = index.of_type("openstack:networking/routerInterface:RouterInterface")
    for route in index.of_type("openstack:networking/routerRoute:RouterRoute"):
        hop = _ip(route.inputs.get("nextHop"))
        if hop is None:
            continue
        attached = [
            i
            for i in interfaces
            if i.inputs.get("routerId") == route.inputs.get("routerId")
            and str(i.inputs.get("subnetId")) in subnets
            and hop in (_net(subnets[str(i.inputs.get("subnetId"))].inputs.get("cidr")) or ())
        ]
        if not attached:
            yield route.urn, f"next hop {hop} is in no subnet attached to the router"
        elif not any(index.depends_on(route, i.urn) for i in attached):
            yield route.urn, f"does not wait for the router interface of next hop {hop}'s subnet"


def _security_group_rules(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Neutron security group rules: a port range needs a protocol that has ports (TCP, UDP, SCTP;
    # for ICMP the two fields are type and code), with min <= max.
    for rule in index.of_type("openstack:networking/secGroupRule:SecGroupRule"):
        low, high = rule.inputs.get("portRangeMin"), rule.inputs.get("portRangeMax")
        protocol = rule.inputs.get("protocol")
        if low is None and high is None:
            continue
        if protocol not in ("tcp", "udp", "sctp", "icmp"):
            yield rule.urn, f"a port range needs protocol tcp, udp or sctp, not {protocol!r}"
        elif protocol != "icmp" and (low is None or high is None or not 1 <= int(low) <= int(high) <= 65535):
            yield rule.urn, f"port range {low}-{high} is not 1 <= min <= max <= 65535"


def _iam_limits(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # IAM quotas: role names up to 64 characters of [\w+=,.@-]; MaxSessionDuration 3600-43200;
    # a trust policy up to TRUST_POLICY_QUOTA; inline policies of one role up to 10,240 characters
    # together; managed policy ARNs.
    inline: Counter[str] = Counter()
    roles = {r.resource_id: r for r in index.of_type("aws:iam/role:Role")}
    for role in roles.values():
        name = str(role.inputs.get("name") or role.name)
        if not re.fullmatch(r"[\w+=,.@-]{1,64}", name):
            yield role.urn, f"role name {name!r} is not 1-64 characters of letters, digits and +=,.@_-"
        duration = role.inputs.get("maxSessionDuration")
        if duration is not None and not 3600 <= int(duration) <= 43200:
            yield role.urn, f"max_session_duration {duration} is outside 3600-43200"
        trust = _plain(role.inputs.get("assumeRolePolicy"))
        if isinstance(trust, str):
            length = len(json.dumps(json.loads(trust), separators=(",", ":")))
            if length > TRUST_POLICY_QUOTA:
                yield role.urn, (
                    f"trust policy of {length} characters; IAM takes {TRUST_POLICY_QUOTA:,} "
                    "unless the account's quota was raised"
                )
    for policy in index.of_type("aws:iam/rolePolicy:RolePolicy"):
        document = _plain(policy.inputs.get("policy"))
        text = json.dumps(json.loads(document), separators=(",", ":")) if isinstance(document, str) else ""
        inline[str(policy.inputs.get("role"))] += len(text)
    for role_id, size in inline.items():
        if size > 10_240:
            urn = roles[role_id].urn if role_id in roles else None
            yield urn, f"inline policies of role {role_id} total {size} characters; IAM takes 10,240"
    for attachment in index.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        arn = str(attachment.inputs.get("policyArn"))
        if not re.fullmatch(r"arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[\w+=,.@/-]+", arn):
            yield attachment.urn, f"{arn} is not a managed policy ARN"


def _s3_buckets(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Bucket naming rules (3-63 of a-z 0-9 . -, starting and ending with a letter or digit, no
    # '..', not an IP address); a bucket's configuration lives in the bucket's own region.
    regions: dict[str, str] = {}
    for created in index.of_type("aws:s3/bucket:Bucket"):
        name = str(created.inputs.get("bucket") or "")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name) or ".." in name or re.fullmatch(
            r"[0-9.]+", name
        ):
            yield created.urn, f"bucket name {name!r} breaks the S3 naming rules"
        regions[created.resource_id] = str(created.inputs.get("region"))
    for kind in (_T["bucket-sse"], _T["bucket-pab"], _T["bucket-ver"], _T["bucket-policy"], _T["bucket-lifecycle"]):
        for setting in index.of_type(kind):
            bucket = str(setting.inputs.get("bucket"))
            if bucket in regions and str(setting.inputs.get("region")) != regions[bucket]:
                yield setting.urn, f"configures a bucket of {regions[bucket]} from region {setting.inputs.get('region')}"


def _bucket_lifecycle(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # A bucket holds one lifecycle configuration: two resources for one bucket replace each
    # other's on every up (a perpetual diff, the provider's page says). Each rule names its objects
    # by `filter` (empty: the whole bucket); the rule-level `prefix` is deprecated by S3 and the
    # provider reads it back as a change.
    counts = Counter(str(c.inputs.get("bucket")) for c in index.of_type(_T["bucket-lifecycle"]))
    for lifecycle in index.of_type(_T["bucket-lifecycle"]):
        if counts[str(lifecycle.inputs.get("bucket"))] > 1:
            yield lifecycle.urn, "a second lifecycle configuration for one bucket: each undoes the other on every up"
        for rule in lifecycle.inputs.get("rules") or []:
            if "prefix" in rule or "filter" not in rule:
                yield lifecycle.urn, f"rule {rule.get('id')!r}: name its objects by filter ({{}} for the whole bucket), not prefix"


def _transit_gateway_asn(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    for tgw in index.of_type("aws:ec2transitgateway/transitGateway:TransitGateway"):
        asn = _as_int(tgw.inputs.get("amazonSideAsn"))
        if asn is not None and (refusal := transit_gateway_asn_refusal(asn)):
            yield tgw.urn, f"amazon_side_asn: {refusal}"


def _vpc_cidrs(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # VPC and subnet CIDR blocks: /16 to /28; a subnet inside its VPC's block.
    vpcs = {v.resource_id: v for v in index.of_type("aws:ec2/vpc:Vpc")}
    for vpc in vpcs.values():
        network = _net(vpc.inputs.get("cidrBlock"))
        if network is not None and not 16 <= network.prefixlen <= 28:
            yield vpc.urn, f"VPC block {network} is not /16-/28"
    for subnet in index.of_type("aws:ec2/subnet:Subnet"):
        network = _net(subnet.inputs.get("cidrBlock"))
        if network is None:
            continue
        if not 16 <= network.prefixlen <= 28:
            yield subnet.urn, f"subnet block {network} is not /16-/28"
        parent = vpcs.get(str(subnet.inputs.get("vpcId")))
        block = _net(parent.inputs.get("cidrBlock")) if parent is not None else None
        if parent is not None and block is not None and not network.subnet_of(block):  # type: ignore[arg-type]
            yield subnet.urn, f"subnet {network} is outside its VPC's {parent.inputs.get('cidrBlock')}"


def _vpc_attachment_zones(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # CreateTransitGatewayVpcAttachment: "You can specify only one subnet per Availability Zone."
    for attachment in index.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment"):
        zones = [_zone_of(index.by_id.get(str(s))) for s in attachment.inputs.get("subnetIds") or []]
        known = [z for z in zones if z is not None]
        if len(known) != len(set(known)):
            yield attachment.urn, "two subnets in one Availability Zone"


def _vpc_routes(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # A route to a transit gateway is refused until the VPC's attachment exists; a subnet is
    # associated with one route table.
    tables = {t.resource_id: t for t in index.of_type("aws:ec2/routeTable:RouteTable")}
    attachments = index.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    for route in index.of_type("aws:ec2/route:Route"):
        if not route.inputs.get("transitGatewayId"):
            continue
        table = tables.get(str(route.inputs.get("routeTableId")))
        vpc = table.inputs.get("vpcId") if table is not None else None
        mine = [a for a in attachments if a.inputs.get("vpcId") == vpc]
        if table is not None and not any(index.depends_on(route, a.urn) for a in mine):
            yield route.urn, "a route to the transit gateway does not wait for the VPC's attachment"
    counts = Counter(str(a.inputs.get("subnetId")) for a in index.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation"))
    for association in index.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation"):
        if counts[str(association.inputs.get("subnetId"))] > 1:
            yield association.urn, "the subnet is associated with more than one route table"


def _propagations(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # EnableTransitGatewayRouteTablePropagation: an attachment propagates into a table once.
    pairs = Counter(
        (str(p.inputs.get("transitGatewayAttachmentId")), str(p.inputs.get("transitGatewayRouteTableId")))
        for p in index.of_type("aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation")
    )
    for propagation in index.of_type("aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation"):
        key = (str(propagation.inputs.get("transitGatewayAttachmentId")), str(propagation.inputs.get("transitGatewayRouteTableId")))
        if pairs[key] > 1:
            yield propagation.urn, "the attachment already propagates into this table"


_RETENTION_DAYS = frozenset({1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653})


def _log_groups(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # PutRetentionPolicy: retentionInDays is one of a fixed list of values.
    for group in index.of_type("aws:cloudwatch/logGroup:LogGroup"):
        days = group.inputs.get("retentionInDays")
        if days is not None and int(days) not in _RETENTION_DAYS:
            yield group.urn, f"retention_in_days {days} is not a value CloudWatch Logs accepts"


def _network_acl_entries(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Network ACL entries: rule numbers 1-32766, unique per direction; protocol -1 covers all ports.
    for acl in index.of_type("aws:ec2/networkAcl:NetworkAcl"):
        for direction in ("ingress", "egress"):
            numbers = [int(r.get("ruleNo")) for r in acl.inputs.get(direction) or []]
            if len(numbers) != len(set(numbers)) or not all(1 <= n <= 32766 for n in numbers):
                yield acl.urn, f"{direction} rule numbers must be unique and within 1-32766"


def _openstack_identity(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Keystone: project and group names are unique within their domain; a role assignment names
    # a role, an actor and a project or a domain.
    for kind in ("openstack:identity/project:Project", "openstack:identity/groupV3:GroupV3"):
        names = Counter(
            (str(r.parent), str(r.inputs.get("domainId")), str(r.inputs.get("name"))) for r in index.of_type(kind)
        )
        for resource in index.of_type(kind):
            if names[(str(resource.parent), str(resource.inputs.get("domainId")), str(resource.inputs.get("name")))] > 1:
                yield resource.urn, f"name {resource.inputs.get('name')!r} is used twice in one domain"
    for assignment in index.of_type("openstack:identity/roleAssignment:RoleAssignment"):
        inputs = assignment.inputs
        if not inputs.get("roleId") or not (inputs.get("groupId") or inputs.get("userId")):
            yield assignment.urn, "a role assignment needs a role and a group or user"
        if bool(inputs.get("projectId")) == bool(inputs.get("domainId")):
            yield assignment.urn, "a role assignment needs exactly one of project and domain"


# Swift (`swift/common/constraints.py`, the Object Storage API's "Create container" and "Create or
# replace object"): a container name of 1 to 256 characters without '/', an object name of 1 to
# 1,024; terraform-provider-openstack's object needs one of its content sources
# (resource_openstack_objectstorage_object_v1.go: "Must specify ...").
SWIFT_CONTAINER_NAME = 256
SWIFT_OBJECT_NAME = 1024
_OBJECT_SOURCES = ("content", "source", "copyFrom", "objectManifest")
# Keystone's application credential schema (keystone/application_credential/schema.py): a name;
# each access rule a path of at most 225 characters starting with '/', one of six methods, a service.
ACCESS_RULE_PATH = 225
_ACCESS_RULE_METHODS = frozenset({"POST", "GET", "HEAD", "PATCH", "PUT", "DELETE"})


def _swift_objects(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    containers = {str(c.inputs.get("name")) for c in index.of_type("openstack:objectstorage/container:Container")}
    for container in index.of_type("openstack:objectstorage/container:Container"):
        name = str(container.inputs.get("name") or "")
        if not 1 <= len(name) <= SWIFT_CONTAINER_NAME or "/" in name:
            yield container.urn, f"container name {name[:40]!r} is not 1 to {SWIFT_CONTAINER_NAME} characters without '/'"
    for item in index.of_type("openstack:objectstorage/containerObject:ContainerObject"):
        name = str(item.inputs.get("name") or "")
        if not 1 <= len(name.encode()) <= SWIFT_OBJECT_NAME:
            yield item.urn, f"object name is not 1 to {SWIFT_OBJECT_NAME} bytes"
        if str(item.inputs.get("containerName")) not in containers:
            yield item.urn, f"container {item.inputs.get('containerName')!r} is not one the plan creates"
        given = [key for key in _OBJECT_SOURCES if item.inputs.get(key) is not None]
        if len(given) != 1:
            yield item.urn, f"an object needs exactly one of {', '.join(_OBJECT_SOURCES)} (given: {given or 'none'})"


def _application_credentials(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    for credential in index.of_type("openstack:identity/applicationCredential:ApplicationCredential"):
        if not credential.inputs.get("name"):
            yield credential.urn, "an application credential needs a name"
        for rule in _plain(credential.inputs.get("accessRules")) or []:
            path, method = str(rule.get("path") or ""), str(rule.get("method") or "")
            if not path.startswith("/") or len(path) > ACCESS_RULE_PATH:
                yield credential.urn, f"access rule path {path[:40]!r} does not start with '/' or exceeds {ACCESS_RULE_PATH}"
            if method not in _ACCESS_RULE_METHODS:
                yield credential.urn, f"access rule method {method!r} is not one Keystone takes"
            if not rule.get("service"):
                yield credential.urn, "an access rule needs a service type"


def _ports_and_subnets(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Neutron: allocation pools lie inside the subnet; a fixed IP lies inside its subnet, and one
    # chosen by hand outside the DHCP pool, or DHCP may hand it out first.
    subnets = {s.resource_id: s for s in index.of_type("openstack:networking/subnet:Subnet")}
    for subnet in subnets.values():
        network = _net(subnet.inputs.get("cidr"))
        if network is None:
            continue
        for pool in subnet.inputs.get("allocationPools") or []:
            if not all(_ip(pool.get(k)) in network for k in ("start", "end")):
                yield subnet.urn, f"allocation pool {pool.get('start')}-{pool.get('end')} is outside {network}"
    for port in index.of_type("openstack:networking/port:Port"):
        for fixed in port.inputs.get("fixedIps") or []:
            owner = subnets.get(str(fixed.get("subnetId")))
            address = fixed.get("ipAddress")
            if owner is None or not address:
                continue
            fixed_ip, network = _ip(address), _net(owner.inputs.get("cidr"))
            if fixed_ip is None or network is None:
                continue
            if fixed_ip not in network:
                yield port.urn, f"fixed IP {address} is outside subnet {owner.inputs.get('cidr')}"
            for pool in owner.inputs.get("allocationPools") or []:
                start, end = _ip(pool.get("start")), _ip(pool.get("end"))
                if start is not None and end is not None and int(start) <= int(fixed_ip) <= int(end):
                    yield port.urn, f"fixed IP {address} is inside the subnet's DHCP pool"


_SERVER_GROUP_POLICIES = frozenset({"affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"})
NOVA_USER_DATA_BYTES = 65_535


def _compute(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Nova: server group policy is one of four; user data is at most 65,535 bytes base64-encoded;
    # an instance attaches to a network or a port. Cinder: a volume has a size.
    for group in index.of_type("openstack:compute/serverGroup:ServerGroup"):
        policy = group.inputs.get("policies")
        if policy not in _SERVER_GROUP_POLICIES:
            yield group.urn, f"policy {policy!r} is not one Nova accepts"
    for instance in index.of_type("openstack:compute/instance:Instance"):
        data = _plain(instance.inputs.get("userData"))
        if isinstance(data, str) and len(base64.b64encode(data.encode())) > NOVA_USER_DATA_BYTES:
            yield instance.urn, f"user data is {len(base64.b64encode(data.encode()))} bytes base64; Nova takes 65,535"
        if not instance.inputs.get("networks"):
            yield instance.urn, "an instance needs a network or a port"
    for volume in index.of_type("openstack:blockstorage/volume:Volume"):
        # Cinder: size is a positive number of GiB.
        size = _as_int(volume.inputs.get("size"))
        if size is None or size < 1:
            yield volume.urn, f"size {volume.inputs.get('size')!r} is not a positive number of GiB"


# OpenStack tags: no ',' or '/' in a tag (API-WG guideline "Tags", which Keystone's project schema
# and Nova's server tags enforce); Keystone takes 255 characters a tag and 80 tags a project
# (keystone resource schema), Neutron 255 characters (tagging extension `MAX_TAG_LEN`), Nova 60
# and 50 tags a server (compute API "Server Tags", microversion 2.26). storestack writes each fleet
# tag as one `key=value` tag.
_TAG_FORBIDDEN = (",", "/")
_TAG_LIMITS: dict[str, tuple[int, int | None]] = {
    "openstack:compute/instance:Instance": (60, 50),
    "openstack:identity/project:Project": (255, 80),
}
_TAG_DEFAULT_LIMITS: tuple[int, int | None] = (255, None)


def _openstack_tags(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    for resource in index.run.resources:
        if not resource.type.startswith("openstack:"):
            continue
        tags = _plain(resource.inputs.get("tags")) or []
        length, count = _TAG_LIMITS.get(resource.type, _TAG_DEFAULT_LIMITS)
        if count is not None and len(tags) > count:
            yield resource.urn, f"{len(tags)} tags; it takes {count}"
        for tag in tags:
            if any(c in str(tag) for c in _TAG_FORBIDDEN):
                yield resource.urn, f"tag {tag!r} holds ',' or '/', which OpenStack tags refuse"
            elif len(str(tag)) > length:
                yield resource.urn, f"tag {str(tag)[:40]!r}... is {len(str(tag))} characters; it takes {length}"


_T = {
    "cgw": "aws:ec2/customerGateway:CustomerGateway",
    "vpn": "aws:ec2/vpnConnection:VpnConnection",
    "flowlog": "aws:ec2/flowLog:FlowLog",
    "directory": "aws:directoryservice/directory:Directory",
    "wsdir": "aws:workspaces/directory:Directory",
    "workspace": "aws:workspaces/workspace:Workspace",
    "ipgroup": "aws:workspaces/ipGroup:IpGroup",
    "tgw": "aws:ec2transitgateway/transitGateway:TransitGateway",
    "tgw-assoc": "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation",
    "tgw-prop": "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation",
    "tgw-rt": "aws:ec2transitgateway/routeTable:RouteTable",
    "tgw-vpc": "aws:ec2transitgateway/vpcAttachment:VpcAttachment",
    "nacl": "aws:ec2/networkAcl:NetworkAcl",
    "sg": "aws:ec2/securityGroup:SecurityGroup",
    "default-sg": "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "vpc": "aws:ec2/vpc:Vpc",
    "subnet": "aws:ec2/subnet:Subnet",
    "route": "aws:ec2/route:Route",
    "rt": "aws:ec2/routeTable:RouteTable",
    "rt-assoc": "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "role": "aws:iam/role:Role",
    "role-policy": "aws:iam/rolePolicy:RolePolicy",
    "role-attach": "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "bucket": "aws:s3/bucket:Bucket",
    "bucket-sse": "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "bucket-pab": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "bucket-ver": "aws:s3/bucketVersioning:BucketVersioning",
    "bucket-policy": "aws:s3/bucketPolicy:BucketPolicy",
    "bucket-lifecycle": "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "loggroup": "aws:cloudwatch/logGroup:LogGroup",
    "os-route": "openstack:networking/routerRoute:RouterRoute",
    "os-router": "openstack:networking/router:Router",
    "os-if": "openstack:networking/routerInterface:RouterInterface",
    "os-subnet": "openstack:networking/subnet:Subnet",
    "os-network": "openstack:networking/network:Network",
    "os-port": "openstack:networking/port:Port",
    "os-fip": "openstack:networking/floatingIp:FloatingIp",
    "os-fip-assoc": "openstack:networking/floatingIpAssociate:FloatingIpAssociate",
    "os-sg": "openstack:networking/secGroup:SecGroup",
    "os-sg-rule": "openstack:networking/secGroupRule:SecGroupRule",
    "os-project": "openstack:identity/project:Project",
    "os-group": "openstack:identity/groupV3:GroupV3",
    "os-assign": "openstack:identity/roleAssignment:RoleAssignment",
    "os-server-group": "openstack:compute/serverGroup:ServerGroup",
    "os-instance": "openstack:compute/instance:Instance",
    "os-volume": "openstack:blockstorage/volume:Volume",
    "os-container": "openstack:objectstorage/container:Container",
    "os-object": "openstack:objectstorage/containerObject:ContainerObject",
    "os-appcred": "openstack:identity/applicationCredential:ApplicationCredential",
}


def _kinds(*keys: str) -> tuple[str, ...]:
    return tuple(_T[key] for key in keys)


RULES: tuple[ContractRule, ...] = (
    ContractRule(
        "customer-gateway-asn",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateCustomerGateway.html "
        "(Pulumi: https://www.pulumi.com/registry/packages/aws/api-docs/ec2/customergateway/)",
        _customer_gateway_asn,
        _kinds("cgw"),
    ),
    ContractRule(
        "transit-gateway-flow-log", "https://docs.aws.amazon.com/vpc/latest/tgw/flow-logs-api-cli.html", _transit_gateway_flow_log, _kinds("flowlog")
    ),
    ContractRule(
        "directory-subnets",
        "https://docs.aws.amazon.com/directoryservice/latest/devguide/API_DirectoryVpcSettings.html",
        _directory_subnets,
        _kinds("directory", "subnet"),
    ),
    ContractRule(
        "ad-connector-management-range",
        "https://docs.aws.amazon.com/directoryservice/latest/admin-guide/ad_connector_getting_started.html#prereq_connector",
        _ad_connector_management,
        _kinds("directory", "vpc"),
    ),
    ContractRule(
        "workspaces-default-role",
        "https://docs.aws.amazon.com/workspaces/latest/api/API_RegisterWorkspaceDirectory.html "
        "(Pulumi: https://www.pulumi.com/registry/packages/aws/api-docs/workspaces/directory/)",
        _workspaces_default_role,
        _kinds("wsdir", "role", "role-attach"),
    ),
    ContractRule(
        "workspaces-zone-ids", "https://docs.aws.amazon.com/workspaces/latest/adminguide/azs-workspaces.html", _workspaces_zone_ids, _kinds("wsdir")
    ),
    ContractRule(
        "workspaces-bundle",
        "https://www.pulumi.com/registry/packages/aws/api-docs/workspaces/getbundle/",
        _workspaces_bundle,
        _kinds("workspace"),
    ),
    ContractRule(
        "workspaces-user", "https://docs.aws.amazon.com/workspaces/latest/api/API_WorkspaceRequest.html", _workspaces_user, _kinds("workspace")
    ),
    ContractRule(
        "workspaces-ip-group",
        "https://docs.aws.amazon.com/workspaces/latest/adminguide/amazon-workspaces-ip-access-control-groups.html",
        _workspaces_ip_group,
        _kinds("ipgroup"),
    ),
    ContractRule(
        "transit-gateway-association",
        "https://docs.aws.amazon.com/vpc/latest/tgw/tgw-route-tables.html",
        _route_table_association,
        _kinds("tgw-assoc", "tgw-rt"),
    ),
    ContractRule(
        "transit-gateway-propagation",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableTransitGatewayRouteTablePropagation.html",
        _propagations,
        _kinds("tgw-prop"),
    ),
    ContractRule(
        "transit-gateway-asn",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TransitGatewayRequestOptions.html",
        _transit_gateway_asn,
        _kinds("tgw"),
    ),
    ContractRule(
        "vpc-attachment-zones",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTransitGatewayVpcAttachment.html",
        _vpc_attachment_zones,
        _kinds("tgw-vpc"),
    ),
    ContractRule(
        "default-security-group",
        "https://www.pulumi.com/registry/packages/aws/api-docs/ec2/defaultsecuritygroup/",
        _default_security_groups,
        _kinds("default-sg", "vpc"),
    ),
    ContractRule("vpc-cidr-blocks", "https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html", _vpc_cidrs, _kinds("vpc", "subnet")),
    ContractRule(
        "vpc-routes",
        "https://docs.aws.amazon.com/vpc/latest/tgw/tgw-vpc-attachments.html (routes) and https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html",
        _vpc_routes,
        _kinds("route", "rt", "rt-assoc"),
    ),
    ContractRule(
        "vpc-rule-quotas", "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html", _vpc_rule_quotas, _kinds("nacl", "sg")
    ),
    ContractRule(
        "network-acl-entries",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateNetworkAclEntry.html",
        _network_acl_entries,
        _kinds("nacl"),
    ),
    ContractRule(
        "route-based-selectors", "https://docs.aws.amazon.com/vpn/latest/s2svpn/CGRequirements.html", _route_based_selectors, _kinds("vpn")
    ),
    ContractRule(
        "vpn-tunnel-keys",
        "https://docs.aws.amazon.com/vpn/latest/s2svpn/VPNTunnels.html and https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpnTunnelOptionsSpecification.html",
        _vpn_tunnel_keys,
        _kinds("vpn"),
    ),
    ContractRule(
        "vpn-inside-cidr",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpnTunnelOptionsSpecification.html",
        _vpn_inside_cidrs,
        _kinds("vpn"),
    ),
    ContractRule("vpn-prefix-quota", "https://docs.aws.amazon.com/vpn/latest/s2svpn/vpn-limits.html", _vpn_prefix_quota, _kinds("vpn")),
    ContractRule(
        "iam-limits",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
        _iam_limits,
        _kinds("role", "role-policy", "role-attach"),
    ),
    ContractRule(
        "s3-buckets",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
        _s3_buckets,
        _kinds("bucket", "bucket-sse", "bucket-pab", "bucket-ver", "bucket-policy", "bucket-lifecycle"),
    ),
    ContractRule(
        "s3-bucket-lifecycle",
        "https://www.pulumi.com/registry/packages/aws/api-docs/s3/bucketlifecycleconfiguration/",
        _bucket_lifecycle,
        _kinds("bucket-lifecycle"),
    ),
    ContractRule(
        "log-group-retention",
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html",
        _log_groups,
        _kinds("loggroup"),
    ),
    ContractRule(
        "floating-ip-router-interface",
        "https://docs.openstack.org/api-ref/network/v2/index.html#floating-ips-floatingips "
        "(Pulumi: https://www.pulumi.com/registry/packages/openstack/api-docs/networking/floatingipassociate/)",
        _floating_ip_router_interface,
        _kinds("os-fip-assoc", "os-fip", "os-port", "os-if", "os-router"),
    ),
    ContractRule(
        "router-route-next-hop",
        "https://docs.openstack.org/api-ref/network/v2/index.html#add-extra-routes-to-router",
        _router_routes,
        _kinds("os-route", "os-if", "os-subnet"),
    ),
    ContractRule(
        "ports-and-subnets",
        "https://docs.openstack.org/api-ref/network/v2/index.html#ports and https://docs.openstack.org/api-ref/network/v2/index.html#subnets",
        _ports_and_subnets,
        _kinds("os-port", "os-subnet", "os-network"),
    ),
    ContractRule(
        "security-group-rules",
        "https://docs.openstack.org/api-ref/network/v2/index.html#security-group-rules-security-group-rules",
        _security_group_rules,
        _kinds("os-sg-rule", "os-sg"),
    ),
    ContractRule(
        "openstack-identity",
        "https://docs.openstack.org/api-ref/identity/v3/index.html#projects and https://docs.openstack.org/api-ref/identity/v3/index.html#roles",
        _openstack_identity,
        _kinds("os-project", "os-group", "os-assign"),
    ),
    ContractRule(
        "openstack-tags",
        "https://specs.openstack.org/openstack/api-wg/guidelines/tags.html, "
        "https://docs.openstack.org/api-ref/compute/index.html#server-tags-servers-server-id-tags and "
        "https://docs.openstack.org/api-ref/identity/v3/index.html#projects",
        _openstack_tags,
        _kinds("os-project", "os-network", "os-subnet", "os-router", "os-sg", "os-port", "os-fip", "os-instance"),
    ),
    ContractRule(
        "swift-objects",
        "https://docs.openstack.org/api-ref/object-store/index.html#create-container and "
        "https://docs.openstack.org/api-ref/object-store/index.html#create-or-replace-object",
        _swift_objects,
        _kinds("os-container", "os-object"),
    ),
    ContractRule(
        "application-credentials",
        "https://docs.openstack.org/api-ref/identity/v3/index.html#create-application-credential",
        _application_credentials,
        _kinds("os-appcred"),
    ),
    ContractRule(
        "compute-instances",
        "https://docs.openstack.org/api-ref/compute/index.html#create-server and https://docs.openstack.org/api-ref/compute/index.html#create-server-group",
        _compute,
        _kinds("os-instance", "os-server-group", "os-volume"),
    ),
)


def check_contract(run: MockRun, context: ContractContext | None = None) -> Iterator[tuple[str, str | None, str]]:
    """Every violation as (rule name, URN, message with the rule's reference)."""
    index = PlanIndex(run)
    context = context or ContractContext()
    for rule in RULES:
        for urn, message in rule.check(index, context):
            yield rule.name, urn, f"{rule.name}: {message} (see {rule.reference})"


__all__ = ["NOT_CLOUD_RESOURCES", "RULES", "ContractContext", "ContractRule", "check_contract"]
