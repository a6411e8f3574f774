"""storestack.lab: FRR appliances in network namespaces, and the vendor SSH emulator.

A lab writes an ApplianceInventory (source 'lab:<name>') that the push engine consumes like
any other appliance inventory.
"""

from storestack.lab.errors import (
    LabCommandError,
    LabError,
    LabNotFoundError,
    LabPrerequisiteError,
    UnknownLinkError,
)
from storestack.lab.frr_lab import (
    ApplianceMemory,
    ApplianceStatus,
    BgpPeerStatus,
    DownReport,
    LabInfo,
    LabMemory,
    LabStatus,
    bgp_peers,
    down,
    fail_link,
    lab_info,
    memory,
    restore_link,
    status,
    up,
    vtysh,
)
from storestack.lab.synthetic import synthetic_topology
from storestack.lab.system import check_prerequisites
from storestack.lab.topology import LabAppliance, LabEndpoint, LabLink, LabTopology

__all__ = [
    "ApplianceMemory",
    "ApplianceStatus",
    "BgpPeerStatus",
    "DownReport",
    "LabAppliance",
    "LabCommandError",
    "LabEndpoint",
    "LabError",
    "LabInfo",
    "LabLink",
    "LabMemory",
    "LabNotFoundError",
    "LabPrerequisiteError",
    "LabStatus",
    "LabTopology",
    "UnknownLinkError",
    "bgp_peers",
    "check_prerequisites",
    "down",
    "fail_link",
    "lab_info",
    "memory",
    "restore_link",
    "status",
    "synthetic_topology",
    "up",
    "vtysh",
]
