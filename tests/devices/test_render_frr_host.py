"""The Linux side of FRR store appliances: the nftables ruleset and dnsmasq config that carry
segmentation, guest NAT, the LTE policy, QoS marking, CCTV limits, DHCP and DNS."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from testsupport.rendering import on_platform

from storestack.devices.frr import partner_slots
from storestack.devices.lint import Packet
from storestack.devices.lint.frr import chain_verdict
from storestack.devices.render import RenderedConfig, render_fleet
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent
from storestack.network.sla import PARTNER_TABLE


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (make system-deps installs it)")
        pytest.skip(f"{name} is not installed")
    return path


def _require_root() -> None:
    """Namespaces, nftables and tc need root: fail under CI, skip elsewhere."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("root is needed")
        pytest.skip("root is needed")


def _frr_stores(fleet: Fleet) -> list[RenderedConfig]:
    return [c for c in render_fleet(on_platform(fleet, "frr"), hubs=[])]


def _companion(config: RenderedConfig, suffix: str) -> str:
    return dict(config.companions)[suffix]


def test_every_frr_store_ruleset_passes_nft_check(fleet: Fleet, tmp_path: Path) -> None:
    nft = _tool("nft")
    for config in _frr_stores(fleet):
        path = tmp_path / f"{config.name}.nft"
        path.write_text(_companion(config, "nftables.conf"))
        result = subprocess.run([nft, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"{config.name}: {result.stderr}"


def test_every_frr_store_dnsmasq_config_passes_its_check(fleet: Fleet, tmp_path: Path) -> None:
    dnsmasq = _tool("dnsmasq")
    for config in _frr_stores(fleet):
        path = tmp_path / f"{config.name}.dnsmasq.conf"
        path.write_text(_companion(config, "dnsmasq.conf"))
        result = subprocess.run(
            [dnsmasq, "--test", "-C", str(path)], capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, f"{config.name}: {result.stderr}"


def _chain_rules(rules: str, chain: str) -> list[str]:
    lines = rules.splitlines()
    start = lines.index(f"    chain {chain} {{")
    end = lines.index("    }", start)
    return [line.strip() for line in lines[start + 1 : end]]


def _forward_rules(rules: str) -> list[str]:
    return _chain_rules(rules, "forward")


def test_guest_wifi_breaks_out_locally_and_never_reaches_the_overlay(fleet: Fleet) -> None:
    (config,) = render_fleet(fleet, store_ids=["nw-0004"], hubs=[])
    rules = _companion(config, "nftables.conf")
    guest = fleet.store("nw-0004").segments["guest-wifi"]
    assert f'oifname "wan1" ip saddr {guest.subnet} masquerade' in rules
    forward = [line for line in _forward_rules(rules) if line.startswith('iifname "lan0.40"')]
    # A source not of the guest prefix, private ranges and every tunnel are refused before the
    # one accept, and nothing follows it.
    assert forward == [
        f'iifname "lan0.40" ip saddr != {guest.subnet} drop',
        'iifname "lan0.40" ip daddr @private drop',
        'iifname "lan0.40" oifgroup 10 drop',
        'iifname "lan0.40" oifname "wan1" accept',
        'iifname "lan0.40" drop',
    ]
    # Policy routing fails closed: guest traffic only ever looks up the breakout table.
    routing = _companion(config, "routing")
    assert f"rule add from {guest.subnet} lookup 101 pref 1100" in routing
    assert f"rule add from {guest.subnet} unreachable pref 1101" in routing


def _first_rule(routing: str, source: str, destination: str) -> str:
    """What the kernel's policy routing does with an unmarked packet from `source` to
    `destination`: the action of the first `rule add` (lowest pref) whose selectors match."""
    rules: list[tuple[int, str, str]] = []
    for line in routing.splitlines():
        if not line.startswith("rule add "):
            continue
        words = line.split()[2:]
        fields = {key: words[i + 1] for i, key in enumerate(words[:-1]) if key in ("from", "to", "fwmark", "lookup", "pref")}
        if "fwmark" in fields:
            continue
        action = f"lookup {fields['lookup']}" if "lookup" in fields else words[words.index("pref") - 1]
        selectors = [(key, ipaddress.ip_network(fields[key])) for key in ("from", "to") if key in fields]
        address = {"from": ipaddress.ip_address(source), "to": ipaddress.ip_address(destination)}
        if all(address[key] in net for key, net in selectors):
            rules.append((int(fields["pref"]), line, action))
    return min(rules)[2] if rules else "lookup main"


def test_the_guest_gateways_own_answers_stay_on_the_guest_segment(fleet: Fleet) -> None:
    """A guest's ping to its gateway is answered from the gateway's address, which is inside the
    guest prefix: the breakout table would send the answer out of the WAN to the carrier."""
    (config,) = render_fleet(fleet, store_ids=["nw-0004"], hubs=[])
    routing = _companion(config, "routing")
    guest = fleet.store("nw-0004").segments["guest-wifi"].subnet
    gateway, host = str(guest[1]), str(guest[20])
    assert _first_rule(routing, gateway, host) == "lookup main"
    # A guest's own traffic to the internet still looks up the breakout table only.
    assert _first_rule(routing, host, "9.9.9.9") == "lookup 101"


def test_a_segment_reaches_the_router_at_its_own_gateway_only(fleet: Fleet) -> None:
    """From a segment only DHCP, DNS and pings to the segment's own gateway reach the router: a
    guest's ping of the loopback or of the tills' gateway, or an IoT sensor's DNS query to the
    loopback, is dropped before the input chain's echo and service rules accept it."""
    (config,) = render_fleet(fleet, store_ids=["nw-0004"], hubs=[])
    input_chain = _chain_rules(_companion(config, "nftables.conf"), "input")
    echo = input_chain.index("icmp type echo-request jump icmp_requests")
    for segment in fleet.store("nw-0004").segments.values():
        ifname = f"lan0.{segment.vlan}"
        guard = f'iifname "{ifname}" ip daddr != {{ {segment.gateway}, 255.255.255.255 }} drop'
        assert guard in input_chain[:echo], f"{ifname}: nothing keeps it off the router's other addresses"


def test_segments_reach_only_their_services(fleet: Fleet) -> None:
    """Stateful default deny: each segment's accepts name the intent's services, nothing else;
    IoT, CCTV and office never reach POS."""
    (config,) = render_fleet(fleet, store_ids=["nw-0001"], hubs=[])
    forward = _forward_rules(_companion(config, "nftables.conf"))
    assert forward[-1].endswith("accept") and "policy drop" in _companion(config, "nftables.conf")
    accepts = [line for line in forward if line.startswith("iifname") and line.endswith("accept")]
    by_segment: dict[str, list[str]] = {}
    for line in accepts:
        by_segment.setdefault(line.split('"')[1], []).append(line)
    assert by_segment["lan0.10"] == [
        'iifname "lan0.10" oifgroup 10 ip daddr { 10.0.10.0/24 } tcp dport { 443 } accept',
        'iifname "lan0.10" oifgroup 10 ip daddr { 10.0.11.0/24 } tcp dport { 443 } accept',
    ]
    assert by_segment["lan0.50"] == [
        'iifname "lan0.50" oifgroup 10 ip daddr { 10.0.20.0/24 } tcp dport { 443, 8883 } accept'
    ]
    assert by_segment["lan0.30"] == [
        'iifname "lan0.30" oifgroup 10 ip daddr { 10.0.30.0/24 } tcp dport { 443, 554 } accept'
    ]
    pos = str(fleet.store("nw-0001").segments["pos"].subnet)
    assert not any(pos in line for line in accepts)


# nft's byte units (`nft --debug=netlink` shows `limit rate over 1 kbytes/second` as 1024 bytes)
_NFT_BYTES = {"bytes": 1, "kbytes": 1024, "mbytes": 1024 * 1024}


def test_cctv_is_held_to_its_share_of_the_links_shaped_rate_in_each_tunnel(fleet: Fleet) -> None:
    """The CCTV cap in each wired tunnel lets through no more than the shaped class's ceiling on
    its link (qos.tc, kbit/s of 1000 bits): nft counts a kbyte as 1024 bytes."""
    (config,) = render_fleet(fleet, store_ids=["nw-0001"], hubs=[])
    qos = _companion(config, "qos.tc")
    ceiling = re.search(r"class add dev wan1 .* ceil (\d+)kbit .*# cctv", qos)
    assert ceiling is not None
    allowed = int(ceiling.group(1)) * 1000 // 8  # bytes/second
    caps = [
        line
        for line in _chain_rules(_companion(config, "nftables.conf"), "cctv_shaping")
        if line.startswith('iifname "lan0.30" oifname "xfrm1"')
    ]
    assert caps
    for cap in caps:
        match = re.search(r"limit rate over (\d+) (\w+)/second drop", cap)
        assert match is not None, cap
        assert int(match.group(1)) * _NFT_BYTES[match.group(2)] <= allowed, cap


def test_lte_carries_pos_and_office_but_not_cctv_or_iot(fleet: Fleet) -> None:
    (config,) = render_fleet(fleet, store_ids=["nw-0001"], hubs=[])
    forward = _forward_rules(_companion(config, "nftables.conf"))
    lte_tunnels = {"xfrm2", "xfrm4"}  # nw-0001's lte1 to its two hubs
    dropped = {
        (line.split('"')[1], line.split('"')[3])
        for line in forward
        if "oifname" in line and line.endswith("drop")
    }
    assert dropped >= {(seg, t) for seg in ("lan0.30", "lan0.50") for t in lte_tunnels}
    assert not {(seg, t) for seg in ("lan0.10", "lan0.20") for t in lte_tunnels} & dropped


def test_lte_only_store_still_carries_office_and_iot(fleet: Fleet) -> None:
    lte_only = next(store for store in fleet if store.lte_only)
    (config,) = render_fleet(on_platform(fleet, "frr"), store_ids=[lte_only.id], hubs=[])
    forward = _forward_rules(_companion(config, "nftables.conf"))
    kept = [segment for kind, segment in lte_only.segments.items() if kind in ("office", "iot")]
    assert kept
    for segment in kept:
        ifname = f"lan0.{segment.vlan}"
        assert not any(
            line.startswith(f'iifname "{ifname}" oifname') and line.endswith("drop") for line in forward
        )
        assert any(line.startswith(f'iifname "{ifname}" oifgroup 10') for line in forward)


def test_bgp_bfd_and_management_only_inside_tunnels_and_no_dns_on_the_wan(fleet: Fleet) -> None:
    (config,) = render_fleet(fleet, store_ids=["nw-0001"], hubs=[])
    rules = _companion(config, "nftables.conf")
    lines = rules.splitlines()
    inputs = [
        line.strip() for line in lines[lines.index("    chain input {") : lines.index("    chain forward {")]
    ]
    # BGP and BFD only between a tunnel's own two ends, each tunnel of the store's in the set.
    assert [line for line in inputs if "dport 179" in line] == ["iifname . ip saddr . ip daddr @tunnel_ends tcp dport 179 accept"]
    assert [line for line in inputs if "3784" in line] == ["iifname . ip saddr . ip daddr @bfd_ends udp dport 3784 accept"]
    view_tunnels = next(line.strip() for line in lines if line.strip().startswith('elements = { "xfrm'))
    intent = NetworkIntent(fleet).store("nw-0001")
    for tunnel in intent.tunnels:
        assert tunnel.local_inside is not None, tunnel.id
        assert f". {tunnel.peer_inside} . {tunnel.local_inside.ip}" in view_tunnels, tunnel.id
    # Management through the hub tunnels only: never an AWS tunnel, though it shares their group.
    hub_tunnels = ", ".join(f'"{name}"' for name in re.findall(r'"(xfrm\d+)" \. ', view_tunnels))
    management = [line for line in inputs if "dport 22" in line or "dport 161" in line]
    assert len(management) == 2 and all(line.startswith(f"iifname {{ {hub_tunnels} }} ") for line in management)
    assert all(
        line.startswith('iifname "lan0.') for line in inputs if "dport { 53" in line or "dport 53" in line
    )


# Counts, per UDP port given, the datagrams that reach a socket bound to it, by source address,
# until a second after the sender says on stdin that it is done: what the host firewall let
# through. Waiting on the sender, not a fixed time, keeps a loaded machine from losing datagrams.
_UDP_LISTENER = r"""
import select, socket, sys, time
socks = []
for port in sys.argv[1:]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", int(port)))
    socks.append(sock)
print("ready", flush=True)
seen = set()
waiting = [*socks, sys.stdin]
deadline = time.monotonic() + 60
while (left := deadline - time.monotonic()) > 0:
    for ready in select.select(waiting, [], [], left)[0]:
        if ready is sys.stdin:
            waiting.remove(sys.stdin)
            deadline = time.monotonic() + 1
            continue
        _, (source, _) = ready.recvfrom(2048)
        seen.add(f"{source}:{ready.getsockname()[1]}")
print(" ".join(sorted(seen)))
"""

# Sends three datagrams from each (source address, destination, port) given as arguments.
_UDP_FROM_EACH = r"""
import socket, sys
for item in sys.argv[1:]:
    source, destination, port = item.split(",")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    for _ in range(3):
        sock.sendto(b"x" * 64, (destination, int(port)))
"""


def _udp_arrivals(listen_ns: str, ports: tuple[int, ...], sender_ns: str, sends: list[tuple[str, str, int]]) -> set[str]:
    """The `source:port` pairs whose datagrams reach `listen_ns`'s sockets on `ports` when
    `sender_ns` sends from each (source, destination, port) of `sends`."""
    listener = subprocess.Popen(
        ["ip", "netns", "exec", listen_ns, "python3", "-c", _UDP_LISTENER, *map(str, ports)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
    items = [f"{source},{destination},{port}" for source, destination, port in sends]
    subprocess.run(["ip", "netns", "exec", sender_ns, "python3", "-c", _UDP_FROM_EACH, *items], check=True)
    received, _ = listener.communicate("sent\n", timeout=90)
    return set(received.split())


def test_a_store_takes_ike_on_a_transport_only_from_its_tunnels_far_ends(fleet: Fleet) -> None:
    """nw-0001-edge1's rendered ruleset in a namespace, its wan1 facing a sender that holds the
    hubs' public addresses and one other internet address: IKE and ESP-in-UDP (500, 4500) from
    the hubs reach charon's ports; from the other address nothing does (it used to: every WAN
    port took IKE from anyone, where IOS-XE and FortiOS stores take it from their peers only)."""
    nft = _tool("nft")
    _require_root()
    (store,) = render_fleet(fleet, store_ids=["nw-0001"], hubs=[])
    ruleset = _companion(store, "nftables.conf")
    swanctl = _companion(store, "swanctl.conf")
    local = re.search(r"local_addrs = (198\.51\.100\.\d+)", swanctl)
    assert local, "no static wan1 address in swanctl.conf"
    hubs = sorted(set(re.findall(r"remote_addrs = (203\.0\.113\.\d+)", swanctl)))
    assert len(hubs) == 2, hubs
    stranger = "198.18.0.7"
    prefix = f"ss-ike-{os.getpid()}"
    store_ns, internet_ns = f"{prefix}-s", f"{prefix}-i"
    try:
        for namespace in (store_ns, internet_ns):
            subprocess.run(["ip", "netns", "add", namespace], check=True)
            subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "link", "add", "wan1", "netns", store_ns, "type", "veth", "peer", "eth0", "netns", internet_ns], check=True)
        subprocess.run(["ip", "-n", store_ns, "addr", "add", f"{local.group(1)}/30", "dev", "wan1"], check=True)
        for address in (*hubs, stranger):
            subprocess.run(["ip", "-n", internet_ns, "addr", "add", f"{address}/32", "dev", "eth0"], check=True)
        for namespace, ifname in ((store_ns, "wan1"), (internet_ns, "eth0")):
            subprocess.run(["ip", "-n", namespace, "link", "set", ifname, "up"], check=True)
        subprocess.run(["ip", "-n", store_ns, "route", "add", "default", "dev", "wan1"], check=True)
        subprocess.run(["ip", "-n", internet_ns, "route", "add", local.group(1), "dev", "eth0"], check=True)
        subprocess.run(["ip", "netns", "exec", store_ns, nft, "-f", "-"], input=ruleset, text=True, check=True)
        sends = [(source, local.group(1), port) for source in (*hubs, stranger) for port in (500, 4500)]
        received = _udp_arrivals(store_ns, (500, 4500), internet_ns, sends)
    finally:
        for namespace in (store_ns, internet_ns):
            subprocess.run(["ip", "netns", "del", namespace], check=False)
    assert received == {f"{hub}:{port}" for hub in hubs for port in (500, 4500)}


def test_every_frr_hub_ruleset_passes_nft_check(fleet: Fleet, tmp_path: Path) -> None:
    nft = _tool("nft")
    for config in render_fleet(fleet, store_ids=[]):
        path = tmp_path / f"{config.name}.nft"
        path.write_text(_companion(config, "nftables.conf"))
        result = subprocess.run([nft, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"{config.name}: {result.stderr}"


def test_every_segment_has_a_local_dhcp_scope(fleet: Fleet) -> None:
    (config,) = render_fleet(fleet, store_ids=["nw-0008"], hubs=[])
    dnsmasq = _companion(config, "dnsmasq.conf")
    for kind, segment in fleet.store("nw-0008").segments.items():
        assert f"dhcp-range=set:{kind},{segment.dhcp_start},{segment.dhcp_end}," in dnsmasq


_CHARON = Path("/usr/lib/ipsec/charon")
_STRONGSWAN_CONF = """charon {{
  load = random nonce openssl aes sha1 sha2 hmac gcm kdf curve25519 pem pkcs1 x509 pubkey socket-default vici kernel-netlink
  install_routes = no
  plugins {{
    vici {{ socket = unix://{socket} }}
  }}
}}
"""


@pytest.mark.lab
def test_every_frr_swanctl_conf_loads_into_a_real_charon(fleet: Fleet, tmp_path: Path) -> None:
    """The rendered swanctl.conf of every FRR appliance (stores and hubs) loads into strongSwan's
    charon: every connection and secret accepted. charon runs in an empty namespace of its own."""
    swanctl = _tool("swanctl")
    if not _CHARON.exists() or os.geteuid() != 0:
        message = "charon (strongswan-charon) and root are needed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    socket = tmp_path / "charon.vici"
    conf = tmp_path / "strongswan.conf"
    conf.write_text(_STRONGSWAN_CONF.format(socket=socket))
    (tmp_path / "run").mkdir()
    namespace = f"ss-swan-{os.getpid()}"
    env = {**os.environ, "STRONGSWAN_CONF": str(conf), "STORESTACK_IPSEC_PSK": "Fleet.Ipsec_Psk_Seed"}
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    charon = subprocess.Popen(
        ["ip", "netns", "exec", namespace, "unshare", "-m", "sh", "-c",
         f"mount --bind {tmp_path / 'run'} /run && exec {_CHARON}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(50):
            if socket.exists():
                break
            time.sleep(0.1)
        out = tmp_path / "out"
        for config in render_fleet(on_platform(fleet, "frr"), reveal_secrets=False):
            files = dict(config.companions)
            path = out / f"{config.name}.swanctl.conf"
            path.parent.mkdir(exist_ok=True)
            path.write_text(files["swanctl.conf"])
            (out / "transport").mkdir(exist_ok=True)
            for name in ("lte1", "lte2", "wan1", "wan2"):  # what a lease hook writes for dynamic links
                (out / "transport" / f"{name}.conf").write_text("local_addrs = 192.0.2.77\n")
            result = subprocess.run(
                [swanctl, "--load-all", "--file", str(path), "--uri", f"unix://{socket}"],
                capture_output=True, text=True, timeout=30, env=env,
            )  # fmt: skip
            connections = len(re.findall(r"^    \S+ : storestack-ike \{$", files["swanctl.conf"], re.M))
            assert result.returncode == 0, f"{config.name}: {result.stdout}{result.stderr}"
            assert f"successfully loaded {connections} connections" in result.stdout, result.stdout
            assert "loaded ike secret 'ike-" in result.stdout
            # The shared sections really reached every connection: IKEv2, DPD, PSK both ways.
            listed = subprocess.run(
                [swanctl, "--list-conns", "--uri", f"unix://{socket}"], capture_output=True, text=True, timeout=30, env=env
            ).stdout
            assert listed.count("IKEv2, no reauthentication") == connections, listed
            assert listed.count("dpd delay 10s") == connections
            assert listed.count("local pre-shared key authentication") == connections
            assert "TUNNEL, rekeying every 3240s" in listed
    finally:
        charon.terminate()
        charon.wait(timeout=10)
        for pid in subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout.split():
            subprocess.run(["kill", pid], check=False)
        subprocess.run(["ip", "netns", "del", namespace], check=False)


_PINGER = r"""
import socket, struct, sys, time
target, count, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
# An echo request (8, answered by 0) or, with "timestamp", a timestamp request (13, answered by 14).
request, answer, payload = (13, 14, bytes(12)) if sys.argv[4:] == ["timestamp"] else (8, 0, b"storestack")
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.setblocking(False)
def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
answered = set()
for seq in range(count):
    header = struct.pack("!BBHHH", request, 0, 0, 0x5151, seq)
    s.sendto(struct.pack("!BBHHH", request, 0, checksum(header + payload), 0x5151, seq) + payload, (target, 0))
    deadline = time.monotonic() + interval
    while True:
        try:
            data = s.recv(2048)
            if data[20] == answer and struct.unpack("!H", data[24:26])[0] == 0x5151:
                answered.add(struct.unpack("!H", data[26:28])[0])
        except BlockingIOError:
            if time.monotonic() >= deadline:
                break
            time.sleep(0.0005)
time.sleep(0.5)
while True:
    try:
        data = s.recv(2048)
        if data[20] == answer:
            answered.add(struct.unpack("!H", data[26:28])[0])
    except BlockingIOError:
        break
print(len(answered))
"""


def _two_tunnel_ends(ruleset: str) -> list[tuple[str, str, str]]:
    """Two store tunnels of a hub's ruleset, from its `tunnel_ends` set: (tunnel interface, the
    store's inside address, the hub's), on two interfaces and from two stores' addresses."""
    elements = re.search(r"set tunnel_ends \{[^}]*elements = \{ ([^}]*) \}", ruleset)
    assert elements, "no tunnel_ends set in the hub's ruleset"
    ends = re.findall(r'"([^"]+)" \. ([\d.]+) \. ([\d.]+)', elements.group(1))
    second = next(end for end in ends[1:] if end[0] != ends[0][0] and end[1] != ends[0][1])
    return [ends[0], second]


@pytest.mark.lab
@pytest.mark.parametrize(("kind", "side"), [("echo", "dc"), ("echo", "tunnel"), ("timestamp", "tunnel")])
def test_the_hub_limits_icmp_per_source_so_one_flood_does_not_starve_other_stores_probes(
    fleet: Fleet, kind: str, side: str
) -> None:
    """The rendered hub ruleset in a namespace of its own, two senders behind it: one floods
    requests (one ICMP id: conntrack calls it established after the first answer), the other
    probes like an SLA operation: echo (VRP NQA, FortiOS, IOS-XE icmp-echo) or timestamp (an
    IOS-XE store's icmp-jitter towards a Linux hub, which the hub used to drop). The flood is cut
    to its own rate; the probe is answered every time. (The former rule, a hub-wide rate after
    `ct state established accept`, answered the whole echo flood.) Both ways in: from the DC side
    (echo only: the hub answers no timestamp request there), and from inside two store tunnels
    (interface group 10, each sender at its tunnel's store end asking the hub's end), which the
    ruleset judges in a chain of their own."""
    _tool("nft")
    _require_root()
    (hub,) = [c for c in render_fleet(fleet, store_ids=[]) if c.name == "hq-hub1"]
    ruleset = _companion(hub, "nftables.conf")
    if side == "dc":
        links = [("sender0", "192.0.2.1/30", "192.0.2.2/30"), ("sender1", "192.0.2.5/30", "192.0.2.6/30")]
    else:
        links = [(ifname, f"{store}/31", f"{near}/31") for ifname, store, near in _two_tunnel_ends(ruleset)]
    (flood_target, probe_target) = (hub_address.split("/")[0] for _, _, hub_address in links)
    probed, flooded = _flood_and_probe(ruleset, links, (flood_target, probe_target), 40, 0.05, kind, group=10 if side == "tunnel" else None)
    assert probed == 40, f"the SLA probe ({kind}) lost answers to another source's flood"
    # 3000 requests as fast as they go: the flood gets its burst and its rate, far from all.
    assert flooded < 1500, flooded


def _flood_and_probe(
    ruleset: str, links: list[tuple[str, str, str]], targets: tuple[str, str], probes: int, interval: float,
    kind: str = "echo", group: int | None = None,
) -> tuple[int, int]:
    """An FRR appliance's ruleset in a namespace of its own, a flooding sender and a probing one
    behind it on `links` ((appliance-side interface, sender address, appliance address), the
    flooder's first; on `group` the appliance sides join that interface group): 3000 requests as
    fast as they go from one, `probes` at `interval` from the other, towards `targets`. The
    answers each got (probe, flood)."""
    prefix = f"ss-icmp-{os.getpid()}"
    own_ns, flood_ns, probe_ns = f"{prefix}-a", f"{prefix}-f", f"{prefix}-p"
    try:
        for namespace in (own_ns, flood_ns, probe_ns):
            subprocess.run(["ip", "netns", "add", namespace], check=True)
            subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True)
        for namespace, (own_side, address, own_address) in zip((flood_ns, probe_ns), links, strict=True):
            subprocess.run(["ip", "link", "add", "eth0", "netns", namespace, "type", "veth", "peer", own_side, "netns", own_ns], check=True)
            subprocess.run(["ip", "-n", namespace, "addr", "add", address, "dev", "eth0"], check=True)
            subprocess.run(["ip", "-n", own_ns, "addr", "add", own_address, "dev", own_side], check=True)
            if group is not None:
                subprocess.run(["ip", "-n", own_ns, "link", "set", own_side, "group", str(group)], check=True)
            for ns, ifname in ((namespace, "eth0"), (own_ns, own_side)):
                subprocess.run(["ip", "-n", ns, "link", "set", ifname, "up"], check=True)
        subprocess.run(["ip", "netns", "exec", own_ns, "nft", "-f", "-"], input=ruleset, text=True, check=True)
        flood = subprocess.Popen(
            ["ip", "netns", "exec", flood_ns, "python3", "-c", _PINGER, targets[0], "3000", "0", kind],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        probe = subprocess.run(
            ["ip", "netns", "exec", probe_ns, "python3", "-c", _PINGER, targets[1], str(probes), str(interval), kind],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        flooded, _ = flood.communicate(timeout=60)
        return int(probe.stdout), int(flooded)
    finally:
        for namespace in (own_ns, flood_ns, probe_ns):
            subprocess.run(["ip", "netns", "del", namespace], check=False)


@pytest.mark.lab
def test_a_store_answers_pings_per_source_so_one_internet_flood_does_not_silence_hqs(fleet: Fleet) -> None:
    """nw-0001's rendered ruleset in a namespace, a flooding internet host on wan1 and a
    monitoring host behind a LAN port: the flood (one ICMP id, established after its first
    answer) is cut to its own rate, and the monitoring host's pings are answered every time. (The
    former rule, one budget for all after `ct state established accept`, answered the whole
    flood.)"""
    _tool("nft")
    _require_root()
    (store,) = render_fleet(fleet, store_ids=["nw-0001"], hubs=[])
    ruleset = _companion(store, "nftables.conf")
    links = [("wan1", "198.51.100.1/30", "198.51.100.2/30"), ("lan0.30", "10.64.0.140/26", "10.64.0.129/26")]
    probed, flooded = _flood_and_probe(ruleset, links, ("198.51.100.2", "10.64.0.129"), 20, 0.2)
    assert probed == 20, "the LAN host's pings lost answers to an internet flood"
    assert flooded < 1500, flooded


def _loopback(frr_config: str) -> str:
    """The address on `lo` in the FRR config: what the appliance announces and manages from."""
    found = re.search(r"^interface lo\n(?: description .*\n)? ip address (\S+)/32$", frr_config, re.MULTILINE)
    assert found, "no loopback address in the FRR config"
    return found.group(1)


def test_frr_hosts_take_time_only_from_the_intent_servers_with_its_key(fleet: Fleet) -> None:
    """Stores and hubs: chrony asks every intent server with the first key from the loopback,
    never selects an unauthenticated source, serves no time, takes no remote chronyc; the host
    firewall admits NTP only as the answer to the host's own request."""
    mgmt = fleet.spec.management
    chrony_keys = [key for key in mgmt.ntp_keys if key.algorithm in ("aes128-cmac", "sha256")]
    key_id = chrony_keys[0].id
    configs = list(render_fleet(on_platform(fleet, "frr")))
    assert {config.role for config in configs} == {"edge", "hub"}
    for config in configs:
        chrony = [line for line in _companion(config, "chrony.conf").splitlines() if not line.startswith("#")]
        sources = [line for line in chrony if line.split()[0] in ("server", "pool", "peer")]
        assert sources == [f"server {server} key {key_id} iburst version 4" for server in mgmt.ntp_servers]
        for directive in ("authselectmode require", "keyfile /etc/chrony/chrony.keys", "port 0", "deny all", "cmdport 0"):
            assert directive in chrony, f"{config.name}: {directive!r} missing"
        assert f"bindacqaddress {_loopback(config.text)}" in chrony
        assert not any(line.split()[0] in ("allow", "bindcmdaddress", "confdir", "sourcedir") for line in chrony)
        assert any(line.startswith("makestep ") for line in chrony)
        keys = [line for line in _companion(config, "chrony.keys").splitlines() if not line.startswith("#")]
        # every key chrony can compute as the servers do, none it cannot (the HMAC-SHA256 key)
        chrony_types = {"aes128-cmac": "AES128", "sha256": "SHA256"}
        assert keys == [f"{key.id} {chrony_types[key.algorithm]} HEX:<redacted>" for key in chrony_keys]
        # NTP answers reach chronyd as replies only: no input rule opens port 123
        input_chain = _chain_rules(_companion(config, "nftables.conf"), "input")
        assert input_chain[0] == "type filter hook input priority filter; policy drop;"
        assert "ct state established,related accept" in input_chain
        assert not [rule for rule in input_chain if re.search(r"\b(?:123|ntp)\b", rule)], config.name


# Sends UDP datagrams from each (source address, TOS byte, count) given: what the hub's tunnels
# (from its public address, the DSCP copied to the ESP header) and the DC core LAN's own traffic
# (from its DC address) put on the hub's DC port.
_UDP_SENDER = r"""
import socket, sys
for spec in sys.argv[2:]:
    source, tos, count = spec.split(",")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, int(tos, 16))
    sock.bind((source, 0))
    for _ in range(int(count)):
        sock.sendto(b"x" * 100, (sys.argv[1], 4500))
"""


def _class_packets(namespace: str, device: str) -> dict[str, int]:
    """Packets sent per HTB class (by its comment-free id) and `direct` (what bypassed the tree)."""
    shown = subprocess.run(
        ["tc", "-n", namespace, "-s", "class", "show", "dev", device], capture_output=True, text=True, check=True
    ).stdout
    sent = {found.group(1): int(found.group(2)) for found in re.finditer(r"class htb (1:[0-9a-f]+) .*\n Sent \d+ bytes (\d+) pkt", shown)}
    root = subprocess.run(
        ["tc", "-n", namespace, "-s", "qdisc", "show", "dev", device], capture_output=True, text=True, check=True
    ).stdout
    direct = re.search(r"qdisc htb 1: .*direct_packets_stat (\d+)", root)
    assert direct is not None, root
    return {**sent, "direct": int(direct.group(1))}


def test_the_hub_queues_its_tunnels_by_class_and_lets_the_dc_lan_traffic_bypass_the_uplink_rate(fleet: Fleet) -> None:
    """hq-hub1's rendered qos.tc (the sample chain gives it uplink_mbps: 1000) loaded with
    `tc -batch` on its DC port in a namespace: the tunnels' packets (from the public address)
    land in the intent's classes by their DSCP (EF voice, AF31 POS, CS6 BFD/BGP control, the
    rest best effort) under a root shaped to 95% of the uplink; the same DSCPs from the hub's DC
    address (its traffic to HQ) are queued in no class and never held to the uplink's rate."""
    _tool("tc")
    _require_root()
    (hub,) = [c for c in render_fleet(fleet, store_ids=[]) if c.name == "hq-hub1"]
    queues = _companion(hub, "qos.tc")
    assert "qdisc replace dev dc root handle 1: htb default 0" in queues
    assert "class add dev dc parent 1: classid 1:1 htb rate 950000kbit ceil 950000kbit" in queues
    classes = dict(re.findall(r"classid (1:[0-9a-f]+) htb .*  # (\S+)", queues))
    by_name = {name: classid for classid, name in classes.items()}
    namespace = f"ss-hubqos-{os.getpid()}"
    try:
        subprocess.run(["ip", "netns", "add", namespace], check=True)
        # no IPv6 (router solicitations, MLD): every packet on the port is one of the sender's
        for sysctl in ("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"):
            subprocess.run(["ip", "netns", "exec", namespace, "sysctl", "-qw", sysctl], check=True)
        steps = [
            ["link", "add", "dc", "type", "veth", "peer", "name", "core"],
            ["link", "set", "dc", "up"],
            ["link", "set", "core", "up"],
            ["addr", "add", "10.0.0.4/28", "dev", "dc"],
            ["addr", "add", "203.0.113.11/32", "dev", "dc"],
            ["neigh", "add", "10.0.0.1", "lladdr", "02:00:00:00:00:01", "dev", "dc"],
        ]
        for step in steps:
            subprocess.run(["ip", "-n", namespace, *step], check=True)
        subprocess.run(["ip", "netns", "exec", namespace, "tc", "-batch", "-"], input=queues, text=True, check=True)
        sends = ["203.0.113.11,0xb8,3", "203.0.113.11,0x68,4", "203.0.113.11,0xc0,5", "203.0.113.11,0x0,6",
                 "10.0.0.4,0xb8,7", "10.0.0.4,0x0,8"]  # fmt: skip
        subprocess.run(["ip", "netns", "exec", namespace, "python3", "-c", _UDP_SENDER, "10.0.0.1", *sends], check=True)
        sent = _class_packets(namespace, "dc")
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False)
    assert sent[by_name["voice"]] == 3
    assert sent[by_name["pos"]] == 4
    assert sent[by_name["control"]] == 5
    assert sent[by_name["best-effort"]] == 6
    assert sent["direct"] == 15  # the DC address's EF and unmarked packets: in no class


_SEND_FROM = r"""
import socket, sys
source, target = sys.argv[1], sys.argv[2]
for spec in sys.argv[3:]:
    tos, count = spec.split(",")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, int(tos, 16))
    sock.bind((source, 0))
    for _ in range(int(count)):
        sock.sendto(b"x" * 100, (target, 9))
"""


def test_the_hub_re_marks_network_control_from_the_dc_before_its_uplink_queues(fleet: Fleet) -> None:
    """hq-hub1's rendered nftables.conf and qos.tc in a namespace, a DC host in another: what the
    hub forwards from its DC port towards a store (here into a VXLAN tunnel from the public address
    with `tos inherit`, which copies the inner DSCP to the outer header as the ESP header does)
    is queued on the uplink by the DSCP it leaves with. A DC host's CS6 and CS7 are re-marked to
    default on the way in (`dc_trust`), so they land in best effort, not in the control class
    that keeps the stores' BGP, BFD and IKE alive; its EF (a fleet class) is kept and queued as
    voice. Without the dc_trust chain the same CS6 packets take the control class."""
    _tool("tc")
    _tool("nft")
    _require_root()
    (hub,) = [c for c in render_fleet(fleet, store_ids=[]) if c.name == "hq-hub1"]
    rules = _chain_rules(_companion(hub, "nftables.conf"), "dc_trust")
    assert rules == [
        "type filter hook forward priority mangle; policy accept;",
        'iifname "dc" ip dscp cs6 ip dscp set cs0',
        'iifname "dc" ip dscp cs7 ip dscp set cs0',
    ], rules
    classes = dict(re.findall(r"classid (1:[0-9a-f]+) htb .*  # (\S+)", _companion(hub, "qos.tc")))
    by_name = {name: classid for classid, name in classes.items()}
    hub_ns, dc_ns = f"ss-hubtrust-{os.getpid()}", f"ss-hubtrust-dc-{os.getpid()}"
    manager, store_host = "10.0.250.10", "10.64.1.10"  # a management workstation, a store's host
    try:
        for namespace in (hub_ns, dc_ns):
            subprocess.run(["ip", "netns", "add", namespace], check=True)
            for sysctl in ("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"):
                subprocess.run(["ip", "netns", "exec", namespace, "sysctl", "-qw", sysctl], check=True)
        subprocess.run(["ip", "netns", "exec", hub_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True)
        steps = [
            (hub_ns, ["link", "add", "dc", "type", "veth", "peer", "name", "core", "netns", dc_ns]),
            (hub_ns, ["link", "set", "dc", "up"]),
            (hub_ns, ["addr", "add", "10.0.0.3/28", "dev", "dc"]),
            (hub_ns, ["addr", "add", "203.0.113.11/32", "dev", "dc"]),
            (hub_ns, ["route", "add", "10.0.250.0/24", "via", "10.0.0.1"]),
            (hub_ns, ["route", "add", "198.51.100.9/32", "via", "10.0.0.1"]),
            # a store tunnel from the public address (group 10 and a store link's name, as the
            # hub's store tunnels: the management permit takes the set of those names)
            (hub_ns, ["link", "add", "nw-0001-wan1", "group", "10", "type", "vxlan", "id", "10", "local", "203.0.113.11",
                      "remote", "198.51.100.9", "dstport", "4789", "tos", "inherit"]),
            (hub_ns, ["link", "set", "nw-0001-wan1", "up"]),
            (hub_ns, ["addr", "add", "192.0.2.1/31", "dev", "nw-0001-wan1"]),
            (hub_ns, ["neigh", "add", "192.0.2.0", "lladdr", "02:00:00:00:00:02", "dev", "nw-0001-wan1"]),
            (hub_ns, ["route", "add", "10.64.1.0/24", "via", "192.0.2.0", "dev", "nw-0001-wan1"]),
            (dc_ns, ["link", "set", "core", "up"]),
            (dc_ns, ["addr", "add", "10.0.0.1/28", "dev", "core"]),
            (dc_ns, ["addr", "add", f"{manager}/32", "dev", "core"]),
            (dc_ns, ["route", "add", "10.64.0.0/12", "via", "10.0.0.3"]),
        ]  # fmt: skip
        for namespace, step in steps:
            subprocess.run(["ip", "-n", namespace, *step], check=True)
        in_hub = ["ip", "netns", "exec", hub_ns]
        subprocess.run([*in_hub, "nft", "-f", "-"], input=_companion(hub, "nftables.conf"), text=True, check=True)
        subprocess.run([*in_hub, "tc", "-batch", "-"], input=_companion(hub, "qos.tc"), text=True, check=True)
        # a rule added at an index later (the lab's VXLAN rule, an operator's): nft 1.0.6 crashed
        # on it while the ruleset held an anonymous set of DSCPs
        subprocess.run([*in_hub, "nft", "add", "rule", "inet", "storestack", "input", "index", "0", "counter"], check=True)
        send = ["ip", "netns", "exec", dc_ns, "python3", "-c", _SEND_FROM, manager, store_host]
        before = _class_packets(hub_ns, "dc")
        subprocess.run([*send, "0xc0,5", "0xe0,3", "0xb8,4"], check=True)
        trusted = _class_packets(hub_ns, "dc")
        subprocess.run([*in_hub, "nft", "delete", "chain", "inet", "storestack", "dc_trust"], check=True)
        subprocess.run([*send, "0xc0,6"], check=True)
        untrusted = _class_packets(hub_ns, "dc")
    finally:
        for namespace in (hub_ns, dc_ns):
            subprocess.run(["ip", "netns", "del", namespace], check=False)
    sent = {classid: trusted[classid] - before.get(classid, 0) for classid in trusted}
    assert sent[by_name["control"]] == 0, sent
    assert sent[by_name["best-effort"]] == 8, sent  # CS6 and CS7, re-marked to default
    assert sent[by_name["voice"]] == 4, sent  # EF: the fleet's class, kept
    assert untrusted[by_name["control"]] - trusted[by_name["control"]] == 6, untrusted


def test_a_hub_without_an_uplink_rate_shapes_nothing(fleet: Fleet) -> None:
    hubs = {name: hub.model_copy(update={"uplink_mbps": None}) for name, hub in fleet.hubs.items()}
    unknown = Fleet(fleet.spec, hubs, {store.id: store for store in fleet}, fleet.root)
    for config in render_fleet(unknown, store_ids=[]):
        queues = _companion(config, "qos.tc")
        assert not [line for line in queues.splitlines() if line and not line.startswith("#")], queues
        assert "No uplink rate in the inventory" in queues


_GUEST_SENDER = r"""
import socket, sys
source, target = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((source, 0))
for _ in range(5):
    sock.sendto(b"x" * 100, (target, 500))  # looks like IKE to the queue filters
    sock.sendto(bytes(4) + b"x" * 100, (target, 4500))  # IKE behind NAT: the zero non-ESP marker
"""


def test_guest_wifi_leaves_by_its_breakout_links_best_effort_queue_whatever_it_sends(fleet: Fleet) -> None:
    """nw-0004's rendered nftables.conf and its breakout link's queues (qos.tc) in a namespace, a
    guest phone and an internet host in two more: the guest's UDP to port 500, and to 4500 with
    the zero non-ESP marker (what the store's own IKE looks like to the queue filters), leaves by
    wan1's best-effort class, not the control class that keeps the store's IKE, BGP and BFD
    alive. Without the guest_queue chain the same packets take the control class."""
    _tool("tc")
    _tool("nft")
    _require_root()
    (config,) = render_fleet(fleet, store_ids=["nw-0004"], hubs=[])
    guest = fleet.store("nw-0004").segments["guest-wifi"]
    queues = "\n".join(line for line in _companion(config, "qos.tc").splitlines() if " dev wan1 " in line)
    by_name = {name: classid for classid, name in re.findall(r"classid (1:[0-9a-f]+) htb .*  # (\S+)", queues)}
    assert _chain_rules(_companion(config, "nftables.conf"), "guest_queue")[1:] == [
        f'iifname "lan0.40" oifname "wan1" meta priority set {by_name["best-effort"]}'
    ]
    store_ns, phone_ns, internet_ns = (f"ss-guestq-{role}-{os.getpid()}" for role in ("store", "phone", "internet"))
    gateway, phone = str(guest.subnet.network_address + 1), str(guest.subnet.network_address + 10)
    try:
        for namespace in (store_ns, phone_ns, internet_ns):
            subprocess.run(["ip", "netns", "add", namespace], check=True)
            for sysctl in ("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"):
                subprocess.run(["ip", "netns", "exec", namespace, "sysctl", "-qw", sysctl], check=True)
        subprocess.run(["ip", "netns", "exec", store_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True)
        steps = [
            (store_ns, ["link", "add", "lan0.40", "type", "veth", "peer", "name", "eth0", "netns", phone_ns]),
            (store_ns, ["link", "add", "wan1", "type", "veth", "peer", "name", "eth0", "netns", internet_ns]),
            (store_ns, ["addr", "add", f"{gateway}/{guest.subnet.prefixlen}", "dev", "lan0.40"]),
            (store_ns, ["addr", "add", "198.51.100.2/30", "dev", "wan1"]),
            (store_ns, ["link", "set", "lan0.40", "up"]),
            (store_ns, ["link", "set", "wan1", "up"]),
            (store_ns, ["route", "add", "default", "via", "198.51.100.1"]),
            (phone_ns, ["addr", "add", f"{phone}/{guest.subnet.prefixlen}", "dev", "eth0"]),
            (phone_ns, ["link", "set", "eth0", "up"]),
            (phone_ns, ["route", "add", "default", "via", gateway]),
            (internet_ns, ["addr", "add", "198.51.100.1/30", "dev", "eth0"]),
            (internet_ns, ["link", "set", "eth0", "up"]),
        ]  # fmt: skip
        for namespace, step in steps:
            subprocess.run(["ip", "-n", namespace, *step], check=True)
        in_store = ["ip", "netns", "exec", store_ns]
        subprocess.run([*in_store, "nft", "-f", "-"], input=_companion(config, "nftables.conf"), text=True, check=True)
        subprocess.run([*in_store, "tc", "-batch", "-"], input=queues + "\n", text=True, check=True)
        send = ["ip", "netns", "exec", phone_ns, "python3", "-c", _GUEST_SENDER, phone, "198.51.100.1"]
        # Both ends' neighbour entries set by hand: ARP on wan1 would be queued as best effort too.
        for namespace, device, peer_ns, peer_device, peer in (
            (store_ns, "wan1", internet_ns, "eth0", "198.51.100.1"),
            (internet_ns, "eth0", store_ns, "wan1", "198.51.100.2"),
        ):
            shown = subprocess.run(["ip", "-n", peer_ns, "-j", "link", "show", peer_device], capture_output=True, text=True, check=True)
            mac = json.loads(shown.stdout)[0]["address"]
            subprocess.run(["ip", "-n", namespace, "neigh", "replace", peer, "lladdr", mac, "dev", device, "nud", "permanent"], check=True)
        before = _class_packets(store_ns, "wan1")
        subprocess.run(send, check=True)
        queued = _class_packets(store_ns, "wan1")
        subprocess.run([*in_store, "nft", "delete", "chain", "inet", "storestack", "guest_queue"], check=True)
        subprocess.run(send, check=True)
        unqueued = _class_packets(store_ns, "wan1")
    finally:
        for namespace in (store_ns, phone_ns, internet_ns):
            subprocess.run(["ip", "netns", "del", namespace], check=False)
    sent = {classid: queued[classid] - before.get(classid, 0) for classid in queued}
    assert sent[by_name["control"]] == 0 and sent[by_name["best-effort"]] == 10, sent
    assert unqueued[by_name["control"]] - queued[by_name["control"]] == 10, unqueued


def test_the_hub_answers_timestamp_requests_from_inside_the_store_tunnels_only(fleet: Fleet) -> None:
    """An ICMP timestamp request (type 13) tells its sender the host's clock (CVE-1999-0524), and
    the intent answers none from the internet (`ManagementAccess.icmp_timestamps_from_internet`):
    the only ones a hub needs are an IOS-XE store's icmp-jitter probes, inside the tunnels. On its
    DC core LAN port, where the internet reaches its public IKE endpoint, hq-hub1 answers echo
    requests (HQ's monitoring, anyone's ping of the endpoint) and drops timestamp requests, to
    each of its addresses; from a store tunnel's far end to its hub end it still answers both.
    (The DC side used to take timestamp requests from anyone, within the per-sender limit.)"""
    (hub,) = [c for c in render_fleet(fleet, store_ids=[], hubs=["hq-hub1"]) if c.name == "hq-hub1"]
    ruleset = _companion(hub, "nftables.conf")
    intent = NetworkIntent(fleet).hub("hq-hub1")
    dc = re.search(r'iifname "(\S+)" ip saddr \{ [^}]* \} tcp dport 179 accept', ruleset)
    assert dc, "no DC port in the hub's ruleset"
    internet = ipaddress.IPv4Address("198.18.7.7")
    for address in (intent.public_address, intent.loopback, intent.dc.address.ip):
        echo = chain_verdict(ruleset, "input", Packet("icmp", internet, address), dc.group(1), from_tunnel=False)
        timestamp = chain_verdict(
            ruleset, "input", Packet("icmp", internet, address, icmp=(13, 0)), dc.group(1), from_tunnel=False
        )
        assert echo.forwarded and not timestamp.forwarded, (address, echo, timestamp)
    for ifname, store_end, hub_end in _two_tunnel_ends(ruleset):
        probe = Packet("icmp", ipaddress.IPv4Address(store_end), ipaddress.IPv4Address(hub_end), icmp=(13, 0))
        assert chain_verdict(ruleset, "input", probe, ifname).forwarded, (ifname, probe)


def test_no_vpc_host_pings_the_store_router_through_an_aws_tunnel(fleet: Fleet) -> None:
    """The clouds open nothing towards a store (README "Network design"), and IOS-XE's and VRP's
    FROM-AWS-<LINK>-T<n> take ICMP only between an AWS tunnel's two inside addresses: nw-0001's
    ruleset drops an echo request from a VPC workload, through either AWS tunnel, to the
    router's loopback, a segment gateway, its WAN address or the tunnel's own address, and still
    answers the tunnel's far end at this end, HQ's monitoring through a hub tunnel, and the
    answers to the router's own flows. (Every one of those pings used to be answered.)"""
    (store,) = render_fleet(fleet, store_ids=["nw-0001"], hubs=[])
    ruleset = _companion(store, "nftables.conf")
    intent = NetworkIntent(fleet).store("nw-0001")
    ends = re.findall(r'"(aws[^"]+)" \. ([\d.]+) \. ([\d.]+)', ruleset)
    assert len(ends) == 2, ends
    workload = ipaddress.IPv4Address("10.16.0.20")
    router = [intent.loopback, ipaddress.IPv4Address("10.64.0.1"), ipaddress.IPv4Address("198.51.100.2")]
    for ifname, far, near in ends:
        for address in [*router, ipaddress.IPv4Address(near)]:
            verdict = chain_verdict(ruleset, "input", Packet("icmp", workload, address), ifname)
            assert not verdict.forwarded, (ifname, address, verdict)
        assert chain_verdict(ruleset, "input", Packet("icmp", ipaddress.IPv4Address(far), ipaddress.IPv4Address(near)), ifname).forwarded
        answer = Packet("udp", workload, intent.loopback, 40000, source_port=123, answer=True)
        assert chain_verdict(ruleset, "input", answer, ifname).forwarded
    monitoring = ipaddress.IPv4Address("10.0.250.10")
    hub_tunnel = re.search(r'set tunnel_ends \{[^}]*elements = \{ "(xfrm\d+)"', ruleset)
    assert hub_tunnel, "no hub tunnel in the store's tunnel_ends"
    assert chain_verdict(ruleset, "input", Packet("icmp", monitoring, intent.loopback), hub_tunnel.group(1)).forwarded


def test_a_hub_takes_management_at_its_loopback_and_management_address_only(fleet: Fleet) -> None:
    """hq-hub1's input chain, for HQ's management ranges. On its DC core LAN port, where the DC
    edge also delivers the internet's packets to the hub's public IKE address: SSH and SNMP at
    the loopback (where snmpd listens) only; neither at the public IKE address nor the DC LAN
    address, so a spoofed management source from the internet gets no SYN-ACK or SNMP answer
    reflected at HQ's management hosts. On its management port `mgmt` (the management LAN): SSH
    at the inventory's management address (which the push connects to), from the management
    ranges only. The DC port took SSH at the management address, which nothing outside the lab
    routed there, and the hub had no management port."""
    (hub,) = [c for c in render_fleet(fleet, store_ids=[], hubs=["hq-hub1"]) if c.name == "hq-hub1"]
    ruleset = _companion(hub, "nftables.conf")
    intent = NetworkIntent(fleet).hub("hq-hub1")
    management = fleet.hubs["hq-hub1"].management_address
    dc = re.search(r'iifname "(\S+)" ip saddr \{ [^}]* \} tcp dport 179 accept', ruleset)
    assert dc, "no DC port in the hub's ruleset"
    assert intent.management_port == "mgmt"
    operator = next(intent.management.ranges[0].hosts())

    def taken(protocol: str, address: ipaddress.IPv4Address, port: int, on: str = dc.group(1), source: ipaddress.IPv4Address = operator) -> bool:
        packet = Packet(protocol, source, address, port, source_port=40000)
        return chain_verdict(ruleset, "input", packet, on, from_tunnel=False).forwarded

    assert taken("tcp", intent.loopback, 22) and taken("udp", intent.loopback, 161)
    for address in (intent.public_address, intent.dc.address.ip, management):
        assert not taken("tcp", address, 22), address
        assert not taken("udp", address, 161), address
    assert taken("tcp", management, 22, on="mgmt")
    # On the management port nothing but SSH at the management address from the management ranges:
    # not from another source on the LAN, not at the loopback, not SNMP (snmpd is at the loopback).
    outsider = ipaddress.IPv4Address("192.0.2.10")
    assert not taken("tcp", management, 22, on="mgmt", source=outsider)
    assert not taken("tcp", intent.loopback, 22, on="mgmt")
    assert not taken("udp", management, 161, on="mgmt")
    assert not taken("udp", intent.loopback, 161, on="mgmt")


def test_a_hub_forwards_nothing_in_or_out_of_its_management_port(fleet: Fleet) -> None:
    """hq-hub1's forward chain passes nothing between its management port and the DC LAN, the
    store tunnels or the cloud VPNs, either way, whatever the source: the management LAN is no
    path to the stores, and the stores and the DC no path into the management LAN (the main
    table holds no route into it either: `hub_management_routing`)."""
    (hub,) = [c for c in render_fleet(fleet, store_ids=[], hubs=["hq-hub1"]) if c.name == "hq-hub1"]
    ruleset = _companion(hub, "nftables.conf")
    intent = NetworkIntent(fleet).hub("hq-hub1")
    operator = next(intent.management.ranges[0].hosts())
    store = fleet.store("nw-0001")
    till = next(ipaddress.IPv4Network(store.segments["pos"].subnet).hosts())
    tunnel = re.search(r'set store_tunnels \{[^}]*elements = \{ "([^"]+)"', ruleset)
    assert tunnel, "no store tunnel in the hub's ruleset"
    dc_port = re.search(r'iifname "(\S+)" ip saddr \{ [^}]* \} tcp dport 179 accept', ruleset)
    assert dc_port, "no DC port in the hub's ruleset"
    dc = dc_port.group(1)
    # HQ's management host reaches the store through the DC port (as before) ...
    to_store = Packet("tcp", operator, till, 22, source_port=40000)
    assert chain_verdict(ruleset, "forward", to_store, dc, from_tunnel=False, oifname=tunnel.group(1)).forwarded
    # ... never through the management port, and nothing reaches the management LAN through the hub.
    assert not chain_verdict(ruleset, "forward", to_store, "mgmt", from_tunnel=False, oifname=tunnel.group(1)).forwarded
    assert not chain_verdict(ruleset, "forward", to_store, "mgmt", from_tunnel=False, oifname=dc).forwarded
    answer = Packet("tcp", till, operator, 22, source_port=40000)
    assert not chain_verdict(ruleset, "forward", answer, None, oifname="mgmt").forwarded
    assert not chain_verdict(ruleset, "forward", answer, dc, from_tunnel=False, oifname="mgmt").forwarded
    established = Packet("tcp", till, operator, 22, tcp_flags=frozenset({"ack"}), source_port=40000, answer=True)
    assert not chain_verdict(ruleset, "forward", established, None, oifname="mgmt").forwarded


def test_a_hub_takes_management_from_hqs_ranges_on_its_dc_lan_only(fleet: Fleet) -> None:
    """hq-hub1's rendered ruleset in a namespace: SNMP from an HQ management address reaches the
    hub's loopback on its DC core LAN port; the same range arriving on a WAN port (a spoofed
    source from the internet) does not (it used to: any non-tunnel port took SSH and SNMP from
    those ranges), nor the same source on the DC port at the hub's public IKE address, which the
    internet reaches on that port (it used to: any of the hub's addresses took it)."""
    nft = _tool("nft")
    _require_root()
    (hub,) = [c for c in render_fleet(fleet, store_ids=[], hubs=["hq-hub1"]) if c.name == "hq-hub1"]
    ruleset = _companion(hub, "nftables.conf")
    dc = re.search(r'iifname "(\S+)" ip saddr \{ [^}]* \} tcp dport 179 accept', ruleset)
    management = re.search(r"set hq_management \{[^}]*elements = \{ ([\d./]+)", ruleset)
    assert dc and management, "no DC port or management range in the hub's ruleset"
    hosts = ipaddress.IPv4Network(management.group(1)).hosts()
    from_dc, from_wan = str(next(hosts)), str(next(hosts))
    intent = NetworkIntent(fleet).hub("hq-hub1")
    hub_address, public = str(intent.loopback), str(intent.public_address)
    prefix = f"ss-mgmt-{os.getpid()}"
    hub_ns, sender_ns = f"{prefix}-h", f"{prefix}-s"
    ports = ((dc.group(1), "eth-dc", from_dc), ("wan9", "eth-wan", from_wan))
    try:
        for namespace in (hub_ns, sender_ns):
            subprocess.run(["ip", "netns", "add", namespace], check=True)
            subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "netns", "exec", hub_ns, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"], check=True)
        for address in (hub_address, public):
            subprocess.run(["ip", "-n", hub_ns, "addr", "add", f"{address}/32", "dev", "lo"], check=True)
        for hub_port, sender_port, source in ports:
            subprocess.run(["ip", "link", "add", hub_port, "netns", hub_ns, "type", "veth", "peer", sender_port, "netns", sender_ns], check=True)
            subprocess.run(["ip", "-n", hub_ns, "link", "set", hub_port, "up"], check=True)
            subprocess.run(["ip", "-n", sender_ns, "addr", "add", f"{source}/32", "dev", sender_port], check=True)
            subprocess.run(["ip", "-n", sender_ns, "link", "set", sender_port, "up"], check=True)
            for address in (hub_address, public):
                subprocess.run(["ip", "-n", sender_ns, "route", "add", address, "dev", sender_port, "src", source, "table", "10" if sender_port == "eth-dc" else "11"], check=True)
            subprocess.run(["ip", "-n", sender_ns, "rule", "add", "from", source, "lookup", "10" if sender_port == "eth-dc" else "11"], check=True)
        subprocess.run(["ip", "netns", "exec", hub_ns, nft, "-f", "-"], input=ruleset, text=True, check=True)
        loopback_sends = [(source, hub_address, 161) for _, _, source in ports]
        received = _udp_arrivals(hub_ns, (161,), sender_ns, loopback_sends)
        at_public = _udp_arrivals(hub_ns, (161,), sender_ns, [(from_dc, public, 161)])
    finally:
        for namespace in (hub_ns, sender_ns):
            subprocess.run(["ip", "netns", "del", namespace], check=False)
    assert received == {f"{from_dc}:161"}
    assert at_public == set()
    # SSH takes the same port at the loopback; the management address, on the management port
    # (whose rules come first, before its closing drop): these two, in whichever order.
    assert sorted(line.strip() for line in ruleset.splitlines() if "dport 22 " in line) == sorted([
        f'iifname "{dc.group(1)}" ip saddr @hq_management ip daddr {{ {hub_address} }} tcp dport 22 accept',
        f'iifname "mgmt" ip saddr @hq_management ip daddr {fleet.hubs["hq-hub1"].management_address} tcp dport 22 accept',
    ])


def test_a_store_pings_the_hub_loopback_from_its_own_tunnel_addresses_only(fleet: Fleet) -> None:
    """hq-hub1 answers an echo request to its loopback (`store_forwarding.pingable`) from a store's
    tunnel address on that store's own tunnels, and drops the same request on another store's
    tunnel: its echo reply would leave by the store whose address it carries, so a store could
    send the hub's replies at another store's router (as IOS-XE's and VRP's per-store filters
    already refuse)."""
    (hub,) = [c for c in render_fleet(fleet, store_ids=[], hubs=["hq-hub1"]) if c.name == "hq-hub1"]
    ruleset = _companion(hub, "nftables.conf")
    intent = NetworkIntent(fleet).hub("hq-hub1")
    (loopback,) = intent.store_forwarding.pingable
    store_tunnels = re.search(r"set store_tunnels \{[^}]*elements = \{ ([^}]*) \}", ruleset)
    ends = re.search(r"set tunnel_ends \{[^}]*elements = \{ ([^}]*) \}", ruleset)
    assert store_tunnels and ends, "no store_tunnels or tunnel_ends set in the hub's ruleset"
    # Each store tunnel's interface and the store's end of it (the interfaces are named
    # <store>-<link>), for three stores: nw-0001 and nw-0002 each with a fibre and an LTE link.
    tunnels = {
        ifname: store_end
        for ifname, store_end, _ in re.findall(r'"([^"]+)" \. ([\d.]+) \. ([\d.]+)', ends.group(1))
        if f'"{ifname}"' in store_tunnels.group(1) and ifname.startswith(("nw-0001-", "nw-0002-", "nw-0003-"))
    }
    assert len(tunnels) >= 6, tunnels
    for ifname in sorted(tunnels):
        for other, address in tunnels.items():
            ping = Packet("icmp", ipaddress.IPv4Address(address), loopback)
            verdict = chain_verdict(ruleset, "input", ping, ifname)
            same_store = other.rsplit("-", 1)[0] == ifname.rsplit("-", 1)[0]
            assert verdict.forwarded == same_store, (ifname, other, address, verdict)


# Packets from HQ towards a store, as the DC core's side of a flow: raw, so each carries the TCP
# flags and TTL the test gives it. argv: source, destination, then `proto:sport:flags:ttl` each.
_DC_SENDER = r"""
import socket, struct, sys
source, destination = sys.argv[1], sys.argv[2]
def checksum(data):
    data += b"\0" * (len(data) % 2)
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
src, dst = socket.inet_aton(source), socket.inet_aton(destination)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for spec in sys.argv[3:]:
    proto, sport, flags, ttl = spec.split(":")
    if proto == "tcp":
        bits = sum({"F": 1, "S": 2, "R": 4, "A": 16}[f] for f in flags)
        header = struct.pack("!HHIIBBHHH", int(sport), 40000, 1000, 2000 if "A" in flags else 0, 5 << 4, bits, 64240, 0, 0)
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(header))
        l4 = header[:16] + struct.pack("!H", checksum(pseudo + header)) + header[18:]
        number = 6
    elif proto == "icmp":
        l4 = struct.pack("!BBHHH", 8, 0, 0, int(sport), 1)
        l4 = l4[:2] + struct.pack("!H", checksum(l4)) + l4[4:]
        number = 1
    else:
        l4 = struct.pack("!HHHH", int(sport), 40000, 8, 0)
        number = 17
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, int(ttl), number, 0, src, dst)
    s.sendto(ip + l4, (destination, 0))
"""


def test_an_frr_hub_passes_the_dcs_packets_of_a_flow_it_did_not_see_to_its_partner(fleet: Fleet) -> None:
    """hq-hub1's rendered ruleset and policy rules in a namespace, on a DC LAN with HQ and the
    partner hub (hq-hub2's DC address), a store's tunnel behind it (the store's prefix routed
    there, as BGP would): HQ's side of a flow hq-hub1 never saw (a SYN-ACK: invalid; a mid-stream
    ACK, a UDP answer: new, no pure SYN) goes to the partner, with TTL 255, and not into the
    store's tunnel, where the store's flow is not; HQ opening a flow (a pure SYN) and a packet a
    hub already passed on (TTL 255) are never passed on. Before, all of them were dropped or
    followed BGP: the SYN-ACK never reached the hub that saw the SYN, and the flow failed."""
    _tool("nft")
    _require_root()
    from storestack.devices.views import ViewBuilder

    (hub,) = [c for c in render_fleet(fleet, store_ids=[]) if c.name == "hq-hub1"]
    view = ViewBuilder(fleet).hub_view("hq-hub1")
    (partner,) = view.intent.return_partners
    store_net = partner.destinations[0]
    store_host = str(store_net.network_address + 1)
    tunnel = next(peer.ifname for peer in view.peers if peer.store.store_id == partner.stores[0] and peer.link_index == 0)
    lan = ipaddress.IPv4Interface(view.dc.address.cidr).network
    hub_dc = f"{view.dc.address.ip}/{lan.prefixlen}"
    partner_dc = f"{partner.dc_address}/{lan.prefixlen}"
    hq_dc = next(f"{a}/{lan.prefixlen}" for a in lan.hosts() if str(a) not in (str(view.dc.address.ip), str(partner.dc_address), *view.dc.routers))
    hq_source = "192.0.2.80"  # an HQ server behind the DC LAN
    prefix = f"splt-{os.getpid()}"
    hub_ns, hq_ns, partner_ns, store_ns, lan_ns = (f"{prefix}-{n}" for n in ("hub", "hq", "partner", "store", "lan"))
    namespaces = (hub_ns, hq_ns, partner_ns, store_ns, lan_ns)

    def run(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]

    try:
        for namespace in namespaces:
            run("ip", "netns", "add", namespace)
            run("ip", "-n", namespace, "link", "set", "lo", "up")
        run("ip", "-n", lan_ns, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", lan_ns, "link", "set", "br0", "up")
        for namespace, ifname, address in ((hq_ns, "eth0", hq_dc), (partner_ns, "eth0", partner_dc), (hub_ns, view.dc.ifname, hub_dc)):
            port = f"p-{namespace[-3:]}"
            run("ip", "link", "add", ifname, "netns", namespace, "type", "veth", "peer", port, "netns", lan_ns)
            run("ip", "-n", lan_ns, "link", "set", port, "master", "br0", "up")
            run("ip", "-n", namespace, "addr", "add", address, "dev", ifname)
            run("ip", "-n", namespace, "link", "set", ifname, "up")
        run("ip", "link", "add", tunnel, "netns", hub_ns, "type", "veth", "peer", "eth0", "netns", store_ns)
        run("ip", "-n", hub_ns, "link", "set", tunnel, "group", "10", "up")
        run("ip", "-n", store_ns, "addr", "add", f"{store_host}/{store_net.prefixlen}", "dev", "eth0")
        run("ip", "-n", store_ns, "link", "set", "eth0", "up")
        run("ip", "netns", "exec", hub_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        run("ip", "-n", hq_ns, "addr", "add", f"{hq_source}/32", "dev", "lo")
        run("ip", "-n", hq_ns, "route", "add", str(store_net), "via", str(view.dc.address.ip))
        run("ip", "-n", hub_ns, "route", "add", f"{hq_source}/32", "via", hq_dc.split("/")[0])
        run("ip", "-n", hub_ns, "route", "add", str(store_net), "dev", tunnel)  # BGP's best path
        # What zebra installs from the partner table's route to the partner's loopback, resolved
        # through the hubs' iBGP to its DC address; the rules as the routing file renders them.
        table = str(PARTNER_TABLE + partner_slots(view.intent)[partner.hostname])
        run("ip", "-n", hub_ns, "route", "add", str(store_net), "via", str(partner.dc_address), "table", table)
        for line in _companion(hub, "routing").splitlines():
            if line.startswith("rule add fwmark"):
                run("ip", "-n", hub_ns, *line.split())
        run("ip", "netns", "exec", hub_ns, "nft", "-f", "-", input=_companion(hub, "nftables.conf"))
        # What arrives at the partner with TTL 255, and in the store's tunnel at all, per packet
        for namespace, ttl in ((partner_ns, "ip ttl 255 "), (store_ns, "")):
            counters = "\n".join(
                f'  ip saddr {hq_source} ip daddr {store_host} th sport {sport} {ttl}counter comment "{sport}"'
                for sport in (1001, 1002, 1003, 1004, 1005)
            )
            observer = f"table inet seen {{\n chain pre {{\n  type filter hook prerouting priority -400; policy accept;\n{counters}\n }}\n}}\n"
            run("ip", "netns", "exec", namespace, "nft", "-f", "-", input=observer)
        sends = ["tcp:1001:SA:64", "tcp:1002:A:64", "udp:1003::64", "tcp:1004:S:64", "udp:1005::255"]
        run("ip", "netns", "exec", hq_ns, "python3", "-c", _DC_SENDER, hq_source, store_host, *sends)
        time.sleep(0.5)

        def seen(namespace: str) -> dict[str, int]:
            listing = json.loads(run("ip", "netns", "exec", namespace, "nft", "-j", "list", "table", "inet", "seen").stdout)
            rules = [item["rule"] for item in listing["nftables"] if "rule" in item]
            return {r["comment"]: next(e["counter"]["packets"] for e in r["expr"] if "counter" in e) for r in rules}

        at_partner, in_tunnel = seen(partner_ns), seen(store_ns)
        # The SYN-ACK, the mid-stream ACK and the UDP answer: to the partner, with TTL 255, not
        # into this hub's own tunnel to the store
        assert {sport: at_partner[sport] for sport in ("1001", "1002", "1003")} == {"1001": 1, "1002": 1, "1003": 1}, (at_partner, in_tunnel)
        assert in_tunnel["1001"] == in_tunnel["1002"] == in_tunnel["1003"] == 0, (at_partner, in_tunnel)
        # HQ opening a flow, and a packet a hub already passed on: never to the partner
        assert at_partner["1004"] == at_partner["1005"] == 0, (at_partner, in_tunnel)
    finally:
        for namespace in namespaces:
            subprocess.run(["ip", "netns", "del", namespace], check=False)


def test_hq_management_polls_and_pings_a_shared_store_through_the_hub_the_dc_core_chose(fleet: Fleet) -> None:
    """Both hubs' rendered rulesets, policy rules and kernel settings in namespaces on one DC LAN,
    a store's tunnel behind each, and the routes BGP gives them in the steady state: HQ routes the
    store to hq-hub1, hq-hub2 routes it to hq-hub1 over iBGP (the primary's path). HQ's management
    ranges open non-TCP flows towards the store (an SNMP poll, a ping; new at the hub, and no SYN):
    they arrive in hq-hub1's tunnel. Before, hq-hub1 passed them to its partner as a flow it did
    not see, and hq-hub2, whose best path leads back over the DC LAN, dropped them (nothing
    forwards DC to DC there): no store answered SNMP or a ping from HQ. And a packet the hub
    passes to its partner draws no ICMP redirect towards its on-link sender on the DC LAN (the
    kernel sends one before the forward hook, shared_media being on by default, and a Linux
    router with default settings installs it: that host's route to the store then bypasses BGP)."""
    _tool("nft")
    _require_root()
    from storestack.devices.views import ViewBuilder

    hubs = {c.name: c for c in render_fleet(fleet, store_ids=[])}
    views = {name: ViewBuilder(fleet).hub_view(name) for name in ("hq-hub1", "hq-hub2")}
    (partner,) = views["hq-hub1"].intent.return_partners
    store = partner.stores[0]
    loopback = next(net for net in partner.destinations if net.prefixlen == 32)
    lan = ipaddress.IPv4Interface(views["hq-hub1"].dc.address.cidr).network
    taken = {str(v.dc.address.ip) for v in views.values()} | set(views["hq-hub1"].dc.routers)
    hq_dc = next(str(a) for a in lan.hosts() if str(a) not in taken)
    management = str(next(ipaddress.IPv4Network(r.cidr) for r in views["hq-hub1"].mgmt.ranges).network_address + 10)
    prefix = f"mgmt-{os.getpid()}"
    names = {n: f"{prefix}-{n}" for n in ("hub1", "hub2", "hq", "store", "lan")}

    def run(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]

    def counters(namespace: str) -> dict[str, int]:
        listing = json.loads(run("ip", "netns", "exec", namespace, "nft", "-j", "list", "table", "inet", "seen").stdout)
        rules = [item["rule"] for item in listing["nftables"] if "rule" in item]
        return {r["comment"]: next(e["counter"]["packets"] for e in r["expr"] if "counter" in e) for r in rules}

    def observe(namespace: str, rules: list[str]) -> None:
        body = "\n".join(f"  {rule}" for rule in rules)
        run("ip", "netns", "exec", namespace, "nft", "-f", "-",
            input=f"table inet seen {{\n chain pre {{\n  type filter hook prerouting priority -400; policy accept;\n{body}\n }}\n}}\n")

    try:
        for namespace in names.values():
            run("ip", "netns", "add", namespace)
            run("ip", "-n", namespace, "link", "set", "lo", "up")
        run("ip", "-n", names["lan"], "link", "add", "br0", "type", "bridge")
        run("ip", "-n", names["lan"], "link", "set", "br0", "up")
        ports = [(names["hq"], "eth0", hq_dc)] + [(names[f"hub{i}"], views[h].dc.ifname, str(views[h].dc.address.ip)) for i, h in ((1, "hq-hub1"), (2, "hq-hub2"))]
        for namespace, ifname, address in ports:
            port = f"p-{namespace[-4:]}"
            run("ip", "link", "add", ifname, "netns", namespace, "type", "veth", "peer", port, "netns", names["lan"])
            run("ip", "-n", names["lan"], "link", "set", port, "master", "br0", "up")
            run("ip", "-n", namespace, "addr", "add", f"{address}/{lan.prefixlen}", "dev", ifname)
            run("ip", "-n", namespace, "link", "set", ifname, "up")
        run("ip", "-n", names["hq"], "addr", "add", f"{management}/32", "dev", "lo")
        run("ip", "-n", names["store"], "addr", "add", str(loopback), "dev", "lo")  # answers ARP on both tunnels
        run("ip", "-n", names["hq"], "route", "add", str(loopback), "via", str(views["hq-hub1"].dc.address.ip))
        for index, hub in ((1, "hq-hub1"), (2, "hq-hub2")):
            namespace, view, other = names[f"hub{index}"], views[hub], views["hq-hub2" if index == 1 else "hq-hub1"]
            tunnel = next(p.ifname for p in view.peers if p.store.store_id == store and p.link_index == 0)
            run("ip", "link", "add", tunnel, "netns", namespace, "type", "veth", "peer", f"eth{index}", "netns", names["store"])
            run("ip", "-n", namespace, "link", "set", tunnel, "group", "10", "up")
            run("ip", "-n", names["store"], "link", "set", f"eth{index}", "up")
            run("ip", "netns", "exec", namespace, "sysctl", "-q", "-p", "-", input=_companion(hubs[hub], "sysctl.conf"))
            run("ip", "-n", namespace, "route", "add", f"{management}/32", "via", hq_dc)
            # BGP's best path: hq-hub1 its own tunnel, hq-hub2 the primary's path over iBGP
            best = ("dev", tunnel) if index == 1 else ("via", str(other.dc.address.ip))
            run("ip", "-n", namespace, "route", "add", str(loopback), *best)
            table = str(PARTNER_TABLE + partner_slots(view.intent)[other.hostname])
            run("ip", "-n", namespace, "route", "add", str(loopback), "via", str(other.dc.address.ip), "table", table)
            for line in _companion(hubs[hub], "routing").splitlines():
                if line.startswith("rule add fwmark"):
                    run("ip", "-n", namespace, *line.split())
            run("ip", "netns", "exec", namespace, "nft", "-f", "-", input=_companion(hubs[hub], "nftables.conf"))
        observe(names["store"], [
            f'iifname "eth{i}" ip saddr {management} {match} counter comment "{what}-{i}"'
            for i in (1, 2) for what, match in (("snmp", "udp sport 2001"), ("ping", "icmp type echo-request"))
        ])
        observe(names["hq"], ['icmp type redirect counter comment "redirect"'])
        run("ip", "netns", "exec", names["hq"], "python3", "-c", _DC_SENDER, management, str(loopback.network_address), "udp:2001::64", "icmp:7::64")
        # A DC LAN host's UDP answer of a flow hq-hub1 did not see: passed to the partner
        run("ip", "netns", "exec", names["hq"], "python3", "-c", _DC_SENDER, hq_dc, str(loopback.network_address), "udp:2003::64")
        time.sleep(0.5)
        in_store = counters(names["store"])
        assert (in_store["snmp-1"], in_store["ping-1"]) == (1, 1), in_store
        assert (in_store["snmp-2"], in_store["ping-2"]) == (0, 0), in_store
        assert counters(names["hq"])["redirect"] == 0
    finally:
        for namespace in names.values():
            subprocess.run(["ip", "netns", "del", namespace], check=False)
