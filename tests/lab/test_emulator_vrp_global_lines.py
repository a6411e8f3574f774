"""A system-view line typed while a view is open leaves that view on the VRP emulator, as on an
AR: a command the current view lacks is run in the system view, and `display
current-configuration` prints it at the margin, never under the view it was typed in.

A pushed config sends `ip ip-prefix ...` (and `ip community-filter ...`) right after the BGP
view's lines, with no `quit` between. The emulator nested them under `bgp` / `ipv4-family
unicast`, so its running config differed from what an AR prints (Huawei "ip ip-prefix" and "ip
community-filter": System view, AR command reference EDOC1100064351), and a drift check read
the hub's prefix lists as missing at the top level."""

from __future__ import annotations

import re
from pathlib import Path

from testsupport.emulator_push import vrp_immediate_with

from storestack.devices.configdiff import compute_diff

HUB = Path(__file__).parents[1] / "devices" / "golden" / "huawei_vrp" / "hub.cfg"
# The system-view lines a pushed config types right after a view's own lines.
GLOBAL = re.compile(r"^\s*(?:ip ip-prefix|ip community-filter|ip route-static|route-policy-change) ")


def test_system_view_lines_typed_after_a_view_are_shown_at_the_margin() -> None:
    intended = HUB.read_text()
    running = vrp_immediate_with(intended, "hub")[0].running_text()
    nested = [line for line in running.splitlines() if GLOBAL.match(line) and line[:1].isspace()]
    assert nested == []
    assert len(re.findall(r"^ip ip-prefix ", running, flags=re.M)) == len(
        re.findall(r"^ip ip-prefix ", intended, flags=re.M)
    )
    bgp = running.split("\nbgp ", 1)[1].split("\n#\n", 1)[0]
    assert "ip-prefix" not in bgp and "community-filter" not in bgp
    # Read back, the prefix lists and community filter are in sync.
    remediation = compute_diff(running, intended, "huawei_vrp").remediation
    assert [line for line in remediation if "ip-prefix" in line or "community-filter" in line] == []
