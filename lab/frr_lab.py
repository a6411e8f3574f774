"""Starting and stopping a lab: the order in which its parts come up and go down.

A lab is one network namespace and FRR instance per FRR appliance (`lab.namespaces`,
`lab.frr`), its WAN links (veth pairs, or with the "ipsec" overlay a lab internet, charons,
segment hosts, HQ and the cloud VPN stand-in: `lab.overlay`, `lab.sites`, `lab.cloudvpn`), sshd
for the push engine (in-band from HQ where the lab has one, `lab.inband`; else on loopback,
`lab.sshd`) and the vendor SSH emulator for the other platforms (`lab.emulated`). What it started is recorded
before it starts anything (`lab.state`), so `down` (`lab.cleanup`) can always undo it.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from storestack.common.files import atomic_write_text
from storestack.devices.targets import ApplianceInventory, ApplianceTarget, CredentialsRef
from storestack.lab import system
from storestack.lab.cleanup import cleanup, processes_alive
from storestack.lab.cloudvpn import PSK_FILE, lab_cloud_plan, lab_cloud_plan_needed
from storestack.lab.dccore import start_dc_core
from storestack.lab.emulated import emulator_targets, start_emulator, wait_emulator
from storestack.lab.errors import LabError
from storestack.lab.frr import frr_ready, start_frr
from storestack.lab.inband import (
    RELAY_PIDFILE,
    apply_day0,
    in_band_appliances,
    in_band_shards,
    start_management_relay,
)
from storestack.lab.models import DownReport, LabInfo
from storestack.lab.namespaces import create_namespaces
from storestack.lab.overlay import (
    cloud_runtime,
    join_late_interfaces,
    overlay_plan,
    start_cloud_bgp,
    start_overlay,
    wait_tunnels,
)
from storestack.lab.sites import create_sites, site_namespaces
from storestack.lab.sshd import (
    LOOPBACK,
    PORTS_PER_SSHD,
    create_user,
    free_ports,
    generate_host_key,
    install_confirm,
    ssh_answers,
    start_sshd,
)
from storestack.lab.state import (
    CREDENTIALS_FILE,
    EMULATOR_DIR,
    HOST_KEY_FILE,
    INVENTORY_FILE,
    SSH_DIR,
    STATE_FILE,
    ApplianceRuntime,
    LabState,
    SshdShard,
    lab_prefix,
    lab_username,
    load_state,
    namespace_names,
    require_state,
    save_state,
)
from storestack.lab.topology import LabTopology
from storestack.lab.tunnels import IPSEC_SECRET_FILE
from storestack.lab.underlay import internet_namespace

ProgressCallback = Callable[[str], None]


def up(
    topology: LabTopology,
    state_dir: Path,
    *,
    ready_timeout: float = 60.0,
    progress: ProgressCallback | None = None,
) -> LabInfo:
    """Start the lab described by `topology`; the lab's name is the state directory's name.

    Idempotent: when the same topology is already up and healthy it is left alone. Anything
    else recorded in `state_dir` (a different topology, a crashed start) is torn down first.
    """
    system.check_prerequisites()
    state_dir = state_dir.resolve()
    _notify = progress or (lambda _step: None)

    existing = load_state(state_dir)
    if existing is not None:
        if existing.phase == "up" and existing.topology == topology and processes_alive(existing):
            return _lab_info(state_dir, existing, reused=True)
        _notify("stopping the previous lab")
        down(state_dir)
    else:
        # Nothing recorded, but a crashed run may have left namespaces under our prefix.
        cleanup(state_dir, None)

    started = time.monotonic()
    state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir, 0o700)
    (state_dir / SSH_DIR).mkdir(exist_ok=True)
    prefix = lab_prefix(state_dir)
    frr_appliances = [a for a in topology.appliances if not a.emulated]
    emulated = [a for a in topology.appliances if a.emulated]
    namespaces = namespace_names(prefix, [a.name for a in frr_appliances])
    # One reservation for every port of the lab, emulated appliances included, so that no two
    # of them can be handed the same ephemeral port.
    ports = free_ports(len(topology.appliances), seed=prefix)
    emulator_ports = dict(zip((a.name for a in emulated), ports[len(frr_appliances) :], strict=True))
    # In-band management: one sshd per appliance HQ reaches, inside its namespace (lab.inband);
    # the others (and every appliance of a lab without HQ) share sshd on 127.0.0.1.
    managed = in_band_appliances(topology)
    in_band_first = sorted(frr_appliances, key=lambda a: a.name not in managed)
    port_of = {a.name: ports[index] for index, a in enumerate(frr_appliances)}
    runtimes = [
        ApplianceRuntime(
            name=appliance.name,
            namespace=namespaces[appliance.name],
            port=port_of[appliance.name],
            shard=index if index < len(managed) else len(managed) + (index - len(managed)) // PORTS_PER_SSHD,
        )
        for index, appliance in enumerate(in_band_first)
    ]
    shards = in_band_shards(state_dir, [r for r in runtimes if r.name in managed]) + [
        SshdShard(
            index=shard,
            config=str(state_dir / SSH_DIR / f"sshd-{shard}.conf"),
            pidfile=str(state_dir / SSH_DIR / f"sshd-{shard}.pid"),
            ports=[runtime.port for runtime in runtimes if runtime.shard == shard],
        )
        for shard in sorted({runtime.shard for runtime in runtimes if runtime.name not in managed})
    ]
    state = LabState(
        name=state_dir.name,
        prefix=prefix,
        username=lab_username(prefix),
        phase="starting",
        topology=topology,
        appliances=runtimes,
        shards=shards,
        emulator_pidfile=str(state_dir / EMULATOR_DIR / "emulator.pid") if emulated else None,
        internet_namespace=internet_namespace(prefix) if topology.overlay == "ipsec" else None,
        site_namespaces=site_namespaces(prefix, topology) if topology.overlay == "ipsec" else {},
        relay_pidfile=str(state_dir / SSH_DIR / RELAY_PIDFILE) if managed else None,
    )
    # Recorded before anything starts, so `down` can clean up after a crash from here on.
    save_state(state_dir, state)

    # The cloud stand-in's offline plan mostly waits on the mock runtime: it runs while the
    # login user, the namespaces and the lab internet are made.
    planner = ThreadPoolExecutor(max_workers=1)
    cloud_plan = planner.submit(lab_cloud_plan, topology) if lab_cloud_plan_needed(topology) else None

    _notify("creating the login user and host key")
    password = secrets.token_urlsafe(18)
    create_user(state.username, password)
    credentials_path = state_dir / CREDENTIALS_FILE
    atomic_write_text(
        credentials_path,
        yaml.safe_dump({"username": state.username, "password": password}),
        mode=0o600,
    )
    state.host_key_fingerprint = generate_host_key(state_dir / SSH_DIR / HOST_KEY_FILE, state.name)
    save_state(state_dir, state)

    try:
        _notify(f"creating {len(runtimes)} namespaces and {len(state.veth_links())} WAN links")
        create_namespaces(state)
        if topology.overlay == "ipsec":
            _notify(f"starting the lab internet and a charon in {len(runtimes)} namespaces")
            start_overlay(state_dir, state, cloud_plan.result() if cloud_plan else None)
            assert state.internet_namespace is not None
            _notify(f"creating {len(topology.segments)} segment hosts, HQ and the cloud")
            create_sites(prefix, topology, {r.name: r.namespace for r in runtimes}, state.internet_namespace)
            join_late_interfaces(state)
    finally:
        planner.shutdown(wait=True)
    if emulated:
        _notify(f"starting the vendor emulator for {len(emulated)} appliances")
        start_emulator(state_dir, state, emulated, emulator_ports)

    _notify(f"starting FRR in {len(runtimes)} namespaces")
    cloud = cloud_runtime(state)
    with ThreadPoolExecutor(max_workers=min(16, len(runtimes) or 1)) as pool:
        list(pool.map(lambda runtime: start_frr(state, runtime), [*runtimes, *([cloud] if cloud else [])]))

    if topology.overlay == "ipsec":
        start_dc_core(state, ready_timeout)

    _notify(f"starting {len(shards)} sshd")
    install_confirm(state)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda shard: start_sshd(state_dir, state, shard), shards))
    if managed:
        _notify("starting the management relay into HQ")
        start_management_relay(state_dir, state, managed)

    _notify("waiting for FRR to answer")
    _wait_ready(state, ready_timeout, ssh=False)
    if topology.overlay == "ipsec":
        _notify("waiting for the IPsec tunnels")
        wait_tunnels(state_dir, state, ready_timeout)
    if cloud is not None:
        _notify("BGP on the cloud VPN stand-in")
        start_cloud_bgp(state, cloud, ready_timeout)
    if managed:
        _notify("day-0 management routes; SSH from HQ through the overlay")
        apply_day0(state, overlay_plan(state_dir, state)[1])
    _wait_ready(state, ready_timeout, ssh=True)
    if emulated:
        wait_emulator(state_dir, ready_timeout)

    state.phase = "up"
    state.start_seconds = round(time.monotonic() - started, 3)
    save_state(state_dir, state)
    info = _lab_info(state_dir, state, reused=False)
    info.inventory.save(info.inventory_path)
    return info


def _lab_info(state_dir: Path, state: LabState, *, reused: bool) -> LabInfo:
    credentials = CredentialsRef(kind="file", path=str(state_dir / CREDENTIALS_FILE))
    emulated = emulator_targets(state_dir) if state.emulator_pidfile else {}
    targets = []
    for appliance in state.topology.appliances:
        if appliance.emulated:
            if appliance.name in emulated:
                targets.append(emulated[appliance.name])
            continue
        runtime = state.runtime(appliance.name)
        targets.append(
            ApplianceTarget(
                name=appliance.name,
                role=appliance.role,
                store_id=appliance.store_id,
                platform=appliance.platform,
                host=LOOPBACK,
                port=runtime.port,
                host_key_fingerprint=state.host_key_fingerprint,
                credentials=credentials,
            )
        )
    return LabInfo(
        name=state.name,
        state_dir=state_dir,
        inventory_path=state_dir / INVENTORY_FILE,
        credentials_path=state_dir / CREDENTIALS_FILE,
        inventory=ApplianceInventory(source=f"lab:{state.name}", appliances=targets),
        start_seconds=state.start_seconds or 0.0,
        reused=reused,
    )



def _wait_ready(state: LabState, timeout: float, *, ssh: bool) -> None:
    """FRR answering on every appliance, and with `ssh` also each appliance's SSH port."""
    deadline = time.monotonic() + timeout
    pending_frr = list(state.appliances)
    pending_ssh = list(state.appliances) if ssh else []
    while True:
        pending_frr = [runtime for runtime in pending_frr if not frr_ready(runtime)]
        pending_ssh = [runtime for runtime in pending_ssh if not ssh_answers(runtime.port)]
        if not pending_frr and not pending_ssh:
            return
        if time.monotonic() > deadline:
            problems = [f"FRR not ready on {r.name}" for r in pending_frr[:5]]
            problems += [f"SSH not answering for {r.name} on port {r.port}" for r in pending_ssh[:5]]
            raise LabError(f"lab did not become ready within {timeout:g} s: {'; '.join(problems)}")
        time.sleep(0.05)



def down(state_dir: Path) -> DownReport:
    """Stop every process the lab started and delete its namespaces. Safe to run twice."""
    system.check_prerequisites()
    state_dir = state_dir.resolve()
    state = load_state(state_dir)
    report = cleanup(state_dir, state)
    for leftover in (STATE_FILE, INVENTORY_FILE, CREDENTIALS_FILE, IPSEC_SECRET_FILE, PSK_FILE):
        (state_dir / leftover).unlink(missing_ok=True)
    return report



def lab_info(state_dir: Path) -> LabInfo:
    """The LabInfo of a lab that is up (inventory, credentials path)."""
    state_dir = state_dir.resolve()
    return _lab_info(state_dir, require_state(state_dir), reused=True)

