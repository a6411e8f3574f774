"""The emulator's profile registry: one module per emulated platform, one entry per name.

Adding a platform the lab emulates: write `profiles/<name>.py` with its `PROFILE` (config
dialect, factory config, CLI session) and register it below; `devices/platforms/<name>.py`
marks the platform `emulated`. DEVELOPERS.md has the whole list.
"""

from __future__ import annotations

from storestack.common.errors import UsageError
from storestack.lab.emulator.profiles import cisco_xe, fortinet, huawei_vrp
from storestack.lab.emulator.profiles.base import EmulatorProfile
from storestack.lab.errors import LabError

PROFILES: dict[str, EmulatorProfile] = {
    module.PROFILE.name: module.PROFILE for module in (cisco_xe, huawei_vrp, fortinet)
}


class UnknownProfileError(LabError, UsageError):
    """A platform the vendor emulator has no profile for."""


def get_profile(name: str) -> EmulatorProfile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise UnknownProfileError(
            f"the vendor emulator has no profile for platform {name!r} (known: {known})"
        ) from None


__all__ = ["PROFILES", "EmulatorProfile", "UnknownProfileError", "get_profile"]
