"""A store's transport tables in a real kernel with a real zebra: what leaves from a WAN address.

Each transport's own packets (its tunnels' IKE/ESP, replies to pings from the internet) are
policy-routed by source into the transport's table. These tests load a rendered FRR store's static
routes and policy rules into a throwaway FRR (its own network namespace), give it a BGP-like
default into the overlay, and ask the kernel where a packet from the WAN address goes: by its
own link, or nowhere; never into a tunnel.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from frr_instance import FrrInstance, frr_available
from testsupport.rendering import on_platform

from storestack.devices.render import RenderedConfig, render_fleet
from storestack.devices.views import ViewBuilder
from storestack.devices.views.model import StoreApplianceView
from storestack.inventory import Fleet

pytestmark = pytest.mark.lab

STORE = "nw-0002"  # fiber (static, wan1) and LTE (carrier-assigned), no local internet breakout
OVERLAY = "ovl0"  # stands in for the tunnel BGP's default route uses
INTERNET_HOST = "192.0.2.77"  # someone on the internet who pings the store's WAN address


@dataclass
class Store:
    frr: FrrInstance
    view: StoreApplianceView

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "-n", self.frr.name, *args], capture_output=True, text=True, check=check)

    def route_from(self, source: str, destination: str) -> str:
        """`ip route get` of a packet the store itself sends: its device, or the kernel's error."""
        result = self.ip("route", "get", destination, "from", source, check=False)
        return (result.stdout + result.stderr).strip()


def _require() -> None:
    reason = frr_available()
    if reason is not None:
        pytest.skip(reason)


def _wait(condition: object, what: str, timeout: float = 10) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def store(fleet: Fleet) -> Iterator[Store]:
    _require()
    fleet = on_platform(fleet, "frr")
    store = fleet.store(STORE)
    hostname = store.appliances[0].hostname
    view = ViewBuilder(fleet).store_view(store, hostname)
    config: RenderedConfig = next(c for c in render_fleet(fleet, store_ids=[STORE], hubs=[]) if c.name == hostname)
    routing = dict(config.companions)["routing"]
    with FrrInstance(hostname) as frr:
        running = Store(frr, view)
        for link in view.wan:
            # Each WAN link a veth whose far end stands in for the ISP's line: down = no carrier.
            running.ip("link", "add", link.ifname, "type", "veth", "peer", "name", f"{link.ifname}-isp")
            running.ip("link", "set", f"{link.ifname}-isp", "up")
            running.ip("link", "set", link.ifname, "up")
            if link.address is not None:
                running.ip("addr", "add", link.address.cidr, "dev", link.ifname)
        running.ip("link", "add", OVERLAY, "type", "veth", "peer", "name", f"{OVERLAY}-hub")
        running.ip("addr", "add", "10.255.255.1/31", "dev", OVERLAY)
        running.ip("link", "set", f"{OVERLAY}-hub", "up")
        running.ip("link", "set", OVERLAY, "up")
        running.ip("route", "add", "default", "via", "10.255.255.0", "dev", OVERLAY)
        for line in routing.splitlines():
            if line.startswith("rule add "):
                running.ip(*line.split())
        routes = [line for line in config.text.splitlines() if line.startswith("ip route ")]
        frr.vtysh("configure terminal", *routes)
        yield running


def _fiber(store: Store) -> tuple[str, str, str]:
    """The static fiber link: its interface, address and first tunnel's far end."""
    link = next(link for link in store.view.wan if link.address is not None and link.gateway)
    assert link.address is not None
    far_end = next(t.peer_outside for t in store.view.tunnels if t.link == link.name)
    return link.ifname, link.address.ip, far_end


def test_a_dead_transports_ike_and_esp_never_ride_another_tunnel(store: Store) -> None:
    ifname, address, far_end = _fiber(store)
    _wait(lambda: f"dev {ifname}" in store.route_from(address, far_end), "the pinned far end")

    store.ip("link", "set", f"{ifname}-isp", "down")  # the fiber loses carrier
    _wait(lambda: f"dev {ifname}" not in store.route_from(address, far_end), "zebra to withdraw the pinned far end")
    time.sleep(1)  # whatever zebra does next, it has done
    answer = store.route_from(address, far_end)
    assert OVERLAY not in answer, f"IKE/ESP of the dead fiber would ride the overlay: {answer}"
    # Refused on the spot (the table's `unreachable` route: EHOSTUNREACH), not just absent.
    assert "No route to host" in answer, answer

    store.ip("link", "set", f"{ifname}-isp", "up")
    # zebra reinstalls the route once it sees the carrier; on a loaded machine that has taken over 10 s
    _wait(lambda: f"dev {ifname}" in store.route_from(address, far_end), "the far end back on the fiber", timeout=30)


def test_a_ping_from_the_internet_is_answered_by_the_link_it_came_in_on(store: Store) -> None:
    ifname, address, _far_end = _fiber(store)
    link = next(link for link in store.view.wan if link.ifname == ifname)
    _wait(lambda: f"dev {ifname}" in store.route_from(address, INTERNET_HOST), "the reply's route")
    assert f"via {link.gateway} dev {ifname}" in store.route_from(address, INTERNET_HOST)
    # A neighbour on the link itself stays on-link, not through the gateway.
    assert link.gateway is not None
    on_link = store.route_from(address, link.gateway)
    assert f"dev {ifname} table {link.table}" in on_link and " via " not in on_link, on_link


def test_a_carrier_assigned_transport_without_its_lease_sends_nothing_into_a_tunnel(store: Store) -> None:
    """The LTE link's lease hook routes the link's table (`ip rule from <lease> lookup <table>`,
    `ip route replace default via <router> dev <link> table <table>`); when the lease goes and the
    hook takes its default away, the link's IKE/ESP is refused, not sent through the fiber's tunnel."""
    link = next(link for link in store.view.wan if link.address is None)
    far_end = next(t.peer_outside for t in store.view.tunnels if t.link == link.name)
    lease, router = "100.80.0.2", "100.80.0.1"
    store.ip("addr", "add", f"{lease}/30", "dev", link.ifname)
    store.ip("rule", "add", "from", lease, "lookup", str(link.table), "pref", "1010")
    store.ip("route", "replace", "default", "via", router, "dev", link.ifname, "table", str(link.table))
    _wait(lambda: f"dev {link.ifname}" in store.route_from(lease, far_end), "the lease's route")

    store.ip("route", "del", "default", "via", router, "dev", link.ifname, "table", str(link.table))
    # zebra took its `unreachable` default out of the kernel while the lease's route was there,
    # and puts it back now that the lease's route is gone.
    _wait(lambda: "No route to host" in store.route_from(lease, far_end), "the LTE table's unreachable default")
    time.sleep(1)
    answer = store.route_from(lease, far_end)
    assert OVERLAY not in answer and "No route to host" in answer, answer
