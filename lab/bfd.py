"""BFD sessions of a lab's FRR appliances, for `lab check`: each session bfdd runs, who answers at
its peer address in the lab, and whether it is up.

SLA steering sees a bad path through these sessions (one per tunnel, with its SLA class's
profile), so a session that is down where the lab runs its far end is a failure, like a BGP
session that is not Established. A session to an address nothing in the lab owns (a store the
lab does not run, a vendor appliance in the emulator) is reported, not failed. The output of
`show bfd peers json` is parsed by `devices.health.parse_bfd_peers`, the one BFD parser.
"""

from __future__ import annotations

import contextlib
from ipaddress import IPv4Address

from pydantic import BaseModel, ConfigDict

from storestack.devices.health import BFD_PEERS, parse_bfd_peers
from storestack.lab.bgp import address_owners
from storestack.lab.frr import read_every_appliance
from storestack.lab.state import LabState


class BfdSession(BaseModel):
    """One BFD session of a lab appliance, as its bfdd sees it."""

    model_config = ConfigDict(extra="forbid")

    appliance: str
    peer_address: IPv4Address
    peer: str | None  # the lab appliance or stand-in that owns the peer address
    interface: str | None
    multihop: bool
    status: str
    diagnostic: str | None = None

    @property
    def in_lab(self) -> bool:
        return self.peer is not None

    @property
    def up(self) -> bool:
        return self.status == "up"


def bfd_sessions(state: LabState, owners: dict[IPv4Address, str] | None = None) -> list[BfdSession]:
    """Every IPv4 BFD session of every FRR appliance of the lab, in the default VRF."""
    owners = address_owners(state) if owners is None else owners
    sessions: list[BfdSession] = []
    for runtime, peers in read_every_appliance(state, BFD_PEERS, parse_bfd_peers):
        found: list[BfdSession] = []
        for peer in peers:
            if peer.vrf != "default":
                continue
            with contextlib.suppress(ValueError):  # an IPv6 peer
                address = IPv4Address(peer.peer)
                found.append(
                    BfdSession(
                        appliance=runtime.name,
                        peer_address=address,
                        peer=owners.get(address),
                        interface=peer.interface,
                        multihop=peer.multihop,
                        status=peer.status,
                        diagnostic=peer.diagnostic,
                    )
                )
        sessions += sorted(found, key=lambda session: session.peer_address)
    return sessions
