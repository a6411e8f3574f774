"""An FRR host whose ruleset does not load at boot fails closed (the `nftables.unit` companion, a
drop-in for Debian 12's nftables.service, devices/frr.py `firewall_fallback`).

Debian's unit loads /etc/nftables.conf before network-pre.target; a file that does not load only
failed the unit, and the host brought its ports, tunnels and FRR up forwarding with no ruleset.
Here the drop-in's own ExecStart runs in a namespace, at a copy of the rendered ruleset: whole, it
loads it and succeeds; cut short, it leaves the fallback, fails, and the host forwards nothing and
takes SSH from the management ranges only (real TCP from a host on each side)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from testsupport.rendering import TEST_IPSEC_PSK_SEED, TEST_SECRETS
from testsupport.tcp_echo import serve

from storestack.devices.frr import FALLBACK_TABLE
from storestack.devices.render import RenderedConfig, render_hub, render_store
from storestack.inventory import load_fleet, sample_chain_path

DEBIAN_UNIT = Path("/lib/systemd/system/nftables.service")
# A management host (the sample chain's management range), a host outside it on the same LAN,
# and a host behind the appliance: what it would forward to.
MANAGER, OUTSIDER, FAR = "10.0.250.50", "192.0.2.2", "198.51.100.2"

# Connects from argv[1] to argv[2]:argv[3]; prints "open" or what went wrong.
_CONNECT = r"""
import socket, sys
c = socket.socket(); c.bind((sys.argv[1], 0)); c.settimeout(3)
try:
    c.connect((sys.argv[2], int(sys.argv[3]))); print("open")
except OSError as error:
    print(type(error).__name__)
"""


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (*TEST_SECRETS.items(), TEST_IPSEC_PSK_SEED):
        monkeypatch.setenv(name, value)


def _configs() -> dict[str, RenderedConfig]:
    fleet = load_fleet(sample_chain_path())
    (edge,) = render_store(fleet, "nw-0002")
    return {"store": edge, "hub": render_hub(fleet, "hq-hub1")}


def _exec_start(unit: str) -> list[str]:
    """The drop-in's command: its last ExecStart= (the empty one before resets Debian's)."""
    starts = [line.removeprefix("ExecStart=") for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert starts[0] == "" and len(starts) == 2, starts
    return shlex.split(starts[1])


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("role", ["store", "hub"])
def test_the_boot_drop_in_is_one_systemd_accepts_over_debians_unit(tmp_path: Path, role: str) -> None:
    if shutil.which("systemd-analyze") is None or not DEBIAN_UNIT.exists():
        pytest.skip("needs systemd-analyze and Debian's nftables.service")
    shutil.copy(DEBIAN_UNIT, tmp_path / DEBIAN_UNIT.name)
    (tmp_path / "nftables.service.d").mkdir()
    (tmp_path / "nftables.service.d" / "storestack.conf").write_text(dict(_configs()[role].companions)["nftables.unit"])
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / DEBIAN_UNIT.name)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"},
    )  # fmt: skip
    assert (verified.returncode, verified.stderr) == (0, "")


@pytest.mark.parametrize("role", ["store", "hub"])
def test_a_ruleset_that_does_not_load_at_boot_leaves_a_host_that_forwards_nothing(tmp_path: Path, role: str) -> None:
    if os.geteuid() != 0 or shutil.which("nft") is None:
        pytest.skip("needs root and nft (network namespaces)")
    config = _configs()[role]
    companions = dict(config.companions)
    command = _exec_start(companions["nftables.unit"])
    assert command[:2] == ["/bin/sh", "-c"] and "/etc/nftables.conf" in command[2]
    whole = tmp_path / "whole.conf"
    whole.write_text(companions["nftables.conf"])
    cut = tmp_path / "cut.conf"
    cut.write_text(companions["nftables.conf"][: len(companions["nftables.conf"]) // 2])
    ns = {key: f"frrpb-{role}-{key}" for key in ("host", "lan", "far")}
    said: dict[str, object] = {}
    try:
        for namespace in ns.values():
            _run("ip", "netns", "add", namespace)
            _run("ip", "-n", namespace, "link", "set", "lo", "up")
        for side, host_address, side_addresses in (
            ("lan", "192.0.2.1/24", (f"{OUTSIDER}/24", f"{MANAGER}/32")),
            ("far", "198.51.100.1/24", (f"{FAR}/24",)),
        ):
            _run("ip", "link", "add", f"to-{side}", "netns", ns["host"], "type", "veth", "peer", "up0", "netns", ns[side])
            _run("ip", "-n", ns["host"], "addr", "add", host_address, "dev", f"to-{side}")
            _run("ip", "-n", ns["host"], "link", "set", f"to-{side}", "up")
            for address in side_addresses:
                _run("ip", "-n", ns[side], "addr", "add", address, "dev", "up0")
            _run("ip", "-n", ns[side], "link", "set", "up0", "up")
            _run("ip", "-n", ns[side], "route", "add", "default", "via", host_address.split("/")[0])
        _run("ip", "-n", ns["host"], "route", "add", f"{MANAGER}/32", "dev", "to-lan")
        _run("ip", "netns", "exec", ns["host"], "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        ssh, far = serve(ns["host"], "0.0.0.0", 22), serve(ns["far"], FAR, 2222)
        try:
            for label, ruleset in (("whole", whole), ("cut", cut)):
                _run("ip", "netns", "exec", ns["host"], "nft", "flush", "ruleset")
                started = _run("ip", "netns", "exec", ns["host"], *command[:2], command[2].replace("/etc/nftables.conf", str(ruleset)))
                tables = _run("ip", "netns", "exec", ns["host"], "nft", "list", "tables").stdout.split("\n")
                said[label] = (started.returncode, [t.removeprefix("table ") for t in tables if t])
            for source, destination, port in ((MANAGER, "192.0.2.1", 22), (OUTSIDER, "192.0.2.1", 22), (OUTSIDER, FAR, 2222)):
                opened = _run("ip", "netns", "exec", ns["lan"], sys.executable, "-c", _CONNECT, source, destination, str(port))
                said[f"{source} -> {destination}:{port}"] = opened.stdout.strip()
        finally:
            for process in (ssh, far):
                process.kill()
                process.wait(timeout=10)
    finally:
        for namespace in ns.values():
            subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True)
    assert said == {
        "whole": (0, ["inet storestack"]),
        "cut": (1, [FALLBACK_TABLE]),
        f"{MANAGER} -> 192.0.2.1:22": "open",
        f"{OUTSIDER} -> 192.0.2.1:22": "TimeoutError",
        f"{OUTSIDER} -> {FAR}:2222": "TimeoutError",
    }
