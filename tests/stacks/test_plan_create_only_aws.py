"""`plan` marks a change of an AWS network input the provider cannot update as a replacement."""

from __future__ import annotations

from typing import Any

import pytest

from storestack.stacks.plan import PlannedResource, StackPlan, diff_plans

VPC = "aws:ec2/vpc:Vpc"
URN = f"urn:pulumi:core::storestack-core::storestack:cloud:AwsRegion${VPC}::eu-west-1-desktops"


def _plan(resource_type: str, inputs: dict[str, Any]) -> StackPlan:
    resource = PlannedResource(urn=URN, type=resource_type, name="r", parent=None, custom=True, inputs=inputs)
    return StackPlan(stack="core", kind="core", project="p", resources=[resource], outputs={}, secret_outputs=[], findings=[])


def test_a_vpc_given_another_cidr_plans_as_replaced() -> None:
    before = _plan(VPC, {"cidrBlock": "10.64.0.0/20", "enableDnsHostnames": True, "region": "eu-west-1"})
    after = _plan(VPC, {"cidrBlock": "10.64.16.0/20", "enableDnsHostnames": True, "region": "eu-west-1"})
    (change,) = diff_plans("core", before, after).changes
    assert (change.action, change.keys) == ("replace", ["cidrBlock"])


def test_a_vpc_whose_dns_setting_changes_is_updated_in_place() -> None:
    before = _plan(VPC, {"cidrBlock": "10.64.0.0/20", "enableDnsHostnames": True})
    after = _plan(VPC, {"cidrBlock": "10.64.0.0/20", "enableDnsHostnames": False})
    (change,) = diff_plans("core", before, after).changes
    assert (change.action, change.keys) == ("change", ["enableDnsHostnames"])


@pytest.mark.parametrize(
    ("resource_type", "key", "old", "new", "action"),
    [
        ("aws:ec2/subnet:Subnet", "cidrBlock", "10.64.0.0/24", "10.64.1.0/24", "replace"),
        ("aws:ec2/customerGateway:CustomerGateway", "bgpAsnExtended", "4200000001", "4200000002", "replace"),
        ("aws:ec2/customerGateway:CustomerGateway", "type", "ipsec.1", "ipsec.2", "replace"),
        ("aws:ec2transitgateway/transitGateway:TransitGateway", "amazonSideAsn", "64512", "64514", "replace"),
        ("aws:ec2/vpnConnection:VpnConnection", "staticRoutesOnly", False, True, "replace"),
        (
            "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation",
            "transitGatewayRouteTableId",
            "tgw-rtb-stores",
            "tgw-rtb-workloads",
            "replace",
        ),
        (
            "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation",
            "transitGatewayAttachmentId",
            "tgw-attach-1",
            "tgw-attach-2",
            "replace",
        ),
        # Moved with ModifyVpnConnection, not replaced.
        ("aws:ec2/vpnConnection:VpnConnection", "customerGatewayId", "cgw-1", "cgw-2", "change"),
        ("aws:ec2/vpnConnection:VpnConnection", "transitGatewayId", "tgw-1", "tgw-2", "change"),
    ],
)
def test_aws_network_inputs_replace_only_where_the_provider_forces_it(
    resource_type: str, key: str, old: Any, new: Any, action: str
) -> None:
    (change,) = diff_plans("core", _plan(resource_type, {key: old}), _plan(resource_type, {key: new})).changes
    assert (change.action, change.keys) == (action, [key])
