"""Render-time benchmark: every appliance config of a 10,000-store fleet plus its hubs, and one
hub with 2,000 store peers.

Targets (2-core machine): whole fleet under 10 s, the 2,000-peer hub under 1 s. The fleet is
built in memory by cloning the sample chain's stores with fresh ids, ASNs and addresses, so
every store shape (dual WAN, LTE-only, mall with guest Wi-Fi, AWS affinity) and every
platform is in the mix.

Run: .venv/bin/python benchmarks/render.py [--stores N]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import time
from collections.abc import Callable

from storestack.devices.render import render_fleet, render_hub
from storestack.inventory import Fleet, ResolvedStore, load_fleet, sample_chain_path

FLEET_TARGET_S = 10.0
HUB_TARGET_S = 1.0


def clone_fleet(base: Fleet, count: int) -> Fleet:
    """`count` stores cloned round-robin from `base`, each with its own numbers."""
    templates = list(base)
    spec = base.spec
    low_asn = spec.asn.store_range[0]
    blocks = ipaddress.IPv4Network("11.0.0.0/8")  # benchmark-only space: room for 32k /23 blocks
    transit = int(spec.ip_plan.transit.network_address)
    loopbacks = int(spec.ip_plan.loopbacks.network_address) + 256
    stores: dict[str, ResolvedStore] = {}
    next_transit = 0
    for index in range(count):
        template = templates[index % len(templates)]
        store_id = f"bench-{index:05d}"
        block = ipaddress.IPv4Network((int(blocks.network_address) + index * 512, 23))
        offset = int(block.network_address) - int(template.segments["pos"].subnet.network_address)

        def moved(address: ipaddress.IPv4Address, shift: int = offset) -> ipaddress.IPv4Address:
            return ipaddress.IPv4Address(int(address) + shift)

        segments = {
            kind: segment.model_copy(
                update={
                    "subnet": ipaddress.IPv4Network(
                        (int(segment.subnet.network_address) + offset, segment.subnet.prefixlen)
                    ),
                    "gateway": moved(segment.gateway),
                    "dhcp_start": moved(segment.dhcp_start),
                    "dhcp_end": moved(segment.dhcp_end),
                }
            )
            for kind, segment in template.segments.items()
        }
        wan = []
        for link in template.wan:
            hub_side = ipaddress.IPv4Address(transit + 2 * next_transit)
            next_transit += 1
            wan.append(
                link.model_copy(
                    update={
                        "overlay": ipaddress.IPv4Interface(f"{hub_side + 1}/31"),
                        "overlay_peer": hub_side,
                    }
                )
            )
        loopback = ipaddress.IPv4Address(loopbacks + index)
        appliances = [
            appliance.model_copy(
                update={
                    "hostname": f"{store_id}-edge{n + 1}",
                    "loopback": loopback,
                    "management_address": loopback,
                }
            )
            for n, appliance in enumerate(template.appliances)
        ]
        stores[store_id] = template.model_copy(
            update={
                "id": store_id,
                "asn": low_asn + index,
                "block": block,
                "segments": segments,
                "wan": wan,
                "appliances": appliances,
                "state": "active",
            }
        )
    return Fleet(spec, base.hubs, stores, base.root)


def timed(work: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    count = work()
    return time.perf_counter() - start, count


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
    args = parser.parse_args()

    base = load_fleet(sample_chain_path())
    big = clone_fleet(base, args.stores)
    appliances = sum(len(store.appliances) for store in big)
    # Warm-up: compile every template once, as a long-running process would have.
    list(render_fleet(base))

    print(f"fleet: {args.stores} stores, {appliances} store appliances + {len(big.hubs)} hubs")
    results: dict[int, float] = {}
    for workers in sorted({1, args.workers}):
        fleet_s, rendered = timed(lambda workers=workers: sum(1 for _ in render_fleet(big, workers=workers)))
        results[workers] = fleet_s
        print(
            f"  {workers} worker(s): {rendered} configs in {fleet_s:.2f} s "
            f"({fleet_s / rendered * 1000:.2f} ms per config)"
        )
    best = min(results.values())
    print(
        f"  target < {FLEET_TARGET_S:.0f} s: {'OK' if best < FLEET_TARGET_S else 'MISSED'} "
        f"(best {best:.2f} s = {best / FLEET_TARGET_S:.2f} of target)"
    )
    if len(results) > 1:
        print(f"  speed-up with {args.workers} workers: {results[1] / results[args.workers]:.2f}x")

    print("hub scaling (hq-hub1):")
    per_peer: list[float] = []
    for peers in (500, 1000, 2000):
        subset = fleet_with_hub_peers(big, "hq-hub1", peers)
        hub_s, _ = timed(lambda subset=subset: len(render_hub(subset, "hq-hub1").text))
        lines = len(render_hub(subset, "hq-hub1").text.splitlines())
        per_peer.append(hub_s / peers)
        print(f"  {peers:5d} peers: {hub_s:.3f} s, {lines} lines ({hub_s / peers * 1e6:.0f} us per peer)")
    print(
        f"  2000-peer target < {HUB_TARGET_S:.0f} s: {'OK' if hub_s < HUB_TARGET_S else 'MISSED'}; "
        f"per-peer cost 2000 vs 500 peers: {per_peer[-1] / per_peer[0]:.2f}x (1.0 = linear)"
    )


if __name__ == "__main__":
    main()
