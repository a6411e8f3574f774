"""`storestack lab check`: the lab's claims, measured with real packets, as one verdict.

- **Tunnel state**: every tunnel of the lab is up, with the proposal it negotiated; a tunnel that
  is down says why when its initiator's charon logged a reason (e.g. no acceptable proposal).
- **Encryption evidence**: every site's WAN port on the lab internet carried IKE/ESP-in-UDP and
  nothing else between sites: no cleartext BGP, BFD or LAN traffic (nftables counters).
- **BGP sessions**: every configured neighbour of every FRR appliance, by kind (store-hub,
  hub-hub, AWS through the cloud stand-in, the DC core), must be Established when the lab runs
  its far end (`lab.bgp`); a neighbour outside the lab is reported, not failed.
- **BFD sessions**: every session bfdd runs on an FRR appliance (the tunnels SLA steering
  watches) must be up when the lab runs its far end (`lab.bfd`); others are reported.
- **Reachability** (with the network intent): every segment host's matrix (`lab.reachability`)
  against the intent's segmentation policy: allowed must be reachable, denied unreachable.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from storestack.lab import ipsec
from storestack.lab.bfd import BfdSession, bfd_sessions
from storestack.lab.bgp import BgpSession, address_owners, bgp_sessions
from storestack.lab.errors import NoTunnelsError
from storestack.lab.overlay import TunnelStatus, evidence, tunnel_status
from storestack.lab.reachability import Cell, measure
from storestack.lab.state import require_state
from storestack.lab.underlay import WanEvidence
from storestack.network.build import NetworkIntent


class TunnelCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tunnel: TunnelStatus
    reason: str | None = None


class LabCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    tunnels: list[TunnelCheck]
    bgp: list[BgpSession]
    bfd: list[BfdSession]
    wan: list[WanEvidence]
    reachability: list[Cell]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def check(state_dir: Path, intent: NetworkIntent | None = None) -> LabCheck:
    """Measure the lab and list every way it differs from what it must be.

    Without `intent` the reachability matrix is not measured (tunnels and WAN evidence only)."""
    state_dir = state_dir.resolve()
    state = require_state(state_dir)
    if state.internet_namespace is None:
        raise NoTunnelsError(
            f"lab {state.name} runs the veth overlay, which has no tunnels to check; "
            "start it with `storestack lab up --overlay ipsec`"
        )
    problems: list[str] = []
    tunnels = []
    for status in tunnel_status(state_dir, state):
        reason = None if status.up else ipsec.down_reason(state.runtime(status.initiator).namespace, status.id)
        tunnels.append(TunnelCheck(tunnel=status, reason=reason))
        if not status.up:
            problems.append(f"tunnel {status.id} is down" + (f": {reason}" if reason else ""))
    owners = address_owners(state)
    sessions = bgp_sessions(state, owners)
    for session in sessions:
        if session.in_lab and not session.established:
            problems.append(
                f"BGP {session.appliance} -> {session.peer} {session.neighbor} ({session.kind}, "
                f"AS {session.local_as} -> AS {session.remote_as}) is {session.state}, not Established"
            )
    bfd = bfd_sessions(state, owners)
    for peer in bfd:
        if peer.in_lab and not peer.up:
            via = f" on {peer.interface}" if peer.interface else ""
            why = f" ({peer.diagnostic})" if peer.diagnostic and peer.diagnostic != "ok" else ""
            problems.append(f"BFD {peer.appliance} -> {peer.peer} {peer.peer_address}{via} is {peer.status}{why}, not up")
    charons = [runtime.namespace for runtime in state.appliances] + list(state.site_namespaces.values())
    for namespace in charons:
        if ipsec.lost_kernel_events(namespace):
            problems.append(f"charon in {namespace} lost kernel events (netlink receive buffer overflow)")
    # The matrix first: the evidence that follows covers the probes' packets too.
    cells = measure(state, intent) if intent is not None else []
    wan = evidence(state_dir)
    for item in wan:
        where = f"{item.site} {item.ifname} ({item.address})"
        if item.bgp_packets:
            problems.append(f"{where}: {item.bgp_packets} cleartext BGP packets on the WAN")
        if item.bfd_packets:
            problems.append(f"{where}: {item.bfd_packets} cleartext BFD packets on the WAN")
        if item.other_packets:
            problems.append(f"{where}: {item.other_packets} cleartext packets that are not IKE or ESP on the WAN")
        if not item.ipsec_packets and item.kind != "site":
            problems.append(f"{where}: no IKE/ESP packets at all")
    for cell in cells:
        if cell.matches:
            continue
        where = f"{cell.store_id} {cell.source} -> {cell.target} ({cell.address} tcp/{cell.port})"
        if cell.allowed:
            problems.append(f"{where}: allowed ({cell.why}) but unreachable ({cell.outcome})")
        else:
            problems.append(f"{where}: reachable ({cell.outcome}) but the intent denies it")
    return LabCheck(
        name=state.name, tunnels=tunnels, bgp=sessions, bfd=bfd, wan=wan, reachability=cells, problems=problems
    )


def settled_check(state_dir: Path, intent: NetworkIntent, *, within: float = 90.0) -> LabCheck:
    """`check`, again while the hubs' routes settle after a rollout: the first verdict that
    passes, or the one after `within` seconds (seconds on an idle machine, much longer on a
    loaded one)."""
    deadline = time.monotonic() + within
    while True:
        verdict = check(state_dir, intent)
        if verdict.ok or time.monotonic() > deadline:
            return verdict
        time.sleep(1)
