"""What a push did, per appliance and per run. Everything here is already redacted.

These models are the run journal's content (`.storestack/runs/<run-id>.json`) and the `--json`
output, so their field names are a public format: add fields, do not rename them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from storestack.devices.targets import ApplianceTarget

Outcome = Literal[
    "changed", "unchanged", "planned", "failed", "reverted-by-appliance", "skipped", "pending", "running"
]
# Outcomes of an appliance whose push did not do its job (it needs a fix and a rerun).
FAILED_OUTCOMES: frozenset[str] = frozenset({"failed", "reverted-by-appliance"})

# Outcomes after which an appliance needs no retry.
DONE_OUTCOMES: frozenset[str] = frozenset({"changed", "unchanged", "planned"})


class RollbackResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ok: bool = Field(description="running config equals the backup again")
    lines_sent: int = 0
    passes: int = 0
    reconnected: bool = Field(default=False, description="the failed session was replaced by a new one")
    running_matches_backup: bool | None = None
    byte_identical: bool | None = Field(
        default=None, description="running config text equals the backup byte for byte"
    )
    health_restored: bool | None = Field(
        default=None, description="sessions/interfaces up before the push are up again"
    )
    rejected_lines: list[str] = []
    residual: list[str] = Field(default=[], description="lines still differing from the backup (redacted)")
    error: str | None = None


class CommitConfirmResult(BaseModel):
    """The appliance's own rollback timer around one change (arm ▸ change ▸ verify ▸ confirm)."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: int = Field(description="seconds the appliance waits before it reverts by itself")
    arm: list[str] = Field(default=[], description="commands that armed it (or the commit that did)")
    armed: bool = False
    confirmed: bool = False
    confirm: list[str] = []
    reverted_by_appliance: bool = Field(
        default=False, description="the session was lost and the appliance went back to its backup by itself"
    )
    waited_s: float | None = Field(
        default=None, description="from the lost session until the backup was seen again"
    )


CompanionStatus = Literal["unchanged", "planned", "changed", "failed", "not-taken"]


class CompanionResult(BaseModel):
    """One companion file of the appliance's host (FRR: nftables.conf, swanctl.conf …) in a push."""

    model_config = ConfigDict(extra="forbid")

    name: str
    status: CompanionStatus = Field(
        description="unchanged: the appliance has it already; planned: a dry run would install it; changed: "
        "installed; failed: not installed, or put back after the push failed; not-taken: the appliance's allow-list has no such file, nothing sent"
    )
    sha256_before: str | None = Field(default=None, description="the appliance's file before (None: none there)")
    sha256_intended: str
    change_lines: int = Field(default=0, description="lines added or removed")
    diff: str | None = Field(default=None, description="unified diff appliance → intended (redacted); dry runs")
    ends_sessions: list[str] = Field(
        default_factory=list,
        description="the live sessions installing it ends (FRR swanctl.conf: the IKE_SAs of the connections it drops, "
        "a decommissioned store's tunnels)",
    )


class DeviceResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    store_id: str | None
    role: str
    platform: str
    host: str
    port: int
    wave: int = 0
    step: Literal["union", "final"] | None = Field(
        default=None,
        description="a hub pushed twice in a fleet change (--fleet-before): 'union', its first push with the hubs, "
        "holding its store tunnels and hub sessions before and after the change; 'final', its own config after "
        "the stores. None: the appliance's one push",
    )
    outcome: Outcome = "pending"
    changed: bool | None = Field(
        default=False,
        description="the appliance's config differs from before the push at the end; None = unknown (rollback failed)",
    )
    stage: str | None = Field(default=None, description="the stage reached, or the stage that failed")
    error: str | None = None
    error_type: str | None = None
    host_key: Literal["verified", "trusted-first-use"] | None = None
    backup_path: str | None = None
    remediation: list[str] = Field(default=[], description="remediation lines (redacted)")
    rollback_plan: list[str] = Field(default=[], description="intended → running lines (redacted)")
    diff: str | None = Field(default=None, description="unified diff running → intended (redacted); dry runs")
    change_lines: int = 0
    config_lines_sent: int = 0
    findings: list[str] = []
    rollback: RollbackResult | None = None
    commit_confirm: CommitConfirmResult | None = None
    companions: list[CompanionResult] = Field(
        default=[], description="the appliance host's companion files, where the push delivers them"
    )
    started_at: datetime | None = None
    duration_s: float | None = None
    timings: dict[str, float] = {}

    @classmethod
    def for_target(cls, target: ApplianceTarget, **fields: Any) -> DeviceResult:
        """A result that names the appliance the way every report does."""
        return cls(
            name=target.name,
            store_id=target.store_id,
            role=target.role,
            platform=target.platform,
            host=target.host,
            port=target.port,
            **fields,
        )

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES

    @property
    def rollback_failed(self) -> bool:
        return self.rollback is not None and not self.rollback.ok


class RunSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    total: int = 0
    changed: int = 0
    unchanged: int = 0
    planned: int = 0
    failed: int = 0
    skipped: int = 0
    rolled_back: int = 0
    rollback_failed: int = 0
    reverted_by_appliance: int = 0
    config_lines_sent: int = 0


class RunReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["push"] = "push"
    run_id: str
    status: Literal["running", "finished", "interrupted", "stopped"] = "running"
    stop_reason: str | None = None
    dry_run: bool = False
    started_at: datetime
    finished_at: datetime | None = None
    concurrency: int
    canary: int | None = None
    max_failures: int | None = None
    selection: dict[str, str | list[str] | None] = {}
    targets_source: str | None = None
    waves: list[list[str]] = []
    wave_labels: list[str] = Field(default=[], description="'all' (hubs or stores only), or 'hubs' then 'stores' (or 'canary' / 'rest'), with a fleet change then 'hubs-last'")
    retire_after: list[str] = Field(
        default=[],
        description="hubs of a fleet change that the fleet no longer has: decommissioned only once this push finished",
    )
    change: str | None = Field(
        default=None, description="with --fleet-before: the fleet change pushed (the same id for every run of it)"
    )
    devices: list[DeviceResult] = []
    summary: RunSummary = RunSummary()

    @property
    def ok(self) -> bool:
        return self.status == "finished" and all(d.outcome in DONE_OUTCOMES for d in self.devices)

    # (name, wave) -> position in `devices`, rebuilt when it is stale (runs record results
    # thousands of times; a scan per result would be quadratic). A hub of a fleet change can be
    # pushed in two waves (`DeviceResult.step`): one result per push.
    _positions: dict[tuple[str, int], int] = PrivateAttr(default_factory=dict)

    def put_devices(self, devices: list[DeviceResult]) -> None:
        """Put pushes' new results in place of their old ones, by appliance and wave (unknown
        ones are ignored)."""
        for device in devices:
            key = (device.name, device.wave)
            index = self._positions.get(key)
            if index is None or index >= len(self.devices) or (self.devices[index].name, self.devices[index].wave) != key:
                self._positions = {(known.name, known.wave): position for position, known in enumerate(self.devices)}
                index = self._positions.get(key)
            if index is not None:
                self.devices[index] = device

    def device(self, name: str) -> DeviceResult:
        for device in self.devices:
            if device.name == name:
                return device
        raise KeyError(name)

    def names(self, *outcomes: str) -> list[str]:
        return list(dict.fromkeys(d.name for d in self.devices if d.outcome in outcomes))

    @property
    def changed_devices(self) -> list[str]:
        """Appliances whose config is different now (or unknown, after a failed rollback)."""
        return list(dict.fromkeys(d.name for d in self.devices if d.changed is not False))

    def summarise(self) -> RunSummary:
        summary = RunSummary(total=len(self.devices))
        for device in self.devices:
            if device.outcome in ("changed", "unchanged", "planned", "failed", "skipped"):
                setattr(summary, device.outcome, getattr(summary, device.outcome) + 1)
            elif device.outcome == "reverted-by-appliance":
                summary.failed += 1
                summary.reverted_by_appliance += 1
            elif device.outcome in ("pending", "running"):
                summary.skipped += 1
            if device.rollback is not None:
                if device.rollback.ok:
                    summary.rolled_back += 1
                else:
                    summary.rollback_failed += 1
            summary.config_lines_sent += device.config_lines_sent
        self.summary = summary
        return summary
