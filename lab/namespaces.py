"""The lab's network namespaces and WAN links: one namespace per FRR appliance, veth pairs
created directly inside their two namespaces, and which process runs in which namespace."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from storestack.lab import system
from storestack.lab.errors import LabError
from storestack.lab.state import ApplianceRuntime, LabState, require_state
from storestack.lab.system import ip_batch
from storestack.lab.topology import LabLink
from storestack.lab.underlay import route_lines, wan_attachments


def create_namespaces(state: LabState) -> None:
    namespace = {runtime.name: runtime.namespace for runtime in state.appliances}
    # The stand-in sites' namespaces too: the internet's WAN veths (lab.underlay) reach into HQ.
    commands = [f"netns add {ns}" for ns in (*namespace.values(), *state.site_namespaces.values())]
    for link in state.veth_links():
        # Both ends are created directly inside their namespaces: no name ever exists on the host.
        commands.append(
            f"link add name {link.a.ifname} netns {namespace[link.a.appliance]} type veth "
            f"peer name {link.b.ifname} netns {namespace[link.b.appliance]}"
        )
    ip_batch(None, commands)

    def configure(runtime: ApplianceRuntime) -> None:
        lines = ["link set lo up"]
        for link in state.veth_links():
            if runtime.name not in (link.a.appliance, link.b.appliance):
                continue
            end = link.a if link.a.appliance == runtime.name else link.b
            lines.append(f"addr add {end.address.with_prefixlen} dev {end.ifname}")
            lines.append(f"link set {end.ifname} up")
        ip_batch(runtime.namespace, lines)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(configure, state.appliances))



def pids_in_namespaces(namespaces: Iterable[str]) -> dict[int, str]:
    """pid → namespace for every process whose network namespace is one of `namespaces`."""
    inodes: dict[tuple[int, int], str] = {}
    for ns in namespaces:
        with contextlib.suppress(OSError):
            info = os.stat(system.NETNS_RUN_ROOT / ns)
            inodes[(info.st_dev, info.st_ino)] = ns
    if not inodes:
        return {}
    found: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            info = os.stat(f"/proc/{entry.name}/ns/net")
            owner = inodes.get((info.st_dev, info.st_ino))
            if owner is not None:
                found[int(entry.name)] = owner
    return found



def _set_link(state_dir: Path, store_id: str, link_name: str, updown: str) -> LabLink:
    state = require_state(state_dir)
    link = state.link(store_id, link_name)
    if link not in state.frr_links():
        raise LabError(f"link {store_id} {link_name} ends on an emulated appliance and has no veth to fail")
    # The store's side goes down, as when its WAN line drops; the hub sees the carrier go too.
    namespace = state.runtime(link.a.appliance).namespace
    lines = [f"link set {link.a.ifname} {updown}"]
    if updown == "up" and state.topology.overlay == "ipsec":
        # A device going down takes its routes along: the transport's source-routing table
        # comes back with the link, as a DHCP lease would bring it back on a real line.
        for attachment in wan_attachments(state.topology):
            if (attachment.site, attachment.ifname) == (link.a.appliance, link.a.ifname):
                lines += [line.replace(" add ", " replace ", 1) for line in route_lines(attachment)]
    ip_batch(namespace, lines)
    return link


def fail_link(state_dir: Path, store_id: str, link_name: str) -> LabLink:
    """Take a store's WAN link down (its veth), to rehearse failover."""
    return _set_link(state_dir, store_id, link_name, "down")


def restore_link(state_dir: Path, store_id: str, link_name: str) -> LabLink:
    return _set_link(state_dir, store_id, link_name, "up")

