"""The one journal type: push and rollout runs share its file layout, writer and event log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storestack.common.journal import (
    Journal,
    JournalError,
    RunSteps,
    load_steps_journal,
    steps_journal,
)
from storestack.devices.journal import last_push_run, load_run, push_journal
from storestack.devices.report import DeviceResult, RunReport


def a_push(run_id: str) -> RunReport:
    return RunReport(
        run_id=run_id,
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        concurrency=1,
        devices=[
            DeviceResult(name=name, store_id=None, role="edge", platform="frr", host="h", port=22, outcome="pending")
            for name in ("a", "b")
        ],
    )


def test_push_and_rollout_journals_share_one_layout_and_a_private_writer(tmp_path: Path) -> None:
    rollout = RunSteps.start("rollout", {"nw-0001": ["validate"]}, {"stores": ["nw-0001"]})
    rollout_path = steps_journal(tmp_path, rollout).save()
    push_path = push_journal(tmp_path, a_push("push-20260101T000000-abcd")).save()

    assert rollout_path == tmp_path / f"{rollout.run_id}.json"
    assert push_path == tmp_path / "push-20260101T000000-abcd.json"
    for path in (rollout_path, push_path):
        assert path.stat().st_mode & 0o777 == 0o600
        assert json.loads(path.read_text())["run_id"] == path.stem
    # Each reader finds its own kind and only that.
    assert load_steps_journal(tmp_path, rollout.run_id).record.subjects["nw-0001"].steps[0].name == "validate"
    found = last_push_run(tmp_path)
    assert found is not None and found.run_id == "push-20260101T000000-abcd"
    assert found.summary.total == 2  # brought up to date before the write


def test_events_are_durable_before_the_snapshot_and_replayed_by_readers(tmp_path: Path) -> None:
    report = a_push("push-20260101T000000-ef01")
    journal = push_journal(tmp_path, report, snapshot_interval=3600)
    path = journal.save()
    changed = report.devices[0].model_copy(update={"outcome": "changed", "changed": True})
    report.put_devices([changed])
    journal.append([changed])

    assert '"outcome": "changed"' not in path.read_text()  # the snapshot waits for its interval
    assert journal.events_path.stat().st_mode & 0o777 == 0o600
    assert load_run(path).device("a").outcome == "changed"  # the reader replays the log
    assert Journal.read(path, RunReport).device("a").outcome == "pending"  # a reader without replay: the snapshot

    journal.close()
    assert not journal.events_path.exists()
    assert json.loads(path.read_text())["devices"][0]["outcome"] == "changed"


def test_a_rollout_journal_keeps_its_update_time_and_refuses_garbage(tmp_path: Path) -> None:
    record = RunSteps.start("rollout", {"s": ["push"]}, {})
    record.updated_at = datetime(2000, 1, 1, tzinfo=UTC)
    steps_journal(tmp_path, record).save()
    assert load_steps_journal(tmp_path, record.run_id).record.updated_at.year > 2000

    (tmp_path / "rollout-broken.json").write_text("{not json")
    with pytest.raises(JournalError, match=r"rollout-broken\.json: unreadable run journal"):
        load_steps_journal(tmp_path, "rollout-broken")
