"""The VRP emulator refuses an interface's `traffic-policy P inbound|outbound` while traffic
policy P does not exist: its name "must be the name of an existing traffic policy", and the
command's prerequisite is "A traffic policy has been created using the traffic policy command"
(Huawei S-series command reference, "traffic-policy (VLANIF interface view)", "traffic-policy
(VLAN view)", "traffic-policy global"). A push that binds a policy before defining it is refused
where the AR refuses it; one that defines it first is taken.

A BGP peer's `peer X route-policy P import|export` naming a route-policy not created yet is
taken: no Huawei document seen says the AR refuses it (AR command reference EDOC1100064351,
"peer route-policy", only describes applying one created), so the emulator keeps taking it and
the push's order (`VRP_NAMED_OBJECTS`) is held by `tests/devices/test_vrp_peer_route_policy_order.py`."""

from __future__ import annotations

import re
from pathlib import Path

from testsupport.emulator_push import vrp_immediate_with

from storestack.devices.configdiff import compute_diff
from storestack.lab.emulator.profiles.huawei_vrp import VrpSession

GOLDEN = Path(__file__).parents[1] / "devices" / "golden" / "huawei_vrp"
BOUND = " traffic-policy QUEUE-lte1 outbound"


def _typed(session: VrpSession, lines: list[str]) -> list[str]:
    """Each line typed in the system view in turn; the ones refused, stripped."""
    refused = []
    session.handle("system-view")
    for line in lines:
        if "Error:" in session.handle(line).output:
            refused.append(line.strip())
    session.handle("return")
    return refused


def _without_lte1_queue() -> tuple[str, str]:
    """mall-guest without its lte1 port's queueing policy (defined nor bound), and as rendered."""
    full = (GOLDEN / "mall-guest.cfg").read_text()
    assert BOUND + "\n" in full
    without = full.replace(BOUND + "\n", "", 1)
    without, count = re.subn(r"^traffic policy QUEUE-lte1\n(?: .*\n)*", "", without, count=1, flags=re.M)
    assert count == 1
    return without, full


def test_binding_a_traffic_policy_not_created_yet_is_refused_and_taken_once_it_exists() -> None:
    device, session = vrp_immediate_with("")
    refused = _typed(session, ["interface GigabitEthernet0/0/1", " traffic-policy NOT-YET outbound"])
    assert refused == ["traffic-policy NOT-YET outbound"]
    assert "traffic-policy NOT-YET" not in device.running_text()
    refused = _typed(
        session,
        [
            "traffic classifier C operator or",
            " if-match any",
            "traffic behavior B",
            " remark dscp af31",
            "traffic policy NOT-YET",
            " classifier C behavior B",
            "interface GigabitEthernet0/0/1",
            " traffic-policy NOT-YET outbound",
        ],
    )
    assert refused == []
    assert re.search(
        r"(?m)^interface GigabitEthernet0/0/1\n(?: .*\n)* traffic-policy NOT-YET outbound$", device.running_text()
    )


def test_a_push_binding_the_policy_before_defining_it_is_refused() -> None:
    without, full = _without_lte1_queue()
    device, session = vrp_immediate_with(without)
    sent = list(compute_diff(device.running_text(), full, "huawei_vrp").remediation)
    start = sent.index("traffic policy QUEUE-lte1")  # its block: its indented lines, `quit` last
    end = next((i for i in range(start + 1, len(sent)) if not sent[i].startswith(" ")), len(sent))
    block = sent[start:end]
    reordered = sent[:start] + sent[end:] + block  # the policy defined after the port binds it
    assert _typed(session, reordered) == [BOUND.strip()]
    assert BOUND not in device.running_text()


def test_the_push_as_ordered_is_taken() -> None:
    without, full = _without_lte1_queue()
    device, session = vrp_immediate_with(without)
    sent = list(compute_diff(device.running_text(), full, "huawei_vrp").remediation)
    stripped = [line.strip() for line in sent]
    assert stripped.index("traffic policy QUEUE-lte1") < stripped.index(BOUND.strip())
    assert _typed(session, sent) == []
    assert BOUND + "\n" in device.running_text()


def test_a_peer_route_policy_not_created_yet_is_taken() -> None:
    device, session = vrp_immediate_with("")
    refused = _typed(
        session,
        ["bgp 65010", " peer 10.255.0.1 as-number 65000", " peer 10.255.0.1 route-policy NOT-YET import"],
    )
    assert refused == []
    assert " peer 10.255.0.1 route-policy NOT-YET import\n" in device.running_text()
