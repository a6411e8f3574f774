"""Closing a session leaves nothing of it behind in Netmiko and does not wait for a logout.

A push opens thousands of sessions in one process: each Netmiko connection registers a filter
with the secrets of its login on Netmiko's logger, and a filter left behind per session would
make every later log call of the run slower and keep the passwords in memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from storestack.common.platforms import EMULATED_PLATFORM_NAMES
from storestack.devices.errors import AuthenticationError
from storestack.devices.session import ApplianceSession, SessionOptions
from storestack.devices.targets import ApplianceTarget
from storestack.lab.emulator import DeviceFaults, EmulatedDevice, Emulator, EmulatorThread

OPTIONS = SessionOptions(conn_timeout=3.0, banner_timeout=3.0, auth_timeout=3.0, read_timeout=3.0)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    devices = [
        EmulatedDevice(name=platform.replace("_", "-"), platform=platform, store_id="s1")
        for platform in EMULATED_PLATFORM_NAMES
    ]
    with EmulatorThread(Emulator(devices, state_dir=tmp_path_factory.mktemp("emulator"))) as running:
        yield running


def targets(emulator: Emulator) -> list[ApplianceTarget]:
    return list(emulator.inventory().appliances)


def test_closed_sessions_leave_no_filter_on_netmikos_logger(emulator: Emulator) -> None:
    netmiko_log = logging.getLogger("netmiko")
    before = list(netmiko_log.filters)
    for target in targets(emulator):
        credentials = target.credentials.resolve()
        for _ in range(3):
            session = ApplianceSession(target, credentials, options=OPTIONS).open()
            assert session.commands([session.driver.show_running])[0]
            # No logout exchange: the close does not wait for the CLI.
            started = time.monotonic()
            session.close()
            assert time.monotonic() - started < 0.5
        assert netmiko_log.filters == before, target.platform


def test_a_refused_login_leaves_no_filter_either(emulator: Emulator) -> None:
    netmiko_log = logging.getLogger("netmiko")
    before = list(netmiko_log.filters)
    for target in targets(emulator):
        emulator.set_faults(target.name, DeviceFaults(reject_auth=True))
        try:
            with pytest.raises(AuthenticationError):
                ApplianceSession(target, target.credentials.resolve(), options=OPTIONS).open()
        finally:
            emulator.set_faults(target.name, DeviceFaults())
        assert netmiko_log.filters == before, target.platform
