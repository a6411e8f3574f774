"""The route-based VPN gateway of an OpenStack site: its cloud-init, strongSwan and FRR config.

Neutron VPNaaS is policy-based: one SA pair per (local subnet, peer CIDR), and two connections
with the same selectors replace each other instead of standing by. AWS accepts one SA pair per
tunnel and the HQ hubs are route-based, so each OpenStack site runs a small Linux gateway
instead: one XFRM interface per tunnel with 0.0.0.0/0 selectors, BGP (FRR) over the tunnel
inside addresses, and the fleet's one crypto policy (`storestack.network.crypto`).

Everything here is plain text from plain values; `OpenStackSite` feeds it the stack's outputs.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass

from storestack.network.crypto import (
    FLEET_CRYPTO,
    STRONGSWAN_RETRANSMITS,
    TUNNEL_MTU_ALIGN,
    CryptoPolicy,
    IkeRetransmits,
)


@dataclass(frozen=True)
class GatewayPeer:
    """One tunnel of the gateway: to an AWS tunnel endpoint or to an HQ hub."""

    name: str  # interface-safe: [a-z0-9-], at most 15 characters with the "x-" prefix
    if_id: int  # its XFRM interface's, by the tunnel's pinned slot (`network/cloud.py` `openstack_hub_if_id`)
    outside_address: ipaddress.IPv4Address
    psk: str
    local_inside: ipaddress.IPv4Interface  # e.g. 169.254.10.2/30
    peer_inside: ipaddress.IPv4Address
    peer_asn: int
    accepts: tuple[ipaddress.IPv4Network, ...]  # prefixes taken from this peer (exact or longer)


@dataclass(frozen=True)
class GatewaySettings:
    asn: int
    public_address: ipaddress.IPv4Address  # the floating IP: the gateway's IKE identity
    announces: tuple[ipaddress.IPv4Network, ...]  # the site's own networks
    crypto: CryptoPolicy = FLEET_CRYPTO
    # charon's IKE retransmissions, which end a DPD probe of a silent peer: the fleet's, not
    # strongSwan's defaults (165 s), so a dead AWS tunnel is restarted about when AWS clears it.
    retransmits: IkeRetransmits = STRONGSWAN_RETRANSMITS
    # Announced networks the gateway has no address in, each with the site router's address on
    # the gateway's subnet. FRR 7.4 and later announce a `network` only while the RIB holds that
    # exact prefix (`bgp network import-check`, FRR user guide "BGP"), and a default route does not
    # count: each becomes a static route, so the gateway announces it and forwards it the same way.
    routed: tuple[tuple[ipaddress.IPv4Network, ipaddress.IPv4Address], ...] = ()


# How long bgpd waits between attempts to open a session (FRR user guide, `neighbor PEER timers
# connect (1-65535)`, default 120 s): a tunnel that came back carries its session again within
# seconds. Keepalive 10 s and hold time 30 s are AWS's own BGP timers (its VpnConnection's
# tunnelN_bgp_holdtime); AWS Site-to-Site VPN offers no BFD, so the hold time is the quickest
# a lost AWS peer is noticed in BGP.
CONNECT_RETRY_SECONDS = 5


def swanctl_conf(settings: GatewaySettings, peers: Sequence[GatewayPeer]) -> str:
    """swanctl.conf: one IKEv2 connection per peer, its CHILD_SA bound to the peer's XFRM interface."""
    crypto = settings.crypto
    lines = ["connections {"]
    for peer in peers:
        lines += [
            f"    {peer.name} {{",
            "        version = 2",
            "        local_addrs = %any",
            f"        remote_addrs = {peer.outside_address}",
            f"        proposals = {crypto.strongswan_ike()}",
            # Retry until the peer answers (default 1: one retransmission sequence, then give up).
            # AWS waits for the customer gateway to start IKE (tunnel startup action "add", the
            # default), and a hub's tunnel is configured after the gateway boots: a gateway that gave
            # up would leave the tunnel down for good (swanctl.conf(5) `keyingtries`).
            "        keyingtries = 0",
            # A tenth before the lifetime AWS and the hubs hold the SAs to, as the FRR appliances renew.
            f"        rekey_time = {crypto.ike_rekey_seconds}s",
            f"        dpd_delay = {crypto.dpd_interval_seconds}s",
            "        local {",
            "            auth = psk",
            f"            id = {settings.public_address}",
            "        }",
            "        remote {",
            "            auth = psk",
            f"            id = {peer.outside_address}",
            "        }",
            "        children {",
            f"            {peer.name} {{",
            "                local_ts = 0.0.0.0/0",
            "                remote_ts = 0.0.0.0/0",
            f"                esp_proposals = {crypto.strongswan_esp()}",
            f"                rekey_time = {crypto.esp_rekey_seconds}s",
            # The fleet's window, as on the hubs that send here: theirs queue by class, and
            # swanctl's default of 32 packets drops the bulk the voice and POS queues overtook.
            f"                replay_window = {crypto.replay_window_packets}",
            f"                if_id_in = {peer.if_id}",
            f"                if_id_out = {peer.if_id}",
            "                start_action = start",
            "                dpd_action = restart",
            "                close_action = start",
            "            }",
            "        }",
            "    }",
        ]
    lines += ["}", "", "secrets {"]
    for peer in peers:
        lines += [
            f"    ike-{peer.name} {{",
            f"        id-1 = {settings.public_address}",
            f"        id-2 = {peer.outside_address}",
            f'        secret = "{peer.psk}"',
            "    }",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def strongswan_conf(settings: GatewaySettings) -> str:
    """A strongswan.conf drop-in (Debian's strongswan.conf includes strongswan.d/*.conf): the
    retransmission timers (strongSwan docs "Retransmission") that end a DPD probe of a dead peer.
    charon-systemd reads the `charon` section too (it registers "charon" as its fallback namespace)."""
    retransmits = settings.retransmits
    return "\n".join(
        [
            "charon {",
            f"    retransmit_timeout = {retransmits.timeout}",
            f"    retransmit_tries = {retransmits.tries}",
            f"    retransmit_base = {retransmits.base}",
            "}",
        ]
    ) + "\n"


def frr_conf(settings: GatewaySettings, peers: Sequence[GatewayPeer]) -> str:
    """frr.conf: eBGP to every peer over its tunnel; announce only the site, accept only what each peer owns."""
    lines = ["frr defaults traditional", "!"]
    lines += [f"ip prefix-list SITE seq {5 * (n + 1)} permit {net}" for n, net in enumerate(settings.announces)]
    for peer in peers:
        name = peer.name.upper()
        lines += [
            f"ip prefix-list FROM-{name} seq {5 * (n + 1)} permit {net} le 32"
            for n, net in enumerate(peer.accepts)
        ]
    lines.append("!")
    lines += [f"ip route {net} {via}" for net, via in settings.routed]
    lines += ["!"] if settings.routed else []
    lines += [f"router bgp {settings.asn}", f" bgp router-id {settings.public_address}"]
    for peer in peers:
        lines += [
            f" neighbor {peer.peer_inside} remote-as {peer.peer_asn}",
            f" neighbor {peer.peer_inside} description {peer.name}",
            f" neighbor {peer.peer_inside} timers 10 30",
            f" neighbor {peer.peer_inside} timers connect {CONNECT_RETRY_SECONDS}",
        ]
    lines += [" !", " address-family ipv4 unicast"]
    lines += [f"  network {net}" for net in settings.announces]
    for peer in peers:
        name = peer.name.upper()
        lines += [
            f"  neighbor {peer.peer_inside} prefix-list FROM-{name} in",
            f"  neighbor {peer.peer_inside} prefix-list SITE out",
        ]
    lines += [" exit-address-family", "!"]
    return "\n".join(lines) + "\n"


TUNNELS_SCRIPT = "/usr/local/sbin/storestack-tunnels"
TUNNELS_UNIT = "storestack-tunnels.service"


def interfaces_script(peers: Sequence[GatewayPeer], crypto: CryptoPolicy = FLEET_CRYPTO) -> str:
    """Creates each tunnel's XFRM interface with its inside address (at every boot: `TUNNELS_UNIT`),
    its MTU the uplink's less the fleet's ESP overhead (`CryptoPolicy.tunnel_mtu`, as the hubs'
    and stores' tunnels): read on the instance, because Neutron gives a tenant network its own
    MTU (1450 on a VXLAN overlay, 1500 on a flat or VLAN one), which the stack does not know."""
    overhead = crypto.esp_overhead_bytes()
    lines = [
        "#!/bin/sh",
        "set -eu",
        "uplink=$(ip -4 route show default | awk '{print $5; exit}')",
        'uplink_mtu=$(cat "/sys/class/net/$uplink/mtu")',
        f"tunnel_mtu=$(( (uplink_mtu - {overhead}) / {TUNNEL_MTU_ALIGN} * {TUNNEL_MTU_ALIGN} ))",
    ]
    for peer in peers:
        device = f"x-{peer.name}"
        lines += [
            f'ip link add {device} type xfrm dev "$uplink" if_id {peer.if_id}',
            f"ip addr add {peer.local_inside} dev {device}",
            f'ip link set {device} mtu "$tunnel_mtu" up',
        ]
    return "\n".join(lines) + "\n"


def tunnels_unit() -> str:
    """The systemd unit that creates the tunnel interfaces at every boot, before strongSwan and FRR.

    Interfaces made with `ip link` do not survive a reboot, and cloud-init's `runcmd` runs at the
    first boot only (`bootcmd` runs at every boot, but before `write_files` has written the script)."""
    return "\n".join(
        [
            "[Unit]",
            "Description=storestack VPN gateway: the XFRM interface of every tunnel",
            "Wants=network-online.target",
            "After=network-online.target",
            "Before=strongswan.service frr.service",
            "",
            "[Service]",
            "Type=oneshot",
            "RemainAfterExit=yes",
            f"ExecStart={TUNNELS_SCRIPT}",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
        ]
    ) + "\n"


def cloud_init(settings: GatewaySettings, peers: Sequence[GatewayPeer]) -> str:
    """The instance's user data (holds the PSKs: the stack passes it as a secret)."""
    files = [
        ("/etc/swanctl/conf.d/storestack.conf", "0600", swanctl_conf(settings, peers)),
        ("/etc/strongswan.d/storestack.conf", "0644", strongswan_conf(settings)),
        ("/etc/frr/frr.conf", "0640", frr_conf(settings, peers)),
        (TUNNELS_SCRIPT, "0755", interfaces_script(peers)),
        (f"/etc/systemd/system/{TUNNELS_UNIT}", "0644", tunnels_unit()),
        (
            "/etc/sysctl.d/60-storestack-gateway.conf",
            "0644",
            "net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.rp_filter = 2\nnet.ipv4.conf.default.rp_filter = 2\n",
        ),
    ]
    document = {
        "package_update": True,
        "packages": ["strongswan-swanctl", "charon-systemd", "frr"],
        "write_files": [{"path": path, "permissions": mode, "content": content} for path, mode, content in files],
        "runcmd": [
            ["sysctl", "--system"],
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", TUNNELS_UNIT],
            ["sed", "-i", "s/^bgpd=no/bgpd=yes/", "/etc/frr/daemons"],
            ["systemctl", "restart", "frr"],
            ["systemctl", "enable", "--now", "strongswan"],
            ["swanctl", "--load-all"],
        ],
    }
    # JSON is valid YAML; cloud-init reads it after the header line.
    return "#cloud-config\n" + json.dumps(document, indent=1, sort_keys=False) + "\n"
