"""An OpenStack site gateway's XFRM interfaces keep their if_ids when a hub goes.

Each tunnel of the gateway is an XFRM interface bound by its if_id to one swanctl CHILD_SA
(`if_id_in/out`, swanctl.conf(5)). Numbered in the order the peers were added (the hubs, then
the AWS tunnels), removing the first hub gave every kept tunnel the if_id of the one before it:
the interfaces (and what FRR and the lab read of them) renumbered though no kept tunnel moved.
They are numbered by what IPAM pins instead: a hub's slot, an AWS tunnel's /29 and number."""

from __future__ import annotations

import re

from component_harness import (
    HQ_RANGES,
    TEST_KEYS,
    gateway_peer_files,
    hybrid_cloud_args,
    planned_cloud_tunnels,
    run_scenario,
)

from storestack.components import HybridCloud
from storestack.components.cloud_args import HqHubArgs

_LINK = re.compile(r"ip link add (\S+) type xfrm dev \"\$uplink\" if_id (\d+)$", re.M)
_CHILD = re.compile(r"^            (\S+) \{\n(?:                .*\n)*?                if_id_in = (\d+)\n                if_id_out = (\d+)$", re.M)


def _gateway_if_ids(hubs: list[HqHubArgs]) -> dict[str, int]:
    """The gateway's interfaces by name and their if_ids, as its boot script creates them (each
    checked against the if_ids its swanctl child binds)."""

    def build() -> dict[str, object]:
        HybridCloud("acme", hybrid_cloud_args(hubs=hubs), keys=TEST_KEYS)
        return {}

    scenario = run_scenario(build)
    files = gateway_peer_files(scenario)
    links = {name: int(if_id) for name, if_id in _LINK.findall(files["/usr/local/sbin/storestack-tunnels"])}
    children = {
        f"x-{name}": (int(if_in), int(if_out))
        for name, if_in, if_out in _CHILD.findall(files["/etc/swanctl/conf.d/storestack.conf"])
    }
    assert links and children == {name: (if_id, if_id) for name, if_id in links.items()}
    return links


def _hub(name: str, slot: int, address: str, asn: int) -> HqHubArgs:
    return HqHubArgs(
        name=name, public_address=address, bgp_asn=asn, prefixes=HQ_RANGES,
        cloud_tunnels=planned_cloud_tunnels(name, slot), slot=slot,
    )


def test_removing_the_first_hub_renumbers_no_kept_tunnels_interface() -> None:
    both = _gateway_if_ids([_hub("hub1", 0, "198.51.100.10", 65001), _hub("hub2", 1, "198.51.100.11", 65002)])
    kept = _gateway_if_ids([_hub("hub2", 1, "198.51.100.11", 65002)])
    assert set(both) - set(kept) == {"x-hub1"}
    assert kept == {name: if_id for name, if_id in both.items() if name != "x-hub1"}
    assert len(set(both.values())) == len(both), "two interfaces with one if_id"
