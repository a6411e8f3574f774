"""Typed errors of the rollout concern; `cli/` turns them into messages and exit codes."""

from __future__ import annotations

from collections.abc import Sequence

from storestack.common.errors import RolloutFamily, UsageError
from storestack.inventory.errors import InventoryIssue


class RolloutError(RolloutFamily):
    """Base of every error raised by storestack.rollout."""


class RolloutConfigError(RolloutError, UsageError):
    """The rollout cannot start: unknown store, lab not up or missing the store, bad options.

    Nothing was changed; the CLI maps it to exit code 2.
    """


class RolloutInventoryError(RolloutError):
    """The inventory is invalid; nothing was changed. `issues` are the inventory's own, each with
    its file, line and field."""

    def __init__(self, issues: Sequence[InventoryIssue]) -> None:
        self.issues = list(issues)
        super().__init__(f"the inventory is invalid ({len(issues)} issue(s))")
