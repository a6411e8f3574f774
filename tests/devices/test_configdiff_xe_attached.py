"""The order an IOS-XE remediation removes policy-maps, class-maps and ACLs that other lines
still attach or name.

IOS refuses to delete a policy-map attached to the control plane or an interface ("Policy map
... is being used"), and a class-map a policy-map still names: a remediation that removes
COPP-IN must detach it from `control-plane` first, and delete the class-map after the
policy-map that names it. The running config is the rendered dual-WAN store (its golden file),
the intended one the same without control plane policing.
"""

from __future__ import annotations

import re
from pathlib import Path

from testsupport.rendering import config_without

from storestack.devices.configdiff import compute_diff, remediation_lines
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.cisco_xe import IosSession

GOLDEN = (Path(__file__).parent / "golden" / "cisco_xe" / "dual-wan.cfg").read_text(encoding="utf-8")

_COPP = r"^(control-plane|policy-map COPP-IN|class-map match-all COPP-WAN-ECHO|ip access-list extended COPP-WAN-ECHO)$"


def _sent(running: str, intended: str) -> list[str]:
    diff = compute_diff(running, intended, "cisco_xe")
    assert remediation_lines(running, intended, "cisco_xe") == diff.remediation
    return [line.strip() for line in diff.remediation]


def test_copp_removed_detaches_from_the_control_plane_before_deleting_the_policy() -> None:
    intended = config_without(GOLDEN, _COPP)
    sent = _sent(GOLDEN, intended)
    assert "no policy-map COPP-IN" in sent
    assert sent.index("no service-policy input COPP-IN") < sent.index("no policy-map COPP-IN")
    assert sent.index("no policy-map COPP-IN") < sent.index("no class-map match-all COPP-WAN-ECHO")
    assert sent.index("no class-map match-all COPP-WAN-ECHO") < sent.index("no ip access-list extended COPP-WAN-ECHO")


def test_a_removed_queueing_policy_goes_after_the_interface_and_the_parent_that_use_it() -> None:
    """The LTE link's shaper and its queues go: the interface detaches SHAPE-lte1 first, and
    QUEUE-lte1 goes after SHAPE-lte1, whose class-default names it."""
    intended = config_without(GOLDEN, r"^policy-map (SHAPE|QUEUE)-lte1$").replace(" service-policy output SHAPE-lte1\n", "")
    sent = _sent(GOLDEN, intended)
    assert sent.index("no service-policy output SHAPE-lte1") < sent.index("no policy-map SHAPE-lte1")
    assert sent.index("no policy-map SHAPE-lte1") < sent.index("no policy-map QUEUE-lte1")


def test_a_removed_zone_pair_policy_goes_after_its_zone_pair() -> None:
    """A segment's flows to the overlay go: the zone-pair goes before the inspect policy it
    names, the policy before its class-map, the class-map before its ACL."""
    intended = config_without(GOLDEN, r"IOT-TO-OVERLAY\b")
    sent = _sent(GOLDEN, intended)
    order = [
        "no zone-pair security IOT-TO-OVERLAY source IOT destination OVERLAY",
        "no policy-map type inspect IOT-TO-OVERLAY",
        "no class-map type inspect match-any IOT-TO-OVERLAY",
        "no ip access-list extended IOT-TO-OVERLAY",
    ]
    assert [sent.index(line) for line in order] == sorted(sent.index(line) for line in order)


def test_an_added_policy_goes_before_what_attaches_it() -> None:
    """The reverse: CoPP added to a store without it defines the ACL, the class-map and the
    policy-map before `control-plane` attaches it."""
    running = config_without(GOLDEN, _COPP)
    sent = _sent(running, GOLDEN)
    assert sent.index("ip access-list extended COPP-WAN-ECHO") < sent.index("class-map match-all COPP-WAN-ECHO")
    assert sent.index("class-map match-all COPP-WAN-ECHO") < sent.index("policy-map COPP-IN")
    assert sent.index("policy-map COPP-IN") < sent.index("service-policy input COPP-IN")


def test_copp_removal_applied_leaves_nothing_to_send() -> None:
    """Applied on the emulated IOS-XE, the removal leaves a running config drift finds in sync
    with the intended one (IOS keeps an empty `control-plane`: it is never negated)."""
    intended = config_without(GOLDEN, _COPP)
    device = DeviceState(EmulatedDevice(name="store", platform="cisco_xe", running_config=GOLDEN))
    session = IosSession(device)
    session.handle("configure terminal")
    remediation = compute_diff(GOLDEN, intended, "cisco_xe").remediation
    assert "no control-plane" not in [line.strip() for line in remediation]
    refused = [(line, output) for line in remediation if (output := session.handle(line).output)]
    assert refused == []
    session.handle("end")
    assert compute_diff(device.running_text(), intended, "cisco_xe").in_sync


def test_the_echo_policer_as_ios_xe_shows_it_is_in_sync() -> None:
    """IOS-XE shows a policer entered with its `cir` and `bc` keywords on one line, two blanks
    before each further action and one after the last (genieparser's IOS-XE `show run policy-map`
    parser and its golden output): a running config in that form is what the store is meant to
    hold, so drift finds nothing to send."""
    shown = re.sub(
        r"^(  police cir \d+ bc \d+ conform-action transmit) (exceed-action drop)$",
        r"\1  \2 ",
        GOLDEN,
        flags=re.MULTILINE,
    )
    assert shown != GOLDEN
    assert compute_diff(shown, GOLDEN, "cisco_xe").in_sync
