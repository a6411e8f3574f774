"""FRR in a lab namespace: its configuration directory, the daemons under watchfrr, and vtysh.

FRR runs without systemd: `-N <ns>` ("pathspace") gives each namespace's daemons and vtysh
their own `/etc/frr/<ns>/` and `/var/run/frr/<ns>/`, inside a private UTS namespace whose
hostname is the appliance name, so the running config and the vtysh prompt (`<hostname>#`,
what Netmiko's `cisco_ios` driver expects) agree.
"""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from storestack.common.files import atomic_write_text
from storestack.lab import system
from storestack.lab.errors import LabError
from storestack.lab.state import ApplianceRuntime, LabState

FRR_DAEMONS = ("zebra", "bgpd", "staticd", "bfdd")


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


def start_frr(state: LabState, runtime: ApplianceRuntime) -> None:
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



def frr_ready(runtime: ApplianceRuntime) -> bool:
    # watchfrr writes this file once every daemon answers on its vty socket.
    return (system.FRR_RUN_ROOT / runtime.namespace / "watchfrr.started").exists()



def frr_running(runtime: ApplianceRuntime) -> bool:
    pid = system.read_pidfile(system.FRR_RUN_ROOT / runtime.namespace / "zebra.pid")
    return pid is not None and system.process_matches(pid, runtime.namespace, exact_argument=True)


def watchfrr_alive(runtime: ApplianceRuntime) -> bool:
    pid = system.read_pidfile(system.FRR_RUN_ROOT / runtime.namespace / "watchfrr.pid")
    return pid is not None and system.process_matches(pid, runtime.namespace, exact_argument=True)


def run_vtysh(runtime: ApplianceRuntime, *commands: str, timeout: float = 15.0) -> str:
    """vtysh commands on the appliance's FRR, as root (not through SSH)."""
    argv: list[str] = [str(system.VTYSH), "-N", runtime.namespace]
    for command in commands:
        argv += ["-c", command]
    return system.run(argv, timeout=timeout).stdout


_Parsed = TypeVar("_Parsed")


def read_every_appliance(
    state: LabState, command: str, parse: Callable[[str], list[_Parsed]]
) -> list[tuple[ApplianceRuntime, list[_Parsed]]]:
    """`command` on every FRR appliance of the lab at once, each answer parsed; an appliance whose
    vtysh does not answer reads as empty (the caller reports what is missing)."""

    def read(runtime: ApplianceRuntime) -> list[_Parsed]:
        try:
            return parse(run_vtysh(runtime, command))
        except LabError:
            return []

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(zip(state.appliances, pool.map(read, state.appliances), strict=True))
