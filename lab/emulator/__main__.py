"""`python -m storestack.lab.emulator --spec SPEC --state-dir DIR`: serve until SIGTERM.

The FRR lab runs its vendor appliances this way, as a daemon it stops by pidfile. The state
directory receives inventory.yaml, credentials.yaml (0600), a `ready` marker and each device's
running and startup configs under devices/<name>/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from storestack.lab.emulator.models import EmulatorSpec
from storestack.lab.emulator.server import Emulator, serve_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m storestack.lab.emulator")
    parser.add_argument("--spec", type=Path, required=True, help="EmulatorSpec as YAML")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--name", default="emulator", help="inventory source becomes lab:<name>")
    args = parser.parse_args(argv)
    spec = EmulatorSpec.load(args.spec)
    emulator = Emulator(spec, state_dir=args.state_dir, persist_configs=True, name=args.name)
    serve_forever(emulator)


if __name__ == "__main__":
    main()
