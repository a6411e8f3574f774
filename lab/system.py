"""Thin wrappers around the system commands the FRR lab uses (ip, sshd, useradd …)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import psutil

from storestack.lab.errors import LabCommandError, LabPrerequisiteError

FRR_LIB = Path("/usr/lib/frr")
FRR_INIT = FRR_LIB / "frrinit.sh"
FRR_CONF_ROOT = Path("/etc/frr")
FRR_RUN_ROOT = Path("/var/run/frr")
NETNS_RUN_ROOT = Path("/var/run/netns")
VTYSH = Path("/usr/bin/vtysh")
SSHD = Path("/usr/sbin/sshd")
FRR_RELOAD = FRR_LIB / "frr-reload.py"
# The host's own python3, as on an appliance: storestack-confirm runs on it, not on our venv.
SYSTEM_PYTHON = Path("/usr/bin/python3")
# Where the lab installs storestack-confirm and keeps each appliance's timer state.
CONFIRM_ROOT = Path("/var/lib/storestack-confirm")


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    stdin: str | None = None,
    timeout: float = 30.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    argv = [os.fspath(part) for part in command]
    try:
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise LabPrerequisiteError(f"{argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabCommandError(argv, -1, f"timed out after {timeout:g} s") from exc
    if check and result.returncode != 0:
        raise LabCommandError(argv, result.returncode, result.stderr or result.stdout)
    return result


def ip_batch(namespace: str | None, commands: Sequence[str]) -> None:
    if not commands:
        return
    argv = ["ip", *(["-n", namespace] if namespace else []), "-batch", "-"]
    run(argv, stdin="\n".join(commands) + "\n", timeout=60)


def check_prerequisites() -> None:
    """Raise LabPrerequisiteError naming what is missing for the FRR lab."""
    problems: list[str] = []
    if os.geteuid() != 0:
        problems.append("must run as root (network namespaces, FRR and sshd)")
    for needed in (FRR_INIT, VTYSH, SSHD, FRR_LIB / "bgpd", FRR_LIB / "bfdd"):
        if not needed.exists():
            problems.append(f"{needed} is missing (install frr and openssh-server: make system-deps)")
    # The appliances' commit-confirm timer reverts with FRR's own reload script.
    if not FRR_RELOAD.exists():
        problems.append(f"{FRR_RELOAD} is missing (install frr-pythontools: make system-deps)")
    if not SYSTEM_PYTHON.exists():
        problems.append(f"{SYSTEM_PYTHON} is missing (the appliances' storestack-confirm runs on it)")
    for needed in (Path("/usr/lib/ipsec/charon"), Path("/usr/sbin/swanctl")):
        if not needed.exists():
            problems.append(f"{needed} is missing (install strongSwan with kernel-libipsec: make system-deps)")
    for tool in ("ip", "unshare", "nsenter", "hostname", "useradd", "userdel", "chpasswd", "ssh-keygen", "nft"):
        if shutil.which(tool) is None:
            problems.append(f"{tool} is not on PATH")
    # The login user installs its appliance's companion files through sudo rules (lab/companions.py).
    for needed in (Path("/usr/bin/sudo"), Path("/usr/sbin/visudo")):
        if not needed.exists():
            problems.append(f"{needed} is missing (install sudo: make system-deps)")
    if problems:
        raise LabPrerequisiteError("; ".join(problems))


def read_pidfile(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    return int(text) if text.isdigit() else None


def process_matches(pid: int, needle: str, *, exact_argument: bool = False) -> bool:
    """True when `pid` is alive and its command line mentions `needle`.

    Guards against killing an unrelated process that reused the pid of a stale pidfile.
    With `exact_argument`, one argument must equal `needle` (namespace "x-hub-1" must not
    match "x-hub-10").
    """
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        arguments = process.cmdline()
        if exact_argument:
            return needle in arguments
        return needle in " ".join(arguments)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def terminate(pids: Iterable[int], *, timeout: float = 5.0) -> list[int]:
    """SIGTERM the given pids, SIGKILL what is left after `timeout`; returns the pids signalled."""
    signalled: list[int] = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
            signalled.append(pid)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + timeout
    remaining = list(signalled)
    while remaining and time.monotonic() < deadline:
        remaining = [pid for pid in remaining if _alive(pid)]
        if remaining:
            time.sleep(0.02)
    for pid in remaining:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    return signalled


def _alive(pid: int) -> bool:
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
