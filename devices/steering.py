"""SLA steering on the vendor appliances (IOS-XE, VRP, FortiOS): each platform's probe timers,
derived from an SLA class of the network intent (`StoreIntent.sla`).

The intent decides which paths an application may use and in which order, and what its SLA
class demands; `devices/views/` turns that into one probe per (tunnel, SLA class) some
application steers over and, per LAN segment, the applications its policy routing matches.
This module is the one home of the arithmetic from an SLA class to each platform's probe
settings; the lint (`devices/lint/steering.py`) checks rendered configs against the same.

Each platform enforces what its probes can measure, and no more (the README's table):

- IOS-XE: an IP SLA operation per (tunnel, class) with `threshold` = the class's latency and a
  `track ... state` (return code OverThreshold or Timeout: down). udp-jitter (towards an IOS-XE
  hub, which runs `ip sla responder`) and icmp-jitter (towards a Linux hub, which answers ICMP
  timestamp requests) also measure jitter and loss; a track follows only the return code, so
  each loss and jitter reaction drives a stub track object through two EEM applets (the
  reaction's "Threshold Occurred" syslog sets it down, "Threshold Cleared" up), and the steering
  route-map follows a `track list boolean and` of the return-code track and those stubs, whose
  `delay down/up` are the class's hold-down and recovery. icmp-echo (towards any other hub)
  measures round-trip time and reachability only; its `state` track carries the delays.
- VRP: an NQA ICMP test per (tunnel, class). A test fails when its lost probes reach
  `fail-percent` of its `probe-count` (`vrp_lost_probes`): the fewest lost probes that are more
  than the class's loss of them, and never fewer than the class's `consecutive_losses`, the lost
  probes every consecutive-loss platform declares a path bad on (so a single lost probe never
  moves traffic; loss is enforced at a resolution of one probe in `probe-count`, at most 15);
  `threshold rtd` only counts and traps slow probes; ICMP tests measure no jitter. AR policy
  routing has no track delay: hold-down and recovery are one test period.
- FortiOS: a health check per tunnel with one SLA entry per class (latency, jitter and loss);
  SD-WAN rules per application in `sla` mode, `hold-down-time` the class's recovery.

A probe to a hub's tunnel address answers as long as the hub lives, so probes alone keep a class
on a hub that lost the DC core (its BGP sessions to the core down, its DC port up): that hub
withdraws HQ's summary and routing moves to the other hub, but policy routing does not. Each
platform leaves such a hub as far as it documents a way:

- FortiOS: every SD-WAN rule takes only members whose route to the destination is the best one
  (`tie-break fib-best-match`; by default any route through the member counts, and every hub
  gives its tunnels the default route). A hub that withdrew HQ's summary holds no best route to
  HQ, so its members leave the rules (devices/platforms/fortinet.py SDWAN_TIE_BREAK; lint
  `fortios-sdwan-any-route`).
- IOS-XE: each hub announces a beacon (`network.model.HubBeacon`, a host route) only while it
  learns HQ (BGP conditional advertisement on FRR, IOS-XE and FortiOS hubs); the store tracks it
  (`track 6NN ip route <beacon> 255.255.255.255 reachability`, IOS_BEACON_TRACK_BASE) inside the
  boolean list each probe towards that hub steers by, for a class whose applications go inside
  the beacon's summaries (`IosTracks.beacon`; lint `sla-hub-beacon`).
  Leaving waits for the hub's recheck (FRR 10 s, IOS-XE 60 s) and the class's hold-down.
- VRP: not done. An AR traffic behavior's `redirect ip-nexthop ... track-nqa` follows one NQA
  test, and the AR documents no route track for a redirect nor a way to make a test depend on a
  route; a VRP hub documents no conditional advertisement either (common/platforms.py
  HUB_NO_BEACON), so it announces no beacon. A VRP store steers only where its preferred path is
  not BGP's (SLA_STEERING_OFF_ROUTED_PATH_ONLY), and such an application stays on a hub that lost
  the DC core until its NQA test fails. An IOS-XE store behind a VRP hub has no beacon to track
  for it (the intent gives that hub none, so the lint asks for none).
"""

from __future__ import annotations

import functools
import ipaddress
import math
from fractions import Fraction
from typing import Literal

from storestack.common.records import record
from storestack.network.sla import SlaClassPolicy

IosProbeKind = Literal["udp-jitter", "icmp-jitter", "icmp-echo"]

# The ACL (IOS-XE, VRP) an application's policy routing matches: APP-<NAME>.
APPLICATION_ACL_PREFIX = "APP-"

# IOS-XE `track` accepts `delay up|down` of 1-180 s ("Configuring Enhanced Object Tracking");
# a zero delay is left out.
IOS_TRACK_DELAY_MAX = 180
# IOS-XE track numbers: a probe's operation and return-code track are its number (10 x tunnel
# number + class index, at most 99); the stub of its k-th steering reaction is k x 100 + number
# and the boolean list the route-map follows is IOS_LIST_TRACK_BASE + number (tracks 1-1000).
IOS_MAX_PROBE_NUMBER = 99
IOS_STUB_TRACK_STEP = 100
IOS_LIST_TRACK_BASE = 400
# The route track of a hub's beacon (`network.model.HubBeacon`): IOS_BEACON_TRACK_BASE + the hub's
# position among the store's hubs (1-based). It joins the boolean list of every probe towards
# that hub, so a path leaves its classes while its hub does not offer HQ.
IOS_BEACON_TRACK_BASE = 600
IOS_MAX_BEACON_TRACKS = 99
# The reactions that move traffic, per operation kind (CISCO-RTTMON-MIB rttMonReactVariable:
# packetLossSD/DS on UDP jitter, packetLoss on ICMP jitter, jitterAvg on both).
IOS_STEERING_REACTIONS: dict[str, tuple[tuple[str, Literal["loss", "jitter"]], ...]] = {
    "udp-jitter": (("packetLossSD", "loss"), ("packetLossDS", "loss"), ("jitterAvg", "jitter")),
    "icmp-jitter": (("packetLoss", "loss"), ("jitterAvg", "jitter")),
    "icmp-echo": (),
}
# What `ip sla logging traps` logs when a reaction's threshold is crossed and cleared
# (%RTT-3-IPSLATHRESHOLD: "IP SLAs(<n>): Threshold Occurred for <reaction>" / "... Cleared ...").
IOS_THRESHOLD_LOG = "IP SLAs\\({number}\\): Threshold {event} for {reaction}"
# The UDP port the IOS-XE jitter probes send to (the hub's `ip sla responder` answers on any
# port it is told of over its control protocol); one per SLA class, because two operations with
# the same source, destination and port must not run at once (IP SLAs UDP Jitter restrictions).
IOS_UDP_JITTER_PORT_BASE = 50500
# The UDP port an IP SLA responder takes its control messages on (IP SLAs UDP Jitter: the sender
# asks the responder to answer on the probe's test port first).
IOS_SLA_CONTROL_PORT = 1967
# VRP ICMP tests: `timeout` is whole seconds (1-60) and must stay below `interval`; `probe-count`
# is 1-15; `frequency` must exceed interval x probe-count (AR NQA configuration guide,
# "Licensing Requirements and Limitations for NQA").
VRP_TIMEOUT_SECONDS = 1
VRP_MIN_INTERVAL_SECONDS = 2
VRP_MAX_PROBES = 15
# FortiOS health checks judge latency and jitter over the last `probe-count` probes (5-30).
FORTIOS_MAX_PROBES = 30
FORTIOS_MIN_PROBES = 5
FORTIOS_MIN_INTERVAL_MS = 20
FORTIOS_PROBE_TIMEOUT_MS = 1000


# ---------------------------------------------------------------- per-platform probe timers


@record
class IosProbeTimers:
    """One IP SLA operation: what it sends and when its track goes down and up."""

    kind: IosProbeKind
    packets: int  # packets per operation (1 for icmp-echo)
    interval_ms: int  # between the packets of one operation (jitter kinds)
    timeout_ms: int
    frequency_s: int  # one operation this often; longer than the operation itself
    threshold_ms: int  # average round-trip time above this: OverThreshold, the track goes down
    delay_down_s: int  # 0: none
    delay_up_s: int
    loss_packets: int  # packet-loss reaction threshold: more lost packets in one operation breach the SLA
    jitter_ms: int  # average jitter of an operation above this raises the jitter reaction


def ios_loss_threshold(packets: int, loss_percent: float) -> int:
    """The upper (and lower) `threshold-value` of a packet-loss reaction of an operation of
    `packets` packets: the most lost packets that are not more than `loss_percent` of them.

    IP SLA raises a reaction when the value exceeds the upper threshold and clears it when the
    value drops below the lower one (`ip sla reaction-configuration`, threshold-type immediate;
    CISCO-RTTMON-MIB rttMonReactOccurred, rttMonReactThresholdRising/Falling), and the intent's
    SLA is breached by more loss than `loss_percent` (inventory SlaClass): so a count above this
    one is a breach. It is at least 1 for the packet counts `ios_probe_timers` gives: at 0 the
    reaction could never clear (no count drops below 0)."""
    return math.floor(Fraction(packets) * Fraction(str(loss_percent)) / 100)


def ios_loss_packets_needed(loss_percent: float) -> int:
    """The fewest packets in one operation for which one lost packet is not yet more than
    `loss_percent`: with fewer, a single lost packet already breaches the SLA, and a reaction
    can trigger on it only with an upper threshold of 0, which never clears."""
    return math.ceil(Fraction(100) / Fraction(str(loss_percent)))


@functools.lru_cache(maxsize=256)
def ios_probe_timers(sla: SlaClassPolicy, kind: IosProbeKind) -> IosProbeTimers:
    """A jitter operation sends one train of packets spanning the class's detection time, then
    starts again: `frequency` must exceed interval x (packets - 1) + timeout, and `threshold`
    may not exceed `timeout` (IOS-XE IP SLAs configuration guide). The train holds at least
    `ios_loss_packets_needed` packets, so its loss reaction fires on the class's loss and no
    later; where the class's probe interval leaves fewer in the detection time, the packets are
    sent closer together (udp-jitter and icmp-jitter `interval` 4-60000 ms)."""
    thresholds, timers = sla.thresholds, sla.timers
    timeout = max(1000, thresholds.latency_ms)
    if kind == "icmp-echo":
        frequency = max(1, math.ceil(timers.probe_interval_ms / 1000), math.ceil(timeout / 1000))
        packets, interval = 1, 0
    else:
        span = timers.detection_seconds * 1000 - timeout
        interval = max(4, timers.probe_interval_ms)
        packets = max(10, span // interval)
        needed = ios_loss_packets_needed(thresholds.loss_percent)
        if packets < needed:
            packets, interval = needed, max(4, min(interval, span // needed))
        frequency = (interval * (packets - 1) + timeout) // 1000 + 1
    return IosProbeTimers(
        kind=kind,
        packets=packets,
        interval_ms=interval,
        timeout_ms=timeout,
        frequency_s=frequency,
        threshold_ms=thresholds.latency_ms,
        delay_down_s=min(timers.hold_down_seconds, IOS_TRACK_DELAY_MAX),
        delay_up_s=min(timers.recovery_seconds, IOS_TRACK_DELAY_MAX),
        loss_packets=ios_loss_threshold(packets, thresholds.loss_percent),
        jitter_ms=thresholds.jitter_ms,
    )


@record
class IosStub:
    """A stub track object that a loss or jitter reaction of one IP SLA operation sets down
    (threshold occurred) and up (threshold cleared) through two EEM applets."""

    track: int
    reaction: str  # the IP SLA reaction (react ...)
    dimension: Literal["loss", "jitter"]
    threshold: int  # lost packets per operation, or average jitter in ms
    applet: str  # EEM applet name stem: <stem>-BREACH and <stem>-CLEAR
    breach_pattern: str  # syslog pattern of the reaction's "Threshold Occurred"
    clear_pattern: str


@record
class IosTracks:
    """The tracks of one IP SLA operation: its return code, its reaction stubs, the route track
    of its hub's beacon, and the one the steering route-map follows (the boolean list of all of
    them; the return-code track itself when the operation has no steering reaction and its hub
    no beacon)."""

    state: int
    stubs: tuple[IosStub, ...]
    steer: int
    beacon: int | None = None


def ios_beacon_track(position: int) -> int:
    """The route track of the beacon of the store's `position`-th hub (1-based)."""
    if not 1 <= position <= IOS_MAX_BEACON_TRACKS:
        raise ValueError(f"hub {position}: no beacon track for it (1-{IOS_MAX_BEACON_TRACKS})")
    return IOS_BEACON_TRACK_BASE + position


@functools.lru_cache(maxsize=256)
def ios_tracks(number: int, timers: IosProbeTimers, beacon: int | None = None) -> IosTracks:
    """One object per (number, timers, beacon track), as `ios_probe_timers` gives: the IOS-XE
    store template renders a probe's tracks once for every store with that probe
    (`Renderer.shared_block`)."""
    if not 1 <= number <= IOS_MAX_PROBE_NUMBER:
        raise ValueError(f"IP SLA operation {number}: outside 1-{IOS_MAX_PROBE_NUMBER}")
    stubs = tuple(
        IosStub(
            track=IOS_STUB_TRACK_STEP * position + number,
            reaction=reaction,
            dimension=dimension,
            threshold=timers.loss_packets if dimension == "loss" else timers.jitter_ms,
            applet=f"SLA{number}-{reaction.upper()}",
            breach_pattern=IOS_THRESHOLD_LOG.format(number=number, event="Occurred", reaction=reaction),
            clear_pattern=IOS_THRESHOLD_LOG.format(number=number, event="Cleared", reaction=reaction),
        )
        for position, (reaction, dimension) in enumerate(IOS_STEERING_REACTIONS[timers.kind], start=1)
    )
    listed = bool(stubs) or beacon is not None
    return IosTracks(
        state=number, stubs=stubs, steer=IOS_LIST_TRACK_BASE + number if listed else number, beacon=beacon
    )


@record
class VrpProbeTimers:
    interval_s: int
    probe_count: int
    timeout_s: int
    frequency_s: int
    lost_probes: int  # lost probes of one test that fail it (`vrp_lost_probes`)
    fail_percent: int  # `fail-percent`: the share of its probes whose loss fails the test
    rtd_ms: int  # round-trip threshold: counted and trapped, not a failure

    @property
    def loss_resolution_percent(self) -> float:
        """One lost probe in a test is this much loss: the finest loss VRP can tell apart."""
        return 100 / self.probe_count


def vrp_lost_probes(probes: int, loss_percent: float, consecutive: int) -> int:
    """The lost probes of one NQA test of `probes` probes that fail it: the fewest that are more
    than `loss_percent` of them (the intent's SLA is breached by more loss than that, inventory
    `SlaClass`), and never fewer than `consecutive`, the class's `consecutive_losses`: the lost
    probes on which BFD (FRR) and FortiOS's `failtime` declare a path bad, at least
    MIN_CONSECUTIVE_LOSSES, so one lost probe never moves traffic off a path (the IOS-XE jitter
    operation is sized so one lost packet breaches nothing either: `ios_loss_packets_needed`).
    At most all of them."""
    more_than_loss = math.floor(Fraction(probes) * Fraction(str(loss_percent)) / 100) + 1
    return min(probes, max(more_than_loss, consecutive))


def vrp_fail_percent(probes: int, lost: int) -> int:
    """The `fail-percent` that fails a test of `probes` probes on `lost` lost ones and no fewer:
    a test fails when "the number of failure probe packets to the total number of probe packets
    reaches a specified percentage" (Huawei NQA command reference, "fail-percent"), so the
    percentage is `lost` of `probes` rounded down to a whole one (1-100): `lost` probes reach it,
    and one fewer stays below it, a probe being more than a whole percent of at most 15 (rounded
    up, 3 of 7 would be 43 %, which 3 lost probes do not reach)."""
    return max(1, math.floor(Fraction(100 * lost, probes)))


@functools.lru_cache(maxsize=256)
def vrp_probe_timers(sla: SlaClassPolicy) -> VrpProbeTimers:
    thresholds, timers = sla.thresholds, sla.timers
    interval = max(VRP_MIN_INTERVAL_SECONDS, math.ceil(timers.probe_interval_ms / 1000))
    probes = min(VRP_MAX_PROBES, max(3, timers.detection_seconds // interval))
    lost = vrp_lost_probes(probes, thresholds.loss_percent, timers.consecutive_losses)
    return VrpProbeTimers(
        interval_s=interval,
        probe_count=probes,
        timeout_s=VRP_TIMEOUT_SECONDS,
        frequency_s=interval * probes + 1,
        lost_probes=lost,
        fail_percent=vrp_fail_percent(probes, lost),
        rtd_ms=thresholds.latency_ms,
    )


@record
class FortiHealthTimers:
    interval_ms: int
    probe_count: int
    probe_timeout_ms: int
    failtime: int  # lost probes in a row before the member is dead (routes withdrawn)
    recoverytime: int  # answered probes in a row before it is alive again
    fail_log_s: int  # an SLA breach is logged this often while it lasts


@functools.lru_cache(maxsize=256)
def fortios_health_timers(classes: tuple[SlaClassPolicy, ...]) -> FortiHealthTimers:
    """One health check serves every class steered over its tunnel: probes are frequent enough
    that 30 of them (the most FortiOS averages over) span the shortest detection time, and the
    member is declared dead after the shortest hold-down."""
    detection_ms = min(sla.timers.detection_seconds for sla in classes) * 1000
    interval = max(
        FORTIOS_MIN_INTERVAL_MS,
        min(
            max(
                sla.timers.probe_interval_ms,
                math.ceil(sla.timers.detection_seconds * 1000 / FORTIOS_MAX_PROBES),
            )
            for sla in classes
        ),
    )
    hold_down_ms = min(sla.timers.hold_down_seconds for sla in classes) * 1000
    recovery_ms = min(sla.timers.recovery_seconds for sla in classes) * 1000
    return FortiHealthTimers(
        interval_ms=interval,
        probe_count=min(FORTIOS_MAX_PROBES, max(FORTIOS_MIN_PROBES, detection_ms // interval)),
        probe_timeout_ms=FORTIOS_PROBE_TIMEOUT_MS,
        failtime=min(3600, max(1, math.ceil(hold_down_ms / interval))),
        recoverytime=min(3600, max(1, math.ceil(recovery_ms / interval))),
        fail_log_s=min(3600, max(1, detection_ms // 1000)),
    )


# ---------------------------------------------------------------- return path


# A store tags its prefixes with <hub ASN>:RETURN_DEGRADED_TAG towards a hub over a path that is
# out of the SLA of the strictest class steered over it (FortiOS: the BGP neighbour's
# `route-map-out` applies while its SD-WAN neighbour's member is out of SLA, the preferable one
# while in). Every hub lowers the local preference of such routes to a quarter: below any path in
# SLA (local preferences start at 200 and stay above 60), in the same order among themselves, so
# with every path out of SLA the hub still returns over the store's preferred one.
RETURN_DEGRADED_TAG = 911
RETURN_DEGRADED_LIST = "RETURN-DEGRADED"


# A standard community holds a 2-byte AS: a 4-byte hub AS is spelled AS_TRANS (RFC 6793) there.
AS_TRANS = 23456


def return_degraded_community(hub_asn: int) -> str:
    """The standard community (AS:tag, 16 bits each) a store's degraded paths carry."""
    return f"{hub_asn if hub_asn <= 0xFFFF else AS_TRANS}:{RETURN_DEGRADED_TAG}"


def degraded_local_pref(local_pref: int) -> int:
    """The local preference a hub gives a store route that arrives tagged degraded."""
    return local_pref // 4


# IOS-XE stores cannot tag a BGP announcement by a track's state, so they withdraw it instead
# (BGP conditional advertisement): towards the hub of each steered tunnel, the store's prefixes
# are announced only while a signal route exists in the BGP table: the tunnel's own (a Null0
# host route that follows the tunnel's return-class steering track) or the store's "no path in
# SLA" one (so a store with every path degraded stays announced everywhere). The signals are
# host routes of the RFC 2544 benchmarking range, which no network routes, and never leave the
# store (STORE-PREFIXES filters every announcement).
IOS_RETURN_SIGNAL_NET = ipaddress.IPv4Network("198.18.255.0/24")
IOS_RETURN_NONE_TRACK = 500  # up while every tunnel's return-class track is down


def ios_return_signal(tunnel_number: int) -> ipaddress.IPv4Address:
    """The signal host route of one hub tunnel (its number, 1-based)."""
    if not 1 <= tunnel_number < 254:
        raise ValueError(f"hub tunnel {tunnel_number}: no return signal for it (1-253)")
    return IOS_RETURN_SIGNAL_NET[tunnel_number]


IOS_RETURN_NONE_SIGNAL = IOS_RETURN_SIGNAL_NET[254]
