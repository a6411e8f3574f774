"""BGP sessions of a lab's FRR appliances, for `lab check`: each configured neighbour, who answers
at its address in the lab, and whether the session is Established. The summary is parsed by
`devices.health.parse_bgp_peers`, the one BGP summary parser.

What a session is comes from the lab itself, not from the configs: the far end is whichever lab
namespace owns the neighbour's address (`ip addr`). A hub's neighbour on a store's tunnel is a
store-hub session, the other hub on the DC LAN hub-hub, the cloud VPN stand-in an AWS session,
a DC core router (`lab.dccore`) a dc-core session. A neighbour at an address nothing in the lab
owns (a store the lab does not run, a cloud region without a stand-in) is reported as outside
the lab, and only sessions with a far end in the lab must be Established.
"""

from __future__ import annotations

import contextlib
import json
from ipaddress import IPv4Address
from typing import Literal

from pydantic import BaseModel, ConfigDict

from storestack.devices.health import BGP_SUMMARY, parse_bgp_peers
from storestack.lab import system
from storestack.lab.cloudvpn import CLOUD_VPN
from storestack.lab.dccore import dc_core_owners
from storestack.lab.frr import read_every_appliance
from storestack.lab.state import LabState
from storestack.lab.underlay import CLOUD_SITE

SessionKind = Literal["store-hub", "hub-hub", "aws", "dc-core", "outside-lab"]
ESTABLISHED = "Established"


class BgpSession(BaseModel):
    """One configured neighbour of a lab appliance, as its bgpd sees it."""

    model_config = ConfigDict(extra="forbid")

    appliance: str
    neighbor: IPv4Address
    kind: SessionKind
    peer: str | None  # the lab appliance or stand-in that owns the neighbour address
    local_as: int
    remote_as: int
    state: str
    prefixes_received: int
    description: str = ""

    @property
    def in_lab(self) -> bool:
        return self.peer is not None

    @property
    def established(self) -> bool:
        return self.state == ESTABLISHED


def _addresses(namespace: str) -> set[IPv4Address]:
    output = system.run(["ip", "-n", namespace, "-j", "-4", "addr", "show"], check=False).stdout
    found: set[IPv4Address] = set()
    for link in json.loads(output or "[]"):
        for info in link.get("addr_info", []):
            found.add(IPv4Address(info["local"]))
    return found


def address_owners(state: LabState) -> dict[IPv4Address, str]:
    """Every IPv4 address of the lab's BGP speakers → its owner (appliance or stand-in name)."""
    speakers = {runtime.namespace: runtime.name for runtime in state.appliances}
    if state.cloud_tunnels and CLOUD_SITE in state.site_namespaces:
        speakers[state.site_namespaces[CLOUD_SITE]] = CLOUD_VPN
    owners = {IPv4Address(address): name for address, name in dc_core_owners(state).items()}
    for namespace, name in speakers.items():
        for address in _addresses(namespace):
            if not address.is_loopback:
                owners.setdefault(address, name)
    return owners


def _kind(state: LabState, appliance: str, peer: str | None) -> SessionKind:
    if peer is None:
        return "outside-lab"
    if peer == CLOUD_VPN:
        return "aws"
    if peer in dc_core_owners(state).values():
        return "dc-core"
    roles = {a.name: a.role for a in state.topology.appliances}
    if roles.get(appliance) == "hub" and roles.get(peer) == "hub":
        return "hub-hub"
    return "store-hub"


def bgp_sessions(state: LabState, owners: dict[IPv4Address, str] | None = None) -> list[BgpSession]:
    """Every configured IPv4 neighbour of every FRR appliance of the lab (`owners`: the lab's
    addresses and who has each, `address_owners`, when the caller has them already)."""
    owners = address_owners(state) if owners is None else owners
    sessions: list[BgpSession] = []
    for runtime, peers in read_every_appliance(state, BGP_SUMMARY, parse_bgp_peers):
        by_address = {}
        for peer in peers:
            with contextlib.suppress(ValueError):  # an IPv6 or interface-named neighbour
                by_address[IPv4Address(peer.peer)] = peer
        for neighbor, peer in sorted(by_address.items()):
            owner = owners.get(neighbor)
            sessions.append(
                BgpSession(
                    appliance=runtime.name,
                    neighbor=neighbor,
                    kind=_kind(state, runtime.name, owner),
                    peer=owner,
                    local_as=peer.local_as or 0,
                    remote_as=peer.remote_as or 0,
                    state=peer.state,
                    prefixes_received=peer.prefixes_received or 0,
                    description=peer.description,
                )
            )
    return sessions
