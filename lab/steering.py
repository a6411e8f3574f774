"""The lab's storestack-steer: every FRR store runs its rendered steering.conf, as its appliance
would (devices/frr_steer.py: the class tables its `ip rule fwmark` lines look up, kept on the
path each class may use by the BFD state of its tunnels). `lab down` stops it with everything
else in the namespace."""

from __future__ import annotations

import subprocess
from pathlib import Path

from storestack.common.files import atomic_write_text
from storestack.devices import frr_steer
from storestack.lab import ipsec, system

STEERING_CONF = "steering.conf"
STEERING_PID = "steering.pid"
STEERING_LOG = "steering.log"


def steering_log(namespace: str) -> Path:
    """What the appliance's storestack-steer said: each class's moves, with their reasons."""
    return ipsec.instance_dir(namespace) / STEERING_LOG


def start_steering(namespace: str, text: str) -> None:
    """(Re)start the appliance's storestack-steer on this rendered steering.conf."""
    folder = ipsec.instance_dir(namespace)
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / STEERING_CONF
    pidfile = folder / STEERING_PID
    pid = system.read_pidfile(pidfile)
    if pid is not None and system.process_matches(pid, str(conf), exact_argument=True):
        system.terminate([pid])
    atomic_write_text(conf, text, mode=0o644)
    argv = [str(system.SYSTEM_PYTHON), "-I", "-S", frr_steer.__file__, "--config", str(conf), "--pathspace", namespace]
    with steering_log(namespace).open("ab") as log:
        process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives `storestack lab up`; `down` stops the namespace's processes
        )
    atomic_write_text(pidfile, f"{process.pid}\n", mode=0o644)
