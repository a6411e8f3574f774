"""A throwaway FRR instance in its own network namespace, for tests that need a real FRR.

Each instance gets a unique name (prefix + pid + counter), so parallel test runs and other
labs on the same machine never collide; everything it creates is removed on exit.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

FRR_INIT = Path("/usr/lib/frr/frrinit.sh")
VTYSH = shutil.which("vtysh") or "/usr/bin/vtysh"
_counter = itertools.count()

DAEMONS = """bgpd=yes
bfdd=yes
staticd=yes
vtysh_enable=yes
watchfrr_options="--netns"
zebra_options=" -A 127.0.0.1 -s 90000000"
bgpd_options=" -A 127.0.0.1"
staticd_options=" -A 127.0.0.1"
bfdd_options=" -A 127.0.0.1"
"""

# Lines FRR adds on its own; the push engine normalises them away the same way.
HEADER_PREFIXES = (
    "frr version",
    "frr defaults",
    "service integrated-vtysh-config",
    "no ip forwarding",
    "no ipv6 forwarding",
    "ip forwarding",
    "ipv6 forwarding",
    "Building configuration",
    "Current configuration",
    "end",
    "!",
)


def frr_available() -> str | None:
    """None when a real FRR instance can be started here, else the reason it cannot."""
    if os.geteuid() != 0:
        return "needs root"
    if not FRR_INIT.exists() or not Path(VTYSH).exists():
        return "FRR is not installed (apt-get install frr)"
    if shutil.which("ip") is None:
        return "iproute2 is not installed"
    return None


def require_frr() -> None:
    """Skip the test where a real FRR instance cannot be started here; under CI (env CI set),
    fail it instead: never a silent skip."""
    reason = frr_available()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


def normalise(text: str) -> list[str]:
    """Config lines minus FRR's own header/footer, comments and blank lines."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(HEADER_PREFIXES):
            continue
        lines.append(line.rstrip())
    return lines


class FrrInstance:
    def __init__(self, hostname: str, prefix: str = "sstpl") -> None:
        self.name = f"{prefix}{os.getpid() % 100000}-{next(_counter)}"
        self.hostname = hostname
        self.etc = Path("/etc/frr") / self.name
        self.run = Path("/var/run/frr") / self.name

    def __enter__(self) -> FrrInstance:
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)
        self.etc.mkdir(parents=True)
        (self.etc / "daemons").write_text(DAEMONS)
        # vtysh shows the hostname from vtysh.conf, as the lab's appliances do.
        (self.etc / "vtysh.conf").write_text(f"service integrated-vtysh-config\nhostname {self.hostname}\n")
        (self.etc / "frr.conf").write_text("")
        self.run.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.run, "frr", "frr")
        for path in (self.etc, *self.etc.iterdir()):
            shutil.chown(path, "frr", "frr")
        try:
            # Its own UTS namespace, so the daemons report the appliance's hostname too.
            subprocess.run(
                [
                    "unshare",
                    "--uts",
                    "sh",
                    "-c",
                    'hostname "$1" && exec "$2" start "$3"',
                    "sh",
                    self.hostname,
                    str(FRR_INIT),
                    self.name,
                ],
                check=True,
                capture_output=True,
                timeout=30,
            )
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            result = self.vtysh("show running-config", check=False)
            if result.returncode == 0 and "router" not in result.stderr:
                return
            time.sleep(0.2)
        raise RuntimeError(f"FRR instance {self.name} did not come up")

    def vtysh(self, *commands: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        args = [VTYSH, "-N", self.name]
        for command in commands:
            args += ["-c", command]
        return subprocess.run(args, capture_output=True, text=True, check=check, timeout=60)

    def apply_file(self, path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [VTYSH, "-N", self.name, "-f", str(path)], capture_output=True, text=True, timeout=120
        )

    def running_config(self) -> str:
        return self.vtysh("show running-config").stdout

    def _kill_daemons(self) -> None:
        """Stop by pidfile: quick and never touches another instance's processes."""
        # watchfrr first, or it restarts the daemons being stopped.
        pidfiles = sorted(self.run.glob("*.pid"), key=lambda p: p.name != "watchfrr.pid")
        for pidfile in pidfiles:
            with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            alive = [p for p in self.run.glob("*.pid") if _alive(p)]
            if not alive:
                break
            time.sleep(0.1)
        for pidfile in self.run.glob("*.pid"):
            if _alive(pidfile):
                os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)

    def __exit__(self, *exc: object) -> None:
        if self.run.exists():
            self._kill_daemons()
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        shutil.rmtree(self.etc, ignore_errors=True)
        shutil.rmtree(self.run, ignore_errors=True)


def _alive(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
    except (ValueError, ProcessLookupError, FileNotFoundError):
        return False
    except PermissionError:
        return True
    return True


def assert_remediation_converges(hostname: str, before: str, after: str, tmp: Path, case: str = "") -> None:
    """Load `before` into a fresh FRR instance (each interface it names a veth device that stays
    up throughout), apply the push's remediation to `after` as vtysh takes it, and require no
    line refused and nothing left to remediate."""
    from storestack.devices.configdiff.diff import compute_diff

    with FrrInstance(hostname, prefix="ssrem") as frr:
        ports = [name for name in re.findall(r"^interface (\S+)$", before, re.MULTILINE) if name != "lo"]
        for index, name in enumerate(ports):
            far = f"far{index}"
            subprocess.run(["ip", "-n", frr.name, "link", "add", name, "type", "veth", "peer", "name", far], check=True)
            for end in (name, far):
                subprocess.run(["ip", "-n", frr.name, "link", "set", end, "up"], check=True)
        (tmp / "before.conf").write_text(before)
        loaded = frr.apply_file(tmp / "before.conf")
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        time.sleep(1)
        remediation = compute_diff(frr.running_config(), after, "frr").remediation
        assert remediation, f"{case}: nothing to remediate: the test checks nothing"
        (tmp / "remediation.conf").write_text("".join(f"{line}\n" for line in remediation))
        applied = frr.apply_file(tmp / "remediation.conf")
        output = applied.stdout + applied.stderr
        assert applied.returncode == 0 and "%" not in output, f"{case}: vtysh refused:\n{output}"
        time.sleep(1)
        left = compute_diff(frr.running_config(), after, "frr").remediation
        assert not left, f"{case}: still to remediate after the push:\n" + "\n".join(left)
