"""Typed inventory errors. Every issue names the file, the line and the field path."""

from __future__ import annotations

# The issue and the refused-file marker live in common (the leaf error modules mix them in);
# re-exported here, where the inventory reader raises them.
from storestack.common.errors import InventoryFamily, InventoryIssue, RefusedFileError, UsageError

__all__ = [
    "FleetNotFoundError",
    "InventoryError",
    "InventoryIssue",
    "IpamExhaustedError",
    "ReadOnlyFleetError",
    "RefusedFileError",
]


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


class ReadOnlyFleetError(InventoryError, UsageError):
    """A command would write into the sample chain that ships with storestack (its lock file, a
    store file): nothing is written, a usage error; a fleet to change is a copy of it."""


class IpamExhaustedError(InventoryError):
    """A pool has no free block left; raised as an inventory error naming the pool."""
