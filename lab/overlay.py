"""The "ipsec" overlay of a lab: internet namespace, a charon per FRR appliance, tunnels up.

Order: the internet namespace and every site's WAN veth (`lab.underlay`), then each hub's
charon (the responders), then each store's (the initiators dial as soon as their swanctl.conf
is loaded), then the VXLAN devices that carry the overlay inside the tunnels.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from storestack.lab import ipsec
from storestack.lab.errors import LabError
from storestack.lab.ipsec import ChildState, LabTunnel
from storestack.lab.state import LabState, require_state
from storestack.lab.tunnels import lab_secret, lab_tunnels, tunnels_of
from storestack.lab.underlay import (
    WanAttachment,
    WanEvidence,
    create_internet,
    wan_attachments,
    wan_evidence,
)


def overlay_plan(state_dir: Path, state: LabState) -> tuple[list[WanAttachment], list[LabTunnel]]:
    attachments = wan_attachments(state.topology)
    return attachments, lab_tunnels(state.topology, attachments, lab_secret(state_dir))


def start_overlay(state_dir: Path, state: LabState) -> None:
    """Internet namespace, WAN veths, charons and VXLAN devices of every FRR appliance."""
    assert state.internet_namespace is not None
    lab_secret(state_dir, create=True)
    attachments, tunnels = overlay_plan(state_dir, state)
    namespaces = {runtime.name: runtime.namespace for runtime in state.appliances}
    create_internet(state.internet_namespace, attachments, namespaces)
    hubs = [r for r in state.appliances if state.topology.appliance(r.name).role == "hub"]
    others = [r for r in state.appliances if r not in hubs]

    def start(name: str, namespace: str) -> None:
        mine = tunnels_of(tunnels, name)
        if not mine:
            return
        ipsec.start_charon(
            namespace,
            ipsec.swanctl_conf(name, mine),
            ignore_interfaces=[t.end(name)[0].ifname for t in mine],
        )

    def ready(name: str, namespace: str) -> None:
        mine = tunnels_of(tunnels, name)
        if mine:
            ipsec.wait_charon(namespace, name, mine, create=True)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for group in (hubs, others):
            for runtime in group:
                start(runtime.name, runtime.namespace)
            list(pool.map(lambda r: ready(r.name, r.namespace), group))


def restart_charon(state_dir: Path, appliance: str) -> None:
    """Restart one appliance's charon with the swanctl.conf it runs, and re-add its VTEPs."""
    state = require_state(state_dir)
    runtime = state.runtime(appliance)
    _attachments, tunnels = overlay_plan(state_dir, state)
    mine = tunnels_of(tunnels, appliance)
    conf = (ipsec.instance_dir(runtime.namespace) / "swanctl.conf").read_text(encoding="utf-8")
    ipsec.start_charon(
        runtime.namespace, conf, ignore_interfaces=[t.end(appliance)[0].ifname for t in mine]
    )
    ipsec.wait_charon(runtime.namespace, appliance, mine, create=False)


class TunnelStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    initiator: str
    responder: str
    up: bool
    ike_proposal: str | None
    esp_proposal: str | None
    local: str | None
    remote: str | None


def tunnel_status(state_dir: Path, state: LabState | None = None) -> list[TunnelStatus]:
    """Each tunnel as its initiator's charon sees it."""
    state = state or require_state(state_dir)
    _attachments, tunnels = overlay_plan(state_dir, state)
    namespaces = {runtime.name: runtime.namespace for runtime in state.appliances}
    cache: dict[str, dict[str, ChildState]] = {}
    result = []
    for tunnel in tunnels:
        name = tunnel.initiator.appliance
        if name not in cache:
            try:
                cache[name] = ipsec.tunnel_states(namespaces[name])
            except LabError:
                cache[name] = {}
        child = cache[name].get(tunnel.id)
        result.append(
            TunnelStatus(
                id=tunnel.id,
                initiator=name,
                responder=tunnel.responder.appliance,
                up=child is not None and child.up,
                ike_proposal=child.ike_proposal if child else None,
                esp_proposal=child.esp_proposal if child else None,
                local=child.local if child else None,
                remote=child.remote if child else None,
            )
        )
    return result


def wait_tunnels(state_dir: Path, state: LabState, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        down = [t.id for t in tunnel_status(state_dir, state) if not t.up]
        if not down:
            return
        if time.monotonic() > deadline:
            raise LabError(f"IPsec tunnels not up within {timeout:g} s: {', '.join(down[:5])}")
        time.sleep(0.1)


def evidence(state_dir: Path) -> list[WanEvidence]:
    """What every site sent into the lab internet since the lab started (nftables counters)."""
    state = require_state(state_dir)
    if state.internet_namespace is None:
        raise LabError(f"lab {state.name} runs the veth overlay: it has no internet to take evidence from")
    attachments, _tunnels = overlay_plan(state_dir, state)
    return wan_evidence(state.internet_namespace, attachments)
