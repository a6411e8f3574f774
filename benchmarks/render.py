"""Render-time benchmark: every appliance config of a generated 10,000-store fleet plus its
hubs, and one hub with 2,000 store peers.

Targets (2-core machine): whole fleet under 10 s, the 2,000-peer hub under 1 s. The fleet comes
from `storestack.inventory.generate` (every platform and store shape in the mix). Printed:
wall time and CPU time per run (wall well above CPU means the machine was busy with something
else), per-config cost, the speed-up of parallel rendering, and how hub cost grows with peers.

Run: .venv/bin/python benchmarks/render.py [--stores N] [--workers N]
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from storestack.devices.render import render_fleet, render_hub
from storestack.inventory import Fleet, ResolvedStore, load_fleet, sample_chain_path
from storestack.inventory.generate import generate_fleet, write_fleet

FLEET_TARGET_S = 10.0
HUB_TARGET_S = 1.0


def generated_fleet(stores: int, seed: int, into: Path) -> Fleet:
    """A fleet from `storestack.inventory.generate`, written out and loaded like any inventory."""
    target = into / f"fleet-{stores}"
    write_fleet(generate_fleet(stores, seed), target)
    return load_fleet(target)


def timed(work: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    count = work()
    return time.perf_counter() - start, count


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the render workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def fleet_with_hub_peers(big: Fleet, hub: str, peers: int) -> Fleet:
    chosen: dict[str, ResolvedStore] = {}
    seen = 0
    for store in big:
        links = sum(1 for link in store.wan if link.hub == hub)
        if seen + links > peers:
            continue
        chosen[store.id] = store
        seen += links
        if seen == peers:
            break
    return Fleet(big.spec, big.hubs, chosen, big.root)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    base = load_fleet(sample_chain_path())
    with tempfile.TemporaryDirectory(prefix="storestack-bench-render-") as tmp:
        big = generated_fleet(args.stores, args.seed, Path(tmp))
    # The fleet lives for the whole run: keep the cyclic GC from rescanning it on every
    # collection (the CLI does the same after loading the inventory).
    gc.collect()
    gc.freeze()
    appliances = sum(len(store.appliances) for store in big)
    # Warm-up: compile every template once, as a long-running process would have.
    list(render_fleet(base))

    print(f"fleet: {args.stores} stores, {appliances} store appliances + {len(big.hubs)} hubs")
    print(f"  machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    results: dict[int, float] = {}
    for workers in sorted({1, args.workers}):
        cpu_before = cpu_seconds()
        fleet_s, rendered = timed(lambda workers=workers: sum(1 for _ in render_fleet(big, workers=workers)))
        cpu_s = cpu_seconds() - cpu_before
        results[workers] = fleet_s
        print(
            f"  {workers} worker(s): {rendered} configs in {fleet_s:.2f} s wall, {cpu_s:.2f} s CPU "
            f"({fleet_s / rendered * 1000:.2f} ms per config)"
        )
    best = min(results.values())
    print(
        f"  target < {FLEET_TARGET_S:.0f} s: {'OK' if best < FLEET_TARGET_S else 'MISSED'} "
        f"(best {best:.2f} s = {best / FLEET_TARGET_S:.2f} of target)"
    )
    if len(results) > 1:
        print(f"  speed-up with {args.workers} workers: {results[1] / results[args.workers]:.2f}x")

    print("hub scaling (hq-hub1, best of 3):")
    per_peer: list[float] = []
    for wanted in (500, 1000, 2000):
        subset = fleet_with_hub_peers(big, "hq-hub1", wanted)
        peers = len(subset.hub_peers("hq-hub1"))
        hub_s = min(timed(lambda subset=subset: len(render_hub(subset, "hq-hub1").text))[0] for _ in range(3))
        lines = len(render_hub(subset, "hq-hub1").text.splitlines())
        per_peer.append(hub_s / peers)
        print(f"  {peers:5d} peers: {hub_s:.3f} s, {lines} lines ({hub_s / peers * 1e6:.0f} us per peer)")
    print(
        f"  2000-peer target < {HUB_TARGET_S:.0f} s: {'OK' if hub_s < HUB_TARGET_S else 'MISSED'}; "
        f"per-peer cost 2000 vs 500 peers: {per_peer[-1] / per_peer[0]:.2f}x (1.0 = linear)"
    )


if __name__ == "__main__":
    main()
