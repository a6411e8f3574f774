"""The IPsec tunnels a lab with the "ipsec" overlay runs, and their swanctl.conf per appliance.

LAB FIXTURE: until storestack renders each FRR appliance's swanctl.conf from the network intent
(`templates/devices/frr/`), the lab derives its tunnels from its own topology: one per store
WAN link, to the hub the inventory assigns that link, carrying the link's overlay /31 inside.
Crypto comes from the fleet's one policy (`network.crypto.FLEET_CRYPTO`); each tunnel's PSK is
derived from a random per-lab secret (0600 in the lab's state directory). This module is the
one place to replace with the rendered files.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from pydantic import SecretStr

from storestack.common.files import atomic_write_text
from storestack.lab.ipsec import LabTunnel, TunnelEnd, vtep_pair
from storestack.lab.topology import LabTopology
from storestack.lab.underlay import WanAttachment, outside_address
from storestack.network.crypto import FLEET_CRYPTO, CryptoPolicy

IPSEC_SECRET_FILE = "ipsec-secret"
_IFNAMSIZ = 15


def lab_secret(state_dir: Path, *, create: bool = False) -> str:
    path = state_dir / IPSEC_SECRET_FILE
    if create:
        atomic_write_text(path, secrets.token_urlsafe(24) + "\n", mode=0o600)
    return path.read_text(encoding="ascii").strip()


def overlay_ifname(transport: str, hub: str) -> str:
    """The store-side VXLAN device of a tunnel over `transport` to `hub` (15 characters at most)."""
    name = f"{transport}-{hub}"
    if len(name) <= _IFNAMSIZ:
        return name
    return f"{transport}-{hashlib.sha1(hub.encode()).hexdigest()[:4]}"[:_IFNAMSIZ]


def lab_tunnels(
    topology: LabTopology,
    attachments: list[WanAttachment],
    secret: str,
    policy: CryptoPolicy = FLEET_CRYPTO,
) -> list[LabTunnel]:
    frr = {a.name for a in topology.appliances if a.platform == "frr"}
    tunnels: list[LabTunnel] = []
    for link in topology.links:
        if link.a.appliance not in frr or link.b.appliance not in frr:
            continue
        index = len(tunnels)
        hub_vtep, store_vtep = vtep_pair(index)
        tunnel_id = f"{link.store_id}-{link.name}-{link.b.appliance}"
        psk = hmac.new(secret.encode(), tunnel_id.encode(), hashlib.sha256).hexdigest()
        tunnels.append(
            LabTunnel(
                id=tunnel_id,
                vni=index + 1,
                initiator=TunnelEnd(
                    appliance=link.a.appliance,
                    outside=outside_address(attachments, link.a.appliance, link.a.ifname),
                    identity=f"{link.a.appliance}.lab.invalid",
                    ifname=overlay_ifname(link.a.ifname, link.b.appliance),
                    inside=link.a.address,
                    vtep=store_vtep,
                ),
                responder=TunnelEnd(
                    appliance=link.b.appliance,
                    outside=outside_address(attachments, link.b.appliance),
                    identity=f"{link.b.appliance}.lab.invalid",
                    ifname=link.b.ifname,
                    inside=link.b.address,
                    vtep=hub_vtep,
                ),
                psk=SecretStr(psk),
                ike_proposals=policy.strongswan_ike(),
                esp_proposals=policy.strongswan_esp(),
                ike_lifetime_seconds=policy.ike_lifetime_seconds,
                esp_lifetime_seconds=policy.esp_lifetime_seconds,
                dpd_seconds=policy.dpd_interval_seconds,
            )
        )
    return tunnels


def tunnels_of(tunnels: list[LabTunnel], appliance: str) -> list[LabTunnel]:
    return [t for t in tunnels if appliance in (t.initiator.appliance, t.responder.appliance)]
