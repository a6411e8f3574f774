"""A VRP store's NQA tests change only while stopped: a running test instance refuses a new ToS
or frequency (Huawei NQA command reference, `tos`, `frequency`), so a push stops a changed test
(`undo start`), changes it and starts it again (`start now`). It is never deleted, so the
traffic behaviors' `redirect ip-nexthop ... track-nqa` never name a missing test and are not
sent again.

The running and intended configs are the rendered LTE-only store (its golden file), with its
NQA tests as a release before their ToS rendered them, or with another frequency.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storestack.devices.configdiff import compute_diff, remediation_lines
from storestack.lab.emulator.device import DeviceState
from storestack.lab.emulator.models import EmulatedDevice
from storestack.lab.emulator.profiles.huawei_vrp import VrpSession

GOLDEN = (Path(__file__).parent / "golden" / "huawei_vrp" / "lte-only.cfg").read_text(encoding="utf-8")
UNMARKED = re.sub(r"(?m)^ tos \d+\n", "", GOLDEN)  # the tests before they carried their ToS
# SLA_REALTIME's test, the only one at frequency 11 with a 1 % loss threshold, probing less often
SLOWER = GOLDEN.replace(" frequency 11\n fail-percent 1\n", " frequency 12\n fail-percent 1\n", 1)


def _sent(running: str, intended: str) -> list[str]:
    diff = compute_diff(running, intended, "huawei_vrp")
    assert remediation_lines(running, intended, "huawei_vrp") == diff.remediation
    return [line.strip() for line in diff.remediation]


def test_a_new_tos_stops_the_test_and_starts_it_again() -> None:
    assert UNMARKED != GOLDEN
    sent = _sent(UNMARKED, GOLDEN)
    assert sent == [
        line
        for test, tos in (("SLA_BUSINESS", 72), ("SLA_REALTIME", 184), ("SLA_STRICT", 104))
        for line in (f"nqa test-instance {test} tun4", "undo start", f"tos {tos}", "start now", "quit")
    ]
    # Never deleted: what tracks the tests keeps naming them.
    assert not any(line.startswith(("undo nqa", "redirect", "traffic")) for line in sent)


def test_a_new_frequency_stops_the_test_and_starts_it_again() -> None:
    assert SLOWER != GOLDEN
    sent = _sent(GOLDEN, SLOWER)
    assert sent[:2] == ["nqa test-instance SLA_REALTIME tun4", "undo start"]
    assert "frequency 12" in sent and sent[-2:] == ["start now", "quit"]
    # Undone the same way.
    rollback = [line.strip() for line in compute_diff(GOLDEN, SLOWER, "huawei_vrp").rollback]
    assert rollback[:2] == sent[:2] and "frequency 11" in rollback and rollback[-2:] == ["start now", "quit"]


def test_a_new_test_is_defined_without_stopping() -> None:
    """A test the store did not have runs from its own `start now`: nothing to stop."""
    without = re.sub(r"(?ms)^nqa test-instance SLA_STRICT tun4\n.*?^#\n", "", GOLDEN, count=1)
    assert without != GOLDEN
    sent = _sent(without, GOLDEN)
    assert "undo start" not in sent and sent.count("start now") == 1


@pytest.mark.parametrize(("running", "intended"), [(UNMARKED, GOLDEN), (GOLDEN, SLOWER), (SLOWER, GOLDEN)])
def test_the_ar_takes_the_remediation(running: str, intended: str) -> None:
    """On the emulated AR, which refuses a running test's new parameters as the reference says,
    every line of the remediation is taken, and the committed config is the intended one."""
    device = DeviceState(EmulatedDevice(name="store", platform="huawei_vrp", running_config=running))
    session = VrpSession(device)
    session.handle("system-view")
    remediation = compute_diff(running, intended, "huawei_vrp").remediation
    refused = [(line, output) for line in remediation if (output := session.handle(line).output)]
    assert refused == []
    session.handle("commit")
    session.handle("return")
    assert compute_diff(device.running_text(), intended, "huawei_vrp").in_sync
