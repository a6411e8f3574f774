"""CPU seconds of an FRR lab (sshd and its sessions, vtysh, storestack-confirm, FRR's daemons).

On loopback a push is CPU-bound, and most of the CPU is the lab's, so the push benchmarks report
it beside the tool's own. Two things make it easy to get wrong:

- a process's CPU time reaches its parent's "children" times only when the parent reaps it: an
  SSH session the client closed at the end of a run is torn down and reaped a moment later, so
  its login (sshd, a vtysh start) would be counted in the *next* measurement. A tool that keeps
  every session open until its run ends (Nornir closes all its connections at the end) would
  hand most of its own lab CPU to whatever is measured after it. So every measurement waits
  until the lab's login user runs nothing any more (`settle`), and only then reads the lab's CPU;
- /proc counts in 10 ms ticks, too coarse for one appliance's phases. Where the machine has
  cgroup v1's cpuacct (it counts to the nanosecond, ended processes included), the lab's
  processes are put into a cgroup of their own, and what they start later (sshd's sessions,
  vtysh, storestack-confirm, watchfrr's `vtysh -w`) is born in it. Without it, the processes'
  times (and their reaped children's) are summed.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import psutil

CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class LabCpu:
    """The CPU seconds of one lab's processes: `seconds()`; `close()` when the lab is down."""

    def __init__(self, lab_dir: Path, prefix: str, username: str) -> None:
        self.marks = (prefix, str(lab_dir))
        self.username = username
        self.idle_rate = 0.0
        self._processes = [
            process
            for process in psutil.process_iter(["cmdline"])
            if any(mark in part for part in process.info["cmdline"] or [] for mark in self.marks)
        ]
        self.group: Path | None = None
        if (CPUACCT / "cgroup.procs").exists():
            group = CPUACCT / f"storestack-bench-{os.getpid()}-{prefix}"
            try:
                group.mkdir()
                for process in self._processes:
                    with contextlib.suppress(OSError):
                        (group / "cgroup.procs").write_text(f"{process.pid}\n")
                self.group = group
            except OSError:
                with contextlib.suppress(OSError):
                    group.rmdir()

    @property
    def method(self) -> str:
        return "cgroup cpuacct" if self.group is not None else "/proc times of the lab's processes"

    def seconds(self) -> float:
        if self.group is not None:
            return int((self.group / "cpuacct.usage").read_text()) / 1e9
        total = 0.0
        for process in self._processes:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            # sshd's sessions and the vtysh they run are waited for by their sshd: children times.
            total += times.user + times.system + times.children_user + times.children_system
        return total

    def measure_idle(self, seconds: float = 2.0) -> float:
        """The lab's CPU rate with nothing pushed (BGP keepalives, BFD, timers), per second."""
        before = self.seconds()
        time.sleep(seconds)
        self.idle_rate = (self.seconds() - before) / seconds
        return self.idle_rate

    def sessions(self) -> list[psutil.Process]:
        """What still runs for the lab's login user, detached commit-confirm timers aside (a
        timer left its login's session and outlives it by design)."""
        running = []
        for process in psutil.process_iter(["username", "cmdline"]):
            try:
                cmdline = " ".join(process.info["cmdline"] or [])
                if process.info["username"] != self.username and f"sshd: {self.username}" not in cmdline:
                    continue
                if "storestack-confirm" in cmdline and os.getsid(process.pid) == process.pid:
                    continue
            except (psutil.Error, ProcessLookupError):
                continue
            running.append(process)
        return running

    def settle(self, timeout: float = 30.0) -> float:
        """Until the sessions of the run just measured have ended (sshd tears a session down after
        its client closed it; that CPU belongs to the run); the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            running = self.sessions()
            if not running:
                break
            psutil.wait_procs(running, timeout=0.05)
        return time.monotonic() - started

    def close(self) -> None:
        """Remove the cgroup, once the lab is down (a cgroup with processes in it stays)."""
        if self.group is None:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.group.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)
