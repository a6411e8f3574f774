"""storestack-steer: SLA steering of an FRR store's application classes, by policy routing.

FRR 8.4 detects a bad path (bfdd: one BFD session per tunnel, with the profile of the strictest
SLA class on its transport), but it has nothing that moves marked traffic on that: pbrd's and
staticd's next hops follow the interface and the RIB, not a BFD session (8.4's staticd
`ip route` takes no `bfd`), and the only recovery timer bgpd has (DelayOpen) also holds back
every session's first start. So the host does the last step. This file is the program installed on
the appliance (stdlib only, the host's own python3, as `storestack-confirm`):

    python3 -I -S /usr/lib/storestack/storestack-steer --config /etc/storestack/steering.conf

What it does, and nothing more:

- nftables marks each application class's packets (`meta mark`, the store's `sla_classify`
  chain), and the routing companion has `ip rule fwmark <mark> lookup <class table>` for every
  class that rides the overlay (after `to <store prefix> lookup main`, so store-local traffic
  never leaves). Those rules and marks are rendered; this program owns only the class tables.
- Every poll it asks bfdd and bgpd (their vty sockets, as vtysh does) whether each tunnel's
  BFD session is up and the BGP session over it established, and keeps per class and path
  (`Steering`): a path that goes down is left once the class's hold-down has passed if it is
  still down then, or if it goes down again within the class's detection time of that drop (a
  brownout keeps taking it down: at the loss rate the class's detector notices, drops come about
  one detection time apart, while BFD and BGP come back from each within a second or two); a
  path left once is trusted again only after it has stayed up for the class's recovery time. A path's first time up after the program starts is taken
  at once: recovery guards against a path that failed, never against a first start.
- The tunnels over one WAN link share its loss, and under a brownout each drops at moments of
  its own: a drop of any of them counts as the link's, so a path that went down is left after
  the hold-down if the link's tunnels dropped twice within the detection time. While a path the
  class left is in its recovery, or went down within the detection time, the class's other paths
  over that link come after its usable paths over other links. The tunnels to one hub share its
  outages: a drop the hub's tunnel over another link shares (within the detection time) is the
  hub's, not the link's, and a hub failing on every link makes none of them suspect. A hub
  fails on a link when its tunnel there is down, went down with the other's (within the longer
  of their detection times and a poll, `hub_outage_spread`: an outage takes them all down within
  that), or keeps going down (twice within the detection time: a brownout of the hub); one drop it came back from, at a moment of its own,
  is no hub's outage (a BFD session starved of CPU for a moment drops like that). An outage
  explains the drops it shares, never a brownout before it: a link that dropped twice within
  the detection time on its own stays suspect through any hub's outage, and comes after every
  other link, its usable paths included.
- A class goes through the hub BGP routes its destinations through (`to`: the private
  prefixes its flows reach through the hubs): per destination, bgpd's longest-match route
  (asked once a second), and its best path's hub. The hubs give the store's routes the
  preferences the store gives theirs and pass their best to the DC core, so the DC's answers
  come back through that hub, and the hubs' firewalls are stateful: a flow sent through the
  other hub would have its answers dropped. So the class passes over its paths to other hubs,
  at once and for as long as BGP routes so (the DC's path back moves at once too), while those
  paths' own state runs on. That also takes it off a hub that lost the DC core (which withdraws
  HQ's summary, while its probes still answer). A destination none of the class's hubs routes
  decides nothing.
- Each class table holds one route, `default via <hub inside address> dev <tunnel>` of the first
  path in the class's order (the intent's `paths`: preferred transports first, primary hub
  first, LTE/5G only where the class allows it) that it may take and that is usable; where none
  is, of those that are up the one up the longest (the first to pass its recovery, so the class
  does not move when it does), one over a link not suspect first (recovery keeps a class
  from returning too early, never from leaving on a path that works); `unreachable default` when none is up: a class never leaves on
  a path it may not use. While FRR knows none of a class's paths (no BFD session, nor for a
  `bgp-only` path a BGP neighbour: before the first push) the class table is left empty and the
  lookup falls through to the main table: BGP's best path, as without steering.

The configuration (rendered, `<host>.steering.conf`; `#` starts a comment):

    poll-ms 100
    path xfrm1 10.255.0.0 over wan1 hub hq-hub1 detect-ms 600
    class pos 0x00005101 5101 hold-down 2 detection 10 recovery 30 via xfrm1 xfrm3 xfrm2 xfrm4 to 10.0.10.0/24

(`path IFNAME HUB-INSIDE-ADDRESS [over LINK] [hub HUB] [detect-ms MS] [bgp-only]`: the tunnel,
the BFD peer on it, the WAN link it rides, the hub it reaches and how long the path takes to go
down once the hub stops answering (its BFD session's detection time, or a `bgp-only` path's BGP
hold time); `bgp-only`
for a hub that runs no BFD with its stores (an IOS-XE FlexVPN hub): that path is up while its
BGP session is established, and it counts once bgpd knows the neighbour; `class NAME MARK
TABLE hold-down S detection S recovery S via PATH… [to PREFIX…]`: preferred first, then the
destinations.) `--pathspace NS` is FRR's `-N`, one FRR
instance of several on a host, as in the lab.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROGRAM = "storestack-steer"
FRR_RUN_DIR = Path("/var/run/frr")
IP = "ip"
MIN_POLL_MS = 50
# Every class table is rewritten this often even without a change.
RESYNC_SECONDS = 10
# bgpd is asked for the routes to the classes' destinations at most this often: a hub's routes
# change on BGP updates, not per BFD packet, and a poll every 100-200 ms would ask bgpd several
# questions per destination per second for nothing.
ROUTES_POLL_SECONDS = 1.0
# A class none of whose paths FRR knows yet: its table stays empty (the main table decides).
UNSTEERED = "-"
# How far apart a hub's outage may spread the drops of two of its tunnels whose path lines name
# no detection time (`detect-ms`; a rendered steering.conf names every path's): see
# `hub_outage_spread`.
HUB_OUTAGE_SPREAD = 3.0

log = logging.getLogger(PROGRAM)


@dataclass(frozen=True, slots=True)
class SteeredPath:
    ifname: str
    peer: str  # the hub's inside address on this tunnel: BFD peer and next hop
    bgp_only: bool = False  # the hub runs no BFD: the BGP session alone says up or down
    # The WAN link it rides (`over`) and the hub it reaches (`hub`): paths over one link share
    # its loss, paths to one hub its outages (`Steering.observe`).
    transport: str | None = None
    hub: str | None = None
    # How long after the hub stops answering the path goes down, at most (`detect-ms`): its BFD
    # session's detection time, or a `bgp-only` path's BGP hold time. None: not named.
    detect_ms: int | None = None


@dataclass(frozen=True, slots=True)
class SteeredClass:
    name: str
    mark: int
    table: int
    hold_down: float
    detection: float  # a second drop within this of the first leaves the path
    recovery: float
    paths: tuple[str, ...]  # interface names, preferred first
    destinations: tuple[str, ...] = ()  # what it goes to through the hubs (A.B.C.D/M)


@dataclass(frozen=True, slots=True)
class SteeringConfig:
    poll_ms: int
    paths: dict[str, SteeredPath]
    classes: tuple[SteeredClass, ...]

    @classmethod
    def parse(cls, text: str, source: str = "steering.conf") -> SteeringConfig:
        """The configuration; ValueError names the file and line that does not read (this
        program runs on the appliance's own python3, without storestack's error classes)."""
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
                elif words[0] == "path" and len(words) >= 3:
                    paths[words[1]] = _path(words)
                elif (
                    words[0] == "class"
                    and len(words) >= 12
                    and words[4] == "hold-down"
                    and words[6] == "detection"
                    and words[8] == "recovery"
                    and words[10] == "via"
                ):
                    tail = words[11:]
                    via = tuple(tail[: tail.index("to")] if "to" in tail else tail)
                    destinations = tuple(tail[len(via) + 1 :])
                    if not via or ("to" in tail and not destinations):
                        raise ValueError(f"cannot read {raw.strip()!r}")
                    for destination in destinations:
                        ipaddress.IPv4Network(destination)  # ValueError names it
                    unknown = [name for name in via if name not in paths]
                    if unknown:
                        raise ValueError(f"path {unknown[0]} is not declared by a `path` line before it")
                    hold_down, detection, recovery = float(words[5]), float(words[7]), float(words[9])
                    classes.append(
                        SteeredClass(
                            words[1], int(words[2], 0), int(words[3]), hold_down, detection, recovery, via, destinations
                        )
                    )
                else:
                    raise ValueError(f"cannot read {raw.strip()!r}")
            except ValueError as exc:
                raise ValueError(f"{source}, line {number}: {exc}") from exc
        return cls(poll_ms, paths, tuple(classes))


def _path(words: list[str]) -> SteeredPath:
    """`path IFNAME PEER [over TRANSPORT] [hub HUB] [detect-ms MS] [bgp-only]`."""
    options, bgp_only, named = words[3:], False, {}
    while options:
        if options[0] == "bgp-only" and not bgp_only:
            bgp_only, options = True, options[1:]
        elif options[0] in ("over", "hub", "detect-ms") and len(options) >= 2 and options[0] not in named:
            named[options[0]], options = options[1], options[2:]
        else:
            raise ValueError(f"cannot read {' '.join(words)!r}")
    detect_ms = None
    if "detect-ms" in named:
        detect_ms = int(named["detect-ms"]) if named["detect-ms"].isdigit() else 0
        if detect_ms <= 0:
            raise ValueError(f"cannot read {' '.join(words)!r}: detect-ms takes milliseconds")
    return SteeredPath(words[1], words[2], bgp_only, named.get("over"), named.get("hub"), detect_ms)


def hub_outage_spread(config: SteeringConfig, first: str, second: str) -> float:
    """How far apart (seconds) a drop of each of two tunnels to one hub may come and still be
    that hub's outage, not a drop of either's own: the longer of their detection times, plus one
    poll. From the moment the hub stops answering, a BFD session goes down once no control
    packet has come for its detection time (interval x multiplier, RFC 5880 6.8.4), and BGP with
    it; a session that had already lost probes goes down sooner, just after that moment, one that
    had lost none a whole detection time later. So each tunnel drops within its own detection
    time of the outage, and two of them at most the longer of the two apart; each drop is seen
    at the next poll. (A `bgp-only` path's is its BGP hold time: bgpd drops the session once
    nothing came for that long.) A path line without `detect-ms` counts as `HUB_OUTAGE_SPREAD`.
    Never less than `HUB_OUTAGE_SPREAD`: an appliance whose CPU is busy fires bfdd's timers and
    polls late, which spreads one outage's drops wider than the timers alone do."""
    detections = [config.paths[ifname].detect_ms for ifname in (first, second)]
    longest = max(HUB_OUTAGE_SPREAD if ms is None else ms / 1000 for ms in detections)
    return max(HUB_OUTAGE_SPREAD, longest + config.poll_ms / 1000)


@dataclass(slots=True)
class PathState:
    """One path as one class sees it."""

    usable: bool = False
    seen_up: bool = False  # up at least once since the program started
    was_up: bool = False  # at the last observation
    breach_since: float | None = None  # usable, but went down then: hold-down and detection run
    downs: int = 0  # times it went down since `breach_since`
    up_since: float | None = None  # not usable, up since then: the recovery runs
    last_down: float | None = None  # when it last went down


@dataclass(frozen=True, slots=True)
class RouteOffer:
    """What the store's route to one destination offers, as bgpd has it."""

    peers: frozenset[str] = frozenset()  # neighbours with a valid path
    best_hub: frozenset[str] = frozenset()  # those on the best path's hub (its BGP router ID)

    @classmethod
    def of(cls, paths: list[dict[str, Any]]) -> RouteOffer:
        """From the `paths` of `show bgp ipv4 unicast A.B.C.D json`."""
        valid = [path for path in paths if path.get("valid") and "peerId" in path.get("peer", {})]
        best = next((path for path in valid if path.get("bestpath", {}).get("overall")), None)
        hub = best["peer"].get("routerId") if best is not None else None
        return cls(
            frozenset(str(path["peer"]["peerId"]) for path in valid),
            frozenset(str(path["peer"]["peerId"]) for path in valid if hub and path["peer"].get("routerId") == hub),
        )


@dataclass(slots=True)
class Steering:
    """The decision, apart from any I/O: feed path states with a time, read each class's path.

    A path is up while its BFD session is up and the BGP session over it is established: BFD
    goes down after the class's count of lost probes in a row and takes BGP with it. A usable
    path that goes down is left once the class's hold-down has passed if it is down then, or if
    it goes down again within the class's detection time of that drop: under a brownout BFD and
    BGP come back from each drop within a second or two, so whether the path happens to be down
    when the hold-down ends is a coin toss, while the drops themselves come about one detection
    time apart at the loss rate the class's detector notices. A single drop it came back from
    within the hold-down, and not repeated within the detection time, is ignored. A left path
    is used again after it has stayed up for the class's recovery time. The tunnels over one
    WAN link share its loss: their drops count together (`_link_drops`), and a left path in
    its recovery, or down within the detection time of its drop, makes its link suspect
    (`_suspect_links`): the class's other paths over that link come after its usable paths
    over other links. The tunnels to one hub share its outages: what the hub's tunnels over
    several links go through together (drops within `hub_outage_spread`, or a hub's tunnels
    dropping repeatedly) is the hub's, not the links'; one drop of one of them at a moment of
    its own is not (`_hub_failing`)."""

    config: SteeringConfig
    states: dict[tuple[str, str], PathState] = field(default_factory=dict)
    was_up: dict[str, bool] = field(default_factory=dict)  # per path, at the last observation
    drops: list[tuple[float, str]] = field(default_factory=list)  # (when, path) each went down
    last_drop: dict[str, float] = field(default_factory=dict)  # per path, when it last went down
    # Of the configuration, once: per path its WAN link (the path alone where none is named),
    # and the tunnels to its hub over other links.
    links: dict[str, str] = field(init=False)
    elsewhere: dict[str, frozenset[str]] = field(init=False)

    def __post_init__(self) -> None:
        paths = self.config.paths
        self.links = {ifname: path.transport or f"path {ifname}" for ifname, path in paths.items()}
        self.elsewhere = {
            ifname: frozenset(
                other
                for other, candidate in paths.items()
                if path.hub is not None and candidate.hub == path.hub and self.links[other] != self.links[ifname]
            )
            for ifname, path in paths.items()
        }

    def observe(
        self, path_up: dict[str, bool], now: float, withheld: dict[str, frozenset[str]] | None = None
    ) -> dict[str, str | None]:
        """Per class, the path its traffic uses now (None: no path is up; UNSTEERED: FRR runs
        no BFD session, nor for a `bgp-only` path a BGP neighbour, on any of its paths: the
        main table decides). `withheld`: per class, the paths to a hub other than the one BGP
        routes the class's destinations through (`withheld_paths`): passed over while that
        holds, and taken again as soon as it no longer does, as the DC's path back does. Their
        own state (up or down, hold-down, recovery) runs on. Where no path the class may take
        has passed its recovery, the one that is up the longest takes it (one over a link not
        suspect before one over a suspect link; in the class's order where as long): recovery
        keeps a class from returning too early to a better path, never from leaving on one that
        works, and the path up the longest is the first to pass its recovery, so the class stays
        on it when it does. Where none
        of them is up but a withheld one is, the main table (BGP's way) takes it."""
        withheld = withheld or {}
        self._count_drops(path_up, now)
        chosen: dict[str, str | None] = {}
        for steered in self.config.classes:
            if not any(ifname in path_up for ifname in steered.paths):
                chosen[steered.name] = UNSTEERED
                continue
            unrouted = withheld.get(steered.name, frozenset())
            # No one hub is BGP's way to all its destinations (each routes one the other does
            # not): the main table, which routes each destination by BGP, serves the class
            # better than any single path; the probes still keep each path's state.
            split = unrouted >= set(steered.paths)
            states = {ifname: self.states.setdefault((steered.name, ifname), PathState()) for ifname in steered.paths}
            for ifname, state in states.items():
                link_drops = self._link_drops(ifname, now, steered.detection)
                self._step(state, path_up.get(ifname, False), now, steered, link_drops)
            suspect = self._suspect_links(steered, states, path_up, now)
            usable = first_usable = dropping_usable = None
            recovering: list[tuple[bool, bool, float, int, str]] = []  # up, in its recovery
            elsewhere = False  # a path to another hub is up
            for position, (ifname, state) in enumerate(states.items()):
                up = path_up.get(ifname, False)
                if ifname in unrouted:
                    elsewhere = elsewhere or up
                    continue
                link = self.links[ifname]
                if state.usable:
                    if link not in suspect:
                        usable = usable or ifname
                    elif suspect[link]:
                        dropping_usable = dropping_usable or ifname
                    else:
                        first_usable = first_usable or ifname
                if up:
                    since = now if state.up_since is None else state.up_since
                    recovering.append((suspect.get(link, False), link in suspect, since, position, ifname))
            usable = usable or first_usable
            # None has passed its recovery: the one nearest to passing it (up the longest), one
            # over a link not suspect first. It is the first to pass its recovery, so the class
            # does not leave it when it does; the preferred one instead would be left for
            # whichever passed first, and taken again when it passed too. A link that keeps
            # dropping comes after every other, a usable path over it included: a path in its
            # recovery over a link that dropped once (a BFD session starved of CPU for a moment)
            # is better than a fibre still losing.
            calm = [candidate for candidate in recovering if not candidate[0]]
            up_now = min(calm)[4] if calm else None
            if up_now is None:
                up_now = dropping_usable or (min(recovering)[4] if recovering else None)
            # None of its paths to BGP's hub is up by BFD, while BGP still routes through that
            # hub (a BFD session that never came up does not hold BGP down) and a path to
            # another hub is up: the main table follows BGP, the way HQ's answers come back,
            # rather than an unreachable route or the other hub.
            fallback = UNSTEERED if elsewhere else None
            chosen[steered.name] = UNSTEERED if split else (usable or up_now or fallback)
        return chosen

    def _suspect_links(
        self, steered: SteeredClass, states: dict[str, PathState], path_up: dict[str, bool], now: float
    ) -> dict[str, bool]:
        """The WAN links one of the class's paths was left on and is not trusted again yet:
        it is in its recovery, or went down within the class's detection time. Its tunnels to
        the other hubs ride the same link and lose what it loses; under a brownout their own
        drops come at random moments of their own, so until then they look clean, and each
        time the left tunnel drops BGP (and with it the class) moves to the other hub, over the
        same lossy link. A usable path over another link comes first. Not where its hub failed
        on its other links too (`_hub_failing`: a hub's outage is not its links'), unless the
        link keeps dropping on its own: its tunnels dropped twice within the detection time at
        moments no outage of their hubs explains (`_link_drops`). A hub's outage explains the
        drops it shares, never a brownout before it: a loaded appliance whose BFD sessions
        all time out at once, or a hub's LTE tunnel timing out once within seconds of one of a
        browning fibre's drops, does not make the fibre good again. And a tunnel that stays down
        (its own IPsec SA) clears its link after the detection time.

        Per suspect link: whether it keeps dropping (`observe` takes such a link last)."""
        suspect: dict[str, bool] = {}
        for ifname, state in states.items():
            if state.usable or not state.seen_up:
                continue
            recent = state.last_down is not None and now - state.last_down < steered.detection
            if not (path_up.get(ifname, False) or recent):
                continue
            link = self.links[ifname]
            dropping = self._link_drops(ifname, now, steered.detection) > 1
            if dropping or not self._hub_failing(ifname, states, path_up, now, steered):
                suspect[link] = suspect.get(link, False) or dropping
        return suspect

    def _hub_failing(
        self, ifname: str, states: dict[str, PathState], path_up: dict[str, bool], now: float, steered: SteeredClass
    ) -> bool:
        """Whether `ifname`'s hub fails on its other links too: each of its tunnels over another
        link is down, went down with `ifname`'s last drop (`hub_outage_spread`), or went down
        twice within the class's detection time (a hub's brownout). One drop of a tunnel over
        another link at a moment of its own is not the hub failing, even where it left that
        tunnel (a BFD session that timed out once, BGP reconnecting past the hold-down): it
        would release the link `ifname` was left on while `ifname` still flaps. False where the
        hub has no tunnel over another link: nothing tells a hub's outage from the link's there."""
        others = self.elsewhere[ifname]
        last = states[ifname].last_down
        return bool(others) and all(
            not path_up.get(other, False)
            or (last is not None and self._dropped_within(other, last, hub_outage_spread(self.config, ifname, other)))
            or self._drops_of(other, now, steered.detection) > 1
            for other in others
        )

    def _dropped_within(self, ifname: str, at: float, spread: float) -> bool:
        """Whether `ifname` last went down within `spread` of `at`."""
        last = self.last_drop.get(ifname)
        return last is not None and abs(last - at) <= spread

    def _drops_of(self, ifname: str, now: float, window: float) -> int:
        """How often `ifname` went down within `window`."""
        return sum(1 for at, path in self.drops if path == ifname and now - at <= window)

    def _count_drops(self, path_up: dict[str, bool], now: float) -> None:
        """Note each tunnel that went down since the last observation, and forget drops older
        than any class's detection time."""
        longest = max((steered.detection for steered in self.config.classes), default=0.0)
        for ifname in self.config.paths:
            up = path_up.get(ifname, False)
            if self.was_up.get(ifname, False) and not up:
                self.drops.append((now, ifname))
                self.last_drop[ifname] = now
            self.was_up[ifname] = up
        self.drops[:] = [(at, path) for at, path in self.drops if now - at <= longest]

    def _link_drops(self, ifname: str, now: float, window: float) -> int:
        """Drops within `window` of the tunnels over `ifname`'s link, its own included, less
        the hub's: those its hub's tunnel over another link dropped with (`hub_outage_spread`),
        or whose hub's tunnel over another link went down twice within `window` (a brownout of
        the hub, not the link's). One outage takes each tunnel down once: of a tunnel's drops
        around one drop of its hub's other tunnel, only the nearest is that outage's, and one
        the tunnel came back from before (a browning fibre's, seconds earlier) is the link's."""
        link = self.links[ifname]
        count = 0
        for at, path in self.drops:
            if now - at > window or self.links[path] != link:
                continue
            own = [when for when, dropped in self.drops if dropped == path]
            hub = any(
                other in self.elsewhere[path]
                and (
                    (
                        abs(at - then) <= hub_outage_spread(self.config, path, other)
                        and abs(at - then) == min(abs(when - then) for when in own)
                    )
                    or self._drops_of(other, now, window) > 1
                )
                for then, other in self.drops
            )
            if not hub:
                count += 1
        return count

    @staticmethod
    def _step(state: PathState, up: bool, now: float, steered: SteeredClass, link_drops: int = 0) -> None:
        """`link_drops`: drops of the tunnels over this path's link within the detection time,
        its own included: under a brownout the link's tunnels drop at moments of their own, so
        two of them dropping once each is the second drop that leaves a path that dropped."""
        went_down = state.was_up and not up
        state.was_up = up
        if went_down:
            state.last_down = now
        if not state.seen_up:
            # A first start: taken as soon as it is up, no recovery (nothing failed yet).
            state.seen_up = state.usable = up
            return
        if state.usable:
            if went_down:
                state.downs += 1
                if state.breach_since is None:
                    state.breach_since, state.downs = now, 1
            if state.breach_since is None:
                return
            held = now - state.breach_since
            if held >= steered.hold_down and (not up or state.downs > 1 or link_drops > 1):
                state.usable, state.up_since = False, (now if up else None)
                state.breach_since, state.downs = None, 0
            elif held >= max(steered.hold_down, steered.detection):
                state.breach_since, state.downs = None, 0  # one drop, not repeated: forgotten
            return
        if not up:
            state.up_since = None
        elif state.up_since is None:
            state.up_since = now
        if state.up_since is not None and now - state.up_since >= steered.recovery:
            state.usable, state.up_since = True, None


class FrrSource:
    """bfdd's and bgpd's vty sockets, spoken as vtysh speaks them: a command and NUL, then the
    output and three NULs and a status byte. One connection each, reopened after a restart."""

    def __init__(self, pathspace: str | None) -> None:
        self.run_dir = FRR_RUN_DIR / pathspace if pathspace else FRR_RUN_DIR
        self.socks: dict[str, socket.socket] = {}

    def _command(self, daemon: str, command: str) -> str:
        sock = self.socks.get(daemon)
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            sock.connect(str(self.run_dir / f"{daemon}.vty"))
            self.socks[daemon] = sock
            self._command(daemon, "enable")
        sock.sendall(command.encode() + b"\0")
        reply = b""
        while not (len(reply) >= 4 and reply[-4:-1] == b"\0\0\0"):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"{daemon} closed its vty")
            reply += chunk
        return reply[:-4].decode(errors="replace")

    def peers_up(self) -> tuple[dict[str, bool], dict[str, bool]] | None:
        """Per peer address with a single-hop BFD session: whether that session is up and the
        BGP session to the same address established; and per BGP neighbour bgpd knows: whether
        it is established. None when FRR cannot be asked."""
        try:
            bfd = json.loads(self._command("bfdd", "show bfd peers json"))
            bgp = json.loads(self._command("bgpd", "show bgp ipv4 unicast summary json"))
        except (OSError, ValueError) as exc:
            log.warning("cannot read BFD/BGP state in %s: %s", self.run_dir, exc)
            self.close()
            return None
        bgp_up = {address: peer.get("state") == "Established" for address, peer in bgp.get("peers", {}).items()}
        bfd_up = {
            str(peer["peer"]): peer.get("status") == "up" and bgp_up.get(peer["peer"], False)
            for peer in bfd
            if not peer.get("multihop") and peer.get("vrf", "default") == "default" and "peer" in peer
        }
        return bfd_up, bgp_up

    def offering(self, destinations: list[str]) -> dict[str, RouteOffer] | None:
        """Per destination, what bgpd's longest-match route to it offers (`show bgp ipv4 unicast
        A.B.C.D`: the route the kernel would use, the default route included): the neighbours
        with a valid path, and those of them on the best path's hub (the same BGP router ID).
        Nothing where bgpd has no route. None when bgpd cannot be asked."""
        offers: dict[str, RouteOffer] = {}
        try:
            for destination in destinations:
                address = destination.split("/", 1)[0]
                reply = self._command("bgpd", f"show bgp ipv4 unicast {address} json")
                try:
                    route = json.loads(reply)
                except ValueError:
                    route = {}  # "% Network not in table": no route at all
                offers[destination] = RouteOffer.of(route.get("paths", []))
        except (OSError, AttributeError, TypeError) as exc:
            log.warning("cannot read BGP routes in %s: %s", self.run_dir, exc)
            self.close()
            return None
        return offers

    def close(self) -> None:
        for sock in self.socks.values():
            sock.close()
        self.socks.clear()


def route_command(config: SteeringConfig, steered: SteeredClass, ifname: str | None) -> list[str]:
    """The `ip route` that points a class table at a path, at nothing, or (UNSTEERED) empties it."""
    table = ["table", str(steered.table), "proto", "static"]
    if ifname == UNSTEERED:
        return [IP, "route", "flush", "table", str(steered.table)]
    if ifname is None:
        return [IP, "route", "replace", "unreachable", "default", *table]
    path = config.paths[ifname]
    return [IP, "route", "replace", "default", "via", path.peer, "dev", ifname, "onlink", *table]


_WHERE = {UNSTEERED: "the main table's path (FRR knows none of its paths yet)", None: "nothing (no usable path)"}


def paths_up(config: SteeringConfig, bfd_up: dict[str, bool], bgp_up: dict[str, bool]) -> dict[str, bool]:
    """Per path FRR knows: whether it is up. A BFD path is known by its BFD session, a
    `bgp-only` path by its BGP neighbour; a path FRR does not know yet is left out."""
    known: dict[str, bool] = {}
    for ifname, path in config.paths.items():
        by_peer = bgp_up if path.bgp_only else bfd_up
        if path.peer in by_peer:
            known[ifname] = by_peer[path.peer]
    return known


def withheld_paths(config: SteeringConfig, offers: dict[str, RouteOffer]) -> dict[str, frozenset[str]]:
    """Per class, its paths to a hub other than the one BGP routes its destinations through.

    The hubs give a store's routes the preferences the store gives theirs (transport first, then
    primary hub), and pass their best to the DC core, so the DC sends its answers back through
    the hub of the store's best path; the hubs' firewalls are stateful, so a flow the store sent
    through the other hub meets no connection there and its answers are dropped. So for a
    destination whose best path is a path of the class, every path to another hub is withheld.
    That also moves the class off a hub that lost the DC core (it withdraws HQ's summary, while
    its probes still answer). A destination whose best path is another neighbour's withholds
    the paths to hubs without a valid path to it; one nobody routes decides nothing: leaving
    every path would only strand the class. Where every path is withheld (each hub is the way
    to a destination the other is not), `Steering.observe` hands the class to the main table."""
    withheld: dict[str, frozenset[str]] = {}
    for steered in config.classes:
        peers = {ifname: config.paths[ifname].peer for ifname in steered.paths}
        class_peers = set(peers.values())
        left: set[str] = set()
        for destination in steered.destinations:
            offer = offers.get(destination, RouteOffer())
            taken = offer.best_hub if offer.best_hub & class_peers else offer.peers
            if taken & class_peers:
                left.update(ifname for ifname, peer in peers.items() if peer not in taken)
        if left:
            withheld[steered.name] = frozenset(left)
    return withheld


def run(config: SteeringConfig, source: FrrSource) -> None:
    steering = Steering(config)
    destinations = sorted({d for steered in config.classes for d in steered.destinations})
    withheld: dict[str, frozenset[str]] = {}
    decided: dict[str, str | None] = dict.fromkeys((c.name for c in config.classes), UNSTEERED)
    written: dict[str, str | None] = {}  # what each class table holds, as far as we know
    synced = time.monotonic()
    routes_read = -ROUTES_POLL_SECONDS
    while True:
        if time.monotonic() - synced > RESYNC_SECONDS:
            # The kernel drops a route with its device (a tunnel interface re-created): say it again.
            written.clear()
            synced = time.monotonic()
        state = source.peers_up()
        if state is not None and destinations and time.monotonic() - routes_read >= ROUTES_POLL_SECONDS:
            offers = source.offering(destinations)
            if offers is not None:  # else keep the last answer: bgpd was restarting
                routes_read = time.monotonic()
                now_withheld = withheld_paths(config, offers)
                for steered in config.classes:
                    if now_withheld.get(steered.name) != withheld.get(steered.name):
                        unrouted = ", ".join(sorted(now_withheld.get(steered.name, ())))
                        if unrouted:
                            log.warning("class %s: passes over %s: BGP routes its destinations through another hub",
                                        steered.name, unrouted)  # fmt: skip
                        else:
                            log.warning("class %s: no path passed over by routing", steered.name)
                withheld = now_withheld
        if state is not None:
            path_up = paths_up(config, *state)
            chosen = steering.observe(path_up, time.monotonic(), withheld)
            for steered in config.classes:
                choice = chosen[steered.name]
                if decided[steered.name] != choice:
                    log.warning("class %s now leaves on %s", steered.name, _WHERE.get(choice, choice))
                    decided[steered.name] = choice
                if steered.name in written and written[steered.name] == choice:
                    continue
                result = subprocess.run(route_command(config, steered, choice), capture_output=True, text=True)
                # Flushing a table that was never filled fails ("does not exist"): nothing to undo.
                if result.returncode == 0 or choice == UNSTEERED:
                    written[steered.name] = choice
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
    except (OSError, ValueError) as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return 1
    if args.check:
        return 0
    run(config, FrrSource(args.pathspace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
