"""The lab's vendor appliances: the SSH emulator daemon it starts, and the targets it serves."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from storestack.common.files import atomic_write_text
from storestack.devices.targets import ApplianceInventory, ApplianceTarget
from storestack.lab.emulator.models import EmulatedDevice, EmulatorSpec
from storestack.lab.errors import LabError
from storestack.lab.state import EMULATOR_DIR, LabState
from storestack.lab.topology import LabAppliance


def emulator_targets(state_dir: Path) -> dict[str, ApplianceTarget]:
    path = state_dir / EMULATOR_DIR / "inventory.yaml"
    if not path.exists():
        return {}
    return ApplianceInventory.load(path).by_name()


def start_emulator(
    state_dir: Path, state: LabState, emulated: list[LabAppliance], ports: dict[str, int]
) -> None:
    folder = state_dir / EMULATOR_DIR
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    spec = EmulatorSpec(
        devices=[
            EmulatedDevice(
                name=a.name, platform=a.platform, role=a.role, store_id=a.store_id, port=ports[a.name]
            )
            for a in emulated
        ]
    )
    spec_path = folder / "spec.yaml"
    atomic_write_text(spec_path, yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    log = (folder / "emulator.log").open("ab")
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "storestack.lab.emulator",
                "--spec",
                str(spec_path),
                "--state-dir",
                str(folder),
                "--name",
                state.name,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives `storestack lab up`; `down` stops it by pidfile
        )
    finally:
        log.close()
    assert state.emulator_pidfile is not None
    atomic_write_text(Path(state.emulator_pidfile), f"{process.pid}\n")


def wait_emulator(state_dir: Path, timeout: float) -> None:
    folder = state_dir / EMULATOR_DIR
    deadline = time.monotonic() + timeout
    while not (folder / "ready").exists():
        if time.monotonic() > deadline:
            log = (folder / "emulator.log").read_text(encoding="utf-8", errors="replace")[-2000:]
            raise LabError(f"the vendor emulator did not start within {timeout:g} s: {log}")
        time.sleep(0.05)

