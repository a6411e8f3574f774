"""Building blocks shared by the components: a Transit Gateway VPN and security-group rules.

Every site-to-site VPN storestack builds (HQ hubs, OpenStack, stores) goes through
`transit_gateway_vpn`, so all of them use the same IKEv2 proposals and attach the same way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_openstack as openstack

from storestack.network.crypto import FLEET_CRYPTO, aws_tunnel_options

# CreateCustomerGateway: BgpAsn takes 1-2,147,483,647; larger (4-byte) ASNs go in BgpAsnExtended.
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateCustomerGateway.html
BGP_ASN_MAX = 2_147_483_647


@dataclass(frozen=True)
class CustomerGatewaySpec:
    """The far end of a VPN as AWS identifies it: a static address or a certificate, plus its ASN."""

    device_name: str
    bgp_asn: int
    ip_address: pulumi.Input[str] | None = None
    certificate_arn: str | None = None


@dataclass(frozen=True)
class TransitVpn:
    connection: aws.ec2.VpnConnection
    attachment_id: pulumi.Output[str]

    def tunnel(self, number: int) -> dict[str, pulumi.Output[Any]]:
        """Addresses of tunnel 1 or 2: the AWS outside address and both inside addresses."""
        vpn = self.connection
        if number == 1:
            return {
                "outside_address": vpn.tunnel1_address,
                "inside_cidr": vpn.tunnel1_inside_cidr,
                "local_inside_address": vpn.tunnel1_cgw_inside_address,
                "peer_inside_address": vpn.tunnel1_vgw_inside_address,
                "peer_asn": vpn.tunnel1_bgp_asn,
            }
        return {
            "outside_address": vpn.tunnel2_address,
            "inside_cidr": vpn.tunnel2_inside_cidr,
            "local_inside_address": vpn.tunnel2_cgw_inside_address,
            "peer_inside_address": vpn.tunnel2_vgw_inside_address,
            "peer_asn": vpn.tunnel2_bgp_asn,
        }


def transit_gateway_vpn(
    name: str,
    *,
    region: str,
    transit_gateway_id: pulumi.Input[str],
    gateway: CustomerGatewaySpec,
    psks: tuple[pulumi.Input[str], pulumi.Input[str]],
    associate_with: pulumi.Input[str],
    propagate_to: Mapping[str, pulumi.Input[str]],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    static_routes_only: bool = False,
    inside_cidrs: Sequence[ipaddress.IPv4Network] = (),
    depends_on: Sequence[pulumi.Resource] = (),
) -> TransitVpn:
    """A customer gateway, an IKEv2 VPN on the Transit Gateway, its association and propagations.

    The VPN is route-based: its traffic selectors stay 0.0.0.0/0 on both sides (the AWS default),
    so the BGP session between the 169.254 inside addresses and every learnt route fit inside.
    """
    four_byte = gateway.bgp_asn > BGP_ASN_MAX
    customer_gateway = aws.ec2.CustomerGateway(
        f"{name}-cgw",
        bgp_asn=None if four_byte else str(gateway.bgp_asn),
        bgp_asn_extended=str(gateway.bgp_asn) if four_byte else None,
        ip_address=gateway.ip_address,
        certificate_arn=gateway.certificate_arn,
        type="ipsec.1",
        device_name=gateway.device_name,
        region=region,
        tags=dict(tags),
        opts=opts,
    )
    options: dict[str, Any] = {}
    crypto = aws_tunnel_options(FLEET_CRYPTO)
    for number in (1, 2):
        options[f"tunnel{number}_preshared_key"] = psks[number - 1]
        options.update({f"tunnel{number}_{key}": value for key, value in crypto.items()})
        # AWS's end keeps the fleet's anti-replay window too (the hubs and stores queue ESP by
        # class, `CryptoPolicy.replay_window_packets`), stated rather than left to AWS's default,
        # so a change of the fleet's window reaches every end (VpnConnection
        # `tunnelN_replay_window_size`: 64-2048 packets).
        options[f"tunnel{number}_replay_window_size"] = FLEET_CRYPTO.replay_window_packets
        if inside_cidrs:
            options[f"tunnel{number}_inside_cidr"] = str(inside_cidrs[number - 1])
    connection = aws.ec2.VpnConnection(
        f"{name}-vpn",
        customer_gateway_id=customer_gateway.id,
        transit_gateway_id=transit_gateway_id,
        type="ipsec.1",
        static_routes_only=static_routes_only,
        **options,
        region=region,
        tags=dict(tags),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(depends_on))),
    )
    attachment = connection.transit_gateway_attachment_id
    associate(f"{name}-association", region, attachment, associate_with, opts)
    for kind, table_id in sorted(propagate_to.items()):
        propagate(f"{name}-to-{kind}-propagation", region, attachment, table_id, opts)
    return TransitVpn(connection=connection, attachment_id=attachment)


def associate(
    name: str,
    region: str,
    attachment_id: pulumi.Input[str],
    table_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.ec2transitgateway.RouteTableAssociation:
    """Route the attachment's traffic by `table_id` (an attachment has exactly one such table)."""
    return aws.ec2transitgateway.RouteTableAssociation(name, **_link(region, attachment_id, table_id), opts=opts)


def propagate(
    name: str,
    region: str,
    attachment_id: pulumi.Input[str],
    table_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> None:
    """Install the attachment's routes (VPC CIDRs or BGP-learnt prefixes) into `table_id`."""
    aws.ec2transitgateway.RouteTablePropagation(name, **_link(region, attachment_id, table_id), opts=opts)


def _link(region: str, attachment_id: pulumi.Input[str], table_id: pulumi.Input[str]) -> dict[str, Any]:
    return {
        "transit_gateway_attachment_id": attachment_id,
        "transit_gateway_route_table_id": table_id,
        "region": region,
    }


def network_slug(network: ipaddress.IPv4Network) -> str:
    """A network as a resource-name fragment: 10.0.0.0/16 -> 10-0-0-0-16."""
    return str(network).replace(".", "-").replace("/", "-")


def tcp_ingress_rules(
    name: str,
    *,
    security_group_id: pulumi.Input[str],
    rules: Sequence[tuple[str, int, ipaddress.IPv4Network]],
    opts: pulumi.ResourceOptions,
    tenant_id: pulumi.Input[str] | None = None,
) -> None:
    """One OpenStack ingress rule per (label, TCP port, source network)."""
    for label, port, source in rules:
        openstack.networking.SecGroupRule(
            f"{name}-{label}-{network_slug(source)}",
            security_group_id=security_group_id,
            tenant_id=tenant_id,
            direction="ingress",
            ethertype="IPv4",
            protocol="tcp",
            port_range_min=port,
            port_range_max=port,
            remote_ip_prefix=str(source),
            description=f"{label} from {source}",
            opts=opts,
        )
