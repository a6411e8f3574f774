"""An FRR hub takes IKE and ESP-in-UDP only at the addresses its tunnels end on, from their far
ends (`HubIntent.ike_endpoints`). Its input chain took UDP 500 and 4500 at any of its addresses
from anyone, so charon answered an IKE_SA_INIT sent to its loopback or DC LAN address too, and
from HQ's own ranges. Now (hub end, far end) pairs for the known outside addresses and, where a
store link's address is dynamic, any address but the private ranges.

Packets: the hub's rendered nftables.conf in a namespace, its DC port a veth to a namespace
that sends as a store's static address, an unlisted internet address (a DHCP store) and an HQ
host, to each of the hub's addresses; a UDP socket on each of those at 500 and 4500 says what
reached charon's ports (nft(8): `ip daddr . ip saddr @set` concatenations, `!=` on an anonymous
set; strongSwan swanctl.conf(5) `local_addrs`, `encap`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from storestack.devices.render import render_hub
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent

HUB = "hq-hub1"
STATIC_STORE = "198.51.100.10"  # nw-0002's static wan1 address, a known far end of hq-hub1
DYNAMIC_STORE = "198.18.7.7"  # no inventory address: a DHCP or LTE store link's
HQ_HOST = "10.0.1.10"  # inside the private ranges: HQ's, never a store's WAN

# Binds UDP 500 and 4500 at each address given, prints each datagram's (address, port, source)
# and ends once "done" comes on stdin and nothing more arrives for a second.
_LISTENER = r"""
import select, socket, sys
socks = []
for address in sys.argv[1:]:
    for port in (500, 4500):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((address, port))
        socks.append(s)
print("listening", flush=True)
sys.stdin.readline()
while ready := select.select(socks, [], [], 1.0)[0]:
    for s in ready:
        data, source = s.recvfrom(2048)
        print(f"{s.getsockname()[0]} {s.getsockname()[1]} {source[0]}", flush=True)
"""

_SENDER = r"""
import socket, sys
source, *targets = sys.argv[1:]
for target in targets:
    for port in (500, 4500):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((source, 0))
        s.sendto(b"ike", (target, port))
        s.close()
"""


def _run(*argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, input=stdin, check=False)
    assert result.returncode == 0, f"{' '.join(argv)}: {result.stderr.strip()}"
    return result.stdout


@contextmanager
def _hub(fleet: Fleet) -> Iterator[tuple[str, str, list[str]]]:
    """The hub's namespace with its rendered nftables.conf, its loopback and public address on
    `lo`, its DC port towards a namespace holding the senders' addresses; yields the two
    namespaces and the hub's addresses."""
    if os.geteuid() != 0 or shutil.which("nft") is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but network namespaces need root and nft")
        pytest.skip("needs root and nft (network namespaces)")
    view = ViewBuilder(fleet).hub_view(HUB)
    nftables = dict(render_hub(fleet, HUB).companions)["nftables.conf"]
    hub, edge = f"ike{os.getpid()}-hub", f"ike{os.getpid()}-edge"
    dc = view.dc.address
    addresses = [view.public_address, view.loopback.ip, dc.ip]
    try:
        for namespace in (hub, edge):
            _run("ip", "netns", "add", namespace)
            _run("ip", "-n", namespace, "link", "set", "lo", "up")
        _run("ip", "link", "add", view.dc.ifname, "netns", hub, "type", "veth", "peer", "core0", "netns", edge)
        _run("ip", "-n", hub, "addr", "add", dc.cidr, "dev", view.dc.ifname)
        _run("ip", "-n", hub, "addr", "add", f"{view.public_address}/32", "dev", "lo")
        _run("ip", "-n", hub, "addr", "add", f"{view.loopback.ip}/32", "dev", "lo")
        core = view.dc.routers[0]
        _run("ip", "-n", edge, "addr", "add", f"{core}/{dc.prefixlen}", "dev", "core0")
        for source in (STATIC_STORE, DYNAMIC_STORE, HQ_HOST):
            _run("ip", "-n", edge, "addr", "add", f"{source}/32", "dev", "lo")
        _run("ip", "-n", hub, "link", "set", view.dc.ifname, "up")
        _run("ip", "-n", edge, "link", "set", "core0", "up")
        _run("ip", "-n", hub, "route", "add", "default", "via", core)
        _run("ip", "-n", edge, "route", "add", "default", "via", dc.ip)
        _run("ip", "netns", "exec", hub, "nft", "-f", "-", stdin=nftables)
        yield hub, edge, addresses
    finally:
        for namespace in (hub, edge):
            subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True, timeout=30)


def _reached(fleet: Fleet) -> set[tuple[str, int, str]]:
    """Every (hub address, port, source) a datagram reached, each source sending to each of the
    hub's addresses at 500 and 4500."""
    with _hub(fleet) as (hub, edge, addresses):
        listener = subprocess.Popen(
            ["ip", "netns", "exec", hub, sys.executable, "-c", _LISTENER, *addresses],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        try:
            assert listener.stdout is not None and listener.stdout.readline().strip() == "listening"
            for source in (STATIC_STORE, DYNAMIC_STORE, HQ_HOST):
                _run("ip", "netns", "exec", edge, sys.executable, "-c", _SENDER, source, *addresses)
            seen, _ = listener.communicate("done\n", timeout=30)
        finally:
            listener.kill()
            listener.wait(timeout=10)
    return {(address, int(port), source) for address, port, source in (line.split() for line in seen.splitlines() if line)}


def test_the_sample_hub_terminates_its_tunnels_on_its_public_address_alone(fleet: Fleet) -> None:
    hub = NetworkIntent(fleet).hub(HUB)
    (endpoint,) = hub.ike_endpoints
    assert str(endpoint.address) == str(hub.public_address)
    assert STATIC_STORE in {str(peer) for peer in endpoint.peers}
    assert endpoint.dynamic  # the sample chain has DHCP and LTE store links
    assert HQ_HOST not in {str(peer) for peer in endpoint.peers}


def test_ike_reaches_the_hub_only_at_its_tunnel_end_from_where_its_peers_are(fleet: Fleet) -> None:
    public = str(NetworkIntent(fleet).hub(HUB).public_address)
    reached = _reached(fleet)
    expected = {(public, port, source) for port in (500, 4500) for source in (STATIC_STORE, DYNAMIC_STORE)}
    # Nothing at the loopback or the DC LAN address, nothing from HQ's private ranges
    assert reached == expected
