"""A VRP store's SLA test fails on the lost probes the SLA class says breach it, never on one.

An NQA test fails when "the number of failure probe packets to the total number of probe packets
reaches a specified percentage" (Huawei NQA command reference, "fail-percent"), and a failed test
withdraws the redirect its `track-nqa` guards: the class's traffic leaves the path for a test
period. The test's `fail-percent` was the class's loss rounded up: the strict class's 2 % of 5
probes failed the test, and moved POS off its path, on a single lost echo request, which the
intent's other platforms never do (BFD and FortiOS declare a path bad on the class's consecutive
losses, at least 3; an IOS-XE jitter operation breaches nothing on one lost packet). A test now
fails on the fewest lost probes that are more than the class's loss of them and no fewer than
the class's consecutive losses (`vrp_lost_probes`).

The config is the rendered VRP store that steers (the lte-only store of `steered_off_bgp`)."""

from __future__ import annotations

import functools
import math
import re

from testsupport.rendering import SHAPES, on_platform, steered_off_bgp

from storestack.devices.render import render_store
from storestack.inventory import load_fleet, sample_chain_path
from storestack.network.build import NetworkIntent

_TEST = re.compile(r"^nqa test-instance (SLA_\S+) (\S+)\n((?: .*\n)*)", re.M)


@functools.cache
def _tests() -> list[tuple[str, int, int]]:
    """Each SLA test of the rendered store: its class's probe name, probe-count, fail-percent."""
    fleet = on_platform(steered_off_bgp(load_fleet(sample_chain_path())), "huawei_vrp", hubs="frr")
    (config,) = render_store(fleet, SHAPES["lte-only"])
    tests = []
    for admin, _, body in _TEST.findall(config.text):
        values = dict(line.split(maxsplit=1) for line in body.strip().splitlines())
        tests.append((admin.replace("_", "-"), int(values["probe-count"]), int(values["fail-percent"])))
    return tests


def _fails(lost: int, probes: int, fail_percent: int) -> bool:
    """Whether the AR fails a test of `probes` probes of which `lost` went unanswered."""
    return lost * 100 >= fail_percent * probes


def test_one_lost_probe_never_fails_a_steering_test() -> None:
    assert _tests(), "the store steers, so it runs SLA tests"
    for probe, probes, fail_percent in _tests():
        assert not _fails(1, probes, fail_percent), (probe, probes, fail_percent)


def test_a_test_fails_on_the_lost_probes_its_class_declares_a_path_bad_on() -> None:
    fleet = on_platform(steered_off_bgp(load_fleet(sample_chain_path())), "huawei_vrp", hubs="frr")
    store = NetworkIntent(fleet).store(SHAPES["lte-only"])
    classes = {cls.probe: cls for cls in store.sla.classes}
    for probe, probes, fail_percent in _tests():
        cls = classes[probe]
        more_than_loss = math.floor(probes * cls.thresholds.loss_percent / 100) + 1
        breach = min(probes, max(more_than_loss, cls.timers.consecutive_losses))
        failing = [lost for lost in range(probes + 1) if _fails(lost, probes, fail_percent)]
        assert failing and failing[0] == breach, (probe, probes, fail_percent, failing)
        # every loss past it fails the test too, and none short of it
        assert failing == list(range(breach, probes + 1))
