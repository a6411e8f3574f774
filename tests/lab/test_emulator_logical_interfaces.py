"""A store's logical interfaces the new config drops are deleted whole on the emulated IOS-XE
router and VRP AR, line by line as a push sends them, and the rollback builds them again.

A segment removed from a store (its sub-interface) and a store moved from dual-WAN to LTE-only
(its fibre link's tunnels): before, each was emptied line by line and stayed behind, empty (the
push never in sync again). A physical port cannot be deleted: the emulators refuse it, as the
devices do, so a push that deleted one would stop."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testsupport.rendering import NW_0002_WAN1, edited_sample_chain, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.devices.secret_ledger import HeldSecrets
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab.emulator.cli import CliSession
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.cisco_xe import IosSession
from storestack.lab.emulator.profiles.huawei_vrp import VrpSession

STORE = "nw-0002"
CCTV = "  cctv: {vlan: 30}\n"
HELD = HeldSecrets(everything=True)
CONFIGURE = {"cisco_xe": ("configure terminal", "end"), "huawei_vrp": ("system-view", "return")}
DELETE = {"cisco_xe": "no interface ", "huawei_vrp": "undo interface "}
PORT = {"cisco_xe": "GigabitEthernet0/0/0", "huawei_vrp": "GigabitEthernet0/0/1"}


def _render(chain: Path, platform: str) -> str:
    ((config,),) = (render_store(on_platform(load_fleet(chain), platform, "frr"), STORE),)
    return config.text


def _device(platform: str, config: str) -> tuple[DeviceState, CliSession]:
    validation = {"validation": "immediate"} if platform == "huawei_vrp" else {}
    device = DeviceState(EmulatedDevice(name="edge", platform=platform, running_config=config, **validation))
    session: CliSession = IosSession(device) if platform == "cisco_xe" else VrpSession(device)
    return device, session


def _refused(session: CliSession, platform: str, lines: tuple[str, ...]) -> list[str]:
    enter, leave = CONFIGURE[platform]
    session.handle(enter)
    answers = [(line, session.handle(line).output) for line in lines]
    refused = [line.strip() for line, output in answers if "% " in output or "Error:" in output]
    session.handle(leave)
    return refused


def _interfaces(running: str) -> set[str]:
    return {line.split()[1] for line in running.splitlines() if line.startswith("interface ")}


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp"])
@pytest.mark.parametrize("edit", ["segment removed", "lte only"])
def test_dropped_logical_interfaces_are_deleted_and_rolled_back(tmp_path: Path, platform: str, edit: str) -> None:
    before = _render(sample_chain_path(), platform)
    old, file = (CCTV, f"stores/{STORE}.yaml") if edit == "segment removed" else (NW_0002_WAN1, f"stores/{STORE}.yaml")
    after = _render(edited_sample_chain(tmp_path, old, "", file), platform)
    device, session = _device(platform, before)
    start = device.running_text()
    dropped = _interfaces(start) - _interfaces(after)
    ports = {name for name in dropped if re.fullmatch(r"GigabitEthernet[\d/]+", name)}
    logical = dropped - ports
    if edit == "segment removed":
        assert logical == ({"GigabitEthernet0/1/0.30"} if platform == "cisco_xe" else {"GigabitEthernet0/0/0.30"})
    else:
        # The fibre link's port is emptied, its tunnels deleted.
        assert len(ports) == 1 and len(logical) >= 2 and all(name.startswith("Tunnel") for name in logical)
    diff = compute_diff(start, after, platform)
    assert _refused(session, platform, diff.remediation) == []
    # Every dropped logical interface is gone whole: none left behind, empty; a port stays.
    assert _interfaces(device.running_text()) == _interfaces(after) | ports
    # Nothing left to do: a second push sends nothing, the emptied port included (IOS-XE shows
    # the defaults the emptying restores, `ip redirects` and `ip proxy-arp`, by no line).
    assert compute_diff(device.running_text(), after, platform, held=HELD).remediation == ()
    assert {line.removeprefix(DELETE[platform]) for line in diff.remediation if line.startswith(DELETE[platform])} == logical
    # The rollback builds each again as it was.
    assert _refused(session, platform, diff.rollback) == []
    assert _interfaces(device.running_text()) == _interfaces(start)
    assert compute_diff(device.running_text(), start, platform, held=HELD).remediation == ()


@pytest.mark.parametrize("platform", ["cisco_xe", "huawei_vrp"])
def test_a_physical_port_cannot_be_deleted(platform: str) -> None:
    device, session = _device(platform, _render(sample_chain_path(), platform))
    assert _refused(session, platform, (DELETE[platform] + PORT[platform],)) == [DELETE[platform] + PORT[platform]]
    assert PORT[platform] in _interfaces(device.running_text())


def test_a_default_given_back_is_shown_by_no_line() -> None:
    """`ip redirects`, `ip proxy-arp` and `bfd echo` are IOS-XE's defaults: typed after their
    `no` form, the running config shows neither (as `show running-config` without `all`)."""
    port = "interface GigabitEthernet0/0/0\n no ip redirects\n no ip proxy-arp\n no bfd echo\n ip mtu 1400\n!\n"
    device, session = _device("cisco_xe", port)
    lines = ("interface GigabitEthernet0/0/0", " ip redirects", " ip proxy-arp", " bfd echo", " exit")
    assert _refused(session, "cisco_xe", lines) == []
    shown = re.search(r"(?m)^interface GigabitEthernet0/0/0\n((?: .*\n)*)", device.running_text())
    assert shown is not None and shown[1].split("\n")[:-1] == [" ip mtu 1400"]
