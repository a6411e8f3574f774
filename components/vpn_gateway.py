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
    """Makes the tunnels' XFRM interfaces what the peer config says (at every boot through
    `TUNNELS_UNIT`, and after every sync): each peer's interface with its inside address, its MTU
    the uplink's less the fleet's ESP overhead (`CryptoPolicy.tunnel_mtu`, as the hubs' and stores'
    tunnels), and no interface of a peer removed. The MTU is read on the instance, because Neutron
    gives a tenant network its own MTU (1450 on a VXLAN overlay, 1500 on a flat or VLAN one), which
    the stack does not know. A kept interface is left up: its tunnel and session stay."""
    overhead = crypto.esp_overhead_bytes()
    wanted = " ".join(f"x-{peer.name}" for peer in peers)
    lines = [
        "#!/bin/sh",
        "set -eu",
        "uplink=$(ip -4 route show default | awk '{print $5; exit}')",
        'uplink_mtu=$(cat "/sys/class/net/$uplink/mtu")',
        f"tunnel_mtu=$(( (uplink_mtu - {overhead}) / {TUNNEL_MTU_ALIGN} * {TUNNEL_MTU_ALIGN} ))",
        f'wanted="{wanted}"',
        "for device in $(ip -o link show type xfrm | awk -F': ' '{print $2}' | cut -d@ -f1); do",
        # Only the gateway's own (x-<peer>): an XFRM interface made by hand is left alone.
        '    case "$device" in x-*) case " $wanted " in *" $device "*) ;; *) ip link del "$device" ;; esac ;; esac',
        "done",
    ]
    for peer in peers:
        device = f"x-{peer.name}"
        lines += [
            f'ip link show dev {device} >/dev/null 2>&1 || ip link add {device} type xfrm dev "$uplink" if_id {peer.if_id}',
            f"ip addr replace {peer.local_inside} dev {device}",
            f"for old in $(ip -o -4 addr show dev {device} | awk '{{print $4}}'); do",
            f'    [ "$old" = "{peer.local_inside}" ] || ip addr del "$old" dev {device}',
            "done",
            f'ip link set {device} mtu "$tunnel_mtu" up',
        ]
    return "\n".join(lines) + "\n"


def tunnels_unit() -> str:
    """The systemd unit that creates the tunnel interfaces at every boot, before strongSwan and FRR.

    Interfaces made with `ip link` do not survive a reboot, and cloud-init's `runcmd` runs at the
    first boot only. The script comes with the peer config (`SYNC_SCRIPT` writes it): until the
    first sync there is none, and the sync runs it itself."""
    return "\n".join(
        [
            "[Unit]",
            "Description=storestack VPN gateway: the XFRM interface of every tunnel",
            "Wants=network-online.target",
            "After=network-online.target",
            "Before=strongswan.service frr.service",
            f"ConditionPathExists={TUNNELS_SCRIPT}",
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


# --- the peer config: a Swift object the gateway reads and applies live -------------------------
#
# Nova takes an instance's user data at boot only (terraform-provider-openstack
# `openstack_compute_instance_v2` user_data: "Changing this creates a new server"): what changes
# with the peers (a region, a hub or a key) lives in one Swift object instead, which the provider
# writes in place (`openstack_objectstorage_object_v1` `content` has an update). The gateway reads
# it with an application credential whose one access rule is a GET of that object (Keystone
# "Application Credentials", access rules) and applies it without a restart: the tunnels'
# interfaces (`interfaces_script`), `swanctl --load-all` (loads new and changed connections and
# keys, unloads those gone, swanctl(8) `--load-conns`), `frr-reload.py --reload` (applies the delta
# to the running daemons, FRR user guide "frr-reload.py"). The user data keeps what no peer
# changes: packages, the sync and its credential.

PEER_OBJECT = "peers.json"
SYNC_SCRIPT = "/usr/local/sbin/storestack-gateway-sync"
SYNC_UNIT = "storestack-gateway-sync.service"
SYNC_TIMER = "storestack-gateway-sync.timer"
SYNC_CREDENTIAL = "/etc/storestack/gateway-reader.json"
SYNC_STATE = "/var/lib/storestack/peers.sha256"
# How often the gateway looks for a new peer config: a new peer's tunnel, a removed one's end and
# a rotated key are live within about this long after `up`.
SYNC_INTERVAL_SECONDS = 60
# The peer config's files, each with its mode: the only paths the sync writes, whatever the object says.
PEER_FILES: dict[str, str] = {
    "/etc/swanctl/conf.d/storestack.conf": "0600",  # the peers' keys
    "/etc/frr/frr.conf": "0640",
    TUNNELS_SCRIPT: "0755",
}
# After the files are written, in this order: interfaces first, so a new tunnel's CHILD_SA finds
# its XFRM interface and bgpd its inside address.
PEER_APPLY: tuple[tuple[str, ...], ...] = (
    (TUNNELS_SCRIPT,),
    ("swanctl", "--load-all"),
    ("/usr/lib/frr/frr-reload.py", "--reload", "/etc/frr/frr.conf"),
)


def peer_config(settings: GatewaySettings, peers: Sequence[GatewayPeer]) -> str:
    """The Swift object's content: every file that changes with the peers (holds the PSKs)."""
    contents = {
        "/etc/swanctl/conf.d/storestack.conf": swanctl_conf(settings, peers),
        "/etc/frr/frr.conf": frr_conf(settings, peers),
        TUNNELS_SCRIPT: interfaces_script(peers, settings.crypto),
    }
    files = [{"path": path, "permissions": PEER_FILES[path], "content": contents[path]} for path in PEER_FILES]
    return json.dumps({"files": files}, indent=1) + "\n"


@dataclass(frozen=True)
class GatewayReader:
    """Where the gateway reads its peer config, and the application credential it reads it with."""

    auth_url: str  # Keystone v3, e.g. https://keystone.example:5000/v3
    region: str
    credential_id: str
    credential_secret: str
    container: str
    object: str = PEER_OBJECT


def reader_access_path(container: str, object_name: str = PEER_OBJECT) -> str:
    """The one Swift path the gateway's application credential may GET (an access rule's `*` is
    one path segment: the account, which the credential's project scope fixes)."""
    return f"/v1/*/{container}/{object_name}"


def sync_script() -> str:
    """The gateway's sync (python3 of the cloud image, standard library only): a Keystone token
    from the application credential, the object's content from Swift's public endpoint in the
    region, and, when it differs from the last one applied, its files written (each at its mode
    from `PEER_FILES`, before any content) and applied (`PEER_APPLY`). It prints no content; a
    failed run exits non-zero and the next one tries again."""
    return f'''#!/usr/bin/python3
"""storestack VPN gateway: fetch the peer config from Swift, apply it without a restart."""
import hashlib
import json
import os
import subprocess
import sys
import urllib.request

ROOT = "/"
CREDENTIAL = {SYNC_CREDENTIAL!r}
STATE = {SYNC_STATE!r}
FILES = {{path: int(mode, 8) for path, mode in {PEER_FILES!r}.items()}}
APPLY = {[list(step) for step in PEER_APPLY]!r}


def token(cred):
    body = {{"auth": {{"identity": {{"methods": ["application_credential"],
             "application_credential": {{"id": cred["id"], "secret": cred["secret"]}}}}}}}}
    request = urllib.request.Request(cred["auth_url"].rstrip("/") + "/auth/tokens",
                                     data=json.dumps(body).encode(), headers={{"Content-Type": "application/json"}})
    with urllib.request.urlopen(request, timeout=30) as answer:
        subject, catalog = answer.headers["X-Subject-Token"], json.load(answer)["token"]["catalog"]
    for service in catalog:
        for endpoint in service["endpoints"] if service["type"] == "object-store" else []:
            if endpoint["interface"] == "public" and cred["region"] in (endpoint.get("region_id"), endpoint.get("region")):
                return subject, endpoint["url"].rstrip("/")
    raise SystemExit("no public object-store endpoint in region " + cred["region"])


def on_root(path):
    return os.path.join(ROOT, path.lstrip("/"))


def write(path, mode, content):
    path = on_root(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".storestack-new"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def main():
    with open(on_root(CREDENTIAL)) as handle:
        cred = json.load(handle)
    subject, url = token(cred)
    request = urllib.request.Request(url + "/" + cred["container"] + "/" + cred["object"], headers={{"X-Auth-Token": subject}})
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = answer.read()
    digest = hashlib.sha256(body).hexdigest()
    if os.path.exists(on_root(STATE)) and open(on_root(STATE)).read().strip() == digest:
        return 0
    files = {{entry["path"]: entry["content"] for entry in json.loads(body)["files"]}}
    if set(files) != set(FILES):
        raise SystemExit("peer config: unexpected files " + ", ".join(sorted(set(files) ^ set(FILES))))
    for path, mode in FILES.items():
        write(path, mode, files[path])
    for step in APPLY:
        subprocess.run(step, check=True, stdout=subprocess.DEVNULL)
    write(STATE, 0o644, digest + "\\n")
    print("peer config applied", digest[:12], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def sync_units() -> tuple[str, str]:
    """The sync's service (after strongSwan and FRR are up) and the timer that runs it at boot and
    every `SYNC_INTERVAL_SECONDS`."""
    service = "\n".join(
        [
            "[Unit]",
            "Description=storestack VPN gateway: apply the peer config from Swift",
            "Wants=network-online.target",
            "After=network-online.target strongswan.service frr.service",
            "",
            "[Service]",
            "Type=oneshot",
            f"ExecStart={SYNC_SCRIPT}",
        ]
    ) + "\n"
    timer = "\n".join(
        [
            "[Unit]",
            "Description=storestack VPN gateway: look for a new peer config",
            "",
            "[Timer]",
            "OnBootSec=30s",
            f"OnUnitActiveSec={SYNC_INTERVAL_SECONDS}s",
            "",
            "[Install]",
            "WantedBy=timers.target",
        ]
    ) + "\n"
    return service, timer


def cloud_init(settings: GatewaySettings, reader: GatewayReader) -> str:
    """The instance's user data: nothing that changes with the peers, so a peer added, removed or
    re-keyed leaves it (and the instance) as it is. It holds the application credential that reads
    the peer config (the stack passes it as a secret); the peers and their keys are in the object."""
    service, timer = sync_units()
    credential = {
        "auth_url": reader.auth_url,
        "region": reader.region,
        "id": reader.credential_id,
        "secret": reader.credential_secret,
        "container": reader.container,
        "object": reader.object,
    }
    files = [
        (SYNC_CREDENTIAL, "0600", json.dumps(credential, indent=1) + "\n"),
        (SYNC_SCRIPT, "0755", sync_script()),
        (f"/etc/systemd/system/{SYNC_UNIT}", "0644", service),
        (f"/etc/systemd/system/{SYNC_TIMER}", "0644", timer),
        ("/etc/strongswan.d/storestack.conf", "0644", strongswan_conf(settings)),
        (f"/etc/systemd/system/{TUNNELS_UNIT}", "0644", tunnels_unit()),
        (
            "/etc/sysctl.d/60-storestack-gateway.conf",
            "0644",
            "net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.rp_filter = 2\nnet.ipv4.conf.default.rp_filter = 2\n",
        ),
    ]
    document = {
        "package_update": True,
        # frr-pythontools: frr-reload.py, which applies a changed frr.conf to the running daemons.
        "packages": ["strongswan-swanctl", "charon-systemd", "frr", "frr-pythontools"],
        "write_files": [{"path": path, "permissions": mode, "content": content} for path, mode, content in files],
        "runcmd": [
            ["sysctl", "--system"],
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", TUNNELS_UNIT],
            ["sed", "-i", "s/^bgpd=no/bgpd=yes/", "/etc/frr/daemons"],
            ["systemctl", "restart", "frr"],
            ["systemctl", "enable", "--now", "strongswan"],
            ["systemctl", "enable", "--now", SYNC_TIMER],
            ["systemctl", "start", SYNC_UNIT],
        ],
    }
    # JSON is valid YAML; cloud-init reads it after the header line.
    return "#cloud-config\n" + json.dumps(document, indent=1, sort_keys=False) + "\n"
