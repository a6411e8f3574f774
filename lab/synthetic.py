"""A generated topology (two hubs, N stores) for benchmarks and tests that need no inventory."""

from __future__ import annotations

from ipaddress import IPv4Network

from storestack.lab.topology import LabAppliance, LabEndpoint, LabLink, LabTopology, OverlayMode

PRIMARY_HUB = "hub-1"
BACKUP_HUB = "hub-2"


def synthetic_topology(
    stores: int, *, wan_pool: str = "100.64.0.0/16", overlay: OverlayMode = "veth"
) -> LabTopology:
    """`stores` store edges, each with a fiber link to hub-1 and an LTE link to hub-2.

    Every link is a /30 out of `wan_pool`; the store side takes the first host address.
    """
    subnets = IPv4Network(wan_pool).subnets(new_prefix=30)
    appliances = [
        LabAppliance(name=PRIMARY_HUB, role="hub"),
        LabAppliance(name=BACKUP_HUB, role="hub"),
    ]
    links: list[LabLink] = []
    for number in range(1, stores + 1):
        store_id = f"store-{number:04d}"
        edge = f"{store_id}-edge"
        appliances.append(LabAppliance(name=edge, role="edge", store_id=store_id))
        for link_name, hub in (("fiber", PRIMARY_HUB), ("lte", BACKUP_HUB)):
            subnet = next(subnets)
            store_address, hub_address = list(subnet.hosts())[:2]
            links.append(
                LabLink(
                    store_id=store_id,
                    name=link_name,
                    kind="fiber" if link_name == "fiber" else "lte",
                    primary=link_name == "fiber",
                    a=LabEndpoint(
                        appliance=edge, ifname=link_name, address=f"{store_address}/{subnet.prefixlen}"
                    ),
                    b=LabEndpoint(
                        appliance=hub,
                        ifname=f"s{number:04d}-{link_name}",
                        address=f"{hub_address}/{subnet.prefixlen}",
                    ),
                )
            )
    return LabTopology(appliances=appliances, links=links, overlay=overlay)
