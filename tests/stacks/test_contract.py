"""The provider contract: each rule catches a resource that breaks it and passes one that keeps it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_openstack as openstack

from storestack.stacks.checks import CheckContext, run_checks
from storestack.stacks.contract import RULES, ContractContext, check_contract
from storestack.stacks.mocks import run_program_under_mocks

Program = Callable[[], None]


def _violations(program: Program, context: ContractContext | None = None) -> list[tuple[str, str | None, str]]:
    run = run_program_under_mocks(program, project="contract", stack="test")
    return list(check_contract(run, context))


def _rules(program: Program, context: ContractContext | None = None) -> set[str]:
    return {rule for rule, _, _ in _violations(program, context)}


# --- customer gateway ASN -----------------------------------------------------------------------


def _cgw(**asn: str) -> Program:
    def program() -> None:
        aws.ec2.CustomerGateway("cgw", ip_address="198.51.100.7", type="ipsec.1", region="eu-west-1", **asn)

    return program


def test_a_four_byte_asn_in_bgp_asn_is_refused() -> None:
    violations = _violations(_cgw(bgp_asn="4200000000"))
    assert [(rule, urn is not None and urn.endswith("::cgw")) for rule, urn, _ in violations] == [
        ("customer-gateway-asn", True)
    ]
    assert "bgp_asn_extended" in violations[0][2]
    assert _rules(_cgw(bgp_asn_extended="4200000000")) == set()
    assert _rules(_cgw(bgp_asn="65010")) == set()
    assert _rules(_cgw(bgp_asn_extended="65010")) == {"customer-gateway-asn"}
    assert _rules(_cgw()) == {"customer-gateway-asn"}


# --- transit gateway flow logs -----------------------------------------------------------------------


def _flow_log(**extra: object) -> Program:
    def program() -> None:
        aws.ec2.FlowLog(
            "tgw-log",
            transit_gateway_id="tgw-0123456789abcdef0",
            log_destination="arn:aws:logs:eu-west-1:123456789012:log-group:x",
            iam_role_arn="arn:aws:iam::123456789012:role/x",
            region="eu-west-1",
            **extra,
        )

    return program


def test_transit_gateway_flow_logs_refuse_traffic_type_and_long_intervals() -> None:
    assert _rules(_flow_log(traffic_type="ALL")) == {"transit-gateway-flow-log"}
    assert _rules(_flow_log(max_aggregation_interval=600)) == {"transit-gateway-flow-log"}
    assert _rules(_flow_log(max_aggregation_interval=60)) == set()


# --- directories and WorkSpaces --------------------------------------------------------------------


def _subnets(zone_ids: list[str | None], zone_names: list[str | None] | None = None) -> list[aws.ec2.Subnet]:
    names = zone_names or [None] * len(zone_ids)
    return [
        aws.ec2.Subnet(
            f"s{i}",
            vpc_id="vpc-1",
            cidr_block=f"10.48.{i}.0/24",
            availability_zone_id=zone_id,
            availability_zone=name,
            region="eu-west-1",
        )
        for i, (zone_id, name) in enumerate(zip(zone_ids, names, strict=True))
    ]


def _directory(subnets: list[aws.ec2.Subnet], kind: str = "MicrosoftAD") -> aws.directoryservice.Directory:
    return aws.directoryservice.Directory(
        "dir",
        name="desktops.example.com",
        password=pulumi.Output.secret("Sup3r-secret!"),
        type=kind,
        edition="Standard" if kind == "MicrosoftAD" else None,
        size="Small" if kind == "SimpleAD" else None,
        vpc_settings={"vpc_id": "vpc-1", "subnet_ids": [s.id for s in subnets]},
        region="eu-west-1",
    )


def test_a_directory_takes_exactly_two_subnets_in_different_zones() -> None:
    assert _rules(lambda: _directory(_subnets(["euw1-az1", "euw1-az2", "euw1-az3"]))) == {"directory-subnets"}
    assert _rules(lambda: _directory(_subnets(["euw1-az1", "euw1-az1"]))) == {"directory-subnets"}
    assert _rules(lambda: _directory(_subnets(["euw1-az1", "euw1-az2"]))) == set()


def _registration(zone_ids: list[str | None], *, role: bool, attach: bool = True, names: list[str | None] | None = None) -> Program:
    def program() -> None:
        subnets = _subnets(zone_ids, names)
        directory = _directory(subnets)
        depends: list[pulumi.Resource] = []
        if role:
            trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "workspaces.amazonaws.com"}}]}
            created = aws.iam.Role("ws-role", name="workspaces_DefaultRole", assume_role_policy=json.dumps(trust))
            if attach:
                depends.append(
                    aws.iam.RolePolicyAttachment(
                        "ws-role-access",
                        role=created.name,
                        policy_arn="arn:aws:iam::aws:policy/AmazonWorkSpacesServiceAccess",
                    )
                )
        aws.workspaces.Directory(
            "registration",
            directory_id=directory.id,
            subnet_ids=[s.id for s in subnets],
            region="eu-west-1",
            opts=pulumi.ResourceOptions(depends_on=depends),
        )

    return program


def test_registering_a_directory_needs_the_workspaces_default_role() -> None:
    assert _rules(_registration(["euw1-az1", "euw1-az2"], role=False)) == {"workspaces-default-role"}
    assert _rules(_registration(["euw1-az1", "euw1-az2"], role=True, attach=False)) == {"workspaces-default-role"}
    assert _rules(_registration(["euw1-az1", "euw1-az2"], role=True)) == set()
    existing = ContractContext(existing_roles=frozenset({"workspaces_DefaultRole"}))
    assert _rules(_registration(["euw1-az1", "euw1-az2"], role=False), existing) == set()


def test_workspaces_subnets_must_sit_in_supported_zone_ids() -> None:
    by_name = _registration([None, None], role=True, names=["eu-west-1a", "eu-west-1b"])
    assert "workspaces-zone-ids" in _rules(by_name)
    unsupported = _registration(["euw1-az1", "euw1-az4"], role=True)
    assert _rules(unsupported) == {"workspaces-zone-ids"}


def _workspace(bundle: dict[str, str], kind: str = "ADConnector") -> Program:
    def program() -> None:
        subnets = _subnets(["euw1-az1", "euw1-az2"])
        if kind == "ADConnector":
            directory = aws.directoryservice.Directory(
                "dir",
                name="corp.example.com",
                password=pulumi.Output.secret("Sup3r-secret!"),
                type="ADConnector",
                size="Small",
                connect_settings={
                    "customer_dns_ips": ["10.0.0.53", "10.0.1.53"],
                    "customer_username": "svc-workspaces",
                    "subnet_ids": [s.id for s in subnets],
                    "vpc_id": "vpc-1",
                },
                region="eu-west-1",
            )
        else:
            directory = _directory(subnets, kind)
        bundle_id = aws.workspaces.get_bundle_output(region="eu-west-1", **bundle).bundle_id
        aws.workspaces.Workspace(
            "desk",
            directory_id=directory.id,
            bundle_id=bundle_id,
            user_name="jane.doe",
            root_volume_encryption_enabled=True,
            user_volume_encryption_enabled=True,
            region="eu-west-1",
        )

    return program


def test_a_custom_bundle_must_exist_or_be_an_amazon_bundle() -> None:
    assert _rules(_workspace({"name": "acme-standard"})) == {"workspaces-bundle"}
    assert _rules(_workspace({"name": "acme-standard"}), ContractContext(existing_bundles=frozenset({"acme-standard"}))) == set()
    assert _rules(_workspace({"name": "Standard with Windows 10 (Server 2022 based)", "owner": "AMAZON"})) == set()


def test_a_workspace_needs_a_user_some_directory_already_holds() -> None:
    amazon = {"name": "Standard with Windows 10 (Server 2022 based)", "owner": "AMAZON"}
    assert _rules(_workspace(amazon, "SimpleAD")) == {"workspaces-user"}
    assert _rules(_workspace(amazon, "MicrosoftAD")) == {"workspaces-user"}
    assert _rules(_workspace(amazon, "ADConnector")) == set()


def test_ip_access_groups_list_public_ranges_only() -> None:
    def group(*sources: str) -> Program:
        return lambda: aws.workspaces.IpGroup(
            "ipg", name="g", rules=[{"source": s} for s in sources], region="eu-west-1"
        ) and None

    assert _rules(group("10.64.0.0/12")) == {"workspaces-ip-group"}
    assert _rules(group("203.0.113.0/24")) == set()


# --- transit gateway and VPN ------------------------------------------------------------------------


def test_an_attachment_is_associated_with_one_route_table() -> None:
    def program(tables: int) -> Program:
        def run() -> None:
            for n in range(tables):
                aws.ec2transitgateway.RouteTableAssociation(
                    f"assoc-{n}",
                    transit_gateway_attachment_id="tgw-attach-1",
                    transit_gateway_route_table_id=f"tgw-rtb-{n}",
                    region="eu-west-1",
                )

        return run

    assert _rules(program(2)) == {"transit-gateway-association"}
    assert _rules(program(1)) == set()


def test_network_acls_and_security_groups_stay_within_their_rule_quotas() -> None:
    def acl(rules: int) -> Program:
        def run() -> None:
            entries = [
                {"rule_no": 100 + n, "action": "allow", "protocol": "tcp", "from_port": 443, "to_port": 443,
                 "cidr_block": f"10.{n}.0.0/16"}
                for n in range(rules)
            ]
            aws.ec2.NetworkAcl("acl", vpc_id="vpc-1", ingress=entries, region="eu-west-1")

        return run

    def group(cidrs: int) -> Program:
        def run() -> None:
            sources = [f"10.{n // 256}.{n % 256}.0/24" for n in range(cidrs)]
            aws.ec2.SecurityGroup(
                "sg", vpc_id="vpc-1", ingress=[{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": sources}],
                region="eu-west-1",
            )

        return run

    assert _rules(acl(21)) == {"vpc-rule-quotas"} and _rules(acl(20)) == set()
    assert _rules(group(61)) == {"vpc-rule-quotas"} and _rules(group(60)) == set()


def _vpn(*, static: bool = False, selector: str | None = None, same_key: bool = False) -> Program:
    def program() -> None:
        keys = [pulumi.Output.secret("kOne.key_1"), pulumi.Output.secret("kOne.key_1" if same_key else "kTwo.key_2")]
        aws.ec2.VpnConnection(
            "vpn",
            customer_gateway_id="cgw-1",
            transit_gateway_id="tgw-1",
            type="ipsec.1",
            static_routes_only=static,
            local_ipv4_network_cidr=selector,
            tunnel1_preshared_key=keys[0],
            tunnel2_preshared_key=keys[1],
            region="eu-west-1",
        )

    return program


def test_a_bgp_vpn_keeps_zero_selectors_and_distinct_keys() -> None:
    assert _rules(_vpn(selector="10.64.0.0/23")) == {"route-based-selectors"}
    assert _rules(_vpn(static=True, selector="10.64.0.0/23")) == set()
    assert _rules(_vpn(selector="0.0.0.0/0")) == set()
    assert _rules(_vpn(same_key=True)) == {"vpn-tunnel-keys"}


class _Announcer(pulumi.ComponentResource):
    def __init__(self, prefixes: int) -> None:
        super().__init__("test:index:Store", "store")
        self.register_outputs(
            {"tunnels": [], "advertised_prefixes": [f"10.64.{n // 256}.{n % 256}/32" for n in range(prefixes)]}
        )


def test_a_store_announces_at_most_the_vpn_prefix_quota() -> None:
    def announce(prefixes: int) -> Program:
        def program() -> None:
            _Announcer(prefixes)

        return program

    assert _rules(announce(101)) == {"vpn-prefix-quota"}
    assert _rules(announce(100)) == set()


# --- OpenStack VPNaaS --------------------------------------------------------------------------------


def _vpnaas(*, wait: bool, local_subnets: int = 1, peer_cidrs: int = 1, peer: str = "aws", twice: bool = False) -> Program:
    def program() -> None:
        router = openstack.networking.Router("router")
        subnets, interfaces = [], []
        for n in range(local_subnets):
            subnet = openstack.networking.Subnet(f"subnet-{n}", network_id="net", cidr=f"10.40.{n}.0/24")
            subnets.append(subnet)
            interfaces.append(
                openstack.networking.RouterInterface(f"if-{n}", router_id=router.id, subnet_id=subnet.id)
            )
        service = openstack.vpnaas.Service("svc", router_id=router.id)
        local = openstack.vpnaas.EndpointGroup("local", type="subnet", endpoints=[s.id for s in subnets])
        remote = openstack.vpnaas.EndpointGroup(
            "peer", type="cidr", endpoints=[f"10.32.{n}.0/24" for n in range(peer_cidrs)]
        )
        address: pulumi.Input[str] = "198.51.100.20"
        if peer == "aws":
            address = aws.ec2.VpnConnection(
                "aws-vpn",
                customer_gateway_id="cgw-1",
                transit_gateway_id="tgw-1",
                type="ipsec.1",
                static_routes_only=True,
                tunnel1_preshared_key=pulumi.Output.secret("kA.1"),
                tunnel2_preshared_key=pulumi.Output.secret("kB.2"),
                region="eu-west-1",
            ).tunnel1_address
        for n in range(2 if twice else 1):
            openstack.vpnaas.SiteConnection(
                f"conn-{n}",
                vpnservice_id=service.id,
                ikepolicy_id="ike",
                ipsecpolicy_id="esp",
                local_ep_group_id=local.id,
                peer_ep_group_id=remote.id,
                peer_address=address,
                peer_id=address,
                psk=pulumi.Output.secret("kC.3"),
                opts=pulumi.ResourceOptions(depends_on=interfaces if wait else []),
            )

    return program


def test_a_site_connection_waits_for_the_router_interfaces_of_its_local_subnets() -> None:
    assert _rules(_vpnaas(wait=False)) == {"vpnaas-router-interface"}
    assert _rules(_vpnaas(wait=True)) == set()


def test_a_floating_ip_binding_waits_for_the_router_interface_of_its_port() -> None:
    def program(wait: bool) -> Program:
        def run() -> None:
            router = openstack.networking.Router("router")
            subnet = openstack.networking.Subnet("subnet", network_id="net", cidr="10.40.0.0/24")
            interface = openstack.networking.RouterInterface("if", router_id=router.id, subnet_id=subnet.id)
            port = openstack.networking.Port("port", network_id="net", fixed_ips=[{"subnet_id": subnet.id}])
            address = openstack.networking.FloatingIp("fip", pool="public")
            openstack.networking.FloatingIpAssociate(
                "bind",
                floating_ip=address.address,
                port_id=port.id,
                opts=pulumi.ResourceOptions(depends_on=[interface] if wait else []),
            )

        return run

    assert _rules(program(False)) == {"floating-ip-router-interface"}
    assert _rules(program(True)) == set()


def test_one_security_association_pair_per_aws_tunnel() -> None:
    assert _rules(_vpnaas(wait=True, local_subnets=2, peer_cidrs=2)) == {"aws-tunnel-security-associations"}
    assert _rules(_vpnaas(wait=True, local_subnets=2, peer_cidrs=2, peer="hub")) == set()


def test_two_policy_based_connections_with_one_selector_set_conflict() -> None:
    assert _rules(_vpnaas(wait=True, peer="hub", twice=True)) == {"vpnaas-duplicate-policy"}


# --- wiring into plan ---------------------------------------------------------------------------------


def test_every_rule_cites_its_page() -> None:
    assert len({rule.name for rule in RULES}) == len(RULES)
    for rule in RULES:
        assert "https://" in rule.reference, rule.name


def test_plan_reports_a_violation_as_an_error_with_the_urn_and_the_rule() -> None:
    run = run_program_under_mocks(_cgw(bgp_asn="4200000000"), project="contract", stack="test")
    findings = [f for f in run_checks(run, CheckContext(stack="test", required_tags=())) if f.check == "contract"]
    assert len(findings) == 1
    assert findings[0].severity == "error"
    assert findings[0].urn is not None and findings[0].urn.endswith("aws:ec2/customerGateway:CustomerGateway::cgw")
    assert findings[0].message.startswith("customer-gateway-asn: ")


def test_a_generated_fleet_plans_without_a_contract_violation(tmp_path: Path) -> None:
    from storestack.inventory import load_fleet
    from storestack.inventory.generate import generate_fleet, write_fleet
    from storestack.stacks.plan import make_tasks, plan_tasks
    from storestack.stacks.render import plan_stacks

    write_fleet(generate_fleet(40, 11), tmp_path / "fleet")
    _, configs = plan_stacks(load_fleet(tmp_path / "fleet"))
    plans = plan_tasks(make_tasks(configs), workers=1)
    contract = [f"{f.urn}: {f.message}" for plan in plans for f in plan.findings if f.check == "contract"]
    assert contract == []
    assert any(plan.kind == "store" and plan.counts.get("aws:ec2/vpnConnection:VpnConnection") for plan in plans)
