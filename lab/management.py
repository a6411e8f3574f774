"""A management port on a lab FRR appliance: SSH that rides a path the appliance's config controls.

The lab's usual logins are sshd on 127.0.0.1 of the host, which no appliance config can touch.
A management port is what a store appliance really has: a link from the management station into
the appliance (`mgmt0` in its namespace, a /30 from 169.254.0.0/16 chosen per appliance), and an
sshd inside the appliance's namespace listening on its end, with the same host key, user and
restricted login as the lab's other logins. Replies to the station leave through the appliance's
own routing table, which FRR programs: a pushed config that blackholes the station, or shuts
`mgmt0`, really cuts the push's session. The commit-confirm self-cut test uses it.

Everything lives in the appliance's namespace (the host end of the veth goes with it), so `lab
down` removes it like the rest: its sshd is a process in a lab namespace.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from storestack.common.files import atomic_write_text
from storestack.devices.targets import ApplianceTarget
from storestack.lab import system
from storestack.lab.errors import LabError
from storestack.lab.frr_lab import lab_info
from storestack.lab.sshd import common_sshd_options, login_command
from storestack.lab.state import SSH_DIR, require_state

MANAGEMENT_POOL = IPv4Network("169.254.0.0/16")
APPLIANCE_IFNAME = "mgmt0"
SSH_PORT = 22


@dataclass(frozen=True)
class ManagementPort:
    target: ApplianceTarget  # the appliance, reached over the port
    station: IPv4Address  # the host's end: where the push's packets come from
    address: IPv4Address  # the appliance's end, where its sshd listens
    interface: str  # the appliance's interface of the port (mgmt0)


def open_management_port(state_dir: Path, appliance: str, *, timeout: float = 10.0) -> ManagementPort:
    """Give `appliance` a management port and return how to reach it; once per appliance."""
    state_dir = state_dir.resolve()
    state = require_state(state_dir)
    runtime = state.runtime(appliance)
    network = _free_slot(runtime.namespace)
    station, address = list(network.hosts())
    slot = (int(network.network_address) - int(MANAGEMENT_POOL.network_address)) // 4
    host_ifname = f"{state.prefix}m{slot:x}"  # at most 15 characters, unique per lab and slot
    pidfile = state_dir / SSH_DIR / f"mgmt-{runtime.namespace}.pid"
    config = state_dir / SSH_DIR / f"mgmt-{runtime.namespace}.conf"
    running = system.read_pidfile(pidfile)
    if running is not None and system.process_matches(running, str(config)):
        raise LabError(f"{appliance} has a management port already ({config})")
    target = lab_info(state_dir).inventory.by_name()[appliance].model_copy(
        update={"host": str(address), "port": SSH_PORT}
    )
    system.ip_batch(
        None,
        [
            f"link add name {host_ifname} type veth peer name {APPLIANCE_IFNAME} netns {runtime.namespace}",
            f"addr add {station}/{network.prefixlen} dev {host_ifname}",
            f"link set {host_ifname} up",
        ],
    )
    system.ip_batch(
        runtime.namespace,
        [f"addr add {address}/{network.prefixlen} dev {APPLIANCE_IFNAME}", f"link set {APPLIANCE_IFNAME} up"],
    )
    lines = [f"ListenAddress {address}:{SSH_PORT}", *common_sshd_options(state_dir, state, str(pidfile))]
    lines.append(f"ForceCommand {login_command(state, runtime.namespace)}")
    atomic_write_text(config, "\n".join(lines) + "\n", mode=0o600)
    system.run([system.SSHD, "-t", "-f", config])
    netns = f"--net={system.NETNS_RUN_ROOT / runtime.namespace}"
    system.run(["nsenter", netns, system.SSHD, "-f", config, "-E", config.with_suffix(".log")])
    deadline = time.monotonic() + timeout
    while not _answers(runtime.namespace, address):
        if time.monotonic() > deadline:
            raise LabError(f"the management sshd of {appliance} did not answer on {address}:{SSH_PORT}")
        time.sleep(0.05)
    return ManagementPort(target=target, station=station, address=address, interface=APPLIANCE_IFNAME)


def _free_slot(namespace: str) -> IPv4Network:
    """A /30 of the pool derived from the namespace (stable, and different for parallel labs),
    skipping any the host already uses."""
    used = system.run(["ip", "-4", "-o", "addr", "show"]).stdout
    slots = MANAGEMENT_POOL.num_addresses // 4
    start = int.from_bytes(hashlib.sha1(namespace.encode()).digest()[:4], "big") % slots
    for offset in range(slots):
        network = IPv4Network((int(MANAGEMENT_POOL.network_address) + 4 * ((start + offset) % slots), 30))
        if not any(f" {host}/" in used for host in network):
            return network
    raise LabError("no free management /30 left in 169.254.0.0/16")


def _answers(namespace: str, address: IPv4Address) -> bool:
    """The sshd answers from inside the appliance's namespace (where it listens)."""
    probe = system.run(
        ["nsenter", f"--net={system.NETNS_RUN_ROOT / namespace}", "ss", "-Hltn", f"src {address}:{SSH_PORT}"],
        check=False,
    )
    return f"{address}:{SSH_PORT}" in probe.stdout
