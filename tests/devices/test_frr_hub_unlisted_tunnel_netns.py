"""An interface in the hub's tunnel group that its firewall does not name forwards nothing.

The hub's firewall checks each store tunnel's sources on the tunnels it names (`store_tunnels`,
`store_tunnel_sources`) and each cloud VPN's on its own (`cloud_tunnels`); what else arrives in
interface group 10 (an operator's `ip link add`, a tunnel whose firewall is not loaded yet or
was taken back first) is no tunnel it knows, and no rule that takes the group's traffic
(`iifgroup 10 ip saddr @store_sources ip daddr @corporate accept`) may take it: neither another
store's source nor one of the stores' own. A named tunnel's own source still reaches HQ.

The hub of testsupport/hub_netns.py with the sample chain's hq-hub1 ruleset and routing batch
loaded, and one more veth pair in group 10, named as a store tunnel the firewall does not list."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from testsupport.hub_netns import PROBE, HubNamespaces, hub_namespaces, on_this_kernel, probe_command, run

from storestack.devices.render import render_hub
from storestack.inventory import Fleet

HUB = "hq-hub1"
LISTED, LISTED_PEER = "nw-0008-wan1", "t16"
UNLISTED, UNLISTED_PEER = "nw-0009-wan1", "rogue"
# A source of nw-0001 (another store's, on nw-0008's tunnel or any) and one of nw-0008's own.
SPOOFED, OWN = "10.64.0.10", "10.64.14.70"


@pytest.fixture
def namespaces() -> Iterator[HubNamespaces]:
    with hub_namespaces("ul", (SPOOFED, OWN)) as names:
        yield names


def test_an_unlisted_interface_of_the_tunnel_group_forwards_nothing(
    namespaces: HubNamespaces, fleet: Fleet, tmp_path: Path
) -> None:
    hub, store = namespaces.hub, namespaces.store
    files = dict(render_hub(fleet, HUB).companions)
    assert f'"{LISTED}"' in files["nftables.conf"] and UNLISTED not in files["nftables.conf"]
    routing = tmp_path / "routing"
    routing.write_text(on_this_kernel(files["routing"], store))
    ruleset = tmp_path / "nftables.conf"
    ruleset.write_text(files["nftables.conf"])
    run("ip", "-n", hub, "-force", "-batch", str(routing))
    run("ip", "netns", "exec", hub, "nft", "-f", str(ruleset))
    # The interface the firewall does not know: up, in the tunnels' group, its far end a store
    run("ip", "-n", hub, "link", "add", UNLISTED, "type", "veth", "peer", "name", UNLISTED_PEER, "netns", store)
    run("ip", "-n", hub, "link", "set", UNLISTED, "group", "10", "up")

    log = tmp_path / "probe.log"
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    for step, source, tunnel, peer in (
        ("unlisted spoofed", SPOOFED, UNLISTED, UNLISTED_PEER),
        ("unlisted own", OWN, UNLISTED, UNLISTED_PEER),
        ("listed own", OWN, LISTED, LISTED_PEER),
    ):
        subprocess.run(probe_command(script, namespaces, log, step, source, tunnel, peer), check=True, timeout=60)

    assert log.read_text().splitlines() == ["unlisted spoofed dropped", "unlisted own dropped", "listed own arrived"]
