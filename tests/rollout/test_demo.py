"""`storestack demo`, as `make demo` runs it on a fresh machine (root, FRR, sshd; fails under CI=true)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from testsupport.lab import require_frr_lab

from storestack.inventory import sample_chain_path
from storestack.lab.state import lab_prefix

pytestmark = pytest.mark.lab


def test_demo_rolls_out_every_sample_store_to_the_lab_and_cleans_up(tmp_path: Path) -> None:
    require_frr_lab()
    state = tmp_path / "demo"
    lock_before = (sample_chain_path() / "allocations.yaml").read_text()
    # A fresh machine: no device secrets in the environment, no Pulumi CLI.
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORESTACK_")}
    env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":") if not (Path(p) / "pulumi").exists())
    env["COLUMNS"] = "120"
    storestack = Path(sys.executable).with_name("storestack")

    result = subprocess.run(
        [str(storestack), "demo", "--state-dir", str(state)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )

    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for step in range(1, 10):
        assert f"{step}/9 " in out
    assert "ok 8 stores, 2 hubs valid" in out
    assert "plan: 9 stacks" in out and "0 error(s)" in out
    assert "8/8 stores active" in out
    assert "PLANNED" in out
    # The drill is a brownout (loss, not a cut link), judged by where the till's packets go.
    assert "POS moved from wan1 to lte1 in" in out and "POS back on wan1" in out
    # The lab check: the matrix, every cell as the intent says, and only IKE/ESP between sites.
    assert "reachability (intent: allow / deny)" in out and "✗" not in out
    assert re.search(r"\b(\d+)/\1 tunnels up; (\d+)/\2 cells as the intent says", out), out
    assert re.search(r"\b(\d+)/\1 WAN ports carried only IKE/ESP between sites", out), out
    assert "demo finished" in out
    # Checks that cannot run on emulated appliances are counted as skipped, never as passed.
    assert "skipped (emulated appliances)" in out
    # The lab is gone: no namespace of its prefix is left.
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert lab_prefix((state / "lab").resolve()) not in namespaces
    # The shipped sample chain was never written to; the demo worked on its own copy.
    assert (sample_chain_path() / "allocations.yaml").read_text() == lock_before
