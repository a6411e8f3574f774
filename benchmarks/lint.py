"""Lint benchmark: `storestack devices lint` of a generated fleet, the way a CI job runs it.

For each size (default 1,500 generated stores, seed 1), in a fresh child process: load the
fleet, render every config with secrets as slot names, run every platform rule and every
cross-file check (`devices/lint/run.py` `lint_fleet`). Prints the files and findings, the CPU
seconds of the lint (load included) beside its wall time and the load average when it was
taken: on a shared machine the wall time waits for other work, CPU seconds much less so.
`--profile FILE` writes the child's cProfile (CPU time) there, for `python -m pstats FILE`.

A hub holds a BGP session, a tunnel and its interfaces per store, so a check that reads the
hub's config once per store grows with the square of the fleet: a 1,500-store fleet took over
five minutes until the hubs' default-route condition, BFD sessions and tunnel peers were read
once per hub; it still ran past 15 CPU minutes while each hub's beacon (the loopbacks of every
store it serves) and an FRR hub's store tunnels and their far ends (its whole swanctl.conf) were
worked out once per store (now once per hub), and an IOS-XE ACL's entries read once per packet
(now once per text). Prints figures; asserts nothing.

Run: .venv/bin/python benchmarks/lint.py [--stores 1500 ...] [--profile FILE] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import cProfile, json, os, sys, time
from pathlib import Path
from storestack.devices.lint.run import lint_fleet
from storestack.inventory import load_fleet

fleet_dir, profile = sys.argv[1], sys.argv[2]
profiler = cProfile.Profile(time.process_time) if profile else None
cpu, wall = time.process_time(), time.perf_counter()
if profiler:
    profiler.enable()
report = lint_fleet(load_fleet(Path(fleet_dir)))
if profiler:
    profiler.disable()
    profiler.dump_stats(profile)
print(json.dumps({
    "files": report.files,
    "findings": len(report.findings),
    "cpu_s": round(time.process_time() - cpu, 1),
    "wall_s": round(time.perf_counter() - wall, 1),
    "load_average": round(os.getloadavg()[0], 1),
}))
"""

# The device secrets a lint names by slot; set so that a config needing one renders.
SECRETS = {
    "STORESTACK_IPSEC_PSK": "bench-fleet-secret-0123456789",
    "STORESTACK_NTP_KEY": "0123456789abcdef",
    "STORESTACK_NTP_KEY_HMAC": "Bench.Ntp_Hmac_Key1",
    "STORESTACK_NTP_KEY_SHA256": "Bench.Ntp_Sha_Key01",
    "STORESTACK_LOCAL_ADMIN_PASSWORD": "Bench.Admin_Pw1",
    "STORESTACK_SNMP_AUTH_KEY": "Bench.Snmp_Auth_Key1",
    "STORESTACK_SNMP_PRIV_KEY": "Bench.Snmp_Priv_Key1",
    "STORESTACK_TACACS_KEY": "Bench.Tacacs_Key_01",
}


def lint_figures(stores: int, seed: int, profile: str | None) -> dict[str, object]:
    from storestack.inventory.generate import generate_fleet, write_fleet

    with tempfile.TemporaryDirectory(prefix="storestack-lint-bench-") as scratch:
        fleet = Path(scratch) / "fleet"
        write_fleet(generate_fleet(stores, seed), fleet)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(fleet), profile or ""],
            env={**os.environ, **SECRETS}, capture_output=True, text=True, check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"lint of {stores} stores failed:\n{done.stderr}")
    return {"stores": stores, **json.loads(done.stdout.splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, nargs="+", default=[1500])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", default=None, help="write the (last) child's cProfile here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [lint_figures(stores, args.seed, args.profile) for stores in args.stores]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for result in results:
        print(
            f"devices lint, {result['stores']} stores: {result['files']} files, {result['findings']} finding(s), "
            f"{result['cpu_s']} CPU s ({result['wall_s']} s wall, load average {result['load_average']})"
        )


if __name__ == "__main__":
    main()
