"""storestack.components: the Pulumi components a chain is built from, each with a typed args class."""

from storestack.components.aws_region import AwsRegion
from storestack.components.common import COMPONENT_TAG, ComponentArgsError
from storestack.components.desktop_pool import (
    AwsDesktopNetwork,
    DesktopBundleArgs,
    DesktopPool,
    DesktopPoolArgs,
    DesktopUser,
    OpenStackDesktopNetwork,
    SeatRequest,
)
from storestack.components.hybrid_cloud import (
    AwsRegionArgs,
    HqHubArgs,
    HybridCloud,
    HybridCloudArgs,
    OpenStackSiteArgs,
    StaffRoleAccessArgs,
    TransitGatewayOutputs,
)
from storestack.components.openstack_site import OpenStackSite
from storestack.components.store_site import (
    ApplianceConfigRenderer,
    EdgeRenderContext,
    EdgeTunnel,
    EdgeWanLink,
    HubTunnelArgs,
    StoreApplianceArgs,
    StoreEdge,
    StoreSite,
    StoreSiteArgs,
    StoreWanLinkArgs,
    TransitGatewayRef,
)

__all__ = [
    "COMPONENT_TAG",
    "ApplianceConfigRenderer",
    "AwsDesktopNetwork",
    "AwsRegion",
    "AwsRegionArgs",
    "ComponentArgsError",
    "DesktopBundleArgs",
    "DesktopPool",
    "DesktopPoolArgs",
    "DesktopUser",
    "EdgeRenderContext",
    "EdgeTunnel",
    "EdgeWanLink",
    "HqHubArgs",
    "HubTunnelArgs",
    "HybridCloud",
    "HybridCloudArgs",
    "OpenStackDesktopNetwork",
    "OpenStackSite",
    "OpenStackSiteArgs",
    "SeatRequest",
    "StaffRoleAccessArgs",
    "StoreApplianceArgs",
    "StoreEdge",
    "StoreSite",
    "StoreSiteArgs",
    "StoreWanLinkArgs",
    "TransitGatewayOutputs",
    "TransitGatewayRef",
]
