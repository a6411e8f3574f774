"""The HQ data-centre core in the lab: a BGP speaker per core router of the intent.

The hub configs peer eBGP with every DC core router (`sites.hq.core.routers`, `asn.dc_core`) on
the DC LAN, and take HQ's prefixes from them. In the lab, HQ owns the core routers' addresses on
its DC LAN bridge (`lab.sites`), and one bgpd per router runs in the HQ namespace, with its own
FRR pathspace, listening only on its router's address. Each has the core's ASN, a neighbour per
lab hub at the hub's `dc_address` (the hubs' ASN), and announces HQ's and the management
prefixes (what the hubs' FROM-DC filter takes). HQ routes its answers to the stores as a real
DC does, by what the core learns from the hubs: the first router's bgpd runs with a zebra
(`ROUTING_ROUTER`), which installs its best paths towards the hubs (the stores, transit and
loopbacks; `zebra_config`) in HQ's kernel, ahead of HQ's static routes (lab.sites
FALLBACK_TABLE); the others run without (`-Z`). So when a hub loses a store's tunnel, or its sessions to the core, HQ's answers move with
BGP, and a store's SLA steering is proved against the path its answers really take (the hubs'
firewalls are stateful: a flow and its answers must pass the same hub). It announces the DC's
default route as the intent has the core do (the hubs' FROM-DC takes it; a hub gives its stores
a default only while it holds it, `StoreDefault`), not backed by a route of its own (`no bgp
network import-check`): a hub's default then leads to HQ over its DC link, as its fallback in
table `default` did, HQ's breakout. The hubs' underlay is their own WAN on the lab internet, routed by
source address in a table of its own (lab.underlay), which the default does not touch.
"""

from __future__ import annotations

import os
import pwd
import time
from ipaddress import IPv4Network

from storestack.common.files import atomic_write_text
from storestack.lab import system
from storestack.lab.errors import LabError
from storestack.lab.state import LabState
from storestack.lab.topology import LabDcCore, LabHubCloudVpn
from storestack.lab.underlay import HQ_SITE

DC_CORE = "dc-core"
# The core router whose bgpd installs its best paths in HQ's kernel (with a zebra): HQ routes
# its answers to the stores as the core learns them from the hubs. The others only speak BGP;
# their best paths are the same (the same hubs, the same attributes).
ROUTING_ROUTER = 0


def dc_core_name(index: int) -> str:
    return f"{DC_CORE}{index + 1}"


def pathspace(prefix: str, index: int) -> str:
    """The router's FRR pathspace (config and sockets); the lab prefix keeps it the lab's own,
    and `lab down` stops what runs under it."""
    return f"{prefix}-{dc_core_name(index)}"


def dc_core_namespaces(state: LabState) -> dict[str, str]:
    """Core router name → the network namespace its bgpd runs in (HQ's); empty without a core."""
    core = state.topology.sites.dc_core if state.topology.sites is not None else None
    if core is None or HQ_SITE not in state.site_namespaces:
        return {}
    return {dc_core_name(index): state.site_namespaces[HQ_SITE] for index in range(len(core.routers))}


def dc_core_owners(state: LabState) -> dict[str, str]:
    """Core router address → its name."""
    core = state.topology.sites.dc_core if state.topology.sites is not None else None
    if core is None or HQ_SITE not in state.site_namespaces:
        return {}
    return {str(router): dc_core_name(index) for index, router in enumerate(core.routers)}


def bgpd_config(core: LabDcCore, index: int, hubs: list[str]) -> str:
    """bgpd.conf of core router `index`, peering with the lab's `hubs`."""
    router = core.routers[index]
    lines = [
        "frr defaults traditional",
        f"hostname {dc_core_name(index)}",
        f"router bgp {core.asn}",
        f" bgp router-id {router}",
        " no bgp ebgp-requires-policy",
        # What it announces is HQ's own, not checked against a routing table.
        " no bgp network import-check",
    ]
    for hub in hubs:
        address = core.hub_addresses[hub]
        lines += [
            f" neighbor {address} remote-as {core.hub_asn}",
            f" neighbor {address} description {hub}",
            # Several routers share HQ's DC LAN interface: each dials from its own address.
            f" neighbor {address} update-source {router}",
            # Most core routers run without zebra, so bgpd knows no interfaces; the hubs are on
            # the LAN all the same.
            f" neighbor {address} disable-connected-check",
            f" neighbor {address} timers 10 30",
            # The hub is configured by the rollout, after the lab starts: dial again soon.
            f" neighbor {address} timers connect 10",
        ]
    lines.append(" address-family ipv4 unicast")
    lines += [f"  network {prefix}" for prefix in core.announce]
    lines += [" exit-address-family", "exit", ""]
    return "\n".join(lines)


def start_dc_core(state: LabState, timeout: float) -> None:
    """Start a bgpd per core router in HQ (nothing when the lab has no DC core or no hub)."""
    namespaces = dc_core_namespaces(state)
    sites = state.topology.sites
    if not namespaces or sites is None or sites.dc_core is None:
        return
    core = sites.dc_core
    lab_hubs = {runtime.name for runtime in state.appliances}
    hubs = [hub for hub in core.hub_addresses if hub in lab_hubs]
    spaces = {}
    for index, router in enumerate(core.routers):
        space = spaces[dc_core_name(index)] = pathspace(state.prefix, index)
        # The first router's best paths are HQ's routes back to the stores (ROUTING_ROUTER).
        _start_bgpd(
            space, namespaces[dc_core_name(index)], str(router), bgpd_config(core, index, hubs),
            zebra=zebra_config(space, list(sites.via_hubs)) if index == ROUTING_ROUTER else None,
        )  # fmt: skip
    vpns = {hub: vpn for hub, vpn in sites.hub_cloud_vpns.items() if hub in lab_hubs}
    for hub, vpn in vpns.items():
        space = spaces[f"{hub}'s cloud VPN stand-in"] = f"{state.prefix}-{HUB_CLOUD_VPN}-{hub}"
        _start_bgpd(space, namespaces[dc_core_name(0)], str(vpn.peer_inside), hub_cloud_vpn_config(vpn, hub))
    deadline = time.monotonic() + timeout
    for name, space in spaces.items():
        while not (system.FRR_RUN_ROOT / space / "bgpd.vty").exists():
            if time.monotonic() > deadline:
                raise LabError(f"the bgpd of {name} did not start within {timeout:g} s")
            time.sleep(0.05)


HUB_CLOUD_VPN = "hub-vpn"


def hub_cloud_vpn_config(vpn: LabHubCloudVpn, hub: str) -> str:
    """bgpd.conf of the stand-in for `hub`'s first cloud VPN's far end (`LabHubCloudVpn`)."""
    hub_address = vpn.hub_inside.ip
    return "\n".join(
        [
            "frr defaults traditional",
            f"hostname {HUB_CLOUD_VPN}-{hub}",
            f"router bgp {vpn.peer_asn}",
            f" bgp router-id {vpn.peer_inside}",
            " no bgp ebgp-requires-policy",
            " no bgp network import-check",
            f" neighbor {hub_address} remote-as {vpn.hub_asn}",
            f" neighbor {hub_address} update-source {vpn.peer_inside}",
            f" neighbor {hub_address} disable-connected-check",
            f" neighbor {hub_address} timers 10 30",
            f" neighbor {hub_address} timers connect 10",
            " address-family ipv4 unicast",
            f"  network {vpn.announce}",
            " exit-address-family",
            "exit",
            "",
        ]
    )


def zebra_config(space: str, installs: list[IPv4Network]) -> str:
    """zebra.conf of the installing core router: only its best paths inside `installs` (what HQ
    routes towards the hubs) go into HQ's kernel. The cloud stand-in hangs off HQ itself in the
    lab, so the hubs' cloud routes, which the core learns too, must not pull HQ's cloud traffic
    back to the hubs."""
    lines = [f"hostname {space}"]
    lines += [f"ip prefix-list TOWARDS-HUBS seq {5 * n} permit {net} le 32" for n, net in enumerate(installs, start=1)]
    lines += ["route-map INSTALL permit 10", " match ip address prefix-list TOWARDS-HUBS", "exit"]
    lines += ["ip protocol bgp route-map INSTALL", ""]
    return "\n".join(lines)


def _start_bgpd(space: str, namespace: str, address: str, config_text: str, *, zebra: str | None = None) -> None:
    """A bgpd in `namespace`, listening on `address` only, in its own FRR pathspace (which `lab
    down` stops); without zebra unless given a `zebra` config, to install its best paths in the
    namespace's kernel."""
    frr_user = pwd.getpwnam("frr")
    conf_dir, run_dir = system.FRR_CONF_ROOT / space, system.FRR_RUN_ROOT / space
    for directory in (conf_dir, run_dir):
        directory.mkdir(parents=True, exist_ok=True)
        os.chown(directory, frr_user.pw_uid, frr_user.pw_gid)
        os.chmod(directory, 0o750)
    configs = {"bgpd": config_text}
    if zebra is not None:
        configs["zebra"] = zebra
    for daemon, text in configs.items():
        config = conf_dir / f"{daemon}.conf"
        atomic_write_text(config, text, mode=0o640)
        os.chown(config, frr_user.pw_uid, frr_user.pw_gid)
    in_namespace = ["ip", "netns", "exec", namespace]
    if zebra is not None:
        system.run(
            [*in_namespace, str(system.FRR_LIB / "zebra"), "-N", space, "-d", "-A", "127.0.0.1",
             "-f", str(conf_dir / "zebra.conf")],
            timeout=30,
        )  # fmt: skip
    system.run(
        [
            *in_namespace,
            str(system.FRR_LIB / "bgpd"), "-N", space, "-d", *([] if zebra is not None else ["-Z"]), "-l", address,
            "-A", "127.0.0.1", "-f", str(conf_dir / "bgpd.conf"),
        ],
        timeout=30,
    )


def dc_core_vtysh(state: LabState, index: int, command: str) -> str:
    """A vtysh command on core router `index`'s bgpd."""
    space = pathspace(state.prefix, index)
    return system.run([str(system.VTYSH), "-N", space, "-d", "bgpd", "-c", command], timeout=15).stdout
