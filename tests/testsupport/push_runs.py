"""One appliance's push run (devices/push.py `_Run`) for tests that drive it through a fake
session: no health checks, no save, no commit-confirm timer; its state files in `tmp_path`."""

from __future__ import annotations

from pathlib import Path

from storestack.devices.intended import IntendedConfig
from storestack.devices.push import PushContext, PushOptions, _Run
from storestack.devices.report import DeviceResult
from storestack.devices.targets import ApplianceTarget


def offline_run(target: ApplianceTarget, intended: IntendedConfig, tmp_path: Path) -> _Run:
    """A push run of `intended` onto `target` whose session the test sets (`run.session`)."""
    options = PushOptions(
        backup_root=tmp_path / "b",
        known_hosts=tmp_path / "k.json",
        secret_ledger=tmp_path / "s",
        verify_health=False,
        save=False,
        confirm_timeout=0,
    )
    return _Run(target, intended, PushContext(options), None, DeviceResult.for_target(target))
