"""On the VRP emulator in immediate validation (an AR applies each line as typed), a push that
rebuilds a bound ACL under its other name leaves every WAN port bound, at every line, to an ACL
that exists; the device then shows the intended config (drift 0) and the rollback brings back
the running config the push started from.

The emulator holds one `traffic-filter` per direction on an interface, a new one in place of the
old (`VRP.replace_keys`): "You can apply only one ACL in one direction" (AR command reference,
"traffic-filter (interface view)"); whether an AR replaces or refuses the second, no document
seen says, and the push never relies on an `undo traffic-filter` first."""

from __future__ import annotations

import re
from pathlib import Path

from testsupport.emulator_push import vrp_immediate_with
from testsupport.rendering import vrp_acl_with_rule

from storestack.devices.configdiff import compute_diff
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.profiles.huawei_vrp import VrpSession

GOLDEN = Path(__file__).parents[1] / "devices" / "golden" / "huawei_vrp" / "dual-wan.cfg"
_WAN_PORTS = ("GigabitEthernet0/0/1", "GigabitEthernet0/0/2")


def _wan_filters(running: str) -> list[tuple[str, list[str]]]:
    """Each WAN port's inbound traffic-filters, and the ACL names the config defines."""
    acls = re.findall(r"^acl name (\S+) \d+$", running, flags=re.M)
    bound = []
    for port in _WAN_PORTS:
        block = running.split(f"interface {port}\n", 1)[1].split("\n#", 1)[0]
        names = re.findall(r"^ traffic-filter inbound acl name (\S+)$", block, flags=re.M)
        bound.append((port, [name for name in names if name in acls] + [f"missing:{n}" for n in names if n not in acls]))
    return bound


def _push(device: DeviceState, session: VrpSession, lines: tuple[str, ...]) -> list[list[tuple[str, list[str]]]]:
    session.handle("system-view")
    states = []
    for line in lines:
        assert "Error:" not in session.handle(line).output, line
        states.append(_wan_filters(device.running_text()))
    session.handle("quit")
    return states


def test_a_rebuilt_wan_filter_is_bound_at_every_line_and_in_sync_after() -> None:
    device, session = vrp_immediate_with(GOLDEN.read_text())
    running = device.running_text()
    intended = vrp_acl_with_rule(GOLDEN.read_text(), "WAN-IN", 20, "deny tcp destination-port eq 8443")
    diff = compute_diff(running, intended, "huawei_vrp")
    states = _push(device, session, diff.remediation)
    for state in states:
        for port, names in state:
            assert len(names) == 1 and not names[0].startswith("missing:"), (port, names)
    # (The emulator shows its secrets in a stored form of its own, which the diff without the
    # secret ledger reads as changes: only the filters are compared here.)
    assert _filter_lines(compute_diff(device.running_text(), intended, "huawei_vrp").remediation) == []
    assert "acl name WAN-IN-B " in device.running_text()
    back = _push(device, session, diff.rollback)
    assert all(len(names) == 1 and not names[0].startswith("missing:") for state in back for _, names in state)
    assert _filter_lines(compute_diff(device.running_text(), running, "huawei_vrp").remediation) == []
    assert re.findall(r"^acl name WAN-IN.*$", device.running_text(), flags=re.M) == ["acl name WAN-IN 3099"]


def _filter_lines(lines: tuple[str, ...]) -> list[str]:
    return [line for line in lines if re.search(r"\bacl\b|\brule \d+|traffic-filter", line)]
