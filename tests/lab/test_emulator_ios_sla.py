"""The IOS-XE emulator keeps a scheduled IP SLA operation as IOS does: `ip sla N` is refused while
N is scheduled ("Entry already running and cannot be modified"), and `no ip sla N` removes the
operation with its reaction configuration and schedule. A push of a changed probe therefore goes
through only as the remediation sends it: deleted, defined again, its reactions and schedule
sent again.

The store is the rendered dual-WAN store (its golden file); its probe 43 gets a higher threshold.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storestack.devices.configdiff import compute_diff
from storestack.devices.errors import CommandRejectedError
from storestack.devices.session import ApplianceSession
from storestack.lab.emulator import EmulatedDevice, Emulator, EmulatorThread
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.profiles.cisco_xe import IosSession

GOLDEN = (Path(__file__).parents[1] / "devices" / "golden" / "cisco_xe" / "dual-wan.cfg").read_text(encoding="utf-8")
PROBE_43 = (
    "ip sla 43\n udp-jitter 100.64.255.248 50503 source-ip 100.64.255.249 num-packets 100 interval 90\n"
    " tag realtime\n threshold 150\n"
)
RTT_43 = "ip sla reaction-configuration 43 react rtt threshold-value 150 150 "
# What hier_config alone sends for the higher threshold: the block patched in place.
IN_PLACE = ["ip sla 43", " no threshold 150", " threshold 200", " exit"]


def _raised() -> str:
    assert PROBE_43 in GOLDEN and RTT_43 in GOLDEN
    return GOLDEN.replace(PROBE_43, PROBE_43.replace("threshold 150", "threshold 200")).replace(
        RTT_43, RTT_43.replace("150 150", "200 200")
    )


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


def test_a_push_of_a_changed_probe_goes_through_as_the_remediation_sends_it(tmp_path: Path) -> None:
    """Over SSH, as a push sends lines: the in-place patch is refused on its first line, which the
    IOS-XE driver recognises; the remediation is taken whole and leaves nothing to send."""
    intended = _raised()
    device = EmulatedDevice(name="nw-0002-edge1", platform="cisco_xe", store_id="nw-0002", running_config=GOLDEN)
    with EmulatorThread(Emulator([device], state_dir=tmp_path)) as emulator:
        target = emulator.inventory().appliances[0]
        with ApplianceSession(target, target.credentials.resolve()).open() as session:
            with pytest.raises(CommandRejectedError) as refused:
                session.configure(IN_PLACE)
            assert refused.value.line == "ip sla 43"
        emulator.set_running_config("nw-0002-edge1", GOLDEN)
        remediation = compute_diff(emulator.running_config("nw-0002-edge1"), intended, "cisco_xe").remediation
        assert remediation[:2] == ("no ip sla 43", "ip sla 43")
        with ApplianceSession(target, target.credentials.resolve()).open() as session:
            session.configure(remediation)  # raises on the first rejected line
        running = emulator.running_config("nw-0002-edge1")
    assert compute_diff(running, intended, "cisco_xe").in_sync
    assert " threshold 200" in _operation(running, 43)
