"""The appliance inventory: where each appliance is reached and how it is trusted.

It is produced from the fleet inventory (real stores) or by the lab, and consumed by the
push engine the same way in both cases.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from storestack.common.errors import InventoryIssue, UsageError
from storestack.common.files import atomic_write_text
from storestack.common.platforms import Platform
from storestack.devices.errors import DevicesError
from storestack.inventory.errors import InventoryError, RefusedFileError
from storestack.inventory.source import read_document
from storestack.inventory.validate import validate_document

ApplianceRole = Literal["hub", "edge"]


class CredentialsError(RefusedFileError, DevicesError, UsageError):
    """Credentials could not be resolved from the reference."""


class AppliancesFileError(RefusedFileError, DevicesError, UsageError, ValueError):
    """An appliance inventory file cannot be read, is not safe YAML, or does not fit the schema."""


MAX_TARGETS_BYTES = 16_000_000  # an appliance inventory of a large fleet: ~300 bytes an appliance
MAX_CREDENTIALS_BYTES = 64_000


class Credentials(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    password: SecretStr


class CredentialsRef(BaseModel):
    """Where credentials come from: environment variables or a 0600 YAML file. Never inline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["env", "file"] = "env"
    username_env: str = "STORESTACK_DEVICE_USERNAME"
    password_env: str = "STORESTACK_DEVICE_PASSWORD"
    path: str | None = None

    def resolve(self) -> Credentials:
        if self.kind == "env":
            username = os.environ.get(self.username_env)
            password = os.environ.get(self.password_env)
            if not username or password is None:
                raise CredentialsError(f"set {self.username_env} and {self.password_env} in the environment")
            return Credentials(username=username, password=SecretStr(password))
        if not self.path:
            raise CredentialsError("credentials reference of kind 'file' needs a path")
        file = Path(self.path)
        try:
            mode = file.stat().st_mode & 0o777
        except FileNotFoundError as exc:
            raise CredentialsError(f"{file}: credentials file not found") from exc
        if mode & 0o077:
            raise CredentialsError(f"{file}: credentials file must be mode 0600, is {mode:04o}")
        try:
            # The inventory's safe reader: regular file, size-limited, no aliases or tags, and
            # messages that never quote the file (it holds a password).
            data = read_document(file, str(file), MAX_CREDENTIALS_BYTES).data
        except InventoryError as exc:
            raise CredentialsError.of(exc) from None
        if set(data) != {"username", "password"}:
            raise CredentialsError(f"{file}: needs exactly the keys 'username' and 'password'")
        if not all(isinstance(data[key], str) and data[key] for key in ("username", "password")):
            raise CredentialsError(f"{file}: 'username' and 'password' must be non-empty strings")
        return Credentials(username=data["username"], password=SecretStr(data["password"]))


class StatedAppliance(Protocol):
    """What a source says an appliance is: an `ApplianceTarget`, or an intended config's header
    (`devices/intended.py` `StatedIdentity`)."""

    @property
    def role(self) -> str: ...
    @property
    def store_id(self) -> str | None: ...
    @property
    def platform(self) -> str: ...


class ApplianceTarget(BaseModel):
    """One appliance as the push engine reaches it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="appliance hostname, unique in the fleet")
    role: ApplianceRole
    store_id: str | None = Field(default=None, description="owning store; None for hubs")
    platform: Platform
    host: str
    port: int = Field(default=22, ge=1, le=65535)
    host_key_fingerprint: str | None = Field(
        default=None, description="OpenSSH SHA256 fingerprint, e.g. 'SHA256:…'; None means unknown"
    )
    credentials: CredentialsRef = CredentialsRef()
    # Where the entry is: the appliance inventory file, the entry's index and the line of each of
    # its fields (a field it leaves out, its default: the entry's own line); None for targets built
    # from the fleet, whose appliances all log in with the default environment variables.
    _at: tuple[str, int, dict[str, int]] | None = PrivateAttr(default=None)

    @property
    def from_file(self) -> bool:
        """Whether the entry was read from an appliance inventory file (not built from the fleet)."""
        return self._at is not None

    def issue(self, field: str, message: str) -> InventoryIssue:
        """`message` about the entry's `field`, at its file and line (none for a built entry)."""
        if self._at is None:
            return InventoryIssue("", 0, "", message)
        file, index, lines = self._at
        return InventoryIssue(file, lines[field], f"appliances[{index}].{field}", message)

    def credentials_issue(self, message: str) -> InventoryIssue:
        """`message` about this appliance's login, at the place its credentials are configured."""
        return self.issue("credentials", message)

    def differences(self, expected: StatedAppliance) -> list[tuple[str, object, object]]:
        """(field, this entry's value, `expected`'s) of each of role, store and platform on which
        they disagree."""
        return [
            (field, ours, theirs)
            for field in ("role", "store_id", "platform")
            if (ours := getattr(self, field)) != (theirs := getattr(expected, field))
        ]

    def contradictions(self, expected: StatedAppliance, where: str = "the inventory") -> list[InventoryIssue]:
        """What this entry says of the appliance otherwise than `expected` does (the fleet
        inventory's entry of the same name, or what its intended config says, `where`): its role,
        store or platform, each at its field."""
        return [
            self.issue(field, f"{ours!r} for {self.name}, whose {field} in {where} is {theirs!r}")
            for field, ours, theirs in self.differences(expected)
        ]


class ApplianceInventory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="'fleet' for real appliances, 'lab:<name>' for a lab")
    appliances: list[ApplianceTarget] = []
    _file: str | None = PrivateAttr(default=None)  # the file it was read from (`load`)

    @property
    def file(self) -> str | None:
        """The file it was read from; None for one built (from the fleet, by the lab)."""
        return self._file

    def by_name(self) -> dict[str, ApplianceTarget]:
        return {appliance.name: appliance for appliance in self.appliances}

    @classmethod
    def load(cls, path: Path) -> ApplianceInventory:
        """Read an appliance inventory with the inventory's safe reader (size and alias limits).

        Anything wrong (two entries of one name too) is an AppliancesFileError of one line naming
        file, line and field.
        """
        try:
            document = read_document(Path(path), str(path), MAX_TARGETS_BYTES)
        except InventoryError as exc:
            raise AppliancesFileError.of(exc) from None
        inventory, issues = validate_document(cls, document)
        if inventory is None:
            raise AppliancesFileError.of(InventoryError(issues))
        first: dict[str, int] = {}
        duplicates: list[InventoryIssue] = []
        for index, appliance in enumerate(inventory.appliances):
            fields = ("name", "role", "store_id", "platform", "credentials")
            lines = {field: document.line_of(("appliances", index, field)) for field in fields}
            appliance._at = (document.display, index, lines)
            if appliance.name in first:
                duplicates.append(
                    appliance.issue("name", f"{appliance.name!r} is also appliances[{first[appliance.name]}]'s name")
                )
            first.setdefault(appliance.name, index)
        if duplicates:
            raise AppliancesFileError.of(InventoryError(duplicates))
        inventory._file = document.display
        return inventory

    def save(self, path: Path) -> None:
        """Atomic write: a crash never leaves a half-written appliance inventory."""
        atomic_write_text(path, yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False))
