"""SD-WAN path quality: a store's SLA classes and application classes, resolved to paths.

The inventory says what each class of traffic needs (`sla.classes`: loss, latency and jitter
thresholds, how fast a breach must be noticed, hold-down and recovery) and where it may go
(`sla.applications`: LAN segments and ports, preferred transport kinds, LTE/5G or not, DSCP).
Here that becomes, per store, the ordered list of paths (transport x hub) each application may
leave on, and the probe timers each SLA class runs. Templates of every platform read these
objects; none of them re-derives an order or a timer.

Probe arithmetic is shared: BFD (FRR), FortiOS health-check `failtime` and a track's consecutive
down count all declare a path bad after `n` probes in a row are lost. `consecutive_losses` picks
`n` from the SLA, and `expected_detection_seconds` says what that `n` means at a given loss rate,
so a platform that can only count consecutive losses states honestly what it enforces.
"""

from __future__ import annotations

import functools
import ipaddress
import math
from collections.abc import Callable, Mapping
from typing import Literal

from storestack.common.records import record
from storestack.inventory.fleet import ResolvedStore, ResolvedWanLink
from storestack.inventory.models import DSCP_VALUES, ApplicationClass, SlaClass, guest_breakout_index

IPv4Address = ipaddress.IPv4Address
IPv4Network = ipaddress.IPv4Network

# Firewall marks of application classes (Linux: nftables `meta mark`, `ip rule fwmark`): the
# low byte is the application's position in the store's policy, in this fixed high byte so
# the marks never meet another use of the mark field.
APPLICATION_MARK_BASE = 0x5100
APPLICATION_MARK_MASK = 0xFF00
# Routing tables of SLA steering on Linux: one per application class (`ip rule fwmark <mark>
# lookup <table>`), numbered like its mark: 5100 + the class's position.
STEERING_TABLE_BASE = 5100
# Return-path steering on a Linux hub: a flow's connection mark names the store link (its
# position in the store's WAN list) it last came in on, and its replies look up that link's
# table, which routes every store's prefixes back into its tunnel over that link.
RETURN_MARK_BASE = 0x5200
RETURN_TABLE_BASE = 5200
# The partner hub on a Linux hub (`ReturnPartner`): the DC's packets towards a store of a flow
# this hub did not see carry this mark (pinned in their connection's mark where conntrack made
# an entry), and look up this table, which routes the stores both hubs serve to the partner.
PARTNER_MARK = 0x5300
PARTNER_TABLE = 5300
# The management port of a Linux hub (`HubIntent.management_port`): the management LAN, on that
# port, in a table of its own that only the packets from the hub's management address look up
# (`ip rule from <address>`), so the hub answers the management LAN by that port alone while
# the main table keeps no route into it. No mark: the rule selects by source.
MANAGEMENT_TABLE = 5400
# Segments whose traffic never enters the overlay: it breaks out locally (NATed).
LOCAL_BREAKOUT_SEGMENTS = frozenset({"guest-wifi"})
# BFD and FRR accept 2-255 consecutive losses; fewer than 3 flaps on a single lost probe.
MIN_CONSECUTIVE_LOSSES = 3
MAX_CONSECUTIVE_LOSSES = 255


@record
class SlaThresholds:
    """A path breaches the SLA when any of these is exceeded."""

    loss_percent: float
    latency_ms: int
    jitter_ms: int


@record
class SlaTimers:
    """How a class probes its paths and how eagerly its traffic moves."""

    probe_interval_ms: int
    detection_seconds: int  # a breach at the loss threshold is noticed within this, on average
    consecutive_losses: int  # lost probes in a row that declare the path bad (see module doc)
    hold_down_seconds: int  # a breach must last this long before traffic leaves the path
    recovery_seconds: int  # a path must be clean this long before traffic returns to it


@record
class SlaClassPolicy:
    name: str
    probe: str  # name of the class's probe / BFD profile / health check on every platform
    thresholds: SlaThresholds
    timers: SlaTimers
    # Its number pinned in the lock, the same on every store (`Fleet.sla_class_number`): FortiOS's
    # SLA id of its entry in each health check.
    number: int = 0

    def expected_detection_seconds(self, loss_percent: float) -> float:
        """Mean time until `consecutive_losses` probes in a row are lost at this loss rate."""
        return expected_detection_seconds(
            self.timers.probe_interval_ms, self.timers.consecutive_losses, loss_percent
        )

    def detection_seconds_within(self, loss_percent: float, share: float = 0.95) -> float:
        """The time within which `consecutive_losses` probes in a row are lost at this loss
        rate in `share` of runs."""
        return detection_seconds_within(
            self.timers.probe_interval_ms, self.timers.consecutive_losses, loss_percent, share
        )

    @property
    def noticed_loss_percent(self) -> float:
        """The loss rate a consecutive-loss detector with these timers notices within
        `detection_seconds` on average: the loss threshold such a detector really enforces
        (at or below `thresholds.loss_percent` when the probe count could honour it)."""
        low, high = 0.0, 100.0
        for _ in range(40):
            middle = (low + high) / 2
            if self.expected_detection_seconds(middle) > self.timers.detection_seconds:
                low = middle
            else:
                high = middle
        return round(high, 1)


@record
class PathChoice:
    """One way out of the store: a transport, and the hub its tunnel reaches (None: the
    transport itself, for traffic that breaks out locally, e.g. guest Wi-Fi)."""

    transport: str  # WAN link name
    kind: str  # fiber, broadband, lte, 5g
    cellular: bool
    hub: str | None
    tunnel: str | None  # tunnel id (same at both ends)
    next_hop: IPv4Address | None  # the hub's overlay address on that tunnel
    cost_per_gb: float


@record
class ApplicationPolicy:
    name: str
    sla: SlaClassPolicy
    segments: tuple[str, ...]  # LAN segments (zones) its traffic comes from
    sources: tuple[IPv4Network, ...]  # those segments' subnets at this store
    protocol: Literal["any", "tcp", "udp"]
    ports: tuple[tuple[int, int], ...]  # destination port ranges (low, high); empty: any port
    dscp: int
    dscp_name: str
    cellular: bool  # may leave over LTE/5G
    overlay: bool  # rides the tunnels to the hubs; False: breaks out locally
    mark: int  # firewall mark (see APPLICATION_MARK_BASE)
    paths: tuple[PathChoice, ...]  # eligible paths, preferred first; nothing else is ever used

    @property
    def table(self) -> int:
        """The Linux routing table its marked packets look up (see STEERING_TABLE_BASE)."""
        return STEERING_TABLE_BASE + (self.mark & ~APPLICATION_MARK_MASK)

    @property
    def transports(self) -> tuple[str, ...]:
        """Eligible transports, preferred first."""
        return tuple(dict.fromkeys(path.transport for path in self.paths))


@record
class TransportBudget:
    transport: str
    kind: str
    cellular: bool
    cost_per_gb: float
    data_cap_gb: int | None


@record
class StoreSlaPolicy:
    """A store's resolved SLA policy (`StoreIntent.sla`)."""

    classes: tuple[SlaClassPolicy, ...]  # only the classes the store's applications use
    applications: tuple[ApplicationPolicy, ...]  # catch-alls after the port-specific ones
    transports: tuple[TransportBudget, ...]

    def application(self, name: str) -> ApplicationPolicy:
        for application in self.applications:
            if application.name == name:
                return application
        raise KeyError(
            f"no application class {name!r} at this store (known: {[a.name for a in self.applications]})"
        )

    def sla_class(self, name: str) -> SlaClassPolicy:
        return next(cls for cls in self.classes if cls.name == name)

    def probe_dscp(self, name: str) -> int:
        """The DSCP the probes of class `name` carry, so they are queued (and measured) as its
        traffic is: the lowest DSCP of the store's overlay applications in the class (no class is
        measured in a better queue than one of its applications gets); 0 when none rides the
        overlay."""
        return min((a.dscp for a in self.applications if a.overlay and a.sla.name == name), default=0)

    def strictest_on(self, transport: str) -> SlaClassPolicy | None:
        """The class with the lowest loss threshold among the applications eligible on a
        transport: what a single per-path detector (one BFD session per tunnel) must enforce."""
        eligible = [a.sla for a in self.applications if a.overlay and transport in a.transports]
        if not eligible:
            return None
        return min(
            eligible, key=lambda cls: (cls.thresholds.loss_percent, cls.timers.detection_seconds, cls.name)
        )


def expected_detection_seconds(probe_interval_ms: int, consecutive: int, loss_percent: float) -> float:
    """Mean time until `consecutive` probes in a row are lost, probes lost independently at
    `loss_percent`: the classic run-length result E = (1 - p^n) / ((1 - p) p^n) probes."""
    p = loss_percent / 100
    if p <= 0:
        return math.inf
    if p >= 1:
        return consecutive * probe_interval_ms / 1000
    probes = (1 - p**consecutive) / ((1 - p) * p**consecutive)
    return probes * probe_interval_ms / 1000


# Walking the run-length chain probe by probe stops here: a detector this slow never notices.
_MAX_WALKED_PROBES = 1_000_000


def detection_seconds_within(
    probe_interval_ms: int, consecutive: int, loss_percent: float, share: float = 0.95
) -> float:
    """The time within which `consecutive` probes in a row are lost in `share` of runs, probes
    lost independently at `loss_percent`. The mean (`expected_detection_seconds`) is what a
    detector does on average; one brownout is a single draw, and the run-length distribution's
    tail is long (at 30 % loss and 3 in a row, its 95th percentile is about three times its mean).
    Found by walking the chain of the current run of lost probes, one probe at a time."""
    p = loss_percent / 100
    if p <= 0:
        return math.inf
    if p >= 1:
        return consecutive * probe_interval_ms / 1000
    run = [1.0] + [0.0] * (consecutive - 1)  # P(current run of losses is i, not yet noticed)
    noticed = 0.0
    for probes in range(1, _MAX_WALKED_PROBES + 1):
        noticed += run[-1] * p
        run = [sum(run) * (1 - p), *(share_of_run * p for share_of_run in run[:-1])]
        if noticed >= share:
            return probes * probe_interval_ms / 1000
    return math.inf


def consecutive_losses(cls: SlaClass) -> int:
    """The most lost probes in a row (at least 3) that, at the class's loss threshold, are still
    expected within `detection_seconds`: a higher loss is noticed sooner, and the larger the
    count, the more rarely a loss below the threshold trips it.

    Counting consecutive losses is what BFD-style detectors can do: at a low threshold (say 2 %)
    no count both notices the breach in seconds and ignores single lost probes, and the result
    is the floor of 3; `expected_detection_seconds` then says what is really enforced."""
    for count in range(MIN_CONSECUTIVE_LOSSES, MAX_CONSECUTIVE_LOSSES + 1):
        if (
            expected_detection_seconds(cls.probe_interval_ms, count + 1, cls.loss_percent)
            > cls.detection_seconds
        ):
            return count
    return MAX_CONSECUTIVE_LOSSES


def probe_name(class_name: str) -> str:
    """`strict` → `SLA-STRICT`: a name every platform takes for a profile, probe or track."""
    return "SLA-" + class_name.upper()


@functools.lru_cache(maxsize=1024)
def _port_ranges(ports: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    ranges = []
    for text in ports:
        low, _, high = text.partition("-")
        ranges.append((int(low), int(high or low)))
    return tuple(ranges)


@functools.lru_cache(maxsize=1024)
def sla_class_policy(name: str, spec: SlaClass, probe: str, number: int = 0) -> SlaClassPolicy:
    """One SLA class as the intent carries it (cached: a fleet has a handful of classes)."""
    return SlaClassPolicy(
        name=name,
        probe=probe,
        thresholds=SlaThresholds(spec.loss_percent, spec.latency_ms, spec.jitter_ms),
        timers=SlaTimers(
            probe_interval_ms=spec.probe_interval_ms,
            detection_seconds=spec.detection_seconds,
            consecutive_losses=consecutive_losses(spec),
            hold_down_seconds=spec.hold_down_seconds,
            recovery_seconds=spec.recovery_seconds,
        ),
        number=number,
    )


class FleetClassPolicies:
    """The fleet's SLA classes (`sla.classes`) and their policies, made once per fleet: a store
    whose policy holds the fleet's class object itself (most do) takes the fleet's policy without
    comparing or hashing the class."""

    def __init__(self, classes: Mapping[str, SlaClass], number: Callable[[str], int] = lambda _: 0) -> None:
        self.classes = classes
        self.number = number  # each class's pinned number (`Fleet.sla_class_number`)
        self._policies = {name: sla_class_policy(name, spec, probe_name(name), number(name)) for name, spec in classes.items()}

    def policy(self, store: ResolvedStore, name: str) -> SlaClassPolicy:
        """A class of the store's policy; a class the store redefines gets a probe name of its
        own, so a hub serving many stores never meets two different timers under one name."""
        spec = store.sla.classes[name]
        fleet_spec = self.classes.get(name)
        if fleet_spec is spec:
            return self._policies[name]
        own = fleet_spec != spec
        return sla_class_policy(name, spec, probe_name(f"{name}-{store.id}" if own else name), self.number(name))


def _overlay_applications(store: ResolvedStore) -> list[ApplicationClass]:
    """The store's applications of which some segment the store has enters the overlay."""
    return [
        spec
        for spec in store.sla.applications.values()
        if any(kind in store.segments and kind not in LOCAL_BREAKOUT_SEGMENTS for kind in spec.segments)
    ]


def transport_classes(store: ResolvedStore, fleet_classes: FleetClassPolicies) -> dict[str, SlaClassPolicy]:
    """Per transport, the strictest SLA class among the overlay applications eligible on it:
    what a single detector per tunnel (one BFD session per peer) must enforce. A transport no
    overlay application may use has none."""
    strictest: dict[str, SlaClassPolicy] = {}
    for spec in _overlay_applications(store):
        cls = fleet_classes.policy(store, spec.sla)
        for link in store.wan:
            if link.kind in spec.transports and (spec.cellular or not link.cellular):
                current = strictest.get(link.name)
                if current is None or _strictness(cls) < _strictness(current):
                    strictest[link.name] = cls
    return strictest


def link_preference(store: ResolvedStore, fleet_classes: FleetClassPolicies) -> list[ResolvedWanLink]:
    """The store's links in the order it prefers them for the overlay: wired before cellular
    (cellular data costs by the gigabyte), each group in the order the store's strictest overlay
    application takes their kinds (its `transports`; the paths `build_store_sla` gives it), then
    the store's own order. Links that application cannot use follow those it can, in the store's
    order; with no overlay application, the store's order within each group. The hubs rank a
    store's tunnels by it (`NetworkIntent.transport_ranks`), so while every path is in SLA they
    send the strictest class's answers back over the transport the store sends it on."""
    strictest: tuple[tuple[float, int, str], list[str], bool] | None = None
    for spec in _overlay_applications(store):
        strictness = _strictness(fleet_classes.policy(store, spec.sla))
        if strictest is None or strictness < strictest[0]:
            strictest = (strictness, list(spec.transports), spec.cellular)
    kinds, cellular_allowed = (strictest[1], strictest[2]) if strictest is not None else ([], True)

    def preference(item: tuple[int, ResolvedWanLink]) -> tuple[bool, int, int]:
        position, link = item
        usable = link.kind in kinds and (cellular_allowed or not link.cellular)
        return (link.cellular, kinds.index(link.kind) if usable else len(kinds), position)

    return [link for _, link in sorted(enumerate(store.wan), key=preference)]


def _strictness(cls: SlaClassPolicy) -> tuple[float, int, str]:
    return (cls.thresholds.loss_percent, cls.timers.detection_seconds, cls.name)


def build_store_sla(
    store: ResolvedStore,
    fleet_classes: FleetClassPolicies,
    hubs: list[str],
    overlay_segments: frozenset[str],
    tunnels: dict[tuple[str, str], tuple[str, IPv4Address | None]],
) -> StoreSlaPolicy:
    """The store's SLA policy. `fleet_classes`: the fleet's own classes and their policies; `hubs`: primary first; `overlay_segments`: the zones whose traffic
    enters the overlay; `tunnels`: (transport, hub) → (tunnel id, hub's overlay address)."""
    policy = store.sla
    classes: dict[str, SlaClassPolicy] = {}

    def class_policy(name: str) -> SlaClassPolicy:
        found = classes.get(name)
        if found is None:
            found = classes[name] = fleet_classes.policy(store, name)
        return found

    # Each (link, hub) path once: the store's applications share them (they are immutable).
    choices: dict[tuple[str, str | None], PathChoice] = {}

    def path(link: ResolvedWanLink, hub: str | None) -> PathChoice:
        found = choices.get((link.name, hub))
        if found is None:
            tunnel, next_hop = tunnels[(link.name, hub)] if hub is not None else (None, None)
            found = choices[(link.name, hub)] = PathChoice(
                link.name, link.kind, link.cellular, hub, tunnel, next_hop, link.cost_per_gb
            )
        return found

    # Port-specific applications first: a segment's catch-all must not shadow them.
    ordered = sorted(policy.applications.items(), key=lambda item: not item[1].ports)
    applications = []
    for position, (name, spec) in enumerate(ordered):
        segments = tuple(kind for kind in spec.segments if kind in store.segments)
        if not segments:
            continue
        overlay = any(kind in overlay_segments for kind in segments)
        # Preferred transport first, then the store's own order of its links. What breaks out
        # locally leaves through the store's one breakout link (its first wired link, which every
        # platform NATs guest Wi-Fi out of), whatever else the application would accept: the
        # inventory refuses an application that does not list that link's kind (`sla_checks`).
        breakout = guest_breakout_index(store.wan)
        links = sorted(
            (spec.transports.index(link.kind), position, link)
            for position, link in enumerate(store.wan)
            if link.kind in spec.transports
            and (spec.cellular or not link.cellular)
            and (overlay or position == breakout)
        )
        paths = [path(link, hub) for _, _, link in links for hub in (hubs if overlay else [None])]
        applications.append(
            ApplicationPolicy(
                name=name,
                sla=class_policy(spec.sla),
                segments=segments,
                sources=tuple(store.segments[kind].subnet for kind in segments),
                protocol=spec.protocol,
                ports=_port_ranges(tuple(spec.ports)),
                dscp=DSCP_VALUES[spec.dscp],
                dscp_name=spec.dscp,
                cellular=spec.cellular,
                overlay=overlay,
                mark=APPLICATION_MARK_BASE + position + 1,
                paths=tuple(paths),
            )
        )
    return StoreSlaPolicy(
        classes=tuple(classes[name] for name in sorted(classes)),
        applications=tuple(applications),
        transports=tuple(
            TransportBudget(link.name, link.kind, link.cellular, link.cost_per_gb, link.data_cap_gb)
            for link in store.wan
        ),
    )
