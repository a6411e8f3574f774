"""The IOS-XE queues keep a class for the routers' own control traffic. A store's BGP keepalives
to its hubs (and a hub's to its stores) leave the WAN port inside the tunnels' ESP, marked CS6
(the DSCP copied into the ESP header), and BGP gets no PAK_priority: "although exterior gateway
protocol (EGP) traffic, such as Border Gateway Protocol (BGP) traffic, is marked by default to
DSCP CS6, it does not receive such PAK_priority preferential treatment and might need to be
protected explicitly to maintain peering sessions" (Szigeti, Hattingh, End-to-End QoS Network
Design, Cisco Press, "QoS Requirements of the Control Plane"; Cisco, "Understanding How Routing
Updates and Layer 2 Control Packets Are Queued on an Interface with a QoS Service Policy",
document 18664). Without a class of their own they went to class-default with the bulk the same
tunnel carries (one ESP flow to `fair-queue`): a link busy with best effort dropped keepalives,
the sessions fell after their hold time and the store steered every class off a link that was
merely busy. Each QUEUE-<link> (store) and QUEUE-UPLINK (hub) now guarantees CS6/CS7 the fleet's
network-control share, as the FRR appliances' control class does."""

from __future__ import annotations

import re

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, named_blocks, on_platform

from storestack.devices.render import render_hub, render_store
from storestack.inventory import load_fleet, sample_chain_path
from storestack.inventory.models import NETWORK_CONTROL_PERCENT
from storestack.network.model import NETWORK_CONTROL_DSCPS


def _control_queues(text: str) -> dict[str, tuple[int | None, int]]:
    """Each queue policy's guarantee to the class matching every network-control DSCP (None: no
    such class), and the sum of all its guarantees (`priority` and `bandwidth percent`)."""
    control = {name for name, _ in NETWORK_CONTROL_DSCPS}
    classes = {
        name
        for name, body in named_blocks(text, r"class-map match-any (\S+)").items()
        if control <= {dscp for line in body if line.startswith(" match dscp ") for dscp in line.split()[2:]}
    }
    result: dict[str, tuple[int | None, int]] = {}
    for policy, body in named_blocks(text, r"policy-map (QUEUE-\S+)").items():
        share, total, current = None, 0, None
        for line in body:
            if opened := re.fullmatch(r" class (\S+)", line):
                current = opened.group(1)
            elif found := re.fullmatch(r"  (?:priority|bandwidth) percent (\d+)", line):
                total += int(found.group(1))
                if current in classes:
                    share = int(found.group(1))
        result[policy] = (share, total)
    return result


@pytest.fixture
def configs(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    fleet = on_platform(load_fleet(sample_chain_path()), "cisco_xe", "cisco_xe")
    texts = {hub: render_hub(fleet, hub).text for hub in fleet.hubs}
    for store in fleet:
        texts.update((config.name, config.text) for config in render_store(fleet, store.id))
    return texts


def test_every_ios_xe_queue_policy_guarantees_the_routers_own_control_traffic(configs: dict[str, str]) -> None:
    queues = {(host, policy): found for host, text in configs.items() for policy, found in _control_queues(text).items()}
    # every store's WAN links and every hub's uplink queue
    assert any(policy == "QUEUE-UPLINK" for _, policy in queues)
    assert sum(1 for _, policy in queues if policy != "QUEUE-UPLINK") >= len(configs)
    missing = [key for key, (share, _) in queues.items() if share != NETWORK_CONTROL_PERCENT]
    assert missing == [], missing[:5]
    # the guarantees, the control class's included, fit in the shaper's rate
    over = [key for key, (_, total) in queues.items() if total > 100]
    assert over == [], over[:5]
