"""BGP configs for the lab tests: hubs originate a default route, stores prefer fiber over LTE."""

from __future__ import annotations

from storestack.lab.topology import LabTopology

HUB_ASN = 65000
STORE_ASN_BASE = 65100


def bgp_configs(topology: LabTopology) -> dict[str, list[str]]:
    """Config lines per FRR appliance: hubs originate a default route, stores prefer their
    primary link (local preference 50 on the others). Links to emulated appliances are left out.
    """
    frr = {a.name for a in topology.appliances if a.platform == "frr"}
    links = [link for link in topology.links if link.a.appliance in frr and link.b.appliance in frr]
    configs: dict[str, list[str]] = {}
    store_asn = {
        appliance.name: STORE_ASN_BASE + number
        for number, appliance in enumerate(a for a in topology.appliances if a.role == "edge")
    }
    for index, hub in enumerate(a for a in topology.appliances if a.role == "hub"):
        lines = [
            f"router bgp {HUB_ASN}",
            f"bgp router-id 10.255.0.{index + 1}",
            "no bgp ebgp-requires-policy",
        ]
        for link in links:
            if link.b.appliance != hub.name:
                continue
            peer = link.a.address.ip
            lines += [
                f"neighbor {peer} remote-as {store_asn[link.a.appliance]}",
                f"neighbor {peer} timers connect 2",
                "address-family ipv4 unicast",
                f"neighbor {peer} default-originate",
                "exit-address-family",
            ]
        configs[hub.name] = lines
    for number, edge in enumerate(a for a in topology.appliances if a.role == "edge" and a.name in frr):
        lines = [
            "route-map BACKUP-IN permit 10",
            "set local-preference 50",
            "exit",
            f"router bgp {store_asn[edge.name]}",
            f"bgp router-id 10.254.0.{number + 1}",
            "no bgp ebgp-requires-policy",
        ]
        for link in (link for link in links if link.a.appliance == edge.name):
            peer = link.b.address.ip
            lines += [f"neighbor {peer} remote-as {HUB_ASN}", f"neighbor {peer} timers connect 2"]
            if not link.primary:
                lines += [
                    "address-family ipv4 unicast",
                    f"neighbor {peer} route-map BACKUP-IN in",
                    "exit-address-family",
                ]
        configs[edge.name] = lines
    return configs
