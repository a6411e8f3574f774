"""An FRR hub's management port behind a management gateway (`sites.hq.hubs[i].management_gateway`,
`HubIntent.management_gateway`). The port held the management LAN alone in its table (5400),
which only the management address's packets look up, the rest of them unreachable: a management
host in another management subnet (a jump host, the NMS behind HQ's management router) got no
SSH or ping answer from the management address, and the inventory had no field to say where that
router is. Now the inventory names it (checked with file, line and field), the intent routes the
management ranges outside the LAN through it, and the routing batch puts those routes in the
management table alone: the host is answered through the port, never through the DC port
(iproute2 ip-route(8), ip-rule(8))."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from testsupport.lab import BOUND_PING
from testsupport.rendering import edited_sample_chain

from storestack.devices.render import render_hub
from storestack.inventory import Fleet, InventoryError, load_fleet
from storestack.network.build import NetworkIntent

HUB = "hq-hub1"
ADDRESS = "10.0.250.11"  # the sample chain's hq-hub1 management_address, in 10.0.250.0/24
GATEWAY = "10.0.250.1"
REMOTE = "10.0.240.0/24"  # a management range behind the gateway
REMOTE_HOST = "10.0.240.10"
HUB_LINES = "        platform: frr\n        management_address: 10.0.250.11\n"


def _chain(tmp_path: Path, gateway: str = GATEWAY, ranges: str = f"    - 10.0.250.0/24\n    - {REMOTE}\n") -> Path:
    root = edited_sample_chain(tmp_path, HUB_LINES, f"{HUB_LINES}        management_gateway: {gateway}\n")
    spec = root / "fleet.yaml"
    spec.write_text(spec.read_text().replace("    - 10.0.250.0/24\n", ranges, 1))
    return root


def _routing(fleet: Fleet) -> str:
    return dict(render_hub(fleet, HUB).companions)["routing"]


def test_the_intent_routes_the_management_ranges_outside_the_lan_through_the_gateway(tmp_path: Path) -> None:
    intent = NetworkIntent(load_fleet(_chain(tmp_path))).hub(HUB)
    assert str(intent.management_gateway) == GATEWAY
    assert [str(net) for net in intent.management_via_gateway] == [REMOTE]


def test_the_routing_batch_puts_the_gateway_routes_in_the_management_table_only(tmp_path: Path) -> None:
    lines = _routing(load_fleet(_chain(tmp_path))).splitlines()
    lan = lines.index(f"route replace 10.0.250.0/24 dev mgmt src {ADDRESS} table 5400")
    # after the LAN's route: the gateway is on-link when the batch adds its route
    assert lines[lan + 1] == f"route replace {REMOTE} via {GATEWAY} dev mgmt src {ADDRESS} table 5400"
    # the main table never learns the management ranges through the port
    assert [line for line in lines if "via 10.0.250.1" in line] == [lines[lan + 1]]


def test_without_a_gateway_the_port_reaches_its_lan_alone(fleet: Fleet) -> None:
    assert not [line for line in _routing(fleet).splitlines() if "dev mgmt" in line and " via " in line]


@pytest.mark.parametrize(
    ("gateway", "ranges", "why"),
    [
        ("10.0.251.1", None, r"10\.0\.251\.1 is outside the management LAN 10\.0\.250\.0/24"),
        ("10.0.250.0", None, r"is the network address of 10\.0\.250\.0/24"),
        ("10.0.250.255", None, r"is the broadcast address of 10\.0\.250\.0/24"),
        ("10.0.250.11", None, r"is the management_address of hub hq-hub1 itself"),
        ("10.0.250.12", None, r"is the management_address of hub hq-hub2"),
        (GATEWAY, "    - 10.0.250.0/24\n", r"every ip_plan\.management range is inside the management LAN"),
    ],
)
def test_the_inventory_refuses_a_gateway_the_port_cannot_route_through(
    tmp_path: Path, gateway: str, ranges: str | None, why: str
) -> None:
    root = _chain(tmp_path, gateway, *([ranges] if ranges else []))
    with pytest.raises(InventoryError, match=rf"fleet\.yaml:\d+.*sites\.hq\.hubs\[0\]\.management_gateway.*hq-hub1: .*{why}"):
        load_fleet(root)


def test_the_inventory_refuses_a_gateway_on_a_platform_that_renders_none(tmp_path: Path) -> None:
    root = _chain(tmp_path)
    spec = root / "fleet.yaml"
    spec.write_text(spec.read_text().replace(HUB_LINES, HUB_LINES.replace("frr", "huawei_vrp"), 1))
    with pytest.raises(InventoryError, match=r"management_gateway.*renders no management gateway on huawei_vrp"):
        load_fleet(root)


# --- packets: the rendered lines in network namespaces -------------------------------------------

_SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 22)); s.listen(4)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"SSH-2.0-storestack-test\r\n")
    c.close()
"""

_CLIENT = r"""
import socket, sys
c = socket.socket(); c.settimeout(4)
try:
    c.connect((sys.argv[1], 22))
    print(c.recv(64).decode().strip(), flush=True)
except OSError as error:
    print(f"failed {error}", flush=True)
"""

# Counts what reaches the DC side from the management address (a reply that left by the DC port).
_COUNTER = f"""table inet seen {{
  chain pre {{
    type filter hook prerouting priority -400; policy accept;
    ip saddr {ADDRESS} counter
  }}
}}
"""


def _run(*argv: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, timeout=30, input=stdin)


@dataclass
class Lab:
    ns: dict[str, str]  # hub, gw, host, dc -> namespace

    def exec(self, name: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run("ip", "netns", "exec", self.ns[name], *argv, check=check)

    def leaked(self) -> int:
        listing = self.exec("dc", "nft", "list", "table", "inet", "seen").stdout
        return int(listing.split("counter packets ", 1)[1].split()[0])


@contextmanager
def _lab(fleet: Fleet, tag: str, drop: tuple[str, ...] = ()) -> Iterator[Lab]:
    """The hub's namespace with its rendered kernel settings, nftables ruleset and management
    port lines (`drop`: lines of the routing batch left out), its management port on the
    management LAN with the gateway's namespace, a management host behind the gateway, and its
    DC port towards a DC namespace holding the hub's default route (the DC edge's)."""
    if os.geteuid() != 0 or shutil.which("nft") is None:
        pytest.skip("needs root and nft (network namespaces)")
    from storestack.devices.views import ViewBuilder

    config = render_hub(fleet, HUB)
    companions = dict(config.companions)
    view = ViewBuilder(fleet).hub_view(HUB)
    dc_port, dc_address = view.dc.ifname, view.dc.address
    core = view.dc.routers[0]
    lab = Lab({name: f"r10{tag}-{name}" for name in ("hub", "gw", "host", "dc")})
    try:
        for namespace in lab.ns.values():
            _run("ip", "netns", "add", namespace)
            _run("ip", "-n", namespace, "link", "set", "lo", "up")
        hub, gw, host, dc = (lab.ns[n] for n in ("hub", "gw", "host", "dc"))
        _run("ip", "link", "add", "mgmt", "netns", hub, "type", "veth", "peer", "lan0", "netns", gw)
        _run("ip", "link", "add", "h0", "netns", gw, "type", "veth", "peer", "eth0", "netns", host)
        _run("ip", "link", "add", dc_port, "netns", hub, "type", "veth", "peer", "core0", "netns", dc)
        _run("ip", "netns", "exec", hub, "sysctl", "-q", "-p", "-", stdin=companions["sysctl.conf"])
        _run("ip", "netns", "exec", gw, "sysctl", "-q", "net.ipv4.ip_forward=1")
        _run("ip", "-n", gw, "addr", "add", f"{GATEWAY}/24", "dev", "lan0")
        _run("ip", "-n", gw, "addr", "add", "10.0.240.1/24", "dev", "h0")
        _run("ip", "-n", host, "addr", "add", f"{REMOTE_HOST}/24", "dev", "eth0")
        _run("ip", "-n", dc, "addr", "add", f"{core}/{dc_address.prefixlen}", "dev", "core0")
        _run("ip", "-n", hub, "addr", "add", dc_address.cidr, "dev", dc_port)
        for namespace, port in ((gw, "lan0"), (gw, "h0"), (host, "eth0"), (dc, "core0"), (hub, dc_port)):
            _run("ip", "-n", namespace, "link", "set", port, "up")
        _run("ip", "-n", host, "route", "add", "default", "via", "10.0.240.1")
        # The DC edge's default route (what the hub learns from the DC core), and the DC's way
        # to the management ranges (HQ routes them to the management network)
        _run("ip", "-n", hub, "route", "add", "default", "via", core)
        # The management port's lines and rules, as rendered
        batch = [
            line for line in companions["routing"].splitlines()
            if (" mgmt " in f"{line} " or ADDRESS in line) and not line.startswith("#") and line not in drop
        ]
        _run("ip", "-n", hub, "-batch", "-", stdin="\n".join(batch) + "\n")
        _run("ip", "netns", "exec", hub, "nft", "-f", "-", stdin=companions["nftables.conf"])
        _run("ip", "netns", "exec", dc, "nft", "-f", "-", stdin=_COUNTER)
        yield lab
    finally:
        for namespace in lab.ns.values():
            subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True)


def _answers(lab: Lab) -> tuple[str, bool]:
    """What the management host gets from the hub's management address: the SSH banner (or why
    not), and whether a ping is answered."""
    server = subprocess.Popen(
        ["ip", "netns", "exec", lab.ns["hub"], sys.executable, "-c", _SERVER, ADDRESS],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        banner = lab.exec("host", sys.executable, "-c", _CLIENT, ADDRESS).stdout.strip()
        ping = lab.exec("host", sys.executable, "-c", BOUND_PING, REMOTE_HOST, ADDRESS).stdout.strip() == "reply"
        return banner, ping
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.fixture
def gateway_fleet(tmp_path: Path) -> Fleet:
    return load_fleet(_chain(tmp_path))


def test_a_management_host_behind_the_gateway_is_answered_through_the_management_port(gateway_fleet: Fleet) -> None:
    """SSH and ping from a management host in another management subnet, behind the gateway,
    to the hub's management address: answered, and nothing from that address reaches the DC."""
    with _lab(gateway_fleet, "ok") as lab:
        assert _answers(lab) == ("SSH-2.0-storestack-test", True)
        assert lab.leaked() == 0


def test_without_the_gateway_route_the_host_got_no_answer(gateway_fleet: Fleet) -> None:
    """What the hub rendered before the management gateway: the LAN alone in its table, so the
    address's replies to the host were unreachable (no answer; none by the DC port either)."""
    route = f"route replace {REMOTE} via {GATEWAY} dev mgmt src {ADDRESS} table 5400"
    with _lab(gateway_fleet, "nogw", drop=(route,)) as lab:
        banner, ping = _answers(lab)
        assert banner.startswith("failed") and not ping
        assert lab.leaked() == 0


def test_without_the_source_rules_the_replies_would_leave_by_the_dc_port(gateway_fleet: Fleet) -> None:
    """The counter sees a leak: without the management address's own rules its replies follow
    the main table's default route out of the DC port (what the rules prevent)."""
    rules = tuple(line for line in _routing(gateway_fleet).splitlines() if line.startswith(f"rule add from {ADDRESS}"))
    assert len(rules) == 2
    with _lab(gateway_fleet, "leak", drop=rules) as lab:
        _answers(lab)
        assert lab.leaked() > 0
