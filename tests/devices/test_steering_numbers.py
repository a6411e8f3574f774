"""The numbers the vendor steering is spelled with: IOS-XE track numbers stay within the range
IOS-XE takes and never collide, and the return-path community fits a standard community."""

from __future__ import annotations

import pytest

from storestack.devices.steering import (
    IOS_RETURN_NONE_TRACK,
    IOS_STEERING_REACTIONS,
    degraded_local_pref,
    ios_probe_timers,
    ios_tracks,
    return_degraded_community,
)
from storestack.inventory.models import SlaClass, SlaPolicy
from storestack.network.sla import sla_class_policy

_CLASS = sla_class_policy("strict", SlaClass(loss_percent=2, latency_ms=150, jitter_ms=30), "SLA-STRICT")


def test_ios_track_numbers_never_collide_and_stay_in_range() -> None:
    seen: dict[int, str] = {}
    for kind in IOS_STEERING_REACTIONS:
        timers = ios_probe_timers(_CLASS, kind)  # type: ignore[arg-type]
        for number in [10 * tunnel + index for tunnel in range(1, 10) for index in range(1, 10)]:
            tracks = ios_tracks(number, timers)
            for track in (tracks.state, tracks.steer, *(stub.track for stub in tracks.stubs)):
                assert 1 <= track <= 1000 and track != IOS_RETURN_NONE_TRACK
                owner = seen.setdefault(track, f"{kind}/{number}")
                assert owner.split("/")[1] == str(number), f"track {track}: {owner} and {kind}/{number}"
    with pytest.raises(ValueError):
        ios_tracks(100, ios_probe_timers(_CLASS, "udp-jitter"))


def test_jitter_operations_move_on_loss_and_jitter_echo_cannot() -> None:
    udp = ios_tracks(14, ios_probe_timers(_CLASS, "udp-jitter"))
    assert {stub.dimension for stub in udp.stubs} == {"loss", "jitter"} and udp.steer != udp.state
    assert "IP SLAs\\(14\\): Threshold Occurred for packetLossSD" in {
        stub.breach_pattern for stub in udp.stubs
    }
    echo = ios_tracks(14, ios_probe_timers(_CLASS, "icmp-echo"))
    assert echo.stubs == () and echo.steer == echo.state == 14


@pytest.mark.parametrize("kind", ["udp-jitter", "icmp-jitter"])
@pytest.mark.parametrize(
    "spec",
    [*SlaPolicy().classes.values(), SlaClass(loss_percent=0.3, latency_ms=150, jitter_ms=30)],
    ids=[*SlaPolicy().classes, "0.3%"],
)
def test_a_loss_reaction_fires_on_the_first_lost_packet_past_the_sla_and_clears_on_a_clean_train(
    spec: SlaClass, kind: str
) -> None:
    """IP SLA raises a reaction when the lost count exceeds the upper threshold-value and clears
    it when the count drops below the lower one (`ip sla reaction-configuration`, threshold-type
    immediate). The SLA is breached by more loss than loss_percent: with 45 packets and a 2 %
    class one lost packet (2.2 %) is a breach, which a threshold of 1 would let through."""
    timers = ios_probe_timers(sla_class_policy("c", spec, "SLA-C"), kind)  # type: ignore[arg-type]
    upper = lower = timers.loss_packets
    for lost in range(timers.packets + 1):
        breach = lost * 100 > spec.loss_percent * timers.packets
        assert (lost > upper) == breach, f"{lost} of {timers.packets} lost at {spec.loss_percent} %"
    assert lower > 0, "a clean train (no loss) must clear the reaction"
    span = timers.interval_ms * (timers.packets - 1) + timers.timeout_ms
    assert timers.interval_ms >= 4 and span < timers.frequency_s * 1000


def test_return_community_and_degraded_preference() -> None:
    assert return_degraded_community(65000) == "65000:911"
    assert return_degraded_community(4200000001) == "23456:911"  # AS_TRANS for a 4-byte AS
    # Every degraded path ranks below every path in SLA (local preferences 75-200), in order.
    healthy = range(75, 201)
    assert max(degraded_local_pref(pref) for pref in healthy) < min(healthy)
    assert degraded_local_pref(200) > degraded_local_pref(180) > degraded_local_pref(100)
