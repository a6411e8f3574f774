"""What the demo's steps do below the command, without a lab (no root): its scratch copy of the
sample chain, the throwaway secrets it runs on, the lab check it retries while routes settle, and
the store its brownout drill runs on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab import check as lab_check
from storestack.lab.brownout import failover_store
from storestack.lab.check import LabCheck, settled_check
from storestack.lab.fleet import topology_from_fleet
from storestack.lab.workspace import fill_throwaway_secrets, prepare_workspace, secret_variables
from storestack.network.build import NetworkIntent

FLEET = load_fleet(sample_chain_path())


def test_the_workspace_is_a_fresh_copy_of_the_sample_chain_and_keeps_earlier_journals(tmp_path: Path) -> None:
    workspace = prepare_workspace(tmp_path)
    (workspace.fleet / "stores" / "nw-0001.yaml").write_text("edited by a user\n")
    (workspace.fleet / "stray.yaml").write_text("left by an earlier demo\n")
    workspace.state.mkdir()
    (workspace.state / "journal").write_text("an earlier run\n")

    again = prepare_workspace(tmp_path)

    assert not (again.fleet / "stray.yaml").exists()
    assert (again.fleet / "stores" / "nw-0001.yaml").read_text() == (
        sample_chain_path() / "stores" / "nw-0001.yaml"
    ).read_text()
    assert (again.state / "journal").read_text() == "an earlier run\n"
    assert (again.stacks, again.lab) == (tmp_path / "stacks-out", tmp_path / "lab")


def test_throwaway_secrets_fill_only_what_the_environment_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    variables = secret_variables(FLEET)
    for variable in variables:
        monkeypatch.delenv(variable, raising=False)
    kept = variables[0]
    monkeypatch.setenv(kept, "Operator.Set_Value1")

    generated = fill_throwaway_secrets(FLEET)

    assert generated == variables[1:]
    assert os.environ[kept] == "Operator.Set_Value1"
    assert all(os.environ[name] for name in generated)
    assert fill_throwaway_secrets(FLEET) == []


def _verdict(problems: list[str]) -> LabCheck:
    return LabCheck(name="demo", tunnels=[], bgp=[], bfd=[], wan=[], reachability=[], problems=problems)


def test_the_lab_check_is_retried_until_it_passes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    verdicts = [_verdict(["tunnel nw-0001-wan1 is down"]), _verdict(["tunnel nw-0001-wan1 is down"]), _verdict([])]
    calls: list[Path] = []

    def check(state_dir: Path, intent: NetworkIntent | None = None) -> LabCheck:
        calls.append(state_dir)
        return verdicts[len(calls) - 1]

    monkeypatch.setattr(lab_check, "check", check)
    monkeypatch.setattr(lab_check.time, "sleep", lambda seconds: None)

    assert settled_check(tmp_path, NetworkIntent(FLEET)).ok
    assert len(calls) == 3


def test_the_lab_check_past_its_ceiling_returns_the_failing_verdict(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(lab_check, "check", lambda state_dir, intent=None: _verdict(["BFD nw-0001-edge1 is down"]))
    monkeypatch.setattr(lab_check.time, "sleep", lambda seconds: None)

    verdict = settled_check(tmp_path, NetworkIntent(FLEET), within=-1)

    assert verdict.problems == ["BFD nw-0001-edge1 is down"]


def test_the_drill_runs_on_the_first_frr_store_with_a_primary_and_a_backup_link() -> None:
    topology = topology_from_fleet(FLEET, overlay="ipsec")
    emulated = {a.name for a in topology.appliances if a.emulated}

    assert failover_store(FLEET, emulated) == "nw-0001"
    assert failover_store(FLEET, emulated | {"nw-0001-edge1", "nw-0002-edge1"}) == "nw-0004"
    # An LTE-only store (nw-0007) never shows the drill, nor does a store the emulator answers for.
    assert failover_store(FLEET, {a.name for a in topology.appliances if a.name != "nw-0007-edge1"}) is None
