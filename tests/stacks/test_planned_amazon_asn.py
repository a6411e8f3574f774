"""AWS's end of every planned VPN tunnel peers from its gateway's Amazon-side ASN, as AWS reports it
(the customer gateway configuration's `vpn_gateway/bgp/asn`, the provider's `tunnelN_bgp_asn`):
for a fleet whose `asn.aws` is a 4-byte private ASN, the plan, the network intent, the appliances'
rendered configs and the lab's AWS stand-in all name that ASN, never AWS's default 64512."""

from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws
import pytest
from stack_harness import copy_sample_chain

from storestack.inventory import Fleet, load_fleet
from storestack.lab.cloudvpn import bgp_config, plan_cloud
from storestack.network.build import NetworkIntent
from storestack.stacks.errors import StackReferenceError
from storestack.stacks.mocks import RecordedResource, StorestackMocks, run_program_under_mocks, unwrap_secrets
from storestack.stacks.plan import make_tasks, plan_renderer, stack_run
from storestack.stacks.render import plan_stacks

VPN = "aws:ec2/vpnConnection:VpnConnection"
# A 4-byte private ASN AWS takes for a Transit Gateway (4200000000-4294967294), outside the sample
# chain's store range.
AWS_ASN = 4_294_967_000
STORE = "nw-0001"  # an FRR store attached to eu-west-1


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    fleet_dir = copy_sample_chain(tmp_path_factory.mktemp("four-byte"))
    fleet_file = fleet_dir / "fleet.yaml"
    text = fleet_file.read_text()
    assert "  aws: 64512\n" in text
    fleet_file.write_text(text.replace("  aws: 64512\n", f"  aws: {AWS_ASN}\n"))
    return load_fleet(fleet_dir)


def _tunnel_asns(resources: list[RecordedResource]) -> dict[str, str]:
    """AWS's end of both tunnels of every VPN connection, as the provider reads it back."""
    return {
        f"{vpn.name}/{n}": str(vpn.outputs[f"tunnel{n}BgpAsn"])
        for vpn in resources
        if vpn.type == VPN
        for n in (1, 2)
    }


def test_a_store_plan_reports_the_transit_gateways_asn_that_its_config_and_the_stand_in_peer_with(
    fleet: Fleet,
) -> None:
    assert fleet.spec.asn.aws == AWS_ASN
    _, configs = plan_stacks(fleet)
    (task,) = [t for t in make_tasks(configs) if t.stack == f"store-{STORE}"]
    run = stack_run(task, plan_renderer(fleet))
    # The plan: AWS's end of both tunnels of every VPN connection.
    planned = _tunnel_asns(run.resources)
    assert planned and set(planned.values()) == {str(AWS_ASN)}, planned
    # The store stack's own view of its BGP peers.
    edges = run.outputs["edges"].value
    aws_peers = [p for edge in edges.values() for p in edge["bgp_peers"] if p["kind"] == "aws"]
    assert aws_peers and {int(p["remote_asn"]) for p in aws_peers} == {AWS_ASN}
    # The intent, and the appliance's rendered config: each AWS neighbour is AS asn.aws.
    intent = NetworkIntent(fleet)
    tunnels = [t for t in intent.store(STORE).tunnels if t.kind == "store-aws"]
    assert tunnels and {t.peer_asn for t in tunnels} == {AWS_ASN}
    (config,) = unwrap_secrets(run.outputs["intended_configs"].value).values()
    for tunnel in tunnels:
        assert f"neighbor {tunnel.peer_inside} remote-as {AWS_ASN}\n" in config
    # The lab's AWS stand-in, configured from the same plan, is the AS the store peers with.
    cloud = plan_cloud(fleet, [STORE])
    assert {t.amazon_asn for t in cloud.tunnels} == {AWS_ASN}
    assert f"router bgp {AWS_ASN}" in bgp_config(cloud.tunnels, [])


def test_the_openstack_gateway_peers_with_the_transit_gateways_asn(fleet: Fleet) -> None:
    """The core plan's OpenStack VPN gateway's peer config is made from its AWS VPN's tunnel values."""
    _, configs = plan_stacks(fleet)
    (task,) = [t for t in make_tasks(configs) if t.kind == "core"]
    run = stack_run(task)
    (peers,) = [r for r in run.resources if r.type == "openstack:objectstorage/containerObject:ContainerObject"]
    user_data = str(unwrap_secrets(peers.inputs["content"]))
    vpns = [r for r in run.resources if r.type == VPN and "openstack" in r.name]
    assert vpns
    for vpn in vpns:
        for n in (1, 2):
            assert vpn.outputs[f"tunnel{n}BgpAsn"] == str(AWS_ASN)
            inside = vpn.outputs[f"tunnel{n}VgwInsideAddress"]
            assert f"neighbor {inside} remote-as {AWS_ASN}" in user_data
    assert not re.search(r"remote-as 64512\b", user_data)


def test_a_gateway_created_without_an_asn_reports_aws_default_and_an_unknown_gateway_is_refused() -> None:
    def program(asn: int | None, gateway: str | None) -> None:
        tgw = aws.ec2transitgateway.TransitGateway("tgw", amazon_side_asn=asn)
        cgw = aws.ec2.CustomerGateway("cgw", bgp_asn="65010", ip_address="192.0.2.10", type="ipsec.1")
        aws.ec2.VpnConnection(
            "vpn", customer_gateway_id=cgw.id, transit_gateway_id=gateway or tgw.id, type="ipsec.1"
        )
        pulumi.export("done", True)

    default = run_program_under_mocks(lambda: program(None, None), project="asn", stack="test")
    assert set(_tunnel_asns(default.resources).values()) == {"64512"}
    chosen = run_program_under_mocks(lambda: program(4_200_000_123, None), project="asn", stack="test")
    assert set(_tunnel_asns(chosen.resources).values()) == {"4200000123"}
    known = run_program_under_mocks(
        lambda: program(None, "tgw-elsewhere"),
        project="asn",
        stack="test",
        mocks=StorestackMocks(gateways={"tgw-elsewhere": 65001}),
    )
    assert set(_tunnel_asns(known.resources).values()) == {"65001"}
    with pytest.raises(StackReferenceError, match=r"gateway tgw-unknown .* Amazon-side ASN is unknown"):
        run_program_under_mocks(lambda: program(None, "tgw-unknown"), project="asn", stack="test")

