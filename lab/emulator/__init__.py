"""The vendor SSH emulator: IOS-XE, Huawei VRP and FortiOS CLIs with fault injection.

No root needed. Many devices run in one asyncio loop, each on its own loopback port.
"""

from storestack.lab.emulator.models import DeviceFaults, EmulatedDevice, EmulatedPlatform, EmulatorSpec
from storestack.lab.emulator.server import Emulator, EmulatorError, EmulatorThread, serve_forever

__all__ = [
    "DeviceFaults",
    "EmulatedDevice",
    "EmulatedPlatform",
    "Emulator",
    "EmulatorError",
    "EmulatorSpec",
    "EmulatorThread",
    "serve_forever",
]
