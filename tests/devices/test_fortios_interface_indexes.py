"""A FortiGate's configuration gives every interface an SNMP index of its own (`set snmp-index N`)
and a port its type (`set type physical`): "Each configured interface inside ... System ->
Interface statement has an SNMP index" (Fortinet Community, "Technical Tip: FortiOS SNMP and RMON
indexes and their relations", ta-p/342204), and a unit's interfaces read `set type physical` /
`set snmp-index 5` (FortiOS 7.2 New Features, "Enabling the INDEX extension"). The templates set
neither: the unit numbers its interfaces, and a port is a port. Read back as pushed, a unit that
shows them is in sync, and no push unsets them (before, every push sent `unset type` and `unset
snmp-index` to each port and tunnel it configures, and drift never settled)."""

from __future__ import annotations

import re

from testsupport.emulator_push import send_to_fortios
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub, render_store
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.fortinet import FortiSession


def _as_the_unit_shows(text: str) -> str:
    """`text` with what a FortiGate adds to each `config system interface` entry: its SNMP index,
    and on a port (an entry of no other type, no VLAN) `set type physical`."""
    out: list[str] = []
    index = 0
    in_interfaces = False
    entry: list[str] = []
    for line in text.splitlines(keepends=True):
        if not line.startswith(" "):
            in_interfaces = line.strip() == "config system interface"
        if in_interfaces and line.startswith("    edit "):
            entry = [line]
            continue
        if in_interfaces and entry:
            if line.strip() != "next":
                entry.append(line)
                continue
            index += 1
            body = "".join(entry[1:])
            port = "set type " not in body and "set vlanid " not in body
            out += [entry[0], *entry[1:]]
            out += ["        set type physical\n"] if port else []
            out += [f"        set snmp-index {index}\n", line]
            entry = []
            continue
        out.append(line)
    return "".join(out)


def _touching_the_units_own(lines: tuple[str, ...]) -> list[str]:
    """The lines that set or unset an SNMP index, or unset an interface's type."""
    found: list[str] = []
    block = ""
    for line in lines:
        if not line.startswith(" "):
            block = line.strip()
        if "snmp-index" in line or (block == "config system interface" and line.strip() == "unset type"):
            found.append(line)
    return found


def _configs(fleet: Fleet) -> list[tuple[str, str]]:
    fortios = on_platform(fleet, "fortinet")
    stores = [(c.name, c.text) for shape in SHAPES.values() for c in render_store(fortios, shape)]
    return [("hq-hub1", render_hub(fortios, "hq-hub1").text), *stores]


def test_a_unit_showing_its_interface_indexes_and_port_types_is_in_sync(fleet: Fleet) -> None:
    for name, text in _configs(fleet):
        shown = _as_the_unit_shows(text)
        assert shown.count("set snmp-index") >= 5 and "set type physical" in shown, name
        diff = compute_diff(shown, text, "fortinet")
        assert diff.in_sync, (name, diff.remediation[:12])
        assert not _touching_the_units_own(diff.remediation), name


def test_a_push_leaves_the_units_interface_indexes_and_a_second_push_sends_nothing(fleet: Fleet) -> None:
    """The emulated unit numbers its ports and every interface a push makes, as a FortiGate does;
    the push keeps them, and pushing the same config again finds nothing to send."""
    intended = render_hub(on_platform(fleet, "fortinet"), "hq-hub1").text
    device = DeviceState(EmulatedDevice(name="hq-hub1", platform="fortinet"))
    session = FortiSession(device)
    factory = device.running_text()
    assert 'edit "port1"' in factory and "set type physical" in factory and "set snmp-index 1" in factory

    first = compute_diff(factory, intended, "fortinet")
    assert not _touching_the_units_own(first.remediation)
    send_to_fortios(session, first.remediation)
    held = device.running_text()
    indexes = re.findall(r"set snmp-index (\d+)", held)
    assert len(indexes) == len(set(indexes)) > 20  # one each, the tunnels' too
    assert compute_diff(held, intended, "fortinet", held=HELD_AS_SENT).in_sync
    # The way back leaves the unit's indexes alone as well.
    assert not _touching_the_units_own(first.rollback)
