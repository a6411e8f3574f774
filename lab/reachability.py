"""The reachability matrix: what each segment host reaches, measured with real packets, against
the network intent's segmentation policy.

Each host tries a TCP connection to every target from its own namespace. A target is
*reachable* when the connection is accepted or refused (a RST came back: the packets got there
and back); it is *unreachable* when nothing answers within the timeout or the network says it
is unreachable. No listener is needed on the targets.

Targets per host: the HQ POS service (tcp/443), the HQ management workstation (tcp/22), the
internet stand-in service (tcp/443), the cloud host (tcp/443), another store's till (tcp/443)
and its edge's loopback, its management address (tcp/22), and each other segment host of its
own store (tcp/443).

Allowed or denied comes from the intent's flows for the host's zone (`StoreIntent.flows`): a
flow allows a target when its service's prefixes hold the address (or the service is the
internet and the target is the internet service) and its protocol and ports admit the probe.
Everything else is denied.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address

from pydantic import BaseModel, ConfigDict

from storestack.lab import system
from storestack.lab.errors import LabCommandError
from storestack.lab.sites import host_namespace
from storestack.lab.state import LabState
from storestack.lab.topology import LabSegment
from storestack.lab.underlay import INTERNET_SERVICE
from storestack.network.build import NetworkIntent
from storestack.network.model import Flow

# Denied cells wait this long (in parallel per host); on a loaded machine a shorter wait saw
# answers (a till's RST) arrive too late and called reachable cells unreachable.
PROBE_TIMEOUT = 3.0

_PROBE = r"""
import errno, json, socket, sys, concurrent.futures as cf
def probe(target):
    address, port = target
    s = socket.socket(); s.settimeout(float(sys.argv[1]))
    if len(sys.argv) > 3:
        s.bind((sys.argv[3], 0))
    try:
        s.connect((address, port)); return "open"
    except ConnectionRefusedError:
        return "refused"
    except OSError as exc:
        return "timeout" if isinstance(exc, socket.timeout) else errno.errorcode.get(exc.errno or 0, str(exc))
    finally:
        s.close()
targets = json.loads(sys.argv[2])
with cf.ThreadPoolExecutor(len(targets) or 1) as pool:
    print(json.dumps(list(pool.map(probe, [tuple(t) for t in targets]))))
"""


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str  # hq-pos, hq-management, internet, cloud, other-store-pos, other-store-loopback, <segment kind>
    address: IPv4Address
    port: int
    internet: bool = False


class Cell(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str
    source: str  # the host's segment (zone)
    target: str
    address: IPv4Address
    port: int
    outcome: str  # open, refused, timeout, EHOSTUNREACH …
    reachable: bool
    allowed: bool
    why: str  # the flow that allows it, or "no flow allows it"

    @property
    def matches(self) -> bool:
        return self.reachable == self.allowed


def targets_for(state: LabState, segment: LabSegment) -> list[Target]:
    topology = state.topology
    targets: list[Target] = []
    sites = topology.sites
    if sites is not None:
        targets += [
            Target(name="hq-pos", address=sites.hq_pos, port=443),
            Target(name="hq-management", address=sites.hq_management, port=22),
            Target(name="cloud", address=sites.cloud_host, port=443),
        ]
    targets.append(Target(name="internet", address=INTERNET_SERVICE, port=443, internet=True))
    other_pos = next(
        (s for s in topology.segments if s.kind == "pos" and s.store_id != segment.store_id), None
    )
    if other_pos is not None:
        targets.append(Target(name="other-store-pos", address=other_pos.host, port=443))
        other_loopback = next(
            (
                a.management_address
                for a in topology.appliances
                if a.name == other_pos.appliance and a.management_address is not None
            ),
            None,
        )
        if other_loopback is not None:
            targets.append(Target(name="other-store-loopback", address=other_loopback, port=22))
    targets += [
        Target(name=s.kind, address=s.host, port=443)
        for s in topology.segments
        if s.store_id == segment.store_id and s.kind != segment.kind
    ]
    return targets


def allowing_flow(flows: tuple[Flow, ...], zone: str, target: Target) -> Flow | None:
    for flow in flows:
        if flow.source != zone:
            continue
        service = flow.service
        if service.internet:
            if target.internet:
                return flow
            continue
        if service.protocol not in ("ip", "tcp"):
            continue
        if service.ports and target.port not in service.ports:
            continue
        if any(target.address in prefix for prefix in service.prefixes):
            return flow
    return None


def measure(state: LabState, intent: NetworkIntent) -> list[Cell]:
    """Probe every target from every segment host, in parallel per host."""

    def one_host(segment: LabSegment) -> list[Cell]:
        targets = targets_for(state, segment)
        outcomes = _probe(host_namespace(state.prefix, segment), targets)
        flows = intent.store(segment.store_id, segment.appliance).flows
        cells = []
        for target, outcome in zip(targets, outcomes, strict=True):
            flow = allowing_flow(flows, segment.kind, target)
            cells.append(
                Cell(
                    store_id=segment.store_id,
                    source=segment.kind,
                    target=target.name,
                    address=target.address,
                    port=target.port,
                    outcome=outcome,
                    reachable=outcome in ("open", "refused"),
                    allowed=flow is not None,
                    why=flow.why if flow is not None else "no flow allows it",
                )
            )
        return cells

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [cell for cells in pool.map(one_host, state.topology.segments) for cell in cells]


def connect_outcomes(namespace: str, targets: list[tuple[str, int]], source: str | None = None) -> list[str]:
    """What TCP connections from `namespace` to each (address, port) get, in parallel: open,
    refused, timeout, or the socket error's name. With `source`, they are sent from that address
    (a tunnel's inside address, say) instead of the one the routing table picks."""
    payload = json.dumps([list(target) for target in targets])
    argv = ["ip", "netns", "exec", namespace, sys.executable, "-c", _PROBE, str(PROBE_TIMEOUT), payload]
    try:
        result = system.run([*argv, source] if source else argv, timeout=PROBE_TIMEOUT + 20)
    except LabCommandError as exc:
        return [f"probe failed: {exc.stderr[-200:]}"] * len(targets)
    return [str(item) for item in json.loads(result.stdout)]


def _probe(namespace: str, targets: list[Target]) -> list[str]:
    return connect_outcomes(namespace, [(str(t.address), t.port) for t in targets])
