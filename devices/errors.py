"""Typed errors of the devices concern. Messages name what is wrong, never a secret value."""

from __future__ import annotations


class DevicesError(Exception):
    """Base of every error raised by `storestack.devices`."""


class RenderError(DevicesError):
    """An intended config could not be rendered (bad input, missing secret, template fault)."""


class StackOutputsError(RenderError):
    """Stack outputs are unreadable, malformed or do not match the inventory."""


class SecretUnavailableError(RenderError):
    """A secret needed for a push file is not set or not acceptable for a device CLI."""
