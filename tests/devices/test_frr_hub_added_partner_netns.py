"""Adding a hub moves the other hub of some stores (hq-hub3 added: hq-hub2's stores move their
backup from hq-hub1 to hq-hub3), and with it the partner hq-hub2 hands their return flows to
(`HubIntent.return_partners`). A flow split across the store's hubs survives every step of the
push walk, with real TCP: the store's own flow to HQ through its backup hub, answered by the DC
core through hq-hub2 (hq-hub2 passes HQ's side to the backup), and a session HQ's management host
opens through the backup, the store answering through hq-hub2 (which passes the store's side).

The walk is the change's own (`make_before_break`, `plan_waves`, `step_of`): each hub loads the
rendered ruleset, policy rules and partner routes of the config that step pushes (its first,
`held_over`, or its own), and the store, at its push, moves its backup tunnel from hq-hub1 to
hq-hub3. Namespaces as in tests/devices/test_frr_hub_partner_netns.py: the hubs, HQ and the store
(its loopback) on one DC LAN, a veth pair for each tunnel of the store's first link; FRR stands in
as the routes zebra would install (each hub's own tunnel to the store while the store has it, else
hq-hub2's over iBGP; a partner table's route to the partner's DC address).

hq-hub2, pushed once before the stores, handed those stores' flows to hq-hub3 at once, which had
no tunnel to them until each store's own push: the flows stalled from hq-hub2's push on. Pushed
twice, its first config handing them to hq-hub1 alone, they stalled from the store's push to
hq-hub2's last. And hq-hub1 dying in that window (its DC link gone, hq-hub2's route to its
loopback withdrawn with their iBGP session) took the copy to hq-hub3 with it: the copy went out
only with the packets routed to hq-hub1."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS, three_hub_chain
from testsupport.tcp_echo import connect, exchange, serve

from storestack.devices.fleet_targets import targets_from_fleet
from storestack.devices.push_order import make_before_break
from storestack.devices.render import RenderedConfig, render_change_hubs, render_hub
from storestack.devices.runner import PushTargets, plan_waves, step_of
from storestack.devices.views import ViewBuilder
from storestack.inventory import load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent

HQ_SERVER = "10.16.0.80"  # in HQ's corporate ranges
KEPT, FRESH = 2222, 2223  # the connection held through the walk; one opened at each step
_PARTNER_ROUTE = re.compile(r"^ip route 0\.0\.0\.0/0 (\S+) table (53\d\d)$", re.M)


def _run(*argv: str, check: bool = True, stdin: str | None = None) -> str:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, timeout=30, input=stdin).stdout


class Walk:
    """The namespaces (`ns`: hub1, hub2, hub3, hq, store, lan) and what each hub has loaded."""

    def __init__(
        self, tag: str, dc: dict[str, str], loopbacks: dict[str, str], tunnel: str, home: str, management: str
    ) -> None:
        self.ns = {key: f"frrpw-{tag}-{key}" for key in ("hub1", "hub2", "hub3", "hq", "store", "lan")}
        self.dc = dc  # hub1, hub2, hub3, hq -> DC LAN address
        self.loopbacks = loopbacks  # a hub's loopback -> its key
        self.tunnel = tunnel  # every hub's interface of the store's first-link tunnel
        self.home = home  # the store's loopback
        self.management = management  # an HQ management host (may open sessions to the store)
        self.rules: dict[str, list[str]] = {}
        self.tables: dict[str, set[str]] = {}
        self.paired = {"hub1", "hub2"}  # the hubs the store has a tunnel to
        self.dead: set[str] = set()
        self.partner_tables: dict[str, dict[str, str]] = {}  # a hub's partner tables -> the partner
        self.dc_port = ""

    def build(self, lan: ipaddress.IPv4Network, dc_port: str) -> None:
        self.dc_port = dc_port
        for namespace in self.ns.values():
            _run("ip", "netns", "add", namespace)
            _run("ip", "-n", namespace, "link", "set", "lo", "up")
        lan_ns = self.ns["lan"]
        _run("ip", "-n", lan_ns, "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", lan_ns, "link", "set", "br0", "up")
        for key in ("hq", "hub1", "hub2", "hub3"):
            ifname = "eth0" if key == "hq" else dc_port
            _run("ip", "link", "add", ifname, "netns", self.ns[key], "type", "veth", "peer", f"p-{key}", "netns", lan_ns)
            _run("ip", "-n", lan_ns, "link", "set", f"p-{key}", "master", "br0", "up")
            _run("ip", "-n", self.ns[key], "addr", "add", f"{self.dc[key]}/{lan.prefixlen}", "dev", ifname)
            _run("ip", "-n", self.ns[key], "link", "set", ifname, "up")
        for address in (HQ_SERVER, self.management):
            _run("ip", "-n", self.ns["hq"], "addr", "add", f"{address}/32", "dev", "lo")
        _run("ip", "-n", self.ns["store"], "addr", "add", f"{self.home}/32", "dev", "lo")
        for number, key in enumerate(("hub1", "hub2", "hub3"), start=1):
            namespace = self.ns[key]
            _run("ip", "link", "add", self.tunnel, "netns", namespace, "type", "veth", "peer", f"eth-{key}", "netns", self.ns["store"])
            _run("ip", "-n", namespace, "link", "set", self.tunnel, "group", "10", "up")
            # an inside address, as a tunnel has (reverse-path filtering takes nothing from an
            # interface without one)
            _run("ip", "-n", namespace, "addr", "add", f"198.51.100.{number}/32", "dev", self.tunnel)
            for address in (HQ_SERVER, self.management):
                _run("ip", "-n", namespace, "route", "add", f"{address}/32", "via", self.dc["hq"])
            self.rules[key], self.tables[key], self.partner_tables[key] = [], set(), {}
        for key in ("hub1", "hub2"):
            _run("ip", "-n", self.ns["store"], "link", "set", f"eth-{key}", "up")
        self._store_routes()

    def _store_routes(self) -> None:
        """Each hub's best path to the store (as BGP gives it): its own tunnel while the store has
        one to it, hq-hub2's over iBGP otherwise (another hub's, once the store's link to hq-hub2
        is dead)."""
        relay = "hub2" if "hub2" in self.paired else min(self.paired)
        for key in ("hub1", "hub2", "hub3"):
            if key in self.dead:
                continue
            best = ("dev", self.tunnel) if key in self.paired else ("via", self.dc[relay])
            _run("ip", "-n", self.ns[key], "route", "replace", f"{self.home}/32", *best)

    def sends_through(self, hub: str) -> None:
        """The store's route to HQ (its SLA steering for the class)."""
        mac = _run("ip", "-n", self.ns[hub], "-br", "link", "show", self.tunnel).split()[2]
        for address in (HQ_SERVER, self.management):
            _run("ip", "-n", self.ns["store"], "route", "replace", f"{address}/32", "dev", f"eth-{hub}")
            _run("ip", "-n", self.ns["store"], "neigh", "replace", address, "lladdr", mac, "dev", f"eth-{hub}")

    def dc_core_through(self, hub: str) -> None:
        """The DC core's best path to the store."""
        _run("ip", "-n", self.ns["hq"], "route", "replace", f"{self.home}/32", "via", self.dc[hub])

    def push(self, key: str, config: RenderedConfig) -> None:
        """The hub's config as its push leaves it: ruleset, policy rules, the store's return
        tables (staticd's, while the tunnel is there) and the partner tables (zebra's)."""
        namespace, companions = self.ns[key], dict(config.companions)
        _run("ip", "netns", "exec", namespace, "sysctl", "-q", "-p", "-", stdin=companions["sysctl.conf"])
        _run("ip", "netns", "exec", namespace, "nft", "-f", "-", stdin=companions["nftables.conf"])
        if key in self.paired:
            # The store's tunnel alive (its BFD packets keep it in the set)
            _run("ip", "netns", "exec", namespace, "nft", "add", "element", "inet", "storestack", "live_store_links",
                 f'{{ "{self.tunnel}" timeout 1h }}')  # fmt: skip
        for rule in self.rules[key]:
            _run("ip", "-n", namespace, *rule.replace("rule add", "rule del", 1).split())
        self.rules[key] = [line for line in companions["routing"].splitlines() if line.startswith("rule add fwmark")]
        for rule in self.rules[key]:
            _run("ip", "-n", namespace, *rule.split())
        for table in self.tables[key]:
            _run("ip", "-n", namespace, "route", "flush", "table", table)
        self.tables[key] = set()
        for table in re.findall(rf"^ip route {re.escape(self.home)}/32 \S+ {re.escape(self.tunnel)} table (52\d\d)$", config.text, re.M):
            _run("ip", "-n", namespace, "route", "replace", f"{self.home}/32", "dev", self.tunnel, "table", table)
            self.tables[key].add(table)
        self.partner_tables[key] = {}
        for loopback, table in _PARTNER_ROUTE.findall(config.text):
            partner = self.loopbacks[loopback]
            self.partner_tables[key][table] = partner
            if partner not in self.dead:  # iBGP resolves a live partner's loopback only
                _run("ip", "-n", namespace, "route", "replace", "0.0.0.0/0", "via", self.dc[partner], "table", table)
            self.tables[key].add(table)

    def kill(self, key: str) -> None:
        """Hub `key` dies: its DC port gone; the other hubs' iBGP sessions with it drop, and zebra
        withdraws each partner table's route to its loopback."""
        _run("ip", "-n", self.ns[key], "link", "del", self.dc_port)
        self.dead.add(key)
        for other, tables in self.partner_tables.items():
            for table, partner in tables.items():
                if partner == key and other != key:
                    _run("ip", "-n", self.ns[other], "route", "flush", "table", table)

    def move_store(self, backup: str) -> None:
        """The store's push: its backup tunnel to hq-hub3 instead of hq-hub1 (hq-hub1's end stays
        until its own last push, with no SA behind it: down, its BFD gone)."""
        _run("ip", "-n", self.ns["store"], "link", "set", "eth-hub1", "down")
        _run("ip", "netns", "exec", self.ns["hub1"], "nft", "delete", "element", "inet", "storestack", "live_store_links",
             f'{{ "{self.tunnel}" }}', check=False)  # fmt: skip
        _run("ip", "-n", self.ns["store"], "link", "set", "eth-hub3", "up")
        self.paired = {"hub2", "hub3"}
        self._store_routes()
        _run("ip", "netns", "exec", self.ns["hub3"], "nft", "add", "element", "inet", "storestack", "live_store_links",
             f'{{ "{self.tunnel}" timeout 1h }}', check=False)  # fmt: skip
        if backup == "store":
            self.sends_through("hub3")
        else:
            self.dc_core_through("hub3")

    def cut(self, key: str) -> None:
        """The store's link to hub `key` dies (its SA and BFD with it): the hub's best path to the
        store is then another hub's tunnel over iBGP."""
        _run("ip", "-n", self.ns["store"], "link", "set", f"eth-{key}", "down")
        _run("ip", "netns", "exec", self.ns[key], "nft", "delete", "element", "inet", "storestack", "live_store_links",
             f'{{ "{self.tunnel}" }}', check=False)  # fmt: skip
        self.paired.discard(key)
        self._store_routes()

    def watch_twice(self) -> None:
        """Count, at HQ and the store, the IP packets that arrive twice: the same source, IP ID
        and TCP sequence number (a retransmission is a new packet with a new ID, RFC 6864; a
        copy and its original share both)."""
        for key in ("hq", "store"):
            _run("ip", "netns", "exec", self.ns[key], "nft", "-f", "-", stdin=(
                "table ip frrpw_twice {\n counter twice {}\n"
                " set seen { typeof ip saddr . ip id . tcp sequence; size 65535; flags dynamic,timeout; timeout 30s; }\n"
                " chain pre {\n  type filter hook prerouting priority raw; policy accept;\n"
                "  ip saddr . ip id . tcp sequence @seen counter name twice\n"
                "  meta l4proto tcp update @seen { ip saddr . ip id . tcp sequence }\n }\n}\n"
            ))  # fmt: skip

    def duplicates(self) -> int:
        """The packets HQ or the store took twice since `watch_twice`."""
        total = 0
        for key in ("hq", "store"):
            listed = _run("ip", "netns", "exec", self.ns[key], "nft", "list", "counter", "ip", "frrpw_twice", "twice")
            found = re.search(r"packets (\d+)", listed)
            assert found, listed
            total += int(found.group(1))
        return total

    def watch_passes(self, key: str, sender: str) -> None:
        """Count the packets hub `key` takes from hub `sender` on the DC LAN without TTL 255 (a
        table of the test's own, until `key`'s next push flushes the ruleset): all `sender` sends
        it there is the flows' packets it passes, and a partner forwards what comes without TTL
        255 as the DC core's, passing it on again where it has no flow of its own."""
        mac = _run("ip", "-n", self.ns[sender], "-br", "link", "show", self.dc_port).split()[2]
        _run("ip", "netns", "exec", self.ns[key], "nft", "-f", "-", stdin=(
            "table ip frrpw_watch {\n counter unmarked {}\n chain pre {\n"
            "  type filter hook prerouting priority raw; policy accept;\n"
            f'  iifname "{self.dc_port}" ether saddr {mac} ip ttl != 255 counter name unmarked\n }}\n}}\n'
        ))  # fmt: skip

    def unmarked(self, key: str) -> int:
        listed = _run("ip", "netns", "exec", self.ns[key], "nft", "list", "counter", "ip", "frrpw_watch", "unmarked")
        found = re.search(r"packets (\d+)", listed)
        assert found, listed
        return int(found.group(1))

    def serve(self, opener: str, port: int) -> subprocess.Popen[str]:
        side, address = ("hq", HQ_SERVER) if opener == "store" else ("store", self.home)
        return serve(self.ns[side], address, port)

    def open(self, opener: str, port: int) -> subprocess.Popen[str]:
        source, destination = (self.home, HQ_SERVER) if opener == "store" else (self.management, self.home)
        return connect(self.ns[opener], source, destination, port)

    def remove(self) -> None:
        for namespace in self.ns.values():
            subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True)


def _stop(*processes: subprocess.Popen[str]) -> None:
    for process in processes:
        process.kill()
        process.wait(timeout=10)


def _fresh(walk: Walk, opener: str) -> str:
    """A connection `opener` opens now: "echoed" once it carried 64 KiB both ways."""
    client = walk.open(opener, FRESH)
    try:
        assert client.stdout is not None
        said = client.stdout.readline().strip()
        return exchange(client) if said == "connected" else said
    finally:
        _stop(client)


def _walk_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opener: str, dies: bool, cut: bool = False
) -> tuple[str, list[tuple[str, str, str]], int, int]:
    """Push adding hq-hub3 step by step: the store's appliance, each step's (label, what the kept
    connection said, what a fresh one said), and how many of the packets hq-hub2 passed hq-hub3
    from its push on came without TTL 255 (the copies among them, hq-hub3 without the flow's
    tunnel until the store's push):
    `opener` "store", the store's connection to an HQ server through its backup hub, HQ answering
    through hq-hub2; "hq", HQ's management host opening a session to the store through its backup
    hub (the DC core's path for it), the store answering through hq-hub2. `dies`: hq-hub1 dies
    right after the store's push, while hq-hub2 holds its first config (its last push skipped);
    `cut`: then the store's link to hq-hub2 dies too (hq-hub2's path to it over the DC LAN, to
    hq-hub3). Last, how many segments HQ or the store took twice."""
    if os.geteuid() != 0 or shutil.which("nft") is None:
        pytest.skip("needs root and nft (network namespaces)")
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)
    before, after = load_fleet(sample_chain_path()), load_fleet(three_hub_chain(tmp_path))
    held, final = NetworkIntent(before), NetworkIntent(after)
    order = make_before_break(held, final)
    # A store whose backup moves from hq-hub1 to hq-hub3, its primary hq-hub2
    partner = next(p for p in final.hub("hq-hub2").return_partners if p.hostname == "hq-hub3")
    store = partner.stores[0]
    assert {p.hostname for p in held.hub("hq-hub2").return_partners if store in p.stores} == {"hq-hub1"}
    home = str(next(net for net in partner.destinations if net.prefixlen == 32).network_address)
    view = ViewBuilder(after).hub_view("hq-hub2")
    tunnel = next(p.ifname for p in view.peers if p.store.store_id == store and p.link_index == 0)
    lan = ipaddress.IPv4Interface(view.dc.address.cidr).network
    dc = {key: str(after.hubs[hub].dc_address) for key, hub in (("hub1", "hq-hub1"), ("hub2", "hq-hub2"), ("hub3", "hq-hub3"))}
    taken = set(dc.values()) | set(view.dc.routers)
    dc["hq"] = next(str(a) for a in lan.hosts() if str(a) not in taken)
    keys = {"hq-hub1": "hub1", "hq-hub2": "hub2", "hq-hub3": "hub3"}
    management = str(next(ipaddress.IPv4Network(r.cidr) for r in view.mgmt.ranges).network_address + 10)
    loopbacks = {str(h.loopback): keys[name] for name, h in after.hubs.items()}
    walk = Walk(f"{opener[0]}{int(dies)}{int(cut)}", dc, loopbacks, tunnel, home, management)
    waves, _ = plan_waves(PushTargets.from_inventory(targets_from_fleet(after)), None, order)
    store_appliance = next(t.name for t in targets_from_fleet(after).appliances if t.store_id == store)
    said: list[tuple[str, str, str]] = []
    try:
        walk.build(lan, view.dc.ifname)
        walk.sends_through("hub1" if opener == "store" else "hub2")
        walk.dc_core_through("hub2" if opener == "store" else "hub1")
        for hub in ("hq-hub1", "hq-hub2"):
            walk.push(keys[hub], render_hub(before, hub))
        walk.watch_twice()
        kept_server, fresh_server = walk.serve(opener, KEPT), walk.serve(opener, FRESH)
        kept = walk.open(opener, KEPT)
        try:
            assert kept.stdout is not None and kept.stdout.readline().strip() == "connected"
            said.append(("start", exchange(kept), _fresh(walk, opener)))
            for index, wave in enumerate(waves, start=1):
                for name in wave:
                    if name in keys and keys[name] in walk.dead:
                        continue
                    if name in keys:
                        step = step_of(order, name, index, waves)
                        (union,) = render_change_hubs(before, after, [name]) if step == "union" else (render_hub(after, name),)
                        walk.push(keys[name], union)
                        if name == "hq-hub3":
                            walk.watch_passes("hub3", "hub2")  # its only push
                        label = f"{name} ({step})" if step else name
                    elif name == store_appliance:
                        walk.move_store(opener)
                        label = name
                    else:
                        continue
                    said.append((label, exchange(kept), _fresh(walk, opener)))
                    if dies and name == store_appliance:
                        walk.kill("hub1")
                        said.append(("hq-hub1 dies", exchange(kept), _fresh(walk, opener)))
                        if cut:
                            walk.cut("hub2")
                            said.append(("its link to hq-hub2 dies", exchange(kept), _fresh(walk, opener)))
            unmarked, duplicates = walk.unmarked("hub3"), walk.duplicates()
        finally:
            _stop(kept, kept_server, fresh_server)
    finally:
        walk.remove()
    return store_appliance, said, unmarked, duplicates


def _assert_walked(said: list[tuple[str, str, str]], unmarked: int, duplicates: int, steps: list[str]) -> None:
    """Every step echoed both connections, hq-hub3 took no copy without TTL 255, neither end
    took a packet twice, and the walk went through `steps`."""
    broken = [(label, kept_said, fresh_said) for label, kept_said, fresh_said in said if (kept_said, fresh_said) != ("echoed", "echoed")]
    assert broken == [], f"the flow split across the store's hubs stalled: {said}"
    # A copy leaves hq-hub2 with TTL 255, as a passed packet does: hq-hub3, without the flow, never
    # passes it on again
    assert unmarked == 0
    # The copy goes to hq-hub3 only where hq-hub2 delivers nothing itself: never a packet both
    # hq-hub2 and hq-hub3 forward
    assert duplicates == 0
    assert [label for label, _, _ in said] == steps


@pytest.mark.parametrize("opener", ["store", "hq"])
def test_a_flow_split_across_a_stores_hubs_survives_every_step_of_adding_a_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opener: str
) -> None:
    store_appliance, said, unmarked, duplicates = _walk_change(tmp_path, monkeypatch, opener, dies=False)
    # hq-hub2 pushed twice: first with the hubs, last after the store
    _assert_walked(said, unmarked, duplicates, [
        "start", "hq-hub1 (union)", "hq-hub2 (union)", "hq-hub3", store_appliance, "hq-hub1 (final)", "hq-hub2 (final)",
    ])  # fmt: skip


@pytest.mark.parametrize("opener", ["store", "hq"])
def test_a_split_flow_reaches_the_store_through_its_new_hub_when_the_old_one_dies_mid_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opener: str
) -> None:
    """hq-hub1 dies after the store's push, while hq-hub2's first config still passes the store's
    return packets to hq-hub1 and copies them to hq-hub3, the store's new backup: the copy to
    hq-hub3 goes out whether or not hq-hub1 is there to take the packet, and the flows through
    hq-hub3 carry on, the one held through the walk and one opened then, until hq-hub2's last
    push and after."""
    store_appliance, said, unmarked, duplicates = _walk_change(tmp_path, monkeypatch, opener, dies=True)
    _assert_walked(said, unmarked, duplicates, [
        "start", "hq-hub1 (union)", "hq-hub2 (union)", "hq-hub3", store_appliance, "hq-hub1 dies", "hq-hub2 (final)",
    ])  # fmt: skip


def test_a_moving_stores_packet_reaches_its_new_hub_once_when_the_old_hub_and_its_own_link_die(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hq-hub1 dies after the store's push, then the store's link to hq-hub2: hq-hub2, still on
    its first config, routes HQ's answers (marked for hq-hub1, whose table is empty) over the DC
    LAN to hq-hub3, a partner, and copied them to hq-hub3 as well: hq-hub3 took each twice and
    the store each segment twice. The copy is left out where the packet itself goes to the hub
    the copy would."""
    store_appliance, said, unmarked, duplicates = _walk_change(tmp_path, monkeypatch, "store", dies=True, cut=True)
    _assert_walked(said, unmarked, duplicates, [
        "start", "hq-hub1 (union)", "hq-hub2 (union)", "hq-hub3", store_appliance, "hq-hub1 dies",
        "its link to hq-hub2 dies", "hq-hub2 (final)",
    ])  # fmt: skip
