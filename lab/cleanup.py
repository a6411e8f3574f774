"""Tearing a lab down: everything it started, found by pidfile and by name, even after a crash.

Every name the lab creates derives from its prefix, so a crashed `up` that recorded nothing
still leaves namespaces, FRR directories and a login user that can be found and removed.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
from collections.abc import Iterable
from pathlib import Path

from storestack.lab import ipsec, system
from storestack.lab.companions import remove_sudoers
from storestack.lab.frr import FRR_DAEMONS, watchfrr_alive
from storestack.lab.inband import RELAY_PIDFILE
from storestack.lab.models import DownReport
from storestack.lab.namespaces import pids_in_namespaces
from storestack.lab.relay import relay_pid
from storestack.lab.sshd import confirm_dir, delete_user
from storestack.lab.state import EMULATOR_DIR, SSH_DIR, LabState, lab_prefix, lab_username
from storestack.lab.system import ip_batch


def cleanup(state_dir: Path, state: LabState | None) -> DownReport:
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
    relay = relay_pid(state.relay_pidfile if state else str(ssh_dir / RELAY_PIDFILE))
    stopped += len(system.terminate(sshd_pids + ([relay] if relay is not None else [])))
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
    daemon_pids |= set(pids_in_namespaces(namespaces).keys())
    daemon_pids.discard(os.getpid())
    stopped += len(system.terminate(sorted(daemon_pids)))

    deleted = sorted(ns for ns in namespaces if (system.NETNS_RUN_ROOT / ns).exists())
    if deleted:
        ip_batch(None, [f"netns del {ns}" for ns in deleted])
    for ns in namespaces:
        shutil.rmtree(system.FRR_CONF_ROOT / ns, ignore_errors=True)
        shutil.rmtree(system.FRR_RUN_ROOT / ns, ignore_errors=True)
    # charon ran inside its namespace and is gone with the processes above; its files
    # (swanctl.conf holds the PSKs) go now.
    ipsec.cleanup_dirs(namespaces | ipsec.prefixed_instances(prefix))
    # The appliances' commit-confirm timers died with the login user's processes above.
    shutil.rmtree(confirm_dir(prefix), ignore_errors=True)
    remove_sudoers(prefix)
    user_removed = delete_user(username)
    if ssh_dir.is_dir():
        for pidfile in (*ssh_dir.glob("sshd-*.pid"), ssh_dir / RELAY_PIDFILE):
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



def processes_alive(state: LabState) -> bool:
    if state.emulator_pidfile:
        pid = system.read_pidfile(Path(state.emulator_pidfile))
        if pid is None or not system.process_matches(pid, str(Path(state.emulator_pidfile).parent)):
            return False
    if state.relay_pidfile is not None and relay_pid(state.relay_pidfile) is None:
        return False
    for shard in state.shards:
        pid = system.read_pidfile(Path(shard.pidfile))
        if pid is None or not system.process_matches(pid, shard.config):
            return False
    if not all(watchfrr_alive(runtime) for runtime in state.appliances):
        return False
    return all(
        ipsec.charon_alive(runtime.namespace)
        for runtime in state.appliances
        if ipsec.instance_dir(runtime.namespace).is_dir()
    )

