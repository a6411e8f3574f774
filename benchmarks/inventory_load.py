"""Time and peak memory to load and validate generated fleets of 1,000 and 10,000 stores.

Run: .venv/bin/python benchmarks/inventory_load.py [--stores 1000 10000] [--repeat 3]

Each size is generated once into a temporary directory (IPAM pinned in its lock file, as a
chain keeps it), then loaded `--repeat` times in a fresh child process, so imports and memory
start cold as for a CLI run. Printed per size, for the fastest run: wall time including the
import, the load alone, the CPU time of the load (a load whose wall time is well above its CPU
time waited for a busy machine), peak resident memory, stores per second, and for 10,000 stores
the ratio to the 6 s target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render import generated_fleet

TARGET_SECONDS_10K = 6.0

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from storestack.inventory import load_fleet_with_allocations
imported, cpu_before = time.perf_counter(), time.process_time()
result = load_fleet_with_allocations(Path(sys.argv[1]))
loaded = time.perf_counter()
print(json.dumps({"stores": len(result.fleet), "import": imported - started, "load": loaded - imported,
                  "wall": loaded - started, "cpu": time.process_time() - cpu_before,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _measure(fleet: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(fleet)], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (for run_all.py)")
    args = parser.parse_args()
    rows: list[dict[str, float]] = []
    if not args.json:
        print(
            f"{'stores':>7} {'wall s':>7} {'load s':>7} {'cpu s':>6} {'peak RSS MiB':>12} {'stores/s':>9}"
            f"  vs {TARGET_SECONDS_10K:.0f} s target (10,000 stores)"
        )
    with tempfile.TemporaryDirectory(prefix="storestack-bench-inventory-") as tmp:
        for stores in args.stores:
            started = time.perf_counter()
            fleet = generated_fleet(stores, args.seed, Path(tmp))
            generated_in = time.perf_counter() - started
            load_average = os.getloadavg()[0]
            runs = [_measure(fleet) for _ in range(args.repeat)]
            best = min(runs, key=lambda run: run["wall"])
            rows.append({**best, "load_average": load_average, "runs": len(runs)})
            if args.json:
                continue
            ratio = f"{best['wall'] / TARGET_SECONDS_10K:.2f}x" if stores == 10_000 else "-"
            print(
                f"{stores:>7} {best['wall']:>7.2f} {best['load']:>7.2f} {best['cpu']:>6.2f}"
                f" {best['peak_rss_mib']:>12.0f} {stores / best['load']:>9.0f}  {ratio}"
                f"  (fleet generated and pinned in {generated_in:.1f} s; load average {load_average:.1f})"
            )
    if args.json:
        print(json.dumps({"target_seconds_10k": TARGET_SECONDS_10K, "sizes": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
