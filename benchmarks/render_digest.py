"""SHA-256 of every rendered file, to show a render speed-up changed no byte of the output.

Renders the sample chain and generated fleets in the given secrets modes (display, push, lint
slots), serially and on forked workers, and writes one line per file: `<fleet> <mode>
<workers> <file name> <sha256>`, then a digest over all of them. Run it before and after a
change and compare the files (`diff`), or just the last line.

Generated fleets are written once into `--fleets` (with their IPAM lock pinned) and reused, so
both runs render the same input. Push mode needs STORESTACK_IPSEC_PSK and the inventory's
secrets in the environment; modes whose secrets are missing are reported and skipped.

Run: .venv/bin/python benchmarks/render_digest.py --out before.txt [--stores 200 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

from storestack.common.errors import StorestackError
from storestack.devices.render import SecretsMode, render_fleet
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.inventory.generate import generate_fleet, write_fleet
from storestack.inventory.loader import load_fleet_with_allocations


def generated(stores: int, seed: int, into: Path) -> Path:
    target = into / f"fleet-{stores}-seed{seed}"
    if not (target / "fleet.yaml").exists():
        write_fleet(generate_fleet(stores, seed), target)
        load_fleet_with_allocations(target, write_lock=True)
    return target


def digest_lines(label: str, fleet: Fleet, mode: SecretsMode, workers: int) -> list[str]:
    return [
        f"{label} {mode} {workers} {name} {hashlib.sha256(text.encode()).hexdigest()}"
        for config in render_fleet(fleet, secrets=mode, reveal_secrets=mode == "reveal", workers=workers)
        for name, text in config.files()
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stores", type=int, nargs="*", default=[200])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fleets", type=Path, default=Path("/tmp/storestack-render-digest-fleets"))
    parser.add_argument(
        "--large", type=int, default=1000,
        help="fleets above this many stores render only in display mode on 2 workers (CPU is shared)",
    )
    args = parser.parse_args()

    fleets: list[tuple[str, Path, bool]] = [("sample", sample_chain_path(), False)]
    fleets += [(f"gen{n}", generated(n, args.seed, args.fleets), n > args.large) for n in args.stores]
    lines: list[str] = []
    for label, path, large in fleets:
        fleet = load_fleet(path)
        runs: list[tuple[SecretsMode, int]] = (
            [("redact", 2)] if large else [(m, w) for m in ("redact", "reveal", "slots") for w in (1, 2)]
        )
        for mode, workers in runs:
            start = time.perf_counter()
            try:
                found = digest_lines(label, fleet, mode, workers)
            except StorestackError as exc:
                print(f"{label} {mode}: skipped ({exc})", file=sys.stderr)
                continue
            lines += found
            print(f"{label} {mode} x{workers}: {len(found)} files, {time.perf_counter() - start:.1f} s",
                  file=sys.stderr)
    total = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    args.out.write_text("\n".join([*lines, f"all {len(lines)} files {total}"]) + "\n")
    print(f"{len(lines)} files, digest {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
