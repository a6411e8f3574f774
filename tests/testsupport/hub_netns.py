"""An FRR hub on a real kernel, for the tests that send packets through its rendered firewall.

The hub is one namespace with the rendered nftables ruleset and routing batch loaded for real,
its DC port a veth pair to an HQ namespace that counts the probes arriving (UDP to port 9999).
Its XFRM interfaces are veth pairs whose far ends, in a store namespace, stand for the tunnels'
SAs: a tunnel interface that exists carries packets (the worst case: the SA is up). FRR is a
stand-in (the route towards HQ is a static one).

Namespaces and root: skipped on a developer machine without them, a failure under CI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest

HQ_HOST = "10.0.1.10"
XFRM = re.compile(r"^link add (\S+) type xfrm if_id (\d+)$")

# Sends one UDP probe from a store address through a hub interface's far end, and appends to the
# log `STEP arrived|dropped|no tunnel` as HQ's counter saw it.
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


class HubNamespaces(NamedTuple):
    hub: str
    store: str
    hq: str


def run(*argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, input=stdin, check=False)
    assert result.returncode == 0, f"{' '.join(argv)}: {result.stderr.strip()}"
    return result.stdout


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


def on_this_kernel(batch: str, store: str) -> str:
    """The batch with each XFRM interface a veth pair whose far end (`t<if_id>`) is in the store
    namespace."""
    return "\n".join(
        f"link add {m.group(1)} type veth peer name t{m.group(2)} netns {store}" if (m := XFRM.match(line)) else line
        for line in batch.splitlines()
    ) + "\n"


def probe_command(
    script: Path, namespaces: HubNamespaces, log: Path, step: str, source: str, tunnel: str, peer: str
) -> list[str]:
    """The PROBE script (written at `script`) sending from `source` in the store namespace through
    `peer`, the far end of the hub's interface `tunnel`."""
    return [sys.executable, str(script), *namespaces, str(log), step, source, tunnel, peer, HQ_HOST]


@contextmanager
def hub_namespaces(tag: str, store_sources: tuple[str, ...]) -> Iterator[HubNamespaces]:
    """The hub, store and HQ namespaces (the store's `store_sources` on its loopback), removed at
    the end."""
    if os.geteuid() != 0:
        unavailable("network namespaces need root")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    names = HubNamespaces(*(f"ss-{tag}{os.getpid()}-{role}" for role in ("hub", "st", "hq")))
    hub, store, hq = names
    try:
        for namespace in names:
            run("ip", "netns", "add", namespace)
            run("ip", "-n", namespace, "link", "set", "lo", "up")
        run("ip", "netns", "exec", hub, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for namespace in (hub, store):
            run("ip", "netns", "exec", namespace, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0")
        run("ip", "-n", hub, "link", "add", "dc", "type", "veth", "peer", "name", "core", "netns", hq)
        run("ip", "-n", hub, "link", "add", "mgmt", "type", "veth", "peer", "name", "mgmt-far")
        run("ip", "-n", hub, "link", "set", "dc", "up")
        run("ip", "-n", hub, "link", "set", "mgmt-far", "up")
        run("ip", "-n", hub, "address", "add", "10.0.0.3/29", "dev", "dc")
        run("ip", "-n", hub, "route", "add", "10.0.1.0/24", "via", "10.0.0.1")
        run("ip", "-n", hq, "link", "set", "core", "up")
        run("ip", "-n", hq, "address", "add", "10.0.0.1/29", "dev", "core")
        run("ip", "-n", hq, "address", "add", f"{HQ_HOST}/32", "dev", "lo")
        for source in store_sources:
            run("ip", "-n", store, "address", "add", f"{source}/32", "dev", "lo")
        subprocess.run(
            ["ip", "netns", "exec", hq, "nft", "-f", "-"],
            input="table ip probe {\n counter seen { }\n chain in {\n  type filter hook prerouting priority 0;\n"
            "  udp dport 9999 counter name seen\n }\n}\n",
            text=True, check=True, capture_output=True, timeout=30,
        )
        yield names
    finally:
        for namespace in names:
            subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True, timeout=30)
