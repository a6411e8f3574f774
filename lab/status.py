"""What a running lab looks like: each appliance's SSH, FRR and BGP sessions, and its memory."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from storestack.devices.health import BgpPeer, parse_bgp_peers
from storestack.lab import system
from storestack.lab.emulated import emulator_targets
from storestack.lab.errors import LabError
from storestack.lab.frr import frr_running, run_vtysh
from storestack.lab.models import ApplianceMemory, ApplianceStatus, LabMemory, LabStatus
from storestack.lab.namespaces import pids_in_namespaces
from storestack.lab.sshd import ssh_answers
from storestack.lab.state import require_state
from storestack.lab.topology import LabAppliance


def vtysh(state_dir: Path, appliance: str, *commands: str, timeout: float = 15.0) -> str:
    """Run vtysh commands on an appliance directly (as root, not through SSH)."""
    state = require_state(state_dir)
    try:
        runtime = state.runtime(appliance)
    except KeyError as exc:
        raise LabError(f"lab {state.name} has no FRR appliance {appliance}") from exc
    return run_vtysh(runtime, *commands, timeout=timeout)


def bgp_peers(state_dir: Path, appliance: str) -> list[BgpPeer]:
    """BGP sessions of an appliance, from `show bgp summary json` (all address families)."""
    return parse_bgp_peers(vtysh(state_dir, appliance, "show bgp summary json"))


def status(state_dir: Path) -> LabStatus:
    """Each appliance: does its SSH answer, is FRR running, and its BGP sessions."""
    state_dir = state_dir.resolve()
    state = require_state(state_dir)

    emulated_targets = emulator_targets(state_dir) if state.emulator_pidfile else {}

    def probe(appliance: LabAppliance) -> ApplianceStatus:
        if appliance.emulated:
            target = emulated_targets.get(appliance.name)
            return ApplianceStatus(
                name=appliance.name,
                role=appliance.role,
                store_id=appliance.store_id,
                platform=appliance.platform,
                emulated=True,
                namespace=None,
                port=target.port if target else 0,
                ssh_ok=bool(target) and ssh_answers(target.port if target else 0),
                frr_running=False,
                bgp_peers=[],
            )
        runtime = state.runtime(appliance.name)
        running = frr_running(runtime)
        peers: list[BgpPeer] = []
        if running:
            with contextlib.suppress(LabError):
                peers = bgp_peers(state_dir, runtime.name)
        return ApplianceStatus(
            name=runtime.name,
            role=appliance.role,
            store_id=appliance.store_id,
            platform=appliance.platform,
            namespace=runtime.namespace,
            port=runtime.port,
            ssh_ok=ssh_answers(runtime.port),
            frr_running=running,
            bgp_peers=peers,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        appliances = list(pool.map(probe, state.topology.appliances))
    return LabStatus(name=state.name, state_dir=state_dir, phase=state.phase, appliances=appliances)



def memory(state_dir: Path) -> LabMemory:
    """RSS and USS of the processes of each appliance, and of the lab's sshd processes."""
    state = require_state(state_dir)
    by_namespace = pids_in_namespaces(state.namespaces())
    per_ns: dict[str, list[int]] = {}
    for pid, ns in by_namespace.items():
        per_ns.setdefault(ns, []).append(pid)
    appliances = []
    for runtime in state.appliances:
        rss, uss = _memory_of(per_ns.get(runtime.namespace, []))
        appliances.append(
            ApplianceMemory(
                name=runtime.name,
                processes=len(per_ns.get(runtime.namespace, [])),
                rss_bytes=rss,
                uss_bytes=uss,
            )
        )
    sshd_pids = [
        shard_pid
        for shard in state.shards
        if (shard_pid := system.read_pidfile(Path(shard.pidfile))) is not None
    ]
    sshd_rss, sshd_uss = _memory_of(sshd_pids)
    return LabMemory(appliances=appliances, sshd_rss_bytes=sshd_rss, sshd_uss_bytes=sshd_uss)


def _memory_of(pids: Iterable[int]) -> tuple[int, int]:
    rss = uss = 0
    for pid in pids:
        with contextlib.suppress(system.psutil.Error):
            info = system.psutil.Process(pid).memory_full_info()
            rss += info.rss
            uss += info.uss
    return rss, uss
