"""Typed view objects: exactly what the device templates may read, built from the resolved fleet.

Templates never see inventory models or dicts. Every value here is either a plain validated
string/number computed from the fleet (addresses already spelled in each notation the
platforms use) or a `Secret` slot. Policy decisions (which segment may reach which, what the
LTE link carries, which routes are accepted) are made here, once, as data; the templates only
spell them in each vendor's syntax.

The package is split by job: `addresses` (addresses and networks in every notation), `model` (the
view types the templates read) and `builder` (`ViewBuilder`, which builds them). Import from
`storestack.devices.views`: every public name is here.
"""

from __future__ import annotations

from storestack.devices.views.addresses import (
    IfAddr,
    Net,
    dotted,
)
from storestack.devices.views.builder import (
    CLOUD_TUNNEL_BASE,
    SEGMENT_TAGS,
    ViewBuilder,
    transport_table,
)
from storestack.devices.views.model import (
    BFD_CELLULAR,
    BFD_WIRED,
    LOCAL_ADMIN_USER,
    PLANNED_HEADER,
    Acl,
    AclRule,
    AwsTunnelView,
    BfdProfile,
    CloudTunnelView,
    DcView,
    FlowView,
    HealthCheckView,
    HubPeerView,
    HubRef,
    HubStoreView,
    HubView,
    LanClassView,
    LanPolicyView,
    ManagementPortView,
    ManagementView,
    MarkView,
    ProbeView,
    QosClassView,
    RedirectView,
    ReturnSignalView,
    SegmentSteeringView,
    SegmentView,
    SlaClassView,
    SteeredApplicationView,
    SteeringView,
    StoreApplianceView,
    TunnelView,
    WanLinkView,
    strictest,
)

__all__ = [
    "BFD_CELLULAR",
    "BFD_WIRED",
    "CLOUD_TUNNEL_BASE",
    "LOCAL_ADMIN_USER",
    "PLANNED_HEADER",
    "SEGMENT_TAGS",
    "Acl",
    "AclRule",
    "AwsTunnelView",
    "BfdProfile",
    "CloudTunnelView",
    "DcView",
    "FlowView",
    "HealthCheckView",
    "HubPeerView",
    "HubRef",
    "HubStoreView",
    "HubView",
    "IfAddr",
    "LanClassView",
    "LanPolicyView",
    "ManagementPortView",
    "ManagementView",
    "MarkView",
    "Net",
    "ProbeView",
    "QosClassView",
    "RedirectView",
    "ReturnSignalView",
    "SegmentSteeringView",
    "SegmentView",
    "SlaClassView",
    "SteeredApplicationView",
    "SteeringView",
    "StoreApplianceView",
    "TunnelView",
    "ViewBuilder",
    "WanLinkView",
    "dotted",
    "strictest",
    "transport_table",
]
