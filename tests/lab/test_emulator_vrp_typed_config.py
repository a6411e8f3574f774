"""The emulated AR a test loads by typing a config (`testsupport.emulator_push.vrp_immediate_with`)
holds that config: each view left with `quit` before the next line of an outer view, as an
operator types it. The AR's own behaviour for a command typed in a view that lacks it is not
documented for VRP5 (VRP8's "intelligent rollback", `terminal command forward matched
upper-view`; USG's `matched upper-view`, undo commands only and off by default), so the typing
never relies on it: typed without `quit`, the emulator kept every `aaa` line after the first
authentication scheme inside that scheme's view, and a push test started from an AR whose AAA
view was not the one rendered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.emulator_push import vrp_immediate_with

from storestack.devices.configdiff import compute_diff
from storestack.devices.secret_ledger import HELD_AS_SENT

GOLDEN = Path(__file__).parents[1] / "devices" / "golden" / "huawei_vrp"


@pytest.mark.parametrize("name", ["hub", "dual-wan", "lte-only", "mall-guest", "aws"])
def test_a_typed_golden_config_is_held_as_rendered(name: str) -> None:
    golden = (GOLDEN / f"{name}.cfg").read_text()
    device, _ = vrp_immediate_with(golden, "ar")
    running = device.running_text()
    assert "\n aaa\n" not in running
    aaa = running[running.index("\naaa\n") :].split("\n#", 1)[0]
    assert "\n authorization-scheme STORESTACK\n" in aaa and "\n domain default_admin\n" in aaa
    # Only the factory's `shutdown` of each port is left for a push to undo: VRP shows an
    # enabled port with no line, so the rendered config types none.
    remediation = compute_diff(running, golden, "huawei_vrp", held=HELD_AS_SENT).remediation
    assert [line.strip() for line in remediation if not re.match(r"interface GigabitEthernet|\s+(undo shutdown|quit)$", line)] == []
