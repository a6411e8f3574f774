"""`devices push --intended DIR` pushes the configs in DIR as they are: the stack outputs a push
renders with (`--core-outputs`, `--outputs`) cannot reach them. Given with --intended, the option
used to be dropped without a word, and a hub was pushed the planned cloud ends its operator had
asked to replace with the live ones. The combination is a usage error naming both options, exit 2,
before any appliance is reached or any run started."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from testsupport.cli import cli_runner

from storestack.cli.main import cli

# A lab appliance on 127.0.0.1 port 9 (discard: nothing listens): reaching it would fail the run.
TARGETS = "source: lab:test\nappliances:\n  - {name: a1, role: hub, platform: frr, host: 127.0.0.1, port: 9}\n"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    runner = cli_runner(monkeypatch, tmp_path)
    monkeypatch.setenv("STORESTACK_DEVICE_USERNAME", "lab")
    monkeypatch.setenv("STORESTACK_DEVICE_PASSWORD", "Lab.Login_Pw1")
    return runner


def _args(tmp_path: Path, option: str) -> list[str]:
    targets = tmp_path / "targets.yaml"
    targets.write_text(TARGETS)
    intended = tmp_path / "intended"
    intended.mkdir()
    (intended / "a1.cfg").write_text("hostname a1\n")
    outputs = tmp_path / "outputs.json"
    outputs.write_text("{}\n")
    outputs.chmod(0o600)
    return [
        "devices", "push", "--dry-run", "--targets", str(targets), "--intended", str(intended), option, str(outputs),
        "--state-dir", str(tmp_path / "state"), "--conn-timeout", "1",
    ]


@pytest.mark.parametrize("option", ["--core-outputs", "--outputs"])
def test_stack_outputs_with_intended_configs_are_refused_naming_both_options(
    runner: CliRunner, tmp_path: Path, option: str
) -> None:
    args = _args(tmp_path, option)
    answer = runner.invoke(cli, [*args, "--json"])
    assert answer.exit_code == 2, answer.output
    payload = json.loads(answer.stdout)
    (entry,) = payload["errors"]
    assert entry["field"] == option, entry
    assert option in entry["message"] and "--intended" in entry["message"], entry
    assert not (tmp_path / "state" / "runs").exists(), "no run was started"
    text = runner.invoke(cli, args)
    assert text.exit_code == 2, text.output
    assert f"{option} cannot be used with --intended" in text.stderr
