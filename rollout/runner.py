"""Journaled, resumable execution of named steps per subject (a store, or the fleet).

Each step's outcome is written to the journal before the next step starts, so `--resume`
continues from the first step that did not finish, and the journal never claims more than
what happened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from storestack.common.journal import RunJournal, StepRecord, StepStatus, now
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


class JournalWriter:
    """Serialises journal updates from parallel subjects; every update is saved atomically."""

    def __init__(self, journal: RunJournal, runs_dir: Path) -> None:
        self.journal = journal
        self.runs_dir = runs_dir
        self._lock = threading.Lock()

    def update(self, subject: str, step: str, **changes: Any) -> StepRecord:
        with self._lock:
            record = self.journal.subjects[subject].step(step)
            for key, value in changes.items():
                setattr(record, key, value)
            self.journal.save(self.runs_dir)
            return record.model_copy()

    def finish(self) -> None:
        with self._lock:
            self.journal.finished = True
            self.journal.save(self.runs_dir)


def run_steps(
    writer: JournalWriter,
    subject: str,
    steps: list[Step[ContextT]],
    context: ContextT,
    on_event: StepEvent | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    before_step: Callable[[str], None] | None = None,
) -> bool:
    """Run the steps of `subject` that have not finished yet. Returns True when all are done.

    `before_step(name)` may wait before a step starts (the journal still says pending)."""
    record = writer.journal.subjects[subject]
    for step in steps:
        if record.step(step.name).status in (StepStatus.DONE, StepStatus.SKIPPED):
            continue
        if before_step is not None:
            before_step(step.name)
        if should_stop():
            return False
        started = writer.update(
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
            failed = writer.update(
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
            failed = writer.update(
                subject,
                step.name,
                status=StepStatus.FAILED,
                finished_at=now(),
                error=f"{type(exc).__name__}: {exc}",
            )
            if on_event:
                on_event(subject, failed)
            return False
        done = writer.update(
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
