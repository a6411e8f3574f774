"""Stopping the emulator ends every task of its loop: none is left pending when the loop closes.

A client that gives up on a slow appliance (a prompt later than its timeout) hangs up while the
emulated CLI session still waits to print the prompt. Stopping the emulator then must end that
session too; a task left pending is reported by asyncio ("Task was destroyed but it is
pending!") in the log of whichever later test happens to garbage-collect it.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import paramiko
import pytest
import yaml

from storestack.lab.emulator import DeviceFaults, EmulatedDevice, Emulator, EmulatorThread
from storestack.lab.emulator.server import CREDENTIALS_FILE


def _open_shell(emulator: Emulator, name: str) -> paramiko.SSHClient:
    """A logged-in interactive session that has not seen its prompt yet."""
    credentials = yaml.safe_load((emulator.state_dir / CREDENTIALS_FILE).read_text())
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        "127.0.0.1",
        port=emulator.port(name),
        username=credentials["username"],
        password=credentials["password"],
        look_for_keys=False,
        allow_agent=False,
        timeout=5,
    )
    client.invoke_shell()
    return client


def _stop_during_a_slow_prompt(state_dir: Path, *, hang_up_first: bool) -> None:
    device = EmulatedDevice(name="rtr", platform="cisco_xe", store_id="s1")
    thread = EmulatorThread(Emulator([device], state_dir=state_dir))
    emulator = thread.start()
    emulator.set_faults("rtr", DeviceFaults(prompt_delay=30))
    clients = [_open_shell(emulator, "rtr") for _ in range(3)]
    try:
        if hang_up_first:
            for client in clients:
                client.close()
        thread.stop()
    finally:
        for client in clients:
            client.close()


@pytest.mark.parametrize("hang_up_first", [True, False], ids=["client-gave-up", "client-waiting"])
def test_stopping_the_emulator_ends_the_sessions_still_waiting_to_prompt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, hang_up_first: bool
) -> None:
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        _stop_during_a_slow_prompt(tmp_path / "emulator", hang_up_first=hang_up_first)
        gc.collect()
    destroyed = [record.getMessage() for record in caplog.records if "destroyed but it is pending" in record.getMessage()]
    assert destroyed == []
