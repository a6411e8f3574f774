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
(`HubIntent.return_partners`). The other way round, HQ's management workstation opens SSH to the
store through the primary hub while the store answers through the other (a /32 in the store's
kernel): the other hub must pass the store's side to the primary over the DC LAN.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from testsupport.lab import (
    ONE_STORE,
    ONE_STORE_GROUP,
    OneStoreLab,
    host_address,
    install_observer,
    observer_counts,
)
from testsupport.tcp_echo import connect, exchange, serve

from storestack.inventory import load_fleet
from storestack.lab import frr_lab
from storestack.lab.underlay import HQ_SITE
from storestack.network.build import NetworkIntent

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group(ONE_STORE_GROUP)]

STORE = ONE_STORE
COUNTERS = "storestack_test_split"
PORT = 443  # the POS flow the intent lets a till open towards HQ

@dataclass
class SplitLab:
    till: str  # the till's namespace
    till_address: str
    hq: str  # HQ's namespace (its kernel holds the DC core's routes to the stores)
    hq_pos: str
    sending_hub: str  # namespace of the hub the store sends through (its primary)
    other_hub: str  # namespace of the other hub
    other_dc_address: str  # the other hub's address on the DC core LAN
    edge: str  # the store edge's namespace
    store_loopback: str  # the store edge's loopback, where HQ manages it
    workstation: str  # HQ's management workstation (in HQ's namespace)
    sending_dc_address: str  # the primary hub's address on the DC core LAN
    other_hub_inside: str  # the other hub's inside address of the store's fibre tunnel


@pytest.fixture(scope="module")
def split_lab(one_store_lab: OneStoreLab) -> SplitLab:
    intent = NetworkIntent(load_fleet(one_store_lab.fleet_dir))
    topology, state_dir = one_store_lab.topology, one_store_lab.state_dir
    state = frr_lab.require_state(state_dir)
    assert topology.sites is not None
    edge = next(a for a in topology.appliances if a.store_id == STORE)
    primary = edge.primary_hub or ""
    other = next(a.name for a in topology.appliances if a.role == "hub" and a.name != primary)
    till = state.site_namespaces[f"{STORE}/pos"]
    return SplitLab(
        till,
        host_address(till),
        state.site_namespaces[HQ_SITE],
        str(topology.sites.hq_pos),
        state.runtime(primary).namespace,
        state.runtime(other).namespace,
        str(intent.hub(other).dc.address.ip),
        state.runtime(edge.name).namespace,
        str(edge.management_address),
        str(topology.sites.hq_management),
        str(intent.hub(primary).dc.address.ip),
        next(
            str(t.peer_inside)
            for t in intent.store(STORE).tunnels
            if t.kind == "store-hub" and (t.peer, t.transport) == (other, "wan1")
        ),
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
    server = serve(lab.hq, lab.hq_pos, PORT, idle_seconds=20)
    route = ["ip", "-n", lab.hq, "route", "add", f"{lab.till_address}/32", "via", lab.other_dc_address]
    client: subprocess.Popen[str] | None = None
    try:
        subprocess.run(route, check=True)
        # The till's new connection: 64 KiB out, the same back.
        client = connect(lab.till, lab.till_address, lab.hq_pos, PORT)
        assert client.stdout is not None
        opened = client.stdout.readline().strip()
        echoed = exchange(client) if opened == "connected" else opened
        sending, other = observer_counts(lab.sending_hub, COUNTERS), observer_counts(lab.other_hub, COUNTERS)
        diagnosis = (opened, echoed, sending, other)
        # The split is real: the till sends through its hub, HQ answers through the other.
        assert sending["till-in"] > 0, diagnosis
        assert other["answers-in"] > 0, diagnosis
        # The connection completes and carries 64 KiB both ways...
        assert echoed == "echoed", diagnosis
        # ...because the other hub passed HQ's answers to the hub that saw the flow, which sent
        # them into the tunnel the till's packets came in on.
        assert other["passed-to-partner"] > 0, diagnosis
        assert sending["answers-into-tunnel"] > 0, diagnosis
    finally:
        subprocess.run(["ip", "-n", lab.hq, "route", "del", f"{lab.till_address}/32"], check=False)
        if client is not None:
            client.kill()
            client.communicate(timeout=10)
        server.terminate()
        server.wait(timeout=10)
        for namespace in (lab.sending_hub, lab.other_hub):
            _netns(namespace, "nft", "delete", "table", "inet", COUNTERS)


# HQ's management session: connects from the workstation to the store's SSH, reads its version
# line, sends its own and reads the server's next message (its key exchange offer).
_SSH_CLIENT = r"""
import socket, sys
c = socket.socket(); c.bind((sys.argv[1], 0)); c.settimeout(10)
try:
    c.connect((sys.argv[2], 22))
except OSError as error:
    print(f"connect {error}", flush=True); sys.exit(1)
banner = c.recv(256)
c.sendall(b"SSH-2.0-storestack_split_test\r\n")
offer = c.recv(4096)
c.close()
print("exchanged" if banner.startswith(b"SSH-2.0-") and len(offer) > 0 else f"short {banner!r} {len(offer)}", flush=True)
"""


def test_an_hq_session_to_the_store_completes_while_the_store_answers_through_the_other_hub(split_lab: SplitLab) -> None:
    """HQ's management workstation opens SSH to the store's loopback through the primary hub (the
    DC core's choice, a /32 in HQ's kernel); the store sends towards the workstation through its
    fibre tunnel to the other hub (its steering for the class, a /32 in the store's kernel). The
    other hub never saw the SYN: the store's SYN-ACK is invalid there, its ACKs new without a SYN.
    It must pass them over the DC LAN to the primary hub, which saw the SYN and sends them on to
    HQ; the session then carries data both ways."""
    lab = split_lab
    ours = f"ip saddr {lab.store_loopback} ip daddr {lab.workstation} tcp sport 22"
    synack = f"{ours} tcp flags & (syn | ack) == syn | ack"
    install_observer(lab.other_hub, COUNTERS, {"passed-to-partner": f'{synack} oifname "dc"'})
    install_observer(lab.sending_hub, COUNTERS, {"on-to-hq": f'{synack} oifname "dc"'})
    for namespace in (lab.other_hub, lab.sending_hub):
        subprocess.run(
            ["ip", "netns", "exec", namespace, "nft", "-f", "-"],
            input=f"table inet {COUNTERS}_in {{\n chain pre {{\n  type filter hook prerouting priority -400; policy accept;\n"
            f'  {synack} counter comment "synack-in"\n }}\n}}\n',
            text=True, check=True,
        )  # fmt: skip
    tunnel = _netns(lab.edge, "ip", "route", "get", lab.other_hub_inside).stdout.split(" dev ")[1].split()[0]
    hq_route = ["route", "replace", f"{lab.store_loopback}/32", "via", lab.sending_dc_address]
    store_route = ["route", "replace", f"{lab.workstation}/32", "via", lab.other_hub_inside, "dev", tunnel]
    try:
        subprocess.run(["ip", "-n", lab.hq, *hq_route], check=True)
        subprocess.run(["ip", "-n", lab.edge, *store_route], check=True)
        store_path = _netns(lab.edge, "ip", "route", "get", lab.workstation, "from", lab.store_loopback).stdout
        client = _netns(lab.hq, sys.executable, "-c", _SSH_CLIENT, lab.workstation, lab.store_loopback)
        other, sending = observer_counts(lab.other_hub, COUNTERS), observer_counts(lab.sending_hub, COUNTERS)
        other_in = observer_counts(lab.other_hub, f"{COUNTERS}_in")
        sending_in = observer_counts(lab.sending_hub, f"{COUNTERS}_in")
        diagnosis = (client.stdout, client.stderr[-400:], store_path, other_in, other, sending_in, sending)
        # The split is real: the store answers through the other hub.
        assert f" dev {tunnel} " in store_path, diagnosis
        assert other_in["synack-in"] > 0, diagnosis
        # The session opens and carries data both ways...
        assert client.returncode == 0 and client.stdout.strip() == "exchanged", diagnosis
        # ...because the other hub passed the store's SYN-ACK to the primary, which sent it to HQ.
        assert other["passed-to-partner"] > 0, diagnosis
        assert sending_in["synack-in"] > 0 and sending["on-to-hq"] > 0, diagnosis
    finally:
        subprocess.run(["ip", "-n", lab.hq, "route", "del", f"{lab.store_loopback}/32", "via", lab.sending_dc_address], check=False)
        subprocess.run(["ip", "-n", lab.edge, "route", "del", f"{lab.workstation}/32"], check=False)
        for namespace in (lab.sending_hub, lab.other_hub):
            _netns(namespace, "nft", "delete", "table", "inet", COUNTERS)
            _netns(namespace, "nft", "delete", "table", "inet", f"{COUNTERS}_in")
