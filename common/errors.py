"""The one root of every error storestack raises on purpose, and the families below it.

Two questions about an error, answered by two kinds of base class:

- Which concern raised it? One family per concern: `InventoryFamily`, `NetworkFamily`,
  `StackFamily`, `DeviceFamily`, `LabFamily`, `RolloutFamily`, and `CommonFamily` for the shared primitives
  (run journals). Each concern's own root (`InventoryError`, `NetworkError`, `StackError`, `DevicesError`,
  `LabError`, `RolloutError` …) derives from its family, so `except LabFamily` handles every
  lab error and `except StorestackError` every error of the tool.
- Was the request itself wrong? `UsageError` marks errors where nothing ran because the input
  was not usable (unknown store, bad option, missing prerequisite, unreadable configuration).
  Everything else means the work ran and failed.

The CLI turns these into exit codes in one place (`storestack.cli.common.EXIT_CODES`). The
families live here, in the lowest layer, so that `components` and `inventory` can derive from
them and the CLI can name them without importing Pulumi or the lab.
"""

from __future__ import annotations


class StorestackError(Exception):
    """Root of every error storestack raises on purpose."""


class UsageError(StorestackError):
    """The request could not run as asked; nothing was changed. Mixed into a family's errors."""


class CommonFamily(StorestackError):
    """Errors of the shared primitives (`storestack.common`): run journals."""


class InventoryFamily(StorestackError):
    """Errors of `storestack.inventory`: invalid inventories, IPAM, lookups, generation."""


class NetworkFamily(StorestackError):
    """Errors of `storestack.network`: a fleet, its stack outputs or its secrets that cannot be
    built into a consistent network intent."""


class StackFamily(StorestackError):
    """Errors of `storestack.stacks` and the Pulumi components it deploys."""


class DeviceFamily(StorestackError):
    """Errors of `storestack.devices`: rendering, appliance inventories, the push engine."""


class LabFamily(StorestackError):
    """Errors of `storestack.lab`: the FRR lab and the vendor emulator."""


class RolloutFamily(StorestackError):
    """Errors of `storestack.rollout`: rollout, drift and verification runs."""


FAMILIES: tuple[type[StorestackError], ...] = (
    CommonFamily,
    InventoryFamily,
    NetworkFamily,
    StackFamily,
    DeviceFamily,
    LabFamily,
    RolloutFamily,
)
