"""Tool CPU of a no-op push at scale: 500 emulated vendor appliances (no root needed).

The vendor emulator runs as its own process (`python -m storestack.lab.emulator`), so its CPU
is never counted as the tool's. Every appliance is pushed its own running config: a no-op, the
push that a fleet-wide re-run does most. The figure is the push process's CPU seconds (all
threads) per appliance, for the whole cycle: credentials, SSH login with host-key check, the
one read of the running config, the diff, the journal. Target (issue 18): at most 20 ms.

With `--round-trips`, the appliances sit behind the WAN proxy (`wan_proxy.py`, counting only)
and each gets a small change (one interface description, under the appliance's own
commit-confirm timer) and then a no-op: the round trips per appliance of each, per platform.

    .venv/bin/python benchmarks/push_emulator.py [--appliances 500] [--concurrency 20] [--json]
    .venv/bin/python benchmarks/push_emulator.py --round-trips [--appliances 30] [--json]
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
from typing import Any

import yaml

from storestack.devices.intended import IntendedConfigs
from storestack.devices.push import PushOptions
from storestack.devices.runner import PushTargets, RunOptions, run_push
from storestack.devices.targets import ApplianceInventory

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wan_proxy import DelayProxyProcess

PLATFORMS = ("cisco_xe", "huawei_vrp", "fortinet")
TARGET_MS = 20.0


def start_emulator(count: int, state: Path) -> subprocess.Popen[bytes]:
    spec = {
        "devices": [
            {"name": f"{PLATFORMS[i % 3].replace('_', '-')}-{i:04d}", "platform": PLATFORMS[i % 3], "store_id": f"s-{i:04d}"}
            for i in range(count)
        ]
    }
    spec_file = state / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "storestack.lab.emulator", "--spec", str(spec_file), "--state-dir", str(state / "emu")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (state / "emu" / "ready").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("the emulator did not start")
        time.sleep(0.2)
    return process


# Where each platform's default config gets one description line (see lab.emulator.device).
DESCRIPTION_AFTER = {
    "cisco_xe": ("interface GigabitEthernet2\n", " description {label}\n"),
    "huawei_vrp": ("interface GigabitEthernet0/0/1\n", " description {label}\n"),
    "fortinet": ('    edit "port2"\n', '        set description "{label}"\n'),
}


def described(config: str, platform: str, label: str) -> str:
    after, line = DESCRIPTION_AFTER[platform]
    if after not in config:
        raise SystemExit(f"no {after.strip()!r} in the emulated {platform} config")
    return config.replace(after, after + line.format(label=label), 1)


def round_trips(appliances: int, concurrency: int) -> dict[str, Any]:
    """Round trips per appliance of a small change and of a no-op, per platform, behind the
    counting proxy (no delay: the count does not depend on it)."""
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="storestack-bench-emu-rt-") as tmp:
        state = Path(tmp)
        emulator = start_emulator(appliances, state)
        try:
            inventory = ApplianceInventory.load(state / "emu" / "inventory.yaml")
            direct = list(inventory.appliances)
            running = {
                t.name: (state / "emu" / "devices" / t.name / "running.cfg").read_text(encoding="utf-8") for t in direct
            }
            with DelayProxyProcess(0, sorted({(t.host, t.port) for t in direct})) as proxy:
                proxied = [t.model_copy(update={"port": proxy.ports[(t.host, t.port)]}) for t in direct]
                platform_of = {t.port: t.platform for t in proxied}
                targets = PushTargets(proxied, source=inventory.source)
                options = RunOptions(
                    concurrency=concurrency,
                    runs_dir=state / "runs",
                    push=PushOptions(backup_root=state / "backups", known_hosts=state / "known_hosts.json"),
                )
                changed = {t.name: described(running[t.name], t.platform, "bench A") for t in proxied}
                figures: dict[str, Any] = {}
                for operation in ("change", "noop"):
                    proxy.take_stats()
                    report = run_push(targets, IntendedConfigs(changed), options=options)
                    stats = proxy.take_stats()
                    expected = "changed" if operation == "change" else "unchanged"
                    wrong = [f"{d.name}: {d.outcome} {d.error or ''}" for d in report.devices if d.outcome != expected]
                    if wrong:
                        raise SystemExit(f"{operation}: " + "; ".join(wrong[:3]))
                    per_platform: dict[str, list[int]] = {}
                    for port, counts in stats.items():
                        per_platform.setdefault(platform_of[port], []).append(counts["round_trips"])
                    figures[operation] = {
                        platform: {"median": sorted(values)[len(values) // 2], "max": max(values)}
                        for platform, values in sorted(per_platform.items())
                    }
                    figures[f"{operation}_lines"] = report.summary.config_lines_sent
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
    return {
        "appliances": appliances,
        "round_trips": figures,
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appliances", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--round-trips", action="store_true", help="round trips per appliance of a change and a no-op")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load_start = os.getloadavg()
    if args.round_trips:
        counted = round_trips(args.appliances, args.concurrency)
        if args.json:
            print(json.dumps(counted, indent=2))
        else:
            print(f"load average: start {counted['load_average_start']}, end {counted['load_average_end']}")
            for operation, per_platform in counted["round_trips"].items():
                print(f"{operation}: {per_platform}")
        return
    with tempfile.TemporaryDirectory(prefix="storestack-bench-emu-") as tmp:
        state = Path(tmp)
        emulator = start_emulator(args.appliances, state)
        try:
            inventory = ApplianceInventory.load(state / "emu" / "inventory.yaml")
            targets = PushTargets.from_inventory(inventory)
            configs = {
                t.name: (state / "emu" / "devices" / t.name / "running.cfg").read_text(encoding="utf-8") for t in targets
            }
            options = RunOptions(
                concurrency=args.concurrency,
                runs_dir=state / "runs",
                push=PushOptions(backup_root=state / "backups", known_hosts=state / "known_hosts.json"),
            )
            cpu_before, started = time.process_time(), time.perf_counter()
            report = run_push(targets, IntendedConfigs(configs), options=options)
            cpu, wall = time.process_time() - cpu_before, time.perf_counter() - started
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
    outcomes = {outcome: sum(1 for d in report.devices if d.outcome == outcome) for outcome in {d.outcome for d in report.devices}}
    failed = [f"{d.name}: {d.error}" for d in report.devices if d.outcome != "unchanged"]
    results = {
        "appliances": args.appliances,
        "concurrency": args.concurrency,
        "platforms": list(PLATFORMS),
        "seconds": round(wall, 2),
        "tool_cpu_seconds": round(cpu, 2),
        "tool_cpu_ms_per_appliance": round(cpu / args.appliances * 1000, 1),
        "outcomes": outcomes,
        "config_lines_sent": report.summary.config_lines_sent,
        "target_ms": TARGET_MS,
        "target_met": not failed and cpu / args.appliances * 1000 <= TARGET_MS,
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
    }
    if failed:
        results["not_unchanged"] = failed[:5]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"no-op push of {args.appliances} emulated appliances ({', '.join(PLATFORMS)}), concurrency {args.concurrency}: "
        f"{wall:.2f} s, tool CPU {cpu:.2f} s = {results['tool_cpu_ms_per_appliance']} ms/appliance "
        f"(target <= {TARGET_MS:g} ms: {'met' if results['target_met'] else 'MISSED'}); outcomes {outcomes}; "
        f"load average: start {load_start}, end {results['load_average_end']}"
    )


if __name__ == "__main__":
    main()
