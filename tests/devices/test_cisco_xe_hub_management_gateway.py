"""An IOS-XE hub's management port behind a management gateway (`sites.hq.hubs[i].management_gateway`,
`HubIntent.management_gateway`). The inventory refused the field on an IOS-XE hub, so a management
host in another management subnet (a jump host, the NMS behind HQ's management router) had no
way to reach the hub's management address: GigabitEthernet0 sits in its own VRF, Mgmt-intf, whose
table holds the management LAN alone, and the router does not forward between that VRF and the
others ("Using the Management Ethernet Interface", Cisco ASR 1000 Series Aggregation Services
Routers Software Configuration Guide; "Gigabit Ethernet Management Interface VRF" in the Catalyst
8000 software configuration guides). Now the hub routes the management ranges outside the LAN
through the gateway in that VRF alone, the documented way ("Setting a Default Route in the
Management Ethernet Interface VRF": `ip route vrf Mgmt-intf <prefix> <mask> <next-hop>`), never
in the global table; a push of it is idempotent and removes only its own lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from testsupport.rendering import edited_sample_chain

from storestack.devices.configdiff import compute_diff
from storestack.devices.lint.run import lint_fleet
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet

HUB = "hq-hub1"
ADDRESS = "10.0.250.11"  # the sample chain's hq-hub1 management_address, in 10.0.250.0/24
GATEWAY = "10.0.250.1"
REMOTE = "10.0.240.0/24"  # a management range behind the gateway
HUB_LINES = "        platform: frr\n        management_address: 10.0.250.11\n"
IOS_HUB = HUB_LINES.replace("frr", "cisco_xe")
ROUTE = "ip route vrf Mgmt-intf 10.0.240.0 255.255.255.0 10.0.250.1"


def _chain(tmp_path: Path, gateway: str | None = GATEWAY) -> Path:
    hub = IOS_HUB + (f"        management_gateway: {gateway}\n" if gateway else "")
    root = edited_sample_chain(tmp_path, HUB_LINES, hub)
    spec = root / "fleet.yaml"
    spec.write_text(spec.read_text().replace("    - 10.0.250.0/24\n", f"    - 10.0.250.0/24\n    - {REMOTE}\n", 1))
    return root


@pytest.fixture(scope="module")
def gateway_fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return load_fleet(_chain(tmp_path_factory.mktemp("gw")))


@pytest.fixture(scope="module")
def plain_fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return load_fleet(_chain(tmp_path_factory.mktemp("plain"), gateway=None))


def _text(fleet: Fleet) -> str:
    config = render_hub(fleet, HUB)
    assert config.platform == "cisco_xe"
    return config.text


def test_the_hub_routes_the_management_ranges_outside_the_lan_through_the_gateway_in_mgmt_intf(
    gateway_fleet: Fleet,
) -> None:
    lines = _text(gateway_fleet).splitlines()
    assert ROUTE in lines
    # After the VRF and the port that reaches the gateway: the next hop is on-link in Mgmt-intf.
    assert lines.index("vrf definition Mgmt-intf") < lines.index("interface GigabitEthernet0") < lines.index(ROUTE)
    # Only the ranges outside the LAN, and never in the global table (the DC side's routing).
    assert [line for line in lines if GATEWAY in line.split()] == [ROUTE]
    assert not [line for line in lines if line.startswith("ip route 10.0.240.0 ")]


def test_without_a_gateway_mgmt_intf_holds_the_lan_alone(plain_fleet: Fleet) -> None:
    assert not [line for line in _text(plain_fleet).splitlines() if line.startswith("ip route vrf Mgmt-intf")]


def test_the_push_adds_the_route_alone_and_takes_it_away_alone(gateway_fleet: Fleet, plain_fleet: Fleet) -> None:
    with_gateway, without = _text(gateway_fleet), _text(plain_fleet)
    assert compute_diff(with_gateway, with_gateway, "cisco_xe").in_sync
    assert compute_diff(without, with_gateway, "cisco_xe").remediation == (ROUTE,)
    assert compute_diff(with_gateway, without, "cisco_xe").remediation == (f"no {ROUTE}",)


def test_lint_is_clean_on_the_hub_with_a_gateway(gateway_fleet: Fleet) -> None:
    assert lint_fleet(gateway_fleet).findings == []
