"""Typed errors of the lab; the CLI turns them into messages and exit codes."""

from __future__ import annotations

from storestack.common.errors import LabFamily, RefusedFileError, UsageError


class LabError(LabFamily):
    """The lab could not do what was asked."""


class LabPrerequisiteError(LabError, UsageError):
    """The machine cannot run the FRR lab (not root, FRR or sshd missing)."""


class LabCommandError(LabError):
    """A system command the lab relies on failed."""

    def __init__(self, command: list[str], returncode: int, stderr: str) -> None:
        self.command = command
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"{' '.join(command)} exited {returncode}: {self.stderr or '(no output)'}")


class LabNotFoundError(LabError, UsageError):
    """No lab is recorded in the state directory."""


class UnknownLinkError(LabError, UsageError):
    """fail-link, restore-link, impair or path named a store or link the lab does not have;
    `field` the argument (STORE or LINK)."""


class NoTunnelsError(LabError, UsageError):
    """`lab check` on a lab that runs the veth overlay, which has no tunnels to check."""


class EmulatorSpecError(RefusedFileError, LabError, UsageError):
    """The emulator's spec file cannot be read or is invalid: each problem with its file, line
    and field, never the value refused (a running config or a login may be in it)."""
