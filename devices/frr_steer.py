"""storestack-steer: SLA steering of an FRR store's application classes, by policy routing.

FRR 8.4 detects a bad path (bfdd: one BFD session per tunnel, with the profile of the strictest
SLA class on its transport), but it has nothing that moves marked traffic on that: pbrd's and
staticd's next hops follow the interface and the RIB, not a BFD session, staticd has no BFD
monitoring before 9.x, and the only recovery timer bgpd has (DelayOpen) also holds back every
session's first start. So the host does the last step. This file is the program installed on
the appliance (stdlib only, the host's own python3, as `storestack-confirm`):

    python3 -I -S /usr/lib/storestack/storestack-steer --config /etc/storestack/steering.conf

What it does, and nothing more:

- nftables marks each application class's packets (`meta mark`, the store's `sla_classify`
  chain), and the routing companion has `ip rule fwmark <mark> lookup <class table>` for every
  class that rides the overlay (after `to <store prefix> lookup main`, so store-local traffic
  never leaves). Those rules and marks are rendered; this program owns only the class tables.
- Every poll it asks bfdd (its vty socket, as vtysh does) for the state of each tunnel's BFD
  session, and keeps per class and path: a path whose session is down for the class's
  hold-down is left; a path left once is trusted again only after its session has stayed up
  for the class's recovery time. A path's first time up after the program starts is taken at
  once: recovery guards against a path that failed, never against a first start.
- Each class table holds one route, `default via <hub inside address> dev <tunnel>` of the first
  path in the class's order (the intent's `paths`: preferred transports first, primary hub
  first, LTE/5G only where the class allows it) that is usable, or `unreachable default` when
  none is: a class never leaves on a path it may not use. Until the first decision the table is
  empty and the lookup falls through to the main table (BGP's best path).

The configuration (rendered, `<host>.steering.conf`; `#` starts a comment):

    poll-ms 100
    path xfrm1 10.255.0.0
    class pos 0x00005101 5101 hold-down 2 recovery 30 via xfrm1 xfrm3 xfrm2 xfrm4

(`path IFNAME HUB-INSIDE-ADDRESS`: the tunnel and the BFD peer on it; `class NAME MARK TABLE
hold-down S recovery S via PATH…`: preferred first.) `--pathspace NS` is FRR's `-N`, one FRR
instance of several on a host, as in the lab.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PROGRAM = "storestack-steer"
FRR_RUN_DIR = Path("/var/run/frr")
IP = "ip"
MIN_POLL_MS = 50

log = logging.getLogger(PROGRAM)


class SteeringConfigError(ValueError):
    """A steering.conf line that does not parse; names the line."""


@dataclass(frozen=True, slots=True)
class SteeredPath:
    ifname: str
    peer: str  # the hub's inside address on this tunnel: BFD peer and next hop


@dataclass(frozen=True, slots=True)
class SteeredClass:
    name: str
    mark: int
    table: int
    hold_down: float
    recovery: float
    paths: tuple[str, ...]  # interface names, preferred first


@dataclass(frozen=True, slots=True)
class SteeringConfig:
    poll_ms: int
    paths: dict[str, SteeredPath]
    classes: tuple[SteeredClass, ...]

    @classmethod
    def parse(cls, text: str, source: str = "steering.conf") -> SteeringConfig:
        poll_ms = 200
        paths: dict[str, SteeredPath] = {}
        classes: list[SteeredClass] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            try:
                if words[0] == "poll-ms" and len(words) == 2:
                    poll_ms = max(MIN_POLL_MS, int(words[1]))
                elif words[0] == "path" and len(words) == 3:
                    paths[words[1]] = SteeredPath(words[1], words[2])
                elif (
                    words[0] == "class"
                    and len(words) >= 10
                    and words[4] == "hold-down"
                    and words[6] == "recovery"
                    and words[8] == "via"
                ):
                    via = tuple(words[9:])
                    unknown = [name for name in via if name not in paths]
                    if unknown:
                        raise SteeringConfigError(f"path {unknown[0]} is not declared by a `path` line before it")
                    classes.append(
                        SteeredClass(words[1], int(words[2], 0), int(words[3]), float(words[5]), float(words[7]), via)
                    )
                else:
                    raise SteeringConfigError(f"cannot read {raw.strip()!r}")
            except ValueError as exc:
                raise SteeringConfigError(f"{source}, line {number}: {exc}") from exc
        return cls(poll_ms, paths, tuple(classes))


@dataclass(slots=True)
class PathState:
    """One path as one class sees it."""

    usable: bool = False
    seen_up: bool = False  # up at least once since the program started
    changed_at: float | None = None  # when the BFD state last disagreed with `usable`


@dataclass(slots=True)
class Steering:
    """The decision, apart from any I/O: feed BFD states with a time, read each class's path."""

    config: SteeringConfig
    states: dict[tuple[str, str], PathState] = field(default_factory=dict)

    def observe(self, bfd_up: dict[str, bool], now: float) -> dict[str, str | None]:
        """Per class, the path its traffic uses now (None: no usable path)."""
        chosen: dict[str, str | None] = {}
        for steered in self.config.classes:
            choice = None
            for ifname in steered.paths:
                state = self.states.setdefault((steered.name, ifname), PathState())
                self._step(state, bfd_up.get(ifname, False), now, steered)
                if state.usable and choice is None:
                    choice = ifname
            chosen[steered.name] = choice
        return chosen

    @staticmethod
    def _step(state: PathState, up: bool, now: float, steered: SteeredClass) -> None:
        if up and not state.seen_up:
            state.seen_up, state.usable, state.changed_at = True, True, None  # a first start
            return
        if up == state.usable:
            state.changed_at = None
            return
        if state.changed_at is None:
            state.changed_at = now
        wait = steered.hold_down if state.usable else steered.recovery
        if now - state.changed_at >= wait:
            state.usable, state.changed_at = up, None


class BfdSource:
    """bfdd's vty socket, spoken as vtysh speaks it: a command and NUL, then the output and
    three NULs and a status byte. One connection, reopened after bfdd restarts."""

    def __init__(self, pathspace: str | None) -> None:
        self.path = FRR_RUN_DIR / pathspace / "bfdd.vty" if pathspace else FRR_RUN_DIR / "bfdd.vty"
        self.sock: socket.socket | None = None

    def _command(self, command: str) -> str:
        if self.sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            sock.connect(str(self.path))
            self.sock = sock
            self._command("enable")
        self.sock.sendall(command.encode() + b"\0")
        reply = b""
        while not (len(reply) >= 4 and reply[-4:-1] == b"\0\0\0"):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("bfdd closed its vty")
            reply += chunk
        return reply[:-4].decode(errors="replace")

    def peers_up(self) -> dict[str, bool] | None:
        """Per tunnel interface, whether its BFD session is up; None when bfdd cannot be asked."""
        try:
            peers = json.loads(self._command("show bfd peers json"))
        except (OSError, ValueError) as exc:
            log.warning("cannot read BFD state from %s: %s", self.path, exc)
            self.close()
            return None
        return {peer["interface"]: peer.get("status") == "up" for peer in peers if peer.get("interface")}

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def route_command(config: SteeringConfig, steered: SteeredClass, ifname: str | None) -> list[str]:
    """The `ip route replace` that points a class table at a path, or at nothing."""
    table = ["table", str(steered.table), "proto", "static"]
    if ifname is None:
        return [IP, "route", "replace", "unreachable", "default", *table]
    path = config.paths[ifname]
    return [IP, "route", "replace", "default", "via", path.peer, "dev", ifname, "onlink", *table]


def run(config: SteeringConfig, source: BfdSource) -> None:
    steering = Steering(config)
    installed: dict[str, str | None] = {}
    while True:
        bfd_up = source.peers_up()
        if bfd_up is not None:
            chosen = steering.observe(bfd_up, time.monotonic())
            for steered in config.classes:
                choice = chosen[steered.name]
                if steered.name not in installed or installed[steered.name] != choice:
                    result = subprocess.run(route_command(config, steered, choice), capture_output=True, text=True)
                    if result.returncode == 0:
                        installed[steered.name] = choice
                        log.warning("class %s now leaves on %s", steered.name, choice or "nothing (no usable path)")
                    else:
                        log.error("class %s: %s", steered.name, result.stderr.strip())
        time.sleep(config.poll_ms / 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROGRAM, description="SLA steering of marked traffic by BFD state")
    parser.add_argument("--config", required=True, help="steering.conf")
    parser.add_argument("--pathspace", help="FRR's -N: the FRR instance whose bfdd to ask")
    parser.add_argument("--check", action="store_true", help="parse the configuration and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROGRAM}: %(message)s")
    try:
        config = SteeringConfig.parse(Path(args.config).read_text(encoding="utf-8"), args.config)
    except (OSError, SteeringConfigError) as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return 1
    if args.check:
        return 0
    run(config, BfdSource(args.pathspace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
