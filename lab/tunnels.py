"""The IPsec tunnels a lab with the "ipsec" overlay runs, and their swanctl.conf per appliance.

A lab built from a fleet runs the network intent's store-hub tunnels (`LabTopology.tunnels`:
every store transport to both hubs, the intent's ids, inside addresses and IKE identities). A
synthetic lab (no fleet) gets one tunnel per link, to the link's hub, over the link's /30.

LAB FIXTURE, until storestack renders each FRR appliance's swanctl.conf
(`templates/devices/frr/`): the swanctl.conf is written here, from those tunnels, with the
fleet's one crypto policy (`network.crypto.FLEET_CRYPTO`), and each tunnel's PSK is derived from
a random per-lab secret (0600 in the lab's state directory) rather than from the fleet secret,
which the lab does not hold. This module is the one place to replace with the rendered files.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from pydantic import SecretStr

from storestack.common.files import atomic_write_text
from storestack.lab.fleet import hub_ifname
from storestack.lab.ipsec import LabTunnel, TunnelEnd, vtep_pair
from storestack.lab.topology import LabTopology, LabTunnelPlan
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
    """Every tunnel of the lab, with its outside addresses, VTEPs and devices."""
    tunnels: list[LabTunnel] = []
    for index, plan in enumerate(tunnel_plans(topology)):
        hub_vtep, store_vtep = vtep_pair(index)
        psk = hmac.new(secret.encode(), plan.id.encode(), hashlib.sha256).hexdigest()
        tunnels.append(
            LabTunnel(
                id=plan.id,
                vni=index + 1,
                initiator=TunnelEnd(
                    appliance=plan.store,
                    outside=outside_address(attachments, plan.store, plan.transport),
                    identity=plan.store_identity,
                    ifname=overlay_ifname(plan.transport, plan.hub),
                    inside=plan.store_inside,
                    vtep=store_vtep,
                ),
                responder=TunnelEnd(
                    appliance=plan.hub,
                    outside=outside_address(attachments, plan.hub),
                    identity=plan.hub_identity,
                    ifname=hub_ifname(plan.store_id, plan.transport),
                    inside=plan.hub_inside,
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


def tunnel_plans(topology: LabTopology) -> list[LabTunnelPlan]:
    """The intent's store-hub tunnels, or for a synthetic lab one tunnel per link."""
    return list(topology.tunnels) or _link_tunnels(topology)


def _link_tunnels(topology: LabTopology) -> list[LabTunnelPlan]:
    """Synthetic labs: one tunnel per link between FRR appliances, over the link's subnet."""
    frr = {a.name for a in topology.appliances if not a.emulated}
    return [
        LabTunnelPlan(
            id=f"{link.store_id}-{link.name}-{link.b.appliance}",
            store_id=link.store_id,
            store=link.a.appliance,
            transport=link.a.ifname,
            hub=link.b.appliance,
            store_inside=link.a.address,
            hub_inside=link.b.address,
            store_identity=f"{link.a.appliance}.lab.invalid",
            hub_identity=f"{link.b.appliance}.lab.invalid",
        )
        for link in topology.links
        if link.a.appliance in frr and link.b.appliance in frr
    ]


def tunnels_of(tunnels: list[LabTunnel], appliance: str) -> list[LabTunnel]:
    return [t for t in tunnels if appliance in (t.initiator.appliance, t.responder.appliance)]
