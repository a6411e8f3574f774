"""Every `storestack lab` command's --json usage error names the option or argument it is about
(README: a bad value names its option), as `--store` does elsewhere: a lab that is not recorded
is a bad `--name` (or `--state-dir` when one is given), a link the lab lacks a bad LINK, a store
it lacks a bad STORE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.inventory import load_fleet
from storestack.inventory.paths import sample_chain_path
from storestack.lab.fleet import topology_from_fleet
from storestack.lab.state import LabState, save_state

# Each lab command that reads a recorded lab, with its arguments.
RECORDED = {
    "status": [],
    "check": [],
    "fail-link": ["nw-0001", "wan1"],
    "restore-link": ["nw-0001", "wan1"],
    "impair": ["nw-0001", "wan1", "--loss", "5"],
    "impair --clear": ["nw-0001", "--clear"],
    "path": ["nw-0001", "pos"],
}


def _only_error(result_output: str) -> dict[str, object]:
    payload = json.loads(result_output)
    assert payload["ok"] is False
    [entry] = payload["errors"]
    return dict(entry)


@pytest.mark.parametrize("command", list(RECORDED))
def test_a_lab_not_recorded_names_the_name_option(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default state dir, .storestack/lab/<name>, is relative
    args = ["lab", command.split()[0], *RECORDED[command], "--name", "nolab", "--json"]

    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 2, result.output
    entry = _only_error(result.output)
    assert entry["field"] == "--name"
    assert "no lab is recorded in" in str(entry["message"]) and "nolab" in str(entry["message"])


@pytest.mark.parametrize("command", list(RECORDED))
def test_a_state_dir_without_a_lab_names_the_state_dir_option(command: str, tmp_path: Path) -> None:
    args = ["lab", command.split()[0], *RECORDED[command], "--state-dir", str(tmp_path / "none"), "--json"]

    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 2, result.output
    assert _only_error(result.output)["field"] == "--state-dir"


def test_impair_without_a_link_names_the_link_argument(tmp_path: Path) -> None:
    args = ["lab", "impair", "nw-0001", "--loss", "30", "--state-dir", str(tmp_path), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert _only_error(result.output)["field"] == "LINK"


def test_impair_clear_with_a_change_names_the_clear_option(tmp_path: Path) -> None:
    args = ["lab", "impair", "nw-0001", "wan1", "--clear", "--loss", "5", "--state-dir", str(tmp_path), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert _only_error(result.output)["field"] == "--clear"


@pytest.fixture(scope="module")
def recorded_lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lab's state as `lab up` records it (nw-0001 and the hubs), no namespace behind it: the
    commands below refuse before they touch one."""
    state_dir = tmp_path_factory.mktemp("lab")
    topology = topology_from_fleet(load_fleet(sample_chain_path()), ["nw-0001"])
    state = LabState(name="lab", prefix="sst", username="lab", phase="up", topology=topology, appliances=[], shards=[])
    save_state(state_dir, state)
    return state_dir


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["fail-link", "nw-0001", "wan9"], "LINK"),
        (["restore-link", "nw-0001", "wan9"], "LINK"),
        (["fail-link", "nw-0999", "wan1"], "STORE"),
        (["restore-link", "nw-0999", "wan1"], "STORE"),
        (["path", "nw-0999", "pos"], "STORE"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_a_store_or_link_the_lab_lacks_names_its_argument(recorded_lab: Path, args: list[str], field: str) -> None:
    result = CliRunner().invoke(cli, ["lab", *args, "--state-dir", str(recorded_lab), "--json"])

    assert result.exit_code == 2, result.output
    entry = _only_error(result.output)
    assert entry["field"] == field
    assert "nw-0001" in str(entry["message"])  # what the lab has instead
