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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, Self


class StorestackError(Exception):
    """Root of every error storestack raises on purpose.

    `field`: the option, argument or input field whose value is wrong, where the error is about
    one (`--store` for an unknown store of that option); `file`: the file it is about (one not
    there, one that cannot be written); the CLI's --json error names both."""

    field: str | None = None
    file: str | None = None

    def __init__(self, *args: object, field: str | None = None, file: str | None = None) -> None:
        super().__init__(*args)
        if field is not None:
            self.field = field
        if file is not None:
            self.file = file


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


@dataclass(frozen=True, order=True)
class InventoryIssue:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        head = " ".join(part for part in (where, self.field) if part)
        return f"{head}{':' if self.field else ''} {self.message}" if head else self.message

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class _HoldsIssues(Protocol):
    @property
    def issues(self) -> Sequence[InventoryIssue]: ...

    def one_line(self) -> str: ...


class RefusedFileError(StorestackError):
    """Mixed into the error of another concern about a file the inventory's reader refused (an
    appliance inventory, stack outputs, a credentials file): one line for its message, and every
    issue kept, each with its file, line and field, for the CLI's --json answer. Like UsageError,
    it belongs to no family: the concern's error it is mixed into has one."""

    def __init__(self, message: str, issues: Sequence[InventoryIssue] = ()) -> None:
        super().__init__(message)
        self.issues = sorted(issues)

    @classmethod
    def of(cls, error: _HoldsIssues) -> Self:
        """The refusal of a reader's error that holds its issues (an `InventoryError`)."""
        return cls(error.one_line(), error.issues)
