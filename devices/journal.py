"""Push run journals: `.storestack/runs/<run-id>.json`, rewritten atomically after every change.

Same place, run ids and file mode as the step journals of `storestack.common.journal`; the
content is the push's RunReport (per-appliance results), which is also the `--json` output.

The journal is written when the run starts (every appliance `pending`), when an appliance
starts (`running`, changed unknown) and when it finishes. A run killed at any moment therefore
leaves a journal that tells the truth, and `--only-failed` can pick up what did not finish.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from storestack.common.files import atomic_write_text
from storestack.common.journal import RUNS_DIR, new_run_id
from storestack.devices.report import DONE_OUTCOMES, RunReport

DEFAULT_RUNS_DIR = RUNS_DIR
__all__ = ["DEFAULT_RUNS_DIR", "RunJournal", "last_push_run", "load_run", "new_run_id", "unfinished_names"]


class RunJournal:
    def __init__(self, runs_dir: Path, report: RunReport) -> None:
        self.runs_dir = Path(runs_dir)
        self.report = report

    @property
    def path(self) -> Path:
        return self.runs_dir / f"{self.report.run_id}.json"

    def write(self) -> Path:
        self.report.summarise()
        atomic_write_text(self.path, self.report.model_dump_json(indent=2) + "\n", mode=0o600)
        return self.path


def load_run(path: Path) -> RunReport:
    return RunReport.model_validate_json(Path(path).read_text(encoding="utf-8"))


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
            report = RunReport.model_validate(data)
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
