"""The appliance platform names, defined once.

This is the lowest layer every concern can import (components and inventory may not import
`storestack.devices`), so the names live here; the behaviour of each platform (interface
naming, session driver, hier_config options, companion files …) lives in its module under
`storestack.devices.platforms`, whose registry holds exactly these names.
"""

from __future__ import annotations

from typing import Literal, get_args

Platform = Literal["frr", "cisco_xe", "huawei_vrp", "fortinet"]
PLATFORM_NAMES: tuple[Platform, ...] = get_args(Platform)

# The platforms the lab runs in the vendor emulator rather than as real FRR routers; the
# registry's `emulated` flags agree (tests/devices/test_platform_registry.py).
EmulatedPlatform = Literal["cisco_xe", "huawei_vrp", "fortinet"]
EMULATED_PLATFORM_NAMES: tuple[EmulatedPlatform, ...] = get_args(EmulatedPlatform)
