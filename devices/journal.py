"""Push run journals: `.storestack/runs/<run-id>.json`, plus an append-only event log while running.

Same place, run ids and file mode as every run journal (`storestack.common.journal`); the
content is the push's RunReport (per-appliance results), which is also the `--json` output.

Every change of an appliance (started: `running`, changed unknown; finished: its result) is
appended to `<run-id>.events.jsonl` and flushed to disk before the run goes on, so a run killed
at any moment leaves a journal that tells the truth. Rewriting the whole report for every event
would cost O(appliances²) on a big fleet, so the report itself is rewritten atomically at most
every `snapshot_interval` seconds and at the end, when the event log is removed. `load_run`
replays any events left over onto the report.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from storestack.common.journal import RUNS_DIR, journal_path, new_run_id, write_journal
from storestack.devices.report import DONE_OUTCOMES, DeviceResult, RunReport

DEFAULT_RUNS_DIR = RUNS_DIR
__all__ = ["DEFAULT_RUNS_DIR", "PushJournal", "last_push_run", "load_run", "new_run_id", "unfinished_names"]


class PushJournal:
    """Writes one push run's journal: its RunReport, with every appliance's change made durable
    in the event log first."""

    def __init__(self, runs_dir: Path, report: RunReport, *, snapshot_interval: float = 2.0) -> None:
        self.runs_dir = Path(runs_dir)
        self.report = report
        self.snapshot_interval = snapshot_interval
        self._last_snapshot = 0.0
        self._events: IO[str] | None = None
        self._index: dict[str, int] | None = None

    @property
    def path(self) -> Path:
        return journal_path(self.runs_dir, self.report.run_id)

    @property
    def events_path(self) -> Path:
        return events_path(self.path)

    def write(self) -> Path:
        """Rewrite the whole report atomically."""
        self.report.summarise()
        write_journal(self.path, self.report)
        self._last_snapshot = time.monotonic()
        return self.path

    def record(self, device: DeviceResult) -> None:
        """Make one appliance's new state durable now; the report follows within the interval."""
        self.record_many([device])

    def record_many(self, devices: list[DeviceResult]) -> None:
        """Make several appliances' new states durable with one flush to disk (one fsync costs
        as much as a small push's whole diff on a busy disk, and the run waits for it)."""
        if not devices:
            return
        if self._index is None or len(self._index) != len(self.report.devices):
            self._index = {known.name: index for index, known in enumerate(self.report.devices)}
        if self._events is None:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.events_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._events = os.fdopen(fd, "a", encoding="utf-8")
        for device in devices:
            index = self._index.get(device.name)
            if index is not None:
                self.report.devices[index] = device
            self._events.write(device.model_dump_json() + "\n")
        self._events.flush()
        os.fsync(self._events.fileno())
        if time.monotonic() - self._last_snapshot >= self.snapshot_interval:
            self.write()

    def close(self) -> Path:
        """Final report; the event log is no longer needed once the report holds everything."""
        path = self.write()
        if self._events is not None:
            self._events.close()
            self._events = None
        self.events_path.unlink(missing_ok=True)
        return path


def events_path(report_path: Path) -> Path:
    return report_path.with_name(report_path.stem + ".events.jsonl")


def load_run(path: Path) -> RunReport:
    """A run's report, with the events of a run that was cut off replayed onto it."""
    report = RunReport.model_validate_json(Path(path).read_text(encoding="utf-8"))
    return _replay(report, Path(path))


def _replay(report: RunReport, path: Path) -> RunReport:
    log = events_path(path)
    if not log.is_file():
        return report
    by_name = {device.name: index for index, device in enumerate(report.devices)}
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            device = DeviceResult.model_validate_json(line)
        except ValidationError:
            continue  # a line torn by the kill: the state before it stands
        if device.name in by_name:
            report.devices[by_name[device.name]] = device
    report.summarise()
    return report


def last_push_run(runs_dir: Path = DEFAULT_RUNS_DIR, *, dry_run: bool | None = None) -> RunReport | None:
    """The most recent push run recorded in `runs_dir` (other kinds of journals are skipped)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return None
    found: list[RunReport] = []
    for path in runs_dir.glob("push-*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("kind") != "push":
                continue
            report = _replay(RunReport.model_validate(data), path)
        except (OSError, json.JSONDecodeError, ValidationError):
            continue
        if dry_run is None or report.dry_run == dry_run:
            found.append(report)
    if not found:
        return None
    return max(found, key=lambda report: (report.started_at, report.run_id))


def unfinished_names(report: RunReport) -> list[str]:
    """Appliances of a run that did not reach a good end: failed, never started, or cut off mid-push."""
    return [device.name for device in report.devices if device.outcome not in DONE_OUTCOMES]
