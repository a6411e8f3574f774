"""Typed errors of the rollout concern; `cli/` turns them into messages and exit codes."""

from __future__ import annotations

from storestack.common.errors import RolloutFamily, UsageError


class RolloutError(RolloutFamily):
    """Base of every error raised by storestack.rollout."""


class RolloutConfigError(RolloutError, UsageError):
    """The rollout cannot start: unknown store, lab not up or missing the store, bad options.

    Nothing was changed; the CLI maps it to exit code 2.
    """


class RolloutInventoryError(RolloutError):
    """The inventory is invalid; nothing was changed. `issues` are the inventory's own messages."""

    def __init__(self, issues: list[str]) -> None:
        self.issues = issues
        super().__init__(f"the inventory is invalid ({len(issues)} issue(s))")
