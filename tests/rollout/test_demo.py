"""`storestack demo`, as `make demo` runs it on a fresh machine (root, FRR, sshd; fails under CI=true).

The run is the session's one demo run (`testsupport.demo.demo_run`), which the secrets audit scans too."""

from __future__ import annotations

import re
import subprocess

import pytest
from testsupport.demo import DEMO_GROUP, THROWAWAY, DemoRun

from storestack.inventory import sample_chain_path
from storestack.lab.state import lab_prefix

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group(DEMO_GROUP)]


def test_demo_rolls_out_every_sample_store_to_the_lab_and_cleans_up(demo_run: DemoRun) -> None:
    result, state = demo_run.result, demo_run.state
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for step in range(1, 10):
        assert f"{step}/9 " in out
    assert "ok 8 stores, 2 hubs valid" in out
    # The run left one device secret unset, as a fresh machine leaves all: the demo made it up.
    assert "device secrets: 1 throwaway value(s) generated for this run (not shown)" in out
    assert f"{THROWAWAY} (throwaway)" in demo_run.secrets, "no appliance holds the throwaway NTP key"
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
    assert (sample_chain_path() / "allocations.yaml").read_text() == demo_run.sample_lock_before
