"""Gate for tests that need the real FRR lab.

They skip on a developer machine without root, FRR and sshd, but FAIL when the CI environment
variable is set: CI must never pass by skipping the real lab.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from storestack import lab
from storestack.cli.main import cli
from storestack.lab.topology import LabTopology


def require_frr_lab() -> None:
    try:
        lab.check_prerequisites()
    except lab.LabPrerequisiteError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the FRR lab cannot run here: {exc}")
        pytest.skip(f"FRR lab unavailable: {exc}")


PSK_VARIABLE = "STORESTACK_IPSEC_PSK"


@contextlib.contextmanager
def rolled_out_lab(root: Path, topology: LabTopology, stores: list[str], psk: str) -> Iterator[Path]:
    """`lab up` of `topology` in `root`, then `rollout <stores> --lab`: the appliances on their
    rendered configs, as a user has them before `lab check`. The fleet PSK is `psk` and the
    working directory `root` (the rollout's journal goes to ./.storestack) until the lab is down."""
    require_frr_lab()
    state_dir = root / "lab"
    saved_psk, saved_cwd = os.environ.get(PSK_VARIABLE), Path.cwd()
    os.environ[PSK_VARIABLE] = psk
    os.chdir(root)
    try:
        lab.up(topology, state_dir)
        rollout = CliRunner().invoke(
            cli, ["rollout", *stores, "--lab", "--lab-dir", str(state_dir), "--no-failover", "--verify-timeout", "60"]
        )
        assert rollout.exit_code == 0, rollout.output
        yield state_dir
    finally:
        lab.down(state_dir)
        os.chdir(saved_cwd)
        if saved_psk is None:
            os.environ.pop(PSK_VARIABLE, None)
        else:
            os.environ[PSK_VARIABLE] = saved_psk
