"""Health checks that prove a change did not hurt the appliance.

The rule is "no regression, and what this change adds must work":
- every BGP session Established before the push is Established after it;
- on a store edge, every BGP neighbour the push adds on a link that is up must come up (its
  sessions to the hubs; a neighbour over a tunnel that does not exist yet is not held against it);
- every interface operationally up before the push is still up;
- on FRR, every BGP neighbour whose BFD session bfdd runs up has bgpd hear of it
  (`unregistered_bfd`), unless it did not before the push either.

Hubs get no "new neighbours must come up" rule: a hub gains a store's peer before the store's
edge is configured. Checks are declared per platform (PlatformDriver.health_checks).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from hier_config import HConfig
from pydantic import BaseModel, ConfigDict

from storestack.common.polling import backoff, sleep_before_next
from storestack.devices.drivers import PlatformDriver

# Runs show commands in one exchange with the appliance and returns their outputs in order.
RunCommands = Callable[[Sequence[str]], list[str]]

BGP_SUMMARY = "show bgp summary json"
BGP_NEIGHBORS = "show bgp neighbors json"
BFD_PEERS = "show bfd peers json"
INTERFACES = "show interface json"
_CHECK_COMMANDS: dict[str, tuple[str, ...]] = {
    "bgp_sessions": (BGP_SUMMARY,),
    "interfaces_up": (INTERFACES,),
    "bfd_registrations": (BGP_NEIGHBORS, BFD_PEERS),
}
# The first wait between health polls; they back off from it to the push's `health_poll`.
FIRST_POLL = 0.05
# The first wait when a session the change creates is not up yet: a new BGP session waits for
# its peers' start timers (FRR: 1-2 s) and a TCP and an OPEN exchange, so polls 50 ms apart
# would only cost the appliance's CPU (and a WAN round trip each) while it cannot be up.
NEW_SESSION_FIRST_POLL = 0.25


class HealthSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    bgp: dict[str, str] = {}
    interfaces_up: dict[str, bool] = {}
    # BGP neighbours whose BFD session bfdd runs up while bgpd never heard of it (`unregistered_bfd`)
    bfd_unregistered: frozenset[str] = frozenset()


def snapshot_commands(driver: PlatformDriver) -> list[str]:
    """The show commands a snapshot needs; they go to the appliance together, in one write."""
    return [command for check in driver.health_checks for command in _CHECK_COMMANDS[check]]


def parse_snapshot(driver: PlatformDriver, outputs: Sequence[str]) -> HealthSnapshot:
    """A snapshot from the outputs of `snapshot_commands(driver)`, in that order."""
    if len(outputs) != len(snapshot_commands(driver)):
        raise ValueError(f"{len(outputs)} output(s) for {len(snapshot_commands(driver))} health command(s)")
    by_check: dict[str, list[str]] = {}
    rest = list(outputs)
    for check in driver.health_checks:
        count = len(_CHECK_COMMANDS[check])
        by_check[check], rest = rest[:count], rest[count:]
    bgp = parse_bgp_summary(by_check["bgp_sessions"][0]) if "bgp_sessions" in by_check else {}
    interfaces = parse_interfaces(by_check["interfaces_up"][0]) if "interfaces_up" in by_check else {}
    unregistered = (
        frozenset(unregistered_bfd(*by_check["bfd_registrations"])) if "bfd_registrations" in by_check else frozenset()
    )
    return HealthSnapshot(bgp=bgp, interfaces_up=interfaces, bfd_unregistered=unregistered)


def take_snapshot(driver: PlatformDriver, run: RunCommands) -> HealthSnapshot:
    commands = snapshot_commands(driver)
    return parse_snapshot(driver, run(commands)) if commands else HealthSnapshot()


class BgpPeer(BaseModel):
    """One BGP neighbour as `show bgp summary json` reports it."""

    model_config = ConfigDict(extra="forbid")

    peer: str
    remote_as: int | None = None
    state: str
    prefixes_received: int | None = None
    uptime: str | None = None
    local_as: int | None = None
    description: str = ""


def parse_bgp_peers(output: str) -> list[BgpPeer]:
    """Every neighbour of `show bgp summary json`, over all its address families.

    A neighbour is listed once; it is Established when any of its address families is, and its
    other fields come from that family (else from the first family it appears in)."""
    data = json_object(output)
    peers: dict[str, BgpPeer] = {}
    for family in data.values():
        if not isinstance(family, dict):
            continue
        for address, peer in (family.get("peers") or {}).items():
            if not isinstance(peer, dict):
                continue
            known = peers.get(address)
            if known is not None and (known.state == "Established" or peer.get("state") != "Established"):
                continue
            remote_as = peer.get("remoteAs")
            received = peer.get("pfxRcd")
            uptime = peer.get("peerUptime")
            local_as = family.get("as")
            description = peer.get("desc")
            peers[address] = BgpPeer(
                peer=address,
                remote_as=remote_as if isinstance(remote_as, int) else None,
                state=str(peer.get("state", "unknown")),
                prefixes_received=received if isinstance(received, int) else None,
                uptime=uptime if isinstance(uptime, str) else None,
                local_as=local_as if isinstance(local_as, int) else None,
                description=description if isinstance(description, str) else "",
            )
    return list(peers.values())


def parse_bgp_summary(output: str) -> dict[str, str]:
    """peer address → BGP state, over every address family of `show bgp summary json`."""
    return {peer.peer: peer.state for peer in parse_bgp_peers(output)}


class BfdPeer(BaseModel):
    """One BFD session as FRR's `show bfd peers json` reports it."""

    model_config = ConfigDict(extra="forbid")

    peer: str
    local: str | None = None
    interface: str | None = None
    vrf: str = "default"
    multihop: bool = False
    status: str
    diagnostic: str | None = None
    remote_diagnostic: str | None = None

    @property
    def up(self) -> bool:
        return self.status == "up"


def parse_bfd_peers(output: str) -> list[BfdPeer]:
    """Every session of `show bfd peers json` (a JSON list; noise before it is skipped)."""
    data = _json_after(output, "[")
    peers = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("peer"), str):
            continue
        text = {key: value for key, value in item.items() if isinstance(value, str)}
        peers.append(
            BfdPeer(
                peer=text["peer"],
                local=text.get("local"),
                interface=text.get("interface"),
                vrf=text.get("vrf", "default"),
                multihop=item.get("multihop") is True,
                status=text.get("status", "unknown"),
                diagnostic=text.get("diagnostic"),
                remote_diagnostic=text.get("remote-diagnostic"),
            )
        )
    return peers


def unregistered_bfd(neighbors_output: str, bfd_output: str) -> list[str]:
    """BGP neighbours (`show bgp neighbors json`) whose BFD status bgpd shows as "Unknown" while
    bfdd (`show bfd peers json`) runs a single-hop session to that address that is up.

    FRR 8.4's bgpd sends each neighbour's BFD registration to zebra once (lib/bfd.c
    `_bfd_sess_send`): sent while its zebra connection is down, it is dropped, never retried,
    and a replay (`zclient_bfd_session_replay`) resends only registrations that went out; one
    zebra forgot when bgpd's connection closed is not sent again on reconnect
    (bgpd/bgp_zebra.c `bgp_zebra_connected`). bfdd answers every registration with the
    session's state at once (bfdd/ptm_adapter.c `bfdd_dest_register`), so "Unknown" beside an up
    session is a registration bfdd never got: BFD would not take that BGP session down, and
    BGP's hold timer (30 s on the store tunnels) detects a dead tunnel instead of BFD's second."""
    neighbors = json_object(neighbors_output)
    up = {peer.peer for peer in parse_bfd_peers(bfd_output) if peer.up and not peer.multihop}
    found = []
    for address, neighbor in neighbors.items():
        info = neighbor.get("peerBfdInfo") if isinstance(neighbor, dict) else None
        if isinstance(info, dict) and info.get("status") == "Unknown" and address in up:
            found.append(address)
    return sorted(found, key=_address_key)


def _address_key(address: str) -> tuple[int, str]:
    with contextlib.suppress(ValueError):
        return int(ipaddress.ip_address(address)), address
    return -1, address


def parse_interfaces(output: str) -> dict[str, bool]:
    data = json_object(output)
    return {
        name: info.get("operationalStatus") == "up"
        for name, info in data.items()
        if isinstance(info, dict)
    }


def json_object(output: str) -> dict[str, Any]:
    """The JSON object a `show … json` command printed, or {} when there is none (noise before it is skipped)."""
    data = _json_after(output, "{")
    return data if isinstance(data, dict) else {}


def _json_after(output: str, opener: str) -> Any:
    """The JSON value starting at the first `opener` of `output`, or None."""
    start = output.find(opener)
    if start == -1:
        return None
    try:
        return json.loads(output[start:])
    except json.JSONDecodeError:
        return None


_NEIGHBOR = re.compile(r"^neighbor (\S+) remote-as ")


def bgp_neighbors(config: HConfig) -> set[str]:
    """Neighbour addresses configured with a remote-as under `router bgp` (default VRF)."""
    found: set[str] = set()
    for router in config.get_children(startswith="router bgp "):
        if " vrf " in router.text:
            continue
        for child in router.children:
            match = _NEIGHBOR.match(child.text)
            if match:
                found.add(match.group(1))
    return found


def peer_interfaces(config: HConfig) -> dict[str, str]:
    """Neighbour address → the interface whose connected subnet holds it (FRR/IOS `ip address A/len`)."""
    subnets: list[tuple[ipaddress.IPv4Network, str]] = []
    for interface in config.get_children(startswith="interface "):
        name = interface.text.split(None, 1)[1]
        for child in interface.get_children(startswith="ip address "):
            with contextlib.suppress(ValueError, IndexError):
                subnets.append((ipaddress.ip_interface(child.text.split()[2]).network, name))  # type: ignore[arg-type]
    found: dict[str, str] = {}
    for peer in bgp_neighbors(config):
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(peer)
            for network, name in subnets:
                if address in network:
                    found[peer] = name
                    break
    return found


def required_new_peers(intended: HConfig, running: HConfig, before: HealthSnapshot) -> set[str]:
    """Neighbours this change adds whose link is up: they must reach Established."""
    new = bgp_neighbors(intended) - bgp_neighbors(running)
    links = peer_interfaces(intended)
    return {peer for peer in new if before.interfaces_up.get(links.get(peer, ""), False)}


def findings(before: HealthSnapshot, after: HealthSnapshot, *, must_establish: set[str]) -> list[str]:
    """What is worse after the change than before, plus new neighbours that are not up."""
    problems: list[str] = []
    for peer, state in sorted(before.bgp.items()):
        if state == "Established" and after.bgp.get(peer) != "Established":
            problems.append(f"BGP session to {peer} was Established, now {after.bgp.get(peer, 'gone')}")
    for peer in sorted(must_establish - {p for p, s in before.bgp.items() if s == "Established"}):
        if after.bgp.get(peer) != "Established":
            problems.append(f"new BGP session to {peer} is {after.bgp.get(peer, 'not configured')}, not Established")
    for name, up in sorted(before.interfaces_up.items()):
        if up and not after.interfaces_up.get(name, False):
            problems.append(f"interface {name} was up, now down")
    for peer in sorted(after.bfd_unregistered - before.bfd_unregistered, key=_address_key):
        problems.append(
            f"BGP neighbour {peer}: bfdd's BFD session is up but bgpd never registered it (BFD status "
            "Unknown), so BFD would not take the session down; send the `neighbor ... bfd` line that "
            "enables it (on a hub, its peer group's) once more, which registers it again"
        )
    return problems


def wait_healthy(
    driver: PlatformDriver,
    run: RunCommands,
    before: HealthSnapshot,
    *,
    must_establish: set[str],
    timeout: float,
    poll: float = 0.5,
    first: HealthSnapshot | None = None,
) -> list[str]:
    """Poll until nothing regressed or `timeout` passes; returns the remaining findings.

    `first` is a snapshot already read (with the verify step's running config): the first poll
    costs no exchange of its own. The polls start 50 ms apart and back off to `poll`: a session
    that comes back within a second is seen within a round trip or two of it. While a session
    the change creates is not up in `first`, they start 250 ms apart (NEW_SESSION_FIRST_POLL).
    """
    if not driver.health_checks:
        return []
    deadline = time.monotonic() + timeout
    unborn = first is not None and any(first.bgp.get(peer) != "Established" for peer in must_establish)
    waits = backoff(NEW_SESSION_FIRST_POLL if unborn else FIRST_POLL, poll)
    snapshot = first
    while True:
        if snapshot is None:
            snapshot = take_snapshot(driver, run)
        problems = findings(before, snapshot, must_establish=must_establish)
        if not problems or time.monotonic() >= deadline:
            return problems
        snapshot = None
        sleep_before_next(waits, deadline)
