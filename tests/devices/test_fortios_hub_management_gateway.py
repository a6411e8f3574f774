"""A FortiOS hub's management port behind a management gateway (`sites.hq.hubs[i].management_gateway`,
`HubIntent.management_gateway`). The port is dedicated to management, with a routing table of its
own that held the management LAN alone: a management host in another management subnet (a jump
host, the NMS behind HQ's management router) got no SSH or SNMP answer from the management
address, and the inventory refused the field on a FortiOS hub. Now the hub names the router as
the dedicated management port's default gateway, in that port's own table only (Fortinet KB
193699, "FortiGate dedicated-mgmt feature, or Out-of-band Management": `config system
dedicated-mgmt`, `set interface`, `set default-gateway`; the block exists from FortiOS 6.0.0 to
8.0.0, Fortinet's `fortios_system_dedicated_mgmt` schema), and a push puts it on the unit once:
a second push finds nothing to change."""

from __future__ import annotations

from pathlib import Path

from testsupport.emulator_push import fortios_holding, send_to_fortios
from testsupport.rendering import edited_sample_chain, on_platform

from storestack.devices.configdiff import compute_diff
from storestack.devices.render import render_hub
from storestack.devices.secret_ledger import HELD_AS_SENT
from storestack.inventory import InventoryError, load_fleet
from storestack.inventory.fleet import Fleet

HUB = "hq-hub1"
GATEWAY = "10.0.250.1"
REMOTE = "10.0.240.0/24"  # a management range behind the gateway
HUB_LINES = "        platform: frr\n        management_address: 10.0.250.11\n"


def _chain(tmp_path: Path, platform: str = "frr") -> Path:
    lines = HUB_LINES.replace("frr", platform)
    root = edited_sample_chain(tmp_path, HUB_LINES, f"{lines}        management_gateway: {GATEWAY}\n")
    spec = root / "fleet.yaml"
    spec.write_text(spec.read_text().replace("    - 10.0.250.0/24\n", f"    - 10.0.250.0/24\n    - {REMOTE}\n", 1))
    return root


def _hub_text(fleet: Fleet) -> str:
    return render_hub(on_platform(fleet, "fortinet"), HUB).text


def _block(text: str, header: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(header)
    return lines[start : lines.index("end", start) + 1]


def test_the_hub_names_the_gateway_on_its_dedicated_management_port(tmp_path: Path) -> None:
    text = _hub_text(load_fleet(_chain(tmp_path)))
    assert _block(text, "config system dedicated-mgmt") == [
        "config system dedicated-mgmt",
        "    set status enable",
        '    set interface "mgmt"',
        f"    set default-gateway {GATEWAY}",
        "end",
    ]
    # after the port is made (the block names it), and never a route of the forwarding table
    assert text.index('    edit "mgmt"') < text.index("config system dedicated-mgmt")
    assert GATEWAY not in "\n".join(_block(text, "config router static"))


def test_without_a_gateway_the_port_has_no_dedicated_management_block(fleet: Fleet) -> None:
    assert "config system dedicated-mgmt" not in _hub_text(fleet)


def test_the_inventory_takes_a_gateway_on_a_fortios_hub(tmp_path: Path) -> None:
    try:
        load_fleet(_chain(tmp_path, "fortinet"))
    except InventoryError as error:  # the sample's DHCP stores, which a FortiOS hub refuses
        assert "management_gateway" not in str(error)


def test_a_push_puts_the_gateway_on_the_unit_once(tmp_path: Path) -> None:
    text = _hub_text(load_fleet(_chain(tmp_path)))
    device, _ = fortios_holding(text)
    shown = device.running_text()
    assert f"set default-gateway {GATEWAY}" in shown
    assert compute_diff(shown, text, "fortinet", held=HELD_AS_SENT).in_sync


def test_a_gateway_dropped_from_the_inventory_leaves_the_unit(tmp_path: Path, fleet: Fleet) -> None:
    """The block is rendered only with a gateway: a push to a unit holding one unsets each of its
    settings (the block was left as it was, and every later drift check found it again)."""
    device, session = fortios_holding(_hub_text(load_fleet(_chain(tmp_path))))
    without = _hub_text(fleet)
    remediation = compute_diff(device.running_text(), without, "fortinet", held=HELD_AS_SENT).remediation
    send_to_fortios(session, remediation)
    assert "set default-gateway" not in device.running_text()
    assert compute_diff(device.running_text(), without, "fortinet", held=HELD_AS_SENT).in_sync
