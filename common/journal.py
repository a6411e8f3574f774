"""Run journals: the one journal type (`Journal`) every kind of run (push, rollout) keeps.

A journal is the truth about a run. `--resume RUN` reads it and continues from what did not
finish; a crash at any moment leaves the last recorded state on disk.

One file layout and one writer for every run: the run's record (a pydantic model with `run_id`
and `kind`: a rollout's `RunSteps` below, a push's `RunReport`) in `<runs dir>/<run id>.json`,
rewritten atomically with mode 0600; run ids from `new_run_id`. A run that changes state faster
than it should rewrite the whole record (a push of thousands of appliances) appends each change
to `<run id>.events.jsonl` first, flushed to disk, and rewrites the record at most every
`snapshot_interval` seconds; readers replay what the log holds beyond the record.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from pydantic import BaseModel, Field

from storestack.common.errors import CommonFamily, UsageError
from storestack.common.files import atomic_write_text

RUNS_DIR = Path(".storestack") / "runs"
JOURNAL_FILE_MODE = 0o600


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
    return Path(runs_dir) / f"{run_id}.json"


def events_path(path: Path) -> Path:
    """The event log beside a journal file."""
    return path.with_name(path.stem + ".events.jsonl")


@contextmanager
def live_run(runs_dir: Path, run_id: str) -> Iterator[None]:
    """Run `run_id` is live in this process while inside: an exclusive lock on `<run-id>.live`
    beside its journal, holding this process's id, which the system releases when the process
    ends however it ends (a run killed outright is not live). Another process inside already (the
    run going on, being resumed or discarded): JournalError naming its process, nothing done."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = runs_dir / f"{run_id}.live"
    fd = _locked_file(path)
    if isinstance(fd, str):
        raise JournalError(f"run {run_id} is running (pid {fd}): stop it (Ctrl-C) or let it end first")
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)  # under the lock: one who opens it later finds none held
    finally:
        os.close(fd)


def _locked_file(path: Path) -> int | str:
    """An open descriptor of `path` (made if need be) holding its exclusive lock; what the file
    says (its holder's process id) when another process holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, JOURNAL_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            return holder
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # removed by the holder it waited on as it ended: lock the file there now


def new_run_id(kind: str) -> str:
    """Sortable by time, unique without coordination: `rollout-20261125T134501-3f9a`."""
    return f"{kind}-{now().strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(2)}"


Record = TypeVar("Record", bound=BaseModel)
# Applies the event log's lines (oldest first) to a record read from its journal file.
Replay = Callable[[Any, list[str]], None]


class Journal(Generic[Record]):
    """One run's journal: its record, the file that holds it, and its event log.

    Safe to use from several threads: `lock` serialises changes to the record with its saving
    (`save` and `append` take it themselves). `before_save` brings derived fields of the record
    up to date (a push's summary, a rollout's `updated_at`) before each write."""

    def __init__(
        self,
        runs_dir: Path,
        record: Record,
        *,
        snapshot_interval: float = 0.0,
        before_save: Callable[[Record], object] | None = None,
    ) -> None:
        self.runs_dir = Path(runs_dir)
        self.record = record
        self.snapshot_interval = snapshot_interval
        self.before_save = before_save
        self.lock = threading.RLock()
        self._last_snapshot = 0.0
        self._events: IO[str] | None = None

    @property
    def run_id(self) -> str:
        run_id: str = getattr(self.record, "run_id")  # noqa: B009 - every record has one; BaseModel does not say so
        return run_id

    @property
    def path(self) -> Path:
        return journal_path(self.runs_dir, self.run_id)

    @property
    def events_path(self) -> Path:
        return events_path(self.path)

    def save(self) -> Path:
        """Rewrite the whole record. Atomic: a crash leaves the previous journal, never half of
        one. 0600: a journal names appliances, addresses and options."""
        with self.lock:
            if self.before_save is not None:
                self.before_save(self.record)
            text = self.record.model_dump_json(indent=2) + "\n"
            atomic_write_text(self.path, text, mode=JOURNAL_FILE_MODE)
            self._last_snapshot = time.monotonic()
            return self.path

    def append(self, events: Iterable[BaseModel]) -> None:
        """Make changes durable now, as lines of the event log, with one flush to disk (one fsync
        costs as much as a small push's whole diff on a busy disk, and the run waits for it);
        the record itself is rewritten once `snapshot_interval` has passed since the last time.
        The caller has applied the changes to the record already."""
        with self.lock:
            lines = [event.model_dump_json() + "\n" for event in events]
            if not lines:
                return
            if self._events is None:
                self.runs_dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.events_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, JOURNAL_FILE_MODE)
                self._events = os.fdopen(fd, "a", encoding="utf-8")
            self._events.write("".join(lines))
            self._events.flush()
            os.fsync(self._events.fileno())
            if time.monotonic() - self._last_snapshot >= self.snapshot_interval:
                self.save()

    def close(self) -> Path:
        """The final record; the event log is no longer needed once the record holds everything."""
        with self.lock:
            path = self.save()
            if self._events is not None:
                self._events.close()
                self._events = None
            self.events_path.unlink(missing_ok=True)
            return path

    @staticmethod
    def read(path: Path, model: type[Record], replay: Replay | None = None) -> Record:
        """The record in a journal file, with the events of a run that was cut off replayed onto
        it. Raises what reading or validating raises (OSError, ValueError)."""
        path = Path(path)
        record = model.model_validate_json(path.read_text(encoding="utf-8"))
        log = events_path(path)
        if replay is not None and log.is_file():
            replay(record, log.read_text(encoding="utf-8").splitlines())
        return record

    @classmethod
    def load(
        cls, runs_dir: Path, run_id: str, model: type[Record], replay: Replay | None = None, **options: Any
    ) -> Journal[Record]:
        """The journal of run `run_id`, to read or to go on writing (`--resume`)."""
        path = journal_path(runs_dir, run_id)
        try:
            record = cls.read(path, model, replay)
        except FileNotFoundError:
            known = sorted(p.stem for p in Path(runs_dir).glob("*.json")) if Path(runs_dir).is_dir() else []
            hint = f"; recent runs: {', '.join(known[-5:])}" if known else ""
            raise JournalError(f"no run journal {path}{hint}") from None
        except (ValueError, OSError) as exc:
            raise JournalError(f"{path}: unreadable run journal ({exc})") from None
        return cls(runs_dir, record, **options)

    @staticmethod
    def files(runs_dir: Path, kind: str) -> list[Path]:
        """The journal files of one kind of run, oldest first (run ids sort by time)."""
        runs_dir = Path(runs_dir)
        return sorted(runs_dir.glob(f"{kind}-*.json")) if runs_dir.is_dir() else []


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


class RunSteps(BaseModel):
    """The record of a run made of steps per subject (a rollout): what its journal holds."""

    run_id: str
    kind: str
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    options: dict[str, Any] = Field(default_factory=dict)
    subjects: dict[str, SubjectRecord] = Field(default_factory=dict)
    finished: bool = False
    # When the run was given up (`rollout --discard`): its secrets removed, never to be resumed.
    discarded_at: datetime | None = None

    @classmethod
    def start(cls, kind: str, subjects: dict[str, list[str]], options: dict[str, Any]) -> RunSteps:
        return cls(
            run_id=new_run_id(kind),
            kind=kind,
            options=options,
            subjects={
                name: SubjectRecord(subject=name, steps=[StepRecord(name=step) for step in steps])
                for name, steps in subjects.items()
            },
        )

    def touch(self) -> None:
        """Before each save: the time of the last change."""
        self.updated_at = now()


def steps_journal(runs_dir: Path, record: RunSteps) -> Journal[RunSteps]:
    """The journal of a stepped run, its `updated_at` kept current."""
    return Journal(runs_dir, record, before_save=RunSteps.touch)


def load_steps_journal(runs_dir: Path, run_id: str) -> Journal[RunSteps]:
    return Journal.load(runs_dir, run_id, RunSteps, before_save=RunSteps.touch)
