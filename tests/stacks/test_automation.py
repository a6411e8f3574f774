"""preview/up/destroy/refresh/outputs: the parts that run without a Pulumi engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from storestack.inventory import load_fleet, sample_chain_path
from storestack.stacks.automation import default_backend, run_operation
from storestack.stacks.errors import PassphraseMissingError, PulumiNotInstalledError, StackConfigError
from storestack.stacks.render import render_stacks

STORESTACK = Path(sys.executable).with_name("storestack")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rendered")
    render_stacks(load_fleet(sample_chain_path()), out)
    return out


def _run(args: list[str], path: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    environment.update(PATH=path, **env)
    return subprocess.run([str(STORESTACK), *args], capture_output=True, text=True, env=environment, timeout=120)


@pytest.mark.parametrize("operation", ["preview", "up", "destroy", "refresh", "outputs"])
def test_without_the_pulumi_cli_every_operation_explains_and_exits_2(
    operation: str, rendered: Path, tmp_path: Path
) -> None:
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    result = _run([operation, "--stack", "core", "--out", str(rendered)], str(empty_path))
    assert result.returncode == 2, result.stderr
    assert "the pulumi CLI is not on PATH" in result.stderr
    assert "https://get.pulumi.com" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_pulumi_is_a_typed_error_before_anything_runs(rendered: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PulumiNotInstalledError):
        run_operation("up", "store-nw-0001", rendered)


def test_a_missing_passphrase_is_reported_before_the_engine_starts(
    rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake = fake_bin / "pulumi"
    fake.write_text("#!/bin/sh\necho 'should not be called' >&2\nexit 99\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake_bin))
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    with pytest.raises(PassphraseMissingError, match="PULUMI_CONFIG_PASSPHRASE"):
        run_operation("preview", "core", rendered)


def test_unrendered_stacks_and_unbounded_parallelism_are_usage_errors(rendered: Path, tmp_path: Path) -> None:
    with pytest.raises(StackConfigError, match="run `storestack stacks render` first"):
        run_operation("up", "store-nw-0099", rendered)
    with pytest.raises(StackConfigError, match="between 1 and 64"):
        run_operation("up", "core", rendered, parallel=500)
    with pytest.raises(StackConfigError, match="neither the core stack"):
        run_operation("up", "prod", rendered)
    result = _run(["up", "--stack", "core", "--out", str(rendered), "--parallel", "0"], str(tmp_path))
    assert result.returncode == 2 and "between 1 and 64" in result.stderr


def test_the_backend_defaults_to_a_local_file_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORESTACK_BACKEND", raising=False)
    assert default_backend(tmp_path) == f"file://{tmp_path.resolve()}/.storestack/state"
    monkeypatch.setenv("STORESTACK_BACKEND", "s3://chain-state")
    assert default_backend(tmp_path) == "s3://chain-state"
