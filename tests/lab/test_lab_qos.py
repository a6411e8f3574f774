"""The FRR store's WAN queues with real packets (root): a saturated uplink drops bulk, not POS.

One store (nw-0001) of a copy of the sample chain whose fibre is a cheap 8 Mbit/s uplink:
`lab up --overlay ipsec` (which loads the rendered qos.tc, `lab.rendered.adapt_qos`), `rollout
--lab`, then from the store's office host a UDP flood to an HQ server at twice the link's rate (bulk,
the business class) while a till runs card-payment-sized transactions over TCP to the HQ POS
service (the pos class). With the rendered queues the till loses nothing (no TCP retransmission,
every transaction answered in time, its class dropping nothing) while the flood is cut to the
shaped rate and dropped in its own class. The same traffic through one FIFO at the same rate
(what the link does without the queues) makes the till lose packets: the test can tell.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from testsupport.lab import rolled_out_lab, store_routing_report

from storestack import lab
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab import frr_lab, ipsec
from storestack.lab.fleet import topology_from_fleet
from storestack.lab.overlay import QOS_FILE
from storestack.network.build import NetworkIntent

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab-qos")]

STORE = "nw-0001"
HUB = "hq-hub1"
LINK_MBPS = 8
PSK_VARIABLE = "STORESTACK_IPSEC_PSK"
NTP_KEY_VARIABLE = "STORESTACK_NTP_KEY"
BULK_PORT = 5001
POS_PORT = 443  # the till's one allowed flow to HQ POS (tcp/443)
SECONDS = 8.0

# HQ side: count the flood's datagrams, answer each 200-byte transaction with 200 bytes.
_RECEIVER = r"""
import json, socket, sys, threading, time
address, udp_port, tcp_port, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
udp.bind(("", udp_port))  # the flood comes to the HQ server, the till to HQ POS
udp.settimeout(0.5)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((address, tcp_port))
server.listen(4)
def answer():
    while True:
        conn, _ = server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        def serve(conn=conn):
            buffer = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
                while len(buffer) >= 200:
                    buffer = buffer[200:]
                    conn.sendall(b"r" * 200)
        threading.Thread(target=serve, daemon=True).start()
threading.Thread(target=answer, daemon=True).start()
print("ready", flush=True)
received, octets, first, last = 0, 0, None, None
deadline = time.monotonic() + seconds + 30
while time.monotonic() < deadline:
    try:
        data = udp.recv(65536)
    except socket.timeout:
        if last is not None and time.monotonic() - last > 2:
            break
        continue
    now = time.monotonic()
    first = first or now
    last = now
    received += 1
    octets += len(data)
print(json.dumps({"received": received, "octets": octets, "seconds": (last - first) if first else 0}), flush=True)
"""

# The till reaches HQ POS: one TCP connection, retried until `timeout` (a run that saturated a
# FIFO, as one test does on purpose, can take BFD and BGP down; the next measurement starts on a
# path that is up again, not during its recovery).
_REACHABLE = r"""
import socket, sys, time
address, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + timeout
while True:
    try:
        socket.create_connection((address, port), timeout=2).close()
        break
    except OSError as exc:
        if time.monotonic() > deadline:
            sys.exit(f"HQ POS {address}:{port} unreachable from the till for {timeout:.0f} s: {exc}")
        time.sleep(0.5)
"""

# A store host: the flood (udp) or the till's transactions (tcp), for `seconds`.
_SENDER = r"""
import json, socket, struct, sys, time
kind, address, port, rate_bps, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
if kind == "udp":
    size = 1200
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    gap, sent = size * 8 / rate_bps, 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        due = start + sent * gap
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        try:
            sock.sendto(b"b" * size, (address, port))
            sent += 1
        except OSError:
            pass
    print(json.dumps({"sent": sent, "size": size}), flush=True)
else:
    sock = socket.create_connection((address, port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(5)
    gap = 200 * 8 / rate_bps
    rtts, failed = [], 0
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        due = start + n * gap
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        n += 1
        sent_at = time.monotonic()
        try:
            sock.sendall(b"t" * 200)
            got = b""
            while len(got) < 200:
                chunk = sock.recv(200 - len(got))
                if not chunk:
                    raise OSError("closed")
                got += chunk
            rtts.append(time.monotonic() - sent_at)
        except OSError:
            failed += 1
            break
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    retrans = struct.unpack_from("I", info, 100)[0]  # tcpi_total_retrans
    rtts.sort()
    print(json.dumps({"transactions": n, "answered": len(rtts), "failed": failed, "retrans": retrans,
                      "p50": rtts[len(rtts) // 2] if rtts else None, "max": rtts[-1] if rtts else None}), flush=True)
"""


@dataclass
class QosLab:
    state_dir: Path
    store_namespace: str
    office_namespace: str
    pos_namespace: str
    hq_namespace: str
    hq_pos: str
    hq_server: str  # an HQ host the office may reach (the intent's corporate), on HQ's loopback
    queues: str  # the rendered tree as the lab loaded it
    hub_namespace: str  # hq-hub1, the store's primary hub
    hub_queues: str  # its rendered tree (towards the stores) as the lab loaded it
    hq_management: str  # HQ's management workstation (its address on HQ's loopback)
    store_management: str  # the store edge's management address, routed through its primary hub
    edge: str  # the store's appliance


def _require_lab() -> None:
    """This test proves a data-plane claim: it fails, never skips, when the lab cannot run."""
    try:
        lab.check_prerequisites()
    except lab.LabPrerequisiteError as exc:
        pytest.fail(f"the FRR lab cannot run here: {exc}")


@pytest.fixture(scope="module")
def qos_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QosLab]:
    _require_lab()
    root = tmp_path_factory.mktemp("qos")
    fleet_dir = root / "fleet"
    shutil.copytree(sample_chain_path(), fleet_dir)
    store_file = fleet_dir / "stores" / f"{STORE}.yaml"
    text = store_file.read_text()
    assert "bandwidth_mbps: 1000" in text
    store_file.write_text(text.replace("bandwidth_mbps: 1000", f"bandwidth_mbps: {LINK_MBPS}", 1))
    fleet = load_fleet(fleet_dir)
    topology = topology_from_fleet(fleet, [STORE], overlay="ipsec")
    with rolled_out_lab(
        root, topology, [STORE], "lab-qos-fleet-psk-0123456789abcdef",
        fleet_dir=fleet_dir, verify_timeout=90, health_timeout=90,
    ) as state_dir:  # fmt: skip
        state = frr_lab.require_state(state_dir)
        edge = next(a.name for a in topology.appliances if a.store_id == STORE)
        assert topology.sites is not None
        namespace = state.runtime(edge).namespace
        hub_namespace = state.runtime(HUB).namespace
        # The office reaches HQ but the HQ POS service and the management network (out of the
        # cardholder data environment): its flood goes to an HQ server the lab adds for it.
        hq = fleet.spec.ip_plan.hq[0]
        corporate = next(p for p in NetworkIntent(fleet).services["corporate"].prefixes if p.subnet_of(hq))
        hq_server = corporate.network_address + 100
        subprocess.run(["ip", "-n", state.site_namespaces["hq"], "addr", "replace", f"{hq_server}/32", "dev", "lo"], check=True)
        yield QosLab(
            state_dir,
            namespace,
            state.site_namespaces[f"{STORE}/office"],
            state.site_namespaces[f"{STORE}/pos"],
            state.site_namespaces["hq"],
            str(topology.sites.hq_pos),
            str(hq_server),
            (ipsec.instance_dir(namespace) / QOS_FILE).read_text(),
            hub_namespace,
            (ipsec.instance_dir(hub_namespace) / QOS_FILE).read_text(),
            str(topology.sites.hq_management),
            str(topology.appliance(edge).management_address),
            edge,
        )


def _in(namespace: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", namespace, *argv]


def class_stats(namespace: str, device: str) -> dict[str, dict[str, int]]:
    """classid → sent packets, bytes and drops of the device's HTB classes."""
    out = subprocess.run(
        _in(namespace, "tc", "-s", "class", "show", "dev", device), capture_output=True, text=True, check=True
    ).stdout
    stats = {}
    for block in out.split("\nclass ")[0:]:
        head = re.search(r"htb (1:[0-9a-f]+) ", block)
        sent = re.search(r"Sent (\d+) bytes (\d+) pkt \(dropped (\d+),", block)
        if head and sent:
            stats[head.group(1)] = {"bytes": int(sent.group(1)), "packets": int(sent.group(2)), "dropped": int(sent.group(3))}
    return stats


def _delta(after: dict[str, dict[str, int]], before: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {
        cls: {key: value - before.get(cls, {}).get(key, 0) for key, value in numbers.items()}
        for cls, numbers in after.items()
    }


def classids(queues: str, device: str) -> dict[str, str]:
    """QoS class name → classid on `device`, from the loaded tree's `# <class>` comments."""
    pattern = re.compile(rf"^class add dev {re.escape(device)} parent 1:1 classid (1:[0-9a-f]+) .*# (\S+)$")
    return {m.group(2): m.group(1) for line in queues.splitlines() if (m := pattern.match(line))}


@dataclass
class Run:
    bulk_sent: int
    bulk_received: int
    bulk_octets: int
    bulk_seconds: float
    till: dict[str, float]
    classes: dict[str, dict[str, int]]


def saturate(qos_lab: QosLab) -> Run:
    """The flood at twice the link's rate and the till's transactions (40 a second), together."""
    receiver = subprocess.Popen(
        _in(qos_lab.hq_namespace, sys.executable, "-c", _RECEIVER, qos_lab.hq_pos, str(BULK_PORT), str(POS_PORT),
            str(SECONDS)),
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert receiver.stdout is not None
        assert receiver.stdout.readline().strip() == "ready"
        reachable = subprocess.run(
            _in(qos_lab.pos_namespace, sys.executable, "-c", _REACHABLE, qos_lab.hq_pos, str(POS_PORT), "90"),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert reachable.returncode == 0, reachable.stderr + store_routing_report(
            qos_lab.state_dir, qos_lab.edge, qos_lab.hq_pos
        )
        before = class_stats(qos_lab.store_namespace, ipsec.TUN_DEVICE)
        bulk = subprocess.Popen(
            _in(qos_lab.office_namespace, sys.executable, "-c", _SENDER, "udp", qos_lab.hq_server, str(BULK_PORT),
                str(2 * LINK_MBPS * 1e6), str(SECONDS)),
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1.0)  # the queue is full before the first transaction
        till = subprocess.run(
            _in(qos_lab.pos_namespace, sys.executable, "-c", _SENDER, "tcp", qos_lab.hq_pos, str(POS_PORT),
                str(40 * 200 * 8), str(SECONDS - 2)),
            capture_output=True, text=True, timeout=SECONDS + 30,
        )  # fmt: skip
        assert till.returncode == 0, till.stderr
        bulk_out, _ = bulk.communicate(timeout=SECONDS + 30)
        after = class_stats(qos_lab.store_namespace, ipsec.TUN_DEVICE)
        received = json.loads(receiver.communicate(timeout=60)[0].strip().splitlines()[-1])
    finally:
        receiver.kill()
        receiver.wait()
    return Run(
        json.loads(bulk_out)["sent"],
        received["received"],
        received["octets"],
        received["seconds"],
        json.loads(till.stdout),
        _delta(after, before),
    )


def test_saturated_uplink_drops_bulk_not_pos(qos_lab: QosLab) -> None:
    tree = classids(qos_lab.queues, ipsec.TUN_DEVICE)
    pos, business = tree["pos"], tree["business"]
    run = saturate(qos_lab)
    print(f"with the queues: {run}")
    shaped_bps = LINK_MBPS * 1e6 * 0.95
    # The flood: cut to about the shaped rate, the rest dropped in its own class.
    assert run.bulk_received < 0.7 * run.bulk_sent, run
    assert run.bulk_octets * 8 / max(run.bulk_seconds, 1e-3) < 1.1 * shaped_bps, run
    assert run.classes[business]["dropped"] > 0.3 * run.bulk_sent, run.classes
    # The till: every transaction answered, nothing retransmitted, its class dropping nothing.
    till = run.till
    assert till["failed"] == 0 and till["answered"] == till["transactions"] > 100, till
    assert till["retrans"] == 0, till
    assert till["max"] is not None and till["max"] < 0.5, till
    assert run.classes[pos]["dropped"] == 0 and run.classes[pos]["packets"] >= till["transactions"], run.classes


def test_the_hub_queues_its_tunnels_by_class(qos_lab: QosLab) -> None:
    """The hub's tree (its qos.tc, the sample chain's uplink_mbps; on the TUN device in the lab,
    matching the VTEPs) takes its tunnels' packets: BGP and BFD (CS6) to the store in the control
    class, HQ's unmarked answers to the till best effort, nothing dropped at this load."""
    tree = classids(qos_lab.hub_queues, ipsec.TUN_DEVICE)
    assert {"control", "voice", "pos", "best-effort"} <= set(tree), qos_lab.hub_queues
    before = class_stats(qos_lab.hub_namespace, ipsec.TUN_DEVICE)
    run = saturate(qos_lab)
    hub = _delta(class_stats(qos_lab.hub_namespace, ipsec.TUN_DEVICE), before)
    print(f"the hub's classes: {hub}")
    assert run.till["answered"] == run.till["transactions"] > 100, run.till
    assert hub[tree["control"]]["packets"] > 0, hub
    assert hub[tree["best-effort"]]["packets"] >= run.till["answered"], hub
    assert all(numbers["dropped"] == 0 for numbers in hub.values()), hub


# HQ's management workstation sends `count` UDP datagrams marked `tos` to the store edge's
# management address (the hub forwards it: management reaches the stores; the store's own
# firewall may drop it, after the hub has queued it).
_MARKED = r"""
import socket, sys
source, target, tos, count = sys.argv[1], sys.argv[2], int(sys.argv[3], 16), int(sys.argv[4])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
sock.bind((source, 0))
for _ in range(count):
    sock.sendto(b"m" * 100, (target, 9))
"""
MARKED_COUNT = 400


def _send_marked(qos_lab: QosLab, tos: str) -> dict[str, dict[str, int]]:
    """The hub's class counters (towards the stores) moved by MARKED_COUNT datagrams from HQ."""
    before = class_stats(qos_lab.hub_namespace, ipsec.TUN_DEVICE)
    subprocess.run(
        _in(qos_lab.hq_namespace, sys.executable, "-c", _MARKED, qos_lab.hq_management, qos_lab.store_management,
            tos, str(MARKED_COUNT)),
        check=True, timeout=30,
    )  # fmt: skip
    time.sleep(0.5)
    return _delta(class_stats(qos_lab.hub_namespace, ipsec.TUN_DEVICE), before)


def test_the_hub_does_not_trust_network_control_from_the_dc(qos_lab: QosLab) -> None:
    """The hub's trust boundary on its DC port (its rendered nftables `dc_trust` chain, as the lab
    loaded it): a DC host's CS6 packets towards a store are re-marked to default on the way in,
    so the hub queues them as best effort, not in the control class that keeps the store's BGP,
    BFD and IKE alive; its EF (a fleet class) is kept and queued as voice. With the chain
    removed, the same CS6 packets take the control class: the test can tell."""
    tree = classids(qos_lab.hub_queues, ipsec.TUN_DEVICE)
    in_hub = _in(qos_lab.hub_namespace, "nft")
    chain = subprocess.run([*in_hub, "list", "chain", "inet", "storestack", "dc_trust"], capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    rules = [f'iifname "dc" ip dscp {dscp} ip dscp set cs0' for dscp in ("cs6", "cs7")]
    assert all(rule in chain for rule in rules) and "hook forward" in chain, chain
    # the hub's own BGP and BFD to the store keep the control class busy in the background
    control, best_effort, voice = tree["control"], tree["best-effort"], tree["voice"]
    trusted = _send_marked(qos_lab, "0xc0")
    print(f"CS6 from the DC, with the trust boundary: {trusted}")
    assert trusted[best_effort]["packets"] >= MARKED_COUNT, trusted
    assert trusted[control]["packets"] < MARKED_COUNT // 4, trusted
    kept = _send_marked(qos_lab, "0xb8")
    print(f"EF from the DC: {kept}")
    assert kept[voice]["packets"] >= MARKED_COUNT, kept
    subprocess.run([*in_hub, "delete", "chain", "inet", "storestack", "dc_trust"], check=True)
    try:
        untrusted = _send_marked(qos_lab, "0xc0")
    finally:
        subprocess.run(
            [*in_hub, "add", "chain", "inet", "storestack", "dc_trust",
             "{ type filter hook forward priority mangle; policy accept; }"],
            check=True,
        )  # fmt: skip
        for rule in rules:
            subprocess.run([*in_hub, "add", "rule", "inet", "storestack", "dc_trust", *rule.split()], check=True)
    print(f"CS6 from the DC, without the trust boundary: {untrusted}")
    assert untrusted[control]["packets"] >= MARKED_COUNT, untrusted


def test_one_fifo_at_the_same_rate_loses_pos(qos_lab: QosLab) -> None:
    """Without the classes (one queue at the shaped rate, what the link does on its own) the same
    traffic costs the till packets: the first test's figures are the queues' doing."""
    limit = max(LINK_MBPS * 1_000_000 // 8 // 10, 3 * 1514)  # 100 ms, as a class's leaf
    subprocess.run(
        _in(qos_lab.store_namespace, "tc", "qdisc", "replace", "dev", ipsec.TUN_DEVICE, "root", "tbf",
            "rate", f"{int(LINK_MBPS * 950)}kbit", "burst", "3028", "limit", str(limit)),
        check=True,
    )  # fmt: skip
    try:
        run = saturate(qos_lab)
    finally:
        subprocess.run(
            _in(qos_lab.store_namespace, "tc", "-batch", str(ipsec.instance_dir(qos_lab.store_namespace) / QOS_FILE)),
            check=True,
        )
    print(f"one FIFO: {run}")
    assert run.till["retrans"] > 0 or run.till["failed"] > 0, run.till
