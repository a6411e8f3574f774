"""A FortiGate's WAN port whose link the inventory removed is emptied, not left as it was.

nw-0002 going LTE-only (its fibre link wan1 cancelled, lte1 stated on the modem's port wan2): a
FortiOS port is never deleted (`keep_entries`), and the push used to leave `wan1` whole, the
cancelled circuit's public address on it, `role wan`, `allowaccess ping` and the old link's
description, answering ping from the internet; drift read it as in sync. Now the port storestack
configured for a link (its description names the link, `PlatformProfile.port_description`) and no
longer names is emptied, every setting but its VDOM unset to its default (Fortinet Community,
"Technical Tip: Useful multi-option values CLI commands", ta-p/197205: `unset` resets a field to
its default value, and clears a list such as `allowaccess`), after every line that names it (its
tunnels' phase 1s, the routes over it) is gone."""

from __future__ import annotations

from pathlib import Path

from testsupport.emulator_push import fortios_holding, send_to_fortios
from testsupport.rendering import lte_only_configs, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import Fleet


def _entry(config: str, name: str) -> list[str]:
    """The lines of `config system interface`'s entry `name` (between its `edit` and `next`)."""
    lines = config.splitlines()
    start = lines.index("config system interface")
    at = next(i for i in range(start, len(lines)) if lines[i].strip() == f'edit "{name}"')
    body: list[str] = []
    for line in lines[at + 1 :]:
        if line.strip() == "next":
            return body
        body.append(line.strip())
    raise AssertionError(name)


def _emptying_at(remediation: tuple[str, ...], port: str) -> int:
    """Where the remediation opens `port`'s entry in `config system interface` to unset its description."""
    table = ""
    for i, line in enumerate(remediation):
        if not line.startswith(" "):
            table = line
        elif table == "config system interface" and line.strip() == f'edit "{port}"':
            following = remediation[i + 1 : remediation.index("    next", i)] if "    next" in remediation[i:] else ()
            if "    unset description" in following:
                return i
    raise AssertionError(f"{port} is not emptied")


def test_the_cancelled_links_port_is_emptied_shut_and_read_back_in_sync(tmp_path: Path) -> None:
    before, after = lte_only_configs(tmp_path, "fortinet", port=1)
    device, session = fortios_holding(before)
    assert "set ip 198.51.100.6 255.255.255.252" in _entry(device.running_text(), "wan1")
    diff = compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT)
    send_to_fortios(session, diff.remediation)
    running = device.running_text()
    # No address, no management access, no role, no description of the cancelled link.
    assert [line for line in _entry(running, "wan1") if not line.startswith("set snmp-index")] == ['set vdom "root"']
    # The modem's port keeps its link.
    assert 'set description "lte1 lte KPN Mobile 100M primary"' in _entry(running, "wan2")
    # Pushed twice: nothing to send.
    assert compute_diff(running, after, "fortinet", held=HELD_AS_SENT).remediation == ()
    # Rolled back, the port holds the fibre link again.
    send_to_fortios(session, diff.rollback)
    assert compute_diff(device.running_text(), before, "fortinet", held=HELD_AS_SENT).in_sync


def test_the_port_is_emptied_after_everything_that_names_it_is_gone(tmp_path: Path) -> None:
    before, after = lte_only_configs(tmp_path, "fortinet", port=1)
    remediation = compute_diff(before, after, "fortinet").remediation
    emptied = _emptying_at(remediation, "wan1")
    # The phase 1s over wan1 (which make its tunnels' interfaces) are deleted before it.
    deleted = [i for i, line in enumerate(remediation) if line.strip() in ('delete "hq-hub1-wan1"', 'delete "hq-hub2-wan1"')]
    assert deleted and max(deleted) < emptied
    # The underlay routes over wan1 (its port's block, `fortinet.underlay_route_id`) are deleted
    # before it; the LTE link's over wan2 stay as they were.
    deleted = [i for i, line in enumerate(remediation) if line.strip() in ("delete 2000", "delete 2001")]
    assert len(deleted) == 2 and max(deleted) < emptied
    assert not any(line.strip() in ("edit 2100", "edit 2101") for line in remediation)
    # Its settings go last-set first (`mtu` before `mtu-override`, the one it depends on).
    assert remediation[emptied + 1 : emptied + 8] == tuple(
        f"    unset {name}"
        for name in (
            "outbandwidth", "estimated-downstream-bandwidth", "estimated-upstream-bandwidth", "description", "role",
            "allowaccess", "ip",
        )
    )


def test_drift_reports_a_port_left_holding_a_removed_link(tmp_path: Path) -> None:
    """A unit the old push left with the fibre's port whole differs from the intended config."""
    before, after = lte_only_configs(tmp_path, "fortinet", port=1)
    wan1 = "\n".join(f"        {line}" for line in _entry(before, "wan1"))
    left = after.replace("config system interface\n", f'config system interface\n    edit "wan1"\n{wan1}\n    next\n', 1)
    diff = compute_diff(left, after, "fortinet")
    assert not diff.in_sync
    sent = [line.strip() for line in diff.remediation]
    assert {"unset ip", "unset allowaccess", "unset role", "unset description"} <= set(sent)


def test_a_port_storestack_never_configured_is_left_alone(tmp_path: Path) -> None:
    """The unit's other ports (factory `port1`, with its own access) are not storestack's: kept."""
    _, after = lte_only_configs(tmp_path, "fortinet", port=1)
    device, _ = fortios_holding(after)
    assert "set allowaccess ping https ssh" in _entry(device.running_text(), "port1")
    assert compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT).in_sync


def test_a_dhcp_port_left_by_a_moved_link_unsets_each_setting_before_the_one_it_depends_on(tmp_path: Path) -> None:
    """lte1 moved to WAN port 0 (stated): the modem's old port wan2, a DHCP port with its own MTU,
    is emptied, `mtu` before `mtu-override` and the DHCP settings before `mode`."""
    before, after = lte_only_configs(tmp_path, "fortinet", port=0)
    device, session = fortios_holding(before)
    diff = compute_diff(device.running_text(), after, "fortinet", held=HELD_AS_SENT)
    at = _emptying_at(diff.remediation, "wan2")
    sent = [line.strip() for line in diff.remediation[at + 1 : diff.remediation.index("    next", at)]]
    assert sent.index("unset mtu") < sent.index("unset mtu-override")
    assert sent.index("unset defaultgw") < sent.index("unset mode")
    assert sent.index("unset dns-server-override") < sent.index("unset mode")
    send_to_fortios(session, diff.remediation)
    running = device.running_text()
    assert [line for line in _entry(running, "wan2") if not line.startswith("set snmp-index")] == ['set vdom "root"']
    assert 'set description "lte1 lte KPN Mobile 100M primary"' in _entry(running, "wan1")
    assert compute_diff(running, after, "fortinet", held=HELD_AS_SENT).remediation == ()


def test_a_hub_port_the_inventory_moved_its_management_to_is_not_emptied(fleet: Fleet) -> None:
    """A hub's out-of-band management port is where the push connects: one the inventory no
    longer names (its `management_port` moved from port3 to port4) is left as it is, never
    emptied under the push's own session."""
    hub = render_hub(on_platform(fleet, "fortinet"), "hq-hub1").text
    assert '    edit "mgmt"\n' in hub
    running, intended = hub.replace('edit "mgmt"', 'edit "port3"'), hub.replace('edit "mgmt"', 'edit "port4"')
    remediation = compute_diff(running, intended, "fortinet").remediation
    table, port3 = "", []
    for line in remediation:
        if not line.startswith(" "):
            table = line
        elif table == "config system interface" and line.strip() == 'edit "port3"':
            port3.append(line)
    assert port3 == []
