"""Typed inventory errors. Every issue names the file, the line and the field path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from storestack.common.errors import InventoryFamily, StorestackError, UsageError


@dataclass(frozen=True, order=True)
class InventoryIssue:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.field}: {self.message}" if self.field else f"{where} {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class InventoryError(InventoryFamily):
    """The inventory is invalid; `issues` holds every problem found, not just the first."""

    def __init__(self, issues: list[InventoryIssue]) -> None:
        self.issues = sorted(issues)
        count = len(self.issues)
        head = "\n".join(str(issue) for issue in self.issues[:20])
        more = f"\n… and {count - 20} more" if count > 20 else ""
        super().__init__(f"{count} inventory error{'s' if count != 1 else ''}:\n{head}{more}")

    def one_line(self) -> str:
        """The first issue, and how many more there are: for messages that must stay on one line."""
        first = str(self.issues[0]) if self.issues else "invalid"
        return first + (f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else "")


class FleetNotFoundError(InventoryError, UsageError):
    """The fleet path holds no `fleet.yaml` (a mistyped --fleet or $STORESTACK_FLEET): a usage
    error, nothing was read, as for `inventory validate` of a path that does not exist."""


class IpamExhaustedError(InventoryError):
    """A pool has no free block left; raised as an inventory error naming the pool."""


class RefusedFileError(StorestackError):
    """Mixed into the error of another concern about a file the inventory's reader refused (an
    appliance inventory, stack outputs, a credentials file): one line for its message, and every
    issue kept, each with its file, line and field, for the CLI's --json answer. Like UsageError,
    it belongs to no family: the concern's error it is mixed into has one."""

    def __init__(self, message: str, issues: Sequence[InventoryIssue] = ()) -> None:
        super().__init__(message)
        self.issues = sorted(issues)

    @classmethod
    def of(cls, error: InventoryError) -> Self:
        return cls(error.one_line(), error.issues)
