"""What the lab reports: what `up` started, what `down` stopped, status and memory."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from storestack.devices.health import BgpPeer
from storestack.devices.targets import ApplianceInventory


class LabInfo(BaseModel):
    """What `up` started and where the push engine finds it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    state_dir: Path
    inventory_path: Path
    credentials_path: Path
    inventory: ApplianceInventory
    start_seconds: float
    reused: bool = False


class DownReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    processes_stopped: int
    namespaces_deleted: list[str]
    user_removed: bool
    was_recorded: bool


class ApplianceStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    role: str
    store_id: str | None
    platform: str
    emulated: bool = False
    namespace: str | None
    port: int
    ssh_ok: bool
    frr_running: bool
    bgp_peers: list[BgpPeer]

    @property
    def bgp_established(self) -> int:
        return sum(1 for peer in self.bgp_peers if peer.state == "Established")


class LabStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    state_dir: Path
    phase: str
    appliances: list[ApplianceStatus]

    @property
    def healthy(self) -> bool:
        return all(item.ssh_ok and (item.frr_running or item.emulated) for item in self.appliances)


class ApplianceMemory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    processes: int
    rss_bytes: int
    uss_bytes: int


class LabMemory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    appliances: list[ApplianceMemory]
    sshd_rss_bytes: int
    sshd_uss_bytes: int

    @property
    def rss_per_appliance(self) -> float:
        total = sum(item.rss_bytes for item in self.appliances) + self.sshd_rss_bytes
        return total / max(1, len(self.appliances))

    @property
    def uss_per_appliance(self) -> float:
        total = sum(item.uss_bytes for item in self.appliances) + self.sshd_uss_bytes
        return total / max(1, len(self.appliances))

