"""SSH into the lab's FRR appliances: the lab's login user, its host key and the sshd processes.

Two ways in:
- **in-band** (a lab with HQ, built from a fleet): one sshd inside each appliance's namespace
  on port 22, as on a real appliance; its firewall admits SSH only from the HQ management
  network through the tunnels, and the push reaches it from HQ (`lab.inband`);
- **side door** (synthetic and veth-overlay labs): a handful of sshd processes on 127.0.0.1
  (one sshd listens on at most 16 ports), one port per appliance, with a `Match LocalPort`
  block per appliance.
Either way the login's ForceCommand is the appliance's restricted login (`frr_confirm.login_command`,
devices/frr_confirm.py): `vtysh -N <ns>` for the interactive session, and the
commit-confirm timer's verbs as SSH exec requests, nothing else. The login user exists only
while the lab is up, with a random password kept in a 0600 file; it is not root, only in the
`frr` and `frrvty` groups, as on an appliance.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from storestack.common.files import atomic_write_text
from storestack.devices import frr_confirm
from storestack.lab import system
from storestack.lab.companions import companion_entries, hand_over, sudo_rules, write_sudoers
from storestack.lab.errors import LabCommandError, LabError
from storestack.lab.state import HOST_KEY_FILE, SSH_DIR, LabState, SshdShard

PORTS_PER_SSHD = 16
LOOPBACK = "127.0.0.1"


# Listening ports of a lab are taken from here, below the kernel's ephemeral range.
LAB_PORT_FLOOR = 20000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_ports(count: int, seed: str = "") -> list[int]:
    """`count` ports free on loopback right now, outside the kernel's ephemeral range.

    The ephemeral range is where every client connection on the machine takes its source port
    from: a port reserved there and released until sshd or the relay binds it (tens of seconds
    later on a loaded machine) was taken in between, and the lab start failed. Below it only
    listeners that name their port compete. Each lab starts its search at its own place
    (`seed`: the lab prefix), so parallel labs seldom meet, and each port is proven free by
    binding it. Without room below the ephemeral range, the kernel picks (the old way)."""
    try:
        ephemeral_low = int(_EPHEMERAL_RANGE.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 0
    pool = range(LAB_PORT_FLOOR, ephemeral_low)
    sockets: list[socket.socket] = []
    try:
        if len(pool) < 4 * count:
            for _ in range(count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.bind((LOOPBACK, 0))
                sockets.append(sock)
            return [sock.getsockname()[1] for sock in sockets]
        start = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(pool)
        for step in range(len(pool)):
            if len(sockets) == count:
                break
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((LOOPBACK, pool[(start + step) % len(pool)]))
            except OSError:
                sock.close()
                continue
            sockets.append(sock)
        if len(sockets) < count:
            raise LabError(f"fewer than {count} free ports on {LOOPBACK} between {pool.start} and {pool.stop - 1}")
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def create_user(username: str, password: str) -> None:
    with contextlib.suppress(KeyError):
        pwd.getpwnam(username)
        delete_user(username)
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


def delete_user(username: str) -> bool:
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


def generate_host_key(path: Path, lab_name: str) -> str:
    for stale in (path, path.with_suffix(".pub")):
        stale.unlink(missing_ok=True)
    comment = f"storestack-lab-{lab_name}"
    system.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path])
    # Here, not at the top: the push engine's host-key module imports paramiko, which the lab's
    # other commands (`lab status`, `lab --help`) never use.
    from storestack.devices.hostkeys import public_key_line_fingerprint

    return public_key_line_fingerprint(path.with_suffix(".pub").read_text(encoding="ascii"))



def confirm_dir(prefix: str) -> Path:
    """The lab's copy of storestack-confirm, its appliance configs and their timer states."""
    return system.CONFIRM_ROOT / prefix


def install_confirm(state: LabState) -> None:
    """Install storestack-confirm as an appliance would have it: the program and one config per
    appliance root-owned and readable, each timer state directory the login user's own (0700)."""
    user = pwd.getpwnam(state.username)
    root = confirm_dir(state.prefix)
    system.CONFIRM_ROOT.mkdir(mode=0o755, exist_ok=True)
    root.mkdir(mode=0o755, exist_ok=True)
    os.chmod(root, 0o755)
    install_program(root / frr_confirm.PROGRAM)
    taken: dict[str, dict[str, dict[str, Any]]] = {}
    for runtime in state.appliances:
        state_dir = root / runtime.namespace
        state_dir.mkdir(mode=0o700, exist_ok=True)
        os.chown(state_dir, user.pw_uid, user.pw_gid)
        # The companion files the lab runs as rendered (lab/companions.py): the push installs them.
        entries = companion_entries(root, runtime.namespace, sudo=True)
        if entries:
            hand_over(root, runtime.namespace, state.username)
            taken[runtime.namespace] = entries
        config = {
            "state_dir": str(state_dir),
            "pathspace": runtime.namespace,
            "host_files": [],
            "companions": entries,
        }
        atomic_write_text(root / f"{runtime.namespace}.json", json.dumps(config, indent=2) + "\n", mode=0o644)
    write_sudoers(state.prefix, sudo_rules(state.username, taken))


def install_program(program: Path) -> None:
    """storestack-confirm as a directory that the host's python3 runs (`python3 -I -S DIR` runs
    DIR/__main__.py), with its bytecode compiled ahead by that same python3. As a single file it
    would be compiled anew at every arm: the login user cannot write a `__pycache__`, and a
    script's own code is never cached. Compiled, the arm's interpreter starts with about a fifth
    fewer instructions. The bytecode is checked against the source's time stamp and size at each
    start, so an edited source is never run stale. Built beside it, then renamed into place."""
    staging = program.with_name(f".{program.name}.{os.getpid()}.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o755)
    os.chmod(staging, 0o755)
    main = staging / "__main__.py"
    atomic_write_text(main, Path(frr_confirm.__file__).read_text(encoding="utf-8"), mode=0o644)
    system.run([system.SYSTEM_PYTHON, "-I", "-m", "compileall", "-q", staging])
    cached = list((staging / "__pycache__").glob("__main__.*.pyc"))
    if not cached:
        raise LabError(f"{system.SYSTEM_PYTHON} did not compile {main}")
    for path in (staging / "__pycache__", *cached):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    # A file or directory there from an earlier lab of this prefix goes first.
    if program.is_dir() and not program.is_symlink():
        shutil.rmtree(program)
    else:
        program.unlink(missing_ok=True)
    staging.rename(program)


def _login_command(state: LabState, namespace: str) -> str:
    """The ForceCommand of an appliance's SSH login: its restricted command set."""
    root = confirm_dir(state.prefix)
    config = frr_confirm.ConfirmConfig(pathspace=namespace, source=root / f"{namespace}.json")
    return frr_confirm.login_command(config, python=str(system.SYSTEM_PYTHON), program=str(root / frr_confirm.PROGRAM))


IN_BAND_PORT = 22


def _sshd_config(state_dir: Path, state: LabState, shard: SshdShard) -> str:
    if shard.namespace is not None:
        lines = [f"ListenAddress 0.0.0.0:{IN_BAND_PORT}"]
    else:
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
    if shard.namespace is not None:
        lines.append(f"ForceCommand {_login_command(state, shard.namespace)}")
        return "\n".join(lines) + "\n"
    for runtime in state.appliances:
        if runtime.shard == shard.index:
            lines.append(f"Match LocalPort {runtime.port}")
            lines.append(f"  ForceCommand {_login_command(state, runtime.namespace)}")
    return "\n".join(lines) + "\n"


def start_sshd(state_dir: Path, state: LabState, shard: SshdShard) -> None:
    # sshd insists on its privilege separation directory; Debian creates it only via systemd.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    config = Path(shard.config)
    atomic_write_text(config, _sshd_config(state_dir, state, shard), mode=0o600)
    log = config.with_suffix(".log")
    if shard.namespace is not None:
        # One address, port 22, in the appliance's own namespace: nothing else can hold it, and
        # sshd exits with an error when it cannot listen (or its config is wrong).
        system.run(["nsenter", f"--net={system.NETNS_RUN_ROOT / shard.namespace}", system.SSHD, "-f", config, "-E", log])
        return
    system.run([system.SSHD, "-t", "-f", config])
    system.run([system.SSHD, "-f", config, "-E", log])
    # sshd starts even when some of its ports are taken; a port another process grabbed since
    # it was reserved would silently route that appliance's SSH elsewhere.
    deadline = time.monotonic() + 10
    missing = set(shard.ports)
    while missing and time.monotonic() < deadline:
        pid = system.read_pidfile(Path(shard.pidfile))
        if pid is not None:
            missing -= _listening_ports(pid)
        if missing:
            time.sleep(0.02)
    if missing:
        raise LabError(f"sshd could not listen on port(s) {sorted(missing)}; run `storestack lab up` again")


def _listening_ports(pid: int) -> set[int]:
    with contextlib.suppress(system.psutil.Error):
        return {
            conn.laddr.port
            for conn in system.psutil.Process(pid).net_connections(kind="tcp")
            if conn.status == system.psutil.CONN_LISTEN
        }
    return set()


def ssh_answers(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            answered = sock.recv(64).startswith(b"SSH-2.0-")
            # Identify ourselves before closing, or sshd logs every probe as an error.
            sock.sendall(b"SSH-2.0-storestack-lab-probe\r\n")
            return answered
    except OSError:
        return False

