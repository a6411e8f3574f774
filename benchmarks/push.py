"""Push benchmark on the real FRR lab: storestack vs Nornir vs plain Netmiko (needs root, FRR, sshd).

On one lab of N appliances (2 hubs + N-2 store edges, default 50), in one run, each tool does
the same job twice: a real change (every appliance's WAN interface descriptions relabelled),
then a no-op (the same intended config again):
- storestack at concurrency 20: backup, diff, apply only the remediation, verify (running
  config and BGP health), save, all over one session per appliance; also at concurrency 1;
- Nornir, `nornir_netmiko`'s `netmiko_send_config` with the whole intended config, then
  `netmiko_save_config`, at Nornir's default of 20 threaded workers;
- plain Netmiko sending the whole intended config and `write memory`, one appliance at a time.

Targets: storestack's change at least 2x faster than Nornir's; storestack's no-op at least 5x
faster than Nornir re-sending the full config; (issue 8) 50 appliances changed and verified in
under 10 s, a no-op of 50 in under 5 s. Prints figures and ratios; it asserts nothing.

    sudo .venv/bin/python benchmarks/push.py [--appliances 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from netmiko import ConnectHandler
from nornir import InitNornir
from nornir.core.task import Task
from nornir_netmiko.tasks import netmiko_save_config, netmiko_send_config

from storestack import lab
from storestack.devices.intended import IntendedConfigs
from storestack.devices.push import PushOptions
from storestack.devices.runner import PushTargets, RunOptions, run_push
from storestack.devices.session import SessionOptions
from storestack.devices.targets import ApplianceTarget
from storestack.lab import frr_lab

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from labcpu import LabCpu
from testsupport.frr_lab_configs import intended_configs
from wan_proxy import DelayProxyProcess


class CpuMeter:
    """CPU seconds used by this process and by the lab (benchmarks/labcpu.py: sshd with its
    sessions, vtysh, storestack-confirm, FRR's daemons), each run's sessions settled first.

    On a 2-core machine a push of 50 appliances is CPU-bound; CPU seconds are the steadier
    figure when other work shares the machine.
    """

    def __init__(self, lab_dir: Path) -> None:
        state = frr_lab.require_state(lab_dir)
        self.lab = LabCpu(lab_dir, state.prefix, state.username)

    def measure(self, work: Callable[[], dict[str, object]]) -> dict[str, object]:
        lab_before, own_before = self.lab.seconds(), time.process_time()
        result = work()
        result["client_cpu_seconds"] = round(time.process_time() - own_before, 2)
        result["settle_seconds"] = round(self.lab.settle(), 2)
        result["lab_cpu_seconds"] = round(self.lab.seconds() - lab_before, 2)
        return result


def relabelled(topology: lab.LabTopology, label: str) -> dict[str, str]:
    """Every appliance's intended config with every WAN interface description changed."""
    descriptions = {}
    for link in topology.links:
        descriptions[f"{link.a.appliance}/{link.a.ifname}"] = f"{label} {link.kind}"
        descriptions[f"{link.b.appliance}/{link.b.ifname}"] = f"{label} {link.store_id}"
    return intended_configs(topology, descriptions=descriptions)


def storestack_push(
    targets: PushTargets,
    configs: dict[str, str],
    state: Path,
    concurrency: int,
    *,
    verify_health: bool = True,
    backups: dict[str, str] | None = None,
) -> dict[str, object]:
    """One storestack run; `backups` (when given) receives each appliance's backup file."""
    options = RunOptions(
        concurrency=concurrency,
        runs_dir=state / "runs",
        push=PushOptions(
            backup_root=state / "backups",
            known_hosts=state / "known_hosts.json",
            health_timeout=30.0,
            verify_health=verify_health,
            session=SessionOptions(read_timeout=20.0),
        ),
    )
    started = time.perf_counter()
    report = run_push(targets, IntendedConfigs(configs), options=options)
    seconds = time.perf_counter() - started
    if backups is not None:
        backups.update({d.name: d.backup_path for d in report.devices if d.backup_path})
    failed = [f"{d.name}: {d.error}" for d in report.devices if d.outcome == "failed"]
    if failed:
        raise SystemExit("push failed:\n" + "\n".join(failed[:10]))
    stages: dict[str, list[float]] = {}
    for device in report.devices:
        for stage, spent in device.timings.items():
            stages.setdefault(stage, []).append(spent)
    return {
        "mean_stage_seconds": {stage: round(sum(v) / len(v), 3) for stage, v in stages.items()},
        "seconds": round(seconds, 2),
        "changed": report.summary.changed,
        "unchanged": report.summary.unchanged,
        "config_lines_sent": report.summary.config_lines_sent,
    }


def full_config_lines(text: str) -> list[str]:
    """The intended config as a script sends it: every line, minus comments and FRR's header."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith(("frr ", "!", "end"))]


def netmiko_full_push(targets: list[ApplianceTarget], configs: dict[str, str]) -> dict[str, object]:
    """What a plain script does: log in, send the whole intended config, save; one at a time."""
    started = time.perf_counter()
    lines_sent = 0
    for target in targets:
        credentials = target.credentials.resolve()
        lines = full_config_lines(configs[target.name])
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


def nornir_inventory(targets: list[ApplianceTarget], into: Path) -> Path:
    """A Nornir SimpleInventory of the lab appliances (as `inventory export --format nornir` users have)."""
    into.mkdir(parents=True, exist_ok=True)
    hosts = {}
    for target in targets:
        credentials = target.credentials.resolve()
        hosts[target.name] = {
            "hostname": target.host,
            "port": target.port,
            "username": credentials.username,
            "password": credentials.password.get_secret_value(),
            "platform": "cisco_ios",  # FRR's vtysh, driven the way storestack drives it
        }
    hosts_file = into / "hosts.yaml"
    hosts_file.write_text(yaml.safe_dump(hosts))
    hosts_file.chmod(0o600)
    return hosts_file


def nornir_full_push(hosts_file: Path, configs: dict[str, str]) -> dict[str, object]:
    """Nornir's usual way: `netmiko_send_config` with the whole config, then save; 20 workers."""

    def push(task: Task) -> None:
        task.run(task=netmiko_send_config, config_commands=full_config_lines(configs[task.host.name]))
        task.run(task=netmiko_save_config)

    started = time.perf_counter()
    nornir = InitNornir(
        inventory={"plugin": "SimpleInventory", "options": {"host_file": str(hosts_file)}},
        logging={"enabled": False},
    )
    workers = nornir.runner.num_workers
    try:
        result = nornir.run(task=push)
    finally:
        nornir.close_connections()
    seconds = time.perf_counter() - started
    if result.failed:
        failures = [f"{name}: {host_result.exception}" for name, host_result in result.failed_hosts.items()]
        raise SystemExit("Nornir push failed:\n" + "\n".join(failures[:10]))
    lines = sum(len(full_config_lines(configs[name])) for name in result)
    return {"seconds": round(seconds, 2), "config_lines_sent": lines, "workers": workers}


def wait_converged(lab_dir: Path, topology: lab.LabTopology, timeout: float = 120.0) -> None:
    """Until every BGP session configured on the lab's hubs is Established (untimed, between
    operations; a fresh lab has none)."""
    hubs = [appliance.name for appliance in topology.appliances if appliance.role == "hub"]
    deadline = time.monotonic() + timeout
    while True:
        peers = [peer for hub in hubs for peer in lab.bgp_peers(lab_dir, hub)]
        if all(peer.state == "Established" for peer in peers):
            return
        if time.monotonic() > deadline:
            down = sorted({peer.peer for peer in peers if peer.state != "Established"})
            raise SystemExit(f"BGP did not converge within {timeout:g} s: {', '.join(down[:10])} not Established")
        time.sleep(0.2)


def ratio(slower: float, faster: float) -> float:
    return round(slower / faster, 2) if faster else float("inf")


def round_trips(stats: dict[int, dict[str, int]], names: dict[int, str]) -> dict[str, object]:
    """Round trips per appliance of one operation, as the proxy counted them."""
    per_appliance = {names[port]: counts["round_trips"] for port, counts in stats.items() if port in names}
    values = sorted(per_appliance.values()) or [0]
    hubs = [count for name, count in per_appliance.items() if name.startswith("hub")]
    return {
        "round_trips_mean": round(sum(values) / len(values), 1),
        "round_trips_median": values[len(values) // 2],
        "round_trips_max": values[-1],
        "round_trips_hub_max": max(hubs, default=0),
        "connections": sum(counts["connections"] for counts in stats.values()),
    }


def wan_compare(size: int, rtt_ms: float, root: Path) -> dict[str, object]:
    """Storestack and Nornir on one lab of `size` appliances behind the delay proxy.

    Each tool does a first push onto the lab's fresh appliances, a small change (WAN interface
    descriptions relabelled) and a no-op. The tools take turns, operation by operation, so that
    both meet about the same load from other work on the machine: storestack's first push, the
    fresh configs put back (from its backups; untimed), Nornir's first push, storestack's change,
    Nornir's change (to other labels), then each one's no-op of the config now running.
    """
    topology = lab.synthetic_topology(size - 2)
    lab_dir = root / f"lab{size}"
    results: dict[str, object] = {"appliances": size, "rtt_ms": rtt_ms, "load_average_start": os.getloadavg()}
    meter: CpuMeter | None = None
    try:
        info = lab.up(topology, lab_dir)
        meter = CpuMeter(lab_dir)
        results["lab_cpu_method"] = meter.lab.method
        direct = list(info.inventory.appliances)
        with DelayProxyProcess(rtt_ms, sorted({(t.host, t.port) for t in direct})) as proxy:
            proxied = [t.model_copy(update={"port": proxy.ports[(t.host, t.port)]}) for t in direct]
            names = {t.port: t.name for t in proxied}
            targets = PushTargets(proxied, source=info.inventory.source)
            state = root / f"s{size}"

            def measured(key: str, work: Callable[[], dict[str, object]]) -> None:
                assert meter is not None
                # Every operation starts from a converged lab: Nornir does not wait for the BGP
                # sessions its push brings up, and the next tool must not pay for them.
                wait_converged(lab_dir, topology)
                proxy.take_stats()
                proxy_before = proxy.cpu_seconds()
                figures = meter.measure(work)
                figures |= round_trips(proxy.take_stats(), names)
                figures["proxy_cpu_seconds"] = round(proxy.cpu_seconds() - proxy_before, 2)
                results[key] = figures

            backups: dict[str, str] = {}
            hosts_file = nornir_inventory(proxied, root / f"nornir{size}")
            measured(
                "storestack_first",
                lambda: storestack_push(targets, intended_configs(topology), state, 20, backups=backups),
            )
            fresh = {name: Path(path).read_text(encoding="utf-8") for name, path in backups.items()}
            storestack_push(targets, fresh, state, 20, verify_health=False)
            measured("nornir_first", lambda: nornir_full_push(hosts_file, intended_configs(topology)))
            measured("storestack_change", lambda: storestack_push(targets, relabelled(topology, "A"), state, 20))
            measured("nornir_change", lambda: nornir_full_push(hosts_file, relabelled(topology, "B")))
            measured("storestack_noop", lambda: storestack_push(targets, relabelled(topology, "B"), state, 20))
            measured("nornir_noop", lambda: nornir_full_push(hosts_file, relabelled(topology, "B")))
    finally:
        lab.down(lab_dir)
        if meter is not None:
            meter.lab.close()
    results["load_average_end"] = os.getloadavg()
    seconds = {key: float(value["seconds"]) for key, value in results.items() if isinstance(value, dict)}
    results["ratios"] = {
        operation: round(seconds[f"storestack_{operation}"] / seconds[f"nornir_{operation}"], 2)
        for operation in ("first", "change", "noop")
    }
    return results


WAN_TARGETS = {"first": 0.6, "change": 0.25, "noop": 0.15}
LOOPBACK_TARGETS = {"first": 0.8, "change": 0.5, "noop": 0.2}


def print_wan(results: list[dict[str, object]]) -> None:
    for figures in results:
        rtt = figures["rtt_ms"]
        print(
            f"push over a {rtt} ms RTT: {figures['appliances']} FRR lab appliances (2 hubs); load average "
            f"at start {figures['load_average_start']}, at end {figures['load_average_end']}"
        )
        for tool in ("storestack", "nornir"):
            for operation in ("first", "change", "noop"):
                value = figures[f"{tool}_{operation}"]
                assert isinstance(value, dict)
                print(
                    f"  {tool:<10} {operation:<6} {value['seconds']:7.2f} s  {value['config_lines_sent']:>5} lines  "
                    f"round trips/appliance median {value['round_trips_median']} max {value['round_trips_max']}  "
                    f"CPU {value['client_cpu_seconds']} s tool + {value['lab_cpu_seconds']} s lab"
                )
        targets = WAN_TARGETS if float(str(rtt)) > 0 else LOOPBACK_TARGETS
        ratios = figures["ratios"]
        assert isinstance(ratios, dict)
        for operation, value in ratios.items():
            verdict = "met" if value <= targets[operation] else "MISSED"
            print(f"  storestack / Nornir {operation:<6} {value:5.2f}x  (target <= {targets[operation]}x: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appliances", type=int, default=50, help="lab size: 2 hubs + N-2 edges")
    parser.add_argument("--skip-sequential", action="store_true", help="skip concurrency 1 and plain Netmiko")
    parser.add_argument(
        "--rtt-ms", type=float, default=None, help="put the WAN delay proxy in front of every appliance (0: count only)"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50], help="lab sizes with --rtt-ms")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.rtt_ms is not None:
        with tempfile.TemporaryDirectory(prefix="storestack-bench-wan-") as tmp:
            wan = [wan_compare(size, args.rtt_ms, Path(tmp)) for size in args.sizes]
        if args.json:
            print(json.dumps({"rtt_ms": args.rtt_ms, "sizes": wan}, indent=2))
        else:
            print_wan(wan)
        return

    topology = lab.synthetic_topology(args.appliances - 2)
    results: dict[str, object] = {"appliances": args.appliances, "load_average_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="storestack-bench-push-") as tmp:
        root = Path(tmp)
        lab_dir = root / "lab"
        meter: CpuMeter | None = None
        try:
            info = lab.up(topology, lab_dir)
            meter = CpuMeter(lab_dir)
            targets = PushTargets.from_inventory(info.inventory)
            state = root / "s"
            results["initial_push_c20"] = storestack_push(targets, intended_configs(topology), state, 20)

            def storestack(label: str, concurrency: int) -> dict[str, object]:
                assert meter is not None
                return meter.measure(lambda: storestack_push(targets, relabelled(topology, label), state, concurrency))

            # Each tool starts from a converged lab and makes the same kind of change: new labels.
            results["change_c20"] = storestack("A", 20)
            results["noop_c20"] = storestack("A", 20)
            hosts_file = nornir_inventory(list(targets), root / "nornir")
            results["nornir_change"] = meter.measure(lambda: nornir_full_push(hosts_file, relabelled(topology, "B")))
            results["nornir_noop"] = meter.measure(lambda: nornir_full_push(hosts_file, relabelled(topology, "B")))
            if not args.skip_sequential:
                results["change_c1"] = storestack("C", 1)
                results["netmiko_change"] = meter.measure(
                    lambda: netmiko_full_push(list(targets), relabelled(topology, "D"))
                )
                results["netmiko_noop"] = meter.measure(
                    lambda: netmiko_full_push(list(targets), relabelled(topology, "D"))
                )
        finally:
            lab.down(lab_dir)
            if meter is not None:
                meter.lab.close()

    seconds = {name: float(value["seconds"]) for name, value in results.items() if isinstance(value, dict)}
    cpu = {
        name: float(value["client_cpu_seconds"]) + float(value["lab_cpu_seconds"])
        for name, value in results.items()
        if isinstance(value, dict) and "lab_cpu_seconds" in value
    }
    ratios = {
        "nornir_change_over_storestack_change": ratio(seconds["nornir_change"], seconds["change_c20"]),
        "nornir_noop_over_storestack_noop": ratio(seconds["nornir_noop"], seconds["noop_c20"]),
        "nornir_change_over_storestack_change_cpu": ratio(cpu["nornir_change"], cpu["change_c20"]),
        "nornir_noop_over_storestack_noop_cpu": ratio(cpu["nornir_noop"], cpu["noop_c20"]),
    }
    if "change_c1" in seconds:
        ratios |= {
            "storestack_c1_over_c20": ratio(seconds["change_c1"], seconds["change_c20"]),
            "netmiko_change_over_storestack_change": ratio(seconds["netmiko_change"], seconds["change_c20"]),
            "netmiko_noop_over_storestack_noop": ratio(seconds["netmiko_noop"], seconds["noop_c20"]),
        }
    results["ratios"] = ratios
    results["targets"] = {
        "change_2x_faster_than_nornir": ratios["nornir_change_over_storestack_change"] >= 2.0,
        "noop_5x_faster_than_nornir": ratios["nornir_noop_over_storestack_noop"] >= 5.0,
        "change_c20_under_10s": seconds["change_c20"] < 10.0,
        "noop_c20_under_5s": seconds["noop_c20"] < 5.0,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    n = args.appliances
    print(f"push benchmark: {n} FRR lab appliances (2 hubs, {n - 2} store edges)")

    def row(label: str, key: str, note: str = "") -> None:
        if key in results:
            value = results[key]
            assert isinstance(value, dict)
            cpu_text = (
                f", CPU {value['client_cpu_seconds']} s here + {value['lab_cpu_seconds']} s lab"
                if "lab_cpu_seconds" in value
                else ""
            )
            print(f"  {label:<46} {value['seconds']:7.2f} s  ({value['config_lines_sent']} lines{cpu_text}){note}")

    row("storestack initial push, concurrency 20", "initial_push_c20")
    row("storestack real change, concurrency 20", "change_c20")
    row("storestack no-op, concurrency 20", "noop_c20")
    row("Nornir netmiko_send_config, change, 20 workers", "nornir_change")
    row("Nornir netmiko_send_config, no-op, 20 workers", "nornir_noop")
    row("storestack real change, concurrency 1", "change_c1")
    row("plain Netmiko, full config, sequential, change", "netmiko_change", "  no verify, no rollback")
    row("plain Netmiko, full config, sequential, no-op", "netmiko_noop")
    stages = results["change_c20"]["mean_stage_seconds"]  # type: ignore[index]
    print("  storestack mean seconds per stage and appliance (real change, concurrency 20):")
    for stage, spent in stages.items():
        print(f"    {stage:<12} {spent:6.3f}")
    for name, value in ratios.items():
        print(f"  ratio {name:<42} {value:6.2f}x")
    for name, met in results["targets"].items():  # type: ignore[attr-defined]
        print(f"  target {name:<41} {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
