"""Run every benchmark in one go on the same machine and write one Markdown table (`make bench`).

Each benchmark runs as its own process with `--json`: inventory (load and validate 1,000 and
10,000 generated stores), render (inventory to every config, 1,000 and
10,000 stores, beside a plain Jinja2 loop), plan (100 and 1,000 store stacks), push (50 FRR lab
appliances: storestack vs Nornir vs plain Netmiko), push-wan (20 and 50 appliances behind an
80 ms RTT delay proxy: first push, small change, no-op beside Nornir, with round trips per
appliance), push-loopback (the same on loopback, 50 appliances), push-emulator (a no-op push's
tool CPU per appliance, 500 emulated vendor appliances), push-emulator-rt (round trips per
vendor appliance of a change and a no-op), rollout (40 new stores into the lab,
then a re-run), lab start (20 and 50 appliances) and CLI start (a few commands' wall and CPU
seconds, and whether they import Pulumi).
Push and lab need root, FRR and sshd; without them their rows say why they were skipped.

The table goes to stdout and to benchmarks/RESULTS.md; with `--readme` it also replaces the
table in README.md (between the `bench:start` / `bench:end` markers).

    .venv/bin/python benchmarks/run_all.py [--only inventory render plan push push-wan ...] [--readme]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
RESULTS = HERE / "RESULTS.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
BENCHMARKS: dict[str, tuple[str, ...]] = {
    "inventory": ("inventory_load.py",),
    "render": ("render.py",),
    "plan": ("plan.py",),
    "push": ("push.py",),
    "push-wan": ("push.py", "--rtt-ms", "80", "--sizes", "20", "50"),
    "push-loopback": ("push.py", "--rtt-ms", "0", "--sizes", "50"),
    "push-emulator": ("push_emulator.py", "--appliances", "500"),
    "push-emulator-rt": ("push_emulator.py", "--round-trips", "--appliances", "30"),
    "rollout": ("rollout.py", "--stores", "40", "--concurrency", "8"),
    "lab": ("lab_start.py",),
    "cli-start": ("cli_start.py",),
}


def run(name: str) -> tuple[dict[str, Any] | None, str | None, float]:
    """(figures, why it has none, seconds) for one benchmark script."""
    started = time.perf_counter()
    script, *arguments = BENCHMARKS[name]
    process = subprocess.run(
        [sys.executable, str(HERE / script), *arguments, "--json"], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        last = (process.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"failed (exit {process.returncode}): {last}", seconds
    try:
        start = process.stdout.index("{")
        return json.loads(process.stdout[start:]), None, seconds
    except ValueError:
        return None, "printed no JSON", seconds


def machine() -> str:
    def first(path: str, prefix: str) -> str:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError:
            return ""
        return next((line.split(prefix, 1)[1].strip().strip('"') for line in lines if line.startswith(prefix)), "")

    cpu = first("/proc/cpuinfo", "model name\t:") or platform.machine()
    memory = first("/proc/meminfo", "MemTotal:")
    gib = f", {int(memory.split()[0]) / 1024 / 1024:.0f} GiB RAM" if memory else ""
    distro = first("/etc/os-release", "PRETTY_NAME=")
    return f"{os.cpu_count()} x {cpu}{gib}; {distro}, Python {platform.python_version()}"


def met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def inventory_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for size in r["sizes"]:
        stores = int(size["stores"])
        rows.append(
            (
                f"inventory load+validate, {stores:,} stores",
                f"{size['wall']:.2f} s (load {size['load']:.2f} s after imports), peak RSS "
                f"{size['peak_rss_mib']:.0f} MiB",
                f"best of {size['runs']}; CPU s: {size['cpu']:.2f}; "
                f"load average {size['load_average']:.1f}",
                f"< {r['target_seconds_10k']:.0f} s: {met(size['wall'] < r['target_seconds_10k'])}"
                if stores >= 10_000
                else "",
            )
        )
    return rows


def render_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for size in r["pipeline"]:
        s, f = size["storestack"], size["floor"]
        stores = f"{size['stores']:,}"
        rows.append(
            (
                f"render, {stores} stores",
                f"load+validate+IPAM {s['load']:.2f} s, stack configs {s['stacks']:.2f} s, "
                f"{int(s['configs']):,} appliance configs {s['appliances']:.2f} s; total {s['total']:.2f} s, "
                f"peak RSS {s['peak_rss_mib']:.0f} MiB",
                f"{s['lines_per_config']:.0f} lines/config; CPU s: load {s['load_cpu']:.2f}, stacks "
                f"{s['stacks_cpu']:.2f}, appliances {s['appliances_cpu']:.2f} "
                f"(= {size['appliances_idle_seconds']} s on idle cores); load average at the appliance "
                f"configs' start {s['appliances_loadavg']:.1f}",
                (
                    f"appliance configs <= 12 s: {met(size['appliances_target_met'])} here, "
                    f"{met(size['appliances_idle_target_met'])} on idle cores"
                )
                if size["stores"] >= 10_000
                else "",
            )
        )
        rows.append(
            (
                f"plain Jinja2 loop, {stores} stores (floor)",
                f"{f['total']:.2f} s for {int(f['configs']):,} configs",
                f"{f['lines_per_config']:.0f} lines/config; storestack {size['ratio_to_floor']}x the floor, "
                f"{size['ratio_to_floor_per_line']}x per line",
                "",
            )
        )
    hub = r["hub"]
    largest = hub["rows"][-1]
    rows.append(
        (
            f"hub config, {largest['peers']:,} peers",
            f"{largest['seconds']:.3f} s",
            f"per-peer cost 2,000 vs 500 peers {hub['linearity']}x (1.0 = linear)",
            "< 1 s: " + met(hub["target_met"]),
        )
    )
    return rows


def plan_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for size in r["sizes"]:
        rows.append(
            (
                f"plan, {size['stores']:,} store stacks",
                f"{size['seconds']:.2f} s, peak RSS {size['peak_rss_mib']:.0f} MiB",
                f"{size['ms_per_store']} ms/store wall, {size['cpu_ms_per_store']} ms/store CPU",
                "",
            )
        )
    if "per_store_ratio_cpu" in r:
        rows.append(
            (
                "plan, per-store time 1,000 vs 100",
                f"{r['per_store_ratio_wall']}x wall, {r['per_store_ratio_cpu']}x CPU",
                "",
                "≤ 1.5x: " + met(r["per_store_ratio_cpu"] <= 1.5),
            )
        )
    if "idle_seconds_1000" in r:
        rows.append(
            (
                "plan, 1,000 store stacks on 2 idle cores",
                f"{r['idle_seconds_1000']} s (CPU time / cores)",
                "",
                "< 20 s: " + met(r["idle_seconds_1000"] < 20),
            )
        )
    return rows


def push_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    n = r["appliances"]

    def cpu(key: str) -> str:
        value = r[key]
        if "lab_cpu_seconds" not in value:
            return ""
        return f"CPU {value['client_cpu_seconds'] + value['lab_cpu_seconds']:.1f} s (tool {value['client_cpu_seconds']} + lab {value['lab_cpu_seconds']})"

    labels = [
        ("change_c20", "storestack, real change, concurrency 20", "backup, diff, apply, verify, health, save"),
        ("noop_c20", "storestack, no-op, concurrency 20", "backup and diff, nothing sent"),
        ("nornir_change", "Nornir `netmiko_send_config`, change, 20 workers", "whole config, then save"),
        ("nornir_noop", "Nornir `netmiko_send_config`, no-op, 20 workers", "whole config again, then save"),
        ("change_c1", "storestack, real change, concurrency 1", ""),
        ("netmiko_change", "plain Netmiko, whole config, sequential, change", ""),
        ("netmiko_noop", "plain Netmiko, whole config, sequential, no-op", ""),
    ]
    rows = []
    for key, label, what in labels:
        if key in r:
            value = r[key]
            rows.append(
                (
                    f"push {n}: {label}",
                    f"{value['seconds']:.2f} s, {value['config_lines_sent']:,} lines",
                    "; ".join(part for part in (what, cpu(key)) if part),
                    "",
                )
            )
    ratios = r["ratios"]
    targets = r["targets"]
    rows.append(
        (
            f"push {n}: Nornir change / storestack change",
            f"{ratios['nornir_change_over_storestack_change']}x wall",
            f"{ratios['nornir_change_over_storestack_change_cpu']}x CPU",
            "≥ 2x: " + met(targets["change_2x_faster_than_nornir"]),
        )
    )
    rows.append(
        (
            f"push {n}: Nornir no-op / storestack no-op",
            f"{ratios['nornir_noop_over_storestack_noop']}x wall",
            f"{ratios['nornir_noop_over_storestack_noop_cpu']}x CPU",
            "≥ 5x: " + met(targets["noop_5x_faster_than_nornir"]),
        )
    )
    if "netmiko_change_over_storestack_change" in ratios:
        rows.append(
            (
                f"push {n}: plain Netmiko / storestack",
                f"{ratios['netmiko_change_over_storestack_change']}x (change), "
                f"{ratios['netmiko_noop_over_storestack_noop']}x (no-op)",
                f"storestack concurrency 1 / 20: {ratios['storestack_c1_over_c20']}x",
                "",
            )
        )
    rows.append(
        (
            f"push {n}: issue 8 targets",
            f"change {r['change_c20']['seconds']:.2f} s, no-op {r['noop_c20']['seconds']:.2f} s",
            "",
            f"< 10 s: {met(targets['change_c20_under_10s'])}; < 5 s: {met(targets['noop_c20_under_5s'])}",
        )
    )
    return rows


OPERATIONS = {"first": "first push", "change": "small change", "noop": "no-op"}
WAN_TARGETS = {"first": 0.6, "change": 0.25, "noop": 0.15}
LOOPBACK_TARGETS = {"first": 0.8, "change": 0.5, "noop": 0.2}


def wan_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """storestack beside Nornir behind the delay proxy: time, round trips per appliance, ratio."""
    rows = []
    for size in r["sizes"]:
        rtt = float(size["rtt_ms"])
        where = f"{rtt:g} ms RTT" if rtt else "loopback"
        targets = WAN_TARGETS if rtt else LOOPBACK_TARGETS
        for operation, label in OPERATIONS.items():
            ours, theirs = size[f"storestack_{operation}"], size[f"nornir_{operation}"]
            ratio = size["ratios"][operation]
            # A no-op must also send nothing.
            ok = ratio <= targets[operation] and (operation != "noop" or ours["config_lines_sent"] == 0)

            def figures(value: dict[str, Any]) -> str:
                return (
                    f"{value['seconds']:.2f} s, {value['config_lines_sent']:,} lines, "
                    f"{value['round_trips_median']} round trips/appliance (max {value['round_trips_max']})"
                )

            rows.append(
                (
                    f"push {size['appliances']} over {where}, {label}: storestack / Nornir",
                    f"{ratio}x: storestack {figures(ours)}; Nornir {figures(theirs)}",
                    f"CPU s: storestack {ours['client_cpu_seconds']} tool + {ours['lab_cpu_seconds']} lab, "
                    f"Nornir {theirs['client_cpu_seconds']} tool + {theirs['lab_cpu_seconds']} lab",
                    f"≤ {targets[operation]}x{', 0 lines' if operation == 'noop' else ''}: {met(ok)}",
                )
            )
    return rows


def emulator_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (
            f"no-op push of {r['appliances']} emulated appliances ({', '.join(r['platforms'])})",
            f"{r['tool_cpu_ms_per_appliance']} ms tool CPU per appliance",
            f"{r['seconds']:.2f} s wall, {r['tool_cpu_seconds']} CPU s, concurrency {r['concurrency']}, "
            f"{r['config_lines_sent']} lines sent",
            f"≤ {r['target_ms']:g} ms: {met(r['target_met'])}",
        )
    ]


def emulator_round_trip_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Round trips per vendor appliance (under its commit-confirm timer), counted by the proxy."""
    rows = []
    for operation, label in (("change", "small change"), ("noop", "no-op")):
        per_platform = r["round_trips"][operation]
        rows.append(
            (
                f"push of {r['appliances']} emulated vendor appliances, {label}: round trips per appliance",
                ", ".join(
                    f"{platform} {value['median']} (max {value['max']})" for platform, value in per_platform.items()
                ),
                f"{r['round_trips'][operation + '_lines']} lines sent"
                + ("; arm and confirm of the commit-confirm timer included" if operation == "change" else ""),
                "",
            )
        )
    return rows


def rollout_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    n = r["stores"]
    for key, label, target in (
        ("rollout", f"rollout of {n} new stores into the lab", 1.5),
        ("rerun", f"rollout re-run of the {n} stores, nothing to change", 0.4),
    ):
        value = r[key]
        rows.append(
            (
                f"{label}, concurrency {r['concurrency']}",
                f"{value['seconds']:.2f} s = {value['seconds_per_store']} s/store",
                f"{value['lines_pushed']:,} lines pushed, {value['stores_drilled']} stores drilled; "
                f"CPU {value['cpu_seconds']} s (tool; the lab's daemons not counted)",
                f"≤ {target} s/store: {met(r['targets'][key])}",
            )
        )
    return rows


def lab_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    if r.get("skipped"):
        rows.append(("lab start", "skipped", r["skipped"], ""))
    for size in r["frr"]:
        rows.append(
            (
                f"lab start, {int(size['appliances'])} FRR appliances",
                f"{size['up_seconds']:.2f} s up, {size['down_seconds']:.2f} s down",
                f"{size['up_seconds'] / size['appliances'] * 1000:.0f} ms/appliance; RSS {size['rss_mib']:.1f} MiB, "
                f"USS {size['uss_mib']:.1f} MiB per appliance",
                "",
            )
        )
    emulator = r["emulator"]
    rows.append(
        (f"vendor emulator, {int(emulator['devices'])} devices", f"{emulator['start_seconds']:.2f} s to start", "", "")
    )
    return rows


def cli_start_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = [
        (
            f"CLI start, `{command['command']}`",
            f"{command['wall_s']:.2f} s, CPU {command['cpu_s']:.2f} s",
            f"exit {command['exit_code']}; {'imports' if command['imports_pulumi'] else 'no'} Pulumi; best of {r['runs']}",
            "",
        )
        for command in r["commands"]
    ]
    imports = r["import"]
    rows.append(
        ("import storestack.cli.main", f"{imports['cli_main_cumulative_ms']:.0f} ms", f"{imports['modules']} modules", "")
    )
    return rows


ROWS = {
    "inventory": inventory_rows,
    "render": render_rows,
    "plan": plan_rows,
    "push": push_rows,
    "push-wan": wan_rows,
    "push-loopback": wan_rows,
    "push-emulator": emulator_rows,
    "push-emulator-rt": emulator_round_trip_rows,
    "rollout": rollout_rows,
    "lab": lab_rows,
    "cli-start": cli_start_rows,
}


def table(results: dict[str, tuple[dict[str, Any] | None, str | None, float]], started: datetime, load: str) -> str:
    lines = [
        f"Measured {started:%Y-%m-%d %H:%M} UTC on {machine()}; load average at start {load} "
        "(other work shared the machine: wall times are noisy, CPU times steadier).",
        "",
        "| benchmark | result | detail | target |",
        "|---|---|---|---|",
    ]
    for name, (figures, problem, _seconds) in results.items():
        if figures is None:
            lines.append(f"| {name} | not measured | {problem} | |")
            continue
        for row in ROWS[name](figures):
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    spent = ", ".join(f"{name} {seconds:.0f} s" for name, (_f, _p, seconds) in results.items())
    lines += ["", f"Benchmark run time: {spent}."]
    return "\n".join(lines) + "\n"


def update_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    if START not in readme or END not in readme:
        raise SystemExit(f"{README} has no {START} … {END} markers")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{text}{END}{tail}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--readme", action="store_true", help="also replace the table in README.md")
    args = parser.parse_args()
    started = datetime.now(UTC)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    results = {}
    for name in args.only:
        print(f"== {name} ({' '.join(BENCHMARKS[name])})", file=sys.stderr, flush=True)
        results[name] = run(name)
    text = table(results, started, load)
    RESULTS.write_text("# Benchmark results\n\n" + text, encoding="utf-8")
    raw = {name: figures for name, (figures, _problem, _seconds) in results.items()}
    (HERE / "results.json").write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")
    if args.readme:
        update_readme(text)
    print(text)
    return 0 if all(figures is not None for figures, _p, _s in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
