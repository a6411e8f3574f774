"""`storestack lab …` as a user runs it: output, --json and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from testsupport.lab import require_frr_lab

from storestack.cli.main import cli


def test_status_without_a_lab_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["lab", "status", "--state-dir", str(tmp_path / "none"), "--json"])

    assert result.exit_code == 2
    assert json.loads(result.output)["ok"] is False
    assert "storestack lab up" in json.loads(result.output)["error"]


def test_emulator_with_an_invalid_spec_is_a_usage_error(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("devices:\n  - name: r1\n    platform: junos\n", encoding="utf-8")

    result = CliRunner().invoke(cli, ["lab", "emulator", "--spec", str(spec), "--state-dir", str(tmp_path)])

    assert result.exit_code == 2
    assert "platform" in result.output


def test_up_status_fail_link_and_down_from_the_command_line(tmp_path: Path) -> None:
    require_frr_lab()
    state = ["--state-dir", str(tmp_path / "lab")]
    runner = CliRunner()
    try:
        started = runner.invoke(cli, ["lab", "up", "--stores", "nw-0001", *state, "--json"])
        assert started.exit_code == 0, started.output
        names = {a["name"] for a in json.loads(started.output)["appliances"]}
        assert names == {"hq-hub1", "hq-hub2", "nw-0001-edge1"}

        status = runner.invoke(cli, ["lab", "status", *state, "--json"])
        assert status.exit_code == 0, status.output
        assert all(a["ssh_ok"] and a["frr_running"] for a in json.loads(status.output)["appliances"])

        failed = runner.invoke(cli, ["lab", "fail-link", "nw-0001", "wan1", *state])
        assert failed.exit_code == 0 and "is down" in failed.output
        unknown = runner.invoke(cli, ["lab", "fail-link", "nw-0001", "wan9", *state])
        assert unknown.exit_code == 2
    finally:
        stopped = runner.invoke(cli, ["lab", "down", *state, "--json"])
    assert stopped.exit_code == 0
    assert len(json.loads(stopped.output)["namespaces_deleted"]) == 3
    assert runner.invoke(cli, ["lab", "status", *state]).exit_code == 2


def test_check_without_a_lab_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["lab", "check", "--state-dir", str(tmp_path / "none"), "--json"])

    assert result.exit_code == 2
    assert "storestack lab up" in json.loads(result.output)["error"]


@pytest.mark.parametrize("command", [["demo", "--help"], ["lab", "emulator", "--help"]])
def test_lab_commands_start_without_printing_library_warnings(command: list[str]) -> None:
    # A fresh process, as a user's shell starts it: the warnings filters pytest sets are not in it.
    storestack = Path(sys.executable).with_name("storestack")

    result = subprocess.run([str(storestack), *command], capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
