"""What a rollout did, read back from its journal: per store its steps, timings, what changed,
the state of each layer (inventory, cloud stack, configs, hubs, edge, verification) and, when it
did not finish, the exact command that resumes it. This is also the `--json` document.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from storestack.common.journal import RUNS_DIR, RunSteps, StepRecord, StepStatus, SubjectRecord
from storestack.rollout.environment import DEFAULT_STATE_DIR


class StepSummary(BaseModel):
    name: str
    status: str
    duration_s: float | None
    summary: str
    error: str | None = None
    rollback: str | None = None


class Layer(BaseModel):
    layer: str
    state: str


class StoreSummary(BaseModel):
    store: str
    status: str
    active: bool
    changed: bool
    lines_pushed: int
    resources: int | None
    resource_change: str | None
    checks: dict[str, int]
    failed_step: str | None
    steps: list[StepSummary]
    layers: list[Layer]

    @property
    def duration_s(self) -> float:
        return round(sum(step.duration_s or 0.0 for step in self.steps), 2)


class RolloutSummary(BaseModel):
    run_id: str
    journal: str
    outputs_mode: str
    dry_run: bool
    ok: bool
    nothing_to_do: bool
    nothing_changed: bool
    stores: list[StoreSummary]
    resume_command: str | None
    totals: dict[str, Any]


def _data(subject: SubjectRecord, step: str) -> dict[str, Any]:
    return subject.step(step).data


def _devices(subject: SubjectRecord, role: str) -> list[dict[str, Any]]:
    return [d for d in _data(subject, "push").get("devices", []) if d.get("role") == role]


def _describe_devices(devices: list[dict[str, Any]], record: StepRecord, reused: Sequence[str] = ()) -> str:
    if not devices and not reused:
        return "not pushed" if record.status is not StepStatus.FAILED else f"not pushed ({record.error})"
    parts = list(reused)  # each says whose batch pushed it: "hq-hub1 (pushed for the batch with nw-0001)"
    for device in devices:
        if device["outcome"] == "failed":
            rollback = device.get("rollback")
            if rollback is None:
                tail = "nothing was sent"
            elif rollback.get("ok"):
                tail = "rolled back to its backup"
            else:
                tail = f"ROLLBACK FAILED, restore {device.get('backup')}"
            parts.append(f"{device['name']} failed at {device.get('stage')} ({tail})")
        else:
            parts.append(f"{device['name']} {device['outcome']} ({device['lines_sent']} lines)")
    return "; ".join(parts)


def layers(subject: SubjectRecord) -> list[Layer]:
    """The state of every layer of one store, from what its steps recorded."""

    def status(step: str) -> StepRecord:
        return subject.step(step)

    validate, plan, up, render, push, verify = (
        status(name) for name in ("validate", "plan", "up", "render", "push", "verify")
    )

    def text(record: StepRecord, done: str, pending: str) -> str:
        if record.status in (StepStatus.DONE, StepStatus.SKIPPED):
            return done
        if record.status is StepStatus.FAILED:
            return f"FAILED: {record.error}"
        return pending

    stack = (
        text(up, up.summary, "not up")
        if up.status is not StepStatus.PENDING
        else text(plan, f"planned, not up ({plan.summary})", "not planned")
    )
    return [
        Layer(layer="inventory", state=text(validate, validate.summary, "not validated")),
        Layer(layer="cloud stack", state=stack),
        Layer(layer="device configs", state=text(render, render.summary, "not rendered")),
        Layer(
            layer="hubs",
            state=_describe_devices(_devices(subject, "hub"), push, push.data.get("hubs_already_pushed", [])),
        ),
        Layer(layer="store edge", state=_describe_devices(_devices(subject, "edge"), push)),
        Layer(layer="verification", state=text(verify, verify.summary, "not run")),
    ]


def _changed(subject: SubjectRecord, dry_run: bool) -> bool:
    if dry_run:
        return False
    plan = _data(subject, "plan")
    up = _data(subject, "up")
    live_changes = {k: v for k, v in (up.get("changes") or {}).items() if k != "same" and v}
    return bool(
        _data(subject, "validate").get("new_allocation")
        or plan.get("change") in ("new", "changed")
        or live_changes
        or _data(subject, "push").get("lines_sent", 0)
    )


def store_summary(subject: SubjectRecord, titles: dict[str, str], dry_run: bool) -> StoreSummary:
    failed = next((s.name for s in subject.steps if s.status is StepStatus.FAILED), None)
    verify = _data(subject, "verify")
    plan = _data(subject, "plan")
    return StoreSummary(
        store=subject.subject,
        status=subject.status.value,
        active=subject.step("activate").status is StepStatus.DONE,
        changed=_changed(subject, dry_run),
        lines_pushed=int(_data(subject, "push").get("lines_sent", 0)),
        resources=plan.get("resources"),
        resource_change=plan.get("change"),
        checks={k: int(verify.get(k, 0)) for k in ("passed", "failed", "skipped")},
        failed_step=failed,
        steps=[
            StepSummary(
                name=s.name,
                status=s.status.value,
                duration_s=round(s.duration_s, 2) if s.duration_s is not None else None,
                summary=s.summary or titles.get(s.name, ""),
                error=s.error,
                rollback=s.rollback,
            )
            for s in subject.steps
        ],
        layers=layers(subject),
    )


def resume_command(run_id: str, state_dir: Path) -> str:
    command = f"storestack rollout --resume {run_id}"
    if state_dir != DEFAULT_STATE_DIR:
        command += f" --state-dir {state_dir}"
    return command


def summarise(
    journal: RunSteps,
    *,
    state_dir: Path,
    outputs_mode: str,
    titles: dict[str, str],
    nothing_to_do: bool = False,
) -> RolloutSummary:
    dry_run = bool(journal.options.get("dry_run"))
    stores = [store_summary(subject, titles, dry_run) for subject in journal.subjects.values()]
    ok = all(store.status == StepStatus.DONE.value for store in stores)
    return RolloutSummary(
        run_id=journal.run_id,
        journal=str(state_dir / RUNS_DIR.name / f"{journal.run_id}.json"),
        outputs_mode=outputs_mode,
        dry_run=dry_run,
        ok=ok,
        nothing_to_do=nothing_to_do,
        nothing_changed=ok and not dry_run and not any(store.changed for store in stores),
        stores=stores,
        resume_command=None if ok else resume_command(journal.run_id, state_dir),
        totals={
            "stores": len(stores),
            "active": sum(1 for s in stores if s.active),
            "failed": sum(1 for s in stores if s.status == StepStatus.FAILED.value),
            "lines_pushed": sum(s.lines_pushed for s in stores),
            "checks_passed": sum(s.checks["passed"] for s in stores),
            "checks_skipped": sum(s.checks["skipped"] for s in stores),
            "resources": sum(s.resources or 0 for s in stores),
        },
    )
