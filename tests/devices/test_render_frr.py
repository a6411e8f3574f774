"""FRR configs against a real FRR 8.x: every line accepted, and running config == intended.

These need FRR (and root for the namespace tests). They skip on a laptop without FRR, but
under CI (env CI set) a missing FRR is a failure, never a silent skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from frr_instance import VTYSH, FrrInstance, frr_available, normalise
from testsupport.rendering import on_platform

from storestack.devices.naming import hub_interface_name
from storestack.devices.render import RenderedConfig, render_fleet
from storestack.devices.views import ViewBuilder
from storestack.inventory import Fleet


def _require(reason: str | None) -> None:
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"FRR tests cannot run under CI: {reason}")
    pytest.skip(reason)


def _require_vtysh() -> None:
    _require(None if shutil.which("vtysh") or Path(VTYSH).exists() else "vtysh is not installed")


def _frr_configs(fleet: Fleet) -> list[RenderedConfig]:
    return [config for config in render_fleet(fleet) if config.platform == "frr"]


def test_sample_chain_has_frr_stores_and_hubs(fleet: Fleet) -> None:
    roles = {config.role for config in _frr_configs(fleet)}
    assert roles == {"edge", "hub"}


def _dry_run(config: RenderedConfig, tmp_path: Path) -> None:
    path = tmp_path / config.filename
    path.write_text(config.text)
    result = subprocess.run([VTYSH, "-C", "-f", str(path)], capture_output=True, text=True, timeout=60)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and "%" not in output, f"{config.name}: vtysh rejected:\n{output}"


def test_every_frr_config_of_the_sample_chain_passes_vtysh(fleet: Fleet, tmp_path: Path) -> None:
    _require_vtysh()
    for config in _frr_configs(fleet):
        _dry_run(config, tmp_path)


def test_every_store_shape_on_frr_passes_vtysh(fleet: Fleet, tmp_path: Path) -> None:
    """The vendor-platform stores of the sample chain, rendered for FRR, are valid FRR too."""
    _require_vtysh()
    for config in render_fleet(on_platform(fleet, "frr")):
        _dry_run(config, tmp_path)


def test_vtysh_check_catches_a_bad_line(tmp_path: Path) -> None:
    """The dry run above can fail: a line FRR does not know is reported."""
    _require_vtysh()
    path = tmp_path / "bad.cfg"
    path.write_text("router bgp 65000\n neighbor 192.0.2.1 remote-as 65001\n neighbour typo\nexit\n")
    result = subprocess.run([VTYSH, "-C", "-f", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


def _apply_and_read_back(config: RenderedConfig, directory: Path) -> tuple[list[str], list[str], str]:
    path = directory / config.filename
    path.write_text(config.text)
    with FrrInstance(config.name) as frr:
        applied = frr.apply_file(path)
        return normalise(config.text), normalise(frr.running_config()), applied.stdout + applied.stderr


@pytest.mark.lab
def test_applied_frr_configs_read_back_identically(fleet: Fleet, tmp_path: Path) -> None:
    """After applying an intended config to a fresh FRR, `show running-config` is the same text
    (minus FRR's header lines), so hier_config remediation against it is empty and converges.
    Every store of the sample chain is rendered for FRR here, so every shape is covered."""
    _require(frr_available())
    configs = list(render_fleet(on_platform(fleet, "frr")))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda config: _apply_and_read_back(config, tmp_path), configs))
    for config, (intended, running, messages) in zip(configs, results, strict=True):
        assert "%" not in messages, f"{config.name}: {messages}"
        assert running == intended, f"{config.name}: running config differs from intended"


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.lab
def test_fibre_failure_moves_the_default_route_to_lte(fleet: Fleet, tmp_path: Path) -> None:
    """nw-0001 with its four hub tunnels (each link to both hubs) stood in for by veth pairs
    named as the tunnel interfaces (encryption is the lab's to prove): BGP comes up on all four,
    the default route uses a fibre tunnel to the primary hub, and with the fibre's tunnels down
    it moves to an LTE tunnel. Each hub gives the store a default only while the DC core's is in
    its BGP table (`StoreDefault`); a stand-in puts one there, and the primary hub without it
    sends the store none, so the store's default leaves it for the other hub."""
    _require(frr_available())
    store = fleet.store("nw-0001")
    configs = {c.name: c for c in render_fleet(fleet, store_ids=["nw-0001"])}
    view = ViewBuilder(fleet).store_view(store, store.appliances[0].hostname)
    with (
        FrrInstance("hq-hub1") as hub1,
        FrrInstance("hq-hub2") as hub2,
        FrrInstance("nw-0001-edge1") as edge,
    ):
        hubs = {"hq-hub1": hub1, "hq-hub2": hub2}
        for tunnel in view.tunnels:
            hub = hubs[tunnel.hub.hostname]
            hub_side = hub_interface_name(store.id, tunnel.link)
            subprocess.run(
                ["ip", "link", "add", tunnel.ifname, "netns", edge.name, "type", "veth",
                 "peer", "name", hub_side, "netns", hub.name],
                check=True,
            )  # fmt: skip
            subprocess.run(["ip", "-n", edge.name, "link", "set", tunnel.ifname, "up"], check=True)
            subprocess.run(["ip", "-n", hub.name, "link", "set", hub_side, "up"], check=True)
        for instance in (hub1, hub2, edge):
            path = tmp_path / f"{instance.hostname}.cfg"
            path.write_text(configs[instance.hostname].text)
            instance.apply_file(path)

        def dc_default(hub: FrrInstance, present: bool) -> None:
            """The DC core's default in the hub's BGP table, or not (a stand-in: the hub's own)."""
            network = "network 0.0.0.0/0" if present else "no network 0.0.0.0/0"
            asn = fleet.hubs[hub.hostname].asn
            hub.vtysh("configure terminal", "ip route 0.0.0.0/0 blackhole", f"router bgp {asn}", "address-family ipv4 unicast", network)

        for hub in hubs.values():
            dc_default(hub, True)
        over = {link.name: [tunnel.ifname for tunnel in link.tunnels] for link in view.wan}

        def default_via(interfaces: list[str]) -> bool:
            route = edge.vtysh("show ip route 0.0.0.0/0").stdout
            return any(f"via {i}" in route or f", {i}," in route or route.rstrip().endswith(i) for i in interfaces)

        def established(count: int) -> bool:
            summary = json.loads(edge.vtysh("show bgp ipv4 unicast summary json").stdout or "{}")
            peers = summary.get("peers", {})
            hub_peers = [tunnel.inside_peer for tunnel in view.tunnels]
            return sum(peers.get(peer, {}).get("state") == "Established" for peer in hub_peers) >= count

        _wait_for(lambda: established(4), 60, "BGP to both hubs over both links")
        primary = next(t.ifname for t in view.tunnels if t.link == "wan1" and t.hub.hostname == store.primary_hub)
        _wait_for(lambda: default_via([primary]), 30, "the default route over wan1 to the primary hub")
        hub_routes = hub1.vtysh("show ip bgp").stdout
        for segment in store.segments.values():
            assert (str(segment.subnet) in hub_routes) == segment.advertised
        assert f"{store.appliances[0].loopback}/32" in hub_routes, "the store loopback is advertised"
        for ifname in over["wan1"]:
            subprocess.run(["ip", "-n", edge.name, "link", "set", ifname, "down"], check=True)
        _wait_for(lambda: default_via(over["lte1"]), 30, "the default route to move to an lte1 tunnel")
        for ifname in over["wan1"]:
            subprocess.run(["ip", "-n", edge.name, "link", "set", ifname, "up"], check=True)
        _wait_for(lambda: established(4), 60, "BGP back over wan1")
        _wait_for(lambda: default_via([primary]), 30, "the default route back over wan1 to the primary hub")
        # The primary hub loses the DC core's default: it withdraws the store's (5 s after the
        # best path changes), and the store's default moves to a tunnel to the other hub.
        dc_default(hubs[store.primary_hub], False)
        others = [t.ifname for t in view.tunnels if t.hub.hostname != store.primary_hub]
        _wait_for(lambda: default_via(others) and not default_via([primary]), 30, "the default route to leave the primary hub")
