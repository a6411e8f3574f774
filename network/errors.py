"""Errors of the network intent: the inventory, its stack outputs or its secrets cannot be turned
into a working network."""

from __future__ import annotations

from storestack.common.errors import NetworkFamily, RefusedFileError, UsageError


class NetworkError(NetworkFamily):
    """Base of every error raised by `storestack.network`."""


class NetworkIntentError(NetworkError, UsageError):
    """The fleet (or its stack outputs) cannot be built into a consistent network intent.

    A usage error, as a render error is: nothing was rendered or pushed from an intent that
    cannot be built, and every command that renders reports it with the same exit code."""


class StackOutputsError(RefusedFileError, NetworkError, UsageError):
    """Stack outputs are unreadable, malformed or do not match the inventory."""


class SecretUnavailableError(RefusedFileError, NetworkError, UsageError):
    """A secret needed for a push file is not set or not acceptable for a device CLI; its issue
    names the file, line and field of the secret's reference where a fleet file holds it."""
