"""Exports to Ansible and Nornir load in those tools and carry what they need (never secrets)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from storestack.cli.main import cli
from storestack.inventory import Fleet, load_fleet, sample_chain_path
from storestack.inventory.export import ansible_inventory, nornir_inventory


@pytest.fixture(scope="module")
def sample() -> Fleet:
    return load_fleet(sample_chain_path())


def test_ansible_inventory_groups_and_host_vars(sample: Fleet) -> None:
    children = ansible_inventory(sample)["all"]["children"]
    stores = children["stores"]["hosts"]
    assert len(stores) == sum(len(store.appliances) for store in sample)
    network_os = {name: host["ansible_network_os"] for name, host in stores.items()}
    assert (
        network_os.items()
        >= {
            "nw-0001-edge1": "frr.frr.frr",
            "nw-0003-edge1": "cisco.ios.ios",
            "nw-0005-edge1": "community.network.ce",
            "nw-0006-edge1": "fortinet.fortios.fortios",
        }.items()
    )
    assert stores["nw-0006-edge1"]["ansible_connection"] == "ansible.netcommon.httpapi"
    assert stores["nw-0001-edge1"]["ansible_host"] == "10.255.0.3"
    assert stores["nw-0001-edge1"]["store_id"] == "nw-0001"
    assert sorted(children["hubs"]["hosts"]) == ["hq-hub1", "hq-hub2"]
    assert sorted(children["region_randstad"]["hosts"]) == [
        "nw-0001-edge1",
        "nw-0002-edge1",
        "nw-0003-edge1",
        "nw-0004-edge1",
        "nw-0007-edge1",
    ]
    assert sorted(children["format_convenience"]["hosts"]) == ["nw-0007-edge1"]
    assert sorted(children["platform_fortinet"]["hosts"]) == ["nw-0006-edge1"]
    assert sorted(children["state_planned"]["hosts"]) == ["nw-0008-edge1"]
    assert "hq-hub1" in children["platform_frr"]["hosts"]


def test_exports_carry_no_credentials(sample: Fleet) -> None:
    text = yaml.safe_dump(ansible_inventory(sample)) + yaml.safe_dump(nornir_inventory(sample))
    assert "password" not in text and "ansible_user" not in text and "env:" not in text


def test_nornir_simple_inventory_loads_the_export(sample: Fleet, tmp_path: Path) -> None:
    from nornir import InitNornir
    from nornir.core.filter import F

    result = CliRunner().invoke(
        cli,
        [
            "inventory",
            "export",
            "--format",
            "nornir",
            "--out",
            str(tmp_path),
            "--fleet",
            str(sample_chain_path()),
        ],
    )
    assert result.exit_code == 0, result.output
    nr = InitNornir(
        runner={"plugin": "serial"},
        logging={"enabled": False},
        inventory={
            "plugin": "SimpleInventory",
            "options": {
                "host_file": str(tmp_path / "hosts.yaml"),
                "group_file": str(tmp_path / "groups.yaml"),
                "defaults_file": str(tmp_path / "defaults.yaml"),
            },
        },
    )
    assert len(nr.inventory.hosts) == 2 + sum(len(store.appliances) for store in sample)
    edge = nr.inventory.hosts["nw-0003-edge1"]
    assert (edge.hostname, edge.platform, edge.port) == ("10.255.0.5", "cisco_xe", 22)
    assert edge["store_id"] == "nw-0003" and edge["format"] == "mall"
    assert nr.inventory.hosts["nw-0001-edge1"].platform == "cisco_ios"  # FRR's vtysh, as netmiko drives it
    assert nr.inventory.hosts["nw-0005-edge1"].platform == "huawei_vrp"
    assert nr.inventory.hosts["nw-0006-edge1"].platform == "fortinet"
    assert edge["organisation"] == "northwind"  # from defaults
    assert sorted(nr.filter(F(groups__contains="region_randstad")).inventory.hosts) == [
        "nw-0001-edge1",
        "nw-0002-edge1",
        "nw-0003-edge1",
        "nw-0004-edge1",
        "nw-0007-edge1",
    ]
    assert sorted(nr.filter(F(groups__contains="hubs")).inventory.hosts) == ["hq-hub1", "hq-hub2"]


def test_ansible_export_to_stdout_and_file(tmp_path: Path) -> None:
    runner = CliRunner()
    fleet = str(sample_chain_path())
    printed = runner.invoke(cli, ["inventory", "export", "--format", "ansible", "--fleet", fleet])
    assert printed.exit_code == 0
    assert "nw-0001-edge1" in yaml.safe_load(printed.stdout)["all"]["children"]["stores"]["hosts"]
    filtered = runner.invoke(
        cli,
        [
            "inventory",
            "export",
            "--format",
            "ansible",
            "--fleet",
            fleet,
            "--platform",
            "fortinet",
            "--out",
            str(tmp_path),
        ],
    )
    assert filtered.exit_code == 0
    hosts = yaml.safe_load((tmp_path / "inventory.yaml").read_text())["all"]["children"]["stores"]["hosts"]
    assert sorted(hosts) == ["nw-0006-edge1"]


def test_nornir_export_needs_a_directory() -> None:
    result = CliRunner().invoke(cli, ["inventory", "export", "--format", "nornir"])
    assert result.exit_code == 2
    assert "pass --out DIR" in result.stderr
