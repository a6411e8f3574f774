"""The push engine against real FRR appliances in the lab (root, FRR, sshd; fails under CI=true).

Two hubs and two store edges, each edge with a fiber link to hub-1 and an LTE link to hub-2.
"""

from __future__ import annotations

import json
import pwd
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import paramiko
import pytest
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
from storestack.devices.push import PushContext, PushOptions, push_appliance, restore_backup
from storestack.devices.report import DeviceResult, RunReport
from storestack.devices.runner import PushObserver, PushTargets, RunOptions, run_push
from storestack.devices.session import SessionOptions
from storestack.devices.targets import ApplianceTarget
from storestack.lab import frr_lab
from storestack.lab.sshd import confirm_dir

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("push-frr-lab")]

TOPOLOGY = lab.synthetic_topology(2)
EDGE1, EDGE2 = "store-0001-edge", "store-0002-edge"
BASELINE = intended_configs(TOPOLOGY)


@pytest.fixture(scope="module")
def frr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lab.LabInfo]:
    with running_lab(TOPOLOGY, tmp_path_factory.mktemp("push-lab") / "lab") as info:
        yield info


def options(state: Path, **overrides: object) -> RunOptions:
    push = PushOptions(
        backup_root=state / "backups",
        known_hosts=state / "known_hosts.json",
        health_timeout=float(overrides.pop("health_timeout", 20.0)),  # type: ignore[arg-type]
        dry_run=bool(overrides.pop("dry_run", False)),
        session=SessionOptions(read_timeout=10.0),
    )
    return RunOptions(push=push, runs_dir=state / "runs", **overrides)  # type: ignore[arg-type]


def push_all(info: lab.LabInfo, configs: dict[str, str], state: Path, **overrides: object) -> RunReport:
    targets = PushTargets.from_inventory(info.inventory)
    return run_push(targets, IntendedConfigs(configs), options=options(state, **overrides))


def converge(info: lab.LabInfo, state: Path) -> None:
    report = push_all(info, BASELINE, state)
    assert report.ok, [(d.name, d.error) for d in report.devices if d.error]
    for edge in (EDGE1, EDGE2):
        wait_for(lambda edge=edge: len(established_peers(info.state_dir, edge)) == 2, 30, f"{edge} BGP up")


def test_first_push_converges_and_second_sends_nothing(frr: lab.LabInfo, tmp_path: Path) -> None:
    first = push_all(frr, BASELINE, tmp_path)
    assert first.ok, [(d.name, d.error) for d in first.devices if d.error]
    assert {d.name: d.outcome for d in first.devices} == dict.fromkeys(
        ["hub-1", "hub-2", EDGE1, EDGE2], "changed"
    )
    assert first.summary.config_lines_sent > 0
    # The edges' health checks saw their new sessions up, but the four pushes run at once: a
    # session can reset while the far end's push is still adding to its neighbour. It must come
    # back on its own, without another push: both edges hold both hubs, and hub-1 sees both.
    for appliance in (EDGE1, EDGE2, "hub-1"):
        wait_for(
            lambda name=appliance: len(established_peers(frr.state_dir, name)) == 2,
            60,
            f"{appliance}'s two sessions",
        )

    second = push_all(frr, BASELINE, tmp_path)
    assert second.ok
    assert [d.outcome for d in second.devices] == ["unchanged"] * 4
    assert second.summary.config_lines_sent == 0
    assert all(d.remediation == [] for d in second.devices)


def test_change_is_applied_verified_and_saved(frr: lab.LabInfo, tmp_path: Path) -> None:
    converge(frr, tmp_path)
    changed = intended_configs(TOPOLOGY, descriptions={f"{EDGE1}/fiber": "KPN Zakelijk 1G"})
    report = push_all(frr, changed, tmp_path)
    assert report.ok
    edge = report.device(EDGE1)
    assert edge.outcome == "changed" and edge.changed is True
    assert edge.remediation == ["interface fiber", "  description KPN Zakelijk 1G", "  exit"]
    assert edge.config_lines_sent == 3
    assert {d.name: d.outcome for d in report.devices if d.name != EDGE1} == dict.fromkeys(
        ["hub-1", "hub-2", EDGE2], "unchanged"
    )
    assert " description KPN Zakelijk 1G" in running_config(frr.state_dir, EDGE1)
    namespace = frr_lab.require_state(frr.state_dir).runtime(EDGE1).namespace
    assert "description KPN Zakelijk 1G" in Path(f"/etc/frr/{namespace}/frr.conf").read_text()
    backup = Path(edge.backup_path or "")
    assert backup.is_file() and "KPN Zakelijk 1G" not in backup.read_text()

    # NAPALM's rollback: the backup goes back on, verified and saved like any push.
    context = PushContext(options=options(tmp_path).push)
    restored = restore_backup(frr.inventory.by_name()[EDGE1], backup, context=context)
    assert restored.outcome == "changed", restored.error
    assert restored.remediation == ["interface fiber", "  description fiber to hub-1", "  exit"]
    assert running_config(frr.state_dir, EDGE1).rstrip("\n") == backup.read_text().rstrip("\n")


def test_dry_run_changes_nothing(frr: lab.LabInfo, tmp_path: Path) -> None:
    converge(frr, tmp_path)
    before = {name: running_config(frr.state_dir, name) for name in BASELINE}
    changed = intended_configs(TOPOLOGY, descriptions={f"{EDGE2}/lte": "Vodafone 5G"}, wrong_hub_asn={EDGE1})
    report = push_all(frr, changed, tmp_path, dry_run=True)
    assert [d.outcome for d in report.devices] == ["planned"] * 4
    assert report.summary.config_lines_sent == 0
    assert "+ description Vodafone 5G" in (report.device(EDGE2).diff or "")
    assert "  neighbor 100.64.0.2 remote-as 65099" in report.device(EDGE1).remediation
    after = {name: running_config(frr.state_dir, name) for name in BASELINE}
    assert after == before


def test_push_that_breaks_bgp_is_rolled_back(frr: lab.LabInfo, tmp_path: Path) -> None:
    converge(frr, tmp_path)
    before = running_config(frr.state_dir, EDGE1)
    broken = intended_configs(
        TOPOLOGY,
        wrong_hub_asn={EDGE1},
        descriptions={f"{EDGE2}/fiber": "Ziggo 500M"},
    )
    report = push_all(frr, broken, tmp_path, health_timeout=8.0)

    edge = report.device(EDGE1)
    assert edge.outcome == "failed"
    assert edge.stage == "verify"
    assert edge.error_type == "VerifyError"
    assert any("100.64.0.2" in finding and "was Established" in finding for finding in edge.findings)
    assert edge.rollback is not None and edge.rollback.ok
    assert edge.rollback.running_matches_backup and edge.rollback.byte_identical
    assert edge.rollback.health_restored
    assert edge.changed is False
    assert running_config(frr.state_dir, EDGE1) == before
    assert Path(edge.backup_path or "").read_text().strip() == before.strip()
    wait_for(lambda: len(established_peers(frr.state_dir, EDGE1)) == 2, 30, "edge 1 sessions back")

    # The other store in the same run was not affected by edge 1's failure.
    other = report.device(EDGE2)
    assert other.outcome == "changed" and other.rollback is None
    assert "Ziggo 500M" in running_config(frr.state_dir, EDGE2)
    assert report.changed_devices == [EDGE2]
    assert not report.ok


def test_interrupt_stops_new_appliances_and_says_which_changed(frr: lab.LabInfo, tmp_path: Path) -> None:
    converge(frr, tmp_path)
    changed = intended_configs(
        TOPOLOGY, descriptions={f"{name}/{ifname}": "relabelled" for name, ifname in
                                [("hub-1", "s0001-fiber"), ("hub-2", "s0001-lte"), (EDGE1, "fiber"), (EDGE2, "fiber")]}
    )
    stop = threading.Event()

    class StopAfterFirst(PushObserver):
        def on_device_start(self, name: str) -> None:
            stop.set()  # as a Ctrl-C while the first appliance is being pushed

    report = run_push(
        PushTargets.from_inventory(frr.inventory),
        IntendedConfigs(changed),
        options=options(tmp_path, concurrency=1),
        observer=StopAfterFirst(),
        stop=stop,
    )
    assert report.status == "interrupted"
    outcomes = {d.name: d.outcome for d in report.devices}
    assert outcomes == {"hub-1": "changed", "hub-2": "skipped", EDGE1: "skipped", EDGE2: "skipped"}
    assert report.changed_devices == ["hub-1"]
    assert "relabelled" not in running_config(frr.state_dir, "hub-2")
    journal = (tmp_path / "runs" / f"{report.run_id}.json").read_text()
    assert '"status": "interrupted"' in journal


def test_canary_failure_stops_the_rollout(frr: lab.LabInfo, tmp_path: Path) -> None:
    converge(frr, tmp_path)
    configs = dict(BASELINE)
    # A line vtysh rejects (ospfd is not running): the canary store fails and is rolled back.
    configs[EDGE1] = BASELINE[EDGE1].replace("exit\n!\nend", "exit\n!\nrouter ospf\n ospf router-id 1.2.3.4\nexit\n!\nend")
    configs[EDGE2] = intended_configs(TOPOLOGY, descriptions={f"{EDGE2}/fiber": "never pushed"})[EDGE2]
    report = push_all(frr, configs, tmp_path, canary=1, max_failures=0)
    assert report.waves == [["hub-1", "hub-2"], [EDGE1], [EDGE2]]
    assert report.wave_labels == ["hubs", "canary", "rest"]
    canary = report.device(EDGE1)
    assert canary.outcome == "failed" and canary.stage == "apply"
    assert "is not running" in (canary.error or "")
    assert canary.rollback is not None and canary.rollback.ok
    assert [report.device(h).outcome for h in ("hub-1", "hub-2")] == ["unchanged", "unchanged"]
    assert report.device(EDGE2).outcome == "skipped"
    assert report.status == "stopped"
    assert "max-failures" in (report.stop_reason or "")
    assert "never pushed" not in running_config(frr.state_dir, EDGE2)


def test_host_key_is_verified_before_login(frr: lab.LabInfo, tmp_path: Path) -> None:
    converge(frr, tmp_path)
    target = frr.inventory.by_name()[EDGE2]
    wrong = target.model_copy(update={"host_key_fingerprint": "SHA256:" + "A" * 43})
    context = PushContext(options=options(tmp_path).push)
    result: DeviceResult = push_appliance(wrong, IntendedConfigs(BASELINE).intended_config(wrong), context=context)
    assert result.outcome == "failed" and result.error_type == "HostKeyError"
    assert "HOST KEY CHANGED" in (result.error or "")
    assert result.backup_path is None and result.changed is False

    unknown = target.model_copy(update={"host_key_fingerprint": None})
    refused = push_appliance(unknown, IntendedConfigs(BASELINE).intended_config(unknown), context=context)
    assert refused.outcome == "failed" and refused.stage == "host_key"

    tofu = PushContext(options=PushOptions(
        backup_root=tmp_path / "backups",
        known_hosts=tmp_path / "known_hosts.json",
        session=SessionOptions(trust_on_first_use=True),
    ))
    learned = push_appliance(unknown, IntendedConfigs(BASELINE).intended_config(unknown), context=tofu)
    assert learned.outcome == "unchanged" and learned.host_key == "trusted-first-use"
    # Next time the learned key is verified, without --trust-on-first-use.
    again = push_appliance(unknown, IntendedConfigs(BASELINE).intended_config(unknown), context=context)
    assert again.outcome == "unchanged" and again.host_key == "verified"


def test_change_is_armed_on_the_appliance_host_and_confirmed_in_the_journal(frr: lab.LabInfo, tmp_path: Path) -> None:
    converge(frr, tmp_path)
    changed = intended_configs(TOPOLOGY, descriptions={f"{EDGE2}/fiber": "Ziggo 1G, armed"})
    report = push_all(frr, changed, tmp_path)
    assert report.ok
    journal = last_push_run(tmp_path / "runs")
    assert journal is not None and journal.run_id == report.run_id
    edge = journal.device(EDGE2)
    assert edge.outcome == "changed"
    confirm = edge.commit_confirm
    assert confirm is not None and confirm.timeout_s == 120
    assert confirm.arm == ["storestack-confirm arm 120 stdin"] and confirm.confirm == ["confirm"]
    assert confirm.armed and confirm.confirmed and not confirm.reverted_by_appliance
    # The stages in the order they ran: armed before the change, confirmed after verify, saved last.
    stages = list(edge.timings)
    assert stages.index("arm") < stages.index("apply") < stages.index("verify") < stages.index("confirm")
    assert stages.index("confirm") < stages.index("save")
    # On the appliance: nothing left armed, the snapshot it took is the push's backup.
    host = appliance_host(frr, EDGE2)
    status = json.loads(host.run("storestack-confirm status")[1])
    assert status["armed"] is False and status["last"]["outcome"] == "confirmed"
    # An appliance already in sync is neither armed nor confirmed.
    again = push_all(frr, changed, tmp_path)
    assert again.device(EDGE2).outcome == "unchanged" and again.device(EDGE2).commit_confirm is None


def test_confirm_timeout_is_clamped_to_the_host_timer_and_zero_turns_it_off(frr: lab.LabInfo, tmp_path: Path) -> None:
    converge(frr, tmp_path)
    targets = PushTargets.from_inventory(frr.inventory).filter(names=[EDGE1])
    short = intended_configs(TOPOLOGY, descriptions={f"{EDGE1}/lte": "Vodafone, short timer"})
    run = options(tmp_path)
    clamped = run_push(
        targets, IntendedConfigs(short),
        options=RunOptions(runs_dir=run.runs_dir, push=replace(run.push, confirm_timeout=3)),
    ).device(EDGE1)
    assert clamped.outcome == "changed" and clamped.commit_confirm is not None
    # The host's timer takes 10 s at least: asking for 3 arms 10, never less.
    assert clamped.commit_confirm.arm == ["storestack-confirm arm 10 stdin"] and clamped.commit_confirm.timeout_s == 10
    off = intended_configs(TOPOLOGY, descriptions={f"{EDGE1}/lte": "Vodafone, no timer"})
    unarmed = run_push(
        targets, IntendedConfigs(off),
        options=RunOptions(runs_dir=run.runs_dir, push=replace(run.push, confirm_timeout=0)),
    ).device(EDGE1)
    assert unarmed.outcome == "changed" and unarmed.commit_confirm is None
    assert "arm" not in unarmed.timings and "confirm" not in unarmed.timings
    assert json.loads(appliance_host(frr, EDGE1).run("storestack-confirm status")[1])["last"]["outcome"] == "confirmed"


def test_a_timer_left_armed_by_a_killed_push_is_waited_out_not_a_failure(frr: lab.LabInfo, tmp_path: Path) -> None:
    """A push killed right after its arm leaves the appliance's timer running; the rollout
    resumed at once pushes again. The appliance refuses a second timer, so the push waits for the
    earlier one to revert, then backs up, arms and changes as usual."""
    converge(frr, tmp_path)
    host = appliance_host(frr, EDGE1)
    assert host.run("storestack-confirm arm 10")[0] == 0  # what the killed push left behind
    changed = intended_configs(TOPOLOGY, descriptions={f"{EDGE1}/fiber": "after an earlier timer"})
    targets = PushTargets.from_inventory(frr.inventory).filter(names=[EDGE1])
    edge = run_push(targets, IntendedConfigs(changed), options=options(tmp_path)).device(EDGE1)
    assert edge.outcome == "changed", edge.error
    assert edge.timings["await_earlier_timer"] >= 5  # it waited for the earlier timer, ~10 s
    assert edge.commit_confirm is not None and edge.commit_confirm.confirmed
    assert " description after an earlier timer" in running_config(frr.state_dir, EDGE1)
    status = json.loads(host.run("storestack-confirm status")[1])
    assert status["armed"] is False and status["last"]["outcome"] == "confirmed"


class ApplianceHost:
    """SSH exec requests to an appliance's login, as the push engine's host channel makes them."""

    def __init__(self, target: ApplianceTarget) -> None:
        self.target = target
        self.credentials = target.credentials.resolve()

    def run(self, command: str) -> tuple[int, str, str]:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect(
            self.target.host, port=self.target.port, username=self.credentials.username,
            password=self.credentials.password.get_secret_value(), look_for_keys=False, allow_agent=False,
            timeout=10,
        )
        try:
            _stdin, stdout, stderr = client.exec_command(command, timeout=20)
            status = stdout.channel.recv_exit_status()
            return status, stdout.read().decode(), stderr.read().decode()
        finally:
            client.close()


def appliance_host(info: lab.LabInfo, name: str) -> ApplianceHost:
    return ApplianceHost(info.inventory.by_name()[name])


def test_the_appliance_login_is_vtysh_and_the_timer_verbs_never_a_shell(frr: lab.LabInfo) -> None:
    host = appliance_host(frr, "hub-2")
    for attempt in ("id", "sh -c id", "storestack-confirm status; id", "vtysh -c 'show version'", "cat /etc/shadow"):
        status, out, err = host.run(attempt)
        assert status == 126 and out == "" and "refused" in err, attempt
    status, out, _err = host.run("storestack-confirm status")
    assert status == 0 and json.loads(out)["armed"] is False
    # Arm and revert by hand, as an operator at the appliance would: the config is left as it was.
    before = running_config(frr.state_dir, "hub-2")
    assert host.run("storestack-confirm arm 60")[0] == 0
    assert json.loads(host.run("storestack-confirm status")[1])["armed"] is True
    status, out, err = host.run("storestack-confirm revert")
    assert status == 0 and "FRR reloaded the backup" in out, err
    assert running_config(frr.state_dir, "hub-2") == before
    # The timer runs as the login user, not root.
    namespace = frr_lab.require_state(frr.state_dir).runtime("hub-2").namespace
    owner = (confirm_dir(frr_lab.require_state(frr.state_dir).prefix) / namespace).stat().st_uid
    assert owner != 0 and pwd.getpwuid(owner).pw_name == frr_lab.require_state(frr.state_dir).username
