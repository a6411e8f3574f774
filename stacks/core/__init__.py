"""The `core` stack: `HybridCloud` plus the fleet's `DesktopPool`s."""

from __future__ import annotations

import pulumi

from storestack.components import (
    AwsDesktopNetwork,
    DesktopPool,
    HybridCloud,
    OpenStackDesktopNetwork,
)
from storestack.components.aws_region import ROUTE_TABLE_KINDS
from storestack.components.common import TunnelKeys
from storestack.components.desktop_pool import workspaces_default_role
from storestack.stacks.config import CONFIG_NAMESPACE, CoreStackConfig
from storestack.stacks.keys import FleetTunnelKeys

# Outputs holding keys; they are exported as secrets and checked to be so by `storestack plan`.
SECRET_OUTPUTS = ("hub_vpn_psks", "openstack_vpn_psks")


def read_config() -> CoreStackConfig:
    return CoreStackConfig.model_validate(pulumi.Config(CONFIG_NAMESPACE).require_object("core"))


def build(config: CoreStackConfig, keys: TunnelKeys | None = None) -> HybridCloud:
    """Declare the core resources and export what store stacks and operators need.

    `keys` default to the fleet secret the config names (`pulumi up` refuses to run without it)."""
    keys = keys or FleetTunnelKeys(config.tunnel_keys)
    hybrid = HybridCloud(config.hybrid_cloud.fleet, config.hybrid_cloud, keys=keys)
    service_role: list[pulumi.Resource] = []
    if any(placed.aws_region is not None for placed in config.desktop_pools):
        service_role = workspaces_default_role(config.hybrid_cloud.tags, pulumi.ResourceOptions(parent=hybrid))
    seats = {}
    for placed in config.desktop_pools:
        network: AwsDesktopNetwork | OpenStackDesktopNetwork
        if placed.aws_region is not None:
            transit = hybrid.transit[placed.aws_region]
            network = AwsDesktopNetwork(
                region=placed.aws_region,
                vpc_id=transit.desktops_vpc_id,
                subnet_ids=transit.desktops_subnet_ids,
                security_group_id=transit.desktops_security_group_id,
                service_role=service_role,
            )
        else:
            site = hybrid.openstack_sites[str(placed.openstack_site)]
            network = OpenStackDesktopNetwork(provider=site.desktops_provider, network_id=site.desktops_network_id)
        pool = DesktopPool(placed.pool.name, placed.pool, network, opts=pulumi.ResourceOptions(parent=hybrid))
        seats[placed.pool.name] = pool.seat_counts
    pulumi.export("regions", hybrid.regions)
    pulumi.export("hub_vpn_tunnels", hybrid.hub_vpn_tunnels)
    pulumi.export("hub_vpn_psks", hybrid.hub_vpn_psks)
    pulumi.export("openstack", hybrid.openstack)
    pulumi.export("openstack_vpn_psks", hybrid.openstack_vpn_psks)
    pulumi.export("openstack_hub_tunnels", hybrid.openstack_hub_tunnels)
    pulumi.export("staff_role_arns", hybrid.staff_role_arns)
    pulumi.export("desktop_seats", seats)
    return hybrid


def program(keys: TunnelKeys | None = None) -> None:
    """The Pulumi program of the core stack (inline for the Automation API, or via `__main__.py`)."""
    build(read_config(), keys)


def mock_outputs(config: CoreStackConfig) -> dict[str, object]:
    """What store stacks see of the core when it is planned offline (Terragrunt-style mock outputs)."""
    return {
        "regions": {
            region.region: {
                "transit_gateway_id": f"tgw-mock-{region.region}",
                "amazon_side_asn": region.transit_gateway_asn,
                "route_table_ids": {
                    kind: f"tgw-rtb-mock-{region.region}-{kind}" for kind in ROUTE_TABLE_KINDS
                },
            }
            for region in config.hybrid_cloud.aws_regions
        }
    }
