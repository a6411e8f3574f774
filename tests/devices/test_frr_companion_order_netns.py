"""A hub's companions pushed and reverted on a real kernel: at no step does a store tunnel
forward what the hub's firewall would drop.

The hub of the sample chain takes a store (nw-0008) it did not serve: the push installs its
companions in the platform's order (devices/platforms/frr.py `hub_companions`: swanctl.conf,
nftables.conf, …, routing), then changes FRR; the appliance's timer reverts it
(devices/frr_confirm.py). After every step of both, a probe sends through the new store's tunnel
interface a packet the hub's firewall must drop (a source of another store, nw-0001, towards HQ:
the anti-spoofing of `store_tunnel_sources`) and HQ counts what arrives. A revert that put the old
firewall back before the routing batch took the tunnel interface away (the companions in name
order, as it did) left that interface in the tunnels' group under a firewall that no longer knew
it: its `iifgroup 10 ... @corporate accept` took the spoofed packet. In the push's order undone
(FRR, then the files last installed first) the interface goes before its filters do.

The probe ends a HQ's answer never needs: the hub is one namespace with the rendered nftables
ruleset and routing batch loaded for real, its DC port a veth pair to an HQ namespace. Its XFRM
interfaces are veth pairs whose far ends, in a store namespace, stand for the tunnels' SAs: a
tunnel interface that exists carries packets (the worst case: the SA is up, as it is until
swanctl.conf's reload ends it). FRR is a stand-in (the route towards HQ is a static one).

Namespaces and root: skipped on a developer machine without them, a failure under CI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from testsupport.rendering import edited_sample_chain

from storestack.devices import frr_confirm
from storestack.devices.frr_confirm import ConfirmConfig
from storestack.devices.platforms import get_platform
from storestack.devices.render import render_hub
from storestack.inventory import Fleet, load_fleet

HUB = "hq-hub1"
STORE = "nw-0008"
TUNNEL = f"{STORE}-wan1"
# A source of another store (nw-0001's first segment) and one of the new store's own.
SPOOFED, OWN = "10.64.0.10", "10.64.14.70"
HQ_HOST = "10.0.1.10"
XFRM = re.compile(r"^link add (\S+) type xfrm if_id (\d+)$")
RUNNING = "frr version 8.4.4\nhostname hq-hub1\n!\nend\n"

PROBE = r'''
import json, socket, subprocess, sys, time
hub, store, hq, log, step, source, tunnel, peer, hq_host = sys.argv[1:10]

def run(*argv, check=True):
    return subprocess.run(argv, capture_output=True, text=True, check=check)

def arrived():
    shown = json.loads(run("ip", "netns", "exec", hq, "nft", "-j", "list", "counter", "ip", "probe", "seen").stdout)
    return next(item["counter"]["packets"] for item in shown["nftables"] if "counter" in item)

link = run("ip", "-n", hub, "-j", "link", "show", tunnel, check=False)
if link.returncode != 0:
    said = "no tunnel"
else:
    mac = json.loads(link.stdout)[0]["address"]
    run("ip", "-n", store, "link", "set", peer, "up")
    run("ip", "-n", store, "route", "replace", "10.0.0.0/8", "dev", peer)
    run("ip", "-n", store, "neigh", "replace", hq_host, "lladdr", mac, "dev", peer)
    before = arrived()
    send = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"s.bind(({source!r}, 0)); s.sendto(b'probe', ({hq_host!r}, 9999))")
    run("ip", "netns", "exec", store, sys.executable, "-c", send)
    time.sleep(0.2)
    said = "arrived" if arrived() > before else "dropped"
with open(log, "a") as out:
    out.write(f"{step} {said}\n")
'''


def _run(*argv: str) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{' '.join(argv)}: {result.stderr.strip()}"
    return result.stdout


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


def _on_this_kernel(batch: str, store: str) -> str:
    """The batch with each XFRM interface a veth pair whose far end is in the store namespace."""
    return "\n".join(
        f"link add {m.group(1)} type veth peer name t{m.group(2)} netns {store}" if (m := XFRM.match(line)) else line
        for line in batch.splitlines()
    ) + "\n"


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str, str]]:
    if os.geteuid() != 0:
        _unavailable("network namespaces need root")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not installed")
    hub, store, hq = (f"ss-co{os.getpid()}-{tag}" for tag in ("hub", "st", "hq"))
    try:
        for namespace in (hub, store, hq):
            _run("ip", "netns", "add", namespace)
            _run("ip", "-n", namespace, "link", "set", "lo", "up")
        _run("ip", "netns", "exec", hub, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for namespace in (hub, store):
            _run("ip", "netns", "exec", namespace, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0")
        _run("ip", "-n", hub, "link", "add", "dc", "type", "veth", "peer", "name", "core", "netns", hq)
        _run("ip", "-n", hub, "link", "add", "mgmt", "type", "veth", "peer", "name", "mgmt-far")
        _run("ip", "-n", hub, "link", "set", "dc", "up")
        _run("ip", "-n", hub, "link", "set", "mgmt-far", "up")
        _run("ip", "-n", hub, "address", "add", "10.0.0.3/29", "dev", "dc")
        _run("ip", "-n", hub, "route", "add", "10.0.1.0/24", "via", "10.0.0.1")
        _run("ip", "-n", hq, "link", "set", "core", "up")
        _run("ip", "-n", hq, "address", "add", "10.0.0.1/29", "dev", "core")
        _run("ip", "-n", hq, "address", "add", f"{HQ_HOST}/32", "dev", "lo")
        for source in (SPOOFED, OWN):
            _run("ip", "-n", store, "address", "add", f"{source}/32", "dev", "lo")
        subprocess.run(
            ["ip", "netns", "exec", hq, "nft", "-f", "-"],
            input="table ip probe {\n counter seen { }\n chain in {\n  type filter hook prerouting priority 0;\n"
            "  udp dport 9999 counter name seen\n }\n}\n",
            text=True, check=True, capture_output=True, timeout=30,
        )
        yield hub, store, hq
    finally:
        for namespace in (hub, store, hq):
            subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True, timeout=30)


def _hub_files(fleet: Fleet, store: str) -> dict[str, str]:
    files = dict(render_hub(fleet, HUB).companions)
    files["routing"] = _on_this_kernel(files["routing"], store)
    return files


def test_no_step_of_a_hub_push_or_its_revert_forwards_a_spoofed_store_source(
    namespaces: tuple[str, str, str], fleet: Fleet, tmp_path: Path
) -> None:
    hub, store, hq = namespaces
    gone = edited_sample_chain(tmp_path / "gone", "", "")
    (gone / "stores" / f"{STORE}.yaml").unlink()
    before, after = _hub_files(load_fleet(gone), store), _hub_files(fleet, store)
    assert TUNNEL not in before["nftables.conf"] and TUNNEL in after["routing"]
    assert f'"{TUNNEL}" . 10.64.14.64/26' in after["nftables.conf"]

    log = tmp_path / "probe.log"
    probe_script = tmp_path / "probe.py"
    probe_script.write_text(PROBE)

    def probe(step: str, source: str = SPOOFED) -> list[str]:
        return [sys.executable, str(probe_script), hub, store, hq, str(log), step, source, TUNNEL, "t16", HQ_HOST]

    running = tmp_path / "running.conf"
    running.write_text(RUNNING)
    vtysh = tmp_path / "vtysh"
    vtysh.write_text(f'#!/bin/sh\nprintf "Building configuration...\\n\\n"\ncat {running}\n')
    reload = tmp_path / "frr-reload.py"
    reload.write_text(f'#!/bin/sh\nfor last; do :; done\ncp "$last" {running}\nexec {" ".join(probe("frr"))}\n')
    for script in (vtysh, reload):
        script.chmod(0o755)
    etc = tmp_path / "etc"
    etc.mkdir()
    real = {
        "nftables.conf": [["ip", "netns", "exec", hub, "nft", "-f", str(etc / "nftables.conf")]],
        "routing": [["ip", "-n", hub, "-force", "-batch", "{changes}"]],
    }
    order = [name for name, _ in get_platform("frr").hub_companions]
    config = ConfirmConfig.load_data(
        {
            "state_dir": str(tmp_path / "state"),
            "vtysh": str(vtysh),
            "frr_reload": str(reload),
            "companions": {
                name: {
                    "path": str(etc / name),
                    "group": None,
                    "check": [],
                    "reload": [*real.get(name, []), probe(name)],
                    "ends": None,
                }
                for name in order
            },
        }
    )
    for name in order:  # the hub as it ran before the push
        frr_confirm.companion_install(config, name, before[name].encode())
    assert log.read_text().splitlines()[-1] == "sysctl.conf no tunnel"
    log.write_text("")

    frr_confirm.arm(config, 60, snapshot=RUNNING)
    for name in order:  # the push: the host's files, then FRR
        frr_confirm.companion_install(config, name, after[name].encode())
    running.write_text(RUNNING.replace("!\n", "ip route 10.64.14.64/26 Null0\n!\n"))
    pushed = log.read_text().splitlines()
    # The probe's path works: the new store's own source reaches HQ once the push is done.
    subprocess.run(probe("pushed, own source", OWN), check=True, timeout=60)
    assert log.read_text().splitlines()[-1] == "pushed, own source arrived"
    log.write_text("")

    frr_confirm.revert(config)
    reverted = log.read_text().splitlines()

    assert "routing dropped" in pushed, pushed  # the tunnel was probed once it existed
    assert reverted[0] == "frr dropped", reverted
    assert not [step for step in pushed + reverted if step.endswith(" arrived")], {"push": pushed, "revert": reverted}
    assert (etc / "nftables.conf").read_text() == before["nftables.conf"]
    assert TUNNEL not in _run("ip", "-n", hub, "link", "show")
