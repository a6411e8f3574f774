"""`storestack rollout` and `storestack drift` against the real FRR lab (root, FRR, sshd; fails under CI=true).

The fleet is a copy of the sample chain cut down to its two hubs, one live store and two new stores
(`nw-0101`, `nw-0102`) that have no allocation yet, so the committed lock file is never touched.
`nw-0101` is AWS-attached (a static link in eu-west-1), so its config carries AWS tunnels.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from testsupport.frr_lab_configs import established_peers, wait_for
from testsupport.lab import require_frr_lab
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS

from storestack import lab
from storestack.cli.main import cli
from storestack.devices.targets import ApplianceInventory
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab.fleet import topology_from_fleet
from storestack.network.build import NetworkIntent

# One lab and one first rollout for the module: its tests stay on one xdist worker.
pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("rollout-lab")]

NEW_STORES = ("nw-0101", "nw-0102")
NEW_STORE_FILES = {
    "nw-0101": """\
id: nw-0101
name: Northwind Leiden Centrum
city: Leiden
format: supermarket
region: randstad
hub: hq-hub1
state: planned
cloud: {aws_region: eu-west-1}
wan:
  - {name: wan1, kind: fiber, isp: KPN Zakelijk, bandwidth_mbps: 500, addressing: static,
     address: 198.51.100.50/30, gateway: 198.51.100.49, monthly_cost: 300, priority: 10}
  - {name: lte1, kind: lte, isp: Vodafone NL, bandwidth_mbps: 150, monthly_cost: 60, priority: 50}
lan:
  pos: {vlan: 10}
  office: {vlan: 20}
appliances:
  - {hostname: nw-0101-edge1, platform: frr, serial: NW-EDGE-10101}
""",
    "nw-0102": """\
id: nw-0102
name: Northwind Haarlem Grote Markt
city: Haarlem
format: supermarket
region: randstad
hub: hq-hub2
state: planned
wan:
  - {name: wan1, kind: broadband, isp: Ziggo Zakelijk, bandwidth_mbps: 400, monthly_cost: 90, priority: 10}
  - {name: lte1, kind: 5g, isp: T-Mobile NL, bandwidth_mbps: 300, monthly_cost: 70, priority: 50}
lan:
  pos: {vlan: 10}
  office: {vlan: 20}
  iot: {vlan: 50}
appliances:
  - {hostname: nw-0102-edge1, platform: frr, serial: NW-EDGE-10102}
""",
}


@dataclass
class Setup:
    fleet: Path
    lab_dir: Path
    state: Path
    stacks: Path
    first: dict[str, Any]

    def args(self, *extra: str) -> list[str]:
        return [
            "--fleet", str(self.fleet), "--lab", "--lab-dir", str(self.lab_dir), "--state-dir", str(self.state),
            "--stacks-out", str(self.stacks), *extra,
        ]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def invoke_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, out = invoke(*args, "--json")
    return code, json.loads(out)


def make_fleet(root: Path) -> Path:
    fleet = root / "fleet"
    shutil.copytree(sample_chain_path(), fleet)
    for path in (fleet / "stores").glob("*.yaml"):
        if path.stem != "nw-0001":
            path.unlink()
    for store_id, text in NEW_STORE_FILES.items():
        (fleet / "stores" / f"{store_id}.yaml").write_text(text)
    return fleet


def established(state_dir: Path, appliance: str) -> set[str]:
    return {peer.peer for peer in lab.bgp_peers(state_dir, appliance) if peer.state == "Established"}


def journal_of(report: dict[str, Any]) -> dict[str, Any]:
    """The run's journal, which holds each step's checks."""
    return dict(json.loads(Path(report["journal"]).read_text()))


def store(report: dict[str, Any], store_id: str) -> dict[str, Any]:
    return next(s for s in report["stores"] if s["store"] == store_id)


def step(report: dict[str, Any], store_id: str, name: str) -> dict[str, Any]:
    return next(s for s in store(report, store_id)["steps"] if s["name"] == name)


@pytest.fixture(scope="module")
def secrets() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in (*TEST_SECRETS, TEST_IPSEC_PSK_SEED[0])}
    os.environ.update(TEST_SECRETS)
    os.environ[TEST_IPSEC_PSK_SEED[0]] = TEST_IPSEC_PSK_SEED[1]
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, secrets: None) -> Iterator[Setup]:
    """The lab runs the hubs and the two new stores' appliances, freshly installed (empty configs);
    then the two stores are rolled out, which is what the first test examines."""
    require_frr_lab()
    root = tmp_path_factory.mktemp("rollout")
    fleet = make_fleet(root)
    lab_dir = root / "lab"
    try:
        lab.up(topology_from_fleet(load_fleet(fleet), list(NEW_STORES)), lab_dir)
    except lab.LabError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the FRR lab did not start: {exc}")
        raise
    try:
        partial = Setup(fleet, lab_dir, root / "state", root / "stacks-out", {})
        code, report = invoke_json("rollout", *NEW_STORES, *partial.args())
        assert code == 0, report
        partial.first = report
        yield partial
    finally:
        lab.down(lab_dir)


def test_fresh_rollout_brings_two_new_stores_live_end_to_end(setup: Setup) -> None:
    report = setup.first
    assert report["ok"] is True and report["outputs_mode"] == "planned"
    assert report["totals"]["active"] == 2
    for store_id in NEW_STORES:
        summary = store(report, store_id)
        assert summary["active"] is True and summary["changed"] is True
        assert [s["status"] for s in summary["steps"]] == ["done"] * 7
        assert summary["lines_pushed"] > 0
        assert "new allocation pinned" in step(report, store_id, "validate")["summary"]
        assert "PLANNED values" in step(report, store_id, "up")["summary"]
        # Two sessions and prefixes on both hubs. This lab runs no DC core, so its hubs announce
        # neither HQ nor a default route and no route leads the same way over both links: the
        # failover drill says so (`tests/lab/test_lab_check_sample_chain.py` drills it with HQ).
        assert summary["checks"] == {"passed": 4, "failed": 0, "skipped": 1}
        verify = next(s for s in journal_of(report)["subjects"][store_id]["steps"] if s["name"] == "verify")
        (drill,) = [c for c in verify["data"]["checks"] if c["name"].startswith("failover")]
        assert drill["status"] == "skipped" and "no DC core" in drill["detail"]

    lock = yaml.safe_load((setup.fleet / "allocations.yaml").read_text())
    assert set(NEW_STORES) <= set(lock["stores"])

    fleet = load_fleet(setup.fleet)
    for store_id in NEW_STORES:
        resolved = fleet.store(store_id)
        for link in resolved.wan:
            # Seen independently of the rollout: the hub's own BGP table, through vtysh. The
            # rollout's verify saw the same; on a loaded machine a BFD flap since then may have
            # reset the session, so give BGP the time to exchange the routes again.
            wanted = {str(p) for p in resolved.advertised_prefixes}

            def converged(hub: str = link.hub, peer: str = str(link.overlay.ip), wanted: set[str] = wanted) -> bool:
                if peer not in established(setup.lab_dir, hub):
                    return False
                out = lab.vtysh(setup.lab_dir, hub, f"show bgp ipv4 unicast neighbors {peer} routes json")
                return wanted <= set(json.loads(out)["routes"])

            wait_for(
                converged,
                30,
                f"{store_id}'s prefixes on {link.hub} over {link.name}",
            )

    journal = json.loads(Path(report["journal"]).read_text())
    assert journal["finished"] is True
    assert not (setup.state / "rollout" / report["run_id"]).exists()  # push files are removed once live
    for secret in TEST_SECRETS.values():
        assert secret not in json.dumps(report) + json.dumps(journal)


def test_after_a_rollout_push_dry_run_and_drift_both_see_zero_changes(setup: Setup) -> None:
    """One planned-values path: what rollout pushed is exactly what `devices push` (no --outputs)
    and `drift` render, hubs and an AWS-attached store included, so neither finds anything to
    change. (This lab runs a veth overlay; `tests/lab/test_lab_check_sample_chain.py` brings the
    AWS tunnels up through the cloud VPN stand-in and checks the same there.)"""
    intent = NetworkIntent(load_fleet(setup.fleet))
    aws = [t.id for t in intent.store("nw-0101").tunnels if t.kind == "store-aws"]
    assert aws == ["nw-0101-wan1-aws1", "nw-0101-wan1-aws2"], "the store under test has AWS tunnels"
    inventory = lab.lab_info(setup.lab_dir).inventory_path
    code, pushed = invoke_json(
        "devices", "push", "--dry-run", "--fleet", str(setup.fleet), "--targets", str(inventory),
        "--state-dir", str(setup.state), "--health-timeout", "20",
    )  # fmt: skip
    assert code == 0, pushed
    devices = {device["name"]: device for device in pushed["devices"]}
    assert set(devices) == {"hq-hub1", "hq-hub2", "nw-0101-edge1", "nw-0102-edge1"}
    assert {name: device["remediation"] for name, device in devices.items()} == {name: [] for name in devices}

    code, drift = invoke_json(
        "drift", "--fleet", str(setup.fleet), "--lab", "--lab-dir", str(setup.lab_dir), "--state-dir", str(setup.state)
    )
    assert code == 0, drift
    assert drift["summary"]["drifted"] == 0 and drift["summary"]["in_sync"] == 4


def test_rerun_of_a_finished_rollout_changes_nothing_and_says_so(setup: Setup) -> None:
    lock_before = (setup.fleet / "allocations.yaml").read_text()

    code, out = invoke("rollout", *NEW_STORES, *setup.args("--no-failover"))

    assert code == 0, out
    assert "0 config line(s) pushed" in out
    assert "nothing changed" in out
    assert (setup.fleet / "allocations.yaml").read_text() == lock_before


def test_a_dry_run_writes_no_secret_to_disk(setup: Setup) -> None:
    before = {p for p in setup.state.rglob("*") if p.is_file()}

    code, report = invoke_json("rollout", NEW_STORES[0], *setup.args("--dry-run", "--no-failover"))

    assert code == 0, report
    assert report["dry_run"] is True
    written = sorted(p for p in setup.state.rglob("*") if p.is_file() and p not in before)
    assert not any(p.is_relative_to(setup.state / "rollout") for p in written), written
    for path in written:  # the journal and the plan are all a dry run leaves
        text = path.read_text(errors="replace")
        assert not any(value in text for value in TEST_SECRETS.values()), path


def test_resume_after_a_failure_at_the_push_step(setup: Setup, tmp_path: Path) -> None:
    edge = "nw-0101-edge1"
    # A change is pending on the edge (someone edited it), so the push has real work to do.
    lab.vtysh(setup.lab_dir, edge, "configure terminal", "interface wan1", "description edited by hand")
    # The edge presents a host key that does not match what the inventory recorded.
    inventory = lab.lab_info(setup.lab_dir).inventory
    targets_file = tmp_path / "targets.yaml"
    wrong = ApplianceInventory(
        source=inventory.source,
        appliances=[
            t.model_copy(update={"host_key_fingerprint": "SHA256:" + "A" * 43}) if t.name == edge else t
            for t in inventory.appliances
        ],
    )
    wrong.save(targets_file)

    code, out = invoke("rollout", "nw-0101", *setup.args("--no-failover", "--targets", str(targets_file)))

    assert code == 1
    assert "nw-0101 stopped at push" in out
    assert "host key changed" in out.lower(), out
    assert "hubs" in out and "store edge" in out  # the state of every layer
    resume = next(line.split("resume with: ", 1)[1] for line in out.splitlines() if "resume with: " in line)
    run_id = resume.split("--resume ", 1)[1].split()[0]
    assert resume == f"storestack rollout --resume {run_id} --state-dir {setup.state}"
    journal = json.loads((setup.state / "runs" / f"{run_id}.json").read_text())
    steps = {s["name"]: s["status"] for s in journal["subjects"]["nw-0101"]["steps"]}
    assert steps == {
        "validate": "done", "plan": "done", "up": "done", "render": "done",
        "push": "failed", "verify": "pending", "activate": "pending",
    }
    assert "edited by hand" in lab.vtysh(setup.lab_dir, edge, "show running-config")  # nothing was sent

    inventory.save(targets_file)  # the operator records the right host key
    code, report = invoke_json("rollout", "--resume", run_id, "--state-dir", str(setup.state))

    assert code == 0, report
    assert report["run_id"] == run_id
    summary = store(report, "nw-0101")
    assert summary["active"] is True and summary["lines_pushed"] > 0
    assert "edited by hand" not in lab.vtysh(setup.lab_dir, edge, "show running-config")


def test_resume_after_a_failure_at_the_verify_step(setup: Setup) -> None:
    # The store's WAN lines are not live yet: its sessions cannot come up. (The earlier test brought
    # them up; wait until BFD or the hold timer has taken them down at both ends, or the verify,
    # which reads them from the hubs, could still see them Established, however briefly, and
    # rightly pass: a loaded hub's bgpd may notice the link later than the store's.)
    def at_hubs() -> list[str]:
        peers = [peer for hub in ("hq-hub1", "hq-hub2") for peer in lab.bgp_peers(setup.lab_dir, hub)]
        return [peer.peer for peer in peers if peer.description.startswith("nw-0102 ") and peer.state == "Established"]

    def sessions_down() -> bool:
        return not at_hubs() and not established_peers(setup.lab_dir, "nw-0102-edge1")

    assert at_hubs(), "the hubs show no Established session of nw-0102 before its lines fail"
    for link in ("wan1", "lte1"):
        lab.fail_link(setup.lab_dir, "nw-0102", link)
    try:
        wait_for(sessions_down, 60, "nw-0102's sessions to go down, at the store and at the hubs")
        code, report = invoke_json("rollout", "nw-0102", *setup.args("--no-failover", "--verify-timeout", "6"))
    finally:
        for link in ("wan1", "lte1"):
            lab.restore_link(setup.lab_dir, "nw-0102", link)

    assert code == 1
    assert step(report, "nw-0102", "push")["status"] == "done"
    verify = step(report, "nw-0102", "verify")
    assert verify["status"] == "failed" and "BGP" in verify["error"]
    assert report["resume_command"].startswith(f"storestack rollout --resume {report['run_id']}")

    code, resumed = invoke_json(
        "rollout", "--resume", report["run_id"], "--state-dir", str(setup.state), "--verify-timeout", "60"
    )

    assert code == 0, resumed
    assert step(resumed, "nw-0102", "verify")["status"] == "done"
    assert store(resumed, "nw-0102")["active"] is True


def test_drift_is_found_after_a_manual_change_and_cleared_by_a_repush(setup: Setup) -> None:
    drift_args = ["drift", "--fleet", str(setup.fleet), "--lab", "--lab-dir", str(setup.lab_dir),
                  "--state-dir", str(setup.state)]
    code, clean = invoke_json(*drift_args)
    assert code == 0, clean
    assert clean["summary"]["in_sync"] == 4 and clean["summary"]["drifted"] == 0

    lab.vtysh(setup.lab_dir, "nw-0102-edge1", "configure terminal", "interface lte1", "description tampered")

    code, drifted = invoke_json(*drift_args)
    assert code == 1
    by_name = {a["name"]: a for a in drifted["appliances"]}
    assert by_name["nw-0102-edge1"]["status"] == "drifted"
    remediation = by_name["nw-0102-edge1"]["remediation"]
    assert "interface lte1" in remediation and any("description lte1 5g" in line for line in remediation)
    assert {n for n, a in by_name.items() if a["status"] != "in_sync"} == {"nw-0102-edge1"}
    code, text = invoke(*drift_args)
    assert code == 1 and "fix with: storestack rollout nw-0102 --lab" in text and "1 drifted" in text
    for secret in TEST_SECRETS.values():
        assert secret not in text + json.dumps(drifted)

    code, repush = invoke_json("rollout", "nw-0102", *setup.args("--no-failover"))
    assert code == 0 and store(repush, "nw-0102")["lines_pushed"] > 0

    code, again = invoke_json(*drift_args)
    assert code == 0 and again["summary"]["drifted"] == 0
