"""The core stack makes the network intent's segmentation true in the cloud, on the sample chain.

Expectations come from the intent (`NetworkIntent.store(...).flows`), not from a list here: for
every zone of a store and every probe (protocol, port) towards an AWS workload and desktop, the
cloud admits a new connection exactly when some store zone's flow allows it (the cloud sees the
store supernet, the store's zone firewall tells zones apart), and nothing in the cloud may open
a connection into any store zone, since the intent has no flow towards one.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED
from testsupport.stack_outputs import run_store_stack

from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent
from storestack.network.model import Flow
from storestack.stacks import core
from storestack.stacks.config import CONFIG_NAMESPACE, PROJECTS
from storestack.stacks.mapping import core_config
from storestack.stacks.mocks import MockRun, RecordedResource, StorestackMocks, run_program_under_mocks
from storestack.stacks.plan import planned_stack_secrets, planning_keys

Address = ipaddress.IPv4Address
# An ICMP probe's "port" is its ICMP type: 8, an echo request (its answer, type 0).
PROBES = (("tcp", 443), ("tcp", 3389), ("tcp", 5432), ("udp", 53), ("icmp", 8))
FRAGMENTATION_NEEDED = (3, 4)  # destination unreachable, fragmentation needed and DF set
TTL_EXCEEDED = (11, 0)  # time exceeded in transit
STORE_CLIENT_PORT = 50123  # an ephemeral source port of a store client
DESKTOP_CLIENT_PORT = 50124  # an ephemeral source port of a Windows desktop (49152-65535)


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return load_fleet(sample_chain_path())


@pytest.fixture(scope="module")
def run(fleet: Fleet) -> MockRun:
    config = core_config(fleet).model_dump(mode="json")
    return run_program_under_mocks(
        lambda: core.program(planning_keys(config)),
        project=PROJECTS["core"],
        stack="core",
        config={f"{CONFIG_NAMESPACE}:core": json.dumps(config), **planned_stack_secrets("core", config)},
        mocks=StorestackMocks(),
    )


def _one(run: MockRun, name: str) -> RecordedResource:
    (found,) = [r for r in run.resources if r.name == name]
    return found


def _matches(rule: dict[str, Any], protocol: str, port: int, code: int = 0) -> bool:
    """Whether a rule covers a packet; for ICMP `port` is the type and `code` the code (a NACL
    entry's icmpType/icmpCode, -1 or absent for all; a security group rule covers every type)."""
    if rule["protocol"] in ("-1", "all"):
        return True
    if rule["protocol"] != protocol:
        return False
    if protocol == "icmp":
        return rule.get("icmpType", -1) in (-1, port) and rule.get("icmpCode", -1) in (-1, code)
    return bool(rule["fromPort"] <= port <= rule["toPort"])


def sg_allows(group: RecordedResource, direction: str, peer: Address, protocol: str, port: int) -> bool:
    return any(
        _matches(rule, protocol, port) and any(peer in ipaddress.ip_network(c) for c in rule.get("cidrBlocks") or [])
        for rule in group.inputs.get(direction) or []
    )


def nacl_allows(acl: RecordedResource, direction: str, peer: Address, protocol: str, port: int, code: int = 0) -> bool:
    for rule in sorted(acl.inputs.get(direction) or [], key=lambda r: r["ruleNo"]):
        if _matches(rule, protocol, port, code) and peer in ipaddress.ip_network(rule["cidrBlock"]):
            return bool(rule["action"] == "allow")
    return False


def cloud_admits(run: MockRun, kind: str, source: Address, protocol: str, port: int) -> bool:
    """A new connection from a store host into the `kind` VPC, and its replies back."""
    region = "eu-west-1"
    sg, acl = _one(run, f"{region}-{kind}-sg"), _one(run, f"{region}-{kind}-acl")
    reply_port = 0 if protocol == "icmp" else STORE_CLIENT_PORT  # an echo reply, type 0
    return (
        sg_allows(sg, "ingress", source, protocol, port)
        and nacl_allows(acl, "ingress", source, protocol, port)
        and nacl_allows(acl, "egress", source, protocol, reply_port)
    )


def cloud_opens(run: MockRun, kind: str, target: Address, protocol: str, port: int) -> bool:
    """A new connection from a host of the `kind` VPC towards a store host."""
    sg, acl = _one(run, f"eu-west-1-{kind}-sg"), _one(run, f"eu-west-1-{kind}-acl")
    return sg_allows(sg, "egress", target, protocol, port) and nacl_allows(acl, "egress", target, protocol, port)


def intent_allows(flows: tuple[Flow, ...], zone: str, target: Address, protocol: str, port: int) -> bool:
    for flow in flows:
        service = flow.service
        if flow.source != zone or not any(target in prefix for prefix in service.prefixes):
            continue
        if service.protocol == "ip" or (service.protocol == protocol and (not service.ports or port in service.ports)):
            return True
    return False


def _targets(fleet: Fleet) -> dict[str, Address]:
    hybrid = core_config(fleet).hybrid_cloud
    (region,) = hybrid.aws_regions
    return {"workloads": region.workloads_cidr[20], "desktops": region.desktops_cidr[20]}


def test_stores_reach_the_cloud_exactly_as_the_intents_flows_say(fleet: Fleet, run: MockRun) -> None:
    intent = NetworkIntent(fleet)
    checked = 0
    for store in fleet:
        if store.state == "decommissioned":
            continue
        planned = intent.store(store.id)
        for kind, target in _targets(fleet).items():
            for protocol, port in PROBES:
                by_zone = {
                    zone.name: intent_allows(planned.flows, zone.name, target, protocol, port) for zone in planned.zones
                }
                for zone in planned.zones:
                    source = zone.prefixes[0][10]
                    admitted = cloud_admits(run, kind, source, protocol, port)
                    if by_zone[zone.name]:
                        assert admitted, f"{store.id} {zone.name} -> {kind} {protocol}/{port}: the intent allows it"
                    # The cloud sees only the store supernet: it admits nothing no zone may open.
                    assert admitted == any(by_zone.values()), f"{store.id} {zone.name} -> {kind} {protocol}/{port}"
                    checked += 1
    assert checked > 0
    # The sample chain's intent: office reaches the desktops through their HTTPS gateway, a till
    # does not, and no store zone gets RDP (that is for the management ranges only).
    nw1 = intent.store("nw-0001")
    desktop = _targets(fleet)["desktops"]
    assert intent_allows(nw1.flows, "office", desktop, "tcp", 443)
    assert not intent_allows(nw1.flows, "pos", desktop, "tcp", 443)
    assert not any(intent_allows(nw1.flows, zone.name, desktop, "tcp", 3389) for zone in nw1.zones)


# Source ports store clients pick (AWS VPC guide, "Ephemeral ports"): Windows through Server 2003
# (1025-5000), Linux (32768-61000), Windows Server 2008 and later (49152-65535).
CLIENT_PORTS = (1025, 5000, 32768, 49152, 65535)


@pytest.mark.parametrize("client_port", CLIENT_PORTS)
def test_an_office_pc_gets_its_replies_whatever_source_port_its_os_picked(
    fleet: Fleet, run: MockRun, client_port: int
) -> None:
    """The cloud's NACLs are stateless: the reply to an office PC's HTTPS request to a workload or
    a desktop's gateway leaves for the PC's own source port, which its OS chose."""
    office = next(z for z in NetworkIntent(fleet).store("nw-0001").zones if z.name == "office")
    client = office.prefixes[0][10]
    for kind in _targets(fleet):
        assert cloud_admits(run, kind, client, "tcp", 443), kind
        acl = _one(run, f"eu-west-1-{kind}-acl")
        assert nacl_allows(acl, "egress", client, "tcp", client_port), f"{kind} -> office PC port {client_port}"
    # Still nothing from a low port: a well-known service port is no client's source port.
    for kind in ("workloads", "desktops"):
        assert not nacl_allows(_one(run, f"eu-west-1-{kind}-acl"), "egress", client, "tcp", 445)


def test_nothing_in_the_cloud_opens_a_connection_into_a_store_zone(fleet: Fleet, run: MockRun) -> None:
    intent = NetworkIntent(fleet)
    for store_id in ("nw-0001", "nw-0003"):
        planned = intent.store(store_id)
        # The intent has no flow towards a store zone: every flow's source is a store zone, and
        # no service reaches into the store supernet.
        assert all(not any(p.overlaps(fleet.spec.ip_plan.stores) for p in f.service.prefixes) for f in planned.flows)
        for zone in planned.zones:
            target = zone.prefixes[0][10]
            for kind in ("workloads", "desktops"):
                for protocol, port in PROBES:
                    assert not cloud_opens(run, kind, target, protocol, port), (
                        f"{kind} -> {store_id} {zone.name} {protocol}/{port}"
                    )


def test_the_transit_gateway_carries_the_flows_both_ways_on_one_path(run: MockRun) -> None:
    """Stores learn the workloads VPC (what their AWS tunnels take), and each VPC routes the store
    supernet to the Transit Gateway: an office's connection and its replies take one path (the
    desktops through the hubs, see the test above)."""
    tables = {
        t.resource_id: t.inputs["tags"]["storestack:route-table"]
        for t in run.resources
        if t.type == "aws:ec2transitgateway/routeTable:RouteTable"
    }
    learned: dict[str, set[str]] = {}
    for p in run.resources:
        if p.type == "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation":
            learned.setdefault(tables[p.inputs["transitGatewayRouteTableId"]], set()).add(p.name)
    assert any("workloads-to-stores" in n for n in learned["stores"])
    assert not any("desktops-to-stores" in n for n in learned["stores"])
    for kind in ("workloads", "desktops"):
        routes = {
            r.inputs["destinationCidrBlock"]
            for r in run.resources
            if r.type == "aws:ec2/route:Route" and r.name.startswith(f"eu-west-1-{kind}-to-")
        }
        assert "10.64.0.0/12" in routes


@pytest.mark.parametrize("store_id", ["nw-0001", "nw-0003"])
def test_a_vpc_answers_a_store_on_the_path_the_store_sent_on(
    fleet: Fleet, run: MockRun, store_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store with AWS tunnels sends to a VPC over them only when their BGP sessions accept the
    VPC's range (the intent; the rendered AWS-ROUTES lists), else through a hub. The VPC answers
    through its own Transit Gateway table: over the store's VPN when the store's attachment
    propagates into it, else through the hubs' VPNs. Were the two to differ, the reply would come
    back on another tunnel than the request left on, and the store's firewall would drop it."""
    monkeypatch.setenv(*TEST_IPSEC_PSK_SEED)
    store_run = run_store_stack(fleet, store_id, preview=False)
    propagated = {
        p.inputs["transitGatewayRouteTableId"].rsplit("-", 1)[1]
        for p in store_run.resources
        if p.type == "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation"
    }
    assert propagated, f"{store_id} has AWS tunnels in the sample chain"
    direct = [p for s in NetworkIntent(fleet).store(store_id).sessions if s.kind == "store-aws" for p in s.accepts]
    # What the `stores` table learns is what AWS announces to the store's tunnels.
    tables = {
        t.resource_id: t.inputs["tags"]["storestack:route-table"]
        for t in run.resources
        if t.type == "aws:ec2transitgateway/routeTable:RouteTable"
    }
    taught = {
        p.name.removeprefix("eu-west-1-").split("-to-")[0]
        for p in run.resources
        if p.type == "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation"
        and tables[p.inputs["transitGatewayRouteTableId"]] == "stores"
    }
    for kind, target in _targets(fleet).items():
        sent_direct = any(target in prefix for prefix in direct)
        answered_direct = kind in propagated
        assert sent_direct == answered_direct, (
            f"{store_id} -> {kind}: sent {'over its AWS VPN' if sent_direct else 'through a hub'}, "
            f"answered {'over its AWS VPN' if answered_direct else 'through a hub'}"
        )
        assert (kind in taught) == sent_direct, f"the stores table announces {kind} iff the store takes it"


DESKTOP_PROBES = (("tcp", 443), ("tcp", 445), ("tcp", 389), ("tcp", 53), ("udp", 53), ("udp", 123), ("tcp", 3389), ("tcp", 22))


def desktop_intent_allows(intent: NetworkIntent, target: Address, protocol: str, port: int) -> bool:
    return any(
        flow.protocol == protocol
        and any(low <= port <= high for low, high in flow.ports)
        and any(target in destination for destination in flow.destinations)
        for flow in intent.desktop_flows
    )


def openstack_desktop_opens(run: MockRun, pool: str, target: Address, protocol: str, port: int) -> bool:
    """A new connection out of an OpenStack pool's desktop, as Neutron decides it: its group's
    egress rules, or anything while the group keeps the rules Neutron gives a new group."""
    group = _one(run, f"{pool}-sg")
    if not group.inputs.get("deleteDefaultRules"):
        return True
    return openstack_group_allows(run, group, "egress", target, protocol, port)


def openstack_group_allows(
    run: MockRun, group: RecordedResource, direction: str, peer: Address, protocol: str, port: int
) -> bool:
    """Whether one of `group`'s own rules admits the packet (Neutron groups allow, never deny)."""
    return any(
        rule.inputs["direction"] == direction
        and rule.inputs["securityGroupId"] == group.resource_id
        and rule.inputs.get("protocol") in (None, protocol)
        and (rule.inputs.get("portRangeMin") is None or rule.inputs["portRangeMin"] <= port <= rule.inputs["portRangeMax"])
        and peer in ipaddress.ip_network(rule.inputs.get("remoteIpPrefix") or "0.0.0.0/0")
        for rule in run.resources
        if rule.type == "openstack:networking/secGroupRule:SecGroupRule"
    )


def test_a_desktop_opens_the_same_connections_on_either_cloud_and_exactly_the_intents(fleet: Fleet, run: MockRun) -> None:
    """One design for every desktop (the intent's `desktop_flows`): the AWS desktops' security group
    and the OpenStack pool's group open the same connections, and no more than the intent says."""
    intent = NetworkIntent(fleet)
    hybrid = core_config(fleet).hybrid_cloud
    (region,) = hybrid.aws_regions
    (site,) = hybrid.openstack_sites
    (pool,) = [p.pool.name for p in core_config(fleet).desktop_pools if p.openstack_site is not None]
    management = fleet.spec.management
    till = next(z for z in intent.store("nw-0001").zones if z.name == "pos").prefixes[0][10]
    targets = {
        "domain controller": intent.directory_servers[0].network_address,
        "resolver": management.dns_forwarders[0],
        "ntp server": management.ntp_servers[0],
        "hq host": fleet.spec.ip_plan.hq[0][5 * 256 + 5],
        "hq payment": intent.services["payment"].prefixes[0][10],
        "dc core router": intent.hub("hq-hub1").dc.routers[0],
        "aws workload": region.workloads_cidr[20],
        "openstack workload": site.workloads_cidr[20],
        "till": till,
        "internet": Address("8.8.8.8"),
    }
    sg, acl = _one(run, "eu-west-1-desktops-sg"), _one(run, "eu-west-1-desktops-acl")
    for name, target in targets.items():
        for protocol, port in DESKTOP_PROBES:
            expected = desktop_intent_allows(intent, target, protocol, port)
            aws = sg_allows(sg, "egress", target, protocol, port)
            openstack = openstack_desktop_opens(run, pool, target, protocol, port)
            assert aws == openstack == expected, f"{name} {protocol}/{port}: intent {expected}, AWS {aws}, OpenStack {openstack}"
            if expected:
                assert nacl_allows(acl, "egress", target, protocol, port), f"the NACL drops {name} {protocol}/{port}"
                # The stateless NACL must also let the answer in: to an ephemeral port, or to UDP
                # 123 for Windows Time, which asks from port 123.
                reply_port = port if (protocol, port) == ("udp", 123) else DESKTOP_CLIENT_PORT
                assert nacl_allows(acl, "ingress", target, protocol, 0 if protocol == "icmp" else reply_port), (
                    f"the NACL drops the answer to {name} {protocol}/{port}"
                )
    # The design itself: directory, DNS and time at HQ's servers, HTTPS to HQ and the workloads;
    # nothing into a store, the cardholder data environment, the DC core LAN or the internet.
    assert desktop_intent_allows(intent, targets["domain controller"], "tcp", 445)
    assert desktop_intent_allows(intent, targets["resolver"], "udp", 53)
    assert desktop_intent_allows(intent, targets["ntp server"], "udp", 123)
    assert all(desktop_intent_allows(intent, targets[t], "tcp", 443) for t in ("hq host", "aws workload", "openstack workload"))
    for name in ("till", "hq payment", "dc core router", "internet"):
        assert not any(desktop_intent_allows(intent, targets[name], p, port) for p, port in DESKTOP_PROBES), name
    assert not desktop_intent_allows(intent, targets["hq host"], "tcp", 445)


def openstack_workloads_admit(run: MockRun, source: Address, protocol: str, port: int) -> bool:
    """A new connection from `source` into an OpenStack site's workloads, as its group decides."""
    (group,) = [r for r in run.resources if r.type == "openstack:networking/secGroup:SecGroup" and r.name.endswith("-workloads-sg")]
    return openstack_group_allows(run, group, "ingress", source, protocol, port)


def test_no_cloud_host_reaches_or_takes_anything_from_the_dc_core_lan(fleet: Fleet, run: MockRun) -> None:
    """Defence in depth behind the hubs (`CloudForwarding`): the clouds' own filters keep their
    hosts away from HQ's DC core LAN (the core routers' and the hubs' DC addresses) both ways,
    while the rest of HQ stays reached as before. (A DC core router's ICMP errors about a cloud
    host's own packets do get in: path MTU discovery, the test below.)"""
    intent = NetworkIntent(fleet)
    dc = intent.hub("hq-hub1").dc
    (lan,) = intent.dc_infrastructure
    core = {"dc core router": dc.routers[0], "hub dc address": dc.address.ip, "dc lan host": lan[lan.num_addresses - 2]}
    hq_host = fleet.spec.ip_plan.hq[0][5 * 256 + 5]
    assert not any(hq_host in net for net in intent.dc_infrastructure)
    for kind in ("workloads", "desktops"):
        sg, acl = _one(run, f"eu-west-1-{kind}-sg"), _one(run, f"eu-west-1-{kind}-acl")
        for name, address in core.items():
            for protocol, port in (*PROBES, ("tcp", 22), ("udp", 123), ("tcp", 50000)):
                for direction in ("ingress", "egress"):
                    assert not sg_allows(sg, direction, address, protocol, port), f"{kind} SG {direction} {name} {protocol}/{port}"
                    assert not nacl_allows(acl, direction, address, protocol, port), f"{kind} NACL {direction} {name} {protocol}/{port}"
            assert not openstack_workloads_admit(run, address, "tcp", 443), f"OpenStack workloads from {name}"
    workloads = _one(run, "eu-west-1-workloads-sg")
    assert sg_allows(workloads, "ingress", hq_host, "tcp", 443) and sg_allows(workloads, "egress", hq_host, "tcp", 443)
    assert nacl_allows(_one(run, "eu-west-1-workloads-acl"), "ingress", hq_host, "tcp", 443)
    assert openstack_workloads_admit(run, hq_host, "tcp", 443)


def test_an_ad_connector_in_the_desktops_subnets_gets_its_dcs_answers_on_any_port_from_1024(
    fleet: Fleet, run: MockRun
) -> None:
    """AWS documents no source port range for an AD Connector's DNS, Kerberos and LDAP queries
    (only TCP/UDP 53, 88, 389 to the DCs), and its own clients pick from 1024: the desktops NACL,
    where the connector's ENIs sit, lets the answers of the connector's DCs in from 1024 up, and
    no other HQ host's."""
    acl = _one(run, "eu-west-1-desktops-acl")
    (policy,) = [p for p in fleet.spec.desktop_policies if p.directory is not None and p.provider == "aws"]
    other = fleet.spec.ip_plan.hq[0][5 * 256 + 5]
    for dc in policy.directory.dns_ips:  # type: ignore[union-attr]
        for protocol in ("tcp", "udp"):
            for port in (1024, 20000, 40000):
                assert nacl_allows(acl, "ingress", Address(dc), protocol, port), f"{dc} {protocol} answer to {port}"
            assert not nacl_allows(acl, "ingress", Address(dc), protocol, 1023)
            assert not nacl_allows(acl, "ingress", other, protocol, 20000), "only the connector's DCs"


def test_path_mtu_discovery_and_traceroute_errors_reach_every_aws_host(fleet: Fleet, run: MockRun) -> None:
    """A router on the way from a cloud host to HQ or a store whose next link is narrower (a
    hub's store tunnel over LTE, an AWS tunnel's 1446 bytes, the DC core) drops a packet with DF
    set and sends "fragmentation needed" (type 3 code 4) from its own address: a hub's or the
    OpenStack gateway's AWS tunnel inside address, a store's tunnel address, a DC core router.
    Without it the host's path MTU discovery fails and its large non-TCP packets vanish (VPC
    guide, "Path MTU Discovery": a network ACL must admit type 3 code 4, and type 11 code 0 for
    traceroute, which the hubs pass towards the clouds). The security groups need no rule: they
    admit the ICMP errors about a host's own flows (EC2 guide, "Path MTU Discovery"). Nothing
    else of ICMP gets in from a store or the DC core LAN."""
    intent = NetworkIntent(fleet)
    dc = intent.hub("hq-hub1").dc
    till = next(z for z in intent.store("nw-0001").zones if z.name == "pos").prefixes[0][10]
    routers = {
        "hub AWS tunnel inside": Address("169.254.21.2"),
        "store": till,
        "dc core router": dc.routers[0],
        "hq host": fleet.spec.ip_plan.hq[0][5 * 256 + 5],
    }
    for kind in ("workloads", "desktops"):
        acl = _one(run, f"eu-west-1-{kind}-acl")
        for name, router in routers.items():
            for error in (FRAGMENTATION_NEEDED, TTL_EXCEEDED):
                assert nacl_allows(acl, "ingress", router, "icmp", *error), f"{kind}: ICMP {error} from {name}"
            # The ICMP admitted is the errors only: an echo request or a redirect from the DC core
            # LAN is not, nor from a store into the desktops (the intent's store flows open the
            # workloads to the office, ICMP included).
            if name == "dc core router" or (name, kind) == ("store", "desktops"):
                assert not nacl_allows(acl, "ingress", router, "icmp", 8), f"{kind}: echo request from {name}"
                assert not nacl_allows(acl, "ingress", router, "icmp", 5, 1), f"{kind}: redirect from {name}"
        errors = [r for r in acl.inputs["ingress"] if r["protocol"] == "icmp" and r.get("icmpType", -1) != -1]
        assert {(r["icmpType"], r["icmpCode"]) for r in errors} == {FRAGMENTATION_NEEDED, TTL_EXCEEDED}
