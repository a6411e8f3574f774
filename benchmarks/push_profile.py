"""Where one FRR appliance's push spends its time and CPU, phase by phase (root, FRR, sshd).

On loopback a push of 50 appliances is CPU-bound on this machine's two cores: its wall time is
about the CPU seconds of the tool and of the lab (sshd, vtysh, FRR's daemons) over two. This
script takes one store edge of a small lab and, round after round, pushes it alone:

- **storestack, small change** (WAN interface descriptions relabelled): the engine's own stages,
  login+vtysh (`connect`), read running config and health (`backup`), `diff`, health before
  (parsed from that read), `arm` (FRR's commit-confirm timer: `storestack-confirm arm N stdin` on
  the host, the backup on its stdin), send (`apply`), verify read-back and health (`verify`),
  `confirm`, write memory (`save`), and `disconnect`;
- **storestack, no-op**: login, the one read, diff, disconnect;
- **Nornir's way** (what `netmiko_send_config` + `netmiko_save_config` do per host): Netmiko's
  login with its session preparation, `send_config_set` of the whole config, `save_config`,
  `disconnect`.

Per phase: wall milliseconds (median over the rounds), the tool's CPU and the lab's CPU (every
process of the lab: sshd and its sessions, vtysh, storestack-confirm and FRR's daemons, live or
reaped, benchmarks/labcpu.py; the daemons' idle rate is measured first and taken off). Then the floor: the phases that
no safe push can skip on an FRR appliance (login+vtysh, write memory, and for storestack the
commit-confirm arm and confirm that Nornir does not take), as a share of each tool's total.

    sudo .venv/bin/python benchmarks/push_profile.py [--rounds 9] [--edges 2] [--json]

It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from netmiko import ConnectHandler

from storestack import lab
from storestack.devices.intended import IntendedConfig
from storestack.devices.push import PushContext, PushOptions, push_appliance
from storestack.devices.session import ApplianceSession, SessionOptions
from storestack.devices.targets import ApplianceTarget
from storestack.lab import frr_lab

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from labcpu import LabCpu
from push import full_config_lines, relabelled
from testsupport.frr_lab_configs import intended_configs

# The floor of a push on an FRR appliance: what any tool pays (a login, vtysh, write memory),
# and what a safe push adds that cannot be merged away (the host timer's arm and confirm).
SHARED_FLOOR = ("login+vtysh", "write memory")
SAFETY_FLOOR = ("arm", "confirm")


class Phases:
    """Wall and CPU (tool, lab) of consecutive phases: `mark(name)` ends the current phase and
    starts the next; `end()` ends the last one, its lab CPU counted once the lab settled."""

    def __init__(self, meter: LabCpu) -> None:
        self.meter = meter
        self.rows: dict[str, list[float]] = {}
        self._name: str | None = None
        self._start = (0.0, 0.0, 0.0)

    def mark(self, name: str | None) -> None:
        now = (time.perf_counter(), time.process_time(), self.meter.seconds())
        if self._name is not None:
            self._record(now, now[2])
        self._name = name
        self._start = now

    def end(self) -> None:
        wall, tool = time.perf_counter(), time.process_time()
        self.meter.settle()
        self._record((wall, tool, 0.0), self.meter.seconds())
        self._name = None

    def _record(self, now: tuple[float, float, float], lab_seconds: float) -> None:
        assert self._name is not None
        wall = now[0] - self._start[0]
        self.rows[self._name] = [
            wall,
            now[1] - self._start[1],
            max(0.0, lab_seconds - self._start[2] - self.meter.idle_rate * wall),
        ]


@contextmanager
def close_marked(phases: Phases) -> Iterator[None]:
    """The engine closes its session inside push_appliance: mark the start of the disconnect."""
    original = ApplianceSession.close

    def close(self: ApplianceSession) -> None:
        phases.mark("disconnect")
        original(self)

    ApplianceSession.close = close  # type: ignore[method-assign]
    try:
        yield
    finally:
        ApplianceSession.close = original  # type: ignore[method-assign]


STAGE_NAMES = {
    "connect": "login+vtysh",
    "backup": "read running config (+health)",
    "diff": "diff",
    "health": "health before (parse)",
    "arm": "arm",
    "apply": "send",
    "verify": "verify read-back (+health)",
    "confirm": "confirm",
    "save": "write memory",
}


def storestack_round(
    meter: LabCpu, target: ApplianceTarget, config: str, context: PushContext
) -> tuple[str, dict[str, list[float]]]:
    phases = Phases(meter)

    def on_stage(_name: str, stage: str) -> None:
        if stage != "credentials":
            phases.mark(STAGE_NAMES.get(stage, stage))

    phases.mark(None)
    with close_marked(phases):
        result = push_appliance(target, IntendedConfig(config), context=context, on_stage=on_stage)
    phases.end()
    if result.outcome not in ("changed", "unchanged"):
        raise SystemExit(f"{target.name}: push {result.outcome}: {result.error}")
    return result.outcome, phases.rows


def nornir_round(meter: LabCpu, target: ApplianceTarget, config: str) -> dict[str, list[float]]:
    """What nornir_netmiko does for one host: its connection plugin's ConnectHandler,
    netmiko_send_config's send_config_set, netmiko_save_config's save_config, close."""
    credentials = target.credentials.resolve()
    phases = Phases(meter)
    phases.mark("login+vtysh")
    connection = ConnectHandler(
        device_type="cisco_ios",
        host=target.host,
        port=target.port,
        username=credentials.username,
        password=credentials.password.get_secret_value(),
    )
    phases.mark("send")
    connection.send_config_set(config_commands=full_config_lines(config))
    phases.mark("write memory")
    connection.save_config()
    phases.mark("disconnect")
    connection.disconnect()
    phases.end()
    return phases.rows


def summarise(rounds: list[dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    """Median per phase over the rounds, in milliseconds, in the order the phases ran."""
    names: list[str] = []
    for rows in rounds:
        names += [name for name in rows if name not in names]
    summary = {}
    for name in names:
        values = [rows[name] for rows in rounds if name in rows]
        summary[name] = {
            key: round(statistics.median(v[index] for v in values) * 1000, 1)
            for index, key in enumerate(("wall_ms", "tool_cpu_ms", "lab_cpu_ms"))
        }
    total = {key: round(sum(row[key] for row in summary.values()), 1) for key in ("wall_ms", "tool_cpu_ms", "lab_cpu_ms")}
    summary["total"] = total
    return summary


def floor_share(summary: dict[str, dict[str, float]], names: tuple[str, ...]) -> dict[str, float]:
    total = summary["total"]
    cpu_total = total["tool_cpu_ms"] + total["lab_cpu_ms"]
    wall = sum(summary[name]["wall_ms"] for name in names if name in summary)
    cpu = sum(summary[name]["tool_cpu_ms"] + summary[name]["lab_cpu_ms"] for name in names if name in summary)
    return {
        "wall_ms": round(wall, 1),
        "wall_share": round(wall / total["wall_ms"], 2) if total["wall_ms"] else 0.0,
        "cpu_ms": round(cpu, 1),
        "cpu_share": round(cpu / cpu_total, 2) if cpu_total else 0.0,
    }


def profile(rounds: int, edges: int, root: Path) -> dict[str, object]:
    topology = lab.synthetic_topology(edges)
    lab_dir = root / "lab"
    figures: dict[str, object] = {"rounds": rounds, "appliances": edges + 2}
    meter: LabCpu | None = None
    try:
        info = lab.up(topology, lab_dir)
        state = frr_lab.require_state(lab_dir)
        meter = LabCpu(lab_dir, state.prefix, state.username)
        figures["lab_cpu_method"] = meter.method
        targets = {target.name: target for target in info.inventory.appliances}
        context = PushContext(
            options=PushOptions(
                backup_root=root / "backups",
                known_hosts=root / "known_hosts.json",
                secret_ledger=root / "secrets",
                session=SessionOptions(read_timeout=20.0),
            )
        )
        configs = intended_configs(topology)
        for name, target in targets.items():
            result = push_appliance(target, IntendedConfig(configs[name]), context=context)
            if result.outcome != "changed":
                raise SystemExit(f"{name}: first push {result.outcome}: {result.error}")
        edge = next(name for name, target in targets.items() if target.role == "edge")
        target = targets[edge]
        # The first pushes waited for their BGP sessions (health check): the lab is idle now.
        meter.measure_idle()
        figures["lab_idle_cpu_ms_per_s"] = round(meter.idle_rate * 1000, 1)
        changes, noops, nornir = [], [], []
        for number in range(rounds):
            label = f"P{number}"
            config = relabelled(topology, label)[edge]
            outcome, rows = storestack_round(meter, target, config, context)
            assert outcome == "changed", outcome
            changes.append(rows)
            outcome, rows = storestack_round(meter, target, config, context)
            assert outcome == "unchanged", outcome
            noops.append(rows)
            nornir.append(nornir_round(meter, target, relabelled(topology, f"N{number}")[edge]))
        # Leave the appliance on what storestack last pushed (the lab goes down anyway).
        figures["storestack_change"] = summarise(changes)
        figures["storestack_noop"] = summarise(noops)
        figures["nornir"] = summarise(nornir)
    finally:
        lab.down(lab_dir)
        if meter is not None:
            meter.close()
    change, nornir_summary = figures["storestack_change"], figures["nornir"]
    assert isinstance(change, dict) and isinstance(nornir_summary, dict)
    figures["floor"] = {
        "nornir_login_vtysh_write_memory": floor_share(nornir_summary, SHARED_FLOOR),
        "storestack_login_vtysh_write_memory": floor_share(change, SHARED_FLOOR),
        "storestack_login_vtysh_write_memory_arm_confirm": floor_share(change, SHARED_FLOOR + SAFETY_FLOOR),
    }
    return figures


def print_summary(title: str, summary: dict[str, dict[str, float]]) -> None:
    print(f"  {title}")
    print(f"    {'phase':<32} {'wall ms':>8} {'tool CPU ms':>12} {'lab CPU ms':>11}")
    for name, row in summary.items():
        print(f"    {name:<32} {row['wall_ms']:8.1f} {row['tool_cpu_ms']:12.1f} {row['lab_cpu_ms']:11.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="pushes of each kind (medians are reported)")
    parser.add_argument("--edges", type=int, default=2, help="store edges in the lab (plus 2 hubs)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load_start = psutil.getloadavg()
    with tempfile.TemporaryDirectory(prefix="storestack-bench-profile-") as tmp:
        figures = profile(args.rounds, args.edges, Path(tmp))
    figures["load_average_start"] = [round(value, 2) for value in load_start]
    figures["load_average_end"] = [round(value, 2) for value in psutil.getloadavg()]
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"one FRR store edge pushed alone, {args.rounds} rounds (medians); load average "
        f"{figures['load_average_start']} → {figures['load_average_end']}; lab idle "
        f"{figures['lab_idle_cpu_ms_per_s']} CPU ms/s taken off"
    )
    for key, title in (
        ("storestack_change", "storestack, small change"),
        ("storestack_noop", "storestack, no-op"),
        ("nornir", "Nornir's way (netmiko_send_config of the whole config + netmiko_save_config)"),
    ):
        summary = figures[key]
        assert isinstance(summary, dict)
        print_summary(title, summary)
    floor = figures["floor"]
    assert isinstance(floor, dict)
    print("  floor (share of the push's wall and of its CPU, tool + lab):")
    for name, share in floor.items():
        print(
            f"    {name:<48} {share['wall_ms']:7.1f} ms wall ({share['wall_share']:.0%}), "
            f"{share['cpu_ms']:6.1f} ms CPU ({share['cpu_share']:.0%})"
        )


if __name__ == "__main__":
    main()
