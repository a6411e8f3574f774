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

import ipaddress
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from storestack.components.cloud_args import WORKSPACES_ZONE_IDS
from storestack.stacks.mocks import MockRun, RecordedResource, unwrap_secrets

WORKSPACES_ROLE = "workspaces_DefaultRole"
# Prefixes one customer gateway may announce over one Site-to-Site VPN; past it AWS resets BGP.
VPN_PREFIX_QUOTA = 100
NACL_RULES_QUOTA = 20
SECURITY_GROUP_RULES_QUOTA = 60
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


def _plain(value: Any) -> Any:
    return unwrap_secrets(value)


def _as_int(value: Any) -> int | None:
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
    # A transit gateway attachment is associated with exactly one route table.
    counts = Counter(
        str(a.inputs.get("transitGatewayAttachmentId"))
        for a in index.of_type("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation")
    )
    for association in index.of_type("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation"):
        if counts[str(association.inputs.get("transitGatewayAttachmentId"))] > 1:
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


def _vpnaas_router_interfaces(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Neutron refuses a site connection whose local subnets are not yet attached to the VPN
    # service's router, so each connection must wait for those router interfaces.
    for connection in index.of_type("openstack:vpnaas/siteConnection:SiteConnection"):
        local = index.by_id.get(str(connection.inputs.get("localEpGroupId")))
        if local is not None:
            yield from _waits_for_router_interfaces(index, connection, local.inputs.get("endpoints") or [], "local subnet")


def _floating_ip_router_interface(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Neutron binds a floating IP to a port only if the port's subnet is attached to a router with
    # a gateway on the external network ("External network ... is not reachable from subnet ...").
    for binding in index.of_type("openstack:networking/floatingIpAssociate:FloatingIpAssociate"):
        port = index.by_id.get(str(binding.inputs.get("portId")))
        if port is not None:
            subnets = [fixed.get("subnetId") for fixed in port.inputs.get("fixedIps") or []]
            yield from _waits_for_router_interfaces(index, binding, subnets, "port subnet")


def _aws_tunnel_security_associations(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # "Each tunnel is limited to one unique SA pair" (AWS customer gateway requirements). A
    # policy-based VPNaaS connection negotiates one SA pair per (local subnet, peer CIDR).
    aws_addresses = {
        str(vpn.outputs.get(f"tunnel{n}Address"))
        for vpn in index.of_type("aws:ec2/vpnConnection:VpnConnection")
        for n in (1, 2)
    }
    for connection in index.of_type("openstack:vpnaas/siteConnection:SiteConnection"):
        if str(connection.inputs.get("peerAddress")) not in aws_addresses:
            continue
        local = index.by_id.get(str(connection.inputs.get("localEpGroupId")))
        peer = index.by_id.get(str(connection.inputs.get("peerEpGroupId")))
        pairs = len((local.inputs.get("endpoints") if local else None) or [1]) * len(
            (peer.inputs.get("endpoints") if peer else None) or [1]
        )
        if pairs > 1:
            yield connection.urn, f"negotiates {pairs} SA pairs on one AWS tunnel, which accepts one"


def _duplicate_policies(index: PlanIndex, context: ContractContext) -> Iterator[Violation]:
    # Two policy-based connections of one VPN service with the same local and peer selectors
    # install the same IPsec policy twice: one replaces the other instead of standing by.
    seen: dict[tuple[str, frozenset[str], frozenset[str]], str] = {}
    for connection in index.of_type("openstack:vpnaas/siteConnection:SiteConnection"):
        local = index.by_id.get(str(connection.inputs.get("localEpGroupId")))
        peer = index.by_id.get(str(connection.inputs.get("peerEpGroupId")))
        if local is None or peer is None:
            continue
        key = (
            str(connection.inputs.get("vpnserviceId")),
            frozenset(map(str, local.inputs.get("endpoints") or [])),
            frozenset(map(str, peer.inputs.get("endpoints") or [])),
        )
        if key in seen:
            yield connection.urn, f"has the same selectors as {seen[key]}: the two policies conflict"
        else:
            seen[key] = connection.name


RULES: tuple[ContractRule, ...] = (
    ContractRule(
        "customer-gateway-asn",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateCustomerGateway.html "
        "(Pulumi: https://www.pulumi.com/registry/packages/aws/api-docs/ec2/customergateway/)",
        _customer_gateway_asn,
    ),
    ContractRule(
        "transit-gateway-flow-log",
        "https://docs.aws.amazon.com/vpc/latest/tgw/flow-logs-api-cli.html",
        _transit_gateway_flow_log,
    ),
    ContractRule(
        "directory-subnets",
        "https://docs.aws.amazon.com/directoryservice/latest/devguide/API_DirectoryVpcSettings.html",
        _directory_subnets,
    ),
    ContractRule(
        "workspaces-default-role",
        "https://docs.aws.amazon.com/workspaces/latest/api/API_RegisterWorkspaceDirectory.html "
        "(Pulumi: https://www.pulumi.com/registry/packages/aws/api-docs/workspaces/directory/)",
        _workspaces_default_role,
    ),
    ContractRule(
        "workspaces-zone-ids",
        "https://docs.aws.amazon.com/workspaces/latest/adminguide/azs-workspaces.html",
        _workspaces_zone_ids,
    ),
    ContractRule(
        "workspaces-bundle",
        "https://www.pulumi.com/registry/packages/aws/api-docs/workspaces/getbundle/",
        _workspaces_bundle,
    ),
    ContractRule(
        "workspaces-user",
        "https://docs.aws.amazon.com/workspaces/latest/api/API_WorkspaceRequest.html",
        _workspaces_user,
    ),
    ContractRule(
        "workspaces-ip-group",
        "https://docs.aws.amazon.com/workspaces/latest/adminguide/amazon-workspaces-ip-access-control-groups.html",
        _workspaces_ip_group,
    ),
    ContractRule(
        "transit-gateway-association",
        "https://docs.aws.amazon.com/vpc/latest/tgw/tgw-route-tables.html",
        _route_table_association,
    ),
    ContractRule(
        "vpc-rule-quotas",
        "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html",
        _vpc_rule_quotas,
    ),
    ContractRule(
        "route-based-selectors",
        "https://docs.aws.amazon.com/vpn/latest/s2svpn/CGRequirements.html",
        _route_based_selectors,
    ),
    ContractRule(
        "vpn-tunnel-keys",
        "https://docs.aws.amazon.com/vpn/latest/s2svpn/VPNTunnels.html",
        _vpn_tunnel_keys,
    ),
    ContractRule(
        "vpn-prefix-quota",
        "https://docs.aws.amazon.com/vpn/latest/s2svpn/vpn-limits.html",
        _vpn_prefix_quota,
    ),
    ContractRule(
        "vpnaas-router-interface",
        "https://docs.openstack.org/api-ref/network/v2/index.html#vpnaas-2-0-vpn-vpnservices-ikepolicies-ipsecpolicies-endpoint-groups-ipsec-site-connections "
        "(Pulumi: https://www.pulumi.com/registry/packages/openstack/api-docs/vpnaas/siteconnection/)",
        _vpnaas_router_interfaces,
    ),
    ContractRule(
        "floating-ip-router-interface",
        "https://docs.openstack.org/api-ref/network/v2/index.html#floating-ips-floatingips "
        "(Pulumi: https://www.pulumi.com/registry/packages/openstack/api-docs/networking/floatingipassociate/)",
        _floating_ip_router_interface,
    ),
    ContractRule(
        "aws-tunnel-security-associations",
        "https://docs.aws.amazon.com/vpn/latest/s2svpn/CGRequirements.html",
        _aws_tunnel_security_associations,
    ),
    ContractRule(
        "vpnaas-duplicate-policy",
        "https://docs.openstack.org/neutron/latest/admin/vpnaas-scenario.html",
        _duplicate_policies,
    ),
)


def check_contract(run: MockRun, context: ContractContext | None = None) -> Iterator[tuple[str, str | None, str]]:
    """Every violation as (rule name, URN, message with the rule's reference)."""
    index = PlanIndex(run)
    context = context or ContractContext()
    for rule in RULES:
        for urn, message in rule.check(index, context):
            yield rule.name, urn, f"{rule.name}: {message} (see {rule.reference})"


__all__ = ["RULES", "ContractContext", "ContractRule", "check_contract"]
