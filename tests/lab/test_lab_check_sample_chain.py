"""`storestack lab up && storestack rollout … --lab && storestack lab check --json` on the sample
chain's FRR stores, through the command line as a user runs it: the check must pass, AWS tunnels
through the cloud stand-in and internet cells included; then `devices push --dry-run` and
`drift` against the same lab find 0 changes. Runs in `make test` (root, FRR, sshd,
strongSwan); in CI it fails, never skips, when the lab cannot start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from testsupport.lab import cli_lab_dirs

from storestack import lab
from storestack.inventory import load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab-check-sample-chain")]

FLEET = load_fleet(sample_chain_path())
FRR_STORES = [s.id for s in FLEET if s.appliances and s.appliances[0].platform == "frr"]
STORESTACK = Path(sys.executable).with_name("storestack")


def storestack(cwd: Path, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    # The fleet PSK, the NTP keys and the SNMP passphrases (the FRR hosts' chrony.keys and
    # snmpd.conf) for the rollout's push files.
    env = {
        **os.environ,
        "STORESTACK_IPSEC_PSK": "lab-check-sample-chain-psk-0123456789",
        "STORESTACK_NTP_KEY": os.environ.get("STORESTACK_NTP_KEY") or "lab-check-ntp-k1",
        "STORESTACK_NTP_KEY_HMAC": os.environ.get("STORESTACK_NTP_KEY_HMAC") or "lab-check-ntp-hmac-01",
        "STORESTACK_NTP_KEY_SHA256": os.environ.get("STORESTACK_NTP_KEY_SHA256") or "lab-check-ntp-sha-01",
        "STORESTACK_SNMP_AUTH_KEY": os.environ.get("STORESTACK_SNMP_AUTH_KEY") or "lab-check-snmp-auth-01",
        "STORESTACK_SNMP_PRIV_KEY": os.environ.get("STORESTACK_SNMP_PRIV_KEY") or "lab-check-snmp-priv-01",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [str(STORESTACK), *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    with cli_lab_dirs(tmp_path_factory, "sample-chain-check") as dirs:
        yield dirs


def test_lab_check_passes_on_the_sample_chains_frr_stores(lab_dir: tuple[Path, Path]) -> None:
    root, state_dir = lab_dir
    assert len(FRR_STORES) >= 2

    started = storestack(root, "lab", "up", "--overlay", "ipsec", "--stores", ",".join(FRR_STORES), "--state-dir", str(state_dir), "--json")
    assert started.returncode == 0, started.stdout + started.stderr
    rolled = storestack(root, "rollout", *FRR_STORES, "--lab", "--lab-dir", str(state_dir), "--json", timeout=900)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    # The failover drill, judged by the route to HQ that this lab's hubs learn from its DC core:
    # every store with a backup link moved it to the backup and back.
    journal = json.loads((root / json.loads(rolled.stdout)["journal"]).read_text())
    drilled = 0
    for store_id in FRR_STORES:
        verify = next(s for s in journal["subjects"][store_id]["steps"] if s["name"] == "verify")
        drills = [c for c in verify["data"]["checks"] if c["name"].startswith("failover")]
        if len(FLEET.store(store_id).wan) > 1:
            assert [c["status"] for c in drills] == ["passed", "passed"], (store_id, drills)
            drilled += 1
    assert drilled >= 2
    checked = storestack(root, "lab", "check", "--state-dir", str(state_dir), "--json")

    report = json.loads(checked.stdout)
    assert checked.returncode == 0, report["problems"]
    assert report["ok"] is True and report["problems"] == []
    tunnels = [item["tunnel"] for item in report["tunnels"]]
    assert tunnels and all(t["up"] for t in tunnels)
    # Every AWS tunnel of the FRR stores is up, through the cloud stand-in.
    intent = NetworkIntent(FLEET)
    aws = {t.id for store in FRR_STORES for t in intent.store(store).tunnels if t.kind == "store-aws"}
    assert aws and {t["id"] for t in tunnels if t["responder"] == "cloud-vpn"} == aws
    # The matrix: every FRR store's hosts, internet cells included, all as the intent says.
    cells = report["reachability"]
    assert {c["store_id"] for c in cells} == set(FRR_STORES)
    internet = [c for c in cells if c["target"] == "internet"]
    assert any(c["reachable"] for c in internet) and any(not c["reachable"] for c in internet)
    assert all(c["reachable"] == c["allowed"] for c in cells)
    # The BFD sessions SLA steering watches run on every FRR store and are up where the lab runs
    # the far end.
    edges = {FLEET.store(store).appliances[0].hostname for store in FRR_STORES}
    in_lab = [s for s in report["bfd"] if s["peer"] is not None]
    assert edges <= {s["appliance"] for s in in_lab}
    assert all(s["status"] == "up" for s in in_lab), [s for s in in_lab if s["status"] != "up"]
    # Only IKE/ESP between sites on every WAN link (HQ's breakout line carries internet only).
    assert all(e["bgp_packets"] == e["bfd_packets"] == e["other_packets"] == 0 for e in report["wan"])
    assert all(e["ipsec_packets"] > 0 for e in report["wan"] if e["kind"] != "site")
    # One planned-values path: what rollout pushed, with the AWS tunnels up through the stand-in
    # configured from the plan, is what `devices push --dry-run` and `drift` render: 0 changes,
    # AWS-attached stores and hubs included.
    inventory = lab.lab_info(state_dir).inventory_path
    pushed = storestack(root, "devices", "push", "--dry-run", "--targets", str(inventory), "--health-timeout", "20", "--json")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    devices = {device["name"]: device["remediation"] for device in json.loads(pushed.stdout)["devices"]}
    edges = {store.appliances[0].hostname for store in (FLEET.store(s) for s in FRR_STORES)}
    assert edges | set(FLEET.hubs) <= set(devices)
    assert devices == {name: [] for name in devices}
    drift = storestack(root, "drift", "--lab", "--lab-dir", str(state_dir), "--json")
    summary = json.loads(drift.stdout)["summary"]
    assert drift.returncode == 0 and summary["drifted"] == 0 and summary["in_sync"] == len(devices), drift.stdout
