"""What an emulator profile provides: everything the vendor emulator knows about one platform."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storestack.common.platforms import EmulatedPlatform

if TYPE_CHECKING:
    from storestack.lab.emulator.cli import CliSession
    from storestack.lab.emulator.device import DeviceState


@dataclass(frozen=True)
class EmulatorProfile:
    """One emulated platform, in the style of `devices/platforms/<os>.py`: the emulator's core
    (SSH server, device state, fault injection) never compares a platform's name.

    The platform's CLI behaviour (prompts, configuration modes, the commit or confirm mechanism,
    show commands, rejections) is its session class; its config model is a `LineConfig` with the
    platform's dialect (keywords that open sections, global-only keywords, replacing statements)
    or a `FortiConfig`."""

    name: EmulatedPlatform
    # What the SSH server announces (`SSH-2.0-<this>`), as the real platform's server does.
    ssh_server_version: str
    # The config of a device that was never configured: hostname -> config text.
    default_config: Callable[[str], str]
    # The platform's config model from a config text, and what the device reads from it.
    parse: Callable[[str], Any]
    hostname: Callable[[Any], str | None]
    # The running config exactly as the device's own "show running config" command prints it.
    running_text: Callable[[Any], str]
    # One interactive CLI session on a device.
    session: Callable[[DeviceState], CliSession]
    # Store links dialled in from outside (IOS-XE FlexVPN): a link with an IKE identity dials
    # from an outside address and stays online, giving its interface's name (None: refused);
    # and the links up now, identity -> their interface's lines. None where the platform's hub
    # binds no store link by itself.
    dial_in: Callable[[DeviceState, str, str], str | None] | None = None
    live_links: Callable[[DeviceState], dict[str, list[str]]] | None = None
