"""CLI start benchmark: what a `storestack` command costs before and while it does its work.

Each command runs `--runs` times (default 5) as its own process, the way a user or a CI step
runs it, on the sample chain with every device secret set, in a scratch folder (so `lab status`
finds no lab and reads nothing of the caller's). Prints the best wall time and the CPU seconds
(user + system) of each, with the load average when it was taken: on a shared machine the wall
time waits for other work, CPU seconds much less so. Then the modules `import storestack.cli.main`
pulls in and whether Pulumi is among the modules each command imported. Prints figures; asserts
nothing.

Run: .venv/bin/python benchmarks/cli_start.py [--runs 5] [--json]
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
    ("stacks", "--help"),
)

# Runs the command in-process, then prints whether a Pulumi module was imported.
PROBE = """
import sys
from storestack.cli.main import cli
try:
    cli(sys.argv[1:])
except SystemExit:
    pass
print("PULUMI" if any(name.split(".")[0].startswith("pulumi") for name in sys.modules) else "NO-PULUMI")
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


def command_figures(command: tuple[str, ...], runs: int, cwd: Path, env: dict[str, str]) -> dict[str, object]:
    entry = str(Path(sys.executable).with_name("storestack"))
    arguments = [*command, str(sample_chain_path())] if command == ("inventory", "validate") else [*command]
    samples = [_timed([entry, *arguments], cwd, env) for _ in range(runs)]
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    return {
        "command": "storestack " + " ".join(command),
        "exit_code": samples[0][2],
        "wall_s": round(min(wall for wall, _cpu, _code in samples), 3),
        "cpu_s": round(min(cpu for _wall, cpu, _code in samples), 3),
        "imports_pulumi": probe.stdout.strip().splitlines()[-1:] == ["PULUMI"],
    }


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
    args = parser.parse_args()
    env = {**os.environ, **SECRETS}
    env.pop("STORESTACK_FLEET", None)
    with tempfile.TemporaryDirectory(prefix="storestack-cli-start-") as scratch:
        commands = [command_figures(command, args.runs, Path(scratch), env) for command in COMMANDS]
    imports = import_figures(env)
    load_average = round(os.getloadavg()[0], 1)
    if args.json:
        print(json.dumps({"runs": args.runs, "import": imports, "commands": commands, "load_average": load_average}))
        return 0
    print(f"import storestack.cli.main: {imports['modules']} modules, {imports['cli_main_cumulative_ms']} ms (-X importtime)")
    for row in commands:
        print(f"{row['command']:<34} wall {row['wall_s']:.2f} s  CPU {row['cpu_s']:.2f} s  exit {row['exit_code']}  "
              f"{'imports Pulumi' if row['imports_pulumi'] else 'no Pulumi'}")
    print(f"best of {args.runs}; load average {load_average}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
