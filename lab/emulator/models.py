"""What the vendor emulator emulates: devices, their credentials and their faults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from storestack.common.platforms import EmulatedPlatform
from storestack.devices.targets import ApplianceRole
from storestack.inventory.errors import InventoryError
from storestack.inventory.validate import read_model
from storestack.lab.errors import EmulatorSpecError

# A spec of a few devices with their running configs: far below this.
MAX_SPEC_BYTES = 16_000_000


class DeviceFaults(BaseModel):
    """Faults injected into one device; change them at run time with `Emulator.set_faults`.

    Config lines are counted over the device's lifetime (not per session), from 1, so a fault
    fires once and a later rollback of the same lines goes through. A "config line" is a line
    typed in configuration mode other than the one that leaves it (`end` on IOS-XE, `return`
    on VRP); on FortiOS every line from a top-level `config` up to, not including, its `end`.
    """

    model_config = ConfigDict(extra="forbid")

    refuse_connection: bool = Field(default=False, description="nothing listens: TCP connection refused")
    wrong_host_key: bool = Field(default=False, description="presents a key other than the recorded one")
    reject_auth: bool = Field(default=False, description="every password is refused")
    banner_delay: float = Field(default=0.0, ge=0, description="seconds before the SSH version banner")
    prompt_delay: float = Field(default=0.0, ge=0, description="seconds before the first CLI prompt")
    reject_config_line: int | None = Field(
        default=None, ge=1, description="the Nth config line is refused with the vendor's error"
    )
    drop_after_config_lines: int | None = Field(
        default=None, ge=1, description="the session is cut right after the Nth config line"
    )
    hang_on_save: bool = Field(default=False, description="save never returns a prompt")
    cut_by_line: str | None = Field(
        default=None,
        description=(
            "a regular expression: while a running-config line matches it, the change has cut the "
            "management path (a wrong tunnel source, an ACL that drops the management network): "
            "the session that made it live is dropped and new connections are closed at once"
        ),
    )


class EmulatedDevice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", description="hostname")
    platform: EmulatedPlatform
    role: ApplianceRole = "edge"
    store_id: str | None = None
    port: int = Field(default=0, ge=0, le=65535, description="0: an ephemeral port")
    running_config: str | None = Field(
        default=None, description="initial running config; a small vendor default when None"
    )
    reject_patterns: list[str] = Field(
        default=[], description="regular expressions; a config line matching one is refused"
    )
    faults: DeviceFaults = DeviceFaults()
    validation: Literal["two-phase", "immediate"] = Field(
        default="two-phase",
        description=(
            "VRP only: how the system view takes lines. two-phase (VRP8): they edit a candidate that "
            "`commit` or `commit trial` makes live, prompts `[~host]`/`[*host]`; immediate (VRP5, as "
            "AR V200R/V300R releases): each line is live once typed, prompt `[host]`, no commit"
        ),
    )
    timer_minute_seconds: float = Field(
        default=60.0,
        gt=0,
        description="how long one minute of the device's own timers lasts (IOS-XE revert timer, VRP commit trial, FortiOS cfg-revert-timeout); tests shorten it",
    )


class EmulatorSpec(BaseModel):
    """A whole emulator: devices plus the one login they all share."""

    model_config = ConfigDict(extra="forbid")

    username: str = "admin"
    devices: list[EmulatedDevice]

    @classmethod
    def load(cls, path: Path) -> EmulatorSpec:
        """A spec file read by the inventory's safe reader (a regular file, size and alias limits,
        no tags); anything wrong is an EmulatorSpecError naming each file, line and field."""
        try:
            return read_model(cls, path, limit=MAX_SPEC_BYTES)
        except InventoryError as exc:
            raise EmulatorSpecError.of(exc) from None
