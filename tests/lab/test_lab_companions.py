"""FRR companion files pushed, applied, drifted and reverted on a lab appliance (root, FRR, sshd).

The sample chain's nw-0001 in the IPsec lab, rolled out with `rollout --lab`: its host firewall
is the rendered nftables.conf, kept as the appliance's companion file. A changed firewall is
pushed (`devices push --intended DIR` with `<edge>.nftables.conf` beside the config), installed
through the login's companion verbs and loaded into the appliance's namespace; `drift` reports
the file when it is changed behind the tool's back; an install that is not confirmed (the timer
runs out, or a failed push aborts) is put back by storestack-confirm. Fails, never skips, under
CI when the lab cannot start; the lab (namespaces, login user, sudo rules) goes down at the end.
"""

from __future__ import annotations

import json
import pwd
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from testsupport.frr_lab_configs import running_config, wait_for
from testsupport.lab import rolled_out_lab

from storestack.cli.main import cli
from storestack.devices.hostkeys import KnownHostKeys
from storestack.devices.session import ApplianceSession, SessionOptions
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab import companions, frr_lab
from storestack.lab.fleet import topology_from_fleet
from storestack.lab.sshd import confirm_dir

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab-companions")]

FLEET = load_fleet(sample_chain_path())
STORE = "nw-0001"
EDGE = "nw-0001-edge1"
TOPOLOGY = topology_from_fleet(FLEET, [STORE], overlay="ipsec")
MARK = 'tcp dport 4711 accept comment "companion test"'


@pytest.fixture(scope="module")
def rolled_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with rolled_out_lab(tmp_path_factory.mktemp("companions"), TOPOLOGY, [STORE], "companions-fleet-psk-0123456789") as state_dir:
        yield state_dir


def namespace(state_dir: Path) -> str:
    return frr_lab.require_state(state_dir).runtime(EDGE).namespace


def firewall_file(state_dir: Path) -> Path:
    state = frr_lab.require_state(state_dir)
    return companions.etc_dir(confirm_dir(state.prefix), namespace(state_dir)) / "nftables.conf"


def input_chain(state_dir: Path) -> str:
    """The input chain the appliance's kernel runs now."""
    return subprocess.run(
        ["ip", "netns", "exec", namespace(state_dir), "nft", "list", "chain", "inet", "storestack", "input"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout


def with_mark(ruleset: str) -> str:
    """The firewall with one more accept rule, right after loopback's."""
    line = '        iif "lo" accept\n'
    assert line in ruleset
    return ruleset.replace(line, f"{line}        {MARK}\n", 1)


def push(state_dir: Path, tmp_path: Path, name: str, config: str, firewall: str, *extra: str) -> tuple[int, dict[str, Any]]:
    """`devices push --intended DIR --json` with the edge's config and its firewall beside it."""
    intended = tmp_path / name
    intended.mkdir()
    (intended / f"{EDGE}.cfg").write_text(config)
    (intended / f"{EDGE}.nftables.conf").write_text(firewall)
    info = frr_lab.lab_info(state_dir)
    result = CliRunner().invoke(
        cli,
        [
            "devices", "push", "--targets", str(info.inventory_path), "--appliance", EDGE, "--intended", str(intended),
            "--state-dir", str(tmp_path / "push-state"), "--confirm-timeout", "20", "--health-timeout", "30",
            "--json", *extra,
        ],
        catch_exceptions=False,
    )
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"no JSON report (exit {result.exit_code}): {result.output}") from exc


def test_the_rendered_firewall_is_the_companion_file_the_rollout_left_in_sync(rolled_out: Path) -> None:
    drift = CliRunner().invoke(cli, ["drift", "--lab", "--lab-dir", str(rolled_out), "--json"], catch_exceptions=False)
    report = json.loads(drift.stdout)
    edge = next(item for item in report["appliances"] if item["name"] == EDGE)
    files = {item["name"]: item["status"] for item in edge["companions"]}
    # The lab takes the firewall as rendered; what it adapts or does not run it does not take.
    assert files["nftables.conf"] == "in_sync", edge
    assert files["swanctl.conf"] == "not-taken" and files["chrony.keys"] == "not-taken"
    # The firewall runs with the lab's one rule beside it, and the login user owns the file.
    assert 'iifname "ipsec0" udp dport 4789 accept' in input_chain(rolled_out)
    assert firewall_file(rolled_out).stat().st_uid == pwd.getpwnam(frr_lab.require_state(rolled_out).username).pw_uid


def test_a_changed_firewall_is_pushed_applied_and_then_reported_by_drift_when_changed_behind_the_tools_back(
    rolled_out: Path, tmp_path: Path
) -> None:
    rendered = firewall_file(rolled_out).read_text()
    config = running_config(rolled_out, EDGE)
    changed = with_mark(rendered)

    code, plan = push(rolled_out, tmp_path, "plan", config, changed, "--dry-run")
    assert code == 0, plan
    (device,) = plan["devices"]
    (planned,) = device["companions"]
    assert (device["outcome"], planned["status"], planned["change_lines"]) == ("planned", "planned", 1)
    assert f"+        {MARK}" in planned["diff"]
    assert MARK not in input_chain(rolled_out)

    code, report = push(rolled_out, tmp_path, "change", config, changed)
    assert code == 0, report
    (device,) = report["devices"]
    assert device["outcome"] == "changed" and device["config_lines_sent"] == 0, device
    assert device["companions"][0]["status"] == "changed"
    assert device["commit_confirm"]["confirmed"] is True
    # On the host: the file in place with its mode, the kernel running it, the lab's rule kept.
    assert firewall_file(rolled_out).read_text() == changed
    assert firewall_file(rolled_out).stat().st_mode & 0o777 == 0o644
    chain = input_chain(rolled_out)
    assert MARK in chain and 'iifname "ipsec0" udp dport 4789 accept' in chain

    code, again = push(rolled_out, tmp_path, "again", config, changed)
    assert code == 0 and again["devices"][0]["outcome"] == "unchanged", again
    assert again["devices"][0]["companions"][0]["status"] == "unchanged"

    # Back to the render; then someone edits the file on the host and reloads it.
    code, back = push(rolled_out, tmp_path, "back", config, rendered)
    assert code == 0 and back["devices"][0]["companions"][0]["status"] == "changed", back
    firewall_file(rolled_out).write_text(rendered.replace("policy drop;", "policy accept;", 1))
    drift = CliRunner().invoke(cli, ["drift", "--lab", "--lab-dir", str(rolled_out), "--json"], catch_exceptions=False)
    assert drift.exit_code == 1, drift.output
    edge = next(item for item in json.loads(drift.stdout)["appliances"] if item["name"] == EDGE)
    assert edge["status"] == "drifted"
    (firewall,) = [item for item in edge["companions"] if item["name"] == "nftables.conf"]
    assert firewall["status"] == "drifted" and firewall["change_lines"] == 2
    assert "-        type filter hook input priority filter; policy accept;" in firewall["diff"]
    # The next push puts the render back.
    code, fixed = push(rolled_out, tmp_path, "fixed", config, rendered)
    assert code == 0 and fixed["devices"][0]["companions"][0]["status"] == "changed", fixed
    assert firewall_file(rolled_out).read_text() == rendered


def test_a_firewall_installed_under_a_timer_that_runs_out_is_put_back(rolled_out: Path) -> None:
    rendered = firewall_file(rolled_out).read_text()
    info = frr_lab.lab_info(rolled_out)
    target = info.inventory.by_name()[EDGE]
    known_hosts = KnownHostKeys(rolled_out.parent / "timer-known-hosts.json")
    with ApplianceSession(
        target, target.credentials.resolve(), options=SessionOptions(read_timeout=20.0), known_hosts=known_hosts
    ) as session:
        armed_at = time.time()
        said = session.host_commands(["storestack-confirm arm 10"], "arming")
        assert said[0].startswith("armed"), said
        installed = session.host_file_command(
            "storestack-confirm companion-install nftables.conf", "installing", stdin=with_mark(rendered).encode()
        )
        assert installed.startswith("installed nftables.conf sha256 ")
        assert MARK in input_chain(rolled_out)
    # Nobody confirms: the appliance's own timer puts the file back and reloads it (then FRR).
    last_file = confirm_dir(frr_lab.require_state(rolled_out).prefix) / namespace(rolled_out) / "last.json"

    def last() -> dict[str, Any]:
        recorded: dict[str, Any] = json.loads(last_file.read_text())
        return recorded

    wait_for(lambda: last()["at"] > armed_at and last()["outcome"] != "confirmed", 60, "the timer to revert")
    assert last()["outcome"] == "reverted" and "nftables.conf restored" in last()["detail"], last()
    assert MARK not in input_chain(rolled_out)
    assert firewall_file(rolled_out).read_text() == rendered
    assert 'iifname "ipsec0" udp dport 4789 accept' in input_chain(rolled_out)


def test_a_push_that_fails_after_installing_the_firewall_puts_it_back(rolled_out: Path, tmp_path: Path) -> None:
    rendered = firewall_file(rolled_out).read_text()
    config = running_config(rolled_out, EDGE)
    broken = config.replace("\nend", "\nno-such-frr-command 4711\nend", 1)
    assert broken != config

    code, report = push(rolled_out, tmp_path, "broken", broken, with_mark(rendered))

    assert code == 1, report
    (device,) = report["devices"]
    assert device["outcome"] == "failed" and device["stage"] == "apply", device
    assert device["rollback"]["ok"] is True, device
    assert device["companions"][0]["status"] == "failed"
    assert firewall_file(rolled_out).read_text() == rendered
    assert MARK not in input_chain(rolled_out)


def test_without_the_appliances_timer_the_engine_itself_puts_the_firewall_back(rolled_out: Path, tmp_path: Path) -> None:
    rendered = firewall_file(rolled_out).read_text()
    config = running_config(rolled_out, EDGE)
    broken = config.replace("\nend", "\nno-such-frr-command 4712\nend", 1)

    code, report = push(
        rolled_out, tmp_path, "no-timer", broken, with_mark(rendered), "--confirm-timeout", "0", "--no-confirm-i-know"
    )

    assert code == 1, report
    (device,) = report["devices"]
    assert device["commit_confirm"] is None and device["outcome"] == "failed", device
    # The rollback installed the file it read before the push, and checked the digests after.
    assert device["rollback"]["ok"] is True and device["rollback"]["residual"] == [], device
    assert device["companions"][0]["status"] == "failed"
    assert firewall_file(rolled_out).read_text() == rendered
    assert MARK not in input_chain(rolled_out)
