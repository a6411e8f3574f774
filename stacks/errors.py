"""Typed errors of the stacks concern; `cli/` turns them into messages and exit codes."""

from __future__ import annotations

from storestack.common.errors import StackFamily, UsageError


class StackError(StackFamily):
    """Base of every error raised by storestack.stacks."""


class StackConfigError(StackError, UsageError):
    """The inventory cannot be mapped onto stacks, or a rendered stack config is missing or invalid."""


class StackReferenceError(StackError, UsageError):
    """A referenced stack's outputs are missing a value, or hold one of the wrong type."""


class UnknownStackError(StackError, UsageError):
    def __init__(self, name: str, known: list[str]) -> None:
        import difflib

        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        super().__init__(f"no stack {name!r}{hint}")
        self.name = name


class PulumiNotInstalledError(StackError, UsageError):
    """The Automation API needs the `pulumi` CLI, which is not on PATH."""

    INSTALL_HINT = "install it with `curl -fsSL https://get.pulumi.com | sh` (see https://www.pulumi.com/docs/install/)"

    def __init__(self) -> None:
        super().__init__(f"the pulumi CLI is not on PATH; {self.INSTALL_HINT}")


class PulumiOperationError(StackError):
    """A preview/up/destroy/refresh failed inside the engine."""


class PassphraseMissingError(StackError, UsageError):
    def __init__(self, variable: str) -> None:
        super().__init__(
            f"set {variable} (or PULUMI_CONFIG_PASSPHRASE_FILE) to the passphrase that encrypts stack secrets"
        )
