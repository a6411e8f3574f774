"""The vendor SSH emulator: IOS-XE, Huawei VRP and FortiOS CLIs with fault injection.

No root needed. Many devices run in one asyncio loop, each on its own loopback port.
"""

from typing import TYPE_CHECKING, Any

from storestack.lab.emulator.models import DeviceFaults, EmulatedDevice, EmulatedPlatform, EmulatorSpec

if TYPE_CHECKING:
    from storestack.lab.emulator.server import Emulator, EmulatorError, EmulatorThread, serve_forever

# The server's names are imported on first use: the server imports asyncssh (about half a second
# of CPU), which what only reads a lab's models and state (`storestack lab status`, `lab --help`)
# never needs.
_SERVER_NAMES = frozenset({"Emulator", "EmulatorError", "EmulatorThread", "serve_forever"})


def __getattr__(name: str) -> Any:
    if name in _SERVER_NAMES:
        from storestack.lab.emulator import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
