"""Traffic-level review of the AWS side: routes, Transit Gateway tables, security groups and NACLs.

The helpers below evaluate what the recorded resources would do to a packet, the way AWS does:
a VPC route table picks the longest matching route, a Transit Gateway table holds what was
propagated into it, a security group allows what one of its rules allows, and a NACL applies its
lowest-numbered matching rule.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
from component_harness import TEST_KEYS, Scenario, hybrid_cloud_args, run_scenario
from pydantic import ValidationError

from storestack.components import HybridCloud
from storestack.components.cloud_args import DesktopFlowArgs, StoreFlowArgs

POS = ipaddress.ip_address("10.64.4.10")  # a till in a store's POS segment (store supernet 10.64.0.0/12)
WORKLOAD = ipaddress.ip_address("10.32.1.20")
DESKTOP = ipaddress.ip_address("10.48.1.30")
HQ = ipaddress.ip_address("10.0.5.5")
ADMIN = ipaddress.ip_address("10.0.10.7")
DOMAIN_CONTROLLER = ipaddress.ip_address("10.0.1.53")
NTP_SERVER = ipaddress.ip_address("10.0.1.10")


@pytest.fixture(scope="module")
def cloud() -> Scenario:
    return run_scenario(lambda: {"regions": HybridCloud("acme", hybrid_cloud_args(), keys=TEST_KEYS).regions})


def _attachment_kinds(cloud: Scenario) -> dict[str, str]:
    kinds = {
        a.resource_id: a.name.removeprefix("eu-west-1-").removesuffix("-attachment")
        for a in cloud.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    }
    for vpn in cloud.of_type("aws:ec2/vpnConnection:VpnConnection"):
        kinds[vpn.outputs["transitGatewayAttachmentId"]] = "hub" if "-hub-" in vpn.name else "openstack"
    return kinds


def _tables(cloud: Scenario) -> dict[str, str]:
    return {t.resource_id: t.inputs["tags"]["storestack:route-table"] for t in cloud.of_type("aws:ec2transitgateway/routeTable:RouteTable")}


def test_transit_gateway_tables_learn_exactly_what_the_segmentation_allows(cloud: Scenario) -> None:
    kinds, tables = _attachment_kinds(cloud), _tables(cloud)
    learns: dict[str, set[str]] = {kind: set() for kind in tables.values()}
    for p in cloud.of_type("aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation"):
        learns[tables[p.inputs["transitGatewayRouteTableId"]]].add(kinds[p.inputs["transitGatewayAttachmentId"]])
    assert learns == {
        # Stores take only the cloud range from their AWS tunnels: desktops go through the hubs.
        "stores": {"workloads"},
        "workloads": {"desktops", "hub", "openstack"},
        "desktops": {"workloads", "hub", "openstack"},
        # HQ and OpenStack reach both VPCs (the workloads domain propagates into their table).
        "hq": {"workloads", "desktops"},
    }
    associated = {
        kinds[a.inputs["transitGatewayAttachmentId"]]: tables[a.inputs["transitGatewayRouteTableId"]]
        for a in cloud.of_type("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation")
    }
    assert associated == {"workloads": "workloads", "desktops": "desktops", "hub": "hq", "openstack": "hq"}


def _vpc_routes(cloud: Scenario, kind: str) -> dict[str, Any]:
    (table,) = [t for t in cloud.of_type("aws:ec2/routeTable:RouteTable") if t.name == f"eu-west-1-{kind}-routes"]
    return {r.inputs["destinationCidrBlock"]: r for r in cloud.of_type("aws:ec2/route:Route") if r.inputs["routeTableId"] == table.resource_id}


def test_every_vpc_subnet_routes_its_peers_to_the_transit_gateway(cloud: Scenario) -> None:
    (tgw,) = cloud.of_type("aws:ec2transitgateway/transitGateway:TransitGateway")
    tables = {t.resource_id: t.name for t in cloud.of_type("aws:ec2/routeTable:RouteTable")}
    subnets = cloud.of_type("aws:ec2/subnet:Subnet")
    associations = {a.inputs["subnetId"]: tables[a.inputs["routeTableId"]] for a in cloud.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")}
    assert set(associations) == {s.resource_id for s in subnets}
    workloads, desktops = _vpc_routes(cloud, "workloads"), _vpc_routes(cloud, "desktops")
    assert set(workloads) == {"10.64.0.0/12", "10.0.0.0/16", "10.48.0.0/20", "10.40.0.0/20", "10.56.0.0/20"}
    # Desktops route to stores so replies follow the path the store used, to workloads and HQ, and
    # to OpenStack workloads; OpenStack desktops are not a destination.
    assert set(desktops) == {"10.64.0.0/12", "10.0.0.0/16", "10.32.0.0/20", "10.40.0.0/20"}
    attachments = {a.urn for a in cloud.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")}
    for route in [*workloads.values(), *desktops.values()]:
        assert route.inputs["transitGatewayId"] == tgw.resource_id
        assert attachments & set(route.dependencies), "a route to a TGW needs the VPC's attachment first"


# --- security groups and NACLs ---------------------------------------------------------------------


def _in(address: ipaddress.IPv4Address | ipaddress.IPv6Address, cidrs: list[str]) -> bool:
    return any(address in ipaddress.ip_network(c) for c in cidrs)


def sg_allows(group: Any, direction: str, peer: Any, port: int) -> bool:
    for rule in group.inputs.get(direction) or []:
        ports_ok = rule["protocol"] == "-1" or (rule["protocol"] == "tcp" and rule["fromPort"] <= port <= rule["toPort"])
        if ports_ok and _in(peer, rule.get("cidrBlocks") or []):
            return True
    return False


def nacl_allows(acl: Any, direction: str, peer: Any, port: int) -> bool:
    for rule in sorted(acl.inputs.get(direction) or [], key=lambda r: r["ruleNo"]):
        ports_ok = rule["protocol"] == "-1" or rule["fromPort"] <= port <= rule["toPort"]
        if ports_ok and peer in ipaddress.ip_network(rule["cidrBlock"]):
            return rule["action"] == "allow"
    return False


def _named(cloud: Scenario, name: str) -> Any:
    return cloud.named(name)


def test_a_cashier_desktop_cannot_open_anything_towards_any_store_pos_network(cloud: Scenario) -> None:
    sg, acl = _named(cloud, "eu-west-1-desktops-sg"), _named(cloud, "eu-west-1-desktops-acl")
    for port in (443, 22, 3389, 8443, 5432):
        assert not sg_allows(sg, "egress", POS, port), port
        assert not nacl_allows(acl, "egress", POS, port), port
    assert not nacl_allows(acl, "ingress", POS, 3389), "stores cannot open RDP onto desktops"
    # What desktops may do: HTTPS to workloads and HQ, RDP in from the management range only.
    assert sg_allows(sg, "egress", WORKLOAD, 443) and nacl_allows(acl, "egress", WORKLOAD, 443)
    assert sg_allows(sg, "egress", HQ, 443)
    assert sg_allows(sg, "ingress", ADMIN, 3389) and nacl_allows(acl, "ingress", ADMIN, 3389)
    assert not sg_allows(sg, "ingress", HQ, 3389)


def test_a_desktop_cannot_open_anything_on_another_desktop(cloud: Scenario) -> None:
    # Every WorkSpace of the region shares the desktops group: a cashier's desktop at one store
    # reaching another store's desktop on RDP or SMB is no flow of the intent (OpenStack desktops
    # cannot either). Out of a desktop the VPC stays open, for a directory's controllers there.
    sg = _named(cloud, "eu-west-1-desktops-sg")
    other_desktop = ipaddress.ip_address("10.48.9.40")
    for port in (3389, 445, 135, 5985, 22):
        assert not sg_allows(sg, "ingress", other_desktop, port), port
    assert sg_opens(sg, ipaddress.ip_address("10.48.0.20"), "tcp", 389), "a Managed AD's DCs sit in the VPC"


def test_stores_reach_workloads_on_https_only_and_admin_ports_only_from_management(cloud: Scenario) -> None:
    sg, acl = _named(cloud, "eu-west-1-workloads-sg"), _named(cloud, "eu-west-1-workloads-acl")
    assert sg_allows(sg, "ingress", POS, 443) and nacl_allows(acl, "ingress", POS, 443)
    for port in (22, 3389, 5432):
        assert not sg_allows(sg, "ingress", POS, port)
        assert not nacl_allows(acl, "ingress", POS, port)
    assert sg_allows(sg, "ingress", ADMIN, 22) and nacl_allows(acl, "ingress", ADMIN, 22)
    assert sg_allows(sg, "ingress", DESKTOP, 443)
    # Workloads never open connections into store networks.
    assert not sg_allows(sg, "egress", POS, 443)


def test_the_flow_log_role_trusts_only_this_accounts_flow_logs(cloud: Scenario) -> None:
    (role,) = [r for r in cloud.of_type("aws:iam/role:Role") if r.name == "flow-logs"]
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "210987654321"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"].startswith("arn:aws:ec2:*:210987654321:")


def sg_opens(group: Any, peer: Any, protocol: str, port: int) -> bool:
    """A new connection out of the group's hosts (security groups are stateful: replies pass)."""
    return any(
        (rule["protocol"] == "-1" or (rule["protocol"] == protocol and rule["fromPort"] <= port <= rule["toPort"]))
        and _in(peer, rule.get("cidrBlocks") or [])
        for rule in group.inputs.get("egress") or []
    )


def test_desktops_reach_the_hq_domain_controllers_but_nothing_else_on_directory_ports(cloud: Scenario) -> None:
    sg, acl = _named(cloud, "eu-west-1-desktops-sg"), _named(cloud, "eu-west-1-desktops-acl")
    for protocol, port in (("tcp", 53), ("udp", 53), ("tcp", 88), ("udp", 88), ("tcp", 389), ("tcp", 445), ("udp", 123)):
        assert sg_opens(sg, DOMAIN_CONTROLLER, protocol, port) and nacl_allows(acl, "egress", DOMAIN_CONTROLLER, port), port
        assert not sg_opens(sg, WORKLOAD, protocol, port), "directory ports go to the domain controllers only"
        assert not sg_opens(sg, POS, protocol, port)
        # Any other HQ host gets HTTPS only: no SMB, LDAP, Kerberos or DNS to a file server.
        assert not sg_opens(sg, HQ, protocol, port), f"{protocol}/{port} to an HQ host that is no DC"
    assert sg_opens(sg, NTP_SERVER, "udp", 123) and not sg_opens(sg, NTP_SERVER, "tcp", 445)
    assert sg_opens(sg, HQ, "tcp", 443)


def test_each_desktop_egress_rule_is_declared_once(cloud: Scenario) -> None:
    """EC2 refuses a rule that repeats another: flows sharing a port range share one rule."""
    sg = _named(cloud, "eu-west-1-desktops-sg")
    seen = [(r["protocol"], r["fromPort"], r["toPort"], c) for r in sg.inputs["egress"] for c in r["cidrBlocks"]]
    assert len(seen) == len(set(seen))
    (ntp,) = [r for r in sg.inputs["egress"] if (r["protocol"], r["fromPort"]) == ("udp", 123)]
    assert ntp["cidrBlocks"] == ["10.0.1.10/32", "10.0.1.53/32", "10.0.2.53/32"]


def test_a_desktop_flow_into_the_stores_is_refused() -> None:
    flow = DesktopFlowArgs(protocol="tcp", from_port=443, to_port=443, destinations=["10.64.4.0/24"], why="to a till")
    with pytest.raises(ValidationError, match="inside the stores"):
        hybrid_cloud_args(desktop_flows=[flow])


def test_a_flows_reason_holds_only_what_an_ec2_rule_description_takes() -> None:
    # The reason becomes a security group rule's description, where EC2 refuses a quote
    # (IpRange Description: a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*).
    with pytest.raises(ValidationError):
        StoreFlowArgs(protocol="tcp", ports=[443], destinations=["10.32.0.0/20"], why="office's services")
    with pytest.raises(ValidationError):
        DesktopFlowArgs(protocol="tcp", from_port=443, to_port=443, destinations=["10.0.0.0/16"], why="HQ's web")
    assert StoreFlowArgs(protocol="tcp", ports=[443], destinations=["10.32.0.0/20"], why="office to services").why


DC_CORE_LAN = ipaddress.ip_network("10.0.0.0/28")
SERVER_IN_LAN = ipaddress.ip_address("10.0.0.5")  # a resolver written inside the DC core LAN


def _cut_cloud() -> Scenario:
    """HQ with its DC core LAN cut out as the network intent cuts it (`NetworkIntent.cloud_hq`),
    a resolver written inside the LAN kept as a host route."""
    args = hybrid_cloud_args(
        hq_infrastructure=[DC_CORE_LAN], hq_infrastructure_servers=[ipaddress.ip_network(f"{SERVER_IN_LAN}/32")]
    )
    return run_scenario(lambda: {"regions": HybridCloud("acme", args, keys=TEST_KEYS).regions})


def test_the_dc_core_lan_is_closed_to_the_cloud_but_a_server_written_inside_it_stays_reached() -> None:
    cloud = _cut_cloud()
    router = DC_CORE_LAN[1]
    workloads, workloads_acl = _named(cloud, "eu-west-1-workloads-sg"), _named(cloud, "eu-west-1-workloads-acl")
    desktops_acl = _named(cloud, "eu-west-1-desktops-acl")
    for direction in ("ingress", "egress"):
        assert not sg_allows(workloads, direction, router, 443), direction
        assert not nacl_allows(workloads_acl, direction, router, 443), direction
        assert not nacl_allows(desktops_acl, direction, router, 53 if direction == "egress" else 50000), direction
        assert sg_allows(workloads, direction, SERVER_IN_LAN, 443), direction
        assert sg_allows(workloads, direction, HQ, 443), direction
    assert nacl_allows(workloads_acl, "ingress", SERVER_IN_LAN, 443)
    assert nacl_allows(workloads_acl, "egress", SERVER_IN_LAN, 443)
    assert nacl_allows(desktops_acl, "egress", SERVER_IN_LAN, 53) and nacl_allows(desktops_acl, "ingress", SERVER_IN_LAN, 50000)
    assert nacl_allows(desktops_acl, "egress", HQ, 443) and nacl_allows(workloads_acl, "ingress", HQ, 443)
    https_from = {
        ipaddress.ip_network(r.inputs["remoteIpPrefix"])
        for r in cloud.of_type("openstack:networking/secGroupRule:SecGroupRule")
        if r.name.startswith("dc1-cloud-workloads-https-")
    }
    assert any(SERVER_IN_LAN in n for n in https_from) and any(HQ in n for n in https_from)
    assert not any(router in n for n in https_from), "OpenStack workloads take HTTPS from the DC core LAN"


def test_what_the_clouds_reach_at_hq_is_derived_from_hq_its_infrastructure_and_the_servers_inside() -> None:
    """One source of truth: the args carry HQ (the hubs' prefixes), its infrastructure and the
    servers written inside it, and derive the cut; no second copy of HQ's ranges to disagree."""
    args = hybrid_cloud_args(hq_infrastructure=[DC_CORE_LAN], hq_infrastructure_servers=["10.0.0.5/32"])
    hq = ipaddress.ip_network("10.0.0.0/16")
    assert args.hq_cut == list(ipaddress.collapse_addresses([*hq.address_exclude(DC_CORE_LAN), ipaddress.ip_network("10.0.0.5/32")]))
    assert args.hq_exceptions == [ipaddress.ip_network("10.0.0.5/32")]
    with pytest.raises(ValidationError, match="hq_reached"):
        hybrid_cloud_args(hq_infrastructure=[DC_CORE_LAN], hq_reached=["10.0.0.0/16"])


def test_infrastructure_outside_hq_or_a_server_outside_the_infrastructure_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"10\.0\.1\.5/32 is not inside 10\.0\.0\.0/28"):
        hybrid_cloud_args(hq_infrastructure=[DC_CORE_LAN], hq_infrastructure_servers=["10.0.1.5/32"])
    with pytest.raises(ValidationError, match="not inside HQ"):
        hybrid_cloud_args(hq_infrastructure=["192.168.0.0/28"])
