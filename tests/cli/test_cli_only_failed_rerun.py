"""`devices push --only-failed` after a push that finished every appliance it selected: a CI job
re-run of a finished push is nothing to do, exit 0 and "changed": false (--json too), and no
appliance is reached and no run started."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from testsupport.cli import cli_runner

from storestack.cli.main import cli
from storestack.devices.journal import DEFAULT_RUNS_DIR, new_run_id, push_journal
from storestack.devices.report import DeviceResult, RunReport

# A lab appliance on 127.0.0.1 port 9 (discard: nothing listens): reaching it would fail the run.
TARGETS = "source: lab:test\nappliances:\n  - {name: a1, role: hub, platform: frr, host: 127.0.0.1, port: 9}\n"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    return cli_runner(monkeypatch, tmp_path)


def _finished_run(state: Path, outcome: str) -> str:
    """The journal of a push that ended with appliance a1 `outcome`."""
    report = RunReport(
        run_id=new_run_id("push"), started_at=datetime.now(UTC), concurrency=1, waves=[["a1"]], wave_labels=["all"]
    )
    report.devices = [
        DeviceResult(name="a1", store_id=None, role="hub", platform="frr", host="127.0.0.1", port=9, wave=1, outcome=outcome)
    ]
    report.status = "finished"
    report.finished_at = datetime.now(UTC)
    journal = push_journal(state / DEFAULT_RUNS_DIR.name, report)
    journal.close()
    return report.run_id


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_a_rerun_of_a_finished_push_retries_nothing_and_succeeds(
    runner: CliRunner, tmp_path: Path, as_json: bool
) -> None:
    state = tmp_path / "state"
    run_id = _finished_run(state, "changed")
    journals = sorted((state / "runs").iterdir())
    targets = tmp_path / "targets.yaml"
    targets.write_text(TARGETS)
    (tmp_path / "intended").mkdir()
    (tmp_path / "intended" / "a1.cfg").write_text("hostname a1\n")
    args = ["devices", "push", "--only-failed", "--targets", str(targets), "--intended", str(tmp_path / "intended"),
            "--state-dir", str(state), "--conn-timeout", "1"]
    result = runner.invoke(cli, [*args, "--json"] if as_json else args)
    assert result.exit_code == 0, result.output
    if as_json:
        payload = json.loads(result.stdout)
        assert payload["ok"] is True and payload["changed"] is False
        assert payload["changed_devices"] == [] and payload["retried"] == []
        assert payload["only_failed"] == run_id and payload["summary"]["failed"] == 0
    else:
        assert f"run {run_id} finished every appliance it selected: nothing to retry" in result.stdout
    assert sorted((state / "runs").iterdir()) == journals, "no run was started"


def test_a_rerun_after_a_failure_still_retries_it(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The appliance left failed is pushed again (here it cannot be reached: exit 1)."""
    monkeypatch.setenv("STORESTACK_DEVICE_USERNAME", "lab")
    monkeypatch.setenv("STORESTACK_DEVICE_PASSWORD", "Lab.Login_Pw1")
    state = tmp_path / "state"
    run_id = _finished_run(state, "failed")
    targets = tmp_path / "targets.yaml"
    targets.write_text(TARGETS)
    (tmp_path / "intended").mkdir()
    (tmp_path / "intended" / "a1.cfg").write_text("hostname a1\n")
    result = runner.invoke(
        cli,
        ["devices", "push", "--only-failed", "--targets", str(targets), "--intended", str(tmp_path / "intended"),
         "--state-dir", str(state), "--conn-timeout", "1", "--json"],
    )
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert payload["selection"]["only_failed"] == run_id and payload["changed"] is False
    assert [d["name"] for d in payload["devices"]] == ["a1"]
