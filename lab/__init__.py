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
from storestack.lab.frr_lab import down, lab_info, up
from storestack.lab.models import (
    ApplianceMemory,
    ApplianceStatus,
    DownReport,
    LabInfo,
    LabMemory,
    LabStatus,
)
from storestack.lab.namespaces import fail_link, restore_link
from storestack.lab.status import bgp_peers, memory, status, vtysh
from storestack.lab.synthetic import synthetic_topology
from storestack.lab.system import check_prerequisites
from storestack.lab.topology import LabAppliance, LabEndpoint, LabLink, LabTopology

__all__ = [
    "ApplianceMemory",
    "ApplianceStatus",
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
