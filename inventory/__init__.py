"""storestack.inventory: the fleet model, its loader, fleet-wide checks and IPAM."""

from storestack.inventory.errors import InventoryError, InventoryIssue, IpamExhaustedError
from storestack.inventory.fleet import (
    Fleet,
    ResolvedAppliance,
    ResolvedHub,
    ResolvedSegment,
    ResolvedStore,
    ResolvedWanLink,
    UnknownStoreError,
)
from storestack.inventory.loader import (
    LoadResult,
    load_bundle_with_allocations,
    load_fleet,
    load_fleet_bundle,
    load_fleet_with_allocations,
)
from storestack.inventory.paths import sample_chain_path

__all__ = [
    "Fleet",
    "InventoryError",
    "InventoryIssue",
    "IpamExhaustedError",
    "LoadResult",
    "ResolvedAppliance",
    "ResolvedHub",
    "ResolvedSegment",
    "ResolvedStore",
    "ResolvedWanLink",
    "UnknownStoreError",
    "load_bundle_with_allocations",
    "load_fleet",
    "load_fleet_bundle",
    "load_fleet_with_allocations",
    "sample_chain_path",
]
