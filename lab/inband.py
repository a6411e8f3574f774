"""In-band management: the push reaches every FRR appliance from HQ's management network.

A lab built from a fleet with the "ipsec" overlay has HQ (`lab.sites`). Its appliances are
managed as the chain manages them, at their inventory management addresses:
- a **store edge** at its loopback, from the HQ management workstation, through the store's
  primary hub and the IPsec overlay; its rendered firewall admits SSH only from the HQ
  management network arriving through a tunnel;
- a **hub** at its management address, on its management port on HQ's management LAN (`lab.sites`).
Each appliance's sshd runs inside its namespace on port 22 (`lab.sshd`); the push engine's
127.0.0.1 ports lead there through the relay into HQ (`lab.relay`).

**Day 0.** A store that has never been pushed has no BGP, so nothing routes HQ to it. A real
store gets a day-0 config from zero-touch provisioning; the lab gives each store edge the same
minimum in its FRR running config: the loopback, and a static route to the management
network through the primary tunnel. The first push replaces that running config with the
rendered one (the static route goes, BGP takes over), so from then on management lives and
dies with the rendered config: a change that cuts the store's route to HQ cuts the session.
Each hub gets the matching route back to the store's loopback in a table of its own
(`DAY0_TABLE`), which the kernel consults after the main table's routes but before its default
route (`lookup main suppress_prefixlength 0` first): the hub is pushed before its stores, BGP's
routes to a store, once there, always win, and the DC's default route the hub learns does not
draw a store that has no BGP yet back to HQ.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from storestack.lab.frr import run_vtysh
from storestack.lab.ipsec import LabTunnel
from storestack.lab.relay import RelayRoute, RelaySpec, start_relay
from storestack.lab.state import SSH_DIR, ApplianceRuntime, LabState, SshdShard
from storestack.lab.system import ip_batch
from storestack.lab.topology import LabTopology
from storestack.lab.underlay import HQ_SITE

# A hub's day-0 routes to its stores' loopbacks, and the rules that consult them between the main
# table's routes and its default route.
DAY0_TABLE = 249
DAY0_RULES = (
    "rule add pref 31000 lookup main suppress_prefixlength 0",
    f"rule add pref 31001 lookup {DAY0_TABLE}",
)
RELAY_SPEC = "relay.json"
RELAY_PIDFILE = "relay.pid"


def in_band_appliances(topology: LabTopology) -> set[str]:
    """The FRR appliances HQ manages in-band: in a fleet lab with HQ, each hub with a management
    address and each store edge with one that terminates a tunnel to its primary hub. (A
    store's second appliance hangs off its first one's LAN, which the lab does not build: it
    keeps the loopback side door.)"""
    if topology.overlay != "ipsec" or topology.sites is None:
        return set()
    edges = {plan.store for plan in topology.tunnels if plan.hub == topology.appliance(plan.store).primary_hub}
    return {
        a.name
        for a in topology.appliances
        if not a.emulated and a.management_address is not None and (a.role == "hub" or a.name in edges)
    }


def in_band_shards(state_dir: Path, runtimes: list[ApplianceRuntime]) -> list[SshdShard]:
    """One sshd per in-band appliance, inside its namespace."""
    shards = []
    for runtime in runtimes:
        shards.append(
            SshdShard(
                index=runtime.shard,
                config=str(state_dir / SSH_DIR / f"sshd-{runtime.shard}.conf"),
                pidfile=str(state_dir / SSH_DIR / f"sshd-{runtime.shard}.pid"),
                ports=[22],
                namespace=runtime.namespace,
            )
        )
    return shards


def start_management_relay(state_dir: Path, state: LabState, managed: set[str]) -> None:
    """The relay from each in-band appliance's 127.0.0.1 port to its management address, from HQ."""
    sites = state.topology.sites
    assert sites is not None and state.relay_pidfile is not None
    routes = []
    for runtime in state.appliances:
        address = state.topology.appliance(runtime.name).management_address
        if address is not None and runtime.name in managed:
            routes.append(RelayRoute(appliance=runtime.name, listen_port=runtime.port, address=address))
    spec = RelaySpec(
        namespace=state.site_namespaces[HQ_SITE],
        source=sites.hq_management,
        pidfile=state.relay_pidfile,
        routes=routes,
    )
    start_relay(spec, state_dir / SSH_DIR / RELAY_SPEC)


def apply_day0(state: LabState, tunnels: list[LabTunnel]) -> None:
    """Each store edge's day-0 management path (see the module docstring), both ends."""
    topology = state.topology
    sites = topology.sites
    assert sites is not None
    primary_links = {(link.a.appliance, link.name) for link in topology.links if link.primary}
    primary_tunnels = {
        plan.id
        for plan in topology.tunnels
        if (plan.store, plan.transport) in primary_links and plan.hub == topology.appliance(plan.store).primary_hub
    }
    store_config: dict[str, list[str]] = {}
    hub_routes: dict[str, list[str]] = {}
    for tunnel in tunnels:
        store, hub = tunnel.initiator, tunnel.responder
        address = topology.appliance(store.appliance).management_address
        if tunnel.id not in primary_tunnels or address is None:
            continue
        store_config[store.appliance] = [
            "configure terminal",
            "interface lo",
            f"ip address {address}/32",
            "exit",
            *(f"ip route {prefix} {hub.inside.ip} {store.ifname}" for prefix in sites.management_prefixes),
            "end",
        ]
        hub_routes.setdefault(hub.appliance, list(DAY0_RULES)).append(
            f"route add {address}/32 via {store.inside.ip} dev {hub.ifname} table {DAY0_TABLE}"
        )
    for hub_name, lines in hub_routes.items():
        ip_batch(state.runtime(hub_name).namespace, lines)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: run_vtysh(state.runtime(item[0]), *item[1]), store_config.items()))
