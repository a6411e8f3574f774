"""Intended FRR configs for a lab topology, and the lab fixture the push tests and benchmarks share.

The configs are written the way FRR 8.4 displays them, so a converged appliance diffs clean.
Hubs and store edges peer over every WAN link; the store prefers fiber (LTE routes get a lower
local-preference) and announces its own prefix from a blackhole route.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from storestack import lab
from storestack.lab.topology import LabTopology
from testsupport.lab import require_frr_lab

HUB_ASN = 65000
STORE_ASN_BASE = 65100


@contextmanager
def running_lab(topology: LabTopology, state_dir: Path) -> Iterator[lab.LabInfo]:
    require_frr_lab()
    try:
        yield lab.up(topology, state_dir)
    except lab.LabError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the FRR lab did not start: {exc}")
        raise
    finally:
        lab.down(state_dir)


def store_asns(topology: LabTopology) -> dict[str, int]:
    edges = [a for a in topology.appliances if a.role == "edge"]
    return {edge.name: STORE_ASN_BASE + number for number, edge in enumerate(edges, start=1)}


def intended_configs(
    topology: LabTopology,
    *,
    descriptions: dict[str, str] | None = None,
    wrong_hub_asn: set[str] | None = None,
    bgp_password: str | None = None,
) -> dict[str, str]:
    """Intended config text per appliance.

    `descriptions` overrides an interface description ("appliance/ifname" → text);
    `wrong_hub_asn` names store edges whose fiber neighbour gets a wrong remote-as (breaks BGP);
    `bgp_password` sets the same TCP-MD5 password on both ends of every session (a secret).
    """
    descriptions = descriptions or {}
    wrong = wrong_hub_asn or set()
    asns = store_asns(topology)
    configs: dict[str, str] = {}
    for index, hub in enumerate(a for a in topology.appliances if a.role == "hub"):
        links = [link for link in topology.links if link.b.appliance == hub.name]
        lines = ["frr defaults traditional", f"hostname {hub.name}", "service integrated-vtysh-config", "!"]
        for link in links:
            ifname = link.b.ifname
            text = descriptions.get(f"{hub.name}/{ifname}", f"{link.store_id} {link.name}")
            lines += [f"interface {ifname}", f" description {text}", f" ip address {link.b.address}", "exit", "!"]
        lines += [f"router bgp {HUB_ASN}", f" bgp router-id 10.255.0.{index + 1}", " no bgp ebgp-requires-policy"]
        for link in links:
            peer = link.a.address.ip
            lines += [f" neighbor {peer} remote-as {asns[link.a.appliance]}"]
            if bgp_password:
                lines += [f" neighbor {peer} password {bgp_password}"]
            lines += [f" neighbor {peer} timers connect 2"]
        lines += [" !", " address-family ipv4 unicast"]
        lines += [f"  neighbor {link.a.address.ip} default-originate" for link in links]
        lines += [" exit-address-family", "exit", "!", "end"]
        configs[hub.name] = "\n".join(lines) + "\n"
    for number, edge in enumerate((a for a in topology.appliances if a.role == "edge"), start=1):
        links = topology.links_of(edge.name)
        prefix = f"10.64.{number}.0/24"
        lines = [
            "frr defaults traditional",
            f"hostname {edge.name}",
            "service integrated-vtysh-config",
            "!",
            f"ip route {prefix} blackhole",
            "!",
        ]
        for link in links:
            text = descriptions.get(f"{edge.name}/{link.a.ifname}", f"{link.kind} to {link.b.appliance}")
            lines += [f"interface {link.a.ifname}", f" description {text}", f" ip address {link.a.address}", "exit", "!"]
        lines += [f"router bgp {asns[edge.name]}", f" bgp router-id 10.254.0.{number}", " no bgp ebgp-requires-policy"]
        for link in links:
            peer = link.b.address.ip
            asn = HUB_ASN + 99 if edge.name in wrong and link.kind == "fiber" else HUB_ASN
            lines += [f" neighbor {peer} remote-as {asn}"]
            if bgp_password:
                lines += [f" neighbor {peer} password {bgp_password}"]
            lines += [f" neighbor {peer} timers connect 2"]
        lines += [" !", " address-family ipv4 unicast", f"  network {prefix}"]
        for link in links:
            if link.kind in ("lte", "5g"):
                lines += [f"  neighbor {link.b.address.ip} route-map BACKUP-IN in"]
        lines += [" exit-address-family", "exit", "!"]
        lines += [f"ip prefix-list STORE seq 5 permit {prefix}", "!"]
        lines += ["route-map BACKUP-IN permit 10", " set local-preference 50", "exit", "!", "end"]
        configs[edge.name] = "\n".join(lines) + "\n"
    return configs


def established_peers(state_dir: Path, appliance: str) -> set[str]:
    return {peer.peer for peer in lab.bgp_peers(state_dir, appliance) if peer.state == "Established"}


def running_config(state_dir: Path, appliance: str) -> str:
    return lab.vtysh(state_dir, appliance, "show running-config")


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.25)
