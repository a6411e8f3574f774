"""Per-platform facts the templates should not compute: port names, tunnel names, comment marks.

Inventory links and segments are abstract ("wan1", "pos"); each platform maps them onto its own
interface naming here, once, so every template of that platform agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

from storestack.devices.naming import hub_interface_name, short_ifname
from storestack.inventory.models import Platform


@dataclass(frozen=True, slots=True)
class PlatformProfile:
    name: Platform
    comment: str  # line comment marker the platform ignores when a config is pasted or loaded
    loopback: str
    lan_trunk: str
    ifname_limit: int

    def wan_port(self, index: int, link_name: str) -> str:
        if self.name == "frr":
            return link_name
        if self.name == "cisco_xe":
            return f"GigabitEthernet0/0/{index}"
        if self.name == "huawei_vrp":
            return f"GigabitEthernet0/0/{index + 1}"
        return f"wan{index + 1}" if index < 2 else f"port{index - 1}"

    def segment_interface(self, vlan: int, kind: str) -> str:
        if self.name == "fortinet":
            return short_ifname(kind, self.ifname_limit)
        return f"{self.lan_trunk}.{vlan}"

    def hub_tunnel(self, index: int, link_name: str) -> str:
        """Store-side overlay interface of WAN link number `index` (priority order)."""
        if self.name == "frr":
            return link_name  # FRR carries the overlay address on the WAN interface itself
        if self.name == "cisco_xe":
            return f"Tunnel{index + 1}"
        if self.name == "huawei_vrp":
            return f"Tunnel0/0/{index + 1}"
        return short_ifname(f"hub-{link_name}", self.ifname_limit)

    def aws_tunnel(self, link_index: int, link_name: str, tunnel: int) -> str:
        if self.name == "cisco_xe":
            return f"Tunnel{100 + 2 * link_index + tunnel}"
        if self.name == "huawei_vrp":
            return f"Tunnel0/0/{100 + 2 * link_index + tunnel}"
        return short_ifname(f"aws-{link_name}-t{tunnel}", self.ifname_limit)

    def hub_peer_interface(self, store_id: str, link_name: str, transit_index: int) -> str:
        """Hub-side overlay interface of one store link; numbered by its pinned transit /31,
        so adding or removing stores never renumbers another store's tunnel."""
        if self.name == "cisco_xe":
            return f"Tunnel{transit_index + 1}"
        if self.name == "huawei_vrp":
            return f"Tunnel0/0/{transit_index + 1}"
        return hub_interface_name(store_id, link_name)


PROFILES: dict[Platform, PlatformProfile] = {
    "frr": PlatformProfile("frr", "!", "lo", "lan0", 15),
    "cisco_xe": PlatformProfile("cisco_xe", "!", "Loopback0", "GigabitEthernet0/1/0", 64),
    "huawei_vrp": PlatformProfile("huawei_vrp", "#", "LoopBack0", "GigabitEthernet0/0/0", 64),
    "fortinet": PlatformProfile("fortinet", "#", "lo0", "internal", 15),
}
