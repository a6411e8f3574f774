"""Addressing of the hub to OpenStack gateway tunnels, shared by both ends.

`components/openstack_site.py` builds the cloud end (the site's strongSwan + FRR gateway) and
`network/build.py` the hub end from this one rule, so the two ends cannot disagree on the
inside /30 of a tunnel. AWS picks the inside addresses of its own tunnels; OpenStack does not,
so storestack does.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

# Inside /30s of the hub tunnels: 169.254.252.0/22 (256 /30s), eight hubs per site.
HUB_INSIDE_POOL = ipaddress.IPv4Network("169.254.252.0/22")
HUBS_PER_SITE = 8


@dataclass(frozen=True, slots=True)
class HubOpenStackInside:
    """The inside /30 of one hub's tunnel to one OpenStack site's gateway."""

    network: ipaddress.IPv4Network

    @property
    def hub(self) -> ipaddress.IPv4Interface:
        """The hub's end: the first address of the /30."""
        return ipaddress.IPv4Interface((self.network[1], self.network.prefixlen))

    @property
    def gateway(self) -> ipaddress.IPv4Interface:
        """The OpenStack gateway's end: the second address of the /30."""
        return ipaddress.IPv4Interface((self.network[2], self.network.prefixlen))


def hub_openstack_inside(site_index: int, hub_index: int) -> HubOpenStackInside:
    """The inside /30 of hub `hub_index`'s tunnel to OpenStack site `site_index` (fleet order)."""
    if not 0 <= hub_index < HUBS_PER_SITE:
        raise ValueError(f"hub index {hub_index}: at most {HUBS_PER_SITE} hubs per OpenStack site")
    slot = site_index * HUBS_PER_SITE + hub_index
    slots = HUB_INSIDE_POOL.num_addresses // 4
    if not 0 <= slot < slots:
        raise ValueError(f"OpenStack site index {site_index}: {HUB_INSIDE_POOL} holds {slots // HUBS_PER_SITE} sites")
    return HubOpenStackInside(ipaddress.IPv4Network((int(HUB_INSIDE_POOL.network_address) + 4 * slot, 30)))
