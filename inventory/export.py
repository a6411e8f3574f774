"""Export the fleet to inventories of tools users already run: Ansible and Nornir.

Hubs and store appliances become hosts, grouped by role, region, store format, platform and
lifecycle state. No credentials are exported: both tools take them from their own vaults or
from the environment.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from storestack.common.platforms import Platform
from storestack.inventory.fleet import Fleet, ResolvedAppliance, ResolvedStore

ANSIBLE_NETWORK_OS: dict[Platform, str] = {
    "frr": "frr.frr.frr",
    "cisco_xe": "cisco.ios.ios",
    "huawei_vrp": "community.network.ce",
    "fortinet": "fortinet.fortios.fortios",
}
ANSIBLE_CONNECTION: dict[Platform, str] = {
    "frr": "ansible.netcommon.network_cli",
    "cisco_xe": "ansible.netcommon.network_cli",
    "huawei_vrp": "ansible.netcommon.network_cli",
    "fortinet": "ansible.netcommon.httpapi",
}
# Netmiko device types, as Nornir's netmiko plugin expects them. FRR speaks the IOS-like vtysh.
NETMIKO_PLATFORM: dict[Platform, str] = {
    "frr": "cisco_ios",
    "cisco_xe": "cisco_xe",
    "huawei_vrp": "huawei_vrp",
    "fortinet": "fortinet",
}
NORNIR_FILES = ("hosts.yaml", "groups.yaml", "defaults.yaml")
ANSIBLE_FILE = "inventory.yaml"


def _group(prefix: str, value: str) -> str:
    """Ansible group names are identifiers: `region_north`, `format_guest_wifi`."""
    return f"{prefix}_{re.sub(r'[^a-z0-9_]', '_', value)}"


def _store_groups(store: ResolvedStore, appliance: ResolvedAppliance) -> list[str]:
    return [
        "stores",
        _group("region", store.region),
        _group("format", store.format),
        _group("platform", appliance.platform),
        _group("state", store.state),
    ]


def _store_facts(store: ResolvedStore, appliance: ResolvedAppliance) -> dict[str, Any]:
    return {
        "store_id": store.id,
        "store_name": store.name,
        "city": store.city,
        "region": store.region,
        "format": store.format,
        "state": store.state,
        "platform": appliance.platform,
        "asn": store.asn,
        "loopback": str(appliance.loopback),
        "serial": appliance.serial,
        "primary_hub": store.primary_hub,
        "backup_hub": store.backup_hub,
        "wan_links": [link.name for link in store.wan],
        "lte_only": store.lte_only,
    }


def ansible_inventory(fleet: Fleet) -> dict[str, Any]:
    """An Ansible YAML inventory: host vars under `hubs`/`stores`, the other groups list hosts."""
    hub_hosts: dict[str, Any] = {}
    for hub in fleet.hubs.values():
        hub_hosts[hub.hostname] = {
            "ansible_host": str(hub.management_address),
            "ansible_network_os": ANSIBLE_NETWORK_OS[hub.platform],
            "ansible_connection": ANSIBLE_CONNECTION[hub.platform],
            "storestack_role": "hub",
            "platform": hub.platform,
            "asn": hub.asn,
            "loopback": str(hub.loopback),
            "public_address": str(hub.public_address),
            "serial": hub.serial,
        }
    store_hosts: dict[str, Any] = {}
    groups: dict[str, dict[str, None]] = {_group("platform", hub.platform): {} for hub in fleet.hubs.values()}
    for hub in fleet.hubs.values():
        groups[_group("platform", hub.platform)][hub.hostname] = None
    for store in fleet:
        for appliance in store.appliances:
            store_hosts[appliance.hostname] = {
                "ansible_host": str(appliance.management_address),
                "ansible_network_os": ANSIBLE_NETWORK_OS[appliance.platform],
                "ansible_connection": ANSIBLE_CONNECTION[appliance.platform],
                "storestack_role": "edge",
                **_store_facts(store, appliance),
            }
            for group in _store_groups(store, appliance)[1:]:
                groups.setdefault(group, {})[appliance.hostname] = None
    children: dict[str, Any] = {"hubs": {"hosts": hub_hosts}, "stores": {"hosts": store_hosts}}
    for name in sorted(groups):
        children[name] = {"hosts": groups[name]}
    return {
        "all": {
            "vars": {
                "storestack_organisation": fleet.spec.organisation.slug,
                "storestack_domain": fleet.spec.organisation.domain,
            },
            "children": children,
        }
    }


def nornir_inventory(fleet: Fleet) -> dict[str, dict[str, Any]]:
    """Nornir SimpleInventory files: `hosts.yaml`, `groups.yaml`, `defaults.yaml`."""
    hosts: dict[str, Any] = {}
    groups: dict[str, Any] = {"hubs": {"data": {"role": "hub"}}, "stores": {"data": {"role": "edge"}}}

    def platform_group(platform: Platform) -> str:
        name = _group("platform", platform)
        groups.setdefault(name, {"platform": NETMIKO_PLATFORM[platform], "data": {"platform": platform}})
        return name

    for hub in fleet.hubs.values():
        hosts[hub.hostname] = {
            "hostname": str(hub.management_address),
            "platform": NETMIKO_PLATFORM[hub.platform],
            "groups": ["hubs", platform_group(hub.platform)],
            "data": {
                "platform": hub.platform,
                "asn": hub.asn,
                "loopback": str(hub.loopback),
                "public_address": str(hub.public_address),
                "serial": hub.serial,
            },
        }
    for store in fleet:
        for appliance in store.appliances:
            names = _store_groups(store, appliance)
            platform_group(appliance.platform)
            for name, (key, value) in zip(
                names[1:],
                [("region", store.region), ("format", store.format), (None, None), ("state", store.state)],
                strict=True,
            ):
                if key is not None:
                    groups.setdefault(name, {"data": {key: value}})
            hosts[appliance.hostname] = {
                "hostname": str(appliance.management_address),
                "platform": NETMIKO_PLATFORM[appliance.platform],
                "groups": names,
                "data": _store_facts(store, appliance),
            }
    defaults = {
        "port": 22,
        "data": {"organisation": fleet.spec.organisation.slug, "domain": fleet.spec.organisation.domain},
    }
    return {
        "hosts.yaml": hosts,
        "groups.yaml": dict(sorted(groups.items())),
        "defaults.yaml": defaults,
    }


_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def to_yaml(data: Any) -> str:
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)
    return text
