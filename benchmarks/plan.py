"""Offline plan time and peak memory for 100 and 1,000 store stacks.

Targets (2-core machine): time per store stays flat from 100 to 1,000 stores (within 1.5x), and
1,000 store stacks plan in under 20 s. Prints figures and ratios; it asserts nothing. Each store
stack renders its appliances' intended configs into its StoreEdges, as `storestack plan` does.

Fleets come from `storestack inventory generate` when the installed storestack has it, otherwise
they are synthesised from the sample chain (store files replicated with fresh ids and addresses).

    .venv/bin/python benchmarks/plan.py [--sizes 100 1000] [--workers N]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from storestack.inventory import load_fleet, sample_chain_path
from storestack.stacks.plan import make_tasks, plan_tasks, preload
from storestack.stacks.render import plan_stacks


def generated_fleet(stores: int, into: Path) -> Path:
    """A valid fleet of `stores` stores in `into`."""
    target = into / f"fleet-{stores}"
    storestack = Path(sys.executable).with_name("storestack")
    probe = subprocess.run([storestack, "inventory", "generate", "--help"], capture_output=True, text=True)
    if probe.returncode == 0:
        subprocess.run(
            [
                storestack,
                "inventory",
                "generate",
                "--stores",
                str(stores),
                "--seed",
                "7",
                "--out",
                str(target),
            ],
            check=True,
            capture_output=True,
        )
        return target
    return _synthesised_fleet(stores, target)


def _synthesised_fleet(stores: int, target: Path) -> Path:
    sample = sample_chain_path()
    (target / "stores").mkdir(parents=True)
    shutil.copy(sample / "fleet.yaml", target / "fleet.yaml")
    templates = [yaml.safe_load(p.read_text()) for p in sorted((sample / "stores").glob("*.yaml"))]
    addresses = ipaddress.IPv4Network("198.18.0.0/15").subnets(new_prefix=30)
    for index in range(stores):
        store = dict(templates[index % len(templates)])
        store_id = f"bm-{index:05d}"
        store["id"] = store_id
        store["state"] = "active"
        store.pop("asn", None)
        store["lan"] = {kind: {"vlan": seg["vlan"]} for kind, seg in store["lan"].items()}
        store["appliances"] = [
            {k: v for k, v in appliance.items() if k not in ("serial", "ssh_host_key", "management_address")}
            | {"hostname": f"{store_id}-edge{n + 1}"}
            for n, appliance in enumerate(store["appliances"])
        ]
        wan = []
        for link in store["wan"]:
            link = dict(link)
            if link.get("addressing") == "static":
                network = next(addresses)
                link["address"] = f"{network[2]}/30"
                link["gateway"] = str(network[1])
            wan.append(link)
        store["wan"] = wan
        (target / "stores" / f"{store_id}.yaml").write_text(yaml.safe_dump(store, sort_keys=False))
    return target


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(fleet_dir: Path, workers: int | None) -> tuple[int, float, float, float]:
    """(store stacks, wall seconds, wall seconds per store, CPU seconds per store) for every store stack.

    CPU time is the steadier figure on a shared machine: divided by the core count it is the wall
    time the same run takes on otherwise idle cores.
    """
    fleet = load_fleet(fleet_dir)
    _, configs = plan_stacks(fleet)
    tasks = [t for t in make_tasks(configs) if t.kind == "store"]
    # Provider modules load once per run of the CLI; keep that one-off cost out of the per-store figure.
    preload({"store"})
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    plans = plan_tasks(tasks, workers=workers, fleet=fleet)
    elapsed, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    assert len(plans) == len(tasks)
    return len(tasks), elapsed, elapsed / len(tasks), cpu / len(tasks)


def peak_rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cores = args.workers or os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory(prefix="storestack-bench-plan-") as tmp:
        for size in args.sizes:
            fleet_dir = generated_fleet(size, Path(tmp))
            count, elapsed, each, cpu_each = measure(fleet_dir, args.workers)
            rows.append(
                {
                    "stores": count,
                    "seconds": round(elapsed, 2),
                    "ms_per_store": round(each * 1000, 1),
                    "cpu_ms_per_store": round(cpu_each * 1000, 1),
                    # Each size runs after the smaller ones, so this is the run's peak so far.
                    "peak_rss_mib": round(peak_rss_mib(), 1),
                }
            )
    results: dict[str, object] = {"workers": cores, "load_average_start": os.getloadavg()[0], "sizes": rows}
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        results["per_store_ratio_wall"] = round(large["ms_per_store"] / small["ms_per_store"], 2)
        results["per_store_ratio_cpu"] = round(large["cpu_ms_per_store"] / small["cpu_ms_per_store"], 2)
    thousand = next((row for row in rows if row["stores"] == 1000), None)
    if thousand is not None:
        # CPU time divided by the cores is the wall time on otherwise idle cores.
        results["idle_seconds_1000"] = round(thousand["cpu_ms_per_store"] * 1000 / 1000 / cores, 1)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"cores: {os.cpu_count()}, workers: {cores}")
    for row in rows:
        print(
            f"{row['stores']:6d} store stacks: {row['seconds']:7.2f} s wall, {row['ms_per_store']:6.1f} ms per store; "
            f"{row['cpu_ms_per_store']:6.1f} ms CPU per store; peak RSS {row['peak_rss_mib']:7.1f} MiB (largest process)"
        )
    if "per_store_ratio_wall" in results:
        print(
            f"per-store time ratio {rows[-1]['stores']}/{rows[0]['stores']}: wall {results['per_store_ratio_wall']}x, "
            f"CPU {results['per_store_ratio_cpu']}x (target <= 1.5x)"
        )
    if thousand is not None:
        print(
            f"1000 store stacks: {thousand['seconds']:.1f} s wall here, "
            f"{results['idle_seconds_1000']} s on {cores} idle cores (target < 20 s on 2 cores)"
        )


if __name__ == "__main__":
    main()
