"""Each kind of invalid inventory is reported with its exact message: file:line field: message.

The cases live in fixtures/invalid/<case>/, laid over the valid fleet in fixtures/base/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from storestack.inventory import load_fleet

CASES: dict[str, list[str]] = {
    "bad-vlan": [
        "stores/sh-0042.yaml:17 lan.pos.vlan: 4097 is not a VLAN id (1-4094)",
        "stores/sh-0042.yaml:18 lan.office.vlan: 0 is not a VLAN id (1-4094)",
    ],
    "bad-cidr": [
        "stores/sh-0003.yaml:13 wan[0].address: '198.51.100.6' needs a prefix length (e.g. 192.0.2.1/30)",
        "stores/sh-0003.yaml:16 lan.pos.subnet: '10.64.200.7/26' is not an IPv4 network in CIDR form"
        " (host bits set; did you mean 10.64.200.0/26?)",
        "stores/sh-0003.yaml:17 lan.office.subnet: '10.64.201.0/33' is not an IPv4 network in CIDR form"
        " (bad prefix length)",
        "stores/sh-0003.yaml:18 lan.cctv.subnet: '10.64.202.0' needs a prefix length (e.g. /24)",
        "stores/sh-0003.yaml:22 appliances[0].management_address: '10.0.250.300' is not an IPv4 address",
    ],
    "missing-and-wrong-type": [
        "stores/sh-0003.yaml:1 city: required field is missing",
        "stores/sh-0003.yaml:10 wan[0].bandwidth_mbps: 'fast' is not a whole number",
        "stores/sh-0003.yaml:14 wan[1].bandwidth_mbps: '100' is not a whole number",
        "stores/sh-0003.yaml:15 wan[1].priority: 5.5 is not a whole number",
        "stores/sh-0003.yaml:17 lan.pos.vlan: '10' is not a whole number",
        "stores/sh-0003.yaml:18 appliances: must be a list",
        "stores/sh-0003.yaml:20 desktops.cashier: -2 is out of range (must be at least 0)",
    ],
    "unknown-keys": [
        "stores/sh-0003.yaml:1 hub: required field is missing",
        "stores/sh-0003.yaml:6 hubb: unknown key 'hubb' (did you mean 'hub'?)",
        "stores/sh-0003.yaml:8 wan[0].bandwidth_mbps: required field is missing",
        "stores/sh-0003.yaml:9 wan[0].kind: 'fibre' is not one of 'fiber', 'broadband', 'lte' or '5g'",
        "stores/sh-0003.yaml:11 wan[0].bandwith_mbps: unknown key 'bandwith_mbps' (did you mean 'bandwidth_mbps'?)",
        "stores/sh-0003.yaml:14 lan.voice: 'voice' is not one of 'pos', 'office', 'cctv', 'guest-wifi' or 'iot'",
        "stores/sh-0003.yaml:17 appliances[0].platform: 'juniper' is not one of"
        " 'frr', 'cisco_xe', 'huawei_vrp' or 'fortinet'",
        "stores/sh-0003.yaml:18 appliances[0].serial_number: unknown key 'serial_number' (did you mean 'serial'?)",
        "stores/sh-0003.yaml:19 colour: unknown key 'colour' (did you mean 'cloud'?)",
    ],
    "duplicate-ids-and-hostnames": [
        "stores/sh-0003.yaml:1 id: store id 'sh-0001' does not match its file name 'sh-0003'",
        "stores/sh-0003.yaml:1 id: store id 'sh-0001' is already used by stores/sh-0001.yaml",
        "stores/sh-0003.yaml:13 wan[0].address: 198.51.100.2 is already used by stores/sh-0001.yaml:14 wan[0].address",
        "stores/sh-0003.yaml:18 appliances[0].hostname: hostname 'sh-0002-edge1' is already used in"
        " stores/sh-0002.yaml",
        "stores/sh-0003.yaml:20 appliances[1].hostname: hostname 'hq-hub1' is already used in fleet.yaml (hub)",
    ],
    "duplicate-hubs": [
        "fleet.yaml:34 sites.hq.hubs[1].hostname: hostname 'hq-hub1' is already used by hub [0]",
        "fleet.yaml:36 sites.hq.hubs[1].management_address: 10.0.250.11 is already used by"
        " sites.hq.hubs[0].management_address",
        "stores/sh-0002.yaml:6 hub: unknown hub 'hq-hub2' (did you mean 'hq-hub1'?)",
    ],
    "overlapping-subnets": [
        "fleet.yaml:11 ip_plan.desktops: 10.64.128.0/17 overlaps ip_plan.stores 10.64.0.0/16",
        "fleet.yaml:13 ip_plan.loopbacks: 10.16.255.0/24 overlaps ip_plan.cloud 10.16.0.0/14",
        "stores/sh-0003.yaml:14 lan.office.subnet: 10.17.0.0/24 is outside ip_plan.stores 10.64.0.0/16",
        "stores/sh-0003.yaml:14 lan.office.subnet: 10.17.0.0/24 overlaps ip_plan.cloud 10.16.0.0/14",
        "stores/sh-0003.yaml:15 lan.cctv.subnet: 10.0.5.0/26 is outside ip_plan.stores 10.64.0.0/16",
        "stores/sh-0003.yaml:15 lan.cctv.subnet: 10.0.5.0/26 overlaps ip_plan.hq[0] 10.0.0.0/16",
        "stores/sh-0004.yaml:13 lan.pos.subnet: 10.64.100.64/26 overlaps 10.64.100.0/24"
        " (stores/sh-0003.yaml:13 lan.pos.subnet)",
        "stores/sh-0004.yaml:14 lan.office.subnet: 10.64.101.0/30 is too small for a LAN (at most /29)",
    ],
    "duplicate-vlans-and-asns": [
        "stores/sh-0003.yaml:13 wan[1].name: link name 'wan1' is used twice",
        "stores/sh-0003.yaml:20 lan.cctv.vlan: VLAN 10 is already used by segment 'pos'",
        "stores/sh-0003.yaml:21 lan.iot.vlan: VLAN 20 is already used by segment 'office'",
        "stores/sh-0004.yaml:7 asn: ASN 4200000500 is already used by stores/sh-0003.yaml",
        "stores/sh-0005.yaml:7 asn: 65001 is outside asn.store_range 4200000000-4200000999",
        "stores/sh-0006.yaml:7 asn: 4294967295 is not a BGP ASN (1-4294967294)",
    ],
    "fleet-asns": [
        "fleet.yaml:21 asn.aws: ASN 65000 is already used by asn.hq",
        "fleet.yaml:22 asn.openstack: 4200000010 lies inside store_range 4200000000-4200000999",
    ],
    "empty-asn-range": [
        "fleet.yaml:23 asn.store_range: 4200000999-4200000000 is an empty range"
        " (the first ASN must not exceed the last)",
    ],
    "unresolved-references": [
        "fleet.yaml:65 desktop_policies[0].site: unknown aws site 'sandhill-production'"
        " (did you mean 'sandhill-prod'?)",
        "fleet.yaml:67 desktop_policies[0].roles[1]: unknown role 'store-manger' (did you mean 'store-manager'?)",
        "fleet.yaml:70 desktop_policies[1].site: unknown openstack site 'leeds-privat'"
        " (did you mean 'leeds-private'?)",
        "fleet.yaml:75 desktop_policies[2].region: unknown region of that account 'us-east-1' (known: eu-west-2)",
        "stores/sh-0003.yaml:5 region: unknown region 'nort' (did you mean 'north'?)",
        "stores/sh-0003.yaml:6 hub: unknown hub 'hq-hub3' (did you mean 'hq-hub2'?)",
        "stores/sh-0003.yaml:19 desktops.casheir: unknown role 'casheir' (did you mean 'cashier'?)",
        "stores/sh-0003.yaml:21 cloud.aws_region: unknown AWS region 'eu-west-1' (did you mean 'eu-west-2'?)",
        "stores/sh-0003.yaml:22 cloud.openstack_site: unknown OpenStack site 'leeds-privte'"
        " (did you mean 'leeds-private'?)",
    ],
    "hq-addresses": [
        "fleet.yaml:23 asn.dc_core: ASN 65000 is already used by asn.hq",
        "fleet.yaml:31 sites.hq.services.pos[0]: 10.0.250.0/25 overlaps the management range 10.0.250.0/24",
        "fleet.yaml:32 sites.hq.services.payment[0]: 192.168.7.0/24 is inside neither ip_plan.hq nor ip_plan.cloud",
        "fleet.yaml:34 sites.hq.core.subnet: DC core LAN 10.64.255.0/29 overlaps ip_plan.stores 10.64.0.0/16",
        "fleet.yaml:35 sites.hq.core.routers[1]: 10.64.255.9 is not a host address of the DC core LAN 10.64.255.0/29",
        "fleet.yaml:41 sites.hq.hubs[0].dc_address: 10.64.255.1 is already used by core router 1 on the DC core LAN",
    ],
    "id-mismatch": [
        "stores/sh-0003.yaml:1 id: store id 'sh-0030' does not match its file name 'sh-0003'",
    ],
    # Errors in the fleet file, two store files, a misnamed file and a broken one, all at once.
    "many-files": [
        "fleet.yaml:5 organisation.domain: 'Sandhill.example' is not an RFC 1123 hostname"
        " (lower-case labels of a-z, 0-9 and '-', 1-63 chars)",
        "fleet.yaml:70 management.ntp_servers[1]: 'ntp.sandhill.example' is not an IPv4 address",
        "stores/sh-0001.yaml:23 lan.pos.vlan: 10000 is not a VLAN id (1-4094)",
        "stores/sh-0002.yaml:15 wan[1].kind: '6g' is not one of 'fiber', 'broadband', 'lte' or '5g'",
        "stores/sh-0003.yml store files must be named <id>.yaml (not .yml); this file is not read",
        "stores/sh-0004.yaml:3 YAML syntax error: did not find expected ',' or ']'",
    ],
}


def test_every_fixture_case_has_expectations() -> None:
    on_disk = {path.name for path in (Path(__file__).parent / "fixtures" / "invalid").iterdir()}
    assert on_disk == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_inventory_reports_exactly_these_errors(
    case: str, make_fleet: Callable[..., Path], errors_of: Callable[[Path], list[str]]
) -> None:
    assert errors_of(make_fleet(case)) == CASES[case]


def test_error_names_file_relative_to_fleet_root_line_and_dotted_field(
    make_fleet: Callable[..., Path], errors_of: Callable[[Path], list[str]], tmp_path: Path
) -> None:
    fleet = make_fleet("bad-vlan")
    first = errors_of(fleet)[0]
    assert first == "stores/sh-0042.yaml:17 lan.pos.vlan: 4097 is not a VLAN id (1-4094)"
    assert str(tmp_path) not in first
    # Line 17 of the file is the offending value.
    assert (fleet / "stores" / "sh-0042.yaml").read_text().splitlines()[16] == "  pos: {vlan: 4097}"


def test_the_base_fixture_is_valid(fleet_dir: Path) -> None:
    fleet = load_fleet(fleet_dir)
    assert sorted(fleet.stores) == ["sh-0001", "sh-0002"]
