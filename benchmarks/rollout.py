"""Rollout benchmark: N new generated stores into the FRR lab, then a re-run (root, FRR, sshd).

The fleet is the sample chain's hubs and one live store plus N new FRR stores (two WAN links
each, no allocation yet), all brought up in one lab. `storestack rollout --lab` takes every new
store through its seven steps (validate, plan, planned outputs, render, push, verify with the
failover drill, activate); then the same command again, which has nothing to change (and so
drills nothing). Targets (issue 18): at most 1.5 s per store for the rollout, 0.4 s per store
for the re-run. Prints wall and CPU seconds (this process; the lab's daemons are not counted).

    sudo .venv/bin/python benchmarks/rollout.py [--stores 40] [--concurrency 8] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from storestack import lab
from storestack.cli.main import cli
from storestack.common.journal import RunSteps
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab.fleet import topology_from_fleet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS

TARGET_PER_STORE = 1.5
TARGET_RERUN_PER_STORE = 0.4

STORE = """\
id: {id}
name: Northwind Benchmark {number}
city: Utrecht
format: supermarket
region: randstad
hub: hq-hub{hub}
state: planned
wan:
  - {{name: wan1, kind: broadband, isp: Ziggo Zakelijk, bandwidth_mbps: 400, monthly_cost: 90, priority: 10}}
  - {{name: lte1, kind: 5g, isp: T-Mobile NL, bandwidth_mbps: 300, monthly_cost: 70, priority: 50}}
lan:
  pos: {{vlan: 10}}
  office: {{vlan: 20}}
appliances:
  - {{hostname: {id}-edge1, platform: frr, serial: NW-BENCH-{number}}}
"""


def make_fleet(root: Path, count: int) -> tuple[Path, list[str]]:
    fleet = root / "fleet"
    shutil.copytree(sample_chain_path(), fleet)
    for path in (fleet / "stores").glob("*.yaml"):
        if path.stem != "nw-0001":
            path.unlink()
    stores = [f"nw-{2000 + number}" for number in range(count)]
    for number, store_id in enumerate(stores):
        text = STORE.format(id=store_id, number=2000 + number, hub=number % 2 + 1)
        (fleet / "stores" / f"{store_id}.yaml").write_text(text, encoding="utf-8")
    return fleet, stores


def rollout(args: list[str]) -> dict[str, Any]:
    cpu, started = time.process_time(), time.perf_counter()
    result = CliRunner().invoke(cli, ["rollout", *args, "--json"], catch_exceptions=False)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    report = json.loads(result.stdout)
    if result.exit_code != 0:
        failed = [s for s in report["stores"] if not s.get("active")]
        raise SystemExit(f"rollout failed (exit {result.exit_code}): {json.dumps(failed[:2])[:2000]}")
    # The journal holds every check of the verify step: a drilled store has failover checks that
    # passed (a lab without a DC core skips the drill: its hubs give the stores no default route).
    journal = RunSteps.model_validate_json(Path(report["journal"]).read_text(encoding="utf-8"))
    drilled = sum(
        1
        for subject in journal.subjects.values()
        for record in subject.steps
        if record.name == "verify"
        and any(
            str(check.get("name", "")).startswith("failover") and check.get("status") == "passed"
            for check in record.data.get("checks", [])
        )
    )
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "report": report,
        "drilled": drilled,
        "steps": step_profile(journal),
    }


def step_profile(journal: RunSteps) -> dict[str, dict[str, float]]:
    """Where a store's time goes: per step, the median and the slowest store's seconds, and the
    sum over stores (stores run in parallel, so sums exceed the wall time). The push step of the
    store that pushed its batch's hubs holds that hub push; the verify step holds the waits for
    BGP and the failover drill."""
    durations: dict[str, list[float]] = {}
    for subject in journal.subjects.values():
        for record in subject.steps:
            if record.duration_s is not None:
                durations.setdefault(record.name, []).append(record.duration_s)
    edge_pushes = [
        float(device["duration_s"])
        for subject in journal.subjects.values()
        for record in subject.steps
        if record.name == "push"
        for device in record.data.get("devices", [])
        if device.get("role") == "edge" and device.get("duration_s") is not None
    ]
    hub_pushes = [
        float(device["duration_s"])
        for subject in journal.subjects.values()
        for record in subject.steps
        if record.name == "push"
        for device in record.data.get("devices", [])
        if device.get("role") == "hub" and device.get("duration_s") is not None
    ]
    if edge_pushes:
        durations["push: store edge"] = edge_pushes
    if hub_pushes:
        durations["push: hub (once per batch)"] = hub_pushes
    return {
        name: {
            "median": round(statistics.median(values), 3),
            "max": round(max(values), 3),
            "sum": round(sum(values), 2),
        }
        for name, values in durations.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load_start = os.getloadavg()
    os.environ.update(TEST_SECRETS)
    os.environ.setdefault(*TEST_IPSEC_PSK_SEED)
    with tempfile.TemporaryDirectory(prefix="storestack-bench-rollout-") as tmp:
        root = Path(tmp)
        fleet, stores = make_fleet(root, args.stores)
        lab_dir = root / "lab"
        try:
            started = time.perf_counter()
            lab.up(topology_from_fleet(load_fleet(fleet), stores), lab_dir)
            lab_seconds = time.perf_counter() - started
            common = [
                "--fleet", str(fleet), "--lab", "--lab-dir", str(lab_dir), "--state-dir", str(root / "state"),
                "--stacks-out", str(root / "stacks"), "--concurrency", str(args.concurrency),
            ]
            first = rollout([*stores, *common])
            again = rollout([*stores, *common])
        finally:
            lab.down(lab_dir)
    n = args.stores

    def figures(run: dict[str, Any]) -> dict[str, Any]:
        return {
            "seconds": run["seconds"],
            "cpu_seconds": run["cpu_seconds"],
            "seconds_per_store": round(run["seconds"] / n, 2),
            "lines_pushed": sum(int(store["lines_pushed"]) for store in run["report"]["stores"]),
            "stores_drilled": run["drilled"],
            "steps": run["steps"],
        }

    results = {
        "stores": n,
        "concurrency": args.concurrency,
        "lab_up_seconds": round(lab_seconds, 2),
        "rollout": figures(first),
        "rerun": figures(again),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
    }
    results["targets"] = {
        "rollout": results["rollout"]["seconds_per_store"] <= TARGET_PER_STORE,
        "rerun": results["rerun"]["seconds_per_store"] <= TARGET_RERUN_PER_STORE,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"load average: start {results['load_average_start']}, end {results['load_average_end']}")
    for key, target in (("rollout", TARGET_PER_STORE), ("rerun", TARGET_RERUN_PER_STORE)):
        value = results[key]
        print(
            f"{key:<8} {n} stores, concurrency {args.concurrency}: {value['seconds']:.2f} s "
            f"({value['seconds_per_store']} s/store, target <= {target}: "
            f"{'met' if results['targets'][key] else 'MISSED'}), CPU {value['cpu_seconds']} s, "
            f"{value['lines_pushed']} lines, {value['stores_drilled']} stores drilled"
        )
        for step, spent in value["steps"].items():
            print(f"  {step:<28} median {spent['median']:6.2f} s  max {spent['max']:6.2f} s  sum {spent['sum']:8.2f} s")


if __name__ == "__main__":
    main()
