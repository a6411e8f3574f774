"""Push benchmark on the real FRR lab: storestack vs plain Netmiko (needs root, FRR, sshd).

On a lab of N appliances (2 hubs + N-2 store edges, default 50) it measures:
- a full push with a real remediation (every appliance gets a change), verified and saved,
  at concurrency 1 and at concurrency 20, and the ratio;
- a no-op push (everything already in its intended state) at concurrency 20;
- the baseline: plain Netmiko sending each appliance's whole intended config, one at a time,
  then `write memory`.

Targets (issue 8): N=50 pushed and verified in under 10 s at concurrency 20; a no-op of 50 in
under 5 s. Prints figures and ratios; it asserts nothing.

    sudo .venv/bin/python benchmarks/push.py [--appliances 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from netmiko import ConnectHandler

from storestack import lab
from storestack.devices.intended import IntendedConfigs
from storestack.devices.push import PushOptions
from storestack.devices.runner import PushTargets, RunOptions, run_push
from storestack.devices.session import SessionOptions
from storestack.devices.targets import ApplianceTarget

# The lab's intended configs are the push tests' own (tests/devices/frr_lab_support.py).
_TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path[:0] = [str(_TESTS), str(_TESTS / "devices")]
from frr_lab_support import intended_configs  # noqa: E402


def relabelled(topology: lab.LabTopology, label: str) -> dict[str, str]:
    """Every appliance's intended config with every WAN interface description changed."""
    descriptions = {}
    for link in topology.links:
        descriptions[f"{link.a.appliance}/{link.a.ifname}"] = f"{label} {link.kind}"
        descriptions[f"{link.b.appliance}/{link.b.ifname}"] = f"{label} {link.store_id}"
    return intended_configs(topology, descriptions=descriptions)


def storestack_push(targets: PushTargets, configs: dict[str, str], state: Path, concurrency: int) -> dict[str, object]:
    options = RunOptions(
        concurrency=concurrency,
        runs_dir=state / "runs",
        push=PushOptions(
            backup_root=state / "backups",
            known_hosts=state / "known_hosts.json",
            health_timeout=30.0,
            session=SessionOptions(read_timeout=20.0),
        ),
    )
    started = time.perf_counter()
    report = run_push(targets, IntendedConfigs(configs), options=options)
    seconds = time.perf_counter() - started
    failed = [f"{d.name}: {d.error}" for d in report.devices if d.outcome == "failed"]
    if failed:
        raise SystemExit("push failed:\n" + "\n".join(failed[:10]))
    stages: dict[str, list[float]] = {}
    for device in report.devices:
        for stage, spent in device.timings.items():
            stages.setdefault(stage, []).append(spent)
    return {
        "mean_stage_seconds": {stage: round(sum(v) / len(v), 3) for stage, v in stages.items()},  # type: ignore[dict-item]
        "seconds": round(seconds, 2),
        "changed": report.summary.changed,
        "unchanged": report.summary.unchanged,
        "config_lines_sent": report.summary.config_lines_sent,
    }


def netmiko_full_push(targets: list[ApplianceTarget], configs: dict[str, str]) -> dict[str, object]:
    """What a plain script does: log in, send the whole intended config, save; one at a time."""
    started = time.perf_counter()
    lines_sent = 0
    for target in targets:
        credentials = target.credentials.resolve()
        lines = [
            line
            for line in configs[target.name].splitlines()
            if line.strip() and not line.startswith(("frr ", "!", "end"))
        ]
        connection = ConnectHandler(
            device_type="cisco_ios",
            host=target.host,
            port=target.port,
            username=credentials.username,
            password=credentials.password.get_secret_value(),
            conn_timeout=10,
        )
        connection.send_config_set(lines, error_pattern=r"%")
        connection.send_command("write memory")
        connection.disconnect()
        lines_sent += len(lines)
    return {"seconds": round(time.perf_counter() - started, 2), "config_lines_sent": lines_sent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appliances", type=int, default=50, help="lab size: 2 hubs + N-2 edges")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    topology = lab.synthetic_topology(args.appliances - 2)
    with tempfile.TemporaryDirectory(prefix="storestack-bench-push-") as tmp:
        root = Path(tmp)
        lab_dir = root / "lab"
        try:
            info = lab.up(topology, lab_dir)
            targets = PushTargets.from_inventory(info.inventory)
            n = len(targets)
            converge = storestack_push(targets, intended_configs(topology), root / "s", 20)
            results = {
                "appliances": n,
                "initial_push_c20": converge,
                "change_c20": storestack_push(targets, relabelled(topology, "A"), root / "s", 20),
                "change_c1": storestack_push(targets, relabelled(topology, "B"), root / "s", 1),
                "noop_c20": storestack_push(targets, relabelled(topology, "B"), root / "s", 20),
                "netmiko_full_sequential": netmiko_full_push(list(targets), relabelled(topology, "C")),
            }
        finally:
            lab.down(lab_dir)

    c20 = results["change_c20"]["seconds"]
    c1 = results["change_c1"]["seconds"]
    noop = results["noop_c20"]["seconds"]
    baseline = results["netmiko_full_sequential"]["seconds"]
    results["ratios"] = {
        "change_c1_over_c20": round(c1 / c20, 2),
        "netmiko_full_over_change_c20": round(baseline / c20, 2),
        "netmiko_full_over_noop_c20": round(baseline / noop, 2),
    }
    results["targets"] = {
        "change_c20_under_10s": c20 < 10.0,
        "noop_c20_under_5s": noop < 5.0,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"push benchmark: {n} FRR lab appliances (2 hubs, {n - 2} store edges)")
    print(f"  initial push, concurrency 20      {converge['seconds']:7.2f} s  ({converge['config_lines_sent']} lines)")
    print(f"  real change, concurrency 20       {c20:7.2f} s  ({results['change_c20']['config_lines_sent']} lines)"
          f"   target < 10 s: {'met' if c20 < 10 else 'MISSED'}")
    print(f"  real change, concurrency 1        {c1:7.2f} s  ({results['change_c1']['config_lines_sent']} lines)")
    print(f"  no-op push, concurrency 20        {noop:7.2f} s  ({results['noop_c20']['config_lines_sent']} lines)"
          f"   target < 5 s: {'met' if noop < 5 else 'MISSED'}")
    print(f"  plain Netmiko, full config, seq.  {baseline:7.2f} s  "
          f"({results['netmiko_full_sequential']['config_lines_sent']} lines, no verify, no rollback)")
    print("  mean seconds per stage and appliance (real change, concurrency 1 / 20):")
    for stage, spent in results["change_c1"]["mean_stage_seconds"].items():
        print(f"    {stage:<12} {spent:6.3f} / {results['change_c20']['mean_stage_seconds'].get(stage, 0.0):6.3f}")
    print(f"  ratio concurrency 1 / 20          {results['ratios']['change_c1_over_c20']:7.2f}x")
    print(f"  ratio plain Netmiko / storestack  {results['ratios']['netmiko_full_over_change_c20']:7.2f}x (change), "
          f"{results['ratios']['netmiko_full_over_noop_c20']:.2f}x (no-op)")


if __name__ == "__main__":
    main()
