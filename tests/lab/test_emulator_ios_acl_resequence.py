"""On the IOS-XE emulator, a push that puts a new tunnel's BGP entry into a store's OVERLAY-TO-SELF
(an ACL of permits alone) goes through as the remediation sends it: the new entry at a free
number between the held ones, then `ip access-list resequence` numbers the ACL as intended. The
device then holds the intended ACL (no ACL line left to send), and the rollback brings back the
ACL the push started from. The management ranges' SSH entry is held at every line."""

from __future__ import annotations

import re
from pathlib import Path

from storestack.devices.configdiff import compute_diff
from storestack.devices.drivers import driver_for
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.cisco_xe import IosSession

GOLDEN = Path(__file__).parents[1] / "devices" / "golden" / "cisco_xe" / "dual-wan.cfg"
ACL = "OVERLAY-TO-SELF"
SSH = "permit tcp 10.0.250.0 0.0.0.255 any eq 22"


def _acl(running: str) -> list[str]:
    block = re.search(rf"^ip access-list extended {ACL}\n((?: .*\n)*)", running, re.MULTILINE)
    assert block is not None
    return [line.strip() for line in block.group(1).splitlines()]


def _with_new_tunnel(config: str) -> str:
    """`config` with one more tunnel's BGP entry after the tunnels' ones, numbered as a render
    numbers it (10 apart, the later entries one step up)."""
    entries = [entry.split(" ", 1)[1] for entry in _acl(config)]
    last_bgp = max(n for n, entry in enumerate(entries) if entry.endswith(" eq bgp"))
    entries.insert(last_bgp + 1, "permit tcp host 100.64.0.40 host 100.64.0.41 eq bgp")
    block = "".join(f" {10 * (n + 1)} {entry}\n" for n, entry in enumerate(entries))
    return re.sub(rf"^(ip access-list extended {ACL}\n)(?: .*\n)*", lambda m: m.group(1) + block, config, flags=re.MULTILINE)


def _push(device: DeviceState, session: IosSession, lines: tuple[str, ...]) -> list[list[str]]:
    states = []
    for line in lines:
        assert session.handle(line).output == "", line
        states.append(_acl(device.running_text()))
    return states


def test_a_new_tunnel_entry_goes_in_and_the_acl_is_renumbered_in_place() -> None:
    device = DeviceState(EmulatedDevice(name="nw-0002-edge1", platform="cisco_xe", running_config=GOLDEN.read_text()))
    session = IosSession(device)
    session.handle("configure terminal")
    running = device.running_text()
    intended = _with_new_tunnel(GOLDEN.read_text())
    diff = compute_diff(running, intended, "cisco_xe")
    assert f"ip access-list resequence {ACL} 10 10" in diff.remediation
    states = _push(device, session, diff.remediation)
    assert all(any(entry.endswith(SSH) for entry in state) for state in states)
    assert _acl(device.running_text()) == _acl(intended)
    assert [line for line in compute_diff(device.running_text(), intended, "cisco_xe").remediation if ACL in line] == []
    back = _push(device, session, diff.rollback)
    assert all(any(entry.endswith(SSH) for entry in state) for state in back)
    assert _acl(device.running_text()) == _acl(running)


def _session() -> tuple[DeviceState, IosSession]:
    device = DeviceState(EmulatedDevice(name="nw-0002-edge1", platform="cisco_xe", running_config=GOLDEN.read_text()))
    session = IosSession(device)
    session.handle("configure terminal")
    session.handle(f"ip access-list extended {ACL}")
    return device, session


def test_an_entry_typed_with_a_free_number_is_matched_at_its_place_at_once() -> None:
    """IOS places an entry by its number as it is typed (Sequence Numbering Behavior): an entry
    put between 10 and 20 as 15 is listed, and matched, between them before any resequence."""
    device, session = _session()
    held = _acl(device.running_text())
    first, second = held[0].split(" ", 1)[1], held[1].split(" ", 1)[1]
    assert session.handle(" 15 permit tcp host 100.64.0.40 host 100.64.0.41 eq bgp").output == ""
    assert _acl(device.running_text())[:3] == [f"10 {first}", "15 permit tcp host 100.64.0.40 host 100.64.0.41 eq bgp", f"20 {second}"]


def test_a_number_already_taken_is_refused_and_a_held_rule_is_not_added_twice() -> None:
    """"If the user enters a sequence number that is already present ... Duplicate sequence
    number"; "If the user enters an entry that matches an already existing entry (except for
    the sequence number), then no changes are made"."""
    device, session = _session()
    held = _acl(device.running_text())
    refused = session.handle(" 10 permit tcp host 100.64.0.40 host 100.64.0.41 eq bgp").output
    assert refused.strip() == "% Duplicate sequence number."
    # The push stops there rather than go on without the entry.
    assert re.search(driver_for("cisco_xe").error_pattern, refused)
    assert session.handle(f" 15 {held[0].split(' ', 1)[1]}").output == ""
    assert _acl(device.running_text()) == held
