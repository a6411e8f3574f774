"""A full `stacks plan` killed outright (SIGKILL) while it deletes the saved plan of a stack that
left the fleet. The next plan, even one of a single store, finishes that deletion: the gone
stack's plan does not stay behind to be reported removed (and guarded) again, and no staging of
the killed run is left."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from testsupport.killed import RUN_CLI, killed_when_held
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS

from storestack.inventory import sample_chain_path

# Held just before the plan moves the gone stack's saved plan out of the folder.
_HOLD = """
from storestack.common import files
real_rename = files.os.rename
def rename(source, target):
    if Path(source).name == "store-nw-0002.json" and Path(target).parent.name.startswith(".replaced-"):
        hold()
    return real_rename(source, target)
files.os.rename = rename
"""


def _env() -> dict[str, str]:
    return {**os.environ, **TEST_SECRETS, TEST_IPSEC_PSK_SEED[0]: TEST_IPSEC_PSK_SEED[1]}


def _plan(tmp_path: Path, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", RUN_CLI, "plan", "--fleet", str(tmp_path / "fleet"),
         "--plans-dir", str(tmp_path / "plans"), "--workers", "1", "--json", *args],
        env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def test_a_plan_after_one_killed_deleting_a_gone_stacks_plan_finishes_the_deletion(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    shutil.copytree(sample_chain_path(), fleet)
    for path in (fleet / "stores").glob("*.yaml"):
        if path.stem not in ("nw-0001", "nw-0002"):
            path.unlink()
    plans = tmp_path / "plans"
    _plan(tmp_path)
    assert (plans / "store-nw-0002.json").exists()
    (fleet / "stores" / "nw-0002.yaml").unlink()

    killed_when_held(
        _HOLD,
        ["plan", "--fleet", str(fleet), "--plans-dir", str(plans), "--workers", "1", "--allow-destroy", "1", "--json"],
        tmp_path / "held",
        _env(),
    )

    one = _plan(tmp_path, "--store", "nw-0001")
    assert one["removed_stacks"] == []
    assert sorted(p.name for p in plans.iterdir()) == [
        "core.digests",
        "core.json",
        "digest.key",
        "store-nw-0001.digests",
        "store-nw-0001.json",
    ], "the gone stack's saved plan or digests (or the killed run's staging) stayed"
    assert _plan(tmp_path)["removed_stacks"] == [], "the gone stack was reported removed a second time"
