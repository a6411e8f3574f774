"""VRP: an interface's `traffic-policy P outbound` applies traffic policy P, whose name "must be
the name of an existing traffic policy", and "After a traffic policy is applied, you cannot
directly delete the traffic policy" (Huawei S-series command reference, "traffic-policy global";
"traffic-policy (VLAN view)" alike). A WAN link's queueing policy dropped from a store was
deleted (`undo traffic policy QUEUE-<link>`) before its port unbound it, which the AR refuses.
The port now unbinds it first, and the rollback defines it again before binding it; the
emulated AR refuses deleting an applied policy and takes the push and its rollback."""

from __future__ import annotations

import re
from pathlib import Path

from testsupport.emulator_push import vrp_immediate_with, vrp_push_and_rollback

from storestack.devices.configdiff import compute_diff

GOLDEN = Path(__file__).parent / "golden" / "huawei_vrp"
BOUND = " traffic-policy QUEUE-lte1 outbound\n"


def _configs() -> tuple[str, str]:
    """mall-guest as rendered, and without the lte1 port's queueing policy."""
    before = (GOLDEN / "mall-guest.cfg").read_text()
    assert BOUND in before
    after = before.replace(BOUND, "", 1)
    after, count = re.subn(r"^traffic policy QUEUE-lte1\n(?: .*\n)*", "", after, count=1, flags=re.M)
    assert count == 1
    return before, after


def test_a_dropped_queueing_policy_is_unbound_before_it_is_deleted() -> None:
    before, after = _configs()
    diff = compute_diff(before, after, "huawei_vrp")
    sent = [line.strip() for line in diff.remediation]
    assert sent.index("undo traffic-policy QUEUE-lte1 outbound") < sent.index("undo traffic policy QUEUE-lte1")
    back = [line.strip() for line in diff.rollback]
    assert back.index("traffic policy QUEUE-lte1") < back.index("traffic-policy QUEUE-lte1 outbound")


def test_the_emulated_ar_refuses_deleting_an_applied_traffic_policy() -> None:
    before, _ = _configs()
    device, session = vrp_immediate_with(before)
    held = device.running_text()
    session.handle("system-view")
    output = session.handle("undo traffic policy QUEUE-lte1").output
    assert "Error:" in output
    assert device.running_text() == held


def test_the_push_and_its_rollback_take_every_line_on_the_emulator() -> None:
    before, after = _configs()
    vrp_push_and_rollback(before, after)
