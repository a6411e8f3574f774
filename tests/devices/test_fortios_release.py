"""The FortiOS release the templates target and the emulator answers as: one fixed for the
TACACS+ authentication bypass (CVE-2025-22252, FG-IR-24-472: FortiOS 7.4.4 through 7.4.6, fixed in
7.4.7) and for FGSP session injection (CVE-2025-22251, FG-IR-24-287: 7.4.0 through 7.4.5), and the
administrator password form that release shows (`ENC SH2`, SHA-256, through 7.4.7: Fortinet
KB 424308)."""

from __future__ import annotations

import re

from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.fortinet import FortiSession

# (first affected, last affected) in the 7.4 branch, from the CVE records Fortinet published.
ADVISORIES = {
    "CVE-2025-22252": ((7, 4, 4), (7, 4, 6)),
    "CVE-2025-22251": ((7, 4, 0), (7, 4, 5)),
}


def _fortigate() -> tuple[DeviceState, FortiSession]:
    device = DeviceState(EmulatedDevice(name="fgt", platform="fortinet"))
    return device, FortiSession(device)


def _release(text: str, pattern: str) -> tuple[int, ...]:
    found = re.search(pattern, text)
    assert found is not None, text
    return tuple(int(part) for part in found.group(1).split("."))


def test_the_emulated_release_is_outside_every_advisory_range() -> None:
    device, session = _fortigate()
    status = session.handle("get system status").output
    shown = _release(status, r"Version: FortiGate-VM64 v(\d+\.\d+\.\d+),build")
    header = _release(device.running_text(), r"#config-version=FGVM64-(\d+\.\d+\.\d+)-FW-")
    assert shown == header == (7, 4, 7)
    affected = [cve for cve, (first, last) in ADVISORIES.items() if first <= shown <= last]
    assert affected == []


def test_an_administrator_password_is_shown_as_the_release_stores_it() -> None:
    device, session = _fortigate()
    for line in ("config system admin", 'edit "netadmin"', "set password Lab.Admin_Pw1", "next", "end"):
        assert "Command fail" not in session.handle(line).output
    shown = device.running_text()
    assert "Lab.Admin_Pw1" not in shown
    assert re.search(r'edit "netadmin"\n(?:.*\n)*?\s+set password ENC SH2[A-Za-z0-9+/]+=*\n', shown), shown
