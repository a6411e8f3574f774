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

from storestack.inventory import load_fleet
from storestack.lab import ipsec, system
from storestack.lab.cloudvpn import CLOUD_VPN, CloudPlan, bgp_config, cloud_lab_tunnels, load_psks, save_psks
from storestack.lab.companions import install_firewall
from storestack.lab.errors import LabError
from storestack.lab.frr import frr_ready, run_vtysh
from storestack.lab.ipsec import ChildState, LabTunnel, TunnelEnd, vtep_pair
from storestack.lab.rendered import RenderedIpsec, adapt_qos, adapt_swanctl, render_ipsec
from storestack.lab.sshd import confirm_dir
from storestack.lab.state import ApplianceRuntime, LabState, require_state, save_state
from storestack.lab.steering import start_steering
from storestack.lab.system import ip_batch
from storestack.lab.tunnels import lab_secret, lab_tunnels, tunnel_plans, tunnels_of
from storestack.lab.underlay import (
    CLOUD_SITE,
    HQ_SITE,
    WanAttachment,
    WanEvidence,
    create_internet,
    wan_attachments,
    wan_evidence,
)


def overlay_plan(state_dir: Path, state: LabState) -> tuple[list[WanAttachment], list[LabTunnel]]:
    """WAN attachments and tunnels; tunnel devices named as the rendered configs name them."""
    attachments = wan_attachments(state.topology, [t.outside for t in state.cloud_tunnels])
    tunnels = lab_tunnels(state.topology, attachments, lab_secret(state_dir))
    if state.cloud_tunnels:
        outside = {(a.site, a.ifname): a.address.ip for a in attachments if a.kind == "store"}
        tunnels += cloud_lab_tunnels(
            state.cloud_tunnels,
            load_psks(state_dir),
            outside,
            state.tunnel_ifnames,
            [vtep_pair(len(tunnels) + index) for index in range(len(state.cloud_tunnels))],
            first_vni=len(tunnels) + 1,
        )
    if state.tunnel_ifnames:
        tunnels = [_renamed(tunnel, state.tunnel_ifnames) for tunnel in tunnels]
    return attachments, tunnels


def carrying_link(state_dir: Path, store_id: str, interface: str) -> str:
    """The store WAN link under `interface`, an interface the store routes over: with the
    "ipsec" overlay a tunnel device rides on a transport; otherwise the interface is the link."""
    state = require_state(state_dir)
    if state.topology.overlay != "ipsec":
        return interface
    transports = {plan.id: plan.transport for plan in tunnel_plans(state.topology) if plan.store_id == store_id}
    for tunnel in overlay_plan(state_dir, state)[1]:
        if tunnel.id in transports and tunnel.initiator.ifname == interface:
            return transports[tunnel.id]
    return interface


def _renamed(tunnel: LabTunnel, ifnames: dict[str, str]) -> LabTunnel:
    ends = {}
    for role in ("initiator", "responder"):
        end: TunnelEnd = getattr(tunnel, role)
        name = ifnames.get(f"{end.appliance}/{tunnel.id}")
        ends[role] = end.model_copy(update={"ifname": name}) if name else end
    return tunnel.model_copy(update=ends)


def start_overlay(state_dir: Path, state: LabState, cloud: CloudPlan | None = None) -> None:
    """Internet namespace, WAN veths, charons and VXLAN devices of every FRR appliance.

    A lab built from a fleet runs the swanctl.conf and strongswan.conf storestack renders for
    each appliance (`lab.rendered`); a synthetic lab runs the lab's own (`ipsec.swanctl_conf`).
    `cloud`: the cloud stand-in's plan (`lab.cloudvpn`). The stores render from the network
    intent's planned values, as `rollout --lab`, `devices push` and `drift` render them: their AWS
    tunnels come up only if the plan agrees with those values."""
    assert state.internet_namespace is not None
    secret = lab_secret(state_dir, create=True)
    topology = state.topology
    rendered: dict[str, RenderedIpsec] = {}
    if topology.fleet_root is not None and topology.tunnels:
        stores = sorted({t.store_id for t in topology.tunnels})
        hubs = sorted({t.hub for t in topology.tunnels})
        fleet = load_fleet(Path(topology.fleet_root))
        if cloud is not None:
            state.cloud_tunnels = cloud.tunnels
            save_psks(state_dir, cloud.psks)
        rendered = render_ipsec(fleet, stores, hubs, secret)
        state.tunnel_ifnames = {
            f"{name}/{tunnel_id}": ifname
            for name, files in rendered.items()
            for tunnel_id, ifname in files.tunnel_interfaces().items()
        }
        state.interface_groups = {name: files.interface_groups() for name, files in rendered.items()}
        state.management_routing = {name: lines for name, files in rendered.items() if (lines := files.management_routing())}
        save_state(state_dir, state)
    attachments, tunnels = overlay_plan(state_dir, state)
    namespaces = {runtime.name: runtime.namespace for runtime in state.appliances}
    for site in (HQ_SITE, CLOUD_SITE):
        if site in state.site_namespaces:
            namespaces[site] = state.site_namespaces[site]
    create_internet(state.internet_namespace, attachments, namespaces)
    hubs_first = sorted(state.appliances, key=lambda r: topology.appliance(r.name).role != "hub")

    def files(name: str, namespace: str, mine: list[LabTunnel]) -> tuple[str, str]:
        ifnames = [t.end(name)[0].ifname for t in mine]
        if name not in rendered:
            return ipsec.swanctl_conf(name, mine), ipsec.strongswan_conf(namespace, ifnames)
        vteps = {t.id: (t.end(name)[0].vtep, t.end(name)[1].vtep) for t in mine}
        addresses = {a.ifname: a.address.ip for a in attachments if a.site == name}
        swanctl = adapt_swanctl(rendered[name].swanctl, vteps, addresses)
        return swanctl, ipsec.strongswan_conf(namespace, ifnames, rendered[name].charon_settings())

    def ready(name: str, namespace: str) -> None:
        mine = tunnels_of(tunnels, name)
        if mine:
            ipsec.wait_charon(namespace, name, mine)

    groups = [
        [r for r in hubs_first if topology.appliance(r.name).role == "hub"],
        [r for r in hubs_first if topology.appliance(r.name).role != "hub"],
    ]
    cloud_tunnels = tunnels_of(tunnels, CLOUD_VPN)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for number, group in enumerate(groups):
            if number == 1 and cloud_tunnels:
                # The cloud stand-in answers like the hubs: up before the stores dial.
                cloud_ns = state.site_namespaces[CLOUD_SITE]
                ifnames = [t.responder.ifname for t in cloud_tunnels]
                ipsec.create_tunnel_devices(cloud_ns, CLOUD_VPN, cloud_tunnels)
                ipsec.start_charon(
                    cloud_ns, ipsec.swanctl_conf(CLOUD_VPN, cloud_tunnels), ipsec.strongswan_conf(cloud_ns, ifnames)
                )
                ipsec.wait_charon(cloud_ns, CLOUD_VPN, cloud_tunnels)
            for runtime in group:
                mine = tunnels_of(tunnels, runtime.name)
                if mine:
                    ipsec.create_tunnel_devices(runtime.namespace, runtime.name, mine)
                    ipsec.start_charon(runtime.namespace, *files(runtime.name, runtime.namespace, mine))
            list(pool.map(lambda r: ready(r.name, r.namespace), group))
    for name, files_of in rendered.items():
        load_host_files(namespaces[name], files_of, confirm_dir(state.prefix))


def join_interface_groups(namespace: str, groups: dict[str, int]) -> None:
    """Each of `groups`' interfaces that exists in `namespace` joins its interface group (what
    the rendered firewall's `iifgroup` matches)."""
    existing = set(system.run(["ip", "-n", namespace, "-o", "link", "show"]).stdout.split())
    lines = [
        f"link set {ifname} group {group}"
        for ifname, group in groups.items()
        if f"{ifname}:" in existing or any(word.startswith(f"{ifname}@") for word in existing)
    ]
    if lines:
        ip_batch(namespace, lines)


def join_late_interfaces(state: LabState) -> None:
    """The interfaces made after the overlay (a hub's cloud VPN stand-in link, named like the
    rendered tunnel) join the groups the rendered routing companions give them, as the tunnel
    devices did: the hubs' firewalls treat them as the tunnels they stand in for; a hub's
    management port gets its rendered address and table."""
    for runtime in state.appliances:
        groups = state.interface_groups.get(runtime.name)
        if groups:
            join_interface_groups(runtime.namespace, groups)
        management = state.management_routing.get(runtime.name)
        if management:
            # A hub's management port on HQ's management LAN (lab/sites.py): its address and
            # table as the rendered routing companion puts them (its rules came with the others).
            ip_batch(runtime.namespace, management)


def cloud_runtime(state: LabState) -> ApplianceRuntime | None:
    """The cloud stand-in's FRR (bgpd with Amazon's ASN), when the lab has one."""
    if not state.cloud_tunnels:
        return None
    return ApplianceRuntime(name=CLOUD_VPN, namespace=state.site_namespaces[CLOUD_SITE], port=0, shard=0)


def start_cloud_bgp(state: LabState, runtime: ApplianceRuntime, timeout: float) -> None:
    """Configure the stand-in's bgpd once its FRR answers: a neighbour per AWS tunnel."""
    sites = state.topology.sites
    assert sites is not None
    deadline = time.monotonic() + timeout
    while not frr_ready(runtime):
        if time.monotonic() > deadline:
            raise LabError(f"FRR of the cloud stand-in did not start within {timeout:g} s")
        time.sleep(0.05)
    run_vtysh(runtime, *bgp_config(state.cloud_tunnels, [str(sites.cloud_prefix)]))


# Before every rendered rule (the lowest is a transport's own, 1000).
VXLAN_RULE_PREF = 900


def load_host_files(namespace: str, files: RenderedIpsec, confirm_root: Path) -> None:
    """Interface groups of the tunnel devices and the rendered policy rules (guest Wi-Fi only
    through its breakout link's table), then the rendered host firewall (as the appliance's
    companion file, which pushes then install: lab/companions.py), and on a store the SLA
    steering (storestack-steer) that keeps the class tables of those rules."""
    join_interface_groups(namespace, files.interface_groups())
    rules = files.policy_rules()
    if any(" fwmark " in rule for rule in rules):
        # SLA steering marks packets for the class tables. An XFRM interface routes its ESP by
        # the SA's own mark; VXLAN, the lab's stand-in, routes its outer packet with the inner
        # packet's mark, which would send it back into the class table's tunnel: main for it.
        rules.append(f"rule add ipproto udp dport {ipsec.VXLAN_PORT} lookup main pref {VXLAN_RULE_PREF}")
    ip_batch(namespace, rules)
    if files.nftables:
        install_firewall(confirm_root, namespace, files.nftables, ipsec.TUN_DEVICE, ipsec.VXLAN_PORT)
    if files.qos:
        queues = ipsec.instance_dir(namespace) / QOS_FILE
        queues.write_text(adapt_qos(files.qos, ipsec.TUN_DEVICE, str(ipsec.VTEP_POOL)), encoding="utf-8")
        load_qos(namespace)
    if files.steering:
        start_steering(namespace, files.steering)


# The WAN queues as the lab loads them (`adapt_qos`), beside the charon's files: the TUN device
# vanishes with its charon, so a restart loads them again.
QOS_FILE = "qos.tc"


def load_qos(namespace: str) -> None:
    queues = ipsec.instance_dir(namespace) / QOS_FILE
    if queues.exists():
        system.run(["ip", "netns", "exec", namespace, "tc", "-batch", str(queues)])


def restart_charon(state_dir: Path, appliance: str) -> None:
    """Restart one appliance's charon with the files it runs, and re-add its VTEPs."""
    state = require_state(state_dir)
    runtime = state.runtime(appliance)
    _attachments, tunnels = overlay_plan(state_dir, state)
    mine = tunnels_of(tunnels, appliance)
    folder = ipsec.instance_dir(runtime.namespace)
    ipsec.start_charon(
        runtime.namespace,
        (folder / "swanctl.conf").read_text(encoding="utf-8"),
        (folder / "strongswan.conf").read_text(encoding="utf-8"),
    )
    ipsec.wait_charon(runtime.namespace, appliance, mine)
    load_qos(runtime.namespace)


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


def wait_tunnels(state_dir: Path, state: LabState, timeout: float, *, cloud_grace: float = 15.0) -> None:
    """Wait for the tunnels between the lab's own appliances (LabError when they do not come up).

    The cloud stand-in's come up only when the plan and the device side agree, so `up` gives
    them `cloud_grace` seconds and goes on either way: `lab check` reports them."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        status = tunnel_status(state_dir, state)
        down = [t.id for t in status if not t.up and t.responder != CLOUD_VPN]
        cloud_down = [t.id for t in status if not t.up and t.responder == CLOUD_VPN]
        if not down and (not cloud_down or time.monotonic() > started + cloud_grace):
            return
        if down and time.monotonic() > deadline:
            namespaces = {runtime.name: runtime.namespace for runtime in state.appliances}
            why = []
            for tunnel in [t for t in status if not t.up and t.responder != CLOUD_VPN][:5]:
                reason = ipsec.down_reason(namespaces[tunnel.initiator], tunnel.id)
                why.append(f"{tunnel.id} ({reason})" if reason else tunnel.id)
            more = f" and {len(down) - len(why)} more" if len(down) > len(why) else ""
            raise LabError(f"IPsec tunnels not up within {timeout:g} s: {', '.join(why)}{more}")
        time.sleep(0.1)


def evidence(state_dir: Path) -> list[WanEvidence]:
    """What every site sent into the lab internet since the lab started (nftables counters)."""
    state = require_state(state_dir)
    if state.internet_namespace is None:
        raise LabError(f"lab {state.name} runs the veth overlay: it has no internet to take evidence from")
    attachments, _tunnels = overlay_plan(state_dir, state)
    return wan_evidence(state.internet_namespace, attachments)
