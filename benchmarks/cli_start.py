"""CLI start benchmark: what a `storestack` command costs before and while it does its work.

Each command runs `--runs` times (default 5) as its own process, the way a user or a CI step
runs it, on the sample chain with every device secret set, in a scratch folder (so `lab status`
finds no lab and reads nothing of the caller's). Prints the best wall time and the CPU seconds
(user + system) of each, with the load average when it was taken: on a shared machine the wall
time waits for other work, CPU seconds much less so. Then the modules `import storestack.cli.main`
pulls in and whether Pulumi and Netmiko are among the modules each command imported. Prints
figures; asserts nothing.

With `--before PYTHON` (the interpreter of another checkout's virtualenv, e.g. main's
`.venv/bin/python`, whose `storestack` is the code to compare with) each command also runs with
that one, interleaved, and its figures are printed beside these ("before → after"); nothing is
written into that checkout (no bytecode).

Run: .venv/bin/python benchmarks/cli_start.py [--runs 5] [--json] [--before ../main/.venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from storestack.inventory import sample_chain_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lint import SECRETS  # the device secrets the sample chain names

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--version",),
    ("--help",),
    ("inventory", "validate"),
    ("lab", "--help"),
    ("lab", "status"),
    ("devices", "--help"),
    ("devices", "lint", "--help"),
    ("stacks", "--help"),
)

# Runs the command in-process, then prints which of Pulumi and Netmiko it imported.
PROBE = """
import json, sys
from storestack.cli.main import cli
try:
    cli(sys.argv[1:])
except SystemExit:
    pass
tops = {name.split(".")[0] for name in sys.modules}
print(json.dumps({"pulumi": any(top.startswith("pulumi") for top in tops), "netmiko": "netmiko" in tops}))
"""


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit code) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, process.returncode


def command_figures(
    command: tuple[str, ...], runs: int, cwd: Path, env: dict[str, str], python: str = sys.executable
) -> dict[str, object]:
    entry = str(Path(python).with_name("storestack"))
    arguments = [*command, str(sample_chain_path())] if command == ("inventory", "validate") else [*command]
    samples = [_timed([entry, *arguments], cwd, env) for _ in range(runs)]
    probe = subprocess.run(
        [python, "-c", PROBE, *arguments], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    imported = json.loads((probe.stdout.strip().splitlines() or ["{}"])[-1])
    return {
        "command": "storestack " + " ".join(command),
        "exit_code": samples[0][2],
        "wall_s": round(min(wall for wall, _cpu, _code in samples), 3),
        "cpu_s": round(min(cpu for _wall, cpu, _code in samples), 3),
        "imports_pulumi": bool(imported.get("pulumi")),
        "imports_netmiko": bool(imported.get("netmiko")),
    }


def _imported(row: dict[str, object]) -> str:
    return "+".join(name for name in ("pulumi", "netmiko") if row[f"imports_{name}"]) or "neither"


def import_figures(env: dict[str, str]) -> dict[str, object]:
    """Modules and the self-reported import time of `import storestack.cli.main`."""
    process = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import storestack.cli.main"],
        env=env, capture_output=True, text=True, check=True,
    )
    lines = [line for line in process.stderr.splitlines() if line.startswith("import time:") and "|" in line]
    main = next(line for line in lines if line.rstrip().endswith("storestack.cli.main"))
    return {"modules": len(lines) - 1, "cli_main_cumulative_ms": round(int(main.split("|")[1]) / 1000, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--before", metavar="PYTHON", default=None,
                        help="interpreter of the checkout to compare with (its virtualenv's bin/python)")
    args = parser.parse_args()
    env = {**os.environ, **SECRETS}
    env.pop("STORESTACK_FLEET", None)
    before_env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    commands, before = [], []
    with tempfile.TemporaryDirectory(prefix="storestack-cli-start-") as scratch:
        for command in COMMANDS:
            if args.before:
                before.append(command_figures(command, args.runs, Path(scratch), before_env, args.before))
            commands.append(command_figures(command, args.runs, Path(scratch), env))
    imports = import_figures(env)
    load_average = round(os.getloadavg()[0], 1)
    if args.json:
        print(json.dumps({"runs": args.runs, "import": imports, "commands": commands, "before": before,
                          "load_average": load_average}))
        return 0
    print(f"import storestack.cli.main: {imports['modules']} modules, {imports['cli_main_cumulative_ms']} ms (-X importtime)")
    for index, row in enumerate(commands):
        if before:
            old = before[index]
            print(f"{row['command']:<34} CPU {old['cpu_s']:.2f} → {row['cpu_s']:.2f} s  "
                  f"wall {old['wall_s']:.2f} → {row['wall_s']:.2f} s  exit {old['exit_code']} → {row['exit_code']}  "
                  f"imports {_imported(old)} → {_imported(row)}")
        else:
            print(f"{row['command']:<34} wall {row['wall_s']:.2f} s  CPU {row['cpu_s']:.2f} s  exit {row['exit_code']}  "
                  f"imports {_imported(row)}")
    print(f"best of {args.runs}{f'; before: {args.before}' if args.before else ''}; load average {load_average}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
