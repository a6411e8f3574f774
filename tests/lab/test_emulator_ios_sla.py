"""The IOS-XE emulator keeps a scheduled IP SLA operation as IOS does: `ip sla N` is refused while
N is scheduled ("Entry already running and cannot be modified"), and `no ip sla N` removes the
operation with its reaction configuration and schedule.

The store is the rendered dual-WAN store (its golden file).
"""

from __future__ import annotations

import re
from pathlib import Path

from storestack.lab.emulator import EmulatedDevice
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.profiles.cisco_xe import IosSession

GOLDEN = (Path(__file__).parents[1] / "devices" / "golden" / "cisco_xe" / "dual-wan.cfg").read_text(encoding="utf-8")


def _store() -> tuple[DeviceState, IosSession]:
    device = DeviceState(EmulatedDevice(name="nw-0002-edge1", platform="cisco_xe", running_config=GOLDEN))
    session = IosSession(device)
    session.handle("configure terminal")
    return device, session


def _operation(running: str, number: int) -> list[str]:
    """The lines of operation `number`: its block and its reaction configuration and schedule."""
    block = re.search(rf"^ip sla {number}\n(?: .*\n)*", running, re.MULTILINE)
    parts = re.findall(rf"^ip sla (?:reaction-configuration|schedule) {number} .*$", running, re.MULTILINE)
    return [*(block.group(0).splitlines() if block else []), *parts]


def test_a_scheduled_operation_cannot_be_changed_in_place() -> None:
    device, session = _store()
    before = _operation(device.running_text(), 43)
    reply = session.handle("ip sla 43").output
    assert reply.startswith("Entry already running and cannot be modified\n")
    assert "(only can delete (no) and start over)" in reply
    # IOS stays in global configuration mode: the block's own line is an unknown command there.
    assert "% Invalid input detected" in session.handle(" threshold 200").output
    assert session.prompt.endswith("(config)#")
    assert _operation(device.running_text(), 43) == before
    assert " threshold 200" not in device.running_text()


def test_no_ip_sla_removes_the_reactions_and_schedule_and_lets_it_be_defined_again() -> None:
    device, session = _store()
    assert session.handle("no ip sla 43").output == ""
    assert _operation(device.running_text(), 43) == []
    assert "track 43 ip sla 43 state" in device.running_text()  # the track stays, as on IOS
    assert _operation(device.running_text(), 44) != []  # only 43's lines went
    for line in ["ip sla 43", " icmp-echo 100.64.255.248", " frequency 10", " exit"]:
        assert session.handle(line).output == "", line
    assert _operation(device.running_text(), 43) == ["ip sla 43", " icmp-echo 100.64.255.248", " frequency 10"]

