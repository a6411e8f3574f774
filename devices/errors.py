"""Typed errors of the devices concern. Messages name what is wrong, never a secret value.

Rendering raises RenderError and its kin; the push engine raises PushError and its kin. Every
push error names the stage it happened in, so a run report can say exactly where each
appliance stopped. Push messages are built from our own text and from device output that has
passed through the redactor.
"""

from __future__ import annotations

from typing import Literal

from storestack.common.errors import DeviceFamily, RefusedFileError, UsageError


class DevicesError(DeviceFamily):
    """Base of every error raised by `storestack.devices`."""


class RenderError(DevicesError, UsageError):
    """An intended config could not be rendered (bad input, missing secret, template fault)."""


# ---------------------------------------------------------------- push

Stage = Literal[
    "targets",
    "intended",
    "credentials",
    "connect",
    "host_key",
    "auth",
    "backup",
    "diff",
    "arm",
    "apply",
    "verify",
    "confirm",
    "save",
    "rollback",
    "await_revert",
]


class PushError(DevicesError):
    """Base of every push engine error."""

    stage: Stage = "apply"

    def __init__(self, message: str, *, stage: Stage | None = None, field: str | None = None) -> None:
        super().__init__(message, field=field)
        if stage is not None:
            self.stage = stage

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class PushConfigError(PushError, UsageError):
    """The push was asked for something that cannot work: bad targets, filters or intended configs.

    The CLI maps it to exit code 2 (usage or configuration error).
    """

    stage: Stage = "targets"


class IntendedRenderError(RefusedFileError, PushConfigError):
    """The intended configs cannot be rendered for a push (a secret the intent cannot fill, an
    intent it cannot build): nothing is pushed; the cause's issues (a secret's fleet.yaml line)
    are kept for the --json answer."""

    stage: Stage = "intended"


class MissingIntendedConfigError(PushConfigError):
    stage: Stage = "intended"


class IntendedConfigMismatchError(RefusedFileError, PushConfigError):
    """An intended config in the folder a push reads says it is another appliance's, or of
    another platform, store or role than the appliance it would be sent to: nothing is pushed;
    each issue is at the config's file and header line (`devices/intended.py`)."""

    stage: Stage = "intended"


class CredentialsUnavailableError(PushError):
    stage: Stage = "credentials"


class ConnectError(PushError):
    """The appliance could not be reached: refused, unreachable, or no SSH banner in time."""

    stage: Stage = "connect"


class HostKeyError(ConnectError):
    """The appliance's SSH host key is unknown or differs from the recorded fingerprint.

    Raised after key exchange and before authentication, so no password was sent.
    """

    stage: Stage = "host_key"

    def __init__(self, message: str, *, presented: str, expected: str | None) -> None:
        super().__init__(message)
        self.presented = presented
        self.expected = expected


class AuthenticationError(ConnectError):
    stage: Stage = "auth"


class SessionError(PushError):
    """The SSH session broke or stopped answering while we used it."""


class SessionLostError(SessionError):
    """The appliance closed the session (or the TCP connection dropped)."""


class CommandTimeoutError(SessionError):
    """A command got no prompt back within its read timeout; the session is no longer trusted."""


class CommandRejectedError(PushError):
    """The appliance rejected a configuration line (its error pattern matched)."""

    def __init__(self, message: str, *, line: str, lines_sent: int, output: str) -> None:
        super().__init__(message, stage="apply")
        self.line = line
        self.lines_sent = lines_sent
        self.output = output


class SaveError(PushError):
    stage: Stage = "save"


class VerifyError(PushError):
    """After applying, the running config or the appliance's health is not what was intended."""

    stage: Stage = "verify"

    def __init__(self, message: str, *, findings: list[str]) -> None:
        super().__init__(message)
        self.findings = findings


class RevertedChangeError(PushError):
    """The same intended config was reverted by the appliance itself in an earlier push."""

    stage: Stage = "intended"


class UnconfirmableChangeError(PushError):
    """The appliance has no way to revert a change by itself in the mode it configures in (a VRP5
    AR in immediate validation), and the push was asked to arm one: refused before any line."""

    stage: Stage = "arm"


class RefusedChangeError(PushError):
    """The change needs a line no push sends (`PlatformDriver.refused_changes`: a VRP appliance's
    `undo bgp`, its own AS changed): refused at the diff, dry run included, before any line."""

    stage: Stage = "diff"


class RollbackError(PushError):
    """Rolling back failed: the appliance is in an unknown state. Reported loudly with the backup path."""

    stage: Stage = "rollback"
