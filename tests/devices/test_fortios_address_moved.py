"""An inside address that moves from one FortiOS tunnel interface to another within a push is
given up by the first before the second takes it.

FortiOS refuses an interface address whose subnet another interface's address overlaps, unless
`config system settings` `set allow-subnet-overlap enable` (default disable, FortiOS 7.2 CLI
Reference "config system settings"; "IP addresses of all FortiGate interfaces cannot overlap",
FortiGate Version 4.0 Administration Guide), tunnel interfaces included: two IPsec tunnel
interfaces holding one address need `allow-subnet-overlap` (Fortinet's Azure solutions,
40net-cloud/fortinet-azure-solutions, SD-WAN "Encrypted ExpressRoute", "BGP Configuration").
A hub added (`three_hub_chain`) moves nw-0002's backup from hq-hub1 to hq-hub3: the push gave
hq-hub3-wan1 100.64.255.251 and hq-hub3-lte1 100.64.0.7 while hq-hub1-wan1 and hq-hub1-lte1
held them until their phase 1s were deleted at the end of the push; the unit refused both lines
and the new tunnels came up without their inside addresses. The old tunnels now give the
addresses up first (`unset ip`); the rollback likewise."""

from __future__ import annotations

import re
from pathlib import Path

from testsupport.emulator_push import fortios_holding, send_to_fortios
from testsupport.rendering import on_platform, three_hub_chain

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet, load_fleet
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.fortinet import FortiSession


def _hub_added(tmp_path: Path, fleet: Fleet) -> tuple[str, str]:
    ((before,),) = [render_store(on_platform(fleet, "fortinet", "frr"), "nw-0002")]
    ((after,),) = [render_store(on_platform(load_fleet(three_hub_chain(tmp_path)), "fortinet", "frr"), "nw-0002")]
    return before.text, after.text


def _addresses(running: str) -> dict[str, str]:
    """Each interface with the address it holds."""
    section = running.split("config system interface\n", 1)[1].split("\nend\n", 1)[0]
    blocks = re.findall(r'(?m)^    edit "([^"]+)"\n((?:        .*\n)*)', section + "\n")
    return {name: found[0] for name, body in blocks if (found := re.findall(r"(?m)^        set ip (.*)$", body))}


def test_an_address_another_interface_holds_is_refused_until_it_gives_it_up() -> None:
    session = FortiSession(DeviceState(EmulatedDevice(name="fgt", platform="fortinet")))
    lines = [
        "config vpn ipsec phase1-interface",
        'edit "old"',
        'set interface "port1"',
        "next",
        'edit "new"',
        'set interface "port2"',
        "next",
        "end",
    ]
    send_to_fortios(session, lines)
    session.handle("config system interface")
    session.handle('edit "old"')
    assert session.handle("set ip 100.64.0.7 255.255.255.255").output == ""
    session.handle("next")
    session.handle('edit "new"')
    refused = session.handle("set ip 100.64.0.7 255.255.255.255").output
    assert refused.startswith("Subnets overlap between 'new' with primary IP of 'old'") and "Command fail" in refused
    session.handle("next")
    session.handle('edit "old"')
    session.handle("unset ip")
    session.handle("next")
    session.handle('edit "new"')
    assert session.handle("set ip 100.64.0.7 255.255.255.255").output == ""


def test_allow_subnet_overlap_lets_two_interfaces_hold_one_subnet() -> None:
    session = FortiSession(DeviceState(EmulatedDevice(name="fgt", platform="fortinet")))
    send_to_fortios(session, ["config system settings", "set allow-subnet-overlap enable", "end"])
    send_to_fortios(session, ["config vpn ipsec phase1-interface", 'edit "a"', 'set interface "port1"', "next"])
    send_to_fortios(session, ['edit "b"', 'set interface "port2"', "next", "end", "config system interface"])
    send_to_fortios(session, ['edit "a"', "set ip 100.64.0.7 255.255.255.255", "next"])
    send_to_fortios(session, ['edit "b"', "set ip 100.64.0.7 255.255.255.255", "next", "end"])


def test_a_store_whose_backup_hub_changes_frees_each_tunnel_address_before_the_new_tunnel_takes_it(
    tmp_path: Path, fleet: Fleet
) -> None:
    before, after = _hub_added(tmp_path, fleet)
    device, session = fortios_holding(before)
    start = device.running_text()
    assert _addresses(start)["hq-hub1-wan1"] == "100.64.255.251 255.255.255.255"
    diff = compute_diff(start, after, "fortinet", held=HELD_AS_SENT)
    # Each line taken: the emulator refuses an address another interface holds.
    send_to_fortios(session, diff.remediation)
    running = device.running_text()
    assert _addresses(running) == _addresses(after)
    assert _addresses(running)["hq-hub3-wan1"] == "100.64.255.251 255.255.255.255"
    assert _addresses(running)["hq-hub3-lte1"] == "100.64.0.7 255.255.255.255"
    assert compute_diff(running, after, "fortinet", held=HELD_AS_SENT).remediation == ()
    # Rolled back, the tunnels to hq-hub1 take their addresses back from those to hq-hub3.
    send_to_fortios(session, diff.rollback)
    assert _addresses(device.running_text()) == _addresses(start)
    assert compute_diff(device.running_text(), before, "fortinet", held=HELD_AS_SENT).in_sync
