"""A VRP store's NQA tests change only while stopped: a running test instance refuses a new ToS
or frequency (Huawei NQA command reference, `tos`, `frequency`), so a push stops a changed test
(`undo start`), changes it and starts it again (`start now`). It is never deleted, so the
traffic behaviors' `redirect ip-nexthop ... track-nqa` never name a missing test and are not
sent again.

The running and intended configs are the rendered VRP store that steers (the lte-only store of
`steered_off_bgp`: pos and back-office redirected onto lte1), with its NQA tests as a release
before their ToS rendered them, or with another frequency.
"""

from __future__ import annotations

import functools
import re

import pytest
from testsupport.rendering import SHAPES, on_platform, steered_off_bgp

from storestack.devices.configdiff import compute_diff, remediation_lines
from storestack.devices.render import render_store
from storestack.inventory import load_fleet, sample_chain_path
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.huawei_vrp import VrpSession


@functools.cache
def _configs() -> dict[str, str]:
    """The rendered store ("intended"), before its tests carried their ToS ("unmarked"), and with
    SLA_STRICT's test, the only one at frequency 11, probing less often
    ("slower")."""
    fleet = on_platform(steered_off_bgp(load_fleet(sample_chain_path())), "huawei_vrp", hubs="frr")
    (config,) = render_store(fleet, SHAPES["lte-only"])
    intended = config.text
    return {
        "intended": intended,
        "unmarked": re.sub(r"(?m)^ tos \d+\n", "", intended),
        "slower": intended.replace(" frequency 11\n fail-percent 60\n", " frequency 12\n fail-percent 60\n", 1),
    }


def _sent(running: str, intended: str) -> list[str]:
    diff = compute_diff(running, intended, "huawei_vrp")
    assert remediation_lines(running, intended, "huawei_vrp") == diff.remediation
    return [line.strip() for line in diff.remediation]


def test_a_new_tos_stops_the_test_and_starts_it_again() -> None:
    intended, unmarked = _configs()["intended"], _configs()["unmarked"]
    assert unmarked != intended
    sent = _sent(unmarked, intended)
    assert sent == [
        line
        for test, tos in (("SLA_BUSINESS", 72), ("SLA_STRICT", 104))
        for line in (f"nqa test-instance {test} tun3", "undo start", f"tos {tos}", "start now", "quit")
    ]
    # Never deleted: what tracks the tests keeps naming them.
    assert not any(line.startswith(("undo nqa", "redirect", "traffic")) for line in sent)


def test_a_new_frequency_stops_the_test_and_starts_it_again() -> None:
    intended, slower = _configs()["intended"], _configs()["slower"]
    assert slower != intended
    sent = _sent(intended, slower)
    assert sent[:2] == ["nqa test-instance SLA_STRICT tun3", "undo start"]
    assert "frequency 12" in sent and sent[-2:] == ["start now", "quit"]
    # Undone the same way.
    rollback = [line.strip() for line in compute_diff(intended, slower, "huawei_vrp").rollback]
    assert rollback[:2] == sent[:2] and "frequency 11" in rollback and rollback[-2:] == ["start now", "quit"]


def test_a_new_test_is_defined_without_stopping() -> None:
    """A test the store did not have runs from its own `start now`: nothing to stop."""
    intended = _configs()["intended"]
    without = re.sub(r"(?ms)^nqa test-instance SLA_STRICT tun3\n.*?^#\n", "", intended, count=1)
    assert without != intended
    sent = _sent(without, intended)
    assert "undo start" not in sent and sent.count("start now") == 1


@pytest.mark.parametrize(
    ("running", "intended"), [("unmarked", "intended"), ("intended", "slower"), ("slower", "intended")]
)
def test_the_ar_takes_the_remediation(running: str, intended: str) -> None:
    """On the emulated AR, which refuses a running test's new parameters as the reference says,
    every line of the remediation is taken, and the committed config is the intended one."""
    running, intended = _configs()[running], _configs()[intended]
    device = DeviceState(EmulatedDevice(name="store", platform="huawei_vrp", running_config=running))
    session = VrpSession(device)
    session.handle("system-view")
    remediation = compute_diff(running, intended, "huawei_vrp").remediation
    refused = [(line, output) for line in remediation if (output := session.handle(line).output)]
    assert refused == []
    session.handle("commit")
    session.handle("return")
    assert compute_diff(device.running_text(), intended, "huawei_vrp").in_sync
