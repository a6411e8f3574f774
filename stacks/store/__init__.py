"""The `store` stack: one `StoreSite` per store (`store-<id>`), wired to the core through a StackReference."""

from __future__ import annotations

from typing import Any

import pulumi

from storestack.components import ApplianceConfigRenderer, StoreSite, TransitGatewayRef
from storestack.components.aws_region import ASSOCIATED_WITH, PROPAGATES_INTO
from storestack.components.common import TunnelKeys
from storestack.stacks.config import CONFIG_NAMESPACE, StoreStackConfig
from storestack.stacks.errors import StackReferenceError
from storestack.stacks.keys import FleetTunnelKeys

SECRET_OUTPUTS = ("tunnel_psks", "intended_configs")


def read_config() -> StoreStackConfig:
    return StoreStackConfig.model_validate(pulumi.Config(CONFIG_NAMESPACE).require_object("store"))


def core_value(regions: Any, core_stack: str, region: str, *path: str) -> str:
    """One string from the core stack's `regions` output, or a StackReferenceError that says which.

    The core is deployed separately and may be older or newer than this store's config, so its
    outputs are checked here rather than trusted: a missing region or key, or a value of the wrong
    type, names the output and the stack instead of surfacing as a bare KeyError.
    """
    where = "regions"
    value = regions
    if value is None:
        raise StackReferenceError(f"core stack {core_stack} has no output 'regions'; is it deployed and up to date?")
    for key in (region, *path):
        if not isinstance(value, dict):
            raise StackReferenceError(
                f"core stack {core_stack}: output {where} should be a mapping, got {type(value).__name__}"
            )
        if key not in value:
            known = ", ".join(sorted(str(k) for k in value)) or "none"
            raise StackReferenceError(
                f"core stack {core_stack}: output {where}.{key} is missing (present: {known}); "
                "is the core stack deployed and up to date?"
            )
        value = value[key]
        where = f"{where}.{key}"
    if not isinstance(value, str) or not value:
        raise StackReferenceError(
            f"core stack {core_stack}: output {where} should be a non-empty string, got {type(value).__name__}"
        )
    return value


def transit_from_core(config: StoreStackConfig) -> TransitGatewayRef | None:
    """The store region's Transit Gateway, read from the core stack's outputs."""
    region = config.site.aws_region
    if region is None:
        return None
    core = pulumi.StackReference(config.core_stack)
    regions = core.get_output("regions")

    def pick(*path: str) -> pulumi.Output[str]:
        return regions.apply(lambda value: core_value(value, config.core_stack, region, *path))

    return TransitGatewayRef(
        region=region,
        transit_gateway_id=pick("transit_gateway_id"),
        stores_route_table_id=pick("route_table_ids", ASSOCIATED_WITH["store"]),
        # A store's routes go only where the segmentation lets them (never into the stores table).
        return_route_table_ids={kind: pick("route_table_ids", kind) for kind in PROPAGATES_INTO["store"]},
    )


def build(
    config: StoreStackConfig, renderer: ApplianceConfigRenderer | None = None, keys: TunnelKeys | None = None
) -> StoreSite | None:
    """Declare the store's resources; a decommissioned store declares none, so `up` and `destroy`
    both converge on an empty stack and `plan` shows every resource going away."""
    if config.state == "decommissioned":
        pulumi.export("store_id", config.site.store_id)
        pulumi.export("state", config.state)
        return None
    site = StoreSite(
        config.site.store_id,
        config.site,
        transit_from_core(config),
        renderer=renderer,
        keys=keys or FleetTunnelKeys(config.tunnel_keys),
    )
    pulumi.export("store_id", config.site.store_id)
    pulumi.export("tunnels", site.tunnels)
    pulumi.export("tunnel_psks", site.tunnel_psks)
    pulumi.export("hub_peers", site.hub_peers)
    pulumi.export("advertised_prefixes", site.advertised_prefixes)
    pulumi.export("own_prefixes", [str(p) for p in sorted(config.site.own_prefixes)])
    pulumi.export("edges", site.edge_summary)
    if renderer is not None:
        pulumi.export("intended_configs", site.intended_configs)
    return site


def program(renderer: ApplianceConfigRenderer | None = None, keys: TunnelKeys | None = None) -> None:
    """The Pulumi program of a store stack (inline for the Automation API, or via `__main__.py`)."""
    build(read_config(), renderer, keys)
