"""The FRR lab: one network namespace and FRR instance per appliance, veth WAN links, sshd on loopback.

Each appliance is a Linux network namespace running FRR (zebra, bgpd, staticd, bfdd) under its
own watchfrr, started with `frrinit.sh start <ns>` and `watchfrr_options="--netns"`. FRR runs
inside a private UTS namespace whose hostname is the appliance name, so the running config and
the vtysh prompt (`<hostname>#`, what Netmiko's `cisco_ios` driver expects) agree.

SSH: a handful of sshd processes on 127.0.0.1 (one sshd listens on at most 16 ports), one port
per appliance, with a `Match LocalPort` block whose ForceCommand is `vtysh -N <ns>`. The login
user is created for this lab only, with a random password kept in a 0600 file.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from storestack.common.files import atomic_write_text
from storestack.devices.hostkeys import public_key_line_fingerprint
from storestack.devices.targets import ApplianceInventory, ApplianceTarget, CredentialsRef
from storestack.lab import system
from storestack.lab.emulator.models import EmulatedDevice, EmulatorSpec
from storestack.lab.errors import (
    LabCommandError,
    LabError,
    LabNotFoundError,
    UnknownLinkError,
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
    save_state,
)
from storestack.lab.topology import LabAppliance, LabLink, LabTopology

FRR_DAEMONS = ("zebra", "bgpd", "staticd", "bfdd")
PORTS_PER_SSHD = 16
LOOPBACK = "127.0.0.1"

ProgressCallback = Callable[[str], None]


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


class BgpPeerStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    peer: str
    remote_as: int | None = None
    state: str
    prefixes_received: int | None = None
    uptime: str | None = None


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
    bgp_peers: list[BgpPeerStatus]

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


# ---------------------------------------------------------------------------------------------
# up


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
        if existing.phase == "up" and existing.topology == topology and _processes_alive(existing):
            return _lab_info(state_dir, existing, reused=True)
        _notify("stopping the previous lab")
        down(state_dir)
    else:
        # Nothing recorded, but a crashed run may have left namespaces under our prefix.
        _cleanup(state_dir, None)

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
    ports = _free_ports(len(topology.appliances))
    emulator_ports = dict(zip((a.name for a in emulated), ports[len(frr_appliances) :], strict=True))
    runtimes = [
        ApplianceRuntime(
            name=appliance.name,
            namespace=namespaces[appliance.name],
            port=ports[index],
            shard=index // PORTS_PER_SSHD,
        )
        for index, appliance in enumerate(frr_appliances)
    ]
    shards = [
        SshdShard(
            index=shard,
            config=str(state_dir / SSH_DIR / f"sshd-{shard}.conf"),
            pidfile=str(state_dir / SSH_DIR / f"sshd-{shard}.pid"),
            ports=[runtime.port for runtime in runtimes if runtime.shard == shard],
        )
        for shard in sorted({runtime.shard for runtime in runtimes})
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
    )
    # Recorded before anything starts, so `down` can clean up after a crash from here on.
    save_state(state_dir, state)

    _notify("creating the login user and host key")
    password = secrets.token_urlsafe(18)
    _create_user(state.username, password)
    credentials_path = state_dir / CREDENTIALS_FILE
    atomic_write_text(
        credentials_path,
        yaml.safe_dump({"username": state.username, "password": password}),
        mode=0o600,
    )
    state.host_key_fingerprint = _generate_host_key(state_dir / SSH_DIR / HOST_KEY_FILE, state.name)
    save_state(state_dir, state)

    _notify(f"creating {len(runtimes)} namespaces and {len(state.veth_links())} WAN links")
    _create_namespaces(state)
    if emulated:
        _notify(f"starting the vendor emulator for {len(emulated)} appliances")
        _start_emulator(state_dir, state, emulated, emulator_ports)

    _notify(f"starting FRR in {len(runtimes)} namespaces")
    with ThreadPoolExecutor(max_workers=min(16, len(runtimes) or 1)) as pool:
        list(pool.map(lambda runtime: _start_frr(state, runtime), runtimes))

    _notify(f"starting {len(shards)} sshd")
    for shard in shards:
        _start_sshd(state_dir, state, shard)

    _notify("waiting for FRR and SSH to answer")
    _wait_ready(state, ready_timeout)
    if emulated:
        _wait_emulator(state_dir, ready_timeout)

    state.phase = "up"
    state.start_seconds = round(time.monotonic() - started, 3)
    save_state(state_dir, state)
    info = _lab_info(state_dir, state, reused=False)
    info.inventory.save(info.inventory_path)
    return info


def _lab_info(state_dir: Path, state: LabState, *, reused: bool) -> LabInfo:
    credentials = CredentialsRef(kind="file", path=str(state_dir / CREDENTIALS_FILE))
    emulated = _emulator_targets(state_dir) if state.emulator_pidfile else {}
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


def _emulator_targets(state_dir: Path) -> dict[str, ApplianceTarget]:
    path = state_dir / EMULATOR_DIR / "inventory.yaml"
    if not path.exists():
        return {}
    return ApplianceInventory.load(path).by_name()


def _start_emulator(
    state_dir: Path, state: LabState, emulated: list[LabAppliance], ports: dict[str, int]
) -> None:
    folder = state_dir / EMULATOR_DIR
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    spec = EmulatorSpec(
        devices=[
            EmulatedDevice(
                name=a.name, platform=a.platform, role=a.role, store_id=a.store_id, port=ports[a.name]
            )
            for a in emulated
        ]
    )
    spec_path = folder / "spec.yaml"
    atomic_write_text(spec_path, yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    log = (folder / "emulator.log").open("ab")
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "storestack.lab.emulator",
                "--spec",
                str(spec_path),
                "--state-dir",
                str(folder),
                "--name",
                state.name,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives `storestack lab up`; `down` stops it by pidfile
        )
    finally:
        log.close()
    assert state.emulator_pidfile is not None
    atomic_write_text(Path(state.emulator_pidfile), f"{process.pid}\n")


def _wait_emulator(state_dir: Path, timeout: float) -> None:
    folder = state_dir / EMULATOR_DIR
    deadline = time.monotonic() + timeout
    while not (folder / "ready").exists():
        if time.monotonic() > deadline:
            log = (folder / "emulator.log").read_text(encoding="utf-8", errors="replace")[-2000:]
            raise LabError(f"the vendor emulator did not start within {timeout:g} s: {log}")
        time.sleep(0.05)


def _free_ports(count: int) -> list[int]:
    """Ports the kernel hands out as free on loopback right now."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _create_user(username: str, password: str) -> None:
    with contextlib.suppress(KeyError):
        pwd.getpwnam(username)
        _delete_user(username)
    _retry_on_lock(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/bin/sh",
            "--groups",
            "frr,frrvty",
            "--comment",
            "storestack lab",
            username,
        ]
    )
    # The password goes through stdin, never the command line. SHA-512 crypt rather than
    # Debian's default yescrypt: the password is random and long, and yescrypt's deliberate
    # ~20 ms of CPU per check was 40% of the lab's cost of every SSH login.
    _retry_on_lock(["chpasswd", "--crypt-method", "SHA512"], stdin=f"{username}:{password}\n")


def _delete_user(username: str) -> bool:
    try:
        pwd.getpwnam(username)
    except KeyError:
        return False
    _retry_on_lock(["userdel", username])
    return True


def _retry_on_lock(command: list[str], *, stdin: str | None = None) -> None:
    # Other labs may be editing /etc/passwd at the same moment; shadow-utils then fails fast.
    for attempt in range(40):
        try:
            system.run(command, stdin=stdin)
            return
        except LabCommandError as exc:
            if "lock" not in exc.stderr.lower() or attempt == 39:
                raise
            time.sleep(0.1)


def _generate_host_key(path: Path, lab_name: str) -> str:
    for stale in (path, path.with_suffix(".pub")):
        stale.unlink(missing_ok=True)
    comment = f"storestack-lab-{lab_name}"
    system.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path])
    return public_key_line_fingerprint(path.with_suffix(".pub").read_text(encoding="ascii"))


def _create_namespaces(state: LabState) -> None:
    namespace = {runtime.name: runtime.namespace for runtime in state.appliances}
    commands = [f"netns add {ns}" for ns in namespace.values()]
    for link in state.veth_links():
        # Both ends are created directly inside their namespaces: no name ever exists on the host.
        commands.append(
            f"link add name {link.a.ifname} netns {namespace[link.a.appliance]} type veth "
            f"peer name {link.b.ifname} netns {namespace[link.b.appliance]}"
        )
    _ip_batch(None, commands)

    def configure(runtime: ApplianceRuntime) -> None:
        lines = ["link set lo up"]
        for link in state.veth_links():
            if runtime.name not in (link.a.appliance, link.b.appliance):
                continue
            end = link.a if link.a.appliance == runtime.name else link.b
            lines.append(f"addr add {end.address.with_prefixlen} dev {end.ifname}")
            lines.append(f"link set {end.ifname} up")
        _ip_batch(runtime.namespace, lines)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(configure, state.appliances))


def _ip_batch(namespace: str | None, commands: Sequence[str]) -> None:
    if not commands:
        return
    argv = ["ip", *(["-n", namespace] if namespace else []), "-batch", "-"]
    system.run(argv, stdin="\n".join(commands) + "\n", timeout=60)


def _frr_files(appliance: str) -> dict[str, str]:
    daemons = "\n".join(
        [
            "bgpd=yes",
            "bfdd=yes",
            "vtysh_enable=yes",
            # Only used when an operator runs `frrinit.sh start <ns>` by hand.
            'watchfrr_options="--netns"',
            'zebra_options=" -A 127.0.0.1 -s 90000000"',
            'bgpd_options=" -A 127.0.0.1"',
            'staticd_options=" -A 127.0.0.1"',
            'bfdd_options=" -A 127.0.0.1"',
            "",
        ]
    )
    vtysh_conf = f"service integrated-vtysh-config\nhostname {appliance}\n"
    # What the running config is right after start: watchfrr applies this file when it has to
    # restart a daemon, exactly as after `write memory`.
    frr_conf = "\n".join(
        [
            "frr defaults traditional",
            f"hostname {appliance}",
            "service integrated-vtysh-config",
            "!",
            "",
        ]
    )
    return {"daemons": daemons, "vtysh.conf": vtysh_conf, "frr.conf": frr_conf}


# Runs inside the appliance's network namespace and a private UTS namespace. The daemons are
# started directly rather than through frrinit.sh: the init script's shell layers and its
# per-daemon `vtysh -b` cost about half again the daemons' own start-up CPU, which is what
# bounds how fast a 50-appliance lab comes up on a small machine. watchfrr is started last,
# on already-running daemons: it supervises them and performs `write memory` for vtysh.
_FRR_START_SCRIPT = r"""
set -e
hostname "$1"
ns="$2"
echo 1 > /proc/sys/net/ipv4/ip_forward
echo 1 > /proc/sys/net/ipv6/conf/all/forwarding
d=/usr/lib/frr
o="-N $ns -d -F traditional -A 127.0.0.1"
$d/zebra $o -s 90000000 &
$d/bgpd $o &
$d/staticd $o &
$d/bfdd $o &
wait
exec $d/watchfrr -N "$ns" -d -F traditional zebra bgpd staticd bfdd
"""


def _start_frr(state: LabState, runtime: ApplianceRuntime) -> None:
    conf_dir = system.FRR_CONF_ROOT / runtime.namespace
    run_dir = system.FRR_RUN_ROOT / runtime.namespace
    shutil.rmtree(run_dir, ignore_errors=True)
    frr_user = pwd.getpwnam("frr")
    for directory in (conf_dir, run_dir):
        directory.mkdir(parents=True, exist_ok=True)
        os.chown(directory, frr_user.pw_uid, frr_user.pw_gid)
        os.chmod(directory, 0o750)
    for filename, text in _frr_files(runtime.name).items():
        path = conf_dir / filename
        atomic_write_text(path, text, mode=0o640)
        os.chown(path, frr_user.pw_uid, frr_user.pw_gid)
    system.run(
        [
            "unshare",
            "--uts",
            "nsenter",
            f"--net={system.NETNS_RUN_ROOT / runtime.namespace}",
            "sh",
            "-c",
            _FRR_START_SCRIPT,
            "storestack-lab",
            runtime.name,
            runtime.namespace,
        ],
        timeout=60,
    )


def _sshd_config(state_dir: Path, state: LabState, shard: SshdShard) -> str:
    lines = [f"ListenAddress {LOOPBACK}:{port}" for port in shard.ports]
    lines += [
        f"HostKey {state_dir / SSH_DIR / HOST_KEY_FILE}",
        f"PidFile {shard.pidfile}",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication no",
        "UsePAM no",
        "PermitRootLogin no",
        f"AllowUsers {state.username}",
        "AllowTcpForwarding no",
        "AllowAgentForwarding no",
        "X11Forwarding no",
        "PermitTunnel no",
        "PrintMotd no",
        "PrintLastLog no",
        "UseDNS no",
        "LogLevel ERROR",
        # A push engine opens 20+ sessions at once; the default (10:30:100) drops some.
        "MaxStartups 200:30:400",
        "LoginGraceTime 30",
    ]
    for runtime in state.appliances:
        if runtime.shard == shard.index:
            lines.append(f"Match LocalPort {runtime.port}")
            lines.append(f"  ForceCommand {system.VTYSH} -N {runtime.namespace}")
    return "\n".join(lines) + "\n"


def _start_sshd(state_dir: Path, state: LabState, shard: SshdShard) -> None:
    # sshd insists on its privilege separation directory; Debian creates it only via systemd.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    config = Path(shard.config)
    atomic_write_text(config, _sshd_config(state_dir, state, shard), mode=0o600)
    log = config.with_suffix(".log")
    system.run([system.SSHD, "-t", "-f", config])
    system.run([system.SSHD, "-f", config, "-E", log])
    # sshd starts even when some of its ports are taken; a port another process grabbed since
    # it was reserved would silently route that appliance's SSH elsewhere.
    deadline = time.monotonic() + 10
    missing = set(shard.ports)
    while missing and time.monotonic() < deadline:
        pid = system.read_pidfile(Path(shard.pidfile))
        if pid is not None:
            with contextlib.suppress(system.psutil.Error):
                listening = {
                    conn.laddr.port
                    for conn in system.psutil.Process(pid).net_connections(kind="tcp")
                    if conn.status == system.psutil.CONN_LISTEN
                }
                missing -= listening
        if missing:
            time.sleep(0.02)
    if missing:
        raise LabError(f"sshd could not listen on port(s) {sorted(missing)}; run `storestack lab up` again")


def _ssh_answers(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            answered = sock.recv(64).startswith(b"SSH-2.0-")
            # Identify ourselves before closing, or sshd logs every probe as an error.
            sock.sendall(b"SSH-2.0-storestack-lab-probe\r\n")
            return answered
    except OSError:
        return False


def _frr_ready(runtime: ApplianceRuntime) -> bool:
    # watchfrr writes this file once every daemon answers on its vty socket.
    return (system.FRR_RUN_ROOT / runtime.namespace / "watchfrr.started").exists()


def _wait_ready(state: LabState, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending_frr = list(state.appliances)
    pending_ssh = list(state.appliances)
    while True:
        pending_frr = [runtime for runtime in pending_frr if not _frr_ready(runtime)]
        pending_ssh = [runtime for runtime in pending_ssh if not _ssh_answers(runtime.port)]
        if not pending_frr and not pending_ssh:
            return
        if time.monotonic() > deadline:
            problems = [f"FRR not ready on {r.name}" for r in pending_frr[:5]]
            problems += [f"SSH not answering for {r.name} on port {r.port}" for r in pending_ssh[:5]]
            raise LabError(f"lab did not become ready within {timeout:g} s: {'; '.join(problems)}")
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# down


def down(state_dir: Path) -> DownReport:
    """Stop every process the lab started and delete its namespaces. Safe to run twice."""
    system.check_prerequisites()
    state_dir = state_dir.resolve()
    state = load_state(state_dir)
    report = _cleanup(state_dir, state)
    for leftover in (STATE_FILE, INVENTORY_FILE, CREDENTIALS_FILE):
        (state_dir / leftover).unlink(missing_ok=True)
    return report


def _cleanup(state_dir: Path, state: LabState | None) -> DownReport:
    prefix = state.prefix if state else lab_prefix(state_dir)
    username = state.username if state else lab_username(prefix)
    namespaces = set(state.namespaces() if state else [])
    namespaces |= _prefixed(system.NETNS_RUN_ROOT, prefix)
    namespaces |= _prefixed(system.FRR_CONF_ROOT, prefix)
    namespaces |= _prefixed(system.FRR_RUN_ROOT, prefix)
    stopped = 0

    # sshd first, so nobody logs in while FRR goes away; then whatever sessions are left.
    ssh_dir = state_dir / SSH_DIR
    sshd_pids = []
    for pidfile in sorted(ssh_dir.glob("sshd-*.pid")) if ssh_dir.is_dir() else []:
        pid = system.read_pidfile(pidfile)
        if pid is not None and system.process_matches(pid, str(pidfile.with_suffix(".conf"))):
            sshd_pids.append(pid)
    stopped += len(system.terminate(sshd_pids))
    stopped += len(system.terminate(_user_pids(username)))
    emulator_pid = system.read_pidfile(state_dir / EMULATOR_DIR / "emulator.pid")
    if emulator_pid is not None and system.process_matches(emulator_pid, str(state_dir / EMULATOR_DIR)):
        stopped += len(system.terminate([emulator_pid]))
    (state_dir / EMULATOR_DIR / "emulator.pid").unlink(missing_ok=True)

    # watchfrr restarts daemons that die, so it goes before them.
    watchfrr_pids = []
    for ns in namespaces:
        pid = system.read_pidfile(system.FRR_RUN_ROOT / ns / "watchfrr.pid")
        if pid is not None and system.process_matches(pid, ns, exact_argument=True):
            watchfrr_pids.append(pid)
    stopped += len(system.terminate(watchfrr_pids))
    daemon_pids: set[int] = set()
    for ns in namespaces:
        for daemon in FRR_DAEMONS:
            pid = system.read_pidfile(system.FRR_RUN_ROOT / ns / f"{daemon}.pid")
            if pid is not None and system.process_matches(pid, ns, exact_argument=True):
                daemon_pids.add(pid)
    # Whatever else still runs inside a lab namespace (a crashed start, a stray vtysh).
    daemon_pids |= set(_pids_in_namespaces(namespaces).keys())
    daemon_pids.discard(os.getpid())
    stopped += len(system.terminate(sorted(daemon_pids)))

    deleted = sorted(ns for ns in namespaces if (system.NETNS_RUN_ROOT / ns).exists())
    if deleted:
        _ip_batch(None, [f"netns del {ns}" for ns in deleted])
    for ns in namespaces:
        shutil.rmtree(system.FRR_CONF_ROOT / ns, ignore_errors=True)
        shutil.rmtree(system.FRR_RUN_ROOT / ns, ignore_errors=True)
    user_removed = _delete_user(username)
    if ssh_dir.is_dir():
        for pidfile in ssh_dir.glob("sshd-*.pid"):
            pidfile.unlink(missing_ok=True)
    return DownReport(
        name=state_dir.name,
        processes_stopped=stopped,
        namespaces_deleted=deleted,
        user_removed=user_removed,
        was_recorded=state is not None,
    )


def _prefixed(root: Path, prefix: str) -> set[str]:
    if not root.is_dir():
        return set()
    return {entry.name for entry in root.iterdir() if entry.name.startswith(f"{prefix}-")}


def _user_pids(username: str) -> list[int]:
    try:
        uid = pwd.getpwnam(username).pw_uid
    except KeyError:
        return []
    pids = []
    for process in _processes():
        with contextlib.suppress(Exception):
            if process.uids().real == uid:
                pids.append(process.pid)
    return pids


def _processes() -> Iterable[system.psutil.Process]:
    return system.psutil.process_iter()


def _pids_in_namespaces(namespaces: Iterable[str]) -> dict[int, str]:
    """pid → namespace for every process whose network namespace is one of `namespaces`."""
    inodes: dict[tuple[int, int], str] = {}
    for ns in namespaces:
        with contextlib.suppress(OSError):
            info = os.stat(system.NETNS_RUN_ROOT / ns)
            inodes[(info.st_dev, info.st_ino)] = ns
    if not inodes:
        return {}
    found: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            info = os.stat(f"/proc/{entry.name}/ns/net")
            owner = inodes.get((info.st_dev, info.st_ino))
            if owner is not None:
                found[int(entry.name)] = owner
    return found


def _processes_alive(state: LabState) -> bool:
    if state.emulator_pidfile:
        pid = system.read_pidfile(Path(state.emulator_pidfile))
        if pid is None or not system.process_matches(pid, str(Path(state.emulator_pidfile).parent)):
            return False
    for shard in state.shards:
        pid = system.read_pidfile(Path(shard.pidfile))
        if pid is None or not system.process_matches(pid, shard.config):
            return False
    for runtime in state.appliances:
        pid = system.read_pidfile(system.FRR_RUN_ROOT / runtime.namespace / "watchfrr.pid")
        if pid is None or not system.process_matches(pid, runtime.namespace, exact_argument=True):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# status, probes, links


def require_state(state_dir: Path) -> LabState:
    state = load_state(state_dir.resolve())
    if state is None:
        raise LabNotFoundError(f"no lab is recorded in {state_dir}; run `storestack lab up` first")
    return state


def lab_info(state_dir: Path) -> LabInfo:
    """The LabInfo of a lab that is up (inventory, credentials path)."""
    state_dir = state_dir.resolve()
    return _lab_info(state_dir, require_state(state_dir), reused=True)


def vtysh(state_dir: Path, appliance: str, *commands: str, timeout: float = 15.0) -> str:
    """Run vtysh commands on an appliance directly (as root, not through SSH)."""
    state = require_state(state_dir)
    try:
        runtime = state.runtime(appliance)
    except KeyError as exc:
        raise LabError(f"lab {state.name} has no FRR appliance {appliance}") from exc
    argv: list[str] = [str(system.VTYSH), "-N", runtime.namespace]
    for command in commands:
        argv += ["-c", command]
    return system.run(argv, timeout=timeout).stdout


def bgp_peers(state_dir: Path, appliance: str) -> list[BgpPeerStatus]:
    """BGP sessions of an appliance, from `show bgp summary json` (all address families)."""
    output = vtysh(state_dir, appliance, "show bgp summary json")
    return _parse_bgp_summary(output)


def _parse_bgp_summary(output: str) -> list[BgpPeerStatus]:
    try:
        data = json.loads(output or "{}")
    except json.JSONDecodeError:
        return []
    peers: dict[str, BgpPeerStatus] = {}
    for family in data.values() if isinstance(data, dict) else []:
        if not isinstance(family, dict):
            continue
        for address, peer in (family.get("peers") or {}).items():
            if address in peers:
                continue
            peers[address] = BgpPeerStatus(
                peer=address,
                remote_as=peer.get("remoteAs"),
                state=str(peer.get("state", "unknown")),
                prefixes_received=peer.get("pfxRcd"),
                uptime=peer.get("peerUptime"),
            )
    return list(peers.values())


def status(state_dir: Path) -> LabStatus:
    """Each appliance: does its SSH answer, is FRR running, and its BGP sessions."""
    state_dir = state_dir.resolve()
    state = require_state(state_dir)

    emulated_targets = _emulator_targets(state_dir) if state.emulator_pidfile else {}

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
                ssh_ok=bool(target) and _ssh_answers(target.port if target else 0),
                frr_running=False,
                bgp_peers=[],
            )
        runtime = state.runtime(appliance.name)
        pid = system.read_pidfile(system.FRR_RUN_ROOT / runtime.namespace / "zebra.pid")
        frr_running = pid is not None and system.process_matches(pid, runtime.namespace, exact_argument=True)
        peers: list[BgpPeerStatus] = []
        if frr_running:
            with contextlib.suppress(LabError):
                peers = bgp_peers(state_dir, runtime.name)
        return ApplianceStatus(
            name=runtime.name,
            role=appliance.role,
            store_id=appliance.store_id,
            platform=appliance.platform,
            namespace=runtime.namespace,
            port=runtime.port,
            ssh_ok=_ssh_answers(runtime.port),
            frr_running=frr_running,
            bgp_peers=peers,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        appliances = list(pool.map(probe, state.topology.appliances))
    return LabStatus(name=state.name, state_dir=state_dir, phase=state.phase, appliances=appliances)


def _set_link(state_dir: Path, store_id: str, link_name: str, updown: str) -> LabLink:
    state = require_state(state_dir)
    try:
        link = state.topology.link(store_id, link_name)
    except KeyError as exc:
        known = ", ".join(f"{item.store_id} {item.name}" for item in state.topology.links) or "none"
        raise UnknownLinkError(
            f"lab {state.name} has no link {store_id} {link_name} (links: {known})"
        ) from exc
    if link not in state.veth_links():
        raise LabError(f"link {store_id} {link_name} ends on an emulated appliance and has no veth to fail")
    # The store's side goes down, as when its WAN line drops; the hub sees the carrier go too.
    namespace = state.runtime(link.a.appliance).namespace
    _ip_batch(namespace, [f"link set {link.a.ifname} {updown}"])
    return link


def fail_link(state_dir: Path, store_id: str, link_name: str) -> LabLink:
    """Take a store's WAN link down (its veth), to rehearse failover."""
    return _set_link(state_dir, store_id, link_name, "down")


def restore_link(state_dir: Path, store_id: str, link_name: str) -> LabLink:
    return _set_link(state_dir, store_id, link_name, "up")


def memory(state_dir: Path) -> LabMemory:
    """RSS and USS of the processes of each appliance, and of the lab's sshd processes."""
    state = require_state(state_dir)
    by_namespace = _pids_in_namespaces(state.namespaces())
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
