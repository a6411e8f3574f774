"""What a rendered `Pulumi.<stack>.yaml` holds: component args, already validated.

The stack programs read only this (never the inventory), so `pulumi up` in a rendered folder
builds exactly what `storestack stacks render` wrote.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from storestack.components import DesktopPoolArgs, HybridCloudArgs, StoreSiteArgs
from storestack.components.common import FrozenModel
from storestack.stacks.keys import TunnelKeySource

StackKind = Literal["core", "store"]
STACK_KINDS: tuple[StackKind, ...] = ("core", "store")
CONFIG_NAMESPACE = "storestack"
PROJECTS: dict[StackKind, str] = {"core": "storestack-core", "store": "storestack-store"}
CORE_STACK = "core"
DEFAULT_CORE_REFERENCE = f"organization/{PROJECTS['core']}/{CORE_STACK}"
# The default AWS provider's region. Pulumi AWS requires one ("Installation & Configuration":
# `region`, Required; else AWS_REGION in the environment): every resource here names its own
# region (provider 7.x's per-resource `region`), but the provider is configured with one before
# any of them, and calls without a region (IAM) go through it. A rendered stack sets it, so `up`
# in its folder does not depend on the runner's environment.
AWS_REGION_KEY = "aws:region"


def store_stack_name(store_id: str) -> str:
    return f"store-{store_id}"


class DesktopPoolConfig(FrozenModel):
    """A desktop pool and where it lives: an AWS region of the core, or an OpenStack site."""

    pool: DesktopPoolArgs
    aws_region: str | None = None
    openstack_site: str | None = None

    @model_validator(mode="after")
    def _placed_once(self) -> DesktopPoolConfig:
        wanted = "aws_region" if self.pool.provider == "aws" else "openstack_site"
        if getattr(self, wanted) is None:
            raise ValueError(f"a {self.pool.provider} desktop pool needs {wanted}")
        return self


class CoreStackConfig(FrozenModel):
    kind: Literal["core"] = "core"
    hybrid_cloud: HybridCloudArgs
    tunnel_keys: TunnelKeySource
    desktop_pools: list[DesktopPoolConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _placements_exist(self) -> CoreStackConfig:
        regions = {r.region for r in self.hybrid_cloud.aws_regions}
        sites = {s.name for s in self.hybrid_cloud.openstack_sites}
        for placed in self.desktop_pools:
            if placed.aws_region is not None and placed.aws_region not in regions:
                raise ValueError(f"desktop pool {placed.pool.name}: the core has no AWS region {placed.aws_region}")
            if placed.openstack_site is not None and placed.openstack_site not in sites:
                raise ValueError(
                    f"desktop pool {placed.pool.name}: the core has no OpenStack site {placed.openstack_site}"
                )
        return self

    def provider_config(self) -> dict[str, str]:
        """The default providers' stack config: AWS in the staff data bucket's region (stated or
        pinned, `HybridCloudArgs.data_region`), not the first region listed."""
        return {AWS_REGION_KEY: self.hybrid_cloud.data_region}


class StoreStackConfig(FrozenModel):
    kind: Literal["store"] = "store"
    site: StoreSiteArgs
    tunnel_keys: TunnelKeySource
    state: Literal["planned", "active", "decommissioned"]
    core_stack: str = Field(default=DEFAULT_CORE_REFERENCE, pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}$")
    notes: list[str] = Field(default_factory=list, description="what the mapping had to leave out, and why")

    def provider_config(self) -> dict[str, str]:
        """The default providers' stack config: AWS in the store's region, when it has one (a
        store without AWS affinity creates no AWS resource)."""
        return {AWS_REGION_KEY: self.site.aws_region} if self.site.aws_region else {}
