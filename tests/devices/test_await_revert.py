"""While an appliance's own timer runs after a lost session, the push logs in rarely.

The engine reconnects until the running config is the backup again, up to the timer plus a
margin. A timer of minutes polled at a fixed two seconds meant one SSH login every two seconds
per waiting appliance; it now backs off to one every `revert_poll_ceiling` seconds, and still
looks one last time at the deadline.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from storestack.common import polling
from storestack.devices import push as push_module
from storestack.devices.drivers import commit_confirm_for
from storestack.devices.errors import ConnectError
from storestack.devices.intended import IntendedConfig
from storestack.devices.push import PushContext, PushOptions, _Run
from storestack.devices.report import CommitConfirmResult, DeviceResult
from storestack.devices.targets import ApplianceTarget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


def test_a_two_minute_timer_costs_a_dozen_logins_and_a_last_look_at_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(push_module, "time", clock)
    monkeypatch.setattr(polling, "time", clock)
    target = ApplianceTarget(name="edge-1", role="edge", store_id="s1", platform="cisco_xe", host="127.0.0.1")
    options = PushOptions(backup_root=tmp_path / "b", known_hosts=tmp_path / "k.json", revert_margin=30.0)
    run = _Run(target, IntendedConfig("hostname edge-1\n"), PushContext(options), None, DeviceResult.for_target(target))
    run.backup_text = "hostname edge-1\n"
    run.result.commit_confirm = CommitConfirmResult(timeout_s=120)
    logins: list[float] = []

    def unreachable() -> None:
        logins.append(clock.now)
        raise ConnectError("edge-1: cannot connect")

    monkeypatch.setattr(run, "connect", unreachable)
    mechanism = commit_confirm_for("cisco_xe")
    assert mechanism is not None

    assert run._await_revert(mechanism) is False

    gaps = [later - earlier for earlier, later in itertools.pairwise(logins)]
    assert gaps[:3] == [2.0, 4.0, 8.0] and max(gaps) <= 15.0
    assert logins[-1] == 1000.0 + 120 + 30  # one last look when the timer and margin are over
    assert len(logins) <= 15  # at a fixed 2 s it was 76
