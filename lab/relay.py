"""The push engine's way into HQ: a TCP relay from 127.0.0.1 into the HQ management namespace.

The lab's appliance inventory keeps one 127.0.0.1 port per appliance, so every client (push,
rollout, drift, the demo) works unchanged. Behind each port, a relay process that has entered
HQ's network namespace (`setns`) opens a connection *from the HQ management workstation's
address* to the appliance's in-band management address, port 22. That connection is routed
like any other HQ flow: to a store through its primary hub and the IPsec overlay, to a hub over
its DC link. A change that cuts that path cuts the session, as it would at a real chain.

The relay is a small stand-alone script (no storestack import: it starts in a few ms and holds
no secrets), one process per lab, stopped by its pidfile.
"""

from __future__ import annotations

import subprocess
import sys
import time
from ipaddress import IPv4Address
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from storestack.common.files import atomic_write_text
from storestack.lab import system
from storestack.lab.errors import LabError


class RelayRoute(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    appliance: str
    listen_port: int  # on 127.0.0.1, in the host's namespace
    address: IPv4Address  # the appliance's in-band management address
    port: int = 22


class RelaySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    namespace: str  # HQ's network namespace (its name under /var/run/netns)
    source: IPv4Address  # the management workstation's address the sessions come from
    pidfile: str
    routes: list[RelayRoute]


# Listens first (host namespace), then enters HQ's namespace: sockets made after setns live
# there. The pidfile is written once every port listens, so it doubles as "ready".
_RELAY = r"""
import asyncio, ctypes, json, os, socket, sys
spec = json.load(open(sys.argv[1]))
listeners = []
for route in spec["routes"]:
    sock = socket.socket(); sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", route["listen_port"])); sock.listen(64); sock.setblocking(False)
    listeners.append((sock, route))
CLONE_NEWNET = 0x40000000
fd = os.open("/var/run/netns/" + spec["namespace"], os.O_RDONLY)
if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
    sys.exit("setns: " + os.strerror(ctypes.get_errno()))
os.close(fd)

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data); await writer.drain()
        if writer.can_write_eof(): writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()

async def serve(route, client_reader, client_writer):
    loop = asyncio.get_running_loop()
    upstream = socket.socket(); upstream.setblocking(False)
    try:
        upstream.bind((spec["source"], 0))
        await asyncio.wait_for(loop.sock_connect(upstream, (route["address"], route["port"])), 15)
    except (OSError, asyncio.TimeoutError):
        upstream.close(); client_writer.close(); return
    reader, writer = await asyncio.open_connection(sock=upstream)
    await asyncio.gather(pipe(client_reader, writer), pipe(reader, client_writer))
    writer.close(); client_writer.close()

async def main():
    for sock, route in listeners:
        await asyncio.start_server(lambda r, w, route=route: serve(route, r, w), sock=sock)
    tmp = spec["pidfile"] + ".tmp"
    with open(tmp, "w") as f: f.write(str(os.getpid()))
    os.replace(tmp, spec["pidfile"])
    await asyncio.Event().wait()

asyncio.run(main())
"""


def start_relay(spec: RelaySpec, spec_path: Path, *, timeout: float = 10.0) -> None:
    """Start the relay and wait until every port listens."""
    atomic_write_text(spec_path, spec.model_dump_json(indent=2) + "\n", mode=0o600)
    pidfile = Path(spec.pidfile)
    pidfile.unlink(missing_ok=True)
    log = spec_path.with_suffix(".log").open("ab")
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", _RELAY, str(spec_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives `storestack lab up`; `down` stops it
        )
    finally:
        log.close()
    deadline = time.monotonic() + timeout
    while system.read_pidfile(pidfile) is None:
        if process.poll() is not None or time.monotonic() > deadline:
            tail = spec_path.with_suffix(".log").read_text(errors="replace")[-500:]
            raise LabError(f"the management relay into HQ did not start: {tail or 'no output'}")
        time.sleep(0.02)


def relay_pid(pidfile: str | None) -> int | None:
    """The running relay's pid (its command line names its spec, next to the pidfile)."""
    if pidfile is None:
        return None
    pid = system.read_pidfile(Path(pidfile))
    if pid is not None and system.process_matches(pid, str(Path(pidfile).with_suffix(".json"))):
        return pid
    return None
