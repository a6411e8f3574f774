"""Push run journals: the run's RunReport kept by the one journal type (`common.journal.Journal`).

Same file, run ids, file mode and event log as every run journal; the record is the push's
RunReport (per-appliance results), which is also the `--json` output.

Every change of an appliance (started: `running`, changed unknown; finished: its result) goes to
the event log, flushed to disk before the run goes on, so a run killed at any moment leaves a
journal that tells the truth. Rewriting the whole report for every event would cost
O(appliances²) on a big fleet, so the report itself is rewritten at most every
`SNAPSHOT_INTERVAL_S` and at the end, when the event log is removed. `load_run` replays any
events left over onto the report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from storestack.common.journal import RUNS_DIR, Journal, new_run_id
from storestack.devices.report import DONE_OUTCOMES, DeviceResult, RunReport

DEFAULT_RUNS_DIR = RUNS_DIR
SNAPSHOT_INTERVAL_S = 2.0
__all__ = [
    "DEFAULT_RUNS_DIR",
    "last_push_run",
    "load_run",
    "new_run_id",
    "push_journal",
    "record_devices",
    "unfinished_names",
]


def push_journal(runs_dir: Path, report: RunReport, *, snapshot_interval: float = SNAPSHOT_INTERVAL_S) -> Journal[RunReport]:
    """The journal of one push run; its summary is recomputed before every write."""
    return Journal(runs_dir, report, snapshot_interval=snapshot_interval, before_save=RunReport.summarise)


def record_devices(journal: Journal[RunReport], devices: list[DeviceResult]) -> None:
    """Make several appliances' new states durable now, with one flush to disk; the report
    follows within the snapshot interval."""
    with journal.lock:
        journal.record.put_devices(devices)
        journal.append(devices)


def _replay(report: RunReport, lines: list[str]) -> None:
    events = []
    for line in lines:
        try:
            events.append(DeviceResult.model_validate_json(line))
        except ValidationError:
            continue  # a line torn by the kill: the state before it stands
    report.put_devices(events)
    report.summarise()


def load_run(path: Path) -> RunReport:
    """A run's report, with the events of a run that was cut off replayed onto it."""
    return Journal.read(Path(path), RunReport, _replay)


def _push_runs(runs_dir: Path) -> Iterator[RunReport]:
    """Every push run recorded in `runs_dir` (other kinds of journals, and unreadable ones, skipped)."""
    for path in Journal.files(runs_dir, "push"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("kind") != "push":
                continue
            report = load_run(path)
        except (OSError, ValueError):
            continue
        yield report


def last_push_run(runs_dir: Path = DEFAULT_RUNS_DIR, *, dry_run: bool | None = None) -> RunReport | None:
    """The most recent push run recorded in `runs_dir` (other kinds of journals are skipped)."""
    found = [report for report in _push_runs(runs_dir) if dry_run is None or report.dry_run == dry_run]
    if not found:
        return None
    return max(found, key=lambda report: (report.started_at, report.run_id))


def pushed_in_change(runs_dir: Path, change: str) -> set[str]:
    """Appliances an earlier push (not a dry run) of the fleet change `change` left ok in their
    config after the change (a hub's first push of two, `step` "union", is not that)."""
    return {
        device.name
        for report in _push_runs(runs_dir)
        if report.change == change and not report.dry_run
        for device in report.devices
        if device.outcome in DONE_OUTCOMES and device.step != "union"
    }


def unfinished_names(report: RunReport) -> list[str]:
    """Appliances of a run that did not reach a good end: failed, never started, or cut off
    mid-push (a hub pushed twice in a fleet change, once, whichever of its pushes it was)."""
    return list(dict.fromkeys(device.name for device in report.devices if device.outcome not in DONE_OUTCOMES))
