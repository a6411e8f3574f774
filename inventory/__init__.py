"""storestack.inventory: the fleet model, its loader, fleet-wide checks and IPAM.

Each name is imported from its module on first use (PEP 562): `from storestack.inventory.errors
import …` or `… .paths import sample_chain_path` (what every command's error handling and
`--help` needs) do not import the fleet's pydantic models and loader.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Each exported name: the module defining it.
_MODULES = {
    "InventoryError": "errors",
    "InventoryIssue": "errors",
    "IpamExhaustedError": "errors",
    "Fleet": "fleet",
    "ResolvedAppliance": "fleet",
    "ResolvedHub": "fleet",
    "ResolvedSegment": "fleet",
    "ResolvedStore": "fleet",
    "ResolvedWanLink": "fleet",
    "UnknownStoreError": "fleet",
    "LoadResult": "loader",
    "load_bundle_with_allocations": "loader",
    "load_fleet": "loader",
    "load_fleet_bundle": "loader",
    "load_fleet_with_allocations": "loader",
    "sample_chain_path": "paths",
}

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


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
