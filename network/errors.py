"""Errors of the network intent: the inventory cannot be turned into a working network."""

from __future__ import annotations

from storestack.devices.errors import RenderError


class NetworkIntentError(RenderError):
    """The fleet (or its stack outputs) cannot be built into a consistent network intent.

    A `RenderError`, since every config is rendered from the intent: commands that render
    already report it with the right exit code."""
