"""The push engine's view of the platform registry: each platform's session driver and its
hier_config driver, looked up by name.

Everything the push engine does differently per platform is data on the platform's module in
`storestack.devices.platforms` (`PlatformDriver`: the Netmiko driver, the command that shows
the running config, which lines are noise, what a rejected line looks like, how to save, which
health checks prove the appliance is well, which config lines carry secrets). The engine itself
has no `if platform == …`.
"""

from __future__ import annotations

from functools import cache

from hier_config.platforms.driver_base import HConfigDriverBase

from storestack.devices.errors import PushConfigError
from storestack.devices.platforms import PlatformDriver, PlatformProfile, UnknownPlatformError, get_platform
from storestack.devices.platforms.base import CommitConfirm, CompanionDelivery, ValidationMode

__all__ = [
    "CommitConfirm",
    "CompanionDelivery",
    "PlatformDriver",
    "ValidationMode",
    "commit_confirm_for",
    "companion_delivery_for",
    "driver_for",
    "hier_driver",
    "unconfirmable_for",
]


def _registered(platform: str) -> PlatformProfile:
    try:
        return get_platform(platform)
    except UnknownPlatformError as exc:
        raise PushConfigError(f"no push driver: {exc.args[0]}") from None


def driver_for(platform: str) -> PlatformDriver:
    return _registered(platform).driver


def commit_confirm_for(platform: str) -> CommitConfirm | None:
    """The appliance's own revert-unless-confirmed mechanism, or None where there is none."""
    return _registered(platform).commit_confirm


def unconfirmable_for(platform: str, mode: ValidationMode | None) -> str | None:
    """Why an appliance of `platform` configuring in `mode` cannot arm its commit-confirm, or None."""
    return _registered(platform).unconfirmable(mode)


def companion_delivery_for(platform: str) -> CompanionDelivery | None:
    """How the push delivers the appliance's companion files, or None where it does not."""
    return _registered(platform).companion_delivery


@cache
def hier_driver(platform: str) -> HConfigDriverBase:
    """The hier_config driver for a platform (one instance per platform: drivers are stateless)."""
    return _registered(platform).hier_driver()
