"""Appliance targets, credentials and outputs files go through the inventory's safe YAML reader."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.devices.targets import (
    ApplianceInventory,
    AppliancesFileError,
    CredentialsError,
    CredentialsRef,
)
from storestack.network.errors import StackOutputsError
from storestack.network.outputs import load_stack_outputs

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(20)
)


def _targets(tmp_path: Path, appliance: dict[str, object]) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"source": "lab:x", "appliances": [appliance]}))
    return path


def test_a_targets_file_with_aliases_is_refused_not_expanded(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(BOMB)
    with pytest.raises(AppliancesFileError) as caught:
        ApplianceInventory.load(path)
    assert str(caught.value).startswith(f"{path}:1 a: YAML anchors and aliases are not allowed")
    assert "\n" not in str(caught.value)


def test_a_targets_schema_error_is_one_typed_line_without_a_pydantic_dump(tmp_path: Path) -> None:
    path = _targets(tmp_path, {"name": "edge1", "role": "edge", "platform": "frr", "host": "h", "port": "x22"})
    with pytest.raises(AppliancesFileError) as caught:
        ApplianceInventory.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:") and "appliances[0].port" in message
    assert "input_value" not in message and "\n" not in message and "errors.pydantic.dev" not in message
    result = CliRunner().invoke(
        cli, ["devices", "push", "--targets", str(path), "--intended", str(tmp_path), "--state-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "input_value" not in result.output and "Traceback" not in result.output


def test_a_targets_file_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    os.mkfifo(path)
    with pytest.raises(AppliancesFileError, match="is a FIFO, not a regular file"):
        ApplianceInventory.load(path)


def test_a_credentials_file_with_aliases_or_extra_keys_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "credentials.yaml"
    secret = "Very.Secret_Password_2"
    for text in ("username: &u admin\npassword: *u\n", f"username: admin\npassword: {secret}\n{secret}: 1\n"):
        path.write_text(text)
        path.chmod(0o600)
        with pytest.raises(CredentialsError) as caught:
            CredentialsRef(kind="file", path=str(path)).resolve()
        assert secret not in str(caught.value) and "\n" not in str(caught.value)


def test_an_outputs_file_with_aliases_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outputs.yaml"
    path.write_text(BOMB)
    path.chmod(0o600)
    with pytest.raises(StackOutputsError, match="anchors and aliases are not allowed"):
        load_stack_outputs(path)


def test_a_lab_push_renders_the_intents_planned_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """`devices push --targets .storestack/lab/<name>/inventory.yaml` needs no --outputs: like any
    push without outputs it renders the network intent's planned values (what `rollout --lab`
    pushed), with per-tunnel PSKs derived from the fleet PSK secret; without that secret it stops."""
    from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS

    from storestack.cli.push import _intended_source
    from storestack.devices.errors import PushConfigError
    from storestack.devices.runner import PushTargets
    from storestack.devices.targets import ApplianceTarget
    from storestack.inventory import load_fleet, sample_chain_path
    from storestack.network.build import derive_psk

    for name, value in TEST_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(*TEST_IPSEC_PSK_SEED)
    # A cisco_xe store: its config carries the tunnel PSKs.
    target = ApplianceTarget(
        name="nw-0003-edge1", role="edge", store_id="nw-0003", platform="cisco_xe", host="127.0.0.1"
    )
    fleet = load_fleet(sample_chain_path())
    lab_config = _intended_source(None, fleet, PushTargets([target], source="lab:default"), None, set(), None)
    config = lab_config.intended_config(target)
    assert "PLANNED" in config.text and derive_psk(TEST_IPSEC_PSK_SEED[1], "nw-0003-wan1-hq-hub1") in config.text
    fleet_config = _intended_source(None, fleet, PushTargets([target], source="fleet"), None, set(), None)
    assert fleet_config.intended_config(target).text == config.text  # one planned-values path
    monkeypatch.delenv(TEST_IPSEC_PSK_SEED[0])
    with pytest.raises(PushConfigError, match="STORESTACK_IPSEC_PSK"):
        _intended_source(None, fleet, PushTargets([target], source="fleet"), None, set(), None)
