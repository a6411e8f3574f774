"""The partner hub (`HubIntent.return_partners`) with real TCP: both FRR hubs' rendered rulesets,
policy rules, partner routes and kernel settings in network namespaces on one DC LAN, with HQ,
and a store (its loopback) behind a tunnel of each hub. HQ routes the store through hq-hub1 (the
DC core's best path); hq-hub2 routes it to hq-hub1 over the DC LAN (the primary's path over
iBGP); the store sends HQ's addresses through whichever hub its SLA steering picks (a route in
the store's namespace). With a cloud, a cloud host behind the hubs' AWS VPNs; with three hubs, any
two of them (and the cloud rank's first hub as a relay). (The DC's packets alone:
tests/devices/test_render_frr_host.py; the whole fleet: tests/lab/test_lab_split.py.)"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from testsupport.rendering import three_hub_chain
from testsupport.tcp_echo import connect, exchange, serve

from storestack.devices.render import RenderedConfig, render_fleet
from storestack.inventory import Fleet, load_fleet, sample_chain_path

HUBS = ("hq-hub1", "hq-hub2")
PORT = 2222

def _run(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), check=True, capture_output=True, text=True, timeout=30, **kwargs)  # type: ignore[call-overload]


def _companion(config: RenderedConfig, suffix: str) -> str:
    return dict(config.companions)[suffix]


@dataclass
class TwoHubs:
    ns: dict[str, str]  # hub1, hub2, hq, store, lan -> namespace
    configs: dict[str, RenderedConfig]
    store: str  # the store's loopback address, its host here
    management: str  # an HQ management host (may open flows to the stores)
    hq_server: str  # an HQ server outside the management ranges
    dc: dict[str, str]  # hub1, hub2, hq -> DC LAN address
    tunnel: dict[str, str]  # hub1, hub2 -> the hub's interface of the store's first-link tunnel
    cloud: str | None = None  # a cloud manager's address (namespace "cloud"), when there is one
    cloud_tunnel: dict[str, str] | None = None  # hub1, hub2 -> the hub's first AWS VPN interface
    office: str | None = None  # with a cloud: a host of the store's segment whose flows a cloud answers

    def load(self, hub: str, live: bool = True) -> None:
        """The hub's rendered ruleset (what it loads at boot); `live`: the store's tunnel alive."""
        _run("ip", "netns", "exec", self.ns[hub], "nft", "-f", "-", input=_companion(self.configs[hub], "nftables.conf"))
        if not live:
            return
        # The store's tunnel alive (its BFD packets keep it in the set)
        _run("ip", "netns", "exec", self.ns[hub], "nft", "add", "element", "inet", "storestack", "live_store_links",
             f'{{ "{self.tunnel[hub]}" timeout 1h }}')  # fmt: skip

    def store_sends_through(self, hub: str) -> None:
        """The store's route to HQ (its SLA steering for the class)."""
        mac = _run("ip", "-n", self.ns[hub], "-br", "link", "show", self.tunnel[hub]).stdout.split()[2]
        for address in (self.management, self.hq_server, *([self.cloud] if self.cloud else [])):
            _run("ip", "-n", self.ns["store"], "route", "replace", f"{address}/32", "dev", f"eth-{hub}")
            _run("ip", "-n", self.ns["store"], "neigh", "replace", address, "lladdr", mac, "dev", f"eth-{hub}")

    def open(self, client: str, source: str, destination: str, port: int = PORT) -> subprocess.Popen[str]:
        return connect(self.ns[client], source, destination, port)

    def serve(self, namespace: str, address: str, port: int = PORT) -> subprocess.Popen[str]:
        return serve(self.ns[namespace], address, port)


def _partner_routes(config: RenderedConfig) -> list[tuple[str, str, str]]:
    """(prefix, next hop, table) of the hub's partner routes (tables 5300-5399), as rendered."""
    routes = re.findall(r"^ip route (\S+) (\S+) table (53\d\d)$", config.text, re.M)
    return [(prefix, hop, table) for prefix, hop, table in routes]


@contextmanager
def two_hubs(
    fleet: Fleet,
    tag: str,
    load: tuple[str, ...] = ("hub1", "hub2"),
    dead: tuple[str, ...] = (),
    cloud: str | None = None,
    pair: tuple[str, str] = HUBS,
    relay: str | None = None,
) -> Iterator[TwoHubs]:
    """The namespaces above; `load` names the hubs whose ruleset is loaded from the start, `dead`
    those whose tunnel to the store its BFD no longer keeps alive. `cloud`: a cloud host at that
    address (namespace "cloud") behind each hub's first AWS VPN, which routes the store through
    hq-hub1 (the cloud rank's first hub), and each hub the cloud host through its own VPN. `pair`:
    the two hubs ("hub1", the store's primary, and "hub2") of the fleet's hubs, and a store they
    share. `relay`: with `cloud`, a third hub ("hub0", the cloud rank's first, no tunnel to the
    store) whose VPN alone carries the cloud: it routes the store to "hub1" over the DC LAN (the
    primary's path over iBGP), and the pair the cloud host to it."""
    if os.geteuid() != 0 or shutil.which("nft") is None:
        pytest.skip("needs root and nft (network namespaces)")
    from storestack.devices.views import ViewBuilder

    rendered = {c.name: c for c in render_fleet(fleet, store_ids=[])}
    builder = ViewBuilder(fleet)
    views = {hub: builder.hub_view(hub) for hub in fleet.hubs}
    partner = next(p for p in views[pair[0]].intent.return_partners if p.hostname == pair[1])
    store_id = partner.stores[0]
    loopback = next(net for net in partner.destinations if net.prefixlen == 32)
    # A segment of the store's that opens flows towards the clouds (the hubs take the answers)
    forwarding = views[pair[0]].intent.cloud_forwarding
    answered = [net for flow in (forwarding.replies if forwarding else ()) for net in flow.stores]
    office = next((n for n in partner.destinations if any(n.subnet_of(a) for a in answered)), None) if cloud else None
    homes = [loopback, *([office] if office else [])]
    lan = ipaddress.IPv4Interface(views[pair[0]].dc.address.cidr).network
    taken = {str(v.dc.address.ip) for v in views.values()} | set(views[pair[0]].dc.routers)
    hq_dc = next(str(a) for a in lan.hosts() if str(a) not in taken)
    management = str(next(ipaddress.IPv4Network(r.cidr) for r in views[pair[0]].mgmt.ranges).network_address + 10)
    names = {n: f"spl2-{tag}-{n}" for n in ("hub1", "hub2", "hq", "store", "lan", *(("cloud",) if cloud else ()))}
    keys = {"hub1": pair[0], "hub2": pair[1]}
    if relay is not None:
        names["hub0"] = f"spl2-{tag}-hub0"
    carriers = {"hub0": relay} if relay is not None else keys
    lab = TwoHubs(
        names,
        {key: rendered[hub] for key, hub in (keys | ({"hub0": relay} if relay else {})).items()},
        str(loopback.network_address),
        management,
        "10.16.0.80",  # in HQ's corporate ranges
        {"hq": hq_dc, **{key: str(views[hub].dc.address.ip) for key, hub in (keys | carriers).items()}},
        {
            key: next(p.ifname for p in views[hub].peers if p.store.store_id == store_id and p.link_index == 0)
            for key, hub in keys.items()
        },
        cloud,
        {key: views[hub].cloud_tunnels[0].ifname for key, hub in carriers.items()} if cloud else None,
        str(office.network_address + 10) if office else None,
    )
    try:
        for namespace in names.values():
            _run("ip", "netns", "add", namespace)
            _run("ip", "-n", namespace, "link", "set", "lo", "up")
        _run("ip", "-n", names["lan"], "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", names["lan"], "link", "set", "br0", "up")
        ports = [("hq", "eth0")] + [(key, views[hub].dc.ifname) for key, hub in (keys | carriers).items()]
        for key, ifname in ports:
            port = f"p-{key}"
            _run("ip", "link", "add", ifname, "netns", names[key], "type", "veth", "peer", port, "netns", names["lan"])
            _run("ip", "-n", names["lan"], "link", "set", port, "master", "br0", "up")
            _run("ip", "-n", names[key], "addr", "add", f"{lab.dc[key]}/{lan.prefixlen}", "dev", ifname)
            _run("ip", "-n", names[key], "link", "set", ifname, "up")
        for address in (management, lab.hq_server):
            _run("ip", "-n", names["hq"], "addr", "add", f"{address}/32", "dev", "lo")
        _run("ip", "-n", names["store"], "addr", "add", f"{lab.store}/32", "dev", "lo")
        if lab.office is not None:
            _run("ip", "-n", names["store"], "addr", "add", f"{lab.office}/32", "dev", "lo")
        # The DC core's best path to the store: its primary hub
        _run("ip", "-n", names["hq"], "route", "add", f"{lab.store}/32", "via", lab.dc["hub1"])
        for key, hub in keys.items():
            namespace, other = names[key], "hub2" if key == "hub1" else "hub1"
            tunnel = lab.tunnel[key]
            _run("ip", "link", "add", tunnel, "netns", namespace, "type", "veth", "peer", f"eth-{key}", "netns", names["store"])
            _run("ip", "-n", namespace, "link", "set", tunnel, "group", "10", "up")
            # an inside address, as a tunnel has (reverse-path filtering takes nothing from an
            # interface without one)
            _run("ip", "-n", namespace, "addr", "add", f"198.51.100.{1 if key == 'hub1' else 2}/32", "dev", tunnel)
            _run("ip", "-n", names["store"], "link", "set", f"eth-{key}", "up")
            _run("ip", "netns", "exec", namespace, "sysctl", "-q", "-p", "-", input=_companion(rendered[hub], "sysctl.conf"))
            for address in (management, lab.hq_server):
                _run("ip", "-n", namespace, "route", "add", f"{address}/32", "via", hq_dc)
            # BGP's best path: hq-hub1 its own tunnel, hq-hub2 the primary's path over iBGP
            best = ("dev", tunnel) if key == "hub1" else ("via", lab.dc["hub1"])
            for home in homes:
                _run("ip", "-n", namespace, "route", "add", str(home), *best)
                # Each link's return table routes the store into its tunnel (as staticd does)
                for table in re.findall(rf"^ip route {re.escape(str(home))} \S+ {re.escape(tunnel)} table (52\d\d)$", rendered[hub].text, re.M):
                    _run("ip", "-n", namespace, "route", "add", str(home), "dev", tunnel, "table", table)
            # The partner routes, as zebra resolves them: the partner's loopback through iBGP,
            # at the partner's DC address
            partner_loopback = str(next(p.loopback for p in views[hub].intent.return_partners if p.hostname == keys[other]))
            for prefix, hop, table in _partner_routes(rendered[hub]):
                if hop == partner_loopback:
                    _run("ip", "-n", namespace, "route", "replace", prefix, "via", lab.dc[other], "table", table)
            for line in _companion(rendered[hub], "routing").splitlines():
                if line.startswith("rule add fwmark"):
                    _run("ip", "-n", namespace, *line.split())
            if cloud is not None and relay is not None:
                _run("ip", "-n", namespace, "route", "add", f"{cloud}/32", "via", lab.dc["hub0"])
            elif cloud is not None and lab.cloud_tunnel is not None:
                vpn = lab.cloud_tunnel[key]
                _run("ip", "link", "add", vpn, "netns", namespace, "type", "veth", "peer", f"c-{key}", "netns", names["cloud"])
                _run("ip", "-n", namespace, "link", "set", vpn, "group", "10", "up")
                _run("ip", "-n", namespace, "addr", "add", f"198.51.100.{11 if key == 'hub1' else 12}/32", "dev", vpn)
                _run("ip", "-n", names["cloud"], "link", "set", f"c-{key}", "up")
                _run("ip", "-n", namespace, "route", "add", f"{cloud}/32", "dev", vpn)
            if key in load:
                lab.load(key, live=key not in dead)
        if cloud is not None and relay is not None and lab.cloud_tunnel is not None:
            namespace, vpn = names["hub0"], lab.cloud_tunnel["hub0"]
            _run("ip", "netns", "exec", namespace, "sysctl", "-q", "-p", "-", input=_companion(rendered[relay], "sysctl.conf"))
            _run("ip", "link", "add", vpn, "netns", namespace, "type", "veth", "peer", "c-hub0", "netns", names["cloud"])
            _run("ip", "-n", namespace, "link", "set", vpn, "group", "10", "up")
            _run("ip", "-n", namespace, "addr", "add", "198.51.100.10/32", "dev", vpn)
            _run("ip", "-n", names["cloud"], "link", "set", "c-hub0", "up")
            _run("ip", "-n", namespace, "route", "add", f"{cloud}/32", "dev", vpn)
            for address in (management, lab.hq_server):
                _run("ip", "-n", namespace, "route", "add", f"{address}/32", "via", hq_dc)
            for home in homes:
                _run("ip", "-n", namespace, "route", "add", str(home), "via", lab.dc["hub1"])
            lab.load("hub0", live=False)
        if cloud is not None and lab.cloud_tunnel is not None:
            entry = "hub0" if relay is not None else "hub1"
            _run("ip", "-n", names["cloud"], "addr", "add", f"{cloud}/32", "dev", "lo")
            # The cloud's path to the stores: the cloud rank's first hub
            mac = _run("ip", "-n", names[entry], "-br", "link", "show", lab.cloud_tunnel[entry]).stdout.split()[2]
            for host in (lab.store, *([lab.office] if lab.office else [])):
                _run("ip", "-n", names["cloud"], "route", "add", f"{host}/32", "dev", f"c-{entry}")
                _run("ip", "-n", names["cloud"], "neigh", "replace", host, "lladdr", mac, "dev", f"c-{entry}")
        yield lab
    finally:
        for namespace in names.values():
            subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True)


def _stop(*processes: subprocess.Popen[str]) -> None:
    for process in processes:
        process.kill()
        process.wait(timeout=10)


def test_a_connection_hq_opens_completes_while_the_store_answers_through_the_other_hub(fleet: Fleet) -> None:
    """HQ's management host opens a TCP connection to the store (its SYN through hq-hub1, the DC
    core's choice); the store sends that class through hq-hub2. hq-hub2 never saw the SYN: the
    store's SYN-ACK is invalid there, its ACKs new without a SYN. Before, hq-hub2 dropped them and
    the connection never completed; now it passes them to hq-hub1, which saw the SYN, and 64 KiB
    go both ways."""
    with two_hubs(fleet, "hqopen") as lab:
        lab.store_sends_through("hub2")
        server = lab.serve("store", lab.store)
        client = lab.open("hq", lab.management, lab.store)
        try:
            assert client.stdout is not None
            assert client.stdout.readline().strip() == "connected"
            assert exchange(client) == "echoed"
        finally:
            _stop(client, server)


CLOUD_MANAGER = "10.16.32.10"  # a management host in AWS (the fleet below)


def _cloud_managed(root: Path) -> Fleet:
    """The chain at `root` with a management range in AWS, CLOUD_MANAGER's (`CloudForwarding.opens`:
    SSH and SNMP from it to the stores' loopbacks through the hubs' cloud VPNs)."""
    spec = root / "fleet.yaml"
    spec.write_text(spec.read_text().replace("    - 10.0.250.0/24\n", "    - 10.0.250.0/24\n    - 10.16.32.0/24\n", 1))
    return load_fleet(root)


def _completes(client: subprocess.Popen[str]) -> None:
    """The client's connection opens and carries 64 KiB both ways."""
    assert client.stdout is not None
    assert client.stdout.readline().strip() == "connected"
    assert exchange(client) == "echoed"


@pytest.mark.parametrize("answering", ["hub2", "hub1"])
@pytest.mark.parametrize("hubs", [2, 3])
def test_a_session_a_cloud_manager_opens_completes_whichever_hub_the_store_answers_through(
    tmp_path: Path, hubs: int, answering: str
) -> None:
    """A management host in AWS opens SSH to the store through hq-hub1 (the cloud rank's first
    hub); the store sends that class through `answering`. Two hubs: hq-hub1's tunnel to the store
    is its best path. Three: the store is one hq-hub2 (primary) and hq-hub3 share, which hq-hub1
    has no tunnel to; it relays the SSH to hq-hub2 over the DC LAN, and the store's side reaches
    the cloud back through it. Through the store's hub that never saw the SYN, the store's SYN-ACK
    is invalid and its ACKs new without a SYN: the session completes and carries 64 KiB both ways
    only if that hub passes them to its partner, which saw it."""
    if hubs == 2:
        fleet = _cloud_managed(shutil.copytree(sample_chain_path(), tmp_path / "chain"))
        pair, relay = HUBS, None
    else:
        fleet = _cloud_managed(three_hub_chain(tmp_path))
        pair, relay = ("hq-hub2", "hq-hub3"), "hq-hub1"
    with two_hubs(fleet, f"cl{hubs}{answering[-1]}", cloud=CLOUD_MANAGER, pair=pair, relay=relay) as lab:
        lab.store_sends_through(answering)
        server = lab.serve("store", lab.store, 22)
        client = lab.open("cloud", CLOUD_MANAGER, lab.store, 22)
        try:
            _completes(client)
        finally:
            _stop(client, server)


def test_a_hub_with_two_partners_hands_each_store_s_flows_to_that_store_s_other_hub(tmp_path: Path) -> None:
    """Three hubs (a generated fleet of over 1,000 stores has four): hq-hub2 shares its stores
    with hq-hub3 and hq-hub1's with hq-hub1, so it has two partners, each with its own mark and
    table (hq-hub3's, host 5 of the DC core LAN: 0x5305, table 5305). For a store hq-hub2 shares with hq-hub3 (its primary
    hq-hub2, the DC core's path): a connection HQ opens while the store answers through hq-hub3,
    and one the store opens through hq-hub3 while HQ answers through hq-hub2, which must hand
    HQ's side to hq-hub3 (not hq-hub1), complete and carry 64 KiB both ways."""
    fleet = load_fleet(three_hub_chain(tmp_path))
    with two_hubs(fleet, "three", pair=("hq-hub2", "hq-hub3")) as lab:
        marks = _run("ip", "netns", "exec", lab.ns["hub1"], "nft", "list", "map", "inet", "storestack", "partner_tunnels").stdout
        assert f'"{lab.tunnel["hub1"]}" : 0x00005305' in marks, marks
        lab.store_sends_through("hub2")
        store_server = lab.serve("store", lab.store)
        hq_server = lab.serve("hq", lab.hq_server)
        clients = []
        try:
            for client, (source, destination) in (("hq", (lab.management, lab.store)), ("store", (lab.store, lab.hq_server))):
                clients.append(opened := lab.open(client, source, destination))
                _completes(opened)
        finally:
            _stop(*clients, store_server, hq_server)


def test_a_store_s_flow_to_the_cloud_answered_through_its_primary_reaches_the_hub_it_left_by(tmp_path: Path) -> None:
    """Three hubs: an office host of a store hq-hub2 (primary) and hq-hub3 share opens a TCP
    connection to a cloud host through hq-hub3 (its steering for the class), which relays it over
    the DC LAN to hq-hub1, the cloud rank's first hub, the only one whose VPN carries the cloud.
    The cloud answers through hq-hub1, whose best path to the store is hq-hub2's over iBGP:
    hq-hub2 never saw the flow and must hand it to hq-hub3 (its second partner's mark and table,
    not hq-hub1's), which saw it. The connection completes and carries 64 KiB both ways."""
    fleet = _cloud_managed(three_hub_chain(tmp_path))
    with two_hubs(fleet, "rlst", cloud=CLOUD_MANAGER, pair=("hq-hub2", "hq-hub3"), relay="hq-hub1") as lab:
        assert lab.office is not None
        lab.store_sends_through("hub2")
        server = lab.serve("cloud", CLOUD_MANAGER)
        client = lab.open("store", lab.office, CLOUD_MANAGER)
        try:
            _completes(client)
        finally:
            _stop(client, server)


def test_a_connection_the_store_opens_through_either_hub_still_completes(fleet: Fleet) -> None:
    """The store's own connections are its hub's: a store opening a TCP connection to an HQ
    server through hq-hub2 (HQ answering through hq-hub1) or through hq-hub1 completes."""
    with two_hubs(fleet, "stopen") as lab:
        server = lab.serve("hq", lab.hq_server)
        try:
            for hub in ("hub2", "hub1"):
                lab.store_sends_through(hub)
                client = lab.open("store", lab.store, lab.hq_server)
                try:
                    assert client.stdout is not None
                    assert client.stdout.readline().strip() == "connected", hub
                    assert exchange(client) == "echoed", hub
                finally:
                    _stop(client)
        finally:
            _stop(server)


def _counted(namespace: str, match: str) -> int:
    listing = _run("ip", "netns", "exec", namespace, "nft", "list", "table", "inet", "seen").stdout
    found = re.search(r"counter packets (\d+)", listing)
    assert found, listing
    return int(found.group(1))


def test_a_packet_passed_to_the_partner_never_bounces_between_the_hubs(fleet: Fleet) -> None:
    """The store opens a connection through hq-hub2, whose tunnel to it its BFD no longer keeps
    alive (the flow's link mark cleared: hq-hub2 routes the store over iBGP, to hq-hub1). HQ's
    SYN-ACK reaches hq-hub1, which passes it to hq-hub2 with TTL 255. Before, hq-hub2 forwarded
    it back to hq-hub1 (an established flow, DC port to DC port), which passed it on again with
    TTL 255: the two bounced every such packet between them without end. Now a packet that
    arrived with TTL 255 never goes back onto the DC LAN towards a store."""
    with two_hubs(fleet, "bounce", dead=("hub2",)) as lab:
        lab.store_sends_through("hub2")
        match = f"ip saddr {lab.hq_server} tcp sport {PORT} tcp flags & (syn | ack) == syn | ack"
        _run("ip", "netns", "exec", lab.ns["hub2"], "nft", "-f", "-",
             input=f"table inet seen {{\n chain pre {{\n  type filter hook prerouting priority -400; policy accept;\n  {match} counter\n }}\n}}\n")  # fmt: skip
        server = lab.serve("hq", lab.hq_server)
        client = lab.open("store", lab.store, lab.hq_server)
        try:
            assert client.stdout is not None
            client.stdout.readline()  # connected, or timed out after 6 s
            # one per SYN-ACK HQ sent (its retransmissions: a handful in 6 s)
            assert _counted(lab.ns["hub2"], match) <= 8
        finally:
            _stop(client, server)


def test_an_hq_session_outlives_a_restart_of_the_hub_that_carries_it(fleet: Fleet) -> None:
    """HQ's management host holds a TCP session with the store through hq-hub1, both ways (the
    store sends through hq-hub1 too). hq-hub1 restarts: its conntrack is empty (here: its ruleset
    loaded only once the session is up). HQ's next packets are new at hq-hub1 without a SYN, so it
    passes them to hq-hub2, which never saw the session either and routes the store back to
    hq-hub1. Before, hq-hub2 dropped them and the session stalled for good (before the partner
    path, hq-hub1 picked it up mid-stream). Now hq-hub2 picks up what the zone policy lets HQ open
    (its management ranges) into its own tunnel to the store, the store's answer through hq-hub1
    moves the flow's entry there back to the store's tunnel, and the session goes on."""
    with two_hubs(fleet, "restart", load=("hub2",)) as lab:
        lab.store_sends_through("hub1")
        server = lab.serve("store", lab.store)
        client = lab.open("hq", lab.management, lab.store)
        try:
            assert client.stdout is not None
            assert client.stdout.readline().strip() == "connected"
            assert exchange(client) == "echoed"
            lab.load("hub1")  # restarted: the ruleset back, no connection state
            assert exchange(client) == "echoed"
            assert exchange(client) == "echoed"
        finally:
            _stop(client, server)
