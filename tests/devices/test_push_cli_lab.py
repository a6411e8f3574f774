"""`storestack devices push` end to end against the FRR lab: exit codes, --only-failed, no secret leaks."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from testsupport.frr_lab_configs import (
    established_peers,
    intended_configs,
    running_config,
    running_lab,
    wait_for,
)

from storestack import lab
from storestack.cli.main import cli

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("push-cli-lab")]

TOPOLOGY = lab.synthetic_topology(1)  # hub-1, hub-2, store-0001-edge
EDGE = "store-0001-edge"
BGP_SECRET = "Md5-Secret-Value-4242"


@pytest.fixture(scope="module")
def frr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lab.LabInfo]:
    with running_lab(TOPOLOGY, tmp_path_factory.mktemp("push-cli-lab") / "lab") as info:
        yield info


def write_intended(directory: Path, configs: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in configs.items():
        path = directory / f"{name}.cfg"
        path.write_text(text)
        os.chmod(path, 0o600)
    return directory


def invoke(*args: str | Path) -> tuple[int, str]:
    """Exit code and stdout (what --json consumers parse); stderr is checked via invoke_all."""
    result = CliRunner().invoke(cli, ["devices", "push", *(str(a) for a in args)], catch_exceptions=False)
    return result.exit_code, result.stdout


def invoke_all(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["devices", "push", *(str(a) for a in args)], catch_exceptions=False)
    return result.exit_code, result.output


def lab_password(info: lab.LabInfo) -> str:
    return str(yaml.safe_load(info.credentials_path.read_text())["password"])


def every_file_text(root: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())


def test_push_reports_and_leaks_no_secret(frr: lab.LabInfo, tmp_path: Path) -> None:
    state = tmp_path / "state"
    logs = tmp_path / "session-logs"
    intended = write_intended(tmp_path / "intended", intended_configs(TOPOLOGY, bgp_password=BGP_SECRET))
    common = ["--targets", frr.inventory_path, "--intended", intended, "--state-dir", state, "--health-timeout", "20"]

    code, dry = invoke_all(*common, "--dry-run")
    assert code == 0
    assert "remediation" in dry and "password <redacted>" in dry

    code, out = invoke(*common, "--session-log", logs, "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["ok"] is True
    assert {d["name"]: d["outcome"] for d in report["devices"]} == dict.fromkeys(["hub-1", "hub-2", EDGE], "changed")
    wait_for(lambda: len(established_peers(frr.state_dir, EDGE)) == 2, 30, "sessions with TCP-MD5 up")
    assert f"password {BGP_SECRET}" in running_config(frr.state_dir, EDGE)  # it really was pushed

    code, table = invoke_all(*common)
    assert code == 0 and "0 config lines sent" in table

    secrets = [BGP_SECRET, lab_password(frr)]
    journals = list((state / "runs").glob("push-*.json"))
    assert len(journals) == 3
    backups = [p for p in (state / "backups").rglob("*") if p.is_file()]
    listing = "\n".join(str(p) for p in (state / "backups").rglob("*"))
    session_logs = every_file_text(logs)
    assert "show running-config" in session_logs
    for secret in secrets:
        assert secret not in dry + out + table
        assert secret not in every_file_text(state / "runs")
        assert secret not in listing
        assert secret not in session_logs
    # Backups hold the running config, secrets included: only the owner may read them.
    assert backups and all(p.stat().st_mode & 0o777 == 0o600 for p in backups)
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in logs.iterdir())


def test_only_failed_retries_just_the_failures(frr: lab.LabInfo, tmp_path: Path) -> None:
    state = tmp_path / "state"
    # Same BGP password as the test before: the sessions stay up, only the edge changes.
    good = intended_configs(TOPOLOGY, bgp_password=BGP_SECRET, descriptions={f"{EDGE}/fiber": "retry me"})
    bad = dict(good)
    bad[EDGE] = good[EDGE].replace("exit\n!\nend", "exit\n!\nrouter ospf\nexit\n!\nend")
    common = ["--targets", frr.inventory_path, "--state-dir", state, "--health-timeout", "20", "--json"]

    code, out = invoke(*common, "--intended", write_intended(tmp_path / "bad", bad))
    assert code == 1
    first = json.loads(out)
    failed = [d for d in first["devices"] if d["outcome"] == "failed"]
    assert [d["name"] for d in failed] == [EDGE]
    assert failed[0]["rollback"]["ok"] is True
    assert "retry me" not in running_config(frr.state_dir, EDGE)

    code, out = invoke(*common, "--intended", write_intended(tmp_path / "good", good), "--only-failed")
    assert code == 0, out
    second = json.loads(out)
    assert [d["name"] for d in second["devices"]] == [EDGE]
    assert second["devices"][0]["outcome"] == "changed"
    assert second["selection"]["only_failed"] == first["run_id"]
    assert "retry me" in running_config(frr.state_dir, EDGE)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--store", "store-9999"], "store-9999"),
        (["--shard", "3/2"], "--shard"),
        (["--only-failed"], "no previous push run"),
        (["--concurrency", "0"], "--concurrency"),
    ],
)
def test_usage_errors_exit_2(frr: lab.LabInfo, tmp_path: Path, extra: list[str], message: str) -> None:
    intended = write_intended(tmp_path / "intended", intended_configs(TOPOLOGY))
    code, out = invoke_all("--targets", frr.inventory_path, "--intended", intended, "--state-dir", tmp_path, *extra)
    assert code == 2
    assert message in out
