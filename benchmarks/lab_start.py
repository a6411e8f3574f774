"""Lab start-up: seconds to bring up 20 and 50 FRR appliances, and memory per appliance.

Also the IPsec lab (`--ipsec-stores`, default 20): a generated fleet's first 20 FRR stores and
both hubs with the intent's tunnels (every transport to both hubs), timed until every tunnel is
up, then `lab check` (tunnels and WAN evidence) must pass. Target: under 30 s.

Needs root, FRR and sshd. Run: .venv/bin/python benchmarks/lab_start.py
Memory is the RSS (and USS, memory not shared with other processes) of every process in the
appliance's namespace (zebra, bgpd, staticd, bfdd), watchfrr, and the appliance's share of sshd.
Also the vendor emulator: seconds to start 50 emulated devices and the first Netmiko login.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from storestack import lab
from storestack.common.platforms import EMULATED_PLATFORM_NAMES
from storestack.lab.emulator import EmulatedDevice, Emulator, EmulatorThread

MIB = 1024 * 1024


def bench_frr(appliances: int, root: Path) -> dict[str, float]:
    topology = lab.synthetic_topology(appliances - 2)  # two hubs plus the stores
    state_dir = root / f"bench-{appliances}"
    started = time.perf_counter()
    try:
        info = lab.up(topology, state_dir)
        up_seconds = time.perf_counter() - started
        assert len(info.inventory.appliances) == appliances
        memory = lab.memory(state_dir)
        healthy = lab.status(state_dir).healthy
    finally:
        started = time.perf_counter()
        lab.down(state_dir)
        down_seconds = time.perf_counter() - started
    return {
        "appliances": appliances,
        "up_seconds": up_seconds,
        "down_seconds": down_seconds,
        "rss_mib": memory.rss_per_appliance / MIB,
        "uss_mib": memory.uss_per_appliance / MIB,
        "healthy": float(healthy),
    }


def bench_ipsec(stores: int, root: Path) -> dict[str, float | str]:
    """One start of the IPsec lab. A start that fails (tunnels not up in time) is a result too:
    `failed` says why, and the tunnels are counted as they were."""
    from storestack.inventory import load_fleet
    from storestack.inventory.generate import generate_fleet, write_fleet
    from storestack.lab.check import check
    from storestack.lab.fleet import topology_from_fleet
    from storestack.lab.overlay import tunnel_status

    fleet_dir = root / "fleet"
    if not fleet_dir.exists():
        write_fleet(generate_fleet(max(100, 5 * stores), seed=7), fleet_dir)
    fleet = load_fleet(fleet_dir)
    frr_stores = [s.id for s in fleet if s.appliances and s.appliances[0].platform == "frr"][:stores]
    topology = topology_from_fleet(fleet, frr_stores, overlay="ipsec")
    state_dir = root / "bench-ipsec"
    started = time.perf_counter()
    failed = ""
    try:
        try:
            lab.up(topology, state_dir)
        except lab.LabError as exc:
            failed = str(exc)
        up_seconds = time.perf_counter() - started
        tunnels = tunnel_status(state_dir)
        verdict = check(state_dir)
        memory = lab.memory(state_dir)
    finally:
        lab.down(state_dir)
    return {
        "stores": float(len(frr_stores)),
        "appliances": float(len(topology.appliances)),
        "tunnels": float(len(tunnels)),
        "tunnels_up": float(sum(t.up for t in tunnels)),
        "up_seconds": up_seconds,
        "check_ok": float(verdict.ok and not failed),
        "problems": "; ".join(verdict.problems[:3]),
        "failed": failed,
        "rss_mib": memory.rss_per_appliance / MIB,
        "load_average": os.getloadavg()[0],
    }


def bench_emulator(devices: int) -> dict[str, float]:
    platforms = EMULATED_PLATFORM_NAMES
    specs = [EmulatedDevice(name=f"emu-{n:03d}", platform=platforms[n % len(platforms)]) for n in range(devices)]
    started = time.perf_counter()
    with EmulatorThread(Emulator(specs)) as emulator:
        start_seconds = time.perf_counter() - started
        ports = emulator.ports()
    return {"devices": devices, "start_seconds": start_seconds, "ports": float(len(set(ports.values())))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[20, 50], help="FRR lab sizes; none skips them")
    parser.add_argument("--ipsec-stores", type=int, default=20, help="0 skips the IPsec lab")
    parser.add_argument("--ipsec-runs", type=int, default=1, help="start the IPsec lab this many times")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    skipped = None
    try:
        lab.check_prerequisites()
    except lab.LabPrerequisiteError as exc:
        skipped = str(exc)
        frr_results: list[dict[str, float]] = []
        ipsec_results: list[dict[str, float | str]] = []
    else:
        with tempfile.TemporaryDirectory(prefix="storestack-lab-bench-") as tmp:
            frr_results = [bench_frr(count, Path(tmp)) for count in args.sizes]
            runs = args.ipsec_runs if args.ipsec_stores else 0
            ipsec_results = [bench_ipsec(args.ipsec_stores, Path(tmp)) for _ in range(runs)]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    emulator = bench_emulator(50)
    if args.json:
        print(
            json.dumps(
                {
                    "frr": frr_results,
                    "ipsec": ipsec_results,
                    "skipped": skipped,
                    "emulator": emulator,
                    "load_average": load,
                }
            )
        )
        return 0
    if skipped:
        print(f"skipped FRR lab benchmark: {skipped}", file=sys.stderr)
    # Start-up is CPU-bound (about 0.2 CPU-seconds of daemon initialisation per appliance), so
    # figures on a machine busy with other work are slower than on an idle one.
    print(f"machine: {os.cpu_count()} CPUs, load average now {load}")
    for result in frr_results:
        print(
            f"FRR lab, {int(result['appliances'])} appliances: up {result['up_seconds']:.2f} s "
            f"({result['up_seconds'] / result['appliances'] * 1000:.0f} ms per appliance), "
            f"down {result['down_seconds']:.2f} s, healthy={bool(result['healthy'])}; "
            f"per appliance RSS {result['rss_mib']:.1f} MiB, USS {result['uss_mib']:.1f} MiB"
        )
    if len(frr_results) == 2:
        small, large = frr_results
        print(
            f"scaling {int(small['appliances'])} -> {int(large['appliances'])} appliances: "
            f"x{large['up_seconds'] / small['up_seconds']:.2f} time "
            f"for x{large['appliances'] / small['appliances']:.1f} appliances"
        )
    for run, ipsec in enumerate(ipsec_results, start=1):
        verdict = "passed" if ipsec["check_ok"] else f"FAILED ({ipsec['failed'] or ipsec['problems']})"
        print(
            f"IPsec lab run {run}/{len(ipsec_results)}, {int(ipsec['stores'])} FRR stores + hubs "
            f"({int(ipsec['appliances'])} appliances, {int(ipsec['tunnels_up'])}/{int(ipsec['tunnels'])} tunnels up): "
            f"up {float(ipsec['up_seconds']):.2f} s (target < 30 s) at load {float(ipsec['load_average']):.1f}, "
            f"lab check {verdict}; per appliance RSS {float(ipsec['rss_mib']):.1f} MiB"
        )
    print(
        f"vendor emulator, {int(emulator['devices'])} devices: started in {emulator['start_seconds']:.2f} s "
        f"on {int(emulator['ports'])} ports"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
