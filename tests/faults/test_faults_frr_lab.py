"""Fault matrix on real FRR appliances (root, FRR, sshd; fails under CI=true when the lab cannot run).

The faults only a real network shows: a change that breaks BGP, a WAN link going down while the
push runs, and the storestack process killed (SIGKILL) in the middle of a push. For each: the
appliances' configs afterwards, the backups, what the run journal says, and a rerun with
`--only-failed` that completes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults_support import StageHook, cli_push, journal_of, logins_ended, outcomes
from testsupport.frr_lab_configs import (
    established_peers,
    intended_configs,
    running_config,
    running_lab,
    wait_for,
)

from storestack import lab
from storestack.devices.intended import IntendedConfigs
from storestack.devices.journal import last_push_run
from storestack.devices.push import PushOptions
from storestack.devices.runner import PushObserver, PushTargets, RunOptions, run_push
from storestack.devices.session import SessionOptions
from storestack.lab import frr_lab
from storestack.lab.sshd import confirm_dir

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("faults-frr-lab")]

TOPOLOGY = lab.synthetic_topology(2)
EDGE1, EDGE2 = "store-0001-edge", "store-0002-edge"
NAMES = ["hub-1", "hub-2", EDGE1, EDGE2]
BASELINE = intended_configs(TOPOLOGY)


@pytest.fixture(scope="module")
def frr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lab.LabInfo]:
    with running_lab(TOPOLOGY, tmp_path_factory.mktemp("faults-lab") / "lab") as info:
        yield info


def options(state: Path, health_timeout: float = 20.0) -> RunOptions:
    return RunOptions(
        runs_dir=state / "runs",
        push=PushOptions(
            backup_root=state / "backups",
            known_hosts=state / "known_hosts.json",
            health_timeout=health_timeout,
            session=SessionOptions(read_timeout=10.0),
        ),
    )


def push(info: lab.LabInfo, configs: dict[str, str], state: Path, observer: PushObserver | None = None,
         health_timeout: float = 20.0) -> None:
    run_push(
        PushTargets.from_inventory(info.inventory),
        IntendedConfigs(configs),
        options=options(state, health_timeout),
        observer=observer,
    )


def write_intended(directory: Path, configs: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in configs.items():
        (directory / f"{name}.cfg").write_text(text)
    return directory


def converge(info: lab.LabInfo, state: Path) -> dict[str, str]:
    """Every appliance on the baseline, BGP up; returns the running configs."""
    push(info, BASELINE, state)
    assert journal_of(state).ok
    for edge in (EDGE1, EDGE2):
        wait_for(lambda edge=edge: len(established_peers(info.state_dir, edge)) == 2, 30, f"{edge} BGP up")
    return {name: running_config(info.state_dir, name) for name in NAMES}


def rerun_only_failed(info: lab.LabInfo, intended: Path, state: Path) -> tuple[int, dict[str, object]]:
    return cli_push(
        "--targets", str(info.inventory_path), "--intended", str(intended), "--state-dir", str(state),
        "--only-failed", "--health-timeout", "20",
    )


def test_change_that_breaks_bgp_is_rolled_back_journaled_and_rerun_completes(frr: lab.LabInfo, tmp_path: Path) -> None:
    state = tmp_path / "state"
    before = converge(frr, tmp_path / "converge")
    broken = intended_configs(TOPOLOGY, wrong_hub_asn={EDGE1}, descriptions={f"{EDGE2}/fiber": "Ziggo 500M"})
    push(frr, broken, state, health_timeout=8.0)

    journal = journal_of(state)
    edge = journal.device(EDGE1)
    assert (edge.outcome, edge.stage, edge.error_type, edge.changed) == ("failed", "verify", "VerifyError", False)
    assert any("was Established" in finding for finding in edge.findings)
    assert edge.rollback is not None and edge.rollback.ok and edge.rollback.health_restored
    assert running_config(frr.state_dir, EDGE1) == before[EDGE1]
    assert Path(edge.backup_path or "").read_text().strip() == before[EDGE1].strip()
    assert journal.device(EDGE2).changed is True and "Ziggo 500M" in running_config(frr.state_dir, EDGE2)
    assert journal.changed_devices == [EDGE2]

    fixed = intended_configs(
        TOPOLOGY, descriptions={f"{EDGE2}/fiber": "Ziggo 500M", f"{EDGE1}/fiber": "KPN 1G, ASN fixed"}
    )
    code, report = rerun_only_failed(frr, write_intended(tmp_path / "fixed", fixed), state)
    assert code == 0, report
    assert outcomes(report) == {EDGE1: "changed"}
    assert "KPN 1G, ASN fixed" in running_config(frr.state_dir, EDGE1)
    assert len(established_peers(frr.state_dir, EDGE1)) == 2


def test_link_down_during_push_is_caught_rolled_back_and_rerun_completes(frr: lab.LabInfo, tmp_path: Path) -> None:
    state = tmp_path / "state"
    before = converge(frr, tmp_path / "converge")
    relabelled = intended_configs(TOPOLOGY, descriptions={f"{EDGE1}/lte": "Vodafone 5G"})
    # The fiber of store 1 goes down while its edge is being configured.
    hook = StageHook(EDGE1, "apply", lambda: lab.fail_link(frr.state_dir, "store-0001", "fiber"))
    try:
        push(frr, relabelled, state, observer=hook, health_timeout=6.0)
        assert hook.fired
        journal = journal_of(state)
        edge = journal.device(EDGE1)
        assert (edge.outcome, edge.stage, edge.error_type, edge.changed) == ("failed", "verify", "VerifyError", False)
        assert any("interface fiber was up, now down" in finding for finding in edge.findings), edge.findings
        # The config went back to the backup; the link itself is still down, and the report says so.
        assert edge.rollback is not None and edge.rollback.running_matches_backup
        assert edge.rollback.health_restored is False
        assert running_config(frr.state_dir, EDGE1) == before[EDGE1]
        assert Path(edge.backup_path or "").read_text().strip() == before[EDGE1].strip()
        assert [d.outcome for d in journal.devices if d.name != EDGE1] == ["unchanged"] * 3
    finally:
        lab.restore_link(frr.state_dir, "store-0001", "fiber")
    wait_for(lambda: len(established_peers(frr.state_dir, EDGE1)) == 2, 30, "edge 1 sessions back")

    code, report = rerun_only_failed(frr, write_intended(tmp_path / "intended", relabelled), state)
    assert code == 0, report
    assert outcomes(report) == {EDGE1: "changed"}
    assert "description Vodafone 5G" in running_config(frr.state_dir, EDGE1)


def test_sigkill_mid_push_leaves_backups_a_truthful_journal_and_only_failed_completes(
    frr: lab.LabInfo, tmp_path: Path
) -> None:
    before = converge(frr, tmp_path / "converge")
    label = "relabelled after a crash"
    changed = intended_configs(
        TOPOLOGY,
        descriptions={
            f"{name}/{ifname}": label
            for name, ifname in [("hub-1", "s0001-fiber"), ("hub-2", "s0001-lte"), (EDGE1, "fiber"), (EDGE2, "fiber")]
        },
    )
    intended = write_intended(tmp_path / "intended", changed)
    state = tmp_path / "state"
    command = [
        sys.executable, "-c", "from storestack.cli.push import push; push()",
        "--targets", str(frr.inventory_path), "--intended", str(intended), "--state-dir", str(state),
        "--concurrency", "1", "--health-timeout", "20", "--confirm-timeout", "10", "--json",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    victim = NAMES[1]  # killed after its backup, before its push finishes
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            journal = last_push_run(state / "runs")
            if (
                journal is not None
                and journal.device(victim).outcome == "running"
                and any((state / "backups").rglob(f"*{victim}*/*"))
            ):
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the push never reached the second appliance")
    finally:
        process.kill()
        process.wait(timeout=10)

    killed = journal_of(state)
    assert killed.status == "running"  # it never finished, and the journal does not pretend it did
    first = killed.device(NAMES[0])
    assert first.outcome == "changed" and first.changed is True
    assert label in running_config(frr.state_dir, NAMES[0])
    cut = killed.device(victim)
    if cut.outcome == "running":
        assert cut.changed is None  # it may or may not have changed: unknown, and said so
    for name in NAMES[2:]:
        assert killed.device(name).outcome == "pending"
        assert running_config(frr.state_dir, name) == before[name]
    backups = [p for p in (state / "backups").rglob("*") if p.is_file() and victim in str(p)]
    assert len(backups) == 1 and backups[0].stat().st_mode & 0o777 == 0o600
    assert backups[0].read_text().strip() == before[victim].strip()

    # Whatever the victim was doing, its own timer (if the push had armed it) ends it: it runs its
    # backup again, and only then takes the next change (a second timer is refused meanwhile).
    # The killed push's sessions end first: an arm that had its backup may still be starting
    # (slowly on a loaded machine) and arm after the kill; no timer state before then is final.
    lab_state = frr_lab.require_state(frr.state_dir)
    wait_for(lambda: logins_ended(lab_state.username), 60, "the killed push's SSH sessions to end")
    victim_timer = confirm_dir(lab_state.prefix) / lab_state.runtime(victim).namespace
    wait_for(lambda: not (victim_timer / "armed.json").exists(), 60, f"{victim}'s timer to end")
    assert running_config(frr.state_dir, victim) == before[victim]

    code, report = rerun_only_failed(frr, intended, state)
    assert code == 0, report
    unfinished = NAMES[1:] if cut.outcome == "running" else NAMES[2:]
    assert set(outcomes(report)) == set(unfinished)
    assert all(outcome in ("changed", "unchanged") for outcome in outcomes(report).values())
    for name in NAMES:
        assert label in running_config(frr.state_dir, name)
    assert json.loads(Path(str(report["journal"])).read_text())["status"] == "finished"

