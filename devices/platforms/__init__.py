"""The platform registry: one module per platform, one entry per platform name.

Adding a platform: add its name to `storestack.common.platforms.Platform`, write one module
here (a `PlatformProfile` subclass where its naming differs, its `PlatformDriver`, its hier_config
driver), register its `PLATFORM` below, and add its template folder under
`templates/devices/<name>/` (and, if the lab emulates it, its emulator profile). DEVELOPERS.md
has the whole list.
"""

from __future__ import annotations

from storestack.common.errors import UsageError
from storestack.common.platforms import PLATFORM_NAMES, Platform
from storestack.devices.errors import DevicesError
from storestack.devices.platforms import cisco_xe, fortinet, frr, huawei_vrp
from storestack.devices.platforms.base import (
    CommitConfirm,
    HealthCheck,
    PlatformDriver,
    PlatformProfile,
    SteeringMechanism,
)

PLATFORMS: dict[Platform, PlatformProfile] = {
    module.PLATFORM.name: module.PLATFORM for module in (frr, cisco_xe, huawei_vrp, fortinet)
}


# The same entries keyed by any string, for looking up names that come from outside the type
# system (files, command lines).
_BY_NAME: dict[str, PlatformProfile] = {name: platform for name, platform in PLATFORMS.items()}


class UnknownPlatformError(DevicesError, UsageError):
    """A platform name no module registers (the inventory's own schema refuses these earlier)."""


def get_platform(name: str) -> PlatformProfile:
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(PLATFORM_NAMES)
        raise UnknownPlatformError(f"unknown platform {name!r} (known: {known})") from None


__all__ = [
    "PLATFORMS",
    "CommitConfirm",
    "HealthCheck",
    "Platform",
    "PlatformDriver",
    "PlatformProfile",
    "SteeringMechanism",
    "UnknownPlatformError",
    "get_platform",
]
