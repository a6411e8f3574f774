"""A store flow split across the two hubs (root): the store sends through one hub, the DC core
answers through the other (as when a store's signal or a hub's restart moves the DC's best path
for the store's prefix while the store keeps its class where its SLA allows).

One store (nw-0001) of the sample chain, `lab up --overlay ipsec`, `rollout --lab`. The till's
packets go to its primary hub; HQ routes its answers to the till through the other hub (a /32
towards that hub's DC address in HQ's kernel, more specific than the core's BGP route). Both
hubs filter statefully (nftables conntrack): the other hub sees HQ's SYN-ACK of a flow it never
saw (invalid), the primary hub never sees it and takes the till's ACK as invalid. A new TCP
connection from the till to HQ's POS service must still complete and carry data both ways, and
HQ's answers must leave the primary hub into the tunnel the flow came in on
(`HubIntent.return_partners`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from testsupport.lab import host_address, install_observer, observer_counts, require_frr_lab, rolled_out_lab

from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab import frr_lab
from storestack.lab.fleet import topology_from_fleet
from storestack.lab.underlay import HQ_SITE
from storestack.network.build import NetworkIntent

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab-split")]

STORE = "nw-0001"
COUNTERS = "storestack_test_split"
PORT = 443  # the POS flow the intent lets a till open towards HQ

# An echo server in HQ: answers every byte it gets, until the client closes.
_SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(4)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(20)
    try:
        while (data := c.recv(65536)):
            c.sendall(data)
    except OSError:
        pass
    c.close()
"""

# The till's new connection: 64 KiB out, the same back; prints what it got.
_CLIENT = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
payload = bytes(range(256)) * 256
c.sendall(payload)
got = b""
while len(got) < len(payload):
    chunk = c.recv(65536)
    if not chunk:
        break
    got += chunk
c.close()
print("echoed" if got == payload else f"short {len(got)}", flush=True)
"""


@dataclass
class SplitLab:
    till: str  # the till's namespace
    till_address: str
    hq: str  # HQ's namespace (its kernel holds the DC core's routes to the stores)
    hq_pos: str
    sending_hub: str  # namespace of the hub the store sends through (its primary)
    other_hub: str  # namespace of the other hub
    other_dc_address: str  # the other hub's address on the DC core LAN


@pytest.fixture(scope="module")
def split_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SplitLab]:
    require_frr_lab()
    root = tmp_path_factory.mktemp("split")
    fleet_dir = root / "fleet"
    shutil.copytree(sample_chain_path(), fleet_dir)
    fleet = load_fleet(fleet_dir)
    intent = NetworkIntent(fleet)
    topology = topology_from_fleet(fleet, [STORE], overlay="ipsec")
    with rolled_out_lab(
        root, topology, [STORE], "lab-split-fleet-psk-0123456789abcdef",
        fleet_dir=fleet_dir, verify_timeout=90, health_timeout=90,
    ) as state_dir:  # fmt: skip
        state = frr_lab.require_state(state_dir)
        assert topology.sites is not None
        edge = next(a for a in topology.appliances if a.store_id == STORE)
        primary = edge.primary_hub or ""
        other = next(a.name for a in topology.appliances if a.role == "hub" and a.name != primary)
        till = state.site_namespaces[f"{STORE}/pos"]
        yield SplitLab(
            till,
            host_address(till),
            state.site_namespaces[HQ_SITE],
            str(topology.sites.hq_pos),
            state.runtime(primary).namespace,
            state.runtime(other).namespace,
            str(intent.hub(other).dc.address.ip),
        )


def _netns(namespace: str, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", namespace, *argv], capture_output=True, text=True, timeout=timeout
    )


def test_a_new_till_connection_answered_through_the_other_hub_completes_on_the_store_s_tunnel(
    split_lab: SplitLab, tmp_path: Path
) -> None:
    lab = split_lab
    till_tunnel = f"{STORE}-wan1"  # the hub's interface of the store's fibre tunnel
    install_observer(
        lab.sending_hub,
        COUNTERS,
        {
            "till-in": f"ip saddr {lab.till_address} ip daddr {lab.hq_pos} tcp dport {PORT} iifgroup 10",
            "answers-into-tunnel": f'ip saddr {lab.hq_pos} ip daddr {lab.till_address} tcp sport {PORT} oifname "{till_tunnel}"',
        },
    )
    answers = f"ip saddr {lab.hq_pos} ip daddr {lab.till_address} tcp sport {PORT}"
    install_observer(lab.other_hub, COUNTERS, {"passed-to-partner": f"{answers} oifgroup != 10"})
    # What reaches the other hub at all, dropped or not: counted before its own ruleset
    subprocess.run(
        ["ip", "netns", "exec", lab.other_hub, "nft", "-f", "-"],
        input=f"table inet {COUNTERS} {{\n chain pre {{\n  type filter hook prerouting priority -400; policy accept;\n"
        f'  {answers} counter comment "answers-in"\n }}\n}}\n',
        text=True, check=True,
    )  # fmt: skip
    server = subprocess.Popen(
        ["ip", "netns", "exec", lab.hq, sys.executable, "-c", _SERVER, lab.hq_pos, str(PORT)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    route = ["ip", "-n", lab.hq, "route", "add", f"{lab.till_address}/32", "via", lab.other_dc_address]
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        subprocess.run(route, check=True)
        client = _netns(lab.till, sys.executable, "-c", _CLIENT, lab.hq_pos, str(PORT))
        sending, other = observer_counts(lab.sending_hub, COUNTERS), observer_counts(lab.other_hub, COUNTERS)
        diagnosis = (client.stdout, client.stderr[-400:], sending, other)
        # The split is real: the till sends through its hub, HQ answers through the other.
        assert sending["till-in"] > 0, diagnosis
        assert other["answers-in"] > 0, diagnosis
        # The connection completes and carries 64 KiB both ways...
        assert client.returncode == 0 and client.stdout.strip() == "echoed", diagnosis
        # ...because the other hub passed HQ's answers to the hub that saw the flow, which sent
        # them into the tunnel the till's packets came in on.
        assert other["passed-to-partner"] > 0, diagnosis
        assert sending["answers-into-tunnel"] > 0, diagnosis
    finally:
        subprocess.run(["ip", "-n", lab.hq, "route", "del", f"{lab.till_address}/32"], check=False)
        server.terminate()
        server.wait(timeout=10)
        for namespace in (lab.sending_hub, lab.other_hub):
            _netns(namespace, "nft", "delete", "table", "inet", COUNTERS)
