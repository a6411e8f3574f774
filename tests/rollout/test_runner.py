import json
from pathlib import Path

import pytest

from storestack.common.journal import JournalError, RunSteps, StepStatus, load_steps_journal, steps_journal
from storestack.rollout.runner import Step, StepFailed, StepOutcome, run_steps


class Calls:
    def __init__(self, fail_at: str | None = None) -> None:
        self.fail_at = fail_at
        self.ran: list[str] = []

    def step(self, name: str) -> Step["Calls"]:
        def run(ctx: Calls) -> StepOutcome:
            ctx.ran.append(name)
            if ctx.fail_at == name:
                raise StepFailed(f"{name} broke", rollback="rolled back")
            return StepOutcome(summary=f"{name} ok", data={"lines": 3})

        return Step(name=name, title=name.title(), run=run)


NAMES = ["validate", "plan", "push", "verify"]


def test_failure_is_journaled_and_resume_continues_from_failed_step(tmp_path: Path) -> None:
    journal = RunSteps.start("rollout", {"nw-0001": NAMES}, {"stores": ["nw-0001"]})
    calls = Calls(fail_at="push")
    assert run_steps(steps_journal(tmp_path, journal), "nw-0001", [calls.step(n) for n in NAMES], calls) is False
    assert calls.ran == ["validate", "plan", "push"]

    on_disk = json.loads((tmp_path / f"{journal.run_id}.json").read_text())
    steps = {s["name"]: s for s in on_disk["subjects"]["nw-0001"]["steps"]}
    assert steps["plan"]["status"] == "done"
    assert steps["push"]["status"] == "failed"
    assert steps["push"]["error"] == "push broke"
    assert steps["push"]["rollback"] == "rolled back"
    assert steps["verify"]["status"] == "pending"

    resumed = load_steps_journal(tmp_path, journal.run_id)
    retry = Calls()
    assert run_steps(resumed, "nw-0001", [retry.step(n) for n in NAMES], retry)
    assert retry.ran == ["push", "verify"]
    assert load_steps_journal(tmp_path, journal.run_id).record.subjects["nw-0001"].status is StepStatus.DONE


def test_unexpected_exception_is_recorded_not_lost(tmp_path: Path) -> None:
    def boom(ctx: object) -> StepOutcome:
        raise RuntimeError("socket closed")

    journal = RunSteps.start("rollout", {"s": ["push"]}, {})
    assert not run_steps(steps_journal(tmp_path, journal), "s", [Step("push", "Push", boom)], object())
    record = load_steps_journal(tmp_path, journal.run_id).record.subjects["s"].step("push")
    assert record.status is StepStatus.FAILED
    assert record.error == "RuntimeError: socket closed"


def test_journal_file_is_private(tmp_path: Path) -> None:
    journal = RunSteps.start("push", {"a": ["x"]}, {})
    path = steps_journal(tmp_path, journal).save()
    assert path.stat().st_mode & 0o777 == 0o600


def test_missing_journal_names_recent_runs(tmp_path: Path) -> None:
    steps_journal(tmp_path, RunSteps.start("rollout", {"a": ["x"]}, {})).save()
    with pytest.raises(JournalError, match="recent runs: rollout-"):
        load_steps_journal(tmp_path, "rollout-nope")
