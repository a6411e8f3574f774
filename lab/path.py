"""Which path an application class leaves a lab store on right now, from packet counters.

The store's rendered firewall counts every application class on every path it may use
(`chain sla_paths`: one counter per class mark and egress interface, commented
"<application> <transport> <hub or breakout>"). Reading them twice, a window apart, shows where
the class's packets actually went: evidence from the data plane, not from the config or the
routing table. A class that sent nothing in the window has no current path.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from pydantic import BaseModel, ConfigDict

from storestack.lab import system
from storestack.lab.errors import LabError, UnknownLinkError
from storestack.lab.state import LabState, require_state

TABLE = ("inet", "storestack")
CHAIN = "sla_paths"


class PathCount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transport: str
    hub: str | None  # None: local breakout
    ifname: str
    packets: int  # in the window


class PathReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str
    application: str
    window_seconds: float
    paths: list[PathCount]  # every path of the class, in the rendered order
    refused_on_cellular: int  # packets of the class dropped because they would have left on LTE/5G

    @property
    def current(self) -> PathCount | None:
        """The path that carried most of the class's packets in the window."""
        busiest = max(self.paths, key=lambda path: path.packets, default=None)
        return busiest if busiest is not None and busiest.packets > 0 else None

    @property
    def transport(self) -> str | None:
        current = self.current
        return current.transport if current else None


def _store_namespace(state: LabState, store_id: str) -> str:
    for appliance in state.topology.appliances:
        if appliance.store_id == store_id and not appliance.emulated:
            return state.runtime(appliance.name).namespace
    stores = sorted({a.store_id for a in state.topology.appliances if a.store_id and not a.emulated})
    raise UnknownLinkError(
        f"lab {state.name} has no FRR appliance of store {store_id!r} (stores: {', '.join(stores) or 'none'})",
        field="STORE",
    )


def _read(namespace: str, application: str) -> tuple[dict[tuple[str, str | None, str], int], int]:
    """(transport, hub, ifname) → packets of the class so far; and its packets refused on cellular."""
    output = system.run(["ip", "netns", "exec", namespace, "nft", "-j", "list", "chain", *TABLE, CHAIN], check=False)
    if output.returncode != 0:
        raise LabError(
            f"no SLA path counters in {namespace} (chain {' '.join(TABLE)} {CHAIN}): "
            "roll the store's rendered config out to the lab first (`storestack rollout --lab`)"
        )
    counts: dict[tuple[str, str | None, str], int] = {}
    refused = 0
    for item in json.loads(output.stdout).get("nftables", []):
        rule = item.get("rule")
        if not isinstance(rule, dict):
            continue
        packets = next((e["counter"]["packets"] for e in rule.get("expr", []) if "counter" in e), 0)
        comment = str(rule.get("comment", "")).split()
        if len(comment) == 3 and comment[0] == application:
            ifname = next(
                (
                    str(e["match"]["right"])
                    for e in rule.get("expr", [])
                    if "match" in e and e["match"].get("left", {}).get("meta", {}).get("key") == "oifname"
                ),
                "",
            )
            hub = None if comment[2] == "breakout" else comment[2]
            counts[(comment[1], hub, ifname)] = int(packets)
        elif comment == [application, "refused", "on", "cellular"]:
            refused = int(packets)
    return counts, refused


def path(state_dir: Path, store_id: str, application: str, *, window: float = 2.0) -> PathReport:
    """Sample the class's path counters twice, `window` seconds apart."""
    state = require_state(state_dir)
    namespace = _store_namespace(state, store_id)
    before, refused_before = _read(namespace, application)
    if not before:
        raise LabError(f"store {store_id} has no application class {application!r} in its rendered firewall")
    time.sleep(window)
    after, refused_after = _read(namespace, application)
    return PathReport(
        store_id=store_id,
        application=application,
        window_seconds=window,
        paths=[
            PathCount(transport=transport, hub=hub, ifname=ifname, packets=after.get(key, 0) - count)
            for key, count in before.items()
            for transport, hub, ifname in [key]
        ],
        refused_on_cellular=refused_after - refused_before,
    )


# Numbered TCP connection attempts, one line each: "<seq> <monotonic time> <ok|lost>". Accepted
# and refused both prove the round trip, so the far end needs no listener.
_PROBER = r"""
import socket, sys, time
address, port, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
seq = 0
while True:
    seq += 1
    s = socket.socket(); s.settimeout(0.5)
    try:
        s.connect((address, port)); ok = "ok"
    except ConnectionRefusedError:
        ok = "ok"
    except OSError:
        ok = "lost"
    finally:
        s.close()
    print(seq, time.monotonic(), ok, flush=True)
    time.sleep(interval)
"""


class ProbeFlow:
    """A real flow from a lab host while a `with` block runs: TCP connection attempts to
    `address:port` every `interval` seconds from `namespace`, logged to `log`."""

    def __init__(self, namespace: str, address: str, port: int, log: Path, interval: float = 0.1) -> None:
        self.log = log
        self._argv = ["ip", "netns", "exec", namespace, sys.executable, "-c", _PROBER, address, str(port), str(interval)]
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ProbeFlow:
        self._handle = self.log.open("wb")
        self._process = subprocess.Popen(self._argv, stdout=self._handle, stderr=subprocess.DEVNULL)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._process is not None
        self._process.terminate()
        self._process.wait(timeout=10)
        self._handle.close()

    def attempts(self) -> list[tuple[int, float, bool]]:
        """(sequence number, monotonic time, reached) of every attempt so far."""
        rows = []
        for line in self.log.read_text().splitlines():
            seq, at, outcome = line.split()
            rows.append((int(seq), float(at), outcome == "ok"))
        return rows
