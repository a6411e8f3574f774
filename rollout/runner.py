"""Journaled, resumable execution of named steps per subject (a store, or the fleet).

Each step's outcome is written to the journal before the next step starts, so `--resume`
continues from the first step that did not finish, and the journal never claims more than
what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from storestack.common.journal import Journal, RunSteps, StepRecord, StepStatus, now
from storestack.rollout.errors import RolloutError

ContextT = TypeVar("ContextT")


class StepFailed(RolloutError):
    """A step failed in a way it understands; `rollback` says what it undid, if anything."""

    def __init__(
        self, message: str, *, rollback: str | None = None, data: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.rollback = rollback
        self.data = data or {}


@dataclass
class StepOutcome:
    summary: str
    data: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False


@dataclass(frozen=True)
class Step(Generic[ContextT]):
    name: str
    title: str
    run: Callable[[ContextT], StepOutcome]


StepEvent = Callable[[str, StepRecord], None]


def update_step(journal: Journal[RunSteps], subject: str, step: str, **changes: Any) -> StepRecord:
    """Change one step's record and save the journal before anything else happens; safe from
    parallel subjects (the journal's lock covers the change and the save)."""
    with journal.lock:
        record = journal.record.subjects[subject].step(step)
        for key, value in changes.items():
            setattr(record, key, value)
        journal.save()
        return record.model_copy()


def finish_run(journal: Journal[RunSteps]) -> None:
    with journal.lock:
        journal.record.finished = True
        journal.save()


def run_steps(
    journal: Journal[RunSteps],
    subject: str,
    steps: list[Step[ContextT]],
    context: ContextT,
    on_event: StepEvent | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    before_step: Callable[[str], None] | None = None,
) -> bool:
    """Run the steps of `subject` that have not finished yet. Returns True when all are done.

    `before_step(name)` may wait before a step starts (the journal still says pending)."""
    record = journal.record.subjects[subject]
    for step in steps:
        if record.step(step.name).status in (StepStatus.DONE, StepStatus.SKIPPED):
            continue
        if before_step is not None:
            before_step(step.name)
        if should_stop():
            return False
        started = update_step(
            journal,
            subject,
            step.name,
            status=StepStatus.RUNNING,
            started_at=now(),
            finished_at=None,
            error=None,
            rollback=None,
        )
        if on_event:
            on_event(subject, started)
        try:
            outcome = step.run(context)
        except StepFailed as exc:
            failed = update_step(
                journal,
                subject,
                step.name,
                status=StepStatus.FAILED,
                finished_at=now(),
                error=str(exc),
                rollback=exc.rollback,
                data=exc.data,
            )
            if on_event:
                on_event(subject, failed)
            return False
        except Exception as exc:  # an unexpected error must still land in the journal
            failed = update_step(
                journal,
                subject,
                step.name,
                status=StepStatus.FAILED,
                finished_at=now(),
                error=f"{type(exc).__name__}: {exc}",
            )
            if on_event:
                on_event(subject, failed)
            return False
        done = update_step(
            journal,
            subject,
            step.name,
            status=StepStatus.SKIPPED if outcome.skipped else StepStatus.DONE,
            finished_at=now(),
            summary=outcome.summary,
            data=outcome.data,
        )
        if on_event:
            on_event(subject, done)
    return True
