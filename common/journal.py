"""Run journals: one JSON file per run (rollout, push …), rewritten atomically after every step.

A journal is the truth about a run. `--resume RUN` reads it and continues from the first step
that did not finish; a crash at any moment leaves the last completed step recorded.

Every kind of run keeps its journal the same way: `<runs dir>/<run id>.json` (`journal_path`),
written atomically with mode 0600 (`write_journal`), run ids from `new_run_id`. A rollout's
content is the step journal below (`RunJournal`); a push's is its RunReport, written by
`storestack.devices.journal.PushJournal` through the same two functions.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from storestack.common.errors import CommonFamily, UsageError
from storestack.common.files import atomic_write_text

RUNS_DIR = Path(".storestack") / "runs"


class JournalError(CommonFamily, UsageError):
    """A journal could not be found or read."""


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


def now() -> datetime:
    return datetime.now(UTC)


def journal_path(runs_dir: Path, run_id: str) -> Path:
    return runs_dir / f"{run_id}.json"


def write_journal(path: Path, content: BaseModel) -> Path:
    """Atomic: a crash leaves the previous journal, never half of one. 0600: a journal names
    appliances, addresses and options."""
    atomic_write_text(path, content.model_dump_json(indent=2) + "\n", mode=0o600)
    return path


def new_run_id(kind: str) -> str:
    """Sortable by time, unique without coordination: `rollout-20261125T134501-3f9a`."""
    return f"{kind}-{now().strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(2)}"


class StepRecord(BaseModel):
    name: str
    status: StepStatus = StepStatus.PENDING
    started_at: datetime | None = None
    finished_at: datetime | None = None
    summary: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    rollback: str | None = None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class SubjectRecord(BaseModel):
    """The steps of one subject of a run (a store, or `fleet` for the shared steps)."""

    subject: str
    steps: list[StepRecord]

    def step(self, name: str) -> StepRecord:
        for record in self.steps:
            if record.name == name:
                return record
        raise KeyError(name)

    @property
    def status(self) -> StepStatus:
        statuses = {step.status for step in self.steps}
        if StepStatus.FAILED in statuses:
            return StepStatus.FAILED
        if statuses <= {StepStatus.DONE, StepStatus.SKIPPED}:
            return StepStatus.DONE
        if StepStatus.RUNNING in statuses:
            return StepStatus.RUNNING
        return StepStatus.PENDING


class RunJournal(BaseModel):
    run_id: str
    kind: str
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    options: dict[str, Any] = Field(default_factory=dict)
    subjects: dict[str, SubjectRecord] = Field(default_factory=dict)
    finished: bool = False

    @classmethod
    def start(cls, kind: str, subjects: dict[str, list[str]], options: dict[str, Any]) -> RunJournal:
        return cls(
            run_id=new_run_id(kind),
            kind=kind,
            options=options,
            subjects={
                name: SubjectRecord(subject=name, steps=[StepRecord(name=step) for step in steps])
                for name, steps in subjects.items()
            },
        )

    def path(self, runs_dir: Path) -> Path:
        return journal_path(runs_dir, self.run_id)

    def save(self, runs_dir: Path) -> Path:
        self.updated_at = now()
        return write_journal(self.path(runs_dir), self)

    @classmethod
    def load(cls, runs_dir: Path, run_id: str) -> RunJournal:
        path = journal_path(runs_dir, run_id)
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            known = sorted(p.stem for p in runs_dir.glob("*.json")) if runs_dir.is_dir() else []
            hint = f"; recent runs: {', '.join(known[-5:])}" if known else ""
            raise JournalError(f"no run journal {path}{hint}") from None
        except (ValueError, OSError) as exc:
            raise JournalError(f"{path}: unreadable run journal ({exc})") from None

    @classmethod
    def latest(cls, runs_dir: Path, kind: str) -> RunJournal | None:
        if not runs_dir.is_dir():
            return None
        candidates = sorted(runs_dir.glob(f"{kind}-*.json"))
        return cls.load(runs_dir, candidates[-1].stem) if candidates else None
