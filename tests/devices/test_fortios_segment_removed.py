"""A FortiGate store's VLAN interface of a segment the inventory removed is deleted, not kept.

nw-0002 drops its CCTV segment (`cctv: {vlan: 30}`): every entry of `config system interface` the
intended config does not name was kept (`keep_entries`, there for the ports FortiOS never
deletes), so the `cctv` VLAN interface stayed on the LAN trunk with VLAN 30, its gateway address
and `allowaccess ping`. FortiOS takes no two VLAN interfaces of one VLAN ID on one physical
interface, nor two interfaces with overlapping addresses, VLAN interfaces included (FortiGate
Version 4.0 Administration Guide, "VLANs in NAT/Route mode": "two VLAN subinterfaces added to the same
physical interface cannot have the same VLAN ID", "IP addresses of all FortiGate interfaces
cannot overlap ... This rule applies to both physical interfaces and to VLAN subinterfaces"):
the store's VLAN 30 given to another segment later could never be configured. A VLAN interface
the templates made for a segment (its description `<kind> segment vlan N`) is storestack's: the
push deletes it once nothing names it."""

from __future__ import annotations

from pathlib import Path

from testsupport.emulator_push import fortios_holding, send_to_fortios
from testsupport.rendering import edited_sample_chain, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_store
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet, load_fleet


def _without_cctv(tmp_path: Path, fleet: Fleet) -> tuple[str, str]:
    chain = edited_sample_chain(tmp_path, "  cctv: {vlan: 30}\n", "", "stores/nw-0002.yaml")
    ((before,),) = [render_store(on_platform(fleet, "fortinet", "frr"), "nw-0002")]
    ((after,),) = [render_store(on_platform(load_fleet(chain), "fortinet", "frr"), "nw-0002")]
    return before.text, after.text


def test_a_removed_segments_vlan_interface_is_deleted_once_nothing_names_it(tmp_path: Path, fleet: Fleet) -> None:
    before, after = _without_cctv(tmp_path, fleet)
    device, session = fortios_holding(before)
    assert 'edit "cctv"' in device.running_text()
    diff = compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT)
    # The emulator refuses the deletion of an interface still named (DHCP server, policies).
    send_to_fortios(session, diff.remediation)
    running = device.running_text()
    assert 'edit "cctv"' not in running and "set vlanid 30" not in running
    assert compute_diff(running, after, "fortinet", held=HELD_AS_SENT).remediation == ()
    # Rolled back, the segment is back whole.
    send_to_fortios(session, diff.rollback)
    assert compute_diff(device.running_text(), before, "fortinet", held=HELD_AS_SENT).in_sync


def test_a_vlan_interface_storestack_never_made_is_kept(tmp_path: Path, fleet: Fleet) -> None:
    """One set up by hand (no segment description) is the operator's: left as it is."""
    _, after = _without_cctv(tmp_path, fleet)
    own = '    edit "printers"\n        set vdom "root"\n        set interface "internal"\n        set vlanid 99\n    next\n'
    running = after.replace("config system interface\n", "config system interface\n" + own, 1)
    assert compute_diff(running, after, "fortinet").in_sync
