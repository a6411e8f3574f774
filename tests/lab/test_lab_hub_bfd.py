"""BFD between the two FRR hubs on the DC LAN (`network/model.py` `SESSION_BFD`).

One store (nw-0001) of the sample chain, `lab up --overlay ipsec`, `rollout --lab`. Each hub's
bfdd runs a single-hop session with the other hub's DC address, up. When one hub goes silent on
the DC LAN (every packet in and out of its DC port dropped: a crash or a power cut as the other
hub sees it, with no TCP reset), the other hub takes its iBGP session down and its routes out of
the kernel (the dead hub's loopback among them, which the flow handover's partner route
resolves through) within BFD's detection time, well before the 9 s hold time.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass

import pytest
from testsupport.lab import ONE_STORE_GROUP, OneStoreLab

from storestack.devices.health import parse_bfd_peers
from storestack.devices.platforms import get_platform
from storestack.inventory import load_fleet
from storestack.lab import frr_lab
from storestack.lab.frr import run_vtysh
from storestack.lab.state import ApplianceRuntime
from storestack.network.build import NetworkIntent

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group(ONE_STORE_GROUP)]

SILENCE = "hbfd_dead"  # the nftables table that silences a hub's DC port
# Generous bounds: BFD's detection is 0.9 s (300 ms x3); the hold time it replaces, 9 s.
DETECTED_WITHIN = 5.0


@dataclass
class Hub:
    name: str
    runtime: ApplianceRuntime
    dc_address: str
    loopback: str
    dc_ifname: str


@pytest.fixture(scope="module")
def hubs(one_store_lab: OneStoreLab) -> tuple[Hub, Hub]:
    intent = NetworkIntent(load_fleet(one_store_lab.fleet_dir))
    state = frr_lab.require_state(one_store_lab.state_dir)
    names = sorted(a.name for a in one_store_lab.topology.appliances if a.role == "hub")
    assert len(names) == 2
    first, second = (
        Hub(
            name,
            state.runtime(name),
            str(intent.hub(name).dc.address.ip),
            str(intent.hub(name).loopback),
            get_platform("frr").hub_dc_port(),
        )
        for name in names
    )
    return first, second


def _bfd_status(hub: Hub, peer: Hub) -> str | None:
    peers = parse_bfd_peers(run_vtysh(hub.runtime, "show bfd peers json"))
    found = [p for p in peers if p.peer == peer.dc_address and not p.multihop]
    return found[0].status if found else None


def _bgp_state(hub: Hub, peer: Hub) -> str:
    data = json.loads(run_vtysh(hub.runtime, f"show bgp neighbors {peer.dc_address} json"))
    return str(data.get(peer.dc_address, {}).get("bgpState", ""))


def _kernel_route_via(hub: Hub, peer: Hub) -> bool:
    """The hub's kernel routes the peer's loopback through the peer's DC address (iBGP)."""
    shown = subprocess.run(
        ["ip", "-n", hub.runtime.namespace, "route", "show", f"{peer.loopback}/32"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return f"via {peer.dc_address}" in shown.stdout


def _wait(condition: object, timeout: float, step: float = 0.1) -> float | None:
    """Seconds until `condition()` holds, or None after `timeout`."""
    assert callable(condition)
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(step)
    return None


def test_each_hub_runs_bfd_with_the_other_hub_up(hubs: tuple[Hub, Hub]) -> None:
    first, second = hubs
    for hub, peer in ((first, second), (second, first)):
        waited = _wait(lambda hub=hub, peer=peer: _bfd_status(hub, peer) == "up", 60, 1.0)
        peers = run_vtysh(hub.runtime, "show bfd peers json")
        assert waited is not None, (hub.name, peers)
        (session,) = [p for p in parse_bfd_peers(peers) if p.peer == peer.dc_address]
        assert session.local == hub.dc_address and session.interface == hub.dc_ifname, session
        assert _bgp_state(hub, peer) == "Established"


def test_a_silent_hub_s_routes_leave_the_other_within_bfd_s_detection(hubs: tuple[Hub, Hub]) -> None:
    survivor, dead = hubs
    assert _wait(lambda: _bfd_status(survivor, dead) == "up" and _kernel_route_via(survivor, dead), 60, 1.0) is not None
    ifname = dead.dc_ifname
    ruleset = (
        f"table inet {SILENCE} {{\n"
        f' chain pre {{ type filter hook prerouting priority -500; policy accept; iifname "{ifname}" drop; }}\n'
        f' chain out {{ type filter hook output priority -500; policy accept; oifname "{ifname}" drop; }}\n'
        f' chain post {{ type filter hook postrouting priority -500; policy accept; oifname "{ifname}" drop; }}\n'
        "}\n"
    )
    subprocess.run(["ip", "netns", "exec", dead.runtime.namespace, "nft", "-f", "-"], input=ruleset, text=True, check=True)
    try:
        start = time.monotonic()
        session_down = route_gone = None
        while time.monotonic() - start < 15 and (session_down is None or route_gone is None):
            if session_down is None and _bgp_state(survivor, dead) != "Established":
                session_down = time.monotonic() - start
            if route_gone is None and not _kernel_route_via(survivor, dead):
                route_gone = time.monotonic() - start
            time.sleep(0.05)
        diagnosis = (session_down, route_gone, run_vtysh(survivor.runtime, "show bfd peers"))
        print(f"hub-hub BFD: {survivor.name}'s session with {dead.name} down after {session_down} s, "
              f"the kernel route to its loopback gone after {route_gone} s")  # fmt: skip
        assert session_down is not None and session_down < DETECTED_WITHIN, diagnosis
        assert route_gone is not None and route_gone < DETECTED_WITHIN, diagnosis
        assert _bfd_status(survivor, dead) == "down", diagnosis
    finally:
        subprocess.run(["ip", "netns", "exec", dead.runtime.namespace, "nft", "delete", "table", "inet", SILENCE], check=False)
    # Back: the session and the route return once the hub answers again.
    assert _wait(lambda: _bgp_state(survivor, dead) == "Established" and _kernel_route_via(survivor, dead), 90, 1.0) is not None
