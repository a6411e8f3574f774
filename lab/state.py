"""What a lab has started, recorded on disk before it starts anything.

Every name the lab creates (namespaces, FRR directories, the login user) derives from a prefix
that is a hash of the state directory, so `down` can find leftovers even when `up` crashed
before it could record them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from storestack.common.files import atomic_write_text
from storestack.lab.cloudvpn import CloudTunnel
from storestack.lab.errors import LabNotFoundError, UnknownLinkError
from storestack.lab.topology import LabLink, LabTopology, sanitize_name

STATE_FILE = "state.json"
INVENTORY_FILE = "inventory.yaml"
CREDENTIALS_FILE = "credentials.yaml"
SSH_DIR = "ssh"
EMULATOR_DIR = "emulator"
HOST_KEY_FILE = "host_ed25519_key"

# Namespace names end up in /var/run/frr/<ns>/<daemon>.vty, which must fit a unix socket path.
_MAX_NAMESPACE = 48


def lab_prefix(state_dir: Path) -> str:
    """Short prefix unique to this state directory: parallel labs never share a name."""
    digest = hashlib.sha1(str(state_dir.resolve()).encode("utf-8")).hexdigest()[:6]
    return f"ssl{digest}"


def lab_username(prefix: str) -> str:
    return f"{prefix}-cli"


def namespace_names(prefix: str, appliance_names: list[str]) -> dict[str, str]:
    """Appliance name → namespace name, readable and unique within the lab."""
    result: dict[str, str] = {}
    taken: set[str] = set()
    for index, name in enumerate(appliance_names):
        candidate = f"{prefix}-{sanitize_name(name)}"[:_MAX_NAMESPACE].rstrip("-")
        if candidate in taken:
            candidate = f"{prefix}-{index:04d}"
        taken.add(candidate)
        result[name] = candidate
    return result


class ApplianceRuntime(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    namespace: str
    port: int
    shard: int


class SshdShard(BaseModel):
    """One sshd: on 127.0.0.1 for up to 16 appliances (their ports), or, for in-band
    management, inside one appliance's namespace on port 22 (`namespace`)."""

    model_config = ConfigDict(extra="forbid")

    index: int
    config: str
    pidfile: str
    ports: list[int]
    namespace: str | None = None


class LabState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    prefix: str
    username: str
    phase: Literal["starting", "up"]
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    topology: LabTopology
    appliances: list[ApplianceRuntime]
    shards: list[SshdShard]
    host_key_fingerprint: str | None = None
    start_seconds: float | None = None
    # Vendor-platform appliances run in the SSH emulator, a daemon stopped by this pidfile.
    emulator_pidfile: str | None = None
    # The "ipsec" overlay's internet namespace (see lab/underlay.py).
    internet_namespace: str | None = None
    # "<appliance>/<tunnel id>" → the tunnel device name the rendered configs use (xfrm<N> …).
    tunnel_ifnames: dict[str, str] = Field(default_factory=dict)
    # appliance → (interface → its interface group), from each rendered routing companion: the
    # tunnel devices made later (a hub's cloud VPN stand-in link, lab/sites.py) join theirs too.
    interface_groups: dict[str, dict[str, int]] = Field(default_factory=dict)
    # appliance → its rendered routing companion's management port lines (a hub's address and table
    # on the port, `RenderedIpsec.management_routing`), loaded once lab/sites.py made the port.
    management_routing: dict[str, list[str]] = Field(default_factory=dict)
    # Segment hosts, HQ and cloud (see lab/sites.py): role → namespace.
    site_namespaces: dict[str, str] = Field(default_factory=dict)
    # In-band management (lab/inband.py): the relay from the appliances' 127.0.0.1 ports into HQ.
    relay_pidfile: str | None = None
    # The cloud VPN stand-in's tunnels, from the offline plan (lab/cloudvpn.py; PSKs apart, 0600).
    cloud_tunnels: list[CloudTunnel] = Field(default_factory=list)

    def is_emulated(self, appliance: str) -> bool:
        return self.topology.appliance(appliance).emulated

    def frr_links(self) -> list[LabLink]:
        """Links with an FRR appliance at both ends; a link to an emulated appliance has no veth."""
        return [
            link
            for link in self.topology.links
            if not self.is_emulated(link.a.appliance) and not self.is_emulated(link.b.appliance)
        ]

    def veth_links(self) -> list[LabLink]:
        """Links whose overlay is a veth pair between store and hub (the "veth" overlay)."""
        return self.frr_links() if self.topology.overlay == "veth" else []

    def runtime(self, appliance: str) -> ApplianceRuntime:
        for runtime in self.appliances:
            if runtime.name == appliance:
                return runtime
        raise KeyError(appliance)

    def link(self, store_id: str, link_name: str) -> LabLink:
        """A store's WAN link in this lab; UnknownLinkError naming the argument that is wrong
        (STORE when the lab has no link of that store, else LINK) and the links it has."""
        try:
            return self.topology.link(store_id, link_name)
        except KeyError:
            known = ", ".join(f"{item.store_id} {item.name}" for item in self.topology.links) or "none"
            field = "LINK" if any(item.store_id == store_id for item in self.topology.links) else "STORE"
            raise UnknownLinkError(
                f"lab {self.name} has no link {store_id} {link_name} (links: {known})", field=field
            ) from None

    def namespaces(self) -> list[str]:
        """Every namespace of the lab: the appliances', the stand-in sites' and the internet's."""
        names = [runtime.namespace for runtime in self.appliances]
        names += list(self.site_namespaces.values())
        return names + ([self.internet_namespace] if self.internet_namespace else [])


def load_state(state_dir: Path) -> LabState | None:
    path = state_dir / STATE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return LabState.model_validate(json.loads(text))


def save_state(state_dir: Path, state: LabState) -> None:
    atomic_write_text(state_dir / STATE_FILE, state.model_dump_json(indent=2) + "\n", mode=0o600)


def require_state(state_dir: Path) -> LabState:
    state = load_state(state_dir.resolve())
    if state is None:
        raise LabNotFoundError(f"no lab is recorded in {state_dir}; run `storestack lab up` first")
    return state
